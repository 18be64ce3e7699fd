"""What only the SQLite adapter promises: its file, its errors, its concurrency.

The storage contracts themselves are checked by `partnerkit.testing.conformance`;
here are the schema and its migrations, the translation of every ``sqlite3`` error,
several threads and processes on one file, surviving a SIGKILL in the middle of a
commit, and agreement with the memory adapter on random operations.
"""

import contextlib
import functools
import multiprocessing
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest

import partnerkit
import partnerkit.storage.sqlite._schema
from partnerkit import (
    Activity,
    ConflictError,
    Event,
    FixedClock,
    HealthScore,
    MetricSnapshot,
    Money,
    NotFoundError,
    Partner,
    PartnerkitError,
    PartnerStatus,
    StaleVersionError,
    StorageBusyError,
    StorageError,
    StorageSchemaError,
    ValidationError,
)
from partnerkit._base.ids import IdGenerator
from partnerkit.deals import Customer, DealRegistration, approve, customer_keys, submit
from partnerkit.health import (
    Measure,
    Normalizer,
    Override,
    ScoringModel,
    model_from_dict,
    score,
)
from partnerkit.serialization import to_json
from partnerkit.storage import Storage, UnitOfWork
from partnerkit.storage.memory import MemoryStorage
from partnerkit.storage.sqlite import SqliteStorage
from partnerkit.storage.sqlite._schema import MIGRATION_TABLES, MIGRATIONS
from partnerkit.tiers import (
    Membership,
    MembershipStatus,
    Program,
    Requirement,
    Tier,
    TierAssignment,
    TierChangeCause,
)

T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def partner(partner_id: str = "ptn_1", **changes: Any) -> Partner:
    fields: dict[str, Any] = {
        "id": partner_id,
        "name": "Nordic Cloud Oy",
        "type": "reseller",
        "country": "FI",
        "created_at": T0,
    }
    return Partner(**(fields | changes))


def activity(activity_id: str, partner_id: str = "ptn_1", **changes: Any) -> Activity:
    fields: dict[str, Any] = {
        "id": activity_id,
        "partner_id": partner_id,
        "kind": "revenue_booked",
        "occurred_at": T0,
        "value": Money("12.50", "EUR"),
    }
    return Activity(**(fields | changes))


MODEL = model_from_dict(
    {
        "name": "Standard",
        "version": 1,
        "measures": [
            {
                "name": "deals",
                "metric": "deals",
                "weight": 1,
                "normalizer": {"kind": "linear", "low": 0, "high": 100},
            }
        ],
    }
)


def health(
    partner_id: str = "ptn_1", hours: int = 0, deals: int = 55, **options: Any
) -> HealthScore:
    """A score of MODEL: ``deals`` is the value (critical < 40 <= at_risk < 70 <= healthy)."""
    at = T0 + timedelta(hours=hours)
    return score(MODEL, MetricSnapshot(partner_id, at, {"deals": deals}), as_of=at, **options)


def program(program_id: str = "prg_1", **changes: Any) -> Program:
    fields: dict[str, Any] = {
        "id": program_id,
        "name": "Channel Program",
        "currency": "EUR",
        "tiers": (
            Tier("registered", "Registered", 1),
            Tier("silver", "Silver", 2, Requirement("membership_months", ">=", 12)),
        ),
    }
    return Program(**(fields | changes))


def membership(partner_id: str = "ptn_1", program_id: str = "prg_1", **changes: Any) -> Membership:
    fields: dict[str, Any] = {
        "partner_id": partner_id,
        "program_id": program_id,
        "joined_on": date(2025, 1, 31),
    }
    return Membership(**(fields | changes))


def assignment(
    partner_id: str = "ptn_1", hours: int = 0, until: int | None = None, **changes: Any
) -> TierAssignment:
    fields: dict[str, Any] = {
        "partner_id": partner_id,
        "program_id": "prg_1",
        "tier_id": "silver",
        "valid_from": T0 + timedelta(hours=hours),
        "valid_until": None if until is None else T0 + timedelta(hours=until),
        "cause": TierChangeCause.UPGRADE,
    }
    return TierAssignment(**(fields | changes))


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "partners.db"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def storage(path: Path, clock: FixedClock) -> Iterator[SqliteStorage]:
    store = SqliteStorage(path, clock=clock)
    yield store
    store.close()


def raw(path: Path) -> sqlite3.Connection:
    """A plain sqlite3 connection: another application, or another writer."""
    return sqlite3.connect(path, isolation_level=None)


@contextlib.contextmanager
def opened(path: Path) -> Iterator[sqlite3.Connection]:
    db = raw(path)
    try:
        yield db
    finally:
        db.close()


#: The columns migration 5 added to tables of earlier migrations.
_ADDED_COLUMNS = (
    ("partners", "name_key"),
    ("deals", "customer_name_key"),
    ("deals", "customer_domain"),
    ("programs", "retired_at"),
)


def downgrade(path: Path, version: int) -> None:
    """Turn a file written by this release into one an earlier release wrote.

    What migrations after ``version`` added is dropped (their data with it), as if
    those migrations had never run.
    """
    with opened(path) as db:
        db.execute("DROP INDEX IF EXISTS partners_by_name")
        db.execute("DROP INDEX IF EXISTS deals_by_customer_domain")
        for tables in MIGRATION_TABLES[version:]:
            for table in tables:
                db.execute(f"DROP TABLE IF EXISTS {table}")
        present = {name for (name,) in db.execute("SELECT name FROM sqlite_master")}
        if version < 6:
            for table, column in _ADDED_COLUMNS:
                if table in present:
                    db.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        db.execute(f"PRAGMA user_version = {version}")
        db.commit()


def save(storage: SqliteStorage, *partners: Partner, activities: tuple[Activity, ...] = ()) -> None:
    with storage.unit_of_work() as uow:
        for item in partners:
            uow.partners.add(item)
        uow.activities.append(activities)
        uow.commit()


def count(path: Path, table: str) -> int:
    with opened(path) as db:
        (rows,) = db.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608 - test tables
    return int(rows)


# --- the file: schema, migrations, journal --------------------------------------


def test_sqlite_storage_keeps_the_storage_protocol(storage: SqliteStorage) -> None:
    assert isinstance(storage, Storage)
    assert isinstance(storage.unit_of_work(), UnitOfWork)


def test_a_new_file_gets_every_migration_and_records_it_in_user_version(path: Path) -> None:
    SqliteStorage(path).close()

    with opened(path) as db:
        (version,) = db.execute("PRAGMA user_version").fetchone()
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master")}

    assert version == len(MIGRATIONS)
    assert {"partners", "activities", "outbox", "scores"} <= tables
    assert {"programs", "memberships", "tier_history"} <= tables


def test_memberships_and_tier_history_have_indexes_for_what_is_queried(path: Path) -> None:
    SqliteStorage(path).close()

    with opened(path) as db:
        columns = {
            name: [row[2] for row in db.execute(f"PRAGMA index_info('{name}')")]
            for (name,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' "
                "AND tbl_name IN ('memberships', 'tier_history')"
            )
        }
        unique = {
            table: [
                [row[2] for row in db.execute(f"PRAGMA index_info('{index[1]}')")]
                for index in db.execute(f"PRAGMA index_list('{table}')")
                if index[2]
            ]
            for table in ("memberships", "tier_history")
        }

    assert unique == {
        "memberships": [["program_id", "partner_id"]],
        "tier_history": [["program_id", "partner_id", "valid_from"]],
    }
    assert ["program_id", "status", "partner_id"] in columns.values()
    assert ["program_id", "tier_id", "partner_id"] in columns.values()
    assert ["partner_id", "program_id"] in columns.values()


