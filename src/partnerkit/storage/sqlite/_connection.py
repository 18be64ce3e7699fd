"""Connections to one SQLite file: one per thread, safe across fork, errors translated.

Every thread gets its own connection (a connection never crosses a thread or a
``fork()``); ``":memory:"`` has one, shared under a lock. Reads run in autocommit
mode and see the latest committed state (in WAL mode readers never wait for the
writer); writes run in one ``BEGIN IMMEDIATE ... COMMIT``, retried as a whole when
the database stays locked. No ``sqlite3`` error leaves this module untranslated:
`Connections.translate` maps each onto partnerkit's error tree.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import weakref
from typing import TYPE_CHECKING, Any, Final, TypeVar

try:
    import ctypes
except ImportError:  # pragma: no cover - CPython always has it
    ctypes = None  # type: ignore[assignment]

from partnerkit.errors import (
    ConflictError,
    PartnerkitError,
    StorageBusyError,
    StorageError,
    StorageSchemaError,
)
from partnerkit.storage._common import retry_when_busy
from partnerkit.storage.sqlite._tables import TABLES

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractContextManager

__all__ = ["Connections"]

T = TypeVar("T")

# SQLite primary result codes (the low byte of an extended code).
_SQLITE_CORRUPT: Final = 11
_SQLITE_BUSY: Final = 5
_SQLITE_LOCKED: Final = 6
_SQLITE_READONLY: Final = 8
_SQLITE_FULL: Final = 13
_SQLITE_CANTOPEN: Final = 14
_SQLITE_CONSTRAINT: Final = 19
_SQLITE_NOTADB: Final = 26

#: What a record of each table is called when the database refuses a duplicate.
_TABLE_KINDS: Final = {table.name: table.noun for table in TABLES.values()}

# Connections inherited through fork(): SQLite forbids using, or even closing, them
# in the child (closing one there can checkpoint and delete a WAL file the parent
# is still using). The child keeps them referenced and untouched; one extra
# reference that is never released stops even interpreter shutdown from freeing
# (and so closing) them.
_INHERITED: list[sqlite3.Connection] = []
_LINKS: weakref.WeakSet[_Link] = weakref.WeakSet()


def _abandon_inherited_links() -> None:
    for link in list(_LINKS):
        _INHERITED.append(link.connection)
        if ctypes is not None and hasattr(ctypes, "pythonapi"):
            ctypes.pythonapi.Py_IncRef(ctypes.py_object(link.connection))
    _LINKS.clear()


if hasattr(os, "register_at_fork"):  # POSIX only, like fork() itself
    os.register_at_fork(after_in_child=_abandon_inherited_links)


class _Link:
    """One thread's connection, and the process that opened it."""

    __slots__ = ("__weakref__", "connection", "pid")

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection
        self.pid = os.getpid()

    def __del__(self) -> None:
        # threading.local drops a thread's link when the thread ends: close its
        # connection explicitly (sqlite3 warns about ones left to the collector),
        # unless it came from the parent process through fork().
        with contextlib.suppress(Exception):
            if self.pid == os.getpid():
                self.connection.close()


# File mode needs no lock in the process: each thread has its own connection.
_NO_LOCK: Final = contextlib.nullcontext()


