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


def _instant(name: str, *, nullable: bool = False, primary_key: bool = False) -> sa.Column[int]:
    if primary_key:
        return sa.Column(name, _INSTANT, primary_key=True, autoincrement=False)
    return sa.Column(name, _INSTANT, nullable=nullable)


def _number(name: str, *, primary_key: bool = False) -> sa.Column[int]:
    if primary_key:
        return sa.Column(name, sa.Integer, primary_key=True, autoincrement=False)
    return sa.Column(name, sa.Integer, nullable=False)


def _record(
    name: str, /, *items: sa.schema.SchemaItem, versioned: bool = False, **by: tuple[str, ...]
) -> sa.Table:
    """The table ``partnerkit_{name}`` of one kind's records.

    Args:
        name: The table's name without the prefix.
        items: Its key and indexed columns (and any index declared by hand).
        versioned: Whether a ``version`` column follows them; the document
            (``json``) always does.
        by: For each ``key=columns``, the index ``partnerkit_{name}_by_{key}``.
    """
    table = f"partnerkit_{name}"
    return sa.Table(
        table,
        metadata,
        *items,
        *([_number("version")] if versioned else []),
        sa.Column("json", _DOCUMENT, nullable=False),
        *(sa.Index(f"{table}_by_{key}", *columns) for key, columns in by.items()),
    )


VERSION_TABLE: Final = sa.Table(
    "partnerkit_schema",
    metadata,
    _number("id", primary_key=True),
    _number("version"),
)

_record(
    "partners",
    _text("id", primary_key=True),
    _text("status"),
    _text("type"),
    _text("owner_id", nullable=True),
    _text("parent_id", nullable=True),
    _text("country"),
    # Schema version 3: the deal desk's normalised name, searched by substring.
    _text("name_key", nullable=True),
    versioned=True,
    status=("status", "id"),
    type=("type", "id"),
    country=("country", "id"),
    owner=("owner_id", "id"),
    parent=("parent_id", "id"),
    name=("name_key", "id"),
)
_record(
    "activities",
    _text("id", primary_key=True),
    _text("partner_id"),
    _text("kind"),
    _instant("occurred_at"),
    partner=("partner_id", "occurred_at", "id"),
)
_record(
    "scores",
    _text("partner_id", primary_key=True),
    _text("model", primary_key=True),
    _instant("as_of", primary_key=True),
    _text("band", nullable=True),
    sa.Index("partnerkit_scores_by_model", "model", "partner_id", "as_of", unique=True),
    instant=("model", "as_of", "partner_id"),
)
# Schema version 3 added retired_at (NULL while the program runs) after the version.
sa.Table(
    "partnerkit_programs",
    metadata,
    _text("id", primary_key=True),
    _number("version"),
    _instant("retired_at", nullable=True),
    sa.Column("json", _DOCUMENT, nullable=False),
)
_record(
    "memberships",
    _text("program_id", primary_key=True),
    _text("partner_id", primary_key=True),
    _text("status"),
    _text("tier_id", nullable=True),
    versioned=True,
    status=("program_id", "status", "partner_id"),
    tier=("program_id", "tier_id", "partner_id"),
    partner=("partner_id", "program_id"),
)
_record(
    "tier_history",
    _text("program_id", primary_key=True),
    _text("partner_id", primary_key=True),
    _instant("valid_from", primary_key=True),
    _instant("valid_until", nullable=True),
)
_record(
    "deals",
    _text("id", primary_key=True),
    _text("partner_id"),
    _text("status"),
    _instant("protection_until", nullable=True),
    # Schema version 3: the customer's normalised name (searched by substring) and
    # its website's registrable domain (by equality).
    _text("customer_name_key", nullable=True),
    _text("customer_domain", nullable=True),
    versioned=True,
    partner=("partner_id", "status", "id"),
    status=("status", "id"),
    protection=("status", "protection_until", "id"),
    customer_domain=("customer_domain", "id"),
)
# The primary key on the customer key is what makes two approvals for one customer
# impossible, whichever process or server commits them.
sa.Table(
    "partnerkit_deal_claims",
    metadata,
    _text("key", primary_key=True),
    _text("deal_id"),
    _number("key_version"),
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
_record(
    "scoring_models",
    _text("name", primary_key=True),
    _number("version", primary_key=True),
    _number("retired"),
)
# Schema version 4: outbox events leased to one deliverer until leased_until.
sa.Table(
    "partnerkit_event_leases",
    metadata,
    _text("event_id", primary_key=True),
    _text("owner"),
    _instant("leased_until"),
)
# Schema version 5: the relationship. held_at is whole microseconds since
# 1970-01-01 UTC; expires_on is the latest term's expiry as ISO text (NULL before
# a certification is issued), which sorts as the days do.
_record(
    "business_plans",
    _text("id", primary_key=True),
    _text("partner_id"),
    _text("status"),
    versioned=True,
    partner=("partner_id", "id"),
)
_record(
    "check_ins",
    _text("id", primary_key=True),
    _text("partner_id"),
    _instant("held_at"),
    versioned=True,
    partner=("partner_id", "id"),
)
_record(
    "certifications",
    _text("id", primary_key=True),
    _text("partner_id"),
    _text("person"),
    _text("name"),
    _text("expires_on", nullable=True),
    versioned=True,
    partner=("partner_id", "id"),
    expiry=("expires_on", "id"),
)
# Schema version 6: market development funds. Every move of money updates the
# budget's version, which is what keeps two approvals from spending it twice.
_record(
    "fund_budgets",
    _text("id", primary_key=True),
    _text("program_id"),
    _text("status"),
    versioned=True,
    program=("program_id", "status", "id"),
)
_record(
    "fund_requests",
    _text("id", primary_key=True),
    _text("budget_id"),
    _text("partner_id"),
    _text("status"),
    versioned=True,
    budget=("budget_id", "status", "id"),
    partner=("partner_id", "status", "id"),
)
_record(
    "fund_claims",
    _text("id", primary_key=True),
    _text("budget_id"),
    _text("request_id"),
    _text("partner_id"),
    _text("status"),
    versioned=True,
    request=("request_id", "id"),
    budget=("budget_id", "status", "id"),
    partner=("partner_id", "status", "id"),
)
# Schema version 7: incentive statements, one per plan, partner and period, and
# every version of every incentive plan.
_record(
    "incentive_statements",
    _text("id", primary_key=True),
    _text("plan_id"),
    _text("partner_id"),
    _instant("period_start"),
    _text("status"),
    versioned=True,
    partner=("partner_id", "id"),
    plan=("plan_id", "period_start", "id"),
)
_record(
    "incentive_plans",
    _text("plan_id", primary_key=True),
    _number("version", primary_key=True),
)
# Schema version 8: leads; partner_id is the partner holding the lead.
_record(
    "leads",
    _text("id", primary_key=True),
    _text("status"),
    _text("partner_id", nullable=True),
    _instant("offer_expires_at", nullable=True),
    _instant("last_offered_at", nullable=True),
    versioned=True,
    status=("status", "id"),
    partner=("partner_id", "status", "id"),
    expiry=("status", "offer_expires_at", "id"),
    offered=("last_offered_at", "id"),
)
# seq is the recording order ("oldest first").
_record(
    "outbox",
    sa.Column("seq", _SERIAL, primary_key=True, autoincrement=True),
    sa.Column("id", _TEXT, nullable=False, unique=True),
    _instant("recorded_at"),
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
