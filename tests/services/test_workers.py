"""Conflict screening sees what every worker committed, on each shipped adapter."""

from collections.abc import Callable
from pathlib import Path

import pytest

from partnerkit.storage import Storage
from partnerkit.storage.memory import MemoryStorage
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
