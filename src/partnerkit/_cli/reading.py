"""Reading the files the command line is given, whatever they turn out to hold.

The command line meets files exported from spreadsheets and CRMs, so every file a
command reads (metrics, models, programs, registrations) comes through here:

- only regular files are read: a named pipe would block for ever and a link to
  ``/dev/zero`` would never end, so both are refused by what they are, before
  anything is read;
- a file larger than the size limit (10 MiB unless ``--max-size`` says otherwise)
  is refused from its size alone, and reading stops at the limit if it grows;
- text is UTF-8, with or without a byte order mark, or UTF-16 or UTF-32 with one;
  anything else is refused naming the first bad byte's offset, line and column,
  with the fix (re-save as UTF-8);
- CSV records carry the line they start on, duplicate header names are refused,
  and the CSV field limit is the size limit, so no cell is too long for ``csv``;
- every problem names the file and the line and column (or the path in a JSON or
  TOML document), and at most `MAX_SHOWN` are listed, with a count of the rest;
- text written back as CSV is defused against spreadsheet formulas (`defuse`).
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
import stat
from typing import TYPE_CHECKING, Any, Final, TypeVar

from partnerkit.errors import FieldProblem, ValidationError
from partnerkit.serialization import _load_json

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from pathlib import Path

T = TypeVar("T")

#: The size limit of every file a command reads, unless ``--max-size`` raises it.
DEFAULT_MAX_BYTES: Final = 10 * 1024 * 1024
#: How many rows (or JSON snapshots) ``score`` and ``tiers`` read, unless
#: ``--max-rows`` raises it: memory and time grow with every row.
DEFAULT_MAX_ROWS: Final = 100_000
#: How many registrations ``deals check`` reads unless ``--max-rows`` raises it:
#: each is compared with the similar ones before it, which costs more per row.
DEFAULT_MAX_REGISTRATIONS: Final = 10_000
#: How many problems an error lists before it only counts the rest.
MAX_SHOWN: Final = 100

_MIB: Final = 1024 * 1024
_CHUNK: Final = 1024 * 1024
# Byte order marks, the four-byte UTF-32 ones before UTF-16's, which they begin with.
_BOMS: Final = (
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32"),
    (codecs.BOM_UTF8, "utf-8", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16"),
)
_RESAVE: Final = (
    "re-save the file as UTF-8 (in Excel: File > Save As > 'CSV UTF-8'; in "
    "LibreOffice: character set 'Unicode (UTF-8)')"
)
_SIZE: Final = re.compile(
    r"(?P<number>\d{1,12}(?:\.\d{1,3})?)\s*(?P<unit>[KMG]i?B?|B)?", re.IGNORECASE
)
_UNITS: Final = {"": 1, "B": 1, "K": 1024, "M": _MIB, "G": 1024 * _MIB}
# OWASP's rule for CSV injection: a cell a spreadsheet would read as a formula
# starts with one of these.
_FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER: Final = re.compile(r"-?\d+(?:\.\d+)?")
_LONG_RUN: Final = re.compile(r"\S{81,}")


def quote(text: str, limit: int = 40) -> str:
    """``text`` quoted for a message, shortened when long so messages stay readable."""
    return repr(text) if len(text) <= limit else repr(text[:limit]) + "..."


def parse_size(text: str) -> int:
    """Read a size such as ``20MB``, ``512KiB``, ``1.5GB`` or ``1048576`` (bytes).

    K, M and G count in 1,024s (a "MB" here is a MiB), as file managers mostly do.

    Raises:
        ValueError: If ``text`` is not a size (argparse turns this into a usage error).
    """
    match = _SIZE.fullmatch(text.strip())
    if not match:
        msg = f"{text!r} is not a size; write it like 20MB, 512KB or 1048576"
        raise ValueError(msg)
    unit = (match["unit"] or "").upper()[:1]
    size = int(float(match["number"]) * _UNITS[unit])
    if size < 1:
        msg = f"{text!r} is too small; give at least 1 byte"
        raise ValueError(msg)
    return size


def _megabytes(size: int) -> str:
    return f"{size / _MIB:,.1f} MB" if size >= _MIB // 10 else f"{size:,} bytes"


def _kind_problem(mode: int) -> str | None:
    """What is wrong with reading a file of this mode, or ``None`` for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a directory, not a file; give the path of a file in it"
    if stat.S_ISFIFO(mode):
        what = "a named pipe (FIFO)"
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        what = "a device"
    elif stat.S_ISSOCK(mode):
        what = "a socket"
    else:
        what = "not a regular file"
    return (
        f"is {what}; partnerkit reads regular files only, whose size it can check "
        f"first: save the data to a file and give its path"
    )


