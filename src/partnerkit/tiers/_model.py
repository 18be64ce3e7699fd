"""Programs, tiers, requirements, benefits and tier policy: the tier ladder as data."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

import attrs

from partnerkit._base.checks import check_enum, check_items, check_slug, check_text
from partnerkit._base.events import Scalar, check_scalars
from partnerkit._base.ids import check_id
from partnerkit._base.money import Money, check_currency, format_value, to_decimal
from partnerkit._base.time import Cadence, Period
from partnerkit.errors import FieldProblem, NotFoundError, Problems, ValidationError
from partnerkit.metrics import Aggregate, MetricDefinition

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

__all__ = [
    "BUILT_IN_METRICS",
    "Benefits",
    "Comparison",
    "Program",
    "Requirement",
    "Tier",
    "TierPolicy",
    "all_of",
    "any_of",
    "ladder_problems",
]

#: Metrics every program can read without defining them, computed from the
#: membership's joined date at the review instant: whole days, and whole calendar
#: months, since the partner joined the program.
BUILT_IN_METRICS: Final = ("membership_days", "membership_months")

_MAX_DEPTH: Final = 8
_QUARTERLY: Final = "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1"


class Comparison(enum.StrEnum):
    """How a requirement compares a metric's value with its threshold."""

    AT_LEAST = ">="
    MORE_THAN = ">"
    AT_MOST = "<="
    LESS_THAN = "<"
    EQUAL = "=="

    @property
    def higher_is_better(self) -> bool | None:
        """``True`` for ``>=``/``>``, ``False`` for ``<=``/``<``, ``None`` for ``==``."""
        if self in (Comparison.AT_LEAST, Comparison.MORE_THAN):
            return True
        if self in (Comparison.AT_MOST, Comparison.LESS_THAN):
            return False
        return None


def _read_threshold(value: object) -> Money | Decimal:
    if isinstance(value, Money):
        return value
    if isinstance(value, str) and any(char.isalpha() for char in value):
        return Money.parse(value)  # "25,000 USD": the friendly way to write money
    return to_decimal(value, "")


@attrs.frozen
class Requirement:
    """One node of a tier's requirements: a criterion or a group of requirements.

    A **criterion** compares one metric with a threshold::

        Requirement("revenue_12m", ">=", Money("100000", "USD"))
        Requirement("certified_people", ">=", 2)
        Requirement("days_since_login", "<=", 30)

    A **group** combines requirements: ``all_of`` passes when every member passes (an
    empty ``all_of`` always passes: a tier without requirements), ``any_of`` when at
    least one does. Groups nest. Build them with `all_of` and `any_of`.

    Thresholds are ``Decimal`` (ints and numeric strings are read exactly; floats are
    refused) or `Money` (a ``Money`` or a string such as ``"25,000 USD"``).

    Attributes:
        metric: The metric a criterion reads (``None`` for a group).
        comparison: ``>=`` (the default for a criterion), ``>``, ``<=``, ``<`` or ``==``.
        threshold: The value the metric is compared with.
        all_of: A group's members that must all pass.
        any_of: A group's members of which one must pass.
    """

    metric: str | None = None
    comparison: Comparison | None = None
    threshold: Money | Decimal | None = None
    all_of: tuple[Requirement, ...] = ()
    any_of: tuple[Requirement, ...] = ()

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        fix = object.__setattr__
        all_members = _members(self.all_of, "all_of", problems)
        any_members = _members(self.any_of, "any_of", problems)
        fix(self, "all_of", all_members)
        fix(self, "any_of", any_members)
        is_criterion = (
            self.metric is not None or self.comparison is not None or self.threshold is not None
        )
        if is_criterion:
            if all_members or any_members:
                problems.add(
                    "",
                    "a requirement is either a criterion (metric, comparison, threshold) or "
                    "a group (all_of or any_of), not both; wrap the criterion in the group",
                )
            if self.metric is None:
                problems.add("metric", "a criterion needs the metric it reads")
            else:
                problems.check("metric", check_slug, self.metric, "metric name")
            comparison = problems.check(
                "comparison",
                check_enum,
                Comparison,
                Comparison.AT_LEAST if self.comparison is None else self.comparison,
            )
            fix(self, "comparison", comparison)
            if self.threshold is None:
                problems.add("threshold", "a criterion needs a threshold, such as 2 or '25000 USD'")
            else:
                fix(self, "threshold", problems.check("threshold", _read_threshold, self.threshold))
        elif all_members and any_members:
            problems.add(
                "",
                "a group has either all_of or any_of; nest one group inside the other "
                "to combine them",
            )
        problems.raise_if_any()

    @property
    def is_criterion(self) -> bool:
        """Whether this node compares a metric (rather than grouping requirements)."""
        return self.metric is not None

    def criteria(self, path: str = "") -> Iterator[tuple[str, Requirement]]:
        """Every criterion below this node, depth first, with its path from here.

        Paths look like ``all_of[1].any_of[0]``; the root criterion's path is ``""``.
        """
        if self.metric is not None:
            yield path, self
            return
        name = "all_of" if self.all_of else "any_of"
        for index, member in enumerate(self.all_of or self.any_of):
            yield from member.criteria(f"{path}.{name}[{index}]" if path else f"{name}[{index}]")

    @property
    def depth(self) -> int:
        """How many groups deep the deepest criterion sits (a criterion is 0)."""
        members = self.all_of or self.any_of
        if not members:
            return 0 if self.metric is not None else 1
        return 1 + max(member.depth for member in members)

    def __str__(self) -> str:
        if self.metric is not None:
            return f"{self.metric} {self.comparison} {format_value(self.threshold)}"
        if self.any_of:
            return "any of (" + "; ".join(str(member) for member in self.any_of) + ")"
        return "all of (" + "; ".join(str(member) for member in self.all_of) + ")"


