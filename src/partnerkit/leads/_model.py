"""Leads, their offers and their history: the values the lifecycle moves.

A `Lead` is an end customer's enquiry the vendor hands to a partner. It is offered
to one partner at a time (an `Offer`, carrying the `RoutingExplanation` of how that
partner was picked); the partner accepts or declines, or lets the offer lapse,
after which the lead is offered again, until a partner accepts it, the vendor
takes it back, or it runs out of offers. Every step is kept in ``history`` with
who, when and why.
"""

from __future__ import annotations

import enum
import operator
from collections import Counter
from datetime import datetime
from decimal import Decimal
from typing import Final

import attrs

from partnerkit._base.checks import check_enum, check_text
from partnerkit._base.countries import check_country, normalize_email
from partnerkit._base.ids import check_id
from partnerkit._base.money import Money
from partnerkit._base.time import to_utc
from partnerkit.errors import Problems, ValidationError

__all__ = [
    "Candidate",
    "Exclusion",
    "ExclusionReason",
    "Lead",
    "LeadContact",
    "LeadCustomer",
    "LeadStatus",
    "LeadStep",
    "Offer",
    "OfferOutcome",
    "RoutingExplanation",
]

_MAX_REASON: Final = 500
_MAX_TEXT: Final = 200


class LeadStatus(enum.StrEnum):
    """Where a lead is in its lifecycle."""

    NEW = "new"
    """Received, not yet offered to anyone."""
    OFFERED = "offered"
    """Offered to one partner, awaiting its answer until the offer expires."""
    ACCEPTED = "accepted"
    """Taken by the partner it was offered to; its contact is shown to that partner."""
    DECLINED = "declined"
    """The partner declined it; it waits to be offered again."""
    LAPSED = "lapsed"
    """Nobody answered the offer in time; it waits to be offered again."""
    CONVERTED = "converted"
    """Became a deal registration (final)."""
    LOST = "lost"
    """The accepting partner lost the customer (final)."""
    RETURNED = "returned"
    """Handed back to the vendor: no partner qualified, or its offers ran out (final)."""


#: Statuses in which the lead waits for (another) offer.
ROUTABLE: Final = frozenset({LeadStatus.NEW, LeadStatus.DECLINED, LeadStatus.LAPSED})
#: Statuses that end the lifecycle.
FINAL: Final = frozenset({LeadStatus.CONVERTED, LeadStatus.LOST, LeadStatus.RETURNED})
#: Statuses in which a partner holds the lead (it counts towards its open leads).
HELD: Final = frozenset({LeadStatus.OFFERED, LeadStatus.ACCEPTED})


class OfferOutcome(enum.StrEnum):
    """What became of one offer."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    LAPSED = "lapsed"
    WITHDRAWN = "withdrawn"
    """The vendor took the lead back while the offer was open."""


class ExclusionReason(enum.StrEnum):
    """Why a partner in the lead's territory was not a candidate."""

    STATUS = "status"
    """The partner's status is not one the policy routes to (e.g. suspended)."""
    NO_WEIGHT = "tier_weight_0"
    """Its lead weight (tier benefit or policy override) is 0: it receives no leads."""
    PRODUCTS = "products"
    """It does not sell the lead's products."""
    CERTIFICATIONS = "certifications"
    """It lacks a certification the policy requires."""
    DECLINED_BEFORE = "declined_before"
    """It declined this lead before."""
    OFFERED_BEFORE = "offered_before"
    """This lead was offered to it before and lapsed."""
    DAILY_CAP = "daily_cap"
    """It was offered as many leads today as the policy allows."""
    MONTHLY_CAP = "monthly_cap"
    """It was offered as many leads this month as the policy allows."""
    OPEN_CAP = "open_cap"
    """It holds as many open leads as the policy allows."""


def _text(value: object, path: str, problems: Problems, *, required: bool = False) -> str:
    found = problems.check(path, check_text, value, required=required, limit=_MAX_TEXT)
    return "" if found is None else found


def _coordinate(value: object, path: str, limit: int, problems: Problems) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, Decimal, str)):
        problems.add(path, f"expected a decimal number of degrees such as '60.17', got {value!r}")
        return None
    try:
        number = Decimal(value)
    except ArithmeticError:
        problems.add(path, f"{value!r} is not a number of degrees")
        return None
    if not number.is_finite() or not -limit <= number <= limit:
        problems.add(path, f"{value} is outside -{limit}..{limit} degrees")
        return None
    return number


