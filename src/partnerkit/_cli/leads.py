"""``partnerkit leads route``: route leads from CSV files under a policy, and say why.

``--partners`` is a CSV file with a header row: ``id`` and ``country`` are
required; ``status`` (default ``active``), ``weight`` (the tier's lead weight; empty:
no tier), ``health_band``, ``latitude`` and ``longitude`` are optional, and
``countries``, ``regions``, ``products`` and ``certifications`` hold lists
separated by ``;``. ``--leads`` is a CSV file with ``id``, ``company`` and
``country``, and optionally ``region``, ``latitude``, ``longitude``, ``source``,
``received_at`` and ``products`` (separated by ``;``). Both are read through
`partnerkit._cli.reading`, so their size, rows and encoding are bounded.

The leads are routed in file order at one instant (``--as-of``, by default the
latest ``received_at``, so the same files print the same answer), each counting
against the caps of the partner it goes to.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeVar

from partnerkit._base.time import parse_datetime
from partnerkit._cli.reading import (
    DEFAULT_MAX_ROWS,
    Findings,
    cell_problem,
    csv_records,
    defuse,
    header_columns,
    quote,
    read_document,
    read_text,
    too_many_rows,
)
from partnerkit.errors import Problems, ValidationError
from partnerkit.leads import (
    Lead,
    LeadCustomer,
    PartnerProfile,
    Router,
    RoutingPolicy,
    policy_from_toml,
)
from partnerkit.serialization import from_dict, to_dict

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Sequence
    from datetime import datetime

__all__ = ["add_commands", "route_command"]

_PARTNER_COLUMNS: Final = frozenset(
    {
        "id",
        "status",
        "country",
        "weight",
        "health_band",
        "latitude",
        "longitude",
        "countries",
        "regions",
        "products",
        "certifications",
    }
)
_LEAD_COLUMNS: Final = frozenset(
    {
        "id",
        "company",
        "country",
        "region",
        "latitude",
        "longitude",
        "source",
        "received_at",
        "products",
    }
)

T = TypeVar("T")


def add_commands(commands: Any, limits: Callable[[argparse.ArgumentParser, int], None]) -> None:
    """Add ``leads route`` to the command line's subcommands."""
    leads = commands.add_parser("leads", help="lead distribution tools")
    lead_commands = leads.add_subparsers(dest="leads_command", required=True)
    route = lead_commands.add_parser(
        "route", help="route leads from a CSV file to partners under a policy, with reasons"
    )
    route.add_argument("--policy", required=True, help="the routing policy, .toml or .json")
    route.add_argument("--partners", required=True, help="partners, .csv")
    route.add_argument("--leads", required=True, help="leads, .csv")
    route.add_argument("--as-of", help="ISO instant to route at (default: the latest lead)")
    route.add_argument(
        "--format", choices=("text", "csv", "json"), default="text", help="output format"
    )
    limits(route, DEFAULT_MAX_ROWS)


def _rows(
    path: Path, *, limit: int, max_rows: int, required: Sequence[str], known: frozenset[str]
) -> list[tuple[str, dict[str, str]]]:
    """Each data row of a CSV file as ``(where, {column: cell})``, checked for shape."""
    name = str(path)
    records = csv_records(read_text(path, limit=limit), name)
    first = next(records, None)
    if first is None:
        raise ValidationError.single(
            name, f"the file is empty; it needs a header row naming {', '.join(required)}"
        )
    line, header = first
    columns = header_columns(header, name, line)
    missing = [column for column in required if column not in columns]
    unknown = [column for column in columns if column and column not in known]
    if missing or unknown:
        parts = []
        if missing:
            parts.append(f"the header row must name {', '.join(missing)}")
        if unknown:
            parts.append(
                f"{', '.join(quote(c) for c in unknown)} is not a column this command reads "
                f"(it reads {', '.join(sorted(known))})"
            )
        raise ValidationError.single(f"{name}, line {line}", "; ".join(parts))
    findings = Findings(name)
    rows: list[tuple[str, dict[str, str]]] = []
    for number, cells in records:
        if not any(cell.strip() for cell in cells):
            continue
        if len(rows) >= max_rows:
            raise too_many_rows(f"{name}, line {number}", max_rows)
        if len(cells) > len(columns):
            findings.add(f"{name}, line {number}", f"{len(cells)} cells for {len(columns)} columns")
            continue
        row = {}
        for index, (column, cell) in enumerate(zip(columns, cells, strict=False), start=1):
            problem = cell_problem(cell)
            if problem is not None:
                findings.add(f"{name}, line {number}, column {index}", problem)
            elif column:
                row[column] = cell.strip()
        rows.append((f"{name}, line {number}", row))
    findings.raise_if_any()
    return rows


def _list(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(";") if part.strip())


def _degrees(text: str) -> Decimal | None:
    if not text:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValidationError.single("", f"{quote(text)} is not a number of degrees") from None


def _weight(text: str) -> int | None:
    if not text:
        return None
    if not text.isdigit():
        raise ValidationError.single("", f"{quote(text)} is not a whole number, 0 or more")
    return int(text)


