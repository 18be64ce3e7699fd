"""The forecast's rules as the guide states them, and its invariants as properties."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from partnerkit import FixedRates, Money, Period, ValidationError
from partnerkit.deals import Customer, DealRegistration, approve, lose, submit, win
from partnerkit.forecast import (
    Dimension,
    ForecastPolicy,
    Opportunity,
    Outcome,
    StageChange,
    forecast,
)

AS_OF = datetime(2026, 7, 1, tzinfo=UTC)


def registration(
    number: int,
    *,
    partner: str = "ptn_a",
    amount: str = "1000",
    submitted: datetime,
    approved: datetime | None = None,
    closed: datetime | None = None,
    won: bool = False,
    close_on: date | None = None,
    products: tuple[str, ...] = ("core",),
    currency: str = "USD",
) -> DealRegistration:
    draft = DealRegistration(
        id=f"d_{number}",
        partner_id=partner,
        customer=Customer(f"Customer {number}", "FI"),
        amount=Money(amount, currency),
        expected_close_on=close_on or (submitted + timedelta(days=60)).date(),
        registered_at=submitted,
        products=products,
    )
    current = submit(draft, actor="usr_p", at=submitted).value
    if approved is not None:
        current = approve(current, actor="usr_m", at=approved).value
        if closed is not None:
            move = win(current, actor="usr_m", at=closed) if won else None
            current = (
                move.value
                if move is not None
                else lose(current, actor="usr_m", at=closed, reason="price").value
            )
    return current


def history(partner: str, wins: int, losses: int, *, start: int = 0) -> list[DealRegistration]:
    """Closed deals of ``partner``: approved, then closed 20 days later."""
    base = datetime(2025, 1, 1, tzinfo=UTC)
    found = []
    for offset in range(wins + losses):
        at = base + timedelta(days=offset)
        found.append(
            registration(
                start + offset,
                partner=partner,
                submitted=at,
                approved=at + timedelta(days=1),
                closed=at + timedelta(days=21),
                won=offset < wins,
            )
        )
    return found


def open_deal(
    number: int, *, partner: str = "ptn_a", amount: str = "1000", **kw: object
) -> DealRegistration:
    return registration(
        number,
        partner=partner,
        amount=amount,
        submitted=AS_OF - timedelta(days=10),
        approved=AS_OF - timedelta(days=5),
        close_on=AS_OF.date() + timedelta(days=20),
        **kw,  # type: ignore[arg-type]
    )


def test_without_history_a_deal_gets_its_stages_default_rate() -> None:
    result = forecast([open_deal(1)], as_of=AS_OF)

    deal = result.deals[0]
    assert (deal.stage, deal.win_probability) == ("approved", 0.35)
    assert result.line().expected == Money("350.00", "USD")
    assert "expected close date" in deal.timing


def test_a_partner_with_little_history_is_shrunk_toward_its_tier_and_program() -> None:
    deals = [*history("ptn_a", 4, 0, start=200), *history("ptn_b", 2, 14, start=100), open_deal(1)]

    rate = forecast(deals, as_of=AS_OF, tiers={"ptn_a": "gold", "ptn_b": "gold"}).deals[0].rate

    program = (6 + 10 * 0.35) / (20 + 10)
    tier = (6 + 20 * program) / (20 + 20)
    partner = (4 + 20 * tier) / (4 + 20)
    assert (rate.program_wins, rate.program_deals) == (6, 20)
    assert (rate.tier_wins, rate.tier_deals, rate.partner_wins, rate.partner_deals) == (6, 20, 4, 4)
    assert rate.probability == pytest.approx(partner)
    assert rate.partner_weight == pytest.approx(4 / 24)


def test_age_in_the_stage_picks_the_history_of_deals_that_old() -> None:
    # Deals approved, then closed 100 days later: young approvals lost, old ones won.
    base = datetime(2025, 1, 1, tzinfo=UTC)
    old = [
        registration(
            n,
            submitted=base,
            approved=base,
            closed=base + timedelta(days=100),
            won=n < 10,
        )
        for n in range(20)
    ]
    aged = registration(
        99,
        submitted=AS_OF - timedelta(days=96),
        approved=AS_OF - timedelta(days=95),
        close_on=AS_OF.date(),
    )

    deal = forecast([*old, aged], as_of=AS_OF).deals[0]

    assert (deal.age_days, deal.rate.age_from, deal.rate.age_to) == (95, 90, None)
    assert (deal.rate.program_wins, deal.rate.program_deals) == (10, 20)


def test_a_new_partner_starts_from_part_of_its_tiers_rate() -> None:
    joined = {"ptn_a": AS_OF.date() - timedelta(days=45)}

    deal = forecast([open_deal(1)], as_of=AS_OF, joined=joined).deals[0]

    assert deal.rate.ramp == pytest.approx(0.5 + 0.5 * 45 / 180)
    assert deal.win_probability == pytest.approx(0.35 * deal.rate.ramp)


def test_closings_after_as_of_are_not_history_and_those_deals_are_still_open() -> None:
    later = registration(
        1,
        submitted=AS_OF - timedelta(days=30),
        approved=AS_OF - timedelta(days=29),
        closed=AS_OF + timedelta(days=3),
        won=True,
    )

    result = forecast([*history("ptn_b", 1, 1, start=10), later], as_of=AS_OF)

    assert [deal.deal_id for deal in result.deals] == ["d_1"]
    assert result.history_deals == 2


def test_timing_learned_from_won_deals_spreads_a_deal_over_periods() -> None:
    deals = [*history("ptn_b", 12, 0, start=10), open_deal(1)]

    result = forecast(deals, as_of=AS_OF, period=Period.of_days(10), periods=3)

    deal = result.deals[0]
    # The won deals closed 20 days after approval: in the third 10-day period.
    assert deal.period_probabilities[2] == pytest.approx(deal.win_probability)
    assert "12 won deals" in deal.timing


def test_a_host_opportunity_replaces_its_registration_and_brings_its_stages() -> None:
    opportunity = Opportunity(
        "opp_1",
        "ptn_a",
        Money("5000", "USD"),
        (StageChange("proposal", AS_OF - timedelta(days=3)),),
        registration_id="d_1",
        expected_close_on=AS_OF.date(),
    )
    policy = ForecastPolicy(stage_rates={"proposal": 0.38})

    result = forecast([open_deal(1)], opportunities=[opportunity], as_of=AS_OF, policy=policy)

    assert [(d.deal_id, d.stage, d.win_probability) for d in result.deals] == [
        ("opp_1", "proposal", 0.38)
    ]


def test_closed_opportunities_are_history() -> None:
    won = Opportunity(
        "opp_1",
        "ptn_a",
        Money("5000", "USD"),
        (StageChange("proposal", AS_OF - timedelta(days=40)),),
        outcome=Outcome.WON,
        closed_at=AS_OF - timedelta(days=20),
    )

    result = forecast([open_deal(1)], opportunities=[won], as_of=AS_OF)

    assert result.history_deals == 1


def test_deals_in_several_currencies_need_rates() -> None:
    deals = [open_deal(1), open_deal(2, currency="EUR")]

    with pytest.raises(ValidationError, match="give currency= and rates="):
        forecast(deals, as_of=AS_OF)
    rates = FixedRates({("EUR", "USD"): Decimal(2)})
    result = forecast(deals, as_of=AS_OF, currency="USD", rates=rates)
    assert result.line().expected == Money("1050.00", "USD")


def test_a_sure_deal_has_its_amount_in_every_band() -> None:
    policy = ForecastPolicy(stage_rates={"approved": 1.0})
    for engine in ("numpy", "python"):
        line = forecast([open_deal(1)], as_of=AS_OF, policy=policy, engine=engine, draws=50).line()
        assert (line.p10, line.p50, line.p90) == (Money("1000", "USD"),) * 3
        assert line.variance == 0


def test_the_same_seed_gives_the_same_bands() -> None:
    deals = [open_deal(n, amount=str(1000 + n)) for n in range(30)]

    first = forecast(deals, as_of=AS_OF, draws=500, seed=3, engine="python")
    second = forecast(deals, as_of=AS_OF, draws=500, seed=3, engine="python")

    assert first.lines == second.lines


def test_both_engines_draw_from_the_same_distribution() -> None:
    deals = [open_deal(n, partner=f"ptn_{n % 4}", amount=str(100 * (n + 1))) for n in range(40)]
    lines = {
        engine: forecast(deals, as_of=AS_OF, draws=4000, seed=1, engine=engine).line()
        for engine in ("numpy", "python")
    }
    spread = lines["python"].std_dev.amount
    for band in ("p10", "p50", "p90"):
        numpy_band = getattr(lines["numpy"], band).amount
        python_band = getattr(lines["python"], band).amount
        # Nearest-rank percentiles of 4,000 draws: within a tenth of a standard deviation.
        assert abs(numpy_band - python_band) < spread / 10


def test_explain_names_each_deal_and_where_its_probability_came_from() -> None:
    text = forecast([open_deal(1), open_deal(2)], as_of=AS_OF).explain("ptn_a")

    assert "ptn_a: 2 open deal(s)" in text
    assert "d_1 1,000.00 USD in approved for 5 days: wins 35.0%" in text
    assert "program 0/0 won (prior 35%)" in text


def test_records_and_html() -> None:
    result = forecast([open_deal(1, partner="ptn_<b>")], as_of=AS_OF, draws=100)

    records = result.to_records()
    assert {record["dimension"] for record in records} == {"total", "partner", "tier", "product"}
    assert records[0]["expected"] == Decimal("350.00")
    assert "ptn_&lt;b&gt;" in result._repr_html_()
    assert result.deal_records()[0]["win_probability"] == 0.35


def test_registration_statuses_map_to_stages_the_host_names() -> None:
    policy = ForecastPolicy(status_stages={"approved": "qualified"}, stage_rates={"qualified": 0.5})

    deal = forecast([open_deal(1)], as_of=AS_OF, policy=policy).deals[0]

    assert (deal.stage, deal.win_probability) == ("qualified", 0.5)
    assert policy.status_stages["submitted"] == "submitted"
    with pytest.raises(ValidationError, match="only submitted and approved"):
        ForecastPolicy(status_stages={"won": "closed"})


def test_bad_options_are_named() -> None:
    with pytest.raises(ValidationError) as caught:
        forecast([], as_of=AS_OF, periods=0, draws=0)
    assert set(caught.value.paths) == {"periods", "draws"}
    with pytest.raises(ValidationError, match="timezone"):
        forecast([], as_of=datetime(2026, 1, 1))  # noqa: DTZ001 - the point of the test


@st.composite
def pipelines(draw: st.DrawFn) -> list[DealRegistration]:
    count = draw(st.integers(1, 12))
    found = []
    for number in range(count):
        age = draw(st.integers(1, 200))
        submitted = AS_OF - timedelta(days=age)
        approved = draw(st.booleans())
        found.append(
            registration(
                number,
                partner=draw(st.sampled_from(["ptn_a", "ptn_b", "ptn_c"])),
                amount=str(draw(st.integers(0, 10**7))),
                submitted=submitted,
                approved=submitted + timedelta(days=1) if approved else None,
                close_on=submitted.date() + timedelta(days=draw(st.integers(0, 300))),
                products=tuple(
                    draw(
                        st.lists(
                            st.sampled_from(["core", "addon", "care"]),
                            unique=True,
                            min_size=1,
                            max_size=3,
                        )
                    )
                ),
            )
        )
    for number in range(draw(st.integers(0, 12))):
        closed_after = draw(st.integers(1, 150))
        base = AS_OF - timedelta(days=400)
        found.append(
            registration(
                100 + number,
                partner=draw(st.sampled_from(["ptn_a", "ptn_b", "ptn_d"])),
                submitted=base,
                approved=base + timedelta(days=1),
                closed=base + timedelta(days=1 + closed_after),
                won=draw(st.booleans()),
            )
        )
    return found


@given(pipelines(), st.sampled_from(["numpy", "python"]), st.integers(0, 3))
def test_bands_are_ordered_and_totals_are_the_sums_of_their_parts(
    deals: list[DealRegistration], engine: str, seed: int
) -> None:
    result = forecast(
        deals,
        as_of=AS_OF,
        tiers={"ptn_a": "gold", "ptn_b": "silver"},
        period=Period.of_months(2),
        periods=3,
        draws=64,
        seed=seed,
        engine=engine,
    )

    for line in result.lines:
        assert line.p10 <= line.p50 <= line.p90
        cent = Decimal("0.01")
        assert line.std_dev.amount**2 <= line.variance < (line.std_dev.amount + cent) ** 2
    for period in result.periods:
        total = result.line(period=period.index)
        for dimension in (Dimension.PARTNER, Dimension.TIER, Dimension.PRODUCT):
            parts = result.lines_for(dimension, period=period.index)
            assert Money.sum((p.expected for p in parts), currency="USD") == total.expected
        for dimension in (Dimension.PARTNER, Dimension.TIER):
            parts = result.lines_for(dimension, period=period.index)
            assert sum(p.variance for p in parts) == total.variance
        per_deal = [deal.expected[period.index] for deal in result.deals]
        assert Money.sum(per_deal, currency="USD") == total.expected
    for deal in result.deals:
        assert 0 <= sum(deal.period_probabilities) <= deal.win_probability + 1e-12 <= 1 + 1e-12


def _sure_or_never(number: int, partner: str, *, sure: bool) -> DealRegistration:
    """An approved (sure) or submitted (never, at rate 0) deal with two products."""
    return registration(
        number,
        partner=partner,
        amount=str(100 + number),
        submitted=AS_OF - timedelta(days=3),
        approved=AS_OF - timedelta(days=2) if sure else None,
        close_on=AS_OF.date() + timedelta(days=10),
        products=("care", "core") if number % 3 else ("core",),
    )


@pytest.mark.parametrize("engine", ["numpy", "python"])
def test_every_group_of_sure_deals_has_its_exact_sum_in_every_band(engine: str) -> None:
    # 2,500 deals of one partner span two blocks of the numpy engine's work.
    deals = [
        _sure_or_never(n, "ptn_big" if n < 2500 else f"ptn_{n % 7}", sure=n % 4 != 0)
        for n in range(2600)
    ]
    policy = ForecastPolicy(stage_rates={"approved": 1.0, "submitted": 0.0})

    result = forecast(deals, as_of=AS_OF, policy=policy, draws=20, engine=engine)

    for line in result.lines:
        assert line.p10 == line.p50 == line.p90 == line.expected, line
    big = result.line(Dimension.PARTNER, "ptn_big")
    assert big.expected.amount == sum(100 + n for n in range(2500) if n % 4)
