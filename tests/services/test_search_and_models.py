"""Name and customer search, expiry windows in the query, stored scoring models."""

from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from partnerkit import (
    ConflictError,
    NotFoundError,
    Period,
    PermissionDeniedError,
    ValidationError,
)
from partnerkit.errors import AlreadyExistsError
from partnerkit.tiers import Membership

from .world import (
    ADMIN,
    DEFINITIONS,
    MANAGER_A,
    MODEL,
    NOW,
    USER_A,
    USER_B,
    World,
    build,
    draft,
    partner,
    storages,
)


@pytest.fixture(params=["memory", "sqlite"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    built = build(dict(storages(tmp_path))[request.param])
    yield built
    built.services.storage.close()


def test_partners_are_found_by_name_as_the_deal_desk_normalises_it(world: World) -> None:
    services = world.services
    services.register_partner(ADMIN, partner("ptn_n1", "usr_ma", name="Nordic Cloud Oy"))
    services.register_partner(ADMIN, partner("ptn_n2", "usr_mb", name="NORDIC-CLOUD GmbH"))
    services.register_partner(ADMIN, partner("ptn_n3", "usr_ma", name="Cloud Nordic AB"))

    found = services.list_partners(ADMIN, name="nordic cloud")
    owned = services.list_partners(ADMIN, name="Nordic Cloud, Inc.", owner_id="usr_ma")
    paged = services.list_partners(ADMIN, name="cloud", limit=2)
    rest = services.list_partners(ADMIN, name="cloud", cursor=paged.next_cursor)

    assert [p.id for p in found.items] == ["ptn_n1", "ptn_n2"]
    assert [p.id for p in owned.items] == ["ptn_n1"]
    assert [p.id for p in paged.items + rest.items] == ["ptn_n1", "ptn_n2", "ptn_n3"]
    assert [p.id for p in services.list_partners(USER_A, name="partner").items] == ["ptn_a"]
    assert services.list_partners(USER_A, name="nordic").items == ()
    with pytest.raises(ValidationError, match="name"):
        services.list_partners(ADMIN, name=" & ")


def test_deals_are_found_by_customer_name_or_domain_within_the_actors_scope(
    world: World,
) -> None:
    services = world.services
    by_name = services.list_deals(ADMIN, customer="ACME")
    by_domain = services.list_deals(ADMIN, customer="https://www.shop.acme.fi/x")
    mine = services.list_deals(USER_A, customer="acme")

    assert [d.id for d in by_name.items] == [world.deals["b_approved"]]
    assert [d.id for d in by_domain.items] == [world.deals["b_approved"]]
    assert mine.items == ()
    assert [d.id for d in services.list_deals(USER_B, customer="birch").items] == [
        world.deals["b_rejected"]
    ]


def test_expiring_deals_are_filtered_in_the_query_so_every_page_is_full(world: World) -> None:
    services = world.services
    for n in range(5):
        deal_id = services.submit_deal(USER_A, draft(f"Customer {n} Oy", f"c{n}.fi")).value.id
        services.approve_deal(MANAGER_A, deal_id)
    expiring = {d.id for d in services.list_deals(ADMIN, status="approved").items}

    first = services.list_deals(ADMIN, expiring_within=365, limit=4)
    second = services.list_deals(ADMIN, expiring_within=365, limit=4, cursor=first.next_cursor)
    none = services.list_deals(ADMIN, expiring_within=Period.of_days(1))

    assert len(expiring) == 7
    assert len(first.items) == 4
    assert {d.id for d in first.items + second.items} == expiring
    assert second.next_cursor is None
    assert none.items == ()


def test_a_membership_for_a_partner_that_does_not_exist_is_refused(world: World) -> None:
    with world.services.storage.unit_of_work() as uow, pytest.raises(NotFoundError):
        uow.memberships.add(Membership("ptn_ghost", "prg", NOW.date()))


def test_scoring_models_are_stored_versioned_and_retired_by_name(world: World) -> None:
    services = world.services
    with pytest.raises(PermissionDeniedError):
        services.add_scoring_model(MANAGER_A, MODEL)
    added = services.add_scoring_model(ADMIN, MODEL)
    with pytest.raises(AlreadyExistsError):
        services.add_scoring_model(ADMIN, MODEL)
    with pytest.raises(ValidationError, match="next version"):
        services.new_model_version(ADMIN, attrs.evolve(MODEL, version=3))
    second = services.new_model_version(ADMIN, attrs.evolve(MODEL, version=2))
    listed = services.scoring_models(ADMIN)

    assert (added.value.version, second.value.version) == (1, 2)
    assert [e.kind for e in added.events + second.events] == ["model.added", "model.versioned"]
    assert [(m.name, m.version) for m in listed.items] == [(MODEL.name, 2)]

    retired = services.retire_scoring_model(ADMIN, MODEL.name, version=2)
    assert retired.value.retired
    assert [e.kind for e in retired.events] == ["model.retired"]
    with pytest.raises(ConflictError, match="already retired"):
        services.retire_scoring_model(ADMIN, MODEL.name, version=2)
    with pytest.raises(ValidationError, match="retired"):
        services.score_partners(ADMIN, MODEL.name, DEFINITIONS, as_of=NOW)


def test_a_run_names_a_stored_model_and_its_score_can_be_reproduced(world: World) -> None:
    services = world.services
    services.add_scoring_model(ADMIN, attrs.evolve(MODEL, name="Stored"))
    later = NOW + Period.of_days(1)
    run = services.score_partners(ADMIN, "Stored", DEFINITIONS, as_of=later)
    services.new_model_version(ADMIN, attrs.evolve(MODEL, name="Stored", version=2))

    stored = next(s for s in run.value if s.partner_id == "ptn_a")
    again = services.reproduce_score(ADMIN, "ptn_a", DEFINITIONS, model="Stored", as_of=later)

    assert (stored.model, stored.model_version) == ("Stored", 1)
    assert again == stored
    with pytest.raises(NotFoundError):
        services.reproduce_score(USER_B, "ptn_a", DEFINITIONS, model="Stored", as_of=later)
    with pytest.raises(NotFoundError):
        services.reproduce_score(ADMIN, "ptn_a", DEFINITIONS, model="Stored", as_of=NOW)
