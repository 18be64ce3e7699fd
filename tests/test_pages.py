"""Reading a paged query to its end."""

from partnerkit._pages import every
from partnerkit.storage import Page

PAGES = {
    None: Page((1, 2), "a"),
    "a": Page((), "b"),  # an empty page that is not the last
    "b": Page((3,), None),
}


def test_every_reads_each_page_in_order_until_there_is_no_next_cursor() -> None:
    asked: list[str | None] = []

    def fetch(cursor: str | None) -> Page[int]:
        asked.append(cursor)
        return PAGES[cursor]

    assert every(fetch) == [1, 2, 3]
    assert asked == [None, "a", "b"]


def test_every_of_one_empty_page_is_empty() -> None:
    assert every(lambda _cursor: Page(())) == []
