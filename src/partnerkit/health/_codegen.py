"""The scoring loops, generated as Python source once per model.

A population of a million partners goes through one loop; calling a closure per
measure per partner would cost more than the arithmetic itself. So, like attrs
and cattrs do for ``__init__`` and structuring, a model is compiled once into a
function whose body has each measure's normaliser written out inline.

The generated source contains only identifiers made here (``M0``, ``K3``), integer
literals, float literals of constants computed here, and comparison operators from
a fixed table: no text from a model (names, labels, metrics) is ever pasted into
it. Every model value reaches the function as a named constant in its namespace.

Each normaliser computes its value as an integer count of millionths of a point,
exactly (see `partnerkit.health._kernel`): in floats where the error is provably
far below a millionth, with an exact recomputation when a float lands within
``GUARD`` of a rounding tie; exactly otherwise.
"""

from __future__ import annotations

import bisect
import decimal
import math
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Final

from partnerkit._base.money import Money
from partnerkit.health._model import Direction, GateOperator, NormalizerKind
from partnerkit.health._run import Run

if TYPE_CHECKING:
    from collections.abc import Callable

    from partnerkit.health._model import Gate, Measure, ScoringModel

    Number = int | Decimal

MICRO: Final = 1_000_000
FULL: Final = 100 * MICRO
#: A float estimate (in millionths) this close to a rounding tie is recomputed exactly.
GUARD: Final = 1e-3
# The most float error (in points) a normaliser may carry and still use floats: a
# hundredth of the guard, so an estimate outside the guard band rounds as the exact
# value does.
_BUDGET: Final = 1e-11
_EPSILON: Final = 2.0**-52
#: The context for every exact computation: wide, and independent of the caller's.
EXACT: Final = decimal.Context(
    prec=60,
    rounding=ROUND_HALF_EVEN,
    Emax=999_999,
    Emin=-999_999,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)
_TRANSCENDENTAL: Final = EXACT.copy()
_TRANSCENDENTAL.prec = 50
# Beyond this an int cannot become a float; such values take the exact path.
_FLOAT_LIMIT: Final = 2**1000
_OPERATORS: Final = {
    GateOperator.LT: "<",
    GateOperator.LE: "<=",
    GateOperator.GT: ">",
    GateOperator.GE: ">=",
    GateOperator.EQ: "==",
    GateOperator.NE: "!=",
}


def _floor(value: Decimal) -> int:
    return int(value.to_integral_value(ROUND_FLOOR, context=EXACT))


def _ceiling(value: Decimal) -> int:
    return int(value.to_integral_value(ROUND_CEILING, context=EXACT))


def _settle_lines(estimate: str, exact: str) -> list[str]:
    """Lines turning a float ``estimate`` (millionths) into ``n``, exactly."""
    return [
        f"e = {estimate} + 0.5",
        "n = int(e)",
        "d = e - n",
        f"if d < {GUARD!r} or d > {1 - GUARD!r}:",
        f"    n = {exact}(x)",
    ]


class Spec:
    """One measure's normaliser: its exact function and its generated code."""

    def __init__(self, slot: int, measure: Measure) -> None:
        self.slot = slot
        self.measure = measure
        self.constants: dict[str, object] = {}
        # linear and log read "lower is better" as the mirror image of "higher".
        self.mirror = measure.direction is Direction.LOWER and measure.kind in (
            NormalizerKind.LINEAR,
            NormalizerKind.LOG,
        )

    def name(self, stem: str) -> str:
        """This measure's name for a constant: ``K3`` for stem ``K`` in slot 3."""
        return f"{stem}{self.slot}"

    def constant(self, stem: str, value: object) -> str:
        """Put ``value`` in the namespace and return its name."""
        name = self.name(stem)
        self.constants[name] = value
        return name

    def exact(self, x: Number) -> int:
        """The exact value in millionths (before any mirroring)."""
        raise NotImplementedError

    def int_lines(self) -> list[str]:
        """Lines setting ``n`` from an int ``x``."""
        raise NotImplementedError

    def decimal_lines(self) -> list[str]:
        """Lines setting ``n`` from a Decimal ``x``."""
        raise NotImplementedError


