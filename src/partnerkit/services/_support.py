"""Helpers the services share: access slices, cursors, redaction, the screening guard."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, TypeVar

import attrs

from partnerkit._base.events import Event
from partnerkit._base.time import Period
from partnerkit.access import AccessPolicy, Actor, Scope
from partnerkit.deals import (
    Conflict,
    ConflictIndex,
    ConflictOutcome,
    DealRegistration,
    PartyKind,
    find_conflicts,
)
from partnerkit.errors import (
    NotFoundError,
    StaleVersionError,
    ValidationError,
)
from partnerkit.storage._staging import (
    DEAL_CHANGES,
    DEALS,
    MAX_KEYS,
    Condition,
    Query,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import datetime

    from partnerkit._base.events import Scalar
    from partnerkit.partners import (
        Partner,
    )
    from partnerkit.storage import CommittedReads


from partnerkit.services._intents import (
    _MAX_PAGE,
    ConflictNotice,
)

_T = TypeVar("_T")


@attrs.frozen
class _Slice:
    """One part of what an actor may see: a partner, its children, or an owner's partners."""

    partner_id: str | None = None
    parent_id: str | None = None
    owner_id: str | None = None

    def covers(self, partner: Partner) -> bool:
        if self.partner_id is not None:
            return partner.id == self.partner_id
        if self.parent_id is not None:
            return partner.parent_id == self.parent_id
        return partner.owner_id == self.owner_id


def _slices(policy: AccessPolicy, actor: Actor, action: str) -> list[_Slice] | None:
    """What ``actor`` may ``action``, as query filters; ``None`` means everything."""
    scopes = policy.scopes(actor, action)
    if Scope.ANY in scopes:
        return None
    found: list[_Slice] = []
    own = actor.partner_id
    if own is not None and scopes & {Scope.OWN, Scope.OWN_AND_CHILDREN}:
        found.append(_Slice(partner_id=own))
    if own is not None and Scope.OWN_AND_CHILDREN in scopes:
        found.append(_Slice(parent_id=own))
    if Scope.OWNED in scopes:
        found.append(_Slice(owner_id=actor.id))
    return found


def _split_cursor(cursor: str | None) -> tuple[int, str | None]:
    if cursor is None:
        return 0, None
    head, bar, tail = cursor.partition("|") if isinstance(cursor, str) else ("", "", "")
    if not bar or not head.isdigit():
        raise ValidationError.single("cursor", "malformed cursor; pass next_cursor as given")
    return int(head), tail or None


def _check_limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= _MAX_PAGE:
        raise ValidationError.single("limit", f"expected a whole number from 1 to {_MAX_PAGE}")
    return limit


def _missing(kind: str, key: str) -> NotFoundError:
    # The same error for "not there" and "not yours": a refusal tells nothing.
    return NotFoundError(kind, key)


def _found(read: Callable[[str], _T], key: str, kind: str) -> _T:
    """``read(key)``; a key it does not know is `_missing`, as a record the actor may not see."""
    try:
        return read(key)
    except NotFoundError:
        raise _missing(kind, key) from None


def _days(within: Period | int) -> Period:
    if isinstance(within, bool) or not isinstance(within, (Period, int)):
        raise ValidationError.single("expiring_within", "expected a number of days or a Period")
    period = Period.of_days(within) if isinstance(within, int) else within
    if isinstance(within, int) and within < 1:
        raise ValidationError.single("expiring_within", "give a positive number of days")
    return period


def _deprecated(old: str, new: str) -> None:
    warnings.warn(
        f"{old} is deprecated and will be removed; {new}", DeprecationWarning, stacklevel=3
    )


class _CallerStaleError(StaleVersionError):
    """A version the caller named is not the stored one: retrying cannot help."""


def _cursor_key(cursor: str | None) -> tuple[str | None, str | None]:
    """Split a deal-list cursor into the partner key it resumes at and the inner cursor."""
    if cursor is None:
        return None, None
    length, colon, rest = cursor.partition(":") if isinstance(cursor, str) else ("", "", "")
    if not colon or not length.isdigit() or len(rest) < int(length):
        raise ValidationError.single("cursor", "malformed cursor; pass next_cursor as given")
    size = int(length)
    return rest[:size], rest[size:] or None


