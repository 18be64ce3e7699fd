"""The SQLite schema: numbered migrations, recorded in the file, applied on open.

``PRAGMA user_version`` holds the number of migrations a file has had, and
``PRAGMA application_id`` marks it as partnerkit's, so that another application's
database, or one written by a newer partnerkit, is refused instead of changed.
Opening a file applies the migrations it lacks in one transaction.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING, Final, TypeAlias

from partnerkit._version import __version__
from partnerkit.deals._domains import registrable_domain
from partnerkit.deals._names import normalize_company_name
from partnerkit.errors import StorageSchemaError

if TYPE_CHECKING:
    from partnerkit.storage.sqlite._connection import Connections

__all__ = ["MIGRATIONS", "MIGRATION_TABLES", "migrate"]

# "PKIT": marks a file as partnerkit's in the header (PRAGMA application_id), so
# another application's database is refused even if it uses user_version too.
APPLICATION_ID: Final = 0x504B4954


def _text(text: str) -> str:
    """As `partnerkit.storage.sqlite._tables` stores free text (JSON if unencodable)."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return json.dumps(text)
    return text


def _fill_search_columns(db: sqlite3.Connection) -> None:
    """Compute the search columns of the partners and deals a file already holds."""
    partners = db.execute("SELECT id, json FROM partners").fetchall()
    db.executemany(
        "UPDATE partners SET name_key = ? WHERE id = ?",
        [(_text(normalize_company_name(json.loads(doc)["name"])), id_) for id_, doc in partners],
    )
    deals = db.execute("SELECT id, json FROM deals").fetchall()
    rows = []
    for deal_id, doc in deals:
        customer = json.loads(doc)["customer"]
        domain = customer.get("domain")
        rows.append(
            (
                _text(normalize_company_name(customer["name"])),
                None if domain is None else registrable_domain(domain),
                deal_id,
            )
        )
    db.executemany("UPDATE deals SET customer_name_key = ?, customer_domain = ? WHERE id = ?", rows)


#: One step of a migration: an SQL statement, or a function run on the connection
#: (to fill a new column from the stored documents).
Step: TypeAlias = str | Callable[[sqlite3.Connection], None]

