"""Health scoring throughput: partnerkit's batch paths against a bare weighted-sum loop.

Builds N partners' metric snapshots (default 1,000,000) with six metrics (two in
USD money, four counts, some missing), a model with one measure of each normaliser
kind and a gate, and times in the same run:

- the bare loop: a weighted sum over tuples of six floats, the floor for this work;
- the plain loop: the model's rules written out by hand in floats over the same
  snapshots (percentile table, normalisers, missing data, rounding, bands, gate),
  the reference for the compact path's goal; it is checked against partnerkit;
- compact: ``score_batch(..., explain=False)``: value and band per partner, the
  breakdown built on demand (the path for a million partners);
- explained: ``score_batch(...)``: every partner's `HealthScore` (contributions
  and gates built when first read; on the first --eager partners);
- explained, every contribution read: the same, then each partner's six
  contributions built by reading them;
- on demand: full scores fetched from the compact batch;
- with numpy installed (the fast extra): the model's arithmetic written straight
  in numpy over float64 columns, against ``score_arrays`` on the same columns
  (exact: checked equal to ``score_batch`` on the numbers the columns hold).

    .venv/bin/python benchmarks/health.py [--partners N] [--eager N] [--repeat R] [--quick]
"""

from __future__ import annotations

import argparse
import bisect
import gc
import math
import platform
import random
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from partnerkit import MetricSnapshot, Money
from partnerkit.health import (
    ScoreRow,
    ScoringModel,
    model_from_dict,
    score,
    score_arrays,
    score_batch,
)

if TYPE_CHECKING:
    from collections.abc import Callable

AS_OF = datetime(2026, 11, 22, tzinfo=UTC)
COMPACT_GOAL_RATIO = 1.5
EAGER_GOAL_RATE = 150_000
NUMPY_GOAL_RATIO = 3.0
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


def plain_loop(snapshots: list[MetricSnapshot]) -> list[tuple[int, int]]:  # noqa: PLR0915 - one loop, as a script writes it
    """MODEL's rules written out by hand in floats: what a careful script would do.

    The same measures, missing-data policy, percentile ranks within the
    population (built here too), rounding to tenths, bands and gate as
    partnerkit's compact path, without its exactness (floats only) or its checks.
    Gives each partner's (tenths, band index), -1 for insufficient data.
    """
    ordered = sorted(value for s in snapshots if (value := s.values.get("nps")) is not None)
    others = len(ordered) - 1
    ranks: dict[object, float] = {}
    index = 0
    while index < len(ordered):
        end = bisect.bisect_right(ordered, ordered[index], index)
        ranks[ordered[index]] = 100 * (index + (end - index - 1) / 2) / others if others else 50.0
        index = end
    ln_low = math.log1p(1000)
    ln_span = math.log1p(1_000_000) - ln_low
    needed = 0.5 * sum(WEIGHTS)
    out = []
    for snapshot in snapshots:
        get = snapshot.values.get
        total = weight = present = 0.0
        revenue = get("revenue_12m")
        if revenue is not None:
            x = float(revenue.amount)  # type: ignore[union-attr]
            n = (
                0.0
                if x <= 1000
                else 100.0
                if x >= 1e6
                else (math.log1p(x) - ln_low) / ln_span * 100
            )
            total += 3 * n
            weight += 3
        pipeline = get("pipeline")
        if pipeline is not None:
            x = float(pipeline.amount)  # type: ignore[union-attr]
            total += 2 * (100.0 if x >= 250_000 else 0.0 if x <= 0 else x / 2500)
            weight += 2
        deals = get("deals_won")
        if deals is not None:
            n = 100.0 if deals >= 6 else 70.0 if deals >= 3 else 40.0 if deals >= 1 else 0.0  # type: ignore[operator]
            total += 2 * n
            weight += 2
        certified = get("certified_people")
        if certified is not None:
            total += 100.0 if certified >= 5 else 0.0 if certified <= 0 else certified * 20.0  # type: ignore[operator]
            weight += 1
        days = get("days_since_login")
        if days is not None:
            total += 1.5 * 100 * 2 ** (-days / 30)  # type: ignore[operator]
            weight += 1.5
        present = weight
        nps = get("nps")
        total += ranks[nps] if nps is not None else 50.0  # no data counts as neutral
        weight += 1
        if nps is not None:
            present += 1
        if present < needed:
            out.append((-1, -1))
            continue
        tenths = int(total / weight * 10 + 0.5)
        band = 0 if tenths < 400 else 1 if tenths < 700 else 2
        if band > 1 and (days is None or days > 90):  # type: ignore[operator]
            band = 1
        out.append((tenths, band))
    return out


