"""The staging layer every storage adapter builds on.

A unit of work never writes as it goes. Each repository *stages* its writes in the
unit of work, checked against what is staged and committed (a taken id, a stale
version, an activity id with other content, a score or tier stretch that may not
change), and reads merge the staged records over the committed ones, so the work
sees its own writes and nobody else does. ``commit()`` hands everything staged to
the adapter as one `Commit`, and the adapter does one thing with it, atomically:

1. inside its lock or transaction, call ``commit.check(reads)`` with reads of the
   committed state *as it is inside that lock or transaction*. The check runs every
   rule again against it (versions, ids, idempotent appends, immutable scores, tier
   history that only closes, customer claims judged on the commit's final state),
   raises `StaleVersionError` or `ConflictError` if the commit cannot succeed, and
   otherwise returns the `Changes` to write, the outbox records included;
2. write those changes, and commit.

An adapter therefore supplies committed reads (`CommittedReads`: ``versions``,
``load`` and ``find``) and that one atomic ``write``: a `StorageBackend`. Wrap it in
a `StagedStorage` and it is a complete `partnerkit.storage.Storage`.

How the reads are phrased: every record is of one `Kind` (``kind.name`` is one of
``partners``, ``activities``, ``scores``, ``programs``, ``memberships``,
``tier_history``, ``deals``, ``claims``, ``events``), has a key (``kind.key``), and
is read by key (``versions``, ``load``) or by a `Query`: equality and range
conditions (`Condition`) on the record's fields, an order, a limit, and, for one
query only, "the latest record per group". ``kind.getter(field)`` reads a field
(an attribute of the record; a program's ``id`` is its program's), so a dict-backed
adapter answers any query with ``query.select(records)``, and an SQL adapter maps
each field onto a column of the same name.
"""

from __future__ import annotations

import operator
from datetime import datetime, timedelta
from itertools import islice
from typing import TYPE_CHECKING, Any, Final, Generic, NamedTuple, Protocol, TypeVar

import attrs

from partnerkit._base.events import Event, EventRecord
from partnerkit._base.ids import IdGenerator
from partnerkit._base.time import Clock, SystemClock, to_utc
from partnerkit._base.trusted import evolve_trusted
from partnerkit.deals._domains import registrable_domain
from partnerkit.deals._model import ACTIVE_STATUSES, DealRegistration, DealStatus
from partnerkit.deals._names import normalize_company_name
from partnerkit.errors import (
    AlreadyExistsError,
    ConflictError,
    NotFoundError,
    StaleVersionError,
    StorageError,
    ValidationError,
)
from partnerkit.health import HealthScore, ScoringModel
from partnerkit.ledger import Activity
from partnerkit.partners import Partner
from partnerkit.storage._common import (
    activity_conflict,
    assignment_conflict,
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
    program_conflict,
    score_conflict,
    time_filter,
)
from partnerkit.storage._protocols import AppendResult, Page, StoredModel, StoredProgram
from partnerkit.tiers import Membership, TierAssignment

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
    from types import TracebackType

    from partnerkit.partners import PartnerStatus
    from partnerkit.storage._protocols import (
        ActivityLedger,
        DealRepository,
        MembershipRepository,
        PartnerRepository,
        ProgramRepository,
        ScoreRepository,
        ScoringModelRepository,
        TierHistoryRepository,
        UnitOfWork,
    )
    from partnerkit.tiers import MembershipStatus, Program

__all__ = [
    "ACTIVITIES",
    "CLAIMS",
    "DEALS",
    "DEAL_CHANGES",
    "EVENTS",
    "EVENT_LEASES",
    "MAX_KEYS",
    "MEMBERSHIPS",
    "MODELS",
    "PARTNERS",
    "PROGRAMS",
    "SCORES",
    "TIER_HISTORY",
    "Changes",
    "Claim",
    "Commit",
    "CommittedReads",
    "Condition",
    "DealChange",
    "EventLease",
    "Key",
    "Kind",
    "Query",
    "StagedStorage",
    "StorageBackend",
    "Write",
    "customer_domain",
    "customer_name_key",
    "partner_name_key",
    "search_key",
]

R = TypeVar("R")

#: A record's key: its id, or a tuple of its key fields' values (`Kind.key_fields`).
Key = Any

#: The most keys the layer passes to one ``versions`` or ``load`` call.
MAX_KEYS: Final = 500


class Kind(Generic[R]):
    """One kind of record storage keeps, and how to read its key and fields.

    Attributes:
        name: ``partners``, ``activities``, ``scores``, ``programs``,
            ``memberships``, ``tier_history``, ``deals``, ``claims`` or ``events``;
            an adapter maps it onto a table.
        key_fields: The fields that identify a record, in key order.
        label: How errors name a record of this kind (``"partner"``, ``"deal"``).
        noun: How messages name it (``"deal registration"``).
        versioned: Whether records carry a ``version`` that updates check.
        partition: Fields a unit of work groups its staged records by, so that a
            query naming them all looks at one group (a partner's scores from one
            model) instead of every staged record.
    """

    __slots__ = (
        "_computed",
        "_getters",
        "_key",
        "_paths",
        "_separator",
        "key_fields",
        "label",
        "name",
        "noun",
        "partition",
        "versioned",
    )

    def __init__(
        self,
        name: str,
        key_fields: tuple[str, ...],
        label: str,
        *,
        noun: str | None = None,
        versioned: bool = False,
        partition: tuple[str, ...] = (),
        separator: str = "/",
        paths: Mapping[str, str] | None = None,
        computed: Mapping[str, Callable[[R], Any]] | None = None,
    ) -> None:
        self.name = name
        self.key_fields = key_fields
        self.label = label
        self.noun = noun or label
        self.versioned = versioned
        self.partition = partition
        self._separator = separator
        # Where a field is found when it is not an attribute of the record itself.
        self._paths = dict(paths or {})
        # Fields derived from the record (a normalised name): adapters store them
        # as columns of the same name, written from the same function.
        self._computed = dict(computed or {})
        self._getters: dict[tuple[str, ...], Callable[[R], Any]] = {}
        self._key: Callable[[R], Key] = self.getter(*key_fields)

    def __repr__(self) -> str:
        return f"Kind({self.name!r})"

    def getter(self, *fields: str) -> Callable[[R], Any]:
        """A function reading ``field`` of a record (for most fields, the attribute).

        Given several fields, it reads a tuple of them.
        """
        found = self._getters.get(fields)
        if found is None:
            if any(field in self._computed for field in fields):
                parts = [self._one(field) for field in fields]
                if len(parts) == 1:
                    found = parts[0]
                else:
                    found = lambda record: tuple(part(record) for part in parts)  # noqa: E731
            else:
                paths = (self._paths.get(field, field) for field in fields)
                found = operator.attrgetter(*paths)
            self._getters[fields] = found
        return found

    def _one(self, field: str) -> Callable[[R], Any]:
        computed = self._computed.get(field)
        return computed or operator.attrgetter(self._paths.get(field, field))

    @property
    def computed(self) -> tuple[str, ...]:
        """The fields computed from a record rather than read from it (``name_key``)."""
        return tuple(self._computed)

    def key(self, record: R) -> Key:
        """The key of ``record``: its one key field, or a tuple of them."""
        return self._key(record)

    def text(self, key: Key) -> str:
        """``key`` as errors and messages show it (``"prg_1/ptn_1"``)."""
        if not isinstance(key, tuple):
            return str(key)
        parts = [part.isoformat() if hasattr(part, "isoformat") else str(part) for part in key]
        return self._separator.join(parts)


def partner_name_key(partner: Partner) -> str:
    """A partner's name as name search compares it: the deal desk's normalisation."""
    return normalize_company_name(partner.name)


