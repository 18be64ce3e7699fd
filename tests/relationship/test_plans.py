"""Joint business plans: history, progress from the ledger, goals at risk in words."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from partnerkit import (
    Activity,
    Aggregate,
    InvalidTransitionError,
    MetricDefinition,
    Money,
    ValidationError,
)
from partnerkit.relationship import (
    BusinessPlan,
    Goal,
    GoalOwner,
    GoalStatus,
    PlanAction,
    PlanStatus,
    agree_plan,
    draft_plan,
    plan_progress,
    revise_plan,
)

REVENUE = MetricDefinition("revenue", Aggregate.SUM, kinds=("revenue_booked",), currency="USD")
DEALS = MetricDefinition("deals_won", Aggregate.COUNT, kinds=("deal_won",))
OWNERS = (GoalOwner("vendor", "u_anna"), GoalOwner("partner", "c_bo"))
GOALS = (
    Goal("revenue", REVENUE, Money(100_000, "USD"), OWNERS, label="revenue"),
    Goal("deals", DEALS, 10, OWNERS, label="won deal|won deals"),
)
DRAFTED = datetime(2026, 12, 20, tzinfo=UTC)


def drafted() -> BusinessPlan:
    return draft_plan(
        "jbp_1",
        "ptn_1",
        title="FY27 plan",
        starts_on=date(2027, 1, 1),
        ends_on=date(2027, 12, 31),
        goals=GOALS,
        by="u_anna",
        side="vendor",
        at=DRAFTED,
    ).value


def act(activity_id: str, kind: str, when: datetime, value: Money | None = None) -> Activity:
    return Activity(activity_id, "ptn_1", kind, when, value)


def test_a_goal_needs_an_owner_on_each_side() -> None:
    with pytest.raises(ValidationError, match="at least one partner owner"):
        Goal("deals", DEALS, 10, (GoalOwner("vendor", "u_anna"),))


def test_a_plan_is_agreed_once_both_sides_agreed() -> None:
    plan = drafted()
    plan, events = agree_plan(plan, by="c_bo", side="partner", at=DRAFTED)
    assert plan.status is PlanStatus.DRAFT
    assert [e.kind for e in events] == ["plan.agreed_by_side"]
    plan, events = agree_plan(plan, by="u_anna", side="vendor", at=DRAFTED)
    assert plan.status is PlanStatus.AGREED
    assert [e.kind for e in events] == ["plan.agreed_by_side", "plan.agreed"]


def test_one_side_cannot_agree_twice() -> None:
    plan = agree_plan(drafted(), by="c_bo", side="partner", at=DRAFTED).value
    with pytest.raises(InvalidTransitionError, match="agree for the vendor side"):
        agree_plan(plan, by="c_bo", side="partner", at=DRAFTED)


def test_a_revision_needs_a_reason_and_asks_both_sides_again() -> None:
    plan = drafted()
    for side, person in (("partner", "c_bo"), ("vendor", "u_anna")):
        plan = agree_plan(plan, by=person, side=side, at=DRAFTED).value
    with pytest.raises(ValidationError, match="reason"):
        revise_plan(plan, GOALS[:1], by="u_anna", side="vendor", at=DRAFTED, reason=" ")
    plan = revise_plan(
        plan, GOALS[:1], by="u_anna", side="vendor", at=DRAFTED, reason="deals dropped"
    ).value
    assert (plan.status, plan.agreed_by) == (PlanStatus.REVISED, ())
    assert [r.action for r in plan.history] == [
        PlanAction.DRAFTED,
        PlanAction.AGREED,
        PlanAction.AGREED,
        PlanAction.REVISED,
    ]
    assert len(plan.history[0].goals) == 2  # what was agreed first is kept


def test_progress_counts_only_activity_inside_the_period() -> None:
    ledger = [
        act("r0", "revenue_booked", datetime(2026, 12, 31, tzinfo=UTC), Money(90_000, "USD")),
        act("r1", "revenue_booked", datetime(2027, 2, 1, tzinfo=UTC), Money(60_000, "USD")),
        *[act(f"w{i}", "deal_won", datetime(2027, 3, 1 + i, tzinfo=UTC)) for i in range(6)],
    ]
    progress = plan_progress(drafted(), ledger, as_of=datetime(2027, 7, 2, tzinfo=UTC))
    revenue, deals = progress.goals
    assert revenue.actual == Money(60_000, "USD")
    assert (revenue.progress, revenue.status) == (Decimal("0.6"), GoalStatus.ON_TRACK)
    assert deals.status is GoalStatus.ON_TRACK
    assert revenue.gap == "needs 40,000.00 USD more revenue by 2027-12-31"


def test_a_goal_lagging_the_period_is_at_risk_with_the_gap_in_words() -> None:
    ledger = [act("r1", "revenue_booked", datetime(2027, 2, 1, tzinfo=UTC), Money(20_000, "USD"))]
    progress = plan_progress(drafted(), ledger, as_of=datetime(2027, 7, 2, tzinfo=UTC))
    assert [g.goal.id for g in progress.at_risk] == ["revenue", "deals"]
    assert progress.goals[1].gap == (
        "needs 10 more won deals by 2027-12-31; 0% done with 50% of the period gone"
    )
    assert progress.goals[0].gap.startswith("needs 80,000.00 USD more revenue")


def test_after_the_period_an_unmet_goal_is_missed() -> None:
    ledger = [*[act(f"w{i}", "deal_won", datetime(2027, 3, 1 + i, tzinfo=UTC)) for i in range(10)]]
    progress = plan_progress(drafted(), ledger, as_of=datetime(2028, 2, 1, tzinfo=UTC))
    assert [g.status for g in progress.goals] == [GoalStatus.MISSED, GoalStatus.MET]
    assert progress.explain().splitlines()[1] == "deals: met, 100% done"


def test_a_money_target_against_a_count_is_refused_naming_the_fix() -> None:
    plan = draft_plan(
        "jbp_2",
        "ptn_1",
        title="Bad",
        starts_on=date(2027, 1, 1),
        ends_on=date(2027, 12, 31),
        goals=(Goal("deals", DEALS, Money(1, "USD"), OWNERS),),
        by="u_anna",
        side="vendor",
        at=DRAFTED,
    ).value
    with pytest.raises(ValidationError, match="give the target as a number"):
        plan_progress(plan, [], as_of=datetime(2027, 2, 1, tzinfo=UTC))


amounts = st.lists(st.integers(1, 50_000), max_size=12)
days = st.integers(0, 364)


@given(st.lists(st.tuples(amounts.map(sum), days), max_size=10), st.tuples(amounts.map(sum), days))
def test_progress_never_falls_when_the_ledger_grows(
    rows: list[tuple[int, int]], extra: tuple[int, int]
) -> None:
    start = datetime(2027, 1, 1, tzinfo=UTC)
    as_of = datetime(2027, 9, 1, tzinfo=UTC)

    def ledger(items: list[tuple[int, int]]) -> list[Activity]:
        from datetime import timedelta  # noqa: PLC0415 - local to the property

        out = []
        for index, (amount, day) in enumerate(items):
            when = start + timedelta(days=day)
            out.append(act(f"r{index}", "revenue_booked", when, Money(max(amount, 1), "USD")))
            out.append(act(f"w{index}", "deal_won", when))
        return out

    before = plan_progress(drafted(), ledger(rows), as_of=as_of)
    after = plan_progress(drafted(), ledger([*rows, extra]), as_of=as_of)
    for old, new in zip(before.goals, after.goals, strict=True):
        assert new.progress >= old.progress
        assert not (old.status is GoalStatus.MET and new.status is not GoalStatus.MET)
