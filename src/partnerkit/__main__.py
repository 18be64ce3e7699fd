"""The ``partnerkit`` command line."""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from partnerkit import PartnerkitError, ValidationError, __version__, parse_datetime
from partnerkit._cli.incentives import add_parser as add_incentives
from partnerkit._cli.incentives import run as run_incentives
from partnerkit._cli.reading import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_REGISTRATIONS,
    DEFAULT_MAX_ROWS,
    Findings,
    defuse,
    located,
    parse_size,
    read_document,
    read_text,
)
from partnerkit.serialization import to_dict

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence

    from partnerkit._cli.deals import Finding
    from partnerkit.health import ScoringModel
    from partnerkit.storage import Storage
    from partnerkit.tiers import Program

#: Exit codes: 0 success, 1 partnerkit refused the input or the store failed,
#: 2 the command line itself was wrong (argparse's convention), 3 ``deals check``
#: found conflicts (so scripts can branch on it).
EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_CONFLICTS = 0, 1, 2, 3


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        msg = f"expected a whole number of at least 1, got {text}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _size(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _demo(options: argparse.Namespace) -> None:
    from partnerkit._cli.demo import run_demo  # noqa: PLC0415 - only the demo needs it

    if options.db and "://" in options.db:
        _demo_on_server(options.db, options, run_demo)
        return
    from partnerkit.storage.sqlite import SqliteStorage  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="partnerkit-demo-") as scratch:
        path = Path(options.db) if options.db else Path(scratch) / "demo.db"
        if path.is_symlink() or (path.exists() and not path.is_file()):
            # Replacing it would delete a device node, a pipe or another file.
            raise ValidationError.single(
                str(path), "is not a regular file; give --db the path of a new or demo file"
            )
        if path.exists():
            path.unlink()  # the demo always starts from an empty network
        storage: Storage = SqliteStorage(path)
        try:
            _run_demo(run_demo, storage, options)
        finally:
            storage.close()
        if options.db:
            print(f"\nThe network is in {path}; open it with partnerkit.storage.sqlite.")


def _run_demo(run_demo: Any, storage: Storage, options: argparse.Namespace) -> None:
    """The demo on ``storage`` with the network size, seed and report the options ask for."""
    run_demo(
        storage=storage,
        partners=options.partners,
        seed=options.seed,
        out=sys.stdout,
        report=_report_path(options),
    )


def _engine(url: str) -> Any:
    """A SQLAlchemy engine for ``url``; postgresql:// URLs use psycopg 3."""
    try:
        import sqlalchemy as sa  # noqa: PLC0415

        import partnerkit.storage.sql  # noqa: F401, PLC0415 - the sql extra is installed
    except ImportError as error:
        raise ValidationError.single("db", str(error)) from None
    scheme, _, rest = url.partition("://")
    if scheme in {"postgres", "postgresql"}:
        url = f"postgresql+psycopg://{rest}"  # psycopg 3, which partnerkit[postgres] installs
    try:
        return sa.create_engine(url)
    except (sa.exc.ArgumentError, ImportError) as error:
        raise ValidationError.single("db", f"cannot use {scheme}:// URLs: {error}") from None


def _demo_on_server(url: str, options: argparse.Namespace, run_demo: Any) -> None:
    """The demo in the database a SQLAlchemy URL names, which must hold no partners yet."""
    from partnerkit.storage.sql import SqlStorage  # noqa: PLC0415 - engine() checked the extra

    engine = _engine(url)
    shown = repr(engine.url.render_as_string(hide_password=True))
    try:
        storage = SqlStorage(engine)
        try:
            with storage.unit_of_work() as uow:
                if uow.partners.query(limit=1).items:
                    raise ValidationError.single(
                        "db",
                        f"{shown} already holds partners; the demo starts from an empty "
                        f"network: point --db at an empty database",
                    )
            _run_demo(run_demo, storage, options)
        finally:
            storage.close()
    finally:
        engine.dispose()
    print(f"\nThe network is in {shown}; open it with partnerkit.storage.sql.SqlStorage.")


