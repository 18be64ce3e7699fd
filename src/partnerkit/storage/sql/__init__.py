"""SQL storage on SQLAlchemy Core 2: PostgreSQL first, SQLite second, the host's engine.

`SqlStorage` is a `partnerkit.storage.StagedStorage` on any SQLAlchemy `Engine` the
host builds: the host's connection pool, its URL, its settings. On an empty
database it creates partnerkit's tables (all named ``partnerkit_*``) and records
the schema version in ``partnerkit_schema``; an older version is upgraded in
place. The tables are also `metadata`, a SQLAlchemy `MetaData`, for hosts that
manage their schema with their own Alembic migrations.

Needs the ``sql`` extra (``pip install "partnerkit[sql]"``), and for PostgreSQL
the ``postgres`` extra, which adds psycopg 3 (URLs ``postgresql+psycopg://...``).
PostgreSQL and SQLite are tested; MySQL and MariaDB are not (they may work, they
are not promised).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

try:
    import sqlalchemy as sa
except ImportError as error:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        'partnerkit.storage.sql needs SQLAlchemy 2: pip install "partnerkit[sql]" '
        '(or "partnerkit[postgres]" for PostgreSQL)'
    ) from error

from partnerkit.errors import StorageSchemaError, ValidationError
from partnerkit.storage._common import check_busy_timeout
from partnerkit.storage._staging import StagedStorage
from partnerkit.storage.sql._backend import SqlBackend
from partnerkit.storage.sql._schema import (
    SCHEMA_VERSION,
    TABLES_OF_VERSION,
    UPGRADES,
    VERSION_TABLE,
    metadata,
)

if TYPE_CHECKING:
    from partnerkit._base.ids import IdGenerator
    from partnerkit._base.time import Clock

__all__ = ["SCHEMA_VERSION", "SqlStorage", "metadata"]


class SqlStorage(StagedStorage):
    """A partnerkit store in a SQL database, through the host's SQLAlchemy engine.

    Example::

        engine = sqlalchemy.create_engine("postgresql+psycopg://app@db/app")
        storage = SqlStorage(engine)
        with storage.unit_of_work() as uow:
            uow.partners.add(partner)
            uow.commit()

    Several processes and servers may share one database. Reads outside a commit
    see the latest committed state and take no locks. Each commit is checked and
    written in one transaction: on PostgreSQL under a transaction-scoped advisory
    lock that partnerkit's writers of that database share (so the check sees what
    the write changes), on SQLite under ``BEGIN IMMEDIATE``. The customer claim is
    the primary key of ``partnerkit_deal_claims``, so two approvals for one
    customer cannot both commit. The lock serialises partnerkit's commits, not the
    host's own tables or partnerkit's reads.

    Documents are ``JSONB`` on PostgreSQL, text on SQLite. For SQLite give the
    engine a file (``sqlite:///partners.db``); an in-memory database needs
    ``poolclass=StaticPool`` so that every thread sees the one database.

    Errors never escape as SQLAlchemy's or the driver's; they become
    `StorageBusyError` when a lock stayed held past ``busy_timeout``, or a
    serialization failure or deadlock persisted through three attempts of the
    whole commit (nothing is written, the unit of work keeps its changes and
    ``commit()`` may be called again); `ConflictError` when a unique key refuses
    a row; `StorageSchemaError` when the tables are missing, foreign or newer; and
    `StorageError` for anything else, naming what was being done.

    Args:
        engine: The host's engine; partnerkit borrows its connections and never
            disposes of it.
        clock: Stamps outbox records (the system clock by default).
        ids: Mints outbox ids (a fresh `IdGenerator` on ``clock`` by default).
        busy_timeout: Seconds a commit waits for another writer's lock.
        create: Create or upgrade the tables when needed (``False``: only check
            them, for hosts whose own migrations manage `metadata`).

    Raises:
        StorageSchemaError: If the database holds a newer or damaged partnerkit
            schema, or (with ``create=False``) none at the current version.
        StorageError: If the database cannot be reached.
        ValidationError: For something other than an engine, or a negative
            ``busy_timeout``.
    """

    def __init__(
        self,
        engine: sa.Engine,
        *,
        clock: Clock | None = None,
        ids: IdGenerator | None = None,
        busy_timeout: float = 10.0,
        create: bool = True,
    ) -> None:
        if not isinstance(engine, sa.Engine):
            raise ValidationError.single(
                "engine", f"expected a SQLAlchemy Engine, got {type(engine).__name__}"
            )
        self._sql = SqlBackend(engine, check_busy_timeout(busy_timeout))
        super().__init__(self._sql, clock=clock, ids=ids)
        self.engine = engine
        if self._sql.run("reading the schema version", _version) != SCHEMA_VERSION:
            if not create:
                raise StorageSchemaError(
                    f"{self._sql.where} has no partnerkit tables at schema version "
                    f"{SCHEMA_VERSION}; create them from partnerkit.storage.sql.metadata, "
                    f"or pass create=True"
                )
            self._sql.transaction("creating partnerkit's tables", self._upgrade)

    def __repr__(self) -> str:
        return f"SqlStorage({self._sql.where})"

    def _upgrade(self, connection: sa.Connection) -> None:
        # Read again under the write lock: another process may have done it since.
        version = _version(connection)
        if version == 0:
            metadata.create_all(connection)
            connection.execute(sa.insert(VERSION_TABLE).values(id=1, version=SCHEMA_VERSION))
            return
        for step in range(version, SCHEMA_VERSION):
            UPGRADES[step](connection)
        connection.execute(sa.update(VERSION_TABLE).values(version=SCHEMA_VERSION))


def _version(connection: sa.Connection) -> int:
    """The database's partnerkit schema version (0: none), after checking its tables."""
    names = set(sa.inspect(connection).get_table_names())
    ours = {name for name in metadata.tables if name in names}
    if VERSION_TABLE.name not in names:
        if ours:
            raise StorageSchemaError(
                f"the database holds partnerkit tables ({', '.join(sorted(ours))}) but no "
                f"{VERSION_TABLE.name} table; it was changed outside partnerkit: restore it, "
                f"or drop those tables"
            )
        return 0
    rows = connection.execute(sa.select(VERSION_TABLE.c.version)).all()
    if len(rows) != 1:
        raise StorageSchemaError(
            f"{VERSION_TABLE.name} must hold one row, the schema version, and holds "
            f"{len(rows)}; restore it"
        )
    version = int(rows[0][0])
    if version > SCHEMA_VERSION:
        raise StorageSchemaError(
            f"the database has partnerkit schema version {version}, written by a newer "
            f"partnerkit; this release knows versions up to {SCHEMA_VERSION}: upgrade "
            f"partnerkit to open it"
        )
    missing = TABLES_OF_VERSION.get(version, frozenset()) - names
    if version < 1 or missing:
        raise StorageSchemaError(
            f"the database is marked as partnerkit schema version {version} but lacks "
            f"{', '.join(sorted(missing)) or 'a known layout'}; restore it from a backup"
        )
    return version
