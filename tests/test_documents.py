"""The hand-made JSON encoders write exactly what serialization writes."""

import enum
import json
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from partnerkit import Activity, Money, Partner
from partnerkit._documents import activity_document, model_document, partner_document
from partnerkit.serialization import from_json, to_dict
from partnerkit.testing import strategies as pks

# Partner ids with a "/" cannot be drawn as parent ids, so a partner is never drawn
# as its own parent (which Partner refuses).
own_ids = st.text(alphabet=st.characters(codec="ascii", categories=("L", "N")), min_size=1)


@given(st.data())
def test_partner_documents_are_exactly_what_serialization_writes(data: st.DataObject) -> None:
    drawn = data.draw(pks.partners(partner_id=f"p/{data.draw(own_ids)}", stored=True))

    document = partner_document(drawn)

    assert document == json.dumps(to_dict(drawn))
    assert from_json(Partner, document) == drawn


@given(pks.activities())
def test_activity_documents_are_exactly_what_serialization_writes(drawn: Activity) -> None:
    document = activity_document(drawn)

    assert document == json.dumps(to_dict(drawn))
    assert from_json(Activity, document) == drawn


class Size(enum.IntEnum):
    LARGE = 3


T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def test_shapes_the_encoders_do_not_know_go_through_serialization() -> None:
    odd_partner = Partner(
        "ptn_1", "Nordic Cloud Oy", "reseller", "FI", T0, custom_fields={"size": Size.LARGE}
    )
    odd_activity = Activity(
        "act_1", "ptn_1", "revenue_booked", T0, Money("12.50", "EUR"), {"size": Size.LARGE}
    )

    assert partner_document(odd_partner) == json.dumps(to_dict(odd_partner))
    assert activity_document(odd_activity) == json.dumps(to_dict(odd_activity))


def test_documents_are_ascii_even_for_text_that_utf8_cannot_hold() -> None:
    lone = Partner("ptn_1", "Nordic \ud800 Oy", "reseller", "FI", T0, region="Amérique")

    document = partner_document(lone)

    assert document.isascii()
    assert document == model_document(lone)
    assert from_json(Partner, document) == lone
