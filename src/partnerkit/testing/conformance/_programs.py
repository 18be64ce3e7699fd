"""The contract of `partnerkit.storage.ProgramRepository`."""

# ruff: noqa: S101 - a test suite states its promises with assert

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs
import pytest
from hypothesis import given

from partnerkit.errors import ConflictError, NotFoundError, StaleVersionError, ValidationError
from partnerkit.storage._protocols import ProgramRepository, StoredProgram
from partnerkit.testing import _tiers as tiers_strategies
from partnerkit.testing.conformance import _paging as paging
from partnerkit.testing.conformance._compare import assert_same
from partnerkit.testing.conformance._harness import PROPERTIES, fresh
from partnerkit.testing.conformance._records import NEPAL, at, program
from partnerkit.testing.conformance._store import commit, committed, save

if TYPE_CHECKING:
    from partnerkit.storage._protocols import Storage, UnitOfWork
    from partnerkit.tiers import Program

__all__ = ["ProgramRepositoryContract"]


def _retire_and_commit(uow: UnitOfWork, program_id: str, version: int) -> None:
    """Retire ``program_id`` at ``version`` in ``uow`` and commit it."""
    uow.programs.retire(program_id, version=version, at=at(6))
    uow.commit()


class ProgramRepositoryContract:
    """The promises of `partnerkit.storage.ProgramRepository`: versioned programs, kept whole."""

    def test_programs_implements_the_protocol(self, storage: Storage) -> None:
        """``uow.programs`` has every method of `ProgramRepository`."""
        with storage.unit_of_work() as uow:
            assert isinstance(uow.programs, ProgramRepository), "uow.programs lacks methods"

    @PROPERTIES
    @given(drawn=tiers_strategies.programs())
    def test_any_program_round_trips_through_add_get_and_query(
        self, storage: Storage, drawn: Program
    ) -> None:
        """Every drawn program comes back whole, at version 1, from get and query."""
        new = attrs.evolve(drawn, id=fresh(drawn.id))
        (added,) = commit(storage, new)
        assert_same(added, StoredProgram(new, 1), "added")
        assert_same(committed(storage).programs.get(new.id), StoredProgram(new, 1), "program")
        listed = paging.walk(committed(storage).programs.query, limit=1000)
        mine = [item for item in listed if item.program.id == new.id]
        assert_same(mine, [StoredProgram(new, 1)], "query()")

    def test_get_of_a_missing_program_raises_not_found(self, storage: Storage) -> None:
        """``get`` of an id never added raises `NotFoundError`."""
        with storage.unit_of_work() as uow, pytest.raises(NotFoundError):
            uow.programs.get("prg_missing")

    def test_add_of_an_existing_program_id_raises_conflict(self, storage: Storage) -> None:
        """A second program with a stored or staged id is refused; the first stays."""
        (first,) = commit(storage, program("prg_1"))
        with storage.unit_of_work() as uow:
            with pytest.raises(ConflictError):
                uow.programs.add(program("prg_1", name="Impostor"))
            uow.programs.add(program("prg_2"))
            with pytest.raises(ConflictError):
                uow.programs.add(program("prg_2", name="Twice"))
        assert_same(committed(storage).programs.get("prg_1"), first, "program")

    def test_program_update_stores_the_change_one_version_higher(self, storage: Storage) -> None:
        """Each ``update`` returns version + 1, also several in one unit of work."""
        (added,) = commit(storage, program("prg_1"))
        renamed = attrs.evolve(added.program, name="Renamed")
        with storage.unit_of_work() as uow:
            second = uow.programs.update(renamed, version=added.version)
            third = uow.programs.update(
                attrs.evolve(renamed, currency="SEK"), version=second.version
            )
            uow.commit()
        assert (second.version, third.version) == (2, 3), "versions returned by update()"
        assert_same(
            committed(storage).programs.get("prg_1"),
            StoredProgram(program("prg_1", name="Renamed", currency="SEK"), 3),
            "program",
        )

    def test_stale_program_update_raises_and_changes_nothing(self, storage: Storage) -> None:
        """An update based on an old or unknown version raises; nothing changes."""
        commit(storage, program("prg_1"))
        with storage.unit_of_work() as first:
            seen = first.programs.get("prg_1")
            with storage.unit_of_work() as second:
                save(second, StoredProgram(program("prg_1", name="Second"), seen.version))
            before = committed(storage).programs.get("prg_1")
            with pytest.raises(StaleVersionError) as raised:
                save(first, StoredProgram(program("prg_1", name="Lost"), seen.version))
        assert (raised.value.key, raised.value.expected) == ("prg_1", 1), "the error's data"
        future = StoredProgram(program("prg_1", name="Future"), 9)
        for stale in (future, StoredProgram(program("prg_gone"), 1)):
            with storage.unit_of_work() as uow, pytest.raises(StaleVersionError):
                save(uow, stale)
        assert_same(committed(storage).programs.get("prg_1"), before, "program")
        with storage.unit_of_work() as uow, pytest.raises(NotFoundError):
            uow.programs.get("prg_gone")

    def test_program_query_pages_in_id_order_while_programs_are_added(
        self, storage: Storage
    ) -> None:
        """Following ``next_cursor`` returns every program once, by id, despite inserts."""
        program_ids = [f"prg_{n:02d}0" for n in range(9)]
        commit(storage, *(program(program_id) for program_id in reversed(program_ids)))

        def insert(last: str, page: int) -> None:
            commit(storage, program(f"{last}+"), program(f"prg_{page:02d}1x"))

        query = committed(storage).programs.query
        paging.assert_stable(
            query, lambda p: p.program.id, program_ids, limit=2, insert=insert, what="programs"
        )
        with storage.unit_of_work() as uow:
            for bad in ({"limit": 0}, {"limit": 1001}, {"cursor": "not-a-cursor"}):
                with pytest.raises(ValidationError):
                    uow.programs.query(**bad)

    def test_program_retire_sets_retired_at_one_version_higher(self, storage: Storage) -> None:
        """``retire`` stores ``retired_at`` (as an instant) and a version one higher, once."""
        (added,) = commit(storage, program("prg_1"), program("prg_2"))[:1]
        assert added.retired_at is None, "retired_at of a program just added"
        when = at(5, NEPAL)
        with storage.unit_of_work() as uow:
            retired = uow.programs.retire("prg_1", version=added.version, at=when)
            assert_same(uow.programs.get("prg_1"), retired, "program (staged)")
            uow.commit()
        expected = StoredProgram(program("prg_1"), 2, retired_at=when)
        assert_same(retired, expected, "retired")
        assert retired.retired_at == when, "retired_at: the same instant"
        assert_same(committed(storage).programs.get("prg_1"), expected, "program")
        listed = paging.walk(committed(storage).programs.query, limit=1)
        assert [(p.program.id, p.retired_at) for p in listed] == [
            ("prg_1", when),
            ("prg_2", None),
        ], "query() -> (id, retired_at)"
        with storage.unit_of_work() as uow, pytest.raises(ValidationError):
            uow.programs.retire("prg_1", version=2, at=at(6))
        for stale in (("prg_2", 2), ("prg_gone", 1)):
            with storage.unit_of_work() as uow, pytest.raises(StaleVersionError):
                _retire_and_commit(uow, *stale)
        with storage.unit_of_work() as uow, pytest.raises(ValidationError):
            uow.programs.retire("prg_2", version=1, at=at(6).replace(tzinfo=None))
        assert_same(committed(storage).programs.get("prg_1"), expected, "program")
        assert committed(storage).programs.get("prg_2").retired_at is None, "prg_2 retired"

    def test_program_update_keeps_a_retired_programs_retired_at(self, storage: Storage) -> None:
        """A new version of a retired program stays retired, at the same instant."""
        (added,) = commit(storage, program("prg_1"))
        when = at(5, NEPAL)
        with storage.unit_of_work() as uow:
            retired = uow.programs.retire("prg_1", version=added.version, at=when)
            uow.commit()
        changed = attrs.evolve(program("prg_1"), name="Renamed")
        with storage.unit_of_work() as uow:
            updated = uow.programs.update(changed, version=retired.version)
            assert_same(uow.programs.get("prg_1"), updated, "program (staged)")
            uow.commit()
        expected = StoredProgram(changed, retired.version + 1, retired_at=when)
        assert_same(updated, expected, "updated")
        assert_same(committed(storage).programs.get("prg_1"), expected, "program")
