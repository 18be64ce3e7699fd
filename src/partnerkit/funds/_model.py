"""Fund models: budgets with their pools, requests, claims, proof, and their balances.

Public through `partnerkit.funds`; the rules that move money between the balances
live in `partnerkit.funds._ledger`.

Where the money of a budget is, at every moment (each figure is never negative)::

    funded = unallocated + forfeited (unallocated, at close)
             + for each pool: allocated + forfeited

    in a pool:  allocated = requested + available
                requested = pending + approved
                approved >= claimed >= paid

``pending`` is what submitted requests reserve, ``approved`` what approved requests
commit (a closed request keeps only what was claimed on it), ``claimed`` what
approved claims owe, ``paid`` what was settled. Every model checks these at
construction, so a negative or unreconciled balance cannot exist.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Final

import attrs

from partnerkit._base.checks import check_enum, check_slug, check_text
from partnerkit._base.ids import check_id
from partnerkit._base.money import Money, to_decimal
from partnerkit._base.time import to_utc
from partnerkit.errors import ConflictError, Problems, ValidationError

__all__ = [
    "Accrual",
    "Allocation",
    "BudgetStatus",
    "ClaimStatus",
    "DeadlinePassedError",
    "FundAction",
    "FundBalance",
    "FundBudget",
    "FundClaim",
    "FundDecision",
    "FundRequest",
    "FundSource",
    "FundTerms",
    "InsufficientFundsError",
    "ProofItem",
    "RequestStatus",
    "pool_key",
]

_MAX_TEXT: Final = 2000
_HUNDRED: Final = Decimal(100)


class InsufficientFundsError(ConflictError):
    """A move needs more money than the balance it draws on holds. Nothing changed.

    Attributes:
        wanted: What the move needed.
        available: What the balance holds.
    """

    def __init__(self, kind: str, key: str, message: str, wanted: Money, available: Money) -> None:
        self.wanted = wanted
        self.available = available
        super().__init__(kind, key, message)

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.kind, self.key, str(self), self.wanted, self.available))


class DeadlinePassedError(ConflictError):
    """A request or claim came after its budget's deadline. Nothing changed.

    Attributes:
        deadline: The last day it could have come.
    """

    def __init__(self, kind: str, key: str, message: str, deadline: date) -> None:
        self.deadline = deadline
        super().__init__(kind, key, message)

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.kind, self.key, str(self), self.deadline))


class FundSource(enum.StrEnum):
    """Where a budget's money comes from."""

    FIXED = "fixed"
    """A fixed amount, set when the budget is made."""
    ACCRUED = "accrued"
    """A rate of what partners do in the period (purchases), each into its own pool."""


class BudgetStatus(enum.StrEnum):
    """Whether a budget still takes requests."""

    OPEN = "open"
    CLOSED = "closed"


class RequestStatus(enum.StrEnum):
    """Where a fund request (pre-approval) is in its lifecycle."""

    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"
    CLOSED = "closed"


class ClaimStatus(enum.StrEnum):
    """Where a claim for reimbursement is in its lifecycle."""

    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    PAID = "paid"


class FundAction(enum.StrEnum):
    """The moves of requests and claims, as their histories record them."""

    SUBMIT = "submit"
    APPROVE = "approve"
    REJECT = "reject"
    WITHDRAW = "withdraw"
    EXPIRE = "expire"
    CLOSE = "close"
    PAY = "pay"


def _percent(value: object) -> Decimal:
    number = to_decimal(value, "")
    if not Decimal(0) <= number <= _HUNDRED:
        raise ValidationError.single("", f"{number} is not a percentage from 0 to 100")
    return number


def _a_date(value: object) -> date:
    if not isinstance(value, date) or isinstance(value, datetime):
        raise ValidationError.single("", "expected a date such as date(2026, 3, 31)")
    return value


def _zero_of_amount(record: FundRequest) -> Money:
    return Money.zero(record.amount.currency) if isinstance(record.amount, Money) else record.amount


