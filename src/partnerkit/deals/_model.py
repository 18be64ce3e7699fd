"""Deal registration models: the registration, its customer, decisions, extensions, conflicts.

Public through `partnerkit.deals`; the rules that change them live in
`partnerkit.deals._workflow` and `partnerkit.deals._conflicts`.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Final

import attrs

from partnerkit._base.checks import check_enum, check_text
from partnerkit._base.countries import (
    check_country,
    normalize_email,
    normalize_hostname,
    split_hostname,
)
from partnerkit._base.ids import check_id, is_valid_id
from partnerkit._base.money import Money
from partnerkit._base.time import Period, parse_date, to_utc
from partnerkit.deals._domains import registrable_domain
from partnerkit.deals._names import normalize_company_name
from partnerkit.errors import Problems, ValidationError

__all__ = [
    "ACTIVE_STATUSES",
    "REASON_REQUIRED",
    "STANDARD_WEIGHTS",
    "TRANSITIONS",
    "Conflict",
    "ConflictOutcome",
    "ConflictRule",
    "Customer",
    "DealAction",
    "DealRegistration",
    "DealStatus",
    "DealStatusChange",
    "Decision",
    "DirectAccount",
    "Extension",
    "ExtensionPolicy",
    "ExtensionStatus",
    "Match",
    "MatchKind",
    "PartyKind",
]

_MAX_NOTES: Final = 5000
_MAX_REASON: Final = 2000
_MAX_PRODUCT: Final = 100


class DealStatus(enum.StrEnum):
    """Where a deal registration is in its lifecycle."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    WON = "won"
    LOST = "lost"
    EXPIRED = "expired"


#: The statuses in which a registration holds (or asks for) the customer: the ones a
#: `ConflictIndex` holds and new registrations are checked against.
ACTIVE_STATUSES: Final = frozenset({DealStatus.SUBMITTED, DealStatus.APPROVED})


class DealAction(enum.StrEnum):
    """What can be done to a registration; see `TRANSITIONS` for the status moves."""

    SUBMIT = "submit"
    APPROVE = "approve"
    REJECT = "reject"
    WITHDRAW = "withdraw"
    WIN = "win"
    LOSE = "lose"
    EXPIRE = "expire"
    AMEND = "amend"
    REQUEST_EXTENSION = "request_extension"
    APPROVE_EXTENSION = "approve_extension"
    DENY_EXTENSION = "deny_extension"


_S = DealStatus
_A = DealAction
#: action -> (statuses it is allowed from, status it leads to)
TRANSITIONS: Final[Mapping[DealAction, tuple[frozenset[DealStatus], DealStatus]]] = {
    _A.SUBMIT: (frozenset({_S.DRAFT}), _S.SUBMITTED),
    _A.APPROVE: (frozenset({_S.SUBMITTED}), _S.APPROVED),
    _A.REJECT: (frozenset({_S.SUBMITTED}), _S.REJECTED),
    _A.WITHDRAW: (frozenset({_S.DRAFT, _S.SUBMITTED}), _S.WITHDRAWN),
    _A.WIN: (frozenset({_S.APPROVED}), _S.WON),
    _A.LOSE: (frozenset({_S.APPROVED}), _S.LOST),
    _A.EXPIRE: (frozenset({_S.APPROVED}), _S.EXPIRED),
}
#: Moves that must say why.
REASON_REQUIRED: Final = frozenset({_A.REJECT, _A.LOSE, _A.REQUEST_EXTENSION, _A.DENY_EXTENSION})
# Statuses whose registration carries a protection window (it was approved once).
_PROTECTED: Final = frozenset({_S.APPROVED, _S.WON, _S.LOST, _S.EXPIRED})
# What may still be amended in each status; won, lost, expired, rejected and
# withdrawn registrations are frozen (a won deal's attribution never changes).
AMENDABLE: Final[Mapping[DealStatus, frozenset[str]]] = {
    _S.DRAFT: frozenset({"customer", "products", "amount", "expected_close_on", "notes"}),
    _S.SUBMITTED: frozenset({"products", "amount", "expected_close_on", "notes"}),
    _S.APPROVED: frozenset({"amount", "expected_close_on", "notes"}),
}


