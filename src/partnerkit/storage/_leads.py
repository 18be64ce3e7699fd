"""The staged lead repository (see `partnerkit.storage._staging`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from partnerkit._base.time import to_utc
from partnerkit.leads._model import Lead, LeadStatus
from partnerkit.storage._common import check_limit
from partnerkit.storage._kinds import LEADS, Condition, Query
from partnerkit.storage._repositories import _ById, equal, instant_filter, partner_filter

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from partnerkit.storage._protocols import Page

__all__ = ["_Leads"]


class _Leads(_ById[Lead]):
    __slots__ = ()
    _kind = LEADS
    _cls = Lead
    _field = _noun = "lead"

    def query(
        self,
        *,
        status: LeadStatus | None = None,
        partner_id: str | None = None,
        partner_ids: Sequence[str] | None = None,
        offered_since: datetime | None = None,
        limit: int = 1000,
        cursor: str | None = None,
    ) -> Page[Lead]:
        where = equal(status=status, partner_id=partner_id) + partner_filter(partner_ids)
        where += instant_filter("last_offered_at", ">=", offered_since, "offered_since")
        return self._by_id(where, limit, cursor)

    def due_to_lapse(self, as_of: datetime, *, limit: int = 1000) -> list[Lead]:
        where = (
            Condition("status", "=", LeadStatus.OFFERED),
            Condition("offer_expires_at", "<=", to_utc(as_of, "as_of")),
        )
        query = Query(
            LEADS,
            where,
            ("offer_expires_at", "id"),
            limit=check_limit(limit, 1000),
            purpose="reading offers due to lapse",
        )
        return self._find(query)
