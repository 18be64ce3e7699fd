"""The deletion table of a `ConflictIndex`: words filed under every string one deletion away.

A word one slip from a registered word shares a one-deletion string with it; the
table answers "which words share this string" from packed arrays, the same in
every process.
"""

from __future__ import annotations

import operator
import re
import zlib
from array import array
from bisect import bisect_left, bisect_right, insort
from collections import deque
from itertools import compress, repeat
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

__all__ = ["MAX_WORDS"]


def _deletions(word: str) -> list[str]:
    """Every string one deletion away from ``word``."""
    return [word[:index] + word[index + 1 :] for index in range(len(word))]


def _two_deletions(word: str) -> set[str]:
    """``word`` and every string one or two deletions away from it."""
    size = len(word)
    found = {word, *_deletions(word)}
    # Two letters out at once (each pair of positions once, not each order).
    found.update(
        [
            word[:first] + word[first + 1 : second] + word[second + 1 :]
            for first in range(size)
            for second in range(first + 1, size)
        ]
    )
    return found


_ID_BITS: Final = 24
_ID_MASK: Final = (1 << _ID_BITS) - 1
_BUCKETS: Final = 1 << 16
# An entry's bucket is the top 16 bits of its CRC: entry >> _BUCKET_SHIFT.
_BUCKET_SHIFT: Final = 32 + _ID_BITS - 16
_SHIFTS: Final = repeat(_ID_BITS)
# A letter written twice in a row: deleting either gives the same string.
_DOUBLED: Final = re.compile(r"(.)\1")
# Filing an entry by `insort` costs about four times as much per entry as rebuilding
# its bucket in a merge does; a settle inserts when the bucket is that much larger.
_INSERT_BELOW: Final = 4
#: The most distinct words an index can hold (word ids are 24 bits).
MAX_WORDS: Final = 1 << _ID_BITS