def _zero_of_funded(budget: FundBudget) -> Money:
    return Money.zero(budget.funded.currency) if isinstance(budget.funded, Money) else budget.funded


def _text(value: object, *, required: bool = False) -> str:
    return check_text(value, required=required, limit=_MAX_TEXT)


@attrs.frozen
class FundTerms:
    """The rules every request and claim on a budget follows.

    Attributes:
        request_deadline: The last day a request may be submitted.
        claim_deadline: The last day a claim may be submitted (on or after the
            request deadline).
        cost_share: The partner's share of every eligible cost, in percent: 50
            means the vendor reimburses half (50/50 is common).
        max_reimbursement: The most the vendor reimburses of a claim's eligible
            costs, in percent, whatever the cost share.
        required_proof: Proof kinds every claim must carry (``"invoice"``).
    """

    request_deadline: date
    claim_deadline: date
    cost_share: Decimal = Decimal(50)
    max_reimbursement: Decimal = Decimal(100)
    required_proof: tuple[str, ...] = ()

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        for name in ("request_deadline", "claim_deadline"):
            object.__setattr__(self, name, problems.check(name, _a_date, getattr(self, name)))
        for name in ("cost_share", "max_reimbursement"):
            object.__setattr__(self, name, problems.check(name, _percent, getattr(self, name)))
        kinds = problems.check(
            "required_proof",
            lambda value: tuple(sorted({check_slug(kind, "proof kind") for kind in value})),
            self.required_proof,
        )
        object.__setattr__(self, "required_proof", kinds or ())
        if not problems.found and self.claim_deadline < self.request_deadline:
            problems.add(
                "claim_deadline",
                f"{self.claim_deadline} is before the request deadline "
                f"{self.request_deadline}; claims follow requests",
            )
        problems.raise_if_any()

    @property
    def vendor_share(self) -> Decimal:
        """The percentage of eligible costs the vendor reimburses.

        The lower of ``100 - cost_share`` and ``max_reimbursement``.
        """
        return min(_HUNDRED - self.cost_share, self.max_reimbursement)


@attrs.frozen
class Accrual:
    """How an accrued budget grows: ``rate`` percent of each partner's ``activity_kind``.

    Attributes:
        rate: Percent of the activities' money value (3 to 5 is common).
        activity_kind: The activities counted (``revenue_booked``: purchases).
    """

    rate: Decimal
    activity_kind: str = "revenue_booked"

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        object.__setattr__(self, "rate", problems.check("rate", _percent, self.rate))
        kind = problems.check("activity_kind", check_slug, self.activity_kind, "activity kind")
        object.__setattr__(self, "activity_kind", kind)
        problems.raise_if_any()


_BALANCE_FIELDS: Final = ("allocated", "pending", "approved", "claimed", "paid", "forfeited")


