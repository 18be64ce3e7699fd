"""Two workers (two `Services`) on one database, as two web workers run a host."""

from collections.abc import Callable
from datetime import date

import pytest

from partnerkit import FixedClock, Money
from partnerkit.access import Actor, Role
from partnerkit.deals import Customer
from partnerkit.errors import ConflictError
from partnerkit.services import DealDraft, Services
from partnerkit.storage import Storage

from .world import ADMIN, NOW, USER_A, USER_B, partner

MANAGER = Actor("usr_manager", Role.CHANNEL_MANAGER)
FIRST = "Nordic Cloud Systems Oy"
LATER = "Nordic Clowd Systems Oy"


def cloud_draft(name: str) -> DealDraft:
    return DealDraft(
        customer=Customer(name, "FI"),
        amount=Money("50000", "EUR"),
        expected_close_on=date(2026, 6, 30),
        products=("cloud",),
    )


def worker(storage: Storage, name: str) -> Services:
    numbers = iter(range(1, 10_000))
    return Services(
        storage, clock=FixedClock(NOW), ids=lambda prefix: f"{prefix}_{name}_{next(numbers):04d}"
    )


def two_workers_find_the_later_registrant(first: Storage, second: Storage) -> None:
    """The issue's scenario: worker 2 sees what worker 1 committed after worker 2 started."""
    one, two = worker(first, "w1"), worker(second, "w2")
    one.register_partner(ADMIN, partner("ptn_a", "usr_manager"))
    one.register_partner(ADMIN, partner("ptn_b", "usr_manager"))
    # Worker 2 screens first, so its index exists before worker 1 writes.
    two.submit_deal(USER_B, cloud_draft("Birch Paper Ab"))

    earlier = one.submit_deal(USER_A, cloud_draft(FIRST)).value
    one.approve_deal(MANAGER, earlier.id)
    later = two.submit_deal(USER_B, cloud_draft(LATER))

    assert [notice.registration_id for notice in later.conflicts] == [later.value.id]
    # Partner B's user may not see A's registration: told only until when it is protected.
    assert [notice.protection_until for notice in later.conflicts] == [
        one.get_deal(MANAGER, earlier.id).protection_until
    ]
    with pytest.raises(ConflictError):
        two.approve_deal(MANAGER, later.value.id)
    assert two.get_deal(MANAGER, later.value.id).status == "submitted"
    approved = two.approve_deal(MANAGER, later.value.id, override_reason="a separate division")
    assert approved.value.status == "approved"


def a_conflict_committed_during_approval_is_found(first: Storage, second: Storage) -> None:
    """Worker 1 commits a near-name approval after worker 2 screened, before it commits."""
    one, two = worker(first, "w1"), worker(second, "w2")
    one.register_partner(ADMIN, partner("ptn_a", "usr_manager"))
    one.register_partner(ADMIN, partner("ptn_b", "usr_manager"))
    mine = two.submit_deal(USER_B, cloud_draft(LATER)).value
    screened = two._protection  # called by approve_deal after its screen

    def meanwhile(*args: object) -> object:
        if not calls:
            earlier = one.submit_deal(USER_A, cloud_draft(FIRST)).value
            one.approve_deal(MANAGER, earlier.id, override_reason="worker 1 decides first")
        calls.append(args)
        return screened(*args)  # type: ignore[arg-type]

    calls: list[object] = []
    two._protection = meanwhile  # type: ignore[method-assign]
    with pytest.raises(ConflictError):
        two.approve_deal(MANAGER, mine.id)
    assert len(calls) == 2, "the commit was refused, and the approval screened again"
    assert two.get_deal(MANAGER, mine.id).status == "submitted"


SCENARIOS: list[Callable[[Storage, Storage], None]] = [
    two_workers_find_the_later_registrant,
    a_conflict_committed_during_approval_is_found,
]
