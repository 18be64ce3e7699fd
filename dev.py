#!/usr/bin/env python3
"""Set up a virtual environment for partnerkit and run its everyday jobs.

Standard library only, so it works on a machine that has nothing but Python:

    python3 dev.py demo     # the demo; its HTML report goes to build/demo-report.html
    python3 dev.py test     # lint, format check, types, the docs build and the whole test suite
    python3 dev.py bench    # the benchmarks (installs the optional competitors)
    python3 dev.py fuzz     # a long fuzzing run of every reader of outside input
    python3 dev.py setup    # only create or refresh .venv
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".partnerkit-setup"
MIN_PYTHON = (3, 11)
CHROMIUM = Path("/usr/bin/chromium")


def say(message: str) -> None:
    """Print a progress line on stderr."""
    print(f"dev.py: {message}", file=sys.stderr, flush=True)


def run(*args: str | Path, env: dict[str, str] | None = None) -> int:
    """Run a command in the project root and return its exit code."""
    say(" ".join(str(arg) for arg in args))
    return subprocess.call([str(arg) for arg in args], cwd=ROOT, env=env)


def setup(extras: str) -> None:
    """Create .venv and install partnerkit with ``extras``, unless already current."""
    if sys.version_info < MIN_PYTHON:
        sys.exit(f"dev.py: partnerkit needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted and PYTHON.exists():
        return
    if not PYTHON.exists():
        say(f"creating {VENV}")
        venv.create(VENV, with_pip=True)
    install = [PYTHON, "-m", "pip", "install", "--disable-pip-version-check", "--quiet"]
    if run(*install, "--upgrade", "pip") != 0:
        sys.exit("dev.py: could not upgrade pip in .venv")
    if run(*install, "--editable", f".[{extras}]") != 0:
        sys.exit("dev.py: installing partnerkit into .venv failed (see the pip output above)")
    STAMP.write_text(wanted)


def build_docs() -> int:
    """Build the guides and the API reference with warnings as errors, into a scratch folder."""
    with tempfile.TemporaryDirectory(prefix="partnerkit-site-") as site:
        return run(PYTHON, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", site)


def ensure_chromium() -> None:
    """Install Debian's Chromium for the report's browser test when it is missing and we can.

    The test drives /usr/bin/chromium through Playwright (whose own browser download
    is not used). Without root or apt-get, or when the install fails, the test is
    skipped and says why.
    """
    if CHROMIUM.exists() or sys.platform != "linux" or not shutil.which("apt-get"):
        return
    if os.geteuid() != 0:
        say(f"{CHROMIUM} is missing and installing it needs root: the browser test will skip")
        return
    quiet = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium"]
    if run(*install, env=quiet) != 0 and (
        run("apt-get", "update", "-q", env=quiet) != 0 or run(*install, env=quiet) != 0
    ):
        say("could not install chromium with apt-get: the browser test will skip")


def test(pytest_args: list[str]) -> int:
    """Lint, format check, strict types, the docs build, then pytest; stop at the first failure."""
    setup("dev")
    ensure_chromium()
    checks = [
        [PYTHON, "-m", "ruff", "check", "."],
        [PYTHON, "-m", "ruff", "format", "--check", "."],
        [PYTHON, "-m", "mypy", "--strict", "src"],
    ]
    for check in checks:
        if run(*check) != 0:
            say("failed: fix the problems above (ruff format . rewrites formatting)")
            return 1
    if build_docs() != 0:
        say("failed: the docs build (mkdocs.yml) warned; fix the reference or the page above")
        return 1
    env = dict(os.environ)
    env.setdefault("HYPOTHESIS_PROFILE", "ci" if env.get("CI") else "dev")
    code = run(PYTHON, "-m", "pytest", *pytest_args, env=env)
    if code == 5:
        say("pytest collected no tests: that is a failure, not a pass")
        return 1
    return code


def fuzz(examples: int, seed: int | None) -> int:
    """Run tests/test_fuzz.py with many examples and print how each input ended."""
    setup("dev")
    env = dict(os.environ)
    env["PARTNERKIT_FUZZ_EXAMPLES"] = str(examples)
    env["PARTNERKIT_FUZZ_REPORT"] = "1"
    seeded = ["--hypothesis-seed", str(seed)] if seed is not None else []
    code = run(PYTHON, "-m", "pytest", "-q", "tests/test_fuzz.py", *seeded, env=env)
    if code != 0:
        say("fuzzing found an input that escaped: the failure above shows it, shrunk")
    return code


def main() -> int:
    """Parse the command line and run the chosen job."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("setup", help="create or refresh .venv")
    demo = commands.add_parser("demo", help="run the partnerkit demo")
    demo.add_argument("args", nargs=argparse.REMAINDER, help="passed to 'partnerkit demo'")
    tests = commands.add_parser("test", help="lint, types and the test suite")
    tests.add_argument("args", nargs=argparse.REMAINDER, help="passed to pytest")
    bench = commands.add_parser("bench", help="run the benchmarks")
    bench.add_argument(
        "args",
        nargs=argparse.REMAINDER,
        help="benchmark names and --quick, passed to benchmarks/run.py",
    )
    fuzzing = commands.add_parser("fuzz", help="a long fuzzing run of every input reader")
    fuzzing.add_argument(
        "--examples",
        type=int,
        default=2000,
        help="files per command-line reader; five times as many JSON documents "
        "(default 2000: a few minutes; the test suite runs 25)",
    )
    fuzzing.add_argument("--seed", type=int, help="repeat a run with hypothesis's seed")
    options = parser.parse_args()
    if options.command == "setup":
        setup("dev")
        return 0
    if options.command == "demo":
        setup("dev")
        args = list(options.args)
        if not any(arg == "--report" or arg.startswith("--report=") for arg in args):
            (ROOT / "build").mkdir(exist_ok=True)
            args += ["--report", str(ROOT / "build" / "demo-report.html")]
        return run(PYTHON, "-m", "partnerkit", "demo", *args)
    if options.command == "fuzz":
        return fuzz(options.examples, options.seed)
    if options.command == "bench":
        setup("dev,bench")
        return run(PYTHON, ROOT / "benchmarks" / "run.py", *options.args)
    return test(options.args)


if __name__ == "__main__":
    sys.exit(main())
