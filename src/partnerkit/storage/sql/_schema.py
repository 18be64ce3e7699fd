"""partnerkit's tables as SQLAlchemy Core `Table` objects, and their schema version.

Each record is one JSON document (``JSONB`` on PostgreSQL, text elsewhere) beside
indexed columns for what queries filter and sort by, exactly as in the SQLite
adapter; instants are whole microseconds since 1970-01-01 UTC, which sort and
compare exactly on every database. Text columns use the ``C`` collation on
PostgreSQL, so that ``ORDER BY id`` is code point order, as in Python.

``partnerkit_schema`` holds one row: the schema version. `SCHEMA_VERSION` is
what this release writes; `UPGRADES` take an older database there in place.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from partnerkit.deals._domains import registrable_domain
from partnerkit.deals._names import normalize_company_name

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "SCHEMA_VERSION",
    "TABLES_OF_VERSION",
    "TABLE_NAMES",
    "UPGRADES",
    "VERSION_TABLE",
    "metadata",
]

#: The schema version this release creates and reads.
SCHEMA_VERSION: Final = 8

metadata: Final = sa.MetaData()

_TEXT: Final = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")
_DOCUMENT: Final = sa.Text().with_variant(postgresql.JSONB(), "postgresql")
_INSTANT: Final = sa.BigInteger()
# SQLite numbers its rows only through an INTEGER PRIMARY KEY.
_SERIAL: Final = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _text(name: str, *, nullable: bool = False, primary_key: bool = False) -> sa.Column[str]:
    return sa.Column(name, _TEXT, nullable=nullable, primary_key=primary_key)


VERSION_TABLE: Final = sa.Table(
    "partnerkit_schema",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("version", sa.Integer, nullable=False),
)

sa.Table(
    "partnerkit_partners",
    metadata,
    _text("id", primary_key=True),
    _text("status"),
    _text("type"),
    _text("owner_id", nullable=True),
    _text("parent_id", nullable=True),
    _text("country"),
    # Schema version 3: the deal desk's normalised name, searched by substring.
    _text("name_key", nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("json", _DOCUMENT, nullable=False),
    sa.Index("partnerkit_partners_by_status", "status", "id"),
    sa.Index("partnerkit_partners_by_type", "type", "id"),
    sa.Index("partnerkit_partners_by_country", "country", "id"),
    sa.Index("partnerkit_partners_by_owner", "owner_id", "id"),
    sa.Index("partnerkit_partners_by_parent", "parent_id", "id"),
    sa.Index("partnerkit_partners_by_name", "name_key", "id"),
)
sa.Table(
    "partnerkit_activities",
    metadata,
    _text("id", primary_key=True),
    _text("partner_id"),
    _text("kind"),
    sa.Column("occurred_at", _INSTANT, nullable=False),
    sa.Column("json", _DOCUMENT, nullable=False),
    sa.Index("partnerkit_activities_by_partner", "partner_id", "occurred_at", "id"),
)
sa.Table(
    "partnerkit_scores",
    metadata,
    _text("partner_id", primary_key=True),
    _text("model", primary_key=True),
    sa.Column("as_of", _INSTANT, primary_key=True, autoincrement=False),
    _text("band", nullable=True),
    sa.Column("json", _DOCUMENT, nullable=False),
    sa.Index("partnerkit_scores_by_model", "model", "partner_id", "as_of", unique=True),
    sa.Index("partnerkit_scores_by_instant", "model", "as_of", "partner_id"),
)
sa.Table(
    "partnerkit_programs",
    metadata,
    _text("id", primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    # Schema version 3: when the program was retired (NULL while it runs).
    sa.Column("retired_at", _INSTANT, nullable=True),
    sa.Column("json", _DOCUMENT, nullable=False),
)
sa.Table(
    "partnerkit_memberships",
    metadata,
    _text("program_id", primary_key=True),
    _text("partner_id", primary_key=True),
    _text("status"),
    _text("tier_id", nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("json", _DOCUMENT, nullable=False),
    sa.Index("partnerkit_memberships_by_status", "program_id", "status", "partner_id"),
    sa.Index("partnerkit_memberships_by_tier", "program_id", "tier_id", "partner_id"),
    sa.Index("partnerkit_memberships_by_partner", "partner_id", "program_id"),
)
sa.Table(
    "partnerkit_tier_history",
    metadata,
    _text("program_id", primary_key=True),
    _text("partner_id", primary_key=True),
    sa.Column("valid_from", _INSTANT, primary_key=True, autoincrement=False),
    sa.Column("valid_until", _INSTANT, nullable=True),
    sa.Column("json", _DOCUMENT, nullable=False),
)
sa.Table(
    "partnerkit_deals",
    metadata,
    _text("id", primary_key=True),
    _text("partner_id"),
    _text("status"),
    sa.Column("protection_until", _INSTANT, nullable=True),
    # Schema version 3: the customer's normalised name (searched by substring) and
    # its website's registrable domain (by equality).
    _text("customer_name_key", nullable=True),
    _text("customer_domain", nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("json", _DOCUMENT, nullable=False),
    sa.Index("partnerkit_deals_by_partner", "partner_id", "status", "id"),
    sa.Index("partnerkit_deals_by_status", "status", "id"),
    sa.Index("partnerkit_deals_by_protection", "status", "protection_until", "id"),
    sa.Index("partnerkit_deals_by_customer_domain", "customer_domain", "id"),
)
# The primary key on the customer key is what makes two approvals for one customer
# impossible, whichever process or server commits them.
sa.Table(
    "partnerkit_deal_claims",
    metadata,
    _text("key", primary_key=True),
    _text("deal_id"),
    sa.Column("key_version", sa.Integer, nullable=False),
    sa.Index("partnerkit_deal_claims_by_deal", "deal_id"),
)
# Schema version 2: the store-wide sequence of deal changes.
sa.Table(
    "partnerkit_deal_changes",
    metadata,
    _text("deal_id", primary_key=True),
    sa.Column("seq", sa.BigInteger, nullable=False, unique=True),
)
# Schema version 3: every version of every scoring model, a retired one kept.
sa.Table(
    "partnerkit_scoring_models",
    metadata,
    _text("name", primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("retired", sa.Integer, nullable=False),
    sa.Column("json", _DOCUMENT, nullable=False),
)
# Schema version 4: outbox events leased to one deliverer until leased_until.
sa.Table(
    "partnerkit_event_leases",
    metadata,
    _text("event_id", primary_key=True),
    _text("owner"),
    sa.Column("leased_until", _INSTANT, nullable=False),
)
# Schema version 5: the relationship. held_at is whole microseconds since
# 1970-01-01 UTC; expires_on is the latest term's expiry as ISO text (NULL before
# a certification is issued), which sorts as the days do.
sa.Table(
    "partnerkit_business_plans",
    metadata,
    _text("id", primary_key=True),
    _text("partner_id"),
    _text("status"),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("json", _DOCUMENT, nullable=False),
    sa.Index("partnerkit_business_plans_by_partner", "partner_id", "id"),
)
sa.Table(
    "partnerkit_check_ins",
    metadata,
    _text("id", primary_key=True),
    _text("partner_id"),
    sa.Column("held_at", _INSTANT, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("json", _DOCUMENT, nullable=False),
    sa.Index("partnerkit_check_ins_by_partner", "partner_id", "id"),
)
sa.Table(
    "partnerkit_certifications",
    metadata,
    _text("id", primary_key=True),
    _text("partner_id"),
    _text("person"),
    _text("name"),
    _text("expires_on", nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("json", _DOCUMENT, nullable=False),
    sa.Index("partnerkit_certifications_by_partner", "partner_id", "id"),
    sa.Index("partnerkit_certifications_by_expiry", "expires_on", "id"),
)
# Schema version 6: market development funds. Every move of money updates the
# budget's version, which is what keeps two approvals from spending it twice.
sa.Table(
    "partnerkit_fund_budgets",
    metadata,
    _text("id", primary_key=True),
    _text("program_id"),
    _text("status"),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("json", _DOCUMENT, nullable=False),
    sa.Index("partnerkit_fund_budgets_by_program", "program_id", "status", "id"),
)
sa.Table(
    "partnerkit_fund_requests",
    metadata,
    _text("id", primary_key=True),
    _text("budget_id"),
    _text("partner_id"),
    _text("status"),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("json", _DOCUMENT, nullable=False),
    sa.Index("partnerkit_fund_requests_by_budget", "budget_id", "status", "id"),
    sa.Index("partnerkit_fund_requests_by_partner", "partner_id", "status", "id"),
)
sa.Table(
    "partnerkit_fund_claims",
    metadata,
    _text("id", primary_key=True),
    _text("budget_id"),
    _text("request_id"),
    _text("partner_id"),
    _text("status"),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("json", _DOCUMENT, nullable=False),
    sa.Index("partnerkit_fund_claims_by_request", "request_id", "id"),
    sa.Index("partnerkit_fund_claims_by_budget", "budget_id", "status", "id"),
    sa.Index("partnerkit_fund_claims_by_partner", "partner_id", "status", "id"),
)
# Schema version 7: incentive statements, one per plan, partner and period, and
# every version of every incentive plan.
sa.Table(
    "partnerkit_incentive_statements",
    metadata,
    _text("id", primary_key=True),
    _text("plan_id"),
    _text("partner_id"),
    sa.Column("period_start", _INSTANT, nullable=False),
    _text("status"),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("json", _DOCUMENT, nullable=False),
    sa.Index("partnerkit_incentive_statements_by_partner", "partner_id", "id"),
    sa.Index("partnerkit_incentive_statements_by_plan", "plan_id", "period_start", "id"),
)
sa.Table(
    "partnerkit_incentive_plans",
    metadata,
    _text("plan_id", primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("json", _DOCUMENT, nullable=False),
)
# Schema version 8: leads; partner_id is the partner holding the lead.
sa.Table(
    "partnerkit_leads",
    metadata,
    _text("id", primary_key=True),
    _text("status"),
    _text("partner_id", nullable=True),
    sa.Column("offer_expires_at", _INSTANT, nullable=True),
    sa.Column("last_offered_at", _INSTANT, nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("json", _DOCUMENT, nullable=False),
    sa.Index("partnerkit_leads_by_status", "status", "id"),
    sa.Index("partnerkit_leads_by_partner", "partner_id", "status", "id"),
    sa.Index("partnerkit_leads_by_expiry", "status", "offer_expires_at", "id"),
    sa.Index("partnerkit_leads_by_offered", "last_offered_at", "id"),
)
# seq is the recording order ("oldest first").
sa.Table(
    "partnerkit_outbox",
    metadata,
    sa.Column("seq", _SERIAL, primary_key=True, autoincrement=True),
    sa.Column("id", _TEXT, nullable=False, unique=True),
    sa.Column("recorded_at", _INSTANT, nullable=False),
    sa.Column("json", _DOCUMENT, nullable=False),
)

#: Each kind's table name.
TABLE_NAMES: Final = {
    "partners": "partnerkit_partners",
    "activities": "partnerkit_activities",
    "scores": "partnerkit_scores",
    "programs": "partnerkit_programs",
    "memberships": "partnerkit_memberships",
    "tier_history": "partnerkit_tier_history",
    "deals": "partnerkit_deals",
    "claims": "partnerkit_deal_claims",
    "deal_changes": "partnerkit_deal_changes",
    "models": "partnerkit_scoring_models",
    "event_leases": "partnerkit_event_leases",
    "plans": "partnerkit_business_plans",
    "check_ins": "partnerkit_check_ins",
    "certifications": "partnerkit_certifications",
    "fund_budgets": "partnerkit_fund_budgets",
    "fund_requests": "partnerkit_fund_requests",
    "fund_claims": "partnerkit_fund_claims",
    "incentive_statements": "partnerkit_incentive_statements",
    "incentive_plans": "partnerkit_incentive_plans",
    "leads": "partnerkit_leads",
    "events": "partnerkit_outbox",
}


def _create(*names: str) -> Callable[[sa.Connection], None]:
    def create(connection: sa.Connection) -> None:
        tables = [metadata.tables[name] for name in names]
        metadata.create_all(connection, tables=tables)

    return create


def name_key(name: str) -> str:
    """The deal desk's normalised ``name``, as the search columns hold it."""
    key = normalize_company_name(name)
    try:
        key.encode()
    except UnicodeEncodeError:  # a lone surrogate: kept as its JSON, as on writes
        return json.dumps(key)
    return key


