"""Tier evaluation: compiled programs, decisions with evidence, and the membership moves."""

from __future__ import annotations

import enum
import operator
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any, Final

import attrs
from dateutil.relativedelta import relativedelta

from partnerkit._base.checks import check_text
from partnerkit._base.events import Change, Event, Scalar
from partnerkit._base.ids import check_id
from partnerkit._base.later import Later, defer
from partnerkit._base.money import Money, format_value
from partnerkit._base.time import to_utc
from partnerkit._base.trusted import evolve_trusted
from partnerkit.errors import InvalidTransitionError, Problems, ValidationError
from partnerkit.metrics import MetricSnapshot, MetricValue, WindowKind
from partnerkit.tiers._membership import (
    DowngradeProposal,
    Membership,
    Pin,
    TierAssignment,
    TierChangeCause,
)
from partnerkit.tiers._model import (
    BUILT_IN_METRICS,
    Comparison,
    Program,
    Requirement,
    Tier,
)

__all__ = [
    "RequirementEvidence",
    "TierDecision",
    "TierEvidence",
    "TierOutcome",
    "apply_decision",
    "approve_downgrade",
    "evaluate",
    "next_review",
    "pin_tier",
    "qualifying_tier",
    "reject_downgrade",
    "unpin",
]

_ONE: Final = Decimal(1)
_ZERO: Final = Decimal(0)
# A failing requirement never shows as 100 %: progress is cut below one.
_BELOW_ONE: Final = Decimal("0.9999")
_PLACES: Final = Decimal("0.0001")


class TierOutcome(enum.StrEnum):
    """What a review decides for one membership."""

    UPGRADE = "upgrade"
    """The partner qualifies for a higher tier and moves up at once."""
    KEEP = "keep"
    """The partner meets its tier (a partner in grace that recovers is kept too)."""
    GRACE = "grace"
    """The partner fails its tier but keeps it for now."""
    PROPOSED_DOWNGRADE = "proposed_downgrade"
    """Failing for ``downgrade_after`` reviews: one level down, once a manager approves."""
    DOWNGRADE = "downgrade"
    """One level down at once (programs that auto-approve downgrades)."""
    PINNED = "pinned"
    """A manager's pin holds the tier, whatever the metrics say."""


# Enum members bound once: reading TierOutcome.KEEP costs a lookup per partner.
_UPGRADE: Final = TierOutcome.UPGRADE
_KEEP: Final = TierOutcome.KEEP
_GRACE: Final = TierOutcome.GRACE
_PROPOSED: Final = TierOutcome.PROPOSED_DOWNGRADE
_DOWNGRADE: Final = TierOutcome.DOWNGRADE
_PINNED: Final = TierOutcome.PINNED


def _whole(value: object) -> bool:
    if isinstance(value, int):
        return True
    return isinstance(value, Decimal) and value == value.to_integral_value()


def _minus(left: Money | Decimal | int, right: Money | Decimal | int) -> Money | Decimal | int:
    # Program validation makes both sides money or both numbers.
    if isinstance(left, Money) and isinstance(right, Money):
        return left - right
    if isinstance(left, Money) or isinstance(right, Money):
        raise ValidationError.single("actual", "cannot compare money with a plain number")
    return left - right


def _plus(value: Money | Decimal | int, step: Decimal | int) -> Money | Decimal | int:
    if not step:
        return value
    if isinstance(value, Money):
        return value + Money(step, value.currency)
    return value + step


def _strict_step(actual: object, threshold: Money | Decimal | int) -> Decimal | int:
    """The smallest step past a strict ``>``/``<`` threshold (0: none can be named).

    Money moves in minor units (one cent past 100.00 USD); whole numbers in ones
    (more than 2 deals means 3); a fractional plain number has no smallest step.
    """
    if isinstance(threshold, Money):
        return Decimal(1).scaleb(-threshold.minor_unit)
    return 1 if _whole(actual) and _whole(threshold) else 0


def _number(value: Money | Decimal | int) -> Decimal | int:
    return value.amount if isinstance(value, Money) else value


