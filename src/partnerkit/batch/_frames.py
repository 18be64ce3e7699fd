"""Pure functions over pandas record batches: ledger rows to snapshots, scores and decisions.

Every function here takes one partition of a population (all of some partners'
rows, none of anyone else's) and returns a new frame; none keeps state between
calls or reads anything but its arguments. That is what lets Dask, Spark or a
plain loop run them over a population one partition at a time. The one thing a
partition cannot know alone, the population that percentile measures rank
within, travels as `RankCounts`, summed over every partition first.

pandas is imported when a function is first called (``pip install partnerkit[dask]``).
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Final

from partnerkit._base.money import Money
from partnerkit.errors import ValidationError
from partnerkit.health._batch import _score_population
from partnerkit.health._kernel import Run, _population_numbers, plan_of
from partnerkit.ledger import Activity
from partnerkit.metrics import MetricSnapshot, compute_snapshots
from partnerkit.tiers._review import review

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    import pandas as pd
    import pyarrow as pa

    from partnerkit._base.money import RateSource
    from partnerkit.health._kernel import Number
    from partnerkit.health._model import ScoringModel
    from partnerkit.metrics import MetricDefinition, MetricValue
    from partnerkit.tiers._membership import Membership
    from partnerkit.tiers._model import Program

__all__ = [
    "LEDGER_COLUMNS",
    "RankCounts",
    "activities_from_frame",
    "activity_frame",
    "ledger_schema",
    "rank_counts",
    "review_frame",
    "score_frame",
    "snapshot_frame",
    "snapshots_from_frame",
]

#: The columns of a ledger frame (and of a Parquet ledger), in order.
LEDGER_COLUMNS: Final = (
    "id",
    "partner_id",
    "kind",
    "occurred_at",
    "amount",
    "currency",
    "attributes",
    "expires_on",
)
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)  # the instant of counts' snapshots


def ledger_schema() -> pa.Schema:
    """The Arrow schema of a Parquet ledger, for ``frame.to_parquet(path, schema=...)``.

    ``amount`` is the value's exact decimal text (``"1250.00"``), ``currency`` its
    ISO code (null for a plain number), ``attributes`` a JSON object of flat
    values, ``expires_on`` a date; ``occurred_at`` is a UTC timestamp.
    """
    import pyarrow as pa  # noqa: PLC0415 - optional: the dask extra

    return pa.schema(
        [
            ("id", pa.string()),
            ("partner_id", pa.string()),
            ("kind", pa.string()),
            ("occurred_at", pa.timestamp("us", tz="UTC")),
            ("amount", pa.string()),
            ("currency", pa.string()),
            ("attributes", pa.string()),
            ("expires_on", pa.date32()),
        ]
    )


def activity_frame(activities: Iterable[Activity]) -> pd.DataFrame:
    """Activities as a ledger frame (`LEDGER_COLUMNS`), ready to write as Parquet."""
    import pandas as pd  # noqa: PLC0415 - optional: the dask extra

    rows: dict[str, list[Any]] = {name: [] for name in LEDGER_COLUMNS}
    for activity in activities:
        value = activity.value
        rows["id"].append(activity.id)
        rows["partner_id"].append(activity.partner_id)
        rows["kind"].append(activity.kind)
        rows["occurred_at"].append(activity.occurred_at)
        if isinstance(value, Money):
            rows["amount"].append(f"{value.amount:f}")
            rows["currency"].append(value.currency)
        else:
            rows["amount"].append(None if value is None else f"{value:f}")
            rows["currency"].append(None)
        attributes = activity.attributes
        rows["attributes"].append(json.dumps(attributes, sort_keys=True) if attributes else None)
        rows["expires_on"].append(activity.expires_on)
    frame = pd.DataFrame({name: pd.Series(values, dtype=object) for name, values in rows.items()})
    frame["occurred_at"] = pd.to_datetime(frame["occurred_at"], utc=True).dt.as_unit("us")
    return frame


_MISSING_TYPES: Final = frozenset({"NAType", "NaTType"})


def _missing(value: object) -> bool:
    """None, NaN (pandas' marker in float and string columns), NaT and pandas.NA."""
    if value is None:
        return True
    kind = type(value)
    if kind is float:
        return value != value  # noqa: PLR0124 - NaN is the one float unequal to itself
    return kind.__name__ in _MISSING_TYPES


def _amount(text: object, row: int) -> Decimal:
    if isinstance(text, float):
        raise ValidationError.single(
            f"amount[{row}]",
            f"{text!r} is a float; store amounts as exact decimal text or decimals",
        )
    try:
        amount = Decimal(text) if isinstance(text, Decimal | int) else Decimal(str(text))
    except InvalidOperation:
        raise ValidationError.single(f"amount[{row}]", f"{text!r} is not a number") from None
    return amount


def _day(value: object, row: int) -> date | None:
    if _missing(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    raise ValidationError.single(f"expires_on[{row}]", f"expected a date, got {value!r}")


def activities_from_frame(frame: pd.DataFrame) -> list[Activity]:
    """The activities a ledger frame holds, each validated as `Activity` validates it.

    Raises:
        ValidationError: For a missing column, a naive ``occurred_at``, an amount
            that is a float or not a number, or any field `Activity` refuses.
    """
    missing = [name for name in LEDGER_COLUMNS if name not in frame.columns]
    if missing:
        raise ValidationError.single(
            "frame", f"a ledger frame needs the columns {', '.join(missing)}"
        )
    when = frame["occurred_at"]
    if getattr(when.dtype, "tz", None) is None:
        raise ValidationError.single(
            "occurred_at", "expected timezone-aware instants (UTC); localise the column first"
        )
    # pandas builds the datetimes in C, already in UTC (datetime.UTC, as Activity wants).
    instants = when.dt.tz_convert("UTC").dt.to_pydatetime().tolist()
    amounts = frame["amount"]
    present = amounts.notna().tolist()
    currencies = frame["currency"].tolist()
    attributes = frame["attributes"]
    detailed = attributes.notna().tolist()
    columns = zip(
        frame["id"].tolist(),
        frame["partner_id"].tolist(),
        frame["kind"].tolist(),
        instants,
        present,
        amounts.tolist(),
        currencies,
        detailed,
        attributes.tolist(),
        frame["expires_on"].tolist(),
        strict=True,
    )
    activities: list[Activity] = []
    append = activities.append
    loads = json.loads
    for row, (
        ident,
        partner,
        kind,
        instant,
        has_amount,
        amount,
        currency,
        has_details,
        details,
        expires,
    ) in enumerate(columns):
        value: Money | Decimal | None = None
        if has_amount:
            number = _amount(amount, row)
            value = number if _missing(currency) else Money(number, currency)
        append(
            Activity(
                ident,
                partner,
                kind,
                instant,
                value,
                loads(details) if has_details else {},
                None if expires is None else _day(expires, row),
            )
        )
    return activities


def snapshot_frame(
    definitions: Sequence[MetricDefinition],
    activities: pd.DataFrame,
    as_of: datetime,
    *,
    rates: RateSource | None = None,
) -> pd.DataFrame:
    """Each partner's metrics from one partition of a ledger: `compute_snapshots` on a frame.

    Args:
        definitions: The metrics to compute.
        activities: A ledger frame holding every activity of the partners in it.
        as_of: The instant the snapshots are for.
        rates: Converts money into a definition's ``currency``.

    Returns:
        One row per partner seen (in order of first appearance): ``partner_id``,
        then one column per metric holding `Money`, ``Decimal``, ``int`` or ``None``.
    """
    snapshots = compute_snapshots(
        definitions, activities_from_frame(activities), as_of, rates=rates
    )
    names = [definition.name for definition in definitions]
    return _frame_of(list(snapshots.values()), names)


def _frame_of(snapshots: Sequence[MetricSnapshot], names: Sequence[str]) -> pd.DataFrame:
    import pandas as pd  # noqa: PLC0415

    data: dict[str, Any] = {
        "partner_id": pd.Series([s.partner_id for s in snapshots], dtype=object)
    }
    for name in names:
        data[name] = pd.Series([s.values.get(name) for s in snapshots], dtype=object)
    return pd.DataFrame(data)


def snapshots_from_frame(frame: pd.DataFrame, as_of: datetime) -> list[MetricSnapshot]:
    """The snapshots a snapshot frame holds (every column but ``partner_id`` is a metric)."""
    names = [name for name in frame.columns if name != "partner_id"]
    columns = [frame[name].tolist() for name in names]
    snapshots = []
    for row, partner_id in enumerate(frame["partner_id"].tolist()):
        values: dict[str, MetricValue] = {}
        for name, column in zip(names, columns, strict=True):
            value = column[row]
            values[name] = None if _missing(value) else value
        snapshots.append(MetricSnapshot(partner_id, as_of, values))
    return snapshots


class RankCounts:
    """How often each value of every percentile-ranked metric occurs in a population.

    Percentile measures rank a partner among the whole population, which no
    single partition sees. Count each partition with `rank_counts`, add the
    counts up (``sum(parts, RankCounts())`` or ``a + b``), and pass the total to
    `score_frame`: every partition then scores exactly as the whole would.

    Attributes:
        counts: Metric name to value to how many partners have it.
        currency: The currency of money values counted (``None`` if none).
    """

    __slots__ = ("counts", "currency")

    def __init__(
        self,
        counts: Mapping[str, Mapping[Number, int]] | None = None,
        currency: str | None = None,
    ) -> None:
        self.counts: dict[str, Counter[Number]] = {
            metric: Counter(values) for metric, values in (counts or {}).items()
        }
        self.currency = currency

    def __add__(self, other: RankCounts) -> RankCounts:
        if not isinstance(other, RankCounts):
            return NotImplemented
        if None not in (self.currency, other.currency) and self.currency != other.currency:
            raise ValidationError.single(
                "currency",
                f"one partition counted money in {self.currency} and another in "
                f"{other.currency}; convert the snapshots' money to one currency first",
            )
        merged = RankCounts(self.counts, self.currency or other.currency)
        for metric, values in other.counts.items():
            merged.counts.setdefault(metric, Counter()).update(values)
        return merged

    __radd__ = __add__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RankCounts):
            return NotImplemented
        return (self.counts, self.currency) == (other.counts, other.currency)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        sizes = ", ".join(f"{m}: {sum(v.values())}" for m, v in sorted(self.counts.items()))
        return f"RankCounts({sizes})"


def rank_counts(model: ScoringModel, snapshots: pd.DataFrame) -> RankCounts:
    """The values one partition holds for each metric ``model`` ranks by percentile.

    Raises:
        ValidationError: For money in two currencies, or a value that is not a number.
    """
    plan = plan_of(model)
    run = Run(model.currency)
    members = snapshots_from_frame(snapshots, _EPOCH)
    counts: dict[str, Counter[Number]] = {}
    for slot, flag in enumerate(plan.percentile):
        metric = plan.metrics[slot]
        if flag and metric not in counts:
            counts[metric] = Counter(_population_numbers(metric, members, run))
    return RankCounts(counts, run.currency)


def score_frame(
    model: ScoringModel,
    snapshots: pd.DataFrame,
    *,
    as_of: datetime,
    counts: RankCounts | None = None,
) -> pd.DataFrame:
    """Score one partition of a population: `score_batch` on a snapshot frame.

    Args:
        model: The scoring model.
        snapshots: A snapshot frame (`snapshot_frame`).
        as_of: The scoring instant.
        counts: The whole population's `RankCounts`, when the frame is one
            partition of it and the model has percentile measures; without it,
            percentiles rank within this frame alone.

    Returns:
        One row per partner, as ``ScoreBatch.to_records()`` gives: partner_id,
        as_of, model, model_version, status, value, band, computed_value,
        computed_band, overridden.
    """
    members = snapshots_from_frame(snapshots, as_of)
    population = None if counts is None else (counts.counts, counts.currency)
    batch = _score_population(
        model,
        members,
        as_of=as_of,
        previous=None,
        overrides=None,
        history=None,
        explain=False,
        counts=population,
    )
    records = [tuple(record.values()) for record in batch.to_records()]
    columns = [
        "partner_id",
        "as_of",
        "model",
        "model_version",
        "status",
        "value",
        "band",
        "computed_value",
        "computed_band",
        "overridden",
    ]
    return _table(records, columns, numeric={"model_version", "overridden"})


def _table(
    records: Sequence[tuple[Any, ...]], columns: Sequence[str], *, numeric: set[str]
) -> pd.DataFrame:
    """A frame whose text, Decimal and instant columns keep Python objects (None stays None)."""
    import pandas as pd  # noqa: PLC0415

    data = list(zip(*records, strict=True)) if records else [() for _ in columns]
    return pd.DataFrame(
        {
            name: pd.Series(values, dtype=None if name in numeric else object)
            for name, values in zip(columns, data, strict=True)
        }
    )


def review_frame(
    program: Program,
    memberships: Mapping[str, Membership],
    snapshots: pd.DataFrame,
    *,
    as_of: datetime,
    gaps: bool = False,
) -> pd.DataFrame:
    """Review one partition of a program's members: `review` on a snapshot frame.

    Only partners in ``snapshots`` with a membership are reviewed, so every
    partition reviews its own members and no other.

    Args:
        program: The program.
        memberships: Partner id to its membership of ``program`` (it may hold the
            whole population: each partition picks its own partners).
        snapshots: A snapshot frame computed with ``program.metrics``.
        as_of: The review instant.
        gaps: Add a ``gap`` column saying in words what each partner needs for
            the next tier (slower: it builds every decision's evidence).

    Returns:
        One row per decision: partner_id, program_id, as_of, outcome,
        current_tier_id, tier_id, qualifying_tier_id, effective_at,
        proposed_tier_id, failing_reviews, counted, changed (and gap).
    """
    import pandas as pd  # noqa: PLC0415

    members = snapshots_from_frame(snapshots, as_of)
    by_partner = {snapshot.partner_id: snapshot for snapshot in members}
    chosen = [memberships[pid] for pid in by_partner if pid in memberships]
    run = review(program, chosen, by_partner, as_of=as_of, evidence=gaps)
    columns = [
        "partner_id",
        "program_id",
        "as_of",
        "outcome",
        "current_tier_id",
        "tier_id",
        "qualifying_tier_id",
        "effective_at",
        "proposed_tier_id",
        "failing_reviews",
        "counted",
        "changed",
    ]
    records = [
        (
            d.partner_id,
            d.program_id,
            d.as_of,
            d.outcome.value,
            d.current_tier_id,
            d.tier_id,
            d.qualifying_tier_id,
            d.effective_at,
            d.proposed_tier_id,
            d.failing_reviews,
            d.counted,
            d.changed,
        )
        for d in run.decisions
    ]
    frame = _table(records, columns, numeric={"failing_reviews", "counted", "changed"})
    if gaps:
        frame["gap"] = pd.Series([decision.gap for decision in run.decisions], dtype=object)
    return frame
