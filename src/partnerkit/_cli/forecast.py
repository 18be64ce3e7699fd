"""``partnerkit forecast``: a pipeline forecast (or its backtest) from a deals CSV.

Each row is one deal with its dates, read as an `partnerkit.forecast.Opportunity`
whose stages are ``submitted`` (at ``submitted_at``) and ``approved`` (at
``approved_at``, if given), or a host stage (``stage`` and ``stage_at``):

``id``, ``partner_id``, ``amount``, ``currency``, ``status`` (submitted,
approved, won, lost, expired, rejected or withdrawn) and ``submitted_at`` are
required; ``approved_at``, ``stage``, ``stage_at``, ``closed_at`` (required for
closed deals), ``expected_close_on``, ``products`` (separated by ``;``),
``tier`` and ``joined_on`` (the partner's join date) are optional.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from partnerkit._base.money import Money
from partnerkit._base.time import parse_date, parse_datetime
from partnerkit._cli.reading import (
    Findings,
    cell_problem,
    csv_records,
    data_rows,
    quote,
    read_text,
    required_columns,
)
from partnerkit.errors import ValidationError
from partnerkit.forecast import Opportunity, Outcome, StageChange

if TYPE_CHECKING:
    from datetime import date
    from pathlib import Path

__all__ = ["DealRows", "read_deals"]

_REQUIRED: Final = ("id", "partner_id", "amount", "currency", "status", "submitted_at")
_OPEN: Final = frozenset({"submitted", "approved"})
_CLOSED: Final = {
    "won": Outcome.WON,
    "lost": Outcome.LOST,
    "expired": Outcome.LOST,
    "rejected": Outcome.LOST,
    "withdrawn": Outcome.LOST,
}


class DealRows:
    """What a deals CSV holds: the opportunities, and the tiers and join dates it names."""

    def __init__(self) -> None:
        self.opportunities: list[Opportunity] = []
        self.tiers: dict[str, str] = {}
        self.joined: dict[str, date] = {}


def _row(cells: dict[str, str], where: str, rows: DealRows, findings: Findings) -> None:
    problems: list[tuple[str, str]] = []

    def read(column: str, parse: Any) -> Any:
        text = cells.get(column, "")
        if not text:
            return None
        try:
            return parse(text, "")
        except ValidationError as error:
            problems.append((column, "; ".join(p.message for p in error.problems)))
            return None

    status = cells["status"].lower()
    if status not in _OPEN and status not in _CLOSED:
        problems.append(("status", f"{quote(cells['status'])} is not a deal status"))
    submitted = read("submitted_at", parse_datetime)
    approved = read("approved_at", parse_datetime)
    stage_at = read("stage_at", parse_datetime)
    closed = read("closed_at", parse_datetime)
    close_on = read("expected_close_on", parse_date)
    joined = read("joined_on", parse_date)
    if status in _CLOSED and closed is None:
        problems.append(("closed_at", f"a {status} deal needs the instant it closed"))
    for column, message in problems:
        findings.add(f"{where}, {column}", message)
    if problems or submitted is None:
        return
    stages = [StageChange("submitted", submitted)]
    if approved is not None:
        stages.append(StageChange("approved", approved))
    if cells.get("stage"):
        stages.append(StageChange(cells["stage"], stage_at or stages[-1].at))
    try:
        rows.opportunities.append(
            Opportunity(
                id=cells["id"],
                partner_id=cells["partner_id"],
                amount=Money(cells["amount"].replace(",", ""), cells["currency"]),
                stages=tuple(stages),
                outcome=_CLOSED.get(status),
                closed_at=closed if status in _CLOSED else None,
                products=tuple(
                    p.strip() for p in cells.get("products", "").split(";") if p.strip()
                ),
                expected_close_on=close_on,
            )
        )
    except ValidationError as error:
        findings.add_error(where, error)
        return
    if cells.get("tier"):
        rows.tiers[cells["partner_id"]] = cells["tier"]
    if joined is not None:
        rows.joined[cells["partner_id"]] = joined


def read_deals(path: Path, *, limit: int, max_rows: int) -> DealRows:
    """Read the deals of a forecast from a CSV file.

    Raises:
        ValidationError: Naming the file, line and column of every bad cell, a
            missing column, or the row past ``max_rows``.
    """
    name = str(path)
    if path.suffix.lower() != ".csv":
        raise ValidationError.single(name, "give a .csv file")
    text = read_text(path, limit=limit)
    records = csv_records(text, name)
    columns = required_columns(records, name, _REQUIRED)
    findings = Findings(name)
    rows = DealRows()
    seen: dict[str, int] = {}
    for number, row in data_rows(records, name, max_rows):
        cells: dict[str, str] = {}
        for position, column in enumerate(columns):
            cell = row[position] if position < len(row) else ""
            problem = cell_problem(cell)
            if problem:
                findings.add(f"{name}, line {number}, column {position + 1} ({column})", problem)
            cells[column] = cell.strip()
        earlier = seen.setdefault(cells["id"], number)
        if earlier != number:
            findings.add(
                f"{name}, line {number}, id",
                f"deal {quote(cells['id'])} is also on line {earlier}; give each its own id",
            )
            continue
        _row(cells, f"{name}, line {number}", rows, findings)
    findings.raise_if_any()
    return rows


def add_command(commands: Any, limits: Any) -> None:
    """Register ``forecast`` on the ``partnerkit`` command line's subparsers."""
    parser = commands.add_parser(
        "forecast", help="forecast the open deals in a CSV file, learning from its closed ones"
    )
    parser.add_argument("--input", required=True, help="deals, .csv (see docs/forecast.md)")
    parser.add_argument("--as-of", required=True, help="ISO instant to forecast from")
    parser.add_argument("--period", default="P3M", help="period length, ISO (default P3M)")
    parser.add_argument("--periods", type=int, default=1, help="how many periods (default 1)")
    parser.add_argument("--draws", type=int, default=10_000, help="Monte Carlo draws")
    parser.add_argument("--seed", type=int, default=0, help="the same seed prints the same bands")
    parser.add_argument("--explain", metavar="PARTNER", help="explain one partner's forecast")
    parser.add_argument(
        "--backtest",
        type=int,
        metavar="N",
        help="instead, backtest N one-period forecasts ending a period before --as-of",
    )
    parser.add_argument(
        "--format", choices=("table", "csv", "json"), default="table", help="output format"
    )
    limits(parser, 100_000)


