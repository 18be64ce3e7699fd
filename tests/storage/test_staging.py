"""Every backend answers a `Query` as `Query.select` defines it.

`Query.select` is the definition of a query over records in memory. The memory
backend answers through its indexes and the SQLite backend through SQL; both must
give exactly what the definition gives over every stored record, for every shape
of query the staging layer asks.
"""

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest

from partnerkit import Activity, MetricSnapshot, Money, Partner, PartnerStatus
from partnerkit.deals import ACTIVE_STATUSES, Customer, DealRegistration, DealStatus, approve
from partnerkit.deals import submit as submit_deal
from partnerkit.health import model_from_dict, score
from partnerkit.storage import Condition, Query, StagedStorage
from partnerkit.storage._staging import (
    ACTIVITIES,
    CLAIMS,
    DEALS,
    MEMBERSHIPS,
    MODELS,
    PARTNERS,
    PROGRAMS,
    SCORES,
    TIER_HISTORY,
)
from partnerkit.storage.memory import MemoryStorage
from partnerkit.storage.sqlite import SqliteStorage
from partnerkit.tiers import (
    Membership,
    MembershipStatus,
    Program,
    Tier,
    TierAssignment,
    TierChangeCause,
)

T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
PARTNER_IDS = [f"ptn_{n}" for n in range(8)]
NAMES = ["Nordic Cloud", "Fjord Data GmbH", "Cloud Nine AB", "Åsa & Söner"]
PROGRAM_IDS = ["prg_a", "prg_b"]
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


def fill(storage: StagedStorage, rnd: random.Random) -> None:
    """Store a small population of every kind, drawn from ``rnd``."""
    with storage.unit_of_work() as uow:
        for partner_id in PARTNER_IDS:
            uow.partners.add(
                Partner(
                    partner_id,
                    f"{rnd.choice(NAMES)} {partner_id}",
                    rnd.choice(["reseller", "referral"]),
                    rnd.choice(["FI", "SE"]),
                    T0,
                    status=rnd.choice(list(PartnerStatus)),
                    owner_id=rnd.choice([None, "usr_1", "usr_2"]),
                )
            )
        uow.activities.append(
            Activity(
                f"act_{n:03d}",
                rnd.choice(PARTNER_IDS),
                rnd.choice(["revenue_booked", "portal_login", "deal_won"]),
                T0 + timedelta(hours=rnd.randrange(48)),
                Money(f"{rnd.randrange(1, 999)}.50", "EUR"),
            )
            for n in range(60)
        )
        for partner_id in PARTNER_IDS:
            for hours in rnd.sample(range(10), 3):
                at = T0 + timedelta(hours=hours)
                deals = rnd.randrange(100)
                uow.scores.add(
                    score(MODEL, MetricSnapshot(partner_id, at, {"deals": deals}), as_of=at)
                )
        tiers = (Tier("registered", "Registered", 1), Tier("silver", "Silver", 2))
        for program_id in PROGRAM_IDS:
            uow.programs.add(Program(program_id, program_id, "EUR", tiers))
            for partner_id in rnd.sample(PARTNER_IDS, 5):
                uow.memberships.add(
                    Membership(
                        partner_id,
                        program_id,
                        date(2025, 1, 1),
                        status=rnd.choice(list(MembershipStatus)),
                        tier_id=rnd.choice([None, "registered", "silver"]),
                    )
                )
                start = T0
                for tier_id in rnd.sample(["registered", "silver"], 2):
                    end = start + timedelta(hours=rnd.randrange(1, 20))
                    uow.tier_history.save(
                        TierAssignment(
                            partner_id,
                            program_id,
                            tier_id,
                            start,
                            end,
                            TierChangeCause.ASSIGNED,
                        )
                    )
                    start = end
        for n in range(16):
            draft = DealRegistration(
                id=f"deal_{n:02d}",
                partner_id=rnd.choice(PARTNER_IDS),
                customer=Customer(
                    f"{rnd.choice(NAMES)} {n} Oy",
                    "FI",
                    domain=rnd.choice([None, f"shop.customer{n}.fi"]),
                ),
                amount=Money("1000", "EUR"),
                expected_close_on=date(2026, 12, 31),
                registered_at=T0,
                products=("CRM",),
            )
            deal = draft if n % 4 == 0 else submit_deal(draft, actor="usr_p", at=T0).value
            if n % 4 == 3 or n % 4 == 2:
                days = rnd.randrange(10, 40)
                deal = approve(deal, actor="usr_m", at=T0, protection=days).value
            uow.deals.add(deal)
        for name in ("Standard", "Growth", "Channel"):
            for version in range(1, rnd.randrange(2, 5)):
                uow.models.add(attrs.evolve(MODEL, name=name, version=version))
        uow.commit()
    with storage.unit_of_work() as uow:
        uow.models.retire("Growth", version=1)
        stored = uow.programs.get(PROGRAM_IDS[0])
        uow.programs.retire(PROGRAM_IDS[0], version=stored.version, at=T0)
        uow.commit()


