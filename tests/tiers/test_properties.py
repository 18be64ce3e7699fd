"""Properties of tier evaluation, reviews and the tier models (hypothesis)."""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import attrs
from hypothesis import given
from hypothesis import strategies as st

import partnerkit.tiers
from partnerkit import MetricSnapshot, Money
from partnerkit.serialization import from_dict, from_json, to_dict, to_json
from partnerkit.testing import _tiers as tks
from partnerkit.tiers import (
    Program,
    TierOutcome,
    apply_decision,
    approve_downgrade,
    evaluate,
    qualifying_tier,
    review,
)

AS_OF = tks.AS_OF
QUARTER = timedelta(days=91)

# Every public model of partnerkit.tiers and a strategy for it.
MODELS: dict[type[Any], st.SearchStrategy[Any]] = {
    partnerkit.tiers.Program: tks.programs(),
    partnerkit.tiers.Tier: tks.programs().map(lambda program: program.tiers[-1]),
    partnerkit.tiers.Requirement: tks.programs().map(
        lambda program: program.tiers[-1].requirements
    ),
    partnerkit.tiers.Benefits: tks.benefits("EUR"),
    partnerkit.tiers.TierPolicy: tks.tier_policies(),
    partnerkit.tiers.Membership: tks.programs().flatmap(tks.memberships),
    partnerkit.tiers.Pin: tks.pins("gold"),
    partnerkit.tiers.DowngradeProposal: tks.downgrade_proposals("gold", "silver"),
    partnerkit.tiers.TierAssignment: tks.tier_assignments(),
    partnerkit.tiers.TierDecision: tks.tier_decisions(),
    partnerkit.tiers.TierEvidence: tks.tier_evidence(),
    partnerkit.tiers.RequirementEvidence: tks.tier_evidence()
    .map(lambda evidence: evidence.evidence[0] if evidence.evidence else None)
    .filter(lambda item: item is not None),
    partnerkit.tiers.ReviewRun: tks.review_runs(),
    partnerkit.tiers.WhatIf: tks.what_if_reports(),
    partnerkit.tiers.WhatIfMove: tks.what_if_reports()
    .filter(lambda report: bool(report.moves))
    .map(lambda report: report.moves[0]),
    partnerkit.tiers.TierCount: tks.what_if_reports()
    .filter(lambda report: bool(report.counts))
    .map(lambda report: report.counts[0]),
    partnerkit.tiers.ForwardWarning: tks.forward_warning_records(),
}


def test_every_public_tier_model_has_a_round_trip_strategy() -> None:
    public = {
        getattr(partnerkit.tiers, name)
        for name in partnerkit.tiers.__all__
        if isinstance(getattr(partnerkit.tiers, name), type)
        and attrs.has(getattr(partnerkit.tiers, name))
    }
    assert public == set(MODELS)


@given(st.sampled_from(list(MODELS)).flatmap(MODELS.__getitem__))
def test_every_tier_model_round_trips_through_dict_and_json(model: Any) -> None:
    cls = type(model)
    assert from_dict(cls, to_dict(model)) == model
    assert from_json(cls, to_json(model)) == model


def rank(program: Program, tier_id: str | None) -> int:
    return 0 if tier_id is None else program.tier(tier_id).rank


def improve(name: str, value: Any, data: st.DataObject) -> Any:
    """A value at least as good as ``value`` for a metric where ``name`` says which way is up."""
    step = data.draw(st.integers(0, 500_000), label="step")
    higher = tks.TIER_METRICS[name]
    if value is None:
        # No data fails every criterion, so any value is at least as good.
        return (
            data.draw(st.integers(0, 400), label="from no data")
            if not higher
            else (Money(step, "USD") if name == "revenue_12m" else step)
        )
    if isinstance(value, Money):
        return Money(value.amount + step, value.currency)
    if higher:
        return value + step
    return max(0, value - step)


