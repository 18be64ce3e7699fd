"""Statements: what a partner earned under a plan in one period, line by line.

How a statement is computed, for one partner and one period ``[start, end)``:

1. **Credit.** Each activity is credited to the partners its ``split`` attribute
   names (``"ptn_a:60;ptn_b:40"``; without one, to its own partner). Money is
   split with `Money.allocate`, so the shares add up to the cent; units and deals
   are split as whole units by the same largest-remainder rule.
2. **Home period.** An activity counts in the period it occurred in, unless it
   was recorded (its ``recorded_at`` attribute) after that period's cut-off
   (period end + the plan's grace): then it counts in the period it was recorded
   in. A statement reads only what was recorded by its own cut-off.
3. **Reversals.** An activity of the plan's reversal kind names the activity it
   reverses (``reverses``). Reversed in its own period, the activity is simply
   not counted. Reversed later, the statement of the reversal's period gets a
   **clawback** line per rule: what the original period paid minus what it would
   have paid without the reversed activities.
4. **Rules.** Each rule filters by kind, product and SPIFF dates, measures the
   basis (minus the prior window's for growth rules), walks its bands (marginal
   or retroactive, with bands a partner's tier does not earn folded into the
   band below) and caps the result. Every line is rounded to the currency's minor
   unit once, so the total is exactly the sum of the lines.

Every line keeps the ids of the activities it came from, and the statement keeps
every activity id it read (`Statement.inputs`): `replay` recomputes a statement
from those activities and the plan version that made it, to the cent.
"""

from __future__ import annotations

import bisect
import decimal
import enum
import functools
from collections import defaultdict
from datetime import datetime
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal, Inexact, Rounded
from typing import TYPE_CHECKING, Final, NamedTuple

import attrs

from partnerkit._base.checks import a_slug, an_id, check_fields, check_items, one_of, optional
from partnerkit._base.currencies import MINOR_UNITS
from partnerkit._base.money import (
    _MAX_ADJUSTED,
    _QUANTA,
    NUMBER_LIMIT,
    Money,
    _check_range,
    format_value,
    to_decimal,
)
from partnerkit._base.time import parse_datetime, to_utc
from partnerkit._base.trusted import builder, trusted
from partnerkit.errors import PartnerkitError, Problems, ValidationError
from partnerkit.incentives._plan import BandMode, Basis, Plan, RewardKind, Rule

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from partnerkit.ledger import Activity

__all__ = [
    "LineKind",
    "Statement",
    "StatementLine",
    "StatementPeriod",
    "StatementStatus",
    "compute_statement",
    "due_periods",
    "period_containing",
    "replay",
    "split_money",
    "statement_id",
]

_ZERO: Final = Decimal(0)
_HUNDRED: Final = Decimal(100)
#: Wide enough that a product of two amounts in partnerkit's range is exact, as in
#: `Money.multiply`; one context for the run instead of one per multiplication.
_WIDE: Final = decimal.Context(prec=60)


def _times(amount: Decimal, factor: Decimal, currency: str) -> Money:
    """``Money(amount, currency).multiply(factor)`` for values partnerkit checked itself."""
    exact = _WIDE.multiply(amount, factor)
    rounded = exact.quantize(
        _QUANTA[MINOR_UNITS[currency]], rounding=ROUND_HALF_EVEN, context=_WIDE
    )
    return Money._trusted(_in_range(rounded), currency)


def _in_range(number: Decimal) -> Decimal:
    """``_check_range(number)`` for a sum or rounding of amounts in minor units.

    Such a number never has more than a currency's few decimal places, so only its
    size (and the sign of a zero) can need checking.
    """
    if number and number.adjusted() <= _MAX_ADJUSTED:
        return number
    return _check_range(number, "amount")


def _total(lines: Iterable[StatementLine], currency: str) -> Money:
    """The sum of the lines' amounts (all in ``currency``), as `Money.sum` adds them."""
    total = _ZERO
    for line in lines:
        total += line.amount.amount
    return Money._trusted(_in_range(total), currency)


class LineKind(enum.StrEnum):
    """What a statement line is."""

    REWARD = "reward"
    """Earned under a rule's bands."""
    CAP = "cap"
    """Takes back what a rule earned above its cap (negative)."""
    CLAWBACK = "clawback"
    """Takes back what an earlier period paid for activities reversed since (negative)."""


class StatementStatus(enum.StrEnum):
    """Where a statement is on its way to payment."""

    DRAFT = "draft"
    APPROVED = "approved"
    PAID = "paid"


@attrs.frozen
class StatementPeriod:
    """One period of a plan's cadence: ``start <= t < end`` (aware, UTC)."""

    start: datetime
    end: datetime

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "start", to_utc(self.start, "start"))
        object.__setattr__(self, "end", to_utc(self.end, "end"))
        if self.end <= self.start:
            raise ValidationError.single("end", "a period must end after it starts")

    def __str__(self) -> str:
        return f"{self.start.date().isoformat()} to {self.end.date().isoformat()}"


def period_containing(plan: Plan, instant: datetime) -> StatementPeriod:
    """The period of ``plan`` that ``instant`` falls in.

    Raises:
        ValidationError: If the plan's cadence has no period around ``instant``.
    """
    moment = to_utc(instant, "instant")
    start = plan.cadence.previous_before(moment, inclusive=True)
    end = plan.cadence.next_after(moment)
    if start is None or end is None:
        raise ValidationError.single(
            "instant", f"{moment.isoformat()} falls outside the periods of plan {plan.id!r}"
        )
    return StatementPeriod(start, end)


def due_periods(plan: Plan, since: datetime, as_of: datetime) -> list[StatementPeriod]:
    """The periods starting at or after ``since`` whose statement is due by ``as_of``.

    A statement is due once its period ended ``plan.calculation_lag`` ago.
    """
    lower = to_utc(since, "since")
    upper = to_utc(as_of, "as_of")
    starts = plan.cadence.between(lower, upper)
    found = []
    for start in starts:
        end = plan.cadence.next_after(start)
        if end is not None and end + plan.calculation_lag <= upper:
            found.append(StatementPeriod(start, end))
    return found