def _as_tuple(value: object, path: str, problems: Problems) -> tuple[object, ...]:
    if isinstance(value, (str, bytes, dict)) or not isinstance(value, Iterable):
        problems.add(path, f"expected a list, got {type(value).__name__}")
        return ()
    return tuple(value)


def _optional_text(value: object, limit: int) -> str:
    return check_text(value, required=False, limit=limit)


def _check_items(
    values: object, cls: type[object], path: str, problems: Problems
) -> tuple[object, ...]:
    items = _as_tuple(values, path, problems)
    for index, item in enumerate(items):
        if not isinstance(item, cls):
            problems.add(f"{path}[{index}]", f"expected a {cls.__name__}")
    return items


def _utc_or_none(value: object, path: str, problems: Problems) -> datetime | None:
    if value is None:
        return None
    return problems.check(path, to_utc, value, "")


def _check_actor(value: object, path: str, problems: Problems) -> None:
    problems.check(path, check_id, value, "")


def _check_score(value: object, path: str, problems: Problems) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or not 0 <= value <= 1
    ):
        problems.add(path, f"expected a number from 0 to 1, got {value!r}")
        return 0.0
    return float(value)


def _website_host(value: object) -> str:
    """A website's normalised host, refused unless it has a registrable domain.

    `normalize_hostname` drops a leading ``www.``; where the rest is a public
    suffix (``www.x0.com``), that ``www`` is the registered name itself, as
    `registrable_domain` reads it, and stays.
    """
    host = normalize_hostname(value)
    try:
        registrable_domain(host)
    except ValidationError:
        kept = "www." + host
        if isinstance(value, str) and split_hostname(value)[1] and registrable_domain(kept) == kept:
            return kept
        raise
    return host


@attrs.frozen
class Customer:
    """The end customer a partner registers a deal for.

    Attributes:
        name: The company's name as the partner wrote it (``"Nordic Cloud Oy"``).
        country: ISO 3166-1 alpha-2 code (``"FI"``).
        domain: The company's website host, normalised (lowercase, IDNA, no
            ``www.``, scheme or path): ``"shop.nordiccloud.fi"``. Conflict checks
            compare its registrable domain (``nordiccloud.fi``).
        contact_email: The customer contact's address; its domain is compared too,
            unless it is a free-mail provider such as gmail.com.
    """

    name: str
    country: str
    domain: str | None = None
    contact_email: str | None = None

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        fix = object.__setattr__
        name = problems.check("name", check_text, self.name, required=True)
        if name is not None and not normalize_company_name(name).strip("& "):
            problems.add(
                "name", f"{name!r} has no letters or digits to match on; give the company's name"
            )
        fix(self, "name", name)
        fix(self, "country", problems.check("country", check_country, self.country))
        if self.domain is not None:
            fix(self, "domain", problems.check("domain", _website_host, self.domain))
        if self.contact_email is not None:
            email = problems.check("contact_email", normalize_email, self.contact_email)
            if email is not None:
                problems.check("contact_email", registrable_domain, email)
            fix(self, "contact_email", email)
        problems.raise_if_any()


@attrs.frozen
class DealStatusChange:
    """One lifecycle move of a registration: who made it, when and why."""

    action: DealAction
    from_status: DealStatus
    to_status: DealStatus
    actor: str
    at: datetime
    reason: str = ""

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        object.__setattr__(self, "action", problems.check("action", check_enum, _A, self.action))
        for path in ("from_status", "to_status"):
            status = problems.check(path, check_enum, _S, getattr(self, path))
            object.__setattr__(self, path, status)
        _check_actor(self.actor, "actor", problems)
        object.__setattr__(self, "at", problems.check("at", to_utc, self.at, ""))
        reason = problems.check("reason", _optional_text, self.reason, _MAX_REASON)
        object.__setattr__(self, "reason", reason)
        problems.raise_if_any()


