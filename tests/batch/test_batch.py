"""The batch functions give, partition by partition, what one process gives for everyone."""

import logging
import math
import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from partnerkit import (
    Activity,
    Aggregate,
    MetricDefinition,
    MetricSnapshot,
    Money,
    ValidationError,
    Window,
    compute_snapshots,
)
from partnerkit.health import model_from_dict, score_batch
from partnerkit.tiers import Membership, Program, Requirement, Tier, all_of, review

pd = pytest.importorskip("pandas")
pytest.importorskip("pyarrow")

from partnerkit.batch import (  # noqa: E402 - after the optional imports are known to work
    LEDGER_COLUMNS,
    RankCounts,
    activities_from_frame,
    activity_frame,
    ledger_schema,
    rank_counts,
    review_frame,
    run_dask,
    score_frame,
    snapshot_frame,
)

AS_OF = datetime(2026, 10, 1, tzinfo=UTC)
DEFINITIONS = (
    MetricDefinition(
        "revenue_12m",
        Aggregate.SUM,
        kinds=("revenue_booked",),
        window=Window.trailing("P12M"),
        currency="USD",
    ),
    MetricDefinition("deals_won", Aggregate.COUNT, kinds=("deal_won",)),
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
        "name": "Batch",
        "version": 1,
        "currency": "USD",
        "measures": [
            {"name": "revenue", "metric": "revenue_12m", "weight": 3,
             "normalizer": {"kind": "log", "low": 1000, "high": 1000000}},
            {"name": "revenue_rank", "metric": "revenue_12m", "weight": 1,
             "normalizer": {"kind": "percentile"}},
            {"name": "deals", "metric": "deals_won", "weight": 2,
             "normalizer": {"kind": "percentile"}},
            {"name": "logins", "metric": "days_since_login", "weight": 1,
             "normalizer": {"kind": "recency", "half_life_days": 30}},
        ],
        "gates": [{"name": "no_login", "metric": "days_since_login", "op": ">",
                   "threshold": 60, "cap": "at_risk", "fire_when_missing": True}],
    }
)  # fmt: skip
PROGRAM = Program(
    "prg_batch",
    "Batch program",
    "USD",
    tuple(
        Tier(
            tier_id,
            tier_id.title(),
            rank,
            all_of(
                Requirement("revenue_12m", ">=", Money(revenue, "USD")),
                Requirement("deals_won", ">=", deals),
            ),
        )
        for rank, (tier_id, revenue, deals) in enumerate(
            [("registered", "1000", 1), ("silver", "20000", 3), ("gold", "80000", 6)], start=1
        )
    ),
    DEFINITIONS,
)
KINDS = ("revenue_booked", "deal_won", "certification_earned", "portal_login", "training_completed")


def make_ledger(partners: int, seed: int = 7) -> list[Activity]:
    rng = random.Random(seed)
    activities = []
    for index in range(partners):
        partner = f"ptn_{index:04d}"
        for number in range(rng.randrange(0, 40)):
            kind = rng.choice(KINDS)
            at = AS_OF - timedelta(days=rng.randrange(0, 500), seconds=rng.randrange(86_400))
            value: Any = None
            attributes: dict[str, Any] = {}
            expires = None
            if kind == "revenue_booked":
                value = Money(Decimal(rng.randrange(1, 5_000_000)).scaleb(-2), "USD")
            elif kind == "certification_earned":
                attributes = {"person": f"per_{rng.randrange(6)}", "level": rng.randrange(3)}
                expires = date(2026, 1, 1) + timedelta(days=rng.randrange(600))
            elif kind == "training_completed":
                value = Decimal(rng.randrange(1, 80)) / 4
            activities.append(
                Activity(f"act_{index}_{number}", partner, kind, at, value, attributes, expires)
            )
    return activities


def memberships_of(partners: int) -> dict[str, Membership]:
    rng = random.Random(3)
    tiers = [None, "registered", "silver", "gold"]
    result = {}
    for index in range(partners):
        tier = rng.choice(tiers)
        result[f"ptn_{index:04d}"] = Membership(
            f"ptn_{index:04d}",
            PROGRAM.id,
            date(2024, 1, 1),
            tier_id=tier,
            tier_since=None if tier is None else datetime(2025, 1, 1, tzinfo=UTC),
        )
    return result


def partitions(activities: list[Activity], count: int) -> list[list[Activity]]:
    """Activities bucketed by partner: every partner's rows in exactly one bucket."""
    buckets: list[list[Activity]] = [[] for _ in range(count)]
    for activity in activities:
        buckets[int(activity.partner_id[4:]) % count].append(activity)
    return buckets


def one_process(activities: list[Activity], memberships: dict[str, Membership]) -> tuple[Any, Any]:
    """Scores and decisions as the single-process functions give them, as frames."""
    snapshots = compute_snapshots(DEFINITIONS, activities, AS_OF)
    scores = pd.DataFrame.from_records(
        score_batch(MODEL, snapshots, as_of=AS_OF, explain=False).to_records()
    )
    members = [memberships[pid] for pid in snapshots if pid in memberships]
    run = review(PROGRAM, members, snapshots, as_of=AS_OF, evidence=False)
    decisions = pd.DataFrame.from_records(
        [
            {
                "partner_id": d.partner_id,
                "outcome": d.outcome.value,
                "tier_id": d.tier_id,
                "qualifying_tier_id": d.qualifying_tier_id,
                "failing_reviews": d.failing_reviews,
                "changed": d.changed,
            }
            for d in run.decisions
        ]
    )
    return scores, decisions


