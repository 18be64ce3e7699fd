"""Invariants of incentive statements, over generated plans and ledgers."""

from __future__ import annotations

import decimal
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import attrs
from hypothesis import given
from hypothesis import strategies as st

from partnerkit import Money
from partnerkit.incentives import (
    Band,
    BandMode,
    Basis,
    Plan,
    RewardKind,
    Rule,
    Statement,
    StatementPeriod,
    compute_statement,
    replay,
    run_statements,
    split_money,
)
from partnerkit.incentives._statement import _allocate, _parse_split, _split_amount
from partnerkit.ledger import Activity
from partnerkit.serialization import from_json, to_json
from partnerkit.testing import strategies as pks

PARTNERS = ("ptn_1", "ptn_2", "ptn_3")
JANUARY = StatementPeriod(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC))
FEBRUARY = StatementPeriod(datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC))


@given(pks.incentive_statements())
def test_statement_total_is_the_sum_of_its_lines(statement: Statement) -> None:
    assert statement.total == Money.sum((line.amount for line in statement.lines), currency="USD")


@given(
    st.sampled_from([RewardKind.PERCENTAGE, RewardKind.FLAT]),
    st.data(),
    pks.incentive_activities(reversals=False),
    pks.statement_periods(),
)
def test_marginal_never_pays_more_than_retroactive(
    reward: RewardKind,
    data: st.DataObject,
    activities: list[Activity],
    period: StatementPeriod,
) -> None:
    counting = [Basis.DEALS_WON, Basis.UNITS]
    basis = data.draw(st.sampled_from(counting if reward is RewardKind.FLAT else list(Basis)))
    bands = data.draw(pks.incentive_bands(counts=basis.counts, reward=reward))
    marginal = Rule("rule", basis, reward, bands, mode=BandMode.MARGINAL)
    retroactive = attrs.evolve(marginal, mode=BandMode.RETROACTIVE)
    paid = [
        compute_statement(Plan("p", 1, "P", "USD", (rule,)), "ptn_1", period, activities).total
        for rule in (marginal, retroactive)
    ]
    assert paid[0] <= paid[1]


def _split(weights: list[int]) -> str:
    return ";".join(f"{partner}:{w}" for partner, w in zip(PARTNERS, weights, strict=True))


@given(
    st.lists(
        st.tuples(
            st.decimals(0, 100_000, places=2, allow_nan=False),
            st.lists(st.integers(0, 7), min_size=3, max_size=3).filter(any),
        ),
        max_size=10,
    )
)
def test_splits_preserve_every_cent(sales: list[tuple[Decimal, list[int]]]) -> None:
    activities = [
        Activity(
            f"a{index}",
            "ptn_1",
            "revenue_booked",
            JANUARY.start,
            Money(amount, "USD"),
            attributes={"split": _split(weights)},
        )
        for index, (amount, weights) in enumerate(sales)
    ]
    # At 100% every partner's statement is exactly the money credited to it.
    bands = (Band(Decimal(0), Decimal(100)),)
    rule = Rule("all", Basis.REVENUE_BOOKED, RewardKind.PERCENTAGE, bands)
    statements = run_statements(Plan("p", 1, "P", "USD", (rule,)), JANUARY, activities)
    paid = Money.sum((statement.total for statement in statements), currency="USD")
    assert paid == Money.sum((Money(amount, "USD") for amount, _ in sales), currency="USD")


@given(
    pks.money("USD", allow_negative=False),
    st.lists(st.integers(0, 9), min_size=1, max_size=6).filter(any),
)
def test_split_money_adds_up_to_the_amount(amount: Money, weights: list[int]) -> None:
    whole = amount.rounded()
    shares = {f"ptn_{index}": weight for index, weight in enumerate(weights)}
    assert sum(split_money(whole, shares).values(), Money.zero("USD")) == whole


@given(
    pks.incentive_plans(),
    pks.incentive_activities(partners=PARTNERS),
    pks.statement_periods(),
    st.sampled_from([None, "gold"]),
)
def test_replay_gives_the_same_statement_to_the_cent(
    plan: Plan, activities: list[Activity], period: StatementPeriod, tier: str | None
) -> None:
    tiers = {"ptn_1": tier} if tier else None
    for statement in run_statements(plan, period, activities, tiers=tiers):
        assert replay(statement, plan, activities) == statement


