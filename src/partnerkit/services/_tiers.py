"""Programs, memberships, tier reviews, pins and downgrade decisions."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from partnerkit._base.events import Event
from partnerkit._base.time import to_utc
from partnerkit._pages import every
from partnerkit.access import Action, Actor
from partnerkit.errors import (
    AlreadyExistsError,
    NotFoundError,
    ValidationError,
)
from partnerkit.tiers import (
    Membership,
    MembershipStatus,
    Program,
    ReviewRun,
    TierAssignment,
    TierChangeCause,
    apply_tier_events,
    approve_downgrade,
    pin_tier,
    record_tier_change,
    reject_downgrade,
    review,
    unpin,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import date, datetime

    from partnerkit._base.events import Change
    from partnerkit.storage import StoredProgram, UnitOfWork


from partnerkit.services._intents import (
    Result,
)
from partnerkit.services._snapshots import LedgerSnapshots, _SnapshotServices


class _TierServices(_SnapshotServices):
    """Programs, memberships, tier reviews, pins and downgrade decisions."""

    # Tier reviews, programs and memberships.

    def run_tier_review(
        self,
        actor: Actor,
        program_id: str,
        *,
        as_of: datetime | None = None,
        snapshots: LedgerSnapshots | None = None,
    ) -> Result[ReviewRun]:
        """Review every active membership of a program and save what changed.

        Reads the program, its memberships, the members' activities and tier
        histories; computes the snapshots with the program's metrics; runs
        `partnerkit.tiers.review`; saves the memberships that changed and their
        tier history, and publishes the tier events, all in one unit of work.
        Running it again for the same instant changes nothing. A member whose
        money cannot be summed (a currency the services' ``rates`` cannot convert,
        or no ``rates``) is left out and named in `Result.skipped`; the others
        are reviewed.

        Args:
            actor: Who runs it (``tier.review``).
            program_id: The program.
            as_of: The review instant (default: the program's latest review date
                at or before now).
            snapshots: Snapshots `compute_snapshots` made at the review instant
                with the program's metrics among its own: the review reads no
                activities but those of members they lack.

        Raises:
            ValidationError: If ``snapshots`` were computed at another instant or
                without the program's metrics.
        """
        self.policy.check(actor, Action.TIER_REVIEW)
        now = self.clock.now()

        def work(uow: UnitOfWork) -> Result[ReviewRun]:
            program = uow.programs.get(program_id).program
            when = as_of or program.review.previous_before(now, inclusive=True) or now
            members = every(lambda cursor: uow.memberships.query(
                program_id=program_id, limit=10_000, cursor=cursor
            ))  # fmt: skip
            ids = [m.partner_id for m in members if m.status is MembershipStatus.ACTIVE]
            found, skipped = self._run_snapshots(
                uow, ids, program.metrics, to_utc(when, "as_of"), rates=self.rates, given=snapshots
            )
            left_out = {item.partner_id for item in skipped}
            members = [m for m in members if m.partner_id not in left_out]
            histories = uow.tier_history.for_partners(program_id, found)
            run = review(program, members, found, as_of=when, histories=histories)
            for membership in run.memberships:
                uow.memberships.update(membership)
            for history in run.histories.values():
                for assignment in history:
                    uow.tier_history.save(assignment)
            return Result(run, run.events, skipped=skipped)

        return self._run(work)

    def create_program(self, actor: Actor, program: Program) -> Result[StoredProgram]:
        """Store a new program (``program.configure``), announced as ``program.created``.

        Raises:
            ConflictError: If a program with its id exists.
        """
        self.policy.check(actor, Action.PROGRAM_CONFIGURE)
        now = self.clock.now()

        def work(uow: UnitOfWork) -> Result[StoredProgram]:
            stored = uow.programs.add(program)
            event = Event(
                "program.created",
                program.id,
                now,
                actor=actor.id,
                data={"name": program.name, "tiers": len(program.tiers), "version": 1},
            )
            return Result(stored, (event,))

        return self._run(work)

    def update_program(
        self, actor: Actor, program: Program, *, version: int
    ) -> Result[StoredProgram]:
        """Store a new version of a program (``program.configure``): ``program.updated``.

        Memberships keep their tiers; the next review applies the new rules.

        Args:
            actor: Who changes it.
            program: The changed program (its id names the one to replace).
            version: The `StoredProgram.version` the change is based on.

        Raises:
            NotFoundError: If there is no such program.
            StaleVersionError: If ``version`` is not the stored one.
            ValidationError: If the program is retired.
        """
        self.policy.check(actor, Action.PROGRAM_CONFIGURE)
        now = self.clock.now()

        def work(uow: UnitOfWork) -> Result[StoredProgram]:
            current = uow.programs.get(program.id)
            self._stale("program", program.id, version, current.version)
            if current.retired_at is not None:
                raise ValidationError.single(
                    "program",
                    f"program {program.id!r} was retired at {current.retired_at.isoformat()} "
                    f"and cannot be changed; create a new program instead",
                )
            if current.program == program:
                return Result(current)
            stored = uow.programs.update(program, version=version)
            event = Event(
                "program.updated",
                program.id,
                now,
                actor=actor.id,
                data={"name": program.name, "tiers": len(program.tiers), "version": stored.version},
            )
            return Result(stored, (event,))

        return self._run(work)

    def retire_program(
        self, actor: Actor, program_id: str, *, reason: str
    ) -> Result[tuple[Membership, ...]]:
        """Retire a program (``program.configure``): mark it retired and end every membership.

        The program stays as history with `StoredProgram.retired_at` set, and
        `enrol` refuses it from then on. Each member's open tier assignment is
        closed now; reviews skip ended memberships. Announced as
        ``program.retired`` and one ``membership.ended`` per member.

        Raises:
            NotFoundError: If there is no such program.
            ValidationError: If the reason is missing, or the program is already
                retired.
        """
        self.policy.check(actor, Action.PROGRAM_CONFIGURE)
        if not isinstance(reason, str) or not reason.strip():
            raise ValidationError.single("reason", "say why the program is retired")
        now = self.clock.now()

        def work(uow: UnitOfWork) -> Result[tuple[Membership, ...]]:
            stored_program = uow.programs.get(program_id)
            uow.programs.retire(program_id, version=stored_program.version, at=now)
            members = every(lambda cursor: uow.memberships.query(
                program_id=program_id, limit=10_000, cursor=cursor
            ))  # fmt: skip
            ended: list[Membership] = []
            events: list[Event] = [
                Event("program.retired", program_id, now, actor=actor.id, data={"reason": reason})
            ]
            for membership in members:
                if membership.status is MembershipStatus.ENDED:
                    continue
                stored, event = self._end(uow, actor, membership, now, reason)
                ended.append(stored)
                events.append(event)
            return Result(tuple(ended), tuple(events))

        return self._run(work)

    @staticmethod
    def _end(
        uow: UnitOfWork, actor: Actor, membership: Membership, now: datetime, reason: str
    ) -> tuple[Membership, Event]:
        history = uow.tier_history.for_partner(membership.program_id, membership.partner_id)
        open_from = [a.valid_from for a in history if a.valid_until is None]
        closed = record_tier_change(
            history,
            partner_id=membership.partner_id,
            program_id=membership.program_id,
            tier_id=None,
            at=max([now, *open_from]),
            cause=TierChangeCause.ASSIGNED,
            actor=actor.id,
        )
        for assignment in closed:
            uow.tier_history.save(assignment)
        stored = uow.memberships.update(attrs.evolve(membership, status=MembershipStatus.ENDED))
        event = Event(
            "membership.ended",
            membership.partner_id,
            now,
            actor=actor.id,
            data={
                "program_id": membership.program_id,
                "tier_id": membership.tier_id,
                "reason": reason,
            },
        )
        return stored, event

    def enrol(
        self, actor: Actor, program_id: str, partner_id: str, *, joined_on: date | None = None
    ) -> Result[Membership]:
        """Make a partner a member of a program (``program.enrol``): ``membership.enrolled``.

        A partner who left the program before is enrolled again from ``joined_on``
        (default: today, UTC), with no tier until the next review.

        Raises:
            NotFoundError: If the program or the partner does not exist (or the
                actor may not see the partner).
            ConflictError: If the partner is already an active member.
            ValidationError: If the program is retired.
        """
        now = self.clock.now()
        start = joined_on or now.date()

        def work(uow: UnitOfWork) -> Result[Membership]:
            self._partner(uow, actor, Action.PROGRAM_ENROL, partner_id)
            if uow.programs.get(program_id).retired_at is not None:
                raise ValidationError.single(
                    "program_id",
                    f"program {program_id!r} is retired and takes no new members; "
                    f"enrol the partner in a running program",
                )
            try:
                current = uow.memberships.get(program_id, partner_id)
            except NotFoundError:
                stored = uow.memberships.add(Membership(partner_id, program_id, start))
            else:
                if current.status is not MembershipStatus.ENDED:
                    raise AlreadyExistsError(
                        "membership",
                        f"{program_id}/{partner_id}",
                        f"partner {partner_id!r} is already a member of {program_id!r}",
                    )
                stored = uow.memberships.update(
                    attrs.evolve(
                        current,
                        status=MembershipStatus.ACTIVE,
                        joined_on=start,
                        tier_id=None,
                        tier_since=None,
                        failing_reviews=0,
                        proposal=None,
                        pin=None,
                    )
                )
            event = Event(
                "membership.enrolled",
                partner_id,
                now,
                actor=actor.id,
                data={"program_id": program_id, "joined_on": start.isoformat()},
            )
            return Result(stored, (event,))

        return self._run(work)

    def leave_program(
        self, actor: Actor, program_id: str, partner_id: str, *, reason: str = ""
    ) -> Result[Membership]:
        """End a partner's membership (``program.enrol``); its open tier closes now.

        Announced as ``membership.ended``; leaving twice changes nothing.

        Raises:
            NotFoundError: If there is no such membership (or the actor may not see
                the partner).
        """
        now = self.clock.now()

        def work(uow: UnitOfWork) -> Result[Membership]:
            self._partner(uow, actor, Action.PROGRAM_ENROL, partner_id)
            membership = uow.memberships.get(program_id, partner_id)
            if membership.status is MembershipStatus.ENDED:
                return Result(membership)
            stored, event = self._end(uow, actor, membership, now, reason)
            return Result(stored, (event,))

        return self._run(work)

    def list_memberships(self, actor: Actor, partner_id: str) -> list[Membership]:
        """The partner's memberships in every program (``partner.view``), by program id.

        Raises:
            NotFoundError: If there is no such partner, or the actor may not see it.
        """
        with self.storage.unit_of_work() as uow:
            self._partner(uow, actor, Action.PARTNER_VIEW, partner_id)
            return uow.memberships.for_partner(partner_id)

    def tier_history(self, actor: Actor, program_id: str, partner_id: str) -> list[TierAssignment]:
        """The tiers a partner held in a program (``partner.view``), oldest first.

        Raises:
            NotFoundError: If there is no such partner, or the actor may not see it.
        """
        with self.storage.unit_of_work() as uow:
            self._partner(uow, actor, Action.PARTNER_VIEW, partner_id)
            return uow.tier_history.for_partner(program_id, partner_id)

    def _change_membership(
        self,
        actor: Actor,
        action: Action,
        program_id: str,
        partner_id: str,
        change: Callable[[Program, Membership, datetime], Change[Membership]],
    ) -> Result[Membership]:
        now = self.clock.now()

        def work(uow: UnitOfWork) -> Result[Membership]:
            self._partner(uow, actor, action, partner_id)
            program = uow.programs.get(program_id).program
            updated, events = change(program, uow.memberships.get(program_id, partner_id), now)
            history = uow.tier_history.for_partner(program_id, partner_id)
            for assignment in apply_tier_events(history, events):
                uow.tier_history.save(assignment)
            return Result(uow.memberships.update(updated), events)

        return self._run(work)

    def pin_tier(
        self,
        actor: Actor,
        program_id: str,
        partner_id: str,
        tier_id: str,
        *,
        until: date,
        reason: str,
    ) -> Result[Membership]:
        """Hold a partner at ``tier_id`` until a date, whatever reviews say; it lapses by itself."""
        return self._change_membership(
            actor,
            Action.TIER_PIN,
            program_id,
            partner_id,
            lambda program, m, now: pin_tier(
                program, m, tier_id, until=until, reason=reason, by=actor.id, at=now
            ),
        )

    def unpin_tier(
        self, actor: Actor, program_id: str, partner_id: str, *, reason: str = ""
    ) -> Result[Membership]:
        """Lift a pin before it lapses."""
        return self._change_membership(
            actor,
            Action.TIER_PIN,
            program_id,
            partner_id,
            lambda _program, m, now: unpin(m, by=actor.id, at=now, reason=reason),
        )

    def decide_downgrade(
        self, actor: Actor, program_id: str, partner_id: str, *, approve: bool, reason: str = ""
    ) -> Result[Membership]:
        """Approve a proposed downgrade (moving one level down) or reject it (reason needed)."""

        def decide(program: Program, membership: Membership, now: datetime) -> Change[Membership]:
            if approve:
                return approve_downgrade(program, membership, by=actor.id, at=now, reason=reason)
            return reject_downgrade(membership, by=actor.id, at=now, reason=reason)

        return self._change_membership(
            actor, Action.TIER_DECIDE_DOWNGRADE, program_id, partner_id, decide
        )