@given(tks.programs(allow_equal=False, currency="USD"), st.data())
def test_improving_a_metric_never_lowers_the_qualifying_tier(
    program: Program, data: st.DataObject
) -> None:
    membership = data.draw(tks.memberships(program))
    snapshot = data.draw(tks.tier_snapshots(program))
    name = data.draw(st.sampled_from(tks.improvable_metrics(program)))
    better = improve(name, snapshot.values.get(name), data)
    improved = MetricSnapshot(
        snapshot.partner_id, snapshot.as_of, {**snapshot.values, name: better}
    )
    before = qualifying_tier(program, snapshot, membership=membership)
    after = qualifying_tier(program, improved, membership=membership)
    assert rank(program, None if after is None else after.id) >= rank(
        program, None if before is None else before.id
    )


@given(tks.programs(allow_equal=False), st.data())
def test_a_longer_membership_never_lowers_the_qualifying_tier(
    program: Program, data: st.DataObject
) -> None:
    membership = data.draw(tks.memberships(program))
    snapshot = data.draw(tks.tier_snapshots(program))
    earlier = membership.joined_on - timedelta(days=data.draw(st.integers(0, 2000)))
    older = attrs.evolve(membership, joined_on=earlier)
    before = qualifying_tier(program, snapshot, membership=membership)
    after = qualifying_tier(program, snapshot, membership=older)
    assert rank(program, after.id if after else None) >= rank(
        program, before.id if before else None
    )


@given(tks.programs(), st.data())
def test_evaluating_twice_gives_the_same_decision(program: Program, data: st.DataObject) -> None:
    membership = data.draw(tks.memberships(program))
    snapshot = data.draw(tks.tier_snapshots(program))
    first = evaluate(program, membership, snapshot, as_of=AS_OF)
    assert evaluate(program, membership, snapshot, as_of=AS_OF) == first
    fresh = from_dict(Program, to_dict(program))  # a fresh compile decides the same
    assert evaluate(fresh, membership, snapshot, as_of=AS_OF) == first


@given(tks.programs(), st.data())
def test_a_review_run_twice_changes_nothing_the_second_time(
    program: Program, data: st.DataObject
) -> None:
    members, snapshots = data.draw(tks.populations(program))
    first = review(program, members, snapshots, as_of=AS_OF)
    saved = {m.partner_id: m for m in members} | {m.partner_id: m for m in first.memberships}
    second = review(program, list(saved.values()), snapshots, as_of=AS_OF)
    assert (second.memberships, second.events, second.histories) == ((), (), {})
    assert [d.tier_id for d in second.decisions] == [d.tier_id for d in first.decisions]


@given(tks.programs(), st.data())
def test_a_reviews_evidence_built_on_read_equals_evaluate_on_every_field(
    program: Program, data: st.DataObject
) -> None:
    members, snapshots = data.draw(tks.populations(program))
    run = review(program, members, snapshots, as_of=AS_OF)
    by_partner = {membership.partner_id: membership for membership in members}
    for decision in run.decisions:
        eager = evaluate(
            program, by_partner[decision.partner_id], snapshots[decision.partner_id], as_of=AS_OF
        )
        for field in attrs.fields(type(decision)):
            assert getattr(decision, field.name) == getattr(eager, field.name), field.name
        assert decision.gap == eager.gap
        assert to_json(decision) == to_json(eager)


@given(tks.programs(), st.data())
def test_downgrades_never_skip_grace_nor_drop_more_than_one_level(
    program: Program, data: st.DataObject
) -> None:
    membership = data.draw(tks.memberships(program))
    at = AS_OF
    for _ in range(6):
        snapshot = data.draw(tks.tier_snapshots(program, as_of=at))
        before = membership
        decision = evaluate(program, membership, snapshot, as_of=at)
        membership, _ = apply_decision(membership, decision)
        drop = rank(program, before.tier_id) - rank(program, membership.tier_id)
        if drop > 0:
            assert drop == 1
            assert decision.outcome is TierOutcome.DOWNGRADE
            assert before.failing_reviews >= 1  # the previous review put it in grace
        if decision.outcome is TierOutcome.PROPOSED_DOWNGRADE:
            assert before.failing_reviews >= 1
        if membership.proposal is not None and data.draw(st.booleans(), label="approve"):
            proposed = membership
            membership, _ = approve_downgrade(program, membership, by="usr_manager", at=at)
            assert rank(program, proposed.tier_id) - rank(program, membership.tier_id) == 1
            assert proposed.failing_reviews >= program.policy.downgrade_after >= 2
        at += QUARTER


