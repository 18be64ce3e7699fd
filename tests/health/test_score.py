from datetime import UTC, datetime, timedelta
from decimal import Decimal

import attrs
import pytest

from partnerkit import MetricSnapshot, Money, ValidationError
from partnerkit.health import (
    Cohort,
    ContributionStatus,
    Direction,
    Gate,
    GateOperator,
    HealthScore,
    Measure,
    MissingPolicy,
    Normalizer,
    Override,
    ScoreStatus,
    ScoringModel,
    TrendDirection,
    apply_override,
    score,
    score_events,
    withdraw_override,
)

NOW = datetime(2026, 11, 22, tzinfo=UTC)


def one(normalizer: Normalizer, direction: Direction | None = None) -> ScoringModel:
    return ScoringModel("One", 1, (Measure("m", "x", normalizer, direction=direction),))


def value_of(model: ScoringModel, x: object, *, cohort: list[MetricSnapshot] | None = None) -> str:
    result = score(model, MetricSnapshot("p", NOW, {"x": x}), as_of=NOW, cohort=cohort)  # type: ignore[dict-item]
    return str(result.contributions[0].normalized)


@pytest.mark.parametrize(
    ("x", "expected"),
    [(-5, "0.000000"), (0, "0.000000"), (5, "50.000000"), (10, "100.000000"), (11, "100.000000"),
     (Decimal("2.5"), "25.000000"), (Decimal("3.3333333"), "33.333333")],
)  # fmt: skip
def test_linear_clamps_outside_its_range(x: object, expected: str) -> None:
    assert value_of(one(Normalizer.linear(0, 10)), x) == expected


def test_linear_lower_is_the_mirror_image() -> None:
    assert value_of(one(Normalizer.linear(0, 10), Direction.LOWER), 2) == "80.000000"


def test_steps_score_the_highest_step_reached() -> None:
    model = one(Normalizer.stepped([(1, 40), (3, 70), (6, 100)], below=10))
    assert [value_of(model, x) for x in (0, 1, 2, 3, 6, 99)] == [
        "10.000000", "40.000000", "40.000000", "70.000000", "100.000000", "100.000000",
    ]  # fmt: skip


def test_target_attainment_is_capped_at_100() -> None:
    model = one(Normalizer.target_attainment(250_000))
    assert value_of(model, Money("105000", "USD")) == "42.000000"
    assert value_of(model, Money("300000", "USD")) == "100.000000"
    assert value_of(model, Money("-10", "USD")) == "0.000000"


def test_a_lower_target_is_a_ceiling() -> None:
    model = one(Normalizer.target_attainment(5), Direction.LOWER)
    assert value_of(model, 4) == "100.000000"
    assert value_of(model, 10) == "50.000000"


def test_log_spreads_money_by_orders_of_magnitude() -> None:
    model = one(Normalizer.log(0, 999_999))  # ln(1 + x) from 0 to ln(10^6)
    assert value_of(model, 999) == "50.000000"
    assert value_of(model, Money("0", "EUR")) == "0.000000"


def test_recency_halves_every_half_life() -> None:
    model = one(Normalizer.recency(30))
    assert [value_of(model, days) for days in (0, 30, 60, -3)] == [
        "100.000000", "50.000000", "25.000000", "100.000000",
    ]  # fmt: skip


def test_percentile_counts_the_others_below_and_half_the_ties() -> None:
    model = one(Normalizer.percentile())
    cohort = [MetricSnapshot(f"p{i}", NOW, {"x": x}) for i, x in enumerate([1, 2, 2, 3, None])]
    results = [
        score(model, snapshot, as_of=NOW, cohort=cohort).contributions[0].normalized
        for snapshot in cohort[:4]
    ]
    # p1 (2) sees others 1, 2, 3: one below, one tie -> (1 + 0.5) / 3
    assert [str(value) for value in results] == ["0.000000", "50.000000", "50.000000", "100.000000"]


def test_percentile_of_an_outsider_ranks_against_the_whole_cohort() -> None:
    model = one(Normalizer.percentile(), Direction.LOWER)
    cohort = Cohort(model, [MetricSnapshot(f"p{i}", NOW, {"x": x}) for i, x in enumerate([1, 5])])
    result = score(model, MetricSnapshot("new", NOW, {"x": 3}), as_of=NOW, cohort=cohort)
    assert result.contributions[0].normalized == 50


def test_percentile_without_a_cohort_says_how_to_give_one() -> None:
    with pytest.raises(ValidationError, match="pass cohort="):
        score(one(Normalizer.percentile()), MetricSnapshot("p", NOW, {"x": 1}), as_of=NOW)


