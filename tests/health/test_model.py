from decimal import Decimal
from typing import Any

import pytest

from partnerkit import ValidationError
from partnerkit.health import (
    DEFAULT_BANDS,
    Band,
    Direction,
    Gate,
    Measure,
    Normalizer,
    NormalizerKind,
    ScoringModel,
    model_from_dict,
    model_from_toml,
    model_to_toml,
)
from partnerkit.serialization import from_dict


def document(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Standard",
        "version": 1,
        "measures": [
            {"name": "revenue", "metric": "revenue_12m", "weight": 3,
             "normalizer": {"kind": "log", "low": 1000, "high": 1000000}},
            {"name": "deals", "metric": "deals_won", "weight": 2,
             "normalizer": {"kind": "steps", "steps": [{"at": 1, "points": 40},
                                                       {"at": 5, "points": 100}]}},
            {"name": "logins", "metric": "days_since_login", "weight": 1,
             "normalizer": {"kind": "recency", "half_life_days": 30}},
        ],
    }  # fmt: skip
    data.update(changes)
    return data


def band(name: str, lower: int, upper: int) -> dict[str, Any]:
    return {"name": name, "lower": lower, "upper": upper, "color": "#3a9e5c"}


def paths(data: dict[str, Any]) -> tuple[str, ...]:
    with pytest.raises(ValidationError) as info:
        model_from_dict(data)
    return info.value.paths


def test_a_model_reads_from_a_dict_with_defaults() -> None:
    model = model_from_dict(document())
    assert model.bands == DEFAULT_BANDS
    assert model.measures[2].direction is Direction.LOWER  # recency defaults to lower
    assert model.measures[0].label == "Revenue"
    assert model.min_weight_share == Decimal("0.5")


def test_errors_carry_the_path_of_the_nested_field() -> None:
    data = document()
    data["measures"][2]["normalizer"]["half_life_days"] = 0
    assert paths(data) == ("measures[2].normalizer.half_life_days",)


def test_every_problem_in_the_measures_is_reported_at_once() -> None:
    data = document()
    data["measures"][0]["weight"] = -1
    data["measures"][1]["normalizer"]["steps"][1]["at"] = 0
    assert set(paths(data)) == {"measures[0].weight", "measures[1].normalizer.steps[1].at"}


def test_every_problem_with_the_model_itself_is_reported_at_once() -> None:
    data = document(version=0, min_weight_share=2, bands=[band("low", 0, 40)])
    assert set(paths(data)) == {"version", "min_weight_share", "bands"}


def test_a_parameter_of_another_kind_is_refused() -> None:
    with pytest.raises(ValidationError, match="a target normaliser has no low") as info:
        Normalizer(NormalizerKind.TARGET, target=Decimal(10), low=Decimal(1))
    assert info.value.paths == ("low",)


def test_steps_must_rise_with_the_direction() -> None:
    falling = Normalizer.stepped([(1, 80), (5, 40)])
    with pytest.raises(ValidationError) as info:
        Measure("tickets", "open_tickets", falling)
    assert info.value.paths == ("normalizer.steps[1].points",)
    ceiling = Normalizer.stepped([(1, 80), (5, 40)], below=100)
    lower = Measure("tickets", "open_tickets", ceiling, direction=Direction.LOWER)
    assert lower.normalizer.levels == (100, 80, 40)


def test_recency_cannot_be_higher_is_better() -> None:
    with pytest.raises(ValidationError, match="set direction to 'lower'"):
        Measure("logins", "days_since_login", Normalizer.recency(30), direction=Direction.HIGHER)


def test_all_zero_weights_are_refused() -> None:
    data = document()
    for measure in data["measures"]:
        measure["weight"] = 0
    assert paths(data) == ("measures",)


def test_duplicate_measure_names_are_refused() -> None:
    data = document()
    data["measures"][1]["name"] = "revenue"
    assert paths(data) == ("measures[1].name",)


@pytest.mark.parametrize(
    ("bands", "expected"),
    [
        ([band("low", 0, 40), band("high", 50, 100)], ("bands[1].lower",)),  # a gap
        ([band("low", 0, 60), band("high", 50, 100)], ("bands[1].lower",)),  # an overlap
        ([band("low", 10, 40), band("high", 40, 100)], ("bands[0].lower",)),
        ([band("low", 0, 40), band("high", 40, 90)], ("bands[1].upper",)),
        ([band("only", 0, 100)], ("bands",)),
        ([band(f"b{i}", i, i + 1) for i in range(13)], ("bands",)),
        ([band("low", 0, 40), band("low", 40, 100)], ("bands[1].name",)),
    ],
)
def test_bands_must_cover_0_to_100_without_gaps(
    bands: list[dict[str, Any]], expected: tuple[str, ...]
) -> None:
    assert paths(document(bands=bands)) == expected


