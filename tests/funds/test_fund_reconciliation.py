"""A budget's balances reconcile after any interleaving of the ledger's moves.

A hypothesis state machine allocates, requests, decides, claims, pays, closes,
accrues and sweeps in any order, with amounts that often exceed what is there and
days that pass the deadlines, and after every step checks that:

- every balance identity holds and nothing is negative (`FundBalance` refuses
  anything else, and the budget's money is all accounted for);
- the stored balances equal what the requests and claims add up to (`reconcile`);
- a move is refused only for the reason its rule names, and a refused move
  changes nothing;
- every record comes back equal through JSON.
"""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from partnerkit import Activity, InvalidTransitionError, Money
from partnerkit.funds import (
    Accrual,
    ClaimStatus,
    DeadlinePassedError,
    FundBudget,
    FundClaim,
    FundRequest,
    FundTerms,
    InsufficientFundsError,
    ProofItem,
    RequestStatus,
    accrue,
    allocate,
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

START = datetime(2026, 1, 1, tzinfo=UTC)
TERMS = FundTerms(
    request_deadline=date(2026, 3, 31),
    claim_deadline=date(2026, 4, 30),
    cost_share=Decimal(30),
    max_reimbursement=Decimal(60),
)
PARTNERS = ("ptn_1", "ptn_2", "ptn_3")
cents = st.integers(min_value=1, max_value=500_000).map(lambda n: Money.from_minor_units(n, "USD"))


class FundLedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = START
        self.budget: FundBudget | None = None
        self.requests: dict[str, FundRequest] = {}
        self.claims: dict[str, FundClaim] = {}
        self.sales: list[Activity] = []
        self.serial = 0

    def _id(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}_{self.serial}"

    def _has(self, status: RequestStatus) -> bool:
        return any(r.status is status for r in self.requests.values())

    def _has_claim(self, status: ClaimStatus) -> bool:
        return any(c.status is status for c in self.claims.values())

    def _has_pool(self) -> bool:
        return any(pool.balance.available.amount for pool in self.made.allocations)

    @property
    def made(self) -> FundBudget:
        assert self.budget is not None
        return self.budget

    @precondition(lambda self: self.budget is None)
    @rule(fixed=cents, accrued=st.booleans())
    def open_budget(self, fixed: Money, accrued: bool) -> None:
        self.budget = new_budget(
            budget_id="mdf",
            program_id="prg",
            name="MDF",
            period_start=date(2026, 1, 1),
            period_end=date(2026, 3, 31),
            terms=TERMS,
            at=self.now,
            amount=None if accrued else fixed.multiply(10),
            accrual=Accrual(Decimal(4)) if accrued else None,
            currency="USD" if accrued else None,
        )

    @precondition(lambda self: self.budget is not None)
    @rule(days=st.sampled_from([1, 2, 5, 10, 30]))
    def time_passes(self, days: int) -> None:
        self.now += timedelta(days=days)

    @precondition(lambda self: self.budget is not None and self.made.unallocated.amount > 0)
    @rule(partner=st.sampled_from(PARTNERS), amount=cents, share=st.integers(1, 120))
    def allocate_to_a_partner(self, partner: str, amount: Money, share: int) -> None:
        before = self.made
        if before.unallocated.amount and share <= 100:
            amount = max(before.unallocated.multiply(Decimal(share) / 90), Money("0.01", "USD"))
        try:
            self.budget, _ = allocate(before, amount, partner_id=partner, actor="m", at=self.now)
        except InsufficientFundsError:
            assert amount > before.unallocated
        except InvalidTransitionError:
            assert before.status.value == "closed"

    @precondition(lambda self: self.budget is not None and self.made.accrual is not None)
    @rule(partner=st.sampled_from(PARTNERS), amount=cents, day=st.integers(0, 120))
    def partners_buy(self, partner: str, amount: Money, day: int) -> None:
        sale = Activity(
            self._id("act"), partner, "revenue_booked", START + timedelta(days=day), amount
        )
        self.sales.append(sale)
        try:
            self.budget, _ = accrue(self.made, self.sales, actor="system", at=self.now)
        except InvalidTransitionError:
            self.sales.pop()

    @precondition(lambda self: self.budget is not None and self._has_pool())
    @rule(partner=st.sampled_from(PARTNERS), amount=cents, share=st.integers(1, 120))
    def submit_a_request(self, partner: str, amount: Money, share: int) -> None:
        before = self.made
        pool = before.pool(f"partner:{partner}")
        if pool is None and share % 4:  # mostly a partner with a pool
            pool = before.allocations[share % len(before.allocations)]
            partner = pool.partner_id or partner
        if pool is not None and pool.balance.available.amount and share <= 100:
            # Mostly what the pool can take, sometimes more than it has.
            amount = pool.balance.available.multiply(Decimal(share) / 80)
            if not amount.amount:
                amount = Money("0.01", "USD")
        request_id = self._id("req")
        try:
            (self.budget, request), _ = submit_request(
                before,
                request_id=request_id,
                partner_id=partner,
                activity="Event",
                amount=amount,
                actor=partner,
                at=self.now,
            )
        except InsufficientFundsError:
            assert pool is not None
            assert amount > pool.balance.available
        except DeadlinePassedError:
            assert self.now.date() > TERMS.request_deadline
        except InvalidTransitionError:
            assert before.status.value == "closed"
        except ValueError:  # ValidationError: the partner has no pool yet
            assert pool is None
        else:
            self.requests[request_id] = request

    def _pick(self, index: int, *statuses: RequestStatus) -> FundRequest | None:
        """A request in one of ``statuses`` (any, if none is named), or ``None``."""
        found = [r for r in self.requests.values() if not statuses or r.status in statuses]
        if not found:
            return None
        return sorted(found, key=lambda r: r.id)[index % len(found)]

    @precondition(lambda self: self.budget is not None and self._has(RequestStatus.SUBMITTED))
    @rule(index=st.integers(0, 50), part=st.integers(0, 100), decision=st.integers(0, 5))
    def decide_a_request(self, index: int, part: int, decision: int) -> None:
        request = self._pick(index, RequestStatus.SUBMITTED)
        if request is None:
            return
        try:
            if decision >= 2:
                granted = request.amount.multiply(Decimal(part) / 100)
                (self.budget, decided), _ = approve_request(
                    self.made,
                    request,
                    actor="m",
                    at=self.now,
                    amount=granted if granted.amount else None,
                    reason="scoped down",
                )
            elif decision == 1:
                (self.budget, decided), _ = reject_request(
                    self.made, request, actor="m", at=self.now, reason="off plan"
                )
            else:
                (self.budget, decided), _ = withdraw_request(
                    self.made, request, actor="p", at=self.now
                )
        except InvalidTransitionError:
            assert self.made.status.value == "closed"
            return
        self.requests[request.id] = decided

    @precondition(lambda self: self.budget is not None and self._has(RequestStatus.APPROVED))
    @rule(
        index=st.integers(0, 50), cost=cents, share=st.integers(0, 300), any_request=st.booleans()
    )
    def submit_a_claim(self, index: int, cost: Money, share: int, any_request: bool) -> None:
        request = self._pick(index) if any_request else self._pick(index, RequestStatus.APPROVED)
        if request is None:
            return
        if request.approved_amount is not None and share:
            # Costs around what the request was approved for: the vendor share of
            # them is sometimes within what is left, sometimes beyond it.
            cost = request.approved_amount.multiply(Decimal(share) / 100)
        claim_id = self._id("clm")
        item = ProofItem("invoice", "Costs", cost)
        try:
            (updated, claim), _ = submit_claim(
                self.made, request, claim_id=claim_id, items=[item], actor="p", at=self.now
            )
        except InvalidTransitionError:
            assert request.status is not RequestStatus.APPROVED
        except DeadlinePassedError:
            assert self.now.date() > TERMS.claim_deadline
        else:
            self.requests[request.id] = updated
            self.claims[claim_id] = claim

    @precondition(lambda self: self.budget is not None and self._has_claim(ClaimStatus.SUBMITTED))
    @rule(index=st.integers(0, 50), part=st.integers(0, 120), approve=st.booleans())
    def decide_a_claim(self, index: int, part: int, approve: bool) -> None:
        open_claims = {k: c for k, c in self.claims.items() if c.status is ClaimStatus.SUBMITTED}
        if not open_claims:
            return
        claim = open_claims[sorted(open_claims)[index % len(open_claims)]]
        request = self.requests[claim.request_id]
        if not approve:
            (request, claim), _ = reject_claim(
                self.made, request, claim, actor="m", at=self.now, reason="no proof"
            )
        else:
            wanted = claim.reimbursable.multiply(Decimal(part) / 100)
            try:
                (self.budget, request, claim), _ = approve_claim(
                    self.made,
                    request,
                    claim,
                    actor="m",
                    at=self.now,
                    amount=wanted if wanted.amount else None,
                    reason="partly eligible",
                )
            except InsufficientFundsError:
                assert wanted > request.remaining or not request.remaining.amount
                return
            except ValueError:  # more than the terms reimburse
                assert wanted > claim.reimbursable
                return
        self.requests[request.id] = request
        self.claims[claim.id] = claim

    @precondition(lambda self: self.budget is not None and self._has_claim(ClaimStatus.APPROVED))
    @rule(index=st.integers(0, 50))
    def pay(self, index: int) -> None:
        payable = {k: c for k, c in self.claims.items() if c.status is ClaimStatus.APPROVED}
        if not payable:
            return
        claim = payable[sorted(payable)[index % len(payable)]]
        (self.budget, request, claim), _ = pay_claim(
            self.made, self.requests[claim.request_id], claim, actor="fin", at=self.now
        )
        self.requests[request.id] = request
        self.claims[claim.id] = claim

    @precondition(lambda self: self.budget is not None and self._has(RequestStatus.APPROVED))
    @rule(index=st.integers(0, 50))
    def close(self, index: int) -> None:
        request = self._pick(index, RequestStatus.APPROVED)
        if request is None:
            return
        try:
            (self.budget, request), _ = close_request(self.made, request, actor="m", at=self.now)
        except InvalidTransitionError:
            assert request.open_claims
            return
        self.requests[request.id] = request

    @precondition(lambda self: self.budget is not None)
    @rule(now=st.integers(0, 3))
    def run_the_sweep(self, now: int) -> None:
        if now:  # the sweep runs less often than the other moves
            return
        done = sweep(self.made, self.requests.values(), as_of=self.now)
        self.budget = done.budget
        self.requests.update({request.id: request for request in done.requests})

    @invariant()
    def balances_reconcile(self) -> None:
        if self.budget is None:
            return
        assert reconcile(self.budget, self.requests.values(), self.claims.values()) == ()

    @invariant()
    def every_cent_is_accounted_for(self) -> None:
        if self.budget is None:
            return
        total = self.budget.balance
        assert self.budget.unallocated.amount >= 0
        assert self.budget.funded == (
            self.budget.unallocated + total.allocated + total.forfeited + self.budget.forfeited
        )
        paid = Money.sum(
            (c.approved_amount for c in self.claims.values() if c.status is ClaimStatus.PAID),  # type: ignore[misc]
            currency="USD",
        )
        assert total.paid == paid
        assert total.paid <= total.claimed <= total.approved <= total.requested <= total.allocated

    @invariant()
    def every_record_round_trips_through_json(self) -> None:
        if self.budget is None:
            return
        assert from_json(FundBudget, to_json(self.budget)) == self.budget
        for request in self.requests.values():
            assert from_json(FundRequest, to_json(request)) == request
        for claim in self.claims.values():
            assert from_json(FundClaim, to_json(claim)) == claim


FundLedgerMachine.TestCase.settings = settings(stateful_step_count=60, deadline=None)
TestFundLedgerReconciles = FundLedgerMachine.TestCase
