"""The contract of `partnerkit.storage.DealRepository` and the claim on the customer."""

# ruff: noqa: S101 - a test suite states its promises with assert

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, cast

import attrs
import pytest
from hypothesis import given

from partnerkit._base.money import Money
from partnerkit.deals._conflicts import customer_keys
from partnerkit.deals._model import ACTIVE_STATUSES, Customer, DealRegistration, DealStatus
from partnerkit.deals._workflow import (
    approve,
    approve_extension,
    expire,
    lose,
    reject,
    request_extension,
    submit,
    win,
    withdraw,
)
from partnerkit.errors import (
    ConflictError,
    CustomerClaimedError,
    NotFoundError,
    StaleVersionError,
    ValidationError,
)
from partnerkit.storage._protocols import DealRepository
from partnerkit.testing import _deals as deals_strategies
from partnerkit.testing.conformance import _paging as paging
from partnerkit.testing.conformance._compare import assert_same
from partnerkit.testing.conformance._harness import PROPERTIES, fresh, race
from partnerkit.testing.conformance._records import (
    KIRIBATI,
    MARQUESAS,
    NEPAL,
    T0,
    activity,
    at,
    partner,
)
from partnerkit.testing.conformance._store import commit, committed, ids, pending_kinds, save

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from partnerkit.storage._protocols import Storage

__all__ = ["DealRepositoryContract"]

_MANAGER: Final = "usr_manager"
_DAY: Final = timedelta(days=1)


def _customer_tag() -> str:
    """A company word no other test's customer shares (letters and digits only)."""
    return fresh("cust").replace("~", "") + "x"


def _customer(tag: str, variant: int = 0) -> Customer:
    """One customer written ``variant`` ways, all sharing the same customer keys.

    Variants differ in case, punctuation, legal form and website host, as two
    partners' registrations for one company do; every one shares the normalised
    name key, and those with a website share its registrable domain.
    """
    names = (
        f"Nordic {tag} Cloud Oy",
        f"NORDIC {tag.upper()} CLOUD",
        f"Nordic-{tag}-Cloud Oy.",
        f"nordic {tag} cloud",
    )
    domains = (f"{tag}.fi", f"www.{tag}.fi", f"shop.{tag}.fi", None)
    return Customer(
        name=names[variant % len(names)], country="FI", domain=domains[variant % len(domains)]
    )


def _draft(
    deal_id: str, partner_id: str = "ptn_a", customer: Customer | None = None
) -> DealRegistration:
    return DealRegistration(
        id=deal_id,
        partner_id=partner_id,
        customer=customer or _customer(_customer_tag()),
        amount=Money("25000.50", "EUR"),
        expected_close_on=date(2026, 12, 31),
        registered_at=T0,
        products=("CRM",),
    )


def _submitted(
    deal_id: str, partner_id: str = "ptn_a", customer: Customer | None = None
) -> DealRegistration:
    return submit(_draft(deal_id, partner_id, customer), actor="usr_partner", at=at(1)).value


def _approved(
    registration: DealRegistration, *, days: int = 90, when: datetime | None = None
) -> DealRegistration:
    """``registration`` approved at ``when`` (2 hours after `T0` unless told)."""
    when = at(2) if when is None else when
    return approve(registration, actor=_MANAGER, at=when, protection=days).value


def _rivals(first: str, second: str) -> tuple[DealRegistration, DealRegistration]:
    """Two submitted registrations, by ``first`` and ``second``, for one new customer."""
    tag = _customer_tag()
    return (
        _submitted(fresh("deal"), first, _customer(tag, 0)),
        _submitted(fresh("deal"), second, _customer(tag, 1)),
    )


def _holders(storage: Storage, keys: Iterable[str]) -> dict[str, str | None]:
    """Who holds each of ``keys``, as committed."""
    with storage.unit_of_work() as uow:
        return {key: uow.deals.holder(key) for key in keys}