class Connections:
    """The connections of one `SqliteStorage`, and how work runs on them.

    Args:
        path: The database file, or ``":memory:"``.
        busy_timeout: Seconds to wait for another writer's lock.
    """

    def __init__(self, path: str, busy_timeout: float) -> None:
        self.path = path
        self.busy_timeout = busy_timeout
        self.memory = path == ":memory:"
        self.closed = False
        self._local = threading.local()
        self._links: weakref.WeakSet[_Link] = weakref.WeakSet()
        self._links_lock = threading.Lock()
        # Held around every use of the connection in ":memory:" mode, where all
        # threads share one; file mode needs none (one connection per thread).
        self._memory_lock = threading.RLock()
        self._shared: sqlite3.Connection | None = None

    def guard(self) -> AbstractContextManager[object]:
        """The lock every use of the shared ``":memory:"`` connection holds."""
        return self._memory_lock if self.memory else _NO_LOCK

    def check_open(self) -> None:
        """Raise `StorageError` if the store is closed."""
        if self.closed:
            raise StorageError(f"SqliteStorage({self.path!r}) is closed; open a new one")

    def _open(self, _: object = None) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self.path,
            timeout=self.busy_timeout,
            # Autocommit: partnerkit issues BEGIN IMMEDIATE / COMMIT itself.
            isolation_level=None,
            # The store may be closed from another thread than the one that opened
            # a connection; apart from that each connection stays in its thread.
            check_same_thread=False,
            cached_statements=256,
        )
        try:
            connection.execute("PRAGMA synchronous = FULL")
        except BaseException:
            connection.close()
            raise
        return connection

    def connection(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use."""
        if self.memory:
            if self._shared is None:
                self.check_open()
                self._shared = self.run("opening the database", self._open, None)
            return self._shared
        link: _Link | None = getattr(self._local, "link", None)
        if link is None or link.pid != os.getpid():
            self.check_open()
            link = _Link(self.run("opening the database", self._open, None))
            self._local.link = link
            with self._links_lock:
                self._links.add(link)
                _LINKS.add(link)
        return link.connection

    def run(self, operation: str, work: Callable[[Any], T], argument: Any) -> T:
        """``work(argument)``, with ``sqlite3`` errors translated."""
        try:
            return work(argument)
        except sqlite3.Error as error:
            raise self.translate(error, operation) from error

    def fetchone(self, operation: str, sql: str, params: tuple[object, ...]) -> Any:
        """The first row of one query (or ``None``): the lean path for point reads."""
        if self.closed or self.memory:
            return self.read(operation, lambda db: db.execute(sql, params).fetchone())
        try:
            return self.connection().execute(sql, params).fetchone()
        except sqlite3.Error as error:
            raise self.translate(error, operation) from error

    def read(self, operation: str, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work`` on this thread's connection, outside any transaction."""
        self.check_open()
        with self.guard():
            try:
                return work(self.connection())
            except sqlite3.Error as error:
                raise self.translate(error, operation) from error

    def write(self, operation: str, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work`` in one ``BEGIN IMMEDIATE ... COMMIT``; all of it or none.

        ``work`` may raise a partnerkit error to roll back. When the database stays
        locked past the busy timeout, the whole transaction is tried again a few
        times, backing off in between, before `StorageBusyError` is raised.
        """

        def attempt() -> T:
            self.check_open()
            with self.guard():
                db = self.connection()
                db.execute("BEGIN IMMEDIATE")
                try:
                    result = work(db)
                    db.execute("COMMIT")
                except BaseException:
                    _rollback(db)
                    raise
                return result

        return retry_when_busy(
            attempt, sqlite3.Error, lambda error: self.translate(error, operation)
        )

    def translate(self, error: sqlite3.Error, operation: str) -> PartnerkitError:
        """The partnerkit error for a ``sqlite3`` error raised while doing ``operation``."""
        message = str(error)
        code = getattr(error, "sqlite_errorcode", None)
        primary = code & 0xFF if isinstance(code, int) else None
        where = self.path
        if self.closed or "closed database" in message:
            return StorageError(f"SqliteStorage({where!r}) is closed; open a new one")
        if primary in (_SQLITE_BUSY, _SQLITE_LOCKED) or (primary is None and "locked" in message):
            return StorageBusyError(
                f"{where} stayed locked by another writer for more than "
                f"busy_timeout={self.busy_timeout:g}s while {operation}; nothing was "
                f"written: try again, or give SqliteStorage a longer busy_timeout"
            )
        if primary == _SQLITE_NOTADB or "file is not a database" in message:
            return StorageSchemaError(
                f"{where} is not an SQLite database (SQLite says: {message}); point "
                f"SqliteStorage at a database partnerkit created, or at a new file"
            )
        if primary == _SQLITE_CORRUPT or "malformed" in message:
            return StorageError(
                f"{where} is damaged (SQLite says: {message}) while {operation}; restore "
                f"it from a backup, or salvage what is left with the sqlite3 shell's "
                f".recover command"
            )
        if primary == _SQLITE_CONSTRAINT or isinstance(error, sqlite3.IntegrityError):
            table = message.rpartition(": ")[2].partition(".")[0]
            kind = _TABLE_KINDS.get(table, "record")
            return ConflictError(
                kind,
                "",
                f"a {kind} with the same id is already stored (SQLite says: {message}) "
                f"while {operation}; nothing was written",
            )
        if primary == _SQLITE_FULL:
            return StorageError(
                f"the disk holding {where} is full while {operation}; nothing was "
                f"written: free some space and try again"
            )
        if primary == _SQLITE_READONLY:
            return StorageError(
                f"{where} is read-only while {operation} (SQLite says: {message}); give "
                f"this process write access to the file and its directory"
            )
        if primary == _SQLITE_CANTOPEN:
            return StorageError(
                f"cannot open {where} (SQLite says: {message}); check that its directory "
                f"exists and this process may create and write files there"
            )
        return StorageError(f"SQLite failed while {operation} in {where}: {message}")

    def close(self) -> None:
        """Close every connection this process opened."""
        with self._memory_lock:
            self.closed = True
            with self._links_lock:
                links = list(self._links)
                self._links.clear()
            here = os.getpid()
            for link in links:
                if link.pid == here:
                    link.connection.close()
                    _LINKS.discard(link)
            if self._shared is not None:
                self._shared.close()
                self._shared = None


def enable_wal(db: sqlite3.Connection) -> None:
    """Put the file in WAL mode, so that readers never wait for the writer."""
    # WAL is a property of the file, so setting it once per open is enough. A
    # filesystem without shared memory support (some network drives) keeps the
    # rollback journal; BEGIN IMMEDIATE keeps commits correct either way.
    db.execute("PRAGMA journal_mode = WAL").fetchone()


def _rollback(db: sqlite3.Connection) -> None:
    # SQLite may have rolled back already (after an I/O error, a full disk); the
    # error that got us here is the one worth raising.
    if db.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
