"""The well-formed fast path of Partner and Contact gives what the full check gives."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from partnerkit import Contact, Partner, ValidationError
from partnerkit.testing import strategies as pks

T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def _fully(cls: type[Any], **fields: Any) -> Any:
    """``cls(**fields)`` through the full, problem-collecting check only."""
    built = object.__new__(cls)
    for field in attrs.fields(cls):
        value = fields.get(field.name, field.default)
        if isinstance(value, attrs.Factory):  # type: ignore[arg-type]
            value = value.factory()
        object.__setattr__(built, field.name, value)
    built._validate()
    return built


def _fields(model: Any) -> dict[str, Any]:
    return {field.name: getattr(model, field.name) for field in attrs.fields(type(model))}


@given(pks.partners())
def test_a_drawn_partner_is_built_as_the_full_check_builds_it(drawn: Partner) -> None:
    fields = _fields(drawn)

    assert Partner(**fields) == _fully(Partner, **fields)


@pytest.mark.parametrize(
    "changes",
    [
        {"name": "  Nordic   Cloud\tOy "},
        {"country": " fi"},
        {"created_at": datetime(2026, 3, 1, 11, 30, tzinfo=timezone(timedelta(hours=2)))},
        {"domains": ["WWW.Nørd.fi", "example.com"]},
        {"domains": ("example.com", "www.example.com")},
        {"custom_fields": {"tier": "gold", "seats": 12, "discount": Decimal("2.5")}},
        {"custom_fields": {"when": datetime(2026, 1, 1, tzinfo=UTC)}},
        {"status": "active"},
        {"type": "Reseller"},
        {"version": True},
        {"parent_id": "ptn_1"},
        {"contacts": (Contact("Aino", "aino@x.fi"), Contact("Eino", "eino@x.fi"))},
    ],
)
def test_odd_partners_are_built_or_refused_as_the_full_check_does(changes: dict[str, Any]) -> None:
    fields = {"id": "ptn_1", "name": "Nordic", "type": "reseller", "country": "FI"}
    fields |= {"created_at": T0, **changes}
    try:
        fast: object = Partner(**fields)
    except ValidationError as error:
        fast = str(error)
    try:
        full: object = _fully(Partner, **fields)
    except ValidationError as error:
        full = str(error)

    assert fast == full


@given(st.text(max_size=8), st.sampled_from(["aino@x.fi", "AINO@X.FI", "bad", " a@b.fi "]))
def test_a_contact_is_built_or_refused_as_the_full_check_does(name: str, email: str) -> None:
    outcomes = []
    for build in (lambda: Contact(name, email), lambda: _fully(Contact, name=name, email=email)):
        try:
            outcomes.append(_fields(build()))
        except ValidationError as error:
            outcomes.append(str(error))

    assert outcomes[0] == outcomes[1]