def statement_id(plan_id: str, partner_id: str, period_start: datetime) -> str:
    """The id of a partner's statement under a plan for the period starting then."""
    return f"{plan_id}/{partner_id}/{period_start.date().isoformat()}"


@attrs.frozen
class StatementLine:
    """One line of a statement, traced to the activities it came from.

    Attributes:
        rule: The rule's id.
        kind: `LineKind`.
        amount: What the line adds (negative for caps and clawbacks).
        explanation: The line in words ("5% on 12,000.00 USD above 10,000.00 USD
            because gold earns band 2").
        sources: The ids of the activities the line came from.
        band: The band (1-based) a reward line applied, if any.
        measure: The part of the measure the line applied to (money amount or
            count); zero for caps and clawbacks.
        baseline: For growth rules, the ids of the prior window's activities.
    """

    rule: str
    kind: LineKind
    amount: Money
    explanation: str
    sources: tuple[str, ...] = ()
    band: int | None = None
    measure: Decimal = _ZERO
    baseline: tuple[str, ...] = ()

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        check_fields(self, problems, {"rule": a_slug("rule id"), "kind": one_of(LineKind)})
        if not isinstance(self.amount, Money):
            problems.add("amount", "expected Money")
        for name in ("sources", "baseline"):
            items = check_items(getattr(self, name), name, problems, str, expected="an id")
            object.__setattr__(self, name, items)
        problems.raise_if_any()


@attrs.frozen
class Statement:
    """What one partner earned under one plan version in one period.

    Attributes:
        plan_id: The plan.
        plan_version: The plan version that computed it (`replay` needs it).
        partner_id: Whose statement it is.
        period_start: The period's first instant.
        period_end: The instant after its last.
        currency: The plan's currency.
        tier: The partner's tier the bands were read with, if any.
        lines: The lines, rule by rule in plan order, clawbacks last.
        total: Exactly the sum of the lines' amounts.
        inputs: The ids of every activity the computation read, sorted.
        notes: What was left out and why (another currency, a missing
            attribute, a reversal of an unknown activity).
        due_at: When it is computed: period end plus the calculation lag.
        payable_at: When it may be paid: period end plus the hold.
        status: `StatementStatus`; services move it on.
        version: The stored version (0 before it is first stored).
        approved_by: Who approved it.
        paid_by: Who paid it.
        payment_reference: The finance system's reference for the payment.
    """

    plan_id: str
    plan_version: int
    partner_id: str
    period_start: datetime
    period_end: datetime
    currency: str
    tier: str | None
    lines: tuple[StatementLine, ...]
    total: Money
    inputs: tuple[str, ...]
    notes: tuple[str, ...]
    due_at: datetime
    payable_at: datetime
    status: StatementStatus = StatementStatus.DRAFT
    version: int = 0
    approved_by: str | None = None
    paid_by: str | None = None
    payment_reference: str | None = None

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        check_fields(
            self,
            problems,
            {
                "plan_id": an_id,
                "partner_id": an_id,
                "period_start": lambda value: to_utc(value, ""),
                "period_end": lambda value: to_utc(value, ""),
                "due_at": lambda value: to_utc(value, ""),
                "payable_at": lambda value: to_utc(value, ""),
                "status": one_of(StatementStatus),
                "approved_by": optional(an_id),
                "paid_by": optional(an_id),
            },
        )
        lines = check_items(self.lines, "lines", problems, StatementLine)
        object.__setattr__(self, "lines", lines)
        for name in ("inputs", "notes"):
            object.__setattr__(self, name, check_items(getattr(self, name), name, problems, str))
        for name in ("plan_version", "version"):
            value = getattr(self, name)
            if type(value) is not int or value < (1 if name == "plan_version" else 0):
                problems.add(name, "expected a whole number")
        problems.raise_if_any()
        try:
            total = Money.sum((line.amount for line in lines), currency=self.currency)
        except PartnerkitError as error:
            raise ValidationError.single(
                "lines", f"line amounts must be in {self.currency}: {error}"
            ) from None
        if not isinstance(self.total, Money) or self.total != total:
            raise ValidationError.single(
                "total", f"must be the sum of the lines, {total}; got {self.total}"
            )

    @property
    def id(self) -> str:
        """`statement_id` of the statement: plan, partner and period start."""
        return statement_id(self.plan_id, self.partner_id, self.period_start)

    @property
    def period(self) -> StatementPeriod:
        """The statement's period."""
        return StatementPeriod(self.period_start, self.period_end)

    def explain(self) -> str:
        """The statement in words, one line per statement line, total last."""
        head = f"{self.partner_id}, plan {self.plan_id} v{self.plan_version}, {self.period}"
        body = [f"  {line.amount}: {line.explanation}" for line in self.lines]
        body += [f"  note: {note}" for note in self.notes]
        return "\n".join([head, *body, f"  total {self.total}"])


#: Trusted constructors, fields in order, for what the statement code built itself.
_STATEMENT: Final = builder(Statement)
_LINE: Final = builder(StatementLine)


# -- crediting ----------------------------------------------------------------


def _parse_split(text: object, activity_id: str) -> list[tuple[str, Decimal]] | str:
    """``"ptn_a:60;ptn_b:40"`` as ``[(partner, ratio), ...]``, or why it cannot be read."""
    if not isinstance(text, str):
        return f"activity {activity_id}: the split attribute must be text like 'ptn_a:60;ptn_b:40'"
    shares = []
    some = False
    for part in text.replace(",", ";").split(";"):
        partner, _, ratio = part.strip().partition(":")
        try:
            number = Decimal(ratio.strip())
        except ArithmeticError:
            number = Decimal(-1)
        if not partner.strip() or not number.is_finite() or number < 0:
            return (
                f"activity {activity_id}: cannot read the split {text!r}; "
                f"write it like 'ptn_a:60;ptn_b:40'"
            )
        shares.append((partner.strip(), number))
        some = some or bool(number)
    if not some:
        return f"activity {activity_id}: the split {text!r} gives every partner 0"
    return shares


