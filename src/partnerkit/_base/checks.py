"""Small field checks shared by the domain models; each raises `ValidationError`."""

from __future__ import annotations

import enum
import re
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping
from functools import partial
from typing import Any, Final, TypeVar

from partnerkit._base.ids import check_id
from partnerkit._base.time import to_utc
from partnerkit.errors import Problems, ValidationError

E = TypeVar("E", bound=enum.Enum)
#: A field check: the value as given in, the value to keep out, or `ValidationError`.
Checker = Callable[[Any], Any]

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
    # Printable text has no whitespace but the ASCII space, so text without a
    # space at either end or two in a row is already collapsed.
    if value.isprintable() and value[:1] != " " and value[-1:] != " " and "  " not in value:
        text = value
    else:
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


def check_fields(
    instance: object,
    problems: Problems,
    checks: Mapping[str, Checker],
    *,
    check_only: Collection[str] = (),
) -> None:
    """Check a frozen model's fields in order, recording every problem under its field.

    Each field's checked value (a UTC instant, an enum member, collapsed text)
    replaces the given one, ``None`` where the check failed, so call
    ``problems.raise_if_any()`` before trusting the fields.

    Args:
        instance: The model, from its ``__attrs_post_init__``.
        problems: Where the problems are recorded.
        checks: Field name to the checker of its value.
        check_only: Fields that are checked but keep the value as given.
    """
    for name, checker in checks.items():
        value = problems.check(name, checker, getattr(instance, name))
        if name not in check_only:
            object.__setattr__(instance, name, value)


def an_id(value: object) -> str:
    """`check_id` for a field whose name the caller's `Problems` supplies."""
    return check_id(value, "")


def an_instant(value: Any) -> Any:
    """`to_utc` for a field whose name the caller's `Problems` supplies."""
    return to_utc(value, "")


def one_of(cls: type[E]) -> Checker:
    """A checker for a member of the enum ``cls``."""
    return partial(check_enum, cls)


def a_slug(what: str) -> Checker:
    """A checker for a slug that problems call ``what`` (``"tier id"``)."""
    return partial(check_slug, what=what)


def a_text(*, required: bool, limit: int = MAX_NAME) -> Checker:
    """A checker for text, as `check_text`."""
    return partial(check_text, required=required, limit=limit)


def optional(checker: Checker) -> Checker:
    """``checker``, letting ``None`` through."""

    def check(value: object) -> Any:
        return None if value is None else checker(value)

    return check
