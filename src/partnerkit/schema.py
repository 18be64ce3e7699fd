"""JSON Schema for the models a host accepts from the web, generated from the models.

A portal that takes partners, deal drafts, activities or override requests as
JSON can publish these schemas (in an OpenAPI document, to a form builder) and
validate requests at its edge. `json_schema` reads a model's attrs fields and
their types, so a schema never drifts from the model it describes:

- every field, with its JSON type; ids, slugs, country and currency codes,
  instants, dates, money and decimals with the formats `partnerkit.serialization`
  writes; fields with a default are optional, unknown fields are refused;
- nested models (a deal draft's customer, a partner's contacts, money) as
  ``$defs`` referenced by name.

A document the schema accepts is read by `partnerkit.serialization.from_json`,
which also checks what JSON Schema cannot say (a partner has exactly one primary
contact, an override names a value or a band, an e-mail address is deliverable).
The schema describes the canonical form partnerkit writes; `from_json` is a little
more lenient (a lowercase country code, for one).

Examples:
    >>> from partnerkit.schema import json_schema
    >>> from partnerkit.services import DealDraft
    >>> schema = json_schema(DealDraft)
    >>> schema["required"]
    ['customer', 'amount', 'expected_close_on']
    >>> schema["properties"]["amount"]
    {'$ref': '#/$defs/Money'}
"""

from __future__ import annotations

import enum
import types
import typing
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final

import attrs

from partnerkit._base.countries import COUNTRIES
from partnerkit._base.currencies import MINOR_UNITS
from partnerkit._base.events import Scalar
from partnerkit._base.money import Money
from partnerkit._base.time import Period
from partnerkit.errors import ValidationError
from partnerkit.ledger import ActivityValue
from partnerkit.partners import CustomValue
from partnerkit.serialization import SCHEMA_VERSION_KEY

__all__ = ["DIALECT", "json_schema"]

#: The JSON Schema dialect of the schemas `json_schema` returns.
DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"

