"""Event leases on each shipped adapter: held by one bus, taken over once lapsed."""

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from partnerkit import Event, FixedClock
from partnerkit.errors import ValidationError
from partnerkit.events import EventBus
from partnerkit.storage import StagedStorage
from partnerkit.storage.memory import MemoryStorage
from partnerkit.storage.sql import SqlStorage
from partnerkit.storage.sqlite import SqliteStorage

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)
Opener = Callable[[FixedClock], StagedStorage]


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    if request.param == "memory":
        yield lambda clock: MemoryStorage(clock=clock)
    elif request.param == "sqlite":
        yield lambda clock: SqliteStorage(tmp_path / "leases.db", clock=clock)
    else:
        engine = request.getfixturevalue("postgres_engine")
        yield lambda clock: SqlStorage(engine, clock=clock)


def publish(storage: StagedStorage, count: int) -> None:
    with storage.unit_of_work() as uow:
        uow.publish(*(Event("test.e", f"ptn_{n}", NOW, "usr_test") for n in range(count)))
        uow.commit()


def test_a_lapsed_lease_passes_to_another_owner(open_store: Opener) -> None:
    clock = FixedClock(NOW)
    storage = open_store(clock)
    publish(storage, 3)
    held = storage.claim_events("crashed", lease=timedelta(minutes=1))
    assert len(held) == 3
    assert storage.claim_events("other", lease=timedelta(minutes=1)) == []
    clock.advance(timedelta(seconds=59))
    assert storage.claim_events("other", lease=timedelta(minutes=1)) == []
    clock.advance(timedelta(seconds=2))
    assert storage.claim_events("other", lease=timedelta(minutes=1)) == held
    # The new holder's lease counts from its own claim.
    assert storage.claim_events("crashed", lease=timedelta(minutes=1)) == []
    storage.close()


def test_a_bus_that_stopped_has_its_events_delivered_by_another(open_store: Opener) -> None:
    clock = FixedClock(NOW)
    storage = open_store(clock)
    publish(storage, 2)
    recorded = [record.id for record in storage.pending_events()]
    stopped = EventBus(storage, owner="web-1", lease=timedelta(minutes=2))

    def crash(record: object) -> None:
        raise RuntimeError("the process died mid-delivery")

    stopped.subscribe(crash, name="mailer")
    assert len(stopped.deliver().failures) == 1
    seen: list[str] = []
    other = EventBus(storage, owner="web-2", lease=timedelta(minutes=2))
    other.subscribe(lambda record: seen.append(record.id), name="mailer")
    assert other.deliver().delivered == ()
    clock.advance(timedelta(minutes=3))
    assert len(other.deliver().completed) == 2
    assert seen == recorded
    assert storage.pending_events() == []
    storage.close()


def test_claims_check_their_arguments() -> None:
    storage = MemoryStorage()
    with pytest.raises(ValidationError, match="owner"):
        storage.claim_events("")
    with pytest.raises(ValidationError, match="lease"):
        storage.claim_events("bus", lease=timedelta(0))
    with pytest.raises(ValidationError, match="lease"):
        EventBus(storage, lease=timedelta(seconds=-1))
