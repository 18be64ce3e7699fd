"""Funds on the command line: the demo's quarter from budget to settlement, and a report.

``partnerkit funds report --db FILE`` prints every budget's pools in a SQLite file
and checks them against the stored requests and claims.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from partnerkit._base.money import Money
from partnerkit._base.time import FixedClock
from partnerkit._pages import every
from partnerkit.access import Actor, Role
from partnerkit.funds import FundTerms, ProofItem, reconcile
from partnerkit.partners import PartnerStatus
from partnerkit.services import Services

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import TextIO

    from partnerkit.partners import Partner
    from partnerkit.storage import Storage

__all__ = ["fund_demo", "fund_report"]

_FINANCE = Actor("usr_finance", Role.FINANCE)


def _usd(amount: int) -> Money:
    return Money(Decimal(amount), "USD")


def _day(day: date, hour: int = 9) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def fund_demo(
    storage: Storage,
    partners: Sequence[Partner],
    *,
    program_id: str,
    as_of: datetime,
    out: TextIO,
) -> None:
    """Run last quarter's fund through every step and print what each one did and why.

    Three active partners get a pool each; one request is approved in full, one in
    part, one rejected; the approved activities are claimed with proof, approved
    and paid; the sweep after the claim deadline forfeits the rest and closes it.
    """
    active = [p for p in partners if p.status is PartnerStatus.ACTIVE][:3]
    if not active:
        return
    quarter_end = date(as_of.year, ((as_of.month - 1) // 3) * 3 + 1, 1) - timedelta(days=1)
    quarter_start = date(quarter_end.year, quarter_end.month - 2, 1)
    terms = FundTerms(
        request_deadline=quarter_end - timedelta(days=14),
        claim_deadline=quarter_end + timedelta(days=30),
        cost_share=Decimal(50),
        max_reimbursement=Decimal(100),
        required_proof=("invoice",),
    )
    clock = FixedClock(_day(quarter_start))
    numbers = iter(range(1, 1_000_000))
    services = Services(storage, clock=clock, ids=lambda prefix: f"{prefix}_{next(numbers):05d}")
    write = out.write
    budget = services.create_budget(
        _FINANCE,
        program_id=program_id,
        name=f"MDF {quarter_start:%Y} Q{(quarter_start.month - 1) // 3 + 1}",
        period_start=quarter_start,
        period_end=quarter_end,
        terms=terms,
        amount=_usd(90_000),
    ).value
    write(f"\nMarket development fund {budget.name}: {budget.funded}, 50/50 cost share, ")
    write(f"requests until {terms.request_deadline}, claims until {terms.claim_deadline}\n")
    for partner in active:
        result = services.allocate_funds(_FINANCE, budget.id, _usd(20_000), partner_id=partner.id)
        write(f"  {result.events[0].data['explanation']}\n")
    # (asked, approved: None for all of it, 0 to reject; why; what the event cost per
    # dollar approved: at 2.4 the vendor's half is more than the request has left)
    asks = (
        (12_000, None, "", "1.8"),
        (15_000, 9_000, "one event instead of two", "2.4"),
        (8_000, 0, "", ""),
    )
    for partner, (amount, granted, why, spent) in zip(active, asks, strict=False):
        user = Actor(f"usr_{partner.id}", Role.PARTNER_USER, partner_id=partner.id)
        manager = Actor(partner.owner_id or "usr_manager", Role.CHANNEL_MANAGER)
        clock.set(_day(quarter_start + timedelta(days=10)))
        request = services.submit_fund_request(
            user, budget.id, activity="Customer event", amount=_usd(amount)
        ).value
        write(f"  {partner.name}: request {request.id}: {request.history[0].explanation}\n")
        if granted == 0:
            rejected = services.reject_fund_request(
                manager, request.id, reason="outside the program's focus this quarter"
            ).value
            write(f"    {rejected.history[-1].explanation} ({rejected.history[-1].reason})\n")
            continue
        approved = services.approve_fund_request(
            manager, request.id, amount=None if granted is None else _usd(granted), reason=why
        ).value
        write(f"    {approved.history[-1].explanation}\n")
        clock.set(_day(quarter_end + timedelta(days=5)))
        cost = (approved.approved_amount or _usd(0)).multiply(Decimal(spent))
        claim = services.submit_fund_claim(
            user,
            request.id,
            [
                ProofItem("invoice", "Venue, catering and speakers", cost, f"inv-{request.id}"),
                ProofItem("attendee_list", "Scanned attendees", _usd(0), f"att-{request.id}"),
            ],
        ).value
        write(f"    claim {claim.id}: {claim.history[0].explanation}\n")
        decided = services.approve_fund_claim(manager, claim.id).value
        write(f"    {decided.history[-1].explanation}\n")
        paid = services.pay_fund_claim(_FINANCE, claim.id, reference=f"PAY-{claim.id}").value
        write(f"    {paid.history[-1].explanation}\n")
    clock.set(as_of)
    swept = services.sweep_funds(_FINANCE, budget.id).value
    write(f"  forfeiture sweep on {as_of:%Y-%m-%d}:\n")
    for line in swept.lines:
        write(f"    {line}\n")


def fund_report(storage: Storage, out: TextIO) -> int:
    """Print every budget's pools, and check them against the stored requests and claims.

    Returns:
        How many budgets do not reconcile (each difference is printed).
    """
    write = out.write
    unreconciled = 0
    with storage.unit_of_work() as uow:
        budgets = every(lambda cursor: uow.fund_budgets.query(cursor=cursor))
        if not budgets:
            write("no fund budgets in this store\n")
        for budget in budgets:
            requests = every(
                lambda cursor, b=budget: uow.fund_requests.query(  # type: ignore[misc]
                    budget_id=b.id, limit=1000, cursor=cursor
                )
            )
            claims = every(
                lambda cursor, b=budget: uow.fund_claims.query(  # type: ignore[misc]
                    budget_id=b.id, limit=1000, cursor=cursor
                )
            )
            write(
                f"{budget.id} {budget.name} ({budget.status.value}, {budget.period_start} to "
                f"{budget.period_end}): funded {budget.funded}, unallocated "
                f"{budget.unallocated}, forfeited unallocated {budget.forfeited}\n"
            )
            for pool in budget.allocations:
                write(f"  {pool.describe()}: {pool.balance.describe()}\n")
            problems = reconcile(budget, requests, claims)
            if problems:
                unreconciled += 1
                for problem in problems:
                    write(f"  DOES NOT RECONCILE: {problem}\n")
            else:
                write(
                    f"  reconciles with its {len(requests)} request(s) and "
                    f"{len(claims)} claim(s) to the cent\n"
                )
    return unreconciled
