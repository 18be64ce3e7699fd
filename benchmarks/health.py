"""Health scoring throughput: partnerkit's batch paths against a bare weighted-sum loop.

Builds N partners' metric snapshots (default 1,000,000) with six metrics (two in
USD money, four counts, some missing), a model with one measure of each normaliser
kind and a gate, and times in the same run:

- the bare loop: a weighted sum over tuples of six floats, the floor for this work;
- compact: ``score_batch(..., explain=False)``: value and band per partner, the
  breakdown built on demand (the path for a million partners);
- explained: ``score_batch(...)``: every partner's full score with six
  contribution objects (on the first --eager partners);
- on demand: full scores fetched from the compact batch.

    .venv/bin/python benchmarks/health.py [--partners N] [--eager N] [--repeat R] [--quick]
"""

from __future__ import annotations

import argparse
import gc
import platform
import random
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from partnerkit import MetricSnapshot, Money
from partnerkit.health import ScoringModel, model_from_dict, score_batch

if TYPE_CHECKING:
    from collections.abc import Callable

AS_OF = datetime(2026, 11, 22, tzinfo=UTC)
COMPACT_GOAL_RATIO = 2.0
EAGER_GOAL_RATE = 150_000
WEIGHTS = (3.0, 2.0, 2.0, 1.0, 1.5, 1.0)

MODEL = model_from_dict(
    {
        "name": "Benchmark",
        "version": 1,
        "currency": "USD",
        "measures": [
            {"name": "revenue", "metric": "revenue_12m", "weight": 3,
             "normalizer": {"kind": "log", "low": 1000, "high": 1000000}},
            {"name": "pipeline", "metric": "pipeline", "weight": 2,
             "normalizer": {"kind": "target", "target": 250000}},
            {"name": "deals", "metric": "deals_won", "weight": 2,
             "normalizer": {"kind": "steps", "steps": [
                 {"at": 1, "points": 40}, {"at": 3, "points": 70}, {"at": 6, "points": 100}]}},
            {"name": "certified", "metric": "certified_people", "weight": 1,
             "normalizer": {"kind": "linear", "low": 0, "high": 5}},
            {"name": "logins", "metric": "days_since_login", "weight": 1.5,
             "normalizer": {"kind": "recency", "half_life_days": 30}},
            {"name": "nps", "metric": "nps", "weight": 1, "missing": "neutral",
             "normalizer": {"kind": "percentile"}},
        ],
        "gates": [
            {"name": "no_login", "metric": "days_since_login", "op": ">", "threshold": 90,
             "cap": "at_risk", "fire_when_missing": True},
        ],
    }
)  # fmt: skip


def make_snapshots(count: int, seed: int) -> list[MetricSnapshot]:
    rng = random.Random(seed)

    def values() -> dict[str, Money | int | None]:
        return {
            "revenue_12m": Money(Decimal(rng.randrange(0, 2 * 10**8)).scaleb(-2), "USD"),
            "pipeline": Money(Decimal(rng.randrange(0, 4 * 10**7)).scaleb(-2), "USD"),
            "deals_won": rng.randrange(0, 10),
            "certified_people": rng.randrange(0, 8),
            "days_since_login": None if rng.random() < 0.03 else rng.randrange(0, 200),
            "nps": None if rng.random() < 0.05 else rng.randrange(-100, 101),
        }

    return [MetricSnapshot(f"ptn_{index:07d}", AS_OF, values()) for index in range(count)]  # type: ignore[arg-type]


def bare_loop(rows: list[tuple[float, ...]]) -> list[float]:
    """A weighted sum over tuples of six floats: no reading, normalising or checking."""
    out = []
    for row in rows:
        total = 0.0
        for weight, value in zip(WEIGHTS, row, strict=True):
            total += weight * value
        out.append(total)
    return out


def best_seconds(work: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        started = time.perf_counter()
        work()
        elapsed = time.perf_counter() - started
        gc.enable()
        best = min(best, elapsed)
    return best


def check(model: ScoringModel, snapshots: list[MetricSnapshot]) -> None:
    """Both paths must give the same numbers before either is timed."""
    sample = snapshots[:2000]
    explained = score_batch(model, sample, as_of=AS_OF)
    compact = score_batch(model, sample, as_of=AS_OF, explain=False)
    assert list(explained.rows()) == list(compact.rows())
    assert explained.scores[:50] == compact.scores[:50]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--partners", type=int, default=1_000_000)
    parser.add_argument("--eager", type=int, default=200_000, help="partners for the eager path")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--quick", action="store_true", help="20,000 partners, one pass")
    args = parser.parse_args(argv)
    if args.quick:
        args.partners, args.eager, args.repeat = 20_000, 20_000, 1
    count = args.partners
    eager_count = min(args.eager, count)
    started = time.perf_counter()
    snapshots = make_snapshots(count, args.seed)
    rng = random.Random(args.seed)
    rows = [tuple(rng.random() * 100 for _ in WEIGHTS) for _ in range(count)]
    check(MODEL, snapshots)
    built = time.perf_counter() - started

    bare = best_seconds(lambda: bare_loop(rows), args.repeat)
    compact = best_seconds(
        lambda: score_batch(MODEL, snapshots, as_of=AS_OF, explain=False), args.repeat
    )
    eager_part = snapshots[:eager_count]
    eager = best_seconds(lambda: score_batch(MODEL, eager_part, as_of=AS_OF), args.repeat)
    batch = score_batch(MODEL, snapshots, as_of=AS_OF, explain=False)
    sample = [snapshot.partner_id for snapshot in snapshots[: min(count, 20_000)]]
    on_demand = best_seconds(lambda: [batch[pid] for pid in sample], args.repeat)

    def rate(partners: int, seconds: float) -> float:
        return partners / seconds

    print("health scoring: partners per second (6 measures: log, target, steps, linear,")
    print("recency, percentile; 2 in USD money; 3-5% missing; one gate)")
    print(
        f"python {platform.python_version()} ({platform.python_implementation()}), "
        f"{platform.system()} {platform.machine()}"
    )
    print(
        f"data: {count:,} partners (seed {args.seed}), built and checked in {built:.1f} s; "
        f"best of {args.repeat} passes, gc off while timed"
    )
    print()
    results = [
        ("bare loop (weighted sum over float tuples)", count, bare),
        ("compact: score_batch(explain=False)", count, compact),
        ("explained: score_batch() with contributions", eager_count, eager),
        ("on demand: full score from a compact batch", len(sample), on_demand),
    ]
    reference = rate(count, bare)
    print(f"{'path':<46}{'partners':>11}{'partners/s':>13}{'time vs bare':>14}")
    for name, partners, seconds in results:
        speed = rate(partners, seconds)
        print(f"{name:<46}{partners:>11,}{speed:>13,.0f}{reference / speed:>13.2f}x")
    print()
    compact_ratio = reference / rate(count, compact)
    eager_rate = rate(eager_count, eager)
    verdict = "MET" if compact_ratio <= COMPACT_GOAL_RATIO else "NOT MET"
    print(f"goal: compact within {COMPACT_GOAL_RATIO:.0f}x of the bare loop: "
          f"{compact_ratio:.2f}x -> {verdict}")  # fmt: skip
    verdict = "MET" if eager_rate >= EAGER_GOAL_RATE else "NOT MET"
    print(f"goal: explained at least {EAGER_GOAL_RATE:,} partners/s: "
          f"{eager_rate:,.0f} -> {verdict}")  # fmt: skip
    print(f"total run time {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
