"""Committed reads: the staging layer's keys and queries, answered in SQL.

`Reads` answers `partnerkit.storage.CommittedReads` on whatever runs its SQL: the
store's connections in autocommit mode (the latest committed state), or the open
transaction of a commit (the state the commit will change, under its lock). A
`partnerkit.storage.Query` becomes one ``SELECT``: each condition a comparison on
the column of the same name, ``latest`` a correlated ``max()``; a value no stored
row can hold (text SQLite cannot encode, a number for a text column) matches
nothing, as it would in memory.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final, Protocol, TypeVar

from partnerkit.storage.sqlite._tables import TABLES, Table, column_value

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Callable, Sequence

    from partnerkit.storage._staging import Condition, Key, Kind, Query

__all__ = ["Reads", "Runner"]

R = TypeVar("R")
T = TypeVar("T")

_SQL_OPERATORS: Final = {"=": "=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


class Runner(Protocol):
    """Where reads run: the store's connections, or one open transaction."""

    def check_open(self) -> None:
        """Raise `StorageError` if the store is closed."""
        ...

    def read(self, operation: str, work: Callable[[sqlite3.Connection], T]) -> T:
        """``work`` on a connection, with driver errors named by ``operation``."""
        ...

    def fetchone(self, operation: str, sql: str, params: tuple[object, ...]) -> Any:
        """The first row of ``sql`` (or ``None``)."""
        ...


class InTransaction:
    """A `Runner` on the connection of an open transaction (errors surface as they are)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def check_open(self) -> None:
        """The transaction is proof enough."""

    def read(self, operation: str, work: Callable[[sqlite3.Connection], T]) -> T:
        """``work`` on the transaction's connection."""
        return work(self._db)

    def fetchone(self, operation: str, sql: str, params: tuple[object, ...]) -> Any:
        """The first row of ``sql`` in the transaction."""
        return self._db.execute(sql, params).fetchone()


class Reads:
    """`partnerkit.storage.CommittedReads` over SQL run by a `Runner`."""

    def __init__(self, runner: Runner) -> None:
        self._runner = runner

    def _rows(self, table: Table, columns: str, keys: Sequence[Key], operation: str) -> list[Any]:
        """The rows (``columns``) of those ``keys`` that are stored."""
        if len(keys) == 1:  # the lean path of point reads
            bound = table.bound_key(keys[0])
            if bound is None:
                self._runner.check_open()
                return []
            sql = table.one_version if columns is table.versions else table.select_keys(columns, 1)
            row = self._runner.fetchone(operation, sql, bound)
            return [] if row is None else [row]
        params = _bound(table, keys)
        if not params:
            self._runner.check_open()
            return []
        sql = table.select_keys(columns, len(params) // len(table.key))
        return self._runner.read(operation, lambda db: db.execute(sql, params).fetchall())

    def versions(self, kind: Kind[Any], keys: Sequence[Key]) -> dict[Key, int]:
        """See `partnerkit.storage.CommittedReads.versions`."""
        table = TABLES[kind.name]
        width = len(table.key)
        rows = self._rows(table, table.versions, keys, table.reading)
        if len(keys) == 1:  # found by its key
            return {keys[0]: rows[0][width]} if rows else {}
        return {(row[0] if width == 1 else tuple(row[:width])): int(row[width]) for row in rows}

    def load(self, kind: Kind[R], keys: Sequence[Key]) -> dict[Key, R]:
        """See `partnerkit.storage.CommittedReads.load`."""
        table = TABLES[kind.name]
        if len(keys) == 1:  # a point read: the leanest path
            key = keys[0]
            bound = table.bound_key(key)
            if bound is None:
                self._runner.check_open()
                return {}
            row = self._runner.fetchone(table.reading, table.one, bound)
            return {} if row is None else {key: table.record(row)}
        rows = self._rows(table, table.selected, keys, table.reading)
        records = [table.record(row) for row in rows]
        return {kind.key(record): record for record in records}

    def find(self, query: Query[R]) -> list[R]:
        """See `partnerkit.storage.CommittedReads.find`."""
        table = TABLES[query.kind.name]
        compiled = _select(table, query)
        if compiled is None:
            self._runner.check_open()
            return []
        sql, params = compiled
        rows = self._runner.read(query.purpose, lambda db: db.execute(sql, params).fetchall())
        return [table.record(row) for row in rows]


def _bound(table: Table, keys: Sequence[Key]) -> list[object]:
    """The parameters matching ``keys`` (key columns in turn), leaving out unstorable ones."""
    if table.plain:  # ids: most are plain ASCII, and bound as they are
        plain: list[object] = [key for key in keys if type(key) is str and key.isascii()]
        if len(plain) == len(keys):
            return plain
    found = [bound for bound in map(table.bound_key, keys) if bound is not None]
    return [part for key in found for part in key]


def _conditions(
    conditions: Sequence[Condition], alias: str = ""
) -> tuple[list[str], list[object]] | None:
    """SQL for ``conditions`` (``None``: no stored row can match them)."""
    clauses: list[str] = []
    params: list[object] = []
    for field, op, value in conditions:
        if op == "any":
            options = [_conditions((option,), alias) for option in value]
            possible = [option for option in options if option is not None]
            if not possible:
                return None
            clauses.append(f"({' OR '.join(option[0][0] for option in possible)})")
            params += [param for option in possible for param in option[1]]
            continue
        if op == "contains":
            bound = column_value(field, value)
            if bound is None:
                return None
            clauses.append(f"instr({alias}{field}, ?) > 0")
            params.append(bound)
            continue
        if op == "in":
            values = [column_value(field, item) for item in value]
            stored = sorted({item for item in values if item is not None}, key=str)
            if not stored:
                return None
            clauses.append(f"{alias}{field} IN ({', '.join('?' * len(stored))})")
            params += stored
            continue
        bound = column_value(field, value)
        if bound is None:
            return None
        clauses.append(f"{alias}{field} {_SQL_OPERATORS[op]} ?")
        params.append(bound)
    return clauses, params


def _select(table: Table, query: Query[Any]) -> tuple[str, list[object]] | None:
    """The ``SELECT`` answering ``query``, and its parameters; ``None`` for no rows."""
    where = _conditions(query.where)
    having = _conditions(query.having)
    if where is None or having is None:
        return None
    clauses, params = where
    if query.latest is not None:
        group, by = query.latest
        inner, inner_params = _conditions(query.where, "later.") or ([], [])
        same = " AND ".join([f"later.{group} = {table.name}.{group}", *inner])
        clauses.append(
            f"{by} = (SELECT max({by}) FROM {table.name} AS later WHERE {same})"  # noqa: S608 - fixed names
        )
        params += inner_params
    clauses += having[0]
    params += having[1]
    sql = f"SELECT {table.selected} FROM {table.name}"  # noqa: S608 - fixed names
    if clauses:
        sql += f" WHERE {' AND '.join(clauses)}"
    direction = " DESC" if query.descending else ""
    order = ", ".join(f"{field}{direction}" for field in query.order) or table.order
    if order:
        sql += f" ORDER BY {order}"
    if query.limit is not None:
        sql += " LIMIT ?"
        params.append(query.limit)
    return sql, params
