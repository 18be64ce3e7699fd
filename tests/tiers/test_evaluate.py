"""Example tests for partner programs and tiers: one documented rule each."""

import copy
import pickle
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs
import pytest

from partnerkit import (
    Aggregate,
    Cadence,
    InvalidTransitionError,
    MetricDefinition,
    MetricSnapshot,
    Money,
    NotFoundError,
    Period,
    ValidationError,
    Window,
)
from partnerkit.serialization import from_dict, to_dict
from partnerkit.tiers import (
    Benefits,
    Comparison,
    Membership,
    MembershipStatus,
    Movement,
    Program,
    Requirement,
    RequirementEvidence,
    Tier,
    TierAssignment,
    TierChangeCause,
    TierOutcome,
    TierPolicy,
    all_of,
    any_of,
    apply_decision,
    apply_tier_events,
    approve_downgrade,
    evaluate,
    ladder_problems,
    next_review,
    pin_tier,
    qualifying_tier,
    record_tier_change,
    reject_downgrade,
    review,
    tier_at,
    tier_on,
    unpin,
    what_if,
)

Q3 = datetime(2026, 7, 1, tzinfo=UTC)
Q4 = datetime(2026, 10, 1, tzinfo=UTC)
Q1 = datetime(2027, 1, 1, tzinfo=UTC)
Q2 = datetime(2027, 4, 1, tzinfo=UTC)

METRICS = (
    MetricDefinition(
        "revenue_12m",
        Aggregate.SUM,
        kinds=("revenue_booked",),
        window=Window.trailing("P12M"),
        currency="USD",
    ),
    MetricDefinition(
        "deals_won_12m", Aggregate.COUNT, kinds=("deal_won",), window=Window.trailing("P12M")
    ),
    MetricDefinition(
        "certified_people",
        Aggregate.UNEXPIRED_COUNT,
        kinds=("certification_earned",),
        attribute="person",
    ),
    MetricDefinition("days_since_login", Aggregate.DAYS_SINCE_LAST, kinds=("portal_login",)),
)
LABELS = {
    "revenue_12m": "revenue",
    "deals_won_12m": "won deal|won deals",
    "certified_people": "certified person|certified people",
    "days_since_login": "day since the last login|days since the last login",
}


def usd(amount: str | int) -> Money:
    return Money(amount, "USD")


def ladder(**policy: Any) -> Program:
    """Registered / Silver / Gold / Platinum on the DOMAIN.md ladder (25k, 100k, 500k)."""
    return Program(
        "prg_channel",
        "Channel Partner Program",
        "USD",
        (
            Tier("registered", "Registered", 1),
            Tier(
                "silver",
                "Silver",
                2,
                all_of(
                    Requirement("revenue_12m", ">=", usd(25_000)),
                    Requirement("certified_people", ">=", 1),
                ),
            ),
            Tier(
                "gold",
                "Gold",
                3,
                all_of(
                    Requirement("revenue_12m", ">=", usd(100_000)),
                    Requirement("certified_people", ">=", 2),
                    Requirement("deals_won_12m", ">=", 5),
                ),
            ),
            Tier(
                "platinum",
                "Platinum",
                4,
                all_of(
                    Requirement("revenue_12m", ">=", usd(500_000)),
                    Requirement("certified_people", ">=", 4),
                    Requirement("deals_won_12m", ">=", 12),
                    Requirement("days_since_login", "<=", 30),
                ),
            ),
        ),
        METRICS,
        policy=TierPolicy(**policy),
        labels=LABELS,
    )


PROGRAM = ladder()


def snap(
    revenue: int | str | None = None,
    people: int = 0,
    deals: int = 0,
    days: int | None = None,
    *,
    partner_id: str = "ptn_1",
    as_of: datetime = Q4,
) -> MetricSnapshot:
    return MetricSnapshot(
        partner_id,
        as_of,
        {
            "revenue_12m": None if revenue is None else usd(revenue),
            "certified_people": people,
            "deals_won_12m": deals,
            "days_since_login": days,
        },
    )


SILVER = snap(30_000, people=1)
GOLD = snap(150_000, people=3, deals=6)
PLATINUM = snap(600_000, people=5, deals=20, days=3)
NOTHING = snap(None)


def member(tier_id: str | None = None, *, partner_id: str = "ptn_1", **fields: Any) -> Membership:
    since = fields.pop("tier_since", None if tier_id is None else datetime(2025, 1, 1, tzinfo=UTC))
    return Membership(
        partner_id, "prg_channel", date(2024, 3, 1), tier_id=tier_id, tier_since=since, **fields
    )


def run(program: Program, membership: Membership, snapshot: MetricSnapshot, at: datetime) -> Any:
    decision = evaluate(program, membership, attrs.evolve(snapshot, as_of=at), as_of=at)
    return decision, *apply_decision(membership, decision)


def kinds(events: Any) -> list[str]:
    return [event.kind for event in events]


# --- programs are validated when built -------------------------------------------------


def test_tiers_are_kept_in_rank_order() -> None:
    shuffled = attrs.evolve(PROGRAM, tiers=tuple(reversed(PROGRAM.tiers)))
    assert [tier.rank for tier in shuffled.tiers] == [1, 2, 3, 4]
    assert shuffled.entry_tier.id == "registered"
    assert shuffled.top_tier.id == "platinum"


def test_ranks_must_run_from_one_without_gaps() -> None:
    with pytest.raises(ValidationError, match="missing 2") as info:
        Program("prg_1", "P", "USD", (Tier("a", "A", 1), Tier("c", "C", 3)))
    assert info.value.paths == ("tiers",)


def test_ids_names_and_ranks_must_be_unique() -> None:
    with pytest.raises(ValidationError) as info:
        Program("prg_1", "P", "USD", (Tier("a", "A", 1), Tier("a", "A", 1)))
    assert info.value.paths == ("tiers[1].id", "tiers[1].name", "tiers[1].rank")


