"""The report's relationship section: plans at risk, what slipped, lapsing certifications, NPS.

Everything is read as it stood at the report's instant: plans with the goals
agreed or drafted by then, check-ins held by then with action items done later
counted as still open, certification statuses on the report's date, and survey
answers given by then.
"""

from __future__ import annotations

from collections import Counter
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Final

import attrs

from partnerkit._base.time import Cadence
from partnerkit._pages import every
from partnerkit.errors import ValidationError
from partnerkit.partners import PartnerStatus
from partnerkit.relationship import (
    SURVEY_ANSWERED,
    CertificationStatus,
    CheckInPolicy,
    Survey,
    nps,
    nps_by,
    overdue_action_items,
    overdue_check_ins,
    plan_progress,
    survey_scores,
)
from partnerkit.report._model import Chart, ChartKind, Column, Fact, Figure, Section, Series, Table

if TYPE_CHECKING:
    from partnerkit import Activity
    from partnerkit.relationship import BusinessPlan, Certification, CheckIn, Nps
    from partnerkit.report._context import ReportContext
    from partnerkit.report._model import Cell

__all__ = ["CHECK_IN_POLICY", "relationship_section"]

#: The check-in cadence the report holds partners to: once every calendar quarter.
CHECK_IN_POLICY: Final = CheckInPolicy(Cadence("FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1"))
_LAPSING: Final = (CertificationStatus.EXPIRING, CertificationStatus.EXPIRED)
_NPS_COLORS: Final = ("#009e73", "#bdbdbd", "#d55e00")
_ALL: Final = "all answers"
_NO_TIER: Final = "no tier"
_UNMEASURED: Final = "not measured"
_ONE: Final = Decimal(1)


def _words(slug: str) -> str:
    return slug.replace("_", " ")


def _plans_then(context: ReportContext) -> list[BusinessPlan]:
    """Plans running on the report's date, with the goals they had at its instant."""
    names = context.names()
    today = context.as_of.date()
    found = []
    for plan in every(lambda cursor: context.uow.plans.query(limit=1000, cursor=cursor)):
        if plan.partner_id not in names or not plan.starts_on <= today <= plan.ends_on:
            continue
        steps = [step for step in plan.history if step.at <= context.as_of]
        if plan.history and not steps:
            continue  # drafted after the report's instant
        found.append(attrs.evolve(plan, goals=steps[-1].goals) if steps else plan)
    return found


def _plan_rows(context: ReportContext, plans: list[BusinessPlan]) -> list[tuple[Cell, ...]]:
    names = context.names()
    rows: list[tuple[Cell, ...]] = []
    for plan in plans:
        start, end = plan.period_bounds()
        ledger = context.uow.activities.for_partner(
            plan.partner_id, since=start, until=min(end, context.as_of)
        )
        try:
            progress = plan_progress(plan, ledger, as_of=context.as_of, rates=context.rates)
        except ValidationError as error:
            # Money goals over activity in other currencies need rates to be measured.
            rows.append(
                (plan.partner_id, names[plan.partner_id], plan.title, "", _UNMEASURED, None, None,
                 str(error))
            )  # fmt: skip
            continue
        rows += [
            (
                plan.partner_id,
                names[plan.partner_id],
                plan.title,
                item.goal.id,
                _words(item.status.value),
                _percent(item.progress),
                _percent(item.expected),
                item.gap,
            )
            for item in progress.at_risk
        ]
    rows.sort(key=lambda row: (str(row[1]), str(row[2]), str(row[3])))
    return rows


def _percent(share: Decimal) -> Decimal:
    return (share * 100).quantize(_ONE, rounding=ROUND_HALF_UP)


def _check_ins_then(context: ReportContext) -> list[CheckIn]:
    """Check-ins held by the report's instant, items done after it open again."""
    names = context.names()
    today = context.as_of.date()
    found = []
    for check_in in every(
        lambda cursor: context.uow.check_ins.query(
            held_before=context.as_of, limit=1000, cursor=cursor
        )
    ):
        if check_in.partner_id not in names:
            continue
        items = tuple(
            attrs.evolve(item, done_on=None)
            if item.done_on is not None and item.done_on > today
            else item
            for item in check_in.action_items
        )
        found.append(attrs.evolve(check_in, action_items=items))
    return found


