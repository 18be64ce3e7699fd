"""The contract of `partnerkit.storage.TierHistoryRepository`."""

# ruff: noqa: S101 - a test suite states its promises with assert

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Final

import attrs
import pytest
from hypothesis import given

from partnerkit.errors import ConflictError, ValidationError
from partnerkit.metrics import MetricSnapshot
from partnerkit.storage._protocols import TierHistoryRepository
from partnerkit.testing import _tiers as tiers_strategies
from partnerkit.testing.conformance._compare import assert_same
from partnerkit.testing.conformance._harness import PROPERTIES, fresh, roll_back_three_ways
from partnerkit.testing.conformance._records import (
    KIRIBATI,
    MARQUESAS,
    NEPAL,
    T0,
    assert_no_tiers,
    assignment,
    at,
    membership,
    program,
    write_tiers,
)
from partnerkit.testing.conformance._store import commit, committed, pending_kinds, save
from partnerkit.tiers import ReviewRun, TierAssignment, TierChangeCause, review

if TYPE_CHECKING:
    from partnerkit.storage._protocols import Storage, UnitOfWork

__all__ = ["TierHistoryContract"]

_REVIEW_AT: Final = datetime(2026, 10, 1, tzinfo=UTC)


def _history(storage: Storage, program_id: str, partner_id: str) -> list[TierAssignment]:
    """The committed tier history of one membership."""
    return committed(storage).tier_history.for_partner(program_id, partner_id)


def _tier_at(uow: UnitOfWork, program_id: str, partner_id: str, when: datetime) -> str | None:
    """The tier id of the stretch covering ``when``, or ``None``."""
    return getattr(uow.tier_history.at(program_id, partner_id, when), "tier_id", None)