def test_a_program_needs_a_tier() -> None:
    with pytest.raises(ValidationError, match="at least one tier"):
        Program("prg_1", "P", "USD", ())


def test_unknown_metric_is_refused_listing_the_known_ones() -> None:
    tier = Tier("silver", "Silver", 1, all_of(Requirement("revenu_12m", ">=", usd(1))))
    with pytest.raises(ValidationError) as info:
        Program("prg_1", "P", "USD", (tier,), METRICS)
    (problem,) = info.value.problems
    assert problem.path == "tiers[0].requirements.all_of[0].metric"
    assert problem.message == (
        "unknown metric 'revenu_12m'; known: certified_people, days_since_login, "
        "deals_won_12m, revenue_12m; built-in: membership_days, membership_months"
    )


def test_money_thresholds_must_be_in_the_program_currency() -> None:
    tier = Tier("gold", "Gold", 1, all_of(Requirement("revenue_12m", ">=", Money(9, "EUR"))))
    with pytest.raises(ValidationError, match="give the threshold in USD") as info:
        Program("prg_1", "P", "USD", (tier,), METRICS)
    assert info.value.paths == ("tiers[0].requirements.all_of[0].threshold",)


def test_money_thresholds_need_a_metric_reporting_in_the_program_currency() -> None:
    plain = MetricDefinition("revenue_12m", Aggregate.SUM, kinds=("revenue_booked",))
    tier = Tier("gold", "Gold", 1, Requirement("revenue_12m", ">=", usd(1)))
    with pytest.raises(ValidationError, match="set currency='USD' on it"):
        Program("prg_1", "P", "USD", (tier,), (plain,))
    counted = Tier("gold", "Gold", 1, Requirement("deals_won_12m", ">=", usd(1)))
    with pytest.raises(ValidationError, match="not money; give a plain number"):
        Program("prg_1", "P", "USD", (counted,), METRICS)


def test_a_plain_number_threshold_on_a_money_metric_is_refused() -> None:
    tier = Tier("gold", "Gold", 1, Requirement("revenue_12m", ">=", 25_000))
    with pytest.raises(ValidationError, match="such as '25000 USD'"):
        Program("prg_1", "P", "USD", (tier,), METRICS)


def test_a_higher_tier_asking_less_is_refused_naming_both_thresholds() -> None:
    tiers = (
        Tier("silver", "Silver", 1, Requirement("revenue_12m", ">=", usd(100_000))),
        Tier("gold", "Gold", 2, all_of(Requirement("revenue_12m", ">=", usd(10_000)))),
    )
    with pytest.raises(ValidationError) as info:
        Program("prg_1", "P", "USD", tiers, METRICS)
    (problem,) = info.value.problems
    assert problem.path == "tiers[1].requirements.all_of[0].threshold"
    assert problem.message.startswith(
        "Gold asks revenue_12m >= 10,000.00 USD, less than Silver (100,000.00 USD at "
        "tiers[0].requirements); a higher tier must not ask for less"
    )


def test_for_lower_is_better_a_higher_tier_must_not_allow_more() -> None:
    tiers = (
        Tier("silver", "Silver", 1, Requirement("days_since_login", "<=", 30)),
        Tier("gold", "Gold", 2, Requirement("days_since_login", "<=", 60)),
    )
    with pytest.raises(ValidationError, match="more than Silver"):
        Program("prg_1", "P", "USD", tiers, METRICS)


def test_a_lenient_ladder_is_accepted_when_asked_and_listed_by_ladder_problems() -> None:
    tiers = (
        Tier("silver", "Silver", 1, Requirement("deals_won_12m", ">=", 10)),
        Tier("gold", "Gold", 2, Requirement("deals_won_12m", ">=", 5)),
    )
    program = Program("prg_1", "P", "USD", tiers, METRICS, policy=TierPolicy(strict_ladder=False))
    assert [problem.path for problem in ladder_problems(program)] == [
        "tiers[1].requirements.threshold"
    ]


def test_built_in_metric_names_are_reserved() -> None:
    own = MetricDefinition("membership_days", Aggregate.COUNT)
    with pytest.raises(ValidationError, match="is a built-in metric") as info:
        Program("prg_1", "P", "USD", (Tier("a", "A", 1),), (own,))
    assert info.value.paths == ("metrics[0].name",)


def test_labels_must_name_metrics_of_the_program() -> None:
    with pytest.raises(ValidationError, match="not a metric of the program") as info:
        Program("prg_1", "P", "USD", (Tier("a", "A", 1),), METRICS, labels={"nps": "score"})
    assert info.value.paths == ("labels['nps']",)


@pytest.mark.parametrize(
    ("build", "paths"),
    [
        (lambda: Requirement("revenue_12m", ">=", 0.5), ("threshold",)),
        (lambda: Requirement("revenue_12m", "=>", 5), ("comparison",)),
        (lambda: Requirement("Revenue", ">=", 5), ("metric",)),
        (lambda: Requirement("revenue_12m"), ("threshold",)),
        (lambda: Requirement(comparison=">=", threshold=5), ("metric",)),
        (lambda: Requirement("m", ">=", 1, all_of=(Requirement("n", ">=", 1),)), ("",)),
        (
            lambda: Requirement(
                all_of=(Requirement("a", ">=", 1),), any_of=(Requirement("b", ">=", 1),)
            ),
            ("",),
        ),
        (any_of, ("any_of",)),
        (lambda: Requirement(all_of=("revenue >= 5",)), ("all_of[0]",)),  # type: ignore[arg-type]
    ],
)
def test_bad_requirements_are_refused_with_paths(build: Any, paths: tuple[str, ...]) -> None:
    with pytest.raises(ValidationError) as info:
        build()
    assert info.value.paths == paths


