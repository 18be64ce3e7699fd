"""What a report is made of: sections of facts and figures, each figure a chart and its table.

Section builders return these values; `partnerkit.report` renders them. They hold
plain data only (text, numbers, dates), so a builder never writes HTML and every
piece of text reaches the page through the template's escaping.
"""

from __future__ import annotations

import enum
import html
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, TypeAlias

import attrs

from partnerkit.errors import ValidationError

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "Cell",
    "Chart",
    "ChartKind",
    "Column",
    "Fact",
    "Figure",
    "Report",
    "Section",
    "Series",
    "Table",
]

#: What a table cell holds: text, a whole number, a decimal, a date or an instant,
#: or ``None`` for "nothing" (shown as a dash, sorted first).
Cell: TypeAlias = str | int | Decimal | date | datetime | None


class ChartKind(enum.StrEnum):
    """How a chart draws its series."""

    #: Horizontal bars, one row per category; several series sit side by side.
    BARS = "bars"
    #: Vertical columns, one per category, the series stacked (bands over time).
    STACKED = "stacked"
    #: Centred horizontal bars that narrow stage by stage.
    FUNNEL = "funnel"


@attrs.frozen
class Column:
    """A table column.

    Attributes:
        name: The heading.
        numeric: Whether cells sort (and align) as numbers.
        key: The record key in `Table.to_records` (default: the name in snake case).
    """

    name: str
    numeric: bool = False
    key: str = ""

    def __attrs_post_init__(self) -> None:
        if not self.key:
            slug = "".join(c if c.isalnum() else "_" for c in self.name.lower()).strip("_")
            object.__setattr__(self, "key", "_".join(part for part in slug.split("_") if part))


@attrs.frozen
class Table:
    """The data behind a figure, or a list on its own: rows of cells under columns.

    Attributes:
        caption: Says what the table holds (read out by screen readers).
        columns: The columns.
        rows: The rows, each with one cell per column.
    """

    caption: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]

    def __attrs_post_init__(self) -> None:
        width = len(self.columns)
        for index, row in enumerate(self.rows):
            if len(row) != width:
                raise ValidationError.single(
                    f"rows[{index}]", f"has {len(row)} cells for {width} columns; give one a column"
                )

    def to_records(self) -> list[dict[str, Cell]]:
        """The rows as dicts keyed by the columns' keys, for ``pandas.DataFrame``."""
        keys = [column.key for column in self.columns]
        return [dict(zip(keys, row, strict=True)) for row in self.rows]


@attrs.frozen
class Series:
    """One series of a chart: a value per category, drawn in one colour.

    Attributes:
        name: Its name in the legend.
        values: One value per category of the chart.
        color: A ``#rrggbb`` colour.
    """

    name: str
    values: tuple[int | Decimal, ...]
    color: str


@attrs.frozen
class Chart:
    """A chart drawn as inline SVG from its categories and series.

    Attributes:
        kind: How it is drawn.
        categories: The labels along the category axis.
        series: The series; every one has a value per category.
    """

    kind: ChartKind
    categories: tuple[str, ...]
    series: tuple[Series, ...]

    def __attrs_post_init__(self) -> None:
        for index, series in enumerate(self.series):
            if len(series.values) != len(self.categories):
                raise ValidationError.single(
                    f"series[{index}].values",
                    f"has {len(series.values)} values for {len(self.categories)} categories",
                )
            if any(value < 0 for value in series.values):
                raise ValidationError.single(f"series[{index}].values", "charts show counts >= 0")


@attrs.frozen
class Figure:
    """A titled chart with the table of its numbers, or a table alone.

    Attributes:
        id: A slug, unique in the report (the HTML id of the figure).
        title: The figure's title.
        table: The numbers (the chart draws some of its columns).
        chart: The chart, or ``None`` for a table alone.
        note: A sentence under the title saying how to read it.
    """

    id: str
    title: str
    table: Table
    chart: Chart | None = None
    note: str = ""


@attrs.frozen
class Fact:
    """A headline number of a section, such as "Active partners: 412".

    Attributes:
        key: A slug naming it (``data-fact`` in the HTML).
        label: Words for people.
        value: The number or text.
    """

    key: str
    label: str
    value: int | Decimal | str


@attrs.frozen
class Section:
    """One part of the report, built by a section builder.

    Attributes:
        id: A slug, unique in the report (the HTML id of the section).
        title: The heading.
        facts: Headline numbers.
        figures: Charts with their tables, and tables alone.
        empty: What to say when the store holds nothing for this section.
    """

    id: str
    title: str
    facts: tuple[Fact, ...] = ()
    figures: tuple[Figure, ...] = ()
    empty: str = ""


@attrs.frozen
class Report:
    """A built report: its sections as of one instant, ready to render.

    Attributes:
        title: The page title.
        as_of: The instant the report describes.
        sections: The sections, in order.
    """

    title: str
    as_of: datetime
    sections: tuple[Section, ...]

    def section(self, section_id: str) -> Section:
        """The section with id ``section_id``.

        Raises:
            KeyError: If there is none.
        """
        for section in self.sections:
            if section.id == section_id:
                return section
        raise KeyError(section_id)

    def to_html(self) -> str:
        """The whole report as one self-contained HTML page (needs ``partnerkit[report]``).

        Raises:
            ImportError: If Jinja2 is not installed; the message names the extra.
        """
        from partnerkit.report._render import render  # noqa: PLC0415 - Jinja2 is optional

        return render(self)

    def _repr_html_(self) -> str:
        # The page in a frame of its own, so its styles and script stay out of the notebook.
        page = html.escape(self.to_html(), quote=True)
        return (
            f'<iframe srcdoc="{page}" title="{html.escape(self.title, quote=True)}" '
            'style="width:100%;height:40em;border:1px solid #d0d7de"></iframe>'
        )

    def write(self, path: Path) -> Path:
        """Write `to_html` to ``path`` (UTF-8) and return the path."""
        path.write_text(self.to_html(), encoding="utf-8")
        return path
