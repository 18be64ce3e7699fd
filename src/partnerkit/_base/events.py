"""Domain events: what happened, recorded by domain functions, carried out by storage."""

from __future__ import annotations

from datetime import datetime
from typing import Generic, NamedTuple, TypeVar

import attrs

from partnerkit._base.frozen import freeze
from partnerkit._base.time import to_utc
from partnerkit.errors import Problems

__all__ = ["Change", "Event", "EventRecord", "Scalar"]

T = TypeVar("T")

#: A flat JSON value: what event data, activity attributes and filters hold.
Scalar = str | int | bool | None


def check_scalars(values: object, problems: Problems, path: str) -> dict[str, Scalar]:
    """Validate a flat mapping of names to JSON scalars (no floats, no nesting).

    Returns:
        The mapping as a `FrozenDict`, so the model holding it stays unchangeable.
    """
    if not isinstance(values, dict):
        problems.add(path, f"expected a dict of names to values, got {type(values).__name__}")
        return {}
    checked: dict[str, Scalar] = {}
    for key, value in values.items():
        if not isinstance(key, str) or not key:
            problems.add(path, f"keys must be non-empty strings, got {key!r}")
        elif value is not None and not isinstance(value, (str, int)):
            problems.add(
                f"{path}[{key!r}]",
                f"expected a str, int, bool or None, got {type(value).__name__}"
                + ("; pass decimals as strings" if isinstance(value, float) else ""),
            )
        else:
            checked[key] = value
    return freeze(checked)


@attrs.frozen
class Event:
    """Something that happened in the domain, such as a partner being activated.

    Domain functions return events beside the new state; a unit of work records
    them in its outbox when it commits, and only then are they delivered.

    Attributes:
        kind: What happened, as a dotted name: ``"partner.status_changed"``.
        subject_id: The id of the record it happened to.
        occurred_at: When, aware and in UTC.
        actor: Who caused it, when known.
        data: Flat details: names to str, int, bool or None.
    """

    kind: str
    subject_id: str
    occurred_at: datetime
    actor: str | None = None
    data: dict[str, Scalar] = attrs.field(factory=dict)

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        occurred_at = problems.check("occurred_at", to_utc, self.occurred_at, "")
        if occurred_at is not None:
            object.__setattr__(self, "occurred_at", occurred_at)
        if not isinstance(self.kind, str) or not self.kind:
            problems.add("kind", "give the event a kind such as 'partner.activated'")
        if not isinstance(self.subject_id, str) or not self.subject_id:
            problems.add("subject_id", "give the id of the record the event is about")
        object.__setattr__(self, "data", check_scalars(self.data, problems, "data"))
        problems.raise_if_any()


@attrs.frozen
class EventRecord:
    """An event as the outbox holds it: with its id and the order it was recorded in.

    Attributes:
        id: Unique and sortable in recording order.
        event: The event itself.
        recorded_at: When the unit of work that produced it committed.
    """

    id: str
    event: Event
    recorded_at: datetime


class Change(NamedTuple, Generic[T]):
    """A domain function's answer: the new value and the events the change implies.

    Unpacks like a tuple: ``partner, events = activate(partner, ...)``.
    """

    value: T
    events: tuple[Event, ...]