#: The schema, one migration per step: migration N (1-based) takes a database from
#: ``user_version`` N - 1 to N. Never edit a released step; append a new one.
MIGRATIONS: Final[tuple[tuple[Step, ...], ...]] = (
    (
        """
        CREATE TABLE partners (
            id TEXT PRIMARY KEY NOT NULL,
            status TEXT NOT NULL,
            type TEXT NOT NULL,
            owner_id TEXT,
            parent_id TEXT,
            country TEXT NOT NULL,
            version INTEGER NOT NULL,
            json TEXT NOT NULL
        )
        """,
        # Every partner query is "filter, then order by id from a cursor": an index
        # on (filter column, id) answers it without sorting.
        "CREATE INDEX partners_by_status ON partners (status, id)",
        "CREATE INDEX partners_by_type ON partners (type, id)",
        "CREATE INDEX partners_by_country ON partners (country, id)",
        # Most partners have no parent and many no owner: partial indexes skip them.
        "CREATE INDEX partners_by_owner ON partners (owner_id, id) WHERE owner_id IS NOT NULL",
        "CREATE INDEX partners_by_parent ON partners (parent_id, id) WHERE parent_id IS NOT NULL",
        # occurred_at holds whole microseconds since 1970-01-01 UTC: integers sort
        # and compare exactly and cost less to index than ISO text.
        """
        CREATE TABLE activities (
            id TEXT PRIMARY KEY NOT NULL,
            partner_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            occurred_at INTEGER NOT NULL,
            json TEXT NOT NULL
        )
        """,
        "CREATE INDEX activities_by_partner ON activities (partner_id, occurred_at, id)",
        # seq is the recording order ("oldest first"); an INTEGER PRIMARY KEY keeps
        # its values through VACUUM, which an implicit rowid does not.
        """
        CREATE TABLE outbox (
            seq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            recorded_at INTEGER NOT NULL,
            json TEXT NOT NULL
        )
        """,
        f"PRAGMA application_id = {APPLICATION_ID}",
    ),
    (
        # Health-score history. A score has no id: (model, partner_id, as_of) is its
        # natural key, ordered so that the key's index also answers "a partner's
        # scores from a model by time" and "each partner's latest score, by partner".
        # as_of holds whole microseconds since 1970-01-01 UTC, like occurred_at.
        """
        CREATE TABLE scores (
            partner_id TEXT NOT NULL,
            model TEXT NOT NULL,
            as_of INTEGER NOT NULL,
            band TEXT,
            json TEXT NOT NULL,
            UNIQUE (model, partner_id, as_of)
        )
        """,
        # "The scores of one run" (query with as_of), in partner order.
        "CREATE INDEX scores_by_instant ON scores (model, as_of, partner_id)",
    ),
    (
        # Programs are configuration, read whole; the version lives beside the
        # document because Program itself has none.
        """
        CREATE TABLE programs (
            id TEXT PRIMARY KEY NOT NULL,
            version INTEGER NOT NULL,
            json TEXT NOT NULL
        )
        """,
        # A membership's key is (program_id, partner_id); its unique index also
        # answers "a program's members by partner id", the unfiltered query.
        """
        CREATE TABLE memberships (
            program_id TEXT NOT NULL,
            partner_id TEXT NOT NULL,
            status TEXT NOT NULL,
            tier_id TEXT,
            version INTEGER NOT NULL,
            json TEXT NOT NULL,
            UNIQUE (program_id, partner_id)
        )
        """,
        "CREATE INDEX memberships_by_status ON memberships (program_id, status, partner_id)",
        "CREATE INDEX memberships_by_tier ON memberships (program_id, tier_id, partner_id)",
        "CREATE INDEX memberships_by_partner ON memberships (partner_id, program_id)",
        # valid_from and valid_until hold whole microseconds since 1970-01-01 UTC; the
        # key's index answers a partner's history by time and "the stretch at t".
        """
        CREATE TABLE tier_history (
            program_id TEXT NOT NULL,
            partner_id TEXT NOT NULL,
            valid_from INTEGER NOT NULL,
            valid_until INTEGER,
            json TEXT NOT NULL,
            UNIQUE (program_id, partner_id, valid_from)
        )
        """,
    ),
    (
        # Deal registrations. protection_until holds whole microseconds since
        # 1970-01-01 UTC (NULL until approved), for the expiry sweep and reminders.
        """
        CREATE TABLE deals (
            id TEXT PRIMARY KEY NOT NULL,
            partner_id TEXT NOT NULL,
            status TEXT NOT NULL,
            protection_until INTEGER,
            version INTEGER NOT NULL,
            json TEXT NOT NULL
        )
        """,
        "CREATE INDEX deals_by_partner ON deals (partner_id, status, id)",
        "CREATE INDEX deals_by_status ON deals (status, id)",
        "CREATE INDEX deals_by_protection ON deals (status, protection_until, id)",
        # The claims on customers: the primary key on the customer key is what makes
        # two approvals for one customer impossible, across threads and processes.
        # key_version is the CUSTOMER_KEY_VERSION the key was computed with.
        """
        CREATE TABLE deal_claims (
            key TEXT PRIMARY KEY NOT NULL,
            deal_id TEXT NOT NULL,
            key_version INTEGER NOT NULL
        )
        """,
        "CREATE INDEX deal_claims_by_deal ON deal_claims (deal_id)",
    ),
    (
        # The store-wide sequence of deal changes: each registration's latest
        # number, so that every process can follow what every process committed.
        """
        CREATE TABLE deal_changes (
            deal_id TEXT PRIMARY KEY NOT NULL,
            seq INTEGER NOT NULL UNIQUE
        )
        """,
    ),
    (
        # Name and customer search: the deal desk's normalised names (searched by
        # substring) and the customer website's registrable domain (by equality).
        "ALTER TABLE partners ADD COLUMN name_key TEXT",
        "ALTER TABLE deals ADD COLUMN customer_name_key TEXT",
        "ALTER TABLE deals ADD COLUMN customer_domain TEXT",
        _fill_search_columns,
        "CREATE INDEX partners_by_name ON partners (name_key, id)",
        (
            "CREATE INDEX deals_by_customer_domain ON deals (customer_domain, id)"
            " WHERE customer_domain IS NOT NULL"
        ),
        # Retired programs keep their document; retired_at holds whole microseconds
        # since 1970-01-01 UTC, NULL while the program runs.
        "ALTER TABLE programs ADD COLUMN retired_at INTEGER",
        # Scoring models by name, every version kept so that past scores reproduce.
        """
        CREATE TABLE scoring_models (
            name TEXT NOT NULL,
            version INTEGER NOT NULL,
            retired INTEGER NOT NULL,
            json TEXT NOT NULL,
            UNIQUE (name, version)
        )
        """,
    ),
    (
        # Outbox events leased to one deliverer until leased_until (whole
        # microseconds since 1970-01-01 UTC), so that several buses share an outbox.
        """
        CREATE TABLE event_leases (
            event_id TEXT PRIMARY KEY NOT NULL,
            owner TEXT NOT NULL,
            leased_until INTEGER NOT NULL
        )
        """,
    ),
    (
        # The relationship: joint business plans, check-ins (held_at in whole
        # microseconds since 1970-01-01 UTC) and people certifications (expires_on:
        # the latest term's expiry as ISO text, NULL before one is issued).
        """
        CREATE TABLE business_plans (
            id TEXT PRIMARY KEY NOT NULL,
            partner_id TEXT NOT NULL,
            status TEXT NOT NULL,
            version INTEGER NOT NULL,
            json TEXT NOT NULL
        )
        """,
        "CREATE INDEX business_plans_by_partner ON business_plans (partner_id, id)",
        """
        CREATE TABLE check_ins (
            id TEXT PRIMARY KEY NOT NULL,
            partner_id TEXT NOT NULL,
            held_at INTEGER NOT NULL,
            version INTEGER NOT NULL,
            json TEXT NOT NULL
        )
        """,
        "CREATE INDEX check_ins_by_partner ON check_ins (partner_id, id)",
        """
        CREATE TABLE certifications (
            id TEXT PRIMARY KEY NOT NULL,
            partner_id TEXT NOT NULL,
            person TEXT NOT NULL,
            name TEXT NOT NULL,
            expires_on TEXT,
            version INTEGER NOT NULL,
            json TEXT NOT NULL
        )
        """,
        "CREATE INDEX certifications_by_partner ON certifications (partner_id, id)",
        (
            "CREATE INDEX certifications_by_expiry ON certifications (expires_on, id)"
            " WHERE expires_on IS NOT NULL"
        ),
    ),
    (
        # Market development funds: budgets (every move of money updates the
        # budget's version), requests against them and claims on the requests.
        """
        CREATE TABLE fund_budgets (
            id TEXT PRIMARY KEY NOT NULL,
            program_id TEXT NOT NULL,
            status TEXT NOT NULL,
            version INTEGER NOT NULL,
            json TEXT NOT NULL
        )
        """,
        "CREATE INDEX fund_budgets_by_program ON fund_budgets (program_id, status, id)",
        """
        CREATE TABLE fund_requests (
            id TEXT PRIMARY KEY NOT NULL,
            budget_id TEXT NOT NULL,
            partner_id TEXT NOT NULL,
            status TEXT NOT NULL,
            version INTEGER NOT NULL,
            json TEXT NOT NULL
        )
        """,
        "CREATE INDEX fund_requests_by_budget ON fund_requests (budget_id, status, id)",
        "CREATE INDEX fund_requests_by_partner ON fund_requests (partner_id, status, id)",
        """
        CREATE TABLE fund_claims (
            id TEXT PRIMARY KEY NOT NULL,
            budget_id TEXT NOT NULL,
            request_id TEXT NOT NULL,
            partner_id TEXT NOT NULL,
            status TEXT NOT NULL,
            version INTEGER NOT NULL,
            json TEXT NOT NULL
        )
        """,
        "CREATE INDEX fund_claims_by_request ON fund_claims (request_id, id)",
        "CREATE INDEX fund_claims_by_budget ON fund_claims (budget_id, status, id)",
        "CREATE INDEX fund_claims_by_partner ON fund_claims (partner_id, status, id)",
    ),
    (
        # Incentive statements, one per plan, partner and period; period_start holds
        # whole microseconds since 1970-01-01 UTC.
        """
        CREATE TABLE incentive_statements (
            id TEXT PRIMARY KEY NOT NULL,
            plan_id TEXT NOT NULL,
            partner_id TEXT NOT NULL,
            period_start INTEGER NOT NULL,
            status TEXT NOT NULL,
            version INTEGER NOT NULL,
            json TEXT NOT NULL
        )
        """,
        "CREATE INDEX incentive_statements_by_partner ON incentive_statements (partner_id, id)",
        (
            "CREATE INDEX incentive_statements_by_plan"
            " ON incentive_statements (plan_id, period_start, id)"
        ),
        # Every version of every incentive plan, so that past statements replay.
        """
        CREATE TABLE incentive_plans (
            plan_id TEXT NOT NULL,
            version INTEGER NOT NULL,
            json TEXT NOT NULL,
            UNIQUE (plan_id, version)
        )
        """,
    ),
    (
        # Leads. partner_id is the partner holding the lead (offered or accepted);
        # offer_expires_at (NULL unless offered) and last_offered_at hold whole
        # microseconds since 1970-01-01 UTC, for the SLA sweep and the caps.
        """
        CREATE TABLE leads (
            id TEXT PRIMARY KEY NOT NULL,
            status TEXT NOT NULL,
            partner_id TEXT,
            offer_expires_at INTEGER,
            last_offered_at INTEGER,
            version INTEGER NOT NULL,
            json TEXT NOT NULL
        )
        """,
        "CREATE INDEX leads_by_status ON leads (status, id)",
        "CREATE INDEX leads_by_partner ON leads (partner_id, status, id)",
        "CREATE INDEX leads_by_expiry ON leads (status, offer_expires_at, id)",
        "CREATE INDEX leads_by_offered ON leads (last_offered_at, id)",
    ),
)
#: The tables each migration creates; a database at user_version N has those of 1..N.
MIGRATION_TABLES: Final = (
    frozenset({"partners", "activities", "outbox"}),
    frozenset({"scores"}),
    frozenset({"programs", "memberships", "tier_history"}),
    frozenset({"deals", "deal_claims"}),
    frozenset({"deal_changes"}),
    frozenset({"scoring_models"}),
    frozenset({"event_leases"}),
    frozenset({"business_plans", "check_ins", "certifications"}),
    frozenset({"fund_budgets", "fund_requests", "fund_claims"}),
    frozenset({"incentive_statements", "incentive_plans"}),
    frozenset({"leads"}),
)


