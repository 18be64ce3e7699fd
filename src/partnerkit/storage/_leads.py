"""The staged lead repository (see `partnerkit.storage._staging`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from partnerkit._base.time import to_utc
from partnerkit._base.trusted import evolve_trusted
from partnerkit.errors import ValidationError
from partnerkit.leads._model import Lead, LeadStatus, check_lead
from partnerkit.storage._common import check_limit
from partnerkit.storage._kinds import LEADS, Condition, Query
from partnerkit.storage._repositories import _Versioned

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from partnerkit.storage._protocols import Page

__all__ = ["_Leads"]


class _Leads(_Versioned[Lead]):
    __slots__ = ()
    _kind = LEADS

    def get(self, lead_id: str) -> Lead:
        return self._read(lead_id)

    def add(self, lead: Lead) -> Lead:
        check_lead(lead)
        if lead.version != 0:
            raise ValidationError.single(
                "version", "add() takes a new lead (version 0); use update() to change one"
            )
        return self._add(lead.id, evolve_trusted(lead, version=1))

    def update(self, lead: Lead) -> Lead:
        check_lead(lead)
        self._check(lead.id, lead.version)
        return self._update(lead.id, lead.version, evolve_trusted(lead, version=lead.version + 1))

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
        filters = (("status", status), ("partner_id", partner_id))
        where = [Condition(name, "=", value) for name, value in filters if value is not None]
        if partner_ids is not None:
            if isinstance(partner_ids, str):
                raise ValidationError.single(
                    "partner_ids", "expected a sequence of partner ids, not one string"
                )
            where.append(Condition("partner_id", "in", frozenset(partner_ids)))
        if offered_since is not None:
            since = to_utc(offered_since, "offered_since")
            where.append(Condition("last_offered_at", ">=", since))
        return self._page(
            LEADS, tag="leads", where=where, field="id", limit=limit, cursor=cursor, maximum=1000
        )

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
