"""The report's sections: one builder function each, reading the store as of one instant.

A section builder takes a `ReportContext` and returns a `Section` (or ``None`` when
it has nothing to say at all). `SECTIONS` lists the builders in page order; a new
area of partnerkit adds its section by writing one more builder and adding it to
the tuple passed to `build_report` (or to `SECTIONS`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Final, TypeAlias

import attrs

from partnerkit._pages import every
from partnerkit.deals import ACTIVE_STATUSES, ConflictIndex, DealStatus, find_conflicts
from partnerkit.funds import BudgetStatus, reconcile
from partnerkit.incentives import StatementStatus
from partnerkit.leads import LeadStatus, OfferOutcome
from partnerkit.partners import PartnerStatus
from partnerkit.report._charts import palette
from partnerkit.report._context import ReportContext, status_at
from partnerkit.report._forecast import forecast_section
from partnerkit.report._model import (
    Cell,
    Chart,
    ChartKind,
    Column,
    Fact,
    Figure,
    Section,
    Series,
    Table,
)
from partnerkit.report._relationship import relationship_section
from partnerkit.tiers import tier_at

if TYPE_CHECKING:
    from collections.abc import Iterable

    from partnerkit.deals import Conflict, DealRegistration
    from partnerkit.funds import FundBudget, FundClaim, FundRequest
    from partnerkit.health import HealthScore, ScoringModel
    from partnerkit.incentives import Statement
    from partnerkit.leads import Lead, Offer
    from partnerkit.storage import StoredProgram
    from partnerkit.tiers import Membership, Program

__all__ = [
    "EXPIRING_DAYS",
    "LAPSING_HOURS",
    "SECTIONS",
    "SectionBuilder",
    "deals_section",
    "funds_section",
    "funnel_section",
    "health_section",
    "incentives_section",
    "leads_section",
    "partners_section",
    "tiers_section",
]

#: A section builder: reads the context, returns its section (``None``: leave it out).
SectionBuilder: TypeAlias = Callable[[ReportContext], Section | None]

#: Approved registrations whose protection ends within this many days are "expiring soon".
EXPIRING_DAYS: Final = 30
#: Offered leads whose offer lapses within this many hours are "lapsing soon".
LAPSING_HOURS: Final = 24
#: How many scoring runs the health-over-time chart shows (the latest ones).
HEALTH_RUNS: Final = 12
_TICK: Final = timedelta(microseconds=1)
_NO_TIER: Final = "no tier"
_NO_DATA: Final = "insufficient data"
_NO_DATA_COLOR: Final = "#8c8c8c"
_REASONS: Final = 3


def _words(slug: str) -> str:
    return slug.replace("_", " ")


def _share(part: int, whole: int) -> str:
    if not whole:
        return "-"
    return f"{Decimal(100 * part) / whole:.1f}%"


def _count_figure(
    figure_id: str,
    title: str,
    heading: str,
    counts: Iterable[tuple[str, int]],
    *,
    note: str = "",
    color: str = "#0072b2",
) -> Figure:
    """A bar chart of counts per category, with a table of counts and shares."""
    pairs = list(counts)
    total = sum(count for _, count in pairs)
    table = Table(
        title,
        (Column(heading), Column("Count", numeric=True), Column("Share", numeric=True)),
        tuple((name, count, _share(count, total)) for name, count in pairs),
    )
    chart = Chart(
        ChartKind.BARS,
        tuple(name for name, _ in pairs),
        (Series("Count", tuple(count for _, count in pairs), color),),
    )
    return Figure(figure_id, title, table, chart, note)


# Partners.


def partners_section(context: ReportContext) -> Section:
    """Partners by lifecycle status and by type, as of the report's instant."""
    partners = context.partners()
    if not partners:
        return Section("partners", "Partners", empty="The store holds no partners yet.")
    statuses = Counter(context.partner_status(partner) for partner in partners)
    types = Counter(partner.type for partner in partners)
    return Section(
        "partners",
        "Partners",
        facts=(
            Fact("partners", "Partners", len(partners)),
            Fact("active", "Active", statuses[PartnerStatus.ACTIVE]),
            Fact("onboarding", "Onboarding", statuses[PartnerStatus.ONBOARDING]),
        ),
        figures=(
            _count_figure(
                "partners-by-status",
                "Partners by status",
                "Status",
                ((_words(s.value), statuses[s]) for s in PartnerStatus if statuses[s]),
            ),
            _count_figure(
                "partners-by-type",
                "Partners by type",
                "Type",
                ((_words(kind), count) for kind, count in types.most_common()),
                color="#009e73",
            ),
        ),
    )


