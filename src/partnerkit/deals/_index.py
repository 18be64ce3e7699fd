"""The conflict index: active registrations and house accounts, blocked on normalised keys.

A check never scans the population. It looks up a handful of exact keys and scores
only the records they return (the *candidates*), cheapest look-ups first:

1. the customer's registrable website domain and contact-email domain;
2. its **name key** (`match_key`: the name's words, legal forms removed, folded for
   spelling and script variants and joined without spaces), which is equal for
   legal-form, punctuation, spacing ("Ridgewaycapital" and "Ridgeway Capital"),
   transliteration and umlaut variants;
3. every **distinctive word** of the name (one held by fewer than
   `DISTINCTIVE_BELOW` records, typically the brand): all the records holding it,
   whatever else their names say, which finds slips anywhere else in the name;
4. **masked keys** for words of three letters or fewer (initials, "AB", "KG"): the
   name with that word blanked out, kept for names that have one and another word;
5. **corrected words**: each word that is not common is looked up in a
   **deletion table**, where every known word of four letters or more is filed
   under every string one deletion away. Two words within one typing slip (a
   missing, extra, wrong or swapped letter) always share such a string, so
   "Zentirx" finds "zentrix", and the name key of "zentrix technologies" is looked
   up, never compared against anything else. A counting filter of the names' plain
   spellings skips corrections that name no registered customer before any folding.
   Words run together with the next ("Ridgeway Capitl") and unknown long words split
   in two ("Ridgewaycapitl") are corrected the same way.

Then it stops if anything was found, or if a distinctive word was (its records hold
every name that differs in the other words). Otherwise: when every word is known,
the common words are corrected too ("Hill & Smith Consultign" has no distinctive
word); when a word is unknown, no single correction of another word can make a
registered name, so for names of 14 letters or more (which may hold two slips) the
pairs of corrections that include it are looked up, and common words two slips
from it, from a small table of common words filed under every string two deletions
away ("Insurage" for "Insurance").

Results depend on what the index holds and nothing else: not on insertion order,
not on ``PYTHONHASHSEED`` and not on the process. The deletion table and the
counting filter hash with CRC-32, which is the same in every process, so which
words collide, and so what a look-up returns, depends on the words alone. (A
false positive of the filter can offer a record: the corrected spelling was never
registered, but its folded key was, "Scoze Systems" for "Scozhe Systems". With
Python's salted ``hash`` there, such a record was offered under some hash seeds and
not others.) Every cap keeps the alphabetically first or the most used entries,
never whichever a salted hash happened to list first.

Memory is kept under 1 KB per registration by storing columns rather than objects,
sharing (interning) repeated strings such as partner ids and countries, keeping
single-entry postings as a bare slot number (the same int object everywhere), and
packing the deletion table into 65,536 sorted arrays of 64-bit integers
(`_DeletionTable`). A bulk `ConflictIndex.update` collects the table's entries with
C-level maps and sorts them into the arrays once.
"""

from __future__ import annotations

import functools
import gc
import operator
import sys
import zlib
from array import array
from collections import Counter, deque
from datetime import UTC, datetime, timedelta
from itertools import chain, compress, filterfalse, islice, repeat
from typing import TYPE_CHECKING, Final, NamedTuple, Protocol, runtime_checkable

from partnerkit.deals._deletions import MAX_WORDS, _deletions, _DeletionTable, _two_deletions
from partnerkit.deals._domains import SHARED_EMAIL_DOMAINS, _reduce, _registrable, _rules
from partnerkit.deals._model import (
    ACTIVE_STATUSES,
    Customer,
    DealRegistration,
    DealStatus,
    PartyKind,
)
from partnerkit.deals._names import (
    bulk_match_words,
    bulk_normalize,
    match_key,
    match_words,
    normalize_company_name,
    skeleton,
)
from partnerkit.errors import ValidationError

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

__all__ = ["Candidate", "ConflictIndex", "HouseAccount", "Profile"]

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_NO_TIME: Final = -(2**63)
# Kinds of slot, stored one byte each.
_FREE: Final = 0
_SUBMITTED: Final = 1
_APPROVED: Final = 2
_DIRECT: Final = 3
_EXISTING: Final = 4
_KIND_OF_PARTY: Final = {
    PartyKind.DIRECT_OPPORTUNITY: _DIRECT,
    PartyKind.EXISTING_CUSTOMER: _EXISTING,
}
_PARTY_OF_KIND: Final = {
    _SUBMITTED: PartyKind.REGISTRATION,
    _APPROVED: PartyKind.REGISTRATION,
    _DIRECT: PartyKind.DIRECT_OPPORTUNITY,
    _EXISTING: PartyKind.EXISTING_CUSTOMER,
}
#: Words held by at least this many records may be common words (see `is_common`).
COMMON_WORD: Final = 8
#: Words held by fewer records than this are distinctive: every record holding one
#: is offered when a name being checked has it.
DISTINCTIVE_BELOW: Final = 8
# Postings are kept for words held by up to this many records (then dropped, and
# rebuilt only if the word becomes distinctive again).
_KEEP_POSTINGS: Final = 32
#: Words this long or longer are filed in the deletion table; shorter ones are
#: corrected through masked keys.
MIN_FUZZY_WORD: Final = 4
_SHORT_WORD: Final = MIN_FUZZY_WORD - 1
# Names this long (in letters) may hold two slips, one in each of two words.
_TWO_SLIPS_FROM: Final = 12
# Common words this long are also filed for two slips in one word ("Insurage" for
# "Insurance"), which only a name of common words needs.
_TWO_SLIP_WORD: Final = 5
# How many letters at each end of a common word's keys are counted: more make more
# of the keys of a long unknown word ruled out before they are made.
_END: Final = 3
# Two slips, and folds of up to two letters ("sch" for "sh") on either side.
_LENGTH_SLACK: Final = 4
# Two slips in two words: at most this many corrections of each word are paired.
_PAIRED_PER_WORD: Final = 24
# An unknown word this long may be two words run together ("ridgewaycapitl").
_SPLIT_FROM: Final = 6
_PRODUCT_SEPARATOR: Final = "\x1f"
_MASK: Final = "\x00"
# A bulk `ConflictIndex.update` reads its registrations in chunks this large.
_BULK_CHUNK: Final = 4096
# What a bulk load reads from each registration and from its customer, at once.
_REGISTRATION_FIELDS: Final = operator.attrgetter(
    "id", "status", "partner_id", "registered_at", "submitted_at", "customer", "products"
)
_CUSTOMER_FIELDS: Final = operator.attrgetter("name", "country", "domain", "contact_email")
_KIND_OF_STATUS: Final = {DealStatus.SUBMITTED: _SUBMITTED, DealStatus.APPROVED: _APPROVED}
_MICROSECOND: Final = timedelta(microseconds=1)

