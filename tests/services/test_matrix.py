"""Actor x action x target over both adapters: nothing the policy denies, nothing leaked.

Every actor who is not partner B's (partner A's user, a user of a partner that
does not exist, managers who do not own B, a store whose policy grants nothing)
tries every service call against B's partners, deals, scores, memberships and
overrides. A call that succeeds must be one the policy allows; a refusal to an
actor who may not see B is the same `NotFoundError` a missing record gives; and
nothing returned, announced or said names B's records beyond what the caller
itself named. Stored records of B never change unless the policy allowed it.
"""

import re
import warnings
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import attrs
import pytest

from partnerkit import Activity, Money, NotFoundError, PartnerkitError, Period
from partnerkit.access import AccessPolicy, Action, Actor, Role
from partnerkit.services import (
    DealChanges,
    OverrideRequest,
    PartnerChanges,
    Services,
)

from .world import (
    IDLE_MANAGER,
    MANAGER_A,
    MODEL,
    NOW,
    STRANGER,
    USER_A,
    World,
    build,
    draft,
    snapshot_of_b,
    storages,
)

NO_ROLES = Actor("usr_norole", Role.PARTNER_USER, partner_id="ptn_a")
OUTSIDERS = {
    "partner user of A": USER_A,
    "user of an unknown partner": STRANGER,
    "manager of A": MANAGER_A,
    "manager owning nothing": IDLE_MANAGER,
}

Call = Callable[[Services, World], object]


def b_deal(key: str) -> Callable[[World], str]:
    return lambda world: world.deals[key]


# (name, action checked, target partner, the call, ids the caller names itself)
CALLS: list[tuple[str, str, str, Call]] = [
    ("get_partner", Action.PARTNER_VIEW, "ptn_b", lambda s, w: s.get_partner(ACTOR[0], "ptn_b")),
    (
        "update_partner",
        Action.PARTNER_UPDATE,
        "ptn_b",
        lambda s, w: s.update_partner(ACTOR[0], "ptn_b", PartnerChanges(domains=("evil.example",))),
    ),
    (
        "reassign_partner",
        Action.PARTNER_REASSIGN,
        "ptn_b",
        lambda s, w: s.update_partner(ACTOR[0], "ptn_b", PartnerChanges(owner_id="usr_thief")),
    ),
    (
        "suspend_partner",
        Action.PARTNER_SUSPEND,
        "ptn_b",
        lambda s, w: s.suspend_partner(ACTOR[0], "ptn_b", reason="hostile"),
    ),
    (
        "record_activities",
        Action.ACTIVITY_RECORD,
        "ptn_b",
        lambda s, w: s.record_activities(
            ACTOR[0], [Activity("fake", "ptn_b", "revenue_booked", NOW, Money("1", "EUR"))]
        ),
    ),
    (
        "list_activities",
        Action.PARTNER_VIEW,
        "ptn_b",
        lambda s, w: s.list_activities(ACTOR[0], "ptn_b"),
    ),
    (
        "get_deal approved",
        Action.DEAL_VIEW,
        "ptn_b",
        lambda s, w: s.get_deal(ACTOR[0], w.deals["b_approved"]),
    ),
    (
        "submit_deal for B",
        Action.DEAL_SUBMIT,
        "ptn_b",
        lambda s, w: s.submit_deal(ACTOR[0], draft("Gale Oy", "gale.fi"), partner_id="ptn_b"),
    ),
    (
        "submit B's draft",
        Action.DEAL_SUBMIT,
        "ptn_b",
        lambda s, w: s.submit_deal(ACTOR[0], w.deals["b_draft"]),
    ),
    (
        "amend B's draft",
        Action.DEAL_SUBMIT,
        "ptn_b",
        lambda s, w: s.amend_deal(ACTOR[0], w.deals["b_draft"], DealChanges(notes="mine now")),
    ),
    (
        "withdraw B's submitted",
        Action.DEAL_WITHDRAW,
        "ptn_b",
        lambda s, w: s.withdraw_deal(ACTOR[0], w.deals["b_submitted"]),
    ),
    (
        "approve B's submitted",
        Action.DEAL_DECIDE,
        "ptn_b",
        lambda s, w: s.approve_deal(ACTOR[0], w.deals["b_submitted"]),
    ),
    (
        "close B's approved",
        Action.DEAL_CLOSE,
        "ptn_b",
        lambda s, w: s.close_deal(ACTOR[0], w.deals["b_approved"], won=True),
    ),
    (
        "extend B's approved",
        Action.DEAL_REQUEST_EXTENSION,
        "ptn_b",
        lambda s, w: s.request_deal_extension(ACTOR[0], w.deals["b_approved"], 30, reason="x"),
    ),
    (
        "latest_score",
        Action.HEALTH_VIEW,
        "ptn_b",
        lambda s, w: s.latest_score(ACTOR[0], "ptn_b", model=MODEL.name),
    ),
    (
        "score_history",
        Action.HEALTH_VIEW,
        "ptn_b",
        lambda s, w: s.score_history(ACTOR[0], "ptn_b", model=MODEL.name),
    ),
    (
        "set_health_override",
        Action.HEALTH_OVERRIDE,
        "ptn_b",
        lambda s, w: s.set_health_override(
            ACTOR[0],
            MODEL,
            "ptn_b",
            OverrideRequest("sabotage", NOW + Period.of_days(9), band="critical"),
        ),
    ),
    (
        "clear_health_override",
        Action.HEALTH_OVERRIDE,
        "ptn_b",
        lambda s, w: s.clear_health_override(ACTOR[0], MODEL, "ptn_b"),
    ),
    (
        "list_memberships",
        Action.PARTNER_VIEW,
        "ptn_b",
        lambda s, w: s.list_memberships(ACTOR[0], "ptn_b"),
    ),
    (
        "tier_history",
        Action.PARTNER_VIEW,
        "ptn_b",
        lambda s, w: s.tier_history(ACTOR[0], "prg", "ptn_b"),
    ),
    (
        "pin_tier",
        Action.TIER_PIN,
        "ptn_b",
        lambda s, w: s.pin_tier(
            ACTOR[0], "prg", "ptn_b", "registered", until=date(2026, 9, 1), reason="x"
        ),
    ),
    (
        "leave_program",
        Action.PROGRAM_ENROL,
        "ptn_b",
        lambda s, w: s.leave_program(ACTOR[0], "prg", "ptn_b"),
    ),
    (
        "get child of B",
        Action.PARTNER_VIEW,
        "ptn_b_child",
        lambda s, w: s.get_partner(ACTOR[0], "ptn_b_child"),
    ),
]
# The acting user of the call being made (the calls above read it).
ACTOR: list[Actor] = [USER_A]


