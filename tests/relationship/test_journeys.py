"""Journeys: steps over the ledger and time, outcomes as events, variants, who is stuck where."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from partnerkit import Activity, ValidationError
from partnerkit.relationship import (
    Audience,
    Condition,
    Enrolment,
    Journey,
    Outcome,
    Step,
    StepStatus,
    Variant,
    journey_events,
    journey_report,
    journey_state,
)

START = datetime(2026, 3, 1, tzinfo=UTC)
ACTIVATION = Journey(
    "activation",
    "Activation",
    (
        Step(
            "first_contact",
            "First contact",
            Condition(("business_review_held",)),
            "P14D",
            on_overdue=(Outcome("email", "nudge_manager"),),
        ),
        Step(
            "ramp_up",
            "Ramp-up",
            Condition(("training_completed",), count=2),
            "P30D",
            on_done=(Outcome("webhook", "https://example.com/hooks/ramped"),),
        ),
        Step(
            "operational",
            "Fully operational",
            Condition(("deal_registered",)),
            "P30D",
            on_overdue=(Outcome("email", "no_deal_yet", {"template_version": 2}),),
        ),
    ),
    variants=(
        Variant("referral", Audience(types=("referral",)), skip=("ramp_up",)),
        Variant("slow_country", Audience(countries=("JP",)), within={"operational": "P60D"}),
    ),
)


def act(activity_id: str, kind: str, day: int, partner: str = "ptn_1") -> Activity:
    return Activity(activity_id, partner, kind, START + timedelta(days=day))


def test_steps_run_in_order_and_early_activity_counts() -> None:
    ledger = [
        act("t1", "training_completed", 1),
        act("r1", "business_review_held", 5),
        act("t2", "training_completed", 6),
    ]
    state = journey_state(
        ACTIVATION, Enrolment("ptn_1", START), ledger, as_of=START + timedelta(days=20)
    )
    assert [s.status for s in state.steps] == [StepStatus.DONE, StepStatus.DONE, StepStatus.CURRENT]
    assert state.steps[1].done_at == START + timedelta(days=6)
    assert state.explain() == (
        "ptn_1 is at 'Fully operational' for 14 days; needs 1 x deal registered; due 2026-04-06"
    )


def test_has_not_registered_a_deal_within_thirty_days_is_overdue() -> None:
    ledger = [
        act("r1", "business_review_held", 1),
        *[act(f"t{i}", "training_completed", 2) for i in range(2)],
    ]
    state = journey_state(
        ACTIVATION, Enrolment("ptn_1", START), ledger, as_of=START + timedelta(days=40)
    )
    assert state.stuck
    assert state.current is not None
    assert state.current.step.id == "operational"


def test_variants_skip_steps_and_change_deadlines() -> None:
    referral = Enrolment("ptn_1", START, type="referral")
    state = journey_state(ACTIVATION, referral, [], as_of=START)
    assert (state.variant, [s.step.id for s in state.steps]) == (
        "referral",
        ["first_contact", "operational"],
    )
    japan = Enrolment("ptn_1", START, country="JP")
    _, steps = ACTIVATION.for_partner(japan)
    assert str(steps[2].within) == "P60D"


def test_a_variant_naming_an_unknown_step_is_refused() -> None:
    with pytest.raises(ValidationError, match="does not have: nope"):
        Journey("j", "J", ACTIVATION.steps, (Variant("v", Audience(), skip=("nope",)),))


def test_outcomes_become_events_once_over_consecutive_windows() -> None:
    ledger = [
        act("r1", "business_review_held", 20),
        *[act(f"t{i}", "training_completed", 25) for i in range(2)],
    ]
    enrolment = Enrolment("ptn_1", START)
    first = journey_events(
        ACTIVATION, enrolment, ledger, since=START, until=START + timedelta(days=22)
    )
    second = journey_events(
        ACTIVATION,
        enrolment,
        ledger,
        since=START + timedelta(days=22),
        until=START + timedelta(days=60),
    )
    assert [(e.kind, e.data.get("action"), e.data["step"]) for e in first] == [
        ("journey.step_overdue", None, "first_contact"),
        ("journey.outcome", "email", "first_contact"),
        ("journey.step_done", None, "first_contact"),
    ]
    assert [(e.kind, e.data.get("target")) for e in second] == [
        ("journey.step_done", None),
        ("journey.outcome", "https://example.com/hooks/ramped"),
        ("journey.step_overdue", None),
        ("journey.outcome", "no_deal_yet"),
    ]
    assert second[-1].data["template_version"] == 2


def test_the_report_says_who_is_stuck_where() -> None:
    ledger = [
        act("r1", "business_review_held", 1, "ptn_2"),
        act("r2", "business_review_held", 1, "ptn_3"),
        *[act(f"t{i}", "training_completed", 2, "ptn_3") for i in range(2)],
        act("d1", "deal_registered", 3, "ptn_3"),
    ]
    enrolments = [Enrolment(p, START) for p in ("ptn_1", "ptn_2", "ptn_3")]
    report = journey_report(ACTIVATION, enrolments, ledger, as_of=START + timedelta(days=40))
    assert report.explain() == (
        "First contact: 1 partner; stuck: ptn_1 (26 days overdue)\n"
        "Ramp-up: 1 partner; stuck: ptn_2 (9 days overdue)\n"
        "Fully operational: 0 partners\n"
        "completed: 1"
    )


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["business_review_held", "training_completed", "deal_registered"]),
            st.integers(0, 120),
        ),
        max_size=12,
    ),
    st.integers(0, 150),
)
@example([], 14)  # a window ending on a deadline: the step is overdue in that window
def test_events_over_split_windows_equal_one_window(
    rows: list[tuple[str, int]], split: int
) -> None:
    ledger = [act(f"a{i}", kind, day) for i, (kind, day) in enumerate(rows)]
    enrolment = Enrolment("ptn_1", START)
    end = START + timedelta(days=150)
    middle = START + timedelta(days=split)
    whole = journey_events(ACTIVATION, enrolment, ledger, since=START, until=end)
    parts = journey_events(
        ACTIVATION, enrolment, ledger, since=START, until=middle
    ) + journey_events(ACTIVATION, enrolment, ledger, since=middle, until=end)
    assert sorted(map(repr, whole)) == sorted(map(repr, parts))