def customer_name_key(registration: DealRegistration) -> str:
    """A registration's customer name as customer search compares it."""
    return normalize_company_name(registration.customer.name)


def customer_domain(registration: DealRegistration) -> str | None:
    """The registrable domain of a registration's customer website, if it has one."""
    domain = registration.customer.domain
    return None if domain is None else registrable_domain(domain)


PARTNERS: Final = Kind[Partner](
    "partners",
    ("id",),
    "partner",
    versioned=True,
    computed={"name_key": partner_name_key},
)
ACTIVITIES: Final = Kind[Activity]("activities", ("id",), "activity")
SCORES: Final = Kind[HealthScore](
    "scores",
    ("partner_id", "model", "as_of"),
    "score",
    partition=("partner_id", "model"),
    separator="|",
)
PROGRAMS: Final = Kind[StoredProgram](
    "programs", ("id",), "program", versioned=True, paths={"id": "program.id"}
)
MEMBERSHIPS: Final = Kind[Membership](
    "memberships",
    ("program_id", "partner_id"),
    "membership",
    versioned=True,
    partition=("program_id",),
)
TIER_HISTORY: Final = Kind[TierAssignment](
    "tier_history",
    ("program_id", "partner_id", "valid_from"),
    "tier assignment",
    partition=("program_id", "partner_id"),
)
DEALS: Final = Kind[DealRegistration](
    "deals",
    ("id",),
    "deal",
    noun="deal registration",
    versioned=True,
    computed={"customer_name_key": customer_name_key, "customer_domain": customer_domain},
)
MODELS: Final = Kind[StoredModel](
    "models",
    ("name", "version"),
    "scoring model",
    paths={"name": "model.name"},
    separator=" v",
)


@attrs.frozen
class Claim:
    """A customer key held by an approved deal registration (a record of kind ``claims``).

    Attributes:
        key: One of `partnerkit.deals.customer_keys` of the registration.
        deal_id: The registration holding it.
    """

    key: str
    deal_id: str


CLAIMS: Final = Kind[Claim]("claims", ("key",), "deal claim")


@attrs.frozen
class DealChange:
    """The latest committed change of one deal registration (kind ``deal_changes``).

    Every commit that writes registrations numbers each of them with the next
    value of one store-wide sequence, so that a process can follow the
    registrations every process commits: those with ``seq`` above the last it saw.

    Attributes:
        deal_id: The registration changed.
        seq: Its place in the store's sequence of deal changes (1, 2, ...).
    """

    deal_id: str
    seq: int


DEAL_CHANGES: Final = Kind[DealChange]("deal_changes", ("deal_id",), "deal change")
EVENTS: Final = Kind[EventRecord]("events", ("id",), "event")


@attrs.frozen
class EventLease:
    """An outbox event leased to one deliverer until an instant (kind ``event_leases``).

    Attributes:
        event_id: The leased event.
        owner: Who holds it (an `partnerkit.events.EventBus`'s owner name).
        leased_until: When the lease lapses and another deliverer may take it.
    """

    event_id: str
    owner: str
    leased_until: datetime


EVENT_LEASES: Final = Kind[EventLease]("event_leases", ("event_id",), "event lease")
#: The order commits write their changes in, kind by kind.
_WRITE_ORDER: Final = (
    PARTNERS,
    ACTIVITIES,
    SCORES,
    PROGRAMS,
    MEMBERSHIPS,
    TIER_HISTORY,
    DEALS,
    MODELS,
)
_EXISTS: Final[dict[str, Callable[[Any], ConflictError]]] = {
    "partners": lambda key: AlreadyExistsError(
        "partner", key, f"a partner with id {key!r} already exists"
    ),
    "programs": program_conflict,
    "memberships": lambda key: membership_conflict(*key),
    "deals": deal_conflict,
}


_OPERATORS: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "=": operator.eq,
    "in": lambda actual, values: actual in values,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "contains": lambda actual, value: value in actual,
}


class Condition(NamedTuple):
    """One test a `Query` puts to a field: ``field op value``.

    ``op`` is ``=``, ``in`` (``value`` is a set), ``<``, ``<=``, ``>``, ``>=``,
    ``contains`` (the field's text holds ``value``, a non-empty string, as a
    substring; SQL: ``instr(field, value) > 0``) or ``any``: ``value`` is a tuple
    of conditions of which at least one holds (SQL: ``(a OR b)``), and ``field``
    is ``""`` (build one with `Condition.either`). ``value`` is never ``None``,
    and a record whose field is ``None`` fails every condition on it, as in SQL.
    Datetimes compare as instants.
    """

    field: str
    op: str
    value: Any

    @classmethod
    def either(cls, *conditions: Condition) -> Condition:
        """A condition holding when any of ``conditions`` holds."""
        return cls("", "any", tuple(conditions))


def _predicate(kind: Kind[R], conditions: tuple[Condition, ...]) -> Callable[[R], bool]:
    tests = [_test(kind, condition) for condition in conditions]

    def holds(record: R) -> bool:
        return all(test(record) for test in tests)

    return holds


def _test(kind: Kind[R], condition: Condition) -> Callable[[R], bool]:
    if condition.op == "any":
        options = [_test(kind, option) for option in condition.value]
        return lambda record: any(option(record) for option in options)
    get, compare, value = kind.getter(condition.field), _OPERATORS[condition.op], condition.value

    def holds(record: R) -> bool:
        actual = get(record)
        return actual is not None and compare(actual, value)

    return holds


class Query(NamedTuple, Generic[R]):
    """A read of committed records of one kind: which, in what order, how many.

    The records wanted are those matching every condition in ``where``; with
    ``latest`` set to ``(group, by)``, only the one with the greatest ``by`` of each
    distinct ``group`` is kept, and then those matching ``having``. They come
    ordered by the ``order`` fields (ascending, or all descending), at most
    ``limit`` of them. An empty ``order`` (the outbox) is the order the records
    were written in. `select` is this definition, over records in memory.

    Attributes:
        kind: The kind of record.
        where: Conditions every record matches.
        order: Fields to order by; the last one makes the order total.
        descending: Order from the greatest down.
        limit: At most this many records (``None``: all).
        latest: ``(group, by)``: keep the greatest ``by`` per ``group`` value.
        having: Conditions on the records ``latest`` kept.
        purpose: What the read is for, for error messages ("querying partners").
    """

    kind: Kind[R]
    where: tuple[Condition, ...] = ()
    order: tuple[str, ...] = ()
    descending: bool = False
    limit: int | None = None
    latest: tuple[str, str] | None = None
    having: tuple[Condition, ...] = ()
    purpose: str = "reading records"

    def get(self, field: str, op: str = "=") -> Any:
        """The value of the ``where`` condition ``field op ...``, or ``None``.

        Adapters use it to pick an index: ``query.get("partner_id")``.
        """
        for condition in self.where:
            if condition.field == field and condition.op == op:
                return condition.value
        return None

    def matches(self, record: R) -> bool:
        """Whether ``record`` meets ``where`` and ``having`` (``latest`` aside)."""
        return _predicate(self.kind, self.where + self.having)(record)

    def sort_key(self) -> Callable[[R], Any]:
        """A sort key for records in ``order``."""
        return self.kind.getter(*self.order)

    def select(self, records: Iterable[R], *, ordered: bool = False) -> list[R]:
        """The records this query asks for, from ``records`` (all of its kind).

        Args:
            records: Every candidate record; others than those asked for are fine.
            ordered: ``records`` already come in this query's order, so the
                selection may stop at ``limit`` (what an index hands out).

        Returns:
            The records asked for, in order, at most ``limit``.
        """
        found: Iterable[R] = filter(_predicate(self.kind, self.where), records)
        if self.latest is not None:
            group, by = (self.kind.getter(field) for field in self.latest)
            best: dict[Any, R] = {}
            for record in found:
                known = best.get(group(record))
                if known is None or by(record) > by(known):
                    best[group(record)] = record
            found, ordered = best.values(), False
        if self.having:
            found = filter(_predicate(self.kind, self.having), found)
        if self.order and not ordered:
            found = sorted(found, key=self.sort_key(), reverse=self.descending)
        return list(found if self.limit is None else islice(found, self.limit))


