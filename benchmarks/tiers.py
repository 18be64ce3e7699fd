"""Tier review throughput: partnerkit's review against a bare threshold loop.

Builds a 4-tier program (Registered / Silver / Gold / Platinum, 4 requirements per
tier: money revenue, won deals, certified people, days since last login) and a
population (default 100,000 partners) whose memberships mostly sit in the tier
they qualify for, with about a tenth due to move. Then, in the same run, it times:

- bare loop: for each partner, find the highest tier whose four thresholds pass,
  comparing the snapshot values with operator functions and nothing else;
- review, outcome only: ``review(..., evidence=False)``: decisions, updated
  memberships, events;
- review, full evidence: ``review(...)``: the same plus `TierEvidence` with a
  `RequirementEvidence` per requirement of the held and the next tier, which a
  review builds when a decision's evidence is first read;
- review, full evidence, every one read: the same, then every decision's
  ``tier_evidence`` and ``next_evidence`` read (so all of it is built);
- review, full evidence, read: the same, then reading every decision's progress
  and gap in words (what a report does).

Goals: full evidence >= 100,000 partners/s, and >= 150,000 with the garbage
collector running; outcome only within 3x of the bare loop. Each figure is the
best of several rounds.

    .venv/bin/python benchmarks/tiers.py [--partners N] [--rounds N] [--quick]
"""

from __future__ import annotations

import argparse
import gc
import operator
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from partnerkit import Aggregate, MetricDefinition, MetricSnapshot, Money, Window
from partnerkit.tiers import (
    Benefits,
    Membership,
    Program,
    Requirement,
    Tier,
    all_of,
    qualifying_tier,
    review,
)

if TYPE_CHECKING:
    from collections.abc import Callable

AS_OF = datetime(2026, 10, 1, tzinfo=UTC)
LAST_REVIEW = datetime(2026, 7, 1, tzinfo=UTC)
GOAL_FULL_RATE = 100_000
GOAL_COLLECTED_RATE = 150_000
GOAL_OUTCOME_RATIO = 3.0
#            revenue USD, won deals, certified people, days since login (at most)
LADDER = (
    ("registered", "Registered", "5000", 1, 1, 90),
    ("silver", "Silver", "25000", 4, 2, 60),
    ("gold", "Gold", "100000", 12, 4, 30),
    ("platinum", "Platinum", "500000", 25, 8, 14),
)
METRICS = (
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


def make_program() -> Program:
    tiers = tuple(
        Tier(
            tier_id,
            name,
            rank,
            all_of(
                Requirement("revenue_12m", ">=", Money(revenue, "USD")),
                Requirement("deals_won_12m", ">=", deals),
                Requirement("certified_people", ">=", people),
                Requirement("days_since_login", "<=", days),
            ),
            Benefits(discount_percent=Decimal(5 * rank), lead_weight=rank),
        )
        for rank, (tier_id, name, revenue, deals, people, days) in enumerate(LADDER, start=1)
    )
    return Program("prg_bench", "Benchmark program", "USD", tiers, METRICS)


def make_population(
    program: Program, partners: int, seed: int
) -> tuple[list[Membership], dict[str, MetricSnapshot]]:
    rng = random.Random(seed)
    memberships = []
    snapshots = {}
    for index in range(partners):
        partner_id = f"ptn_{index:06d}"
        scale = rng.choice((0.3, 1, 3, 10, 40, 150))
        values: dict[str, Any] = {
            "revenue_12m": Money(Decimal(int(rng.lognormvariate(8.5, 1) * scale)), "USD"),
            "deals_won_12m": int(rng.expovariate(1 / (scale / 2 + 1))),
            "certified_people": rng.randrange(0, 10),
            "days_since_login": rng.choice((None, *range(120))),
        }
        snapshot = MetricSnapshot(partner_id, AS_OF, values)
        qualifying = qualifying_tier(program, snapshot)
        tier_id = qualifying.id if qualifying else None
        # About a tenth of the population is due to move, up or down.
        if rng.random() < 0.1:
            tier_id = rng.choice([None, *(tier.id for tier in program.tiers)])
        memberships.append(
            Membership(
                partner_id,
                program.id,
                date(2024, 1, 1) + timedelta(days=rng.randrange(600)),
                tier_id=tier_id,
                tier_since=None if tier_id is None else datetime(2025, 1, 1, tzinfo=UTC),
                last_review_at=LAST_REVIEW,
            )
        )
        snapshots[partner_id] = snapshot
    return memberships, snapshots


def bare_loop(program: Program) -> Callable[[list[Membership], dict[str, MetricSnapshot]], int]:
    ops = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}
    tiers = [
        (
            tier.rank,
            [
                (criterion.metric, ops[criterion.comparison], criterion.threshold)  # type: ignore[index]
                for _, criterion in tier.requirements.criteria()
            ],
        )
        for tier in reversed(program.tiers)
    ]

    def run(memberships: list[Membership], snapshots: dict[str, MetricSnapshot]) -> int:
        moved = 0
        for membership in memberships:
            values = snapshots[membership.partner_id].values
            rank = 0
            for tier_rank, criteria in tiers:
                for metric, compare, threshold in criteria:
                    value = values.get(metric)
                    if value is None or not compare(value, threshold):
                        break
                else:
                    rank = tier_rank
                    break
            moved += rank
        return moved

    return run


