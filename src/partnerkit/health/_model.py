"""Health scoring models as data: measures, normalisers, bands, gates and policies.

Everything here is a validated, frozen value that round-trips through
`partnerkit.serialization` and TOML. Numbers are ``Decimal``: weights and
normaliser parameters are not money, so floats are accepted and read by their
shortest decimal form (``0.1`` is ``Decimal("0.1")``), but nothing is computed in
binary floating point on their behalf.
"""

from __future__ import annotations

import enum
import json
import math
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, Final, TypeVar, cast

import attrs

from partnerkit._base.checks import (
    Checker,
    a_slug,
    check_enum,
    check_fields,
    check_items,
    check_list,
    check_slug,
    check_text,
    one_of,
)
from partnerkit._base.money import check_currency, to_decimal
from partnerkit.errors import Problems, ValidationError

__all__ = [
    "DEFAULT_BANDS",
    "Band",
    "Direction",
    "Gate",
    "GateOperator",
    "Measure",
    "MissingPolicy",
    "Normalizer",
    "NormalizerKind",
    "ScoringModel",
    "Step",
    "model_from_dict",
    "model_from_toml",
    "model_to_toml",
    "words",
]

_HUNDRED: Final = Decimal(100)
_ZERO: Final = Decimal(0)
_MAX_BANDS: Final = 12
_MIN_BANDS: Final = 2
_COLOR: Final = re.compile(r"#(?:[0-9a-fA-F]{3}){1,2}")


class Direction(enum.StrEnum):
    """Which way a metric gets better."""

    HIGHER = "higher"
    """More is better (revenue, deals won, certified people)."""
    LOWER = "lower"
    """Less is better (days since the last login, open support tickets)."""


class MissingPolicy(enum.StrEnum):
    """What a measure counts for when its metric has no data (``None``)."""

    REWEIGHT = "reweight"
    """Leave the measure out and spread its weight over the others (the default)."""
    NEUTRAL = "neutral"
    """Count the model's neutral value (50 unless set)."""
    ZERO = "zero"
    """Count 0: no data is as bad as the worst value."""


class NormalizerKind(enum.StrEnum):
    """How a measure maps its metric onto 0..100."""

    LINEAR = "linear"
    """Straight line from ``low`` (0) to ``high`` (100), clamped outside."""
    STEPS = "steps"
    """The points of the highest step whose ``at`` the value reaches."""
    TARGET = "target"
    """Attainment of ``target`` in percent, capped at 100."""
    LOG = "log"
    """Logarithmic from ``low`` to ``high``, for money-like values: ln(1 + x)."""
    RECENCY = "recency"
    """Days since the last event decaying by half every ``half_life_days``."""
    PERCENTILE = "percentile"
    """Rank within the scored cohort: the share of other partners doing worse."""


class GateOperator(enum.StrEnum):
    """How a gate compares a metric with its threshold."""

    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    EQ = "=="
    NE = "!="


def words(name: str) -> str:
    """A slug as words for people: ``"revenue_12m"`` reads ``"Revenue 12m"``."""
    text = name.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def to_number(value: object, path: str = "") -> Decimal:
    """A model parameter as an exact Decimal.

    Accepts what `partnerkit.to_decimal` accepts, and also floats, read by their
    shortest decimal form (``repr``): model parameters are not money, and a float
    written in a notebook (``0.3``) means the decimal it shows.

    Raises:
        ValidationError: If the value is not a finite number in range.
    """
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError.single(path, f"{value!r} is not a finite number")
        value = Decimal(repr(value))
    return to_decimal(value, path)


def _optional_number(value: object) -> Decimal | None:
    return None if value is None else to_number(value)


def _percent(value: object) -> Decimal:
    number = to_number(value)
    if not _ZERO <= number <= _HUNDRED:
        raise ValidationError.single("", f"{number} is outside 0..100")
    return number


