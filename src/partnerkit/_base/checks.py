"""Small field checks shared by the domain models; each raises `ValidationError`."""

from __future__ import annotations

import enum
import re
from typing import Final, TypeVar

from partnerkit.errors import ValidationError

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
