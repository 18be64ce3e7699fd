"""Attribution of won revenue to partners: sourced, influenced or unattributed, by rules as data.

For each won deal, partnerkit looks at the partners' touches before the win:

1. **Sourcing partners.** A partner sourced the deal when it introduced the
   customer: it registered the deal within ``sourced_window`` (30 days by
   default) before the opportunity was created, the host recorded it as the
   source (a ``sourced`` touch before creation), or, with ``lead_sources`` on,
   the deal came from a lead routed to that partner (a ``lead`` touch whose
   ``lead_id`` is the deal's).
2. **Influencing partners.** Every other partner that touched the deal before
   it was won: it helped (``influence``), or registered outside the window.
3. **Credit shares.** Sourcing partners share ``1 - influence_share`` of the
   deal when someone influenced it, else all of it; influencers share
   ``influence_share`` (30% by default; 25-50% is common). With influencers
   only, the rest stays unattributed; with nobody, all of it does. Partners in
   one role split their part equally, or by their touches' weights
   (``split="weight"``).

Shares are exact parts per million that add up to exactly 1, and each part of the
money is `Money.allocate`'d by them, so the parts add up to the deal's amount to
the cent.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Final

import attrs

from partnerkit._base.checks import check_enum
from partnerkit._base.ids import check_id
from partnerkit._base.money import Money, RateSource
from partnerkit._base.time import Period, to_utc
from partnerkit.deals._model import DealAction, DealRegistration, DealStatus
from partnerkit.errors import Problems, ValidationError

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "UNASSIGNED",
    "AttributionReport",
    "AttributionRules",
    "Credit",
    "CreditRole",
    "DealAttribution",
    "PartnerCredit",
    "ProgramCredit",
    "Split",
    "Touch",
    "TouchKind",
    "WonDeal",
    "attribute",
    "rules_from_dict",
    "won_deal",
]

#: Share denominators: shares are whole parts per million.
PARTS: Final = 1_000_000
#: The program key of deals that name none.
UNASSIGNED: Final = "unassigned"


class TouchKind(enum.StrEnum):
    """How a partner touched a deal."""

    REGISTRATION = "registration"
    """It registered the deal (sourced when within the window before creation)."""
    SOURCED = "sourced"
    """The host recorded it as the deal's source."""
    INFLUENCE = "influence"
    """It helped: a demo, a reference, a co-sell meeting."""
    LEAD = "lead"
    """The vendor routed it the lead the deal came from."""


class Split(enum.StrEnum):
    """How partners in one role split their part."""

    EQUAL = "equal"
    WEIGHT = "weight"


class CreditRole(enum.StrEnum):
    """Why a part of a deal went where it went."""

    SOURCED = "sourced"
    INFLUENCED = "influenced"
    UNATTRIBUTED = "unattributed"


def _weight(value: object, path: str, problems: Problems) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal, str)):
        problems.add(path, f"expected a Decimal, an int or numeric text, got {value!r}")
        return Decimal(1)
    try:
        number = Decimal(value)
    except ArithmeticError:
        problems.add(path, f"{value!r} is not a number")
        return Decimal(1)
    if not number.is_finite() or number <= 0:
        problems.add(path, f"expected a number greater than 0, got {value!r}")
        return Decimal(1)
    return number


@attrs.frozen
class Touch:
    """A partner's touch on a deal.

    Attributes:
        partner_id: The partner.
        kind: What it did.
        at: When.
        weight: Its weight when a role's part is split by weight.
        lead_id: For a ``lead`` touch, the lead the vendor routed to the partner.
    """

    partner_id: str
    kind: TouchKind
    at: datetime
    weight: Decimal = Decimal(1)
    lead_id: str | None = None

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        fix = object.__setattr__
        problems.check("partner_id", check_id, self.partner_id, "")
        fix(self, "kind", problems.check("kind", check_enum, TouchKind, self.kind))
        fix(self, "at", problems.check("at", to_utc, self.at, ""))
        fix(self, "weight", _weight(self.weight, "weight", problems))
        if self.lead_id is not None:
            problems.check("lead_id", check_id, self.lead_id, "")
        problems.raise_if_any()


