"""Leads: intake, routing, answers, the SLA sweep, conversion into deals, fairness."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Final

import attrs

from partnerkit._base.events import Event
from partnerkit._base.ids import check_id
from partnerkit._base.money import Money
from partnerkit._pages import every
from partnerkit.access import Action, Actor, Role
from partnerkit.errors import InvalidTransitionError, NotFoundError, ValidationError
from partnerkit.leads import (
    FairnessReport,
    Lead,
    LeadCustomer,
    LeadStatus,
    Load,
    PartnerProfile,
    Router,
    RoutingExplanation,
    RoutingPolicy,
    accept,
    convert,
    decline,
    fairness_report,
    lapse,
    lose,
    return_lead,
    route_lead,
)
from partnerkit.leads._model import ROUTABLE
from partnerkit.storage import Page
from partnerkit.tiers import MembershipStatus

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from partnerkit._base.events import Scalar
    from partnerkit.leads import LeadStep
    from partnerkit.partners import Partner
    from partnerkit.storage import UnitOfWork

from partnerkit.services._core import _ServicesCore
from partnerkit.services._intents import Result
from partnerkit.services._support import _check_limit, _found

__all__ = ["PROFILE_FIELDS", "LeadIntake"]

#: The partner custom fields routing reads, when a partner has them: products,
#: certifications, served countries and regions as comma-separated text, and
#: coordinates as decimals (or text) of degrees.
PROFILE_FIELDS: Final = {
    "products": "lead_products",
    "certifications": "lead_certifications",
    "countries": "lead_countries",
    "regions": "lead_regions",
    "latitude": "latitude",
    "longitude": "longitude",
}
#: The actor routing moves are recorded under when a service routes on its own.
_ROUTER: Final = "router"


@attrs.frozen
class LeadIntake:
    """A new lead as the vendor receives it; the service sets its id and ``received_at``.

    Attributes:
        customer: Who asks, where, and whom to call.
        source: Where it came from (``"web form"``).
        products: What the customer asks about.
        value: The expected deal value, when known.
        size: The customer's size, as the source gives it.
    """

    customer: LeadCustomer
    source: str
    products: tuple[str, ...] = ()
    value: Money | None = None
    size: str = ""

    def __attrs_post_init__(self) -> None:
        probe = Lead(
            "probe",
            self.customer,
            self.source,
            datetime(1970, 1, 1, tzinfo=UTC),
            products=self.products,
            value=self.value,
            size=self.size,
        )
        object.__setattr__(self, "source", probe.source)
        object.__setattr__(self, "products", probe.products)
        object.__setattr__(self, "size", probe.size)


def _texts(partner: Partner, field: str) -> tuple[str, ...]:
    value = partner.custom_fields.get(PROFILE_FIELDS[field])
    if not isinstance(value, str):
        return ()
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _degrees(partner: Partner, field: str) -> Decimal | None:
    value = partner.custom_fields.get(PROFILE_FIELDS[field])
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        return None
    try:
        return Decimal(value)
    except (InvalidOperation, ValueError):
        return None


def _profile(partner: Partner, weight: int | None, band: str | None) -> PartnerProfile:
    latitude, longitude = _degrees(partner, "latitude"), _degrees(partner, "longitude")
    if latitude is None or longitude is None:
        latitude = longitude = None
    countries = tuple(c.upper() for c in _texts(partner, "countries"))
    try:
        return PartnerProfile(
            partner.id,
            str(partner.status),
            partner.country,
            countries=countries,
            regions=(partner.region, *_texts(partner, "regions"))
            if partner.region
            else _texts(partner, "regions"),
            products=frozenset(_texts(partner, "products")),
            certifications=frozenset(_texts(partner, "certifications")),
            latitude=latitude,
            longitude=longitude,
            tier_weight=weight,
            health_band=band,
        )
    except ValidationError:
        # Hand-entered fields that do not read (a country code mistyped): the
        # partner is routed on its stored core fields alone.
        return PartnerProfile(
            partner.id, str(partner.status), partner.country, tier_weight=weight, health_band=band
        )


class _LeadServices(_ServicesCore):
    """Leads: intake, routing, answers, the SLA sweep, conversion into deals, fairness."""

    # -- who may see what -----------------------------------------------------

    def _lead(self, uow: UnitOfWork, actor: Actor, action: str, lead_id: str) -> Lead:
        """The lead ``action`` is about, once the actor may do it.

        A partner user reaches only a lead its partner holds; anyone else, with
        a rule of scope ``any``, every lead.

        Raises:
            NotFoundError: If there is none, or the actor may not see it (one error).
            PermissionDeniedError: If it may see the lead but not do ``action``.
        """
        check_id(lead_id, "lead_id")
        lead = _found(uow.leads.get, lead_id, "lead")
        holder = lead.partner_id
        partner = None
        if holder is not None:
            try:
                partner = uow.partners.get(holder)
            except NotFoundError:
                partner = None
        self._allow(actor, action, partner, view=Action.LEAD_VIEW, kind="lead", key=lead_id)
        return lead

    def _shown_lead(self, lead: Lead, actor: Actor) -> Lead:
        """The lead as ``actor`` may see it.

        A partner user sees the customer's contact only once its partner has
        accepted the lead, and nothing about other partners: only its own offers
        (their explanations cut down to its own line) and its own steps. A step
        that follows another partner's (an offer after someone else declined or
        let the lead lapse) is shown as starting from ``new``, as the lead came to
        this partner, and its version counts only what the partner sees (one for
        the lead's arrival, one a step shown), so it cannot tell how many moves
        came before.
        """
        own = actor.partner_id
        if actor.role is not Role.PARTNER_USER or own is None:
            return lead
        shown = lead if lead.accepted_by == own else lead.without_contact()
        offers = tuple(
            attrs.evolve(offer, explanation=_own_line(offer.explanation, own))
            for offer in shown.offers
            if offer.partner_id == own
        )
        history: list[LeadStep] = []
        after_own = False
        for step in shown.history:
            mine = step.partner_id == own
            if mine:
                from_other = not after_own and step.from_status is not LeadStatus.NEW
                history.append(
                    attrs.evolve(step, from_status=LeadStatus.NEW) if from_other else step
                )
            after_own = mine
        return attrs.evolve(shown, offers=offers, history=tuple(history), version=1 + len(history))

    # -- intake and routing ---------------------------------------------------

    def receive_lead(self, actor: Actor, intake: LeadIntake) -> Result[Lead]:
        """Store a new lead (``lead.route``); announced as ``lead.received``.

        Raises:
            PermissionDeniedError: If the actor may not route leads.
        """
        if not isinstance(intake, LeadIntake):
            raise ValidationError.single("intake", "expected a LeadIntake")
        self.policy.check(actor, Action.LEAD_ROUTE)
        lead_id = self.ids("lead")

        def work(uow: UnitOfWork) -> Result[Lead]:
            now = self.clock.now()
            lead = uow.leads.add(
                Lead(
                    lead_id,
                    intake.customer,
                    intake.source,
                    now,
                    products=intake.products,
                    value=intake.value,
                    size=intake.size,
                )
            )
            data: dict[str, Scalar] = {"country": lead.customer.country, "source": lead.source}
            return Result(lead, (Event("lead.received", lead.id, now, actor=actor.id, data=data),))

        return self._run(work)

    def lead_profiles(self, uow: UnitOfWork, policy: RoutingPolicy) -> list[PartnerProfile]:
        """What routing knows of every partner: status, territory, tier weight, band.

        The tier weight is the `partnerkit.tiers.Benefits.lead_weight` of the
        partner's tier in ``policy.program_id`` (or the highest of its current
        tiers in every program); the band is its latest score's from
        ``policy.health_model``; products, certifications, served countries and
        regions and coordinates come from the custom fields in `PROFILE_FIELDS`.
        """
        weights: dict[str, int] = {}
        programs = every(lambda cursor: uow.programs.query(limit=1000, cursor=cursor))
        for stored in programs:
            program = stored.program
            if policy.program_id is not None and program.id != policy.program_id:
                continue
            members = every(
                lambda cursor, pid=program.id: uow.memberships.query(  # type: ignore[misc]
                    program_id=pid, limit=10_000, cursor=cursor
                )
            )
            for membership in members:
                if membership.tier_id is None or membership.status is MembershipStatus.ENDED:
                    continue
                weight = program.tier(membership.tier_id).benefits.lead_weight
                weights[membership.partner_id] = max(weights.get(membership.partner_id, 0), weight)
        bands: dict[str, str | None] = {}
        if policy.health_model is not None:
            model = policy.health_model
            scores = every(lambda cursor: uow.scores.query(model=model, limit=1000, cursor=cursor))
            bands = {score.partner_id: score.band for score in scores}
        partners = every(lambda cursor: uow.partners.query(limit=1000, cursor=cursor))
        return [_profile(p, weights.get(p.id), bands.get(p.id)) for p in partners]

    def lead_loads(self, uow: UnitOfWork, as_of: datetime) -> dict[str, Load]:
        """Each partner's offers on ``as_of``'s UTC day and month, and the leads it holds."""
        month = as_of.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        day = as_of.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        loads: dict[str, Load] = {}
        recent = every(
            lambda cursor: uow.leads.query(offered_since=month, limit=1000, cursor=cursor)
        )
        for lead in recent:
            for offer in lead.offers:
                if offer.offered_at < month or offer.offered_at > as_of:
                    continue
                load = loads.setdefault(offer.partner_id, Load())
                load.month += 1
                load.today += offer.offered_at >= day
                if load.last_offered_at is None or offer.offered_at > load.last_offered_at:
                    load.last_offered_at = offer.offered_at
        for status in (LeadStatus.OFFERED, LeadStatus.ACCEPTED):
            held = every(
                lambda cursor, s=status: uow.leads.query(status=s, limit=1000, cursor=cursor)  # type: ignore[misc]
            )
            for lead in held:
                if lead.partner_id is not None:
                    loads.setdefault(lead.partner_id, Load()).open += 1
        return loads

    def _router(self, uow: UnitOfWork, policy: RoutingPolicy, at: datetime) -> Router:
        if not isinstance(policy, RoutingPolicy):
            raise ValidationError.single("policy", "expected a RoutingPolicy")
        return Router(
            policy, self.lead_profiles(uow, policy), as_of=at, loads=self.lead_loads(uow, at)
        )

    def route_leads(
        self,
        actor: Actor,
        policy: RoutingPolicy,
        *,
        lead_ids: Iterable[str] | None = None,
        limit: int = 1000,
    ) -> Result[tuple[Lead, ...]]:
        """Offer waiting leads to partners under ``policy`` (``lead.route``).

        Routes the given leads, or up to ``limit`` leads that are new, declined
        or lapsed, in id order: each is offered to the partner the policy picks
        (``lead.offered``, with the explanation kept in the offer) or returned to
        the vendor (``lead.returned``). Leads given that are not waiting are left
        as they are. Two routers racing on one lead make one offer: the loser
        reads it again, finds it offered and leaves it.

        Raises:
            PermissionDeniedError: If the actor may not route leads.
            NotFoundError: If a given lead does not exist.
        """
        self.policy.check(actor, Action.LEAD_ROUTE)
        size = _check_limit(limit)
        wanted = None if lead_ids is None else [check_id(i, "lead_ids") for i in lead_ids]

        def work(uow: UnitOfWork) -> Result[tuple[Lead, ...]]:
            now = self.clock.now()
            if wanted is None:
                leads = [
                    lead
                    for status in sorted(ROUTABLE)
                    for lead in uow.leads.query(status=status, limit=size).items
                ]
                leads = sorted(leads, key=lambda lead: lead.id)[:size]
            else:
                leads = [self._lead(uow, actor, Action.LEAD_ROUTE, i) for i in wanted]
            router = self._router(uow, policy, now)
            routed: list[Lead] = []
            events: list[Event] = []
            for lead in leads:
                if lead.status not in ROUTABLE:
                    continue
                moved, more = route_lead(lead, router, actor=actor.id)
                routed.append(uow.leads.update(moved))
                events += more
            return Result(tuple(routed), tuple(events))

        return self._run(work)

    def sweep_leads(
        self, actor: Actor, policy: RoutingPolicy, *, limit: int = 1000
    ) -> Result[tuple[Lead, ...]]:
        """Lapse offers past their SLA and offer those leads again (``lead.route``).

        Each lead whose offer expired by now is lapsed (``lead.lapsed``) and
        offered to the next partner the policy picks, never one that had it, or
        returned to the vendor once it has had ``max_offers`` offers or nobody is
        eligible. At most ``limit`` leads per call; call again until it returns none.

        Raises:
            PermissionDeniedError: If the actor may not route leads.
        """
        self.policy.check(actor, Action.LEAD_ROUTE)
        size = _check_limit(limit)

        def work(uow: UnitOfWork) -> Result[tuple[Lead, ...]]:
            now = self.clock.now()
            due = uow.leads.due_to_lapse(now, limit=size)
            if not due:
                return Result(())
            router = self._router(uow, policy, now)
            changed: list[Lead] = []
            events: list[Event] = []
            for lead in due:
                lapsed, first = lapse(lead, actor=actor.id, at=now)
                router.release(lead.offers[-1].partner_id)
                routed, second = route_lead(lapsed, router, actor=actor.id)
                changed.append(uow.leads.update(routed))
                events += (*first, *second)
            return Result(tuple(changed), tuple(events))

        return self._run(work)

    # -- the partner's answers ------------------------------------------------

    def _answer(
        self,
        actor: Actor,
        lead_id: str,
        move: Callable[[Lead, datetime], tuple[Lead, tuple[Event, ...]]],
    ) -> Result[Lead]:
        def work(uow: UnitOfWork) -> Result[Lead]:
            lead = self._lead(uow, actor, Action.LEAD_RESPOND, lead_id)
            moved, events = move(lead, self.clock.now())
            return Result(uow.leads.update(moved), events)

        result = self._run(work)
        return attrs.evolve(result, value=self._shown_lead(result.value, actor))

    def accept_lead(self, actor: Actor, lead_id: str) -> Result[Lead]:
        """The partner the lead is offered to takes it (``lead.respond``); now it sees the contact.

        Raises:
            NotFoundError: If there is none, or the actor may not see it.
            PermissionDeniedError: If the actor sees it but may not answer for its partner.
            InvalidTransitionError: If it is not offered, or its offer expired.
        """
        return self._answer(
            actor,
            lead_id,
            lambda lead, now: accept(lead, partner_id=_holder(lead), actor=actor.id, at=now),
        )

    def decline_lead(self, actor: Actor, lead_id: str, *, reason: str) -> Result[Lead]:
        """The partner the lead is offered to turns it down, saying why (``lead.respond``).

        The lead waits for the next `route_leads`, which never offers it to this
        partner again.

        Raises:
            NotFoundError: If there is none, or the actor may not see it.
            PermissionDeniedError: If the actor sees it but may not answer for its partner.
            InvalidTransitionError: If it is not offered.
            ValidationError: If no reason is given.
        """
        return self._answer(
            actor,
            lead_id,
            lambda lead, now: decline(
                lead, partner_id=_holder(lead), actor=actor.id, at=now, reason=reason
            ),
        )

    def lose_lead(self, actor: Actor, lead_id: str, *, reason: str) -> Result[Lead]:
        """The accepting partner lost the customer (``lead.respond``).

        Raises:
            NotFoundError: If there is none, or the actor may not see it.
            InvalidTransitionError: If it is not accepted.
            ValidationError: If no reason is given.
        """
        return self._answer(
            actor, lead_id, lambda lead, now: lose(lead, actor=actor.id, at=now, reason=reason)
        )

    def return_lead(self, actor: Actor, lead_id: str, *, reason: str) -> Result[Lead]:
        """Take a lead back to the vendor (``lead.route``); an open offer is withdrawn.

        Raises:
            NotFoundError: If there is none, or the actor may not see it.
            PermissionDeniedError: If the actor may not route leads.
            InvalidTransitionError: If it is converted, lost or returned.
        """

        def work(uow: UnitOfWork) -> Result[Lead]:
            lead = self._lead(uow, actor, Action.LEAD_ROUTE, lead_id)
            moved, events = return_lead(lead, actor=actor.id, at=self.clock.now(), reason=reason)
            return Result(uow.leads.update(moved), events)

        return self._run(work)

    def _convert_lead(
        self, uow: UnitOfWork, actor: Actor, lead_id: str, partner_id: str, deal_id: str
    ) -> None:
        """Convert the accepted lead into the registration ``deal_id``, in ``uow``.

        Called when a deal registration names the lead it comes from; the lead
        must be accepted by the registration's partner. ``lead.converted`` is
        published in the same unit of work.

        Raises:
            NotFoundError: If there is no such lead, or the actor may not see it.
            InvalidTransitionError: If it is not accepted by ``partner_id``.
        """
        lead = self._lead(uow, actor, Action.LEAD_RESPOND, lead_id)
        if lead.status is LeadStatus.ACCEPTED and lead.accepted_by != partner_id:
            raise InvalidTransitionError(
                "lead",
                lead_id,
                f"accepted by {lead.accepted_by}",
                f"convert it for {partner_id}",
                [],
            )
        moved, events = convert(lead, deal_id=deal_id, actor=actor.id, at=self.clock.now())
        uow.leads.update(moved)
        uow.publish(*events)

    # -- reads ----------------------------------------------------------------

    def get_lead(self, actor: Actor, lead_id: str) -> Lead:
        """The lead as the actor may see it (``lead.view``); see `_shown_lead`.

        Raises:
            NotFoundError: If there is none, or the actor may not see it.
        """
        with self.storage.unit_of_work() as uow:
            lead = self._lead(uow, actor, Action.LEAD_VIEW, lead_id)
        return self._shown_lead(lead, actor)

    def list_leads(
        self,
        actor: Actor,
        *,
        status: LeadStatus | None = None,
        partner_id: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[Lead]:
        """The leads the actor may see (``lead.view``) matching every filter, by id.

        A partner user's pages hold only the leads its partner holds (offered,
        accepted, and what became of those), contact hidden until accepted.

        Raises:
            ValidationError: For a ``limit`` outside 1..1000 or a malformed cursor.
        """
        page = self._scoped_page(
            actor,
            Action.LEAD_VIEW,
            partner_id,
            lambda uow, sources, size: uow.leads.query(
                status=status, partner_ids=sources, limit=size, cursor=cursor
            ),
            limit=limit,
        )
        return Page(tuple(self._shown_lead(lead, actor) for lead in page.items), page.next_cursor)

    def lead_fairness(
        self, actor: Actor, policy: RoutingPolicy, *, since: datetime, until: datetime
    ) -> FairnessReport:
        """Offers, acceptances and conversions per partner against their weight share.

        Weights are each partner's lead weight under ``policy`` now (``lead.route``).

        Raises:
            PermissionDeniedError: If the actor may not route leads.
            ValidationError: For naive bounds, or ``until`` not after ``since``.
        """
        self.policy.check(actor, Action.LEAD_ROUTE)
        with self.storage.unit_of_work() as uow:
            weights = {
                profile.partner_id: policy.weight_of(profile.partner_id, profile.tier_weight)
                for profile in self.lead_profiles(uow, policy)
                if profile.status in policy.statuses
            }
            leads = every(
                lambda cursor: uow.leads.query(offered_since=since, limit=1000, cursor=cursor)
            )
        return fairness_report(leads, weights=weights, since=since, until=until)


def _holder(lead: Lead) -> str:
    """The partner the lead is offered to (the lifecycle refuses leads not offered)."""
    offer = lead.current_offer
    return offer.partner_id if offer is not None else "nobody"


def _own_line(explanation: RoutingExplanation, partner_id: str) -> RoutingExplanation:
    return RoutingExplanation(
        explanation.lead_id,
        explanation.policy,
        explanation.ranking,
        explanation.seed,
        explanation.step,
        tuple(c for c in explanation.candidates if c.partner_id == partner_id),
        tuple(e for e in explanation.excluded if e.partner_id == partner_id),
        chosen=explanation.chosen if explanation.chosen == partner_id else None,
    )