def test_thresholds_read_exact_numbers_and_money_text() -> None:
    assert Requirement("deals_won_12m", ">", 4).threshold == Decimal(4)
    assert Requirement("revenue_12m", ">=", "25,000 USD").threshold == usd(25_000)
    assert Requirement("revenue_12m", threshold="2.5").comparison is Comparison.AT_LEAST
    assert str(all_of(Requirement("a", ">=", 1), any_of(Requirement("b", "<", 2)))) == (
        "all of (a >= 1; any of (b < 2))"
    )


def test_benefits_are_validated() -> None:
    with pytest.raises(ValidationError) as info:
        Benefits(
            discount_percent=Decimal(120),
            mdf_cap=usd(-5),
            lead_weight=-1,
            deal_protection=-3,
            custom={"tier_logo": 1.5},  # type: ignore[dict-item]
        )
    assert info.value.paths == (
        "discount_percent",
        "mdf_cap",
        "mdf_cap",
        "lead_weight",
        "deal_protection",
        "custom['tier_logo']",
    )


def test_deal_protection_reads_days_and_periods() -> None:
    assert Benefits(deal_protection=90).deal_protection == Period(days=90)  # type: ignore[arg-type]
    assert Benefits(deal_protection="P3M").deal_protection == Period(months=3)  # type: ignore[arg-type]
    assert Benefits(deal_protection=90).protection_ends(date(2026, 1, 1)) == date(2026, 4, 1)  # type: ignore[arg-type]
    assert Benefits().protection_ends(date(2026, 1, 1)) is None
    assert not Benefits(lead_weight=0).receives_leads


def test_mdf_caps_are_in_the_program_currency() -> None:
    tier = Tier("gold", "Gold", 1, benefits=Benefits(mdf_eligible=True, mdf_cap=Money(5, "EUR")))
    with pytest.raises(ValidationError, match="give it in USD") as info:
        Program("prg_1", "P", "USD", (tier,))
    assert info.value.paths == ("tiers[0].benefits.mdf_cap",)


def test_the_first_failing_review_is_always_grace() -> None:
    with pytest.raises(ValidationError, match="from 2 to 100") as info:
        TierPolicy(downgrade_after=1)
    assert info.value.paths == ("downgrade_after",)


def test_a_program_written_as_a_dict_reports_errors_with_paths() -> None:
    data = to_dict(PROGRAM)
    data["tiers"][2]["requirements"]["all_of"][0]["threshold"] = {"amount": "5", "currency": "EUR"}
    data["tiers"][1]["rank"] = 7
    with pytest.raises(ValidationError) as info:
        from_dict(Program, data)
    assert set(info.value.paths) == {"tiers", "tiers[2].requirements.all_of[0].threshold"}
    assert from_dict(Program, to_dict(PROGRAM)) == PROGRAM


def test_the_default_review_is_quarterly() -> None:
    assert next_review(PROGRAM, datetime(2026, 8, 15, tzinfo=UTC)) == Q4
    assert next_review(PROGRAM, Q4) == Q1
    assert next_review(PROGRAM, Q4, inclusive=True) == Q4
    monthly = attrs.evolve(PROGRAM, review=Cadence("FREQ=MONTHLY;BYMONTHDAY=1"))
    assert next_review(monthly, Q4) == datetime(2026, 11, 1, tzinfo=UTC)


def test_a_program_pickles_and_copies_after_it_has_been_used() -> None:
    program = ladder()
    evaluate(program, member("gold"), GOLD, as_of=Q4)  # compiles it
    for copied in (pickle.loads(pickle.dumps(program)), copy.copy(program), copy.deepcopy(program)):
        assert copied == program
        assert evaluate(copied, member("gold"), GOLD, as_of=Q4).tier_id == "gold"


def test_program_lookups() -> None:
    assert PROGRAM.tier("gold").rank == 3
    with pytest.raises(NotFoundError, match="has tiers: registered, silver, gold, platinum"):
        PROGRAM.tier("diamond")
    assert PROGRAM.metric("membership_days") is None
    with pytest.raises(NotFoundError, match="known: certified_people"):
        PROGRAM.metric("nps")


# --- evaluation: outcomes ----------------------------------------------------------------


def test_qualifying_tier_is_the_highest_met() -> None:
    assert qualifying_tier(PROGRAM, GOLD).id == "gold"  # type: ignore[union-attr]
    assert qualifying_tier(PROGRAM, NOTHING).id == "registered"  # type: ignore[union-attr]


def test_an_upgrade_goes_straight_to_the_highest_qualifying_tier() -> None:
    decision, membership, events = run(PROGRAM, member("registered"), PLATINUM, Q4)
    assert (decision.outcome, decision.tier_id, decision.effective_at) == (
        TierOutcome.UPGRADE,
        "platinum",
        Q4,
    )
    assert (membership.tier_id, membership.tier_since, membership.last_review_at) == (
        "platinum",
        Q4,
        Q4,
    )
    (event,) = events
    assert (event.kind, event.subject_id, event.occurred_at) == ("tier.changed", "ptn_1", Q4)
    assert event.data == {
        "program_id": "prg_channel",
        "from_tier": "registered",
        "to_tier": "platinum",
        "direction": "up",
        "cause": "upgrade",
        "effective_at": Q4.isoformat(),
    }


def test_without_skipping_an_upgrade_moves_one_level_per_review() -> None:
    program = ladder(skip_levels=False)
    decision, membership, _ = run(program, member("registered"), PLATINUM, Q4)
    assert (decision.tier_id, decision.qualifying_tier_id) == ("silver", "platinum")
    decision, membership, _ = run(program, membership, PLATINUM, Q1)
    assert membership.tier_id == "gold"


def test_a_new_member_enters_the_tier_it_qualifies_for() -> None:
    decision, membership, _ = run(PROGRAM, member(None), SILVER, Q4)
    assert (decision.current_tier_id, decision.outcome, membership.tier_id) == (
        None,
        TierOutcome.UPGRADE,
        "silver",
    )