def _tier_names(context: ReportContext, partner_ids: set[str]) -> dict[str, str]:
    """Partner id to the name of its tier (as `ReportContext.tiers` picks it)."""
    names: dict[str, str] = {}
    for stored in context.programs():
        for tier in stored.program.tiers:
            names.setdefault(tier.id, tier.name)
    return {
        partner_id: names.get(tier_id, tier_id)
        for partner_id, tier_id in context.tiers(partner_ids).items()
    }


def _overdue_figures(
    context: ReportContext, check_ins: list[CheckIn], policy: CheckInPolicy
) -> tuple[Figure, Figure]:
    names = context.names()
    started = {
        partner.id: partner.created_at
        for partner in context.partners()
        if context.partner_status(partner) is PartnerStatus.ACTIVE
    }
    late = overdue_check_ins(
        policy, started, check_ins, as_of=context.as_of, tiers=context.tiers(started)
    )
    meetings = Figure(
        "check-ins-overdue",
        "Check-ins overdue",
        Table(
            "Active partners whose next check-in is past due, most overdue first",
            (
                Column("Partner id", key="partner_id"),
                Column("Partner"),
                Column("Last held", key="last_held"),
                Column("Due"),
                Column("Days overdue", numeric=True),
            ),
            tuple(
                (
                    row.partner_id,
                    names[row.partner_id],
                    row.last_held_at.date() if row.last_held_at else None,
                    row.due_at.date() if row.due_at else None,
                    row.overdue_days,
                )
                for row in late
            ),
        ),
        note="Active partners are due a check-in every calendar quarter (by default) from "
        "when they were created or last met.",
    )
    slipped = overdue_action_items(check_ins, on=context.as_of.date())
    actions = Figure(
        "action-items-overdue",
        "Action items overdue",
        Table(
            "Open action items agreed at check-ins and past their due date, most overdue first",
            (
                Column("Partner id", key="partner_id"),
                Column("Partner"),
                Column("Action"),
                Column("Owner"),
                Column("Side"),
                Column("Due"),
                Column("Days overdue", numeric=True),
            ),
            tuple(
                (
                    row.partner_id,
                    names[row.partner_id],
                    row.item.title,
                    row.item.owner,
                    row.item.side.value,
                    row.item.due_on,
                    row.overdue_days,
                )
                for row in slipped
            ),
        ),
    )
    return meetings, actions


def _certifications_then(context: ReportContext) -> list[Certification]:
    names = context.names()
    today = context.as_of.date()
    return [
        cert
        for cert in every(
            lambda cursor: context.uow.certifications.query(limit=1000, cursor=cursor)
        )
        if cert.partner_id in names and cert.started_on <= today
    ]


def _certification_figure(context: ReportContext, certifications: list[Certification]) -> Figure:
    names = context.names()
    today = context.as_of.date()
    rows = []
    for cert in certifications:
        status = cert.status_on(today)
        term = cert.term_on(today)
        if status in _LAPSING and term is not None:
            rows.append(
                (
                    cert.partner_id,
                    names[cert.partner_id],
                    cert.person,
                    _words(cert.name),
                    status.value,
                    term.expires_on,
                    (term.expires_on - today).days,
                )
            )
    rows.sort(key=lambda row: (row[5], str(row[0]), str(row[2])))
    return Figure(
        "certifications-lapsing",
        "Certifications expiring or expired",
        Table(
            "People whose certification is in its renewal window or expired without renewal, "
            "by expiry",
            (
                Column("Partner id", key="partner_id"),
                Column("Partner"),
                Column("Person"),
                Column("Certification"),
                Column("Status"),
                Column("Expires on", key="expires_on"),
                Column("Days left", numeric=True),
            ),
            tuple(rows),
        ),
        note="Days left is negative once a certification has expired.",
    )


def _answers(context: ReportContext) -> list[Activity]:
    names = context.names()
    found = every(
        lambda cursor: context.uow.activities.query(
            kinds=(SURVEY_ANSWERED,), until=context.as_of, limit=1000, cursor=cursor
        )
    )
    return [answer for answer in found if answer.partner_id in names]


