"""The contract of `partnerkit.storage.UnitOfWork` and the outbox of `Storage`."""

# ruff: noqa: S101 - a test suite states its promises with assert

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from partnerkit.errors import ConflictError, NotFoundError, StaleVersionError
from partnerkit.storage._protocols import Storage, UnitOfWork
from partnerkit.testing import strategies as pks
from partnerkit.testing.conformance._compare import assert_same
from partnerkit.testing.conformance._harness import (
    PROPERTIES,
    DeliberateError,
    race,
    roll_back_three_ways,
)
from partnerkit.testing.conformance._records import (
    activity,
    assert_nothing_written,
    event,
    partner,
    write_everything,
)
from partnerkit.testing.conformance._store import (
    commit,
    committed,
    ids,
    missing,
    pending_kinds,
    save,
    stage,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from partnerkit._base.events import Event, EventRecord

__all__ = ["UnitOfWorkContract"]


def _claimer(storage: Storage) -> Callable[..., list[EventRecord]]:
    claim: Callable[..., list[EventRecord]] | None = getattr(storage, "claim_events", None)
    if claim is None:
        pytest.skip("the store has no event leases (claim_events); one EventBus per store")
    return claim


class UnitOfWorkContract:
    """The promises of `partnerkit.storage.UnitOfWork` and the outbox of `Storage`.

    Atomic commit, rollback on exception or without commit, isolation of uncommitted
    writes, no lost updates under concurrent writers, and events delivered only after
    commit.
    """

    def test_storage_implements_the_protocols(self, storage: Storage) -> None:
        """The store is a `Storage` and hands out `UnitOfWork` objects."""
        assert isinstance(storage, Storage), "the store lacks methods of Storage"
        with storage.unit_of_work() as uow:
            assert isinstance(uow, UnitOfWork), "the unit of work lacks methods of UnitOfWork"

    def test_reads_inside_a_unit_of_work_see_its_own_writes(self, storage: Storage) -> None:
        """``get``, ``query`` and ``for_partner`` see what this unit of work wrote."""
        commit(storage, partner("ptn_old"))
        with storage.unit_of_work() as uow:
            added = uow.partners.add(partner("ptn_new", country="JP"))
            assert_same(uow.partners.get("ptn_new"), added, "added partner")
            assert ids(uow.partners.query(country="JP").items) == ["ptn_new"], "query(country=JP)"
            updated = uow.partners.update(attrs.evolve(added, region="APAC"))
            assert_same(uow.partners.get("ptn_new"), updated, "updated partner")
            old = uow.partners.update(attrs.evolve(uow.partners.get("ptn_old"), country="SE"))
            assert ids(uow.partners.query(country="SE").items) == ["ptn_old"], "query(country=SE)"
            assert_same(uow.partners.get("ptn_old"), old, "updated partner")
            appended = activity("act_1", "ptn_new")
            uow.activities.append([appended])
            assert_same(uow.activities.get("act_1"), appended, "appended activity")
            assert ids(uow.activities.for_partner("ptn_new")) == ["act_1"], "for_partner()"
            found = uow.activities.query(partner_id="ptn_new").items
            assert ids(found) == ["act_1"], "activities.query(partner_id='ptn_new')"
            uow.commit()

    def test_other_units_of_work_see_writes_only_after_commit(self, storage: Storage) -> None:
        """Uncommitted writes are invisible to other units of work; committed ones are not."""
        (existing,) = commit(storage, partner("ptn_old"))
        with storage.unit_of_work() as writer:
            write_everything(writer, existing)
            with storage.unit_of_work() as other:
                with pytest.raises(NotFoundError):
                    other.partners.get("ptn_new")
                assert_same(other.partners.get("ptn_old"), existing, "partner")
                assert ids(other.partners.query().items) == ["ptn_old"], "partners.query()"
                with pytest.raises(NotFoundError):
                    other.activities.get("act_new")
                assert other.activities.for_partner("ptn_new") == [], "for_partner('ptn_new')"
                assert other.activities.query().items == (), "activities.query()"
            assert storage.pending_events() == [], "pending events before commit"
            writer.commit()
        with storage.unit_of_work() as later:
            assert later.partners.get("ptn_new").version == 1, "the added partner's version"
            assert later.partners.get("ptn_old").name == "Changed", "the updated partner's name"
            walked = ids(later.activities.query().items)
            assert walked == ["act_new", "act_old_partner"], "activities.query()"
        assert pending_kinds(storage) == ["partner.created", "partner.renamed"], "pending events"

    def test_exception_inside_the_block_rolls_back_everything(self, storage: Storage) -> None:
        """An exception in the ``with`` block propagates and discards every write."""
        (existing,) = commit(storage, partner("ptn_old"))

        def fail() -> None:
            with storage.unit_of_work() as uow:
                write_everything(uow, existing)
                raise DeliberateError

        with pytest.raises(DeliberateError):
            fail()
        assert_nothing_written(storage, existing)

    def test_leaving_the_block_without_commit_rolls_back_everything(self, storage: Storage) -> None:
        """Leaving the ``with`` block without ``commit`` discards every write."""
        (existing,) = commit(storage, partner("ptn_old"))
        with storage.unit_of_work() as uow:
            write_everything(uow, existing)
        assert_nothing_written(storage, existing)

    def test_rollback_discards_everything_since_the_last_commit(self, storage: Storage) -> None:
        """``rollback`` discards the writes after the last commit and keeps the ones before."""
        (existing,) = commit(storage, partner("ptn_old"))
        with storage.unit_of_work() as uow:
            uow.partners.add(partner("ptn_kept"))
            uow.commit()
            write_everything(uow, existing)
            uow.rollback()
            with pytest.raises(NotFoundError):
                uow.partners.get("ptn_new")
        kept = not missing(committed(storage).partners.get, "ptn_kept")
        assert kept, "rollback() undid an earlier commit"
        assert_nothing_written(storage, existing)

    def test_commit_that_fails_on_a_stale_partner_writes_nothing(self, storage: Storage) -> None:
        """A commit refused because a partner changed since it was read writes nothing."""
        (existing,) = commit(storage, partner("ptn_old"))
        with storage.unit_of_work() as slow:
            write_everything(slow, existing)  # updates ptn_old based on version 1
            with storage.unit_of_work() as fast:
                save(fast, attrs.evolve(fast.partners.get("ptn_old"), name="Fast writer"))
            winner = committed(storage).partners.get("ptn_old")
            with pytest.raises(StaleVersionError):
                slow.commit()
        assert_nothing_written(storage, winner)

    def test_commit_that_fails_on_a_taken_partner_id_writes_nothing(self, storage: Storage) -> None:
        """A commit refused because another unit of work added the same id writes nothing."""
        (existing,) = commit(storage, partner("ptn_old"))
        with storage.unit_of_work() as slow:
            write_everything(slow, existing)  # adds ptn_new
            with storage.unit_of_work() as fast:
                save(fast, partner("ptn_new", name="Fast writer"))
            winner = committed(storage).partners.get("ptn_new")
            with pytest.raises(ConflictError):
                slow.commit()
        seen = committed(storage)
        assert_same(seen.partners.get("ptn_new"), winner, "partner")
        assert_same(seen.partners.get("ptn_old"), existing, "partner")
        assert missing(seen.activities.get, "act_new"), "an activity of a refused commit was stored"
        assert storage.pending_events() == [], "events of a refused commit"

    def test_commit_that_fails_on_a_taken_activity_id_writes_nothing(
        self, storage: Storage
    ) -> None:
        """A commit refused because an activity id was taken with other content writes nothing."""
        (existing,) = commit(storage, partner("ptn_old"))
        with storage.unit_of_work() as slow:
            write_everything(slow, existing)  # appends act_new
            with storage.unit_of_work() as fast:
                save(fast, activity("act_new", "ptn_fast"))
            with pytest.raises(ConflictError):
                slow.commit()
        seen = committed(storage)
        assert seen.activities.get("act_new").partner_id == "ptn_fast", "the kept activity"
        assert missing(seen.activities.get, "act_old_partner"), "a refused activity was stored"
        assert missing(seen.partners.get, "ptn_new"), "a partner of a refused commit was stored"
        assert_same(seen.partners.get("ptn_old"), existing, "partner")
        assert storage.pending_events() == [], "events of a refused commit"

    def test_concurrent_updates_lose_no_update(self, storage: Storage) -> None:
        """Racing read-modify-write units of work: each saves or gets `StaleVersionError`.

        8 threads each make 3 attempts; every attempt reads the partner, waits until all
        threads have read, then adds its own domain and commits. The final version is 1
        plus the number of saves and the partner holds exactly the saved domains.
        """
        commit(storage, partner("ptn_contended"))

        def attempt(writer: int, round_: int, ready: Callable[[], object]) -> str | None:
            marker = f"w{writer}r{round_}.example.com"
            with storage.unit_of_work() as uow:
                seen = uow.partners.get("ptn_contended")
                ready()
                try:
                    save(uow, attrs.evolve(seen, domains=(*seen.domains, marker)))
                except StaleVersionError:
                    return None
                return marker

        outcomes = race(attempt, racers=8, rounds=3)
        saved = {marker for marker in outcomes.values() if marker is not None}
        assert saved, "no writer managed to save"
        final = committed(storage).partners.get("ptn_contended")
        assert final.version == 1 + len(saved), (
            f"version {final.version} after {len(saved)} successful updates"
        )
        assert set(final.domains) == saved, (
            f"lost updates: {sorted(saved - set(final.domains))}; "
            f"unexpected: {sorted(set(final.domains) - saved)}"
        )

    def test_events_reach_the_outbox_only_after_commit(self, storage: Storage) -> None:
        """Published events are pending only once committed, in order, as ``uow.events``."""
        events = [event("partner.created"), event("partner.activated", step=2)]
        with storage.unit_of_work() as uow:
            uow.publish(events[0])
            uow.publish(events[1])
            assert storage.pending_events() == [], "events were delivered before commit"
            assert not uow.events, "uow.events holds events that no commit recorded"
            uow.commit()
        recorded = uow.events
        assert_same([record.event for record in recorded], events, "uow.events")
        assert_same(storage.pending_events(), list(recorded), "pending_events()")

    def test_event_ids_are_unique_and_sort_in_recording_order(self, storage: Storage) -> None:
        """Outbox ids are unique and sort in the order the events were recorded."""
        kinds = [f"test.c{n // 3}e{n % 3}" for n in range(15)]
        for first in range(0, 15, 3):
            commit(storage, *(event(kind) for kind in kinds[first : first + 3]))
        pending = storage.pending_events(limit=1000)
        assert [record.event.kind for record in pending] == kinds, "pending events"
        outbox_ids = [record.id for record in pending]
        assert len(set(outbox_ids)) == len(outbox_ids), f"duplicate outbox ids: {outbox_ids}"
        assert outbox_ids == sorted(outbox_ids), f"ids out of recording order: {outbox_ids}"
        naive = [record.id for record in pending if record.recorded_at.utcoffset() is None]
        assert not naive, "recorded_at came back naive"

    def test_uow_events_holds_the_events_of_the_last_commit(self, storage: Storage) -> None:
        """``uow.events`` is replaced by each commit, empty after a commit without events."""
        with storage.unit_of_work() as uow:
            save(uow, event("test.first"))
            assert [record.event.kind for record in uow.events] == ["test.first"], "uow.events"
            save(uow, event("test.second"), event("test.third"))
            kinds = [record.event.kind for record in uow.events]
            assert kinds == ["test.second", "test.third"], "uow.events"
            save(uow, partner("ptn_1"))
            assert uow.events == (), "uow.events after a commit without events"

    def test_events_of_a_rolled_back_unit_never_appear(self, storage: Storage) -> None:
        """Events published in work that rolled back are never recorded."""
        roll_back_three_ways(
            storage,
            lambda uow, way: uow.publish(event(f"test.{way}")),
            after_rollback=lambda uow: uow.publish(event("test.kept")),
        )
        assert pending_kinds(storage) == ["test.kept"], "pending events"

    def test_mark_delivered_removes_events_and_ignores_unknown_ids(self, storage: Storage) -> None:
        """Delivered events leave ``pending_events``; unknown or repeated ids are ignored."""
        commit(storage, *(event(f"test.e{n}") for n in range(4)))
        first, second, third, fourth = storage.pending_events()
        storage.mark_delivered([first.id, third.id])
        assert pending_kinds(storage) == ["test.e1", "test.e3"], "pending events"
        storage.mark_delivered(iter([first.id, "evt_unknown"]))
        storage.mark_delivered([])
        pending = [record.id for record in storage.pending_events()]
        assert pending == [second.id, fourth.id], "pending event ids"
        storage.mark_delivered([second.id, fourth.id])
        assert storage.pending_events() == [], "pending events"

    def test_claimed_events_are_leased_to_one_owner_until_delivered(self, storage: Storage) -> None:
        """``claim_events`` hands each pending event to one owner at a time, oldest first.

        Only for stores with event leases (every `StagedStorage`); a store without
        them suits one `EventBus` per store and skips this test.
        """
        claim = _claimer(storage)
        commit(storage, *(event(f"test.e{n}") for n in range(6)))
        first = claim("bus-a", limit=4)
        assert [r.event.kind for r in first] == [f"test.e{n}" for n in range(4)], "bus-a's claim"
        second = claim("bus-b", limit=10)
        again = sorted({r.id for r in first} & {r.id for r in second})
        assert not again, f"events leased to bus-a were handed to bus-b too: {again}"
        assert [r.event.kind for r in second] == ["test.e4", "test.e5"], "bus-b's claim"
        mine = claim("bus-a", limit=10)
        assert [r.id for r in mine] == [r.id for r in first], "bus-a claims its own again"
        assert pending_kinds(storage) == [f"test.e{n}" for n in range(6)], "pending events"
        storage.mark_delivered(record.id for record in first)
        third = claim("bus-c", limit=10)
        taken = sorted({r.id for r in second} & {r.id for r in third})
        assert not taken, f"events leased to bus-b were handed to bus-c too: {taken}"
        storage.mark_delivered(record.id for record in second)
        assert claim("bus-c", limit=10) == [], "claim after every event was delivered"

    def test_racing_claims_never_share_an_event(self, storage: Storage) -> None:
        """Eight owners claiming at once get disjoint sets of events, together all of them."""
        claim = _claimer(storage)
        commit(storage, *(event(f"test.e{n}") for n in range(20)))

        def attempt(racer: int, round_: int, ready: Callable[[], object]) -> list[str]:
            del round_
            ready()
            return [record.id for record in claim(f"bus-{racer}", limit=3)]

        claims = list(race(attempt, racers=8).values())
        handed = [event_id for claimed in claims for event_id in claimed]
        shared = sorted({e for e in handed if handed.count(e) > 1})
        assert not shared, f"events leased to two owners at once: {shared}"
        pending = {record.id for record in storage.pending_events(limit=1000)}
        assert set(handed) == pending, "eight claims of three leave none of twenty unclaimed"

    def test_pending_events_returns_the_oldest_first_up_to_limit(self, storage: Storage) -> None:
        """``pending_events(limit=n)`` returns the n oldest undelivered events."""
        for n in range(5):
            commit(storage, event(f"test.e{n}"))
        oldest = storage.pending_events(limit=2)
        assert [record.event.kind for record in oldest] == ["test.e0", "test.e1"], "oldest two"
        storage.mark_delivered(record.id for record in oldest)
        kinds = [record.event.kind for record in storage.pending_events(limit=2)]
        assert kinds == ["test.e2", "test.e3"], "oldest two after delivering two"

    @PROPERTIES
    @given(events=st.lists(pks.events(), min_size=1, max_size=5))
    def test_any_published_event_round_trips_through_the_outbox(
        self, storage: Storage, events: list[Event]
    ) -> None:
        """Any valid events come back from the outbox unchanged, in order."""
        with storage.unit_of_work() as uow:
            save(uow, *events)
        recorded = uow.events
        assert_same([record.event for record in recorded], events, "events")
        pending = {record.id: record for record in storage.pending_events(limit=1000)}
        for record in recorded:
            assert record.id in pending, f"{record.id} is not pending"
            assert_same(pending[record.id], record, "pending record")
        # Leave the outbox empty for the next example.
        storage.mark_delivered(record.id for record in recorded)

    def test_unit_of_work_can_be_reused_after_commit_and_rollback(self, storage: Storage) -> None:
        """After ``commit`` or ``rollback`` the same unit of work does more work."""
        with storage.unit_of_work() as uow:
            save(uow, partner("ptn_1"), event("test.one"))
            stage(uow, partner("ptn_2"), event("test.two"))
            uow.rollback()
            changed = attrs.evolve(uow.partners.get("ptn_1"), region="EMEA")
            save(uow, changed, partner("ptn_3"), event("test.three"))
        seen = committed(storage)
        assert seen.partners.get("ptn_1").version == 2, "the updated partner's version"
        assert not missing(seen.partners.get, "ptn_3"), "work after a rollback was not committed"
        assert missing(seen.partners.get, "ptn_2"), "a rolled-back partner was stored"
        assert pending_kinds(storage) == ["test.one", "test.three"], "pending events"

    def test_unit_of_work_can_be_reused_after_a_failed_commit(self, storage: Storage) -> None:
        """After a refused commit the same unit of work starts afresh and can commit."""
        with storage.unit_of_work() as uow:
            stage(uow, partner("ptn_1", name="Slow writer"), event("test.lost"))
            commit(storage, partner("ptn_1", name="Fast writer"))
            with pytest.raises(ConflictError):
                uow.commit()
            save(uow, partner("ptn_2"), event("test.saved"))
        seen = committed(storage)
        assert seen.partners.get("ptn_1").name == "Fast writer", "the kept partner's name"
        assert not missing(seen.partners.get, "ptn_2"), "work after a refused commit was lost"
        assert pending_kinds(storage) == ["test.saved"], "pending events"
