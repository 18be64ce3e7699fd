from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from partnerkit import Activity, ActivityKind, Money, ValidationError

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def test_activities_normalise_to_utc_and_read_numbers_exactly() -> None:
    local = datetime(2026, 3, 1, 2, tzinfo=timezone(timedelta(hours=2)))
    activity = Activity("a1", "ptn_1", ActivityKind.TRAINING_COMPLETED, local, 3)
    assert activity.occurred_at == NOW
    assert activity.occurred_at.tzinfo is UTC
    assert activity.value == Decimal(3)
    assert Activity("a2", "ptn_1", "seats_sold", NOW, "12.5").value == Decimal("12.5")


def test_money_values_and_expiry_are_kept() -> None:
    cert = Activity(
        "c1",
        "ptn_1",
        ActivityKind.CERTIFICATION_EARNED,
        NOW,
        attributes={"person": "p_7", "certification": "cloud_architect"},
        expires_on=date(2028, 3, 1),
    )
    assert cert.expires_on == date(2028, 3, 1)
    assert Activity("r1", "ptn_1", "revenue_booked", NOW, Money("99.90", "EUR")).value == Money(
        "99.90", "EUR"
    )


def test_bad_activities_report_every_problem() -> None:
    with pytest.raises(ValidationError) as info:
        Activity(
            "",
            "ptn 1",
            "Revenue Booked",
            datetime(2026, 3, 1),  # noqa: DTZ001
            1.5,  # type: ignore[arg-type]
            {"score": 0.5},  # type: ignore[dict-item]
            "2028-01-01",  # type: ignore[arg-type]
        )
    assert set(info.value.paths) == {
        "id",
        "partner_id",
        "kind",
        "occurred_at",
        "value",
        "attributes['score']",
        "expires_on",
    }


def test_activities_are_immutable_values() -> None:
    first = Activity("a1", "ptn_1", "portal_login", NOW)
    assert first == Activity("a1", "ptn_1", "portal_login", NOW)
    assert first != Activity("a1", "ptn_1", "portal_login", NOW + timedelta(seconds=1))
    with pytest.raises(AttributeError):
        first.kind = "deal_won"  # type: ignore[misc]
