"""Reading metric files for the command line: CSV and JSON, with errors that point.

A metrics CSV has a header row with ``partner_id``, optionally ``as_of``, and one
column per metric. A cell is empty (no data), a whole number, a decimal number
(``12.5``) or money (``12000 USD``). A JSON file is a list of objects with
``partner_id``, optionally ``as_of``, and ``values`` (numbers as JSON numbers or
strings, money as ``"12000 USD"`` or ``{"amount": "12000", "currency": "USD"}``).
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Final

from partnerkit._base.money import Money
from partnerkit._base.time import parse_datetime
from partnerkit.deals import Customer, DealRegistration, DealStatus
from partnerkit.errors import FieldProblem, ValidationError
from partnerkit.metrics import MetricSnapshot, MetricValue

if TYPE_CHECKING:
    from pathlib import Path

_WHOLE: Final = re.compile(r"[+-]?\d+")
_NUMBER: Final = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def read_value(text: str) -> MetricValue:
    """A cell as a metric value: empty is no data; whole numbers, decimals or money."""
    cell = text.strip()
    if not cell:
        return None
    if _WHOLE.fullmatch(cell):
        return int(cell)
    if _NUMBER.fullmatch(cell):
        return Decimal(cell)
    try:
        return Money.parse(cell)
    except ValidationError:
        raise ValidationError.single(
            "", f"{cell!r} is not a number or money; write 12, 12.5 or '12000 USD'"
        ) from None


def _read_csv(text: str, default_as_of: datetime | None) -> list[MetricSnapshot]:
    rows = csv.reader(io.StringIO(text))
    header = next(rows, None)
    if not header or "partner_id" not in header:
        raise ValidationError.single("line 1", "the header row must name a partner_id column")
    columns = [name.strip() for name in header]
    snapshots: list[MetricSnapshot] = []
    problems: list[FieldProblem] = []
    for number, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(columns):
            problems.append(
                FieldProblem(
                    f"line {number}", f"has {len(row)} cells; the header has {len(columns)}"
                )
            )
            continue
        cells = dict(zip(columns, row, strict=True))
        values: dict[str, MetricValue] = {}
        as_of = default_as_of
        for column, (name, cell) in enumerate(cells.items(), start=1):
            where = f"line {number}, column {column} ({name})"
            try:
                if name == "partner_id":
                    continue
                if name == "as_of":
                    as_of = parse_datetime(cell.strip(), "")
                    continue
                values[name] = read_value(cell)
            except ValidationError as error:
                problems += [problem.prefixed(where) for problem in error.problems]
        if as_of is None:
            problems.append(FieldProblem(f"line {number}", "no as_of column and no --as-of given"))
            continue
        try:
            snapshots.append(MetricSnapshot(cells["partner_id"].strip(), as_of, values))
        except ValidationError as error:
            problems += [problem.prefixed(f"line {number}") for problem in error.problems]
    if problems:
        raise ValidationError(problems)
    return snapshots


def _read_json(text: str, default_as_of: datetime | None) -> list[MetricSnapshot]:
    try:
        data = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as error:
        raise ValidationError.single(
            f"line {error.lineno}, column {error.colno}", f"not valid JSON: {error.msg}"
        ) from None
    if not isinstance(data, list):
        raise ValidationError.single("", "expected a JSON list of snapshots")
    snapshots: list[MetricSnapshot] = []
    problems: list[FieldProblem] = []
    for index, item in enumerate(data):
        path = f"[{index}]"
        if not isinstance(item, dict) or not isinstance(item.get("values"), dict):
            problems.append(FieldProblem(path, "expected {partner_id, as_of, values: {...}}"))
            continue
        values: dict[str, MetricValue] = {}
        for name, raw in item["values"].items():
            try:
                if isinstance(raw, dict):
                    values[name] = Money(raw.get("amount"), raw.get("currency"))  # type: ignore[arg-type]
                elif raw is None or (isinstance(raw, (int, Decimal)) and not isinstance(raw, bool)):
                    values[name] = raw
                elif isinstance(raw, str):
                    values[name] = read_value(raw)
                else:
                    raise ValidationError.single("", f"{raw!r} is not a metric value")
            except ValidationError as error:
                problems += [p.prefixed(f"{path}.values.{name}") for p in error.problems]
        try:
            raw_as_of = item.get("as_of")
            as_of = parse_datetime(raw_as_of, "") if raw_as_of is not None else default_as_of
            if as_of is None:
                raise ValidationError.single("as_of", "missing, and no --as-of given")
            snapshots.append(MetricSnapshot(item.get("partner_id"), as_of, values))  # type: ignore[arg-type]
        except ValidationError as error:
            problems += [problem.prefixed(path) for problem in error.problems]
    if problems:
        raise ValidationError(problems)
    return snapshots


def read_snapshots(path: Path, default_as_of: datetime | None) -> list[MetricSnapshot]:
    """Read metric snapshots from a ``.csv`` or ``.json`` file.

    Raises:
        ValidationError: Naming the line and column (CSV) or path (JSON) of every
            bad cell, or saying the file is missing or of another kind.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise ValidationError.single("input", f"cannot read {path}: {error.strerror}") from None
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv(text, default_as_of)
    if suffix == ".json":
        return _read_json(text, default_as_of)
    raise ValidationError.single("input", f"{path.name}: give a .csv or .json file")