def numeric_columns(snapshots: list[MetricSnapshot]) -> dict[str, Any]:
    """The snapshots as numpy columns: money as float64 amounts, NaN for no data."""
    import numpy as np  # noqa: PLC0415 - optional: only with the fast extra

    def floats(metric: str) -> Any:
        values = (s.values.get(metric) for s in snapshots)
        return np.fromiter(
            (
                np.nan if v is None else float(v.amount if isinstance(v, Money) else v)  # type: ignore[arg-type]
                for v in values
            ),
            dtype=np.float64,
            count=len(snapshots),
        )

    return {
        "revenue_12m": floats("revenue_12m"),
        "pipeline": floats("pipeline"),
        "deals_won": floats("deals_won").astype(np.int64),
        "certified_people": floats("certified_people").astype(np.int64),
        "days_since_login": floats("days_since_login"),
        "nps": floats("nps"),
    }


def raw_numpy(columns: dict[str, Any]) -> tuple[Any, Any]:
    """MODEL's arithmetic written straight in numpy float64: no exactness, no checks."""
    import numpy as np  # noqa: PLC0415

    ln_low = np.log1p(1000.0)
    ln_span = np.log1p(1_000_000.0) - ln_low
    revenue = np.clip((np.log1p(columns["revenue_12m"]) - ln_low) / ln_span * 100, 0, 100)
    pipeline = np.clip(columns["pipeline"] / 2500, 0, 100)
    deals = np.array([0.0, 40.0, 70.0, 100.0])[
        np.searchsorted([1, 3, 6], columns["deals_won"], side="right")
    ]
    certified = np.clip(columns["certified_people"] * 20.0, 0, 100)
    days = columns["days_since_login"]
    seen = ~np.isnan(days)
    logins = 100 * np.exp2(-np.where(seen, days, 0) / 30)
    nps = columns["nps"]
    rated = ~np.isnan(nps)
    values = nps[rated]
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    below = np.cumsum(counts) - counts
    ranks = np.full(len(nps), 50.0)
    ranks[rated] = (100 * (below + (counts - 1) / 2) / max(len(values) - 1, 1))[inverse]
    total = 3 * revenue + 2 * pipeline + 2 * deals + certified + np.where(seen, 1.5 * logins, 0)
    total += ranks
    weight = 9.0 + np.where(seen, 1.5, 0) + 1
    present = weight - 1 + rated
    tenths = np.floor(total / weight * 10 + 0.5).astype(np.int64)
    bands = np.searchsorted([400, 700], tenths, side="right")
    bands = np.where((bands > 1) & (~seen | (days > 90)), 1, bands)
    tenths = np.where(present >= 0.5 * sum(WEIGHTS), tenths, -1)
    return tenths, bands


def check_arrays(snapshots: list[MetricSnapshot]) -> bool:
    """score_arrays equals the exact batch on the numbers the arrays hold."""
    columns = numeric_columns(snapshots)
    exact_snapshots = [
        MetricSnapshot(
            s.partner_id,
            AS_OF,
            {
                name: (int(value) if float(value).is_integer() else Decimal(float(value)))
                for name, column in columns.items()
                if (value := column[i]) == value  # NaN: no data
            },
        )
        for i, s in enumerate(snapshots)
    ]
    arrays = score_arrays(MODEL, columns)
    batch = score_batch(MODEL, exact_snapshots, as_of=AS_OF, explain=False)
    expected = [
        (-1 if r.computed_value is None else int(r.computed_value * 10), band_index(r))
        for r in batch.rows()
    ]
    return list(zip(arrays.tenths.tolist(), arrays.bands.tolist(), strict=True)) == expected


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


def check(model: ScoringModel, snapshots: list[MetricSnapshot]) -> int:
    """The paths must give the same numbers before any is timed.

    Returns how many partners the float-only plain loop scores differently from
    partnerkit's exact paths (a float landing on the other side of a rounding tie).
    """
    sample = snapshots[:2000]
    explained = score_batch(model, sample, as_of=AS_OF)
    compact = score_batch(model, sample, as_of=AS_OF, explain=False)
    assert list(explained.rows()) == list(compact.rows())
    assert explained.scores[:50] == compact.scores[:50]
    assert list(explained.scores[:50]) == [
        score(model, s, as_of=AS_OF, cohort=sample) for s in sample[:50]
    ]
    full = score_batch(model, snapshots, as_of=AS_OF, explain=False)
    exact = [
        (-1 if row.computed_value is None else int(row.computed_value * 10), band_index(row))
        for row in full.rows()
    ]
    return sum(
        1 for mine, theirs in zip(exact, plain_loop(snapshots), strict=True) if mine != theirs
    )


def band_index(row: ScoreRow) -> int:
    return (
        -1 if row.computed_band is None else [b.name for b in MODEL.bands].index(row.computed_band)
    )