def test_a_database_from_before_tiers_is_upgraded_on_open_and_keeps_its_data(
    path: Path, clock: FixedClock
) -> None:
    old = SqliteStorage(path, clock=clock)
    with old.unit_of_work() as uow:
        added = uow.partners.add(partner())
        uow.activities.append([activity("act_1")])
        uow.scores.add(health())
        uow.publish(Event("partner.created", "ptn_1", T0))
        uow.commit()
    old.close()
    downgrade(path, 2)
    with opened(path) as db:
        before = db.execute("PRAGMA user_version").fetchone()
        old_tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master")}

    store = SqliteStorage(path, clock=clock)
    with store.unit_of_work() as uow:
        uow.programs.add(program())
        uow.memberships.add(membership())
        uow.tier_history.save(assignment())
        uow.commit()
    uow = store.unit_of_work()
    with opened(path) as db:
        after = db.execute("PRAGMA user_version").fetchone()

    assert before == (2,)
    assert not {"programs", "memberships", "tier_history"} & old_tables
    assert after == (len(MIGRATIONS),)
    assert uow.partners.get("ptn_1") == added
    assert uow.activities.get("act_1") == activity("act_1")
    assert uow.scores.latest("ptn_1", model="Standard") == health()
    assert [record.event.kind for record in store.pending_events()] == ["partner.created"]
    assert uow.programs.get("prg_1").program == program()
    assert uow.memberships.get("prg_1", "ptn_1") == attrs.evolve(membership(), version=1)
    assert uow.tier_history.for_partner("prg_1", "ptn_1") == [assignment()]
    store.close()


def test_a_database_from_before_search_columns_is_upgraded_and_its_rows_are_searchable(
    path: Path, clock: FixedClock
) -> None:
    deal = DealRegistration(
        "deal_1",
        "ptn_1",
        Customer("Nordic Cloud Oy", "FI", domain="shop.nordiccloud.fi"),
        Money("1000", "EUR"),
        date(2026, 6, 1),
        T0,
    )
    old = SqliteStorage(path, clock=clock)
    with old.unit_of_work() as uow:
        uow.partners.add(partner(name="Müller & Söhne GmbH"))
        uow.programs.add(program())
        uow.deals.add(deal)
        uow.commit()
    old.close()
    downgrade(path, 4)
    with opened(path) as db:
        columns = {row[1] for row in db.execute("PRAGMA table_info(partners)")}
        assert "name_key" not in columns

    store = SqliteStorage(path, clock=clock)
    uow = store.unit_of_work()
    with opened(path) as db:
        after = db.execute("PRAGMA user_version").fetchone()
        keys = db.execute("SELECT customer_name_key, customer_domain FROM deals").fetchall()

    assert after == (len(MIGRATIONS),)
    assert keys == [("nordic cloud", "nordiccloud.fi")]
    assert [p.id for p in uow.partners.query(name="MULLER").items] == ["ptn_1"]
    assert [d.id for d in uow.deals.query(customer="nordiccloud.fi").items] == ["deal_1"]
    assert [d.id for d in uow.deals.query(customer="cloud").items] == ["deal_1"]
    assert uow.programs.get("prg_1").retired_at is None
    model = ScoringModel("Standard", 1, (Measure("m", "x", Normalizer.linear(0, 100)),))
    with store.unit_of_work() as work:
        work.models.add(model)
        work.commit()
    assert uow.models.get("Standard").model == model
    store.close()


def test_a_database_from_before_deals_is_upgraded_on_open_and_keeps_its_data(
    path: Path, clock: FixedClock
) -> None:
    old = SqliteStorage(path, clock=clock)
    with old.unit_of_work() as uow:
        added = uow.partners.add(partner())
        uow.programs.add(program())
        uow.memberships.add(membership())
        uow.publish(Event("partner.created", "ptn_1", T0))
        uow.commit()
    old.close()
    downgrade(path, 3)
    with opened(path) as db:
        before = db.execute("PRAGMA user_version").fetchone()
        old_tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master")}

    store = SqliteStorage(path, clock=clock)
    first, second = race_registration(0, 0), race_registration(0, 1)
    with store.unit_of_work() as uow:
        uow.deals.add(approve(first, actor="usr_manager", at=T0).value)
        uow.deals.add(second)
        uow.commit()
    uow = store.unit_of_work()
    uow.deals.update(approve(uow.deals.get(second.id), actor="usr_manager", at=T0).value)
    with pytest.raises(ConflictError, match="claimed by approved registration 'deal_c0_p0'"):
        uow.commit()
    with opened(path) as db:
        after = db.execute("PRAGMA user_version").fetchone()

    assert before == (3,)
    assert not {"deals", "deal_claims"} & old_tables
    assert after == (len(MIGRATIONS),)
    assert uow.partners.get("ptn_1") == added
    assert uow.programs.get("prg_1").program == program()
    assert uow.memberships.get("prg_1", "ptn_1") == attrs.evolve(membership(), version=1)
    assert [record.event.kind for record in store.pending_events()] == ["partner.created"]
    assert uow.deals.claims_for(first.id) == customer_keys(first)
    assert uow.deals.get(second.id).status == "submitted"
    store.close()


@pytest.mark.parametrize(
    "table",
    [
        "deals",
        "deal_claims",
        "deal_changes",
        "scoring_models",
        "event_leases",
        "fund_budgets",
        "fund_requests",
        "fund_claims",
    ],
)
def test_a_database_marked_as_having_deals_without_their_tables_is_refused(
    path: Path, table: str
) -> None:
    SqliteStorage(path).close()
    with opened(path) as db:
        db.execute(f"DROP TABLE {table}")

    with pytest.raises(
        StorageSchemaError, match=f"version {len(MIGRATIONS)} but has no {table} table"
    ):
        SqliteStorage(path)


def test_the_claim_on_a_customer_key_is_the_primary_key_of_deal_claims(path: Path) -> None:
    SqliteStorage(path).close()

    with opened(path) as db:
        columns = db.execute("PRAGMA table_info('deal_claims')").fetchall()

    assert [(row[1], row[5]) for row in columns] == [("key", 1), ("deal_id", 0), ("key_version", 0)]


@pytest.mark.parametrize("table", ["programs", "memberships", "tier_history"])
def test_a_database_marked_as_having_tiers_without_their_tables_is_refused(
    path: Path, table: str
) -> None:
    SqliteStorage(path).close()
    with opened(path) as db:
        db.execute(f"DROP TABLE {table}")

    with pytest.raises(
        StorageSchemaError, match=f"version {len(MIGRATIONS)} but has no {table} table"
    ):
        SqliteStorage(path)