class MatchKind(enum.StrEnum):
    """One kind of evidence about whether two customers are the same.

    The first six say they are; the ``other_*`` kinds say they may not be, and
    lower the confidence instead of vetoing the match.
    """

    DOMAIN = "domain"
    """The same registrable website domain."""
    CONTACT_EMAIL_DOMAIN = "contact_email_domain"
    """A contact's email domain is the other's website or contact email domain."""
    EXACT_NAME = "exact_name"
    """The same normalised name."""
    FUZZY_NAME = "fuzzy_name"
    """Names a spelling variant or a typing slip or two apart."""
    PRODUCT_OVERLAP = "product_overlap"
    """Products in common: weak, every partner sells the same catalogue."""
    WEBSITE_NAME = "website_name"
    """One website on a country domain, the other the same name on a generic one
    (``acme.de``, ``acme.com``)."""
    OTHER_WEBSITE = "other_website"
    """Both have websites, and they differ."""
    OTHER_COUNTRY = "other_country"
    """They are in different countries."""
    OTHER_NUMBER = "other_number"
    """The names hold different numbers ("Studio 54", "Studio 45")."""
    OTHER_WORD = "other_word"
    """The names differ by a common word for another ("Hill Bakery", "Mill Bakery")."""


#: The weight each kind of evidence adds to the log-odds that two records are one
#: customer (see `partnerkit.deals.match_confidence`). A fuzzy name match's weight
#: depends on the number of slips and the name's length; this is its weight for a
#: `Match` built without one (1.9 when its score is 1.0, a spelling variant).
STANDARD_WEIGHTS: Final[Mapping[MatchKind, float]] = {
    MatchKind.DOMAIN: 3.0,
    MatchKind.CONTACT_EMAIL_DOMAIN: 1.75,
    MatchKind.EXACT_NAME: 2.2,
    MatchKind.FUZZY_NAME: 1.3,
    MatchKind.PRODUCT_OVERLAP: 0.3,
    MatchKind.WEBSITE_NAME: 1.0,
    MatchKind.OTHER_WEBSITE: -1.3,
    MatchKind.OTHER_COUNTRY: -2.6,
    MatchKind.OTHER_NUMBER: -3.0,
    MatchKind.OTHER_WORD: -2.0,
}
_MAX_WEIGHT: Final = 20.0
_SPELLING_VARIANT_WEIGHT: Final = 1.9


def _standard_weight(match: Match) -> float:
    try:
        kind = MatchKind(match.kind)
    except ValueError:
        return 0.0  # validation reports the unknown kind
    if kind is MatchKind.FUZZY_NAME and match.score == 1.0:
        return _SPELLING_VARIANT_WEIGHT
    return STANDARD_WEIGHTS[kind]


@attrs.frozen
class Match:
    """One piece of evidence about whether two records are the same customer.

    Attributes:
        kind: What was compared and found alike (or different).
        value: What it matched on: the shared registrable domain, the normalised
            name, both names for a fuzzy match (``"nordic clod ~ nordic cloud"``),
            the shared products, or both sides of a difference
            (``"nordic-cloud.com / nordiccloud.fi"``).
        score: How close: 1.0 for exact evidence, the name similarity for a fuzzy
            match.
        weight: What it adds to the log-odds that the two are one customer:
            positive for evidence that they are, negative for evidence that they
            are not. Defaults to the kind's `STANDARD_WEIGHTS` entry.
    """

    kind: MatchKind
    value: str
    score: float = 1.0
    weight: float = attrs.field(default=attrs.Factory(_standard_weight, takes_self=True))

    def __attrs_post_init__(self) -> None:
        # Conflict checks build many matches: let well-typed ones through quickly.
        if (
            type(self.kind) is MatchKind
            and type(self.value) is str
            and type(self.score) is float
            and 0.0 <= self.score <= 1.0
            and type(self.weight) is float
            and -_MAX_WEIGHT <= self.weight <= _MAX_WEIGHT
        ):
            return
        problems = Problems()
        object.__setattr__(self, "kind", problems.check("kind", check_enum, MatchKind, self.kind))
        if not isinstance(self.value, str):
            problems.add("value", "expected text")
        object.__setattr__(self, "score", _check_score(self.score, "score", problems))
        weight = self.weight
        if (
            isinstance(weight, bool)
            or not isinstance(weight, (int, float))
            or not math.isfinite(weight)
            or not -_MAX_WEIGHT <= weight <= _MAX_WEIGHT
        ):
            problems.add("weight", f"expected a number from -20 to 20, got {weight!r}")
        else:
            object.__setattr__(self, "weight", float(weight))
        problems.raise_if_any()