def timed(work: Callable[[], object], *, collector: bool) -> float:
    """Wall time of one run of ``work``.

    Without ``collector`` the garbage collector is paused while timing, as in the
    other benchmarks here, so the figure is the work itself. With it the collector
    runs: a full review allocates several objects per partner, and CPython's full
    collections then walk all of them, which a host pays unless it pauses the
    collector around the batch.
    """
    gc.collect()
    if not collector:
        gc.disable()
    try:
        start = time.perf_counter()
        work()
        return time.perf_counter() - start
    finally:
        gc.enable()


def best_of(
    rounds: int, contenders: dict[str, tuple[Callable[[], object], bool]]
) -> dict[str, float]:
    """Each contender's best time; every round runs all of them in turn, so a burst of
    load on a shared machine hits them alike rather than one contender's rounds."""
    best = dict.fromkeys(contenders, float("inf"))
    for _ in range(rounds):
        for name, (work, collector) in contenders.items():
            best[name] = min(best[name], timed(work, collector=collector))
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--partners", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--quick", action="store_true", help="2,000 partners, 2 rounds")
    options = parser.parse_args(argv)
    partners = 2_000 if options.quick else options.partners
    rounds = 2 if options.quick else options.rounds
    program = make_program()
    print(f"building {partners:,} partners...", flush=True)
    memberships, snapshots = make_population(program, partners, options.seed)
    bare = bare_loop(program)

    def outcome_only() -> object:
        return review(program, memberships, snapshots, as_of=AS_OF, evidence=False)

    def full() -> object:
        return review(program, memberships, snapshots, as_of=AS_OF)

    def full_built() -> object:
        run = review(program, memberships, snapshots, as_of=AS_OF)
        return [(decision.tier_evidence, decision.next_evidence) for decision in run.decisions]

    def full_read() -> object:
        run = review(program, memberships, snapshots, as_of=AS_OF)
        return [(decision.progress, decision.gap) for decision in run.decisions]

    sample = review(program, memberships, snapshots, as_of=AS_OF)
    outcomes = {o.value: n for o, n in sample.outcomes.items() if n}
    print(f"outcomes: {outcomes}; events: {len(sample.events):,}")

    def bare_run() -> object:
        return bare(memberships, snapshots)

    best = best_of(
        rounds,
        {
            "bare threshold loop": (bare_run, False),
            "review, outcome only": (outcome_only, False),
            "review, full evidence": (full, False),
            "review, full evidence, every one read": (full_built, False),
            "review, full evidence + gap words": (full_read, False),
            "-- collector running: bare loop": (bare_run, True),
            "-- collector running: outcome only": (outcome_only, True),
            "-- collector running: full evidence": (full, True),
            "-- collector running: every one read": (full_built, True),
        },
    )
    rows = list(best.items())
    bare_seconds = rows[0][1]
    print(f"\n{'path':<40} {'seconds':>8} {'partners/s':>12} {'x bare':>7}")
    for name, seconds in rows:
        rate = partners / seconds
        print(f"{name:<40} {seconds:>8.3f} {rate:>12,.0f} {seconds / bare_seconds:>7.2f}")
    full_rate = partners / best["review, full evidence"]
    collected_rate = partners / best["-- collector running: full evidence"]
    ratio = best["review, outcome only"] / bare_seconds
    print("(x bare: against the bare loop with the collector paused)")
    print()
    verdict = "MET" if full_rate >= GOAL_FULL_RATE else "NOT MET"
    print(f"goal: full evidence >= {GOAL_FULL_RATE:,} partners/s: {full_rate:,.0f} -> {verdict}")
    verdict = "MET" if collected_rate >= GOAL_COLLECTED_RATE else "NOT MET"
    print(
        f"goal: full evidence with the collector running >= {GOAL_COLLECTED_RATE:,} "
        f"partners/s: {collected_rate:,.0f} -> {verdict}"
    )
    verdict = "MET" if ratio <= GOAL_OUTCOME_RATIO else "NOT MET"
    print(f"goal: outcome only within {GOAL_OUTCOME_RATIO:.0f}x of bare: {ratio:.2f}x -> {verdict}")
    if options.quick:
        print("(quick run: figures are a smoke test, not a measurement)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
