"""The deal registration lifecycle: submit, decide, extend, expire, close.

Every function is pure: it takes a registration and the acting user and instant,
and returns a `Change` with the new registration and the events it implies.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Final

import attrs

from partnerkit._base.checks import check_text
from partnerkit._base.events import Change, Event, Scalar
from partnerkit._base.ids import check_id
from partnerkit._base.time import Period, parse_date, to_utc
from partnerkit.deals._model import (
    AMENDABLE,
    REASON_REQUIRED,
    TRANSITIONS,
    Conflict,
    ConflictOutcome,
    Customer,
    DealAction,
    DealRegistration,
    DealStatus,
    DealStatusChange,
    Decision,
    Extension,
    ExtensionPolicy,
    ExtensionStatus,
    _days_between,
    allowed_actions,
    check_period,
    days_added,
)
from partnerkit.errors import (
    InvalidTransitionError,
    Problems,
    UnresolvedConflictsError,
    ValidationError,
)

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import date, datetime

    from partnerkit._base.money import Money
    from partnerkit.deals._model import MatchKind

__all__ = [
    "DEFAULT_PROTECTION",
    "SYSTEM_ACTOR",
    "amend",
    "approve",
    "approve_extension",
    "deny_extension",
    "expire",
    "expire_due",
    "expiring_within",
    "lose",
    "reject",
    "request_extension",
    "screen",
    "submit",
    "win",
    "withdraw",
]

#: The protection window an approval grants when the program (or, once tiers are
#: wired in, the partner's tier) names none: 90 days, the common default.
DEFAULT_PROTECTION: Final = Period(days=90)
#: The actor recorded for moves nobody made by hand, such as the expiry sweep.
SYSTEM_ACTOR: Final = "system"
_KIND: Final = "deal registration"
_MAX_REASON: Final = 2000


def _refuse(registration: DealRegistration, action: DealAction) -> InvalidTransitionError:
    return InvalidTransitionError(
        _KIND,
        registration.id,
        registration.status.value,
        action.value,
        allowed_actions(registration),
    )


def _check_act(
    action: DealAction, actor: object, at: object, reason: object
) -> tuple[datetime, str]:
    """Validate who, when and why for ``action``; raise one error naming every problem."""
    problems = Problems()
    when = problems.check("at", to_utc, at, "")
    problems.check("actor", check_id, actor, "")
    text = problems.check("reason", check_text, reason, required=False, limit=_MAX_REASON)
    if action in REASON_REQUIRED and not text and not problems.found:
        problems.add("reason", f"say why: a reason is required to {action.value.replace('_', ' ')}")
    problems.raise_if_any()
    assert when is not None  # noqa: S101 - raise_if_any guarantees it
    return when, text or ""


def _event(
    kind: str, registration: DealRegistration, when: datetime, actor: str, **data: Scalar
) -> Event:
    return Event(
        kind=f"deal.{kind}",
        subject_id=registration.id,
        occurred_at=when,
        actor=actor,
        data={"partner_id": registration.partner_id, **data},
    )


def _move(
    registration: DealRegistration,
    action: DealAction,
    *,
    actor: str,
    at: datetime,
    reason: str,
    event: str,
    extra: dict[str, object] | None = None,
    data: dict[str, Scalar] | None = None,
) -> Change[DealRegistration]:
    sources, target = TRANSITIONS[action]
    if registration.status not in sources:
        raise _refuse(registration, action)
    when, text = _check_act(action, actor, at, reason)
    return _record(
        registration,
        action,
        target=target,
        actor=actor,
        when=when,
        reason=text,
        event=event,
        extra=extra or {},
        data=data or {},
    )


def _record(
    registration: DealRegistration,
    action: DealAction,
    *,
    target: DealStatus,
    actor: str,
    when: datetime,
    reason: str,
    event: str,
    extra: dict[str, object],
    data: dict[str, Scalar],
) -> Change[DealRegistration]:
    change = DealStatusChange(action, registration.status, target, actor, when, reason)
    updated = attrs.evolve(
        registration,
        status=target,
        history=(*registration.history, change),
        updated_at=when,
        **extra,  # type: ignore[arg-type]
    )
    return Change(
        updated,
        (
            _event(
                event,
                updated,
                when,
                actor,
                from_status=change.from_status.value,
                to_status=change.to_status.value,
                reason=reason,
                **data,
            ),
        ),
    )


def submit(registration: DealRegistration, *, actor: str, at: datetime) -> Change[DealRegistration]:
    """Send a draft to the vendor for review.

    The submission instant is recorded once in ``submitted_at``: first-to-register
    counts from it, so a draft does not reserve a customer. Check the submitted
    registration for conflicts next (`find_conflicts`, then `screen`).

    Raises:
        InvalidTransitionError: If it is not a draft.
        ValidationError: If it names no product, or the expected close date has
            already passed at ``at``.
    """
    sources, _ = TRANSITIONS[DealAction.SUBMIT]
    if registration.status not in sources:
        raise _refuse(registration, DealAction.SUBMIT)
    when, _ = _check_act(DealAction.SUBMIT, actor, at, "")
    problems = Problems()
    if not registration.products:
        problems.add("products", "name at least one product before submitting")
    if registration.expected_close_on < when.date():
        problems.add(
            "expected_close_on",
            f"{registration.expected_close_on.isoformat()} has passed; registrations are for "
            f"deals still to close: correct the date before submitting",
        )
    problems.raise_if_any()
    submitted_at = registration.submitted_at or when
    return _move(
        registration,
        DealAction.SUBMIT,
        actor=actor,
        at=when,
        reason="",
        event="submitted",
        extra={"submitted_at": submitted_at},
        data={"customer": registration.customer.name, "country": registration.customer.country},
    )


def _check_conflicts(registration: DealRegistration, conflicts: object) -> tuple[Conflict, ...]:
    if isinstance(conflicts, (str, bytes)) or not isinstance(conflicts, Iterable):
        raise ValidationError.single("conflicts", "expected the list find_conflicts returned")
    found = tuple(conflicts)
    problems = Problems()
    for index, conflict in enumerate(found):
        if not isinstance(conflict, Conflict):
            problems.add(f"conflicts[{index}]", "expected a Conflict from find_conflicts")
        elif conflict.registration_id != registration.id:
            problems.add(
                f"conflicts[{index}]",
                f"this conflict is about {conflict.registration_id!r}, not {registration.id!r}",
            )
    problems.raise_if_any()
    return found


def approve(
    registration: DealRegistration,
    *,
    actor: str,
    at: datetime,
    protection: Period | int | str = DEFAULT_PROTECTION,
    conflicts: Iterable[Conflict] = (),
    override_reason: str = "",
) -> Change[DealRegistration]:
    """Approve a submitted registration and start its protection window.

    ``protection_until`` becomes ``at + protection``. Pass the conflicts found at
    approval time (`find_conflicts`): they are kept in the decision, and any whose
    outcome is not ``proceed`` stops the approval unless the manager gives an
    ``override_reason``, which is recorded.

    Args:
        registration: A submitted registration.
        actor: The approving manager.
        at: When.
        protection: The protection period: a `Period`, a number of days or ISO
            text (the partner's tier benefit; default 90 days).
        conflicts: What `find_conflicts` reported for this registration now.
        override_reason: Why it is approved despite a conflict.

    Raises:
        InvalidTransitionError: If it is not submitted.
        UnresolvedConflictsError: Carrying the objecting conflicts (a
            `ConflictError`), if one objects and no override reason is given.
        ValidationError: If the protection period is not positive.
    """
    sources, _ = TRANSITIONS[DealAction.APPROVE]
    if registration.status not in sources:
        raise _refuse(registration, DealAction.APPROVE)
    when, override = _check_act(DealAction.APPROVE, actor, at, override_reason)
    period = check_period(protection, "protection")
    seen = _check_conflicts(registration, conflicts)
    objections = [c for c in seen if c.outcome is not ConflictOutcome.PROCEED]
    if objections and not override:
        listed = "; ".join(
            f"{c.other_kind.value} {c.other_id} ({c.outcome.value}: {c.reason})" for c in objections
        )
        raise UnresolvedConflictsError(
            _KIND,
            registration.id,
            f"{_KIND} {registration.id!r} has {len(objections)} unresolved conflict(s): "
            f"{listed}; review them, then reject it or pass override_reason=... to approve "
            f"it anyway",
            objections,
        )
    until = when + period
    decision = Decision(
        DealAction.APPROVE,
        actor,
        when,
        reason=override,
        protection=period,
        conflicts=seen,
        overridden=bool(objections),
    )
    return _move(
        registration,
        DealAction.APPROVE,
        actor=actor,
        at=when,
        reason=override,
        event="approved",
        extra={"protection_until": until, "decisions": (*registration.decisions, decision)},
        data={
            "protection_until": until.isoformat(),
            "protection": period.isoformat(),
            "conflicts": len(seen),
            "overridden": bool(objections),
        },
    )


def reject(
    registration: DealRegistration,
    *,
    actor: str,
    at: datetime,
    reason: str,
    conflicts: Iterable[Conflict] = (),
) -> Change[DealRegistration]:
    """Turn a submitted registration down; ``reason`` is required and told to the partner.

    Raises:
        InvalidTransitionError: If it is not submitted.
        ValidationError: If the reason is missing.
    """
    sources, _ = TRANSITIONS[DealAction.REJECT]
    if registration.status not in sources:
        raise _refuse(registration, DealAction.REJECT)
    when, text = _check_act(DealAction.REJECT, actor, at, reason)
    seen = _check_conflicts(registration, conflicts)
    decision = Decision(DealAction.REJECT, actor, when, reason=text, conflicts=seen)
    return _move(
        registration,
        DealAction.REJECT,
        actor=actor,
        at=when,
        reason=text,
        event="rejected",
        extra={"decisions": (*registration.decisions, decision)},
    )


def withdraw(
    registration: DealRegistration, *, actor: str, at: datetime, reason: str = ""
) -> Change[DealRegistration]:
    """Take back a draft or submitted registration (the partner's own choice)."""
    return _move(
        registration, DealAction.WITHDRAW, actor=actor, at=at, reason=reason, event="withdrawn"
    )


def win(
    registration: DealRegistration, *, actor: str, at: datetime, reason: str = ""
) -> Change[DealRegistration]:
    """Record an approved deal as won. The attribution is then frozen for good."""
    return _move(registration, DealAction.WIN, actor=actor, at=at, reason=reason, event="won")


def lose(
    registration: DealRegistration, *, actor: str, at: datetime, reason: str
) -> Change[DealRegistration]:
    """Record an approved deal as lost; ``reason`` is required."""
    return _move(registration, DealAction.LOSE, actor=actor, at=at, reason=reason, event="lost")


def expire(
    registration: DealRegistration, *, at: datetime, actor: str = SYSTEM_ACTOR
) -> Change[DealRegistration]:
    """Expire an approved registration whose protection has ended by ``at``.

    A pending extension request lapses with it.

    Raises:
        InvalidTransitionError: If it is not approved.
        ValidationError: If its protection still runs at ``at``.
    """
    sources, target = TRANSITIONS[DealAction.EXPIRE]
    if registration.status not in sources:
        raise _refuse(registration, DealAction.EXPIRE)
    when, _ = _check_act(DealAction.EXPIRE, actor, at, "")
    until = registration.protection_until
    assert until is not None  # noqa: S101 - an approved registration always has one
    if until > when:
        raise ValidationError.single(
            "at",
            f"protection of {registration.id!r} runs until {until.isoformat()}; it cannot "
            f"expire at {when.isoformat()}",
        )
    extensions = tuple(
        attrs.evolve(
            extension,
            status=ExtensionStatus.LAPSED,
            decided_at=when,
            decided_by=actor,
            decision_reason="protection ended before a decision",
        )
        if extension.status is ExtensionStatus.PENDING
        else extension
        for extension in registration.extensions
    )
    return _record(
        registration,
        DealAction.EXPIRE,
        target=target,
        actor=actor,
        when=when,
        reason="",
        event="expired",
        extra={"extensions": extensions},
        data={"protection_until": until.isoformat()},
    )


def expire_due(
    registrations: Iterable[DealRegistration], as_of: datetime, *, actor: str = SYSTEM_ACTOR
) -> Change[tuple[DealRegistration, ...]]:
    """The expiry sweep: expire every approved registration whose protection ended by ``as_of``.

    Returns only the registrations it changed (save them) and one ``deal.expired``
    event for each. Running it again with the same ``as_of`` changes nothing.
    """
    when = to_utc(as_of, "as_of")
    changed: list[DealRegistration] = []
    events: list[Event] = []
    for registration in registrations:
        until = registration.protection_until
        if registration.status is DealStatus.APPROVED and until is not None and until <= when:
            expired, implied = expire(registration, at=when, actor=actor)
            changed.append(expired)
            events += implied
    return Change(tuple(changed), tuple(events))


def expiring_within(
    registrations: Iterable[DealRegistration], as_of: datetime, within: Period | int
) -> list[DealRegistration]:
    """Approved registrations whose protection ends after ``as_of`` and within ``within``.

    For reminders ("your protection for Nordic Cloud ends in 7 days"). Soonest
    first, then by id.

    Args:
        registrations: Any registrations; only approved ones are considered.
        as_of: Now.
        within: A `Period` or a number of days.
    """
    start = to_utc(as_of, "as_of")
    end = start + check_period(within, "within")
    found = [
        registration
        for registration in registrations
        if registration.status is DealStatus.APPROVED
        and registration.protection_until is not None
        and start < registration.protection_until <= end
    ]
    return sorted(found, key=lambda r: (r.protection_until, r.id))


def _require_state(
    registration: DealRegistration, action: DealAction, *, pending: bool
) -> Extension | None:
    current = registration.pending_extension
    if registration.status is not DealStatus.APPROVED or (current is not None) != pending:
        raise _refuse(registration, action)
    return current


def _check_limits(
    registration: DealRegistration, period: Period, policy: ExtensionPolicy, path: str
) -> None:
    if not isinstance(policy, ExtensionPolicy):
        raise ValidationError.single("policy", "expected an ExtensionPolicy")
    until = registration.protection_until
    assert until is not None  # noqa: S101 - approved registrations have one
    granted = sum(1 for e in registration.extensions if e.status is ExtensionStatus.APPROVED)
    if policy.max_extensions is not None and granted >= policy.max_extensions:
        raise ValidationError.single(
            path,
            f"the program allows {policy.max_extensions} extension(s) per registration and "
            f"{registration.id!r} has had {granted}; no more can be granted",
        )
    used = days_added(registration)
    asked = _days_between(until, until + period)
    if policy.max_total_days is not None and used + asked > policy.max_total_days:
        left = policy.max_total_days - used
        raise ValidationError.single(
            path,
            f"{period} adds {asked} days; the program allows {policy.max_total_days} days of "
            f"extensions in all and {used} are used: ask for at most {max(left, 0)} days",
        )


def request_extension(
    registration: DealRegistration,
    period: Period | int | str,
    *,
    actor: str,
    at: datetime,
    reason: str,
    policy: ExtensionPolicy | None = None,
) -> Change[DealRegistration]:
    """A partner asks for more protection time; a manager approves or denies it.

    Args:
        registration: An approved registration with no pending request.
        period: How much longer: a `Period`, a number of days or ISO text.
        actor: The partner user asking.
        at: When; must be before the protection ends.
        reason: Why (required).
        policy: The program's limits (default `ExtensionPolicy()`: 2 extensions,
            90 days in all).

    Raises:
        InvalidTransitionError: If it is not approved, or a request is pending.
        ValidationError: If the reason is missing, the protection has ended, or
            the request would go past the program's limits.
    """
    _require_state(registration, DealAction.REQUEST_EXTENSION, pending=False)
    when, text = _check_act(DealAction.REQUEST_EXTENSION, actor, at, reason)
    asked = check_period(period, "period")
    until = registration.protection_until
    assert until is not None  # noqa: S101 - approved registrations have one
    if when > until:
        raise ValidationError.single(
            "at",
            f"protection of {registration.id!r} ended at {until.isoformat()}; extensions must "
            f"be requested before it ends",
        )
    _check_limits(registration, asked, policy or ExtensionPolicy(), "period")
    extension = Extension(asked, text, actor, when)
    updated = attrs.evolve(
        registration, extensions=(*registration.extensions, extension), updated_at=when
    )
    event = _event(
        "extension_requested",
        updated,
        when,
        actor,
        period=asked.isoformat(),
        days=_days_between(until, until + asked),
        reason=text,
        protection_until=until.isoformat(),
    )
    return Change(updated, (event,))


def _decide_extension(  # noqa: PLR0917 - the parts of one decision
    registration: DealRegistration,
    pending: Extension,
    status: ExtensionStatus,
    actor: str,
    when: datetime,
    text: str,
    **extended: object,
) -> tuple[DealRegistration, Extension]:
    """The registration with its ``pending`` extension decided, and the decided extension."""
    decided = attrs.evolve(
        pending,
        status=status,
        decided_by=actor,
        decided_at=when,
        decision_reason=text,
        **extended,  # type: ignore[arg-type]
    )
    extensions = tuple(
        decided if extension.status is ExtensionStatus.PENDING else extension
        for extension in registration.extensions
    )
    changes: dict[str, object] = {"extensions": extensions, "updated_at": when}
    if decided.status is ExtensionStatus.APPROVED:
        changes["protection_until"] = decided.extended_to
    return attrs.evolve(registration, **changes), decided  # type: ignore[arg-type]


def approve_extension(
    registration: DealRegistration,
    *,
    actor: str,
    at: datetime,
    reason: str = "",
    policy: ExtensionPolicy | None = None,
) -> Change[DealRegistration]:
    """A manager grants the pending extension: ``protection_until`` moves out by its period.

    The program's limits are checked again, in case they changed since the request.

    Raises:
        InvalidTransitionError: If nothing is pending.
        ValidationError: If granting it would pass the program's limits.
    """
    pending = _require_state(registration, DealAction.APPROVE_EXTENSION, pending=True)
    assert pending is not None  # noqa: S101 - _require_state checked it
    when, text = _check_act(DealAction.APPROVE_EXTENSION, actor, at, reason)
    _check_limits(registration, pending.period, policy or ExtensionPolicy(), "extensions")
    until = registration.protection_until
    assert until is not None  # noqa: S101 - approved registrations have one
    new_until = until + pending.period
    updated, decided = _decide_extension(
        registration,
        pending,
        ExtensionStatus.APPROVED,
        actor,
        when,
        text,
        extended_from=until,
        extended_to=new_until,
    )
    event = _event(
        "extension_approved",
        updated,
        when,
        actor,
        period=pending.period.isoformat(),
        days=decided.added_days,
        protection_until=new_until.isoformat(),
        reason=text,
    )
    return Change(updated, (event,))


def deny_extension(
    registration: DealRegistration, *, actor: str, at: datetime, reason: str
) -> Change[DealRegistration]:
    """A manager turns the pending extension down; ``reason`` is required.

    Raises:
        InvalidTransitionError: If nothing is pending.
        ValidationError: If the reason is missing.
    """
    pending = _require_state(registration, DealAction.DENY_EXTENSION, pending=True)
    assert pending is not None  # noqa: S101 - _require_state checked it
    when, text = _check_act(DealAction.DENY_EXTENSION, actor, at, reason)
    updated, _ = _decide_extension(registration, pending, ExtensionStatus.DENIED, actor, when, text)
    event = _event(
        "extension_denied", updated, when, actor, period=pending.period.isoformat(), reason=text
    )
    return Change(updated, (event,))


def _kinds(kinds: Sequence[MatchKind]) -> str:
    return ",".join(kind.value for kind in kinds)


def screen(
    registration: DealRegistration,
    conflicts: Iterable[Conflict],
    *,
    actor: str = SYSTEM_ACTOR,
    at: datetime,
) -> Change[DealRegistration]:
    """Act on the conflicts found for a newly submitted registration.

    Emits one ``deal.conflict_found`` event per conflict (so the partner, the other
    partner and the channel manager can be told) and, when a conflict's outcome is
    ``reject`` (a duplicate by the same partner), rejects the registration with
    that conflict's reason. Anything else stays submitted for a manager, who sees
    the conflicts again at `approve`.

    Raises:
        ValidationError: If a conflict is about another registration.
    """
    seen = _check_conflicts(registration, conflicts)
    when = to_utc(at, "at")
    check_id(actor, "actor")
    events = [
        _event(
            "conflict_found",
            registration,
            when,
            actor,
            other_kind=conflict.other_kind.value,
            other_id=conflict.other_id,
            other_partner_id=conflict.other_partner_id,
            rule=conflict.rule,
            outcome=conflict.outcome.value,
            has_priority=conflict.has_priority,
            confidence=f"{conflict.confidence:.2f}",
            matched=_kinds(conflict.match_kinds),
            reason=conflict.reason,
        )
        for conflict in seen
    ]
    duplicate = next((c for c in seen if c.outcome is ConflictOutcome.REJECT), None)
    if duplicate is None or registration.status is not DealStatus.SUBMITTED:
        return Change(registration, tuple(events))
    rejected, implied = reject(
        registration, actor=actor, at=when, reason=duplicate.reason, conflicts=seen
    )
    return Change(rejected, (*events, *implied))


def amend(
    registration: DealRegistration,
    *,
    actor: str,
    at: datetime,
    customer: Customer | None = None,
    products: Sequence[str] | None = None,
    amount: Money | None = None,
    expected_close_on: date | None = None,
    notes: str | None = None,
) -> Change[DealRegistration]:
    """Change a registration's details; None leaves a field as it is.

    What may change depends on the status: everything in a draft; products,
    amount, close date and notes once submitted; amount, close date and notes once
    approved; nothing after that (a won deal's attribution is frozen). The
    customer never changes after submission: withdraw and register again, so the
    conflict check and first-to-register see the real customer.

    Raises:
        InvalidTransitionError: If the registration is closed.
        ValidationError: Naming each field that cannot change in this status, or
            is invalid.
    """
    allowed = AMENDABLE.get(registration.status)
    if allowed is None:
        raise _refuse(registration, DealAction.AMEND)
    when, _ = _check_act(DealAction.AMEND, actor, at, "")
    given = {
        name: value
        for name, value in (
            ("customer", customer),
            ("products", None if products is None else tuple(products)),
            ("amount", amount),
            (
                "expected_close_on",
                None
                if expected_close_on is None
                else parse_date(expected_close_on, "expected_close_on"),
            ),
            ("notes", notes),
        )
        if value is not None
    }
    problems = Problems()
    for name in given:
        if name not in allowed:
            problems.add(
                name,
                f"cannot change {name} of a {registration.status.value} registration"
                + (
                    "; withdraw it and register the right customer instead"
                    if name == "customer"
                    else ""
                ),
            )
    problems.raise_if_any()
    changed = {name: value for name, value in given.items() if getattr(registration, name) != value}
    if not changed:
        return Change(registration, ())
    updated = attrs.evolve(registration, updated_at=when, **changed)  # type: ignore[arg-type]
    event = _event("amended", updated, when, actor, fields=",".join(sorted(changed)))
    return Change(updated, (event,))
