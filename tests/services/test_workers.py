"""Conflict screening sees what every worker committed, on each shipped adapter."""

from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from partnerkit.errors import StaleVersionError
from partnerkit.services._support import _ScreenOutdatedError
from partnerkit.storage import Storage
from partnerkit.storage.memory import MemoryStorage
from partnerkit.storage.sql import SqlStorage
from partnerkit.storage.sqlite import SqliteStorage

from .workers import SCENARIOS


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
def test_two_workers_on_one_sqlite_file(
    tmp_path: Path, scenario: Callable[[Storage, Storage], None]
) -> None:
    first, second = SqliteStorage(tmp_path / "db"), SqliteStorage(tmp_path / "db")
    try:
        scenario(first, second)
    finally:
        first.close()
        second.close()


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
def test_two_workers_on_one_memory_store(scenario: Callable[[Storage, Storage], None]) -> None:
    storage = MemoryStorage()
    scenario(storage, storage)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
def test_two_workers_on_one_postgres_database(
    postgres_engine: sa.Engine, scenario: Callable[[Storage, Storage], None]
) -> None:
    # Two stores on one database, as two processes have: nothing shared but the server.
    first, second = SqlStorage(postgres_engine), SqlStorage(postgres_engine)
    scenario(first, second)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
def test_two_workers_on_one_sqlite_file_through_sqlalchemy(
    tmp_path: Path, scenario: Callable[[Storage, Storage], None]
) -> None:
    url = f"sqlite:///{tmp_path / 'db'}"
    one, two = sa.create_engine(url), sa.create_engine(url)
    try:
        scenario(SqlStorage(one), SqlStorage(two))
    finally:
        one.dispose()
        two.dispose()


def test_a_screen_outdated_at_commit_is_retried_and_says_what_changed() -> None:
    error = _ScreenOutdatedError("deal", "deal_2", 6, 7)
    assert isinstance(error, StaleVersionError)  # so Services screens again and retries
    assert str(error) == (
        "deal registration 'deal_2' was screened against the store's deal changes up to "
        "number 6, but registrations committed since (up to number 7) change its "
        "conflicts; nothing was written: try again, and it is screened afresh"
    )
