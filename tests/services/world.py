"""A small channel on either adapter: two partners' data, seen by every kind of actor."""

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import attrs

from partnerkit import Activity, FixedClock, Money, Partner, PartnerStatus, Period
from partnerkit.access import Actor, Role
from partnerkit.deals import Customer
from partnerkit.health import ScoringModel, model_from_dict
from partnerkit.metrics import Aggregate, MetricDefinition
from partnerkit.services import DealDraft, Services
from partnerkit.storage.memory import MemoryStorage
from partnerkit.storage.sqlite import SqliteStorage
from partnerkit.tiers import program_from_toml

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)
ADMIN = Actor("usr_admin", Role.ADMIN)
MANAGER_A = Actor("usr_ma", Role.CHANNEL_MANAGER)
MANAGER_B = Actor("usr_mb", Role.CHANNEL_MANAGER)
USER_A = Actor("usr_anna", Role.PARTNER_USER, partner_id="ptn_a")
USER_B = Actor("usr_bo", Role.PARTNER_USER, partner_id="ptn_b")
STRANGER = Actor("usr_nobody", Role.PARTNER_USER, partner_id="ptn_nowhere")
IDLE_MANAGER = Actor("usr_idle", Role.CHANNEL_MANAGER)

MODEL: ScoringModel = model_from_dict(
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
DEFINITIONS = [MetricDefinition("revenue_12m", Aggregate.SUM, kinds=("revenue_booked",))]
PROGRAM = program_from_toml(
    """
id = "prg"
name = "Channel"
currency = "USD"

[[tiers]]
id = "registered"
name = "Registered"
rank = 1
"""
)


def storages(tmp_path: Path) -> Iterator[tuple[str, object]]:
    yield "memory", MemoryStorage()
    yield "sqlite", SqliteStorage(tmp_path / "world.db")


def draft(name: str, domain: str, amount: str = "50000") -> DealDraft:
    return DealDraft(
        customer=Customer(name, "FI", domain=domain),
        amount=Money(amount, "EUR"),
        expected_close_on=date(2026, 6, 30),
        products=("cloud",),
    )


def partner(partner_id: str, owner: str, **changes: object) -> Partner:
    fields: dict[str, object] = {
        "id": partner_id,
        "name": f"Partner {partner_id}",
        "type": "reseller",
        "country": "FI",
        "created_at": NOW,
        "owner_id": owner,
        "status": PartnerStatus.ACTIVE,
    }
    fields.update(changes)
    return Partner(**fields)


@attrs.define
class World:
    """What was built, by id."""

    services: Services
    deals: dict[str, str] = attrs.field(factory=dict)
    #: Other records (leads, funds, statements, plans...) a test adds, keyed as ``deals``.
    records: dict[str, str] = attrs.field(factory=dict)

    @property
    def b_ids(self) -> set[str]:
        """Every id that belongs to partner B's side of the channel."""
        built = {**self.deals, **self.records}
        return {"ptn_b", "ptn_b_child", *(v for k, v in built.items() if k.startswith("b_"))}


def build(storage: object) -> World:
    numbers = iter(range(1, 10_000))
    services = Services(
        storage,  # type: ignore[arg-type]
        clock=FixedClock(NOW),
        ids=lambda prefix: f"{prefix}_{next(numbers):04d}",
    )
    world = World(services)
    services.register_partner(ADMIN, partner("ptn_a", "usr_ma"))
    services.register_partner(ADMIN, partner("ptn_b", "usr_mb"))
    services.register_partner(ADMIN, partner("ptn_b_child", "usr_mb", parent_id="ptn_b"))
    month_ago = NOW - Period.of_days(30)
    services.record_activities(
        ADMIN,
        [
            Activity("inv-a", "ptn_a", "revenue_booked", month_ago, Money("900", "EUR")),
            Activity("inv-b", "ptn_b", "revenue_booked", month_ago, Money("30000", "EUR")),
        ],
    )
    services.create_program(ADMIN, PROGRAM)
    services.enrol(ADMIN, "prg", "ptn_a")
    services.enrol(ADMIN, "prg", "ptn_b")
    services.score_partners(ADMIN, MODEL, DEFINITIONS)
    # B: an approved deal (Acme), a rejected one, a submitted one and a draft.
    world.deals["b_approved"] = services.submit_deal(USER_B, draft("Acme Oy", "acme.fi")).value.id
    services.approve_deal(MANAGER_B, world.deals["b_approved"])
    world.deals["b_rejected"] = services.submit_deal(USER_B, draft("Birch Ab", "birch.se")).value.id
    services.reject_deal(MANAGER_B, world.deals["b_rejected"], reason="not a fit")
    world.deals["b_submitted"] = services.submit_deal(
        USER_B, draft("Cedar AS", "cedar.no")
    ).value.id
    world.deals["b_draft"] = services.save_deal_draft(USER_B, draft("Dune Ltd", "dune.uk")).value.id
    # A: its own approved and rejected deals.
    world.deals["a_approved"] = services.submit_deal(USER_A, draft("Elm Oy", "elm.fi")).value.id
    services.approve_deal(MANAGER_A, world.deals["a_approved"])
    world.deals["a_rejected"] = services.submit_deal(USER_A, draft("Fir Oy", "fir.fi")).value.id
    services.reject_deal(MANAGER_A, world.deals["a_rejected"], reason="incomplete")
    return world


def snapshot_of_b(world: World) -> dict[str, object]:
    """Everything stored about partner B, to compare before and after."""
    storage = world.services.storage
    with storage.unit_of_work() as uow:
        return {
            "partners": [uow.partners.get(pid) for pid in ("ptn_b", "ptn_b_child")],
            "deals": [
                uow.deals.get(deal_id)
                for key, deal_id in sorted(world.deals.items())
                if key.startswith("b_")
            ],
            "deal_pages": uow.deals.query(partner_id="ptn_b").items,
            "scores": uow.scores.history("ptn_b", model=MODEL.name),
            "memberships": uow.memberships.for_partner("ptn_b"),
            "history": uow.tier_history.for_partner("prg", "ptn_b"),
            "activities": uow.activities.for_partner("ptn_b"),
        }