def queries(rnd: random.Random) -> Iterator[Query[Any]]:
    """Queries of every shape the staging layer asks, with drawn values."""
    at = T0 + timedelta(hours=rnd.randrange(-2, 50))
    partner = rnd.choice(PARTNER_IDS)
    program = rnd.choice(PROGRAM_IDS)
    after = rnd.choice(PARTNER_IDS)
    limit = rnd.choice([1, 2, 5, None])
    filters = [
        Condition(field, "=", value)
        for field, value in (
            ("status", rnd.choice(list(PartnerStatus))),
            ("country", rnd.choice(["FI", "SE"])),
            ("owner_id", rnd.choice(["usr_1", "usr_2"])),
        )
        if rnd.random() < 0.5
    ]
    yield Query(PARTNERS, (*filters, Condition("id", ">", after)), ("id",), limit=limit)
    kinds = Condition("kind", "in", frozenset(rnd.sample(["revenue_booked", "deal_won"], 1)))
    since = Condition("occurred_at", ">=", at)
    yield Query(
        ACTIVITIES, (Condition("partner_id", "=", partner), kinds, since), ("occurred_at", "id")
    )
    yield Query(ACTIVITIES, (kinds, Condition("id", ">", "act_020")), ("id",), limit=limit)
    of = (Condition("partner_id", "=", partner), Condition("model", "=", "Standard"))
    yield Query(SCORES, (*of, Condition("as_of", "<=", at)), ("as_of",), True, 1)
    yield Query(SCORES, (*of, Condition("as_of", ">=", at)), ("as_of",))
    model = Condition("model", "=", "Standard")
    band = (Condition("band", "=", rnd.choice(["critical", "at_risk", "healthy"])),)
    exact = T0 + timedelta(hours=rnd.randrange(10))
    yield Query(SCORES, (model, Condition("as_of", "=", exact)), ("partner_id",), limit=limit)
    latest = ("partner_id", "as_of")
    later = Condition("partner_id", ">", after)
    yield Query(SCORES, (model, later), ("partner_id",), limit=limit, latest=latest, having=band)
    yield Query(PROGRAMS, (Condition("id", ">", "prg_a"),), ("id",), limit=limit)
    tier = (Condition("tier_id", "=", "silver"),) if rnd.random() < 0.5 else ()
    in_program = (Condition("program_id", "=", program), *tier, later)
    yield Query(MEMBERSHIPS, in_program, ("partner_id",), limit=limit)
    yield Query(MEMBERSHIPS, (Condition("partner_id", "=", partner),), ("program_id",))
    stretch = (Condition("program_id", "=", program), Condition("partner_id", "=", partner))
    yield Query(TIER_HISTORY, (*stretch, Condition("valid_from", "<=", at)), ("valid_from",))
    yield Query(DEALS, (Condition("status", "in", frozenset(ACTIVE_STATUSES)),), ("id",))
    yield Query(DEALS, (Condition("partner_id", "=", partner),), ("id",), limit=limit)
    until = T0 + timedelta(days=rnd.randrange(5, 45))
    protected = (
        Condition("status", "=", DealStatus.APPROVED),
        Condition("protection_until", "<=", until),
    )
    yield Query(DEALS, protected, ("protection_until", "id"), limit=limit)
    yield Query(CLAIMS, (Condition("deal_id", "=", f"deal_{rnd.randrange(16):02d}"),), ("key",))
    word = Condition("name_key", "contains", rnd.choice(["cloud", "nordic", "data", "o"]))
    yield Query(PARTNERS, (word, *filters), ("id",), limit=limit)
    by_name = Condition("customer_name_key", "contains", rnd.choice(["cloud", "fjord", "1"]))
    by_domain = Condition("customer_domain", "=", f"customer{rnd.randrange(16)}.fi")
    either = Condition.either(by_name, by_domain)
    partners = Condition("partner_id", "in", frozenset(rnd.sample(PARTNER_IDS, 3)))
    yield Query(DEALS, (either, Condition("id", ">", "deal_03")), ("id",), limit=limit)
    bounds = (
        Condition("protection_until", ">", T0 + timedelta(days=rnd.randrange(5, 20))),
        Condition("protection_until", "<=", T0 + timedelta(days=rnd.randrange(20, 45))),
    )
    yield Query(DEALS, (partners, *bounds), ("id",), limit=limit)
    yield Query(DEALS, (Condition.either(by_domain),), ("id",))
    newest = ("name", "version")
    yield Query(MODELS, (Condition("name", ">", "Channel"),), ("name",), latest=newest)
    yield Query(MODELS, (Condition("name", "=", "Growth"),), ("version",), limit=limit)