@given(tks.programs(), st.data())
def test_evidence_covers_every_requirement_of_the_held_and_next_tier(
    program: Program, data: st.DataObject
) -> None:
    membership = data.draw(tks.memberships(program))
    snapshot = data.draw(tks.tier_snapshots(program))
    decision = evaluate(program, membership, snapshot, as_of=AS_OF)
    held = rank(program, decision.tier_id)
    expected = {held: decision.tier_evidence, held + 1: decision.next_evidence}
    for tier_rank, evidence in expected.items():
        if not 1 <= tier_rank <= len(program.tiers):
            assert evidence is None
            continue
        tier = program.tiers[tier_rank - 1]
        assert evidence is not None
        assert evidence.tier == tier
        paths = [
            f"requirements.{p}" if p else "requirements" for p, _ in tier.requirements.criteria()
        ]
        assert [item.path for item in evidence.evidence] == paths
        assert [item.metric for item in evidence.evidence] == [
            c.metric for _, c in tier.requirements.criteria()
        ]


@given(tks.tier_decisions())
def test_progress_is_one_exactly_when_passed_and_the_gap_is_empty_then(decision: Any) -> None:
    for evidence in (decision.tier_evidence, decision.next_evidence):
        if evidence is None:
            continue
        assert Decimal(0) <= evidence.progress <= Decimal(1)
        assert (evidence.progress == 1) is evidence.passed
        assert (evidence.gap == "") is evidence.passed
        for item in evidence.evidence:
            assert (item.progress == 1) is item.passed
            assert (item.shortfall is None) is item.passed or item.actual is None


@given(tks.tier_decisions())
def test_evidence_agrees_with_the_outcome(decision: Any) -> None:
    held = decision.tier_evidence
    if decision.outcome in (TierOutcome.KEEP, TierOutcome.UPGRADE) and held is not None:
        assert held.passed or decision.outcome is TierOutcome.UPGRADE
    if decision.outcome in (TierOutcome.GRACE, TierOutcome.PROPOSED_DOWNGRADE):
        assert held is not None
        assert not held.passed
    if decision.next_evidence is not None and decision.next_evidence.passed:
        assert decision.qualifying_tier_id is not None


@given(tks.programs(), st.data())
def test_the_outcome_only_path_decides_the_same(program: Program, data: st.DataObject) -> None:
    membership = data.draw(tks.memberships(program))
    snapshot = data.draw(tks.tier_snapshots(program))
    full = evaluate(program, membership, snapshot, as_of=AS_OF)
    fast = evaluate(program, membership, snapshot, as_of=AS_OF, evidence=False)
    assert attrs.evolve(full, tier_evidence=None, next_evidence=None) == fast
    qualifying = qualifying_tier(program, snapshot, membership=membership, as_of=AS_OF)
    assert full.qualifying_tier_id == (None if qualifying is None else qualifying.id)


@given(tks.tier_assignments(), st.dates(date(2019, 1, 1), date(2031, 1, 1)))
def test_an_assignment_covers_exactly_its_stretch(assignment: Any, day: date) -> None:
    covered = partnerkit.tiers.tier_on([assignment], assignment.partner_id, day)
    end = assignment.valid_until
    instant = datetime.combine(day, time(23, 59, 59, 999999, tzinfo=UTC))
    inside = assignment.valid_from <= instant and (end is None or instant < end)
    assert (covered == assignment.tier_id) is inside