def split_money(amount: Money, shares: Mapping[str, Decimal | int | str]) -> dict[str, Money]:
    """Split ``amount`` between partners in proportion to ``shares``, to the cent.

    The parts add up to exactly ``amount`` (`Money.allocate`: leftover cents go to
    the largest remainders, the first partner listed first on ties).

    Raises:
        ValidationError: If a share is negative or every share is zero.
    """
    parts = amount.allocate(list(shares.values()))
    return dict(zip(shares, parts, strict=True))


#: One activity's credit to one partner: (activity, money amount or None, its
#: currency or None, quantity, margin amount or None), splits applied.
_Entry = tuple["Activity", Decimal | None, str | None, int, Decimal | None]


def _recorded(activity: Activity) -> datetime:
    text = activity.attributes.get("recorded_at")
    if text is None:
        return activity.occurred_at
    try:
        recorded = parse_datetime(text, "recorded_at")  # type: ignore[arg-type]
    except ValidationError:
        return activity.occurred_at
    return max(recorded, activity.occurred_at)


class _Facts(NamedTuple):
    """What every statement of one period shares."""

    cutoff: datetime
    due_at: datetime
    payable_at: datetime
    #: The earliest instant a statement of the period reads without reversals.
    lower: datetime


class _RuleFacts(NamedTuple):
    """A rule's filters, ready for the loop over activities."""

    kinds: frozenset[str]
    spiff_start: datetime | None
    spiff_end: datetime | None
    include: frozenset[str]
    exclude: frozenset[str]
    counts: bool
    margin: bool

    def admits(self, activity: Activity, low: datetime, high: datetime) -> bool:
        """Whether the rule reads ``activity`` in ``[low, high)``: kind, dates, product."""
        if activity.kind not in self.kinds:
            return False
        occurred = activity.occurred_at
        if not low <= occurred < high:
            return False
        if self.spiff_start is not None and occurred < self.spiff_start:
            return False
        if self.spiff_end is not None and occurred >= self.spiff_end:
            return False
        if self.include or self.exclude:
            product = activity.attributes.get("product")
            return (not self.include or product in self.include) and product not in self.exclude
        return True


class _Calendar:
    """What one run shares: period boundaries, period facts, rule filters, split shares.

    Computing these once per run instead of once per partner is most of what makes
    a population's statements fast.
    """

    __slots__ = ("_bands", "_edges", "_facts", "_growth", "_plan", "_rules", "parsed", "splits")

    def __init__(self, plan: Plan) -> None:
        self._plan = plan
        self._edges: list[datetime] = []
        self._facts: dict[datetime, _Facts] = {}
        self._rules: dict[str, _RuleFacts] = {}
        self._growth: dict[tuple[str, datetime], tuple[datetime, datetime]] = {}
        self._bands: dict[tuple[str, str | None], list[_Band]] = {}
        #: Activity id -> each partner's share, or why it cannot be split.
        self.splits: dict[str, dict[str, tuple[Decimal | None, int, Decimal | None]] | str] = {}
        #: Activity id -> its split attribute as `_parse_split` read it, until credited.
        self.parsed: dict[str, tuple[object, list[tuple[str, Decimal]] | str]] = {}

    def period(self, instant: datetime) -> tuple[datetime, datetime]:
        """The ``(start, end)`` of the period holding ``instant``."""
        edges = self._edges
        if not (edges and edges[0] <= instant < edges[-1]):
            found = period_containing(self._plan, instant)
            low = found.start if not edges else min(found.start, edges[0])
            high = found.end if not edges else max(found.end, edges[-1])
            edges = self._edges = [*self._plan.cadence.between(low, high), high]
        index = bisect.bisect_right(edges, instant)
        return edges[index - 1], edges[index]

    def facts(self, start: datetime, end: datetime) -> _Facts:
        """The cut-off, dates and earliest instant read of the period ``[start, end)``."""
        found = self._facts.get(start)
        if found is None:
            plan = self._plan
            lower = min(
                [start, *(start - rule.growth for rule in plan.rules if rule.growth is not None)]
            )
            found = _Facts(end + plan.grace, end + plan.calculation_lag, end + plan.hold, lower)
            self._facts[start] = found
        return found

    def growth(self, rule: Rule, start: datetime, end: datetime) -> tuple[datetime, datetime]:
        """A growth rule's prior window for the period ``[start, end)``."""
        key = (rule.id, start)
        found = self._growth.get(key)
        if found is None:
            assert rule.growth is not None  # noqa: S101 - only growth rules ask
            found = self._growth[key] = (start - rule.growth, end - rule.growth)
        return found

    def bands(self, rule: Rule, tier: str | None) -> list[_Band]:
        """The bands a partner in ``tier`` earns under ``rule``."""
        key = (rule.id, tier)
        found = self._bands.get(key)
        if found is None:
            found = self._bands[key] = _effective_bands(rule, tier, self._plan.currency)
        return found

    def rule(self, rule: Rule) -> _RuleFacts:
        """``rule``'s filters as sets and instants."""
        found = self._rules.get(rule.id)
        if found is None:
            spiff_start, spiff_end = rule.window()
            found = _RuleFacts(
                frozenset(rule.kinds),
                spiff_start,
                spiff_end,
                frozenset(rule.products),
                frozenset(rule.exclude_products),
                rule.basis.counts,
                rule.basis is Basis.MARGIN,
            )
            self._rules[rule.id] = found
        return found


class _Context:
    """What computing one partner's statement needs besides the activities."""

    __slots__ = ("calendar", "notes", "plan", "read", "tier")

    def __init__(self, plan: Plan, tier: str | None, calendar: _Calendar) -> None:
        self.plan = plan
        self.tier = tier
        self.calendar = calendar
        self.notes: list[str] = []
        self.read: set[str] = set()

    def note(self, activity_id: str, text: str) -> None:
        """Note why an activity was left out; it is an input, so a replay notes it too."""
        self.notes.append(text)
        self.read.add(activity_id)


