"""Name similarity for conflict detection: pure Python, bounded, symmetric.

The measure is the optimal-string-alignment (restricted Damerau-Levenshtein)
distance between two names without their spaces, turned into a similarity
``1 - distance / longer length``; conflict detection takes the better of the plain
normalised names and their folded match keys. Why this and not Jaro-Winkler: a
typing slip is an edit (a missing, extra, wrong or swapped letter), which this
counts exactly, while Jaro-Winkler rewards a shared prefix, and in company names
the shared prefix is often the part that says nothing ("Nordic Cloud" against
"Nordic Crowd" scores 0.93 with Jaro-Winkler, 0.82 here).

The threshold lives in `DefaultConflictPolicy`; this module only measures.
"""

from __future__ import annotations

from typing import Final

__all__ = ["deletions", "edit_distance", "key_similarity", "similarity_at_least"]

#: No fuzzy match is more than this many edits apart, however long the names.
MAX_EDITS: Final = 2


def edit_distance(left: str, right: str, limit: int) -> int:
    """The OSA edit distance between two strings, or ``limit + 1`` if it is larger.

    Insertions, deletions, substitutions and swaps of two adjacent letters each
    cost one. Work is bounded by ``limit``: common prefixes and suffixes are
    skipped and only the diagonal band that can stay within ``limit`` is filled,
    so comparing two unrelated names stops after a few rows.
    """
    if left == right:
        return 0
    if len(left) > len(right):
        left, right = right, left
    if len(right) - len(left) > limit:
        return limit + 1
    # Skip the common prefix and suffix: they never change the distance.
    start = 0
    shorter = len(left)
    while start < shorter and left[start] == right[start]:
        start += 1
    end_left, end_right = len(left), len(right)
    while end_left > start and left[end_left - 1] == right[end_right - 1]:
        end_left -= 1
        end_right -= 1
    a = left[start:end_left]
    b = right[start:end_right]
    if not a:
        return len(b) if len(b) <= limit else limit + 1
    # What is left differs in its first and in its last letter. The shortest such
    # pairs, which one or two slips leave, are answered without a table.
    if len(b) <= 2:
        if len(a) == len(b) == 1:
            distance = 1  # a letter changed
        elif len(a) == 1:
            distance = 2  # a letter changed and one added
        else:
            distance = 1 if a[0] == b[1] and a[1] == b[0] else 2  # two swapped, or two changed
        return distance if distance <= limit else limit + 1
    if limit <= MAX_EDITS:
        # One or two slips: try the four edits at the first difference, comparing
        # the rests whole (C-level), instead of filling a table letter by letter.
        if limit == 0:
            return 1
        if _within_one(a, b):
            return 1
        if limit == 1:
            return 2
        return 2 if _within_two(a, b) else 3
    return _banded_osa(a, b, limit)


def _first_difference(a: str, b: str) -> int:
    """Where ``a`` and ``b`` first differ (the shorter's length if one starts the other)."""
    index = 0
    size = min(len(a), len(b))
    while index < size and a[index] == b[index]:
        index += 1
    return index


def _within_one(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` (not equal) are one edit apart."""
    if abs(len(a) - len(b)) > 1:
        return False
    at = _first_difference(a, b)
    after = at + 1
    rest = a[after:]
    if rest == b[after:] or rest == b[at:] or a[at:] == b[after:]:
        return True
    return _swapped(a, b, at) and a[at + 2 :] == b[at + 2 :]


def _swapped(a: str, b: str, at: int) -> bool:
    """Whether the letters at ``at`` and after it in ``a`` are those of ``b``, swapped."""
    after = at + 1
    return after < len(a) and after < len(b) and a[at] == b[after] and a[after] == b[at]


def _within_two(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` (more than one edit apart) are two edits apart."""
    if abs(len(a) - len(b)) > 2:
        return False
    at = _first_difference(a, b)
    after = at + 1
    # The first difference is a changed, a missing, an extra letter, or a swap;
    # what follows must then be one edit (or none) apart.
    for left, right in ((a[after:], b[after:]), (a[after:], b[at:]), (a[at:], b[after:])):
        if left == right or _within_one(left, right):
            return True
    # Two neighbouring letters swapped, and one edit (or none) after them.
    return _swapped(a, b, at) and (
        a[at + 2 :] == b[at + 2 :] or _within_one(a[at + 2 :], b[at + 2 :])
    )


def _banded_osa(a: str, b: str, limit: int) -> int:
    """OSA distance of ``a`` (the shorter) and ``b``, filling only ``|i - j| <= limit``."""
    too_far = limit + 1
    width = len(b)
    previous_previous: list[int] = []
    previous = [min(j, too_far) for j in range(width + 1)]
    for i in range(1, len(a) + 1):
        low = max(1, i - limit)
        high = min(width, i + limit)
        current = [too_far] * (width + 1)
        if low == 1:
            current[0] = min(i, too_far)
        char = a[i - 1]
        best = current[0] if low == 1 else too_far
        for j in range(low, high + 1):
            cost = 0 if char == b[j - 1] else 1
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if (
                i > 1
                and j > 1
                and char == b[j - 2]
                and a[i - 2] == b[j - 1]
                and previous_previous[j - 2] + 1 < value
            ):
                value = previous_previous[j - 2] + 1
            value = min(value, too_far)
            current[j] = value
            best = min(best, value)
        if best > limit:
            return too_far
        previous_previous, previous = previous, current
    return min(previous[width], too_far)


def key_similarity(left: str, right: str) -> float:
    """``1 - edit distance / length of the longer``: 1.0 for equal keys, 0.0 for empty."""
    longest = max(len(left), len(right))
    if longest == 0:
        return 0.0
    return 1.0 - edit_distance(left, right, longest) / longest


def similarity_at_least(left: str, right: str, threshold: float) -> float | None:
    """The similarity of two compact keys if it reaches ``threshold`` within `MAX_EDITS`.

    Returns ``None`` otherwise, after doing only the work the bound allows.
    """
    longest = max(len(left), len(right))
    if longest == 0:
        return None
    # The largest distance that still reaches the threshold, capped.
    allowed = min(MAX_EDITS, int((1.0 - threshold) * longest + 1e-9))
    if allowed < 0:
        return None
    distance = edit_distance(left, right, allowed)
    if distance > allowed:
        return None
    return 1.0 - distance / longest


def deletions(token: str) -> list[str]:
    """The token and every string one deletion away: the symmetric-deletion keys.

    Two tokens within one edit (or one swap) of each other always share a key.
    """
    return [token, *(token[:index] + token[index + 1 :] for index in range(len(token)))]