class _Range(Spec):
    """Linear and log: clamp outside [low, high], interpolate between."""

    def __init__(self, slot: int, measure: Measure) -> None:
        super().__init__(slot, measure)
        normalizer = measure.normalizer
        assert normalizer.low is not None  # noqa: S101 - a validated linear or log normaliser
        assert normalizer.high is not None  # noqa: S101
        self.low, self.high = normalizer.low, normalizer.high
        self.low_name = self.constant("LO", self.low)
        self.high_name = self.constant("HI", self.high)
        self.exact_name = self.constant("EX", self.exact)
        self.fast = False

    def _interior(self, value: str) -> list[str]:
        if not self.fast:
            return [f"n = {self.exact_name}(x)"]
        return _settle_lines(value, self.exact_name)

    def _lines(self, low: object, high: object, value: str) -> list[str]:
        return [
            f"if x <= {low}:",
            "    n = 0",
            f"elif x >= {high}:",
            f"    n = {FULL}",
            "else:",
            *(f"    {line}" for line in self._interior(value)),
        ]

    def share(self, *, decimal: bool) -> str:
        """The float expression of ``x``'s share of the range, in millionths."""
        raise NotImplementedError

    def int_lines(self) -> list[str]:
        return self._lines(_floor(self.low), _ceiling(self.high), self.share(decimal=False))

    def decimal_lines(self) -> list[str]:
        return self._lines(self.low_name, self.high_name, self.share(decimal=True))


class _Linear(_Range):
    def __init__(self, slot: int, measure: Measure) -> None:
        super().__init__(slot, measure)
        span = EXACT.subtract(self.high, self.low)
        self._low = Fraction(self.low)
        self._scale = Fraction(FULL) / Fraction(span)
        bound = max(abs(self.low), abs(self.high))
        # x - low loses at most an ulp of max(|x|, |low|) <= bound inside the range.
        self.fast = 100 * _EPSILON * (5 * float(EXACT.divide(bound, span)) + 2) < _BUDGET
        self.low_float = self.constant("LF", float(self.low))
        self.scale = self.constant("K", float(EXACT.divide(FULL, span)))

    def exact(self, x: Number) -> int:
        return round((Fraction(x) - self._low) * self._scale)

    def share(self, *, decimal: bool) -> str:
        number = "float(x)" if decimal else "x"
        return f"({number} - {self.low_float}) * {self.scale}"


class _Log(_Range):
    def __init__(self, slot: int, measure: Measure) -> None:
        super().__init__(slot, measure)
        context = _TRANSCENDENTAL
        self._ln_low = EXACT.add(self.low, 1).ln(context)
        ln_high = EXACT.add(self.high, 1).ln(context)
        self._ln_span = context.subtract(ln_high, self._ln_low)
        # log1p is within an ulp or two; its result is at most ln(1 + high) inside the range.
        self.fast = 100 * _EPSILON * (5 * (1 + float(ln_high)) / float(self._ln_span) + 2) < _BUDGET
        self.ln_low = self.constant("LN", float(self._ln_low))
        self.scale = self.constant("K", float(context.divide(FULL, self._ln_span)))

    def exact(self, x: Number) -> int:
        with decimal.localcontext(_TRANSCENDENTAL):
            share = ((Decimal(x) + 1).ln() - self._ln_low) * FULL / self._ln_span
            return int(share.to_integral_value(ROUND_HALF_EVEN))

    def share(self, *, decimal: bool) -> str:
        # math.log1p takes an int and a Decimal alike, so both read the same.
        return f"(log1p(x) - {self.ln_low}) * {self.scale}"


class _Target(Spec):
    def __init__(self, slot: int, measure: Measure) -> None:
        super().__init__(slot, measure)
        assert measure.normalizer.target is not None  # noqa: S101 - validated
        self.target = measure.normalizer.target
        self._target = Fraction(self.target)
        self.ceiling = measure.direction is Direction.LOWER
        self.target_name = self.constant("T", self.target)
        self.exact_name = self.constant("EX", self.exact)
        if self.ceiling:
            self.over = self.constant("K", float(self.target) * FULL)
        else:
            self.scale = self.constant("K", float(EXACT.divide(FULL, self.target)))

    def exact(self, x: Number) -> int:
        if self.ceiling:
            return round(self._target * FULL / Fraction(x))
        return round(Fraction(x) * FULL / self._target)

    def _lines(self, target: object, estimate: str, *, whole: bool) -> list[str]:
        if self.ceiling:
            guard = ["elif x > BIG:", f"    n = {self.exact_name}(x)"] if whole else []
            return [
                f"if x <= {target}:",
                f"    n = {FULL}",
                *guard,
                "else:",
                *(f"    {line}" for line in _settle_lines(estimate, self.exact_name)),
            ]
        return [
            f"if x >= {target}:",
            f"    n = {FULL}",
            "elif x <= 0:",
            "    n = 0",
            "else:",
            *(f"    {line}" for line in _settle_lines(estimate, self.exact_name)),
        ]

    def int_lines(self) -> list[str]:
        if self.ceiling:
            return self._lines(_floor(self.target), f"{self.over} / x", whole=True)
        return self._lines(_ceiling(self.target), f"x * {self.scale}", whole=True)

    def decimal_lines(self) -> list[str]:
        if self.ceiling:
            return self._lines(self.target_name, f"{self.over} / float(x)", whole=False)
        return self._lines(self.target_name, f"float(x) * {self.scale}", whole=False)


