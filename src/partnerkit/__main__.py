"""The ``partnerkit`` command line."""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from partnerkit import PartnerkitError, ValidationError, __version__, parse_datetime
from partnerkit.serialization import to_dict

if TYPE_CHECKING:
    from collections.abc import Sequence

    from partnerkit.health import ScoringModel
    from partnerkit.storage import Storage

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


def _demo(options: argparse.Namespace) -> None:
    from partnerkit._cli.demo import run_demo  # noqa: PLC0415 - only the demo needs it

    if options.db and "://" in options.db:
        _demo_on_server(options.db, options, run_demo)
        return
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


def _demo_on_server(url: str, options: argparse.Namespace, run_demo: Any) -> None:
    """The demo in the database a SQLAlchemy URL names, which must hold no partners yet."""
    try:
        import sqlalchemy as sa  # noqa: PLC0415

        from partnerkit.storage.sql import SqlStorage  # noqa: PLC0415
    except ImportError as error:
        raise ValidationError.single("db", str(error)) from None
    scheme, _, rest = url.partition("://")
    if scheme in {"postgres", "postgresql"}:
        url = f"postgresql+psycopg://{rest}"  # psycopg 3, which partnerkit[postgres] installs
    try:
        engine = sa.create_engine(url)
    except (sa.exc.ArgumentError, ImportError) as error:
        raise ValidationError.single("db", f"cannot use {scheme}:// URLs: {error}") from None
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
            run_demo(storage=storage, partners=options.partners, seed=options.seed, out=sys.stdout)
        finally:
            storage.close()
    finally:
        engine.dispose()
    print(f"\nThe network is in {shown}; open it with partnerkit.storage.sql.SqlStorage.")


def _read_model(path: Path) -> ScoringModel:
    from partnerkit.health import model_from_dict, model_from_toml  # noqa: PLC0415

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ValidationError.single("model", f"cannot read {path}: {error.strerror}") from None
    if path.suffix.lower() == ".toml":
        return model_from_toml(text)
    try:
        data = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as error:
        raise ValidationError.single(
            f"line {error.lineno}, column {error.colno}", f"not valid JSON: {error.msg}"
        ) from None
    return model_from_dict(data)


