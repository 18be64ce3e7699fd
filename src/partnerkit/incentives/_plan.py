"""Incentive plans as data: what earns a reward, at which rates, on which calendar.

A `Plan` is configuration, like a tier `Program`: written as a dict, TOML or JSON,
validated when built, versioned so that a past statement can be computed again
with the plan that made it.
"""

from __future__ import annotations

import enum
import itertools
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

import attrs

from partnerkit._base.checks import (
    a_slug,
    a_text,
    an_id,
    check_fields,
    check_items,
    one_of,
    repeated,
)
from partnerkit._base.money import check_currency, format_value, to_decimal
from partnerkit._base.time import Cadence, Period
from partnerkit.errors import Problems, ValidationError

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "Band",
    "BandMode",
    "Basis",
    "Plan",
    "RewardKind",
    "Rule",
    "plan_from_dict",
    "plan_from_toml",
]


class Basis(enum.StrEnum):
    """What a rule measures in the ledger.

    - ``revenue_booked``: the money of ``revenue_booked`` activities;
    - ``paid_invoices``: the money of ``invoice_paid`` activities (pay only on
      invoices the customer paid);
    - ``deals_won``: how many ``deal_won`` activities (bands count deals; a
      percentage is taken of their money);
    - ``margin``: the ``margin`` attribute of ``revenue_booked`` activities, in
      the activity's currency;
    - ``units``: the ``units`` attribute (a whole number, 1 when absent) of
      ``revenue_booked`` activities (bands count units).
    """

    REVENUE_BOOKED = "revenue_booked"
    PAID_INVOICES = "paid_invoices"
    DEALS_WON = "deals_won"
    MARGIN = "margin"
    UNITS = "units"

    @property
    def counts(self) -> bool:
        """Whether the basis measures a count (deals, units) rather than money."""
        return self in (Basis.DEALS_WON, Basis.UNITS)

    @property
    def default_kinds(self) -> tuple[str, ...]:
        """The activity kinds the basis reads unless a rule names others."""
        return _DEFAULT_KINDS[self]


_DEFAULT_KINDS: Final = {
    Basis.REVENUE_BOOKED: ("revenue_booked",),
    Basis.PAID_INVOICES: ("invoice_paid",),
    Basis.DEALS_WON: ("deal_won",),
    Basis.MARGIN: ("revenue_booked",),
    Basis.UNITS: ("revenue_booked",),
}


class RewardKind(enum.StrEnum):
    """How a band's ``rate`` turns the measure into money.

    - ``percentage``: ``rate`` percent (0 to 100) of the money in the band;
    - ``flat``: ``rate`` (plan currency) per unit in the band: per deal, per
      unit, or per transaction for money bases;
    - ``fixed``: ``rate`` (plan currency) once a period, from the highest band the
      measure reaches (a step bonus; the band mode does not matter).
    """

    PERCENTAGE = "percentage"
    FLAT = "flat"
    FIXED = "fixed"


class BandMode(enum.StrEnum):
    """How bands apply.

    - ``marginal``: each band's rate applies to the part of the measure within
      the band (income-tax style);
    - ``retroactive``: the rate of the highest band reached applies to the whole
      measure.
    """

    MARGINAL = "marginal"
    RETROACTIVE = "retroactive"


def _decimal(value: object) -> Decimal:
    return to_decimal(value, "")


def _non_negative(value: object) -> Decimal:
    number = to_decimal(value, "")
    if number < 0:
        raise ValidationError.single("", f"{number} is negative; give 0 or more")
    return number


def _slugs(what: str) -> Any:
    check = a_slug(what)

    def slugs(value: object) -> tuple[str, ...]:
        problems = Problems()
        items = check_items(value, "", problems, str, expected="text")
        problems.raise_if_any()
        checked = tuple(problems.check(f"[{i}]", check, item) for i, item in enumerate(items))
        problems.raise_if_any()
        return checked  # type: ignore[return-value]  # no None once no problem

    return slugs


