"""Memberships of partners in programs, manager pins, downgrade proposals, tier history."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Final

import attrs

from partnerkit._base.checks import (
    a_slug,
    a_text,
    an_id,
    an_instant,
    check_fields,
    check_slug,
    one_of,
    optional,
)
from partnerkit._base.time import to_utc
from partnerkit.errors import Problems, ValidationError

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from partnerkit._base.checks import Checker
    from partnerkit._base.events import Event

__all__ = [
    "DowngradeProposal",
    "Membership",
    "MembershipStatus",
    "Pin",
    "TierAssignment",
    "TierChangeCause",
    "apply_tier_events",
    "record_tier_change",
    "tier_at",
    "tier_on",
]

_END_OF_DAY: Final = time(23, 59, 59, 999999, tzinfo=UTC)


class MembershipStatus(enum.StrEnum):
    """Whether a membership takes part in reviews."""

    ACTIVE = "active"
    """Reviewed on the program's cadence."""
    SUSPENDED = "suspended"
    """Kept as it is; reviews skip it until it is active again."""
    ENDED = "ended"
    """The partner left the program; kept for history."""


def _optional_slug(value: object) -> str | None:
    return None if value is None else check_slug(value, "tier id")


def _check_date(value: object) -> date:
    if not isinstance(value, date) or isinstance(value, datetime):
        raise ValidationError.single("", f"expected a date, got {type(value).__name__}")
    return value


def _check_count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError.single("", f"expected a whole number, 0 or more, got {value!r}")
    return value


#: How each field of `Pin` is checked (see `check_fields`).
_PIN_FIELDS: Final[Mapping[str, Checker]] = {
    "tier_id": a_slug("tier id"),
    "until": _check_date,
    "reason": a_text(required=True, limit=2000),
    "by": an_id,
    "at": an_instant,
}
_PIN_CHECK_ONLY: Final = ("tier_id", "until", "by")


@attrs.frozen
class Pin:
    """A channel manager's hold of a partner on a tier, whatever its metrics say.

    The pin wins over every review until it lapses by itself on ``until``; the next
    review after that evaluates the partner normally, starting grace if it does not
    meet the tier.

    Attributes:
        tier_id: The tier the partner is held on.
        until: The first day the pin no longer applies.
        reason: Why (required).
        by: Who pinned.
        at: When.
    """

    tier_id: str
    until: date
    reason: str
    by: str
    at: datetime

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        check_fields(self, problems, _PIN_FIELDS, check_only=_PIN_CHECK_ONLY)
        problems.raise_if_any()

    def is_active(self, on: date | datetime) -> bool:
        """Whether the pin still holds on ``on`` (a date, or an instant read in UTC)."""
        day = to_utc(on).date() if isinstance(on, datetime) else on
        return day < self.until


@attrs.frozen
class DowngradeProposal:
    """A downgrade a review proposed, waiting for a channel manager's decision.

    Attributes:
        from_tier_id: The tier the partner holds.
        to_tier_id: One level down (``None``: below the entry tier, out of the tiers).
        proposed_at: The review that proposed it.
        failing_reviews: Consecutive failing reviews when it was proposed.
    """

    from_tier_id: str
    to_tier_id: str | None
    proposed_at: datetime
    failing_reviews: int

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        problems.check("from_tier_id", check_slug, self.from_tier_id, "tier id")
        problems.check("to_tier_id", _optional_slug, self.to_tier_id)
        at = problems.check("proposed_at", to_utc, self.proposed_at, "")
        object.__setattr__(self, "proposed_at", at)
        problems.check("failing_reviews", _check_count, self.failing_reviews)
        problems.raise_if_any()


#: How each field of `Membership` is checked (see `check_fields`).
_MEMBERSHIP_FIELDS: Final[Mapping[str, Checker]] = {
    "partner_id": an_id,
    "program_id": an_id,
    "joined_on": _check_date,
    "status": one_of(MembershipStatus),
    "tier_id": _optional_slug,
    "tier_since": optional(an_instant),
    "last_review_at": optional(an_instant),
    "failing_reviews": _check_count,
    "version": _check_count,
}
_MEMBERSHIP_CHECK_ONLY: Final = (
    "partner_id",
    "program_id",
    "joined_on",
    "tier_id",
    "failing_reviews",
    "version",
)


