"""Onboarding and activation journeys as data, with their state derived from the ledger.

A `Journey` is an ordered list of `Step` s, such as first contact -> ramp-up ->
fully operational. Each step is done when the partner's activities meet its
`Condition` ("has registered 1 deal", "has completed 2 trainings") and may have a
deadline (``within``, counted from the moment the step began): a partner that
has not done it by then is **overdue** there ("has not registered a deal 30 days
after activation"). Steps run in order; activity from before a step began
counts towards it (a partner that trained early is not made to train again), but
a step is never done before the one above it.

Nothing about a partner's place in a journey is stored: `journey_state` works it
out from when the partner started (an `Enrolment`) and its activities, so it
cannot drift from the ledger and replays for any past instant.

`Outcome` s say what should happen when a step is done or becomes overdue: send
an email, call a webhook, anything a host names. `journey_events` turns what
happened in a time window into `partnerkit.Event` s (``journey.outcome`` with the
outcome's action and target in its data), which a host delivers through the
outbox; running it over consecutive windows fires each outcome once.

A `Variant` customises a journey for an `Audience` (partner types, tiers,
countries): it can skip steps and change deadlines. The first variant whose
audience matches the partner applies. `journey_report` says who is stuck where.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Final

import attrs

from partnerkit._base.checks import check_slug, check_text, repeated
from partnerkit._base.events import Event, Scalar, check_scalars
from partnerkit._base.ids import check_id
from partnerkit._base.time import Period, to_utc
from partnerkit.errors import Problems, ValidationError

if TYPE_CHECKING:
    from partnerkit.ledger import Activity

__all__ = [
    "Audience",
    "Condition",
    "Enrolment",
    "Journey",
    "JourneyReport",
    "JourneyState",
    "Outcome",
    "Step",
    "StepReport",
    "StepState",
    "StepStatus",
    "StuckPartner",
    "Variant",
    "journey_events",
    "journey_report",
    "journey_state",
]

_ABSENT: Final = object()
_DAY_SECONDS: Final = 86400


@attrs.frozen
class Condition:
    """What a partner must have done: ``count`` activities of ``kinds`` matching ``where``.

    Attributes:
        kinds: Activity kinds that count (at least one).
        where: Attribute values an activity must have.
        count: How many are needed (default 1).
    """

    kinds: tuple[str, ...]
    where: dict[str, Scalar] = attrs.field(factory=dict)
    count: int = 1

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        kinds = (self.kinds,) if isinstance(self.kinds, str) else tuple(self.kinds)
        if not kinds:
            problems.add("kinds", "name at least one activity kind")
        for index, kind in enumerate(kinds):
            problems.check(f"kinds[{index}]", check_slug, kind, "activity kind")
        object.__setattr__(self, "kinds", kinds)
        object.__setattr__(self, "where", check_scalars(self.where, problems, "where"))
        if isinstance(self.count, bool) or not isinstance(self.count, int) or self.count < 1:
            problems.add("count", "expected a whole number of 1 or more")
        problems.raise_if_any()

    def matches(self, activity: Activity) -> bool:
        """Whether ``activity`` counts towards the condition."""
        return activity.kind in self.kinds and all(
            activity.attributes.get(key, _ABSENT) == value for key, value in self.where.items()
        )

    def met_at(self, activities: Iterable[Activity]) -> datetime | None:
        """When the ``count``-th matching activity happened (``None``: not yet)."""
        times = sorted(activity.occurred_at for activity in activities if self.matches(activity))
        return times[self.count - 1] if len(times) >= self.count else None

    def describe(self) -> str:
        """In words: ``"1 deal registered"``."""
        what = " or ".join(kind.replace("_", " ") for kind in self.kinds)
        where = ", ".join(f"{key}={value}" for key, value in self.where.items())
        return f"{self.count} x {what}" + (f" ({where})" if where else "")


@attrs.frozen
class Outcome:
    """What a host should do when a step is done or overdue.

    Attributes:
        action: A slug the host acts on: ``"email"``, ``"webhook"``, ``"task"``.
        target: What to act with: a template name, a URL, a queue.
        data: Flat details passed along in the event.
    """

    action: str
    target: str
    data: dict[str, Scalar] = attrs.field(factory=dict)

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        problems.check("action", check_slug, self.action, "outcome action")
        object.__setattr__(
            self, "target", problems.check("target", check_text, self.target, required=True)
        )
        object.__setattr__(self, "data", check_scalars(self.data, problems, "data"))
        problems.raise_if_any()


def _period(value: Period | str | None) -> Period | None:
    """A deadline given as a `Period` or its text (``"P30D"``, ``"30 days"``)."""
    if isinstance(value, str):
        return Period.parse(value, "within")
    return value


@attrs.frozen
class Step:
    """One step of a journey.

    Attributes:
        id: A slug unique in the journey.
        name: Words for reports (``"Ramp-up"``).
        done_when: What completes it.
        within: The deadline, counted from when the step began (``None``: none).
        on_done: Outcomes when it is done.
        on_overdue: Outcomes when the deadline passes first.
    """

    id: str
    name: str
    done_when: Condition
    within: Period | None = attrs.field(default=None, converter=_period)
    on_done: tuple[Outcome, ...] = ()
    on_overdue: tuple[Outcome, ...] = ()

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        problems.check("id", check_slug, self.id, "step id")
        object.__setattr__(
            self, "name", problems.check("name", check_text, self.name, required=True)
        )
        if not isinstance(self.done_when, Condition):
            problems.add("done_when", "expected a Condition")
        if self.within is not None and not isinstance(self.within, Period):
            problems.add("within", "expected a Period such as 'P30D'")
        if isinstance(self.within, Period) and (
            self.within.is_zero() or any(part < 0 for part in self.within._parts())
        ):
            problems.add("within", "a deadline must be a positive period")
        for name in ("on_done", "on_overdue"):
            items = tuple(getattr(self, name))
            if not all(isinstance(item, Outcome) for item in items):
                problems.add(name, "expected a list of Outcome")
            object.__setattr__(self, name, items)
        problems.raise_if_any()


@attrs.frozen
class Audience:
    """Which partners a variant is for; an empty list means "any".

    Attributes:
        types: Partner types.
        tiers: Tier ids.
        countries: ISO country codes.
    """

    types: tuple[str, ...] = ()
    tiers: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()

    def matches(self, enrolment: Enrolment) -> bool:
        """Whether the enrolled partner belongs to the audience."""
        return (
            (not self.types or enrolment.type in self.types)
            and (not self.tiers or enrolment.tier_id in self.tiers)
            and (not self.countries or enrolment.country in self.countries)
        )


@attrs.frozen
class Variant:
    """A journey customised for an audience.

    Attributes:
        name: A slug (``"referral"``).
        audience: Who it is for.
        skip: Step ids it leaves out.
        within: Step id to its own deadline.
    """

    name: str
    audience: Audience
    skip: tuple[str, ...] = ()
    within: dict[str, Period] = attrs.field(factory=dict)

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        problems.check("name", check_slug, self.name, "variant name")
        object.__setattr__(self, "skip", tuple(self.skip))
        read = {}
        for step_id, period in dict(self.within).items():
            value = Period.parse(period) if isinstance(period, str) else period
            if not isinstance(value, Period):
                problems.add(f"within[{step_id!r}]", "expected a Period such as 'P45D'")
            read[step_id] = value
        object.__setattr__(self, "within", read)
        problems.raise_if_any()


@attrs.frozen
class Journey:
    """An onboarding or activation journey: ordered steps and their variants.

    Attributes:
        id: A slug.
        name: Words for reports.
        steps: The steps, in order (at least one).
        variants: Customisations; the first matching one applies.
    """

    id: str
    name: str
    steps: tuple[Step, ...]
    variants: tuple[Variant, ...] = ()

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        problems.check("id", check_slug, self.id, "journey id")
        object.__setattr__(
            self, "name", problems.check("name", check_text, self.name, required=True)
        )
        steps = tuple(self.steps)
        if not steps or not all(isinstance(step, Step) for step in steps):
            problems.add("steps", "expected at least one Step")
        object.__setattr__(self, "steps", steps)
        ids = [step.id for step in steps if isinstance(step, Step)]
        twice = repeated(ids)
        if twice:
            problems.add("steps", f"step ids used twice: {', '.join(twice)}")
        variants = tuple(self.variants)
        object.__setattr__(self, "variants", variants)
        for index, variant in enumerate(variants):
            if not isinstance(variant, Variant):
                problems.add(f"variants[{index}]", "expected a Variant")
                continue
            unknown = sorted((set(variant.skip) | set(variant.within)) - set(ids))
            if unknown:
                problems.add(
                    f"variants[{index}]",
                    f"names steps the journey does not have: {', '.join(unknown)} "
                    f"(steps: {', '.join(ids)})",
                )
        problems.raise_if_any()

    def for_partner(self, enrolment: Enrolment) -> tuple[Variant | None, tuple[Step, ...]]:
        """The variant that applies to the partner (if any) and the steps it runs."""
        for variant in self.variants:
            if variant.audience.matches(enrolment):
                steps = tuple(
                    attrs.evolve(step, within=variant.within.get(step.id, step.within))
                    for step in self.steps
                    if step.id not in variant.skip
                )
                return variant, steps
        return None, self.steps


@attrs.frozen
class Enrolment:
    """A partner on a journey: when it started, and what variants look at.

    Attributes:
        partner_id: The partner.
        started_at: When the journey began (activation, signing...).
        type: The partner's type.
        country: Its country.
        tier_id: Its tier, if any.
    """

    partner_id: str
    started_at: datetime
    type: str = ""
    country: str = ""
    tier_id: str | None = None

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        problems.check("partner_id", check_id, self.partner_id, "")
        started = problems.check("started_at", to_utc, self.started_at, "")
        object.__setattr__(self, "started_at", started)
        problems.raise_if_any()


class StepStatus(enum.StrEnum):
    """Where a partner is on one step."""

    DONE = "done"
    CURRENT = "current"
    OVERDUE = "overdue"
    PENDING = "pending"


@attrs.frozen
class StepState:
    """One step for one partner.

    Attributes:
        step: The step (with the variant's deadline).
        status: Done, current, overdue or pending.
        began_at: When the step began (``None``: not yet).
        due_at: Its deadline (``None``: none, or not begun).
        done_at: When it was done (``None``: not yet).
        late: Whether it was (or is) past its deadline before being done.
    """

    step: Step
    status: StepStatus
    began_at: datetime | None
    due_at: datetime | None
    done_at: datetime | None
    late: bool


@attrs.frozen
class JourneyState:
    """One partner's place in a journey at one instant.

    Attributes:
        journey_id: The journey.
        partner_id: The partner.
        as_of: The instant.
        variant: The variant that applied, if any.
        steps: Each step's state, in order.
    """

    journey_id: str
    partner_id: str
    as_of: datetime
    variant: str | None
    steps: tuple[StepState, ...]

    @property
    def current(self) -> StepState | None:
        """The step the partner is on (``None``: the journey is complete)."""
        return next((s for s in self.steps if s.status is not StepStatus.DONE and s.began_at), None)

    @property
    def completed(self) -> bool:
        """Whether every step is done."""
        return all(state.status is StepStatus.DONE for state in self.steps)

    @property
    def stuck(self) -> bool:
        """Whether the partner is past the deadline of the step it is on."""
        current = self.current
        return current is not None and current.status is StepStatus.OVERDUE

    def explain(self) -> str:
        """Where the partner is, in words."""
        current = self.current
        if current is None:
            last = self.steps[-1].done_at
            return (
                f"{self.partner_id} completed {self.journey_id} on {last.date() if last else '?'}"
            )
        assert current.began_at is not None  # noqa: S101 - current steps have begun
        days = int((self.as_of - current.began_at).total_seconds() // _DAY_SECONDS)
        text = (
            f"{self.partner_id} is at {current.step.name!r} for {days} days; needs "
            f"{current.step.done_when.describe()}"
        )
        if current.due_at is not None:
            late = int((self.as_of - current.due_at).total_seconds() // _DAY_SECONDS)
            text += (
                f"; overdue by {late} days (due {current.due_at.date()})"
                if current.status is StepStatus.OVERDUE
                else f"; due {current.due_at.date()}"
            )
        return text


def journey_state(
    journey: Journey,
    enrolment: Enrolment,
    activities: Iterable[Activity],
    *,
    as_of: datetime,
) -> JourneyState:
    """Where the partner is in ``journey`` at ``as_of``, worked out from its activities.

    Args:
        journey: The journey.
        enrolment: The partner and when it started.
        activities: The partner's activities (others' are refused; later ones than
            ``as_of`` are ignored).
        as_of: The instant (aware).

    Raises:
        ValidationError: For another partner's activity.
    """
    instant = to_utc(as_of, "as_of")
    known = []
    for activity in activities:
        if activity.partner_id != enrolment.partner_id:
            raise ValidationError.single(
                "activities",
                f"activity {activity.id!r} belongs to {activity.partner_id!r}, "
                f"not {enrolment.partner_id!r}",
            )
        if enrolment.started_at <= activity.occurred_at <= instant:
            known.append(activity)
    variant, steps = journey.for_partner(enrolment)
    states = []
    began: datetime | None = enrolment.started_at if enrolment.started_at <= instant else None
    for step in steps:
        if began is None:
            states.append(StepState(step, StepStatus.PENDING, None, None, None, late=False))
            continue
        due = began + step.within if step.within is not None else None
        met = step.done_when.met_at(known)
        done = None if met is None else max(met, began)
        late = due is not None and (done > due if done is not None else instant > due)
        if done is not None:
            status = StepStatus.DONE
        else:
            status = StepStatus.OVERDUE if late else StepStatus.CURRENT
        states.append(StepState(step, status, began, due, done, late))
        began = done
    return JourneyState(
        journey.id,
        enrolment.partner_id,
        instant,
        None if variant is None else variant.name,
        tuple(states),
    )


def _step_events(
    outcomes: tuple[Outcome, ...],
    state: JourneyState,
    step: Step,
    trigger: str,
    at: datetime,
) -> list[Event]:
    """``journey.step_<trigger>`` for ``step``, then one ``journey.outcome`` per outcome."""
    head: dict[str, Scalar] = {"journey": state.journey_id, "step": step.id}
    return [
        Event(f"journey.step_{trigger}", state.partner_id, at, None, head),
        *(
            Event(
                "journey.outcome",
                state.partner_id,
                at,
                None,
                {
                    **outcome.data,
                    **head,
                    "trigger": trigger,
                    "action": outcome.action,
                    "target": outcome.target,
                },
            )
            for outcome in outcomes
        ),
    ]


def journey_events(
    journey: Journey,
    enrolment: Enrolment,
    activities: Iterable[Activity],
    *,
    since: datetime,
    until: datetime,
) -> tuple[Event, ...]:
    """What happened on the journey in ``(since, until]``, as events to deliver.

    For every step done in the window: ``journey.step_done`` and its ``on_done``
    outcomes; for every deadline passed in the window with the step not done by
    then: ``journey.step_overdue`` and its ``on_overdue`` outcomes; and
    ``journey.completed`` when the last step was done. Each outcome is one
    ``journey.outcome`` event whose data carries ``action``, ``target``, ``journey``,
    ``step`` and ``trigger`` (``done`` or ``overdue``). Windows that follow each other
    (``since`` = the previous ``until``) fire everything exactly once.

    Raises:
        ValidationError: If ``until`` is before ``since``.
    """
    start, end = to_utc(since, "since"), to_utc(until, "until")
    if end < start:
        raise ValidationError.single("until", f"is before since ({start.isoformat()})")
    state = journey_state(journey, enrolment, activities, as_of=end)
    found: list[tuple[datetime, int, list[Event]]] = []
    base: dict[str, Scalar] = {"journey": journey.id}
    for order, item in enumerate(state.steps):
        step = item.step
        if item.done_at is not None and start < item.done_at <= end:
            done = _step_events(step.on_done, state, step, "done", item.done_at)
            found.append((item.done_at, order * 2 + 1, done))
        # Overdue at the deadline itself when not done by then: judged by the deadline,
        # not by the window's end, so a window ending on it fires the event once.
        missed = item.due_at is not None and (item.done_at is None or item.done_at > item.due_at)
        if missed and item.due_at is not None and start < item.due_at <= end:
            overdue = _step_events(step.on_overdue, state, step, "overdue", item.due_at)
            found.append((item.due_at, order * 2, overdue))
    finished = state.steps[-1].done_at if state.completed else None
    if finished is not None and start < finished <= end:
        found.append(
            (
                finished,
                len(state.steps) * 2,
                [Event("journey.completed", state.partner_id, finished, None, base)],
            )
        )
    found.sort(key=lambda entry: (entry[0], entry[1]))
    return tuple(event for _, _, events in found for event in events)


@attrs.frozen
class StuckPartner:
    """A partner past the deadline of the step it is on.

    Attributes:
        partner_id: The partner.
        days_at_step: Days since the step began.
        days_overdue: Days past its deadline.
    """

    partner_id: str
    days_at_step: int
    days_overdue: int


@attrs.frozen
class StepReport:
    """How many partners are at one step, and who is stuck there.

    Attributes:
        step_id: The step.
        name: Its name.
        at_step: Partners currently on it.
        stuck: Those past its deadline, longest overdue first.
    """

    step_id: str
    name: str
    at_step: tuple[str, ...]
    stuck: tuple[StuckPartner, ...]


@attrs.frozen
class JourneyReport:
    """Who is where in a journey, and who is stuck.

    Attributes:
        journey_id: The journey.
        as_of: The instant.
        steps: One entry per step of the journey (variants' skipped steps included,
            so every partner is counted where it is).
        completed: Partners that finished.
    """

    journey_id: str
    as_of: datetime
    steps: tuple[StepReport, ...]
    completed: tuple[str, ...]

    def explain(self) -> str:
        """One line per step, then the finishers."""
        lines = []
        for step in self.steps:
            line = (
                f"{step.name}: {len(step.at_step)} partner{'s' if len(step.at_step) != 1 else ''}"
            )
            if step.stuck:
                shown = ", ".join(
                    f"{item.partner_id} ({item.days_overdue} days overdue)"
                    for item in step.stuck[:5]
                )
                more = f" and {len(step.stuck) - 5} more" if len(step.stuck) > 5 else ""
                line += f"; stuck: {shown}{more}"
            lines.append(line)
        lines.append(f"completed: {len(self.completed)}")
        return "\n".join(lines)


def journey_report(
    journey: Journey,
    enrolments: Iterable[Enrolment],
    activities: Iterable[Activity] | Mapping[str, Iterable[Activity]],
    *,
    as_of: datetime,
) -> JourneyReport:
    """Who is stuck where: every enrolled partner placed on its current step.

    Args:
        journey: The journey.
        enrolments: The partners on it.
        activities: Everyone's activities, or ``{partner_id: activities}``.
        as_of: The instant (aware).
    """
    instant = to_utc(as_of, "as_of")
    grouped: dict[str, list[Activity]] = {}
    if isinstance(activities, Mapping):
        for partner_id, items in activities.items():
            grouped[partner_id] = list(items)
    else:
        for activity in activities:
            grouped.setdefault(activity.partner_id, []).append(activity)
    at: dict[str, list[str]] = {step.id: [] for step in journey.steps}
    stuck: dict[str, list[StuckPartner]] = {step.id: [] for step in journey.steps}
    completed = []
    for enrolment in enrolments:
        state = journey_state(
            journey, enrolment, grouped.get(enrolment.partner_id, ()), as_of=instant
        )
        current = state.current
        if current is None:
            if state.completed:
                completed.append(enrolment.partner_id)
            continue
        at[current.step.id].append(enrolment.partner_id)
        if current.status is StepStatus.OVERDUE:
            assert current.began_at is not None  # noqa: S101 - an overdue step has begun
            assert current.due_at is not None  # noqa: S101 - and has a deadline
            stuck[current.step.id].append(
                StuckPartner(
                    enrolment.partner_id,
                    int((instant - current.began_at).total_seconds() // _DAY_SECONDS),
                    int((instant - current.due_at).total_seconds() // _DAY_SECONDS),
                )
            )
    return JourneyReport(
        journey.id,
        instant,
        tuple(
            StepReport(
                step.id,
                step.name,
                tuple(sorted(at[step.id])),
                tuple(sorted(stuck[step.id], key=lambda s: (-s.days_overdue, s.partner_id))),
            )
            for step in journey.steps
        ),
        tuple(sorted(completed)),
    )