@attrs.frozen
class RequirementEvidence:
    """How one criterion of a tier came out for one partner.

    Attributes:
        path: Where the criterion sits in the tier's requirements:
            ``requirements.all_of[0]``.
        metric: The metric it reads.
        comparison: How it compares.
        threshold: What it compares with.
        actual: The partner's value (``None``: no data, which never passes).
        passed: Whether the criterion is met.
    """

    path: str
    metric: str
    comparison: Comparison
    threshold: Money | Decimal
    actual: MetricValue
    passed: bool

    @property
    def progress(self) -> Decimal:
        """How far along the partner is, from 0 to 1 (4 decimal places).

        1 when passed. Otherwise, for ``>=``: actual / threshold; for ``>``: the
        same, with the threshold plus its smallest step as the target (one minor
        unit of money; 1 when both are whole numbers), as `shortfall` counts; for
        ``<=`` and ``<``: threshold / actual (30 days allowed, 60 taken: 0.5). A
        failing criterion shows at most 0.9999; ``==``, no data, and zero or
        negative targets give 0.
        """
        if self.passed:
            return _ONE
        actual = self.actual
        if actual is None:
            return _ZERO
        value = _number(actual)
        target = _number(self.threshold)
        comparison = self.comparison
        step = _strict_step(actual, self.threshold)
        if comparison is Comparison.AT_LEAST or comparison is Comparison.MORE_THAN:
            if comparison is Comparison.MORE_THAN:
                target += step
            if target <= 0 or value <= 0:
                return _ZERO
            ratio = Decimal(value) / Decimal(target)
        elif comparison is Comparison.AT_MOST or comparison is Comparison.LESS_THAN:
            if comparison is Comparison.LESS_THAN:
                target -= step
            if target <= 0 or value <= 0:
                return _ZERO
            ratio = Decimal(target) / Decimal(value)
        else:
            return _ZERO
        return min(ratio, _BELOW_ONE).quantize(_PLACES, rounding=ROUND_DOWN)

    @property
    def shortfall(self) -> Money | Decimal | int | None:
        """How much is missing, in the metric's unit; ``None`` when passed.

        For ``>=``/``>``: how much more is needed (the whole threshold when there is
        no data; for ``>`` one step more: a minor unit of money, 1 of a whole
        number); for ``<=``/``<``: how much too high the value is; for ``==``:
        threshold minus actual. ``None`` too for no data with ``<=``, ``<``, ``==``.
        """
        if self.passed:
            return None
        actual = self.actual
        threshold = self.threshold
        comparison = self.comparison
        strict = comparison is Comparison.MORE_THAN or comparison is Comparison.LESS_THAN
        step = _strict_step(actual, threshold) if strict else 0
        if actual is None:
            if comparison.higher_is_better:
                return _plus(threshold, step)
            return None
        if comparison.higher_is_better:
            return _plus(_minus(threshold, actual), step)
        if comparison.higher_is_better is False:
            return _plus(_minus(actual, threshold), step)
        return _minus(threshold, actual)

    def describe(self, label: str = "", window: str = "") -> str:
        """What is missing in words: ``12,000.00 USD more revenue in the trailing 12 months``.

        Args:
            label: ``"singular|plural"`` or one noun (default: the metric name).
            window: Appended to the noun, such as ``Window.describe()`` gives.
        """
        singular, _, plural = (label or self.metric).partition("|")
        plural = plural or singular
        where = f" {window}" if window else ""
        actual = self.actual
        threshold = self.threshold
        comparison = self.comparison
        now = "no data yet" if actual is None else f"now {format_value(actual)}"
        if comparison.higher_is_better:
            if actual is not None and (
                comparison is Comparison.AT_LEAST or (_whole(actual) and _whole(threshold))
            ):
                short = self.shortfall
                if isinstance(short, Money):
                    return f"{short} more {plural}{where}"
                noun = singular if short == 1 else plural
                return f"{format_value(short)} more {noun}{where}"
            word = "at least" if comparison is Comparison.AT_LEAST else "more than"
            if isinstance(threshold, Money):
                return f"{word} {threshold} of {plural}{where} ({now})"
            noun = singular if threshold == 1 else plural
            return f"{word} {format_value(threshold)} {noun}{where} ({now})"
        word = {
            Comparison.AT_MOST: "at most",
            Comparison.LESS_THAN: "below",
            Comparison.EQUAL: "of exactly",
        }[comparison]
        return f"{plural}{where} {word} {format_value(threshold)} ({now})"


@attrs.frozen
class TierEvidence:
    """Every criterion of one tier against one partner's metrics.

    Attributes:
        tier: The tier (with its requirements and benefits).
        passed: Whether the partner meets the tier's requirements.
        evidence: One entry per criterion, in the order of
            ``tier.requirements.criteria()``: complete, never cut short.
        labels: Metric name to ``"singular|plural"``, for the words.
        windows: Metric name to its window in words (``"in the trailing 12 months"``).
    """

    tier: Tier
    passed: bool
    evidence: tuple[RequirementEvidence, ...]
    labels: dict[str, str] = attrs.field(factory=dict)
    windows: dict[str, str] = attrs.field(factory=dict)

    @property
    def tier_id(self) -> str:
        """The tier's id."""
        return self.tier.id

    @property
    def tier_name(self) -> str:
        """The tier's name."""
        return self.tier.name

    @property
    def rank(self) -> int:
        """The tier's rank."""
        return self.tier.rank

    @property
    def progress(self) -> Decimal:
        """Overall progress from 0 to 1.

        The minimum over an all-of group, the maximum over an any-of group; 1 for a
        tier without requirements.
        """
        return _progress(self.tier.requirements, iter(self.evidence))

    @property
    def failing(self) -> tuple[RequirementEvidence, ...]:
        """The criteria not met (some may sit in any-of groups that pass anyway)."""
        return tuple(item for item in self.evidence if not item.passed)

    @property
    def gap(self) -> str:
        """What the partner still needs, in words; empty when the tier is met.

        ``"needs 12,000.00 USD more revenue in the trailing 12 months and 1 more
        certified person"``; an unmet any-of group reads ``"either ... or ..."``.
        """
        words = _gap(self, self.tier.requirements, iter(self.evidence))
        return f"needs {words}" if words else ""


def _progress(node: Requirement, items: Iterator[RequirementEvidence]) -> Decimal:
    if node.metric is not None:
        return next(items).progress
    if node.any_of:
        return max(_progress(member, items) for member in node.any_of)
    scores = [_progress(member, items) for member in node.all_of]
    return min(scores) if scores else _ONE


def _gap(evidence: TierEvidence, node: Requirement, items: Iterator[RequirementEvidence]) -> str:
    if node.metric is not None:
        item = next(items)
        if item.passed:
            return ""
        return item.describe(
            evidence.labels.get(item.metric, ""), evidence.windows.get(item.metric, "")
        )
    members = node.any_of or node.all_of
    parts = [_gap(evidence, member, items) for member in members]
    if node.any_of:
        if not all(parts):
            return ""
        if len(parts) == 1:
            return parts[0]
        return "either " + " or ".join(f"({part})" if " and " in part else part for part in parts)
    missing = [part for part in parts if part]
    if len(missing) <= 1:
        return "".join(missing)
    return ", ".join(missing[:-1]) + " and " + missing[-1]


