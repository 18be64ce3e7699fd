"""Helpers every shipped adapter shares: cursors, limits and filter checks."""

from __future__ import annotations

import base64
import binascii
import json
from typing import TYPE_CHECKING

from partnerkit._errors import ValidationError
from partnerkit._time import to_utc

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime

    from partnerkit.ledger import Activity

__all__ = [
    "check_limit",
    "decode_cursor",
    "encode_cursor",
    "kind_filter",
    "time_filter",
]


def encode_cursor(kind: str, last_key: str) -> str:
    """An opaque cursor that resumes a ``kind`` query after ``last_key``."""
    raw = json.dumps([kind, last_key], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str | None) -> str | None:
    """The key a cursor resumes after, or ``None`` for the first page.

    Raises:
        ValidationError: If the cursor is malformed or belongs to another query.
    """
    if cursor is None:
        return None
    problem = ValidationError.single(
        "cursor", "not a cursor from this query; pass the next_cursor of the previous page"
    )
    if not isinstance(cursor, str):
        raise problem
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        tag, last_key = json.loads(raw)
    except (ValueError, TypeError, binascii.Error):
        raise problem from None
    if tag != kind or not isinstance(last_key, str):
        raise problem
    return last_key


def check_limit(limit: object, maximum: int) -> int:
    """``limit`` if it is a whole number from 1 to ``maximum``."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= maximum:
        raise ValidationError.single("limit", f"expected a whole number from 1 to {maximum}")
    return limit


def kind_filter(kinds: Iterable[str] | None) -> frozenset[str] | None:
    """The kinds filter as a set (``None``: every kind)."""
    if kinds is None:
        return None
    if isinstance(kinds, str):
        return frozenset({kinds})
    return frozenset(kinds)


def time_filter(
    since: datetime | None, until: datetime | None
) -> tuple[datetime | None, datetime | None]:
    """The since/until bounds in UTC (naive instants are refused)."""
    return (
        None if since is None else to_utc(since, "since"),
        None if until is None else to_utc(until, "until"),
    )


def activity_matches(
    activity: Activity,
    kinds: frozenset[str] | None,
    since: datetime | None,
    until: datetime | None,
) -> bool:
    """Whether ``activity`` passes the kinds and time filters."""
    at = activity.occurred_at
    return (
        (kinds is None or activity.kind in kinds)
        and (since is None or at >= since)
        and (until is None or at <= until)
    )