def _texts(value: object) -> tuple[str, ...]:
    problems = Problems()
    items = check_items(value, "", problems, str, expected="text")
    problems.raise_if_any()
    checked = tuple(
        problems.check(f"[{i}]", a_text(required=True), item) for i, item in enumerate(items)
    )
    problems.raise_if_any()
    return checked  # type: ignore[return-value]


@attrs.frozen
class Band:
    """One rate band: the measure above ``above`` earns ``rate``.

    Attributes:
        above: Where the band starts, exclusive: money in the plan's currency, or
            a count for ``deals_won`` and ``units``. The first band usually starts
            at 0; a measure at or below the first band's start earns nothing.
        rate: A percentage (``"5"`` is 5%) for ``percentage`` rewards, else an
            amount in the plan's currency.
        tiers: The tier ids that earn this band; empty for every partner. A
            partner whose tier is not listed keeps the rate of the band below.
    """

    above: Decimal = attrs.field(default=Decimal(0))
    rate: Decimal = attrs.field(default=Decimal(0))
    tiers: tuple[str, ...] = ()

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        check_fields(
            self,
            problems,
            {"above": _non_negative, "rate": _non_negative, "tiers": _slugs("tier id")},
        )
        problems.raise_if_any()

    def earned_by(self, tier: str | None) -> bool:
        """Whether a partner in ``tier`` earns this band."""
        return not self.tiers or tier in self.tiers


@attrs.frozen
class Rule:
    """One way a plan rewards partners: a basis, filters, bands and limits.

    Attributes:
        id: A slug, unique in the plan (``resale``, ``q3_spiff``).
        basis: What is measured (`Basis`).
        reward: How rates become money (`RewardKind`).
        bands: Ascending by ``above``; at least one.
        mode: `BandMode` (marginal by default).
        label: How explanations name the rule; defaults to the id.
        kinds: Activity kinds read; empty for the basis's own.
        products: Only activities whose ``product`` attribute is listed count;
            empty for every product.
        exclude_products: Activities whose ``product`` is listed never count.
        growth: Reward growth only: the measure is this period's minus that of
            the window ``growth`` earlier (``P1Y``: against the same period last
            year; ``P1M`` on a monthly plan: against the month before), never
            below zero.
        cap: The most the rule pays a partner in one period (plan currency).
        starts_on: A SPIFF's first day: activities before it do not count.
        ends_on: A SPIFF's last day (inclusive): activities after it do not count.
    """

    id: str
    basis: Basis
    reward: RewardKind
    bands: tuple[Band, ...]
    mode: BandMode = BandMode.MARGINAL
    label: str = ""
    kinds: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    exclude_products: tuple[str, ...] = ()
    growth: Period | None = None
    cap: Decimal | None = None
    starts_on: date | None = None
    ends_on: date | None = None

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        check_fields(
            self,
            problems,
            {
                "id": a_slug("rule id"),
                "basis": one_of(Basis),
                "reward": one_of(RewardKind),
                "mode": one_of(BandMode),
                "label": a_text(required=False),
                "kinds": _slugs("activity kind"),
                "products": _texts,
                "exclude_products": _texts,
                "cap": lambda value: None if value is None else _non_negative(value),
            },
        )
        bands = check_items(self.bands, "bands", problems, Band)
        object.__setattr__(self, "bands", bands)
        if not bands:
            problems.add("bands", "give at least one band, such as {above = 0, rate = '5'}")
        edges = [band.above for band in bands if isinstance(band, Band)]
        if any(low >= high for low, high in itertools.pairwise(edges)):
            problems.add("bands", "bands must be in strictly ascending order of 'above'")
        if self.reward is RewardKind.PERCENTAGE:
            for index, band in enumerate(bands):
                if isinstance(band, Band) and band.rate > 100:
                    problems.add(f"bands[{index}].rate", "a percentage is at most 100")
        if self.basis.counts if isinstance(self.basis, Basis) else False:
            for index, band in enumerate(bands):
                if isinstance(band, Band) and band.above != band.above.to_integral_value():
                    problems.add(f"bands[{index}].above", "this basis counts: give a whole number")
        if (
            self.reward is RewardKind.FLAT
            and isinstance(self.basis, Basis)
            and not self.basis.counts
        ):
            problems.add(
                "reward",
                "flat rewards pay per deal or unit: use basis 'deals_won' or 'units', "
                "or a 'percentage' reward",
            )
        if self.growth is not None and (
            not isinstance(self.growth, Period) or self.growth.is_zero() or self.growth.days < 0
        ):
            problems.add("growth", "give a positive period such as 'P1Y' or 'P1M'")
        for name in ("starts_on", "ends_on"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, date) or isinstance(value, datetime)):
                problems.add(name, "expected a date such as 2026-03-01")
        if (
            isinstance(self.starts_on, date)
            and isinstance(self.ends_on, date)
            and self.ends_on < self.starts_on
        ):
            problems.add("ends_on", "ends before starts_on; swap them")
        overlap = set(self.products or ()) & set(self.exclude_products or ())
        if overlap:
            problems.add("exclude_products", f"{sorted(overlap)} are both included and excluded")
        problems.raise_if_any()
        if not self.label:
            object.__setattr__(self, "label", self.id)
        if not self.kinds:
            object.__setattr__(self, "kinds", self.basis.default_kinds)

    @property
    def is_spiff(self) -> bool:
        """Whether the rule only counts activities in a date range."""
        return self.starts_on is not None or self.ends_on is not None

    def window(self) -> tuple[datetime | None, datetime | None]:
        """The SPIFF's range as instants ``[start, end)`` (``None``: open)."""
        start = end = None
        if self.starts_on is not None:
            start = datetime.combine(self.starts_on, datetime.min.time(), UTC)
        if self.ends_on is not None:
            end = datetime.combine(self.ends_on, datetime.min.time(), UTC) + Period(days=1)
        return start, end

    def describe_band(self, index: int) -> str:
        """A band's rate in words: ``5%``, ``50.00 USD a deal``."""
        rate = self.bands[index].rate
        if self.reward is RewardKind.PERCENTAGE:
            return f"{format_value(rate.normalize() if rate == rate.to_integral() else rate)}%"
        return format_value(rate)