@attrs.frozen
class TierDecision:
    """What a review decides for one membership, and why.

    Attributes:
        partner_id: The partner.
        program_id: The program.
        as_of: The review instant.
        outcome: What happens.
        current_tier_id: The tier held before the decision.
        tier_id: The tier held after it (the same unless the outcome moves it).
        qualifying_tier_id: The highest tier whose requirements the partner meets.
        effective_at: When the tier changes (``as_of``), or ``None`` if it does not.
        proposed_tier_id: For a proposed downgrade: the tier proposed.
        failing_reviews: Consecutive failing reviews after this one.
        counted: Whether this review is new for the membership (after its last
            review); a repeated review changes nothing.
        pin_lapsed: Whether a pin lapsed at this review.
        tier_evidence: Evidence for the tier held after the decision (``None``
            without a tier, or when evidence was not asked for).
        next_evidence: Evidence for the tier above it (``None`` at the top).
    """

    partner_id: str
    program_id: str
    as_of: datetime
    outcome: TierOutcome
    current_tier_id: str | None
    tier_id: str | None
    qualifying_tier_id: str | None
    effective_at: datetime | None = None
    proposed_tier_id: str | None = None
    failing_reviews: int = 0
    counted: bool = True
    pin_lapsed: bool = False
    tier_evidence: TierEvidence | None = None
    next_evidence: TierEvidence | None = None

    @property
    def changed(self) -> bool:
        """Whether the decision moves the partner to another tier."""
        return self.tier_id != self.current_tier_id

    @property
    def next_tier_id(self) -> str | None:
        """The tier above the one held after the decision (needs evidence)."""
        return None if self.next_evidence is None else self.next_evidence.tier_id

    @property
    def progress(self) -> Decimal | None:
        """Progress towards the next tier from 0 to 1 (``None`` at the top)."""
        return None if self.next_evidence is None else self.next_evidence.progress

    @property
    def gap(self) -> str:
        """What the partner needs for the next tier, in words (empty at the top)."""
        return "" if self.next_evidence is None else self.next_evidence.gap

    def explain(self) -> str:
        """A short account for people: the outcome, the tier's standing and the gap."""
        lines = [f"{self.partner_id}: {self.outcome.value}" + _move(self)]
        for evidence in (self.tier_evidence, self.next_evidence):
            if evidence is None:
                continue
            met = "met" if evidence.passed else "not met"
            line = f"  {evidence.tier_name}: {met}, progress {evidence.progress:.0%}"
            if not evidence.passed:
                line += f"; {evidence.gap}"
            lines.append(line)
        return "\n".join(lines)


# A review builds each decision's evidence when it is first read.
defer(TierDecision, "tier_evidence", "next_evidence")


def _move(decision: TierDecision) -> str:
    if decision.changed:
        return f" from {decision.current_tier_id or 'no tier'} to {decision.tier_id or 'no tier'}"
    if decision.proposed_tier_id is not None or decision.outcome is TierOutcome.PROPOSED_DOWNGRADE:
        return f" ({decision.current_tier_id} to {decision.proposed_tier_id or 'no tier'})"
    return f" ({decision.tier_id or 'no tier'})"


_OPERATORS: Final = {
    Comparison.AT_LEAST: operator.ge,
    Comparison.MORE_THAN: operator.gt,
    Comparison.AT_MOST: operator.le,
    Comparison.LESS_THAN: operator.lt,
    Comparison.EQUAL: operator.eq,
}

# The decision rules compiled for one program: (membership, values, as_of) -> decision.
_Decide = Callable[[Membership, Mapping[str, Any], datetime], "TierDecision"]

# A compiled criterion: (slot, path, metric, operator, threshold as a plain number,
# currency or None, comparison, threshold as written). ``slot`` numbers the
# criteria of the whole program.
_Leaf = tuple[int, str, str, Callable[[Any, Any], bool], Any, "str | None", Comparison, Any]

# Evidence for whole-number actuals (counts, days) repeats across a population;
# being immutable, one object per (criterion, value) serves every partner. Bounded
# per criterion so that a program read for years cannot grow it without limit.
_CACHE_LIMIT: Final = 10_000


def _mismatch(
    program: Program, metric: str, value: object, currency: str | None
) -> ValidationError:
    path = f"snapshot.values[{metric!r}]"
    if currency is None:
        return ValidationError.single(
            path,
            f"metric {metric!r} is {value} but program {program.id!r} compares it with a "
            f"plain number; compute it without a currency or give money thresholds",
        )
    if isinstance(value, Money):
        return ValidationError.single(
            path,
            f"metric {metric!r} is {value} but program {program.id!r} compares it with "
            f"{currency}; set currency={currency!r} on its definition and pass rates= to "
            f"compute_snapshot",
        )
    return ValidationError.single(
        path,
        f"metric {metric!r} is the number {value} but program {program.id!r} compares it "
        f"with money in {currency}; compute it as money",
    )


