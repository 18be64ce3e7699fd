"""A bulk load files its tables exactly as adding entry by entry does.

`ConflictIndex.update` collects the deletion table's entries and sorts them in at
the end, in whatever chunks the caller loads, and grows the counting filter from
the names' stored CRCs. Both are held here to the plain, one-at-a-time result.
"""

import zlib

from hypothesis import given
from hypothesis import strategies as st
from labelled_set import registration

from partnerkit.deals import ConflictIndex, Customer, DealRegistration
from partnerkit.deals._deletions import _DeletionTable
from partnerkit.deals._names import match_words

words = st.text(alphabet="abcdeklmnorst", min_size=4, max_size=9)


def _table(batches: list[list[tuple[int, str]]]) -> _DeletionTable:
    table = _DeletionTable()
    for batch in batches:
        table.bulk()
        for word_id, word in batch:
            table.add(word_id, word)
        table.settle()
    return table


@given(
    st.lists(st.lists(words, max_size=60), min_size=1, max_size=6),
    st.lists(st.text(alphabet="abcdeklmnorst", min_size=3, max_size=9), max_size=20),
)
def test_a_bulk_load_in_chunks_files_what_adding_one_by_one_does(
    chunks: list[list[str]], probes: list[str]
) -> None:
    numbered: list[list[tuple[int, str]]] = []
    serial = 0
    for chunk in chunks:
        numbered.append([])
        for word in chunk:
            numbered[-1].append((serial, word))
            serial += 1
    bulk = _table(numbered)
    single = _table([[item] for batch in numbered for item in batch])
    plain = _DeletionTable()
    for batch in numbered:
        for word_id, word in batch:
            plain.add(word_id, word)
    assert len(bulk) == len(single) == len(plain)
    every = [word for chunk in chunks for word in chunk] + probes
    keys = sorted({key for word in every for key in (word, *_deletions_of(word))})
    for key in keys:
        expected = list(plain.lookup(key))
        assert list(bulk.lookup(key)) == list(single.lookup(key)) == expected
        assert expected == sorted(expected)
    assert bulk.lookup_all(keys) == plain.lookup_all(keys)


def _deletions_of(word: str) -> list[str]:
    return [word[:index] + word[index + 1 :] for index in range(len(word))]


def test_a_word_is_filed_under_each_of_its_deletions_once() -> None:
    table = _DeletionTable()
    table.bulk()
    table.add(7, "hallo")
    table.add(8, "hello")
    table.settle()
    # Each has four distinct deletions ("allo", "hllo", "halo", "hall"): the two
    # "l"s give one.
    assert len(table) == 8
    assert sorted(table.lookup("hllo")) == [7, 8]
    assert list(table.lookup("halo")) == [7]
    assert list(table.lookup("helo")) == [8]
    assert list(table.lookup("hlo")) == []
    table.discard(7, "hallo")
    assert list(table.lookup("hllo")) == [8]
    assert len(table) == 4


def _counts_of_every_held_name(index: ConflictIndex) -> bytearray:
    counts = bytearray(len(index._plain_counts))
    for slot, kind in enumerate(index._kinds):
        if kind:
            plain = "".join(match_words(index._names[slot])).encode()
            position = zlib.crc32(plain) & index._plain_mask
            counts[position] = min(counts[position] + 1, 255)
    return counts


def _crowd(first: int, size: int) -> list[DealRegistration]:
    return [
        registration(number, f"Zentrix Nordic {number % 300} Holdings {number // 7}", "FI", None)
        for number in range(first, first + size)
    ]


def test_a_grown_counting_filter_counts_every_held_name_once() -> None:
    index = ConflictIndex.build(_crowd(0, 400))
    for number in range(0, 400, 3):
        index.remove(f"deal_{number:08d}")
    # Growing twice over a load: every held name (not the removed ones) is counted.
    index.update(_crowd(1000, 2000))
    assert len(index._plain_counts) == 1 << 15
    assert index._plain_counts == _counts_of_every_held_name(index)


def test_a_counter_of_the_filter_stops_at_255() -> None:
    index = ConflictIndex.build(
        registration(number, "Zentrix Labs", "FI", f"z{number}.fi") for number in range(300)
    )
    index._resize_filter(len(index._plain_counts) * 2)
    position = zlib.crc32(b"zentrixlabs") & index._plain_mask
    assert index._plain_counts[position] == 255
    assert index.candidates(index.profile(Customer("Zentrix Labs", "FI")))


def test_a_later_chunk_is_inserted_into_or_merged_with_a_full_bucket() -> None:
    # Every word shares the deletion "zentr", so its bucket fills: the second chunk
    # adds one entry there (inserted), the third more than it holds (merged).
    letters = "abcdefghijklmnopqrstuvwxy"
    chunks = [
        [(index, f"zentr{letter}") for index, letter in enumerate(letters[:20])],
        [(20, "zentrz")],
        [(21 + index, f"zent{letter}r") for index, letter in enumerate(letters)],
    ]
    bulk = _table(chunks)
    plain = _DeletionTable()
    for chunk in chunks:
        for word_id, word in chunk:
            plain.add(word_id, word)
    assert list(bulk.lookup("zentr")) == list(plain.lookup("zentr")) == list(range(46))
    keys = sorted({key for chunk in chunks for _, word in chunk for key in _deletions_of(word)})
    assert [list(bulk.lookup(key)) for key in keys] == [list(plain.lookup(key)) for key in keys]
    assert bulk._buckets == plain._buckets


@given(st.lists(st.text(alphabet="aabklnoöß1", min_size=4, max_size=10), max_size=40))
def test_adding_many_words_at_once_files_what_adding_each_does(many: list[str]) -> None:
    ids = [number * 3 for number in range(len(many))]
    together = _DeletionTable()
    together.bulk()
    together.add_all(ids, many)
    together.settle()
    each = _DeletionTable()
    for word_id, word in zip(ids, many, strict=True):
        each.add(word_id, word)
    assert len(together) == len(each)
    assert together._buckets == each._buckets
