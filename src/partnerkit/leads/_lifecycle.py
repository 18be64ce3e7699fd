"""The lead lifecycle: each move a pure function returning the new lead and its event.

::

    new ─ offer ─▶ offered ─ accept ─▶ accepted ─ convert ─▶ converted
                     │  │                  └─ lose ─▶ lost
             decline │  │ lapse (SLA passed)
                     ▼  ▼
               declined / lapsed ─ offer ─▶ offered ...  (re-offer)
    any non-final ─ return_lead ─▶ returned (to the vendor)

Every move appends a `LeadStep` (who, when, why) to ``history``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import attrs

from partnerkit._base.checks import check_text
from partnerkit._base.events import Change, Event
from partnerkit._base.ids import check_id
from partnerkit._base.time import to_utc
from partnerkit.errors import InvalidTransitionError, ValidationError
from partnerkit.leads._model import (
    FINAL,
    ROUTABLE,
    Lead,
    LeadStatus,
    LeadStep,
    Offer,
    OfferOutcome,
    RoutingExplanation,
    check_lead,
)

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime

    from partnerkit._base.events import Scalar
    from partnerkit.leads._routing import Router

__all__ = [
    "accept",
    "convert",
    "decline",
    "lapse",
    "lose",
    "offer",
    "return_lead",
    "route_lead",
    "sweep",
]

_S = LeadStatus
#: What each move may start from.
_SOURCES: Final = {
    "offer": ROUTABLE,
    "accept": frozenset({_S.OFFERED}),
    "decline": frozenset({_S.OFFERED}),
    "lapse": frozenset({_S.OFFERED}),
    "convert": frozenset({_S.ACCEPTED}),
    "lose": frozenset({_S.ACCEPTED}),
    "return": frozenset(_S) - FINAL,
}


def _allowed(status: LeadStatus) -> list[str]:
    return [move for move, sources in _SOURCES.items() if status in sources]


def _refuse(lead: Lead, move: str) -> InvalidTransitionError:
    return InvalidTransitionError("lead", lead.id, lead.status.value, move, _allowed(lead.status))


def _start(lead: object, move: str, actor: str, at: datetime) -> tuple[Lead, datetime]:
    checked = check_lead(lead)
    check_id(actor, "actor")
    when = to_utc(at, "at")
    if checked.status not in _SOURCES[move]:
        raise _refuse(checked, move)
    return checked, when


def _reason(reason: object, *, required: bool) -> str:
    try:
        return check_text(reason, required=required, limit=500)
    except ValidationError as error:
        hint = "; say why" if required else ""
        raise ValidationError.single("reason", f"{error.problems[0].message}{hint}") from None


def _move(
    lead: Lead,
    to: LeadStatus,
    *,
    actor: str,
    at: datetime,
    partner_id: str | None,
    reason: str = "",
    offers: tuple[Offer, ...] | None = None,
    deal_id: str | None = None,
    data: dict[str, Scalar] | None = None,
) -> Change[Lead]:
    step = LeadStep(lead.status, to, actor, at, partner_id, reason)
    moved = attrs.evolve(
        lead,
        status=to,
        offers=lead.offers if offers is None else offers,
        history=(*lead.history, step),
        deal_id=deal_id if deal_id is not None else lead.deal_id,
        updated_at=at,
    )
    details: dict[str, Scalar] = {"partner_id": partner_id, "from_status": lead.status.value}
    if reason:
        details["reason"] = reason
    details.update(data or {})
    event = Event(f"lead.{to.value}", lead.id, at, actor=actor, data=details)
    return Change(moved, (event,))


def _answered(
    lead: Lead, outcome: OfferOutcome, at: datetime, reason: str = ""
) -> tuple[Offer, ...]:
    last = lead.offers[-1]
    answered = attrs.evolve(last, outcome=outcome, answered_at=at, reason=reason)
    return (*lead.offers[:-1], answered)


def offer(
    lead: Lead,
    explanation: RoutingExplanation,
    *,
    actor: str,
    at: datetime,
    expires_at: datetime,
) -> Change[Lead]:
    """Offer the lead to the partner ``explanation`` chose (``lead.offered``).

    Raises:
        InvalidTransitionError: If the lead is not new, declined or lapsed.
        ValidationError: If the explanation is of another lead or chose nobody
            (return the lead with `return_lead` instead).
    """
    checked, when = _start(lead, "offer", actor, at)
    if not isinstance(explanation, RoutingExplanation) or explanation.lead_id != checked.id:
        raise ValidationError.single(
            "explanation", f"expected the routing explanation of {checked.id!r}"
        )
    if explanation.chosen is None:
        raise ValidationError.single(
            "explanation", "it chose no partner; return the lead to the vendor with return_lead"
        )
    made = Offer(explanation.chosen, when, to_utc(expires_at, "expires_at"), explanation)
    data: dict[str, Scalar] = {
        "expires_at": made.expires_at.isoformat(),
        "offer": len(checked.offers) + 1,
        "reasons": explanation.reasons(),
    }
    return _move(
        checked,
        _S.OFFERED,
        actor=actor,
        at=when,
        partner_id=explanation.chosen,
        offers=(*checked.offers, made),
        data=data,
    )


def _holder(lead: Lead, partner_id: str, move: str) -> None:
    offered = lead.offers[-1].partner_id
    if partner_id != offered:
        raise InvalidTransitionError(
            "lead", lead.id, f"offered to {offered}", f"{move} it for {partner_id}", []
        )


def accept(lead: Lead, *, partner_id: str, actor: str, at: datetime) -> Change[Lead]:
    """The partner the lead is offered to takes it (``lead.accepted``).

    Raises:
        InvalidTransitionError: If the lead is not offered, is offered to another
            partner, or its offer expired (it lapses at the next sweep).
    """
    checked, when = _start(lead, "accept", actor, at)
    _holder(checked, partner_id, "accept")
    current = checked.offers[-1]
    if when >= current.expires_at:
        raise InvalidTransitionError(
            "lead",
            checked.id,
            f"offered until {current.expires_at.isoformat()}",
            "accept it now (the offer has expired)",
            [],
        )
    waited = int((when - current.offered_at).total_seconds())
    return _move(
        checked,
        _S.ACCEPTED,
        actor=actor,
        at=when,
        partner_id=partner_id,
        offers=_answered(checked, OfferOutcome.ACCEPTED, when),
        data={"seconds_to_accept": waited},
    )


def decline(lead: Lead, *, partner_id: str, actor: str, at: datetime, reason: str) -> Change[Lead]:
    """The partner the lead is offered to turns it down, saying why (``lead.declined``).

    It will not be offered the lead again.

    Raises:
        InvalidTransitionError: If the lead is not offered to ``partner_id``.
        ValidationError: If no reason is given.
    """
    checked, when = _start(lead, "decline", actor, at)
    _holder(checked, partner_id, "decline")
    why = _reason(reason, required=True)
    return _move(
        checked,
        _S.DECLINED,
        actor=actor,
        at=when,
        partner_id=partner_id,
        reason=why,
        offers=_answered(checked, OfferOutcome.DECLINED, when, why),
    )


def lapse(lead: Lead, *, actor: str, at: datetime) -> Change[Lead]:
    """The offer passed its SLA unanswered (``lead.lapsed``).

    Raises:
        InvalidTransitionError: If the lead is not offered, or its offer has not
            expired at ``at``.
    """
    checked, when = _start(lead, "lapse", actor, at)
    current = checked.offers[-1]
    if when < current.expires_at:
        raise InvalidTransitionError(
            "lead",
            checked.id,
            f"offered until {current.expires_at.isoformat()}",
            "lapse it before then",
            [],
        )
    return _move(
        checked,
        _S.LAPSED,
        actor=actor,
        at=when,
        partner_id=current.partner_id,
        reason="not answered in time",
        offers=_answered(checked, OfferOutcome.LAPSED, when, "not answered in time"),
    )


def convert(lead: Lead, *, deal_id: str, actor: str, at: datetime) -> Change[Lead]:
    """The accepted lead became the deal registration ``deal_id`` (``lead.converted``).

    Raises:
        InvalidTransitionError: If the lead is not accepted.
    """
    checked, when = _start(lead, "convert", actor, at)
    check_id(deal_id, "deal_id")
    return _move(
        checked,
        _S.CONVERTED,
        actor=actor,
        at=when,
        partner_id=checked.accepted_by,
        deal_id=deal_id,
        data={"deal_id": deal_id},
    )


def lose(lead: Lead, *, actor: str, at: datetime, reason: str) -> Change[Lead]:
    """The accepting partner lost the customer (``lead.lost``).

    Raises:
        InvalidTransitionError: If the lead is not accepted.
        ValidationError: If no reason is given.
    """
    checked, when = _start(lead, "lose", actor, at)
    return _move(
        checked,
        _S.LOST,
        actor=actor,
        at=when,
        partner_id=checked.accepted_by,
        reason=_reason(reason, required=True),
    )


def return_lead(lead: Lead, *, actor: str, at: datetime, reason: str) -> Change[Lead]:
    """Hand the lead back to the vendor (``lead.returned``); an open offer is withdrawn.

    Raises:
        InvalidTransitionError: If the lead is converted, lost or returned.
        ValidationError: If no reason is given.
    """
    checked, when = _start(lead, "return", actor, at)
    why = _reason(reason, required=True)
    offers = None
    if checked.status is _S.OFFERED:
        offers = _answered(checked, OfferOutcome.WITHDRAWN, when, why)
    return _move(
        checked,
        _S.RETURNED,
        actor=actor,
        at=when,
        partner_id=checked.partner_id,
        reason=why,
        offers=offers,
    )


def route_lead(lead: Lead, router: Router, *, actor: str) -> Change[Lead]:
    """Offer the lead to the partner ``router`` picks, or return it to the vendor.

    It is returned when it has had the policy's ``max_offers`` offers, or when no
    partner is eligible (the reason names what excluded them). The offer is made
    at the router's instant and expires ``accept_within`` later.

    Raises:
        InvalidTransitionError: If the lead is not new, declined or lapsed.
    """
    checked, when = _start(lead, "offer", actor, router.as_of)
    policy = router.policy
    if len(checked.offers) >= policy.max_offers:
        reason = f"offered {len(checked.offers)} times without being taken (max_offers)"
        return return_lead(checked, actor=actor, at=when, reason=reason)
    explanation = router.route(checked)
    if explanation.chosen is None:
        return return_lead(checked, actor=actor, at=when, reason=explanation.reasons())
    expires = when + policy.accept_within
    return offer(checked, explanation, actor=actor, at=when, expires_at=expires)


def sweep(leads: Iterable[Lead], router: Router, *, actor: str) -> Change[tuple[Lead, ...]]:
    """Lapse every offer past its SLA at the router's instant, and offer those leads again.

    A lapsed lead goes to the next partner the router picks (never one that had
    it before), or back to the vendor once it has had ``max_offers`` offers or
    nobody is eligible. Leads whose offer still runs are left out of the result.

    Returns:
        The leads changed, and their events in order (``lead.lapsed``, then
        ``lead.offered`` or ``lead.returned`` for each).
    """
    changed: list[Lead] = []
    events: list[Event] = []
    for lead in leads:
        expires = lead.offer_expires_at
        if expires is None or expires > router.as_of:
            continue
        lapsed, first = lapse(lead, actor=actor, at=router.as_of)
        router.release(lead.offers[-1].partner_id)
        routed, second = route_lead(lapsed, router, actor=actor)
        changed.append(routed)
        events += (*first, *second)
    return Change(tuple(changed), tuple(events))
