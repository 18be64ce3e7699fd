"""Scoring columns of metric values with numpy, exactly as the per-partner path does.

Needs numpy (``pip install partnerkit[fast]``), imported when first used.

Each normaliser runs over a whole column in float64, and then the same rule as
the generated loops (`partnerkit.health._codegen`) keeps the result exact: an
estimate within ``GUARD`` of a rounding tie, a value whose float equals the float
of a threshold it is compared with (so the comparison cannot be trusted), a
whole number too large for a float, and every interior value of a normaliser
whose parameters do not bound the float error, are all recomputed one by one
with the exact function. What is left is integer arithmetic in int64, the same
sums the kernel does. So every value and band is the one `score_batch` gives.

A float in a column is read as the exact number it holds (``0.1`` is
0.1000000000000000055511151231257827...); NaN and ``None`` mean no data.
"""

from __future__ import annotations

from decimal import Decimal
from math import isfinite
from typing import TYPE_CHECKING, Any, Final

from partnerkit._base.money import Money
from partnerkit.errors import ValidationError
from partnerkit.health._codegen import FULL, GUARD
from partnerkit.health._kernel import TENTH_DECIMALS, Run, plan_of, rank_table
from partnerkit.health._model import ScoringModel

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    import numpy as np
    import numpy.typing as npt

    from partnerkit.health._codegen import Spec
    from partnerkit.health._kernel import Number, Plan

__all__ = ["ScoreArrays", "score_arrays"]

_FLOAT_EXACT: Final = 2.0**53  # every whole number up to this is a float exactly
_TABLE_LIMIT: Final = 1 << 20  # whole numbers spanning less than this are looked up in a table
_TABLE_BITS: Final = 12  # models with at most this many measures look masks up in a table


class ScoreArrays:
    """Values and bands of a population scored by `score_arrays`, as numpy arrays.

    Attributes:
        model: The model that scored.
        tenths: Each partner's value in tenths of a point (``int16``; -1 for
            insufficient data), in the order of the columns.
        bands: Each partner's band as an index into ``model.bands`` after gates
            (``int8``; -1 for insufficient data).
        currency: The currency the money columns were in (``None`` if none).
    """

    __slots__ = ("bands", "currency", "model", "tenths")

    def __init__(
        self,
        model: ScoringModel,
        tenths: npt.NDArray[np.int16],
        bands: npt.NDArray[np.int8],
        currency: str | None,
    ) -> None:
        self.model = model
        self.tenths = tenths
        self.bands = bands
        self.currency = currency

    def __len__(self) -> int:
        return len(self.tenths)

    def values(self) -> list[Decimal | None]:
        """Each partner's value as a Decimal with one place (``None``: insufficient data)."""
        return [TENTH_DECIMALS[t] if t >= 0 else None for t in self.tenths.tolist()]

    def band_names(self) -> list[str | None]:
        """Each partner's band name (``None``: insufficient data)."""
        names = [band.name for band in self.model.bands]
        return [names[b] if b >= 0 else None for b in self.bands.tolist()]

    def __repr__(self) -> str:
        return f"ScoreArrays({self.model.name!r} v{self.model.version}, {len(self)} partners)"


class _Column:
    """One metric's values: float estimates, which are present, and the exact numbers.

    ``trusted`` says every present float is exactly its number (so floats can be
    sorted and grouped); ``force`` marks values whose float cannot even serve as
    an estimate (whole numbers past 2**53, decimals beyond the float range).
    """

    __slots__ = ("exact", "floats", "force", "present", "trusted")

    def __init__(self, values: Any, metric: str, run: Run, count: int) -> None:
        import numpy as np  # noqa: PLC0415 - numpy is optional: imported when used

        array = _as_array(values)
        kind = array.dtype.kind
        if array.ndim != 1 or len(array) != count:
            raise ValidationError.single(
                f"columns[{metric!r}]",
                f"expected one value per partner ({count}, as in the first column), got "
                f"shape {array.shape}",
            )
        if kind in "iu":
            self.floats = array.astype(np.float64)
            self.present = np.ones(count, dtype=bool)
            self.force = np.abs(self.floats) > _FLOAT_EXACT
            self.trusted = not self.force.any()
            self.exact: Callable[[int], Number] = lambda i: int(array[i])
        elif kind == "f":
            floats = array.astype(np.float64, copy=False)
            if np.isinf(floats).any():
                raise ValidationError.single(
                    f"columns[{metric!r}]", "holds an infinite value; give finite numbers"
                )
            self.floats = floats
            self.present = ~np.isnan(floats)
            self.force = np.zeros(count, dtype=bool)
            self.trusted = True
            self.exact = lambda i: _float_number(float(floats[i]))
        elif kind == "O":
            numbers = _object_numbers(array, metric, run)
            self.present = np.fromiter((n is not None for n in numbers), dtype=bool, count=count)
            estimates = [_estimate(n) for n in numbers]
            self.floats = np.array(estimates, dtype=np.float64)
            self.force = np.fromiter(
                (_unfit(n, e) for n, e in zip(numbers, estimates, strict=True)),
                dtype=bool,
                count=count,
            )
            self.floats[self.force] = 0.0
            self.trusted = all(type(n) is int for n in numbers if n is not None) and not (
                self.force.any()
            )
            self.exact = numbers.__getitem__  # type: ignore[assignment]
        else:
            raise ValidationError.single(
                f"columns[{metric!r}]",
                f"expected numbers (ints, floats, or Money, Decimal, int and None), got "
                f"numpy dtype {array.dtype}",
            )


