"""A compact HTML table of an attribution report, for Jupyter.

Text from data (deal, partner and program ids) goes through ``html.escape``. The
renderer reads the report by attribute, so this module imports no result type.
"""

from __future__ import annotations

from typing import Any, Final

from partnerkit._base.notebook import value_table as _table

__all__ = ["report_html"]

#: How many deals the table shows before "... and N more".
ROWS: Final = 20


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
