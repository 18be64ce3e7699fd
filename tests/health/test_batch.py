import pickle
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import attrs
import pytest

from partnerkit import MetricSnapshot, Money, Partner, ValidationError
from partnerkit.health import (
    Backtest,
    Measure,
    Normalizer,
    Override,
    ParentData,
    RollupMethod,
    ScoreStatus,
    ScoringModel,
    backtest,
    compare,
    mann_whitney_u,
    rollup,
    rollup_all,
    score,
    score_batch,
)
from partnerkit.serialization import from_json, to_json

NOW = datetime(2026, 11, 22, tzinfo=UTC)

MODEL = ScoringModel(
    "Batch",
    1,
    (
        Measure("revenue", "revenue", Normalizer.log(1000, 1_000_000), weight=Decimal(3)),
        Measure("nps", "nps", Normalizer.percentile(), weight=Decimal(1)),
    ),
)


def snapshots() -> list[MetricSnapshot]:
    return [
        MetricSnapshot("a", NOW, {"revenue": Money("500000", "USD"), "nps": 60}),
        MetricSnapshot("b", NOW, {"revenue": Money("20000", "USD"), "nps": 10}),
        MetricSnapshot("c", NOW, {"revenue": Money("1000", "USD"), "nps": None}),
        MetricSnapshot("d", NOW, {"nps": 30}),
    ]


def test_compact_and_explained_batches_agree_with_single_scores() -> None:
    explained = score_batch(MODEL, snapshots(), as_of=NOW)
    compact = score_batch(MODEL, snapshots(), as_of=NOW, explain=False)
    assert list(compact.rows()) == list(explained.rows())
    assert compact.scores == explained.scores
    for snapshot in snapshots():
        assert score(MODEL, snapshot, as_of=NOW, cohort=snapshots()) == compact[snapshot.partner_id]


def test_percentiles_rank_within_the_batch() -> None:
    batch = score_batch(MODEL, snapshots(), as_of=NOW)
    ranks = {item.partner_id: item.contributions[1].normalized for item in batch}
    assert ranks == {"a": 100, "b": 0, "c": None, "d": 50}


def test_a_partner_without_enough_data_is_counted_apart() -> None:
    batch = score_batch(MODEL, snapshots(), as_of=NOW)
    assert batch["d"].status is ScoreStatus.INSUFFICIENT_DATA
    assert batch.band_counts() == {"healthy": 1, "at_risk": 0, "critical": 2, None: 1}


def test_records_are_flat_rows_for_pandas() -> None:
    batch = score_batch(MODEL, snapshots(), as_of=NOW)
    record = batch.to_records()[0]
    assert record["partner_id"] == "a"
    assert record["revenue.raw"] == Decimal(500000)
    assert record["nps.points"] == batch["a"].contributions[1].points
    compact = score_batch(MODEL, snapshots(), as_of=NOW, explain=False)
    assert set(compact.to_records()[0]) == {
        "partner_id", "as_of", "model", "model_version", "status", "value", "band",
        "computed_value", "computed_band", "overridden",
    }  # fmt: skip
    assert isinstance(compact.to_records(floats=True)[0]["value"], float)


def test_a_partner_may_appear_once() -> None:
    with pytest.raises(ValidationError, match="appears twice"):
        score_batch(MODEL, [*snapshots(), snapshots()[0]], as_of=NOW)


def test_batch_overrides_carry_over_from_previous_scores() -> None:
    first = score_batch(MODEL, snapshots(), as_of=NOW, overrides={
        "b": Override("usr_1", "renewal signed", NOW, NOW + timedelta(days=7), band="healthy"),
    })  # fmt: skip
    assert first["b"].band == "healthy"
    later = score_batch(MODEL, snapshots(), as_of=NOW + timedelta(days=1), previous=first.scores,
                        explain=False)  # fmt: skip
    rows = {row.partner_id: row for row in later.rows()}
    assert (rows["b"].band, rows["b"].computed_band, rows["b"].overridden) == (
        "healthy", "critical", True,
    )  # fmt: skip
    assert later["b"].override == first["b"].override
    expired = score_batch(MODEL, snapshots(), as_of=NOW + timedelta(days=7), previous=later.scores)
    assert [event.kind for event in expired.events() if event.subject_id == "b"] == [
        "health.override_lapsed", "health.band_changed",
    ]  # fmt: skip


def test_batch_html_escapes_and_shows_band_counts() -> None:
    html = score_batch(MODEL, snapshots(), as_of=NOW)._repr_html_()
    assert "Healthy</span> 1" in html
    assert "<script" not in html


def children() -> list:  # type: ignore[type-arg]
    batch = score_batch(MODEL, snapshots(), as_of=NOW)
    return [batch["a"], batch["b"], batch["c"], batch["d"]]


def test_a_mean_rollup_averages_children_with_values() -> None:
    result = rollup(MODEL, "dist", children(), as_of=NOW)
    values = [child.value for child in children() if child.value is not None]
    assert result.value == (sum(values) / 3).quantize(Decimal("0.1"))
    assert result.skipped == ("d",)
    assert sum(member.points for member in result.members) == result.value


def test_a_weighted_rollup_weighs_by_a_metric() -> None:
    result = rollup(MODEL, "dist", children(), as_of=NOW, method=RollupMethod.WEIGHTED,
                    weight_metric="revenue", snapshots=snapshots())  # fmt: skip
    shares = {member.partner_id: member.weight_share for member in result.members}
    assert shares == {"a": Decimal("0.9597"), "b": Decimal("0.0384"), "c": Decimal("0.0019")}
    assert sum(member.points for member in result.members) == result.value


