"""A dict that cannot change, for the mapping fields of frozen models."""

from __future__ import annotations

from typing import Any, NoReturn, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class FrozenDict(dict[K, V]):
    """A ``dict`` whose contents cannot change after it is built.

    Frozen models hold their mappings (custom fields, attributes, event data) in one,
    so a value read from storage cannot be edited in place behind the store's back:
    build a changed copy with ``attrs.evolve(model, field={**old, key: value})``.
    It is still a ``dict`` for ``isinstance``, ``json.dumps`` and ``==``.
    """

    __slots__ = ()

    def _refuse(self, *_args: object, **_kwargs: object) -> NoReturn:
        msg = (
            "this mapping belongs to a frozen partnerkit model and cannot change; "
            "build a new model with attrs.evolve(model, field={**old, key: value})"
        )
        raise TypeError(msg)

    __setitem__ = _refuse
    __delitem__ = _refuse
    __ior__ = _refuse
    clear = _refuse
    pop = _refuse
    popitem = _refuse
    setdefault = _refuse
    update = _refuse

    def __reduce__(self) -> tuple[type[FrozenDict[K, V]], tuple[dict[K, V]]]:
        return (type(self), (dict(self),))

    def __copy__(self) -> FrozenDict[K, V]:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> FrozenDict[K, V]:
        return self

    def __repr__(self) -> str:
        return dict.__repr__(self)


EMPTY: FrozenDict[Any, Any] = FrozenDict()


def freeze(mapping: dict[K, V]) -> FrozenDict[K, V]:
    """``mapping`` as a `FrozenDict` (the shared empty one when it is empty)."""
    if type(mapping) is FrozenDict:
        return mapping
    return FrozenDict(mapping) if mapping else EMPTY