Posting = int | list[int]


@runtime_checkable
class HouseAccount(Protocol):
    """The vendor's own direct opportunity or existing customer, as the host models it.

    `DirectAccount` is one; a host may pass its own CRM objects if they have these
    attributes.
    """

    @property
    def id(self) -> str:
        """The host's id for the opportunity or account."""
        ...

    @property
    def kind(self) -> PartyKind:
        """``direct_opportunity`` or ``existing_customer``."""
        ...

    @property
    def customer(self) -> Customer:
        """Who it is."""
        ...

    @property
    def note(self) -> str:
        """The vendor's own reason, shown in the conflict."""
        ...


class Profile(NamedTuple):
    """A customer reduced to what conflict detection compares (`ConflictIndex.profile`)."""

    name: str
    """The normalised name (`normalize_company_name` with the customer's country)."""
    compact: str
    """The normalised name without spaces and "&": equal means an exact name match."""
    words: tuple[str, ...]
    """The words slips are corrected in (a misspelt legal form at either end dropped)."""
    key: str
    """The words folded for spelling and script variants and joined: the name key."""
    website: str | None
    """The registrable domain of the website."""
    email: str | None
    """The registrable domain of the contact email, unless a free-mail provider."""
    country: str
    """The ISO 3166-1 alpha-2 country code."""
    products: str
    """Case-folded product names joined by a separator, sorted; "" for none."""

    @property
    def product_set(self) -> frozenset[str]:
        """The case-folded product names."""
        return frozenset(self.products.split(_PRODUCT_SEPARATOR)) if self.products else frozenset()


class Candidate(NamedTuple):
    """A record that blocking offered for scoring, and why (`ConflictIndex.candidates`)."""

    id: str
    """The registration's or house account's id."""
    kind: PartyKind
    """A registration, or the vendor's direct opportunity or existing customer."""
    name: str
    """Its normalised name."""
    routes: tuple[str, ...]
    """Which look-ups offered it, such as ``"name key"`` or ``"corrected 'zentirx'"``."""


def _domain_of(host: str | None) -> str | None:
    """The registrable domain of a host that `Customer` has already normalised."""
    if host is None:
        return None
    try:
        return _reduce(host, True)
    except ValidationError:
        return None


@functools.lru_cache(maxsize=256)
def _products_key(products: tuple[str, ...]) -> str:
    return _PRODUCT_SEPARATOR.join(sorted({product.casefold() for product in products}))


def make_profile(
    customer: Customer,
    products: Iterable[str],
    shared_email_domains: frozenset[str],
    *,
    bulk: bool = False,
) -> Profile:
    """Reduce ``customer`` (and the products on the deal) to a `Profile`.

    ``bulk`` skips the caches of names, for loading many distinct names at once.
    """
    country = customer.country
    if bulk:
        name = bulk_normalize(customer.name, country)
        words = bulk_match_words(name)
    else:
        name = normalize_company_name(customer.name, country)
        words = match_words(name)
    website = _domain_of(customer.domain)
    email = customer.contact_email
    if email is not None:
        host = email.rpartition("@")[2]
        email = website if host == website else _domain_of(host)
        if email in shared_email_domains:
            email = None
    if not products:
        joined = ""
    elif isinstance(products, tuple):
        joined = _products_key(products)
    else:
        joined = _products_key(tuple(products))
    compact = name.replace(" ", "").replace("&", "") if " " in name else name
    return Profile(name, compact, words, match_key(words), website, email, country, joined)


def _micros(moment: datetime | None) -> int:
    if moment is None:
        return _NO_TIME
    since = moment - _EPOCH
    return (since.days * 86400 + since.seconds) * 1_000_000 + since.microseconds


def _instant(micros: int) -> datetime | None:
    return None if micros == _NO_TIME else _EPOCH + timedelta(microseconds=micros)


def _all_micros(moments: Sequence[datetime | None]) -> Iterator[int]:
    """`_micros` of each of ``moments``, by C-level maps when none is missing."""
    if None in moments:
        return map(_micros, moments)
    # A timedelta divided by one microsecond is its whole number of microseconds.
    return map(
        operator.floordiv,
        map(operator.sub, moments, repeat(_EPOCH)),
        repeat(_MICROSECOND),
    )


class _Columns(NamedTuple):
    """What `make_profile` gives for each of many customers, a list per field."""

    names: list[str]
    words: list[tuple[str, ...]]
    keys: list[str]
    websites: list[str | None]
    emails: list[str | None]
    countries: list[str]
    products: list[str]


def _bulk_profiles(
    customers: Sequence[Customer],
    products: Sequence[tuple[str, ...]],
    shared_email_domains: frozenset[str],
) -> _Columns:
    """`make_profile` (``bulk``) of each customer with its products, field by field.

    The same values, made by C-level maps over the whole list instead of a call
    a customer; a contact email equal to the website is the website's string, as
    `ConflictIndex` stores it.
    """
    raw_names, countries, hosts, contacts = zip(*map(_CUSTOMER_FIELDS, customers), strict=True)
    names = list(map(bulk_normalize, raw_names, countries))
    words = list(map(bulk_match_words, names))
    rules = _rules(private=True)
    # `_domain_of` without its cache: each customer's host is asked about once.
    if None in hosts:
        websites = [None if host is None else _registrable(host, rules) for host in hosts]
    else:
        websites = list(map(_registrable, hosts, repeat(rules)))
    emails: list[str | None] = [None] * len(contacts)
    for at in compress(range(len(contacts)), map(operator.is_not, contacts, repeat(None))):
        host = contacts[at].rpartition("@")[2]
        website = websites[at]
        email = website if host == website else _registrable(host, rules)
        if email is not None and email not in shared_email_domains:
            emails[at] = website if email == website else email
    return _Columns(
        names,
        words,
        list(map(match_key, words)),
        websites,
        emails,
        list(countries),
        list(map(_products_key, products)),
    )


def _post(table: dict[str, Posting], key: str, slot: int) -> None:
    found = table.get(key)
    if found is None:
        table[key] = slot
    elif isinstance(found, int):
        table[key] = [found, slot]
    else:
        found.append(slot)


def _unpost(table: dict[str, Posting], key: str, slot: int) -> None:
    found = table.get(key)
    if found is None:
        return
    if isinstance(found, int):
        if found == slot:
            del table[key]
        return
    if slot in found:
        found.remove(slot)
    if len(found) == 1:
        table[key] = found[0]


