"""The access matrix for leads, funds, incentives, forecasts and the relationship.

The same proof as `test_matrix`, over the services added after it: every actor
who is not partner B's tries every call that names one of B's leads, fund
requests and claims, incentive statements, business plans, check-ins and
certifications, or partner B itself, on both adapters. A refusal to an actor who
may not see B is the very `NotFoundError` a missing record gives; nothing
returned, announced or said names B's records beyond what the caller named; and
B's stored records do not change unless the policy allowed the call. Reads that
answer for the actor's own scope (lists, forecasts, attribution) hold nothing of B.
"""

import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import attrs
import pytest

from partnerkit import Cadence, Money, NotFoundError, PartnerkitError
from partnerkit.access import AccessPolicy, Action, Actor, Role, Scope
from partnerkit.attribution import Touch, TouchKind
from partnerkit.deals import DealStatus
from partnerkit.errors import PermissionDeniedError
from partnerkit.funds import FundTerms, ProofItem
from partnerkit.incentives import Band, Basis, Plan, RewardKind, Rule
from partnerkit.leads import LeadContact, LeadCustomer, RoutingPolicy
from partnerkit.metrics import Aggregate, MetricDefinition
from partnerkit.relationship import (
    ActionItem,
    CheckInPolicy,
    Condition,
    Goal,
    GoalOwner,
    Journey,
    Side,
    Step,
)
from partnerkit.services import LeadIntake, Services

from .test_matrix import ACTOR, NO_ROLES, OUTSIDERS, leaks, named_in, render
from .world import (
    ADMIN,
    MANAGER_A,
    MANAGER_B,
    NOW,
    USER_A,
    USER_B,
    World,
    build,
    draft,
    snapshot_of_b,
    storages,
)

FINANCE = Actor("usr_fin", Role.FINANCE)
JAN = datetime(2026, 1, 1, tzinfo=UTC)
TERMS = FundTerms(
    request_deadline=date(2026, 3, 31), claim_deadline=date(2026, 4, 30), cost_share=Decimal(50)
)
INCENTIVES = Plan(
    "plan_resale",
    1,
    "Resale",
    "EUR",
    (
        Rule(
            "resale",
            Basis.REVENUE_BOOKED,
            RewardKind.PERCENTAGE,
            (Band(Decimal(0), Decimal(3)), Band(Decimal(10_000), Decimal(5))),
        ),
    ),
)
ONLY_B = RoutingPolicy("only b", weights={"ptn_b": 1})
JOURNEY = Journey(
    "activation",
    "Activation",
    (Step("first_deal", "First deal", Condition(("deal_registered",)), "P30D"),),
)
GOALS = (
    Goal(
        "deals",
        MetricDefinition("deals", Aggregate.COUNT, kinds=("deal_won",)),
        Decimal(4),
        (GoalOwner(Side.VENDOR, "usr_mb"), GoalOwner(Side.PARTNER, "usr_bo")),
    ),
)


def usd(amount: str) -> Money:
    return Money(amount, "USD")


def proof() -> list[ProofItem]:
    return [ProofItem("invoice", "Trade show booth", usd("400.00"), "inv-88")]


def intake(name: str) -> LeadIntake:
    contact = LeadContact("Anna Virtanen", f"anna@{name.lower()}.fi", "+358 40 123")
    return LeadIntake(LeadCustomer(f"{name} Oy", "FI", contact=contact), "web form")