class PartyKind(enum.StrEnum):
    """What a registration can conflict with."""

    REGISTRATION = "registration"
    DIRECT_OPPORTUNITY = "direct_opportunity"
    EXISTING_CUSTOMER = "existing_customer"


class ConflictRule(enum.StrEnum):
    """The rules of `DefaultConflictPolicy`. Other policies may name their own."""

    DUPLICATE = "same_partner_duplicate"
    FIRST_TO_REGISTER = "first_to_register"
    DIRECT_OPPORTUNITY = "direct_opportunity"
    EXISTING_CUSTOMER = "existing_customer"


class ConflictOutcome(enum.StrEnum):
    """What a conflict means for the registration that was checked, mildest first."""

    PROCEED = "proceed"
    """It keeps priority; the conflict is noted for the reviewer."""
    REVIEW = "review"
    """A manager must decide; approving needs an override reason."""
    REJECT = "reject"
    """A duplicate: `screen` rejects it."""
    BLOCK = "block"
    """The vendor's own opportunity or customer: approving needs an override reason."""

    @property
    def severity(self) -> int:
        """0 for proceed up to 3 for block."""
        return _SEVERITY[self]


_SEVERITY: Final = {outcome: rank for rank, outcome in enumerate(ConflictOutcome)}


@attrs.frozen
class Conflict:
    """A registration's customer found again elsewhere, with the evidence and the verdict.

    Attributes:
        registration_id: The registration that was checked.
        other_kind: What it conflicts with: another registration, or the vendor's
            direct opportunity or existing customer.
        other_id: The id of that registration or account.
        other_partner_id: The partner of the other registration (None for accounts).
        other_name: The other customer's normalised name.
        matches: Every piece of evidence found, strongest first.
        confidence: How sure partnerkit is that both are one customer, 0 to 1.
        rule: The policy rule that decided (``"first_to_register"``...).
        outcome: What it means for the checked registration.
        has_priority: Whether the checked registration wins this conflict.
        reason: The verdict in words, for the reviewer and the partner.
    """

    registration_id: str
    other_kind: PartyKind
    other_id: str
    other_partner_id: str | None
    other_name: str
    matches: tuple[Match, ...]
    confidence: float
    rule: str
    outcome: ConflictOutcome
    has_priority: bool
    reason: str

    def __attrs_post_init__(self) -> None:
        if self._well_formed():
            return
        problems = Problems()
        fix = object.__setattr__
        problems.check("registration_id", check_id, self.registration_id, "")
        fix(
            self, "other_kind", problems.check("other_kind", check_enum, PartyKind, self.other_kind)
        )
        problems.check("other_id", check_id, self.other_id, "")
        if self.other_partner_id is not None:
            problems.check("other_partner_id", check_id, self.other_partner_id, "")
        if not isinstance(self.other_name, str):
            problems.add("other_name", "expected text")
        matches = _check_items(self.matches, Match, "matches", problems)
        if not matches and not problems.found:
            problems.add("matches", "a conflict needs at least one match")
        fix(self, "matches", matches)
        fix(self, "confidence", _check_score(self.confidence, "confidence", problems))
        if not isinstance(self.rule, str) or not self.rule:
            problems.add("rule", "name the rule that decided, such as 'first_to_register'")
        outcome = problems.check("outcome", check_enum, ConflictOutcome, self.outcome)
        fix(self, "outcome", outcome)
        if not isinstance(self.has_priority, bool):
            problems.add("has_priority", "expected true or false")
        if not isinstance(self.reason, str):
            problems.add("reason", "expected text")
        problems.raise_if_any()

    def _well_formed(self) -> bool:
        """The quick check that lets `find_conflicts` build conflicts without collecting."""
        partner = self.other_partner_id
        return (
            type(self.other_kind) is PartyKind
            and type(self.outcome) is ConflictOutcome
            and type(self.matches) is tuple
            and bool(self.matches)
            and all(type(match) is Match for match in self.matches)
            and type(self.confidence) is float
            and 0.0 <= self.confidence <= 1.0
            and isinstance(self.rule, str)
            and bool(self.rule)
            and type(self.has_priority) is bool
            and type(self.other_name) is str
            and type(self.reason) is str
            and isinstance(self.registration_id, str)
            and is_valid_id(self.registration_id)
            and isinstance(self.other_id, str)
            and is_valid_id(self.other_id)
            and (partner is None or (isinstance(partner, str) and is_valid_id(partner)))
        )

    @property
    def match_kinds(self) -> tuple[MatchKind, ...]:
        """The kinds of evidence, in the order of `matches`."""
        return tuple(match.kind for match in self.matches)

    def explain(self) -> str:
        """The conflict in a few lines of plain text, for a reviewer or a partner."""
        other = (
            f"registration {self.other_id} by partner {self.other_partner_id}"
            if self.other_kind is PartyKind.REGISTRATION
            else f"{self.other_kind.value.replace('_', ' ')} {self.other_id}"
        )
        lines = [
            (
                f"{self.registration_id} conflicts with {other} "
                f"({self.confidence:.0%} sure it is the same customer):"
            )
        ]
        lines += [f"  - {_describe(match)}" for match in self.matches]
        lines.append(f"  {self.outcome.value} by rule {self.rule}: {self.reason}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        from partnerkit.deals._html import conflict_html  # noqa: PLC0415 - Jupyter only

        return conflict_html(self, [_describe(match) for match in self.matches])


def _describe(match: Match) -> str:
    text = _DESCRIPTIONS.get(match.kind, "{value}").format(value=match.value, score=match.score)
    return f"{text} [{match.weight:+.2f}]"


_DESCRIPTIONS: Final = {
    MatchKind.DOMAIN: "same website domain {value}",
    MatchKind.CONTACT_EMAIL_DOMAIN: "contact email at {value}",
    MatchKind.EXACT_NAME: "same normalised name {value!r}",
    MatchKind.FUZZY_NAME: "similar names {value!r} (similarity {score:.2f})",
    MatchKind.PRODUCT_OVERLAP: "products in common: {value}",
    MatchKind.WEBSITE_NAME: "websites with the same name: {value}",
    MatchKind.OTHER_WEBSITE: "different websites: {value}",
    MatchKind.OTHER_COUNTRY: "different countries: {value}",
    MatchKind.OTHER_NUMBER: "different numbers in the names: {value}",
    MatchKind.OTHER_WORD: "one common word for another, not a slip: {value}",
}


@attrs.frozen
class Decision:
    """A manager's approval or rejection, with the conflicts they saw.

    Attributes:
        action: ``approve`` or ``reject``.
        actor: Who decided.
        at: When.
        reason: Why (required to reject; required to approve over a conflict).
        protection: The protection period granted with an approval.
        conflicts: The conflicts found when the decision was made.
        overridden: Whether an approval went against a conflict's verdict.
    """

    action: DealAction
    actor: str
    at: datetime
    reason: str = ""
    protection: Period | None = None
    conflicts: tuple[Conflict, ...] = ()
    overridden: bool = False

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        fix = object.__setattr__
        action = problems.check("action", check_enum, _A, self.action)
        if action is not None and action not in (_A.APPROVE, _A.REJECT):
            problems.add("action", "a decision is 'approve' or 'reject'")
        fix(self, "action", action)
        _check_actor(self.actor, "actor", problems)
        fix(self, "at", problems.check("at", to_utc, self.at, ""))
        fix(self, "reason", problems.check("reason", _optional_text, self.reason, _MAX_REASON))
        if self.protection is not None and not isinstance(self.protection, Period):
            problems.add("protection", "expected a Period such as Period(days=90)")
        fix(self, "conflicts", _check_items(self.conflicts, Conflict, "conflicts", problems))
        if not isinstance(self.overridden, bool):
            problems.add("overridden", "expected true or false")
        problems.raise_if_any()


class ExtensionStatus(enum.StrEnum):
    """Where an extension request stands."""

    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    LAPSED = "lapsed"
    """The protection expired before anyone decided."""


@attrs.frozen
class Extension:
    """A partner's request to extend a registration's protection window.

    Attributes:
        period: How much longer the partner asks for.
        reason: Why (required).
        requested_by: Who asked.
        requested_at: When.
        status: Pending until a manager approves or denies it.
        decided_by: The manager who decided.
        decided_at: When.
        decision_reason: Why (required to deny).
        extended_from: The protection end before an approved extension.
        extended_to: The protection end after it.
    """

    period: Period
    reason: str
    requested_by: str
    requested_at: datetime
    status: ExtensionStatus = ExtensionStatus.PENDING
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_reason: str = ""
    extended_from: datetime | None = None
    extended_to: datetime | None = None

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        fix = object.__setattr__
        if not isinstance(self.period, Period):
            problems.add("period", "expected a Period such as Period(days=30)")
        fix(self, "reason", problems.check("reason", _optional_text, self.reason, _MAX_REASON))
        _check_actor(self.requested_by, "requested_by", problems)
        fix(self, "requested_at", problems.check("requested_at", to_utc, self.requested_at, ""))
        status = problems.check("status", check_enum, ExtensionStatus, self.status)
        fix(self, "status", status)
        if self.decided_by is not None:
            _check_actor(self.decided_by, "decided_by", problems)
        fix(self, "decided_at", _utc_or_none(self.decided_at, "decided_at", problems))
        reason = problems.check("decision_reason", _optional_text, self.decision_reason, 2000)
        fix(self, "decision_reason", reason)
        fix(self, "extended_from", _utc_or_none(self.extended_from, "extended_from", problems))
        fix(self, "extended_to", _utc_or_none(self.extended_to, "extended_to", problems))
        if status is ExtensionStatus.APPROVED and (
            self.extended_from is None or self.extended_to is None
        ):
            problems.add("extended_to", "an approved extension records the old and new end")
        problems.raise_if_any()

    @property
    def added_days(self) -> int:
        """Whole days an approved extension added (0 for any other status)."""
        if self.extended_from is None or self.extended_to is None:
            return 0
        return _days_between(self.extended_from, self.extended_to)


def _days_between(start: datetime, end: datetime) -> int:
    # A part day counts as a day: a 36-hour extension uses 2 days of the allowance.
    return math.ceil((end - start).total_seconds() / 86400)


@attrs.frozen
class ExtensionPolicy:
    """A program's limits on protection extensions.

    Attributes:
        max_extensions: How many extensions one registration may be granted
            (None: no limit).
        max_total_days: How many days they may add up to (None: no limit).
    """

    max_extensions: int | None = 2
    max_total_days: int | None = 90

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        for path in ("max_extensions", "max_total_days"):
            value = getattr(self, path)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 0
            ):
                problems.add(path, "expected a whole number, 0 or more, or None for no limit")
        problems.raise_if_any()


