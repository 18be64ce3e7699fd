"""SqlStorage's backend: committed reads and the atomic write, in SQLAlchemy Core.

Reads run on autocommit connections and see the latest committed state. A write
runs in one explicit transaction on one connection of the host's engine:

- PostgreSQL: ``BEGIN ISOLATION LEVEL READ COMMITTED`` and a transaction-scoped
  advisory lock that every partnerkit writer of that database takes, so that the
  check reads exactly the state the write changes (each statement of a READ
  COMMITTED transaction sees everything committed before it started, and no other
  partnerkit writer can commit meanwhile). The primary keys, the customer claim's
  above all, stay a second line of defence.
- SQLite: ``BEGIN IMMEDIATE``, SQLite's write lock, as in `SqliteStorage`.

A write that meets a lock held past ``busy_timeout``, a serialization failure or a
deadlock is retried as a whole, with jittered back-off, before `StorageBusyError`.
Every driver error is translated by `translate`.
"""

from __future__ import annotations

import json
from itertools import groupby
from typing import TYPE_CHECKING, Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from partnerkit.errors import (
    ConflictError,
    PartnerkitError,
    StorageBusyError,
    StorageError,
    StorageSchemaError,
)
from partnerkit.storage._common import retry_when_busy
from partnerkit.storage.sql._schema import TABLE_NAMES, metadata
from partnerkit.storage.sqlite._tables import TABLES, column_value

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from partnerkit.storage._staging import Changes, Commit, Key, Kind, Query
    from partnerkit.storage.sqlite._tables import Table

__all__ = ["SqlBackend", "translate"]

# pg_advisory_xact_lock(classid, objid): "PKIT", 1 = partnerkit's writers.
_LOCK: Final = "SELECT pg_advisory_xact_lock(1346980180, 1)"

# SQLSTATE classes and codes, PostgreSQL's and the standard's.
_BUSY_STATES: Final = frozenset({"40001", "40P01", "55P03"})
# query_canceled: a statement_timeout or someone's pg_cancel_backend, not a wait
# for other writers, so it is not worth an automatic retry.
_CANCELLED: Final = "57014"
_SCHEMA_STATES: Final = frozenset({"42P01", "42703", "3F000"})
_SQLITE_BUSY: Final = frozenset({5, 6})  # SQLITE_BUSY, SQLITE_LOCKED
_SQLITE_CONSTRAINT: Final = 19
_KIND_OF_TABLE: Final = {TABLE_NAMES[name]: TABLES[name].noun for name in TABLE_NAMES}


