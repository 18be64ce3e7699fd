"""Delivering domain events to subscribers, after commit, without losing any.

Units of work record events in the store's outbox when they commit. An `EventBus`
reads the outbox and hands each event to every subscriber:

- nothing is delivered before its unit of work commits (the outbox only holds
  committed events);
- a subscriber that raises is logged, and that event stays in the outbox for it:
  the next `EventBus.deliver` retries it, in order, while the subscribers that
  already handled it are not called again;
- an event leaves the outbox only once every subscriber has handled it.

Several buses may share one store, in one process or many (a host's web
workers, each with its own bus): on a store with event leases (every store built
on `partnerkit.storage.StagedStorage`: `MemoryStorage`, `SqliteStorage`,
`SqlStorage`) a bus leases the events it delivers, so no other bus delivers them
while the lease holds; a bus that stops keeps its events only until their lease
lapses, after which another bus delivers them. Each subscriber then sees each
event once, unless a bus stops (or takes longer than its lease) between a
subscriber's success and the outbox being updated: that event is delivered
again, so a subscriber with outside effects (email, webhooks) should remember
the ids of the `EventRecord` objects it has handled (the delivery id). While no
one subscribes, `EventBus.deliver` leaves the outbox alone.
"""

from __future__ import annotations

import itertools
import logging
import os
import socket
import threading
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import TYPE_CHECKING

import attrs

from partnerkit._base.events import Change, Event, EventRecord
from partnerkit.errors import ValidationError

if TYPE_CHECKING:
    from partnerkit.storage import Storage

__all__ = ["Change", "DeliveryReport", "Event", "EventBus", "EventRecord", "Failure", "Handler"]

#: A subscriber: called with each committed event it subscribed to.
Handler = Callable[[EventRecord], None]

_LOG = logging.getLogger("partnerkit.events")
_BUSES = itertools.count(1)


@attrs.frozen
class Failure:
    """A subscriber that raised on an event; the event stays deliverable to it."""

    subscriber: str
    event_id: str
    error: str


@attrs.frozen
class DeliveryReport:
    """What one `EventBus.deliver` call did.

    Attributes:
        delivered: (subscriber, event id) pairs handled successfully, in order.
        failures: Subscribers that raised, with the event and the error.
        completed: Event ids that every subscriber has now handled (removed from
            the outbox).
    """

    delivered: tuple[tuple[str, str], ...] = ()
    failures: tuple[Failure, ...] = ()
    completed: tuple[str, ...] = ()


@attrs.define
class _Subscriber:
    name: str
    handler: Handler
    kinds: frozenset[str] | None


class EventBus:
    """Delivers a store's committed events to subscribers.

    Args:
        storage: The store whose outbox to read.
        logger: Where subscriber failures are logged (``partnerkit.events`` by
            default).
        owner: The name this bus leases events under; unique among the buses
            on one store (host name, process id and a counter by default).
        lease: How long a leased event is this bus's alone: longer than a
            `deliver` call takes, short enough that another bus soon takes
            over the events of one that stopped (5 minutes by default).

    Example::

        bus = EventBus(storage)
        bus.subscribe(send_partner_email, kinds={"deal.approved"})
        ... # services commit units of work
        bus.deliver()
    """

    def __init__(
        self,
        storage: Storage,
        *,
        logger: logging.Logger | None = None,
        owner: str | None = None,
        lease: timedelta = timedelta(minutes=5),
    ) -> None:
        if lease <= timedelta(0):
            raise ValidationError.single("lease", f"must be positive, got {lease}")
        self._storage = storage
        self._owner = owner or f"{socket.gethostname()}:{os.getpid()}:{next(_BUSES)}"
        self._lease = lease
        self._log = logger or _LOG
        self._subscribers: list[_Subscriber] = []
        self._handled: dict[str, set[str]] = {}  # event id -> subscribers done with it
        self._lock = threading.Lock()

    def subscribe(
        self,
        handler: Handler,
        *,
        name: str | None = None,
        kinds: Iterable[str] | None = None,
    ) -> str:
        """Call ``handler`` with every committed event (of ``kinds``, if given).

        Returns:
            The subscriber's name (``name``, or the handler's qualified name).

        Raises:
            ValidationError: If the name is already taken.
        """
        label = name or getattr(handler, "__qualname__", None) or repr(handler)
        with self._lock:
            if any(subscriber.name == label for subscriber in self._subscribers):
                raise ValidationError.single(
                    "name", f"a subscriber named {label!r} exists; pass another name="
                )
            wanted = (
                None if kinds is None else frozenset([kinds] if isinstance(kinds, str) else kinds)
            )
            self._subscribers.append(_Subscriber(label, handler, wanted))
        return label

    def deliver(self, *, limit: int = 1000) -> DeliveryReport:
        """Deliver up to ``limit`` pending events to every subscriber, oldest first.

        A subscriber that raises on an event gets no later events in this call, so
        it always sees events in order; the others carry on. Safe to call from
        several threads: deliveries do not overlap.
        """
        with self._lock:
            if not self._subscribers:
                return DeliveryReport()  # keep events for the subscribers to come
            pending = self._pending(limit)
            delivered: list[tuple[str, str]] = []
            failures: list[Failure] = []
            stalled: set[str] = set()
            completed: list[str] = []
            for record in pending:
                done = self._handled.setdefault(record.id, set())
                for subscriber in self._subscribers:
                    if subscriber.name in done or subscriber.name in stalled:
                        continue
                    if subscriber.kinds is not None and record.event.kind not in subscriber.kinds:
                        done.add(subscriber.name)
                        continue
                    try:
                        subscriber.handler(record)
                    except Exception as error:
                        stalled.add(subscriber.name)
                        failures.append(Failure(subscriber.name, record.id, repr(error)))
                        self._log.exception(
                            "subscriber %r failed on event %s (%s); it will be retried",
                            subscriber.name,
                            record.id,
                            record.event.kind,
                        )
                        continue
                    done.add(subscriber.name)
                    delivered.append((subscriber.name, record.id))
                if all(subscriber.name in done for subscriber in self._subscribers):
                    completed.append(record.id)
            if completed:
                self._storage.mark_delivered(completed)
                for event_id in completed:
                    self._handled.pop(event_id, None)
            return DeliveryReport(tuple(delivered), tuple(failures), tuple(completed))

    @property
    def owner(self) -> str:
        """The name this bus leases events under."""
        return self._owner

    def _pending(self, limit: int) -> list[EventRecord]:
        # Stores built on the staging layer lease events; others (a host's own
        # Storage) are read as a plain outbox, which suits one bus per store.
        claim: Callable[..., list[EventRecord]] | None = getattr(
            self._storage, "claim_events", None
        )
        if claim is None:
            return self._storage.pending_events(limit=limit)
        pending = claim(self._owner, limit=limit, lease=self._lease)
        # Progress kept for events another bus has taken over since is stale.
        leased = {record.id for record in pending}
        for event_id in [e for e in self._handled if e not in leased]:
            del self._handled[event_id]
        return pending
