"""The fund ledger: every move of money in a budget, as pure functions.

Each function takes the budget (and the request or claim it is about), checks the
move, and returns the changed records with one event that says, in words, what
happened to the money. Every move that changes a balance returns a changed budget:
stored with its version checked, that is what keeps two workers approving against
one budget from ever spending it twice (the second commit is stale, re-reads the
budget and is judged against what the first left).

The moves, and which balance of the request's pool each one touches:

============================  ==============================================
submit a request              available -> pending (refused beyond available)
approve it (all or part)      pending -> approved (the rest back to available)
reject / withdraw / expire    pending -> available
close an approved request     approved - claimed -> available
approve a claim (all or part) approved -> claimed (at most what remains)
pay a claim                   claimed -> paid
sweep (after the deadlines)   available and unallocated -> forfeited
============================  ==============================================

Deadlines are whole days in UTC: a request submitted at any instant of its
deadline day is in time.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING, Final, TypeVar

import attrs

from partnerkit._base.checks import check_text
from partnerkit._base.events import Change, Event, Scalar
from partnerkit._base.ids import check_id
from partnerkit._base.money import Money, format_value
from partnerkit._base.time import to_utc
from partnerkit.errors import InvalidTransitionError, Problems, ValidationError
from partnerkit.funds._model import (
    Accrual,
    Allocation,
    BudgetStatus,
    ClaimStatus,
    DeadlinePassedError,
    FundAction,
    FundBalance,
    FundBudget,
    FundClaim,
    FundDecision,
    FundRequest,
    FundSource,
    FundTerms,
    InsufficientFundsError,
    ProofItem,
    RequestStatus,
    pool_key,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from datetime import date, datetime

    from partnerkit.ledger import Activity

__all__ = [
    "SYSTEM_ACTOR",
    "Sweep",
    "accrue",
    "allocate",
    "allocate_shares",
    "approve_claim",
    "approve_request",
    "close_request",
    "new_budget",
    "pay_claim",
    "reconcile",
    "reject_claim",
    "reject_request",
    "submit_claim",
    "submit_request",
    "sweep",
    "withdraw_request",
]

#: The actor recorded for moves nobody made by hand, such as the forfeiture sweep.
SYSTEM_ACTOR: Final = "system"
_HUNDRED: Final = Decimal(100)
_PENDING_ONLY: Final = (
    FundAction.APPROVE.value,
    FundAction.REJECT.value,
    FundAction.WITHDRAW.value,
)


def _when(
    at: object, actor: object, reason: object = "", *, required: str = ""
) -> tuple[datetime, str]:
    problems = Problems()
    when = problems.check("at", to_utc, at, "")
    problems.check("actor", check_id, actor, "")
    text = problems.check("reason", check_text, reason, required=False, limit=2000)
    if required and not text and not problems.found:
        problems.add("reason", f"say why: a reason is required to {required}")
    problems.raise_if_any()
    assert when is not None  # noqa: S101 - raise_if_any guarantees it
    return when, text or ""


def _money(value: object, currency: str, path: str) -> Money:
    if not isinstance(value, Money):
        raise ValidationError.single(path, f"expected Money such as Money('1000.00', '{currency}')")
    if value.currency != currency:
        raise ValidationError.single(path, f"{value} is not in the budget's {currency}")
    if value.amount <= 0:
        raise ValidationError.single(path, f"{value} is not an amount greater than zero")
    return value.rounded()


def _open(budget: FundBudget, action: str) -> None:
    if budget.status is not BudgetStatus.OPEN:
        raise InvalidTransitionError("fund budget", budget.id, budget.status.value, action, ())


def _check_deadline(
    budget: FundBudget, noun: str, record_id: str, deadline: date, when: datetime
) -> None:
    if when.date() > deadline:
        raise DeadlinePassedError(
            f"fund {noun}",
            record_id,
            f"budget {budget.id} took {noun}s until {deadline}; it is {when.date()}",
            deadline,
        )


def _event(  # noqa: PLR0917 - every field of every fund event, in one order
    kind: str,
    subject_id: str,
    budget: FundBudget,
    partner_id: str | None,
    when: datetime,
    actor: str,
    explanation: str,
    **data: Scalar,
) -> Event:
    return Event(
        kind=f"fund.{kind}",
        subject_id=subject_id,
        occurred_at=when,
        actor=actor,
        data={"budget_id": budget.id, "partner_id": partner_id, "explanation": explanation, **data},
    )


def _with_pool(budget: FundBudget, key: str, **deltas: Money) -> FundBudget:
    """``budget`` with the pool ``key``'s figures moved by ``deltas`` (created if new)."""
    pool = budget.pool(key)
    if pool is None:
        kind, _, ident = key.partition(":")
        pool = Allocation(
            ident if kind == "partner" else None,
            ident if kind == "tier" else None,
            FundBalance.empty(budget.currency),
        )
    balance = attrs.evolve(
        pool.balance,
        **{name: getattr(pool.balance, name) + delta for name, delta in deltas.items()},
    )
    pools = [other for other in budget.allocations if other.key != key]
    return attrs.evolve(budget, allocations=(*pools, attrs.evolve(pool, balance=balance)))


