"""Forecast inputs and results: opportunities with stages, the policy, explained forecasts.

Money stays `Money` (exact, rounded to the currency's minor unit where a
probability multiplies it); probabilities are plain ``float`` values from 0 to 1.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from itertools import pairwise
from typing import TYPE_CHECKING, Final

import attrs

from partnerkit._base.checks import check_enum, check_slug
from partnerkit._base.ids import check_id
from partnerkit._base.money import Money
from partnerkit._base.time import Period, parse_date, to_utc
from partnerkit.deals._model import DealStatus
from partnerkit.errors import Problems, ValidationError

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "DEFAULT_STAGE_RATES",
    "DEFAULT_STATUS_STAGES",
    "DealForecast",
    "Dimension",
    "Forecast",
    "ForecastLine",
    "ForecastPeriod",
    "ForecastPolicy",
    "Opportunity",
    "Outcome",
    "RateEstimate",
    "StageChange",
]

#: The stage an open registration is in when no host opportunity says otherwise.
DEFAULT_STATUS_STAGES: Final[Mapping[DealStatus, str]] = {
    DealStatus.SUBMITTED: "submitted",
    DealStatus.APPROVED: "approved",
}
#: The win rates a program starts from before it has history (the beta prior's
#: mean at program level). Partner-sourced pipeline is reported to convert at
#: 30-45%; an unvetted submission converts less than an approved registration.
DEFAULT_STAGE_RATES: Final[Mapping[str, float]] = {"submitted": 0.2, "approved": 0.35}
_MAX_PRODUCT: Final = 100


class Outcome(enum.StrEnum):
    """How a closed opportunity ended."""

    WON = "won"
    LOST = "lost"


class Dimension(enum.StrEnum):
    """What a forecast line adds up: everything, or one partner, tier or product."""

    TOTAL = "total"
    PARTNER = "partner"
    TIER = "tier"
    PRODUCT = "product"


def _probability(value: object, path: str, problems: Problems) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or not 0 <= value <= 1
    ):
        problems.add(path, f"expected a probability from 0 to 1, got {value!r}")
        return 0.0
    return float(value)


def _positive_number(value: object, path: str, problems: Problems) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value <= 0
    ):
        problems.add(path, f"expected a number greater than 0, got {value!r}")
        return 1.0
    return float(value)


def _whole(value: object, path: str, problems: Problems, *, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        problems.add(path, f"expected a whole number of at least {least}, got {value!r}")
        return least
    return value


@attrs.frozen
class StageChange:
    """An opportunity entering a sales stage.

    Attributes:
        stage: The stage's name, a lowercase slug (``"proposal"``).
        at: When it entered the stage.
    """

    stage: str
    at: datetime

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        object.__setattr__(self, "stage", problems.check("stage", check_slug, self.stage, "stage"))
        object.__setattr__(self, "at", problems.check("at", to_utc, self.at, ""))
        problems.raise_if_any()


@attrs.frozen
class Opportunity:
    """A host's sales opportunity with stages, for hosts that track more than registrations.

    Give one for a registration (``registration_id``) and the forecast uses its
    stages instead of the registration's status; give one without a registration
    for partner pipeline the host tracks elsewhere.

    Attributes:
        id: The opportunity's id.
        partner_id: The partner that brought it.
        amount: Its value.
        stages: The stages it went through, oldest first (at least one).
        outcome: ``won`` or ``lost`` once closed, else ``None``.
        closed_at: When it closed (required with an outcome).
        products: What it sells.
        expected_close_on: The date the seller expects it to close.
        registration_id: The deal registration it carries on, if any.
    """

    id: str
    partner_id: str
    amount: Money
    stages: tuple[StageChange, ...]
    outcome: Outcome | None = None
    closed_at: datetime | None = None
    products: tuple[str, ...] = ()
    expected_close_on: date | None = None
    registration_id: str | None = None

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        fix = object.__setattr__
        problems.check("id", check_id, self.id, "")
        problems.check("partner_id", check_id, self.partner_id, "")
        if not isinstance(self.amount, Money):
            problems.add("amount", "expected Money, such as Money('25000', 'EUR')")
        elif self.amount.amount < 0:
            problems.add("amount", f"{self.amount} is negative; give the opportunity's value")
        stages = tuple(self.stages) if isinstance(self.stages, (list, tuple)) else ()
        if not stages:
            problems.add("stages", "give at least one StageChange (the stage it started in)")
        for index, change in enumerate(stages):
            if not isinstance(change, StageChange):
                problems.add(f"stages[{index}]", "expected a StageChange(stage, at)")
        fix(self, "stages", stages)
        good = [change for change in stages if isinstance(change, StageChange)]
        if any(later.at < earlier.at for earlier, later in pairwise(good)):
            problems.add("stages", "list the stages oldest first")
        if self.outcome is not None:
            fix(self, "outcome", problems.check("outcome", check_enum, Outcome, self.outcome))
        if self.closed_at is not None:
            fix(self, "closed_at", problems.check("closed_at", to_utc, self.closed_at, ""))
        if (self.outcome is None) != (self.closed_at is None):
            problems.add("closed_at", "give closed_at together with an outcome, or neither")
        elif self.closed_at is not None and good and self.closed_at < good[-1].at:
            problems.add("closed_at", "it closed before it entered its last stage")
        products = tuple(self.products) if isinstance(self.products, (list, tuple)) else None
        if products is None or not all(
            isinstance(p, str) and p.strip() and len(p) <= _MAX_PRODUCT for p in products
        ):
            problems.add("products", "expected a list of product names")
            products = ()
        fix(self, "products", tuple(p.strip() for p in products))
        if self.expected_close_on is not None:
            close = problems.check("expected_close_on", parse_date, self.expected_close_on, "")
            fix(self, "expected_close_on", close)
        if self.registration_id is not None:
            problems.check("registration_id", check_id, self.registration_id, "")
        problems.raise_if_any()


@attrs.frozen
class ForecastPolicy:
    """How win rates and close timing are learned from history.

    A win rate is estimated per stage and age bucket (days in the stage) at three
    levels, each a beta-binomial posterior mean whose prior is the level above:
    program ``(w + a·d) / (n + a)`` with ``d`` the stage's default rate and ``a``
    ``program_prior``; tier ``(w_t + b·program) / (n_t + b)`` with ``b``
    ``tier_prior``; partner ``(w_p + c·tier·ramp) / (n_p + c)`` with ``c``
    ``partner_prior``. ``w`` and ``n`` count wins and closed deals that were in
    that stage at that age. A partner with no history gets its tier's rate; one
    with much history mostly its own.

    Attributes:
        status_stages: The stage an open registration of each status is in
            (``submitted`` and ``approved`` unless given).
        stage_rates: Default win rate per stage (the program-level prior's mean).
        default_rate: The prior's mean for a stage missing from ``stage_rates``.
        age_edges: Lower edges, in days in the stage, of the age buckets (first 0).
        program_prior: Weight of the default rate, in pseudo-deals.
        tier_prior: Weight of the program rate in a tier's, in pseudo-deals.
        partner_prior: Weight of the tier rate in a partner's, in pseudo-deals.
        ramp_days: How long a new partner ramps up (from its join date).
        ramp_start: The share of its tier's rate a partner starts at; it climbs
            linearly to 1 over ``ramp_days``.
        min_timing_samples: Won deals needed before a stage's own close timing is
            used; below it the pooled timing of every stage is, and without
            enough of either, the deal's expected close date.
    """

    status_stages: Mapping[DealStatus, str] = attrs.field(
        factory=lambda: dict(DEFAULT_STATUS_STAGES)
    )
    stage_rates: Mapping[str, float] = attrs.field(factory=lambda: dict(DEFAULT_STAGE_RATES))
    default_rate: float = 0.3
    age_edges: tuple[int, ...] = (0, 30, 60, 90)
    program_prior: float = 10.0
    tier_prior: float = 20.0
    partner_prior: float = 20.0
    ramp_days: int = 180
    ramp_start: float = 0.5
    min_timing_samples: int = 10

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        fix = object.__setattr__
        # A status left out keeps its default stage.
        stages: dict[DealStatus, str] = dict(DEFAULT_STATUS_STAGES)
        if not isinstance(self.status_stages, Mapping):
            problems.add("status_stages", "expected a mapping of status to stage")
        else:
            for status, stage in self.status_stages.items():
                path = f"status_stages[{status!r}]"
                known = problems.check(path, check_enum, DealStatus, status)
                slug = problems.check(path, check_slug, stage, "stage")
                if known is not None and slug is not None:
                    if known not in (DealStatus.SUBMITTED, DealStatus.APPROVED):
                        problems.add(path, "only submitted and approved registrations are open")
                    stages[known] = slug
        fix(self, "status_stages", stages)
        rates: dict[str, float] = {}
        if not isinstance(self.stage_rates, Mapping):
            problems.add("stage_rates", "expected a mapping of stage to win rate")
        else:
            for stage, rate in self.stage_rates.items():
                path = f"stage_rates[{stage!r}]"
                slug = problems.check(path, check_slug, stage, "stage")
                if slug is not None:
                    rates[slug] = _probability(rate, path, problems)
        fix(self, "stage_rates", rates)
        fix(self, "default_rate", _probability(self.default_rate, "default_rate", problems))
        edges = tuple(self.age_edges) if isinstance(self.age_edges, (list, tuple)) else ()
        if (
            not edges
            or edges[0] != 0
            or not all(type(e) is int for e in edges)
            or any(b <= a for a, b in pairwise(edges))
        ):
            problems.add("age_edges", "expected increasing whole days starting at 0, like (0, 30)")
            edges = (0,)
        fix(self, "age_edges", edges)
        for name in ("program_prior", "tier_prior", "partner_prior"):
            fix(self, name, _positive_number(getattr(self, name), name, problems))
        fix(self, "ramp_days", _whole(self.ramp_days, "ramp_days", problems, least=0))
        fix(self, "ramp_start", _probability(self.ramp_start, "ramp_start", problems))
        samples = _whole(self.min_timing_samples, "min_timing_samples", problems, least=1)
        fix(self, "min_timing_samples", samples)
        problems.raise_if_any()

    def rate_for(self, stage: str) -> float:
        """The default win rate of ``stage`` (the program prior's mean)."""
        return self.stage_rates.get(stage, self.default_rate)


@attrs.frozen
class ForecastPeriod:
    """One period of a forecast: ``start`` inclusive to ``end`` exclusive."""

    index: int
    start: date
    end: date

    @property
    def label(self) -> str:
        """``2027-01-01..2027-03-31`` (the last day included)."""
        last = date.fromordinal(self.end.toordinal() - 1)
        return f"{self.start.isoformat()}..{last.isoformat()}"


@attrs.frozen
class RateEstimate:
    """Where a deal's win probability came from: the history at each level and the shrinkage.

    Counts are closed deals (and the wins among them) that were in ``stage`` at
    an age in the bucket, from the history known at the forecast's ``as_of``.

    Attributes:
        stage: The deal's stage.
        age_from: The bucket's lower edge in days in the stage.
        age_to: Its upper edge (exclusive), ``None`` for the last bucket.
        default_rate: The stage's default rate (the program's prior mean).
        program_wins: Wins in the program's history.
        program_deals: Closed deals in the program's history.
        program_rate: The program's shrunk rate.
        tier: The partner's tier, if known.
        tier_wins: Wins of the tier's partners.
        tier_deals: Closed deals of the tier's partners.
        tier_rate: The tier's rate, shrunk toward the program's.
        partner_wins: The partner's own wins.
        partner_deals: The partner's own closed deals.
        partner_weight: How much of the result is the partner's own rate:
            ``partner_deals / (partner_deals + partner_prior)``.
        ramp: The ramp factor applied to the prior of a new partner (1.0 when
            ramped up or the join date is unknown).
        probability: The result: the chance the deal is eventually won.
    """

    stage: str
    age_from: int
    age_to: int | None
    default_rate: float
    program_wins: int
    program_deals: int
    program_rate: float
    tier: str | None
    tier_wins: int
    tier_deals: int
    tier_rate: float
    partner_wins: int
    partner_deals: int
    partner_weight: float
    ramp: float
    probability: float

    @property
    def age_label(self) -> str:
        """``30-59 days`` or ``90+ days``."""
        if self.age_to is None:
            return f"{self.age_from}+ days"
        return f"{self.age_from}-{self.age_to - 1} days"

    def describe(self) -> str:
        """The estimate in one sentence."""
        tier = (
            f"tier {self.tier} {self.tier_wins}/{self.tier_deals} won -> {self.tier_rate:.1%}; "
            if self.tier is not None
            else ""
        )
        ramp = f", ramp x{self.ramp:.2f}" if self.ramp < 1 else ""
        return (
            f"{self.stage} aged {self.age_label}: program {self.program_wins}/"
            f"{self.program_deals} won (prior {self.default_rate:.0%}) -> "
            f"{self.program_rate:.1%}; {tier}partner {self.partner_wins}/"
            f"{self.partner_deals} won, weight {self.partner_weight:.0%}{ramp} -> "
            f"{self.probability:.1%}"
        )


@attrs.frozen
class DealForecast:
    """One open deal in a forecast, with the reasons for its numbers.

    Attributes:
        deal_id: The registration's (or opportunity's) id.
        partner_id: Its partner.
        tier: The partner's tier, if known.
        stage: The stage it is in at ``as_of``.
        age_days: Whole days it has been in that stage.
        amount: Its value in the forecast's currency.
        products: What it sells.
        win_probability: The chance it is eventually won (a float, 0 to 1).
        period_probabilities: The chance it is won within each period (floats).
        expected: ``amount x period probability`` per period, rounded to the
            currency's minor unit (half to even).
        rate: Where ``win_probability`` came from.
        timing: Where the close timing came from, in words.
    """

    deal_id: str
    partner_id: str
    tier: str | None
    stage: str
    age_days: int
    amount: Money
    products: tuple[str, ...]
    win_probability: float
    period_probabilities: tuple[float, ...]
    expected: tuple[Money, ...]
    rate: RateEstimate
    timing: str

    def explain(self) -> str:
        """The deal's forecast in one line."""
        chances = ", ".join(f"{p:.1%}" for p in self.period_probabilities)
        return (
            f"{self.deal_id} {self.amount} in {self.stage} for {self.age_days} days: "
            f"wins {self.win_probability:.1%} ({self.rate.describe()}); per period "
            f"{chances} ({self.timing})"
        )


@attrs.frozen
class ForecastLine:
    """What one group of deals is expected to bring in one period.

    Attributes:
        period: The period's index (0 is the first).
        dimension: What the line groups by.
        key: The partner id, tier or product name (``""`` for the total).
        deals: How many deals may close in the period.
        expected: The expected value: the sum of the deals' rounded expected
            values, so lines add up exactly.
        variance: ``Σ amount² · p · (1 - p)`` in the currency's units squared,
            each deal's term rounded to whole minor units squared. Deals are
            independent, so variances add up across partners and tiers (not
            across products: a deal selling two products moves both).
        std_dev: The square root of the variance, rounded to the minor unit.
        p10: 10th percentile of the simulated totals (nearest rank).
        p50: The median simulated total.
        p90: 90th percentile of the simulated totals.
    """

    period: int
    dimension: Dimension
    key: str
    deals: int
    expected: Money
    variance: Decimal
    std_dev: Money
    p10: Money
    p50: Money
    p90: Money


@attrs.frozen
class Forecast:
    """Expected revenue and bands per period, partner, tier and product, explained per deal.

    Attributes:
        as_of: The instant the forecast looks from.
        currency: The currency of every amount.
        periods: The periods, first to last.
        lines: One line per period and group.
        deals: Every open deal forecast, with its explanation.
        draws: How many Monte Carlo draws the bands come from.
        seed: The seed of the draws.
        engine: ``"numpy"`` or ``"python"``: which simulation ran. Both draw from the
            same distribution; the same seed and engine give the same bands.
        history_deals: Closed deals the rates were learned from.
    """

    as_of: datetime
    currency: str
    periods: tuple[ForecastPeriod, ...]
    lines: tuple[ForecastLine, ...]
    deals: tuple[DealForecast, ...]
    draws: int
    seed: int
    engine: str
    history_deals: int

    def line(
        self, dimension: Dimension | str = Dimension.TOTAL, key: str = "", *, period: int = 0
    ) -> ForecastLine:
        """The line for one group and period.

        Raises:
            LookupError: If the forecast has no such line (no deal of that group).
        """
        wanted = Dimension(dimension)
        for line in self.lines:
            if line.period == period and line.dimension is wanted and line.key == key:
                return line
        msg = f"no {wanted.value} line {key!r} in period {period}; see .lines for what there is"
        raise LookupError(msg)

    def lines_for(self, dimension: Dimension | str, *, period: int = 0) -> tuple[ForecastLine, ...]:
        """Every line of one dimension in one period, in key order."""
        wanted = Dimension(dimension)
        return tuple(
            line for line in self.lines if line.dimension is wanted and line.period == period
        )

    def for_partner(self, partner_id: str) -> tuple[DealForecast, ...]:
        """The partner's deals in the forecast."""
        return tuple(deal for deal in self.deals if deal.partner_id == partner_id)

    def explain(self, partner_id: str) -> str:
        """The partner's forecast and every deal in it, with where its numbers came from."""
        deals = self.for_partner(partner_id)
        if not deals:
            return f"{partner_id} has no open deals in this forecast."
        lines = [f"{partner_id}: {len(deals)} open deal(s)"]
        for period in self.periods:
            try:
                line = self.line(Dimension.PARTNER, partner_id, period=period.index)
            except LookupError:
                continue
            lines.append(
                f"  {period.label}: expected {line.expected} (p10 {line.p10}, p50 "
                f"{line.p50}, p90 {line.p90})"
            )
        lines += [f"  - {deal.explain()}" for deal in deals]
        return "\n".join(lines)

    def _iter_records(self) -> Iterator[dict[str, object]]:
        for line in self.lines:
            period = self.periods[line.period]
            yield {
                "period": line.period,
                "start": period.start,
                "end": period.end,
                "dimension": line.dimension.value,
                "key": line.key,
                "deals": line.deals,
                "currency": self.currency,
                "expected": line.expected.amount,
                "std_dev": line.std_dev.amount,
                "p10": line.p10.amount,
                "p50": line.p50.amount,
                "p90": line.p90.amount,
            }

    def to_records(self) -> list[dict[str, object]]:
        """One flat dict per line (amounts as Decimal), for ``pandas.DataFrame``."""
        return list(self._iter_records())

    def deal_records(self) -> list[dict[str, object]]:
        """One flat dict per deal and period, with its probabilities, for a DataFrame."""
        return [
            {
                "deal_id": deal.deal_id,
                "partner_id": deal.partner_id,
                "tier": deal.tier,
                "stage": deal.stage,
                "age_days": deal.age_days,
                "period": index,
                "currency": self.currency,
                "amount": deal.amount.amount,
                "win_probability": deal.win_probability,
                "period_probability": chance,
                "expected": deal.expected[index].amount,
                "partner_weight": deal.rate.partner_weight,
            }
            for deal in self.deals
            for index, chance in enumerate(deal.period_probabilities)
        ]

    def _repr_html_(self) -> str:
        from partnerkit.forecast._html import forecast_html  # noqa: PLC0415 - notebooks only

        return forecast_html(self)


def check_period_options(period: object, periods: object, draws: object) -> Period:
    """The forecast's period, after checking the period count and draw count too.

    Raises:
        ValidationError: Naming every bad option.
    """
    problems = Problems()
    result = Period.of_months(3)
    if isinstance(period, Period) and not period.is_zero() and all(v >= 0 for v in period._parts()):
        result = period
    else:
        problems.add("period", "expected a positive Period, such as Period.of_months(3)")
    _whole(periods, "periods", problems, least=1)
    _whole(draws, "draws", problems, least=1)
    if isinstance(periods, int) and periods > 120:
        problems.add("periods", "forecast at most 120 periods")
    problems.raise_if_any()
    return result


def require(condition: bool, path: str, message: str) -> None:
    """Raise a `ValidationError` at ``path`` unless ``condition`` holds."""
    if not condition:
        raise ValidationError.single(path, message)