# Tiers.


def _last_review(program: Program, as_of: datetime) -> datetime | None:
    """The latest review instant of ``program``'s cadence at or before ``as_of``."""
    found = program.review.between(as_of - timedelta(days=800), as_of + _TICK)
    return found[-1] if found else None


def _tier_figures(context: ReportContext, stored: StoredProgram) -> tuple[list[Figure], int]:
    program = stored.program
    uow, as_of = context.uow, context.as_of
    names = context.names()
    members = [
        m
        for m in _all_memberships(context, program.id)
        if m.partner_id in names and m.joined_on <= as_of.date()
    ]
    review = _last_review(program, as_of)
    before_at = (review or as_of) - _TICK
    ranks = {tier.id: tier.rank for tier in program.tiers}
    before: Counter[str] = Counter()
    now: Counter[str] = Counter()
    moves: list[tuple[Cell, ...]] = []
    for member in members:
        history = uow.tier_history.for_partner(program.id, member.partner_id)
        was = tier_at(history, member.partner_id, before_at, program_id=program.id)
        held = tier_at(history, member.partner_id, as_of, program_id=program.id)
        before[was or _NO_TIER] += 1
        now[held or _NO_TIER] += 1
        if was != held:
            up = ranks.get(held or "", 0) > ranks.get(was or "", 0)
            since = max(
                (a.valid_from for a in history if before_at < a.valid_from <= as_of),
                default=None,
            )
            moves.append(
                (
                    member.partner_id,
                    names[member.partner_id],
                    _tier_name(program, was),
                    _tier_name(program, held),
                    "up" if up else "down",
                    since,
                )
            )
    order = [tier.id for tier in reversed(program.tiers)] + [_NO_TIER]
    when = "no review yet" if review is None else f"{review:%Y-%m-%d}"
    label_before = f"Before the review of {when}" if review else "Before"
    label_now = f"As of {as_of:%Y-%m-%d}"
    rows = tuple(
        (_tier_name(program, tier), before[tier], now[tier], now[tier] - before[tier])
        for tier in order
    )
    colors = palette(2, ("#9ecae1", "#0072b2"))
    held_figure = Figure(
        f"tiers-{program.id}",
        f"{program.name}: partners per tier",
        Table(
            f"{program.name}: partners per tier before the latest review and now",
            (
                Column("Tier"),
                Column(label_before, numeric=True, key="before"),
                Column(label_now, numeric=True, key="now"),
                Column("Change", numeric=True),
            ),
            rows,
        ),
        Chart(
            ChartKind.BARS,
            tuple(_tier_name(program, tier) for tier in order),
            (
                Series(label_before, tuple(before[tier] for tier in order), colors[0]),
                Series(label_now, tuple(now[tier] for tier in order), colors[1]),
            ),
        ),
        note=f"The latest review was {when}; movement counts it and any change after it.",
    )
    moves.sort(key=lambda row: (row[4] != "up", str(row[1])))
    moved_figure = Figure(
        f"tier-moves-{program.id}",
        f"{program.name}: movement since the latest review",
        Table(
            f"{program.name}: partners whose tier changed at or since the review of {when}",
            (
                Column("Partner id", key="partner_id"),
                Column("Partner"),
                Column("From"),
                Column("To"),
                Column("Direction"),
                Column("Since"),
            ),
            tuple(moves),
        ),
    )
    watch = [
        (
            m.partner_id,
            names[m.partner_id],
            _tier_name(program, m.tier_id),
            "proposed downgrade" if m.proposal is not None else "grace",
            m.failing_reviews,
            _tier_name(program, m.proposal.to_tier_id) if m.proposal is not None else "",
        )
        for m in members
        if (m.failing_reviews or m.proposal is not None)
        and (m.last_review_at is None or m.last_review_at <= as_of)
    ]
    watch_figure = Figure(
        f"tier-watch-{program.id}",
        f"{program.name}: in grace or proposed for downgrade",
        Table(
            f"{program.name}: members failing their tier's requirements",
            (
                Column("Partner id", key="partner_id"),
                Column("Partner"),
                Column("Tier"),
                Column("Standing"),
                Column("Failing reviews", numeric=True),
                Column("Proposed tier"),
            ),
            tuple(watch),
        ),
    )
    return [held_figure, moved_figure, watch_figure], len(moves)