def build_newer(storage: object) -> World:
    """`world.build`, and partner B's leads, funds, statement and relationship records."""
    world = build(storage)
    services, records = world.services, world.records
    # Leads: one offered to B, one B accepted.
    for key, name in (("b_lead_offered", "Gale"), ("b_lead_accepted", "Heath")):
        records[key] = services.receive_lead(ADMIN, intake(name)).value.id
        services.route_leads(ADMIN, ONLY_B, lead_ids=[records[key]])
    services.accept_lead(USER_B, records["b_lead_accepted"])
    # One A turned down before it went to B: A knows its id, but it is B's now.
    records["b_lead_from_a"] = services.receive_lead(ADMIN, intake("Ivy")).value.id
    only_a = RoutingPolicy("only a", weights={"ptn_a": 1})
    services.route_leads(ADMIN, only_a, lead_ids=[records["b_lead_from_a"]])
    services.decline_lead(USER_A, records["b_lead_from_a"], reason="busy")
    services.route_leads(ADMIN, ONLY_B, lead_ids=[records["b_lead_from_a"]])
    # Funds: a budget with B's pool; a submitted request, an approved one with a
    # submitted claim and an approved claim.
    records["budget"] = budget = services.create_budget(
        FINANCE,
        program_id="prg",
        name="MDF Q1",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 3, 31),
        terms=TERMS,
        amount=usd("20000.00"),
    ).value.id
    services.allocate_funds(FINANCE, budget, usd("5000.00"), partner_id="ptn_b")
    submit = services.submit_fund_request
    records["b_freq_submitted"] = submit(
        USER_B, budget, activity="Webinar", amount=usd("500.00")
    ).value.id
    records["b_freq_approved"] = approved = submit(
        USER_B, budget, activity="Trade show", amount=usd("2000.00")
    ).value.id
    services.approve_fund_request(MANAGER_B, approved)
    records["b_fclaim_submitted"] = services.submit_fund_claim(USER_B, approved, proof()).value.id
    records["b_fclaim_approved"] = claim = services.submit_fund_claim(
        USER_B, approved, proof()
    ).value.id
    services.approve_fund_claim(MANAGER_B, claim)
    # Incentives: January's statements (B's draft).
    services.add_incentive_plan(ADMIN, INCENTIVES)
    statements = services.compute_statements(ADMIN, INCENTIVES.id, JAN).value
    records["b_statement"] = next(s.id for s in statements if s.partner_id == "ptn_b")
    # The relationship: a plan, a check-in with an open action item, a certification.
    records["b_plan"] = services.draft_plan(
        MANAGER_B,
        "ptn_b",
        title="FY27",
        starts_on=date(2026, 1, 1),
        ends_on=date(2026, 12, 31),
        goals=GOALS,
    ).value.id
    item = ActionItem("forecast", "Send the forecast", "usr_bo", Side.PARTNER, date(2026, 3, 10))
    records["b_check_in"] = services.record_check_in(
        MANAGER_B, "ptn_b", held_at=NOW, attendees=("usr_mb", "usr_bo"), action_items=(item,)
    ).value.id
    records["b_cert"] = services.start_certification(
        MANAGER_B, "ptn_b", person="p_1", name="cloud_architect", started_on=date(2026, 1, 1)
    ).value.id
    # Won deals on both sides, for attribution.
    services.close_deal(MANAGER_B, world.deals["b_approved"], won=True)
    services.close_deal(MANAGER_A, world.deals["a_approved"], won=True)
    return world


def snapshot_newer(world: World) -> dict[str, object]:
    """Everything stored about partner B, the newer records included."""
    records = world.records
    with world.services.storage.unit_of_work() as uow:
        newer: dict[str, object] = {
            "leads": [
                uow.leads.get(records[k])
                for k in ("b_lead_offered", "b_lead_accepted", "b_lead_from_a")
            ],
            "budget": uow.fund_budgets.get(records["budget"]),
            "requests": [
                uow.fund_requests.get(records[k]) for k in ("b_freq_submitted", "b_freq_approved")
            ],
            "claims": [
                uow.fund_claims.get(records[k]) for k in ("b_fclaim_submitted", "b_fclaim_approved")
            ],
            "statement": uow.statements.get(records["b_statement"]),
            "plan": uow.plans.get(records["b_plan"]),
            "check_in": uow.check_ins.get(records["b_check_in"]),
            "certification": uow.certifications.get(records["b_cert"]),
            "plans": uow.plans.query(partner_id="ptn_b").items,
            "check_ins": uow.check_ins.query(partner_id="ptn_b").items,
            "certifications": uow.certifications.query(partner_id="ptn_b").items,
        }
    return {**snapshot_of_b(world), **newer}


def outbox(world: World) -> list[object]:
    return [record.event for record in world.services.storage.pending_events(limit=10_000)]