def _pool_of(budget: FundBudget, key: str) -> Allocation:
    pool = budget.pool(key)
    if pool is None:
        raise ValidationError.single("pool", f"budget {budget.id} has no pool {key}")
    return pool


# --- budgets and allocations ------------------------------------------------------


def new_budget(
    *,
    budget_id: str,
    program_id: str,
    name: str,
    period_start: date,
    period_end: date,
    terms: FundTerms,
    at: datetime,
    amount: Money | None = None,
    accrual: Accrual | None = None,
    currency: str | None = None,
) -> FundBudget:
    """A new, open budget: fixed (``amount``) or accrued (``accrual`` and ``currency``).

    Raises:
        ValidationError: Naming every field that is wrong, or if both or neither of
            ``amount`` and ``accrual`` are given.
    """
    if (amount is None) == (accrual is None):
        raise ValidationError.single(
            "amount", "give a fixed amount=Money(...) or accrual=Accrual(...), not both"
        )
    if amount is not None:
        if not isinstance(amount, Money) or amount.amount < 0:
            raise ValidationError.single("amount", "expected Money of zero or more")
        funded, source = amount.rounded(), FundSource.FIXED
    else:
        if currency is None:
            raise ValidationError.single("currency", "an accrued budget needs its currency='USD'")
        funded, source = Money.zero(currency), FundSource.ACCRUED
    return FundBudget(
        id=budget_id,
        program_id=program_id,
        name=name,
        period_start=period_start,
        period_end=period_end,
        terms=terms,
        source=source,
        funded=funded,
        accrual=accrual,
        created_at=at,
    )


def allocate(
    budget: FundBudget,
    amount: Money,
    *,
    actor: str,
    at: datetime,
    partner_id: str | None = None,
    tier_id: str | None = None,
) -> Change[FundBudget]:
    """Move ``amount`` of the unallocated money into a partner's or a tier's pool.

    Raises:
        InsufficientFundsError: If the budget has less unallocated.
        InvalidTransitionError: If the budget is closed.
    """
    when, _ = _when(at, actor)
    _open(budget, "allocate from")
    key = pool_key(partner_id=partner_id, tier_id=tier_id)
    wanted = _money(amount, budget.currency, "amount")
    if wanted > budget.unallocated:
        raise InsufficientFundsError(
            "fund budget",
            budget.id,
            f"budget {budget.id} has {budget.unallocated} unallocated; cannot allocate "
            f"{wanted} to {key.replace(':', ' ')}",
            wanted,
            budget.unallocated,
        )
    updated = _with_pool(budget, key, allocated=wanted)
    explanation = (
        f"allocated {wanted} to {key.replace(':', ' ')}; {updated.unallocated} stays unallocated"
    )
    return Change(
        updated,
        (_event("allocated", budget.id, budget, partner_id, when, actor, explanation, pool=key),),
    )


def allocate_shares(
    budget: FundBudget,
    amount: Money,
    shares: Mapping[str, Decimal | int | str],
    *,
    actor: str,
    at: datetime,
) -> Change[FundBudget]:
    """Split ``amount`` over pools in proportion to ``shares``, losing no cent.

    Args:
        budget: The budget.
        amount: What to split, at most the unallocated money.
        shares: Pool keys (``"partner:ptn_1"``, ``"tier:gold"``) to weights.
        actor: Who allocates.
        at: When.

    Raises:
        InsufficientFundsError: If the budget has less unallocated.
    """
    keys = list(shares)
    if not keys:
        raise ValidationError.single("shares", "name at least one pool")
    wanted = _money(amount, budget.currency, "amount")
    parts = wanted.allocate([shares[key] for key in keys])
    events: list[Event] = []
    for key, part in zip(keys, parts, strict=True):
        kind, _, ident = key.partition(":")
        if kind not in ("partner", "tier"):
            raise ValidationError.single(
                f"shares[{key!r}]", "keys are 'partner:<id>' or 'tier:<id>'"
            )
        if not part.amount:
            continue
        ids = {"partner_id": ident} if kind == "partner" else {"tier_id": ident}
        budget, more = allocate(budget, part, actor=actor, at=at, **ids)
        events.extend(more)
    return Change(budget, tuple(events))


