"""Compact HTML tables for Jupyter: scores, batches, roll-ups and backtests.

Every piece of text that comes from data (names, labels, reasons, ids) goes
through ``html.escape``; colours are validated hex when the model is built and
escaped again here all the same.

The renderers read their values by attribute (duck typing): each takes anything
shaped like the result it is named for, so this module imports none of the
result types and the results can import it.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from itertools import islice
from typing import Any, Final

from partnerkit._base.notebook import escape as _e
from partnerkit._base.notebook import row as _row
from partnerkit._base.notebook import table as _table
from partnerkit.health._model import words

__all__ = ["backtest_html", "batch_html", "comparison_html", "rollup_html", "score_html"]

#: How many partners a batch shows before "... and N more".
BATCH_ROWS: Final = 20
_TOP: Final = 3


def _chip(band: str | None, color: str | None) -> str:
    if band is None:
        return '<span style="color:#777">insufficient data</span>'
    style = f"background:{_e(color or '#999')};color:#fff;padding:0 6px;border-radius:3px"
    return f'<span style="{style}">{_e(words(band))}</span>'


def _number(value: Decimal | None) -> str:
    return "-" if value is None else _e(value)


def _tenth(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def score_html(score: Any) -> str:
    """One score: headline with band chips, contributions, gates, trend, override."""
    title = (
        f"<b>{_e(score.partner_id)}</b> {_number(score.value)} "
        f"{_chip(score.band, score.color)} · {_e(score.model)} v{score.model_version}"
    )
    if score.override is not None:
        title += (
            f" · <i>overridden by {_e(score.override.author)} until "
            f"{_e(score.override.expires_at.date().isoformat())}</i>; computed "
            f"{_number(score.computed_value)} {_chip(score.computed_band, score.computed_color)}"
        )
    rows = [
        _row(
            (
                _e(item.label),
                _e(_raw(item.raw)),
                _number(_tenth(item.normalized)),
                _e(f"{item.weight_share * 100:.1f}%"),
                _number(item.points),
                _number(item.cost if item.points is not None else None),
                _e(item.status.value),
            )
        )
        for item in score.contributions
    ]
    table = _table(("measure", "raw", "normalised", "weight", "points", "cost", "status"), rows)
    notes = "".join(f"<li>{_e(sentence)}</li>" for sentence in score.explanation[1:])
    return f'<div>{title}{table}<ul style="margin:4px 0">{notes}</ul></div>'


def _raw(raw: object) -> str:
    return "no data" if raw is None else str(raw)


def _top(score: Any) -> str:
    ranked = sorted(
        (item for item in score.contributions if item.points),
        key=lambda item: -(item.points or 0),
    )
    return ", ".join(f"{item.label} {item.points}" for item in ranked[:_TOP])


def batch_html(batch: Any) -> str:
    """A batch: band counts, then the first partners with their top contributions."""
    counts = " ".join(
        f"{_chip(band, _color(batch, band))} {count}" for band, count in batch.band_counts().items()
    )
    head = (
        f"<div><b>{_e(batch.model.name)} v{batch.model.version}</b> · {len(batch)} partners "
        f"as of {_e(batch.as_of.isoformat())} · {counts}</div>"
    )
    rows = [
        _row(
            (
                _e(score.partner_id),
                _number(score.value),
                _chip(score.band, score.color) + (" (override)" if score.override else ""),
                _e(_top(score)),
                _e(", ".join(gate.name for gate in score.gates)),
            )
        )
        for score in islice(batch, BATCH_ROWS)
    ]
    more = len(batch) - BATCH_ROWS
    tail = f"<div>… and {more} more</div>" if more > 0 else ""
    table = _table(("partner", "value", "band", "top contributions", "gates"), rows)
    return f"<div>{head}{table}{tail}</div>"


def _color(batch: Any, band: str | None) -> str | None:
    for item in batch.model.bands:
        if item.name == band:
            return str(item.color) if item.color is not None else None
    return None


def rollup_html(item: Any) -> str:
    """A roll-up with its members."""
    title = (
        f"<b>{_e(item.partner_id)}</b> {_number(item.value)} {_chip(item.band, item.color)} · "
        f"{_e(item.method.value)} of {len(item.members)}"
    )
    rows = [
        _row(
            (
                _e(member.partner_id) + (" (own)" if member.is_parent else ""),
                _number(member.value),
                _e(words(member.band)),
                _e(f"{member.weight_share * 100:.1f}%"),
                _number(member.points),
            )
        )
        for member in item.members
    ]
    skipped = f"<div>skipped: {_e(', '.join(item.skipped))}</div>" if item.skipped else ""
    table = _table(("member", "value", "band", "weight", "points"), rows)
    return f"<div>{title}{table}{skipped}</div>"


def backtest_html(test: Any) -> str:
    """A backtest: AUC, event rate per band, separation per measure."""
    title = (
        f"<b>{_e(test.model)} v{test.model_version}</b> · {test.partners} partners, "
        f"{test.events} {_e(test.event)} · AUC {_number(test.auc)}"
    )
    bands = _table(
        ("band", "partners", test.event, "rate"),
        [
            _row((_e(words(band.band)), band.partners, band.events, _number(band.rate)))
            for band in test.bands
        ],
    )
    measures = _table(
        ("measure", "mean without", "mean with", "difference", "AUC"),
        [
            _row(
                (
                    _e(item.measure),
                    _number(item.mean_without),
                    _number(item.mean_with),
                    _number(item.difference),
                    _number(item.auc),
                )
            )
            for item in test.measures
        ],
    )
    return f"<div>{title}{bands}{measures}</div>"


def comparison_html(comparison: Any) -> str:
    """Two backtests side by side."""
    a, b = comparison.a, comparison.b
    header = ("", f"{a.model} v{a.model_version}", f"{b.model} v{b.model_version}", "difference")
    rows = [
        _row(
            (
                _e(record["row"]),
                _number(record["a"]),
                _number(record["b"]),
                _number(record["difference"]),
            )
        )
        for record in comparison.to_records()
    ]
    return f"<div><b>{_e(comparison.summary)}</b>{_table(header, rows)}</div>"