def _members(value: object, path: str, problems: Problems) -> tuple[Requirement, ...]:
    return check_items(value, path, problems, Requirement, what="a list of requirements")


def all_of(*requirements: Requirement) -> Requirement:
    """A group that passes when every one of ``requirements`` passes."""
    return Requirement(all_of=requirements)


def any_of(*requirements: Requirement) -> Requirement:
    """A group that passes when at least one of ``requirements`` passes."""
    if not requirements:
        raise ValidationError.single("any_of", "an any_of group needs at least one requirement")
    return Requirement(any_of=requirements)


def _read_percent(value: object) -> Decimal:
    number = to_decimal(value, "")
    if not Decimal(0) <= number <= Decimal(100):
        raise ValidationError.single("", f"{number} is not a percentage from 0 to 100")
    return number


def _read_protection(value: object) -> Period:
    if isinstance(value, Period):
        period = value
    elif isinstance(value, int) and not isinstance(value, bool):
        period = Period(days=value)
    elif isinstance(value, str):
        period = Period.parse(value, "")
    else:
        raise ValidationError.single(
            "", f"expected a Period, a number of days or a duration such as 'P90D', got {value!r}"
        )
    if any(part < 0 for part in period._parts()):
        raise ValidationError.single("", f"{period} is negative; protection runs forwards")
    return period


