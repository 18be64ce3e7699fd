"""Promises of partnerkit.health, checked on generated models and partners."""

import decimal
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from typing import Any

import attrs
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from partnerkit import MetricSnapshot, Money
from partnerkit.health import (
    Backtest,
    BacktestComparison,
    Band,
    Cohort,
    Contribution,
    Direction,
    Gate,
    HealthScore,
    Measure,
    MissingPolicy,
    Normalizer,
    NormalizerKind,
    Override,
    Rollup,
    ScoreStatus,
    ScoringModel,
    Step,
    Trend,
    backtest,
    compare,
    mann_whitney_u,
    model_from_toml,
    model_to_toml,
    rollup,
    score,
    score_batch,
)
from partnerkit.serialization import from_json, to_json
from partnerkit.testing import _health as hs

NOW = datetime(2026, 11, 22, tzinfo=UTC)


@st.composite
def populations(draw: st.DrawFn, **options: Any) -> tuple[ScoringModel, list[MetricSnapshot]]:
    model = draw(hs.scoring_models(**options))
    count = draw(st.integers(1, 6))
    return model, [draw(hs.health_snapshots(model, f"ptn_{index}")) for index in range(count)]


@given(populations())
def test_contributions_add_up_to_the_value_within_0_to_100(
    population: tuple[ScoringModel, list[MetricSnapshot]],
) -> None:
    model, snapshots = population
    for item in score_batch(model, snapshots, as_of=NOW):
        if item.status is ScoreStatus.INSUFFICIENT_DATA:
            assert item.computed_value is None
            continue
        assert item.computed_value is not None
        assert 0 <= item.computed_value <= 100
        assert sum(c.points for c in item.contributions if c.points is not None) == (
            item.computed_value
        )
        assert sum(c.max_points for c in item.contributions if c.max_points is not None) == 100
        assert sum(c.weight_share for c in item.contributions) == 1


@given(populations())
def test_compact_explained_and_single_scores_are_the_same(
    population: tuple[ScoringModel, list[MetricSnapshot]],
) -> None:
    model, snapshots = population
    explained = score_batch(model, snapshots, as_of=NOW)
    compact = score_batch(model, snapshots, as_of=NOW, explain=False)
    assert list(compact.rows()) == list(explained.rows())
    cohort = Cohort(model, snapshots)
    for snapshot in snapshots:
        assert score(model, snapshot, as_of=NOW, cohort=cohort) == explained[snapshot.partner_id]


@given(populations(), st.booleans())
def test_scores_built_on_demand_equal_eager_scores_on_every_field(
    population: tuple[ScoringModel, list[MetricSnapshot]], explain: bool
) -> None:
    model, snapshots = population
    batch = score_batch(model, snapshots, as_of=NOW, explain=explain)
    cohort = Cohort(model, snapshots)
    for snapshot in snapshots:
        lazy = batch[snapshot.partner_id]
        eager = score(model, snapshot, as_of=NOW, cohort=cohort)
        for field in attrs.fields(HealthScore):
            assert getattr(lazy, field.name) == getattr(eager, field.name), field.name
        if lazy.computed_value is not None:
            points = [c.points for c in lazy.contributions if c.points is not None]
            assert sum(points, Decimal(0)) == lazy.computed_value


@given(populations())
def test_a_score_built_on_demand_serializes_like_an_eager_one(
    population: tuple[ScoringModel, list[MetricSnapshot]],
) -> None:
    model, snapshots = population
    cohort = Cohort(model, snapshots)
    for lazy in score_batch(model, snapshots, as_of=NOW):
        eager = score(
            model,
            next(s for s in snapshots if s.partner_id == lazy.partner_id),
            as_of=NOW,
            cohort=cohort,
        )
        assert to_json(lazy) == to_json(eager)
        assert from_json(HealthScore, to_json(lazy)) == eager


