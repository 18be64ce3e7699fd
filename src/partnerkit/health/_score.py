"""Health scores: one partner scored by a model, explained, with trend and override."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Final, TypeVar

import attrs

from partnerkit._base.checks import (
    a_slug,
    a_text,
    an_id,
    an_instant,
    check_enum,
    check_fields,
    check_slug,
    check_text,
    one_of,
)
from partnerkit._base.events import Change, Event
from partnerkit._base.ids import check_id
from partnerkit._base.later import Later, defer
from partnerkit._base.money import Money, format_value
from partnerkit._base.time import to_utc
from partnerkit._base.trusted import trusted as _trusted
from partnerkit._base.trusted import trusted_from as _make
from partnerkit.errors import Problems, ValidationError
from partnerkit.health._kernel import (
    EXACT,
    FULL,
    TENTH_DECIMALS,
    CohortValues,
    MaskInfo,
    Plan,
    Run,
    cohort_values,
    micro_decimal,
    plan_of,
)
from partnerkit.health._model import (
    Band,
    Direction,
    NormalizerKind,
    ScoringModel,
    to_number,
    words,
)
from partnerkit.metrics import MetricSnapshot, MetricValue

if TYPE_CHECKING:
    from partnerkit._base.checks import Checker
    from partnerkit.health._kernel import Number, Ranks

__all__ = [
    "Cohort",
    "Contribution",
    "ContributionStatus",
    "FiredGate",
    "HealthScore",
    "Override",
    "ScoreStatus",
    "Trend",
    "TrendDirection",
    "apply_override",
    "score",
    "score_events",
    "withdraw_override",
]

T = TypeVar("T")

_TENTH: Final = Decimal("0.1")
_ZERO_POINTS: Final = TENTH_DECIMALS[0]
_HUNDRED: Final = Decimal(100)
_SECONDS_PER_DAY: Final = 86_400
_VELOCITY_DAYS: Final = 30


class ScoreStatus(enum.StrEnum):
    """Whether a score is a number."""

    SCORED = "scored"
    """The measures with data carry enough weight: the score has a value and band."""
    INSUFFICIENT_DATA = "insufficient_data"
    """Too little of the weight rests on data: no value and no band, on purpose."""


class ContributionStatus(enum.StrEnum):
    """How a measure took part in a score."""

    SCORED = "scored"
    """Its metric had data."""
    NEUTRAL = "neutral"
    """No data; counted at the model's neutral value."""
    ZERO = "zero"
    """No data; counted as 0."""
    LEFT_OUT = "left_out"
    """No data; left out, its weight spread over the other measures."""


class TrendDirection(enum.StrEnum):
    """Which way a score moved since the previous one."""

    UP = "up"
    DOWN = "down"
    FLAT = "flat"


def _optional_points(value: object) -> Decimal | None:
    if value is None:
        return None
    number = to_number(value)
    if not 0 <= number <= _HUNDRED:
        raise ValidationError.single("", f"{number} is outside 0..100")
    return number


#: How each field of `Contribution` is checked (see `check_fields`).
_CONTRIBUTION_FIELDS: Final[Mapping[str, Checker]] = {
    "measure": a_slug("measure name"),
    "label": a_text(required=True),
    "metric": a_slug("metric name"),
    "kind": one_of(NormalizerKind),
    "direction": one_of(Direction),
    "status": one_of(ContributionStatus),
}
_CONTRIBUTION_CHECK_ONLY: Final = ("measure", "metric")


@attrs.frozen
class Contribution:
    """What one measure added to a score.

    Attributes:
        measure: The measure's name.
        label: The measure's words for people.
        metric: The metric it read.
        kind: Its normaliser.
        direction: Which way the measure gets better.
        status: Whether it had data, and if not, what it counted for.
        raw: The metric's value (``None``: no data).
        normalized: The value on 0..100 to six places (``None`` if left out).
        weight_share: Its share of the weight that counted, 0..1 to four places;
            the shares of a score add up to 1 (0 for measures left out).
        points: What it added to the score, to one place; the points of a score
            add up exactly to its computed value (``None`` without a value).
        max_points: What it could have added at 100 (``weight_share`` x 100,
            shared out so the maxima add up to 100.0).
        cost: Points lost against its maximum: ``(100 - normalized) x share``
            rounded half up to one place on its own (so a measure at 100 costs
            exactly 0.0); ``None`` without a value.
    """

    measure: str
    label: str
    metric: str
    kind: NormalizerKind
    direction: Direction
    status: ContributionStatus
    raw: MetricValue
    normalized: Decimal | None
    weight_share: Decimal
    points: Decimal | None
    max_points: Decimal | None
    cost: Decimal | None

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        fix = object.__setattr__
        check_fields(self, problems, _CONTRIBUTION_FIELDS, check_only=_CONTRIBUTION_CHECK_ONLY)
        if self.raw is not None and type(self.raw) not in (Money, Decimal, int):
            problems.add("raw", "expected Money, Decimal, int or None")
        for name in ("normalized", "points", "max_points", "cost"):
            fix(self, name, problems.check(name, _optional_points, getattr(self, name)))
        share = problems.check("weight_share", to_number, self.weight_share)
        if share is not None and not 0 <= share <= 1:
            problems.add("weight_share", f"expected a share from 0 to 1, got {share}")
        fix(self, "weight_share", share)
        if self.status is ContributionStatus.SCORED and self.raw is None:
            problems.add("raw", "a scored contribution has a raw value")
        problems.raise_if_any()

    def sentence(self) -> str:
        """This contribution as a short sentence for an explanation."""
        label = self.label
        status = self.status
        if status is ContributionStatus.LEFT_OUT:
            return f"{label} has no data; its weight went to the other measures."
        if self.points is None:
            if status is ContributionStatus.SCORED:
                return f"{label} {_raw_text(self.raw)} scored {_one(self.normalized)}/100."
            return f"{label} has no data."
        cost = self.cost or _ZERO_POINTS
        if status is ContributionStatus.NEUTRAL:
            return (
                f"{label} has no data; counted as neutral ({_one(self.normalized)}), "
                f"cost {cost} points."
            )
        if status is ContributionStatus.ZERO:
            return f"{label} has no data; counted as 0, cost {cost} points."
        raw = _raw_text(self.raw)
        if not self.max_points:
            return f"{label} {raw} carries no weight in this model."
        if not cost:
            return f"{label} {raw} earned full marks: {self.points} points."
        kind = self.kind
        if kind is NormalizerKind.TARGET:
            if self.direction is Direction.LOWER:
                return f"{label} {raw} is over its target ceiling, cost {cost} points."
            return f"{label} at {_whole(self.normalized)}% of target cost {cost} points."
        if kind is NormalizerKind.RECENCY:
            return f"{label}: {raw} days since the last one cost {cost} points."
        if kind is NormalizerKind.PERCENTILE:
            return (
                f"{label} {raw} ranks at percentile {_whole(self.normalized)} of the cohort, "
                f"cost {cost} points."
            )
        return f"{label} {raw} scored {_one(self.normalized)}/100 and cost {cost} points."


