"""Walking a paged query, and the promises every paged query keeps.

The contracts use these as ``paging.walk(...)``, ``paging.assert_stable(...)``: what
holds for partners holds for activities, scores, programs, memberships and deals.
"""

# ruff: noqa: S101 - a test suite states its promises with assert

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from partnerkit.errors import ValidationError

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Mapping, Sequence

    from partnerkit.storage._protocols import Page

__all__ = [
    "assert_cursors_refused",
    "assert_filters",
    "assert_limits",
    "assert_stable",
    "by_fields",
    "has_fields",
    "walk",
]

T = TypeVar("T")


def walk(
    query: Callable[..., Page[T]],
    *,
    limit: int,
    between: Callable[[int], None] | None = None,
    **filters: Any,
) -> list[T]:
    """Every item of a paged query, following cursors until ``next_cursor`` is None.

    Args:
        query: Called as ``query(limit=limit, cursor=cursor, **filters)``.
        limit: The page size asked for; no page may hold more.
        between: Called with the page number after each page but the last.
        filters: Passed on to every call of ``query``.
    """
    items: list[T] = []
    cursor: str | None = None
    for number in range(10_000):
        page = query(limit=limit, cursor=cursor, **filters)
        assert len(page.items) <= limit, f"a page holds {len(page.items)} items; limit {limit}"
        items.extend(page.items)
        if page.next_cursor is None:
            return items
        if between is not None:
            between(number)
        cursor = page.next_cursor
    raise AssertionError("paging never ended: next_cursor was never None")


def assert_stable(
    query: Callable[..., Page[T]],
    key: Callable[[T], str],
    existing: Sequence[str],
    *,
    limit: int,
    insert: Callable[[str, int], None],
    what: str,
) -> None:
    """Records inserted between pages never make paging repeat, reorder or skip one.

    Args:
        query: A query ordered by ``key``, called once a page.
        key: The key ``query`` orders by.
        existing: The keys stored before paging began: none may be skipped.
        limit: The page size.
        insert: Called between pages with the last key seen and the page number.
        what: The records, in words, for the failure messages.
    """
    seen: list[str] = []

    def page(**options: Any) -> Page[T]:
        found = query(**options)
        seen.extend(key(item) for item in found.items)
        return found

    walked = [key(item) for item in walk(page, limit=limit, between=lambda n: insert(seen[-1], n))]
    assert len(walked) == len(set(walked)), f"{what} returned twice: {walked}"
    assert walked == sorted(walked), f"{what} not in order: {walked}"
    skipped = sorted(set(existing) - set(walked))
    assert not skipped, f"{what} that existed when paging began were skipped: {skipped}"


def _id(record: Any) -> str:
    return record.id  # type: ignore[no-any-return]


def has_fields(
    record: object, filters: Mapping[str, Any], *, besides: Collection[str] = ()
) -> bool:
    """Whether each of ``filters``, but those in ``besides``, equals that field of ``record``."""
    return all(
        getattr(record, name) == value for name, value in filters.items() if name not in besides
    )


def by_fields(
    records: Sequence[T], key: Callable[[T], str] = _id
) -> Callable[[dict[str, Any]], list[str]]:
    """What `assert_filters` expects of filters that each name a field and its value.

    Args:
        records: Every stored record, in the order the query lists them.
        key: The key the query orders by (the record's ``id`` unless given).
    """
    return lambda filters: [key(record) for record in records if has_fields(record, filters)]


def assert_filters(
    query: Callable[..., Page[T]],
    expected: Callable[[dict[str, Any]], list[str]],
    cases: Sequence[dict[str, Any]],
    *,
    key: Callable[[T], str] = _id,
    limits: Sequence[int],
    matching_nothing: Sequence[dict[str, Any]] = (),
) -> None:
    """Each case's filters, walked at each page size, list exactly the expected records.

    Args:
        query: The paged query; each case's filters are passed to it.
        expected: The keys, in order, that a case's filters must list.
        cases: Filters that match some of the stored records.
        key: The key the query orders by (the record's ``id`` unless given).
        limits: The page sizes to walk with.
        matching_nothing: Filters that match none of them.
    """
    for filters in [*cases, *matching_nothing]:
        wanted = expected(filters)
        assert bool(wanted) == (filters in cases), f"the suite's data for {filters}"
        for limit in limits:
            got = [key(item) for item in walk(query, limit=limit, **filters)]
            assert got == wanted, f"query({filters}, limit={limit})"


def assert_cursors_refused(query: Callable[..., Page[Any]]) -> None:
    """``query`` raises `ValidationError` for cursors that no query returned."""
    for cursor in ("not a cursor", "\x00", "ptn 1\n"):
        with pytest.raises(ValidationError):
            query(limit=1, cursor=cursor)


def assert_limits(query: Callable[..., Page[Any]], *, most: int, stored: int) -> None:
    """``query`` refuses a ``limit`` outside 1..``most`` and honours both bounds.

    Args:
        query: The paged query, over a store holding ``stored`` matching records.
        most: The largest page size the query takes.
        stored: How many records the query lists in all (at most ``most``).
    """
    for limit in (0, -1, most + 1):
        with pytest.raises(ValidationError):
            query(limit=limit)
    for limit, count in ((1, 1), (most, stored)):
        assert len(query(limit=limit).items) == count, f"len(query(limit={limit}).items)"
