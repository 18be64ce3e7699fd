"""SqlStorage held to every storage contract, on a real PostgreSQL and on SQLite."""

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from partnerkit.storage.sql import SqlStorage
from partnerkit.testing.conformance import StorageContract


class TestSqlStorageOnPostgres(StorageContract):
    @pytest.fixture
    def storage(self, postgres_engine: sa.Engine) -> Iterator[SqlStorage]:
        store = SqlStorage(postgres_engine)
        yield store
        store.close()


class TestSqlStorageOnSqlite(StorageContract):
    @pytest.fixture
    def storage(self, tmp_path: Path) -> Iterator[SqlStorage]:
        engine = sa.create_engine(f"sqlite:///{tmp_path / 'partners.db'}")
        store = SqlStorage(engine)
        yield store
        store.close()
        engine.dispose()
