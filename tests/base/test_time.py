import contextlib
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import given
from hypothesis import strategies as st

from partnerkit import (
    Cadence,
    Clock,
    FixedClock,
    Period,
    SystemClock,
    ValidationError,
    parse_date,
    parse_datetime,
    to_utc,
)
from partnerkit.testing import strategies as pks

HELSINKI_WINTER = timezone(timedelta(hours=2))


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def test_to_utc_normalises_aware_datetimes() -> None:
    local = datetime(2026, 3, 1, 9, 30, tzinfo=HELSINKI_WINTER)
    assert to_utc(local) == at(2026, 3, 1, 7, 30)
    assert to_utc(local).tzinfo is UTC


def test_to_utc_refuses_naive_datetimes_and_names_the_field() -> None:
    with pytest.raises(ValidationError, match="has no timezone; attach a timezone") as info:
        to_utc(datetime(2026, 3, 1), "approved_at")  # noqa: DTZ001
    assert info.value.paths == ("approved_at",)


def test_to_utc_refuses_dates() -> None:
    with pytest.raises(ValidationError, match="expected an aware datetime, got date"):
        to_utc(date(2026, 3, 1))  # type: ignore[arg-type]


@given(pks.aware_datetimes())
def test_to_utc_keeps_the_instant(moment: datetime) -> None:
    assert to_utc(moment) == moment
    assert to_utc(moment).utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-01T09:30:00+02:00", at(2026, 3, 1, 7, 30)),
        ("2026-03-01T07:30:00Z", at(2026, 3, 1, 7, 30)),
        ("20260301T073000Z", at(2026, 3, 1, 7, 30)),
        ("2026-03-01T07:30:00.123456-05:45", at(2026, 3, 1, 13, 15, 0, 123456)),
    ],
)
def test_parse_datetime_reads_iso_8601_with_offsets(text: str, expected: datetime) -> None:
    assert parse_datetime(text) == expected


def test_parse_datetime_refuses_a_missing_offset_rather_than_guessing() -> None:
    with pytest.raises(ValidationError, match="'2026-03-01T09:30:00' has no UTC offset"):
        parse_datetime("2026-03-01T09:30:00")


@pytest.mark.parametrize("text", ["yesterday", "2026-13-01T00:00:00Z", "", "2026-02-30T00:00Z"])
def test_parse_datetime_quotes_bad_input(text: str) -> None:
    with pytest.raises(ValidationError, match=f"{text!r} is not an ISO 8601 datetime"):
        parse_datetime(text, "when")


def test_parse_date_reads_iso_dates_only() -> None:
    assert parse_date("2026-03-01") == date(2026, 3, 1)
    for bad in ("2026-3-1", "01/03/2026", "2026-03-01T00:00Z"):
        with pytest.raises(ValidationError, match="is not an ISO 8601 date"):
            parse_date(bad)
    with pytest.raises(ValidationError, match=r"value\.date\(\)"):
        parse_date(at(2026, 3, 1))


def test_clocks_satisfy_the_protocol_and_give_aware_utc() -> None:
    for clock in (SystemClock(), FixedClock(at(2026, 1, 1))):
        assert isinstance(clock, Clock)
        assert clock.now().tzinfo is UTC


def test_fixed_clock_stands_still_until_moved() -> None:
    clock = FixedClock(datetime(2026, 1, 31, 12, tzinfo=HELSINKI_WINTER))
    assert clock.now() == at(2026, 1, 31, 10)
    assert clock.advance(Period.of_months(1)) == at(2026, 2, 28, 10)
    assert clock.advance(timedelta(hours=1)) == at(2026, 2, 28, 11)
    clock.set(at(2020, 1, 1))
    assert clock.now() == at(2020, 1, 1)


def test_fixed_clock_refuses_naive_instants() -> None:
    with pytest.raises(ValidationError, match="no timezone"):
        FixedClock(datetime(2026, 1, 1))  # noqa: DTZ001