def _tier_name(program: Program, tier_id: str | None) -> str:
    if tier_id is None or tier_id == _NO_TIER:
        return _NO_TIER
    try:
        return program.tier(tier_id).name
    except (KeyError, LookupError):
        return tier_id  # a tier since removed from the program


def _all_memberships(context: ReportContext, program_id: str) -> list[Membership]:
    return every(
        lambda cursor: context.uow.memberships.query(
            program_id=program_id, limit=1000, cursor=cursor
        )
    )


def tiers_section(context: ReportContext) -> Section:
    """Per program: partners per tier before the latest review and now, who moved, who fails."""
    programs = context.programs()
    if not programs:
        return Section("tiers", "Tiers", empty="The store holds no partner program.")
    figures: list[Figure] = []
    moved = 0
    for stored in programs:
        found, count = _tier_figures(context, stored)
        figures += found
        moved += count
    return Section(
        "tiers",
        "Tiers",
        facts=(
            Fact("programs", "Programs", len(programs)),
            Fact("moved", "Tier changes since the latest review", moved),
        ),
        figures=tuple(figures),
    )


# Health.


def _histories(context: ReportContext, model: str) -> dict[str, list[HealthScore]]:
    found: dict[str, list[HealthScore]] = {}
    for partner in context.partners():
        history = context.uow.scores.history(partner.id, model=model, until=context.as_of)
        if history:
            found[partner.id] = history
    return found


def _band_label(model: ScoringModel, band: str | None) -> str:
    if band is None:
        return _NO_DATA
    for item in model.bands:
        if item.name == band:
            return item.label
    return _words(band)


def _health_figures(context: ReportContext, model: ScoringModel) -> tuple[list[Figure], int, int]:
    histories = _histories(context, model.name)
    if not histories:
        return [], 0, 0
    names = context.names()
    runs: dict[datetime, Counter[str | None]] = {}
    for history in histories.values():
        for item in history:
            runs.setdefault(item.as_of, Counter())[item.band] += 1
    instants = sorted(runs)[-HEALTH_RUNS:]
    bands: list[str | None] = [band.name for band in reversed(model.bands)]
    if any(runs[when][None] for when in instants):
        bands.append(None)
    colors = {band.name: band.color for band in model.bands}
    slug = "".join(c if c.isalnum() else "-" for c in model.name.lower())
    over_time = Figure(
        f"health-over-time-{slug}",
        f"{model.name}: health bands over time",
        Table(
            f"{model.name}: partners in each band at each scoring run",
            (
                Column("Scored at", key="as_of"),
                *(Column(_band_label(model, b), numeric=True, key=b or "no_data") for b in bands),
                Column("Scored", numeric=True, key="scored"),
            ),
            tuple(
                (
                    f"{when:%Y-%m-%d %H:%M}",
                    *(runs[when][b] for b in bands),
                    sum(runs[when].values()),
                )
                for when in instants
            ),
        ),
        Chart(
            ChartKind.STACKED,
            tuple(f"{when:%Y-%m-%d}" for when in instants),
            tuple(
                Series(
                    _band_label(model, b),
                    tuple(runs[when][b] for when in instants),
                    colors.get(b or "", _NO_DATA_COLOR),
                )
                for b in reversed(bands)
            ),
        ),
        note="Each column is one scoring run; the healthiest band is stacked on top.",
    )
    best = model.bands[-1].name
    latest = [history[-1] for history in histories.values()]
    at_risk = sorted(
        (s for s in latest if s.band != best),
        key=lambda s: (s.value if s.value is not None else Decimal(-1), s.partner_id),
    )
    critical = model.bands[0].name
    rows = tuple(
        (
            score.partner_id,
            names.get(score.partner_id, score.partner_id),
            score.value.quantize(Decimal("0.1"), ROUND_HALF_UP)
            if score.value is not None
            else None,
            _band_label(model, score.band),
            score.trend.delta if score.trend is not None else None,
            " ".join(score.explanation[1 : 1 + _REASONS]),
        )
        for score in at_risk
    )
    risk_figure = Figure(
        f"at-risk-{slug}",
        f"{model.name}: partners at risk and why",
        Table(
            f"{model.name}: partners outside the healthiest band at their latest score, "
            "lowest first",
            (
                Column("Partner id", key="partner_id"),
                Column("Partner"),
                Column("Score", numeric=True),
                Column("Band"),
                Column("Change", numeric=True),
                Column("Reasons"),
            ),
            rows,
        ),
        note=f"Latest score of each partner by {context.as_of:%Y-%m-%d}; change is against "
        "the score before it.",
    )
    critical_count = sum(1 for s in latest if s.band == critical)
    return [over_time, risk_figure], len(at_risk), critical_count


