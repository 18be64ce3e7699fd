"""Fields of frozen models that a batch may fill in when they are first read.

A batch over a population (health scores, tier reviews) makes one result per
partner, and the explanation inside each (contributions, evidence) costs more to
build than the result itself, while most results are never read that closely.
`defer` turns such fields of an attrs slotted class into slots that may hold a
`Later` until first read: the batch puts its `Later` there, and the first read
asks it to build the real value, stores it in the slot and returns it.

Everything that reads the field reads it through the descriptor: attribute
access, the ``__eq__``, ``__hash__`` and ``__repr__`` attrs generates,
``__getstate__`` (pickling, copying), `attrs.evolve`, `attrs.asdict` and any
cattrs converter. So no reader ever sees a `Later`, and a model built this way
is equal to one built eagerly with the same values.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Later", "defer"]


class Later:
    """Builds deferred fields of the models a batch made; subclass it and implement `build`.

    One instance usually serves a whole batch: `build` gets the model being read,
    and finds that model's data in the batch (by its partner id, say).
    """

    __slots__ = ()

    def build(self, name: str, instance: Any) -> object:
        """The value of field ``name`` of ``instance``."""
        raise NotImplementedError


class _Deferred:
    """A data descriptor over one slot: a `Later` in it is built on first read."""

    __slots__ = ("name", "slot")

    def __init__(self, name: str, slot: Any) -> None:
        self.name = name
        self.slot = slot

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        if instance is None:
            return self
        value = self.slot.__get__(instance, owner)
        if isinstance(value, Later):
            value = value.build(self.name, instance)
            self.slot.__set__(instance, value)
        return value

    def __set__(self, instance: object, value: object) -> None:
        self.slot.__set__(instance, value)

    def __delete__(self, instance: object) -> None:
        self.slot.__delete__(instance)


def defer(cls: type, *names: str) -> None:
    """Let fields ``names`` of the slotted class ``cls`` hold a `Later` until first read.

    Raises:
        TypeError: If a name is not a slot of ``cls`` itself.
    """
    for name in names:
        slot = cls.__dict__.get(name)
        if slot is None or not hasattr(slot, "__set__") or isinstance(slot, _Deferred):
            msg = f"{cls.__name__}.{name} is not a slot of its own that can be deferred"
            raise TypeError(msg)
        setattr(cls, name, _Deferred(name, slot))