def _as_array(values: Any) -> Any:
    import numpy as np  # noqa: PLC0415

    if isinstance(values, np.ndarray):
        return values
    if hasattr(values, "to_numpy"):  # a pandas Series, without importing pandas
        return values.to_numpy()
    items = list(values)
    array = np.empty(len(items), dtype=object)
    array[:] = items
    return array


def _estimate(number: Number | None) -> float:
    if number is None:
        return float("nan")
    try:
        return float(number)
    except OverflowError:  # a whole number beyond the float range: computed exactly
        return float("nan")


def _unfit(number: Number | None, estimate: float) -> bool:
    """Whether ``estimate`` cannot stand for ``number`` even approximately."""
    if number is None:
        return False
    big = number > _FLOAT_EXACT or -number > _FLOAT_EXACT
    return not isfinite(estimate) or big or (estimate == 0) != (number == 0)


def _edge(value: Number) -> tuple[float, bool]:
    """A threshold as a float, and whether a value equal to that float needs an exact look.

    Comparing with a threshold that a float holds exactly (whole numbers, halves)
    is exact in floats; with any other, a value whose float equals the
    threshold's float may lie on either side of it.
    """
    as_float = float(value)
    return as_float, Decimal(as_float) != value


def _float_number(value: float) -> Number:
    return int(value) if value.is_integer() else Decimal(value)


def _object_numbers(values: Sequence[Any], metric: str, run: Run) -> list[Number | None]:
    numbers: list[Number | None] = []
    append = numbers.append
    for index, item in enumerate(values):
        raw = item
        kind = type(raw)
        if kind not in _PLAIN and hasattr(raw, "item") and not isinstance(raw, Decimal):
            raw = raw.item()  # a numpy scalar
            kind = type(raw)
        if raw is None or (kind is float and raw != raw) or kind.__name__ == "NAType":  # noqa: PLR0124 - NaN and pandas' NA mean no data
            append(None)
        elif kind is int:
            append(raw)
        elif kind is float:
            if raw in (float("inf"), float("-inf")):
                raise ValidationError.single(
                    f"columns[{metric!r}][{index}]", "is infinite; give finite numbers"
                )
            append(_float_number(raw))
        else:
            append(run.number(raw, metric, f"#{index}"))
    return numbers


_PLAIN: Final = frozenset({int, float, Decimal, Money, type(None)})


def score_arrays(
    model: ScoringModel,
    columns: Mapping[str, Sequence[Any] | npt.ArrayLike],
) -> ScoreArrays:
    """Score a population given as columns of metric values, vectorised with numpy.

    The values and bands are exactly those `score_batch` gives for the same
    population (percentile measures rank within it), without building a
    `MetricSnapshot` or a `HealthScore` per partner: the path for a DataFrame of
    metrics (``score_arrays(model, {m: frame[m].to_numpy() for m in frame})``).

    Args:
        model: The scoring model.
        columns: Metric name to one value per partner, all columns the same length:
            a numpy array of ints or floats (NaN: no data), or a sequence of
            `Money`, ``Decimal``, ``int``, ``float`` or ``None``. A metric the
            model reads but the mapping lacks has no data for anyone.

    Returns:
        The values (tenths) and band indexes as numpy arrays.

    Raises:
        ValidationError: For money in two currencies (or not the model's), a
            value that is not a finite number, or columns of different lengths.
        ImportError: If numpy is not installed (``pip install partnerkit[fast]``).
    """
    import numpy as np  # noqa: PLC0415 - numpy is optional: imported when used

    if not isinstance(model, ScoringModel):
        raise ValidationError.single(
            "model", f"expected a ScoringModel, got {type(model).__name__}"
        )
    plan = plan_of(model)
    run = Run(model.currency)
    count = len(_as_array(next(iter(columns.values())))) if columns else 0
    read: dict[str, _Column | None] = {}

    def column(metric: str) -> _Column | None:
        if metric not in read:
            values = columns.get(metric)
            read[metric] = None if values is None else _Column(values, metric, run, count)
        return read[metric]

    # Exact integers: int64 while no sum can overflow it, Python ints otherwise.
    wide = 20 * FULL * (plan.total + 1) >= 2**62 or len(plan.specs) >= 62
    exact_type: Any = object if wide else np.int64
    total = np.zeros(count, dtype=exact_type)
    mask = np.zeros(count, dtype=exact_type)
    for slot, spec in enumerate(plan.specs):
        data = column(plan.metrics[slot])
        if data is None:
            mask |= 1 << slot
            continue
        micros = _normalise(plan, slot, spec, data).astype(exact_type)
        mask |= np.where(data.present, 0, 1 << slot).astype(exact_type)
        total += np.where(data.present, micros, 0) * plan.weights[slot]
    tenths, bands = _finish(plan, total, mask)
    bands = _gates(plan, bands, tenths, column)
    return ScoreArrays(model, tenths.astype(np.int16), bands.astype(np.int8), run.currency)


