"""The contract of `FundBudgetRepository`, `FundRequestRepository` and `FundClaimRepository`."""

# ruff: noqa: S101 - a test suite states its promises with assert

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from partnerkit._base.money import Money
from partnerkit.errors import AlreadyExistsError, ConflictError, StaleVersionError
from partnerkit.funds import (
    Accrual,
    ClaimStatus,
    FundBudget,
    FundClaim,
    FundRequest,
    FundTerms,
    ProofItem,
    RequestStatus,
    allocate,
    approve_claim,
    approve_request,
    new_budget,
    pay_claim,
    reconcile,
    submit_claim,
    submit_request,
)
from partnerkit.storage._protocols import (
    FundBudgetRepository,
    FundClaimRepository,
    FundRequestRepository,
)
from partnerkit.testing.conformance import _paging as paging
from partnerkit.testing.conformance._compare import assert_same
from partnerkit.testing.conformance._harness import (
    PROPERTIES,
    fresh,
    race,
    roll_back_three_ways,
)
from partnerkit.testing.conformance._store import T0, committed, missing, pending_kinds

if TYPE_CHECKING:
    from collections.abc import Callable

    from partnerkit.storage._protocols import Storage, UnitOfWork

__all__ = ["FundRepositoryContract"]

_TERMS = FundTerms(
    request_deadline=date(2026, 3, 31),
    claim_deadline=date(2026, 4, 30),
    cost_share=Decimal("50.5"),
    max_reimbursement=Decimal(100),
    required_proof=("invoice",),
)


def _eur(amount: str) -> Money:
    return Money(amount, "EUR")


def _budget(budget_id: str, amount: str = "10000.00", program_id: str = "prg_1") -> FundBudget:
    return new_budget(
        budget_id=budget_id,
        program_id=program_id,
        name="MDF Q1 · Nordics",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 3, 31),
        terms=_TERMS,
        amount=_eur(amount),
        at=T0,
    )


def _pooled(budget_id: str, pool: str = "1000.00", **target: str) -> FundBudget:
    made, _ = allocate(
        _budget(budget_id),
        _eur(pool),
        actor="usr_mgr",
        at=T0,
        **(target or {"partner_id": "ptn_1"}),
    )
    return made


def _request(budget: FundBudget, request_id: str, amount: str, partner_id: str = "ptn_1") -> Any:
    return submit_request(
        budget,
        request_id=request_id,
        partner_id=partner_id,
        activity="Roadshow",
        amount=_eur(amount),
        actor="usr_partner",
        at=T0,
        tier_id="gold",
    ).value


def _invoice(amount: str) -> ProofItem:
    return ProofItem("invoice", "Venue, catering / Åbo", _eur(amount), "https://docs.example/17")


def _put(uow: UnitOfWork, *records: FundBudget | FundRequest | FundClaim) -> list[Any]:
    """Add records at version 0, update the others."""
    done: list[Any] = []
    for record in records:
        repository: Any
        if isinstance(record, FundBudget):
            repository = uow.fund_budgets
        elif isinstance(record, FundRequest):
            repository = uow.fund_requests
        else:
            repository = uow.fund_claims
        done.append(repository.add(record) if record.version == 0 else repository.update(record))
    return done


def _commit(storage: Storage, *records: FundBudget | FundRequest | FundClaim) -> list[Any]:
    with storage.unit_of_work() as uow:
        done = _put(uow, *records)
        uow.commit()
    return done


def _everything(storage: Storage) -> tuple[FundBudget, FundRequest, FundClaim]:
    """A budget, an approved request and a paid claim on it, stored; as stored."""
    budget_id = fresh("mdf")
    budget, request = _request(_pooled(budget_id), fresh("req"), "900.00")
    budget, request = approve_request(
        budget, request, actor="usr_mgr", at=T0, amount=_eur("800.00"), reason="smaller venue"
    ).value
    request, claim = submit_claim(
        budget,
        request,
        claim_id=fresh("clm"),
        items=[_invoice("1000.00"), ProofItem("photo", "Booth", _eur("0"))],
        actor="usr_partner",
        at=T0,
    ).value
    budget, request, claim = approve_claim(budget, request, claim, actor="usr_mgr", at=T0).value
    budget, request, claim = pay_claim(
        budget, request, claim, actor="usr_fin", at=T0 + timedelta(days=3), reference="PAY-1"
    ).value
    stored = _commit(storage, budget, request, claim)
    return stored[0], stored[1], stored[2]