def three(**options: object) -> ScoringModel:
    return ScoringModel(
        "Three",
        4,
        (
            Measure("revenue", "revenue", Normalizer.linear(0, 100), weight=Decimal(2)),
            Measure("deals", "deals", Normalizer.linear(0, 10), weight=Decimal(1)),
            Measure("nps", "nps", Normalizer.linear(0, 10), weight=Decimal(1)),
        ),
        **options,  # type: ignore[arg-type]
    )


def test_contributions_show_raw_normalised_share_and_points() -> None:
    result = score(three(), MetricSnapshot("p", NOW, {"revenue": 50, "deals": 10, "nps": 2}),
                   as_of=NOW)  # fmt: skip
    assert result.computed_value == Decimal("55.0")
    rows = [(c.measure, c.raw, str(c.normalized), str(c.weight_share), str(c.points),
             str(c.max_points), str(c.cost)) for c in result.contributions]  # fmt: skip
    assert rows == [
        ("revenue", 50, "50.000000", "0.5000", "25.0", "50.0", "25.0"),
        ("deals", 10, "100.000000", "0.2500", "25.0", "25.0", "0.0"),
        ("nps", 2, "20.000000", "0.2500", "5.0", "25.0", "20.0"),
    ]
    assert result.explanation[:3] == (
        "Score 55.0 (At risk) from Three v4.",
        "Revenue 50 scored 50.0/100 and cost 25.0 points.",
        "Nps 2 scored 20.0/100 and cost 20.0 points.",
    )


def test_rounding_is_half_up_and_points_share_it_by_largest_remainders() -> None:
    model = ScoringModel("Thirds", 1, tuple(
        Measure(f"m{i}", f"x{i}", Normalizer.linear(0, 100)) for i in range(3)
    ))  # fmt: skip
    result = score(model, MetricSnapshot("p", NOW, {"x0": 10, "x1": 10, "x2": Decimal("10.15")}),
                   as_of=NOW)  # fmt: skip
    # exact value 30.15 / 3 = 10.05 -> 10.1 (half up); exact points 3.333.., 3.333.., 3.383..
    # round down to 3.3 each, and the two missing tenths go to the largest remainders:
    # the third, then the first of the two tied ones.
    assert result.computed_value == Decimal("10.1")
    assert [str(c.points) for c in result.contributions] == ["3.4", "3.3", "3.4"]
    assert sum(c.points for c in result.contributions if c.points) == result.computed_value


def test_missing_data_is_reweighted_by_default() -> None:
    result = score(three(), MetricSnapshot("p", NOW, {"revenue": 50, "deals": 10}), as_of=NOW)
    assert result.missing == ("nps",)
    assert result.computed_value == Decimal("66.7")  # (2 x 50 + 1 x 100) / 3
    nps = result.contributions[2]
    assert (nps.status, nps.normalized, nps.weight_share, nps.points) == (
        ContributionStatus.LEFT_OUT, None, Decimal(0), Decimal(0),
    )  # fmt: skip
    assert result.data_share == Decimal("0.75")


def test_missing_data_can_count_neutral_or_zero() -> None:
    neutral = score(three(missing=MissingPolicy.NEUTRAL, neutral=Decimal(60)),
                    MetricSnapshot("p", NOW, {"revenue": 50, "deals": 10}), as_of=NOW)  # fmt: skip
    zero = score(three(missing=MissingPolicy.ZERO),
                 MetricSnapshot("p", NOW, {"revenue": 50, "deals": 10}), as_of=NOW)  # fmt: skip
    assert neutral.computed_value == Decimal("65.0")  # (100 + 100 + 60) / 4
    assert neutral.contributions[2].status is ContributionStatus.NEUTRAL
    assert zero.computed_value == Decimal("50.0")
    assert zero.contributions[2].normalized == 0


def test_too_little_weight_with_data_is_insufficient_not_a_number() -> None:
    result = score(three(min_weight_share=Decimal("0.6")),
                   MetricSnapshot("p", NOW, {"revenue": 50}), as_of=NOW)  # fmt: skip
    assert result.status is ScoreStatus.INSUFFICIENT_DATA
    assert (result.value, result.band, result.computed_value) == (None, None, None)
    assert result.data_share == Decimal("0.5")
    assert result.explanation[0].startswith("Insufficient data: measures with data carry 50.0%")


def test_exactly_the_minimum_share_is_enough() -> None:
    result = score(three(), MetricSnapshot("p", NOW, {"revenue": 50}), as_of=NOW)
    assert result.status is ScoreStatus.SCORED


def test_the_band_follows_the_displayed_value() -> None:
    model = one(Normalizer.linear(0, 100))
    assert score(model, MetricSnapshot("p", NOW, {"x": Decimal("39.94")}), as_of=NOW).band == (
        "critical"
    )
    edge = score(model, MetricSnapshot("p", NOW, {"x": Decimal("39.95")}), as_of=NOW)
    assert (edge.value, edge.band) == (Decimal("40.0"), "at_risk")


