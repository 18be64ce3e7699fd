"""The records of partnerkit's stores, and the queries and writes an adapter answers.

See `partnerkit.storage._staging` for how the staging layer uses them.
"""

from __future__ import annotations

import operator
from datetime import date, datetime
from functools import partial
from itertools import islice
from typing import TYPE_CHECKING, Any, Final, Generic, NamedTuple, Protocol, TypeVar

import attrs

from partnerkit._base.events import EventRecord
from partnerkit.deals._domains import registrable_domain
from partnerkit.deals._model import DealRegistration
from partnerkit.deals._names import normalize_company_name
from partnerkit.errors import (
    AlreadyExistsError,
    ConflictError,
)
from partnerkit.funds import FundBudget, FundClaim, FundRequest
from partnerkit.health import HealthScore
from partnerkit.incentives import Plan as IncentivePlan
from partnerkit.incentives import Statement
from partnerkit.leads._model import Lead
from partnerkit.ledger import Activity
from partnerkit.partners import Partner
from partnerkit.relationship import BusinessPlan, Certification, CheckIn
from partnerkit.storage._common import (
    deal_conflict,
    membership_conflict,
    program_conflict,
)
from partnerkit.storage._protocols import StoredModel, StoredProgram
from partnerkit.tiers import Membership, TierAssignment

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence


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
#: Leads; ``partner_id``, ``offer_expires_at`` and ``last_offered_at`` are the
#: lead's properties (the holder, the pending offer's end, the latest offer).
LEADS: Final = Kind[Lead]("leads", ("id",), "lead", versioned=True)


def last_expiry(certification: Certification) -> date | None:
    """When a certification's latest term expires (``None`` before it is issued)."""
    return certification.terms[-1].expires_on if certification.terms else None


PLANS: Final = Kind[BusinessPlan]("plans", ("id",), "business plan", versioned=True)
CHECK_INS: Final = Kind[CheckIn]("check_ins", ("id",), "check-in", versioned=True)
CERTIFICATIONS: Final = Kind[Certification](
    "certifications",
    ("id",),
    "certification",
    versioned=True,
    computed={"expires_on": last_expiry},
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
# Funds: every move of money changes the budget, so its version serialises them.
FUND_BUDGETS: Final = Kind[FundBudget]("fund_budgets", ("id",), "fund budget", versioned=True)
FUND_REQUESTS: Final = Kind[FundRequest]("fund_requests", ("id",), "fund request", versioned=True)
FUND_CLAIMS: Final = Kind[FundClaim]("fund_claims", ("id",), "fund claim", versioned=True)
STATEMENTS: Final = Kind[Statement](
    "incentive_statements", ("id",), "statement", noun="incentive statement", versioned=True
)
INCENTIVE_PLANS: Final = Kind[IncentivePlan](
    "incentive_plans",
    ("plan_id", "version"),
    "incentive plan",
    paths={"plan_id": "id"},
    separator=" v",
)


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
    PLANS,
    CHECK_INS,
    CERTIFICATIONS,
    FUND_BUDGETS,
    FUND_REQUESTS,
    FUND_CLAIMS,
    INCENTIVE_PLANS,
    STATEMENTS,
    LEADS,
)


def _taken(label: str, key: str) -> AlreadyExistsError:
    return AlreadyExistsError(label, key, f"a {label} with id {key!r} already exists")


_EXISTS: Final[dict[str, Callable[[Any], ConflictError]]] = {
    "partners": lambda key: AlreadyExistsError(
        "partner", key, f"a partner with id {key!r} already exists"
    ),
    "programs": program_conflict,
    "memberships": lambda key: membership_conflict(*key),
    "deals": deal_conflict,
    **{
        kind.name: partial(_taken, kind.label)
        for kind in (PLANS, CHECK_INS, CERTIFICATIONS, FUND_BUDGETS, FUND_REQUESTS, FUND_CLAIMS)
    },
    "incentive_statements": lambda key: AlreadyExistsError(
        "incentive statement", key, f"a statement with id {key!r} already exists; update it"
    ),
    "leads": lambda key: AlreadyExistsError("lead", key, f"a lead with id {key!r} already exists"),
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


#: The newest deal change: where the next commit's numbering starts.
_LATEST_CHANGE: Final = Query(
    DEAL_CHANGES, order=("seq",), descending=True, limit=1, purpose="reading the deal sequence"
)