class _Recency(Spec):
    """Exact powers of two, computed once per distinct day count and cached."""

    _CACHE_LIMIT: Final = 100_000  # a population has a few thousand distinct day counts

    def __init__(self, slot: int, measure: Measure) -> None:
        super().__init__(slot, measure)
        assert measure.normalizer.half_life_days is not None  # noqa: S101 - validated
        self.half_life = measure.normalizer.half_life_days
        self.cache: dict[Number, int] = {}
        self.cache_name = self.constant("RC", self.cache)
        self.exact_name = self.constant("EX", self.cached)

    def exact(self, x: Number) -> int:
        if x <= 0:
            return FULL
        with decimal.localcontext(_TRANSCENDENTAL):
            share = Decimal(2) ** (-(Decimal(x) / self.half_life)) * FULL
            return int(share.to_integral_value(ROUND_HALF_EVEN))

    def cached(self, x: Number) -> int:
        """`exact`, remembered for the next partner with the same day count."""
        result = self.exact(x)
        if len(self.cache) < self._CACHE_LIMIT:
            self.cache[x] = result
        return result

    def int_lines(self) -> list[str]:
        return [
            f"n = {self.cache_name}.get(x)",
            "if n is None:",
            f"    n = {self.exact_name}(x)",
        ]

    decimal_lines = int_lines


class _Steps(Spec):
    """The points of the highest step reached: a bisection, no arithmetic."""

    def __init__(self, slot: int, measure: Measure) -> None:
        super().__init__(slot, measure)
        normalizer = measure.normalizer
        self.thresholds = [step.at for step in normalizer.steps]
        self.levels = [round(Fraction(level) * MICRO) for level in normalizer.levels]
        self.levels_name = self.constant("LV", self.levels)
        self.thresholds_name = self.constant("TH", self.thresholds)
        # For a whole number x, x >= at exactly when x >= ceiling(at).
        self.whole_name = self.constant("TW", [_ceiling(at) for at in self.thresholds])

    def exact(self, x: Number) -> int:
        return self.levels[bisect.bisect_right(self.thresholds, x)]

    def int_lines(self) -> list[str]:
        return [f"n = {self.levels_name}[find({self.whole_name}, x)]"]

    def decimal_lines(self) -> list[str]:
        return [f"n = {self.levels_name}[find({self.thresholds_name}, x)]"]


class _Percentile(Spec):
    """Ranks come from the run (a cohort's ranker or a batch's table): ``P<slot>``."""

    def exact(self, x: Number) -> int:
        msg = "percentile ranks need a cohort"
        raise TypeError(msg)

    def int_lines(self) -> list[str]:
        return [f"n = {self.name('P')}(x)"]

    decimal_lines = int_lines


_SPECS: Final[dict[NormalizerKind, type[Spec]]] = {
    NormalizerKind.LINEAR: _Linear,
    NormalizerKind.LOG: _Log,
    NormalizerKind.TARGET: _Target,
    NormalizerKind.RECENCY: _Recency,
    NormalizerKind.STEPS: _Steps,
    NormalizerKind.PERCENTILE: _Percentile,
}


def specs_of(measures: tuple[Measure, ...]) -> tuple[Spec, ...]:
    """One spec per measure, in order."""
    return tuple(_SPECS[measure.kind](slot, measure) for slot, measure in enumerate(measures))


def _indent(lines: list[str], depth: int) -> list[str]:
    return [("    " * depth) + line for line in lines]


def _measure_block(spec: Spec, weight: int, *, compact: bool) -> list[str]:
    """Read one measure's raw value and normalise it (into ``n<slot>`` or the total)."""
    slot = spec.slot
    metric = spec.name("M")
    value = f"{FULL} - n" if spec.mirror else "n"
    if compact:
        missing, store = [f"mask |= {1 << slot}"], [f"total += ({value}) * {weight}"]
    else:
        missing, store = [f"n{slot} = None", f"mask |= {1 << slot}"], [f"n{slot} = {value}"]
    head = f"r{slot} = raw = get({metric})" if not compact else f"raw = get({metric})"
    return [
        head,
        "if raw is None:",
        *_indent(missing, 1),
        "elif type(raw) is int:",
        "    x = raw",
        *_indent(spec.int_lines(), 1),
        *_indent(store, 1),
        "else:",
        "    if type(raw) is Money:",
        "        if raw.currency != cur:",
        f"            cur = adopt(run, raw.currency, {metric}, snapshot.partner_id)",
        "        x = raw.amount",
        "    else:",
        f"        x = number(run, raw, {metric}, snapshot.partner_id)",
        *_indent(spec.decimal_lines(), 1),
        *_indent(store, 1),
    ]