def _add_column(connection: sa.Connection, table: str, column: str) -> None:
    """Add ``column`` of ``table`` as this release declares it (nullable, no default)."""
    declared = metadata.tables[table].c[column]
    kind = declared.type.compile(dialect=connection.dialect)
    connection.execute(sa.text(f"ALTER TABLE {table} ADD COLUMN {column} {kind}"))


def _search_and_models(connection: sa.Connection) -> None:
    """Version 2 to 3: search columns, retired programs, the scoring models table.

    The search columns of rows already stored are filled from their documents.
    """
    for table, column in (
        ("partnerkit_partners", "name_key"),
        ("partnerkit_deals", "customer_name_key"),
        ("partnerkit_deals", "customer_domain"),
        ("partnerkit_programs", "retired_at"),
    ):
        _add_column(connection, table, column)
    partners = metadata.tables["partnerkit_partners"]
    deals = metadata.tables["partnerkit_deals"]
    rows = connection.execute(sa.select(partners.c.id, sa.cast(partners.c.json, sa.Text)))
    keys = [{"k": id_, "v": name_key(json.loads(doc)["name"])} for id_, doc in rows]
    if keys:
        connection.execute(
            partners.update()
            .where(partners.c.id == sa.bindparam("k"))
            .values(name_key=sa.bindparam("v")),
            keys,
        )
    found = []
    for deal_id, doc in connection.execute(sa.select(deals.c.id, sa.cast(deals.c.json, sa.Text))):
        customer = json.loads(doc)["customer"]
        domain = customer.get("domain")
        found.append(
            {
                "k": deal_id,
                "n": name_key(customer["name"]),
                "d": None if domain is None else registrable_domain(domain),
            }
        )
    if found:
        connection.execute(
            deals.update()
            .where(deals.c.id == sa.bindparam("k"))
            .values(customer_name_key=sa.bindparam("n"), customer_domain=sa.bindparam("d")),
            found,
        )
    for index in ("partnerkit_partners_by_name", "partnerkit_deals_by_customer_domain"):
        next(i for t in metadata.tables.values() for i in t.indexes if i.name == index).create(
            connection
        )
    _create("partnerkit_scoring_models")(connection)


