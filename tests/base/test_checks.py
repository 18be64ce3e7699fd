"""The shared list checks report every wrong item under its own path."""

from __future__ import annotations

import enum
from datetime import UTC, datetime, timedelta, timezone

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from partnerkit._base.checks import (
    a_slug,
    a_text,
    an_id,
    an_instant,
    check_fields,
    check_items,
    check_list,
    check_text,
    one_of,
    optional,
    repeated,
)
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


@attrs.frozen
class _Sample:
    who: str
    at: datetime
    note: str
    until: datetime | None = None


def test_check_fields_keeps_checked_values_and_reports_every_field_in_order() -> None:
    sample = _Sample("ana", datetime(2026, 1, 1, 12, tzinfo=timezone(timedelta(hours=2))), " a  b ")
    problems = Problems()
    checks = {
        "who": an_id,
        "at": an_instant,
        "note": a_text(required=True),
        "until": optional(an_instant),
    }
    check_fields(sample, problems, checks)
    assert problems.found == []
    assert sample.at == datetime(2026, 1, 1, 10, tzinfo=UTC)
    assert sample.at.tzinfo is UTC
    assert sample.note == "a b"
    assert sample.until is None

    naive = datetime(2026, 1, 1)  # noqa: DTZ001 - a naive instant is one of the problems
    bad = _Sample("has space", naive, "  ", until="x")  # type: ignore[arg-type]
    problems = Problems()
    check_fields(bad, problems, checks, check_only=("note",))
    assert [p.path for p in problems.found] == ["who", "at", "note", "until"]
    assert bad.note == "  "


def test_value_checkers_name_the_fix() -> None:
    problems = Problems()
    fields = _Sample("ok", datetime(2026, 1, 1, tzinfo=UTC), "red")
    check_fields(fields, problems, {"note": one_of(_Colour)})
    assert fields.note is _Colour.RED
    check_fields(fields, problems, {"who": a_slug("tier id"), "note": one_of(_Colour)})
    assert problems.found == []
    fields = _Sample("Not A Slug", datetime(2026, 1, 1, tzinfo=UTC), "blue")
    check_fields(fields, problems, {"who": a_slug("tier id"), "note": one_of(_Colour)})
    assert [(p.path, p.message) for p in problems.found] == [
        (
            "who",
            (
                "'Not A Slug' is not a valid tier id; use lowercase letters, digits and _, "
                "starting with a letter"
            ),
        ),
        ("note", "'blue' is not one of 'red', 'green'"),
    ]


class _Colour(enum.StrEnum):
    RED = "red"
    GREEN = "green"


@given(st.text())
def test_check_text_collapses_whitespace_as_split_and_join_do(value: str) -> None:
    assert check_text(value, required=False, limit=10**6) == " ".join(value.split())
