"""How each kind of record maps onto its table: columns, rows and decoding.

Each record is one JSON document (written by `partnerkit._documents`, exactly what
`partnerkit.serialization` writes) in a ``json`` column, beside indexed columns for
what queries filter and sort by. Instants are stored as whole microseconds since
1970-01-01 UTC: integers sort and compare exactly and cost less to index than ISO
text. A query's field is the column of the same name.
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final, TypeVar

import attrs

from partnerkit._base.events import EventRecord
from partnerkit._documents import (
    activity_document,
    model_document,
    partner_document,
    read_activity,
    read_partner,
)
from partnerkit.deals._conflicts import CUSTOMER_KEY_VERSION
from partnerkit.deals._model import DealRegistration
from partnerkit.errors import StorageError, ValidationError
from partnerkit.funds import FundBudget, FundClaim, FundRequest
from partnerkit.health import HealthScore, ScoringModel
from partnerkit.incentives import Plan as IncentivePlan
from partnerkit.incentives import Statement
from partnerkit.leads import Lead
from partnerkit.ledger import Activity
from partnerkit.partners import Partner
from partnerkit.relationship import BusinessPlan, Certification, CheckIn
from partnerkit.serialization import from_json
from partnerkit.storage._protocols import StoredModel, StoredProgram
from partnerkit.storage._staging import (
    Claim,
    DealChange,
    EventLease,
    customer_domain,
    customer_name_key,
    last_expiry,
    partner_name_key,
)
from partnerkit.tiers import Membership, Program, TierAssignment

__all__ = ["TABLES", "Table", "bindable", "column_value", "micros"]

T = TypeVar("T")

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)


def micros(moment: datetime) -> int:
    """Whole microseconds since 1970-01-01 UTC: how instants are stored."""
    return (moment - _EPOCH) // _MICROSECOND


def _instant(stored: int) -> datetime:
    return _EPOCH + stored * _MICROSECOND


def bindable(value: object) -> bool:
    """Whether ``value`` is text SQLite can hold (so it could match a stored value)."""
    if not isinstance(value, str):
        return False
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def _storable(text: str) -> str:
    """``text`` as SQLite can hold it: itself, or, holding a lone surrogate, its JSON.

    Free text in a key column (a model's name, a customer key) may hold a lone
    surrogate, which cannot be encoded as UTF-8; such text is stored (and looked
    up) as its ASCII JSON string, quotes included, which no encodable text is also
    stored as.
    """
    return text if bindable(text) else json.dumps(text)


def _unstorable(text: str) -> str:
    """The text `_storable` stored as ``text``."""
    if text.startswith('"'):
        with contextlib.suppress(ValueError):
            decoded = json.loads(text)
            if isinstance(decoded, str):
                return decoded
    return text


#: Key columns of free text, stored by `_storable`.
_FREE_TEXT: Final = frozenset({"model", "key", "name", "name_key", "customer_name_key"})
#: Integer columns (a model's version, a deal change's number), bound as they are.
_INTEGERS: Final = frozenset({"version", "seq"})
_INSTANTS: Final = frozenset(
    {
        "occurred_at",
        "as_of",
        "valid_from",
        "valid_until",
        "protection_until",
        "period_start",
        "recorded_at",
        "leased_until",
        "held_at",
        "offer_expires_at",
        "last_offered_at",
    }
)
#: Day columns, stored as ISO text (which sorts as the days do).
_DAYS: Final = frozenset({"expires_on"})


def column_value(column: str, value: object) -> object | None:
    """``value`` as column ``column`` stores it; ``None`` if no stored value can equal it."""
    if column in _INSTANTS:
        return micros(value) if isinstance(value, datetime) else None
    if column in _FREE_TEXT:
        return _storable(value) if isinstance(value, str) else None
    if column in _INTEGERS:
        return value if type(value) is int else None
    if column in _DAYS:
        return value.isoformat() if type(value) is date else None
    if type(value) is str and value.isascii():  # the common case, checked cheaply
        return value
    return str(value) if bindable(value) else None


class _Decoder:
    """Decodes a row whose last column is the JSON document of a ``cls``.

    Partners and activities, the bulk of every store, are read by the trusted
    readers of `partnerkit._documents` (``read``); other kinds by `from_json`.
    """

    __slots__ = ("_key", "_noun", "_read")

    def __init__(
        self,
        cls: type[Any],
        noun: str,
        key: Callable[[Sequence[Any]], str],
        read: Callable[[str], Any] | None = None,
    ) -> None:
        self._read = read or functools.partial(from_json, cls)
        self._noun = noun
        self._key = key

    def __call__(self, row: Sequence[Any]) -> Any:
        try:
            return self._read(row[-1])
        except ValidationError as error:
            raise StorageError(
                f"the stored {self._noun} {self._key(row)!r} cannot be read ({error}); the "
                f"database was changed outside partnerkit or by a newer release: restore it "
                f"or upgrade"
            ) from None


def _day(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def _optional(moment: datetime | None) -> int | None:
    return None if moment is None else micros(moment)


@attrs.frozen
class Table:
    """One kind's table.

    Attributes:
        name: The SQL table.
        noun: What a record is called in errors.
        key: Its key columns, in the order of the kind's key fields.
        columns: The columns a write fills, in the order of ``row``.
        row: A record's values for ``columns``.
        selected: What reads select: the key columns, then what ``record`` needs.
        record: The record a selected row holds.
        order: How rows are ordered when a query names no order.
    """

    name: str
    noun: str
    key: tuple[str, ...]
    columns: tuple[str, ...]
    row: Callable[[Any], tuple[object, ...]]
    selected: str
    record: Callable[[Sequence[Any]], Any]
    order: str = ""

    @functools.cached_property
    def plain(self) -> bool:
        """Whether the key is one column of text stored as it is (an id)."""
        return len(self.key) == 1 and column_value(self.key[0], "id") == "id"

    @functools.cached_property
    def reading(self) -> str:
        """What a read by key does, for errors: "reading a partner"."""
        article = "an" if self.noun[0] in "aeiou" else "a"
        return f"reading {article} {self.noun}"

    @functools.cached_property
    def one(self) -> str:
        """The ``SELECT`` of the record with one key."""
        return self.select_keys(self.selected, 1)

    @functools.cached_property
    def one_version(self) -> str:
        """The ``SELECT`` of the key and version of the record with one key."""
        return self.select_keys(self.versions, 1)

    @functools.cached_property
    def versions(self) -> str:
        """What reads of versions select: the key columns, then the version."""
        return f"{', '.join(self.key)}, version"

    @property
    def insert(self) -> str:
        """The statement inserting one row."""
        marks = ", ".join("?" * len(self.columns))
        return f"INSERT INTO {self.name} ({', '.join(self.columns)}) VALUES ({marks})"  # noqa: S608 - fixed names

    @property
    def upsert(self) -> str:
        """The statement inserting one row, or replacing the one with its key."""
        kept = ", ".join(f"{c} = excluded.{c}" for c in self.columns if c not in self.key)
        return f"{self.insert} ON CONFLICT ({', '.join(self.key)}) DO UPDATE SET {kept}"

    @property
    def delete(self) -> str:
        """The statement deleting the row with one key."""
        return f"DELETE FROM {self.name} WHERE {self.matches_key()}"  # noqa: S608 - fixed names

    def matches_key(self, alias: str = "") -> str:
        """The condition that a row has one key (placeholders in key order)."""
        return " AND ".join(f"{alias}{column} = ?" for column in self.key)

    def bound_key(self, key: Any) -> tuple[object, ...] | None:
        """A record key as its key columns store it, or ``None`` if none can."""
        if self.plain and type(key) is str and key.isascii():  # an id: the common case
            return (key,)
        if type(key) is str:  # one key column
            bound = column_value(self.key[0], key)
            return None if bound is None else (bound,)
        found = tuple(column_value(c, part) for c, part in zip(self.key, key, strict=True))
        return None if None in found else found

    def select_keys(self, columns: str, count: int) -> str:
        """The ``SELECT`` of ``columns`` from the rows with ``count`` given keys."""
        sql = _SELECTS.get((self.name, columns, count))
        if sql is None:
            if count == 1:
                where = self.matches_key()
            elif len(self.key) == 1:
                where = f"{self.key[0]} IN ({', '.join('?' * count)})"
            else:
                row = f"({', '.join('?' * len(self.key))})"
                where = f"({', '.join(self.key)}) IN (VALUES {', '.join([row] * count)})"
            sql = f"SELECT {columns} FROM {self.name} WHERE {where}"  # noqa: S608 - fixed names
            _SELECTS[(self.name, columns, count)] = sql
        return sql


_SELECTS: dict[tuple[str, str, int], str] = {}


def _slashed(row: Sequence[Any]) -> str:
    parts = [
        _instant(part).isoformat() if isinstance(part, int) else str(part) for part in row[:-1]
    ]
    return "/".join(parts)


# Programs and scoring models are few, large and read again and again (every
# approval reads its partner's program): their decoded, immutable models are kept
# by document text, so each is validated once per process, not once per read.
_PROGRAM: Final = _Decoder(
    Program,
    "program",
    lambda row: str(row[0]),
    functools.lru_cache(maxsize=64)(functools.partial(from_json, Program)),
)


def _program(row: Sequence[Any]) -> StoredProgram:
    retired = None if row[3] is None else _instant(row[3])
    return StoredProgram(_PROGRAM((row[0], row[1])), int(row[2]), retired_at=retired)


_MODEL: Final = _Decoder(
    ScoringModel,
    "scoring model",
    lambda row: f"{_unstorable(row[0])} v{row[1]}",
    functools.lru_cache(maxsize=64)(functools.partial(from_json, ScoringModel)),
)


def _model(row: Sequence[Any]) -> StoredModel:
    model = _MODEL((row[0], row[1], row[3]))
    if model.version != row[1]:
        raise StorageError(
            f"the stored scoring model {_unstorable(row[0])!r} v{row[1]} holds version "
            f"{model.version}; the database was changed outside partnerkit: restore it"
        )
    return StoredModel(model, int(row[1]), retired=bool(row[2]))


_PLAN: Final = _Decoder(IncentivePlan, "incentive plan", lambda row: f"{row[0]} v{row[1]}")


def _incentive_plan(row: Sequence[Any]) -> IncentivePlan:
    plan: IncentivePlan = _PLAN(row)
    if (plan.id, plan.version) != (row[0], row[1]):
        raise StorageError(
            f"the stored incentive plan {row[0]!r} v{row[1]} holds {plan.id!r} "
            f"v{plan.version}; the database was changed outside partnerkit: restore it"
        )
    return plan


def _score_key(row: Sequence[Any]) -> str:
    return f"{row[0]}|{_unstorable(row[1])}|{_instant(row[2]).isoformat()}"


#: The table of each kind, by kind name.
TABLES: Final = {
    "partners": Table(
        "partners",
        "partner",
        ("id",),
        ("id", "status", "type", "owner_id", "parent_id", "country", "name_key", "version", "json"),
        lambda p: (
            p.id,
            str(p.status),
            str(p.type),
            p.owner_id,
            p.parent_id,
            p.country,
            _storable(partner_name_key(p)),
            p.version,
            partner_document(p),
        ),
        "id, json",
        _Decoder(Partner, "partner", _slashed, read_partner),
    ),
    "activities": Table(
        "activities",
        "activity",
        ("id",),
        ("id", "partner_id", "kind", "occurred_at", "json"),
        lambda a: (a.id, a.partner_id, str(a.kind), micros(a.occurred_at), activity_document(a)),
        "id, json",
        _Decoder(Activity, "activity", _slashed, read_activity),
    ),
    "scores": Table(
        "scores",
        "score",
        ("partner_id", "model", "as_of"),
        ("partner_id", "model", "as_of", "band", "json"),
        lambda s: (s.partner_id, _storable(s.model), micros(s.as_of), s.band, model_document(s)),
        "partner_id, model, as_of, json",
        _Decoder(HealthScore, "score", _score_key),
    ),
    "programs": Table(
        "programs",
        "program",
        ("id",),
        ("id", "version", "retired_at", "json"),
        lambda s: (s.program.id, s.version, _optional(s.retired_at), model_document(s.program)),
        "id, json, version, retired_at",
        _program,
    ),
    "memberships": Table(
        "memberships",
        "membership",
        ("program_id", "partner_id"),
        ("program_id", "partner_id", "status", "tier_id", "version", "json"),
        lambda m: (
            m.program_id,
            m.partner_id,
            str(m.status),
            m.tier_id,
            m.version,
            model_document(m),
        ),
        "program_id, partner_id, json",
        _Decoder(Membership, "membership", _slashed),
    ),
    "tier_history": Table(
        "tier_history",
        "tier assignment",
        ("program_id", "partner_id", "valid_from"),
        ("program_id", "partner_id", "valid_from", "valid_until", "json"),
        lambda a: (
            a.program_id,
            a.partner_id,
            micros(a.valid_from),
            _optional(a.valid_until),
            model_document(a),
        ),
        "program_id, partner_id, valid_from, json",
        _Decoder(TierAssignment, "tier assignment", _slashed),
    ),
    "deals": Table(
        "deals",
        "deal registration",
        ("id",),
        (
            "id",
            "partner_id",
            "status",
            "protection_until",
            "customer_name_key",
            "customer_domain",
            "version",
            "json",
        ),
        lambda d: (
            d.id,
            d.partner_id,
            str(d.status),
            _optional(d.protection_until),
            _storable(customer_name_key(d)),
            customer_domain(d),
            d.version,
            model_document(d),
        ),
        "id, json",
        _Decoder(DealRegistration, "deal registration", _slashed),
    ),
    # The primary key on the customer key is what makes two approvals for one
    # customer impossible, across threads and processes.
    "claims": Table(
        "deal_claims",
        "deal claim",
        ("key",),
        ("key", "deal_id", "key_version"),
        lambda c: (_storable(c.key), c.deal_id, CUSTOMER_KEY_VERSION),
        "key, deal_id",
        lambda row: Claim(_unstorable(row[0]), row[1]),
    ),
    "deal_changes": Table(
        "deal_changes",
        "deal change",
        ("deal_id",),
        ("deal_id", "seq"),
        lambda c: (c.deal_id, c.seq),
        "deal_id, seq",
        lambda row: DealChange(row[0], row[1]),
    ),
    # Every version of every model, side by side; a retired one is kept.
    "models": Table(
        "scoring_models",
        "scoring model",
        ("name", "version"),
        ("name", "version", "retired", "json"),
        lambda m: (_storable(m.model.name), m.version, int(m.retired), model_document(m.model)),
        "name, version, retired, json",
        _model,
    ),
    "plans": Table(
        "business_plans",
        "business plan",
        ("id",),
        ("id", "partner_id", "status", "version", "json"),
        lambda p: (p.id, p.partner_id, str(p.status), p.version, model_document(p)),
        "id, json",
        _Decoder(BusinessPlan, "business plan", _slashed),
    ),
    "check_ins": Table(
        "check_ins",
        "check-in",
        ("id",),
        ("id", "partner_id", "held_at", "version", "json"),
        lambda c: (c.id, c.partner_id, micros(c.held_at), c.version, model_document(c)),
        "id, json",
        _Decoder(CheckIn, "check-in", _slashed),
    ),
    "certifications": Table(
        "certifications",
        "certification",
        ("id",),
        ("id", "partner_id", "person", "name", "expires_on", "version", "json"),
        lambda c: (
            c.id,
            c.partner_id,
            c.person,
            _storable(c.name),
            _day(last_expiry(c)),
            c.version,
            model_document(c),
        ),
        "id, json",
        _Decoder(Certification, "certification", _slashed),
    ),
    "event_leases": Table(
        "event_leases",
        "event lease",
        ("event_id",),
        ("event_id", "owner", "leased_until"),
        lambda lease: (lease.event_id, lease.owner, micros(lease.leased_until)),
        "event_id, owner, leased_until",
        lambda row: EventLease(row[0], row[1], _instant(row[2])),
    ),
    "fund_budgets": Table(
        "fund_budgets",
        "fund budget",
        ("id",),
        ("id", "program_id", "status", "version", "json"),
        lambda b: (b.id, b.program_id, str(b.status), b.version, model_document(b)),
        "id, json",
        _Decoder(FundBudget, "fund budget", _slashed),
    ),
    "fund_requests": Table(
        "fund_requests",
        "fund request",
        ("id",),
        ("id", "budget_id", "partner_id", "status", "version", "json"),
        lambda r: (r.id, r.budget_id, r.partner_id, str(r.status), r.version, model_document(r)),
        "id, json",
        _Decoder(FundRequest, "fund request", _slashed),
    ),
    "fund_claims": Table(
        "fund_claims",
        "fund claim",
        ("id",),
        ("id", "budget_id", "request_id", "partner_id", "status", "version", "json"),
        lambda c: (
            c.id,
            c.budget_id,
            c.request_id,
            c.partner_id,
            str(c.status),
            c.version,
            model_document(c),
        ),
        "id, json",
        _Decoder(FundClaim, "fund claim", _slashed),
    ),
    "incentive_statements": Table(
        "incentive_statements",
        "incentive statement",
        ("id",),
        ("id", "plan_id", "partner_id", "period_start", "status", "version", "json"),
        lambda s: (
            s.id,
            s.plan_id,
            s.partner_id,
            micros(s.period_start),
            str(s.status),
            s.version,
            model_document(s),
        ),
        "id, json",
        _Decoder(Statement, "incentive statement", lambda row: str(row[0])),
    ),
    # Every version of every plan, side by side.
    "incentive_plans": Table(
        "incentive_plans",
        "incentive plan",
        ("plan_id", "version"),
        ("plan_id", "version", "json"),
        lambda p: (p.id, p.version, model_document(p)),
        "plan_id, version, json",
        _incentive_plan,
    ),
    "leads": Table(
        "leads",
        "lead",
        ("id",),
        ("id", "status", "partner_id", "offer_expires_at", "last_offered_at", "version", "json"),
        lambda lead: (
            lead.id,
            str(lead.status),
            lead.partner_id,
            _optional(lead.offer_expires_at),
            _optional(lead.last_offered_at),
            lead.version,
            model_document(lead),
        ),
        "id, json",
        _Decoder(Lead, "lead", _slashed),
    ),
    # seq is the recording order ("oldest first").
    "events": Table(
        "outbox",
        "event",
        ("id",),
        ("id", "recorded_at", "json"),
        lambda r: (r.id, micros(r.recorded_at), model_document(r)),
        "id, json",
        _Decoder(EventRecord, "event", _slashed),
        order="seq",
    ),
}
