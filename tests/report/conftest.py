"""A demo network in SQLite with an open conflict, and its report, shared by the report tests.

Besides the demo's own records, the store holds a check-in with an action item
past due and certifications expiring and expired at the demo's instant, so the
relationship section has a row of each kind to show.
"""

import io
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from partnerkit import Money
from partnerkit._base.time import FixedClock
from partnerkit._cli.demo import AS_OF, run_demo
from partnerkit.access import Actor, Role
from partnerkit.deals import Customer, DealStatus
from partnerkit.leads import (
    Candidate,
    Lead,
    LeadCustomer,
    RoutingExplanation,
    accept,
    decline,
    lapse,
    offer,
)
from partnerkit.partners import PartnerStatus
from partnerkit.relationship import ActionItem, Side
from partnerkit.services import DealDraft, Services
from partnerkit.storage.sqlite import SqliteStorage

PARTNERS = 120
#: The customer two partners register in the days before the report: an open conflict.
CONTESTED = "Zephyrine Robotics"


def register_contested(storage: SqliteStorage) -> tuple[str, str]:
    """Two active partners register one customer, the later one still awaiting review."""
    clock = FixedClock(AS_OF - timedelta(days=3))
    services = Services(storage, clock=clock)
    with storage.unit_of_work() as uow:
        active = uow.partners.query(status=PartnerStatus.ACTIVE, limit=2).items
    ids = []
    for offset, (partner, name) in enumerate(
        zip(active, (CONTESTED, f"{CONTESTED} Inc"), strict=True)
    ):
        clock.set(AS_OF - timedelta(days=3 - offset))
        draft = DealDraft(
            customer=Customer(name, "US", domain="zephyrine-robotics.example"),
            amount=Money(Decimal(50_000), "USD"),
            expected_close_on=(AS_OF + timedelta(days=60)).date(),
            products=("cloud",),
        )
        user = Actor(f"usr_{partner.id}", Role.PARTNER_USER, partner_id=partner.id)
        submitted = services.submit_deal(user, draft).value
        assert submitted.status is DealStatus.SUBMITTED
        ids.append(submitted.id)
    return ids[0], ids[1]


def record_relationship(storage: SqliteStorage) -> None:
    """A check-in with an overdue and a done action item; one certification lapsing, one lapsed."""
    services = Services(storage, clock=FixedClock(AS_OF - timedelta(days=2)))
    admin = Actor("usr_admin", Role.ADMIN)
    with storage.unit_of_work() as uow:
        first, second = uow.partners.query(status=PartnerStatus.ACTIVE, limit=2).items
    today = AS_OF.date()
    services.record_check_in(
        admin,
        first.id,
        held_at=AS_OF - timedelta(days=40),
        attendees=("usr_admin", f"usr_{first.id}"),
        notes="Pipeline review",
        action_items=(
            ActionItem(
                "send_forecast",
                "Send the quarter's forecast",
                f"usr_{first.id}",
                Side.PARTNER,
                today - timedelta(days=10),
            ),
            ActionItem(
                "book_training",
                "Book the sales training",
                "usr_admin",
                Side.VENDOR,
                today - timedelta(days=20),
                done_on=today - timedelta(days=25),
            ),
        ),
    )
    for partner, person, expires in (
        (first, "p_ada", today + timedelta(days=30)),
        (second, "p_bo", today - timedelta(days=5)),
    ):
        started = services.start_certification(
            admin,
            partner.id,
            person=person,
            name="cloud_sales",
            started_on=expires.replace(year=expires.year - 2),
        ).value
        services.issue_certification(
            admin, started.id, issued_on=expires.replace(year=expires.year - 1), expires_on=expires
        )


def answer_leads(storage: SqliteStorage) -> None:
    """Leads offered and answered in the days before the report: accepted, declined, lapsed.

    The demo's own leads arrive at the report's instant and are answered after it.
    """
    with storage.unit_of_work() as uow:
        first, second = uow.partners.query(status=PartnerStatus.ACTIVE, limit=2).items
        at = AS_OF - timedelta(days=2)
        hour = timedelta(hours=1)
        for number, answer in enumerate(("accept", "decline", "lapse", "accept late")):
            lead = Lead(
                f"lead_before_{number}", LeadCustomer(f"Early Customer {number}", "US"), "event", at
            )
            partner_id = (first, second)[number % 2].id
            explanation = RoutingExplanation(
                lead.id,
                "early",
                "round_robin",
                seed=number,
                step="country US",
                candidates=(Candidate(partner_id, 1),),
                chosen=partner_id,
            )
            # The last one is offered shortly before the report and accepted after it.
            made = AS_OF - 2 * hour if answer == "accept late" else at
            lead = offer(
                lead, explanation, actor="router", at=made, expires_at=made + 24 * hour
            ).value
            if answer == "accept":
                lead = accept(lead, partner_id=partner_id, actor="usr_p", at=at + hour).value
            elif answer == "decline":
                lead = decline(
                    lead, partner_id=partner_id, actor="usr_p", at=at + hour, reason="busy"
                ).value
            elif answer == "lapse":
                lead = lapse(lead, actor="router", at=at + 24 * hour).value
            else:
                lead = accept(lead, partner_id=partner_id, actor="usr_p", at=AS_OF + hour).value
            uow.leads.add(lead)
        uow.commit()


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, tuple[str, str]]:
    """The path of a demo network's SQLite file, and the ids of the contested registrations."""
    path = tmp_path_factory.mktemp("report") / "network.db"
    storage = SqliteStorage(path)
    try:
        run_demo(storage=storage, partners=PARTNERS, seed=5, out=io.StringIO(), err=io.StringIO())
        contested = register_contested(storage)
        record_relationship(storage)
        answer_leads(storage)
    finally:
        storage.close()
    return path, contested