def accrue(
    budget: FundBudget, activities: Iterable[Activity], *, actor: str, at: datetime
) -> Change[FundBudget]:
    """Recompute an accrued budget from partners' activities in its period.

    Each partner's pool holds ``rate`` percent of its activities of the accrual's
    kind whose money is in the budget's currency and which occurred within the
    period (rounded down to the cent). Running it again over the same activities
    changes nothing; over more, it adds the difference. A reversal (negative
    value) takes money back from the partner's available balance.

    Raises:
        InsufficientFundsError: If a reversal takes back more than a partner's
            pool has available.
        ValidationError: If the budget is fixed.
    """
    when, _ = _when(at, actor)
    _open(budget, "accrue")
    accrual = budget.accrual
    if accrual is None:
        raise ValidationError.single("budget", f"budget {budget.id} is fixed; it does not accrue")
    bases: dict[str, Decimal] = {}
    for activity in activities:
        value = activity.value
        day = activity.occurred_at.date()
        if (
            activity.kind == accrual.activity_kind
            and isinstance(value, Money)
            and value.currency == budget.currency
            and budget.period_start <= day <= budget.period_end
        ):
            bases[activity.partner_id] = bases.get(activity.partner_id, Decimal(0)) + value.amount
    events: list[Event] = []
    for partner_id in sorted(bases):
        base = Money(bases[partner_id], budget.currency)
        target = base.multiply(accrual.rate / _HUNDRED, rounding=ROUND_DOWN)
        target = max(target, Money.zero(budget.currency))
        key = pool_key(partner_id=partner_id)
        pool = budget.pool(key)
        had = (
            pool.balance.allocated + pool.balance.forfeited if pool else Money.zero(budget.currency)
        )
        delta = target - had
        if not delta.amount:
            continue
        if pool is not None and -delta > pool.balance.available:
            raise InsufficientFundsError(
                "fund budget",
                budget.id,
                f"partner {partner_id}'s accrual fell to {target}, but only "
                f"{pool.balance.available} of its pool is available to take back",
                -delta,
                pool.balance.available,
            )
        budget = _with_pool(
            attrs.evolve(budget, funded=budget.funded + delta), key, allocated=delta
        )
        explanation = (
            f"{format_value(accrual.rate)}% of {base} {accrual.activity_kind} from "
            f"{budget.period_start} to {budget.period_end} is {target}; "
            f"{'added' if delta.amount > 0 else 'took back'} {abs(delta)}"
        )
        events.append(
            _event("accrued", budget.id, budget, partner_id, when, actor, explanation, pool=key)
        )
    return Change(budget, tuple(events))


# --- requests -------------------------------------------------------------------


_Record = TypeVar("_Record", FundRequest, FundClaim)


def _move(  # noqa: PLR0917 - the fields of one FundDecision, in its order
    record: _Record,
    action: FundAction,
    target: RequestStatus | ClaimStatus,
    budget: FundBudget,
    when: datetime,
    actor: str,
    reason: str,
    explanation: str,
    *,
    data: Mapping[str, Scalar] | None = None,
    **changes: object,
) -> tuple[_Record, Event]:
    """``record`` moved to ``target`` with the decision in its history, and its event.

    The event is ``fund.request_<target>`` or ``fund.claim_<target>``; a claim's
    carries its ``request_id`` before ``data``.
    """
    decision = FundDecision(
        action, record.status.value, target.value, actor, when, reason, explanation
    )
    moved = attrs.evolve(record, status=target, history=(*record.history, decision), **changes)  # type: ignore[arg-type]
    context: dict[str, Scalar] = {}
    noun = "request"
    if isinstance(record, FundClaim):
        noun, context["request_id"] = "claim", record.request_id
    event = _event(
        f"{noun}_{target.value}",
        record.id,
        budget,
        record.partner_id,
        when,
        actor,
        explanation,
        **context,
        **(data or {}),
    )
    return moved, event


def _check_on_budget(budget: FundBudget, request: FundRequest) -> None:
    if request.budget_id != budget.id:
        raise ValidationError.single(
            "request", f"request {request.id} is not on budget {budget.id}"
        )


def _check_request(
    budget: FundBudget, request: FundRequest, action: str, *sources: RequestStatus
) -> None:
    _check_on_budget(budget, request)
    if request.status not in sources:
        allowed: tuple[str, ...] = ()
        if request.status is RequestStatus.SUBMITTED:
            allowed = _PENDING_ONLY
        if request.status is RequestStatus.APPROVED:
            allowed = (FundAction.CLOSE.value, "claim")
        raise InvalidTransitionError(
            "fund request", request.id, request.status.value, action, allowed
        )