def test_meeting_the_tier_keeps_it_and_changes_nothing() -> None:
    before = member("gold", last_review_at=Q3)
    decision, membership, events = run(PROGRAM, before, GOLD, Q4)
    assert decision.outcome is TierOutcome.KEEP
    assert decision.effective_at is None
    assert membership is before  # not rewritten: nothing to save
    assert events == ()


def test_the_first_failing_review_starts_grace() -> None:
    decision, membership, events = run(PROGRAM, member("gold"), SILVER, Q4)
    assert (decision.outcome, decision.tier_id, decision.qualifying_tier_id) == (
        TierOutcome.GRACE,
        "gold",
        "silver",
    )
    assert (membership.tier_id, membership.failing_reviews, membership.in_grace) == (
        "gold",
        1,
        True,
    )
    assert kinds(events) == ["tier.grace_entered"]


def test_the_second_failing_review_proposes_one_level_down() -> None:
    _, in_grace, _ = run(PROGRAM, member("platinum"), SILVER, Q4)
    decision, proposed, events = run(PROGRAM, in_grace, SILVER, Q1)
    assert (decision.outcome, decision.tier_id, decision.proposed_tier_id) == (
        TierOutcome.PROPOSED_DOWNGRADE,
        "platinum",
        "gold",
    )
    assert proposed.proposal is not None
    assert (proposed.proposal.from_tier_id, proposed.proposal.to_tier_id) == ("platinum", "gold")
    assert proposed.standing == "proposed for downgrade"
    assert kinds(events) == ["tier.downgrade_proposed"]
    # A proposal stays pending, without another event, while the partner keeps failing.
    decision, still, events = run(PROGRAM, proposed, SILVER, Q2)
    assert (decision.outcome, still.proposal, still.failing_reviews, events) == (
        TierOutcome.PROPOSED_DOWNGRADE,
        proposed.proposal,
        3,
        (),
    )


def test_downgrade_after_is_configurable() -> None:
    program = ladder(downgrade_after=3)
    membership = member("gold")
    outcomes = []
    for at in (Q4, Q1, Q2):
        decision, membership, _ = run(program, membership, SILVER, at)
        outcomes.append(decision.outcome)
    assert outcomes == [TierOutcome.GRACE, TierOutcome.GRACE, TierOutcome.PROPOSED_DOWNGRADE]


def test_recovery_during_grace_returns_to_normal() -> None:
    _, in_grace, _ = run(PROGRAM, member("gold"), SILVER, Q4)
    _, proposed, _ = run(PROGRAM, in_grace, SILVER, Q1)
    decision, recovered, events = run(PROGRAM, proposed, GOLD, Q2)
    assert decision.outcome is TierOutcome.KEEP
    assert (recovered.failing_reviews, recovered.proposal, recovered.standing) == (
        0,
        None,
        "in good standing",
    )
    assert kinds(events) == ["tier.grace_ended", "tier.downgrade_withdrawn"]


def test_approving_a_proposal_moves_down_one_level() -> None:
    _, in_grace, _ = run(PROGRAM, member("platinum"), NOTHING, Q4)
    _, proposed, _ = run(PROGRAM, in_grace, NOTHING, Q1)
    at = Q1 + timedelta(days=3)
    approved, events = approve_downgrade(
        PROGRAM, proposed, by="usr_manager", at=at, reason="quarterly review"
    )
    assert (approved.tier_id, approved.tier_since, approved.failing_reviews, approved.proposal) == (
        "gold",
        at,
        0,
        None,
    )
    assert kinds(events) == ["tier.downgrade_approved", "tier.changed"]
    assert events[1].actor == "usr_manager"
    assert events[1].data["direction"] == "down"


def test_rejecting_a_proposal_needs_a_reason_and_starts_grace_afresh() -> None:
    _, in_grace, _ = run(PROGRAM, member("gold"), SILVER, Q4)
    _, proposed, _ = run(PROGRAM, in_grace, SILVER, Q1)
    with pytest.raises(ValidationError, match="must not be empty") as info:
        reject_downgrade(proposed, by="usr_manager", at=Q1, reason=" ")
    assert info.value.paths == ("reason",)
    kept, events = reject_downgrade(proposed, by="usr_manager", at=Q1, reason="big deal closing")
    assert (kept.tier_id, kept.failing_reviews, kept.proposal) == ("gold", 0, None)
    assert kinds(events) == ["tier.downgrade_rejected"]
    decision, _, _ = run(PROGRAM, kept, SILVER, Q2)
    assert decision.outcome is TierOutcome.GRACE


def test_approving_without_a_proposal_is_an_invalid_transition() -> None:
    with pytest.raises(InvalidTransitionError, match="'in good standing'; cannot approve"):
        approve_downgrade(PROGRAM, member("gold"), by="usr_manager", at=Q4)
    with pytest.raises(InvalidTransitionError):
        reject_downgrade(member("gold"), by="usr_manager", at=Q4, reason="no")


def test_auto_approved_downgrades_move_one_level_at_once() -> None:
    program = ladder(auto_approve_downgrades=True)
    _, in_grace, _ = run(program, member("platinum"), NOTHING, Q4)
    decision, moved, events = run(program, in_grace, NOTHING, Q1)
    assert (decision.outcome, moved.tier_id, moved.failing_reviews) == (
        TierOutcome.DOWNGRADE,
        "gold",
        0,
    )
    assert kinds(events) == ["tier.changed"]
    assert events[0].data["cause"] == "downgrade"
    # The next level down starts with grace again.
    decision, _, _ = run(program, moved, NOTHING, Q2)
    assert decision.outcome is TierOutcome.GRACE


def test_failing_the_entry_tier_proposes_leaving_the_tiers() -> None:
    entry = Requirement("deals_won_12m", ">=", 1)
    program = attrs.evolve(
        PROGRAM,
        tiers=(attrs.evolve(PROGRAM.tiers[0], requirements=entry), *PROGRAM.tiers[1:]),
    )
    _, in_grace, _ = run(program, member("registered"), NOTHING, Q4)
    decision, proposed, _ = run(program, in_grace, NOTHING, Q1)
    assert (decision.proposed_tier_id, decision.qualifying_tier_id) == (None, None)
    out, _ = approve_downgrade(program, proposed, by="usr_manager", at=Q1)
    assert (out.tier_id, out.tier_since) == (None, None)


