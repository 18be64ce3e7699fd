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
from dateutil.rrule import YEARLY, rrule, rrulestr

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

#: The first and last calendar years of the instants partnerkit accepts (in UTC).
#: Every period partnerkit accepts spans at most 1,000 years, so any instant in
#: range plus or minus any period stays far inside what ``datetime`` can hold:
#: arithmetic on accepted values never overflows.
FIRST_YEAR: Final = 1900
LAST_YEAR: Final = 2999
_YEARS_HINT: Final = f"instants must fall in the years {FIRST_YEAR} to {LAST_YEAR}; check the year"


# The longest ISO 8601 instant anyone writes is about 40 characters; past this the
# text is not a date, and dateutil need not look at it.
_MAX_INSTANT_TEXT: Final = 64


def _bounded_text(value: object, field: str, *, expected: str, limit: int, too_long: str) -> str:
    """``value`` if it is text of at most ``limit`` characters, else a `ValidationError`.

    Args:
        value: The input to parse later.
        field: Where the problem is.
        expected: What the input should be, for a value that is not text.
        limit: The most characters the text may have.
        too_long: The end of the message for text longer than ``limit``, after
            ``"<quoted input> is <length> characters long, "``.
    """
    if not isinstance(value, str):
        raise ValidationError.single(field, f"expected {expected}, got {type(value).__name__}")
    if len(value) > limit:
        raise ValidationError.single(
            field, f"{_quote(value)} is {len(value):,} characters long, {too_long}"
        )
    return value


def _quote(text: str, limit: int = 40) -> str:
    """``text`` quoted for a message, shortened when long so errors stay readable."""
    return repr(text) if len(text) <= limit else repr(text[:limit]) + "..."


def _out_of_range(value: datetime, field: str) -> ValidationError:
    return ValidationError.single(field, f"{value.isoformat()} is out of range: {_YEARS_HINT}")


def to_utc(value: datetime, field: str = "value") -> datetime:
    """Return ``value`` as an aware datetime in UTC.

    Args:
        value: An aware datetime in any timezone.
        field: The field path named in the error.

    Raises:
        ValidationError: If ``value`` is naive, not a datetime, or outside the years
            1900 to 2999 (in UTC).
    """
    if not isinstance(value, datetime):
        raise ValidationError.single(
            field, f"expected an aware datetime, got {type(value).__name__}"
        )
    year = value.year
    if value.tzinfo is UTC:  # the common case, in one comparison
        if FIRST_YEAR <= year <= LAST_YEAR:
            return value
        raise _out_of_range(value, field)
    # Checked before any arithmetic: shifting year 1 or 9999 by its offset overflows.
    if not FIRST_YEAR - 1 <= year <= LAST_YEAR + 1:
        raise _out_of_range(value, field)
    offset = value.utcoffset()
    if offset is None:
        raise ValidationError.single(field, f"{value.isoformat()} has no timezone; {_NAIVE_HINT}")
    utc = (value - offset).replace(tzinfo=UTC)
    if not FIRST_YEAR <= utc.year <= LAST_YEAR:
        raise _out_of_range(value, field)
    return utc