@attrs.frozen
class DirectAccount:
    """The vendor's own opportunity or customer, which partner registrations must not take.

    Hosts may pass any object with the same attributes (see `HouseAccount`).

    Attributes:
        id: The host's id for the opportunity or account.
        kind: ``direct_opportunity`` or ``existing_customer``.
        customer: Who it is.
        note: The vendor's own reason, shown in the conflict
            (``"strategic account, owned by the enterprise team"``).
    """

    id: str
    kind: PartyKind
    customer: Customer
    note: str = ""

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        problems.check("id", check_id, self.id, "")
        kind = problems.check("kind", check_enum, PartyKind, self.kind)
        if kind is PartyKind.REGISTRATION:
            problems.add("kind", "use 'direct_opportunity' or 'existing_customer'")
        object.__setattr__(self, "kind", kind)
        if not isinstance(self.customer, Customer):
            problems.add("customer", "expected a Customer")
        object.__setattr__(
            self, "note", problems.check("note", _optional_text, self.note, _MAX_REASON)
        )
        problems.raise_if_any()


def _check_products(value: object, problems: Problems) -> tuple[str, ...]:
    products: list[str] = []
    seen: set[str] = set()
    for index, item in enumerate(_as_tuple(value, "products", problems)):
        text = problems.check(f"products[{index}]", check_text, item, required=True, limit=100)
        if text is None:
            continue
        if text.casefold() in seen:
            problems.add(f"products[{index}]", f"{text!r} is listed twice")
            continue
        seen.add(text.casefold())
        products.append(text)
    return tuple(products)