def health_section(context: ReportContext) -> Section:
    """Per stored scoring model: bands at each scoring run, and the at-risk list with reasons."""
    models = context.scoring_models()
    figures: list[Figure] = []
    at_risk = critical = 0
    for stored in models:
        found, risky, worst = _health_figures(context, stored.model)
        figures += found
        at_risk += risky
        critical += worst
    if not figures:
        return Section(
            "health",
            "Health",
            empty="No partner has a score from a stored scoring model "
            "(store models with Services.add_scoring_model, then score partners).",
        )
    return Section(
        "health",
        "Health",
        facts=(
            Fact("at_risk", "Outside the healthiest band", at_risk),
            Fact("critical", "In the lowest band", critical),
        ),
        figures=tuple(figures),
    )


# Deals.


def _conflict_row(
    context: ReportContext, deal: DealRegistration, conflict: Conflict, found: str
) -> tuple[Cell, ...]:
    names = context.names()
    return (
        deal.id,
        names.get(deal.partner_id, deal.partner_id),
        deal.customer.name,
        conflict.other_id,
        conflict.other_name,
        Decimal(str(round(conflict.confidence, 2))),
        ", ".join(_words(kind.value) for kind in conflict.match_kinds),
        _words(conflict.outcome.value),
        _words(context.deal_status(deal).value),
        found,
    )


def _conflict_rows(context: ReportContext, deals: list[DealRegistration]) -> list[tuple[Cell, ...]]:
    """Conflicts kept in decisions by ``as_of``, and those open among active registrations.

    Open conflicts are found as the deal desk finds them (`find_conflicts` over a
    `ConflictIndex` of the registrations active at ``as_of``), so a manager sees
    what still waits for a decision; a pair shows once, under its later registration.
    """
    rows: dict[tuple[str, str], tuple[Cell, ...]] = {}
    for deal in deals:
        for decision in deal.decisions:
            if decision.at <= context.as_of:
                for conflict in decision.conflicts:
                    found = f"at {_words(decision.action.value)}"
                    rows[(deal.id, conflict.other_id)] = _conflict_row(
                        context, deal, conflict, found
                    )
    index = ConflictIndex()
    active: list[DealRegistration] = []
    for deal in deals:
        status = context.deal_status(deal)
        if status in ACTIVE_STATUSES:
            then = deal
            if status is not deal.status:
                # As it stood: a registration approved since had no protection yet.
                until = deal.protection_until if status is DealStatus.APPROVED else None
                then = attrs.evolve(deal, status=status, protection_until=until)
            index.add(then)
            active.append(then)
    for deal in active:
        for conflict in find_conflicts(deal, index):
            other = conflict.other_id
            pair = (deal.id, other)
            if conflict.has_priority or pair in rows or (other, deal.id) in rows:
                continue
            rows[pair] = _conflict_row(context, deal, conflict, "open")
    return sorted(rows.values(), key=lambda row: (-Decimal(str(row[5])), str(row[0])))


