"""Batch path for populations that outgrow one process: pure functions over pandas frames.

A ledger of activities, held as a frame (or a Parquet file) with the columns
`LEDGER_COLUMNS`, goes partition by partition, each partition holding every row
of its partners and none of anyone else's:

- `snapshot_frame`: activities to metric snapshots (`compute_snapshots`);
- `score_frame`: snapshots to health scores (`score_batch`), with percentile
  ranks from `RankCounts` summed over every partition first (`rank_counts`);
- `review_frame`: snapshots to tier decisions (`review`).

Each gives exactly what the single-process function gives for the same
partners. `run_dask` runs them with Dask over a Parquet ledger; the guide
(``docs/batch.md``) shows that and a Spark recipe. pandas, pyarrow and Dask come
with the dask extra (``pip install partnerkit[dask]``) and are imported when
first used.
"""

from partnerkit.batch._dask import BatchResult, run_dask
from partnerkit.batch._frames import (
    LEDGER_COLUMNS,
    RankCounts,
    activities_from_frame,
    activity_frame,
    ledger_schema,
    rank_counts,
    review_frame,
    score_frame,
    snapshot_frame,
    snapshots_from_frame,
)

__all__ = [
    "LEDGER_COLUMNS",
    "BatchResult",
    "RankCounts",
    "activities_from_frame",
    "activity_frame",
    "ledger_schema",
    "rank_counts",
    "review_frame",
    "run_dask",
    "score_frame",
    "snapshot_frame",
    "snapshots_from_frame",
]
