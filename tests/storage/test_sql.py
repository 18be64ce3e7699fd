"""SqlStorage beyond the contracts: its schema, its version, its errors, its lock."""

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from partnerkit import Partner
from partnerkit.errors import (
    ConflictError,
    StorageBusyError,
    StorageError,
    StorageSchemaError,
    ValidationError,
)
from partnerkit.storage.sql import SCHEMA_VERSION, SqlStorage, metadata
from partnerkit.storage.sql._backend import translate
from partnerkit.storage.sql._schema import TABLES_OF_VERSION, VERSION_TABLE

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)


def partner(partner_id: str) -> Partner:
    return Partner(id=partner_id, name="Aurora Oy", type="reseller", country="FI", created_at=NOW)


@pytest.fixture(params=["postgres", "sqlite"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    if request.param == "postgres":
        yield request.getfixturevalue("postgres_engine")
        return
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'partners.db'}")
    yield engine
    engine.dispose()


def test_importing_partnerkit_storage_does_not_import_sqlalchemy() -> None:
    code = "import sys, partnerkit.storage, partnerkit; print('sqlalchemy' in sys.modules)"
    found = subprocess.run(  # noqa: S603 - this interpreter, fixed code
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert found.strip() == "False"


def test_an_empty_database_gets_every_table_and_the_schema_version(engine: sa.Engine) -> None:
    SqlStorage(engine).close()
    with engine.connect() as connection:
        names = set(sa.inspect(connection).get_table_names())
        version = connection.execute(sa.select(VERSION_TABLE.c.version)).scalar_one()
    assert names >= set(metadata.tables)
    assert version == SCHEMA_VERSION


def test_the_tables_are_public_for_the_hosts_own_migrations(engine: sa.Engine) -> None:
    metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(sa.insert(VERSION_TABLE).values(id=1, version=SCHEMA_VERSION))
    store = SqlStorage(engine, create=False)
    with store.unit_of_work() as uow:
        uow.partners.add(partner("ptn_1"))
        uow.commit()
    assert store.unit_of_work().partners.get("ptn_1").name == "Aurora Oy"


def test_without_create_a_database_without_tables_is_refused(engine: sa.Engine) -> None:
    with pytest.raises(StorageSchemaError, match="pass create=True"):
        SqlStorage(engine, create=False)


RELATIONSHIP_TABLES = (
    "partnerkit_business_plans",
    "partnerkit_check_ins",
    "partnerkit_certifications",
)
FUND_TABLES = ("partnerkit_fund_claims", "partnerkit_fund_requests", "partnerkit_fund_budgets")
INCENTIVE_TABLES = ("partnerkit_incentive_statements", "partnerkit_incentive_plans")
LEAD_TABLES = ("partnerkit_leads",)


def _first_version_with(table: str) -> int:
    return min(version for version, names in TABLES_OF_VERSION.items() if table in names)


def as_version(engine: sa.Engine, version: int) -> None:
    """Turn a current database back into what schema ``version`` left, data kept."""
    with engine.begin() as connection:
        for table in (*LEAD_TABLES, *INCENTIVE_TABLES, *FUND_TABLES, *RELATIONSHIP_TABLES):
            if version < _first_version_with(table):
                metadata.tables[table].drop(connection)
        if version < 4:
            metadata.tables["partnerkit_event_leases"].drop(connection)
        if version < 3:
            metadata.tables["partnerkit_scoring_models"].drop(connection)
            for index in ("partnerkit_partners_by_name", "partnerkit_deals_by_customer_domain"):
                connection.execute(sa.text(f"DROP INDEX {index}"))
            for table, column in (
                ("partnerkit_partners", "name_key"),
                ("partnerkit_deals", "customer_name_key"),
                ("partnerkit_deals", "customer_domain"),
                ("partnerkit_programs", "retired_at"),
            ):
                connection.execute(sa.text(f"ALTER TABLE {table} DROP COLUMN {column}"))
        if version < 2:
            metadata.tables["partnerkit_deal_changes"].drop(connection)
        connection.execute(sa.update(VERSION_TABLE).values(version=version))


@pytest.mark.parametrize("version", range(1, SCHEMA_VERSION))
def test_an_older_database_is_upgraded_in_place_and_its_rows_are_searchable(
    engine: sa.Engine, version: int
) -> None:
    store = SqlStorage(engine)
    with store.unit_of_work() as uow:
        uow.partners.add(partner("ptn_1"))
        uow.commit()
    store.close()
    as_version(engine, version)

    upgraded = SqlStorage(engine)
    with engine.connect() as connection:
        found = connection.execute(sa.select(VERSION_TABLE.c.version)).scalar_one()
        assert found == SCHEMA_VERSION
        names = set(sa.inspect(connection).get_table_names())
    assert {
        "partnerkit_deal_changes",
        "partnerkit_scoring_models",
        "partnerkit_event_leases",
        *RELATIONSHIP_TABLES,
        *FUND_TABLES,
        *INCENTIVE_TABLES,
        *LEAD_TABLES,
    } <= names
    uow = upgraded.unit_of_work()
    assert uow.partners.get("ptn_1").version == 1
    assert [found.id for found in uow.partners.query(name="aurora").items] == ["ptn_1"]


def test_a_newer_schema_is_refused(engine: sa.Engine) -> None:
    SqlStorage(engine).close()
    with engine.begin() as connection:
        connection.execute(sa.update(VERSION_TABLE).values(version=SCHEMA_VERSION + 1))
    with pytest.raises(StorageSchemaError, match="newer partnerkit"):
        SqlStorage(engine)


def test_partnerkit_tables_without_a_version_are_refused(engine: sa.Engine) -> None:
    SqlStorage(engine).close()
    with engine.begin() as connection:
        VERSION_TABLE.drop(connection)
    with pytest.raises(StorageSchemaError, match="no partnerkit_schema table"):
        SqlStorage(engine)


def test_a_missing_table_is_a_schema_error_on_use(engine: sa.Engine) -> None:
    store = SqlStorage(engine)
    with engine.begin() as connection:
        metadata.tables["partnerkit_partners"].drop(connection)
    with pytest.raises(StorageSchemaError, match="lacks partnerkit's tables"):
        store.unit_of_work().partners.get("ptn_1")


def test_a_commit_waiting_past_busy_timeout_for_the_write_lock_is_busy(
    postgres_engine: sa.Engine,
) -> None:
    store = SqlStorage(postgres_engine, busy_timeout=0.05)
    with postgres_engine.connect() as holder:
        holder.exec_driver_sql("SELECT pg_advisory_lock(1346980180, 1)")
        with store.unit_of_work() as uow:
            uow.partners.add(partner("ptn_1"))
            with pytest.raises(StorageBusyError, match="stayed busy"):
                uow.commit()
            holder.exec_driver_sql("SELECT pg_advisory_unlock(1346980180, 1)")
            uow.commit()  # the unit of work kept its changes
    assert store.unit_of_work().partners.get("ptn_1").version == 1


def test_a_commit_while_sqlite_is_locked_is_busy(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'db'}")
    store = SqlStorage(engine, busy_timeout=0.05)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as holder:
        holder.exec_driver_sql("BEGIN IMMEDIATE")
        with store.unit_of_work() as uow:
            uow.partners.add(partner("ptn_1"))
            with pytest.raises(StorageBusyError):
                uow.commit()
        holder.exec_driver_sql("ROLLBACK")
    engine.dispose()


def _error(orig: object) -> sa.exc.DBAPIError:
    return sa.exc.DBAPIError("statement", {}, orig)  # type: ignore[arg-type]


class _OrigError(Exception):
    def __init__(self, message: str, **attributes: object) -> None:
        super().__init__(message)
        for name, value in attributes.items():
            setattr(self, name, value)


@pytest.mark.parametrize(
    ("orig", "expected", "says"),
    [
        (_OrigError("could not serialize access", sqlstate="40001"), StorageBusyError, "busy"),
        (_OrigError("deadlock detected", sqlstate="40P01"), StorageBusyError, "busy"),
        (
            _OrigError("canceling statement due to lock timeout", sqlstate="55P03"),
            StorageBusyError,
            "",
        ),
        (
            _OrigError("canceling statement due to statement timeout", sqlstate="57014"),
            StorageError,
            "statement_timeout",
        ),
        (
            _OrigError("canceling statement due to user request", sqlstate="57014"),
            StorageError,
            "administrator",
        ),
        (_OrigError("database is locked", sqlite_errorcode=5), StorageBusyError, "busy"),
        (
            _OrigError(
                "duplicate key value",
                sqlstate="23505",
                diag=SimpleNamespace(table_name="partnerkit_deal_claims"),
            ),
            ConflictError,
            "deal claim",
        ),
        (
            _OrigError("UNIQUE constraint failed: partnerkit_partners.id", sqlite_errorcode=2067),
            ConflictError,
            "partner",
        ),
        (
            _OrigError('relation "partnerkit_partners" does not exist', sqlstate="42P01"),
            StorageSchemaError,
            "lacks",
        ),
        (_OrigError("no such table: partnerkit_deals"), StorageSchemaError, "lacks"),
        (_OrigError("connection refused", sqlstate="08006"), StorageError, "connection"),
        (
            _OrigError("could not extend file: No space left", sqlstate="53100"),
            StorageError,
            "resources",
        ),
        (
            _OrigError("cannot execute INSERT in a read-only transaction", sqlstate="25006"),
            StorageError,
            "read-only",
        ),
        (
            _OrigError("attempt to write a readonly database", sqlite_errorcode=8),
            StorageError,
            "read-only",
        ),
        (_OrigError("something else", sqlstate="XX000"), StorageError, "something else"),
    ],
)
def test_each_driver_error_becomes_a_storage_error(
    orig: Exception, expected: type[Exception], says: str
) -> None:
    translated = translate(_error(orig), "committing a unit of work", "'db'")
    assert type(translated) is expected
    assert says in str(translated)
    assert "committing a unit of work" in str(translated)


def test_a_pool_that_has_no_connection_free_is_busy() -> None:
    translated = translate(sa.exc.TimeoutError("QueuePool limit"), "reading", "'db'")
    assert type(translated) is StorageBusyError
    assert "larger pool" in str(translated)


def test_a_real_unique_violation_becomes_a_conflict(engine: sa.Engine) -> None:
    store = SqlStorage(engine)
    with store.unit_of_work() as uow:
        uow.partners.add(partner("ptn_1"))
        uow.commit()
    row = store._sql._shapes["partners"].params(partner("ptn_1"))
    with pytest.raises(ConflictError, match="partner"):
        store._sql.transaction(
            "inserting", lambda c: c.execute(store._sql._shapes["partners"].insert, [row])
        )


def test_something_other_than_an_engine_is_refused() -> None:
    with pytest.raises(ValidationError, match="engine"):
        SqlStorage("postgresql://db")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="busy_timeout"):
        SqlStorage(sa.create_engine("sqlite://"), busy_timeout=-1)


def test_a_closed_store_says_so(engine: sa.Engine) -> None:
    store = SqlStorage(engine)
    store.close()
    with pytest.raises(StorageError, match="closed"):
        store.unit_of_work()
