"""The conflict index: active registrations and house accounts, blocked on normalised keys.

A check never scans the population. It looks up a handful of exact keys and scores
only what they return:

1. the customer's registrable website domain and contact-email domain;
2. its match key (`match_key`: the name's words folded for spelling and script
   variants and joined without spaces), which is equal for legal-form,
   punctuation, spacing and transliteration variants;
3. for typing slips: every key that differs from the customer's in one word by one
   edit. The words come from the index's own vocabulary, found through a
   symmetric-deletion table (each distinct word is filed under itself and every
   string one deletion away), so "Zentirx Technologies" looks up the key of
   "zentrix technologies" without comparing against anything else. A counting
   filter of the names' plain spellings skips corrections that name no registered
   customer, so this route finds slips in names spelt as registered; a slip in a
   name that is also transliterated differently ("Müller Sohnr" against
   "Mueller Sohne") is only found if another key matches.

Memory is kept under 1 KB per registration by storing columns rather than objects,
sharing (interning) repeated strings such as partner ids, countries, domains and
product lists, keeping single-entry postings as a bare slot number, and packing the
deletion table into one sorted array of 64-bit integers (`_SlipTable`).
"""

from __future__ import annotations

import sys
from array import array
from bisect import bisect_left
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final, NamedTuple, Protocol, runtime_checkable

from partnerkit.deals._domains import SHARED_EMAIL_DOMAINS, registrable_domain
from partnerkit.deals._fuzzy import deletions
from partnerkit.deals._model import (
    Customer,
    DealRegistration,
    DealStatus,
    PartyKind,
)
from partnerkit.deals._names import (
    match_key,
    match_words,
    normalize_company_name,
    skeleton,
)
from partnerkit.errors import ValidationError

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

__all__ = ["ConflictIndex", "HouseAccount", "Profile"]

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO: Final = timedelta(microseconds=1)
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
#: Words shorter than this are not corrected: one slip in "abc" is another word.
MIN_FUZZY_WORD: Final = 3
_PRODUCT_SEPARATOR: Final = "\x1f"

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
    """A customer reduced to what conflict detection compares."""

    name: str
    """The normalised name (`normalize_company_name`)."""
    compact: str
    """The normalised name without spaces and "&": equal means an exact name match."""
    words: tuple[str, ...]
    """The words slips are corrected in (`match_words`)."""
    key: str
    """The words folded and joined (`match_key`): the blocking key."""
    website: str | None
    """The registrable domain of the website."""
    email: str | None
    """The registrable domain of the contact email, unless a free-mail provider."""
    country: str
    products: str
    """Case-folded product names joined by a separator, sorted; "" for none."""

    @property
    def product_set(self) -> frozenset[str]:
        """The case-folded product names."""
        return frozenset(self.products.split(_PRODUCT_SEPARATOR)) if self.products else frozenset()


