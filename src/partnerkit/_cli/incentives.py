"""``partnerkit incentives statement``: statements from a plan file and an activities CSV."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Final

from partnerkit._base.money import Money
from partnerkit._base.time import Period, parse_datetime
from partnerkit._cli.reading import (
    Findings,
    cell_problem,
    csv_records,
    defuse,
    read_document,
    read_text,
    required_columns,
    too_many_rows,
)
from partnerkit.errors import ValidationError
from partnerkit.ledger import Activity

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable
    from datetime import datetime
    from typing import TextIO

    from partnerkit.access import Actor
    from partnerkit.incentives import Plan, Statement, StatementPeriod
    from partnerkit.storage import Storage

__all__ = ["add_parser", "demo_section", "read_activities", "read_plan", "run"]

#: The most activities one statement run reads by default.
DEFAULT_MAX_ACTIVITIES: Final = 1_000_000
_REQUIRED: Final = ("id", "partner_id", "kind", "occurred_at")
#: Optional columns kept as activity attributes (``units`` as a whole number).
_ATTRIBUTES: Final = ("product", "units", "margin", "recorded_at", "split", "reverses")


def read_plan(path: Path, limit: int) -> Plan:
    """Read an incentive plan from a ``.toml`` or ``.json`` file.

    Raises:
        ValidationError: Naming the file and every bad field by path.
    """
    from partnerkit.incentives import plan_from_dict, plan_from_toml  # noqa: PLC0415

    return read_document(path, limit=limit, from_toml=plan_from_toml, from_data=plan_from_dict)


def _activity(cells: dict[str, str], where: str, findings: Findings) -> Activity | None:
    attributes: dict[str, str | int | bool | None] = {}
    for name in _ATTRIBUTES:
        text = cells.get(name, "")
        if not text:
            continue
        if name == "units":
            if not text.isdigit() or len(text) > 9:
                findings.add(f"{where}, units", f"{text!r} is not a whole number of units")
                return None
            attributes[name] = int(text)
        else:
            attributes[name] = text
    try:
        amount = cells.get("amount", "")
        value = Money(amount.replace(",", ""), cells.get("currency", "")) if amount else None
        return Activity(
            cells["id"],
            cells["partner_id"],
            cells["kind"],
            parse_datetime(cells["occurred_at"], "occurred_at"),
            value,
            attributes=attributes,
        )
    except ValidationError as error:
        findings.add_error(where, error)
        return None


def read_activities(path: Path, *, limit: int, max_rows: int) -> list[Activity]:
    """Read ledger activities from a CSV file.

    Columns: ``id``, ``partner_id``, ``kind``, ``occurred_at`` (ISO instant with
    an offset) are required; ``amount`` with ``currency`` gives the value; the
    optional ``product``, ``units``, ``margin``, ``recorded_at``, ``split`` and
    ``reverses`` become the attributes incentive rules read.

    Raises:
        ValidationError: Naming the file and the line of every bad cell, or the
            row past ``max_rows``.
    """
    name = str(path)
    if path.suffix.lower() != ".csv":
        raise ValidationError.single(name, "give a .csv file of activities")
    records = csv_records(read_text(path, limit=limit), name)
    columns = required_columns(records, name, _REQUIRED)
    findings = Findings(name)
    found: list[Activity] = []
    for number, row in records:
        if not any(cell.strip() for cell in row):
            continue
        if len(found) >= max_rows:
            raise too_many_rows(f"{name}, line {number}", max_rows)
        cells: dict[str, str] = {}
        for position, column in enumerate(columns):
            cell = row[position] if position < len(row) else ""
            problem = cell_problem(cell)
            if problem:
                findings.add(f"{name}, line {number}, column {position + 1}", problem)
            if column:
                cells[column] = cell.strip()
        activity = _activity(cells, f"{name}, line {number}", findings)
        if activity is not None:
            found.append(activity)
    findings.raise_if_any()
    return found


def _periods(plan: Plan, activities: list[Activity], at: str | None) -> list[StatementPeriod]:
    from partnerkit.incentives import period_containing  # noqa: PLC0415

    if at is not None:
        return [period_containing(plan, parse_datetime(at, "--period"))]
    starts = {period_containing(plan, activity.occurred_at) for activity in activities}
    return sorted(starts, key=lambda period: period.start)


def _tiers(pairs: list[str]) -> dict[str, str]:
    tiers = {}
    for pair in pairs:
        partner, _, tier = pair.partition("=")
        if not partner or not tier:
            raise ValidationError.single("--tier", f"{pair!r}: write it like ptn_1=gold")
        tiers[partner] = tier
    return tiers


def _rows(statements: list[Statement]) -> list[list[object]]:
    return [
        [
            s.partner_id,
            s.period_start.date().isoformat(),
            line.rule,
            line.kind.value,
            "" if line.band is None else line.band,
            f"{line.amount.amount:f}",
            line.amount.currency,
            line.explanation,
            ";".join(line.sources),
        ]
        for s in statements
        for line in s.lines
    ]


def run(options: argparse.Namespace) -> None:
    """Compute and print the statements the options ask for."""
    from partnerkit.incentives import run_statements  # noqa: PLC0415
    from partnerkit.serialization import to_dict  # noqa: PLC0415

    plan = read_plan(Path(options.plan), options.max_size)
    activities = read_activities(
        Path(options.input), limit=options.max_size, max_rows=options.max_rows
    )
    tiers = _tiers(options.tier or [])
    statements = [
        statement
        for period in _periods(plan, activities, options.period)
        for statement in run_statements(plan, period, activities, tiers=tiers)
    ]
    if options.format == "json":
        print(json.dumps([to_dict(s) for s in statements], ensure_ascii=False, indent=2))
    elif options.format == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        header = ["partner_id", "period_start", "rule", "kind", "band", "amount", "currency"]
        writer.writerow([*header, "explanation", "sources"])
        for row in _rows(statements):
            writer.writerow([defuse(cell) for cell in row])
    else:
        for statement in statements:
            print(statement.explain())
        print(f"{len(statements)} statement(s)")


def add_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    limit_options: Callable[[argparse.ArgumentParser, int], None],
) -> None:
    """Add ``incentives statement`` to the command line.

    Args:
        commands: The command line's subcommands.
        limit_options: Adds ``--max-size`` and ``--max-rows`` as every command has them.
    """
    incentives = commands.add_parser("incentives", help="incentive plans and statements")
    sub = incentives.add_subparsers(dest="incentives_command", required=True)
    statement = sub.add_parser(
        "statement", help="compute partners' statements from a plan and an activities CSV"
    )
    statement.add_argument("--plan", required=True, help="the incentive plan, .toml or .json")
    statement.add_argument("--input", required=True, help="ledger activities, .csv")
    statement.add_argument(
        "--period",
        help="an ISO instant in the period to compute (default: every period with activities)",
    )
    statement.add_argument(
        "--tier", action="append", metavar="PARTNER=TIER", help="a partner's tier (repeatable)"
    )
    statement.add_argument(
        "--format", choices=("text", "csv", "json"), default="text", help="output format"
    )
    limit_options(statement, DEFAULT_MAX_ACTIVITIES)


#: The plan the demo computes statements with.
DEMO_PLAN: Final = """
id = "plan_resale_usd"
version = 1
name = "Resale commission (USD)"
currency = "USD"