def gated(op: GateOperator = GateOperator.GT, *, when_missing: bool = False) -> ScoringModel:
    gate = Gate("no_login", "days_since_login", op, Decimal(90), "at_risk",
                fire_when_missing=when_missing, label="No portal login in 90 days")  # fmt: skip
    return ScoringModel("Gated", 1, (Measure("deals", "deals", Normalizer.linear(0, 10)),),
                        gates=(gate,))  # fmt: skip


def test_a_gate_caps_the_band_but_not_the_value() -> None:
    result = score(gated(), MetricSnapshot("p", NOW, {"deals": 10, "days_since_login": 91}),
                   as_of=NOW)  # fmt: skip
    assert (result.computed_value, result.computed_band) == (Decimal("100.0"), "at_risk")
    assert [(gate.name, gate.capped) for gate in result.gates] == [("no_login", True)]
    assert "Gate 'No portal login in 90 days' caps the band at At risk." in result.explanation


def test_a_gate_never_raises_a_band() -> None:
    result = score(gated(), MetricSnapshot("p", NOW, {"deals": 1, "days_since_login": 200}),
                   as_of=NOW)  # fmt: skip
    assert result.band == "critical"
    assert [gate.capped for gate in result.gates] == [False]


def test_a_gate_fires_on_missing_data_only_when_told() -> None:
    snapshot = MetricSnapshot("p", NOW, {"deals": 10})
    assert score(gated(), snapshot, as_of=NOW).band == "healthy"
    assert score(gated(when_missing=True), snapshot, as_of=NOW).band == "at_risk"


def test_the_gate_threshold_is_compared_exactly() -> None:
    snapshot = MetricSnapshot("p", NOW, {"deals": 10, "days_since_login": 90})
    assert score(gated(), snapshot, as_of=NOW).band == "healthy"  # 90 > 90 is false
    assert score(gated(GateOperator.GE), snapshot, as_of=NOW).band == "at_risk"


def test_money_in_another_currency_than_the_model_pins_is_refused() -> None:
    model = ScoringModel("Money", 1, (Measure("r", "revenue", Normalizer.log(0, 10**6)),),
                         currency="USD")  # fmt: skip
    with pytest.raises(ValidationError, match="in EUR but the model scores amounts in USD"):
        score(model, MetricSnapshot("p", NOW, {"revenue": Money("10", "EUR")}), as_of=NOW)


def test_two_currencies_in_one_run_are_refused() -> None:
    model = ScoringModel("Money", 1, (
        Measure("r", "revenue", Normalizer.log(0, 10**6)),
        Measure("p", "pipeline", Normalizer.target_attainment(1000)),
    ))  # fmt: skip
    snapshot = MetricSnapshot("p", NOW, {"revenue": Money("10", "EUR"),
                                         "pipeline": Money("10", "USD")})  # fmt: skip
    with pytest.raises(ValidationError, match="never mix"):
        score(model, snapshot, as_of=NOW)


def test_a_snapshot_from_after_the_scoring_instant_is_refused() -> None:
    with pytest.raises(ValidationError) as info:
        score(three(), MetricSnapshot("p", NOW + timedelta(days=1), {}), as_of=NOW)
    assert info.value.paths == ("as_of",)


def test_trend_compares_with_the_previous_score_and_history() -> None:
    model = one(Normalizer.linear(0, 100))

    def at(day: int, x: int, **kw: object) -> HealthScore:
        when = NOW + timedelta(days=day)
        return score(model, MetricSnapshot("p", when, {"x": x}), as_of=when, **kw)  # type: ignore[arg-type]

    first, second = at(0, 40), at(30, 50)
    third = at(60, 45, previous=second, history=[first])
    assert third.trend is not None
    assert (third.trend.delta, third.trend.direction) == (Decimal(-5), TrendDirection.DOWN)
    assert third.trend.velocity_30d == Decimal("2.5")  # least squares through 40, 50, 45
    assert third.explanation[-1] == ("Down 5.0 points since 2026-12-22 (+2.5 points per 30 days).")


def override(**changes: object) -> Override:
    fields: dict[str, object] = {
        "author": "usr_ann",
        "reason": "new executive sponsor",
        "created_at": NOW,
        "expires_at": NOW + timedelta(days=30),
        "band": "healthy",
    }
    fields.update(changes)
    return Override(**fields)  # type: ignore[arg-type]


def test_an_override_needs_exactly_one_of_value_and_band() -> None:
    with pytest.raises(ValidationError) as info:
        override(value=Decimal(80))
    assert info.value.paths == ("value",)


def test_an_override_must_expire_after_it_starts() -> None:
    with pytest.raises(ValidationError) as info:
        override(expires_at=NOW)
    assert info.value.paths == ("expires_at",)


