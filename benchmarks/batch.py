"""The Dask batch path: one worker process against two, over the same Parquet ledger.

Writes a ledger (default 10,000,000 activities of 100,000 partners, bucketed by
partner into --files Parquet files, one partition each), then runs
``partnerkit.batch.run_dask`` (snapshots, health scores with a percentile
measure, and a tier review of every partner) on a ``LocalCluster`` of one
worker process and of two, alternating, and reports:

- wall time per run and the speed-up of two workers over one;
- each worker's peak resident memory (``ru_maxrss``) beside the partition size,
  the bound the batch path promises: a worker holds one partition at a time;
- that both runs gave the same scores and decisions, row for row;
- the machine's own speed-up for two equal pure-Python CPU jobs in two processes
  against one, measured around the runs: on a shared machine it bounds what two
  workers can gain.

    .venv/bin/python benchmarks/batch.py [--activities N] [--partners N] [--files N]
                                         [--rounds R] [--dir DIR] [--quick]
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import random
import resource
import shutil
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from partnerkit import Aggregate, MetricDefinition, Money, Window
from partnerkit.batch import ledger_schema, run_dask
from partnerkit.health import model_from_dict
from partnerkit.tiers import Membership, Program, Requirement, Tier, all_of

AS_OF = datetime(2026, 10, 1, tzinfo=UTC)
GOAL_SPEEDUP = 1.6
DEFINITIONS = (
    MetricDefinition(
        "revenue_12m",
        Aggregate.SUM,
        kinds=("revenue_booked",),
        window=Window.trailing("P12M"),
        currency="USD",
    ),
    MetricDefinition(
        "deals_won_12m", Aggregate.COUNT, kinds=("deal_won",), window=Window.trailing("P12M")
    ),
    MetricDefinition(
        "certified_people",
        Aggregate.UNEXPIRED_COUNT,
        kinds=("certification_earned",),
        attribute="person",
    ),
    MetricDefinition("days_since_login", Aggregate.DAYS_SINCE_LAST, kinds=("portal_login",)),
)
MODEL = model_from_dict(
    {
        "name": "Batch benchmark",
        "version": 1,
        "currency": "USD",
        "measures": [
            {"name": "revenue", "metric": "revenue_12m", "weight": 3,
             "normalizer": {"kind": "log", "low": 1000, "high": 1000000}},
            {"name": "deals", "metric": "deals_won_12m", "weight": 2,
             "normalizer": {"kind": "percentile"}},
            {"name": "certified", "metric": "certified_people", "weight": 1,
             "normalizer": {"kind": "linear", "low": 0, "high": 5}},
            {"name": "logins", "metric": "days_since_login", "weight": 1.5,
             "normalizer": {"kind": "recency", "half_life_days": 30}},
        ],
        "gates": [{"name": "no_login", "metric": "days_since_login", "op": ">",
                   "threshold": 90, "cap": "at_risk", "fire_when_missing": True}],
    }
)  # fmt: skip
PROGRAM = Program(
    "prg_bench",
    "Benchmark program",
    "USD",
    tuple(
        Tier(
            tier_id,
            tier_id.title(),
            rank,
            all_of(
                Requirement("revenue_12m", ">=", Money(revenue, "USD")),
                Requirement("deals_won_12m", ">=", deals),
                Requirement("certified_people", ">=", people),
            ),
        )
        for rank, (tier_id, revenue, deals, people) in enumerate(
            [("registered", "5000", 1, 1), ("silver", "25000", 4, 2), ("gold", "100000", 12, 4)],
            start=1,
        )
    ),
    DEFINITIONS,
)
# kind, share of the ledger
KINDS = (
    ("revenue_booked", 0.25),
    ("deal_won", 0.10),
    ("certification_earned", 0.05),
    ("portal_login", 0.45),
    ("training_completed", 0.15),
)


def write_ledger(folder: Path, activities: int, partners: int, files: int, seed: int) -> None:
    """Activities spread over partners, bucketed by partner: file i holds partners i mod files."""
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415

    rng = random.Random(seed)
    schema = ledger_schema()
    kinds = [kind for kind, _ in KINDS]
    weights = [share for _, share in KINDS]
    start = AS_OF - timedelta(days=540)
    per_file = activities // files
    for number in range(files):
        owners = list(range(number, partners, files))
        count = per_file if number < files - 1 else activities - per_file * (files - 1)
        columns: dict[str, list[Any]] = {name: [] for name in schema.names}
        chosen = rng.choices(kinds, weights, k=count)
        for row in range(count):
            kind = chosen[row]
            partner = owners[row % len(owners)]
            columns["id"].append(f"act_{number}_{row}")
            columns["partner_id"].append(f"ptn_{partner:06d}")
            columns["kind"].append(kind)
            columns["occurred_at"].append(start + timedelta(seconds=rng.randrange(46_656_000)))
            if kind == "revenue_booked":
                cents = rng.randrange(100, 2_000_000)
                columns["amount"].append(f"{cents // 100}.{cents % 100:02d}")
                columns["currency"].append("USD")
            else:
                columns["amount"].append(None)
                columns["currency"].append(None)
            if kind == "certification_earned":
                columns["attributes"].append(f'{{"person": "per_{rng.randrange(8)}"}}')
                columns["expires_on"].append(date(2026, 1, 1) + timedelta(rng.randrange(700)))
            else:
                columns["attributes"].append(None)
                columns["expires_on"].append(None)
        table = pa.table(columns, schema=schema)
        pq.write_table(table, folder / f"part-{number:04d}.parquet")


def memberships_for(partners: int, seed: int) -> dict[str, Membership]:
    rng = random.Random(seed)
    tiers = (None, "registered", "silver", "gold")
    result = {}
    for index in range(partners):
        tier = rng.choice(tiers)
        pid = f"ptn_{index:06d}"
        result[pid] = Membership(
            pid,
            PROGRAM.id,
            date(2024, 1, 1),
            tier_id=tier,
            tier_since=None if tier is None else datetime(2025, 1, 1, tzinfo=UTC),
        )
    return result


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(
    workers: int, ledger: Path, memberships: dict[str, Membership]
) -> tuple[float, Any, list[float]]:
    from distributed import Client, LocalCluster  # noqa: PLC0415

    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # any free port: never clash with another cluster
            silence_logs=logging.ERROR,
            memory_limit=0,
        ) as cluster,
        Client(cluster) as client,
    ):
        client.run(lambda: __import__("partnerkit.batch"))  # warm the workers' imports
        started = time.perf_counter()
        result = run_dask(
            ledger,
            definitions=DEFINITIONS,
            as_of=AS_OF,
            model=MODEL,
            program=PROGRAM,
            memberships=memberships,
        )
        seconds = time.perf_counter() - started
        peaks = sorted(client.run(peak_rss_mb).values())
    return seconds, result, peaks


def spin(rounds: int) -> int:
    """Pure-Python CPU work: what a worker does, without data."""
    total = 0
    for number in range(rounds):
        total += number * number % 7
    return total


def machine_speedup(rounds: int = 20_000_000) -> float:
    """How much faster two processes finish two equal CPU jobs than one process does now.

    2.0 on an idle two-core machine; less while other work shares the cores. It
    bounds what two workers can gain, so the report shows it beside theirs.
    """
    from concurrent.futures import ProcessPoolExecutor  # noqa: PLC0415

    timed = {}
    for workers in (1, 2):
        with ProcessPoolExecutor(workers) as pool:
            list(pool.map(spin, [1000] * workers))  # start the processes first
            started = time.perf_counter()
            list(pool.map(spin, [rounds // 2, rounds // 2]))
            timed[workers] = time.perf_counter() - started
    return timed[1] / timed[2]


def same(first: Any, second: Any) -> bool:
    def rows(frame: Any) -> list[dict[str, Any]]:
        return frame.sort_values("partner_id").reset_index(drop=True).to_dict("records")  # type: ignore[no-any-return]

    return rows(first.scores) == rows(second.scores) and rows(first.decisions) == rows(
        second.decisions
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--activities", type=int, default=10_000_000)
    parser.add_argument("--partners", type=int, default=100_000)
    parser.add_argument("--files", type=int, default=100, help="Parquet files = partitions")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each cluster size")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--dir", default=None, help="where the ledger goes (a temp dir inside)")
    parser.add_argument("--quick", action="store_true", help="200,000 activities, 4,000 partners")
    options = parser.parse_args(argv)
    if options.quick:
        options.activities, options.partners, options.files = 200_000, 4_000, 8
    total_started = time.perf_counter()
    folder = Path(tempfile.mkdtemp(prefix="partnerkit-ledger-", dir=options.dir))
    try:
        started = time.perf_counter()
        write_ledger(folder, options.activities, options.partners, options.files, options.seed)
        written = time.perf_counter() - started
        size = sum(path.stat().st_size for path in folder.iterdir())
        memberships = memberships_for(options.partners, options.seed)
        times: dict[int, list[float]] = {1: [], 2: []}
        peaks: dict[int, list[float]] = {1: [], 2: []}
        results: dict[int, Any] = {}
        capacity = [machine_speedup()]
        for _ in range(options.rounds):
            for workers in (1, 2):
                seconds, result, peak = run(workers, folder, memberships)
                times[workers].append(seconds)
                peaks[workers] = max(peaks[workers], peak, key=max) if peaks[workers] else peak
                results[workers] = result
            capacity.append(machine_speedup())
        agree = same(results[1], results[2])
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    per_partition = options.activities // options.files
    print("partnerkit.batch on Dask: snapshots, scores (with a percentile measure) and a tier")
    print("review of every partner, from a Parquet ledger bucketed by partner")
    print(
        f"python {platform.python_version()}, {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} cores"
    )
    print(
        f"ledger: {options.activities:,} activities of {options.partners:,} partners in "
        f"{options.files} files ({size / 1e6:,.0f} MB, written in {written:.0f} s); "
        f"about {per_partition:,} activities per partition"
    )
    print(f"one worker and two worker processes alternating, {options.rounds} round(s); best time")
    print()
    print(f"{'cluster':<22}{'seconds':>9}{'activities/s':>15}{'peak RSS per worker (MB)':>27}")
    for workers in (1, 2):
        best = min(times[workers])
        rss = ", ".join(f"{mb:,.0f}" for mb in peaks[workers])
        print(f"{workers} worker process{'es' if workers > 1 else ''}{'':<5}"
              f"{best:>9.1f}{options.activities / best:>15,.0f}{rss:>27}")  # fmt: skip
    speedup = min(times[1]) / min(times[2])
    print()
    print(f"both runs gave the same scores and decisions: {agree}")
    print(
        "the machine's own speed-up for two equal CPU jobs in 2 processes vs 1, measured "
        f"before and after each round: {', '.join(f'{c:.2f}x' for c in capacity)} "
        f"(2.00x when idle)"
    )
    verdict = "MET" if speedup >= GOAL_SPEEDUP and agree else "NOT MET"
    print(f"goal: two workers at least {GOAL_SPEEDUP}x one: {speedup:.2f}x -> {verdict}")
    print(f"total run time {time.perf_counter() - total_started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