def run(options: Any) -> None:
    """Run ``partnerkit forecast`` with parsed ``options``; print the result.

    Raises:
        ValidationError: For an unreadable file or bad options.
    """
    import csv  # noqa: PLC0415
    import json  # noqa: PLC0415
    import sys  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    from partnerkit._base.time import Period  # noqa: PLC0415
    from partnerkit._cli.reading import defuse  # noqa: PLC0415
    from partnerkit.forecast import backtest, forecast  # noqa: PLC0415

    as_of = parse_datetime(options.as_of, "--as-of")
    period = Period.parse(options.period, "--period")
    rows = read_deals(Path(options.input), limit=options.max_size, max_rows=options.max_rows)
    common: dict[str, Any] = {
        "opportunities": rows.opportunities,
        "tiers": rows.tiers,
        "joined": rows.joined,
        "period": period,
        "draws": options.draws,
        "seed": options.seed,
    }
    records: list[dict[str, object]]
    if options.backtest:
        if options.backtest < 1:
            raise ValidationError.single("--backtest", "expected a number of periods, 1 or more")
        dates = [as_of - period * (options.backtest - index) for index in range(options.backtest)]
        result = backtest((), as_of=dates, **common)
        records = result.to_records()
        summary = result.summary()
    else:
        found = forecast((), as_of=as_of, periods=options.periods, **common)
        if options.explain:
            print(found.explain(options.explain))
            return
        records = found.to_records()
        summary = (
            f"{len(found.deals)} open deals forecast from {found.history_deals} closed ones, "
            f"{found.draws:,} draws ({found.engine}, seed {found.seed})"
        )
    if options.format == "json":
        print(json.dumps(records, default=str, ensure_ascii=False, indent=2))
        return
    if options.format == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        header = list(records[0]) if records else []
        writer.writerow(header)
        for record in records:
            writer.writerow([defuse(record[column]) for column in header])
        return
    if options.backtest:
        print(f"{'as of':<11} {'deals':>6} {'expected':>14} {'p10':>14} {'p90':>14} {'actual':>14}")
        for record in records:
            print(
                f"{record['as_of']!s:.10} {record['deals']:>6} {record['expected']!s:>14} "
                f"{record['p10']!s:>14} {record['p90']!s:>14} {record['actual']!s:>14}"
                f"{'' if record['inside'] else '  outside'}"
            )
    else:
        print(f"{'period':<23} {'group':<28} {'deals':>6} {'expected':>14} {'p10':>14} {'p90':>14}")
        for record in records:
            group = f"{record['dimension']} {record['key']}".strip()
            print(
                f"{record['start']!s}..{record['end']!s} {group[:28]:<28} {record['deals']:>6} "
                f"{record['expected']!s:>14} {record['p10']!s:>14} {record['p90']!s:>14}"
            )
    print(summary)
