"""Satisfaction: NPS and CSAT arithmetic, answers as activities, NPS as a health measure."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from partnerkit import MetricSnapshot, ValidationError, Window
from partnerkit.health import backtest, model_from_dict
from partnerkit.relationship import (
    csat,
    nps,
    nps_by,
    satisfaction_metrics,
    survey_answer,
    survey_scores,
    with_satisfaction,
)

AT = datetime(2026, 6, 1, tzinfo=UTC)


def test_nps_counts_promoters_passives_and_detractors() -> None:
    result = nps([10, 9, 8, 7, 6, 0, 10, 10, 3, 9])
    assert (result.promoters, result.passives, result.detractors) == (5, 2, 3)
    assert result.score == Decimal("20.0")


def test_nps_interval_for_a_known_sample() -> None:
    # p = 0.5, d = 0.3: variance 0.8 - 0.04 = 0.76; margin 1.96 * 100 * sqrt(0.076) = 54.03...
    result = nps([10, 9, 8, 7, 6, 0, 10, 10, 3, 9])
    assert (result.low, result.high) == (Decimal("-34.1"), Decimal("74.1"))


def test_nps_without_answers_has_no_score() -> None:
    assert nps([]).score is None
    assert nps([]).explain() == "NPS: no answers yet"


def test_nps_refuses_answers_off_the_scale() -> None:
    with pytest.raises(ValidationError, match=r"scores\[1\]"):
        nps([5, 11])


def test_csat_is_the_share_of_fours_and_fives() -> None:
    result = csat([5, 4, 3, 1])
    assert (result.satisfied, result.score) == (2, Decimal("50.0"))


@given(st.lists(st.integers(0, 10), min_size=1, max_size=200))
def test_nps_is_promoter_share_minus_detractor_share(scores: list[int]) -> None:
    result = nps(scores)
    promoters = sum(score >= 9 for score in scores)
    detractors = sum(score <= 6 for score in scores)
    assert result.promoters + result.passives + result.detractors == len(scores)
    exact = Decimal(100 * (promoters - detractors)) / len(scores)
    assert abs(result.score - exact) <= Decimal("0.05")  # type: ignore[operator]
    assert Decimal(-100) <= result.low <= result.score <= result.high <= Decimal(100)  # type: ignore[operator]


@given(st.lists(st.integers(0, 10), max_size=100))
def test_one_more_promoter_never_lowers_nps(scores: list[int]) -> None:
    before = nps(scores).score
    after = nps([*scores, 10]).score
    assert after is not None
    assert before is None or after >= before


@given(st.lists(st.integers(0, 10), min_size=2, max_size=60))
def test_the_interval_narrows_as_the_same_answers_repeat(scores: list[int]) -> None:
    once, four_times = nps(scores), nps(scores * 4)
    assert once.score == four_times.score
    assert four_times.high - four_times.low <= once.high - once.low  # type: ignore[operator]


def answers() -> list:  # type: ignore[type-arg]
    rows = [
        ("a1", "ptn_1", 10, "prg_a"),
        ("a2", "ptn_1", 9, "prg_a"),
        ("a3", "ptn_2", 3, "prg_a"),
        ("a4", "ptn_2", 8, "prg_b"),
        ("a5", "ptn_3", 0, "prg_b"),
    ]
    return [
        survey_answer(
            answer_id,
            partner,
            survey="nps",
            score=score,
            answered_at=AT,
            respondent="c_1",
            program_id=program,
        )
        for answer_id, partner, score, program in rows
    ]


def test_an_answer_is_a_ledger_activity_with_its_score_as_value() -> None:
    answer = answers()[0]
    assert (answer.kind, answer.value, answer.attributes["survey"]) == (
        "survey_answered",
        Decimal(10),
        "nps",
    )
    assert survey_scores(answers(), "nps") == [10, 9, 3, 8, 0]


def test_an_answer_off_its_scale_is_refused_naming_the_scale() -> None:
    with pytest.raises(ValidationError, match="from 1 to 5"):
        survey_answer("x", "ptn_1", survey="csat", score=0, answered_at=AT, respondent="c_1")


def test_nps_per_program_and_per_tier() -> None:
    by_program = nps_by(answers(), "program")
    assert {name: result.score for name, result in by_program.items()} == {
        "prg_a": Decimal("33.3"),
        "prg_b": Decimal("-50.0"),
    }
    tiers = {"ptn_1": "gold", "ptn_2": "silver", "ptn_3": "silver"}
    by_tier = nps_by(answers(), lambda answer: tiers.get(answer.partner_id))
    assert {name: result.score for name, result in by_tier.items()} == {
        "gold": Decimal("100.0"),
        "silver": Decimal("-66.7"),
    }


def test_nps_per_period_leaves_out_answers_outside_it() -> None:
    later = datetime(2026, 9, 1, tzinfo=UTC)
    assert nps_by(answers(), "program", since=later)["prg_a"].responses == 0


def test_satisfaction_metrics_per_partner_in_the_window() -> None:
    values = satisfaction_metrics(answers(), AT, window=Window.trailing("P3M"))
    assert values["ptn_1"] == {"nps": Decimal("100.0"), "csat": None, "survey_answers": 2}
    assert (
        satisfaction_metrics(
            answers(), datetime(2027, 1, 1, tzinfo=UTC), window=Window.trailing("P3M")
        )["ptn_1"]["nps"]
        is None
    )


def test_nps_is_a_health_measure_that_backtests_like_any_other() -> None:
    model = model_from_dict(
        {
            "name": "Voice",
            "version": 1,
            "measures": [
                {
                    "name": "nps",
                    "metric": "nps",
                    "weight": 1,
                    "normalizer": {"kind": "linear", "low": -100, "high": 100},
                },
            ],
        }
    )
    snapshots = [
        with_satisfaction(MetricSnapshot(partner, AT, {}), answers())
        for partner in ("ptn_1", "ptn_2", "ptn_3")
    ]
    assert [s.values["nps"] for s in snapshots] == [
        Decimal("100.0"),
        Decimal("-50.0"),
        Decimal("-100.0"),
    ]
    result = backtest(model, snapshots, {"ptn_1": False, "ptn_2": True, "ptn_3": True})
    assert result.auc == Decimal(1)