def _report_path(options: argparse.Namespace) -> Path | None:
    """Where ``--report`` asks for the HTML report, checked before any work is done."""
    if not options.report:
        return None
    from partnerkit._cli.report import output_path  # noqa: PLC0415

    return output_path(options.report)


def _report(options: argparse.Namespace) -> None:
    from partnerkit._cli.report import parse_rates, write_report  # noqa: PLC0415

    as_of = parse_datetime(options.as_of, "--as-of") if options.as_of else None
    rates = parse_rates(options.rate)
    engine = _engine(options.db) if "://" in options.db else None
    try:
        path = write_report(options.db, options.out, as_of=as_of, engine=engine, rates=rates)
    finally:
        if engine is not None:
            engine.dispose()
    print(f"The report is in {path}")


def _read_model(path: Path, limit: int) -> ScoringModel:
    from partnerkit.health import model_from_dict, model_from_toml  # noqa: PLC0415

    return read_document(path, limit=limit, from_toml=model_from_toml, from_data=model_from_dict)


def _read_program(path: Path, limit: int) -> Program:
    from partnerkit.serialization import from_json  # noqa: PLC0415
    from partnerkit.tiers import Program, program_from_toml  # noqa: PLC0415

    text = read_text(path, limit=limit)
    if path.suffix.lower() == ".toml":
        return located(str(path), program_from_toml, text)
    return located(str(path), lambda document: from_json(Program, document), text)


def _print_json(documents: Iterable[object]) -> None:
    """Print a JSON list one item at a time, as ``json.dumps(list, indent=2)`` would."""
    opened = False
    for document in documents:
        item = json.dumps(document, ensure_ascii=False, indent=2).replace("\n", "\n  ")
        print(f"{',' if opened else '['}\n  {item}", end="")
        opened = True
    print("\n]" if opened else "[]")


def _print_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """Print CSV with every cell defused, so no spreadsheet runs one as a formula."""
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow([defuse(cell) for cell in header])
    for row in rows:
        writer.writerow([defuse(cell) for cell in row])


def _score(options: argparse.Namespace) -> None:
    from partnerkit._cli.files import read_snapshots  # noqa: PLC0415
    from partnerkit.health import score_batch  # noqa: PLC0415

    model = _read_model(Path(options.model), options.max_size)
    as_of = parse_datetime(options.as_of, "--as-of") if options.as_of else None
    wanted = {measure.metric for measure in model.measures} | {g.metric for g in model.gates}
    rows = read_snapshots(
        Path(options.input), as_of, limit=options.max_size, max_rows=options.max_rows, wanted=wanted
    )
    if not rows:
        raise ValidationError.single(options.input, "the file holds no partners")
    snapshots = [row.snapshot for row in rows]
    del rows
    when = max(snapshot.as_of for snapshot in snapshots)
    # A compact batch builds each partner's full score as it is printed, so memory
    # stays with the snapshots however many measures the model has. Problems
    # between partners (money in two currencies) surface here, before any output.
    batch = located(
        options.input, lambda s: score_batch(model, s, as_of=when, explain=False), snapshots
    )
    if options.format == "json":
        _print_json(to_dict(item) for item in batch)
        return
    if options.format == "csv":
        records = (item.to_record() for item in batch)
        first = next(records)
        _print_csv(list(first), (list(record.values()) for record in (first, *records)))
        return
    print(f"{'partner':<24} {'score':>6}  {'band':<14} top reason")
    for item in batch:
        value = "n/a" if item.value is None else str(item.value)
        reason = item.explanation[1] if len(item.explanation) > 1 else item.explanation[0]
        print(f"{item.partner_id:<24} {value:>6}  {item.band or 'no data':<14} {reason}")


def _program_metrics(program: Program) -> set[str]:
    """Every metric name a program's tiers read."""
    names = {definition.name for definition in program.metrics}
    pending = [tier.requirements for tier in program.tiers]
    while pending:
        requirement = pending.pop()
        if requirement.metric is not None:
            names.add(requirement.metric)
        pending += [*requirement.all_of, *requirement.any_of]
    return names