def _score(options: argparse.Namespace) -> None:
    from partnerkit._cli.files import read_snapshots  # noqa: PLC0415
    from partnerkit.health import score_batch  # noqa: PLC0415

    model = _read_model(Path(options.model))
    as_of = parse_datetime(options.as_of, "--as-of") if options.as_of else None
    snapshots = read_snapshots(Path(options.input), as_of)
    if not snapshots:
        raise ValidationError.single("input", "the file holds no partners")
    when = max(snapshot.as_of for snapshot in snapshots)
    batch = score_batch(model, snapshots, as_of=when)
    if options.format == "json":
        print(json.dumps([to_dict(item) for item in batch], ensure_ascii=False, indent=2))
        return
    if options.format == "csv":
        records = batch.to_records(measures=True)
        writer = csv.DictWriter(sys.stdout, fieldnames=list(records[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
        return
    print(f"{'partner':<24} {'score':>6}  {'band':<14} top reason")
    for item in batch:
        value = "n/a" if item.value is None else str(item.value)
        reason = item.explanation[1] if len(item.explanation) > 1 else item.explanation[0]
        print(f"{item.partner_id:<24} {value:>6}  {item.band or 'no data':<14} {reason}")


def _tiers(options: argparse.Namespace) -> None:
    from partnerkit._cli.files import read_snapshots  # noqa: PLC0415
    from partnerkit.tiers import Membership, evaluate, program_from_toml  # noqa: PLC0415

    path = Path(options.program)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ValidationError.single("program", f"cannot read {path}: {error.strerror}") from None
    if path.suffix.lower() == ".toml":
        program = program_from_toml(text)
    else:
        from partnerkit.serialization import from_json  # noqa: PLC0415
        from partnerkit.tiers import Program  # noqa: PLC0415

        program = from_json(Program, text)
    as_of = parse_datetime(options.as_of, "--as-of") if options.as_of else None
    snapshots = read_snapshots(Path(options.input), as_of)
    rows = []
    for snapshot in snapshots:
        # A newcomer's standing: which tier the metrics earn and what the next one needs.
        member = Membership(snapshot.partner_id, program.id, snapshot.as_of.date())
        decision = evaluate(program, member, snapshot, as_of=snapshot.as_of)
        tier = program.tier(decision.tier_id).name if decision.tier_id else "none"
        progress = "" if decision.progress is None else f"{decision.progress:.0%}"
        rows.append((snapshot.partner_id, tier, progress, decision.gap))
    if options.format == "json":
        keys = ("partner_id", "tier", "progress_to_next", "gap")
        print(json.dumps([dict(zip(keys, row, strict=True)) for row in rows], indent=2))
        return
    if options.format == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(("partner_id", "tier", "progress_to_next", "gap"))
        writer.writerows(rows)
        return
    print(f"{'partner':<24} {'tier':<14} {'next':>5}  gap to the next tier")
    for partner_id, tier, progress, gap in rows:
        print(f"{partner_id:<24} {tier:<14} {progress:>5}  {gap}")


def _deals_check(options: argparse.Namespace) -> int:
    from partnerkit._cli.files import read_registrations  # noqa: PLC0415
    from partnerkit.deals import ConflictIndex, find_conflicts  # noqa: PLC0415

    index = ConflictIndex()
    rows = []
    for registration in read_registrations(Path(options.input)):
        rows.extend(find_conflicts(registration, index))
        index.add(registration)
    if options.format == "json":
        print(json.dumps([to_dict(conflict) for conflict in rows], ensure_ascii=False, indent=2))
    elif options.format == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(("registration_id", "other_id", "confidence", "outcome", "matched"))
        for c in rows:
            kinds = ";".join(kind.value for kind in c.match_kinds)
            writer.writerow(
                (c.registration_id, c.other_id, f"{c.confidence:.2f}", c.outcome.value, kinds)
            )
    else:
        for conflict in rows:
            print(conflict.explain())
        print(f"{len(rows)} conflict(s) found")
    return EXIT_CONFLICTS if rows else EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
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
    score = commands.add_parser(
        "score", help="score partners' metrics from a CSV or JSON file with a health model"
    )
    score.add_argument("--model", required=True, help="the scoring model, .toml or .json")
    score.add_argument("--input", required=True, help="metric snapshots, .csv or .json")
    score.add_argument(
        "--format", choices=("table", "csv", "json"), default="table", help="output format"
    )
    score.add_argument("--as-of", help="ISO instant for rows without an as_of column")
    tiers = commands.add_parser(
        "tiers", help="which tier partners' metrics earn in a program, and the gap to the next"
    )
    tiers.add_argument("--program", required=True, help="the program, .toml or .json")
    tiers.add_argument("--input", required=True, help="metric snapshots, .csv or .json")
    tiers.add_argument(
        "--format", choices=("table", "csv", "json"), default="table", help="output format"
    )
    tiers.add_argument("--as-of", help="ISO instant for rows without an as_of column")
    deals = commands.add_parser("deals", help="deal registration tools")
    deal_commands = deals.add_subparsers(dest="deals_command", required=True)
    check = deal_commands.add_parser(
        "check", help="find conflicts among registrations in a CSV file, in submission order"
    )
    check.add_argument("--input", required=True, help="registrations, .csv")
    check.add_argument(
        "--format", choices=("text", "csv", "json"), default="text", help="output format"
    )
    options = parser.parse_args(argv)
    try:
        if options.command == "demo":
            _demo(options)
        elif options.command == "score":
            _score(options)
        elif options.command == "tiers":
            _tiers(options)
        elif options.command == "deals":
            return _deals_check(options)
    except PartnerkitError as error:
        print(f"partnerkit: {error}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:  # `partnerkit score ... | head` closed the pipe: not an error
        sys.stderr.close()
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
