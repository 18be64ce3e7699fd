"""Run partnerkit's benchmarks and print each one's table.

    .venv/bin/python benchmarks/run.py                      # every benchmark, full size
    .venv/bin/python benchmarks/run.py snapshots storage    # only these
    .venv/bin/python benchmarks/run.py --quick              # small sizes: a smoke test

Each benchmark is a script in this folder that measures partnerkit against a
baseline in the same run and prints the figures and ratios; figures are recorded
in docs/benchmarks.md with the command that produced them.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = (
    "imports",
    "serialization",
    "snapshots",
    "storage",
    "tiers",
    "deals",
    "leads",
    "health",
    "batch",
)


def available() -> list[str]:
    found = {path.stem for path in HERE.glob("*.py") if path.stem != "run"}
    return [name for name in ORDER if name in found] + sorted(found - set(ORDER))


def main(argv: list[str] | None = None) -> int:
    names = available()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("benchmarks", nargs="*", help=f"which to run (default all): {names}")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    options = parser.parse_args(argv)
    chosen = options.benchmarks or names
    unknown = sorted(set(chosen) - set(names))
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {names}")
    failed = []
    for name in chosen:
        print(f"\n=== {name} ===", flush=True)
        command = [sys.executable, str(HERE / f"{name}.py")]
        if options.quick:
            command.append("--quick")
        if subprocess.call(command) != 0:  # noqa: S603 - our own scripts
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