def _partner(row: dict[str, str]) -> PartnerProfile:
    """One partners.csv row as a profile; every problem of the row at once."""
    problems = Problems()
    weight = problems.check("weight", _weight, row.get("weight", ""))
    latitude = problems.check("latitude", _degrees, row.get("latitude", ""))
    longitude = problems.check("longitude", _degrees, row.get("longitude", ""))
    try:
        profile = PartnerProfile(
            row["id"],
            row.get("status") or "active",
            row["country"].upper(),
            countries=tuple(c.upper() for c in _list(row.get("countries", ""))),
            regions=_list(row.get("regions", "")),
            products=frozenset(_list(row.get("products", ""))),
            certifications=frozenset(_list(row.get("certifications", ""))),
            latitude=latitude,
            longitude=longitude,
            tier_weight=weight,
            health_band=row.get("health_band") or None,
        )
    except ValidationError as error:
        problems.found[:0] = error.problems
    problems.raise_if_any()
    return profile


def _read_rows(
    path: Path,
    build: Callable[[dict[str, str]], T],
    *,
    limit: int,
    max_rows: int,
    required: Sequence[str],
    known: frozenset[str],
) -> list[T]:
    """``build`` of each row of a CSV file; every row's problems at once."""
    findings = Findings(str(path))
    found: list[T] = []
    for where, row in _rows(path, limit=limit, max_rows=max_rows, required=required, known=known):
        try:
            found.append(build(row))
        except ValidationError as error:
            findings.add_error(where, error)
    findings.raise_if_any()
    return found


def _read_partners(path: Path, *, limit: int, max_rows: int) -> list[PartnerProfile]:
    found = _read_rows(
        path,
        _partner,
        limit=limit,
        max_rows=max_rows,
        required=("id", "country"),
        known=_PARTNER_COLUMNS,
    )
    ids = [profile.partner_id for profile in found]
    if len(set(ids)) != len(ids):
        twice = sorted({i for i in ids if ids.count(i) > 1})
        raise ValidationError.single(str(path), f"partners listed twice: {', '.join(twice[:10])}")
    return found


def _lead(row: dict[str, str]) -> Lead:
    """One leads.csv row as a new lead; every problem of the row at once."""
    problems = Problems()
    latitude = problems.check("latitude", _degrees, row.get("latitude", ""))
    longitude = problems.check("longitude", _degrees, row.get("longitude", ""))
    received = problems.check(
        "received_at", parse_datetime, row.get("received_at") or "1970-01-01T00:00:00Z", ""
    )
    problems.raise_if_any()
    assert received is not None  # noqa: S101 - checked just above
    customer = LeadCustomer(
        row["company"],
        row["country"].upper(),
        region=row.get("region", ""),
        latitude=latitude,
        longitude=longitude,
    )
    return Lead(
        row["id"],
        customer,
        row.get("source", ""),
        received,
        products=_list(row.get("products", "")),
    )


def _read_leads(path: Path, *, limit: int, max_rows: int) -> list[Lead]:
    return _read_rows(
        path,
        _lead,
        limit=limit,
        max_rows=max_rows,
        required=("id", "company", "country"),
        known=_LEAD_COLUMNS,
    )


def _read_policy(path: Path, limit: int) -> RoutingPolicy:
    return read_document(
        path,
        limit=limit,
        from_toml=policy_from_toml,
        from_data=lambda data: from_dict(RoutingPolicy, data),
    )


def route_command(options: argparse.Namespace) -> None:
    """Run ``leads route``: print each lead's partner and the reasons."""
    limit, max_rows = options.max_size, options.max_rows
    policy = _read_policy(Path(options.policy), limit)
    partners = _read_partners(Path(options.partners), limit=limit, max_rows=max_rows)
    leads = _read_leads(Path(options.leads), limit=limit, max_rows=max_rows)
    as_of: datetime | None = None
    if options.as_of:
        as_of = parse_datetime(options.as_of, "--as-of")
    elif leads:
        as_of = max(lead.received_at for lead in leads)
    if as_of is None:
        return
    router = Router(policy, partners, as_of=as_of)
    explanations = [router.route(lead) for lead in leads]
    out = sys.stdout
    if options.format == "json":
        for explanation in explanations:
            out.write(json.dumps(to_dict(explanation), ensure_ascii=False) + "\n")
        return
    if options.format == "csv":
        import csv  # noqa: PLC0415 - only this format needs it

        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(
            ["lead_id", "partner_id", "step", "candidates", "draw", "total_weight", "reasons"]
        )
        for e in explanations:
            writer.writerow(
                [
                    defuse(e.lead_id),
                    defuse(e.chosen or ""),
                    defuse(e.step),
                    len(e.candidates),
                    "" if e.draw is None else e.draw,
                    e.total_weight,
                    defuse(e.reasons()),
                ]
            )
        return
    width = max((len(lead.id) for lead in leads), default=0)
    routed = sum(e.chosen is not None for e in explanations)
    out.write(
        f"{len(leads)} leads routed at {as_of.isoformat()} under policy {policy.name!r} "
        f"({policy.ranking.value}): {routed} offered, {len(leads) - routed} back to the vendor\n"
    )
    for e in explanations:
        target = e.chosen or "(vendor)"
        out.write(f"{e.lead_id:<{width}}  -> {target}  {e.reasons()}\n")