def _gate_block(index: int, gate: Gate, cap: int) -> list[str]:
    metric = f"G{index}"
    return [
        f"if {cap} < band:",
        f"    raw = get({metric})",
        "    if raw is None:",
        f"        hit = {gate.fire_when_missing!r}",
        "    else:",
        "        if type(raw) is not int:",
        f"            raw = number(run, raw, {metric}, snapshot.partner_id)",
        f"        hit = raw {_OPERATORS[gate.op]} GT{index}",
        "    if hit:",
        f"        band = {cap}",
    ]


def _adopt(run: Any, currency: str, metric: str, partner_id: str) -> str | None:
    run.adopt(currency, metric, partner_id)
    return run.currency  # type: ignore[no-any-return]


def compile_loops(
    model: ScoringModel, weights: tuple[int, ...], caps: tuple[int, ...], specs: tuple[Spec, ...]
) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """Generate ``evaluate(snapshot, run, pct)`` and ``compact(...)`` for ``model``.

    ``weights`` are the measures' integer weights and ``caps`` each gate's band cap,
    as the kernel's plan computed them; the generated ``compact`` takes that plan.

    ``evaluate`` returns each measure's millionths (``None`` without data), the raw
    values and the missing mask for one snapshot. ``compact`` scores a list of
    snapshots to value (tenths, -1 for insufficient data), band index (gates
    applied) and missing mask, through three ``append`` callables.
    """
    namespace: dict[str, object] = {
        "Money": Money,
        "log1p": math.log1p,
        "find": bisect.bisect_right,
        "number": Run.number,
        "adopt": _adopt,
        "BIG": _FLOAT_LIMIT,
    }
    for spec in specs:
        namespace.update(spec.constants)
        namespace[spec.name("M")] = spec.measure.metric
    for index, gate in enumerate(model.gates):
        namespace[f"G{index}"] = gate.metric
        namespace[f"GT{index}"] = gate.threshold
    percentile = [spec for spec in specs if isinstance(spec, _Percentile)]
    bind = [f"{spec.name('P')} = pct[{spec.slot}]" for spec in percentile]
    count = len(specs)
    # Every constant becomes a keyword default: a local (LOAD_FAST) in the loops,
    # not a global lookup per partner.
    defaults = ", ".join(f"{name}={name}" for name in namespace)
    evaluate = [
        f"def evaluate(snapshot, run, pct, *, {defaults}):",
        *_indent(bind, 1),
        "    get = snapshot.values.get",
        "    cur = run.currency",
        "    mask = 0",
    ]
    for spec in specs:
        evaluate += _indent(_measure_block(spec, weights[spec.slot], compact=False), 1)
    micros = ", ".join(f"n{slot}" for slot in range(count))
    raws = ", ".join(f"r{slot}" for slot in range(count))
    evaluate.append(f"    return [{micros}], [{raws}], mask")
    head = (
        "def compact(snapshots, as_of, run, pct, put_tenths, put_band, put_mask, plan, future, *, "
    )
    compact = [
        f"{head}{defaults}):",
        *_indent(bind, 1),
        "    cur = run.currency",
        "    masks = plan.masks",
        "    mask_info = plan.mask",
        "    band_table = plan.band_table",
        "    for snapshot in snapshots:",
        "        if snapshot.as_of > as_of:",
        "            raise future(snapshot, as_of)",
        "        get = snapshot.values.get",
        "        total = 0",
        "        mask = 0",
    ]
    for spec in specs:
        compact += _indent(_measure_block(spec, weights[spec.slot], compact=True), 2)
    compact += [
        "        put_mask(mask)",
        "        info = masks.get(mask)",
        "        if info is None:",
        "            info = mask_info(mask)",
        "        if not info.sufficient:",
        "            put_tenths(-1)",
        "            put_band(-1)",
        "            continue",
        "        total += info.extra",
        "        denominator = info.denominator",
        "        tenths = (20 * total + denominator) // (2 * denominator)",
        "        band = band_table[tenths]",
    ]
    for index, gate in enumerate(model.gates):
        compact += _indent(_gate_block(index, gate, caps[index]), 2)
    compact += ["        put_tenths(tenths)", "        put_band(band)"]
    source = "\n".join([*evaluate, "", "", *compact, ""])
    exec(compile(source, f"<partnerkit health model {id(model):x}>", "exec"), namespace)  # noqa: S102 - source built above from fixed templates; model values are namespace constants
    return namespace["evaluate"], namespace["compact"]  # type: ignore[return-value]