@given(pks.incentive_plans())
def test_plans_round_trip_through_json(plan: Plan) -> None:
    assert from_json(Plan, to_json(plan)) == plan


@given(pks.incentive_statements())
def test_statements_round_trip_through_json(statement: Statement) -> None:
    assert from_json(Statement, to_json(statement)) == statement


@given(
    st.integers(-(10**15), 10**15),
    st.lists(
        st.decimals(0, 1000, places=3, allow_nan=False, allow_infinity=False),
        min_size=1,
        max_size=6,
    ).filter(any),
)
def test_statement_splits_give_the_parts_money_allocate_gives(
    cents: int, weights: list[Decimal]
) -> None:
    # Statements split activities without building a Money per part; the parts,
    # ties and remainders included, must be those of Money.allocate.
    expected = [part.amount for part in Money.from_minor_units(cents, "USD").allocate(weights)]
    found = _split_amount(Decimal(cents).scaleb(-2), "USD", weights)
    assert found is not None
    assert [str(part) for part in found] == [str(part) for part in expected]
    assert _allocate(cents, weights) == [
        part.minor_units for part in Money.from_minor_units(cents, "JPY").allocate(weights)
    ]


def test_statement_splits_refuse_what_money_allocate_refuses() -> None:
    assert _split_amount(Decimal("10.005"), "USD", [Decimal(1), Decimal(1)]) is None
    assert _split_amount(Decimal("10.00"), "USD", [Decimal(1), Decimal(2)]) == [
        Decimal("3.33"),
        Decimal("6.67"),
    ]


@given(
    pks.incentive_plans(),
    pks.incentive_activities(partners=PARTNERS),
    pks.statement_periods(),
    st.dictionaries(st.sampled_from(PARTNERS), st.sampled_from(["gold", "silver"])),
)
def test_a_population_run_equals_each_partner_computed_from_the_whole_ledger(
    plan: Plan, activities: list[Activity], period: StatementPeriod, tiers: dict[str, str]
) -> None:
    run = run_statements(plan, period, activities, tiers=tiers, partners=PARTNERS)
    alone = [
        compute_statement(plan, partner, period, activities, tier=tiers.get(partner))
        for partner in PARTNERS
    ]
    assert run == alone


_NAMES = ("ptn_1", "ptn_2", "ptn_3", "ptn_4", " ptn_5 ")


@st.composite
def _split_texts(draw: st.DrawFn) -> object:
    """Split attributes as hosts write them: spaces, commas, stray colons, mistakes."""
    if draw(st.integers(0, 9)) == 0:
        return draw(
            st.sampled_from(
                [3, True, None, "nobody", "ptn_1:x", "ptn_2:0;ptn_3:0", "ptn_4:1;:1", "ptn_1:1:2"]
            )
        )
    parts = draw(
        st.lists(st.tuples(st.sampled_from(_NAMES), st.sampled_from(["1", " 2 ", "0"])), max_size=3)
    )
    separator = draw(st.sampled_from([";", ",", " ; "]))
    return separator.join(f"{name}:{ratio}" for name, ratio in parts) + ";ptn_1:1"


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["ptn_1", "ptn_2", "ptn_3"]),
            st.integers(0, 150).map(lambda day: max(day, 110)),
            st.one_of(st.none(), _split_texts()),
        ),
        max_size=12,
    ),
    st.lists(st.integers(0, 11), max_size=2),
)
def test_partners_named_only_in_splits_are_found_and_read_as_alone(
    sales: list[tuple[str, int, object]], reversed_: list[int]
) -> None:
    # Splits far before the period name partners too; a partner with a reversal is
    # computed apart and needs every split naming it, however it is written.
    first = datetime(2025, 9, 1, tzinfo=UTC)
    activities = [
        Activity(
            f"a{index}",
            partner,
            "revenue_booked",
            first + timedelta(days=day),
            Money(100 + index, "USD"),
            attributes={} if split is None else {"split": split},  # type: ignore[dict-item]
        )
        for index, (partner, day, split) in enumerate(sales)
    ]
    activities += [
        Activity(
            f"r{index}",
            activities[target].partner_id,
            "reversal",
            JANUARY.start + timedelta(days=2),
            attributes={"reverses": activities[target].id},
        )
        for index, target in enumerate(reversed_)
        if target < len(activities)
    ]
    rule = Rule(
        "all", Basis.REVENUE_BOOKED, RewardKind.PERCENTAGE, (Band(Decimal(0), Decimal(10)),)
    )
    plan = Plan("p", 1, "P", "USD", (rule,))
    named = set()
    for activity in activities:
        named.add(activity.partner_id)
        shares = _parse_split(activity.attributes.get("split"), activity.id)
        if "split" in activity.attributes and not isinstance(shares, str):
            named.update(name for name, _ in shares)
    run = run_statements(plan, JANUARY, activities)
    assert [statement.partner_id for statement in run] == sorted(named)
    assert run == [
        compute_statement(plan, statement.partner_id, JANUARY, activities) for statement in run
    ]