def _mine(prefix: str, registrations: Iterable[DealRegistration]) -> list[str]:
    """The ids of the registrations whose id starts with ``prefix``, in order."""
    return [r.id for r in registrations if r.id.startswith(prefix)]


def _uniquely_customed(registration: DealRegistration) -> DealRegistration:
    """``registration`` for a customer no other test uses, so its claims never clash."""
    tag = _customer_tag()
    customer = attrs.evolve(
        registration.customer,
        name=f"{registration.customer.name} {tag}",
        domain=None if registration.customer.domain is None else f"www.{tag}.fi",
        contact_email=None if registration.customer.contact_email is None else f"buyer@{tag}.fi",
    )
    return attrs.evolve(registration, id=fresh("deal"), customer=customer)


def _assert_refused_for(
    raised: pytest.ExceptionInfo[ConflictError],
    storage: Storage,
    holder: DealRegistration,
    refused: DealRegistration,
) -> None:
    """``raised`` is `CustomerClaimedError` naming ``holder``, and ``refused`` wrote nothing.

    Its ``claimed_keys`` must be keys that both need and that ``holder`` holds.
    """
    error = raised.value
    assert isinstance(error, CustomerClaimedError), f"expected CustomerClaimedError: {error!r}"
    assert (error.kind, error.holder) == ("deal", holder.id), "CustomerClaimedError (kind, holder)"
    contested = set(customer_keys(holder)) & set(customer_keys(refused))
    assert error.claimed_keys, "CustomerClaimedError.claimed_keys is empty"
    assert set(error.claimed_keys) <= contested, (
        f"CustomerClaimedError.claimed_keys {error.claimed_keys} are not among the keys "
        f"both registrations need: {sorted(contested)}"
    )
    held = _holders(storage, error.claimed_keys)
    assert held == dict.fromkeys(error.claimed_keys, holder.id), "holders of the claimed keys"
    kept = committed(storage).deals.get(refused.id)
    assert (kept.status, kept.version) == (refused.status, refused.version), "the refused one"
    assert committed(storage).deals.claims_for(refused.id) == (), "claims of the refused one"
    assert pending_kinds(storage) == [], "events of the refused commit"


