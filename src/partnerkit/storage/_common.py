"""What the staging layer checks and says: cursors, limits, argument checks and errors."""

from __future__ import annotations

import base64
import binascii
import json
import random
import time
from typing import TYPE_CHECKING, Final, TypeVar

import attrs

from partnerkit.deals._conflicts import customer_keys
from partnerkit.deals._model import DealRegistration, DealStatus
from partnerkit.errors import (
    AlreadyExistsError,
    ConflictError,
    CustomerClaimedError,
    PartnerkitError,
    StorageBusyError,
    ValidationError,
)
from partnerkit.tiers import Membership, Program, TierAssignment

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from partnerkit.health import HealthScore

__all__ = [
    "DEAL",
    "activity_conflict",
    "assignment_conflict",
    "assignment_key",
    "check_assignment",
    "check_busy_timeout",
    "check_deal",
    "check_limit",
    "check_membership",
    "check_model_name",
    "check_program",
    "check_record",
    "check_version",
    "claim_conflict",
    "claimed_keys",
    "closes",
    "deal_conflict",
    "decode_cursor",
    "encode_cursor",
    "kind_filter",
    "membership_conflict",
    "membership_key",
    "program_conflict",
    "retry_when_busy",
    "score_conflict",
]


T = TypeVar("T")
E = TypeVar("E", bound=BaseException)

# Whole commits are retried this often when the database stays busy; between
# attempts the writer backs off so that competing writers spread out.
_ATTEMPTS: Final = 3
_BACKOFF_SECONDS: Final = 0.05


def encode_cursor(kind: str, last_key: str) -> str:
    """An opaque cursor that resumes a ``kind`` query after ``last_key``."""
    raw = json.dumps([kind, last_key], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str | None) -> str | None:
    """The key a cursor resumes after, or ``None`` for the first page.

    Raises:
        ValidationError: If the cursor is malformed or belongs to another query.
    """
    if cursor is None:
        return None
    problem = ValidationError.single(
        "cursor", "not a cursor from this query; pass the next_cursor of the previous page"
    )
    if not isinstance(cursor, str):
        raise problem
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        tag, last_key = json.loads(raw)
    except (ValueError, TypeError, binascii.Error):
        raise problem from None
    if tag != kind or not isinstance(last_key, str):
        raise problem
    return last_key


