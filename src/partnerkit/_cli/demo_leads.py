"""The demo's lead desk: leads routed by tier weight, answered, swept and converted."""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Final

from partnerkit._base.money import Money
from partnerkit._base.time import FixedClock
from partnerkit._pages import every
from partnerkit.access import Actor, Role
from partnerkit.deals import Customer
from partnerkit.leads import LeadContact, LeadCustomer, LeadStatus, ProductMatch, RoutingPolicy
from partnerkit.partners import PartnerStatus
from partnerkit.services import DealDraft, LeadIntake, Services

if TYPE_CHECKING:
    from typing import TextIO

    from partnerkit.leads import Lead
    from partnerkit.partners import Partner
    from partnerkit.storage import Storage

__all__ = ["lead_desk"]

_MANAGER: Final = Actor("usr_maria", Role.CHANNEL_MANAGER)
_SOURCES: Final = ("web form", "webinar", "trade show", "partner locator")
_PRODUCTS: Final = ("cloud", "security", "analytics")


def _id(prefix: str, number: int) -> str:
    # Apart from the ids the demo's deal desk gave its own registrations.
    return f"{prefix}_{number:05d}" if prefix == "lead" else f"{prefix}_from_lead_{number:05d}"


def lead_desk(
    storage: Storage,
    partners: tuple[Partner, ...],
    *,
    program_id: str,
    health_model: str,
    seed: int,
    as_of: datetime,
    out: TextIO,
) -> None:
    """Receive leads in the partners' countries, route them, answer, sweep; print a report.

    Tier weights come from ``program_id`` (its entry tier has weight 0) and health
    bands from ``health_model``; each partner takes at most two leads a day.
    """
    rng = random.Random(seed + 2)  # noqa: S311 - a reproducible demo, not security
    # The desk's day, sweep included, ends before the demo's now, so that a report
    # as of now counts the deals converted from leads.
    opened = as_of - timedelta(hours=26)
    clock = FixedClock(opened)
    numbers = iter(range(1, 1_000_000))
    services = Services(storage, clock=clock, ids=lambda prefix: _id(prefix, next(numbers)))
    policy = RoutingPolicy(
        "demo inbound",
        program_id=program_id,
        health_model=health_model,
        # The demo's partners list no products; real ones would (PROFILE_FIELDS).
        products=ProductMatch.IGNORE,
        daily_cap=2,
        max_offers=2,
        seed=seed,
    )
    countries = Counter(p.country for p in partners if p.status is PartnerStatus.ACTIVE)
    places = sorted(countries)
    weights = [countries[c] for c in places]
    count = max(5, min(200, len(partners) // 8))
    for n in range(count):
        country = rng.choices(places, weights)[0] if places else "US"
        contact = LeadContact(f"Contact {n}", f"buyer{n}@customer{n}.example")
        intake = LeadIntake(
            LeadCustomer(f"Customer {n} Ltd", country, contact=contact),
            rng.choice(_SOURCES),
            products=(rng.choice(_PRODUCTS),),
            value=Money(Decimal(rng.randrange(5, 150)) * 1000, "USD"),
        )
        services.receive_lead(_MANAGER, intake)
    routed = services.route_leads(_MANAGER, policy, limit=1000).value
    first = [lead for lead in routed if lead.status is LeadStatus.OFFERED][:3]
    answers: Counter[str] = Counter()
    converted = 0
    clock.set(opened + timedelta(hours=2))
    for lead in routed:
        if lead.partner_id is None:
            continue
        user = Actor(f"usr_{lead.partner_id}", Role.PARTNER_USER, partner_id=lead.partner_id)
        roll = rng.random()
        if roll < 0.55:
            services.accept_lead(user, lead.id)
            answers["accepted"] += 1
            if rng.random() < 0.5:
                draft = DealDraft(
                    Customer(lead.customer.name, lead.customer.country),
                    lead.value or Money(10_000, "USD"),
                    (opened + timedelta(days=90)).date(),
                    products=lead.products,
                    lead_id=lead.id,
                )
                services.submit_deal(user, draft)
                converted += 1
        elif roll < 0.75:
            services.decline_lead(user, lead.id, reason="outside our focus")
            answers["declined"] += 1
        else:
            answers["left unanswered"] += 1
    clock.set(opened + timedelta(hours=25))
    swept = services.sweep_leads(_MANAGER, policy).value
    redone = services.route_leads(_MANAGER, policy).value
    _report(
        out, services, policy, routed, first, answers, converted, len(swept), len(redone), opened
    )


def _report(  # noqa: PLR0917 - one report, its figures named at the one call
    out: TextIO,
    services: Services,
    policy: RoutingPolicy,
    routed: tuple[Lead, ...],
    first: list[Lead],
    answers: Counter[str],
    converted: int,
    swept: int,
    redone: int,
    as_of: datetime,
) -> None:
    write = out.write
    write(f"\nLead desk ({policy.name}: tier lead weights, at most {policy.daily_cap} a day)\n")
    offered = sum(lead.status is LeadStatus.OFFERED for lead in routed)
    write(f"  routed {len(routed)} new leads: {offered} offered, {len(routed) - offered} ")
    write("back to the vendor\n  partners' answers: ")
    write(", ".join(f"{name} {count}" for name, count in sorted(answers.items())) + "\n")
    write(f"  converted into deal registrations: {converted}\n")
    write(
        f"  sweep 25 hours later: {swept} offers lapsed and went on; {redone} declined re-offered\n"
    )
    leads = every(lambda cursor: services.list_leads(_MANAGER, limit=1000, cursor=cursor))
    statuses = Counter(lead.status.value for lead in leads)
    write("  leads by status: " + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())) + "\n")
    write("  why the first offers went where they went:\n")
    for lead in first:
        offer = lead.offers[0]
        write(f"    {lead.id} -> {offer.partner_id}: {offer.explanation.reasons()}\n")
    report = services.lead_fairness(_MANAGER, policy, since=as_of, until=as_of + timedelta(days=2))
    busiest = sorted(report.rows, key=lambda row: (-row.offered, row.partner_id))[:5]
    write("  fairness (most offers first): partner, weight share, offer share, accepted\n")
    for row in busiest:
        write(
            f"    {row.partner_id:<12} {row.weight_share:>7.2%} {row.offered_share:>7.2%} "
            f"{row.accepted}/{row.offered}\n"
        )