@attrs.frozen
class WonDeal:
    """A won deal to attribute.

    Attributes:
        id: The deal's id.
        amount: What was won.
        created_at: When the opportunity was created (the sourced window ends here).
        won_at: When it was won; later touches are ignored.
        touches: The partners' touches.
        program_id: The partner program the credit counts toward.
        lead_id: The routed lead the deal was converted from, if any.
    """

    id: str
    amount: Money
    created_at: datetime
    won_at: datetime
    touches: tuple[Touch, ...] = ()
    program_id: str | None = None
    lead_id: str | None = None

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        fix = object.__setattr__
        problems.check("id", check_id, self.id, "")
        if not isinstance(self.amount, Money):
            problems.add("amount", "expected Money, such as Money('25000', 'EUR')")
        elif self.amount.amount < 0:
            problems.add("amount", f"{self.amount} is negative; give what was won")
        created = problems.check("created_at", to_utc, self.created_at, "")
        won = problems.check("won_at", to_utc, self.won_at, "")
        fix(self, "created_at", created)
        fix(self, "won_at", won)
        if created is not None and won is not None and won < created:
            problems.add("won_at", "it was won before it was created")
        touches = tuple(self.touches) if isinstance(self.touches, (list, tuple)) else ()
        for index, touch in enumerate(touches):
            if not isinstance(touch, Touch):
                problems.add(f"touches[{index}]", "expected a Touch(partner_id, kind, at)")
        fix(self, "touches", touches)
        for name in ("program_id", "lead_id"):
            if getattr(self, name) is not None:
                problems.check(name, check_id, getattr(self, name), "")
        problems.raise_if_any()


@attrs.frozen
class AttributionRules:
    """The attribution rules, as data (see `rules_from_dict`).

    Attributes:
        sourced_window: How long before the opportunity's creation a
            registration still sources it.
        influence_share: The influencers' part of a deal, from 0 to 1.
        split: How partners in one role split their part.
        lead_sources: Whether a deal converted from a routed lead is sourced by
            the partner the lead was routed to.
    """

    sourced_window: Period = attrs.field(factory=lambda: Period.of_days(30))
    influence_share: Decimal = Decimal("0.3")
    split: Split = Split.EQUAL
    lead_sources: bool = True

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        fix = object.__setattr__
        window = self.sourced_window
        if not isinstance(window, Period) or any(value < 0 for value in window._parts()):
            problems.add("sourced_window", "expected a Period of 0 days or more, like 30 days")
        share = self.influence_share
        if isinstance(share, (float, bool)) or not isinstance(share, (int, Decimal, str)):
            problems.add("influence_share", f"expected a Decimal from 0 to 1, got {share!r}")
        else:
            try:
                number = Decimal(share)
            except ArithmeticError:
                number = Decimal(-1)
            if not number.is_finite() or not 0 <= number <= 1:
                problems.add("influence_share", f"expected a number from 0 to 1, got {share!r}")
            else:
                fix(self, "influence_share", number)
        fix(self, "split", problems.check("split", check_enum, Split, self.split))
        if not isinstance(self.lead_sources, bool):
            problems.add("lead_sources", "expected true or false")
        problems.raise_if_any()


def rules_from_dict(data: Mapping[str, object]) -> AttributionRules:
    """Rules from a dict (a parsed TOML or JSON document).

    Keys: ``sourced_window_days`` (whole days), ``influence_share`` (a number
    from 0 to 1, as text or a whole number), ``split`` (``equal`` or ``weight``),
    ``lead_sources`` (true or false); all optional.

    Raises:
        ValidationError: Naming every unknown key and bad value.
    """
    if not isinstance(data, Mapping):
        raise ValidationError.single("", "expected a table of attribution rules")
    known = {"sourced_window_days", "influence_share", "split", "lead_sources"}
    problems = Problems()
    for key in data:
        if key not in known:
            problems.add(str(key), f"unknown rule; use one of {', '.join(sorted(known))}")
    days = data.get("sourced_window_days", 30)
    if isinstance(days, bool) or not isinstance(days, int) or days < 0:
        problems.add("sourced_window_days", f"expected whole days, 0 or more, got {days!r}")
        days = 30
    problems.raise_if_any()
    share = data.get("influence_share", "0.3")
    return AttributionRules(
        sourced_window=Period.of_days(days),
        influence_share=str(share) if isinstance(share, float) else share,  # type: ignore[arg-type]
        split=data.get("split", "equal"),  # type: ignore[arg-type]
        lead_sources=data.get("lead_sources", True),  # type: ignore[arg-type]
    )


