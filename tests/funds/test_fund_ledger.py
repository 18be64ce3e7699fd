"""The fund ledger's rules, one per test, as docs/funds.md states them."""

from datetime import UTC, date, datetime
from decimal import Decimal

import attrs
import pytest

from partnerkit import Activity, InvalidTransitionError, Money, ValidationError
from partnerkit.funds import (
    Accrual,
    BudgetStatus,
    ClaimStatus,
    DeadlinePassedError,
    FundBalance,
    FundBudget,
    FundClaim,
    FundRequest,
    FundTerms,
    InsufficientFundsError,
    ProofItem,
    RequestStatus,
    accrue,
    allocate,
    allocate_shares,
    approve_claim,
    approve_request,
    close_request,
    new_budget,
    pay_claim,
    reconcile,
    reject_claim,
    reject_request,
    submit_claim,
    submit_request,
    sweep,
    withdraw_request,
)
from partnerkit.serialization import from_json, to_json

AT = datetime(2026, 1, 10, tzinfo=UTC)
TERMS = FundTerms(
    request_deadline=date(2026, 3, 31),
    claim_deadline=date(2026, 4, 30),
    cost_share=Decimal(50),
    max_reimbursement=Decimal(100),
    required_proof=("invoice",),
)


def usd(amount: str) -> Money:
    return Money(amount, "USD")


def budget(amount: str = "10000.00", terms: FundTerms = TERMS) -> FundBudget:
    return new_budget(
        budget_id="mdf_q1",
        program_id="prg_1",
        name="MDF Q1 2026",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 3, 31),
        terms=terms,
        amount=usd(amount),
        at=AT,
    )


def allocated(amount: str = "4000.00") -> FundBudget:
    made, _ = allocate(budget(), usd(amount), partner_id="ptn_1", actor="mgr", at=AT)
    return made


def requested(amount: str = "3000.00") -> tuple[FundBudget, FundRequest]:
    (made, request), _ = submit_request(
        allocated(),
        request_id="req_1",
        partner_id="ptn_1",
        activity="Roadshow",
        amount=usd(amount),
        actor="pu",
        at=AT,
    )
    return made, request


def approved(amount: str | None = None) -> tuple[FundBudget, FundRequest]:
    made, request = requested()
    (made, request), _ = approve_request(
        made,
        request,
        actor="mgr",
        at=AT,
        amount=None if amount is None else usd(amount),
        reason="" if amount is None else "smaller venue",
    )
    return made, request


def invoice(amount: str) -> ProofItem:
    return ProofItem("invoice", "Venue and catering", usd(amount), "doc_17")


def claimed(cost: str = "4000.00") -> tuple[FundBudget, FundRequest, FundClaim]:
    made, request = approved()
    (request, claim), _ = submit_claim(
        made, request, claim_id="clm_1", items=[invoice(cost)], actor="pu", at=AT
    )
    return made, request, claim


def pool(made: FundBudget) -> FundBalance:
    found = made.pool("partner:ptn_1")
    assert found is not None
    return found.balance


def test_allocation_moves_unallocated_money_into_a_partner_pool() -> None:
    made = allocated("4000.00")
    assert (made.unallocated, pool(made).allocated) == (usd("6000.00"), usd("4000.00"))


def test_allocation_beyond_the_unallocated_money_is_refused_and_says_how_much_is_left() -> None:
    with pytest.raises(InsufficientFundsError, match=r"has 10,000\.00 USD unallocated"):
        allocate(budget(), usd("10000.01"), partner_id="ptn_1", actor="mgr", at=AT)


def test_allocating_by_shares_loses_no_cent() -> None:
    made, _ = allocate_shares(
        budget(),
        usd("100.00"),
        {"partner:ptn_1": 1, "partner:ptn_2": 1, "tier:gold": 1},
        actor="mgr",
        at=AT,
    )
    parts = [p.balance.allocated for p in made.allocations]
    assert parts == [usd("33.34"), usd("33.33"), usd("33.33")]
    assert made.unallocated == usd("9900.00")


def test_a_submitted_request_reserves_its_amount() -> None:
    made, request = requested("3000.00")
    assert (pool(made).pending, pool(made).available) == (usd("3000.00"), usd("1000.00"))
    assert request.history[0].explanation == (
        "reserved 3,000.00 USD of the 4,000.00 USD available in partner ptn_1; "
        "1,000.00 USD stays available"
    )


def test_a_request_beyond_the_pool_is_refused() -> None:
    with pytest.raises(InsufficientFundsError, match=r"partner ptn_1 has 4,000\.00 USD available"):
        submit_request(
            allocated(),
            request_id="req_1",
            partner_id="ptn_1",
            activity="Roadshow",
            amount=usd("4000.01"),
            actor="pu",
            at=AT,
        )


def test_a_partner_without_its_own_pool_draws_on_its_tier_pool() -> None:
    made, _ = allocate(budget(), usd("5000.00"), tier_id="gold", actor="mgr", at=AT)
    (made, request), _ = submit_request(
        made,
        request_id="req_1",
        partner_id="ptn_9",
        activity="Webinar",
        amount=usd("500.00"),
        actor="pu",
        at=AT,
        tier_id="gold",
    )
    assert request.pool == "tier:gold"


