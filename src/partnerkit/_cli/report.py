"""``partnerkit report``: the HTML report of a store, written to a file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from partnerkit.errors import FieldProblem, ValidationError

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from partnerkit._base.money import RateSource
    from partnerkit.storage import Storage

__all__ = ["output_path", "parse_rates", "write_report"]

#: More pairs than any channel's currencies need; a longer list is a mistake.
MAX_RATES = 200


def output_path(text: str) -> Path:
    """The report's path, refused before any work when it cannot be written as a file.

    Raises:
        ValidationError: If it names a folder, a link or a device, or its folder
            does not exist.
    """
    path = Path(text)
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise ValidationError.single(text, "is not a regular file; give --out a new .html file")
    if not path.parent.is_dir():
        raise ValidationError.single(text, f"its folder {path.parent} does not exist")
    return path


def parse_rates(texts: Sequence[str]) -> RateSource | None:
    """``--rate`` options (``EUR/USD=1.08``: units of USD per EUR) as fixed rates.

    Returns:
        The rates, or ``None`` when none are given (sections then leave money in
        other currencies unconverted and say so).

    Raises:
        ValidationError: For an option not written ``BASE/QUOTE=RATE``, a pair given
            twice, more than `MAX_RATES` pairs, an unknown currency or a rate that is
            not a positive number.
    """
    if not texts:
        return None
    from partnerkit._base.money import FixedRates  # noqa: PLC0415

    if len(texts) > MAX_RATES:
        raise ValidationError.single("--rate", f"give at most {MAX_RATES} currency pairs")
    rates: dict[tuple[str, str], str] = {}
    for text in texts:
        pair, equals, value = text.partition("=")
        base, slash, quote = pair.partition("/")
        if not (equals and slash and base.strip() and quote.strip() and value.strip()):
            raise ValidationError.single(
                "--rate", f"{text[:40]!r} is not BASE/QUOTE=RATE; write it like EUR/USD=1.08"
            )
        key = (base.strip().upper(), quote.strip().upper())
        if key in rates or key[::-1] in rates:
            raise ValidationError.single(
                "--rate", f"{key[0]}/{key[1]} is given twice; give each pair once, either way"
            )
        rates[key] = value.strip()
    problems: list[FieldProblem] = []
    for (base, quote), value in rates.items():
        try:
            FixedRates({(base, quote): value})
        except ValidationError as error:
            # Name the option and the pair as written on the command line.
            problems += [FieldProblem(f"--rate {base}/{quote}", p.message) for p in error.problems]
    if problems:
        raise ValidationError(problems)
    return FixedRates(rates)


def _open(db: str, engine: Any) -> Storage:
    if engine is not None:
        from partnerkit.storage.sql import SqlStorage  # noqa: PLC0415

        return SqlStorage(engine)
    from partnerkit.storage.sqlite import SqliteStorage  # noqa: PLC0415

    path = Path(db)
    if not path.is_file():
        # SqliteStorage would create an empty store: a typo would give an empty report.
        raise ValidationError.single(
            db, "is not a partnerkit SQLite file; give --db an existing one"
        )
    return SqliteStorage(path)


def write_report(
    db: str,
    out: str,
    *,
    as_of: datetime | None,
    engine: Any = None,
    rates: RateSource | None = None,
) -> Path:
    """Build the report of the store ``db`` names (or ``engine`` reaches) into ``out``.

    ``rates`` convert money where a section must (plan goals in one currency over
    activity in another).

    Raises:
        ValidationError: If ``db`` is not an existing file or ``out`` cannot be written.
        ImportError: If Jinja2 (the ``report`` extra) is not installed.
    """
    from partnerkit.report import build_report  # noqa: PLC0415
    from partnerkit.report._render import check_installed  # noqa: PLC0415

    path = output_path(out)
    check_installed()  # before reading the whole store
    storage = _open(db, engine)
    try:
        report = build_report(storage, as_of=as_of, rates=rates)
    finally:
        storage.close()
    return report.write(path)