@attrs.frozen
class FundBalance:
    """Where one pool's money is; see the module docstring for the identities.

    Attributes:
        allocated: What the pool holds now (forfeited money leaves it).
        pending: Reserved by submitted requests awaiting a decision.
        approved: Committed by approved requests (claimed on closed ones).
        claimed: Owed on approved claims, paid or not.
        paid: Settled.
        forfeited: Taken back by the forfeiture sweep.

    Raises:
        ValidationError: If a figure is negative, the currencies differ, or the
            figures do not reconcile (``allocated >= pending + approved``,
            ``approved >= claimed >= paid``).
    """

    allocated: Money
    pending: Money
    approved: Money
    claimed: Money
    paid: Money
    forfeited: Money

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        values = [getattr(self, name) for name in _BALANCE_FIELDS]
        for name, value in zip(_BALANCE_FIELDS, values, strict=True):
            if not isinstance(value, Money):
                problems.add(name, "expected Money")
            elif value.amount < 0:
                problems.add(name, f"{value} is negative; a balance never is")
        problems.raise_if_any()
        if len({value.currency for value in values}) > 1:
            raise ValidationError.single("", "every figure of a balance is in one currency")
        if self.pending + self.approved > self.allocated:
            problems.add(
                "allocated",
                f"{self.allocated} is less than the {self.requested} requested; "
                f"requests cannot reserve more than the pool holds",
            )
        if not self.approved >= self.claimed >= self.paid:
            problems.add(
                "claimed",
                f"approved {self.approved} >= claimed {self.claimed} >= paid {self.paid} "
                f"does not hold",
            )
        problems.raise_if_any()

    @classmethod
    def empty(cls, currency: str) -> FundBalance:
        """Every figure zero in ``currency``."""
        zero = Money.zero(currency)
        return cls(zero, zero, zero, zero, zero, zero)

    @property
    def currency(self) -> str:
        """The balance's currency."""
        return self.allocated.currency

    @property
    def requested(self) -> Money:
        """What requests hold: pending plus approved."""
        return self.pending + self.approved

    @property
    def available(self) -> Money:
        """What new requests may still reserve: allocated minus requested."""
        return self.allocated - self.requested

    @property
    def payable(self) -> Money:
        """Claimed but not yet paid."""
        return self.claimed - self.paid

    def __add__(self, other: FundBalance) -> FundBalance:
        return FundBalance(
            *(getattr(self, name) + getattr(other, name) for name in _BALANCE_FIELDS)
        )

    def describe(self) -> str:
        """One line with every figure: ``allocated 10,000.00 USD = requested ...``."""
        return (
            f"allocated {self.allocated} = requested {self.requested} + available "
            f"{self.available}; approved {self.approved} >= claimed {self.claimed} >= "
            f"paid {self.paid}; forfeited {self.forfeited}"
        )


def pool_key(*, partner_id: str | None = None, tier_id: str | None = None) -> str:
    """The key of a partner's pool (``partner:ptn_1``) or a tier's (``tier:gold``)."""
    if (partner_id is None) == (tier_id is None):
        raise ValidationError.single("", "name either partner_id or tier_id")
    if partner_id is not None:
        return f"partner:{check_id(partner_id, 'partner_id')}"
    return f"tier:{check_slug(tier_id, 'tier id')}"


@attrs.frozen
class Allocation:
    """One pool of a budget: a partner's own, or one a whole tier draws on.

    Attributes:
        partner_id: The partner the pool is for (or ``None`` for a tier pool).
        tier_id: The tier whose partners share the pool (or ``None``).
        balance: Where the pool's money is.
    """

    partner_id: str | None
    tier_id: str | None
    balance: FundBalance

    def __attrs_post_init__(self) -> None:
        pool_key(partner_id=self.partner_id, tier_id=self.tier_id)
        if not isinstance(self.balance, FundBalance):
            raise ValidationError.single("balance", "expected a FundBalance")

    @property
    def key(self) -> str:
        """``partner:<id>`` or ``tier:<id>``."""
        return pool_key(partner_id=self.partner_id, tier_id=self.tier_id)

    def describe(self) -> str:
        """``partner ptn_1`` or ``tier gold``."""
        return f"partner {self.partner_id}" if self.partner_id else f"tier {self.tier_id}"


