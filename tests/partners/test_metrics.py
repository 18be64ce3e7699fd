from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from partnerkit import (
    Activity,
    ActivityKind,
    Aggregate,
    FixedRates,
    MetricDefinition,
    MetricSnapshot,
    Money,
    NotFoundError,
    Period,
    ValidationError,
    Window,
    compute_snapshot,
    compute_snapshots,
)
from partnerkit.metrics import MetricValue
from partnerkit.testing import strategies as pks

AS_OF = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def act(
    activity_id: str,
    kind: str,
    when: datetime,
    value: Money | Decimal | None = None,
    *,
    partner_id: str = "ptn_1",
    expires_on: date | None = None,
    **attributes: str | int | bool | None,
) -> Activity:
    return Activity(activity_id, partner_id, kind, when, value, attributes, expires_on)


REVENUE_12M = MetricDefinition(
    "revenue_12m", Aggregate.SUM, kinds=("revenue_booked",), window=Window.trailing("P12M")
)


@pytest.mark.parametrize(
    ("window", "start", "end"),
    [
        (Window.all_time(), None, AS_OF),
        (Window.trailing("P12M"), at(2025, 11, 22, 12), AS_OF),
        (Window.trailing("90 days"), at(2026, 8, 24, 12), AS_OF),
        (Window.month(), at(2026, 11, 1), AS_OF),
        (Window.quarter(), at(2026, 10, 1), AS_OF),
        (Window.year(), at(2026, 1, 1), AS_OF),
        (Window.fiscal_year(4), at(2026, 4, 1), AS_OF),
        (Window.month(complete=True), at(2026, 10, 1), at(2026, 11, 1) - timedelta(microseconds=1)),
        (
            Window.quarter(complete=True),
            at(2026, 7, 1),
            at(2026, 10, 1) - timedelta(microseconds=1),
        ),
        (Window.year(complete=True), at(2025, 1, 1), at(2026, 1, 1) - timedelta(microseconds=1)),
        (
            Window.fiscal_year(12, complete=True),
            at(2024, 12, 1),
            at(2025, 12, 1) - timedelta(microseconds=1),
        ),
    ],
)
def test_window_bounds(window: Window, start: datetime | None, end: datetime) -> None:
    assert window.bounds(AS_OF) == (start, end)


def test_fiscal_year_before_its_first_month_belongs_to_the_previous_year() -> None:
    assert Window.fiscal_year(4).bounds(at(2026, 2, 10)) == (at(2025, 4, 1), at(2026, 2, 10))


@pytest.mark.parametrize(
    ("build", "path"),
    [
        (lambda: Window.trailing("P0D"), "period"),
        (lambda: Window.trailing("-P1M"), "period"),
        (lambda: Window.fiscal_year(13), "first_month"),
        (lambda: Window(complete=True), "complete"),
    ],
)
def test_bad_windows_are_refused(build: object, path: str) -> None:
    with pytest.raises(ValidationError) as info:
        build()  # type: ignore[operator]
    assert info.value.paths == (path,)


def test_definitions_are_validated_with_every_problem() -> None:
    with pytest.raises(ValidationError) as info:
        MetricDefinition("Revenue", "median", kinds="revenue_booked", currency="XXX")  # type: ignore[arg-type]
    assert set(info.value.paths) == {"name", "aggregate", "kinds", "currency"}


def test_distinct_count_needs_an_attribute() -> None:
    with pytest.raises(ValidationError, match="distinct_count needs the attribute"):
        MetricDefinition("people", Aggregate.DISTINCT_COUNT)


def test_sum_in_a_trailing_window_ignores_older_and_future_activities() -> None:
    activities = [
        act("a1", "revenue_booked", at(2026, 1, 5), Money("1000.00", "USD")),
        act("a2", "revenue_booked", at(2025, 11, 22, 12), Money("500.00", "USD")),  # edge: in
        act("a3", "revenue_booked", at(2025, 11, 22, 11), Money("9.00", "USD")),  # too old
        act("a4", "revenue_booked", at(2026, 12, 1), Money("7.00", "USD")),  # after as-of
        act("a5", "deal_won", at(2026, 2, 1), Money("3.00", "USD")),  # other kind
    ]
    snapshot = compute_snapshot([REVENUE_12M], activities, AS_OF)
    assert snapshot.values == {"revenue_12m": Money("1500.00", "USD")}


