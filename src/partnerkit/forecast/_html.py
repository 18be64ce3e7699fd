"""Compact HTML tables for Jupyter: forecasts and forecast backtests.

Text from data (partner ids, tiers, products, stages) goes through
``html.escape``. The renderers read results by attribute, so this module
imports none of the result types and the results can import it.
"""

from __future__ import annotations

from typing import Any, Final

from partnerkit._base.notebook import escape as _e
from partnerkit._base.notebook import row as _row
from partnerkit._base.notebook import table as _table

__all__ = ["backtest_html", "forecast_html"]

#: How many lines per dimension a forecast shows before "... and N more".
ROWS: Final = 20


def forecast_html(result: Any) -> str:
    """A forecast: per period, the total, then tiers, partners and products (top lines)."""
    title = (
        f"<p><b>Forecast</b> as of {_e(result.as_of.isoformat())} in {_e(result.currency)}: "
        f"{len(result.deals)} open deals, {result.history_deals} closed deals of history, "
        f"{result.draws:,} draws ({_e(result.engine)}, seed {result.seed})</p>"
    )
    rows = []
    hidden = 0
    for period in result.periods:
        by_dimension: dict[str, list[Any]] = {}
        for line in result.lines:
            if line.period == period.index:
                by_dimension.setdefault(line.dimension.value, []).append(line)
        for dimension, lines in by_dimension.items():
            ordered = sorted(lines, key=lambda line: -line.expected.amount)
            hidden += max(0, len(ordered) - ROWS)
            rows += [
                _row(
                    (
                        _e(period.label),
                        _e(dimension),
                        _e(line.key or "all"),
                        line.deals,
                        _e(line.expected),
                        _e(line.p10),
                        _e(line.p50),
                        _e(line.p90),
                    )
                )
                for line in ordered[:ROWS]
            ]
    table = _table(("period", "by", "group", "deals", "expected", "p10", "p50", "p90"), rows)
    more = f"<p>... and {hidden} more lines (see .lines)</p>" if hidden else ""
    return title + table + more


def backtest_html(result: Any) -> str:
    """A forecast backtest: the summary, each past forecast, the reliability buckets."""
    points = [
        _row(
            (
                _e(point.as_of.date().isoformat()),
                point.deals,
                _e(point.expected),
                _e(point.p10),
                _e(point.p90),
                _e(point.actual),
                "yes" if point.inside else "<b>no</b>",
            )
        )
        for point in result.points
    ]
    buckets = [
        _row(
            (
                _e(f"{bucket.low:.0%}-{bucket.high:.0%}"),
                bucket.deals,
                "-" if bucket.mean_predicted is None else _e(f"{bucket.mean_predicted:.1%}"),
                "-" if bucket.observed is None else _e(f"{bucket.observed:.1%}"),
            )
        )
        for bucket in result.reliability
        if bucket.deals
    ]
    return (
        f"<p>{_e(result.summary())}</p>"
        + _table(("as of", "deals", "expected", "p10", "p90", "actual", "inside"), points)
        + _table(("predicted", "deals", "mean predicted", "observed"), buckets)
    )
