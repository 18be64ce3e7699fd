"""The hand-made JSON encoders write exactly what serialization writes."""

import enum
import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from partnerkit import Activity, Money, Partner
from partnerkit._documents import (
    activity_document,
    model_document,
    partner_document,
    read_activity,
    read_partner,
)
from partnerkit.errors import ValidationError
from partnerkit.serialization import from_json, to_dict, to_json
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


def _same(left: object, right: object) -> bool:
    """Equal, and field for field of the same types (a StrEnum equals its text)."""
    if type(left) is not type(right):
        return False
    if isinstance(left, (tuple, list)):
        return len(left) == len(right) and all(map(_same, left, right))  # type: ignore[arg-type]
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(_same(left[k], right[k]) for k in left)  # type: ignore[attr-defined,index]
    if isinstance(left, datetime):
        return left == right and left.tzinfo is right.tzinfo  # type: ignore[attr-defined]
    if hasattr(type(left), "__attrs_attrs__"):
        return all(
            _same(getattr(left, field.name), getattr(right, field.name))
            for field in type(left).__attrs_attrs__  # type: ignore[attr-defined]
        )
    return left == right and repr(left) == repr(right)


@given(st.data())
def test_stored_partners_read_back_as_from_json_reads_them(data: st.DataObject) -> None:
    drawn = data.draw(pks.partners(partner_id=f"p/{data.draw(own_ids)}", stored=True))
    document = partner_document(drawn)

    read = read_partner(document)

    assert read == drawn
    assert _same(read, from_json(Partner, document))


@given(pks.activities())
def test_stored_activities_read_back_as_from_json_reads_them(drawn: Activity) -> None:
    document = activity_document(drawn)

    read = read_activity(document)

    assert read == drawn
    assert _same(read, from_json(Activity, document))


def test_documents_changed_outside_partnerkit_are_checked_in_full() -> None:
    partner = Partner("ptn_1", "Nordic Cloud Oy", "reseller", "FI", T0)
    document = json.loads(partner_document(partner))
    document["country"] = "Finland"  # a value the trusted reader does not look at
    document["created_at"] = "2026-03-01T11:30:00+02:00"  # not as partnerkit writes it

    with pytest.raises(ValidationError, match="country"):
        read_partner(json.dumps(document))


def test_documents_of_an_older_shape_are_read_by_serialization() -> None:
    activity = Activity("act_1", "ptn_1", "portal_login", T0)
    document = json.loads(activity_document(activity))
    del document["schema_version"]  # a document written by hand

    assert read_activity(json.dumps(document)) == activity


@given(st.data())
def test_to_json_of_a_partner_is_what_json_dumps_writes(data: st.DataObject) -> None:
    drawn = data.draw(pks.partners(partner_id=f"p/{data.draw(own_ids)}", stored=True))

    assert to_json(drawn) == json.dumps(to_dict(drawn), ensure_ascii=False)


@given(pks.activities())
def test_to_json_of_an_activity_is_what_json_dumps_writes(drawn: Activity) -> None:
    assert to_json(drawn) == json.dumps(to_dict(drawn), ensure_ascii=False)


def test_to_json_keeps_text_unescaped_and_odd_shapes_go_through_serialization() -> None:
    nordic = Partner("ptn_1", "Nørdic Cloud Oy", "reseller", "FI", T0, region="Amérique")
    odd = Partner("ptn_2", "Odd Oy", "reseller", "FI", T0, custom_fields={"size": Size.LARGE})

    assert '"name": "Nørdic Cloud Oy"' in to_json(nordic)
    assert to_json(odd) == json.dumps(to_dict(odd), ensure_ascii=False)
    assert to_json(nordic, indent=2) == json.dumps(to_dict(nordic), indent=2, ensure_ascii=False)
