"""Review runs over a population, and what-if runs of a changed program."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Final

import attrs

from partnerkit._base.events import Event
from partnerkit._base.time import to_utc
from partnerkit.errors import Problems
from partnerkit.tiers._engine import (
    ReviewEvidence,
    TierDecision,
    TierOutcome,
    apply_decision,
    engine,
)
from partnerkit.tiers._html import review_html, review_records, what_if_html, what_if_records
from partnerkit.tiers._membership import (
    Membership,
    MembershipStatus,
    TierAssignment,
    TierChangeCause,
    record_tier_change,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from partnerkit.metrics import MetricSnapshot
    from partnerkit.tiers._model import Program

__all__ = ["Movement", "ReviewRun", "TierCount", "WhatIf", "WhatIfMove", "review", "what_if"]

_LISTED: Final = 5
# Reviews move tiers by upgrades and downgrades only (pins move them when set).
_CAUSES: Final = {
    TierOutcome.UPGRADE: TierChangeCause.UPGRADE,
    TierOutcome.DOWNGRADE: TierChangeCause.DOWNGRADE,
}


@attrs.frozen
class ReviewRun:
    """The result of reviewing a population at one instant. Nothing is saved by it.

    Attributes:
        program_id: The program reviewed.
        as_of: The review instant.
        decisions: One per active membership, in input order (a membership already
            reviewed at or after ``as_of`` has a decision with ``counted=False``).
        memberships: The memberships the review changed, to save. A membership
            kept in good standing (or held by a pin) is not changed.
        events: Every domain event, in membership order.
        skipped: Partner id to why its membership was not reviewed (suspended,
            ended, or already reviewed).
        histories: For every partner whose tier changed: its tier history with the
            change (built on the history passed in, if any).
    """

    program_id: str
    as_of: datetime
    decisions: tuple[TierDecision, ...]
    memberships: tuple[Membership, ...]
    events: tuple[Event, ...]
    skipped: dict[str, str] = attrs.field(factory=dict)
    histories: dict[str, tuple[TierAssignment, ...]] = attrs.field(factory=dict)

    @property
    def outcomes(self) -> dict[TierOutcome, int]:
        """How many decisions had each outcome (counted decisions only)."""
        counts = dict.fromkeys(TierOutcome, 0)
        for decision in self.decisions:
            if decision.counted:
                counts[decision.outcome] += 1
        return counts

    @property
    def moved(self) -> tuple[str, ...]:
        """The partners whose tier changed."""
        return tuple(d.partner_id for d in self.decisions if d.counted and d.changed)

    def to_records(self) -> list[dict[str, object]]:
        """One plain record per decision, for ``pandas.DataFrame(run.to_records())``.

        Keys: partner_id, program_id, as_of, outcome, from_tier_id, tier_id,
        qualifying_tier_id, proposed_tier_id, failing_reviews, changed, counted,
        progress_to_next (0 to 1, ``None`` at the top) and gap (words).
        """
        return review_records(self)

    def _repr_html_(self) -> str:
        return review_html(self)

    def decision(self, partner_id: str) -> TierDecision:
        """The decision for ``partner_id``.

        Raises:
            KeyError: If the partner was not in the review.
        """
        for decision in self.decisions:
            if decision.partner_id == partner_id:
                return decision
        raise KeyError(partner_id)


def _membership_problem(
    membership: Membership, index: int, program_id: str, seen: set[str], problems: Problems
) -> None:
    partner_id = membership.partner_id
    if membership.program_id != program_id:
        problems.add(
            f"memberships[{index}].program_id",
            f"{partner_id!r} is a member of {membership.program_id!r}, not {program_id!r}",
        )
    if partner_id in seen:
        problems.add(f"memberships[{index}]", f"partner {partner_id!r} is listed twice")


def _snapshot_problem(
    snapshot: MetricSnapshot, partner_id: str, instant: datetime, problems: Problems
) -> None:
    if snapshot.partner_id != partner_id:
        problems.add(f"snapshots[{partner_id!r}]", f"holds the snapshot of {snapshot.partner_id!r}")
    else:
        problems.add(
            f"snapshots[{partner_id!r}].as_of",
            f"{snapshot.as_of.isoformat()} is after the review at {instant.isoformat()}; "
            f"compute snapshots as of the review",
        )


def _missing_problem(missing: list[str], problems: Problems) -> None:
    if missing:
        listed = ", ".join(repr(partner_id) for partner_id in missing[:_LISTED])
        more = f" and {len(missing) - _LISTED} more" if len(missing) > _LISTED else ""
        problems.add(
            "snapshots",
            f"no snapshot for {len(missing)} active member(s): {listed}{more}; compute them "
            f"with compute_snapshots(program.metrics, activities, as_of, partner_ids=...)",
        )


def _population(
    program: Program,
    memberships: Iterable[Membership],
    snapshots: Mapping[str, MetricSnapshot],
    instant: datetime,
) -> list[Membership]:
    """The active memberships, after checking the whole population like `review` does."""
    problems = Problems()
    seen: set[str] = set()
    missing: list[str] = []
    active: list[Membership] = []
    for index, membership in enumerate(memberships):
        if not isinstance(membership, Membership):
            problems.add(f"memberships[{index}]", "expected a Membership")
            continue
        partner_id = membership.partner_id
        if membership.program_id != program.id or partner_id in seen:
            _membership_problem(membership, index, program.id, seen, problems)
            continue
        seen.add(partner_id)
        if membership.status is not MembershipStatus.ACTIVE:
            continue
        snapshot = snapshots.get(partner_id)
        if snapshot is None:
            missing.append(partner_id)
        elif snapshot.partner_id != partner_id or snapshot.as_of > instant:
            _snapshot_problem(snapshot, partner_id, instant, problems)
        else:
            active.append(membership)
    _missing_problem(missing, problems)
    problems.raise_if_any()
    return active


def review(  # noqa: PLR0915 - one pass per partner; helpers would cost a call each
    program: Program,
    memberships: Iterable[Membership],
    snapshots: Mapping[str, MetricSnapshot],
    *,
    as_of: datetime,
    histories: Mapping[str, Sequence[TierAssignment]] | None = None,
    evidence: bool = True,
) -> ReviewRun:
    """Review every active membership of ``program`` at ``as_of``.

    Each membership is evaluated (`evaluate`) and the decision applied
    (`apply_decision`). Running the same review twice changes nothing the second
    time: memberships already reviewed at or after ``as_of`` are skipped.

    Args:
        program: The program.
        memberships: Its memberships; suspended and ended ones are skipped.
        snapshots: Partner id to metrics as of ``as_of``, computed with
            ``program.metrics``; every active member needs one.
        as_of: The review instant, usually from `next_review`.
        histories: Partner id to tier history, to get whole histories back for
            partners whose tier changes.
        evidence: Build evidence for every decision (the default); ``False``
            decides only, which is faster for large populations.

    Raises:
        ValidationError: Listing memberships of other programs, duplicates,
            snapshots of the wrong partner or from after ``as_of``, and members
            without a snapshot; nothing is returned then.
    """
    instant = to_utc(as_of, "as_of")
    compiled = engine(program)
    later = ReviewEvidence(compiled)
    decide = compiled.deferred(later) if evidence else compiled.fast
    decided_on = later.values
    values_of = compiled.values
    decisions: list[TierDecision] = []
    updated: list[Membership] = []
    events: list[Event] = []
    skipped: dict[str, str] = {}
    changed_histories: dict[str, tuple[TierAssignment, ...]] = {}
    problems = Problems()
    missing: list[str] = []
    seen: set[str] = set()
    active = MembershipStatus.ACTIVE
    proposed = TierOutcome.PROPOSED_DOWNGRADE
    built_ins = compiled.uses_built_ins
    program_id = program.id
    # One pass checks and evaluates; after the first problem it only checks, so
    # the error lists everything wrong with the input. Nothing is returned then.
    broken = False
    remember = seen.add
    decided = decisions.append
    for index, membership in enumerate(memberships):
        if membership.__class__ is not Membership:
            problems.add(f"memberships[{index}]", "expected a Membership")
            broken = True
            continue
        partner_id = membership.partner_id
        if membership.program_id != program_id or partner_id in seen:
            _membership_problem(membership, index, program_id, seen, problems)
            broken = True
            continue
        remember(partner_id)
        if membership.status is not active:
            skipped[partner_id] = f"the membership is {membership.status.value}"
            continue
        snapshot = snapshots.get(partner_id)
        if snapshot is None:
            missing.append(partner_id)
            broken = True
            continue
        if snapshot.partner_id != partner_id or snapshot.as_of > instant:
            _snapshot_problem(snapshot, partner_id, instant, problems)
            broken = True
            continue
        if broken:
            continue
        values = values_of(membership, snapshot, instant) if built_ins else snapshot.values
        if evidence:
            decided_on[partner_id] = values
        decision = decide(membership, values, instant)
        decided(decision)
        if not decision.counted:
            last = membership.last_review_at
            skipped[partner_id] = f"already reviewed at {last.isoformat() if last else '?'}"
            continue
        # apply_decision's own test for "nothing changes", inlined: most of a
        # population takes this branch.
        if (
            decision.tier_id == membership.tier_id
            and decision.failing_reviews == membership.failing_reviews
            and membership.proposal is None
            and decision.outcome is not proposed
            and not decision.pin_lapsed
        ):
            continue
        result, implied = apply_decision(membership, decision)
        updated.append(result)
        events.extend(implied)
        if decision.tier_id != membership.tier_id:
            changed_histories[partner_id] = record_tier_change(
                () if histories is None else histories.get(partner_id, ()),
                partner_id=partner_id,
                program_id=program_id,
                tier_id=decision.tier_id,
                at=instant,
                cause=_CAUSES[decision.outcome],
            )
    _missing_problem(missing, problems)
    problems.raise_if_any()
    return ReviewRun(
        program.id,
        instant,
        tuple(decisions),
        tuple(updated),
        tuple(events),
        skipped,
        changed_histories,
    )


class Movement(enum.StrEnum):
    """How a partner's qualifying tier moves under a changed program."""

    UP = "up"
    DOWN = "down"
    OUT = "out"
    """Qualified for a tier before, for none after."""
    SAME = "same"