# An independent reference: every normaliser straight from its definition with
# Fractions (50-digit Decimals for logarithms and powers), no floats anywhere.
def reference_micro(measure: Measure, x: Fraction, others: list[Fraction]) -> int:
    normalizer = measure.normalizer
    kind = normalizer.kind
    lower = measure.direction is Direction.LOWER
    if kind is NormalizerKind.STEPS:
        reached = [step.points for step in normalizer.steps if x >= step.at]
        points = reached[-1] if reached else (normalizer.below or Decimal(0))
        return round(Fraction(points) * 10**6)
    if kind is NormalizerKind.PERCENTILE:
        if not others:
            return 50 * 10**6
        worse = [o for o in others if (o > x if lower else o < x)]
        ties = [o for o in others if o == x]
        return round(Fraction(100 * 10**6) * (len(worse) + Fraction(len(ties), 2)) / len(others))
    if kind is NormalizerKind.TARGET:
        target = Fraction(normalizer.target)  # type: ignore[arg-type]
        if lower:
            share = Fraction(1) if x <= target else target / x
        else:
            share = min(max(x / target, Fraction(0)), Fraction(1))
        return round(share * 100 * 10**6)
    with decimal.localcontext() as context:
        context.prec = 50
        if kind is NormalizerKind.RECENCY:
            if x <= 0:
                return 100 * 10**6
            exact = Decimal(2) ** (
                -(Decimal(x.numerator) / x.denominator / normalizer.half_life_days)
            )  # type: ignore[operator]
            return int((exact * 100 * 10**6).to_integral_value(ROUND_HALF_EVEN))
        low, high = Fraction(normalizer.low), Fraction(normalizer.high)  # type: ignore[arg-type]
        if x <= low:
            result = 0
        elif x >= high:
            result = 100 * 10**6
        elif kind is NormalizerKind.LINEAR:
            result = round((x - low) / (high - low) * 100 * 10**6)
        else:

            def ln(value: Fraction) -> Decimal:
                return (Decimal(value.numerator) / value.denominator + 1).ln()

            share = (ln(x) - ln(low)) / (ln(high) - ln(low)) * 100 * 10**6
            result = int(share.to_integral_value(ROUND_HALF_EVEN))
        return 100 * 10**6 - result if lower else result


def number(value: object) -> Fraction | None:
    if value is None:
        return None
    return Fraction(value.amount if isinstance(value, Money) else value)  # type: ignore[arg-type]


def reference_value(model: ScoringModel, snapshot: MetricSnapshot,
                    cohort: list[MetricSnapshot]) -> Fraction | None:  # fmt: skip
    total = weight = present = Fraction(0)
    everything = sum(Fraction(measure.weight) for measure in model.measures)
    for measure in model.measures:
        x = number(snapshot.values.get(measure.metric))
        policy = measure.missing or model.missing
        if x is None:
            if policy is MissingPolicy.REWEIGHT:
                continue
            micro = round(Fraction(model.neutral) * 10**6) if policy is MissingPolicy.NEUTRAL else 0
        else:
            others = [
                value
                for other in cohort
                if other.partner_id != snapshot.partner_id
                and (value := number(other.values.get(measure.metric))) is not None
            ]
            micro = reference_micro(measure, x, others)
            present += Fraction(measure.weight)
        total += micro * Fraction(measure.weight)
        weight += Fraction(measure.weight)
    if not weight or present < Fraction(model.min_weight_share) * everything:
        return None
    return total / weight / 10**6


def half_up_tenths(value: Fraction) -> Decimal:
    tenths = int(value * 10 + Fraction(1, 2))
    return Decimal(tenths).scaleb(-1)


@given(populations())
def test_scores_equal_an_exact_reference_computation(
    population: tuple[ScoringModel, list[MetricSnapshot]],
) -> None:
    model, snapshots = population
    batch = score_batch(model, snapshots, as_of=NOW)
    for snapshot in snapshots:
        expected = reference_value(model, snapshot, snapshots)
        actual = batch[snapshot.partner_id].computed_value
        assert actual == (None if expected is None else half_up_tenths(expected))


