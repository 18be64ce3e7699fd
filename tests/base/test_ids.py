import multiprocessing
import threading
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given

from partnerkit import FixedClock, IdGenerator, ValidationError, check_id, new_id
from partnerkit.testing import strategies as pks


def test_ids_have_the_prefix_and_26_characters() -> None:
    minted = new_id("ptn")
    assert minted.startswith("ptn_")
    assert len(minted) == len("ptn_") + 26
    assert len(new_id()) == 26


def test_ids_sort_by_creation_time() -> None:
    clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
    generate = IdGenerator(clock)
    earlier = generate()
    clock.advance(timedelta(milliseconds=1))
    later = generate()
    clock.advance(timedelta(days=3650))
    much_later = generate()
    assert earlier < later < much_later


def test_ids_within_one_millisecond_still_increase() -> None:
    generate = IdGenerator(FixedClock(datetime(2026, 1, 1, tzinfo=UTC)))
    minted = [generate() for _ in range(1000)]
    assert minted == sorted(minted)
    assert len(set(minted)) == 1000


def test_a_clock_stepping_backwards_does_not_break_the_order() -> None:
    clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
    generate = IdGenerator(clock)
    first = generate()
    clock.set(datetime(2025, 1, 1, tzinfo=UTC))
    assert generate() > first


def test_ids_from_many_threads_are_unique() -> None:
    generate = IdGenerator()
    results: list[list[str]] = [[] for _ in range(8)]

    def work(bucket: list[str]) -> None:
        bucket.extend(generate() for _ in range(2000))

    threads = [threading.Thread(target=work, args=(bucket,)) for bucket in results]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [minted for bucket in results for minted in bucket]
    assert len(set(everything)) == len(everything)


def _mint_in_child(queue: "multiprocessing.Queue[list[str]]") -> None:
    queue.put([new_id() for _ in range(500)])


def test_forked_processes_do_not_repeat_each_others_ids() -> None:
    context = multiprocessing.get_context("fork")
    parent_ids = [new_id() for _ in range(10)]  # leaves state that a child must not continue
    queue: multiprocessing.Queue[list[str]] = context.Queue()
    children = [context.Process(target=_mint_in_child, args=(queue,)) for _ in range(3)]
    for child in children:
        child.start()
    minted = [queue.get(timeout=30) for _ in children]
    for child in children:
        child.join(timeout=30)
    everything = (
        parent_ids + [new_id() for _ in range(500)] + [i for batch in minted for i in batch]
    )
    assert len(set(everything)) == len(everything)


@pytest.mark.parametrize("prefix", ["PTN", "p-1", "a" * 17, "ptn_"])
def test_bad_prefixes_are_refused(prefix: str) -> None:
    with pytest.raises(ValidationError, match="lowercase letters or digits"):
        new_id(prefix)


@given(pks.ids("ptn"))
def test_host_and_minted_ids_pass_the_check(value: str) -> None:
    assert check_id(value) == value


@pytest.mark.parametrize("value", ["", "a b", "tab\tid", "x" * 129, 42, None])
def test_unusable_ids_are_refused(value: object) -> None:
    with pytest.raises(ValidationError) as info:
        check_id(value, "partner_id")
    assert info.value.paths == ("partner_id",)