class TierHistoryContract:
    """The promises of `partnerkit.storage.TierHistoryRepository`: the tiers a partner held.

    Stretches are keyed by their start instant and never rewritten, except that an
    open one may be closed; ``at`` counts ``valid_from`` in and ``valid_until`` out;
    a whole review run is saved in one unit of work.
    """

    def test_tier_history_implements_the_protocol(self, storage: Storage) -> None:
        """``uow.tier_history`` has every method of `TierHistoryRepository`."""
        with storage.unit_of_work() as uow:
            history = uow.tier_history
            assert isinstance(history, TierHistoryRepository), "uow.tier_history lacks methods"

    @PROPERTIES
    @given(drawn=tiers_strategies.tier_assignments())
    def test_any_tier_assignment_round_trips_through_save_for_partner_and_at(
        self, storage: Storage, drawn: TierAssignment
    ) -> None:
        """Every drawn assignment comes back whole from ``for_partner`` and ``at``."""
        stretch = attrs.evolve(drawn, partner_id=fresh(drawn.partner_id))
        commit(storage, stretch)
        key = (stretch.program_id, stretch.partner_id)
        assert_same(_history(storage, *key), [stretch], "history")
        found = committed(storage).tier_history.at(*key, stretch.valid_from)
        if stretch.covers(stretch.valid_from):
            assert_same(found, stretch, "at()")
        else:  # a zero-length stretch covers no instant, its own start included
            assert found is None, "at() of an empty stretch"

    def test_offsets_and_microseconds_round_trip_as_the_same_instants(
        self, storage: Storage
    ) -> None:
        """Instants in any offset come back equal and aware; the key is the instant."""
        start = datetime(2026, 1, 1, 0, 0, 0, 1, tzinfo=NEPAL)
        closed = TierAssignment(
            "ptn_1",
            "prg_1",
            "silver",
            start,
            datetime(2026, 6, 30, 23, 59, 59, 999999, tzinfo=MARQUESAS),
            TierChangeCause.PIN,
            "usr_maria",
        )
        commit(storage, closed)
        assert_same(_history(storage, "prg_1", "ptn_1"), [closed], "history")
        commit(storage, attrs.evolve(closed, valid_from=start.astimezone(KIRIBATI)))
        assert_same(_history(storage, "prg_1", "ptn_1"), [closed], "history")

    def test_saving_a_stored_assignment_again_changes_nothing(self, storage: Storage) -> None:
        """The same assignment saved twice, in one unit or two, is stored once."""
        stretch = assignment("prg_1", "ptn_1", 0, 5)
        commit(storage, stretch, stretch)
        commit(storage, stretch)
        assert_same(_history(storage, "prg_1", "ptn_1"), [stretch], "history")

    def test_closing_an_open_assignment_rewrites_its_valid_until(self, storage: Storage) -> None:
        """Saving the open stretch with a ``valid_until`` closes it; the next one follows."""
        opened = assignment("prg_1", "ptn_1", 0, tier_id="registered")
        commit(storage, opened)
        closed = attrs.evolve(opened, valid_until=at(10))
        upgraded = assignment("prg_1", "ptn_1", 10)
        commit(storage, closed, upgraded)
        assert_same(_history(storage, "prg_1", "ptn_1"), [closed, upgraded], "history")

    def test_an_assignment_that_does_more_than_close_raises_conflict_and_changes_nothing(
        self, storage: Storage
    ) -> None:
        """Another tier, cause or actor, or re-closing at another time, is refused."""
        closed = assignment("prg_1", "ptn_1", 0, 5)
        opened = assignment("prg_1", "ptn_1", 5, tier_id="registered")
        commit(storage, closed, opened)
        refused = [
            attrs.evolve(closed, valid_until=at(6)),
            attrs.evolve(closed, valid_until=None),
            attrs.evolve(closed, tier_id="gold"),
            attrs.evolve(opened, cause=TierChangeCause.PIN),
            attrs.evolve(opened, actor="usr_maria"),
            attrs.evolve(opened, tier_id="gold", valid_until=at(9)),
        ]
        for attempt in refused:
            with storage.unit_of_work() as uow, pytest.raises(ConflictError):
                save(uow, attempt)
        assert_same(_history(storage, "prg_1", "ptn_1"), [closed, opened], "history")

    def test_a_different_assignment_under_a_key_staged_in_the_same_unit_raises_conflict(
        self, storage: Storage
    ) -> None:
        """Within one unit of work, a staged stretch may be closed but not replaced."""
        with storage.unit_of_work() as uow:
            uow.tier_history.save(assignment("prg_1", "ptn_1", 0))
            with pytest.raises(ConflictError):
                uow.tier_history.save(assignment("prg_1", "ptn_1", 0, tier_id="gold"))
            uow.tier_history.save(assignment("prg_1", "ptn_1", 0, 3))
            with pytest.raises(ConflictError):
                uow.tier_history.save(assignment("prg_1", "ptn_1", 0, 4))
            uow.commit()
        expected = [assignment("prg_1", "ptn_1", 0, 3)]
        assert_same(_history(storage, "prg_1", "ptn_1"), expected, "history")

    def test_tier_history_is_per_program_and_partner_in_valid_from_order(
        self, storage: Storage
    ) -> None:
        """``for_partner`` lists one membership's stretches by ``valid_from``, staged too."""
        mine = [
            assignment("prg_1", "ptn_1", 0, 2, tier_id="registered"),
            assignment("prg_1", "ptn_1", 2, 7),
            assignment("prg_1", "ptn_1", 7, tier_id="gold"),
        ]
        commit(
            storage,
            mine[2],
            assignment("prg_2", "ptn_1", 1),
            mine[0],
            assignment("prg_1", "ptn_2", 1),
        )
        with storage.unit_of_work() as uow:
            uow.tier_history.save(mine[1])
            assert_same(uow.tier_history.for_partner("prg_1", "ptn_1"), mine, "in the unit")
        assert_same(_history(storage, "prg_1", "ptn_1"), [mine[0], mine[2]], "after rollback")

    def test_tier_histories_for_partners_are_what_for_partner_gives(self, storage: Storage) -> None:
        """Every partner asked, once, in order, with what ``for_partner`` gives; staged too."""
        stretches = [
            assignment("prg_2" if n % 3 == 0 else "prg_1", f"ptn_{n % 4}", n) for n in range(12)
        ]
        commit(storage, *stretches[:9])
        asked = ["ptn_3", "ptn_0", "ptn_nobody", "ptn_1", "ptn_0"]
        with storage.unit_of_work() as uow:
            for stretch in stretches[9:]:
                uow.tier_history.save(stretch)
            for program_id in ("prg_1", "prg_2", "prg_none"):
                got = uow.tier_history.for_partners(program_id, asked)
                assert list(got) == ["ptn_3", "ptn_0", "ptn_nobody", "ptn_1"], (
                    f"for_partners({program_id!r}, {asked}): every partner asked, once, in order"
                )
                for partner_id, found in got.items():
                    expected = uow.tier_history.for_partner(program_id, partner_id)
                    assert_same(found, expected, f"for_partners: {program_id}, {partner_id}")
            assert uow.tier_history.for_partners("prg_1", iter([])) == {}, "no partners asked"
        many = [f"ptn_{n}" for n in range(1200)]  # more than one query's worth
        got_many = committed(storage).tier_history.for_partners("prg_1", many)
        assert len(got_many) == 1200, "for_partners of 1200 partners"
        assert_same(got_many["ptn_2"], _history(storage, "prg_1", "ptn_2"), "ptn_2 of 1200")
        with storage.unit_of_work() as uow, pytest.raises(ValidationError):
            uow.tier_history.for_partners("prg_1", "ptn_1")

    def test_at_returns_the_assignment_covering_the_instant(self, storage: Storage) -> None:
        """``valid_from`` is inclusive, ``valid_until`` exclusive; gaps and before give None."""
        commit(
            storage,
            assignment("prg_1", "ptn_1", 0, 2, tier_id="registered"),
            assignment("prg_1", "ptn_1", 3, 7),
            assignment("prg_1", "ptn_1", 7, tier_id="gold"),
            assignment("prg_2", "ptn_1", -5),
        )
        tick = timedelta(microseconds=1)
        cases = [
            (at(-1), None),
            (at(0), "registered"),
            (at(2) - tick, "registered"),
            (at(2), None),
            (at(3, NEPAL), "silver"),
            (at(7) - tick, "silver"),
            (at(7, MARQUESAS), "gold"),
            (at(24 * 365 * 50), "gold"),
        ]
        with storage.unit_of_work() as uow:
            found = [(when, _tier_at(uow, "prg_1", "ptn_1", when)) for when, _ in cases]
            assert uow.tier_history.at("prg_3", "ptn_1", at(8)) is None, "at() of another program"
            with pytest.raises(ValidationError):
                uow.tier_history.at("prg_1", "ptn_1", datetime(2026, 1, 15, 12, 0))  # noqa: DTZ001 - the point of the test
        assert found == cases, "at(instant) -> tier_id"

    def test_at_sees_a_staged_closing(self, storage: Storage) -> None:
        """Inside a unit of work, ``at`` answers from the history as it will be stored."""
        opened = assignment("prg_1", "ptn_1", 0, tier_id="registered")
        commit(storage, opened)
        with storage.unit_of_work() as uow:
            uow.tier_history.save(attrs.evolve(opened, valid_until=at(4)))
            uow.tier_history.save(assignment("prg_1", "ptn_1", 5))
            found = [_tier_at(uow, "prg_1", "ptn_1", at(hours)) for hours in (1, 4.5, 6)]
        assert found == ["registered", None, "silver"], "at() in the unit at 1h, 4.5h, 6h"

    def test_rolled_back_programs_memberships_and_history_leave_nothing_behind(
        self, storage: Storage
    ) -> None:
        """An exception, leaving without commit, or ``rollback()`` discards all of them."""

        def check(uow: UnitOfWork) -> None:
            left = uow.tier_history.for_partner("prg_rolled_back", "ptn_1")
            assert left == [], "history in its unit after rollback()"

        roll_back_three_ways(
            storage, lambda uow, way: write_tiers(uow, f"prg_{way}", "ptn_1"), check
        )
        for program_id in ("prg_raised", "prg_abandoned", "prg_rolled_back"):
            assert_no_tiers(storage, program_id, "ptn_1")

    def test_commit_that_fails_on_a_history_rewritten_meanwhile_writes_nothing(
        self, storage: Storage
    ) -> None:
        """Two units close one open stretch differently: the second commit writes nothing."""
        opened = assignment("prg_1", "ptn_1", 0, tier_id="registered")
        commit(storage, opened)
        with storage.unit_of_work() as slow:
            write_tiers(slow, "prg_new", "ptn_new")
            slow.tier_history.save(attrs.evolve(opened, valid_until=at(3)))
            slow.tier_history.save(assignment("prg_1", "ptn_1", 3))
            commit(
                storage,
                attrs.evolve(opened, valid_until=at(2)),
                assignment("prg_1", "ptn_1", 2, tier_id="gold"),
            )
            winner = _history(storage, "prg_1", "ptn_1")
            with pytest.raises(ConflictError):
                slow.commit()
        assert_same(_history(storage, "prg_1", "ptn_1"), winner, "history")
        assert_no_tiers(storage, "prg_new", "ptn_new")
        assert storage.pending_events() == [], "events of a refused commit"

    def test_a_review_run_is_saved_in_one_unit_of_work(self, storage: Storage) -> None:
        """Saving a `review` (memberships, histories, events) makes the next review a no-op."""
        (stored,) = commit(storage, program("prg_1"))
        commit(
            storage,
            membership("prg_1", "ptn_old", tier_id="registered", tier_since=T0),
            membership("prg_1", "ptn_new", joined_on=date(2026, 6, 1)),
            assignment("prg_1", "ptn_old", 0, tier_id="registered"),
        )

        def run_review(uow: UnitOfWork) -> ReviewRun:
            members = uow.memberships.query(program_id="prg_1").items
            return review(
                stored.program,
                members,
                {m.partner_id: MetricSnapshot(m.partner_id, _REVIEW_AT, {}) for m in members},
                as_of=_REVIEW_AT,
                histories={
                    m.partner_id: uow.tier_history.for_partner("prg_1", m.partner_id)
                    for m in members
                },
            )

        with storage.unit_of_work() as uow:
            run = run_review(uow)
            histories = [item for history in run.histories.values() for item in history]
            save(uow, *run.memberships, *histories, *run.events)
        with storage.unit_of_work() as uow:
            tiers = {
                partner_id: (
                    uow.memberships.get("prg_1", partner_id).tier_id,
                    [a.tier_id for a in uow.tier_history.for_partner("prg_1", partner_id)],
                    _tier_at(uow, "prg_1", partner_id, _REVIEW_AT),
                )
                for partner_id in ("ptn_old", "ptn_new")
            }
            again = run_review(uow)
        assert tiers == {
            "ptn_old": ("silver", ["registered", "silver"], "silver"),
            "ptn_new": ("registered", ["registered"], "registered"),
        }, "membership tier, history and tier at the review, per partner"
        assert (again.memberships, again.events) == ((), ()), "a second review of the saved run"
        assert pending_kinds(storage) == ["tier.changed", "tier.changed"], "pending events"
