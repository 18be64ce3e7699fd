"""Incentive plans and statements: commissions, rebates and SPIFFs, to the cent.

A `Plan` is data (a dict, TOML or JSON): `Rule` s that measure a `Basis` of the
activity ledger (revenue booked, paid invoices, deals won, margin, units), filter
products and SPIFF dates, and pay through rate `Band` s applied marginally or
retroactively, on growth against a prior window if asked, up to a cap. Periods
follow the plan's `Cadence`, with a calculation lag, grace days for late
transactions and a hold before payment.

- `compute_statement` computes one partner's `Statement` for one period;
  `run_statements` a whole population. Every `StatementLine` explains itself in
  words and lists the activities it came from; reversals claw back what an earlier
  period paid; split activities are shared between partners to the cent.
- `replay` recomputes a stored statement from its inputs and plan version.
- `period_containing` and `due_periods` answer "which period" and "what is due".

See ``docs/incentives.md`` for a guide.
"""

from __future__ import annotations

from partnerkit.incentives._plan import (
    Band,
    BandMode,
    Basis,
    Plan,
    RewardKind,
    Rule,
    plan_from_dict,
    plan_from_toml,
)
from partnerkit.incentives._population import run_statements
from partnerkit.incentives._statement import (
    LineKind,
    Statement,
    StatementLine,
    StatementPeriod,
    StatementStatus,
    compute_statement,
    due_periods,
    period_containing,
    replay,
    split_money,
    statement_id,
)

__all__ = [
    "Band",
    "BandMode",
    "Basis",
    "LineKind",
    "Plan",
    "RewardKind",
    "Rule",
    "Statement",
    "StatementLine",
    "StatementPeriod",
    "StatementStatus",
    "compute_statement",
    "due_periods",
    "period_containing",
    "plan_from_dict",
    "plan_from_toml",
    "replay",
    "run_statements",
    "split_money",
    "statement_id",
]
