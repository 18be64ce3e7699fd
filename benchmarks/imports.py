"""Import time: ``import partnerkit`` against importing its three dependencies.

Each measurement is a fresh interpreter that times one import statement with
``time.perf_counter`` (interpreter start-up is not counted), with bytecode already
cached: every statement runs once untimed first. The contenders alternate round by
round, so load on a shared machine hits them alike; each figure is the median of
the rounds, and the best is shown beside it.

- baseline: ``import attrs, cattrs, dateutil`` (the core runtime dependencies);
- ``import partnerkit``: the goal's measurement;
- ``from partnerkit import Money, MetricSnapshot``: a program that uses a little;
- every public name: ``import partnerkit`` then each name in ``__all__`` touched.

    .venv/bin/python benchmarks/imports.py [--rounds N] [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

GOAL_RATIO = 1.5
TIMER = (
    "import time\nstart = time.perf_counter()\n{statement}\nprint(time.perf_counter() - start)\n"
)
CONTENDERS = {
    "import attrs, cattrs, dateutil (baseline)": "import attrs, cattrs, dateutil",
    "import partnerkit": "import partnerkit",
    "from partnerkit import Money, MetricSnapshot": (
        "from partnerkit import Money, MetricSnapshot"
    ),
    "import partnerkit + every name in __all__": (
        "import partnerkit\nfor name in partnerkit.__all__: getattr(partnerkit, name)"
    ),
}


def once(statement: str) -> float:
    code = TIMER.format(statement=statement)
    output = subprocess.run(  # noqa: S603 - this interpreter, our own fixed code
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    return float(output.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="5 rounds")
    options = parser.parse_args(argv)
    rounds = 5 if options.quick else options.rounds
    for statement in CONTENDERS.values():  # fill the bytecode caches
        once(statement)
    times: dict[str, list[float]] = {name: [] for name in CONTENDERS}
    for _ in range(rounds):
        for name, statement in CONTENDERS.items():
            times[name].append(once(statement))
    print(f"import time, fresh interpreter per run, bytecode cached; {rounds} alternating rounds")
    print(f"python {sys.version.split()[0]}")
    print()
    baseline = statistics.median(next(iter(times.values())))
    print(f"{'statement':<48}{'median ms':>10}{'best ms':>9}{'x baseline':>12}")
    for name, found in times.items():
        median = statistics.median(found)
        print(f"{name:<48}{median * 1e3:>10.1f}{min(found) * 1e3:>9.1f}{median / baseline:>11.2f}x")
    ratio = statistics.median(times["import partnerkit"]) / baseline
    verdict = "MET" if ratio <= GOAL_RATIO else "NOT MET"
    print()
    print(
        f"goal: import partnerkit within {GOAL_RATIO}x of the baseline: {ratio:.2f}x -> {verdict}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
