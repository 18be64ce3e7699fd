"""The demo's relationship section: certifications, plans, check-ins, journeys and NPS.

Run after the demo's tier reviews, on the same store and as-of instant, and as
deterministic as the rest of the demo: everything follows from the seed.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Final

from partnerkit._base.money import Money
from partnerkit._base.time import Cadence, FixedClock, Period
from partnerkit._pages import every
from partnerkit.access import Actor, Role
from partnerkit.ledger import ActivityKind
from partnerkit.metrics import Aggregate, MetricDefinition
from partnerkit.partners import PartnerStatus
from partnerkit.relationship import (
    Certification,
    CertificationStatus,
    CertificationTerm,
    CheckIn,
    CheckInPolicy,
    Condition,
    Enrolment,
    Goal,
    GoalOwner,
    Journey,
    LapseWarning,
    Outcome,
    Side,
    Step,
    journey_report,
    lapse_warnings,
    nps,
    nps_by,
    survey_answer,
    survey_scores,
)
from partnerkit.services import Services
from partnerkit.tiers import next_review

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime
    from typing import TextIO

    from partnerkit._base.money import RateSource
    from partnerkit.ledger import Activity
    from partnerkit.partners import Partner
    from partnerkit.storage import Storage
    from partnerkit.tiers import Membership, Program

__all__ = ["ACTIVATION", "relationship_section"]

_ADMIN: Final = Actor("usr_admin", Role.ADMIN)

#: The demo's activation journey: Odoo's first contact -> ramp-up -> fully operational.
ACTIVATION: Final = Journey(
    "activation",
    "Activation",
    (
        Step(
            "first_contact",
            "First contact",
            Condition((ActivityKind.BUSINESS_REVIEW_HELD.value,)),
            Period.of_days(30),
            on_overdue=(Outcome("email", "manager_first_contact_overdue"),),
        ),
        Step(
            "ramp_up",
            "Ramp-up",
            Condition((ActivityKind.TRAINING_COMPLETED.value,), count=2),
            Period.of_days(60),
            on_done=(Outcome("webhook", "https://crm.example.com/hooks/ramped-up"),),
        ),
        Step(
            "operational",
            "Fully operational",
            Condition((ActivityKind.DEAL_REGISTERED.value,)),
            Period.of_days(90),
            on_overdue=(Outcome("email", "no_deal_registered_yet"),),
        ),
    ),
)


def _certifications(activities: Sequence[Activity]) -> list[Certification]:
    """One record per person and certification, its terms read from the ledger."""
    terms: dict[tuple[str, str, str], dict[object, CertificationTerm]] = {}
    for activity in activities:
        if activity.kind != ActivityKind.CERTIFICATION_EARNED or activity.expires_on is None:
            continue
        person = str(activity.attributes.get("person", "someone"))
        name = str(activity.attributes.get("certification", "certification"))
        issued = activity.occurred_at.date()
        if activity.expires_on > issued:
            key = (activity.partner_id, person, name)
            terms.setdefault(key, {})[issued] = CertificationTerm(issued, activity.expires_on)
    records = []
    for index, ((partner_id, person, name), found) in enumerate(sorted(terms.items())):
        ordered = tuple(found[day] for day in sorted(found))  # type: ignore[type-var]
        records.append(
            Certification(
                f"crt_{index:05d}", partner_id, person, name, ordered[0].issued_on, ordered
            )
        )
    return records


def relationship_section(
    storage: Storage,
    *,
    partners: Sequence[Partner],
    activities: Sequence[Activity],
    program: Program,
    as_of: datetime,
    seed: int,
    rates: RateSource,
    out: TextIO,
) -> None:
    """Store certifications, a plan, check-ins and survey answers; print what they say."""
    with storage.unit_of_work() as uow:
        memberships = every(
            lambda cursor: uow.memberships.query(program_id=program.id, limit=1000, cursor=cursor)
        )
    section = _Section(
        storage,
        partners,
        activities,
        program,
        as_of,
        rates,
        out,
        random.Random(seed * 7919 + 19),  # noqa: S311 - demo data, not security
        memberships,
    )
    out.write("\nRelationship\n")
    section.certifications()
    section.plan()
    section.check_ins()
    section.journey()
    section.satisfaction()


class _Section:
    """The section's inputs, shared by its parts."""

    def __init__(  # noqa: PLR0917 - one private caller
        self,
        storage: Storage,
        partners: Sequence[Partner],
        activities: Sequence[Activity],
        program: Program,
        as_of: datetime,
        rates: RateSource,
        out: TextIO,
        rng: random.Random,
        memberships: list[Membership],
    ) -> None:
        self.storage = storage
        self.partners = partners
        self.activities = activities
        self.program = program
        self.as_of = as_of
        self.rates = rates
        self.out = out
        self.rng = rng
        self.memberships = memberships
        self.names = {p.id: p.name for p in partners}
        self.tiers = {m.partner_id: m.tier_id or "none" for m in memberships}
        self.services = Services(storage, clock=FixedClock(as_of), rates=rates)

    def write(self, text: str) -> None:
        self.out.write(text)

    def others(self) -> dict[str, list[Activity]]:
        """Each partner's activities but its certifications (the records stand for those)."""
        found: dict[str, list[Activity]] = {}
        for activity in self.activities:
            if activity.kind != ActivityKind.CERTIFICATION_EARNED:
                found.setdefault(activity.partner_id, []).append(activity)
        return found

    def certifications(self) -> None:
        """Stored, judged on the day, and the tiers their lapses put at risk."""
        records = _certifications(self.activities)
        with self.storage.unit_of_work() as uow:
            for record in records:
                uow.certifications.add(record)
            uow.commit()
        today = self.as_of.date()
        statuses = Counter(record.status_on(today) for record in records)
        shown = ", ".join(f"{s.value} {statuses[s]}" for s in CertificationStatus if statuses[s])
        self.write(f"  certifications today: {shown}\n")
        others = self.others()
        certified: dict[str, list[Certification]] = {}
        for record in records:
            certified.setdefault(record.partner_id, []).append(record)
        warnings: list[LapseWarning] = []
        for membership in self.memberships:
            if membership.tier_id in (None, self.program.tiers[0].id):
                continue
            warnings.extend(
                lapse_warnings(
                    self.program,
                    membership,
                    others.get(membership.partner_id, ()),
                    certified.get(membership.partner_id, ()),
                    as_of=self.as_of,
                    rates=self.rates,
                )
            )
        year = today + timedelta(days=365)
        opening = sum(
            1
            for record in records
            if record.terms and today < record.renewal_opens(record.terms[-1]) <= year
        )
        self.write(f"  renewal windows opening in the next 12 months: {opening}\n")
        review = next_review(self.program, self.as_of)
        when = review.date().isoformat() if review is not None else "the next review"
        self.write(
            f"  tiers lost at the review on {when} if certifications lapse: {len(warnings)}\n"
        )
        for warning in warnings[:3]:
            self.write(f"    {self.names[warning.partner_id]}: {warning.message.split('. ')[0]}\n")

    def plan(self) -> None:
        """A joint business plan with the partner with the most revenue this year."""
        active = [p for p in self.partners if p.status is PartnerStatus.ACTIVE and p.owner_id]
        if not active:
            return
        others = self.others()
        year_ago = self.as_of - timedelta(days=365)

        def revenue(partner: Partner) -> Decimal:
            return sum(
                (
                    a.value.amount
                    for a in others.get(partner.id, ())
                    if isinstance(a.value, Money) and a.occurred_at > year_ago
                ),
                Decimal(0),
            )

        leader = max(active, key=lambda p: (revenue(p), p.id))
        manager = Actor(leader.owner_id or "usr_admin", Role.CHANNEL_MANAGER)
        contact = Actor(f"usr_{leader.id}", Role.PARTNER_USER, partner_id=leader.id)
        owners = (GoalOwner(Side.VENDOR, manager.id), GoalOwner(Side.PARTNER, contact.id))
        revenue_metric = MetricDefinition(
            "revenue", Aggregate.SUM, kinds=("revenue_booked",), currency="USD"
        )
        deals_metric = MetricDefinition("deals", Aggregate.COUNT, kinds=("deal_won",))
        goals = (
            Goal("revenue", revenue_metric, Money("400000", "USD"), owners, label="revenue"),
            Goal("deals", deals_metric, Decimal(8), owners, label="won deal|won deals"),
        )
        start = self.as_of.date().replace(month=1, day=1)
        plan = self.services.draft_plan(
            manager,
            leader.id,
            title=f"{start.year} joint plan",
            starts_on=start,
            ends_on=start.replace(month=12, day=31),
            goals=goals,
        ).value
        self.services.agree_plan(contact, plan.id)
        self.services.agree_plan(manager, plan.id)
        progress = self.services.plan_progress(contact, plan.id)
        self.write(f"  joint business plan with {leader.name} (agreed by both sides):\n")
        for line in progress.explain().splitlines():
            self.write(f"    {line}\n")

    def check_ins(self) -> None:
        """The last business review of each partner as a check-in; who is overdue."""
        latest: dict[str, datetime] = {}
        for activity in self.activities:
            if (
                activity.kind == ActivityKind.BUSINESS_REVIEW_HELD
                and activity.occurred_at <= self.as_of
            ):
                seen = latest.get(activity.partner_id)
                if seen is None or activity.occurred_at > seen:
                    latest[activity.partner_id] = activity.occurred_at
        owners = {p.id: p.owner_id or "usr_admin" for p in self.partners}
        with self.storage.unit_of_work() as uow:
            for index, (partner_id, held) in enumerate(sorted(latest.items())):
                uow.check_ins.add(
                    CheckIn(
                        f"chk_{index:05d}",
                        partner_id,
                        held,
                        (owners[partner_id],),
                        "Business review",
                        satisfaction=self.rng.randint(2, 5),
                        recorded_by=owners[partner_id],
                    )
                )
            uow.commit()
        # Quarterly, monthly for Gold and Platinum.
        monthly = Cadence("FREQ=MONTHLY;BYMONTHDAY=1")
        policy = CheckInPolicy(
            Cadence("FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1"),
            by_tier={"gold": monthly, "platinum": monthly},
        )
        overdue = self.services.overdue_check_ins(_ADMIN, policy, tiers=self.tiers)
        self.write(f"  partners with an overdue check-in: {len(overdue)}; longest overdue:\n")
        for row in overdue[:3]:
            self.write(f"    {self.names[row.partner_id]}: {row.message.split(': ', 1)[1]}\n")

    def journey(self) -> None:
        """Who is stuck where in the activation journey, among this year's joiners."""
        recent = [
            Enrolment(
                p.id, p.created_at, type=p.type, country=p.country, tier_id=self.tiers.get(p.id)
            )
            for p in self.partners
            if p.created_at > self.as_of - timedelta(days=365)
        ]
        if not recent:
            return
        report = journey_report(ACTIVATION, recent, list(self.activities), as_of=self.as_of)
        self.write(f"  activation journey of the {len(recent)} partners who joined this year:\n")
        for line in report.explain().splitlines():
            self.write(f"    {line}\n")

    def satisfaction(self) -> None:
        """Survey answers from most members, recorded as activities; NPS by tier."""
        answers = []
        for index, membership in enumerate(self.memberships):
            if self.rng.random() >= _ANSWERING:
                continue
            lean = _LEAN.get(membership.tier_id or "", -1)
            score = max(0, min(10, round(self.rng.gauss(7.5 + lean, 2))))
            answers.append(
                survey_answer(
                    f"svy_{index:05d}",
                    membership.partner_id,
                    survey="nps",
                    score=score,
                    answered_at=self.as_of - timedelta(days=self.rng.randint(1, 80)),
                    respondent=f"usr_{membership.partner_id}",
                    program_id=self.program.id,
                )
            )
        if not answers:
            return
        with self.storage.unit_of_work() as uow:
            uow.activities.append(answers)
            uow.commit()
        self.write(f"  partner {nps(survey_scores(answers)).explain()}\n")
        by_tier = nps_by(answers, lambda answer: self.tiers.get(answer.partner_id))
        shown = ", ".join(
            f"{tier.name} {by_tier[tier.id].score:+} (n={by_tier[tier.id].responses})"
            for tier in reversed(self.program.tiers)
            if tier.id in by_tier
        )
        self.write(f"  NPS by tier: {shown}\n")


#: The share of members who answer the survey, and how each tier leans.
_ANSWERING: Final = 0.6
_LEAN: Final = {"platinum": 2, "gold": 1, "silver": 0}