def test_tier_records_are_stored_as_json_beside_their_queried_columns(
    storage: SqliteStorage, path: Path
) -> None:
    member = membership(tier_id="silver", tier_since=T0, status=MembershipStatus.SUSPENDED)
    closed = assignment(until=5)
    with storage.unit_of_work() as uow:
        uow.partners.add(partner())
        uow.programs.add(program())
        stored = uow.memberships.add(member)
        uow.tier_history.save(closed)
        uow.commit()

    with opened(path) as db:
        programs = db.execute("SELECT id, version, json FROM programs").fetchall()
        members = db.execute(
            "SELECT program_id, partner_id, status, tier_id, version, json FROM memberships"
        ).fetchall()
        history = db.execute(
            "SELECT program_id, partner_id, valid_from, valid_until, json FROM tier_history"
        ).fetchall()

    micros = int((T0 - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()) * 10**6
    hour = 3600 * 10**6
    assert programs == [("prg_1", 1, to_json(program()))]
    assert members == [("prg_1", "ptn_1", "suspended", "silver", 1, to_json(stored))]
    assert history == [("prg_1", "ptn_1", micros, micros + 5 * hour, to_json(closed))]


def test_a_database_from_before_score_history_is_upgraded_on_open_and_keeps_its_data(
    path: Path, clock: FixedClock
) -> None:
    old = SqliteStorage(path, clock=clock)
    with old.unit_of_work() as uow:
        added = uow.partners.add(partner())
        uow.activities.append([activity("act_1")])
        uow.publish(Event("partner.created", "ptn_1", T0))
        uow.commit()
    old.close()
    downgrade(path, 1)
    with opened(path) as db:
        before = db.execute("PRAGMA user_version").fetchone()
        old_tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master")}

    store = SqliteStorage(path, clock=clock)
    with store.unit_of_work() as uow:
        uow.scores.add(health())
        uow.commit()
    uow = store.unit_of_work()
    with opened(path) as db:
        after = db.execute("PRAGMA user_version").fetchone()

    assert before == (1,)
    assert "scores" not in old_tables
    assert after == (len(MIGRATIONS),)
    assert uow.partners.get("ptn_1") == added
    assert uow.activities.get("act_1") == activity("act_1")
    assert [record.event.kind for record in store.pending_events()] == ["partner.created"]
    assert uow.scores.latest("ptn_1", model="Standard") == health()
    store.close()


def test_a_database_marked_as_having_score_history_without_its_table_is_refused(
    path: Path,
) -> None:
    SqliteStorage(path).close()
    with opened(path) as db:
        db.execute("DROP TABLE scores")

    with pytest.raises(
        StorageSchemaError, match=f"version {len(MIGRATIONS)} but has no scores table"
    ):
        SqliteStorage(path)


def test_scores_are_stored_as_json_beside_their_queried_columns(
    storage: SqliteStorage, path: Path
) -> None:
    item = health(hours=1, deals=45)
    with storage.unit_of_work() as uow:
        uow.scores.add(item)
        uow.commit()

    with opened(path) as db:
        rows = db.execute("SELECT partner_id, model, as_of, band, json FROM scores").fetchall()

    micros = int((item.as_of - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()) * 10**6
    assert rows == [("ptn_1", "Standard", micros, "at_risk", to_json(item))]


def test_a_model_name_sqlite_cannot_encode_is_stored_and_found_all_the_same(
    storage: SqliteStorage,
) -> None:
    odd = attrs.evolve(health(), model="Standard \ud800")
    with storage.unit_of_work() as uow:
        uow.scores.add(odd)
        uow.scores.add(health())
        uow.commit()
    uow = storage.unit_of_work()

    assert uow.scores.latest("ptn_1", model="Standard \ud800") == odd
    assert uow.scores.history("ptn_1", model="Standard \ud800") == [odd]
    assert uow.scores.query(model="Standard \ud800").items == (odd,)
    assert uow.scores.query(model="Standard").items == (health(),)


def test_reopening_a_file_keeps_its_data(path: Path, clock: FixedClock) -> None:
    store = SqliteStorage(path, clock=clock)
    with store.unit_of_work() as uow:
        added = uow.partners.add(partner(region="Amérique du Nord"))
        uow.activities.append([activity("act_1")])
        uow.publish(Event("partner.created", "ptn_1", T0))
        uow.commit()
    store.close()

    again = SqliteStorage(path, clock=clock)
    uow = again.unit_of_work()

    assert uow.partners.get("ptn_1") == added
    assert uow.activities.get("act_1") == activity("act_1")
    assert [record.event.kind for record in again.pending_events()] == ["partner.created"]
    again.close()


def test_a_file_database_runs_in_wal_mode(storage: SqliteStorage, path: Path) -> None:
    with opened(path) as db:
        (mode,) = db.execute("PRAGMA journal_mode").fetchone()

    assert mode == "wal"


def test_commits_are_synced_in_full(storage: SqliteStorage) -> None:
    (level,) = storage._connections.connection().execute("PRAGMA synchronous").fetchone()

    assert level == 2  # FULL


def test_a_database_from_a_newer_partnerkit_is_refused_with_upgrade_advice(path: Path) -> None:
    SqliteStorage(path).close()
    with opened(path) as db:
        db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")

    with pytest.raises(StorageSchemaError, match=r"newer partnerkit.*upgrade partnerkit"):
        SqliteStorage(path)


def test_a_database_with_tables_that_are_not_partnerkits_is_refused_and_left_alone(
    path: Path,
) -> None:
    with opened(path) as db:
        db.execute("CREATE TABLE customers (id TEXT)")

    with pytest.raises(StorageSchemaError, match=r"not partnerkit's \(customers\)"):
        SqliteStorage(path)
    with opened(path) as db:
        tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master")]
    assert tables == ["customers"]


def test_another_applications_database_is_refused(path: Path) -> None:
    with opened(path) as db:
        db.execute("PRAGMA application_id = 42")
        db.execute("PRAGMA user_version = 1")

    with pytest.raises(StorageSchemaError, match="another application"):
        SqliteStorage(path)


def test_a_file_that_is_not_a_database_is_refused_as_not_partnerkits(path: Path) -> None:
    path.write_bytes(b"partner_id,revenue\n" * 500)

    with pytest.raises(StorageSchemaError, match="is not an SQLite database"):
        SqliteStorage(path)


def test_a_damaged_database_raises_storage_error_saying_so(path: Path) -> None:
    store = SqliteStorage(path)
    save(store, *(partner(f"ptn_{n:03d}") for n in range(50)))
    store.close()  # the last connection checkpoints the WAL into the file
    with opened(path) as db:
        (root,) = db.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'partners'"
        ).fetchone()
        (page_size,) = db.execute("PRAGMA page_size").fetchone()
    with path.open("r+b") as file:
        file.seek((root - 1) * page_size)
        file.write(b"\xa5" * page_size)

    damaged = SqliteStorage(path)
    with pytest.raises(StorageError, match="is damaged") as raised:
        damaged.unit_of_work().partners.get("ptn_001")
    damaged.close()

    assert not isinstance(raised.value, StorageSchemaError)


def test_a_missing_directory_is_a_storage_error_naming_the_fix(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="check that its directory exists"):
        SqliteStorage(tmp_path / "no" / "such" / "dir" / "partners.db")


@pytest.mark.parametrize("bad", ["", 12])
def test_an_unusable_path_is_a_validation_error(bad: Any) -> None:
    with pytest.raises(ValidationError, match="path"):
        SqliteStorage(bad)


@pytest.mark.parametrize("bad", [-1, float("inf"), "10", True])
def test_an_unusable_busy_timeout_is_a_validation_error(path: Path, bad: Any) -> None:
    with pytest.raises(ValidationError, match="busy_timeout"):
        SqliteStorage(path, busy_timeout=bad)


# --- every other driver error becomes a partnerkit error ------------------------


def test_a_commit_blocked_past_busy_timeout_raises_busy_and_can_be_retried(path: Path) -> None:
    store = SqliteStorage(path, busy_timeout=0.05)
    other = raw(path)
    other.execute("BEGIN IMMEDIATE")  # another writer holds the write lock
    uow = store.unit_of_work()
    uow.partners.add(partner())

    with pytest.raises(StorageBusyError, match=r"busy_timeout=0\.05s"):
        uow.commit()
    other.execute("ROLLBACK")

    assert count(path, "partners") == 0
    uow.commit()  # nothing was lost: the same work commits once the lock is free
    assert store.unit_of_work().partners.get("ptn_1").version == 1
    other.close()
    store.close()


def test_a_lock_held_while_opening_raises_busy(path: Path) -> None:
    other = raw(path)
    other.execute("BEGIN EXCLUSIVE")  # a new file is still in rollback-journal mode

    with pytest.raises(StorageBusyError, match="opening the database"):
        SqliteStorage(path, busy_timeout=0.05)
    other.execute("ROLLBACK")
    other.close()


def test_marking_events_delivered_while_blocked_raises_busy(path: Path) -> None:
    store = SqliteStorage(path, busy_timeout=0.05)
    other = raw(path)
    other.execute("BEGIN IMMEDIATE")

    with pytest.raises(StorageBusyError, match="marking events delivered"):
        store.mark_delivered(["evt_1"])
    other.execute("ROLLBACK")
    other.close()
    store.close()


def test_any_other_driver_error_is_a_storage_error_naming_the_operation(
    storage: SqliteStorage, path: Path
) -> None:
    with opened(path) as db:
        db.execute("DROP TABLE activities")

    with pytest.raises(StorageError, match=r"while reading an activity.*no such table") as raised:
        storage.unit_of_work().activities.get("act_1")

    assert type(raised.value) is StorageError
    assert not isinstance(raised.value, sqlite3.Error)


@pytest.mark.parametrize(
    ("operation", "call"),
    [
        ("reading a score", lambda uow: uow.scores.add(health())),
        ("reading a partner's latest score", lambda uow: uow.scores.latest("ptn_1", model="m")),
        ("reading a partner's scores", lambda uow: uow.scores.history("ptn_1", model="m")),
        ("querying scores", lambda uow: uow.scores.query(model="m")),
    ],
)
def test_a_driver_error_while_reading_scores_is_a_storage_error_naming_the_operation(
    storage: SqliteStorage, path: Path, operation: str, call: Callable[[Any], object]
) -> None:
    with opened(path) as db:
        db.execute("DROP TABLE scores")

    with pytest.raises(StorageError, match=f"while {operation}.*no such table") as raised:
        call(storage.unit_of_work())

    assert type(raised.value) is StorageError


@pytest.mark.parametrize(
    ("table", "operation", "call"),
    [
        ("programs", "reading a program", lambda uow: uow.programs.get("prg_1")),
        ("programs", "reading a program", lambda uow: uow.programs.add(program())),
        ("programs", "querying programs", lambda uow: uow.programs.query()),
        ("memberships", "reading a membership", lambda uow: uow.memberships.get("p", "q")),
        ("memberships", "reading a membership", lambda uow: uow.memberships.add(membership())),
        (
            "memberships",
            "reading a membership",
            lambda uow: uow.memberships.update(membership(version=1)),
        ),
        (
            "memberships",
            "querying memberships",
            lambda uow: uow.memberships.query(program_id="prg_1"),
        ),
        (
            "memberships",
            "reading a partner's memberships",
            lambda uow: uow.memberships.for_partner("ptn_1"),
        ),
        (
            "tier_history",
            "reading a tier assignment",
            lambda uow: uow.tier_history.save(assignment()),
        ),
        (
            "tier_history",
            "reading a partner's tier history",
            lambda uow: uow.tier_history.for_partner("prg_1", "ptn_1"),
        ),
        (
            "tier_history",
            "reading a partner's tier history",
            lambda uow: uow.tier_history.at("prg_1", "ptn_1", T0),
        ),
    ],
)
def test_a_driver_error_while_reading_tiers_is_a_storage_error_naming_the_operation(
    storage: SqliteStorage, path: Path, table: str, operation: str, call: Callable[[Any], object]
) -> None:
    with opened(path) as db:
        db.execute(f"DROP TABLE {table}")

    with pytest.raises(StorageError, match=f"while {operation}.*no such table") as raised:
        call(storage.unit_of_work())

    assert type(raised.value) is StorageError


@pytest.mark.parametrize(
    ("table", "stage"),
    [
        ("programs", lambda uow: uow.programs.add(program())),
        ("memberships", lambda uow: uow.memberships.add(membership())),
        ("tier_history", lambda uow: uow.tier_history.save(assignment())),
    ],
)
def test_a_driver_error_while_committing_tiers_writes_nothing(
    storage: SqliteStorage, path: Path, table: str, stage: Callable[[Any], object]
) -> None:
    uow = storage.unit_of_work()
    uow.partners.add(partner())
    stage(uow)
    with opened(path) as db:
        db.execute(f"DROP TABLE {table}")

    with pytest.raises(StorageError, match=r"while committing a unit of work.*no such table"):
        uow.commit()

    assert count(path, "partners") == 0


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("UNIQUE constraint failed: programs.id", "program"),
        ("UNIQUE constraint failed: memberships.program_id, memberships.partner_id", "membership"),
        (
            (
                "UNIQUE constraint failed: tier_history.program_id, tier_history.partner_id, "
                "tier_history.valid_from"
            ),
            "tier assignment",
        ),
    ],
)
def test_a_duplicate_tier_record_refused_by_the_database_is_a_conflict_about_it(
    storage: SqliteStorage, message: str, kind: str
) -> None:
    error = sqlite3.IntegrityError(message)
    error.sqlite_errorcode = 2067  # SQLITE_CONSTRAINT_UNIQUE

    translated = storage._connections.translate(error, "committing a unit of work")

    assert type(translated) is ConflictError
    assert translated.kind == kind


