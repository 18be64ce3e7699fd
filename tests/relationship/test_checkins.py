"""Check-ins: cadence per partner or tier, overdue check-ins and action items, events."""

from datetime import UTC, date, datetime

import pytest

from partnerkit import InvalidTransitionError, NotFoundError, ValidationError
from partnerkit._base.time import Cadence
from partnerkit.relationship import (
    ActionItem,
    CheckIn,
    CheckInPolicy,
    complete_action,
    due_check_ins,
    overdue_action_items,
    overdue_check_ins,
    record_check_in,
)

MONTHLY = Cadence("FREQ=MONTHLY;BYMONTHDAY=1")
QUARTERLY = Cadence("FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1")
POLICY = CheckInPolicy(QUARTERLY, by_tier={"gold": MONTHLY})
STARTED = {"ptn_1": datetime(2026, 1, 10, tzinfo=UTC), "ptn_2": datetime(2026, 1, 10, tzinfo=UTC)}


def meeting(check_in_id: str, partner: str, when: datetime, *items: ActionItem) -> CheckIn:
    return CheckIn(
        check_in_id,
        partner,
        when,
        ("u_anna", "c_bo"),
        "Pipeline review.\nNext: QBR.",
        satisfaction=4,
        action_items=items,
        recorded_by="u_anna",
    )


ITEM = ActionItem("forecast", "Send the Q3 forecast", "c_bo", "partner", date(2026, 5, 15))


def test_a_check_in_keeps_its_notes_lines_and_refuses_a_bad_satisfaction() -> None:
    assert meeting("ci_1", "ptn_1", datetime(2026, 5, 2, tzinfo=UTC)).notes == (
        "Pipeline review.\nNext: QBR."
    )
    with pytest.raises(ValidationError, match="satisfaction"):
        CheckIn("ci_1", "ptn_1", datetime(2026, 5, 2, tzinfo=UTC), ("u_a",), satisfaction=6)


def test_recording_announces_the_check_in_and_each_action_item() -> None:
    _, events = record_check_in(
        meeting("ci_1", "ptn_1", datetime(2026, 5, 2, tzinfo=UTC), ITEM),
        at=datetime(2026, 5, 2, tzinfo=UTC),
    )
    assert [e.kind for e in events] == ["check_in.recorded", "check_in.action_assigned"]
    assert events[0].data["satisfaction"] == 4
    assert events[1].data["due_on"] == "2026-05-15"


def test_the_tier_cadence_wins_over_the_default_and_the_partner_over_the_tier() -> None:
    policy = CheckInPolicy(QUARTERLY, by_tier={"gold": MONTHLY}, by_partner={"ptn_1": QUARTERLY})
    assert policy.cadence_for("ptn_2", "gold") is MONTHLY
    assert policy.cadence_for("ptn_1", "gold") is QUARTERLY
    assert policy.cadence_for("ptn_3") is QUARTERLY


def test_overdue_check_ins_most_overdue_first_with_the_delay_in_words() -> None:
    held = [meeting("ci_1", "ptn_1", datetime(2026, 5, 2, tzinfo=UTC))]
    rows = due_check_ins(
        POLICY, STARTED, held, as_of=datetime(2026, 7, 10, tzinfo=UTC), tiers={"ptn_1": "gold"}
    )
    assert [(r.partner_id, r.overdue_days) for r in rows] == [("ptn_2", 100), ("ptn_1", 39)]
    assert rows[1].message == (
        "ptn_1: check-in overdue by 39 days (due 2026-06-01, last held 2026-05-02)"
    )
    assert rows[0].message.endswith("never held)")
    early = overdue_check_ins(POLICY, STARTED, held, as_of=datetime(2026, 3, 1, tzinfo=UTC))
    assert early == ()


def test_overdue_action_items_and_completing_one() -> None:
    check_in = meeting("ci_1", "ptn_1", datetime(2026, 5, 2, tzinfo=UTC), ITEM)
    [row] = overdue_action_items([check_in], on=date(2026, 5, 20))
    assert row.message == (
        "'Send the Q3 forecast' (partner owner c_bo) is 5 days overdue "
        "(due 2026-05-15, agreed 2026-05-02)"
    )
    done, events = complete_action(
        check_in,
        "forecast",
        done_on=date(2026, 5, 21),
        by="c_bo",
        at=datetime(2026, 5, 21, tzinfo=UTC),
    )
    assert overdue_action_items([done], on=date(2026, 6, 1)) == ()
    assert events[0].kind == "check_in.action_done"
    with pytest.raises(InvalidTransitionError):
        complete_action(
            done,
            "forecast",
            done_on=date(2026, 5, 21),
            by="c_bo",
            at=datetime(2026, 5, 21, tzinfo=UTC),
        )
    with pytest.raises(NotFoundError, match="has: forecast"):
        complete_action(
            done, "nope", done_on=date(2026, 5, 21), by="c_bo", at=datetime(2026, 5, 21, tzinfo=UTC)
        )


def test_partners_whose_cadence_ended_are_listed_last_without_a_due_date() -> None:
    ended = Cadence("FREQ=MONTHLY;BYMONTHDAY=1;COUNT=1", anchor=datetime(2026, 1, 1, tzinfo=UTC))
    policy = CheckInPolicy(MONTHLY, by_partner={"ptn_1": ended, "ptn_2": ended})
    held = [meeting("ci_1", "ptn_1", datetime(2026, 2, 2, tzinfo=UTC))]
    started = {**STARTED, "ptn_3": datetime(2026, 1, 10, tzinfo=UTC)}
    rows = due_check_ins(policy, started, held, as_of=datetime(2026, 3, 10, tzinfo=UTC))
    assert [(r.partner_id, r.due_at is None) for r in rows] == [
        ("ptn_3", False),
        ("ptn_1", True),
        ("ptn_2", True),
    ]
    assert rows[1].message == "ptn_1: no more check-ins on its cadence"