def test_colours_are_hex() -> None:
    with pytest.raises(ValidationError) as info:
        Band("low", Decimal(0), Decimal(50), "red")
    assert info.value.paths == ("color",)


def test_a_gate_must_cap_at_a_band_of_the_model() -> None:
    gate = {"name": "no_login", "metric": "days_since_login", "op": ">", "threshold": 90,
            "cap": "amber"}  # fmt: skip
    assert paths(document(gates=[gate])) == ("gates[0].cap",)


def test_band_edges_are_inclusive_below_and_exclusive_above() -> None:
    model = model_from_dict(document())
    assert model.band_for(Decimal("39.9")).name == "critical"
    assert model.band_for(Decimal(40)).name == "at_risk"
    assert model.band_for(Decimal("69.9")).name == "at_risk"
    assert model.band_for(Decimal(70)).name == "healthy"
    assert model.band_for(Decimal(100)).name == "healthy"  # the last band includes 100
    assert model.band_for(0).name == "critical"


def test_floats_in_a_dict_are_read_by_their_decimal_digits() -> None:
    data = document()
    data["measures"][0]["weight"] = 0.3
    data["measures"][1]["weight"] = 0.1
    model = model_from_dict(data)
    assert model.measures[0].weight == Decimal("0.3")
    assert model.measures[1].weight == Decimal("0.1")


def test_from_dict_reads_the_same_model() -> None:
    assert from_dict(ScoringModel, document()) == model_from_dict(document())


TOML = """
name = "Standard"
version = 2
min_weight_share = 0.6

[[measures]]
name = "revenue"
metric = "revenue_12m"
weight = 0.3
normalizer = { kind = "log", low = 1000, high = 1000000 }

[[measures]]
name = "logins"
metric = "days_since_login"
weight = 0.7
normalizer = { kind = "recency", half_life_days = 30 }

[[gates]]
name = "no_login"
metric = "days_since_login"
op = ">"
threshold = 90
cap = "at_risk"
fire_when_missing = true
label = "No portal login in 90 days"
"""


def test_toml_floats_are_exact_decimals() -> None:
    model = model_from_toml(TOML)
    assert model.measures[0].weight == Decimal("0.3")
    assert model.min_weight_share == Decimal("0.6")
    assert model.gates[0] == Gate(
        "no_login",
        "days_since_login",
        ">",  # type: ignore[arg-type]
        Decimal(90),
        "at_risk",
        fire_when_missing=True,
        label="No portal login in 90 days",
    )


def test_a_model_round_trips_through_toml() -> None:
    model = model_from_toml(TOML)
    assert model_from_toml(model_to_toml(model)) == model


def test_bad_toml_says_where() -> None:
    with pytest.raises(ValidationError, match="not valid TOML"):
        model_from_toml("name = ")


def test_toml_errors_carry_paths() -> None:
    with pytest.raises(ValidationError) as info:
        model_from_toml(TOML.replace("half_life_days = 30", "half_life_days = -1"))
    assert info.value.paths == ("measures[1].normalizer.half_life_days",)


def test_lookup_of_an_unknown_measure_lists_the_known_ones() -> None:
    model = model_from_dict(document())
    with pytest.raises(ValidationError, match="revenue, deals, logins"):
        model.measure("nps")


def test_a_model_that_has_scored_pickles_and_scores_the_same_after() -> None:
    import pickle  # noqa: PLC0415 - only this test needs it
    from datetime import UTC, datetime  # noqa: PLC0415

    from partnerkit import MetricSnapshot  # noqa: PLC0415
    from partnerkit.health import model_from_dict, score  # noqa: PLC0415

    model = model_from_dict(
        {
            "name": "Pickled",
            "version": 1,
            "measures": [
                {"name": "deals", "metric": "deals", "normalizer": {"kind": "steps", "steps": [
                    {"at": 1, "points": 50}, {"at": 3, "points": 100}]}},
            ],
        }
    )  # fmt: skip
    now = datetime(2026, 11, 22, tzinfo=UTC)
    snapshot = MetricSnapshot("ptn_1", now, {"deals": 3})
    first = score(model, snapshot, as_of=now)
    copy = pickle.loads(pickle.dumps(model))
    assert copy == model
    assert score(copy, snapshot, as_of=now) == first
