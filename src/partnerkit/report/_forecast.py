"""The report's forecast section: the open pipeline's next periods, and who won what.

The forecast is `partnerkit.forecast.forecast` over the store's registrations as
of the report's instant, with the tiers and join dates `Services.forecast_pipeline`
uses and a fixed seed, so the same store and instant give the same page. Won
revenue is attributed with `partnerkit.attribution.attribute` under the default
rules, each won registration being its own partner's touch.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Final

from partnerkit._base.time import Period
from partnerkit.attribution import CreditRole, attribute, won_deal
from partnerkit.deals import DealStatus
from partnerkit.forecast import Dimension, forecast
from partnerkit.report._model import Chart, ChartKind, Column, Fact, Figure, Section, Series, Table

if TYPE_CHECKING:
    from partnerkit.attribution import AttributionReport
    from partnerkit.deals import DealRegistration
    from partnerkit.forecast import Forecast
    from partnerkit.report._context import ReportContext
    from partnerkit.report._model import Cell

__all__ = [
    "ATTRIBUTION_DAYS",
    "FORECAST_DRAWS",
    "FORECAST_PERIODS",
    "FORECAST_SEED",
    "forecast_section",
]

#: How many periods (quarters by default) the forecast looks ahead.
FORECAST_PERIODS: Final = 2
#: The Monte Carlo draws behind the bands.
FORECAST_DRAWS: Final = 2000
#: The seed of the draws: a fixed seed makes the page reproducible.
FORECAST_SEED: Final = 0
#: Won revenue is attributed over this many days up to the report's instant.
ATTRIBUTION_DAYS: Final = 365
_QUARTER: Final = Period.of_months(3)
_BAND_COLORS: Final = ("#c6dbef", "#6baed6", "#08519c", "#2171b5")


def _tiers_and_joined(
    context: ReportContext, partner_ids: set[str]
) -> tuple[dict[str, str], dict[str, date]]:
    """Tier and join date per partner, read as `Services.forecast_pipeline` reads them."""
    joined: dict[str, date] = {}
    known = {partner.id: partner for partner in context.partners()}
    for partner_id in sorted(partner_ids):
        partner = known.get(partner_id)
        if partner is not None and partner.joined_on is not None:
            joined[partner_id] = partner.joined_on
    return context.tiers(partner_ids), joined


def _by_currency(deals: list[DealRegistration]) -> dict[str, list[DealRegistration]]:
    found: dict[str, list[DealRegistration]] = defaultdict(list)
    for deal in deals:
        found[deal.amount.currency].append(deal)
    return dict(sorted(found.items()))


def _forecast_figure(result: Forecast, code: str) -> Figure:
    totals = [result.line(Dimension.TOTAL, period=p.index) for p in result.periods]
    labels = tuple(period.label for period in result.periods)
    rows: tuple[tuple[Cell, ...], ...] = tuple(
        (
            period.label,
            line.deals,
            line.expected.amount,
            line.p10.amount,
            line.p50.amount,
            line.p90.amount,
            code,
        )
        for period, line in zip(result.periods, totals, strict=True)
    )
    bands = (
        ("p10", [line.p10.amount for line in totals]),
        ("p50", [line.p50.amount for line in totals]),
        ("Expected", [line.expected.amount for line in totals]),
        ("p90", [line.p90.amount for line in totals]),
    )
    return Figure(
        f"forecast-{code.lower()}",
        f"Expected won revenue per period ({code})",
        Table(
            f"Open {code} registrations: expected won value and the 80% band per period",
            (
                Column("Period"),
                Column("Deals", numeric=True),
                Column("Expected", numeric=True),
                Column("p10", numeric=True),
                Column("p50", numeric=True),
                Column("p90", numeric=True),
                Column("Currency"),
            ),
            rows,
        ),
        Chart(
            ChartKind.BARS,
            labels,
            tuple(
                Series(name, tuple(values), color)
                for (name, values), color in zip(bands, _BAND_COLORS, strict=True)
            ),
        ),
        note=f"Learned from {result.history_deals:,} registrations closed by "
        f"{result.as_of:%Y-%m-%d}; p10 to p90 is the 80% band of {result.draws:,} simulated "
        f"outcomes (seed {result.seed}, {result.engine} engine). Deals counts the open "
        "registrations that may close in the period.",
    )


def _attribution(
    context: ReportContext, deals: list[DealRegistration], code: str
) -> AttributionReport | None:
    since = context.as_of - timedelta(days=ATTRIBUTION_DAYS)
    won = [
        item
        for deal in deals
        if context.deal_status(deal) is DealStatus.WON
        and since <= (item := won_deal(deal)).won_at <= context.as_of
    ]
    if not won:
        return None
    return attribute(won, currency=code)


def _attribution_figure(context: ReportContext, report: AttributionReport, code: str) -> Figure:
    names = context.names()
    unattributed = sum(
        (
            credit.amount.amount
            for deal in report.deals
            for credit in deal.credits
            if credit.role is CreditRole.UNATTRIBUTED
        ),
        Decimal(0),
    )
    rows: list[tuple[Cell, ...]] = [
        (
            credit.partner_id,
            names.get(credit.partner_id, credit.partner_id),
            credit.deals,
            credit.sourced.amount,
            credit.influenced.amount,
            credit.total.amount,
        )
        for credit in sorted(report.partners, key=lambda c: (-c.total.amount, c.partner_id))
    ]
    if unattributed:
        rows.append(("", "unattributed", None, None, None, unattributed))
    return Figure(
        f"attribution-{code.lower()}",
        f"Won revenue by partner, last {ATTRIBUTION_DAYS} days ({code})",
        Table(
            f"{code} revenue won from {context.as_of - timedelta(days=ATTRIBUTION_DAYS):%Y-%m-%d}"
            f" to {context.as_of:%Y-%m-%d}, credited to the partners that sourced or influenced it",
            (
                Column("Partner id", key="partner_id"),
                Column("Partner"),
                Column("Won deals", numeric=True, key="deals"),
                Column("Sourced", numeric=True),
                Column("Influenced", numeric=True),
                Column("Total", numeric=True),
            ),
            tuple(rows),
        ),
        note="Each won registration is its partner's touch, so its partner sourced it under the "
        f"default rules; {report.rules.influence_share:.0%} of a deal goes to influencers "
        "where the host records them.",
    )


def forecast_section(context: ReportContext) -> Section | None:
    """The open pipeline's expected value and bands per quarter, and won revenue by partner.

    One forecast per currency of the registrations, over `FORECAST_PERIODS`
    quarters from the report's date, with `FORECAST_DRAWS` draws seeded with
    `FORECAST_SEED`. ``None`` when no registration is open at the report's instant.
    """
    deals = context.deals()
    if not deals:
        return None
    figures: list[Figure] = []
    facts: list[Fact] = []
    open_deals = 0
    for code, group in _by_currency(deals).items():
        tiers, joined = _tiers_and_joined(context, {deal.partner_id for deal in group})
        result = forecast(
            group,
            as_of=context.as_of,
            tiers=tiers,
            joined=joined,
            period=_QUARTER,
            periods=FORECAST_PERIODS,
            currency=code,
            draws=FORECAST_DRAWS,
            seed=FORECAST_SEED,
        )
        report = _attribution(context, group, code)
        if result.deals:
            open_deals += len(result.deals)
            first = result.line(Dimension.TOTAL, period=0)
            facts.append(
                Fact(
                    f"expected_{code.lower()}",
                    f"Expected next quarter ({code})",
                    first.expected.amount,
                )
            )
            figures.append(_forecast_figure(result, code))
        if report is not None:
            won = sum((d.amount.amount for d in report.deals), Decimal(0))
            facts.append(
                Fact(f"won_{code.lower()}", f"Won, last {ATTRIBUTION_DAYS} days ({code})", won)
            )
            figures.append(_attribution_figure(context, report, code))
    if not figures:
        return None
    return Section(
        "forecast",
        "Forecast and attribution",
        facts=(Fact("open", "Open registrations forecast", open_deals), *facts),
        figures=tuple(figures),
    )