def named_in(call: Call, world: World) -> set[str]:
    """The ids of B that a call names itself (its own input may be echoed back)."""
    code = call.__code__
    names = set(code.co_consts) | {"ptn_b"} if "ptn_b" in code.co_consts else set(code.co_consts)
    named = {value for value in names if isinstance(value, str)}
    for key in code.co_consts:
        if isinstance(key, str) and key in world.deals:
            named.add(world.deals[key])
    return named & world.b_ids


def leaks(text: str, world: World, allowed: set[str]) -> set[str]:
    words = set(re.findall(r"[A-Za-z0-9_.-]+", text))
    return (world.b_ids - allowed) & words


def render(value: object) -> str:
    if isinstance(value, BaseException):
        return f"{type(value).__name__}: {value}"
    return repr(value)


@pytest.fixture(params=["memory", "sqlite"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> World:
    storage = dict(storages(tmp_path))[request.param]
    built = build(storage)
    yield built
    built.services.storage.close()


def missing_message(services: Services, actor: Actor, kind: str) -> str:
    try:
        if kind == "deal":
            services.get_deal(ADMIN_PROBE, "deal_missing")
        else:
            services.get_partner(ADMIN_PROBE, "ptn_missing")
    except NotFoundError as error:
        return str(error)
    raise AssertionError("expected the missing record to be missing")


ADMIN_PROBE = Actor("usr_admin", Role.ADMIN)


@pytest.mark.parametrize("who", list(OUTSIDERS))
def test_outsiders_are_allowed_only_what_the_policy_allows_and_learn_nothing(
    world: World, who: str
) -> None:
    actor = OUTSIDERS[who]
    services = world.services
    before = snapshot_of_b(world)
    with services.storage.unit_of_work() as uow:
        partners = {pid: uow.partners.get(pid) for pid in ("ptn_b", "ptn_b_child")}
    changed_by_policy = False
    for name, action, target, call in CALLS:
        ACTOR[0] = actor
        allowed = services.policy.allows(actor, action, partners[target])
        sees = services.policy.allows(actor, Action.PARTNER_VIEW, partners[target])
        named = named_in(call, world)
        try:
            outcome: object = call(services, world)
        except PartnerkitError as error:
            outcome = error
            if not sees and not allowed:
                # Refused as if B were not there, in exactly those words.
                assert isinstance(error, NotFoundError), (who, name, render(error))  # noqa: PT017
                kind = "deal" if error.kind == "deal" else "partner"
                probe = missing_message(services, actor, kind)
                missing = "deal_missing" if kind == "deal" else "ptn_missing"
                same = str(error).replace(error.key, "?") == probe.replace(missing, "?")
                assert same, (who, name)
        else:
            assert allowed, f"{who} was permitted {name}, which the policy denies"
            changed_by_policy = True
        if not sees:
            assert leaks(render(outcome), world, named) == set(), (who, name, render(outcome))
    if not changed_by_policy:
        assert snapshot_of_b(world) == before


@pytest.mark.parametrize("who", ["partner user of A", "user of an unknown partner"])
def test_lists_hold_nothing_of_another_partner(world: World, who: str) -> None:
    actor = OUTSIDERS[who]
    services = world.services
    pages = [
        services.list_partners(actor),
        services.list_partners(actor, parent_id="ptn_b"),
        services.list_partners(actor, owner_id="usr_mb"),
        services.list_deals(actor),
        services.list_deals(actor, partner_id="ptn_b"),
        services.list_deals(actor, expiring_within=365),
    ]
    for page in pages:
        assert leaks(repr(page), world, set()) == set()
    own = {p.id for p in services.list_partners(actor).items}
    assert own == ({"ptn_a"} if actor is USER_A else set())
    deals = {d.partner_id for d in services.list_deals(actor).items}
    assert deals <= {"ptn_a"}


def test_a_store_whose_policy_grants_nothing_refuses_everything(world: World) -> None:
    locked = Services(world.services.storage, clock=world.services.clock, policy=AccessPolicy(()))
    before = snapshot_of_b(world)
    for name, _action, _target, call in CALLS:
        ACTOR[0] = NO_ROLES
        with pytest.raises(PartnerkitError) as refused:
            call(locked, world)
        assert leaks(render(refused.value), world, named_in(call, world)) == set(), name
    assert locked.list_partners(NO_ROLES).items == ()
    assert locked.list_deals(NO_ROLES).items == ()
    assert snapshot_of_b(world) == before


def test_taking_over_an_approved_deal_by_its_id_and_version_stores_a_new_draft(
    world: World,
) -> None:
    services = world.services
    before = snapshot_of_b(world)
    target = services.get_deal(ADMIN_PROBE, world.deals["b_approved"])
    forged = attrs.evolve(
        target,
        partner_id="ptn_a",
        customer=attrs.evolve(target.customer, name="Acme Oy Takeover"),
        history=(),
        decisions=(),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        result = services.submit_deal(USER_A, forged)
    assert result.value.id != target.id
    assert result.value.partner_id == "ptn_a"
    assert result.value.version == 2
    assert snapshot_of_b(world) == before
    assert leaks(repr(result), world, set()) == set()


def test_reviving_an_own_rejected_deal_keeps_its_history(world: World) -> None:
    services = world.services
    rejected = services.get_deal(USER_A, world.deals["a_rejected"])
    revived = attrs.evolve(rejected, status="draft", submitted_at=None, history=(), decisions=())
    with pytest.warns(DeprecationWarning, match="DealDraft"):
        result = services.submit_deal(USER_A, revived)
    assert result.value.id != rejected.id
    assert services.get_deal(USER_A, rejected.id) == rejected
    with pytest.raises(PartnerkitError, match="is 'rejected'; cannot submit"):
        services.submit_deal(USER_A, rejected.id)
    approved = world.deals["a_approved"]
    with pytest.raises(PartnerkitError, match="is 'approved'; cannot submit"):
        services.submit_deal(USER_A, approved)


def test_a_partner_user_is_told_the_customer_is_taken_and_until_when(world: World) -> None:
    services = world.services
    result = services.submit_deal(USER_A, draft("ACME Oy.", "acme.fi"))
    assert [notice.conflict for notice in result.conflicts] == [None]
    (notice,) = result.conflicts
    protected = services.get_deal(ADMIN_PROBE, world.deals["b_approved"]).protection_until
    assert notice.protection_until == protected
    assert notice.message == (
        f"this customer is already registered by another partner and protected until "
        f"{protected.isoformat()}; a channel manager will review your registration"
    )
    found = [e for e in result.events if e.kind == "deal.conflict_found"]
    assert [e.data["reason"] for e in found] == [notice.message]
    assert leaks(repr(result), world, set()) == set()
    # Subscribers (the vendor's side) get the whole conflict from the outbox.
    stored = [r.event for r in services.storage.pending_events(limit=1000)]
    full = [
        e for e in stored if e.kind == "deal.conflict_found" and e.subject_id == result.value.id
    ]
    assert full[0].data["other_partner_id"] == "ptn_b"
    # A manager sees the whole conflict, explained.
    manager_view = services.get_deal(MANAGER_A, result.value.id)
    assert manager_view.status == "submitted"


def test_managers_see_every_conflict(world: World) -> None:
    services = world.services
    result = services.submit_deal(ADMIN_PROBE, draft("ACME Oy.", "acme.fi"), partner_id="ptn_a")
    (notice,) = result.conflicts
    assert notice.conflict is not None
    assert notice.conflict.other_partner_id == "ptn_b"
    assert notice.message == notice.conflict.explain()
    rejected = services.reject_deal(MANAGER_A, result.value.id, reason="B registered first")
    # The decision keeps the conflict the manager weighed; partner A's user reads the
    # reason but not partner B's registration.
    (kept,) = rejected.value.decisions[-1].conflicts
    assert kept.other_partner_id == "ptn_b"
    assert services.get_deal(MANAGER_A, result.value.id).decisions[-1].conflicts == (kept,)
    shown = services.get_deal(USER_A, result.value.id).decisions[-1]
    assert (shown.reason, shown.conflicts) == ("B registered first", ())


def test_partner_users_do_not_see_other_partners_in_their_deals_decisions(world: World) -> None:
    services = world.services
    submitted = services.submit_deal(USER_A, draft("ACME Oy.", "acme.fi")).value
    with services.storage.unit_of_work() as uow:
        stored = uow.deals.get(submitted.id)
    assert stored == attrs.evolve(submitted, updated_at=stored.updated_at)
    # A duplicate by the same partner is rejected with the conflict kept for managers.
    again = services.submit_deal(USER_A, draft("ACME Oy", "acme.fi")).value
    assert again.status == "rejected"
    decided = services.get_deal(ADMIN_PROBE, again.id).decisions[-1].conflicts
    assert {c.other_partner_id for c in decided} == {"ptn_a", "ptn_b"}
    shown = services.get_deal(USER_A, again.id).decisions[-1].conflicts
    assert {c.other_partner_id for c in shown} == {"ptn_a"}


def test_an_override_is_authored_by_the_acting_manager(world: World) -> None:
    services = world.services
    manager_b = Actor("usr_mb", Role.CHANNEL_MANAGER)
    services.clock.advance(Period.of_days(1))  # type: ignore[attr-defined]
    request = OverrideRequest("new sponsor", NOW + Period.of_days(30), band="at_risk")
    score = services.set_health_override(manager_b, MODEL, "ptn_b", request).value
    assert score.override is not None
    assert (score.override.author, score.override.created_at) == ("usr_mb", services.clock.now())


def test_an_old_style_override_is_deprecated_and_its_author_ignored(world: World) -> None:
    from partnerkit.health import Override  # noqa: PLC0415

    services = world.services
    manager_b = Actor("usr_mb", Role.CHANNEL_MANAGER)
    forged = Override(
        "usr_ceo",
        "trust me",
        created_at=datetime(2020, 1, 1, tzinfo=UTC),
        expires_at=NOW + Period.of_days(30),
        band="healthy",
    )
    services.clock.advance(Period.of_days(1))  # type: ignore[attr-defined]
    with pytest.warns(DeprecationWarning, match="OverrideRequest"):
        score = services.set_health_override(manager_b, MODEL, "ptn_b", forged).value
    assert score.override is not None
    assert (score.override.author, score.override.created_at) == ("usr_mb", services.clock.now())
