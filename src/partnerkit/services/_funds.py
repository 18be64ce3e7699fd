"""Market development funds: budgets, requests, claims, settlement, the sweep.

Who may do what, under `DEFAULT_POLICY`: partner users request funds and claim
them for their own partner and see only their own requests, claims and pool;
channel managers decide requests and claims of the partners they own and see
every fund; finance sets budgets up, allocates them, pays approved claims and
runs the sweep; admins may do everything. A partner user asking about another
partner's request or claim is told it does not exist.

Every call that moves money reads the budget and writes it back, so two calls
racing on one budget never both commit; `Services` retries the loser from a
fresh read, and the rules then judge it against what the winner left.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from partnerkit._pages import every
from partnerkit.access import Action, Actor
from partnerkit.errors import NotFoundError, ValidationError
from partnerkit.funds import (
    Accrual,
    Allocation,
    ClaimStatus,
    FundBudget,
    FundClaim,
    FundRequest,
    FundTerms,
    ProofItem,
    RequestStatus,
    Sweep,
    accrue,
    allocate,
    approve_claim,
    approve_request,
    close_request,
    new_budget,
    pay_claim,
    pool_key,
    reject_claim,
    reject_request,
    submit_claim,
    submit_request,
    sweep,
    withdraw_request,
)
from partnerkit.services._core import _ServicesCore
from partnerkit.services._intents import Result
from partnerkit.services._support import _found, _missing

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import date

    from partnerkit._base.events import Change
    from partnerkit._base.money import Money
    from partnerkit.storage import Page, UnitOfWork

_V = Action.FUND_VIEW


class _FundServices(_ServicesCore):
    """Market development funds, from budget to settlement."""

    # Checks.

    def _budget(self, uow: UnitOfWork, budget_id: str) -> FundBudget:
        return _found(uow.fund_budgets.get, budget_id, "fund budget")

    def _request(self, uow: UnitOfWork, actor: Actor, action: str, request_id: str) -> FundRequest:
        """The request ``action`` is about, once the actor may do it (else not found)."""
        read = uow.fund_requests.get
        return self._record(uow, actor, action, read, request_id, kind="fund request", view=_V)

    def _claim(self, uow: UnitOfWork, actor: Actor, action: str, claim_id: str) -> FundClaim:
        """The claim ``action`` is about, once the actor may do it (else not found)."""
        read = uow.fund_claims.get
        return self._record(uow, actor, action, read, claim_id, kind="fund claim", view=_V)

    def _fresh_request(
        self, uow: UnitOfWork, actor: Actor, action: str, request_id: str
    ) -> tuple[FundBudget, FundRequest]:
        """The request ``action`` is about and its budget, read first (see `_fresh`)."""
        budget = self._budget(uow, self._request(uow, actor, action, request_id).budget_id)
        return budget, uow.fund_requests.get(request_id)

    def _tier_of(self, uow: UnitOfWork, program_id: str, partner_id: str) -> str | None:
        try:
            return uow.memberships.get(program_id, partner_id).tier_id
        except NotFoundError:
            return None

    # Budgets.

    def create_budget(
        self,
        actor: Actor,
        *,
        program_id: str,
        name: str,
        period_start: date,
        period_end: date,
        terms: FundTerms,
        amount: Money | None = None,
        accrual: Accrual | None = None,
        currency: str | None = None,
    ) -> Result[FundBudget]:
        """Set up a program's fund for a period: fixed (``amount``) or accrued (``accrual``).

        Raises:
            PermissionDeniedError: Unless the actor may ``fund.configure``.
            NotFoundError: If the program does not exist.
            ValidationError: Naming every field that is wrong.
        """
        self.policy.check(actor, Action.FUND_CONFIGURE)
        budget_id = self.ids("mdf")

        def work(uow: UnitOfWork) -> Result[FundBudget]:
            uow.programs.get(program_id)
            budget = new_budget(
                budget_id=budget_id,
                program_id=program_id,
                name=name,
                period_start=period_start,
                period_end=period_end,
                terms=terms,
                at=self.clock.now(),
                amount=amount,
                accrual=accrual,
                currency=currency,
            )
            return Result(uow.fund_budgets.add(budget))

        return self._run(work)

    def allocate_funds(
        self,
        actor: Actor,
        budget_id: str,
        amount: Money,
        *,
        partner_id: str | None = None,
        tier_id: str | None = None,
    ) -> Result[FundBudget]:
        """Allocate part of a budget to a partner's pool or to a pool a tier shares.

        Raises:
            PermissionDeniedError: Unless the actor may ``fund.configure``.
            NotFoundError: If the budget (or the partner) does not exist.
            InsufficientFundsError: If the budget has less unallocated.
        """
        self.policy.check(actor, Action.FUND_CONFIGURE)

        def work(uow: UnitOfWork) -> Result[FundBudget]:
            if partner_id is not None:
                self._partner(uow, actor, Action.FUND_CONFIGURE, partner_id, view=_V)
            budget = self._budget(uow, budget_id)
            updated, events = allocate(
                budget,
                amount,
                actor=actor.id,
                at=self.clock.now(),
                partner_id=partner_id,
                tier_id=tier_id,
            )
            return Result(uow.fund_budgets.update(updated), events)

        return self._run(work)

    def accrue_funds(self, actor: Actor, budget_id: str) -> Result[FundBudget]:
        """Recompute an accrued budget from its program's members' activities in its period.

        Raises:
            PermissionDeniedError: Unless the actor may ``fund.configure``.
            NotFoundError: If the budget does not exist.
            InsufficientFundsError: If a reversal takes back money already requested.
        """
        self.policy.check(actor, Action.FUND_CONFIGURE)

        def work(uow: UnitOfWork) -> Result[FundBudget]:
            budget = self._budget(uow, budget_id)
            kinds = None if budget.accrual is None else [budget.accrual.activity_kind]
            members = every(
                lambda cursor: uow.memberships.query(program_id=budget.program_id, cursor=cursor)
            )
            activities = [
                activity
                for member in members
                for activity in uow.activities.for_partner(member.partner_id, kinds=kinds)
            ]
            updated, events = accrue(budget, activities, actor=actor.id, at=self.clock.now())
            if updated == budget:
                return Result(budget)
            return Result(uow.fund_budgets.update(updated), events)

        return self._run(work)

    def get_budget(self, actor: Actor, budget_id: str) -> FundBudget:
        """A budget with every pool, for those who see every fund (managers, finance).

        Raises:
            NotFoundError: If there is none, or the actor may not see every fund.
        """
        if not self.policy.allows(actor, _V):
            raise _missing("fund budget", budget_id)
        with self.storage.unit_of_work() as uow:
            return self._budget(uow, budget_id)

    def get_fund_pool(
        self, actor: Actor, budget_id: str, *, partner_id: str | None = None
    ) -> Allocation:
        """The pool a partner draws on in a budget: its own, or its tier's.

        A partner user gets its own partner's pool (``partner_id`` defaults to it).

        Raises:
            NotFoundError: If the budget, the partner or a pool for it does not
                exist, or the actor may not see the partner.
        """
        owner = partner_id if partner_id is not None else actor.partner_id
        if owner is None:
            raise ValidationError.single("partner_id", "name the partner: partner_id=...")
        with self.storage.unit_of_work() as uow:
            self._partner(uow, actor, _V, owner, view=_V)
            budget = self._budget(uow, budget_id)
            pool = budget.pool(pool_key(partner_id=owner))
            tier = self._tier_of(uow, budget.program_id, owner)
            if pool is None and tier is not None:
                pool = budget.pool(pool_key(tier_id=tier))
        if pool is None:
            raise _missing("fund pool", f"{budget_id}/{owner}")
        return pool

    def sweep_funds(self, actor: Actor, budget_id: str) -> Result[Sweep]:
        """Forfeit what can no longer be spent, and close the budget when nothing is open.

        Raises:
            PermissionDeniedError: Unless the actor may ``fund.sweep``.
            NotFoundError: If the budget does not exist.
        """
        self.policy.check(actor, Action.FUND_SWEEP)

        def work(uow: UnitOfWork) -> Result[Sweep]:
            budget = self._budget(uow, budget_id)
            requests = [
                request
                for status in (RequestStatus.SUBMITTED, RequestStatus.APPROVED)
                for request in every(
                    lambda cursor, status=status: uow.fund_requests.query(  # type: ignore[misc]
                        budget_id=budget_id, status=status, limit=1000, cursor=cursor
                    )
                )
            ]
            done = sweep(budget, requests, as_of=self.clock.now(), actor=actor.id)
            if done.budget == budget and not done.requests:
                return Result(done)
            stored = uow.fund_budgets.update(done.budget)
            changed = tuple(uow.fund_requests.update(request) for request in done.requests)
            return Result(Sweep(stored, changed, done.events, done.lines), done.events)

        return self._run(work)

    # Requests.

    def submit_fund_request(
        self,
        actor: Actor,
        budget_id: str,
        *,
        activity: str,
        amount: Money,
        partner_id: str | None = None,
    ) -> Result[FundRequest]:
        """Ask for funds for an activity; the amount is reserved in the partner's pool.

        Raises:
            NotFoundError: If the budget or partner does not exist, or the actor
                may not see the partner.
            PermissionDeniedError: If the actor sees it but may not ``fund.request``.
            DeadlinePassedError: After the request deadline.
            InsufficientFundsError: If the pool has less available.
        """
        owner = partner_id if partner_id is not None else actor.partner_id
        if owner is None:
            raise ValidationError.single("partner_id", "name the partner asking: partner_id=...")
        request_id = self.ids("freq")

        def work(uow: UnitOfWork) -> Result[FundRequest]:
            self._partner(uow, actor, Action.FUND_REQUEST, owner, view=_V)
            budget = self._budget(uow, budget_id)
            (updated, request), events = submit_request(
                budget,
                request_id=request_id,
                partner_id=owner,
                activity=activity,
                amount=amount,
                actor=actor.id,
                at=self.clock.now(),
                tier_id=self._tier_of(uow, budget.program_id, owner),
            )
            uow.fund_budgets.update(updated)
            return Result(uow.fund_requests.add(request), events)

        return self._run(work)

    def _decide_request(
        self,
        actor: Actor,
        request_id: str,
        action: str,
        decide: Callable[..., Change[tuple[FundBudget, FundRequest]]],
        **options: object,
    ) -> Result[FundRequest]:
        """Run ``decide(budget, request, actor=, at=, **options)`` and store what it made."""
        now = self.clock.now()  # one instant for every retry

        def work(uow: UnitOfWork) -> Result[FundRequest]:
            budget, request = self._fresh_request(uow, actor, action, request_id)
            (updated, decided), events = decide(budget, request, actor=actor.id, at=now, **options)
            uow.fund_budgets.update(updated)
            return Result(uow.fund_requests.update(decided), events)

        return self._run(work)

    def approve_fund_request(
        self, actor: Actor, request_id: str, *, amount: Money | None = None, reason: str = ""
    ) -> Result[FundRequest]:
        """Approve a request in full, or a smaller ``amount`` (with a reason).

        Raises:
            NotFoundError: If there is none, or the actor may not see it.
            PermissionDeniedError: If the actor may not ``fund.decide`` for its partner.
            InvalidTransitionError: Unless it is submitted.
        """
        return self._decide_request(
            actor, request_id, Action.FUND_DECIDE, approve_request, amount=amount, reason=reason
        )

    def reject_fund_request(
        self, actor: Actor, request_id: str, *, reason: str
    ) -> Result[FundRequest]:
        """Reject a submitted request; its reservation returns to the pool.

        Raises:
            NotFoundError: If there is none, or the actor may not see it.
            PermissionDeniedError: If the actor may not ``fund.decide`` for its partner.
        """
        return self._decide_request(
            actor, request_id, Action.FUND_DECIDE, reject_request, reason=reason
        )

    def withdraw_fund_request(
        self, actor: Actor, request_id: str, *, reason: str = ""
    ) -> Result[FundRequest]:
        """The partner withdraws its submitted request.

        Raises:
            NotFoundError: If there is none, or the actor may not see it.
        """
        return self._decide_request(
            actor, request_id, Action.FUND_REQUEST, withdraw_request, reason=reason
        )

    def close_fund_request(
        self, actor: Actor, request_id: str, *, reason: str = ""
    ) -> Result[FundRequest]:
        """Close an approved request; what was not claimed returns to the pool.

        Raises:
            NotFoundError: If there is none, or the actor may not see it.
            PermissionDeniedError: If the actor may not ``fund.decide`` for its partner.
        """
        return self._decide_request(
            actor, request_id, Action.FUND_DECIDE, close_request, reason=reason
        )

    def get_fund_request(self, actor: Actor, request_id: str) -> FundRequest:
        """A request the actor may see (``fund.view``).

        Raises:
            NotFoundError: If there is none, or the actor may not see it.
        """
        with self.storage.unit_of_work() as uow:
            return self._request(uow, actor, _V, request_id)

    # Claims.

    def submit_fund_claim(
        self, actor: Actor, request_id: str, items: Sequence[ProofItem]
    ) -> Result[FundClaim]:
        """Claim reimbursement against an approved request, with proof of performance.

        Raises:
            NotFoundError: If the request does not exist or the actor may not see it.
            PermissionDeniedError: If the actor may not ``fund.request`` for its partner.
            DeadlinePassedError: After the claim deadline.
        """
        claim_id = self.ids("fclaim")

        def work(uow: UnitOfWork) -> Result[FundClaim]:
            budget, request = self._fresh_request(uow, actor, Action.FUND_REQUEST, request_id)
            (updated, claim), events = submit_claim(
                budget, request, claim_id=claim_id, items=items, actor=actor.id, at=self.clock.now()
            )
            uow.fund_requests.update(updated)
            return Result(uow.fund_claims.add(claim), events)

        return self._run(work)

    @staticmethod
    def _fresh(uow: UnitOfWork, claim_id: str) -> tuple[FundClaim, FundRequest]:
        """A claim and its request, read after their budget.

        Every move of money updates the budget, so with the budget read first a move
        committed meanwhile leaves the budget stale (refused at commit, and the call
        retried) rather than the request and claim older than the budget beside them,
        a mix no rule was written for.
        """
        claim = uow.fund_claims.get(claim_id)
        return claim, uow.fund_requests.get(claim.request_id)

    def _move_claim(
        self,
        actor: Actor,
        claim_id: str,
        action: str,
        move: Callable[..., Change[tuple[Any, ...]]],
        **options: object,
    ) -> Result[FundClaim]:
        """Run ``move(budget, request, claim, actor=, at=, **options)``; store what it made."""
        now = self.clock.now()  # one instant for every retry

        def work(uow: UnitOfWork) -> Result[FundClaim]:
            budget = self._budget(uow, self._claim(uow, actor, action, claim_id).budget_id)
            claim, request = self._fresh(uow, claim_id)
            records, events = move(budget, request, claim, actor=actor.id, at=now, **options)
            for record in records[:-1]:
                if isinstance(record, FundBudget):
                    uow.fund_budgets.update(record)
                else:
                    uow.fund_requests.update(record)
            return Result(uow.fund_claims.update(records[-1]), events)

        return self._run(work)

    def approve_fund_claim(
        self, actor: Actor, claim_id: str, *, amount: Money | None = None, reason: str = ""
    ) -> Result[FundClaim]:
        """Approve a claim: what the terms reimburse, at most what its request has left.

        Raises:
            NotFoundError: If there is none, or the actor may not see it.
            PermissionDeniedError: If the actor may not ``fund.decide`` for its partner.
            InsufficientFundsError: If ``amount`` is more than the request has left.
        """
        return self._move_claim(
            actor, claim_id, Action.FUND_DECIDE, approve_claim, amount=amount, reason=reason
        )

    def reject_fund_claim(self, actor: Actor, claim_id: str, *, reason: str) -> Result[FundClaim]:
        """Reject a submitted claim; its request keeps its money.

        Raises:
            NotFoundError: If there is none, or the actor may not see it.
            PermissionDeniedError: If the actor may not ``fund.decide`` for its partner.
        """
        return self._move_claim(actor, claim_id, Action.FUND_DECIDE, reject_claim, reason=reason)

    def pay_fund_claim(
        self, actor: Actor, claim_id: str, *, reference: str = ""
    ) -> Result[FundClaim]:
        """Settle an approved claim (finance).

        Raises:
            NotFoundError: If there is none, or the actor may not see it.
            PermissionDeniedError: If the actor may not ``fund.settle``.
        """
        return self._move_claim(actor, claim_id, Action.FUND_SETTLE, pay_claim, reference=reference)

    def get_fund_claim(self, actor: Actor, claim_id: str) -> FundClaim:
        """A claim the actor may see (``fund.view``).

        Raises:
            NotFoundError: If there is none, or the actor may not see it.
        """
        with self.storage.unit_of_work() as uow:
            return self._claim(uow, actor, _V, claim_id)

    # Lists.

    def list_fund_requests(
        self,
        actor: Actor,
        *,
        budget_id: str | None = None,
        partner_id: str | None = None,
        status: RequestStatus | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[FundRequest]:
        """The requests the actor may see that match every filter, by id, a page at a time.

        A partner user's pages hold only its own partner's requests.

        Raises:
            ValidationError: For a ``limit`` outside 1..1000 or a malformed cursor.
        """
        return self._scoped_page(
            actor,
            _V,
            partner_id,
            lambda uow, sources, size: uow.fund_requests.query(
                budget_id=budget_id, status=status, partner_ids=sources, limit=size, cursor=cursor
            ),
            limit=limit,
        )

    def list_fund_claims(
        self,
        actor: Actor,
        *,
        budget_id: str | None = None,
        request_id: str | None = None,
        partner_id: str | None = None,
        status: ClaimStatus | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[FundClaim]:
        """The claims the actor may see that match every filter, by id, a page at a time.

        Raises:
            ValidationError: For a ``limit`` outside 1..1000 or a malformed cursor.
        """
        return self._scoped_page(
            actor,
            _V,
            partner_id,
            lambda uow, sources, size: uow.fund_claims.query(
                budget_id=budget_id,
                request_id=request_id,
                status=status,
                partner_ids=sources,
                limit=size,
                cursor=cursor,
            ),
            limit=limit,
        )
