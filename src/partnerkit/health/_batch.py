"""Scoring a whole population at once: eager or compact, with records and HTML."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple

from partnerkit._base.time import to_utc
from partnerkit.errors import ValidationError
from partnerkit.health._kernel import (
    TENTH_DECIMALS,
    Run,
    counted_ranks,
    plan_of,
    population_ranks,
)
from partnerkit.health._model import ScoringModel
from partnerkit.health._score import (
    Deferred,
    HealthScore,
    Override,
    ScoreStatus,
    _unique_snapshots,
    score_events,
)

if TYPE_CHECKING:
    from datetime import datetime
    from decimal import Decimal

    from partnerkit._base.events import Event
    from partnerkit.health._kernel import Number
    from partnerkit.metrics import MetricSnapshot

__all__ = ["ScoreBatch", "ScoreRow", "score_batch"]


class ScoreRow(NamedTuple):
    """One partner's result in a batch, without the breakdown."""

    partner_id: str
    status: ScoreStatus
    value: Decimal | None
    band: str | None
    computed_value: Decimal | None
    computed_band: str | None
    overridden: bool


class ScoreBatch:
    """The scores of a population, in the order the snapshots came.

    Iterate it for `HealthScore` objects, index it by partner id, turn it into
    records with `to_records` for pandas, or look at it in Jupyter. A batch made
    with ``explain=False`` holds only each partner's value, band and which
    measures had data (a few bytes each) and builds a partner's `HealthScore`
    when asked for it; an explained batch holds every partner's `HealthScore`.
    Either way each score's contributions and fired gates are built from the
    batch when they are first read, and the numbers are exactly those `score`
    gives.

    Attributes:
        model: The model that scored.
        as_of: The scoring instant.
        explained: Whether the full scores were built up front.
    """

    __slots__ = (
        "_deferred",
        "_history",
        "_overrides",
        "_previous",
        "_scores",
        "as_of",
        "explained",
        "model",
    )

    def __init__(
        self,
        deferred: Deferred,
        *,
        previous: Mapping[str, HealthScore],
        overrides: Mapping[str, Override],
        history: Mapping[str, Sequence[HealthScore]],
        explain: bool,
    ) -> None:
        self._deferred = deferred
        self.model = deferred.plan.model
        self.as_of = deferred.as_of
        self._previous = previous
        self._overrides = overrides
        self._history = history
        self._scores: list[HealthScore] | None = None
        if explain:
            if previous or overrides or history:
                self._scores = [self._build(index) for index in range(len(deferred.snapshots))]
            else:
                self._scores = deferred.scores()
        self.explained = explain

    def __len__(self) -> int:
        return len(self._deferred.snapshots)

    def __contains__(self, partner_id: object) -> bool:
        return partner_id in self._deferred.index

    def __iter__(self) -> Iterator[HealthScore]:
        if self._scores is not None:
            yield from self._scores
            return
        for index in range(len(self)):
            yield self._build(index)

    def __getitem__(self, partner_id: str) -> HealthScore:
        index = self._deferred.index.get(partner_id)
        if index is None:
            raise ValidationError.single(
                "partner_id", f"{partner_id!r} is not in this batch of {len(self)} partners"
            )
        if self._scores is not None:
            return self._scores[index]
        return self._build(index)

    @property
    def currency(self) -> str | None:
        """The currency the batch's money was in (``None`` if it read no money)."""
        return self._deferred.currency

    @property
    def partner_ids(self) -> tuple[str, ...]:
        """The partners, in the order they were scored."""
        return tuple(self._deferred.index)

    @property
    def scores(self) -> tuple[HealthScore, ...]:
        """Every partner's full score (built now for a compact batch)."""
        return tuple(self)

    def _build(self, index: int) -> HealthScore:
        partner_id = self._deferred.snapshots[index].partner_id
        return self._deferred.score(
            index,
            previous=self._previous.get(partner_id),
            override=self._overrides.get(partner_id),
            history=self._history.get(partner_id, ()),
        )

    def rows(self) -> Iterator[ScoreRow]:
        """Each partner's value and band, cheaply: no contributions are built."""
        deferred = self._deferred
        bands = self.model.bands
        overrides = self._overrides
        previous = self._previous
        as_of = self.as_of
        for snapshot, tenths, band_index in zip(
            deferred.snapshots, deferred.tenths, deferred.bands, strict=True
        ):
            partner_id = snapshot.partner_id
            value = TENTH_DECIMALS[tenths] if tenths >= 0 else None
            band = bands[band_index].name if band_index >= 0 else None
            status = ScoreStatus.SCORED if tenths >= 0 else ScoreStatus.INSUFFICIENT_DATA
            override = overrides.get(partner_id)
            if override is None and partner_id in previous:
                override = previous[partner_id].override
            if override is None or not override.is_active(as_of):
                yield ScoreRow(partner_id, status, value, band, value, band, False)
                continue
            shown_value = override.value if override.value is not None else value
            shown_band = (
                self.model.band_for(override.value).name
                if override.value is not None
                else override.band
            )
            yield ScoreRow(partner_id, status, shown_value, shown_band, value, band, True)

    def band_counts(self) -> dict[str | None, int]:
        """How many partners show each band (``None``: insufficient data), best band first."""
        counts = Counter(row.band for row in self.rows())
        order = [band.name for band in reversed(self.model.bands)]
        result: dict[str | None, int] = {name: counts.get(name, 0) for name in order}
        if counts.get(None):
            result[None] = counts[None]
        return result

    def events(self) -> tuple[Event, ...]:
        """Every event the batch implies against the previous scores (`score_events`)."""
        found: list[Event] = []
        for item in self:
            found += score_events(item, self._previous.get(item.partner_id))
        return tuple(found)

    def to_records(
        self, *, measures: bool | None = None, floats: bool = False
    ) -> list[dict[str, object]]:
        """The batch as a list of flat dicts: ``pandas.DataFrame(batch.to_records())``.

        Args:
            measures: Add each measure's raw, normalized and points columns
                (`HealthScore.to_record`); by default only for an explained batch,
                as a compact batch would build every score to give them.
            floats: Give numbers as floats, for plotting; exact Decimals otherwise.
        """
        with_measures = self.explained if measures is None else measures
        if with_measures:
            return [item.to_record(floats=floats) for item in self]
        model = self.model
        records: list[dict[str, object]] = []
        for row in self.rows():
            value, computed = row.value, row.computed_value
            records.append(
                {
                    "partner_id": row.partner_id,
                    "as_of": self.as_of,
                    "model": model.name,
                    "model_version": model.version,
                    "status": row.status.value,
                    "value": float(value) if floats and value is not None else value,
                    "band": row.band,
                    "computed_value": (
                        float(computed) if floats and computed is not None else computed
                    ),
                    "computed_band": row.computed_band,
                    "overridden": row.overridden,
                }
            )
        return records

    def __repr__(self) -> str:
        kind = "explained" if self.explained else "compact"
        return (
            f"ScoreBatch({self.model.name!r} v{self.model.version}, {len(self)} partners, "
            f"{kind}, as of {self.as_of.isoformat()})"
        )

    def _repr_html_(self) -> str:
        from partnerkit.health._html import batch_html  # noqa: PLC0415 - only notebooks need it

        return batch_html(self)


