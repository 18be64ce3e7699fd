"""A whole population's statements for one period, computed in columns.

`run_statements` gives the same statements as `compute_statement` run partner by
partner, faster: one pass over the ledger finds every partner, selects what the
period can reach, credits it to partners and measures it for every rule that
reads it; each rule's lines are then made for the whole population at once, with
the words that repeat (a band's rate, a rule's label) made once, and each
statement is assembled from ready lines. Partners whose statement needs the whole
bookkeeping (a reversal, a late activity, a margin, money the rules cannot read)
are computed alone.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import defaultdict
from decimal import Decimal
from itertools import accumulate, compress, repeat
from typing import TYPE_CHECKING, Final

from partnerkit._base.currencies import MINOR_UNITS
from partnerkit._base.money import _MAX_ADJUSTED, _QUANTA, Money
from partnerkit._base.trusted import builder
from partnerkit.incentives._plan import BandMode, Basis, Plan, RewardKind, Rule
from partnerkit.incentives._statement import (
    _EMPTY,
    _LINE,
    _STATEMENT,
    _WIDE,
    _ZERO,
    LineKind,
    Statement,
    StatementLine,
    StatementPeriod,
    StatementStatus,
    _Calendar,
    _cap_line,
    _compute,
    _Context,
    _in_range,
    _marginal_awards,
    _maybe_named,
    _Measured,
    _money_text,
    _names,
    _parse_split,
    _rule_lines,
    _shares,
    _total,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from datetime import datetime

    from partnerkit.ledger import Activity

__all__ = ["run_statements"]

#: A split part's ratio with its colon: what follows a name up to the next part.
_RATIOS: Final = re.compile(r":[^;]*")
#: Trusted construction of the amounts partnerkit computed itself.
_MONEY: Final = builder(Money)
_DRAFT: Final = StatementStatus.DRAFT


def run_statements(
    plan: Plan,
    period: StatementPeriod,
    activities: Iterable[Activity],
    *,
    tiers: Mapping[str, str] | None = None,
    partners: Iterable[str] | None = None,
) -> list[Statement]:
    """Compute the statements of a whole population for one period.

    Args:
        plan: The plan version to apply.
        period: The period.
        activities: Everyone's activities (any order), covering the windows
            `compute_statement` describes.
        tiers: Each partner's tier, by partner id.
        partners: Whose statements to compute; by default every partner with an
            activity (or a split share).

    Returns:
        One statement per partner, ordered by partner id; partners who earned
        nothing get a statement with no lines.
    """
    calendar = _Calendar(plan)
    ledger = activities if isinstance(activities, list) else list(activities)
    run = _Population(plan, period, calendar)
    everyone = partners is None
    found = run.read(ledger, everyone=everyone)
    wanted = found if partners is None else set(partners)
    apart = run.apart if everyone else run.apart & wanted
    own = run.ledgers_apart(ledger, apart)
    return run.statements(sorted(wanted), tiers or {}, apart, own)


#: How one rule measures the credits of one activity kind: (its measures by
#: partner, included products, excluded products, SPIFF bounds, whether it counts
#: units, its prior window's bounds, and the credits of the period that window
#: also reads, if it reaches into the period).
_Meter = tuple[
    dict[str, "_Measured"],
    frozenset[str],
    frozenset[str],
    "datetime | None",
    "datetime | None",
    bool,
    "datetime",
    "datetime",
    "list[tuple[str, Sequence[_Credit]]] | None",
]
#: One partner's credit of one activity: (partner, money share, quantity share).
_Credit = tuple[str, Decimal, int]


def _add(
    column: dict[str, _Measured], activity_id: str, shares: Sequence[_Credit], *, counts: bool
) -> None:
    """Add one activity's credits to a rule's measures, as `_measure` would."""
    for partner_id, part, count in shares:
        found = column.get(partner_id)
        if found is None:
            # As adding the first credit to an empty measure would.
            column[partner_id] = _Measured(
                [activity_id], _ZERO + (count if counts else part), _ZERO + part
            )
            continue
        found.ids.append(activity_id)
        found.measure += count if counts else part
        found.money += part


class _Population:
    """A population's statements for one period, computed in columns.

    One pass over the ledger finds every partner and credits what the period can
    reach (activities from the earliest growth window on, and late ones) to
    partners, splits applied, measuring each credit for every rule reading its
    kind as it goes; older activities are never grouped or read again. Measures
    keep the order a partner's own statement reads them in (earlier periods
    first, then the period). Each rule's lines are then made for every partner
    at once, and each statement is assembled from its ready lines, with the same
    numbers and words a single statement gets.

    A partner is computed apart, from all of its activities as `compute_statement`
    would, when something within reach needs a statement's full bookkeeping: a
    reversal, a late or re-dated activity, a margin, money the rules cannot read,
    a split that cannot be shared. That keeps every statement the same, whichever
    way it was computed.
    """

    __slots__ = (
        "apart",
        "calendar",
        "columns",
        "end",
        "facts",
        "lower",
        "names",
        "now",
        "overlaps",
        "plan",
        "prior",
        "shared",
        "start",
        "texts",
    )

    def __init__(self, plan: Plan, period: StatementPeriod, calendar: _Calendar) -> None:
        self.plan = plan
        self.calendar = calendar
        start, end = self.start, self.end = period.start, period.end
        self.facts = calendar.facts(start, end)
        self.lower = self.facts.lower
        #: Partners computed apart (see the class docstring).
        self.apart: set[str] = set()
        #: Every activity whose split attribute is text, in ledger order, and the text.
        self.shared: list[Activity] = []
        self.texts: list[str] = []
        #: `_maybe_named` of every split text, once needed.
        self.names: list[str] | None = None
        #: Each rule's measures of every partner, by rule id: the period's, and
        #: the prior window's for growth rules.
        self.columns: dict[str, tuple[dict[str, _Measured], dict[str, _Measured] | None]] = {}
        #: Activity kind -> the meters of the rules reading it: in the period, and
        #: before it (growth rules' prior windows).
        self.now: dict[str, list[_Meter]] = defaultdict(list)
        self.prior: dict[str, list[_Meter]] = defaultdict(list)
        #: Prior windows reaching into the period: (their measures, whether the
        #: rule counts, the period's credits they read).
        self.overlaps: list[tuple[dict[str, _Measured], bool, list[tuple[str, Sequence[_Credit]]]]]
        self.overlaps = []
        for rule in plan.rules:
            now: dict[str, _Measured] = {}
            prior: dict[str, _Measured] | None = None if rule.growth is None else {}
            self.columns[rule.id] = (now, prior)
            if rule.basis is Basis.MARGIN:
                # Every margin within reach sends its partners apart: nobody else
                # has anything to measure.
                continue
            facts = calendar.rule(rule)
            filters = (facts.include, facts.exclude, facts.spiff_start, facts.spiff_end)
            low, high = start, start
            deferred: list[tuple[str, Sequence[_Credit]]] | None = None
            if prior is not None:
                low, high = calendar.growth(rule, start, end)
                if high > start:
                    deferred = []
                    self.overlaps.append((prior, facts.counts, deferred))
            for kind in facts.kinds:
                self.now[kind].append((now, *filters, facts.counts, low, high, deferred))
                if prior is not None:
                    self.prior[kind].append((prior, *filters, facts.counts, low, high, None))

    def read(self, ledger: Sequence[Activity], *, everyone: bool) -> set[str]:  # noqa: PLR0915 - the one pass over the ledger, measures inlined
        """One pass over the ledger: who has statements, and every rule's measures.

        Args:
            ledger: The whole ledger.
            everyone: Whether to find every partner with an activity or a split
                share (else the answer is empty).

        Returns:
            The partners found.
        """
        plan = self.plan
        start, end, lower = self.start, self.end, self.lower
        currency = plan.currency
        reversal_kind = plan.reversal_kind
        measured: set[str] = set()
        unread: set[str] = set()
        for rule in plan.rules:
            measured.update(rule.kinds)
            if rule.basis is Basis.MARGIN:
                unread.update(rule.kinds)
        found: set[str] = set()
        add = found.add
        apart, shared, texts = self.apart, self.shared, self.texts
        in_period, before = self.now, self.prior
        credited: Sequence[_Credit]
        for activity in ledger:
            owner = activity.partner_id
            if everyone:
                add(owner)
            attributes = activity.attributes
            occurred = activity.occurred_at
            if attributes:
                split = attributes.get("split")
                if split is not None:
                    shared.append(activity)
                    texts.append(split)  # type: ignore[arg-type] # the others go after the pass
                late = "recorded_at" in attributes
                if occurred < lower and not late:
                    continue
            elif occurred < lower:
                continue
            else:
                split, late = None, False
            kind = activity.kind
            value = activity.value
            if type(value) is Money:
                money: Decimal | None = value.amount
                same = value.currency == currency
            else:
                money, same = None, False
            simple = kind != reversal_kind and kind not in unread and (same or kind not in measured)
            quantity = 1
            if attributes:
                if late or "margin" in attributes:
                    simple = False
                units = attributes.get("units", 1)
                quantity = units if type(units) is int and units >= 0 else 1
            current = start <= occurred < end
            meters = (
                in_period.get(kind) if current else before.get(kind) if occurred < start else None
            )
            if split is None:
                if not simple:
                    apart.add(owner)
                    continue
                if meters is None:
                    continue
                credited = ((owner, money, quantity),)  # type: ignore[assignment]
            else:
                credited = self._credit_split(activity, split, money, quantity, simple=simple)
                if meters is None or not credited:
                    continue
            activity_id = activity.id
            # What `_RuleFacts.admits` and `_measure` do, for every rule reading the kind.
            for (
                column,
                include,
                exclude,
                spiff_start,
                spiff_end,
                counts,
                low,
                high,
                deferred,
            ) in meters:
                if include or exclude:
                    product = attributes.get("product")
                    if (include and product not in include) or product in exclude:
                        continue
                if (spiff_start is not None and occurred < spiff_start) or (
                    spiff_end is not None and occurred >= spiff_end
                ):
                    continue
                if current:
                    if deferred is not None and low <= occurred < high:
                        deferred.append((activity_id, credited))
                elif not low <= occurred < high:
                    continue
                _add(column, activity_id, credited, counts=counts)
        if not all(type(text) is str for text in texts):
            # Splits that are not text name nobody: `_parse_split` refuses them.
            kept = [index for index, text in enumerate(texts) if isinstance(text, str)]
            shared[:] = [shared[index] for index in kept]
            texts[:] = [texts[index] for index in kept]
        for column, counts, deferred in self.overlaps:
            # Read after the earlier periods' credits, as a statement reads them.
            for activity_id, shares in deferred:
                _add(column, activity_id, shares, counts=counts)
        if everyone:
            self._named(found)
        return found

    def _credit_split(
        self,
        activity: Activity,
        split: object,
        money: Decimal | None,
        quantity: int,
        *,
        simple: bool,
    ) -> list[_Credit]:
        """The credits of a split activity within reach to the partners it names.

        Returns:
            Each named partner's credit, or none if the partners it names are
            computed apart.
        """
        shares = _parse_split(split, activity.id)
        apart = self.apart
        if isinstance(shares, str) or not simple:
            # Read once here, as grouping always did; crediting apart uses it.
            self.calendar.parsed[activity.id] = (split, shares)
            apart.add(activity.partner_id)
            if not isinstance(shares, str):
                apart.update(name for name, _ in shares)
            return []
        splits = self.calendar.splits
        found = splits.get(activity.id)
        if found is None:
            value = activity.value
            currency = value.currency if type(value) is Money else None
            found = _shares(activity, shares, money, currency, quantity=quantity, margin=None)
            splits[activity.id] = found
        if isinstance(found, str):
            apart.add(activity.partner_id)
            apart.update(name for name, _ in shares)
            return []
        return [(name, part, count) for name, (part, count, _) in found.items()]  # type: ignore[misc]

    def _named(self, found: set[str]) -> None:
        """Add to ``found`` every partner a split names.

        Nearly every partner a split names has activities of its own: the names in
        all the splits are read at once, and only a split naming someone not found
        yet is read alone.
        """
        texts, activities = self.texts, self.shared
        if not texts or found.issuperset(self._maybe_named(texts)):
            return
        for text, activity in zip(texts, activities, strict=True):
            if not found.issuperset(_maybe_named(text)):
                found.update(_names(text, activity.id))

    def _maybe_named(self, texts: list[str]) -> list[str]:
        """`_maybe_named` of each of ``texts`` in turn, in one list, read at C speed once."""
        if self.names is None:
            joined = ";".join(texts).replace(",", ";")
            # What precedes the first ":" of each part, as ``part.partition(":")[0]``.
            self.names = list(map(str.strip, _RATIOS.sub("", joined).split(";")))
        return self.names

    def ledgers_apart(
        self, ledger: Sequence[Activity], apart: set[str]
    ) -> dict[str, list[Activity]]:
        """The activities `compute_statement` needs for each partner in ``apart``.

        Returns:
            For each partner in ``apart``, its own activities and those whose
            split names it, in ledger order.
        """
        grouped: dict[str, list[Activity]] = defaultdict(list)
        if not apart:
            return grouped
        #: id() of each activity whose split names a partner apart -> its owner.
        shared: dict[int, str] = {}
        texts, activities = self.texts, self.shared
        if texts:
            # The activity of each part naming a partner apart: the parts of every
            # text in turn, each text ending where the running count of parts does.
            separators = map(
                int.__add__, map(str.count, texts, repeat(";")), map(str.count, texts, repeat(","))
            )
            ends = list(accumulate(map(int.__add__, separators, repeat(1))))
            names = self._maybe_named(texts)
            for position in compress(range(len(names)), map(apart.__contains__, names)):
                activity = activities[bisect_right(ends, position)]
                if apart & _names(activity.attributes["split"], activity.id):
                    shared[id(activity)] = activity.partner_id
        # Look at the ledger by owner first: the owners of the few activities shared
        # with a partner apart join the partners apart.
        owners = apart.union(shared.values())
        for activity in [item for item in ledger if item.partner_id in owners]:
            named = {activity.partner_id}
            if id(activity) in shared:
                named.update(_names(activity.attributes["split"], activity.id))
            for name in named & apart:
                grouped[name].append(activity)
        return grouped

    def lines(self, tier_of: Mapping[str, str], apart: set[str]) -> dict[str, list[StatementLine]]:
        """Every rule's lines for every partner not computed apart, by partner."""
        found: dict[str, list[StatementLine]] = {}
        for rule in self.plan.rules:
            now, before = self.columns[rule.id]
            if rule.reward is RewardKind.PERCENTAGE and not rule.basis.counts:
                self._money_lines(rule, now, before, tier_of, apart, found)
                continue
            contexts: dict[str | None, _Context] = {}
            for partner_id, current in now.items():
                if partner_id in apart:
                    continue
                tier = tier_of.get(partner_id)
                context = contexts.get(tier)
                if context is None:
                    context = contexts[tier] = _Context(self.plan, tier, self.calendar)
                prior = None if before is None else before.get(partner_id, _EMPTY)
                made = _rule_lines(rule, current, prior, context)
                if made:
                    found.setdefault(partner_id, []).extend(made)
        return found

    def _money_lines(  # noqa: PLR0915, PLR0917 - one loop over the population, one caller
        self,
        rule: Rule,
        now: dict[str, _Measured],
        before: dict[str, _Measured] | None,
        tier_of: Mapping[str, str],
        apart: set[str],
        found: dict[str, list[StatementLine]],
    ) -> None:
        """`_rule_lines` of a percentage rule on money, for every partner at once.

        The bands each tier earns and their words are resolved once per tier;
        each partner's lines are then a few Decimal operations and one string each.
        """
        currency = self.plan.currency
        quantum = _QUANTA[MINOR_UNITS[currency]]
        head = f"{rule.label}: "
        marginal = rule.mode is BandMode.MARGINAL
        rule_id, cap = rule.id, rule.cap
        multiply, quantize = _WIDE.multiply, _WIDE.quantize
        reward = LineKind.REWARD
        #: Tier -> its bands as (above, rate / 100, number, rate text, "above" words).
        words: dict[str | None, list[tuple[Decimal, Decimal, int, str, str]]] = {}
        for partner_id, current in now.items():
            if partner_id in apart:
                continue
            tier = tier_of.get(partner_id)
            bands = words.get(tier)
            if bands is None:
                bands = words[tier] = [
                    (
                        band.above,
                        band.factor,
                        band.number,
                        band.rate_text,
                        f"{band.above_text} {band.why}",
                    )
                    for band in self.calendar.bands(rule, tier)
                ]
            measure = current.money
            prefix = head
            baseline: tuple[str, ...] = ()
            if before is not None:
                prior = before.get(partner_id, _EMPTY)
                # max(0, growth) as `_rule_lines` takes it: bands start at 0 or above.
                measure -= prior.money
                if measure <= bands[0][0]:
                    continue
                prefix = (
                    f"{head}growth of {_money_text(measure, currency)} over the "
                    f"{_money_text(prior.money, currency)} of the prior window: "
                )
                baseline = tuple(prior.ids)
            elif measure <= bands[0][0]:
                continue
            sources = tuple(current.ids)
            if not marginal or len(bands) == 1 or measure <= bands[1][0]:
                if marginal:
                    # `_marginal_awards` with one band reached: rounded alone.
                    above, factor, number, rate_text, why = bands[0]
                    portion = measure - above
                    text = f"{prefix}{rate_text} on {_money_text(portion, currency)} above {why}"
                else:
                    # `_top_award`: the highest band reached pays on all of it.
                    _, factor, number, rate_text, why = [b for b in bands if measure > b[0]][-1]
                    portion = measure
                    words_on = _money_text(measure, currency)
                    text = f"{prefix}{rate_text} on all {words_on}, as {words_on} is above {why}"
                rounded = quantize(multiply(portion, factor), quantum)
                amount = _MONEY(
                    rounded
                    if rounded and rounded.adjusted() <= _MAX_ADJUSTED
                    else _in_range(rounded),
                    currency,
                )
                made = [_LINE(rule_id, reward, amount, text, sources, number, portion, baseline)]
                capped = cap is not None and amount.amount > cap
            else:
                made = [
                    _LINE(
                        rule_id,
                        reward,
                        amount,
                        f"{prefix}{text}",
                        sources,
                        number,
                        portion,
                        baseline,
                    )
                    for amount, text, number, portion in _marginal_awards(
                        rule, self.calendar.bands(rule, tier), measure, measure, currency=currency
                    )
                ]
                capped = cap is not None and sum([line.amount.amount for line in made]) > cap
            if capped:
                made.append(_cap_line(rule, made, sources, baseline, currency))  # type: ignore[arg-type]
            lines = found.get(partner_id)
            if lines is None:
                found[partner_id] = made
            else:
                lines.extend(made)

    def statements(
        self,
        partners: list[str],
        tier_of: Mapping[str, str],
        apart: set[str],
        own: Mapping[str, list[Activity]],
    ) -> list[Statement]:
        """The statements of ``partners``, in order: from the rules' ready lines, or apart.

        Args:
            partners: Whose statements, in the order to return them.
            tier_of: Each partner's tier.
            apart: The partners computed apart, as `compute_statement` would.
            own: The activities of each partner in ``apart``.
        """
        plan = self.plan
        start, end = self.start, self.end
        plan_id, version, currency = plan.id, plan.version, plan.currency
        due_at, payable_at = self.facts.due_at, self.facts.payable_at
        period = StatementPeriod(start, end)
        ready = self.lines(tier_of, apart)
        columns = [
            column
            for now, prior in self.columns.values()
            for column in (now, prior)
            if column is not None
        ]
        nothing = _total((), currency)
        found = []
        for partner_id in partners:
            tier = tier_of.get(partner_id)
            if partner_id in apart:
                found.append(
                    _compute(
                        plan,
                        partner_id,
                        period,
                        own.get(partner_id, []),
                        tier=tier,
                        calendar=self.calendar,
                    )
                )
                continue
            read: list[str] = []
            for column in columns:
                measured = column.get(partner_id)
                if measured is not None:
                    read += measured.ids
            lines = ready.get(partner_id)
            if lines is None:
                made: tuple[StatementLine, ...] = ()
                total = nothing
            else:
                made = tuple(lines)
                amount = _ZERO
                for line in made:
                    amount += line.amount.amount
                total = _MONEY(_in_range(amount), currency)
            found.append(
                _STATEMENT(
                    plan_id,
                    version,
                    partner_id,
                    start,
                    end,
                    currency,
                    tier,
                    made,
                    total,
                    tuple(sorted(set(read))) if len(read) > 1 else tuple(read),
                    (),
                    due_at,
                    payable_at,
                    _DRAFT,
                    0,
                    None,
                    None,
                    None,
                )
            )
        return found
