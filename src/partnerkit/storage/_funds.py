"""Fund budgets, requests and claims in storage: their staged repositories.

All three are versioned: ``update`` succeeds only on the version that was read,
checked again at commit. Every move of money in `partnerkit.funds` changes the
budget, so two units of work that both move money in one budget (two approvals
racing) both update it, and the later commit raises `StaleVersionError` instead
of spending money the first one already spent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from partnerkit.funds import FundBudget, FundClaim, FundRequest
from partnerkit.storage._kinds import FUND_BUDGETS, FUND_CLAIMS, FUND_REQUESTS
from partnerkit.storage._repositories import _ById, equal, partner_filter

if TYPE_CHECKING:
    from collections.abc import Sequence

    from partnerkit.funds import BudgetStatus, ClaimStatus, RequestStatus
    from partnerkit.storage._protocols import Page

__all__: list[str] = []

T = TypeVar("T", FundBudget, FundRequest, FundClaim)


class _FundRecords(_ById[T]):
    """What the three repositories share: their type errors do not name what was passed."""

    __slots__ = ()
    _says_type = False


class _FundBudgets(_FundRecords[FundBudget]):
    __slots__ = ()
    _kind = FUND_BUDGETS
    _cls = FundBudget
    _field = "budget"
    _noun = "fund budget"

    def query(
        self,
        *,
        program_id: str | None = None,
        status: BudgetStatus | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[FundBudget]:
        return self._by_id(equal(program_id=program_id, status=status), limit, cursor)


class _FundRequests(_FundRecords[FundRequest]):
    __slots__ = ()
    _kind = FUND_REQUESTS
    _cls = FundRequest
    _field = "request"
    _noun = "fund request"

    def query(
        self,
        *,
        budget_id: str | None = None,
        partner_id: str | None = None,
        status: RequestStatus | None = None,
        partner_ids: Sequence[str] | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[FundRequest]:
        where = equal(budget_id=budget_id, partner_id=partner_id, status=status)
        return self._by_id(where + partner_filter(partner_ids), limit, cursor)


class _FundClaims(_FundRecords[FundClaim]):
    __slots__ = ()
    _kind = FUND_CLAIMS
    _cls = FundClaim
    _field = "claim"
    _noun = "fund claim"

    def query(
        self,
        *,
        budget_id: str | None = None,
        request_id: str | None = None,
        partner_id: str | None = None,
        status: ClaimStatus | None = None,
        partner_ids: Sequence[str] | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[FundClaim]:
        where = equal(
            budget_id=budget_id, request_id=request_id, partner_id=partner_id, status=status
        )
        return self._by_id(where + partner_filter(partner_ids), limit, cursor)