def test_no_data_is_none_but_counts_are_zero() -> None:
    definitions = [
        REVENUE_12M,
        MetricDefinition("deals_won", Aggregate.COUNT, kinds=("deal_won",)),
        MetricDefinition("last_login_days", Aggregate.DAYS_SINCE_LAST, kinds=("portal_login",)),
        MetricDefinition("latest_nps", Aggregate.LATEST, kinds=("nps_survey",)),
    ]
    snapshot = compute_snapshot(definitions, [], AS_OF, partner_id="ptn_1")
    assert snapshot.values == {
        "revenue_12m": None,
        "deals_won": 0,
        "last_login_days": None,
        "latest_nps": None,
    }


def test_refunds_can_sum_to_a_true_zero() -> None:
    activities = [
        act("a1", "revenue_booked", at(2026, 5, 1), Money("100", "EUR")),
        act("a2", "revenue_booked", at(2026, 6, 1), Money("-100", "EUR")),
    ]
    assert compute_snapshot([REVENUE_12M], activities, AS_OF)["revenue_12m"] == Money("0", "EUR")


def test_counts_filters_and_distinct_people() -> None:
    activities = [
        act("t1", "training_completed", at(2026, 3, 1), person="p1", track="sales"),
        act("t2", "training_completed", at(2026, 4, 1), person="p1", track="technical"),
        act("t3", "training_completed", at(2026, 5, 1), person="p2", track="sales"),
        act("t4", "training_completed", at(2026, 6, 1), track="sales"),
    ]
    definitions = [
        MetricDefinition("trainings", Aggregate.COUNT, kinds=("training_completed",)),
        MetricDefinition(
            "sales_trainings",
            Aggregate.COUNT,
            kinds=("training_completed",),
            where={"track": "sales"},
        ),
        MetricDefinition(
            "trained_people",
            Aggregate.DISTINCT_COUNT,
            kinds=("training_completed",),
            attribute="person",
        ),
    ]
    snapshot = compute_snapshot(definitions, activities, AS_OF)
    assert snapshot.values == {"trainings": 4, "sales_trainings": 3, "trained_people": 2}


def test_unexpired_certifications_and_certified_people() -> None:
    cert = ActivityKind.CERTIFICATION_EARNED
    activities = [
        act("c1", cert, at(2025, 1, 1), expires_on=date(2027, 1, 1), person="p1"),
        act("c2", cert, at(2025, 1, 1), expires_on=date(2026, 11, 22), person="p2"),  # lapsed today
        act("c3", cert, at(2024, 1, 1), person="p3"),  # never expires
        act("c4", cert, at(2026, 2, 1), expires_on=date(2028, 1, 1), person="p1"),
    ]
    definitions = [
        MetricDefinition("valid_certifications", Aggregate.UNEXPIRED_COUNT, kinds=(cert,)),
        MetricDefinition(
            "certified_people", Aggregate.UNEXPIRED_COUNT, kinds=(cert,), attribute="person"
        ),
    ]
    snapshot = compute_snapshot(definitions, activities, AS_OF)
    assert snapshot.values == {"valid_certifications": 3, "certified_people": 2}


def test_latest_and_days_since_last_break_ties_by_id() -> None:
    activities = [
        act("s1", "nps_survey", at(2026, 9, 1), Decimal(40)),
        act("s3", "nps_survey", at(2026, 10, 1), Decimal(55)),
        act("s2", "nps_survey", at(2026, 10, 1), Decimal(70)),
        act("l1", "portal_login", at(2026, 11, 2, 23, 59)),
    ]
    definitions = [
        MetricDefinition("nps", Aggregate.LATEST, kinds=("nps_survey",)),
        MetricDefinition("login_days", Aggregate.DAYS_SINCE_LAST, kinds=("portal_login",)),
    ]
    assert compute_snapshot(definitions, activities, AS_OF).values == {
        "nps": Decimal(55),
        "login_days": 20,
    }


def test_mixed_currencies_need_a_reporting_currency_and_rates() -> None:
    activities = [
        act("a1", "revenue_booked", at(2026, 5, 1), Money("100.00", "EUR")),
        act("a2", "revenue_booked", at(2026, 6, 1), Money("50.00", "USD")),
    ]
    with pytest.raises(ValidationError, match="adds EUR and USD; set currency='EUR'"):
        compute_snapshot([REVENUE_12M], activities, AS_OF)
    in_usd = MetricDefinition(
        "revenue_usd",
        Aggregate.SUM,
        kinds=("revenue_booked",),
        window=Window.trailing("P12M"),
        currency="USD",
    )
    with pytest.raises(ValidationError, match="pass rates="):
        compute_snapshot([in_usd], activities, AS_OF)
    rates = FixedRates({("EUR", "USD"): "1.10"})
    snapshot = compute_snapshot([in_usd], activities, AS_OF, rates=rates)
    assert snapshot["revenue_usd"] == Money("160.00", "USD")