class Write(NamedTuple, Generic[R]):
    """One record a commit writes.

    Attributes:
        kind: Its kind.
        key: Its key.
        record: The record to store under ``key``.
        expected: What the check found stored: ``0`` for nothing (insert; a
            unique key may refuse it), a version ``n`` for that version of a
            versioned record (replace it; an adapter whose isolation lets another
            writer change it after the check updates ``WHERE version = n`` and
            raises `StaleVersionError` when no row matched), or ``None`` for a
            record the layer checked may be replaced (replace it).
    """

    kind: Kind[R]
    key: Key
    record: R
    expected: int | None


@attrs.frozen
class Changes:
    """What a checked commit writes, in order.

    Attributes:
        writes: Records to store, grouped by kind (partners, activities, scores,
            programs, memberships, tier_history, deals, claims, events); keys are
            distinct within a kind. Events come in recording order.
        deletes: ``(kind, key)`` pairs to remove; a missing key is no error.
            They never share a key with ``writes``, so order does not matter.
    """

    writes: tuple[Write[Any], ...] = ()
    deletes: tuple[tuple[Kind[Any], Key], ...] = ()


class CommittedReads(Protocol):
    """Reads of committed state: what an adapter supplies, outside commits and in them.

    Outside a commit, any committed state will do (the latest is best). Inside
    `StorageBackend.write`, the reads passed to `Commit.check` must see the state
    the write will change: the transaction's own, under its lock.
    """

    def versions(self, kind: Kind[Any], keys: Sequence[Key]) -> Mapping[Key, int]:
        """The stored ``version`` of those of ``keys`` that are stored (versioned kinds).

        At most `MAX_KEYS` keys per call; keys that are not stored are left out.
        """
        ...

    def load(self, kind: Kind[R], keys: Sequence[Key]) -> Mapping[Key, R]:
        """The stored records of those of ``keys`` that are stored, by key.

        At most `MAX_KEYS` keys per call; keys that are not stored are left out.
        """
        ...

    def find(self, query: Query[R]) -> list[R]:
        """The stored records ``query`` asks for; see `Query`."""
        ...


class StorageBackend(CommittedReads, Protocol):
    """What a storage adapter supplies: committed reads and one atomic write.

    Wrap one in `StagedStorage` to get a complete `partnerkit.storage.Storage`.
    """

    def write(self, commit: Commit) -> None:
        """Check ``commit`` against committed state and write it, atomically.

        Inside one lock or transaction: ``changes = commit.check(reads)`` with
        reads of the state inside it, then write every change, then commit. If
        ``check`` raises, write nothing and let the error propagate. Nothing may
        commit in between that the check would have refused: hold a lock that
        serialises writers (``BEGIN IMMEDIATE``, a process lock), or run at
        SERIALIZABLE (retrying the whole ``write`` on a serialization failure), or
        lock what the check reads and let unique keys refuse what it could not
        lock (a claim inserted meanwhile, an id taken meanwhile). Translate driver
        errors into `StorageError` (`StorageBusyError` when retrying may help).
        """
        ...

    def close(self) -> None:
        """Release connections and files."""
        ...


class Commit:
    """What a unit of work hands `StorageBackend.write`: checked, then written.

    Attributes:
        purpose: What the write is for, for error messages ("committing a unit
            of work", "marking events delivered").
        changes: What the last `check` returned (``None`` before any).
    """

    __slots__ = ("_check", "changes", "purpose")

    def __init__(self, purpose: str, check: Callable[[CommittedReads], Changes]) -> None:
        self.purpose = purpose
        self._check = check
        self.changes: Changes | None = None

    def check(self, reads: CommittedReads) -> Changes:
        """Check the commit against ``reads`` and return what to write.

        May be called again (a retried transaction) and reads nothing but ``reads``.

        Raises:
            StaleVersionError: A record changed since the unit of work read it.
            ConflictError: An id was taken meanwhile, an activity, score or tier
                stretch may not change, or a customer key is held by another
                registration.
        """
        self.changes = self._check(reads)
        return self.changes


def _chunks(keys: Sequence[Key]) -> Iterator[Sequence[Key]]:
    for start in range(0, len(keys), MAX_KEYS):
        yield keys[start : start + MAX_KEYS]


def _load(reads: CommittedReads, kind: Kind[R], keys: Sequence[Key]) -> dict[Key, R]:
    found: dict[Key, R] = {}
    for chunk in _chunks(keys):
        found.update(reads.load(kind, chunk))
    return found


class _Stage(Generic[R]):
    """One kind's staged records in a unit of work, with the version each was based on."""

    __slots__ = ("_part", "based_on", "kind", "parts", "records")

    def __init__(self, kind: Kind[R]) -> None:
        self.kind = kind
        self.records: dict[Key, R] = {}
        # Versioned kinds: the stored version the first staged write was based on.
        self.based_on: dict[Key, int] = {}
        # The records again, grouped by the kind's partition fields (one: its value,
        # several: a tuple of them), so that a query naming them looks at one group.
        self.parts: dict[Any, dict[Key, R]] | None = {} if kind.partition else None
        self._part = operator.attrgetter(*kind.partition) if kind.partition else None

    def put(self, key: Key, record: R, based_on: int | None = None) -> None:
        self.records[key] = record
        if based_on is not None:
            self.based_on.setdefault(key, based_on)
        if self._part is not None and self.parts is not None:
            self.parts.setdefault(self._part(record), {})[key] = record

    def put_all(self, records: Mapping[Key, R]) -> None:
        """`put` each of ``records`` (new ones: no version)."""
        if self._part is None:
            self.records.update(records)
        else:
            for key, record in records.items():
                self.put(key, record)

    def clear(self) -> None:
        self.records.clear()
        self.based_on.clear()
        if self.parts is not None:
            self.parts.clear()

    def relevant(self, query: Query[R]) -> Mapping[Key, R]:
        """The staged records ``query`` could match or shadow."""
        if self.parts is not None and self.records:
            values = tuple(query.get(field) for field in self.kind.partition)
            if None not in values:
                return self.parts.get(values if len(values) > 1 else values[0], {})
        return self.records