@attrs.frozen
class Step:
    """One step of a ``steps`` normaliser: values from ``at`` upwards score ``points``.

    Attributes:
        at: The threshold (inclusive): a value ``>= at`` reaches this step.
        points: What reaching it scores, 0..100.
    """

    at: Decimal
    points: Decimal

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        at = problems.check("at", to_number, self.at)
        points = problems.check("points", _percent, self.points)
        problems.raise_if_any()
        object.__setattr__(self, "at", at)
        object.__setattr__(self, "points", points)


# Which parameters each kind uses; every other parameter must be left unset.
_PARAMETERS: Final[Mapping[NormalizerKind, frozenset[str]]] = {
    NormalizerKind.LINEAR: frozenset({"low", "high"}),
    NormalizerKind.LOG: frozenset({"low", "high"}),
    NormalizerKind.TARGET: frozenset({"target"}),
    NormalizerKind.RECENCY: frozenset({"half_life_days"}),
    NormalizerKind.STEPS: frozenset({"steps", "below"}),
    NormalizerKind.PERCENTILE: frozenset(),
}
_OPTIONAL: Final = frozenset({"below"})


@attrs.frozen
class Normalizer:
    """Maps a metric's value onto 0..100; one flat record whose ``kind`` says which.

    Build one with the class methods (`linear`, `steps`, `target`, `log`,
    `recency`, `percentile`) or as data: ``{"kind": "linear", "low": 0, "high":
    20}``. Each kind uses only its own parameters; setting another is an error.

    ===========  ======================  =============================================
    kind         parameters              value -> 0..100 (direction ``higher``)
    ===========  ======================  =============================================
    linear       low < high              0 at or below ``low``, 100 at or above
                                         ``high``, a straight line between
    log          0 <= low < high         as linear on ln(1 + x): 1,000 -> 10,000 is
                                         worth as much as 10,000 -> 100,000
    target       target > 0              100 x value / target, capped at 100
    steps        steps, below            the points of the highest step whose ``at``
                                         the value reaches; ``below`` (default 0)
                                         under the first step
    recency      half_life_days > 0      100 at 0 days, halving every half-life
                                         (always direction ``lower``)
    percentile   (none)                  100 x (others below + half the others
                                         equal) / others with data, in the cohort
    ===========  ======================  =============================================

    With direction ``lower``, linear, log and percentile are mirrored (100 minus
    the above); target reads as a ceiling (100 at or under it, 100 x target /
    value over it); steps take their points as written, which must then fall as
    the value rises.

    Attributes:
        kind: Which normaliser.
        low: Lower end (linear, log).
        high: Upper end (linear, log).
        target: The target (target).
        half_life_days: Days for the score to halve (recency).
        steps: Thresholds in ascending order with their points (steps).
        below: Points under the first step (steps; default 0).
    """

    kind: NormalizerKind
    low: Decimal | None = None
    high: Decimal | None = None
    target: Decimal | None = None
    half_life_days: Decimal | None = None
    steps: tuple[Step, ...] = ()
    below: Decimal | None = None

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        fix = object.__setattr__
        kind = problems.check("kind", check_enum, NormalizerKind, self.kind)
        for name in ("low", "high", "target", "half_life_days"):
            fix(self, name, problems.check(name, _optional_number, getattr(self, name)))
        if self.below is not None:
            fix(self, "below", problems.check("below", _percent, self.below))
        steps = check_items(
            self.steps, "steps", problems, Step, expected="a Step(at=..., points=...)"
        )
        fix(self, "steps", steps)
        if kind is not None:
            self._check_kind(kind, problems)
        problems.raise_if_any()
        fix(self, "kind", kind)

    def _check_kind(self, kind: NormalizerKind, problems: Problems) -> None:
        used = _PARAMETERS[kind]
        for name in ("low", "high", "target", "half_life_days", "steps", "below"):
            given = getattr(self, name) not in (None, ())
            if given and name not in used:
                problems.add(name, f"a {kind.value} normaliser has no {name}; remove it")
            elif not given and name in used and name not in _OPTIONAL:
                problems.add(name, f"a {kind.value} normaliser needs {name}")
        low, high = self.low, self.high
        if kind in (NormalizerKind.LINEAR, NormalizerKind.LOG) and None not in (low, high):
            assert low is not None  # noqa: S101 - narrows a type the code above guarantees
            assert high is not None  # noqa: S101 - narrows a type the code above guarantees
            if kind is NormalizerKind.LOG and low < 0:
                problems.add("low", f"a log normaliser starts at 0 or more, got {low}")
            if low >= high:
                problems.add("high", f"must be greater than low ({low}), got {high}")
        if self.target is not None and self.target <= 0:
            problems.add("target", f"must be greater than 0, got {self.target}")
        if self.half_life_days is not None and self.half_life_days <= 0:
            problems.add("half_life_days", f"must be greater than 0, got {self.half_life_days}")
        steps = [step for step in self.steps if isinstance(step, Step)]
        for index in range(1, len(steps)):
            if steps[index].at <= steps[index - 1].at:
                problems.add(
                    f"steps[{index}].at",
                    f"list steps by ascending 'at': {steps[index].at} does not follow "
                    f"{steps[index - 1].at}",
                )

    @classmethod
    def linear(cls, low: object, high: object) -> Normalizer:
        """0 at or below ``low``, 100 at or above ``high``, a straight line between."""
        return cls(NormalizerKind.LINEAR, low=low, high=high)  # type: ignore[arg-type]

    @classmethod
    def log(cls, low: object, high: object) -> Normalizer:
        """Like `linear` on ln(1 + value): for revenue and other money-like values."""
        return cls(NormalizerKind.LOG, low=low, high=high)  # type: ignore[arg-type]

    @classmethod
    def target_attainment(cls, target: object) -> Normalizer:
        """100 x value / ``target``, capped at 100."""
        return cls(NormalizerKind.TARGET, target=target)  # type: ignore[arg-type]

    @classmethod
    def stepped(cls, steps: Iterable[tuple[object, object]], *, below: object = None) -> Normalizer:
        """Points by threshold: ``stepped([(1, 40), (5, 100)])``; ``below`` under the first."""
        return cls(
            NormalizerKind.STEPS,
            steps=tuple(Step(at, points) for at, points in steps),  # type: ignore[arg-type]
            below=below,  # type: ignore[arg-type]
        )

    @classmethod
    def recency(cls, half_life_days: object) -> Normalizer:
        """100 at 0 days since the last event, halving every ``half_life_days``."""
        return cls(NormalizerKind.RECENCY, half_life_days=half_life_days)  # type: ignore[arg-type]

    @classmethod
    def percentile(cls) -> Normalizer:
        """The share of the other partners in the cohort doing worse, ties counted half."""
        return cls(NormalizerKind.PERCENTILE)

    @property
    def levels(self) -> tuple[Decimal, ...]:
        """For steps: the points from ``below`` up through every step, in order."""
        below = self.below if self.below is not None else _ZERO
        return (below, *(step.points for step in self.steps))


