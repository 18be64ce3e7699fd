"""Funds through the services: who may do what, events, and the race through retries."""

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from partnerkit import (
    Activity,
    FixedClock,
    Money,
    NotFoundError,
    Partner,
    PartnerkitError,
    PartnerStatus,
    PermissionDeniedError,
    StaleVersionError,
    StorageBusyError,
)
from partnerkit.access import Actor, Role
from partnerkit.funds import Accrual, BudgetStatus, ClaimStatus, FundTerms, ProofItem, RequestStatus
from partnerkit.services import Services
from partnerkit.storage.memory import MemoryStorage
from partnerkit.storage.sqlite import SqliteStorage
from partnerkit.tiers import program_from_toml

NOW = datetime(2026, 1, 12, 9, tzinfo=UTC)
ADMIN = Actor("usr_admin", Role.ADMIN)
FINANCE = Actor("usr_fin", Role.FINANCE)
MANAGER_A = Actor("usr_ma", Role.CHANNEL_MANAGER)
MANAGER_B = Actor("usr_mb", Role.CHANNEL_MANAGER)
USER_A = Actor("usr_anna", Role.PARTNER_USER, partner_id="ptn_a")
USER_B = Actor("usr_bo", Role.PARTNER_USER, partner_id="ptn_b")
PROGRAM = program_from_toml(
    """
id = "prg"
name = "Channel"
currency = "USD"

[[tiers]]
id = "registered"
name = "Registered"
rank = 1
"""
)
TERMS = FundTerms(
    request_deadline=date(2026, 3, 31), claim_deadline=date(2026, 4, 30), cost_share=Decimal(50)
)


def usd(amount: str) -> Money:
    return Money(amount, "USD")


def invoice(amount: str) -> ProofItem:
    return ProofItem("invoice", "Trade show booth", usd(amount), "inv-88")


@pytest.fixture(params=["memory", "sqlite"])
def services(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Services]:
    storage = MemoryStorage() if request.param == "memory" else SqliteStorage(tmp_path / "f.db")
    numbers = iter(range(1, 10_000))
    made = Services(
        storage, clock=FixedClock(NOW), ids=lambda prefix: f"{prefix}_{next(numbers):04d}"
    )
    for partner_id, owner in (("ptn_a", "usr_ma"), ("ptn_b", "usr_mb")):
        made.register_partner(
            ADMIN,
            Partner(
                id=partner_id,
                name=f"Partner {partner_id}",
                type="reseller",
                country="FI",
                created_at=NOW,
                owner_id=owner,
                status=PartnerStatus.ACTIVE,
            ),
        )
    made.create_program(ADMIN, PROGRAM)
    yield made
    storage.close()


def budget_with_pools(services: Services) -> str:
    budget = services.create_budget(
        FINANCE,
        program_id="prg",
        name="MDF Q1",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 3, 31),
        terms=TERMS,
        amount=usd("20000.00"),
    ).value
    for partner_id in ("ptn_a", "ptn_b"):
        services.allocate_funds(FINANCE, budget.id, usd("5000.00"), partner_id=partner_id)
    return budget.id


def test_a_fund_runs_from_budget_to_settlement(services: Services) -> None:
    budget_id = budget_with_pools(services)
    request = services.submit_fund_request(
        USER_A, budget_id, activity="Trade show", amount=usd("3000.00")
    ).value
    services.approve_fund_request(MANAGER_A, request.id)
    claim = services.submit_fund_claim(USER_A, request.id, [invoice("4000.00")]).value
    approved = services.approve_fund_claim(MANAGER_A, claim.id)
    paid = services.pay_fund_claim(FINANCE, claim.id, reference="PAY-7")
    pool = services.get_fund_pool(USER_A, budget_id)
    assert (paid.value.status, pool.balance.paid, pool.balance.available) == (
        ClaimStatus.PAID,
        usd("2000.00"),
        usd("2000.00"),
    )
    assert [event.kind for event in approved.events + paid.events] == [
        "fund.claim_approved",
        "fund.claim_paid",
    ]
    assert paid.events[0].data["explanation"] == "paid 2,000.00 USD (reference PAY-7)"


