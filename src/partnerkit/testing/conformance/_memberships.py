"""The contract of `partnerkit.storage.MembershipRepository`."""

# ruff: noqa: S101 - a test suite states its promises with assert

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from partnerkit.errors import ConflictError, NotFoundError, StaleVersionError, ValidationError
from partnerkit.storage._protocols import MembershipRepository
from partnerkit.testing import _tiers as tiers_strategies
from partnerkit.testing.conformance import _paging as paging
from partnerkit.testing.conformance._compare import assert_same
from partnerkit.testing.conformance._harness import PROPERTIES, fresh, race
from partnerkit.testing.conformance._records import (
    ONE_MINUTE_WEST,
    T0,
    assert_no_tiers,
    full_membership,
    membership,
    partner,
    write_tiers,
)
from partnerkit.testing.conformance._store import commit, committed, missing, save
from partnerkit.tiers import Membership, MembershipStatus, Pin

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from partnerkit.storage._protocols import Page, Storage, UnitOfWork

__all__ = ["MembershipRepositoryContract"]


def _members(memberships: Iterable[Membership]) -> list[str]:
    return [item.partner_id for item in memberships]


def _add_as_they_are(uow: UnitOfWork, *memberships: Membership) -> None:
    """Add ``memberships`` in ``uow`` (their partners not added first) and commit."""
    for item in memberships:
        uow.memberships.add(item)
    uow.commit()


