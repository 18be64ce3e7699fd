"""The well-formed fast path of Partner and Contact gives what the full check gives."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from partnerkit import Contact, Partner, ValidationError
from partnerkit._base.checks import check_fields
from partnerkit.errors import Problems
from partnerkit.partners import _STATUS_CHANGE_CHECK_ONLY, _STATUS_CHANGE_FIELDS
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
    if hasattr(built, "_validate"):
        built._validate()
    else:  # StatusChange: the full check is its post-init past the fast path
        problems = Problems()
        check_fields(built, problems, _STATUS_CHANGE_FIELDS, check_only=_STATUS_CHANGE_CHECK_ONLY)
        problems.raise_if_any()
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


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"action": "activate", "from_status": "onboarding", "to_status": "active"},
        {"at": datetime(2026, 3, 1, 11, 30, tzinfo=timezone(timedelta(hours=2)))},
        {"at": datetime(1899, 12, 31, tzinfo=UTC)},
        {"actor": "usr maria"},
        {"reason": "x" * 2001},
        {"reason": " ".join(["x"] * 1001)},
    ],
)
def test_status_changes_are_built_or_refused_as_the_full_check_does(
    changes: dict[str, Any],
) -> None:
    from partnerkit.partners import PartnerAction, PartnerStatus, StatusChange  # noqa: PLC0415

    fields: dict[str, Any] = {
        "action": PartnerAction.ACTIVATE,
        "from_status": PartnerStatus.ONBOARDING,
        "to_status": PartnerStatus.ACTIVE,
        "actor": "usr_maria",
        "at": T0,
        "reason": "done",
    } | changes
    outcomes = []
    for build in (lambda: StatusChange(**fields), lambda: _fully(StatusChange, **fields)):
        try:
            outcomes.append(_fields(build()))
        except ValidationError as error:
            outcomes.append(str(error))

    assert outcomes[0] == outcomes[1]
