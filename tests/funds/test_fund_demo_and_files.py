"""The demo's fund section, `partnerkit funds report`, and files from before funds."""

import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from partnerkit import Money
from partnerkit.__main__ import main
from partnerkit.funds import FundTerms, new_budget
from partnerkit.storage.sqlite import SqliteStorage
from partnerkit.storage.sqlite._schema import MIGRATION_TABLES, MIGRATIONS


def test_the_demo_runs_a_fund_from_budget_to_settlement(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["demo", "--partners", "60", "--seed", "3", "--db", str(tmp_path / "d.db")]) == 0
    out = capsys.readouterr().out
    section = out[out.index("Market development fund") :]
    assert "approved 9,000.00 USD of the 10,800.00 USD the terms reimburse" in section
    assert "paid 9,000.00 USD" in section
    assert "forfeited the 30,000.00 USD never allocated" in section
    assert "closed: allocated 19,800.00 USD = requested 19,800.00 USD" in section


def test_funds_report_checks_every_budget_of_a_file_against_its_records(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "d.db"
    assert main(["demo", "--partners", "30", "--seed", "5", "--db", str(path)]) == 0
    capsys.readouterr()
    assert main(["funds", "report", "--db", str(path)]) == 0
    assert "reconciles with its 3 request(s) and 2 claim(s) to the cent" in capsys.readouterr().out
    with sqlite3.connect(path) as db:  # a claim lost outside partnerkit
        (claim_id,) = db.execute("SELECT id FROM fund_claims ORDER BY id LIMIT 1").fetchone()
        db.execute("DELETE FROM fund_claims WHERE id = ?", (claim_id,))
    assert main(["funds", "report", "--db", str(path)]) == 1
    assert "DOES NOT RECONCILE: request" in capsys.readouterr().out


def test_funds_report_never_creates_a_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["funds", "report", "--db", str(tmp_path / "none.db")]) == 1
    assert "no such file" in capsys.readouterr().err
    assert not (tmp_path / "none.db").exists()


def test_a_file_from_before_funds_is_upgraded_on_open_and_stores_budgets(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    SqliteStorage(path).close()
    # The file as the release before funds wrote it: without that step and any after it.
    step = next(i for i, tables in enumerate(MIGRATION_TABLES) if "fund_budgets" in tables)
    with sqlite3.connect(path) as db:
        for tables in MIGRATION_TABLES[step:]:
            for table in tables:
                db.execute(f"DROP TABLE {table}")
        db.execute(f"PRAGMA user_version = {step}")
    store = SqliteStorage(path)
    at = datetime(2026, 1, 5, tzinfo=UTC)
    terms = FundTerms(request_deadline=date(2026, 3, 31), claim_deadline=date(2026, 4, 30))
    budget = new_budget(
        budget_id="mdf_1",
        program_id="prg_1",
        name="MDF",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 3, 31),
        terms=terms,
        amount=Money("100.00", "EUR"),
        at=at,
    )
    with store.unit_of_work() as uow:
        uow.fund_budgets.add(budget)
        uow.commit()
    assert store.unit_of_work().fund_budgets.get("mdf_1").funded == Money("100.00", "EUR")
    store.close()
    with sqlite3.connect(path) as db:
        (version,) = db.execute("PRAGMA user_version").fetchone()
    assert version == len(MIGRATIONS)
    assert {"fund_budgets", "fund_requests", "fund_claims"} == MIGRATION_TABLES[step]