def _normalise(plan: Plan, slot: int, spec: Spec, data: _Column) -> npt.NDArray[np.int64]:
    """Millionths for every present value of ``data`` (anything where absent)."""
    import numpy as np  # noqa: PLC0415

    from partnerkit.health import _codegen as cg  # noqa: PLC0415 - the spec classes

    if isinstance(spec, cg._Percentile):
        return _percentile(plan, slot, data)
    if isinstance(spec, cg._Recency):
        cache, compute = spec.cache, spec.cached

        def recency(x: Number) -> int:
            known = cache.get(x)
            return compute(x) if known is None else known

        return _by_distinct(data, recency)
    x = np.where(data.present, data.floats, 0.0)
    check = data.force.copy()  # positions to recompute exactly
    if isinstance(spec, cg._Steps):
        edges = [_edge(t) for t in spec.thresholds]
        at = np.array([edge for edge, _ in edges], dtype=np.float64)
        micros = np.array(spec.levels, dtype=np.int64)[np.searchsorted(at, x, side="right")]
        unsure = [edge for edge, inexact in edges if inexact]
        if unsure:
            check |= np.isin(x, unsure)
    else:
        micros = _clamped(spec, x, check)
    check &= data.present
    exact: Callable[[Number], int] = spec.exact
    for index in np.flatnonzero(check).tolist():
        micros[index] = exact(data.exact(index))
    if spec.mirror:
        micros = FULL - micros
    return micros


def _clamped(spec: Spec, x: npt.NDArray[np.float64], check: npt.NDArray[np.bool_]) -> Any:
    """Linear, log and target: clamps, and float estimates settled as the loops settle them.

    Marks in ``check`` (in place) the positions whose result must be computed exactly.
    """
    import numpy as np  # noqa: PLC0415

    from partnerkit.health import _codegen as cg  # noqa: PLC0415

    constants: dict[str, Any] = spec.constants
    k: float = constants[spec.name("K")]
    if isinstance(spec, cg._Target):
        target, unsure = _edge(spec.target)
        if spec.ceiling:
            estimate = k / np.where(x > 0, x, 1.0) + 0.5
            clamp_full = x <= target
            clamp_zero = np.zeros(len(x), dtype=bool)
        else:
            estimate = x * k + 0.5
            clamp_full = x >= target
            clamp_zero = x <= 0
        if unsure:
            check |= x == target
        fast = True
    else:
        assert isinstance(spec, cg._Range)  # noqa: S101 - the remaining kinds
        (low, low_unsure), (high, high_unsure) = _edge(spec.low), _edge(spec.high)
        if isinstance(spec, cg._Log):
            with np.errstate(invalid="ignore", divide="ignore"):
                estimate = (np.log1p(x) - constants[spec.name("LN")]) * k + 0.5
        else:
            estimate = (x - constants[spec.name("LF")]) * k + 0.5
        clamp_zero = x <= low
        clamp_full = x >= high
        if low_unsure:
            check |= x == low
        if high_unsure:
            check |= x == high
        fast = spec.fast
    interior = ~(clamp_zero | clamp_full)
    estimate = np.where(interior, estimate, 0.5)
    floor = np.floor(estimate)
    fraction = estimate - floor
    if fast:
        check |= interior & ((fraction < GUARD) | (fraction > 1 - GUARD))
    else:
        check |= interior
    return np.where(clamp_full, FULL, np.where(clamp_zero, 0, floor.astype(np.int64)))


