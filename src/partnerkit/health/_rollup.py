"""Roll-ups: a parent's health from its children's (a distributor over its resellers)."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import attrs

from partnerkit._base.checks import check_enum, check_text
from partnerkit._base.ids import check_id
from partnerkit._base.time import to_utc
from partnerkit.errors import Problems, ValidationError
from partnerkit.health._kernel import (
    EXACT,
    SHARE_DECIMALS,
    SHARE_UNITS,
    TENTH_DECIMALS,
    Run,
    largest_remainder,
)
from partnerkit.health._score import HealthScore, ScoreStatus

if TYPE_CHECKING:
    from partnerkit.health._model import ScoringModel
    from partnerkit.metrics import MetricSnapshot
    from partnerkit.partners import Partner

__all__ = ["ParentData", "Rollup", "RollupMember", "RollupMethod", "rollup", "rollup_all"]


class RollupMethod(enum.StrEnum):
    """How children's scores combine into the parent's."""

    MEAN = "mean"
    """The plain average of the children's values."""
    WEIGHTED = "weighted"
    """The average weighted by a metric, such as revenue."""
    WORST = "worst"
    """The lowest value and the worst band of any child."""


class ParentData(enum.StrEnum):
    """Whether the parent's own score counts in its roll-up."""

    IGNORE = "ignore"
    """Only the children count (the default)."""
    INCLUDE = "include"
    """The parent counts as one more member."""
    FALLBACK = "fallback"
    """The parent's own score is used only when no child has a value."""


def _tenths(value: Decimal) -> int:
    return int(EXACT.multiply(value, 10))


@attrs.frozen
class RollupMember:
    """One score that went into a roll-up.

    Attributes:
        partner_id: Whose score.
        value: Its shown value (an override's, if one is active).
        band: Its shown band.
        weight_share: Its share of the roll-up's weight, 0..1 to four places.
        points: What it added to the roll-up's value; the points add up exactly.
        is_parent: Whether this is the parent's own score.
    """

    partner_id: str
    value: Decimal
    band: str
    weight_share: Decimal
    points: Decimal
    is_parent: bool = False


@attrs.frozen
class Rollup:
    """A parent's health rolled up from its children's scores.

    Roll-ups read each child's shown value and band, so a manager's override on a
    reseller counts in its distributor's roll-up. Gates do not apply again: the
    children's bands already passed theirs.

    Attributes:
        partner_id: The parent.
        as_of: The instant.
        model: The model name the children were scored with.
        model_version: Its version.
        method: How the members combined.
        status: ``scored``, or ``insufficient_data`` when no member had a value.
        value: The rolled-up value, 0..100 to one place.
        band: Its band: the value's (mean, weighted) or the worst member's (worst).
        color: The band's colour.
        members: The scores that counted, with their shares and points.
        skipped: Children left out: no value, or (weighted) no weight.
        weight_metric: The metric that weighted the members (weighted only).
    """

    partner_id: str
    as_of: datetime
    model: str
    model_version: int
    method: RollupMethod
    status: ScoreStatus
    value: Decimal | None
    band: str | None
    color: str | None
    members: tuple[RollupMember, ...] = ()
    skipped: tuple[str, ...] = ()
    weight_metric: str | None = None

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        problems.check("partner_id", check_id, self.partner_id, "")
        object.__setattr__(self, "as_of", problems.check("as_of", to_utc, self.as_of, ""))
        problems.check("model", check_text, self.model, required=True)
        method = problems.check("method", check_enum, RollupMethod, self.method)
        object.__setattr__(self, "method", method)
        status = problems.check("status", check_enum, ScoreStatus, self.status)
        object.__setattr__(self, "status", status)
        if self.value is not None and self.members:
            total = sum((member.points for member in self.members), Decimal(0))
            if total != self.value:
                problems.add("members", f"the points add up to {total}, not {self.value}")
        problems.raise_if_any()

    def _repr_html_(self) -> str:
        from partnerkit.health._html import rollup_html  # noqa: PLC0415 - only notebooks need it

        return rollup_html(self)


