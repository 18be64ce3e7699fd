"""The forecast backtest: error, calibration and band coverage of past forecasts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from partnerkit import Money, ValidationError
from partnerkit.deals import Customer, DealRegistration, approve, lose, submit, win
from partnerkit.forecast import backtest

AS_OF = datetime(2026, 1, 1, tzinfo=UTC)


def closed(number: int, *, won: bool, amount: str = "1000") -> DealRegistration:
    at = AS_OF - timedelta(days=5)
    draft = DealRegistration(
        id=f"d_{number}",
        partner_id="ptn_a",
        customer=Customer(f"Customer {number}", "FI"),
        amount=Money(amount, "USD"),
        expected_close_on=AS_OF.date() + timedelta(days=30),
        registered_at=at,
        products=("core",),
    )
    current = approve(submit(draft, actor="usr_p", at=at).value, actor="usr_m", at=at).value
    later = AS_OF + timedelta(days=20)
    if won:
        return win(current, actor="usr_m", at=later).value
    return lose(current, actor="usr_m", at=later, reason="price").value


def test_a_past_forecast_is_compared_with_what_closed() -> None:
    result = backtest([closed(1, won=True), closed(2, won=False)], as_of=[AS_OF], draws=200)

    point = result.points[0]
    # No history before AS_OF: each deal gets the approved stage's 35%.
    assert (point.deals, point.expected, point.actual) == (
        2,
        Money("700.00", "USD"),
        Money("1000.00", "USD"),
    )
    assert (result.mape, result.wape) == (Decimal("0.3000"), Decimal("0.3000"))
    assert result.brier == pytest.approx(((0.35 - 1) ** 2 + 0.35**2) / 2)
    bucket = result.reliability[3]
    assert (bucket.low, bucket.deals, bucket.observed) == (0.3, 2, 0.5)
    assert point.p10 <= point.actual <= point.p90
    assert (result.coverage, result.inside) == (1.0, 1)
    assert "1 past forecasts: actual inside the p10-p90 band 1 times (100%)" in result.summary()


def test_later_dates_learn_from_what_closed_before_them() -> None:
    deals = [closed(1, won=True), closed(2, won=False)]

    result = backtest(deals, as_of=[AS_OF, AS_OF + timedelta(days=60)], draws=50)

    assert [point.deals for point in result.points] == [2, 0]
    assert result.points[1].actual == Money("0.00", "USD")
    assert result.mape == Decimal("0.3000")  # the empty period has no percentage error
    assert len(result.to_records()) == 2
    assert "<table" in result._repr_html_()


def test_backtest_needs_a_date() -> None:
    with pytest.raises(ValidationError, match="at least one past date"):
        backtest([], as_of=[])
