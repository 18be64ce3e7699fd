"""The fairness report: did partners get leads in proportion to their weight, and act on them?"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Final

import attrs

from partnerkit._base.time import to_utc
from partnerkit.errors import ValidationError
from partnerkit.leads._model import Lead, LeadStatus, OfferOutcome

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = ["FairnessReport", "FairnessRow", "fairness_report"]

_PLACES: Final = Decimal("0.0001")


def _median(waits: list[timedelta]) -> timedelta:
    ordered = sorted(waits)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def _share(part: int, whole: int) -> Decimal:
    return (Decimal(part) / whole).quantize(_PLACES) if whole else Decimal(0)


@attrs.frozen
class FairnessRow:
    """One partner's leads over the report's period.

    Attributes:
        partner_id: The partner.
        weight: Its lead weight.
        weight_share: Its weight over the sum of the weights listed (0..1).
        offered: Offers made to it in the period.
        offered_share: Its offers over all offers in the period (0..1).
        accepted: Those it accepted.
        declined: Those it declined.
        lapsed: Those it let lapse.
        converted: Accepted leads that became deal registrations.
        acceptance_rate: ``accepted / offered`` (0 when it had none).
        conversion_rate: ``converted / accepted`` (0 when it accepted none).
        median_time_to_accept: The median wait between offer and acceptance.
    """

    partner_id: str
    weight: int
    weight_share: Decimal
    offered: int
    offered_share: Decimal
    accepted: int
    declined: int
    lapsed: int
    converted: int
    acceptance_rate: Decimal
    conversion_rate: Decimal
    median_time_to_accept: timedelta | None


@attrs.frozen
class FairnessReport:
    """Leads offered, accepted and converted per partner against their weight share.

    Attributes:
        since: The period's start (inclusive).
        until: Its end (exclusive).
        rows: One per partner that had a weight or an offer, by partner id.
        offered: Every offer made in the period.
    """

    since: datetime
    until: datetime
    rows: tuple[FairnessRow, ...]
    offered: int

    def row(self, partner_id: str) -> FairnessRow | None:
        """The row of ``partner_id``, if it has one."""
        return next((row for row in self.rows if row.partner_id == partner_id), None)

    def to_records(self) -> list[dict[str, object]]:
        """The rows as plain dicts, for pandas or a CSV writer."""
        return [attrs.asdict(row) for row in self.rows]


def fairness_report(
    leads: Iterable[Lead],
    *,
    weights: Mapping[str, int],
    since: datetime,
    until: datetime,
) -> FairnessReport:
    """Offers made in ``since <= offered_at < until``, per partner, against ``weights``.

    Args:
        leads: The leads to look at (any that had offers in the period).
        weights: Each partner's lead weight (the policy's `RoutingPolicy.weight_of`).
        since: The period's start.
        until: Its end.

    Raises:
        ValidationError: For naive bounds, or ``until`` not after ``since``.
    """
    start, end = to_utc(since, "since"), to_utc(until, "until")
    if end <= start:
        raise ValidationError.single("until", "must be after since")
    counts: dict[str, list[int]] = {}
    waits: dict[str, list[timedelta]] = {}
    total = 0
    for lead in leads:
        for offer in lead.offers:
            if not start <= offer.offered_at < end:
                continue
            total += 1
            row = counts.setdefault(offer.partner_id, [0, 0, 0, 0, 0])
            row[0] += 1
            if offer.outcome is OfferOutcome.ACCEPTED:
                row[1] += 1
                if offer.answered_at is not None:
                    waits.setdefault(offer.partner_id, []).append(
                        offer.answered_at - offer.offered_at
                    )
                if lead.status is LeadStatus.CONVERTED:
                    row[4] += 1
            elif offer.outcome is OfferOutcome.DECLINED:
                row[2] += 1
            elif offer.outcome is OfferOutcome.LAPSED:
                row[3] += 1
    weight_total = sum(weights.values())
    rows = []
    for partner_id in sorted(set(weights) | set(counts)):
        offered, accepted, declined, lapsed, converted = counts.get(partner_id, [0, 0, 0, 0, 0])
        weight = weights.get(partner_id, 0)
        found = waits.get(partner_id)
        rows.append(
            FairnessRow(
                partner_id,
                weight,
                _share(weight, weight_total),
                offered,
                _share(offered, total),
                accepted,
                declined,
                lapsed,
                converted,
                _share(accepted, offered),
                _share(converted, accepted),
                _median(found) if found else None,
            )
        )
    return FairnessReport(start, end, tuple(rows), total)
