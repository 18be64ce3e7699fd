"""The ``partnerkit`` command line."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from partnerkit import PartnerkitError, __version__

if TYPE_CHECKING:
    from collections.abc import Sequence

    from partnerkit.storage import Storage

#: Exit codes: 0 success, 1 partnerkit refused the input or the store failed,
#: 2 the command line itself was wrong (argparse's convention).
EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        msg = f"expected a whole number of at least 1, got {text}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _demo(options: argparse.Namespace) -> None:
    from partnerkit._demo import run_demo  # noqa: PLC0415 - only the demo needs it
    from partnerkit.storage.sqlite import SqliteStorage  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="partnerkit-demo-") as scratch:
        path = Path(options.db) if options.db else Path(scratch) / "demo.db"
        if path.exists():
            path.unlink()  # the demo always starts from an empty network
        storage: Storage = SqliteStorage(path)
        try:
            run_demo(storage=storage, partners=options.partners, seed=options.seed, out=sys.stdout)
        finally:
            storage.close()
        if options.db:
            print(f"\nThe network is in {path}; open it with partnerkit.storage.sqlite.")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    parser = argparse.ArgumentParser(
        prog="partnerkit", description="Partner relationship management core."
    )
    parser.add_argument("--version", action="version", version=f"partnerkit {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="generate a partner network in SQLite and report on it")
    demo.add_argument("--db", help="keep the network in this SQLite file (replaced if it exists)")
    demo.add_argument("--partners", type=_positive, default=1000, help="how many (default 1000)")
    demo.add_argument("--seed", type=int, default=7, help="the same seed prints the same report")
    options = parser.parse_args(argv)
    try:
        if options.command == "demo":
            _demo(options)
    except PartnerkitError as error:
        print(f"partnerkit: {error}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