@attrs.frozen
class Measure:
    """One thing a model scores: a metric, how it maps to 0..100, and its weight.

    Attributes:
        name: A slug naming the measure in scores and explanations.
        metric: The snapshot metric it reads (``MetricSnapshot.values`` key).
        normalizer: How the metric maps onto 0..100.
        weight: Any non-negative number; weights are normalised, so only their
            ratios matter (3, 2, 1 is the same model as 30, 20, 10).
        direction: Which way is better; defaults to ``lower`` for recency and
            ``higher`` for everything else.
        missing: What no data counts for; ``None`` uses the model's policy.
        label: Words for explanations (default: the name as words).
    """

    name: str
    metric: str
    normalizer: Normalizer
    weight: Decimal = Decimal(1)
    direction: Direction | None = None
    missing: MissingPolicy | None = None
    label: str = ""

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        fix = object.__setattr__
        problems.check("name", check_slug, self.name, "measure name")
        problems.check("metric", check_slug, self.metric, "metric name")
        weight = problems.check("weight", to_number, self.weight)
        if weight is not None and weight < 0:
            problems.add("weight", f"weights cannot be negative, got {weight}; use 0 to mute it")
        fix(self, "weight", weight)
        normalizer = self.normalizer
        if not isinstance(normalizer, Normalizer):
            problems.add("normalizer", "expected a Normalizer such as Normalizer.linear(0, 10)")
        default = (
            Direction.LOWER
            if isinstance(normalizer, Normalizer) and normalizer.kind is NormalizerKind.RECENCY
            else Direction.HIGHER
        )
        direction = (
            default
            if self.direction is None
            else problems.check("direction", check_enum, Direction, self.direction)
        )
        fix(self, "direction", direction)
        if self.missing is not None:
            fix(self, "missing", problems.check("missing", check_enum, MissingPolicy, self.missing))
        label = problems.check("label", check_text, self.label, required=False)
        if isinstance(self.name, str):
            fix(self, "label", label or words(self.name))
        if isinstance(normalizer, Normalizer) and direction is not None:
            _check_direction(normalizer, direction, problems)
        problems.raise_if_any()

    @property
    def kind(self) -> NormalizerKind:
        """The normaliser's kind."""
        return self.normalizer.kind