def test_money_and_plain_numbers_never_add() -> None:
    activities = [
        act("a1", "revenue_booked", at(2026, 5, 1), Money("100.00", "EUR")),
        act("a2", "revenue_booked", at(2026, 6, 1), Decimal(3)),
    ]
    with pytest.raises(ValidationError, match="adds money and plain numbers"):
        compute_snapshot([REVENUE_12M], activities, AS_OF)


def test_a_snapshot_refuses_other_partners_activities() -> None:
    activities = [act("a1", "portal_login", at(2026, 1, 1), partner_id="ptn_2")]
    with pytest.raises(ValidationError, match="use compute_snapshots"):
        compute_snapshot([REVENUE_12M], activities, AS_OF, partner_id="ptn_1")


def test_a_snapshot_without_activities_needs_the_partner() -> None:
    with pytest.raises(ValidationError, match="pass partner_id="):
        compute_snapshot([REVENUE_12M], [], AS_OF)


def test_metric_names_must_be_unique() -> None:
    with pytest.raises(ValidationError, match="used twice: revenue_12m"):
        compute_snapshot([REVENUE_12M, REVENUE_12M], [], AS_OF, partner_id="ptn_1")


def test_asking_a_snapshot_for_an_unknown_metric_lists_the_known_ones() -> None:
    snapshot = MetricSnapshot("ptn_1", AS_OF, {"revenue_12m": None, "deals": 3})
    assert snapshot.get("nps") is None
    with pytest.raises(NotFoundError, match="the snapshot has: deals, revenue_12m"):
        snapshot["nps"]


def test_batch_covers_named_partners_without_activity() -> None:
    activities = [
        act("a1", "revenue_booked", at(2026, 5, 1), Money("10", "EUR"), partner_id="ptn_a"),
        act("a2", "revenue_booked", at(2026, 5, 2), Money("20", "EUR"), partner_id="ptn_b"),
        act("a3", "revenue_booked", at(2026, 5, 3), Money("5", "EUR"), partner_id="ptn_a"),
    ]
    snapshots = compute_snapshots([REVENUE_12M], activities, AS_OF, partner_ids=["ptn_c"])
    assert {key: s["revenue_12m"] for key, s in snapshots.items()} == {
        "ptn_a": Money("15", "EUR"),
        "ptn_b": Money("20", "EUR"),
        "ptn_c": None,
    }


def distinct(activities: Sequence[Activity], attribute: str | None) -> set[object]:
    return {a.attributes[attribute] for a in activities if attribute in a.attributes}  # type: ignore[index]


# A deliberately naive reference: one definition at a time, straight from the docs.
def reference(definition: MetricDefinition, activities: Sequence[Activity]) -> MetricValue:
    start, end = definition.window.bounds(AS_OF)
    matching = [
        a
        for a in activities
        if (not definition.kinds or a.kind in definition.kinds)
        and (start is None or a.occurred_at >= start)
        and a.occurred_at <= end
        and all(a.attributes.get(k, object()) == v for k, v in definition.where.items())
    ]
    aggregate = definition.aggregate
    if aggregate is Aggregate.COUNT:
        return len(matching)
    if aggregate is Aggregate.DISTINCT_COUNT:
        return len(
            {
                a.attributes[definition.attribute]
                for a in matching
                if definition.attribute in a.attributes
            }
        )  # type: ignore[index]
    if aggregate is Aggregate.UNEXPIRED_COUNT:
        valid = [a for a in matching if a.expires_on is None or a.expires_on > AS_OF.date()]
        if definition.attribute is None:
            return len(valid)
        return len(
            {
                a.attributes[definition.attribute]
                for a in valid
                if definition.attribute in a.attributes
            }
        )
    if aggregate is Aggregate.SUM:
        values = [a.value for a in matching if a.value is not None]
        if not values:
            return None
        if isinstance(values[0], Money):
            return Money.sum(values, currency=values[0].currency)  # type: ignore[arg-type]
        return sum(values, Decimal(0))  # type: ignore[arg-type]
    with_values = (
        matching
        if aggregate is Aggregate.DAYS_SINCE_LAST
        else [a for a in matching if a.value is not None]
    )
    if not with_values:
        return None
    last = max(with_values, key=lambda a: (a.occurred_at, a.id))
    if aggregate is Aggregate.LATEST:
        return last.value
    return (AS_OF.date() - last.occurred_at.date()).days