@attrs.frozen
class Membership:
    """A partner's membership in one program, with the bookkeeping reviews need.

    A partner may be a member of several programs, each with its own membership.
    Change memberships with `review`, `apply_decision`, `approve_downgrade`,
    `reject_downgrade`, `pin_tier` and `unpin`; storage bumps ``version``.

    Attributes:
        partner_id: The member.
        program_id: The program.
        joined_on: When the partner joined; the built-in metrics count from it.
        status: Whether reviews include it.
        tier_id: The tier held (``None``: not in any tier yet).
        tier_since: When the held tier took effect.
        failing_reviews: Consecutive counted reviews the partner failed its tier;
            1 or more means it is in grace (or proposed for downgrade).
        last_review_at: The last review that changed the membership; a review at
            or before it changes nothing (reviews are idempotent per instant). A
            membership a review keeps as it is (in good standing, or pinned) is not
            rewritten, so this can be older than the last review run.
        proposal: A downgrade waiting for a manager's approval.
        pin: A manager's hold on a tier.
        version: The stored version this value was read at (0 before first save).
    """

    partner_id: str
    program_id: str
    joined_on: date
    status: MembershipStatus = MembershipStatus.ACTIVE
    tier_id: str | None = None
    tier_since: datetime | None = None
    failing_reviews: int = 0
    last_review_at: datetime | None = None
    proposal: DowngradeProposal | None = None
    pin: Pin | None = None
    version: int = 0

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        check_fields(self, problems, _MEMBERSHIP_FIELDS, check_only=_MEMBERSHIP_CHECK_ONLY)
        if self.tier_id is None:
            if self.tier_since is not None:
                problems.add("tier_since", "only a membership with a tier has a tier_since")
            if self.failing_reviews:
                problems.add("failing_reviews", "a membership without a tier cannot fail it")
        if self.proposal is not None:
            if not isinstance(self.proposal, DowngradeProposal):
                problems.add("proposal", "expected a DowngradeProposal")
            elif self.proposal.from_tier_id != self.tier_id:
                problems.add(
                    "proposal.from_tier_id",
                    f"the proposal is from {self.proposal.from_tier_id!r} but the membership "
                    f"holds {self.tier_id!r}; drop the stale proposal",
                )
        if self.pin is not None:
            if not isinstance(self.pin, Pin):
                problems.add("pin", "expected a Pin")
            elif self.pin.tier_id != self.tier_id:
                problems.add(
                    "pin.tier_id",
                    f"the pin holds {self.pin.tier_id!r} but the membership holds "
                    f"{self.tier_id!r}; pin with pin_tier(), which moves the tier too",
                )
        problems.raise_if_any()

    @property
    def in_grace(self) -> bool:
        """Whether the partner failed its tier at the last counted review."""
        return self.failing_reviews > 0

    def active_pin(self, at: date | datetime) -> Pin | None:
        """The pin, if there is one and it still holds at ``at``."""
        pin = self.pin
        return pin if pin is not None and pin.is_active(at) else None

    @property
    def standing(self) -> str:
        """``pinned``, ``proposed for downgrade``, ``in grace`` or ``in good standing``."""
        if self.pin is not None:
            return "pinned"
        if self.proposal is not None:
            return "proposed for downgrade"
        if self.failing_reviews:
            return "in grace"
        return "in good standing"


class TierChangeCause(enum.StrEnum):
    """Why a partner's tier changed."""

    UPGRADE = "upgrade"
    DOWNGRADE = "downgrade"
    PIN = "pin"
    ASSIGNED = "assigned"
    """Set by hand or imported, outside reviews."""


#: How each field of `TierAssignment` is checked (see `check_fields`).
_ASSIGNMENT_FIELDS: Final[Mapping[str, Checker]] = {
    "partner_id": an_id,
    "program_id": an_id,
    "tier_id": a_slug("tier id"),
    "valid_from": an_instant,
    "valid_until": optional(an_instant),
}
_ASSIGNMENT_CHECK_ONLY: Final = ("partner_id", "program_id", "tier_id")


@attrs.frozen
class TierAssignment:
    """One stretch of time a partner held one tier of one program.

    History is a sequence of these; the open one (``valid_until`` is ``None``) is
    the current tier. A stretch covers ``valid_from <= t < valid_until``. Storage
    keys an assignment by (program_id, partner_id, valid_from): closing one
    rewrites its ``valid_until``.

    Attributes:
        partner_id: The partner.
        program_id: The program.
        tier_id: The tier held.
        valid_from: When it took effect.
        valid_until: When it ended (``None``: still held).
        cause: Why it started.
        actor: Who caused it (``None`` for reviews).
    """

    partner_id: str
    program_id: str
    tier_id: str
    valid_from: datetime
    valid_until: datetime | None = None
    cause: TierChangeCause = TierChangeCause.ASSIGNED
    actor: str | None = None

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        check_fields(self, problems, _ASSIGNMENT_FIELDS, check_only=_ASSIGNMENT_CHECK_ONLY)
        start, end = self.valid_from, self.valid_until
        if start is not None and end is not None and end < start:
            problems.add("valid_until", "ends before it starts; valid_until >= valid_from")
        check_fields(
            self,
            problems,
            {"cause": one_of(TierChangeCause), "actor": optional(an_id)},
            check_only=("actor",),
        )
        problems.raise_if_any()

    def covers(self, at: datetime) -> bool:
        """Whether the tier was held at instant ``at``."""
        return self.valid_from <= at and (self.valid_until is None or at < self.valid_until)