@attrs.frozen
class WhatIfMove:
    """One partner who would qualify for another tier under the changed program.

    Attributes:
        partner_id: The partner.
        held_tier_id: The tier the membership holds today.
        before_tier_id: The tier it qualifies for under the current program.
        after_tier_id: The tier it would qualify for under the changed one.
        movement: Up, down or out.
    """

    partner_id: str
    held_tier_id: str | None
    before_tier_id: str | None
    after_tier_id: str | None
    movement: Movement


@attrs.frozen
class TierCount:
    """How many partners a tier has, today and under both programs.

    Attributes:
        tier_id: The tier (``None``: partners in no tier).
        name: Its name (``"no tier"`` for ``None``).
        held: Memberships holding it today.
        before: Partners qualifying for it under the current program.
        after: Partners qualifying for it under the changed program.
    """

    tier_id: str | None
    name: str
    held: int
    before: int
    after: int


@attrs.frozen
class WhatIf:
    """What a changed program would do to a population, with nothing changed.

    Movements compare the tier each partner *qualifies* for under the current and
    the changed program, so they show the effect of the change alone; a real review
    would still apply the policy (grace before any downgrade, pins).

    Attributes:
        program_id: The current program.
        as_of: When the population was evaluated.
        moves: The partners who would move, in input order.
        counts: Per tier (current program's tiers first, then new ones, then no
            tier): held today, qualifying before and after.
        unchanged: How many partners would stay where they are.
    """

    program_id: str
    as_of: datetime
    moves: tuple[WhatIfMove, ...]
    counts: tuple[TierCount, ...]
    unchanged: int

    def _ids(self, movement: Movement) -> tuple[str, ...]:
        return tuple(move.partner_id for move in self.moves if move.movement is movement)

    @property
    def up(self) -> tuple[str, ...]:
        """Partners who would qualify for a higher tier."""
        return self._ids(Movement.UP)

    @property
    def down(self) -> tuple[str, ...]:
        """Partners who would qualify only for a lower tier."""
        return self._ids(Movement.DOWN)

    @property
    def out(self) -> tuple[str, ...]:
        """Partners who would qualify for no tier at all."""
        return self._ids(Movement.OUT)

    def to_records(self) -> list[dict[str, object]]:
        """One plain record per partner who would move, for ``pandas.DataFrame``.

        Keys: partner_id, held_tier_id, before_tier_id, after_tier_id, movement.
        """
        return what_if_records(self)

    def _repr_html_(self) -> str:
        return what_if_html(self)

    def summary(self) -> str:
        """The moves and the counts per tier as a small table."""
        moved = (
            f"{len(self.up)} up, {len(self.down)} down, {len(self.out)} out, "
            f"{self.unchanged} unchanged"
        )
        lines = [moved, f"{'tier':<12} {'held':>6} {'before':>7} {'after':>6}"]
        lines += [
            f"{count.name:<12} {count.held:>6} {count.before:>7} {count.after:>6}"
            for count in self.counts
        ]
        return "\n".join(lines)


