"""The vectorised scorer gives exactly the values and bands of the exact path."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from partnerkit import MetricSnapshot, Money, ValidationError
from partnerkit.health import ScoringModel, model_from_dict, score_arrays, score_batch
from partnerkit.testing import _health as hs

np = pytest.importorskip("numpy")

NOW = datetime(2026, 11, 22, tzinfo=UTC)


@st.composite
def populations(draw: st.DrawFn) -> tuple[ScoringModel, list[MetricSnapshot]]:
    model = draw(hs.scoring_models())
    count = draw(st.integers(1, 25))
    return model, [draw(hs.health_snapshots(model, f"ptn_{index}")) for index in range(count)]


def metrics_of(model: ScoringModel) -> list[str]:
    return sorted({m.metric for m in model.measures} | {g.metric for g in model.gates})


def exact(model: ScoringModel, snapshots: list[MetricSnapshot]) -> tuple[list[int], list[int]]:
    batch = score_batch(model, snapshots, as_of=NOW, explain=False)
    names = [band.name for band in model.bands]
    tenths = [-1 if r.computed_value is None else int(r.computed_value * 10) for r in batch.rows()]
    bands = [-1 if r.computed_band is None else names.index(r.computed_band) for r in batch.rows()]
    return tenths, bands


@given(populations())
def test_columns_of_values_score_exactly_like_the_batch(
    population: tuple[ScoringModel, list[MetricSnapshot]],
) -> None:
    model, snapshots = population
    columns = {m: [s.values.get(m) for s in snapshots] for m in metrics_of(model)}
    result = score_arrays(model, columns)
    assert (result.tenths.tolist(), result.bands.tolist()) == exact(model, snapshots)


def as_float(value: object) -> float:
    if value is None:
        return float("nan")
    return float(value.amount if isinstance(value, Money) else value)  # type: ignore[arg-type]


def float_number(value: float) -> int | Decimal:
    return int(value) if value.is_integer() else Decimal(value)


@given(populations())
def test_numeric_arrays_score_exactly_like_the_batch_on_the_same_numbers(
    population: tuple[ScoringModel, list[MetricSnapshot]],
) -> None:
    model, drawn = population
    metrics = metrics_of(model)
    columns: dict[str, Any] = {}
    for metric in metrics:
        floats = np.array([as_float(s.values.get(metric)) for s in drawn], dtype=np.float64)
        # Multiples of 1/512 hold at most 9 decimal places exactly, as metric values must.
        floats = np.round(floats * 512) / 512
        whole = np.isnan(floats).any() or not np.all(np.mod(floats, 1) == 0)
        columns[metric] = floats if whole else floats.astype(np.int64)
    # The exact path on the very numbers the arrays hold (a float is its exact value).
    snapshots = [
        MetricSnapshot(
            s.partner_id,
            NOW,
            {
                m: None if np.isnan(v) else float_number(float(v))
                for m in metrics
                if not np.isnan(v := float(columns[m][i]))
            },
        )
        for i, s in enumerate(drawn)
    ]
    result = score_arrays(model, columns)
    assert (result.tenths.tolist(), result.bands.tolist()) == exact(model, snapshots)


MODEL = model_from_dict(
    {
        "name": "Vector",
        "version": 1,
        "measures": [
            {"name": "revenue", "metric": "revenue", "weight": 2,
             "normalizer": {"kind": "log", "low": 1000, "high": 1000000}},
            {"name": "nps", "metric": "nps", "weight": 1, "normalizer": {"kind": "percentile"}},
        ],
    }
)  # fmt: skip


def test_values_and_band_names_read_like_the_batch_rows() -> None:
    revenue = [Money("500000", "USD"), Money("2000", "USD"), None]
    result = score_arrays(MODEL, {"revenue": revenue, "nps": [10, 20, None]})
    snapshots = [
        MetricSnapshot(f"p{i}", NOW, {"revenue": r, "nps": n})
        for i, (r, n) in enumerate(zip(revenue, [10, 20, None], strict=True))
    ]
    rows = list(score_batch(MODEL, snapshots, as_of=NOW).rows())
    assert result.values() == [row.computed_value for row in rows]
    assert result.band_names() == [row.computed_band for row in rows]
    assert result.currency == "USD"


def test_money_in_two_currencies_is_refused() -> None:
    with pytest.raises(ValidationError, match="EUR"):
        score_arrays(MODEL, {"revenue": [Money("1", "USD"), Money("1", "EUR")], "nps": [1, 2]})


def test_columns_of_different_lengths_are_refused() -> None:
    with pytest.raises(ValidationError, match="one value per partner"):
        score_arrays(MODEL, {"revenue": np.array([1.0, 2.0]), "nps": np.array([1, 2, 3])})


def test_a_pandas_column_with_missing_values_is_read() -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"revenue": [5000.0, None, 250000.5], "nps": pd.array([1, None, 3])})
    result = score_arrays(MODEL, {name: frame[name] for name in frame.columns})
    snapshots = [
        MetricSnapshot("a", NOW, {"revenue": 5000, "nps": 1}),
        MetricSnapshot("b", NOW, {"nps": None}),
        MetricSnapshot("c", NOW, {"revenue": Decimal("250000.5"), "nps": 3}),
    ]
    assert (result.tenths.tolist(), result.bands.tolist()) == exact(MODEL, snapshots)


def test_weights_too_wide_for_int64_sums_are_still_exact() -> None:
    model = model_from_dict(
        {
            "name": "Wide",
            "version": 1,
            "measures": [
                {"name": "big", "metric": "a", "weight": "999999",
                 "normalizer": {"kind": "linear", "low": 0, "high": 7}},
                {"name": "tiny", "metric": "b", "weight": "0.000001",
                 "normalizer": {"kind": "linear", "low": 0, "high": 3}},
            ],
        }
    )  # fmt: skip
    a = [0, 1, 2, 3, 4, 5, 6, 7, None]
    b = [3, 2, 1, 0, None, 1, 2, 3, 1]
    snapshots = [
        MetricSnapshot(f"p{i}", NOW, {"a": x, "b": y})
        for i, (x, y) in enumerate(zip(a, b, strict=True))
    ]
    result = score_arrays(model, {"a": a, "b": b})
    assert (result.tenths.tolist(), result.bands.tolist()) == exact(model, snapshots)
