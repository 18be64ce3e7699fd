"""Scoring a whole population at once: eager or compact, with records and HTML."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple

from partnerkit._base.time import to_utc
from partnerkit.errors import ValidationError
from partnerkit.health._kernel import TENTH_DECIMALS, Run, cohort_values, plan_of
from partnerkit.health._model import ScoringModel
from partnerkit.health._score import (
    HealthScore,
    Override,
    ScoreStatus,
    _unique_snapshots,
    build_score,
    score_events,
)

if TYPE_CHECKING:
    from array import array
    from datetime import datetime
    from decimal import Decimal

    from partnerkit._base.events import Event
    from partnerkit.health._kernel import Plan, Ranks
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
    with ``explain=False`` holds only each partner's value and band (a few bytes
    each) and builds a partner's full `HealthScore`, contributions included,
    when asked for it; the numbers are the same either way.

    Attributes:
        model: The model that scored.
        as_of: The scoring instant.
        explained: Whether the full scores were built up front.
    """

    __slots__ = (
        "_bands",
        "_currency",
        "_history",
        "_index",
        "_overrides",
        "_plan",
        "_previous",
        "_ranks",
        "_scores",
        "_snapshots",
        "_tenths",
        "as_of",
        "explained",
        "model",
    )

    def __init__(
        self,
        plan: Plan,
        as_of: datetime,
        snapshots: list[MetricSnapshot],
        ranks: Ranks,
        currency: str | None,
        *,
        previous: Mapping[str, HealthScore],
        overrides: Mapping[str, Override],
        history: Mapping[str, Sequence[HealthScore]],
        scores: list[HealthScore] | None,
        tenths: array[int] | None,
        bands: array[int] | None,
    ) -> None:
        self._plan = plan
        self.model = plan.model
        self.as_of = as_of
        self._snapshots = snapshots
        self._ranks = ranks
        self._currency = currency
        self._previous = previous
        self._overrides = overrides
        self._history = history
        self._scores = scores
        self._tenths = tenths
        self._bands = bands
        self._index = {snapshot.partner_id: index for index, snapshot in enumerate(snapshots)}
        self.explained = scores is not None

    def __len__(self) -> int:
        return len(self._snapshots)

    def __contains__(self, partner_id: object) -> bool:
        return partner_id in self._index

    def __iter__(self) -> Iterator[HealthScore]:
        for index in range(len(self._snapshots)):
            yield self._score(index)

    def __getitem__(self, partner_id: str) -> HealthScore:
        index = self._index.get(partner_id)
        if index is None:
            raise ValidationError.single(
                "partner_id", f"{partner_id!r} is not in this batch of {len(self)} partners"
            )
        return self._score(index)

    @property
    def currency(self) -> str | None:
        """The currency the batch's money was in (``None`` if it read no money)."""
        return self._currency

    @property
    def partner_ids(self) -> tuple[str, ...]:
        """The partners, in the order they were scored."""
        return tuple(snapshot.partner_id for snapshot in self._snapshots)

    @property
    def scores(self) -> tuple[HealthScore, ...]:
        """Every partner's full score (built now for a compact batch)."""
        return tuple(self)

    def _score(self, index: int) -> HealthScore:
        if self._scores is not None:
            return self._scores[index]
        snapshot = self._snapshots[index]
        partner_id = snapshot.partner_id
        return build_score(
            self._plan,
            snapshot,
            self._ranks,
            Run(self._currency),
            self.as_of,
            previous=self._previous.get(partner_id),
            override=self._overrides.get(partner_id),
            history=self._history.get(partner_id, ()),
        )

    def rows(self) -> Iterator[ScoreRow]:
        """Each partner's value and band, cheaply: no contributions are built."""
        if self._scores is not None:
            for item in self._scores:
                yield ScoreRow(
                    item.partner_id,
                    item.status,
                    item.value,
                    item.band,
                    item.computed_value,
                    item.computed_band,
                    item.override is not None,
                )
            return
        assert self._tenths is not None  # noqa: S101 - narrows a type the code above guarantees
        assert self._bands is not None  # noqa: S101 - narrows a type the code above guarantees
        bands = self.model.bands
        overrides = self._overrides
        previous = self._previous
        as_of = self.as_of
        for snapshot, tenths, band_index in zip(
            self._snapshots, self._tenths, self._bands, strict=True
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
    if not isinstance(model, ScoringModel):
        raise ValidationError.single(
            "model", f"expected a ScoringModel, got {type(model).__name__}"
        )
    when = to_utc(as_of, "as_of")
    members = _unique_snapshots(snapshots)
    plan = plan_of(model)
    run = Run(model.currency)
    tables = cohort_values(plan, members, run)
    ranks: Ranks = tuple(
        tables[plan.metrics[slot]].table(plan.lower[slot]).__getitem__ if flag else None
        for slot, flag in enumerate(plan.percentile)
    )
    before = _by_partner(previous, "previous")
    new_overrides = dict(overrides or {})
    for partner_id, override in new_overrides.items():
        if not isinstance(override, Override):
            raise ValidationError.single(f"overrides[{partner_id!r}]", "expected an Override")
    earlier = dict(history or {})
    _check_override_bands(model, new_overrides, before, when)
    scores = None
    tenths = bands = None
    if explain:
        scores = [
            build_score(
                plan,
                snapshot,
                ranks,
                run,
                when,
                previous=before.get(snapshot.partner_id),
                override=new_overrides.get(snapshot.partner_id),
                history=earlier.get(snapshot.partner_id, ()),
            )
            for snapshot in members
        ]
    else:
        tenths, bands = plan.compact(members, ranks, run, when)
    return ScoreBatch(
        plan,
        when,
        members,
        ranks,
        run.currency,
        previous=before,
        overrides=new_overrides,
        history=earlier,
        scores=scores,
        tenths=tenths,
        bands=bands,
    )
