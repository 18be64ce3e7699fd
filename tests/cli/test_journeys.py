"""``partnerkit journeys status``: who is stuck where, from bounded files."""

import json
from pathlib import Path

import pytest

from partnerkit.__main__ import main

JOURNEY = {
    "id": "activation",
    "name": "Activation",
    "steps": [
        {
            "id": "first_contact",
            "name": "First contact",
            "done_when": {"kinds": ["business_review_held"]},
            "within": "P14D",
        },
        {
            "id": "operational",
            "name": "Fully operational",
            "done_when": {"kinds": ["deal_registered"]},
            "within": "P30D",
        },
    ],
    "variants": [
        {"name": "referral", "audience": {"types": ["referral"]}, "skip": ["first_contact"]}
    ],
}
PARTNERS = (
    "partner_id,started_at,type\n"
    "ptn_1,2026-03-01T00:00:00Z,reseller\n"
    "ptn_2,2026-03-01T00:00:00Z,referral\n"
    "ptn_3,2026-03-01T00:00:00Z,reseller\n"
)
ACTIVITIES = (
    "id,partner_id,kind,occurred_at,region\n"
    "a1,ptn_1,business_review_held,2026-03-03T10:00:00Z,EMEA\n"
    "a2,ptn_3,business_review_held,2026-03-02T10:00:00Z,\n"
    "a3,ptn_3,deal_registered,2026-03-20T10:00:00Z,\n"
)


@pytest.fixture
def files(tmp_path: Path) -> list[str]:
    (tmp_path / "journey.json").write_text(json.dumps(JOURNEY))
    (tmp_path / "partners.csv").write_text(PARTNERS)
    (tmp_path / "activities.csv").write_text(ACTIVITIES)
    return [
        "journeys",
        "status",
        "--journey",
        str(tmp_path / "journey.json"),
        "--partners",
        str(tmp_path / "partners.csv"),
        "--activities",
        str(tmp_path / "activities.csv"),
    ]


def test_the_table_says_who_is_stuck_where(
    files: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*files, "--as-of", "2026-04-20T00:00:00Z"]) == 0
    assert capsys.readouterr().out == (
        "Activation as of 2026-04-20T00:00:00+00:00\n"
        "First contact: 0 partners\n"
        "Fully operational: 2 partners; stuck: ptn_2 (20 days overdue), ptn_1 (17 days overdue)\n"
        "completed: 1\n"
    )


def test_json_lists_each_partner_with_its_variant_and_step(
    files: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*files, "--as-of", "2026-03-10T00:00:00Z", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["partner_id"], r["variant"], r["step"], r["status"]) for r in rows] == [
        ("ptn_1", "", "operational", "current"),
        ("ptn_2", "referral", "operational", "current"),
        ("ptn_3", "", "operational", "current"),
    ]


def test_bad_rows_are_all_named_with_their_lines(
    files: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "partners.csv").write_text(
        "partner_id,started_at\nptn_1,yesterday\nptn 2,2026-03-01T00:00:00Z\n"
    )
    assert main(files) == 1
    error = capsys.readouterr().err
    assert "partners.csv, line 2" in error
    assert "partners.csv, line 3" in error


def test_a_file_over_the_size_limit_is_refused(
    files: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*files, "--max-size", "10"]) == 1
    assert "journey.json" in capsys.readouterr().err