def _check_direction(normalizer: Normalizer, direction: Direction, problems: Problems) -> None:
    if normalizer.kind is NormalizerKind.RECENCY and direction is Direction.HIGHER:
        problems.add(
            "direction",
            "recency reads days since the last event, where fewer is better: "
            "set direction to 'lower' (or leave it out)",
        )
    if normalizer.kind is not NormalizerKind.STEPS:
        return
    levels = normalizer.levels
    for index in range(1, len(levels)):
        before, after = levels[index - 1], levels[index]
        worse = after < before if direction is Direction.HIGHER else after > before
        if worse:
            way = "rise" if direction is Direction.HIGHER else "fall"
            where = " (the 'below' points)" if index == 1 else ""
            problems.add(
                f"normalizer.steps[{index - 1}].points",
                f"points go from {before}{where} to {after}, but with direction "
                f"{direction.value!r} they may only {way} step by step; fix the points, "
                f"'below' or the direction",
            )


def _check_color(value: object) -> str:
    if not isinstance(value, str) or not _COLOR.fullmatch(value.strip()):
        raise ValidationError.single(
            "", f"{value!r} is not a colour; write it as hex like '#3a9e5c'"
        )
    return value.strip().lower()


#: How each field of `Band` is checked (see `check_fields`).
_BAND_FIELDS: Final[Mapping[str, Checker]] = {
    "name": a_slug("band name"),
    "lower": _percent,
    "upper": _percent,
}
_BAND_CHECK_ONLY: Final = ("name",)


@attrs.frozen
class Band:
    """A named range of scores with a colour, such as "at risk" for [40, 70).

    A band covers ``lower <= value < upper``; the best band (the last one) also
    includes its upper edge, so 100 is always in a band.

    Attributes:
        name: A slug: ``"at_risk"``.
        lower: The lowest value in the band (inclusive).
        upper: Where the next band starts (exclusive; inclusive for the last band).
        color: Hex colour for tables and charts.
        label: Words for people (default: the name as words).
    """

    name: str
    lower: Decimal
    upper: Decimal
    color: str
    label: str = ""

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        check_fields(self, problems, _BAND_FIELDS, check_only=_BAND_CHECK_ONLY)
        lower, upper = self.lower, self.upper
        if lower is not None and upper is not None and lower >= upper:
            problems.add("upper", f"must be above lower ({lower}), got {upper}")
        check_fields(self, problems, {"color": _check_color})
        label = problems.check("label", check_text, self.label, required=False)
        if isinstance(self.name, str):
            object.__setattr__(self, "label", label or words(self.name))
        problems.raise_if_any()


#: critical [0, 40), at risk [40, 70), healthy [70, 100], in red, amber and green.
DEFAULT_BANDS: Final = (
    Band("critical", Decimal(0), Decimal(40), "#d64545"),
    Band("at_risk", Decimal(40), Decimal(70), "#e8a33d"),
    Band("healthy", Decimal(70), Decimal(100), "#3a9e5c"),
)


