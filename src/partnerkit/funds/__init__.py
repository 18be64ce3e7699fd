"""Market development funds: budget, allocation, request, claim, settlement, forfeiture.

A program's fund for a period is a `FundBudget`: a fixed amount, or one that accrues
a rate of what partners buy (`Accrual`), each partner's share into its own pool. The
money is allocated to pools, one per partner or one a whole tier shares; partners
submit requests (pre-approval) that reserve money in their pool; managers approve
them in full or in part; partners claim what the activity cost with proof of
performance (`ProofItem`); the terms (`FundTerms`: cost share, maximum
reimbursement, deadlines, required proof) decide what a claim is reimbursed;
finance pays approved claims; a sweep forfeits what was not used in time.

Every function is pure: it takes the records it changes, the acting user and the
instant, and returns a `partnerkit.Change` with the changed records and one event
whose ``explanation`` says in words what happened to the money; requests and
claims keep every move in their ``history``, explained too. Balances never go
negative and always reconcile (`FundBalance`, `reconcile`).

See docs/funds.md for the whole flow.
"""

from partnerkit.funds._ledger import (
    SYSTEM_ACTOR,
    Sweep,
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

__all__ = [
    "SYSTEM_ACTOR",
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
    "Sweep",
    "accrue",
    "allocate",
    "allocate_shares",
    "approve_claim",
    "approve_request",
    "close_request",
    "new_budget",
    "pay_claim",
    "pool_key",
    "reconcile",
    "reject_claim",
    "reject_request",
    "submit_claim",
    "submit_request",
    "sweep",
    "withdraw_request",
]