[[rules]]
id = "resale"
label = "Resale"
basis = "revenue_booked"
reward = "percentage"
bands = [
  { above = 0, rate = "2.5" },
  { above = 20000, rate = 4, tiers = ["gold", "platinum"] },
]

[[rules]]
id = "q4_spiff"
label = "Q4 SPIFF"
basis = "deals_won"
reward = "flat"
starts_on = 2026-10-01
ends_on = 2026-12-31
bands = [{ above = 0, rate = "150" }]
"""


def demo_section(
    storage: Storage, *, as_of: datetime, program_id: str, admin: Actor, out: TextIO
) -> None:
    """The demo's incentive statements: last month's, computed, one approved and explained.

    Args:
        storage: The demo's store, partners, activities and memberships in it.
        as_of: The demo's now; the last period whose statement is due is computed.
        program_id: Where partners' tiers come from.
        admin: Who stores the plan.
        out: Where the report goes.
    """
    from partnerkit._base.time import FixedClock  # noqa: PLC0415
    from partnerkit.access import Actor, Role  # noqa: PLC0415
    from partnerkit.incentives import due_periods, plan_from_toml  # noqa: PLC0415
    from partnerkit.services import Services  # noqa: PLC0415

    plan = plan_from_toml(DEMO_PLAN)
    services = Services(storage, clock=FixedClock(as_of))
    services.add_incentive_plan(admin, plan)
    period = due_periods(plan, as_of - Period(months=2), as_of)[-1]
    manager = Actor("usr_maria", Role.CHANNEL_MANAGER)
    run = services.compute_statements(manager, plan.id, period.start, program_id=program_id)
    earning = [s for s in run.value if s.total.amount > 0]
    total = Money.sum((s.total for s in earning), currency=plan.currency)
    write = out.write
    write(f"\nIncentive statements for {period} ({plan.name}, v{plan.version})\n")
    write(
        f"  {len(run.value):,} statements, {len(earning):,} earning, {total} in all; "
        f"partners booking in other currencies need a plan in theirs\n"
    )
    if not earning:
        return
    top = max(earning, key=lambda statement: (statement.total.amount, statement.partner_id))
    with storage.unit_of_work() as uow:
        owner = uow.partners.get(top.partner_id).owner_id
    approved = services.approve_statement(Actor(owner or "usr_maria", Role.CHANNEL_MANAGER), top.id)
    write(f"  the largest, approved by {approved.value.approved_by}; payable from ")
    write(f"{approved.value.payable_at:%Y-%m-%d} after the hold:\n")
    for line in top.explain().splitlines():
        write(f"    {line}\n")