@pytest.fixture(params=["memory", "sqlite", "sql-sqlite", "sql-postgres"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StagedStorage]:
    store: StagedStorage
    if request.param == "memory":
        store = MemoryStorage()
    elif request.param == "sqlite":
        store = SqliteStorage(tmp_path / "q.db")
    else:
        import sqlalchemy as sa  # noqa: PLC0415 - only these backends need it

        from partnerkit.storage.sql import SqlStorage  # noqa: PLC0415

        if request.param == "sql-postgres":
            engine = request.getfixturevalue("postgres_engine")
        else:
            engine = sa.create_engine(f"sqlite:///{tmp_path / 'q.db'}")
        store = SqlStorage(engine)
    yield store
    store.close()


def every_record(storage: StagedStorage, kind: Any) -> list[Any]:
    return storage._backend.find(Query(kind))


@pytest.mark.parametrize("seed", range(4))
def test_a_backend_answers_every_query_as_the_definition_does(
    storage: StagedStorage, seed: int
) -> None:
    rnd = random.Random(seed)
    fill(storage, rnd)
    for _ in range(12):
        for query in queries(rnd):
            expected = query.select(every_record(storage, query.kind))

            assert storage._backend.find(query) == expected, query


def test_contains_and_any_mean_substring_and_or() -> None:
    nordic = Partner("ptn_1", "Nordic Cloud Oy", "reseller", "FI", T0)
    fjord = Partner("ptn_2", "Fjord Data AS", "reseller", "NO", T0)
    cloud = Condition("name_key", "contains", "cloud")
    norway = Condition("country", "=", "NO")

    assert Query(PARTNERS, (cloud,)).select([nordic, fjord]) == [nordic]
    assert Query(PARTNERS, (Condition.either(cloud, norway),)).select([nordic, fjord]) == [
        nordic,
        fjord,
    ]
    assert Query(PARTNERS, (Condition.either(),)).select([nordic, fjord]) == []


def test_the_definition_keeps_the_latest_per_group_before_filtering() -> None:
    older = score(MODEL, MetricSnapshot("ptn_1", T0, {"deals": 50}), as_of=T0)
    later = T0 + timedelta(hours=1)
    newer = score(MODEL, MetricSnapshot("ptn_1", later, {"deals": 90}), as_of=later)
    at_risk = (Condition("band", "=", older.band),)

    latest_first = Query(SCORES, latest=("partner_id", "as_of"), having=at_risk)
    band_first = Query(SCORES, at_risk, latest=("partner_id", "as_of"))

    assert (older.band, newer.band) == ("at_risk", "healthy")
    assert latest_first.select([older, newer]) == []
    assert band_first.select([older, newer]) == [older]