def _weights(
    members: list[HealthScore],
    weight_metric: str,
    snapshots: Mapping[str, MetricSnapshot],
    model: ScoringModel,
) -> tuple[list[HealthScore], list[Decimal | int], list[str]]:
    run = Run(model.currency)
    kept: list[HealthScore] = []
    weights: list[Decimal | int] = []
    skipped: list[str] = []
    for member in members:
        snapshot = snapshots.get(member.partner_id)
        raw = snapshot.get(weight_metric) if snapshot is not None else None
        if raw is None:
            skipped.append(member.partner_id)
            continue
        weight = run.number(raw, weight_metric, member.partner_id)
        if weight < 0:
            raise ValidationError.single(
                f"snapshots[{member.partner_id!r}].values[{weight_metric!r}]",
                f"weights cannot be negative, got {weight}; a refund-heavy partner can "
                f"be weighted by another metric, or given 0",
            )
        kept.append(member)
        weights.append(weight)
    return kept, weights, skipped


def _integer_weights(weights: list[Decimal | int]) -> list[int]:
    places = 0
    for weight in weights:
        if isinstance(weight, Decimal):
            exponent = weight.as_tuple().exponent
            assert isinstance(exponent, int)  # noqa: S101 - narrows a type the code above guarantees
            places = max(places, -exponent)
    return [int(Decimal(weight).scaleb(places, context=EXACT)) for weight in weights]


def rollup(
    model: ScoringModel,
    parent_id: str,
    children: Iterable[HealthScore],
    *,
    as_of: datetime,
    method: RollupMethod | str = RollupMethod.MEAN,
    parent: HealthScore | None = None,
    parent_data: ParentData | str = ParentData.IGNORE,
    weight_metric: str | None = None,
    snapshots: Mapping[str, MetricSnapshot] | Iterable[MetricSnapshot] | None = None,
) -> Rollup:
    """Roll the children's scores up into the parent's.

    Args:
        model: The model the children were scored with (for bands and colours).
        parent_id: The parent partner.
        children: The children's scores; those without a value are skipped.
        as_of: The instant of the roll-up.
        method: ``mean``, ``weighted`` (by ``weight_metric``) or ``worst``.
        parent: The parent's own score.
        parent_data: Whether the parent's own score is ignored, included as one
            more member, or used as a fallback when no child has a value.
        weight_metric: For ``weighted``: the metric whose value weighs each member
            (money: its amount); members without it are skipped.
        snapshots: For ``weighted``: the members' snapshots (by partner id or a list).

    Returns:
        The `Rollup`, whose members' points add up exactly to its value.

    Raises:
        ValidationError: For a weighted roll-up without its metric or snapshots,
            or negative weights.
    """
    problems = Problems()
    how = problems.check("method", check_enum, RollupMethod, method)
    policy = problems.check("parent_data", check_enum, ParentData, parent_data)
    when = problems.check("as_of", to_utc, as_of, "")
    problems.check("parent_id", check_id, parent_id, "")
    if how is RollupMethod.WEIGHTED and (weight_metric is None or snapshots is None):
        problems.add("weight_metric", "a weighted roll-up needs weight_metric= and snapshots=")
    if how is not RollupMethod.WEIGHTED and weight_metric is not None:
        problems.add("weight_metric", "only a weighted roll-up uses a weight metric")
    problems.raise_if_any()
    assert how is not None  # noqa: S101 - narrows a type the code above guarantees
    assert policy is not None  # noqa: S101 - narrows a type the code above guarantees
    assert when is not None  # noqa: S101 - narrows a type the code above guarantees
    kids = list(children)
    members = [child for child in kids if child.value is not None and child.band is not None]
    skipped = [child.partner_id for child in kids if child.value is None or child.band is None]
    usable_parent = parent if parent is not None and parent.value is not None else None
    flags = [False] * len(members)
    if usable_parent is not None and (
        policy is ParentData.INCLUDE or (policy is ParentData.FALLBACK and not members)
    ):
        members.append(usable_parent)
        flags.append(True)
    weights: list[Decimal | int] = [1] * len(members)
    if how is RollupMethod.WEIGHTED:
        assert weight_metric is not None  # noqa: S101 - narrows a type the code above guarantees
        assert snapshots is not None  # noqa: S101 - narrows a type the code above guarantees
        by_id = (
            dict(snapshots)
            if isinstance(snapshots, Mapping)
            else {snapshot.partner_id: snapshot for snapshot in snapshots}
        )
        is_parent = {id(member): flag for member, flag in zip(members, flags, strict=True)}
        members, weights, no_weight = _weights(members, weight_metric, by_id, model)
        flags = [is_parent[id(member)] for member in members]
        skipped += no_weight
    return _combine(
        model,
        parent_id,
        when,
        how,
        members=members,
        flags=flags,
        weights=weights,
        skipped=tuple(skipped),
        weight_metric=weight_metric,
    )


