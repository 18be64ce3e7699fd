"""`partnerkit report` and `partnerkit demo --report`."""

from pathlib import Path

import pytest

from partnerkit.__main__ import main


def test_report_writes_the_page_of_a_store(
    demo_store: tuple[Path, tuple[str, str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report.html"
    args = ["report", "--db", str(demo_store[0]), "--out", str(out)]
    assert main([*args, "--as-of", "2026-11-22T06:00:00Z"]) == 0
    assert str(out) in capsys.readouterr().out
    page = out.read_text(encoding="utf-8")
    assert 'As of <time datetime="2026-11-22T06:00:00+00:00">' in page
    assert 'id="deal-funnel"' in page


def test_report_refuses_a_database_file_that_is_not_there(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nosuch.db"
    args = ["report", "--db", str(missing), "--out", str(tmp_path / "r.html")]
    assert main(args) == 1
    assert "is not a partnerkit SQLite file" in capsys.readouterr().err
    assert not missing.exists()  # no empty store was created by the typo


def test_report_refuses_to_write_over_a_folder(
    demo_store: tuple[Path, tuple[str, str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "--db", str(demo_store[0]), "--out", str(tmp_path)]) == 1
    assert "is not a regular file" in capsys.readouterr().err


def test_report_names_a_bad_instant(
    demo_store: tuple[Path, tuple[str, str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["report", "--db", str(demo_store[0]), "--out", str(tmp_path / "r.html")]
    assert main([*args, "--as-of", "yesterday"]) == 1
    assert "--as-of" in capsys.readouterr().err


def test_demo_writes_its_report_when_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "demo.html"
    assert main(["demo", "--partners", "40", "--report", str(out)]) == 0
    assert f"The HTML report is in {out}" in capsys.readouterr().out
    assert 'id="partners-by-status"' in out.read_text(encoding="utf-8")


def test_report_reads_a_store_behind_a_sqlalchemy_url(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'network.sqlite'}"
    assert main(["demo", "--partners", "20", "--db", url]) == 0
    out = tmp_path / "report.html"
    assert main(["report", "--db", url, "--out", str(out)]) == 0
    assert str(out) in capsys.readouterr().out
    page = out.read_text(encoding="utf-8")
    assert '<dd data-fact="partners">20</dd>' in page


def test_report_converts_plan_goals_with_the_rates_given(
    demo_store: tuple[Path, tuple[str, str]], tmp_path: Path
) -> None:
    # The demo's plans set goals in USD over ledgers in each partner's own currency:
    # without rates some cannot be measured, and the page says so.
    out = tmp_path / "report.html"
    args = ["report", "--db", str(demo_store[0]), "--out", str(out)]
    assert main([*args, "--as-of", "2026-11-22T06:00:00Z"]) == 0
    assert "not measured" in out.read_text(encoding="utf-8")
    rates = [f"{currency}/USD={rate}" for currency, rate in DEMO_RATES]
    options = [word for rate in rates for word in ("--rate", rate)]
    assert main([*args, "--as-of", "2026-11-22T06:00:00Z", *options]) == 0
    assert "not measured" not in out.read_text(encoding="utf-8")


DEMO_RATES = (
    ("EUR", "1.08"),
    ("GBP", "1.27"),
    ("SEK", "0.094"),
    ("JPY", "0.0066"),
    ("AUD", "0.65"),
    ("BRL", "0.18"),
)


@pytest.mark.parametrize(
    ("rate", "said"),
    [
        ("EURUSD=1.08", "'EURUSD=1.08' is not BASE/QUOTE=RATE"),
        ("EUR/USD=", "is not BASE/QUOTE=RATE"),
        ("EUR/USD=abc", "--rate EUR/USD: 'abc' is not a number"),
        ("EUR/XXQ=1", "--rate EUR/XXQ: unknown currency 'XXQ'"),
        ("EUR/USD=-1", "--rate EUR/USD: rates must be greater than zero"),
    ],
)
def test_report_names_a_bad_rate_before_reading_the_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], rate: str, said: str
) -> None:
    out = tmp_path / "r.html"
    args = ["report", "--db", str(tmp_path / "nosuch.db"), "--out", str(out), "--rate", rate]
    assert main(args) == 1
    assert said in capsys.readouterr().err
    assert not out.exists()


def test_report_refuses_a_pair_given_twice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["report", "--db", str(tmp_path / "x.db"), "--out", str(tmp_path / "r.html")]
    assert main([*args, "--rate", "EUR/USD=1.08", "--rate", "usd/eur=0.9"]) == 1
    assert "USD/EUR is given twice" in capsys.readouterr().err