class _DeletionTable:
    """Words filed under every string one deletion away, packed for memory and speed.

    The CRC-32 of a deletion string picks one of 65,536 buckets by its top 16 bits;
    the bucket, a sorted ``array("Q")``, holds ``CRC << 24 | word id`` for each
    entry (8 bytes an entry, against about 100 for a dict entry with its key
    string). The whole CRC is kept, though the bucket says its top bits: a bulk
    build then files its collected entries as they are, with no pass to mask them.
    CRC-32 is the same in every process, so which words collide, and so what a
    look-up returns, depends on the words alone. A collision only adds a word,
    which the name-key look-up then turns down.
    """

    __slots__ = ("_buckets", "_pending", "_size")

    def __init__(self) -> None:
        self._buckets: list[array[int] | None] = [None] * _BUCKETS
        self._size = 0
        # Entries a bulk build collected, filed by `settle`.
        self._pending: list[int] | None = None

    def __len__(self) -> int:
        return self._size

    def add(self, word_id: int, word: str) -> None:
        keys = {word[:index] + word[index + 1 :] for index in range(len(word))}
        self._size += len(keys)
        crcs = map(zlib.crc32, map(str.encode, keys))
        pending = self._pending
        if pending is not None:
            # A bulk build: entries (CRC << 24 | word id) made by C-level maps,
            # sorted into the buckets once by `settle`.
            pending.extend(map(operator.or_, map(operator.lshift, crcs, _SHIFTS), repeat(word_id)))
            return
        buckets = self._buckets
        for crc in crcs:
            found = buckets[crc >> 16]
            if found is None:
                found = buckets[crc >> 16] = array("Q")
            insort(found, crc << _ID_BITS | word_id)

    def add_all(self, word_ids: Sequence[int], words: Sequence[str]) -> None:
        """`add` each of ``words`` under its id: at once, position by position, in a bulk build.

        The deletions of ASCII words with no letter written twice in a row are all
        distinct, so they need no set: the deletion at each position is made for
        every such word together, from their bytes, by C-level maps. Other words
        are added one by one.
        """
        pending = self._pending
        quick = [
            ascii_word and doubled is None
            for ascii_word, doubled in zip(
                map(str.isascii, words), map(_DOUBLED.search, words), strict=True
            )
        ]
        if pending is None or not any(quick):
            quick = [False] * len(words)
        for word_id, word in compress(zip(word_ids, words, strict=True), map(operator.not_, quick)):
            self.add(word_id, word)
        if pending is None:
            return
        texts = list(compress(words, quick))
        sizes = list(map(len, texts))
        # Longest first: the words long enough to lose letter ``at`` are a prefix.
        order = sorted(range(len(texts)), key=sizes.__getitem__, reverse=True)
        encoded = list(map(str.encode, map(texts.__getitem__, order)))
        ids = list(map(list(compress(word_ids, quick)).__getitem__, order))
        ascending = sorted(sizes)
        for at in range(ascending[-1] if ascending else 0):
            count = len(ascending) - bisect_right(ascending, at)
            held = encoded[:count]
            keys = map(
                bytes.__add__,
                map(operator.itemgetter(slice(None, at)), held),
                map(operator.itemgetter(slice(at + 1, None)), held),
            )
            crcs = map(zlib.crc32, keys)
            pending.extend(map(operator.or_, map(operator.lshift, crcs, _SHIFTS), ids[:count]))
            self._size += count

    def discard(self, word_id: int, word: str) -> None:
        self.settle()
        buckets = self._buckets
        for key in set(_deletions(word)):
            crc = zlib.crc32(key.encode())
            found = buckets[crc >> 16]
            if found is None:
                continue
            entry = crc << _ID_BITS | word_id
            at = bisect_left(found, entry)
            if at < len(found) and found[at] == entry:
                del found[at]
                self._size -= 1

    def lookup(self, key: str) -> Iterable[int]:
        """The ids of the words filed under ``key`` (and of any that collide with it)."""
        crc = zlib.crc32(key.encode())
        found = self._buckets[crc >> 16]
        if not found:
            return ()
        first = crc << _ID_BITS
        low = bisect_left(found, first)
        # Most keys asked about are not filed: one comparison says so.
        if low == len(found) or found[low] > first | _ID_MASK:
            return ()
        high = bisect_left(found, first + (1 << _ID_BITS), low + 1)
        return map(operator.and_, found[low:high], repeat(_ID_MASK))

    def lookup_all(self, keys: Iterable[str]) -> list[int]:
        """The ids of the words filed under any of ``keys``: `lookup` of each, at once.

        The CRCs are computed by C-level maps; most keys end at one comparison, and
        the entries of a key that is filed (usually one or two) are read in place.
        """
        buckets = self._buckets
        found: list[int] = []
        for crc in map(zlib.crc32, map(str.encode, keys)):
            bucket = buckets[crc >> 16]
            if not bucket:
                continue
            first = crc << _ID_BITS
            at = bisect_left(bucket, first)
            last = first | _ID_MASK
            size = len(bucket)
            while at < size:
                entry = bucket[at]
                if entry > last:
                    break
                found.append(entry & _ID_MASK)
                at += 1
        return found

    def bulk(self) -> None:
        """Collect entries without sorting until `settle` (for `ConflictIndex.update`)."""
        if self._pending is None:
            self._pending = []

    def settle(self) -> None:
        """File what a bulk build collected: one sort, then a slice per bucket.

        A bucket that already holds entries takes the new ones by a merge, or by
        inserting each when it is much larger than they are (a load in chunks adds
        a few entries to each of the 65,536 buckets per chunk).
        """
        pending = self._pending
        if pending is None:
            return
        self._pending = None
        pending.sort()
        # One C-level pass makes every entry; each bucket is then a slice of it.
        entries = array("Q", pending)
        del pending
        buckets = self._buckets
        size = len(entries)
        at = 0
        while at < size:
            bucket = entries[at] >> _BUCKET_SHIFT
            end = bisect_left(entries, (bucket + 1) << _BUCKET_SHIFT, at)
            found = buckets[bucket]
            if not found:
                buckets[bucket] = entries[at:end]
            elif len(found) < (end - at) * _INSERT_BELOW:
                # Two sorted runs: the sort merges them in one pass.
                buckets[bucket] = array("Q", sorted(found + entries[at:end]))
            else:
                deque(map(insort, repeat(found), entries[at:end]), 0)
            at = end