@pytest.mark.parametrize(
    ("text", "period"),
    [
        ("P90D", Period(days=90)),
        ("P3M", Period(months=3)),
        ("P1Y2M", Period(years=1, months=2)),
        ("P2W", Period(weeks=2)),
        ("PT12H", Period(hours=12)),
        ("P1DT1H30M5S", Period(days=1, hours=1, minutes=30, seconds=5)),
        ("-P7D", Period(days=-7)),
        ("p1y", Period(years=1)),
        ("90 days", Period(days=90)),
        ("1 quarter", Period(months=3)),
        ("1 year 6 months", Period(years=1, months=6)),
        ("1 year, 2 weeks and 1 day", Period(years=1, weeks=2, days=1)),
    ],
)
def test_period_parse_reads_iso_durations_and_words(text: str, period: Period) -> None:
    assert Period.parse(text) == period


@pytest.mark.parametrize(
    "text", ["P", "PT", "P1.5D", "90", "3 fortnights", "P1D2M", "", "1 month ago"]
)
def test_period_parse_quotes_what_it_cannot_read(text: str) -> None:
    with pytest.raises(ValidationError, match=f"cannot read {text!r} as a period"):
        Period.parse(text)


def test_period_parts_share_one_sign() -> None:
    with pytest.raises(ValidationError, match="one sign"):
        Period(months=1, days=-1)


def test_month_arithmetic_follows_the_calendar() -> None:
    assert date(2026, 1, 31) + Period.parse("P1M") == date(2026, 2, 28)
    assert date(2024, 1, 31) + Period.parse("P1M") == date(2024, 2, 29)
    assert at(2026, 3, 31, 8) - Period.of_months(1) == at(2026, 2, 28, 8)
    assert date(2024, 2, 29) + Period.of_years(1) == date(2025, 2, 28)


def test_period_iso_format_round_trips() -> None:
    assert Period(years=1, months=2).isoformat() == "P1Y2M"
    assert str(Period()) == "P0D"
    assert Period(days=-3, hours=-1).isoformat() == "-P3DT1H"
    assert Period.of_days(45) * 2 == Period(days=90)


@given(pks.periods(allow_negative=True))
def test_period_iso_text_parses_back_to_the_same_period(period: Period) -> None:
    assert Period.parse(period.isoformat()) == period


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 1, 1)), pks.periods())
def test_period_arithmetic_matches_relativedelta(start: date, period: Period) -> None:
    delta = relativedelta(
        years=period.years,
        months=period.months,
        weeks=period.weeks,
        days=period.days,
        hours=period.hours,
        minutes=period.minutes,
        seconds=period.seconds,
    )
    assert start + period == start + delta
    assert start - period == start - delta
    assert period.relativedelta == delta


@given(pks.aware_datetimes(), pks.periods())
def test_period_on_aware_datetimes_matches_relativedelta(moment: datetime, period: Period) -> None:
    assert moment + period == moment + period.relativedelta


QUARTERLY = Cadence("FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1")


def test_quarterly_cadence_counts_from_the_epoch_by_default() -> None:
    assert QUARTERLY.next_after(at(2026, 11, 22)) == at(2027, 1, 1)
    assert QUARTERLY.previous_before(at(2026, 11, 22)) == at(2026, 10, 1)
    assert QUARTERLY.between(at(2026, 1, 1), at(2027, 1, 1)) == [
        at(2026, 1, 1),
        at(2026, 4, 1),
        at(2026, 7, 1),
        at(2026, 10, 1),
    ]


def test_cadence_boundaries_are_exclusive_unless_asked() -> None:
    assert QUARTERLY.next_after(at(2026, 10, 1)) == at(2027, 1, 1)
    assert QUARTERLY.next_after(at(2026, 10, 1), inclusive=True) == at(2026, 10, 1)
    assert QUARTERLY.previous_before(at(2026, 10, 1), inclusive=True) == at(2026, 10, 1)
    assert QUARTERLY.between(at(2026, 4, 1), at(2026, 4, 1)) == []


def test_cadence_anchor_sets_the_phase_and_time_of_day() -> None:
    fiscal = Cadence("RRULE:FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1", anchor=at(2026, 2, 1, 6))
    assert fiscal.next_after(at(2026, 3, 1)) == at(2026, 5, 1, 6)
    assert fiscal.rule == "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1"


def test_cadence_with_count_runs_out() -> None:
    twice = Cadence("FREQ=YEARLY;COUNT=2", anchor=at(2026, 1, 1))
    assert twice.next_after(at(2027, 6, 1)) is None


