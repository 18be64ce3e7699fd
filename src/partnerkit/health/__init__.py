"""Partner health scores: models as data, explained scores, overrides, roll-ups, backtests.

A `ScoringModel` is data (a dict, TOML or JSON): measures that each read a
snapshot metric through a normaliser onto 0..100 with a weight, bands with
explicit edges and colours, gates that cap the band, and a missing-data policy.
`score` turns one `partnerkit.MetricSnapshot` into a `HealthScore` whose
contributions add up exactly to its value and which explains itself in
sentences; `score_batch` scores a population; `rollup` combines children into
their parent; `backtest` and `compare` check models against what happened.

Everything here is pure: no I/O and no clock; functions take ``as_of``.

Examples:
    >>> from datetime import UTC, datetime
    >>> from partnerkit import MetricSnapshot
    >>> from partnerkit.health import model_from_dict, score
    >>> model = model_from_dict({
    ...     "name": "Starter", "version": 1,
    ...     "measures": [
    ...         {"name": "deals", "metric": "deals_won", "weight": 2,
    ...          "normalizer": {"kind": "linear", "low": 0, "high": 10}},
    ...         {"name": "logins", "metric": "days_since_login", "weight": 1,
    ...          "normalizer": {"kind": "recency", "half_life_days": 30}},
    ...     ],
    ... })
    >>> now = datetime(2026, 11, 22, tzinfo=UTC)
    >>> result = score(model, MetricSnapshot("ptn_1", now, {"deals_won": 6,
    ...     "days_since_login": 30}), as_of=now)
    >>> result.value, result.band
    (Decimal('56.7'), 'at_risk')
    >>> [str(c.points) for c in result.contributions]
    ['40.0', '16.7']
"""

from partnerkit.health._backtest import (
    Backtest,
    BacktestBand,
    BacktestComparison,
    MeasureSeparation,
    backtest,
    compare,
    mann_whitney_u,
)
from partnerkit.health._batch import ScoreBatch, ScoreRow, score_batch
from partnerkit.health._model import (
    DEFAULT_BANDS,
    Band,
    Direction,
    Gate,
    GateOperator,
    Measure,
    MissingPolicy,
    Normalizer,
    NormalizerKind,
    ScoringModel,
    Step,
    model_from_dict,
    model_from_toml,
    model_to_toml,
)
from partnerkit.health._rollup import (
    ParentData,
    Rollup,
    RollupMember,
    RollupMethod,
    rollup,
    rollup_all,
)
from partnerkit.health._score import (
    Cohort,
    Contribution,
    ContributionStatus,
    FiredGate,
    HealthScore,
    Override,
    ScoreStatus,
    Trend,
    TrendDirection,
    apply_override,
    score,
    score_events,
    withdraw_override,
)
from partnerkit.health._vector import ScoreArrays, score_arrays

__all__ = [
    "DEFAULT_BANDS",
    "Backtest",
    "BacktestBand",
    "BacktestComparison",
    "Band",
    "Cohort",
    "Contribution",
    "ContributionStatus",
    "Direction",
    "FiredGate",
    "Gate",
    "GateOperator",
    "HealthScore",
    "Measure",
    "MeasureSeparation",
    "MissingPolicy",
    "Normalizer",
    "NormalizerKind",
    "Override",
    "ParentData",
    "Rollup",
    "RollupMember",
    "RollupMethod",
    "ScoreArrays",
    "ScoreBatch",
    "ScoreRow",
    "ScoreStatus",
    "ScoringModel",
    "Step",
    "Trend",
    "TrendDirection",
    "apply_override",
    "backtest",
    "compare",
    "mann_whitney_u",
    "model_from_dict",
    "model_from_toml",
    "model_to_toml",
    "rollup",
    "rollup_all",
    "score",
    "score_arrays",
    "score_batch",
    "score_events",
    "withdraw_override",
]