@attrs.frozen
class FiredGate:
    """A gate whose condition held for the partner.

    Attributes:
        name: The gate's name.
        label: Its words for people.
        cap: The best band it allows.
        capped: Whether it lowered the band (the value's band was above ``cap``).
    """

    name: str
    label: str
    cap: str
    capped: bool

    def sentence(self) -> str:
        """The gate as a short sentence."""
        cap = words(self.cap)
        if self.capped:
            return f"Gate '{self.label}' caps the band at {cap}."
        return f"Gate '{self.label}' fired; the band was already {cap} or lower."


@attrs.frozen
class Trend:
    """How a score moved: against the previous score, and per 30 days over a history.

    The trend follows the computed values, never an override, so an override
    cannot hide a decline.

    Attributes:
        since: The previous score's instant.
        previous_value: The previous computed value.
        delta: Computed value minus the previous one.
        direction: ``up``, ``down`` or ``flat`` (a delta of 0.0).
        velocity_30d: Points per 30 days, the least-squares slope through the
            history, the previous and this score (``None`` with under two instants).
        same_model: Whether the previous score came from the same model name
            and version.
    """

    since: datetime
    previous_value: Decimal
    delta: Decimal
    direction: TrendDirection
    velocity_30d: Decimal | None = None
    same_model: bool = True

    def sentence(self) -> str:
        """The trend as a short sentence."""
        day = self.since.date().isoformat()
        if self.direction is TrendDirection.FLAT:
            text = f"Unchanged since {day}"
        else:
            way = "Up" if self.direction is TrendDirection.UP else "Down"
            text = f"{way} {abs(self.delta)} points since {day}"
        if self.velocity_30d is not None:
            sign = "+" if self.velocity_30d > 0 else ""
            text += f" ({sign}{self.velocity_30d} points per 30 days)"
        if not self.same_model:
            text += "; the previous score came from another model or version"
        return text + "."


#: How each field of `Override` is checked (see `check_fields`).
_OVERRIDE_FIELDS: Final[Mapping[str, Checker]] = {
    "author": an_id,
    "reason": a_text(required=True, limit=2000),
    "created_at": an_instant,
    "expires_at": an_instant,
}
_OVERRIDE_CHECK_ONLY: Final = ("author",)


@attrs.frozen
class Override:
    """A person's value or band for a partner's score, until it expires.

    An active override (``created_at <= as_of < expires_at``) wins: the score's
    ``value`` and ``band`` show it, beside the computed value and band. It lapses
    by itself at ``expires_at``; `score` carries it from the previous score until
    then, so no rule run erases it.

    Attributes:
        author: Who set it.
        reason: Why (required).
        created_at: When it was set.
        expires_at: When it lapses (after ``created_at``).
        value: The value to show, 0..100 with at most one decimal place; or
        band: the band to show (the value stays computed). Give exactly one.
    """

    author: str
    reason: str
    created_at: datetime
    expires_at: datetime
    value: Decimal | None = None
    band: str | None = None

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        fix = object.__setattr__
        check_fields(self, problems, _OVERRIDE_FIELDS, check_only=_OVERRIDE_CHECK_ONLY)
        created, expires = self.created_at, self.expires_at
        if created is not None and expires is not None and expires <= created:
            problems.add("expires_at", "must be after created_at; every override lapses")
        if (self.value is None) == (self.band is None):
            problems.add("value", "give either a value or a band to override with, not both")
        if self.value is not None:
            value = problems.check("value", _optional_points, self.value)
            if value is not None and value != value.quantize(_TENTH, context=EXACT):
                problems.add("value", f"{value} has more than one decimal place, as scores do")
            fix(self, "value", value)
        if self.band is not None:
            problems.check("band", check_slug, self.band, "band name")
        problems.raise_if_any()

    def is_active(self, at: datetime) -> bool:
        """Whether it applies at ``at``: set by then and not yet expired."""
        return self.created_at <= at < self.expires_at

    def sentence(self, computed: str) -> str:
        """The override as a short sentence; ``computed`` describes the rules' result."""
        shown = str(self.value) if self.value is not None else words(self.band or "")
        return (
            f"Overridden to {shown} by {self.author} until "
            f"{self.expires_at.date().isoformat()} ({self.reason}); the rules give {computed}."
        )