@pytest.mark.parametrize(
    ("table", "kind"),
    [
        ("scoring_models", "scoring model"),
        ("business_plans", "business plan"),
        ("check_ins", "check-in"),
        ("certifications", "certification"),
        ("incentive_statements", "incentive statement"),
        ("incentive_plans", "incentive plan"),
        ("leads", "lead"),
    ],
)
def test_a_duplicate_in_a_newer_table_is_a_conflict_naming_its_kind(
    storage: SqliteStorage, table: str, kind: str
) -> None:
    error = sqlite3.IntegrityError(f"UNIQUE constraint failed: {table}.id")
    error.sqlite_errorcode = 2067  # SQLITE_CONSTRAINT_UNIQUE

    translated = storage._connections.translate(error, "committing a unit of work")

    assert type(translated) is ConflictError
    assert translated.kind == kind
    assert f"a {kind} with the same id is already stored" in str(translated)


def test_a_commit_of_tier_records_blocked_past_busy_timeout_raises_busy_and_keeps_them(
    path: Path,
) -> None:
    store = SqliteStorage(path, busy_timeout=0.05)
    other = raw(path)
    other.execute("BEGIN IMMEDIATE")
    uow = store.unit_of_work()
    uow.partners.add(partner())
    uow.programs.add(program())
    uow.memberships.add(membership())
    uow.tier_history.save(assignment())

    with pytest.raises(StorageBusyError):
        uow.commit()
    other.execute("ROLLBACK")

    assert (count(path, "programs"), count(path, "memberships"), count(path, "tier_history")) == (
        0,
        0,
        0,
    )
    uow.commit()
    reader = store.unit_of_work()
    assert reader.memberships.get("prg_1", "ptn_1").version == 1
    assert reader.tier_history.at("prg_1", "ptn_1", T0) == assignment()
    other.close()
    store.close()


def test_a_stored_tier_record_that_cannot_be_read_is_a_storage_error_naming_it(
    storage: SqliteStorage, path: Path
) -> None:
    with storage.unit_of_work() as uow:
        uow.partners.add(partner())
        uow.memberships.add(membership())
        uow.commit()
    with opened(path) as db:
        db.execute("UPDATE memberships SET json = '{\"partner_id\": 1}'")

    with pytest.raises(StorageError, match=r"stored membership 'prg_1/ptn_1' cannot be read"):
        storage.unit_of_work().memberships.get("prg_1", "ptn_1")


def test_a_driver_error_while_committing_scores_writes_nothing(
    storage: SqliteStorage, path: Path
) -> None:
    uow = storage.unit_of_work()
    uow.partners.add(partner())
    uow.scores.add(health())
    with opened(path) as db:
        db.execute("DROP TABLE scores")

    with pytest.raises(StorageError, match=r"while committing a unit of work.*no such table"):
        uow.commit()

    assert count(path, "partners") == 0


def test_a_duplicate_score_refused_by_the_database_is_a_conflict_about_a_score(
    storage: SqliteStorage,
) -> None:
    error = sqlite3.IntegrityError(
        "UNIQUE constraint failed: scores.model, scores.partner_id, scores.as_of"
    )
    error.sqlite_errorcode = 2067  # SQLITE_CONSTRAINT_UNIQUE

    translated = storage._connections.translate(error, "committing a unit of work")

    assert type(translated) is ConflictError
    assert translated.kind == "score"


def test_a_commit_of_scores_blocked_past_busy_timeout_raises_busy_and_keeps_them(
    path: Path,
) -> None:
    store = SqliteStorage(path, busy_timeout=0.05)
    other = raw(path)
    other.execute("BEGIN IMMEDIATE")
    uow = store.unit_of_work()
    uow.scores.add(health())

    with pytest.raises(StorageBusyError):
        uow.commit()
    other.execute("ROLLBACK")

    assert count(path, "scores") == 0
    uow.commit()
    assert store.unit_of_work().scores.latest("ptn_1", model="Standard") == health()
    other.close()
    store.close()