@attrs.frozen
class FundBudget:
    """A program's market development fund for one period, with its pools.

    Build one with `partnerkit.funds.new_budget`; change it only through the
    functions of `partnerkit.funds`, which keep every balance reconciled.

    Attributes:
        id: The budget's id.
        program_id: The partner program it funds.
        name: What people call it ("MDF Q1 2026").
        period_start: The first day of the period.
        period_end: The last day of the period.
        terms: Deadlines, cost share, reimbursement cap, required proof.
        source: Fixed, or accrued from partners' activities.
        funded: What the budget holds in all: the fixed amount, or what has
            accrued so far.
        accrual: How an accrued budget grows (``None`` for a fixed one).
        allocations: Its pools, ordered by key.
        forfeited: Unallocated money forfeited when the period ended.
        status: Open, or closed by the sweep.
        created_at: When it was made.
        version: Storage's optimistic-concurrency version (0 until stored).
    """

    id: str
    program_id: str
    name: str
    period_start: date
    period_end: date
    terms: FundTerms
    source: FundSource
    funded: Money
    created_at: datetime
    accrual: Accrual | None = None
    allocations: tuple[Allocation, ...] = ()
    forfeited: Money = attrs.field(default=attrs.Factory(_zero_of_funded, takes_self=True))
    status: BudgetStatus = BudgetStatus.OPEN
    version: int = 0

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        for name in ("id", "program_id"):
            problems.check(name, check_id, getattr(self, name), "")
        object.__setattr__(self, "name", problems.check("name", _text, self.name, required=True))
        for name in ("period_start", "period_end"):
            object.__setattr__(self, name, problems.check(name, _a_date, getattr(self, name)))
        object.__setattr__(
            self, "created_at", problems.check("created_at", to_utc, self.created_at, "")
        )
        object.__setattr__(
            self, "source", problems.check("source", check_enum, FundSource, self.source)
        )
        object.__setattr__(
            self, "status", problems.check("status", check_enum, BudgetStatus, self.status)
        )
        if not isinstance(self.terms, FundTerms):
            problems.add("terms", "expected FundTerms")
        if not isinstance(self.funded, Money):
            problems.add("funded", "expected Money")
        if type(self.version) is not int or self.version < 0:
            problems.add("version", "expected a whole number, 0 or more")
        problems.raise_if_any()
        currency = self.funded.currency
        if not isinstance(self.forfeited, Money) or self.forfeited.currency != currency:
            problems.add("forfeited", f"expected Money in the budget's {currency}")
        if self.period_end < self.period_start:
            problems.add(
                "period_end", f"{self.period_end} is before period_start {self.period_start}"
            )
        if self.terms.request_deadline < self.period_start:
            problems.add("terms.request_deadline", "is before the period starts")
        if (self.source is FundSource.ACCRUED) != (self.accrual is not None):
            problems.add("accrual", "an accrued budget needs an Accrual, a fixed one none")
        if self.funded.amount < 0:
            problems.add("funded", f"{self.funded} is negative")
        pools = tuple(sorted(self.allocations, key=lambda pool: pool.key))
        object.__setattr__(self, "allocations", pools)
        keys = [pool.key for pool in pools]
        if len(set(keys)) != len(keys):
            problems.add("allocations", "a pool appears twice")
        for index, pool in enumerate(pools):
            if pool.balance.currency != currency:
                problems.add(f"allocations[{index}]", f"is not in the budget's {currency}")
        problems.raise_if_any()
        if self.unallocated_amount() < 0:
            problems.add(
                "allocations",
                f"the pools and forfeits ({self.funded.amount - self.unallocated_amount()} "
                f"{currency}) exceed the {self.funded} funded",
            )
        problems.raise_if_any()

    def unallocated_amount(self) -> Decimal:
        """What is funded but in no pool, as a plain Decimal (may be checked for < 0)."""
        taken = sum(
            (
                pool.balance.allocated.amount + pool.balance.forfeited.amount
                for pool in self.allocations
            ),
            Decimal(0),
        )
        return self.funded.amount - taken - self.forfeited.amount

    @property
    def currency(self) -> str:
        """The budget's currency."""
        return self.funded.currency

    @property
    def unallocated(self) -> Money:
        """What is funded but not yet allocated to any pool."""
        return Money(self.unallocated_amount(), self.currency)

    @property
    def balance(self) -> FundBalance:
        """Every pool's balance added up."""
        total = FundBalance.empty(self.currency)
        for pool in self.allocations:
            total = total + pool.balance
        return total

    def pool(self, key: str) -> Allocation | None:
        """The pool with ``key`` (`pool_key`), or ``None``."""
        for pool in self.allocations:
            if pool.key == key:
                return pool
        return None