def test_a_request_after_the_request_deadline_is_refused() -> None:
    late = datetime(2026, 4, 1, tzinfo=UTC)
    with pytest.raises(DeadlinePassedError, match="took requests until 2026-03-31"):
        submit_request(
            allocated(),
            request_id="req_1",
            partner_id="ptn_1",
            activity="Roadshow",
            amount=usd("10.00"),
            actor="pu",
            at=late,
        )


def test_partial_approval_returns_the_rest_to_the_pool() -> None:
    made, request = approved("2000.00")
    assert request.approved_amount == usd("2000.00")
    assert (pool(made).pending, pool(made).approved, pool(made).available) == (
        usd("0.00"),
        usd("2000.00"),
        usd("2000.00"),
    )
    assert request.history[-1].explanation == (
        "approved 2,000.00 USD of the 3,000.00 USD asked; 1,000.00 USD returns to the pool"
    )


def test_partial_approval_needs_a_reason() -> None:
    made, request = requested()
    with pytest.raises(ValidationError, match="reason is required to approve part"):
        approve_request(made, request, actor="mgr", at=AT, amount=usd("1.00"))


@pytest.mark.parametrize("release", ["reject", "withdraw"])
def test_rejection_and_withdrawal_release_the_reservation(release: str) -> None:
    made, request = requested()
    if release == "reject":
        (made, request), _ = reject_request(made, request, actor="mgr", at=AT, reason="off plan")
    else:
        (made, request), _ = withdraw_request(made, request, actor="pu", at=AT)
    assert pool(made).available == usd("4000.00")
    assert request.status in {RequestStatus.REJECTED, RequestStatus.WITHDRAWN}


def test_a_decided_request_cannot_be_decided_again() -> None:
    made, request = approved()
    with pytest.raises(InvalidTransitionError, match="is 'approved'; cannot reject it"):
        reject_request(made, request, actor="mgr", at=AT, reason="changed my mind")


def test_a_claim_is_reimbursed_the_vendor_share_of_its_costs() -> None:
    _, _, claim = claimed("4000.00")
    assert claim.reimbursable == usd("2000.00")
    assert claim.history[0].explanation == (
        "claimed 4,000.00 USD of costs; 50% of 4,000.00 USD eligible costs "
        "(the partner's 50% cost share) is 2,000.00 USD"
    )


def test_the_maximum_reimbursement_caps_below_the_cost_share() -> None:
    terms = FundTerms(
        request_deadline=date(2026, 3, 31),
        claim_deadline=date(2026, 4, 30),
        cost_share=Decimal(0),
        max_reimbursement=Decimal(75),
    )
    made, _ = allocate(budget(terms=terms), usd("4000.00"), partner_id="ptn_1", actor="m", at=AT)
    (made, request), _ = submit_request(
        made, request_id="r", partner_id="ptn_1", activity="A", amount=usd("900"), actor="p", at=AT
    )
    (made, request), _ = approve_request(made, request, actor="m", at=AT)
    (_, claim), _ = submit_claim(
        made, request, claim_id="c", items=[invoice("1000.00")], actor="p", at=AT
    )
    assert claim.reimbursable == usd("750.00")
    assert "the 75% maximum reimbursement" in claim.history[0].explanation


def test_a_claim_without_required_proof_is_refused() -> None:
    made, request = approved()
    photo = ProofItem("photo", "Booth", usd("0"))
    with pytest.raises(ValidationError, match="requires proof of kind invoice"):
        submit_claim(made, request, claim_id="clm_1", items=[photo], actor="pu", at=AT)


def test_a_claim_after_the_claim_deadline_is_refused() -> None:
    made, request = approved()
    late = datetime(2026, 5, 1, tzinfo=UTC)
    with pytest.raises(DeadlinePassedError, match="took claims until 2026-04-30"):
        submit_claim(made, request, claim_id="c", items=[invoice("1.00")], actor="pu", at=late)


def test_claim_approval_is_limited_to_what_the_request_has_left() -> None:
    made, request, claim = claimed("8000.00")  # the terms would reimburse 4,000.00
    (made, request, claim), _ = approve_claim(made, request, claim, actor="mgr", at=AT)
    assert claim.approved_amount == usd("3000.00")
    assert "all that request req_1 had left" in claim.history[-1].explanation
    assert (pool(made).claimed, request.remaining) == (usd("3000.00"), usd("0.00"))


def test_approving_more_than_the_request_has_left_is_refused() -> None:
    made, request, claim = claimed("8000.00")
    with pytest.raises(InsufficientFundsError, match=r"has 3,000\.00 USD left"):
        approve_claim(made, request, claim, actor="mgr", at=AT, amount=usd("3500"), reason="x")


def test_a_rejected_claim_leaves_the_request_its_money() -> None:
    made, request, claim = claimed()
    (request, claim), _ = reject_claim(made, request, claim, actor="mgr", at=AT, reason="no proof")
    assert (claim.status, request.remaining, request.open_claims) == (
        ClaimStatus.REJECTED,
        usd("3000.00"),
        0,
    )