@attrs.frozen
class HealthScore:
    """A partner's health under a model at one instant, explained.

    ``value`` and ``band`` are what to show and act on: an active override's, or
    else the computed ones. ``computed_value`` and ``computed_band`` are always the
    rules' result, and the contributions' points add up exactly to
    ``computed_value``. Values are rounded half up to one decimal place and the
    band is that of the rounded value, so what is shown and its band agree.

    Attributes:
        partner_id: Whose score.
        as_of: The scoring instant.
        model: The model's name.
        model_version: The model's version.
        status: ``scored``, or ``insufficient_data`` (no value, no computed band).
        value: The value to show (the override's, or the computed one).
        band: The band to show.
        color: The shown band's colour.
        computed_value: The rules' value, 0..100 to one place.
        computed_band: The rules' band, after gates.
        computed_color: Its colour.
        data_share: The share of the model's weight whose measures had data.
        contributions: One per measure, in the model's order.
        missing: The measures whose metric had no data.
        gates: The gates that fired.
        trend: The move since the previous score.
        override: The active override, if any.
    """

    partner_id: str
    as_of: datetime
    model: str
    model_version: int
    status: ScoreStatus
    value: Decimal | None
    band: str | None
    color: str | None
    computed_value: Decimal | None
    computed_band: str | None
    computed_color: str | None
    data_share: Decimal
    contributions: tuple[Contribution, ...] = ()
    missing: tuple[str, ...] = ()
    gates: tuple[FiredGate, ...] = ()
    trend: Trend | None = None
    override: Override | None = None

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        fix = object.__setattr__
        problems.check("partner_id", check_id, self.partner_id, "")
        fix(self, "as_of", problems.check("as_of", to_utc, self.as_of, ""))
        problems.check("model", check_text, self.model, required=True)
        if isinstance(self.model_version, bool) or not isinstance(self.model_version, int):
            problems.add("model_version", "expected a whole number")
        status = problems.check("status", check_enum, ScoreStatus, self.status)
        fix(self, "status", status)
        for name in ("value", "computed_value"):
            fix(self, name, problems.check(name, _optional_points, getattr(self, name)))
        scored = status is ScoreStatus.SCORED
        if scored != (self.computed_value is not None):
            problems.add("computed_value", "a scored score has a value; insufficient data has none")
        if scored and self.computed_value is not None:
            points = [c.points for c in self.contributions if c.points is not None]
            if sum(points, Decimal(0)) != self.computed_value:
                problems.add(
                    "contributions",
                    f"the points add up to {sum(points, Decimal(0))}, not the computed value "
                    f"{self.computed_value}",
                )
        problems.raise_if_any()

    @property
    def overridden(self) -> bool:
        """Whether an override decides the shown value or band."""
        return self.override is not None

    @property
    def explanation(self) -> tuple[str, ...]:
        """The score as short sentences: headline, measures (costliest first), gates, trend."""
        sentences = [self._headline()]
        ranked = sorted(
            enumerate(self.contributions),
            key=lambda item: (-(item[1].cost or 0), item[0]),
        )
        sentences += [contribution.sentence() for _, contribution in ranked]
        sentences += [gate.sentence() for gate in self.gates]
        if self.trend is not None:
            sentences.append(self.trend.sentence())
        return tuple(sentences)

    def _headline(self) -> str:
        if self.status is ScoreStatus.INSUFFICIENT_DATA:
            computed = "insufficient data"
            headline = (
                f"Insufficient data: measures with data carry {_percent_text(self.data_share)} "
                f"of the weight, less than {self.model} v{self.model_version} needs."
            )
        else:
            computed = f"{self.computed_value} ({words(self.computed_band or '')})"
            headline = f"Score {computed} from {self.model} v{self.model_version}."
        if self.override is not None:
            return f"{self.override.sentence(computed)} {headline}"
        return headline

    def to_record(self, *, floats: bool = False) -> dict[str, object]:
        """The score as one flat dict for a DataFrame row.

        Columns: partner_id, as_of, model, model_version, status, value, band,
        computed_value, computed_band, overridden, override_author,
        override_expires_at, data_share, missing and gates (comma-separated names),
        trend_delta, trend_direction, velocity_30d, then ``<measure>.raw``,
        ``<measure>.normalized`` and ``<measure>.points`` for each measure (money
        as its amount).

        Args:
            floats: Give numbers as floats, for plotting; exact Decimals otherwise.
        """
        number = _as_float if floats else _same
        trend = self.trend
        record: dict[str, object] = {
            "partner_id": self.partner_id,
            "as_of": self.as_of,
            "model": self.model,
            "model_version": self.model_version,
            "status": self.status.value,
            "value": number(self.value),
            "band": self.band,
            "computed_value": number(self.computed_value),
            "computed_band": self.computed_band,
            "overridden": self.override is not None,
            "override_author": self.override.author if self.override else None,
            "override_expires_at": self.override.expires_at if self.override else None,
            "data_share": number(self.data_share),
            "missing": ",".join(self.missing),
            "gates": ",".join(gate.name for gate in self.gates),
            "trend_delta": number(trend.delta) if trend else None,
            "trend_direction": trend.direction.value if trend else None,
            "velocity_30d": number(trend.velocity_30d) if trend else None,
        }
        for contribution in self.contributions:
            name = contribution.measure
            raw = contribution.raw
            amount = raw.amount if isinstance(raw, Money) else raw
            record[f"{name}.raw"] = number(amount)
            record[f"{name}.normalized"] = number(contribution.normalized)
            record[f"{name}.points"] = number(contribution.points)
        return record

    def _repr_html_(self) -> str:
        from partnerkit.health._html import score_html  # noqa: PLC0415 - only notebooks need it

        return score_html(self)