def deals_section(context: ReportContext) -> Section:
    """Registrations by status, the conflicts found, and protection that ends soon."""
    deals = context.deals()
    if not deals:
        return Section("deals", "Deal registrations", empty="No deal has been registered yet.")
    names = context.names()
    statuses = Counter(context.deal_status(deal) for deal in deals)
    conflicts = _conflict_rows(context, deals)
    horizon = context.as_of + timedelta(days=EXPIRING_DAYS)
    expiring = sorted(
        (
            deal
            for deal in deals
            if context.deal_status(deal) is DealStatus.APPROVED
            and deal.protection_until is not None
            and context.as_of < deal.protection_until <= horizon
        ),
        key=lambda deal: (deal.protection_until, deal.id),
    )
    expiring_rows = tuple(
        (
            deal.id,
            names.get(deal.partner_id, deal.partner_id),
            deal.customer.name,
            deal.amount.amount,
            deal.amount.currency,
            deal.protection_until.date() if deal.protection_until else None,
            (deal.protection_until - context.as_of).days if deal.protection_until else None,
        )
        for deal in expiring
    )
    return Section(
        "deals",
        "Deal registrations",
        facts=(
            Fact("registrations", "Registrations", len(deals)),
            Fact("approved", "Approved and protected", statuses[DealStatus.APPROVED]),
            Fact("conflicts", "Conflicts found", len(conflicts)),
            Fact("expiring", f"Protection ending within {EXPIRING_DAYS} days", len(expiring)),
        ),
        figures=(
            _count_figure(
                "deals-by-status",
                "Registrations by status",
                "Status",
                ((_words(s.value), statuses[s]) for s in DealStatus if statuses[s]),
                color="#e69f00",
            ),
            Figure(
                "deal-conflicts",
                "Conflicts found",
                Table(
                    "Registrations that matched another party's customer, most certain first",
                    (
                        Column("Registration"),
                        Column("Partner"),
                        Column("Customer"),
                        Column("Other", key="other_id"),
                        Column("Other customer or party", key="other_name"),
                        Column("Confidence", numeric=True),
                        Column("Matched on", key="matched"),
                        Column("Outcome"),
                        Column("Status", key="status"),
                        Column("Found"),
                    ),
                    tuple(conflicts),
                ),
            ),
            Figure(
                "deals-expiring",
                f"Protection ending within {EXPIRING_DAYS} days",
                Table(
                    f"Approved registrations whose protection ends by {horizon:%Y-%m-%d}, "
                    "soonest first",
                    (
                        Column("Registration"),
                        Column("Partner"),
                        Column("Customer"),
                        Column("Amount", numeric=True),
                        Column("Currency"),
                        Column("Protected until", key="protection_until"),
                        Column("Days left", numeric=True),
                    ),
                    expiring_rows,
                ),
            ),
        ),
    )


def _reached(deal: DealRegistration, statuses: set[DealStatus], as_of: datetime) -> bool:
    return any(change.to_status in statuses and change.at <= as_of for change in deal.history)


def funnel_section(context: ReportContext) -> Section | None:
    """How far registrations got: submitted, approved, won."""
    deals = context.deals()
    if not deals:
        return None
    as_of = context.as_of
    stages = (
        ("Submitted", {DealStatus.SUBMITTED}),
        ("Approved", {DealStatus.APPROVED}),
        ("Won", {DealStatus.WON}),
    )
    counts = [sum(1 for d in deals if _reached(d, wanted, as_of)) for _, wanted in stages]
    first = counts[0]
    rows = tuple(
        (
            name,
            count,
            _share(count, first),
            _share(count, counts[index - 1]) if index else "100.0%" if count else "-",
        )
        for index, ((name, _), count) in enumerate(zip(stages, counts, strict=True))
    )
    return Section(
        "funnel",
        "Deal funnel",
        facts=(Fact("won", "Won", counts[-1]), Fact("win_rate", "Won of submitted", rows[-1][2])),
        figures=(
            Figure(
                "deal-funnel",
                "Registrations reaching each stage",
                Table(
                    "Registrations that reached each stage by the report's date",
                    (
                        Column("Stage"),
                        Column("Registrations", numeric=True),
                        Column("Of submitted", numeric=True),
                        Column("Of the stage before", numeric=True, key="of_previous"),
                    ),
                    rows,
                ),
                Chart(
                    ChartKind.FUNNEL,
                    tuple(name for name, _ in stages),
                    (Series("Registrations", tuple(counts), "#cc79a7"),),
                ),
            ),
        ),
    )


# Leads.


def _offers_at(lead: Lead, as_of: datetime) -> list[tuple[Offer, OfferOutcome]]:
    """The lead's offers made by ``as_of``, each with its outcome as it stood then."""
    return [
        (
            offer,
            offer.outcome
            if offer.answered_at is not None and offer.answered_at <= as_of
            else OfferOutcome.PENDING,
        )
        for offer in lead.offers
        if offer.offered_at <= as_of
    ]


def _lead_offer_counts(
    leads: list[Lead], as_of: datetime
) -> dict[str, Counter[OfferOutcome | None]]:
    """Per partner: offers made by ``as_of`` (under ``None``) and each outcome then."""
    counts: dict[str, Counter[OfferOutcome | None]] = {}
    for lead in leads:
        for offer, outcome in _offers_at(lead, as_of):
            found = counts.setdefault(offer.partner_id, Counter())
            found[None] += 1
            found[outcome] += 1
    return counts