def test_a_pin_wins_until_it_lapses_by_itself() -> None:
    pinned, events = pin_tier(
        PROGRAM,
        member("silver"),
        "gold",
        until=date(2027, 1, 1),
        reason="strategic account",
        by="usr_manager",
        at=Q3,
    )
    assert (pinned.tier_id, pinned.tier_since, pinned.standing) == ("gold", Q3, "pinned")
    assert kinds(events) == ["tier.pinned", "tier.changed"]
    decision, held, events = run(PROGRAM, pinned, SILVER, Q4)
    assert (decision.outcome, held.tier_id, events) == (TierOutcome.PINNED, "gold", ())
    # On its until date the pin lapses; the partner is evaluated and enters grace.
    decision, lapsed, events = run(PROGRAM, held, SILVER, Q1)
    assert (decision.outcome, decision.pin_lapsed, lapsed.pin, lapsed.tier_id) == (
        TierOutcome.GRACE,
        True,
        None,
        "gold",
    )
    assert kinds(events) == ["tier.pin_lapsed", "tier.grace_entered"]


def test_a_pin_wins_over_an_upgrade_too() -> None:
    pinned, _ = pin_tier(
        PROGRAM,
        member("silver"),
        "silver",
        until=date(2027, 6, 1),
        reason="probation",
        by="usr_m",
        at=Q3,
    )
    decision, _, _ = run(PROGRAM, pinned, PLATINUM, Q4)
    assert (decision.outcome, decision.tier_id, decision.qualifying_tier_id) == (
        TierOutcome.PINNED,
        "silver",
        "platinum",
    )


def test_pinning_clears_grace_and_withdraws_a_proposal() -> None:
    _, in_grace, _ = run(PROGRAM, member("gold"), SILVER, Q4)
    _, proposed, _ = run(PROGRAM, in_grace, SILVER, Q1)
    pinned, events = pin_tier(
        PROGRAM, proposed, "gold", until=date(2027, 7, 1), reason="merger", by="usr_m", at=Q1
    )
    assert (pinned.failing_reviews, pinned.proposal) == (0, None)
    assert kinds(events) == ["tier.pinned", "tier.downgrade_withdrawn"]


def test_a_pin_needs_a_known_tier_a_later_date_and_a_reason() -> None:
    with pytest.raises(NotFoundError, match="has tiers"):
        pin_tier(PROGRAM, member(), "diamond", until=date(2027, 1, 1), reason="x", by="u", at=Q4)
    with pytest.raises(ValidationError) as info:
        pin_tier(PROGRAM, member(), "gold", until=date(2026, 10, 1), reason="", by="u", at=Q4)
    assert info.value.paths == ("until", "reason")


def test_unpinning_keeps_the_tier_until_the_next_review() -> None:
    pinned, _ = pin_tier(
        PROGRAM, member("silver"), "gold", until=date(2027, 6, 1), reason="trial", by="usr_m", at=Q3
    )
    unpinned, events = unpin(pinned, by="usr_m", at=Q3 + timedelta(days=1))
    assert (unpinned.pin, unpinned.tier_id, kinds(events)) == (None, "gold", ["tier.unpinned"])
    with pytest.raises(InvalidTransitionError, match="cannot unpin"):
        unpin(unpinned, by="usr_m", at=Q4)


def test_a_repeated_review_counts_once() -> None:
    _, in_grace, _ = run(PROGRAM, member("gold"), SILVER, Q4)
    decision, again, events = run(PROGRAM, in_grace, SILVER, Q4)
    assert (decision.counted, decision.outcome, decision.failing_reviews) == (
        False,
        TierOutcome.GRACE,
        1,
    )
    assert (again, events) == (in_grace, ())


def test_applying_a_stale_decision_is_refused() -> None:
    decision = evaluate(PROGRAM, member("gold"), GOLD, as_of=Q4)
    with pytest.raises(ValidationError, match="evaluate again"):
        apply_decision(member("silver"), decision)


# --- evaluation: evidence, progress and the gap ------------------------------------------


def test_evidence_shows_the_gap_in_words_and_numbers() -> None:
    decision = evaluate(PROGRAM, member("silver"), snap(88_000, people=1, deals=7), as_of=Q4)
    assert decision.outcome is TierOutcome.KEEP
    assert decision.next_tier_id == "gold"
    assert decision.gap == (
        "needs 12,000.00 USD more revenue in the trailing 12 months and 1 more certified person"
    )
    assert [
        (item.metric, item.passed, item.shortfall) for item in decision.next_evidence.evidence
    ] == [  # type: ignore[union-attr]
        ("revenue_12m", False, usd(12_000)),
        ("certified_people", False, Decimal(1)),
        ("deals_won_12m", True, None),
    ]
    assert decision.progress == Decimal("0.5")
    held = decision.tier_evidence
    assert (held.tier_id, held.passed, held.progress, held.gap) == ("silver", True, 1, "")  # type: ignore[union-attr]


def test_evidence_is_complete_for_the_held_and_the_next_tier() -> None:
    decision = evaluate(PROGRAM, member("gold"), GOLD, as_of=Q4)
    assert [item.path for item in decision.tier_evidence.evidence] == [  # type: ignore[union-attr]
        "requirements.all_of[0]",
        "requirements.all_of[1]",
        "requirements.all_of[2]",
    ]
    assert len(decision.next_evidence.evidence) == 4  # type: ignore[union-attr]
    top = evaluate(PROGRAM, member("platinum"), PLATINUM, as_of=Q4)
    assert (top.next_evidence, top.progress, top.gap) == (None, None, "")