def _tiers(options: argparse.Namespace) -> None:
    from partnerkit._cli.files import read_snapshots  # noqa: PLC0415
    from partnerkit.tiers import Membership, evaluate  # noqa: PLC0415

    program = _read_program(Path(options.program), options.max_size)
    as_of = parse_datetime(options.as_of, "--as-of") if options.as_of else None
    rows = read_snapshots(
        Path(options.input),
        as_of,
        limit=options.max_size,
        max_rows=options.max_rows,
        wanted=_program_metrics(program),
    )
    # Every partner is evaluated before anything is printed, so a metric the program
    # cannot compare is reported with its row instead of cutting the output short.
    standings: list[tuple[str, str, str, str]] = []
    findings = Findings(options.input)
    for row in rows:
        snapshot = row.snapshot
        # A newcomer's standing: which tier the metrics earn and what the next needs.
        member = Membership(snapshot.partner_id, program.id, snapshot.as_of.date())
        try:
            decision = evaluate(program, member, snapshot, as_of=snapshot.as_of)
        except ValidationError as error:
            findings.add_error(f"{row.where} (partner {snapshot.partner_id})", error)
            continue
        tier = program.tier(decision.tier_id).name if decision.tier_id else "none"
        progress = "" if decision.progress is None else f"{decision.progress:.0%}"
        standings.append((snapshot.partner_id, tier, progress, decision.gap))
    findings.raise_if_any()
    keys = ("partner_id", "tier", "progress_to_next", "gap")
    if options.format == "json":
        _print_json(dict(zip(keys, row, strict=True)) for row in standings)
        return
    if options.format == "csv":
        _print_csv(keys, standings)
        return
    print(f"{'partner':<24} {'tier':<14} {'next':>5}  gap to the next tier")
    for partner_id, tier, progress, gap in standings:
        print(f"{partner_id:<24} {tier:<14} {progress:>5}  {gap}")


def _deals_check(options: argparse.Namespace) -> int:
    from partnerkit._cli.deals import check_in_order  # noqa: PLC0415
    from partnerkit._cli.files import read_registrations  # noqa: PLC0415
    from partnerkit._cli.progress import counted  # noqa: PLC0415

    registrations = read_registrations(
        Path(options.input), limit=options.max_size, max_rows=options.max_rows
    )
    found = 0

    # A bar on the terminal while the findings go to a file or a pipe: on one
    # terminal the two would interleave.
    shown = sys.stderr.isatty() and not sys.stdout.isatty()
    checked = counted(registrations, "checking registrations", enabled=shown)

    def findings() -> Iterator[Finding]:
        # Each finding is printed as soon as it is found; only the count is kept.
        nonlocal found
        for finding in check_in_order(checked):
            found += 1
            yield finding

    if options.format == "json":
        _print_json({"conflict": to_dict(f.conflict), "more": f.more} for f in findings())
    elif options.format == "csv":
        header = ("registration_id", "other_id", "confidence", "outcome", "matched", "more")
        _print_csv(header, (_conflict_row(finding) for finding in findings()))
    else:
        for finding in findings():
            print(finding.conflict.explain())
            if finding.more:
                print(f"  and {finding.more:,} more earlier registration(s) for this customer")
        print(f"{found} conflict(s) found")
    return EXIT_CONFLICTS if found else EXIT_OK


def _conflict_row(finding: Finding) -> tuple[object, ...]:
    conflict = finding.conflict
    return (
        conflict.registration_id,
        conflict.other_id,
        f"{conflict.confidence:.2f}",
        conflict.outcome.value,
        ";".join(kind.value for kind in conflict.match_kinds),
        finding.more,
    )