def _post_each(table: dict[str, Posting], keys: Sequence[str], slots: Sequence[int]) -> None:
    """`_post` each key for its slot, in order (most keys new: one C-level pass first)."""
    found = list(map(table.setdefault, keys, slots))
    # A key that was there (or came twice) returned its earlier posting, not the slot.
    for key, slot in compress(zip(keys, slots, strict=True), map(operator.is_not, found, slots)):
        _post(table, key, slot)


def _posted(table: dict[str, Posting], key: str) -> Iterable[int]:
    found = table.get(key)
    if found is None:
        return ()
    if isinstance(found, int):
        return (found,)
    return found


def _ends(key: str) -> tuple[tuple[int, str], tuple[int, str]]:
    """A key's length with its first `_END` letters, and with its last."""
    return (len(key), "^" + key[:_END]), (len(key), key[-_END:] + "$")


def _masked_keys(words: tuple[str, ...]) -> list[str]:
    """The name with each short word blanked, for names of two words or more."""
    if len(words) < 2:
        return []
    return [
        "".join(words[:index]) + _MASK + "".join(words[index + 1 :])
        for index, word in enumerate(words)
        if len(word) <= _SHORT_WORD
    ]


class StoredParty(NamedTuple):
    """Who a slot holds: what a policy needs to rank and explain it."""

    kind: PartyKind
    id: str
    partner_id: str | None
    registered_at: datetime | None
    submitted_at: datetime | None
    note: str


_Trace = dict[int, list[str]]
# Corrections: (first word replaced, the word after the last replaced, the texts).
_Option = tuple[int, int, "Sequence[str]"]


class _Offer(Protocol):
    """Adds slots to the candidates, with the route that found them (a format and its values)."""

    def __call__(self, slots: Iterable[int], route: str, *details: str) -> None: ...


