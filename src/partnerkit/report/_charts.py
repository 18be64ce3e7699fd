"""Charts as SVG shapes, laid out in Python so the template only places them.

Every chart is drawn on the server into a handful of rectangles and labels: the
page needs no charting script, no font or image from anywhere, and prints as it
shows. Each bar carries its value as a tooltip (``<title>``) and in
``data-value``, and the chart's table holds the same numbers for screen readers
and sorting. The functions read a `partnerkit.report.Chart` by attribute, so this
module imports none of the report's types.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

import attrs

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["Drawing", "Label", "Rect", "draw", "palette"]

_WIDTH: Final = 640
_LABELS: Final = 170  # room for category names left of horizontal bars
_ROW: Final = 22
_GAP: Final = 8
_LEGEND: Final = 22
_COLUMN_AREA: Final = 200  # height of vertical columns
_AXIS: Final = 34  # room for category names under columns
_DIGIT: Final = 7  # the width of a character of a value label, generously


@attrs.frozen
class Rect:
    """A bar or a legend swatch."""

    x: float
    y: float
    width: float
    height: float
    color: str
    title: str
    value: str = ""
    series: str = ""
    category: str = ""


@attrs.frozen
class Label:
    """A piece of text on the chart."""

    x: float
    y: float
    text: str
    anchor: str = "start"
    css: str = ""


@attrs.frozen
class Drawing:
    """A chart laid out: its size, bars and labels."""

    width: int
    height: int
    rects: tuple[Rect, ...]
    labels: tuple[Label, ...]


def _number(value: int | Decimal) -> str:
    return f"{value:,}"


def _legend(chart: Any, top: float) -> tuple[list[Rect], list[Label]]:
    rects: list[Rect] = []
    labels: list[Label] = []
    x = 0.0
    for series in chart.series:
        rects.append(Rect(x, top, 12, 12, series.color, series.name))
        labels.append(Label(x + 16, top + 10, series.name, css="legend"))
        x += 16 + 7.5 * len(series.name) + 18
    return rects, labels


def _bars(chart: Any) -> Drawing:
    """Horizontal bars, one row per category, several series side by side."""
    count = len(chart.series)
    legend = count > 1
    top = _LEGEND if legend else 0
    most = max((v for s in chart.series for v in s.values), default=0) or 1
    # Leave room right of the longest bar for its value, however many digits it has.
    widest = max((len(_number(v)) for s in chart.series for v in s.values), default=0)
    room = _WIDTH - _LABELS - max(60, _DIGIT * widest + 8)
    rects, labels = _legend(chart, 0) if legend else ([], [])
    band = count * _ROW + _GAP
    for index, category in enumerate(chart.categories):
        y0 = top + index * band
        labels.append(Label(_LABELS - 8, y0 + count * _ROW / 2 + 4, category, "end"))
        for position, series in enumerate(chart.series):
            value = series.values[index]
            width = room * float(value) / float(most)
            y = y0 + position * _ROW + 2
            shown = _number(value)
            rects.append(
                Rect(
                    _LABELS, y, max(width, 1), _ROW - 4, series.color,
                    f"{category}: {shown}" + (f" ({series.name})" if legend else ""),
                    shown, series.name, category,
                )
            )  # fmt: skip
            labels.append(Label(_LABELS + width + 4, y + _ROW - 8, shown, css="value"))
    height = top + len(chart.categories) * band
    return Drawing(_WIDTH, int(height), tuple(rects), tuple(labels))


def _funnel(chart: Any) -> Drawing:
    """Centred bars narrowing stage by stage (the first series only)."""
    series = chart.series[0]
    most = max(series.values, default=0) or 1
    room = _WIDTH - 2 * _LABELS
    centre = _WIDTH / 2
    rects: list[Rect] = []
    labels: list[Label] = []
    for index, category in enumerate(chart.categories):
        value = series.values[index]
        width = max(room * float(value) / float(most), 1)
        y = index * (_ROW + _GAP)
        shown = _number(value)
        rects.append(
            Rect(centre - width / 2, y, width, _ROW, series.color, f"{category}: {shown}",
                 shown, series.name, category)
        )  # fmt: skip
        labels.append(Label(centre - room / 2 - 8, y + _ROW - 7, category, "end"))
        labels.append(Label(centre + room / 2 + 8, y + _ROW - 7, shown, css="value"))
    height = len(chart.categories) * (_ROW + _GAP)
    return Drawing(_WIDTH, int(height), tuple(rects), tuple(labels))


def _stacked(chart: Any) -> Drawing:
    """Vertical columns, one per category, the series stacked bottom up."""
    totals = [
        sum((s.values[i] for s in chart.series), Decimal(0)) for i in range(len(chart.categories))
    ]
    most = max(totals, default=Decimal(0)) or Decimal(1)
    rects, labels = _legend(chart, 0)
    top = _LEGEND + 16
    slots = max(len(chart.categories), 1)
    slot = (_WIDTH - 40) / slots
    width = min(slot * 0.7, 60)
    base = top + _COLUMN_AREA
    for index, category in enumerate(chart.categories):
        x = 40 + index * slot + (slot - width) / 2
        y: float = base
        for series in chart.series:
            value = series.values[index]
            height = _COLUMN_AREA * float(value) / float(most)
            y -= height
            if value:
                shown = _number(value)
                rects.append(
                    Rect(x, y, width, height, series.color, f"{category}, {series.name}: {shown}",
                         shown, series.name, category)
                )  # fmt: skip
        labels.append(Label(x + width / 2, y - 4, _number(totals[index]), "middle", "value"))
        labels.append(Label(x + width / 2, base + 16, category, "middle"))
    labels.append(Label(36, base + 4, "0", "end", "axis"))
    return Drawing(_WIDTH, int(base + _AXIS), tuple(rects), tuple(labels))


def draw(chart: Any) -> Drawing:
    """Lay ``chart`` out as rectangles and labels."""
    if chart.kind == "stacked":
        return _stacked(chart)
    if chart.kind == "funnel":
        return _funnel(chart)
    return _bars(chart)


def palette(count: int, colors: Sequence[str] = ()) -> list[str]:
    """``count`` colours: the given ones first, then a palette safe for colour blindness."""
    base = [*colors, "#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#8c8c8c"]
    return [base[index % len(base)] for index in range(count)]