def _make_cursor(key: str, inner: str | None) -> str:
    return f"{len(key)}:{key}{inner or ''}"


def _conflict_seen(conflict: Conflict, sees: Callable[[str | None], bool]) -> bool:
    if conflict.other_kind is PartyKind.REGISTRATION:
        return sees(conflict.other_partner_id)
    return sees(None)


def _told(conflict: Conflict, until: datetime | None) -> str:
    """A conflict in words that name neither the other partner nor its registration."""
    if conflict.other_kind is PartyKind.DIRECT_OPPORTUNITY:
        said = "the vendor's own sales team is already working this customer"
    elif conflict.other_kind is PartyKind.EXISTING_CUSTOMER:
        said = "this customer already buys from the vendor directly"
    elif conflict.has_priority:
        return (
            "another partner registered this customer after you; your registration keeps priority"
        )
    elif until is not None:
        said = (
            f"this customer is already registered by another partner and protected until "
            f"{until.isoformat()}"
        )
    else:
        said = "this customer is already registered by another partner, awaiting a decision"
    if conflict.outcome is ConflictOutcome.REJECT:
        return f"{said}; your registration was rejected as a duplicate"
    return f"{said}; a channel manager will review your registration"


def _told_event(event: Event, notice: ConflictNotice) -> Event:
    data: dict[str, Scalar] = {
        key: event.data.get(key)
        for key in ("partner_id", "other_kind", "rule", "outcome", "has_priority", "confidence")
        if key in event.data
    }
    data["matched"] = ",".join(kind.value for kind in notice.matched)
    data["reason"] = notice.message
    data["protection_until"] = (
        None if notice.protection_until is None else notice.protection_until.isoformat()
    )
    return Event(event.kind, event.subject_id, event.occurred_at, event.actor, data)


class _ScreenOutdatedError(StaleVersionError):
    """Registrations committed since the screen change its conflicts: screen again.

    A `StaleVersionError`, so `Services` retries the call on fresh state; the
    numbers are deal change numbers, which the message says instead of versions.
    """

    def __init__(self, kind: str, key: str, expected: int, actual: int | None) -> None:
        super().__init__(kind, key, expected, actual)
        message = (
            f"deal registration {key!r} was screened against the store's deal changes "
            f"up to number {expected}, but registrations committed since (up to number "
            f"{actual}) change its conflicts; nothing was written: try again, and it is "
            f"screened afresh"
        )
        self.args = (message,)


def _screened_through(
    registration: DealRegistration, mark: int, screened: Sequence[Conflict]
) -> Callable[[CommittedReads], None]:
    """A commit guard: refuse if a registration changed after ``mark`` alters the screen.

    Run inside the commit's lock or transaction, it compares ``registration`` with
    every registration whose latest change is numbered above ``mark`` (usually
    none or a few) and raises `_ScreenOutdatedError` (a `StaleVersionError`) when
    the conflicts with them differ from those ``screened``, so the work is screened
    again on fresh state.
    """
    seen = {(conflict.other_id, conflict.outcome) for conflict in screened}

    def check(reads: CommittedReads) -> None:
        where = (Condition("seq", ">", mark),)
        changed = reads.find(Query(DEAL_CHANGES, where, ("seq",), purpose="re-screening a deal"))
        ids = [change.deal_id for change in changed if change.deal_id != registration.id]
        if not ids:
            return
        index = ConflictIndex()
        for start in range(0, len(ids), MAX_KEYS):
            for other in reads.load(DEALS, ids[start : start + MAX_KEYS]).values():
                index.sync(other)
        found = {(c.other_id, c.outcome) for c in find_conflicts(registration, index)}
        if found != {pair for pair in seen if pair[0] in set(ids)}:
            raise _ScreenOutdatedError("deal", registration.id, mark, changed[-1].seq)

    return check