class _Engine:
    """A program compiled once into tuples, shared by every evaluation of it.

    Reviews evaluate the same program for every partner, so everything that depends
    only on the program (operators, plain-number thresholds, paths, labels) is
    worked out here once.
    """

    __slots__ = (
        "auto_approve",
        "by_id",
        "caches",
        "downgrade_after",
        "fast",
        "flat",
        "full",
        "ids",
        "labels",
        "leaves",
        "missing",
        "program",
        "program_id",
        "rank_of",
        "skip_levels",
        "tiers",
        "top",
        "top_down",
        "uses_built_ins",
        "windows",
    )

    def __init__(self, program: Program) -> None:
        self.program = program
        self.program_id = program.id
        self.tiers: tuple[Tier, ...] = program.tiers
        self.top = len(program.tiers)
        policy = program.policy
        self.skip_levels = policy.skip_levels
        self.downgrade_after = policy.downgrade_after
        self.auto_approve = policy.auto_approve_downgrades
        self.by_id = {tier.id: tier for tier in program.tiers}
        self.rank_of: dict[str | None, int] = {None: 0}
        self.rank_of.update((tier.id, tier.rank) for tier in program.tiers)
        self.ids: tuple[str | None, ...] = (None, *(tier.id for tier in program.tiers))
        self.leaves: list[tuple[_Leaf, ...]] = []
        self.flat: list[bool] = []
        # Evidence for "no data", which is the same for every partner.
        self.missing: dict[int, RequirementEvidence] = {}
        self.caches: list[dict[int, RequirementEvidence]] = []
        slot = 0
        for tier in program.tiers:
            leaves = []
            for path, node in tier.requirements.criteria():
                leaf = self._leaf(slot, f"requirements.{path}" if path else "requirements", node)
                leaves.append(leaf)
                self.missing[slot] = RequirementEvidence(
                    leaf[1], leaf[2], leaf[6], leaf[7], None, False
                )
                self.caches.append({})
                slot += 1
            self.leaves.append(tuple(leaves))
            root = tier.requirements
            self.flat.append(
                root.metric is not None
                or (not root.any_of and all(member.metric is not None for member in root.all_of))
            )
        # Highest rank first: the first tier that passes is the qualifying one.
        self.top_down = tuple(
            (
                tier.rank,
                self.leaves[index],
                # (metric, operator, threshold, currency): what the inner loop reads.
                tuple(leaf[2:6] for leaf in self.leaves[index]),
                self.flat[index],
                tier.requirements,
            )
            for index, tier in reversed(list(enumerate(program.tiers)))
        )
        used = {leaf[2] for leaves in self.leaves for leaf in leaves}
        self.uses_built_ins = bool(used & set(BUILT_IN_METRICS))
        self.labels = {
            "membership_days": "day as a member|days as a member",
            "membership_months": "month as a member|months as a member",
        }
        self.windows: dict[str, str] = {}
        for definition in program.metrics:
            self.labels[definition.name] = definition.name.replace("_", " ")
            window = definition.window
            if window.kind is not WindowKind.ALL_TIME:
                self.windows[definition.name] = window.describe()
        self.labels.update(program.labels)
        self.fast = self._decider(with_evidence=False)
        self.full = self._decider(with_evidence=True)

    @staticmethod
    def _leaf(slot: int, path: str, node: Requirement) -> _Leaf:
        threshold = node.threshold
        metric = node.metric
        comparison = node.comparison
        assert metric is not None  # noqa: S101 - criteria only
        assert comparison is not None  # noqa: S101
        compare = _OPERATORS[comparison]
        if isinstance(threshold, Money):
            return (
                slot,
                path,
                metric,
                compare,
                threshold.amount,
                threshold.currency,
                comparison,
                threshold,
            )
        return (slot, path, metric, compare, threshold, None, comparison, threshold)

    def judge(self, leaf: _Leaf, value: Any) -> bool:
        """Whether ``value`` (not ``None``) meets the criterion ``leaf``."""
        currency = leaf[5]
        if currency is not None:
            if value.__class__ is not Money or value.currency != currency:
                raise _mismatch(self.program, leaf[2], value, currency)
            value = value.amount
        elif value.__class__ is Money:
            raise _mismatch(self.program, leaf[2], value, None)
        return bool(leaf[3](value, leaf[4]))

    def qualifying_rank(self, values: Mapping[str, Any]) -> int:
        """The rank of the highest tier whose requirements ``values`` meet (0: none)."""
        get = values.get
        for rank, leaves, quick, flat, root in self.top_down:
            if not flat:
                results = [
                    False if get(leaf[2]) is None else self.judge(leaf, get(leaf[2]))
                    for leaf in leaves
                ]
                if _tree_passes(root, iter(results)):
                    return rank
                continue
            # The inner loop of every review: plain tuples, no calls but the operator.
            for metric, compare, limit, currency in quick:
                value = get(metric)
                if value is None:
                    break
                if currency is not None:
                    if value.__class__ is not Money or value.currency != currency:
                        raise _mismatch(self.program, metric, value, currency)
                    value = value.amount
                elif value.__class__ is Money:
                    raise _mismatch(self.program, metric, value, None)
                if not compare(value, limit):
                    break
            else:
                return rank
        return 0

    def evidence(self, rank: int, values: Mapping[str, Any]) -> TierEvidence:
        """Every criterion of the tier at ``rank`` against ``values``."""
        index = rank - 1
        tier = self.tiers[index]
        get = values.get
        caches = self.caches
        missing = self.missing
        items = []
        passed_all = True
        for leaf in self.leaves[index]:
            value = get(leaf[2])
            if value is None:
                item = missing[leaf[0]]
            elif value.__class__ is int and leaf[5] is None:
                cache = caches[leaf[0]]
                item = cache.get(value)  # type: ignore[assignment]
                if item is None:
                    item = RequirementEvidence(
                        leaf[1], leaf[2], leaf[6], leaf[7], value, bool(leaf[3](value, leaf[4]))
                    )
                    if len(cache) < _CACHE_LIMIT:
                        cache[value] = item
            else:
                item = RequirementEvidence(
                    leaf[1], leaf[2], leaf[6], leaf[7], value, self.judge(leaf, value)
                )
            items.append(item)
            if not item.passed:
                passed_all = False
        if not self.flat[index]:
            passed_all = _tree_passes(tier.requirements, (item.passed for item in items))
        return TierEvidence(tier, passed_all, tuple(items), self.labels, self.windows)

    def values(
        self, membership: Membership, snapshot: MetricSnapshot, as_of: datetime
    ) -> Mapping[str, Any]:
        """The snapshot's values, with the built-in membership metrics if the program reads them."""
        values = snapshot.values
        if not self.uses_built_ins:
            return values
        day = as_of.date()
        joined = membership.joined_on
        age = relativedelta(day, joined)
        return {
            **values,
            "membership_days": (day - joined).days,
            "membership_months": age.years * 12 + age.months,
        }

    def rank(self, tier_id: str | None, what: str) -> int:
        """The rank of ``tier_id`` (0 for ``None``), or a `ValidationError` naming ``what``."""
        rank = self.rank_of.get(tier_id)
        if rank is None:
            ids = ", ".join(self.by_id)
            raise ValidationError.single(
                what,
                f"{tier_id!r} is not a tier of program {self.program.id!r} ({ids}); "
                f"assign one of its tiers",
            )
        return rank

    def decide(
        self,
        membership: Membership,
        values: Mapping[str, Any],
        as_of: datetime,
        with_evidence: bool,
    ) -> TierDecision:
        """The decision for one membership; see `evaluate` for the rules."""
        decide = self.full if with_evidence else self.fast
        return decide(membership, values, as_of)

    def deferred(self, later: Later) -> _Decide:
        """The decision rules with evidence left to ``later`` to build when first read."""
        return self._decider(with_evidence=True, later=later)

    def _decider(  # noqa: PLR0915 - see the docstring
        self, with_evidence: bool, later: Later | None = None
    ) -> _Decide:
        """The decision rules as one function with everything it reads bound locally.

        Reviews call it once per partner: closure variables cost less than
        attribute lookups.
        With ``later``, a decision's evidence fields hold it, and it builds the
        evidence when a field is first read (`partnerkit._base.later`).
        """
        program = self.program
        program_id = program.id
        rank_of = self.rank_of
        ids = self.ids
        top = self.top
        skip_levels = self.skip_levels
        downgrade_after = self.downgrade_after
        auto_approve = self.auto_approve
        evidence = self.evidence
        qualifying_rank = self.qualifying_rank
        rank_or_raise = self.rank

        def decide(
            membership: Membership, values: Mapping[str, Any], as_of: datetime
        ) -> TierDecision:
            current_id = membership.tier_id
            current = rank_of.get(current_id)
            if current is None:
                current = rank_or_raise(current_id, "membership.tier_id")
            qualifying = qualifying_rank(values)
            last = membership.last_review_at
            counted = last is None or as_of > last
            pin = membership.pin
            pin_lapsed = False
            failing = 0
            proposed: str | None = None
            outcome: TierOutcome
            if pin is not None and as_of.date() < pin.until:
                outcome = _PINNED
                rank = rank_or_raise(pin.tier_id, "membership.pin.tier_id")
            else:
                pin_lapsed = pin is not None
                # A repeated review never moves the tier: it reports the standing.
                if qualifying > current and counted:
                    outcome = _UPGRADE
                    rank = qualifying if skip_levels else current + 1
                elif qualifying >= current:
                    outcome = _KEEP
                    rank = current
                else:
                    stored = membership.failing_reviews
                    failing = stored + 1 if counted else max(stored, 1)
                    rank = current
                    if failing < downgrade_after:
                        outcome = _GRACE
                    elif auto_approve and counted:
                        outcome = _DOWNGRADE
                        rank = current - 1
                        failing = 0
                    else:
                        outcome = _PROPOSED
                        proposed = ids[current - 1]
            tier_id = ids[rank]
            # A Later stands in for evidence until read (see partnerkit._base.later).
            tier_evidence: Any = None
            next_evidence: Any = None
            if later is not None:
                if rank:
                    tier_evidence = later
                if rank < top:
                    next_evidence = later
            elif with_evidence:
                if rank:
                    tier_evidence = evidence(rank, values)
                if rank < top:
                    next_evidence = evidence(rank + 1, values)
            return TierDecision(
                membership.partner_id,
                program_id,
                as_of,
                outcome,
                current_id,
                tier_id,
                ids[qualifying],
                None if tier_id == current_id else as_of,
                proposed,
                failing,
                counted,
                pin_lapsed,
                tier_evidence,
                next_evidence,
            )

        return decide