def submit_request(
    budget: FundBudget,
    *,
    request_id: str,
    partner_id: str,
    activity: str,
    amount: Money,
    actor: str,
    at: datetime,
    tier_id: str | None = None,
) -> Change[tuple[FundBudget, FundRequest]]:
    """A partner asks to spend ``amount`` on ``activity``; the amount is reserved.

    The request draws on the partner's own pool if the budget has one, else on
    the pool of ``tier_id`` (the partner's tier in the budget's program).

    Raises:
        DeadlinePassedError: After the budget's request deadline.
        InsufficientFundsError: If the pool has less available.
        ValidationError: If there is no pool for the partner or its tier.
    """
    when, _ = _when(at, actor)
    _open(budget, "request from")
    wanted = _money(amount, budget.currency, "amount")
    _check_deadline(budget, "request", request_id, budget.terms.request_deadline, when)
    key = pool_key(partner_id=partner_id)
    if budget.pool(key) is None and tier_id is not None:
        key = pool_key(tier_id=tier_id)
    pool = budget.pool(key)
    if pool is None:
        raise ValidationError.single(
            "partner_id",
            f"budget {budget.id} has no pool for partner {partner_id}"
            + (f" or its tier {tier_id}" if tier_id else "")
            + "; allocate one first",
        )
    available = pool.balance.available
    if wanted > available:
        raise InsufficientFundsError(
            "fund request",
            request_id,
            f"{pool.describe()} has {available} available in budget {budget.id}; "
            f"cannot reserve {wanted}",
            wanted,
            available,
        )
    updated = _with_pool(budget, key, pending=wanted)
    explanation = (
        f"reserved {wanted} of the {available} available in {pool.describe()}; "
        f"{updated.pool(key).balance.available} stays available"  # type: ignore[union-attr]
    )
    request = FundRequest(
        id=request_id,
        budget_id=budget.id,
        partner_id=partner_id,
        pool=key,
        activity=activity,
        amount=wanted,
        submitted_at=when,
        history=(FundDecision(FundAction.SUBMIT, None, "submitted", actor, when, "", explanation),),
    )
    event = _event(
        "request_submitted",
        request_id,
        budget,
        partner_id,
        when,
        actor,
        explanation,
        amount=str(wanted),
    )
    return Change((updated, request), (event,))


def approve_request(
    budget: FundBudget,
    request: FundRequest,
    *,
    actor: str,
    at: datetime,
    amount: Money | None = None,
    reason: str = "",
) -> Change[tuple[FundBudget, FundRequest]]:
    """Approve a submitted request, in full or (with a reason) in part.

    The approved amount is committed; what was asked beyond it returns to the pool.

    Raises:
        InvalidTransitionError: Unless the request is submitted and the budget open.
        ValidationError: If ``amount`` exceeds what was asked, or a partial
            approval gives no reason.
    """
    partial = amount is not None and amount != request.amount
    when, text = _when(at, actor, reason, required="approve part of a request" if partial else "")
    _open(budget, "decide on")
    _check_request(budget, request, "approve", RequestStatus.SUBMITTED)
    granted = request.amount if amount is None else _money(amount, budget.currency, "amount")
    if granted > request.amount:
        raise ValidationError.single(
            "amount", f"{granted} is more than the {request.amount} asked; approve at most that"
        )
    returned = request.amount - granted
    updated = _with_pool(budget, request.pool, pending=-request.amount, approved=granted)
    explanation = f"approved {granted} of the {request.amount} asked" + (
        f"; {returned} returns to the pool" if returned.amount else ""
    )
    decided, event = _move(
        request,
        FundAction.APPROVE,
        RequestStatus.APPROVED,
        budget,
        when,
        actor,
        text,
        explanation,
        data={"amount": str(granted)},
        approved_amount=granted,
    )
    return Change((updated, decided), (event,))


#: The moves that release a submitted request's reservation: where each leads, and
#: what a required reason is for ("" when none is required).
_RELEASES: Final[Mapping[FundAction, tuple[RequestStatus, str]]] = {
    FundAction.REJECT: (RequestStatus.REJECTED, "reject a request"),
    FundAction.WITHDRAW: (RequestStatus.WITHDRAWN, ""),
}


