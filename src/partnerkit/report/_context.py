"""What section builders read: one unit of work, the report's instant, shared reads."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

import attrs

from partnerkit._base.money import RateSource
from partnerkit._base.time import to_utc
from partnerkit._pages import every
from partnerkit.deals import DealRegistration
from partnerkit.partners import Partner
from partnerkit.storage import UnitOfWork
from partnerkit.tiers import MembershipStatus

if TYPE_CHECKING:
    from collections.abc import Iterable

    from partnerkit.deals import DealStatus
    from partnerkit.partners import PartnerStatus
    from partnerkit.storage import StoredModel, StoredProgram

__all__ = ["ReportContext"]

T = TypeVar("T")


def status_at(current: T, history: tuple[object, ...], instant: datetime) -> T:
    """The status a record had at ``instant``, read back from its status history.

    The first change after ``instant`` says what the status was before it; with
    none, the current status still held then.
    """
    for change in history:
        if change.at > instant:  # type: ignore[attr-defined]
            return change.from_status  # type: ignore[attr-defined, no-any-return]
    return current


def _utc(value: datetime) -> datetime:
    return to_utc(value, "as_of")


@attrs.define
class ReportContext:
    """The store as a section builder reads it, as of one instant.

    A builder reads through ``uow`` (an open unit of work that is never committed)
    and the shared reads below, which are made once per report and cached.
    Records created after ``as_of`` are left out of the shared reads, and
    partner and deal statuses are read back to what they were at ``as_of``.

    Attributes:
        uow: The unit of work, open for the whole report.
        as_of: The instant the report describes (UTC).
        rates: Converts money between currencies where a section must (plan
            goals over activity in other currencies); ``None``: no conversion.
    """

    uow: UnitOfWork
    as_of: datetime = attrs.field(converter=_utc)
    rates: RateSource | None = attrs.field(default=None, kw_only=True)
    _partners: list[Partner] | None = attrs.field(default=None, init=False)
    _deals: list[DealRegistration] | None = attrs.field(default=None, init=False)

    def partners(self) -> list[Partner]:
        """Every partner created by ``as_of``, ordered by id."""
        if self._partners is None:
            found = every(lambda cursor: self.uow.partners.query(limit=1000, cursor=cursor))
            self._partners = [p for p in found if p.created_at <= self.as_of]
        return self._partners

    def partner_status(self, partner: Partner) -> PartnerStatus:
        """The partner's lifecycle status at ``as_of``."""
        return status_at(partner.status, partner.history, self.as_of)

    def names(self) -> dict[str, str]:
        """Partner id to name."""
        return {partner.id: partner.name for partner in self.partners()}

    def deals(self) -> list[DealRegistration]:
        """Every deal registration made by ``as_of``, ordered by id."""
        if self._deals is None:
            found = every(lambda cursor: self.uow.deals.query(limit=1000, cursor=cursor))
            self._deals = [d for d in found if d.registered_at <= self.as_of]
        return self._deals

    def deal_status(self, deal: DealRegistration) -> DealStatus:
        """The registration's status at ``as_of``."""
        return status_at(deal.status, deal.history, self.as_of)

    def programs(self) -> list[StoredProgram]:
        """The programs created by ``as_of`` and not retired by then, ordered by id."""
        found = every(lambda cursor: self.uow.programs.query(cursor=cursor))
        return [
            stored
            for stored in found
            if stored.retired_at is None or stored.retired_at > self.as_of
        ]

    def scoring_models(self) -> list[StoredModel]:
        """The highest stored version of each scoring model, ordered by name."""
        latest: dict[str, StoredModel] = {}
        for stored in every(lambda cursor: self.uow.models.query(cursor=cursor)):
            held = latest.get(stored.name)
            if held is None or stored.version > held.version:
                latest[stored.name] = stored
        return [latest[name] for name in sorted(latest)]

    def tiers(self, partner_ids: Iterable[str]) -> dict[str, str]:
        """Partner id to the tier id of its first current membership with a tier.

        Partners with none are left out; memberships are read as they are now, as
        `Services.forecast_pipeline` reads them.
        """
        tiers: dict[str, str] = {}
        for partner_id in sorted(partner_ids):
            for membership in self.uow.memberships.for_partner(partner_id):
                if (
                    membership.tier_id is not None
                    and membership.status is not MembershipStatus.ENDED
                ):
                    tiers.setdefault(partner_id, membership.tier_id)
        return tiers
