"""Trusted construction: building a model from values partnerkit validated itself.

Every partnerkit model validates its fields when it is built, so a model that
exists is valid. Some paths build models whose values were checked already, in bulk:
a scorer assembling its own results, a tier review moving a membership on, storage
stamping a new version on a record it just validated. Validating those values again
would cost more than the work itself, so these helpers set the fields directly.

Use them ONLY for values partnerkit produced or validated itself: never for input
from a user, a file or a database (that goes through the model's constructor or
`partnerkit.serialization`). The setters are generated once per class from its
attrs fields, which is what makes them cheap: the same speed for slotted and
dict-backed classes, no per-field loop at run time.
"""

from __future__ import annotations

from types import MemberDescriptorType
from typing import TYPE_CHECKING, Any, Final, TypeVar, cast

import attrs

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["builder", "evolve_trusted", "trusted", "trusted_from"]

T = TypeVar("T")

_MAKERS: Final[dict[type[Any], Callable[[dict[str, object]], Any]]] = {}
_EVOLVERS: Final[dict[type[Any], Callable[[Any, dict[str, object]], Any]]] = {}
_BUILDERS: Final[dict[type[Any], Callable[..., Any]]] = {}


def trusted_from(cls: type[T], values: dict[str, object]) -> T:
    """An instance of the attrs class ``cls`` with ``values``, without validation.

    Args:
        cls: An attrs class.
        values: A value for every field of ``cls``, already valid.

    Returns:
        The instance, exactly as if ``cls(**values)`` had accepted them.

    Raises:
        KeyError: If a field has no value.
    """
    maker = _MAKERS.get(cls)
    if maker is None:
        maker = _MAKERS[cls] = _generate(cls, "values[{name!r}]", "values")
    return maker(values)  # type: ignore[no-any-return]


def builder(cls: type[T]) -> Callable[..., T]:
    """A function building a ``cls`` from a value for each field, in field order.

    The fastest trusted construction, for hot loops that build many instances
    (storage reading back its own rows): no dict of values, no lookup per call.

    Args:
        cls: An attrs class.

    Returns:
        ``build(*values)``, exactly as if ``cls(*values)`` had accepted them.
    """
    found = _BUILDERS.get(cls)
    if found is None:
        count = len(attrs.fields(cast("Any", cls)))
        arguments = ", ".join(f"value_{index}" for index in range(count))
        found = _BUILDERS[cls] = _generate(cls, "value_{index}", arguments)
    return found


def trusted(cls: type[T], **values: object) -> T:
    """`trusted_from` with keywords: ``trusted(Trend, since=..., delta=...)``."""
    return trusted_from(cls, values)


def evolve_trusted(instance: T, **changes: object) -> T:
    """``attrs.evolve(instance, **changes)`` without validating anything again.

    Args:
        instance: A valid attrs instance.
        changes: New values for some fields, already valid.

    Returns:
        A copy of ``instance`` (of its own class) with ``changes`` applied.
    """
    cls = type(instance)
    evolver = _EVOLVERS.get(cls)
    if evolver is None:
        evolver = _EVOLVERS[cls] = _generate(
            cls, "changes[{name!r}] if {name!r} in changes else old.{name}", "old, changes"
        )
    return evolver(instance, changes)  # type: ignore[no-any-return]


def _generate(cls: type[Any], value: str, arguments: str) -> Callable[..., Any]:
    # Field names come from partnerkit's own attrs classes, never from data.
    names = [field.name for field in attrs.fields(cls)]
    namespace: dict[str, Any] = {"new": object.__new__, "put": object.__setattr__, "cls": cls}
    lines = [f"def build({arguments}):", "    instance = new(cls)"]
    for index, name in enumerate(names):
        field_value = value.format(name=name, index=index)
        slot = _slot(cls, name)
        if slot is None:
            lines.append(f"    put(instance, {name!r}, {field_value})")
        else:
            # A slot's own setter skips the attribute look-up `object.__setattr__`
            # makes by name: about a third less time for a class of many fields.
            namespace[f"set_{index}"] = slot.__set__
            lines.append(f"    set_{index}(instance, {field_value})")
    lines.append("    return instance")
    exec("\n".join(lines), namespace)  # noqa: S102 - source built from attrs field names
    return namespace["build"]  # type: ignore[no-any-return]


def _slot(cls: type[Any], name: str) -> Any:
    """The slot descriptor that stores field ``name`` of a slotted class, else None."""
    for klass in cls.__mro__:
        found = vars(klass).get(name)
        if found is not None:
            return found if isinstance(found, MemberDescriptorType) else None
    return None
