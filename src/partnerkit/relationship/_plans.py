"""Joint business plans: shared goals over metrics, agreed by both sides, tracked from the ledger.

A `BusinessPlan` belongs to one partner and one period (``starts_on`` to
``ends_on``, both included). Each `Goal` reads one metric (any
`partnerkit.MetricDefinition`: revenue, deals won, certified people, leads
accepted) and compares it with a target, and names at least one owner on each
side: the vendor's and the partner's.

The plan keeps its history: `draft_plan` starts it, `agree_plan` records one
side's agreement (the plan is agreed once both sides agreed to the current
goals), `revise_plan` changes the goals with a reason and asks both sides to
agree again. Every step is a `PlanRevision`, so "what did we agree in March?" has
an answer.

`plan_progress` reads the ledger: only activity inside the plan's period counts
(a goal's own metric window narrows it further), measured at the end of the
period or ``as_of``, whichever comes first. Each goal's progress reuses the tier
evidence (`partnerkit.tiers.RequirementEvidence`), so the gap reads the way tier
gaps read: "needs 12,000.00 USD more revenue by 2027-06-30". A goal is **at
risk** when it is not met and its progress lags the share of the period gone by
(for "at most" goals: whenever it fails), and **missed** once the period ended.
"""

from __future__ import annotations

import enum
import operator
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING, Any, Final

import attrs

from partnerkit._base.checks import check_enum, check_slug, check_text, repeated
from partnerkit._base.events import Change, Event
from partnerkit._base.ids import check_id
from partnerkit._base.money import Money
from partnerkit._base.time import to_utc
from partnerkit.errors import InvalidTransitionError, Problems, ValidationError
from partnerkit.metrics import MetricDefinition, MetricValue, compute_snapshot
from partnerkit.tiers._engine import RequirementEvidence
from partnerkit.tiers._model import Comparison, _read_threshold

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from partnerkit._base.money import RateSource
    from partnerkit.ledger import Activity

__all__ = [
    "BusinessPlan",
    "Goal",
    "GoalOwner",
    "GoalProgress",
    "GoalStatus",
    "PlanAction",
    "PlanProgress",
    "PlanRevision",
    "PlanStatus",
    "Side",
    "agree_plan",
    "draft_plan",
    "plan_progress",
    "revise_plan",
]

_PLACES: Final = Decimal("0.0001")
_COMPARE: Final[dict[Comparison, Callable[[Any, Any], bool]]] = {
    Comparison.AT_LEAST: operator.ge,
    Comparison.MORE_THAN: operator.gt,
    Comparison.AT_MOST: operator.le,
    Comparison.LESS_THAN: operator.lt,
    Comparison.EQUAL: operator.eq,
}


class Side(enum.StrEnum):
    """Which side of the relationship someone is on."""

    VENDOR = "vendor"
    PARTNER = "partner"


@attrs.frozen
class GoalOwner:
    """A person who owns a goal, on one side.

    Attributes:
        side: ``vendor`` or ``partner``.
        person: Their id (a user or contact id).
    """

    side: Side
    person: str

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        object.__setattr__(self, "side", problems.check("side", check_enum, Side, self.side))
        problems.check("person", check_id, self.person, "")
        problems.raise_if_any()


@attrs.frozen
class Goal:
    """One shared goal of a plan: a metric compared with a target.

    Attributes:
        id: A slug unique in the plan (``"revenue"``).
        metric: What is measured; its name is the goal's metric.
        target: The threshold: `Money` for money metrics, a number otherwise
            (``"250,000 USD"`` and ``12`` are read too).
        owners: At least one on each side.
        comparison: How the metric compares with the target (default ``>=``).
        label: Words for the gap: ``"deal|deals"`` (default: the metric name).
    """

    id: str
    metric: MetricDefinition
    target: Money | Decimal
    owners: tuple[GoalOwner, ...] = ()
    comparison: Comparison = Comparison.AT_LEAST
    label: str = ""

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        problems.check("id", check_slug, self.id, "goal id")
        if not isinstance(self.metric, MetricDefinition):
            problems.add("metric", "expected a MetricDefinition")
        target = problems.check("target", _read_threshold, self.target)
        if target is not None:
            object.__setattr__(self, "target", target)
        comparison = problems.check("comparison", check_enum, Comparison, self.comparison)
        object.__setattr__(self, "comparison", comparison)
        owners = tuple(self.owners) if isinstance(self.owners, (list, tuple)) else None
        if owners is None or not all(isinstance(owner, GoalOwner) for owner in owners):
            problems.add("owners", "expected a list of GoalOwner")
        else:
            object.__setattr__(self, "owners", owners)
            sides = {owner.side for owner in owners}
            for side in Side:
                if side not in sides:
                    problems.add("owners", f"name at least one {side.value} owner of the goal")
        label = problems.check("label", check_text, self.label, required=False)
        object.__setattr__(self, "label", label)
        problems.raise_if_any()