class ReviewEvidence(Later):
    """The evidence of a review's decisions, built when a decision's evidence is read.

    Holds the metric values the review decided on, by partner, so the evidence
    is exactly what an eager review would have built.
    """

    __slots__ = ("engine", "values")

    def __init__(self, engine: _Engine) -> None:
        self.engine = engine
        self.values: dict[str, Mapping[str, Any]] = {}

    def build(self, name: str, instance: Any) -> TierEvidence:
        """The ``tier_evidence`` or ``next_evidence`` of the decision ``instance``."""
        rank = self.engine.rank_of[instance.tier_id]
        if name == "next_evidence":
            rank += 1
        return self.engine.evidence(rank, self.values[instance.partner_id])


def _tree_passes(node: Requirement, results: Iterator[bool]) -> bool:
    if node.metric is not None:
        return next(results)
    members = node.any_of or node.all_of
    # Every member is asked, so each takes its own results from the iterator.
    outcomes = [_tree_passes(member, results) for member in members]
    return any(outcomes) if node.any_of else all(outcomes)


def engine(program: Program) -> _Engine:
    """The compiled form of ``program``, built once and kept on it."""
    compiled = program._engine
    if compiled is None:
        compiled = _Engine(program)
        object.__setattr__(program, "_engine", compiled)
    return compiled  # type: ignore[no-any-return]