@attrs.frozen
class DealRegistration:
    """A partner's claim to an opportunity with an end customer.

    Build one as a draft with its identity, customer, amount, expected close date
    and the instant it was registered; move it with `submit`, `approve`,
    `reject`, `withdraw`, `win`, `lose` and the extension functions, which record
    every move in ``history``. Every field is validated and every problem is
    reported at once; storage bumps ``version`` on every save.

    Attributes:
        id: Opaque id (`partnerkit.new_id` mints sortable ones, e.g. ``new_id("deal")``).
        partner_id: The partner that registered it.
        customer: The end customer.
        amount: The expected deal value.
        expected_close_on: The date the partner expects to close.
        registered_at: When it was created; never changes.
        products: What the partner is selling (at least one to submit).
        notes: Free text for the reviewer.
        status: Lifecycle status; change it only through the lifecycle functions.
        submitted_at: When it was first submitted; first-to-register counts from here.
        protection_until: When the protection window granted on approval ends.
        extensions: Extension requests, oldest first; at most one pending.
        decisions: Approvals and rejections, with the conflicts seen.
        history: Every status move, oldest first.
        updated_at: When it last changed.
        version: The stored version this value was read at (0 before first save).
        lead_id: The lead it was converted from (`partnerkit.leads.Lead`), which
            gives the deal the lead's attribution; ``None`` for a deal the
            partner found itself.
    """

    id: str
    partner_id: str
    customer: Customer
    amount: Money
    expected_close_on: date
    registered_at: datetime
    products: tuple[str, ...] = ()
    notes: str = ""
    status: DealStatus = DealStatus.DRAFT
    submitted_at: datetime | None = None
    protection_until: datetime | None = None
    extensions: tuple[Extension, ...] = ()
    decisions: tuple[Decision, ...] = ()
    history: tuple[DealStatusChange, ...] = ()
    updated_at: datetime | None = None
    version: int = 0
    lead_id: str | None = None

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        fix = object.__setattr__
        problems.check("id", check_id, self.id, "")
        problems.check("partner_id", check_id, self.partner_id, "")
        if self.lead_id is not None:
            problems.check("lead_id", check_id, self.lead_id, "")
        if not isinstance(self.customer, Customer):
            problems.add("customer", "expected a Customer(name, country, ...)")
        if not isinstance(self.amount, Money):
            problems.add("amount", "expected Money, such as Money('25000', 'EUR')")
        elif self.amount.amount < 0:
            problems.add("amount", f"{self.amount} is negative; give the expected deal value")
        close = problems.check("expected_close_on", parse_date, self.expected_close_on, "")
        fix(self, "expected_close_on", close)
        registered = problems.check("registered_at", to_utc, self.registered_at, "")
        fix(self, "registered_at", registered)
        fix(self, "products", _check_products(self.products, problems))
        fix(self, "notes", problems.check("notes", _optional_text, self.notes, _MAX_NOTES))
        status = problems.check("status", check_enum, DealStatus, self.status)
        fix(self, "status", status)
        fix(self, "submitted_at", _utc_or_none(self.submitted_at, "submitted_at", problems))
        until = _utc_or_none(self.protection_until, "protection_until", problems)
        fix(self, "protection_until", until)
        extensions = _check_items(self.extensions, Extension, "extensions", problems)
        fix(self, "extensions", extensions)
        fix(self, "decisions", _check_items(self.decisions, Decision, "decisions", problems))
        fix(self, "history", _check_items(self.history, DealStatusChange, "history", problems))
        if self.updated_at is None:
            fix(self, "updated_at", registered)
        else:
            fix(self, "updated_at", problems.check("updated_at", to_utc, self.updated_at, ""))
        if isinstance(self.version, bool) or not isinstance(self.version, int) or self.version < 0:
            problems.add("version", "expected a whole number, 0 or more")
        if status is not None:
            self._check_consistency(status, problems)
        problems.raise_if_any()

    def _check_consistency(self, status: DealStatus, problems: Problems) -> None:
        if status is _S.DRAFT and self.submitted_at is not None:
            problems.add("submitted_at", "a draft has not been submitted; leave it None")
        if status not in (_S.DRAFT, _S.WITHDRAWN) and self.submitted_at is None:
            problems.add("submitted_at", f"a {status.value} registration needs its submission time")
        if status in _PROTECTED and self.protection_until is None:
            problems.add(
                "protection_until", f"a {status.value} registration needs its protection end"
            )
        if status not in _PROTECTED and self.protection_until is not None:
            problems.add(
                "protection_until", f"a {status.value} registration has no protection window"
            )
        pending = [
            e for e in self.extensions if getattr(e, "status", None) is ExtensionStatus.PENDING
        ]
        if len(pending) > 1:
            problems.add("extensions", "at most one extension request may be pending")
        if pending and status is not _S.APPROVED:
            problems.add("extensions", "only an approved registration can have a pending extension")

    def _repr_html_(self) -> str:
        from partnerkit.deals._html import registration_html  # noqa: PLC0415 - Jupyter only

        return registration_html(self)

    @property
    def is_active(self) -> bool:
        """Whether it is submitted or approved: holding or asking for the customer."""
        return self.status in ACTIVE_STATUSES

    @property
    def pending_extension(self) -> Extension | None:
        """The extension request awaiting a decision, if there is one."""
        return next((e for e in self.extensions if e.status is ExtensionStatus.PENDING), None)

    @property
    def allowed_actions(self) -> tuple[DealAction, ...]:
        """What may be done to it now, status moves and extension steps alike."""
        return tuple(DealAction(action) for action in allowed_actions(self))