def _release(
    budget: FundBudget,
    request: FundRequest,
    action: FundAction,
    *,
    actor: str,
    at: datetime,
    reason: str,
) -> Change[tuple[FundBudget, FundRequest]]:
    target, required = _RELEASES[action]
    when, text = _when(at, actor, reason, required=required)
    _check_request(budget, request, action.value, RequestStatus.SUBMITTED)
    updated = _with_pool(budget, request.pool, pending=-request.amount)
    explanation = f"{target.value}; the {request.amount} reserved returns to the pool"
    decided, event = _move(request, action, target, budget, when, actor, text, explanation)
    return Change((updated, decided), (event,))


def reject_request(
    budget: FundBudget, request: FundRequest, *, actor: str, at: datetime, reason: str
) -> Change[tuple[FundBudget, FundRequest]]:
    """Reject a submitted request (a reason is required); its reservation is released.

    Raises:
        InvalidTransitionError: Unless the request is submitted.
    """
    return _release(budget, request, FundAction.REJECT, actor=actor, at=at, reason=reason)


def withdraw_request(
    budget: FundBudget, request: FundRequest, *, actor: str, at: datetime, reason: str = ""
) -> Change[tuple[FundBudget, FundRequest]]:
    """The partner withdraws a submitted request; its reservation is released.

    Raises:
        InvalidTransitionError: Unless the request is submitted.
    """
    return _release(budget, request, FundAction.WITHDRAW, actor=actor, at=at, reason=reason)


def _close(
    budget: FundBudget,
    request: FundRequest,
    when: datetime,
    actor: str,
    reason: str,
    *,
    forfeit: bool,
) -> Change[tuple[FundBudget, FundRequest]]:
    assert request.approved_amount is not None  # noqa: S101 - approved requests have one
    left = request.approved_amount - request.claimed
    if forfeit:
        updated = _with_pool(budget, request.pool, approved=-left, allocated=-left, forfeited=left)
        explanation = f"closed with {request.claimed} claimed; the {left} unclaimed is forfeited"
    else:
        updated = _with_pool(budget, request.pool, approved=-left)
        explanation = (
            f"closed with {request.claimed} claimed; the {left} unclaimed returns to the pool"
        )
    decided, event = _move(
        request,
        FundAction.CLOSE,
        RequestStatus.CLOSED,
        budget,
        when,
        actor,
        reason,
        explanation,
        data={"released": str(left)},
    )
    return Change((updated, decided), (event,))


def close_request(
    budget: FundBudget, request: FundRequest, *, actor: str, at: datetime, reason: str = ""
) -> Change[tuple[FundBudget, FundRequest]]:
    """Close an approved request: no more claims; what was not claimed returns to the pool.

    Raises:
        InvalidTransitionError: Unless the request is approved with no claim
            awaiting a decision.
    """
    when, text = _when(at, actor, reason)
    _check_request(budget, request, "close", RequestStatus.APPROVED)
    if request.open_claims:
        raise InvalidTransitionError(
            "fund request",
            request.id,
            "approved with claims awaiting a decision",
            "close",
            ("decide its claims first",),
        )
    return _close(budget, request, when, actor, text, forfeit=False)


# --- claims ---------------------------------------------------------------------


def _reimbursable(terms: FundTerms, eligible: Money) -> tuple[Money, str]:
    share = terms.vendor_share
    paid = eligible.multiply(share / _HUNDRED, rounding=ROUND_DOWN)
    why = (
        f"the partner's {format_value(terms.cost_share)}% cost share"
        if share == _HUNDRED - terms.cost_share
        else f"the {format_value(terms.max_reimbursement)}% maximum reimbursement"
    )
    return paid, f"{format_value(share)}% of {eligible} eligible costs ({why}) is {paid}"