def test_settlement_pays_what_the_claim_was_approved_for() -> None:
    made, request, claim = claimed()
    (made, request, claim), _ = approve_claim(made, request, claim, actor="mgr", at=AT)
    (made, request, claim), events = pay_claim(
        made, request, claim, actor="fin", at=AT, reference="PAY-1"
    )
    assert (claim.status, pool(made).paid, request.paid) == (
        ClaimStatus.PAID,
        usd("2000.00"),
        usd("2000.00"),
    )
    assert events[0].data["explanation"] == "paid 2,000.00 USD (reference PAY-1)"


def test_closing_a_request_returns_what_was_not_claimed() -> None:
    made, request, claim = claimed()
    (made, request, claim), _ = approve_claim(made, request, claim, actor="mgr", at=AT)
    (made, request), _ = close_request(made, request, actor="mgr", at=AT)
    assert (pool(made).approved, pool(made).available) == (usd("2000.00"), usd("2000.00"))


def test_the_sweep_forfeits_unrequested_and_unallocated_money_after_the_request_deadline() -> None:
    made, _ = approved()
    done = sweep(made, [], as_of=datetime(2026, 4, 1, tzinfo=UTC))
    assert (pool(done.budget).forfeited, done.budget.forfeited) == (
        usd("1000.00"),
        usd("6000.00"),
    )
    assert done.budget.status is BudgetStatus.OPEN  # claims may still come
    assert done.lines == (
        (
            "forfeited the 1,000.00 USD partner ptn_1 had not requested by the request deadline "
            "2026-03-31"
        ),
        "forfeited the 6,000.00 USD never allocated",
    )


def test_the_sweep_after_the_claim_deadline_closes_requests_and_the_budget() -> None:
    made, request, claim = claimed()
    (made, request, claim), _ = approve_claim(made, request, claim, actor="mgr", at=AT)
    done = sweep(made, [request], as_of=datetime(2026, 5, 1, tzinfo=UTC))
    assert done.budget.status is BudgetStatus.CLOSED
    assert done.requests[0].status is RequestStatus.CLOSED
    # 1,000 never requested + 1,000 approved but unclaimed
    assert pool(done.budget).forfeited == usd("2000.00")
    assert reconcile(done.budget, done.requests, [claim]) == ()


def test_the_sweep_keeps_a_request_open_while_a_claim_awaits_a_decision() -> None:
    made, request, _ = claimed()
    done = sweep(made, [request], as_of=datetime(2026, 5, 1, tzinfo=UTC))
    assert done.budget.status is BudgetStatus.OPEN
    assert "request req_1: kept open, 1 claim(s) await a decision" in done.lines


def test_an_accrued_budget_holds_a_rate_of_each_partners_purchases() -> None:
    made = new_budget(
        budget_id="mdf_acc",
        program_id="prg_1",
        name="Accrued MDF",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 3, 31),
        terms=TERMS,
        accrual=Accrual(Decimal(3)),
        currency="USD",
        at=AT,
    )
    sales = [
        Activity("a1", "ptn_1", "revenue_booked", datetime(2026, 1, 5, tzinfo=UTC), usd("100000")),
        Activity("a2", "ptn_1", "revenue_booked", datetime(2026, 2, 5, tzinfo=UTC), usd("20000")),
        Activity("a3", "ptn_2", "revenue_booked", datetime(2026, 4, 5, tzinfo=UTC), usd("50000")),
    ]
    made, events = accrue(made, sales, actor="system", at=AT)
    assert (made.funded, pool(made).allocated) == (usd("3600.00"), usd("3600.00"))
    assert events[0].data["explanation"] == (
        "3% of 120,000.00 USD revenue_booked from 2026-01-01 to 2026-03-31 is 3,600.00 USD; "
        "added 3,600.00 USD"
    )
    again, more = accrue(made, sales, actor="system", at=AT)
    assert (again, more) == (made, ())


def test_balances_are_never_negative() -> None:
    zero = usd("0")
    with pytest.raises(ValidationError, match="negative"):
        FundBalance(usd("-1"), zero, zero, zero, zero, zero)


def test_a_budget_round_trips_through_json() -> None:
    made, request, claim = claimed()
    assert from_json(FundBudget, to_json(made)) == made
    assert from_json(FundRequest, to_json(request)) == request
    assert from_json(FundClaim, to_json(claim)) == claim


def test_a_request_cannot_be_built_approved_without_an_approved_amount() -> None:
    _, request = requested()
    with pytest.raises(ValidationError, match="approved_amount: an approved or closed request"):
        attrs.evolve(request, status=RequestStatus.APPROVED)


def test_a_claim_cannot_be_built_paid_without_being_approved() -> None:
    _, _, claim = claimed()
    with pytest.raises(ValidationError, match="approved_amount: an approved or paid claim"):
        attrs.evolve(claim, status=ClaimStatus.PAID, paid_at=AT)