def _journeys_status(options: argparse.Namespace) -> None:
    from partnerkit._cli.journeys import (  # noqa: PLC0415 - only this command needs it
        read_activities,
        read_enrolments,
        read_journey,
        status,
    )

    journey = read_journey(Path(options.journey), limit=options.max_size)
    limits = {"limit": options.max_size, "max_rows": options.max_rows}
    enrolments = read_enrolments(Path(options.partners), **limits)
    activities = read_activities(Path(options.activities), **limits)
    as_of = parse_datetime(options.as_of, "--as-of") if options.as_of else _latest(activities)
    found = status(journey, enrolments, activities, as_of=as_of)
    keys = ("partner_id", "variant", "step", "status", "days_at_step", "due")
    if options.format == "json":
        _print_json(dict(zip(keys, row, strict=True)) for row in found.rows())
        return
    if options.format == "csv":
        _print_csv(keys, found.rows())
        return
    print(f"{journey.name} as of {as_of.isoformat()}")
    print(found.report.explain())


def _latest(activities: Sequence[Any]) -> Any:
    if not activities:
        raise ValidationError.single("--as-of", "no activities to date the report by; give --as-of")
    return max(activity.occurred_at for activity in activities)


def _snapshot_options(parser: argparse.ArgumentParser) -> None:
    """The options of a command that reads a file of metric snapshots and prints a report."""
    parser.add_argument("--input", required=True, help="metric snapshots, .csv or .json")
    parser.add_argument(
        "--format", choices=("table", "csv", "json"), default="table", help="output format"
    )
    parser.add_argument("--as-of", help="ISO instant for rows without an as_of column")
    _limit_options(parser, DEFAULT_MAX_ROWS)


def _limit_options(parser: argparse.ArgumentParser, max_rows: int) -> None:
    parser.add_argument(
        "--max-size",
        type=_size,
        default=DEFAULT_MAX_BYTES,
        metavar="SIZE",
        help="refuse files larger than this, such as 50MB (default 10MB)",
    )
    parser.add_argument(
        "--max-rows",
        type=_positive,
        default=max_rows,
        metavar="N",
        help=f"refuse input with more rows than this (default {max_rows:,})",
    )


def _journeys_command(commands: Any) -> None:
    """The ``journeys`` command and its ``status`` subcommand."""
    journeys = commands.add_parser("journeys", help="onboarding and activation journeys")
    journey_commands = journeys.add_subparsers(dest="journeys_command", required=True)
    journey_status = journey_commands.add_parser(
        "status", help="who is at which step of a journey, and who is stuck, from files"
    )
    journey_status.add_argument("--journey", required=True, help="the journey, .json or .toml")
    journey_status.add_argument(
        "--partners", required=True, help="partners on it, .csv: partner_id, started_at, ..."
    )
    journey_status.add_argument(
        "--activities", required=True, help="their activities, .csv: id, partner_id, kind, ..."
    )
    journey_status.add_argument(
        "--as-of", help="ISO instant of the report (default: the latest activity)"
    )
    journey_status.add_argument(
        "--format", choices=("table", "csv", "json"), default="table", help="output format"
    )
    _limit_options(journey_status, DEFAULT_MAX_ROWS)


def _funds_report(options: argparse.Namespace) -> int:
    from partnerkit._cli.funds import fund_report  # noqa: PLC0415 - only this command needs it
    from partnerkit.storage.sqlite import SqliteStorage  # noqa: PLC0415

    path = Path(options.db)
    if not path.is_file():
        raise ValidationError.single(str(path), "no such file; give --db a partnerkit SQLite file")
    storage = SqliteStorage(path)
    try:
        unreconciled = fund_report(storage, sys.stdout)
    finally:
        storage.close()
    return EXIT_ERROR if unreconciled else EXIT_OK


def _funds_command(commands: Any) -> None:
    """The ``funds`` command and its ``report`` subcommand."""
    funds = commands.add_parser("funds", help="market development fund tools")
    fund_commands = funds.add_subparsers(dest="funds_command", required=True)
    report = fund_commands.add_parser(
        "report", help="every budget's pools in a SQLite file, checked against its records"
    )
    report.add_argument("--db", required=True, help="the SQLite file (never created)")