def submit_claim(
    budget: FundBudget,
    request: FundRequest,
    *,
    claim_id: str,
    items: Sequence[ProofItem],
    actor: str,
    at: datetime,
) -> Change[tuple[FundRequest, FundClaim]]:
    """Claim reimbursement of an approved request's activity, with proof of performance.

    Raises:
        DeadlinePassedError: After the budget's claim deadline.
        InvalidTransitionError: Unless the request is approved.
        ValidationError: If proof the terms require is missing, or an item's
            money is not in the budget's currency.
    """
    when, _ = _when(at, actor)
    _check_request(budget, request, "claim against", RequestStatus.APPROVED)
    _check_deadline(budget, "claim", claim_id, budget.terms.claim_deadline, when)
    proof = tuple(items)
    problems = Problems()
    for index, item in enumerate(proof):
        if not isinstance(item, ProofItem):
            problems.add(f"items[{index}]", "expected a ProofItem")
        elif item.amount.currency != budget.currency:
            problems.add(f"items[{index}].amount", f"is not in the budget's {budget.currency}")
    problems.raise_if_any()
    missing = sorted(set(budget.terms.required_proof) - {item.kind for item in proof})
    if missing:
        raise ValidationError.single(
            "items", f"budget {budget.id} requires proof of kind {', '.join(missing)}; attach it"
        )
    eligible = Money.sum((item.amount for item in proof), currency=budget.currency)
    reimbursable, why = _reimbursable(budget.terms, eligible)
    explanation = f"claimed {eligible} of costs; {why}"
    claim = FundClaim(
        id=claim_id,
        budget_id=budget.id,
        request_id=request.id,
        partner_id=request.partner_id,
        items=proof,
        submitted_at=when,
        eligible=eligible,
        reimbursable=reimbursable,
        history=(FundDecision(FundAction.SUBMIT, None, "submitted", actor, when, "", explanation),),
    )
    updated = attrs.evolve(request, open_claims=request.open_claims + 1)
    event = _event(
        "claim_submitted",
        claim_id,
        budget,
        request.partner_id,
        when,
        actor,
        explanation,
        request_id=request.id,
        eligible=str(eligible),
    )
    return Change((updated, claim), (event,))


def _check_claim(request: FundRequest, claim: FundClaim, action: str, source: ClaimStatus) -> None:
    if claim.request_id != request.id:
        raise ValidationError.single("claim", f"claim {claim.id} is not on request {request.id}")
    if claim.status is not source:
        allowed = {
            ClaimStatus.SUBMITTED: ("approve", "reject"),
            ClaimStatus.APPROVED: ("pay",),
        }.get(claim.status, ())
        raise InvalidTransitionError("fund claim", claim.id, claim.status.value, action, allowed)


def approve_claim(
    budget: FundBudget,
    request: FundRequest,
    claim: FundClaim,
    *,
    actor: str,
    at: datetime,
    amount: Money | None = None,
    reason: str = "",
) -> Change[tuple[FundBudget, FundRequest, FundClaim]]:
    """Approve a claim: what the terms reimburse, at most what the request has left.

    Without ``amount`` the claim gets the lower of what the terms reimburse and
    what the request has left; a smaller ``amount`` (partial approval) needs a
    reason.

    Raises:
        InsufficientFundsError: If ``amount`` is more than the request has left.
        InvalidTransitionError: Unless the claim is submitted.
        ValidationError: If ``amount`` is more than the terms reimburse.
    """
    _check_claim(request, claim, "approve", ClaimStatus.SUBMITTED)
    _check_request(budget, request, "approve a claim on", RequestStatus.APPROVED)
    left = request.remaining
    full = min(claim.reimbursable, left)
    partial = amount is not None and amount != full
    when, text = _when(at, actor, reason, required="approve part of a claim" if partial else "")
    granted = full if amount is None else _money(amount, budget.currency, "amount")
    if not granted.amount and claim.reimbursable.amount:
        raise InsufficientFundsError(
            "fund claim",
            claim.id,
            f"request {request.id} has nothing left of the {request.approved_amount} "
            f"approved; reject claim {claim.id} or approve less elsewhere",
            claim.reimbursable,
            left,
        )
    if granted > claim.reimbursable:
        raise ValidationError.single(
            "amount", f"{granted} is more than the {claim.reimbursable} the terms reimburse"
        )
    if granted > left:
        raise InsufficientFundsError(
            "fund claim",
            claim.id,
            f"request {request.id} has {left} left of the {request.approved_amount} approved; "
            f"cannot approve {granted}",
            granted,
            left,
        )
    if granted < claim.reimbursable and granted == left:
        explanation = (
            f"approved {granted} of the {claim.reimbursable} the terms reimburse: all that "
            f"request {request.id} had left of the {request.approved_amount} approved"
        )
    elif granted < claim.reimbursable:
        explanation = f"approved {granted} of the {claim.reimbursable} the terms reimburse"
    else:
        _, why = _reimbursable(budget.terms, claim.eligible)
        explanation = f"approved {granted}, what the terms reimburse: {why}"
    updated_budget = _with_pool(budget, request.pool, claimed=granted)
    updated_request = attrs.evolve(
        request, claimed=request.claimed + granted, open_claims=request.open_claims - 1
    )
    decided, event = _move(
        claim,
        FundAction.APPROVE,
        ClaimStatus.APPROVED,
        budget,
        when,
        actor,
        text,
        explanation,
        data={"amount": str(granted)},
        approved_amount=granted,
    )
    return Change((updated_budget, updated_request, decided), (event,))