def _monthly() -> Cadence:
    return Cadence("FREQ=MONTHLY;BYMONTHDAY=1")


@attrs.frozen
class Plan:
    """An incentive plan: rules, a currency and a statement calendar.

    Attributes:
        id: The plan's id (``plan_resale``).
        version: 1 or more; a changed plan gets a new version, and statements
            record the version that computed them.
        name: What people call it.
        currency: Every reward is in this ISO 4217 currency; activities in other
            currencies are left out (each statement notes them).
        rules: At least one `Rule`, ids unique.
        cadence: When periods start (monthly on the 1st by default): a period
            runs from one occurrence to the next.
        calculation_lag: How long after a period ends its statement is computed
            (10 days by default).
        grace: Transactions recorded up to this long after the period ends still
            count in it (5 days by default); later ones count in the period they
            were recorded in. An activity's ``recorded_at`` attribute (ISO 8601
            text) says when it was recorded; without one, when it occurred.
        hold: How long after a period ends its rewards are held before they
            may be paid (30 days by default), so reversals can claw back first.
        reversal_kind: The activity kind that reverses an earlier activity,
            named in its ``reverses`` attribute.
    """

    id: str
    version: int
    name: str
    currency: str
    rules: tuple[Rule, ...]
    cadence: Cadence = attrs.field(factory=_monthly)
    calculation_lag: Period = attrs.field(factory=lambda: Period(days=10))
    grace: Period = attrs.field(factory=lambda: Period(days=5))
    hold: Period = attrs.field(factory=lambda: Period(days=30))
    reversal_kind: str = "reversal"

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        check_fields(
            self,
            problems,
            {
                "id": an_id,
                "name": a_text(required=True),
                "currency": lambda value: check_currency(value, ""),
                "reversal_kind": a_slug("activity kind"),
            },
        )
        if type(self.version) is not int or self.version < 1:
            problems.add("version", "expected a whole number, 1 or more")
        rules = check_items(self.rules, "rules", problems, Rule)
        object.__setattr__(self, "rules", rules)
        if not rules:
            problems.add("rules", "give at least one rule")
        twice = repeated(rule.id for rule in rules if isinstance(rule, Rule))
        if twice:
            problems.add("rules", f"rule ids must be unique; repeated: {', '.join(twice)}")
        if not isinstance(self.cadence, Cadence):
            problems.add("cadence", "expected a Cadence such as Cadence('FREQ=MONTHLY')")
        for name in ("calculation_lag", "grace", "hold"):
            value = getattr(self, name)
            if not isinstance(value, Period) or value.days < 0 or value.months < 0:
                problems.add(name, "expected a period of zero or more, such as 'P10D'")
        if (
            isinstance(self.grace, Period)
            and isinstance(self.calculation_lag, Period)
            and _later(self.grace, self.calculation_lag)
        ):
            problems.add(
                "grace", "the grace must end by the calculation: make it no longer than the lag"
            )
        problems.raise_if_any()

    def rule(self, rule_id: str) -> Rule:
        """The rule with id ``rule_id``.

        Raises:
            ValidationError: If the plan has no such rule.
        """
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        known = ", ".join(rule.id for rule in self.rules)
        raise ValidationError.single(
            "rule", f"plan {self.id!r} has no rule {rule_id!r}; it has {known}"
        )