def _margin(activity: Activity) -> tuple[Decimal | None, str | None]:
    """The activity's ``margin`` attribute, and why it is left out if it cannot be read."""
    raw = activity.attributes.get("margin")
    if raw is None:
        return None, None
    try:
        if isinstance(raw, bool):
            raise ValidationError.single("margin", "expected a number")
        return to_decimal(raw, "margin"), None
    except ValidationError:
        return None, f"activity {activity.id}: its margin {raw!r} is not a number"


def _maybe_named(split: object) -> list[str]:
    """Every partner a split attribute may name: a quick look, `_parse_split` decides."""
    if not isinstance(split, str):
        return []
    return [part.partition(":")[0].strip() for part in split.replace(",", ";").split(";")]


def _concerns(activity: Activity, partner_id: str) -> bool:
    """Whether ``activity`` is the partner's own or its split names the partner."""
    if activity.partner_id == partner_id:
        return True
    split = activity.attributes.get("split")
    return split is not None and partner_id in _names(split, activity.id)


def _names(split: object, activity_id: str) -> set[str]:
    """The partners a split attribute names; none if it cannot be read."""
    shares = _parse_split(split, activity_id)
    return set() if isinstance(shares, str) else {name for name, _ in shares}


def _allocate(units: int, weights: list[Decimal]) -> list[int]:
    """`Money.allocate` of ``units`` minor units: the same parts, as minor units.

    The same steps and contexts as `Money.allocate`, so ties and remainders fall
    the same way, without building and checking a `Money` per part. ``weights``
    come from `_parse_split`: finite, not negative, not all zero.
    """
    sign = -1 if units < 0 else 1
    remaining = abs(units)
    if remaining < _WHOLE_UNITS and weights and max(weights) <= _WHOLE_WEIGHTS:
        whole = [int(weight) for weight in weights]
        total = sum(whole)
        current = decimal.getcontext()
        if (
            total <= _WHOLE_WEIGHTS
            and whole == weights
            and current.prec >= _PRECISION
            and not (current.traps[Inexact] or current.traps[Rounded])
        ):
            return [sign * share for share in _allocate_whole(remaining, whole, total)]
    total_weight = sum(weights, Decimal(0))
    with decimal.localcontext() as context:
        context.prec = 60
        exact = [Decimal(remaining) * weight / total_weight for weight in weights]
    shares = [int(part) for part in exact]
    leftover = remaining - sum(shares)
    if leftover:
        by_remainder = sorted(
            range(len(shares)), key=lambda index: (-(exact[index] - shares[index]), index)
        )
        for index in by_remainder[:leftover]:
            shares[index] += 1
    return [sign * share for share in shares]


#: Bounds within which whole weights split whole units exactly as `_allocate`'s
#: Decimal steps do (see `_allocate_whole`), and the least precision they assume.
_WHOLE_WEIGHTS: Final = 10**4
_WHOLE_UNITS: Final = 10**20
_PRECISION: Final = 28