@given(st.integers(0, 10**7), st.integers(1, 10**6), st.integers(0, 9))
def test_values_on_a_rounding_tie_are_exact(low: int, span: int, offset: int) -> None:
    # x sits exactly on a half millionth (or a half tenth) of the linear range: the float
    # estimate lands on the tie and the exact path must decide, half to even.
    model = ScoringModel("Tie", 1, (Measure("m", "x", Normalizer.linear(low, low + span)),))
    x = Fraction(low) + Fraction(span * (2 * offset + 1), 2 * 10**8)
    snapshot = MetricSnapshot("p", NOW, {"x": Decimal(x.numerator) / Decimal(x.denominator)})
    assume(Fraction(snapshot.values["x"]) == x)  # type: ignore[arg-type]
    result = score(model, snapshot, as_of=NOW)
    assert result.contributions[0].normalized == Decimal(
        round(Fraction(x - low) / span * 10**8)
    ).scaleb(-6)


def improve(raw: object, step: Decimal, direction: Direction) -> object:
    delta = step if direction is Direction.HIGHER else -step
    if isinstance(raw, Money):
        return Money(raw.amount + delta, raw.currency)
    if isinstance(raw, int):
        return raw + int(delta)
    return raw + delta  # type: ignore[operator]


@given(populations(), st.data())
def test_improving_a_metric_never_lowers_the_score(
    population: tuple[ScoringModel, list[MetricSnapshot]], data: st.DataObject
) -> None:
    model, snapshots = population
    slot = data.draw(st.integers(0, len(model.measures) - 1))
    measure = model.measures[slot]
    target = snapshots[0]
    raw = target.values.get(measure.metric)
    assume(raw is not None)
    step = Decimal(data.draw(st.integers(1, 10**6)))
    values = dict(target.values)
    values[measure.metric] = improve(raw, step, measure.direction or Direction.HIGHER)  # type: ignore[assignment]
    better = MetricSnapshot(target.partner_id, NOW, values)
    before = score_batch(model, snapshots, as_of=NOW)[target.partner_id]
    after = score_batch(model, [better, *snapshots[1:]], as_of=NOW)[target.partner_id]
    if before.computed_value is not None:
        assert after.computed_value is not None
        assert after.computed_value >= before.computed_value


@given(populations(), st.sampled_from(["2", "10", "1000", "0.001", "7.5"]))
def test_multiplying_every_weight_by_a_constant_changes_nothing(
    population: tuple[ScoringModel, list[MetricSnapshot]], factor: str
) -> None:
    model, snapshots = population
    scaled = attrs.evolve(
        model,
        measures=tuple(
            attrs.evolve(measure, weight=measure.weight * Decimal(factor))
            for measure in model.measures
        ),
    )
    assert score_batch(scaled, snapshots, as_of=NOW).scores == (
        score_batch(model, snapshots, as_of=NOW).scores
    )


def naive_u(kept: list[int], lost: list[int]) -> Fraction:
    return sum(
        (Fraction(1) if a > b else Fraction(1, 2) if a == b else Fraction(0))
        for a in kept
        for b in lost
    )


@given(st.lists(st.integers(0, 20)), st.lists(st.integers(0, 20)))
def test_mann_whitney_u_equals_the_pair_count(kept: list[int], lost: list[int]) -> None:
    assert Fraction(mann_whitney_u(kept, lost)) == naive_u(kept, lost)


