import codecs
import csv
import os
from pathlib import Path

import pytest

from partnerkit import ValidationError
from partnerkit._cli.reading import (
    MAX_SHOWN,
    Findings,
    csv_records,
    decode,
    defuse,
    header_columns,
    parse_size,
    read_text,
)

posix_only = pytest.mark.skipif(os.name != "posix", reason="pipes and devices")


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("20MB", 20 * 1024 * 1024),
        ("20 mb", 20 * 1024 * 1024),
        ("512KiB", 512 * 1024),
        ("1.5GB", 1536 * 1024 * 1024),
        ("1048576", 1048576),
        ("300B", 300),
    ],
)
def test_sizes_read_like_file_managers_write_them(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "ten", "-5MB", "5TB", "0", "1e9"])
def test_a_bad_size_says_how_to_write_one(text: str) -> None:
    with pytest.raises(ValueError, match=r"is not a size|too small"):
        parse_size(text)


TEXT = "partner_id,score\nptn_ö,1\n"


@pytest.mark.parametrize(
    "raw",
    [
        TEXT.encode(),
        codecs.BOM_UTF8 + TEXT.encode(),
        codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le"),
        codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"),
        codecs.BOM_UTF32_LE + TEXT.encode("utf-32-le"),
        codecs.BOM_UTF32_BE + TEXT.encode("utf-32-be"),
    ],
    ids=["utf-8", "utf-8 bom", "utf-16le", "utf-16be", "utf-32le", "utf-32be"],
)
def test_utf8_and_utf16_and_utf32_with_a_bom_are_read(raw: bytes) -> None:
    assert decode(raw, "m.csv") == TEXT


def test_other_bytes_are_refused_at_their_offset_line_and_column() -> None:
    raw = "a,b\r\nc,d\rcafé\n".encode("cp1252")
    with pytest.raises(ValidationError) as caught:
        decode(raw, "m.csv")
    assert str(caught.value) == (
        "m.csv, line 3, column 4: byte 12 (0xE9) is not UTF-8 text (it may be Latin-1 or "
        "Windows-1252); re-save the file as UTF-8 (in Excel: File > Save As > 'CSV UTF-8'; "
        "in LibreOffice: character set 'Unicode (UTF-8)')"
    )


def test_a_bad_utf16_file_is_refused_at_its_offset() -> None:
    raw = codecs.BOM_UTF16_LE + "ab\n".encode("utf-16-le") + b"\x00\xd8"  # a lone surrogate
    with pytest.raises(ValidationError, match=r"line 2, column 1: byte 8 \(0x00\) is not UTF-16"):
        decode(raw, "m.csv")


def test_utf16_without_a_bom_and_binary_files_are_refused_at_the_first_nul() -> None:
    with pytest.raises(ValidationError, match=r"byte 1 is a NUL character.*without a byte order"):
        decode(TEXT.encode("utf-16-le"), "m.csv")


def test_read_text_reads_a_regular_file(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_bytes(codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le"))
    assert read_text(path) == TEXT


def test_a_file_over_the_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_bytes(b"x" * 3_000_000)
    with pytest.raises(ValidationError) as caught:
        read_text(path, limit=1024 * 1024)
    assert str(caught.value) == (
        f"{path}: is 2.9 MB, over the 1.0 MB limit; if the file is right, raise the limit "
        f"with --max-size 4MB"
    )


@posix_only
@pytest.mark.parametrize(
    ("make", "message"),
    [
        (os.mkfifo, "is a named pipe (FIFO); partnerkit reads regular files"),
        (lambda path: path.symlink_to("/dev/zero"), "is a device; partnerkit reads regular"),
        (lambda path: path.mkdir(), "is a directory, not a file"),
        (lambda path: None, "no such file; check the path"),
    ],
    ids=["fifo", "link to /dev/zero", "directory", "missing"],
)
def test_only_regular_files_are_read(tmp_path: Path, make: object, message: str) -> None:
    path = tmp_path / "m.csv"
    make(path)  # type: ignore[operator]
    with pytest.raises(ValidationError) as caught:
        read_text(path)
    assert str(caught.value).startswith(f"{path}: {message}")


def test_csv_records_carry_the_line_they_start_on_whatever_the_line_endings() -> None:
    text = 'id,note\r\n1,"two\nlines"\r3,x\n\n4,y'
    assert list(csv_records(text, "f.csv")) == [
        (1, ["id", "note"]),
        (2, ["1", "two\nlines"]),
        (4, ["3", "x"]),
        (5, []),
        (6, ["4", "y"]),
    ]


def test_a_cell_may_be_as_long_as_the_file_and_the_csv_limit_is_restored() -> None:
    before = csv.field_size_limit()
    cell = "x" * (before + 10)
    assert list(csv_records(f"a\n{cell}\n", "f.csv")) == [(1, ["a"]), (2, [cell])]
    assert csv.field_size_limit() == before


def test_duplicate_column_names_are_refused_naming_both_columns() -> None:
    assert header_columns([" partner_id", "score ", ""], "f.csv", 1) == ["partner_id", "score", ""]
    with pytest.raises(ValidationError) as caught:
        header_columns(["partner_id", "score", "x", "score "], "f.csv", 1)
    assert str(caught.value) == (
        "f.csv, line 1, column 4: 'score' is also the name of column 2; each column needs "
        "its own name: rename or remove one of them"
    )


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("=1+2", "'=1+2"),
        ("+cmd", "'+cmd"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("-12.5", "-12.5"),
        ("-3", "-3"),
        ("ptn_1", "ptn_1"),
        (42, 42),
        (None, None),
    ],
)
def test_csv_cells_that_a_spreadsheet_would_run_are_defused(cell: object, written: object) -> None:
    assert defuse(cell) == written


def test_many_problems_are_listed_up_to_a_hundred_and_counted() -> None:
    findings = Findings("f.csv")
    for line in range(2, 252):
        findings.add(f"f.csv, line {line}", "bad")
    with pytest.raises(ValidationError) as caught:
        findings.raise_if_any()
    problems = caught.value.problems
    assert len(problems) == MAX_SHOWN + 1
    assert str(problems[-1]) == "f.csv: and 150 more problems like these; fix the ones above first"


def test_a_huge_value_quoted_in_a_message_is_shortened_keeping_the_fix() -> None:
    findings = Findings("f.csv")
    findings.add("f.csv, line 2", f"'{'a' * 200_000}.fi' is not a valid domain; write acme.com")
    with pytest.raises(ValidationError) as caught:
        findings.raise_if_any()
    assert str(caught.value) == (
        f"f.csv, line 2: '{'a' * 39}...aaaa.fi' is not a valid domain; write acme.com"
    )
