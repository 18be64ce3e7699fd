"""JSON documents for storage, written and read by hand where the shape is known.

Bulk writes spend most of their Python time turning records into JSON. Partners
and activities are therefore written by the hand-made encoders below, which
produce exactly the text ``json.dumps(serialization.to_dict(record))`` does (a
property test holds them to that for every shape the hypothesis strategies draw)
in about half the time. They take only the shapes they know: any other type, a
subclass, a model whose fields changed or a newer schema version goes through
`partnerkit.serialization` itself.

Reading is the mirror image. A stored partner or activity was validated when it
was built and written by the encoders above, so `read_partner` and `read_activity`
rebuild it through `partnerkit._base.trusted` without running every check again:
they check the document's structure (its exact keys, its schema version, the JSON
type of each value, enum members, ISO instants in UTC) and leave the values
(an email's form, an id's characters) as partnerkit wrote them. A document that
does not have exactly that structure (written by an older release, or changed
outside partnerkit) is read by `partnerkit.serialization.from_json` instead, which
checks everything and names what is wrong. Both give equal models, field for field
and type for type (a property test holds them to that).

Every document is pure ASCII (``json.dumps`` escapes the rest): a lone surrogate,
which Python text may hold, cannot be encoded as UTF-8 for a database, but it can
be escaped.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from json.scanner import make_scanner
from typing import TYPE_CHECKING, Any, Final, TypeVar

from partnerkit._base.frozen import freeze
from partnerkit._base.money import Money
from partnerkit._base.trusted import builder
from partnerkit._encoders import (
    KNOWN_SHAPES,
    SURPRISES,
    activity_ascii,
    field_names,
    partner_ascii,
)
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

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "activity_document",
    "model_document",
    "partner_document",
    "read_activity",
    "read_partner",
]

_Record = TypeVar("_Record", Partner, Activity)


def _by_hand(record: _Record, cls: type[_Record], encode: Callable[[_Record], str]) -> str:
    """``encode(record)`` while ``cls`` is at the schema version it knows, else `to_dict`."""
    if schema_version(cls) == 1:
        try:
            return encode(record)
        except SURPRISES:
            pass
    return model_document(record)


def partner_document(partner: Partner) -> str:
    """``json.dumps(to_dict(partner))``, written by hand for the shapes it knows."""
    return _by_hand(partner, Partner, partner_ascii)


def activity_document(activity: Activity) -> str:
    """``json.dumps(to_dict(activity))``, written by hand for the shapes it knows."""
    return _by_hand(activity, Activity, activity_ascii)


def model_document(model: object) -> str:
    """``to_json(model)``, with every non-ASCII character escaped.

    Stored documents are pure ASCII: a lone surrogate, which Python text may hold,
    cannot be encoded as UTF-8 for SQLite, but it can be escaped.
    """
    return json.dumps(to_dict(model))


# -- reading what the encoders wrote ----------------------------------------------


_PARTNER_KEYS: Final = frozenset((*field_names(Partner), "schema_version"))
_ACTIVITY_KEYS: Final = frozenset((*field_names(Activity), "schema_version"))
_CONTACT_KEYS: Final = frozenset(field_names(Contact))
_STEP_KEYS: Final = frozenset(field_names(OnboardingStep))
_CHANGE_KEYS: Final = frozenset(field_names(StatusChange))
_MONEY_KEYS: Final = frozenset(("amount", "currency"))
_SCALARS: Final = (str, int, bool, type(None))
# The decoder's scanner itself: stored documents start with "{" and end with "}",
# so the whitespace matching around it in JSONDecoder.decode is not needed.
_scan: Final = make_scanner(json.JSONDecoder())  # type: ignore[arg-type]  # typeshed names the C type
_new_instant: Final = datetime.fromisoformat
_new_day: Final = date.fromisoformat


class _NotOursError(Exception):
    """A document the trusted readers leave to `partnerkit.serialization`."""


_new_partner: Final = builder(Partner)
_new_contact: Final = builder(Contact)
_new_step: Final = builder(OnboardingStep)
_new_change: Final = builder(StatusChange)
_new_activity: Final = builder(Activity)
_new_money: Final = builder(Money)
_STATUSES: Final = {member.value: member for member in PartnerStatus}
_ACTIONS: Final = {member.value: member for member in PartnerAction}
_OWNERS: Final = {member.value: member for member in StepOwner}


def _read_instant(value: object) -> datetime:
    # Stored instants are written in UTC; fromisoformat gives them the UTC singleton.
    if type(value) is not str:
        raise _NotOursError
    moment = _new_instant(value)
    if moment.tzinfo is not UTC:
        raise _NotOursError
    return moment


def _read_optional_instant(value: object) -> datetime | None:
    return None if value is None else _read_instant(value)


def _read_optional_day(value: object) -> date | None:
    if value is None:
        return None
    if type(value) is not str:
        raise _NotOursError
    return _new_day(value)


def _texts(values: list[Any]) -> tuple[str, ...]:
    if type(values) is not list or not all(type(value) is str for value in values):
        raise _NotOursError
    return tuple(values)


def _optional_text(value: object) -> bool:
    return value is None or type(value) is str


def _object(value: Any, keys: frozenset[str]) -> dict[str, Any]:
    """``value`` if it is a JSON object with exactly ``keys``."""
    if type(value) is not dict or value.keys() != keys:
        raise _NotOursError
    return value


def _read_contact(value: Any) -> Contact:
    c = _object(value, _CONTACT_KEYS)
    name, email, role, primary = c["name"], c["email"], c["role"], c["primary"]
    if not (type(name) is str and type(email) is str and type(role) is str):
        raise _NotOursError
    if type(primary) is not bool:
        raise _NotOursError
    return _new_contact(name, email, role, primary)


def _read_step(value: Any) -> OnboardingStep:
    s = _object(value, _STEP_KEYS)
    key, title, due_on, required = s["key"], s["title"], s["due_on"], s["required"]
    if not (type(key) is str and type(title) is str and type(due_on) is str):
        raise _NotOursError
    if type(required) is not bool or not _optional_text(s["completed_by"]):
        raise _NotOursError
    return _new_step(
        key,
        title,
        _new_day(due_on),
        required,
        _OWNERS[s["owner"]],
        _read_optional_instant(s["completed_at"]),
        s["completed_by"],
    )


def _read_change(value: Any) -> StatusChange:
    c = _object(value, _CHANGE_KEYS)
    actor, reason = c["actor"], c["reason"]
    if not (type(actor) is str and type(reason) is str):
        raise _NotOursError
    return _new_change(
        _ACTIONS[c["action"]],
        _STATUSES[c["from_status"]],
        _STATUSES[c["to_status"]],
        actor,
        _read_instant(c["at"]),
        reason,
    )


def _read_custom(value: object) -> object:
    if type(value) in _SCALARS and value is not None:
        return value
    if type(value) is dict and len(value) == 1:
        ((tag, text),) = value.items()
        if type(text) is str:
            if tag == "decimal":
                return Decimal(text)
            if tag == "date":
                return _new_day(text)
    raise _NotOursError


def _read_amount(value: object) -> Money | Decimal | None:
    if value is None:
        return None
    if type(value) is str:
        return Decimal(value)
    money = _object(value, _MONEY_KEYS)
    amount, currency = money["amount"], money["currency"]
    if not (type(amount) is str and type(currency) is str):
        raise _NotOursError
    return _new_money(Decimal(amount), currency)


def _document(text: str | bytes, keys: frozenset[str]) -> dict[str, Any]:
    if not isinstance(text, str):
        text = text.decode()
    try:
        document, end = _scan(text, 0)
    except StopIteration:
        raise _NotOursError from None
    if end != len(text):
        raise _NotOursError
    checked = _object(document, keys)
    if checked["schema_version"] != 1:
        raise _NotOursError
    return checked


#: What reading a document that is not partnerkit's own may raise on the way.
_NOT_OURS: Final = (_NotOursError, KeyError, ValueError, TypeError, AttributeError, RecursionError)


def _read(
    text: str | bytes,
    cls: type[_Record],
    keys: frozenset[str],
    build: Callable[[dict[str, Any]], _Record],
) -> _Record:
    """``build`` of the document ``text`` if it is partnerkit's own, else `from_json`."""
    if not KNOWN_SHAPES or schema_version(cls) != 1:
        return from_json(cls, text)
    try:
        return build(_document(text, keys))
    except _NOT_OURS:
        return from_json(cls, text)


