"""Staged repositories for incentive plans and statements, and the plans' commit check."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from partnerkit._base.ids import check_id
from partnerkit._base.time import to_utc
from partnerkit.errors import AlreadyExistsError, NotFoundError, ValidationError
from partnerkit.incentives import Plan, Statement, StatementStatus
from partnerkit.storage._common import check_version
from partnerkit.storage._kinds import (
    INCENTIVE_PLANS,
    STATEMENTS,
    CommittedReads,
    Condition,
    Query,
    Write,
)
from partnerkit.storage._repositories import _ById, _load, _Repository

if TYPE_CHECKING:
    from datetime import datetime

    from partnerkit.storage._protocols import Page
    from partnerkit.storage._repositories import _Stage

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

    def get(self, record_id: str) -> Statement:
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
        if period_start is not None:
            where.append(Condition("period_start", "=", to_utc(period_start, "period_start")))
        return self._page(
            STATEMENTS,
            tag="incentive_statements",
            where=where,
            field="id",
            limit=limit,
            cursor=cursor,
            maximum=1000,
        )


def _plan_exists(key: tuple[str, int]) -> AlreadyExistsError:
    plan_id, version = key
    return AlreadyExistsError(
        "incentive plan",
        INCENTIVE_PLANS.text(key),
        f"version {version} of incentive plan {plan_id!r} is stored with other content; "
        f"raise the plan's version to store a change",
    )


class _IncentivePlans(_Repository):
    __slots__ = ()

    def _stage(self) -> _Stage[Plan]:
        return self._work._stages["incentive_plans"]

    def _stored(self, key: tuple[str, int]) -> Plan | None:
        found = self._stage().records.get(key)
        if found is None:
            found = self._backend.load(INCENTIVE_PLANS, (key,)).get(key)
        return found

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

    def _all(self, plan_id: str) -> list[Plan]:
        where = (Condition("plan_id", "=", check_id(plan_id, "plan_id")),)
        query = Query(INCENTIVE_PLANS, where, ("version",), purpose="reading a plan's versions")
        return self._find(query)

    def get(self, plan_id: str, *, version: int | None = None) -> Plan:
        if version is None:
            found = self._all(plan_id)
            if not found:
                raise NotFoundError("incentive plan", check_id(plan_id, "plan_id"))
            return found[-1]
        key = (check_id(plan_id, "plan_id"), check_version(version))
        stored = self._stored(key)
        if stored is None:
            raise NotFoundError("incentive plan", INCENTIVE_PLANS.text(key))
        return stored

    def versions(self, plan_id: str) -> list[int]:
        return [plan.version for plan in self._all(plan_id)]


def check_incentive_plans(reads: CommittedReads, staged: dict[Any, Plan]) -> list[Write[Any]]:
    """New plan versions are inserted, the same again skipped, other content refused."""
    stored = _load(reads, INCENTIVE_PLANS, list(staged)) if staged else {}
    writes: list[Write[Any]] = []
    for key, plan in staged.items():
        known = stored.get(key)
        if known is None:
            writes.append(Write(INCENTIVE_PLANS, key, plan, 0))
        elif known != plan:
            raise _plan_exists(key)
    return writes
