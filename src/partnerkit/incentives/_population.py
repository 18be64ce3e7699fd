"""A whole population's statements for one period, computed in columns.

`run_statements` gives the same statements as `compute_statement` run partner by
partner, faster: one pass over the ledger selects what the period can reach and
credits it to partners, each rule then measures every partner in one pass, and
each statement is assembled from those measures with the same line code. Partners
whose statement needs the whole bookkeeping (a reversal, a late activity, a
margin, money the rules cannot read) are computed alone.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import TYPE_CHECKING

from partnerkit._base.money import Money
from partnerkit.incentives._plan import Basis, Plan, Rule
from partnerkit.incentives._statement import (
    _EMPTY,
    Statement,
    StatementLine,
    StatementPeriod,
    _assemble,
    _Calendar,
    _compute,
    _Context,
    _maybe_named,
    _Measured,
    _names,
    _parse_split,
    _rule_lines,
    _shares,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from datetime import datetime

    from partnerkit.ledger import Activity

__all__ = ["run_statements"]


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
    run.select(ledger)
    everyone = partners is None
    wanted = set(() if partners is None else partners)
    apart = run.apart if everyone else run.apart & wanted
    found, own = run.gather(ledger, apart, everyone=everyone)
    columns = run.measure()
    tier_of = tiers or {}
    return [
        _compute(
            plan,
            partner_id,
            period,
            own.get(partner_id, []),
            tier=tier_of.get(partner_id),
            calendar=calendar,
        )
        if partner_id in apart
        else run.statement(partner_id, tier_of.get(partner_id), columns)
        for partner_id in sorted(found if everyone else wanted)
    ]


#: One credited activity in a population run: (partner, activity, its money share
#: in the plan's currency, its quantity share).
_Credit = tuple[str, "Activity", Decimal | None, int]
#: Each rule's measures of every partner, by rule id: the period's, and the prior
#: window's for growth rules.
_Columns = dict[str, tuple[dict[str, "_Measured"], dict[str, "_Measured"] | None]]


class _Population:
    """A population's statements for one period, computed in columns.

    One pass over the ledger selects what the period can reach (activities from
    the earliest growth window on, and late ones) and credits them to partners,
    splits applied; older activities are never grouped or read again. Each rule
    then measures every partner in one pass over those credits, in the order a
    partner's own statement reads them (earlier periods first, then the period),
    and each partner's statement is assembled from its measures with the same
    lines a single statement gets.

    A partner is computed apart, from all of its activities as `compute_statement`
    would, when something within reach needs a statement's full bookkeeping: a
    reversal, a late or re-dated activity, a margin, money the rules cannot read,
    a split that cannot be shared. That keeps every statement the same, whichever
    way it was computed.
    """

    __slots__ = ("apart", "calendar", "current", "earlier", "end", "lower", "plan", "start")

    def __init__(self, plan: Plan, period: StatementPeriod, calendar: _Calendar) -> None:
        self.plan = plan
        self.calendar = calendar
        self.start = period.start
        self.end = period.end
        self.lower = calendar.facts(period.start, period.end).lower
        #: Partners computed apart (see the class docstring).
        self.apart: set[str] = set()
        #: Credits of the period, and of the growth windows before it.
        self.current: list[_Credit] = []
        self.earlier: list[_Credit] = []

    def select(self, ledger: Sequence[Activity]) -> None:
        """Credit what the period can reach; note who is computed apart."""
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
        apart, current, earlier = self.apart, self.current, self.earlier
        reach = [
            activity
            for activity in ledger
            if activity.occurred_at >= lower
            or (activity.attributes and "recorded_at" in activity.attributes)
        ]
        for activity in reach:
            attributes = activity.attributes
            owner = activity.partner_id
            kind = activity.kind
            value = activity.value
            if type(value) is Money:
                money: Decimal | None = value.amount
                same = value.currency == currency
            else:
                money, same = None, False
            simple = kind != reversal_kind and kind not in unread and (same or kind not in measured)
            quantity, split = 1, None
            if attributes:
                if "recorded_at" in attributes or "margin" in attributes:
                    simple = False
                units = attributes.get("units", 1)
                quantity = units if type(units) is int and units >= 0 else 1
                split = attributes.get("split")
            occurred = activity.occurred_at
            bucket = current if start <= occurred < end else earlier if occurred < start else None
            if split is None:
                if not simple:
                    apart.add(owner)
                elif bucket is not None:
                    bucket.append((owner, activity, money, quantity))
                continue
            self._credit_split(activity, split, money, quantity, simple=simple, bucket=bucket)

    def _credit_split(
        self,
        activity: Activity,
        split: object,
        money: Decimal | None,
        quantity: int,
        *,
        simple: bool,
        bucket: list[_Credit] | None,
    ) -> None:
        """Credit a split activity within reach to the partners it names."""
        shares = _parse_split(split, activity.id)
        apart = self.apart
        if isinstance(shares, str) or not simple:
            # Read once here, as grouping always did; crediting apart uses it.
            self.calendar.parsed[activity.id] = (split, shares)
            apart.add(activity.partner_id)
            if not isinstance(shares, str):
                apart.update(name for name, _ in shares)
            return
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
        elif bucket is not None:
            bucket.extend((name, activity, part, count) for name, (part, count, _) in found.items())

    def gather(
        self, ledger: Sequence[Activity], apart: set[str], *, everyone: bool
    ) -> tuple[set[str], dict[str, list[Activity]]]:
        """Who has statements, and the activities of those computed apart.

        Args:
            ledger: The whole ledger.
            apart: The partners computed apart.
            everyone: Whether to find every partner with an activity or a split
                share (else the first answer is empty).

        Returns:
            The partners found, and for each partner in ``apart`` every activity
            `compute_statement` needs: its own and those whose split names it, in
            ledger order.
        """
        found = {activity.partner_id for activity in ledger} if everyone else set()
        #: id() of each activity whose split names a partner apart -> its owner.
        shared: dict[int, str] = {}
        for activity in [item for item in ledger if item.attributes and "split" in item.attributes]:
            split = activity.attributes["split"]
            maybe = _maybe_named(split)
            if everyone and not found.issuperset(maybe):
                found.update(_names(split, activity.id))
            if apart and not apart.isdisjoint(maybe) and apart & _names(split, activity.id):
                shared[id(activity)] = activity.partner_id
        grouped: dict[str, list[Activity]] = defaultdict(list)
        if not apart:
            return found, grouped
        # Look at the ledger by owner first: the owners of the few activities shared
        # with a partner apart join the partners apart.
        owners = apart.union(shared.values())
        for activity in [item for item in ledger if item.partner_id in owners]:
            named = {activity.partner_id}
            if id(activity) in shared:
                named.update(_names(activity.attributes["split"], activity.id))
            for name in named & apart:
                grouped[name].append(activity)
        return found, grouped

    def measure(self) -> _Columns:
        """Each rule's measures of every partner: the period's, and the prior window's."""
        columns: _Columns = {}
        start, end = self.start, self.end
        for rule in self.plan.rules:
            if rule.basis is Basis.MARGIN:
                # Every margin within reach sends its partners apart: nobody else
                # has anything to measure.
                columns[rule.id] = ({}, None if rule.growth is None else {})
                continue
            now = self._measure(rule, start, end, (self.current,))
            prior = None
            if rule.growth is not None:
                low, high = self.calendar.growth(rule, start, end)
                prior = self._measure(rule, low, high, (self.earlier, self.current))
            columns[rule.id] = (now, prior)
        return columns

    def _measure(
        self, rule: Rule, low: datetime, high: datetime, parts: tuple[list[_Credit], ...]
    ) -> dict[str, _Measured]:
        """`_measure` of ``rule`` over ``[low, high)`` for every partner at once."""
        found: dict[str, _Measured] = {}
        facts = self.calendar.rule(rule)
        counts, kinds = facts.counts, facts.kinds
        for part in parts:
            for partner_id, activity, money, quantity in part:
                # The kind first: most credits are of another rule's kind.
                if activity.kind not in kinds or not facts.admits(activity, low, high):
                    continue
                measured = found.get(partner_id)
                if measured is None:
                    measured = found[partner_id] = _Measured()
                measured.ids.append(activity.id)
                measured.measure += quantity if counts else money  # type: ignore[operator]
                measured.money += money  # type: ignore[operator]
        return found

    def statement(
        self,
        partner_id: str,
        tier: str | None,
        columns: _Columns,
    ) -> Statement:
        """``partner_id``'s statement from the rules' measures."""
        context = _Context(self.plan, tier, self.calendar)
        lines: list[StatementLine] = []
        for rule in self.plan.rules:
            now, before = columns[rule.id]
            current = now.get(partner_id, _EMPTY)
            prior = None if before is None else before.get(partner_id, _EMPTY)
            context.read.update(current.ids)
            if prior is not None:
                context.read.update(prior.ids)
            if current.ids:
                lines.extend(_rule_lines(rule, current, prior, context))
        return _assemble(context, partner_id, self.start, self.end, lines)
