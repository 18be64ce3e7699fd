"""Running the batch functions on Dask, one partition of a Parquet ledger at a time.

Needs the dask extra (``pip install partnerkit[dask]``), imported when first used.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, NamedTuple

from partnerkit._base.time import to_utc
from partnerkit.batch._frames import (
    LEDGER_COLUMNS,
    RankCounts,
    activity_frame,
    rank_counts,
    review_frame,
    score_frame,
    snapshot_frame,
)
from partnerkit.health._kernel import plan_of

if TYPE_CHECKING:
    import os
    from collections.abc import Mapping, Sequence
    from datetime import datetime

    import dask.dataframe as dd
    import pandas as pd

    from partnerkit._base.money import RateSource
    from partnerkit.health._model import ScoringModel
    from partnerkit.metrics import MetricDefinition
    from partnerkit.tiers._membership import Membership
    from partnerkit.tiers._model import Program

__all__ = ["BatchResult", "run_dask"]


class BatchResult(NamedTuple):
    """What `run_dask` computed, each as one pandas frame in partition order.

    Attributes:
        scores: One row per partner (`score_frame`), if a model was given.
        decisions: One row per reviewed member (`review_frame`), if a program was given.
        snapshots: One row per partner (`snapshot_frame`), if asked for.
        partitions: How many partitions the ledger had.
    """

    scores: pd.DataFrame | None
    decisions: pd.DataFrame | None
    snapshots: pd.DataFrame | None
    partitions: int


def _named(value: object, what: str) -> Any:
    """``value`` as one node of the graph, shipped to each worker once, never hashed."""
    import dask  # noqa: PLC0415 - optional: the dask extra

    return dask.delayed(value, name=f"partnerkit-{what}-{uuid.uuid4().hex}", traverse=False)


def _shared(value: object, what: str) -> Any:
    """Large data for every task: on a distributed cluster, sent to the workers up front."""
    try:
        from distributed import get_client  # noqa: PLC0415 - optional: the dask extra

        client = get_client()
    except (ImportError, ValueError):  # no distributed, or no client active
        return _named(value, what)
    # In a list, a mapping is scattered as one object (not one future per key).
    return client.scatter([value], broadcast=True, hash=False)[0]


def _partition_snapshots(
    partition: pd.DataFrame,
    definitions: Sequence[MetricDefinition],
    as_of: datetime,
    *,
    rates: RateSource | None,
) -> pd.DataFrame:
    # map_partitions passes the partition first.
    return snapshot_frame(definitions, partition, as_of, rates=rates)


def _total(parts: Sequence[RankCounts]) -> RankCounts:
    return sum(parts, RankCounts())


def run_dask(
    ledger: str | os.PathLike[str] | dd.DataFrame,
    *,
    definitions: Sequence[MetricDefinition],
    as_of: datetime,
    model: ScoringModel | None = None,
    program: Program | None = None,
    memberships: Mapping[str, Membership] | None = None,
    rates: RateSource | None = None,
    by_partner: bool = True,
    keep_snapshots: bool = False,
) -> BatchResult:
    """Snapshots, health scores and tier decisions of a whole ledger, on Dask.

    Each partition of the ledger goes through `snapshot_frame` with
    ``map_partitions``; then, per partition, `score_frame` and `review_frame`.
    Percentile ranks are counted per partition and summed before any partition
    is scored, so the results are exactly those of one process over the whole
    ledger. With a ``distributed.Client`` active, it runs on that client's cluster.

    Args:
        ledger: A Parquet ledger (a path or glob, `ledger_schema` columns) or a
            Dask frame of ledger rows.
        definitions: The metrics to compute (the model's and the program's).
        as_of: The instant of the snapshots, scores and review.
        model: Score every partner with it.
        program: Review every member of it (needs ``memberships``).
        memberships: Partner id to membership of ``program``.
        rates: Converts money into a definition's ``currency``.
        by_partner: Whether each partition already holds all of its partners'
            activities (a ledger written bucketed by partner). ``False`` shuffles
            the rows by partner first, which costs a pass over the data.
        keep_snapshots: Also return the snapshot frame.

    Raises:
        ValidationError: As the batch functions do, from the first failing partition.
        ImportError: If dask is not installed (``pip install partnerkit[dask]``).
    """
    import dask  # noqa: PLC0415 - optional: the dask extra
    import dask.dataframe as dd  # noqa: PLC0415
    import pandas as pd  # noqa: PLC0415

    instant = to_utc(as_of, "as_of")
    if isinstance(ledger, dd.DataFrame):
        frame = ledger
    else:
        frame = dd.read_parquet(ledger, columns=list(LEDGER_COLUMNS))
    if not by_partner:
        frame = frame.shuffle("partner_id")
    definitions = tuple(definitions)
    empty = snapshot_frame(definitions, activity_frame(()), instant, rates=rates)
    snapshots = frame.map_partitions(
        _partition_snapshots, _named(definitions, "definitions"), instant, rates=rates, meta=empty
    )
    parts = snapshots.to_delayed()
    wanted: dict[str, list[Any]] = {}
    if model is not None:
        shared = _named(model, "model")
        counts = None
        if any(plan_of(model).percentile):
            counted = [dask.delayed(rank_counts)(shared, part) for part in parts]
            counts = dask.delayed(_total)(counted)
        wanted["scores"] = [
            dask.delayed(score_frame)(shared, part, as_of=instant, counts=counts) for part in parts
        ]
    if program is not None:
        members = _shared(dict(memberships or {}), "memberships")
        chosen = _named(program, "program")
        wanted["decisions"] = [
            dask.delayed(review_frame)(chosen, members, part, as_of=instant) for part in parts
        ]
    if keep_snapshots:
        wanted["snapshots"] = list(parts)
    (computed,) = dask.compute(wanted)
    joined = {
        name: pd.concat(frames, ignore_index=True) if frames else None
        for name, frames in computed.items()
    }
    return BatchResult(
        scores=joined.get("scores"),
        decisions=joined.get("decisions"),
        snapshots=joined.get("snapshots"),
        partitions=len(parts),
    )