def _instant(on: date | datetime) -> datetime:
    if isinstance(on, datetime):
        return to_utc(on, "on")
    if isinstance(on, date):
        return datetime.combine(on, _END_OF_DAY)
    raise ValidationError.single("on", f"expected a date or an aware datetime, got {on!r}")


def tier_at(
    history: Iterable[TierAssignment],
    partner_id: str,
    at: datetime,
    *,
    program_id: str | None = None,
) -> str | None:
    """The tier ``partner_id`` held at instant ``at`` (``None``: no tier then).

    Args:
        history: Tier assignments; those of other partners (and, when
            ``program_id`` is given, other programs) are ignored.
        partner_id: The partner.
        at: The instant (aware).
        program_id: Restrict to one program; needed when the partner is in several.

    Raises:
        ValidationError: If the partner held tiers of several programs at ``at``
            and no ``program_id`` was given.
    """
    instant = to_utc(at, "at")
    found = [
        assignment
        for assignment in history
        if assignment.partner_id == partner_id
        and (program_id is None or assignment.program_id == program_id)
        and assignment.covers(instant)
    ]
    programs = sorted({assignment.program_id for assignment in found})
    if len(programs) > 1:
        raise ValidationError.single(
            "program_id",
            f"partner {partner_id!r} held tiers in {', '.join(programs)} then; name the program",
        )
    if not found:
        return None
    # Overlaps only come from hand-edited history: the latest start wins.
    return max(found, key=lambda assignment: assignment.valid_from).tier_id


def tier_on(
    history: Iterable[TierAssignment],
    partner_id: str,
    on: date | datetime,
    *,
    program_id: str | None = None,
) -> str | None:
    """Which tier was partner ``partner_id`` in on date ``on``?

    A date means the end of that day in UTC: the tier the partner held when the
    day closed, so a change made during the day counts for that day. Pass an aware
    datetime for an exact instant (same as `tier_at`).
    """
    return tier_at(history, partner_id, _instant(on), program_id=program_id)


def record_tier_change(
    history: Sequence[TierAssignment],
    *,
    partner_id: str,
    program_id: str,
    tier_id: str | None,
    at: datetime,
    cause: TierChangeCause,
    actor: str | None = None,
) -> tuple[TierAssignment, ...]:
    """Close the open assignment of the membership at ``at`` and open ``tier_id``.

    Returns:
        The whole history, oldest first, with the change. ``tier_id=None`` only
        closes (the partner left every tier).

    Raises:
        ValidationError: If ``at`` is before the open assignment started.
    """
    instant = to_utc(at, "at")
    updated: list[TierAssignment] = []
    for assignment in history:
        if (
            assignment.partner_id == partner_id
            and assignment.program_id == program_id
            and assignment.valid_until is None
        ):
            if instant < assignment.valid_from:
                raise ValidationError.single(
                    "at",
                    f"{instant.isoformat()} is before the open assignment to "
                    f"{assignment.tier_id!r} started ({assignment.valid_from.isoformat()}); "
                    f"record changes in time order",
                )
            assignment = attrs.evolve(assignment, valid_until=instant)  # noqa: PLW2901
        updated.append(assignment)
    if tier_id is not None:
        updated.append(TierAssignment(partner_id, program_id, tier_id, instant, None, cause, actor))
    return tuple(sorted(updated, key=lambda assignment: assignment.valid_from))


def apply_tier_events(
    history: Sequence[TierAssignment], events: Iterable[Event]
) -> tuple[TierAssignment, ...]:
    """Fold ``tier.changed`` events (from reviews, approvals and pins) into a history.

    Other events are ignored, so the events of a whole review can be passed as they
    are. Each ``tier.changed`` event closes the partner's open assignment in that
    program and opens the new tier at the event's ``effective_at``.
    """
    updated = tuple(history)
    for event in events:
        if event.kind != "tier.changed":
            continue
        data = event.data
        updated = record_tier_change(
            updated,
            partner_id=event.subject_id,
            program_id=str(data["program_id"]),
            tier_id=None if data.get("to_tier") is None else str(data["to_tier"]),
            at=datetime.fromisoformat(str(data["effective_at"])),
            cause=TierChangeCause(str(data["cause"])),
            actor=event.actor,
        )
    return updated
