"""The forecast and relationship sections, built from small stores as of one instant."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from partnerkit import Activity, Aggregate, FixedRates, MetricDefinition, Money, Period
from partnerkit.deals import Customer, DealRegistration, approve, submit, win
from partnerkit.forecast import Dimension, forecast
from partnerkit.partners import Partner, PartnerStatus
from partnerkit.relationship import (
    ActionItem,
    Certification,
    CertificationTerm,
    CheckIn,
    Goal,
    GoalOwner,
    Side,
    draft_plan,
    revise_plan,
    survey_answer,
)
from partnerkit.report import (
    FORECAST_DRAWS,
    FORECAST_PERIODS,
    FORECAST_SEED,
    ReportContext,
    Section,
    build_report,
    forecast_section,
    relationship_section,
)
from partnerkit.storage.memory import MemoryStorage

AS_OF = datetime(2026, 6, 15, 12, tzinfo=UTC)
TODAY = AS_OF.date()
OWNERS = (GoalOwner(Side.VENDOR, "usr_maria"), GoalOwner(Side.PARTNER, "usr_bo"))


def partner(partner_id: str, name: str = "Acme Oy") -> Partner:
    return Partner(
        partner_id,
        name,
        "reseller",
        "FI",
        created_at=AS_OF - timedelta(days=400),
        status=PartnerStatus.ACTIVE,
    )


def registration(
    deal_id: str,
    partner_id: str,
    at: datetime,
    amount: Money | None = None,
    *,
    won_after: int | None = None,
) -> DealRegistration:
    draft = DealRegistration(
        deal_id,
        partner_id,
        Customer(f"Customer {deal_id}", "FI"),
        amount or Money(Decimal(10_000), "USD"),
        expected_close_on=(at + timedelta(days=60)).date(),
        registered_at=at,
        products=("cloud",),
    )
    deal = submit(draft, actor="usr_1", at=at).value
    deal = approve(deal, actor="usr_m", at=at + timedelta(days=1)).value
    if won_after is None:
        return deal
    return win(deal, actor="usr_m", at=at + timedelta(days=won_after)).value


def storage_with(*records: object) -> MemoryStorage:
    storage = MemoryStorage()
    with storage.unit_of_work() as uow:
        for record in records:
            if isinstance(record, Partner):
                uow.partners.add(record)
            elif isinstance(record, DealRegistration):
                uow.deals.add(record)
            elif isinstance(record, CheckIn):
                uow.check_ins.add(record)
            elif isinstance(record, Certification):
                uow.certifications.add(record)
            elif isinstance(record, Activity):
                uow.activities.append([record])
            else:
                uow.plans.add(record)  # type: ignore[arg-type]
        uow.commit()
    return storage


def built(storage: MemoryStorage, builder: object, **options: object) -> Section | None:
    with storage.unit_of_work() as uow:
        return builder(ReportContext(uow, AS_OF, **options))  # type: ignore[operator, no-any-return]


def records(section: Section, figure_id: str) -> list[dict[str, object]]:
    figure = next(f for f in section.figures if f.id == figure_id)
    return figure.table.to_records()  # type: ignore[return-value]


# Forecast.


def pipeline() -> list[DealRegistration]:
    history = [
        registration(f"h{n}", "ptn_1", AS_OF - timedelta(days=300 - 5 * n), won_after=30 + n)
        for n in range(12)
    ]
    open_deals = [registration(f"o{n}", "ptn_1", AS_OF - timedelta(days=10 + n)) for n in range(3)]
    return history + open_deals


def test_no_registrations_leave_the_forecast_out() -> None:
    assert built(storage_with(partner("ptn_1")), forecast_section) is None
    assert "forecast" not in [s.id for s in build_report(MemoryStorage(), as_of=AS_OF).sections]


def test_the_forecast_is_the_seeded_forecast_of_the_registrations() -> None:
    deals = pipeline()
    section = built(storage_with(partner("ptn_1"), *deals), forecast_section)
    assert section is not None
    rows = records(section, "forecast-usd")
    expected = forecast(
        deals,
        as_of=AS_OF,
        period=Period.of_months(3),
        periods=FORECAST_PERIODS,
        currency="USD",
        draws=FORECAST_DRAWS,
        seed=FORECAST_SEED,
    )
    lines = [expected.line(Dimension.TOTAL, period=p.index) for p in expected.periods]
    assert [(r["period"], r["deals"], r["expected"], r["p10"], r["p90"]) for r in rows] == [
        (p.label, line.deals, line.expected.amount, line.p10.amount, line.p90.amount)
        for p, line in zip(expected.periods, lines, strict=True)
    ]
    assert len(rows) == FORECAST_PERIODS
    assert lines[0].expected.amount > 0
    assert {fact.key: fact.value for fact in section.facts}["open"] == 3


def test_the_same_store_and_instant_give_the_same_bands() -> None:
    storage = storage_with(partner("ptn_1"), *pipeline())
    first = built(storage, forecast_section)
    again = built(storage, forecast_section)
    assert first == again


def test_registrations_after_the_instant_are_not_forecast() -> None:
    later = registration("late", "ptn_1", AS_OF + timedelta(days=3))
    section = built(storage_with(partner("ptn_1"), *pipeline(), later), forecast_section)
    assert section is not None
    assert {fact.key: fact.value for fact in section.facts}["open"] == 3


def test_each_currency_has_its_own_forecast() -> None:
    euros = registration("eur", "ptn_1", AS_OF - timedelta(days=4), Money(Decimal(5000), "EUR"))
    section = built(storage_with(partner("ptn_1"), *pipeline(), euros), forecast_section)
    assert section is not None
    ids = [figure.id for figure in section.figures]
    assert ids == ["forecast-eur", "forecast-usd", "attribution-usd"]
    assert records(section, "forecast-eur")[0]["deals"] == 1


def test_won_revenue_of_the_last_year_is_credited_to_its_partner() -> None:
    recent = registration("w1", "ptn_2", AS_OF - timedelta(days=90), won_after=20)
    old = registration("w0", "ptn_2", AS_OF - timedelta(days=500), won_after=20)
    after = registration("w2", "ptn_2", AS_OF - timedelta(days=10), won_after=20)
    section = built(
        storage_with(partner("ptn_2", "Bluefin AB"), recent, old, after), forecast_section
    )
    assert section is not None
    assert records(section, "attribution-usd") == [
        {
            "partner_id": "ptn_2",
            "partner": "Bluefin AB",
            "deals": 1,
            "sourced": Decimal("10000.00"),
            "influenced": Decimal("0.00"),
            "total": Decimal("10000.00"),
        }
    ]


# Relationship.


def plan(plan_id: str = "jbp_1", *, drafted: datetime = AS_OF - timedelta(days=100)) -> object:
    revenue = MetricDefinition("revenue", Aggregate.SUM, kinds=("revenue_booked",), currency="USD")
    goals = (Goal("revenue", revenue, Money(100_000, "USD"), OWNERS, label="revenue"),)
    drafted_plan, _ = draft_plan(
        plan_id,
        "ptn_1",
        title="FY26 plan",
        starts_on=date(2026, 1, 1),
        ends_on=date(2026, 12, 31),
        goals=goals,
        by="usr_maria",
        side="vendor",
        at=drafted,
    )
    return drafted_plan


def booked(activity_id: str, amount: Money, at: datetime) -> Activity:
    return Activity(activity_id, "ptn_1", "revenue_booked", at, amount)


def test_nothing_to_say_leaves_the_relationship_out() -> None:
    assert built(storage_with(partner("ptn_1")), relationship_section) is None


def test_a_lagging_goal_is_listed_with_its_gap_in_words() -> None:
    storage = storage_with(
        partner("ptn_1"),
        plan(),
        booked("r1", Money(10_000, "USD"), AS_OF - timedelta(days=30)),
        booked("r2", Money(50_000, "USD"), AS_OF + timedelta(days=3)),
    )
    section = built(storage, relationship_section)
    assert section is not None
    [row] = records(section, "plans-at-risk")
    assert (row["goal"], row["status"], row["done"]) == ("revenue", "at risk", Decimal(10))
    assert "needs 90,000.00 USD more revenue by 2026-12-31" in str(row["gap"])


def test_goals_are_read_as_they_stood_at_the_instant() -> None:
    drafted = plan()
    easier = (
        Goal(
            "revenue",
            drafted.goals[0].metric,  # type: ignore[attr-defined]
            Money(1_000, "USD"),
            OWNERS,
            label="revenue",
        ),
    )
    revised = revise_plan(
        drafted,  # type: ignore[arg-type]
        easier,
        reason="smaller market",
        by="usr_maria",
        side="vendor",
        at=AS_OF + timedelta(days=1),
    ).value
    storage = storage_with(
        partner("ptn_1"), revised, booked("r1", Money(10_000, "USD"), AS_OF - timedelta(days=30))
    )
    section = built(storage, relationship_section)
    assert section is not None
    assert [row["goal"] for row in records(section, "plans-at-risk")] == ["revenue"]


def test_a_plan_drafted_after_the_instant_is_left_out() -> None:
    storage = storage_with(partner("ptn_1"), plan(drafted=AS_OF + timedelta(days=1)))
    assert built(storage, relationship_section) is None


def test_money_in_another_currency_needs_rates() -> None:
    storage = storage_with(
        partner("ptn_1"), plan(), booked("r1", Money(10_000, "EUR"), AS_OF - timedelta(days=30))
    )
    section = built(storage, relationship_section)
    assert section is not None
    [row] = records(section, "plans-at-risk")
    assert row["status"] == "not measured"
    assert "rates" in str(row["gap"])
    rates = FixedRates({("EUR", "USD"): "1.10"})
    section = built(storage, relationship_section, rates=rates)
    assert section is not None
    [row] = records(section, "plans-at-risk")
    assert (row["status"], row["done"]) == ("at risk", Decimal(11))


def test_overdue_check_ins_and_action_items_as_of_the_instant() -> None:
    item = ActionItem(
        "forecast",
        "Send the forecast",
        "usr_bo",
        Side.PARTNER,
        TODAY - timedelta(days=5),
        done_on=TODAY + timedelta(days=2),  # done after the report's instant
    )
    meeting = CheckIn(
        "chk_1",
        "ptn_1",
        AS_OF - timedelta(days=200),
        ("usr_maria",),
        action_items=(item,),
    )
    storage = storage_with(partner("ptn_1"), partner("ptn_2", "Nordic AB"), meeting)
    section = built(storage, relationship_section)
    assert section is not None
    overdue = records(section, "check-ins-overdue")
    assert {row["partner_id"] for row in overdue} == {"ptn_1", "ptn_2"}
    met = next(row for row in overdue if row["partner_id"] == "ptn_1")
    assert met["last_held"] == (AS_OF - timedelta(days=200)).date()
    assert met["days_overdue"] == (AS_OF - datetime(2026, 1, 1, tzinfo=UTC)).days
    [action] = records(section, "action-items-overdue")
    assert (action["action"], action["days_overdue"]) == ("Send the forecast", 5)
    after = built(storage, relationship_section)
    assert after == section


def test_certifications_in_their_renewal_window_or_lapsed_are_listed() -> None:
    def cert(cert_id: str, person: str, expires: date) -> Certification:
        term = CertificationTerm(expires - timedelta(days=365), expires)
        return Certification(
            cert_id, "ptn_1", person, "cloud_sales", expires - timedelta(days=400), (term,)
        )

    storage = storage_with(
        partner("ptn_1"),
        cert("c1", "p_a", TODAY + timedelta(days=30)),
        cert("c2", "p_b", TODAY - timedelta(days=5)),
        cert("c3", "p_c", TODAY + timedelta(days=200)),
    )
    section = built(storage, relationship_section)
    assert section is not None
    rows = records(section, "certifications-lapsing")
    assert [(r["person"], r["status"], r["days_left"]) for r in rows] == [
        ("p_b", "expired", -5),
        ("p_a", "expiring", 30),
    ]
    facts = {fact.key: fact.value for fact in section.facts}
    assert (facts["expiring"], facts["expired"]) == (1, 1)


@pytest.mark.parametrize("late", [False, True])
def test_nps_comes_with_its_interval(late: bool) -> None:
    scores = [10, 9, 8, 3, 10]
    answers = [
        survey_answer(
            f"a{i}",
            "ptn_1",
            survey="nps",
            score=score,
            answered_at=AS_OF - timedelta(days=i + 1),
            respondent="usr_bo",
        )
        for i, score in enumerate(scores)
    ]
    if late:
        answers.append(
            survey_answer(
                "a_late",
                "ptn_1",
                survey="nps",
                score=0,
                answered_at=AS_OF + timedelta(days=1),
                respondent="usr_bo",
            )
        )
    section = built(storage_with(partner("ptn_1"), *answers), relationship_section)
    assert section is not None
    rows = records(section, "nps")
    assert [row["group"] for row in rows] == ["all answers", "no tier"]
    overall = rows[0]
    assert (overall["answers"], overall["promoters"], overall["detractors"]) == (5, 3, 1)
    assert overall["nps"] == Decimal("40.0")
    assert overall["low"] < overall["nps"] < overall["high"]  # type: ignore[operator]