class ConflictIndex:
    """The active registrations and house accounts that new registrations are checked against.

    Keep it in step with storage: `sync` a registration after every change (it is
    held while submitted or approved and dropped otherwise), and add or remove the
    vendor's direct opportunities and existing customers as they change. Build a
    large one at once with `ConflictIndex.build`. The index is not thread-safe:
    guard it with a lock if several threads update it.

    Two diagnostics show what a check compares: `profile` (the customer as
    matching sees it) and `candidates` (which records the look-ups offer, and why).

    Args:
        shared_email_domains: Email domains that say nothing about the customer
            (free-mail providers); `SHARED_EMAIL_DOMAINS` by default.
        variant_cap: A word with more known neighbours than this (one slip away)
            is corrected through its first ``variant_cap`` neighbours only, in
            alphabetical order; such words are short and common, where a guess
            would be noise, and the cap bounds the work of one check.
    """

    __slots__ = (
        "_accounts",
        "_by_key",
        "_common_heads",
        "_common_near",
        "_countries",
        "_deletions",
        "_domains",
        "_emails",
        "_free",
        "_free_words",
        "_ids",
        "_keys",
        "_kinds",
        "_masked",
        "_names",
        "_near_cache",
        "_notes",
        "_partners",
        "_plain_counts",
        "_plain_crcs",
        "_plain_mask",
        "_products",
        "_registered",
        "_registrations",
        "_shared",
        "_submitted",
        "_variant_cap",
        "_websites",
        "_word_counts",
        "_word_ids",
        "_word_slots",
        "_words",
    )

    def __init__(
        self,
        *,
        shared_email_domains: Iterable[str] = SHARED_EMAIL_DOMAINS,
        variant_cap: int = 200,
    ) -> None:
        self._shared = frozenset(shared_email_domains)
        if isinstance(variant_cap, bool) or not isinstance(variant_cap, int) or variant_cap < 1:
            raise ValidationError.single("variant_cap", "expected a whole number, 1 or more")
        self._variant_cap = variant_cap
        self._registrations: dict[str, int] = {}
        self._accounts: dict[str, int] = {}
        self._free: list[int] = []
        # Columns, one entry per slot.
        self._ids: list[str | None] = []
        self._kinds = bytearray()
        self._partners: list[str | None] = []
        self._registered = array("q")
        self._submitted = array("q")
        self._names: list[str] = []
        self._keys: list[str] = []
        self._websites: list[str | None] = []
        self._emails: list[str | None] = []
        self._countries: list[str] = []
        self._products: list[str] = []
        self._notes: dict[int, str] = {}
        # Blocking tables.
        self._by_key: dict[str, Posting] = {}
        self._domains: dict[str, Posting] = {}
        self._masked: dict[str, Posting] = {}
        # A counting filter of the names' plain words joined ("zentrixtechnologies"),
        # one byte a counter, about eight counters a name: a slip correction whose
        # corrected name is not counted here needs no folding and no key look-up.
        self._plain_counts = bytearray(1 << 12)
        self._plain_mask = (1 << 12) - 1
        # Each slot's CRC-32 of its plain words joined, so that growing the filter
        # recounts the names without reducing them to their words again.
        self._plain_crcs = array("I")
        # The vocabulary: word -> id, id -> word and how many slots use it.
        self._word_ids: dict[str, int] = {}
        self._words: list[str | None] = []
        self._word_counts = array("I")
        # Which slots hold each word, kept while few do (distinctive words).
        self._word_slots: list[Posting | None] = []
        self._free_words: list[int] = []
        self._deletions = _DeletionTable()
        # Common words under every string two deletions away (see `_file_common`).
        self._common_near: dict[str, list[str]] = {}
        # How many of its keys have each length and first (or last) `_END` letters.
        self._common_heads: dict[tuple[int, str], int] = {}
        # The known neighbours of words asked about since the vocabulary last changed.
        self._near_cache: dict[str, tuple[str, ...]] = {}

    @classmethod
    def build(
        cls,
        registrations: Iterable[DealRegistration],
        *,
        accounts: Iterable[HouseAccount] = (),
        shared_email_domains: Iterable[str] = SHARED_EMAIL_DOMAINS,
        variant_cap: int = 200,
    ) -> ConflictIndex:
        """A new index holding the active ones of ``registrations``, and ``accounts``.

        The way to load an index from storage at start-up: see `update`.

        Raises:
            ValidationError: If an item is not a `DealRegistration`.
        """
        index = cls(shared_email_domains=shared_email_domains, variant_cap=variant_cap)
        index.update(registrations)
        for account in accounts:
            index.add_account(account)
        return index

    def update(self, registrations: Iterable[DealRegistration]) -> None:
        """`sync` many registrations at once: the bulk path.

        Registrations that are submitted or approved are held (replacing older
        copies), others are dropped; a registration listed twice ends as listed
        last. The deletion table is sorted once at the end rather than kept sorted
        entry by entry, and a chunk of new registrations is filed column by column
        and word by word, so this is several times faster than calling `sync` for
        each, and leaves the same index. Python's cyclic garbage collector is
        paused while it loads (a load makes no cycles), and turned back on after
        if it was on.

        Raises:
            ValidationError: If an item is not a `DealRegistration`.
        """
        expected = getattr(registrations, "__len__", None)
        if expected is not None:
            self._reserve(expected())
        self._deletions.bulk()
        items = iter(registrations)
        # A load makes millions of objects and no garbage cycles: the cyclic collector
        # would only walk the growing index again and again (a quarter of the time of
        # a large build), so it waits until the load is done.
        collecting = gc.isenabled()
        gc.disable()
        try:
            while chunk := list(islice(items, _BULK_CHUNK)):
                if not self._add_new(chunk):
                    self._update_each(chunk)
        finally:
            self._deletions.settle()
            if collecting:
                gc.enable()

    def _update_each(self, registrations: Iterable[DealRegistration]) -> None:
        """`update` one registration at a time: any mix of new, replaced and inactive ones."""
        held = self._registrations
        add = self._add_registration
        for registration in registrations:
            if type(registration) is not DealRegistration and not isinstance(
                registration, DealRegistration
            ):
                raise ValidationError.single("registrations", "expected DealRegistration items")
            if registration.is_active:
                if registration.id in held:
                    self.remove(registration.id)
                add(registration, bulk=True)
            else:
                self.remove(registration.id)

    def _add_new(self, chunk: list[DealRegistration]) -> bool:
        """Hold ``chunk`` at once if every item is a new, active registration; else False.

        Leaves the index exactly as `_update_each` would: the same slots, postings,
        word ids, counts and deletion entries, but gathered per word and per column
        for the whole chunk rather than registration by registration.
        """
        if (
            not chunk
            or self._free
            or not all(map(operator.is_, map(type, chunk), repeat(DealRegistration)))
        ):
            return False
        ids, statuses, partners, registered, submitted, customers, products = zip(
            *map(_REGISTRATION_FIELDS, chunk), strict=True
        )
        held = self._registrations
        if (
            len(set(ids)) != len(ids)
            or not held.keys().isdisjoint(ids)
            or not ACTIVE_STATUSES.issuperset(statuses)
        ):
            return False
        columns = _bulk_profiles(customers, products, self._shared)
        first = len(self._ids)
        live = len(self._ids) + len(chunk)
        size = self._plain_mask + 1
        while live * 8 > size:
            size *= 2
        # `_store` grows the filter as it goes, counting every held name again and
        # then the name that made it grow once more; the last growth is the one left.
        regrown = size // 16 if size != self._plain_mask + 1 else -1
        if regrown >= 0:
            self._resize_filter(size)
        intern = sys.intern
        self._kinds.extend(map(_KIND_OF_STATUS.__getitem__, statuses))
        self._registered.extend(_all_micros(registered))
        self._submitted.extend(_all_micros(submitted))
        self._ids.extend(ids)
        if None in partners:
            self._partners.extend([None if p is None else intern(p) for p in partners])
        else:
            self._partners.extend(map(intern, partners))
        self._names.extend(columns.names)
        self._keys.extend(columns.keys)
        self._websites.extend(columns.websites)
        self._emails.extend(columns.emails)
        self._countries.extend(map(intern, columns.countries))
        self._products.extend(columns.products)
        # One int object a slot, shared by every table that posts it.
        slots = list(range(first, first + len(chunk)))
        self._learn_all(self._post_all(columns, slots, regrown))
        held.update(zip(ids, slots, strict=True))
        return True

    def _post_all(self, columns: _Columns, slots: list[int], regrown: int) -> dict[str, list[int]]:
        """File the domains, keys and plain names of ``columns`` (held in ``slots``).

        Postings are appended in slot order, as adding one by one does; most keys
        are new, so each table is first offered every key by a C-level
        `dict.setdefault`, and only the keys already there are appended to.

        Returns:
            Each word of their names -> the slots holding it, in order.
        """
        words, websites, emails = columns.words, columns.websites, columns.emails
        domains = self._domains
        if any(compress(map(operator.is_not, emails, websites), map(bool, emails))):
            # An email domain other than the website: post both, in the order of
            # adding one by one (the email's first).
            for slot, website, email in zip(slots, websites, emails, strict=True):
                if email is not None and email is not website:
                    _post(domains, email, slot)
                if website is not None:
                    _post(domains, website, slot)
        else:
            present = list(map(operator.is_not, websites, repeat(None)))
            known: list[str] = list(compress(websites, present))  # type: ignore[arg-type]
            _post_each(domains, known, list(compress(slots, present)))
        _post_each(self._by_key, columns.keys, slots)
        crcs = list(map(zlib.crc32, map(str.encode, map("".join, words))))
        self._plain_crcs.extend(crcs)
        counts = self._plain_counts
        tally = Counter(map(operator.and_, crcs, repeat(self._plain_mask)))
        if slots[0] <= regrown <= slots[-1]:
            tally[crcs[regrown - slots[0]] & self._plain_mask] += 1
        for position, count in tally.items():
            total = counts[position] + count
            counts[position] = min(total, 255)
        # Names of two words or more with a short word are filed under masked keys.
        shortest = map(functools.partial(min, default=0), map(map, repeat(len), words))
        masked_table = self._masked
        for slot, name in compress(
            zip(slots, words, strict=True), map(operator.le, shortest, repeat(_SHORT_WORD))
        ):
            for masked in _masked_keys(name):
                _post(masked_table, masked, slot)
        # A word held twice in one name is posted once for it.
        distinct = [
            tuple(set(name)) if repeated else name
            for name, repeated in zip(
                words, map(operator.lt, map(len, map(set, words)), map(len, words)), strict=True
            )
        ]
        holders: dict[str, list[int]] = {}
        # ``holders.setdefault(word, []).append(slot)`` for each word of each name,
        # in slot order, by C-level maps (the deque only drives them).
        deque(
            map(
                list.append,
                map(holders.setdefault, chain.from_iterable(distinct), map(list, repeat(()))),
                chain.from_iterable(map(repeat, slots, map(len, distinct))),
            ),
            0,
        )
        return holders

    def _learn_all(self, holders: dict[str, list[int]]) -> None:
        """`_learn` each word for its slots (in order), a word at a time.

        Words new to the index take the next ids in order, their columns extended
        at once, when no freed id is waiting to be reused.
        """
        word_ids = self._word_ids
        word_counts = self._word_counts
        word_slots = self._word_slots
        # Words that become common, filed after in the order of ``holders``.
        order = list(holders)
        common: set[str] = set()
        new = list(filterfalse(word_ids.__contains__, order))
        if new and not self._free_words:
            first = len(self._words)
            if first + len(new) > MAX_WORDS:
                msg = f"a ConflictIndex holds at most {MAX_WORDS:,} distinct words"
                raise OverflowError(msg)
            held = list(map(holders.pop, new))
            sizes = list(map(len, held))
            self._words.extend(new)
            word_counts.extend(sizes)
            word_slots.extend(
                [
                    ones[0] if size == 1 else (ones if size <= _KEEP_POSTINGS else None)
                    for ones, size in zip(held, sizes, strict=True)
                ]
            )
            word_ids.update(zip(new, range(first, first + len(new)), strict=True))
            fuzzy = list(map(operator.ge, map(len, new), repeat(MIN_FUZZY_WORD)))
            self._deletions.add_all(
                list(compress(range(first, first + len(new)), fuzzy)), list(compress(new, fuzzy))
            )
            common.update(compress(new, map(operator.ge, sizes, repeat(DISTINCTIVE_BELOW))))
        for word, holding in holders.items():
            word_id = word_ids.get(word)
            slots = holding
            if word_id is None:
                # The first slot makes the word; the rest are learnt as for a known word.
                self._learn(word, holding[0])
                if len(holding) == 1:
                    continue
                word_id = word_ids[word]
                slots = holding[1:]
            before = word_counts[word_id]
            count = before + len(slots)
            word_counts[word_id] = count
            if before < DISTINCTIVE_BELOW <= count:
                common.add(word)
            posting = word_slots[word_id]
            if posting is None:
                continue
            if count > _KEEP_POSTINGS:
                word_slots[word_id] = None
            elif isinstance(posting, int):
                word_slots[word_id] = [posting, *slots]
            else:
                posting.extend(slots)
        if common:
            for word in order:
                if word in common and len(word) >= _TWO_SLIP_WORD:
                    self._file_common(word, add=True)
        if self._near_cache:
            self._near_cache.clear()

    # --- keeping it in step ---------------------------------------------------------

    def profile(self, customer: Customer, products: Iterable[str] = ()) -> Profile:
        """The customer as conflict detection sees it: normalised name, words, key, domains.

        A diagnostic as much as a step of every check: when two records that should
        match do not, compare their profiles.

        Raises:
            ValidationError: If ``customer`` is not a `Customer`.
        """
        if not isinstance(customer, Customer):
            raise ValidationError.single("customer", "expected a Customer")
        return make_profile(customer, products, self._shared)

    def add(self, registration: DealRegistration) -> None:
        """Hold a submitted or approved registration (replacing an older copy of it).

        Raises:
            ValidationError: If it is not submitted or approved; use `sync` to
                add or drop as its status says.
        """
        if not isinstance(registration, DealRegistration):
            raise ValidationError.single("registration", "expected a DealRegistration")
        if not registration.is_active:
            raise ValidationError.single(
                "status",
                f"{registration.id!r} is {registration.status.value}; only submitted and "
                f"approved registrations are indexed (sync() adds or drops as the status says)",
            )
        self.remove(registration.id)
        self._add_registration(registration)

    def _add_registration(self, registration: DealRegistration, *, bulk: bool = False) -> None:
        kind = _APPROVED if registration.status is DealStatus.APPROVED else _SUBMITTED
        profile = make_profile(
            registration.customer, registration.products, self._shared, bulk=bulk
        )
        self._registrations[registration.id] = self._store(
            kind,
            registration.id,
            partner_id=registration.partner_id,
            profile=profile,
            registered=_micros(registration.registered_at),
            submitted=_micros(registration.submitted_at),
        )

    def sync(self, registration: DealRegistration) -> bool:
        """Hold the registration if it is active, drop it if not; return whether it is held."""
        if registration.is_active:
            self.add(registration)
            return True
        self.remove(registration.id)
        return False

    def remove(self, registration_id: str) -> bool:
        """Drop a registration; return whether it was held."""
        slot = self._registrations.pop(registration_id, None)
        if slot is None:
            return False
        self._release(slot)
        return True

    def add_account(self, account: HouseAccount) -> None:
        """Hold one of the vendor's direct opportunities or existing customers."""
        kind = _KIND_OF_PARTY.get(PartyKind(account.kind))
        if kind is None:
            raise ValidationError.single(
                "kind", "a house account is a 'direct_opportunity' or an 'existing_customer'"
            )
        if not isinstance(account.customer, Customer):
            raise ValidationError.single("customer", "expected a Customer")
        self.remove_account(account.id)
        slot = self._store(
            kind,
            account.id,
            partner_id=None,
            profile=self.profile(account.customer),
            registered=_NO_TIME,
            submitted=_NO_TIME,
        )
        if account.note:
            self._notes[slot] = account.note
        self._accounts[account.id] = slot

    def remove_account(self, account_id: str) -> bool:
        """Drop a house account; return whether it was held."""
        slot = self._accounts.pop(account_id, None)
        if slot is None:
            return False
        self._release(slot)
        return True

    def __len__(self) -> int:
        return len(self._registrations) + len(self._accounts)

    def __contains__(self, registration_id: object) -> bool:
        return registration_id in self._registrations

    def registration_ids(self) -> Iterator[str]:
        """The ids of the registrations held, in no particular order."""
        return iter(self._registrations)

    def account_ids(self) -> Iterator[str]:
        """The ids of the house accounts held, in no particular order."""
        return iter(self._accounts)

    def stats(self) -> dict[str, int]:
        """Sizes of the internal tables, for monitoring and tests."""
        return {
            "registrations": len(self._registrations),
            "accounts": len(self._accounts),
            "name_keys": len(self._by_key),
            "masked_keys": len(self._masked),
            "domains": len(self._domains),
            "words": len(self._word_ids),
            "deletion_keys": len(self._deletions),
            "common_word_keys": len(self._common_near),
            "notes": len(self._notes),
        }

    def word_count(self, word: str) -> int:
        """How many held records have ``word`` (a `Profile` word) in their name."""
        word_id = self._word_ids.get(word)
        return 0 if word_id is None else self._word_counts[word_id]

    def is_common(self, word: str) -> bool:
        """Whether ``word`` is a common word of names here, as a dictionary word is.

        Common: held by at least `COMMON_WORD` records, and by one in 50,000 of a
        large index (where made-up brand words recur by chance). A name that
        differs from another by one common word for another ("Hill", "Mill") is
        another company, not a typing slip.
        """
        return self.word_count(word) >= max(COMMON_WORD, len(self) // 50_000)

    def _reserve(self, expected: int) -> None:
        """Size the counting filter for ``expected`` more records at once."""
        wanted = (len(self) + expected) * 8
        if wanted > self._plain_mask + 1:
            self._resize_filter(1 << max(wanted - 1, 1).bit_length())

    def _store(
        self,
        kind: int,
        record_id: str,
        *,
        partner_id: str | None,
        profile: Profile,
        registered: int,
        submitted: int,
    ) -> int:
        intern = sys.intern
        # Partner ids and countries repeat: one copy each. Products are already one
        # shared string per product list (`_products_key`).
        name, _, words, key, website, email, country, products = profile
        if email is not None and email == website:
            email = website
        values = (
            record_id,
            intern(partner_id) if partner_id is not None else None,
            name,
            key,
            website,
            email,
            intern(country),
            products,
        )
        plain_crc = zlib.crc32("".join(words).encode())
        if self._free:
            slot = self._free.pop()
            self._plain_crcs[slot] = plain_crc
            self._kinds[slot] = kind
            self._registered[slot] = registered
            self._submitted[slot] = submitted
            (
                self._ids[slot],
                self._partners[slot],
                self._names[slot],
                self._keys[slot],
                self._websites[slot],
                self._emails[slot],
                self._countries[slot],
                self._products[slot],
            ) = values
        else:
            slot = len(self._ids)
            self._plain_crcs.append(plain_crc)
            self._kinds.append(kind)
            self._registered.append(registered)
            self._submitted.append(submitted)
            self._ids.append(record_id)
            self._partners.append(values[1])
            self._names.append(name)
            self._keys.append(key)
            self._websites.append(website)
            self._emails.append(email)
            self._countries.append(values[6])
            self._products.append(products)
        by_key = self._by_key
        found = by_key.get(key)
        if found is None:
            by_key[key] = slot
        else:
            _post(by_key, key, slot)
        if website is not None:
            _post(self._domains, website, slot)
        if email is not None and email != website:
            _post(self._domains, email, slot)
        if len(words) > 1:
            if min(map(len, words)) <= _SHORT_WORD:
                for masked in _masked_keys(words):
                    _post(self._masked, masked, slot)
            distinct = set(words)
            if len(distinct) < len(words):
                words = tuple(distinct)
        learn = self._learn
        for word in words:
            learn(word, slot)
        if (len(self._ids) - len(self._free)) * 8 > self._plain_mask + 1:
            self._resize_filter((self._plain_mask + 1) * 2)
        position = plain_crc & self._plain_mask
        if self._plain_counts[position] < 255:
            self._plain_counts[position] += 1
        return slot

    def _count_plain(self, plain: str, step: int) -> None:
        position = zlib.crc32(plain.encode()) & self._plain_mask
        count = self._plain_counts[position]
        # A counter that reached 255 stays there: it may only ever say "maybe".
        if count < 255:
            self._plain_counts[position] = max(count + step, 0)

    def _resize_filter(self, size: int) -> None:
        """Make the counting filter ``size`` counters and count every held name in it."""
        counts = bytearray(size)
        mask = size - 1
        crcs: Iterable[int] = self._plain_crcs
        if self._free:
            # A free slot's kind is `_FREE` (0): only live slots are counted.
            crcs = compress(crcs, self._kinds)
        # One C-level tally of the counters, then each counter set once (a counter
        # stops at 255, as one counted up name by name does).
        for position, count in Counter(map(operator.and_, crcs, repeat(mask))).items():
            counts[position] = min(count, 255)
        self._plain_counts = counts
        self._plain_mask = mask

    def _release(self, slot: int) -> None:
        _unpost(self._by_key, self._keys[slot], slot)
        website, email = self._websites[slot], self._emails[slot]
        if website is not None:
            _unpost(self._domains, website, slot)
        if email is not None and email != website:
            _unpost(self._domains, email, slot)
        words = match_words(self._names[slot])
        for masked in _masked_keys(words):
            _unpost(self._masked, masked, slot)
        for word in set(words):
            self._forget(word, slot)
        self._count_plain("".join(words), -1)
        self._notes.pop(slot, None)
        self._kinds[slot] = _FREE
        self._ids[slot] = None
        self._partners[slot] = None
        self._names[slot] = ""
        self._keys[slot] = ""
        self._websites[slot] = None
        self._emails[slot] = None
        self._countries[slot] = ""
        self._products[slot] = ""
        self._free.append(slot)

    def _learn(self, word: str, slot: int) -> None:
        word_id = self._word_ids.get(word)
        if word_id is not None:
            count = self._word_counts[word_id] + 1
            self._word_counts[word_id] = count
            if count == DISTINCTIVE_BELOW and len(word) >= _TWO_SLIP_WORD:
                self._file_common(word, add=True)
            posting = self._word_slots[word_id]
            if posting is None:
                return
            if count > _KEEP_POSTINGS:
                self._word_slots[word_id] = None
            elif isinstance(posting, int):
                self._word_slots[word_id] = [posting, slot]
            else:
                posting.append(slot)
            return
        if self._free_words:
            word_id = self._free_words.pop()
            self._words[word_id] = word
            self._word_counts[word_id] = 1
            self._word_slots[word_id] = slot
        else:
            word_id = len(self._words)
            if word_id >= MAX_WORDS:
                msg = f"a ConflictIndex holds at most {MAX_WORDS:,} distinct words"
                raise OverflowError(msg)
            self._words.append(word)
            self._word_counts.append(1)
            self._word_slots.append(slot)
        self._word_ids[word] = word_id
        if len(word) >= MIN_FUZZY_WORD:
            self._deletions.add(word_id, word)
        if self._near_cache:
            self._near_cache.clear()

    def _forget(self, word: str, slot: int) -> None:
        word_id = self._word_ids.get(word)
        if word_id is None:
            return
        count = self._word_counts[word_id] - 1
        if count == DISTINCTIVE_BELOW - 1 and len(word) >= _TWO_SLIP_WORD:
            self._file_common(word, add=False)
        if count:
            self._word_counts[word_id] = count
            posting = self._word_slots[word_id]
            if isinstance(posting, list):
                posting.remove(slot)
                if len(posting) == 1:
                    self._word_slots[word_id] = posting[0]
            elif posting is None and count < DISTINCTIVE_BELOW:
                self._word_slots[word_id] = self._holders(word, slot)
            return
        del self._word_ids[word]
        self._words[word_id] = None
        self._word_counts[word_id] = 0
        self._word_slots[word_id] = None
        if len(word) >= MIN_FUZZY_WORD:
            self._deletions.discard(word_id, word)
        self._free_words.append(word_id)
        if self._near_cache:
            self._near_cache.clear()

    def _file_common(self, word: str, *, add: bool) -> None:
        """File (or unfile) a word that became common under every string two deletions away."""
        table = self._common_near
        heads = self._common_heads
        for key in _two_deletions(word):
            if add:
                filed = table.get(key)
                if filed is None:
                    table[key] = [word]
                    for end in _ends(key):
                        heads[end] = heads.get(end, 0) + 1
                else:
                    filed.append(word)
            else:
                filed = table.get(key)
                if filed is not None:
                    filed.remove(word)
                    if not filed:
                        del table[key]
                        for end in _ends(key):
                            heads[end] -= 1
                            if not heads[end]:
                                del heads[end]
        if self._near_cache:
            self._near_cache.clear()

    def _common_neighbours(self, word: str) -> list[str]:
        """Common words two slips or fewer from ``word`` (of five letters or more)."""
        size = len(word)
        if size < _TWO_SLIP_WORD:
            return []
        table = self._common_near
        # Two letters out, both after the first `_END`, leave those in front; both
        # before the last `_END`, those at the end. Where no key filed is of that
        # length and begins (or ends) so, only the other pairs of positions can make
        # a key filed: a long word makes a third of its keys or fewer.
        shorter = size - 2
        heads = self._common_heads
        after_head = (shorter, "^" + word[:_END]) in heads
        before_tail = (shorter, word[-_END:] + "$") in heads
        keys = {word, *_deletions(word)}
        keys.update(
            [
                word[:first] + word[first + 1 : second] + word[second + 1 :]
                for first in range(size if after_head else min(_END, size))
                for second in range(first + 1 if before_tail else max(first + 1, size - _END), size)
            ]
        )
        found: set[str] = set()
        # Most of the keys are filed nowhere: a C-level intersection says which are.
        for key in table.keys() & keys:
            found.update(table[key])
        found.discard(word)
        return sorted(found)

    def _holders(self, word: str, leaving: int) -> Posting | None:
        """The slots whose names hold ``word`` (but ``leaving``), found by a scan.

        Only when a word that was too common to keep postings for becomes rare
        again, which takes many removals.
        """
        slots = [
            slot
            for slot, kind in enumerate(self._kinds)
            if kind != _FREE and slot != leaving and word in match_words(self._names[slot])
        ]
        if not slots:
            return None
        return slots[0] if len(slots) == 1 else slots

    # --- look-ups for find_conflicts -------------------------------------------------

    def neighbours(self, word: str) -> tuple[str, ...]:
        """The known words one slip from ``word`` (sharing a deletion), at most ``variant_cap``.

        Words of any length are looked for, but only words of four letters or more
        are filed under their deletions, so shorter ones are found only when they
        are a deletion of ``word`` itself. Past the cap, the alphabetically first
        are kept: such words are short and common, and the cap bounds a check.
        """
        cache = self._near_cache
        found = cache.get(word)
        if found is not None:
            return found
        size = len(word)
        # Words filed under ``word`` (one letter longer) and under each of its
        # deletions (as long, a letter changed or two swapped), and the deletions
        # that are words themselves (one letter shorter).
        if size > 1:
            # A doubled letter gives one deletion twice: look it up once.
            shorter = {word[:index] + word[index + 1 :] for index in range(size)}
            near: set[str | None] = self._word_ids.keys() & shorter  # type: ignore[assignment]
            keys = [word, *shorter] if size > MIN_FUZZY_WORD - 1 else [word]
        else:
            near = set()
            keys = []
        if size >= MIN_FUZZY_WORD - 1:
            ids = self._deletions.lookup_all(keys)
            if ids:
                near.update(map(self._words.__getitem__, ids))
        near.discard(word)
        near.discard(None)
        # Sorted, so what a check and the `candidates` routes list read in turn is the
        # same under every hash seed.
        result = tuple(sorted(near)[: self._variant_cap])  # type: ignore[type-var]
        if len(cache) >= 1 << 16:
            cache.clear()
        cache[word] = result  # type: ignore[assignment]
        return result  # type: ignore[return-value]

    def candidates(self, profile: Profile) -> list[Candidate]:
        """The records a check of ``profile`` would score, each with the look-ups that found it.

        A diagnostic: when `find_conflicts` misses a record you expected, see
        whether blocking offered it (and then compare the two `profile` values) or
        whether it was offered and the evidence fell short.
        """
        trace: _Trace = {}
        slots = self._candidate_slots(profile, trace)
        found = [
            Candidate(
                self._ids[slot],  # type: ignore[arg-type]
                _PARTY_OF_KIND[self._kinds[slot]],
                self._names[slot],
                tuple(dict.fromkeys(trace.get(slot, ()))),
            )
            for slot in slots
        ]
        return sorted(found, key=lambda candidate: candidate.id)

    def _candidate_slots(self, profile: Profile, trace: _Trace | None = None) -> set[int]:
        """Slots sharing a domain, a name key, a distinctive word or a masked key, or a slip away.

        See the module docstring for the look-ups, in this order: exact keys, the
        records of every distinctive word of the name, masked keys for short
        words; then corrections of the words that are not common (a correction to
        a distinctive word offers that word's records, one to a common word looks
        up the name with it); and only when that found no distinctive word at all
        (a name of common words, "Hill & Smith Consulting"), corrections of the
        common words, singly and in pairs.
        """
        found: set[int] = set()

        def offer(slots: Iterable[int], route: str, *details: str) -> None:
            # The route is worded only for the `candidates` diagnostic.
            found.update(slots)
            if trace is not None:
                text = route.format(*details)
                for slot in slots:
                    trace.setdefault(slot, []).append(text)

        offer(_posted(self._by_key, profile.key), "name key")
        if profile.website is not None:
            offer(_posted(self._domains, profile.website), "website")
        if profile.email is not None and profile.email != profile.website:
            offer(_posted(self._domains, profile.email), "contact email domain")
        words = profile.words
        if not words:
            return found
        word_ids = self._word_ids
        counts = self._word_counts
        common: list[int] = []
        distinctive = False
        for index, word in enumerate(words):
            word_id = word_ids.get(word)
            if word_id is None:
                continue
            if counts[word_id] < DISTINCTIVE_BELOW:
                distinctive = True
                self._offer_word(word_id, offer, word)
            else:
                common.append(index)
        if len(words) > 1:
            for masked in _masked_keys(words):
                offer(_posted(self._masked, masked), "short word masked")
            for index, word in enumerate(words):
                if len(word) == MIN_FUZZY_WORD:
                    # An extra letter in a short word: "ABC Foods" for "AB Foods".
                    masked = "".join(words[:index]) + _MASK + "".join(words[index + 1 :])
                    offer(_posted(self._masked, masked), "short word masked")
        rare = [index for index in range(len(words)) if index not in common]
        options = self._corrections(words, rare)
        if self._try(words, options, offer) or (distinctive and len(words) > 1):
            # Found by a corrected word, or the distinctive words' records hold every
            # name that differs in the common ones.
            return found
        unknown = [index for index, word in enumerate(words) if word not in word_ids]
        long_name = sum(len(word) for word in words) >= _TWO_SLIPS_FROM
        if not unknown:
            # Every word is known: a slip in the customer's name or in a stored one
            # made one known word of another.
            self._try(words, self._corrections(words, common), offer)
            return found
        if long_name:
            # A word no record holds: two slips, one in it and one in another word
            # (only a correction of it can make a stored name), or both in it.
            more = self._corrections(words, common) if common else []
            self._two_corrections(words, options + more, set(unknown), offer)
            twice: list[_Option] = [
                (index, index + 1, self._common_neighbours(words[index])) for index in unknown
            ]
            self._try(words, twice, offer)
        return found

    def _offer_word(self, word_id: int, offer: _Offer, word: str) -> None:
        posting = self._word_slots[word_id]
        if posting is not None:
            offer((posting,) if isinstance(posting, int) else posting, "word {!r}", word)

    def _corrections(self, words: tuple[str, ...], positions: list[int]) -> list[_Option]:
        """The names one corrected word away from ``words`` at ``positions``.

        Returns:
            Replacements: (first word replaced, word after the last, the texts).
        """
        neighbours = self.neighbours
        word_ids = self._word_ids
        options: list[_Option] = []
        size = len(words)
        for index in positions:
            word = words[index]
            found = neighbours(word)
            if found:
                options.append((index, index + 1, found))
            if index + 1 < size:
                # Run together with the next word ("Ridgeway Capitl" for "Ridgewaycapital").
                fused = self._joined_neighbours(word + words[index + 1])
                if fused:
                    options.append((index, index + 2, fused))
            if not found and len(word) >= _SPLIT_FROM and word not in word_ids:
                # Two words run together, one of them misspelt ("Ridgewaycapitl").
                for cut in range(2, len(word) - 1):
                    left, right = word[:cut], word[cut:]
                    if left in word_ids:
                        fixed = neighbours(right)
                        if fixed:
                            options.append((index, index + 1, [left + near for near in fixed]))
                    if right in word_ids:
                        fixed = neighbours(left)
                        if fixed:
                            options.append((index, index + 1, [near + right for near in fixed]))
        return options

    def _try(
        self,
        words: tuple[str, ...],
        options: list[_Option],
        offer: _Offer,
    ) -> bool:
        """Look up the names ``options`` make; return whether any is held."""
        plain_counts = self._plain_counts
        mask = self._plain_mask
        by_key = self._by_key
        hit_any = False
        for start, end, texts in options:
            head, tail = "".join(words[:start]), "".join(words[end:])
            # The counting filter turns most down; C-level maps ask it about all. The
            # CRC of a name runs on from its head's through the text's and the
            # tail's bytes, so only the names the filter lets through are joined.
            crcs = map(zlib.crc32, map(str.encode, texts), repeat(zlib.crc32(head.encode())))
            if tail:
                crcs = map(zlib.crc32, repeat(tail.encode()), crcs)
            counted = map(plain_counts.__getitem__, map(operator.and_, crcs, repeat(mask)))
            for text in compress(texts, counted):
                hit = by_key.get(skeleton(head + text + tail))
                if hit is not None:
                    hit_any = True
                    slots = (hit,) if isinstance(hit, int) else hit
                    offer(slots, "corrected {!r} to {!r}", " ".join(words[start:end]), text)
        return hit_any

    def _two_corrections(
        self,
        words: tuple[str, ...],
        options: list[_Option],
        unknown: set[int],
        offer: _Offer,
    ) -> None:
        """Offer the names with two of ``words`` corrected (one an ``unknown`` one)."""
        plain_counts = self._plain_counts
        mask = self._plain_mask
        by_key = self._by_key
        by_position: dict[int, list[str]] = {}
        for start, end, texts in options:
            if end == start + 1:
                by_position.setdefault(start, []).extend(texts)
        # Short common words have hundreds of neighbours in a large index: pair only
        # the most used ones (the likeliest meant), which bounds a check's work.
        count = self.word_count
        for texts in by_position.values():
            if len(texts) > _PAIRED_PER_WORD:
                texts.sort(key=lambda text: (-count(text), text))
                del texts[_PAIRED_PER_WORD:]
        positions = sorted(by_position)
        for first, start in enumerate(positions):
            for other in positions[first + 1 :]:
                if start not in unknown and other not in unknown:
                    continue
                head = "".join(words[:start])
                middle = "".join(words[start + 1 : other])
                tail = "".join(words[other + 1 :])
                for text in by_position[start]:
                    for other_text in by_position[other]:
                        plain = head + text + middle + other_text + tail
                        if not plain_counts[zlib.crc32(plain.encode()) & mask]:
                            continue
                        hit = by_key.get(skeleton(plain))
                        if hit is not None:
                            offer(
                                (hit,) if isinstance(hit, int) else hit,
                                "corrected {!r} to {!r} and {!r} to {!r}",
                                words[start],
                                text,
                                words[other],
                                other_text,
                            )

    def _joined_neighbours(self, joined: str) -> list[str]:
        """Known words equal to ``joined``, or one letter longer (a letter left out)."""
        found: set[str | None] = set(map(self._words.__getitem__, self._deletions.lookup(joined)))
        if joined in self._word_ids:
            found.add(joined)
        found.discard(None)
        return sorted(found)  # type: ignore[arg-type]

    def could_match(self, slot: int, profile: Profile) -> bool:
        """Whether ``slot`` shares a domain with ``profile`` or has a name of a similar length.

        A quick test before weighing the evidence: names whose folded keys and
        whose normalised names both differ in length by more than four letters
        cannot be two slips apart.
        """
        if (
            abs(len(self._keys[slot]) - len(profile.key)) <= _LENGTH_SLACK
            or abs(len(self._names[slot]) - len(profile.name)) <= _LENGTH_SLACK
        ):
            return True
        domains = {self._websites[slot], self._emails[slot]} - {None}
        return profile.website in domains or profile.email in domains

    def slot_of(self, registration_id: str) -> int | None:
        """The slot holding a registration, if it is held."""
        return self._registrations.get(registration_id)

    def stored_profile(self, slot: int) -> Profile:
        """The profile kept for ``slot``; its words are left empty (`match_words` of the name)."""
        name = self._names[slot]
        return Profile(
            name,
            name.replace(" ", "").replace("&", "") if " " in name else name,
            (),
            self._keys[slot],
            self._websites[slot],
            self._emails[slot],
            self._countries[slot],
            self._products[slot],
        )

    def party(self, slot: int) -> StoredParty:
        """Who ``slot`` holds."""
        record_id = self._ids[slot]
        assert record_id is not None  # noqa: S101 - only live slots are asked for
        return StoredParty(
            _PARTY_OF_KIND[self._kinds[slot]],
            record_id,
            self._partners[slot],
            _instant(self._registered[slot]),
            _instant(self._submitted[slot]),
            self._notes.get(slot, ""),
        )