def _partner_from(d: dict[str, Any]) -> Partner:
    pid, name, kind, country, region = d["id"], d["name"], d["type"], d["country"], d["region"]
    fields, version = d["custom_fields"], d["version"]
    if not (
        type(pid) is str
        and type(name) is str
        and type(kind) is str
        and type(country) is str
        and type(region) is str
        and _optional_text(d["owner_id"])
        and _optional_text(d["parent_id"])
        and type(fields) is dict
        and type(version) is int
        and version >= 0
    ):
        raise _NotOursError
    contacts, steps, history = d["contacts"], d["onboarding"], d["history"]
    if not (type(contacts) is list and type(steps) is list and type(history) is list):
        raise _NotOursError
    return _new_partner(
        pid,
        name,
        kind,
        country,
        _read_instant(d["created_at"]),
        _STATUSES[d["status"]],
        region,
        _texts(d["domains"]),
        d["owner_id"],
        d["parent_id"],
        tuple([_read_contact(contact) for contact in contacts]),
        freeze({key: _read_custom(fields[key]) for key in fields}),
        _read_optional_day(d["joined_on"]),
        tuple([_read_step(step) for step in steps]) if steps else (),
        tuple([_read_change(change) for change in history]) if history else (),
        _read_instant(d["updated_at"]),
        version,
    )


def read_partner(text: str | bytes) -> Partner:
    """The `Partner` whose stored document ``text`` is (see the module docstring).

    Raises:
        ValidationError: If ``text`` is not a partner document at all.
    """
    return _read(text, Partner, _PARTNER_KEYS, _partner_from)


def _activity_from(d: dict[str, Any]) -> Activity:
    aid, partner_id, kind, attributes = d["id"], d["partner_id"], d["kind"], d["attributes"]
    if not (
        type(aid) is str
        and type(partner_id) is str
        and type(kind) is str
        and type(attributes) is dict
        and all(type(value) in _SCALARS for value in attributes.values())
    ):
        raise _NotOursError
    return _new_activity(
        aid,
        partner_id,
        kind,
        _read_instant(d["occurred_at"]),
        _read_amount(d["value"]),
        freeze(attributes),
        _read_optional_day(d["expires_on"]),
    )


def read_activity(text: str | bytes) -> Activity:
    """The `Activity` whose stored document ``text`` is (see the module docstring).

    Raises:
        ValidationError: If ``text`` is not an activity document at all.
    """
    return _read(text, Activity, _ACTIVITY_KEYS, _activity_from)