def test_partners_see_only_their_own_requests_and_claims(services: Services) -> None:
    budget_id = budget_with_pools(services)
    mine = services.submit_fund_request(USER_A, budget_id, activity="A", amount=usd("10")).value
    theirs = services.submit_fund_request(USER_B, budget_id, activity="B", amount=usd("10")).value
    assert [r.id for r in services.list_fund_requests(USER_A).items] == [mine.id]
    assert [r.id for r in services.list_fund_requests(MANAGER_A).items] == [mine.id, theirs.id]
    with pytest.raises(NotFoundError):
        services.get_fund_request(USER_A, theirs.id)
    with pytest.raises(NotFoundError):
        services.get_fund_pool(USER_A, budget_id, partner_id="ptn_b")
    with pytest.raises(NotFoundError):
        services.get_budget(USER_A, budget_id)


def test_a_partner_cannot_request_for_another_partner(services: Services) -> None:
    budget_id = budget_with_pools(services)
    with pytest.raises(NotFoundError):
        services.submit_fund_request(
            USER_A, budget_id, activity="A", amount=usd("10"), partner_id="ptn_b"
        )


def test_partners_cannot_decide_and_managers_decide_only_for_their_partners(
    services: Services,
) -> None:
    budget_id = budget_with_pools(services)
    request = services.submit_fund_request(USER_B, budget_id, activity="B", amount=usd("10")).value
    with pytest.raises(PermissionDeniedError):
        services.approve_fund_request(USER_B, request.id)
    with pytest.raises(PermissionDeniedError):
        services.approve_fund_request(MANAGER_A, request.id)
    with pytest.raises(PermissionDeniedError):
        services.approve_fund_request(FINANCE, request.id)
    assert services.approve_fund_request(MANAGER_B, request.id).value.status == "approved"


def test_only_finance_settles(services: Services) -> None:
    budget_id = budget_with_pools(services)
    request = services.submit_fund_request(USER_B, budget_id, activity="B", amount=usd("100"))
    services.approve_fund_request(MANAGER_B, request.value.id)
    claim = services.submit_fund_claim(USER_B, request.value.id, [invoice("100")]).value
    services.approve_fund_claim(MANAGER_B, claim.id)
    for actor in (USER_B, MANAGER_B):
        with pytest.raises(PermissionDeniedError):
            services.pay_fund_claim(actor, claim.id)
    assert services.pay_fund_claim(FINANCE, claim.id).value.status is ClaimStatus.PAID


def test_only_finance_and_admins_set_budgets_up(services: Services) -> None:
    for actor in (USER_A, MANAGER_A):
        with pytest.raises(PermissionDeniedError):
            services.create_budget(
                actor,
                program_id="prg",
                name="Mine",
                period_start=date(2026, 1, 1),
                period_end=date(2026, 3, 31),
                terms=TERMS,
                amount=usd("1.00"),
            )


def test_the_sweep_through_the_services_forfeits_and_closes(services: Services) -> None:
    budget_id = budget_with_pools(services)
    request = services.submit_fund_request(USER_A, budget_id, activity="A", amount=usd("100"))
    assert isinstance(services.clock, FixedClock)
    services.clock.set(datetime(2026, 5, 1, tzinfo=UTC))
    done = services.sweep_funds(FINANCE, budget_id)
    assert done.value.budget.status is BudgetStatus.CLOSED
    assert services.get_fund_request(USER_A, request.value.id).status is RequestStatus.EXPIRED
    assert services.get_budget(FINANCE, budget_id).balance.forfeited == usd("10000.00")


def test_an_accrued_budget_grows_with_its_members_purchases(services: Services) -> None:
    services.enrol(ADMIN, "prg", "ptn_a")
    services.record_activities(
        ADMIN,
        [
            Activity("inv-1", "ptn_a", "revenue_booked", NOW, usd("50000.00")),
            Activity("inv-2", "ptn_b", "revenue_booked", NOW, usd("90000.00")),  # not a member
        ],
    )
    budget = services.create_budget(
        FINANCE,
        program_id="prg",
        name="Accrued",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 3, 31),
        terms=TERMS,
        accrual=Accrual(Decimal(4)),
        currency="USD",
    ).value
    grown = services.accrue_funds(FINANCE, budget.id)
    again = services.accrue_funds(FINANCE, budget.id)
    assert (grown.value.funded, [p.key for p in grown.value.allocations]) == (
        usd("2000.00"),
        ["partner:ptn_a"],
    )
    assert [e.kind for e in grown.events] == ["fund.accrued"]
    assert (again.value, again.events) == (grown.value, ())