def _safe_domain(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return registrable_domain(value)
    except ValidationError:
        return None


def make_profile(
    customer: Customer, products: Iterable[str], shared_email_domains: frozenset[str]
) -> Profile:
    """Reduce ``customer`` (and the products on the deal) to a `Profile`."""
    name = normalize_company_name(customer.name)
    words = match_words(name)
    website = _safe_domain(customer.domain)
    email = _safe_domain(customer.contact_email)
    if email in shared_email_domains:
        email = None
    folded = sorted({product.casefold() for product in products})
    return Profile(
        name=name,
        compact=name.replace(" ", "").replace("&", ""),
        words=words,
        key=match_key(words),
        website=website,
        email=email,
        country=customer.country,
        products=_PRODUCT_SEPARATOR.join(folded),
    )


def _micros(moment: datetime | None) -> int:
    return _NO_TIME if moment is None else (moment - _EPOCH) // _MICRO


def _instant(micros: int) -> datetime | None:
    return None if micros == _NO_TIME else _EPOCH + micros * _MICRO


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


def _posted(table: dict[str, Posting], key: str) -> Iterable[int]:
    found = table.get(key)
    if found is None:
        return ()
    if isinstance(found, int):
        return (found,)
    return found


_HASH_BITS: Final = 40
_ID_BITS: Final = 24
_HASH_MASK: Final = (1 << _HASH_BITS) - 1
_ID_MASK: Final = (1 << _ID_BITS) - 1
#: The most distinct words an index can hold (word ids are 24 bits).
MAX_WORDS: Final = 1 << _ID_BITS
_BUCKET_BITS: Final = 16
_BUCKETS: Final = 1 << _BUCKET_BITS
_BUCKET_SHIFT: Final = _HASH_BITS - _BUCKET_BITS
_MIN_FILTER: Final = 1 << 12
_NEAR_CACHE_SIZE: Final = 1 << 16


class _SlipTable:
    """The symmetric-deletion table of the vocabulary, packed for memory and speed.

    Each entry is one integer, ``hash(deletion key) << 24 | word id``, kept in a
    sorted ``array("Q")`` (8 bytes an entry, against about 100 for a dict entry with
    its key string). New entries wait in a small dict and are merged in batches;
    entries of words that left the vocabulary stay until the next merge and are
    skipped by the caller, which checks the word is still known. A bitmap with
    about eight bits an entry answers most lookups of keys that are not there
    without a binary search. A 40-bit hash can collide: that only adds a candidate
    word, which scoring then turns down.
    """

    __slots__ = (
        "_bit_mask",
        "_bits",
        "_directory",
        "_main",
        "_recent",
        "_recent_count",
        "_stale",
    )

    def __init__(self) -> None:
        self._main = array("Q")
        self._recent: dict[int, list[int]] = {}
        self._recent_count = 0
        self._stale = 0
        self._bits = bytearray(1 << 13)
        self._bit_mask = (1 << 16) - 1
        # Where each of the 65,536 top-16-bit hash prefixes starts in the array, so a
        # lookup binary-searches a hundred entries rather than millions.
        self._directory = array("I", bytes(4 * (_BUCKETS + 1)))

    def __len__(self) -> int:
        return len(self._main) + self._recent_count - self._stale

    def _mark(self, hashed: int) -> None:
        bit = hashed & self._bit_mask
        self._bits[bit >> 3] |= 1 << (bit & 7)

    def add(self, word_id: int, word: str) -> None:
        recent = self._recent
        for key in set(deletions(word)):
            hashed = hash(key) & _HASH_MASK
            recent.setdefault(hashed, []).append(word_id)
            self._mark(hashed)
            self._recent_count += 1

    def discard(self, word_id: int, word: str) -> None:
        """Forget a word's entries (at once in the buffer, at the next merge in the array)."""
        recent = self._recent
        for key in set(deletions(word)):
            hashed = hash(key) & _HASH_MASK
            waiting = recent.get(hashed)
            if waiting is not None and word_id in waiting:
                waiting.remove(word_id)
                self._recent_count -= 1
                if not waiting:
                    del recent[hashed]
            else:
                self._stale += 1

    def lookup(self, key: str) -> list[int]:
        """The ids of words filed under ``key`` (some may have left the vocabulary)."""
        hashed = hash(key) & _HASH_MASK
        bit = hashed & self._bit_mask
        if not self._bits[bit >> 3] & (1 << (bit & 7)):
            return []
        main = self._main
        bucket = hashed >> _BUCKET_SHIFT
        directory = self._directory
        size = directory[bucket + 1]
        first = hashed << _ID_BITS
        low = bisect_left(main, first, directory[bucket], size)
        found: list[int] = []
        # Entries of one key are adjacent and differ only in their low 24 bits.
        limit = first | _ID_MASK
        while low < size and main[low] <= limit:
            found.append(main[low] & _ID_MASK)
            low += 1
        waiting = self._recent.get(hashed)
        if waiting:
            found += waiting
        return found

    def due(self) -> bool:
        """Whether enough has changed to merge the buffer and drop stale entries."""
        limit = max(1 << 14, len(self._main) >> 3)
        return self._recent_count > limit or self._stale > limit

    def merge(self, known: list[str | None]) -> None:
        """Sort the buffer into the array, dropping entries of words no longer ``known``."""
        main = self._main
        had_stale = self._stale > 0
        if had_stale:
            kept: Iterable[int] = (entry for entry in main if known[entry & _ID_MASK] is not None)
        else:
            kept = main
        fresh = [
            hashed << _ID_BITS | word_id for hashed, ids in self._recent.items() for word_id in ids
        ]
        # The array is one sorted run, so sorting it with the buffer is a merge.
        self._main = array("Q", sorted([*kept, *fresh]))
        self._recent = {}
        self._recent_count = 0
        self._stale = 0
        merged = self._main
        self._directory = array(
            "I",
            (
                bisect_left(merged, bucket << (_BUCKET_SHIFT + _ID_BITS))
                for bucket in range(_BUCKETS + 1)
            ),
        )
        # Keep about eight bits an entry, so few absent keys look present.
        wanted = max(1 << 16, 1 << (len(self._main) * 8).bit_length())
        # Rebuild when the array outgrew the bitmap, or to clear the bits of dropped words.
        if wanted > self._bit_mask + 1 or had_stale:
            self._bits = bytearray(wanted >> 3)
            self._bit_mask = wanted - 1
            for entry in self._main:
                self._mark(entry >> _ID_BITS)


class StoredParty(NamedTuple):
    """Who a slot holds: what a policy needs to rank and explain it."""

    kind: PartyKind
    id: str
    partner_id: str | None
    registered_at: datetime | None
    submitted_at: datetime | None
    note: str


class ConflictIndex:
    """The active registrations and house accounts that new registrations are checked against.

    Keep it in step with storage: `sync` a registration after every change (it is
    held while submitted or approved and dropped otherwise), and add or remove the
    vendor's direct opportunities and existing customers as they change. The index
    is not thread-safe: guard it with a lock if several threads update it.

    Args:
        shared_email_domains: Email domains that say nothing about the customer
            (free-mail providers); `SHARED_EMAIL_DOMAINS` by default.
        variant_cap: Deletion keys shared by more words than this are skipped
            when correcting slips: such keys come from short, common words, where
            a guess would be noise.
    """

    __slots__ = (
        "_accounts",
        "_by_key",
        "_countries",
        "_dead_words",
        "_domains",
        "_emails",
        "_free",
        "_free_words",
        "_ids",
        "_keys",
        "_kinds",
        "_names",
        "_near_cache",
        "_notes",
        "_partners",
        "_plain_counts",
        "_plain_mask",
        "_products",
        "_registered",
        "_registrations",
        "_shared",
        "_slips",
        "_submitted",
        "_variant_cap",
        "_websites",
        "_word_counts",
        "_word_ids",
        "_word_neighbours",
        "_words",
    )

    def __init__(
        self,
        *,
        shared_email_domains: Iterable[str] = SHARED_EMAIL_DOMAINS,
        variant_cap: int = 48,
    ) -> None:
        self._shared = frozenset(shared_email_domains)
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
        # A counting filter of the names' plain words joined ("zentrixtechnologies"),
        # one byte a counter, about eight counters a name: a slip correction whose
        # corrected name is not counted here needs no folding and no key look-up.
        self._plain_counts = bytearray(_MIN_FILTER)
        self._plain_mask = _MIN_FILTER - 1
        self._domains: dict[str, Posting] = {}
        # The vocabulary: word -> id, id -> word and how many slots use it.
        self._word_ids: dict[str, int] = {}
        self._words: list[str | None] = []
        self._word_counts = array("I")
        # How many other known words share a deletion key with each word: a word
        # with none needs no look-ups when a name being checked contains it.
        self._word_neighbours = array("I")
        # The neighbours of known words asked about recently. Exact: adding or
        # dropping a word forgets the entries of every word one slip from it (the
        # only words whose neighbours, or whose deletion keys' sizes, it changes).
        self._near_cache: dict[int, tuple[int, ...]] = {}
        self._free_words: list[int] = []
        self._dead_words: list[int] = []
        self._slips = _SlipTable()

    # --- keeping it in step ---------------------------------------------------------

    def profile(self, customer: Customer, products: Iterable[str] = ()) -> Profile:
        """The `Profile` this index compares for ``customer``."""
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
        kind = _APPROVED if registration.status is DealStatus.APPROVED else _SUBMITTED
        slot = self._store(
            kind,
            registration.id,
            partner_id=registration.partner_id,
            profile=self.profile(registration.customer, registration.products),
            registered=_micros(registration.registered_at),
            submitted=_micros(registration.submitted_at),
        )
        self._registrations[registration.id] = slot

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
            "domains": len(self._domains),
            "words": len(self._word_ids),
            "deletion_keys": len(self._slips),
            "notes": len(self._notes),
        }

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
        values = (
            record_id,
            intern(partner_id) if partner_id is not None else None,
            profile.name,
            intern(profile.key),
            intern(profile.website) if profile.website else None,
            intern(profile.email) if profile.email else None,
            intern(profile.country),
            intern(profile.products),
        )
        if self._free:
            slot = self._free.pop()
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
            self._kinds.append(kind)
            self._registered.append(registered)
            self._submitted.append(submitted)
            self._ids.append(values[0])
            self._partners.append(values[1])
            self._names.append(values[2])
            self._keys.append(values[3])
            self._websites.append(values[4])
            self._emails.append(values[5])
            self._countries.append(values[6])
            self._products.append(values[7])
        _post(self._by_key, values[3], slot)
        for domain in {values[4], values[5]} - {None}:
            _post(self._domains, domain, slot)  # type: ignore[arg-type]
        for word in set(profile.words):
            self._learn(word)
        self._count_plain("".join(profile.words), 1)
        if len(self._registrations) + len(self._accounts) + 1 > (self._plain_mask + 1) >> 3:
            self._grow_filter()
        return slot

    def _count_plain(self, plain: str, step: int) -> None:
        position = hash(plain) & self._plain_mask
        count = self._plain_counts[position]
        # A counter that reached 255 stays there: it may only ever say "maybe".
        if count < 255:
            self._plain_counts[position] = max(count + step, 0)

    def _grow_filter(self) -> None:
        size = (self._plain_mask + 1) * 2
        self._plain_counts = bytearray(size)
        self._plain_mask = size - 1
        for slot, kind in enumerate(self._kinds):
            if kind != _FREE:
                self._count_plain("".join(match_words(self._names[slot])), 1)

    def _release(self, slot: int) -> None:
        _unpost(self._by_key, self._keys[slot], slot)
        for domain in {self._websites[slot], self._emails[slot]} - {None}:
            _unpost(self._domains, domain, slot)  # type: ignore[arg-type]
        words = match_words(self._names[slot])
        for word in set(words):
            self._forget(word)
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

    def _near_words(self, word: str, word_id: int) -> set[int]:
        """Ids of the other known words sharing a deletion key with ``word``."""
        known = self._words
        near: set[int] = set()
        for key in deletions(word):
            near.update(self._slips.lookup(key))
        near.discard(word_id)
        return {other for other in near if known[other] is not None}

    def _learn(self, word: str) -> None:
        word_id = self._word_ids.get(word)
        if word_id is not None:
            self._word_counts[word_id] += 1
            return
        if self._free_words:
            word_id = self._free_words.pop()
            self._words[word_id] = word
            self._word_counts[word_id] = 1
            self._word_neighbours[word_id] = 0
        else:
            word_id = len(self._words)
            if word_id >= MAX_WORDS:
                msg = f"a ConflictIndex holds at most {MAX_WORDS:,} distinct words"
                raise OverflowError(msg)
            self._words.append(word)
            self._word_counts.append(1)
            self._word_neighbours.append(0)
        self._word_ids[word] = word_id
        if len(word) >= MIN_FUZZY_WORD:
            self._slips.add(word_id, word)
            near = self._near_words(word, word_id)
            for other in near:
                self._word_neighbours[other] += 1
                self._near_cache.pop(other, None)
            self._word_neighbours[word_id] = len(near)
            self._merge_if_due()

    def _forget(self, word: str) -> None:
        word_id = self._word_ids.get(word)
        if word_id is None:
            return
        if self._word_counts[word_id] > 1:
            self._word_counts[word_id] -= 1
            return
        self._near_cache.pop(word_id, None)
        if len(word) >= MIN_FUZZY_WORD:
            for other in self._near_words(word, word_id):
                self._word_neighbours[other] -= 1
                self._near_cache.pop(other, None)
        del self._word_ids[word]
        self._words[word_id] = None
        self._word_counts[word_id] = 0
        self._word_neighbours[word_id] = 0
        if len(word) >= MIN_FUZZY_WORD:
            self._slips.discard(word_id, word)
            # The id may hold stale entries in the array until the next merge.
            self._dead_words.append(word_id)
            self._merge_if_due()
        else:
            self._free_words.append(word_id)

    def _merge_if_due(self) -> None:
        if self._slips.due():
            self._slips.merge(self._words)
            self._free_words += self._dead_words
            self._dead_words = []

    # --- lookups for find_conflicts ---------------------------------------------------

    def candidates(self, profile: Profile) -> set[int]:
        """Slots that share a domain or a name key with ``profile``, or one slip from one."""
        found: set[int] = set()
        found.update(_posted(self._by_key, profile.key))
        for domain in (profile.website, profile.email):
            if domain is not None:
                found.update(_posted(self._domains, domain))
        words = profile.words
        by_key = self._by_key
        counts = self._plain_counts
        mask = self._plain_mask
        known = self._words
        word_ids = self._word_ids
        neighbours = self._word_neighbours
        cache = self._near_cache
        for position, word in enumerate(words):
            if len(word) < MIN_FUZZY_WORD:
                continue
            known_id = word_ids.get(word)
            if known_id is None:
                near = self._slip_neighbours(word, None)
            elif not neighbours[known_id]:
                continue  # a known word no other known word is one slip from
            else:
                cached = cache.get(known_id)
                if cached is None:
                    if len(cache) >= _NEAR_CACHE_SIZE:
                        cache.clear()
                    cached = cache[known_id] = self._slip_neighbours(word, known_id)
                near = cached
            prefix = "".join(words[:position])
            suffix = "".join(words[position + 1 :])
            for word_id in near:
                plain = prefix + known[word_id] + suffix  # type: ignore[operator]
                if not counts[hash(plain) & mask]:
                    continue
                hit = by_key.get(skeleton(plain))
                if hit is not None:
                    if isinstance(hit, int):
                        found.add(hit)
                    else:
                        found.update(hit)
        return found

    def _slip_neighbours(self, word: str, word_id: int | None) -> tuple[int, ...]:
        """Ids of the known words one slip from ``word``, through deletion keys under the cap."""
        known = self._words
        cap = self._variant_cap
        slips = self._slips
        seen: dict[int, None] = {}
        for key in deletions(word):
            found = slips.lookup(key)
            if not found:
                continue
            # Count only live words against the cap, so the answer depends on the
            # vocabulary alone and not on when the packed table was last merged.
            near = [other for other in found if known[other] is not None]
            if len(near) > cap:
                continue
            for other in near:
                if other != word_id and known[other] != word:
                    seen[other] = None
        return tuple(seen)

    def slot_of(self, registration_id: str) -> int | None:
        """The slot holding a registration, if it is held."""
        return self._registrations.get(registration_id)

    def stored_profile(self, slot: int) -> Profile:
        """The profile kept for ``slot`` (words are not kept and come back empty)."""
        name = self._names[slot]
        return Profile(
            name=name,
            compact=name.replace(" ", "").replace("&", ""),
            words=(),
            key=self._keys[slot],
            website=self._websites[slot],
            email=self._emails[slot],
            country=self._countries[slot],
            products=self._products[slot],
        )

    def party(self, slot: int) -> StoredParty:
        """Who ``slot`` holds."""
        kind = self._kinds[slot]
        record_id = self._ids[slot]
        assert record_id is not None  # noqa: S101 - only live slots are asked for
        if kind in (_SUBMITTED, _APPROVED):
            party_kind = PartyKind.REGISTRATION
        elif kind == _DIRECT:
            party_kind = PartyKind.DIRECT_OPPORTUNITY
        else:
            party_kind = PartyKind.EXISTING_CUSTOMER
        return StoredParty(
            party_kind,
            record_id,
            self._partners[slot],
            _instant(self._registered[slot]),
            _instant(self._submitted[slot]),
            self._notes.get(slot, ""),
        )
