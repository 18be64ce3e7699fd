"""Render a `Report` to one HTML page with Jinja2, autoescaped, everything inline.

Jinja2 comes with the ``report`` extra and is imported here only, so the rest of
partnerkit (and building a report's data) works without it.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

from partnerkit._version import __version__
from partnerkit.report._charts import draw

__all__ = ["check_installed", "render"]


def shown(cell: object) -> str:
    """A cell as text for people."""
    if cell is None:
        return "-"
    if isinstance(cell, bool):
        return "yes" if cell else "no"
    if isinstance(cell, int):
        return f"{cell:,}"
    if isinstance(cell, Decimal):
        return f"{cell:,}"
    if isinstance(cell, datetime):
        return f"{cell:%Y-%m-%d %H:%M}"
    if isinstance(cell, date):
        return cell.isoformat()
    return str(cell)


def sort_key(cell: object, *, numeric: bool) -> str:
    """What the page sorts a cell by: a plain number for numeric columns, else text."""
    if cell is None:
        return ""
    if isinstance(cell, (datetime, date)):
        return cell.isoformat()
    if numeric:
        text = str(cell).replace(",", "").rstrip("%")
        try:
            return str(Decimal(text))
        except ArithmeticError:
            return ""
    return str(cell).casefold()


def check_installed() -> None:
    """Raise `ImportError` naming the extra if Jinja2 is missing."""
    try:
        import jinja2  # noqa: F401, PLC0415 - optional: the ``report`` extra
    except ImportError:
        msg = "the HTML report needs Jinja2: pip install 'partnerkit[report]'"
        raise ImportError(msg) from None


@cache
def _environment() -> Any:
    check_installed()
    import jinja2  # noqa: PLC0415 - optional: the ``report`` extra

    environment = jinja2.Environment(
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["shown"] = shown
    environment.globals["sort_key"] = sort_key
    environment.globals["draw"] = draw
    folder = resources.files("partnerkit.report") / "_templates"
    environment.globals["style"] = (folder / "report.css").read_text(encoding="utf-8")
    script = (folder / "report.js").read_text(encoding="utf-8")
    environment.globals["script"] = script
    # The page may run its own script and nothing else, and may fetch nothing at all.
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    environment.globals["policy"] = (
        f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{digest}'; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )
    return environment.from_string((folder / "report.html").read_text(encoding="utf-8"))


def render(report: Any) -> str:
    """The report (a `partnerkit.report.Report`, read by attribute) as one HTML page."""
    return str(_environment().render(report=report, version=__version__))
