import logging
import threading
from datetime import UTC, datetime

import pytest

from partnerkit import ValidationError
from partnerkit.events import Event, EventBus, EventRecord, Handler
from partnerkit.storage.memory import MemoryStorage

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def publish(storage: MemoryStorage, *kinds: str, commit: bool = True) -> None:
    with storage.unit_of_work() as uow:
        uow.publish(*(Event(kind, f"ptn_{i}", NOW) for i, kind in enumerate(kinds)))
        if commit:
            uow.commit()


def recorder(log: list[str]) -> Handler:
    def handle(record: EventRecord) -> None:
        log.append(record.event.kind)

    return handle


def test_events_reach_subscribers_only_after_commit_and_in_order() -> None:
    storage = MemoryStorage()
    bus = EventBus(storage)
    seen: list[str] = []
    bus.subscribe(recorder(seen), name="audit")
    publish(storage, "deal.submitted", commit=False)
    assert bus.deliver().delivered == ()
    publish(storage, "deal.submitted", "deal.approved")
    report = bus.deliver()
    assert seen == ["deal.submitted", "deal.approved"]
    assert len(report.completed) == 2
    assert storage.pending_events() == []


def test_a_failing_subscriber_is_retried_and_the_others_are_not_called_twice(
    caplog: pytest.LogCaptureFixture,
) -> None:
    storage = MemoryStorage()
    bus = EventBus(storage)
    good: list[str] = []
    flaky: list[str] = []
    broken = {"on": True}

    def flaky_handler(record: EventRecord) -> None:
        if broken["on"] and record.event.kind == "deal.approved":
            raise ConnectionError("webhook endpoint down")
        flaky.append(record.event.kind)

    bus.subscribe(recorder(good), name="audit")
    bus.subscribe(flaky_handler, name="webhooks")
    publish(storage, "deal.submitted", "deal.approved", "deal.won")
    with caplog.at_level(logging.ERROR, logger="partnerkit.events"):
        first = bus.deliver()
    assert [f.subscriber for f in first.failures] == ["webhooks"]
    assert "webhook endpoint down" in first.failures[0].error
    assert "will be retried" in caplog.text
    assert flaky == ["deal.submitted"]  # stopped at the failure: order is kept
    assert good == ["deal.submitted", "deal.approved", "deal.won"]
    assert len(storage.pending_events()) == 2
    broken["on"] = False
    second = bus.deliver()
    assert flaky == ["deal.submitted", "deal.approved", "deal.won"]
    assert good == ["deal.submitted", "deal.approved", "deal.won"]
    assert second.failures == ()
    assert storage.pending_events() == []


def test_subscribers_can_choose_kinds() -> None:
    storage = MemoryStorage()
    bus = EventBus(storage)
    approvals: list[str] = []
    bus.subscribe(recorder(approvals), name="approvals", kinds={"deal.approved"})
    publish(storage, "deal.submitted", "deal.approved")
    bus.deliver()
    assert approvals == ["deal.approved"]
    assert storage.pending_events() == []


def test_without_subscribers_nothing_leaves_the_outbox() -> None:
    storage = MemoryStorage()
    bus = EventBus(storage)
    publish(storage, "deal.submitted")
    assert bus.deliver().completed == ()
    late: list[str] = []
    bus.subscribe(recorder(late), name="late")
    bus.deliver()
    assert late == ["deal.submitted"]


def test_subscriber_names_are_unique() -> None:
    bus = EventBus(MemoryStorage())
    bus.subscribe(lambda record: None, name="audit")
    with pytest.raises(ValidationError, match="pass another name"):
        bus.subscribe(lambda record: None, name="audit")


def test_concurrent_deliveries_deliver_each_event_once() -> None:
    storage = MemoryStorage()
    bus = EventBus(storage)
    seen: list[str] = []
    lock = threading.Lock()

    def handle(record: EventRecord) -> None:
        with lock:
            seen.append(record.id)

    bus.subscribe(handle, name="audit")
    for _ in range(20):
        publish(storage, *["partner.status_changed"] * 10)
    threads = [threading.Thread(target=bus.deliver, kwargs={"limit": 37}) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    while storage.pending_events():
        bus.deliver()
    assert len(seen) == 200
    assert len(set(seen)) == 200
