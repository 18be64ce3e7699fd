"""Turn partnerkit models into plain dicts and JSON, and back, losslessly.

One configured cattrs converter (never the global one) does the work:

- instants as ISO 8601 strings with their UTC offset, dates as ISO dates;
- ``Decimal`` values and money amounts as strings, so nothing is rounded;
- enums by value, periods as ISO 8601 durations;
- unknown keys, missing keys and wrong types raise `ValidationError` listing every
  bad field by path (``contacts[1].email``), never a bare cattrs or ``KeyError``.

Reading is bounded whatever the input: documents nest at most 64 levels, whole
numbers past 19 digits are never turned into ints, and every number and instant
is checked against partnerkit's bounds before it is used.

A top-level document carries ``"schema_version"``; `from_dict` upgrades documents
written by an older release before reading them and refuses ones from a newer
release.

Example:
    >>> from partnerkit import Money
    >>> from partnerkit.serialization import from_json, to_json
    >>> to_json(Money("12.50", "EUR"))
    '{"amount": "12.50", "currency": "EUR", "schema_version": 1}'
    >>> from_json(Money, '{"amount": "12.50", "currency": "EUR"}')
    Money('12.50', 'EUR')
"""

from __future__ import annotations

import decimal
import enum
import json
import math
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final, TypeVar, cast

import attrs
import cattrs
from cattrs.cols import is_mapping, is_sequence, list_structure_factory, mapping_structure_factory
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError, IterableValidationError
from cattrs.gen import make_dict_structure_fn

from partnerkit._base.events import Scalar
from partnerkit._base.money import Money, check_number, to_decimal
from partnerkit._base.time import _EPOCH, Cadence, Period, parse_date, parse_datetime
from partnerkit._encoders import SURPRISES, activity_text, partner_text
from partnerkit.errors import FieldProblem, ValidationError, join_path
from partnerkit.ledger import Activity, ActivityValue
from partnerkit.metrics import MetricValue
from partnerkit.partners import CustomValue, Partner

__all__ = [
    "SCHEMA_VERSION_KEY",
    "from_dict",
    "from_json",
    "register_migration",
    "schema_version",
    "to_dict",
    "to_json",
]

T = TypeVar("T")
Migration = Callable[[dict[str, Any]], dict[str, Any]]

#: The key under which a top-level document records its model's schema version.
SCHEMA_VERSION_KEY: Final = "schema_version"

# The current schema version of each model whose stored shape has changed at least
# once; every other model is at version 1.
_VERSIONS: dict[type[Any], int] = {}
# (model, from_version) -> function turning a document of from_version into one of
# from_version + 1.
_MIGRATIONS: dict[tuple[type[Any], int], Migration] = {}


def schema_version(cls: type[Any]) -> int:
    """The schema version that `to_dict` writes for ``cls``."""
    return _VERSIONS.get(cls, 1)


def register_migration(cls: type[Any], from_version: int, upgrade: Migration) -> None:
    """Teach `from_dict` to upgrade ``cls`` documents from ``from_version`` to the next.

    Registering the step from version N makes N + 1 the current version of ``cls``
    (unless a later step is already registered). Each step receives the document
    (without the version key) and returns it in the next version's shape.
    """
    _MIGRATIONS[(cls, from_version)] = upgrade
    _VERSIONS[cls] = max(_VERSIONS.get(cls, 1), from_version + 1)


def _type_name(value: object) -> str:
    return type(value).__name__


def _structure_str(value: object, _: type[str]) -> str:
    if value.__class__ is not str and not isinstance(value, str):
        raise ValidationError.single("", f"expected a string, got {_type_name(value)}")
    return value


def _structure_int(value: object, _: type[int]) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise ValidationError.single("", f"expected a whole number, got {value!r}")
    # Bounded before int(): int(Decimal("1E999999999")) would build a billion digits.
    number = check_number(value, "")
    if isinstance(number, Decimal):
        if number != number.to_integral_value():
            raise ValidationError.single("", f"expected a whole number, got {number}")
        return int(number)
    return number


def _structure_bool(value: object, _: type[bool]) -> bool:
    if not isinstance(value, bool):
        raise ValidationError.single("", f"expected true or false, got {value!r}")
    return value


