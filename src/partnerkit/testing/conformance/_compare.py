"""Exact comparison of what an adapter returns with what the suite stored.

``==`` hides a lossy adapter: ``Decimal("1.5") == Decimal("1.50")``, ``True == 1``
and ``date(2026, 1, 1) == datetime(2026, 1, 1)`` all hold. `assert_same` compares
field by field, by type as well as value, and names the path to the first
difference, such as ``partner.region: expected 'Nordics', got ''``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import cast

import attrs

__all__ = ["assert_same"]


def assert_same(actual: object, expected: object, path: str) -> None:
    """Fail, naming the field path, unless ``actual`` is ``expected`` after a round-trip.

    Stricter than ``==``: ``Decimal("1.5") == Decimal("1.50")``, ``True == 1`` and
    ``date(2026, 1, 1) == datetime(2026, 1, 1)`` would all hide a lossy adapter.
    Enum members and their string values count as the same (``PartnerType.MSP`` and
    ``"msp"``), and aware datetimes as the same when they are the same instant.

    Raises:
        AssertionError: Saying where the first difference is, and both values there.
    """
    difference = _difference(actual, expected, path)
    if difference is not None:
        raise AssertionError(difference)


def _difference(actual: object, expected: object, path: str) -> str | None:
    """How ``actual`` first differs from ``expected``, or ``None`` if it does not."""
    if attrs.has(type(expected)):
        if type(actual) is not type(expected):
            return f"{path}: expected a {type(expected).__name__}, got {actual!r}"
        fields = attrs.fields(cast("type[attrs.AttrsInstance]", type(expected)))
        # A field left out of eq is a cache (a program's compiled engine), not data.
        pairs = [
            (getattr(actual, f.name), getattr(expected, f.name), f"{path}.{f.name}")
            for f in fields
            if f.eq
        ]
    elif isinstance(expected, dict):
        if not isinstance(actual, dict):
            return f"{path}: expected a dict, got {actual!r}"
        missing = sorted(map(repr, expected.keys() - actual.keys()))
        extra = sorted(map(repr, actual.keys() - expected.keys()))
        if missing or extra:
            return f"{path}: keys missing {missing}, unexpected {extra}"
        pairs = [(actual[key], value, f"{path}[{key!r}]") for key, value in expected.items()]
    elif isinstance(expected, (tuple, list)):
        if not isinstance(actual, type(expected)):
            return f"{path}: expected a {type(expected).__name__}, got {actual!r}"
        if len(actual) != len(expected):
            return f"{path}: expected {len(expected)} items, got {len(actual)}"
        pairs = [
            (got, want, f"{path}[{index}]")
            for index, (got, want) in enumerate(zip(actual, expected, strict=True))
        ]
    else:
        return _scalar_difference(actual, expected, path)
    for got, want, where in pairs:
        difference = _difference(got, want, where)
        if difference is not None:
            return difference
    return None


def _scalar_difference(actual: object, expected: object, path: str) -> str | None:
    """`_difference` for a value that holds no other values."""
    wanted, got = repr(expected), repr(actual)
    if expected is None or isinstance(expected, bool):
        same = actual is expected
    elif isinstance(expected, int):
        same = type(actual) is int and actual == expected
        wanted, got = f"the int {expected!r}", f"{actual!r} ({type(actual).__name__})"
    elif isinstance(expected, Decimal):
        same = isinstance(actual, Decimal) and actual.as_tuple() == expected.as_tuple()
        wanted = f"{expected!r} exactly (digits and exponent)"
    elif isinstance(expected, datetime):
        if not isinstance(actual, datetime):
            return f"{path}: expected a datetime, got {actual!r}"
        if actual.tzinfo is None:
            return f"{path}: {actual!r} came back naive"
        same, wanted = actual == expected, f"the instant {expected!r}"
    elif isinstance(expected, date):
        same, wanted = type(actual) is date and actual == expected, f"the date {expected!r}"
    elif isinstance(expected, str):
        same = isinstance(actual, str) and actual == expected
    else:
        same = type(actual) is type(expected) and actual == expected
    return None if same else f"{path}: expected {wanted}, got {got}"
