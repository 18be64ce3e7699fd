"""Work a check skips must never change its answer.

A candidate can be turned down before its names are measured when what speaks
against it outweighs the most its names could earn, and common words near a long
unknown word are looked up only under the keys a filed key could be. Both are held
here to the full computation they stand in for.
"""

import functools
import itertools

import labelled_set as helpers
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from partnerkit import ValidationError
from partnerkit.deals import ConflictIndex, Customer, DefaultConflictPolicy, Profile
from partnerkit.deals._conflicts import _cannot_reach, _evidence, _weigh, match_confidence
from partnerkit.deals._index import _two_deletions

MINIMUMS = (0.05, 0.3, 0.5, 0.62, 0.8, 0.95)


def _full_confidence(mine: Profile, theirs: Profile, threshold: float) -> float | None:
    """The confidence of the whole evidence, or None when there is none."""
    matches = _evidence(mine, theirs, threshold)
    return match_confidence(matches) if matches else None


@functools.cache
def _labelled_pairs() -> list[tuple[Profile, Profile]]:
    labelled = helpers.load()
    bases = labelled.population(3000)
    index = ConflictIndex.build(
        helpers.registration(b.number, b.name, b.country, b.website, b.email) for b in bases
    )
    pairs = []
    for query in labelled.queries(bases, 25, labelled.DEVELOPMENT_SEED):
        mine = index.profile(Customer(query.name, query.country, query.website), ("CRM",))
        for candidate in index.candidates(mine):
            slot = index.slot_of(candidate.id)
            assert slot is not None
            pairs.append((mine, index.stored_profile(slot)))
    return pairs


def test_a_candidate_turned_down_early_would_have_fallen_short() -> None:
    turned_down = 0
    for mine, theirs in _labelled_pairs():
        for minimum in MINIMUMS:
            if _cannot_reach(mine, theirs, minimum):
                turned_down += 1
                confidence = _full_confidence(mine, theirs, 0.75)
                assert confidence is None or confidence < minimum, (mine, theirs, minimum)
    # Candidates in other countries, or with websites of other names, are common.
    assert turned_down > 100


def test_weighing_gives_what_the_whole_evidence_gives() -> None:
    for mine, theirs in _labelled_pairs()[:2000]:
        for minimum in (0.5, 0.8):
            policy = DefaultConflictPolicy(min_confidence=minimum)
            matches = _evidence(mine, theirs, policy.fuzzy_threshold)
            confidence = match_confidence(matches) if matches else 0.0
            expected = (tuple(matches), confidence) if confidence >= minimum else None
            assert _weigh(mine, theirs, policy, lambda _: False) == expected


names = st.lists(st.sampled_from(["ab", "abc", "abd", "nordic", "nordik", "cloud", "clod"]))
websites = st.sampled_from([None, "acme.fi", "acme.com", "acme.de", "other.fi"])


@given(
    st.tuples(names, st.sampled_from(["FI", "DE"]), websites, st.sampled_from([None, "acme.fi"])),
    st.tuples(names, st.sampled_from(["FI", "DE"]), websites, st.sampled_from([None, "x.de"])),
    st.sampled_from([(), ("CRM",), ("ERP",)]),
    st.floats(min_value=0.0, max_value=1.0),
)
def test_the_early_bound_holds_for_any_two_customers(
    mine: tuple[list[str], str, str | None, str | None],
    theirs: tuple[list[str], str, str | None, str | None],
    products: tuple[str, ...],
    minimum: float,
) -> None:
    index = ConflictIndex()
    try:
        left = index.profile(
            Customer(" ".join(mine[0]) or "x", mine[1], mine[2], mine[3] and f"a@{mine[3]}"),
            ("CRM",),
        )
        right = index.profile(
            Customer(
                " ".join(theirs[0]) or "x", theirs[1], theirs[2], theirs[3] and f"b@{theirs[3]}"
            ),
            products,
        )
    except ValidationError:
        assume(False)
        raise
    for first, second in ((left, right), (right, left)):
        if _cannot_reach(first, second, minimum):
            confidence = _full_confidence(first, second, 0.75)
            assert confidence is None or confidence < minimum


def _near_by_every_key(index: ConflictIndex, word: str) -> list[str]:
    """The common words near ``word`` looked up under every one of its keys."""
    if len(word) < 5:
        return []
    table = index._common_near
    found = {near for key in table.keys() & _two_deletions(word) for near in table[key]}
    found.discard(word)
    return sorted(found)


def _probes(words: list[str]) -> set[str]:
    probes = set(words)
    for word in words:
        for at, letter in itertools.product(range(len(word) + 1), "aeoxz"):
            probes.add(word[:at] + letter + word[at:])
            probes.add(word[:at] + letter + word[at + 2 :])
            probes.add(word[:at] + word[at + 1 :] + letter)
    return {probe for probe in probes if probe}


BRANDS = ("Zentrix", "Zentrex", "Nordkraft", "Ridgeway", "Ridgewaycapital")
WORDS = ("Capital", "Capitol", "Kapital", "Holdings", "Holdingz", "Nordic", "Cloud")


@pytest.mark.parametrize(("removed", "common"), [(0, True), (40, True), (110, False)])
def test_common_neighbours_are_those_of_every_key(removed: int, common: bool) -> None:
    held = [
        helpers.registration(
            number,
            f"{BRANDS[number % 5]} {WORDS[number % 7]} {WORDS[number // 7 % 7]} {number // 49}",
            "FI",
            None,
        )
        for number in range(120)
    ]
    index = ConflictIndex.build(held)
    for item in held[:removed]:
        index.remove(item.id)
    table = index._common_near
    # Removals take words below the count that makes them common, and unfile them.
    assert bool(table) == common
    # The counts of keys by length and ends follow the keys filed, through removals.
    ends: dict[tuple[int, str], int] = {}
    for key in table:
        for end in ((len(key), "^" + key[:3]), (len(key), key[-3:] + "$")):
            ends[end] = ends.get(end, 0) + 1
    assert index._common_heads == ends
    words = sorted({word for filed in table.values() for word in filed})
    found = 0
    for probe in _probes([*words, "zentrixholdings", "ridgewaycapital", "nordkraft"]):
        near = index._common_neighbours(probe)
        assert near == _near_by_every_key(index, probe), probe
        found += bool(near)
    assert (found > 100) == common
