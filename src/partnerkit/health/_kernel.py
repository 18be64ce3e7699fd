"""A scoring model compiled for speed without giving up exactness.

How numbers are kept exact:

- A normalised value is an integer count of millionths of a point (``MICRO``):
  the true value rounded half to even to six decimal places.
- Weights are scaled to integers, so every sum, share and quotient after
  normalisation is exact integer arithmetic; the score is rounded once, half up
  to a tenth, and the points are shared out by largest remainders.
- Linear, log and target normalisers first compute in binary floating point. A
  normaliser is only allowed to do so when its parameters bound the float error
  far below a millionth of a point (checked once, when the model is compiled),
  and a float result that lands within ``GUARD`` of a rounding tie is recomputed
  with ``Fraction`` or 50-digit ``Decimal``. Either way the integer is the same as
  the exact computation gives; floats only make the common case fast.
- Recency (a power of two) is computed in ``Decimal`` once per distinct day
  count and cached; steps and percentiles are exact comparisons and integers.

The per-partner loops are generated once per model (`partnerkit.health._codegen`).
"""

from __future__ import annotations

import bisect
import operator
from array import array
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Final

from partnerkit._base.money import Money
from partnerkit.errors import ValidationError
from partnerkit.health._codegen import EXACT, FULL, MICRO, compile_loops, specs_of
from partnerkit.health._model import Direction, GateOperator, MissingPolicy, NormalizerKind
from partnerkit.health._run import Run

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence
    from datetime import datetime

    from partnerkit.health._model import ScoringModel
    from partnerkit.metrics import MetricSnapshot

    Number = int | Decimal
    #: Where percentile measures get their ranks: one callable per slot (None elsewhere).
    Ranks = tuple[Callable[[Number], int] | None, ...]

__all__ = [
    "EXACT",
    "FULL",
    "MICRO",
    "SHARE_DECIMALS",
    "SHARE_UNITS",
    "TENTHS",
    "TENTH_DECIMALS",
    "CohortValues",
    "MaskInfo",
    "Plan",
    "Run",
    "cohort_values",
    "counted_ranks",
    "largest_remainder",
    "micro_decimal",
    "plan_of",
    "population_ranks",
    "rank",
    "rank_table",
    "round_half_even",
]

TENTHS: Final = 1000  # a score of 100.0 in tenths
SHARE_UNITS: Final = 10_000  # weight shares are shown to four decimal places
_NEUTRAL_RANK: Final = 50 * MICRO

# Decimals for every tenth from 0.0 to 100.0 and every share from 0.0000 to 1.0000:
# scores, points and shares are looked up, not built.
TENTH_DECIMALS: Final = tuple(Decimal(f"{index / 10:.1f}") for index in range(TENTHS + 1))
SHARE_DECIMALS: Final = tuple(
    Decimal(index).scaleb(-4, context=EXACT) for index in range(SHARE_UNITS + 1)
)
POLICY_CODES: Final = {MissingPolicy.REWEIGHT: 0, MissingPolicy.NEUTRAL: 1, MissingPolicy.ZERO: 2}

_COMPARE: Final[dict[GateOperator, Callable[[Any, Any], bool]]] = {
    GateOperator.LT: operator.lt,
    GateOperator.LE: operator.le,
    GateOperator.GT: operator.gt,
    GateOperator.GE: operator.ge,
    GateOperator.EQ: operator.eq,
    GateOperator.NE: operator.ne,
}