_RELATIONSHIP: Final = (
    "partnerkit_business_plans",
    "partnerkit_check_ins",
    "partnerkit_certifications",
)
_FUNDS: Final = ("partnerkit_fund_budgets", "partnerkit_fund_requests", "partnerkit_fund_claims")
_INCENTIVES: Final = ("partnerkit_incentive_statements", "partnerkit_incentive_plans")

#: Upgrade steps: ``UPGRADES[n]`` takes a database from version ``n`` to ``n + 1``,
#: inside the transaction that also records the new version.
UPGRADES: Final[dict[int, Callable[[sa.Connection], None]]] = {
    1: _create("partnerkit_deal_changes"),
    2: _search_and_models,
    3: _create("partnerkit_event_leases"),
    4: _create(*_RELATIONSHIP),
    5: _create(*_FUNDS),
    6: _create(*_INCENTIVES),
    7: _create("partnerkit_leads"),
}
# The tables each version added to those of the version before it.
_ADDED_IN: Final[dict[int, frozenset[str]]] = {
    2: frozenset({"partnerkit_deal_changes"}),
    3: frozenset({"partnerkit_scoring_models"}),
    4: frozenset({"partnerkit_event_leases"}),
    5: frozenset(_RELATIONSHIP),
    6: frozenset(_FUNDS),
    7: frozenset(_INCENTIVES),
    8: frozenset({"partnerkit_leads"}),
}
_ALL: Final = frozenset(TABLE_NAMES.values()) | {"partnerkit_schema"}
#: The tables a database of each version has (what an upgrade may expect).
TABLES_OF_VERSION: Final = {
    version: _ALL.difference(*(added for later, added in _ADDED_IN.items() if later > version))
    for version in range(1, SCHEMA_VERSION + 1)
}