def _parser() -> argparse.ArgumentParser:
    """Every command and its options."""
    parser = argparse.ArgumentParser(
        prog="partnerkit", description="Partner relationship management core."
    )
    parser.add_argument("--version", action="version", version=f"partnerkit {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo", help="generate a partner network in SQLite or PostgreSQL and report on it"
    )
    demo.add_argument(
        "--db",
        help="keep the network in this SQLite file (replaced if it exists), or in the "
        "empty database a SQLAlchemy URL names (postgresql://user@host/db)",
    )
    demo.add_argument("--partners", type=_positive, default=1000, help="how many (default 1000)")
    demo.add_argument("--seed", type=int, default=7, help="the same seed prints the same report")
    demo.add_argument(
        "--report",
        metavar="FILE",
        help="also write the HTML report of the network to FILE (needs partnerkit[report])",
    )
    report = commands.add_parser(
        "report", help="write a self-contained HTML report on the partner channel in a store"
    )
    report.add_argument(
        "--db",
        required=True,
        help="an existing SQLite file, or a SQLAlchemy URL (postgresql://user@host/db)",
    )
    report.add_argument("--out", required=True, help="the HTML file to write (replaced)")
    report.add_argument("--as-of", help="describe the store as of this ISO instant (default: now)")
    report.add_argument(
        "--rate",
        action="append",
        default=[],
        metavar="BASE/QUOTE=RATE",
        help="an exchange rate, e.g. EUR/USD=1.08 (units of USD per EUR); repeat for each pair",
    )
    score = commands.add_parser(
        "score", help="score partners' metrics from a CSV or JSON file with a health model"
    )
    score.add_argument("--model", required=True, help="the scoring model, .toml or .json")
    _snapshot_options(score)
    tiers = commands.add_parser(
        "tiers", help="which tier partners' metrics earn in a program, and the gap to the next"
    )
    tiers.add_argument("--program", required=True, help="the program, .toml or .json")
    _snapshot_options(tiers)
    deals = commands.add_parser("deals", help="deal registration tools")
    deal_commands = deals.add_subparsers(dest="deals_command", required=True)
    check = deal_commands.add_parser(
        "check", help="find conflicts among registrations in a CSV file, in submission order"
    )
    check.add_argument("--input", required=True, help="registrations, .csv")
    check.add_argument(
        "--format", choices=("text", "csv", "json"), default="text", help="output format"
    )
    _limit_options(check, DEFAULT_MAX_REGISTRATIONS)
    from partnerkit._cli import forecast as forecast_command  # noqa: PLC0415

    forecast_command.add_command(commands, _limit_options)
    _journeys_command(commands)
    _funds_command(commands)
    add_incentives(commands, _limit_options)
    from partnerkit._cli.leads import add_commands as add_leads  # noqa: PLC0415 - with its command

    add_leads(commands, _limit_options)
    return parser


def _leads(options: argparse.Namespace) -> None:
    from partnerkit._cli.leads import route_command  # noqa: PLC0415 - only this command needs it

    route_command(options)


def _forecast(options: argparse.Namespace) -> None:
    from partnerkit._cli import forecast as forecast_command  # noqa: PLC0415

    forecast_command.run(options)


#: What each command runs; one that returns an exit code may fail without an error.
_COMMANDS: Final[dict[str, Callable[[argparse.Namespace], int | None]]] = {
    "demo": _demo,
    "report": _report,
    "score": _score,
    "tiers": _tiers,
    "deals": _deals_check,
    "forecast": _forecast,
    "journeys": _journeys_status,
    "funds": _funds_report,
    "incentives": run_incentives,
    "leads": _leads,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    options = _parser().parse_args(argv)
    try:
        return _COMMANDS[options.command](options) or EXIT_OK
    except PartnerkitError as error:
        print(f"partnerkit: {error}", file=sys.stderr)
        return EXIT_ERROR
    except ImportError as error:  # an optional extra the command needs is missing
        print(f"partnerkit: {error}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:  # `partnerkit score ... | head` closed the pipe: not an error
        sys.stderr.close()
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
