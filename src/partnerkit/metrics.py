"""Metrics: named aggregates over the activity ledger, and the snapshots they make."""

from __future__ import annotations

import enum
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from operator import attrgetter
from typing import TYPE_CHECKING, Final, cast

import attrs

from partnerkit._base.checks import check_enum, check_slug, repeated
from partnerkit._base.events import Scalar, check_scalars
from partnerkit._base.frozen import freeze
from partnerkit._base.ids import check_id
from partnerkit._base.money import NUMBER_LIMIT, Money, check_currency, check_number
from partnerkit._base.time import Period, to_utc
from partnerkit.errors import NotFoundError, Problems, ValidationError

if TYPE_CHECKING:
    from partnerkit._base.money import RateSource
    from partnerkit.ledger import Activity

__all__ = [
    "Aggregate",
    "MetricDefinition",
    "MetricSnapshot",
    "MetricValue",
    "Window",
    "WindowKind",
    "compute_snapshot",
    "compute_snapshots",
]

#: A metric's value: money, a number, a count, or ``None`` for "no data".
MetricValue = Money | Decimal | int | None

_TICK: Final = timedelta(microseconds=1)
_LIMIT: Final = NUMBER_LIMIT
_MIN_EXPONENT: Final = -9


class Aggregate(enum.StrEnum):
    """How a metric folds the matching activities into one value.

    ``sum``, ``latest`` and ``days_since_last`` give ``None`` when nothing matches
    ("no data", distinct from zero); the counts give 0.
    """

    SUM = "sum"
    """Total of the activities' values (Money or numbers)."""
    COUNT = "count"
    """How many activities match."""
    DISTINCT_COUNT = "distinct_count"
    """How many different values of ``attribute`` the matching activities have."""
    LATEST = "latest"
    """The value of the most recent matching activity that has one."""
    DAYS_SINCE_LAST = "days_since_last"
    """Whole days from the most recent matching activity to the as-of date."""
    UNEXPIRED_COUNT = "unexpired_count"
    """Matching activities not expired on the as-of date (distinct ``attribute``
    values, if one is named: "certified people")."""


class WindowKind(enum.StrEnum):
    """Which stretch of time a metric looks at."""

    ALL_TIME = "all_time"
    TRAILING = "trailing"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"
    FISCAL_YEAR = "fiscal_year"


_MONTHS_PER: Final = {
    WindowKind.MONTH: 1,
    WindowKind.QUARTER: 3,
    WindowKind.YEAR: 12,
    WindowKind.FISCAL_YEAR: 12,
}