class _Repository:
    __slots__ = ("_backend", "_work")

    def __init__(self, work: _StagedUnitOfWork) -> None:
        self._work = work
        self._backend = work._storage._backend

    def _find(self, query: Query[R]) -> list[R]:
        """``query`` over committed records, with this unit of work's staged ones merged in."""
        staged = self._work._stages[query.kind.name].relevant(query)
        if not staged:
            return self._backend.find(query)
        match = _predicate(query.kind, query.where + query.having)
        mine = [record for record in staged.values() if match(record)]
        return self._merge(query, self._unshadowed(query, staged, query.kind.key), mine)

    def _unshadowed(
        self, query: Query[R], hidden: Collection[Any], key: Callable[[R], Any]
    ) -> list[R]:
        """The committed records ``query`` finds, but those whose ``key`` is ``hidden``.

        A staged record replaces the committed one with its key, so those rows are
        left out, fetching further until the limit is met or nothing is left.
        """
        wanted = query.limit
        limit = wanted
        while True:
            rows = self._backend.find(query if limit == wanted else query._replace(limit=limit))
            kept = [row for row in rows if key(row) not in hidden]
            if wanted is None or limit is None or len(kept) >= wanted or len(rows) < limit:
                return kept if wanted is None else kept[:wanted]
            limit += wanted - len(kept)

    @staticmethod
    def _merge(query: Query[R], committed: list[R], mine: list[R]) -> list[R]:
        if not mine:
            return committed
        found = sorted(committed + mine, key=query.sort_key(), reverse=query.descending)
        return found if query.limit is None else found[: query.limit]

    def _page(
        self,
        kind: Kind[R],
        *,
        tag: str,
        where: list[Condition],
        field: str,
        limit: int,
        cursor: str | None,
        maximum: int,
    ) -> Page[R]:
        """One page of records ordered by ``field`` (unique within ``where``)."""
        size = check_limit(limit, maximum)
        after = decode_cursor(tag, cursor)
        if after is not None:
            where = [*where, Condition(field, ">", after)]
        purpose = f"querying {kind.name.replace('_', ' ')}"
        query = Query(kind, tuple(where), (field,), limit=size + 1, purpose=purpose)
        return _paged(self._find(query), size, tag, kind.getter(field))


def _paged(found: list[R], size: int, tag: str, field: Callable[[R], Any]) -> Page[R]:
    items = tuple(found[:size])
    return Page(items, encode_cursor(tag, field(items[-1])) if len(found) > size else None)


class _Versioned(_Repository, Generic[R]):
    """Records with a version: taken ids and stale versions refused when staged."""

    __slots__ = ("_stage",)
    _kind: Kind[R]  # each repository's own

    def __init__(self, work: _StagedUnitOfWork) -> None:
        super().__init__(work)
        self._stage: _Stage[R] = work._stages[self._kind.name]

    def _read(self, key: Key) -> R:
        found = self._stage.records.get(key)
        if found is None:
            found = self._backend.load(self._kind, (key,)).get(key)
            if found is None:
                raise NotFoundError(self._kind.label, self._kind.text(key))
        return found

    def _add(self, key: Key, record: R) -> R:
        if key in self._stage.records or self._backend.versions(self._kind, (key,)):
            raise _EXISTS[self._kind.name](key)
        self._stage.put(key, record, 0)
        return record

    def _check(self, key: Key, expected: int) -> None:
        staged = self._stage.records.get(key)
        if staged is not None:
            current: int | None = staged.version  # type: ignore[attr-defined]
        else:
            current = self._backend.versions(self._kind, (key,)).get(key)
        if current != expected:
            raise StaleVersionError(self._kind.label, self._kind.text(key), expected, current)

    def _update(self, key: Key, expected: int, record: R) -> R:
        self._stage.put(key, record, expected)
        return record