def translate(error: BaseException, operation: str, where: str) -> PartnerkitError:
    """The partnerkit error for an SQLAlchemy or driver error raised while ``operation``.

    Args:
        error: What SQLAlchemy raised (its ``orig`` is the driver's error).
        operation: What was being done ("committing a unit of work").
        where: The database, as errors name it.
    """
    orig = getattr(error, "orig", None) or error
    message = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    state = getattr(orig, "sqlstate", None)
    code = getattr(orig, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    if isinstance(error, sa.exc.TimeoutError):  # the engine's pool had no free connection
        return StorageBusyError(
            f"no database connection came free in time while {operation} on {where} "
            f"({message}); retry, or give the engine a larger pool"
        )
    if state in _BUSY_STATES or primary in _SQLITE_BUSY or "database is locked" in message:
        return StorageBusyError(
            f"{where} stayed busy while {operation} ({message}); nothing was written: "
            f"retry, or raise busy_timeout if other writers hold it this long"
        )
    if state == _CANCELLED:
        return StorageError(
            f"{where} cancelled the statement while {operation} ({message}); nothing was "
            f"written: either a statement_timeout shorter than the work (raise it for the "
            f"role partnerkit connects as) or an administrator cancelled it; retry once "
            f"that is settled"
        )
    if (state or "").startswith("23") or primary == _SQLITE_CONSTRAINT:
        table = getattr(getattr(orig, "diag", None), "table_name", None) or ""
        kind = _KIND_OF_TABLE.get(table) or next(
            (noun for name, noun in _KIND_OF_TABLE.items() if name in message), "record"
        )
        return ConflictError(
            kind,
            "",
            f"a {kind} with the same key is already stored ({message}) while {operation}; "
            f"nothing was written",
        )
    if state in _SCHEMA_STATES or "no such table" in message:
        return StorageSchemaError(
            f"{where} lacks partnerkit's tables or columns ({message}) while {operation}; "
            f"open it with SqlStorage(engine) to create or upgrade them, or run the "
            f"host's migrations"
        )
    if (state or "").startswith("08") or getattr(error, "connection_invalidated", False):
        return StorageError(
            f"the connection to {where} failed while {operation} ({message}); a commit "
            f"in flight may or may not have been written: check, then retry"
        )
    if (state or "").startswith("53"):
        return StorageError(
            f"{where} ran out of resources (disk, memory or connections) while "
            f"{operation} ({message}); nothing was written"
        )
    if state == "25006" or "readonly" in message.replace("-", "").replace(" ", ""):
        return StorageError(
            f"{where} is read-only while {operation} ({message}); connect as a user "
            f"(or to a server) that may write"
        )
    return StorageError(f"the database failed while {operation} on {where}: {message}")


class _Shape:
    """How one kind is read and written in its table, on one dialect."""

    def __init__(self, name: str, dialect: str) -> None:
        self.spec: Table = TABLES[name]
        self.table = table = metadata.tables[TABLE_NAMES[name]]
        self.pg = dialect == "postgresql"
        self.columns = self.spec.columns
        self.key = [table.c[column] for column in self.spec.key]
        names = [part.strip() for part in self.spec.selected.split(",")]
        self.json_at = names.index("json") if "json" in names else None
        self.selected = [
            sa.cast(table.c.json, sa.Text).label("json") if n == "json" and self.pg else table.c[n]
            for n in names
        ]
        self.versions = [*self.key, table.c.version] if "version" in table.c else []
        values: dict[str, Any] = {column: sa.bindparam(column) for column in self.columns}
        if self.pg and "json" in values:
            values["json"] = sa.cast(sa.bindparam("json", type_=sa.Text), postgresql.JSONB)
        self.insert = sa.insert(table).values(values)
        dialect_insert: Any = postgresql.insert if self.pg else sqlite.insert
        upsert = dialect_insert(table).values(values)
        kept = {c: upsert.excluded[c] for c in self.columns if c not in self.spec.key}
        self.upsert = upsert.on_conflict_do_update(index_elements=self.key, set_=kept)
        self.delete = sa.delete(table).where(
            *(column == sa.bindparam(f"k_{column.name}") for column in self.key)
        )
        self.one = sa.select(*self.selected).where(
            *(column == sa.bindparam(f"k_{column.name}") for column in self.key)
        )
        self.order = [table.c.seq] if name == "events" else []

    def text(self, value: Any) -> Any:
        """A column value as stored: text PostgreSQL cannot hold (NUL) as its JSON."""
        if self.pg and type(value) is str and "\x00" in value:
            return json.dumps(value)
        return value

    def params(self, record: Any) -> dict[str, Any]:
        """The bound values of one row."""
        row = self.spec.row(record)
        found = {c: self.text(v) for c, v in zip(self.columns, row, strict=True)}
        if self.pg and "json" in found:
            document = found["json"]
            # JSONB refuses NUL and lone surrogates: such a document is kept as a
            # JSON string holding its text (ASCII, so the escapes stay escapes).
            if "\\u0000" in document or "\\ud" in document:
                found["json"] = json.dumps(document)
        return found

    def bound(self, key: Key) -> tuple[Any, ...] | None:
        """A record key as its key columns store it, or ``None`` if none can."""
        found = self.spec.bound_key(key)
        return None if found is None else tuple(self.text(part) for part in found)

    def value(self, field: str, value: Any) -> Any:
        """A query value as column ``field`` stores it (``None``: no row can match)."""
        return self.text(column_value(field, value))

    def record(self, row: Sequence[Any]) -> Any:
        """The record a selected row holds."""
        if self.json_at is None:
            return self.spec.record(row)
        values = list(row)
        document = values[self.json_at]
        if type(document) is str and document.startswith('"'):
            values[self.json_at] = json.loads(document)
        return self.spec.record(values)


class SqlBackend:
    """`partnerkit.storage.StorageBackend` on a SQLAlchemy engine."""

    def __init__(self, engine: sa.Engine, busy_timeout: float) -> None:
        self.dialect = engine.dialect.name
        self.where = repr(engine.url.render_as_string(hide_password=True))
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._busy_ms = max(1, round(busy_timeout * 1000))
        self._shapes = {name: _Shape(name, self.dialect) for name in TABLE_NAMES}
        self.closed = False

    def __repr__(self) -> str:
        return f"SqlBackend({self.where})"

    def check_open(self) -> None:
        """Raise `StorageError` if the store is closed."""
        if self.closed:
            raise StorageError(f"SqlStorage({self.where}) is closed; open a new one")

    # -- reads ------------------------------------------------------------------

    def run(self, operation: str, work: Callable[[sa.Connection], Any]) -> Any:
        """``work`` on an autocommit connection, with errors translated."""
        self.check_open()
        try:
            with self._engine.connect() as connection:
                return work(connection)
        except sa.exc.SQLAlchemyError as error:
            raise translate(error, operation, self.where) from error

    def versions(self, kind: Kind[Any], keys: Sequence[Key]) -> dict[Key, int]:
        """See `partnerkit.storage.CommittedReads.versions`."""
        return self.run(kind.label, lambda c: _Reads(self, c).versions(kind, keys))  # type: ignore[no-any-return]

    def load(self, kind: Kind[Any], keys: Sequence[Key]) -> dict[Key, Any]:
        """See `partnerkit.storage.CommittedReads.load`."""
        shape = self._shapes[kind.name]
        return self.run(shape.spec.reading, lambda c: _Reads(self, c).load(kind, keys))  # type: ignore[no-any-return]

    def find(self, query: Query[Any]) -> list[Any]:
        """See `partnerkit.storage.CommittedReads.find`."""
        return self.run(query.purpose, lambda c: _Reads(self, c).find(query))  # type: ignore[no-any-return]

    # -- the atomic write -----------------------------------------------------------

    def transaction(self, operation: str, work: Callable[[sa.Connection], Any]) -> Any:
        """``work`` in one transaction under partnerkit's write lock, retried when busy."""

        def attempt() -> Any:
            self.check_open()
            with self._engine.connect() as connection:
                self._begin(connection)
                try:
                    result = work(connection)
                    connection.exec_driver_sql("COMMIT")
                except BaseException:
                    _rollback(connection)
                    raise
                return result

        return retry_when_busy(
            attempt, sa.exc.SQLAlchemyError, lambda error: translate(error, operation, self.where)
        )

    def _begin(self, connection: sa.Connection) -> None:
        if self.dialect == "postgresql":
            connection.exec_driver_sql("BEGIN ISOLATION LEVEL READ COMMITTED")
            connection.exec_driver_sql(f"SET LOCAL lock_timeout = {self._busy_ms}")
            connection.exec_driver_sql(_LOCK)
        elif self.dialect == "sqlite":
            connection.exec_driver_sql(f"PRAGMA busy_timeout = {self._busy_ms}")
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:  # untested: SERIALIZABLE, retried on serialization failures
            connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")
            connection.exec_driver_sql("START TRANSACTION")

    def write(self, commit: Commit) -> None:
        """Check ``commit`` and write it in one transaction; see `StorageBackend.write`."""

        def check_and_write(connection: sa.Connection) -> None:
            self.apply(connection, commit.check(_Reads(self, connection)))

        self.transaction(commit.purpose, check_and_write)

    def apply(self, connection: sa.Connection, changes: Changes) -> None:
        """Write checked changes: each run of one kind in one ``executemany``."""
        for (name, new), writes in groupby(
            changes.writes, key=lambda write: (write.kind.name, write.expected == 0)
        ):
            shape = self._shapes[name]
            rows = [shape.params(write.record) for write in writes]
            connection.execute(shape.insert if new else shape.upsert, rows)
        for name, deletes in groupby(changes.deletes, key=lambda pair: pair[0].name):
            shape = self._shapes[name]
            keys = [bound for _, key in deletes if (bound := shape.bound(key)) is not None]
            if keys:
                names = [f"k_{column.name}" for column in shape.key]
                connection.execute(
                    shape.delete, [dict(zip(names, key, strict=True)) for key in keys]
                )

    def close(self) -> None:
        """Stop using the engine (the host's: it stays open for the host)."""
        self.closed = True


def _rollback(connection: sa.Connection) -> None:
    # The error that got us here is the one worth raising.
    try:
        connection.exec_driver_sql("ROLLBACK")
    except sa.exc.SQLAlchemyError:
        connection.invalidate()


class _Reads:
    """`partnerkit.storage.CommittedReads` on one connection (errors raised as they are)."""

    def __init__(self, backend: SqlBackend, connection: sa.Connection) -> None:
        self._shapes = backend._shapes
        self._connection = connection

    def _rows(self, shape: _Shape, columns: list[Any], keys: Sequence[Key]) -> list[Any]:
        bound = [found for found in map(shape.bound, keys) if found is not None]
        if not bound:
            return []
        if len(bound) == 1:
            where = [column == value for column, value in zip(shape.key, bound[0], strict=True)]
        elif len(shape.key) == 1:
            where = [shape.key[0].in_([value for (value,) in bound])]
        else:
            where = [sa.tuple_(*shape.key).in_(bound)]
        return list(self._connection.execute(sa.select(*columns).where(*where)))

    def versions(self, kind: Kind[Any], keys: Sequence[Key]) -> dict[Key, int]:
        shape = self._shapes[kind.name]
        width = len(shape.key)
        rows = self._rows(shape, shape.versions, keys)
        if len(keys) == 1:
            return {keys[0]: int(rows[0][width])} if rows else {}
        # The caller's key of each stored key (they differ only for escaped text).
        asked = {bound: key for key in keys if (bound := shape.bound(key)) is not None}
        return {asked.get(tuple(row[:width]), row[0]): int(row[width]) for row in rows}

    def load(self, kind: Kind[Any], keys: Sequence[Key]) -> dict[Key, Any]:
        shape = self._shapes[kind.name]
        if len(keys) == 1:
            bound = shape.bound(keys[0])
            if bound is None:
                return {}
            names = [f"k_{column.name}" for column in shape.key]
            row = self._connection.execute(shape.one, dict(zip(names, bound, strict=True))).first()
            return {} if row is None else {keys[0]: shape.record(row)}
        records = [shape.record(row) for row in self._rows(shape, shape.selected, keys)]
        return {kind.key(record): record for record in records}

    def find(self, query: Query[Any]) -> list[Any]:
        shape = self._shapes[query.kind.name]
        statement = _select(shape, query)
        if statement is None:
            return []
        return [shape.record(row) for row in self._connection.execute(statement)]


def _conditions(shape: _Shape, table: Any, conditions: Sequence[Any]) -> list[Any] | None:
    """The clauses of ``conditions`` (``None``: no stored row can match them)."""
    clauses = []
    for field, op, value in conditions:
        if op == "any":
            options = [_conditions(shape, table, (option,)) for option in value]
            possible = [sa.and_(*option) for option in options if option is not None]
            if not possible:
                return None
            clauses.append(sa.or_(*possible))
            continue
        column = table.c[field]
        if op == "in":
            stored = {found for item in value if (found := shape.value(field, item)) is not None}
            if not stored:
                return None
            clauses.append(column.in_(sorted(stored, key=str)))
            continue
        bound = shape.value(field, value)
        if bound is None:
            return None
        if op == "contains":
            position = sa.func.strpos if shape.pg else sa.func.instr
            clauses.append(position(column, bound) > 0)
            continue
        clauses.append(
            {
                "=": column == bound,
                "<": column < bound,
                "<=": column <= bound,
                ">": column > bound,
                ">=": column >= bound,
            }[op]
        )
    return clauses


def _select(shape: _Shape, query: Query[Any]) -> Any:
    """The ``SELECT`` answering ``query``; ``None`` when no stored row can match."""
    table = shape.table
    where = _conditions(shape, table, query.where)
    having = _conditions(shape, table, query.having)
    if where is None or having is None:
        return None
    if query.latest is not None:
        group, by = query.latest
        later = table.alias("later")
        inner = _conditions(shape, later, query.where) or []
        newest = (
            sa.select(sa.func.max(later.c[by]))
            .where(later.c[group] == table.c[group], *inner)
            .scalar_subquery()
        )
        where.append(table.c[by] == newest)
    statement = sa.select(*shape.selected).where(*where, *having)
    order: list[Any] = [table.c[field] for field in query.order] or shape.order
    if query.descending:
        order = [column.desc() for column in order]
    if order:
        statement = statement.order_by(*order)
    if query.limit is not None:
        statement = statement.limit(query.limit)
    return statement