def _same(value: object) -> object:
    return value


def _as_float(value: object) -> object:
    return float(value) if isinstance(value, (Decimal, int)) and value is not None else value


def _raw_text(raw: object) -> str:
    return "no data" if raw is None else format_value(raw)


def _one(value: Decimal | None) -> str:
    if value is None:
        return "-"
    return str(value.quantize(_TENTH, rounding=ROUND_HALF_UP, context=EXACT))


def _whole(value: Decimal | None) -> str:
    if value is None:
        return "-"
    return str(value.quantize(Decimal(1), rounding=ROUND_HALF_UP, context=EXACT))


def _percent_text(share: Decimal) -> str:
    return f"{_one(EXACT.multiply(share, _HUNDRED))}%"


class Cohort:
    """The population that percentile measures rank a partner within.

    Build it once and pass it to every `score` call of a population; it keeps
    each ranked metric's values sorted. A partner that is itself in the cohort is
    ranked against the others only. `score_batch` makes its own from the batch.

    Args:
        model: The model whose percentile measures will rank.
        snapshots: The population's snapshots (one per partner).

    Raises:
        ValidationError: If a partner appears twice, or money mixes currencies.
    """

    __slots__ = ("_values", "currency", "model", "size")

    def __init__(self, model: ScoringModel, snapshots: Iterable[MetricSnapshot]) -> None:
        if not isinstance(model, ScoringModel):
            raise ValidationError.single("model", "expected a ScoringModel")
        members, _ = _unique_snapshots(snapshots)
        run = Run(model.currency)
        self.model = model
        self._values = cohort_values(plan_of(model), members, run)
        self.currency = run.currency
        self.size = len(members)

    def rank(self, slot: int, partner_id: str, x: Number) -> int:
        """The percentile rank, in millionths, of ``x`` for the measure at ``slot``."""
        plan = plan_of(self.model)
        values: CohortValues = self._values[plan.metrics[slot]]
        return values.rank(partner_id, x, plan.lower[slot])

    def __len__(self) -> int:
        return self.size

    def __repr__(self) -> str:
        return f"Cohort({self.model.name!r} v{self.model.version}, {self.size} partners)"


def _unique_snapshots(
    snapshots: Iterable[MetricSnapshot] | Mapping[str, MetricSnapshot],
) -> tuple[list[MetricSnapshot], dict[str, int]]:
    """The snapshots as a list, and each partner's position in it; a partner may appear once."""
    members = list(snapshots.values()) if isinstance(snapshots, Mapping) else list(snapshots)
    if any(kind is not MetricSnapshot for kind in set(map(type, members))):
        for index, snapshot in enumerate(members):
            if not isinstance(snapshot, MetricSnapshot):
                raise ValidationError.single(f"snapshots[{index}]", "expected a MetricSnapshot")
    ids = [snapshot.partner_id for snapshot in members]
    positions = dict(zip(ids, range(len(ids)), strict=True))
    if len(positions) != len(ids):
        seen: set[str] = set()
        for index, partner_id in enumerate(ids):
            if partner_id in seen:
                raise ValidationError.single(
                    f"snapshots[{index}]",
                    f"partner {partner_id!r} appears twice; give one snapshot per partner",
                )
            seen.add(partner_id)
    return members, positions


_POLICY_STATUS: Final = (
    ContributionStatus.LEFT_OUT,
    ContributionStatus.NEUTRAL,
    ContributionStatus.ZERO,
)
_SCORED: Final = ContributionStatus.SCORED


class _MicroDecimals(dict[int, Decimal]):
    """Millionths as Decimals, remembered: steps, clamps, ranks and day counts repeat."""

    _LIMIT: Final = 20_000

    def __missing__(self, micro: int) -> Decimal:
        value = micro_decimal(micro)
        if len(self) < self._LIMIT:
            self[micro] = value
        return value


_DECIMALS: Final = _MicroDecimals()


def _statics(plan: Plan) -> tuple[tuple[str, str, str, NormalizerKind, Direction, object], ...]:
    """Per measure: name, label, metric, kind, direction, status when missing."""
    return tuple(
        (
            measure.name,
            measure.label,
            measure.metric,
            measure.kind,
            measure.direction or Direction.HIGHER,
            _POLICY_STATUS[policy],
        )
        for measure, policy in zip(plan.measures, plan.policies, strict=True)
    )


