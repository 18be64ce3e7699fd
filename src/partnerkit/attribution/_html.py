"""A compact HTML table of an attribution report, for Jupyter.

Text from data (deal, partner and program ids) goes through ``html.escape``. The
renderer reads the report by attribute, so this module imports no result type.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["report_html"]

#: How many deals the table shows before "... and N more".
ROWS: Final = 20
_TABLE: Final = "border-collapse:collapse;font-size:0.9em"
_CELL: Final = "padding:2px 8px;border-bottom:1px solid #ddd;text-align:left"


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _table(header: tuple[str, ...], rows: Sequence[tuple[object, ...]]) -> str:
    head = "".join(f'<th style="{_CELL}">{_e(cell)}</th>' for cell in header)
    body = "".join(
        "<tr>" + "".join(f'<td style="{_CELL}">{_e(cell)}</td>' for cell in row) + "</tr>"
        for row in rows
    )
    return f'<table style="{_TABLE}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def report_html(report: Any) -> str:
    """Per program and partner totals, then the first deals with their credits."""
    programs = [
        (p.program_id, p.won, p.sourced, p.influenced, p.unattributed) for p in report.programs
    ]
    partners = [(p.partner_id, p.sourced, p.influenced, p.deals) for p in report.partners]
    deals = [
        (
            item.deal_id,
            item.amount,
            item.category.value,
            "; ".join(
                f"{c.partner_id or 'unattributed'} {c.role.value} {c.share * 100:.2f}%"
                for c in item.credits
            ),
        )
        for item in report.deals[:ROWS]
    ]
    more = len(report.deals) - ROWS
    return (
        _table(("program", "won", "sourced", "influenced", "unattributed"), programs)
        + _table(("partner", "sourced", "influenced", "deals"), partners[:ROWS])
        + _table(("deal", "amount", "category", "credits"), deals)
        + (f"<p>... and {more} more deals (see .deals)</p>" if more > 0 else "")
    )