@attrs.frozen
class Credit:
    """A part of a deal's amount and who it went to.

    Attributes:
        partner_id: The partner, ``None`` for the unattributed part.
        role: Sourced, influenced or unattributed.
        share: The part, in parts per million as a Decimal fraction (0.35).
        amount: The money, allocated so the parts add up exactly.
    """

    partner_id: str | None
    role: CreditRole
    share: Decimal
    amount: Money


@attrs.frozen
class DealAttribution:
    """One won deal's attribution, and why.

    Attributes:
        deal_id: The deal.
        amount: What was won.
        program_id: The program the credit counts toward (`UNASSIGNED` if none).
        category: Sourced if any partner sourced it, else influenced if any
            influenced it, else unattributed.
        credits: Who gets which part; the shares add up to exactly 1 and the
            amounts to ``amount``.
        reasons: The rule applied to each touch, in words.
    """

    deal_id: str
    amount: Money
    program_id: str
    category: CreditRole
    credits: tuple[Credit, ...]
    reasons: tuple[str, ...]

    def explain(self) -> str:
        """The attribution in a few lines."""
        parts = ", ".join(
            f"{credit.partner_id or 'unattributed'} {credit.role.value} "
            f"{credit.share * 100:.2f}% ({credit.amount})"
            for credit in self.credits
        )
        lines = [f"{self.deal_id} {self.amount}: {self.category.value}: {parts}"]
        lines += [f"  - {reason}" for reason in self.reasons]
        return "\n".join(lines)


@attrs.frozen
class PartnerCredit:
    """A partner's attributed revenue.

    Attributes:
        partner_id: The partner.
        sourced: Credit from deals it sourced.
        influenced: Credit from deals it influenced.
        deals: Deals it has credit from.
    """

    partner_id: str
    sourced: Money
    influenced: Money
    deals: int

    @property
    def total(self) -> Money:
        """Sourced plus influenced."""
        return self.sourced + self.influenced


@attrs.frozen
class ProgramCredit:
    """A program's won revenue by how it was attributed.

    Attributes:
        program_id: The program (`UNASSIGNED` for deals naming none).
        won: Everything won.
        sourced: The partners' sourced credit.
        influenced: The partners' influenced credit.
        unattributed: The rest; the three add up to ``won``.
    """

    program_id: str
    won: Money
    sourced: Money
    influenced: Money
    unattributed: Money


@attrs.frozen
class AttributionReport:
    """Won revenue attributed per deal, partner and program.

    Attributes:
        currency: The currency of every amount.
        rules: The rules applied.
        deals: Per deal, with reasons.
        partners: Per partner, by partner id.
        programs: Per program, by program id.
    """

    currency: str
    rules: AttributionRules
    deals: tuple[DealAttribution, ...]
    partners: tuple[PartnerCredit, ...]
    programs: tuple[ProgramCredit, ...]

    def deal(self, deal_id: str) -> DealAttribution:
        """One deal's attribution.

        Raises:
            LookupError: If the deal is not in the report.
        """
        for item in self.deals:
            if item.deal_id == deal_id:
                return item
        msg = f"deal {deal_id!r} is not in this report"
        raise LookupError(msg)

    def _iter_records(self) -> Iterator[dict[str, object]]:
        for item in self.deals:
            for credit in item.credits:
                yield {
                    "deal_id": item.deal_id,
                    "program_id": item.program_id,
                    "category": item.category.value,
                    "partner_id": credit.partner_id,
                    "role": credit.role.value,
                    "share": credit.share,
                    "currency": self.currency,
                    "amount": credit.amount.amount,
                }

    def to_records(self) -> list[dict[str, object]]:
        """One flat dict per credit of every deal, for ``pandas.DataFrame``."""
        return list(self._iter_records())

    def _repr_html_(self) -> str:
        from partnerkit.attribution._html import report_html  # noqa: PLC0415 - notebooks only

        return report_html(self)


