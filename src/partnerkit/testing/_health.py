"""Hypothesis strategies for partnerkit.health (re-exported by `partnerkit.testing.strategies`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Final

from hypothesis import strategies as st

from partnerkit._base.money import Money
from partnerkit.health import (
    Backtest,
    Band,
    Direction,
    Gate,
    GateOperator,
    HealthScore,
    Measure,
    MissingPolicy,
    Normalizer,
    NormalizerKind,
    Override,
    ScoringModel,
    backtest,
    score_batch,
)
from partnerkit.metrics import MetricSnapshot

__all__ = [
    "backtests",
    "band_sets",
    "health_scores",
    "health_snapshots",
    "measures",
    "normalizers",
    "overrides",
    "scoring_models",
]

_METRICS: Final = ("revenue", "deals", "logins", "nps", "certified", "pipeline", "tickets")
_INSTANT: Final = datetime(2026, 11, 22, tzinfo=UTC)
_COLORS: Final = ("#d64545", "#e8a33d", "#3a9e5c", "#2f6fb0", "#777777", "#aa44aa")


def _numbers(low: int, high: int, places: int = 2) -> st.SearchStrategy[Decimal]:
    return st.decimals(
        min_value=low, max_value=high, places=places, allow_nan=False, allow_infinity=False
    )


@st.composite
def normalizers(draw: st.DrawFn, kind: NormalizerKind | None = None) -> Normalizer:
    """Valid normalisers of every kind (steps with rising points).

    Args:
        draw: Supplied by hypothesis; leave it out when calling.
        kind: Fix the kind, or draw one.
    """
    chosen = kind if kind is not None else draw(st.sampled_from(NormalizerKind))
    if chosen in (NormalizerKind.LINEAR, NormalizerKind.LOG):
        low = draw(_numbers(0 if chosen is NormalizerKind.LOG else -1000, 10_000))
        high = low + draw(_numbers(1, 1_000_000))
        return Normalizer(chosen, low=low, high=high)
    if chosen is NormalizerKind.TARGET:
        return Normalizer.target_attainment(draw(_numbers(1, 1_000_000)))
    if chosen is NormalizerKind.RECENCY:
        return Normalizer.recency(draw(_numbers(1, 365, places=1)))
    if chosen is NormalizerKind.STEPS:
        ats = sorted(draw(st.lists(_numbers(-100, 1000), min_size=1, max_size=5, unique=True)))
        points = sorted(draw(st.lists(_numbers(0, 100, 1), min_size=len(ats), max_size=len(ats))))
        return Normalizer.stepped(zip(ats, points, strict=True))
    return Normalizer.percentile()


@st.composite
def measures(draw: st.DrawFn, name: str, metric: str) -> Measure:
    """A measure called ``name`` reading ``metric``, with any normaliser and weight.

    Args:
        draw: Supplied by hypothesis; leave it out when calling.
        name: The measure's name.
        metric: The metric it reads.
    """
    normalizer = draw(normalizers())
    if normalizer.kind is NormalizerKind.RECENCY:
        direction = Direction.LOWER
    elif normalizer.kind is NormalizerKind.STEPS:
        direction = Direction.HIGHER
    else:
        direction = draw(st.sampled_from(Direction))
    return Measure(
        name,
        metric,
        normalizer,
        weight=draw(_numbers(0, 1000, 3)),
        direction=direction,
        missing=draw(st.none() | st.sampled_from(MissingPolicy)),
    )


@st.composite
def band_sets(draw: st.DrawFn) -> tuple[Band, ...]:
    """2 to 12 contiguous bands covering 0..100.

    Args:
        draw: Supplied by hypothesis; leave it out when calling.
    """
    cuts = sorted(draw(st.lists(_numbers(1, 99, 1), min_size=1, max_size=11, unique=True)))
    edges = [Decimal(0), *cuts, Decimal(100)]
    return tuple(
        Band(f"band_{index}", edges[index], edges[index + 1], _COLORS[index % len(_COLORS)])
        for index in range(len(edges) - 1)
    )


@st.composite
def scoring_models(
    draw: st.DrawFn, *, kinds: tuple[NormalizerKind, ...] | None = None
) -> ScoringModel:
    """Valid scoring models: 1-6 measures on distinct metrics, bands, gates, policies.

    Args:
        draw: Supplied by hypothesis; leave it out when calling.
        kinds: Only these normaliser kinds (all kinds by default).
    """
    metrics = draw(st.lists(st.sampled_from(_METRICS), min_size=1, max_size=6, unique=True))
    chosen = []
    for index, metric in enumerate(metrics):
        measure = draw(measures(f"m{index}", metric))
        if kinds is not None and measure.kind not in kinds:
            normalizer = draw(normalizers(draw(st.sampled_from(kinds))))
            direction = (
                Direction.LOWER
                if normalizer.kind is NormalizerKind.RECENCY
                else Direction.HIGHER
                if normalizer.kind is NormalizerKind.STEPS
                else measure.direction
            )
            measure = Measure(
                measure.name,
                metric,
                normalizer,
                weight=measure.weight,
                direction=direction,
                missing=measure.missing,
            )
        chosen.append(measure)
    if not any(measure.weight > 0 for measure in chosen):
        chosen[0] = Measure(
            chosen[0].name,
            chosen[0].metric,
            chosen[0].normalizer,
            weight=Decimal(1),
            direction=chosen[0].direction,
            missing=chosen[0].missing,
        )
    bands = draw(band_sets())
    gates = tuple(
        Gate(
            f"g{index}",
            draw(st.sampled_from(_METRICS)),
            draw(st.sampled_from(GateOperator)),
            draw(_numbers(-10, 500)),
            draw(st.sampled_from(bands)).name,
            fire_when_missing=draw(st.booleans()),
        )
        for index in range(draw(st.integers(0, 2)))
    )
    return ScoringModel(
        name=draw(st.sampled_from(["Standard", "Challenger", "Nordic resellers"])),
        version=draw(st.integers(1, 20)),
        measures=tuple(chosen),
        bands=bands,
        gates=gates,
        missing=draw(st.sampled_from(MissingPolicy)),
        neutral=draw(_numbers(0, 100, 1)),
        min_weight_share=draw(_numbers(0, 1, 2)),
        currency=draw(st.none() | st.just("USD")),
    )


def _value(metric: str) -> st.SearchStrategy[object]:
    whole = st.integers(min_value=-50, max_value=2_000_000)
    exact = _numbers(-1000, 2_000_000, 2)
    if metric in ("revenue", "pipeline"):
        return st.one_of(exact.map(lambda amount: Money(amount, "USD")), whole)
    return st.one_of(whole, exact)


@st.composite
def health_snapshots(
    draw: st.DrawFn, model: ScoringModel, partner_id: str | None = None, *, missing: bool = True
) -> MetricSnapshot:
    """A snapshot with values (ints, Decimals, USD money, sometimes none) for the model's metrics.

    Args:
        draw: Supplied by hypothesis; leave it out when calling.
        model: Whose metrics to fill.
        partner_id: Fix the partner (one is drawn otherwise).
        missing: Whether values may be ``None`` or absent.
    """
    metrics = {measure.metric for measure in model.measures} | {gate.metric for gate in model.gates}
    values: dict[str, object] = {}
    for metric in sorted(metrics):
        if missing and draw(st.integers(0, 9)) == 0:
            continue
        values[metric] = draw(_value(metric))
    pid = (
        partner_id
        if partner_id is not None
        else draw(st.from_regex(r"ptn_[a-z0-9]{1,8}", fullmatch=True))
    )
    return MetricSnapshot(pid, _INSTANT, values)  # type: ignore[arg-type]


def overrides(bands: tuple[Band, ...] | None = None) -> st.SearchStrategy[Override]:
    """Overrides by value or by band, active at the strategies' instant (2026-11-22)."""
    names = [band.name for band in bands] if bands else ["healthy", "at_risk", "critical"]
    start = st.integers(0, 30).map(lambda days: _INSTANT - timedelta(days=days))
    length = st.integers(1, 120).map(lambda days: timedelta(days=days))
    by_value = st.builds(
        lambda created, span, value: Override(
            "usr_1", "exec sponsor", created, created + span, value=value
        ),
        start,
        length,
        _numbers(0, 100, 1),
    )
    by_band = st.builds(
        lambda created, span, band: Override(
            "usr_2", "renewal signed", created, created + span, band=band
        ),
        start,
        length,
        st.sampled_from(names),
    )
    return st.one_of(by_value, by_band)


@st.composite
def health_scores(draw: st.DrawFn) -> HealthScore:
    """Real scores: a drawn model scoring a drawn cohort, sometimes overridden.

    Args:
        draw: Supplied by hypothesis; leave it out when calling.
    """
    model = draw(scoring_models())
    snapshots = [draw(health_snapshots(model, f"ptn_{index}")) for index in range(3)]
    override = draw(st.none() | overrides(model.bands))
    batch = score_batch(
        model, snapshots, as_of=_INSTANT, overrides={"ptn_0": override} if override else None
    )
    return batch["ptn_0"]


@st.composite
def backtests(draw: st.DrawFn) -> Backtest:
    """Backtests of drawn models on small drawn populations.

    Args:
        draw: Supplied by hypothesis; leave it out when calling.
    """
    model = draw(scoring_models())
    count = draw(st.integers(2, 12))
    snapshots = [draw(health_snapshots(model, f"ptn_{index}")) for index in range(count)]
    outcomes = {f"ptn_{index}": draw(st.booleans()) for index in range(count)}
    return backtest(model, snapshots, outcomes)