def test_racing_claim_approvals_through_the_services_never_overspend(services: Services) -> None:
    budget_id = budget_with_pools(services)
    request = services.submit_fund_request(USER_A, budget_id, activity="A", amount=usd("1000"))
    services.approve_fund_request(MANAGER_A, request.value.id)
    claims = [
        services.submit_fund_claim(USER_A, request.value.id, [invoice("1200.00")]).value.id
        for _ in range(4)
    ]
    errors: list[BaseException] = []

    def approve(claim_id: str) -> None:
        try:
            services.approve_fund_claim(MANAGER_A, claim_id)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=approve, args=(claim_id,)) for claim_id in claims]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Under heavy contention a call may run out of retries; that is the caller's to
    # try again, never a reason to spend twice.
    retry = (StaleVersionError, StorageBusyError)
    assert all(isinstance(e, retry) or "nothing left" in str(e) for e in errors), errors
    for claim_id in claims:
        if services.get_fund_claim(MANAGER_A, claim_id).approved_amount is None:
            try:
                services.approve_fund_claim(MANAGER_A, claim_id)
            except PartnerkitError as error:
                assert "nothing left" in str(error)  # noqa: PT017 - the refusal's reason
    approved = [services.get_fund_claim(MANAGER_A, claim_id) for claim_id in claims]
    total = Money.sum(
        (c.approved_amount for c in approved if c.approved_amount is not None), currency="USD"
    )
    # Two get 600 and 400 (what was left); the others find nothing left.
    assert total == usd("1000.00")


STRANGER = Actor("usr_nobody", Role.PARTNER_USER, partner_id="ptn_nowhere")


def b_records(services: Services) -> dict[str, str]:
    """Partner B's request awaiting a decision, and its approved claim awaiting payment."""
    budget_id = budget_with_pools(services)
    request = services.submit_fund_request(USER_B, budget_id, activity="B", amount=usd("500"))
    services.approve_fund_request(MANAGER_B, request.value.id)
    claim = services.submit_fund_claim(USER_B, request.value.id, [invoice("100")]).value
    services.approve_fund_claim(MANAGER_B, claim.id)
    pending = services.submit_fund_request(USER_B, budget_id, activity="C", amount=usd("50"))
    return {"budget": budget_id, "pending": pending.value.id, "claim": claim.id}


CALLS = {
    "get_fund_request": lambda s, ids, a: s.get_fund_request(a, ids["pending"]),
    "get_fund_claim": lambda s, ids, a: s.get_fund_claim(a, ids["claim"]),
    "approve_fund_request": lambda s, ids, a: s.approve_fund_request(a, ids["pending"]),
    "reject_fund_request": lambda s, ids, a: s.reject_fund_request(a, ids["pending"], reason="x"),
    "withdraw_fund_request": lambda s, ids, a: s.withdraw_fund_request(a, ids["pending"]),
    "submit_fund_claim": lambda s, ids, a: s.submit_fund_claim(a, ids["pending"], [invoice("1")]),
    "pay_fund_claim": lambda s, ids, a: s.pay_fund_claim(a, ids["claim"]),
    "reject_fund_claim": lambda s, ids, a: s.reject_fund_claim(a, ids["claim"], reason="x"),
    "get_fund_pool": lambda s, ids, a: s.get_fund_pool(a, ids["budget"], partner_id="ptn_b"),
    "request for B": lambda s, ids, a: s.submit_fund_request(
        a, ids["budget"], activity="x", amount=usd("1"), partner_id="ptn_b"
    ),
}


@pytest.mark.parametrize("call", sorted(CALLS))
@pytest.mark.parametrize("outsider", [USER_A, STRANGER], ids=["user of A", "stranger"])
def test_other_partners_users_are_told_b_records_do_not_exist(
    services: Services, call: str, outsider: Actor
) -> None:
    ids = b_records(services)
    before = (
        services.list_fund_requests(MANAGER_B).items,
        services.list_fund_claims(MANAGER_B).items,
    )
    with pytest.raises(NotFoundError) as refused:
        CALLS[call](services, ids, outsider)
    if call not in {"get_fund_pool", "request for B"}:  # those named B themselves
        assert "ptn_b" not in str(refused.value)
    after = services.list_fund_requests(MANAGER_B).items, services.list_fund_claims(MANAGER_B).items
    assert after == before
    assert services.list_fund_requests(outsider).items == ()
    assert services.list_fund_claims(outsider).items == ()