@attrs.frozen
class Benefits:
    """What a tier gives its partners.

    Attributes:
        discount_percent: Discount off list price, 0 to 100 (``Decimal``; ``"12.5"``).
        mdf_eligible: Whether the tier may receive market development funds.
        mdf_cap: The most MDF a partner of the tier may receive per allocation, in
            the program currency; only for eligible tiers (``None``: no cap).
        lead_weight: Share of routed leads relative to other tiers; 0 means the
            tier never receives leads.
        deal_protection: How long an approved deal registration is protected: a
            `Period`, or a whole number of days. ``None`` leaves it to the deal
            registration default (90 days).
        custom: Anything else, as flat names to str, int, bool or None values.
    """

    discount_percent: Decimal = Decimal(0)
    mdf_eligible: bool = False
    mdf_cap: Money | None = None
    lead_weight: int = 1
    deal_protection: Period | None = None
    custom: dict[str, Scalar] = attrs.field(factory=dict)

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        fix = object.__setattr__
        fix(
            self,
            "discount_percent",
            problems.check("discount_percent", _read_percent, self.discount_percent),
        )
        if not isinstance(self.mdf_eligible, bool):
            problems.add("mdf_eligible", "expected true or false")
        if self.mdf_cap is not None:
            if not isinstance(self.mdf_cap, Money):
                problems.add("mdf_cap", "expected money such as Money('50000', 'USD')")
            elif self.mdf_cap.amount < 0:
                problems.add("mdf_cap", "an MDF cap cannot be negative")
            if self.mdf_eligible is False:
                problems.add("mdf_cap", "only MDF-eligible tiers have a cap; set mdf_eligible")
        weight = self.lead_weight
        if isinstance(weight, bool) or not isinstance(weight, int) or weight < 0:
            problems.add("lead_weight", "expected a whole number, 0 (never receives leads) or more")
        if self.deal_protection is not None:
            protection = problems.check("deal_protection", _read_protection, self.deal_protection)
            fix(self, "deal_protection", protection)
        fix(self, "custom", check_scalars(self.custom, problems, "custom"))
        problems.raise_if_any()

    @property
    def receives_leads(self) -> bool:
        """Whether partners of the tier are routed leads at all."""
        return self.lead_weight > 0

    def protection_ends(self, approved_on: date) -> date | None:
        """The first day a deal approved on ``approved_on`` is no longer protected.

        ``None`` when the tier leaves protection to the deal registration default.
        """
        if self.deal_protection is None:
            return None
        return approved_on + self.deal_protection


@attrs.frozen
class TierPolicy:
    """How reviews move partners between tiers.

    Attributes:
        skip_levels: An upgrade goes straight to the highest tier the partner
            qualifies for (``True``, the default) or one level per review.
        downgrade_after: The consecutive failing reviews after which a partner is
            proposed for downgrade (2 or more: the first failing review always
            starts grace).
        auto_approve_downgrades: Apply a downgrade at once instead of proposing it
            to a channel manager.
        strict_ladder: Refuse a program whose higher tier asks less than a lower
            one for the same metric and comparison (see `ladder_problems`).
    """

    skip_levels: bool = True
    downgrade_after: int = 2
    auto_approve_downgrades: bool = False
    strict_ladder: bool = True

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        for name in ("skip_levels", "auto_approve_downgrades", "strict_ladder"):
            if not isinstance(getattr(self, name), bool):
                problems.add(name, "expected true or false")
        after = self.downgrade_after
        if isinstance(after, bool) or not isinstance(after, int) or not 2 <= after <= 100:
            problems.add(
                "downgrade_after",
                f"expected a whole number from 2 to 100, got {after!r}: the first failing "
                f"review starts grace, so a downgrade can be proposed at the second at the "
                f"earliest",
            )
        problems.raise_if_any()


@attrs.frozen
class Tier:
    """One level of a program.

    Attributes:
        id: A lowercase slug, unique in the program: ``"gold"``.
        name: What partners see: ``"Gold"``.
        rank: 1 for the entry tier, then 2, 3... upwards.
        requirements: What a partner must meet to hold the tier (none by default).
        benefits: What the tier gives.
    """

    id: str
    name: str
    rank: int
    requirements: Requirement = attrs.field(factory=Requirement)
    benefits: Benefits = attrs.field(factory=Benefits)

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        problems.check("id", check_slug, self.id, "tier id")
        object.__setattr__(
            self, "name", problems.check("name", check_text, self.name, required=True)
        )
        rank = self.rank
        if isinstance(rank, bool) or not isinstance(rank, int) or rank < 1:
            problems.add(
                "rank", f"expected a whole number from 1 (the entry tier) up, got {rank!r}"
            )
        if not isinstance(self.requirements, Requirement):
            problems.add("requirements", "expected a Requirement (use all_of(...) for several)")
        if not isinstance(self.benefits, Benefits):
            problems.add("benefits", "expected Benefits")
        problems.raise_if_any()


def _utc_midnight() -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC)


def _quarterly() -> Cadence:
    return Cadence(_QUARTERLY, anchor=_utc_midnight())


