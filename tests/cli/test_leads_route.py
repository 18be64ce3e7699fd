"""``partnerkit leads route``: assignments and reasons from CSV files, bounded reading."""

import json
from pathlib import Path

import pytest

from partnerkit.__main__ import EXIT_ERROR, EXIT_OK, main
from partnerkit.leads import RoutingExplanation
from partnerkit.serialization import from_dict

POLICY = """
name = "inbound"
daily_cap = 2
seed = 7
[weights]
ptn_c = 0
"""
PARTNERS = """id,status,country,weight,products
ptn_a,active,FI,1,storage;backup
ptn_b,active,FI,3,storage
ptn_c,active,FI,3,storage
ptn_d,suspended,FI,3,storage
ptn_e,active,SE,2,storage
"""
LEADS = """id,company,country,products,received_at
lead_1,Acme Oy,FI,storage,2026-03-02T09:00:00Z
lead_2,Beta Ab,SE,storage,2026-03-02T09:05:00Z
lead_3,Gamma Oy,FI,backup,2026-03-02T09:10:00Z
lead_4,Delta Oy,DE,storage,2026-03-02T09:15:00Z
"""


@pytest.fixture
def files(tmp_path: Path) -> list[str]:
    for name, text in (("policy.toml", POLICY), ("partners.csv", PARTNERS), ("leads.csv", LEADS)):
        (tmp_path / name).write_text(text, encoding="utf-8")
    return [
        "leads",
        "route",
        "--policy",
        str(tmp_path / "policy.toml"),
        "--partners",
        str(tmp_path / "partners.csv"),
        "--leads",
        str(tmp_path / "leads.csv"),
    ]


def test_route_prints_each_assignment_and_its_reasons(
    files: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(files) == EXIT_OK
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (
        "4 leads routed at 2026-03-02T09:15:00+00:00 under policy 'inbound' "
        "(weighted_random): 3 offered, 1 back to the vendor"
    )
    assert lines[3] == (
        "lead_3  -> ptn_a  country FI: 1 candidate, drew 0, weight 1 of 1; "
        "excluded 1 products, 1 status, 1 tier_weight_0"
    )
    assert lines[4] == "lead_4  -> (vendor)  no eligible partner (country DE); nobody in territory"


def test_the_same_files_route_the_same_way(
    files: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    main(files)
    first = capsys.readouterr().out
    main(files)
    assert capsys.readouterr().out == first


def test_json_output_is_the_full_explanation(
    files: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*files, "--format", "json"]) == EXIT_OK
    explanations = [
        from_dict(RoutingExplanation, json.loads(line))
        for line in capsys.readouterr().out.splitlines()
    ]
    assert [e.lead_id for e in explanations] == ["lead_1", "lead_2", "lead_3", "lead_4"]
    assert all(e.replay() == e.chosen for e in explanations)


def test_a_bad_row_is_refused_naming_its_file_and_line(
    files: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "partners.csv").write_text(PARTNERS + "ptn_x,active,XX,one,\n", encoding="utf-8")
    assert main(files) == EXIT_ERROR
    error = capsys.readouterr().err
    assert "partners.csv, line 7, country" in error
    assert "partners.csv, line 7, weight: 'one' is not a whole number" in error


def test_an_unknown_column_is_refused(
    files: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "leads.csv").write_text("id,company,country,colour\n", encoding="utf-8")
    assert main(files) == EXIT_ERROR
    assert "'colour' is not a column this command reads" in capsys.readouterr().err


def test_too_many_rows_are_refused(files: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*files, "--max-rows", "2"]) == EXIT_ERROR
    assert "line 4" in capsys.readouterr().err