@attrs.frozen
class Window:
    """The time window of a metric, relative to the snapshot's as-of instant.

    Windows are closed intervals in UTC that end at the as-of instant:

    - ``Window.trailing("P12M")``: the 12 months up to and including as-of;
    - ``Window.quarter()``: quarter to date; ``Window.quarter(complete=True)``: the
      last complete quarter (likewise ``month`` and ``year``);
    - ``Window.fiscal_year(first_month=4)``: fiscal year to date, the year starting
      on 1 April;
    - ``Window.all_time()``: everything up to as-of (the default).

    Activities after the as-of instant never count, so a snapshot can be replayed
    for any past date.
    """

    kind: WindowKind = WindowKind.ALL_TIME
    period: Period | None = None
    complete: bool = False
    first_month: int = 1

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        kind = problems.check("kind", check_enum, WindowKind, self.kind)
        object.__setattr__(self, "kind", kind)
        if kind is WindowKind.TRAILING:
            if not isinstance(self.period, Period) or self.period.is_zero():
                problems.add("period", "a trailing window needs a period such as 'P12M'")
            elif any(part < 0 for part in self.period._parts()):
                problems.add("period", "a trailing window needs a positive period")
        elif self.period is not None:
            problems.add("period", "only trailing windows have a period")
        if kind in (WindowKind.ALL_TIME, WindowKind.TRAILING) and self.complete:
            problems.add("complete", "only calendar and fiscal windows can be complete")
        if isinstance(self.first_month, bool) or self.first_month not in range(1, 13):
            problems.add("first_month", "expected a month number from 1 to 12")
        elif kind is not WindowKind.FISCAL_YEAR and self.first_month != 1:
            problems.add("first_month", "only fiscal-year windows have a first month")
        problems.raise_if_any()

    @classmethod
    def all_time(cls) -> Window:
        """Everything up to the as-of instant."""
        return cls()

    @classmethod
    def trailing(cls, period: Period | str) -> Window:
        """The ``period`` (``"P12M"``, ``"90 days"``) up to and including as-of."""
        return cls(WindowKind.TRAILING, Period.parse(period) if isinstance(period, str) else period)

    @classmethod
    def month(cls, *, complete: bool = False) -> Window:
        """Month to date, or the last complete month."""
        return cls(WindowKind.MONTH, complete=complete)

    @classmethod
    def quarter(cls, *, complete: bool = False) -> Window:
        """Calendar quarter to date, or the last complete quarter."""
        return cls(WindowKind.QUARTER, complete=complete)

    @classmethod
    def year(cls, *, complete: bool = False) -> Window:
        """Calendar year to date, or the last complete year."""
        return cls(WindowKind.YEAR, complete=complete)

    @classmethod
    def fiscal_year(cls, first_month: int, *, complete: bool = False) -> Window:
        """Fiscal year to date (starting on the 1st of ``first_month``), or the last one."""
        return cls(WindowKind.FISCAL_YEAR, complete=complete, first_month=first_month)

    def bounds(self, as_of: datetime) -> tuple[datetime | None, datetime]:
        """The first and last instants (both included) the window covers at ``as_of``.

        The first is ``None`` for an all-time window.
        """
        end = to_utc(as_of, "as_of")
        kind = self.kind
        if kind is WindowKind.ALL_TIME:
            return None, end
        if kind is WindowKind.TRAILING:
            assert self.period is not None  # noqa: S101 - checked at construction
            return end - self.period, end
        months = _MONTHS_PER[kind]
        anchor = self.first_month - 1 if kind is WindowKind.FISCAL_YEAR else 0
        index = end.year * 12 + end.month - 1 - anchor
        start_index = index - index % months + anchor
        start = datetime(start_index // 12, start_index % 12 + 1, 1, tzinfo=UTC)
        if not self.complete:
            return start, end
        previous_index = start_index - months
        previous = datetime(previous_index // 12, previous_index % 12 + 1, 1, tzinfo=UTC)
        return previous, start - _TICK

    def describe(self) -> str:
        """Words for explanations: ``"in the trailing 12 months"``, ``"this quarter to date"``."""
        if self.kind is WindowKind.ALL_TIME:
            return "to date"
        if self.kind is WindowKind.TRAILING:
            assert self.period is not None  # noqa: S101 - checked at construction
            return f"in the trailing {self.period.describe()}"
        unit = "fiscal year" if self.kind is WindowKind.FISCAL_YEAR else self.kind.value
        return f"in the last complete {unit}" if self.complete else f"this {unit} to date"


@attrs.frozen
class MetricDefinition:
    """A named aggregate over the ledger, such as revenue in the trailing 12 months.

    Attributes:
        name: A lowercase slug; the key in snapshots, tier requirements and scores.
        aggregate: How matching activities fold into one value.
        kinds: Activity kinds that count (empty: every kind).
        where: Attribute values an activity must have: ``{"region": "EMEA"}``.
        attribute: The attribute to count distinct values of (``distinct_count``;
            optional for ``unexpired_count``).
        window: The time window (all time by default).
        currency: For money metrics: report in this currency, converting other
            currencies through the ``rates`` given to `compute_snapshot`.

    Example::

        MetricDefinition(
            "revenue_12m", Aggregate.SUM, kinds=("revenue_booked",),
            window=Window.trailing("P12M"), currency="USD",
        )
    """

    name: str
    aggregate: Aggregate
    kinds: tuple[str, ...] = ()
    where: dict[str, Scalar] = attrs.field(factory=dict)
    attribute: str | None = None
    window: Window = attrs.field(factory=Window)
    currency: str | None = None

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        problems.check("name", check_slug, self.name, "metric name")
        aggregate = problems.check("aggregate", check_enum, Aggregate, self.aggregate)
        object.__setattr__(self, "aggregate", aggregate)
        if isinstance(self.kinds, str) or not isinstance(self.kinds, Iterable):
            problems.add("kinds", "expected a list of activity kinds")
        else:
            kinds = tuple(self.kinds)
            for index, kind in enumerate(kinds):
                problems.check(f"kinds[{index}]", check_slug, kind, "activity kind")
            object.__setattr__(self, "kinds", kinds)
        object.__setattr__(self, "where", check_scalars(self.where, problems, "where"))
        if self.attribute is not None:
            problems.check("attribute", check_slug, self.attribute, "attribute name")
        if aggregate is Aggregate.DISTINCT_COUNT and self.attribute is None:
            problems.add("attribute", "distinct_count needs the attribute to count")
        if aggregate not in (Aggregate.DISTINCT_COUNT, Aggregate.UNEXPIRED_COUNT) and (
            self.attribute is not None
        ):
            problems.add("attribute", "only distinct_count and unexpired_count use an attribute")
        if not isinstance(self.window, Window):
            problems.add("window", "expected a Window such as Window.trailing('P12M')")
        if self.currency is not None:
            code = problems.check("currency", check_currency, self.currency, "")
            object.__setattr__(self, "currency", code)
            if aggregate not in (Aggregate.SUM, Aggregate.LATEST):
                problems.add("currency", "only sum and latest metrics have a currency")
        problems.raise_if_any()


@attrs.frozen
class MetricSnapshot:
    """A partner's metric values as of one instant: what tiers and health scores read.

    ``None`` means "no data" and is kept distinct from zero.

    Attributes:
        partner_id: Whose metrics.
        as_of: The instant they were computed for (aware, UTC).
        values: Metric name to value.
    """

    partner_id: str
    as_of: datetime
    values: dict[str, MetricValue] = attrs.field(factory=dict)

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        problems.check("partner_id", check_id, self.partner_id, "")
        object.__setattr__(self, "as_of", problems.check("as_of", to_utc, self.as_of, ""))
        if not isinstance(self.values, dict):
            problems.add("values", "expected a dict of metric name to value")
        else:
            object.__setattr__(self, "values", freeze(self.values))
            for name, value in self.values.items():
                kind = type(value)
                if value is None or kind is Money or (kind is int and -_LIMIT < value < _LIMIT):
                    continue
                if kind is Decimal:
                    number = cast("Decimal", value)
                    if (
                        number.is_finite()  # comparing a NaN would raise
                        and -_LIMIT < number < _LIMIT
                        and number.as_tuple().exponent >= _MIN_EXPONENT  # type: ignore[operator]
                    ):
                        continue
                if kind in (Decimal, int):
                    # Out-of-range numbers are refused before anything computes with them.
                    problems.check(f"values[{name!r}]", check_number, value, "")
                else:
                    problems.add(
                        f"values[{name!r}]",
                        f"expected Money, Decimal, int or None, got {type(value).__name__}",
                    )
        problems.raise_if_any()

    def __getitem__(self, name: str) -> MetricValue:
        try:
            return self.values[name]
        except KeyError:
            known = ", ".join(sorted(self.values)) or "none"
            raise NotFoundError("metric", name, f"the snapshot has: {known}") from None

    def get(self, name: str) -> MetricValue:
        """The value of metric ``name``, or ``None`` if absent or without data."""
        return self.values.get(name)


_BY_TIME: Final = attrgetter("occurred_at")


@attrs.frozen
class _Compiled:
    """One definition compiled for an as-of instant: its window bounds resolved."""

    definition: MetricDefinition
    kinds: tuple[str, ...] | None
    start: datetime | None
    end: datetime
    where: tuple[tuple[str, Scalar], ...]


class _Plan:
    """Definitions compiled for one as-of instant, shared by every partner in a batch.

    For each partner the activities are grouped by kind and sorted by time once;
    each definition then finds its window in the kinds it reads by bisection, so a
    count is two binary searches and only sums, distinct counts and filters visit
    the activities inside the window.
    """

    __slots__ = ("as_of", "as_of_date", "compiled", "definitions", "rates")

    def __init__(
        self,
        definitions: Sequence[MetricDefinition],
        as_of: datetime,
        rates: RateSource | None,
    ) -> None:
        duplicates = repeated(definition.name for definition in definitions)
        if duplicates:
            raise ValidationError.single(
                "definitions", f"metric names used twice: {', '.join(duplicates)}"
            )
        self.as_of = to_utc(as_of, "as_of")
        self.as_of_date = self.as_of.date()
        self.definitions = tuple(definitions)
        self.rates = rates
        self.compiled = tuple(
            _Compiled(
                definition,
                tuple(dict.fromkeys(definition.kinds)) or None,
                *definition.window.bounds(self.as_of),
                tuple(definition.where.items()),
            )
            for definition in definitions
        )

    def run(self, partner_id: str, activities: Iterable[Activity]) -> MetricSnapshot:
        groups: dict[str, list[Activity]] = {}
        for activity in activities:
            bucket = groups.get(activity.kind)
            if bucket is None:
                groups[activity.kind] = [activity]
            else:
                bucket.append(activity)
        return self.run_grouped(partner_id, groups)

    def run_grouped(self, partner_id: str, groups: dict[str, list[Activity]]) -> MetricSnapshot:
        """`run` on activities already grouped by kind (the lists are sorted in place)."""
        for bucket in groups.values():
            bucket.sort(key=_BY_TIME)
        values: dict[str, MetricValue] = {}
        for compiled in self.compiled:
            if compiled.kinds is None:
                buckets: Iterable[list[Activity]] = groups.values()
            else:
                buckets = [groups[kind] for kind in compiled.kinds if kind in groups]
            start, end = compiled.start, compiled.end
            windows = []
            for bucket in buckets:
                low = 0 if start is None else bisect_left(bucket, start, key=_BY_TIME)
                high = bisect_right(bucket, end, lo=low, key=_BY_TIME)
                if low < high:
                    windows.append((bucket, low, high))
            values[compiled.definition.name] = self._aggregate(compiled, windows)
        return MetricSnapshot(partner_id, self.as_of, values)

    def _aggregate(
        self, compiled: _Compiled, windows: list[tuple[list[Activity], int, int]]
    ) -> MetricValue:
        aggregate = compiled.definition.aggregate
        where = compiled.where
        if aggregate is Aggregate.COUNT and not where:
            return sum(high - low for _, low, high in windows)
        matching: Iterable[Activity] = (
            activity for bucket, low, high in windows for activity in bucket[low:high]
        )
        if where:
            matching = [
                activity
                for activity in matching
                if all(activity.attributes.get(key, _ABSENT) == wanted for key, wanted in where)
            ]
        if aggregate is Aggregate.COUNT:
            return sum(1 for _ in matching)
        if aggregate is Aggregate.SUM:
            return self._sum(compiled.definition, matching)
        attribute = compiled.definition.attribute
        if aggregate is Aggregate.UNEXPIRED_COUNT:
            today = self.as_of_date
            matching = [a for a in matching if a.expires_on is None or a.expires_on > today]
            if attribute is None:
                return len(matching)
        if attribute is not None:  # distinct_count, or unexpired_count of people
            return len({a.attributes[attribute] for a in matching if attribute in a.attributes})
        with_value = aggregate is Aggregate.LATEST
        if where:
            last = max(
                (a for a in matching if not with_value or a.value is not None),
                key=lambda a: (a.occurred_at, a.id),
                default=None,
            )
        else:
            last = _latest(windows, with_value=with_value)
        if last is None:
            return None
        if aggregate is Aggregate.DAYS_SINCE_LAST:
            return (self.as_of_date - last.occurred_at.date()).days
        value = last.value
        currency = compiled.definition.currency
        if isinstance(value, Money) and currency and value.currency != currency:
            return self._convert(compiled.definition, value, currency, last.occurred_at)
        return value

    def _sum(self, definition: MetricDefinition, matching: Iterable[Activity]) -> MetricValue:
        numbers: Decimal | None = None
        by_currency: dict[str, Decimal] = {}
        target = definition.currency
        for activity in matching:
            value = activity.value
            if value is None:
                continue
            if type(value) is Decimal:
                numbers = value if numbers is None else numbers + value
                continue
            money: Money = value  # type: ignore[assignment]
            if target is not None and money.currency != target:
                money = self._convert(definition, money, target, activity.occurred_at)
            by_currency[money.currency] = by_currency.get(money.currency, 0) + money.amount
        if numbers is not None and by_currency:
            raise ValidationError.single(
                "activities",
                f"metric {definition.name!r} adds money and plain numbers; narrow its "
                f"kinds or where filter",
            )
        if numbers is not None:
            return numbers
        if not by_currency:
            return None
        if len(by_currency) > 1:
            found = sorted(by_currency)
            raise ValidationError.single(
                "currency",
                f"metric {definition.name!r} adds {' and '.join(found)}; set "
                f"currency={found[0]!r} (or another) on its definition and pass rates= "
                f"to convert",
            )
        ((code, amount),) = by_currency.items()
        return Money._trusted(amount, code)

    def _convert(
        self, definition: MetricDefinition, value: Money, currency: str, at: datetime
    ) -> Money:
        if self.rates is None:
            raise ValidationError.single(
                "rates",
                f"metric {definition.name!r} reports in {currency} but an activity is in "
                f"{value.currency}; pass rates=... (a RateSource) to convert",
            )
        return value.convert(currency, self.rates, as_of=at)


def _latest(windows: list[tuple[list[Activity], int, int]], *, with_value: bool) -> Activity | None:
    """The most recent activity in the windows (the highest id among equal instants).

    Buckets are sorted by time, so only each window's tail needs a look.
    """
    best: Activity | None = None
    for bucket, low, high in windows:
        for index in range(high - 1, low - 1, -1):
            activity = bucket[index]
            if with_value and activity.value is None:
                continue
            if best is not None and activity.occurred_at < best.occurred_at:
                break
            if best is None or (activity.occurred_at, activity.id) > (best.occurred_at, best.id):
                best = activity
    return best


_ABSENT: Final = object()


def _check_owner(partner_id: str, activities: Iterable[Activity]) -> None:
    for activity in activities:
        if activity.partner_id != partner_id:
            raise ValidationError.single(
                "activities",
                f"activity {activity.id!r} belongs to {activity.partner_id!r}, "
                f"not {partner_id!r}; use compute_snapshots for several partners",
            )


def compute_snapshot(
    definitions: Sequence[MetricDefinition],
    activities: Iterable[Activity],
    as_of: datetime,
    *,
    partner_id: str | None = None,
    rates: RateSource | None = None,
) -> MetricSnapshot:
    """Compute one partner's metrics as of ``as_of`` from its activities.

    Activities after ``as_of`` are ignored, so any past date can be replayed.

    Args:
        definitions: The metrics to compute; names must be unique.
        activities: One partner's activities, in any order.
        as_of: The instant the snapshot is for (aware).
        partner_id: Whose snapshot; needed when ``activities`` is empty, and checked
            against every activity otherwise.
        rates: Converts money into a definition's ``currency``.

    Raises:
        ValidationError: For activities of another partner, money that needs rates
            that were not given, or money and plain numbers in one sum.
        CurrencyMismatchError: When a sum without a ``currency`` meets two currencies.
    """
    items = activities if isinstance(activities, (list, tuple)) else list(activities)
    owner = partner_id if partner_id is not None else (items[0].partner_id if items else None)
    if owner is None:
        raise ValidationError.single(
            "partner_id", "no activities to tell whose snapshot this is; pass partner_id="
        )
    _check_owner(check_id(owner, "partner_id"), items)
    return _Plan(definitions, as_of, rates).run(owner, items)


def compute_snapshots(
    definitions: Sequence[MetricDefinition],
    activities: Iterable[Activity] | Mapping[str, Iterable[Activity]],
    as_of: datetime,
    *,
    partner_ids: Iterable[str] = (),
    rates: RateSource | None = None,
) -> dict[str, MetricSnapshot]:
    """Compute the metrics of a whole population in one pass.

    Args:
        definitions: The metrics to compute.
        activities: Everyone's activities in any order, or already grouped as
            ``{partner_id: activities}``.
        as_of: The instant the snapshots are for.
        partner_ids: Partners to include even if they have no activity (their
            counts are 0 and their sums ``None``).
        rates: Converts money into a definition's ``currency``.

    Returns:
        Partner id to snapshot, for every partner seen or named.
    """
    plan = _Plan(definitions, as_of, rates)
    if isinstance(activities, Mapping):
        snapshots = {}
        for owner, items in activities.items():
            listed = list(items)
            _check_owner(owner, listed)
            snapshots[owner] = plan.run(owner, listed)
    else:
        # One pass groups by partner and kind at once: the hot loop of a batch.
        grouped: dict[str, dict[str, list[Activity]]] = {}
        for activity in activities:
            kinds = grouped.get(activity.partner_id)
            if kinds is None:
                grouped[activity.partner_id] = {activity.kind: [activity]}
                continue
            bucket = kinds.get(activity.kind)
            if bucket is None:
                kinds[activity.kind] = [activity]
            else:
                bucket.append(activity)
        snapshots = {owner: plan.run_grouped(owner, kinds) for owner, kinds in grouped.items()}
    for owner in partner_ids:
        if owner not in snapshots:
            snapshots[check_id(owner, "partner_ids")] = plan.run(owner, ())
    return snapshots