def _combine(
    model: ScoringModel,
    parent_id: str,
    when: datetime,
    how: RollupMethod,
    *,
    members: list[HealthScore],
    flags: list[bool],
    weights: list[Decimal | int],
    skipped: tuple[str, ...],
    weight_metric: str | None,
) -> Rollup:
    integers = _integer_weights(weights)
    total_weight = sum(integers)
    empty = Rollup(
        parent_id,
        when,
        model.name,
        model.version,
        how,
        ScoreStatus.INSUFFICIENT_DATA,
        None,
        None,
        None,
        skipped=skipped,
        weight_metric=weight_metric,
    )
    if not members or (how is not RollupMethod.WORST and not total_weight):
        return empty
    values = [_tenths(member.value) for member in members]  # type: ignore[arg-type]
    if how is RollupMethod.WORST:
        worst = min(range(len(members)), key=lambda index: (values[index], index))
        tenths = values[worst]
        band_order = [band.name for band in model.bands]
        band = model.bands[min(band_order.index(member.band or "") for member in members)]
        points = [tenths if index == worst else 0 for index in range(len(members))]
        shares = [SHARE_UNITS if index == worst else 0 for index in range(len(members))]
    else:
        weighted = sum(value * weight for value, weight in zip(values, integers, strict=True))
        tenths = (2 * weighted + total_weight) // (2 * total_weight)
        points = largest_remainder(
            [value * weight for value, weight in zip(values, integers, strict=True)],
            total_weight,
            tenths,
        )
        shares = largest_remainder(
            [weight * SHARE_UNITS for weight in integers], total_weight, SHARE_UNITS
        )
        band = model.band_for(TENTH_DECIMALS[tenths])
    rolled = tuple(
        RollupMember(
            member.partner_id,
            member.value,  # type: ignore[arg-type]
            member.band,  # type: ignore[arg-type]
            SHARE_DECIMALS[share],
            TENTH_DECIMALS[point],
            flag,
        )
        for member, share, point, flag in zip(members, shares, points, flags, strict=True)
    )
    return attrs.evolve(
        empty,
        status=ScoreStatus.SCORED,
        value=TENTH_DECIMALS[tenths],
        band=band.name,
        color=band.color,
        members=rolled,
    )


def rollup_all(
    model: ScoringModel,
    scores: Mapping[str, HealthScore] | Iterable[HealthScore],
    parents: Mapping[str, str | None] | Iterable[Partner],
    *,
    as_of: datetime,
    method: RollupMethod | str = RollupMethod.MEAN,
    parent_data: ParentData | str = ParentData.IGNORE,
    weight_metric: str | None = None,
    snapshots: Mapping[str, MetricSnapshot] | Iterable[MetricSnapshot] | None = None,
) -> dict[str, Rollup]:
    """Roll up every parent over its direct children.

    Each parent combines its children's own scores (not their roll-ups), so a
    three-level hierarchy gives each level a roll-up of the level right below.

    Args:
        model: The model the scores came from.
        scores: Everyone's scores (by partner id, a list, or a `ScoreBatch`).
        parents: Child id to parent id, or the partners (their ``parent_id``).
        as_of: The instant of the roll-ups.
        method: As for `rollup`.
        parent_data: As for `rollup`.
        weight_metric: As for `rollup`.
        snapshots: As for `rollup`.

    Returns:
        Parent id to its `Rollup`, for every parent with at least one child.
    """
    by_id = (
        dict(scores) if isinstance(scores, Mapping) else {item.partner_id: item for item in scores}
    )
    if isinstance(parents, Mapping):
        parent_of = dict(parents)
    else:
        parent_of = {partner.id: partner.parent_id for partner in parents}
    children: dict[str, list[HealthScore]] = {}
    for child_id, parent_id in parent_of.items():
        if parent_id is not None and child_id in by_id:
            children.setdefault(parent_id, []).append(by_id[child_id])
    if snapshots is not None and not isinstance(snapshots, Mapping):
        snapshots = {snapshot.partner_id: snapshot for snapshot in snapshots}
    return {
        parent_id: rollup(
            model,
            parent_id,
            kids,
            as_of=as_of,
            method=method,
            parent=by_id.get(parent_id),
            parent_data=parent_data,
            weight_metric=weight_metric,
            snapshots=snapshots,
        )
        for parent_id, kids in children.items()
    }
