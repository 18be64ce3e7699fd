"""Time: aware instants, injectable clocks, calendar periods and review cadences."""

from __future__ import annotations

import functools
import re
import threading
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Final, Protocol, overload, runtime_checkable

import attrs
from dateutil.parser import isoparse
from dateutil.relativedelta import relativedelta
from dateutil.rrule import rrule, rrulestr

from partnerkit.errors import ValidationError

if TYPE_CHECKING:
    from typing import Self

__all__ = [
    "Cadence",
    "Clock",
    "FixedClock",
    "Period",
    "SystemClock",
    "parse_date",
    "parse_datetime",
    "to_utc",
]

_NAIVE_HINT: Final = "attach a timezone, e.g. datetime(..., tzinfo=datetime.UTC)"


def to_utc(value: datetime, field: str = "value") -> datetime:
    """Return ``value`` as an aware datetime in UTC.

    Args:
        value: An aware datetime in any timezone.
        field: The field path named in the error.

    Raises:
        ValidationError: If ``value`` is naive or not a datetime.
    """
    if not isinstance(value, datetime):
        raise ValidationError.single(
            field, f"expected an aware datetime, got {type(value).__name__}"
        )
    offset = value.utcoffset()
    if offset is None:
        raise ValidationError.single(field, f"{value.isoformat()} has no timezone; {_NAIVE_HINT}")
    if value.tzinfo is UTC:
        return value
    return (value - offset).replace(tzinfo=UTC)


def parse_datetime(value: str | datetime, field: str = "value") -> datetime:
    """Read an ISO 8601 instant with an offset (``2026-03-01T09:30:00+02:00``) as UTC.

    Datetimes pass through `to_utc`. Strings are parsed with
    ``dateutil.parser.isoparse``; one without an offset is refused rather than
    guessed.

    Raises:
        ValidationError: Quoting the input, if it is not an ISO 8601 instant with an
            offset or ``Z``.
    """
    if isinstance(value, datetime):
        return to_utc(value, field)
    if not isinstance(value, str):
        raise ValidationError.single(
            field, f"expected an ISO 8601 datetime string, got {type(value).__name__}"
        )
    try:
        # The stdlib parser is several times faster and reads everything partnerkit
        # writes; isoparse covers the rest of ISO 8601.
        parsed = datetime.fromisoformat(value)
    except ValueError:
        try:
            parsed = isoparse(value)
        except (ValueError, OverflowError):
            raise ValidationError.single(
                field,
                f"{value!r} is not an ISO 8601 datetime; write it like '2026-03-01T09:30:00+00:00'",
            ) from None
    if parsed.utcoffset() is None:
        raise ValidationError.single(
            field, f"{value!r} has no UTC offset; add one, such as 'Z' or '+02:00'"
        )
    return to_utc(parsed, field)


def parse_date(value: str | date, field: str = "value") -> date:
    """Read an ISO 8601 calendar date (``2026-03-01``).

    Raises:
        ValidationError: Quoting the input, if it is not a plain ISO date.
    """
    if isinstance(value, datetime):
        raise ValidationError.single(
            field, "expected a date, got a datetime; pass value.date() if you mean its day"
        )
    if isinstance(value, date):
        return value
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValidationError.single(field, f"{value!r} is not an ISO 8601 date like '2026-03-01'")


def _utc_at(value: datetime) -> datetime:
    return to_utc(value, "at")


def _utc_anchor(value: datetime) -> datetime:
    return to_utc(value, "anchor")


@runtime_checkable
class Clock(Protocol):
    """Where partnerkit gets "now" from; inject one so time is testable."""

    def now(self) -> datetime:
        """The current instant, aware and in UTC."""
        ...


@attrs.frozen
class SystemClock:
    """The real clock: `now` reads the system time in UTC."""

    def now(self) -> datetime:
        """The current system time in UTC."""
        return datetime.now(UTC)