def _labels(value: object, problems: Problems) -> dict[str, str]:
    if not isinstance(value, dict):
        problems.add("labels", "expected a dict of metric name to label")
        return {}
    checked: dict[str, str] = {}
    for name, label in value.items():
        text = problems.check(f"labels[{name!r}]", check_text, label, required=True)
        if text is not None and text.count("|") > 1:
            problems.add(
                f"labels[{name!r}]",
                "write the label as 'singular|plural' (one |), such as "
                "'certified person|certified people'",
            )
        checked[str(name)] = text or ""
    return checked


@attrs.frozen
class Program:
    """A partner program: its tier ladder, the metrics it reads and its policy.

    Validated when built, with every problem at once and its path
    (``tiers[2].requirements.all_of[0].threshold``): tier ranks run 1, 2, 3...
    without gaps or repeats, tier ids and names are unique, every criterion reads a
    metric in ``metrics`` or a built-in (`BUILT_IN_METRICS`), money thresholds are
    money in the program currency and read a metric that reports in that currency,
    and, unless ``policy.strict_ladder`` is off, no higher tier asks less than a
    lower one (`ladder_problems`). Tiers are kept sorted by rank.

    Attributes:
        id: Opaque id of the program.
        name: Its name.
        currency: The ISO 4217 currency of money thresholds and MDF caps.
        tiers: The tiers, rank 1 (entry) first.
        metrics: The metric definitions requirements read; compute snapshots with
            exactly these (``compute_snapshots(program.metrics, ...)``).
        review: When reviews run (default: quarterly, on the 1st of January, April,
            July and October, 00:00 UTC).
        policy: How reviews move partners.
        labels: Words for gaps and warnings, metric name to ``"singular|plural"``
            or one mass noun: ``{"certified_people": "certified person|certified
            people", "revenue_12m": "revenue"}``. Metrics without one are named by
            their name.
    """

    id: str
    name: str
    currency: str
    tiers: tuple[Tier, ...]
    metrics: tuple[MetricDefinition, ...] = ()
    review: Cadence = attrs.field(factory=_quarterly)
    policy: TierPolicy = attrs.field(factory=TierPolicy)
    labels: dict[str, str] = attrs.field(factory=dict)
    # The compiled form used by evaluations, built on first use (see tiers/_engine.py).
    _engine: Any = attrs.field(init=False, default=None, eq=False, repr=False, hash=False)

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        fix = object.__setattr__
        problems.check("id", check_id, self.id, "")
        fix(self, "name", problems.check("name", check_text, self.name, required=True))
        currency = problems.check("currency", check_currency, self.currency, "")
        fix(self, "currency", currency)
        if not isinstance(self.review, Cadence):
            problems.add("review", "expected a Cadence such as Cadence('FREQ=MONTHLY;INTERVAL=3')")
        if not isinstance(self.policy, TierPolicy):
            problems.add("policy", "expected a TierPolicy")
        metrics = _sequence(self.metrics, "metrics", MetricDefinition, problems)
        tiers = _sequence(self.tiers, "tiers", Tier, problems)
        fix(self, "labels", _labels(self.labels, problems))
        problems.raise_if_any()
        if not tiers:
            problems.add("tiers", "a program needs at least one tier")
        known = _check_metrics(metrics, problems)
        for name in self.labels:
            if name not in known:
                problems.add(f"labels[{name!r}]", f"not a metric of the program ({_known(known)})")
        _check_tiers(tiers, problems)
        for index, tier in enumerate(tiers):
            _check_requirements(self, tier, f"tiers[{index}]", known, problems)
            cap = tier.benefits.mdf_cap
            if cap is not None and currency is not None and cap.currency != currency:
                problems.add(
                    f"tiers[{index}].benefits.mdf_cap",
                    f"the cap is in {cap.currency} but the program is in {currency}; "
                    f"give it in {currency}",
                )
        if not problems.found and self.policy.strict_ladder:
            for problem in ladder_problems(self, tiers):
                problems.found.append(problem)
        problems.raise_if_any()
        fix(self, "metrics", metrics)
        fix(self, "tiers", tuple(sorted(tiers, key=lambda tier: tier.rank)))

    # The compiled engine holds closures, which neither pickle nor need to: a
    # program read back (or sent to another process) compiles again on first use.
    def __getstate__(self) -> dict[str, Any]:
        return {
            field.name: getattr(self, field.name) for field in attrs.fields(Program) if field.init
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, value)
        object.__setattr__(self, "_engine", None)

    @property
    def entry_tier(self) -> Tier:
        """The rank 1 tier."""
        return self.tiers[0]

    @property
    def top_tier(self) -> Tier:
        """The highest-ranked tier."""
        return self.tiers[-1]

    def tier(self, tier_id: str) -> Tier:
        """The tier with ``tier_id``.

        Raises:
            NotFoundError: Listing the program's tier ids.
        """
        for tier in self.tiers:
            if tier.id == tier_id:
                return tier
        ids = ", ".join(tier.id for tier in self.tiers)
        raise NotFoundError("tier", tier_id, f"program {self.id!r} has tiers: {ids}")

    def metric(self, name: str) -> MetricDefinition | None:
        """The definition of metric ``name`` (``None`` for a built-in)."""
        for definition in self.metrics:
            if definition.name == name:
                return definition
        if name in BUILT_IN_METRICS:
            return None
        raise NotFoundError("metric", name, f"program {self.id!r} has: {_known(self._known())}")

    def _known(self) -> set[str]:
        return {definition.name for definition in self.metrics} | set(BUILT_IN_METRICS)