def test_the_outcome_only_path_skips_evidence() -> None:
    fast = evaluate(PROGRAM, member("gold"), GOLD, as_of=Q4, evidence=False)
    full = evaluate(PROGRAM, member("gold"), GOLD, as_of=Q4)
    assert (fast.tier_evidence, fast.next_evidence) == (None, None)
    assert attrs.evolve(full, tier_evidence=None, next_evidence=None) == fast


def evidence(comparison: str, threshold: Any, actual: Any, passed: bool) -> RequirementEvidence:
    return RequirementEvidence(
        "requirements", "m", Comparison(comparison), Decimal(threshold), actual, passed
    )


@pytest.mark.parametrize(
    ("item", "progress", "shortfall"),
    [
        (evidence(">=", 100, 88, False), "0.88", 12),
        (evidence(">=", 100, 120, True), "1", None),
        (evidence(">", 2, 2, False), "0.6666", 1),  # whole numbers: more than 2 means 3
        (evidence(">", "2.5", Decimal("2.5"), False), "0.9999", 0),  # never 100 % while failing
        (evidence("<=", 30, 60, False), "0.5", 30),
        (evidence("<", 30, 30, False), "0.9666", 1),  # below 30 means at most 29
        (evidence("==", 1, 0, False), "0", 1),
        (evidence(">=", 5, None, False), "0", 5),
        (evidence("<=", 5, None, False), "0", None),
        (evidence(">=", 0, -3, False), "0", 3),
    ],
)
def test_progress_and_shortfall_per_comparison(
    item: RequirementEvidence, progress: str, shortfall: Any
) -> None:
    assert item.progress == Decimal(progress)
    assert item.shortfall == shortfall


def test_no_data_never_passes_and_says_so() -> None:
    decision = evaluate(PROGRAM, member("registered"), NOTHING, as_of=Q4)
    assert decision.gap == (
        "needs at least 25,000.00 USD of revenue in the trailing 12 months (no data yet) "
        "and 1 more certified person"
    )


def test_lower_is_better_and_exact_criteria_read_naturally() -> None:
    decision = evaluate(PROGRAM, member("gold"), snap(600_000, 5, 20, days=45), as_of=Q4)
    assert decision.gap == "needs days since the last login at most 30 (now 45)"
    assert decision.progress == Decimal("0.6666")
    exact = RequirementEvidence(
        "requirements", "agreement_signed", Comparison.EQUAL, Decimal(1), 0, False
    )
    assert exact.describe("signed agreement|signed agreements") == (
        "signed agreements of exactly 1 (now 0)"
    )


def test_any_of_groups_pass_with_one_member_and_read_either_or() -> None:
    tiers = (
        Tier("silver", "Silver", 1),
        Tier(
            "gold",
            "Gold",
            2,
            all_of(
                Requirement("certified_people", ">=", 2),
                any_of(
                    Requirement("revenue_12m", ">=", usd(100_000)),
                    Requirement("deals_won_12m", ">=", 10),
                ),
            ),
        ),
    )
    program = Program("prg_channel", "P", "USD", tiers, METRICS, labels=LABELS)
    met = evaluate(program, member("silver"), snap(0, people=2, deals=10), as_of=Q4)
    assert met.tier_id == "gold"
    short = evaluate(program, member("silver"), snap(60_000, people=2, deals=4), as_of=Q4)
    assert (
        short.gap
        == "needs either 40,000.00 USD more revenue in the trailing 12 months or 6 more won deals "
        "in the trailing 12 months"
    )
    assert short.progress == Decimal("0.6")  # the better branch: 60,000 of 100,000
    assert [item.path for item in short.next_evidence.evidence] == [  # type: ignore[union-attr]
        "requirements.all_of[0]",
        "requirements.all_of[1].any_of[0]",
        "requirements.all_of[1].any_of[1]",
    ]


def test_explain_reads_like_a_report() -> None:
    decision = evaluate(PROGRAM, member("silver"), snap(88_000, people=1, deals=7), as_of=Q4)
    assert decision.explain() == (
        "ptn_1: keep (silver)\n"
        "  Silver: met, progress 100%\n"
        "  Gold: not met, progress 50%; needs 12,000.00 USD more revenue in the trailing "
        "12 months and 1 more certified person"
    )


def test_metric_values_of_the_wrong_kind_name_the_metric_and_the_fix() -> None:
    euros = MetricSnapshot("ptn_1", Q4, {"revenue_12m": Money(10, "EUR"), "certified_people": 1})
    with pytest.raises(ValidationError, match="set currency='USD' on its definition") as info:
        evaluate(PROGRAM, member("silver"), euros, as_of=Q4)
    assert info.value.paths == ("snapshot.values['revenue_12m']",)
    counted = MetricSnapshot("ptn_1", Q4, {"certified_people": usd(1), "revenue_12m": usd(1)})
    with pytest.raises(ValidationError, match="compares it with a plain number"):
        evaluate(PROGRAM, member("silver"), counted, as_of=Q4)


def test_partnership_age_is_a_built_in_metric() -> None:
    tiers = (
        Tier("registered", "Registered", 1),
        Tier("silver", "Silver", 2, all_of(Requirement("membership_months", ">=", 12))),
    )
    program = Program("prg_channel", "P", "USD", tiers)
    empty = MetricSnapshot("ptn_1", Q4, {})
    young = Membership("ptn_1", "prg_channel", date(2025, 10, 2), tier_id="registered")
    old = Membership("ptn_1", "prg_channel", date(2025, 10, 1), tier_id="registered")
    assert evaluate(program, young, empty, as_of=Q4).gap == "needs 1 more month as a member"
    assert evaluate(program, old, empty, as_of=Q4).tier_id == "silver"
    with pytest.raises(ValidationError, match="pass the membership"):
        qualifying_tier(program, empty)
    assert qualifying_tier(program, empty, membership=old).id == "silver"  # type: ignore[union-attr]


