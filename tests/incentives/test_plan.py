"""Plans as data: TOML, dicts and JSON, validated with every problem named."""

from __future__ import annotations

from decimal import Decimal

import pytest

from partnerkit import Cadence, Period
from partnerkit.errors import ValidationError
from partnerkit.incentives import (
    Band,
    BandMode,
    Basis,
    Plan,
    RewardKind,
    Rule,
    plan_from_dict,
    plan_from_toml,
)
from partnerkit.serialization import from_json, to_json

PLAN_TOML = """
id = "plan_resale"
version = 3
name = "Resale commission"
currency = "USD"
cadence = "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1"
calculation_lag = "P10D"
grace = "P5D"
hold = "P30D"

[[rules]]
id = "resale"
basis = "revenue_booked"
reward = "percentage"
mode = "retroactive"
exclude_products = ["hardware"]
cap = 5000
bands = [{above = 0, rate = 2.5}, {above = 10000, rate = 5, tiers = ["gold"]}]

[[rules]]
id = "q1_spiff"
label = "Q1 SPIFF"
basis = "deals_won"
reward = "flat"
starts_on = 2026-01-15
ends_on = 2026-03-31
bands = [{above = 0, rate = "150"}]
"""


def test_plan_reads_from_toml_with_exact_decimals() -> None:
    plan = plan_from_toml(PLAN_TOML)
    assert plan.rules[0].bands[0].rate == Decimal("2.5")


def test_plan_toml_reads_cadence_periods_and_spiff_dates() -> None:
    plan = plan_from_toml(PLAN_TOML)
    assert (plan.cadence.rule, plan.grace, plan.rules[1].ends_on.isoformat()) == (  # type: ignore[union-attr]
        "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1",
        Period(days=5),
        "2026-03-31",
    )


def test_plan_round_trips_through_json() -> None:
    plan = plan_from_toml(PLAN_TOML)
    assert from_json(Plan, to_json(plan)) == plan


def test_rule_kinds_default_to_the_basis() -> None:
    assert plan_from_toml(PLAN_TOML).rules[1].kinds == ("deal_won",)


def test_bands_out_of_order_are_refused() -> None:
    with pytest.raises(ValidationError, match="ascending"):
        Rule(
            "r",
            Basis.REVENUE_BOOKED,
            RewardKind.PERCENTAGE,
            (Band(Decimal(10), Decimal(1)), Band(Decimal(5), Decimal(2))),
        )


def test_percentages_above_100_are_refused() -> None:
    with pytest.raises(ValidationError, match=r"bands\[0\]\.rate"):
        Rule("r", Basis.REVENUE_BOOKED, RewardKind.PERCENTAGE, (Band(Decimal(0), Decimal(101)),))


def test_flat_rewards_need_a_counting_basis() -> None:
    with pytest.raises(ValidationError, match="deals_won"):
        Rule("r", Basis.REVENUE_BOOKED, RewardKind.FLAT, (Band(Decimal(0), Decimal(1)),))


def test_grace_longer_than_the_lag_is_refused() -> None:
    rule = Rule("r", Basis.REVENUE_BOOKED, RewardKind.PERCENTAGE, (Band(),))
    with pytest.raises(ValidationError, match="grace"):
        Plan("p", 1, "P", "USD", (rule,), calculation_lag=Period(days=2), grace=Period(days=5))


def test_every_problem_is_named_by_path() -> None:
    data = {
        "id": "p",
        "version": 0,
        "name": "P",
        "currency": "XYZ",
        "rules": [{"id": "r", "basis": "profit", "reward": "percentage", "bands": []}],
    }
    with pytest.raises(ValidationError) as caught:
        plan_from_dict(data)
    paths = {problem.path for problem in caught.value.problems}
    assert "rules[0].basis" in paths


def test_repeated_rule_ids_are_refused() -> None:
    rule = Rule("r", Basis.REVENUE_BOOKED, RewardKind.PERCENTAGE, (Band(),))
    with pytest.raises(ValidationError, match="repeated: r"):
        Plan("p", 1, "P", "USD", (rule, rule))


def test_dict_floats_are_read_by_their_digits() -> None:
    plan = plan_from_dict(
        {
            "id": "p",
            "version": 1,
            "name": "P",
            "currency": "USD",
            "cadence": {"rule": "FREQ=MONTHLY;BYMONTHDAY=1"},
            "rules": [
                {
                    "id": "r",
                    "basis": "margin",
                    "reward": "percentage",
                    "mode": "marginal",
                    "bands": [{"above": 0, "rate": 0.1}],
                }
            ],
        }
    )
    assert (plan.rules[0].bands[0].rate, plan.rules[0].mode, plan.cadence) == (
        Decimal("0.1"),
        BandMode.MARGINAL,
        Cadence("FREQ=MONTHLY;BYMONTHDAY=1"),
    )
