"""Forward warnings: when a partner will stop meeting its tier if nothing new happens."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Final

import attrs

from partnerkit._base.money import Money, format_value
from partnerkit._base.time import to_utc
from partnerkit.errors import ValidationError
from partnerkit.metrics import (
    Aggregate,
    MetricDefinition,
    MetricValue,
    WindowKind,
    compute_snapshot,
)
from partnerkit.tiers._engine import RequirementEvidence, TierEvidence, engine
from partnerkit.tiers._model import Comparison, Program

if TYPE_CHECKING:
    from collections.abc import Iterable

    from partnerkit._base.money import RateSource
    from partnerkit.ledger import Activity
    from partnerkit.tiers._membership import Membership

__all__ = ["ForwardWarning", "forward_warnings"]

_DAY: Final = timedelta(days=1)
_LISTED: Final = 3
_CALENDAR: Final = frozenset(
    {WindowKind.MONTH, WindowKind.QUARTER, WindowKind.YEAR, WindowKind.FISCAL_YEAR}
)


@attrs.frozen
class ForwardWarning:
    """A criterion of the partner's tier that will stop passing, and why.

    Attributes:
        partner_id: The partner.
        program_id: The program.
        tier_id: The tier at risk (the one the membership holds).
        on: The first day the tier is no longer met, if nothing new happens.
        path: Where the criterion sits in the tier's requirements.
        metric: The metric it reads.
        comparison: How it compares.
        threshold: What it compares with.
        actual_now: The value today.
        actual_then: The value on ``on``.
        causes: Ids of the activities that stop counting by then (expiring
            certifications, activity leaving the window).
        message: The warning in words.
    """

    partner_id: str
    program_id: str
    tier_id: str
    on: date
    path: str
    metric: str
    comparison: Comparison
    threshold: Money | Decimal
    actual_now: MetricValue
    actual_then: MetricValue
    causes: tuple[str, ...]
    message: str


def _matches(definition: MetricDefinition, activity: Activity) -> bool:
    if definition.kinds and activity.kind not in definition.kinds:
        return False
    attributes = activity.attributes
    return all(attributes.get(key, _ABSENT) == wanted for key, wanted in definition.where.items())


_ABSENT: Final = object()


def _counted(definition: MetricDefinition, activity: Activity, at: datetime) -> bool:
    start, end = definition.window.bounds(at)
    if activity.occurred_at > end or (start is not None and activity.occurred_at < start):
        return False
    if definition.aggregate is Aggregate.UNEXPIRED_COUNT:
        return activity.expires_on is None or activity.expires_on > at.date()
    return True


def _month_starts(first: date, last: date) -> Iterable[date]:
    year, month = first.year, first.month
    while True:
        month += 1
        if month > 12:
            year, month = year + 1, 1
        start = date(year, month, 1)
        if start > last:
            return
        yield start


def _candidate_days(
    definitions: Iterable[MetricDefinition],
    activities: list[Activity],
    instant: datetime,
    horizon: int,
    days_since: dict[str, list[int]],
) -> list[int]:
    today = instant.date()
    days: set[int] = {horizon}
    for definition in definitions:
        window = definition.window
        matching = [activity for activity in activities if _matches(definition, activity)]
        if window.kind is WindowKind.TRAILING:
            assert window.period is not None  # noqa: S101 - trailing windows have one
            for activity in matching:
                leaves = activity.occurred_at + window.period
                gap = (leaves - instant).total_seconds() / 86400
                # Period arithmetic is calendar-aware: check the day before and after.
                days.update(int(gap) + offset for offset in (0, 1, 2))
        elif window.kind in _CALENDAR:
            days.update(
                (start - today).days for start in _month_starts(today, today + horizon * _DAY)
            )
        if definition.aggregate is Aggregate.UNEXPIRED_COUNT:
            days.update(
                (activity.expires_on - today).days
                for activity in matching
                if activity.expires_on is not None
            )
        days.update(days_since.get(definition.name, ()))
    return sorted(day for day in days if 1 <= day <= horizon)


def _describe_causes(definition: MetricDefinition, causes: list[Activity], at: datetime) -> str:
    expiring = [
        activity
        for activity in causes
        if activity.expires_on is not None and activity.expires_on <= at.date()
    ]
    parts = []
    for activity in expiring[:_LISTED]:
        attributes = activity.attributes
        what = attributes.get("certification") or attributes.get("name") or activity.kind
        who = ""
        if definition.attribute is not None and definition.attribute in attributes:
            who = f" of {definition.attribute} {attributes[definition.attribute]}"
        assert activity.expires_on is not None  # noqa: S101 - filtered above
        kind = "certification" if activity.kind == "certification_earned" else activity.kind
        parts.append(f"{kind.replace('_', ' ')} {what!r}{who} expires on {activity.expires_on}")
    if len(expiring) > _LISTED:
        parts.append(f"{len(expiring) - _LISTED} more expire")
    leaving = [activity for activity in causes if activity not in expiring]
    if leaving:
        ids = ", ".join(activity.id for activity in leaving[:_LISTED])
        more = ", ..." if len(leaving) > _LISTED else ""
        noun = "activity leaves" if len(leaving) == 1 else "activities leave"
        parts.append(f"{len(leaving)} {noun} the window ({ids}{more})")
    return "; ".join(parts)


def forward_warnings(
    program: Program,
    membership: Membership,
    activities: Iterable[Activity],
    *,
    as_of: datetime,
    until: date | datetime,
    rates: RateSource | None = None,
) -> tuple[ForwardWarning, ...]:
    """Which requirements of the partner's tier stop passing by ``until``, and why.

    Assumes no new activity: the partner's metrics are recomputed
    (`compute_snapshot`) from the same activities at each future day on which
    something can change (a certification expires, activity leaves a trailing
    window, a calendar window starts afresh, a days-since metric crosses its
    threshold) up to ``until``. The first day the tier is no longer met gives one
    warning per criterion that passes today and fails then, naming the activities
    that stop counting::

        Gold at risk on 2027-01-20: certified people drops to 1 (needs at least 2);
        certification earned 'cloud_architect' of person p_2 expires on 2027-01-20

    Args:
        program: The program.
        membership: The partner's membership; its held tier is the one checked.
        activities: The partner's activities (later ones than ``as_of`` are ignored).
        as_of: Today (aware).
        until: The last day (or instant) to look at.
        rates: Passed to `compute_snapshot` for money in other currencies.

    Returns:
        Nothing when the partner holds no tier, already fails it, or keeps it
        through ``until``.

    Raises:
        ValidationError: If ``until`` is not after ``as_of``.
    """
    instant = to_utc(as_of, "as_of")
    last_day = to_utc(until, "until").date() if isinstance(until, datetime) else until
    horizon = (last_day - instant.date()).days
    if horizon < 1:
        raise ValidationError.single("until", f"look at least one day past {instant.date()}")
    compiled = engine(program)
    if membership.tier_id is None:
        return ()
    rank = compiled.rank(membership.tier_id, "membership.tier_id")
    tier = program.tiers[rank - 1]
    used = {leaf[2] for leaf in compiled.leaves[rank - 1]}
    definitions = [definition for definition in program.metrics if definition.name in used]
    known = [activity for activity in activities if activity.occurred_at <= instant]

    def evidence_at(at: datetime) -> TierEvidence:
        snapshot = compute_snapshot(
            definitions, known, at, partner_id=membership.partner_id, rates=rates
        )
        return compiled.evidence(rank, compiled.values(membership, snapshot, at))

    now = evidence_at(instant)
    if not now.passed:
        return ()
    days_since: dict[str, list[int]] = {}
    for item in now.evidence:
        value = item.actual
        if isinstance(value, int) and item.comparison.higher_is_better is False:
            limit = int(_plain(item.threshold))
            days_since.setdefault(item.metric, []).extend(
                limit - value + offset for offset in (0, 1, 2)
            )
    passing = [index for index, item in enumerate(now.evidence) if item.passed]
    reported: set[int] = set()
    warnings: list[ForwardWarning] = []
    for day in _candidate_days(definitions, known, instant, horizon, days_since):
        if len(reported) == len(passing):
            break
        at = instant + day * _DAY
        then = evidence_at(at)
        if then.passed:
            continue  # a criterion may fail inside an any-of group that still passes
        for index in passing:
            after = then.evidence[index]
            if index in reported or after.passed:
                continue
            reported.add(index)
            warnings.append(
                _warning(
                    program, membership, tier.name, now.evidence[index], after, (instant, at), known
                )
            )
    return tuple(warnings)


_NEEDS: Final = {
    Comparison.AT_LEAST: "at least",
    Comparison.MORE_THAN: "more than",
    Comparison.AT_MOST: "at most",
    Comparison.LESS_THAN: "below",
    Comparison.EQUAL: "exactly",
}


def _warning(  # noqa: PLR0917 - private helper with one caller
    program: Program,
    membership: Membership,
    tier_name: str,
    before: RequirementEvidence,
    after: RequirementEvidence,
    when: tuple[datetime, datetime],
    known: list[Activity],
) -> ForwardWarning:
    compiled = engine(program)
    today, at = when
    definition = next((d for d in program.metrics if d.name == after.metric), None)
    causes: list[Activity] = []
    because = ""
    if definition is not None:
        causes = [
            activity
            for activity in known
            if _matches(definition, activity)
            and _counted(definition, activity, today)
            and not _counted(definition, activity, at)
        ]
        because = _describe_causes(definition, causes, at)
    singular, _, plural = compiled.labels.get(after.metric, after.metric).partition("|")
    noun = plural or singular
    window = compiled.windows.get(after.metric, "")
    higher = after.comparison.higher_is_better
    verb = "becomes" if higher is None else "drops to" if higher else "rises to"
    shown = "no data" if after.actual is None else format_value(after.actual)
    on = at.astimezone(UTC).date()
    message = (
        f"{tier_name} at risk on {on.isoformat()}: {noun}{' ' + window if window else ''} "
        f"{verb} {shown} (needs {_NEEDS[after.comparison]} {format_value(after.threshold)})"
    )
    if because:
        message += f"; {because}"
    return ForwardWarning(
        membership.partner_id,
        program.id,
        membership.tier_id or "",
        on,
        after.path,
        after.metric,
        after.comparison,
        after.threshold,
        before.actual,
        after.actual,
        tuple(activity.id for activity in causes),
        message,
    )


def _plain(value: Money | Decimal) -> Decimal:
    return value.amount if isinstance(value, Money) else value
