"""Snapshots computed once and shared by a tier review and a scoring run."""

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import pytest

from partnerkit import (
    Aggregate,
    FixedClock,
    MetricDefinition,
    PermissionDeniedError,
    ValidationError,
    Window,
)
from partnerkit.health import model_from_dict
from partnerkit.services import LedgerSnapshots, Services
from partnerkit.storage.memory import MemoryStorage
from partnerkit.tiers import Membership, program_from_toml

from .test_services import (
    MANAGER,
    NOW,
    PARTNER_USER,
    PROGRAM_TOML,
    active_network,
)

REVIEWED = datetime(2026, 1, 1, tzinfo=UTC)
PROGRAM = program_from_toml(PROGRAM_TOML)
LOGINS = MetricDefinition("logins", Aggregate.COUNT, kinds=("portal_login",))
MODEL = model_from_dict(
    {
        "name": "Revenue health",
        "version": 1,
        "measures": [
            {
                "name": "revenue",
                "metric": "revenue_12m",
                "weight": 1,
                "normalizer": {"kind": "target", "target": 20000},
            }
        ],
    }
)


class CountingStorage(MemoryStorage):
    """A MemoryStorage that counts the activities its units of work read."""

    def __init__(self) -> None:
        super().__init__()
        self.read = 0

    def unit_of_work(self) -> Any:
        uow = super().unit_of_work()
        uow.activities = CountingLedger(uow.activities, self)
        return uow


class CountingLedger:
    """An activity ledger that counts what its batch reads return."""

    def __init__(self, ledger: Any, storage: CountingStorage) -> None:
        self._ledger = ledger
        self._storage = storage

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ledger, name)

    def for_partners(self, partner_ids: Iterable[str], **window: Any) -> Any:
        found = self._ledger.for_partners(partner_ids, **window)
        self._storage.read += sum(map(len, found.values()))
        return found


def network(storage: MemoryStorage | None = None) -> Services:
    services = Services(storage or MemoryStorage(), clock=FixedClock(NOW))
    active_network(services)
    with services.storage.unit_of_work() as uow:
        uow.programs.add(PROGRAM)
        for partner_id in ("ptn_1", "ptn_2"):
            uow.memberships.add(Membership(partner_id, "prg", REVIEWED.date()))
        uow.commit()
    return services


def test_runs_given_snapshots_read_no_activities_and_decide_the_same() -> None:
    alone = network()
    expected_review = alone.run_tier_review(MANAGER, "prg", as_of=REVIEWED).value
    expected_scores = alone.score_partners(MANAGER, MODEL, PROGRAM.metrics, as_of=NOW).value
    storage = CountingStorage()
    shared = network(storage)
    snapshots = shared.compute_snapshots(MANAGER, [*PROGRAM.metrics, LOGINS], at=[NOW, REVIEWED])
    read = storage.read

    review = shared.run_tier_review(MANAGER, "prg", as_of=REVIEWED, snapshots=snapshots).value
    scores = shared.score_partners(MANAGER, MODEL, PROGRAM.metrics, as_of=NOW, snapshots=snapshots)

    assert read == 2  # each stored activity once, for both instants
    assert storage.read == read
    assert review.decisions == expected_review.decisions
    assert list(scores.value) == list(expected_scores)


def test_snapshots_at_each_instant_count_only_what_happened_by_then() -> None:
    services = network()
    earlier = datetime(2025, 11, 1, tzinfo=UTC)

    snapshots = services.compute_snapshots(MANAGER, PROGRAM.metrics, at=[NOW, earlier])

    assert snapshots.instants == (earlier, NOW)
    assert snapshots.at(earlier)["ptn_1"].get("revenue_12m") is None
    assert snapshots.at(NOW)["ptn_1"].get("revenue_12m") is not None


def test_members_the_snapshots_lack_are_read_from_the_ledger() -> None:
    services = network()
    expected = services.run_tier_review(MANAGER, "prg", as_of=REVIEWED).value
    only_one = network().compute_snapshots(
        MANAGER, PROGRAM.metrics, at=[REVIEWED], partner_ids=["ptn_1"]
    )

    review = network().run_tier_review(MANAGER, "prg", as_of=REVIEWED, snapshots=only_one)

    assert review.value.decisions == expected.decisions


def test_snapshots_of_another_instant_or_other_metrics_are_refused() -> None:
    services = network()
    snapshots = services.compute_snapshots(MANAGER, [LOGINS, *PROGRAM.metrics], at=[NOW])

    with pytest.raises(ValidationError, match="not at 2026-01-01"):
        services.run_tier_review(MANAGER, "prg", as_of=REVIEWED, snapshots=snapshots)
    snapshots = services.compute_snapshots(MANAGER, [LOGINS], at=[NOW])
    with pytest.raises(ValidationError, match="without the run's metrics revenue_12m"):
        services.score_partners(MANAGER, MODEL, PROGRAM.metrics, as_of=NOW, snapshots=snapshots)
    with pytest.raises(ValidationError, match="LedgerSnapshots"):
        services.score_partners(MANAGER, MODEL, PROGRAM.metrics, snapshots={})  # type: ignore[arg-type]


def test_one_metric_name_with_two_definitions_is_refused() -> None:
    services = network()
    other = MetricDefinition("revenue_12m", Aggregate.COUNT, window=Window.trailing("P12M"))

    with pytest.raises(ValidationError, match="'revenue_12m' is defined twice"):
        services.compute_snapshots(MANAGER, [*PROGRAM.metrics, other], at=[NOW])


def test_partner_users_may_not_compute_snapshots() -> None:
    with pytest.raises(PermissionDeniedError):
        network().compute_snapshots(PARTNER_USER, PROGRAM.metrics, at=[NOW])


def test_progress_is_told_after_each_batch() -> None:
    told: list[tuple[int, int]] = []

    snapshots = network().compute_snapshots(
        MANAGER, [LOGINS], at=[NOW], on_progress=lambda done, total: told.append((done, total))
    )

    assert told == [(2, 2)]
    assert isinstance(snapshots, LedgerSnapshots)
