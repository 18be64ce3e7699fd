"""The report in a real browser: Debian's Chromium, headless, driven by Playwright.

The page is opened from its file with the browser offline and every request
routed: anything but the page itself is a failure. The numbers each section
shows are compared with what the store says, read through the storage
protocols independently of the report's own code. A full-page screenshot is
saved under ``build/artefacts/`` (or ``$PARTNERKIT_ARTEFACTS``) for CI to keep.

Skipped only when no Chromium is installed at /usr/bin/chromium (``dev.py test``
and ``.ci/run`` install it with apt-get where they can).
"""

import os
from collections import Counter
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from partnerkit import FixedClock, Period
from partnerkit._cli.demo import AS_OF, HEALTH_MODEL, PROGRAM, RATES
from partnerkit._pages import every
from partnerkit.access import Actor, Role
from partnerkit.forecast import Dimension
from partnerkit.funds import reconcile
from partnerkit.leads import LeadStatus, OfferOutcome
from partnerkit.partners import PartnerStatus
from partnerkit.relationship import CertificationStatus, overdue_action_items
from partnerkit.report import (
    ATTRIBUTION_DAYS,
    CHECK_IN_POLICY,
    EXPIRING_DAYS,
    FORECAST_DRAWS,
    FORECAST_PERIODS,
    FORECAST_SEED,
    LAPSING_HOURS,
    build_report,
)
from partnerkit.services import Services
from partnerkit.storage.sqlite import SqliteStorage
from partnerkit.tiers import MembershipStatus

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]

playwright = pytest.importorskip(
    "playwright.sync_api", reason="Playwright is not installed: pip install 'partnerkit[test]'"
)

# Reads the page the way a person sees it: facts, tables (by column key) and chart bars.
READ_PAGE = """() => {
  const sections = {};
  for (const section of document.querySelectorAll("main > section")) {
    const facts = {};
    for (const dd of section.querySelectorAll("dd[data-fact]")) {
      facts[dd.dataset.fact] = dd.textContent;
    }
    const figures = {};
    for (const figure of section.querySelectorAll("figure")) {
      const rows = [...figure.querySelectorAll("tbody tr")].map(row => Object.fromEntries(
        [...row.cells].map(cell => [cell.dataset.key, cell.textContent])));
      const bars = [...figure.querySelectorAll("svg rect.bar")].map(bar => ({
        category: bar.dataset.category, series: bar.dataset.series, value: bar.dataset.value}));
      const visible = figure.getBoundingClientRect().height > 0;
      figures[figure.id] = {rows, bars, visible};
    }
    sections[section.id] = {facts, figures};
  }
  return sections;
}"""


def number(text: str) -> int:
    return int(text.replace(",", ""))


def amount(text: str) -> Decimal:
    return Decimal(text.replace(",", ""))


ADMIN = Actor("usr_admin", Role.ADMIN)


@pytest.fixture(scope="module")
def chromium() -> Path:
    if not CHROMIUM.exists():
        pytest.skip(
            "Chromium is not installed at /usr/bin/chromium and could not be installed "
            "here (dev.py test runs 'apt-get install -y chromium' when it can)"
        )
    return CHROMIUM


def open_in_chromium(chromium: Path, page_file: Path, screenshot: Path | None) -> dict[str, Any]:
    """Open ``page_file`` offline with every request routed; what it shows and did."""
    url = page_file.as_uri()
    problems: list[str] = []
    requests: list[str] = []
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(chromium), args=["--no-sandbox"])
        context = browser.new_context(offline=True, viewport={"width": 1200, "height": 900})

        def refuse(route: Any) -> None:
            if route.request.url != url:
                requests.append(route.request.url)
                route.abort()
            else:
                route.continue_()

        context.route("**/*", refuse)
        page = context.new_page()
        page.on("console", lambda m: m.type in {"error", "warning"} and problems.append(m.text))
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on("request", lambda r: r.url != url and requests.append(r.url))
        page.goto(url, wait_until="load")
        shown = page.evaluate(READ_PAGE)
        if screenshot is not None:
            page.screenshot(path=str(screenshot), full_page=True)
        sorting = None
        if page.locator("#partners-by-type").count():
            # Sort the partners-by-type table by its count, up then down.
            cells = '#partners-by-type td[data-key="count"]'
            read = "cells => cells.map(c => c.textContent)"
            heading = page.locator('#partners-by-type th[data-key="count"] button')
            heading.click()
            ascending = page.eval_on_selector_all(cells, read)
            marked = page.get_attribute('#partners-by-type th[data-key="count"]', "aria-sort")
            heading.click()
            sorting = (ascending, marked, page.eval_on_selector_all(cells, read))
        browser.close()
    return {"shown": shown, "problems": problems, "requests": requests, "sorting": sorting}