def _by_distinct(data: _Column, exact: Callable[[Number], int]) -> npt.NDArray[np.int64]:
    """``exact`` once per distinct value (recency: day counts repeat across a population)."""
    import numpy as np  # noqa: PLC0415

    present = np.flatnonzero(data.present)
    result = np.zeros(len(data.present), dtype=np.int64)
    if not data.trusted:
        for index in present.tolist():
            result[index] = exact(data.exact(index))
        return result
    floats = data.floats[present]
    if len(floats) and np.all(floats == np.floor(floats)):
        low, high = int(floats.min()), int(floats.max())
        if high - low < _TABLE_LIMIT:  # whole numbers in a short range: a table, no sort
            offsets = (floats - low).astype(np.int64)
            table = np.zeros(high - low + 1, dtype=np.int64)
            used = np.flatnonzero(np.bincount(offsets))
            table[used] = [exact(low + offset) for offset in used.tolist()]
            result[present] = table[offsets]
            return result
    _, first, inverse = np.unique(floats, return_index=True, return_inverse=True)
    values = np.array(
        [exact(data.exact(int(present[position]))) for position in first.tolist()],
        dtype=np.int64,
    )
    result[present] = values[inverse]
    return result


def _percentile(plan: Plan, slot: int, data: _Column) -> npt.NDArray[np.int64]:
    """Ranks within the population, as `population_ranks` gives them."""
    import numpy as np  # noqa: PLC0415

    present = np.flatnonzero(data.present)
    result = np.zeros(len(data.present), dtype=np.int64)
    lower = plan.lower[slot]
    if not data.trusted:
        numbers = [data.exact(index) for index in present.tolist()]
        table = rank_table(sorted(numbers), lower)
        result[present] = [table[number] for number in numbers]
        return result
    values = data.floats[present]
    distinct, first, inverse, counts = np.unique(
        values, return_index=True, return_inverse=True, return_counts=True
    )
    del distinct, first
    count = len(values)
    starts = np.cumsum(counts) - counts  # how many values lie below each distinct one
    below = count - starts - counts if lower else starts
    equal = counts - 1
    others = count - 1
    if others == 0:
        ranks = np.full(len(counts), 50 * 10**6, dtype=np.int64)
    else:
        numerator = FULL * (2 * below + equal)
        denominator = 2 * others
        quotient, remainder = np.divmod(numerator, denominator)
        twice = 2 * remainder
        ranks = quotient + (
            (twice > denominator) | ((twice == denominator) & (quotient % 2 == 1))
        ).astype(np.int64)
    result[present] = ranks[inverse]
    return result


def _finish(
    plan: Plan, total: npt.NDArray[np.int64], mask: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Tenths and band per partner from the weighted sums, as the compact loop rounds them."""
    import numpy as np  # noqa: PLC0415

    if total.dtype == np.int64 and len(plan.specs) <= _TABLE_BITS:
        # Few measures: a table by mask, no sort.
        inverse = mask
        masks = np.arange(1 << len(plan.specs))
        used = set(np.flatnonzero(np.bincount(mask, minlength=len(masks))).tolist())
        infos = [plan.mask(m) if m in used else plan.mask(0) for m in masks.tolist()]
    else:
        masks, inverse = np.unique(mask, return_inverse=True)
        infos = [plan.mask(int(m)) for m in masks.tolist()]
    exact_type = total.dtype
    sufficient = np.array([info.sufficient for info in infos], dtype=bool)[inverse]
    extra = np.array([info.extra for info in infos], dtype=exact_type)[inverse]
    denominator = np.array([max(info.denominator, 1) for info in infos], dtype=exact_type)[inverse]
    summed = total + extra
    tenths = (20 * summed + denominator) // (2 * denominator)
    tenths = np.where(sufficient, tenths, -1).astype(np.int64)
    table = np.array(plan.band_table, dtype=np.int64)
    bands = np.where(sufficient, table[np.clip(tenths, 0, None)], -1)
    return tenths, bands


def _gates(
    plan: Plan,
    bands: npt.NDArray[np.int64],
    tenths: npt.NDArray[np.int64],
    column: Callable[[str], _Column | None],
) -> npt.NDArray[np.int64]:
    import numpy as np  # noqa: PLC0415

    for metric, compare, threshold, cap, when_missing in plan.gates:
        data = column(metric)
        if data is None:
            hit = np.full(len(bands), when_missing, dtype=bool)
        else:
            limit, inexact = _edge(threshold)
            hit = np.where(data.present, compare(data.floats, limit), when_missing)
            unsure = data.present & data.force
            if inexact:
                unsure |= data.present & (data.floats == limit)
            for index in np.flatnonzero(unsure).tolist():
                hit[index] = compare(data.exact(index), threshold)
        bands = np.where(hit & (tenths >= 0) & (cap < bands), cap, bands)
    return bands