#: How each field of `Gate` is checked (see `check_fields`).
_GATE_FIELDS: Final[Mapping[str, Checker]] = {
    "name": a_slug("gate name"),
    "metric": a_slug("metric name"),
    "op": one_of(GateOperator),
    "threshold": to_number,
    "cap": a_slug("band name"),
}
_GATE_CHECK_ONLY: Final = ("name", "metric", "cap")


@attrs.frozen
class Gate:
    """A rule that caps the band whatever the weighted value says.

    ``Gate("no_login", metric="days_since_login", op=">", threshold=90,
    cap="at_risk", fire_when_missing=True)`` keeps a partner that has not logged
    in for 90 days (or never) out of ``healthy``. A gate lowers the band only when
    the band is above ``cap``; the value is never changed, so the contributions
    still add up to it.

    Attributes:
        name: A slug.
        metric: The snapshot metric it reads.
        op: How the metric is compared with ``threshold``.
        threshold: The number it is compared with (money: the amount).
        cap: The best band a partner can have while the gate fires.
        fire_when_missing: Whether no data for the metric fires the gate.
        label: Words for explanations (default: the condition).
    """

    name: str
    metric: str
    op: GateOperator
    threshold: Decimal
    cap: str
    fire_when_missing: bool = False
    label: str = ""

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        check_fields(self, problems, _GATE_FIELDS, check_only=_GATE_CHECK_ONLY)
        if not isinstance(self.fire_when_missing, bool):
            problems.add("fire_when_missing", "expected true or false")
        label = problems.check("label", check_text, self.label, required=False)
        op, threshold = self.op, self.threshold
        if op is not None and threshold is not None and isinstance(self.metric, str):
            object.__setattr__(self, "label", label or f"{self.metric} {op.value} {threshold}")
        problems.raise_if_any()


