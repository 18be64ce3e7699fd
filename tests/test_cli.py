import subprocess
import sys

import pytest

from partnerkit.__main__ import main


def test_demo_prints_the_core_values_at_work(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "24,375.00 EUR" in out
    assert "2027-02-28" in out
    assert "currency: unknown currency 'EUROS'" in out


def test_version_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith("partnerkit ")


def test_console_script_runs_as_a_module() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "partnerkit", "demo"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "Quarterly tier reviews" in result.stdout
