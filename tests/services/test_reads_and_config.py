from datetime import date
from pathlib import Path

import pytest

from partnerkit import (
    Activity,
    FixedRates,
    Money,
    NotFoundError,
    Period,
    PermissionDeniedError,
    StaleVersionError,
    ValidationError,
)
from partnerkit.access import DEFAULT_POLICY, Action, Role, Rule, Scope
from partnerkit.errors import AlreadyExistsError
from partnerkit.partners import CustomField, CustomFieldSchema, CustomFieldType
from partnerkit.services import DealChanges, PartnerChanges, Services
from partnerkit.tiers import MembershipStatus

from .world import (
    ADMIN,
    MANAGER_A,
    MANAGER_B,
    MODEL,
    NOW,
    PROGRAM,
    USER_A,
    USER_B,
    World,
    build,
    partner,
    storages,
)


@pytest.fixture(params=["memory", "sqlite"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> World:
    built = build(dict(storages(tmp_path))[request.param])
    yield built
    built.services.storage.close()


def test_lists_page_through_what_the_actor_may_see(world: World) -> None:
    services = world.services
    for n in range(5):
        services.register_partner(ADMIN, partner(f"ptn_x{n}", "usr_ma"))
    seen, cursor = [], None
    while True:
        page = services.list_partners(MANAGER_A, owner_id="usr_ma", limit=2, cursor=cursor)
        seen += [p.id for p in page.items]
        assert len(page.items) <= 2
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == ["ptn_a", *(f"ptn_x{n}" for n in range(5))]
    assert [p.id for p in services.list_partners(USER_B).items] == ["ptn_b"]
    assert services.list_partners(USER_B, country="SE").items == ()
    with pytest.raises(ValidationError, match="cursor"):
        services.list_partners(USER_B, cursor="nonsense")


def test_a_distributor_user_sees_its_children_where_the_policy_says(world: World) -> None:
    policy = DEFAULT_POLICY.with_rules(
        Rule(Role.PARTNER_USER, Action.PARTNER_VIEW, Scope.OWN_AND_CHILDREN),
        Rule(Role.PARTNER_USER, Action.DEAL_VIEW, Scope.OWN_AND_CHILDREN),
    )
    services = Services(world.services.storage, clock=world.services.clock, policy=policy)
    ids = [p.id for p in services.list_partners(USER_B, limit=1).items]
    page = services.list_partners(USER_B, limit=1)
    assert page.next_cursor is not None
    rest = services.list_partners(USER_B, limit=5, cursor=page.next_cursor).items
    assert [*ids, *(p.id for p in rest)] == ["ptn_b", "ptn_b_child"]
    assert services.get_partner(USER_B, "ptn_b_child").parent_id == "ptn_b"
    assert [p.id for p in services.list_partners(USER_A).items] == ["ptn_a"]


def test_deal_lists_filter_by_status_partner_and_expiry(world: World) -> None:
    services = world.services
    mine = services.list_deals(USER_B)
    assert {d.partner_id for d in mine.items} == {"ptn_b"}
    assert len(mine.items) == 4
    approved = services.list_deals(USER_B, status="approved")  # type: ignore[arg-type]
    assert [d.id for d in approved.items] == [world.deals["b_approved"]]
    assert services.list_deals(USER_B, partner_id="ptn_a").items == ()
    assert len(services.list_deals(MANAGER_A, partner_id="ptn_a").items) == 2
    expiring = {d.id for d in services.list_deals(MANAGER_A, expiring_within=91).items}
    assert expiring == {world.deals["b_approved"], world.deals["a_approved"]}
    assert services.list_deals(MANAGER_A, expiring_within=30).items == ()
    everything, cursor = [], None
    while True:
        page = services.list_deals(MANAGER_A, limit=3, cursor=cursor)
        everything += [d.id for d in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert sorted(everything) == sorted(world.deals.values())


def test_scores_memberships_history_and_activities_are_read_through_services(
    world: World,
) -> None:
    services = world.services
    latest = services.latest_score(USER_B, "ptn_b", model=MODEL.name)
    assert latest is not None
    assert services.score_history(USER_B, "ptn_b", model=MODEL.name) == [latest]
    assert [m.program_id for m in services.list_memberships(USER_B, "ptn_b")] == ["prg"]
    assert services.tier_history(USER_B, "prg", "ptn_b") == []
    page = services.list_activities(USER_B, "ptn_b", since=NOW - Period.of_days(60))
    assert [a.id for a in page.items] == ["inv-b"]
    assert services.list_activities(USER_B, "ptn_b", until=NOW - Period.of_days(60)).items == ()


def test_partners_change_contacts_domains_and_custom_fields_versioned(world: World) -> None:
    schema = CustomFieldSchema([CustomField("employees", CustomFieldType.INTEGER)])
    services = Services(world.services.storage, clock=world.services.clock, custom_fields=schema)
    current = services.get_partner(USER_B, "ptn_b")
    changed = services.update_partner(
        USER_B,
        "ptn_b",
        PartnerChanges(domains=("bee.fi",), custom_fields={"employees": "250"}),
        version=current.version,
    )
    assert (changed.value.domains, changed.value.custom_fields) == (("bee.fi",), {"employees": 250})
    assert changed.events[0].data["fields"] == "custom_fields,domains"
    with pytest.raises(StaleVersionError):
        services.update_partner(
            USER_B, "ptn_b", PartnerChanges(domains=()), version=current.version
        )
    with pytest.raises(ValidationError, match=r"custom_fields\.vertical"):
        services.update_partner(USER_B, "ptn_b", PartnerChanges(custom_fields={"vertical": "x"}))
    with pytest.raises(PermissionDeniedError, match=r"partner\.reassign"):
        services.update_partner(USER_B, "ptn_b", PartnerChanges(owner_id="usr_ma"))
    moved = services.update_partner(MANAGER_B, "ptn_b", PartnerChanges(owner_id="usr_ma"))
    assert moved.value.owner_id == "usr_ma"
    assert services.update_partner(USER_B, "ptn_b", PartnerChanges()).events == ()


def test_drafts_are_changed_then_submitted_by_their_partner(world: World) -> None:
    services = world.services
    deal_id = world.deals["b_draft"]
    amended = services.amend_deal(USER_B, deal_id, DealChanges(amount=Money("9000", "EUR")))
    assert amended.value.amount == Money("9000", "EUR")
    assert [e.kind for e in amended.events] == ["deal.amended"]
    submitted = services.submit_deal(USER_B, deal_id)
    assert submitted.value.status == "submitted"
    assert submitted.value.registered_at == amended.value.registered_at


def test_closing_a_deal_as_won_records_the_deal_won_activity_once(world: World) -> None:
    services = world.services
    deal_id = world.deals["b_approved"]
    services.close_deal(USER_B, deal_id, won=True)
    page = services.list_activities(USER_B, "ptn_b", kinds=["deal_won"])
    assert [(a.id, a.value) for a in page.items] == [(f"{deal_id}.won", Money("50000", "EUR"))]
    with pytest.raises(Exception, match="is 'won'"):
        services.close_deal(USER_B, deal_id, won=True)
    assert len(services.list_activities(USER_B, "ptn_b", kinds=["deal_won"]).items) == 1


def test_programs_are_created_versioned_and_retired(world: World) -> None:
    import attrs  # noqa: PLC0415

    services = world.services
    with pytest.raises(PermissionDeniedError):
        services.create_program(MANAGER_A, attrs.evolve(PROGRAM, id="prg2"))
    created = services.create_program(ADMIN, attrs.evolve(PROGRAM, id="prg2"))
    assert created.value.version == 1
    renamed = services.update_program(
        ADMIN, attrs.evolve(PROGRAM, id="prg2", name="New"), version=1
    )
    assert (renamed.value.version, renamed.value.program.name) == (2, "New")
    with pytest.raises(StaleVersionError):
        services.update_program(ADMIN, attrs.evolve(PROGRAM, id="prg2", name="Old"), version=1)
    services.enrol(MANAGER_A, "prg2", "ptn_a")
    with pytest.raises(AlreadyExistsError):
        services.enrol(MANAGER_A, "prg2", "ptn_a")
    with pytest.raises(NotFoundError):
        services.enrol(ADMIN, "prg2", "ptn_ghost")
    left = services.leave_program(MANAGER_A, "prg2", "ptn_a", reason="moved")
    assert left.value.status is MembershipStatus.ENDED
    assert services.leave_program(MANAGER_A, "prg2", "ptn_a").events == ()
    again = services.enrol(MANAGER_A, "prg2", "ptn_a", joined_on=date(2026, 4, 1))
    assert (again.value.status, again.value.joined_on) == (
        MembershipStatus.ACTIVE,
        date(2026, 4, 1),
    )
    retired = services.retire_program(ADMIN, "prg2", reason="replaced")
    assert [m.status for m in retired.value] == [MembershipStatus.ENDED]
    assert [e.kind for e in retired.events] == ["program.retired", "membership.ended"]
    with services.storage.unit_of_work() as uow:
        assert uow.programs.get("prg2").retired_at == services.clock.now()
    with pytest.raises(ValidationError, match="retired"):
        services.enrol(ADMIN, "prg2", "ptn_b")
    with pytest.raises(ValidationError, match="retired"):
        services.retire_program(ADMIN, "prg2", reason="again")
    with pytest.raises(ValidationError, match=r"was retired at .* cannot be changed"):
        services.update_program(ADMIN, attrs.evolve(PROGRAM, id="prg2", name="Back"), version=3)
    with services.storage.unit_of_work() as uow:
        assert uow.programs.get("prg2").program.name == "New"


def test_a_partner_in_another_currency_is_named_not_fatal(world: World) -> None:
    services = world.services
    services.record_activities(
        ADMIN, [Activity("inv-usd", "ptn_a", "revenue_booked", NOW, Money("100", "USD"))]
    )
    from partnerkit import MetricDefinition  # noqa: PLC0415
    from partnerkit.metrics import Aggregate  # noqa: PLC0415

    in_eur = [
        MetricDefinition("revenue_12m", Aggregate.SUM, kinds=("revenue_booked",), currency="EUR")
    ]
    services.clock.advance(Period.of_days(1))  # type: ignore[attr-defined]
    result = services.score_partners(ADMIN, MODEL, in_eur)
    assert [s.partner_id for s in result.skipped] == ["ptn_a"]
    assert "USD" in result.skipped[0].reason
    assert {score.partner_id for score in result.value} == {"ptn_b", "ptn_b_child"}
    services.clock.advance(Period.of_days(1))  # type: ignore[attr-defined]
    converted = services.score_partners(
        ADMIN, MODEL, in_eur, rates=FixedRates({("EUR", "USD"): "1.25"})
    )
    assert converted.skipped == ()
    score = converted.value["ptn_a"]
    assert score.partner_id == "ptn_a"
