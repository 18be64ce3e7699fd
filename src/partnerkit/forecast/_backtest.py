"""Forecast backtests: forecast as of past dates, then compare with what actually closed.

Each past date gets a one-period forecast made only from what was known then
(deals closed by that date are the history; later closings are hidden). Its
actual is the won value, within the period, of the deals open at that date (new
deals registered later are not part of the pipeline being forecast). Three
questions are answered:

- **error:** MAPE, the mean of ``|actual - expected| / actual`` over the dates
  with a non-zero actual, and WAPE, ``Σ |actual - expected| / Σ actual`` (which
  weighs big periods more and tolerates a zero actual);
- **calibration:** every open deal's chance of closing won within the period,
  against whether it did: the Brier score (mean squared difference; 0 is
  perfect, always saying 50% scores 0.25) and reliability buckets (deals grouped
  by predicted chance, with the share that actually closed);
- **bands:** how often the actual fell inside the p10..p90 band: near 80% for
  well-calibrated bands.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING, Final

import attrs

from partnerkit._base.money import Money, RateSource
from partnerkit._base.time import Period, to_utc
from partnerkit.errors import ValidationError
from partnerkit.forecast._engine import forecast_deals, pipeline
from partnerkit.forecast._model import Dimension, ForecastPolicy, Opportunity

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from partnerkit.deals import DealRegistration

__all__ = ["BacktestPoint", "ForecastBacktest", "ReliabilityBucket", "backtest"]

_PLACES: Final = Decimal("0.0001")
_BUCKETS: Final = 10


@attrs.frozen
class BacktestPoint:
    """One past forecast and what happened.

    Attributes:
        as_of: When the forecast was made.
        start: The period's first day.
        end: The day after its last.
        deals: Open deals forecast.
        expected: The expected value.
        p10: The band's low end.
        p50: The median.
        p90: The band's high end.
        actual: What those deals actually won within the period.
    """

    as_of: datetime
    start: date
    end: date
    deals: int
    expected: Money
    p10: Money
    p50: Money
    p90: Money
    actual: Money

    @property
    def inside(self) -> bool:
        """Whether the actual fell within p10..p90 (both ends included)."""
        return self.p10 <= self.actual <= self.p90


@attrs.frozen
class ReliabilityBucket:
    """Deals whose predicted chance fell in ``[low, high)``, and how many won.

    Attributes:
        low: The bucket's lower edge (a probability).
        high: Its upper edge (the last bucket includes 1.0).
        deals: Deals predicted in it.
        mean_predicted: Their mean predicted chance (a float).
        observed: The share of them won within the period (a float), ``None`` if empty.
    """

    low: float
    high: float
    deals: int
    mean_predicted: float | None
    observed: float | None


@attrs.frozen
class ForecastBacktest:
    """Past forecasts against what closed: error, calibration and band coverage.

    Attributes:
        currency: The currency of every amount.
        points: One per past date, oldest first.
        mape: Mean absolute percentage error over points with a non-zero actual
            (a Decimal fraction, 0.1234 is 12.34%), ``None`` if there is none.
        wape: Weighted absolute percentage error, ``None`` if nothing was won.
        brier: The Brier score of the per-deal chances (a float).
        reliability: Ten buckets of predicted chance, 0-10% to 90-100%.
        coverage: The share of points whose actual fell inside p10..p90 (a float).
        deals: Deal forecasts scored (a deal open at several dates counts each time).
    """

    currency: str
    points: tuple[BacktestPoint, ...]
    mape: Decimal | None
    wape: Decimal | None
    brier: float | None
    reliability: tuple[ReliabilityBucket, ...]
    coverage: float | None
    deals: int

    @property
    def inside(self) -> int:
        """How many points had their actual inside the band."""
        return sum(point.inside for point in self.points)

    def summary(self) -> str:
        """The backtest in one sentence."""
        if not self.points:
            return "No past forecasts to compare."
        coverage = "-" if self.coverage is None else f"{self.coverage:.0%}"
        mape = "-" if self.mape is None else f"{self.mape:.1%}"
        wape = "-" if self.wape is None else f"{self.wape:.1%}"
        brier = "-" if self.brier is None else f"{self.brier:.3f}"
        return (
            f"{len(self.points)} past forecasts: actual inside the p10-p90 band {self.inside} "
            f"times ({coverage}); MAPE {mape}, WAPE {wape}; Brier score {brier} over "
            f"{self.deals} deal forecasts."
        )

    def to_records(self) -> list[dict[str, object]]:
        """One flat dict per past forecast, for ``pandas.DataFrame``."""
        return [
            {
                "as_of": point.as_of,
                "start": point.start,
                "end": point.end,
                "deals": point.deals,
                "currency": self.currency,
                "expected": point.expected.amount,
                "p10": point.p10.amount,
                "p50": point.p50.amount,
                "p90": point.p90.amount,
                "actual": point.actual.amount,
                "inside": point.inside,
            }
            for point in self.points
        ]

    def _repr_html_(self) -> str:
        from partnerkit.forecast._html import backtest_html  # noqa: PLC0415 - notebooks only

        return backtest_html(self)


def backtest(
    registrations: Iterable[DealRegistration],
    *,
    as_of: Sequence[datetime],
    opportunities: Iterable[Opportunity] = (),
    tiers: Mapping[str, str] | None = None,
    joined: Mapping[str, date] | None = None,
    policy: ForecastPolicy | None = None,
    period: Period | None = None,
    currency: str | None = None,
    rates: RateSource | None = None,
    draws: int = 2000,
    seed: int = 0,
    engine: str = "auto",
) -> ForecastBacktest:
    """Forecast one period as of each past date and compare with what closed.

    Args:
        registrations: Every registration, with the history to the present.
        as_of: The past dates to forecast from.
        opportunities: Host opportunities with stages, as for `forecast`.
        tiers: Partner id to tier name.
        joined: Partner id to join date.
        policy: How rates and timing are learned.
        period: The period each forecast covers (default three months).
        currency: The currency (default the deals' one currency).
        rates: Converts other currencies, at each date.
        draws: Monte Carlo draws per forecast.
        seed: The seed of the first forecast's draws (the n-th uses ``seed + n``).
        engine: As for `forecast`.

    Raises:
        ValidationError: If no date is given, or a date is naive.
    """
    dates = sorted(to_utc(moment, f"as_of[{index}]") for index, moment in enumerate(as_of))
    if not dates:
        raise ValidationError.single("as_of", "give at least one past date to forecast from")
    rules = policy or ForecastPolicy()
    deals = pipeline(registrations, opportunities, policy=rules)
    by_id = {deal.id: deal for deal in deals}
    points: list[BacktestPoint] = []
    pairs: list[tuple[float, bool]] = []
    code = currency
    for number, when in enumerate(dates):
        result = forecast_deals(
            deals,
            as_of=when,
            tiers=tiers,
            joined=joined,
            policy=rules,
            period=period,
            currency=currency,
            rates=rates,
            draws=draws,
            seed=seed + number,
            engine=engine,
        )
        code = result.currency
        span = result.periods[0]
        end = datetime.combine(span.end, time(), tzinfo=UTC)
        actual = Money.zero(code).rounded()
        for item in result.deals:
            deal = by_id[item.deal_id]
            won = deal.won_between(when, end)
            if won:
                actual += item.amount
            pairs.append((item.period_probabilities[0], won))
        line = result.line(Dimension.TOTAL, period=0)
        points.append(
            BacktestPoint(
                when,
                span.start,
                span.end,
                len(result.deals),
                line.expected,
                line.p10,
                line.p50,
                line.p90,
                actual,
            )
        )
    return ForecastBacktest(
        currency=code or "USD",
        points=tuple(points),
        mape=_mape(points),
        wape=_wape(points),
        brier=sum((p - won) ** 2 for p, won in pairs) / len(pairs) if pairs else None,
        reliability=_reliability(pairs),
        coverage=sum(point.inside for point in points) / len(points),
        deals=len(pairs),
    )


def _mape(points: Sequence[BacktestPoint]) -> Decimal | None:
    errors = [
        abs(point.actual.amount - point.expected.amount) / point.actual.amount
        for point in points
        if point.actual.amount
    ]
    if not errors:
        return None
    return (sum(errors, Decimal(0)) / len(errors)).quantize(_PLACES)


def _wape(points: Sequence[BacktestPoint]) -> Decimal | None:
    actual = sum((point.actual.amount for point in points), Decimal(0))
    if not actual:
        return None
    error = sum((abs(p.actual.amount - p.expected.amount) for p in points), Decimal(0))
    return (error / actual).quantize(_PLACES)


def _reliability(pairs: Sequence[tuple[float, bool]]) -> tuple[ReliabilityBucket, ...]:
    groups: list[list[tuple[float, bool]]] = [[] for _ in range(_BUCKETS)]
    for chance, won in pairs:
        groups[min(_BUCKETS - 1, int(chance * _BUCKETS))].append((chance, won))
    return tuple(
        ReliabilityBucket(
            low=index / _BUCKETS,
            high=(index + 1) / _BUCKETS,
            deals=len(group),
            mean_predicted=sum(c for c, _ in group) / len(group) if group else None,
            observed=sum(w for _, w in group) / len(group) if group else None,
        )
        for index, group in enumerate(groups)
    )