def round_half_even(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half to even (``denominator > 0``)."""
    quotient, remainder = divmod(numerator, denominator)
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient & 1):
        quotient += 1
    return quotient


def micro_decimal(value: int) -> Decimal:
    """Millionths of a point as a Decimal with six places: ``42500000`` is ``42.500000``."""
    return Decimal(value).scaleb(-6, context=EXACT)


def to_micro(value: Decimal) -> int:
    """A Decimal number of points as millionths, rounded half to even."""
    return round(Fraction(value) * MICRO)


def largest_remainder(numerators: Sequence[int], denominator: int, total: int) -> list[int]:
    """Share ``total`` units in proportion to ``numerators`` by largest remainders.

    Each part is ``numerators[i] / denominator`` rounded down; the units still
    missing from ``total`` go one each to the largest remainders, the earliest
    first on ties. The caller guarantees ``0 <= total - sum(floors) <= len(numerators)``.
    """
    floors = []
    remainders = []
    for numerator in numerators:
        quotient, remainder = divmod(numerator, denominator)
        floors.append(quotient)
        remainders.append(remainder)
    leftover = total - sum(floors)
    if leftover > 0:
        # A stable sort in reverse keeps the earliest first among equal remainders.
        order = sorted(range(len(floors)), key=remainders.__getitem__, reverse=True)
        for index in order[:leftover]:
            floors[index] += 1
    return floors


def rank(below: int, equal: int, others: int) -> int:
    """Percentile rank in millionths: 100 x (below + equal / 2) / others; 50 with no others."""
    if others == 0:
        return _NEUTRAL_RANK
    return round_half_even(FULL * (2 * below + equal), 2 * others)


class MaskInfo:
    """What a pattern of missing measures means: weights, shares and sufficiency."""

    __slots__ = (
        "data_share",
        "denominator",
        "extra",
        "included",
        "max_tenths",
        "share_units",
        "shares",
        "substitutes",
        "sufficient",
        "weight",
    )

    def __init__(self, plan: Plan, mask: int) -> None:
        included: list[bool] = []
        substitutes: list[int | None] = []
        present_weight = 0
        weight = 0
        for index, spec_weight in enumerate(plan.weights):
            missing = bool(mask >> index & 1)
            policy = plan.policies[index]
            substitute = None
            if missing and policy == 1:
                substitute = plan.neutral
            elif missing and policy == 2:
                substitute = 0
            include = not missing or substitute is not None
            included.append(include)
            substitutes.append(substitute)
            if include:
                weight += spec_weight
            if not missing:
                present_weight += spec_weight
        self.included = tuple(included)
        self.substitutes = tuple(substitutes)
        self.extra = sum(
            substitute * spec_weight
            for substitute, spec_weight in zip(substitutes, plan.weights, strict=True)
            if substitute
        )
        self.weight = weight
        self.denominator = weight * MICRO
        numerator, denominator = plan.min_share
        self.sufficient = weight > 0 and present_weight * denominator >= numerator * plan.total
        self.data_share = SHARE_DECIMALS[round_half_even(present_weight * SHARE_UNITS, plan.total)]
        if weight:
            shares = largest_remainder(
                [
                    w * SHARE_UNITS if inc else 0
                    for w, inc in zip(plan.weights, included, strict=True)
                ],
                weight,
                SHARE_UNITS,
            )
            maxima = largest_remainder(
                [w * TENTHS if inc else 0 for w, inc in zip(plan.weights, included, strict=True)],
                weight,
                TENTHS,
            )
        else:
            shares = [0] * len(included)
            maxima = [0] * len(included)
        self.share_units = tuple(shares)
        self.shares = tuple(SHARE_DECIMALS[units] for units in shares)
        self.max_tenths = tuple(maxima)


class Plan:
    """A scoring model compiled once and reused for every partner it scores."""

    __slots__ = (
        "band_table",
        "bits",
        "compact_loop",
        "evaluate_loop",
        "gates",
        "lower",
        "masks",
        "measures",
        "metrics",
        "min_share",
        "missing",
        "model",
        "neutral",
        "percentile",
        "policies",
        "specs",
        "statics",
        "total",
        "weights",
    )

    def __init__(self, model: ScoringModel) -> None:
        self.model = model
        self.measures = model.measures
        # Scale every weight by the same power of ten to integers: ratios are unchanged.
        places = max(0, *(_places(m.weight) for m in model.measures))
        self.weights = tuple(int(m.weight.scaleb(places, context=EXACT)) for m in model.measures)
        self.total = sum(self.weights)
        self.metrics = tuple(m.metric for m in model.measures)
        self.bits = tuple(1 << index for index in range(len(model.measures)))
        self.policies = tuple(
            POLICY_CODES[m.missing if m.missing is not None else model.missing]
            for m in model.measures
        )
        self.neutral = to_micro(model.neutral)
        self.min_share = model.min_weight_share.as_integer_ratio()
        self.percentile = tuple(m.kind is NormalizerKind.PERCENTILE for m in model.measures)
        self.lower = tuple(m.direction is Direction.LOWER for m in model.measures)
        names = [band.name for band in model.bands]
        self.band_table = array("b", self._band_table(model))
        self.gates = tuple(
            (
                gate.metric,
                _COMPARE[gate.op],
                gate.threshold,
                names.index(gate.cap),
                gate.fire_when_missing,
            )
            for gate in model.gates
        )
        self.masks: dict[int, MaskInfo] = {}
        #: Mask to the names of the measures it leaves without data (filled by the scorer).
        self.missing: dict[int, tuple[str, ...]] = {}
        self.statics: tuple[Any, ...] = ()  # filled in by the scorer, which knows its enums
        self.specs = specs_of(model.measures)
        self.evaluate_loop, self.compact_loop = compile_loops(
            model, self.weights, tuple(gate[3] for gate in self.gates), self.specs
        )

    @staticmethod
    def _band_table(model: ScoringModel) -> list[int]:
        uppers = [band.upper for band in model.bands[:-1]]
        return [bisect.bisect_right(uppers, value) for value in TENTH_DECIMALS]

    def mask(self, mask: int) -> MaskInfo:
        """What ``mask`` (a bit set for each measure without data) means."""
        info = self.masks.get(mask)
        if info is None:
            info = self.masks[mask] = MaskInfo(self, mask)
        return info

    def ranks(self, ranker: Callable[[int, Number], int] | None) -> Ranks:
        """Where each percentile measure ranks: ``ranker(slot, x)``, or an error without one."""
        result: list[Callable[[Number], int] | None] = []
        for slot, flag in enumerate(self.percentile):
            if not flag:
                result.append(None)
                continue
            if ranker is None:
                name = self.measures[slot].name
                raise ValidationError.single(
                    "cohort",
                    f"measure {name!r} ranks partners within a cohort: pass cohort=... (the "
                    f"population's snapshots or a Cohort) or score the population with "
                    f"score_batch",
                )
            result.append(_bind(ranker, slot))
        return tuple(result)

    def evaluate(
        self, snapshot: MetricSnapshot, ranks: Ranks, run: Run
    ) -> tuple[list[int | None], list[object], int]:
        """Each measure's millionths (``None`` without data), raw values and missing mask."""
        return self.evaluate_loop(snapshot, run, ranks)  # type: ignore[no-any-return]

    def gate_hits(self, snapshot: MetricSnapshot, run: Run) -> list[int]:
        """The indexes of the gates that fire for ``snapshot``."""
        values = snapshot.values
        hits = []
        for index, (metric, compare, threshold, _cap, when_missing) in enumerate(self.gates):
            raw = values.get(metric)
            if raw is None:
                fired = when_missing
            else:
                fired = compare(run.number(raw, metric, snapshot.partner_id), threshold)
            if fired:
                hits.append(index)
        return hits

    def compact(
        self,
        snapshots: Sequence[MetricSnapshot],
        ranks: Ranks,
        run: Run,
        as_of: datetime,
    ) -> tuple[array[int], array[int], array[int] | list[int]]:
        """Score many partners to value (tenths, -1 for insufficient data), band and mask.

        The same numbers `evaluate` and the explained path give, without building
        any contribution: this is the loop a population of a million goes through.
        The mask has a bit set for each measure without data.
        """
        tenths = array("h")
        bands = array("b")
        # A mask has a bit per measure: machine integers hold up to 63 of them.
        masks: array[int] | list[int] = array("q") if len(self.weights) < 63 else []
        self.compact_loop(
            snapshots,
            as_of,
            run,
            ranks,
            tenths.append,
            bands.append,
            masks.append,
            self,
            _from_the_future,
        )
        return tenths, bands, masks


def _places(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)  # noqa: S101 - narrows a type the code above guarantees
    return -exponent


def _bind(ranker: Callable[[int, Number], int], slot: int) -> Callable[[Number], int]:
    def normalise(x: Number) -> int:
        return ranker(slot, x)

    return normalise


def _from_the_future(snapshot: MetricSnapshot, as_of: datetime) -> ValidationError:
    return ValidationError.single(
        "as_of",
        f"partner {snapshot.partner_id!r}: the snapshot is as of "
        f"{snapshot.as_of.isoformat()}, after the scoring instant {as_of.isoformat()}; "
        f"score at or after the snapshot's as_of",
    )


def plan_of(model: ScoringModel) -> Plan:
    """The compiled form of ``model``, built on first use and kept on the model."""
    plan = model._plan
    if plan is None:
        plan = Plan(model)
        object.__setattr__(model, "_plan", plan)
    assert isinstance(plan, Plan)  # noqa: S101 - narrows a type the code above guarantees
    return plan


class CohortValues:
    """The exact values of one metric across a cohort, sorted, for percentile ranks."""

    __slots__ = ("by_partner", "sorted")

    def __init__(self, by_partner: dict[str, Number]) -> None:
        self.by_partner = by_partner
        self.sorted = sorted(by_partner.values())

    def rank(self, partner_id: str, x: Number, lower: bool) -> int:
        """The rank of ``x`` against every member but ``partner_id`` itself."""
        ordered = self.sorted
        below = bisect.bisect_left(ordered, x)
        equal = bisect.bisect_right(ordered, x) - below
        others = len(ordered)
        own = self.by_partner.get(partner_id)
        if own is not None:
            others -= 1
            if own < x:
                below -= 1
            elif own == x:
                equal -= 1
        if lower:  # doing worse means a higher value
            below = others - below - equal
        return rank(below, equal, others)

    def table(self, lower: bool) -> dict[Number, int]:
        """Every member value's rank among the others, for a whole-population batch."""
        return rank_table(self.sorted, lower)


def rank_table(ordered: Sequence[Number], lower: bool) -> dict[Number, int]:
    """Every value's rank among the others in a sorted population (itself left out)."""
    others = len(ordered) - 1
    table: dict[Number, int] = {}
    index = 0
    count = len(ordered)
    right = bisect.bisect_right
    while index < count:
        value = ordered[index]
        end = right(ordered, value, index)
        equal = end - index - 1
        below = count - end if lower else index
        table[value] = rank(below, equal, others)
        index = end
    return table


def population_ranks(plan: Plan, snapshots: Sequence[MetricSnapshot], run: Run) -> Ranks:
    """Where each percentile measure ranks a member of ``snapshots``, ranked among the others.

    One pass per ranked metric collects the population's values and one sort
    orders them; a member's rank is then a dictionary lookup by its value. Values
    that are all whole numbers, or all money in one currency, are read without a
    call per partner; anything else is read one by one, so that an error names
    the partner it is about.
    """

    def table(metric: str, lower: bool) -> Callable[[Number], int]:
        numbers = _population_numbers(metric, snapshots, run)
        numbers.sort()
        return rank_table(numbers, lower).__getitem__

    return _per_percentile(plan, table)


def _per_percentile(plan: Plan, table: Callable[[str, bool], Callable[[Number], int]]) -> Ranks:
    """Each slot's ranker: ``table(metric, lower)`` for a percentile measure, else ``None``.

    Measures ranking the same metric the same way share one table, built once.
    """
    tables: dict[tuple[str, bool], Callable[[Number], int]] = {}
    result: list[Callable[[Number], int] | None] = []
    for slot, flag in enumerate(plan.percentile):
        if not flag:
            result.append(None)
            continue
        key = (plan.metrics[slot], plan.lower[slot])
        if key not in tables:
            tables[key] = table(*key)
        result.append(tables[key])
    return tuple(result)


class _PopulationTable(dict):  # type: ignore[type-arg]
    """A rank table that names the problem when a value is not in the population."""

    __slots__ = ("metric",)
    metric: str

    def __missing__(self, value: Number) -> int:
        raise ValidationError.single(
            f"values[{self.metric!r}]",
            f"{value} is not among the population's values the ranks were counted from; "
            f"count every partition's values (rank_counts) before scoring any of them",
        )


def counted_ranks(plan: Plan, counts: Mapping[str, Mapping[Number, int]]) -> Ranks:
    """Percentile ranks from the value counts of a whole population, gathered elsewhere.

    A member's rank among the others needs only how many values lie below its
    own and how many equal it, so counts summed over partitions give exactly the
    ranks one `population_ranks` over the whole population gives.
    """

    def table(metric: str, lower: bool) -> Callable[[Number], int]:
        found = counts.get(metric, {})
        ordered = sorted(found)
        size = sum(found.values())
        ranks_of = _PopulationTable()
        ranks_of.metric = metric
        below = 0
        for value in ordered:
            many = found[value]
            under = size - below - many if lower else below
            ranks_of[value] = rank(under, many - 1, size - 1)
            below += many
        return ranks_of.__getitem__

    return _per_percentile(plan, table)


def _population_numbers(metric: str, snapshots: Sequence[MetricSnapshot], run: Run) -> list[Number]:
    raws = [value for snapshot in snapshots if (value := snapshot.values.get(metric)) is not None]
    kinds = set(map(type, raws))
    if kinds <= {int}:
        return raws  # type: ignore[return-value]
    if kinds == {Money}:
        currencies = {raw.currency for raw in raws}  # type: ignore[union-attr]
        if len(currencies) == 1 and run.currency in (None, *currencies):
            run.currency = currencies.pop()
            return [raw.amount for raw in raws]  # type: ignore[union-attr]
    numbers: list[Number] = []
    for snapshot in snapshots:
        raw = snapshot.values.get(metric)
        if raw is not None:
            numbers.append(run.number(raw, metric, snapshot.partner_id))
    return numbers


def cohort_values(
    plan: Plan, snapshots: Iterable[MetricSnapshot], run: Run
) -> dict[str, CohortValues]:
    """The sorted values of every metric a percentile measure reads, by metric name."""
    metrics = {plan.metrics[slot] for slot, flag in enumerate(plan.percentile) if flag}
    if not metrics:
        return {}
    collected: dict[str, dict[str, Number]] = {metric: {} for metric in metrics}
    for snapshot in snapshots:
        values = snapshot.values
        for metric, members in collected.items():
            raw = values.get(metric)
            if raw is not None:
                members[snapshot.partner_id] = run.number(raw, metric, snapshot.partner_id)
    return {metric: CohortValues(members) for metric, members in collected.items()}
