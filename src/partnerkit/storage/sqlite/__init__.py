"""SQLite storage: one file (or ``:memory:``) through the standard library's ``sqlite3``.

`SqliteStorage` is a `partnerkit.storage.StagedStorage`: units of work stage their
writes in Python, like every adapter's, and each commit is checked and written in
one ``BEGIN IMMEDIATE ... COMMIT``. Each aggregate is one JSON document in a
``json`` column, beside indexed columns for what queries filter and sort by; the
schema is created and upgraded by numbered migrations recorded in
``PRAGMA user_version``.

Several threads and several processes may share one database file: every thread
gets its own connection (a connection never crosses a thread or a ``fork()``),
commits hold SQLite's write lock only while they check and write, and reads outside
a commit see the latest committed state (in WAL mode readers never wait for the
writer). The package's modules, by job: ``_schema`` (migrations),
``_connection`` (connections, fork safety, driver errors), ``_tables`` (how each
kind maps onto its table), ``_reads`` (committed reads) and ``_writer`` (the
atomic write).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from partnerkit.errors import ValidationError
from partnerkit.storage._common import check_busy_timeout
from partnerkit.storage._staging import StagedStorage
from partnerkit.storage.sqlite._connection import Connections, enable_wal
from partnerkit.storage.sqlite._schema import migrate
from partnerkit.storage.sqlite._writer import SqliteBackend

if TYPE_CHECKING:
    from partnerkit._base.ids import IdGenerator
    from partnerkit._base.time import Clock

__all__ = ["SqliteStorage"]


class SqliteStorage(StagedStorage):
    """A partnerkit store in an SQLite database file, safe across threads and processes.

    Example::

        storage = SqliteStorage("partners.db")
        with storage.unit_of_work() as uow:
            uow.partners.add(partner)
            uow.commit()
        storage.close()

    Opening a file creates partnerkit's tables, or upgrades them, inside one
    transaction. A file database runs in WAL mode, so readers never wait for the
    writer, with ``synchronous=FULL``: ``commit()`` promises durability, and FULL
    keeps a commit through a power cut, not only through a crash of the process
    (WAL with NORMAL may lose the last commits then, and an event already
    delivered from the outbox would describe a change the database forgot). It
    costs one fsync of the WAL per commit, not per row.

    ``":memory:"`` gives a private in-memory database that lives until `close`.
    All threads share its single connection, one operation at a time: SQLite's
    shared-cache mode would let them share it concurrently, but it reports
    conflicts as ``SQLITE_LOCKED``, which the busy timeout does not wait on.

    Errors from ``sqlite3`` never escape; they become:

    - `StorageBusyError` when the database stayed locked by other writers past
      ``busy_timeout`` (a commit makes three attempts, each waiting up to
      ``busy_timeout``, with a short random back-off between them); nothing is
      written and the unit of work keeps its changes, so ``commit()`` may be
      called again;
    - `StorageSchemaError` when the file is not an SQLite database at all, holds
      another application's tables, or was written by a newer partnerkit;
    - `StorageError` naming the file and what was being done, for anything else
      (a damaged file, a full disk, a read-only file, a closed store).

    Duplicate ids become `ConflictError` and stale versions `StaleVersionError`,
    exactly as with `partnerkit.storage.memory.MemoryStorage`.

    Args:
        path: The database file (created if missing), or ``":memory:"``.
        clock: Stamps outbox records (the system clock by default).
        ids: Mints outbox ids (a fresh `IdGenerator` on ``clock`` by default).
        busy_timeout: Seconds to wait for another writer's lock before giving up.

    Raises:
        StorageSchemaError: If ``path`` is not a partnerkit database (or is a
            newer one).
        StorageError: If the file cannot be opened.
        ValidationError: For an empty ``path`` or a negative ``busy_timeout``.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        clock: Clock | None = None,
        ids: IdGenerator | None = None,
        busy_timeout: float = 10.0,
    ) -> None:
        try:
            location = os.fspath(path)
        except TypeError:
            raise ValidationError.single(
                "path", f"expected a file path or ':memory:', got {type(path).__name__}"
            ) from None
        if not isinstance(location, str) or not location:
            raise ValidationError.single(
                "path", "give a database file path, or ':memory:' for an in-memory store"
            )
        self._connections = Connections(location, check_busy_timeout(busy_timeout))
        super().__init__(SqliteBackend(self._connections), clock=clock, ids=ids)
        try:
            connection = self._connections.connection()
            if not self._connections.memory:
                self._connections.run("opening the database", enable_wal, connection)
            migrate(self._connections, connection)
        except BaseException:
            self.close()
            raise

    def __repr__(self) -> str:
        return f"SqliteStorage({self.path!r})"

    @property
    def path(self) -> str:
        """The database file, or ``":memory:"``."""
        return self._connections.path
