"""``partnerkit journeys status``: who is where in a journey, read from files.

Three files, each read within the command line's bounds (`partnerkit._cli.reading`):

- the journey, JSON or TOML, as ``partnerkit.serialization`` writes a
  `partnerkit.relationship.Journey`;
- the partners on it, CSV with ``partner_id`` and ``started_at`` columns and,
  for variants, optional ``type``, ``country`` and ``tier_id``;
- their activities, CSV with ``id``, ``partner_id``, ``kind`` and ``occurred_at``;
  any other column becomes an attribute (empty cells are left out).

Every bad row is reported at once, with its line, before anything is computed.
"""

from __future__ import annotations

import tomllib
from typing import TYPE_CHECKING, Any

import attrs

from partnerkit._base.time import parse_datetime
from partnerkit._cli.reading import (
    Findings,
    csv_records,
    data_rows,
    header_columns,
    located,
    read_json,
    read_text,
)
from partnerkit.errors import ValidationError
from partnerkit.ledger import Activity
from partnerkit.relationship import (
    Enrolment,
    Journey,
    JourneyReport,
    JourneyState,
    journey_report,
    journey_state,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from datetime import datetime
    from pathlib import Path

    from partnerkit._base.events import Scalar

__all__ = ["Status", "read_activities", "read_enrolments", "read_journey", "status"]

_ENROLMENT_COLUMNS = ("partner_id", "started_at", "type", "country", "tier_id")
_ACTIVITY_COLUMNS = ("id", "partner_id", "kind", "occurred_at")


def read_journey(path: Path, *, limit: int) -> Journey:
    """The journey in a JSON or TOML file."""
    from partnerkit.serialization import from_dict  # noqa: PLC0415 - cattrs only here

    def build(data: Any) -> Journey:
        return from_dict(Journey, data)

    if path.suffix.lower() == ".toml":
        text = read_text(path, limit=limit)
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise ValidationError.single(str(path), f"is not valid TOML ({error})") from None
        return located(str(path), build, data)
    return located(str(path), build, read_json(path, limit=limit))


def _rows(
    path: Path, *, limit: int, max_rows: int, needed: tuple[str, ...]
) -> Iterator[tuple[str, dict[str, str]]]:
    """Each non-empty row of a CSV file as ``(where, {column: cell})``."""
    name = str(path)
    records = csv_records(read_text(path, limit=limit), name)
    first = next(records, None)
    if first is None:
        raise ValidationError.single(name, f"the file is empty; it needs a header row: {needed}")
    line, header = first
    columns = header_columns(header, name, line)
    missing = [column for column in needed if column not in columns]
    if missing:
        raise ValidationError.single(
            f"{name}, line {line}", f"the header row must name {', '.join(missing)}"
        )
    for number, cells in data_rows(records, name, max_rows):
        row = {
            column: cell.strip()
            for column, cell in zip(columns, cells, strict=False)
            if column and cell.strip()
        }
        yield f"{name}, line {number}", row


def read_enrolments(path: Path, *, limit: int, max_rows: int) -> list[Enrolment]:
    """The partners on the journey, one row each."""
    findings = Findings(str(path))
    found: list[Enrolment] = []
    seen: dict[str, str] = {}
    for where, row in _rows(path, limit=limit, max_rows=max_rows, needed=_ENROLMENT_COLUMNS[:2]):
        partner_id = row.get("partner_id", "")
        if partner_id in seen:
            findings.add(where, f"partner {partner_id!r} is also at {seen[partner_id]}")
            continue
        seen[partner_id] = where
        try:
            found.append(
                Enrolment(
                    partner_id,
                    parse_datetime(row.get("started_at", ""), "started_at"),
                    type=row.get("type", ""),
                    country=row.get("country", ""),
                    tier_id=row.get("tier_id"),
                )
            )
        except ValidationError as error:
            findings.add_error(where, error)
    findings.raise_if_any()
    return found


def read_activities(path: Path, *, limit: int, max_rows: int) -> list[Activity]:
    """The partners' activities; extra columns become attributes."""
    findings = Findings(str(path))
    found: list[Activity] = []
    for where, row in _rows(path, limit=limit, max_rows=max_rows, needed=_ACTIVITY_COLUMNS):
        attributes: dict[str, Scalar] = {
            column: value for column, value in row.items() if column not in _ACTIVITY_COLUMNS
        }
        try:
            found.append(
                Activity(
                    row.get("id", ""),
                    row.get("partner_id", ""),
                    row.get("kind", ""),
                    parse_datetime(row.get("occurred_at", ""), "occurred_at"),
                    attributes=attributes,
                )
            )
        except ValidationError as error:
            findings.add_error(where, error)
    findings.raise_if_any()
    return found


@attrs.frozen
class Status:
    """Where everyone is: the report by step, and each partner's state."""

    report: JourneyReport
    states: tuple[JourneyState, ...]

    def rows(self) -> Iterator[tuple[str, str, str, str, int, str]]:
        """``(partner_id, variant, step, status, days at step, due)`` per partner."""
        for state in self.states:
            current = state.current
            if current is None:
                yield (state.partner_id, state.variant or "", "", "completed", 0, "")
                continue
            began = current.began_at
            days = 0 if began is None else (state.as_of - began).days
            due = "" if current.due_at is None else current.due_at.date().isoformat()
            yield (
                state.partner_id,
                state.variant or "",
                current.step.id,
                current.status.value,
                days,
                due,
            )


def status(
    journey: Journey,
    enrolments: list[Enrolment],
    activities: list[Activity],
    *,
    as_of: datetime,
) -> Status:
    """The journey's report and every enrolled partner's state at ``as_of``."""
    by_partner: dict[str, list[Activity]] = {}
    for activity in activities:
        by_partner.setdefault(activity.partner_id, []).append(activity)
    states = tuple(
        journey_state(journey, e, by_partner.get(e.partner_id, ()), as_of=as_of)
        for e in sorted(enrolments, key=lambda e: e.partner_id)
    )
    return Status(journey_report(journey, enrolments, by_partner, as_of=as_of), states)