def _check_inputs(
    program: Program, membership: Membership, snapshot: MetricSnapshot, as_of: datetime
) -> datetime:
    instant = to_utc(as_of, "as_of")
    problems = Problems()
    if not isinstance(membership, Membership):
        raise ValidationError.single("membership", "expected a Membership")
    if not isinstance(snapshot, MetricSnapshot):
        raise ValidationError.single("snapshot", "expected a MetricSnapshot")
    if membership.program_id != program.id:
        problems.add(
            "membership.program_id",
            f"the membership is in {membership.program_id!r}, not {program.id!r}",
        )
    if snapshot.partner_id != membership.partner_id:
        problems.add(
            "snapshot.partner_id",
            f"the snapshot is of {snapshot.partner_id!r}, the membership of "
            f"{membership.partner_id!r}",
        )
    if snapshot.as_of > instant:
        problems.add(
            "snapshot.as_of",
            f"the snapshot is as of {snapshot.as_of.isoformat()}, after the review at "
            f"{instant.isoformat()}; compute it as of the review",
        )
    problems.raise_if_any()
    return instant


def evaluate(
    program: Program,
    membership: Membership,
    snapshot: MetricSnapshot,
    *,
    as_of: datetime,
    history: Sequence[TierAssignment] = (),
    evidence: bool = True,
) -> TierDecision:
    """Decide what a review at ``as_of`` does to one membership, and explain why.

    A pure function: nothing is changed; apply the decision with `apply_decision`
    (or run `review` over a population). The rules, in order:

    1. A pin that still holds wins (``pinned``); a pin whose ``until`` has come
       lapses and the partner is evaluated normally.
    2. Qualifying for a higher tier upgrades at once, to the highest qualifying tier
       (or one level, if the policy does not skip levels).
    3. Meeting the tier keeps it, ending any grace and withdrawing any proposal.
    4. Failing the tier starts grace at the first failing review; at
       ``policy.downgrade_after`` consecutive failing reviews the partner is
       proposed for a downgrade of one level (or moved down at once, if the
       program auto-approves).

    A review at or before the membership's last counted review (``counted`` is
    ``False`` on the decision) never moves the tier: it reports the standing.

    Args:
        program: The program.
        membership: The partner's membership in it.
        snapshot: The partner's metrics, computed as of ``as_of`` (or before it)
            with ``program.metrics``.
        as_of: The review instant (aware).
        history: The membership's tier assignments, if at hand: checked against the
            membership's tier so a stale membership is caught.
        evidence: Build the evidence for the held and the next tier (the default);
            ``False`` is the fast path that decides only.

    Raises:
        ValidationError: For a membership, snapshot or history that does not fit
            the program, or metric values of the wrong kind (money where numbers
            are compared, or another currency).
    """
    instant = _check_inputs(program, membership, snapshot, as_of)
    compiled = engine(program)
    if history:
        _check_history(membership, history, instant)
    values = compiled.values(membership, snapshot, instant)
    return compiled.decide(membership, values, instant, evidence)


def _check_history(membership: Membership, history: Sequence[TierAssignment], at: datetime) -> None:
    open_ones = [
        assignment
        for assignment in history
        if assignment.partner_id == membership.partner_id
        and assignment.program_id == membership.program_id
        and assignment.valid_until is None
    ]
    held = open_ones[-1].tier_id if open_ones else None
    if open_ones and held != membership.tier_id:
        raise ValidationError.single(
            "history",
            f"the history has {membership.partner_id!r} in {held!r} since "
            f"{open_ones[-1].valid_from.isoformat()} but the membership holds "
            f"{membership.tier_id!r}; reload both from storage",
        )


def qualifying_tier(
    program: Program,
    snapshot: MetricSnapshot,
    *,
    membership: Membership | None = None,
    as_of: datetime | None = None,
) -> Tier | None:
    """The highest tier whose requirements ``snapshot`` meets (``None``: none).

    No policy, no state: the fastest question to ask. Programs that read the
    built-in membership metrics need ``membership``; ``as_of`` defaults to the
    snapshot's.
    """
    compiled = engine(program)
    instant = snapshot.as_of if as_of is None else to_utc(as_of, "as_of")
    values: Mapping[str, Any] = snapshot.values
    if compiled.uses_built_ins:
        if membership is None:
            raise ValidationError.single(
                "membership",
                f"program {program.id!r} reads {', '.join(BUILT_IN_METRICS)}; pass the membership",
            )
        values = compiled.values(membership, snapshot, instant)
    rank = compiled.qualifying_rank(values)
    return program.tiers[rank - 1] if rank else None


def _event(
    kind: str,
    membership: Membership,
    at: datetime,
    actor: str | None,
    **data: Scalar,
) -> Event:
    return Event(
        kind=kind,
        subject_id=membership.partner_id,
        occurred_at=at,
        actor=actor,
        data={"program_id": membership.program_id, **data},
    )


def _proposal_event(
    verb: str,
    membership: Membership,
    proposal: DowngradeProposal,
    at: datetime,
    actor: str | None,
    **data: Scalar,
) -> Event:
    """``tier.downgrade_<verb>`` about ``proposal``: its from and to tiers, then ``data``."""
    return _event(
        f"tier.downgrade_{verb}",
        membership,
        at,
        actor,
        from_tier=proposal.from_tier_id,
        to_tier=proposal.to_tier_id,
        **data,
    )


def _tier_changed(
    membership: Membership,
    to_tier: str | None,
    at: datetime,
    *,
    cause: TierChangeCause,
    actor: str | None,
    up: bool,
) -> Event:
    return _event(
        "tier.changed",
        membership,
        at,
        actor,
        from_tier=membership.tier_id,
        to_tier=to_tier,
        direction="up" if up else "down",
        cause=cause.value,
        effective_at=at.isoformat(),
    )


def _unchanged(membership: Membership, decision: TierDecision) -> bool:
    # A partner kept in good standing (or held by a pin) is not rewritten: a review
    # of a steady population then writes only the memberships that move, and
    # running it again still changes nothing, as it finds the same standing.
    return (
        decision.tier_id == membership.tier_id
        and decision.failing_reviews == membership.failing_reviews
        and membership.proposal is None
        and decision.outcome is not TierOutcome.PROPOSED_DOWNGRADE
        and not decision.pin_lapsed
    )