def test_a_duplicate_id_refused_by_the_database_is_a_conflict(path: Path) -> None:
    class SameIds(IdGenerator):
        def __call__(self, prefix: str = "") -> str:
            return f"{prefix}_same"

    store = SqliteStorage(path, ids=SameIds())
    with store.unit_of_work() as first:
        first.publish(Event("partner.poked", "ptn_1", T0))
        first.commit()
    second = store.unit_of_work()
    second.publish(Event("partner.poked", "ptn_2", T0))

    with pytest.raises(ConflictError, match="event with the same id") as raised:
        second.commit()

    assert raised.value.kind == "event"
    assert count(path, "outbox") == 1
    store.close()


@pytest.mark.parametrize(
    ("code", "advice"),
    [
        (13, "is full while committing a unit of work; nothing was written: free some space"),
        (8, "is read-only while committing a unit of work"),
        (14, "check that its directory exists"),
    ],
)
def test_a_full_disk_or_read_only_file_is_a_storage_error_saying_what_to_do(
    storage: SqliteStorage, code: int, advice: str
) -> None:
    # Running as root, the tests cannot make a file read-only or a disk full, so
    # these errors are built the way sqlite3 raises them.
    error = sqlite3.OperationalError("SQLite's own words")
    error.sqlite_errorcode = code

    translated = storage._connections.translate(error, "committing a unit of work")

    assert type(translated) is StorageError
    assert advice in str(translated)


def test_using_a_closed_store_is_a_storage_error(storage: SqliteStorage) -> None:
    uow = storage.unit_of_work()
    uow.partners.add(partner())
    storage.close()

    calls: list[Callable[[], object]] = [
        storage.unit_of_work,
        storage.pending_events,
        lambda: storage.mark_delivered(["evt_1"]),
        lambda: uow.partners.get("ptn_2"),
        uow.partners.query,
        lambda: uow.activities.get("act_1"),
        lambda: uow.activities.append([activity("act_1")]),
        uow.activities.query,
        lambda: uow.activities.for_partner("ptn_1"),
        lambda: uow.scores.add(health()),
        lambda: uow.scores.latest("ptn_1", model="Standard"),
        lambda: uow.scores.history("ptn_1", model="Standard"),
        lambda: uow.scores.query(model="Standard"),
        lambda: uow.programs.get("prg_1"),
        lambda: uow.programs.add(program()),
        uow.programs.query,
        lambda: uow.memberships.get("prg_1", "ptn_1"),
        lambda: uow.memberships.add(membership()),
        lambda: uow.memberships.query(program_id="prg_1"),
        lambda: uow.memberships.for_partner("ptn_1"),
        lambda: uow.tier_history.save(assignment()),
        lambda: uow.tier_history.for_partner("prg_1", "ptn_1"),
        lambda: uow.tier_history.at("prg_1", "ptn_1", T0),
        uow.commit,
    ]
    for call in calls:
        with pytest.raises(StorageError, match="closed"):
            call()


# --- units of work: atomic, checked again at commit -----------------------------


def test_a_partner_added_meanwhile_makes_the_commit_conflict_and_write_nothing(
    storage: SqliteStorage, path: Path
) -> None:
    first, second = storage.unit_of_work(), storage.unit_of_work()
    second.partners.add(partner("ptn_0"))
    second.partners.add(partner("ptn_1", name="Second"))
    second.activities.append([activity("act_1")])
    second.publish(Event("partner.created", "ptn_1", T0))
    first.partners.add(partner("ptn_1"))
    first.commit()

    with pytest.raises(ConflictError, match="'ptn_1' already exists") as raised:
        second.commit()

    assert raised.value.key == "ptn_1"
    assert [count(path, table) for table in ("partners", "activities", "outbox")] == [1, 0, 0]
    assert storage.unit_of_work().partners.get("ptn_1").name == "Nordic Cloud Oy"


def test_a_stale_update_raises_with_the_stored_version_and_writes_nothing(
    storage: SqliteStorage, path: Path
) -> None:
    save(storage, partner())
    first, second = storage.unit_of_work(), storage.unit_of_work()
    first.partners.update(attrs.evolve(first.partners.get("ptn_1"), region="EMEA"))
    second.partners.update(attrs.evolve(second.partners.get("ptn_1"), region="APAC"))
    second.activities.append([activity("act_1")])
    first.commit()

    with pytest.raises(StaleVersionError) as raised:
        second.commit()

    assert (raised.value.expected, raised.value.actual) == (1, 2)
    assert storage.unit_of_work().partners.get("ptn_1").region == "EMEA"
    assert count(path, "activities") == 0


def test_an_activity_committed_meanwhile_with_other_content_conflicts_and_writes_nothing(
    storage: SqliteStorage, path: Path
) -> None:
    first, second = storage.unit_of_work(), storage.unit_of_work()
    first.activities.append([activity("act_1")])
    second.activities.append([activity("act_0"), activity("act_1", value=Decimal(3))])
    second.partners.add(partner())
    first.commit()

    with pytest.raises(ConflictError, match="'act_1' is already in the ledger"):
        second.commit()

    assert count(path, "activities") == 1
    assert count(path, "partners") == 0
    assert storage.unit_of_work().activities.get("act_1") == activity("act_1")


def test_a_score_committed_meanwhile_with_other_content_conflicts_and_writes_nothing(
    storage: SqliteStorage, path: Path
) -> None:
    first, second = storage.unit_of_work(), storage.unit_of_work()
    first.scores.add(health(deals=50))
    second.scores.add(health("ptn_0"))
    second.scores.add(health(deals=51))
    second.activities.append([activity("act_1")])
    second.publish(Event("health.band_changed", "ptn_1", T0))
    first.commit()

    with pytest.raises(ConflictError, match="'ptn_1' already has a different 'Standard' score"):
        second.commit()

    assert [count(path, table) for table in ("scores", "activities", "outbox")] == [1, 0, 0]
    assert storage.unit_of_work().scores.latest("ptn_1", model="Standard") == health(deals=50)


def test_an_overridden_score_cannot_replace_the_stored_one_but_scoring_again_can(
    storage: SqliteStorage,
) -> None:
    stored = health(deals=30)
    with storage.unit_of_work() as uow:
        uow.scores.add(stored)
        uow.commit()
    override = Override("usr_maria", "renewal signed", T0, T0 + timedelta(days=30), band="at_risk")

    with storage.unit_of_work() as uow, pytest.raises(ConflictError):
        uow.scores.add(attrs.evolve(stored, override=override, band="at_risk"))
    with storage.unit_of_work() as uow:
        previous = uow.scores.latest("ptn_1", model="Standard")
        uow.scores.add(health(hours=1, deals=30, previous=previous, override=override))
        uow.commit()

    shown = storage.unit_of_work().scores.history("ptn_1", model="Standard")
    assert [(item.band, item.override) for item in shown] == [
        ("critical", None),
        ("at_risk", override),
    ]


def test_an_identical_activity_committed_meanwhile_is_skipped(
    storage: SqliteStorage, path: Path
) -> None:
    first, second = storage.unit_of_work(), storage.unit_of_work()
    first.activities.append([activity("act_1")])
    second.activities.append([activity("act_0"), activity("act_1")])
    first.commit()

    second.commit()

    assert count(path, "activities") == 2


def test_appending_checks_ids_against_the_ledger_and_the_batch(storage: SqliteStorage) -> None:
    save(storage, activities=(activity("act_1"),))
    uow = storage.unit_of_work()

    result = uow.activities.append([activity("act_1"), activity("act_2"), activity("act_2")])
    with pytest.raises(ConflictError, match="act_2"):
        uow.activities.append([activity("act_3"), activity("act_2", kind="deal_won")])
    with pytest.raises(ConflictError, match="act_4"):
        uow.activities.append([activity("act_4"), activity("act_4", value=None)])

    assert (result.added, result.duplicates) == (1, 2)
    assert [a.id for a in uow.activities.query().items] == ["act_1", "act_2"]