def _contributions(
    plan: Plan, micros: list[int | None], raws: list[object], info: MaskInfo
) -> tuple[int, tuple[Contribution, ...]]:
    """The score in tenths (-1 without a value) and each measure's contribution to it."""
    # A measure counts with its own value, a substitute (neutral, zero) or not at all.
    used = [
        micro if micro is not None else substitute
        for micro, substitute in zip(micros, info.substitutes, strict=True)
    ]
    if info.sufficient:
        tenths, points, costs = _points(plan.weights, info.denominator, used)
        maxima: list[Decimal | None] = [TENTH_DECIMALS[units] for units in info.max_tenths]
    else:
        tenths = -1
        points = costs = maxima = [None] * len(used)
    statics = plan.statics
    if not statics:
        statics = plan.statics = _statics(plan)
    decimals = _DECIMALS
    contributions = tuple(
        _make(
            Contribution,
            {
                "measure": static[0],
                "label": static[1],
                "metric": static[2],
                "kind": static[3],
                "direction": static[4],
                "status": _SCORED if micro is not None else static[5],
                "raw": raw,
                "normalized": decimals[value] if value is not None else None,
                "weight_share": share,
                "points": point,
                "max_points": maximum,
                "cost": cost,
            },
        )
        for static, micro, value, raw, share, point, maximum, cost in zip(
            statics, micros, used, raws, info.shares, points, maxima, costs, strict=True
        )
    )
    return tenths, contributions


def _missing(plan: Plan, mask: int) -> tuple[str, ...]:
    """The names of the measures without data, one tuple per mask, shared."""
    names = plan.missing.get(mask)
    if names is None:
        names = plan.missing[mask] = tuple(
            measure.name for index, measure in enumerate(plan.measures) if mask >> index & 1
        )
    return names


def _shown(
    model: ScoringModel,
    computed_value: Decimal | None,
    computed_band: Band | None,
    active: Override | None,
) -> tuple[Decimal | None, Band | None]:
    """The value and band to show: an active override's, or the computed ones."""
    if active is None:
        return computed_value, computed_band
    if active.value is not None:
        return active.value, model.band_for(active.value)
    return computed_value, model.band(active.band or "")


def build_score(
    plan: Plan,
    snapshot: MetricSnapshot,
    ranks: Ranks,
    run: Run,
    as_of: datetime,
    *,
    previous: HealthScore | None = None,
    override: Override | None = None,
    history: Sequence[HealthScore] = (),
) -> HealthScore:
    """Score one snapshot with a compiled plan, contributions built now (`score` uses this)."""
    micros, raws, mask = plan.evaluate_loop(snapshot, run, ranks)
    info = plan.masks.get(mask) or plan.mask(mask)
    tenths, contributions = _contributions(plan, micros, raws, info)
    band_index, fired = _fired_gates(plan, snapshot, run, tenths)
    return _assemble(
        plan,
        snapshot.partner_id,
        as_of,
        tenths=tenths,
        band_index=band_index,
        mask=mask,
        data_share=info.data_share,
        contributions=contributions,
        gates=fired,
        previous=previous,
        override=override,
        history=history,
    )


def _assemble(
    plan: Plan,
    partner_id: str,
    as_of: datetime,
    *,
    tenths: int,
    band_index: int,
    mask: int,
    data_share: Decimal,
    contributions: Any,
    gates: Any,
    previous: HealthScore | None,
    override: Override | None,
    history: Sequence[HealthScore],
) -> HealthScore:
    """A score from the compact loop's figures, computed now or on demand alike.

    ``contributions`` and ``gates`` are the built tuples, or the `Deferred` batch
    that builds them when they are first read.
    """
    model = plan.model
    if tenths >= 0:
        computed_value: Decimal | None = TENTH_DECIMALS[tenths]
        computed_band: Band | None = model.bands[band_index]
    else:
        computed_value = computed_band = None
    trend = (
        _trend(
            model,
            partner_id,
            computed_value,
            as_of=as_of,
            previous=previous,
            history=history,
        )
        if previous is not None or history
        else None
    )
    active = _active_override(model, override, previous, as_of)
    value, band = _shown(model, computed_value, computed_band, active)
    return _make(
        HealthScore,
        {
            "partner_id": partner_id,
            "as_of": as_of,
            "model": model.name,
            "model_version": model.version,
            "status": ScoreStatus.SCORED if tenths >= 0 else ScoreStatus.INSUFFICIENT_DATA,
            "value": value,
            "band": band.name if band else None,
            "color": band.color if band else None,
            "computed_value": computed_value,
            "computed_band": computed_band.name if computed_band else None,
            "computed_color": computed_band.color if computed_band else None,
            "data_share": data_share,
            "contributions": contributions,
            "missing": _missing(plan, mask),
            "gates": gates,
            "trend": trend,
            "override": active,
        },
    )


# A batch builds each score's contributions and fired gates when they are first read.
defer(HealthScore, "contributions", "gates")