def _by_partner(
    items: Mapping[str, HealthScore] | Iterable[HealthScore] | None, path: str
) -> dict[str, HealthScore]:
    if items is None:
        return {}
    if isinstance(items, Mapping):
        return dict(items)
    result = {}
    for index, item in enumerate(items):
        if not isinstance(item, HealthScore):
            raise ValidationError.single(f"{path}[{index}]", "expected a HealthScore")
        result[item.partner_id] = item
    return result


def _check_override_bands(
    model: ScoringModel,
    overrides: Mapping[str, Override],
    previous: Mapping[str, HealthScore],
    as_of: datetime,
) -> None:
    """Refuse an active band override naming a band the model lacks, before scoring."""
    names = {band.name for band in model.bands}
    chosen = {pid: item.override for pid, item in previous.items() if item.override is not None}
    chosen.update(overrides)
    for partner_id, override in chosen.items():
        if override.band is not None and override.band not in names and override.is_active(as_of):
            raise ValidationError.single(
                f"overrides[{partner_id!r}].band",
                f"{override.band!r} is not a band of model {model.name!r} "
                f"({', '.join(sorted(names))})",
            )


def score_batch(
    model: ScoringModel,
    snapshots: Iterable[MetricSnapshot] | Mapping[str, MetricSnapshot],
    *,
    as_of: datetime,
    previous: Mapping[str, HealthScore] | Iterable[HealthScore] | None = None,
    overrides: Mapping[str, Override] | None = None,
    history: Mapping[str, Sequence[HealthScore]] | None = None,
    explain: bool = True,
) -> ScoreBatch:
    """Score a whole population; percentile measures rank within it.

    Two paths give the same numbers:

    - ``explain=True`` (default) builds every partner's full `HealthScore` with
      its contributions now: right for thousands of partners.
    - ``explain=False`` computes only value and band per partner, and builds a
      partner's full score when it is asked for (``batch[partner_id]``,
      iteration, `ScoreBatch.to_records` with ``measures=True``): right for a
      million.

    Args:
        model: The scoring model.
        snapshots: One snapshot per partner (a list, or a dict by partner id).
        as_of: The scoring instant (no snapshot may be after it).
        previous: Each partner's last score (by partner id, or a list of scores).
        overrides: New overrides by partner id; others carry over from ``previous``.
        history: Earlier scores by partner id, for velocities.
        explain: Build contributions now (``True``) or on demand (``False``).

    Raises:
        ValidationError: For a partner given twice, a snapshot after ``as_of``, or
            money in two currencies.
    """
    return _score_population(
        model,
        snapshots,
        as_of=as_of,
        previous=previous,
        overrides=overrides,
        history=history,
        explain=explain,
        counts=None,
    )