@attrs.frozen(cache_hash=True)
class ScoringModel:
    """A health scoring model: measures, bands, gates and the missing-data policy.

    Write one in Python, as a dict (`model_from_dict`, or
    ``partnerkit.serialization.from_dict``), as JSON or as TOML
    (`model_from_toml`). Every problem is reported at once with its path, such
    as ``measures[2].normalizer.half_life_days``.

    Attributes:
        name: What the model is called.
        version: A whole number from 1; raise it whenever the model changes, so
            scores say which version made them.
        measures: What is scored; names must be unique and at least one weight
            must be above 0.
        bands: 2 to 12 bands from worst to best, covering 0..100 without gaps:
            each band's ``lower`` is the previous band's ``upper``.
        gates: Rules that cap the band.
        missing: What no data counts for, for measures that do not say.
        neutral: The value the ``neutral`` policy counts (default 50).
        min_weight_share: The share of the total weight that measures with data
            must carry for a number to be given (default 0.5); below it the
            score is "insufficient data".
        currency: The currency money metrics must be in; ``None`` accepts any one
            currency, but never two in one scoring run.
        description: Free text.
    """

    name: str
    version: int
    measures: tuple[Measure, ...]
    bands: tuple[Band, ...] = DEFAULT_BANDS
    gates: tuple[Gate, ...] = ()
    missing: MissingPolicy = MissingPolicy.REWEIGHT
    neutral: Decimal = Decimal(50)
    min_weight_share: Decimal = Decimal("0.5")
    currency: str | None = None
    description: str = ""
    # The compiled form, built on first use; never compared, hashed or stored.
    # Typed as object: cattrs resolves every annotation, and the plan's module imports this one.
    _plan: object = attrs.field(init=False, default=None, eq=False, repr=False, hash=False)

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        fix = object.__setattr__
        fix(self, "name", problems.check("name", check_text, self.name, required=True))
        if isinstance(self.version, bool) or not isinstance(self.version, int) or self.version < 1:
            problems.add("version", f"expected a whole number from 1, got {self.version!r}")
        fix(self, "missing", problems.check("missing", check_enum, MissingPolicy, self.missing))
        fix(self, "neutral", problems.check("neutral", _percent, self.neutral))
        share = problems.check("min_weight_share", to_number, self.min_weight_share)
        if share is not None and not _ZERO <= share <= 1:
            problems.add("min_weight_share", f"expected a share from 0 to 1, got {share}")
        fix(self, "min_weight_share", share)
        if self.currency is not None:
            fix(self, "currency", problems.check("currency", check_currency, self.currency, ""))
        text = problems.check(
            "description", check_text, self.description, required=False, limit=2000
        )
        fix(self, "description", text)
        self._check_measures(problems)
        self._check_bands(problems)
        self._check_gates(problems)
        problems.raise_if_any()

    # The compiled plan holds generated functions, which neither pickle nor need to: a
    # model read back (or sent to another process) compiles again on first use.
    def __getstate__(self) -> dict[str, Any]:
        return {
            field.name: getattr(self, field.name)
            for field in attrs.fields(ScoringModel)
            if field.init
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, value)
        object.__setattr__(self, "_plan", None)

    def _check_measures(self, problems: Problems) -> None:
        measures = check_list(self.measures, "measures", problems)
        object.__setattr__(self, "measures", measures)
        if not measures and not problems.found:
            problems.add("measures", "a model needs at least one measure")
        good = [m for m in measures if isinstance(m, Measure)]
        for index, measure in enumerate(measures):
            if not isinstance(measure, Measure):
                problems.add(f"measures[{index}]", "expected a Measure")
        names = [measure.name for measure in good]
        for index, measure in enumerate(good):
            if names.index(measure.name) != index:
                problems.add(
                    f"measures[{index}].name", f"{measure.name!r} is used twice; rename one"
                )
        if good and not any(measure.weight > 0 for measure in good):
            problems.add("measures", "every weight is 0; give at least one measure a weight")

    def _check_bands(self, problems: Problems) -> None:
        bands = check_list(self.bands, "bands", problems)
        object.__setattr__(self, "bands", bands)
        if not all(isinstance(band, Band) for band in bands):
            for index, band in enumerate(bands):
                if not isinstance(band, Band):
                    problems.add(f"bands[{index}]", "expected a Band")
            return
        if not _MIN_BANDS <= len(bands) <= _MAX_BANDS:
            problems.add("bands", f"give {_MIN_BANDS} to {_MAX_BANDS} bands, got {len(bands)}")
            return
        names = [band.name for band in bands]
        for index, band in enumerate(bands):
            if names.index(band.name) != index:
                problems.add(f"bands[{index}].name", f"{band.name!r} is used twice; rename one")
        if bands[0].lower != 0:
            problems.add("bands[0].lower", f"the first band must start at 0, got {bands[0].lower}")
        for index in range(1, len(bands)):
            if bands[index].lower != bands[index - 1].upper:
                problems.add(
                    f"bands[{index}].lower",
                    f"must equal bands[{index - 1}].upper ({bands[index - 1].upper}) so the "
                    f"bands leave no gap and do not overlap; list bands from worst to best",
                )
        last = len(bands) - 1
        if bands[last].upper != _HUNDRED:
            problems.add(
                f"bands[{last}].upper", f"the last band must end at 100, got {bands[last].upper}"
            )

    def _check_gates(self, problems: Problems) -> None:
        gates = check_list(self.gates, "gates", problems)
        object.__setattr__(self, "gates", gates)
        band_names = {band.name for band in self.bands if isinstance(band, Band)}
        seen: set[str] = set()
        for index, gate in enumerate(gates):
            if not isinstance(gate, Gate):
                problems.add(f"gates[{index}]", "expected a Gate")
                continue
            if gate.name in seen:
                problems.add(f"gates[{index}].name", f"{gate.name!r} is used twice; rename one")
            seen.add(gate.name)
            if band_names and gate.cap not in band_names:
                problems.add(
                    f"gates[{index}].cap",
                    f"{gate.cap!r} is not a band of this model ({', '.join(sorted(band_names))})",
                )

    def measure(self, name: str) -> Measure:
        """The measure called ``name``.

        Raises:
            ValidationError: Listing the model's measures, if there is none by that name.
        """
        return _named(self.measures, name, "measure")

    def band(self, name: str) -> Band:
        """The band called ``name``.

        Raises:
            ValidationError: Listing the model's bands, if there is none by that name.
        """
        return _named(self.bands, name, "band")

    def band_for(self, value: Decimal | int | str) -> Band:
        """The band a value falls in: ``lower <= value < upper`` (the last band includes 100).

        Raises:
            ValidationError: If the value is outside 0..100.
        """
        number = _percent(value)
        for band in self.bands[:-1]:
            if number < band.upper:
                return band
        return self.bands[-1]


