"""Metrics: named aggregates over the activity ledger, and the snapshots they make."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Final

import attrs

from partnerkit._checks import check_enum, check_slug
from partnerkit._errors import NotFoundError, Problems, ValidationError
from partnerkit._events import Scalar, check_scalars
from partnerkit._ids import check_id
from partnerkit._money import Money, check_currency
from partnerkit._time import Period, to_utc
from partnerkit.ledger import Activity, ActivityKind

if TYPE_CHECKING:
    from partnerkit._money import RateSource

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
        """Words for explanations: ``"in the trailing P12M"``, ``"this quarter"``."""
        if self.kind is WindowKind.ALL_TIME:
            return "to date"
        if self.kind is WindowKind.TRAILING:
            return f"in the trailing {self.period}"
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
            for name, value in self.values.items():
                if value is not None and type(value) not in (Money, Decimal, int):
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


# Aggregate codes as small ints: the inner loop compares ints, not enum members.
_SUM, _COUNT, _DISTINCT, _LATEST, _DAYS, _UNEXPIRED = range(6)
_CODES: Final = {
    Aggregate.SUM: _SUM,
    Aggregate.COUNT: _COUNT,
    Aggregate.DISTINCT_COUNT: _DISTINCT,
    Aggregate.LATEST: _LATEST,
    Aggregate.DAYS_SINCE_LAST: _DAYS,
    Aggregate.UNEXPIRED_COUNT: _UNEXPIRED,
}


class _Plan:
    """Definitions compiled for one as-of instant, shared by every partner in a batch."""

    __slots__ = ("as_of", "as_of_date", "by_kind", "definitions", "rates", "wildcard")

    def __init__(
        self,
        definitions: Sequence[MetricDefinition],
        as_of: datetime,
        rates: RateSource | None,
    ) -> None:
        names = [definition.name for definition in definitions]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValidationError.single(
                "definitions", f"metric names used twice: {', '.join(duplicates)}"
            )
        self.as_of = to_utc(as_of, "as_of")
        self.as_of_date = self.as_of.date()
        self.definitions = tuple(definitions)
        self.rates = rates
        # (slot, code, start, end, where items, attribute, currency)
        compiled = []
        for slot, definition in enumerate(definitions):
            start, end = definition.window.bounds(self.as_of)
            compiled.append(
                (
                    slot,
                    _CODES[definition.aggregate],
                    start,
                    end,
                    tuple(definition.where.items()),
                    definition.attribute,
                    definition.currency,
                )
            )
        kinds = {kind for definition in definitions for kind in definition.kinds}
        kinds |= {kind.value for kind in ActivityKind}
        self.wildcard = tuple(
            entry for entry, d in zip(compiled, definitions, strict=True) if not d.kinds
        )
        self.by_kind = {
            kind: tuple(
                entry
                for entry, definition in zip(compiled, definitions, strict=True)
                if not definition.kinds or kind in definition.kinds
            )
            for kind in kinds
        }

    def run(self, partner_id: str, activities: Iterable[Activity]) -> MetricSnapshot:
        count = len(self.definitions)
        totals: list[object] = [None] * count  # per slot: its running state
        latest_at: list[tuple[datetime, str] | None] = [None] * count
        by_kind = self.by_kind
        wildcard = self.wildcard
        as_of_date = self.as_of_date
        for activity in activities:
            at = activity.occurred_at
            for slot, code, start, end, where, attribute, currency in by_kind.get(
                activity.kind, wildcard
            ):
                if at > end or (start is not None and at < start):
                    continue
                if where:
                    attributes = activity.attributes
                    if any(attributes.get(key, _ABSENT) != wanted for key, wanted in where):
                        continue
                if code == _SUM:
                    value = activity.value
                    if value is not None:
                        totals[slot] = self._add(slot, totals[slot], value, currency, at)
                elif code == _COUNT:
                    totals[slot] = (totals[slot] or 0) + 1  # type: ignore[operator]
                elif code == _DISTINCT or (code == _UNEXPIRED and attribute is not None):
                    if code == _UNEXPIRED and not _unexpired(activity, as_of_date):
                        continue
                    if attribute in activity.attributes:
                        seen = totals[slot]
                        if seen is None:
                            seen = totals[slot] = set()
                        seen.add(activity.attributes[attribute])  # type: ignore[attr-defined]
                elif code == _UNEXPIRED:
                    if _unexpired(activity, as_of_date):
                        totals[slot] = (totals[slot] or 0) + 1  # type: ignore[operator]
                else:  # _LATEST and _DAYS: keep the most recent (ties: highest id)
                    if code == _LATEST and activity.value is None:
                        continue
                    key = (at, activity.id)
                    best = latest_at[slot]
                    if best is None or key > best:
                        latest_at[slot] = key
                        totals[slot] = activity
        return MetricSnapshot(partner_id, self.as_of, self._finish(totals))

    def _add(
        self,
        slot: int,
        total: object,
        value: Money | Decimal,
        currency: str | None,
        at: datetime,
    ) -> object:
        if type(value) is Decimal:
            if total is None:
                return value
            if type(total) is not Decimal:
                raise self._mixed(slot)
            return total + value
        assert isinstance(value, Money)  # noqa: S101 - activities hold Money, Decimal or None
        if currency is not None and value.currency != currency:
            value = self._convert(slot, value, currency, at)
        if total is None:
            return {value.currency: value.amount}
        if type(total) is not dict:
            raise self._mixed(slot)
        total[value.currency] = total.get(value.currency, 0) + value.amount
        return total

    def _convert(self, slot: int, value: Money, currency: str, at: datetime) -> Money:
        if self.rates is None:
            name = self.definitions[slot].name
            raise ValidationError.single(
                "rates",
                f"metric {name!r} reports in {currency} but an activity is in "
                f"{value.currency}; pass rates=... (a RateSource) to convert",
            )
        return value.convert(currency, self.rates, as_of=at)

    def _mixed(self, slot: int) -> ValidationError:
        name = self.definitions[slot].name
        return ValidationError.single(
            "activities",
            f"metric {name!r} adds money and plain numbers; narrow its kinds or where filter",
        )

    def _finish(self, totals: list[object]) -> dict[str, MetricValue]:
        values: dict[str, MetricValue] = {}
        for slot, definition in enumerate(self.definitions):
            state = totals[slot]
            code = _CODES[definition.aggregate]
            if code == _SUM:
                values[definition.name] = self._sum_result(definition, state)
            elif code in (_COUNT, _UNEXPIRED, _DISTINCT):
                if isinstance(state, set):
                    values[definition.name] = len(state)
                else:
                    values[definition.name] = state or 0  # type: ignore[assignment]
            elif state is None:
                values[definition.name] = None
            elif code == _LATEST:
                values[definition.name] = self._latest_value(definition, state)  # type: ignore[arg-type]
            else:
                last = state.occurred_at.date()  # type: ignore[attr-defined]
                values[definition.name] = (self.as_of_date - last).days
        return values

    @staticmethod
    def _sum_result(definition: MetricDefinition, state: object) -> MetricValue:
        if state is None or isinstance(state, Decimal):
            return state
        by_currency: dict[str, Decimal] = state  # type: ignore[assignment]
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

    def _latest_value(self, definition: MetricDefinition, activity: Activity) -> MetricValue:
        value = activity.value
        if (
            isinstance(value, Money)
            and definition.currency
            and value.currency != definition.currency
        ):
            slot = self.definitions.index(definition)
            return self._convert(slot, value, definition.currency, activity.occurred_at)
        return value


_ABSENT: Final = object()


def _check_owner(partner_id: str, activities: Iterable[Activity]) -> None:
    for activity in activities:
        if activity.partner_id != partner_id:
            raise ValidationError.single(
                "activities",
                f"activity {activity.id!r} belongs to {activity.partner_id!r}, "
                f"not {partner_id!r}; use compute_snapshots for several partners",
            )


def _unexpired(activity: Activity, as_of_date: date) -> bool:
    expires = activity.expires_on
    return expires is None or expires > as_of_date


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
        grouped: dict[str, list[Activity]] = {
            owner: list(items) for owner, items in activities.items()
        }
        for owner, items in grouped.items():
            _check_owner(owner, items)
    else:
        grouped = {}
        for activity in activities:
            bucket = grouped.get(activity.partner_id)
            if bucket is None:
                grouped[activity.partner_id] = [activity]
            else:
                bucket.append(activity)
    for owner in partner_ids:
        grouped.setdefault(check_id(owner, "partner_ids"), [])
    return {owner: plan.run(owner, items) for owner, items in grouped.items()}
