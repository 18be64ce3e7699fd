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
from typing import Any, Final

import attrs

from partnerkit._base.frozen import freeze
from partnerkit._base.money import Money
from partnerkit._base.trusted import trusted_from
from partnerkit._encoders import KNOWN_SHAPES, SURPRISES, activity_ascii, partner_ascii
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

__all__ = [
    "activity_document",
    "model_document",
    "partner_document",
    "read_activity",
    "read_partner",
]


def partner_document(partner: Partner) -> str:
    """``json.dumps(to_dict(partner))``, written by hand for the shapes it knows."""
    if schema_version(Partner) == 1:
        try:
            return partner_ascii(partner)
        except SURPRISES:
            pass
    return model_document(partner)


def activity_document(activity: Activity) -> str:
    """``json.dumps(to_dict(activity))``, written by hand for the shapes it knows."""
    if schema_version(Activity) == 1:
        try:
            return activity_ascii(activity)
        except SURPRISES:
            pass
    return model_document(activity)


def model_document(model: object) -> str:
    """``to_json(model)``, with every non-ASCII character escaped.

    Stored documents are pure ASCII: a lone surrogate, which Python text may hold,
    cannot be encoded as UTF-8 for SQLite, but it can be escaped.
    """
    return json.dumps(to_dict(model))


# -- reading what the encoders wrote ----------------------------------------------


def _fields(cls: type[Any]) -> tuple[str, ...]:
    return tuple(field.name for field in attrs.fields(cls))


_PARTNER_KEYS: Final = frozenset((*_fields(Partner), "schema_version"))
_ACTIVITY_KEYS: Final = frozenset((*_fields(Activity), "schema_version"))
_CONTACT_KEYS: Final = frozenset(_fields(Contact))
_STEP_KEYS: Final = frozenset(_fields(OnboardingStep))
_CHANGE_KEYS: Final = frozenset(_fields(StatusChange))
_MONEY_KEYS: Final = frozenset(("amount", "currency"))
_SCALARS: Final = (str, int, bool, type(None))
_load: Final = json.JSONDecoder().decode
_new_instant: Final = datetime.fromisoformat
_new_day: Final = date.fromisoformat


class _NotOursError(Exception):
    """A document the trusted readers leave to `partnerkit.serialization`."""


def _read_text(value: object) -> str:
    if type(value) is str:
        return value
    raise _NotOursError


def _read_optional_text(value: object) -> str | None:
    return None if value is None else _read_text(value)


def _read_instant(value: object) -> datetime:
    # Stored instants are written in UTC; fromisoformat gives them the UTC singleton.
    moment = _new_instant(_read_text(value))
    if moment.tzinfo is not UTC:
        raise _NotOursError
    return moment


def _read_optional_instant(value: object) -> datetime | None:
    return None if value is None else _read_instant(value)


def _read_optional_day(value: object) -> date | None:
    return None if value is None else _new_day(_read_text(value))


def _read_flag(value: object) -> bool:
    if type(value) is bool:
        return value
    raise _NotOursError


def _read_list(value: object) -> list[Any]:
    if type(value) is list:
        return value
    raise _NotOursError


def _read_object(value: object, keys: frozenset[str]) -> dict[str, Any]:
    if type(value) is dict and value.keys() == keys:
        return value
    raise _NotOursError


def _read_contact(value: object) -> Contact:
    c = _read_object(value, _CONTACT_KEYS)
    return trusted_from(
        Contact,
        {
            "name": _read_text(c["name"]),
            "email": _read_text(c["email"]),
            "role": _read_text(c["role"]),
            "primary": _read_flag(c["primary"]),
        },
    )


def _read_step(value: object) -> OnboardingStep:
    s = _read_object(value, _STEP_KEYS)
    return trusted_from(
        OnboardingStep,
        {
            "key": _read_text(s["key"]),
            "title": _read_text(s["title"]),
            "due_on": _new_day(_read_text(s["due_on"])),
            "required": _read_flag(s["required"]),
            "owner": StepOwner(s["owner"]),
            "completed_at": _read_optional_instant(s["completed_at"]),
            "completed_by": _read_optional_text(s["completed_by"]),
        },
    )


