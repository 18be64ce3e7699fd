"""Reading metric and registration files for the command line, with errors that point.

A metrics CSV has a header row with ``partner_id``, optionally ``as_of``, and one
column per metric. A cell is empty (no data), a whole number, a decimal number
(``12.5``) or money (``12000 USD``), within partnerkit's bounds (below 10**18 in
magnitude, at most 9 decimal places). A JSON file is a list of objects with
``partner_id``, optionally ``as_of``, and ``values`` (numbers as JSON numbers or
strings, money as ``"12000 USD"`` or ``{"amount": "12000", "currency": "USD"}``).

Every file is read through `partnerkit._cli.reading`: regular files only, within
the size limit, in UTF-8, 16 or 32; every problem names the file, line and column.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final

import attrs

from partnerkit._base.money import Money, to_decimal
from partnerkit._base.time import parse_datetime
from partnerkit._cli.reading import (
    Findings,
    cell_problem,
    csv_records,
    data_rows,
    header_columns,
    quote,
    read_json,
    read_text,
    required_columns,
    too_many_rows,
)
from partnerkit.deals import Customer, DealRegistration, DealStatus
from partnerkit.errors import ValidationError
from partnerkit.metrics import MetricSnapshot, MetricValue

if TYPE_CHECKING:
    from collections.abc import Collection, Iterator
    from pathlib import Path


@attrs.frozen
class Row:
    """A snapshot read from a file, and where: for problems found when it is used.

    Attributes:
        where: The file and line (CSV) or index (JSON): ``"metrics.csv, line 3"``.
        snapshot: What the row holds.
    """

    where: str
    snapshot: MetricSnapshot


# Possessive quantifiers: a 200 KiB cell of digits followed by a letter fails in one
# pass instead of being retried at every split of its digits.
_WHOLE: Final = re.compile(r"[+-]?+\d++")
_NUMBER: Final = re.compile(r"[+-]?+(?:\d++(?:\.\d*+)?+|\.\d++)(?:[eE][+-]?+\d++)?+")


def read_value(text: str) -> MetricValue:
    """A cell as a metric value: empty is no data; whole numbers, decimals or money.

    Raises:
        ValidationError: If the cell is none of these, or out of partnerkit's bounds
            (checked before the number is built, however many digits it has).
    """
    cell = text.strip()
    if not cell:
        return None
    if _WHOLE.fullmatch(cell):
        return int(to_decimal(cell, ""))
    if _NUMBER.fullmatch(cell):
        return to_decimal(cell, "")
    try:
        return Money.parse(cell)
    except ValidationError:
        if len(cell.split()) == 2:  # it looked like money: say what was wrong with it
            raise
        raise ValidationError.single(
            "", f"{quote(cell)} is not a number or money; write 12, 12.5 or '12000 USD'"
        ) from None


def _where(name: str, line: int, column: int, header: str) -> str:
    return f"{name}, line {line}, column {column} ({header or 'no name'})"


class _MetricRows:
    """Reads the rows of one metrics CSV into snapshots, collecting every problem."""

    def __init__(
        self,
        name: str,
        columns: list[str],
        default_as_of: datetime | None,
        wanted: Collection[str] | None,
    ) -> None:
        self.name = name
        self.columns = columns
        self.default_as_of = default_as_of
        self.wanted = wanted
        self.findings = Findings(name)
        self.lines: dict[str, int] = {}

    def read(self, number: int, row: list[str]) -> MetricSnapshot | None:
        name, columns, findings = self.name, self.columns, self.findings
        if len(row) != len(columns):
            findings.add(
                f"{name}, line {number}", f"has {len(row)} cells; the header has {len(columns)}"
            )
            return None
        values: dict[str, MetricValue] = {}
        as_of = self.default_as_of
        partner_id = ""
        for column, (header, cell) in enumerate(zip(columns, row, strict=True), start=1):
            where = _where(name, number, column, header)
            problem = cell_problem(cell)
            if problem:
                findings.add(where, problem)
                continue
            try:
                if header == "partner_id":
                    partner_id = cell.strip()
                elif header == "as_of":
                    as_of = None  # a bad instant is reported here, not again below
                    as_of = parse_datetime(cell.strip(), "")
                elif not header:
                    if cell.strip():
                        findings.add(
                            where,
                            "a value in a column without a name; name the column in the "
                            "header row or remove the value",
                        )
                else:
                    value = read_value(cell)  # checked even when nothing reads it
                    if self.wanted is None or header in self.wanted:
                        values[header] = value
            except ValidationError as error:
                findings.add_error(where, error)
        if as_of is None:
            if "as_of" not in columns:
                findings.add(f"{name}, line {number}", "no as_of column and no --as-of given")
            return None
        earlier = self.lines.setdefault(partner_id, number)
        if earlier != number:
            findings.add(
                f"{name}, line {number}",
                f"partner {quote(partner_id)} is also on line {earlier}; give each partner one row",
            )
            return None
        try:
            return MetricSnapshot(partner_id, as_of, values)
        except ValidationError as error:
            findings.add_error(f"{name}, line {number}", error)
            return None


def _read_csv(
    text: str,
    name: str,
    default_as_of: datetime | None,
    wanted: Collection[str] | None,
    max_rows: int,
) -> list[Row]:
    records = csv_records(text, name)
    first = next(records, None)
    if first is None:
        raise ValidationError.single(
            name, "the file is empty; it needs a header row naming partner_id and the metrics"
        )
    header_line, header = first
    columns = header_columns(header, name, header_line)
    if "partner_id" not in columns:
        raise ValidationError.single(
            f"{name}, line {header_line}", "the header row must name a partner_id column"
        )
    rows = _MetricRows(name, columns, default_as_of, wanted)
    snapshots: list[Row] = []
    for number, row in data_rows(records, name, max_rows):
        snapshot = rows.read(number, row)
        if snapshot is not None:
            snapshots.append(Row(f"{name}, line {number}", snapshot))
    rows.findings.raise_if_any()
    return snapshots


def _read_json(
    data: object,
    name: str,
    default_as_of: datetime | None,
    wanted: Collection[str] | None,
    max_rows: int,
) -> list[Row]:
    if not isinstance(data, list):
        raise ValidationError.single(name, "expected a JSON list of snapshots")
    if len(data) > max_rows:
        raise too_many_rows(f"{name}, [{max_rows}]", max_rows)
    snapshots: list[Row] = []
    findings = Findings(name)
    indexes: dict[object, int] = {}
    for index, item in enumerate(data):
        path = f"{name}, [{index}]"
        if not isinstance(item, dict) or not isinstance(item.get("values"), dict):
            findings.add(path, "expected {partner_id, as_of, values: {...}}")
            continue
        values: dict[str, MetricValue] = {}
        for metric, raw in item["values"].items():
            try:
                if isinstance(raw, dict):
                    value: MetricValue = Money(raw.get("amount"), raw.get("currency"))  # type: ignore[arg-type]
                elif isinstance(raw, str):
                    value = read_value(raw)
                else:
                    value = raw  # numbers are checked, and bounded, by MetricSnapshot
                if wanted is None or metric in wanted:
                    values[metric] = value
            except ValidationError as error:
                findings.add_error(f"{path}.values.{metric}", error)
        partner_id = item.get("partner_id")
        earlier = indexes.setdefault(partner_id, index) if isinstance(partner_id, str) else index
        if earlier != index:
            findings.add(
                f"{path}.partner_id",
                f"partner {quote(str(partner_id))} is also at [{earlier}]; give each partner "
                f"one snapshot",
            )
            continue
        try:
            raw_as_of = item.get("as_of")
            as_of = parse_datetime(raw_as_of, "") if raw_as_of is not None else default_as_of
            if as_of is None:
                raise ValidationError.single("as_of", "missing, and no --as-of given")
            snapshot = MetricSnapshot(partner_id, as_of, values)  # type: ignore[arg-type]
            snapshots.append(Row(path, snapshot))
        except ValidationError as error:
            findings.add_error(path, error)
    findings.raise_if_any()
    return snapshots


def read_snapshots(
    path: Path,
    default_as_of: datetime | None,
    *,
    limit: int,
    max_rows: int,
    wanted: Collection[str] | None = None,
) -> list[Row]:
    """Read metric snapshots from a ``.csv`` or ``.json`` file, each with its place.

    Args:
        path: The file.
        default_as_of: The instant for rows without their own ``as_of``.
        limit: The largest file read, in bytes.
        max_rows: The most rows (or JSON snapshots) read.
        wanted: The metrics to keep (every value is checked all the same); all of
            them if ``None``. Keeping only what a model reads keeps memory small.

    Raises:
        ValidationError: Naming the file and the line and column (CSV) or path
            (JSON) of every bad cell, a partner given twice, or saying the file is
            missing, too large, not text, or of another kind.
    """
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".json"):
        raise ValidationError.single(str(path), "give a .csv or .json file")
    if suffix == ".csv":
        text = read_text(path, limit=limit)
        return _read_csv(text, str(path), default_as_of, wanted, max_rows)
    return _read_json(read_json(path, limit=limit), str(path), default_as_of, wanted, max_rows)


_DEAL_COLUMNS: Final = ("id", "partner_id", "customer", "country")
_BASE: Final = datetime(2000, 1, 1, tzinfo=UTC)


def _registration(
    cell: dict[str, str], number: int, columns: dict[str, int], name: str, findings: Findings
) -> DealRegistration | None:
    raw = cell.get("submitted_at", "")
    try:
        at = parse_datetime(raw, "") if raw else _BASE + timedelta(seconds=number)
    except ValidationError as error:
        where = _where(name, number, columns["submitted_at"], "submitted_at")
        findings.add_error(where, error)
        return None
    try:
        customer = Customer(
            cell["customer"],
            cell["country"],
            domain=cell.get("domain") or None,
            contact_email=cell.get("contact_email") or None,
        )
        return DealRegistration(
            id=cell["id"],
            partner_id=cell["partner_id"],
            customer=customer,
            amount=Money(0, "USD"),  # amounts play no part in conflicts
            expected_close_on=at.date() + timedelta(days=365),
            registered_at=at,
            products=tuple(p.strip() for p in cell.get("products", "").split(";") if p.strip()),
            status=DealStatus.SUBMITTED,
            submitted_at=at,
        )
    except ValidationError as error:
        findings.add_error(f"{name}, line {number}", error)
        return None


def iter_registrations(
    text: str, name: str, max_rows: int
) -> Iterator[tuple[int, DealRegistration]]:
    """Each registration in a registrations CSV's text, with its line, in file order.

    Raises:
        ValidationError: After the last row, naming the line and column of every bad
            cell and every id used twice (with the line that used it first).
    """
    records = csv_records(text, name)
    columns = required_columns(records, name, _DEAL_COLUMNS)
    index = {column: position for position, column in enumerate(columns, start=1) if column}
    findings = Findings(name)
    lines: dict[str, int] = {}
    for number, row in records:
        if not any(cell.strip() for cell in row):
            continue
        if len(lines) >= max_rows:
            raise too_many_rows(f"{name}, line {number}", max_rows)
        if len(row) > len(columns) and any(cell.strip() for cell in row[len(columns) :]):
            findings.add(
                f"{name}, line {number}", f"has {len(row)} cells; the header has {len(columns)}"
            )
            continue
        cells: dict[str, str] = {}
        for column, position in index.items():
            cell = row[position - 1] if position <= len(row) else ""
            problem = cell_problem(cell)
            if problem:
                findings.add(_where(name, number, position, column), problem)
            cells[column] = cell.strip()
        registration_id = cells["id"]
        earlier = lines.setdefault(registration_id, number)
        if earlier != number:
            findings.add(
                _where(name, number, index["id"], "id"),
                f"registration {quote(registration_id)} is also on line {earlier}; give each "
                f"registration its own id",
            )
            continue
        found = _registration(cells, number, index, name, findings)
        if found is not None and not findings:
            yield number, found
    findings.raise_if_any()


def read_registrations(path: Path, *, limit: int, max_rows: int) -> list[DealRegistration]:
    """Read deal registrations to check from a CSV file, in submission order.

    Columns: ``id``, ``partner_id``, ``customer``, ``country`` (required),
    ``domain``, ``contact_email``, ``products`` (separated by ``;``) and
    ``submitted_at`` (ISO instant; default: the row order decides priority).

    Raises:
        ValidationError: Naming the file and the line and column of every bad cell,
            both lines of an id used twice, or the row past ``max_rows``.
    """
    if path.suffix.lower() != ".csv":
        raise ValidationError.single(str(path), "give a .csv file")
    text = read_text(path, limit=limit)
    return [registration for _, registration in iter_registrations(text, str(path), max_rows)]
