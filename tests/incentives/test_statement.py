"""Statements: the rules docs/incentives.md promises, one behaviour per test."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import attrs
import pytest

from partnerkit import Money, Period
from partnerkit.errors import ValidationError
from partnerkit.incentives import (
    Band,
    BandMode,
    Basis,
    LineKind,
    Plan,
    RewardKind,
    Rule,
    Statement,
    StatementPeriod,
    compute_statement,
    due_periods,
    period_containing,
    replay,
    run_statements,
    split_money,
)
from partnerkit.ledger import Activity
from partnerkit.serialization import from_json, to_json

JANUARY = StatementPeriod(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC))
FEBRUARY = StatementPeriod(datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC))


def at(day: int, month: int = 1, year: int = 2026) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


def sale(
    activity_id: str,
    amount: str,
    when: datetime,
    partner: str = "ptn_1",
    kind: str = "revenue_booked",
    **attributes: str | int,
) -> Activity:
    return Activity(activity_id, partner, kind, when, Money(amount, "USD"), attributes=attributes)


def plan_of(*rules: Rule, version: int = 1) -> Plan:
    return Plan("plan_test", version, "Test plan", "USD", rules)


def percent(*bands: tuple[int, int] | tuple[int, int, tuple[str, ...]], **options: object) -> Rule:
    return Rule(
        "resale",
        Basis.REVENUE_BOOKED,
        RewardKind.PERCENTAGE,
        tuple(Band(Decimal(b[0]), Decimal(b[1]), *b[2:]) for b in bands),  # type: ignore[arg-type]
        label="Resale",
        **options,  # type: ignore[arg-type]
    )


def test_marginal_bands_pay_each_band_on_its_part() -> None:
    plan = plan_of(percent((0, 3), (10_000, 5)))
    statement = compute_statement(plan, "ptn_1", JANUARY, [sale("a1", "22000", at(5))])
    assert [line.amount for line in statement.lines] == [Money("300", "USD"), Money("600", "USD")]


def test_retroactive_bands_pay_the_top_rate_on_everything() -> None:
    plan = plan_of(percent((0, 3), (10_000, 5), mode=BandMode.RETROACTIVE))
    statement = compute_statement(plan, "ptn_1", JANUARY, [sale("a1", "22000", at(5))])
    assert statement.total == Money("1100", "USD")


def test_explanation_names_the_band_the_tier_earns() -> None:
    plan = plan_of(percent((0, 3), (10_000, 5, ("gold",))))
    statement = compute_statement(plan, "ptn_1", JANUARY, [sale("a1", "22000", at(5))], tier="gold")
    assert statement.lines[1].explanation == (
        "Resale: 5% on 12,000.00 USD above 10,000.00 USD because gold earns band 2"
    )


def test_a_tier_without_a_band_keeps_the_rate_below() -> None:
    plan = plan_of(percent((0, 3), (10_000, 5, ("gold",))))
    statement = compute_statement(
        plan, "ptn_1", JANUARY, [sale("a1", "22000", at(5))], tier="silver"
    )
    assert statement.total == Money("660", "USD")


def test_every_line_lists_the_activities_it_came_from() -> None:
    plan = plan_of(percent((0, 3)))
    activities = [
        sale("a1", "100", at(5)),
        sale("a2", "200", at(6)),
        sale("a0", "1", at(5, 12, 2025)),
    ]
    statement = compute_statement(plan, "ptn_1", JANUARY, activities)
    assert statement.lines[0].sources == ("a1", "a2")


def test_units_tiered_rates_2_percent_up_to_10_units_then_5() -> None:
    rule = Rule(
        "units",
        Basis.UNITS,
        RewardKind.PERCENTAGE,
        (Band(Decimal(0), Decimal(2)), Band(Decimal(10), Decimal(5))),
    )
    activities = [sale("a1", "2000", at(5), units=20)]
    statement = compute_statement(plan_of(rule), "ptn_1", JANUARY, activities)
    # 10 units earn 2% of their 1,000 USD, the next 10 earn 5% of theirs.
    assert [line.amount for line in statement.lines] == [Money("20", "USD"), Money("50", "USD")]


def test_flat_reward_pays_per_deal_won() -> None:
    rule = Rule("deals", Basis.DEALS_WON, RewardKind.FLAT, (Band(Decimal(0), Decimal(250)),))
    activities = [sale(f"d{i}", "5000", at(3 + i), kind="deal_won") for i in range(3)]
    statement = compute_statement(plan_of(rule), "ptn_1", JANUARY, activities)
    assert statement.total == Money("750", "USD")


def test_fixed_reward_pays_the_highest_step_reached_once() -> None:
    rule = Rule(
        "bonus",
        Basis.REVENUE_BOOKED,
        RewardKind.FIXED,
        (Band(Decimal(5000), Decimal(100)), Band(Decimal(20000), Decimal(500))),
    )
    statement = compute_statement(plan_of(rule), "ptn_1", JANUARY, [sale("a", "25000", at(2))])
    assert statement.total == Money("500", "USD")


def test_paid_invoices_basis_ignores_bookings() -> None:
    rule = Rule(
        "paid", Basis.PAID_INVOICES, RewardKind.PERCENTAGE, (Band(Decimal(0), Decimal(10)),)
    )
    activities = [sale("b1", "1000", at(2)), sale("i1", "400", at(3), kind="invoice_paid")]
    statement = compute_statement(plan_of(rule), "ptn_1", JANUARY, activities)
    assert statement.total == Money("40", "USD")


def test_margin_basis_reads_the_margin_attribute() -> None:
    rule = Rule("margin", Basis.MARGIN, RewardKind.PERCENTAGE, (Band(Decimal(0), Decimal(10)),))
    statement = compute_statement(
        plan_of(rule), "ptn_1", JANUARY, [sale("a", "1000", at(2), margin="250.50")]
    )
    assert statement.total == Money("25.05", "USD")


def test_excluded_products_never_count() -> None:
    rule = percent((0, 10), exclude_products=("hardware",))
    activities = [sale("a", "1000", at(2), product="hardware"), sale("b", "100", at(2))]
    statement = compute_statement(plan_of(rule), "ptn_1", JANUARY, activities)
    assert statement.total == Money("10", "USD")


def test_included_products_are_the_only_ones_counted() -> None:
    rule = percent((0, 10), products=("cloud",))
    activities = [sale("a", "1000", at(2), product="cloud"), sale("b", "100", at(2))]
    statement = compute_statement(plan_of(rule), "ptn_1", JANUARY, activities)
    assert statement.total == Money("100", "USD")


def test_cap_limits_what_a_rule_pays_in_a_period() -> None:
    rule = percent((0, 10), cap=Decimal(500))
    statement = compute_statement(plan_of(rule), "ptn_1", JANUARY, [sale("a", "9000", at(2))])
    assert (statement.total, statement.lines[-1].kind) == (Money("500", "USD"), LineKind.CAP)


def test_spiff_counts_only_activities_in_its_dates() -> None:
    rule = percent((0, 10), starts_on=date(2026, 1, 10), ends_on=date(2026, 1, 20))
    activities = [sale("a", "100", at(9)), sale("b", "200", at(20)), sale("c", "400", at(21))]
    statement = compute_statement(plan_of(rule), "ptn_1", JANUARY, activities)
    assert statement.lines[0].sources == ("b",)


def test_growth_rewards_only_the_increase_over_the_prior_window() -> None:
    rule = percent((0, 10), growth=Period(years=1))
    activities = [sale("last", "1000", at(5, 1, 2025)), sale("now", "1500", at(5))]
    statement = compute_statement(plan_of(rule), "ptn_1", JANUARY, activities)
    assert (statement.total, statement.lines[0].baseline) == (Money("50", "USD"), ("last",))


def test_late_transaction_within_grace_counts_in_its_period() -> None:
    late = sale("a", "100", at(30), recorded_at="2026-02-04T00:00:00+00:00")
    statement = compute_statement(plan_of(percent((0, 10))), "ptn_1", JANUARY, [late])
    assert statement.total == Money("10", "USD")


def test_transaction_recorded_after_grace_counts_in_the_next_period() -> None:
    late = sale("a", "100", at(30), recorded_at="2026-02-09T00:00:00+00:00")
    plan = plan_of(percent((0, 10)))
    january = compute_statement(plan, "ptn_1", JANUARY, [late])
    february = compute_statement(plan, "ptn_1", FEBRUARY, [late])
    assert (january.total, february.total) == (Money("0", "USD"), Money("10", "USD"))


def test_reversal_within_the_period_is_not_counted() -> None:
    activities = [
        sale("a", "1000", at(3)),
        Activity("r", "ptn_1", "reversal", at(9), attributes={"reverses": "a"}),
    ]
    statement = compute_statement(plan_of(percent((0, 10))), "ptn_1", JANUARY, activities)
    assert statement.total == Money("0", "USD")


def test_later_reversal_claws_back_what_the_earlier_period_paid() -> None:
    activities = [
        sale("a", "8000", at(3)),
        sale("b", "4000", at(4)),
        Activity("r", "ptn_1", "reversal", at(9, 2), attributes={"reverses": "b"}),
    ]
    plan = plan_of(percent((0, 3), (10_000, 5)))
    february = compute_statement(plan, "ptn_1", FEBRUARY, activities)
    # January paid 300 + 100 = 400; without b it pays 240: claw back 160.
    assert [(line.kind, line.amount) for line in february.lines] == [
        (LineKind.CLAWBACK, Money("-160", "USD"))
    ]
    assert set(february.lines[0].sources) == {"b", "r"}


def test_holds_and_lag_set_the_statement_dates() -> None:
    statement = compute_statement(plan_of(percent((0, 10))), "ptn_1", JANUARY, [])
    assert (statement.due_at, statement.payable_at) == (at(11, 2), at(3, 3))


def test_due_periods_are_those_ended_a_lag_ago() -> None:
    plan = plan_of(percent((0, 10)))
    assert due_periods(plan, at(1), at(11, 2)) == [JANUARY]


def test_period_containing_follows_the_cadence() -> None:
    assert period_containing(plan_of(percent((0, 10))), at(17)) == JANUARY


def test_split_activity_shares_money_between_partners_to_the_cent() -> None:
    shared = sale("a", "100.00", at(5), split="ptn_1:1;ptn_2:1;ptn_3:1")
    plan = plan_of(percent((0, 100)))
    statements = run_statements(plan, JANUARY, [shared])
    assert [s.total for s in statements] == [
        Money("33.34", "USD"),
        Money("33.33", "USD"),
        Money("33.33", "USD"),
    ]


def test_split_money_keeps_every_cent() -> None:
    parts = split_money(Money("10.00", "USD"), {"a": 1, "b": 2})
    assert parts == {"a": Money("3.33", "USD"), "b": Money("6.67", "USD")}


def test_other_currencies_are_left_out_with_a_note() -> None:
    foreign = Activity("a", "ptn_1", "revenue_booked", at(3), Money("100", "EUR"))
    statement = compute_statement(plan_of(percent((0, 10))), "ptn_1", JANUARY, [foreign])
    assert statement.notes == ("activity a: EUR is not the plan's USD; not counted in resale",)


def test_replay_from_inputs_gives_the_same_statement() -> None:
    plan = plan_of(percent((0, 3), (10_000, 5)))
    activities = [sale("a", "8000", at(3)), sale("b", "4000.55", at(4)), sale("x", "1", at(4, 3))]
    statement = compute_statement(plan, "ptn_1", JANUARY, activities)
    assert replay(statement, plan, activities) == statement


def test_replay_refuses_another_plan_version() -> None:
    plan = plan_of(percent((0, 3)))
    statement = compute_statement(plan, "ptn_1", JANUARY, [])
    newer = plan_of(percent((0, 4)), version=2)
    with pytest.raises(ValidationError, match="v1"):
        replay(statement, newer, [])


def test_statement_round_trips_through_json() -> None:
    plan = plan_of(percent((0, 3), (10_000, 5)))
    statement = compute_statement(plan, "ptn_1", JANUARY, [sale("a", "12000", at(3))])
    assert from_json(Statement, to_json(statement)) == statement


def test_a_statement_whose_total_is_not_its_lines_is_refused() -> None:
    plan = plan_of(percent((0, 3)))
    statement = compute_statement(plan, "ptn_1", JANUARY, [sale("a", "100", at(3))])
    with pytest.raises(ValidationError, match="sum of the lines"):
        attrs.evolve(statement, total=Money("4", "USD"))


def test_a_mixed_ledger_notes_only_the_partners_own_activities() -> None:
    mine = sale("a", "100.00", at(3), margin="lots")
    theirs = sale("b", "200.00", at(4), partner="ptn_2", margin="plenty")
    shared = sale("c", "50.00", at(5), partner="ptn_3", margin="some", split="ptn_3:1;ptn_1:1")
    apart = sale("d", "70.00", at(6), partner="ptn_3", margin="none", split="ptn_3:1;ptn_4:1")
    plan = plan_of(percent((0, 10)))
    statement = compute_statement(plan, "ptn_1", JANUARY, [mine, theirs, shared, apart])
    assert statement.notes == (
        "activity a: its margin 'lots' is not a number",
        "activity c: its margin 'some' is not a number",
    )
    assert statement.inputs == ("a", "c")
    assert statement == compute_statement(plan, "ptn_1", JANUARY, [mine, shared])


def test_another_partners_reversal_does_not_widen_what_a_statement_reads() -> None:
    old = sale("a", "100.00", at(3, 10, 2025), margin="lots")
    mine = sale("b", "100.00", at(3))
    theirs = sale("c", "200.00", at(4, 12, 2025), partner="ptn_2")
    reversal = Activity("r", "ptn_2", "reversal", at(6), attributes={"reverses": "c"})
    plan = plan_of(percent((0, 10)))
    statement = compute_statement(plan, "ptn_1", JANUARY, [old, mine, theirs, reversal])
    assert statement.notes == ()
    assert statement == compute_statement(plan, "ptn_1", JANUARY, [old, mine])