def test_evaluate_checks_its_inputs_belong_together() -> None:
    other = Membership("ptn_2", "prg_other", date(2024, 1, 1))
    late = snap(as_of=Q1)
    with pytest.raises(ValidationError) as info:
        evaluate(PROGRAM, other, late, as_of=Q4)
    assert info.value.paths == ("membership.program_id", "snapshot.partner_id", "snapshot.as_of")
    with pytest.raises(ValidationError, match="not a tier of program"):
        evaluate(
            PROGRAM,
            Membership("ptn_1", "prg_channel", date(2024, 1, 1), tier_id="diamond"),
            GOLD,
            as_of=Q4,
        )


def test_a_stale_membership_is_caught_against_its_history() -> None:
    history = (TierAssignment("ptn_1", "prg_channel", "gold", Q3),)
    assert (
        evaluate(PROGRAM, member("gold"), GOLD, as_of=Q4, history=history).outcome
        is TierOutcome.KEEP
    )
    with pytest.raises(ValidationError, match="reload both from storage"):
        evaluate(PROGRAM, member("silver"), GOLD, as_of=Q4, history=history)


def test_membership_invariants() -> None:
    with pytest.raises(ValidationError) as info:
        Membership(
            "ptn_1",
            "prg_1",
            date(2024, 1, 1),
            tier_id=None,
            tier_since=Q3,
            failing_reviews=1,
            status="paused",  # type: ignore[arg-type]
        )
    assert info.value.paths == ("status", "tier_since", "failing_reviews")


# --- review runs -----------------------------------------------------------------------


def population() -> tuple[list[Membership], dict[str, MetricSnapshot]]:
    members = [
        member("silver", partner_id="ptn_up"),
        member("gold", partner_id="ptn_keep"),
        member("gold", partner_id="ptn_grace"),
        member("gold", partner_id="ptn_off", status=MembershipStatus.SUSPENDED),
    ]
    snapshots = {
        "ptn_up": snap(150_000, 3, 6, partner_id="ptn_up"),
        "ptn_keep": snap(150_000, 3, 6, partner_id="ptn_keep"),
        "ptn_grace": snap(30_000, 1, partner_id="ptn_grace"),
    }
    return members, snapshots


def test_a_review_decides_for_every_active_member() -> None:
    members, snapshots = population()
    run_ = review(PROGRAM, members, snapshots, as_of=Q4)
    assert [(d.partner_id, d.outcome) for d in run_.decisions] == [
        ("ptn_up", TierOutcome.UPGRADE),
        ("ptn_keep", TierOutcome.KEEP),
        ("ptn_grace", TierOutcome.GRACE),
    ]
    assert [m.partner_id for m in run_.memberships] == ["ptn_up", "ptn_grace"]
    assert [(e.kind, e.subject_id) for e in run_.events] == [
        ("tier.changed", "ptn_up"),
        ("tier.grace_entered", "ptn_grace"),
    ]
    assert run_.skipped == {"ptn_off": "the membership is suspended"}
    assert run_.moved == ("ptn_up",)
    assert run_.outcomes[TierOutcome.GRACE] == 1
    assert run_.decision("ptn_keep").tier_id == "gold"
    assert [(a.tier_id, a.valid_from) for a in run_.histories["ptn_up"]] == [("gold", Q4)]


def test_a_review_is_idempotent_for_its_instant() -> None:
    members, snapshots = population()
    first = review(PROGRAM, members, snapshots, as_of=Q4)
    saved = {m.partner_id: m for m in members} | {m.partner_id: m for m in first.memberships}
    second = review(PROGRAM, list(saved.values()), snapshots, as_of=Q4)
    assert (second.memberships, second.events, second.histories) == ((), (), {})
    assert second.skipped["ptn_grace"] == f"already reviewed at {Q4.isoformat()}"


def test_a_review_extends_the_histories_it_is_given() -> None:
    members, snapshots = population()
    history = (
        TierAssignment("ptn_up", "prg_channel", "silver", Q3, cause=TierChangeCause.UPGRADE),
    )
    run_ = review(PROGRAM, members, snapshots, as_of=Q4, histories={"ptn_up": history})
    assert [(a.tier_id, a.valid_from, a.valid_until) for a in run_.histories["ptn_up"]] == [
        ("silver", Q3, Q4),
        ("gold", Q4, None),
    ]


def test_a_review_refuses_a_population_that_does_not_fit() -> None:
    members, snapshots = population()
    members.append(member("gold", partner_id="ptn_up"))
    members.append(Membership("ptn_x", "prg_other", date(2024, 1, 1)))
    members.append(member(partner_id="ptn_new"))
    snapshots["ptn_keep"] = snap(partner_id="ptn_other")
    with pytest.raises(ValidationError) as info:
        review(PROGRAM, members, snapshots, as_of=Q4)
    assert info.value.paths == (
        "snapshots['ptn_keep']",
        "memberships[4]",
        "memberships[5].program_id",
        "snapshots",
    )
    assert "no snapshot for 1 active member(s): 'ptn_new'" in str(info.value)


# --- tier history ----------------------------------------------------------------------


def test_which_tier_a_partner_was_in_on_a_date() -> None:
    history = record_tier_change(
        (),
        partner_id="ptn_1",
        program_id="prg_channel",
        tier_id="silver",
        at=Q3,
        cause=TierChangeCause.UPGRADE,
    )
    history = record_tier_change(
        history,
        partner_id="ptn_1",
        program_id="prg_channel",
        tier_id="gold",
        at=Q4 + timedelta(hours=15),
        cause=TierChangeCause.UPGRADE,
    )
    assert [(a.tier_id, a.valid_until) for a in history] == [
        ("silver", Q4 + timedelta(hours=15)),
        ("gold", None),
    ]
    assert tier_on(history, "ptn_1", date(2026, 6, 30)) is None
    assert tier_on(history, "ptn_1", date(2026, 9, 30)) == "silver"
    assert tier_on(history, "ptn_1", date(2026, 10, 1)) == "gold"  # the tier the day closed with
    assert tier_at(history, "ptn_1", Q4) == "silver"
    assert tier_on(history, "ptn_2", date(2026, 10, 1)) is None