@attrs.define
class FixedClock:
    """A clock that stands still until told to move: for tests and replays.

    Args:
        at: The instant it shows; must be aware.
    """

    _at: datetime = attrs.field(alias="at", converter=_utc_at)
    _lock: threading.Lock = attrs.field(factory=threading.Lock, init=False, repr=False, eq=False)

    def now(self) -> datetime:
        """The instant the clock is set to."""
        return self._at

    def set(self, at: datetime) -> None:
        """Move the clock to ``at`` (forwards or backwards)."""
        with self._lock:
            self._at = to_utc(at, "at")

    def advance(self, by: Period | timedelta) -> datetime:
        """Move the clock forwards by ``by`` and return the new instant."""
        with self._lock:
            self._at = self._at + by
            return self._at


_ISO_DURATION: Final = re.compile(
    r"(?P<sign>[-+])?P(?!$)"
    r"(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?",
)
_WORDS: Final = re.compile(r"(?P<count>-?\d+)\s*(?P<unit>[a-z]+)")
_UNITS: Final = {
    "year": ("years", 1),
    "quarter": ("months", 3),
    "month": ("months", 1),
    "week": ("weeks", 1),
    "day": ("days", 1),
    "hour": ("hours", 1),
    "minute": ("minutes", 1),
    "second": ("seconds", 1),
}
_PERIOD_HINT: Final = (
    "use an ISO 8601 duration such as 'P90D', 'P3M' or 'P1Y2M', or words such as "
    "'90 days', '3 months', '1 quarter'"
)
_MAX_COMPONENT: Final = 10_000 * 366 * 24 * 3600  # no period needs more than 10,000 years


_PART_NAMES: Final = ("years", "months", "weeks", "days", "hours", "minutes", "seconds")