def _sequence(value: object, path: str, cls: type[Any], problems: Problems) -> tuple[Any, ...]:
    return check_items(value, path, problems, cls)


def _known(names: Iterable[str]) -> str:
    defined = sorted(set(names) - set(BUILT_IN_METRICS))
    listed = ", ".join(defined) if defined else "no metrics defined"
    return f"known: {listed}; built-in: {', '.join(BUILT_IN_METRICS)}"


def _check_metrics(metrics: tuple[MetricDefinition, ...], problems: Problems) -> set[str]:
    seen: dict[str, int] = {}
    for index, definition in enumerate(metrics):
        if definition.name in BUILT_IN_METRICS:
            problems.add(
                f"metrics[{index}].name",
                f"{definition.name!r} is a built-in metric computed from the membership; "
                f"use it without defining it, or choose another name",
            )
        elif definition.name in seen:
            problems.add(
                f"metrics[{index}].name",
                f"metric {definition.name!r} is defined twice "
                f"(also metrics[{seen[definition.name]}])",
            )
        seen.setdefault(definition.name, index)
    return set(seen) | set(BUILT_IN_METRICS)


def _check_tiers(tiers: tuple[Tier, ...], problems: Problems) -> None:
    for attribute, what in (("id", "tier id"), ("name", "tier name"), ("rank", "rank")):
        first: dict[object, int] = {}
        for index, tier in enumerate(tiers):
            value = getattr(tier, attribute)
            if value in first:
                problems.add(
                    f"tiers[{index}].{attribute}",
                    f"{what} {value!r} is used twice (also tiers[{first[value]}]); "
                    f"each tier needs its own",
                )
            first.setdefault(value, index)
    ranks = {tier.rank for tier in tiers}
    missing = [rank for rank in range(1, len(tiers) + 1) if rank not in ranks]
    if missing and len(ranks) == len(tiers):
        problems.add(
            "tiers",
            f"ranks must run 1, 2, 3... without gaps, 1 being the entry tier; missing "
            f"{', '.join(str(rank) for rank in missing)}",
        )


# Aggregates whose value is money when the definition has a currency.
_MONEY_AGGREGATES: Final = (Aggregate.SUM, Aggregate.LATEST)