class MembershipRepositoryContract:
    """The promises of `partnerkit.storage.MembershipRepository`: one per program and partner.

    Memberships keep every field (a downgrade proposal, a pin); updates check the
    version and racing reviews lose none; a program's members are listed by partner
    id and filtered exactly, and ``for_partner`` lists a partner's every program.
    """

    def test_memberships_implements_the_protocol(self, storage: Storage) -> None:
        """``uow.memberships`` has every method of `MembershipRepository`."""
        with storage.unit_of_work() as uow:
            assert isinstance(uow.memberships, MembershipRepository), (
                "uow.memberships lacks methods"
            )

    @PROPERTIES
    @given(data=st.data())
    def test_any_membership_round_trips_through_add_get_query_and_for_partner(
        self, storage: Storage, data: st.DataObject
    ) -> None:
        """Every drawn membership comes back whole, at version 1, from every read."""
        drawn_program = data.draw(tiers_strategies.programs(), "program")
        drawn = data.draw(tiers_strategies.memberships(drawn_program, fresh("ptn")), "membership")
        expected = attrs.evolve(drawn, version=1)
        (added,) = commit(storage, attrs.evolve(drawn, version=0))
        assert_same(added, expected, "added")
        program_id, partner_id = drawn.program_id, drawn.partner_id
        seen = committed(storage)
        assert_same(seen.memberships.get(program_id, partner_id), expected, "membership")
        assert_same(seen.memberships.for_partner(partner_id), [expected], "for_partner()")
        page = seen.memberships.query(
            program_id=program_id, status=expected.status, tier_id=expected.tier_id, limit=10000
        )
        mine = [item for item in page.items if item.partner_id == partner_id]
        assert_same(mine, [expected], "query()")

    def test_every_membership_field_round_trips_through_update_and_get(
        self, storage: Storage
    ) -> None:
        """A membership with a proposal, then a pin, comes back exactly after each update."""
        (added,) = commit(storage, membership("prg_1", "ptn_1"))
        full = attrs.evolve(full_membership("prg_1", "ptn_1"), version=added.version)
        commit(storage, full)
        got = committed(storage).memberships.get("prg_1", "ptn_1")
        assert_same(got, attrs.evolve(full, version=2), "membership")
        pin = Pin(
            "silver",
            date(2027, 1, 1),
            "strategic account — Åsa's région",
            "usr_maria",
            datetime(2026, 7, 2, 9, 0, tzinfo=ONE_MINUTE_WEST),
        )
        pinned = attrs.evolve(full, version=2, proposal=None, failing_reviews=0, pin=pin)
        commit(storage, pinned)
        got = committed(storage).memberships.get("prg_1", "ptn_1")
        assert_same(got, attrs.evolve(pinned, version=3), "membership")

    def test_get_of_a_missing_membership_raises_not_found(self, storage: Storage) -> None:
        """``get`` raises `NotFoundError` for a partner not in the program, even if in another."""
        commit(storage, membership("prg_1", "ptn_1"))
        with storage.unit_of_work() as uow:
            for key in (("prg_2", "ptn_1"), ("prg_1", "ptn_2")):
                with pytest.raises(NotFoundError):
                    uow.memberships.get(*key)

    def test_add_of_an_existing_membership_raises_conflict(self, storage: Storage) -> None:
        """A second membership of a partner in a program is refused; other programs are not."""
        (first,) = commit(storage, membership("prg_1", "ptn_1"))
        with storage.unit_of_work() as uow:
            with pytest.raises(ConflictError):
                uow.memberships.add(membership("prg_1", "ptn_1", joined_on=date(2025, 1, 1)))
            uow.memberships.add(membership("prg_2", "ptn_1"))
            with pytest.raises(ConflictError):
                uow.memberships.add(membership("prg_2", "ptn_1"))
            uow.commit()
        assert_same(committed(storage).memberships.get("prg_1", "ptn_1"), first, "membership")

    def test_add_of_a_membership_with_a_version_raises_validation_error(
        self, storage: Storage
    ) -> None:
        """``add`` takes version 0 only; anything but a `Membership` is refused too."""
        with storage.unit_of_work() as uow:
            with pytest.raises(ValidationError):
                uow.memberships.add(membership("prg_1", "ptn_1", version=3))
            with pytest.raises(ValidationError):
                uow.memberships.add(partner("ptn_1"))  # type: ignore[arg-type]

    def test_membership_update_returns_one_version_higher(self, storage: Storage) -> None:
        """Each ``update`` returns version + 1, also several in one unit of work."""
        (added,) = commit(storage, membership("prg_1", "ptn_1"))
        with storage.unit_of_work() as uow:
            second = uow.memberships.update(attrs.evolve(added, tier_id="registered"))
            third = uow.memberships.update(attrs.evolve(second, status=MembershipStatus.SUSPENDED))
            uow.commit()
        assert (second.version, third.version) == (2, 3), "versions returned by update()"
        expected = membership(
            "prg_1", "ptn_1", tier_id="registered", status=MembershipStatus.SUSPENDED, version=3
        )
        assert_same(committed(storage).memberships.get("prg_1", "ptn_1"), expected, "membership")

    def test_stale_membership_update_raises_and_changes_nothing(self, storage: Storage) -> None:
        """An update based on an old, unknown or missing version raises; nothing changes."""
        commit(storage, full_membership("prg_1", "ptn_1"))
        with storage.unit_of_work() as first:
            seen = first.memberships.get("prg_1", "ptn_1")
            with storage.unit_of_work() as second:
                save(second, attrs.evolve(seen, status=MembershipStatus.ENDED))
            before = committed(storage).memberships.get("prg_1", "ptn_1")
            with pytest.raises(StaleVersionError) as raised:
                save(first, attrs.evolve(seen, failing_reviews=0, proposal=None))
        error = (raised.value.key, raised.value.expected)
        assert error == ("prg_1/ptn_1", 1), "the error's data"
        for stale in (attrs.evolve(before, version=7), membership("prg_1", "ptn_gone", version=1)):
            with storage.unit_of_work() as uow, pytest.raises(StaleVersionError):
                save(uow, stale)
        assert_same(committed(storage).memberships.get("prg_1", "ptn_1"), before, "membership")
        assert committed(storage).memberships.for_partner("ptn_gone") == [], "for_partner()"

    def test_concurrent_membership_updates_lose_no_update(self, storage: Storage) -> None:
        """Racing read-modify-write units of work: each saves or gets `StaleVersionError`.

        6 threads each make 3 attempts; every attempt reads the membership, waits until
        all threads have read, then counts one more failing review and commits. The
        final count and version both say exactly how many saves there were.
        """
        commit(storage, membership("prg_1", "ptn_contended", tier_id="silver", tier_since=T0))

        def attempt(writer: int, round_: int, ready: Callable[[], object]) -> bool:
            with storage.unit_of_work() as uow:
                seen = uow.memberships.get("prg_1", "ptn_contended")
                ready()
                try:
                    save(uow, attrs.evolve(seen, failing_reviews=seen.failing_reviews + 1))
                except StaleVersionError:
                    return False
                return True

        saves = sum(race(attempt, racers=6, rounds=3).values())
        assert saves, "no writer managed to save"
        final = committed(storage).memberships.get("prg_1", "ptn_contended")
        assert (final.failing_reviews, final.version) == (saves, 1 + saves), (
            f"lost updates: (failing_reviews, version) after {saves} saves"
        )

    def test_membership_query_pages_in_partner_order_while_memberships_are_added(
        self, storage: Storage
    ) -> None:
        """Paging a program's members returns each once, by partner id, despite inserts."""
        partner_ids = [f"ptn_{n:03d}0" for n in range(14)]
        commit(
            storage,
            *(membership("prg_1", partner_id) for partner_id in reversed(partner_ids)),
            *(membership("prg_0", partner_id) for partner_id in partner_ids[:3]),
            membership("prg_2", "ptn_0000"),
        )

        def insert(last: str, page: int) -> None:
            commit(
                storage,
                membership("prg_1", f"{last}+"),
                membership("prg_1", f"ptn_{page:03d}1"),
                membership("prg_1", f"ptn_9{page:03d}"),
            )

        def members_of_1(**options: Any) -> Page[Membership]:  # a fresh unit of work per page
            return committed(storage).memberships.query(program_id="prg_1", **options)

        paging.assert_stable(
            members_of_1,
            lambda m: m.partner_id,
            partner_ids,
            limit=3,
            insert=insert,
            what="members",
        )
        query = committed(storage).memberships.query
        for limit in (1, 4, 100):
            walked = paging.walk(query, limit=limit, program_id="prg_0")
            assert _members(walked) == partner_ids[:3], f"prg_0 members with limit={limit}"

    def test_membership_query_filters_return_exactly_the_matching_memberships(
        self, storage: Storage
    ) -> None:
        """``status`` and ``tier_id``, alone, combined and with paging, match exactly."""
        statuses = list(MembershipStatus)
        tiers: list[str | None] = [None, "registered", "silver"]
        members = [
            membership(
                "prg_1",
                f"ptn_{n:02d}",
                status=statuses[(n // 3) % 3],
                tier_id=tiers[n % 3],
                tier_since=None if tiers[n % 3] is None else T0,
            )
            for n in range(18)
        ]
        commit(storage, *members, membership("prg_2", "ptn_00", tier_id="silver", tier_since=T0))
        cases: list[dict[str, Any]] = [
            {},
            {"status": MembershipStatus.ACTIVE},
            {"status": MembershipStatus.ENDED},
            {"tier_id": "silver"},
            {"status": MembershipStatus.SUSPENDED, "tier_id": "registered"},
        ]

        def query(**options: Any) -> Page[Membership]:
            return committed(storage).memberships.query(program_id="prg_1", **options)

        paging.assert_filters(
            query,
            paging.by_fields(members, key=lambda item: item.partner_id),
            cases,
            key=lambda item: item.partner_id,
            limits=(2, 100),
            matching_nothing=[{"tier_id": "gold"}],
        )
        paging.assert_cursors_refused(query)
        paging.assert_limits(query, most=10_000, stored=len(members))

    def test_membership_for_partner_lists_every_program_in_program_order(
        self, storage: Storage
    ) -> None:
        """``for_partner`` lists the partner's memberships only, committed and staged."""
        commit(
            storage,
            membership("prg_c", "ptn_1"),
            membership("prg_a", "ptn_1"),
            membership("prg_a", "ptn_2"),
        )
        with storage.unit_of_work() as uow:
            uow.memberships.add(membership("prg_b", "ptn_1"))
            listed = [m.program_id for m in uow.memberships.for_partner("ptn_1")]
        assert listed == ["prg_a", "prg_b", "prg_c"], "for_partner('ptn_1') in the unit"
        after = [m.program_id for m in committed(storage).memberships.for_partner("ptn_1")]
        assert after == ["prg_a", "prg_c"], "for_partner('ptn_1') after rollback"

    def test_commit_that_fails_on_a_stale_membership_writes_nothing(self, storage: Storage) -> None:
        """A commit refused for a membership changed meanwhile writes nothing at all."""
        (existing,) = commit(storage, membership("prg_old", "ptn_1"))
        with storage.unit_of_work() as slow:
            slow.partners.add(partner("ptn_new"))
            write_tiers(slow, "prg_new", "ptn_new")
            slow.memberships.update(attrs.evolve(existing, tier_id="registered"))
            with storage.unit_of_work() as fast:
                save(fast, attrs.evolve(existing, status=MembershipStatus.SUSPENDED))
            winner = committed(storage).memberships.get("prg_old", "ptn_1")
            with pytest.raises(StaleVersionError):
                slow.commit()
        assert_same(committed(storage).memberships.get("prg_old", "ptn_1"), winner, "membership")
        assert_no_tiers(storage, "prg_new", "ptn_new")
        assert missing(committed(storage).partners.get, "ptn_new"), "a refused partner was stored"
        assert storage.pending_events() == [], "events of a refused commit"

    def test_membership_add_refuses_a_partner_that_does_not_exist(self, storage: Storage) -> None:
        """A membership needs its partner, stored or staged; without it nothing is written."""
        commit(storage, partner("ptn_stored"))
        with storage.unit_of_work() as uow, pytest.raises(NotFoundError):
            _add_as_they_are(
                uow, membership("prg_1", "ptn_stored"), membership("prg_1", "ptn_ghost")
            )
        assert missing(committed(storage).memberships.get, "prg_1", "ptn_ghost"), (
            "a membership of a partner that does not exist was stored"
        )
        assert committed(storage).memberships.for_partner("ptn_ghost") == [], "for_partner()"
        assert missing(committed(storage).memberships.get, "prg_1", "ptn_stored"), (
            "the refused unit of work wrote the membership staged before the refused one"
        )
        with storage.unit_of_work() as uow:
            uow.partners.add(partner("ptn_new"))
            uow.memberships.add(membership("prg_1", "ptn_new"))
            uow.memberships.add(membership("prg_1", "ptn_stored"))
            uow.commit()
        found = _members(
            paging.walk(committed(storage).memberships.query, limit=1, program_id="prg_1")
        )
        assert found == ["ptn_new", "ptn_stored"], "members after adding their partners"
