"""The relationship services: plans, check-ins, certifications and surveys, access-checked."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from partnerkit import (
    Aggregate,
    FixedClock,
    InvalidTransitionError,
    MetricDefinition,
    NotFoundError,
    Partner,
    PartnerStatus,
    PermissionDeniedError,
)
from partnerkit._base.time import Cadence
from partnerkit.access import Actor, Role
from partnerkit.relationship import (
    ActionItem,
    CheckInPolicy,
    Goal,
    GoalOwner,
    PlanStatus,
    Side,
)
from partnerkit.services import Services
from partnerkit.storage.memory import MemoryStorage

NOW = datetime(2027, 3, 1, 9, tzinfo=UTC)
MANAGER = Actor("usr_m", Role.CHANNEL_MANAGER)
OTHER_MANAGER = Actor("usr_o", Role.CHANNEL_MANAGER)
USER_A = Actor("usr_a", Role.PARTNER_USER, partner_id="ptn_a")
USER_B = Actor("usr_b", Role.PARTNER_USER, partner_id="ptn_b")
GOALS = (
    Goal(
        "deals",
        MetricDefinition("deals", Aggregate.COUNT, kinds=("deal_won",)),
        Decimal(4),
        (GoalOwner(Side.VENDOR, "usr_m"), GoalOwner(Side.PARTNER, "usr_a")),
    ),
)


@pytest.fixture
def services() -> Services:
    store = MemoryStorage()
    ids = iter(range(1, 1000))
    found = Services(store, clock=FixedClock(NOW), ids=lambda prefix: f"{prefix}_{next(ids)}")
    with store.unit_of_work() as uow:
        for partner_id in ("ptn_a", "ptn_b"):
            uow.partners.add(
                Partner(
                    partner_id,
                    f"Partner {partner_id}",
                    "reseller",
                    "FI",
                    datetime(2026, 1, 5, tzinfo=UTC),
                    status=PartnerStatus.ACTIVE,
                    owner_id="usr_m",
                )
            )
        uow.commit()
    return found


def drafted(services: Services, partner_id: str = "ptn_a") -> str:
    return services.draft_plan(
        MANAGER,
        partner_id,
        title="FY27",
        starts_on=date(2027, 1, 1),
        ends_on=date(2027, 12, 31),
        goals=GOALS,
    ).value.id


def test_a_plan_is_agreed_by_the_manager_and_the_partners_user(services: Services) -> None:
    plan_id = drafted(services)
    services.agree_plan(USER_A, plan_id)
    result = services.agree_plan(MANAGER, plan_id)
    assert result.value.status is PlanStatus.AGREED
    assert [r.by for r in result.value.history] == ["usr_m", "usr_a", "usr_m"]
    assert [e.kind for e in result.events] == ["plan.agreed_by_side", "plan.agreed"]


def test_a_partner_user_cannot_see_or_answer_another_partners_plan(services: Services) -> None:
    plan_id = drafted(services)
    with pytest.raises(NotFoundError):
        services.get_plan(USER_B, plan_id)
    with pytest.raises(NotFoundError):
        services.agree_plan(USER_B, plan_id)
    with pytest.raises(PermissionDeniedError):
        services.revise_plan(USER_A, plan_id, GOALS, reason="more")
    assert [p.id for p in services.list_plans(USER_B).items] == []
    assert [p.id for p in services.list_plans(USER_A).items] == [plan_id]
    with pytest.raises(NotFoundError):
        services.list_plans(USER_B, partner_id="ptn_a")


def test_only_the_owning_manager_writes_plans(services: Services) -> None:
    with pytest.raises(PermissionDeniedError):
        services.draft_plan(
            OTHER_MANAGER,
            "ptn_a",
            title="X",
            starts_on=date(2027, 1, 1),
            ends_on=date(2027, 12, 31),
            goals=GOALS,
        )


def test_plan_progress_reads_the_partners_ledger(services: Services) -> None:
    from partnerkit import Activity  # noqa: PLC0415

    plan_id = drafted(services)
    services.record_activities(
        MANAGER,
        [
            Activity(f"w{i}", "ptn_a", "deal_won", datetime(2027, 2, 1 + i, tzinfo=UTC))
            for i in range(3)
        ],
    )
    progress = services.plan_progress(USER_A, plan_id)
    assert progress.goals[0].actual == 3
    assert progress.goals[0].gap.startswith("needs 1 more deal")


def test_check_ins_and_their_action_items(services: Services) -> None:
    item = ActionItem("forecast", "Send the forecast", "usr_a", Side.PARTNER, date(2027, 3, 10))
    result = services.record_check_in(
        MANAGER,
        "ptn_a",
        held_at=datetime(2027, 2, 27, tzinfo=UTC),
        attendees=("usr_m", "usr_a"),
        notes="QBR",
        satisfaction=5,
        action_items=(item,),
    )
    check_in = result.value
    assert (check_in.recorded_by, check_in.version) == ("usr_m", 1)
    assert [e.kind for e in result.events] == ["check_in.recorded", "check_in.action_assigned"]
    with pytest.raises(NotFoundError):
        services.complete_action(USER_B, check_in.id, "forecast")
    with pytest.raises(PermissionDeniedError):
        services.record_check_in(USER_A, "ptn_a", held_at=NOW, attendees=("usr_a",))
    done = services.complete_action(USER_A, check_in.id, "forecast").value
    assert done.action_items[0].done_on == NOW.date()
    with pytest.raises(InvalidTransitionError):
        services.complete_action(USER_A, check_in.id, "forecast")
    assert [c.id for c in services.list_check_ins(USER_B).items] == []


def test_overdue_check_ins_over_the_stored_channel(services: Services) -> None:
    services.record_check_in(
        MANAGER, "ptn_a", held_at=datetime(2027, 2, 1, tzinfo=UTC), attendees=("usr_m",)
    )
    policy = CheckInPolicy(Cadence("FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1"))
    overdue = services.overdue_check_ins(MANAGER, policy)
    assert [(row.partner_id, row.overdue_days) for row in overdue] == [("ptn_b", 334)]
    with pytest.raises(PermissionDeniedError):
        services.overdue_check_ins(USER_A, policy)


def test_certifications_are_recorded_by_the_manager_and_seen_by_their_partner(
    services: Services,
) -> None:
    started = services.start_certification(
        MANAGER, "ptn_a", person="p_1", name="cloud_architect", started_on=date(2027, 1, 1)
    ).value
    issued = services.issue_certification(
        MANAGER, started.id, issued_on=date(2027, 2, 1), expires_on=date(2028, 2, 1)
    ).value
    assert issued.version == 2
    assert [c.id for c in services.list_certifications(USER_A).items] == [started.id]
    assert services.list_certifications(USER_B).items == ()
    assert [
        c.id for c in services.list_certifications(MANAGER, expires_before=date(2028, 3, 1)).items
    ] == [started.id]
    with pytest.raises(NotFoundError):
        services.renew_certification(
            USER_B, started.id, issued_on=date(2027, 12, 1), expires_on=date(2029, 2, 1)
        )


def test_partners_answer_surveys_and_managers_read_nps(services: Services) -> None:
    for actor, score in ((USER_A, 10), (USER_B, 3)):
        result = services.answer_survey(actor, survey="nps", score=score, program_id="prg_1")
        assert result.events[0].kind == "survey.answered"
    with pytest.raises(NotFoundError):
        services.answer_survey(USER_A, survey="nps", score=9, partner_id="ptn_b")
    report = services.nps_report(MANAGER)
    assert (report["prg_1"].responses, report["prg_1"].score) == (2, Decimal("0.0"))
    with pytest.raises(PermissionDeniedError):
        services.nps_report(USER_A)


STRANGER = Actor("usr_x", Role.PARTNER_USER, partner_id="ptn_nowhere")


def b_records(services: Services) -> dict[str, str]:
    plan = drafted(services, "ptn_b")
    check_in = services.record_check_in(
        MANAGER,
        "ptn_b",
        held_at=NOW,
        attendees=("usr_m",),
        action_items=(ActionItem("x", "Do it", "usr_b", Side.PARTNER, date(2027, 3, 9)),),
    ).value.id
    cert = services.start_certification(
        MANAGER, "ptn_b", person="p_9", name="secret_cert", started_on=date(2027, 1, 1)
    ).value.id
    return {"plan": plan, "check_in": check_in, "cert": cert}


CALLS = {
    "get_plan": lambda s, a, key: s.get_plan(a, key),
    "agree_plan": lambda s, a, key: s.agree_plan(a, key),
    "revise_plan": lambda s, a, key: s.revise_plan(a, key, GOALS, reason="mine"),
    "plan_progress": lambda s, a, key: s.plan_progress(a, key),
    "get_check_in": lambda s, a, key: s.get_check_in(a, key),
    "complete_action": lambda s, a, key: s.complete_action(a, key, "x"),
    "issue_certification": lambda s, a, key: s.issue_certification(
        a, key, issued_on=date(2027, 2, 1), expires_on=date(2028, 2, 1)
    ),
}
KEYS = {
    "get_plan": "plan",
    "agree_plan": "plan",
    "revise_plan": "plan",
    "plan_progress": "plan",
    "get_check_in": "check_in",
    "complete_action": "check_in",
    "issue_certification": "cert",
}


@pytest.mark.parametrize("actor", [USER_A, STRANGER], ids=["user of A", "stranger"])
@pytest.mark.parametrize("call", sorted(CALLS))
def test_another_partners_records_look_exactly_like_missing_ones(
    services: Services, actor: Actor, call: str
) -> None:
    key = b_records(services)[KEYS[call]]
    with pytest.raises(NotFoundError) as hidden:
        CALLS[call](services, actor, key)
    with pytest.raises(NotFoundError) as missing:
        CALLS[call](services, actor, "nothing_0")
    assert str(hidden.value).replace(key, "?") == str(missing.value).replace("nothing_0", "?")
    assert "ptn_b" not in str(hidden.value)
    assert "secret_cert" not in str(hidden.value)


def test_running_a_journey_publishes_each_outcome_once_to_the_outbox(
    services: Services,
) -> None:
    from partnerkit import Activity  # noqa: PLC0415
    from partnerkit.relationship import Condition, Journey, Outcome, Step  # noqa: PLC0415

    journey = Journey(
        "activation",
        "Activation",
        (
            Step(
                "first_deal",
                "First deal",
                Condition(("deal_registered",)),
                "P30D",
                on_overdue=(Outcome("email", "no_deal_yet"),),
            ),
        ),
    )
    services.record_activities(
        MANAGER, [Activity("d1", "ptn_a", "deal_registered", datetime(2026, 1, 20, tzinfo=UTC))]
    )
    result = services.run_journey(MANAGER, journey, since=datetime(2026, 1, 1, tzinfo=UTC))
    assert [(e.kind, e.subject_id) for e in result.value] == [
        ("journey.step_done", "ptn_a"),
        ("journey.completed", "ptn_a"),
        ("journey.step_overdue", "ptn_b"),
        ("journey.outcome", "ptn_b"),
    ]
    outbox = [r.event for r in services.storage.pending_events(limit=100)]
    assert [e.data["target"] for e in outbox if e.kind == "journey.outcome"] == ["no_deal_yet"]
    later = services.run_journey(
        MANAGER, journey, since=NOW, until=datetime(2027, 6, 1, tzinfo=UTC)
    )
    assert later.value == ()
    with pytest.raises(PermissionDeniedError):
        services.run_journey(USER_A, journey, since=NOW)
