"""``partnerkit incentives statement``: a plan file and an activities CSV in, statements out."""

import json
from pathlib import Path

import pytest

from partnerkit.__main__ import EXIT_ERROR, EXIT_OK, main

PLAN = """
id = "plan_resale"
version = 1
name = "Resale commission"
currency = "USD"

[[rules]]
id = "resale"
label = "Resale"
basis = "revenue_booked"
reward = "percentage"
bands = [{above = 0, rate = 3}, {above = 10000, rate = 5, tiers = ["gold"]}]
"""

ACTIVITIES = """id,partner_id,kind,occurred_at,amount,currency,product,split,reverses
s1,ptn_a,revenue_booked,2026-01-05T10:00:00Z,"22,000.00",USD,cloud,,
s2,ptn_b,revenue_booked,2026-01-07T10:00:00Z,100.00,USD,cloud,ptn_a:1;ptn_b:1,
r1,ptn_a,reversal,2026-02-03T10:00:00Z,,,,,s1
"""


@pytest.fixture
def files(tmp_path: Path) -> tuple[str, str]:
    plan = tmp_path / "plan.toml"
    plan.write_text(PLAN)
    activities = tmp_path / "activities.csv"
    activities.write_text(ACTIVITIES)
    return str(plan), str(activities)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["incentives", "statement", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_statements_explain_each_line(
    capsys: pytest.CaptureFixture[str], files: tuple[str, str]
) -> None:
    plan, activities = files
    code, out, _ = run(capsys, "--plan", plan, "--input", activities, "--tier", "ptn_a=gold")
    assert code == EXIT_OK
    assert "5% on 12,050.00 USD above 10,000.00 USD because gold earns band 2" in out
    assert "clawback of 901.00 USD: s1 reversed by r1" in out
    assert out.endswith("4 statement(s)\n")


def test_csv_output_lists_each_line_with_its_sources(
    capsys: pytest.CaptureFixture[str], files: tuple[str, str]
) -> None:
    plan, activities = files
    args = (
        "--plan",
        plan,
        "--input",
        activities,
        "--format",
        "csv",
        "--period",
        "2026-01-09T00:00:00Z",
    )
    code, out, _ = run(capsys, *args)
    expected = (
        'ptn_a,2026-01-01,resale,reward,1,661.50,USD,"Resale: 3% on 22,050.00 USD above 0.00 USD'
        ' (band 1)",s1;s2'
    )
    assert (code, out.splitlines()[1]) == (EXIT_OK, expected)


def test_json_output_reads_back_as_statements(
    capsys: pytest.CaptureFixture[str], files: tuple[str, str]
) -> None:
    from partnerkit.incentives import Statement  # noqa: PLC0415
    from partnerkit.serialization import from_dict  # noqa: PLC0415

    plan, activities = files
    _, out, _ = run(capsys, "--plan", plan, "--input", activities, "--format", "json")
    statements = [from_dict(Statement, document) for document in json.loads(out)]
    assert [(s.partner_id, str(s.total)) for s in statements] == [
        ("ptn_a", "661.50 USD"),
        ("ptn_b", "1.50 USD"),
        ("ptn_a", "-660.00 USD"),
        ("ptn_b", "0.00 USD"),
    ]


def test_a_bad_cell_is_named_by_file_and_line(
    capsys: pytest.CaptureFixture[str], files: tuple[str, str], tmp_path: Path
) -> None:
    plan, _ = files
    bad = tmp_path / "bad.csv"
    bad.write_text("id,partner_id,kind,occurred_at\ns1,ptn_a,revenue_booked,yesterday\n")
    code, _, err = run(capsys, "--plan", plan, "--input", str(bad))
    assert code == EXIT_ERROR
    assert "bad.csv, line 2" in err


def test_a_bad_plan_is_named_by_field(
    capsys: pytest.CaptureFixture[str], files: tuple[str, str], tmp_path: Path
) -> None:
    _, activities = files
    plan = tmp_path / "plan.toml"
    plan.write_text(PLAN.replace('basis = "revenue_booked"', 'basis = "profit"'))
    code, _, err = run(capsys, "--plan", str(plan), "--input", activities)
    assert (code, "rules[0].basis" in err) == (EXIT_ERROR, True)