@st.composite
def _funded(draw: st.DrawFn) -> tuple[FundBudget, list[FundRequest]]:
    """A budget in a currency of 0, 2 or 3 decimals, with pools and requests on them."""
    currency = draw(st.sampled_from(["EUR", "JPY", "KWD", "CHF"]))
    units = st.integers(min_value=1, max_value=10**12)
    budget = new_budget(
        budget_id=fresh("mdf"),
        program_id="prg_1",
        name=draw(st.text(min_size=1, max_size=30).filter(str.strip)),
        period_start=date(2026, 1, 1),
        period_end=date(2026, 3, 31),
        terms=_TERMS,
        amount=Money.from_minor_units(draw(units) * 1000, currency),
        at=T0,
    )
    requests: list[FundRequest] = []
    for index in range(draw(st.integers(min_value=0, max_value=4))):
        share = Money.from_minor_units(max(1, budget.unallocated.minor_units // 4), currency)
        target = {"tier_id": "gold"} if index == 0 else {"partner_id": f"ptn_{index}"}
        budget = allocate(budget, share, actor="usr_fin", at=T0, **target).value
        asked = Money.from_minor_units(max(1, share.minor_units // draw(units)), currency)
        budget, request = submit_request(
            budget,
            request_id=fresh("req"),
            partner_id=f"ptn_{index}",
            activity=draw(st.text(min_size=1, max_size=40).filter(str.strip)),
            amount=asked,
            actor="usr_partner",
            at=T0,
            tier_id="gold",
        ).value
        if draw(st.booleans()):
            budget, request = approve_request(budget, request, actor="usr_mgr", at=T0).value
        requests.append(request)
    return budget, requests


class FundRepositoryContract:
    """The promises of the fund repositories: exact round-trips, versions, no overspending.

    Budgets, requests and claims come back whole; each update needs the version
    that was read, at once and again at commit, so that two workers moving money
    in one budget can never both commit: approving claims or reserving requests
    at once never spends more than the budget holds.
    """

    def test_fund_repositories_implement_the_protocols(self, storage: Storage) -> None:
        """``uow.fund_budgets``, ``fund_requests`` and ``fund_claims`` have every method."""
        with storage.unit_of_work() as uow:
            assert isinstance(uow.fund_budgets, FundBudgetRepository), "fund_budgets"
            assert isinstance(uow.fund_requests, FundRequestRepository), "fund_requests"
            assert isinstance(uow.fund_claims, FundClaimRepository), "fund_claims"

    def test_every_fund_field_round_trips(self, storage: Storage) -> None:
        """Every field of a budget, request and claim comes back exactly as stored."""
        budget, request, claim = _everything(storage)
        assert (budget.version, request.version, claim.version) == (1, 1, 1), "versions"
        assert_same(committed(storage).fund_budgets.get(budget.id), budget, "budget")
        assert_same(committed(storage).fund_requests.get(request.id), request, "request")
        assert_same(committed(storage).fund_claims.get(claim.id), claim, "claim")

    @PROPERTIES
    @given(drawn=_funded())
    def test_any_budget_and_its_requests_round_trip(
        self, storage: Storage, drawn: tuple[FundBudget, list[FundRequest]]
    ) -> None:
        """Any budget, with any pools and requests, in any currency, comes back exactly."""
        budget, requests = drawn
        _commit(storage, budget, *requests)
        stored = committed(storage).fund_budgets.get(budget.id)
        assert_same(stored, attrs.evolve(budget, version=1), "budget")
        for request in requests:
            got = committed(storage).fund_requests.get(request.id)
            assert_same(got, attrs.evolve(request, version=1), request.id)
        listed = committed(storage).fund_requests.query(budget_id=budget.id, limit=1000).items
        assert [r.id for r in listed] == sorted(r.id for r in requests), "query(budget_id)"
        assert reconcile(stored, listed, []) == (), "stored balances reconcile"

    def test_an_accrued_budget_round_trips_through_update(self, storage: Storage) -> None:
        """An accrued budget's accrual and pools come back after an update."""
        accrued = new_budget(
            budget_id=fresh("mdf"),
            program_id="prg_1",
            name="Accrued",
            period_start=date(2026, 1, 1),
            period_end=date(2026, 3, 31),
            terms=_TERMS,
            accrual=Accrual(Decimal("3.25")),
            currency="JPY",
            at=T0,
        )
        (stored,) = _commit(storage, accrued)
        with storage.unit_of_work() as uow:
            seen = uow.fund_budgets.get(accrued.id)
            changed = uow.fund_budgets.update(seen)
            uow.commit()
        assert changed.version == 2, "version after update"
        assert_same(committed(storage).fund_budgets.get(accrued.id), changed, "budget")
        assert_same(changed.accrual, stored.accrual, "accrual")

    def test_fund_records_with_taken_ids_are_refused(self, storage: Storage) -> None:
        """Adding a budget, request or claim whose id is stored raises AlreadyExistsError."""
        budget, request, claim = _everything(storage)
        for record in (budget, request, claim):
            with pytest.raises(AlreadyExistsError):
                _commit(storage, attrs.evolve(record, version=0))

    def test_missing_fund_records_raise_not_found(self, storage: Storage) -> None:
        """``get`` of an unknown id raises NotFoundError."""
        uow = committed(storage)
        assert missing(uow.fund_budgets.get, "mdf_nowhere"), "budget"
        assert missing(uow.fund_requests.get, "req_nowhere"), "request"
        assert missing(uow.fund_claims.get, "clm_nowhere"), "claim"

    def test_a_stale_budget_update_raises_and_its_commit_writes_nothing(
        self, storage: Storage
    ) -> None:
        """A unit of work that read a budget another one changed commits nothing of its own."""
        (budget,) = _commit(storage, _pooled(fresh("mdf")))
        late = storage.unit_of_work()
        seen = late.fund_budgets.get(budget.id)
        mine, request = _request(seen, fresh("req"), "100.00")
        late.fund_budgets.update(mine)
        late.fund_requests.add(request)
        # Meanwhile another worker reserves money in the same budget.
        other, first = _request(budget, fresh("req"), "200.00")
        _commit(storage, other, first)
        with pytest.raises(StaleVersionError):
            late.commit()
        assert missing(committed(storage).fund_requests.get, request.id), "the stale request"
        stored = committed(storage).fund_budgets.get(budget.id)
        assert (stored.version, str(stored.balance.pending)) == (2, "200.00 EUR"), "budget"
        with pytest.raises(StaleVersionError):
            _commit(storage, mine)

    def test_fund_queries_filter_and_page_in_id_order(self, storage: Storage) -> None:
        """Requests and claims filter by budget, partner, status and partner list; pages hold."""
        budget_id = fresh("mdf")
        budget = _pooled(budget_id, "1000.00", tier_id="gold")
        requests = []
        for number, partner_id in enumerate(["ptn_a", "ptn_b", "ptn_a", "ptn_c"]):
            budget, request = _request(budget, f"{budget_id}_r{number}", "10.00", partner_id)
            requests.append(request)
        budget, requests[1] = approve_request(budget, requests[1], actor="usr_mgr", at=T0).value
        requests[1], claim = submit_claim(
            budget, requests[1], claim_id=f"{budget_id}_c", items=[_invoice("5")], actor="u", at=T0
        ).value
        _commit(storage, budget, *requests, claim)
        found = committed(storage).fund_requests

        def ids(**filters: Any) -> list[str]:
            return [r.id for r in paging.walk(found.query, limit=1, budget_id=budget_id, **filters)]

        every = [r.id for r in requests]
        assert ids() == every, "query(budget_id)"
        assert ids(partner_id="ptn_a") == [every[0], every[2]], "query(partner_id='ptn_a')"
        assert ids(status=RequestStatus.APPROVED) == [every[1]], "query(status='approved')"
        assert ids(partner_ids=["ptn_b", "ptn_c"]) == [every[1], every[3]], "query(partner_ids)"
        assert ids(partner_ids=[]) == [], "query(partner_ids=[])"
        claims = committed(storage).fund_claims
        assert [c.id for c in claims.query(request_id=every[1]).items] == [claim.id], "claims"
        assert claims.query(request_id=every[0]).items == (), "claims of another request"
        assert [
            c.id for c in claims.query(budget_id=budget_id, status=ClaimStatus.SUBMITTED).items
        ] == [claim.id], "claims by status"
        budgets = committed(storage).fund_budgets.query(program_id="prg_1", limit=1000).items
        assert budget_id in [b.id for b in budgets], "budgets by program"

    def test_rolled_back_fund_writes_leave_nothing(self, storage: Storage) -> None:
        """A unit of work that raises or rolls back stores none of its fund records."""
        budget = _pooled(fresh("mdf"))
        budget, request = _request(budget, fresh("req"), "10.00")
        roll_back_three_ways(storage, lambda uow, _way: _put(uow, budget, request))
        assert missing(committed(storage).fund_budgets.get, budget.id), "budget"
        assert missing(committed(storage).fund_requests.get, request.id), "request"

    def test_racing_claim_approvals_never_overspend_the_budget(self, storage: Storage) -> None:
        """The race: 4 workers approve 4 claims of 600 on one request approved for 1,000.

        Each reads the budget, the request and its claim, approves the claim and
        saves all three, waits until every worker has, and commits. At most one
        commit succeeds (the others are stale: the budget they read has
        changed); what the stored claims were approved for never exceeds what
        the request was approved for, and the stored balances reconcile with the
        stored records.
        """
        racers = 4
        budget, request = _request(_pooled(fresh("mdf"), "1000.00"), fresh("req"), "1000.00")
        budget, request = approve_request(budget, request, actor="usr_mgr", at=T0).value
        claims = []
        for _ in range(racers):
            request, claim = submit_claim(
                budget,
                request,
                claim_id=fresh("clm"),
                items=[_invoice("1212.13")],
                actor="u",
                at=T0,
            ).value
            claims.append(claim)
        _commit(storage, budget, request, *claims)

        def attempt(racer: int, round_: int, ready: Callable[[], object]) -> bool:
            with storage.unit_of_work() as uow:
                seen = uow.fund_budgets.get(budget.id)
                asked = uow.fund_requests.get(request.id)
                mine = uow.fund_claims.get(claims[racer].id)
                change = approve_claim(seen, asked, mine, actor="usr_mgr", at=T0)
                try:
                    _put(uow, *change.value)
                    uow.publish(*change.events)
                    ready()  # everyone has staged an approval before anyone commits
                    uow.commit()
                except ConflictError:  # StaleVersionError is one
                    return False
                return True

        won = sum(race(attempt, racers=racers).values())
        stored_claims = [committed(storage).fund_claims.get(c.id) for c in claims]
        approved = Money.sum(
            (c.approved_amount for c in stored_claims if c.approved_amount is not None),
            currency="EUR",
        )
        assert approved <= _eur("1000.00"), (
            f"approved claims add up to {approved}, more than the 1,000.00 EUR approved"
        )
        assert won == 1, "commits that won the race"
        stored = committed(storage).fund_budgets.get(budget.id)
        asked = committed(storage).fund_requests.get(request.id)
        assert reconcile(stored, [asked], stored_claims) == (), "stored balances reconcile"
        assert pending_kinds(storage).count("fund.claim_approved") == 1, "events"

    def test_racing_requests_never_reserve_more_than_a_shared_pool_holds(
        self, storage: Storage
    ) -> None:
        """4 partners of one tier each reserve 700 of a 1,000 tier pool at once: one succeeds."""
        racers = 4
        (budget,) = _commit(storage, _pooled(fresh("mdf"), "1000.00", tier_id="gold"))
        request_ids = [fresh("req") for _ in range(racers)]

        def attempt(racer: int, round_: int, ready: Callable[[], object]) -> bool:
            with storage.unit_of_work() as uow:
                seen = uow.fund_budgets.get(budget.id)
                mine, request = _request(seen, request_ids[racer], "700.00", f"ptn_{racer}")
                try:
                    _put(uow, mine, request)
                    ready()  # everyone has staged a request before anyone commits
                    uow.commit()
                except ConflictError:
                    return False
                return True

        won = sum(race(attempt, racers=racers).values())
        found = committed(storage).fund_requests.query(budget_id=budget.id).items
        reserved = Money.sum((r.amount for r in found), currency="EUR")
        assert reserved <= _eur("1000.00"), f"requests reserve {reserved} of a pool of 1,000.00 EUR"
        assert won == 1, "commits that won the race"
        stored = committed(storage).fund_budgets.get(budget.id)
        assert reconcile(stored, found, []) == (), "stored balances reconcile"