def _lapsing_soon(
    leads: list[Lead], as_of: datetime, horizon: datetime
) -> list[tuple[Lead, Offer]]:
    """Leads offered at ``as_of`` whose pending offer lapses after it and by ``horizon``."""
    found: list[tuple[Lead, Offer]] = []
    for lead in leads:
        offers = _offers_at(lead, as_of)
        if status_at(lead.status, lead.history, as_of) is not LeadStatus.OFFERED or not offers:
            continue
        offer, outcome = offers[-1]
        if outcome is OfferOutcome.PENDING and as_of < offer.expires_at <= horizon:
            found.append((lead, offer))
    found.sort(key=lambda pair: (pair[1].expires_at, pair[0].id))
    return found


def leads_section(context: ReportContext) -> Section | None:
    """Leads by status, each partner's offers and answers, and offers that lapse soon.

    Leads received after the report's instant are left out; statuses and offer
    outcomes are read back to that instant. ``None`` when the store holds no lead.
    """
    as_of = context.as_of
    leads = [
        lead
        for lead in every(lambda cursor: context.uow.leads.query(limit=1000, cursor=cursor))
        if lead.received_at <= as_of
    ]
    if not leads:
        return None
    names = context.names()
    statuses = Counter(status_at(lead.status, lead.history, as_of) for lead in leads)
    counts = _lead_offer_counts(leads, as_of)
    order = sorted(counts, key=lambda partner_id: (-counts[partner_id][None], partner_id))
    partner_rows = tuple(
        (
            partner_id,
            names.get(partner_id, partner_id),
            counts[partner_id][None],
            counts[partner_id][OfferOutcome.ACCEPTED],
            counts[partner_id][OfferOutcome.DECLINED],
            counts[partner_id][OfferOutcome.LAPSED],
            counts[partner_id][OfferOutcome.PENDING],
            _share(counts[partner_id][OfferOutcome.ACCEPTED], counts[partner_id][None]),
        )
        for partner_id in order
    )
    horizon = as_of + timedelta(hours=LAPSING_HOURS)
    lapsing = tuple(
        (
            lead.id,
            lead.customer.name,
            offer.partner_id,
            names.get(offer.partner_id, offer.partner_id),
            offer.offered_at,
            offer.expires_at,
            (Decimal(int((offer.expires_at - as_of).total_seconds())) / 3600).quantize(
                Decimal("0.1"), ROUND_HALF_UP
            ),
        )
        for lead, offer in _lapsing_soon(leads, as_of, horizon)
    )
    offered = sum(found[None] for found in counts.values())
    accepted = sum(found[OfferOutcome.ACCEPTED] for found in counts.values())
    return Section(
        "leads",
        "Leads",
        facts=(
            Fact("leads", "Leads", len(leads)),
            Fact("offered", "Awaiting a partner's answer", statuses[LeadStatus.OFFERED]),
            Fact("acceptance", "Offers accepted", _share(accepted, offered)),
            Fact("lapsing", f"Offers lapsing within {LAPSING_HOURS} hours", len(lapsing)),
        ),
        figures=(
            _count_figure(
                "leads-by-status",
                "Leads by status",
                "Status",
                ((_words(s.value), statuses[s]) for s in LeadStatus if statuses[s]),
                color="#56b4e9",
            ),
            Figure(
                "lead-offers",
                "Offers per partner",
                Table(
                    "Leads offered to each partner and what became of the offers, "
                    "most offered first",
                    (
                        Column("Partner id", key="partner_id"),
                        Column("Partner"),
                        Column("Offered", numeric=True),
                        Column("Accepted", numeric=True),
                        Column("Declined", numeric=True),
                        Column("Lapsed", numeric=True),
                        Column("Awaiting answer", numeric=True, key="pending"),
                        Column("Acceptance rate", numeric=True),
                    ),
                    partner_rows,
                ),
                note="Acceptance rate is accepted offers of all offers made to the partner.",
            ),
            Figure(
                "leads-lapsing",
                f"Offers lapsing within {LAPSING_HOURS} hours",
                Table(
                    f"Offered leads whose offer lapses by {horizon:%Y-%m-%d %H:%M} unless "
                    "answered, soonest first",
                    (
                        Column("Lead"),
                        Column("Customer"),
                        Column("Partner id", key="partner_id"),
                        Column("Partner"),
                        Column("Offered at", key="offered_at"),
                        Column("Lapses at", key="expires_at"),
                        Column("Hours left", numeric=True),
                    ),
                    lapsing,
                ),
            ),
        ),
    )