@attrs.frozen
class LeadContact:
    """The person at the customer: shown to a partner only once it accepts the lead.

    Attributes:
        name: Their name.
        email: Their e-mail address (normalised).
        phone: Their phone number, as given.
    """

    name: str = ""
    email: str | None = None
    phone: str = ""

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        object.__setattr__(self, "name", _text(self.name, "name", problems))
        if self.email is not None:
            object.__setattr__(self, "email", problems.check("email", normalize_email, self.email))
        object.__setattr__(self, "phone", _text(self.phone, "phone", problems))
        problems.raise_if_any()


@attrs.frozen
class LeadCustomer:
    """The customer behind a lead: where it is, and whom to call.

    Attributes:
        name: The company's name.
        country: ISO 3166-1 alpha-2 code (``"FI"``).
        region: Free text such as ``"Uusimaa"`` or ``"Nordics"``, matched against
            the regions partners serve.
        latitude: Degrees north (``Decimal``, -90..90), for routing by distance.
        longitude: Degrees east (``Decimal``, -180..180).
        contact: The person to call; hidden from partner users until they accept.
    """

    name: str
    country: str
    region: str = ""
    latitude: Decimal | None = None
    longitude: Decimal | None = None
    contact: LeadContact | None = None

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        fix = object.__setattr__
        fix(self, "name", _text(self.name, "name", problems, required=True))
        fix(self, "country", problems.check("country", check_country, self.country))
        fix(self, "region", _text(self.region, "region", problems))
        if (self.latitude is None) != (self.longitude is None):
            problems.add("longitude", "give both latitude and longitude, or neither")
        fix(self, "latitude", _coordinate(self.latitude, "latitude", 90, problems))
        fix(self, "longitude", _coordinate(self.longitude, "longitude", 180, problems))
        if self.contact is not None and not isinstance(self.contact, LeadContact):
            problems.add("contact", "expected a LeadContact(name, email, phone)")
        problems.raise_if_any()


@attrs.frozen
class Candidate:
    """A partner that could have received the lead, and its weight in the draw.

    Attributes:
        partner_id: The partner.
        weight: Its share in the draw (for ``longest_idle`` and ``round_robin``, 1).
        detail: How the weight was made, in words, when more than the lead weight
            went into it (``"lead weight 3 x band healthy 3 + idle 2 days"``).
    """

    partner_id: str
    weight: int
    detail: str = ""


@attrs.frozen
class Exclusion:
    """A partner in the lead's territory that was left out, and why.

    Attributes:
        partner_id: The partner.
        reason: Why it was left out.
    """

    partner_id: str
    reason: ExclusionReason


@attrs.frozen
class RoutingExplanation:
    """Why a lead went where it went: reproducible from these values alone.

    Attributes:
        lead_id: The lead routed.
        policy: The routing policy's name.
        ranking: The ranking method used.
        seed: The seed the draw used (the policy's seed mixed with the lead id and
            the offer number), so the same inputs draw the same partner.
        step: The territory step the candidates came from (``"country FI"``,
            ``"region Nordics"``, ``"within 2 degrees"``, ``"nearest"``).
        candidates: Every eligible partner with its weight, in the order drawn from.
        excluded: Every partner of the step that was left out, with why.
        out_of_territory: How many partners the step did not reach (not listed).
        draw: The number drawn, ``0 <= draw < total_weight`` (``None`` when the
            ranking draws nothing, or nobody was eligible).
        total_weight: The sum of the candidates' weights.
        chosen: The partner the lead goes to; ``None`` returns it to the vendor.
    """

    lead_id: str
    policy: str
    ranking: str
    seed: int
    step: str
    candidates: tuple[Candidate, ...] = ()
    excluded: tuple[Exclusion, ...] = ()
    out_of_territory: int = 0
    draw: int | None = None
    total_weight: int = 0
    chosen: str | None = None

    def replay(self) -> str | None:
        """The partner the recorded draw picks from the recorded candidates.

        Equal to ``chosen`` for every weighted draw: a check anyone can run on a
        stored explanation.
        """
        if self.draw is None:
            return self.chosen
        running = 0
        for candidate in self.candidates:
            running += candidate.weight
            if self.draw < running:
                return candidate.partner_id
        return None

    def reasons(self) -> str:
        """The decision in a few words, for a command line or a log."""
        if self.chosen is None:
            counted = _counted(self.excluded)
            return f"no eligible partner ({self.step}); {counted or 'nobody in territory'}"
        mine = next((c for c in self.candidates if c.partner_id == self.chosen), None)
        weight = "" if mine is None else f", weight {mine.weight} of {self.total_weight}"
        how = {
            "weighted_random": f"drew {self.draw}",
            "combined": f"drew {self.draw}",
            "health": f"best band, drew {self.draw}",
            "longest_idle": "longest idle",
            "round_robin": "next in turn",
        }.get(self.ranking, self.ranking)
        counted = _counted(self.excluded)
        excluded = f"; excluded {counted}" if counted else ""
        count = len(self.candidates)
        plural = "" if count == 1 else "s"
        return f"{self.step}: {count} candidate{plural}, {how}{weight}{excluded}"


