"""Compact HTML tables for Jupyter: review runs and what-if runs.

Text from data (ids, gaps) goes through ``html.escape``. The renderers read their
values by attribute, so this module imports none of the result types.
"""

from __future__ import annotations

from itertools import islice
from typing import Any, Final

from partnerkit._base.notebook import dash_table
from partnerkit._base.notebook import escape_or_dash as _e

__all__ = ["review_html", "review_records", "what_if_html", "what_if_records"]

#: How many partners a run shows before "... and N more".
ROWS: Final = 20


def _more(total: int) -> str:
    return f"<div>… and {total - ROWS} more</div>" if total > ROWS else ""


def review_records(run: Any) -> list[dict[str, object]]:
    """One record per decision of a `ReviewRun`, for ``pandas.DataFrame``."""
    return [
        {
            "partner_id": d.partner_id,
            "program_id": d.program_id,
            "as_of": d.as_of,
            "outcome": d.outcome.value,
            "from_tier_id": d.current_tier_id,
            "tier_id": d.tier_id,
            "qualifying_tier_id": d.qualifying_tier_id,
            "proposed_tier_id": d.proposed_tier_id,
            "failing_reviews": d.failing_reviews,
            "changed": d.changed,
            "counted": d.counted,
            "progress_to_next": d.progress,
            "gap": d.gap,
        }
        for d in run.decisions
    ]


def review_html(run: Any) -> str:
    """A review: outcome counts, then the first decisions with the gap to the next tier."""
    counts = ", ".join(f"{o.value} {n}" for o, n in run.outcomes.items() if n)
    head = (
        f"<div><b>Review of {_e(run.program_id)}</b> as of {_e(run.as_of.isoformat())} · "
        f"{len(run.decisions)} decisions · {_e(counts or 'none counted')} · "
        f"{len(run.moved)} moved, {len(run.skipped)} skipped</div>"
    )
    rows = (
        (
            d.partner_id,
            d.outcome.value,
            d.current_tier_id or "no tier",
            d.tier_id or "no tier",
            "-" if d.progress is None else f"{d.progress:.0%}",
            d.gap,
        )
        for d in islice(run.decisions, ROWS)
    )
    table = dash_table(("partner", "outcome", "from", "to", "next tier", "gap"), rows)
    return f"<div>{head}{table}{_more(len(run.decisions))}</div>"


def what_if_records(result: Any) -> list[dict[str, object]]:
    """One record per partner who would move in a `WhatIf`, for ``pandas.DataFrame``."""
    return [
        {
            "partner_id": move.partner_id,
            "held_tier_id": move.held_tier_id,
            "before_tier_id": move.before_tier_id,
            "after_tier_id": move.after_tier_id,
            "movement": move.movement.value,
        }
        for move in result.moves
    ]


def what_if_html(result: Any) -> str:
    """A what-if run: the counts per tier, then the first partners who would move."""
    head = (
        f"<div><b>What if: {_e(result.program_id)}</b> as of {_e(result.as_of.isoformat())} · "
        f"{len(result.up)} up, {len(result.down)} down, {len(result.out)} out, "
        f"{result.unchanged} unchanged</div>"
    )
    counts = dash_table(
        ("tier", "held", "qualify before", "qualify after"),
        ((c.name, c.held, c.before, c.after) for c in result.counts),
    )
    moves = dash_table(
        ("partner", "held", "before", "after", "movement"),
        (
            (m.partner_id, m.held_tier_id, m.before_tier_id, m.after_tier_id, m.movement.value)
            for m in islice(result.moves, ROWS)
        ),
    )
    return f"<div>{head}{counts}{moves}{_more(len(result.moves))}</div>"