def _os_problem(error: OSError) -> str:
    if isinstance(error, FileNotFoundError):
        return "no such file; check the path"
    if isinstance(error, PermissionError):
        return "permission denied; check the file's permissions"
    return f"cannot read it: {error.strerror or error}"


def read_text(path: Path, *, limit: int = DEFAULT_MAX_BYTES) -> str:
    """Read a regular file of at most ``limit`` bytes as text (see the module docs).

    Raises:
        ValidationError: Naming the file and saying what it is, how large, or where
            its text is not UTF-8, UTF-16 or UTF-32, and what to do about it.
    """
    name = str(path)
    try:
        # stat() follows links, so a link to /dev/zero is seen as the device it is.
        found = _kind_problem(os.stat(path).st_mode)
    except OSError as error:
        raise ValidationError.single(name, _os_problem(error)) from None
    if found:
        raise ValidationError.single(name, found)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    flags |= getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    try:
        handle = os.open(path, flags)
    except OSError as error:
        raise ValidationError.single(name, _os_problem(error)) from None
    try:
        # Checked again on what was opened: the path may have changed since stat().
        info = os.fstat(handle)
        found = _kind_problem(info.st_mode)
        if found:
            raise ValidationError.single(name, found)
        if info.st_size > limit:
            raise _too_large(name, info.st_size, limit)
        chunks: list[bytes] = []
        total = 0
        while chunk := os.read(handle, min(_CHUNK, limit + 1 - total)):
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:  # it grew while being read
                raise _too_large(name, total, limit)
    except OSError as error:
        raise ValidationError.single(name, _os_problem(error)) from None
    finally:
        os.close(handle)
    return decode(b"".join(chunks), name)