def allowed_actions(registration: DealRegistration) -> list[str]:
    """The action names allowed for ``registration`` in its current state."""
    status = registration.status
    found = [action.value for action, (sources, _) in TRANSITIONS.items() if status in sources]
    if status in AMENDABLE:
        found.append(_A.AMEND.value)
    if status is _S.APPROVED:
        if registration.pending_extension is None:
            found.append(_A.REQUEST_EXTENSION.value)
        else:
            found += [_A.APPROVE_EXTENSION.value, _A.DENY_EXTENSION.value]
    return found


def days_added(registration: DealRegistration) -> int:
    """Whole days all approved extensions have added to the protection window."""
    return sum(extension.added_days for extension in registration.extensions)


def check_period(value: object, path: str) -> Period:
    """A positive `Period`, or an int number of days, or ISO text such as ``"P30D"``."""
    if isinstance(value, bool):
        raise ValidationError.single(path, f"expected a period or a number of days, got {value!r}")
    if isinstance(value, int):
        if value <= 0:
            raise ValidationError.single(path, f"{value} days: give a positive number of days")
        return Period(days=value)
    period = Period.parse(value, path) if isinstance(value, str) else value
    if not isinstance(period, Period):
        raise ValidationError.single(
            path, f"expected a Period such as Period(days=90), got {type(value).__name__}"
        )
    if period.is_zero() or period.isoformat().startswith("-"):
        raise ValidationError.single(path, f"{period} is not a positive period; use e.g. 'P30D'")
    return period