class PlanStatus(enum.StrEnum):
    """Where a plan stands."""

    DRAFT = "draft"
    """Written; waiting for both sides to agree."""
    AGREED = "agreed"
    """Both sides agreed to the current goals."""
    REVISED = "revised"
    """The goals changed since the last agreement; waiting for both sides again."""


class PlanAction(enum.StrEnum):
    """What a revision of the plan did."""

    DRAFTED = "drafted"
    AGREED = "agreed"
    REVISED = "revised"


@attrs.frozen
class PlanRevision:
    """One step in a plan's history.

    Attributes:
        action: What happened.
        at: When.
        by: Who.
        side: The side ``by`` acted for.
        goals: The goals as they stood after the step.
        reason: Why (required for revisions).
    """

    action: PlanAction
    at: datetime
    by: str
    side: Side
    goals: tuple[Goal, ...]
    reason: str = ""


@attrs.frozen
class BusinessPlan:
    """A joint business plan for one partner and period.

    Change it only through `agree_plan` and `revise_plan`.

    Attributes:
        id: The plan's id.
        partner_id: Whose plan.
        title: A name such as ``"FY27 plan"``.
        starts_on: The first day of the period.
        ends_on: The last day of the period (included).
        goals: The current goals.
        status: Draft, agreed or revised.
        agreed_by: The sides that agreed to the current goals.
        history: Every step, oldest first.
        version: The stored version (0 before the first save).
    """

    id: str
    partner_id: str
    title: str
    starts_on: date
    ends_on: date
    goals: tuple[Goal, ...]
    status: PlanStatus = PlanStatus.DRAFT
    agreed_by: tuple[Side, ...] = ()
    history: tuple[PlanRevision, ...] = ()
    version: int = 0

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        problems.check("id", check_id, self.id, "")
        problems.check("partner_id", check_id, self.partner_id, "")
        title = problems.check("title", check_text, self.title, required=True)
        object.__setattr__(self, "title", title)
        for name in ("starts_on", "ends_on"):
            value = getattr(self, name)
            if not isinstance(value, date) or isinstance(value, datetime):
                problems.add(name, "expected a date")
        if (
            isinstance(self.starts_on, date)
            and isinstance(self.ends_on, date)
            and self.ends_on < self.starts_on
        ):
            problems.add("ends_on", f"the period ends before it starts ({self.starts_on})")
        _check_goals(self.goals, problems)
        object.__setattr__(self, "goals", tuple(self.goals))
        status = problems.check("status", check_enum, PlanStatus, self.status)
        object.__setattr__(self, "status", status)
        sides = [
            problems.check(f"agreed_by[{index}]", check_enum, Side, side)
            for index, side in enumerate(self.agreed_by)
        ]
        object.__setattr__(
            self, "agreed_by", tuple(sorted({side for side in sides if side is not None}))
        )
        object.__setattr__(self, "history", tuple(self.history))
        problems.raise_if_any()

    def period_bounds(self) -> tuple[datetime, datetime]:
        """The first and last instants (UTC) of the plan's period."""
        start = datetime.combine(self.starts_on, time(), UTC)
        end = datetime.combine(self.ends_on + timedelta(days=1), time(), UTC)
        return start, end - timedelta(microseconds=1)


def _check_goals(goals: object, problems: Problems) -> None:
    if not isinstance(goals, (list, tuple)) or not goals:
        problems.add("goals", "a plan needs at least one goal")
        return
    for index, goal in enumerate(goals):
        if not isinstance(goal, Goal):
            problems.add(f"goals[{index}]", "expected a Goal")
    named = [goal.id for goal in goals if isinstance(goal, Goal)]
    twice = repeated(named)
    if twice:
        problems.add("goals", f"goal ids used twice: {', '.join(twice)}")


