"""Attribution rules as the guide states them; shares and amounts always add up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from partnerkit import Money, ValidationError
from partnerkit.attribution import (
    AttributionRules,
    CreditRole,
    Split,
    Touch,
    TouchKind,
    WonDeal,
    attribute,
    rules_from_dict,
    won_deal,
)
from partnerkit.deals import Customer, DealRegistration, approve, submit, win

CREATED = datetime(2026, 5, 1, tzinfo=UTC)
WON = datetime(2026, 6, 1, tzinfo=UTC)


def deal(*touches: Touch, amount: str = "1000", lead_id: str | None = None) -> WonDeal:
    return WonDeal("deal_1", Money(amount, "USD"), CREATED, WON, touches, lead_id=lead_id)


def touch(partner: str, kind: TouchKind, days_before_creation: int, **kw: object) -> Touch:
    return Touch(partner, kind, CREATED - timedelta(days=days_before_creation), **kw)  # type: ignore[arg-type]


def credits_of(report_deal: object) -> list[tuple[str | None, str, str, str]]:
    return [
        (c.partner_id, c.role.value, str(c.share), str(c.amount.amount))
        for c in report_deal.credits  # type: ignore[attr-defined]
    ]


def test_a_registration_within_the_window_sources_the_deal() -> None:
    result = attribute([deal(touch("ptn_a", TouchKind.REGISTRATION, 12))]).deals[0]

    assert result.category is CreditRole.SOURCED
    assert credits_of(result) == [("ptn_a", "sourced", "1.000000", "1000.00")]
    assert (
        "12 days before the opportunity was created (window 30 days): sourced" in result.reasons[0]
    )


def test_a_registration_before_the_window_only_influences() -> None:
    result = attribute([deal(touch("ptn_a", TouchKind.REGISTRATION, 45))]).deals[0]

    assert result.category is CreditRole.INFLUENCED
    assert credits_of(result) == [
        ("ptn_a", "influenced", "0.300000", "300.00"),
        (None, "unattributed", "0.700000", "700.00"),
    ]


def test_influencers_share_their_part_and_the_source_keeps_the_rest() -> None:
    report = attribute(
        [
            deal(
                touch("ptn_a", TouchKind.REGISTRATION, 3),
                touch("ptn_b", TouchKind.INFLUENCE, -5),
                touch("ptn_c", TouchKind.INFLUENCE, -6),
            )
        ]
    )

    assert credits_of(report.deals[0]) == [
        ("ptn_a", "sourced", "0.700000", "700.00"),
        ("ptn_b", "influenced", "0.150000", "150.00"),
        ("ptn_c", "influenced", "0.150000", "150.00"),
    ]
    assert [
        (p.partner_id, str(p.sourced.amount), str(p.influenced.amount)) for p in report.partners
    ] == [
        ("ptn_a", "700.00", "0.00"),
        ("ptn_b", "0.00", "150.00"),
        ("ptn_c", "0.00", "150.00"),
    ]


def test_three_way_splits_lose_no_cent() -> None:
    touches = [touch(p, TouchKind.SOURCED, 1) for p in ("ptn_a", "ptn_b", "ptn_c")]

    result = attribute([deal(*touches, amount="100")]).deals[0]

    assert [str(c.amount.amount) for c in result.credits] == ["33.34", "33.33", "33.33"]
    assert sum(c.share for c in result.credits) == 1


def test_split_by_weight() -> None:
    rules = AttributionRules(split=Split.WEIGHT)
    touches = [
        touch("ptn_a", TouchKind.SOURCED, 1, weight=Decimal(3)),
        touch("ptn_b", TouchKind.SOURCED, 1),
    ]

    result = attribute([deal(*touches)], rules).deals[0]

    assert credits_of(result) == [
        ("ptn_a", "sourced", "0.750000", "750.00"),
        ("ptn_b", "sourced", "0.250000", "250.00"),
    ]


def test_a_deal_from_a_routed_lead_is_sourced_by_the_partner_it_went_to() -> None:
    lead = touch("ptn_a", TouchKind.LEAD, 40, lead_id="lead_7")

    sourced = attribute([deal(lead, lead_id="lead_7")]).deals[0]
    other = attribute([deal(lead, lead_id="lead_8")]).deals[0]
    off = attribute([deal(lead, lead_id="lead_7")], AttributionRules(lead_sources=False)).deals[0]

    assert sourced.category is CreditRole.SOURCED
    assert (other.category, off.category) == (CreditRole.INFLUENCED, CreditRole.INFLUENCED)


def test_touches_after_the_win_are_ignored_and_nobody_leaves_it_unattributed() -> None:
    late = Touch("ptn_a", TouchKind.INFLUENCE, WON + timedelta(days=1))

    result = attribute([deal(late)]).deals[0]

    assert credits_of(result) == [(None, "unattributed", "1.000000", "1000.00")]
    assert result.reasons == ("ptn_a influence 2026-06-02: after the win, ignored",)


def test_a_won_registration_is_sourced_by_its_partner() -> None:
    at = datetime(2026, 3, 1, tzinfo=UTC)
    draft = DealRegistration(
        id="d_1",
        partner_id="ptn_a",
        customer=Customer("Acme", "FI"),
        amount=Money("5000", "EUR"),
        expected_close_on=at.date() + timedelta(days=30),
        registered_at=at,
        products=("core",),
    )
    current = approve(submit(draft, actor="usr_p", at=at).value, actor="usr_m", at=at).value
    won = win(current, actor="usr_m", at=at + timedelta(days=20)).value

    report = attribute([won_deal(won, program_id="prg_1")])

    assert report.programs[0].program_id == "prg_1"
    assert report.programs[0].sourced == Money("5000", "EUR")
    assert "d_1 5,000.00 EUR: sourced: ptn_a sourced 100.00%" in report.deals[0].explain()
    assert "<td" in report._repr_html_()
    assert report.to_records()[0]["amount"] == Decimal(5000)
    with pytest.raises(ValidationError, match="attribute won deals"):
        won_deal(current)


def test_a_won_registration_from_a_lead_is_sourced_through_its_lead_id() -> None:
    at = datetime(2026, 3, 1, tzinfo=UTC)
    draft = DealRegistration(
        id="d_2",
        partner_id="ptn_a",
        customer=Customer("Acme", "FI"),
        amount=Money("5000", "EUR"),
        expected_close_on=at.date() + timedelta(days=60),
        registered_at=at,
        products=("core",),
        lead_id="lead_9",
    )
    current = approve(submit(draft, actor="usr_p", at=at).value, actor="usr_m", at=at).value
    won = win(current, actor="usr_m", at=at + timedelta(days=60)).value
    # The host's opportunity was created long after the registration: outside the
    # sourced window, so only the lead makes the partner its source.
    late = at + timedelta(days=45)

    from_lead = attribute([won_deal(won, created_at=late)]).deals[0]
    plain = attribute([won_deal(attrs.evolve(won, lead_id=None), created_at=late)]).deals[0]

    assert from_lead.category is CreditRole.SOURCED
    assert plain.category is CreditRole.INFLUENCED


def test_rules_from_a_dict() -> None:
    rules = rules_from_dict(
        {"sourced_window_days": 60, "influence_share": "0.5", "split": "weight"}
    )

    assert (rules.sourced_window.days, rules.influence_share, rules.split) == (
        60,
        Decimal("0.5"),
        Split.WEIGHT,
    )
    with pytest.raises(ValidationError) as caught:
        rules_from_dict({"window": 3, "sourced_window_days": -1})
    assert set(caught.value.paths) == {"window", "sourced_window_days"}
    with pytest.raises(ValidationError, match="from 0 to 1"):
        AttributionRules(influence_share=Decimal("1.5"))


_partners = st.sampled_from(["ptn_a", "ptn_b", "ptn_c", "ptn_d"])
_touches = st.builds(
    lambda partner, kind, days, weight, lead: Touch(
        partner, kind, CREATED - timedelta(days=days), weight=Decimal(weight), lead_id=lead
    ),
    _partners,
    st.sampled_from(list(TouchKind)),
    st.integers(-40, 60),
    st.integers(1, 5),
    st.sampled_from([None, "lead_1", "lead_2"]),
)


@given(
    st.lists(_touches, max_size=8),
    st.integers(0, 10**9),
    st.sampled_from(["0", "0.25", "0.3", "0.5", "1"]),
    st.sampled_from(list(Split)),
    st.sampled_from([None, "lead_1"]),
)
def test_shares_add_up_to_one_and_amounts_to_the_deal(
    touches: list[Touch], cents: int, share: str, split: Split, lead: str | None
) -> None:
    amount = Money.from_minor_units(cents, "USD")
    rules = AttributionRules(influence_share=Decimal(share), split=split)

    report = attribute(
        [WonDeal("deal_1", amount, CREATED, WON, tuple(touches), lead_id=lead)], rules
    )

    result = report.deals[0]
    assert sum(credit.share for credit in result.credits) == 1
    assert Money.sum((credit.amount for credit in result.credits), currency="USD") == amount
    assert all(credit.share >= 0 for credit in result.credits)
    program = report.programs[0]
    assert program.sourced + program.influenced + program.unattributed == program.won == amount
