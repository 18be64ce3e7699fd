import subprocess
import sys
from pathlib import Path

import pytest

from partnerkit.__main__ import main
from partnerkit.storage.sqlite import SqliteStorage


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
    ):
        assert heading in out


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
