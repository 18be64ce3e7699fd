"""``partnerkit forecast``: a forecast and a backtest from a deals CSV."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from partnerkit.__main__ import EXIT_ERROR, EXIT_OK, main

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

HEADER = (
    "id,partner_id,amount,currency,status,submitted_at,approved_at,closed_at,"
    "expected_close_on,products,tier\n"
)
ROWS = [
    "d_1,ptn_a,1000,USD,approved,2026-05-01T00:00:00Z,2026-05-02T00:00:00Z,,2026-07-15,core,gold",
    "d_2,ptn_b,2500,USD,submitted,2026-06-20T00:00:00Z,,,2026-08-01,core;care,",
    "d_3,ptn_a,4000,USD,won,2026-01-01T00:00:00Z,2026-01-02T00:00:00Z,2026-02-01T00:00:00Z,,core,gold",
    "d_4,ptn_b,3000,USD,lost,2026-01-05T00:00:00Z,2026-01-06T00:00:00Z,2026-03-01T00:00:00Z,,,",
]


def write(tmp_path: Path, rows: list[str]) -> str:
    path = tmp_path / "deals.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    return str(path)


def test_forecast_prints_lines_per_group(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, ROWS)

    code = main(["forecast", "--input", path, "--as-of", "2026-07-01T00:00:00Z", "--draws", "200"])

    out = capsys.readouterr().out
    assert code == EXIT_OK
    assert "tier gold" in out
    assert "product care" in out
    assert "2 open deals forecast from 2 closed ones, 200 draws" in out


def test_forecast_as_json_and_explained(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, ROWS)
    base = ["forecast", "--input", path, "--as-of", "2026-07-01T00:00:00Z", "--draws", "50"]

    assert main([*base, "--format", "json"]) == EXIT_OK
    records = json.loads(capsys.readouterr().out)
    assert {record["dimension"] for record in records} == {"total", "partner", "tier", "product"}
    assert main([*base, "--explain", "ptn_a"]) == EXIT_OK
    assert "d_1 1,000.00 USD in approved for 60 days" in capsys.readouterr().out


def test_backtest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, ROWS)

    code = main(
        ["forecast", "--input", path, "--as-of", "2026-07-01T00:00:00Z", "--backtest", "3",
         "--period", "P1M", "--draws", "50"]
    )  # fmt: skip

    out = capsys.readouterr().out
    assert code == EXIT_OK
    assert "3 past forecasts" in out


def test_bad_rows_are_named_by_line_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        tmp_path,
        [*ROWS, "d_5,ptn_a,10,USD,won,2026-01-01T00:00:00Z,,,,,", "d_1,ptn_a,1,USD,open,x,,,,,"],
    )

    code = main(["forecast", "--input", path, "--as-of", "2026-07-01T00:00:00Z"])

    err = capsys.readouterr().err
    assert code == EXIT_ERROR
    assert "line 6, closed_at: a won deal needs the instant it closed" in err
    assert "deal 'd_1' is also on line 2" in err