def _score_population(
    model: ScoringModel,
    snapshots: Iterable[MetricSnapshot] | Mapping[str, MetricSnapshot],
    *,
    as_of: datetime,
    previous: Mapping[str, HealthScore] | Iterable[HealthScore] | None,
    overrides: Mapping[str, Override] | None,
    history: Mapping[str, Sequence[HealthScore]] | None,
    explain: bool,
    counts: tuple[Mapping[str, Mapping[Number, int]], str | None] | None,
) -> ScoreBatch:
    """`score_batch`, with percentile ranks from a larger population's value counts.

    ``counts`` (the values of each ranked metric with how often each occurs over
    the whole population, and their currency) lets one partition of a
    population be scored exactly as the whole population would score it.
    """
    if not isinstance(model, ScoringModel):
        raise ValidationError.single(
            "model", f"expected a ScoringModel, got {type(model).__name__}"
        )
    when = to_utc(as_of, "as_of")
    members, index = _unique_snapshots(snapshots)
    plan = plan_of(model)
    run = Run(model.currency)
    if counts is None:
        ranks = population_ranks(plan, members, run)
    else:
        if counts[1] is not None:
            run.adopt(counts[1], "counts", "the population")
        ranks = counted_ranks(plan, counts[0])
    before = _by_partner(previous, "previous")
    new_overrides = dict(overrides or {})
    for partner_id, override in new_overrides.items():
        if not isinstance(override, Override):
            raise ValidationError.single(f"overrides[{partner_id!r}]", "expected an Override")
    earlier = dict(history or {})
    _check_override_bands(model, new_overrides, before, when)
    arrays = plan.compact(members, ranks, run, when)
    deferred = Deferred(
        plan, when, members, index=index, ranks=ranks, currency=run.currency, arrays=arrays
    )
    return ScoreBatch(
        deferred, previous=before, overrides=new_overrides, history=earlier, explain=explain
    )
