"""Reading a paged query to its end, for the layers above storage."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable

    from partnerkit.storage import Page

T = TypeVar("T")


def every(fetch: Callable[[str | None], Page[T]]) -> list[T]:
    """Every item of a paged query, page by page.

    Args:
        fetch: Reads the page that starts at a cursor (``None``: the first page),
            as ``lambda cursor: uow.deals.query(limit=1000, cursor=cursor)``.

    Returns:
        The items of every page, in the query's order.
    """
    found: list[T] = []
    cursor: str | None = None
    while True:
        page = fetch(cursor)
        found.extend(page.items)
        if page.next_cursor is None:
            return found
        cursor = page.next_cursor
