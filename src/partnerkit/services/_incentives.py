"""Incentive plans and statements: compute, approve, pay, read and replay."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from partnerkit._base.events import Event
from partnerkit._base.ids import check_id
from partnerkit._base.time import Period, to_utc
from partnerkit._pages import every
from partnerkit.access import Action, Actor, Scope
from partnerkit.errors import (
    ConflictError,
    InvalidTransitionError,
    NotFoundError,
    ValidationError,
)
from partnerkit.incentives import (
    Plan,
    Statement,
    StatementStatus,
    period_containing,
    replay,
    run_statements,
)
from partnerkit.services._core import _ServicesCore
from partnerkit.services._intents import Result, Skipped
from partnerkit.storage import Page

if TYPE_CHECKING:
    from datetime import datetime

    from partnerkit.ledger import Activity
    from partnerkit.storage import UnitOfWork

#: How far before a period a statement run reads the ledger by default: growth
#: windows and reversals of earlier periods' activities reach back this far.
DEFAULT_LOOKBACK = Period(years=1, months=1)
_PAGE = 10_000
#: What may be done to a statement in each status.
_NEXT = {
    StatementStatus.DRAFT: ("approve",),
    StatementStatus.APPROVED: ("pay",),
    StatementStatus.PAID: (),
}


class _IncentiveServices(_ServicesCore):
    """Incentive plans (stored by version) and the statements computed from them."""

    # Plans.

    def add_incentive_plan(self, actor: Actor, plan: Plan) -> Result[Plan]:
        """Store a version of an incentive plan (``incentive.configure``).

        Versions are kept side by side, so a past statement replays with the plan
        version that computed it; adding the very same plan again changes nothing.

        Raises:
            PermissionDeniedError: Unless the actor may configure incentives.
            AlreadyExistsError: If that version is stored with other content.
        """
        self.policy.check(actor, Action.INCENTIVE_CONFIGURE)
        if not isinstance(plan, Plan):
            raise ValidationError.single("plan", "expected an incentives Plan")

        def work(uow: UnitOfWork) -> Result[Plan]:
            if plan.version in uow.incentive_plans.versions(plan.id):
                uow.incentive_plans.add(plan)  # the same again, or AlreadyExistsError
                return Result(plan)
            uow.incentive_plans.add(plan)
            event = Event(
                "incentive_plan.added",
                plan.id,
                self.clock.now(),
                actor.id,
                {"version": plan.version},
            )
            return Result(plan, (event,))

        return self._run(work)

    def get_incentive_plan(self, actor: Actor, plan_id: str, *, version: int | None = None) -> Plan:
        """A stored plan version (the highest unless ``version`` is given).

        Plan terms are no secret: anyone who may view some incentive statements
        may read them.

        Raises:
            PermissionDeniedError: If the actor may view no statements at all.
            NotFoundError: If there is no such plan or version.
        """
        if not self.policy.scopes(actor, Action.INCENTIVE_VIEW):
            self.policy.check(actor, Action.INCENTIVE_VIEW)
        with self.storage.unit_of_work() as uow:
            return uow.incentive_plans.get(plan_id, version=version)

    # Statements.

    def compute_statements(
        self,
        actor: Actor,
        plan_id: str,
        period_start: datetime,
        *,
        version: int | None = None,
        program_id: str | None = None,
        lookback: Period = DEFAULT_LOOKBACK,
    ) -> Result[list[Statement]]:
        """Compute and store every partner's statement for one period (``incentive.compute``).

        The period is the plan's period holding ``period_start``; its statement is
        due ``calculation_lag`` after it ends, and computing earlier is refused.
        The ledger is read from ``lookback`` before the period to its cut-off;
        tiers come from the memberships of ``program_id`` when given. A draft
        statement computed before is replaced; an approved or paid one is kept
        and named in `Result.skipped`. One ``incentive_statements.computed``
        event announces the run.

        Raises:
            PermissionDeniedError: Unless the actor may compute statements.
            NotFoundError: If the plan (or version) is not stored.
            ValidationError: If the statement is not due yet.
        """
        self.policy.check(actor, Action.INCENTIVE_COMPUTE)
        check_id(plan_id, "plan_id")
        start = to_utc(period_start, "period_start")
        if not isinstance(lookback, Period):
            raise ValidationError.single("lookback", "expected a Period such as Period(years=1)")

        def work(uow: UnitOfWork) -> Result[list[Statement]]:
            plan = uow.incentive_plans.get(plan_id, version=version)
            period = period_containing(plan, start)
            now = self.clock.now()
            due = period.end + plan.calculation_lag
            if now < due:
                raise ValidationError.single(
                    "period_start",
                    f"the statement for {period} is due at {due.isoformat()}, after the "
                    f"plan's calculation lag; compute it then",
                )
            activities = _ledger(uow, period.start - lookback, period.end + plan.grace)
            tiers = _tiers(uow, program_id) if program_id is not None else None
            statements = run_statements(plan, period, activities, tiers=tiers)
            stored, skipped = [], []
            for statement in statements:
                try:
                    known = uow.statements.get(statement.id)
                except NotFoundError:
                    stored.append(uow.statements.add(statement))
                    continue
                if known.status is not StatementStatus.DRAFT:
                    skipped.append(
                        Skipped(statement.partner_id, f"statement is {known.status.value}; kept")
                    )
                    continue
                stored.append(uow.statements.update(attrs.evolve(statement, version=known.version)))
            event = Event(
                "incentive_statements.computed",
                plan.id,
                now,
                actor.id,
                {
                    "plan_version": plan.version,
                    "period_start": period.start.isoformat(),
                    "statements": len(stored),
                    "kept": len(skipped),
                },
            )
            return Result(stored, (event,), skipped=tuple(skipped))

        return self._run(work)

    def _statement(
        self, uow: UnitOfWork, actor: Actor, action: str, statement_id: str
    ) -> Statement:
        """The statement ``action`` is about, once the actor may do it.

        Raises:
            NotFoundError: If there is none, or the actor may not see it (the same error).
            PermissionDeniedError: If the actor sees it but may not do ``action``.
        """
        if not isinstance(statement_id, str):
            raise ValidationError.single("statement_id", "expected a statement id")
        return self._record(
            uow,
            actor,
            action,
            uow.statements.get,
            statement_id,
            kind="incentive statement",
            view=Action.INCENTIVE_VIEW,
        )

    def get_statement(self, actor: Actor, statement_id: str) -> Statement:
        """One statement (``incentive.view``): partner users see only their own.

        Raises:
            NotFoundError: If there is none, or the actor may not see it.
        """
        with self.storage.unit_of_work() as uow:
            return self._statement(uow, actor, Action.INCENTIVE_VIEW, statement_id)

    def list_statements(
        self,
        actor: Actor,
        *,
        partner_id: str | None = None,
        plan_id: str | None = None,
        status: StatementStatus | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[Statement]:
        """The statements the actor may see that match every filter, by id.

        A partner user's pages hold only its own partner's statements; another
        partner named in ``partner_id`` gives an empty page, as one that does not
        exist does.

        Raises:
            ValidationError: For a ``limit`` outside 1..1000 or a malformed cursor.
        """
        scopes = self.policy.scopes(actor, Action.INCENTIVE_VIEW)
        if Scope.ANY not in scopes:
            own = actor.partner_id if scopes & {Scope.OWN, Scope.OWN_AND_CHILDREN} else None
            if own is None or partner_id not in (None, own):
                return Page(())
            partner_id = own
        with self.storage.unit_of_work() as uow:
            return uow.statements.query(
                partner_id=partner_id, plan_id=plan_id, status=status, limit=limit, cursor=cursor
            )

    def approve_statement(
        self, actor: Actor, statement_id: str, *, version: int | None = None
    ) -> Result[Statement]:
        """Approve a draft statement for payment (``incentive.approve``).

        Args:
            actor: A channel manager owning the partner (by default).
            statement_id: The statement.
            version: The version the approver looked at; a statement recomputed
                since is refused with `StaleVersionError`.

        Raises:
            InvalidTransitionError: If the statement is not a draft.
        """

        def work(uow: UnitOfWork) -> Result[Statement]:
            statement = self._statement(uow, actor, Action.INCENTIVE_APPROVE, statement_id)
            self._stale("incentive statement", statement_id, version, statement.version)
            _expect(statement, StatementStatus.DRAFT, "approve")
            approved = attrs.evolve(
                statement, status=StatementStatus.APPROVED, approved_by=actor.id
            )
            event = Event(
                "incentive_statement.approved",
                statement_id,
                self.clock.now(),
                actor.id,
                {"partner_id": statement.partner_id, "total": str(statement.total)},
            )
            return Result(uow.statements.update(approved), (event,))

        return self._run(work)

    def pay_statement(
        self, actor: Actor, statement_id: str, *, reference: str
    ) -> Result[Statement]:
        """Record an approved statement as paid (``incentive.pay``: finance).

        Raises:
            InvalidTransitionError: If the statement is not approved.
            ValidationError: If its hold has not ended (``payable_at``) or the
                reference is not an id.
        """
        check_id(reference, "reference")

        def work(uow: UnitOfWork) -> Result[Statement]:
            statement = self._statement(uow, actor, Action.INCENTIVE_PAY, statement_id)
            _expect(statement, StatementStatus.APPROVED, "pay")
            now = self.clock.now()
            if now < statement.payable_at:
                raise ValidationError.single(
                    "statement_id",
                    f"statement {statement_id} is held until "
                    f"{statement.payable_at.isoformat()}; pay it then",
                )
            paid = attrs.evolve(
                statement,
                status=StatementStatus.PAID,
                paid_by=actor.id,
                payment_reference=reference,
            )
            event = Event(
                "incentive_statement.paid",
                statement_id,
                now,
                actor.id,
                {"partner_id": statement.partner_id, "total": str(statement.total)},
            )
            return Result(uow.statements.update(paid), (event,))

        return self._run(work)

    def replay_statement(self, actor: Actor, statement_id: str) -> Statement:
        """Recompute a stored statement from its inputs and plan version, and check it.

        Raises:
            NotFoundError: If there is none, the actor may not see it, or an input
                activity or the plan version is gone.
            ConflictError: If the recomputed statement differs from the stored one.
        """
        with self.storage.unit_of_work() as uow:
            statement = self._statement(uow, actor, Action.INCENTIVE_VIEW, statement_id)
            plan = uow.incentive_plans.get(statement.plan_id, version=statement.plan_version)
            activities = [uow.activities.get(activity_id) for activity_id in statement.inputs]
        again = replay(statement, plan, activities)
        if again != statement:
            raise ConflictError(
                "incentive statement",
                statement_id,
                f"statement {statement_id} no longer replays to the stored result "
                f"({again.total} against {statement.total}); its inputs were changed",
            )
        return again


def _expect(statement: Statement, status: StatementStatus, move: str) -> None:
    """Refuse ``move`` unless the statement is ``status``."""
    if statement.status is not status:
        raise InvalidTransitionError(
            "incentive statement",
            statement.id,
            statement.status.value,
            move,
            _NEXT[statement.status],
        )


def _ledger(uow: UnitOfWork, since: datetime, until: datetime) -> list[Activity]:
    """Every activity occurring in ``[since, until]``, a page at a time."""
    return every(
        lambda cursor: uow.activities.query(since=since, until=until, limit=_PAGE, cursor=cursor)
    )


def _tiers(uow: UnitOfWork, program_id: str) -> dict[str, str]:
    """Each member's tier in ``program_id``."""
    members = every(
        lambda cursor: uow.memberships.query(program_id=program_id, limit=_PAGE, cursor=cursor)
    )
    return {m.partner_id: m.tier_id for m in members if m.tier_id is not None}
