"""HTML tables for Jupyter, shared by every notebook renderer.

Renderers build rows of cells already written as HTML (escaping text from data
with `escape`) and wrap them with `table`; `value_table` does both for rows of
plain values. Every table has the same compact, inline style, so results look
alike side by side in a notebook without any stylesheet.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

__all__ = [
    "CELL_STYLE",
    "TABLE_STYLE",
    "dash_table",
    "escape",
    "escape_or_dash",
    "row",
    "table",
    "value_table",
]

TABLE_STYLE: Final = "border-collapse:collapse;font-size:0.9em"
CELL_STYLE: Final = "padding:2px 8px;border-bottom:1px solid #ddd;text-align:left"


def escape(value: object) -> str:
    """``str(value)`` as HTML text, quotes included."""
    return html.escape(str(value), quote=True)


def escape_or_dash(value: object) -> str:
    """`escape`, with ``None`` shown as ``-``."""
    return escape("-" if value is None else value)


def row(cells: Iterable[object], *, header: bool = False) -> str:
    """One table row of cells already written as HTML (``th`` cells if ``header``)."""
    tag = "th" if header else "td"
    return (
        "<tr>" + "".join(f'<{tag} style="{CELL_STYLE}">{cell}</{tag}>' for cell in cells) + "</tr>"
    )


def table(header: Iterable[object], rows: Iterable[str]) -> str:
    """A table: the ``header`` cells escaped, the ``rows`` as written by `row`."""
    head = row((escape(cell) for cell in header), header=True)
    return (
        f'<table style="{TABLE_STYLE}"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'
    )


def value_table(
    header: Iterable[object],
    rows: Iterable[Iterable[object]],
    *,
    escape_cell: Callable[[object], str] = escape,
) -> str:
    """A table of plain values, each written with ``escape_cell``."""
    return table(header, (row(escape_cell(cell) for cell in cells) for cells in rows))


def dash_table(header: Iterable[object], rows: Iterable[Iterable[object]]) -> str:
    """`value_table` with missing values (``None``) shown as ``-``."""
    return value_table(header, rows, escape_cell=escape_or_dash)