@attrs.frozen
class Period:
    """A calendar period such as 90 days, 3 months or 1 year and 2 months.

    Adding a period to a date or datetime uses ``dateutil.relativedelta``, so
    months and years follow the calendar: 31 January + 1 month is the last day of
    February. Build one from keywords, `Period.parse` (ISO 8601 durations or words),
    or the shortcuts `days`, `months`, `years`.

    Periods have no order: whether 1 month is longer than 30 days depends on the date.
    """

    years: int = attrs.field(default=0, kw_only=True)
    months: int = attrs.field(default=0, kw_only=True)
    weeks: int = attrs.field(default=0, kw_only=True)
    days: int = attrs.field(default=0, kw_only=True)
    hours: int = attrs.field(default=0, kw_only=True)
    minutes: int = attrs.field(default=0, kw_only=True)
    seconds: int = attrs.field(default=0, kw_only=True)
    # Built on first use: most periods are read and written far more than applied.
    _delta: relativedelta | None = attrs.field(
        init=False, default=None, repr=False, eq=False, hash=False
    )

    def __attrs_post_init__(self) -> None:
        parts = self._parts()
        for name, value in zip(_PART_NAMES, parts, strict=True):
            if type(value) is not int:
                raise ValidationError.single(name, f"expected a whole number, got {value!r}")
            if abs(value) > _MAX_COMPONENT:
                raise ValidationError.single(name, f"{value} is out of range")
        if any(value > 0 for value in parts) and any(value < 0 for value in parts):
            raise ValidationError.single(
                "period", f"{self!r} mixes positive and negative parts; give them one sign"
            )

    def _parts(self) -> tuple[int, int, int, int, int, int, int]:
        return (
            self.years,
            self.months,
            self.weeks,
            self.days,
            self.hours,
            self.minutes,
            self.seconds,
        )

    @classmethod
    def of_days(cls, days: int) -> Self:
        """``days`` days."""
        return cls(days=days)

    @classmethod
    def of_months(cls, months: int) -> Self:
        """``months`` calendar months."""
        return cls(months=months)

    @classmethod
    def of_years(cls, years: int) -> Self:
        """``years`` calendar years."""
        return cls(years=years)

    @classmethod
    def parse(cls, text: str, field: str = "period") -> Period:
        """Read ``"P90D"``, ``"P1Y2M"``, ``"-P1D"``, ``"PT12H"`` or ``"3 months"``.

        Word form: one or more "<number> <unit>" pairs, units year, quarter, month,
        week, day, hour, minute, second (singular or plural): ``"1 year 6 months"``.

        Raises:
            ValidationError: Quoting ``text``, if it is neither form.
        """
        if not isinstance(text, str):
            raise ValidationError.single(
                field, f"expected a duration string, got {type(text).__name__}"
            )
        try:
            return _parse_period(text)
        except ValidationError as error:
            raise error.prefixed(field) from None

    @classmethod
    def _parse_uncached(cls, text: str) -> Period:
        stripped = text.strip()
        match = _ISO_DURATION.fullmatch(stripped.upper())
        if match:
            sign = -1 if match["sign"] == "-" else 1
            parts = {
                name: sign * int(value)
                for name, value in match.groupdict().items()
                if name != "sign" and value is not None
            }
            return cls._from_parts(parts, text)
        words = stripped.lower()
        pairs = _WORDS.findall(words)
        if pairs and _WORDS.sub("", words).replace(",", "").replace("and", "").strip() == "":
            parts = {}
            for count, unit in pairs:
                known = _UNITS.get(unit.removesuffix("s"))
                if known is None:
                    break
                name, factor = known
                parts[name] = parts.get(name, 0) + int(count) * factor
            else:
                return cls._from_parts(parts, text)
        raise ValidationError.single("", f"cannot read {text!r} as a period; {_PERIOD_HINT}")

    @classmethod
    def _from_parts(cls, parts: dict[str, int], text: str) -> Self:
        try:
            return cls(**parts)
        except ValidationError as error:
            raise ValidationError.single(
                "", f"cannot read {text!r} as a period: {error.problems[0].message}"
            ) from None

    @property
    def relativedelta(self) -> relativedelta:
        """The equivalent ``dateutil.relativedelta.relativedelta``."""
        delta = self._delta
        if delta is None:
            delta = relativedelta(
                years=self.years,
                months=self.months,
                weeks=self.weeks,
                days=self.days,
                hours=self.hours,
                minutes=self.minutes,
                seconds=self.seconds,
            )
            object.__setattr__(self, "_delta", delta)
        return delta

    def isoformat(self) -> str:
        """The ISO 8601 duration, such as ``"P1Y2M"`` or ``"-P7D"``; zero is ``"P0D"``."""
        values = self._parts()
        sign = "-" if any(value < 0 for value in values) else ""
        years, months, weeks, days, hours, minutes, seconds = (abs(v) for v in values)
        date_part = "".join(
            f"{value}{unit}"
            for value, unit in ((years, "Y"), (months, "M"), (weeks, "W"), (days, "D"))
            if value
        )
        time_part = "".join(
            f"{value}{unit}"
            for value, unit in ((hours, "H"), (minutes, "M"), (seconds, "S"))
            if value
        )
        if not date_part and not time_part:
            return "P0D"
        return f"{sign}P{date_part}{'T' + time_part if time_part else ''}"

    def describe(self) -> str:
        """The period in words: ``"12 months"``, ``"1 year and 6 months"``, ``"90 days"``."""
        units = ("year", "month", "week", "day", "hour", "minute", "second")
        parts = [
            f"{abs(value)} {unit}{'' if abs(value) == 1 else 's'}"
            for value, unit in zip(self._parts(), units, strict=True)
            if value
        ]
        if not parts:
            return "0 days"
        text = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
        return f"minus {text}" if any(value < 0 for value in self._parts()) else text

    def is_zero(self) -> bool:
        """Whether every part is zero."""
        return not any(self._parts())

    def __str__(self) -> str:
        return self.isoformat()

    def __neg__(self) -> Period:
        return self * -1

    def __mul__(self, factor: object) -> Period:
        if isinstance(factor, bool) or not isinstance(factor, int):
            return NotImplemented
        return Period(
            **{name: value * factor for name, value in zip(_PART_NAMES, self._parts(), strict=True)}
        )

    __rmul__ = __mul__

    @overload
    def __radd__(self, other: datetime) -> datetime: ...
    @overload
    def __radd__(self, other: date) -> date: ...
    def __radd__(self, other: date) -> date:
        if isinstance(other, date):
            result: date = other + self.relativedelta
            return result
        return NotImplemented

    @overload
    def __rsub__(self, other: datetime) -> datetime: ...
    @overload
    def __rsub__(self, other: date) -> date: ...
    def __rsub__(self, other: date) -> date:
        if isinstance(other, date):
            result: date = other - self.relativedelta
            return result
        return NotImplemented