def reject_claim(
    budget: FundBudget,
    request: FundRequest,
    claim: FundClaim,
    *,
    actor: str,
    at: datetime,
    reason: str,
) -> Change[tuple[FundRequest, FundClaim]]:
    """Reject a submitted claim (a reason is required); the request keeps its money.

    Raises:
        InvalidTransitionError: Unless the claim is submitted.
    """
    when, text = _when(at, actor, reason, required="reject a claim")
    _check_claim(request, claim, "reject", ClaimStatus.SUBMITTED)
    explanation = f"rejected; request {request.id} keeps its {request.remaining} for other claims"
    decided, event = _move(
        claim,
        FundAction.REJECT,
        ClaimStatus.REJECTED,
        budget,
        when,
        actor,
        text,
        explanation,
        data={"reason": text},
    )
    updated = attrs.evolve(request, open_claims=request.open_claims - 1)
    return Change((updated, decided), (event,))


def pay_claim(
    budget: FundBudget,
    request: FundRequest,
    claim: FundClaim,
    *,
    actor: str,
    at: datetime,
    reference: str = "",
) -> Change[tuple[FundBudget, FundRequest, FundClaim]]:
    """Settle an approved claim: what it was approved for is paid.

    Raises:
        InvalidTransitionError: Unless the claim is approved.
    """
    when, _ = _when(at, actor)
    _check_claim(request, claim, "pay", ClaimStatus.APPROVED)
    _check_on_budget(budget, request)
    amount = claim.approved_amount
    assert amount is not None  # noqa: S101 - approved claims have one
    explanation = f"paid {amount}" + (f" (reference {reference})" if reference else "")
    updated_budget = _with_pool(budget, request.pool, paid=amount)
    updated_request = attrs.evolve(request, paid=request.paid + amount)
    decided, event = _move(
        claim,
        FundAction.PAY,
        ClaimStatus.PAID,
        budget,
        when,
        actor,
        "",
        explanation,
        data={"amount": str(amount)},
        paid_at=when,
        payment_reference=reference,
    )
    return Change((updated_budget, updated_request, decided), (event,))


# --- the sweep and reconciliation ----------------------------------------------------


@attrs.frozen
class Sweep:
    """What a forfeiture sweep did.

    Attributes:
        budget: The budget afterwards.
        requests: The requests it expired or closed.
        events: One event per move.
        lines: What it did, and what it left and why, in words.
    """

    budget: FundBudget
    requests: tuple[FundRequest, ...]
    events: tuple[Event, ...]
    lines: tuple[str, ...]


def sweep(
    budget: FundBudget,
    requests: Iterable[FundRequest],
    *,
    as_of: datetime,
    actor: str = SYSTEM_ACTOR,
) -> Sweep:
    """Forfeit what can no longer be spent, and close the budget when nothing is left open.

    After the request deadline, whatever is available in a pool and whatever is
    unallocated is forfeited (no new request could use it). After the claim
    deadline, requests still awaiting a decision expire and approved requests
    with no claim awaiting a decision close, their unclaimed money forfeited;
    when no request is left open, the budget closes. Run it daily: it is
    idempotent, and money released later (a rejection, a closed request) is
    swept on the next run.

    Args:
        budget: The budget.
        requests: Its requests (others are ignored); those already final may be
            left out.
        as_of: Now.
        actor: Who sweeps (``system`` unless told).
    """
    when, _ = _when(as_of, actor)
    today = when.date()
    terms = budget.terms
    lines: list[str] = []
    events: list[Event] = []
    changed: list[FundRequest] = []
    open_left = 0
    if today > terms.claim_deadline:
        for request in sorted(requests, key=lambda r: r.id):
            if request.budget_id != budget.id:
                continue
            if request.status is RequestStatus.SUBMITTED:
                explanation = (
                    f"expired: undecided after the claim deadline {terms.claim_deadline}; "
                    f"the {request.amount} reserved is forfeited"
                )
                budget = _with_pool(
                    budget,
                    request.pool,
                    pending=-request.amount,
                    allocated=-request.amount,
                    forfeited=request.amount,
                )
                expired, event = _move(
                    request,
                    FundAction.EXPIRE,
                    RequestStatus.EXPIRED,
                    budget,
                    when,
                    actor,
                    "",
                    explanation,
                )
                changed.append(expired)
                events.append(event)
                lines.append(f"request {request.id}: {explanation}")
            elif request.status is RequestStatus.APPROVED and request.open_claims:
                open_left += 1
                lines.append(
                    f"request {request.id}: kept open, "
                    f"{request.open_claims} claim(s) await a decision"
                )
            elif request.status is RequestStatus.APPROVED:
                (budget, closed), more = _close(budget, request, when, actor, "", forfeit=True)
                changed.append(closed)
                events.extend(more)
                lines.append(f"request {request.id}: {closed.history[-1].explanation}")
    if today > terms.request_deadline and budget.status is BudgetStatus.OPEN:
        for pool in budget.allocations:
            left = pool.balance.available
            if left.amount:
                budget = _with_pool(budget, pool.key, allocated=-left, forfeited=left)
                explanation = (
                    f"forfeited the {left} {pool.describe()} had not requested by the "
                    f"request deadline {terms.request_deadline}"
                )
                events.append(
                    _event(
                        "forfeited",
                        budget.id,
                        budget,
                        pool.partner_id,
                        when,
                        actor,
                        explanation,
                        pool=pool.key,
                        amount=str(left),
                    )
                )
                lines.append(explanation)
        spare = budget.unallocated
        if spare.amount:
            budget = attrs.evolve(budget, forfeited=budget.forfeited + spare)
            explanation = f"forfeited the {spare} never allocated"
            events.append(
                _event(
                    "forfeited",
                    budget.id,
                    budget,
                    None,
                    when,
                    actor,
                    explanation,
                    amount=str(spare),
                )
            )
            lines.append(explanation)
    if today > terms.claim_deadline and budget.status is BudgetStatus.OPEN and not open_left:
        budget = attrs.evolve(budget, status=BudgetStatus.CLOSED)
        explanation = f"closed: {budget.balance.describe()}"
        events.append(_event("budget_closed", budget.id, budget, None, when, actor, explanation))
        lines.append(explanation)
    if not lines:
        lines.append(
            f"nothing to forfeit before the request deadline {terms.request_deadline}"
            if today <= terms.request_deadline
            else "nothing left to forfeit"
        )
    return Sweep(budget, tuple(changed), tuple(events), tuple(lines))


