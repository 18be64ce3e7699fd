import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from partnerkit.__main__ import main
from partnerkit.storage.sql import SqlStorage
from partnerkit.storage.sqlite import SqliteStorage

if TYPE_CHECKING:
    import sqlalchemy as sa


def run_demo(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["demo", "--partners", "60", *args]) == 0
    return capsys.readouterr().out


def test_demo_prints_a_channel_managers_report(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_demo(capsys, "--seed", "3")
    for heading in (
        "partnerkit demo: 60 partners",
        "Top partners by revenue in the trailing 12 months",
        "Tier review of 2026-10-01 (Channel Partner Program)",
        "Health bands",
        "At-risk partners and why",
        "Deal registrations over the last six months",
        "expiry sweep today",
        "Pipeline forecast for 2026-11-22..2027-02-21",
        "Forecast backtest, one month ahead from 24 past dates",
        "Relationship",
        "joint business plan with",
        "partners with an overdue check-in",
        "activation journey of the",
        "partner NPS",
        "Incentive statements for 2026-10-01 to 2026-11-01",
        "the largest, approved by",
        "Lead desk (demo inbound",
        "why the first offers went where they went",
    ):
        assert heading in out


def test_the_demo_routes_leads_and_explains_them(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_demo(capsys, "--seed", "3")
    desk = out[out.index("Lead desk") :]
    assert " -> ptn_" in desk
    assert "candidates, drew" in desk


def test_demo_is_deterministic_for_a_seed(capsys: pytest.CaptureFixture[str]) -> None:
    first = run_demo(capsys, "--seed", "11")
    assert run_demo(capsys, "--seed", "11") == first
    assert run_demo(capsys, "--seed", "12") != first


def test_demo_keeps_its_network_in_the_named_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "network.db"
    out = run_demo(capsys, "--db", str(path))
    assert str(path) in out
    storage = SqliteStorage(path)
    try:
        with storage.unit_of_work() as uow:
            assert len(uow.partners.query(limit=1000).items) == 60
    finally:
        storage.close()
    run_demo(capsys, "--db", str(path))  # a second run replaces the file, it does not clash


def test_bad_arguments_exit_with_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--partners", "0"])
    assert exit_info.value.code == 2
    assert "at least 1" in capsys.readouterr().err


def test_version_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith("partnerkit ")


def test_console_script_runs_as_a_module() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "partnerkit", "demo", "--partners", "20"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Health bands" in result.stdout
    assert "generating 20 partners" in result.stderr


MODEL_TOML = """
name = "Starter"
version = 1

[[measures]]
name = "deals"
metric = "deals_won"
weight = 2
normalizer = { kind = "linear", low = 0, high = 10 }

[[measures]]
name = "logins"
metric = "days_since_login"
weight = 1
normalizer = { kind = "recency", half_life_days = 30 }
"""


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    path = tmp_path / "model.toml"
    path.write_text(MODEL_TOML, encoding="utf-8")
    return path


def test_score_reads_a_metrics_csv_and_prints_a_table(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, model_file: Path
) -> None:
    metrics = tmp_path / "metrics.csv"
    metrics.write_text(
        "partner_id,deals_won,days_since_login\nptn_1,6,30\nptn_2,1,\n", encoding="utf-8"
    )
    code = main(
        ["score", "--model", str(model_file), "--input", str(metrics),
         "--as-of", "2026-11-22T00:00:00Z"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "ptn_1                      56.7  at_risk" in out
    assert "ptn_2                      10.0  critical" in out


def test_score_writes_json_and_csv_for_pipes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, model_file: Path
) -> None:
    metrics = tmp_path / "metrics.json"
    metrics.write_text(
        '[{"partner_id": "ptn_1", "as_of": "2026-11-22T00:00:00Z",'
        ' "values": {"deals_won": 6, "days_since_login": 30}}]',
        encoding="utf-8",
    )
    assert (
        main(["score", "--model", str(model_file), "--input", str(metrics), "--format", "json"])
        == 0
    )
    assert '"value": "56.7"' in capsys.readouterr().out
    assert (
        main(["score", "--model", str(model_file), "--input", str(metrics), "--format", "csv"]) == 0
    )
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("partner_id,as_of,model")
    assert lines[1].startswith("ptn_1,")


def test_score_names_the_line_and_column_of_a_bad_cell(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, model_file: Path
) -> None:
    metrics = tmp_path / "metrics.csv"
    metrics.write_text(
        "partner_id,as_of,deals_won\nptn_1,2026-11-22T00:00:00Z,6\nptn_2,yesterday,x\n",
        encoding="utf-8",
    )
    assert main(["score", "--model", str(model_file), "--input", str(metrics)]) == 1
    err = capsys.readouterr().err
    assert "line 3, column 2 (as_of)" in err
    assert "line 3, column 3 (deals_won): 'x' is not a number or money" in err


def test_score_refuses_a_file_of_another_kind(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, model_file: Path
) -> None:
    other = tmp_path / "metrics.xlsx"
    other.write_text("", encoding="utf-8")
    assert main(["score", "--model", str(model_file), "--input", str(other)]) == 1
    assert "give a .csv or .json file" in capsys.readouterr().err


def test_tiers_reports_the_tier_each_partner_earns_and_the_gap(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    program = tmp_path / "program.toml"
    program.write_text(
        """
id = "prg"
name = "Channel"
currency = "USD"
review = "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1"

[[metrics]]
name = "revenue_12m"
aggregate = "sum"
kinds = ["revenue_booked"]
window = "P12M"
currency = "USD"

[[tiers]]
id = "registered"
name = "Registered"
rank = 1

[[tiers]]
id = "silver"
name = "Silver"
rank = 2
requirements.all_of = [{ metric = "revenue_12m", comparison = ">=", threshold = "25,000 USD" }]
""",
        encoding="utf-8",
    )
    metrics = tmp_path / "metrics.csv"
    metrics.write_text(
        "partner_id,revenue_12m\nptn_1,30000 USD\nptn_2,10000 USD\n", encoding="utf-8"
    )
    args = ["tiers", "--program", str(program), "--input", str(metrics)]
    assert main([*args, "--as-of", "2026-11-22T00:00:00Z"]) == 0
    out = capsys.readouterr().out
    assert "ptn_1                    Silver" in out
    assert "ptn_2                    Registered" in out
    assert "needs 15,000.00 USD more revenue 12m in the trailing 12 months" in out


def test_demo_counts_only_onboarding_partners_as_overdue(
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = run_demo(capsys, "--seed", "3")
    statuses = next(line for line in out.splitlines() if "by status:" in line)
    overdue = next(line for line in out.splitlines() if "overdue steps" in line)
    onboarding = int(statuses.split("onboarding ")[1].split(",")[0])
    assert int(overdue.rsplit(" ", 1)[1]) <= onboarding


def test_deals_check_explains_conflicts_and_exits_3(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    registrations = tmp_path / "deals.csv"
    registrations.write_text(
        "id,partner_id,customer,country,domain,products\n"
        "r1,p1,Acme Oy,FI,acme.fi,cloud\n"
        "r2,p2,ACME Oy.,FI,,cloud\n"
        "r3,p3,Zenith AB,SE,zenith.se,\n",
        encoding="utf-8",
    )
    assert main(["deals", "check", "--input", str(registrations)]) == 3
    out = capsys.readouterr().out
    assert "r2 conflicts with registration r1 by partner p1" in out
    assert "same normalised name 'acme'" in out
    assert out.rstrip().endswith("1 conflict(s) found")
    clean = tmp_path / "clean.csv"
    clean.write_text("id,partner_id,customer,country\nr1,p1,Acme Oy,FI\n", encoding="utf-8")
    assert main(["deals", "check", "--input", str(clean)]) == 0


def test_deals_check_names_bad_lines(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    registrations = tmp_path / "deals.csv"
    registrations.write_text("id,partner_id,customer,country\nr1,p1,Acme,XX\n", encoding="utf-8")
    assert main(["deals", "check", "--input", str(registrations)]) == 1
    assert "line 2" in capsys.readouterr().err


def test_a_metric_the_program_cannot_compare_is_named_with_its_row(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    program = tmp_path / "program.toml"
    program.write_text(
        'id = "prg"\nname = "Channel"\ncurrency = "USD"\n'
        'review = "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1"\n\n'
        '[[metrics]]\nname = "revenue"\naggregate = "sum"\nwindow = "P12M"\n'
        'currency = "USD"\n\n'
        '[[tiers]]\nid = "registered"\nname = "Registered"\nrank = 1\n\n'
        '[[tiers]]\nid = "silver"\nname = "Silver"\nrank = 2\n'
        'requirements.all_of = [{ metric = "revenue", comparison = ">=", '
        'threshold = "25,000 USD" }]\n',
        encoding="utf-8",
    )
    metrics = tmp_path / "metrics.csv"
    metrics.write_text(
        "partner_id,as_of,revenue\nptn_1,2026-11-22T00:00:00Z,30000 USD\n"
        "ptn_2,2026-11-22T00:00:00Z,5\n",
        encoding="utf-8",
    )
    assert main(["tiers", "--program", str(program), "--input", str(metrics)]) == 1
    out, err = capsys.readouterr()
    assert out == ""  # nothing is printed before every partner is evaluated
    assert err.startswith(f"partnerkit: {metrics}, line 3 (partner ptn_2), snapshot.values")
    assert "compares it with money in USD" in err


def test_money_in_two_currencies_is_refused_naming_the_file_and_partner(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, model_file: Path
) -> None:
    metrics = tmp_path / "metrics.csv"
    metrics.write_text(
        "partner_id,as_of,deals_won\nptn_1,2026-11-22T00:00:00Z,5 USD\n"
        "ptn_2,2026-11-22T00:00:00Z,5 EUR\n",
        encoding="utf-8",
    )
    assert main(["score", "--model", str(model_file), "--input", str(metrics)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"partnerkit: {metrics}, values['deals_won']: partner 'ptn_2'")


def test_score_csv_output_defuses_formula_cells(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, model_file: Path
) -> None:
    metrics = tmp_path / "metrics.csv"
    metrics.write_text(
        'partner_id,as_of,deals_won\n=HYPERLINK("http://x"),2026-11-22T00:00:00Z,5\n',
        encoding="utf-8",
    )
    assert (
        main(["score", "--model", str(model_file), "--input", str(metrics), "--format", "csv"]) == 0
    )
    assert capsys.readouterr().out.splitlines()[1].startswith('"\'=HYPERLINK(""http://x"")",')


def test_a_file_over_max_size_is_refused_with_the_option_to_raise(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, model_file: Path
) -> None:
    metrics = tmp_path / "metrics.csv"
    metrics.write_text("partner_id,deals_won\n" + "ptn_1,5\n" * 300, encoding="utf-8")
    args = ["score", "--model", str(model_file), "--input", str(metrics), "--max-size", "1KB"]
    assert main(args) == 1
    assert "over the 1,024 bytes limit; if the file is right, raise the limit with --max-size" in (
        capsys.readouterr().err
    )


def test_demo_runs_on_a_postgresql_server_url(
    capsys: pytest.CaptureFixture[str], postgres_engine: "sa.Engine"
) -> None:
    # A plain postgresql:// URL, as a host writes it: the demo picks psycopg 3.
    url = postgres_engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    out = run_demo(capsys, "--db", url)
    assert "partnerkit demo: 60 partners" in out
    assert "open it with partnerkit.storage.sql.SqlStorage" in out
    storage = SqlStorage(postgres_engine)
    with storage.unit_of_work() as uow:
        assert len(uow.partners.query(limit=1000).items) == 60
    # A database that already holds a network is left alone.
    assert main(["demo", "--partners", "5", "--db", url]) == 1
    assert "already holds partners" in capsys.readouterr().err
    with storage.unit_of_work() as uow:
        assert len(uow.partners.query(limit=1000).items) == 60


def test_demo_names_a_url_it_cannot_use(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--partners", "5", "--db", "nosuchdb://host/db"]) == 1
    assert "cannot use nosuchdb:// URLs" in capsys.readouterr().err