def plain(value: Any) -> Any:
    """A frame cell as the Python value it stands for (pandas' NaN and Timestamp undone)."""
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def same(left: Any, right: Any, columns: list[str] | None = None) -> None:
    """Equal frames after ordering by partner, value for value (Decimals compared exactly)."""
    chosen = columns or list(right.columns)

    def rows(frame: Any) -> list[dict[str, Any]]:
        ordered = frame[chosen].sort_values("partner_id").reset_index(drop=True)
        return [{k: plain(v) for k, v in row.items()} for row in ordered.to_dict("records")]

    assert rows(left) == rows(right)


def test_a_ledger_frame_round_trips_every_activity() -> None:
    activities = make_ledger(20)
    frame = activity_frame(activities)
    assert tuple(frame.columns) == LEDGER_COLUMNS
    assert activities_from_frame(frame) == activities


def test_a_ledger_round_trips_through_parquet(tmp_path: Path) -> None:
    activities = make_ledger(20)
    path = tmp_path / "ledger.parquet"
    activity_frame(activities).to_parquet(path, schema=ledger_schema(), index=False)
    assert activities_from_frame(pd.read_parquet(path)) == activities


def test_partitions_score_and_review_exactly_as_one_process() -> None:
    activities = make_ledger(60)
    memberships = memberships_of(60)
    scores, decisions = one_process(activities, memberships)
    parts = [
        snapshot_frame(DEFINITIONS, activity_frame(bucket), AS_OF)
        for bucket in partitions(activities, 4)
    ]
    counts = sum((rank_counts(MODEL, part) for part in parts), RankCounts())
    batch_scores = pd.concat(
        [score_frame(MODEL, part, as_of=AS_OF, counts=counts) for part in parts]
    )
    batch_decisions = pd.concat(
        [review_frame(PROGRAM, memberships, part, as_of=AS_OF) for part in parts]
    )
    same(batch_scores, scores)
    same(batch_decisions, decisions)


def test_without_counts_a_partition_ranks_within_itself() -> None:
    activities = make_ledger(30)
    frame = snapshot_frame(DEFINITIONS, activity_frame(activities), AS_OF)
    alone = score_frame(MODEL, frame, as_of=AS_OF)
    counted = score_frame(MODEL, frame, as_of=AS_OF, counts=rank_counts(MODEL, frame))
    same(alone, counted)


def test_counts_missing_a_partners_value_are_refused() -> None:
    activities = make_ledger(30)
    frame = snapshot_frame(DEFINITIONS, activity_frame(activities), AS_OF)
    with pytest.raises(ValidationError, match="rank_counts"):
        score_frame(MODEL, frame, as_of=AS_OF, counts=RankCounts())


def test_counts_in_two_currencies_do_not_add_up() -> None:
    with pytest.raises(ValidationError, match="EUR"):
        RankCounts({"m": {1: 1}}, "USD") + RankCounts({"m": {2: 1}}, "EUR")


def test_a_float_amount_is_refused_with_the_fix() -> None:
    frame = activity_frame(make_ledger(3))
    frame["amount"] = [12.5] * len(frame)
    with pytest.raises(ValidationError, match="exact decimal text"):
        activities_from_frame(frame)


def test_naive_instants_are_refused() -> None:
    frame = activity_frame(make_ledger(3))
    frame["occurred_at"] = frame["occurred_at"].dt.tz_localize(None)
    with pytest.raises(ValidationError, match="timezone-aware"):
        activities_from_frame(frame)


def test_a_snapshot_frame_holds_the_snapshot_values() -> None:
    activities = make_ledger(5)
    frame = snapshot_frame(DEFINITIONS, activity_frame(activities), AS_OF)
    expected = compute_snapshots(DEFINITIONS, activities, AS_OF)
    for row in frame.to_dict("records"):
        partner = row.pop("partner_id")
        assert MetricSnapshot(partner, AS_OF, row) == expected[partner]


# Dask itself still calls pandas APIs that pandas 3.1 deprecates; not ours to fix.
DASK_WARNINGS = pytest.mark.filterwarnings("ignore:The inplace keyword in DataFrame")


def write_ledger(activities: list[Activity], folder: Path, files: int) -> Path:
    """A Parquet ledger bucketed by partner: one file per bucket."""
    folder.mkdir()
    for number, bucket in enumerate(partitions(activities, files)):
        activity_frame(bucket).to_parquet(
            folder / f"part-{number}.parquet", schema=ledger_schema(), index=False
        )
    return folder


@DASK_WARNINGS
def test_dask_on_two_worker_processes_gives_what_one_process_gives(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    activities = make_ledger(80)
    memberships = memberships_of(80)
    ledger = write_ledger(activities, tmp_path / "ledger", files=4)
    scores, decisions = one_process(activities, memberships)
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # any free port: never clash with another cluster
            silence_logs=logging.ERROR,
        ) as cluster,
        distributed.Client(cluster),
    ):
        result = run_dask(
            ledger,
            definitions=DEFINITIONS,
            as_of=AS_OF,
            model=MODEL,
            program=PROGRAM,
            memberships=memberships,
        )
    assert result.partitions == 4
    same(result.scores, scores)
    same(result.decisions, decisions)


@DASK_WARNINGS
def test_dask_shuffles_a_ledger_not_bucketed_by_partner(tmp_path: Path) -> None:
    pytest.importorskip("dask")
    activities = make_ledger(40)
    folder = tmp_path / "ledger"
    folder.mkdir()
    # Rows in arrival order, so every file holds some rows of most partners.
    for number in range(3):
        activity_frame(activities[number::3]).to_parquet(
            folder / f"part-{number}.parquet", schema=ledger_schema(), index=False
        )
    scores, _ = one_process(activities, memberships_of(40))
    result = run_dask(folder, definitions=DEFINITIONS, as_of=AS_OF, model=MODEL, by_partner=False)
    same(result.scores, scores)