def test_an_active_override_wins_and_the_computed_score_stays_beside_it() -> None:
    snapshot = MetricSnapshot("p", NOW, {"revenue": 10, "deals": 1, "nps": 1})
    result = score(three(), snapshot, as_of=NOW, override=override())
    assert (result.value, result.band, result.overridden) == (Decimal("10.0"), "healthy", True)
    assert (result.computed_value, result.computed_band) == (Decimal("10.0"), "critical")
    assert result.explanation[0].startswith(
        "Overridden to Healthy by usr_ann until 2026-12-22 (new executive sponsor)"
    )


def test_a_value_override_brings_its_band() -> None:
    result = score(three(), MetricSnapshot("p", NOW, {"revenue": 10}), as_of=NOW,
                   override=override(band=None, value=Decimal("72.5")))  # fmt: skip
    assert (result.value, result.band) == (Decimal("72.5"), "healthy")


def test_a_rule_run_carries_the_override_until_it_lapses_at_expiry() -> None:
    model = three()
    snapshot = MetricSnapshot("p", NOW, {"revenue": 10, "deals": 1, "nps": 1})
    first = score(model, snapshot, as_of=NOW, override=override())
    later = score(model, snapshot, as_of=NOW + timedelta(days=29), previous=first)
    assert later.override == first.override
    lapsed = score(model, snapshot, as_of=NOW + timedelta(days=30), previous=later)
    assert (lapsed.override, lapsed.band) == (None, "critical")
    kinds = [event.kind for event in score_events(lapsed, later)]
    assert kinds == ["health.override_lapsed", "health.band_changed"]


def test_events_say_when_an_override_applies_and_the_band_changes() -> None:
    model = three()
    snapshot = MetricSnapshot("p", NOW, {"revenue": 10, "deals": 1, "nps": 1})
    first = score(model, snapshot, as_of=NOW)
    assert [event.kind for event in score_events(first)] == ["health.band_changed"]
    overridden = score(model, snapshot, as_of=NOW, previous=first, override=override())
    events = score_events(overridden, first)
    assert [event.kind for event in events] == ["health.override_applied", "health.band_changed"]
    assert events[1].data["from_band"] == "critical"
    assert events[0].actor == "usr_ann"


def test_apply_and_withdraw_an_override_on_a_stored_score() -> None:
    model = three()
    base = score(model, MetricSnapshot("p", NOW, {"revenue": 10}), as_of=NOW)
    overridden, events = apply_override(model, base, override(band="at_risk"))
    assert (overridden.band, [e.kind for e in events]) == ("at_risk", ["health.override_applied"])
    restored, events = withdraw_override(overridden, actor="usr_bob", at=NOW, reason="resolved")
    assert restored == base
    assert [event.kind for event in events] == ["health.override_withdrawn"]


def test_an_override_naming_an_unknown_band_is_refused() -> None:
    with pytest.raises(ValidationError, match="no band 'green'"):
        score(three(), MetricSnapshot("p", NOW, {"revenue": 1}), as_of=NOW,
              override=override(band="green"))  # fmt: skip


def test_health_scores_validate_their_sum_when_built_by_hand() -> None:
    result = score(three(), MetricSnapshot("p", NOW, {"revenue": 50}), as_of=NOW)
    fields = {field.name: getattr(result, field.name) for field in attrs.fields(HealthScore)}
    fields["computed_value"] = Decimal("1.0")
    with pytest.raises(ValidationError, match="the points add up to"):
        HealthScore(**fields)


def test_html_escapes_every_text() -> None:
    model = ScoringModel("<b>Bad</b>", 1, (
        Measure("m", "x", Normalizer.linear(0, 1), label="<script>alert(1)</script>"),
    ))  # fmt: skip
    result = score(model, MetricSnapshot("p<&>", NOW, {"x": 1}), as_of=NOW,
                   override=override(reason="<img src=x>"))  # fmt: skip
    html = result._repr_html_()
    assert "<script>" not in html
    assert "<img" not in html
    assert "&lt;script&gt;" in html
    assert "p&lt;&amp;&gt;" in html


def test_overrides_can_be_stamped_as_the_next_entry_of_the_history() -> None:
    model = three()
    base = score(model, MetricSnapshot("p", NOW, {"revenue": 10}), as_of=NOW)
    later = NOW + timedelta(days=1)
    overridden, _ = apply_override(model, base, override(band="at_risk"), at=later)
    assert (overridden.as_of, base.as_of) == (later, NOW)
    restored, _ = withdraw_override(overridden, actor="usr_bob", at=later + timedelta(hours=1))
    assert restored.as_of == later + timedelta(hours=1)
    assert restored.band == base.band
    with pytest.raises(ValidationError, match="only moves forward"):
        apply_override(model, overridden, override(band="at_risk"), at=NOW)