_Named = TypeVar("_Named", Measure, Band)


def _named(items: tuple[_Named, ...], name: str, what: str) -> _Named:
    """The item called ``name``, or a `ValidationError` at ``what`` listing the names there are."""
    for item in items:
        if item.name == name:
            return item
    known = ", ".join(item.name for item in items)
    raise ValidationError.single(what, f"no {what} {name!r}; the model has {known}")


def _floats_to_decimals(value: object) -> object:
    if isinstance(value, float):
        return to_number(value)
    if isinstance(value, Mapping):
        return {key: _floats_to_decimals(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_floats_to_decimals(item) for item in value]
    return value


def model_from_dict(data: Mapping[str, Any]) -> ScoringModel:
    """Build a `ScoringModel` from a dict, as a notebook user writes one.

    The same as ``partnerkit.serialization.from_dict(ScoringModel, data)``, except
    that floats are accepted anywhere and read by their shortest decimal form
    (``0.3`` is exactly ``Decimal("0.3")``).

    Raises:
        ValidationError: Naming every bad field by path, such as
            ``measures[2].normalizer.half_life_days``.
    """
    from partnerkit.serialization import from_dict  # noqa: PLC0415 - serialization loads cattrs; domain code imports it only when asked

    if not isinstance(data, Mapping):
        raise ValidationError.single("", f"expected a dict, got {type(data).__name__}")
    try:
        converted = _floats_to_decimals(data)
    except ValidationError as error:
        raise ValidationError.single("", f"a number in the model: {error.problems[0]}") from None
    assert isinstance(converted, dict)  # noqa: S101 - narrows a type the code above guarantees
    return from_dict(ScoringModel, converted)


def model_from_toml(text: str) -> ScoringModel:
    """Read a `ScoringModel` from TOML text.

    Numbers are read exactly: TOML floats become Decimals from their written
    digits (``weight = 0.3`` is ``Decimal("0.3")``), never binary floats.

    Example::

        name = "Standard"
        version = 1

        [[measures]]
        name = "revenue"
        metric = "revenue_12m"
        weight = 3
        normalizer = { kind = "log", low = 1000, high = 1000000 }

    Raises:
        ValidationError: If the text is not TOML (with the line and column), nests
            too deeply or holds a number too long to read, or naming every bad
            field by path.
    """
    from partnerkit.serialization import _load_toml  # noqa: PLC0415 - see model_from_dict

    return model_from_dict(_load_toml(text, parse_float=Decimal))


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, enum.Enum):
        return _toml_value(value.value)
    if isinstance(value, str):
        # JSON string escapes are valid TOML basic-string escapes; DEL must be escaped too.
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if attrs.has(type(value)):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in _fields(value)) + " }"
    msg = f"cannot write {type(value).__name__} as TOML"
    raise TypeError(msg)


def _fields(value: object) -> list[tuple[str, object]]:
    """The fields worth writing: set ones, without defaults that are empty."""
    return [
        (field.name, getattr(value, field.name))
        for field in attrs.fields(cast("type[attrs.AttrsInstance]", type(value)))
        if field.init and getattr(value, field.name) not in (None, (), "")
    ]


def model_to_toml(model: ScoringModel) -> str:
    """Write ``model`` as TOML text that `model_from_toml` reads back equal."""
    lines = [
        f"{name} = {_toml_value(value)}"
        for name, value in _fields(model)
        if name not in ("measures", "bands", "gates")
    ]
    for table in ("measures", "bands", "gates"):
        for item in getattr(model, table):
            lines += ["", f"[[{table}]]"]
            lines += [f"{name} = {_toml_value(value)}" for name, value in _fields(item)]
    return "\n".join(lines) + "\n"
