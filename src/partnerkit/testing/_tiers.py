"""Hypothesis strategies for partner programs, tiers, memberships and tier decisions.

Programs are drawn from a fixed pool of metrics (money revenue, won deals,
certified people, days since the last login, a plain-number survey score, the
built-in membership months and an exact-match agreement flag), each read with one
comparison per program and thresholds that never loosen from rank to rank, so every
drawn program is valid and its ladder is strict.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from hypothesis import strategies as st

from partnerkit._base.money import Money
from partnerkit._base.time import Cadence, Period
from partnerkit.metrics import Aggregate, MetricDefinition, MetricSnapshot, Window
from partnerkit.tiers import (
    Benefits,
    Comparison,
    DowngradeProposal,
    ForwardWarning,
    Membership,
    MembershipStatus,
    Movement,
    Pin,
    Program,
    Requirement,
    ReviewRun,
    Tier,
    TierAssignment,
    TierChangeCause,
    TierCount,
    TierDecision,
    TierEvidence,
    TierPolicy,
    WhatIf,
    WhatIfMove,
    all_of,
    any_of,
    evaluate,
    review,
)

__all__ = [
    "TIER_METRICS",
    "benefits",
    "downgrade_proposals",
    "forward_warning_records",
    "improvable_metrics",
    "memberships",
    "pins",
    "populations",
    "programs",
    "review_runs",
    "tier_assignments",
    "tier_decisions",
    "tier_evidence",
    "tier_policies",
    "tier_snapshots",
    "what_if_reports",
]

#: The instant the drawn snapshots and decisions are as of.
AS_OF: Final = datetime(2026, 10, 1, tzinfo=UTC)
_CURRENCIES: Final = ("USD", "EUR", "JPY", "SEK", "KWD")
_TIER_NAMES: Final = ("Registered", "Silver", "Gold", "Platinum", "Diamond", "Titanium")

# metric name -> (comparisons it may be read with, whether higher is better)
_POOL: Final[dict[str, tuple[tuple[Comparison, ...], bool | None]]] = {
    "revenue_12m": ((Comparison.AT_LEAST, Comparison.MORE_THAN), True),
    "deals_won_12m": ((Comparison.AT_LEAST, Comparison.MORE_THAN), True),
    "certified_people": ((Comparison.AT_LEAST,), True),
    "days_since_login": ((Comparison.AT_MOST, Comparison.LESS_THAN), False),
    "survey_score": ((Comparison.AT_LEAST,), True),
    "membership_months": ((Comparison.AT_LEAST,), True),
    "agreement_signed": ((Comparison.EQUAL,), None),
}

#: The metric names drawn programs read, and whether a higher value is better
#: (``None``: compared with ``==`` only).
TIER_METRICS: Final = {name: better for name, (_, better) in _POOL.items()}


def _definition(name: str, currency: str) -> MetricDefinition | None:
    if name == "revenue_12m":
        return MetricDefinition(
            name,
            Aggregate.SUM,
            kinds=("revenue_booked",),
            window=Window.trailing("P12M"),
            currency=currency,
        )
    if name == "deals_won_12m":
        return MetricDefinition(
            name, Aggregate.COUNT, kinds=("deal_won",), window=Window.trailing("P12M")
        )
    if name == "certified_people":
        return MetricDefinition(
            name, Aggregate.UNEXPIRED_COUNT, kinds=("certification_earned",), attribute="person"
        )
    if name == "days_since_login":
        return MetricDefinition(name, Aggregate.DAYS_SINCE_LAST, kinds=("portal_login",))
    if name == "survey_score":
        return MetricDefinition(name, Aggregate.LATEST, kinds=("survey",))
    if name == "agreement_signed":
        return MetricDefinition(name, Aggregate.COUNT, kinds=("agreement_signed",))
    return None  # a built-in


@functools.cache
def _definitions(currency: str) -> tuple[MetricDefinition, ...]:
    # Built once per currency: programs are drawn by the hundred.
    return tuple(
        definition for name in _POOL if (definition := _definition(name, currency)) is not None
    )


@functools.cache
def _cadences() -> tuple[Cadence, ...]:
    return (
        Cadence("FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1"),
        Cadence("FREQ=MONTHLY;BYMONTHDAY=1"),
        Cadence("FREQ=YEARLY;BYMONTH=1;BYMONTHDAY=1"),
    )


def _threshold_values(name: str, currency: str) -> st.SearchStrategy[Any]:
    if name == "revenue_12m":
        return st.integers(0, 2_000_000).map(lambda amount: Money(amount, currency))
    if name == "survey_score":
        return st.decimals(-100, 100, places=1, allow_nan=False, allow_infinity=False)
    if name == "agreement_signed":
        return st.just(Decimal(1))
    upper = {"deals_won_12m": 40, "certified_people": 10, "days_since_login": 120}
    return st.integers(0, upper.get(name, 60)).map(Decimal)


def tier_policies() -> st.SearchStrategy[TierPolicy]:
    """Every policy combination (downgrades after 2 to 4 failing reviews)."""
    return st.builds(
        TierPolicy,
        skip_levels=st.booleans(),
        downgrade_after=st.integers(2, 4),
        auto_approve_downgrades=st.booleans(),
        strict_ladder=st.just(True),
    )


_CUSTOM: Final = st.dictionaries(
    st.from_regex(r"[a-z][a-z_]{0,10}", fullmatch=True),
    st.none() | st.booleans() | st.integers(-1000, 1000) | st.text(max_size=10),
    max_size=3,
)
_PROTECTION: Final = (
    st.none() | st.integers(0, 365).map(Period.of_days) | st.integers(1, 12).map(Period.of_months)
)
_PERCENT: Final = st.decimals(0, 100, places=1, allow_nan=False, allow_infinity=False)


@st.composite
def benefits(draw: st.DrawFn, currency: str = "USD") -> Benefits:
    """Benefits with every field in use, MDF caps in ``currency``.

    Args:
        draw: Supplied by hypothesis; leave it out when calling.
        currency: The currency of MDF caps.
    """
    eligible = draw(st.booleans())
    cap = None
    if eligible and draw(st.booleans()):
        cap = Money(draw(st.integers(0, 500_000)), currency)
    return Benefits(
        discount_percent=draw(_PERCENT),
        mdf_eligible=eligible,
        mdf_cap=cap,
        lead_weight=draw(st.integers(0, 10)),
        deal_protection=draw(_PROTECTION),
        custom=draw(_CUSTOM),
    )


@st.composite
def programs(
    draw: st.DrawFn,
    *,
    currency: str | None = None,
    min_tiers: int = 1,
    max_tiers: int = 4,
    allow_equal: bool = True,
    allow_groups: bool = True,
    policy: TierPolicy | None = None,
) -> Program:
    """Valid programs: 1 to 4 tiers over the metric pool, ladders never loosening.

    Args:
        draw: Supplied by hypothesis; leave it out when calling.
        currency: Fix the program currency (drawn otherwise).
        min_tiers: The fewest tiers.
        max_tiers: The most tiers.
        allow_equal: Whether ``==`` criteria (the agreement flag) may appear.
        allow_groups: Whether any-of groups may appear.
        policy: Fix the policy (drawn otherwise).
    """
    code = currency if currency is not None else draw(st.sampled_from(_CURRENCIES))
    count = draw(st.integers(min_tiers, max_tiers))
    names = [name for name in _POOL if allow_equal or name != "agreement_signed"]
    chosen = draw(st.lists(st.sampled_from(names), min_size=1, max_size=5, unique=True))
    ladders: dict[str, tuple[Comparison, list[Any]]] = {}
    for name in chosen:
        comparisons, better = _POOL[name]
        comparison = draw(st.sampled_from(comparisons))
        values = draw(st.lists(_threshold_values(name, code), min_size=count, max_size=count))
        ladders[name] = (comparison, sorted(values, reverse=better is False))
    tiers = []
    for index in range(count):
        picked = draw(st.lists(st.sampled_from(chosen), max_size=len(chosen), unique=True))
        criteria = [Requirement(name, ladders[name][0], ladders[name][1][index]) for name in picked]
        if allow_groups and len(criteria) >= 3 and draw(st.booleans()):
            criteria = [*criteria[:-2], any_of(criteria[-2], criteria[-1])]
        if len(criteria) == 1 and draw(st.booleans()):
            requirements = criteria[0]
        else:
            requirements = all_of(*criteria)
        tiers.append(
            Tier(
                _TIER_NAMES[index].lower(),
                _TIER_NAMES[index],
                index + 1,
                requirements,
                draw(benefits(code)),
            )
        )
    definitions = tuple(
        definition for name in _POOL if (definition := _definition(name, code)) is not None
    )
    labels = draw(
        st.sampled_from(
            [
                {},
                {"revenue_12m": "revenue", "certified_people": "certified person|certified people"},
            ]
        )
    )
    shuffled = draw(st.permutations(tiers))
    return Program(
        id=draw(st.sampled_from(["prg_channel", "prg_msp", "01JD8X3Q4T8W9C2VQK7N5R1M0A"])),
        name=draw(st.sampled_from(["Channel Partner Program", "MSP Program", "Partnerprogramm"])),
        currency=code,
        tiers=tuple(shuffled),
        metrics=definitions,
        review=draw(st.sampled_from(_cadences())),
        policy=policy if policy is not None else draw(tier_policies()),
        labels=labels,
    )


def _metric_value(name: str, currency: str) -> st.SearchStrategy[Any]:
    if name == "revenue_12m":
        return st.none() | st.integers(0, 3_000_000).map(lambda amount: Money(amount, currency))
    if name == "survey_score":
        return st.none() | st.decimals(-100, 100, places=1, allow_nan=False, allow_infinity=False)
    if name == "days_since_login":
        return st.none() | st.integers(0, 400)
    if name == "agreement_signed":
        return st.integers(0, 2)
    return st.integers(0, 60)


def tier_snapshots(
    program: Program, partner_id: str = "ptn_1", as_of: datetime = AS_OF
) -> st.SearchStrategy[MetricSnapshot]:
    """Snapshots with a value (or no data) for every metric ``program`` defines."""
    values = st.fixed_dictionaries(
        {
            definition.name: _metric_value(definition.name, program.currency)
            for definition in program.metrics
        }
    )
    return values.map(lambda drawn: MetricSnapshot(partner_id, as_of, drawn))


def improvable_metrics(program: Program) -> list[str]:
    """The metrics of ``program`` that have a better direction (no ``==`` reads)."""
    return [
        definition.name
        for definition in program.metrics
        if TIER_METRICS.get(definition.name) is not None
    ]


def pins(tier_id: str, at: datetime = AS_OF) -> st.SearchStrategy[Pin]:
    """Pins on ``tier_id`` set before ``at``, lapsing before or after it."""
    return st.builds(
        Pin,
        tier_id=st.just(tier_id),
        until=st.dates(date(2026, 1, 1), date(2027, 12, 31)),
        reason=st.sampled_from(["strategic account", "merger in progress", "new region launch"]),
        by=st.sampled_from(["usr_manager", "usr_admin"]),
        at=st.just(at - timedelta(days=120)),
    )


def downgrade_proposals(
    from_tier_id: str, to_tier_id: str | None, failing: int = 2
) -> st.SearchStrategy[DowngradeProposal]:
    """Pending proposals from ``from_tier_id`` to ``to_tier_id``."""
    return st.builds(
        DowngradeProposal,
        from_tier_id=st.just(from_tier_id),
        to_tier_id=st.just(to_tier_id),
        proposed_at=st.just(datetime(2026, 7, 1, tzinfo=UTC)),
        failing_reviews=st.just(failing),
    )


@st.composite
def memberships(
    draw: st.DrawFn,
    program: Program,
    partner_id: str = "ptn_1",
    *,
    as_of: datetime = AS_OF,
    allow_pins: bool = True,
) -> Membership:
    """Memberships of ``program`` in every standing it allows, reviewed before ``as_of``.

    Args:
        draw: Supplied by hypothesis; leave it out when calling.
        program: The program.
        partner_id: The member.
        as_of: Reviews and pins are before this instant.
        allow_pins: Whether pinned memberships are drawn.
    """
    tier = draw(st.none() | st.sampled_from(program.tiers))
    tier_id = None if tier is None else tier.id
    failing = 0
    proposal = None
    pin = None
    if tier is not None:
        failing = draw(st.integers(0, program.policy.downgrade_after))
        if failing >= program.policy.downgrade_after:
            below = program.tiers[tier.rank - 2].id if tier.rank > 1 else None
            proposal = draw(downgrade_proposals(tier.id, below, failing))
        elif allow_pins and draw(st.integers(0, 4)) == 0:
            pin = draw(pins(tier.id, as_of))
    last = draw(st.none() | st.just(as_of - timedelta(days=92)))
    if last is None and (failing or proposal is not None):
        last = as_of - timedelta(days=92)
    return Membership(
        partner_id=partner_id,
        program_id=program.id,
        joined_on=draw(st.dates(date(2019, 1, 1), as_of.date() - timedelta(days=1))),
        status=MembershipStatus.ACTIVE,
        tier_id=tier_id,
        tier_since=None if tier is None else as_of - timedelta(days=400),
        failing_reviews=failing,
        last_review_at=last,
        proposal=proposal,
        pin=pin,
        version=draw(st.integers(0, 50)),
    )


@st.composite
def populations(
    draw: st.DrawFn, program: Program, *, max_size: int = 8, as_of: datetime = AS_OF
) -> tuple[list[Membership], dict[str, MetricSnapshot]]:
    """A few members of ``program`` with a snapshot each.

    Args:
        draw: Supplied by hypothesis; leave it out when calling.
        program: The program.
        max_size: The most members.
        as_of: The snapshots' instant.
    """
    size = draw(st.integers(0, max_size))
    members = [draw(memberships(program, f"ptn_{index}", as_of=as_of)) for index in range(size)]
    snapshots = {
        member.partner_id: draw(tier_snapshots(program, member.partner_id, as_of))
        for member in members
    }
    return members, snapshots


@st.composite
def tier_decisions(draw: st.DrawFn, *, evidence: bool = True) -> TierDecision:
    """Decisions `evaluate` makes for drawn programs, memberships and snapshots.

    Args:
        draw: Supplied by hypothesis; leave it out when calling.
        evidence: Whether the decisions carry evidence.
    """
    program = draw(programs())
    membership = draw(memberships(program))
    snapshot = draw(tier_snapshots(program))
    return evaluate(program, membership, snapshot, as_of=AS_OF, evidence=evidence)


@st.composite
def tier_evidence(draw: st.DrawFn) -> TierEvidence:
    """Evidence for a tier, as decisions carry it.

    Args:
        draw: Supplied by hypothesis; leave it out when calling.
    """
    decision = draw(
        tier_decisions().filter(
            lambda decision: (
                decision.next_evidence is not None or decision.tier_evidence is not None
            )
        )
    )
    evidence = decision.next_evidence or decision.tier_evidence
    assert evidence is not None  # noqa: S101 - filtered above
    return evidence


@st.composite
def review_runs(draw: st.DrawFn) -> ReviewRun:
    """Reviews of small drawn populations, with their events and histories.

    Args:
        draw: Supplied by hypothesis; leave it out when calling.
    """
    program = draw(programs())
    members, snapshots = draw(populations(program, max_size=5))
    return review(program, members, snapshots, as_of=AS_OF)


@st.composite
def what_if_reports(draw: st.DrawFn) -> WhatIf:
    """What-if reports with moves in every direction and counts per tier.

    Args:
        draw: Supplied by hypothesis; leave it out when calling.
    """
    tier_ids = st.none() | st.sampled_from(["registered", "silver", "gold"])
    moves = draw(
        st.lists(
            st.builds(
                WhatIfMove,
                partner_id=st.from_regex(r"ptn_[0-9]{1,4}", fullmatch=True),
                held_tier_id=tier_ids,
                before_tier_id=tier_ids,
                after_tier_id=tier_ids,
                movement=st.sampled_from(Movement),
            ),
            max_size=4,
        )
    )
    counts = draw(
        st.lists(
            st.builds(
                TierCount,
                tier_id=tier_ids,
                name=st.sampled_from(["Silver", "Gold", "no tier"]),
                held=st.integers(0, 1000),
                before=st.integers(0, 1000),
                after=st.integers(0, 1000),
            ),
            max_size=4,
        )
    )
    return WhatIf("prg_channel", AS_OF, tuple(moves), tuple(counts), draw(st.integers(0, 10**6)))


# Hypothesis takes naive bounds and attaches the zone itself.
_STARTS: Final = st.datetimes(
    datetime(2020, 1, 1),  # noqa: DTZ001
    datetime(2030, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)


@st.composite
def tier_assignments(draw: st.DrawFn) -> TierAssignment:
    """History entries, open and closed, of every cause.

    Args:
        draw: Supplied by hypothesis; leave it out when calling.
    """
    start = draw(_STARTS)
    length = draw(st.none() | st.integers(0, 2000))
    return TierAssignment(
        partner_id=draw(st.sampled_from(["ptn_1", "ptn_2"])),
        program_id=draw(st.sampled_from(["prg_channel", "prg_msp"])),
        tier_id=draw(st.sampled_from(["registered", "silver", "gold"])),
        valid_from=start,
        valid_until=None if length is None else start + timedelta(days=length),
        cause=draw(st.sampled_from(TierChangeCause)),
        actor=draw(st.none() | st.just("usr_manager")),
    )


def forward_warning_records() -> st.SearchStrategy[ForwardWarning]:
    """Forward warnings with money and count values."""
    return st.builds(
        ForwardWarning,
        partner_id=st.just("ptn_1"),
        program_id=st.just("prg_channel"),
        tier_id=st.sampled_from(["silver", "gold"]),
        on=st.dates(date(2026, 1, 1), date(2028, 1, 1)),
        path=st.sampled_from(["requirements", "requirements.all_of[1]"]),
        metric=st.sampled_from(["certified_people", "revenue_12m"]),
        comparison=st.sampled_from(Comparison),
        threshold=st.one_of(
            st.integers(0, 10).map(Decimal), st.integers(0, 10**6).map(lambda a: Money(a, "USD"))
        ),
        actual_now=st.none() | st.integers(0, 10) | st.just(Money("1000.50", "USD")),
        actual_then=st.none() | st.integers(0, 10),
        causes=st.lists(st.from_regex(r"act_[0-9]{1,3}", fullmatch=True), max_size=3).map(tuple),
        message=st.text(max_size=40),
    )
