"""Metric snapshot throughput: partnerkit's batch path against a bare loop.

Builds a synthetic ledger (default 10,000 partners x 100 activities), then times
`compute_snapshots` with six metric definitions against a hand-written loop that
sums the same values into plain dicts, in the same run. Prints activities per
second and the ratio.

    .venv/bin/python benchmarks/snapshots.py [--partners N] [--per-partner N] [--quick]
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from partnerkit import (
    Activity,
    Aggregate,
    MetricDefinition,
    Money,
    Window,
    compute_snapshots,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

AS_OF = datetime(2026, 11, 22, tzinfo=UTC)
KINDS = (
    ("revenue_booked", 0.35),
    ("deal_registered", 0.15),
    ("deal_won", 0.1),
    ("certification_earned", 0.05),
    ("training_completed", 0.1),
    ("portal_login", 0.25),
)
DEFINITIONS = [
    MetricDefinition(
        "revenue_12m", Aggregate.SUM, kinds=("revenue_booked",), window=Window.trailing("P12M")
    ),
    MetricDefinition(
        "deals_registered_12m",
        Aggregate.COUNT,
        kinds=("deal_registered",),
        window=Window.trailing("P12M"),
    ),
    MetricDefinition("deals_won_ytd", Aggregate.COUNT, kinds=("deal_won",), window=Window.year()),
    MetricDefinition(
        "certified_people",
        Aggregate.UNEXPIRED_COUNT,
        kinds=("certification_earned",),
        attribute="person",
    ),
    MetricDefinition(
        "trainings_12m",
        Aggregate.COUNT,
        kinds=("training_completed",),
        window=Window.trailing("P12M"),
    ),
    MetricDefinition("days_since_login", Aggregate.DAYS_SINCE_LAST, kinds=("portal_login",)),
]
GOAL_RATE = 1_000_000
GOAL_RATIO = 2.0


def make_ledger(partners: int, per_partner: int, seed: int) -> list[Activity]:
    rng = random.Random(seed)
    kinds = [kind for kind, _ in KINDS]
    weights = [weight for _, weight in KINDS]
    start = AS_OF - timedelta(days=548)  # 18 months of history
    activities = []
    for p in range(partners):
        partner_id = f"ptn_{p:06d}"
        for a in range(per_partner):
            kind = rng.choices(kinds, weights)[0]
            when = start + timedelta(seconds=rng.randrange(548 * 86400))
            value: Money | None = None
            attributes: dict[str, str | int | bool | None] = {}
            expires: date | None = None
            if kind == "revenue_booked":
                value = Money(Decimal(rng.randrange(10_000, 5_000_000)).scaleb(-2), "USD")
            elif kind == "certification_earned":
                attributes = {"person": f"person_{rng.randrange(8)}"}
                expires = (when + timedelta(days=730)).date()
            activities.append(
                Activity(
                    f"{partner_id}_{a:04d}", partner_id, kind, when, value, attributes, expires
                )
            )
    rng.shuffle(activities)
    return activities


def bare_loop(activities: Sequence[Activity]) -> dict[str, list[Any]]:
    """The same six aggregates, hard-coded, summed into dicts: the floor for this work."""
    year_ago = AS_OF - timedelta(days=365)
    year_start = datetime(AS_OF.year, 1, 1, tzinfo=UTC)
    today = AS_OF.date()
    results: dict[str, list[Any]] = {}
    for activity in activities:
        row = results.get(activity.partner_id)
        if row is None:
            row = results[activity.partner_id] = [Decimal(0), 0, 0, set(), 0, None]
        kind = activity.kind
        at = activity.occurred_at
        if at > AS_OF:
            continue
        if kind == "revenue_booked":
            if at >= year_ago:
                row[0] += activity.value.amount  # type: ignore[union-attr]
        elif kind == "deal_registered":
            if at >= year_ago:
                row[1] += 1
        elif kind == "deal_won":
            if at >= year_start:
                row[2] += 1
        elif kind == "certification_earned":
            if activity.expires_on is None or activity.expires_on > today:
                row[3].add(activity.attributes["person"])
        elif kind == "training_completed":
            if at >= year_ago:
                row[4] += 1
        elif kind == "portal_login" and (row[5] is None or at > row[5]):
            row[5] = at
    return results


def best_seconds(work: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
        gc.enable()
    return best


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--partners", type=int, default=10_000)
    parser.add_argument("--per-partner", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    options = parser.parse_args(argv)
    if options.quick:
        options.partners, options.per_partner, options.repeat = 200, 50, 1
    ledger = make_ledger(options.partners, options.per_partner, options.seed)
    count = len(ledger)

    snapshots = compute_snapshots(DEFINITIONS, ledger, AS_OF)
    bare = bare_loop(ledger)
    for partner_id, row in bare.items():
        values = snapshots[partner_id].values
        revenue = values["revenue_12m"]
        assert (revenue.amount if isinstance(revenue, Money) else Decimal(0)) == row[0]
        assert values["deals_registered_12m"] == row[1]
        assert values["certified_people"] == len(row[3])
    ours = best_seconds(lambda: compute_snapshots(DEFINITIONS, ledger, AS_OF), options.repeat)
    floor = best_seconds(lambda: bare_loop(ledger), options.repeat)

    print("Metric snapshots: compute_snapshots vs a bare loop over the same Activity objects")
    print(
        f"python {sys.version.split()[0]}; {options.partners} partners x "
        f"{options.per_partner} activities = {count:,} activities; "
        f"{len(DEFINITIONS)} metric definitions; best of {options.repeat}"
    )
    print()
    print(f"{'path':<28}{'seconds':>10}{'activities/s':>16}{'vs bare loop':>15}")
    for name, seconds in (("partnerkit compute_snapshots", ours), ("bare loop into dicts", floor)):
        print(f"{name:<28}{seconds:>10.3f}{count / seconds:>16,.0f}{seconds / floor:>14.2f}x")
    print()
    rate = count / ours
    print(
        f"goal: >= {GOAL_RATE:,} activities/s on one core -> "
        f"{'MET' if rate >= GOAL_RATE else 'NOT MET'} ({rate:,.0f}/s)"
    )
    print(
        f"goal: within {GOAL_RATIO:.0f}x of the bare loop -> "
        f"{'MET' if ours / floor <= GOAL_RATIO else 'NOT MET'} ({ours / floor:.2f}x)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
