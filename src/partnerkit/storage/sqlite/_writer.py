"""The atomic write: a commit checked and written in one ``BEGIN IMMEDIATE``.

``BEGIN IMMEDIATE`` takes SQLite's write lock when the transaction starts, so the
staging layer's check reads the state the commit changes and no other writer can
change it before ``COMMIT``: a commit never fails half way with
``SQLITE_BUSY_SNAPSHOT``, and it holds the lock only while it checks and writes.
The primary keys stay as a second line of defence: a duplicate the check could not
see (an outbox id minted twice) is refused by the database and becomes a
`ConflictError`.
"""

from __future__ import annotations

from itertools import groupby
from typing import TYPE_CHECKING

from partnerkit.storage.sqlite._reads import InTransaction, Reads
from partnerkit.storage.sqlite._tables import TABLES

if TYPE_CHECKING:
    import sqlite3

    from partnerkit.storage._staging import Changes, Commit
    from partnerkit.storage.sqlite._connection import Connections

__all__ = ["SqliteBackend"]


class SqliteBackend(Reads):
    """`partnerkit.storage.StorageBackend` on SQLite: committed reads, atomic writes."""

    def __init__(self, connections: Connections) -> None:
        super().__init__(connections)
        self._connections = connections

    def __repr__(self) -> str:
        return f"SqliteBackend({self._connections.path!r})"

    def write(self, commit: Commit) -> None:
        """Check ``commit`` and write it in one transaction; see `StorageBackend.write`."""

        def check_and_write(db: sqlite3.Connection) -> None:
            _apply(db, commit.check(Reads(InTransaction(db))))

        self._connections.write(commit.purpose, check_and_write)

    def close(self) -> None:
        """Close every connection."""
        self._connections.close()


def _apply(db: sqlite3.Connection, changes: Changes) -> None:
    """Write checked changes: runs of new rows in one ``executemany`` each."""
    for (name, new), writes in groupby(
        changes.writes, key=lambda write: (write.kind.name, write.expected == 0)
    ):
        table = TABLES[name]
        db.executemany(table.insert if new else table.upsert, [table.row(w.record) for w in writes])
    for name, deletes in groupby(changes.deletes, key=lambda pair: pair[0].name):
        table = TABLES[name]
        keys = [bound for _, key in deletes if (bound := table.bound_key(key)) is not None]
        db.executemany(table.delete, keys)
