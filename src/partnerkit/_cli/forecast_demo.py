"""The demo's forecast section: 18 months of deal outcomes, a forecast and its backtest.

The deal history is generated here from the published facts about partner
pipelines (partner-sourced deals convert at 30-45%, protection windows of 90
days, cycles of one to several months), not from the forecaster's model: each
partner has a hidden win propensity drawn once from a beta distribution around
38%, deals arrive at a partner-specific rate, each deal's cycle length is drawn
from a shifted exponential and decides by itself whether it closes (won with the
partner's propensity, else lost) or lapses when its 90-day protection ends.
Nothing in it knows about stages, age buckets, shrinkage or bands, and its
parameters were set from those facts once, before the backtest was first run,
and never changed to move the backtest's result.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

from partnerkit._base.money import Money
from partnerkit._base.time import Period
from partnerkit.deals import Customer, DealRegistration, approve, expire, lose, reject, submit, win
from partnerkit.forecast import Dimension, backtest, forecast
from partnerkit.partners import PartnerStatus

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import TextIO

    from partnerkit.partners import Partner
    from partnerkit.storage import Storage

__all__ = ["deal_history", "forecast_section"]

_PROPENSITY: Final = (3.8, 6.2)  # beta(a, b): mean 0.38, most partners 0.2-0.6
_MONTHLY_RATE: Final = (0.1, 0.7)  # deals a partner registers per month, uniform
_CYCLE: Final = (10, 55)  # days: 10 + exponential with mean 55
_PROTECTION: Final = 90
_REVIEW_DAYS: Final = (1, 5)
_APPROVAL_RATE: Final = 0.85
_PRODUCTS: Final = ("cloud", "security", "analytics")


def deal_history(
    partners: Sequence[Partner], *, as_of: datetime, seed: int
) -> list[DealRegistration]:
    """Every active partner's registrations since it joined, as of ``as_of``."""
    rng = random.Random(seed + 18)  # noqa: S311 - a reproducible demo, not security
    found: list[DealRegistration] = []
    number = 0
    for partner in partners:
        if partner.status is not PartnerStatus.ACTIVE:
            continue
        propensity = rng.betavariate(*_PROPENSITY)
        per_day = rng.uniform(*_MONTHLY_RATE) / 30.4
        at = partner.created_at + timedelta(days=rng.expovariate(per_day))
        while at < as_of - timedelta(days=1):
            number += 1
            found.append(_one(rng, partner.id, number, at=at, as_of=as_of, p=propensity))
            at += timedelta(days=rng.expovariate(per_day))
    return found


def _one(
    rng: random.Random, partner_id: str, number: int, *, at: datetime, as_of: datetime, p: float
) -> DealRegistration:
    cycle = _CYCLE[0] + rng.expovariate(1 / _CYCLE[1])
    draft = DealRegistration(
        id=f"deal_h{number:06d}",
        partner_id=partner_id,
        customer=Customer(f"Customer {number}", "US", domain=f"customer-{number}.example"),
        amount=Money(max(100, int(round(rng.lognormvariate(10.6, 0.8), -2))), "USD"),
        expected_close_on=(at + timedelta(days=rng.randint(30, 150))).date(),
        registered_at=at,
        products=(rng.choice(_PRODUCTS),),
    )
    current = submit(draft, actor="usr_partner", at=at).value
    decided = at + timedelta(days=rng.uniform(*_REVIEW_DAYS))
    if decided >= as_of:
        return current
    if rng.random() > _APPROVAL_RATE:
        return reject(current, actor="usr_manager", at=decided, reason="not a fit").value
    current = approve(current, actor="usr_manager", at=decided, protection=_PROTECTION).value
    won = rng.random() < p
    if cycle > _PROTECTION:
        lapse = decided + timedelta(days=_PROTECTION)
        if lapse >= as_of:
            return current
        return expire(current, actor="usr_sweep", at=lapse).value
    closed = decided + timedelta(days=cycle)
    if closed >= as_of:
        return current
    if won:
        return win(current, actor="usr_manager", at=closed).value
    return lose(current, actor="usr_manager", at=closed, reason="went elsewhere").value


def forecast_section(
    out: TextIO, storage: Storage, partners: Sequence[Partner], *, as_of: datetime, seed: int
) -> None:
    """Print the next quarter's forecast and a year of monthly backtests."""
    write = out.write
    tiers: dict[str, str] = {}
    with storage.unit_of_work() as uow:
        for partner in partners:
            for membership in uow.memberships.for_partner(partner.id):
                if membership.tier_id is not None:
                    tiers.setdefault(partner.id, membership.tier_id)
    deals = deal_history(partners, as_of=as_of, seed=seed)
    joined = {p.id: p.created_at.date() for p in partners}
    quarter = forecast(deals, as_of=as_of, tiers=tiers, joined=joined, seed=seed, draws=5000)
    total = quarter.line()
    write(f"\nPipeline forecast for {quarter.periods[0].label} ({len(quarter.deals)} open deals, "
          f"learned from {quarter.history_deals} closed ones)\n")  # fmt: skip
    write(f"  expected {total.expected} (80% band {total.p10} to {total.p90})\n")
    for line in sorted(quarter.lines_for(Dimension.TIER), key=lambda item: item.key):
        write(f"  tier {line.key:<12} {line.deals:>4} deals  expected {line.expected}\n")
    top = sorted(quarter.lines_for(Dimension.PARTNER), key=lambda item: -item.expected.amount)
    if top:
        write(
            "  " + quarter.explain(top[0].key).splitlines()[0] + f" (largest: {top[0].expected})\n"
        )
    dates = [as_of - Period.of_months(months) for months in range(13, 1, -1)]
    dates += [moment + timedelta(days=14) for moment in dates]
    tested = backtest(
        deals, as_of=dates, tiers=tiers, joined=joined, period=Period.of_months(1), seed=seed
    )
    write(
        f"Forecast backtest, one month ahead from {len(dates)} past dates:\n  {tested.summary()}\n"
    )
