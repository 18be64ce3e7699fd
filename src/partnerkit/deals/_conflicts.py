"""Conflict detection: evidence, confidence, the replaceable policy, and customer keys.

Evidence is combined, never vetoed. Every signal about a pair of records (a shared
website, an exact or near name, products in common, and the differences: other
websites, other countries, other numbers in the names, a common word swapped for
another) carries a weight in log-odds, and the confidence is the logistic function
of their sum. A pair is a conflict when it has at least one identity signal (a
domain, a contact-email domain or a name) and its confidence reaches the policy's
``min_confidence``.
"""

from __future__ import annotations

import enum
import math
import re
from datetime import datetime
from typing import TYPE_CHECKING, Final, Protocol, runtime_checkable

import attrs

from partnerkit._base.ids import check_id
from partnerkit._base.trusted import builder
from partnerkit.deals._domains import SHARED_EMAIL_DOMAINS
from partnerkit.deals._fuzzy import edit_distance
from partnerkit.deals._index import (
    _PRODUCT_SEPARATOR,
    ConflictIndex,
    HouseAccount,
    Profile,
    make_profile,
)
from partnerkit.deals._model import (
    STANDARD_WEIGHTS,
    Conflict,
    ConflictOutcome,
    ConflictRule,
    Customer,
    DealRegistration,
    Match,
    MatchKind,
    PartyKind,
)
from partnerkit.deals._names import match_key, match_words, normalize_company_name
from partnerkit.deals._names_v1 import normalize_v1
from partnerkit.errors import ValidationError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

__all__ = [
    "CUSTOMER_KEY_VERSION",
    "DEFAULT_POLICY",
    "ConflictPolicy",
    "DefaultConflictPolicy",
    "Party",
    "RankBy",
    "Verdict",
    "check_customer",
    "customer_keys",
    "find_conflicts",
    "match_confidence",
    "name_similarity",
]

# Evidence and conflicts are built from values made here (kinds, constant weights,
# scores from 0 to 1), which need no second validation: a check builds several.
_match: Final = builder(Match)
_MAX_CONFIDENCE: Final = 0.99
_MIN_CONFIDENCE: Final = 0.01
# Fuzzy name weights by slips and length. A slip in a short name is more often
# another company than one in a long name, so it weighs less.
_VARIANT_WEIGHT: Final = STANDARD_WEIGHTS[MatchKind.FUZZY_NAME] + 0.6
_ONE_SLIP_SHORT: Final = 0.9  # names of 4 to 6 letters
_ONE_SLIP: Final = STANDARD_WEIGHTS[MatchKind.FUZZY_NAME]  # 7 to 13 letters
_ONE_SLIP_LONG: Final = 1.5  # 14 letters or more
_TWO_SLIPS: Final = 0.8  # 14 letters or more
#: Names of this many letters or fewer (acronyms) only ever match exactly.
EXACT_ONLY_UP_TO: Final = 3
#: Names of this many letters or more tolerate two slips; shorter ones one.
TWO_SLIPS_FROM: Final = 14
# Top-level domains that say nothing about a country: the same name there and on a
# country domain is one company's two sites ("acme.de", "acme.com").
_GENERIC_TLDS: Final = frozenset(
    {"com", "net", "org", "biz", "info", "io", "co", "app", "tech", "group", "global"}
)
#: A word shorter than this (initials, "Lee") tolerates one slip: two slips in "KA"
#: make "BJ", another word, not a typing accident.
TWO_SLIPS_IN_A_WORD_FROM: Final = 4


class RankBy(enum.StrEnum):
    """Which instant decides first-to-register."""

    SUBMITTED_AT = "submitted_at"
    """The first submission (the default): a draft does not reserve a customer."""
    REGISTERED_AT = "registered_at"
    """When the record was created, drafts included."""


@attrs.frozen
class Party:
    """One side of a conflict, as a policy sees it.

    Attributes:
        kind: A registration, or the vendor's direct opportunity or existing customer.
        id: Its id.
        partner_id: The registering partner (None for house accounts).
        registered_at: When the registration was created.
        submitted_at: When it was first submitted (None for a draft).
        note: A house account's own reason.
    """

    kind: PartyKind
    id: str
    partner_id: str | None = None
    registered_at: datetime | None = None
    submitted_at: datetime | None = None
    note: str = ""


