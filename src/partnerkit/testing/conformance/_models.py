"""The contract of `partnerkit.storage.ScoringModelRepository`."""

# ruff: noqa: S101 - a test suite states its promises with assert

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from partnerkit.errors import AlreadyExistsError, ConflictError, NotFoundError, ValidationError
from partnerkit.health import ScoringModel, model_from_dict
from partnerkit.storage._protocols import ScoringModelRepository, StoredModel
from partnerkit.testing.conformance import _paging as paging
from partnerkit.testing.conformance._compare import assert_same
from partnerkit.testing.conformance._store import committed

if TYPE_CHECKING:
    from partnerkit.storage._protocols import Storage, UnitOfWork

__all__ = ["ScoringModelRepositoryContract"]


def _model(name: str, version: int, high: int = 100) -> ScoringModel:
    """A one-measure model; ``high`` tells versions apart by content too."""
    return model_from_dict(
        {
            "name": name,
            "version": version,
            "measures": [
                {
                    "name": "deals",
                    "metric": "deals",
                    "weight": 1,
                    "normalizer": {"kind": "linear", "low": 0, "high": high},
                }
            ],
        }
    )


def _add(storage: Storage, *models: ScoringModel) -> list[StoredModel]:
    """Add ``models`` in a unit of work of their own and commit it."""
    with storage.unit_of_work() as uow:
        stored = [uow.models.add(model) for model in models]
        uow.commit()
    return stored


def _retire_and_commit(uow: UnitOfWork, name: str, version: int) -> None:
    uow.models.retire(name, version=version)
    uow.commit()


def _listed(storage: Storage, limit: int) -> list[tuple[str, int]]:
    """``(name, version)`` of each model ``query`` lists, page by page."""
    found = paging.walk(committed(storage).models.query, limit=limit)
    return [(stored.name, stored.version) for stored in found]