@given(
    pks.incentive_plans(),
    pks.incentive_activities(partners=PARTNERS, reversals=False),
    st.data(),
    st.sampled_from([None, "gold"]),
)
def test_a_clawback_is_what_the_reversed_period_pays_less_without_the_activity(
    plan: Plan, activities: list[Activity], data: st.DataObject, tier: str | None
) -> None:
    january = [
        activity
        for activity in activities
        if activity.occurred_at < FEBRUARY.start and "recorded_at" not in activity.attributes
    ]
    target = data.draw(st.sampled_from(january)) if january else None
    if target is None:
        return
    # ptn_1's own reversal: another partner's reversal is not among its activities.
    reversal = Activity(
        "rev_1",
        "ptn_1",
        "reversal",
        FEBRUARY.start + timedelta(days=3),
        attributes={"reverses": target.id},
    )
    others = [activity for activity in january if activity is not target]
    paid = compute_statement(plan, "ptn_1", JANUARY, january, tier=tier)
    without = compute_statement(plan, "ptn_1", JANUARY, others, tier=tier)
    february = compute_statement(plan, "ptn_1", FEBRUARY, [*january, reversal], tier=tier)
    zero = Money.zero("USD")
    for rule in plan.rules:
        less = sum((line.amount for line in paid.lines if line.rule == rule.id), zero) - sum(
            (line.amount for line in without.lines if line.rule == rule.id), zero
        )
        clawed = [
            line.amount
            for line in february.lines
            if line.kind == "clawback" and line.rule == rule.id
        ]
        assert clawed == ([-less] if less.amount else [])


def _allocated_in_decimals(units: int, weights: list[Decimal]) -> list[int]:
    """Money.allocate's steps, in minor units, for amounts beyond Money's range."""
    remaining = abs(units)
    total = sum(weights, Decimal(0))
    with decimal.localcontext() as context:
        context.prec = 60
        exact = [Decimal(remaining) * weight / total for weight in weights]
    shares = [int(part) for part in exact]
    order = sorted(range(len(shares)), key=lambda index: (-(exact[index] - shares[index]), index))
    for index in order[: remaining - sum(shares)]:
        shares[index] += 1
    return [share if units >= 0 else -share for share in shares]


@given(
    st.one_of(st.integers(-(10**6), 10**6), st.integers(-(10**21), 10**21)),
    st.lists(
        st.one_of(st.integers(0, 9), st.integers(0, 5000), st.sampled_from([3, 7, 9999, 10_000])),
        min_size=1,
        max_size=5,
    ).filter(any),
    st.sampled_from(["", ".0", ".000"]),
)
def test_splits_by_whole_ratios_give_the_parts_money_allocate_gives(
    units: int, ratios: list[int], places: str
) -> None:
    # Whole ratios are split in integers; the parts, ties and remainders must be
    # those of the Decimal steps Money.allocate takes.
    weights = [Decimal(f"{ratio}{places}") for ratio in ratios]
    found = _allocate(units, weights)
    assert found == _allocated_in_decimals(units, weights)
    if abs(units) < 10**18:
        money = Money.from_minor_units(units, "JPY")
        assert found == [part.minor_units for part in money.allocate(weights)]