@pytest.fixture(scope="module")
def page_file(
    demo_store: tuple[Path, tuple[str, str]], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    storage = SqliteStorage(demo_store[0])
    try:
        report = build_report(storage, as_of=AS_OF, rates=RATES)
    finally:
        storage.close()
    return report.write(tmp_path_factory.mktemp("page") / "report.html")


@pytest.fixture(scope="module")
def opened(
    chromium: Path, demo_store: tuple[Path, tuple[str, str]], page_file: Path
) -> dict[str, Any]:
    """The report opened in Chromium: what the page shows, its console, its requests."""
    artefacts = Path(os.environ.get("PARTNERKIT_ARTEFACTS", ROOT / "build" / "artefacts"))
    artefacts.mkdir(parents=True, exist_ok=True)
    shot = artefacts / "report.png"
    shot.unlink(missing_ok=True)
    found = open_in_chromium(chromium, page_file, shot)
    path, contested = demo_store
    return {**found, "path": path, "contested": contested, "screenshot": shot}


def test_the_page_logs_no_error_and_requests_nothing(opened: dict[str, Any]) -> None:
    assert opened["problems"] == []
    assert opened["requests"] == []


def test_a_screenshot_is_kept(opened: dict[str, Any]) -> None:
    assert opened["screenshot"].stat().st_size > 10_000


def test_every_section_and_figure_renders(opened: dict[str, Any]) -> None:
    shown = opened["shown"]
    assert list(shown) == [
        "partners",
        "tiers",
        "health",
        "deals",
        "funnel",
        "forecast",
        "relationship",
        "leads",
        "funds",
        "incentives",
    ]
    for section in shown.values():
        for figure_id, figure in section["figures"].items():
            assert figure["visible"], figure_id


def test_partners_match_the_store(opened: dict[str, Any]) -> None:
    storage = SqliteStorage(opened["path"])
    with storage.unit_of_work() as uow:
        partners = every(lambda cursor: uow.partners.query(limit=1000, cursor=cursor))
    storage.close()
    section = opened["shown"]["partners"]
    assert number(section["facts"]["partners"]) == len(partners)
    statuses = Counter(p.status.value for p in partners)
    figure = section["figures"]["partners-by-status"]
    assert {r["status"]: number(r["count"]) for r in figure["rows"]} == statuses
    assert {b["category"]: number(b["value"]) for b in figure["bars"]} == statuses
    types = Counter(p.type.replace("_", " ") for p in partners)
    rows = section["figures"]["partners-by-type"]["rows"]
    assert {r["type"]: number(r["count"]) for r in rows} == types


def test_tiers_match_the_store(opened: dict[str, Any]) -> None:
    storage = SqliteStorage(opened["path"])
    with storage.unit_of_work() as uow:
        members = every(lambda cursor: uow.memberships.query(program_id=PROGRAM.id, cursor=cursor))
    storage.close()
    held = Counter(PROGRAM.tier(m.tier_id).name if m.tier_id else "no tier" for m in members)
    rows = opened["shown"]["tiers"]["figures"][f"tiers-{PROGRAM.id}"]["rows"]
    now = {r["tier"]: number(r["now"]) for r in rows}
    assert {tier: count for tier, count in now.items() if count} == held
    assert sum(number(r["before"]) for r in rows) == len(members)
    moves = opened["shown"]["tiers"]["figures"][f"tier-moves-{PROGRAM.id}"]["rows"]
    moved = sum(abs(number(r["change"])) for r in rows)
    assert moved <= 2 * len(moves)
    assert number(opened["shown"]["tiers"]["facts"]["moved"]) == len(moves)


def test_health_matches_the_store(opened: dict[str, Any]) -> None:
    storage = SqliteStorage(opened["path"])
    with storage.unit_of_work() as uow:
        latest = every(lambda cursor: uow.scores.query(model=HEALTH_MODEL.name, cursor=cursor))
    storage.close()
    bands = Counter(score.band for score in latest)
    figures = opened["shown"]["health"]["figures"]
    runs = figures["health-over-time-channel-health"]["rows"]
    last = runs[-1]
    assert last["as_of"] == f"{AS_OF:%Y-%m-%d %H:%M}"
    for band in HEALTH_MODEL.bands:
        assert number(last[band.name]) == bands[band.name], band.name
    assert number(last["scored"]) == len(latest)
    healthy = HEALTH_MODEL.bands[-1].name
    at_risk = {score.partner_id for score in latest if score.band != healthy}
    rows = figures["at-risk-channel-health"]["rows"]
    assert {r["partner_id"] for r in rows} == at_risk
    assert all(r["reasons"] for r in rows)
    values = [float(r["score"]) for r in rows if r["score"] != "-"]
    assert values == sorted(values)


def test_deals_match_the_store(opened: dict[str, Any]) -> None:
    storage = SqliteStorage(opened["path"])
    with storage.unit_of_work() as uow:
        deals = every(lambda cursor: uow.deals.query(cursor=cursor))
        expiring = uow.deals.expiring_within(AS_OF, AS_OF + timedelta(days=EXPIRING_DAYS))
    storage.close()
    # Registrations made by the report's instant (the demo's leads become registrations
    # after it), each with the status of its last move by then.
    counts = Counter(
        [change for change in deal.history if change.at <= AS_OF][-1].to_status.value
        for deal in deals
        if deal.registered_at <= AS_OF
    )
    section = opened["shown"]["deals"]
    figure = section["figures"]["deals-by-status"]
    assert {r["status"]: number(r["count"]) for r in figure["rows"]} == {
        status: count for status, count in counts.items() if count
    }
    assert number(section["facts"]["registrations"]) == sum(counts.values())
    rows = section["figures"]["deals-expiring"]["rows"]
    assert [r["registration"] for r in rows] == [deal.id for deal in expiring]
    first, later = opened["contested"]
    conflicts = section["figures"]["deal-conflicts"]["rows"]
    assert {"registration": later, "other_id": first, "found": "open"}.items() <= next(
        row for row in conflicts if row["registration"] == later
    ).items()
    funnel = opened["shown"]["funnel"]["figures"]["deal-funnel"]["rows"]
    assert number(funnel[-1]["registrations"]) == counts["won"]


def test_forecast_matches_the_services_forecast(opened: dict[str, Any]) -> None:
    storage = SqliteStorage(opened["path"])
    try:
        services = Services(storage, clock=FixedClock(AS_OF))
        expected = services.forecast_pipeline(
            ADMIN,
            as_of=AS_OF,
            period=Period.of_months(3),
            periods=FORECAST_PERIODS,
            draws=FORECAST_DRAWS,
            seed=FORECAST_SEED,
        )
        won = services.attribute_won_deals(
            ADMIN,
            won_since=AS_OF - timedelta(days=ATTRIBUTION_DAYS),
            won_before=AS_OF + timedelta(microseconds=1),
        )
    finally:
        storage.close()
    assert expected.deals, "the demo store has open registrations to forecast"
    section = opened["shown"]["forecast"]
    assert number(section["facts"]["open"]) == len(expected.deals)
    lines = [expected.line(Dimension.TOTAL, period=p.index) for p in expected.periods]
    assert amount(section["facts"]["expected_usd"]) == lines[0].expected.amount
    figure = section["figures"]["forecast-usd"]
    assert [
        (
            r["period"],
            number(r["deals"]),
            *(amount(r[k]) for k in ("expected", "p10", "p50", "p90")),
        )
        for r in figure["rows"]
    ] == [
        (
            p.label,
            line.deals,
            line.expected.amount,
            line.p10.amount,
            line.p50.amount,
            line.p90.amount,
        )
        for p, line in zip(expected.periods, lines, strict=True)
    ]
    bars = {(b["category"], b["series"]): amount(b["value"]) for b in figure["bars"]}
    for period, line in zip(expected.periods, lines, strict=True):
        assert bars[period.label, "Expected"] == line.expected.amount
        assert bars[period.label, "p10"] == line.p10.amount
        assert bars[period.label, "p90"] == line.p90.amount
    credited = section["figures"]["attribution-usd"]["rows"]
    assert {
        r["partner_id"]: (amount(r["sourced"]), amount(r["influenced"]), amount(r["total"]))
        for r in credited
    } == {
        c.partner_id: (c.sourced.amount, c.influenced.amount, c.total.amount) for c in won.partners
    }
    assert amount(section["facts"]["won_usd"]) == sum(d.amount.amount for d in won.deals)


def test_relationship_matches_the_store(opened: dict[str, Any]) -> None:
    storage = SqliteStorage(opened["path"])
    try:
        services = Services(storage, clock=FixedClock(AS_OF), rates=RATES)
        today = AS_OF.date()
        plans = [
            plan
            for plan in every(lambda c: services.list_plans(ADMIN, limit=1000, cursor=c))
            if plan.starts_on <= today <= plan.ends_on
        ]
        at_risk = {
            (plan.partner_id, goal.goal.id, goal.gap)
            for plan in plans
            for goal in services.plan_progress(ADMIN, plan.id, as_of=AS_OF).at_risk
        }
        with storage.unit_of_work() as uow:
            partners = every(lambda c: uow.partners.query(limit=1000, cursor=c))
            tiers = {}
            for partner in partners:
                for m in uow.memberships.for_partner(partner.id):
                    if m.tier_id is not None and m.status is not MembershipStatus.ENDED:
                        tiers.setdefault(partner.id, m.tier_id)
        active = {p.id for p in partners if p.status is PartnerStatus.ACTIVE}
        overdue = [
            row
            for row in services.overdue_check_ins(ADMIN, CHECK_IN_POLICY, as_of=AS_OF, tiers=tiers)
            if row.partner_id in active
        ]
        check_ins = every(lambda c: services.list_check_ins(ADMIN, limit=1000, cursor=c))
        certifications = every(lambda c: services.list_certifications(ADMIN, limit=1000, cursor=c))
        everyone = services.nps_report(ADMIN, by=lambda answer: "all", until=AS_OF)
        by_tier = services.nps_report(
            ADMIN,
            by=lambda answer: (
                PROGRAM.tier(tiers[answer.partner_id]).name
                if answer.partner_id in tiers
                else "no tier"
            ),
            until=AS_OF,
        )
    finally:
        storage.close()
    section = opened["shown"]["relationship"]
    facts, figures = section["facts"], section["figures"]
    assert plans, "the demo agrees a joint business plan"
    assert number(facts["plans"]) == len(plans)
    rows = figures["plans-at-risk"]["rows"]
    assert {(r["partner_id"], r["goal"], r["gap"]) for r in rows} == at_risk
    assert number(facts["goals_at_risk"]) == len(at_risk)

    late = figures["check-ins-overdue"]["rows"]
    assert [(r["partner_id"], number(r["days_overdue"])) for r in late] == [
        (row.partner_id, row.overdue_days) for row in overdue
    ]
    assert number(facts["check_ins_overdue"]) == len(overdue)
    slipped = overdue_action_items(check_ins, on=AS_OF.date())
    assert [r["action"] for r in figures["action-items-overdue"]["rows"]] == [
        row.item.title for row in slipped
    ]
    assert [row.item.title for row in slipped] == ["Send the quarter's forecast"]

    lapsing = {
        (c.person, c.status_on(AS_OF.date()).value)
        for c in certifications
        if c.status_on(AS_OF.date()) in {CertificationStatus.EXPIRING, CertificationStatus.EXPIRED}
    }
    assert {("p_ada", "expiring"), ("p_bo", "expired")} <= lapsing
    shown = figures["certifications-lapsing"]["rows"]
    assert {(r["person"], r["status"]) for r in shown} == lapsing

    nps_rows = {r["group"]: r for r in figures["nps"]["rows"]}
    overall = everyone["all"]
    assert number(nps_rows["all answers"]["answers"]) == overall.responses
    assert amount(nps_rows["all answers"]["nps"]) == overall.score
    assert amount(nps_rows["all answers"]["low"]) == overall.low
    assert amount(nps_rows["all answers"]["high"]) == overall.high
    assert {name: amount(nps_rows[name]["nps"]) for name in by_tier} == {
        name: result.score for name, result in by_tier.items()
    }
    assert len(nps_rows) == 1 + len(by_tier)


def money(amount: Decimal) -> str:
    return f"{amount:,}"


def test_leads_match_the_store(opened: dict[str, Any]) -> None:
    storage = SqliteStorage(opened["path"])
    with storage.unit_of_work() as uow:
        leads = [
            lead
            for lead in every(lambda cursor: uow.leads.query(cursor=cursor))
            if lead.received_at <= AS_OF
        ]
    storage.close()
    statuses: Counter[str] = Counter()
    offers: dict[str, Counter[str]] = {}
    lapsing = []
    for lead in leads:
        # The status after the last move made by the report's instant.
        moves = [step for step in lead.history if step.at <= AS_OF]
        status = moves[-1].to_status if moves else LeadStatus.NEW
        statuses[status.value] += 1
        made = [item for item in lead.offers if item.offered_at <= AS_OF]
        for item in made:
            answered = item.answered_at is not None and item.answered_at <= AS_OF
            outcome = item.outcome if answered else OfferOutcome.PENDING
            found = offers.setdefault(item.partner_id, Counter())
            found["offered"] += 1
            found[outcome.value] += 1
        if status is LeadStatus.OFFERED and made:
            expires = made[-1].expires_at
            if AS_OF < expires <= AS_OF + timedelta(hours=LAPSING_HOURS):
                lapsing.append((expires, lead.id))
    section = opened["shown"]["leads"]
    assert number(section["facts"]["leads"]) == len(leads)
    assert number(section["facts"]["offered"]) == statuses["offered"]
    figure = section["figures"]["leads-by-status"]
    assert {r["status"]: number(r["count"]) for r in figure["rows"]} == statuses
    assert {b["category"]: number(b["value"]) for b in figure["bars"]} == statuses
    assert {"accepted", "lapsed", "offered"} <= set(statuses)
    rows = section["figures"]["lead-offers"]["rows"]
    shown = {
        r["partner_id"]: {
            key: number(r[key]) for key in ("offered", "accepted", "declined", "lapsed", "pending")
        }
        for r in rows
    }
    assert shown == {
        partner_id: {
            key: found[key] for key in ("offered", "accepted", "declined", "lapsed", "pending")
        }
        for partner_id, found in offers.items()
    }
    for r in rows:
        found = offers[r["partner_id"]]
        assert r["acceptance_rate"] == f"{100 * found['accepted'] / found['offered']:.1f}%"
    assert sum(found["declined"] for found in offers.values()) >= 1
    shown_lapsing = [r["lead"] for r in section["figures"]["leads-lapsing"]["rows"]]
    assert shown_lapsing == [lead_id for _, lead_id in sorted(lapsing)]
    assert number(section["facts"]["lapsing"]) == len(lapsing)


def test_funds_match_the_store(opened: dict[str, Any]) -> None:
    storage = SqliteStorage(opened["path"])
    with storage.unit_of_work() as uow:
        budgets = every(lambda cursor: uow.fund_budgets.query(cursor=cursor))
        records = {
            budget.id: (
                every(lambda c, b=budget.id: uow.fund_requests.query(budget_id=b, cursor=c)),
                every(lambda c, b=budget.id: uow.fund_claims.query(budget_id=b, cursor=c)),
            )
            for budget in budgets
        }
    storage.close()
    section = opened["shown"]["funds"]
    rows = {r["budget"]: r for r in section["figures"]["fund-budgets"]["rows"]}
    assert set(rows) == {budget.id for budget in budgets}
    assert budgets
    for budget in budgets:
        pools = [pool.balance for pool in budget.allocations]
        zero = Decimal(0)
        allocated = sum((b.allocated.amount for b in pools), zero)
        pending = sum((b.pending.amount for b in pools), zero)
        approved = sum((b.approved.amount for b in pools), zero)
        expected = {
            "funded": budget.funded.amount,
            "allocated": allocated,
            "requested": pending + approved,
            "approved": approved,
            "claimed": sum((b.claimed.amount for b in pools), zero),
            "paid": sum((b.paid.amount for b in pools), zero),
            "available": allocated - pending - approved,
            "forfeited": sum((b.forfeited.amount for b in pools), budget.forfeited.amount),
        }
        row = rows[budget.id]
        assert {key: row[key] for key in expected} == {
            key: money(value) for key, value in expected.items()
        }
        # Every euro (or dollar) of the budget is somewhere.
        assert expected["funded"] == (budget.unallocated.amount + allocated + expected["forfeited"])
        requests, claims = records[budget.id]
        assert row["reconciles"] == ("no" if reconcile(budget, requests, claims) else "yes")
        bars = section["figures"][f"fund-{budget.id.replace('_', '-')}"]["bars"]
        assert {b["category"]: b["value"] for b in bars} == {
            key: money(value) for key, value in expected.items() if key != "funded"
        }
    assert section["facts"]["reconciled"].endswith(f"of {len(budgets)}")


def test_incentives_match_the_store(opened: dict[str, Any]) -> None:
    storage = SqliteStorage(opened["path"])
    with storage.unit_of_work() as uow:
        due = [
            s
            for s in every(lambda cursor: uow.statements.query(cursor=cursor))
            if s.due_at <= AS_OF
        ]
    storage.close()
    assert due
    section = opened["shown"]["incentives"]
    for plan_id in {s.plan_id for s in due}:
        start = max(s.period_start for s in due if s.plan_id == plan_id)
        latest = [s for s in due if s.plan_id == plan_id and s.period_start == start]
        slug = plan_id.replace("_", "-")
        by_status = section["figures"][f"statements-by-status-{slug}"]
        counts = Counter(s.status.value for s in latest)
        totals: dict[str, Decimal] = {}
        for s in latest:
            totals[s.status.value] = totals.get(s.status.value, Decimal(0)) + s.total.amount
        assert {r["status"]: number(r["statements"]) for r in by_status["rows"]} == counts
        assert {r["status"]: r["total"] for r in by_status["rows"]} == {
            status: money(total) for status, total in totals.items()
        }
        assert {b["category"]: number(b["value"]) for b in by_status["bars"]} == counts
        rows = section["figures"][f"statements-{slug}"]["rows"]
        assert {r["partner_id"]: (r["status"], r["total"]) for r in rows} == {
            s.partner_id: (s.status.value, money(s.total.amount)) for s in latest
        }
        shown_totals = [Decimal(r["total"].replace(",", "")) for r in rows]
        assert shown_totals == sorted(shown_totals, reverse=True)


def test_tables_sort_by_a_column_both_ways(opened: dict[str, Any]) -> None:
    ascending, sorted_as, descending = opened["sorting"]
    assert [number(n) for n in ascending] == sorted(number(n) for n in ascending)
    assert sorted_as == "ascending"
    assert descending == ascending[::-1] or [number(n) for n in descending] == sorted(
        (number(n) for n in ascending), reverse=True
    )


def test_the_checks_catch_a_request_and_a_console_error(
    chromium: Path, page_file: Path, tmp_path: Path
) -> None:
    # The same page with a remote image and a script the page's policy refuses to run.
    html = page_file.read_text(encoding="utf-8").replace(
        "</main>",
        '<img src="https://example.com/pixel.png" alt=""><script>window.ran = 1</script></main>',
    )
    tampered = tmp_path / "tampered.html"
    tampered.write_text(html, encoding="utf-8")
    found = open_in_chromium(chromium, tampered, None)
    assert found["requests"]
    assert any("Content Security Policy" in problem for problem in found["problems"])
