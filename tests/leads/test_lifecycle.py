"""The lead lifecycle: every move kept with who, when and why; SLA sweeps; fairness."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from partnerkit.errors import InvalidTransitionError, ValidationError
from partnerkit.leads import (
    Lead,
    LeadContact,
    LeadCustomer,
    LeadStatus,
    OfferOutcome,
    PartnerProfile,
    Router,
    RoutingPolicy,
    accept,
    convert,
    decline,
    fairness_report,
    lapse,
    lose,
    return_lead,
    route_lead,
    sweep,
)
from partnerkit.serialization import from_json, to_json

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)
HOUR = timedelta(hours=1)
POLICY = RoutingPolicy("test", max_offers=2)


def new_lead(lead_id: str = "lead_1") -> Lead:
    contact = LeadContact("Anna Virtanen", "anna@acme.fi", "+358 40 123")
    return Lead(lead_id, LeadCustomer("Acme Oy", "FI", contact=contact), "web form", NOW)


def routing(at: datetime = NOW, *partners: str, policy: RoutingPolicy = POLICY) -> Router:
    ids = partners or ("ptn_a", "ptn_b", "ptn_c")
    return Router(policy, [PartnerProfile(p, "active", "FI", tier_weight=1) for p in ids], as_of=at)


def offered(lead: Lead | None = None, at: datetime = NOW) -> Lead:
    return route_lead(lead or new_lead(), routing(at), actor="router").value


def test_routing_offers_the_lead_with_its_explanation_and_sla() -> None:
    lead, events = route_lead(new_lead(), routing(), actor="router")
    assert lead.status is LeadStatus.OFFERED
    assert lead.offer_expires_at == NOW + timedelta(hours=24)
    assert lead.current_offer is not None
    assert lead.current_offer.explanation.chosen == lead.partner_id
    assert [e.kind for e in events] == ["lead.offered"]
    assert events[0].data["partner_id"] == lead.partner_id


def test_every_step_is_kept_with_who_when_and_why() -> None:
    lead = offered()
    declined, _ = decline(
        lead, partner_id=lead.partner_id or "", actor="usr_1", at=NOW + HOUR, reason="no capacity"
    )
    again = offered(declined, NOW + 2 * HOUR)
    taken, _ = accept(again, partner_id=again.partner_id or "", actor="usr_2", at=NOW + 3 * HOUR)
    done, events = convert(taken, deal_id="deal_1", actor="usr_2", at=NOW + 4 * HOUR)
    assert [(s.from_status, s.to_status, s.actor, s.at, s.reason) for s in done.history] == [
        (LeadStatus.NEW, LeadStatus.OFFERED, "router", NOW, ""),
        (LeadStatus.OFFERED, LeadStatus.DECLINED, "usr_1", NOW + HOUR, "no capacity"),
        (LeadStatus.DECLINED, LeadStatus.OFFERED, "router", NOW + 2 * HOUR, ""),
        (LeadStatus.OFFERED, LeadStatus.ACCEPTED, "usr_2", NOW + 3 * HOUR, ""),
        (LeadStatus.ACCEPTED, LeadStatus.CONVERTED, "usr_2", NOW + 4 * HOUR, ""),
    ]
    assert [o.outcome for o in done.offers] == [OfferOutcome.DECLINED, OfferOutcome.ACCEPTED]
    assert done.deal_id == "deal_1"
    assert events[0].kind == "lead.converted"
    assert events[0].data["deal_id"] == "deal_1"
    assert from_json(Lead, to_json(done)) == done


def test_only_the_partner_offered_the_lead_may_answer() -> None:
    lead = offered()
    other = next(p for p in ("ptn_a", "ptn_b") if p != lead.partner_id)
    with pytest.raises(InvalidTransitionError):
        accept(lead, partner_id=other, actor="usr_1", at=NOW + HOUR)


def test_an_expired_offer_cannot_be_accepted() -> None:
    lead = offered()
    with pytest.raises(InvalidTransitionError, match="expired"):
        accept(lead, partner_id=lead.partner_id or "", actor="usr_1", at=NOW + 24 * HOUR)


def test_a_decline_needs_a_reason() -> None:
    lead = offered()
    with pytest.raises(ValidationError, match="say why"):
        decline(lead, partner_id=lead.partner_id or "", actor="usr_1", at=NOW, reason=" ")


def test_an_offer_lapses_only_after_its_sla() -> None:
    lead = offered()
    with pytest.raises(InvalidTransitionError):
        lapse(lead, actor="router", at=NOW + 23 * HOUR)
    lapsed, events = lapse(lead, actor="router", at=NOW + 24 * HOUR)
    assert lapsed.status is LeadStatus.LAPSED
    assert events[0].kind == "lead.lapsed"


def test_the_sweep_lapses_and_reoffers_then_returns_after_max_offers() -> None:
    first = offered()
    later = NOW + 25 * HOUR
    (second,), events = sweep(
        [first, offered(new_lead("lead_2"), later)], routing(later), actor="router"
    )
    assert [e.kind for e in events] == ["lead.lapsed", "lead.offered"]
    assert second.partner_id != first.partner_id
    (third,), events = sweep([second], routing(later + 25 * HOUR), actor="router")
    assert [e.kind for e in events] == ["lead.lapsed", "lead.returned"]
    assert third.status is LeadStatus.RETURNED
    assert "max_offers" in third.history[-1].reason


def test_a_lead_nobody_may_take_returns_to_the_vendor_saying_why() -> None:
    zero = RoutingPolicy("test", weights={"ptn_a": 0})
    lead, events = route_lead(new_lead(), routing(NOW, "ptn_a", policy=zero), actor="router")
    assert lead.status is LeadStatus.RETURNED
    assert lead.history[-1].reason == "no eligible partner (country FI); 1 tier_weight_0"
    assert events[0].kind == "lead.returned"


def test_returning_an_offered_lead_withdraws_the_offer() -> None:
    lead, _ = return_lead(offered(), actor="mgr_1", at=NOW + HOUR, reason="direct sale")
    assert lead.offers[-1].outcome is OfferOutcome.WITHDRAWN
    with pytest.raises(InvalidTransitionError, match="final"):
        return_lead(lead, actor="mgr_1", at=NOW + HOUR, reason="again")


def test_a_lost_lead_keeps_its_reason() -> None:
    lead = offered()
    taken, _ = accept(lead, partner_id=lead.partner_id or "", actor="usr_1", at=NOW + HOUR)
    lost, events = lose(taken, actor="usr_1", at=NOW + 2 * HOUR, reason="went with a competitor")
    assert (lost.status, lost.history[-1].reason) == (LeadStatus.LOST, "went with a competitor")
    assert events[0].kind == "lead.lost"


def test_a_lead_without_contact_hides_only_the_contact() -> None:
    lead = new_lead()
    hidden = lead.without_contact()
    assert hidden.customer.contact is None
    assert hidden.customer.name == lead.customer.name


def test_coordinates_come_in_pairs_and_in_range() -> None:
    with pytest.raises(ValidationError) as caught:
        LeadCustomer("Acme", "FI", latitude=Decimal(60))
    assert caught.value.paths == ("longitude",)
    with pytest.raises(ValidationError) as caught:
        LeadCustomer("Acme", "FI", latitude=Decimal(91), longitude=Decimal(25))
    assert caught.value.paths == ("latitude",)


def test_fairness_compares_offers_with_weight_shares() -> None:
    leads = []
    for n in range(4):
        lead = offered(new_lead(f"lead_{n}"))
        if n % 2:
            lead, _ = accept(lead, partner_id=lead.partner_id or "", actor="usr_1", at=NOW + HOUR)
        leads.append(lead)
    report = fairness_report(
        leads, weights={"ptn_a": 1, "ptn_b": 1, "ptn_c": 2}, since=NOW, until=NOW + HOUR
    )
    assert report.offered == 4
    assert sum(row.offered for row in report.rows) == 4
    assert sum(row.accepted for row in report.rows) == 2
    row_c = report.row("ptn_c")
    assert row_c is not None
    assert row_c.weight_share == Decimal("0.5")
    accepted = [row for row in report.rows if row.accepted]
    assert all(row.median_time_to_accept == HOUR for row in accepted)