def _structure_float(value: object, _: type[float]) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise ValidationError.single("", f"expected a number, got {_type_name(value)}")
    number = float(value)
    if not math.isfinite(number):
        raise ValidationError.single("", f"{value!r} is not a finite number")
    return number


def _structure_decimal(value: object, _: type[Decimal]) -> Decimal:
    return to_decimal(value, "")


def _structure_datetime(value: object, _: type[datetime]) -> datetime:
    if not isinstance(value, str):
        raise ValidationError.single("", f"expected an ISO 8601 string, got {_type_name(value)}")
    return parse_datetime(value, "")


def _structure_date(value: object, _: type[date]) -> date:
    if not isinstance(value, str):
        raise ValidationError.single("", f"expected an ISO date string, got {_type_name(value)}")
    return parse_date(value, "")


def _check_keys(value: object, cls: type[Any], keys: tuple[str, ...]) -> list[FieldProblem]:
    problems = [
        FieldProblem(str(key), f"unknown field of {cls.__name__}; expected {', '.join(keys)}")
        for key in cast("Mapping[object, object]", value)
        if key not in keys
    ]
    problems += [FieldProblem(key, "required field is missing") for key in keys if key not in value]  # type: ignore[operator]
    return problems


def _expect_object(value: object, cls: type[Any]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValidationError.single(
            "", f"expected an object for {cls.__name__}, got {_type_name(value)}"
        )
    return value


def _structure_money(value: object, _: type[Money]) -> Money:
    if type(value) is dict and len(value) == 2 and "amount" in value and "currency" in value:
        return Money(value["amount"], value["currency"])
    data = _expect_object(value, Money)
    problems = _check_keys(data, Money, ("amount", "currency"))
    try:
        money = Money(data.get("amount", "0"), data.get("currency", "USD"))
    except ValidationError as error:
        problems += [problem for problem in error.problems if problem.path in data]
    if problems:
        raise ValidationError(problems)
    return money


def _unstructure_money(money: Money) -> dict[str, str]:
    return {"amount": f"{money.amount:f}", "currency": money.currency}


def _structure_period(value: object, _: type[Period]) -> Period:
    return Period.parse(cast("str", value), "")


def _structure_cadence(value: object, _: type[Cadence]) -> Cadence:
    data = _expect_object(value, Cadence)
    problems = _check_keys(data, Cadence, ("rule", "anchor"))
    anchor = rule = None
    try:
        anchor = parse_datetime(data["anchor"], "anchor") if "anchor" in data else None
        rule = Cadence(data["rule"], anchor=anchor or _EPOCH) if "rule" in data else None
    except ValidationError as error:
        problems += error.problems
    if problems or rule is None:
        raise ValidationError(problems)
    return rule


def _unstructure_cadence(cadence: Cadence) -> dict[str, str]:
    return {"rule": cadence.rule, "anchor": cadence.anchor.isoformat()}


def _structure_scalar(value: object, _: Any) -> Scalar:
    if value is None or value.__class__ in (str, int, bool):
        return value
    raise ValidationError.single(
        "", f"expected a string, whole number, true, false or null, got {value!r}"
    )


def _structure_activity_value(value: object, type_: Any) -> ActivityValue:
    if value is None:
        if type_ == Money | Decimal:
            raise ValidationError.single("", "expected money or a number, got null")
        return None
    if isinstance(value, Mapping):
        return _structure_money(value, Money)
    return to_decimal(value, "")


def _structure_metric_value(value: object, _: Any) -> MetricValue:
    if value.__class__ is int:
        return value
    return _structure_activity_value(value, None)


# Custom field values are tagged where JSON alone would be ambiguous: a Decimal is
# {"decimal": "12.5"} and a date {"date": "2026-03-01"}, so "12.5" stays text.
def _unstructure_custom_value(value: CustomValue) -> object:
    if isinstance(value, Decimal):
        return {"decimal": f"{value:f}"}
    if isinstance(value, date):
        return {"date": value.isoformat()}
    return value


def _structure_custom_value(value: object, type_: Any) -> CustomValue | None:
    if value is None and type_ != CustomValue:
        return None
    if value.__class__ in (str, int, bool):
        return value
    if isinstance(value, Mapping) and len(value) == 1:
        ((tag, raw),) = value.items()
        if tag == "decimal":
            return to_decimal(raw, "decimal")
        if tag == "date":
            return parse_date(raw, "date")
    raise ValidationError.single(
        "",
        f"expected text, a whole number, true/false, {{'decimal': ...}} or "
        f"{{'date': ...}}, got {value!r}",
    )


def _enum_hook(cls: type[enum.Enum]) -> Callable[[object, type[Any]], enum.Enum]:
    choices = ", ".join(repr(member.value) for member in cls)

    def structure(value: object, _: type[Any]) -> enum.Enum:
        try:
            return cls(value)
        except ValueError:
            raise ValidationError.single("", f"{value!r} is not one of {choices}") from None

    return structure


def _sequence_hook(type_: Any, converter: cattrs.Converter) -> Callable[[object, Any], Any]:
    inner = list_structure_factory(type_, converter)
    origin = getattr(type_, "__origin__", type_)
    make = tuple if origin is tuple else None

    def structure(value: object, target: Any) -> Any:
        if not isinstance(value, (list, tuple)):
            raise ValidationError.single("", f"expected a list, got {_type_name(value)}")
        items = inner(value, target)
        return make(items) if make else items

    return structure


def _mapping_hook(type_: Any, converter: cattrs.Converter) -> Callable[[object, Any], Any]:
    inner = mapping_structure_factory(type_, converter)

    def structure(value: object, target: Any) -> Any:
        if value.__class__ is not dict and not isinstance(value, Mapping):
            raise ValidationError.single("", f"expected an object, got {_type_name(value)}")
        return inner(value, target)

    return structure


def _model_hook(cls: type[Any], converter: cattrs.Converter) -> Callable[[object, Any], Any]:
    inner = make_dict_structure_fn(cls, converter)

    def structure(value: object, target: Any) -> Any:
        if value.__class__ is not dict and not isinstance(value, Mapping):
            raise ValidationError.single(
                "", f"expected an object for {cls.__name__}, got {_type_name(value)}"
            )
        return inner(value, target)

    return structure


def _decimal_text(value: Decimal) -> str:
    return f"{value:f}"


def _build(*, detailed: bool) -> cattrs.Converter:
    converter = cattrs.Converter(forbid_extra_keys=True, detailed_validation=detailed)
    converter.register_structure_hook(str, _structure_str)
    converter.register_structure_hook(int, _structure_int)
    converter.register_structure_hook(bool, _structure_bool)
    converter.register_structure_hook(float, _structure_float)
    converter.register_structure_hook(Decimal, _structure_decimal)
    converter.register_unstructure_hook(Decimal, _decimal_text)
    converter.register_structure_hook(datetime, _structure_datetime)
    converter.register_unstructure_hook(datetime, datetime.isoformat)
    converter.register_structure_hook(date, _structure_date)
    converter.register_unstructure_hook(date, date.isoformat)
    converter.register_structure_hook(Money, _structure_money)
    converter.register_unstructure_hook(Money, _unstructure_money)
    converter.register_structure_hook(Period, _structure_period)
    converter.register_unstructure_hook(Period, Period.isoformat)
    converter.register_structure_hook(Cadence, _structure_cadence)
    converter.register_unstructure_hook(Cadence, _unstructure_cadence)
    converter.register_structure_hook_factory(
        lambda t: isinstance(t, type) and issubclass(t, enum.Enum), _enum_hook
    )
    converter.register_structure_hook_func(lambda t: t == Scalar, _structure_scalar)
    # Money | Decimal (thresholds, targets) reads like an activity value without null.
    amounts = (ActivityValue, Money | Decimal)
    converter.register_structure_hook_func(lambda t: t in amounts, _structure_activity_value)
    converter.register_structure_hook_func(lambda t: t == MetricValue, _structure_metric_value)
    customs = (CustomValue, CustomValue | None)
    converter.register_structure_hook_func(lambda t: t in customs, _structure_custom_value)
    converter.register_unstructure_hook_func(lambda t: t in customs, _unstructure_custom_value)
    converter.register_structure_hook_factory(is_sequence, _sequence_hook)
    converter.register_structure_hook_factory(is_mapping, _mapping_hook)
    converter.register_structure_hook_factory(attrs.has, _model_hook)
    return converter


# Value types that are written as a single JSON string rather than an object.
_SCALARS: Final[frozenset[type[Any]]] = frozenset({Period})

# The fast converter reads well-formed input; when it fails, the detailed one reads
# the same input again to name every bad field. Good input never pays for that.
_FAST: Final = _build(detailed=False)
_DETAILED: Final = _build(detailed=True)


def _problems(error: BaseException, path: str) -> list[FieldProblem]:
    if isinstance(error, ValidationError):
        return [problem.prefixed(path) for problem in error.problems]
    if isinstance(error, ForbiddenExtraKeysError):
        expected = ", ".join(a.name for a in attrs.fields(error.cl)) if attrs.has(error.cl) else ""
        return [
            FieldProblem(
                join_path(path, key),
                f"unknown field of {error.cl.__name__}; expected one of: {expected}",
            )
            for key in sorted(error.extra_fields)
        ]
    if isinstance(error, (ClassValidationError, IterableValidationError)):
        found: list[FieldProblem] = []
        for inner in error.exceptions:
            found += _problems(inner, join_path(path, _note_path(inner)))
        return found
    if isinstance(error, KeyError):
        return [FieldProblem(path, "required field is missing")]
    if isinstance(error, RecursionError):
        return [FieldProblem(path, "the input is nested too deeply")]
    return [FieldProblem(path, f"cannot read this value: {error}")]


def _note_path(error: BaseException) -> str:
    for note in getattr(error, "__notes__", ()):
        name = getattr(note, "name", None)
        if isinstance(name, str):
            return name
        index = getattr(note, "index", None)
        if index is not None:
            return f"[{index!r}]"
    return ""


# What reading a value may raise besides ValidationError: cattrs' own errors, and
# the built-in ones a model's checks or a converter raise on input they refuse.
_READ_ERRORS: Final = (
    cattrs.errors.CattrsError,
    ValueError,
    TypeError,
    LookupError,
    AttributeError,
    ArithmeticError,
)


def _structure(data: object, cls: type[T]) -> T:
    try:
        return _FAST.structure(data, cls)
    except ValidationError as fast_error:
        if not attrs.has(cls):
            raise
        first: BaseException = fast_error
    except _READ_ERRORS as error:
        first = error
    except RecursionError:
        raise ValidationError.single("", "the input is nested too deeply") from None
    try:
        result = _DETAILED.structure(data, cls)
    except _READ_ERRORS as error:
        raise ValidationError(_problems(error, "") or _problems(first, "")) from None
    except RecursionError:
        raise ValidationError.single("", "the input is nested too deeply") from None
    return result


def to_dict(model: object) -> dict[str, Any]:
    """Return ``model`` as a dict of JSON-ready values, with its schema version.

    Raises:
        ValidationError: If ``model`` is not a partnerkit model (an attrs class
            stored as an object; values such as `Period` are strings: use `to_json`).
    """
    data = _FAST.unstructure(model) if attrs.has(type(model)) else None
    if not isinstance(data, dict):
        raise ValidationError.single(
            "model",
            f"expected a partnerkit model, got {_type_name(model)}; "
            f"values such as Period serialise on their own with to_json",
        )
    data[SCHEMA_VERSION_KEY] = schema_version(type(model))
    return data


def from_dict(cls: type[T], data: Mapping[str, Any]) -> T:
    """Build a ``cls`` from a dict made by `to_dict` (or by hand, or by an old release).

    The ``schema_version`` key may be left out for documents written by hand; it is
    then taken to be the current version.

    Raises:
        ValidationError: Listing every bad field by path, or saying the document
            comes from a newer release.
    """
    return _from_document(cls, data, owned=False)


def _from_document(cls: type[T], data: Mapping[str, Any], *, owned: bool) -> T:
    """`from_dict`; with ``owned``, ``data`` is a fresh dict that may be changed in place."""
    if not isinstance(data, Mapping):
        raise ValidationError.single("", f"expected an object, got {_type_name(data)}")
    current = schema_version(cls)
    document: Mapping[str, Any] = data
    version: object = current
    if SCHEMA_VERSION_KEY in data:
        if owned and isinstance(data, dict):
            version = data.pop(SCHEMA_VERSION_KEY)
        else:
            document = {key: value for key, value in data.items() if key != SCHEMA_VERSION_KEY}
            version = data[SCHEMA_VERSION_KEY]
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValidationError.single(
            SCHEMA_VERSION_KEY, f"expected a positive whole number, got {version!r}"
        )
    if version > current:
        raise ValidationError.single(
            SCHEMA_VERSION_KEY,
            f"this {cls.__name__} was written with schema version {version} by a newer "
            f"partnerkit; this release reads up to version {current}: upgrade partnerkit",
        )
    while version < current:
        document = _MIGRATIONS[(cls, version)](dict(document))
        version += 1
    return _structure(document, cls)


#: How deeply a JSON or TOML document may nest lists and objects. partnerkit's own
#: documents nest about ten levels; the cap keeps every reader's recursion shallow.
_MAX_DEPTH: Final = 64
# Dotted TOML keys nest tables too ("a.b.c = 1"), and tomllib's work on one grows
# with the square of its parts, so keys are checked before tomllib sees them.
_TOML_STRING_OR_COMMENT: Final = re.compile(
    r'"""[^"\\]*+(?:(?:\\.|"(?!""))[^"\\]*+)*+"""'  # multi-line basic strings
    r"|'''.*?'''"  # multi-line literal strings
    r'|"[^"\\\n]*+(?:\\.[^"\\\n]*+)*+"'  # basic strings
    r"|'[^'\n]*+'"  # literal strings
    r"|#[^\n]*+",  # comments
    re.DOTALL,
)
# Both start only where a word starts, so a long run of letters or digits is
# scanned once, not once from each of its characters.
_DEEP_TOML_KEY: Final = re.compile(
    rf"(?<![A-Za-z0-9_-])(?:[A-Za-z0-9_-]++[ \t]*+\.[ \t]*+){{{_MAX_DEPTH},}}"
)
_LONG_DIGITS: Final = re.compile(r"(?<![\w.])(?:\d[\d_]{4299,}|0[xob][0-9a-fA-F_]{4300,})")
_NESTED_HINT: Final = f"it nests lists and objects more than {_MAX_DEPTH} levels deep"


class _BadNumberError(Exception):
    """A number literal the parser met and cannot accept; located by the caller."""

    def __init__(self, literal: str, problem: str) -> None:
        super().__init__(literal)
        self.literal = literal
        self.problem = problem


def _reject_constant(name: str) -> None:
    raise _BadNumberError(name, f"{name} is not a number JSON may carry; use a finite number")


def _read_int(text: str) -> int | Decimal:
    # A whole number past 19 characters is out of every partnerkit bound; as a
    # Decimal it costs nothing to hold and the field's own check refuses it by
    # path, where int() would take time (and refuse past 4,300 digits) first.
    return int(text) if len(text) <= 19 else _read_decimal(text)


def _read_decimal(text: str) -> Decimal:
    try:
        return Decimal(text)
    except decimal.InvalidOperation:  # an exponent too long for Decimal itself
        shown = text if len(text) <= 40 else text[:40] + "..."
        raise _BadNumberError(
            text, f"{shown} is too long a number to read; numbers stay below 10**18"
        ) from None


def _guard_float(parse_float: Callable[[str], Any]) -> Callable[[str], Any]:
    if parse_float is Decimal:
        return _read_decimal
    return parse_float


def _located_number(text: str, error: _BadNumberError) -> ValidationError:
    offset = max(text.find(error.literal), 0)
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return ValidationError.single(f"line {line}, column {column}", error.problem)


_DECODER: Final = json.JSONDecoder(
    parse_float=_read_decimal, parse_int=_read_int, parse_constant=_reject_constant
)


def _check_depth(data: object, what: str) -> None:
    """Refuse ``data`` if its lists and dicts nest deeper than 64 levels."""
    pending: list[tuple[object, int]] = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict):
            children: Iterable[object] = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > _MAX_DEPTH:
            raise ValidationError.single("", f"the {what} is too deep: {_NESTED_HINT}")
        pending.extend((child, depth + 1) for child in children)


