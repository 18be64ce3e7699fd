"""The shared list checks report every wrong item under its own path."""

from __future__ import annotations

import pytest

from partnerkit._base.checks import check_items, check_list, repeated
from partnerkit.errors import Problems


@pytest.mark.parametrize("value", ["ab", b"ab", {"a": 1}, 3, None])
def test_check_list_refuses_text_mappings_and_scalars(value: object) -> None:
    problems = Problems()
    assert check_list(value, "items", problems, what="a list of names") == ()
    [problem] = problems.found
    assert problem.path == "items"
    assert problem.message == f"expected a list of names, got {type(value).__name__}"


def test_check_list_keeps_every_item_in_order() -> None:
    problems = Problems()
    assert check_list(iter([3, 1, 2]), "items", problems) == (3, 1, 2)
    assert problems.found == []


def test_check_items_names_each_wrong_item_and_keeps_them() -> None:
    problems = Problems()
    items = check_items([1, "x", 2, None], "numbers", problems, int)
    assert items == (1, "x", 2, None)
    assert [(p.path, p.message) for p in problems.found] == [
        ("numbers[1]", "expected a int"),
        ("numbers[3]", "expected a int"),
    ]


def test_check_items_uses_the_given_words() -> None:
    problems = Problems()
    check_items(["x"], "steps", problems, int, expected="an integer step")
    assert [(p.path, p.message) for p in problems.found] == [
        ("steps[0]", "expected an integer step")
    ]


def test_repeated_lists_each_name_used_twice_once_sorted() -> None:
    assert repeated(["b", "a", "b", "c", "a", "b"]) == ["a", "b"]
    assert repeated(["a", "b"]) == []
