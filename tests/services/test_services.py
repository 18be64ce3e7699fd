import threading
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, NoReturn

import pytest

from partnerkit import (
    Activity,
    FixedClock,
    Money,
    NotFoundError,
    OnboardingPlan,
    OnboardingStepTemplate,
    Partner,
    PartnerStatus,
    Period,
    PermissionDeniedError,
    ValidationError,
)
from partnerkit.access import Actor, Role
from partnerkit.deals import Customer
from partnerkit.services import DealDraft, OverrideRequest, Services
from partnerkit.storage.memory import MemoryStorage

if TYPE_CHECKING:
    from partnerkit.events import EventRecord

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)
ADMIN = Actor("usr_admin", Role.ADMIN)
MANAGER = Actor("usr_maria", Role.CHANNEL_MANAGER)
OTHER_MANAGER = Actor("usr_jonas", Role.CHANNEL_MANAGER)
PARTNER_USER = Actor("usr_aino", Role.PARTNER_USER, partner_id="ptn_1")
PLAN = OnboardingPlan(
    "standard", (OnboardingStepTemplate("sign", "Sign the agreement", Period.of_days(14)),)
)


def new_partner(partner_id: str = "ptn_1", **changes: object) -> Partner:
    fields: dict[str, object] = {
        "id": partner_id,
        "name": f"Partner {partner_id}",
        "type": "reseller",
        "country": "FI",
        "created_at": NOW,
        "owner_id": "usr_maria",
    }
    fields.update(changes)
    return Partner(**fields)


@pytest.fixture
def services() -> Services:
    return Services(MemoryStorage(), clock=FixedClock(NOW))


def test_a_partner_goes_from_prospect_to_active_with_events_delivered(
    services: Services,
) -> None:
    seen: list[EventRecord] = []
    services.bus.subscribe(seen.append, name="audit")
    services.register_partner(MANAGER, new_partner())
    services.start_onboarding(MANAGER, "ptn_1", PLAN)
    services.complete_onboarding_step(PARTNER_USER, "ptn_1", "sign")
    result = services.activate_partner(MANAGER, "ptn_1")
    assert result.value.status is PartnerStatus.ACTIVE
    assert result.value.version == 4
    assert [record.event.kind for record in seen] == [
        "partner.registered",
        "partner.status_changed",
        "partner.onboarding_step_completed",
        "partner.status_changed",
    ]
    assert services.storage.pending_events() == []


def test_a_refused_call_changes_nothing_and_announces_nothing(services: Services) -> None:
    services.register_partner(MANAGER, new_partner())
    before = services.get_partner(ADMIN, "ptn_1")
    announced = services.storage.pending_events()
    with pytest.raises(PermissionDeniedError, match=r"usr_jonas may not partner\.suspend"):
        services.suspend_partner(OTHER_MANAGER, "ptn_1", reason="no")
    with pytest.raises(PermissionDeniedError):
        services.activate_partner(PARTNER_USER, "ptn_1")
    assert services.get_partner(ADMIN, "ptn_1") == before
    assert services.storage.pending_events() == announced


def test_partner_users_see_only_their_own_partner(services: Services) -> None:
    services.register_partner(MANAGER, new_partner())
    services.register_partner(MANAGER, new_partner("ptn_2"))
    assert services.get_partner(PARTNER_USER, "ptn_1").id == "ptn_1"
    with pytest.raises(NotFoundError) as foreign:
        services.get_partner(PARTNER_USER, "ptn_2")
    with pytest.raises(NotFoundError) as missing:
        services.get_partner(PARTNER_USER, "ptn_9")
    assert str(foreign.value).replace("ptn_2", "X") == str(missing.value).replace("ptn_9", "X")


def test_recording_activities_checks_every_partner_first(services: Services) -> None:
    services.register_partner(MANAGER, new_partner())
    services.register_partner(MANAGER, new_partner("ptn_2"))
    own = Activity("a1", "ptn_1", "revenue_booked", NOW, Money("10", "EUR"))
    foreign = Activity("a2", "ptn_2", "revenue_booked", NOW, Money("10", "EUR"))
    with pytest.raises(NotFoundError):
        services.record_activities(PARTNER_USER, [own, foreign])
    with services.storage.unit_of_work() as uow:
        assert uow.activities.for_partner("ptn_1") == []
    assert services.record_activities(PARTNER_USER, [own]).value.added == 1
    assert services.record_activities(PARTNER_USER, [own]).value.duplicates == 1


def test_activities_for_unknown_partners_are_refused(services: Services) -> None:
    with pytest.raises(NotFoundError):
        services.record_activities(ADMIN, [Activity("a1", "ptn_ghost", "portal_login", NOW)])
    with pytest.raises(ValidationError, match="at least one"):
        services.record_activities(ADMIN, [])


def test_registering_under_a_parent_checks_the_hierarchy(services: Services) -> None:
    with pytest.raises(NotFoundError):
        services.register_partner(MANAGER, new_partner("ptn_res", parent_id="ptn_dist"))
    services.register_partner(MANAGER, new_partner("ptn_dist", type="distributor"))
    child = services.register_partner(MANAGER, new_partner("ptn_res", parent_id="ptn_dist"))
    assert child.value.parent_id == "ptn_dist"