def _load_json(text: str | bytes | bytearray) -> Any:
    """Parse JSON text as partnerkit reads it, within partnerkit's bounds.

    Numbers with a fraction or exponent become exact Decimals, ``NaN`` and
    ``Infinity`` are refused, whole numbers longer than 19 characters become
    Decimals (which every bound check then refuses by field path), and documents
    nested deeper than 64 levels are refused. Bytes are decoded as UTF-8, 16 or
    32 as JSON allows.

    Raises:
        ValidationError: Naming the line and column of a syntax error, or saying
            why the text cannot be read.
    """
    if isinstance(text, (bytes, bytearray)):
        raw = bytes(text)
        try:
            text = raw.decode(json.detect_encoding(raw))
        except UnicodeDecodeError as error:
            raise ValidationError.single(
                "", f"not valid JSON: byte {error.start} is not {error.encoding} text"
            ) from None
    try:
        data = _DECODER.decode(text)
    except json.JSONDecodeError as error:
        raise ValidationError.single(
            f"line {error.lineno}, column {error.colno}", f"not valid JSON: {error.msg}"
        ) from None
    except _BadNumberError as error:
        raise _located_number(text, error) from None
    except RecursionError:
        raise ValidationError.single("", f"the JSON is too deep: {_NESTED_HINT}") from None
    # Nesting 65 levels deep takes 65 opening brackets: text with fewer (every
    # document partnerkit writes) cannot be too deep, and needs no walk.
    if text.count("[") + text.count("{") > _MAX_DEPTH:
        _check_depth(data, "JSON")
    return data


