"""The SQLite adapter held to the same storage contracts as every other adapter."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from partnerkit.storage.sqlite import SqliteStorage
from partnerkit.testing.conformance import StorageContract


class TestSqliteFileStorage(StorageContract):
    @pytest.fixture
    def storage(self, tmp_path: Path) -> Iterator[SqliteStorage]:
        store = SqliteStorage(tmp_path / "partners.db")
        yield store
        store.close()


class TestSqliteInMemoryStorage(StorageContract):
    @pytest.fixture
    def storage(self) -> Iterator[SqliteStorage]:
        store = SqliteStorage(":memory:")
        yield store
        store.close()