def test_concurrent_managers_do_not_lose_changes(services: Services) -> None:
    for partner_id in ("ptn_1", "ptn_2"):
        services.register_partner(MANAGER, new_partner(partner_id))
        services.start_onboarding(MANAGER, partner_id, PLAN)
    errors: list[BaseException] = []

    def complete(partner_id: str) -> None:
        try:
            services.complete_onboarding_step(MANAGER, partner_id, "sign")
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=complete, args=(f"ptn_{1 + i % 2}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for partner_id in ("ptn_1", "ptn_2"):
        partner = services.get_partner(ADMIN, partner_id)
        assert all(not step.is_open for step in partner.onboarding)


PROGRAM_TOML = """
id = "prg"
name = "Channel"
currency = "USD"
review = "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1"

[[metrics]]
name = "revenue_12m"
aggregate = "sum"
kinds = ["revenue_booked"]
window = "P12M"
currency = "USD"

[[tiers]]
id = "registered"
name = "Registered"
rank = 1

[[tiers]]
id = "silver"
name = "Silver"
rank = 2
requirements.all_of = [{ metric = "revenue_12m", comparison = ">=", threshold = "25,000 USD" }]
"""


def active_network(services: Services) -> None:
    for partner_id, revenue in (("ptn_1", "30000"), ("ptn_2", "5000")):
        services.register_partner(MANAGER, new_partner(partner_id, status=PartnerStatus.ACTIVE))
        services.record_activities(
            MANAGER,
            [
                Activity(
                    f"inv-{partner_id}",
                    partner_id,
                    "revenue_booked",
                    datetime(2025, 12, 1, tzinfo=UTC),
                    Money(revenue, "USD"),
                )
            ],
        )


def test_a_tier_review_saves_memberships_history_and_events_once(services: Services) -> None:
    from partnerkit.tiers import Membership, program_from_toml  # noqa: PLC0415

    active_network(services)
    program = program_from_toml(PROGRAM_TOML)
    with services.storage.unit_of_work() as uow:
        uow.programs.add(program)
        for partner_id in ("ptn_1", "ptn_2"):
            uow.memberships.add(Membership(partner_id, "prg", datetime(2026, 1, 5).date()))  # noqa: DTZ001
        uow.commit()
    with pytest.raises(PermissionDeniedError):
        services.run_tier_review(PARTNER_USER, "prg")
    result = services.run_tier_review(MANAGER, "prg")  # the clock says 2026-03-02
    assert result.value.as_of == datetime(2026, 1, 1, tzinfo=UTC)
    with services.storage.unit_of_work() as uow:
        assert uow.memberships.get("prg", "ptn_1").tier_id == "silver"
        assert uow.memberships.get("prg", "ptn_2").tier_id == "registered"
        assert uow.tier_history.at("prg", "ptn_1", datetime(2026, 2, 1, tzinfo=UTC)) is not None
        assert uow.tier_history.at("prg", "ptn_1", datetime(2025, 12, 31, tzinfo=UTC)) is None
    assert [event.kind for event in result.events] == ["tier.changed", "tier.changed"]
    again = services.run_tier_review(MANAGER, "prg")
    assert again.events == ()


def test_scoring_stores_history_and_announces_band_changes_once(services: Services) -> None:
    from partnerkit import Aggregate, MetricDefinition, Window  # noqa: PLC0415
    from partnerkit.health import model_from_dict  # noqa: PLC0415

    active_network(services)
    model = model_from_dict(
        {
            "name": "Revenue health",
            "version": 1,
            "measures": [
                {
                    "name": "revenue",
                    "metric": "revenue_12m",
                    "weight": 1,
                    "normalizer": {"kind": "target", "target": 20000},
                }
            ],
        }
    )
    definitions = [
        MetricDefinition(
            "revenue_12m", Aggregate.SUM, kinds=("revenue_booked",), window=Window.trailing("P12M")
        )
    ]
    first = services.score_partners(MANAGER, model, definitions)
    assert {s.partner_id: s.band for s in first.value} == {"ptn_1": "healthy", "ptn_2": "critical"}
    assert services.score_partners(MANAGER, model, definitions).events == ()  # same instant
    with services.storage.unit_of_work() as uow:
        stored = uow.scores.latest("ptn_2", model="Revenue health")
    assert stored is not None
    assert stored.band == "critical"
    with pytest.raises(PermissionDeniedError):
        services.score_partners(PARTNER_USER, model, definitions)


def test_a_delivery_failure_after_commit_does_not_fail_the_call(
    services: Services, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from partnerkit import StorageError  # noqa: PLC0415

    def broken(*_: object, **__: object) -> NoReturn:
        raise StorageError("outbox unavailable")

    monkeypatch.setattr(services.storage, "pending_events", broken)
    monkeypatch.setattr(services.storage, "claim_events", broken)  # the bus leases events
    services.bus.subscribe(lambda record: None, name="audit")
    result = services.register_partner(MANAGER, new_partner())
    assert result.value.version == 1
    assert "they stay in the outbox" in caplog.text


def registration(customer: str = "Acme Oy") -> DealDraft:
    return DealDraft(
        customer=Customer(customer, "FI", domain="acme.fi"),
        amount=Money("50000", "EUR"),
        expected_close_on=date(2026, 6, 30),
        products=("cloud",),
    )


def test_the_deal_workflow_runs_through_services_and_refuses_a_second_approval(
    services: Services,
) -> None:
    from partnerkit import ConflictError  # noqa: PLC0415

    for partner_id in ("ptn_1", "ptn_2"):
        services.register_partner(MANAGER, new_partner(partner_id, status=PartnerStatus.ACTIVE))
    first = services.submit_deal(PARTNER_USER, registration())
    assert first.value.status == "submitted"
    d1 = first.value.id
    second = services.submit_deal(ADMIN, registration("ACME Oy."), partner_id="ptn_2")
    assert "deal.conflict_found" in [event.kind for event in second.events]
    d2 = second.value.id
    approved = services.approve_deal(MANAGER, d1)
    assert approved.value.status == "approved"
    assert approved.value.protection_until == NOW + Period.of_days(90)
    with pytest.raises(ConflictError):
        services.approve_deal(MANAGER, d2, override_reason="the customer asked for both")
    rejected = services.reject_deal(MANAGER, d2, reason="ptn_1 registered first")
    assert rejected.value.status == "rejected"
    with pytest.raises(PermissionDeniedError):
        services.approve_deal(PARTNER_USER, d1)
    won = services.close_deal(PARTNER_USER, d1, won=True)
    assert won.value.status == "won"


def test_the_expiry_sweep_expires_lapsed_approvals(services: Services) -> None:
    services.register_partner(MANAGER, new_partner(status=PartnerStatus.ACTIVE))
    d1 = services.submit_deal(PARTNER_USER, registration()).value.id
    services.approve_deal(MANAGER, d1)
    assert isinstance(services.clock, FixedClock)
    services.clock.advance(Period.of_days(91))
    swept = services.expire_deals(MANAGER)
    assert [r.status for r in swept.value] == ["expired"]
    assert [e.kind for e in swept.events] == ["deal.expired"]
    assert services.expire_deals(MANAGER).value == ()


def test_managers_pin_tiers_extend_deals_and_override_scores(services: Services) -> None:
    from partnerkit.health import model_from_dict  # noqa: PLC0415
    from partnerkit.tiers import Membership, program_from_toml  # noqa: PLC0415

    active_network(services)
    with services.storage.unit_of_work() as uow:
        uow.programs.add(program_from_toml(PROGRAM_TOML))
        uow.memberships.add(Membership("ptn_2", "prg", date(2026, 1, 5)))
        uow.commit()
    pinned = services.pin_tier(
        MANAGER, "prg", "ptn_2", "silver", until=date(2026, 6, 1), reason="strategic launch"
    )
    assert pinned.value.tier_id == "silver"
    assert "tier.changed" in [e.kind for e in pinned.events]
    with services.storage.unit_of_work() as uow:
        assert uow.tier_history.at("prg", "ptn_2", NOW) is not None
    with pytest.raises(NotFoundError):
        services.unpin_tier(PARTNER_USER, "prg", "ptn_2")

    d1 = services.submit_deal(PARTNER_USER, registration()).value.id
    services.approve_deal(MANAGER, d1)
    services.request_deal_extension(PARTNER_USER, d1, 30, reason="procurement is slow")
    extended = services.decide_deal_extension(MANAGER, d1, approve=True)
    assert extended.value.protection_until == NOW + Period.of_days(120)

    model = model_from_dict(
        {
            "name": "Revenue health",
            "version": 1,
            "measures": [
                {
                    "name": "revenue",
                    "metric": "revenue_12m",
                    "weight": 1,
                    "normalizer": {"kind": "target", "target": 20000},
                }
            ],
        }
    )
    from partnerkit import Aggregate, MetricDefinition  # noqa: PLC0415

    services.score_partners(
        MANAGER, model, [MetricDefinition("revenue_12m", Aggregate.SUM, kinds=("revenue_booked",))]
    )
    assert isinstance(services.clock, FixedClock)
    services.clock.advance(Period.of_days(1))
    sponsor = OverrideRequest(
        "new executive sponsor", services.clock.now() + Period.of_days(30), band="at_risk"
    )
    overridden = services.set_health_override(MANAGER, model, "ptn_2", sponsor)
    assert (overridden.value.band, overridden.value.computed_band) == ("at_risk", "critical")
    services.clock.advance(Period.of_days(1))
    cleared = services.clear_health_override(MANAGER, model, "ptn_2", reason="resolved")
    assert cleared.value.band == "critical"
    with services.storage.unit_of_work() as uow:
        history = uow.scores.history("ptn_2", model="Revenue health")
    assert [s.band for s in history] == ["critical", "at_risk", "critical"]
