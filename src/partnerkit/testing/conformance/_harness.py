"""How the contracts run: hypothesis settings, fresh ids, racing threads, rollbacks."""

# ruff: noqa: S101 - a test suite states its promises with assert

from __future__ import annotations

import itertools
import threading
from typing import TYPE_CHECKING, Final, TypeVar

import pytest
from hypothesis import HealthCheck, settings

if TYPE_CHECKING:
    from collections.abc import Callable

    from partnerkit.storage._protocols import Storage, UnitOfWork

__all__ = ["PROPERTIES", "DeliberateError", "fresh", "race", "roll_back_three_ways"]

T = TypeVar("T")

# Hypothesis runs every example of a test against the one store the function-scoped
# ``storage`` fixture built for it. That is safe because each example gives its
# records fresh ids (`fresh`) and checks only those records, so whatever earlier
# examples left behind cannot match; asking hosts for a store factory instead would
# cost them a second fixture. The inherited tests run once per host subclass, which
# is what ``differing_executors`` warns about: here it is the point of the suite.
PROPERTIES: Final = settings(
    max_examples=25,
    deadline=None,  # a real database on a loaded CI machine is slow, not wrong
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.differing_executors,
        HealthCheck.too_slow,
    ],
)

# Hang guard for the threaded tests only; nothing is asserted about time.
_THREAD_TIMEOUT: Final = 120.0

_serial = itertools.count(1)


class DeliberateError(Exception):
    """What the rollback tests raise inside a unit of work."""


def fresh(base: str) -> str:
    """``base`` made unique in this process (``~`` appears in no strategy's ids)."""
    return f"{base}~{next(_serial)}"


def race(
    attempt: Callable[[int, int, Callable[[], object]], T], *, racers: int, rounds: int = 1
) -> dict[tuple[int, int], T]:
    """Run ``attempt(racer, round, ready)`` in ``racers`` threads, ``rounds`` times each.

    Every attempt reads, calls ``ready()`` (which waits until every racer has read)
    and then writes, so that all of them race on the same state.

    Returns:
        Each attempt's outcome by ``(racer, round)``.
    """
    barrier = threading.Barrier(racers, timeout=_THREAD_TIMEOUT)
    outcomes: dict[tuple[int, int], T] = {}
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(racer: int) -> None:
        try:
            for round_ in range(rounds):
                outcome = attempt(racer, round_, barrier.wait)
                with lock:
                    outcomes[racer, round_] = outcome
        except BaseException as error:
            barrier.abort()  # release the others instead of leaving them waiting
            with lock:
                errors.append(error)

    threads = [threading.Thread(target=run, args=(racer,)) for racer in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(_THREAD_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "racers never finished"
    assert not errors, f"racers failed with something other than a refusal: {errors!r}"
    assert len(outcomes) == racers * rounds, "attempts that finished"
    return outcomes


def roll_back_three_ways(
    storage: Storage,
    write: Callable[[UnitOfWork, str], object],
    after_rollback: Callable[[UnitOfWork], object] = lambda uow: None,
) -> None:
    """Write in three units of work none of which keeps it.

    ``write(uow, way)`` runs once for each way: ``"raised"`` (an exception leaves
    the block), ``"abandoned"`` (the block ends without commit) and
    ``"rolled_back"`` (``rollback()``, then ``after_rollback(uow)`` in the same unit,
    which then commits whatever that wrote).
    """

    def fail() -> None:
        with storage.unit_of_work() as uow:
            write(uow, "raised")
            raise DeliberateError

    with pytest.raises(DeliberateError):
        fail()
    with storage.unit_of_work() as uow:
        write(uow, "abandoned")
    with storage.unit_of_work() as uow:
        write(uow, "rolled_back")
        uow.rollback()
        after_rollback(uow)
        uow.commit()