def _check_requirements(
    program: Program, tier: Tier, path: str, known: set[str], problems: Problems
) -> None:
    root = f"{path}.requirements"
    if tier.requirements.depth > _MAX_DEPTH:
        problems.add(root, f"groups nest at most {_MAX_DEPTH} deep; flatten them")
        return
    definitions = {definition.name: definition for definition in program.metrics}
    currency = program.currency
    for sub, criterion in tier.requirements.criteria():
        at = f"{root}.{sub}" if sub else root
        name = criterion.metric
        assert name is not None  # noqa: S101 - criteria() yields criteria only
        if name not in known:
            problems.add(f"{at}.metric", f"unknown metric {name!r}; {_known(known)}")
            continue
        threshold = criterion.threshold
        definition = definitions.get(name)
        metric_currency = (
            definition.currency
            if definition is not None and definition.aggregate in _MONEY_AGGREGATES
            else None
        )
        if isinstance(threshold, Money):
            if currency is not None and threshold.currency != currency:
                problems.add(
                    f"{at}.threshold",
                    f"{threshold} is in {threshold.currency} but program {program.id!r} is in "
                    f"{currency}; give the threshold in {currency}",
                )
            elif definition is None or definition.aggregate not in _MONEY_AGGREGATES:
                problems.add(
                    f"{at}.threshold",
                    f"metric {name!r} is a count or number, not money; give a plain number",
                )
            elif definition.currency != currency:
                problems.add(
                    f"{at}.threshold",
                    f"metric {name!r} compares with money but its definition has no "
                    f"currency {currency!r}; set currency={currency!r} on it so every "
                    f"snapshot reports it in {currency}",
                )
        elif metric_currency is not None:
            problems.add(
                f"{at}.threshold",
                f"metric {name!r} is money in {metric_currency}; give the threshold as "
                f"money, such as '{threshold} {metric_currency}'",
            )


def ladder_problems(program: Program, tiers: Iterable[Tier] | None = None) -> list[FieldProblem]:
    """Where a higher tier asks less than a lower one for the same metric and comparison.

    For ``>=`` and ``>`` a higher tier's threshold must be at least every lower
    tier's threshold for that metric and comparison; for ``<=`` and ``<`` at most.
    ``==`` criteria are not compared. Where a criterion sits in its tier's groups
    does not matter. A strict program (the default) is refused when this finds
    anything; with ``policy.strict_ladder`` off the program is accepted and this
    lists what to look at.

    Returns:
        A `FieldProblem` per offending threshold, with its path and both values.
    """
    listed = tuple(program.tiers if tiers is None else tiers)
    order = sorted(range(len(listed)), key=lambda index: listed[index].rank)
    # (metric, comparison) -> [(rank, tier name, path, threshold)] of lower tiers
    seen: dict[tuple[str, Comparison], list[tuple[int, str, str, Money | Decimal]]] = {}
    found: list[FieldProblem] = []
    for index in order:
        tier = listed[index]
        current: list[tuple[tuple[str, Comparison], str, Money | Decimal]] = []
        for sub, criterion in tier.requirements.criteria():
            comparison = criterion.comparison
            # criteria() yields criteria, which always have all three.
            assert comparison is not None  # noqa: S101
            assert criterion.metric is not None  # noqa: S101
            assert criterion.threshold is not None  # noqa: S101
            higher = comparison.higher_is_better
            if higher is None:
                continue
            key = (criterion.metric, comparison)
            path = f"tiers[{index}].requirements" + (f".{sub}" if sub else "")
            threshold = criterion.threshold
            for rank, name, other_path, other in seen.get(key, ()):
                if rank == tier.rank or not _comparable(threshold, other):
                    continue
                asks_less = threshold < other if higher else threshold > other
                if asks_less:
                    more_or_less = "less" if higher else "more"
                    found.append(
                        FieldProblem(
                            f"{path}.threshold",
                            f"{tier.name} asks {criterion.metric} {comparison} "
                            f"{format_value(threshold)}, {more_or_less} than {name} "
                            f"({format_value(other)} at {other_path}); a higher tier must "
                            f"not ask for {more_or_less}: change one of them, or set "
                            f"policy.strict_ladder = false to allow it",
                        )
                    )
            current.append((key, path, threshold))
        for key, path, threshold in current:
            seen.setdefault(key, []).append((tier.rank, tier.name, path, threshold))
    return found


def _comparable(left: Money | Decimal, right: Money | Decimal) -> bool:
    if isinstance(left, Money) or isinstance(right, Money):
        return (
            isinstance(left, Money) and isinstance(right, Money) and left.currency == right.currency
        )
    return True
