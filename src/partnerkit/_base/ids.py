"""Identifiers: opaque strings, and a generator of sortable unique ones."""

from __future__ import annotations

import os
import threading
import weakref
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

from partnerkit._base.time import Clock, SystemClock
from partnerkit.errors import ValidationError

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["IdGenerator", "check_id", "new_id"]

# Crockford's base32: no I, L, O or U, so ids survive being read aloud or retyped,
# and the alphabet is in ASCII order, so string order is time order.
_ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_RANDOM_BITS: Final = 80
_RANDOM_MAX: Final = (1 << _RANDOM_BITS) - 1
_MAX_LENGTH: Final = 128
_PREFIX_CHARS: Final = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, digit = divmod(value, 32)
        chars.append(_ALPHABET[digit])
    return "".join(reversed(chars))


class IdGenerator:
    """Mints unique ids that sort by creation time, like ULIDs.

    An id is an optional prefix, then 10 characters of milliseconds since the Unix
    epoch and 16 characters of randomness from ``os.urandom``:
    ``ptn_01JD8X3Q4T8W9C2VQK7N5R1M0A``. Within one process, ids from one generator
    strictly increase even within one millisecond; across processes the 80 random
    bits make a collision vanishingly unlikely, and a forked child never continues
    its parent's sequence.

    Args:
        clock: Where the time part comes from (the system clock by default).
    """

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._last_ms = -1
        self._last_random = 0
        forget = weakref.WeakMethod(self._forget)
        os.register_at_fork(after_in_child=lambda: _call_if_alive(forget))

    def _forget(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = -1

    def __call__(self, prefix: str = "") -> str:
        """Return a new id, ``prefix + "_" + 26 characters`` when a prefix is given.

        Args:
            prefix: Up to 16 lowercase letters or digits naming the kind of record,
                such as ``"ptn"``; empty for none.
        """
        if prefix and (len(prefix) > 16 or not set(prefix) <= _PREFIX_CHARS):
            raise ValidationError.single(
                "prefix", f"{prefix!r}: use up to 16 lowercase letters or digits"
            )
        now = self._clock.now()
        millis = int((now - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds() * 1000)
        with self._lock:
            if millis <= self._last_ms:
                # Same (or an earlier, clock-stepped) millisecond: stay monotonic.
                millis = self._last_ms
                randomness = self._last_random + 1
                if randomness > _RANDOM_MAX:
                    millis += 1
                    randomness = int.from_bytes(os.urandom(10), "big") >> 1
            else:
                # Top bit clear leaves room to count up within the millisecond.
                randomness = int.from_bytes(os.urandom(10), "big") >> 1
            self._last_ms = millis
            self._last_random = randomness
        body = _encode(millis, 10) + _encode(randomness, 16)
        return f"{prefix}_{body}" if prefix else body


def _call_if_alive(method: weakref.WeakMethod[Callable[[], None]]) -> None:
    bound = method()
    if bound is not None:
        bound()


_default = IdGenerator()


def new_id(prefix: str = "") -> str:
    """Return a new sortable unique id from the process-wide `IdGenerator`."""
    return _default(prefix)


def check_id(value: object, field: str = "id") -> str:
    """Return ``value`` if it is usable as an id, else raise `ValidationError`.

    partnerkit treats ids as opaque: a host may bring its own (UUIDs, database keys,
    CRM ids). They must be non-empty strings of at most 128 printable characters
    without whitespace.
    """
    if not isinstance(value, str):
        raise ValidationError.single(field, f"expected an id string, got {type(value).__name__}")
    if not value or len(value) > _MAX_LENGTH:
        raise ValidationError.single(field, "ids must have 1 to 128 characters")
    if not is_valid_id(value):
        raise ValidationError.single(field, f"{value!r}: ids cannot contain spaces or controls")
    return value


def is_valid_id(value: str) -> bool:
    """Whether ``value`` is 1 to 128 printable characters without whitespace.

    ``str.isprintable`` is false for every whitespace character but the ASCII
    space, so one C-level call and one search answer it.
    """
    return 0 < len(value) <= _MAX_LENGTH and value.isprintable() and " " not in value