@pytest.fixture(params=["memory", "sqlite"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    storage = dict(storages(tmp_path))[request.param]
    built = build_newer(storage)
    yield built
    built.services.storage.close()


Call = Callable[[Services, World], object]


def _b(world: World, key: str) -> str:
    return world.records[key]


# (name, action checked, action that lets one see the record, the call)
CALLS: list[tuple[str, str, str, Call]] = [
    # Leads.
    (
        "get_lead offered",
        Action.LEAD_VIEW,
        Action.LEAD_VIEW,
        lambda s, w: s.get_lead(ACTOR[0], _b(w, "b_lead_offered")),
    ),
    (
        "get_lead accepted",
        Action.LEAD_VIEW,
        Action.LEAD_VIEW,
        lambda s, w: s.get_lead(ACTOR[0], _b(w, "b_lead_accepted")),
    ),
    (
        "get_lead A turned down",
        Action.LEAD_VIEW,
        Action.LEAD_VIEW,
        lambda s, w: s.get_lead(ACTOR[0], _b(w, "b_lead_from_a")),
    ),
    (
        "accept the lead A turned down",
        Action.LEAD_RESPOND,
        Action.LEAD_VIEW,
        lambda s, w: s.accept_lead(ACTOR[0], _b(w, "b_lead_from_a")),
    ),
    (
        "accept B's lead",
        Action.LEAD_RESPOND,
        Action.LEAD_VIEW,
        lambda s, w: s.accept_lead(ACTOR[0], _b(w, "b_lead_offered")),
    ),
    (
        "decline B's lead",
        Action.LEAD_RESPOND,
        Action.LEAD_VIEW,
        lambda s, w: s.decline_lead(ACTOR[0], _b(w, "b_lead_offered"), reason="busy"),
    ),
    (
        "lose B's lead",
        Action.LEAD_RESPOND,
        Action.LEAD_VIEW,
        lambda s, w: s.lose_lead(ACTOR[0], _b(w, "b_lead_accepted"), reason="gone"),
    ),
    (
        "return B's lead",
        Action.LEAD_ROUTE,
        Action.LEAD_VIEW,
        lambda s, w: s.return_lead(ACTOR[0], _b(w, "b_lead_accepted"), reason="mine"),
    ),
    (
        "route B's lead",
        Action.LEAD_ROUTE,
        Action.LEAD_VIEW,
        lambda s, w: s.route_leads(ACTOR[0], ONLY_B, lead_ids=[_b(w, "b_lead_offered")]),
    ),
    (
        "convert B's lead into a deal",
        Action.LEAD_RESPOND,
        Action.LEAD_VIEW,
        lambda s, w: s.submit_deal(
            ACTOR[0], attrs.evolve(draft("Heath Oy", "heath.fi"), lead_id=_b(w, "b_lead_accepted"))
        ),
    ),
    # Funds.
    (
        "get_fund_pool of B",
        Action.FUND_VIEW,
        Action.FUND_VIEW,
        lambda s, w: s.get_fund_pool(ACTOR[0], _b(w, "budget"), partner_id="ptn_b"),
    ),
    (
        "submit_fund_request for B",
        Action.FUND_REQUEST,
        Action.FUND_VIEW,
        lambda s, w: s.submit_fund_request(
            ACTOR[0], _b(w, "budget"), activity="Hijack", amount=usd("10.00"), partner_id="ptn_b"
        ),
    ),
    (
        "allocate to B",
        Action.FUND_CONFIGURE,
        Action.FUND_VIEW,
        lambda s, w: s.allocate_funds(ACTOR[0], _b(w, "budget"), usd("1.00"), partner_id="ptn_b"),
    ),
    (
        "get_fund_request",
        Action.FUND_VIEW,
        Action.FUND_VIEW,
        lambda s, w: s.get_fund_request(ACTOR[0], _b(w, "b_freq_submitted")),
    ),
    (
        "approve B's request",
        Action.FUND_DECIDE,
        Action.FUND_VIEW,
        lambda s, w: s.approve_fund_request(ACTOR[0], _b(w, "b_freq_submitted")),
    ),
    (
        "reject B's request",
        Action.FUND_DECIDE,
        Action.FUND_VIEW,
        lambda s, w: s.reject_fund_request(ACTOR[0], _b(w, "b_freq_submitted"), reason="no"),
    ),
    (
        "withdraw B's request",
        Action.FUND_REQUEST,
        Action.FUND_VIEW,
        lambda s, w: s.withdraw_fund_request(ACTOR[0], _b(w, "b_freq_submitted")),
    ),
    (
        "close B's request",
        Action.FUND_DECIDE,
        Action.FUND_VIEW,
        lambda s, w: s.close_fund_request(ACTOR[0], _b(w, "b_freq_approved")),
    ),
    (
        "claim on B's request",
        Action.FUND_REQUEST,
        Action.FUND_VIEW,
        lambda s, w: s.submit_fund_claim(ACTOR[0], _b(w, "b_freq_approved"), proof()),
    ),
    (
        "get_fund_claim",
        Action.FUND_VIEW,
        Action.FUND_VIEW,
        lambda s, w: s.get_fund_claim(ACTOR[0], _b(w, "b_fclaim_submitted")),
    ),
    (
        "approve B's claim",
        Action.FUND_DECIDE,
        Action.FUND_VIEW,
        lambda s, w: s.approve_fund_claim(ACTOR[0], _b(w, "b_fclaim_submitted")),
    ),
    (
        "reject B's claim",
        Action.FUND_DECIDE,
        Action.FUND_VIEW,
        lambda s, w: s.reject_fund_claim(ACTOR[0], _b(w, "b_fclaim_submitted"), reason="no"),
    ),
    (
        "pay B's claim",
        Action.FUND_SETTLE,
        Action.FUND_VIEW,
        lambda s, w: s.pay_fund_claim(ACTOR[0], _b(w, "b_fclaim_approved"), reference="pay-1"),
    ),
    # Incentives.
    (
        "get_statement",
        Action.INCENTIVE_VIEW,
        Action.INCENTIVE_VIEW,
        lambda s, w: s.get_statement(ACTOR[0], _b(w, "b_statement")),
    ),
    (
        "approve B's statement",
        Action.INCENTIVE_APPROVE,
        Action.INCENTIVE_VIEW,
        lambda s, w: s.approve_statement(ACTOR[0], _b(w, "b_statement")),
    ),
    (
        "approve B's statement at a version",
        Action.INCENTIVE_APPROVE,
        Action.INCENTIVE_VIEW,
        lambda s, w: s.approve_statement(ACTOR[0], _b(w, "b_statement"), version=7),
    ),
    (
        "pay B's statement",
        Action.INCENTIVE_PAY,
        Action.INCENTIVE_VIEW,
        lambda s, w: s.pay_statement(ACTOR[0], _b(w, "b_statement"), reference="pay-2"),
    ),
    (
        "replay B's statement",
        Action.INCENTIVE_VIEW,
        Action.INCENTIVE_VIEW,
        lambda s, w: s.replay_statement(ACTOR[0], _b(w, "b_statement")),
    ),
    # The relationship.
    (
        "draft_plan for B",
        Action.PLAN_EDIT,
        Action.RELATIONSHIP_VIEW,
        lambda s, w: s.draft_plan(
            ACTOR[0],
            "ptn_b",
            title="Mine",
            starts_on=date(2026, 1, 1),
            ends_on=date(2026, 12, 31),
            goals=GOALS,
        ),
    ),
    (
        "get_plan",
        Action.RELATIONSHIP_VIEW,
        Action.RELATIONSHIP_VIEW,
        lambda s, w: s.get_plan(ACTOR[0], _b(w, "b_plan")),
    ),
    (
        "agree B's plan",
        Action.PLAN_AGREE,
        Action.RELATIONSHIP_VIEW,
        lambda s, w: s.agree_plan(ACTOR[0], _b(w, "b_plan")),
    ),
    (
        "revise B's plan",
        Action.PLAN_EDIT,
        Action.RELATIONSHIP_VIEW,
        lambda s, w: s.revise_plan(
            ACTOR[0], _b(w, "b_plan"), [attrs.evolve(GOALS[0], target=Decimal(9))], reason="x"
        ),
    ),
    (
        "plan_progress",
        Action.RELATIONSHIP_VIEW,
        Action.RELATIONSHIP_VIEW,
        lambda s, w: s.plan_progress(ACTOR[0], _b(w, "b_plan")),
    ),
    (
        "record_check_in for B",
        Action.CHECK_IN_RECORD,
        Action.RELATIONSHIP_VIEW,
        lambda s, w: s.record_check_in(ACTOR[0], "ptn_b", held_at=NOW, attendees=("usr_x",)),
    ),
    (
        "get_check_in",
        Action.RELATIONSHIP_VIEW,
        Action.RELATIONSHIP_VIEW,
        lambda s, w: s.get_check_in(ACTOR[0], _b(w, "b_check_in")),
    ),
    (
        "complete B's action item",
        Action.ACTION_COMPLETE,
        Action.RELATIONSHIP_VIEW,
        lambda s, w: s.complete_action(ACTOR[0], _b(w, "b_check_in"), "forecast"),
    ),
    (
        "complete an item B's check-in lacks",
        Action.ACTION_COMPLETE,
        Action.RELATIONSHIP_VIEW,
        lambda s, w: s.complete_action(ACTOR[0], _b(w, "b_check_in"), "no_such_item"),
    ),
    (
        "start_certification for B",
        Action.CERTIFICATION_RECORD,
        Action.RELATIONSHIP_VIEW,
        lambda s, w: s.start_certification(
            ACTOR[0], "ptn_b", person="p_9", name="x", started_on=date(2026, 1, 1)
        ),
    ),
    (
        "issue B's certification",
        Action.CERTIFICATION_RECORD,
        Action.RELATIONSHIP_VIEW,
        lambda s, w: s.issue_certification(
            ACTOR[0], _b(w, "b_cert"), issued_on=date(2026, 2, 1), expires_on=date(2027, 2, 1)
        ),
    ),
    (
        "renew B's certification",
        Action.CERTIFICATION_RECORD,
        Action.RELATIONSHIP_VIEW,
        lambda s, w: s.renew_certification(
            ACTOR[0], _b(w, "b_cert"), issued_on=date(2027, 2, 1), expires_on=date(2028, 2, 1)
        ),
    ),
    (
        "answer a survey for B",
        Action.SURVEY_ANSWER,
        Action.RELATIONSHIP_VIEW,
        lambda s, w: s.answer_survey(ACTOR[0], survey="nps", score=0, partner_id="ptn_b"),
    ),
]

# Reads that answer for the actor's own scope: they may succeed for anyone, and
# then hold nothing of B that the actor may not see.
READS: list[tuple[str, str, Call]] = [
    ("list_leads", Action.LEAD_VIEW, lambda s, w: s.list_leads(ACTOR[0])),
    ("list_leads of B", Action.LEAD_VIEW, lambda s, w: s.list_leads(ACTOR[0], partner_id="ptn_b")),
    ("list_fund_requests", Action.FUND_VIEW, lambda s, w: s.list_fund_requests(ACTOR[0])),
    (
        "list_fund_requests of B",
        Action.FUND_VIEW,
        lambda s, w: s.list_fund_requests(ACTOR[0], partner_id="ptn_b", budget_id=_b(w, "budget")),
    ),
    ("list_fund_claims", Action.FUND_VIEW, lambda s, w: s.list_fund_claims(ACTOR[0])),
    (
        "list_fund_claims of B's request",
        Action.FUND_VIEW,
        lambda s, w: s.list_fund_claims(ACTOR[0], request_id=_b(w, "b_freq_approved")),
    ),
    (
        "list_fund_claims of B",
        Action.FUND_VIEW,
        lambda s, w: s.list_fund_claims(ACTOR[0], partner_id="ptn_b"),
    ),
    ("list_statements", Action.INCENTIVE_VIEW, lambda s, w: s.list_statements(ACTOR[0])),
    (
        "list_statements of B",
        Action.INCENTIVE_VIEW,
        lambda s, w: s.list_statements(ACTOR[0], partner_id="ptn_b"),
    ),
    ("list_plans", Action.RELATIONSHIP_VIEW, lambda s, w: s.list_plans(ACTOR[0])),
    (
        "list_plans of B",
        Action.RELATIONSHIP_VIEW,
        lambda s, w: s.list_plans(ACTOR[0], partner_id="ptn_b"),
    ),
    ("list_check_ins", Action.RELATIONSHIP_VIEW, lambda s, w: s.list_check_ins(ACTOR[0])),
    (
        "list_check_ins of B",
        Action.RELATIONSHIP_VIEW,
        lambda s, w: s.list_check_ins(ACTOR[0], partner_id="ptn_b"),
    ),
    (
        "list_certifications",
        Action.RELATIONSHIP_VIEW,
        lambda s, w: s.list_certifications(ACTOR[0]),
    ),
    (
        "list_certifications of B",
        Action.RELATIONSHIP_VIEW,
        lambda s, w: s.list_certifications(ACTOR[0], partner_id="ptn_b"),
    ),
    (
        "forecast_pipeline",
        Action.DEAL_VIEW,
        lambda s, w: s.forecast_pipeline(ACTOR[0], draws=50),
    ),
    (
        "forecast_pipeline of B",
        Action.DEAL_VIEW,
        lambda s, w: s.forecast_pipeline(ACTOR[0], partner_id="ptn_b", draws=50),
    ),
    ("attribute_won_deals", Action.DEAL_VIEW, lambda s, w: s.attribute_won_deals(ACTOR[0])),
    (
        "attribute_won_deals of B",
        Action.DEAL_VIEW,
        lambda s, w: s.attribute_won_deals(ACTOR[0], partner_id="ptn_b"),
    ),
]


# Channel-wide calls: they name no partner, and an actor without a rule of scope
# ``any`` for them is refused before anything is read.
CHANNEL: list[tuple[str, str, Call]] = [
    ("receive_lead", Action.LEAD_ROUTE, lambda s, w: s.receive_lead(ACTOR[0], intake("Lark"))),
    ("route_leads", Action.LEAD_ROUTE, lambda s, w: s.route_leads(ACTOR[0], ONLY_B)),
    ("sweep_leads", Action.LEAD_ROUTE, lambda s, w: s.sweep_leads(ACTOR[0], ONLY_B)),
    (
        "lead_fairness",
        Action.LEAD_ROUTE,
        lambda s, w: s.lead_fairness(ACTOR[0], ONLY_B, since=JAN, until=NOW),
    ),
    ("get_budget", Action.FUND_VIEW, lambda s, w: s.get_budget(ACTOR[0], _b(w, "budget"))),
    ("accrue_funds", Action.FUND_CONFIGURE, lambda s, w: s.accrue_funds(ACTOR[0], _b(w, "budget"))),
    ("sweep_funds", Action.FUND_SWEEP, lambda s, w: s.sweep_funds(ACTOR[0], _b(w, "budget"))),
    (
        "compute_statements",
        Action.INCENTIVE_COMPUTE,
        lambda s, w: s.compute_statements(ACTOR[0], INCENTIVES.id, JAN),
    ),
    (
        "overdue_check_ins",
        Action.RELATIONSHIP_VIEW,
        lambda s, w: s.overdue_check_ins(ACTOR[0], CheckInPolicy(Cadence("FREQ=MONTHLY"))),
    ),
    (
        "run_journey",
        Action.JOURNEY_RUN,
        lambda s, w: s.run_journey(ACTOR[0], JOURNEY, since=JAN),
    ),
    ("nps_report", Action.SATISFACTION_VIEW, lambda s, w: s.nps_report(ACTOR[0])),
]


def named(call: Call, world: World) -> set[str]:
    """The ids of B a call names itself, by the record keys and ids in its code."""
    code = call.__code__
    consts = {value for value in code.co_consts if isinstance(value, str)}
    found = named_in(call, world) | {world.records[k] for k in consts if k in world.records}
    found &= world.b_ids
    # An id may be made of others (a statement's holds its partner's): those are named too.
    return found | {word for key in found for word in re.findall(r"[A-Za-z0-9_.-]+", key)}


# What a missing record of each kind says, asked of a service by one who sees everything.
PROBES: dict[str, Callable[[Services, World], object]] = {
    "partner": lambda s, w: s.get_partner(ADMIN, "ptn_missing"),
    "lead": lambda s, w: s.get_lead(ADMIN, "lead_missing"),
    "fund budget": lambda s, w: s.get_budget(ADMIN, "mdf_missing"),
    "fund request": lambda s, w: s.get_fund_request(ADMIN, "freq_missing"),
    "fund claim": lambda s, w: s.get_fund_claim(ADMIN, "fclaim_missing"),
    "incentive statement": lambda s, w: s.get_statement(ADMIN, "stm_missing"),
    "business plan": lambda s, w: s.get_plan(ADMIN, "jbp_missing"),
    "check-in": lambda s, w: s.get_check_in(ADMIN, "chk_missing"),
    "certification": lambda s, w: s.issue_certification(
        ADMIN, "crt_missing", issued_on=date(2026, 2, 1), expires_on=date(2027, 2, 1)
    ),
}


def assert_reads_as_missing(
    services: Services, world: World, error: Exception, where: object
) -> None:
    """``error`` is the `NotFoundError` a missing record of its kind gives, word for word."""
    assert isinstance(error, NotFoundError), (where, render(error))
    assert error.kind in PROBES, (where, render(error))
    with pytest.raises(NotFoundError) as missing:
        PROBES[error.kind](services, world)
    probe = missing.value
    assert str(error).replace(error.key, "?") == str(probe).replace(probe.key, "?"), where


def refused_for_the_role(services: Services, actor: Actor, action: str, error: Exception) -> bool:
    """Whether ``error`` refuses an action no rule grants the actor anywhere.

    Such a refusal comes before any record is read, in the same words whatever the
    call names, so it tells nothing about B (routing leads is the vendor's work).
    """
    return isinstance(error, PermissionDeniedError) and not services.policy.scopes(actor, action)


@pytest.mark.parametrize("who", list(OUTSIDERS))
def test_outsiders_are_allowed_only_what_the_policy_allows_and_learn_nothing(
    world: World, who: str
) -> None:
    actor = OUTSIDERS[who]
    services = world.services
    before, announced = snapshot_newer(world), len(outbox(world))
    with services.storage.unit_of_work() as uow:
        b = uow.partners.get("ptn_b")
    changed_by_policy = False
    for name, action, view, call in CALLS:
        ACTOR[0] = actor
        allowed = services.policy.allows(actor, action, b)
        sees = services.policy.allows(actor, view, b)
        try:
            outcome: object = call(services, world)
        except PartnerkitError as error:
            outcome = error
            if (
                not sees
                and not allowed
                and not refused_for_the_role(services, actor, action, error)
            ):
                assert_reads_as_missing(services, world, error, (who, name))
        else:
            assert allowed, f"{who} was permitted {name}, which the policy denies"
            changed_by_policy = True
        if not sees:
            assert leaks(render(outcome), world, named(call, world)) == set(), (who, name)
    if not changed_by_policy:
        assert snapshot_newer(world) == before
        assert len(outbox(world)) == announced


@pytest.mark.parametrize("who", list(OUTSIDERS))
def test_reads_in_the_actors_scope_hold_nothing_of_b(world: World, who: str) -> None:
    actor = OUTSIDERS[who]
    services = world.services
    with services.storage.unit_of_work() as uow:
        b = uow.partners.get("ptn_b")
    for name, view, call in READS:
        ACTOR[0] = actor
        if services.policy.allows(actor, view, b):
            continue  # sees B: its lists may hold B's records
        try:
            outcome: object = call(services, world)
        except PartnerkitError as error:
            # Naming a partner one may not see reads as naming one that is not there.
            assert_reads_as_missing(services, world, error, (who, name))
            outcome = error
        said = leaks(render(outcome), world, named(call, world))
        assert said == set(), (who, name, render(outcome))


def test_a_partner_user_lists_only_its_own_records(world: World) -> None:
    services = world.services
    assert {lead.partner_id for lead in services.list_leads(USER_A).items} <= {"ptn_a"}
    assert services.list_fund_requests(USER_A).items == ()
    assert services.list_fund_claims(USER_A).items == ()
    assert [s.partner_id for s in services.list_statements(USER_A).items] == ["ptn_a"]
    assert services.list_plans(USER_A).items == ()
    assert services.list_check_ins(USER_A).items == ()
    assert services.list_certifications(USER_A).items == ()
    # B's own user sees what the world built for it, so the lists above could fail.
    assert len(services.list_leads(USER_B).items) == 3
    assert len(services.list_fund_requests(USER_B).items) == 2
    assert len(services.list_fund_claims(USER_B).items) == 2
    assert [s.partner_id for s in services.list_statements(USER_B).items] == ["ptn_b"]
    assert [p.id for p in services.list_plans(USER_B).items] == [world.records["b_plan"]]


def test_a_partner_users_forecast_and_attribution_say_nothing_of_b(world: World) -> None:
    services = world.services
    forecast = services.forecast_pipeline(USER_A, draws=50)
    assert leaks(repr(forecast), world, set()) == set()
    assert "ptn_b" not in repr(forecast)
    a_won = world.deals["a_approved"]
    touch = Touch("ptn_b", TouchKind.INFLUENCE, NOW)
    report = services.attribute_won_deals(USER_A, touches={a_won: [touch]})
    assert [item.deal_id for item in report.deals] == [a_won]
    # B helped on A's deal: its share shows, but not its name, even though the host named it.
    assert "ptn_b" not in repr(report)
    assert any(c.partner_id is None for c in report.deals[0].credits)
    whole = services.attribute_won_deals(ADMIN, touches={a_won: [touch]})
    assert "ptn_b" in repr(whole)
    assert services.get_deal(ADMIN, world.deals["b_approved"]).status is DealStatus.WON


def test_a_store_whose_policy_grants_nothing_refuses_everything(world: World) -> None:
    locked = Services(world.services.storage, clock=world.services.clock, policy=AccessPolicy(()))
    before, announced = snapshot_newer(world), len(outbox(world))
    for name, _action, _view, call in CALLS:
        ACTOR[0] = NO_ROLES
        with pytest.raises(PartnerkitError) as refused:
            call(locked, world)
        assert leaks(render(refused.value), world, named(call, world)) == set(), name
    for name, _action, call in CHANNEL:
        ACTOR[0] = NO_ROLES
        with pytest.raises(PartnerkitError) as refused:
            call(locked, world)
        assert leaks(render(refused.value), world, set()) == set(), name
    for name, _view, call in READS:
        ACTOR[0] = NO_ROLES
        try:
            outcome: object = call(locked, world)
        except PartnerkitError as error:
            outcome = error
        assert leaks(render(outcome), world, named(call, world)) == set(), name
    assert snapshot_newer(world) == before
    assert len(outbox(world)) == announced


def test_the_tables_calls_reach_bs_records(world: World) -> None:
    """Asked by B's own side, no call is refused as missing: the refusals above are earned."""
    insiders = (USER_B, MANAGER_B, FINANCE, ADMIN)
    for name, action, _view, call in CALLS:
        with world.services.storage.unit_of_work() as uow:
            b = uow.partners.get("ptn_b")
        actor = next(a for a in insiders if world.services.policy.allows(a, action, b))
        ACTOR[0] = actor
        outcome: object
        try:
            outcome = call(world.services, world)
        except PartnerkitError as error:
            outcome = error
        # Moves may find B's record in the wrong state, or its item missing; never
        # B's record itself missing, nor the actor refused.
        assert not isinstance(outcome, PermissionDeniedError), (name, render(outcome))
        if isinstance(outcome, NotFoundError):
            assert outcome.key not in world.b_ids, (name, render(outcome))


def test_what_b_does_moves_nothing_an_outsider_reads(world: World) -> None:
    """A's lists, forecast and attribution read the same before and after B's work."""
    services = world.services

    def reads() -> dict[tuple[str, str], str]:
        seen = {}
        for who in ("partner user of A", "user of an unknown partner"):
            for name, _view, call in READS:
                ACTOR[0] = OUTSIDERS[who]
                try:
                    seen[who, name] = repr(call(services, world))
                except PartnerkitError as error:
                    seen[who, name] = render(error)
        return seen

    before = reads()
    services.approve_deal(MANAGER_B, world.deals["b_submitted"])
    services.close_deal(MANAGER_B, world.deals["b_submitted"], won=False, reason="lost")
    services.submit_deal(USER_B, draft("Kelp Oy", "kelp.fi"))
    budget = world.records["budget"]
    services.submit_fund_request(USER_B, budget, activity="Meetup", amount=usd("100.00"))
    services.decline_lead(USER_B, world.records["b_lead_offered"], reason="busy")
    services.approve_statement(MANAGER_B, world.records["b_statement"])
    services.agree_plan(USER_B, world.records["b_plan"])
    services.record_check_in(MANAGER_B, "ptn_b", held_at=NOW, attendees=("usr_mb",))
    services.answer_survey(USER_B, survey="nps", score=9)
    assert reads() == before


@pytest.mark.parametrize("who", ["partner user of A", "user of an unknown partner"])
def test_channel_wide_calls_refuse_partner_users_before_reading_anything(
    world: World, who: str
) -> None:
    actor = OUTSIDERS[who]
    services = world.services
    before, announced = snapshot_newer(world), len(outbox(world))
    for name, action, call in CHANNEL:
        assert Scope.ANY not in services.policy.scopes(actor, action), name
        ACTOR[0] = actor
        with pytest.raises(PartnerkitError) as refused:
            call(services, world)
        # The budget is the vendor's, not B's: not seeing it reads as its absence.
        expected = NotFoundError if name == "get_budget" else PermissionDeniedError
        assert isinstance(refused.value, expected), (name, render(refused.value))
        assert leaks(render(refused.value), world, set()) == set(), name
    assert snapshot_newer(world) == before
    assert len(outbox(world)) == announced
