"""Several processes on one database, each with its own store and `Services`.

Each worker is a separate operating-system process that opens the database itself,
as a host's web workers do: nothing is shared but the database. Workers meet at a
barrier before each round, so that their writes collide as often as they can.
"""

import multiprocessing
import multiprocessing.synchronize
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any, TypeVar

import attrs

from partnerkit import FixedClock, Money
from partnerkit.access import Actor, Role
from partnerkit.deals import Customer
from partnerkit.errors import ConflictError, StaleVersionError, StorageBusyError
from partnerkit.events import EventBus
from partnerkit.services import DealDraft, Services
from partnerkit.storage import Storage

from .world import ADMIN, NOW, partner

MANAGER = Actor("usr_manager", Role.CHANNEL_MANAGER)

#: ("sqlite", path) for `SqliteStorage`, ("sql", url) for `SqlStorage`.
Spec = tuple[str, str]


@contextmanager
def opened(spec: Spec) -> Iterator[Storage]:
    """The store ``spec`` names, opened by this process and closed afterwards."""
    kind, where = spec
    if kind == "sqlite":
        from partnerkit.storage.sqlite import SqliteStorage  # noqa: PLC0415

        storage = SqliteStorage(where, busy_timeout=30)
        try:
            yield storage
        finally:
            storage.close()
        return
    import sqlalchemy as sa  # noqa: PLC0415

    from partnerkit.storage.sql import SqlStorage  # noqa: PLC0415

    engine = sa.create_engine(where)
    try:
        yield SqlStorage(engine)
    finally:
        engine.dispose()


def user(worker: int) -> Actor:
    return Actor(f"usr_{worker}", Role.PARTNER_USER, partner_id=f"ptn_{worker}")


def services_of(storage: Storage, worker: int) -> Services:
    numbers = iter(range(1, 1_000_000))
    return Services(
        storage,
        clock=FixedClock(NOW),
        ids=lambda prefix: f"{prefix}_w{worker}_{next(numbers):06d}",
    )


def set_up(spec: Spec, workers: int) -> None:
    """One partner per worker, all managed by `MANAGER`."""
    with opened(spec) as storage:
        services = services_of(storage, 99)
        for worker in range(workers):
            services.register_partner(ADMIN, partner(f"ptn_{worker}", MANAGER.id))


def customer_name(round_: int, worker: int | None) -> str:
    """The round's customer, unlike other rounds' names; ``worker`` gives its own spelling.

    Workers' spellings differ in one letter of the first word (the fourth), so any
    two are one slip apart: near names the conflict index must pair up.
    """
    letters = random.Random(round_).choices("bcdfghjklmnpqrstvwxz", k=16)
    first, second = letters[:8], letters[8:]
    if worker is not None:
        first[3] = "aeiouyåä"[worker]
    return f"{''.join(first).title()} {''.join(second).title()} Systems Oy"


def draft(name: str) -> DealDraft:
    return DealDraft(
        customer=Customer(name, "FI"),
        amount=Money("50000", "EUR"),
        expected_close_on=date(2026, 6, 30),
        products=("cloud",),
    )


T = TypeVar("T")


def busy_retried(call: Callable[[], T]) -> T:
    """``call``, tried again while the database is busy or a rival commit keeps winning.

    `Services` retries a refused commit a few times itself; with eight processes on
    one customer it may still give up, as a host's request handler would retry.
    Nothing is written by a call that raises these.
    """
    for _ in range(50):
        try:
            return call()
        except (StaleVersionError, StorageBusyError):
            continue
    return call()


@attrs.frozen
class Outcome:
    worker: int
    approved: tuple[str, ...]
    refused: tuple[str, ...]


def registration_race(
    spec: Spec,
    worker: int,
    rounds: int,
    mode: str,
    barrier: multiprocessing.synchronize.Barrier,
) -> Outcome:
    """Each round, submit this worker's registration of the round's customer and approve it.

    ``mode`` is "identical" (every worker spells the customer the same), "near" (each
    its own way), or "near, submitted first" (every spelling is stored before anyone
    approves).
    """
    near = mode.startswith("near")
    approved: list[str] = []
    refused: list[str] = []
    with opened(spec) as storage:
        services = services_of(storage, worker)
        for round_ in range(rounds):
            name = customer_name(round_, worker if near else None)
            barrier.wait()
            deal = busy_retried(lambda n=name: services.submit_deal(user(worker), draft(n))).value
            if mode == "near, submitted first":
                barrier.wait()
            try:
                busy_retried(lambda: services.approve_deal(MANAGER, deal.id))  # noqa: B023
            except ConflictError:
                refused.append(deal.id)
            else:
                approved.append(deal.id)
    return Outcome(worker, tuple(approved), tuple(refused))


def counter_writer(
    spec: Spec, worker: int, rounds: int, barrier: multiprocessing.synchronize.Barrier
) -> int:
    """Add one to the shared counter ``rounds`` times: read, change, write at that version."""
    stale = 0
    with opened(spec) as storage:
        barrier.wait()
        for _ in range(rounds):
            while True:
                try:
                    with storage.unit_of_work() as uow:
                        counter = uow.partners.get("ptn_counter")
                        count = int(counter.name.rsplit(" ", 1)[1])
                        uow.partners.update(attrs.evolve(counter, name=f"Counter {count + 1}"))
                        uow.commit()
                    break
                except (StaleVersionError, StorageBusyError):
                    stale += 1
    return stale


def _run_one(
    queue: "multiprocessing.SimpleQueue[Any]", target: Callable[..., object], args: tuple[Any, ...]
) -> None:
    try:
        queue.put(("ok", target(*args)))
    except BaseException as error:  # reported to the parent, which fails the test
        queue.put(("error", repr(error)))
        args[-1].abort()  # the others stop waiting for this one at the barrier
        raise


def in_processes(
    target: Callable[..., Any], workers: int, *args: Any, timeout: float = 900
) -> list[Any]:
    """Run ``target(spec..., worker, ..., barrier)`` in ``workers`` processes; their results."""
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(workers, timeout=timeout)
    queue: multiprocessing.SimpleQueue[Any] = context.SimpleQueue()
    processes = [
        context.Process(
            target=_run_one, args=(queue, target, (args[0], worker, *args[1:], barrier))
        )
        for worker in range(workers)
    ]
    for process in processes:
        process.start()
    results = [queue.get() for _ in processes]
    for process in processes:
        process.join(timeout)
    errors = [detail for status, detail in results if status == "error"]
    assert not errors, errors
    assert all(process.exitcode == 0 for process in processes)
    return [detail for _, detail in results]


def event_deliverer(
    spec: Spec, worker: int, rounds: int, barrier: multiprocessing.synchronize.Barrier
) -> list[str]:
    """Commit events while this process's own bus delivers; the event ids it delivered."""
    delivered: list[str] = []
    with opened(spec) as storage:
        bus = EventBus(storage)
        bus.subscribe(lambda record: delivered.append(record.id), name="recorder")
        services = Services(storage, clock=FixedClock(NOW), bus=bus)
        barrier.wait()
        for round_ in range(rounds):
            # Each call commits a partner.created event, then delivers what is pending.
            busy_retried(
                lambda r=round_: services.register_partner(
                    ADMIN, partner(f"ptn_w{worker}_{r:04d}", MANAGER.id)
                )
            )
        barrier.wait()
        while storage.pending_events(limit=1):
            busy_retried(bus.deliver)
    return delivered