# Funds.

_FUND_FIGURES: Final = (
    "allocated",
    "requested",
    "approved",
    "claimed",
    "paid",
    "available",
    "forfeited",
)


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower())


def _fund_figures(budget: FundBudget) -> dict[str, Decimal]:
    """A budget's figures as exact amounts; forfeited counts pools and unallocated money."""
    balance = budget.balance
    return {
        "allocated": balance.allocated.amount,
        "requested": balance.requested.amount,
        "approved": balance.approved.amount,
        "claimed": balance.claimed.amount,
        "paid": balance.paid.amount,
        "available": balance.available.amount,
        "forfeited": balance.forfeited.amount + budget.forfeited.amount,
    }


def _fund_records(
    context: ReportContext, budget_id: str
) -> tuple[list[FundRequest], list[FundClaim]]:
    """Every request and claim on the budget ``budget_id``."""
    uow = context.uow
    requests = every(
        lambda cursor: uow.fund_requests.query(budget_id=budget_id, limit=1000, cursor=cursor)
    )
    claims = every(
        lambda cursor: uow.fund_claims.query(budget_id=budget_id, limit=1000, cursor=cursor)
    )
    return requests, claims


def funds_section(context: ReportContext) -> Section | None:
    """Per fund budget: where its money is, and whether it reconciles with its records.

    Budgets made after the report's instant are left out. The figures are the
    budgets' balances as stored (the store keeps no history of balances), checked
    with `partnerkit.funds.reconcile` against the budget's requests and claims.
    ``None`` when the store holds no budget.
    """
    uow = context.uow
    budgets = [
        budget
        for budget in every(lambda cursor: uow.fund_budgets.query(limit=1000, cursor=cursor))
        if budget.created_at <= context.as_of
    ]
    if not budgets:
        return None
    rows: list[tuple[Cell, ...]] = []
    differences: list[tuple[Cell, ...]] = []
    figures: list[Figure] = []
    for budget in budgets:
        requests, claims = _fund_records(context, budget.id)
        found = reconcile(budget, requests, claims)
        differences += [(budget.id, budget.name, text) for text in found]
        amounts = _fund_figures(budget)
        rows.append(
            (
                budget.id,
                budget.name,
                budget.currency,
                budget.funded.amount,
                *(amounts[name] for name in _FUND_FIGURES),
                "no" if found else "yes",
            )
        )
        figures.append(
            Figure(
                f"fund-{_slug(budget.id)}",
                f"{budget.name} ({budget.period_start:%Y-%m-%d} to "
                f"{budget.period_end:%Y-%m-%d}, {budget.status.value}): where the money is",
                Table(
                    f"{budget.name} ({budget.id}): each figure of its balance in {budget.currency}",
                    (Column("Figure"), Column("Amount", numeric=True), Column("Currency")),
                    tuple((name, amounts[name], budget.currency) for name in _FUND_FIGURES),
                ),
                Chart(
                    ChartKind.BARS,
                    _FUND_FIGURES,
                    (
                        Series(
                            budget.currency,
                            tuple(amounts[name] for name in _FUND_FIGURES),
                            "#009e73",
                        ),
                    ),
                ),
                note="Allocated = requested + available; approved >= claimed >= paid.",
            )
        )
    overview = Figure(
        "fund-budgets",
        "Fund budgets",
        Table(
            "Each budget's money, in its currency, and whether its balances match its "
            "requests and claims",
            (
                Column("Budget"),
                Column("Name"),
                Column("Currency"),
                Column("Funded", numeric=True),
                *(Column(name.capitalize(), numeric=True) for name in _FUND_FIGURES),
                Column("Reconciles"),
            ),
            tuple(rows),
        ),
        note="Forfeited counts what the pools forfeited and unallocated money forfeited at close.",
    )
    mismatches = Figure(
        "fund-differences",
        "Differences found by reconciliation",
        Table(
            "Where a budget's stored balances differ from what its requests and claims add up to",
            (Column("Budget"), Column("Name"), Column("Difference")),
            tuple(differences),
        ),
    )
    reconciled = sum(1 for row in rows if row[-1] == "yes")
    return Section(
        "funds",
        "Market development funds",
        facts=(
            Fact("budgets", "Budgets", len(budgets)),
            Fact("open", "Open", sum(1 for b in budgets if b.status is BudgetStatus.OPEN)),
            Fact("reconciled", "Budgets that reconcile", f"{reconciled} of {len(budgets)}"),
        ),
        figures=(overview, *figures, mismatches),
    )