class Deferred(Later):
    """A scored batch, kept so each partner's contributions and gates can be built later.

    The arrays are the compact loop's output, in the order of ``snapshots``.
    """

    __slots__ = (
        "as_of",
        "bands",
        "currency",
        "index",
        "masks",
        "plan",
        "ranks",
        "snapshots",
        "tenths",
    )

    def __init__(
        self,
        plan: Plan,
        as_of: datetime,
        snapshots: list[MetricSnapshot],
        *,
        index: Mapping[str, int],
        ranks: Ranks,
        currency: str | None,
        arrays: tuple[Sequence[int], Sequence[int], Sequence[int]],
    ) -> None:
        self.plan = plan
        self.as_of = as_of
        self.snapshots = snapshots
        self.index = index
        self.ranks = ranks
        self.currency = currency
        self.tenths, self.bands, self.masks = arrays

    def build(self, name: str, instance: Any) -> tuple[Any, ...]:
        """A score's contributions or fired gates, exactly as `build_score` makes them."""
        index = self.index[instance.partner_id]
        snapshot = self.snapshots[index]
        run = Run(self.currency)
        if name == "gates":
            return _fired_gates(self.plan, snapshot, run, self.tenths[index])[1]
        micros, raws, mask = self.plan.evaluate_loop(snapshot, run, self.ranks)
        return _contributions(self.plan, micros, raws, self.plan.mask(mask))[1]

    def score(
        self,
        index: int,
        *,
        previous: HealthScore | None,
        override: Override | None,
        history: Sequence[HealthScore],
    ) -> HealthScore:
        """Partner ``index``'s score, its contributions and gates left to be built on demand."""
        plan = self.plan
        mask = self.masks[index]
        return _assemble(
            plan,
            self.snapshots[index].partner_id,
            self.as_of,
            tenths=self.tenths[index],
            band_index=self.bands[index],
            mask=mask,
            data_share=(plan.masks.get(mask) or plan.mask(mask)).data_share,
            contributions=self,
            gates=self if plan.gates else (),
            previous=previous,
            override=override,
            history=history,
        )

    def scores(self) -> list[HealthScore]:
        """Every partner's score when none has a previous score, override or history.

        The loop `score` would run per partner, with what repeats hoisted out of
        it: what a value, band and mask mean is worked out once per combination,
        and each score is built by trusted construction (the property tests
        compare every field with an eagerly built score).
        """
        plan = self.plan
        model = plan.model
        name, version, as_of = model.name, model.version, self.as_of
        gates = self if plan.gates else ()
        heads: dict[tuple[int, int, int], tuple[Any, ...]] = {}
        cls = HealthScore
        result: list[HealthScore] = []
        append = result.append
        for snapshot, tenths, band, mask in zip(
            self.snapshots, self.tenths, self.bands, self.masks, strict=True
        ):
            head = heads.get((tenths, band, mask))
            if head is None:
                head = heads[tenths, band, mask] = self._head(tenths, band, mask)
            status, value, band_name, color, share, absent = head
            score = _make(
                cls,
                {
                    "partner_id": snapshot.partner_id,
                    "as_of": as_of,
                    "model": name,
                    "model_version": version,
                    "status": status,
                    "value": value,
                    "band": band_name,
                    "color": color,
                    "computed_value": value,
                    "computed_band": band_name,
                    "computed_color": color,
                    "data_share": share,
                    "contributions": self,
                    "missing": absent,
                    "gates": gates,
                    "trend": None,
                    "override": None,
                },
            )
            append(score)
        return result

    def _head(self, tenths: int, band: int, mask: int) -> tuple[Any, ...]:
        """Status, value, band name, colour, data share and missing measures, for one kind."""
        plan = self.plan
        info = plan.masks.get(mask) or plan.mask(mask)
        if tenths < 0:
            return (
                ScoreStatus.INSUFFICIENT_DATA,
                None,
                None,
                None,
                info.data_share,
                _missing(plan, mask),
            )
        chosen = plan.model.bands[band]
        return (
            ScoreStatus.SCORED,
            TENTH_DECIMALS[tenths],
            chosen.name,
            chosen.color,
            info.data_share,
            _missing(plan, mask),
        )