def test_history_in_several_programs_needs_the_program_named() -> None:
    history = (
        TierAssignment("ptn_1", "prg_channel", "gold", Q3),
        TierAssignment("ptn_1", "prg_msp", "silver", Q3),
    )
    with pytest.raises(ValidationError, match="name the program"):
        tier_on(history, "ptn_1", date(2026, 9, 1))
    assert tier_on(history, "ptn_1", date(2026, 9, 1), program_id="prg_msp") == "silver"


def test_history_is_recorded_in_time_order() -> None:
    history = (TierAssignment("ptn_1", "prg_channel", "gold", Q4),)
    with pytest.raises(ValidationError, match="in time order"):
        record_tier_change(
            history,
            partner_id="ptn_1",
            program_id="prg_channel",
            tier_id="silver",
            at=Q3,
            cause=TierChangeCause.ASSIGNED,
        )
    with pytest.raises(ValidationError, match="ends before it starts"):
        TierAssignment("ptn_1", "prg_channel", "gold", Q4, valid_until=Q3)


def test_history_follows_the_tier_changed_events() -> None:
    _, in_grace, _ = run(PROGRAM, member("gold"), SILVER, Q4)
    _, proposed, events_1 = run(PROGRAM, in_grace, SILVER, Q1)
    _, events_2 = approve_downgrade(PROGRAM, proposed, by="usr_manager", at=Q1)
    history = apply_tier_events(
        (TierAssignment("ptn_1", "prg_channel", "gold", Q3),), [*events_1, *events_2]
    )
    assert [(a.tier_id, a.valid_from, a.valid_until, a.cause, a.actor) for a in history] == [
        ("gold", Q3, Q1, TierChangeCause.ASSIGNED, None),
        ("silver", Q1, None, TierChangeCause.DOWNGRADE, "usr_manager"),
    ]


# --- what-if ---------------------------------------------------------------------------


def test_what_if_reports_who_moves_and_counts_per_tier() -> None:
    members = [member("gold", partner_id=f"ptn_{index}") for index in range(4)]
    snapshots = {
        "ptn_0": snap(150_000, 3, 6, partner_id="ptn_0"),  # gold either way
        "ptn_1": snap(120_000, 3, 6, partner_id="ptn_1"),  # gold -> silver
        "ptn_2": snap(30_000, 1, partner_id="ptn_2"),  # silver -> registered
        "ptn_3": snap(400_000, 5, 20, days=1, partner_id="ptn_3"),  # gold -> platinum
    }
    harder = attrs.evolve(
        PROGRAM,
        tiers=(
            PROGRAM.tiers[0],
            attrs.evolve(
                PROGRAM.tiers[1], requirements=all_of(Requirement("revenue_12m", ">=", usd(50_000)))
            ),
            attrs.evolve(
                PROGRAM.tiers[2],
                requirements=all_of(Requirement("revenue_12m", ">=", usd(125_000))),
            ),
            attrs.evolve(
                PROGRAM.tiers[3],
                requirements=all_of(Requirement("revenue_12m", ">=", usd(300_000))),
            ),
        ),
    )
    report = what_if(PROGRAM, harder, members, snapshots, as_of=Q4)
    assert (report.up, report.down, report.out, report.unchanged) == (
        ("ptn_3",),
        ("ptn_1", "ptn_2"),
        (),
        1,
    )
    assert report.moves[1].movement is Movement.DOWN
    assert [(c.tier_id, c.held, c.before, c.after) for c in report.counts] == [
        ("registered", 0, 0, 1),
        ("silver", 0, 1, 1),
        ("gold", 4, 3, 1),
        ("platinum", 0, 0, 1),
        (None, 0, 0, 0),
    ]
    assert report.summary().splitlines()[0] == "1 up, 2 down, 0 out, 1 unchanged"
    # Nothing was changed: the members are as they were.
    assert all(m.tier_id == "gold" for m in members)


def test_what_if_reports_partners_who_fall_out_of_every_tier() -> None:
    members = [member("registered")]
    gated = attrs.evolve(
        PROGRAM,
        tiers=(
            attrs.evolve(PROGRAM.tiers[0], requirements=Requirement("deals_won_12m", ">=", 1)),
            *PROGRAM.tiers[1:],
        ),
    )
    report = what_if(PROGRAM, gated, members, {"ptn_1": NOTHING}, as_of=Q4)
    assert report.out == ("ptn_1",)
    assert report.counts[-1].after == 1


def money_evidence(comparison: str, threshold: str, actual: str | None) -> RequirementEvidence:
    from partnerkit import Money  # noqa: PLC0415

    return RequirementEvidence(
        "requirements",
        "revenue",
        Comparison(comparison),
        Money(threshold, "USD"),
        None if actual is None else Money(actual, "USD"),
        False,
    )


def test_a_strict_money_threshold_needs_one_minor_unit_more_than_the_threshold() -> None:
    from partnerkit import Money  # noqa: PLC0415

    assert money_evidence(">", "1000", "1000").shortfall == Money("0.01", "USD")
    assert money_evidence(">", "1000", "400").shortfall == Money("600.01", "USD")
    assert money_evidence(">", "1000", None).shortfall == Money("1000.01", "USD")
    assert money_evidence("<", "30", "30").shortfall == Money("0.01", "USD")


def test_progress_and_shortfall_agree_on_whole_money_amounts() -> None:
    item = money_evidence(">", "1000", "1000")
    # The target both use is 1000.01: progress is below one, as the shortfall says.
    assert item.progress == Decimal("0.9999")
    half = money_evidence(">", "2", "1")
    assert half.progress == Decimal("0.4975")  # 1 / 2.01
    assert half.shortfall is not None