def test_reads_in_a_unit_of_work_see_its_own_writes_and_others_do_not(
    storage: SqliteStorage,
) -> None:
    save(storage, partner("ptn_1"), activities=(activity("act_1"),))
    uow, other = storage.unit_of_work(), storage.unit_of_work()
    changed = uow.partners.update(attrs.evolve(uow.partners.get("ptn_1"), country="SE"))
    added = uow.partners.add(partner("ptn_2"))
    later = activity("act_2", occurred_at=T0 - timedelta(days=1))
    uow.activities.append([later])

    assert uow.partners.get("ptn_1") == changed
    assert uow.partners.query(country="SE").items == (changed,)
    assert uow.partners.query().items == (changed, added)
    assert uow.activities.get("act_2") == later
    assert uow.activities.for_partner("ptn_1") == [later, activity("act_1")]
    assert [a.id for a in uow.activities.query().items] == ["act_1", "act_2"]
    assert other.partners.query(country="SE").items == ()
    with pytest.raises(NotFoundError):
        other.partners.get("ptn_2")


def test_paging_returns_every_partner_once_while_others_are_added(
    storage: SqliteStorage,
) -> None:
    save(storage, *(partner(f"ptn_{n:02d}") for n in range(0, 50, 2)))
    seen: list[str] = []
    cursor = None
    extra = iter(range(1, 50, 2))
    while True:
        page = storage.unit_of_work().partners.query(limit=7, cursor=cursor)
        seen += [item.id for item in page.items]
        save(storage, partner(f"ptn_{next(extra):02d}"), partner(f"ptn_9{len(seen)}"))
        cursor = page.next_cursor
        if cursor is None:
            break

    originals = [f"ptn_{n:02d}" for n in range(0, 50, 2)]
    assert [item for item in seen if item in originals] == originals
    assert len(seen) == len(set(seen))


def test_activity_filters_are_inclusive_and_ordered_by_time_then_id(
    storage: SqliteStorage,
) -> None:
    hour = timedelta(hours=1)
    stored = [
        activity("act_c", occurred_at=T0),
        activity("act_a", occurred_at=T0 + hour, kind="deal_won", value=None),
        activity("act_b", occurred_at=T0 + hour),
        activity("act_d", occurred_at=T0 + 2 * hour),
        activity("act_e", "ptn_2", occurred_at=T0 + hour),
    ]
    save(storage, activities=tuple(stored))
    ledger = storage.unit_of_work().activities

    window = ledger.for_partner("ptn_1", since=T0 + hour, until=T0 + 2 * hour)
    kinds = ledger.for_partner("ptn_1", kinds=["revenue_booked"])
    page = ledger.query(partner_id="ptn_1", since=T0 + hour, limit=2)

    assert [a.id for a in window] == ["act_a", "act_b", "act_d"]
    assert [a.id for a in kinds] == ["act_c", "act_b", "act_d"]
    assert [a.id for a in page.items] == ["act_a", "act_b"]
    assert [a.id for a in ledger.query(cursor=page.next_cursor).items] == [
        "act_c",
        "act_d",
        "act_e",
    ]


def test_events_reach_the_outbox_only_when_the_work_commits(
    storage: SqliteStorage, clock: FixedClock
) -> None:
    uow = storage.unit_of_work()
    uow.publish(Event("partner.poked", "ptn_1", T0, data={"n": 0}))
    uow.rollback()
    uow.publish(Event("partner.poked", "ptn_1", T0, data={"n": 1}))
    uow.commit()
    clock.advance(timedelta(seconds=1))
    with storage.unit_of_work() as later:
        later.publish(Event("partner.poked", "ptn_2", T0, data={"n": 2}))
        later.commit()

    pending = storage.pending_events()
    storage.mark_delivered([pending[0].id, "evt_unknown"])

    assert [record.event.data["n"] for record in pending] == [1, 2]
    assert pending[0] == uow.events[0]
    assert pending[0].id.startswith("evt_")
    assert pending[1].recorded_at == T0 + timedelta(seconds=1)
    assert storage.pending_events() == [pending[1]]


# --- ":memory:" ------------------------------------------------------------------


def test_an_in_memory_store_is_shared_by_its_threads_and_private_to_it() -> None:
    store, other = SqliteStorage(":memory:"), SqliteStorage(":memory:")
    worker = threading.Thread(target=save, args=(store, partner()))
    worker.start()
    worker.join()

    assert store.unit_of_work().partners.get("ptn_1").version == 1
    with pytest.raises(NotFoundError):
        other.unit_of_work().partners.get("ptn_1")
    store.close()
    other.close()


# --- several threads and processes on one file ----------------------------------


def test_threads_updating_one_partner_lose_no_update(storage: SqliteStorage) -> None:
    save(storage, partner())
    threads, attempts = 6, 12
    start = threading.Barrier(threads)
    successes: list[str] = []
    unexpected: list[BaseException] = []

    def work(thread: int) -> None:
        start.wait()
        for attempt in range(attempts):
            mark = f"t{thread}_{attempt}"
            try:
                with storage.unit_of_work() as uow:
                    current = uow.partners.get("ptn_1")
                    fields = current.custom_fields | {mark: attempt}
                    uow.partners.update(attrs.evolve(current, custom_fields=fields))
                    uow.commit()
            except StaleVersionError:
                continue
            except BaseException as error:  # reported below, in the test's thread
                unexpected.append(error)
                return
            successes.append(mark)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    final = storage.unit_of_work().partners.get("ptn_1")
    assert unexpected == []
    assert final.version == 1 + len(successes)
    assert set(final.custom_fields) == set(successes)


UNITS_PER_PROCESS = 8
ACTIVITIES_PER_UNIT = 25
SHARED_ACTIVITIES = 10


def process_worker(path: str, worker: int) -> int:
    """Run in a spawned process: count up a shared partner and append activities.

    Returns how many commits failed on a stale version (and were retried).
    """
    store = SqliteStorage(path)
    stale = 0
    for unit in range(UNITS_PER_PROCESS):
        own = [
            activity(f"act_w{worker}_{unit}_{n}", occurred_at=T0 + timedelta(seconds=n))
            for n in range(ACTIVITIES_PER_UNIT)
        ]
        # Every process also appends the same shared activities: duplicates, not conflicts.
        shared = [activity(f"act_shared_{n}") for n in range(SHARED_ACTIVITIES)]
        while True:
            try:
                with store.unit_of_work() as uow:
                    counter = uow.partners.get("ptn_counter")
                    total = counter.custom_fields["count"]
                    assert isinstance(total, int)
                    fields = counter.custom_fields | {"count": total + 1}
                    uow.partners.update(attrs.evolve(counter, custom_fields=fields))
                    uow.activities.append(own + shared)
                    uow.commit()
                break
            except StaleVersionError:
                stale += 1
    store.close()
    return stale


