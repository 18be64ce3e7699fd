"""Deferred fields: a `Later` in a slot is built on first read and never seen by readers."""

import pickle
from typing import Any

import attrs
import pytest

from partnerkit._base.later import Later, defer


@attrs.frozen
class Point:
    name: str
    parts: tuple[int, ...]


defer(Point, "parts")


class Counting(Later):
    __slots__ = ("calls",)

    def __init__(self) -> None:
        self.calls = 0

    def build(self, name: str, instance: Any) -> object:
        self.calls += 1
        return (len(instance.name), 2)


def test_a_deferred_field_is_built_once_on_first_read() -> None:
    later = Counting()
    point = Point("abc", later)  # type: ignore[arg-type]
    assert later.calls == 0
    assert point.parts == (3, 2)
    assert point.parts == (3, 2)
    assert later.calls == 1


def test_equality_repr_and_pickling_see_the_built_value() -> None:
    eager = Point("abc", (3, 2))
    assert Point("abc", Counting()) == eager  # type: ignore[arg-type]
    assert repr(Point("abc", Counting())) == repr(eager)  # type: ignore[arg-type]
    assert pickle.loads(pickle.dumps(Point("abc", Counting()))) == eager  # type: ignore[arg-type]
    assert attrs.asdict(Point("abc", Counting())) == attrs.asdict(eager)  # type: ignore[arg-type]


def test_only_an_own_slot_can_be_deferred() -> None:
    with pytest.raises(TypeError, match=r"Point\.missing"):
        defer(Point, "missing")
    with pytest.raises(TypeError, match=r"Point\.parts"):
        defer(Point, "parts")  # already deferred