@attrs.frozen
class Verdict:
    """A policy's ruling on one conflict.

    Attributes:
        rule: The rule that decided, a slug such as ``"first_to_register"``.
        outcome: What it means for the checked registration.
        has_priority: Whether the checked registration wins.
        reason: The ruling in words.
    """

    rule: str
    outcome: ConflictOutcome
    has_priority: bool
    reason: str


@runtime_checkable
class ConflictPolicy(Protocol):
    """Decides what a match between two customers means. `DefaultConflictPolicy` is one."""

    @property
    def fuzzy_threshold(self) -> float:
        """The lowest name similarity (0 to 1) that counts as a fuzzy name match."""
        ...

    @property
    def min_confidence(self) -> float:
        """Matches less sure than this (0 to 1) are not conflicts."""
        ...

    def judge(
        self, subject: Party, other: Party, matches: tuple[Match, ...], confidence: float
    ) -> Verdict | None:
        """Rule on a match between the checked registration and another party.

        Returns:
            The verdict, or None if the match is not a conflict under this policy.
        """
        ...


# Parties and verdicts are built by this module from validated values.
_party: Final = builder(Party)
_verdict: Final = builder(Verdict)


def _check_fraction(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ValidationError.single(
            attribute.name, f"expected a number from 0 to 1, got {value!r}"
        )


def _instant(moment: datetime | None) -> str:
    return moment.isoformat() if moment is not None else "not yet"


@attrs.frozen(kw_only=True)
class DefaultConflictPolicy:
    """The default rules: duplicates rejected, first to register wins, the vendor's own blocks.

    - The vendor's **direct opportunity** or **existing customer** blocks the
      registration, with the vendor's own note as part of the reason.
    - A second registration by the **same partner** for the same customer is a
      duplicate: rejected when the match is at least ``reject_duplicates_at``
      sure (a shared domain, or an exact name in the same country), sent to
      review when the evidence is weaker (a near name).
    - Across partners, the **first registered** (by ``rank_by``, then by id) has
      priority and may proceed; the later one goes to **review**.

    Attributes:
        fuzzy_threshold: The lowest name similarity (``1 - slips / letters``)
            counted as a fuzzy match, on top of the rule that names of 3 letters
            or fewer match only exactly, names of 4 to 13 letters tolerate one
            slip and names of 14 or more two. 0.75 lets that rule decide (one slip
            in a 4-letter name is 0.75); 0.9 would demand 10 letters for a slip.
        min_confidence: Matches less sure than this are dropped (0.5: the
            evidence for must outweigh the evidence against; an exact name in
            another country needs one more signal, such as a contact email).
        reject_duplicates_at: Same-partner matches at least this sure are rejected
            outright; weaker ones go to review.
        rank_by: Which instant decides first-to-register.
    """

    fuzzy_threshold: float = attrs.field(default=0.75, validator=_check_fraction)
    min_confidence: float = attrs.field(default=0.5, validator=_check_fraction)
    reject_duplicates_at: float = attrs.field(default=0.85, validator=_check_fraction)
    rank_by: RankBy = attrs.field(default=RankBy.SUBMITTED_AT, converter=RankBy)

    def rank(self, party: Party) -> tuple[int, datetime | None, str]:
        """The sort key of first-to-register: earlier instants first, undated last, then id."""
        moment = party.submitted_at if self.rank_by is RankBy.SUBMITTED_AT else party.registered_at
        return (0, moment, party.id) if moment is not None else (1, None, party.id)

    def first(self, subject: Party, other: Party) -> bool:
        """Whether ``subject`` registered before ``other``."""
        mine, theirs = self.rank(subject), self.rank(other)
        if mine[0] != theirs[0]:
            return mine[0] < theirs[0]
        if mine[1] != theirs[1]:
            return mine[1] < theirs[1]  # type: ignore[operator]
        return mine[2] < theirs[2]

    def judge(
        self, subject: Party, other: Party, matches: tuple[Match, ...], confidence: float
    ) -> Verdict | None:
        """Apply the rules above; see `ConflictPolicy.judge`."""
        del matches  # the default rules depend on who, not on what matched
        # Verdicts below list `Verdict`'s fields in order: rule, outcome,
        # has_priority, reason.
        note = f": {other.note}" if other.note else ""
        if other.kind is PartyKind.DIRECT_OPPORTUNITY:
            return _verdict(
                ConflictRule.DIRECT_OPPORTUNITY,
                ConflictOutcome.BLOCK,
                False,
                f"the vendor's own sales team is working this customer "
                f"(direct opportunity {other.id}){note}",
            )
        if other.kind is PartyKind.EXISTING_CUSTOMER:
            return _verdict(
                ConflictRule.EXISTING_CUSTOMER,
                ConflictOutcome.BLOCK,
                False,
                f"this is already the vendor's customer (account {other.id}){note}",
            )
        when = _instant(self._moment(other))
        if self.first(subject, other):
            later = (
                "the same partner"
                if other.partner_id == subject.partner_id
                else (f"partner {other.partner_id}")
            )
            return _verdict(
                ConflictRule.DUPLICATE
                if other.partner_id == subject.partner_id
                else ConflictRule.FIRST_TO_REGISTER,
                ConflictOutcome.PROCEED,
                True,
                f"registered first; {other.id} by {later} ({self.rank_by.value} {when}) came later",
            )
        if other.partner_id == subject.partner_id:
            sure = confidence >= self.reject_duplicates_at
            return _verdict(
                ConflictRule.DUPLICATE,
                ConflictOutcome.REJECT if sure else ConflictOutcome.REVIEW,
                False,
                f"duplicate: the same partner already registered this customer as "
                f"{other.id} ({self.rank_by.value} {when})"
                + ("" if sure else "; the names are only similar, so a manager should confirm"),
            )
        return _verdict(
            ConflictRule.FIRST_TO_REGISTER,
            ConflictOutcome.REVIEW,
            False,
            f"partner {other.partner_id} registered this customer first as {other.id} "
            f"({self.rank_by.value} {when}); a manager must review this one",
        )

    def _moment(self, party: Party) -> datetime | None:
        return party.submitted_at if self.rank_by is RankBy.SUBMITTED_AT else party.registered_at


#: The policy `find_conflicts` uses unless told otherwise.
DEFAULT_POLICY: Final = DefaultConflictPolicy()

_NOT_DIGITS: Final = re.compile(r"\D+")
_has_digit: Final = re.compile(r"\d").search


def allowed_slips(letters: int) -> int:
    """How many typing slips a name of ``letters`` letters tolerates: 0, 1 or 2."""
    if letters <= EXACT_ONLY_UP_TO:
        return 0
    return 1 if letters < TWO_SLIPS_FROM else 2


def _fuzzy_weight(slips: int, letters: int) -> float:
    if slips == 0:
        return _VARIANT_WEIGHT
    if slips == 1:
        if letters <= 6:
            return _ONE_SLIP_SHORT
        return _ONE_SLIP if letters < TWO_SLIPS_FROM else _ONE_SLIP_LONG
    return _TWO_SLIPS


def _words(profile: Profile) -> tuple[str, ...]:
    """A profile's words (a stored profile leaves them to be found when needed)."""
    return profile.words or match_words(profile.name)


def _two_slips_in_a_short_word(mine: tuple[str, ...], theirs: tuple[str, ...]) -> bool:
    """Whether two names of as many words differ by two slips inside one short word."""
    if len(mine) != len(theirs):
        return False
    return any(
        one != other
        and min(len(one), len(other)) < TWO_SLIPS_IN_A_WORD_FROM
        and edit_distance(one, other, 1) > 1
        for one, other in zip(mine, theirs, strict=True)
    )


def _pair(left: str, right: str, sign: str) -> str:
    first, second = sorted((left, right))
    return f"{first} {sign} {second}"


def _name_evidence(
    mine: Profile, theirs: Profile, threshold: float, is_common: Callable[[str], bool]
) -> list[Match]:
    """The name signals of two profiles: exact, fuzzy, and what speaks against a fuzzy one."""
    if not mine.compact or not theirs.compact:
        return []
    if mine.compact == theirs.compact:
        weight = STANDARD_WEIGHTS[MatchKind.EXACT_NAME]
        return [_match(MatchKind.EXACT_NAME, mine.name, 1.0, weight)]
    found: list[Match] = []
    letters = max(len(mine.compact), len(theirs.compact))
    if mine.key and mine.key == theirs.key:
        slips = 0
        score = 1.0
    else:
        allowed = allowed_slips(letters)
        if not allowed or abs(len(mine.compact) - len(theirs.compact)) > allowed:
            return []
        slips = edit_distance(mine.compact, theirs.compact, allowed)
        if slips > 1:
            # The folded keys forgive spelling variants on top of the slips. Two
            # slips can only fall to one or none: the keys need not be told apart
            # from two further than that.
            limit = 1 if slips == allowed else allowed
            slips = min(slips, edit_distance(mine.key, theirs.key, limit))
        if slips > allowed:
            return []
        score = 1.0 - slips / letters
        if score < threshold:
            return []
        if slips > 1 and _two_slips_in_a_short_word(_words(mine), _words(theirs)):
            return []
    found.append(
        _match(
            MatchKind.FUZZY_NAME,
            _pair(mine.name, theirs.name, "~"),
            round(score, 3),
            _fuzzy_weight(slips, letters),
        )
    )
    # Most names hold no digit: one search says so for each.
    digits = (
        _NOT_DIGITS.sub(" ", mine.compact).split() if _has_digit(mine.compact) else [],
        _NOT_DIGITS.sub(" ", theirs.compact).split() if _has_digit(theirs.compact) else [],
    )
    if digits[0] != digits[1]:
        found.append(
            _match(
                MatchKind.OTHER_NUMBER,
                _pair(" ".join(digits[0]) or "none", " ".join(digits[1]) or "none", "/"),
                1.0,
                STANDARD_WEIGHTS[MatchKind.OTHER_NUMBER],
            )
        )
    elif slips and len(_words(mine)) == len(_words(theirs)):
        swapped = [
            (one, other)
            for one, other in zip(_words(mine), _words(theirs), strict=True)
            if one != other
        ]
        # Words of three letters or more: initials ("ST", "TS") are common too, but
        # swapping two of them is a slip.
        common = [
            (one, other)
            for one, other in swapped
            if min(len(one), len(other)) >= 3 and is_common(one) and is_common(other)
        ]
        if common:
            one, other = common[0]
            found.append(
                _match(
                    MatchKind.OTHER_WORD,
                    _pair(one, other, "/"),
                    1.0,
                    STANDARD_WEIGHTS[MatchKind.OTHER_WORD],
                )
            )
    return found


def _shared_domain(mine: Profile, theirs: Profile, *, same_website: bool) -> str | None:
    """A domain both share other than website to website (so through an email), if any."""
    # Without an email on either side, only the websites could be shared.
    if mine.email is None and theirs.email is None:
        return None
    shared = {mine.website, mine.email} & {theirs.website, theirs.email}
    shared.discard(None)
    if same_website:
        shared.discard(mine.website)
    return min(shared) if shared else None  # type: ignore[type-var]


def _website_difference(mine: str | None, theirs: str | None) -> MatchKind | None:
    """What two websites that are not the same say: other names, or one name's two sites."""
    if mine is None or theirs is None or mine == theirs:
        return None
    name, _, suffix = mine.partition(".")
    other_name, _, other_suffix = theirs.partition(".")
    if name != other_name:
        return MatchKind.OTHER_WEBSITE
    if suffix in _GENERIC_TLDS or other_suffix in _GENERIC_TLDS:
        return MatchKind.WEBSITE_NAME
    # One name on two country domains: as often two firms as one.
    return None


def _name_weight_bound(mine: Profile, theirs: Profile) -> float:
    """The most the names of two profiles can add to the log-odds (0.0: no name match).

    Follows `_name_evidence` to its first test of letters, without measuring a
    distance: an exact name, the same folded key, or the best weight the slips the
    names' length allows could earn.
    """
    if not mine.compact or not theirs.compact:
        return 0.0
    if mine.compact == theirs.compact:
        return STANDARD_WEIGHTS[MatchKind.EXACT_NAME]
    if mine.key and mine.key == theirs.key:
        return _VARIANT_WEIGHT
    letters = max(len(mine.compact), len(theirs.compact))
    allowed = allowed_slips(letters)
    if not allowed or abs(len(mine.compact) - len(theirs.compact)) > allowed:
        return 0.0
    best = _fuzzy_weight(1, letters)
    return best if allowed == 1 else max(best, _fuzzy_weight(2, letters))


def _cannot_reach(mine: Profile, theirs: Profile, min_confidence: float) -> bool:
    """Whether the evidence about two profiles is sure to fall short of ``min_confidence``.

    Only when something certain speaks against a match (another country, websites
    of other names): then the best each signal for one could weigh (the name at
    its most) is summed without measuring the names' distance or building any
    `Match`. The sum is at least the evidence's and the confidence grows with it,
    so a bound below the minimum means the evidence is too; a candidate in another
    country one slip from a short name is turned down here.
    """
    kind = _website_difference(mine.website, theirs.website)
    other_country = mine.country != theirs.country
    if not other_country and kind is not MatchKind.OTHER_WEBSITE:
        # Nothing certain against: weigh the evidence.
        return False
    same_website = mine.website is not None and mine.website == theirs.website
    weights = [_name_weight_bound(mine, theirs)]
    if same_website:
        weights.append(STANDARD_WEIGHTS[MatchKind.DOMAIN])
    if _shared_domain(mine, theirs, same_website=same_website) is not None:
        weights.append(STANDARD_WEIGHTS[MatchKind.CONTACT_EMAIL_DOMAIN])
    if not any(weights):
        # No domain and no name in common: `_evidence` finds nothing at all.
        return True
    if kind is not None:
        weights.append(STANDARD_WEIGHTS[kind])
    if other_country:
        weights.append(STANDARD_WEIGHTS[MatchKind.OTHER_COUNTRY])
    if mine.products and theirs.products:
        weights.append(STANDARD_WEIGHTS[MatchKind.PRODUCT_OVERLAP])
    return _confidence(math.fsum(weights)) < min_confidence


def _evidence(
    mine: Profile,
    theirs: Profile,
    threshold: float,
    is_common: Callable[[str], bool] = lambda _: False,
) -> list[Match]:
    """Every signal about two profiles, strongest first. Symmetric in its arguments."""
    matches: list[Match] = []
    same_website = mine.website is not None and mine.website == theirs.website
    if same_website:
        weight = STANDARD_WEIGHTS[MatchKind.DOMAIN]
        matches.append(_match(MatchKind.DOMAIN, mine.website, 1.0, weight))
    domain = _shared_domain(mine, theirs, same_website=same_website)
    if domain is not None:
        weight = STANDARD_WEIGHTS[MatchKind.CONTACT_EMAIL_DOMAIN]
        matches.append(_match(MatchKind.CONTACT_EMAIL_DOMAIN, domain, 1.0, weight))
    matches += _name_evidence(mine, theirs, threshold, is_common)
    # Every signal so far is of identity (a domain or a name: name evidence that
    # speaks against comes only after a name match), so none means no identity.
    if not matches:
        return []
    kind = _website_difference(mine.website, theirs.website)
    if kind is not None:
        sign = "/" if kind is MatchKind.OTHER_WEBSITE else "~"
        value = _pair(mine.website, theirs.website, sign)  # type: ignore[arg-type]
        matches.append(_match(kind, value, 1.0, STANDARD_WEIGHTS[kind]))
    if mine.country != theirs.country:
        weight = STANDARD_WEIGHTS[MatchKind.OTHER_COUNTRY]
        value = _pair(mine.country, theirs.country, "/")
        matches.append(_match(MatchKind.OTHER_COUNTRY, value, 1.0, weight))
    if mine.products and theirs.products:
        # Equal keys (the usual case) are the products in common, sorted already.
        if mine.products == theirs.products:
            common = mine.products.split(_PRODUCT_SEPARATOR)
        else:
            common = sorted(mine.product_set & theirs.product_set)
        if common:
            weight = STANDARD_WEIGHTS[MatchKind.PRODUCT_OVERLAP]
            matches.append(_match(MatchKind.PRODUCT_OVERLAP, ", ".join(common), 1.0, weight))
    matches.sort(key=lambda match: (match.weight < 0, -abs(match.weight)))
    return matches


def match_confidence(matches: Iterable[Match], *, same_country: bool = True) -> float:
    """How sure the evidence makes partnerkit that two records are one customer (0.01 to 0.99).

    Each `Match` carries a weight in log-odds (`STANDARD_WEIGHTS`: a shared
    website +3.0, a contact-email domain +1.75, an exact name +2.2, a near name
    +0.8 to +1.9 by slips and length, products in common +0.3, a country website
    and a generic one of the same name +1.0; websites of different names -1.3,
    different countries -2.6, different numbers in the names -3.0, a common word swapped for
    another -2.0). The confidence is the logistic function of their sum,
    ``1 / (1 + e ** -sum)``, rounded to 2 places and kept within 0.01 and 0.99: a
    sum of 0 is 0.5, +2.2 is 0.9, +3.0 is 0.95.

    Args:
        matches: The evidence, as a `Conflict` lists it.
        same_country: Pass False for matches between records in two countries
            that do not already list an ``other_country`` signal.
    """
    matches = tuple(matches)
    total = math.fsum(match.weight for match in matches)
    if not same_country and all(match.kind is not MatchKind.OTHER_COUNTRY for match in matches):
        total += STANDARD_WEIGHTS[MatchKind.OTHER_COUNTRY]
    return _confidence(total)


def _confidence(total: float) -> float:
    """The confidence of a sum of weights: logistic, rounded, within 0.01 and 0.99."""
    confidence = 1.0 / (1.0 + math.exp(-total))
    return round(min(max(confidence, _MIN_CONFIDENCE), _MAX_CONFIDENCE), 2)


def _weigh(
    profile: Profile,
    other_profile: Profile,
    policy: ConflictPolicy,
    is_common: Callable[[str], bool],
) -> tuple[tuple[Match, ...], float] | None:
    """The evidence about two profiles and its confidence, if it makes a conflict."""
    min_confidence = policy.min_confidence
    if _cannot_reach(profile, other_profile, min_confidence):
        # Most candidates a check weighs fall short: say so before the names'
        # distance is measured and the matches are built.
        return None
    matches = _evidence(profile, other_profile, policy.fuzzy_threshold, is_common)
    if not matches:
        return None
    # `match_confidence` of evidence that lists its own country difference.
    confidence = _confidence(math.fsum([match.weight for match in matches]))
    if confidence < min_confidence:
        return None
    return tuple(matches), confidence


_trusted_conflict: Final = builder(Conflict)


def _conflict(
    subject: Party,
    other: Party,
    other_name: str,
    weighed: tuple[tuple[Match, ...], float],
    policy: ConflictPolicy,
) -> Conflict | None:
    found, confidence = weighed
    verdict = policy.judge(subject, other, found, confidence)
    if verdict is None:
        return None
    # The default policy's verdicts between registrations (whose ids, and so the
    # partners', were validated when they were made) need no second validation;
    # any other policy's, or a host's house accounts, go through the checks.
    make = (
        _trusted_conflict
        if type(policy) is DefaultConflictPolicy and other.kind is PartyKind.REGISTRATION
        else Conflict
    )
    # `Conflict`'s fields in order.
    return make(
        subject.id,
        other.kind,
        other.id,
        other.partner_id,
        other_name,
        found,
        confidence,
        verdict.rule,
        verdict.outcome,
        verdict.has_priority,
        verdict.reason,
    )


def _conflicts_of(
    subject: Party,
    profile: Profile,
    index: ConflictIndex,
    *,
    policy: ConflictPolicy,
    accounts: Iterable[HouseAccount],
    own: int | None,
) -> list[Conflict]:
    is_common = index.is_common
    conflicts: list[Conflict] = []
    could_match = index.could_match
    for slot in index._candidate_slots(profile):
        if slot == own or not could_match(slot, profile):
            continue
        other_profile = index.stored_profile(slot)
        # Weigh first: most candidates fall short, and need no party built.
        weighed = _weigh(profile, other_profile, policy, is_common)
        if weighed is None:
            continue
        # `StoredParty` lists a party's fields in `Party`'s order, from values the
        # index took from validated registrations.
        other = _party(*index.party(slot))
        found = _conflict(subject, other, other_profile.name, weighed, policy)
        if found is not None:
            conflicts.append(found)
    for account in accounts:
        account_profile = index.profile(account.customer)
        weighed = _weigh(profile, account_profile, policy, is_common)
        if weighed is None:
            continue
        other = Party(PartyKind(account.kind), account.id, note=account.note)
        found = _conflict(subject, other, account_profile.name, weighed, policy)
        if found is not None and all(c.other_id != found.other_id for c in conflicts):
            conflicts.append(found)
    conflicts.sort(key=lambda c: (-c.outcome.severity, -c.confidence, c.other_id))
    return conflicts


def find_conflicts(
    registration: DealRegistration,
    index: ConflictIndex,
    *,
    policy: ConflictPolicy = DEFAULT_POLICY,
    accounts: Iterable[HouseAccount] = (),
) -> list[Conflict]:
    """Every conflict of ``registration`` with what ``index`` holds, most serious first.

    Compares the customer's registrable website and contact-email domains, its
    normalised name (exact) and its name key (spelling variants and typing slips,
    see `DefaultConflictPolicy`), notes what speaks against a match (other
    websites, countries, numbers or words), and weighs it all (`match_confidence`).
    Only the few records that blocking offers are scored (see `ConflictIndex`);
    the registration itself is skipped if the index holds it.

    Args:
        registration: The registration to check (usually just submitted, or about
            to be approved).
        index: The active registrations and house accounts.
        policy: What a match means; `DefaultConflictPolicy` unless told.
        accounts: More direct opportunities or existing customers to compare with,
            such as those the host found in its CRM by `customer_keys`.

    Returns:
        Conflicts sorted by outcome (block, reject, review, proceed), then
        confidence (highest first), then the other party's id.
    """
    if not isinstance(registration, DealRegistration):
        raise ValidationError.single("registration", "expected a DealRegistration")
    profile = index.profile(registration.customer, registration.products)
    subject = _party(
        PartyKind.REGISTRATION,
        registration.id,
        registration.partner_id,
        registration.registered_at,
        registration.submitted_at,
        "",
    )
    own = index.slot_of(registration.id)
    return _conflicts_of(subject, profile, index, policy=policy, accounts=accounts, own=own)


def check_customer(
    customer: Customer,
    index: ConflictIndex,
    *,
    partner_id: str | None = None,
    products: Iterable[str] = (),
    policy: ConflictPolicy = DEFAULT_POLICY,
    accounts: Iterable[HouseAccount] = (),
    subject_id: str = "customer",
) -> list[Conflict]:
    """The conflicts a new registration for ``customer`` would meet, without building one.

    For a portal's "is this customer taken?" check before a partner fills in a
    registration, or a CRM import. The customer is judged as a registration
    submitted after everything the index holds: another partner's registration
    sends it to review, the same partner's is a duplicate, and the vendor's own
    accounts block.

    Args:
        customer: Who to check.
        index: The active registrations and house accounts.
        partner_id: The partner asking, so its own registrations count as
            duplicates; None when no partner is asking.
        products: The products it would be registered with.
        policy: What a match means; `DefaultConflictPolicy` unless told.
        accounts: More direct opportunities or existing customers to compare with.
        subject_id: The id the conflicts name as the checked registration.

    Returns:
        Conflicts, most serious first, as `find_conflicts` returns them.

    Raises:
        ValidationError: If ``customer`` is not a `Customer` or ``subject_id`` is
            not a usable id.
    """
    if not isinstance(customer, Customer):
        raise ValidationError.single("customer", "expected a Customer")
    check_id(subject_id, "subject_id")
    if partner_id is not None:
        check_id(partner_id, "partner_id")
    profile = index.profile(customer, tuple(products))
    subject = Party(PartyKind.REGISTRATION, subject_id, partner_id)
    return _conflicts_of(subject, profile, index, policy=policy, accounts=accounts, own=None)


#: The version of the `customer_keys` format. Storage keeps it beside each claim; a
#: release that changes the keys bumps it, and storage re-computes the claims of
#: approved registrations when it does. Version 1's name normalisation is frozen
#: (improvements to matching do not change the keys).
CUSTOMER_KEY_VERSION: Final = 1


def customer_keys(
    subject: Customer | DealRegistration,
    *,
    shared_email_domains: Iterable[str] = SHARED_EMAIL_DOMAINS,
) -> tuple[str, ...]:
    """The keys that storage claims when a registration is approved, sorted.

    Two registrations that share any key are for the same customer, so storage
    claims all of a registration's keys atomically when it is approved and
    releases them when it leaves ``approved``: a second approval that needs a key
    already claimed fails, however the two requests race. The keys are:

    - ``v1:domain:<registrable domain>`` for the website and for the contact
      email's domain (unless a free-mail provider);
    - ``v1:name:<COUNTRY>:<normalised name without spaces>``, so "Nordic Cloud
      Oy" and "NordicCloud" in Finland share ``v1:name:FI:nordiccloud``.

    The name is normalised as version 1 of the key format defined it (legal forms
    at the end, distinctive ones anywhere), which stays fixed while conflict
    matching improves: a leading "AB" that `find_conflicts` now reads as a legal
    form is still part of the claimed name. Near names and other variants are
    found by `find_conflicts` when the approval is reviewed. Keys depend only on
    the customer and `CUSTOMER_KEY_VERSION`, never on the index.
    """
    customer = subject.customer if isinstance(subject, DealRegistration) else subject
    if not isinstance(customer, Customer):
        raise ValidationError.single("subject", "expected a Customer or a DealRegistration")
    profile = make_profile(customer, (), frozenset(shared_email_domains))
    prefix = f"v{CUSTOMER_KEY_VERSION}"
    compact = normalize_v1(customer.name).replace(" ", "").replace("&", "")
    keys = {f"{prefix}:name:{profile.country}:{compact}"}
    keys.update(
        f"{prefix}:domain:{domain}" for domain in (profile.website, profile.email) if domain
    )
    return tuple(sorted(keys))


def name_similarity(left: str, right: str, *, country: str | None = None) -> float:
    """How alike two company names are, from 0 to 1, as fuzzy matching measures it.

    Both names are normalised (`normalize_company_name`, with ``country`` if
    given) and folded for spelling variants; the result is ``1 - slips / length
    of the longer`` of the two, where a slip is a missing, extra, wrong or swapped
    letter (the better of the plain names and their folded keys). Names match
    when the slips are within what their length allows (none
    up to 3 letters, one up to 13, two from 14) and this reaches the policy's
    ``fuzzy_threshold``.

    Example:
        >>> round(name_similarity("Zentrix Technologies GmbH", "Zentirx Technologies"), 3)
        0.947
    """
    names = [normalize_company_name(name, country) for name in (left, right)]
    compact = [name.replace(" ", "").replace("&", "") for name in names]
    keys = [match_key(match_words(name)) for name in names]
    if keys[0] == keys[1]:
        return 1.0
    longest = max(len(compact[0]), len(compact[1]))
    if not longest:
        return 0.0
    slips = min(
        edit_distance(compact[0], compact[1], longest),
        edit_distance(keys[0], keys[1], longest),
    )
    return round(max(0.0, 1.0 - slips / longest), 3)