class DealRepositoryContract:
    """Deal registrations, their versions, and the atomic claim on the customer.

    The heart of it is `test_concurrent_approvals_approve_exactly_one_per_customer`:
    many threads approve different registrations for the same customers at once,
    and exactly one approval per customer may commit.
    """

    def test_deals_implements_the_protocol(self, storage: Storage) -> None:
        """``uow.deals`` is a `DealRepository`."""
        with storage.unit_of_work() as uow:
            assert isinstance(uow.deals, DealRepository), "uow.deals lacks methods"

    def test_every_deal_field_round_trips_through_add_update_and_get(
        self, storage: Storage
    ) -> None:
        """Every field, the whole history included, comes back exactly; versions count up."""
        first = _approved(_submitted(fresh("deal")))
        extended = request_extension(
            first, 30, actor="usr_partner", at=at(3), reason="customer's board meets late"
        ).value
        granted = approve_extension(extended, actor=_MANAGER, at=at(4)).value
        (added,) = commit(storage, first)
        assert_same(added, attrs.evolve(first, version=1), "add()")
        assert_same(committed(storage).deals.get(first.id), attrs.evolve(first, version=1), "deal")
        (saved,) = commit(storage, attrs.evolve(granted, version=1))
        assert_same(saved, attrs.evolve(granted, version=2), "update()")
        assert_same(
            committed(storage).deals.get(first.id), attrs.evolve(granted, version=2), "deal"
        )

    @PROPERTIES
    @given(drawn=deals_strategies.deal_registrations())
    def test_any_deal_round_trips_through_add_get_and_query(
        self, storage: Storage, drawn: DealRegistration
    ) -> None:
        """Any registration, in any status, comes back exactly as it was added."""
        registration = _uniquely_customed(drawn)
        commit(storage, registration)
        expected = attrs.evolve(registration, version=1)
        assert_same(committed(storage).deals.get(registration.id), expected, "deal")
        listed = paging.walk(
            committed(storage).deals.query, limit=1000, partner_id=registration.partner_id
        )
        assert_same([r for r in listed if r.id == registration.id], [expected], "query()")

    def test_get_of_a_missing_deal_raises_not_found(self, storage: Storage) -> None:
        """``get`` of an unknown id raises `NotFoundError` for kind ``deal``."""
        with storage.unit_of_work() as uow, pytest.raises(NotFoundError) as caught:
            uow.deals.get("deal_missing")
        assert (caught.value.kind, caught.value.key) == ("deal", "deal_missing"), "the error"

    def test_add_of_an_existing_deal_id_raises_conflict(self, storage: Storage) -> None:
        """A taken id is refused, whether committed or added earlier in the unit of work."""
        deal_id = fresh("deal")
        commit(storage, _draft(deal_id))
        with storage.unit_of_work() as uow:
            with pytest.raises(ConflictError):
                uow.deals.add(_draft(deal_id))
            other = fresh("deal")
            uow.deals.add(_draft(other))
            with pytest.raises(ConflictError):
                uow.deals.add(_draft(other))

    def test_add_of_a_deal_with_a_version_or_of_another_type_raises_validation_error(
        self, storage: Storage
    ) -> None:
        """``add`` takes new registrations only (version 0)."""
        with storage.unit_of_work() as uow:
            with pytest.raises(ValidationError):
                uow.deals.add(attrs.evolve(_draft(fresh("deal")), version=3))
            with pytest.raises(ValidationError):
                uow.deals.add(cast("DealRegistration", partner("ptn_not_a_deal")))

    def test_stale_deal_update_raises_and_changes_nothing(self, storage: Storage) -> None:
        """An update based on an old version raises `StaleVersionError`, writing nothing."""
        (stored,) = commit(storage, _submitted(fresh("deal")))
        commit(storage, attrs.evolve(stored, notes="first"))
        with storage.unit_of_work() as uow, pytest.raises(StaleVersionError):
            save(uow, _approved(stored))
        current = committed(storage).deals.get(stored.id)
        shown = (current.version, current.notes, current.status)
        assert shown == (2, "first", "submitted"), "(version, notes, status)"
        claims = committed(storage).deals.claims_for(stored.id)
        assert claims == (), "claims_for() after the stale approval"
        with storage.unit_of_work() as uow, pytest.raises(StaleVersionError):
            save(uow, attrs.evolve(_draft(fresh("deal")), version=1))

    def test_deal_query_pages_by_id_with_filters_and_stable_cursors(self, storage: Storage) -> None:
        """``query`` filters by partner and status, orders by id, and pages stably."""
        prefix = fresh("deal")
        drafts = [_draft(f"{prefix}_{n:02}", f"ptn_{n % 3}") for n in range(12)]
        submitted = [_submitted(f"{prefix}_s{n}", "ptn_0") for n in range(3)]
        commit(storage, *drafts, *submitted)
        query = committed(storage).deals.query
        everything = _mine(prefix, paging.walk(query, limit=5))
        assert everything == sorted(ids([*drafts, *submitted])), "every registration, by id"
        ptn_0 = _mine(prefix, paging.walk(query, limit=2, partner_id="ptn_0"))
        assert ptn_0 == sorted(ids([*drafts[::3], *submitted])), "query(partner_id='ptn_0')"
        sent = paging.walk(query, limit=2, partner_id="ptn_0", status=DealStatus.SUBMITTED)
        assert ids(sent) == ids(submitted), "query(partner_id='ptn_0', status=SUBMITTED)"
        late = [_draft(f"{prefix}_00{n}", "ptn_1") for n in range(3)]  # sort before

        def insert(last: str, page: int) -> None:
            commit(storage, late[page])

        with storage.unit_of_work() as uow:
            paging.assert_stable(
                lambda **options: uow.deals.query(partner_id="ptn_1", **options),
                lambda r: r.id,
                ids(drafts[1::3]),
                limit=2,
                insert=insert,
                what="registrations",
            )
        with storage.unit_of_work() as uow:
            for bad in ({"cursor": "not-a-cursor"}, {"limit": 0}, {"limit": 1001}):
                with pytest.raises(ValidationError):
                    uow.deals.query(**bad)

    def test_active_lists_submitted_and_approved_registrations_only(self, storage: Storage) -> None:
        """``active`` is what a `ConflictIndex` is built from: submitted and approved."""
        prefix = fresh("deal")
        sent = _submitted(f"{prefix}_b")
        kept = _approved(_submitted(f"{prefix}_d"))
        others = [
            _draft(f"{prefix}_a"),
            reject(_submitted(f"{prefix}_c"), actor=_MANAGER, at=at(2), reason="dup").value,
            withdraw(_submitted(f"{prefix}_e"), actor="usr_partner", at=at(2)).value,
            win(_approved(_submitted(f"{prefix}_f")), actor=_MANAGER, at=at(3)).value,
            lose(_approved(_submitted(f"{prefix}_g")), actor=_MANAGER, at=at(3), reason="x").value,
        ]
        commit(storage, sent, kept, *others)
        with storage.unit_of_work() as uow:
            found = paging.walk(uow.deals.active, limit=1)
        assert _mine(prefix, found) == [sent.id, kept.id], "active()"
        assert all(r.status in ACTIVE_STATUSES for r in found), "active() lists inactive ones"

    def test_due_to_expire_and_expiring_within_find_approved_ones_by_protection_end(
        self, storage: Storage
    ) -> None:
        """The sweep finds lapsed approvals; reminders those ending in a window."""
        prefix = fresh("deal")
        short, middle, long = (
            _approved(_submitted(f"{prefix}_{days}"), days=days) for days in (10, 20, 30)
        )
        won = win(_approved(_submitted(f"{prefix}_won"), days=5), actor=_MANAGER, at=at(3))
        commit(storage, long, short, middle, won.value)
        start = at(2)
        with storage.unit_of_work() as uow:
            due = _mine(prefix, uow.deals.due_to_expire(start + 20 * _DAY))
            assert due == [short.id, middle.id], "due_to_expire(+20 days)"
            assert len(uow.deals.due_to_expire(start + 40 * _DAY, limit=1)) == 1, "limit=1"
            soon = _mine(prefix, uow.deals.expiring_within(start + 10 * _DAY, start + 30 * _DAY))
            assert soon == [middle.id, long.id], "expiring_within(+10 days, +30 days)"
            lapsed = expire(short, at=start + 11 * _DAY).value
            uow.deals.update(attrs.evolve(lapsed, version=1))
            due = _mine(prefix, uow.deals.due_to_expire(start + 20 * _DAY))
            assert due == [middle.id], "due_to_expire() after expiring one in the unit"
            uow.commit()
        due = _mine(prefix, committed(storage).deals.due_to_expire(start + 20 * _DAY))
        assert due == [middle.id], "due_to_expire() after the sweep committed"

    def test_due_to_expire_lists_the_soonest_protection_end_first(self, storage: Storage) -> None:
        """Soonest ``protection_until`` first, as instants, then by id; ``limit`` takes those.

        The ids sort in the opposite order to the protection ends, so an adapter that
        orders by id (or by when it stored them) fails, and two ends at one instant
        written in different offsets must come by id.
        """
        prefix = fresh("deal")
        # id suffix: (approved at, days of protection); a sorts first, ends last.
        plan = {
            "a": (at(2, KIRIBATI), 40),
            "b": (at(2, NEPAL), 30),
            "c": (at(5, MARQUESAS), 20),  # ends at the same instant as d
            "d": (at(5), 20),
            "e": (at(2), 10),
        }
        approved = {
            suffix: _approved(_submitted(f"{prefix}_{suffix}"), days=days, when=when)
            for suffix, (when, days) in plan.items()
        }
        won = win(_approved(_submitted(f"{prefix}_0"), days=1), actor=_MANAGER, at=at(3)).value
        commit(storage, *(approved[suffix] for suffix in "dcaeb"), won)
        as_of = (at(2) + 35 * _DAY).astimezone(NEPAL)  # b is due, a is not
        expected = [approved[suffix].id for suffix in "ecdb"]
        with storage.unit_of_work() as uow:
            due = ids(uow.deals.due_to_expire(as_of))
            # Spelled out, not left to pytest: the whole order is the point.
            assert due == expected, (
                f"due_to_expire(as_of) must list approved registrations by protection_until, "
                f"then id: expected {expected}, got {due}"
            )
            first_two = ids(uow.deals.due_to_expire(as_of, limit=2))
            assert first_two == expected[:2], (
                f"due_to_expire(as_of, limit=2): expected {expected[:2]}, got {first_two}"
            )

    def test_an_approved_registration_claims_every_customer_key(self, storage: Storage) -> None:
        """Saving it approved claims all of `customer_keys`; submitted claims none."""
        registration = _submitted(fresh("deal"))
        keys = customer_keys(registration)
        (stored,) = commit(storage, registration)
        claims = committed(storage).deals.claims_for(stored.id)
        assert claims == (), "claims_for() of a submitted registration"
        assert _holders(storage, keys) == dict.fromkeys(keys), "holders before approval"
        with storage.unit_of_work() as uow:
            uow.deals.update(_approved(stored))
            assert uow.deals.claims_for(stored.id) == keys, "claims_for() in the unit"
            uow.commit()
        assert committed(storage).deals.claims_for(stored.id) == keys, "claims_for() after commit"
        assert _holders(storage, keys) == dict.fromkeys(keys, stored.id), "holders after commit"

    def test_an_approved_registration_added_directly_claims_its_customer(
        self, storage: Storage
    ) -> None:
        """A registration added already approved claims its keys: a rival approval is refused.

        Imports and migrations store approved registrations with ``add``; their claim
        must be as real as one taken by ``update``.
        """
        first, second = _rivals("ptn_first", "ptn_second")
        holder = _approved(first)
        keys = customer_keys(holder)
        (added, rival) = commit(storage, holder, second)
        assert committed(storage).deals.claims_for(added.id) == keys, "claims_for() after add()"
        held = _holders(storage, keys)
        assert held == dict.fromkeys(keys, added.id), "holders after add() of an approved one"
        with storage.unit_of_work() as uow:
            approved, events = approve(rival, actor=_MANAGER, at=at(3))
            with pytest.raises(ConflictError) as raised:
                save(uow, approved, *events)
        _assert_refused_for(raised, storage, added, rival)

    def test_a_second_approval_for_the_customer_is_refused_at_commit_and_writes_nothing(
        self, storage: Storage
    ) -> None:
        """Another partner's approval for a claimed customer: `CustomerClaimedError`, no writes.

        The error names the holder and the keys it holds, and so does its message.
        """
        one, two = commit(storage, *_rivals("ptn_first", "ptn_second"))
        commit(storage, _approved(one))
        with storage.unit_of_work() as uow:
            approved, events = approve(two, actor=_MANAGER, at=at(3))
            uow.activities.append([activity(fresh("act"))])
            with pytest.raises(ConflictError) as raised:
                save(uow, approved, *events)
        _assert_refused_for(raised, storage, one, two)
        message = str(raised.value)
        assert one.id in message, f"the refusal does not name the holder: {message}"
        named = [key for key in customer_keys(one) if key in message]
        assert named, f"the refusal does not name the customer key: {message}"

    def test_two_approvals_for_one_customer_in_one_unit_of_work_are_refused(
        self, storage: Storage
    ) -> None:
        """Two registrations claiming one key in the same commit: refused, nothing written."""
        tag = _customer_tag()
        one, two = commit(
            storage,
            _submitted(fresh("deal"), "ptn_1", _customer(tag, 2)),
            _submitted(fresh("deal"), "ptn_2", _customer(tag, 3)),
        )
        with storage.unit_of_work() as uow:
            uow.deals.update(_approved(one))
            uow.deals.update(_approved(two))
            with pytest.raises(ConflictError):
                uow.commit()
        statuses = [committed(storage).deals.get(r.id).status for r in (one, two)]
        assert statuses == ["submitted", "submitted"], "statuses after the refused commit"
        keys = customer_keys(one)
        assert _holders(storage, keys) == dict.fromkeys(keys), "holders"

    def test_claims_are_released_when_a_registration_leaves_approved(
        self, storage: Storage
    ) -> None:
        """Lost, expired and won registrations release the customer for the next approval."""
        later = at(2) + 2 * _DAY
        endings: dict[str, Callable[[DealRegistration], DealRegistration]] = {
            "lose": lambda held: lose(held, actor=_MANAGER, at=later, reason="went direct").value,
            "expire": lambda held: expire(held, at=later).value,
            "win": lambda held: win(held, actor=_MANAGER, at=later).value,
        }
        for ending, end in endings.items():
            first, second = commit(storage, *_rivals("ptn_first", "ptn_second"))
            (held,) = commit(storage, _approved(first, days=1))
            commit(storage, end(held))
            claims = committed(storage).deals.claims_for(first.id)
            assert claims == (), f"claims_for() after {ending}"
            commit(storage, _approved(second))
            keys = customer_keys(second)
            assert _holders(storage, keys) == dict.fromkeys(keys, second.id), f"after {ending}"

    def test_a_release_and_a_claim_in_one_unit_of_work_commit_together(
        self, storage: Storage
    ) -> None:
        """Expiring the holder and approving a rival in one commit succeeds."""
        second, first = commit(storage, *_rivals("ptn_second", "ptn_first"))
        (held,) = commit(storage, _approved(first, days=1))
        # The claim is saved first, the release after it.
        commit(storage, _approved(second), expire(held, at=at(30)).value)
        keys = customer_keys(second)
        assert _holders(storage, keys) == dict.fromkeys(keys, second.id), "holders"

    def test_rolled_back_and_failed_commits_leave_no_claims(self, storage: Storage) -> None:
        """An approval rolled back, or in a commit that failed, claims nothing."""
        (stored,) = commit(storage, _submitted(fresh("deal")))
        keys = customer_keys(stored)
        with storage.unit_of_work() as uow:
            uow.deals.update(_approved(stored))
            uow.rollback()
            assert uow.deals.claims_for(stored.id) == (), "claims_for() in the unit after rollback"
        with storage.unit_of_work() as uow:
            uow.deals.update(_approved(stored))
        assert _holders(storage, keys) == dict.fromkeys(keys), "holders after leaving the block"
        taken = _draft(fresh("deal"))
        with storage.unit_of_work() as uow:
            uow.deals.add(taken)
            uow.deals.update(_approved(stored))
            commit(storage, taken)  # another unit of work takes the id meanwhile
            with pytest.raises(ConflictError):
                uow.commit()
        assert _holders(storage, keys) == dict.fromkeys(keys), "holders after a failed commit"
        assert committed(storage).deals.get(stored.id).version == 1, "version after failing"

    def test_concurrent_approvals_approve_exactly_one_per_customer(self, storage: Storage) -> None:
        """The race: 24 threads approve 24 registrations for 3 customers at once.

        Each thread reads its own registration (8 partners per customer, each
        writing the customer differently), waits until every thread has read,
        approves it and commits. Exactly one commit per customer may succeed; the
        others get `ConflictError` (or `StaleVersionError`) and write nothing.
        """
        customers, contenders = 3, 8
        tags = [_customer_tag() for _ in range(customers)]
        entries = [(fresh("deal"), tag, n) for tag in tags for n in range(contenders)]
        commit(
            storage,
            *(_submitted(deal_id, f"ptn_{n}", _customer(tag, n)) for deal_id, tag, n in entries),
        )

        def attempt(racer: int, round_: int, ready: Callable[[], object]) -> bool:
            with storage.unit_of_work() as uow:
                seen = uow.deals.get(entries[racer][0])
                ready()  # everyone has read before anyone approves
                approved, events = approve(seen, actor=_MANAGER, at=at(3))
                try:
                    save(uow, approved, *events)
                except ConflictError:  # StaleVersionError is one too
                    return False
                return True

        won = {
            entries[racer][0] for (racer, _), ok in race(attempt, racers=len(entries)).items() if ok
        }
        stored = {deal_id: committed(storage).deals.get(deal_id) for deal_id, _, _ in entries}
        approvals = [
            sum(stored[d].status == "approved" for d, t, _ in entries if t == tag) for tag in tags
        ]
        assert approvals == [1] * customers, "approvals per customer"
        for deal_id, registration in stored.items():
            outcome = (registration.status, registration.version)
            if deal_id in won:
                assert outcome == ("approved", 2), f"{deal_id} (approved)"
                keys = customer_keys(registration)
                assert _holders(storage, keys) == dict.fromkeys(keys, deal_id), "holders"
            else:
                assert outcome == ("submitted", 1), f"{deal_id} (refused)"
                claims = committed(storage).deals.claims_for(deal_id)
                assert claims == (), f"claims_for({deal_id!r}) of a loser"
        assert pending_kinds(storage) == ["deal.approved"] * customers, "pending events"

    def test_deal_query_finds_customers_by_normalised_name_or_registrable_domain(
        self, storage: Storage
    ) -> None:
        """``customer`` matches a normalised name substring or the registrable domain."""
        prefix = fresh("deal")
        tag = _customer_tag()
        customers = {
            "a": Customer(name=f"Nordic {tag} Cloud Oy", country="FI", domain=f"{tag}.fi"),
            "b": Customer(name=f"Helsinki Nordic-{tag} Cloud Ab", country="FI"),
            "c": Customer(name="Unrelated Trading Oy", country="FI", domain=f"shop.{tag}.fi"),
            "d": Customer(name=f"{tag.upper()} CLOUD", country="SE", domain=f"{tag}.se"),
            "e": Customer(name="Baltic Data SIA", country="LV", domain="balticdata.lv"),
        }
        drafts = [
            _draft(f"{prefix}_{letter}", f"ptn_{n % 2}", customer)
            for n, (letter, customer) in enumerate(customers.items())
        ]
        sent = _submitted(f"{prefix}_s", "ptn_1", _customer(tag, 2))  # "Nordic-tag-Cloud Oy."
        commit(storage, *reversed(drafts), sent)

        def mine(*letters: str) -> list[str]:
            return [f"{prefix}_{letter}" for letter in letters]

        wanted: list[tuple[dict[str, Any], list[str]]] = [
            ({"customer": f"nordic {tag} cloud"}, mine("a", "b", "s")),
            ({"customer": f"NORDIC {tag.upper()} CLOUD GmbH"}, mine("a", "b", "s")),
            ({"customer": tag}, mine("a", "b", "d", "s")),
            ({"customer": f"www.{tag}.fi"}, mine("a", "c", "s")),
            ({"customer": f"https://{tag}.se/contact"}, mine("d")),
            ({"customer": "Baltic"}, mine("e")),
            ({"customer": tag, "partner_id": "ptn_1"}, mine("b", "d", "s")),
            ({"customer": tag, "status": DealStatus.SUBMITTED}, mine("s")),
            ({"customer": f"{tag} cloud", "partner_id": "ptn_0"}, mine("a")),
            ({"customer": f"cloud {tag}"}, []),
            ({"customer": f"{tag}.com"}, []),
        ]
        query = committed(storage).deals.query
        for filters, expected in wanted:
            for limit in (1, 2, 1000):
                got = _mine(prefix, paging.walk(query, limit=limit, **filters))
                assert got == expected, f"query({filters}, limit={limit})"
        with storage.unit_of_work() as uow:
            for nothing in ("", " ", "--", "&"):
                with pytest.raises(ValidationError):
                    uow.deals.query(customer=nothing)

    def test_deal_query_selects_protection_windows_and_partner_lists(
        self, storage: Storage
    ) -> None:
        """``after < protection_until <= before``; ``partner_ids`` keeps those partners'."""
        prefix = fresh("deal")
        start = at(2)
        approved = [
            _approved(_submitted(f"{prefix}_{days:02}_{n}", f"ptn_{n}"), days=days)
            for n, days in enumerate((10, 20, 20, 30, 40))
        ]
        unprotected = [_draft(f"{prefix}_00_{n}", f"ptn_{n}") for n in range(3)]
        everything = sorted([*approved, *unprotected], key=lambda r: r.id)
        commit(storage, *approved, *reversed(unprotected))
        day = {days: start + days * _DAY for days in (10, 20, 30, 40)}
        cases: list[dict[str, Any]] = [
            {"protection_until_after": day[10], "protection_until_before": day[20]},
            {"protection_until_after": day[10]},
            {"protection_until_before": day[20]},
            {"protection_until_after": day[20].astimezone(NEPAL)},
            {"protection_until_before": day[30].astimezone(MARQUESAS)},
            {"partner_ids": ["ptn_0", "ptn_3"]},
            {"partner_ids": ("ptn_4", "ptn_2", "ptn_missing")},
            {"partner_ids": ["ptn_1", "ptn_2"], "protection_until_after": day[10]},
            {"partner_ids": ["ptn_0", "ptn_1"], "partner_id": "ptn_1"},
            {"partner_ids": ["ptn_0", "ptn_2"], "status": DealStatus.DRAFT},
        ]
        matching_nothing: list[dict[str, Any]] = [
            {"partner_ids": []},
            {"partner_ids": ["ptn_missing"]},
            {"protection_until_after": day[40]},
            {"protection_until_before": day[10] - timedelta(seconds=1)},
            {"protection_until_after": day[20], "protection_until_before": day[20]},
            {"partner_ids": ["ptn_0"], "partner_id": "ptn_1"},
        ]

        def expected(filters: dict[str, Any]) -> list[str]:
            after = cast("datetime | None", filters.get("protection_until_after"))
            before = cast("datetime | None", filters.get("protection_until_before"))
            partner_ids = cast("Iterable[str] | None", filters.get("partner_ids"))
            found = []
            for registration in everything:
                until = registration.protection_until
                if (after is not None or before is not None) and until is None:
                    continue
                if after is not None and until is not None and not after < until:
                    continue
                if before is not None and until is not None and not until <= before:
                    continue
                if partner_ids is not None and registration.partner_id not in partner_ids:
                    continue
                if filters.get("partner_id", registration.partner_id) != registration.partner_id:
                    continue
                if filters.get("status", registration.status) != registration.status:
                    continue
                found.append(registration.id)
            return found

        query = committed(storage).deals.query
        for filters in [*cases, *matching_nothing]:
            wanted = expected(filters)
            assert bool(wanted) == (filters in cases), f"the suite's data for {filters}"
            for limit in (1, 2, 1000):
                got = _mine(prefix, paging.walk(query, limit=limit, **filters))
                assert got == wanted, f"query({filters}, limit={limit})"
        naive = day[10].replace(tzinfo=None)
        with storage.unit_of_work() as uow:
            for bound in ("protection_until_after", "protection_until_before"):
                naive_bound: dict[str, Any] = {bound: naive}
                with pytest.raises(ValidationError):
                    uow.deals.query(**naive_bound)