def _read_change(value: object) -> StatusChange:
    c = _read_object(value, _CHANGE_KEYS)
    return trusted_from(
        StatusChange,
        {
            "action": PartnerAction(c["action"]),
            "from_status": PartnerStatus(c["from_status"]),
            "to_status": PartnerStatus(c["to_status"]),
            "actor": _read_text(c["actor"]),
            "at": _read_instant(c["at"]),
            "reason": _read_text(c["reason"]),
        },
    )


def _read_custom(value: object) -> object:
    if type(value) in _SCALARS and value is not None:
        return value
    if type(value) is dict and len(value) == 1:
        ((tag, text),) = value.items()
        if tag == "decimal":
            return Decimal(_read_text(text))
        if tag == "date":
            return _new_day(_read_text(text))
    raise _NotOursError


def _read_amount(value: object) -> Money | Decimal | None:
    if value is None:
        return None
    if type(value) is str:
        return Decimal(value)
    money = _read_object(value, _MONEY_KEYS)
    amount = Decimal(_read_text(money["amount"]))
    return trusted_from(Money, {"amount": amount, "currency": _read_text(money["currency"])})


def _document(text: str | bytes, keys: frozenset[str]) -> dict[str, Any]:
    document = _load(text if isinstance(text, str) else text.decode())
    if type(document) is not dict or document.keys() != keys or document["schema_version"] != 1:
        raise _NotOursError
    return document


def read_partner(text: str | bytes) -> Partner:
    """The `Partner` whose stored document ``text`` is (see the module docstring).

    Raises:
        ValidationError: If ``text`` is not a partner document at all.
    """
    if not KNOWN_SHAPES or schema_version(Partner) != 1:
        return from_json(Partner, text)
    try:
        d = _document(text, _PARTNER_KEYS)
        fields = d["custom_fields"]
        if type(fields) is not dict:
            raise _NotOursError
        created = _read_instant(d["created_at"])
        version = d["version"]
        if type(version) is not int or version < 0:
            raise _NotOursError
        return trusted_from(
            Partner,
            {
                "id": _read_text(d["id"]),
                "name": _read_text(d["name"]),
                "type": _read_text(d["type"]),
                "country": _read_text(d["country"]),
                "created_at": created,
                "status": PartnerStatus(d["status"]),
                "region": _read_text(d["region"]),
                "domains": tuple(map(_read_text, _read_list(d["domains"]))),
                "owner_id": _read_optional_text(d["owner_id"]),
                "parent_id": _read_optional_text(d["parent_id"]),
                "contacts": tuple(map(_read_contact, _read_list(d["contacts"]))),
                "custom_fields": freeze({key: _read_custom(fields[key]) for key in fields}),
                "joined_on": _read_optional_day(d["joined_on"]),
                "onboarding": tuple(map(_read_step, _read_list(d["onboarding"]))),
                "history": tuple(map(_read_change, _read_list(d["history"]))),
                "updated_at": _read_instant(d["updated_at"]),
                "version": version,
            },
        )
    except (_NotOursError, ValueError, TypeError, AttributeError, RecursionError):
        return from_json(Partner, text)


def read_activity(text: str | bytes) -> Activity:
    """The `Activity` whose stored document ``text`` is (see the module docstring).

    Raises:
        ValidationError: If ``text`` is not an activity document at all.
    """
    if not KNOWN_SHAPES or schema_version(Activity) != 1:
        return from_json(Activity, text)
    try:
        d = _document(text, _ACTIVITY_KEYS)
        attributes = d["attributes"]
        if type(attributes) is not dict or not all(
            type(value) in _SCALARS for value in attributes.values()
        ):
            raise _NotOursError
        return trusted_from(
            Activity,
            {
                "id": _read_text(d["id"]),
                "partner_id": _read_text(d["partner_id"]),
                "kind": _read_text(d["kind"]),
                "occurred_at": _read_instant(d["occurred_at"]),
                "value": _read_amount(d["value"]),
                "attributes": freeze(attributes),
                "expires_on": _read_optional_day(d["expires_on"]),
            },
        )
    except (_NotOursError, ValueError, TypeError, AttributeError, RecursionError):
        return from_json(Activity, text)
