from datetime import UTC, date, datetime
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import partnerkit
import partnerkit.deals
from partnerkit import ValidationError
from partnerkit.deals import (
    Conflict,
    Customer,
    DealRegistration,
    DealStatus,
    Decision,
    DefaultConflictPolicy,
    DirectAccount,
    Extension,
    ExtensionPolicy,
    Match,
)
from partnerkit.serialization import from_dict, from_json, to_dict, to_json
from partnerkit.testing import _deals as pkd

MODELS: dict[type[Any], st.SearchStrategy[Any]] = {
    DealRegistration: pkd.deal_registrations(stored=True),
    Customer: pkd.customers(),
    Conflict: pkd.conflicts(),
    Decision: pkd.decisions(),
    Extension: pkd.extensions(),
    ExtensionPolicy: pkd.extension_policies(),
    DirectAccount: pkd.direct_accounts(),
    Match: pkd.matches(),
    DefaultConflictPolicy: st.builds(
        DefaultConflictPolicy,
        fuzzy_threshold=st.floats(0, 1),
        min_confidence=st.floats(0, 1),
        reject_duplicates_at=st.floats(0, 1),
    ),
}
# Public attrs classes of partnerkit.deals that are not stored data.
NOT_MODELS = {"DealStatusChange", "Party", "Verdict"}


def test_every_public_deals_model_has_a_round_trip_strategy() -> None:
    public = {
        name
        for name in partnerkit.deals.__all__
        if isinstance(getattr(partnerkit.deals, name), type)
        and attrs.has(getattr(partnerkit.deals, name))
    }
    assert public - NOT_MODELS == {model.__name__ for model in MODELS}


@given(st.sampled_from(list(MODELS)).flatmap(MODELS.__getitem__))
def test_every_deals_model_round_trips_through_dict_and_json(model: Any) -> None:
    cls = type(model)
    assert from_dict(cls, to_dict(model)) == model
    assert from_json(cls, to_json(model)) == model


@given(pkd.deal_registrations(status=DealStatus.APPROVED))
def test_a_registration_is_plain_exact_json(registration: DealRegistration) -> None:
    data = to_dict(registration)
    assert data["status"] == "approved"
    assert data["amount"]["amount"] == f"{registration.amount.amount:f}"
    assert data["protection_until"] == registration.protection_until.isoformat()  # type: ignore[union-attr]


def test_a_bad_stored_registration_names_every_field_path() -> None:
    data = {
        "id": "deal_1",
        "partner_id": "ptn_1",
        "customer": {"name": "Acme", "country": "XX", "domain": None, "contact_email": None},
        "amount": {"amount": "12,5", "currency": "EUR"},
        "expected_close_on": "2026-06-30",
        "registered_at": "2026-03-02T09:00:00+00:00",
    }
    with pytest.raises(ValidationError) as info:
        from_dict(DealRegistration, data)
    assert set(info.value.paths) == {"customer.country", "amount.amount"}


def test_an_unknown_status_is_refused_with_the_choices() -> None:
    data = to_dict(
        DealRegistration(
            "deal_1",
            "ptn_1",
            Customer("Acme", "FI"),
            partnerkit.Money("1", "EUR"),
            date(2026, 6, 30),
            datetime(2026, 3, 2, tzinfo=UTC),
        )
    )
    data["status"] = "pending"
    with pytest.raises(ValidationError, match="'pending' is not one of 'draft'") as info:
        from_dict(DealRegistration, data)
    assert info.value.paths == ("status",)
