"""Staged repositories for incentive plans and statements, and the plans' commit check."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from partnerkit._base.ids import check_id
from partnerkit.errors import AlreadyExistsError, ValidationError
from partnerkit.incentives import Plan, Statement, StatementStatus
from partnerkit.storage._kinds import (
    INCENTIVE_PLANS,
    STATEMENTS,
    CommittedReads,
    Condition,
    Write,
)
from partnerkit.storage._repositories import _ById, _Versions, instant_filter, judged

if TYPE_CHECKING:
    from datetime import datetime

    from partnerkit.storage._kinds import Key
    from partnerkit.storage._protocols import Page

__all__ = ["check_incentive_plans"]


class _Statements(_ById[Statement]):
    __slots__ = ()
    _kind = STATEMENTS

    def _checked(self, record: object, *, new: bool) -> Statement:
        if not isinstance(record, Statement):
            raise ValidationError.single(
                "statement", f"expected an incentive Statement, got {type(record).__name__}"
            )
        if not new:
            self._read(record.id)  # a statement that is gone is not found, not stale
        return record

    def get(self, record_id: str, /) -> Statement:
        if not isinstance(record_id, str):
            raise ValidationError.single("statement_id", "expected a statement id string")
        return super().get(record_id)

    def query(
        self,
        *,
        partner_id: str | None = None,
        plan_id: str | None = None,
        status: StatementStatus | None = None,
        period_start: datetime | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[Statement]:
        where = []
        for name, value in (("partner_id", partner_id), ("plan_id", plan_id)):
            if value is not None:
                where.append(Condition(name, "=", check_id(value, name)))
        if status is not None:
            where.append(Condition("status", "=", StatementStatus(status)))
        where += instant_filter("period_start", "=", period_start, "period_start")
        return self._by_id(where, limit, cursor)


def _plan_exists(key: tuple[str, int]) -> AlreadyExistsError:
    plan_id, version = key
    return AlreadyExistsError(
        "incentive plan",
        INCENTIVE_PLANS.text(key),
        f"version {version} of incentive plan {plan_id!r} is stored with other content; "
        f"raise the plan's version to store a change",
    )


class _IncentivePlans(_Versions[Plan]):
    __slots__ = ()
    _kind = INCENTIVE_PLANS
    _purpose = "reading a plan's versions"

    def _named(self, name: object) -> str:
        return check_id(name, "plan_id")

    def add(self, plan: Plan) -> Plan:
        if not isinstance(plan, Plan):
            raise ValidationError.single(
                "plan", f"expected an incentive Plan, got {type(plan).__name__}"
            )
        key = (plan.id, plan.version)
        known = self._stored(key)
        if known is not None and known != plan:
            raise _plan_exists(key)
        if known is None:
            self._stage().put(key, plan)
        return plan


def check_incentive_plans(reads: CommittedReads, staged: dict[Any, Plan]) -> list[Write[Any]]:
    """New plan versions are inserted, the same again skipped, other content refused."""

    def same(key: Key, known: Plan, plan: Plan) -> None:
        if known != plan:
            raise _plan_exists(key)

    return judged(reads, INCENTIVE_PLANS, staged, same)