def apply_decision(
    membership: Membership, decision: TierDecision, *, actor: str | None = None
) -> Change[Membership]:
    """Apply what `evaluate` decided: the new membership and the events it implies.

    A decision that did not count (the membership was already reviewed at or
    after its instant) changes nothing, and neither does one that leaves the
    membership as it is (kept in good standing, or held by a pin): such a
    membership is returned as it was, ``last_review_at`` included.

    Events, all with the partner as subject and ``program_id`` in their data:
    ``tier.pin_lapsed``, ``tier.grace_entered``, ``tier.grace_ended``,
    ``tier.downgrade_withdrawn``, ``tier.downgrade_proposed`` and ``tier.changed``
    (``from_tier``, ``to_tier``, ``direction``, ``cause``, ``effective_at``).

    Raises:
        ValidationError: If the decision was made for another membership or for a
            tier the membership no longer holds: evaluate again.
    """
    if (
        decision.partner_id != membership.partner_id
        or decision.program_id != membership.program_id
        or decision.current_tier_id != membership.tier_id
    ):
        raise ValidationError.single(
            "decision",
            f"the decision is for {decision.partner_id!r} in {decision.program_id!r} holding "
            f"{decision.current_tier_id!r}, but the membership is {membership.partner_id!r} in "
            f"{membership.program_id!r} holding {membership.tier_id!r}; evaluate again",
        )
    if not decision.counted or _unchanged(membership, decision):
        return Change(membership, ())
    at = decision.as_of
    outcome = decision.outcome
    proposal = membership.proposal
    new_proposal: DowngradeProposal | None = None
    if outcome is TierOutcome.PROPOSED_DOWNGRADE:
        new_proposal = proposal
        if proposal is None or proposal.to_tier_id != decision.proposed_tier_id:
            assert membership.tier_id is not None  # noqa: S101 - only held tiers are proposed down
            new_proposal = DowngradeProposal(
                membership.tier_id, decision.proposed_tier_id, at, decision.failing_reviews
            )
    changes: dict[str, object] = {
        "last_review_at": at,
        "failing_reviews": decision.failing_reviews,
        "proposal": new_proposal,
    }
    if decision.pin_lapsed:
        changes["pin"] = None
    tier_changed = decision.tier_id != membership.tier_id
    if tier_changed:
        changes["tier_id"] = decision.tier_id
        changes["tier_since"] = at if decision.tier_id is not None else None
    updated = evolve_trusted(membership, **changes)
    events: list[Event] = []
    pin = membership.pin
    if decision.pin_lapsed and pin is not None:
        events.append(
            _event(
                "tier.pin_lapsed",
                membership,
                at,
                actor,
                tier=pin.tier_id,
                until=pin.until.isoformat(),
            )
        )
    if outcome is TierOutcome.GRACE and not membership.failing_reviews:
        events.append(
            _event(
                "tier.grace_entered",
                membership,
                at,
                actor,
                tier=membership.tier_id,
                failing_reviews=1,
            )
        )
    if (
        membership.failing_reviews
        and not decision.failing_reviews
        and outcome is not TierOutcome.DOWNGRADE
    ):
        events.append(
            _event(
                "tier.grace_ended",
                membership,
                at,
                actor,
                tier=membership.tier_id,
                outcome=outcome.value,
            )
        )
    if (
        proposal is not None
        and new_proposal is not proposal
        and outcome is not TierOutcome.DOWNGRADE
    ):
        events.append(
            _proposal_event(
                "withdrawn",
                membership,
                proposal,
                at,
                actor,
                outcome=outcome.value,
            )
        )
    if new_proposal is not None and new_proposal is not proposal:
        events.append(
            _proposal_event(
                "proposed",
                membership,
                new_proposal,
                at,
                actor,
                failing_reviews=new_proposal.failing_reviews,
            )
        )
    if tier_changed:
        cause = {
            TierOutcome.UPGRADE: TierChangeCause.UPGRADE,
            TierOutcome.DOWNGRADE: TierChangeCause.DOWNGRADE,
        }.get(outcome, TierChangeCause.PIN)
        # Pins move the tier when they are set (pin_tier), so a review only moves it
        # up by an upgrade and down by a downgrade.
        up = outcome is TierOutcome.UPGRADE
        events.append(
            _tier_changed(membership, decision.tier_id, at, cause=cause, actor=actor, up=up)
        )
    return Change(updated, tuple(events))


def _key(membership: Membership) -> str:
    return f"{membership.partner_id}@{membership.program_id}"


_ALLOWED: Final = {
    "pinned": ("unpin", "pin"),
    "proposed for downgrade": ("approve_downgrade", "reject_downgrade", "pin"),
    "in grace": ("pin",),
    "in good standing": ("pin",),
}


def _refused(membership: Membership, verb: str) -> InvalidTransitionError:
    """The error for ``verb`` on a membership whose standing does not allow it."""
    return InvalidTransitionError(
        "membership", _key(membership), membership.standing, verb, _ALLOWED[membership.standing]
    )


def _check_actor(by: str, at: datetime, problems: Problems) -> datetime | None:
    problems.check("by", check_id, by, "")
    return problems.check("at", to_utc, at, "")


def _check_move(by: str, at: datetime, reason: str, *, required: bool) -> tuple[datetime, str]:
    """``at`` in UTC and the reason, after checking who acts, when and why."""
    problems = Problems()
    when = _check_actor(by, at, problems)
    text = problems.check("reason", check_text, reason, required=required, limit=2000)
    problems.raise_if_any()
    assert when is not None  # noqa: S101 - raise_if_any guarantees it
    return when, text or ""


