"""The staged repositories of the relationship: business plans, check-ins, certifications.

Each is a versioned record keyed by its id, staged and checked like partners and
deal registrations; see `partnerkit.storage._staging`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from partnerkit.errors import ValidationError
from partnerkit.relationship import BusinessPlan, Certification, CheckIn, PlanStatus
from partnerkit.storage._kinds import CERTIFICATIONS, CHECK_INS, PLANS, Condition
from partnerkit.storage._repositories import _ById, equal, instant_filter

if TYPE_CHECKING:
    from partnerkit.storage._protocols import Page

__all__ = ["_BusinessPlans", "_Certifications", "_CheckIns"]


class _BusinessPlans(_ById[BusinessPlan]):
    __slots__ = ()
    _kind = PLANS
    _cls = BusinessPlan
    _field = _noun = "plan"

    def query(
        self,
        *,
        partner_id: str | None = None,
        status: PlanStatus | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[BusinessPlan]:
        where = equal(partner_id=partner_id, status=status)
        return self._by_id(where, limit, cursor)


class _CheckIns(_ById[CheckIn]):
    __slots__ = ()
    _kind = CHECK_INS
    _cls = CheckIn
    _field = _noun = "check_in"
    _tag = "check-ins"

    def query(
        self,
        *,
        partner_id: str | None = None,
        held_after: datetime | None = None,
        held_before: datetime | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[CheckIn]:
        where = equal(partner_id=partner_id)
        where += instant_filter("held_at", ">=", held_after, "held_after")
        where += instant_filter("held_at", "<=", held_before, "held_before")
        return self._by_id(where, limit, cursor)


class _Certifications(_ById[Certification]):
    __slots__ = ()
    _kind = CERTIFICATIONS
    _cls = Certification
    _field = _noun = "certification"

    def query(
        self,
        *,
        partner_id: str | None = None,
        person: str | None = None,
        name: str | None = None,
        expires_before: date | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[Certification]:
        where = equal(partner_id=partner_id, person=person, name=name)
        if expires_before is not None:
            if not isinstance(expires_before, date) or isinstance(expires_before, datetime):
                raise ValidationError.single("expires_before", "expected a date")
            where.append(Condition("expires_on", "<=", expires_before))
        return self._by_id(where, limit, cursor)
