"""The report's sections, its page, and the promises of the page: escaped, self-contained."""

import base64
import hashlib
import html
import re
import sys
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from partnerkit import Money
from partnerkit._cli.demo import ONBOARDING
from partnerkit.deals import Customer, DealRegistration, approve, submit
from partnerkit.errors import ValidationError
from partnerkit.partners import Partner, activate, start_onboarding
from partnerkit.report import (
    SECTIONS,
    Chart,
    ChartKind,
    Column,
    Figure,
    Report,
    ReportContext,
    Section,
    Series,
    Table,
    build_report,
)
from partnerkit.report import _render as render
from partnerkit.storage.memory import MemoryStorage
from partnerkit.tiers import Membership, TierAssignment, TierChangeCause, program_from_toml

AS_OF = datetime(2026, 6, 15, 12, tzinfo=UTC)
HOSTILE = '<script>alert("pwned")</script> & <b>Co</b>'

PROGRAM = program_from_toml(
    """
id = "prg"
name = "Ladder"
currency = "USD"
review = "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1"

[[tiers]]
id = "entry"
name = "Entry"
rank = 1

[[tiers]]
id = "gold"
name = "Gold"
rank = 2
"""
)


def partner(partner_id: str, name: str = "Acme Oy", created: datetime = AS_OF) -> Partner:
    return Partner(partner_id, name, "reseller", "FI", created_at=created - timedelta(days=90))


def stored(*partners: Partner, deals: tuple[DealRegistration, ...] = ()) -> MemoryStorage:
    storage = MemoryStorage()
    with storage.unit_of_work() as uow:
        for item in partners:
            uow.partners.add(item)
        for deal in deals:
            uow.deals.add(deal)
        uow.commit()
    return storage


def deal(deal_id: str, partner_id: str, at: datetime) -> DealRegistration:
    draft = DealRegistration(
        deal_id,
        partner_id,
        Customer("Bluefin Foods", "FI", domain="bluefin.example"),
        Money(Decimal(10_000), "EUR"),
        expected_close_on=date(2026, 12, 1),
        registered_at=at,
        products=("cloud",),
    )
    return submit(draft, actor="usr_1", at=at).value


def test_text_from_the_store_is_escaped_on_the_page() -> None:
    page = build_report(stored(partner("ptn_1", HOSTILE)), as_of=AS_OF).to_html()
    assert "<script>alert" not in page
    assert "<b>Co</b>" not in page


def test_the_page_refers_to_nothing_outside_itself() -> None:
    storage = stored(partner("ptn_1"), deals=(deal("d_1", "ptn_1", AS_OF - timedelta(days=5)),))
    page = build_report(storage, as_of=AS_OF).to_html()
    references = re.findall(r'\b(?:src|href|action|srcset)\s*=\s*"([^"]*)"', page)
    assert references
    assert all(reference.startswith("#") for reference in references)
    assert "<link" not in page
    assert "@import" not in page
    assert re.findall(r"https?://[^\s\"'<>]+", page) == ["http://www.w3.org/2000/svg"] * (
        page.count("<svg")
    )
    assert "default-src 'none'" in html.unescape(page)


def test_the_page_allows_only_its_own_script() -> None:
    page = build_report(stored(partner("ptn_1")), as_of=AS_OF).to_html()
    (script,) = re.findall(r"<script>(.*?)</script>", page, flags=re.DOTALL)
    digest = re.search(r"script-src 'sha256-([^']+)'", html.unescape(page))
    assert digest is not None
    assert digest[1] == base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()


def test_an_empty_store_says_what_is_missing() -> None:
    report = build_report(MemoryStorage(), as_of=AS_OF)
    assert [section.id for section in report.sections] == ["partners", "tiers", "health", "deals"]
    assert all(section.empty and not section.figures for section in report.sections)
    assert "The store holds no partners yet." in report.to_html()


def test_statuses_are_read_back_to_the_reports_instant() -> None:
    onboarding, _ = start_onboarding(
        partner("ptn_1"), ONBOARDING, actor="usr_m", at=AS_OF - timedelta(days=10)
    )
    activated = activate(onboarding, actor="usr_m", at=AS_OF + timedelta(days=1), force_reason="x")
    submitted = deal("d_1", "ptn_1", AS_OF - timedelta(days=2))
    approved = approve(submitted, actor="usr_m", at=AS_OF + timedelta(hours=1)).value
    storage = stored(activated.value, deals=(approved,))
    report = build_report(storage, as_of=AS_OF)
    rows = report.section("partners").figures[0].table.to_records()
    assert [(row["status"], row["count"]) for row in rows] == [("onboarding", 1)]
    deals = report.section("deals").figures[0].table.to_records()
    assert [(row["status"], row["count"]) for row in deals] == [("submitted", 1)]
    later = build_report(storage, as_of=AS_OF + timedelta(days=2))
    deals = later.section("deals").figures[0].table.to_records()
    assert [(row["status"], row["count"]) for row in deals] == [("approved", 1)]
    assert later.section("partners").facts[1].value == 1  # active