def test_cadence_results_are_utc_even_for_a_local_anchor() -> None:
    local = Cadence("FREQ=DAILY", anchor=datetime(2026, 1, 1, 9, tzinfo=HELSINKI_WINTER))
    result = local.next_after(at(2026, 1, 5))
    assert result == at(2026, 1, 5, 7)
    assert result is not None
    assert result.tzinfo is UTC


@pytest.mark.parametrize(
    "rule", ["FREQ=SOMETIMES", "every quarter", "", "FREQ=DAILY;X=1", "FREQ=DAILY;INTERVAL=0"]
)
def test_bad_rrules_are_quoted(rule: str) -> None:
    with pytest.raises(ValidationError, match="is not an RFC 5545 RRULE"):
        Cadence(rule)


@pytest.mark.parametrize(
    "rule", ["FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "FREQ=DAILY;UNTIL=19600101T000000Z"]
)
def test_rules_that_never_occur_are_refused(rule: str) -> None:
    with pytest.raises(ValidationError, match="never occurs"):
        Cadence(rule)


def test_dtstart_inside_the_rule_is_refused_with_the_alternative() -> None:
    with pytest.raises(ValidationError, match="anchor="):
        Cadence("DTSTART:20260101T000000Z\nRRULE:FREQ=DAILY")


@given(pks.cadences(), pks.aware_datetimes(max_value=datetime(2035, 1, 1)))  # noqa: DTZ001
def test_next_after_is_the_first_occurrence_in_between(cadence: Cadence, moment: datetime) -> None:
    following = cadence.next_after(moment)
    assert following is not None
    assert following > moment
    window = cadence.between(moment + timedelta(microseconds=1), following + timedelta(days=1))
    assert window[0] == following


@pytest.mark.parametrize(
    ("period", "words"),
    [
        (Period(months=12), "12 months"),
        (Period(days=1), "1 day"),
        (Period(years=1, months=6), "1 year and 6 months"),
        (Period(years=1, weeks=2, days=3), "1 year, 2 weeks and 3 days"),
        (Period(), "0 days"),
        (Period(days=-7), "minus 7 days"),
    ],
)
def test_periods_describe_themselves_in_words(period: Period, words: str) -> None:
    assert period.describe() == words


# --- bounds: every accepted value stays far from what datetime cannot hold -----------

PLUS_FIVE = timezone(timedelta(hours=5))


@pytest.mark.parametrize(
    "moment",
    [
        datetime(1900, 1, 1, tzinfo=UTC),
        datetime(2999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(3000, 1, 1, 4, tzinfo=PLUS_FIVE),  # 2999-12-31T23:00Z
    ],
)
def test_instants_from_1900_to_2999_are_accepted(moment: datetime) -> None:
    assert to_utc(moment) == moment


@pytest.mark.parametrize(
    "moment",
    [
        datetime(1, 1, 1, tzinfo=PLUS_FIVE),  # shifting it to UTC would overflow
        datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-5))),
        datetime(1899, 12, 31, 23, 59, tzinfo=UTC),
        datetime(1900, 1, 1, 4, tzinfo=PLUS_FIVE),  # 1899-12-31T23:00Z
        datetime(3000, 1, 1, tzinfo=UTC),
    ],
)
def test_instants_outside_1900_to_2999_are_refused_naming_the_field(moment: datetime) -> None:
    with pytest.raises(ValidationError, match="instants must fall in the years 1900 to 2999"):
        to_utc(moment, "as_of")
    with pytest.raises(ValidationError) as caught:
        parse_datetime(moment.isoformat(), "as_of")
    assert caught.value.paths == ("as_of",)


def test_a_long_instant_text_is_refused_without_being_parsed_or_quoted_whole() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_datetime("2026-01-01T00:00:00" + "0" * 100_000 + "Z", "as_of")
    message = str(caught.value)
    assert "100,020 characters long, too long for an ISO 8601 datetime" in message
    assert len(message) < 200


@pytest.mark.parametrize(
    "period",
    [
        Period(years=1000),
        Period(months=12_000),
        Period(days=365_242),
        Period(seconds=-31_556_952_000),
        Period(years=500, months=6000),
    ],
)
def test_any_accepted_period_moves_any_accepted_instant_without_overflow(period: Period) -> None:
    for moment in (at(1900, 1, 1), at(2999, 12, 31, 23, 59, 59)):
        assert 899 <= (moment + period).year <= 4000
        assert 899 <= (moment - period).year <= 4000


