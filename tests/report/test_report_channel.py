"""The leads, funds and incentives sections: numbers read from the store as of the report."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from partnerkit import Money
from partnerkit.funds import (
    FundRequest,
    FundTerms,
    allocate,
    approve_request,
    new_budget,
    submit_request,
)
from partnerkit.incentives import LineKind, Statement, StatementLine, StatementStatus
from partnerkit.leads import (
    Candidate,
    Lead,
    LeadCustomer,
    RoutingExplanation,
    accept,
    decline,
    lapse,
    offer,
)
from partnerkit.partners import Partner
from partnerkit.report import (
    SECTIONS,
    ReportContext,
    build_report,
    funds_section,
    incentives_section,
    leads_section,
)
from partnerkit.storage.memory import MemoryStorage

AS_OF = datetime(2026, 6, 15, 12, tzinfo=UTC)
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


def with_partners() -> MemoryStorage:
    storage = MemoryStorage()
    with storage.unit_of_work() as uow:
        for partner_id, name in (("ptn_1", "Acme Oy"), ("ptn_2", "Nordic AB")):
            uow.partners.add(
                Partner(partner_id, name, "reseller", "FI", created_at=AS_OF - 90 * DAY)
            )
        uow.commit()
    return storage


def new_lead(lead_id: str, received: datetime) -> Lead:
    return Lead(lead_id, LeadCustomer(f"Customer of {lead_id}", "FI"), "web form", received)


def offered(lead: Lead, partner_id: str, at: datetime, expires: datetime) -> Lead:
    explanation = RoutingExplanation(
        lead.id,
        "inbound",
        "round_robin",
        seed=1,
        step="country FI",
        candidates=(Candidate(partner_id, 1),),
        chosen=partner_id,
    )
    return offer(lead, explanation, actor="router", at=at, expires_at=expires).value


def store_leads(storage: MemoryStorage, *leads: Lead) -> None:
    with storage.unit_of_work() as uow:
        for lead in leads:
            uow.leads.add(lead)
        uow.commit()


def lead_story(storage: MemoryStorage) -> None:
    """Five leads: declined then accepted, answered after the report, lapsed, later, fresh."""
    start = AS_OF - 3 * DAY
    one = offered(new_lead("lead_1", start), "ptn_1", start, start + DAY)
    one = decline(one, partner_id="ptn_1", actor="usr_1", at=start + HOUR, reason="busy").value
    one = offered(one, "ptn_2", start + 2 * HOUR, start + DAY)
    one = accept(one, partner_id="ptn_2", actor="usr_2", at=start + 3 * HOUR).value
    two = offered(new_lead("lead_2", AS_OF - DAY), "ptn_1", AS_OF - 2 * HOUR, AS_OF + 22 * HOUR)
    two = accept(two, partner_id="ptn_1", actor="usr_1", at=AS_OF + HOUR).value
    early = AS_OF - 5 * DAY
    three = offered(new_lead("lead_3", early), "ptn_2", early, early + DAY)
    three = lapse(three, actor="router", at=early + DAY).value
    four = new_lead("lead_4", AS_OF + DAY)
    five = offered(new_lead("lead_5", AS_OF - HOUR), "ptn_2", AS_OF - HOUR, AS_OF + 47 * HOUR)
    store_leads(storage, one, two, three, four, five)


def test_leads_are_counted_as_they_stood_at_the_reports_instant() -> None:
    storage = with_partners()
    lead_story(storage)
    section = build_report(storage, as_of=AS_OF).section("leads")
    facts = {fact.key: fact.value for fact in section.facts}
    assert facts == {"leads": 4, "offered": 2, "acceptance": "20.0%", "lapsing": 1}
    statuses, offers, lapsing = section.figures
    assert [(r["status"], r["count"]) for r in statuses.table.to_records()] == [
        ("offered", 2),
        ("accepted", 1),
        ("lapsed", 1),
    ]
    assert statuses.chart is not None
    assert statuses.chart.series[0].values == (2, 1, 1)
    assert offers.table.to_records() == [
        {
            "partner_id": "ptn_2",
            "partner": "Nordic AB",
            "offered": 3,
            "accepted": 1,
            "declined": 0,
            "lapsed": 1,
            "pending": 1,
            "acceptance_rate": "33.3%",
        },
        {
            "partner_id": "ptn_1",
            "partner": "Acme Oy",
            "offered": 2,
            "accepted": 0,
            "declined": 1,
            "lapsed": 0,
            "pending": 1,
            "acceptance_rate": "0.0%",
        },
    ]
    assert lapsing.table.to_records() == [
        {
            "lead": "lead_2",
            "customer": "Customer of lead_2",
            "partner_id": "ptn_1",
            "partner": "Acme Oy",
            "offered_at": AS_OF - 2 * HOUR,
            "expires_at": AS_OF + 22 * HOUR,
            "hours_left": Decimal("22.0"),
        }
    ]


def test_a_later_report_sees_the_answers_given_since() -> None:
    storage = with_partners()
    lead_story(storage)
    section = build_report(storage, as_of=AS_OF + 2 * HOUR).section("leads")
    statuses = {r["status"]: r["count"] for r in section.figures[0].table.to_records()}
    assert statuses == {"offered": 1, "accepted": 2, "lapsed": 1}
    assert section.figures[2].table.rows == ()


def test_the_leads_section_is_left_out_without_leads_by_then() -> None:
    storage = with_partners()
    assert "leads" not in [s.id for s in build_report(storage, as_of=AS_OF).sections]
    store_leads(storage, new_lead("lead_9", AS_OF + DAY))
    with storage.unit_of_work() as uow:
        assert leads_section(ReportContext(uow, AS_OF)) is None
    assert leads_section in SECTIONS


# Funds.

TERMS = FundTerms(request_deadline=date(2026, 3, 31), claim_deadline=date(2026, 4, 30))
FUNDED_AT = datetime(2026, 1, 12, 9, tzinfo=UTC)


def store_budget(storage: MemoryStorage, *, extra: FundRequest | None = None) -> None:
    """20,000 USD; 5,000 to ptn_1, who asks 3,000 and is approved 2,500."""
    budget = new_budget(
        budget_id="mdf_q1",
        program_id="prg_channel",
        name="MDF Q1 2026",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 3, 31),
        terms=TERMS,
        amount=Money("20000.00", "USD"),
        at=FUNDED_AT,
    )
    usd = Money("5000.00", "USD")
    budget = allocate(budget, usd, partner_id="ptn_1", actor="usr_fin", at=FUNDED_AT).value
    (budget, request), _ = submit_request(
        budget,
        request_id="req_1",
        partner_id="ptn_1",
        activity="Trade show",
        amount=Money("3000.00", "USD"),
        actor="usr_1",
        at=FUNDED_AT,
    )
    (budget, request), _ = approve_request(
        budget,
        request,
        actor="usr_m",
        at=FUNDED_AT,
        amount=Money("2500.00", "USD"),
        reason="a smaller booth",
    )
    with storage.unit_of_work() as uow:
        uow.fund_budgets.add(budget)
        uow.fund_requests.add(request)
        if extra is not None:
            uow.fund_requests.add(extra)
        uow.commit()


def test_a_budgets_money_is_shown_exactly_and_reconciles() -> None:
    storage = with_partners()
    store_budget(storage)
    section = build_report(storage, as_of=AS_OF).section("funds")
    facts = {fact.key: fact.value for fact in section.facts}
    assert facts == {"budgets": 1, "open": 1, "reconciled": "1 of 1"}
    overview, budget, differences = section.figures
    assert overview.table.to_records() == [
        {
            "budget": "mdf_q1",
            "name": "MDF Q1 2026",
            "currency": "USD",
            "funded": Decimal("20000.00"),
            "allocated": Decimal("5000.00"),
            "requested": Decimal("2500.00"),
            "approved": Decimal("2500.00"),
            "claimed": Decimal("0.00"),
            "paid": Decimal("0.00"),
            "available": Decimal("2500.00"),
            "forfeited": Decimal("0.00"),
            "reconciles": "yes",
        }
    ]
    assert "(2026-01-01 to 2026-03-31, open)" in budget.title
    assert budget.chart is not None
    assert budget.chart.series[0].values == tuple(
        Decimal(v) for v in ("5000.00", "2500.00", "2500.00", "0", "0", "2500.00", "0")
    )
    assert differences.table.rows == ()
    page = build_report(storage, as_of=AS_OF).to_html()
    assert ">20,000.00<" in page


def test_a_budget_that_does_not_match_its_requests_says_so() -> None:
    storage = with_partners()
    stray = FundRequest(
        "req_2",
        "mdf_q1",
        "ptn_1",
        "partner:ptn_1",
        "Webinar",
        Money("100.00", "USD"),
        submitted_at=FUNDED_AT,
    )
    store_budget(storage, extra=stray)
    section = build_report(storage, as_of=AS_OF).section("funds")
    assert section.facts[2].value == "0 of 1"
    assert section.figures[0].table.to_records()[0]["reconciles"] == "no"
    (difference,) = section.figures[-1].table.to_records()
    assert "pending" in str(difference["difference"])


def test_the_funds_section_is_left_out_without_a_budget_by_then() -> None:
    storage = with_partners()
    assert "funds" not in [s.id for s in build_report(storage, as_of=AS_OF).sections]
    store_budget(storage)
    with storage.unit_of_work() as uow:
        assert funds_section(ReportContext(uow, FUNDED_AT - DAY)) is None


# Incentives.


def statement(
    partner_id: str, month: int, total: str, status: StatementStatus = StatementStatus.DRAFT
) -> Statement:
    start = datetime(2026, month, 1, tzinfo=UTC)
    end = datetime(2026, month + 1, 1, tzinfo=UTC)
    amount = Money(total, "USD")
    line = StatementLine("resale", LineKind.REWARD, amount, f"5% of resale: {amount}")
    return Statement(
        "plan_a",
        1,
        partner_id,
        start,
        end,
        "USD",
        None,
        (line,),
        amount,
        (),
        (),
        due_at=end + 9 * DAY,
        payable_at=end + 30 * DAY,
        status=status,
    )


def test_the_latest_due_period_shows_statements_by_status_and_per_partner() -> None:
    storage = with_partners()
    with storage.unit_of_work() as uow:
        for item in (
            statement("ptn_1", 4, "999.00", StatementStatus.PAID),
            statement("ptn_1", 5, "100.00"),
            statement("ptn_2", 5, "250.50", StatementStatus.APPROVED),
            statement("ptn_3", 5, "0.10"),
            statement("ptn_1", 6, "5000.00"),  # due in July: not yet computed
        ):
            uow.statements.add(item)
        uow.commit()
    section = build_report(storage, as_of=AS_OF).section("incentives")
    facts = {fact.key: fact.value for fact in section.facts}
    assert facts == {"plans": 1, "statements": 3, "draft": 2}
    by_status, per_partner = section.figures
    assert by_status.table.to_records() == [
        {"status": "draft", "statements": 2, "total": Decimal("100.10"), "currency": "USD"},
        {"status": "approved", "statements": 1, "total": Decimal("250.50"), "currency": "USD"},
    ]
    assert "2026-05-01 to 2026-06-01" in by_status.title
    assert [
        (r["partner_id"], r["partner"], r["status"], r["total"])
        for r in per_partner.table.to_records()
    ] == [
        ("ptn_2", "Nordic AB", "approved", Decimal("250.50")),
        ("ptn_1", "Acme Oy", "draft", Decimal("100.00")),
        ("ptn_3", "ptn_3", "draft", Decimal("0.10")),
    ]


def test_the_incentives_section_is_left_out_until_a_statement_is_due() -> None:
    storage = with_partners()
    with storage.unit_of_work() as uow:
        uow.statements.add(statement("ptn_1", 6, "10.00"))
        uow.commit()
    assert "incentives" not in [s.id for s in build_report(storage, as_of=AS_OF).sections]
    with storage.unit_of_work() as uow:
        assert incentives_section(ReportContext(uow, AS_OF)) is None
        later = incentives_section(ReportContext(uow, AS_OF + 30 * DAY))
    assert later is not None
    assert later.facts[1].value == 1
