"""Pipeline forecast: 100,000 open registrations, 10,000 Monte Carlo draws per period.

Builds, before any timing and deterministically (``random.Random(2024)``), N open
registrations (default 100,000; a third submitted, the rest approved, aged 1-200
days) of 2,000 partners in three tiers selling three products, and 20,000 closed
ones as history, then times in the same run, on one core (BLAS limited to one
thread):

- expected value only: ``forecast(..., draws=1)`` (on deals built beforehand):
  learning the rates and timing,
  every deal's probabilities, exact expected values and variances, and the lines;
  the floor the simulation adds to;
- forecast: ``forecast(..., draws=10_000)`` with the numpy engine (the fast
  extra): the same plus p10/p50/p90 of every partner, tier, product and the
  total for one period, from 10,000 draws of every deal (10^9 deal draws);
- naive numpy: the textbook vectorised simulation of the same draws,
  ``(uniforms < p) @ amounts`` in float64, for the total only, as a reference;
- pure Python: the python engine on a slice (default 1,000 deals x 1,000 draws),
  as a rate per deal draw.

The goal is the forecast's CPU time (``time.process_time``, one thread) within
10 s. Wall time is printed too: on a shared machine it is longer.

    .venv/bin/python benchmarks/forecast.py [--deals N] [--draws D] [--repeat R] [--quick]
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse
import gc
import platform
import random
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from partnerkit import Money
from partnerkit.deals import Customer, DealRegistration, DealStatus
from partnerkit.deals._model import DealAction, DealStatusChange
from partnerkit.forecast._engine import forecast_deals, pipeline

if TYPE_CHECKING:
    from collections.abc import Callable

AS_OF = datetime(2026, 11, 22, tzinfo=UTC)
GOAL_SECONDS = 10.0
PARTNERS = 2000
TIERS = ("registered", "silver", "gold")
PRODUCTS = ("cloud", "security", "analytics")


def _change(action: DealAction, before: DealStatus, after: DealStatus, at: datetime) -> Any:
    reason = "price" if action is DealAction.LOSE else ""
    return DealStatusChange(action, before, after, "usr_bench", at, reason)


def build(count: int, history: int, rng: random.Random) -> list[DealRegistration]:
    """``count`` open and ``history`` closed registrations."""
    found = []
    customer = Customer("Bench Customer", "US")
    for number in range(count + history):
        closed = number >= count
        age = rng.randint(200, 700) if closed else rng.randint(1, 200)
        submitted = AS_OF - timedelta(days=age, hours=rng.randint(0, 23))
        changes = [_change(DealAction.SUBMIT, DealStatus.DRAFT, DealStatus.SUBMITTED, submitted)]
        status = DealStatus.SUBMITTED
        protection = None
        if closed or number % 3:
            approved = submitted + timedelta(days=rng.randint(1, 5))
            changes.append(
                _change(DealAction.APPROVE, DealStatus.SUBMITTED, DealStatus.APPROVED, approved)
            )
            status, protection = DealStatus.APPROVED, approved + timedelta(days=90)
        if closed:
            won = rng.random() < 0.38
            action, status = (DealAction.WIN, DealStatus.WON) if won else (
                DealAction.LOSE, DealStatus.LOST)  # fmt: skip
            at = approved + timedelta(days=10 + rng.expovariate(1 / 55))
            changes.append(_change(action, DealStatus.APPROVED, status, at))
        found.append(
            DealRegistration(
                id=f"deal_{number:07d}",
                partner_id=f"ptn_{rng.randrange(PARTNERS):05d}",
                customer=customer,
                amount=Money(rng.randrange(1_000, 200_000), "USD"),
                expected_close_on=(submitted + timedelta(days=rng.randint(30, 150))).date(),
                registered_at=submitted,
                products=(rng.choice(PRODUCTS),),
                status=status,
                submitted_at=submitted,
                protection_until=protection,
                history=tuple(changes),
            )
        )
    return found


def timed(run: Callable[[], object], repeat: int) -> tuple[float, float, object]:
    """Best CPU and wall seconds of ``repeat`` runs, and the last result."""
    best_cpu = best_wall = float("inf")
    result: object = None
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        cpu, wall = time.process_time(), time.perf_counter()
        result = run()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        gc.enable()
        best_cpu, best_wall = min(best_cpu, cpu), min(best_wall, wall)
    return best_cpu, best_wall, result


def naive(amounts: np.ndarray, chances: np.ndarray, draws: int) -> np.ndarray:
    """The textbook simulation: per block of deals, (uniforms < p) @ amounts."""
    generator = np.random.default_rng(1)
    totals = np.zeros(draws)
    for start in range(0, len(amounts), 1024):
        block = slice(start, start + 1024)
        uniforms = generator.random((draws, len(amounts[block])))
        totals += (uniforms < chances[block]) @ amounts[block]
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--history", type=int, default=20_000)
    parser.add_argument("--draws", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--python-slice", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke test")
    options = parser.parse_args()
    if options.quick:
        options.deals, options.history, options.draws, options.repeat = 2000, 500, 500, 1
        options.python_slice = 200
    started = time.perf_counter()
    rng = random.Random(2024)
    registrations = build(options.deals, options.history, rng)
    tiers = {f"ptn_{n:05d}": TIERS[n % 3] for n in range(PARTNERS)}
    deals = pipeline(registrations)

    def run(draws: int, engine: str = "numpy", chosen: list[Any] | None = None) -> Any:
        return forecast_deals(chosen or deals, as_of=AS_OF, tiers=tiers, draws=draws, engine=engine)

    ev_cpu, ev_wall, _ = timed(lambda: run(1), options.repeat)
    fc_cpu, fc_wall, result = timed(lambda: run(options.draws), options.repeat)
    line = result.line()  # type: ignore[attr-defined]
    amounts = np.array([float(d.amount.amount) for d in result.deals])  # type: ignore[attr-defined]
    chances = np.array([d.period_probabilities[0] for d in result.deals])  # type: ignore[attr-defined]
    nv_cpu, nv_wall, totals = timed(lambda: naive(amounts, chances, options.draws), 1)
    naive_p = np.quantile(totals, [0.1, 0.5, 0.9])  # type: ignore[arg-type]
    open_ids = {d.deal_id for d in result.deals}  # type: ignore[attr-defined]
    history = [d for d in deals if d.id not in open_ids]
    piece = [d for d in deals if d.id in open_ids][: options.python_slice] + history
    slice_draws = min(options.draws, 1000)
    py_cpu, _, _ = timed(lambda: run(slice_draws, "python", piece), 1)
    ev_piece_cpu, _, _ = timed(lambda: run(1, "python", piece), 1)
    per_draw = (py_cpu - ev_piece_cpu) / (options.python_slice * slice_draws)

    count = len(result.deals)  # type: ignore[attr-defined]
    print(f"Pipeline forecast, {count:,} open deals x {options.draws:,} draws, one period")
    print(f"python {platform.python_version()} ({platform.python_implementation()}), "
          f"numpy {np.__version__}, {platform.system()} {platform.machine()}, "
          f"{os.cpu_count()} cores, BLAS threads 1")  # fmt: skip
    print(f"data: {options.deals:,} open + {options.history:,} closed registrations, "
          f"{PARTNERS:,} partners, {len(TIERS)} tiers, {len(PRODUCTS)} products (seed 2024); "
          f"best of {options.repeat}")  # fmt: skip
    print(f"lines: {len(result.lines):,} (total, partners, tiers, products)")  # type: ignore[attr-defined]
    print()
    print(f"{'contender':<44} {'cpu s':>8} {'wall s':>8}")
    print(f"{'expected value only (draws=1)':<44} {ev_cpu:>8.2f} {ev_wall:>8.2f}")
    print(f"{'forecast, numpy engine':<44} {fc_cpu:>8.2f} {fc_wall:>8.2f}")
    print(f"{'  of which simulation':<44} {fc_cpu - ev_cpu:>8.2f} {fc_wall - ev_wall:>8.2f}")
    print(f"{'naive numpy (uniforms < p) @ amounts, total':<44} {nv_cpu:>8.2f} {nv_wall:>8.2f}")
    print(f"pure Python engine: {per_draw * 1e9:.0f} ns per deal draw "
          f"({options.python_slice:,} deals x {slice_draws:,} draws); "
          f"{count:,} x {options.draws:,} would take about "
          f"{per_draw * count * options.draws:,.0f} s")  # fmt: skip
    print()
    print(f"total: expected {line.expected}, p10 {line.p10}, p50 {line.p50}, p90 {line.p90}")
    print(f"naive numpy bands: p10 {naive_p[0]:,.0f}, p50 {naive_p[1]:,.0f}, p90 {naive_p[2]:,.0f}")
    verdict = "MET" if fc_cpu <= GOAL_SECONDS else "NOT MET"
    print(
        f"goal: forecast within {GOAL_SECONDS:.0f} s on one core -> {fc_cpu:.2f} s cpu: {verdict}"
    )
    print(f"total run time {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
