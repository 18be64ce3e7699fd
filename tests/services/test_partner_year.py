"""A partner year on SQLite with several threads acting at once.

Partner users append activities and register deals for a few shared customers,
managers approve concurrently, tier reviews and the expiry sweep run in between;
at the end the invariants hold: no lost activity, at most one approval per
customer at any time, and every committed event delivered exactly once to a
subscriber that records them.
"""

import threading
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from partnerkit import (
    Activity,
    ConflictError,
    FixedClock,
    Money,
    Partner,
    PartnerStatus,
    StaleVersionError,
)
from partnerkit.access import Actor, Role
from partnerkit.deals import Customer, DealStatus
from partnerkit.events import EventRecord
from partnerkit.services import DealDraft, Services
from partnerkit.storage.sqlite import SqliteStorage
from partnerkit.tiers import Membership, program_from_toml

START = datetime(2026, 1, 1, tzinfo=UTC)
PARTNERS = [f"ptn_{i}" for i in range(6)]
CUSTOMERS = ["Hartwell Logistics", "Kestrel Energy", "Orion Foods"]
MANAGER = Actor("usr_maria", Role.CHANNEL_MANAGER)
PROGRAM = program_from_toml(
    """
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
requirements.all_of = [{ metric = "revenue_12m", comparison = ">=", threshold = "50,000 USD" }]
"""
)


def test_a_partner_year_keeps_every_invariant(tmp_path: Path) -> None:
    storage = SqliteStorage(tmp_path / "year.db")
    clock = FixedClock(START)
    services = Services(storage, clock=clock)
    delivered: list[EventRecord] = []
    lock = threading.Lock()

    def record(event: EventRecord) -> None:
        with lock:
            delivered.append(event)

    services.bus.subscribe(record, name="audit")
    for partner_id in PARTNERS:
        services.register_partner(
            MANAGER,
            Partner(
                id=partner_id,
                name=f"Partner {partner_id}",
                type="reseller",
                country="US",
                created_at=START,
                owner_id="usr_maria",
                status=PartnerStatus.ACTIVE,
            ),
        )
    with storage.unit_of_work() as uow:
        uow.programs.add(PROGRAM)
        for partner_id in PARTNERS:
            uow.memberships.add(Membership(partner_id, "prg", START.date()))
        uow.commit()

    appended = Counter[str]()
    errors: list[BaseException] = []

    def partner_month(partner_id: str, month: int) -> None:
        user = Actor(f"usr_{partner_id}", Role.PARTNER_USER, partner_id=partner_id)
        at = START + timedelta(days=30 * month, hours=1)
        try:
            batch = [
                Activity(
                    f"{partner_id}-{month}-{n}",
                    partner_id,
                    "revenue_booked",
                    at + timedelta(minutes=n),
                    Money(Decimal(1000 * (n + 1)), "USD"),
                )
                for n in range(5)
            ]
            services.record_activities(user, batch)
            services.record_activities(user, batch[:2])  # a retried import: no double count
            with lock:
                appended[partner_id] += len(batch)
            customer = CUSTOMERS[(month + int(partner_id[-1])) % len(CUSTOMERS)]
            draft = DealDraft(
                customer=Customer(customer, "US", domain=f"{customer.split()[0].lower()}.com"),
                amount=Money("25000", "USD"),
                expected_close_on=date(2027, 12, 31),
                products=("cloud",),
            )
            submitted = services.submit_deal(user, draft).value
            if submitted.status is DealStatus.SUBMITTED:
                try:
                    services.approve_deal(MANAGER, submitted.id)
                except (ConflictError, StaleVersionError):
                    services.reject_deal(MANAGER, submitted.id, reason="customer taken")
        except BaseException as error:
            errors.append(error)

    for month in range(12):
        clock.set(START + timedelta(days=30 * month))
        threads = [threading.Thread(target=partner_month, args=(p, month)) for p in PARTNERS]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        clock.set(START + timedelta(days=30 * month + 29))
        services.expire_deals(MANAGER)
        if month % 3 == 2:
            services.run_tier_review(MANAGER, "prg")
    assert errors == []

    with storage.unit_of_work() as uow:
        for partner_id in PARTNERS:  # no lost and no double-counted activity
            assert len(uow.activities.for_partner(partner_id)) == appended[partner_id] == 60
        approved = [
            d for d in uow.deals.active(limit=1000).items if d.status is DealStatus.APPROVED
        ]
    by_customer = Counter(d.customer.name for d in approved)
    assert all(count == 1 for count in by_customer.values())  # no double approval

    services.bus.deliver()
    assert storage.pending_events() == []
    ids = [event.id for event in delivered]
    assert len(ids) == len(set(ids))  # every committed event delivered exactly once
    kinds = Counter(event.event.kind for event in delivered)
    assert kinds["partner.registered"] == len(PARTNERS)
    assert kinds["deal.approved"] >= len(CUSTOMERS)
    assert kinds["deal.submitted"] == 12 * len(PARTNERS)
    storage.close()
