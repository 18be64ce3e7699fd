"""Structured check-ins: a cadence per partner or tier, notes, satisfaction and action items.

A `CheckIn` is one meeting with a partner: when it was held, who attended, the
notes, how satisfied the partner said it was (1 to 5) and the `ActionItem` s
agreed, each with an owner on one side and a due date. A `CheckInPolicy` says how
often each partner should be met: a default `partnerkit.Cadence`, overridden per
tier and per partner (the most specific wins). The next check-in is due at the
cadence's first occurrence after the last one held (or after the partner
started, if none was held); `overdue_check_ins` and `overdue_action_items` list
what slipped, oldest first, with the delay in words.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Final

import attrs

from partnerkit._base.checks import check_enum, check_slug, check_text, repeated
from partnerkit._base.events import Change, Event, Scalar
from partnerkit._base.ids import check_id
from partnerkit._base.time import Cadence, to_utc
from partnerkit.errors import InvalidTransitionError, NotFoundError, Problems, ValidationError
from partnerkit.relationship._plans import Side

__all__ = [
    "ActionItem",
    "CheckIn",
    "CheckInPolicy",
    "DueCheckIn",
    "OverdueAction",
    "complete_action",
    "due_check_ins",
    "overdue_action_items",
    "overdue_check_ins",
    "record_check_in",
]

_NOTES_LIMIT: Final = 20_000
_NEVER: Final = datetime.max.replace(tzinfo=UTC)
_SATISFACTION: Final = range(1, 6)


@attrs.frozen
class ActionItem:
    """Something agreed at a check-in: who does what by when.

    Attributes:
        id: A slug unique in the check-in (``"send_forecast"``).
        title: What to do.
        owner: Who does it (a user or contact id).
        side: The owner's side.
        due_on: The day it is due.
        done_on: The day it was done (``None``: open).
    """

    id: str
    title: str
    owner: str
    side: Side
    due_on: date
    done_on: date | None = None

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        problems.check("id", check_slug, self.id, "action item id")
        object.__setattr__(
            self, "title", problems.check("title", check_text, self.title, required=True)
        )
        problems.check("owner", check_id, self.owner, "")
        object.__setattr__(self, "side", problems.check("side", check_enum, Side, self.side))
        for name in ("due_on", "done_on"):
            value = getattr(self, name)
            if (value is not None or name == "due_on") and (
                not isinstance(value, date) or isinstance(value, datetime)
            ):
                problems.add(name, "expected a date")
        problems.raise_if_any()


@attrs.frozen
class CheckIn:
    """One check-in with a partner.

    Attributes:
        id: The check-in's id.
        partner_id: With whom.
        held_at: When it was held (aware).
        attendees: Who attended (user and contact ids), at least one.
        notes: What was said.
        satisfaction: The partner's satisfaction from 1 to 5 (``None``: not asked).
        action_items: What was agreed.
        recorded_by: Who recorded it.
        version: The stored version (0 before the first save).
    """

    id: str
    partner_id: str
    held_at: datetime
    attendees: tuple[str, ...]
    notes: str = ""
    satisfaction: int | None = None
    action_items: tuple[ActionItem, ...] = ()
    recorded_by: str = "system"
    version: int = 0

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        problems.check("id", check_id, self.id, "")
        problems.check("partner_id", check_id, self.partner_id, "")
        object.__setattr__(self, "held_at", problems.check("held_at", to_utc, self.held_at, ""))
        attendees = tuple(self.attendees) if isinstance(self.attendees, (list, tuple)) else ()
        if not attendees:
            problems.add("attendees", "name at least one attendee")
        for index, person in enumerate(attendees):
            problems.check(f"attendees[{index}]", check_id, person, "")
        object.__setattr__(self, "attendees", attendees)
        object.__setattr__(
            self,
            "notes",
            problems.check("notes", _notes, self.notes),
        )
        if self.satisfaction is not None and (
            isinstance(self.satisfaction, bool)
            or not isinstance(self.satisfaction, int)
            or self.satisfaction not in _SATISFACTION
        ):
            problems.add("satisfaction", "expected a whole number from 1 to 5, or None")
        items = tuple(self.action_items)
        for index, item in enumerate(items):
            if not isinstance(item, ActionItem):
                problems.add(f"action_items[{index}]", "expected an ActionItem")
        twice = repeated(item.id for item in items if isinstance(item, ActionItem))
        if twice:
            problems.add("action_items", f"action item ids used twice: {', '.join(twice)}")
        object.__setattr__(self, "action_items", items)
        problems.check("recorded_by", check_id, self.recorded_by, "")
        problems.raise_if_any()

    @property
    def open_items(self) -> tuple[ActionItem, ...]:
        """The action items not done yet."""
        return tuple(item for item in self.action_items if item.done_on is None)


def _notes(value: object) -> str:
    # Notes keep their line breaks, unlike names, so check_text's collapsing is not used.
    if not isinstance(value, str):
        raise ValidationError.single("", f"expected text, got {type(value).__name__}")
    text = value.strip()
    if len(text) > _NOTES_LIMIT:
        raise ValidationError.single("", f"must be at most {_NOTES_LIMIT} characters")
    return text


def record_check_in(check_in: CheckIn, *, at: datetime) -> Change[CheckIn]:
    """Record a check-in that was held; events for it and for each action item."""
    when = to_utc(at, "at")
    data: dict[str, Scalar] = {
        "partner_id": check_in.partner_id,
        "action_items": len(check_in.action_items),
    }
    events = [Event("check_in.recorded", check_in.id, when, check_in.recorded_by, data)]
    if check_in.satisfaction is not None:
        events[0] = Event(
            "check_in.recorded",
            check_in.id,
            when,
            check_in.recorded_by,
            {**data, "satisfaction": check_in.satisfaction},
        )
    events.extend(
        Event(
            "check_in.action_assigned",
            check_in.id,
            when,
            check_in.recorded_by,
            {
                "partner_id": check_in.partner_id,
                "item": item.id,
                "owner": item.owner,
                "side": item.side.value,
                "due_on": item.due_on.isoformat(),
            },
        )
        for item in check_in.action_items
    )
    return Change(check_in, tuple(events))


def complete_action(
    check_in: CheckIn, item_id: str, *, done_on: date, by: str, at: datetime
) -> Change[CheckIn]:
    """Mark one action item done.

    Raises:
        NotFoundError: If the check-in has no such item.
        InvalidTransitionError: If it is done already.
    """
    for index, item in enumerate(check_in.action_items):
        if item.id != item_id:
            continue
        if item.done_on is not None:
            raise InvalidTransitionError(
                "action item", f"{check_in.id}/{item_id}", "done", "complete", []
            )
        items = list(check_in.action_items)
        items[index] = attrs.evolve(item, done_on=done_on)
        new = attrs.evolve(check_in, action_items=tuple(items))
        event = Event(
            "check_in.action_done",
            check_in.id,
            to_utc(at, "at"),
            check_id(by, "by"),
            {"partner_id": check_in.partner_id, "item": item_id, "done_on": done_on.isoformat()},
        )
        return Change(new, (event,))
    known = ", ".join(item.id for item in check_in.action_items) or "none"
    raise NotFoundError("action item", item_id, f"check-in {check_in.id} has: {known}")


@attrs.frozen
class CheckInPolicy:
    """How often partners should be met: a default, per tier, per partner.

    Attributes:
        default: The cadence of every partner not named below.
        by_tier: Tier id to its cadence (the partner's tier is looked up by the caller).
        by_partner: Partner id to its own cadence; wins over the tier's.
    """

    default: Cadence
    by_tier: Mapping[str, Cadence] = attrs.field(factory=dict)
    by_partner: Mapping[str, Cadence] = attrs.field(factory=dict)

    def cadence_for(self, partner_id: str, tier_id: str | None = None) -> Cadence:
        """The cadence that applies to one partner."""
        if partner_id in self.by_partner:
            return self.by_partner[partner_id]
        if tier_id is not None and tier_id in self.by_tier:
            return self.by_tier[tier_id]
        return self.default


@attrs.frozen
class DueCheckIn:
    """When a partner's next check-in is due.

    Attributes:
        partner_id: The partner.
        last_held_at: The last check-in (``None``: never met).
        due_at: The next one is due then (``None``: the cadence has ended).
        overdue_days: Whole days past due at the as-of instant (0 if not due yet).
        message: In words.
    """

    partner_id: str
    last_held_at: datetime | None
    due_at: datetime | None
    overdue_days: int
    message: str


def due_check_ins(
    policy: CheckInPolicy,
    partners: Mapping[str, datetime],
    check_ins: Iterable[CheckIn],
    *,
    as_of: datetime,
    tiers: Mapping[str, str] | None = None,
) -> tuple[DueCheckIn, ...]:
    """When each partner's next check-in is due, most overdue first.

    Args:
        policy: The cadences.
        partners: Partner id to when the relationship started (the first check-in
            is due at the cadence's first occurrence after it).
        check_ins: Held check-ins (any partners; unknown ones are ignored).
        as_of: Now (aware).
        tiers: Partner id to tier id, for cadences per tier.
    """
    instant = to_utc(as_of, "as_of")
    last: dict[str, datetime] = {}
    for check_in in check_ins:
        if check_in.held_at <= instant and (
            check_in.partner_id not in last or check_in.held_at > last[check_in.partner_id]
        ):
            last[check_in.partner_id] = check_in.held_at
    rows = []
    tier_of = tiers or {}
    for partner_id, started in partners.items():
        cadence = policy.cadence_for(partner_id, tier_of.get(partner_id))
        held = last.get(partner_id)
        due = cadence.next_after(held if held is not None else to_utc(started, "partners"))
        late = 0 if due is None or due > instant else (instant - due).days
        if due is None:
            words = f"{partner_id}: no more check-ins on its cadence"
        elif due > instant:
            words = f"{partner_id}: next check-in due {due.date()}"
        else:
            since = f"last held {held.date()}" if held else "never held"
            words = f"{partner_id}: check-in overdue by {late} days (due {due.date()}, {since})"
        rows.append(DueCheckIn(partner_id, held, due, late, words))
    # Cadences that ended (no due date) sort last.
    rows.sort(key=lambda row: (-row.overdue_days, row.due_at or _NEVER, row.partner_id))
    return tuple(rows)


def overdue_check_ins(
    policy: CheckInPolicy,
    partners: Mapping[str, datetime],
    check_ins: Iterable[CheckIn],
    *,
    as_of: datetime,
    tiers: Mapping[str, str] | None = None,
) -> tuple[DueCheckIn, ...]:
    """The partners whose check-in is past due, most overdue first (see `due_check_ins`)."""
    instant = to_utc(as_of, "as_of")
    return tuple(
        row
        for row in due_check_ins(policy, partners, check_ins, as_of=instant, tiers=tiers)
        if row.due_at is not None and row.due_at <= instant
    )


@attrs.frozen
class OverdueAction:
    """An open action item past its due date.

    Attributes:
        check_in_id: The check-in it was agreed at.
        partner_id: The partner.
        item: The action item.
        overdue_days: Days past due.
        message: In words.
    """

    check_in_id: str
    partner_id: str
    item: ActionItem
    overdue_days: int
    message: str


def overdue_action_items(check_ins: Iterable[CheckIn], *, on: date) -> tuple[OverdueAction, ...]:
    """Open action items due before ``on``, most overdue first."""
    if not isinstance(on, date) or isinstance(on, datetime):
        raise ValidationError.single("on", "expected a date")
    rows = []
    for check_in in check_ins:
        for item in check_in.open_items:
            if item.due_on < on:
                late = (on - item.due_on).days
                rows.append(
                    OverdueAction(
                        check_in.id,
                        check_in.partner_id,
                        item,
                        late,
                        f"{item.title!r} ({item.side.value} owner {item.owner}) is {late} days "
                        f"overdue (due {item.due_on}, agreed {check_in.held_at.date()})",
                    )
                )
    rows.sort(key=lambda row: (-row.overdue_days, row.check_in_id, row.item.id))
    return tuple(rows)