def _counted(excluded: tuple[Exclusion, ...]) -> str:
    # Counted in C: an explanation may list thousands of exclusions.
    counts = Counter(map(_REASON, excluded))
    return ", ".join(f"{counts[reason]} {reason}" for reason in sorted(counts))


_REASON: Final = operator.attrgetter("reason")


@attrs.frozen
class Offer:
    """One offer of the lead to one partner, and what became of it.

    Attributes:
        partner_id: The partner offered the lead.
        offered_at: When.
        expires_at: When it lapses unless answered.
        explanation: How the partner was picked.
        outcome: What became of it.
        answered_at: When it was accepted, declined, lapsed or withdrawn.
        reason: Why it was declined or withdrawn.
    """

    partner_id: str
    offered_at: datetime
    expires_at: datetime
    explanation: RoutingExplanation
    outcome: OfferOutcome = OfferOutcome.PENDING
    answered_at: datetime | None = None
    reason: str = ""

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        fix = object.__setattr__
        problems.check("partner_id", check_id, self.partner_id, "")
        offered = problems.check("offered_at", to_utc, self.offered_at, "")
        expires = problems.check("expires_at", to_utc, self.expires_at, "")
        fix(self, "offered_at", offered)
        fix(self, "expires_at", expires)
        if offered is not None and expires is not None and expires <= offered:
            problems.add("expires_at", "an offer must expire after it is made")
        if not isinstance(self.explanation, RoutingExplanation):
            problems.add("explanation", "expected a RoutingExplanation")
        fix(self, "outcome", problems.check("outcome", check_enum, OfferOutcome, self.outcome))
        if self.answered_at is not None:
            fix(self, "answered_at", problems.check("answered_at", to_utc, self.answered_at, ""))
        fix(self, "reason", _reason(self.reason, problems))
        if (self.outcome is OfferOutcome.PENDING) != (self.answered_at is None):
            problems.add("answered_at", "set it exactly when the offer is no longer pending")
        problems.raise_if_any()


def _reason(value: object, problems: Problems) -> str:
    found = problems.check("reason", check_text, value, required=False, limit=_MAX_REASON)
    return "" if found is None else found


@attrs.frozen
class LeadStep:
    """One move of a lead: from which status to which, who made it, when and why.

    Attributes:
        from_status: The status before.
        to_status: The status after.
        actor: Who moved it (a user id, or the routing job's name).
        at: When.
        partner_id: The partner concerned (offered, accepting, declining...).
        reason: Why, where a reason belongs (declines, losses, returns).
    """

    from_status: LeadStatus
    to_status: LeadStatus
    actor: str
    at: datetime
    partner_id: str | None = None
    reason: str = ""

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        fix = object.__setattr__
        for path in ("from_status", "to_status"):
            fix(self, path, problems.check(path, check_enum, LeadStatus, getattr(self, path)))
        problems.check("actor", check_id, self.actor, "")
        fix(self, "at", problems.check("at", to_utc, self.at, ""))
        fix(self, "reason", _reason(self.reason, problems))
        problems.raise_if_any()


def _products(value: object, problems: Problems) -> tuple[str, ...]:
    if isinstance(value, (str, bytes)):
        problems.add("products", "expected a list of products, not one string")
        return ()
    found: list[str] = []
    for index, item in enumerate(tuple(value) if isinstance(value, (tuple, list)) else ()):
        text = problems.check(f"products[{index}]", check_text, item, required=True, limit=100)
        if text is not None and text not in found:
            found.append(text)
    if not isinstance(value, (tuple, list)):
        problems.add("products", "expected a list of products")
    return tuple(found)