def what_if(
    program: Program,
    proposed: Program,
    memberships: Iterable[Membership],
    snapshots: Mapping[str, MetricSnapshot],
    *,
    as_of: datetime,
) -> WhatIf:
    """Evaluate ``proposed`` (a changed ``program``) over the population; change nothing.

    Every active membership is evaluated under both programs with the same
    snapshots (compute them with the metrics of both programs if the proposal reads
    new ones: a metric missing from a snapshot counts as no data). Movement is by
    rank: a partner moves *up* if the tier it qualifies for under ``proposed``
    ranks higher, *down* if lower, *out* if it qualifies for none.

    Raises:
        ValidationError: As `review` does for the population.
    """
    instant = to_utc(as_of, "as_of")
    members = _population(program, memberships, snapshots, instant)
    before_engine = engine(program)
    after_engine = engine(proposed)
    names: dict[str | None, str] = {tier.id: tier.name for tier in proposed.tiers}
    names.update({tier.id: tier.name for tier in program.tiers})
    order: list[str | None] = [tier.id for tier in program.tiers]
    order += [tier.id for tier in proposed.tiers if tier.id not in order]
    order.append(None)
    names[None] = "no tier"
    held: dict[str | None, int] = dict.fromkeys(order, 0)
    before_counts = dict(held)
    after_counts = dict(held)
    moves: list[WhatIfMove] = []
    unchanged = 0
    for membership in members:
        snapshot = snapshots[membership.partner_id]
        before = before_engine.qualifying_rank(before_engine.values(membership, snapshot, instant))
        after = after_engine.qualifying_rank(after_engine.values(membership, snapshot, instant))
        before_id = program.tiers[before - 1].id if before else None
        after_id = proposed.tiers[after - 1].id if after else None
        held[membership.tier_id if membership.tier_id in held else None] += 1
        before_counts[before_id] += 1
        after_counts[after_id] += 1
        if after == before:
            unchanged += 1
            continue
        movement = Movement.OUT if not after else Movement.UP if after > before else Movement.DOWN
        moves.append(
            WhatIfMove(membership.partner_id, membership.tier_id, before_id, after_id, movement)
        )
    counts = tuple(
        TierCount(
            tier_id, names[tier_id], held[tier_id], before_counts[tier_id], after_counts[tier_id]
        )
        for tier_id in order
    )
    return WhatIf(program.id, instant, tuple(moves), counts, unchanged)