def _allocate_whole(units: int, weights: list[int], total: int) -> list[int]:
    """`_allocate` of ``units >= 0`` by whole weights adding up to ``total``, in integers.

    Each part is ``units * weight / total`` rounded down, and leftover units go to
    the largest remainders, the first part on ties, as in `_allocate`. With whole
    weights adding up to at most `_WHOLE_WEIGHTS` and fewer than `_WHOLE_UNITS`
    units, the Decimal steps give the same parts and order. A remainder is a
    multiple of ``1 / total``, so it is at least 1e-4 from the next whole part and
    from any other remainder, while a 60-digit quotient is within 1e-40 of the
    exact one. A remainder either ends within 13 decimal places (then every step
    is exact) or is more than 1e-36 from any number of 32 places or fewer, where
    rounding it to the context's 28 digits or more could change: equal remainders
    stay equal.
    """
    products = [units * weight for weight in weights]
    shares = [product // total for product in products]
    leftover = units - sum(shares)
    if leftover:
        by_remainder = sorted(
            range(len(shares)), key=lambda index: (-(products[index] % total), index)
        )
        for index in by_remainder[:leftover]:
            shares[index] += 1
    return shares


@functools.lru_cache(maxsize=1024)
def _allocated_units(units: int, weights: tuple[Decimal, ...]) -> tuple[int, ...]:
    """`_allocate` for whole units, remembered: most splits share a few quantities and ratios."""
    return tuple(_allocate(units, list(weights)))


def _split_amount(amount: Decimal, currency: str, weights: list[Decimal]) -> list[Decimal] | None:
    """``[part.amount for part in Money(amount, currency).allocate(weights)]``.

    Returns:
        The parts, or None if ``amount`` has more decimals than the currency uses.
    """
    places = MINOR_UNITS[currency]
    scaled = amount.scaleb(places)
    if scaled != scaled.to_integral_value():
        return None
    # No part is larger than the amount, which is in range, and none is -0: every
    # part is in range as it is.
    return [Decimal(part).scaleb(-places) for part in _allocate(int(scaled), weights)]


def _shares(
    activity: Activity,
    shares: list[tuple[str, Decimal]] | str,
    money: Decimal | None,
    currency: str | None,
    *,
    quantity: int,
    margin: Decimal | None,
) -> dict[str, tuple[Decimal | None, int, Decimal | None]] | str:
    """Each named partner's share of a split activity, or why it cannot be split.

    ``shares`` is what `_parse_split` read from the activity's split attribute.
    """
    if isinstance(shares, str):
        return shares
    ratios = [ratio for _, ratio in shares]
    names = [name for name, _ in shares]
    moneys: list[Decimal | None] = [None] * len(names)
    margins: list[Decimal | None] = [None] * len(names)
    if money is not None and currency is not None:
        parts = _split_amount(money, currency, ratios)
        margin_parts = None if margin is None else _split_amount(margin, currency, ratios)
        if parts is None or (margin is not None and margin_parts is None):
            return (
                f"activity {activity.id}: its money has more decimals than {currency} uses; "
                f"not split"
            )
        moneys = list(parts)
        if margin_parts is not None:
            margins = list(margin_parts)
    # Whole units split by the same largest-remainder rule as money: counted in a
    # currency without minor units, each unit is one "cent".
    if quantity < NUMBER_LIMIT:
        units: Sequence[int] = _allocated_units(quantity, tuple(ratios))
    else:  # out of range: Money refuses it, as it always did
        units = [
            part.minor_units for part in Money.from_minor_units(quantity, "JPY").allocate(ratios)
        ]
    found: dict[str, tuple[Decimal | None, int, Decimal | None]] = {}
    for name, part, count, margin_part in zip(names, moneys, units, margins, strict=True):
        if name not in found:
            found[name] = (part, count, margin_part)
    return found


def _credit(partner_id: str, activities: Iterable[Activity], context: _Context) -> list[_Entry]:
    """Each activity's credit to ``partner_id``, splits applied.

    Only the partner's own activities and those whose split names it concern the
    statement: the notes about an activity go to those statements alone.
    """
    credited: list[_Entry] = []
    splits = context.calendar.splits
    for activity in activities:
        value = activity.value
        if type(value) is Money:
            money: Decimal | None = value.amount
            currency: str | None = value.currency
        else:
            money = currency = None
        own = activity.partner_id == partner_id
        attributes = activity.attributes
        if attributes:
            units = attributes.get("units", 1)
            quantity = units if type(units) is int and units >= 0 else 1
            margin, unread = (None, None) if "margin" not in attributes else _margin(activity)
            split = attributes.get("split")
        else:
            quantity, margin, unread, split = 1, None, None, None
        if split is None:
            if own:
                if unread is not None:
                    context.note(activity.id, unread)
                credited.append((activity, money, currency, quantity, margin))
            continue
        shares = splits.get(activity.id)
        if shares is None:
            read = context.calendar.parsed.pop(activity.id, None)
            # The text is compared in case two activities share an id.
            parsed = read[1] if read is not None and read[0] == split else None
            if parsed is None:
                parsed = _parse_split(split, activity.id)
            shares = _shares(activity, parsed, money, currency, quantity=quantity, margin=margin)
            splits[activity.id] = shares
        share = None if isinstance(shares, str) else shares.get(partner_id)
        if unread is not None and (
            own
            or share is not None
            or (isinstance(shares, str) and partner_id in _names(split, activity.id))
        ):
            context.note(activity.id, unread)
        if isinstance(shares, str):
            if own:
                context.note(activity.id, shares)
            continue
        if share is not None:
            credited.append((activity, share[0], currency, share[1], share[2]))
    return credited


# -- rules ---------------------------------------------------------------------


class _Measured:
    __slots__ = ("ids", "measure", "money")

    def __init__(
        self, ids: list[str] | None = None, measure: Decimal = _ZERO, money: Decimal = _ZERO
    ) -> None:
        self.ids: list[str] = [] if ids is None else ids
        self.measure = measure
        self.money = money


#: What a rule measures of a partner with nothing to measure; never changed.
_EMPTY: Final = _Measured()


def _measure(
    rule: Rule,
    entries: Sequence[_Entry],
    start: datetime,
    end: datetime,
    context: _Context,
) -> _Measured:
    """The rule's measure over the entries occurring in ``[start, end)``."""
    result = _Measured()
    facts = context.calendar.rule(rule)
    counts, margin = facts.counts, facts.margin
    currency = context.plan.currency
    kinds = facts.kinds
    for activity, value, money_currency, quantity, margin_value in entries:
        # Kind and window first, inline: most entries fall outside one of them.
        if (
            activity.kind not in kinds
            or not start <= activity.occurred_at < end
            or not facts.admits(activity, start, end)
        ):
            continue
        money = margin_value if margin else value
        if margin and money is None:
            context.note(
                activity.id,
                f"activity {activity.id}: no margin attribute; not counted in {rule.id}",
            )
            continue
        if money is not None and money_currency != currency:
            context.note(
                activity.id,
                f"activity {activity.id}: {money_currency} is not the plan's {currency}; "
                f"not counted in {rule.id}",
            )
            continue
        if money is None and (not counts or rule.reward is RewardKind.PERCENTAGE):
            context.note(
                activity.id, f"activity {activity.id}: no money value; not counted in {rule.id}"
            )
            continue
        result.ids.append(activity.id)
        result.measure += quantity if counts else money  # type: ignore[operator]
        if money is not None:
            result.money += money
    return result


class _Band(NamedTuple):
    """A band a partner earns, with the words explanations use for it."""

    number: int
    above: Decimal
    rate: Decimal
    #: ``rate / 100``, what a percentage band multiplies money by.
    factor: Decimal
    above_text: str
    rate_text: str
    why: str


def _effective_bands(rule: Rule, tier: str | None, currency: str) -> list[_Band]:
    """The bands ``tier`` earns; the others fold into the band below."""
    return [
        _Band(
            number,
            band.above,
            band.rate,
            band.rate / _HUNDRED,
            _unit(rule, band.above, currency),
            rule.describe_band(number - 1)
            if rule.reward is RewardKind.PERCENTAGE
            else format_value(Money._trusted(band.rate, currency)),
            _why(number, bool(band.tiers), tier),
        )
        for number, band in enumerate(rule.bands, 1)
        if band.earned_by(tier)
    ]


def _unit(rule: Rule, value: Decimal, currency: str) -> str:
    if rule.basis is Basis.DEALS_WON:
        return f"{format_value(value)} deal{'' if value == 1 else 's'}"
    if rule.basis is Basis.UNITS:
        return f"{format_value(value)} unit{'' if value == 1 else 's'}"
    return _money_text(value, currency)


def _money_text(amount: Decimal, currency: str) -> str:
    """``str(Money(amount, currency))``: ``12,000.00 USD``."""
    text = f"{amount:,f}"
    places = MINOR_UNITS[currency]
    if places and text[-places - 1 : -places] != ".":
        # Pad to the currency's places, as quantizing a shorter amount would: only
        # zeros are added, and an amount with more places keeps them.
        dot = text.find(".")
        missing = places + 1 if dot < 0 else places - (len(text) - dot - 1)
        if missing > 0:
            text += ("." + "0" * places)[-missing:]
    return f"{text} {currency}"


def _why(number: int, restricted: bool, tier: str | None) -> str:
    if restricted and tier is not None:
        return f"because {tier} earns band {number}"
    return f"(band {number})"


#: One reward a rule's bands give: (amount, text, band number, measure portion).
_Award = tuple[Money, str, int, Decimal]


def _top_award(
    rule: Rule, band: _Band, measure: Decimal, money: Decimal, *, currency: str
) -> _Award:
    """A fixed or retroactive reward: the highest band reached pays on everything."""
    reached = f"as {_unit(rule, measure, currency)} is above {band.above_text} {band.why}"
    rate_money = Money._trusted(band.rate, currency)
    if rule.reward is RewardKind.FIXED:
        amount = rate_money.rounded()
        return amount, f"fixed {amount} {reached}", band.number, measure
    if rule.reward is RewardKind.PERCENTAGE:
        amount = _times(money, band.factor, currency)
        text = f"{band.rate_text} on all {_money_text(money, currency)}"
        if rule.basis.counts:
            text += f" for {_unit(rule, measure, currency)}"
        return amount, f"{text}, {reached}", band.number, measure
    amount = _times(band.rate, measure, currency)
    text = f"{band.rate_text} each on all {_unit(rule, measure, currency)}"
    return amount, f"{text}, {reached}", band.number, measure


def _marginal_awards(
    rule: Rule, bands: list[_Band], measure: Decimal, money: Decimal, *, currency: str
) -> list[_Award]:
    """Marginal rewards: each band pays on the part of the measure within it.

    The bands' exact rewards are rounded together: their total is the exact total
    rounded once, and each band gets its exact reward rounded down or up by the
    largest remainders. Rounding each band alone could pay a cent more than the
    same bands applied retroactively.
    """
    exact: list[tuple[Decimal, str, int, Decimal]] = []
    counts = rule.basis.counts
    percentage = rule.reward is RewardKind.PERCENTAGE
    for position, band in enumerate(bands):
        above = band.above
        upper = bands[position + 1].above if position + 1 < len(bands) else None
        portion = measure - above if upper is None else min(measure, upper) - above
        if portion <= 0:
            continue
        if percentage:
            # A count basis pays on the money of the units in the band: their share
            # of the period's money.
            share = money * portion / measure if counts else portion
            value = _WIDE.multiply(share, band.factor)
            on = Money._trusted(share, currency).rounded() if counts else None
            text = f"{band.rate_text} on {on if counts else _money_text(share, currency)}"
            if counts:
                text += f" for {_unit(rule, portion, currency)}"
        else:
            value = _WIDE.multiply(band.rate, portion)
            text = f"{band.rate_text} each on {_unit(rule, portion, currency)}"
        exact.append((value, f"{text} above {band.above_text} {band.why}", band.number, portion))
    amounts = _rounded_together([value for value, *_ in exact], currency)
    return [
        (amount, text, number, portion)
        for amount, (_, text, number, portion) in zip(amounts, exact, strict=True)
    ]


def _rounded_together(values: list[Decimal], currency: str) -> list[Money]:
    """``values`` in minor units, adding up to their exact sum rounded half-even."""
    quantum = _QUANTA[MINOR_UNITS[currency]]
    if len(values) == 1:
        # One value: its floor, plus a unit if rounding half-even goes up, is its rounding.
        rounded = values[0].quantize(quantum, rounding=ROUND_HALF_EVEN, context=_WIDE)
        return [Money._trusted(_in_range(rounded), currency)]
    floors = [v.quantize(quantum, rounding=ROUND_FLOOR, context=_WIDE) for v in values]
    total = Decimal(0)
    for value in values:
        total = _WIDE.add(total, value)
    target = total.quantize(quantum, rounding=ROUND_HALF_EVEN, context=_WIDE)
    extra = int((target - sum(floors, Decimal(0))) / quantum)
    # Largest remainders first; the earlier band first among equal remainders.
    order = sorted(range(len(values)), key=lambda i: (floors[i] - values[i], i))
    for index in order[:extra]:
        floors[index] += quantum
    return [Money._trusted(_in_range(amount), currency) for amount in floors]


def _rule_lines(
    rule: Rule,
    current: _Measured,
    prior: _Measured | None,
    context: _Context,
) -> list[StatementLine]:
    """The lines one rule earns on its measure (and prior window, for growth)."""
    currency = context.plan.currency
    measure, money = current.measure, current.money
    if prior is not None:
        measure = max(_ZERO, measure - prior.measure)
        money = max(_ZERO, money - prior.money)
    bands = context.calendar.bands(rule, context.tier)
    reached = [band for band in bands if measure > band.above]
    if not reached:
        return []
    prefix = ""
    if prior is not None:
        prefix = (
            f"growth of {_unit(rule, measure, currency)} over the "
            f"{_unit(rule, prior.measure, currency)} of the prior window: "
        )
    if rule.reward is RewardKind.FIXED or rule.mode is BandMode.RETROACTIVE:
        awards = [_top_award(rule, reached[-1], measure, money, currency=currency)]
    else:
        awards = _marginal_awards(rule, bands, measure, money, currency=currency)
    sources = tuple(current.ids)
    baseline = tuple(prior.ids) if prior is not None else ()
    lines = [
        _LINE(
            rule.id,
            LineKind.REWARD,
            amount,
            f"{rule.label}: {prefix}{text}",
            sources,
            number,
            portion,
            baseline,
        )
        for amount, text, number, portion in awards
    ]
    cap = _cap_line(rule, lines, sources, baseline, currency)
    if cap is not None:
        lines.append(cap)
    return lines


def _cap_line(
    rule: Rule,
    lines: list[StatementLine],
    sources: tuple[str, ...],
    baseline: tuple[str, ...],
    currency: str,
) -> StatementLine | None:
    """The line taking back what ``lines`` earn above the rule's cap, if they do."""
    if rule.cap is None:
        return None
    earned = _total(lines, currency)
    if earned.amount <= rule.cap:
        return None
    cap = Money._trusted(rule.cap, currency).rounded()
    return _LINE(
        rule.id,
        LineKind.CAP,
        cap - earned,
        (
            f"{rule.label}: capped at {cap} a period; {earned} earned, "
            f"{earned - cap} above the cap not paid"
        ),
        sources,
        None,
        _ZERO,
        baseline,
    )


def _rules_total(
    entries: Sequence[_Entry],
    start: datetime,
    end: datetime,
    context: _Context,
    rules: Sequence[Rule] | None = None,
) -> dict[str, list[StatementLine]]:
    """Each rule's lines (of ``rules``, by default the plan's) over entries."""
    found = {}
    for rule in context.plan.rules if rules is None else rules:
        current = _measure(rule, entries, start, end, context)
        prior = None
        if rule.growth is not None:
            low, high = context.calendar.growth(rule, start, end)
            prior = _measure(rule, entries, low, high, context)
        # Read even when nothing is earned: a growth rule earns nothing because of
        # its prior window, and a replay must see that window too.
        context.read.update(current.ids)
        if prior is not None:
            context.read.update(prior.ids)
        found[rule.id] = _rule_lines(rule, current, prior, context)
    return found


def _home(activity: Activity, recorded: datetime, context: _Context) -> datetime:
    """The start of the period ``activity`` counts in (see the module docstring)."""
    start, end = context.calendar.period(activity.occurred_at)
    if recorded > context.calendar.facts(start, end).cutoff:
        start, _ = context.calendar.period(recorded)
    return start


def _entries_read(
    entries: Sequence[_Entry],
    start: datetime,
    end: datetime,
    context: _Context,
    *,
    excluded: set[str],
) -> list[_Entry]:
    """What the rules read for the period ``[start, end)``, as seen at its cut-off.

    First the entries that occurred before the period (growth rules read whole
    windows before it), then those counting in it. A late entry (recorded after
    its own period's cut-off, in this period) is re-dated to the period's start,
    so the rules' window ``[start, end)`` holds it.
    """
    cutoff = context.calendar.facts(start, end).cutoff
    history = [
        entry
        for entry in entries
        if entry[0].occurred_at < start
        # Without a recorded_at, recorded when it occurred: before the cut-off.
        and ("recorded_at" not in entry[0].attributes or _recorded(entry[0]) <= cutoff)
    ]
    kept = []
    for entry in entries:
        activity = entry[0]
        if activity.id in excluded:
            continue
        if "recorded_at" not in activity.attributes:
            if start <= activity.occurred_at < end:
                kept.append(entry)
            continue
        recorded = _recorded(activity)
        if recorded > cutoff:
            continue
        if _home(activity, recorded, context) == start:
            if not start <= activity.occurred_at < end:
                # Late: counted here at the start of the period it is counted in.
                moved = attrs.evolve(activity, occurred_at=start)
                entry = (moved, *entry[1:])  # noqa: PLW2901 - the moved entry replaces it
            kept.append(entry)
    return [*history, *kept]


def compute_statement(
    plan: Plan,
    partner_id: str,
    period: StatementPeriod,
    activities: Iterable[Activity],
    *,
    tier: str | None = None,
) -> Statement:
    """Compute ``partner_id``'s statement under ``plan`` for ``period``.

    Args:
        plan: The plan version to apply.
        partner_id: Whose statement.
        period: One of the plan's periods (`period_containing`, `due_periods`).
        activities: The partner's activities (and any other partner's whose
            ``split`` attribute names this partner), covering at least the period,
            the prior windows of growth rules and the periods of activities
            reversed in this one. Other activities are ignored.
        tier: The partner's tier, for bands that name tiers.

    Returns:
        A draft `Statement` (version 0) whose total is exactly the sum of its lines.
    """
    return _compute(plan, partner_id, period, list(activities), tier=tier, calendar=_Calendar(plan))


def _compute(
    plan: Plan,
    partner_id: str,
    period: StatementPeriod,
    activities: list[Activity],
    *,
    tier: str | None,
    calendar: _Calendar,
) -> Statement:
    context = _Context(plan, tier, calendar)
    start, end = period.start, period.end
    facts = calendar.facts(start, end)
    cutoff = facts.cutoff
    reversal_kind = plan.reversal_kind
    # Only what the period can read: its growth windows and late transactions.
    # A reversal may reach back to any earlier period, so with one, read all.
    lower = facts.lower
    relevant = [a for a in activities if a.occurred_at >= lower or "recorded_at" in a.attributes]
    if any(
        activity.kind == reversal_kind and _concerns(activity, partner_id) for activity in relevant
    ):
        relevant = activities
    entries = _credit(partner_id, relevant, context)
    reversals = [entry for entry in entries if entry[0].kind == reversal_kind]
    by_id = {entry[0].id: entry for entry in entries} if reversals else {}
    here: set[str] = set()
    # Reversals known by this cut-off, grouped by the period of what they reverse.
    clawed: dict[datetime, list[tuple[str, str, datetime]]] = defaultdict(list)
    # target -> (its period, the reversal's period, the reversal)
    earlier: dict[str, tuple[datetime, datetime, str]] = {}
    for entry in reversals:
        reversal = entry[0]
        recorded = _recorded(reversal)
        if recorded > cutoff:
            continue
        target = reversal.attributes.get("reverses")
        found = by_id.get(target) if isinstance(target, str) else None
        reversal_home = _home(reversal, recorded, context)
        if found is None:
            if reversal_home == start:
                context.note(
                    reversal.id,
                    f"reversal {reversal.id} names {target!r}, which is not among the inputs",
                )
            continue
        target_home = _home(found[0], _recorded(found[0]), context)
        if target_home == reversal_home:
            if target_home == start:
                here.add(found[0].id)
                context.read.update((found[0].id, reversal.id))
                context.notes.append(
                    f"activity {found[0].id} was reversed by {reversal.id} in the period; "
                    f"not counted"
                )
            continue
        earlier[found[0].id] = (target_home, reversal_home, reversal.id)
        if reversal_home == start and target_home < start:
            clawed[target_home].append((found[0].id, reversal.id, reversal.occurred_at))
    read = _entries_read(entries, start, end, context, excluded=here)
    lines: list[StatementLine] = []
    totals = _rules_total(read, start, end, context)
    for rule in plan.rules:
        lines.extend(totals[rule.id])
    for target_start in sorted(clawed):
        lines.extend(
            _clawbacks(
                entries, target_start, clawed[target_start], earlier, start=start, context=context
            )
        )
    return _assemble(context, partner_id, start, end, lines)


def _assemble(
    context: _Context, partner_id: str, start: datetime, end: datetime, lines: list[StatementLine]
) -> Statement:
    """The draft statement of ``lines``, with what ``context`` read and noted."""
    plan = context.plan
    facts = context.calendar.facts(start, end)
    return _STATEMENT(
        plan.id,
        plan.version,
        partner_id,
        start,
        end,
        plan.currency,
        context.tier,
        tuple(lines),
        _total(lines, plan.currency),
        tuple(sorted(context.read)),
        tuple(dict.fromkeys(context.notes)) if context.notes else (),
        facts.due_at,
        facts.payable_at,
        StatementStatus.DRAFT,
        0,
        None,
        None,
        None,
    )


def _clawbacks(
    entries: list[_Entry],
    target_start: datetime,
    reversed_now: list[tuple[str, str, datetime]],
    earlier: dict[str, tuple[datetime, datetime, str]],
    *,
    start: datetime,
    context: _Context,
) -> list[StatementLine]:
    """Clawback lines for activities of the period ``target_start`` reversed in this one."""
    _, target_end = context.calendar.period(target_start)
    # What the original period saw at its own cut-off: reversals within it applied.
    sub = _Context(context.plan, context.tier, context.calendar)
    before = {
        target
        for target, (home, reversal_home, _) in earlier.items()
        if home == target_start and target_start < reversal_home < start
    }
    sub.read.update(before)
    sub.read.update(earlier[target][2] for target in before)
    now = before | {target for target, _, _ in reversed_now}
    paid_before = _compute_rules_at(entries, target_start, target_end, sub, without=before)
    # Leaving out activities of kinds a rule does not read changes nothing it pays,
    # and reads nothing the period did not read already.
    kinds = {entry[0].kind for entry in entries if entry[0].id in now and entry[0].id not in before}
    calendar = context.calendar
    affected = [
        rule for rule in context.plan.rules if not calendar.rule(rule).kinds.isdisjoint(kinds)
    ]
    paid_after = _compute_rules_at(
        entries, target_start, target_end, sub, without=now, rules=affected
    )
    lines = []
    targets = tuple(sorted(target for target, _, _ in reversed_now))
    reversal_ids = tuple(sorted(reversal for _, reversal, _ in reversed_now))
    period_text = f"{target_start.date().isoformat()} to {target_end.date().isoformat()}"
    for rule in affected:
        difference = paid_before[rule.id] - paid_after[rule.id]
        if not difference.amount:
            continue
        sources = tuple(sorted({*targets, *reversal_ids}))
        context.read.update(sources)
        context.read.update(sub.read)
        lines.append(
            trusted(
                StatementLine,
                rule=rule.id,
                kind=LineKind.CLAWBACK,
                amount=-difference,
                explanation=(
                    f"{rule.label}: clawback of {difference}: {', '.join(targets)} reversed by "
                    f"{', '.join(reversal_ids)}; the period {period_text} pays {difference} "
                    f"less without them"
                ),
                sources=sources,
                band=None,
                measure=_ZERO,
                baseline=(),
            )
        )
    return lines


def _compute_rules_at(
    entries: list[_Entry],
    start: datetime,
    end: datetime,
    context: _Context,
    *,
    without: set[str] | None = None,
    rules: Sequence[Rule] | None = None,
) -> dict[str, Money]:
    """Each rule's total for the period ``[start, end)`` as its statement saw it.

    Only ``rules`` are computed if given, else every rule of the plan.
    """
    cutoff = context.calendar.facts(start, end).cutoff
    excluded = set(without or ())
    for entry in entries:
        reversal = entry[0]
        if reversal.kind != context.plan.reversal_kind or _recorded(reversal) > cutoff:
            continue
        target = reversal.attributes.get("reverses")
        if isinstance(target, str) and _home(reversal, _recorded(reversal), context) == start:
            excluded.add(target)
            context.read.update((target, reversal.id))
    read = _entries_read(entries, start, end, context, excluded=excluded)
    totals = _rules_total(read, start, end, context, rules)
    currency = context.plan.currency
    return {rule_id: _total(lines, currency) for rule_id, lines in totals.items()}


def replay(statement: Statement, plan: Plan, activities: Iterable[Activity]) -> Statement:
    """Compute ``statement`` again from its inputs and the plan version that made it.

    Args:
        statement: A stored statement.
        plan: The plan at ``statement.plan_version``.
        activities: At least the activities whose ids ``statement.inputs`` lists
            (others are ignored: only the recorded inputs are read).

    Returns:
        The recomputed statement, with the stored one's status, version and
        payment fields, so that it equals ``statement`` when nothing changed.

    Raises:
        ValidationError: If the plan is not the one (or version) that made the
            statement, or an input activity is missing.
    """
    if plan.id != statement.plan_id or plan.version != statement.plan_version:
        raise ValidationError.single(
            "plan",
            f"statement {statement.id} was computed with plan {statement.plan_id!r} "
            f"v{statement.plan_version}; pass that version, not {plan.id!r} v{plan.version}",
        )
    wanted = set(statement.inputs)
    found = [activity for activity in activities if activity.id in wanted]
    missing = wanted - {activity.id for activity in found}
    if missing:
        raise ValidationError.single(
            "activities",
            f"statement {statement.id} read {len(missing)} activities not given, such as "
            f"{min(missing)!r}; load every id in statement.inputs",
        )
    again = compute_statement(
        plan, statement.partner_id, statement.period, found, tier=statement.tier
    )
    return attrs.evolve(
        again,
        status=statement.status,
        version=statement.version,
        approved_by=statement.approved_by,
        paid_by=statement.paid_by,
        payment_reference=statement.payment_reference,
    )
