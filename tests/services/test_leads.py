"""Lead services on every shipped adapter: routing, answers, SLA sweeps, access, conversion."""

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from partnerkit import (
    FixedClock,
    Money,
    NotFoundError,
    Partner,
    PartnerStatus,
    PermissionDeniedError,
)
from partnerkit.access import Actor, Role
from partnerkit.deals import Customer
from partnerkit.errors import InvalidTransitionError
from partnerkit.leads import ExclusionReason, LeadContact, LeadCustomer, LeadStatus, RoutingPolicy
from partnerkit.services import DealDraft, LeadIntake, Services
from partnerkit.storage import Storage
from partnerkit.storage.memory import MemoryStorage
from partnerkit.storage.sqlite import SqliteStorage
from partnerkit.tiers import Membership, program_from_toml

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)
MANAGER = Actor("usr_maria", Role.CHANNEL_MANAGER)
ALICE = Actor("usr_alice", Role.PARTNER_USER, partner_id="ptn_a")
BOB = Actor("usr_bob", Role.PARTNER_USER, partner_id="ptn_b")
POLICY = RoutingPolicy("inbound", default_weight=1, max_offers=2)
CONTACT = LeadContact("Anna Virtanen", "anna@acme.fi", "+358 40 123")


@pytest.fixture(params=["memory", "sqlite", "sql"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    """Each shipped adapter; ``sql`` is `SqlStorage` on SQLite through SQLAlchemy."""
    store: Storage
    engine = None
    if request.param == "memory":
        store = MemoryStorage()
    elif request.param == "sqlite":
        store = SqliteStorage(tmp_path / "leads.db")
    else:
        sa = pytest.importorskip("sqlalchemy")
        from partnerkit.storage.sql import SqlStorage  # noqa: PLC0415 - an optional extra

        engine = sa.create_engine(f"sqlite:///{tmp_path / 'leads-sql.db'}")
        store = SqlStorage(engine)
    yield store
    store.close()
    if engine is not None:
        engine.dispose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def services(storage: Storage, clock: FixedClock) -> Services:
    with storage.unit_of_work() as uow:
        for partner_id in ("ptn_a", "ptn_b"):
            uow.partners.add(
                Partner(
                    partner_id,
                    f"Partner {partner_id}",
                    "reseller",
                    "FI",
                    NOW,
                    status=PartnerStatus.ACTIVE,
                    owner_id="usr_maria",
                )
            )
        uow.commit()
    return Services(storage, clock=clock)


def receive(services: Services) -> str:
    intake = LeadIntake(LeadCustomer("Acme Oy", "FI", contact=CONTACT), "web form")
    return services.receive_lead(MANAGER, intake).value.id


def offered(services: Services, policy: RoutingPolicy = POLICY) -> tuple[str, Actor, Actor]:
    """A lead offered to one of the two partners: its id, its holder's user, the other's."""
    lead_id = receive(services)
    (lead,) = services.route_leads(MANAGER, policy).value
    holder, other = (ALICE, BOB) if lead.partner_id == "ptn_a" else (BOB, ALICE)
    return lead_id, holder, other


def test_routing_offers_a_lead_and_explains_it(services: Services) -> None:
    lead_id = receive(services)
    result = services.route_leads(MANAGER, POLICY)
    (lead,) = result.value
    assert (lead.id, lead.status) == (lead_id, LeadStatus.OFFERED)
    assert [e.kind for e in result.events] == ["lead.offered"]
    explanation = lead.offers[0].explanation
    assert {c.partner_id for c in explanation.candidates} == {"ptn_a", "ptn_b"}
    assert explanation.replay() == lead.partner_id


def test_a_partner_sees_the_contact_only_after_accepting(services: Services) -> None:
    lead_id, holder, _ = offered(services)
    assert services.get_lead(holder, lead_id).customer.contact is None
    assert services.get_lead(MANAGER, lead_id).customer.contact == CONTACT
    accepted = services.accept_lead(holder, lead_id)
    assert accepted.value.customer.contact == CONTACT
    assert services.get_lead(holder, lead_id).customer.contact == CONTACT


def test_another_partner_learns_nothing_of_the_lead(services: Services) -> None:
    lead_id, _, other = offered(services)
    with pytest.raises(NotFoundError):
        services.get_lead(other, lead_id)
    with pytest.raises(NotFoundError):
        services.accept_lead(other, lead_id)
    assert services.list_leads(other).items == ()
    with pytest.raises(NotFoundError):
        services.get_lead(other, "lead_does_not_exist")


def test_a_partner_sees_only_its_own_line_of_the_explanation(services: Services) -> None:
    lead_id, holder, other = offered(services)
    services.decline_lead(holder, lead_id, reason="no capacity")
    (lead,) = services.route_leads(MANAGER, POLICY).value
    assert lead.partner_id == other.partner_id
    shown = services.get_lead(other, lead_id)
    assert [o.partner_id for o in shown.offers] == [other.partner_id]
    explanation = shown.offers[0].explanation
    assert [c.partner_id for c in explanation.candidates] == [other.partner_id]
    assert explanation.excluded == ()
    assert all(step.partner_id == other.partner_id for step in shown.history)
    # The lead comes to the other partner as new: nothing says someone declined it.
    assert [(s.from_status, s.to_status) for s in shown.history] == [
        (LeadStatus.NEW, LeadStatus.OFFERED)
    ]
    full = services.get_lead(MANAGER, lead_id).history
    assert (full[-1].from_status, full[-1].to_status) == (LeadStatus.DECLINED, LeadStatus.OFFERED)
    # Nor does the version count the other partner's moves.
    assert shown.version == 2
    assert services.get_lead(MANAGER, lead_id).version > shown.version
    accepted = services.accept_lead(other, lead_id).value
    assert accepted.version == 3
    assert [(s.from_status, s.to_status) for s in accepted.history] == [
        (LeadStatus.NEW, LeadStatus.OFFERED),
        (LeadStatus.OFFERED, LeadStatus.ACCEPTED),
    ]
    manager_view = services.get_lead(MANAGER, lead_id).offers[1].explanation
    assert (holder.partner_id, ExclusionReason.DECLINED_BEFORE) in [
        (e.partner_id, e.reason) for e in manager_view.excluded
    ]


def test_partner_users_may_not_route(services: Services) -> None:
    receive(services)
    with pytest.raises(PermissionDeniedError):
        services.route_leads(ALICE, POLICY)


def test_the_sweep_lapses_reoffers_then_returns_to_the_vendor(
    services: Services, clock: FixedClock
) -> None:
    lead_id, holder, other = offered(services)
    clock.advance(timedelta(hours=25))
    result = services.sweep_leads(MANAGER, POLICY)
    assert [e.kind for e in result.events] == ["lead.lapsed", "lead.offered"]
    assert services.get_lead(MANAGER, lead_id).partner_id == other.partner_id
    assert services.sweep_leads(MANAGER, POLICY).value == ()
    clock.advance(timedelta(hours=25))
    result = services.sweep_leads(MANAGER, POLICY)
    assert [e.kind for e in result.events] == ["lead.lapsed", "lead.returned"]
    lead = services.get_lead(MANAGER, lead_id)
    assert lead.status is LeadStatus.RETURNED
    assert [(s.to_status, s.actor) for s in lead.history][-2:] == [
        (LeadStatus.LAPSED, "usr_maria"),
        (LeadStatus.RETURNED, "usr_maria"),
    ]
    assert holder.partner_id != other.partner_id


def test_daily_caps_count_offers_already_stored(services: Services) -> None:
    capped = RoutingPolicy("inbound", default_weight=1, daily_cap=1)
    for _ in range(3):
        receive(services)
    routed = services.route_leads(MANAGER, capped).value
    assert sorted(lead.status for lead in routed) == [
        LeadStatus.OFFERED,
        LeadStatus.OFFERED,
        LeadStatus.RETURNED,
    ]
    returned = next(lead for lead in routed if lead.status is LeadStatus.RETURNED)
    assert "2 daily_cap" in returned.history[-1].reason
    receive(services)
    (late,) = services.route_leads(MANAGER, capped).value
    assert late.status is LeadStatus.RETURNED


def test_tier_lead_weight_zero_gets_no_leads(storage: Storage, services: Services) -> None:
    program = program_from_toml(
        """
        id = "prg_1"
        name = "Partner program"
        currency = "EUR"
        review = "FREQ=MONTHLY"
        [[tiers]]
        id = "registered"
        name = "Registered"
        rank = 1
        benefits = { lead_weight = 0 }
        [[tiers]]
        id = "gold"
        name = "Gold"
        rank = 2
        benefits = { lead_weight = 5 }
        """
    )
    with storage.unit_of_work() as uow:
        uow.programs.add(program)
        for partner_id, tier in (("ptn_a", "registered"), ("ptn_b", "gold")):
            uow.memberships.add(Membership(partner_id, "prg_1", NOW.date(), tier_id=tier))
        uow.commit()
    receive(services)
    (lead,) = services.route_leads(MANAGER, RoutingPolicy("tiers", program_id="prg_1")).value
    assert lead.partner_id == "ptn_b"
    excluded = lead.offers[0].explanation.excluded
    assert [(e.partner_id, e.reason) for e in excluded] == [("ptn_a", ExclusionReason.NO_WEIGHT)]


def test_a_deal_converted_from_a_lead_carries_it(services: Services) -> None:
    lead_id, holder, _ = offered(services)
    services.accept_lead(holder, lead_id)
    draft = DealDraft(
        Customer("Acme Oy", "FI"),
        Money("20000", "EUR"),
        date(2026, 6, 30),
        products=("storage",),
        lead_id=lead_id,
    )
    result = services.submit_deal(holder, draft)
    assert result.value.lead_id == lead_id
    lead = services.get_lead(holder, lead_id)
    assert (lead.status, lead.deal_id) == (LeadStatus.CONVERTED, result.value.id)
    kinds = [record.event.kind for record in services.storage.pending_events()]
    assert kinds[-2:] == ["lead.converted", "deal.submitted"]  # committed together
    assert services.get_deal(holder, result.value.id).lead_id == lead_id


def test_a_lead_not_accepted_by_the_partner_cannot_become_its_deal(services: Services) -> None:
    lead_id, holder, other = offered(services)
    draft = DealDraft(
        Customer("Acme Oy", "FI"),
        Money("1", "EUR"),
        date(2026, 6, 30),
        products=("x",),
        lead_id=lead_id,
    )
    with pytest.raises(NotFoundError):
        services.submit_deal(other, draft)
    with pytest.raises(InvalidTransitionError):
        services.submit_deal(holder, draft)  # offered, not yet accepted
    assert services.get_lead(MANAGER, lead_id).status is LeadStatus.OFFERED
    assert services.list_deals(MANAGER).items == ()


def test_fairness_reports_offers_against_weight_shares(services: Services) -> None:
    for _ in range(4):
        receive(services)
    services.route_leads(MANAGER, POLICY)
    report = services.lead_fairness(MANAGER, POLICY, since=NOW, until=NOW + timedelta(days=1))
    assert report.offered == 4
    assert {row.partner_id: row.weight for row in report.rows} == {"ptn_a": 1, "ptn_b": 1}
    assert sum(row.offered for row in report.rows) == 4
