"""Small field checks shared by the domain models; each raises `ValidationError`."""

from __future__ import annotations

import enum
import re
from collections import Counter
from collections.abc import Iterable
from typing import Any, Final, TypeVar

from partnerkit.errors import Problems, ValidationError

E = TypeVar("E", bound=enum.Enum)

_SLUG: Final = re.compile(r"[a-z][a-z0-9_]{0,63}")
MAX_NAME: Final = 200


def check_slug(value: object, what: str) -> str:
    """A lowercase identifier-like name: ``reseller``, ``deal_won``, ``revenue_12m``."""
    if not isinstance(value, str) or not _SLUG.fullmatch(value):
        raise ValidationError.single(
            "",
            f"{value!r} is not a valid {what}; use lowercase letters, digits and _, "
            f"starting with a letter",
        )
    return value


def check_text(value: object, *, required: bool, limit: int = MAX_NAME) -> str:
    """Text with runs of whitespace collapsed, optionally required, at most ``limit`` long."""
    if not isinstance(value, str):
        raise ValidationError.single("", f"expected text, got {type(value).__name__}")
    text = " ".join(value.split())
    if required and not text:
        raise ValidationError.single("", "must not be empty")
    if len(text) > limit:
        raise ValidationError.single("", f"must be at most {limit} characters")
    return text


def check_enum(cls: type[E], value: object) -> E:
    """``cls(value)``, or a `ValidationError` listing the allowed values."""
    try:
        return cls(value)
    except ValueError:
        choices = ", ".join(repr(member.value) for member in cls)
        raise ValidationError.single("", f"{value!r} is not one of {choices}") from None


def check_list(
    value: object, path: str, problems: Problems, *, what: str = "a list"
) -> tuple[Any, ...]:
    """``value``'s items as a tuple; text, a mapping or a non-iterable is a problem at ``path``.

    Args:
        value: What the caller passed where a list belongs.
        path: The field's name in the problem.
        problems: Where a problem is recorded; the result is then ``()``.
        what: How the problem names what was expected.
    """
    if isinstance(value, (str, bytes, dict)) or not isinstance(value, Iterable):
        problems.add(path, f"expected {what}, got {type(value).__name__}")
        return ()
    return tuple(value)


def check_items(
    value: object,
    path: str,
    problems: Problems,
    cls: type[Any],
    *,
    expected: str = "",
    what: str = "a list",
) -> tuple[Any, ...]:
    """`check_list`, then a problem at ``path[index]`` for each item that is not a ``cls``.

    Args:
        value: What the caller passed where a list of ``cls`` belongs.
        path: The field's name in the problems.
        problems: Where the problems are recorded.
        cls: The type every item must have.
        expected: How an item's problem names what was expected (default
            ``"a <class name>"``).
        what: How the list's problem names what was expected.

    Returns:
        Every item, the wrong ones included, so later checks can skip them.
    """
    items = check_list(value, path, problems, what=what)
    for index, item in enumerate(items):
        if not isinstance(item, cls):
            problems.add(f"{path}[{index}]", f"expected {expected or 'a ' + cls.__name__}")
    return items


def repeated(names: Iterable[str]) -> list[str]:
    """The names that occur more than once, sorted, for a "declared twice" problem."""
    return sorted(name for name, count in Counter(names).items() if count > 1)