_ID: Final = {"type": "string", "minLength": 1, "maxLength": 128, "pattern": r"^[^\s]+$"}
_SLUG: Final = {"type": "string", "pattern": r"^[a-z][a-z0-9_]*$"}
_DECIMAL: Final = {
    "anyOf": [
        {"type": "string", "pattern": r"^[+-]?(\d+(\.\d*)?|\.\d+)$"},
        {"type": "number"},
    ]
}
_INSTANT: Final = {
    "type": "string",
    "format": "date-time",
    "pattern": r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$",
}
_DATE: Final = {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
_PERIOD: Final = {"type": "string", "pattern": r"^-?P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?$"}
_SCALAR: Final = {"type": ["string", "integer", "boolean", "null"]}
_CUSTOM: Final = {
    "anyOf": [
        {"type": ["string", "integer", "boolean"]},
        {
            "type": "object",
            "properties": {"decimal": _DECIMAL},
            "required": ["decimal"],
            "additionalProperties": False,
        },
        {
            "type": "object",
            "properties": {"date": _DATE},
            "required": ["date"],
            "additionalProperties": False,
        },
    ]
}
# Field names whose text has a known format, whatever model they are on.
_NAMED: Final[dict[str, dict[str, Any]]] = {
    "country": {"type": "string", "enum": sorted(COUNTRIES)},
    "currency": {"type": "string", "enum": sorted(MINOR_UNITS)},
    "type": _SLUG,
    "kind": _SLUG,
    "id": _ID,
    "author": _ID,
}


class _Builder:
    def __init__(self) -> None:
        self.defs: dict[str, dict[str, Any]] = {}

    def model(self, cls: type[Any]) -> dict[str, Any]:
        hints = typing.get_type_hints(cls)
        properties: dict[str, Any] = {}
        required: list[str] = []
        for field in attrs.fields(cls):
            if not field.init:
                continue
            name = field.alias or field.name
            properties[name] = self.field(name, hints[field.name])
            if field.default is attrs.NOTHING:
                required.append(name)
        schema: dict[str, Any] = {"type": "object", "title": cls.__name__}
        doc = (cls.__doc__ or "").strip().split("\n", 1)[0]
        if doc:
            schema["description"] = doc
        schema["properties"] = properties
        if required:
            schema["required"] = required
        schema["additionalProperties"] = False
        return schema

    def ref(self, cls: type[Any]) -> dict[str, Any]:
        if cls.__name__ not in self.defs:
            self.defs[cls.__name__] = {}  # a placeholder stops recursion
            self.defs[cls.__name__] = self.model(cls)
        return {"$ref": f"#/$defs/{cls.__name__}"}

    def field(self, name: str, hint: Any) -> dict[str, Any]:
        if name in _NAMED or name.endswith("_id"):
            named = dict(_NAMED.get(name, _ID))
            if hint is str:
                return named
            if set(typing.get_args(hint)) == {str, type(None)}:
                return {"anyOf": [named, {"type": "null"}]}
        return self.type(hint)

    def type(self, hint: Any) -> dict[str, Any]:
        if hint == Scalar:
            return dict(_SCALAR)
        if hint == CustomValue:
            return dict(_CUSTOM)
        if hint == ActivityValue:
            return {"anyOf": [self.ref(Money), _DECIMAL, {"type": "null"}]}
        origin = typing.get_origin(hint)
        args = typing.get_args(hint)
        if origin in (typing.Union, types.UnionType):
            if set(args) - {type(None)} == set(typing.get_args(CustomValue)):
                return {"anyOf": [_CUSTOM, {"type": "null"}]}
            options = [self.type(arg) for arg in args if arg is not type(None)]
            if type(None) in args:
                options.append({"type": "null"})
            return options[0] if len(options) == 1 else {"anyOf": options}
        if origin is tuple or origin is list:
            return {"type": "array", "items": self.type(args[0])}
        if origin is dict:
            return {"type": "object", "additionalProperties": self.type(args[1])}
        return self.plain(hint)

    def plain(self, hint: Any) -> dict[str, Any]:
        if hint is bool:
            return {"type": "boolean"}
        if hint is int:
            return {"type": "integer"}
        if hint is str:
            return {"type": "string"}
        if hint is Decimal:
            return dict(_DECIMAL)
        if hint is datetime:
            return dict(_INSTANT)
        if hint is date:
            return dict(_DATE)
        if hint is Period:
            return dict(_PERIOD)
        if hint is Money:
            self.defs.setdefault(
                "Money",
                {
                    "type": "object",
                    "title": "Money",
                    "description": "An amount in one currency.",
                    "properties": {"amount": _DECIMAL, "currency": _NAMED["currency"]},
                    "required": ["amount", "currency"],
                    "additionalProperties": False,
                },
            )
            return {"$ref": "#/$defs/Money"}
        if isinstance(hint, type) and issubclass(hint, enum.Enum):
            return {"enum": [member.value for member in hint]}
        if isinstance(hint, type) and attrs.has(hint):
            return self.ref(hint)
        raise ValidationError.single("model", f"no JSON Schema for {hint!r}")


def json_schema(model: type[Any]) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of documents `from_json` reads as ``model``.

    Args:
        model: A partnerkit model class, such as `partnerkit.Partner`,
            `partnerkit.services.DealDraft`, `partnerkit.Activity` or
            `partnerkit.services.OverrideRequest`.

    Returns:
        A new dict, safe to change: the schema, with nested models under ``$defs``
        and the optional ``schema_version`` key a document may carry.

    Raises:
        ValidationError: If ``model`` is not an attrs model, or has a field type
            without a JSON form.
    """
    if not (isinstance(model, type) and attrs.has(model)):
        raise ValidationError.single("model", f"expected a partnerkit model class, got {model!r}")
    builder = _Builder()
    schema = {"$schema": DIALECT, **builder.model(model)}
    schema["properties"][SCHEMA_VERSION_KEY] = {"type": "integer", "minimum": 1}
    if builder.defs:
        schema["$defs"] = dict(sorted(builder.defs.items()))
    return schema