KINDS = st.sampled_from(["revenue_booked", "deal_won", "certification_earned", "custom_kind"])
ATTRIBUTE_VALUES = st.sampled_from(["a", "b", "c"])


@st.composite
def ledgers(draw: st.DrawFn) -> list[Activity]:
    numeric = draw(st.booleans())  # one value type per ledger: sums never mix them
    value = (
        st.none() | pks.amounts(places=2, max_abs=Decimal(10**6)).map(Decimal)
        if numeric
        else st.none() | pks.money("EUR", exact_minor_units=True, max_abs=Decimal(10**6))
    )
    return draw(
        st.lists(
            st.builds(
                Activity,
                id=st.uuids().map(str),
                partner_id=st.just("ptn_1"),
                kind=KINDS,
                occurred_at=st.datetimes(
                    min_value=datetime(2023, 1, 1),  # noqa: DTZ001
                    max_value=datetime(2027, 1, 1),  # noqa: DTZ001
                    timezones=st.just(UTC),
                ),
                value=value,
                attributes=st.dictionaries(st.sampled_from(["person", "track"]), ATTRIBUTE_VALUES),
                expires_on=st.none() | st.dates(date(2025, 1, 1), date(2028, 1, 1)),
            ),
            max_size=40,
        )
    )


DEFINITIONS = st.builds(
    MetricDefinition,
    name=st.just("m"),
    aggregate=st.sampled_from([a for a in Aggregate if a is not Aggregate.DISTINCT_COUNT]),
    kinds=st.lists(KINDS, max_size=2, unique=True).map(tuple),
    where=st.dictionaries(st.just("track"), ATTRIBUTE_VALUES, max_size=1),
    window=pks.windows(),
) | st.builds(
    MetricDefinition,
    name=st.just("m"),
    aggregate=st.sampled_from([Aggregate.DISTINCT_COUNT, Aggregate.UNEXPIRED_COUNT]),
    kinds=st.lists(KINDS, max_size=2, unique=True).map(tuple),
    attribute=st.just("person"),
    window=pks.windows(),
)


@given(ledgers(), st.lists(DEFINITIONS, min_size=1, max_size=6))
def test_snapshot_matches_a_naive_reference(
    activities: list[Activity], definitions: list[MetricDefinition]
) -> None:
    named = [
        MetricDefinition(
            f"m{index}",
            d.aggregate,
            kinds=d.kinds,
            where=d.where,
            attribute=d.attribute,
            window=d.window,
        )
        for index, d in enumerate(definitions)
    ]
    snapshot = compute_snapshot(named, activities, AS_OF, partner_id="ptn_1")
    assert snapshot.values == {d.name: reference(d, activities) for d in named}


@given(ledgers(), st.permutations(range(40)))
def test_snapshot_does_not_depend_on_activity_order(
    activities: list[Activity], order: list[int]
) -> None:
    definitions = [
        MetricDefinition(f"m_{aggregate.value}", aggregate, attribute="person")
        if aggregate is Aggregate.DISTINCT_COUNT
        else MetricDefinition(f"m_{aggregate.value}", aggregate)
        for aggregate in Aggregate
    ]
    shuffled = [activities[i] for i in order if i < len(activities)]
    first = compute_snapshot(definitions, activities, AS_OF, partner_id="ptn_1")
    assert compute_snapshot(definitions, shuffled, AS_OF, partner_id="ptn_1") == first


@given(st.lists(pks.activities(partner_id=st.sampled_from(["p1", "p2", "p3"])), max_size=30))
def test_batch_equals_one_snapshot_per_partner(activities: list[Activity]) -> None:
    definitions = [
        MetricDefinition("n", Aggregate.COUNT),
        MetricDefinition(
            "recent", Aggregate.DAYS_SINCE_LAST, window=Window.trailing(Period.of_years(5))
        ),
    ]
    batch = compute_snapshots(definitions, activities, AS_OF)
    for partner_id, snapshot in batch.items():
        own = [a for a in activities if a.partner_id == partner_id]
        assert snapshot == compute_snapshot(definitions, own, AS_OF, partner_id=partner_id)
    grouped = {p: [a for a in activities if a.partner_id == p] for p in batch}
    assert compute_snapshots(definitions, grouped, AS_OF) == batch
