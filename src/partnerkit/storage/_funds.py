"""Fund budgets, requests and claims in storage: their protocols and staged repositories.

All three are versioned: ``update`` succeeds only on the version that was read,
checked again at commit. Every move of money in `partnerkit.funds` changes the
budget, so two units of work that both move money in one budget (two approvals
racing) both update it, and the later commit raises `StaleVersionError` instead
of spending money the first one already spent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, TypeVar, runtime_checkable

from partnerkit.funds import FundBudget, FundClaim, FundRequest
from partnerkit.storage._kinds import FUND_BUDGETS, FUND_CLAIMS, FUND_REQUESTS
from partnerkit.storage._repositories import _ById, equal, partner_filter

if TYPE_CHECKING:
    from collections.abc import Sequence

    from partnerkit.funds import BudgetStatus, ClaimStatus, RequestStatus
    from partnerkit.storage._protocols import Page

__all__ = [
    "FundBudgetRepository",
    "FundClaimRepository",
    "FundRequestRepository",
]

T = TypeVar("T", FundBudget, FundRequest, FundClaim)


@runtime_checkable
class FundBudgetRepository(Protocol):
    """Fund budgets, with ``version`` checks: two writers of one budget never both commit."""

    def get(self, budget_id: str, /) -> FundBudget:
        """The budget with ``budget_id``.

        Raises:
            NotFoundError: If there is none (kind ``"fund budget"``).
        """
        ...

    def add(self, budget: FundBudget, /) -> FundBudget:
        """Store a new budget (``version`` 0); return it as stored (``version`` 1).

        Raises:
            AlreadyExistsError: If a budget with its id exists (at ``add`` or at
                ``commit``).
            ValidationError: If it is not a `FundBudget` at version 0.
        """
        ...

    def update(self, budget: FundBudget, /) -> FundBudget:
        """Replace the stored budget if it is still at ``budget.version``.

        Returns:
            The budget as stored, one version higher.

        Raises:
            StaleVersionError: If the stored version differs (now or at commit);
                nothing is written.
        """
        ...

    def query(
        self,
        *,
        program_id: str | None = None,
        status: BudgetStatus | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[FundBudget]:
        """Budgets matching every given filter, ordered by id, a page at a time.

        Raises:
            ValidationError: For a ``limit`` outside 1..1000 or a malformed cursor.
        """
        ...


@runtime_checkable
class FundRequestRepository(Protocol):
    """Fund requests (pre-approvals), with ``version`` checks."""

    def get(self, request_id: str, /) -> FundRequest:
        """The request with ``request_id``.

        Raises:
            NotFoundError: If there is none (kind ``"fund request"``).
        """
        ...

    def add(self, request: FundRequest, /) -> FundRequest:
        """Store a new request (``version`` 0); return it as stored (``version`` 1).

        Raises:
            AlreadyExistsError: If a request with its id exists.
            ValidationError: If it is not a `FundRequest` at version 0.
        """
        ...

    def update(self, request: FundRequest, /) -> FundRequest:
        """Replace the stored request if it is still at ``request.version``.

        Raises:
            StaleVersionError: If the stored version differs; nothing is written.
        """
        ...

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
        """Requests matching every given filter, ordered by id, a page at a time.

        ``partner_ids`` keeps requests of any of those partners (an empty
        sequence keeps none): what a service passes to show an actor only what it
        may see.

        Raises:
            ValidationError: For a ``limit`` outside 1..1000 or a malformed cursor.
        """
        ...


@runtime_checkable
class FundClaimRepository(Protocol):
    """Claims for reimbursement, with ``version`` checks."""

    def get(self, claim_id: str, /) -> FundClaim:
        """The claim with ``claim_id``.

        Raises:
            NotFoundError: If there is none (kind ``"fund claim"``).
        """
        ...

    def add(self, claim: FundClaim, /) -> FundClaim:
        """Store a new claim (``version`` 0); return it as stored (``version`` 1).

        Raises:
            AlreadyExistsError: If a claim with its id exists.
            ValidationError: If it is not a `FundClaim` at version 0.
        """
        ...

    def update(self, claim: FundClaim, /) -> FundClaim:
        """Replace the stored claim if it is still at ``claim.version``.

        Raises:
            StaleVersionError: If the stored version differs; nothing is written.
        """
        ...

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
        """Claims matching every given filter, ordered by id, a page at a time.

        Raises:
            ValidationError: For a ``limit`` outside 1..1000 or a malformed cursor.
        """
        ...


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