def _points(
    weights: tuple[int, ...], denominator: int, used: list[int | None]
) -> tuple[int, list[Decimal | None], list[Decimal | None]]:
    """The score in tenths, each measure's points adding up to it, and each one's cost.

    Exact integers throughout: a measure's exact points are ``used x weight /
    denominator`` (``denominator`` holds the counted weight in millionths). One
    plain loop: this runs once per partner in a batch.
    """
    total = 0
    floors = []
    remainders = []
    costs: list[Decimal | None] = []
    twice = 2 * denominator
    for value, weight in zip(used, weights, strict=True):
        if value is None:
            floors.append(0)
            remainders.append(0)
            costs.append(_ZERO_POINTS)
            continue
        product = value * weight
        total += product
        floor, remainder = divmod(10 * product, denominator)
        floors.append(floor)
        remainders.append(remainder)
        costs.append(TENTH_DECIMALS[(20 * (FULL - value) * weight + denominator) // twice])
    tenths = (20 * total + denominator) // twice  # half up
    leftover = tenths - sum(floors)
    if leftover > 0:  # largest remainders; a stable reverse sort keeps the earliest first
        for index in sorted(range(len(floors)), key=remainders.__getitem__, reverse=True)[
            :leftover
        ]:
            floors[index] += 1
    return tenths, [TENTH_DECIMALS[units] for units in floors], costs


def _fired_gates(
    plan: Plan, snapshot: MetricSnapshot, run: Run, tenths: int
) -> tuple[int, tuple[FiredGate, ...]]:
    """The band index after gates (-1 without a value) and the gates that fired."""
    ungated = band_index = plan.band_table[tenths] if tenths >= 0 else -1
    if not plan.gates:
        return band_index, ()
    fired = []
    for hit in plan.gate_hits(snapshot, run):
        gate = plan.model.gates[hit]
        cap = plan.gates[hit][3]
        capped = 0 <= cap < ungated
        band_index = min(band_index, cap) if capped else band_index
        fired.append(
            _trusted(FiredGate, name=gate.name, label=gate.label, cap=gate.cap, capped=capped)
        )
    return band_index, tuple(fired)


def _active_override(
    model: ScoringModel,
    override: Override | None,
    previous: HealthScore | None,
    as_of: datetime,
) -> Override | None:
    if override is None and previous is not None:
        override = previous.override
    if override is None or not override.is_active(as_of):
        return None
    if override.band is not None:
        model.band(override.band)  # raises, naming the model's bands
    return override


def _trend(
    model: ScoringModel,
    partner_id: str,
    value: Decimal | None,
    *,
    as_of: datetime,
    previous: HealthScore | None,
    history: Sequence[HealthScore],
) -> Trend | None:
    earlier = [item for item in history if item.as_of < as_of]
    for path, item in [("history", item) for item in earlier] + [("previous", previous)]:
        if item is not None and item.partner_id != partner_id:
            raise ValidationError.single(
                path, f"that score is partner {item.partner_id!r}'s, not {partner_id!r}'s"
            )
    if previous is None and earlier:
        previous = max(earlier, key=lambda item: item.as_of)
    if previous is None:
        return None
    if previous.as_of > as_of:
        raise ValidationError.single(
            "previous",
            f"the previous score is as of {previous.as_of.isoformat()}, after "
            f"{as_of.isoformat()}; pass the latest score before this one",
        )
    if value is None or previous.computed_value is None:
        return None
    delta = value - previous.computed_value
    direction = (
        TrendDirection.UP
        if delta > 0
        else TrendDirection.DOWN
        if delta < 0
        else TrendDirection.FLAT
    )
    points = {
        item.as_of: item.computed_value
        for item in sorted((*earlier, previous), key=lambda item: item.as_of)
        if item.computed_value is not None
    }
    points[as_of] = value
    return _trusted(
        Trend,
        since=previous.as_of,
        previous_value=previous.computed_value,
        delta=delta,
        direction=direction,
        velocity_30d=_velocity(points),
        same_model=previous.model == model.name and previous.model_version == model.version,
    )


def _velocity(points: Mapping[datetime, Decimal]) -> Decimal | None:
    """Least-squares slope through ``points`` in points per 30 days, to one place."""
    if len(points) < 2:
        return None
    start = min(points)
    times = [Fraction(int((at - start).total_seconds() * 1_000_000), 1_000_000) for at in points]
    values = [Fraction(value) for value in points.values()]
    count = len(times)
    mean_t = sum(times) / count
    mean_v = sum(values) / count
    spread = sum((t - mean_t) ** 2 for t in times)
    if not spread:
        return None
    slope = sum((t - mean_t) * (v - mean_v) for t, v in zip(times, values, strict=True)) / spread
    per_30_days = slope * _SECONDS_PER_DAY * _VELOCITY_DAYS
    tenths = per_30_days * 10
    rounded = int(tenths + Fraction(1, 2)) if tenths >= 0 else -int(-tenths + Fraction(1, 2))
    return Decimal(rounded).scaleb(-1, context=EXACT)


def _check_call(model: object, snapshot: object, as_of: object) -> datetime:
    problems = Problems()
    if not isinstance(model, ScoringModel):
        problems.add("model", f"expected a ScoringModel, got {type(model).__name__}")
    if not isinstance(snapshot, MetricSnapshot):
        problems.add("snapshot", f"expected a MetricSnapshot, got {type(snapshot).__name__}")
    when = problems.check("as_of", to_utc, as_of, "")
    problems.raise_if_any()
    assert when is not None  # noqa: S101 - narrows a type the code above guarantees
    return when


def score(
    model: ScoringModel,
    snapshot: MetricSnapshot,
    *,
    as_of: datetime,
    previous: HealthScore | None = None,
    override: Override | None = None,
    cohort: Cohort | Iterable[MetricSnapshot] | None = None,
    history: Sequence[HealthScore] = (),
) -> HealthScore:
    """Score one partner's snapshot with ``model`` at ``as_of``.

    Args:
        model: The scoring model.
        snapshot: The partner's metrics; its ``as_of`` must not be after ``as_of``.
        as_of: The scoring instant (aware): overrides and trends are judged at it.
        previous: The partner's last score: the trend compares with it, and its
            override carries over while it is active.
        override: An override to apply (instead of the previous one) while active.
        cohort: The population percentile measures rank within (a `Cohort`, or
            snapshots); required when the model has percentile measures.
        history: Earlier scores of the partner, for the velocity; the latest is
            the previous score when ``previous`` is not given.

    Returns:
        The `HealthScore`: value, band, contributions adding up to the computed
        value, missing measures, fired gates, trend, override and explanation.

    Raises:
        ValidationError: For a snapshot from after ``as_of``, money in another
            currency, a percentile measure without a cohort, or an override
            naming a band the model lacks.
    """
    when = _check_call(model, snapshot, as_of)
    if snapshot.as_of > when:
        raise ValidationError.single(
            "as_of",
            f"the snapshot is as of {snapshot.as_of.isoformat()}, after the scoring instant "
            f"{when.isoformat()}; score at or after the snapshot's as_of",
        )
    if override is not None and not isinstance(override, Override):
        raise ValidationError.single("override", "expected an Override")
    plan = plan_of(model)
    run = Run(model.currency)
    ranker = None
    if any(plan.percentile) and cohort is not None:
        members = cohort if isinstance(cohort, Cohort) else Cohort(model, cohort)
        if members.model is not model and members.model != model:
            raise ValidationError.single(
                "cohort", "the cohort was built for another model; build it with this one"
            )
        if members.currency is not None:
            run.adopt(members.currency, "cohort", snapshot.partner_id)
        partner_id = snapshot.partner_id

        def ranker(slot: int, x: Number) -> int:
            return members.rank(slot, partner_id, x)

    ranks = plan.ranks(ranker)
    return build_score(
        plan,
        snapshot,
        ranks,
        run,
        when,
        previous=previous,
        override=override,
        history=history,
    )


def score_events(current: HealthScore, previous: HealthScore | None = None) -> tuple[Event, ...]:
    """The events a new score implies against the previous one.

    - ``health.band_changed``: the shown band differs (data: from_band, to_band,
      value, computed_value, model, model_version);
    - ``health.insufficient_data``: the score stopped being a number;
    - ``health.override_applied``: an override applies that did not before;
    - ``health.override_lapsed``: the previous override expired by ``current.as_of``.

    Args:
        current: The new score.
        previous: The partner's score before it (``None`` for a first score).
    """
    events: list[Event] = []
    subject = current.partner_id
    at = current.as_of
    before = previous.override if previous is not None else None
    if before is not None and before != current.override and before.expires_at <= at:
        events.append(
            Event(
                "health.override_lapsed",
                subject,
                at,
                data={
                    "author": before.author,
                    "expired_at": before.expires_at.isoformat(),
                    "value": _text(current.value),
                    "band": current.band,
                },
            )
        )
    if current.override is not None and current.override != before:
        events.append(_override_event(current))
    previous_band = previous.band if previous is not None else None
    if current.band != previous_band and current.band is not None:
        events.append(
            Event(
                "health.band_changed",
                subject,
                at,
                data={
                    "from_band": previous_band,
                    "to_band": current.band,
                    "value": _text(current.value),
                    "computed_value": _text(current.computed_value),
                    "overridden": current.override is not None,
                    "model": current.model,
                    "model_version": current.model_version,
                },
            )
        )
    if current.status is ScoreStatus.INSUFFICIENT_DATA and (
        previous is None or previous.status is ScoreStatus.SCORED
    ):
        events.append(
            Event(
                "health.insufficient_data",
                subject,
                at,
                data={
                    "data_share": _text(current.data_share),
                    "missing": ",".join(current.missing),
                },
            )
        )
    return tuple(events)


def _text(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:f}"


def _override_event(current: HealthScore) -> Event:
    override = current.override
    assert override is not None  # noqa: S101 - narrows a type the code above guarantees
    return Event(
        "health.override_applied",
        current.partner_id,
        current.as_of,
        actor=override.author,
        data={
            "value": _text(override.value),
            "band": override.band,
            "reason": override.reason,
            "expires_at": override.expires_at.isoformat(),
            "computed_value": _text(current.computed_value),
            "computed_band": current.computed_band,
        },
    )


def apply_override(
    model: ScoringModel,
    current: HealthScore,
    override: Override,
    *,
    at: datetime | None = None,
) -> Change[HealthScore]:
    """Put ``override`` on an existing score without running the rules again.

    Args:
        model: The model that made the score (for the override's band).
        current: The score to override.
        override: The override; it must not have expired at the result's ``as_of``.
        at: Stamp the result with this instant (not before ``current.as_of``), so
            it can be stored as the next entry of the score history; by default it
            keeps ``current.as_of`` and replaces the score in memory only.

    Returns:
        The overridden score and a ``health.override_applied`` event.

    Raises:
        ValidationError: If the override has expired or names a band the model lacks.
    """
    if not isinstance(override, Override):
        raise ValidationError.single("override", "expected an Override")
    stamp = current.as_of if at is None else _restamp(current, at)
    if override.expires_at <= stamp:
        raise ValidationError.single(
            "override.expires_at",
            f"the override expired at {override.expires_at.isoformat()}, before the score's "
            f"as_of {stamp.isoformat()}; give a later expiry",
        )
    if override.value is not None:
        band = model.band_for(override.value)
        value: Decimal | None = override.value
    else:
        try:
            band = model.band(override.band or "")
        except ValidationError as error:
            raise error.prefixed("override") from None
        value = current.computed_value
    updated = attrs.evolve(
        current, as_of=stamp, override=override, value=value, band=band.name, color=band.color
    )
    return Change(updated, (_override_event(updated),))


def _restamp(current: HealthScore, at: datetime) -> datetime:
    stamp = to_utc(at, "at")
    if stamp < current.as_of:
        raise ValidationError.single(
            "at",
            f"{stamp.isoformat()} is before the score's as_of {current.as_of.isoformat()}; "
            f"a score history only moves forward",
        )
    return stamp


def withdraw_override(
    current: HealthScore, *, actor: str, at: datetime, reason: str = ""
) -> Change[HealthScore]:
    """Take an override off a score before it expires; the computed score shows again.

    The result is stamped ``as_of=at`` (not before the score's own ``as_of``), so it
    can be stored as the next entry of the score history.

    Returns:
        The score without override and a ``health.override_withdrawn`` event (no
        event and the same score if it had no override).
    """
    when = _restamp(current, at)
    check_id(actor, "actor")
    if current.override is None:
        return Change(current, ())
    event = Event(
        "health.override_withdrawn",
        current.partner_id,
        when,
        actor=actor,
        data={
            "author": current.override.author,
            "reason": check_text(reason, required=False, limit=2000),
            "value": _text(current.computed_value),
            "band": current.computed_band,
        },
    )
    updated = attrs.evolve(
        current,
        as_of=when,
        override=None,
        value=current.computed_value,
        band=current.computed_band,
        color=current.computed_color,
    )
    return Change(updated, (event,))