@given(st.lists(st.tuples(st.integers(0, 10), st.booleans()), min_size=2, max_size=40))
def test_backtest_auc_is_the_mann_whitney_statistic_over_the_pairs(
    rows: list[tuple[int, bool]],
) -> None:
    model = ScoringModel("Deals", 1, (Measure("d", "deals", Normalizer.linear(0, 10)),))
    snapshots = [MetricSnapshot(f"p{i}", NOW, {"deals": v}) for i, (v, _) in enumerate(rows)]
    outcomes = {f"p{i}": churned for i, (_, churned) in enumerate(rows)}
    result = backtest(model, snapshots, outcomes)
    kept = [value for value, churned in rows if not churned]
    lost = [value for value, churned in rows if churned]
    if not kept or not lost:
        assert result.auc is None
        return
    exact = naive_u(kept, lost) / (len(kept) * len(lost))
    assert result.auc == Decimal(round(exact * 10**6)).scaleb(-6)
    assert Fraction(result.u_statistic) == naive_u(kept, lost)  # type: ignore[arg-type]


@given(
    st.lists(st.integers(50, 100), min_size=1, max_size=10),
    st.lists(st.integers(0, 49), min_size=1, max_size=10),
)
def test_a_perfectly_separating_score_has_auc_1_and_its_reverse_0(
    kept: list[int], lost: list[int]
) -> None:
    model = ScoringModel("Deals", 1, (Measure("d", "deals", Normalizer.linear(0, 100)),))
    values = kept + lost
    snapshots = [MetricSnapshot(f"p{i}", NOW, {"deals": v}) for i, v in enumerate(values)]
    churned = {f"p{i}": i >= len(kept) for i in range(len(values))}
    assert backtest(model, snapshots, churned).auc == 1
    reverse = {pid: not outcome for pid, outcome in churned.items()}
    assert backtest(model, snapshots, reverse).auc == 0


@given(hs.scoring_models())
def test_models_round_trip_through_json_and_toml(model: ScoringModel) -> None:
    assert from_json(ScoringModel, to_json(model)) == model
    assert model_from_toml(model_to_toml(model)) == model


@given(hs.health_scores())
def test_health_scores_round_trip_through_json(item: HealthScore) -> None:
    assert from_json(HealthScore, to_json(item)) == item
    for part in (*item.contributions, *item.gates, item.trend, item.override):
        if part is not None:
            assert from_json(type(part), to_json(part)) == part


@given(hs.backtests(), hs.backtests())
def test_backtests_and_comparisons_round_trip_through_json(a: Backtest, b: Backtest) -> None:
    assert from_json(Backtest, to_json(a)) == a
    comparison = compare(a, b)
    assert from_json(BacktestComparison, to_json(comparison)) == comparison


@given(populations())
def test_rollups_round_trip_and_add_up(
    population: tuple[ScoringModel, list[MetricSnapshot]],
) -> None:
    model, snapshots = population
    batch = score_batch(model, snapshots, as_of=NOW)
    for method in ("mean", "worst"):
        result = rollup(model, "parent", batch.scores, as_of=NOW, method=method)
        assert from_json(Rollup, to_json(result)) == result
        if result.value is not None:
            assert sum(member.points for member in result.members) == result.value


@given(hs.overrides())
def test_overrides_round_trip(override: Override) -> None:
    assert from_json(Override, to_json(override)) == override


@pytest.mark.parametrize(
    "value",
    [
        Step(Decimal(1), Decimal(40)),
        Normalizer.stepped([(1, 40)], below=10),
        Band("low", Decimal(0), Decimal(50), "#ff0000"),
        Gate("g", "x", ">", Decimal(1), "low"),  # type: ignore[arg-type]
        Trend(NOW, Decimal("40.0"), Decimal("2.5"), "up", Decimal("1.0")),  # type: ignore[arg-type]
    ],
)
def test_small_values_round_trip(value: object) -> None:
    assert from_json(type(value), to_json(value)) == value


def test_contribution_is_validated_when_built_by_hand() -> None:
    with pytest.raises(ValueError, match="weight_share"):
        Contribution("m", "M", "x", "linear", "higher", "scored", 1, Decimal(1),  # type: ignore[arg-type]
                     Decimal(2), Decimal(1), Decimal(1), Decimal(0))  # fmt: skip