@pytest.mark.parametrize(
    ("parts", "path"),
    [
        ({"years": 1001}, "years"),
        ({"months": 12_001}, "months"),
        ({"days": 10**30}, "days"),
        ({"years": 600, "months": 6000}, "period"),
    ],
)
def test_periods_over_1000_years_are_refused(parts: dict[str, int], path: str) -> None:
    with pytest.raises(ValidationError, match="spans at most 1,000 years") as caught:
        Period(**parts)
    assert caught.value.paths == (path,)


@pytest.mark.parametrize("text", ["P" + "9" * 32_000 + "D", "9" * 32_000 + " days", "P" * 101])
def test_period_text_over_100_characters_is_refused_before_parsing(text: str) -> None:
    with pytest.raises(ValidationError, match="more than the 100 a period may take") as caught:
        Period.parse(text, "window")
    assert caught.value.paths == ("window",)
    assert len(str(caught.value)) < 300


@pytest.mark.parametrize("text", ["P" + "9" * 98 + "X", "9" * 80 + " fortnights"])
def test_period_text_with_long_digit_runs_is_read_or_refused_in_one_pass(text: str) -> None:
    with pytest.raises(ValidationError, match="cannot read"):
        Period.parse(text)


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=HOURLY",
        "FREQ=MINUTELY;BYMONTH=2",
        "FREQ=SECONDLY",
        "FREQ=DAILY;BYHOUR=9,17",
        "FREQ=WEEKLY;BYMINUTE=0,30",
        "FREQ=DAILY;BYSECOND=1,2",
    ],
)
def test_cadences_recur_at_most_daily(rule: str) -> None:
    with pytest.raises(ValidationError, match="recurs more than once a day"):
        Cadence(rule)


def test_a_cadence_may_set_one_time_of_day() -> None:
    cadence = Cadence("FREQ=DAILY;BYHOUR=9;BYMINUTE=30", anchor=at(2026, 1, 1))
    assert cadence.next_after(at(2026, 1, 1, 12)) == at(2026, 1, 2, 9, 30)


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",
        "FREQ=WEEKLY;BYMONTH=4;BYMONTHDAY=31",
        "FREQ=DAILY;BYYEARDAY=366;BYMONTH=1",
        "FREQ=DAILY;INTERVAL=7;BYDAY=MO",  # every 7th day from a Thursday
    ],
)
def test_daily_and_weekly_rules_that_never_occur_are_refused(rule: str) -> None:
    with pytest.raises(ValidationError, match="never occurs"):
        Cadence(rule)


@pytest.mark.parametrize(
    ("rule", "first"),
    [
        ("FREQ=DAILY;BYDAY=1MO;BYMONTH=3", at(1970, 3, 2)),  # every Monday in March
        ("FREQ=DAILY;BYDAY=MO;BYMONTHDAY=13", at(1970, 4, 13)),
        ("FREQ=WEEKLY;BYMONTHDAY=29;BYMONTH=2", at(1972, 2, 29)),
    ],
)
def test_rare_daily_rules_are_accepted(rule: str, first: datetime) -> None:
    assert Cadence(rule).next_after(at(1970, 1, 1), inclusive=True) == first


def test_rule_text_over_500_characters_is_refused() -> None:
    with pytest.raises(ValidationError, match="more than the 500 an RRULE may take"):
        Cadence("FREQ=YEARLY;" + "BYMONTH=1;" * 60)


def test_occurrences_after_2999_are_none() -> None:
    late = Cadence("FREQ=YEARLY;INTERVAL=500", anchor=at(2900, 1, 1))
    assert late.next_after(at(2950, 1, 1)) is None
    assert late.previous_before(at(2950, 1, 1)) == at(2900, 1, 1)


@given(st.text(alphabet="P0123456789YMWDTHS -+aeklnorsuy,", max_size=120))
def test_period_parsing_refuses_any_text_with_a_validation_error(text: str) -> None:
    with contextlib.suppress(ValidationError):
        Period.parse(text)


@given(st.text(alphabet="FREQ=DAILYMONTHWKBYSP;,0123456789-+", max_size=80))
def test_cadence_refuses_any_rule_text_with_a_validation_error(rule: str) -> None:
    with contextlib.suppress(ValidationError):
        Cadence(rule)