def test_records_made_after_the_reports_instant_are_left_out() -> None:
    storage = stored(partner("ptn_1"), partner("ptn_2", "Later Oy", AS_OF + timedelta(days=200)))
    report = build_report(storage, as_of=AS_OF)
    assert report.section("partners").facts[0].value == 1


def test_tier_movement_counts_the_latest_review() -> None:
    review = datetime(2026, 4, 1, tzinfo=UTC)
    storage = stored(partner("ptn_1"), partner("ptn_2", "Nordic AB"))
    with storage.unit_of_work() as uow:
        uow.programs.add(PROGRAM)
        joined = date(2026, 1, 1)
        start = datetime(2026, 1, 1, tzinfo=UTC)
        uow.memberships.add(Membership("ptn_1", "prg", joined, tier_id="gold"))
        uow.memberships.add(Membership("ptn_2", "prg", joined, tier_id="entry"))
        uow.tier_history.save(TierAssignment("ptn_1", "prg", "entry", start, review))
        uow.tier_history.save(
            TierAssignment("ptn_1", "prg", "gold", review, cause=TierChangeCause.UPGRADE)
        )
        uow.tier_history.save(TierAssignment("ptn_2", "prg", "entry", start))
        uow.commit()
    section = build_report(storage, as_of=AS_OF).section("tiers")
    held, moved, _ = section.figures
    counts = {row["tier"]: (row["before"], row["now"]) for row in held.table.to_records()}
    assert counts == {"Gold": (0, 1), "Entry": (2, 1), "no tier": (0, 0)}
    assert moved.table.to_records() == [
        {
            "partner_id": "ptn_1",
            "partner": "Acme Oy",
            "from": "Entry",
            "to": "Gold",
            "direction": "up",
            "since": review,
        }
    ]


def test_a_section_is_one_function_added_to_the_list() -> None:
    def leads_section(context: ReportContext) -> Section:
        table = Table("Leads by stage", (Column("Stage"), Column("Leads", numeric=True)), ())
        rows = (("new", len(context.partners())),)
        table = Table(table.caption, table.columns, rows)
        chart = Chart(ChartKind.BARS, ("new",), (Series("Leads", (1,), "#123456"),))
        return Section("leads", "Leads", figures=(Figure("leads-by-stage", "Leads", table, chart),))

    report = build_report(
        stored(partner("ptn_1")), as_of=AS_OF, sections=(*SECTIONS, leads_section)
    )
    assert report.sections[-1].id == "leads"
    page = report.to_html()
    assert 'id="leads-by-stage"' in page
    assert 'data-value="1"' in page


def test_a_row_with_the_wrong_number_of_cells_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"rows\[0\]"):
        Table("t", (Column("A"), Column("B")), (("only one",),))


def test_a_chart_needs_a_value_per_category() -> None:
    with pytest.raises(ValidationError, match="categories"):
        Chart(ChartKind.BARS, ("a", "b"), (Series("s", (1,), "#000000"),))


def test_records_use_the_columns_keys() -> None:
    table = Table("t", (Column("Protected until"), Column("Days left", numeric=True)), (("x", 3),))
    assert table.to_records() == [{"protected_until": "x", "days_left": 3}]


@pytest.mark.parametrize(
    ("cell", "numeric", "key"),
    [
        ("12.5%", True, "12.5"),
        ("1,234", True, "1234"),
        ("-", True, ""),
        (None, False, ""),
        (Decimal("0.91"), True, "0.91"),
        (date(2026, 1, 2), False, "2026-01-02"),
        ("Zeta", False, "zeta"),
    ],
)
def test_cells_sort_by_their_plain_value(cell: object, numeric: bool, key: str) -> None:
    assert render.sort_key(cell, numeric=numeric) == key  # type: ignore[arg-type]


def test_a_naive_instant_is_refused() -> None:
    with pytest.raises(ValidationError, match="as_of"):
        build_report(MemoryStorage(), as_of=datetime(2026, 1, 1))  # noqa: DTZ001


def test_rendering_without_jinja2_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    report = Report("t", AS_OF, ())
    render._environment.cache_clear()
    monkeypatch.setitem(sys.modules, "jinja2", None)
    try:
        with pytest.raises(ImportError, match=r"partnerkit\[report\]"):
            report.to_html()
    finally:
        render._environment.cache_clear()


def test_write_saves_the_page(tmp_path: Path) -> None:
    path = build_report(MemoryStorage(), as_of=AS_OF).write(tmp_path / "r.html")
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_a_report_shows_itself_framed_in_a_notebook() -> None:
    report = build_report(stored(partner("ptn_1", HOSTILE)), as_of=AS_OF)
    framed = report._repr_html_()
    assert framed.startswith("<iframe srcdoc=")
    assert html.unescape(framed.split('srcdoc="')[1].split('" title=')[0]) == report.to_html()