def reconcile(
    budget: FundBudget, requests: Iterable[FundRequest], claims: Iterable[FundClaim]
) -> tuple[str, ...]:
    """Check a budget's stored balances against its requests and claims, to the cent.

    Each pool's pending, approved, claimed and paid figures must equal what its
    requests add up to, and each request's claimed and paid figures what its
    claims add up to.

    Returns:
        Every difference found, in words; ``()`` when everything reconciles.
    """
    zero = Money.zero(budget.currency)
    figures: dict[str, dict[str, Money]] = {}
    by_request: dict[str, dict[str, Money]] = {}
    found: list[str] = []
    for claim in claims:
        if claim.budget_id != budget.id:
            continue
        sums = by_request.setdefault(claim.request_id, {"claimed": zero, "paid": zero})
        if claim.status in (ClaimStatus.APPROVED, ClaimStatus.PAID):
            assert claim.approved_amount is not None  # noqa: S101 - approved claims have one
            sums["claimed"] += claim.approved_amount
        if claim.status is ClaimStatus.PAID:
            assert claim.approved_amount is not None  # noqa: S101
            sums["paid"] += claim.approved_amount
    for request in requests:
        if request.budget_id != budget.id:
            continue
        pool = figures.setdefault(
            request.pool, {"pending": zero, "approved": zero, "claimed": zero, "paid": zero}
        )
        if request.status is RequestStatus.SUBMITTED:
            pool["pending"] += request.amount
        elif request.status is RequestStatus.APPROVED:
            assert request.approved_amount is not None  # noqa: S101
            pool["approved"] += request.approved_amount
        elif request.status is RequestStatus.CLOSED:
            pool["approved"] += request.claimed
        pool["claimed"] += request.claimed
        pool["paid"] += request.paid
        sums = by_request.pop(request.id, {"claimed": zero, "paid": zero})
        found.extend(
            f"request {request.id} says {name} {getattr(request, name)}, "
            f"its claims add up to {sums[name]}"
            for name in ("claimed", "paid")
            if getattr(request, name) != sums[name]
        )
    found.extend(
        f"claims on request {request_id}, which is not among the requests"
        for request_id in sorted(by_request)
    )
    for allocation in budget.allocations:
        expected = figures.pop(allocation.key, {})
        for name in ("pending", "approved", "claimed", "paid"):
            stored = getattr(allocation.balance, name)
            if stored != expected.get(name, zero):
                found.append(
                    f"{allocation.describe()} says {name} {stored}, its requests add up to "
                    f"{expected.get(name, zero)}"
                )
    found.extend(
        f"requests draw on {key.replace(':', ' ')}, which budget {budget.id} lacks"
        for key in sorted(figures)
    )
    return tuple(found)