def won_deal(
    registration: DealRegistration,
    *,
    created_at: datetime | None = None,
    touches: Iterable[Touch] = (),
    program_id: str | None = None,
    lead_id: str | None = None,
) -> WonDeal:
    """A won registration as a `WonDeal`, its registration a touch of its partner.

    Args:
        registration: A won registration.
        created_at: When the host's opportunity was created (default: when the
            registration was submitted: the registration is the opportunity, so
            its partner sourced it).
        touches: Other partners' touches.
        program_id: The program the credit counts toward.
        lead_id: The routed lead it was converted from (default: the
            registration's own ``lead_id``). A deal from a lead counts a lead
            touch of the registering partner, which the rules' ``lead_sources``
            make its source.

    Raises:
        ValidationError: If the registration is not won.
    """
    if registration.status is not DealStatus.WON:
        raise ValidationError.single(
            "registration", f"{registration.id} is {registration.status.value}; attribute won deals"
        )
    won_at = next(
        (c.at for c in reversed(registration.history) if c.action is DealAction.WIN),
        registration.updated_at or registration.registered_at,
    )
    registered = registration.submitted_at or registration.registered_at
    own = [Touch(registration.partner_id, TouchKind.REGISTRATION, registered)]
    lead = lead_id if lead_id is not None else registration.lead_id
    if lead is not None and lead == registration.lead_id:
        own.append(Touch(registration.partner_id, TouchKind.LEAD, registered, lead_id=lead))
    return WonDeal(
        registration.id,
        registration.amount,
        created_at if created_at is not None else registered,
        won_at,
        (*own, *touches),
        program_id,
        lead,
    )


def _parts(weights: Mapping[str, Fraction], total: Fraction) -> dict[str, Fraction]:
    whole = sum(weights.values(), Fraction(0))
    return {partner: total * weight / whole for partner, weight in weights.items()}


def _per_million(fractions: list[Fraction]) -> list[int]:
    """Whole parts per million for fractions summing to 1, adding up to exactly `PARTS`."""
    exact = [fraction * PARTS for fraction in fractions]
    whole = [int(value) for value in exact]
    leftover = PARTS - sum(whole)
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - whole[i]), i))
    for index in order[:leftover]:
        whole[index] += 1
    return whole


def _attribute_one(deal: WonDeal, rules: AttributionRules, amount: Money) -> DealAttribution:
    window_start = deal.created_at - rules.sourced_window
    sourcing: dict[str, Fraction] = defaultdict(Fraction)
    touching: dict[str, Fraction] = defaultdict(Fraction)
    reasons: list[str] = []
    for touch in sorted(deal.touches, key=lambda t: (t.at, t.partner_id, t.kind.value)):
        weight = Fraction(touch.weight) if rules.split is Split.WEIGHT else Fraction(1)
        when = touch.at.date().isoformat()
        who = f"{touch.partner_id} {touch.kind.value} {when}"
        if touch.at > deal.won_at:
            reasons.append(f"{who}: after the win, ignored")
            continue
        if touch.kind is TouchKind.REGISTRATION and window_start <= touch.at <= deal.created_at:
            days = (deal.created_at - touch.at) // timedelta(days=1)
            reasons.append(
                f"{who}: {days} days before the opportunity was created "
                f"(window {rules.sourced_window.describe()}): sourced"
            )
            sourcing[touch.partner_id] = max(sourcing[touch.partner_id], weight)
        elif touch.kind is TouchKind.SOURCED and touch.at <= deal.created_at:
            reasons.append(f"{who}: recorded as the source: sourced")
            sourcing[touch.partner_id] = max(sourcing[touch.partner_id], weight)
        elif (
            touch.kind is TouchKind.LEAD
            and rules.lead_sources
            and deal.lead_id is not None
            and touch.lead_id == deal.lead_id
        ):
            reasons.append(f"{who}: the deal came from lead {deal.lead_id} routed to it: sourced")
            sourcing[touch.partner_id] = max(sourcing[touch.partner_id], weight)
        else:
            why = {
                TouchKind.REGISTRATION: "registered outside the sourced window",
                TouchKind.SOURCED: "recorded as source after the opportunity was created",
                TouchKind.INFLUENCE: "helped before the win",
                TouchKind.LEAD: "a lead that is not this deal's (or leads do not source)",
            }[touch.kind]
            reasons.append(f"{who}: {why}: influenced")
            touching[touch.partner_id] = max(touching[touch.partner_id], weight)
    influencing = {p: w for p, w in touching.items() if p not in sourcing}
    share = Fraction(rules.influence_share)
    parts: list[tuple[str | None, CreditRole, Fraction]] = []
    if sourcing:
        rest = 1 - share if influencing and share else Fraction(1)
        parts += [(p, CreditRole.SOURCED, f) for p, f in sorted(_parts(sourcing, rest).items())]
    if influencing and share:
        parts += [
            (p, CreditRole.INFLUENCED, f) for p, f in sorted(_parts(influencing, share).items())
        ]
    given = sum((f for _, _, f in parts), Fraction(0))
    if given < 1:
        parts.append((None, CreditRole.UNATTRIBUTED, 1 - given))
    category = (
        CreditRole.SOURCED
        if sourcing
        else CreditRole.INFLUENCED
        if influencing and share
        else CreditRole.UNATTRIBUTED
    )
    millionths = _per_million([f for _, _, f in parts])
    amounts = amount.allocate(millionths)
    given_credits = tuple(
        Credit(partner, role, Decimal(units).scaleb(-6), money)
        for (partner, role, _), units, money in zip(parts, millionths, amounts, strict=True)
    )
    if not reasons:
        reasons.append("no partner touched it before the win")
    return DealAttribution(
        deal.id, amount, deal.program_id or UNASSIGNED, category, given_credits, tuple(reasons)
    )