@attrs.frozen
class FundDecision:
    """One move of a request or claim: who, when, why, and what it did in words.

    Attributes:
        action: What was done.
        from_status: The status before.
        to_status: The status after.
        actor: Who did it.
        at: When.
        reason: Why, in the actor's words ("" when none was needed).
        explanation: What the move did to the money, in partnerkit's words.
    """

    action: FundAction
    from_status: str | None
    to_status: str
    actor: str
    at: datetime
    reason: str = ""
    explanation: str = ""

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        object.__setattr__(
            self, "action", problems.check("action", check_enum, FundAction, self.action)
        )
        problems.check("actor", check_id, self.actor, "")
        object.__setattr__(self, "at", problems.check("at", to_utc, self.at, ""))
        object.__setattr__(self, "reason", problems.check("reason", _text, self.reason))
        problems.raise_if_any()


def _check_record(record: object, problems: Problems) -> None:
    for name in ("id", "budget_id", "partner_id"):
        problems.check(name, check_id, getattr(record, name), "")
    if type(record.version) is not int or record.version < 0:  # type: ignore[attr-defined]
        problems.add("version", "expected a whole number, 0 or more")


@attrs.frozen
class FundRequest:
    """A partner's request to spend from a budget on an activity (pre-approval).

    Submitted requests reserve their amount in the pool they draw on; an approval
    commits all or part of it (the rest returns to the pool); rejection,
    withdrawal and expiry release it; closing releases what was not claimed.

    Attributes:
        id: The request's id.
        budget_id: The budget it draws on.
        partner_id: Who asks.
        pool: The key of the pool it draws on (`pool_key`).
        activity: What the money is for ("Cloud roadshow, Oslo, 12 May").
        amount: What was asked for.
        submitted_at: When.
        status: Where it is in its lifecycle.
        approved_amount: What was approved (``None`` until then).
        claimed: What approved claims on it owe, paid or not.
        paid: What was paid on it.
        open_claims: Claims on it awaiting a decision.
        history: Every move, explained.
        version: Storage's optimistic-concurrency version.
    """

    id: str
    budget_id: str
    partner_id: str
    pool: str
    activity: str
    amount: Money
    submitted_at: datetime
    status: RequestStatus = RequestStatus.SUBMITTED
    approved_amount: Money | None = None
    claimed: Money = attrs.field(default=attrs.Factory(_zero_of_amount, takes_self=True))
    paid: Money = attrs.field(default=attrs.Factory(_zero_of_amount, takes_self=True))
    open_claims: int = 0
    history: tuple[FundDecision, ...] = ()
    version: int = 0

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        _check_record(self, problems)
        object.__setattr__(
            self, "activity", problems.check("activity", _text, self.activity, required=True)
        )
        object.__setattr__(
            self, "status", problems.check("status", check_enum, RequestStatus, self.status)
        )
        object.__setattr__(
            self, "submitted_at", problems.check("submitted_at", to_utc, self.submitted_at, "")
        )
        if not isinstance(self.amount, Money) or self.amount.amount <= 0:
            problems.add("amount", "ask for an amount of money greater than zero")
        if type(self.open_claims) is not int or self.open_claims < 0:
            problems.add("open_claims", "expected a whole number, 0 or more")
        problems.raise_if_any()
        zero = Money.zero(self.amount.currency)
        for name in ("claimed", "paid"):
            if not isinstance(getattr(self, name), Money):
                problems.add(name, "expected Money")
        problems.raise_if_any()
        approved = self.approved_amount
        if approved is not None and not zero <= approved <= self.amount:
            problems.add(
                "approved_amount", f"{approved} is not between 0 and the {self.amount} asked"
            )
        if not (approved or zero) >= self.claimed >= self.paid >= zero:
            problems.add("claimed", "approved >= claimed >= paid >= 0 does not hold")
        decided = self.status in (RequestStatus.APPROVED, RequestStatus.CLOSED)
        if decided != (approved is not None):
            problems.add(
                "approved_amount",
                "an approved or closed request, and only one, has an approved amount",
            )
        if self.open_claims and self.status is not RequestStatus.APPROVED:
            problems.add("open_claims", "only an approved request has claims awaiting a decision")
        problems.raise_if_any()

    @property
    def remaining(self) -> Money:
        """What claims may still draw: approved minus claimed (zero unless approved)."""
        if self.status is not RequestStatus.APPROVED or self.approved_amount is None:
            return Money.zero(self.amount.currency)
        return self.approved_amount - self.claimed


