"""The forecast: learn win rates and close timing from closed history, then add up the pipeline.

How one open deal is forecast, as of an instant ``as_of``:

1. **Its stage and age.** A registration is in the stage its status maps to
   (``submitted`` or ``approved`` by default); a host `Opportunity` brings its own
   stages. The age is the whole days since it entered that stage, and picks an
   age bucket (``0-29``, ``30-59``, ``60-89``, ``90+`` days by default).
2. **Its win rate,** from deals closed at or before ``as_of`` only: every closed
   deal that was in that stage at that age (still open in the stage at the
   bucket's lower edge) counts once, as a win or not. Three beta-binomial
   levels shrink a partner with little history toward its tier, and a tier toward
   the program, whose own prior is the stage's default rate (see
   `ForecastPolicy`). A partner younger than the ramp (180 days) starts from a
   share of its tier's rate.
3. **Its close timing,** from the won deals of that stage and bucket: the days
   from the bucket's lower edge to the win. With fewer than
   ``min_timing_samples`` of them the timing of every won deal is pooled; with
   fewer still, the deal's own expected close date decides (today if it has
   passed). The share of those days falling in each period is the chance it
   closes then, if won.
4. **Expected value** per period is ``amount x P(win) x P(period | win)``,
   rounded to the minor unit per deal, then summed, so every total is the exact
   sum of its parts; **variance** is ``Σ amount² · π · (1 - π)`` with ``π`` that
   period chance. The **bands** come from `partnerkit.forecast._simulate`.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Final

import attrs

from partnerkit._base.money import Money, RateSource
from partnerkit._base.time import Period, to_utc
from partnerkit.deals._model import DealAction, DealRegistration, DealStatus
from partnerkit.errors import ValidationError
from partnerkit.forecast._model import (
    DealForecast,
    Dimension,
    Forecast,
    ForecastLine,
    ForecastPeriod,
    ForecastPolicy,
    Opportunity,
    Outcome,
    RateEstimate,
    check_period_options,
)
from partnerkit.forecast._simulate import cut_points, numpy_available, simulate

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

__all__ = [
    "DEFAULT_DRAWS",
    "UNSPECIFIED",
    "UNTIERED",
    "Deal",
    "forecast",
    "forecast_deals",
    "pipeline",
]

#: Monte Carlo draws unless told otherwise.
DEFAULT_DRAWS: Final = 10_000
#: The tier line of partners whose tier is not known.
UNTIERED: Final = "untiered"
#: The product line of deals that name no product.
UNSPECIFIED: Final = "unspecified"
_CLOSING: Final = {
    DealStatus.WON: True,
    DealStatus.LOST: False,
    DealStatus.EXPIRED: False,
    DealStatus.REJECTED: False,
    DealStatus.WITHDRAWN: False,
}
_DAY: Final = timedelta(days=1)


@attrs.frozen
class Deal:
    """A registration or opportunity reduced to what forecasting reads (internal)."""

    id: str
    partner_id: str
    amount: Money
    products: tuple[str, ...]
    stages: tuple[tuple[str, datetime], ...]
    closed_at: datetime | None
    won: bool | None
    expected_close_on: date | None

    def state_at(self, at: datetime) -> tuple[str, datetime] | None:
        """The stage it was in at ``at`` and when it entered it; ``None`` if not open then."""
        if not self.stages or self.stages[0][1] > at:
            return None
        if self.closed_at is not None and self.closed_at <= at:
            return None
        current = self.stages[0]
        for stage in self.stages:
            if stage[1] > at:
                break
            current = stage
        return current

    def won_between(self, start: datetime, end: datetime) -> bool:
        """Whether it closed won in ``[start, end)``."""
        return bool(self.won) and self.closed_at is not None and start <= self.closed_at < end


def _from_registration(registration: DealRegistration, policy: ForecastPolicy) -> Deal | None:
    if registration.submitted_at is None:
        return None  # a draft is not pipeline yet
    stages = policy.status_stages
    found: list[tuple[str, datetime]] = [(stages[DealStatus.SUBMITTED], registration.submitted_at)]
    closed_at: datetime | None = None
    won: bool | None = None
    for change in registration.history:
        if change.action is DealAction.APPROVE:
            found.append((stages[DealStatus.APPROVED], max(change.at, found[-1][1])))
        elif change.to_status in _CLOSING and change.action is not DealAction.AMEND:
            closed_at, won = change.at, _CLOSING[change.to_status]
    status = registration.status
    if status in _CLOSING and closed_at is None:
        closed_at = registration.updated_at or found[-1][1]
        won = _CLOSING[status]
    if status is DealStatus.APPROVED and len(found) == 1:
        approved = next(
            (d.at for d in registration.decisions if d.action is DealAction.APPROVE), None
        )
        found.append((stages[DealStatus.APPROVED], approved or found[0][1]))
    if closed_at is not None:
        closed_at = max(closed_at, found[-1][1])
    return Deal(
        registration.id,
        registration.partner_id,
        registration.amount,
        registration.products,
        tuple(found),
        closed_at,
        won,
        registration.expected_close_on,
    )


def _from_opportunity(opportunity: Opportunity) -> Deal:
    return Deal(
        opportunity.id,
        opportunity.partner_id,
        opportunity.amount,
        opportunity.products,
        tuple((change.stage, change.at) for change in opportunity.stages),
        opportunity.closed_at,
        None if opportunity.outcome is None else opportunity.outcome is Outcome.WON,
        opportunity.expected_close_on,
    )


def pipeline(
    registrations: Iterable[DealRegistration],
    opportunities: Iterable[Opportunity] = (),
    *,
    policy: ForecastPolicy | None = None,
) -> list[Deal]:
    """Registrations and opportunities as forecast deals; an opportunity replaces its registration.

    Raises:
        ValidationError: If an item is not a registration or an opportunity, or two
            share an id.
    """
    rules = policy or ForecastPolicy()
    by_id: dict[str, Deal] = {}
    replaced: set[str] = set()
    for index, opportunity in enumerate(opportunities):
        if not isinstance(opportunity, Opportunity):
            raise ValidationError.single(f"opportunities[{index}]", "expected an Opportunity")
        if opportunity.id in by_id:
            raise ValidationError.single(
                f"opportunities[{index}]", f"id {opportunity.id!r} is given twice"
            )
        by_id[opportunity.id] = _from_opportunity(opportunity)
        if opportunity.registration_id is not None:
            replaced.add(opportunity.registration_id)
    for index, registration in enumerate(registrations):
        if not isinstance(registration, DealRegistration):
            raise ValidationError.single(f"registrations[{index}]", "expected a DealRegistration")
        if registration.id in replaced:
            continue
        if registration.id in by_id:
            raise ValidationError.single(
                f"registrations[{index}]", f"id {registration.id!r} is given twice"
            )
        deal = _from_registration(registration, rules)
        if deal is not None:
            by_id[deal.id] = deal
    return list(by_id.values())


class _History:
    """Win counts and win timing per stage and age bucket, learned from closed deals."""

    def __init__(
        self,
        deals: Sequence[Deal],
        as_of: datetime,
        policy: ForecastPolicy,
        tiers: Mapping[str, str],
    ) -> None:
        self.policy = policy
        edges = policy.age_edges
        self.program: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])
        self.tier: dict[tuple[str, str, int], list[int]] = defaultdict(lambda: [0, 0])
        self.partner: dict[tuple[str, str, int], list[int]] = defaultdict(lambda: [0, 0])
        timing: dict[tuple[str, int], list[int]] = defaultdict(list)
        pooled: list[int] = []
        self.closed = 0
        for deal in deals:
            closed = deal.closed_at
            if closed is None or closed > as_of or not deal.stages:
                continue
            self.closed += 1
            won = int(bool(deal.won))
            tier = tiers.get(deal.partner_id)
            for position, (stage, entered) in enumerate(deal.stages):
                left = deal.stages[position + 1][1] if position + 1 < len(deal.stages) else closed
                for bucket, edge in enumerate(edges):
                    anchor = entered + edge * _DAY
                    if bucket and anchor >= left:
                        break
                    for counts in (
                        self.program[stage, bucket],
                        self.partner[deal.partner_id, stage, bucket],
                        *((self.tier[tier, stage, bucket],) if tier is not None else ()),
                    ):
                        counts[0] += won
                        counts[1] += 1
                    if won:
                        days = max(0, (closed - anchor) // _DAY)
                        timing[stage, bucket].append(days)
                        pooled.append(days)
        self.timing = {key: sorted(values) for key, values in timing.items()}
        self.pooled = sorted(pooled)

    def bucket(self, age_days: int) -> int:
        return bisect_right(self.policy.age_edges, age_days) - 1

    def estimate(
        self, partner_id: str, tier: str | None, stage: str, bucket: int, ramp: float
    ) -> RateEstimate:
        policy = self.policy
        default = policy.rate_for(stage)
        program_wins, program_deals = self.program.get((stage, bucket), (0, 0))
        program_rate = (program_wins + policy.program_prior * default) / (
            program_deals + policy.program_prior
        )
        tier_wins = tier_deals = 0
        tier_rate = program_rate
        if tier is not None:
            tier_wins, tier_deals = self.tier.get((tier, stage, bucket), (0, 0))
            tier_rate = (tier_wins + policy.tier_prior * program_rate) / (
                tier_deals + policy.tier_prior
            )
        wins, deals = self.partner.get((partner_id, stage, bucket), (0, 0))
        prior = policy.partner_prior
        probability = (wins + prior * tier_rate * ramp) / (deals + prior)
        edges = policy.age_edges
        return RateEstimate(
            stage=stage,
            age_from=edges[bucket],
            age_to=edges[bucket + 1] if bucket + 1 < len(edges) else None,
            default_rate=default,
            program_wins=program_wins,
            program_deals=program_deals,
            program_rate=program_rate,
            tier=tier,
            tier_wins=tier_wins,
            tier_deals=tier_deals,
            tier_rate=tier_rate,
            partner_wins=wins,
            partner_deals=deals,
            partner_weight=deals / (deals + prior),
            ramp=ramp,
            probability=min(1.0, max(0.0, probability)),
        )

    def timing_for(self, stage: str, bucket: int) -> tuple[list[int] | None, str]:
        enough = self.policy.min_timing_samples
        own = self.timing.get((stage, bucket), [])
        if len(own) >= enough:
            return own, f"timing of {len(own)} won deals from this stage and age"
        if len(self.pooled) >= enough:
            return self.pooled, f"timing of all {len(self.pooled)} won deals (too few here)"
        return None, "its expected close date (too little won history)"


def _period_chances(
    samples: list[int] | None, spans: Sequence[tuple[int, int]], expected_offset: int | None
) -> list[float]:
    """P(close in period k | won); ``spans`` are the periods in days from ``as_of``."""
    if samples is None:
        target = max(0, expected_offset if expected_offset is not None else 0)
        return [1.0 if start <= target < end else 0.0 for start, end in spans]
    size = len(samples)
    return [
        (bisect_left(samples, end) - bisect_left(samples, start)) / size for start, end in spans
    ]


def _ramp(joined: date | None, as_of: date, policy: ForecastPolicy) -> float:
    if joined is None or policy.ramp_days == 0:
        return 1.0
    days = (as_of - joined).days
    if days >= policy.ramp_days:
        return 1.0
    share = max(0, days) / policy.ramp_days
    return policy.ramp_start + (1 - policy.ramp_start) * share


def _currency_of(deals: Sequence[Deal], currency: str | None, rates: RateSource | None) -> str:
    found = sorted({deal.amount.currency for deal in deals})
    if currency is not None:
        if rates is None and any(code != currency for code in found):
            raise ValidationError.single(
                "currency", f"deals are in {', '.join(found)}; give rates to convert to {currency}"
            )
        return currency
    if len(found) > 1 and rates is None:
        raise ValidationError.single(
            "currency", f"deals are in {', '.join(found)}; give currency= and rates= to convert"
        )
    return found[0] if found else "USD"


def _expected_units(units: int, chance: float) -> int:
    exact = Decimal(units) * Decimal(chance)
    return int(exact.to_integral_value())  # half to even, the default context rounding


def _variance_units(units: int, chance: float) -> int:
    # A float is plenty for one deal's term; rounding it to a whole number of
    # minor units squared makes every sum of terms exact.
    return round(float(units) * units * chance * (1.0 - chance))


def forecast(
    registrations: Iterable[DealRegistration],
    *,
    as_of: datetime,
    opportunities: Iterable[Opportunity] = (),
    tiers: Mapping[str, str] | None = None,
    joined: Mapping[str, date] | None = None,
    policy: ForecastPolicy | None = None,
    period: Period | None = None,
    periods: int = 1,
    start: date | None = None,
    currency: str | None = None,
    rates: RateSource | None = None,
    draws: int = DEFAULT_DRAWS,
    seed: int = 0,
    engine: str = "auto",
) -> Forecast:
    """Forecast what the open pipeline brings per period, partner, tier and product.

    Args:
        registrations: Deal registrations, open and closed: the open ones (at
            ``as_of``) are forecast, the ones closed at or before ``as_of`` are the
            history the rates are learned from; later closings are ignored, so a
            past ``as_of`` replays what was known then.
        as_of: The instant to forecast from (timezone-aware).
        opportunities: Host opportunities with stages; one naming a
            ``registration_id`` replaces that registration.
        tiers: Partner id to tier name, for the tier level and tier lines.
        joined: Partner id to the date it joined, for the ramp of new partners.
        policy: How rates and timing are learned.
        period: The length of a period (default three months).
        periods: How many periods to forecast.
        start: The first period's first day (default ``as_of``'s date). A deal
            can only close from ``as_of`` on, so a start before it shortens the
            first period.
        currency: The forecast's currency (default the deals' one currency).
        rates: Converts deals in other currencies at ``as_of``.
        draws: Monte Carlo draws for the bands.
        seed: The seed of the draws: the same seed and engine give the same bands.
        engine: ``"numpy"`` (the ``fast`` extra), ``"python"`` or ``"auto"``
            (numpy when installed).

    Returns:
        The forecast, with one line per period and group and every deal explained.

    Raises:
        ValidationError: If an option is out of range, ``as_of`` is naive, or the
            deals are in several currencies without ``currency`` and ``rates``.
    """
    rules = policy or ForecastPolicy()
    return forecast_deals(
        pipeline(registrations, opportunities, policy=rules),
        as_of=as_of,
        tiers=tiers,
        joined=joined,
        policy=rules,
        period=period,
        periods=periods,
        start=start,
        currency=currency,
        rates=rates,
        draws=draws,
        seed=seed,
        engine=engine,
    )


def forecast_deals(  # noqa: PLR0915 - one pass; the steps are in the module docstring
    items: Sequence[Deal],
    *,
    as_of: datetime,
    tiers: Mapping[str, str] | None = None,
    joined: Mapping[str, date] | None = None,
    policy: ForecastPolicy | None = None,
    period: Period | None = None,
    periods: int = 1,
    start: date | None = None,
    currency: str | None = None,
    rates: RateSource | None = None,
    draws: int = DEFAULT_DRAWS,
    seed: int = 0,
    engine: str = "auto",
) -> Forecast:
    """`forecast` of deals already built with `pipeline` (the backtest reuses them)."""
    length = check_period_options(
        period if period is not None else Period.of_months(3), periods, draws
    )
    when = to_utc(as_of, "as_of")
    if engine not in ("auto", "numpy", "python"):
        raise ValidationError.single("engine", "expected 'auto', 'numpy' or 'python'")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValidationError.single("seed", "expected a whole number, 0 or more")
    chosen = ("numpy" if numpy_available() else "python") if engine == "auto" else engine
    rules = policy or ForecastPolicy()
    tier_of = dict(tiers or {})
    joined_on = dict(joined or {})
    history = _History(items, when, rules, tier_of)
    first = start if start is not None else when.date()
    bounds = [first + length * index for index in range(periods + 1)]
    spans = [ForecastPeriod(index, bounds[index], bounds[index + 1]) for index in range(periods)]
    if bounds[-1] <= when.date():
        raise ValidationError.single("start", "every period ends before as_of; start later")
    offsets = [
        (max(0, (bounds[k] - when.date()).days), (bounds[k + 1] - when.date()).days)
        for k in range(periods)
    ]
    open_deals = [(deal, state) for deal in items if (state := deal.state_at(when)) is not None]
    code = _currency_of([deal for deal, _ in open_deals], currency, rates)

    explained: list[DealForecast] = []
    units: list[int] = []
    cuts: list[tuple[int, ...]] = []
    partner_ids: list[str] = sorted({deal.partner_id for deal, _ in open_deals})
    partner_index = {partner: index for index, partner in enumerate(partner_ids)}
    tier_names = sorted({tier_of.get(partner, UNTIERED) for partner in partner_ids})
    tier_index = {tier: index for index, tier in enumerate(tier_names)}
    product_names = sorted(
        {product for deal, _ in open_deals for product in deal.products or (UNSPECIFIED,)}
    )
    product_index = {product: index for index, product in enumerate(product_names)}
    product_slots: list[tuple[int, int, int]] = []
    # (dimension, key, period) -> [expected units, variance units, deals]
    sums: dict[tuple[Dimension, str, int], list[int]] = defaultdict(lambda: [0, 0, 0])
    timing_cache: dict[tuple[str, int], tuple[list[int] | None, str, list[float]]] = {}
    rate_cache: dict[tuple[str, str, int, float], RateEstimate] = {}
    scale = Decimal(1).scaleb(-Money.zero(code).minor_unit)
    today = when.date()
    for deal, (stage, entered) in sorted(open_deals, key=lambda item: item[0].id):
        amount = deal.amount
        if amount.currency != code:
            assert rates is not None  # _currency_of checked  # noqa: S101
            amount = amount.convert(code, rates, as_of=when)
        try:
            minor = amount.minor_units
        except ValidationError:  # more decimals than the currency has
            amount = amount.rounded()
            minor = amount.minor_units
        products = deal.products or (UNSPECIFIED,)
        age = max(0, (when - entered) // _DAY)
        bucket = history.bucket(age)
        tier = tier_of.get(deal.partner_id)
        ramp = _ramp(joined_on.get(deal.partner_id), today, rules)
        rate = rate_cache.get((deal.partner_id, stage, bucket, ramp))
        if rate is None:
            rate = history.estimate(deal.partner_id, tier, stage, bucket, ramp)
            rate_cache[deal.partner_id, stage, bucket, ramp] = rate
        timed = timing_cache.get((stage, bucket))
        if timed is None:
            samples, timing = history.timing_for(stage, bucket)
            shares = _period_chances(samples, offsets, None) if samples is not None else []
            timed = timing_cache[stage, bucket] = (samples, timing, shares)
        samples, timing, shares = timed
        if samples is None:
            expected_offset = (
                (deal.expected_close_on - today).days if deal.expected_close_on else None
            )
            if expected_offset is not None and expected_offset < 0:
                timing = "its expected close date, passed: as soon as possible"
            shares = _period_chances(None, offsets, expected_offset)
        chances = [rate.probability * share for share in shares]
        amount_shares = _split(minor, len(products)) if len(products) > 1 else [minor]
        expected_units = [_expected_units(minor, chance) for chance in chances]
        tier_key = tier if tier is not None else UNTIERED
        for index, chance in enumerate(chances):
            if chance <= 0:
                continue
            variance = _variance_units(minor, chance)
            for dimension, group in (
                (Dimension.TOTAL, ""),
                (Dimension.PARTNER, deal.partner_id),
                (Dimension.TIER, tier_key),
            ):
                line = sums[dimension, group, index]
                line[0] += expected_units[index]
                line[1] += variance
                line[2] += 1
            if len(products) == 1:
                line = sums[Dimension.PRODUCT, products[0], index]
                line[0] += expected_units[index]
                line[1] += variance
                line[2] += 1
                continue
            for product, share, amount_share in zip(
                products, _split(expected_units[index], len(products)), amount_shares, strict=True
            ):
                line = sums[Dimension.PRODUCT, product, index]
                line[0] += share
                line[1] += _variance_units(amount_share, chance)
                line[2] += 1
        number = len(units)
        units.append(minor)
        cuts.append(cut_points(chances))
        for product, amount_share in zip(products, amount_shares, strict=True):
            product_slots.append((number, product_index[product], amount_share))
        explained.append(
            DealForecast(
                deal_id=deal.id,
                partner_id=deal.partner_id,
                tier=tier,
                stage=stage,
                age_days=age,
                amount=amount,
                products=deal.products,
                win_probability=rate.probability,
                period_probabilities=tuple(chances),
                expected=tuple(Money._trusted(Decimal(u) * scale, code) for u in expected_units),
                rate=rate,
                timing=timing,
            )
        )
    bands = simulate(
        units,
        cuts,
        [partner_index[deal.partner_id] for deal in explained],
        [tier_index[tier_of.get(partner, UNTIERED)] for partner in partner_ids],
        product_slots,
        periods=periods,
        counts=(len(partner_ids), len(tier_names), len(product_names)),
        draws=draws,
        seed=seed,
        engine=chosen,
    )
    indexes = {
        Dimension.TOTAL: {"": 0},
        Dimension.PARTNER: partner_index,
        Dimension.TIER: tier_index,
        Dimension.PRODUCT: product_index,
    }
    lines = []
    for (dimension, key, index), (expected, variance, count) in sorted(sums.items()):
        low, mid, high = bands[dimension.value, indexes[dimension][key], index]
        lines.append(
            ForecastLine(
                period=index,
                dimension=dimension,
                key=key,
                deals=count,
                expected=Money.from_minor_units(expected, code),
                variance=Decimal(variance).scaleb(-2 * Money.zero(code).minor_unit),
                std_dev=Money.from_minor_units(math.isqrt(variance), code),
                p10=Money.from_minor_units(low, code),
                p50=Money.from_minor_units(mid, code),
                p90=Money.from_minor_units(high, code),
            )
        )
    for index in range(periods):
        if (Dimension.TOTAL, "", index) not in sums:
            zero = Money.zero(code).rounded()
            lines.append(
                ForecastLine(
                    index, Dimension.TOTAL, "", 0, zero, Decimal(0), zero, zero, zero, zero
                )
            )
    lines.sort(key=lambda line: (line.period, list(Dimension).index(line.dimension), line.key))
    return Forecast(
        as_of=when,
        currency=code,
        periods=tuple(spans),
        lines=tuple(lines),
        deals=tuple(explained),
        draws=draws,
        seed=seed,
        engine=chosen,
        history_deals=history.closed,
    )


def _split(units: int, parts: int) -> list[int]:
    """``units`` in ``parts`` whole shares as equal as can be, the earliest ones larger."""
    base, extra = divmod(units, parts)
    return [base + (1 if index < extra else 0) for index in range(parts)]