def _event(kind: str, plan: BusinessPlan, at: datetime, by: str, **data: str | int) -> Event:
    return Event(kind, plan.id, at, by, {"partner_id": plan.partner_id, **data})


def draft_plan(
    id: str,  # noqa: A002 - the plan's id
    partner_id: str,
    *,
    title: str,
    starts_on: date,
    ends_on: date,
    goals: Iterable[Goal],
    by: str,
    side: Side | str,
    at: datetime,
) -> Change[BusinessPlan]:
    """Write a new plan, waiting for both sides to agree.

    Raises:
        ValidationError: Every problem with the plan at once.
    """
    when = to_utc(at, "at")
    acting = check_enum(Side, side)
    listed = tuple(goals)
    plan = BusinessPlan(
        id,
        partner_id,
        title,
        starts_on,
        ends_on,
        listed,
        history=(PlanRevision(PlanAction.DRAFTED, when, check_id(by, "by"), acting, listed),),
    )
    return Change(plan, (_event("plan.drafted", plan, when, by, goals=len(listed)),))


def agree_plan(
    plan: BusinessPlan, *, by: str, side: Side | str, at: datetime
) -> Change[BusinessPlan]:
    """Record one side's agreement to the plan's current goals.

    The plan becomes ``agreed`` once both sides agreed (in any order).

    Raises:
        InvalidTransitionError: If that side already agreed to these goals.
    """
    when = to_utc(at, "at")
    acting = check_enum(Side, side)
    if acting in plan.agreed_by:
        raise InvalidTransitionError(
            "business plan",
            plan.id,
            plan.status.value,
            f"agree for the {acting.value} side again",
            [f"agree for the {other.value} side" for other in Side if other not in plan.agreed_by]
            + ["revise"],
        )
    agreed = (*plan.agreed_by, acting)
    status = PlanStatus.AGREED if set(agreed) == set(Side) else plan.status
    revision = PlanRevision(PlanAction.AGREED, when, check_id(by, "by"), acting, plan.goals)
    new = attrs.evolve(plan, status=status, agreed_by=agreed, history=(*plan.history, revision))
    events = [_event("plan.agreed_by_side", new, when, by, side=acting.value)]
    if status is PlanStatus.AGREED:
        events.append(_event("plan.agreed", new, when, by))
    return Change(new, tuple(events))


def revise_plan(
    plan: BusinessPlan,
    goals: Iterable[Goal],
    *,
    by: str,
    side: Side | str,
    at: datetime,
    reason: str,
) -> Change[BusinessPlan]:
    """Change the goals; both sides must agree again.

    Raises:
        ValidationError: Without a reason, or with bad goals.
    """
    when = to_utc(at, "at")
    acting = check_enum(Side, side)
    why = check_text(reason, required=False)
    if not why:
        raise ValidationError.single("reason", "say why the plan is revised")
    listed = tuple(goals)
    revision = PlanRevision(PlanAction.REVISED, when, check_id(by, "by"), acting, listed, why)
    new = attrs.evolve(
        plan,
        goals=listed,
        status=PlanStatus.REVISED,
        agreed_by=(),
        history=(*plan.history, revision),
    )
    return Change(new, (_event("plan.revised", new, when, by, reason=why),))


class GoalStatus(enum.StrEnum):
    """How a goal is doing."""

    MET = "met"
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    MISSED = "missed"


@attrs.frozen
class GoalProgress:
    """One goal against the ledger.

    Attributes:
        goal: The goal.
        evidence: The metric's value against the target, as tier evidence reads it.
        status: Met, on track, at risk or missed.
        expected: The share of the period gone by (0 to 1): where progress should be.
        gap: What is missing, in words (empty when met).
    """

    goal: Goal
    evidence: RequirementEvidence
    status: GoalStatus
    expected: Decimal
    gap: str

    @property
    def actual(self) -> MetricValue:
        """The metric's value."""
        return self.evidence.actual

    @property
    def progress(self) -> Decimal:
        """From 0 to 1, as `partnerkit.tiers.RequirementEvidence.progress`."""
        return self.evidence.progress


