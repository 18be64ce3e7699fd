"""The ``partnerkit`` command line."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TextIO

from partnerkit import (
    Cadence,
    FixedRates,
    Money,
    PartnerkitError,
    Period,
    ValidationError,
    __version__,
)
from partnerkit.serialization import from_json

if TYPE_CHECKING:
    from collections.abc import Sequence


def _demo(out: TextIO) -> None:
    write = out.write
    now = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
    write(f"partnerkit {__version__}: the core values every PRM rule stands on\n\n")

    won = Money("48750.00", "EUR")
    shares = {"Northwind Resellers": 50, "Contoso Referral": 30, "Fabrikam MSP": 20}
    write(f"A won deal of {won}, split by partner share:\n")
    for (name, share), part in zip(
        shares.items(), won.allocate(list(shares.values())), strict=True
    ):
        write(f"  {name:<22} {share:>3}%  {part}\n")
    rates = FixedRates({("EUR", "USD"): "1.0825"})
    write(f"  reported in USD at 1.0825: {won.convert('USD', rates, as_of=now)}\n\n")

    window = Period.parse("P90D")
    approved = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
    write(
        f"A registration approved {approved:%Y-%m-%d} is protected until "
        f"{approved + window:%Y-%m-%d} ({window}).\n"
    )
    month_end = datetime(2026, 1, 31, tzinfo=UTC)
    write(
        f"One month after {month_end:%Y-%m-%d} is {month_end + Period.of_months(1):%Y-%m-%d}.\n\n"
    )

    reviews = Cadence("FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1")
    upcoming = reviews.between(now, now + Period.of_years(1))
    write(
        "Quarterly tier reviews in the next year: "
        + ", ".join(f"{at:%Y-%m-%d}" for at in upcoming)
        + "\n\n"
    )

    write("Bad input is refused with every problem named:\n")
    try:
        from_json(Money, '{"amount": "12.5.0", "currency": "EUROS", "note": 1}')
    except ValidationError as error:
        write("".join(f"  {problem}\n" for problem in error.problems))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    parser = argparse.ArgumentParser(
        prog="partnerkit", description="Partner relationship management core."
    )
    parser.add_argument("--version", action="version", version=f"partnerkit {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="show what partnerkit does")
    options = parser.parse_args(argv)
    try:
        if options.command == "demo":
            _demo(sys.stdout)
    except PartnerkitError as error:
        print(f"partnerkit: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