class ScoringModelRepositoryContract:
    """The promises of `partnerkit.storage.ScoringModelRepository`: every version kept.

    Versions of a name are stored side by side and come back whole; ``get`` without
    a version is the highest one; ``query`` lists each name's highest version by
    name; a version can be retired once, checked again at commit.
    """

    def test_models_implements_the_protocol(self, storage: Storage) -> None:
        """``uow.models`` has every method of `ScoringModelRepository`."""
        with storage.unit_of_work() as uow:
            assert isinstance(uow.models, ScoringModelRepository), "uow.models lacks methods"

    def test_model_versions_round_trip_side_by_side(self, storage: Storage) -> None:
        """Each version added comes back whole from ``get(version=)``; versions ascend."""
        models = [_model("Standard", version, high=10 * version) for version in (2, 1, 10)]
        added = _add(storage, *models)
        assert_same(added, [StoredModel(model, model.version) for model in models], "added")
        for model in models:
            got = committed(storage).models.get("Standard", version=model.version)
            assert_same(got, StoredModel(model, model.version), f"version {model.version}")
        assert committed(storage).models.versions("Standard") == [1, 2, 10], "versions()"
        assert committed(storage).models.versions("Unknown") == [], "versions() of a new name"
        with storage.unit_of_work() as uow:
            for name, version in (("Standard", 3), ("Unknown", 1), ("Unknown", None)):
                with pytest.raises(NotFoundError):
                    uow.models.get(name, version=version)
            with pytest.raises(ValidationError):
                uow.models.add(StoredModel(models[0], 2))  # type: ignore[arg-type]

    def test_model_get_returns_the_latest_version_unless_one_is_asked(
        self, storage: Storage
    ) -> None:
        """``get(name)`` is the highest version, committed or staged in the unit of work."""
        _add(storage, _model("Standard", 2), _model("Standard", 1), _model("Other", 1))
        assert committed(storage).models.get("Standard").version == 2, "get('Standard')"
        newest = _model("Standard", 3, high=50)
        with storage.unit_of_work() as uow:
            assert_same(uow.models.add(newest), StoredModel(newest, 3), "added")
            assert_same(uow.models.get("Standard"), StoredModel(newest, 3), "get() (staged)")
            assert uow.models.versions("Standard") == [1, 2, 3], "versions() (staged)"
            listed = [(m.name, m.version) for m in paging.walk(uow.models.query, limit=1)]
            assert listed == [("Other", 1), ("Standard", 3)], "query() (staged)"
            assert committed(storage).models.get("Standard").version == 2, "seen before commit"
            uow.commit()
        assert_same(committed(storage).models.get("Standard"), StoredModel(newest, 3), "get()")

    def test_add_of_a_stored_model_version_raises_already_exists(self, storage: Storage) -> None:
        """A stored or staged name and version is refused, at add or at commit; nothing changes."""
        (first,) = _add(storage, _model("Standard", 1))
        with storage.unit_of_work() as uow:
            with pytest.raises(AlreadyExistsError):
                uow.models.add(_model("Standard", 1, high=5))
            uow.models.add(_model("Standard", 2))
            with pytest.raises(AlreadyExistsError):
                uow.models.add(_model("Standard", 2, high=5))
        with storage.unit_of_work() as first_unit:
            first_unit.models.add(_model("Racing", 1, high=7))
            _add(storage, _model("Racing", 1, high=9))
            with pytest.raises(AlreadyExistsError):
                first_unit.commit()
        assert_same(committed(storage).models.get("Standard"), first, "Standard")
        assert committed(storage).models.get("Racing").model.measures[0].normalizer.high == 9, (
            "the Racing model committed first was replaced"
        )

    def test_model_query_lists_the_latest_version_of_each_name_in_name_order(
        self, storage: Storage
    ) -> None:
        """One entry a name, its highest version, ordered by name, paged stably."""
        names = [f"Model {n:02d}" for n in range(7)]
        _add(storage, *(_model(name, 1 + n % 3) for n, name in enumerate(reversed(names))))
        _add(storage, _model(names[3], 9), _model(names[3], 4))
        expected = [
            (name, 9 if name == names[3] else 1 + (6 - n) % 3) for n, name in enumerate(names)
        ]
        for limit in (1, 3, 100):
            assert _listed(storage, limit) == expected, f"query(limit={limit})"

        def insert(last: str, page: int) -> None:
            _add(storage, _model(f"{last}+", 1), _model(f"Model {page:02d}x", 1))

        paging.assert_stable(
            committed(storage).models.query,
            lambda stored: stored.name,
            names,
            limit=2,
            insert=insert,
            what="models",
        )
        with storage.unit_of_work() as uow:
            paging.assert_cursors_refused(uow.models.query)
            for bad in (0, 1001):
                with pytest.raises(ValidationError):
                    uow.models.query(limit=bad)

    def test_model_retire_marks_one_version_retired_once(self, storage: Storage) -> None:
        """``retire`` keeps the version, marks it retired, and refuses a second time."""
        one, two = _add(storage, _model("Standard", 1), _model("Standard", 2))
        with storage.unit_of_work() as uow:
            retired = uow.models.retire("Standard", version=1)
            assert_same(retired, StoredModel(one.model, 1, retired=True), "retired")
            assert uow.models.get("Standard", version=1).retired, "retired (staged)"
            with pytest.raises(ConflictError):
                uow.models.retire("Standard", version=1)
            uow.commit()
        got = committed(storage).models.get("Standard", version=1)
        assert_same(got, StoredModel(one.model, 1, retired=True), "version 1")
        assert_same(committed(storage).models.get("Standard", version=2), two, "version 2")
        with storage.unit_of_work() as uow:
            with pytest.raises(ConflictError):
                uow.models.retire("Standard", version=1)
            for name, version in (("Standard", 3), ("Unknown", 1)):
                with pytest.raises(NotFoundError):
                    uow.models.retire(name, version=version)
        with storage.unit_of_work() as first_unit:
            first_unit.models.retire("Standard", version=2)
            with storage.unit_of_work() as second_unit:
                _retire_and_commit(second_unit, "Standard", 2)
            with pytest.raises(ConflictError):
                first_unit.commit()
        assert committed(storage).models.get("Standard", version=2).retired, "after the race"