@attrs.frozen
class PlanProgress:
    """A plan against the ledger at one instant.

    Attributes:
        plan_id: The plan.
        partner_id: Whose.
        as_of: The instant of the reading.
        goals: One entry per goal, in the plan's order.
    """

    plan_id: str
    partner_id: str
    as_of: datetime
    goals: tuple[GoalProgress, ...]

    @property
    def at_risk(self) -> tuple[GoalProgress, ...]:
        """The goals at risk or missed."""
        return tuple(
            goal for goal in self.goals if goal.status in (GoalStatus.AT_RISK, GoalStatus.MISSED)
        )

    def explain(self) -> str:
        """One line per goal, in words."""
        lines = []
        for item in self.goals:
            words = item.status.value.replace("_", " ")
            shown = f" ({item.gap})" if item.gap else ""
            lines.append(f"{item.goal.id}: {words}, {item.progress:.0%} done{shown}")
        return "\n".join(lines)


def plan_progress(
    plan: BusinessPlan,
    activities: Iterable[Activity],
    *,
    as_of: datetime,
    rates: RateSource | None = None,
) -> PlanProgress:
    """Each goal of ``plan`` against the partner's activities in the plan's period.

    Args:
        plan: The plan.
        activities: The partner's activities (any order; others' are refused).
        as_of: Now (aware). Activity after it never counts.
        rates: Converts money for metrics with a ``currency``.

    Raises:
        ValidationError: For another partner's activities, or money needing rates.
    """
    instant = to_utc(as_of, "as_of")
    start, end = plan.period_bounds()
    at = min(instant, end)
    inside = [a for a in activities if start <= a.occurred_at <= at]
    definitions = list({goal.metric.name: goal.metric for goal in plan.goals}.values())
    snapshot = compute_snapshot(definitions, inside, at, partner_id=plan.partner_id, rates=rates)
    total = (end - start).total_seconds()
    gone = min(max((instant - start).total_seconds(), 0.0), total)
    expected = (Decimal(gone) / Decimal(total)).quantize(_PLACES, rounding=ROUND_DOWN)
    over = instant > end
    results = []
    for index, goal in enumerate(plan.goals):
        actual = snapshot.get(goal.metric.name)
        evidence = RequirementEvidence(
            f"goals[{index}]",
            goal.metric.name,
            goal.comparison,
            goal.target,
            actual,
            actual is not None and _passes(goal, actual),
        )
        results.append(_goal_progress(plan, goal, evidence, expected, over=over))
    return PlanProgress(plan.id, plan.partner_id, instant, tuple(results))


def _passes(goal: Goal, actual: Money | Decimal | int) -> bool:
    target = goal.target
    if isinstance(target, Money) != isinstance(actual, Money):
        unit = "money" if isinstance(actual, Money) else "a number"
        raise ValidationError.single(
            f"goals[{goal.id!r}].target",
            f"metric {goal.metric.name!r} is {unit}; give the target as {unit}",
        )
    if isinstance(target, Money) and isinstance(actual, Money):
        if target.currency != actual.currency:
            raise ValidationError.single(
                f"goals[{goal.id!r}].target",
                f"the target is in {target.currency} but the metric in {actual.currency}; "
                f"set currency={target.currency!r} on the metric and pass rates=",
            )
        return _COMPARE[goal.comparison](actual.amount, target.amount)
    return _COMPARE[goal.comparison](actual, target)


def _goal_progress(
    plan: BusinessPlan,
    goal: Goal,
    evidence: RequirementEvidence,
    expected: Decimal,
    *,
    over: bool,
) -> GoalProgress:
    if evidence.passed:
        return GoalProgress(goal, evidence, GoalStatus.MET, expected, "")
    window = goal.metric.window.describe()
    missing = evidence.describe(goal.label, "" if window == "to date" else window)
    if over:
        return GoalProgress(
            goal, evidence, GoalStatus.MISSED, expected, f"missed by {missing} ({plan.ends_on})"
        )
    behind = goal.comparison.higher_is_better is not True or evidence.progress < expected
    status = GoalStatus.AT_RISK if behind else GoalStatus.ON_TRACK
    gap = f"needs {missing} by {plan.ends_on}"
    if behind and goal.comparison.higher_is_better:
        gap += f"; {evidence.progress:.0%} done with {expected:.0%} of the period gone"
    return GoalProgress(goal, evidence, status, expected, gap)
