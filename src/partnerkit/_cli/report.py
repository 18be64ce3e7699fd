"""``partnerkit report``: the HTML report of a store, written to a file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from partnerkit.errors import ValidationError

if TYPE_CHECKING:
    from datetime import datetime

    from partnerkit.storage import Storage

__all__ = ["output_path", "write_report"]


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


def write_report(db: str, out: str, *, as_of: datetime | None, engine: Any = None) -> Path:
    """Build the report of the store ``db`` names (or ``engine`` reaches) into ``out``.

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
        report = build_report(storage, as_of=as_of)
    finally:
        storage.close()
    return report.write(path)
