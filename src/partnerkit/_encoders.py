"""Partners and activities as JSON text, written by hand where the shape is known.

`json.dumps(serialization.to_dict(record))` spends most of its time in cattrs'
unstructuring; for the two records written in bulk, the functions here produce
exactly the same text in a fraction of the time. `make(escape)` builds the pair for
one way of writing strings: `json.encoder.encode_basestring_ascii` gives the
ASCII documents storage keeps (`partnerkit._documents`), `encode_basestring` the
text `partnerkit.serialization.to_json` returns (``ensure_ascii=False``).

They take only the shapes they know and raise `UnusualShapeError` (or the
``TypeError``, ``AttributeError`` or ``ValueError`` a surprise causes) for any
other: a subclass, a field of another type, a model whose fields changed. Callers
then fall back to `partnerkit.serialization`, and check the schema version
themselves (this module imports nothing of serialization, which imports it).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from json.encoder import encode_basestring, encode_basestring_ascii
from typing import TYPE_CHECKING, Any, Final

import attrs

from partnerkit._base.money import Money
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

if TYPE_CHECKING:
    import enum
    from collections.abc import Callable

__all__ = [
    "KNOWN_SHAPES",
    "SURPRISES",
    "UnusualShapeError",
    "activity_ascii",
    "activity_text",
    "field_names",
    "make",
    "partner_ascii",
    "partner_text",
]


class UnusualShapeError(Exception):
    """A value the hand-made encoders leave to `partnerkit.serialization`."""


#: What an encoder may raise for a shape it does not know.
SURPRISES: Final = (UnusualShapeError, TypeError, AttributeError, ValueError)


def field_names(cls: type[Any]) -> tuple[str, ...]:
    """The names of an attrs class's fields, in their order."""
    return tuple(field.name for field in attrs.fields(cls))


# The encoders below know these fields; if a model gains or loses one, they step aside.
KNOWN_SHAPES: Final = (
    field_names(Partner)
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
    and field_names(Contact) == ("name", "email", "role", "primary")
    and field_names(OnboardingStep)
    == ("key", "title", "due_on", "required", "owner", "completed_at", "completed_by")
    and field_names(StatusChange) == ("action", "from_status", "to_status", "actor", "at", "reason")
    and field_names(Activity)
    == ("id", "partner_id", "kind", "occurred_at", "value", "attributes", "expires_on")
)


def _flag(value: object) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    raise UnusualShapeError


def _instant(value: object) -> str:
    if type(value) is datetime:
        return f'"{value.isoformat()}"'
    raise UnusualShapeError


def _optional_instant(value: object) -> str:
    return "null" if value is None else _instant(value)


def _day(value: object) -> str:
    if type(value) is date:
        return f'"{value.isoformat()}"'
    raise UnusualShapeError


def _optional_day(value: object) -> str:
    return "null" if value is None else _day(value)


def make(  # noqa: PLR0915 - one closure per escaper keeps the hot path free of lookups
    escape: Callable[[str], str],
) -> tuple[Callable[[Partner], str], Callable[[Activity], str]]:
    """The partner and activity encoders writing strings with ``escape``."""
    esc = escape

    def text(value: object) -> str:
        if isinstance(value, str):
            return esc(value)
        raise UnusualShapeError

    def optional_text(value: object) -> str:
        return "null" if value is None else text(value)

    def member(value: object, cls: type[enum.StrEnum]) -> str:
        # A StrEnum member is the text of its value, as json.dumps writes it.
        if type(value) is cls:
            return esc(value)
        raise UnusualShapeError

    def scalar(value: object) -> str:
        if isinstance(value, str):
            return esc(value)
        if value is None:
            return "null"
        if value is True:
            return "true"
        if value is False:
            return "false"
        if type(value) is int:
            return repr(value)
        raise UnusualShapeError

    def custom_value(value: object) -> str:
        kind = type(value)
        if kind is Decimal:
            return f'{{"decimal": "{value:f}"}}'
        if kind is date:
            return f'{{"date": "{value.isoformat()}"}}'  # type: ignore[attr-defined]
        return scalar(value)

    def step(item: object) -> str:
        if type(item) is not OnboardingStep:
            raise UnusualShapeError
        return (
            f'{{"key": {text(item.key)}, "title": {text(item.title)}, '
            f'"due_on": {_day(item.due_on)}, "required": {_flag(item.required)}, '
            f'"owner": {member(item.owner, StepOwner)}, '
            f'"completed_at": {_optional_instant(item.completed_at)}, '
            f'"completed_by": {optional_text(item.completed_by)}}}'
        )

    def change(item: object) -> str:
        if type(item) is not StatusChange:
            raise UnusualShapeError
        return (
            f'{{"action": {member(item.action, PartnerAction)}, '
            f'"from_status": {member(item.from_status, PartnerStatus)}, '
            f'"to_status": {member(item.to_status, PartnerStatus)}, '
            f'"actor": {text(item.actor)}, "at": {_instant(item.at)}, '
            f'"reason": {text(item.reason)}}}'
        )

    def partner(p: Partner) -> str:
        """``json.dumps(to_dict(p))`` of a partner of a known shape."""
        if type(p) is not Partner or not KNOWN_SHAPES:
            raise UnusualShapeError
        # Partner.__attrs_post_init__ has checked the types of every field but
        # joined_on, onboarding and history, so those alone go through the checking
        # helpers; anything else unexpected makes the escaper raise.
        contacts = p.contacts
        if any(type(contact) is not Contact for contact in contacts):
            raise UnusualShapeError
        people = ", ".join(
            [
                f'{{"name": {esc(c.name)}, "email": {esc(c.email)}, "role": {esc(c.role)}, '
                f'"primary": {"true" if c.primary else "false"}}}'
                for c in contacts
            ]
        )
        fields = p.custom_fields
        custom = ", ".join([f"{esc(key)}: {custom_value(fields[key])}" for key in fields])
        steps = ", ".join([step(item) for item in p.onboarding]) if p.onboarding else ""
        moves = ", ".join([change(move) for move in p.history]) if p.history else ""
        updated = p.updated_at  # set to created_at when not given
        if updated is None:
            raise UnusualShapeError
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

    def activity(a: Activity) -> str:
        """``json.dumps(to_dict(a))`` of an activity of a known shape."""
        if type(a) is not Activity or not KNOWN_SHAPES:
            raise UnusualShapeError
        # Activity.__attrs_post_init__ has checked the type of every field.
        value = a.value
        if value is None:
            amount = "null"
        elif type(value) is Money:
            amount = f'{{"amount": "{value.amount:f}", "currency": {esc(value.currency)}}}'
        elif type(value) is Decimal:
            amount = f'"{value:f}"'
        else:
            raise UnusualShapeError
        details = a.attributes
        attributes = ", ".join([f"{esc(key)}: {scalar(details[key])}" for key in details])
        expires = a.expires_on
        return (
            f'{{"id": {esc(a.id)}, "partner_id": {esc(a.partner_id)}, "kind": {esc(a.kind)}, '
            f'"occurred_at": "{datetime.isoformat(a.occurred_at)}", "value": {amount}, '
            f'"attributes": {{{attributes}}}, '
            f'"expires_on": {"null" if expires is None else _day(expires)}, '
            f'"schema_version": 1}}'
        )

    return partner, activity


#: Documents as storage keeps them: every non-ASCII character escaped.
partner_ascii, activity_ascii = make(encode_basestring_ascii)
#: Text as `partnerkit.serialization.to_json` returns it.
partner_text, activity_text = make(encode_basestring)