_DEAL_COLUMNS: Final = ("id", "partner_id", "customer", "country")


def read_registrations(path: Path) -> list[DealRegistration]:
    """Read deal registrations to check from a CSV file, in submission order.

    Columns: ``id``, ``partner_id``, ``customer``, ``country`` (required),
    ``domain``, ``contact_email``, ``products`` (separated by ``;``) and
    ``submitted_at`` (ISO instant; default: the row order decides priority).

    Raises:
        ValidationError: Naming the line and column of every bad cell.
    """
    if path.suffix.lower() != ".csv":
        raise ValidationError.single("input", f"{path.name}: give a .csv file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise ValidationError.single("input", f"cannot read {path}: {error.strerror}") from None
    rows = csv.DictReader(io.StringIO(text))
    missing = [name for name in _DEAL_COLUMNS if name not in (rows.fieldnames or ())]
    if missing:
        raise ValidationError.single("line 1", f"the header lacks: {', '.join(missing)}")
    columns = {name: index for index, name in enumerate(rows.fieldnames or (), start=1)}
    base = datetime(2000, 1, 1, tzinfo=UTC)
    found: list[DealRegistration] = []
    problems: list[FieldProblem] = []
    for number, row in enumerate(rows, start=2):
        try:
            raw = (row.get("submitted_at") or "").strip()
            at = parse_datetime(raw, "") if raw else base + timedelta(seconds=number)
        except ValidationError as error:
            where = f"line {number}, column {columns['submitted_at']} (submitted_at)"
            problems += [problem.prefixed(where) for problem in error.problems]
            continue
        try:
            customer = Customer(
                (row.get("customer") or "").strip(),
                (row.get("country") or "").strip(),
                domain=(row.get("domain") or "").strip() or None,
                contact_email=(row.get("contact_email") or "").strip() or None,
            )
            found.append(
                DealRegistration(
                    id=(row.get("id") or "").strip(),
                    partner_id=(row.get("partner_id") or "").strip(),
                    customer=customer,
                    amount=Money(0, "USD"),  # amounts play no part in conflicts
                    expected_close_on=at.date() + timedelta(days=365),
                    registered_at=at,
                    products=tuple(
                        p.strip() for p in (row.get("products") or "").split(";") if p.strip()
                    ),
                    status=DealStatus.SUBMITTED,
                    submitted_at=at,
                )
            )
        except ValidationError as error:
            problems += [problem.prefixed(f"line {number}") for problem in error.problems]
    if problems:
        raise ValidationError(problems)
    return found