def read_every_contribution(snapshots: list[MetricSnapshot]) -> int:
    batch = score_batch(MODEL, snapshots, as_of=AS_OF)
    return sum(len(item.contributions) for item in batch)


def main(argv: list[str] | None = None) -> int:  # noqa: PLR0915 - one report, top to bottom
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--partners", type=int, default=1_000_000)
    parser.add_argument("--eager", type=int, default=200_000, help="partners for the eager paths")
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
    disagree = check(MODEL, snapshots)
    built = time.perf_counter() - started
    eager_part = snapshots[:eager_count]
    batch = score_batch(MODEL, snapshots, as_of=AS_OF, explain=False)
    sample = [snapshot.partner_id for snapshot in snapshots[: min(count, 20_000)]]

    try:
        import numpy  # noqa: F401, PLC0415 - optional: the fast extra
    except ImportError:
        with_numpy = False
    else:
        with_numpy = True
    columns = numeric_columns(snapshots) if with_numpy else {}
    arrays_agree = check_arrays(snapshots[:20_000]) if with_numpy else False
    contenders: list[tuple[str, int, Callable[[], object]]] = [
        ("bare loop (weighted sum over float tuples)", count, lambda: bare_loop(rows)),
        ("plain loop, same rules in floats", count, lambda: plain_loop(snapshots)),
        (
            "compact: score_batch(explain=False)",
            count,
            lambda: score_batch(MODEL, snapshots, as_of=AS_OF, explain=False),
        ),
        (
            "explained: score_batch(), every HealthScore",
            eager_count,
            lambda: score_batch(MODEL, eager_part, as_of=AS_OF),
        ),
        (
            "explained, every contribution read",
            eager_count,
            lambda: read_every_contribution(eager_part),
        ),
        (
            "on demand: batch[partner_id] from compact",
            len(sample),
            lambda: [batch[p] for p in sample],
        ),
    ]
    if with_numpy:
        contenders += [
            ("raw numpy, same arithmetic in float64", count, lambda: raw_numpy(columns)),
            ("score_arrays: numpy, exact", count, lambda: score_arrays(MODEL, columns)),
        ]
    best = dict.fromkeys(range(len(contenders)), float("inf"))
    for _ in range(args.repeat):  # contenders take turns, so load hits them alike
        for position, (_name, _partners, work) in enumerate(contenders):
            best[position] = min(best[position], best_seconds(work, 1))

    print("health scoring: partners per second (6 measures: log, target, steps, linear,")
    print("recency, percentile; 2 in USD money; 3-5% missing; one gate)")
    print(
        f"python {platform.python_version()} ({platform.python_implementation()}), "
        f"{platform.system()} {platform.machine()}"
    )
    print(
        f"data: {count:,} partners (seed {args.seed}), built and checked in {built:.1f} s; "
        f"best of {args.repeat} rounds, gc off while timed"
    )
    print(f"plain loop vs partnerkit: {disagree} of {count:,} partners differ (float rounding)")
    print()
    rates = {name: partners / best[i] for i, (name, partners, _) in enumerate(contenders)}
    bare_rate = rates[contenders[0][0]]
    plain_rate = rates[contenders[1][0]]
    print(f"{'path':<46}{'partners':>11}{'partners/s':>13}{'vs bare':>9}{'vs plain':>10}")
    for name, partners, _work in contenders:
        speed = rates[name]
        print(
            f"{name:<46}{partners:>11,}{speed:>13,.0f}"
            f"{bare_rate / speed:>8.2f}x{plain_rate / speed:>9.2f}x"
        )
    print()
    compact_ratio = plain_rate / rates[contenders[2][0]]
    eager_rate = rates[contenders[3][0]]
    verdict = "MET" if compact_ratio <= COMPACT_GOAL_RATIO else "NOT MET"
    print(f"goal: compact within {COMPACT_GOAL_RATIO}x of the plain loop: "
          f"{compact_ratio:.2f}x -> {verdict}")  # fmt: skip
    verdict = "MET" if eager_rate >= EAGER_GOAL_RATE else "NOT MET"
    print(f"goal: explained at least {EAGER_GOAL_RATE:,} partners/s: "
          f"{eager_rate:,.0f} -> {verdict}")  # fmt: skip
    if with_numpy:
        numpy_ratio = (
            rates["raw numpy, same arithmetic in float64"] / rates["score_arrays: numpy, exact"]
        )
        verdict = "MET" if numpy_ratio <= NUMPY_GOAL_RATIO and arrays_agree else "NOT MET"
        print(
            f"goal: score_arrays within {NUMPY_GOAL_RATIO:.0f}x of raw numpy and identical to "
            f"the exact path: {numpy_ratio:.2f}x, identical on 20,000: {arrays_agree} -> {verdict}"
        )
    else:
        print("numpy is not installed: pip install partnerkit[fast] for the vectorised rows")
    print(f"total run time {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
