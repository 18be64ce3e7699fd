"""People certifications: terms that expire, renewal windows, and what a lapse costs.

A `Certification` is one person's certification (``cloud_architect`` for person
``p_2`` of partner ``ptn_1``): started while the person studies, then a chain of
`CertificationTerm` s, each issued on a day and valid until its expiry (the
first day it is no longer valid). Its status on any day follows from the dates
alone, so a status is never stale:

- ``in_progress``: started, no term issued yet;
- ``active``: inside the first term, before its renewal window;
- ``renewed``: inside a later term, before its renewal window;
- ``expiring``: inside the renewal window (``renewal_window`` days before expiry,
  90 by default): renewing is open;
- ``expired``: past the last term's expiry (a later renewal makes it ``renewed``
  again from that day on).

`status_changes` lists the days the status moves. `certification_activities`
turns the terms into ``certification_earned`` ledger activities, which the tier
metrics (``unexpired_count`` of people) read; `lapse_warnings` reuses the tiers'
forward warnings to say which certification lapses cost the partner its tier at
the program's next review, and who must renew what by when.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Final

import attrs

from partnerkit._base.checks import check_slug
from partnerkit._base.events import Change, Event
from partnerkit._base.ids import check_id
from partnerkit._base.time import to_utc
from partnerkit.errors import InvalidTransitionError, Problems, ValidationError
from partnerkit.ledger import Activity, ActivityKind
from partnerkit.tiers._engine import next_review
from partnerkit.tiers._forward import ForwardWarning, forward_warnings

if TYPE_CHECKING:
    from collections.abc import Iterable

    from partnerkit._base.money import RateSource
    from partnerkit.tiers._membership import Membership
    from partnerkit.tiers._model import Program

__all__ = [
    "DEFAULT_RENEWAL_WINDOW",
    "Certification",
    "CertificationStatus",
    "CertificationTerm",
    "LapseWarning",
    "StatusChange",
    "certification_activities",
    "issue_certification",
    "lapse_warnings",
    "renew_certification",
    "start_certification",
    "status_changes",
]

#: Days before expiry that renewal opens.
DEFAULT_RENEWAL_WINDOW: Final = 90


class CertificationStatus(enum.StrEnum):
    """Where a certification stands on a given day."""

    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    ACTIVE = "active"
    EXPIRING = "expiring"
    EXPIRED = "expired"
    RENEWED = "renewed"


def _a_date(value: object, name: str, problems: Problems) -> None:
    if not isinstance(value, date) or isinstance(value, datetime):
        problems.add(name, "expected a date")


@attrs.frozen
class CertificationTerm:
    """One validity term: issued on a day, valid until the day before ``expires_on``.

    Attributes:
        issued_on: The first valid day.
        expires_on: The first day it is no longer valid.
    """

    issued_on: date
    expires_on: date

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        _a_date(self.issued_on, "issued_on", problems)
        _a_date(self.expires_on, "expires_on", problems)
        problems.raise_if_any()
        if self.expires_on <= self.issued_on:
            raise ValidationError.single(
                "expires_on", f"expires on or before it is issued ({self.issued_on})"
            )


@attrs.frozen
class Certification:
    """One person's certification at a partner.

    Change it through `issue_certification` and `renew_certification`.

    Attributes:
        id: The certification record's id.
        partner_id: The partner the person works for.
        person: The person's id.
        name: The certification, a slug (``"cloud_architect"``).
        started_on: When the person began working towards it.
        terms: Validity terms, oldest first; each starts after the one before.
        renewal_window: Days before expiry that renewing opens.
        version: The stored version (0 before the first save).
    """

    id: str
    partner_id: str
    person: str
    name: str
    started_on: date
    terms: tuple[CertificationTerm, ...] = ()
    renewal_window: int = DEFAULT_RENEWAL_WINDOW
    version: int = 0

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        problems.check("id", check_id, self.id, "")
        problems.check("partner_id", check_id, self.partner_id, "")
        problems.check("person", check_id, self.person, "")
        problems.check("name", check_slug, self.name, "certification name")
        _a_date(self.started_on, "started_on", problems)
        object.__setattr__(self, "terms", tuple(self.terms))
        if (
            isinstance(self.renewal_window, bool)
            or not isinstance(self.renewal_window, int)
            or not 0 <= self.renewal_window <= 3650
        ):
            problems.add("renewal_window", "expected whole days from 0 to 3650")
        problems.raise_if_any()
        previous: CertificationTerm | None = None
        for index, term in enumerate(self.terms):
            if not isinstance(term, CertificationTerm):
                problems.add(f"terms[{index}]", "expected a CertificationTerm")
                continue
            if index == 0 and term.issued_on < self.started_on:
                problems.add(
                    "terms[0].issued_on", f"issued before it was started ({self.started_on})"
                )
            if previous is not None and term.issued_on <= previous.issued_on:
                problems.add(
                    f"terms[{index}].issued_on",
                    f"a renewal must be issued after the term before ({previous.issued_on})",
                )
            previous = term
        problems.raise_if_any()

    def term_on(self, day: date) -> CertificationTerm | None:
        """The latest term issued on or before ``day``."""
        found = None
        for term in self.terms:
            if term.issued_on <= day:
                found = term
        return found

    def status_on(self, day: date) -> CertificationStatus:
        """The status on ``day`` (see the module's description)."""
        if day < self.started_on:
            return CertificationStatus.NOT_STARTED
        term = self.term_on(day)
        if term is None:
            return CertificationStatus.IN_PROGRESS
        if day >= term.expires_on:
            return CertificationStatus.EXPIRED
        if day >= self.renewal_opens(term):
            return CertificationStatus.EXPIRING
        if term is self.terms[0]:
            return CertificationStatus.ACTIVE
        return CertificationStatus.RENEWED

    def renewal_opens(self, term: CertificationTerm) -> date:
        """The first day of ``term``'s renewal window (never before it was issued)."""
        return max(term.expires_on - timedelta(days=self.renewal_window), term.issued_on)

    def valid_on(self, day: date) -> bool:
        """Whether the certification counts on ``day``."""
        return self.status_on(day) in (
            CertificationStatus.ACTIVE,
            CertificationStatus.RENEWED,
            CertificationStatus.EXPIRING,
        )


@attrs.frozen
class StatusChange:
    """The day a certification's status moves, and to what."""

    on: date
    status: CertificationStatus


def status_changes(
    certification: Certification, *, start: date | None = None, end: date | None = None
) -> tuple[StatusChange, ...]:
    """Every status move from ``start`` (default: when it was started) to ``end``.

    The first entry is the status on ``start``; ``end`` defaults to a day after
    the last term's expiry, so the lapse shows.
    """
    first = certification.started_on if start is None else start
    days = {first, certification.started_on}
    for term in certification.terms:
        days.update((term.issued_on, certification.renewal_opens(term), term.expires_on))
    last = end if end is not None else max(days)
    changes: list[StatusChange] = []
    for day in sorted(day for day in days if first <= day <= last):
        status = certification.status_on(day)
        if not changes or changes[-1].status is not status:
            changes.append(StatusChange(day, status))
    return tuple(changes)


def _event(kind: str, certification: Certification, at: datetime, by: str, **data: str) -> Event:
    return Event(
        kind,
        certification.id,
        at,
        by,
        {
            "partner_id": certification.partner_id,
            "person": certification.person,
            "certification": certification.name,
            **data,
        },
    )


def start_certification(
    id: str,  # noqa: A002 - the record's id
    partner_id: str,
    *,
    person: str,
    name: str,
    started_on: date,
    by: str,
    at: datetime,
    renewal_window: int = DEFAULT_RENEWAL_WINDOW,
) -> Change[Certification]:
    """A person starts working towards a certification (status ``in_progress``)."""
    record = Certification(id, partner_id, person, name, started_on, renewal_window=renewal_window)
    return Change(record, (_event("certification.started", record, to_utc(at, "at"), by),))


def issue_certification(
    certification: Certification, *, issued_on: date, expires_on: date, by: str, at: datetime
) -> Change[Certification]:
    """The person passed: the first term is issued.

    Raises:
        InvalidTransitionError: If it was issued already (renew instead).
    """
    if certification.terms:
        raise InvalidTransitionError(
            "certification", certification.id, "issued", "issue", ["renew"]
        )
    new = attrs.evolve(certification, terms=(CertificationTerm(issued_on, expires_on),))
    return Change(
        new,
        (_event("certification.issued", new, to_utc(at, "at"), by, expires_on=str(expires_on)),),
    )


def renew_certification(
    certification: Certification, *, issued_on: date, expires_on: date, by: str, at: datetime
) -> Change[Certification]:
    """Add a new term. Renewal is open from the renewal window on, and after a lapse.

    Raises:
        InvalidTransitionError: If it was never issued, or renewal is not open yet
            on ``issued_on``.
    """
    if not certification.terms:
        raise InvalidTransitionError(
            "certification", certification.id, "in_progress", "renew", ["issue"]
        )
    last = certification.terms[-1]
    opens = certification.renewal_opens(last)
    if issued_on < opens:
        status = certification.status_on(issued_on).value
        raise InvalidTransitionError(
            "certification",
            certification.id,
            status,
            f"renew it on {issued_on} (renewal opens on {opens})",
            [],
        )
    term = CertificationTerm(issued_on, expires_on)
    new = attrs.evolve(certification, terms=(*certification.terms, term))
    lapsed = issued_on > last.expires_on
    return Change(
        new,
        (
            _event(
                "certification.renewed",
                new,
                to_utc(at, "at"),
                by,
                expires_on=str(expires_on),
                lapsed="yes" if lapsed else "no",
            ),
        ),
    )


def certification_activities(certification: Certification) -> tuple[Activity, ...]:
    """The terms as ``certification_earned`` activities, for tier metrics to count.

    Each term is one activity (id ``<record id>.<term number>``) at midnight UTC of
    its issue day, with ``person`` and ``certification`` attributes and its expiry.
    A term that a renewal replaced early ends when the renewal starts, so one
    person never counts twice.
    """
    activities = []
    terms = certification.terms
    for index, term in enumerate(terms):
        ends = term.expires_on
        if index + 1 < len(terms):
            ends = min(ends, terms[index + 1].issued_on)
        activities.append(
            Activity(
                f"{certification.id}.{index + 1}",
                certification.partner_id,
                ActivityKind.CERTIFICATION_EARNED.value,
                datetime.combine(term.issued_on, time(), UTC),
                attributes={"person": certification.person, "certification": certification.name},
                expires_on=ends,
            )
        )
    return tuple(activities)


@attrs.frozen
class LapseWarning:
    """A tier the partner fails at the next review because certifications lapse.

    Attributes:
        partner_id: The partner.
        program_id: The program.
        tier_id: The tier at risk.
        review_at: The review that will find the tier failing.
        warning: The tiers' forward warning behind it.
        certifications: Ids of the certification records whose lapse causes it.
        renew_by: The last day a renewal keeps the tier (the day before it fails).
        message: The warning in words.
    """

    partner_id: str
    program_id: str
    tier_id: str
    review_at: datetime
    warning: ForwardWarning
    certifications: tuple[str, ...]
    renew_by: date
    message: str


def lapse_warnings(
    program: Program,
    membership: Membership,
    activities: Iterable[Activity],
    certifications: Iterable[Certification],
    *,
    as_of: datetime,
    rates: RateSource | None = None,
) -> tuple[LapseWarning, ...]:
    """Which certification lapses will cost the partner its tier at the next review.

    Runs `partnerkit.tiers.forward_warnings` up to the program's next review over
    ``activities`` plus the certifications' own activities, and keeps the warnings
    that a certification expiring causes.

    Args:
        program: The program.
        membership: The partner's membership (its held tier is the one checked).
        activities: The partner's other activities (revenue, deals...).
        certifications: The partner's certification records.
        as_of: Now (aware).
        rates: For money metrics in other currencies.

    Returns:
        Nothing when no review is ahead or no lapse matters before it.
    """
    instant = to_utc(as_of, "as_of")
    review_at = next_review(program, instant)
    if review_at is None or review_at.date() <= instant.date():
        return ()
    records = [c for c in certifications if c.partner_id == membership.partner_id]
    by_activity = {a.id: c for c in records for a in certification_activities(c)}
    derived = [a for c in records for a in certification_activities(c)]
    own = [a for a in activities if a.id not in by_activity]
    found = forward_warnings(
        program, membership, [*own, *derived], as_of=instant, until=review_at.date(), rates=rates
    )
    result = []
    for warning in found:
        lapsing = [by_activity[cause] for cause in warning.causes if cause in by_activity]
        if not lapsing:
            continue
        policy = program.policy
        if policy.downgrade_after <= membership.failing_reviews + 1:
            cost = (
                "is downgraded" if policy.auto_approve_downgrades else "is proposed for a downgrade"
            )
        else:
            cost = "enters grace"
        who = ", ".join(f"{c.person} ({c.name}, expires {c.terms[-1].expires_on})" for c in lapsing)
        renew_by = warning.on - timedelta(days=1)
        message = (
            f"at the review on {review_at.date()} the partner {cost} unless they renew by "
            f"{renew_by}: {who}. {warning.message}"
        )
        result.append(
            LapseWarning(
                warning.partner_id,
                warning.program_id,
                warning.tier_id,
                review_at,
                warning,
                tuple(sorted({c.id for c in lapsing})),
                renew_by,
                message,
            )
        )
    return tuple(result)
