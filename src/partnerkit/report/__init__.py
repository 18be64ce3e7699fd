"""A self-contained HTML report on the partner channel, for channel managers.

`build_report` reads a store as of one instant and returns a `Report`: sections of
headline facts and figures, each figure a chart with the table of its numbers.
`Report.to_html` renders it as one HTML page with everything inline (styles, the
charts as SVG, a few lines of script that sort the tables), so the file opens
anywhere, offline, and loads nothing from the network. Rendering needs the
``report`` extra (Jinja2): ``pip install 'partnerkit[report]'``.

Each section is one builder function taking a `ReportContext`. `SECTIONS` is the
default list; pass your own tuple to add a section::

    def my_section(context: ReportContext) -> Section:
        ...

    report = build_report(storage, sections=(*SECTIONS, my_section))

The command line writes the same page: ``partnerkit report --db partners.db
--out report.html``. See docs/report.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from partnerkit._base.time import SystemClock, to_utc
from partnerkit.report._context import ReportContext
from partnerkit.report._forecast import (
    ATTRIBUTION_DAYS,
    FORECAST_DRAWS,
    FORECAST_PERIODS,
    FORECAST_SEED,
    forecast_section,
)
from partnerkit.report._model import (
    Cell,
    Chart,
    ChartKind,
    Column,
    Fact,
    Figure,
    Report,
    Section,
    Series,
    Table,
)
from partnerkit.report._relationship import CHECK_IN_POLICY, relationship_section
from partnerkit.report._sections import (
    EXPIRING_DAYS,
    LAPSING_HOURS,
    SECTIONS,
    SectionBuilder,
    deals_section,
    funds_section,
    funnel_section,
    health_section,
    incentives_section,
    leads_section,
    partners_section,
    tiers_section,
)

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from partnerkit._base.money import RateSource
    from partnerkit._base.time import Clock
    from partnerkit.storage import Storage

__all__ = [
    "ATTRIBUTION_DAYS",
    "CHECK_IN_POLICY",
    "EXPIRING_DAYS",
    "FORECAST_DRAWS",
    "FORECAST_PERIODS",
    "FORECAST_SEED",
    "LAPSING_HOURS",
    "SECTIONS",
    "Cell",
    "Chart",
    "ChartKind",
    "Column",
    "Fact",
    "Figure",
    "Report",
    "ReportContext",
    "Section",
    "SectionBuilder",
    "Series",
    "Table",
    "build_report",
    "deals_section",
    "forecast_section",
    "funds_section",
    "funnel_section",
    "health_section",
    "incentives_section",
    "leads_section",
    "partners_section",
    "relationship_section",
    "tiers_section",
]


def build_report(
    storage: Storage,
    *,
    as_of: datetime | None = None,
    clock: Clock | None = None,
    sections: Sequence[SectionBuilder] = SECTIONS,
    title: str = "Partner channel report",
    rates: RateSource | None = None,
) -> Report:
    """Read ``storage`` as of one instant and build the report's sections.

    Everything is read in one unit of work that is never committed, so the
    report changes nothing and sees one state of the store.

    Args:
        storage: The store (`SqliteStorage`, `SqlStorage`, `MemoryStorage`, yours).
        as_of: The instant to describe (default: now, from ``clock``). Scores,
            tiers, statuses and expiry horizons are read as they stood then.
        clock: What "now" is when ``as_of`` is not given (the system clock).
        sections: The section builders, in page order.
        title: The page title.
        rates: Converts money where a section must, such as plan goals in USD
            over revenue booked in other currencies (without it, such goals are
            listed as not measured).

    Returns:
        The report; `Report.to_html` renders it, `Report.write` saves it.

    Raises:
        ValidationError: For a naive ``as_of``.
    """
    instant = to_utc(as_of, "as_of") if as_of is not None else (clock or SystemClock()).now()
    with storage.unit_of_work() as uow:
        context = ReportContext(uow, instant, rates=rates)
        built = tuple(section for builder in sections if (section := builder(context)))
    return Report(title, instant, built)