# Incentives.


def incentives_section(context: ReportContext) -> Section | None:
    """Per incentive plan: its latest period's statements by status, and each partner's total.

    The latest period is the latest one whose statements were due by the
    report's instant (period end plus the plan's calculation lag). Statuses are
    as stored: statements keep no history of their status. ``None`` when no
    statement was due by then.
    """
    as_of = context.as_of
    due = [
        statement
        for statement in every(
            lambda cursor: context.uow.statements.query(limit=1000, cursor=cursor)
        )
        if statement.due_at <= as_of
    ]
    if not due:
        return None
    names = context.names()
    latest: dict[str, datetime] = {}
    for statement in due:
        held = latest.get(statement.plan_id)
        if held is None or statement.period_start > held:
            latest[statement.plan_id] = statement.period_start
    figures: list[Figure] = []
    count = awaiting = 0
    for plan_id in sorted(latest):
        statements = [s for s in due if s.plan_id == plan_id and s.period_start == latest[plan_id]]
        first = statements[0]
        period = f"{first.period_start:%Y-%m-%d} to {first.period_end:%Y-%m-%d}"
        count += len(statements)
        awaiting += sum(1 for s in statements if s.status is StatementStatus.DRAFT)
        by_status: dict[tuple[StatementStatus, str], list[Statement]] = {}
        for statement in statements:
            by_status.setdefault((statement.status, statement.currency), []).append(statement)
        order = sorted(by_status, key=lambda key: (list(StatementStatus).index(key[0]), key[1]))
        slug = _slug(plan_id)
        figures.append(
            Figure(
                f"statements-by-status-{slug}",
                f"{plan_id}: statements of {period} by status",
                Table(
                    f"{plan_id}: statements of the period {period} by status, with their totals",
                    (
                        Column("Status"),
                        Column("Statements", numeric=True),
                        Column("Total", numeric=True),
                        Column("Currency"),
                    ),
                    tuple(
                        (
                            status.value,
                            len(by_status[status, currency]),
                            sum(
                                (s.total.amount for s in by_status[status, currency]),
                                Decimal(0),
                            ),
                            currency,
                        )
                        for status, currency in order
                    ),
                ),
                Chart(
                    ChartKind.BARS,
                    tuple(status.value for status, _ in order),
                    (
                        Series(
                            "Statements",
                            tuple(len(by_status[key]) for key in order),
                            "#d55e00",
                        ),
                    ),
                ),
            )
        )
        ranked = sorted(statements, key=lambda s: (-s.total.amount, s.partner_id))
        figures.append(
            Figure(
                f"statements-{slug}",
                f"{plan_id}: each partner's statement for {period}",
                Table(
                    f"{plan_id}: each partner's total for the period {period}, largest first",
                    (
                        Column("Partner id", key="partner_id"),
                        Column("Partner"),
                        Column("Status"),
                        Column("Total", numeric=True),
                        Column("Currency"),
                    ),
                    tuple(
                        (
                            s.partner_id,
                            names.get(s.partner_id, s.partner_id),
                            s.status.value,
                            s.total.amount,
                            s.currency,
                        )
                        for s in ranked
                    ),
                ),
                note=f"Payable from {min(s.payable_at for s in statements):%Y-%m-%d} once "
                "approved.",
            )
        )
    return Section(
        "incentives",
        "Incentive statements",
        facts=(
            Fact("plans", "Plans", len(latest)),
            Fact("statements", "Statements of the latest periods", count),
            Fact("draft", "Awaiting approval", awaiting),
        ),
        figures=tuple(figures),
    )


#: The sections of the report, in page order.
SECTIONS: Final[tuple[SectionBuilder, ...]] = (
    partners_section,
    tiers_section,
    health_section,
    deals_section,
    funnel_section,
    forecast_section,
    relationship_section,
    leads_section,
    funds_section,
    incentives_section,
)
