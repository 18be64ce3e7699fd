"""SQLite storage: one file (or ``:memory:``) through the standard library's ``sqlite3``.

Each aggregate is one JSON document (written by `partnerkit.serialization`) in a
``json`` column, beside indexed columns for what queries filter and sort by. The
schema is created and upgraded by numbered migrations recorded in
``PRAGMA user_version``.

Several threads and several processes may share one database file:

- every thread gets its own connection (a connection never crosses a thread or a
  ``fork()``);
- a unit of work stages its writes in Python, like the memory adapter, and
  `SqliteUnitOfWork.commit` writes all of them in one ``BEGIN IMMEDIATE ...
  COMMIT``, re-checking every version and id under the write lock, so a commit is
  all or nothing and never fails half way with ``SQLITE_BUSY_SNAPSHOT``;
- reads outside a commit run in autocommit mode and see the latest committed state
  (in WAL mode readers never wait for the writer).

Every ``sqlite3`` error is translated into partnerkit's error tree; see
`SqliteStorage`.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import sqlite3
import threading
import time
import weakref
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from json.encoder import encode_basestring_ascii
from typing import TYPE_CHECKING, Any, Final, TypeVar

import attrs

try:
    import ctypes
except ImportError:  # pragma: no cover - CPython always has it
    ctypes = None  # type: ignore[assignment]

from partnerkit._base.events import Event, EventRecord
from partnerkit._base.ids import IdGenerator
from partnerkit._base.money import Money
from partnerkit._base.time import Clock, SystemClock, to_utc
from partnerkit._version import __version__
from partnerkit.deals._conflicts import CUSTOMER_KEY_VERSION
from partnerkit.deals._model import ACTIVE_STATUSES, DealRegistration, DealStatus
from partnerkit.errors import (
    AlreadyExistsError,
    ConflictError,
    NotFoundError,
    PartnerkitError,
    StaleVersionError,
    StorageBusyError,
    StorageError,
    StorageSchemaError,
    ValidationError,
)
from partnerkit.health import HealthScore
from partnerkit.ledger import Activity
from partnerkit.partners import (
    Contact,
    OnboardingStep,
    Partner,
    PartnerAction,
    PartnerStatus,
    StatusChange,
    StepOwner,
)
from partnerkit.serialization import from_json, schema_version, to_dict
from partnerkit.storage._common import (
    DEAL,
    activity_matches,
    assignment_conflict,
    assignment_key,
    check_assignment,
    check_deal,
    check_limit,
    check_membership,
    check_model_name,
    check_program,
    check_version,
    claim_conflict,
    claimed_keys,
    closes,
    deal_conflict,
    decode_cursor,
    encode_cursor,
    kind_filter,
    membership_conflict,
    membership_key,
    program_conflict,
    score_conflict,
    time_filter,
)
from partnerkit.storage._protocols import AppendResult, Page, StoredProgram
from partnerkit.tiers import Membership, Program, TierAssignment

if TYPE_CHECKING:
    import enum
    from collections.abc import Callable, Iterable, Iterator, Sequence
    from contextlib import AbstractContextManager
    from types import TracebackType

    from partnerkit.storage._protocols import (
        ActivityLedger,
        DealRepository,
        MembershipRepository,
        PartnerRepository,
        ProgramRepository,
        ScoreRepository,
        TierHistoryRepository,
    )
    from partnerkit.tiers import MembershipStatus

__all__ = ["SqliteStorage"]

T = TypeVar("T")

_MAX_PARTNER_PAGE: Final = 1000
_MAX_ACTIVITY_PAGE: Final = 10_000
_MAX_SCORE_PAGE: Final = 1000
_MAX_PROGRAM_PAGE: Final = 1000
_MAX_MEMBERSHIP_PAGE: Final = 10_000
_MAX_EVENT_PAGE: Final = 10_000
_MAX_DEAL_PAGE: Final = 1000
# Ids per "id IN (...)" lookup: far below SQLite's variable limit (32766 since
# 3.32, 999 before), and large enough that a bulk append needs only a few queries.
_CHUNK: Final = 500
# Whole commits are retried this often when the busy timeout runs out; between
# attempts the writer backs off so that competing writers spread out.
_ATTEMPTS: Final = 3
_BACKOFF_SECONDS: Final = 0.05
# "PKIT": marks a file as partnerkit's in the header (PRAGMA application_id), so
# another application's database is refused even if it uses user_version too.
_APPLICATION_ID: Final = 0x504B4954
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)

# SQLite primary result codes (the low byte of an extended code).
_SQLITE_CORRUPT: Final = 11
_SQLITE_BUSY: Final = 5
_SQLITE_LOCKED: Final = 6
_SQLITE_READONLY: Final = 8
_SQLITE_FULL: Final = 13
_SQLITE_CANTOPEN: Final = 14
_SQLITE_CONSTRAINT: Final = 19
_SQLITE_NOTADB: Final = 26

#: The schema, one migration per step: migration N (1-based) takes a database from
#: ``user_version`` N - 1 to N. Never edit a released step; append a new one.
_MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    (
        """
        CREATE TABLE partners (
            id TEXT PRIMARY KEY NOT NULL,
            status TEXT NOT NULL,
            type TEXT NOT NULL,
            owner_id TEXT,
            parent_id TEXT,
            country TEXT NOT NULL,
            version INTEGER NOT NULL,
            json TEXT NOT NULL
        )
        """,
        # Every partner query is "filter, then order by id from a cursor": an index
        # on (filter column, id) answers it without sorting.
        "CREATE INDEX partners_by_status ON partners (status, id)",
        "CREATE INDEX partners_by_type ON partners (type, id)",
        "CREATE INDEX partners_by_country ON partners (country, id)",
        # Most partners have no parent and many no owner: partial indexes skip them.
        "CREATE INDEX partners_by_owner ON partners (owner_id, id) WHERE owner_id IS NOT NULL",
        "CREATE INDEX partners_by_parent ON partners (parent_id, id) WHERE parent_id IS NOT NULL",
        # occurred_at holds whole microseconds since 1970-01-01 UTC: integers sort
        # and compare exactly and cost less to index than ISO text.
        """
        CREATE TABLE activities (
            id TEXT PRIMARY KEY NOT NULL,
            partner_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            occurred_at INTEGER NOT NULL,
            json TEXT NOT NULL
        )
        """,
        "CREATE INDEX activities_by_partner ON activities (partner_id, occurred_at, id)",
        # seq is the recording order ("oldest first"); an INTEGER PRIMARY KEY keeps
        # its values through VACUUM, which an implicit rowid does not.
        """
        CREATE TABLE outbox (
            seq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            recorded_at INTEGER NOT NULL,
            json TEXT NOT NULL
        )
        """,
        f"PRAGMA application_id = {_APPLICATION_ID}",
    ),
    (
        # Health-score history. A score has no id: (model, partner_id, as_of) is its
        # natural key, ordered so that the key's index also answers "a partner's
        # scores from a model by time" and "each partner's latest score, by partner".
        # as_of holds whole microseconds since 1970-01-01 UTC, like occurred_at.
        """
        CREATE TABLE scores (
            partner_id TEXT NOT NULL,
            model TEXT NOT NULL,
            as_of INTEGER NOT NULL,
            band TEXT,
            json TEXT NOT NULL,
            UNIQUE (model, partner_id, as_of)
        )
        """,
        # "The scores of one run" (query with as_of), in partner order.
        "CREATE INDEX scores_by_instant ON scores (model, as_of, partner_id)",
    ),
    (
        # Programs are configuration, read whole; the version lives beside the
        # document because Program itself has none.
        """
        CREATE TABLE programs (
            id TEXT PRIMARY KEY NOT NULL,
            version INTEGER NOT NULL,
            json TEXT NOT NULL
        )
        """,
        # A membership's key is (program_id, partner_id); its unique index also
        # answers "a program's members by partner id", the unfiltered query.
        """
        CREATE TABLE memberships (
            program_id TEXT NOT NULL,
            partner_id TEXT NOT NULL,
            status TEXT NOT NULL,
            tier_id TEXT,
            version INTEGER NOT NULL,
            json TEXT NOT NULL,
            UNIQUE (program_id, partner_id)
        )
        """,
        "CREATE INDEX memberships_by_status ON memberships (program_id, status, partner_id)",
        "CREATE INDEX memberships_by_tier ON memberships (program_id, tier_id, partner_id)",
        "CREATE INDEX memberships_by_partner ON memberships (partner_id, program_id)",
        # valid_from and valid_until hold whole microseconds since 1970-01-01 UTC; the
        # key's index answers a partner's history by time and "the stretch at t".
        """
        CREATE TABLE tier_history (
            program_id TEXT NOT NULL,
            partner_id TEXT NOT NULL,
            valid_from INTEGER NOT NULL,
            valid_until INTEGER,
            json TEXT NOT NULL,
            UNIQUE (program_id, partner_id, valid_from)
        )
        """,
    ),
    (
        # Deal registrations. protection_until holds whole microseconds since
        # 1970-01-01 UTC (NULL until approved), for the expiry sweep and reminders.
        """
        CREATE TABLE deals (
            id TEXT PRIMARY KEY NOT NULL,
            partner_id TEXT NOT NULL,
            status TEXT NOT NULL,
            protection_until INTEGER,
            version INTEGER NOT NULL,
            json TEXT NOT NULL
        )
        """,
        "CREATE INDEX deals_by_partner ON deals (partner_id, status, id)",
        "CREATE INDEX deals_by_status ON deals (status, id)",
        "CREATE INDEX deals_by_protection ON deals (status, protection_until, id)",
        # The claims on customers: the primary key on the customer key is what makes
        # two approvals for one customer impossible, across threads and processes.
        # key_version is the CUSTOMER_KEY_VERSION the key was computed with.
        """
        CREATE TABLE deal_claims (
            key TEXT PRIMARY KEY NOT NULL,
            deal_id TEXT NOT NULL,
            key_version INTEGER NOT NULL
        )
        """,
        "CREATE INDEX deal_claims_by_deal ON deal_claims (deal_id)",
    ),
)
#: The tables each migration creates; a database at user_version N has those of 1..N.
_MIGRATION_TABLES: Final = (
    frozenset({"partners", "activities", "outbox"}),
    frozenset({"scores"}),
    frozenset({"programs", "memberships", "tier_history"}),
    frozenset({"deals", "deal_claims"}),
)

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


def _micros(moment: datetime) -> int:
    """Whole microseconds since 1970-01-01 UTC: the sortable ``occurred_at`` column."""
    return (moment - _EPOCH) // _MICROSECOND


# -- documents ------------------------------------------------------------------
#
# Bulk writes spend most of their Python time turning records into JSON. Partners
# and activities are therefore written by the hand-made encoders below, which
# produce exactly the text ``json.dumps(serialization.to_dict(record))`` does (a
# test holds them to that for every shape the hypothesis strategies draw) in about
# half the time. They take only the shapes they know: any other type, a
# subclass, a model whose fields changed or a newer schema version goes through
# partnerkit.serialization itself.


class _UnusualShapeError(Exception):
    """A value the hand-made encoders leave to `partnerkit.serialization`."""


def _fields(cls: type[Any]) -> tuple[str, ...]:
    return tuple(field.name for field in attrs.fields(cls))


# The encoders below know these fields; if a model gains or loses one, they step aside.
_KNOWN_SHAPES: Final = (
    _fields(Partner)
    == (
        "id",
        "name",
        "type",
        "country",
        "created_at",
        "status",
        "region",
        "domains",
        "owner_id",
        "parent_id",
        "contacts",
        "custom_fields",
        "joined_on",
        "onboarding",
        "history",
        "updated_at",
        "version",
    )
    and _fields(Contact) == ("name", "email", "role", "primary")
    and _fields(OnboardingStep)
    == ("key", "title", "due_on", "required", "owner", "completed_at", "completed_by")
    and _fields(StatusChange) == ("action", "from_status", "to_status", "actor", "at", "reason")
    and _fields(Activity)
    == ("id", "partner_id", "kind", "occurred_at", "value", "attributes", "expires_on")
)


def _text(value: object) -> str:
    if isinstance(value, str):
        return encode_basestring_ascii(value)
    raise _UnusualShapeError


def _optional_text(value: object) -> str:
    return "null" if value is None else _text(value)


def _flag(value: object) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    raise _UnusualShapeError


def _instant(value: object) -> str:
    if type(value) is datetime:
        return f'"{value.isoformat()}"'
    raise _UnusualShapeError


def _optional_instant(value: object) -> str:
    return "null" if value is None else _instant(value)


def _day(value: object) -> str:
    if type(value) is date:
        return f'"{value.isoformat()}"'
    raise _UnusualShapeError


def _optional_day(value: object) -> str:
    return "null" if value is None else _day(value)


def _member(value: object, cls: type[enum.StrEnum]) -> str:
    # A StrEnum member is the text of its value, as json.dumps writes it.
    if type(value) is cls:
        return encode_basestring_ascii(value)
    raise _UnusualShapeError


def _scalar(value: object) -> str:
    if isinstance(value, str):
        return encode_basestring_ascii(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if type(value) is int:
        return repr(value)
    raise _UnusualShapeError


def _custom_value(value: object) -> str:
    kind = type(value)
    if kind is Decimal:
        return f'{{"decimal": "{value:f}"}}'
    if kind is date:
        return f'{{"date": "{value.isoformat()}"}}'  # type: ignore[attr-defined]
    return _scalar(value)


def _step(step: object) -> str:
    if type(step) is not OnboardingStep:
        raise _UnusualShapeError
    return (
        f'{{"key": {_text(step.key)}, "title": {_text(step.title)}, '
        f'"due_on": {_day(step.due_on)}, "required": {_flag(step.required)}, '
        f'"owner": {_member(step.owner, StepOwner)}, '
        f'"completed_at": {_optional_instant(step.completed_at)}, '
        f'"completed_by": {_optional_text(step.completed_by)}}}'
    )


def _change(change: object) -> str:
    if type(change) is not StatusChange:
        raise _UnusualShapeError
    return (
        f'{{"action": {_member(change.action, PartnerAction)}, '
        f'"from_status": {_member(change.from_status, PartnerStatus)}, '
        f'"to_status": {_member(change.to_status, PartnerStatus)}, '
        f'"actor": {_text(change.actor)}, "at": {_instant(change.at)}, '
        f'"reason": {_text(change.reason)}}}'
    )


def _partner_document(partner: Partner) -> str:
    if type(partner) is not Partner or not _KNOWN_SHAPES or schema_version(Partner) != 1:
        return _model_document(partner)
    # Partner.__attrs_post_init__ has checked the types of every field but
    # joined_on, onboarding and history, so those alone go through the checking
    # helpers; anything else unexpected makes encode_basestring_ascii raise.
    esc = encode_basestring_ascii
    p = partner
    try:
        contacts = p.contacts
        if any(type(contact) is not Contact for contact in contacts):
            raise _UnusualShapeError
        people = ", ".join(
            [
                f'{{"name": {esc(c.name)}, "email": {esc(c.email)}, "role": {esc(c.role)}, '
                f'"primary": {"true" if c.primary else "false"}}}'
                for c in contacts
            ]
        )
        fields = p.custom_fields
        custom = ", ".join([f"{esc(key)}: {_custom_value(fields[key])}" for key in fields])
        steps = ", ".join([_step(step) for step in p.onboarding]) if p.onboarding else ""
        moves = ", ".join([_change(move) for move in p.history]) if p.history else ""
        updated = p.updated_at  # set to created_at when not given
        if updated is None:
            raise _UnusualShapeError
        return (
            f'{{"id": {esc(p.id)}, "name": {esc(p.name)}, "type": {esc(p.type)}, '
            f'"country": {esc(p.country)}, "created_at": "{datetime.isoformat(p.created_at)}", '
            f'"status": {esc(p.status)}, "region": {esc(p.region)}, '
            f'"domains": [{", ".join(map(esc, p.domains))}], '
            f'"owner_id": {"null" if p.owner_id is None else esc(p.owner_id)}, '
            f'"parent_id": {"null" if p.parent_id is None else esc(p.parent_id)}, '
            f'"contacts": [{people}], "custom_fields": {{{custom}}}, '
            f'"joined_on": {_optional_day(p.joined_on)}, '
            f'"onboarding": [{steps}], "history": [{moves}], '
            f'"updated_at": "{datetime.isoformat(updated)}", "version": {p.version:d}, '
            f'"schema_version": 1}}'
        )
    except (_UnusualShapeError, TypeError, AttributeError, ValueError):
        return _model_document(partner)


def _activity_document(activity: Activity) -> str:
    if type(activity) is not Activity or not _KNOWN_SHAPES or schema_version(Activity) != 1:
        return _model_document(activity)
    # Activity.__attrs_post_init__ has checked the type of every field.
    esc = encode_basestring_ascii
    a = activity
    value = a.value
    try:
        if value is None:
            amount = "null"
        elif type(value) is Money:
            amount = f'{{"amount": "{value.amount:f}", "currency": {esc(value.currency)}}}'
        elif type(value) is Decimal:
            amount = f'"{value:f}"'
        else:
            raise _UnusualShapeError
        details = a.attributes
        attributes = ", ".join([f"{esc(key)}: {_scalar(details[key])}" for key in details])
        expires = a.expires_on
        return (
            f'{{"id": {esc(a.id)}, "partner_id": {esc(a.partner_id)}, "kind": {esc(a.kind)}, '
            f'"occurred_at": "{datetime.isoformat(a.occurred_at)}", "value": {amount}, '
            f'"attributes": {{{attributes}}}, '
            f'"expires_on": {"null" if expires is None else _day(expires)}, '
            f'"schema_version": 1}}'
        )
    except (_UnusualShapeError, TypeError, AttributeError, ValueError):
        return _model_document(activity)


def _model_document(model: object) -> str:
    """``to_json(model)``, with every non-ASCII character escaped.

    Stored documents are pure ASCII: a lone surrogate, which Python text may hold,
    cannot be encoded as UTF-8 for SQLite, but it can be escaped.
    """
    return json.dumps(to_dict(model))


_ActivityRow = tuple[str, str, str, int, str]
#: id, version, json
_ProgramRow = tuple[str, int, str]
#: program_id, partner_id, status, tier_id, version, json
_MembershipRow = tuple[str, str, str, str | None, int, str]
#: program_id, partner_id, valid_from and valid_until in microseconds, json
_AssignmentRow = tuple[str, str, int, int | None, str]
#: id, partner_id, status, protection_until in microseconds, version, json
_DealRow = tuple[str, str, str, int | None, int, str]
#: A staged registration: the version it was based on (0 for new), the
#: registration, the customer keys it will hold, and its row.
_StagedDeal = tuple[int, DealRegistration, tuple[str, ...], _DealRow]
_PartnerRow = tuple[str, str, str, str | None, str | None, str, int, str]
#: partner_id, model (as stored, see `_storable`), as_of in microseconds, band, json
_ScoreRow = tuple[str, str, int, str | None, str]
#: Staged scores: (partner id, model name) -> as_of in microseconds -> score and
#: row, so that a unit of work that reads and adds the scores of many partners finds
#: each one's directly.
_StagedScores = dict[tuple[str, str], dict[int, tuple[HealthScore, _ScoreRow]]]


def _activity_row(activity: Activity) -> _ActivityRow:
    return (
        activity.id,
        activity.partner_id,
        str(activity.kind),
        _micros(activity.occurred_at),
        _activity_document(activity),
    )


def _storable(text: str) -> str:
    """``text`` as SQLite can hold it: itself, or, holding a lone surrogate, its JSON.

    Free text in a column (a model's name) may hold a lone surrogate, which cannot
    be encoded as UTF-8; such text is stored (and looked up) as its ASCII JSON
    string, quotes included, which no encodable name is also stored as.
    """
    return text if _bindable(text) else json.dumps(text)


def _unstorable(text: str) -> str:
    """The text `_storable` stored as ``text``."""
    if text.startswith('"'):
        with contextlib.suppress(ValueError):
            decoded = json.loads(text)
            if isinstance(decoded, str):
                return decoded
    return text


def _score_row(score: HealthScore) -> _ScoreRow:
    return (
        score.partner_id,
        _storable(score.model),
        _micros(score.as_of),
        score.band,
        _model_document(score),
    )


def _partner_row(partner: Partner) -> _PartnerRow:
    return (
        partner.id,
        str(partner.status),
        str(partner.type),
        partner.owner_id,
        partner.parent_id,
        partner.country,
        partner.version,
        _partner_document(partner),
    )


_PARTNER_FIELDS: Final = _fields(Partner)


def _with_version(partner: Partner, version: int) -> Partner:
    """``partner`` at ``version``.

    attrs.evolve would validate every field again; only the version changes, and a
    partner that exists is valid, so the fields are copied as they are.
    """
    stored = object.__new__(type(partner))
    for name in _PARTNER_FIELDS:
        object.__setattr__(stored, name, getattr(partner, name))
    object.__setattr__(stored, "version", version)
    return stored


def _bindable(value: object) -> bool:
    """Whether ``value`` is text SQLite can hold (so it could match a stored value)."""
    if not isinstance(value, str):
        return False
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def _chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _placeholders(count: int) -> str:
    return ",".join("?" * count)


def _stored_activities(db: sqlite3.Connection, ids: Sequence[str]) -> dict[str, str]:
    """The stored JSON of those of ``ids`` (at most `_CHUNK`) that are in the ledger."""
    sql = f"SELECT id, json FROM activities WHERE id IN ({_placeholders(len(ids))})"  # noqa: S608 - only placeholders are formatted in
    return dict(db.execute(sql, ids))


def _activity_conflict(activity_id: str) -> ConflictError:
    return ConflictError(
        "activity",
        activity_id,
        f"activity {activity_id!r} is already in the ledger with different content; "
        f"activities never change: record a correcting activity with a new id",
    )


def _partner_conflict(partner_id: str) -> ConflictError:
    return AlreadyExistsError(
        "partner", partner_id, f"a partner with id {partner_id!r} already exists"
    )


_TABLE_KINDS: Final = {
    "partners": "partner",
    "activities": "activity",
    "outbox": "event",
    "scores": "score",
    "programs": "program",
    "memberships": "membership",
    "tier_history": "tier assignment",
    "deals": "deal registration",
    "deal_claims": "deal claim",
}


class SqliteStorage:
    """A partnerkit store in an SQLite database file, safe across threads and processes.

    Example::

        storage = SqliteStorage("partners.db")
        with storage.unit_of_work() as uow:
            uow.partners.add(partner)
            uow.commit()
        storage.close()

    Opening a file creates partnerkit's tables, or upgrades them, inside one
    transaction. A file database runs in WAL mode, so readers never wait for the
    writer, with ``synchronous=FULL``: `SqliteUnitOfWork.commit` promises
    durability, and FULL keeps a commit through a power cut, not only through a
    crash of the process (WAL with NORMAL may lose the last commits then, and an
    event already delivered from the outbox would describe a change the database
    forgot). It costs one fsync of the WAL per commit, not per row.

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
        if (
            isinstance(busy_timeout, bool)
            or not isinstance(busy_timeout, (int, float))
            or not 0 <= busy_timeout < float("inf")
        ):
            raise ValidationError.single(
                "busy_timeout", f"expected a number of seconds, 0 or more, got {busy_timeout!r}"
            )
        self._path = location
        self._busy_timeout = float(busy_timeout)
        self._clock = clock or SystemClock()
        self._ids = ids or IdGenerator(self._clock)
        self._memory = location == ":memory:"
        self._closed = False
        self._local = threading.local()
        self._links: weakref.WeakSet[_Link] = weakref.WeakSet()
        self._links_lock = threading.Lock()
        # Held around every use of the connection in ":memory:" mode, where all
        # threads share one; file mode needs none (one connection per thread).
        self._memory_lock = threading.RLock()
        self._shared: sqlite3.Connection | None = None
        try:
            connection = self._connection()
            if not self._memory:
                self._run("opening the database", _enable_wal, connection)
            self._migrate(connection)
        except BaseException:
            self.close()
            raise

    def __repr__(self) -> str:
        return f"SqliteStorage({self._path!r})"

    @property
    def path(self) -> str:
        """The database file, or ``":memory:"``."""
        return self._path

    def unit_of_work(self) -> SqliteUnitOfWork:
        """A new unit of work on this store."""
        self._check_open()
        return SqliteUnitOfWork(self)

    def pending_events(self, *, limit: int = 100) -> list[EventRecord]:
        """Committed events not yet marked delivered, oldest first.

        Raises:
            ValidationError: For a ``limit`` outside 1..10000.
        """
        size = check_limit(limit, _MAX_EVENT_PAGE)
        rows = self._read(
            "reading the outbox",
            lambda db: db.execute(
                "SELECT id, json FROM outbox ORDER BY seq LIMIT ?", (size,)
            ).fetchall(),
        )
        return [_decode(EventRecord, "event", event_id, text) for event_id, text in rows]

    def mark_delivered(self, event_ids: Iterable[str]) -> None:
        """Remove delivered events from the outbox; unknown ids are ignored."""
        self._check_open()
        wanted = list(dict.fromkeys(i for i in event_ids if _bindable(i)))
        if not wanted:
            return

        def delete(db: sqlite3.Connection) -> None:
            for chunk in _chunks(wanted):
                db.execute(
                    f"DELETE FROM outbox WHERE id IN ({_placeholders(len(chunk))})",  # noqa: S608 - only placeholders are formatted in
                    chunk,
                )

        self._write("marking events delivered", delete)

    def close(self) -> None:
        """Close every connection; using the store afterwards raises `StorageError`."""
        with self._memory_lock:
            self._closed = True
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

    # -- connections and transactions -------------------------------------------

    def _guard(self) -> AbstractContextManager[object]:
        """The lock every use of the shared ``":memory:"`` connection holds."""
        return self._memory_lock if self._memory else _NO_LOCK

    def _check_open(self) -> None:
        if self._closed:
            raise StorageError(f"this SqliteStorage ({self._path}) is closed; open a new one")

    def _open(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self._path,
            timeout=self._busy_timeout,
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

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use."""
        if self._memory:
            if self._shared is None:
                self._check_open()
                self._shared = self._run("opening the database", lambda _: self._open(), None)
            return self._shared
        link: _Link | None = getattr(self._local, "link", None)
        if link is None or link.pid != os.getpid():
            self._check_open()
            link = _Link(self._run("opening the database", lambda _: self._open(), None))
            self._local.link = link
            with self._links_lock:
                self._links.add(link)
                _LINKS.add(link)
        return link.connection

    def _run(
        self,
        operation: str,
        work: Callable[[Any], T],
        argument: Any,
    ) -> T:
        """``work(argument)``, with ``sqlite3`` errors translated."""
        try:
            return work(argument)
        except sqlite3.Error as error:
            raise self._translate(error, operation) from error

    def _fetchone(self, operation: str, sql: str, params: tuple[object, ...]) -> Any:
        """The first row of one query (or ``None``): the lean path for point reads."""
        if self._closed:
            self._check_open()
        if self._memory:
            return self._read(operation, lambda db: db.execute(sql, params).fetchone())
        try:
            return self._connection().execute(sql, params).fetchone()
        except sqlite3.Error as error:
            raise self._translate(error, operation) from error

    def _read(self, operation: str, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work`` on this thread's connection, outside any transaction."""
        self._check_open()
        with self._guard():
            try:
                return work(self._connection())
            except sqlite3.Error as error:
                raise self._translate(error, operation) from error

    def _write(self, operation: str, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work`` in one ``BEGIN IMMEDIATE ... COMMIT``; all of it or none.

        ``work`` may raise a partnerkit error to roll back. When the database stays
        locked past the busy timeout, the whole transaction is tried again a few
        times, backing off in between, before `StorageBusyError` is raised.
        """
        for attempt in range(_ATTEMPTS):
            self._check_open()
            with self._guard():
                try:
                    db = self._connection()
                    db.execute("BEGIN IMMEDIATE")
                    try:
                        result = work(db)
                        db.execute("COMMIT")
                    except BaseException:
                        _rollback(db)
                        raise
                    return result
                except sqlite3.Error as error:
                    translated = self._translate(error, operation)
                    if not isinstance(translated, StorageBusyError) or attempt + 1 == _ATTEMPTS:
                        raise translated from error
            # Random jitter keeps two writers that collided from colliding again.
            time.sleep(_BACKOFF_SECONDS * (2**attempt) * (0.5 + random.random()))  # noqa: S311 - jitter, not security
        raise AssertionError("unreachable")  # pragma: no cover

    def _translate(self, error: sqlite3.Error, operation: str) -> PartnerkitError:
        """The partnerkit error for a ``sqlite3`` error raised while doing ``operation``."""
        message = str(error)
        code = getattr(error, "sqlite_errorcode", None)
        primary = code & 0xFF if isinstance(code, int) else None
        where = f"{self._path}"
        if self._closed or "closed database" in message:
            return StorageError(f"this SqliteStorage ({where}) is closed; open a new one")
        if primary in (_SQLITE_BUSY, _SQLITE_LOCKED) or (primary is None and "locked" in message):
            return StorageBusyError(
                f"{where} stayed locked by another writer for more than "
                f"busy_timeout={self._busy_timeout:g}s while {operation}; nothing was "
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

    # -- schema -----------------------------------------------------------------

    def _migrate(self, connection: sqlite3.Connection) -> None:
        """Create or upgrade partnerkit's tables, or refuse a database that is not ours."""
        with self._guard():
            current = self._run("reading the schema version", self._check_schema, connection)
        if current == len(_MIGRATIONS):
            return

        def upgrade(db: sqlite3.Connection) -> None:
            # Read again under the write lock: another process may have upgraded
            # the file since the check above.
            for number in range(self._check_schema(db) + 1, len(_MIGRATIONS) + 1):
                for statement in _MIGRATIONS[number - 1]:
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {number}")

        self._write("creating partnerkit's tables", upgrade)

    def _check_schema(self, db: sqlite3.Connection) -> int:
        (version,) = db.execute("PRAGMA user_version").fetchone()
        (application,) = db.execute("PRAGMA application_id").fetchone()
        names = [
            name
            for (name,) in db.execute(
                "SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite%' ORDER BY name"
            )
        ]
        known = len(_MIGRATIONS)
        if application not in (0, _APPLICATION_ID) or (version and application == 0):
            raise StorageSchemaError(
                f"{self._path} belongs to another application (application_id "
                f"{application}, user_version {version}); give SqliteStorage a new file, "
                f"or a database partnerkit created"
            )
        if version > known:
            raise StorageSchemaError(
                f"{self._path} has partnerkit schema version {version}, written by a newer "
                f"partnerkit; this release ({__version__}) knows versions up to {known}: "
                f"upgrade partnerkit to open it"
            )
        if version == 0 and names:
            shown = ", ".join(names[:10]) + (", ..." if len(names) > 10 else "")
            raise StorageSchemaError(
                f"{self._path} already holds tables that are not partnerkit's ({shown}); "
                f"give SqliteStorage a new file, or a database partnerkit created"
            )
        expected = frozenset().union(*_MIGRATION_TABLES[:version])
        if version and not set(names) >= expected:
            missing = ", ".join(sorted(expected - set(names)))
            raise StorageSchemaError(
                f"{self._path} is marked as partnerkit schema version {version} but has no "
                f"{missing} table; it was changed outside partnerkit: restore it from a backup"
            )
        return int(version)


# File mode needs no lock in the process: each thread has its own connection.
_NO_LOCK: Final = contextlib.nullcontext()


def _enable_wal(db: sqlite3.Connection) -> None:
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


def _decode(cls: type[T], kind: str, key: str, text: str) -> T:
    try:
        return from_json(cls, text)
    except ValidationError as error:
        raise StorageError(
            f"the stored {kind} {key!r} cannot be read ({error}); the database was "
            f"changed outside partnerkit or by a newer release: restore it or upgrade"
        ) from None


class SqliteUnitOfWork:
    """A unit of work on a `SqliteStorage`; see `partnerkit.storage.UnitOfWork`.

    Writes are staged in memory and reach the database only in `commit`, which
    holds SQLite's write lock just for as long as it takes to write them. Reads see
    the work's own staged writes over the latest committed state.
    """

    def __init__(self, storage: SqliteStorage) -> None:
        self._storage = storage
        # partner id -> (version the write was based on, 0 for new; partner; row)
        self.staged_partners: dict[str, tuple[int, Partner, _PartnerRow]] = {}
        self.staged_activities: dict[str, tuple[Activity, _ActivityRow]] = {}
        self.staged_scores: _StagedScores = {}
        # program id -> (version the write was based on, 0 for new; program; row)
        self.staged_programs: dict[str, tuple[int, StoredProgram, _ProgramRow]] = {}
        # (program id, partner id) -> (version based on, 0 for new; membership; row)
        self.staged_memberships: dict[tuple[str, str], tuple[int, Membership, _MembershipRow]] = {}
        # (program id, partner id, valid_from in microseconds) -> (assignment, row)
        self.staged_assignments: dict[
            tuple[str, str, int], tuple[TierAssignment, _AssignmentRow]
        ] = {}
        # deal id -> (version based on, 0 for new; registration; its keys; row)
        self.staged_deals: dict[str, _StagedDeal] = {}
        self.staged_events: list[Event] = []
        self._events: tuple[EventRecord, ...] = ()
        # Typed as the protocols (whose attributes are settable, hence invariant) so
        # that SqliteStorage type-checks as a Storage.
        self.partners: PartnerRepository = _Partners(self)
        self.activities: ActivityLedger = _Activities(self)
        self.scores: ScoreRepository = _Scores(self)
        self.programs: ProgramRepository = _Programs(self)
        self.memberships: MembershipRepository = _Memberships(self)
        self.tier_history: TierHistoryRepository = _TierHistory(self)
        self.deals: DealRepository = _Deals(self)

    def __enter__(self) -> SqliteUnitOfWork:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.rollback()

    def commit(self) -> None:
        """Write everything staged in one transaction, or nothing.

        On a `ConflictError` (a stale version, a taken id) the staged work is
        discarded, as it could never succeed; on a `StorageError` (such as
        `StorageBusyError`) nothing was written and the staged work is kept, so
        ``commit()`` may simply be called again.

        Raises:
            StaleVersionError: If a partner, program, membership or deal
                registration changed since it was read.
            ConflictError: If an added record's id was taken meanwhile, a
                different score was stored under an added score's key, a tier
                assignment was stored meanwhile that the saved one may not replace,
                or an approved registration needs a customer key another
                registration holds.
            StorageError: If the database failed; nothing was written.
        """
        if not (
            self.staged_partners
            or self.staged_activities
            or self.staged_scores
            or self.staged_programs
            or self.staged_memberships
            or self.staged_assignments
            or self.staged_deals
            or self.staged_events
        ):
            self._storage._check_open()
            self._events = ()
            return
        try:
            self._events = self._storage._write("committing a unit of work", self._apply)
        except StorageError:
            raise
        except BaseException:
            self.rollback()
            raise
        self.rollback()

    def rollback(self) -> None:
        """Discard everything staged."""
        self.staged_partners = {}
        self.staged_activities = {}
        self.staged_scores = {}
        self.staged_programs = {}
        self.staged_memberships = {}
        self.staged_assignments = {}
        self.staged_deals = {}
        self.staged_events = []

    def publish(self, *events: Event) -> None:
        """Queue events for the outbox; they are recorded only if the work commits."""
        for event in events:
            if not isinstance(event, Event):
                raise ValidationError.single(
                    "events", f"expected partnerkit Event objects, got {type(event).__name__}"
                )
        self.staged_events.extend(events)

    @property
    def events(self) -> tuple[EventRecord, ...]:
        """The events the last commit recorded."""
        return self._events

    def _apply(self, db: sqlite3.Connection) -> tuple[EventRecord, ...]:
        """Write the staged work inside the commit's transaction (which holds the lock)."""
        self._write_partners(db)
        self._write_activities(db)
        self._write_scores(db)
        self._write_programs(db)
        self._write_memberships(db)
        self._write_assignments(db)
        self._write_deals(db)
        if not self.staged_events:
            return ()
        now = self._storage._clock.now()
        records = tuple(
            EventRecord(self._storage._ids("evt"), event, now) for event in self.staged_events
        )
        stamp = _micros(now)
        db.executemany(
            "INSERT INTO outbox (id, recorded_at, json) VALUES (?, ?, ?)",
            [(record.id, stamp, _model_document(record)) for record in records],
        )
        return records

    def _write_partners(self, db: sqlite3.Connection) -> None:
        # In staged order, so the first problem reported is the one the memory
        # adapter would report; runs of new partners go in one executemany.
        adds: list[_PartnerRow] = []
        for based_on, _, row in self.staged_partners.values():
            if based_on == 0:
                adds.append(row)
                continue
            _insert_partners(db, adds)
            adds = []
            cursor = db.execute(
                "UPDATE partners SET status = ?, type = ?, owner_id = ?, parent_id = ?, "
                "country = ?, version = ?, json = ? WHERE id = ? AND version = ?",
                (*row[1:], row[0], based_on),
            )
            if cursor.rowcount != 1:
                found = db.execute("SELECT version FROM partners WHERE id = ?", (row[0],))
                stored = found.fetchone()
                raise StaleVersionError(
                    "partner", row[0], based_on, None if stored is None else stored[0]
                )
        _insert_partners(db, adds)

    def _write_activities(self, db: sqlite3.Connection) -> None:
        staged = self.staged_activities
        if not staged:
            return
        cursor = db.executemany(
            "INSERT INTO activities (id, partner_id, kind, occurred_at, json) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
            [row for _, row in staged.values()],
        )
        if cursor.rowcount == len(staged):
            return
        # Some ids were committed by another unit of work since they were staged:
        # identical content is a harmless retry, anything else is a conflict.
        ids = list(staged)
        for chunk in _chunks(ids):
            stored = _stored_activities(db, chunk)
            for activity_id in chunk:
                activity, row = staged[activity_id]
                text = stored.get(activity_id)
                if text is None:
                    raise StorageError(
                        f"activity {activity_id!r} was not written to {self._storage._path} "
                        f"and is not there; nothing was written: check the database"
                    )
                if text != row[4] and _decode(Activity, "activity", activity_id, text) != activity:
                    raise _activity_conflict(activity_id)

    def _write_scores(self, db: sqlite3.Connection) -> None:
        staged = [pair for series in self.staged_scores.values() for pair in series.values()]
        if not staged:
            return
        cursor = db.executemany(
            "INSERT INTO scores (partner_id, model, as_of, band, json) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (model, partner_id, as_of) DO NOTHING",
            [row for _, row in staged],
        )
        if cursor.rowcount == len(staged):
            return
        # Some keys were committed by another unit of work since they were staged:
        # an identical score is a harmless retry, anything else is a conflict.
        for score, row in staged:
            text = _stored_score(db, row)
            if text is None:
                raise StorageError(
                    f"the {score.model!r} score of partner {score.partner_id!r} as of "
                    f"{score.as_of.isoformat()} was not written to {self._storage._path} and is "
                    f"not there; nothing was written: check the database"
                )
            if text != row[4] and _decode_score(row, text) != score:
                raise score_conflict(score)

    def _write_programs(self, db: sqlite3.Connection) -> None:
        for based_on, _, row in self.staged_programs.values():
            if based_on == 0:
                cursor = db.execute(
                    "INSERT INTO programs (id, version, json) VALUES (?, ?, ?) "
                    "ON CONFLICT (id) DO NOTHING",
                    row,
                )
                if cursor.rowcount != 1:
                    raise program_conflict(row[0])
                continue
            cursor = db.execute(
                "UPDATE programs SET version = ?, json = ? WHERE id = ? AND version = ?",
                (row[1], row[2], row[0], based_on),
            )
            if cursor.rowcount != 1:
                found = db.execute("SELECT version FROM programs WHERE id = ?", (row[0],))
                stored = found.fetchone()
                raise StaleVersionError(
                    "program", row[0], based_on, None if stored is None else stored[0]
                )

    def _write_memberships(self, db: sqlite3.Connection) -> None:
        for based_on, _, row in self.staged_memberships.values():
            if based_on == 0:
                cursor = db.execute(
                    "INSERT INTO memberships "
                    "(program_id, partner_id, status, tier_id, version, json) "
                    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (program_id, partner_id) DO NOTHING",
                    row,
                )
                if cursor.rowcount != 1:
                    raise membership_conflict(row[0], row[1])
                continue
            cursor = db.execute(
                "UPDATE memberships SET status = ?, tier_id = ?, version = ?, json = ? "
                "WHERE program_id = ? AND partner_id = ? AND version = ?",
                (*row[2:], row[0], row[1], based_on),
            )
            if cursor.rowcount != 1:
                found = db.execute(
                    "SELECT version FROM memberships WHERE program_id = ? AND partner_id = ?",
                    row[:2],
                )
                stored = found.fetchone()
                raise StaleVersionError(
                    "membership",
                    membership_key(row[0], row[1]),
                    based_on,
                    None if stored is None else stored[0],
                )

    def _write_assignments(self, db: sqlite3.Connection) -> None:
        for assignment, row in self.staged_assignments.values():
            cursor = db.execute(
                "INSERT INTO tier_history "
                "(program_id, partner_id, valid_from, valid_until, json) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (program_id, partner_id, valid_from) DO NOTHING",
                row,
            )
            if cursor.rowcount == 1:
                continue
            # Stored meanwhile, or staged to close a stored open stretch: identical
            # content is a retry, closing an open one is allowed, anything else not.
            text = _stored_assignment(db, row)
            if text is None:
                raise StorageError(
                    f"tier assignment {assignment_key(assignment)!r} was not written to "
                    f"{self._storage._path} and is not there; nothing was written: check "
                    f"the database"
                )
            if text == row[4]:
                continue
            stored = _decode(TierAssignment, "tier assignment", assignment_key(assignment), text)
            if stored == assignment:
                continue
            if not closes(stored, assignment):
                raise assignment_conflict(assignment)
            db.execute(
                "UPDATE tier_history SET valid_until = ?, json = ? "
                "WHERE program_id = ? AND partner_id = ? AND valid_from = ? "
                "AND valid_until IS NULL",
                (row[3], row[4], *row[:3]),
            )

    def _write_deals(self, db: sqlite3.Connection) -> None:
        staged = self.staged_deals
        if not staged:
            return
        for based_on, _, _, row in staged.values():
            if based_on == 0:
                cursor = db.execute(
                    "INSERT INTO deals (id, partner_id, status, protection_until, version, json) "
                    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                    row,
                )
                if cursor.rowcount != 1:
                    raise deal_conflict(row[0])
                continue
            cursor = db.execute(
                "UPDATE deals SET partner_id = ?, status = ?, protection_until = ?, "
                "version = ?, json = ? WHERE id = ? AND version = ?",
                (*row[1:], row[0], based_on),
            )
            if cursor.rowcount != 1:
                found = db.execute("SELECT version FROM deals WHERE id = ?", (row[0],))
                stored = found.fetchone()
                raise StaleVersionError(
                    DEAL, row[0], based_on, None if stored is None else stored[0]
                )
        # Release every saved registration's claims, then take the ones each holds
        # now. The primary key on the customer key refuses a key held by another
        # registration, committed or saved earlier in this transaction, and the
        # whole transaction rolls back.
        db.executemany(
            "DELETE FROM deal_claims WHERE deal_id = ?", [(deal_id,) for deal_id in staged]
        )
        for deal_id, (_, _, keys, _) in staged.items():
            for key in keys:
                cursor = db.execute(
                    "INSERT INTO deal_claims (key, deal_id, key_version) VALUES (?, ?, ?) "
                    "ON CONFLICT (key) DO NOTHING",
                    (_storable(key), deal_id, CUSTOMER_KEY_VERSION),
                )
                if cursor.rowcount != 1:
                    holder = db.execute(
                        "SELECT deal_id FROM deal_claims WHERE key = ?", (_storable(key),)
                    ).fetchone()
                    raise claim_conflict(deal_id, key, "?" if holder is None else str(holder[0]))


def _deal_row(registration: DealRegistration) -> _DealRow:
    until = registration.protection_until
    return (
        registration.id,
        registration.partner_id,
        str(registration.status),
        None if until is None else _micros(until),
        registration.version,
        _model_document(registration),
    )


def _stored_assignment(db: sqlite3.Connection, row: _AssignmentRow) -> str | None:
    """The stored JSON under ``row``'s key, or ``None``."""
    found = db.execute(
        "SELECT json FROM tier_history WHERE program_id = ? AND partner_id = ? AND valid_from = ?",
        row[:3],
    ).fetchone()
    return None if found is None else str(found[0])


def _program_row(stored: StoredProgram) -> _ProgramRow:
    return (stored.program.id, stored.version, _model_document(stored.program))


def _membership_row(membership: Membership) -> _MembershipRow:
    return (
        membership.program_id,
        membership.partner_id,
        str(membership.status),
        membership.tier_id,
        membership.version,
        _model_document(membership),
    )


def _assignment_row(assignment: TierAssignment) -> _AssignmentRow:
    until = assignment.valid_until
    return (
        assignment.program_id,
        assignment.partner_id,
        _micros(assignment.valid_from),
        None if until is None else _micros(until),
        _model_document(assignment),
    )


def _stored_score(db: sqlite3.Connection, row: _ScoreRow) -> str | None:
    """The stored JSON under ``row``'s key, or ``None``."""
    found = db.execute(
        "SELECT json FROM scores WHERE model = ? AND partner_id = ? AND as_of = ?",
        (row[1], row[0], row[2]),
    ).fetchone()
    return None if found is None else str(found[0])


def _decode_score(row: tuple[str, str, int, Any, Any], text: str) -> HealthScore:
    key = f"{row[0]}|{row[1]}|{(_EPOCH + row[2] * _MICROSECOND).isoformat()}"
    return _decode(HealthScore, "score", key, text)


def _insert_partners(db: sqlite3.Connection, rows: list[_PartnerRow]) -> None:
    if not rows:
        return
    before = db.total_changes
    try:
        db.executemany(
            "INSERT INTO partners (id, status, type, owner_id, parent_id, country, version, json) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    except sqlite3.IntegrityError as error:
        # executemany stops at the first taken id, after inserting the rows before
        # it: the number of rows inserted is the index of the culprit. (The
        # counter is a C int, hence the modulo.)
        inserted = (db.total_changes - before) % 2**32
        if "UNIQUE" in str(error) and inserted < len(rows):
            raise _partner_conflict(rows[inserted][0]) from None
        raise


class _Partners:
    """The partner repository of one `SqliteUnitOfWork`."""

    def __init__(self, work: SqliteUnitOfWork) -> None:
        self._work = work
        self._store = work._storage

    def _stored_version(self, partner_id: str) -> int | None:
        if not _bindable(partner_id):
            return None
        row = self._store._fetchone(
            "reading a partner", "SELECT version FROM partners WHERE id = ?", (partner_id,)
        )
        return None if row is None else int(row[0])

    def _is_stored(self, partner_id: str) -> bool:
        # The primary key index alone answers this, without reading the row.
        return _bindable(partner_id) and bool(
            self._store._fetchone(
                "reading a partner", "SELECT 1 FROM partners WHERE id = ?", (partner_id,)
            )
        )

    def get(self, partner_id: str) -> Partner:
        """The partner with ``partner_id``; see `PartnerRepository.get`."""
        staged = self._work.staged_partners.get(partner_id)
        if staged is not None:
            return staged[1]
        if not _bindable(partner_id):
            raise NotFoundError("partner", partner_id)
        row = self._store._fetchone(
            "reading a partner", "SELECT json FROM partners WHERE id = ?", (partner_id,)
        )
        if row is None:
            raise NotFoundError("partner", partner_id)
        return _decode(Partner, "partner", partner_id, row[0])

    def add(self, partner: Partner) -> Partner:
        """Stage a new partner; see `PartnerRepository.add`."""
        if not isinstance(partner, Partner):
            raise ValidationError.single("partner", "expected a Partner")
        if partner.version != 0:
            raise ValidationError.single(
                "version", "add() takes a new partner (version 0); use update() to change one"
            )
        if partner.id in self._work.staged_partners or self._is_stored(partner.id):
            raise _partner_conflict(partner.id)
        stored = _with_version(partner, 1)
        self._work.staged_partners[partner.id] = (0, stored, _partner_row(stored))
        return stored

    def update(self, partner: Partner) -> Partner:
        """Stage a change to a stored partner; see `PartnerRepository.update`."""
        if not isinstance(partner, Partner):
            raise ValidationError.single("partner", "expected a Partner")
        staged = self._work.staged_partners.get(partner.id)
        current = staged[1].version if staged is not None else self._stored_version(partner.id)
        if current is None or current != partner.version:
            raise StaleVersionError("partner", partner.id, partner.version, current)
        stored = _with_version(partner, partner.version + 1)
        based_on = staged[0] if staged is not None else partner.version
        self._work.staged_partners[partner.id] = (based_on, stored, _partner_row(stored))
        return stored

    def query(
        self,
        *,
        status: PartnerStatus | None = None,
        type: str | None = None,  # noqa: A002 - the domain word
        owner_id: str | None = None,
        parent_id: str | None = None,
        country: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[Partner]:
        """Partners matching every filter, by id; see `PartnerRepository.query`."""
        size = check_limit(limit, _MAX_PARTNER_PAGE)
        after = decode_cursor("partners", cursor)
        wanted = {
            "status": status,
            "type": type,
            "owner_id": owner_id,
            "parent_id": parent_id,
            "country": country,
        }
        filters = [(name, value) for name, value in wanted.items() if value is not None]
        staged = {
            partner_id: partner
            for partner_id, (_, partner, _) in self._work.staged_partners.items()
            if after is None or partner_id > after
        }
        # Stored values are all text; anything else matches no stored partner.
        searchable = all(_bindable(value) for _, value in filters)
        clauses = [f"{name} = ?" for name, _ in filters]
        params: list[object] = [str(value) for _, value in filters]
        if after is not None:
            clauses.append("id > ?")
            params.append(after)
        sql = (
            f"SELECT id, json FROM partners WHERE {' AND '.join(clauses) or '1'} "  # noqa: S608 - column names come from the fixed list above
            f"ORDER BY id LIMIT ?"
        )
        committed = (
            _first_unshadowed(
                self._store, "querying partners", sql, params, staged=staged, wanted=size + 1
            )
            if searchable
            else []
        )
        found: list[tuple[str, Partner | str]] = list(committed)
        found += [
            (partner_id, partner)
            for partner_id, partner in staged.items()
            if all(getattr(partner, name) == value for name, value in filters)
        ]
        found.sort(key=lambda pair: pair[0])
        page = [
            item if isinstance(item, Partner) else _decode(Partner, "partner", key, item)
            for key, item in found[:size]
        ]
        more = len(found) > size
        return Page(tuple(page), encode_cursor("partners", page[-1].id) if more else None)


def _first_unshadowed(
    store: SqliteStorage,
    operation: str,
    sql: str,
    params: list[object],
    *,
    staged: dict[str, Any],
    wanted: int,
) -> list[tuple[str, str]]:
    """The first ``wanted`` committed ``(id, json)`` rows whose id is not staged.

    Staged records replace committed ones with the same id, so rows that a staged
    record shadows are skipped, fetching further until enough are found.
    """
    limit = wanted
    while True:
        bound = (*params, limit)

        def fetch(db: sqlite3.Connection, bound: tuple[object, ...] = bound) -> list[Any]:
            return db.execute(sql, bound).fetchall()

        rows: list[tuple[str, str]] = store._read(operation, fetch)
        kept = [row for row in rows if row[0] not in staged]
        if len(kept) >= wanted or len(rows) < limit:
            return kept[:wanted]
        limit += wanted - len(kept)


class _Activities:
    """The activity ledger of one `SqliteUnitOfWork`."""

    def __init__(self, work: SqliteUnitOfWork) -> None:
        self._work = work
        self._store = work._storage

    def _committed(self, ids: Sequence[str]) -> dict[str, str]:
        """The stored JSON of those of ``ids`` already in the ledger."""
        searchable = [i for i in ids if _bindable(i)]
        if not searchable:
            return {}

        def lookup(db: sqlite3.Connection) -> dict[str, str]:
            found: dict[str, str] = {}
            for chunk in _chunks(searchable):
                found.update(_stored_activities(db, chunk))
            return found

        return self._store._read("reading activities", lookup)

    def append(self, activities: Iterable[Activity]) -> AppendResult:
        """Stage activities, skipping identical repeats; see `ActivityLedger.append`."""
        self._store._check_open()
        items = list(activities)
        staged = self._work.staged_activities
        # The first item that is not an Activity is reported only after the items
        # before it were checked, as the memory adapter does.
        bad = next((i for i, item in enumerate(items) if not isinstance(item, Activity)), None)
        checked = items if bad is None else items[:bad]
        committed = self._committed(
            list(dict.fromkeys(a.id for a in checked if a.id not in staged))
        )
        batch: dict[str, Activity] = {}
        duplicates = 0
        for activity in checked:
            known = batch.get(activity.id)
            if known is None:
                staged_pair = staged.get(activity.id)
                if staged_pair is not None:
                    known = staged_pair[0]
                else:
                    text = committed.get(activity.id)
                    if text is not None:
                        known = _decode(Activity, "activity", activity.id, text)
            if known is None:
                batch[activity.id] = activity
            elif known == activity:
                duplicates += 1
            else:
                raise _activity_conflict(activity.id)
        if bad is not None:
            raise ValidationError.single(
                "activities", f"expected Activity objects, got {type(items[bad]).__name__}"
            )
        staged.update(
            (activity_id, (activity, _activity_row(activity)))
            for activity_id, activity in batch.items()
        )
        return AppendResult(added=len(batch), duplicates=duplicates)

    def get(self, activity_id: str) -> Activity:
        """The activity with ``activity_id``; see `ActivityLedger.get`."""
        staged = self._work.staged_activities.get(activity_id)
        if staged is not None:
            return staged[0]
        if not _bindable(activity_id):
            raise NotFoundError("activity", activity_id)
        row = self._store._fetchone(
            "reading an activity", "SELECT json FROM activities WHERE id = ?", (activity_id,)
        )
        if row is None:
            raise NotFoundError("activity", activity_id)
        return _decode(Activity, "activity", activity_id, row[0])

    def _filters(
        self,
        kinds: frozenset[str] | None,
        since: datetime | None,
        until: datetime | None,
    ) -> tuple[list[str], list[object]] | None:
        """SQL conditions and parameters for the filters; ``None`` if nothing can match."""
        clauses: list[str] = []
        params: list[object] = []
        if kinds is not None:
            names = [kind for kind in kinds if _bindable(kind)]
            if not names:
                return None
            clauses.append(f"kind IN ({_placeholders(len(names))})")
            params.extend(sorted(names))
        if since is not None:
            clauses.append("occurred_at >= ?")
            params.append(_micros(since))
        if until is not None:
            clauses.append("occurred_at <= ?")
            params.append(_micros(until))
        return clauses, params

    def for_partner(
        self,
        partner_id: str,
        *,
        kinds: Iterable[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Activity]:
        """A partner's activities by time, then id; see `ActivityLedger.for_partner`."""
        wanted = kind_filter(kinds)
        low, high = time_filter(since, until)
        self._store._check_open()
        filters = self._filters(wanted, low, high) if _bindable(partner_id) else None
        found: dict[str, Activity] = {}
        if filters is not None:
            clauses, params = filters
            sql = (
                "SELECT id, json FROM activities WHERE "  # noqa: S608 - fixed conditions, values are parameters
                + " AND ".join(["partner_id = ?", *clauses])
                + " ORDER BY occurred_at, id"
            )
            rows = self._store._read(
                "reading a partner's activities",
                lambda db: db.execute(sql, (partner_id, *params)).fetchall(),
            )
            found = {key: _decode(Activity, "activity", key, text) for key, text in rows}
        for activity, _ in self._work.staged_activities.values():
            if activity.partner_id == partner_id and activity_matches(activity, wanted, low, high):
                found[activity.id] = activity
        result = list(found.values())
        result.sort(key=lambda activity: (activity.occurred_at, activity.id))
        return result

    def query(
        self,
        *,
        partner_id: str | None = None,
        kinds: Iterable[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 1000,
        cursor: str | None = None,
    ) -> Page[Activity]:
        """Activities matching every filter, by id; see `ActivityLedger.query`."""
        size = check_limit(limit, _MAX_ACTIVITY_PAGE)
        after = decode_cursor("activities", cursor)
        wanted = kind_filter(kinds)
        low, high = time_filter(since, until)
        self._store._check_open()
        staged = {
            activity_id: activity
            for activity_id, (activity, _) in self._work.staged_activities.items()
            if after is None or activity_id > after
        }
        filters = self._filters(wanted, low, high)
        committed: list[tuple[str, str]] = []
        if filters is not None and (partner_id is None or _bindable(partner_id)):
            clauses, params = filters
            if partner_id is not None:
                clauses.insert(0, "partner_id = ?")
                params.insert(0, partner_id)
            if after is not None:
                clauses.append("id > ?")
                params.append(after)
            sql = (
                f"SELECT id, json FROM activities WHERE {' AND '.join(clauses) or '1'} "  # noqa: S608 - fixed conditions, values are parameters
                f"ORDER BY id LIMIT ?"
            )
            committed = _first_unshadowed(
                self._store, "querying activities", sql, params, staged=staged, wanted=size + 1
            )
        found: list[tuple[str, Activity | str]] = list(committed)
        found += [
            (activity_id, activity)
            for activity_id, activity in staged.items()
            if (partner_id is None or activity.partner_id == partner_id)
            and activity_matches(activity, wanted, low, high)
        ]
        found.sort(key=lambda pair: pair[0])
        page = [
            item if isinstance(item, Activity) else _decode(Activity, "activity", key, item)
            for key, item in found[:size]
        ]
        more = len(found) > size
        return Page(tuple(page), encode_cursor("activities", page[-1].id) if more else None)


class _Scores:
    """The score history of one `SqliteUnitOfWork`."""

    def __init__(self, work: SqliteUnitOfWork) -> None:
        self._work = work
        self._store = work._storage

    def add(self, score: HealthScore) -> None:
        """Stage a score, skipping an identical one; see `ScoreRepository.add`."""
        if not isinstance(score, HealthScore):
            raise ValidationError.single(
                "score", f"expected a HealthScore, got {type(score).__name__}"
            )
        self._store._check_open()
        row = _score_row(score)
        pair = (score.partner_id, score.model)
        staged = self._work.staged_scores.get(pair, {}).get(row[2])
        if staged is not None:
            if staged[0] != score:
                raise score_conflict(score)
            return
        text = self._store._read("reading a score", lambda db: _stored_score(db, row))
        if text is None:
            self._work.staged_scores.setdefault(pair, {})[row[2]] = (score, row)
        elif text != row[4] and _decode_score(row, text) != score:
            raise score_conflict(score)

    def _staged(self, partner_id: str, model: str) -> list[tuple[int, HealthScore]]:
        series = self._work.staged_scores.get((partner_id, model))
        return [] if series is None else [(moment, pair[0]) for moment, pair in series.items()]

    def latest(
        self, partner_id: str, *, model: str, before: datetime | None = None
    ) -> HealthScore | None:
        """The latest score at or before ``before``; see `ScoreRepository.latest`."""
        name = check_model_name(model)
        limit = None if before is None else _micros(to_utc(before, "before"))
        self._store._check_open()
        found: tuple[int, HealthScore | str] | None = None
        if _bindable(partner_id):
            bound = "" if limit is None else " AND as_of <= ?"
            sql = (
                "SELECT as_of, json FROM scores WHERE model = ? AND partner_id = ?"  # noqa: S608 - a fixed condition, values are parameters
                + bound
                + " ORDER BY as_of DESC LIMIT 1"
            )
            params: tuple[object, ...] = (_storable(name), partner_id)
            if limit is not None:
                params += (limit,)
            row = self._store._fetchone("reading a partner's latest score", sql, params)
            found = None if row is None else (int(row[0]), str(row[1]))
        for moment, score in self._staged(partner_id, name):
            # A staged score wins a tie: it is the same key, committed meanwhile.
            if (limit is None or moment <= limit) and (found is None or moment >= found[0]):
                found = (moment, score)
        if found is None:
            return None
        moment, item = found
        if isinstance(item, HealthScore):
            return item
        return _decode_score((partner_id, name, moment, None, None), item)

    def history(
        self,
        partner_id: str,
        *,
        model: str,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[HealthScore]:
        """A partner's scores by as_of; see `ScoreRepository.history`."""
        name = check_model_name(model)
        low, high = time_filter(since, until)
        first = None if low is None else _micros(low)
        last = None if high is None else _micros(high)
        self._store._check_open()
        found: dict[int, HealthScore] = {}
        if _bindable(partner_id):
            clauses = ["model = ?", "partner_id = ?"]
            params: list[object] = [_storable(name), partner_id]
            if first is not None:
                clauses.append("as_of >= ?")
                params.append(first)
            if last is not None:
                clauses.append("as_of <= ?")
                params.append(last)
            sql = (
                f"SELECT as_of, json FROM scores WHERE {' AND '.join(clauses)} "  # noqa: S608 - fixed conditions, values are parameters
                f"ORDER BY as_of"
            )
            rows = self._store._read(
                "reading a partner's scores", lambda db: db.execute(sql, params).fetchall()
            )
            found = {
                moment: _decode_score((partner_id, name, moment, None, None), text)
                for moment, text in rows
            }
        for moment, score in self._staged(partner_id, name):
            if (first is None or moment >= first) and (last is None or moment <= last):
                found[moment] = score
        return [found[moment] for moment in sorted(found)]

    def query(
        self,
        *,
        model: str,
        as_of: datetime | None = None,
        band: str | None = None,
        limit: int = 1000,
        cursor: str | None = None,
    ) -> Page[HealthScore]:
        """One score per partner, by partner id; see `ScoreRepository.query`."""
        size = check_limit(limit, _MAX_SCORE_PAGE)
        after = decode_cursor("scores", cursor)
        name = check_model_name(model)
        at = None if as_of is None else _micros(to_utc(as_of, "as_of"))
        self._store._check_open()
        # partner id -> the score this unit of work staged that the query would pick
        staged: dict[str, tuple[int, HealthScore]] = {}
        for (partner_id, model_name), series in self._work.staged_scores.items():
            if model_name != name or not series or (after is not None and partner_id <= after):
                continue
            moment = max(series) if at is None else at
            if moment in series:
                staged[partner_id] = (moment, series[moment][0])
        # Staged partners are answered here, in order, until one more than a page
        # matched (later ones cannot be on this page); their committed rows are
        # skipped below.
        picked: list[tuple[str, HealthScore | str]] = []
        for partner_id in sorted(staged):
            moment, score = staged[partner_id]
            chosen: HealthScore | str = score
            shown = score.band
            if at is None:
                stored = self._latest_row(partner_id, name)
                if stored is not None and stored[0] > moment:
                    chosen, shown = stored[2], stored[1]
            if band is None or shown == band:
                picked.append((partner_id, chosen))
                if len(picked) > size:
                    break
        if band is None or _bindable(band):
            clauses = ["model = ?"]
            params: list[object] = [_storable(name)]
            if at is None:
                # Each partner's latest row: the key's index finds the maximum.
                clauses.append(
                    "as_of = (SELECT max(as_of) FROM scores AS later "
                    "WHERE later.model = scores.model AND later.partner_id = scores.partner_id)"
                )
            else:
                clauses.append("as_of = ?")
                params.append(at)
            if after is not None:
                clauses.append("partner_id > ?")
                params.append(after)
            if band is not None:
                clauses.append("band = ?")
                params.append(band)
            sql = (
                f"SELECT partner_id, json FROM scores WHERE {' AND '.join(clauses)} "  # noqa: S608 - fixed conditions, values are parameters
                f"ORDER BY partner_id LIMIT ?"
            )
            picked += _first_unshadowed(
                self._store, "querying scores", sql, params, staged=staged, wanted=size + 1
            )
        picked.sort(key=lambda pair: pair[0])
        page = [
            item
            if isinstance(item, HealthScore)
            else _decode(HealthScore, "score", f"{key}|{name}", item)
            for key, item in picked[:size]
        ]
        more = len(picked) > size
        return Page(tuple(page), encode_cursor("scores", page[-1].partner_id) if more else None)

    def _latest_row(self, partner_id: str, model: str) -> tuple[int, str | None, str] | None:
        """The partner's latest committed score from ``model``: as_of, band, json."""
        row = self._store._fetchone(
            "reading a partner's latest score",
            "SELECT as_of, band, json FROM scores WHERE model = ? AND partner_id = ? "
            "ORDER BY as_of DESC LIMIT 1",
            (_storable(model), partner_id),
        )
        return None if row is None else (int(row[0]), row[1], str(row[2]))


class _Programs:
    """The program repository of one `SqliteUnitOfWork`."""

    def __init__(self, work: SqliteUnitOfWork) -> None:
        self._work = work
        self._store = work._storage

    def _stored(self, program_id: str) -> tuple[int, str] | None:
        if not _bindable(program_id):
            self._store._check_open()
            return None
        row = self._store._fetchone(
            "reading a program", "SELECT version, json FROM programs WHERE id = ?", (program_id,)
        )
        return None if row is None else (int(row[0]), str(row[1]))

    def get(self, program_id: str) -> StoredProgram:
        """The program and its version; see `ProgramRepository.get`."""
        staged = self._work.staged_programs.get(program_id)
        if staged is not None:
            return staged[1]
        found = self._stored(program_id)
        if found is None:
            raise NotFoundError("program", program_id)
        return StoredProgram(_decode(Program, "program", program_id, found[1]), found[0])

    def add(self, program: Program) -> StoredProgram:
        """Stage a new program; see `ProgramRepository.add`."""
        check_program(program)
        if program.id in self._work.staged_programs or self._stored(program.id) is not None:
            raise program_conflict(program.id)
        stored = StoredProgram(program, 1)
        self._work.staged_programs[program.id] = (0, stored, _program_row(stored))
        return stored

    def update(self, program: Program, *, version: int) -> StoredProgram:
        """Stage a change to a stored program; see `ProgramRepository.update`."""
        check_program(program)
        check_version(version)
        staged = self._work.staged_programs.get(program.id)
        if staged is not None:
            current: int | None = staged[1].version
        else:
            found = self._stored(program.id)
            current = None if found is None else found[0]
        if current is None or current != version:
            raise StaleVersionError("program", program.id, version, current)
        stored = StoredProgram(program, version + 1)
        based_on = staged[0] if staged is not None else version
        self._work.staged_programs[program.id] = (based_on, stored, _program_row(stored))
        return stored

    def query(self, *, limit: int = 100, cursor: str | None = None) -> Page[StoredProgram]:
        """Every program, by id; see `ProgramRepository.query`."""
        size = check_limit(limit, _MAX_PROGRAM_PAGE)
        after = decode_cursor("programs", cursor)
        self._store._check_open()
        staged = {
            program_id: stored
            for program_id, (_, stored, _) in self._work.staged_programs.items()
            if after is None or program_id > after
        }
        params: list[object] = []
        condition = "1"
        if after is not None:
            condition = "id > ?"
            params.append(after)
        sql = f"SELECT id, json, version FROM programs WHERE {condition} ORDER BY id LIMIT ?"  # noqa: S608 - a fixed condition, values are parameters
        rows: list[Any] = _first_unshadowed(
            self._store, "querying programs", sql, params, staged=staged, wanted=size + 1
        )
        found: list[tuple[str, StoredProgram | tuple[str, int]]] = [
            (row[0], (row[1], int(row[2]))) for row in rows
        ]
        found += list(staged.items())
        found.sort(key=lambda pair: pair[0])
        page = [
            item
            if isinstance(item, StoredProgram)
            else StoredProgram(_decode(Program, "program", key, item[0]), item[1])
            for key, item in found[:size]
        ]
        more = len(found) > size
        return Page(tuple(page), encode_cursor("programs", page[-1].program.id) if more else None)


class _Memberships:
    """The membership repository of one `SqliteUnitOfWork`."""

    def __init__(self, work: SqliteUnitOfWork) -> None:
        self._work = work
        self._store = work._storage

    def _stored(self, program_id: str, partner_id: str, column: str) -> Any:
        if not (_bindable(program_id) and _bindable(partner_id)):
            self._store._check_open()
            return None
        row = self._store._fetchone(
            "reading a membership",
            f"SELECT {column} FROM memberships WHERE program_id = ? AND partner_id = ?",  # noqa: S608 - the column is one of two fixed names
            (program_id, partner_id),
        )
        return None if row is None else row[0]

    def get(self, program_id: str, partner_id: str) -> Membership:
        """The membership; see `MembershipRepository.get`."""
        staged = self._work.staged_memberships.get((program_id, partner_id))
        if staged is not None:
            return staged[1]
        key = membership_key(program_id, partner_id)
        text = self._stored(program_id, partner_id, "json")
        if text is None:
            raise NotFoundError("membership", key)
        return _decode(Membership, "membership", key, str(text))

    def add(self, membership: Membership) -> Membership:
        """Stage a new membership; see `MembershipRepository.add`."""
        check_membership(membership, new=True)
        key = (membership.program_id, membership.partner_id)
        if key in self._work.staged_memberships or self._stored(*key, "1") is not None:
            raise membership_conflict(*key)
        stored = attrs.evolve(membership, version=1)
        self._work.staged_memberships[key] = (0, stored, _membership_row(stored))
        return stored

    def update(self, membership: Membership) -> Membership:
        """Stage a change to a stored membership; see `MembershipRepository.update`."""
        check_membership(membership)
        key = (membership.program_id, membership.partner_id)
        staged = self._work.staged_memberships.get(key)
        if staged is not None:
            current: int | None = staged[1].version
        else:
            found = self._stored(*key, "version")
            current = None if found is None else int(found)
        if current is None or current != membership.version:
            raise StaleVersionError("membership", membership_key(*key), membership.version, current)
        stored = attrs.evolve(membership, version=membership.version + 1)
        based_on = staged[0] if staged is not None else membership.version
        self._work.staged_memberships[key] = (based_on, stored, _membership_row(stored))
        return stored

    def query(
        self,
        *,
        program_id: str,
        status: MembershipStatus | None = None,
        tier_id: str | None = None,
        limit: int = 1000,
        cursor: str | None = None,
    ) -> Page[Membership]:
        """A program's memberships, by partner id; see `MembershipRepository.query`."""
        size = check_limit(limit, _MAX_MEMBERSHIP_PAGE)
        after = decode_cursor("memberships", cursor)
        self._store._check_open()
        staged = {
            partner_id: membership
            for (program, partner_id), (_, membership, _) in self._work.staged_memberships.items()
            if program == program_id and (after is None or partner_id > after)
        }
        filters = [("status", status), ("tier_id", tier_id)]
        wanted = [(name, value) for name, value in filters if value is not None]
        # Stored values are all text; anything else matches no stored membership.
        searchable = _bindable(program_id) and all(_bindable(value) for _, value in wanted)
        clauses = ["program_id = ?", *(f"{name} = ?" for name, _ in wanted)]
        params: list[object] = [program_id, *(str(value) for _, value in wanted)]
        if after is not None:
            clauses.append("partner_id > ?")
            params.append(after)
        sql = (
            f"SELECT partner_id, json FROM memberships WHERE {' AND '.join(clauses)} "  # noqa: S608 - column names come from the fixed list above
            f"ORDER BY partner_id LIMIT ?"
        )
        committed = (
            _first_unshadowed(
                self._store, "querying memberships", sql, params, staged=staged, wanted=size + 1
            )
            if searchable
            else []
        )
        found: list[tuple[str, Membership | str]] = list(committed)
        found += [
            (partner_id, membership)
            for partner_id, membership in staged.items()
            if all(getattr(membership, name) == value for name, value in wanted)
        ]
        found.sort(key=lambda pair: pair[0])
        page = [
            item
            if isinstance(item, Membership)
            else _decode(Membership, "membership", membership_key(program_id, key), item)
            for key, item in found[:size]
        ]
        more = len(found) > size
        return Page(
            tuple(page), encode_cursor("memberships", page[-1].partner_id) if more else None
        )

    def for_partner(self, partner_id: str) -> list[Membership]:
        """A partner's memberships, by program; see `MembershipRepository.for_partner`."""
        self._store._check_open()
        found: dict[str, Membership] = {}
        if _bindable(partner_id):
            rows = self._store._read(
                "reading a partner's memberships",
                lambda db: db.execute(
                    "SELECT program_id, json FROM memberships WHERE partner_id = ?",
                    (partner_id,),
                ).fetchall(),
            )
            found = {
                program_id: _decode(
                    Membership, "membership", membership_key(program_id, partner_id), text
                )
                for program_id, text in rows
            }
        for (program_id, member), (_, membership, _) in self._work.staged_memberships.items():
            if member == partner_id:
                found[program_id] = membership
        return [found[program_id] for program_id in sorted(found)]


class _TierHistory:
    """The tier history of one `SqliteUnitOfWork`."""

    def __init__(self, work: SqliteUnitOfWork) -> None:
        self._work = work
        self._store = work._storage

    def save(self, assignment: TierAssignment) -> None:
        """Stage an assignment or its closing; see `TierHistoryRepository.save`."""
        check_assignment(assignment)
        self._store._check_open()
        row = _assignment_row(assignment)
        key = row[:3]
        staged = self._work.staged_assignments.get(key)
        known: TierAssignment | None = None
        if staged is not None:
            known = staged[0]
        elif _bindable(row[0]) and _bindable(row[1]):
            text = self._store._read(
                "reading a tier assignment", lambda db: _stored_assignment(db, row)
            )
            if text == row[4]:
                return
            if text is not None:
                known = _decode(TierAssignment, "tier assignment", assignment_key(assignment), text)
        if known is None or closes(known, assignment):
            self._work.staged_assignments[key] = (assignment, row)
        elif known != assignment:
            raise assignment_conflict(assignment)

    def _staged(self, program_id: str, partner_id: str) -> dict[int, TierAssignment]:
        return {
            moment: assignment
            for (program, partner, moment), (assignment, _) in self._work.staged_assignments.items()
            if program == program_id and partner == partner_id
        }

    def _rows(self, program_id: str, partner_id: str, sql: str, params: tuple[object, ...]) -> Any:
        if not (_bindable(program_id) and _bindable(partner_id)):
            return []
        return self._store._read(
            "reading a partner's tier history", lambda db: db.execute(sql, params).fetchall()
        )

    def _decoded(self, program_id: str, partner_id: str, moment: int, text: str) -> TierAssignment:
        start = (_EPOCH + moment * _MICROSECOND).isoformat()
        key = f"{program_id}/{partner_id}/{start}"
        return _decode(TierAssignment, "tier assignment", key, text)

    def for_partner(self, program_id: str, partner_id: str) -> list[TierAssignment]:
        """A partner's history in a program; see `TierHistoryRepository.for_partner`."""
        self._store._check_open()
        rows = self._rows(
            program_id,
            partner_id,
            "SELECT valid_from, json FROM tier_history "
            "WHERE program_id = ? AND partner_id = ? ORDER BY valid_from",
            (program_id, partner_id),
        )
        found = {
            moment: self._decoded(program_id, partner_id, moment, text) for moment, text in rows
        }
        found.update(self._staged(program_id, partner_id))
        return [found[moment] for moment in sorted(found)]

    def at(self, program_id: str, partner_id: str, instant: datetime) -> TierAssignment | None:
        """The assignment covering ``instant``; see `TierHistoryRepository.at`."""
        moment = to_utc(instant, "instant")
        self._store._check_open()
        if self._staged(program_id, partner_id):
            # A staged closing may shadow a stored open stretch: merge, then pick.
            covering = [
                assignment
                for assignment in self.for_partner(program_id, partner_id)
                if assignment.covers(moment)
            ]
            return covering[-1] if covering else None
        micros = _micros(moment)
        rows = self._rows(
            program_id,
            partner_id,
            "SELECT valid_from, json FROM tier_history "
            "WHERE program_id = ? AND partner_id = ? AND valid_from <= ? "
            "AND (valid_until IS NULL OR valid_until > ?) ORDER BY valid_from DESC LIMIT 1",
            (program_id, partner_id, micros, micros),
        )
        if not rows:
            return None
        start, text = rows[0]
        return self._decoded(program_id, partner_id, start, text)


class _Deals:
    """The deal registration repository of one `SqliteUnitOfWork`."""

    def __init__(self, work: SqliteUnitOfWork) -> None:
        self._work = work
        self._store = work._storage

    def _stored_version(self, deal_id: str) -> int | None:
        if not _bindable(deal_id):
            self._store._check_open()
            return None
        row = self._store._fetchone(
            "reading a deal registration", "SELECT version FROM deals WHERE id = ?", (deal_id,)
        )
        return None if row is None else int(row[0])

    def _stage(self, based_on: int, stored: DealRegistration) -> DealRegistration:
        self._work.staged_deals[stored.id] = (
            based_on,
            stored,
            claimed_keys(stored),
            _deal_row(stored),
        )
        return stored

    def get(self, deal_id: str) -> DealRegistration:
        """The registration with ``deal_id``; see `DealRepository.get`."""
        staged = self._work.staged_deals.get(deal_id)
        if staged is not None:
            return staged[1]
        if not _bindable(deal_id):
            self._store._check_open()
            raise NotFoundError(DEAL, deal_id)
        row = self._store._fetchone(
            "reading a deal registration", "SELECT json FROM deals WHERE id = ?", (deal_id,)
        )
        if row is None:
            raise NotFoundError(DEAL, deal_id)
        return _decode(DealRegistration, "deal registration", deal_id, row[0])

    def add(self, registration: DealRegistration) -> DealRegistration:
        """Stage a new registration; see `DealRepository.add`."""
        check_deal(registration, new=True)
        if (
            registration.id in self._work.staged_deals
            or self._stored_version(registration.id) is not None
        ):
            raise deal_conflict(registration.id)
        return self._stage(0, attrs.evolve(registration, version=1))

    def update(self, registration: DealRegistration) -> DealRegistration:
        """Stage a change to a stored registration; see `DealRepository.update`."""
        check_deal(registration)
        staged = self._work.staged_deals.get(registration.id)
        current = staged[1].version if staged is not None else self._stored_version(registration.id)
        if current is None or current != registration.version:
            raise StaleVersionError(DEAL, registration.id, registration.version, current)
        based_on = staged[0] if staged is not None else registration.version
        return self._stage(based_on, attrs.evolve(registration, version=registration.version + 1))

    def _page(
        self,
        *,
        kind: str,
        partner_id: str | None,
        statuses: frozenset[DealStatus] | None,
        limit: int,
        cursor: str | None,
    ) -> Page[DealRegistration]:
        size = check_limit(limit, _MAX_DEAL_PAGE)
        after = decode_cursor(kind, cursor)
        self._store._check_open()
        staged = {
            deal_id: registration
            for deal_id, (_, registration, _, _) in self._work.staged_deals.items()
            if after is None or deal_id > after
        }
        clauses: list[str] = []
        params: list[object] = []
        if partner_id is not None:
            clauses.append("partner_id = ?")
            params.append(partner_id)
        if statuses is not None:
            clauses.append(f"status IN ({_placeholders(len(statuses))})")
            params += sorted(str(status) for status in statuses)
        if after is not None:
            clauses.append("id > ?")
            params.append(after)
        sql = (
            f"SELECT id, json FROM deals WHERE {' AND '.join(clauses) or '1'} "  # noqa: S608 - fixed clauses, values are parameters
            f"ORDER BY id LIMIT ?"
        )
        searchable = all(_bindable(value) for value in params if isinstance(value, str))
        committed = (
            _first_unshadowed(
                self._store,
                "querying deal registrations",
                sql,
                params,
                staged=staged,
                wanted=size + 1,
            )
            if searchable and (statuses is None or statuses)
            else []
        )
        found: list[tuple[str, DealRegistration | str]] = list(committed)
        found += [
            (deal_id, registration)
            for deal_id, registration in staged.items()
            if (partner_id is None or registration.partner_id == partner_id)
            and (statuses is None or registration.status in statuses)
        ]
        found.sort(key=lambda pair: pair[0])
        page = [
            item
            if isinstance(item, DealRegistration)
            else _decode(DealRegistration, "deal registration", key, item)
            for key, item in found[:size]
        ]
        more = len(found) > size
        return Page(tuple(page), encode_cursor(kind, page[-1].id) if more else None)

    def query(
        self,
        *,
        partner_id: str | None = None,
        status: DealStatus | None = None,
        limit: int = 1000,
        cursor: str | None = None,
    ) -> Page[DealRegistration]:
        """Registrations matching every filter, by id; see `DealRepository.query`."""
        statuses: frozenset[DealStatus] | None = None
        if status is not None:
            known = {str(member): member for member in DealStatus}
            chosen = known.get(status) if isinstance(status, str) else None
            statuses = frozenset() if chosen is None else frozenset({chosen})
        return self._page(
            kind="deals", partner_id=partner_id, statuses=statuses, limit=limit, cursor=cursor
        )

    def active(self, *, limit: int = 1000, cursor: str | None = None) -> Page[DealRegistration]:
        """Submitted and approved registrations, by id; see `DealRepository.active`."""
        return self._page(
            kind="active deals",
            partner_id=None,
            statuses=frozenset(ACTIVE_STATUSES),
            limit=limit,
            cursor=cursor,
        )

    def _protected(
        self, after: datetime | None, until: datetime, limit: int
    ) -> list[DealRegistration]:
        size = check_limit(limit, _MAX_DEAL_PAGE)
        self._store._check_open()
        staged = {
            deal_id: registration
            for deal_id, (_, registration, _, _) in self._work.staged_deals.items()
        }
        clauses = ["status = ?", "protection_until <= ?"]
        params: list[object] = [str(DealStatus.APPROVED), _micros(until)]
        if after is not None:
            clauses.append("protection_until > ?")
            params.append(_micros(after))
        sql = (
            f"SELECT id, json FROM deals WHERE {' AND '.join(clauses)} "  # noqa: S608 - fixed clauses, values are parameters
            f"ORDER BY protection_until, id LIMIT ?"
        )
        rows = _first_unshadowed(
            self._store, "reading protection windows", sql, params, staged=staged, wanted=size
        )
        found = [_decode(DealRegistration, "deal registration", key, text) for key, text in rows]
        found += [
            registration
            for registration in staged.values()
            if registration.status is DealStatus.APPROVED
            and registration.protection_until is not None
            and registration.protection_until <= until
            and (after is None or registration.protection_until > after)
        ]
        found.sort(key=lambda r: (r.protection_until, r.id))
        return found[:size]

    def due_to_expire(self, as_of: datetime, *, limit: int = 1000) -> list[DealRegistration]:
        """Approved registrations whose protection ended; see `DealRepository.due_to_expire`."""
        return self._protected(None, to_utc(as_of, "as_of"), limit)

    def expiring_within(
        self, as_of: datetime, until: datetime, *, limit: int = 1000
    ) -> list[DealRegistration]:
        """Protection ending in ``(as_of, until]``; see `DealRepository.expiring_within`."""
        return self._protected(to_utc(as_of, "as_of"), to_utc(until, "until"), limit)

    def claims_for(self, deal_id: str) -> tuple[str, ...]:
        """The customer keys ``deal_id`` holds; see `DealRepository.claims_for`."""
        staged = self._work.staged_deals.get(deal_id)
        if staged is not None:
            return staged[2]
        if not _bindable(deal_id):
            self._store._check_open()
            return ()

        def read(db: sqlite3.Connection) -> list[Any]:
            return db.execute(
                "SELECT key FROM deal_claims WHERE deal_id = ? ORDER BY key", (deal_id,)
            ).fetchall()

        rows = self._store._read("reading deal claims", read)
        return tuple(_unstorable(str(row[0])) for row in rows)

    def holder(self, key: str) -> str | None:
        """The registration holding ``key``; see `DealRepository.holder`."""
        staged = self._work.staged_deals
        for deal_id, (_, _, keys, _) in staged.items():
            if key in keys:
                return deal_id
        if not isinstance(key, str):
            self._store._check_open()
            return None
        row = self._store._fetchone(
            "reading deal claims",
            "SELECT deal_id FROM deal_claims WHERE key = ?",
            (_storable(key),),
        )
        found = None if row is None else str(row[0])
        return None if found in staged else found
