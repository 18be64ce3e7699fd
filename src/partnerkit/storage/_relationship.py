"""The staged repositories of the relationship: business plans, check-ins, certifications.

Each is a versioned record keyed by its id, staged and checked like partners and
deal registrations; see `partnerkit.storage._staging`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from partnerkit._base.time import to_utc
from partnerkit._base.trusted import evolve_trusted
from partnerkit.errors import ValidationError
from partnerkit.relationship import BusinessPlan, Certification, CheckIn, PlanStatus
from partnerkit.storage._kinds import CERTIFICATIONS, CHECK_INS, PLANS, Condition
from partnerkit.storage._repositories import _Versioned

if TYPE_CHECKING:
    from partnerkit.storage._protocols import Page

__all__ = ["_BusinessPlans", "_Certifications", "_CheckIns"]

T = TypeVar("T", BusinessPlan, CheckIn, Certification)


def _checked(record: object, cls: type[T], field: str, *, new: bool = False) -> T:
    if not isinstance(record, cls):
        raise ValidationError.single(
            field, f"expected a {cls.__name__}, got {type(record).__name__}"
        )
    if new and record.version != 0:
        raise ValidationError.single(
            "version", f"add() takes a new {field} (version 0); use update() to change one"
        )
    return record


def _equal(**filters: Any) -> list[Condition]:
    return [Condition(name, "=", value) for name, value in filters.items() if value is not None]


class _Relationship(_Versioned[T]):
    """A versioned relationship record: get, add, update by id."""

    __slots__ = ()
    _cls: type[T]
    _field: str

    def get(self, record_id: str) -> T:
        return self._read(record_id)

    def add(self, record: T) -> T:
        checked = _checked(record, self._cls, self._field, new=True)
        return self._add(checked.id, evolve_trusted(checked, version=1))

    def update(self, record: T) -> T:
        checked = _checked(record, self._cls, self._field)
        self._check(checked.id, checked.version)
        stored = evolve_trusted(checked, version=checked.version + 1)
        return self._update(checked.id, checked.version, stored)


class _BusinessPlans(_Relationship[BusinessPlan]):
    __slots__ = ()
    _kind = PLANS
    _cls = BusinessPlan
    _field = "plan"

    def query(
        self,
        *,
        partner_id: str | None = None,
        status: PlanStatus | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[BusinessPlan]:
        where = _equal(partner_id=partner_id, status=status)
        return self._page(
            PLANS, tag="plans", where=where, field="id", limit=limit, cursor=cursor, maximum=1000
        )


class _CheckIns(_Relationship[CheckIn]):
    __slots__ = ()
    _kind = CHECK_INS
    _cls = CheckIn
    _field = "check_in"

    def query(
        self,
        *,
        partner_id: str | None = None,
        held_after: datetime | None = None,
        held_before: datetime | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[CheckIn]:
        where = _equal(partner_id=partner_id)
        if held_after is not None:
            where.append(Condition("held_at", ">=", to_utc(held_after, "held_after")))
        if held_before is not None:
            where.append(Condition("held_at", "<=", to_utc(held_before, "held_before")))
        return self._page(
            CHECK_INS,
            tag="check-ins",
            where=where,
            field="id",
            limit=limit,
            cursor=cursor,
            maximum=1000,
        )


class _Certifications(_Relationship[Certification]):
    __slots__ = ()
    _kind = CERTIFICATIONS
    _cls = Certification
    _field = "certification"

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
        where = _equal(partner_id=partner_id, person=person, name=name)
        if expires_before is not None:
            if not isinstance(expires_before, date) or isinstance(expires_before, datetime):
                raise ValidationError.single("expires_before", "expected a date")
            where.append(Condition("expires_on", "<=", expires_before))
        return self._page(
            CERTIFICATIONS,
            tag="certifications",
            where=where,
            field="id",
            limit=limit,
            cursor=cursor,
            maximum=1000,
        )