def parse_datetime(value: str | datetime, field: str = "value") -> datetime:
    """Read an ISO 8601 instant with an offset (``2026-03-01T09:30:00+02:00``) as UTC.

    Datetimes pass through `to_utc`. Strings are parsed with
    ``dateutil.parser.isoparse``; one without an offset is refused rather than
    guessed.

    Raises:
        ValidationError: Quoting the input, if it is not an ISO 8601 instant with an
            offset or ``Z``, or is outside the years 1900 to 2999.
    """
    if isinstance(value, datetime):
        return to_utc(value, field)
    value = _bounded_text(
        value,
        field,
        expected="an ISO 8601 datetime string",
        limit=_MAX_INSTANT_TEXT,
        too_long="too long for an ISO 8601 datetime; write it like '2026-03-01T09:30:00+00:00'",
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


# Possessive quantifiers (``++``) never give digits back, so a long run of digits
# without its unit fails in one pass instead of being retried at every split.
_ISO_DURATION: Final = re.compile(
    r"(?P<sign>[-+])?P(?!$)"
    r"(?:(?P<years>\d++)Y)?(?:(?P<months>\d++)M)?(?:(?P<weeks>\d++)W)?(?:(?P<days>\d++)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d++)H)?(?:(?P<minutes>\d++)M)?(?:(?P<seconds>\d++)S)?)?",
)
_WORDS: Final = re.compile(r"(?<!\d)(?P<count>-?\d++)\s*+(?P<unit>[a-z]++)")
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
#: The longest period partnerkit accepts, in years: longer than any contract, short
#: enough that an instant in range plus or minus a period never leaves ``datetime``.
MAX_PERIOD_YEARS: Final = 1000
# Each unit in seconds, a year and a month by their Gregorian averages (365.2425
# days, a twelfth of that), so 12,000 months is as long as 1,000 years. A period's
# text is at most MAX_PERIOD_TEXT characters: the longest sensible one spelt out in
# words ("1 year, 11 months, 3 weeks, 6 days, 23 hours, 59 minutes and 59 seconds")
# fits with room to spare.
_YEAR_SECONDS: Final = 31_556_952
_UNIT_SECONDS: Final = (_YEAR_SECONDS, _YEAR_SECONDS // 12, 7 * 86_400, 86_400, 3600, 60, 1)
_MAX_SECONDS: Final = MAX_PERIOD_YEARS * _YEAR_SECONDS
MAX_PERIOD_TEXT: Final = 100


_SPAN_HINT: Final = f"a period spans at most {MAX_PERIOD_YEARS:,} years"
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
        total = 0
        for name, value, seconds in zip(_PART_NAMES, parts, _UNIT_SECONDS, strict=True):
            if type(value) is not int:
                raise ValidationError.single(name, f"expected a whole number, got {value!r}")
            # Compared before multiplying, so a huge int costs nothing.
            if abs(value) > _MAX_SECONDS // seconds:
                raise ValidationError.single(name, f"{value} is out of range: {_SPAN_HINT}")
            total += abs(value) * seconds
        if total > _MAX_SECONDS:
            raise ValidationError.single("period", f"{self!r} is too long: {_SPAN_HINT}")
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
            ValidationError: Quoting ``text``, if it is neither form, is longer than
                100 characters or spans more than 1,000 years.
        """
        text = _bounded_text(
            text,
            field,
            expected="a duration string",
            limit=MAX_PERIOD_TEXT,
            too_long=f"more than the {MAX_PERIOD_TEXT} a period may take; {_PERIOD_HINT}",
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
#: The longest RRULE text a `Cadence` takes; real rules are a few dozen characters.
MAX_RULE_TEXT: Final = 500
# Rules that could recur more than once a day: dateutil walks every occurrence from
# the anchor, so a secondly rule asked for next year's review would walk billions.
_SUB_DAILY: Final = re.compile(
    r"(?:^|;)(?:FREQ=(?:HOURLY|MINUTELY|SECONDLY)|BY(?:HOUR|MINUTE|SECOND)=[^;]*,)"
)
# What dateutil raises on rules it cannot read (it has no error class of its own).
_DATEUTIL_ERRORS: Final = (
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    OverflowError,
)
# Parts of a daily or weekly rule that only filter which days it falls on.
_FILTER_PARTS: Final = frozenset(
    {"FREQ", "INTERVAL", "COUNT", "UNTIL", "WKST", "BYMONTH", "BYMONTHDAY", "BYYEARDAY"}
    | {"BYWEEKNO", "BYDAY"}
)
_DAY_FILTERS: Final = frozenset({"BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYDAY"})
_RULE_HINT: Final = "write it like 'FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1'"


@attrs.frozen
class Cadence:
    """A recurring schedule from an RFC 5545 RRULE, such as a quarterly review.

    ``Cadence("FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1")`` recurs on the first day of
    every third month counted from ``anchor`` (default 1970-01-01 00:00 UTC, so
    quarters start in January, April, July and October). Every instant it returns is
    aware and in UTC. A cadence recurs at most daily (no ``HOURLY``, ``MINUTELY``,
    ``SECONDLY`` or several ``BYHOUR``/``BYMINUTE``/``BYSECOND`` values), so
    finding the next review never walks more than one occurrence a day.

    Args:
        rule: The RRULE value, with or without a leading ``RRULE:``; no DTSTART; at
            most 500 characters.
        anchor: The aware instant the rule counts from (its DTSTART).

    Raises:
        ValidationError: Quoting the rule, if dateutil cannot read it, it recurs
            more than daily, or it never occurs.
    """

    rule: str = attrs.field()
    anchor: datetime = attrs.field(default=_EPOCH, kw_only=True, converter=_utc_anchor)
    _rrule: rrule = attrs.field(init=False, repr=False, eq=False, hash=False)

    @rule.validator
    def _check_rule(self, _attribute: object, value: str) -> None:
        if not isinstance(value, str):
            raise ValidationError.single("rule", "expected an RRULE string")
        _bounded_text(
            value,
            "rule",
            expected="an RRULE string",
            limit=MAX_RULE_TEXT,
            too_long=f"more than the {MAX_RULE_TEXT} an RRULE may take; {_RULE_HINT}",
        )

    def __attrs_post_init__(self) -> None:
        text = self.rule.strip()
        object.__setattr__(self, "rule", text.removeprefix("RRULE:"))
        upper = self.rule.upper()
        if "DTSTART" in text.upper() or "\n" in text:
            raise ValidationError.single(
                "rule", f"{self.rule!r}: give the start as Cadence(rule, anchor=...), not DTSTART"
            )
        if _SUB_DAILY.search(upper.replace(" ", "")):
            raise ValidationError.single(
                "rule",
                f"{self.rule!r} recurs more than once a day; a cadence recurs at most "
                f"daily (the anchor sets the time of day): {_RULE_HINT}",
            )
        reason = "dateutil could not read it"
        try:
            parsed = rrulestr(self.rule, dtstart=self.anchor, cache=True)
        except _DATEUTIL_ERRORS as error:
            parsed, reason = None, str(error) or reason
        if _ZERO_INTERVAL.search(upper):
            parsed, reason = None, "INTERVAL must be 1 or more"
        if not isinstance(parsed, rrule):
            raise ValidationError.single(
                "rule", f"{self.rule!r} is not an RFC 5545 RRULE ({reason}); {_RULE_HINT}"
            )
        if _first(parsed, upper, self.anchor) is None:
            raise ValidationError.single(
                "rule", f"{self.rule!r} never occurs after its anchor {self.anchor.isoformat()}"
            )
        object.__setattr__(self, "_rrule", parsed)

    def next_after(self, instant: datetime, *, inclusive: bool = False) -> datetime | None:
        """The first occurrence after ``instant`` (or at it, if ``inclusive``).

        Returns ``None`` when a rule with COUNT or UNTIL has no more occurrences, or
        the next one would fall after the year 2999.
        """
        moment = to_utc(instant, "instant")
        try:
            found: datetime | None = self._rrule.after(moment, inc=inclusive)
        except (ValueError, OverflowError):  # dateutil ran past the year 9999
            return None
        return _in_range(found)

    def previous_before(self, instant: datetime, *, inclusive: bool = False) -> datetime | None:
        """The last occurrence before ``instant`` (or at it, if ``inclusive``)."""
        found: datetime | None = self._rrule.before(to_utc(instant, "instant"), inc=inclusive)
        return _in_range(found)

    def between(self, start: datetime, end: datetime) -> list[datetime]:
        """Every occurrence in the half-open range ``start <= t < end``."""
        lower = to_utc(start, "start")
        upper = to_utc(end, "end")
        if upper <= lower:
            return []
        found = self._rrule.between(lower, upper, inc=True)
        return [moment.astimezone(UTC) for moment in found if moment < upper]

    def __str__(self) -> str:
        return self.rule


def _in_range(moment: datetime | None) -> datetime | None:
    """An occurrence from dateutil in UTC, or ``None`` if it is past the year 2999."""
    if moment is None:
        return None
    utc = moment.astimezone(UTC)
    return utc if utc.year <= LAST_YEAR else None


def _first(parsed: rrule, rule: str, anchor: datetime) -> datetime | None:
    """The first occurrence of ``parsed`` (whose upper-cased text is ``rule``), if any.

    dateutil looks for an occurrence up to the year 9999, day by day for a daily
    rule whose filters never match (February 30): seconds of work. The days such a
    rule can fall on are among those the same filters allow in whole years, which
    dateutil checks a year at a time, so when those are none, neither is the rule.
    """
    parts = dict(part.partition("=")[::2] for part in rule.replace(" ", "").split(";"))
    filters_only = (
        parts.get("FREQ") in ("DAILY", "WEEKLY")
        and parts.keys() <= _FILTER_PARTS
        and not _DAY_FILTERS.isdisjoint(parts)  # else dateutil fills a day in from the anchor
        # No "1MO": yearly, it would mean the first Monday of the year.
        and parts.get("BYDAY", "MO").replace(",", "").isalpha()
    )
    try:
        if filters_only:
            yearly = parsed.replace(freq=YEARLY, interval=1, count=None, until=None)
            if yearly.after(anchor, inc=True) is None:
                return None
        found: datetime | None = parsed.after(anchor, inc=True)
    except (ValueError, OverflowError):  # dateutil ran past the year 9999
        return None
    return found
