"""Backtests: did the score separate the partners that later churned from the rest?"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Final

import attrs

from partnerkit._base.checks import check_slug
from partnerkit.errors import ValidationError
from partnerkit.health._batch import ScoreBatch, score_batch
from partnerkit.health._kernel import EXACT, MICRO, Run, plan_of, round_half_even

if TYPE_CHECKING:
    from datetime import datetime

    from partnerkit.health._kernel import Plan
    from partnerkit.health._model import ScoringModel
    from partnerkit.metrics import MetricSnapshot

__all__ = [
    "Backtest",
    "BacktestBand",
    "BacktestComparison",
    "MeasureSeparation",
    "backtest",
    "compare",
    "mann_whitney_u",
]

_AUC_PLACES: Final = 6
_RATE_PLACES: Final = 4
_MEAN_PLACES: Final = 2


def _fixed(numerator: int, denominator: int, places: int) -> Decimal:
    """``numerator / denominator`` rounded half to even to ``places`` decimal places."""
    scaled = round_half_even(numerator * 10**places, denominator)
    return Decimal(scaled).scaleb(-places, context=EXACT)


def mann_whitney_u(higher: Sequence[object], lower: Sequence[object]) -> Decimal:
    """The Mann-Whitney U of ``higher`` against ``lower``: pairs where ``higher`` wins.

    Counts, over every pair of one value from each group, 1 when the ``higher``
    value is greater and 1/2 when they tie, by ranking both groups together (mid
    ranks for ties) in O(n log n).

    Returns:
        U as an exact Decimal (a whole or half number).
    """
    combined = sorted([(value, 1) for value in higher] + [(value, 0) for value in lower])
    twice_rank_sum = 0  # twice the rank sum of ``higher``, so mid ranks stay integers
    index = 0
    count = len(combined)
    while index < count:
        end = index
        group_higher = 0
        while end < count and combined[end][0] == combined[index][0]:
            group_higher += combined[end][1]
            end += 1
        # ranks index+1 .. end; their mid rank is (index + 1 + end) / 2
        twice_rank_sum += group_higher * (index + 1 + end)
        index = end
    size = len(higher)
    twice_u = twice_rank_sum - size * (size + 1)
    # twice_u is odd exactly when a half is left over: 2k + 1 halves make k.5
    return Decimal(5 * twice_u).scaleb(-1, context=EXACT) if twice_u % 2 else Decimal(twice_u // 2)


def _auc(kept: Sequence[object], lost: Sequence[object]) -> tuple[Decimal | None, Decimal | None]:
    if not kept or not lost:
        return None, None
    u = mann_whitney_u(kept, lost)
    twice_u = int(EXACT.multiply(u, 2))
    return _fixed(twice_u, 2 * len(kept) * len(lost), _AUC_PLACES), u


@attrs.frozen
class BacktestBand:
    """How often partners in one band had the event.

    Attributes:
        band: The band's name.
        partners: Partners scored into it (by computed band).
        events: Of them, how many had the event.
        rate: ``events / partners`` to four places (``None`` for an empty band).
    """

    band: str
    partners: int
    events: int
    rate: Decimal | None


@attrs.frozen
class MeasureSeparation:
    """How one measure's normalised values differ between the two groups.

    Only partners whose metric had data count.

    Attributes:
        measure: The measure's name.
        without_event: Partners without the event that had data.
        with_event: Partners with the event that had data.
        mean_without: Their mean normalised value (0..100, two places).
        mean_with: The same for partners with the event.
        difference: ``mean_without - mean_with``: positive when the measure is
            higher for partners that stayed, as a good measure should be.
        auc: The measure's own AUC (as for the score), ``None`` if a group is empty.
    """

    measure: str
    without_event: int
    with_event: int
    mean_without: Decimal | None
    mean_with: Decimal | None
    difference: Decimal | None
    auc: Decimal | None


@attrs.frozen
class Backtest:
    """A model's scores compared with what later happened to each partner.

    ``auc`` is the chance that a partner without the event scored higher than one
    with it, ties counting half: 1.0 separates perfectly, 0.5 is chance, below 0.5
    points the wrong way. It equals the Mann-Whitney U of the scores of the
    partners without the event against those with it, over the pairs.

    Attributes:
        model: The model's name.
        model_version: Its version.
        event: What the outcomes record, such as ``"churned"``.
        partners: Partners with both a score and an outcome.
        events: Of them, how many had the event.
        auc: Of the computed values of the scored partners (``None`` if one group
            is empty), to six places.
        u_statistic: The Mann-Whitney U behind it.
        bands: Event rates per computed band, worst band first.
        insufficient_partners: Partners without a number (insufficient data).
        insufficient_events: Of them, how many had the event.
        measures: Per measure, how it separates the groups.
        unmatched_snapshots: Snapshots without an outcome (left out).
        unmatched_outcomes: Outcomes without a snapshot (left out).
    """

    model: str
    model_version: int
    event: str
    partners: int
    events: int
    auc: Decimal | None
    u_statistic: Decimal | None
    bands: tuple[BacktestBand, ...]
    insufficient_partners: int
    insufficient_events: int
    measures: tuple[MeasureSeparation, ...]
    unmatched_snapshots: int = 0
    unmatched_outcomes: int = 0

    @property
    def event_rate(self) -> Decimal | None:
        """The event rate over every partner with an outcome and a score."""
        return _fixed(self.events, self.partners, _RATE_PLACES) if self.partners else None

    def to_records(self) -> list[dict[str, object]]:
        """Per band and per measure, as flat dicts for a DataFrame."""
        records: list[dict[str, object]] = [
            {
                "kind": "score",
                "name": "score",
                "partners": self.partners,
                "events": self.events,
                "rate": self.event_rate,
                "auc": self.auc,
            },
        ]
        records += [
            {
                "kind": "band",
                "name": band.band,
                "partners": band.partners,
                "events": band.events,
                "rate": band.rate,
                "auc": None,
            }
            for band in self.bands
        ]
        records += [
            {
                "kind": "measure",
                "name": item.measure,
                "partners": item.without_event + item.with_event,
                "events": item.with_event,
                "rate": None,
                "auc": item.auc,
                "mean_without": item.mean_without,
                "mean_with": item.mean_with,
                "difference": item.difference,
            }
            for item in self.measures
        ]
        return records

    def _repr_html_(self) -> str:
        from partnerkit.health._html import backtest_html  # noqa: PLC0415 - only notebooks need it

        return backtest_html(self)


def backtest(
    model: ScoringModel,
    snapshots: Iterable[MetricSnapshot] | Mapping[str, MetricSnapshot],
    outcomes: Mapping[str, bool],
    *,
    event: str = "churned",
    as_of: datetime | None = None,
) -> Backtest:
    """Score past snapshots and check the scores against what happened next.

    Args:
        model: The model to test.
        snapshots: Each partner's metrics at the start of the window; percentile
            measures rank within them.
        outcomes: Partner id to whether the event (churn, or any yes/no outcome)
            happened in the following window.
        event: What the outcomes record, for tables.
        as_of: The scoring instant (default: the latest snapshot's).

    Raises:
        ValidationError: If an outcome is not True or False, or no snapshot is given.
    """
    members = list(snapshots.values()) if isinstance(snapshots, Mapping) else list(snapshots)
    if not members:
        raise ValidationError.single("snapshots", "give at least one snapshot to backtest")
    for partner_id, outcome in outcomes.items():
        if not isinstance(outcome, bool):
            raise ValidationError.single(
                f"outcomes[{partner_id!r}]", f"expected True or False, got {outcome!r}"
            )
    check_slug(event, "event name")
    when = as_of if as_of is not None else max(snapshot.as_of for snapshot in members)
    batch = score_batch(model, members, as_of=when, explain=False)
    plan = plan_of(model)
    band_names = [band.name for band in model.bands]
    band_partners = [0] * len(band_names)
    band_events = [0] * len(band_names)
    kept: list[int] = []
    lost: list[int] = []
    insufficient = insufficient_events = 0
    matched: list[tuple[MetricSnapshot, bool]] = []
    ids = set()
    for snapshot, row in zip(members, batch.rows(), strict=True):
        ids.add(snapshot.partner_id)
        if snapshot.partner_id not in outcomes:
            continue
        outcome = outcomes[snapshot.partner_id]
        matched.append((snapshot, outcome))
        if row.computed_value is None:
            insufficient += 1
            insufficient_events += outcome
            continue
        (lost if outcome else kept).append(int(EXACT.multiply(row.computed_value, 10)))
        index = band_names.index(row.computed_band or "")
        band_partners[index] += 1
        band_events[index] += outcome
    auc, u = _auc(kept, lost)
    bands = tuple(
        BacktestBand(
            name,
            band_partners[index],
            band_events[index],
            _fixed(band_events[index], band_partners[index], _RATE_PLACES)
            if band_partners[index]
            else None,
        )
        for index, name in enumerate(band_names)
    )
    return Backtest(
        model=model.name,
        model_version=model.version,
        event=event,
        partners=len(kept) + len(lost),
        events=len(lost),
        auc=auc,
        u_statistic=u,
        bands=bands,
        insufficient_partners=insufficient,
        insufficient_events=insufficient_events,
        measures=_separations(plan, batch, matched),
        unmatched_snapshots=len(members) - len(matched),
        unmatched_outcomes=sum(1 for partner_id in outcomes if partner_id not in ids),
    )


def _separations(
    plan: Plan, batch: ScoreBatch, matched: list[tuple[MetricSnapshot, bool]]
) -> tuple[MeasureSeparation, ...]:
    count = len(plan.measures)
    kept: list[list[int]] = [[] for _ in range(count)]
    lost: list[list[int]] = [[] for _ in range(count)]
    run = Run(batch.currency)
    ranks = batch._deferred.ranks
    for snapshot, outcome in matched:
        micros, _raws, _mask = plan.evaluate(snapshot, ranks, run)
        for slot, micro in enumerate(micros):
            if micro is not None:
                (lost if outcome else kept)[slot].append(micro)
    result = []
    for slot, measure in enumerate(plan.measures):
        without, with_ = kept[slot], lost[slot]
        mean_without = _mean(without)
        mean_with = _mean(with_)
        difference = (
            EXACT.subtract(mean_without, mean_with)
            if mean_without is not None and mean_with is not None
            else None
        )
        auc, _u = _auc(without, with_)
        result.append(
            MeasureSeparation(
                measure.name, len(without), len(with_), mean_without, mean_with, difference, auc
            )
        )
    return tuple(result)


def _mean(micros: list[int]) -> Decimal | None:
    if not micros:
        return None
    return _fixed(sum(micros), len(micros) * MICRO, _MEAN_PLACES)


@attrs.frozen
class BacktestComparison:
    """Two backtests side by side: which model separates the groups better.

    Attributes:
        a: The first backtest (the baseline).
        b: The second (the challenger).
    """

    a: Backtest
    b: Backtest

    @property
    def same_population(self) -> bool:
        """Whether both ran on as many partners and events (comparable AUCs)."""
        return (self.a.partners, self.a.events) == (self.b.partners, self.b.events)

    @property
    def auc_difference(self) -> Decimal | None:
        """``b.auc - a.auc``: positive when the challenger separates better."""
        if self.a.auc is None or self.b.auc is None:
            return None
        return EXACT.subtract(self.b.auc, self.a.auc)

    @property
    def summary(self) -> str:
        """One sentence saying which model separates better, and by how much."""
        a, b = self.a, self.b
        name_a, name_b = f"{a.model} v{a.model_version}", f"{b.model} v{b.model_version}"
        difference = self.auc_difference
        if difference is None:
            return "No AUC to compare: a backtest had no partners in one of the groups."
        caveat = "" if self.same_population else " (on different populations: compare with care)"
        if not difference:
            return f"{name_a} and {name_b} separate equally well: AUC {a.auc}{caveat}."
        better, worse = (name_b, name_a) if difference > 0 else (name_a, name_b)
        best, other = (b.auc, a.auc) if difference > 0 else (a.auc, b.auc)
        return (
            f"{better} separates {a.event} partners better than {worse}: AUC "
            f"{_short(best)} against {_short(other)}{caveat}."
        )

    def to_records(self) -> list[dict[str, object]]:
        """Score AUC, event rate per band and per-measure AUC for both, as flat dicts."""
        records: list[dict[str, object]] = [
            {"row": "auc", "a": self.a.auc, "b": self.b.auc, "difference": self.auc_difference}
        ]
        for label, left, right in (
            ("rate", _band_rates(self.a), _band_rates(self.b)),
            ("measure_auc", _measure_aucs(self.a), _measure_aucs(self.b)),
        ):
            for name in [*left, *(key for key in right if key not in left)]:
                first, second = left.get(name), right.get(name)
                records.append(
                    {
                        "row": f"{label}:{name}",
                        "a": first,
                        "b": second,
                        "difference": EXACT.subtract(second, first)
                        if first is not None and second is not None
                        else None,
                    }
                )
        return records

    def _repr_html_(self) -> str:
        from partnerkit.health._html import comparison_html  # noqa: PLC0415 - only notebooks need it

        return comparison_html(self)


def _band_rates(test: Backtest) -> dict[str, Decimal | None]:
    return {band.band: band.rate for band in test.bands}


def _measure_aucs(test: Backtest) -> dict[str, Decimal | None]:
    return {item.measure: item.auc for item in test.measures}


def _short(value: Decimal | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def compare(a: Backtest, b: Backtest) -> BacktestComparison:
    """Put two backtests side by side (``a`` the baseline, ``b`` the challenger).

    Raises:
        ValidationError: If either is not a `Backtest`.
    """
    for name, item in (("a", a), ("b", b)):
        if not isinstance(item, Backtest):
            raise ValidationError.single(name, f"expected a Backtest, got {type(item).__name__}")
    return BacktestComparison(a, b)