@attrs.frozen
class ProofItem:
    """One piece of proof of performance on a claim.

    Attributes:
        kind: What it is (``invoice``, ``attendee_list``, ``photo``, ``report``).
        description: What it shows.
        amount: The cost it proves (zero for proof that is not a cost).
        reference: Where the document is (a URL or the host's document id).
    """

    kind: str
    description: str
    amount: Money
    reference: str = ""

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        object.__setattr__(
            self, "kind", problems.check("kind", check_slug, self.kind, "proof kind")
        )
        object.__setattr__(
            self,
            "description",
            problems.check("description", _text, self.description, required=True),
        )
        object.__setattr__(self, "reference", problems.check("reference", _text, self.reference))
        if not isinstance(self.amount, Money) or self.amount.amount < 0:
            problems.add("amount", "expected Money of zero or more")
        problems.raise_if_any()


@attrs.frozen
class FundClaim:
    """A claim for reimbursement of what an approved request's activity cost.

    Attributes:
        id: The claim's id.
        budget_id: The budget.
        request_id: The approved request it claims against.
        partner_id: Who claims.
        items: The proof of performance; costs are the items' amounts.
        submitted_at: When.
        eligible: The costs claimed: the items' amounts added up.
        reimbursable: What the terms reimburse of ``eligible`` (the vendor's
            share, capped), before the request's remaining amount limits it.
        status: Where it is in its lifecycle.
        approved_amount: What was approved (``None`` until then).
        paid_at: When it was paid.
        payment_reference: The finance system's reference of the payment.
        history: Every move, explained.
        version: Storage's optimistic-concurrency version.
    """

    id: str
    budget_id: str
    request_id: str
    partner_id: str
    items: tuple[ProofItem, ...]
    submitted_at: datetime
    eligible: Money
    reimbursable: Money
    status: ClaimStatus = ClaimStatus.SUBMITTED
    approved_amount: Money | None = None
    paid_at: datetime | None = None
    payment_reference: str = ""
    history: tuple[FundDecision, ...] = ()
    version: int = 0

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        _check_record(self, problems)
        problems.check("request_id", check_id, self.request_id, "")
        object.__setattr__(
            self, "status", problems.check("status", check_enum, ClaimStatus, self.status)
        )
        object.__setattr__(
            self, "submitted_at", problems.check("submitted_at", to_utc, self.submitted_at, "")
        )
        object.__setattr__(self, "items", tuple(self.items))
        if not self.items or not all(isinstance(item, ProofItem) for item in self.items):
            problems.add("items", "a claim needs at least one ProofItem")
        object.__setattr__(
            self,
            "payment_reference",
            problems.check("payment_reference", _text, self.payment_reference),
        )
        if self.paid_at is not None:
            object.__setattr__(self, "paid_at", problems.check("paid_at", to_utc, self.paid_at, ""))
        problems.raise_if_any()
        currency = self.eligible.currency
        if Money.sum((item.amount for item in self.items), currency=currency) != self.eligible:
            problems.add("eligible", "must be the items' amounts added up")
        if not Money.zero(currency) <= self.reimbursable <= self.eligible:
            problems.add("reimbursable", "must be between 0 and the eligible costs")
        if self.approved_amount is not None and not (
            Money.zero(currency) <= self.approved_amount <= self.reimbursable
        ):
            problems.add("approved_amount", "must be between 0 and what the terms reimburse")
        if (self.status in (ClaimStatus.APPROVED, ClaimStatus.PAID)) != (
            self.approved_amount is not None
        ):
            problems.add(
                "approved_amount", "an approved or paid claim, and only one, has an approved amount"
            )
        if (self.status is ClaimStatus.PAID) != (self.paid_at is not None):
            problems.add("paid_at", "a paid claim, and only a paid one, has paid_at")
        problems.raise_if_any()