@attrs.frozen
class Lead:
    """A customer enquiry the vendor routes to partners.

    Build one with its id, customer, source and ``received_at``; move it with
    `partnerkit.leads.offer`, `accept`, `decline`, `lapse`, `convert`, `lose` and
    `return_lead`, which keep every move in ``history``.

    Attributes:
        id: Opaque id (``new_id("lead")``).
        customer: Who asks, where, and whom to call.
        source: Where the lead came from (``"web form"``, ``"event"``).
        received_at: When it arrived.
        products: What the customer is interested in.
        value: The expected deal value, when known.
        size: The customer's size as the source gives it (``"50-200"``).
        status: Where the lead is; change it through the lifecycle functions.
        offers: Every offer made, oldest first; at most the last one is pending.
        history: Every move, oldest first.
        deal_id: The deal registration it became, once converted.
        updated_at: When it last changed.
        version: The stored version this value was read at (0 before first save).
    """

    id: str
    customer: LeadCustomer
    source: str
    received_at: datetime
    products: tuple[str, ...] = ()
    value: Money | None = None
    size: str = ""
    status: LeadStatus = LeadStatus.NEW
    offers: tuple[Offer, ...] = ()
    history: tuple[LeadStep, ...] = ()
    deal_id: str | None = None
    updated_at: datetime | None = None
    version: int = 0

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        fix = object.__setattr__
        problems.check("id", check_id, self.id, "")
        if not isinstance(self.customer, LeadCustomer):
            problems.add("customer", "expected a LeadCustomer(name, country, ...)")
        fix(self, "source", _text(self.source, "source", problems))
        received = problems.check("received_at", to_utc, self.received_at, "")
        fix(self, "received_at", received)
        fix(self, "products", _products(self.products, problems))
        if self.value is not None and (not isinstance(self.value, Money) or self.value.amount < 0):
            problems.add("value", "expected Money that is not negative, or None")
        fix(self, "size", _text(self.size, "size", problems))
        status = problems.check("status", check_enum, LeadStatus, self.status)
        fix(self, "status", status)
        for path, cls in (("offers", Offer), ("history", LeadStep)):
            items = getattr(self, path)
            if not isinstance(items, (tuple, list)):
                problems.add(path, "expected a list")
                items = ()
            for index, item in enumerate(items):
                if not isinstance(item, cls):
                    problems.add(f"{path}[{index}]", f"expected a {cls.__name__}")
            fix(self, path, tuple(items))
        if self.deal_id is not None:
            problems.check("deal_id", check_id, self.deal_id, "")
        fix(
            self,
            "updated_at",
            received
            if self.updated_at is None
            else problems.check("updated_at", to_utc, self.updated_at, ""),
        )
        if isinstance(self.version, bool) or not isinstance(self.version, int) or self.version < 0:
            problems.add("version", "expected a whole number, 0 or more")
        problems.raise_if_any()
        self._check_consistency(problems)
        problems.raise_if_any()

    def _check_consistency(self, problems: Problems) -> None:
        pending = [i for i, o in enumerate(self.offers) if o.outcome is OfferOutcome.PENDING]
        if pending and pending != [len(self.offers) - 1]:
            problems.add("offers", "only the last offer may be pending")
        if (self.status is LeadStatus.OFFERED) != bool(pending):
            problems.add("status", "a lead is 'offered' exactly while its last offer is pending")
        if (self.status is LeadStatus.CONVERTED) != (self.deal_id is not None):
            problems.add("deal_id", "a converted lead names its deal, and only a converted one")

    @property
    def current_offer(self) -> Offer | None:
        """The last offer, if the lead was ever offered."""
        return self.offers[-1] if self.offers else None

    @property
    def partner_id(self) -> str | None:
        """The partner holding the lead: offered to it, or accepted (and after)."""
        offer = self.current_offer
        if offer is None or offer.outcome not in (OfferOutcome.PENDING, OfferOutcome.ACCEPTED):
            return None
        return offer.partner_id

    @property
    def offer_expires_at(self) -> datetime | None:
        """When the pending offer lapses (``None`` unless the lead is offered)."""
        offer = self.current_offer
        return offer.expires_at if self.status is LeadStatus.OFFERED and offer else None

    @property
    def last_offered_at(self) -> datetime | None:
        """When the lead was last offered to anyone."""
        offer = self.current_offer
        return None if offer is None else offer.offered_at

    @property
    def accepted_by(self) -> str | None:
        """The partner that accepted the lead, if one did."""
        found = [o.partner_id for o in self.offers if o.outcome is OfferOutcome.ACCEPTED]
        return found[-1] if found else None

    def without_contact(self) -> Lead:
        """The lead as a partner that has not accepted it may see it: no contact."""
        if self.customer.contact is None:
            return self
        return attrs.evolve(self, customer=attrs.evolve(self.customer, contact=None))


def check_lead(value: object) -> Lead:
    """``value`` if it is a `Lead`; otherwise a `ValidationError`."""
    if not isinstance(value, Lead):
        raise ValidationError.single("lead", f"expected a Lead, got {type(value).__name__}")
    return value