def test_processes_updating_and_appending_on_one_file_lose_nothing(
    storage: SqliteStorage, path: Path
) -> None:
    save(storage, partner("ptn_counter", custom_fields={"count": 0}))
    processes = 3
    context = multiprocessing.get_context("spawn")

    with context.Pool(processes) as pool:
        stale = pool.starmap(process_worker, [(str(path), n) for n in range(processes)])

    counter = storage.unit_of_work().partners.get("ptn_counter")
    units = processes * UNITS_PER_PROCESS
    assert counter.custom_fields["count"] == units
    assert counter.version == 1 + units
    assert count(path, "activities") == units * ACTIVITIES_PER_UNIT + SHARED_ACTIVITIES
    assert len(stale) == processes  # every worker finished; only stale versions were retried


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_forked_child_opens_its_own_connection_and_leaves_the_parents_alone(
    storage: SqliteStorage, path: Path
) -> None:
    save(storage, partner("ptn_parent"))
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            save(storage, partner("ptn_child"))
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(child, 0)

    save(storage, partner("ptn_after"))
    uow = storage.unit_of_work()
    assert os.waitstatus_to_exitcode(status) == 0
    assert [item.id for item in uow.partners.query().items] == [
        "ptn_after",
        "ptn_child",
        "ptn_parent",
    ]
    with opened(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


# --- the race for a customer: processes approving on one file --------------------

RACE_CUSTOMERS = 4
RACE_PROCESSES = 4


def race_registration(customer: int, process: int) -> DealRegistration:
    """Process ``process``'s registration for customer ``customer``, written its own way."""
    names = ("Acme{n} Oy", "ACME{n}", "Acme-{n} Oy.", "acme {n}")
    domains = ("acme{n}.fi", "www.acme{n}.fi", "shop.acme{n}.fi", None)
    draft = DealRegistration(
        id=f"deal_c{customer}_p{process}",
        partner_id=f"ptn_{process}",
        customer=Customer(
            names[process % 4].format(n=customer),
            "FI",
            domain=None
            if domains[process % 4] is None
            else domains[process % 4].format(n=customer),
        ),
        amount=Money("1000", "EUR"),
        expected_close_on=date(2026, 12, 31),
        registered_at=T0,
        products=("CRM",),
    )
    return submit(draft, actor="usr_partner", at=T0).value


def race_worker(path: str, process: int, start: Any, results: Any) -> None:
    """Run in a spawned process: approve this process's registration of every customer.

    Every process waits at the barrier before each customer, so all of them race
    for the same customer at once. Reports each attempt's outcome on ``results``.
    """
    store = SqliteStorage(path)
    outcomes: dict[str, str] = {}
    try:
        for customer in range(RACE_CUSTOMERS):
            deal_id = race_registration(customer, process).id
            with store.unit_of_work() as uow:
                seen = uow.deals.get(deal_id)
                start.wait()
                approved, events = approve(seen, actor="usr_manager", at=T0 + timedelta(hours=1))
                try:
                    uow.deals.update(approved)
                    uow.publish(*events)
                    uow.commit()
                    outcomes[deal_id] = "approved"
                except ConflictError as error:
                    outcomes[deal_id] = type(error).__name__
    except BaseException as error:  # reported to the test, which fails on it
        start.abort()
        outcomes["error"] = repr(error)
    finally:
        store.close()
        results.put(outcomes)


def test_processes_approving_one_customer_on_one_file_approve_exactly_one(
    storage: SqliteStorage, path: Path
) -> None:
    registrations = [
        race_registration(customer, process)
        for customer in range(RACE_CUSTOMERS)
        for process in range(RACE_PROCESSES)
    ]
    with storage.unit_of_work() as uow:
        for registration in registrations:
            uow.deals.add(registration)
        uow.commit()
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(RACE_PROCESSES, timeout=120)
    results = context.Queue()
    workers = [
        context.Process(target=race_worker, args=(str(path), n, start, results))
        for n in range(RACE_PROCESSES)
    ]
    for worker in workers:
        worker.start()
    outcomes: dict[str, str] = {}
    for _ in workers:
        outcomes.update(results.get(timeout=180))
    for worker in workers:
        worker.join(60)

    assert "error" not in outcomes, outcomes["error"]
    assert len(outcomes) == RACE_CUSTOMERS * RACE_PROCESSES
    uow = storage.unit_of_work()
    stored = {r.id: uow.deals.get(r.id) for r in registrations}
    winners = {}
    for customer in range(RACE_CUSTOMERS):
        mine = [f"deal_c{customer}_p{p}" for p in range(RACE_PROCESSES)]
        approved = [deal_id for deal_id in mine if stored[deal_id].status == "approved"]
        assert len(approved) == 1, f"customer {customer}: approved {approved}"
        assert [outcomes[d] for d in approved] == ["approved"]
        losers = sorted(set(mine) - set(approved))
        assert {outcomes[d] for d in losers} <= {"CustomerClaimedError", "StaleVersionError"}
        assert [(stored[d].status, stored[d].version) for d in losers] == [("submitted", 1)] * 3
        assert all(uow.deals.claims_for(d) == () for d in losers)
        winners[approved[0]] = customer_keys(stored[approved[0]])
    with opened(path) as db:
        claims = dict(db.execute("SELECT key, deal_id FROM deal_claims").fetchall())
    assert claims == {key: deal_id for deal_id, keys in winners.items() for key in keys}
    kinds = [record.event.kind for record in storage.pending_events(limit=1000)]
    assert kinds == ["deal.approved"] * RACE_CUSTOMERS


def test_threads_approving_one_customer_approve_exactly_one(storage: SqliteStorage) -> None:
    threads = 16
    registrations = [race_registration(0, n) for n in range(threads)]
    with storage.unit_of_work() as uow:
        for registration in registrations:
            uow.deals.add(registration)
        uow.commit()
    start = threading.Barrier(threads)
    outcomes: dict[str, str] = {}

    def work(registration: DealRegistration) -> None:
        with storage.unit_of_work() as uow:
            seen = uow.deals.get(registration.id)
            start.wait()
            approved, _ = approve(seen, actor="usr_manager", at=T0 + timedelta(hours=1))
            try:
                uow.deals.update(approved)
                uow.commit()
                outcomes[registration.id] = "approved"
            except ConflictError as error:
                outcomes[registration.id] = type(error).__name__

    workers = [threading.Thread(target=work, args=(r,)) for r in registrations]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    uow = storage.unit_of_work()
    approved = [r.id for r in registrations if uow.deals.get(r.id).status == "approved"]
    assert len(approved) == 1
    assert sorted(outcomes.values()) == ["CustomerClaimedError"] * (threads - 1) + ["approved"]
    assert outcomes[approved[0]] == "approved"


# --- a writer killed in the middle of a commit ----------------------------------

UNIT = 2_000

WRITER = """
import sys
from datetime import UTC, datetime, timedelta

import attrs

from partnerkit import Activity, Money, Partner
from partnerkit.storage.sqlite import SqliteStorage

path, unit = sys.argv[1], int(sys.argv[2])
start = datetime(2026, 1, 1, tzinfo=UTC)
store = SqliteStorage(path)
with store.unit_of_work() as uow:
    try:
        uow.partners.get("ptn_counter")
    except LookupError:
        uow.partners.add(
            Partner("ptn_counter", "Counter Oy", "reseller", "FI", start,
                    custom_fields={"units": 0})
        )
        uow.commit()
while True:
    with store.unit_of_work() as uow:
        counter = uow.partners.get("ptn_counter")
        done = counter.custom_fields["units"]
        batch = [
            Activity(f"act_{done:05d}_{n:05d}", "ptn_counter", "revenue_booked",
                     start + timedelta(seconds=n), Money(f"{n}.25", "EUR"),
                     {"unit": done, "padding": "x" * 200})
            for n in range(unit)
        ]
        uow.activities.append(batch)
        fields = counter.custom_fields | {"units": done + 1}
        uow.partners.update(attrs.evolve(counter, custom_fields=fields))
        uow.commit()
"""


def committed_units(path: Path) -> int:
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            (rows,) = db.execute("SELECT count(*) FROM activities").fetchone()
        finally:
            db.close()
    except sqlite3.Error:  # not created yet
        return 0
    return int(rows) // UNIT


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_writer_killed_mid_commit_leaves_whole_units_and_a_sound_file(tmp_path: Path) -> None:
    path = tmp_path / "killed.db"
    script = tmp_path / "writer.py"
    script.write_text(WRITER, encoding="utf-8")
    source = str(Path(partnerkit.__file__).parent.parent)
    env = os.environ | {"PYTHONPATH": os.pathsep.join([source, os.environ.get("PYTHONPATH", "")])}
    rnd = random.Random(7)

    for round_ in range(4):  # later rounds write on after the crash before
        writer = subprocess.Popen(  # noqa: S603 - our own script, run by this Python
            [sys.executable, str(script), str(path), str(UNIT)], env=env
        )
        try:
            target = committed_units(path) + 2
            deadline = time.monotonic() + 120
            while committed_units(path) < target:
                assert writer.poll() is None, f"the writer stopped early in round {round_}"
                assert time.monotonic() < deadline, "the writer made no progress"
                time.sleep(0.01)
            time.sleep(rnd.uniform(0, 0.05))  # land anywhere in the next commit
            os.kill(writer.pid, signal.SIGKILL)
        finally:
            writer.kill()
            writer.wait()

        store = SqliteStorage(path)  # opens: recovery from the WAL is SQLite's job
        with opened(path) as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            rows = db.execute("SELECT count(*) FROM activities").fetchone()[0]
            per_unit = dict(
                db.execute(
                    "SELECT CAST(substr(id, 5, 5) AS INTEGER), count(*) FROM activities GROUP BY 1"
                ).fetchall()
            )
        counter = store.unit_of_work().partners.get("ptn_counter")
        store.close()
        units = counter.custom_fields["units"]
        assert isinstance(units, int)
        assert units >= 2
        assert rows == units * UNIT
        assert per_unit == dict.fromkeys(range(units), UNIT)
        assert counter.version == 1 + units


# --- agreement with the memory adapter ------------------------------------------


KINDS = ["revenue_booked", "portal_login", "deal_won"]
IDS = [f"ptn_{n}" for n in range(6)]


def numbered_activity(number: int, *, variant: bool) -> Activity:
    return activity(
        f"act_{number}",
        IDS[number % 4],
        kind=KINDS[number % 3],
        occurred_at=T0 + timedelta(minutes=number % 7),
        value=None if number % 3 == 0 else Decimal(number),
        attributes={"variant": variant},
        expires_on=date(2027, 1, 1) if number % 4 == 0 else None,
    )


def update_country(target: str, country: str, uow: Any) -> object:
    current = uow.partners.get(target)
    return uow.partners.update(attrs.evolve(current, country=country))


def all_pages(filters: dict[str, Any], size: int, uow: Any) -> object:
    found, cursor = [], None
    while True:
        page = uow.partners.query(limit=size, cursor=cursor, **filters)
        found.append(page)
        if (cursor := page.next_cursor) is None:
            return found


def timeline(owner: str, since: datetime, uow: Any) -> object:
    found = uow.activities.for_partner(owner, since=since, kinds=KINDS[:2])
    # MemoryStorage lists an activity twice when this unit of work staged it and
    # another committed it meanwhile; the SQLite adapter lists it once.
    return list({item.id: item for item in found}.values())


def commit(uow: Any) -> object:
    uow.commit()
    return [(record.event, record.recorded_at) for record in uow.events]


def random_operation(rnd: random.Random, step: int) -> Callable[[Any], object]:
    """One random operation on a unit of work, the same for every adapter."""
    roll = rnd.random()
    if roll < 0.15:
        new = partner(
            rnd.choice(IDS),
            status=rnd.choice(list(PartnerStatus)),
            owner_id=rnd.choice([None, "usr_1"]),
            country=rnd.choice(["FI", "SE"]),
            version=rnd.choice([0, 0, 0, 2]),
        )
        return lambda uow: uow.partners.add(new)
    if roll < 0.3:
        return functools.partial(update_country, rnd.choice(IDS), rnd.choice(["FI", "SE", "DE"]))
    if roll < 0.4:
        filters = rnd.choice([{}, {"country": "SE"}, {"status": PartnerStatus.ACTIVE}])
        return functools.partial(all_pages, filters, rnd.choice([1, 2, 100]))
    if roll < 0.55:
        batch = [numbered_activity(rnd.randrange(20), variant=rnd.random() < 0.1) for _ in "abc"]
        return lambda uow: uow.activities.append(batch)
    if roll < 0.65:
        since = T0 + timedelta(minutes=rnd.randrange(7))
        return functools.partial(timeline, rnd.choice(IDS), since)
    if roll < 0.75:
        size = rnd.choice([1, 3, 100])
        return lambda uow: uow.activities.query(limit=size).items
    if roll < 0.82:
        event = Event("partner.poked", rnd.choice(IDS), T0, data={"step": step})
        return lambda uow: uow.publish(event)
    if roll < 0.95:
        return commit
    return lambda uow: uow.rollback()


def answer(operation: Callable[[Any], object], uow: Any) -> tuple[str, object]:
    try:
        return ("ok", operation(uow))
    except PartnerkitError as error:
        return (type(error).__name__, str(error))


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("where", ["file", ":memory:"])
def test_sqlite_answers_like_the_memory_adapter(tmp_path: Path, seed: int, where: str) -> None:
    clock = FixedClock(T0)
    stores = [
        MemoryStorage(clock=clock),
        SqliteStorage(tmp_path / "same.db" if where == "file" else where, clock=clock),
    ]
    works = [[store.unit_of_work() for store in stores] for _ in range(3)]
    rnd = random.Random(seed)

    for step in range(250):
        pair = rnd.choice(works)
        operation = random_operation(rnd, step)
        answers = [answer(operation, uow) for uow in pair]
        clock.advance(timedelta(seconds=1))

        assert answers[0] == answers[1], f"step {step}: the adapters disagree"
    outboxes = [[(r.event, r.recorded_at) for r in store.pending_events()] for store in stores]
    assert outboxes[0] == outboxes[1]
    for store in stores:
        store.close()


OTHER_MODEL = attrs.evolve(MODEL, name="Challenger", version=2)
OVERRIDE = Override("usr_maria", "renewal signed", T0, T0 + timedelta(hours=3), band="healthy")


@functools.cache
def pooled_score(partner_id: str, hours: int, variant: int, model_name: str) -> HealthScore:
    """A few scores per key, so that random adds repeat and clash."""
    model = MODEL if model_name == MODEL.name else OTHER_MODEL
    at = T0 + timedelta(hours=hours)
    deals = [25, 55, 85][(hours + variant + len(partner_id)) % 3] + variant
    snapshot = MetricSnapshot(partner_id, at, {"deals": deals})
    return score(model, snapshot, as_of=at, override=OVERRIDE if variant == 2 else None)


def every_score_page(options: dict[str, Any], size: int, uow: Any) -> object:
    found, cursor = [], None
    while True:
        page = uow.scores.query(limit=size, cursor=cursor, **options)
        found.append(page)
        if (cursor := page.next_cursor) is None:
            return found


def random_score_operation(rnd: random.Random) -> Callable[[Any], object]:
    """One random score operation on a unit of work, the same for every adapter."""
    roll = rnd.random()
    owner = rnd.choice(IDS[:4])
    model = rnd.choice([MODEL.name, MODEL.name, OTHER_MODEL.name])
    at = T0 + timedelta(hours=rnd.randrange(-1, 6))
    if roll < 0.35:
        item = pooled_score(owner, rnd.randrange(5), rnd.choice([0, 0, 0, 1, 2]), model)
        return lambda uow: uow.scores.add(item)
    if roll < 0.5:
        before = rnd.choice([None, at])
        return lambda uow: uow.scores.latest(owner, model=model, before=before)
    if roll < 0.6:
        bounds = dict.fromkeys(rnd.choice([(), ("since",), ("until",)]), at)
        return lambda uow: uow.scores.history(owner, model=model, **bounds)
    if roll < 0.8:
        options = {
            "model": model,
            "as_of": rnd.choice([None, None, at]),
            "band": rnd.choice([None, "healthy", "at_risk", "critical"]),
        }
        return functools.partial(every_score_page, options, rnd.choice([1, 2, 100]))
    if roll < 0.95:
        return commit
    return lambda uow: uow.rollback()


@pytest.mark.parametrize("seed", range(3))
def test_sqlite_keeps_score_history_like_the_memory_adapter(tmp_path: Path, seed: int) -> None:
    clock = FixedClock(T0)
    stores = [MemoryStorage(clock=clock), SqliteStorage(tmp_path / "scores.db", clock=clock)]
    works = [[store.unit_of_work() for store in stores] for _ in range(3)]
    rnd = random.Random(seed)

    for step in range(300):
        pair = rnd.choice(works)
        operation = random_score_operation(rnd)
        answers = [answer(operation, uow) for uow in pair]

        assert answers[0] == answers[1], f"step {step}: the adapters disagree"
    for store in stores:
        store.close()