def _load_toml(text: str, *, parse_float: Callable[[str], Any] = float) -> dict[str, Any]:
    """Parse TOML text within partnerkit's bounds (see `_load_json`).

    Raises:
        ValidationError: Naming the line and column of a syntax error, a dotted key
            or a nesting deeper than 64 levels, or a number too long to read.
    """
    if not isinstance(text, str):
        raise ValidationError.single("", f"expected TOML text, got {_type_name(text)}")
    # Strings become runs of "x" (a quoted key is one key part), keeping every offset.
    bare = _TOML_STRING_OR_COMMENT.sub(lambda match: "x" * len(match[0]), text)
    for pattern, problem in (
        (_DEEP_TOML_KEY, f"a dotted key has more than {_MAX_DEPTH} parts"),
        (_LONG_DIGITS, "a number has more than 4,300 digits; numbers stay below 10**18"),
    ):
        found = pattern.search(bare)
        if found:
            line = text.count("\n", 0, found.start()) + 1
            column = found.start() - (text.rfind("\n", 0, found.start()) + 1) + 1
            raise ValidationError.single(f"line {line}, column {column}", problem)
    try:
        data = tomllib.loads(text, parse_float=_guard_float(parse_float))
    except tomllib.TOMLDecodeError as error:
        raise ValidationError.single("", f"not valid TOML: {error}") from None
    except _BadNumberError as error:
        raise _located_number(text, error) from None
    except RecursionError:
        raise ValidationError.single("", f"the TOML is too deep: {_NESTED_HINT}") from None
    _check_depth(data, "TOML")
    return data