def approve_downgrade(
    program: Program, membership: Membership, *, by: str, at: datetime, reason: str = ""
) -> Change[Membership]:
    """A channel manager approves the pending downgrade: one level down, at ``at``.

    Raises:
        InvalidTransitionError: If no downgrade is pending.
        ValidationError: If ``at`` is before the proposal, or the program no longer
            has the proposed tier (reject the proposal and review again).
    """
    proposal = membership.proposal
    if proposal is None:
        raise _refused(membership, "approve a downgrade for")
    problems = Problems()
    when = _check_actor(by, at, problems)
    text = problems.check("reason", check_text, reason, required=False, limit=2000)
    if when is not None and when < proposal.proposed_at:
        problems.add(
            "at",
            f"the downgrade was proposed at {proposal.proposed_at.isoformat()}; "
            f"approve it after that",
        )
    if proposal.to_tier_id is not None and proposal.to_tier_id not in engine(program).by_id:
        problems.add(
            "proposal.to_tier_id",
            f"program {program.id!r} no longer has tier {proposal.to_tier_id!r}; reject the "
            f"proposal and review again",
        )
    problems.raise_if_any()
    assert when is not None  # noqa: S101 - raise_if_any guarantees it
    updated = attrs.evolve(
        membership,
        tier_id=proposal.to_tier_id,
        tier_since=when if proposal.to_tier_id is not None else None,
        failing_reviews=0,
        proposal=None,
    )
    events = (
        _proposal_event(
            "approved",
            membership,
            proposal,
            when,
            by,
            reason=text or "",
        ),
        _tier_changed(
            membership,
            proposal.to_tier_id,
            when,
            cause=TierChangeCause.DOWNGRADE,
            actor=by,
            up=False,
        ),
    )
    return Change(updated, events)


def reject_downgrade(
    membership: Membership, *, by: str, at: datetime, reason: str
) -> Change[Membership]:
    """A channel manager keeps the partner on its tier; ``reason`` is required.

    The failing count starts again from zero: if the partner still fails at the
    next review it enters a fresh grace before another proposal.

    Raises:
        InvalidTransitionError: If no downgrade is pending.
    """
    proposal = membership.proposal
    if proposal is None:
        raise _refused(membership, "reject a downgrade for")
    when, text = _check_move(by, at, reason, required=True)
    updated = attrs.evolve(membership, failing_reviews=0, proposal=None)
    event = _proposal_event(
        "rejected",
        membership,
        proposal,
        when,
        by,
        reason=text,
    )
    return Change(updated, (event,))


def pin_tier(
    program: Program,
    membership: Membership,
    tier_id: str,
    *,
    until: date,
    reason: str,
    by: str,
    at: datetime,
) -> Change[Membership]:
    """Hold a partner on ``tier_id`` until ``until`` (exclusive), whatever its metrics.

    The tier takes effect at ``at``; grace and any pending proposal are cleared.
    Pinning again replaces the pin. The pin lapses by itself: the first review on
    or after ``until`` evaluates the partner normally (grace if it fails the tier).

    Raises:
        NotFoundError: If the program has no tier ``tier_id``.
        ValidationError: If ``until`` is not after ``at``'s date or ``reason`` is
            empty.
    """
    tier = program.tier(tier_id)
    problems = Problems()
    when = _check_actor(by, at, problems)
    if not isinstance(until, date) or isinstance(until, datetime):
        problems.add("until", "expected a date")
    elif when is not None and until <= when.date():
        problems.add(
            "until", f"the pin must last past {when.date().isoformat()}; give a later date"
        )
    text = problems.check("reason", check_text, reason, required=True, limit=2000)
    if membership.program_id != program.id:
        problems.add("membership.program_id", f"the membership is in {membership.program_id!r}")
    problems.raise_if_any()
    assert when is not None  # noqa: S101 - raise_if_any guarantees both
    assert text is not None  # noqa: S101
    pin = Pin(tier.id, until, text, by, when)
    changed = membership.tier_id != tier.id
    updated = attrs.evolve(
        membership,
        tier_id=tier.id,
        tier_since=when if changed else membership.tier_since,
        failing_reviews=0,
        proposal=None,
        pin=pin,
    )
    events = [
        _event(
            "tier.pinned", membership, when, by, tier=tier.id, until=until.isoformat(), reason=text
        )
    ]
    proposal = membership.proposal
    if proposal is not None:
        events.append(
            _proposal_event(
                "withdrawn",
                membership,
                proposal,
                when,
                by,
                outcome=TierOutcome.PINNED.value,
            )
        )
    if changed:
        current = engine(program).rank(membership.tier_id, "membership.tier_id")
        events.append(
            _tier_changed(
                membership,
                tier.id,
                when,
                cause=TierChangeCause.PIN,
                actor=by,
                up=tier.rank > current,
            )
        )
    return Change(updated, tuple(events))


def unpin(membership: Membership, *, by: str, at: datetime, reason: str = "") -> Change[Membership]:
    """Remove a pin before it lapses; the tier stays until the next review.

    Raises:
        InvalidTransitionError: If the membership is not pinned.
    """
    pin = membership.pin
    if pin is None:
        raise _refused(membership, "unpin")
    when, text = _check_move(by, at, reason, required=False)
    updated = attrs.evolve(membership, pin=None)
    event = _event("tier.unpinned", membership, when, by, tier=pin.tier_id, reason=text)
    return Change(updated, (event,))


def next_review(program: Program, as_of: datetime, *, inclusive: bool = False) -> datetime | None:
    """The program's first review after ``as_of`` (or at it, if ``inclusive``).

    ``None`` when the cadence has no more occurrences (an RRULE with COUNT or UNTIL).
    """
    return program.review.next_after(as_of, inclusive=inclusive)
