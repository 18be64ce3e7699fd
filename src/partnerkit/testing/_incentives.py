"""Hypothesis strategies for incentive plans, activities they read, and statements."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Final

from hypothesis import strategies as st

from partnerkit._base.money import Money
from partnerkit._base.time import Period
from partnerkit.incentives import (
    Band,
    BandMode,
    Basis,
    Plan,
    RewardKind,
    Rule,
    Statement,
    StatementPeriod,
    compute_statement,
)
from partnerkit.ledger import Activity

__all__ = [
    "incentive_activities",
    "incentive_bands",
    "incentive_plans",
    "incentive_rules",
    "incentive_statements",
    "statement_periods",
]

_START: Final = datetime(2026, 1, 1, tzinfo=UTC)
_KINDS: Final = ("revenue_booked", "invoice_paid", "deal_won")
_PRODUCTS: Final = ("cloud", "hardware", "support")


@st.composite
def incentive_bands(
    draw: st.DrawFn, *, counts: bool = False, reward: RewardKind = RewardKind.PERCENTAGE
) -> tuple[Band, ...]:
    """Bands ascending by ``above`` with non-decreasing rates (as real ladders are)."""
    size = draw(st.integers(1, 4))
    step = st.integers(1, 50) if counts else st.integers(1, 20_000)
    edges = [Decimal(0)]
    for _ in range(size - 1):
        edges.append(edges[-1] + draw(step))
    top = 100 if reward is RewardKind.PERCENTAGE else 1000
    rates = sorted(
        draw(
            st.lists(
                st.decimals(0, top, places=2, allow_nan=False, allow_infinity=False),
                min_size=size,
                max_size=size,
            )
        )
    )
    return tuple(Band(edge, rate) for edge, rate in zip(edges, rates, strict=True))


@st.composite
def incentive_rules(draw: st.DrawFn, rule_id: str = "rule") -> Rule:
    """A rule of any basis and reward (flat rewards on a counting basis)."""
    reward = draw(st.sampled_from(RewardKind))
    bases = [Basis.DEALS_WON, Basis.UNITS] if reward is RewardKind.FLAT else list(Basis)
    basis = draw(st.sampled_from(bases))
    return Rule(
        rule_id,
        basis,
        reward,
        draw(incentive_bands(counts=basis.counts, reward=reward)),
        mode=draw(st.sampled_from(BandMode)),
        exclude_products=draw(st.sampled_from([(), ("hardware",)])),
        growth=draw(st.sampled_from([None, Period(months=1)])),
        cap=draw(st.none() | st.decimals(0, 5000, places=2, allow_nan=False)),
    )


@st.composite
def incentive_plans(draw: st.DrawFn, *, plan_id: str = "plan_test") -> Plan:
    """A monthly USD plan of one to three rules."""
    count = draw(st.integers(1, 3))
    rules = tuple(draw(incentive_rules(f"rule_{index}")) for index in range(count))
    return Plan(plan_id, draw(st.integers(1, 5)), "Test plan", "USD", rules)


def statement_periods() -> st.SearchStrategy[StatementPeriod]:
    """One of the first three months of 2026."""
    return st.sampled_from(
        [
            StatementPeriod(
                datetime(2026, month, 1, tzinfo=UTC), datetime(2026, month + 1, 1, tzinfo=UTC)
            )
            for month in (1, 2, 3)
        ]
    )


@st.composite
def incentive_activities(
    draw: st.DrawFn, *, partners: tuple[str, ...] = ("ptn_1",), reversals: bool = True
) -> list[Activity]:
    """Activities over January to March 2026 that incentive rules read.

    Some carry products, units, margins, late ``recorded_at`` dates or a
    ``split`` between ``partners``; with ``reversals``, some are reversed later.
    """
    count = draw(st.integers(0, 12))
    found: list[Activity] = []
    for index in range(count):
        occurred = _START + timedelta(hours=draw(st.integers(0, 24 * 89)))
        attributes: dict[str, str | int | bool | None] = {}
        if draw(st.booleans()):
            attributes["product"] = draw(st.sampled_from(_PRODUCTS))
        if draw(st.booleans()):
            attributes["units"] = draw(st.integers(0, 40))
        if draw(st.booleans()):
            attributes["margin"] = str(draw(st.decimals(0, 5000, places=2, allow_nan=False)))
        if draw(st.integers(0, 5)) == 0:
            late = occurred + timedelta(days=draw(st.integers(0, 40)))
            attributes["recorded_at"] = late.isoformat()
        if len(partners) > 1 and draw(st.booleans()):
            weights = draw(
                st.lists(st.integers(0, 5), min_size=len(partners), max_size=len(partners))
            )
            if any(weights):
                attributes["split"] = ";".join(
                    f"{partner}:{weight}" for partner, weight in zip(partners, weights, strict=True)
                )
        amount = draw(st.decimals(0, 50_000, places=2, allow_nan=False))
        found.append(
            Activity(
                f"act_{index}",
                draw(st.sampled_from(partners)),
                draw(st.sampled_from(_KINDS)),
                occurred,
                Money(amount, "USD"),
                attributes=attributes,
            )
        )
    if reversals and found:
        for index, target in enumerate(
            draw(st.lists(st.sampled_from(found), max_size=3, unique_by=lambda a: a.id))
        ):
            later = target.occurred_at + timedelta(days=draw(st.integers(0, 45)))
            found.append(
                Activity(
                    f"rev_{index}",
                    target.partner_id,
                    "reversal",
                    later,
                    attributes={"reverses": target.id},
                )
            )
    return found


@st.composite
def incentive_statements(draw: st.DrawFn, *, partner_id: str = "ptn_1") -> Statement:
    """A statement computed from a generated plan and activities (so it is valid)."""
    plan = draw(incentive_plans())
    activities = draw(incentive_activities(partners=(partner_id,)))
    period = draw(statement_periods())
    tier = draw(st.sampled_from([None, "gold"]))
    return compute_statement(plan, partner_id, period, activities, tier=tier)