def check_limit(limit: object, maximum: int) -> int:
    """``limit`` if it is a whole number from 1 to ``maximum``."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= maximum:
        raise ValidationError.single("limit", f"expected a whole number from 1 to {maximum}")
    return limit


def check_busy_timeout(busy_timeout: object) -> float:
    """``busy_timeout`` in seconds if it is a finite number, 0 or more."""
    if (
        isinstance(busy_timeout, bool)
        or not isinstance(busy_timeout, (int, float))
        or not 0 <= busy_timeout < float("inf")
    ):
        raise ValidationError.single(
            "busy_timeout", f"expected a number of seconds, 0 or more, got {busy_timeout!r}"
        )
    return float(busy_timeout)


def retry_when_busy(
    attempt: Callable[[], T], errors: type[E], translate: Callable[[E], PartnerkitError]
) -> T:
    """``attempt()``, a whole transaction, tried again while the database is busy.

    Args:
        attempt: Runs the transaction once, all of it or nothing.
        errors: The driver's errors, which ``translate`` turns into partnerkit's.
        translate: The partnerkit error for a driver error. While it is a
            `StorageBusyError`, the writer backs off and tries again, a few times.

    Raises:
        PartnerkitError: The translation of a driver error, or what ``attempt``
            raised itself.
    """
    for tried in range(_ATTEMPTS):
        try:
            return attempt()
        except errors as error:
            translated = translate(error)
            if not isinstance(translated, StorageBusyError) or tried + 1 == _ATTEMPTS:
                raise translated from error
        # Random jitter keeps two writers that collided from colliding again.
        time.sleep(_BACKOFF_SECONDS * (2**tried) * (0.5 + random.random()))  # noqa: S311 - jitter, not security
    raise AssertionError("unreachable")  # pragma: no cover


def kind_filter(kinds: Iterable[str] | None) -> frozenset[str] | None:
    """The kinds filter as a set (``None``: every kind)."""
    if kinds is None:
        return None
    if isinstance(kinds, str):
        return frozenset({kinds})
    return frozenset(kinds)


def membership_key(program_id: str, partner_id: str) -> str:
    """The key errors name a membership by: ``"program_id/partner_id"``."""
    return f"{program_id}/{partner_id}"


def assignment_key(assignment: TierAssignment) -> str:
    """The key errors name a tier assignment by: program, partner and ``valid_from``."""
    return f"{assignment.program_id}/{assignment.partner_id}/{assignment.valid_from.isoformat()}"


def closes(stored: TierAssignment, assignment: TierAssignment) -> bool:
    """Whether saving ``assignment`` over ``stored`` (same key) only closes an open stretch."""
    return (
        stored.valid_until is None
        and assignment.valid_until is not None
        and attrs.evolve(stored, valid_until=assignment.valid_until) == assignment
    )


def assignment_conflict(assignment: TierAssignment) -> ConflictError:
    """The error for a tier assignment that may not replace the one stored under its key."""
    return ConflictError(
        "tier assignment",
        assignment_key(assignment),
        f"partner {assignment.partner_id!r} already has a different tier assignment in "
        f"{assignment.program_id!r} from {assignment.valid_from.isoformat()}; tier history "
        f"never changes except to close an open stretch: record the change as a new "
        f"assignment (record_tier_change)",
    )


def program_conflict(program_id: str) -> ConflictError:
    """The error for adding a program whose id is taken."""
    return AlreadyExistsError(
        "program", program_id, f"a program with id {program_id!r} already exists"
    )


def membership_conflict(program_id: str, partner_id: str) -> ConflictError:
    """The error for adding a membership that exists."""
    return AlreadyExistsError(
        "membership",
        membership_key(program_id, partner_id),
        f"partner {partner_id!r} is already a member of program {program_id!r}; "
        f"use update() to change the membership",
    )


def check_program(program: object) -> Program:
    """``program`` if it is a `Program`."""
    if not isinstance(program, Program):
        raise ValidationError.single("program", f"expected a Program, got {type(program).__name__}")
    return program


def check_version(version: object) -> int:
    """``version`` if it is a whole number, 1 or more (a stored version)."""
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValidationError.single(
            "version",
            f"expected the stored version (1 or more) the change is based on, got {version!r}",
        )
    return version


def check_membership(membership: object, *, new: bool = False) -> Membership:
    """``membership`` if it is a `Membership` (at version 0 when ``new``)."""
    return check_record(membership, Membership, "membership", new=new)


def check_assignment(assignment: object) -> TierAssignment:
    """``assignment`` if it is a `TierAssignment`."""
    if not isinstance(assignment, TierAssignment):
        raise ValidationError.single(
            "assignment", f"expected a TierAssignment, got {type(assignment).__name__}"
        )
    return assignment


#: The kind storage errors about deal registrations name.
DEAL: Final = "deal"


def check_deal(registration: object, *, new: bool = False) -> DealRegistration:
    """``registration`` if it is a `DealRegistration` (at version 0 when ``new``)."""
    return check_record(registration, DealRegistration, "registration", new=new)


def check_record(
    record: object,
    cls: type[T],
    field: str,
    *,
    new: bool,
    noun: str | None = None,
    says_type: bool = True,
) -> T:
    """``record`` if it is a ``cls`` (at version 0 when ``new``), else `ValidationError`.

    Args:
        record: What the caller passed.
        cls: The type the repository stores.
        field: The argument errors name when ``record`` is something else.
        new: Whether ``record`` is being added (and so must be at version 0).
        noun: What the version error calls the record (``field`` if not given).
        says_type: Whether the type error names the type that was passed.
    """
    if not isinstance(record, cls):
        got = f", got {type(record).__name__}" if says_type else ""
        raise ValidationError.single(field, f"expected a {cls.__name__}{got}")
    if new and getattr(record, "version", 0) != 0:
        raise ValidationError.single(
            "version",
            f"add() takes a new {noun or field} (version 0); use update() to change one",
        )
    return record


def claimed_keys(registration: DealRegistration) -> tuple[str, ...]:
    """The customer keys ``registration`` holds once saved: all of them while approved."""
    if registration.status is DealStatus.APPROVED:
        return customer_keys(registration)
    return ()


def deal_conflict(deal_id: str) -> ConflictError:
    """The error for adding a registration whose id is taken."""
    return AlreadyExistsError(
        DEAL, deal_id, f"a deal registration with id {deal_id!r} already exists"
    )


def claim_conflict(deal_id: str, keys: Sequence[str], holder: str) -> ConflictError:
    """The error for an approval that needs customer keys another registration holds."""
    return CustomerClaimedError(
        DEAL,
        deal_id,
        f"deal registration {deal_id!r} cannot be approved: its customer key {keys[0]!r} is "
        f"claimed by approved registration {holder!r}; nothing was written. Two "
        f"registrations for one customer are never approved together: reject this one, "
        f"or end {holder!r} (lose, expire) first",
        keys,
        holder,
    )


def activity_conflict(activity_id: str) -> ConflictError:
    """The error for an activity id stored (or staged) with other content."""
    return ConflictError(
        "activity",
        activity_id,
        f"activity {activity_id!r} is already in the ledger with different content; "
        f"activities never change: record a correcting activity with a new id",
    )


def score_conflict(score: HealthScore) -> ConflictError:
    """The error for a different score under a stored (partner, model, as_of) key."""
    return ConflictError(
        "score",
        f"{score.partner_id}|{score.model}|{score.as_of.isoformat()}",
        f"partner {score.partner_id!r} already has a different {score.model!r} score as of "
        f"{score.as_of.isoformat()}; scores are history and never change: score again at "
        f"a new instant (to set an override, pass it to score() or use "
        f"apply_override(..., at=now))",
    )


def check_model_name(model: object) -> str:
    """``model`` if it is a scoring model's name, else `ValidationError`."""
    if not isinstance(model, str):
        raise ValidationError.single(
            "model", f"expected the scoring model's name, got {type(model).__name__}"
        )
    return model