# Periods are immutable and a population uses a handful of distinct ones ("P90D",
# "P12M"), so reading each text once makes loading many records cheaper.
_parse_period = functools.lru_cache(maxsize=1024)(Period._parse_uncached)

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_ZERO_INTERVAL: Final = re.compile(r"(?:^|;)INTERVAL=0+(?:;|$)")


@attrs.frozen
class Cadence:
    """A recurring schedule from an RFC 5545 RRULE, such as a quarterly review.

    ``Cadence("FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1")`` recurs on the first day of
    every third month counted from ``anchor`` (default 1970-01-01 00:00 UTC, so
    quarters start in January, April, July and October). Every instant it returns is
    aware and in UTC.

    Args:
        rule: The RRULE value, with or without a leading ``RRULE:``; no DTSTART.
        anchor: The aware instant the rule counts from (its DTSTART).

    Raises:
        ValidationError: Quoting the rule, if dateutil cannot read it.
    """

    rule: str = attrs.field()
    anchor: datetime = attrs.field(default=_EPOCH, kw_only=True, converter=_utc_anchor)
    _rrule: rrule = attrs.field(init=False, repr=False, eq=False, hash=False)

    @rule.validator
    def _check_rule(self, _attribute: object, value: str) -> None:
        if not isinstance(value, str):
            raise ValidationError.single("rule", "expected an RRULE string")

    def __attrs_post_init__(self) -> None:
        text = self.rule.strip()
        object.__setattr__(self, "rule", text.removeprefix("RRULE:"))
        if "DTSTART" in text.upper() or "\n" in text:
            raise ValidationError.single(
                "rule", f"{self.rule!r}: give the start as Cadence(rule, anchor=...), not DTSTART"
            )
        reason = "dateutil could not read it"
        try:
            parsed = rrulestr(self.rule, dtstart=self.anchor, cache=True)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError) as error:
            parsed, reason = None, str(error) or reason
        if _ZERO_INTERVAL.search(self.rule.upper()):
            parsed, reason = None, "INTERVAL must be 1 or more"
        if not isinstance(parsed, rrule):
            raise ValidationError.single(
                "rule",
                f"{self.rule!r} is not an RFC 5545 RRULE ({reason}); write it like "
                f"'FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1'",
            )
        if parsed.after(self.anchor, inc=True) is None:
            raise ValidationError.single(
                "rule", f"{self.rule!r} never occurs after its anchor {self.anchor.isoformat()}"
            )
        object.__setattr__(self, "_rrule", parsed)

    def next_after(self, instant: datetime, *, inclusive: bool = False) -> datetime | None:
        """The first occurrence after ``instant`` (or at it, if ``inclusive``).

        Returns ``None`` when a rule with COUNT or UNTIL has no more occurrences.
        """
        found: datetime | None = self._rrule.after(to_utc(instant, "instant"), inc=inclusive)
        return None if found is None else to_utc(found)

    def previous_before(self, instant: datetime, *, inclusive: bool = False) -> datetime | None:
        """The last occurrence before ``instant`` (or at it, if ``inclusive``)."""
        found: datetime | None = self._rrule.before(to_utc(instant, "instant"), inc=inclusive)
        return None if found is None else to_utc(found)

    def between(self, start: datetime, end: datetime) -> list[datetime]:
        """Every occurrence in the half-open range ``start <= t < end``."""
        lower = to_utc(start, "start")
        upper = to_utc(end, "end")
        if upper <= lower:
            return []
        found = self._rrule.between(lower, upper, inc=True)
        return [to_utc(moment) for moment in found if moment < upper]

    def __str__(self) -> str:
        return self.rule