def _nps_figure(overall: Nps, groups: dict[str, Nps]) -> Figure:
    shown = [(_ALL, overall), *groups.items()]
    return Figure(
        "nps",
        "Net Promoter Score",
        Table(
            "NPS of the partners' answers, overall and per tier, with the 95% interval",
            (
                Column("Group"),
                Column("Answers", numeric=True),
                Column("Promoters", numeric=True),
                Column("Passives", numeric=True),
                Column("Detractors", numeric=True),
                Column("NPS", numeric=True, key="nps"),
                Column("Low", numeric=True),
                Column("High", numeric=True),
            ),
            tuple(
                (
                    name,
                    result.responses,
                    result.promoters,
                    result.passives,
                    result.detractors,
                    result.score,
                    result.low,
                    result.high,
                )
                for name, result in shown
            ),
        ),
        Chart(
            ChartKind.STACKED,
            tuple(name for name, _ in shown),
            (
                Series("Promoters", tuple(r.promoters for _, r in shown), _NPS_COLORS[0]),
                Series("Passives", tuple(r.passives for _, r in shown), _NPS_COLORS[1]),
                Series("Detractors", tuple(r.detractors for _, r in shown), _NPS_COLORS[2]),
            ),
        ),
        note="NPS is promoters (9-10) less detractors (0-6) as a share of the answers; "
        "low to high is its 95% interval, wide when answers are few.",
    )


def relationship_section(
    context: ReportContext, *, policy: CheckInPolicy = CHECK_IN_POLICY
) -> Section | None:
    """Plans with goals at risk, overdue check-ins and action items, lapsing certifications, NPS.

    Args:
        context: The store as of the report's instant.
        policy: The check-in cadence partners are held to (default: quarterly);
            pass another with ``functools.partial``.

    Returns:
        The section, or ``None`` when the store holds no plan, check-in,
        certification or survey answer of a partner by the report's instant.
    """
    plans = _plans_then(context)
    check_ins = _check_ins_then(context)
    certifications = _certifications_then(context)
    answers = _answers(context)
    if not (plans or check_ins or certifications or answers):
        return None
    today = context.as_of.date()
    at_risk = _plan_rows(context, plans)
    figures: list[Figure] = [
        Figure(
            "plans-at-risk",
            "Plan goals at risk",
            Table(
                "Goals of running joint business plans that lag the share of the period gone by",
                (
                    Column("Partner id", key="partner_id"),
                    Column("Partner"),
                    Column("Plan"),
                    Column("Goal"),
                    Column("Status"),
                    Column("Done (%)", numeric=True, key="done"),
                    Column("Expected by now (%)", numeric=True, key="expected"),
                    Column("Gap"),
                ),
                tuple(at_risk),
            ),
            note=f"Plans running on {today:%Y-%m-%d}: {len(plans)}. A goal is at risk when its "
            "progress lags the share of the plan's period gone by.",
        ),
    ]
    meetings, actions = _overdue_figures(context, check_ins, policy)
    figures += [meetings, actions]
    statuses = Counter(cert.status_on(today) for cert in certifications)
    lapsing = _certification_figure(context, certifications)
    figures.append(lapsing)
    facts = [
        Fact("plans", "Plans running", len(plans)),
        Fact("goals_at_risk", "Plan goals at risk", len(at_risk)),
        Fact("check_ins_overdue", "Check-ins overdue", len(meetings.table.rows)),
        Fact("actions_overdue", "Action items overdue", len(actions.table.rows)),
        Fact("expiring", "Certifications expiring", statuses[CertificationStatus.EXPIRING]),
        Fact("expired", "Certifications expired", statuses[CertificationStatus.EXPIRED]),
    ]
    overall = nps(survey_scores(answers, Survey.NPS))
    if overall.score is not None:
        tiers = _tier_names(context, {answer.partner_id for answer in answers})
        groups = nps_by(answers, lambda answer: tiers.get(answer.partner_id, _NO_TIER))
        figures.append(_nps_figure(overall, groups))
        facts.append(Fact("nps", "NPS", f"{overall.score:+} ({overall.low} to {overall.high})"))
    return Section("relationship", "Relationship", facts=tuple(facts), figures=tuple(figures))