def _too_large(name: str, size: int, limit: int) -> ValidationError:
    suggestion = -(-size // _MIB) + 1
    return ValidationError.single(
        name,
        f"is {_megabytes(size)}{'+' if size == limit + 1 else ''}, over the "
        f"{_megabytes(limit)} limit; if the file is right, raise the limit with "
        f"--max-size {suggestion}MB",
    )


def too_many_rows(where: str, limit: int) -> ValidationError:
    """The error for a file with more than ``limit`` rows, found at ``where``."""
    return ValidationError.single(
        where,
        f"the file has more than {limit:,} rows; if it is right, raise the limit with "
        f"--max-rows {limit * 2}",
    )


def _position(text: str) -> tuple[int, int]:
    """The line and column just after ``text``, counting lines as CSV does."""
    line = text.count("\n") + text.count("\r") - text.count("\r\n") + 1
    start = max(text.rfind("\n"), text.rfind("\r")) + 1
    return line, len(text) - start + 1


def decode(raw: bytes, name: str) -> str:
    """Decode a file's bytes: UTF-8 (BOM or not), or UTF-16/UTF-32 with a BOM.

    Raises:
        ValidationError: Naming the byte offset, line and column of the first byte
            that is not text, or of a NUL character (binary data, or UTF-16
            without a BOM), with the fix.
    """
    codec, label, skip = "utf-8", "UTF-8", 0
    for bom, bom_codec, bom_label in _BOMS:
        if raw.startswith(bom):
            codec, label, skip = bom_codec, bom_label, len(bom)
            break
    body = memoryview(raw)[skip:]
    bad: UnicodeDecodeError | None = None
    try:
        text = codecs.decode(body, codec)
    except UnicodeDecodeError as error:
        bad = error
        text = codecs.decode(body[: error.start], codec)  # the text before it
    # A NUL before the first bad byte says more (binary, or UTF-16 without a BOM).
    nul = text.find("\0")
    if nul >= 0:
        line, column = _position(text[:nul])
        offset = skip + len(text[:nul].encode(codec))
        raise ValidationError.single(
            f"{name}, line {line}, column {column}",
            f"byte {offset:,} is a NUL character: this is a binary file, or UTF-16 "
            f"text without a byte order mark; {_RESAVE}",
        )
    if bad is not None:
        line, column = _position(text)
        offset = skip + bad.start
        byte = f"0x{raw[offset]:02X}" if offset < len(raw) else "the end"
        guess = " (it may be Latin-1 or Windows-1252)" if label == "UTF-8" else ""
        raise ValidationError.single(
            f"{name}, line {line}, column {column}",
            f"byte {offset:,} ({byte}) is not {label} text{guess}; {_RESAVE}",
        )
    return text


class Findings:
    """Problems found in one file, listed up to `MAX_SHOWN` and counted past that.

    A file with a mistake on every row would otherwise make a message as large as
    the file itself.
    """

    __slots__ = ("_count", "_name", "_shown")

    def __init__(self, name: str) -> None:
        self._name = name
        self._shown: list[FieldProblem] = []
        self._count = 0

    def __bool__(self) -> bool:
        return self._count > 0

    def add(self, where: str, message: str) -> None:
        """Record one problem at ``where`` (a line and column, already with the file).

        A run of over 80 characters without a space in ``message`` (a quoted
        200 KiB cell) is shortened to its start and end.
        """
        self._count += 1
        if len(self._shown) < MAX_SHOWN:
            short = _LONG_RUN.sub(lambda run: f"{run[0][:40]}...{run[0][-8:]}", message)
            self._shown.append(FieldProblem(where, short))

    def add_error(self, where: str, error: ValidationError) -> None:
        """Record each of ``error``'s problems, their paths read from ``where``."""
        for problem in error.problems:
            path = problem.path
            self.add(f"{where}, {path}" if path and where else where or path, problem.message)

    def raise_if_any(self) -> None:
        """Raise one `ValidationError` with what was found, if anything was."""
        if not self._count:
            return
        problems = list(self._shown)
        hidden = self._count - len(problems)
        if hidden:
            problems.append(
                FieldProblem(
                    self._name,
                    f"and {hidden:,} more problems like these; fix the ones above first",
                )
            )
        raise ValidationError(problems)


def in_file(name: str, error: ValidationError) -> ValidationError:
    """``error`` with every problem's path read inside the file ``name``."""
    findings = Findings(name)
    findings.add_error(name, error)
    try:
        findings.raise_if_any()
    except ValidationError as located:
        return located
    return error  # pragma: no cover - an error always has a problem


def csv_records(text: str, name: str) -> Iterator[tuple[int, list[str]]]:
    """Each CSV record of ``text`` with the line it starts on.

    Lines end in LF, CR LF or CR. A cell may be as long as the
    whole text: the CSV field limit is raised to it (and restored afterwards).

    Raises:
        ValidationError: Naming the line, if the CSV itself is malformed.
    """
    previous = csv.field_size_limit()
    csv.field_size_limit(max(previous, len(text) + 1))
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        line = 1
        try:
            for cells in reader:
                yield line, cells
                line = reader.line_num + 1
        except csv.Error as error:
            raise ValidationError.single(
                f"{name}, line {reader.line_num}",
                f"cannot read this CSV record ({error}); check its quotes",
            ) from None
    finally:
        csv.field_size_limit(previous)


def header_columns(cells: Sequence[str], name: str, line: int) -> list[str]:
    """The header row's column names, stripped; duplicates are refused.

    Raises:
        ValidationError: Naming both columns of every name used twice.
    """
    columns = [cell.strip() for cell in cells]
    first: dict[str, int] = {}
    findings = Findings(name)
    for index, column in enumerate(columns, start=1):
        if not column:
            continue
        if column in first:
            findings.add(
                f"{name}, line {line}, column {index}",
                f"{quote(column)} is also the name of column {first[column]}; each column "
                f"needs its own name: rename or remove one of them",
            )
        else:
            first[column] = index
    findings.raise_if_any()
    return columns


def required_columns(
    records: Iterator[tuple[int, list[str]]], name: str, required: Sequence[str]
) -> list[str]:
    """The column names of the header, the first of ``records``, which names ``required``.

    An empty file is read as an empty header: it lacks every required column.

    Raises:
        ValidationError: Naming the header line and the columns it lacks, or both
            columns of a name used twice.
    """
    first = next(records, None)
    header_line, header = first if first is not None else (1, [])
    columns = header_columns(header, name, header_line)
    missing = [column for column in required if column not in columns]
    if missing:
        raise ValidationError.single(
            f"{name}, line {header_line}", f"the header lacks: {', '.join(missing)}"
        )
    return columns


def data_rows(
    records: Iterator[tuple[int, list[str]]], name: str, max_rows: int
) -> Iterator[tuple[int, list[str]]]:
    """The records after the header that hold anything, with their lines.

    Raises:
        ValidationError: At the row past ``max_rows`` (`too_many_rows`).
    """
    count = 0
    for number, row in records:
        if not any(cell.strip() for cell in row):
            continue
        count += 1
        if count > max_rows:
            raise too_many_rows(f"{name}, line {number}", max_rows)
        yield number, row


def cell_problem(cell: str) -> str | None:
    """What is wrong with a CSV cell whatever its column, or ``None``."""
    if "\n" in cell or "\r" in cell:
        return (
            "the cell holds a line break, so a quote opened in it may never close; "
            "close the quote or remove the line break"
        )
    return None


def read_json(path: Path, *, limit: int) -> Any:
    """Read a JSON file within partnerkit's bounds (see `partnerkit.serialization`).

    Raises:
        ValidationError: Naming the file, and the line and column of a syntax error.
    """
    return located(str(path), _load_json, read_text(path, limit=limit))


def read_document(
    path: Path, *, limit: int, from_toml: Callable[[str], T], from_data: Callable[[Any], T]
) -> T:
    """A document from a ``.toml`` file, or else from a JSON one.

    Args:
        path: The file.
        limit: Its size limit in bytes.
        from_toml: Builds the document from a TOML file's text.
        from_data: Builds it from a JSON file's data.

    Raises:
        ValidationError: Naming the file, and every problem by its path inside it.
    """
    if path.suffix.lower() == ".toml":
        return located(str(path), from_toml, read_text(path, limit=limit))
    return located(str(path), from_data, read_json(path, limit=limit))


def located(name: str, read: Callable[[Any], T], data: Any) -> T:
    """``read(data)``, with the paths of any problem read inside the file ``name``.

    Raises:
        ValidationError: ``read``'s, each problem prefixed with ``name``.
    """
    try:
        return read(data)
    except ValidationError as error:
        raise in_file(name, error) from None


def defuse(cell: object) -> object:
    """A value for CSV output that no spreadsheet will run as a formula.

    Text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a
    leading ``'`` (OWASP's advice), except plain numbers such as ``-12.5``. Other
    values pass through.
    """
    if (
        isinstance(cell, str)
        and cell.startswith(_FORMULA_STARTS)
        and not _PLAIN_NUMBER.fullmatch(cell)
    ):
        return "'" + cell
    return cell