class _Partners(_Versioned[Partner]):
    __slots__ = ()
    _kind = PARTNERS

    def get(self, partner_id: str) -> Partner:
        return self._read(partner_id)

    def add(self, partner: Partner) -> Partner:
        if not isinstance(partner, Partner):
            raise ValidationError.single("partner", "expected a Partner")
        if partner.version != 0:
            raise ValidationError.single(
                "version", "add() takes a new partner (version 0); use update() to change one"
            )
        return self._add(partner.id, evolve_trusted(partner, version=1))

    def update(self, partner: Partner) -> Partner:
        if not isinstance(partner, Partner):
            raise ValidationError.single("partner", "expected a Partner")
        self._check(partner.id, partner.version)
        stored = evolve_trusted(partner, version=partner.version + 1)
        return self._update(partner.id, partner.version, stored)

    def query(
        self,
        *,
        status: PartnerStatus | None = None,
        type: str | None = None,  # noqa: A002 - the domain word
        owner_id: str | None = None,
        parent_id: str | None = None,
        country: str | None = None,
        name: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[Partner]:
        filters = {
            "status": status,
            "type": type,
            "owner_id": owner_id,
            "parent_id": parent_id,
            "country": country,
        }
        where = [
            Condition(field, "=", value) for field, value in filters.items() if value is not None
        ]
        if name is not None:
            where.append(Condition("name_key", "contains", search_key("name", name)))
        return self._page(
            PARTNERS,
            tag="partners",
            where=where,
            field="id",
            limit=limit,
            cursor=cursor,
            maximum=1000,
        )


def search_key(field: str, text: object) -> str:
    """``text`` normalised for a name search; refused if nothing is left to match."""
    if not isinstance(text, str):
        raise ValidationError.single(
            field, f"expected text to search for, got {type(text).__name__}"
        )
    found = normalize_company_name(text).strip("& ")
    if not found:
        raise ValidationError.single(
            field, f"{text!r} has no letters or digits to search for; give part of a name"
        )
    return normalize_company_name(text)


def _domain_query(text: str) -> str | None:
    """The registrable domain ``text`` names, if it looks like a host name."""
    if "." not in text or any(char.isspace() for char in text.strip()):
        return None
    try:
        return registrable_domain(text)
    except ValidationError:
        return None


def _time_conditions(field: str, since: datetime | None, until: datetime | None) -> list[Condition]:
    low, high = time_filter(since, until)
    found = [] if low is None else [Condition(field, ">=", low)]
    return found if high is None else [*found, Condition(field, "<=", high)]


class _Activities(_Repository):
    __slots__ = ()

    def append(self, activities: Iterable[Activity]) -> AppendResult:
        items = list(activities)
        stage = self._work._stages["activities"]
        staged = stage.records
        # The first item that is not an Activity is reported once the items before
        # it are checked, as if the batch were read one item at a time.
        bad = next((i for i, item in enumerate(items) if not isinstance(item, Activity)), None)
        checked: list[Activity] = items if bad is None else items[:bad]
        unknown = list(dict.fromkeys(a.id for a in checked if a.id not in staged))
        committed = _load(self._backend, ACTIVITIES, unknown) if unknown else {}
        batch: dict[str, Activity] = {}
        duplicates = 0
        for activity in checked:
            known = batch.get(activity.id) or staged.get(activity.id) or committed.get(activity.id)
            if known is None:
                batch[activity.id] = activity
            elif known == activity:
                duplicates += 1
            else:
                raise activity_conflict(activity.id)
        if bad is not None:
            raise ValidationError.single(
                "activities", f"expected Activity objects, got {type(items[bad]).__name__}"
            )
        stage.put_all(batch)
        return AppendResult(added=len(batch), duplicates=duplicates)

    def get(self, activity_id: str) -> Activity:
        found = self._work._stages["activities"].records.get(activity_id)
        if found is None:
            found = self._backend.load(ACTIVITIES, (activity_id,)).get(activity_id)
            if found is None:
                raise NotFoundError("activity", activity_id)
        return found

    @staticmethod
    def _where(
        kinds: Iterable[str] | None, since: datetime | None, until: datetime | None
    ) -> list[Condition]:
        wanted = kind_filter(kinds)
        where = _time_conditions("occurred_at", since, until)
        return where if wanted is None else [Condition("kind", "in", wanted), *where]

    def for_partner(
        self,
        partner_id: str,
        *,
        kinds: Iterable[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Activity]:
        where = [Condition("partner_id", "=", partner_id), *self._where(kinds, since, until)]
        purpose = "reading a partner's activities"
        return self._find(Query(ACTIVITIES, tuple(where), ("occurred_at", "id"), purpose=purpose))

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
        where = self._where(kinds, since, until)
        if partner_id is not None:
            where.insert(0, Condition("partner_id", "=", partner_id))
        return self._page(
            ACTIVITIES,
            tag="activities",
            where=where,
            field="id",
            limit=limit,
            cursor=cursor,
            maximum=10_000,
        )


class _Scores(_Repository):
    __slots__ = ()

    def add(self, score: HealthScore) -> None:
        if not isinstance(score, HealthScore):
            raise ValidationError.single(
                "score", f"expected a HealthScore, got {type(score).__name__}"
            )
        stage = self._work._stages["scores"]
        key = (score.partner_id, score.model, score.as_of)
        known = stage.records.get(key)
        if known is None:
            known = self._backend.load(SCORES, (key,)).get(key)
            if known is None:
                stage.put(key, score)
                return
        if known != score:
            raise score_conflict(score)

    @staticmethod
    def _of(partner_id: str, model: str) -> list[Condition]:
        return [Condition("partner_id", "=", partner_id), Condition("model", "=", model)]

    def latest(
        self, partner_id: str, *, model: str, before: datetime | None = None
    ) -> HealthScore | None:
        where = self._of(partner_id, check_model_name(model))
        if before is not None:
            where.append(Condition("as_of", "<=", to_utc(before, "before")))
        query = Query(
            SCORES,
            tuple(where),
            ("as_of",),
            descending=True,
            limit=1,
            purpose="reading a partner's latest score",
        )
        found = self._find(query)
        return found[0] if found else None

    def history(
        self,
        partner_id: str,
        *,
        model: str,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[HealthScore]:
        name = check_model_name(model)
        where = self._of(partner_id, name) + _time_conditions("as_of", since, until)
        return self._find(
            Query(SCORES, tuple(where), ("as_of",), purpose="reading a partner's scores")
        )

    def query(
        self,
        *,
        model: str,
        as_of: datetime | None = None,
        band: str | None = None,
        limit: int = 1000,
        cursor: str | None = None,
    ) -> Page[HealthScore]:
        size = check_limit(limit, 1000)
        after = decode_cursor("scores", cursor)
        name = check_model_name(model)
        at = None if as_of is None else to_utc(as_of, "as_of")
        shown = [] if band is None else [Condition("band", "=", band)]
        later = [] if after is None else [Condition("partner_id", ">", after)]
        where = [Condition("model", "=", name), *later]
        if at is not None:
            query = Query(
                SCORES,
                (*where, Condition("as_of", "=", at), *shown),
                ("partner_id",),
                limit=size + 1,
                purpose="querying scores",
            )
            return _paged(self._find(query), size, "scores", SCORES.getter("partner_id"))
        return _paged(
            self._latest_page(name, tuple(where), tuple(shown), size + 1),
            size,
            "scores",
            SCORES.getter("partner_id"),
        )

    def _latest_page(
        self,
        model: str,
        where: tuple[Condition, ...],
        shown: tuple[Condition, ...],
        limit: int,
    ) -> list[HealthScore]:
        """Each partner's latest score matching ``shown``, by partner, at most ``limit``."""
        query = Query(
            SCORES,
            where,
            ("partner_id",),
            limit=limit,
            latest=("partner_id", "as_of"),
            having=shown,
            purpose="querying scores",
        )
        # Partners with staged scores are answered here, against their latest
        # committed score; their committed rows are left out of the query.
        mine: dict[str, HealthScore] = {}
        wanted = _predicate(SCORES, where)
        for score in self._work._stages["scores"].records.values():
            if wanted(score):
                known = mine.get(score.partner_id)
                if known is None or score.as_of > known.as_of:
                    mine[score.partner_id] = score
        if not mine:
            return self._backend.find(query)
        picked: list[HealthScore] = []
        visible = _predicate(SCORES, shown)
        for partner_id in sorted(mine):
            newest = self.latest(partner_id, model=model)  # a staged score wins a tie
            if newest is not None and visible(newest):
                picked.append(newest)
                if len(picked) >= limit:
                    break
        committed = self._unshadowed(query, mine, SCORES.getter("partner_id"))
        return self._merge(query, committed, picked)


class _Programs(_Versioned[StoredProgram]):
    __slots__ = ()
    _kind = PROGRAMS

    def get(self, program_id: str) -> StoredProgram:
        return self._read(program_id)

    def add(self, program: Program) -> StoredProgram:
        check_program(program)
        return self._add(program.id, StoredProgram(program, 1))

    def update(self, program: Program, *, version: int) -> StoredProgram:
        check_program(program)
        check_version(version)
        self._check(program.id, version)
        return self._update(program.id, version, StoredProgram(program, version + 1))

    def retire(self, program_id: str, *, version: int, at: datetime) -> StoredProgram:
        check_version(version)
        moment = to_utc(at, "at")
        self._check(program_id, version)
        stored = self._read(program_id)
        if stored.retired_at is not None:
            raise ValidationError.single(
                "program_id",
                f"program {program_id!r} was retired at {stored.retired_at.isoformat()}; "
                f"it cannot be retired again",
            )
        retired = StoredProgram(stored.program, version + 1, retired_at=moment)
        return self._update(program_id, version, retired)

    def query(self, *, limit: int = 100, cursor: str | None = None) -> Page[StoredProgram]:
        return self._page(
            PROGRAMS, tag="programs", where=[], field="id", limit=limit, cursor=cursor, maximum=1000
        )


class _Memberships(_Versioned[Membership]):
    __slots__ = ()
    _kind = MEMBERSHIPS

    def get(self, program_id: str, partner_id: str) -> Membership:
        return self._read((program_id, partner_id))

    def add(self, membership: Membership) -> Membership:
        check_membership(membership, new=True)
        partner_id = membership.partner_id
        key = (membership.program_id, partner_id)
        if key in self._stage.records or self._backend.versions(MEMBERSHIPS, (key,)):
            raise _EXISTS["memberships"](key)
        staged = self._work._stages["partners"].records
        if partner_id not in staged and not self._backend.versions(PARTNERS, (partner_id,)):
            raise _no_member(partner_id)
        stored = evolve_trusted(membership, version=1)
        self._stage.put(key, stored, 0)
        return stored

    def update(self, membership: Membership) -> Membership:
        check_membership(membership)
        key = (membership.program_id, membership.partner_id)
        self._check(key, membership.version)
        stored = evolve_trusted(membership, version=membership.version + 1)
        return self._update(key, membership.version, stored)

    def query(
        self,
        *,
        program_id: str,
        status: MembershipStatus | None = None,
        tier_id: str | None = None,
        limit: int = 1000,
        cursor: str | None = None,
    ) -> Page[Membership]:
        where = [Condition("program_id", "=", program_id)]
        for name, value in (("status", status), ("tier_id", tier_id)):
            if value is not None:
                where.append(Condition(name, "=", value))
        return self._page(
            MEMBERSHIPS,
            tag="memberships",
            where=where,
            field="partner_id",
            limit=limit,
            cursor=cursor,
            maximum=10_000,
        )

    def for_partner(self, partner_id: str) -> list[Membership]:
        query = Query(
            MEMBERSHIPS,
            (Condition("partner_id", "=", partner_id),),
            ("program_id",),
            purpose="reading a partner's memberships",
        )
        return self._find(query)


def _no_member(partner_id: str) -> NotFoundError:
    return NotFoundError(
        "partner",
        partner_id,
        "a membership needs its partner: add the partner first (in this unit of work "
        "or an earlier one)",
    )


class _Models(_Repository):
    __slots__ = ()

    def _stage(self) -> _Stage[StoredModel]:
        return self._work._stages["models"]

    def _stored(self, key: tuple[str, int]) -> StoredModel | None:
        found = self._stage().records.get(key)
        if found is None:
            found = self._backend.load(MODELS, (key,)).get(key)
        return found

    def add(self, model: ScoringModel) -> StoredModel:
        if not isinstance(model, ScoringModel):
            raise ValidationError.single(
                "model", f"expected a ScoringModel, got {type(model).__name__}"
            )
        key = (model.name, model.version)
        if self._stored(key) is not None:
            raise _model_exists(key)
        stored = StoredModel(model, model.version)
        self._stage().put(key, stored)
        return stored

    def _all(self, name: str) -> list[StoredModel]:
        where = (Condition("name", "=", check_model_name(name)),)
        return self._find(Query(MODELS, where, ("version",), purpose="reading a model's versions"))

    def get(self, name: str, *, version: int | None = None) -> StoredModel:
        if version is None:
            found = self._all(name)
            if not found:
                raise NotFoundError("scoring model", check_model_name(name))
            return found[-1]
        key = (check_model_name(name), check_version(version))
        stored = self._stored(key)
        if stored is None:
            raise NotFoundError("scoring model", MODELS.text(key))
        return stored

    def versions(self, name: str) -> list[int]:
        return [stored.version for stored in self._all(name)]

    def query(self, *, limit: int = 100, cursor: str | None = None) -> Page[StoredModel]:
        size = check_limit(limit, 1000)
        after = decode_cursor("models", cursor)
        where = () if after is None else (Condition("name", ">", after),)
        query = Query(
            MODELS,
            where,
            ("name",),
            limit=size + 1,
            latest=("name", "version"),
            purpose="querying scoring models",
        )
        staged = self._stage().records
        if not staged:
            found = self._backend.find(query)
        else:
            # Names with staged versions are answered by their own versions;
            # their committed rows are left out of the query.
            mine = {key[0] for key in staged if after is None or key[0] > after}
            picked = [self.get(name) for name in sorted(mine)]
            committed = self._unshadowed(query, mine, MODELS.getter("name"))
            found = self._merge(query, committed, picked)
        return _paged(found, size, "models", MODELS.getter("name"))

    def retire(self, name: str, *, version: int) -> StoredModel:
        stored = self.get(name, version=version)
        if stored.retired:
            raise _retired_already(MODELS.key(stored))
        retired = attrs.evolve(stored, retired=True)
        self._stage().put(MODELS.key(stored), retired)
        return retired


def _retired_already(key: tuple[str, int]) -> ConflictError:
    text = MODELS.text(key)
    return ConflictError(
        "scoring model", text, f"scoring model {text!r} is already retired; nothing was written"
    )


def _model_exists(key: tuple[str, int]) -> AlreadyExistsError:
    name, version = key
    return AlreadyExistsError(
        "scoring model",
        MODELS.text(key),
        f"version {version} of scoring model {name!r} is stored; raise the model's "
        f"version to store a change",
    )


class _TierHistory(_Repository):
    __slots__ = ()

    def save(self, assignment: TierAssignment) -> None:
        check_assignment(assignment)
        stage = self._work._stages["tier_history"]
        key = TIER_HISTORY.key(assignment)
        known = stage.records.get(key)
        if known is None:
            known = self._backend.load(TIER_HISTORY, (key,)).get(key)
        if known is None or closes(known, assignment):
            stage.put(key, assignment)
        elif known != assignment:
            raise assignment_conflict(assignment)

    def _history(self, program_id: str, partner_id: str, *more: Condition) -> list[TierAssignment]:
        where = (Condition("program_id", "=", program_id), Condition("partner_id", "=", partner_id))
        purpose = "reading a partner's tier history"
        return self._find(Query(TIER_HISTORY, where + more, ("valid_from",), purpose=purpose))

    def for_partner(self, program_id: str, partner_id: str) -> list[TierAssignment]:
        return self._history(program_id, partner_id)

    def at(self, program_id: str, partner_id: str, instant: datetime) -> TierAssignment | None:
        moment = to_utc(instant, "instant")
        begun = self._history(program_id, partner_id, Condition("valid_from", "<=", moment))
        covering = [assignment for assignment in begun if assignment.covers(moment)]
        return covering[-1] if covering else None


class _Deals(_Versioned[DealRegistration]):
    __slots__ = ()
    _kind = DEALS

    def get(self, deal_id: str) -> DealRegistration:
        return self._read(deal_id)

    def add(self, registration: DealRegistration) -> DealRegistration:
        check_deal(registration, new=True)
        stored = self._add(registration.id, evolve_trusted(registration, version=1))
        self._work._claims[stored.id] = claimed_keys(stored)
        return stored

    def update(self, registration: DealRegistration) -> DealRegistration:
        check_deal(registration)
        self._check(registration.id, registration.version)
        stored = evolve_trusted(registration, version=registration.version + 1)
        # Computed when staged, so that the commit's lock is not held while
        # customer names are normalised.
        self._work._claims[stored.id] = claimed_keys(stored)
        return self._update(registration.id, registration.version, stored)

    def query(
        self,
        *,
        partner_id: str | None = None,
        status: DealStatus | None = None,
        customer: str | None = None,
        protection_until_after: datetime | None = None,
        protection_until_before: datetime | None = None,
        partner_ids: Sequence[str] | None = None,
        limit: int = 1000,
        cursor: str | None = None,
    ) -> Page[DealRegistration]:
        filters = (("partner_id", partner_id), ("status", status))
        where = [Condition(name, "=", value) for name, value in filters if value is not None]
        if partner_ids is not None:
            if isinstance(partner_ids, str):
                raise ValidationError.single(
                    "partner_ids", "expected a sequence of partner ids, not one string"
                )
            where.append(Condition("partner_id", "in", frozenset(partner_ids)))
        if customer is not None:
            where.append(self._customer(customer))
        if protection_until_after is not None:
            after = to_utc(protection_until_after, "protection_until_after")
            where.append(Condition("protection_until", ">", after))
        if protection_until_before is not None:
            before = to_utc(protection_until_before, "protection_until_before")
            where.append(Condition("protection_until", "<=", before))
        return self._page(
            DEALS, tag="deals", where=where, field="id", limit=limit, cursor=cursor, maximum=1000
        )

    @staticmethod
    def _customer(customer: str) -> Condition:
        by_name = Condition("customer_name_key", "contains", search_key("customer", customer))
        domain = _domain_query(customer)
        if domain is None:
            return by_name
        return Condition.either(by_name, Condition("customer_domain", "=", domain))

    def active(self, *, limit: int = 1000, cursor: str | None = None) -> Page[DealRegistration]:
        where = [Condition("status", "in", frozenset(ACTIVE_STATUSES))]
        return self._page(
            DEALS,
            tag="active deals",
            where=where,
            field="id",
            limit=limit,
            cursor=cursor,
            maximum=1000,
        )

    def _protected(
        self, after: datetime | None, until: datetime, limit: int
    ) -> list[DealRegistration]:
        where = [
            Condition("status", "=", DealStatus.APPROVED),
            Condition("protection_until", "<=", until),
        ]
        if after is not None:
            where.append(Condition("protection_until", ">", after))
        query = Query(
            DEALS,
            tuple(where),
            ("protection_until", "id"),
            limit=check_limit(limit, 1000),
            purpose="reading protection windows",
        )
        return self._find(query)

    def due_to_expire(self, as_of: datetime, *, limit: int = 1000) -> list[DealRegistration]:
        return self._protected(None, to_utc(as_of, "as_of"), limit)

    def expiring_within(
        self, as_of: datetime, until: datetime, *, limit: int = 1000
    ) -> list[DealRegistration]:
        return self._protected(to_utc(as_of, "as_of"), to_utc(until, "until"), limit)

    def claims_for(self, deal_id: str) -> tuple[str, ...]:
        staged = self._work._claims.get(deal_id)
        if staged is not None:
            return staged
        query = Query(
            CLAIMS,
            (Condition("deal_id", "=", deal_id),),
            ("key",),
            purpose="reading deal claims",
        )
        return tuple(claim.key for claim in self._backend.find(query))

    def change_mark(self) -> int:
        """The ``seq`` of the latest committed deal change (0 before any)."""
        latest = self._backend.find(_LATEST_CHANGE)
        return latest[0].seq if latest else 0

    def changed_since(self, mark: int, *, limit: int = 1000) -> list[DealChange]:
        """Committed deal changes numbered above ``mark``, in sequence order."""
        query = Query(
            DEAL_CHANGES,
            (Condition("seq", ">", mark),),
            ("seq",),
            limit=check_limit(limit, 1000),
            purpose="following deal changes",
        )
        return self._backend.find(query)

    def committed(self, deal_ids: Sequence[str]) -> dict[str, DealRegistration]:
        """The committed registrations among ``deal_ids`` (this unit's staging aside)."""
        return _load(self._backend, DEALS, deal_ids)

    def guard(self, check: Callable[[CommittedReads], None]) -> None:
        """Run ``check`` inside the commit's lock or transaction, before anything is written.

        ``check`` reads the committed state with the reads it is given and raises
        (`StaleVersionError` for "read again and retry") to refuse the commit.
        """
        self._work._guards.append(check)

    def holder(self, key: str) -> str | None:
        for deal_id, keys in self._work._claims.items():
            if key in keys:
                return deal_id
        claim = self._backend.load(CLAIMS, (key,)).get(key)
        # A registration saved in this unit of work holds only the keys it wants now.
        return None if claim is None or claim.deal_id in self._work._claims else claim.deal_id


class _StagedUnitOfWork:
    """A unit of work of a `StagedStorage`; see `partnerkit.storage.UnitOfWork`."""

    def __init__(self, storage: StagedStorage) -> None:
        self._storage = storage
        self._stages: dict[str, _Stage[Any]] = {kind.name: _Stage(kind) for kind in _WRITE_ORDER}
        # Staged registrations: the customer keys each holds once committed.
        self._claims: dict[str, tuple[str, ...]] = {}
        self._published: list[Event] = []
        self._events: tuple[EventRecord, ...] = ()
        # Checks run first inside the commit's lock or transaction (`_Deals.guard`).
        self._guards: list[Callable[[CommittedReads], None]] = []
        # Typed as the protocols: their attributes are settable, hence invariant, so
        # the concrete types would keep adapters from type-checking as a Storage.
        self.partners: PartnerRepository = _Partners(self)
        self.activities: ActivityLedger = _Activities(self)
        self.scores: ScoreRepository = _Scores(self)
        self.programs: ProgramRepository = _Programs(self)
        self.memberships: MembershipRepository = _Memberships(self)
        self.tier_history: TierHistoryRepository = _TierHistory(self)
        self.deals: DealRepository = _Deals(self)
        self.models: ScoringModelRepository = _Models(self)

    def __enter__(self) -> _StagedUnitOfWork:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.rollback()

    def commit(self) -> None:
        """Write everything staged at once, or nothing; see `UnitOfWork.commit`."""
        if not (self._published or any(stage.records for stage in self._stages.values())):
            self._storage._check_open()
            self._events = ()
            return
        commit = Commit("committing a unit of work", self._check)
        try:
            self._storage._backend.write(commit)
        except StorageError:
            raise  # nothing was written, and retrying may work: keep the staged work
        except BaseException:
            self.rollback()
            raise
        # The check writes the outbox records last.
        written = commit.changes.writes if commit.changes is not None else ()
        self._events = tuple(w.record for w in written[len(written) - len(self._published) :])
        self.rollback()

    def rollback(self) -> None:
        """Discard everything staged and published since the last commit."""
        for stage in self._stages.values():
            stage.clear()
        self._claims.clear()
        self._published.clear()
        self._guards.clear()

    def publish(self, *events: Event) -> None:
        """Queue events for the outbox; they are recorded only if the work commits."""
        for event in events:
            if not isinstance(event, Event):
                raise ValidationError.single(
                    "events", f"expected partnerkit Event objects, got {type(event).__name__}"
                )
        self._published.extend(events)

    @property
    def events(self) -> tuple[EventRecord, ...]:
        """The events the last commit recorded."""
        return self._events

    # -- the check, run by the backend inside its lock or transaction -----------

    def _check(self, reads: CommittedReads) -> Changes:
        for guard in self._guards:
            guard(reads)
        writes: list[Write[Any]] = []
        for kind in _WRITE_ORDER:
            if kind.versioned:
                writes += self._check_versions(reads, kind)
            elif kind is TIER_HISTORY:
                writes += self._check_history(reads)
            elif kind is MODELS:
                writes += self._check_models(reads)
            else:
                writes += self._check_appends(reads, kind)
        self._check_members(reads, writes)
        claims, released = self._check_claims(reads)
        numbered = _number_deal_changes(reads, writes)
        now = self._storage._clock.now()
        ids = self._storage._ids
        records = [EventRecord(ids("evt"), event, now) for event in self._published]
        events = [Write(EVENTS, record.id, record, 0) for record in records]
        return Changes((*writes, *claims, *numbered, *events), released)

    def _check_versions(self, reads: CommittedReads, kind: Kind[Any]) -> list[Write[Any]]:
        stage = self._stages[kind.name]
        stored: dict[Key, int] = {}
        for chunk in _chunks(list(stage.based_on)):
            stored.update(reads.versions(kind, chunk))
        writes = []
        for key, based_on in stage.based_on.items():
            actual = stored.get(key)
            if based_on == 0 and actual is not None:
                raise _EXISTS[kind.name](key)
            if based_on and actual != based_on:
                raise StaleVersionError(kind.label, kind.text(key), based_on, actual)
            writes.append(Write(kind, key, stage.records[key], based_on))
        return writes

    def _check_members(self, reads: CommittedReads, writes: list[Write[Any]]) -> None:
        """New memberships need their partner, stored or written in this commit."""
        new = {w.record.partner_id for w in writes if w.kind is MEMBERSHIPS and w.expected == 0}
        new -= set(self._stages["partners"].records)
        if not new:
            return
        stored: dict[Key, int] = {}
        for chunk in _chunks(sorted(new)):
            stored.update(reads.versions(PARTNERS, chunk))
        missing = sorted(new - set(stored))
        if missing:
            raise _no_member(missing[0])

    def _check_models(self, reads: CommittedReads) -> list[Write[Any]]:
        """New versions are inserted; a stored version may only become retired, once."""
        staged = self._stages["models"].records
        stored = _load(reads, MODELS, list(staged)) if staged else {}
        writes = []
        for key, model in staged.items():
            known = stored.get(key)
            if known is None:  # added in this unit of work (and maybe retired in it too)
                writes.append(Write(MODELS, key, model, 0))
            elif not model.retired or known.model != model.model:
                raise _model_exists(key)
            elif known.retired:
                raise _retired_already(key)
            else:
                writes.append(Write(MODELS, key, model, None))
        return writes

    def _check_appends(self, reads: CommittedReads, kind: Kind[Any]) -> list[Write[Any]]:
        """Activities and scores: new ones are written, identical ones skipped."""
        staged = self._stages[kind.name].records
        stored = _load(reads, kind, list(staged)) if staged else {}
        writes = []
        for key, record in staged.items():
            known = stored.get(key)
            if known is None:
                writes.append(Write(kind, key, record, 0))
            elif known != record:
                raise activity_conflict(key) if kind is ACTIVITIES else score_conflict(record)
        return writes

    def _check_history(self, reads: CommittedReads) -> list[Write[Any]]:
        staged = self._stages["tier_history"].records
        stored = _load(reads, TIER_HISTORY, list(staged)) if staged else {}
        writes = []
        for key, assignment in staged.items():
            known = stored.get(key)
            if known is None:
                writes.append(Write(TIER_HISTORY, key, assignment, 0))
            elif closes(known, assignment):
                writes.append(Write(TIER_HISTORY, key, assignment, None))
            elif known != assignment:
                raise assignment_conflict(assignment)
        return writes

    def _check_claims(
        self, reads: CommittedReads
    ) -> tuple[list[Write[Claim]], tuple[tuple[Kind[Claim], Key], ...]]:
        """Judge the claims on the commit's final state; what to write and release.

        Every registration saved in this commit holds exactly the keys it wants
        now; any other holds what it holds. Two of them wanting one key, or one
        wanting a key another (unsaved) registration holds, refuse the commit.
        """
        staged = self._claims
        if not staged:
            return [], ()
        wanted: dict[str, str] = {}
        for deal_id, keys in staged.items():
            for key in keys:
                other = wanted.setdefault(key, deal_id)
                if other != deal_id:
                    raise claim_conflict(deal_id, (key,), other)
        holders = _load(reads, CLAIMS, list(wanted))
        for deal_id, keys in staged.items():
            lost = [key for key in keys if _held_elsewhere(holders.get(key), deal_id, staged)]
            if lost:
                holder = holders[lost[0]].deal_id
                taken = [key for key in lost if holders[key].deal_id == holder]
                raise claim_conflict(deal_id, taken, holder)
        held: list[Claim] = []
        for chunk in _chunks(list(staged)):
            where = (Condition("deal_id", "in", frozenset(chunk)),)
            held += reads.find(Query(CLAIMS, where, purpose="reading deal claims"))
        writes = [
            Write(CLAIMS, key, Claim(key, deal_id), 0 if holders.get(key) is None else None)
            for key, deal_id in wanted.items()
            if holders.get(key) != Claim(key, deal_id)
        ]
        released = tuple((CLAIMS, claim.key) for claim in held if claim.key not in wanted)
        return writes, released


def _number_deal_changes(reads: CommittedReads, writes: Sequence[Write[Any]]) -> list[Write[Any]]:
    """Number each registration written with the next values of the store's deal sequence.

    Read inside the commit's lock or transaction, so two commits never take one number.
    """
    deal_ids = [write.key for write in writes if write.kind is DEALS]
    if not deal_ids:
        return []
    latest = reads.find(_LATEST_CHANGE)
    start = latest[0].seq if latest else 0
    return [
        Write(DEAL_CHANGES, deal_id, DealChange(deal_id, start + number), None)
        for number, deal_id in enumerate(deal_ids, 1)
    ]


#: How long `StagedStorage.claim_events` leases events unless told.
DEFAULT_LEASE: Final = timedelta(minutes=5)

_LATEST_CHANGE: Final = Query(
    DEAL_CHANGES, order=("seq",), descending=True, limit=1, purpose="reading the deal sequence"
)


def _held_elsewhere(claim: Claim | None, deal_id: str, staged: Mapping[str, object]) -> bool:
    return claim is not None and claim.deal_id != deal_id and claim.deal_id not in staged


class StagedStorage:
    """A complete `partnerkit.storage.Storage` on any `StorageBackend`.

    Units of work stage their writes here; the backend reads committed state and
    writes checked commits atomically. This is how every shipped adapter is
    built: ``MemoryStorage`` and ``SqliteStorage`` are a `StagedStorage` each.

    Example::

        storage = StagedStorage(MyBackend(...))
        with storage.unit_of_work() as uow:
            uow.partners.add(partner)
            uow.commit()

    Args:
        backend: The adapter's committed reads and atomic write.
        clock: Stamps outbox records (the system clock by default).
        ids: Mints outbox ids (a fresh `IdGenerator` on ``clock`` by default).
    """

    def __init__(
        self,
        backend: StorageBackend,
        *,
        clock: Clock | None = None,
        ids: IdGenerator | None = None,
    ) -> None:
        self._backend = backend
        self._clock = clock or SystemClock()
        self._ids = ids or IdGenerator(self._clock)
        self._closed = False

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._backend!r})"

    def unit_of_work(self) -> UnitOfWork:
        """A new unit of work on this store."""
        self._check_open()
        return _StagedUnitOfWork(self)

    def pending_events(self, *, limit: int = 100) -> list[EventRecord]:
        """Committed events not yet marked delivered, oldest first.

        Raises:
            ValidationError: For a ``limit`` outside 1..10000.
        """
        size = check_limit(limit, 10_000)
        self._check_open()
        return self._backend.find(Query(EVENTS, limit=size, purpose="reading the outbox"))

    def claim_events(
        self, owner: str, *, limit: int = 100, lease: timedelta = DEFAULT_LEASE
    ) -> list[EventRecord]:
        """Lease up to ``limit`` pending events to ``owner``, oldest first, and return them.

        An event is leased to one owner at a time: events another owner holds
        until after now are skipped; those ``owner`` already holds, or whose
        lease has lapsed (a deliverer that stopped), are leased again. Leases
        end with `mark_delivered`. The lease is taken in one atomic write, so
        deliverers in several processes never hold one event at once.

        Args:
            owner: Who takes the lease (unique per deliverer).
            limit: At most this many events (1..10000).
            lease: How long the events are held for ``owner``.

        Raises:
            ValidationError: For a ``limit`` outside 1..10000, an empty owner or a
                lease that is not positive.
        """
        size = check_limit(limit, 10_000)
        if not owner:
            raise ValidationError.single("owner", "name who takes the lease, e.g. 'host-1:4711'")
        if lease <= timedelta(0):
            raise ValidationError.single("lease", f"must be positive, got {lease}")
        self._check_open()
        if not self._backend.find(Query(EVENTS, limit=1, purpose="reading the outbox")):
            return []  # nothing pending: no need for the write lock
        claimed: list[EventRecord] = []

        def check(reads: CommittedReads) -> Changes:
            claimed.clear()
            now = self._clock.now()
            held = {
                lease.event_id
                for lease in reads.find(
                    Query(
                        EVENT_LEASES,
                        (Condition("leased_until", ">", now),),
                        purpose="reading event leases",
                    )
                )
                if lease.owner != owner
            }
            # At most len(held) of the oldest size + len(held) events are held by others.
            oldest = reads.find(
                Query(EVENTS, limit=min(size + len(held), 10_000), purpose="reading the outbox")
            )
            claimed.extend([record for record in oldest if record.id not in held][:size])
            until = now + lease
            return Changes(
                tuple(
                    Write(EVENT_LEASES, record.id, EventLease(record.id, owner, until), None)
                    for record in claimed
                ),
                (),
            )

        self._backend.write(Commit("leasing outbox events", check))
        return list(claimed)

    def mark_delivered(self, event_ids: Iterable[str]) -> None:
        """Drop delivered events, and their leases, from the outbox; unknown ids are ignored."""
        self._check_open()
        done = tuple(
            (kind, event_id)
            for event_id in dict.fromkeys(event_ids)
            for kind in (EVENTS, EVENT_LEASES)
        )
        if done:
            self._backend.write(Commit("marking events delivered", lambda _: Changes((), done)))

    def close(self) -> None:
        """Release the backend; using the store afterwards raises `StorageError`."""
        self._closed = True
        self._backend.close()

    def _check_open(self) -> None:
        if self._closed:
            raise StorageError(f"{self!r} is closed; open a new one")