def to_json(value: object, *, indent: int | None = None) -> str:
    """Return a model (see `to_dict`) or a value such as `Period` as JSON text."""
    kind = type(value)
    if kind in _SCALARS:
        return json.dumps(_FAST.unstructure(value))
    # Partners and activities, written in bulk, have hand-made encoders giving
    # exactly the text below (a property test holds them to it).
    if indent is None and kind in _BY_HAND and schema_version(kind) == 1:
        try:
            return _BY_HAND[kind](value)
        except SURPRISES:
            pass
    return json.dumps(to_dict(value), indent=indent, ensure_ascii=False)


_BY_HAND: Final[dict[type[Any], Callable[[Any], str]]] = {
    Partner: partner_text,
    Activity: activity_text,
}


def from_json(cls: type[T], text: str | bytes) -> T:
    """Read a ``cls`` (a model, or a value such as `Period`) from JSON made by `to_json`.

    Numbers with a fraction are read as exact Decimals; ``NaN`` and ``Infinity``
    are refused. Whatever the text holds, the only exception raised is a
    `ValidationError`: nesting deeper than 64 levels, numbers out of partnerkit's
    bounds (below 10**18 in magnitude) and instants outside the years 1900 to 2999
    are refused by path before anything computes with them.

    Raises:
        ValidationError: If the text is not JSON (with the line and column), or for
            every bad field by path.
    """
    if not isinstance(text, (str, bytes, bytearray)):
        raise ValidationError.single("", f"expected JSON text, got {_type_name(text)}")
    data = _load_json(text)
    if cls in _SCALARS:
        return _structure(data, cls)
    return _from_document(cls, data, owned=True)
