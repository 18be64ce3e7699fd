"""Eight processes race on one database: claims, screening and versions hold.

``PARTNERKIT_RACE_ROUNDS`` sets the rounds per race (10 by default, to keep the
suite quick on a small machine; the issue's full race is 200).
"""

import os
from collections.abc import Iterator
from itertools import combinations
from pathlib import Path

import pytest

from partnerkit.deals import ConflictOutcome, DealRegistration

from . import races
from .races import MANAGER, Spec, in_processes, opened, services_of
from .world import ADMIN, partner

WORKERS = 8
ROUNDS = int(os.environ.get("PARTNERKIT_RACE_ROUNDS", "10"))


@pytest.fixture(params=["sqlite", "postgres"])
def spec(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Spec]:
    if request.param == "sqlite":
        yield ("sqlite", str(tmp_path / "race.db"))
        return
    engine = request.getfixturevalue("postgres_engine")
    yield ("sql", engine.url.render_as_string(hide_password=False))


def test_identical_customers_get_one_approval_each(spec: Spec) -> None:
    races.set_up(spec, WORKERS)
    outcomes = in_processes(races.registration_race, WORKERS, spec, ROUNDS, "identical")
    approved = [deal_id for outcome in outcomes for deal_id in outcome.approved]
    refused = [deal_id for outcome in outcomes for deal_id in outcome.refused]
    assert len(approved) == ROUNDS, "exactly one approval per customer"
    assert len(refused) == ROUNDS * (WORKERS - 1)
    with opened(spec) as storage:
        services = services_of(storage, 98)
        names = {services.get_deal(MANAGER, deal_id).customer.name for deal_id in approved}
    assert names == {races.customer_name(round_, None) for round_ in range(ROUNDS)}


def test_near_names_submitted_together_leave_the_first_registrant_alone(spec: Spec) -> None:
    races.set_up(spec, WORKERS)
    outcomes = in_processes(races.registration_race, WORKERS, spec, ROUNDS, "near, submitted first")
    # Every spelling was committed before any approval: each screen finds all seven
    # others, so only the first registered (worker 0: same instant, lowest id) may
    # proceed; every later one is refused without an override.
    by_worker = {outcome.worker: outcome for outcome in outcomes}
    assert len(by_worker[0].approved) == ROUNDS
    assert all(not by_worker[worker].approved for worker in range(1, WORKERS))
    with opened(spec) as storage:
        services = services_of(storage, 98)
        first = {services.get_deal(MANAGER, deal_id).id for deal_id in by_worker[0].approved}
        for worker in range(1, WORKERS):
            for deal_id in by_worker[worker].refused:
                deal = services.get_deal(MANAGER, deal_id)
                assert deal.status == "submitted"
                assert not deal.decisions
        assert len(first) == ROUNDS


def test_near_names_racing_are_each_screened_against_the_other(spec: Spec) -> None:
    races.set_up(spec, WORKERS)
    outcomes = in_processes(races.registration_race, WORKERS, spec, ROUNDS, "near")
    with opened(spec) as storage:
        services = services_of(storage, 98)
        approved = [
            services.get_deal(MANAGER, deal_id)
            for outcome in outcomes
            for deal_id in outcome.approved
        ]
    by_round: dict[str, list[DealRegistration]] = {}
    for deal in approved:
        by_round.setdefault(deal.customer.name.split()[1], []).append(deal)
    assert len(by_round) == ROUNDS, "every round approves its first registrant at least"
    # Submissions and approvals interleave, so a registration may be approved before
    # a rival that ranks first (same instant, lower id) is stored; the rival is then
    # approved too, by the first-to-register rule. What may never happen is two
    # approvals that did not see each other: the one approved later must have found
    # the other and, without an override, have had priority over it.
    for deals in by_round.values():
        for one, other in combinations(deals, 2):
            seen = {
                (deal.id, conflict.other_id): conflict
                for deal in (one, other)
                for conflict in deal.decisions[-1].conflicts
            }
            found = seen.get((one.id, other.id)) or seen.get((other.id, one.id))
            assert found is not None, f"{one.id} and {other.id} were approved blind"
            assert found.outcome is ConflictOutcome.PROCEED
            assert found.has_priority
    for deal in approved:
        assert not deal.decisions[-1].overridden


def test_stale_version_writers_lose_no_update(spec: Spec) -> None:
    with opened(spec) as storage:
        services_of(storage, 98).register_partner(
            ADMIN, partner("ptn_counter", MANAGER.id, name="Counter 0")
        )
    in_processes(races.counter_writer, WORKERS, spec, ROUNDS)
    with opened(spec) as storage, storage.unit_of_work() as uow:
        counter = uow.partners.get("ptn_counter")
    # Every read-change-write that lost a race was refused and done again on fresh
    # state, so all of them count.
    assert counter.name == f"Counter {WORKERS * ROUNDS}"
    assert counter.version == WORKERS * ROUNDS + 1


def test_several_buses_deliver_every_event_exactly_once(spec: Spec) -> None:
    delivered = in_processes(races.event_deliverer, WORKERS, spec, ROUNDS)
    ids = [event_id for ids in delivered for event_id in ids]
    assert len(ids) == WORKERS * ROUNDS, "one partner.created event per registration"
    assert len(set(ids)) == len(ids), "no event reached two buses' subscribers"
    with opened(spec) as storage:
        assert storage.pending_events() == []