def test_a_worst_of_rollup_takes_the_lowest_child() -> None:
    result = rollup(MODEL, "dist", children(), as_of=NOW, method="worst")
    lowest = min(child.value for child in children() if child.value is not None)
    assert (result.value, result.band) == (lowest, "critical")


def test_the_parents_own_score_is_used_by_choice() -> None:
    kids = children()[:2]
    parent = children()[2]
    ignored = rollup(MODEL, "c", kids, as_of=NOW, parent=parent)
    included = rollup(MODEL, "c", kids, as_of=NOW, parent=parent, parent_data=ParentData.INCLUDE)
    fallback = rollup(MODEL, "c", [children()[3]], as_of=NOW, parent=parent,
                      parent_data=ParentData.FALLBACK)  # fmt: skip
    assert len(ignored.members) == 2
    assert [member.is_parent for member in included.members] == [False, False, True]
    assert [(member.partner_id, member.is_parent) for member in fallback.members] == [("c", True)]


def test_rollup_all_follows_the_partner_hierarchy() -> None:
    partners = [
        Partner("dist", "Distributor", "distributor", "FI", NOW),
        Partner("a", "A", "reseller", "FI", NOW, parent_id="dist"),
        Partner("b", "B", "reseller", "FI", NOW, parent_id="dist"),
    ]
    result = rollup_all(MODEL, score_batch(MODEL, snapshots(), as_of=NOW), partners, as_of=NOW)
    assert list(result) == ["dist"]
    assert [member.partner_id for member in result["dist"].members] == ["a", "b"]
    assert from_json(type(result["dist"]), to_json(result["dist"])) == result["dist"]


def separating(values: dict[str, int]) -> list[MetricSnapshot]:
    return [MetricSnapshot(pid, NOW, {"deals": value}) for pid, value in values.items()]


LINEAR = ScoringModel("Deals", 1, (Measure("deals", "deals", Normalizer.linear(0, 10)),))


def test_auc_of_a_perfectly_separating_score_is_one_and_its_reverse_zero() -> None:
    values = {"p1": 9, "p2": 8, "p3": 2, "p4": 1}
    churned = {"p1": False, "p2": False, "p3": True, "p4": True}
    assert backtest(LINEAR, separating(values), churned).auc == 1
    reverse = {pid: not outcome for pid, outcome in churned.items()}
    assert backtest(LINEAR, separating(values), reverse).auc == 0


def test_ties_count_half() -> None:
    result = backtest(LINEAR, separating({"p1": 5, "p2": 5}), {"p1": False, "p2": True})
    assert (result.auc, result.u_statistic) == (Decimal("0.5"), Decimal("0.5"))


def test_backtest_reports_rates_per_band_and_separation_per_measure() -> None:
    values = {"p1": 9, "p2": 8, "p3": 5, "p4": 1, "p5": 2}
    churned = {"p1": False, "p2": False, "p3": True, "p4": True, "p5": False, "gone": True}
    result = backtest(LINEAR, separating(values), churned)
    rates = {band.band: (band.partners, band.events, band.rate) for band in result.bands}
    assert rates == {
        "critical": (2, 1, Decimal("0.5000")),
        "at_risk": (1, 1, Decimal("1.0000")),
        "healthy": (2, 0, Decimal("0.0000")),
    }
    deals = result.measures[0]
    assert (deals.mean_without, deals.mean_with, deals.difference) == (
        Decimal("63.33"), Decimal("30.00"), Decimal("33.33"),
    )  # fmt: skip
    assert (result.unmatched_outcomes, result.unmatched_snapshots) == (1, 0)
    assert from_json(Backtest, to_json(result)) == result


def test_outcomes_must_be_true_or_false() -> None:
    with pytest.raises(ValidationError) as info:
        backtest(LINEAR, separating({"p1": 1}), {"p1": 1})  # type: ignore[dict-item]
    assert info.value.paths == ("outcomes['p1']",)


def test_compare_says_which_model_separates_better() -> None:
    values = {"p1": 9, "p2": 8, "p3": 2, "p4": 1}
    churned = {"p1": False, "p2": False, "p3": True, "p4": True}
    good = backtest(LINEAR, separating(values), churned)
    flipped = ScoringModel("Flipped", 2, (Measure("deals", "deals", Normalizer.linear(0, 10),
                                                  direction="lower"),))  # type: ignore[arg-type]  # fmt: skip
    bad = backtest(flipped, separating(values), churned)
    comparison = compare(bad, good)
    assert comparison.auc_difference == 1
    assert comparison.summary == (
        "Deals v1 separates churned partners better than Flipped v2: AUC 1.000 against 0.000."
    )
    assert comparison.to_records()[0] == {"row": "auc", "a": 0, "b": 1, "difference": 1}
    assert "Flipped v2" in comparison._repr_html_()


def test_mann_whitney_u_counts_pairs_won_and_half_the_ties() -> None:
    # 3 beats 2 and 1; each 2 ties the 2 (a half) and beats the 1
    assert mann_whitney_u([3, 2, 2], [2, 1]) == Decimal(5)
    assert mann_whitney_u([2], [2, 1]) == Decimal("1.5")


def test_a_score_from_a_batch_pickles_and_evolves_like_an_eager_one() -> None:
    population = snapshots()
    eager = score(MODEL, population[0], as_of=NOW, cohort=population)
    for explain in (True, False):
        batch = score_batch(MODEL, population, as_of=NOW, explain=explain)
        assert pickle.loads(pickle.dumps(batch["a"])) == eager
        assert attrs.evolve(batch["a"], as_of=NOW) == eager
        assert repr(batch["a"]) == repr(eager)
