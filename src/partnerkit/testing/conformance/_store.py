"""Writing records to a store and reading them back, the outbox included.

Records are written the way their repositories take them (`stage`, `commit`,
`save`), so that a test says what it stores, not how; committed state is read
through `committed`, which runs every call in a unit of work of its own, as another
process would see the store.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, cast

from partnerkit._base.events import Event
from partnerkit.deals._model import DealRegistration
from partnerkit.errors import NotFoundError
from partnerkit.health import HealthScore
from partnerkit.ledger import Activity
from partnerkit.partners import Partner, PartnerType
from partnerkit.storage._protocols import StoredProgram
from partnerkit.tiers import Membership, Program, TierAssignment

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from partnerkit.storage._protocols import Storage, UnitOfWork

__all__ = [
    "T0",
    "commit",
    "committed",
    "ensure_partner",
    "ids",
    "missing",
    "pending_kinds",
    "save",
    "stage",
]


def ids(records: Sequence[Any]) -> list[str]:
    """The ``id`` of each record, in order."""
    return [record.id for record in records]


def stage(uow: UnitOfWork, *records: object) -> list[Any]:
    """Write ``records`` in ``uow``, in order, the way their repositories take them.

    A partner, membership or registration at version 0 is added, one at a higher
    version updated (a new membership's partner is added first if it is not
    stored: memberships need their partner); a `Program` is added and a
    `StoredProgram` updated at its version; a run of activities is appended as
    one batch; a score is added, a tier assignment saved and an event published.

    Returns:
        What each write returned, one entry a record (``None`` where a write
        returns nothing).

    Raises:
        TypeError: For a record of no kind above (a bug in the suite).
    """
    written: list[Any] = []
    for kind, run in itertools.groupby(records, type):
        if kind is Activity:
            batch = cast("list[Activity]", list(run))
            uow.activities.append(batch)
            written.extend([None] * len(batch))
        else:
            written.extend(_write(uow, record) for record in run)
    return written


def _write(uow: UnitOfWork, record: object) -> Any:
    """Write one record other than an activity; see `stage`."""
    repository: Any
    match record:
        case Partner():
            repository = uow.partners
        case Membership():
            repository = uow.memberships
            if record.version == 0:
                ensure_partner(uow, record.partner_id)
        case DealRegistration():
            repository = uow.deals
        case Program():
            return uow.programs.add(record)
        case StoredProgram():
            return uow.programs.update(record.program, version=record.version)
        case HealthScore():
            return uow.scores.add(record)
        case TierAssignment():
            return uow.tier_history.save(record)
        case Event():
            return uow.publish(record)
        case _:
            raise TypeError(f"the suite cannot write {record!r}")
    return repository.add(record) if record.version == 0 else repository.update(record)


#: The instant the suite's records happen at (the plain partners of `ensure_partner`).
T0: Final = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)


def ensure_partner(uow: UnitOfWork, partner_id: str) -> None:
    """Add a plain partner ``partner_id`` in ``uow`` unless one is stored or staged."""
    try:
        uow.partners.get(partner_id)
    except NotFoundError:
        uow.partners.add(
            Partner(
                id=partner_id,
                name=f"Partner {partner_id}",
                type=PartnerType.RESELLER,
                country="FI",
                created_at=T0,
            )
        )


def commit(storage: Storage, *records: object) -> list[Any]:
    """Write ``records`` (see `stage`) in a unit of work of their own and commit it.

    Returns:
        What each write returned, one entry a record.
    """
    with storage.unit_of_work() as uow:
        written = stage(uow, *records)
        uow.commit()
    return written


def save(uow: UnitOfWork, *records: object) -> None:
    """Write ``records`` (see `stage`) in ``uow`` and commit it.

    One call, so that a test can expect a refusal from either step: an adapter may
    refuse a write at once or only at ``commit``.
    """
    stage(uow, *records)
    uow.commit()


class _EachInAUnitOfItsOwn:
    """Stands for a unit of work; each call runs in a fresh one, opened and closed."""

    def __init__(self, storage: Storage, path: tuple[str, ...] = ()) -> None:
        self._storage = storage
        self._path = path

    def __getattr__(self, name: str) -> _EachInAUnitOfItsOwn:
        return _EachInAUnitOfItsOwn(self._storage, (*self._path, name))

    def __repr__(self) -> str:
        # What a rewritten assert shows for it: the call as the contract wrote it.
        return "".join(
            (f"committed({type(self._storage).__name__})", *(f".{p}" for p in self._path))
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with self._storage.unit_of_work() as uow:
            target: Any = uow
            for name in self._path:
                target = getattr(target, name)
            return target(*args, **kwargs)


def committed(storage: Storage) -> UnitOfWork:
    """The store as every other unit of work sees it: what has been committed.

    ``committed(storage).partners.get("ptn_1")`` opens a unit of work, reads and
    closes it; only calls of repository methods are meant to be made on it.
    """
    return cast("UnitOfWork", _EachInAUnitOfItsOwn(storage))


def missing(get: Callable[..., object], *key: str) -> bool:
    """Whether ``get(*key)`` raises `NotFoundError`."""
    try:
        get(*key)
    except NotFoundError:
        return True
    return False


def pending_kinds(storage: Storage) -> list[str]:
    """The kinds of the events in the outbox, oldest first."""
    return [record.event.kind for record in storage.pending_events(limit=1000)]