def migrate(connections: Connections, connection: sqlite3.Connection) -> None:
    """Create or upgrade partnerkit's tables, or refuse a database that is not ours."""
    path = connections.path
    with connections.guard():
        current = connections.run(
            "reading the schema version", lambda db: check_schema(db, path), connection
        )
    if current == len(MIGRATIONS):
        return

    def upgrade(db: sqlite3.Connection) -> None:
        # Read again under the write lock: another process may have upgraded
        # the file since the check above.
        for number in range(check_schema(db, path) + 1, len(MIGRATIONS) + 1):
            for step in MIGRATIONS[number - 1]:
                if isinstance(step, str):
                    db.execute(step)
                else:
                    step(db)
            db.execute(f"PRAGMA user_version = {number}")

    connections.write("creating partnerkit's tables", upgrade)


def check_schema(db: sqlite3.Connection, path: str) -> int:
    """The schema version of the database, after checking that it is partnerkit's."""
    (version,) = db.execute("PRAGMA user_version").fetchone()
    (application,) = db.execute("PRAGMA application_id").fetchone()
    names = [
        name
        for (name,) in db.execute(
            "SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite%' ORDER BY name"
        )
    ]
    known = len(MIGRATIONS)
    if application not in (0, APPLICATION_ID) or (version and application == 0):
        raise StorageSchemaError(
            f"{path} belongs to another application (application_id "
            f"{application}, user_version {version}); give SqliteStorage a new file, "
            f"or a database partnerkit created"
        )
    if version > known:
        raise StorageSchemaError(
            f"{path} has partnerkit schema version {version}, written by a newer "
            f"partnerkit; this release ({__version__}) knows versions up to {known}: "
            f"upgrade partnerkit to open it"
        )
    if version == 0 and names:
        shown = ", ".join(names[:10]) + (", ..." if len(names) > 10 else "")
        raise StorageSchemaError(
            f"{path} already holds tables that are not partnerkit's ({shown}); "
            f"give SqliteStorage a new file, or a database partnerkit created"
        )
    expected = frozenset().union(*MIGRATION_TABLES[:version])
    if version and not set(names) >= expected:
        missing = ", ".join(sorted(expected - set(names)))
        raise StorageSchemaError(
            f"{path} is marked as partnerkit schema version {version} but has no "
            f"{missing} table; it was changed outside partnerkit: restore it from a backup"
        )
    return int(version)