def attribute(
    deals: Iterable[WonDeal],
    rules: AttributionRules | None = None,
    *,
    currency: str | None = None,
    rates: RateSource | None = None,
) -> AttributionReport:
    """Attribute won deals to partners and programs.

    Args:
        deals: The won deals.
        rules: The rules (default: 30-day sourced window, 30% influence share,
            equal split, leads source).
        currency: The report's currency (default the deals' one currency).
        rates: Converts deals in other currencies, at each deal's win.

    Raises:
        ValidationError: If a deal is not a `WonDeal`, ids repeat, or the deals
            are in several currencies without ``currency`` and ``rates``.
    """
    chosen = rules or AttributionRules()
    items = list(deals)
    for index, item in enumerate(items):
        if not isinstance(item, WonDeal):
            raise ValidationError.single(f"deals[{index}]", "expected a WonDeal")
    seen: set[str] = set()
    for index, item in enumerate(items):
        if item.id in seen:
            raise ValidationError.single(f"deals[{index}]", f"deal {item.id!r} is given twice")
        seen.add(item.id)
    found = sorted({item.amount.currency for item in items})
    code = currency or (found[0] if found else "USD")
    if rates is None and any(other != code for other in found):
        raise ValidationError.single(
            "currency", f"deals are in {', '.join(found)}; give currency= and rates= to convert"
        )
    zero = Money.zero(code).rounded()
    results = []
    partners: dict[str, tuple[Money, Money, int]] = {}
    programs: dict[str, list[Money]] = {}
    slot = {CreditRole.SOURCED: 1, CreditRole.INFLUENCED: 2, CreditRole.UNATTRIBUTED: 3}
    for item in sorted(items, key=lambda deal: deal.id):
        amount = item.amount
        if amount.currency != code:
            assert rates is not None  # checked above  # noqa: S101
            amount = amount.convert(code, rates, as_of=item.won_at)
        result = _attribute_one(item, chosen, amount.rounded())
        results.append(result)
        program = programs.setdefault(result.program_id, [zero, zero, zero, zero])
        program[0] += result.amount
        for credit in result.credits:
            program[slot[credit.role]] += credit.amount
            if credit.partner_id is not None:
                sourced, influenced, count = partners.get(credit.partner_id, (zero, zero, 0))
                if credit.role is CreditRole.SOURCED:
                    sourced += credit.amount
                else:
                    influenced += credit.amount
                partners[credit.partner_id] = (sourced, influenced, count + 1)
    return AttributionReport(
        currency=code,
        rules=chosen,
        deals=tuple(results),
        partners=tuple(PartnerCredit(p, *values) for p, values in sorted(partners.items())),
        programs=tuple(ProgramCredit(p, *values) for p, values in sorted(programs.items())),
    )