def _later(first: Period, second: Period) -> bool:
    base = datetime(2001, 1, 31, tzinfo=UTC)
    return base + first > base + second


def _floats_to_decimals(value: object) -> object:
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {key: _floats_to_decimals(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_floats_to_decimals(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


_EPOCH_TEXT: Final = "1970-01-01T00:00:00+00:00"


def plan_from_dict(data: Mapping[str, Any]) -> Plan:
    """Build a `Plan` from a dict, as a notebook user or a JSON file writes one.

    The dict mirrors `Plan`'s fields. Floats are read by their shortest decimal
    form (``2.5`` is exactly ``Decimal("2.5")``); ``cadence`` may be a bare RRULE
    (anchored at 1970-01-01 UTC); periods are ISO 8601 (``"P10D"``) or words.

    Raises:
        ValidationError: Naming every bad field by path, such as
            ``rules[1].bands[0].rate``.
    """
    from partnerkit.serialization import from_dict  # noqa: PLC0415 - serialization loads cattrs; domain code imports it only when asked

    if not isinstance(data, dict):
        raise ValidationError.single("", f"expected a dict, got {type(data).__name__}")
    prepared = _floats_to_decimals(data)
    assert isinstance(prepared, dict)  # noqa: S101 - narrows what the line above guarantees
    cadence = prepared.get("cadence")
    if isinstance(cadence, str):
        prepared["cadence"] = {"rule": cadence, "anchor": _EPOCH_TEXT}
    elif isinstance(cadence, dict):
        cadence.setdefault("anchor", _EPOCH_TEXT)
    return from_dict(Plan, prepared)


def plan_from_toml(text: str) -> Plan:
    """Read a `Plan` from TOML text (see ``docs/incentives.md``).

    Numbers are read exactly: TOML floats become Decimals from their written
    digits, never binary floats.

    Raises:
        ValidationError: If the text is not TOML (with the line and column), or
            naming every bad field by path.
    """
    from partnerkit.serialization import _load_toml  # noqa: PLC0415 - see plan_from_dict

    return plan_from_dict(_load_toml(text, parse_float=Decimal))
