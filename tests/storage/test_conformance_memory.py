"""The storage conformance suite, run against the memory adapter and shown to have teeth.

`TestMemoryStorage` is how every adapter is meant to use the suite. The rest proves
the suite can fail: deliberately broken adapters (small subclasses of
`MemoryStorage`, each with one classic bug) are run through the contract tests that
guard against that bug, and each of those tests must fail on them while passing on
the real adapter.
"""

import bisect
import inspect
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import Any

import attrs
import pytest

from partnerkit import Activity, Event, HealthScore, Money, Partner
from partnerkit._base.time import to_utc
from partnerkit.storage import AppendResult, Page
from partnerkit.storage._common import decode_cursor, encode_cursor
from partnerkit.storage.memory import (
    MemoryStorage,
    MemoryUnitOfWork,
    _Activities,
    _Memberships,
    _Partners,
    _Scores,
    _TierHistory,
)
from partnerkit.testing import conformance
from partnerkit.testing.conformance import (
    ActivityLedgerContract,
    DealRepositoryContract,
    MembershipRepositoryContract,
    PartnerRepositoryContract,
    ProgramRepositoryContract,
    ScoreRepositoryContract,
    StorageContract,
    TierHistoryContract,
    UnitOfWorkContract,
)
from partnerkit.tiers import Membership, TierAssignment

pytest_plugins = ["pytester"]


class TestMemoryStorage(StorageContract):
    @pytest.fixture
    def storage(self) -> Iterator[MemoryStorage]:
        store = MemoryStorage()
        yield store
        store.close()


# --- Broken adapters: each keeps MemoryStorage's behaviour but for one bug. ---


class LosesRegionStorage(MemoryStorage):
    """Drops a field on write, as an adapter with a forgotten column does."""

    def _apply(self, work: MemoryUnitOfWork) -> tuple[Any, ...]:
        work.staged_partners = {
            partner_id: (expected, attrs.evolve(partner, region=""))
            for partner_id, (expected, partner) in work.staged_partners.items()
        }
        return super()._apply(work)


def _two_places(value: Money | Decimal | None) -> Money | Decimal | None:
    if isinstance(value, Money):
        return Money(value.amount.quantize(Decimal("0.01")), value.currency)
    if isinstance(value, Decimal):
        return value.quantize(Decimal("0.01"))
    return value


class TwoDecimalPlacesStorage(MemoryStorage):
    """Keeps amounts in a two-decimal column: KWD fils and sub-cent rates are lost."""

    def _apply(self, work: MemoryUnitOfWork) -> tuple[Any, ...]:
        work.staged_activities = {
            activity_id: attrs.evolve(activity, value=_two_places(activity.value))
            for activity_id, activity in work.staged_activities.items()
        }
        return super()._apply(work)


class _VersionBlindPartners(_Partners):
    def update(self, partner: Partner) -> Partner:
        # Last write wins: take whatever version is stored as the base.
        return super().update(attrs.evolve(partner, version=self.get(partner.id).version))


class IgnoresVersionsStorage(MemoryStorage):
    """Update always succeeds: no optimistic concurrency, so updates get lost."""

    def unit_of_work(self) -> MemoryUnitOfWork:
        work = super().unit_of_work()
        work.partners = _VersionBlindPartners(work)
        return work

    def _apply(self, work: MemoryUnitOfWork) -> tuple[Any, ...]:
        with self._lock:
            for partner_id, (expected, partner) in list(work.staged_partners.items()):
                stored = self._partners.get(partner_id)
                if expected and stored is not None:
                    rebased = attrs.evolve(partner, version=stored.version + 1)
                    work.staged_partners[partner_id] = (stored.version, rebased)
            return super()._apply(work)


class _DoubleAppendingWork(MemoryUnitOfWork):
    def __init__(self, storage: MemoryStorage) -> None:
        super().__init__(storage)
        self.appended: list[Activity] = []
        self.activities = _BlindLedger(self)

    def _clear(self) -> None:
        super()._clear()
        self.appended = []


class _BlindLedger(_Activities):
    _work: _DoubleAppendingWork

    def append(self, activities: Iterable[Activity]) -> AppendResult:
        batch = list(activities)
        self._work.appended.extend(batch)
        self._work.staged_activities.update((activity.id, activity) for activity in batch)
        return AppendResult(added=len(batch), duplicates=0)


class DoubleAppendingStorage(MemoryStorage):
    """Inserts every appended activity, as an adapter without a unique key on ids does."""

    def unit_of_work(self) -> MemoryUnitOfWork:
        return _DoubleAppendingWork(self)

    def _apply(self, work: MemoryUnitOfWork) -> tuple[Any, ...]:
        assert isinstance(work, _DoubleAppendingWork)
        with self._lock:
            work.staged_activities = {}
            records = super()._apply(work)
            for activity in work.appended:
                self._activities[activity.id] = activity
                self._by_partner.setdefault(activity.partner_id, []).append(activity)
                bisect.insort(self._activity_ids, activity.id)
            return records


class _Immediately:
    """A repository whose writes commit at once, like a connection in autocommit mode."""

    def __init__(self, inner: Any, work: MemoryUnitOfWork) -> None:
        self._inner = inner
        self._work = work

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._inner, name)
        if name not in {"add", "update", "append", "save"}:
            return method

        def write(*args: Any, **kwargs: Any) -> Any:
            result = method(*args, **kwargs)
            self._work.commit()
            return result

        return write


class _WritesImmediatelyWork(MemoryUnitOfWork):
    def __init__(self, storage: MemoryStorage) -> None:
        super().__init__(storage)
        self.partners = _Immediately(self.partners, self)
        self.activities = _Immediately(self.activities, self)
        self.scores = _Immediately(self.scores, self)
        self.programs = _Immediately(self.programs, self)
        self.memberships = _Immediately(self.memberships, self)
        self.tier_history = _Immediately(self.tier_history, self)

    def publish(self, *events: Event) -> None:
        super().publish(*events)
        self.commit()


class WritesImmediatelyStorage(MemoryStorage):
    """Writes at once instead of at commit, so nothing can be rolled back."""

    def unit_of_work(self) -> MemoryUnitOfWork:
        return _WritesImmediatelyWork(self)


class _OverwritingScores(_Scores):
    def add(self, score: HealthScore) -> None:
        if not isinstance(score, HealthScore):
            super().add(score)
        series = self._work.staged_scores.setdefault((score.partner_id, score.model), {})
        series[score.as_of] = score  # last write wins


class OverwritesScoresStorage(MemoryStorage):
    """Replaces a stored score with a new one under its key: history is rewritten."""

    def unit_of_work(self) -> MemoryUnitOfWork:
        work = super().unit_of_work()
        work.scores = _OverwritingScores(work)
        return work

    def _apply(self, work: MemoryUnitOfWork) -> tuple[Any, ...]:
        with self._lock:
            for pair, series in work.staged_scores.items():
                for at, score in series.items():
                    stored = self._scores.get((*pair, at))
                    if stored is not None and stored != score:
                        history = self._score_history[pair]
                        history[history.index(stored)] = self._scores[(*pair, at)] = score
            return super()._apply(work)


class DropsOverridesStorage(MemoryStorage):
    """Stores scores without their override, as an adapter with no column for it does."""

    def _apply(self, work: MemoryUnitOfWork) -> tuple[Any, ...]:
        work.staged_scores = {
            pair: {at: attrs.evolve(score, override=None) for at, score in series.items()}
            for pair, series in work.staged_scores.items()
        }
        return super()._apply(work)


class _BandFirstScores(_Scores):
    def query(
        self,
        *,
        model: str,
        as_of: Any = None,
        band: str | None = None,
        limit: int = 1000,
        cursor: str | None = None,
    ) -> Page[HealthScore]:
        if band is None or as_of is not None:
            return super().query(model=model, as_of=as_of, band=band, limit=limit, cursor=cursor)
        # "WHERE band = ?" before "each partner's latest": a partner whose latest
        # score shows another band is listed with an older score that matched.
        after = decode_cursor("scores", cursor) or ""
        latest: dict[str, HealthScore] = {}
        with self._store._lock:
            for score in sorted(self._store._scores.values(), key=lambda item: item.as_of):
                if score.model == model and score.band == band and score.partner_id > after:
                    latest[score.partner_id] = score
        found = [latest[partner_id] for partner_id in sorted(latest)]
        more = len(found) > limit
        items = tuple(found[:limit])
        return Page(items, encode_cursor("scores", items[-1].partner_id) if more else None)


class FiltersBandBeforeLatestStorage(MemoryStorage):
    """Lists "at risk" partners by any score at risk, not by their latest score."""

    def unit_of_work(self) -> MemoryUnitOfWork:
        work = super().unit_of_work()
        work.scores = _BandFirstScores(work)
        return work


class _VersionBlindMemberships(_Memberships):
    def update(self, membership: Membership) -> Membership:
        current = self.get(membership.program_id, membership.partner_id)
        return super().update(attrs.evolve(membership, version=current.version))


class IgnoresMembershipVersionsStorage(MemoryStorage):
    """Membership updates always succeed: a review saved over another one loses it."""

    def unit_of_work(self) -> MemoryUnitOfWork:
        work = super().unit_of_work()
        work.memberships = _VersionBlindMemberships(work)
        return work

    def _apply(self, work: MemoryUnitOfWork) -> tuple[Any, ...]:
        with self._lock:
            for key, (expected, membership) in list(work.staged_memberships.items()):
                stored = self._memberships.get(key)
                if expected and stored is not None:
                    rebased = attrs.evolve(membership, version=stored.version + 1)
                    work.staged_memberships[key] = (stored.version, rebased)
            return super()._apply(work)


class _OverwritingHistory(_TierHistory):
    def save(self, assignment: TierAssignment) -> None:
        key = (assignment.program_id, assignment.partner_id, assignment.valid_from)
        self._work.staged_assignments[key] = assignment  # last write wins


class OverwritesHistoryStorage(MemoryStorage):
    """Saves tier assignments by key, last write wins: past tiers can be rewritten."""

    def unit_of_work(self) -> MemoryUnitOfWork:
        work = super().unit_of_work()
        work.tier_history = _OverwritingHistory(work)
        return work

    def _apply(self, work: MemoryUnitOfWork) -> tuple[Any, ...]:
        with self._lock:
            staged, work.staged_assignments = work.staged_assignments, {}
            records = super()._apply(work)
            for (program_id, partner_id, at), assignment in staged.items():
                self._tier_history.setdefault((program_id, partner_id), {})[at] = assignment
            return records


class _InclusiveUntilHistory(_TierHistory):
    def at(self, program_id: str, partner_id: str, instant: Any) -> TierAssignment | None:
        # "valid_from <= t <= valid_until": the day a tier changes, both count.
        instant = to_utc(instant, "instant")
        covering = [
            assignment
            for assignment in self.for_partner(program_id, partner_id)
            if assignment.valid_from <= instant
            and (assignment.valid_until is None or instant <= assignment.valid_until)
        ]
        return covering[0] if covering else None


class InclusiveUntilStorage(MemoryStorage):
    """Treats ``valid_until`` as inclusive, so a change instant answers the old tier."""

    def unit_of_work(self) -> MemoryUnitOfWork:
        work = super().unit_of_work()
        work.tier_history = _InclusiveUntilHistory(work)
        return work


class SkipsTheClaimStorage(MemoryStorage):
    """Commits approvals without checking the claim on the customer.

    As an adapter that checks conflicts before its transaction, or keeps claims
    without a unique key, does: racing approvals for one customer all commit.
    """

    def _check_claims(self, work: MemoryUnitOfWork) -> None:
        return


# --- Running one contract test by hand. ---

CONTRACTS = (
    PartnerRepositoryContract,
    ActivityLedgerContract,
    ScoreRepositoryContract,
    ProgramRepositoryContract,
    MembershipRepositoryContract,
    TierHistoryContract,
    DealRepositoryContract,
    UnitOfWorkContract,
)
#: What a failing contract test raises: a failed assert, or pytest.raises' "DID NOT RAISE".
CONTRACT_FAILURE = (AssertionError, pytest.fail.Exception)


def contract_tests(*, properties: bool = True) -> list[str]:
    names = [name for name in dir(StorageContract) if name.startswith("test_")]
    if properties:
        return names
    # Hypothesis tests are left out of the by-hand runs: shrinking a failure against a
    # broken adapter costs seconds and proves nothing the example tests do not.
    return [
        name
        for name in names
        if not getattr(getattr(StorageContract, name), "is_hypothesis_test", False)
    ]


def run_contract_test(name: str, make_storage: Callable[[], MemoryStorage]) -> None:
    """Run one contract test the way pytest would, with a fresh store."""
    storage = make_storage()
    try:
        getattr(StorageContract(), name)(storage)
    finally:
        storage.close()


# --- The suite has teeth. ---

#: For each broken adapter: the contract tests that catch its bug, and what each
#: failure must say. Every one fails with a failed assert or pytest.raises' "DID NOT
#: RAISE", never with a crash.
CAUGHT: dict[type[MemoryStorage], dict[str, str]] = {
    LosesRegionStorage: {
        "test_every_partner_field_round_trips_through_add_and_get": (
            r"^partner\.region: expected 'Nordics', got ''$"
        ),
        "test_every_partner_field_round_trips_through_update_and_get": (
            r"^partner\.region: expected 'Nordics', got ''$"
        ),
        "test_unicode_text_round_trips": r"^ptn_nordic\.region: expected 'Amérique du Nord'",
        "test_update_returns_the_partner_one_version_higher": r"^partner\.region",
    },
    TwoDecimalPlacesStorage: {
        "test_activity_values_keep_their_precision_and_currency": (
            r"^act_0\.value\.amount: expected Decimal\('0\.123456789'\) exactly .*"
            r"got Decimal\('0\.12'\)$"
        ),
        "test_append_refuses_an_id_with_different_content_and_writes_nothing": (
            r"^activity\.value: expected Decimal\('1'\) exactly .* got Decimal\('1\.00'\)$"
        ),
    },
    IgnoresVersionsStorage: {
        "test_stale_update_raises_and_changes_nothing": "DID NOT RAISE.*StaleVersionError",
        "test_update_with_a_version_never_stored_raises_stale": (
            "DID NOT RAISE.*StaleVersionError"
        ),
        "test_commit_that_fails_on_a_stale_partner_writes_nothing": (
            "DID NOT RAISE.*StaleVersionError"
        ),
        "test_concurrent_updates_lose_no_update": r"^lost updates: \['w",
        "test_update_returns_the_partner_one_version_higher": (
            r"^partner\.version: expected the int 3, got 2"
        ),
        "test_commit_that_fails_on_a_stale_partner_writes_no_scores": (
            "DID NOT RAISE.*StaleVersionError"
        ),
    },
    DoubleAppendingStorage: {
        "test_append_is_idempotent_within_a_batch": (
            r"^AppendResult \(added, duplicates\)\nassert \(3, 0\) == \(2, 1\)\n"
        ),
        "test_append_is_idempotent_within_a_unit_of_work": (
            r"^AppendResult \(added, duplicates\)\nassert \(2, 0\) == \(0, 2\)\n"
        ),
        "test_append_is_idempotent_across_units_of_work": (
            r"^AppendResult \(added, duplicates\)\nassert \(4, 0\) == \(1, 3\)\n"
        ),
        "test_append_refuses_an_id_with_different_content_and_writes_nothing": (
            "DID NOT RAISE.*ConflictError"
        ),
        "test_append_refuses_one_id_twice_in_a_batch_with_different_content": (
            "DID NOT RAISE.*ConflictError"
        ),
        "test_commit_that_fails_on_a_taken_activity_id_writes_nothing": (
            "DID NOT RAISE.*ConflictError"
        ),
    },
    WritesImmediatelyStorage: {
        "test_exception_inside_the_block_rolls_back_everything": (
            "^an added partner survived the rollback\n"
        ),
        "test_leaving_the_block_without_commit_rolls_back_everything": (
            "^an added partner survived the rollback\n"
        ),
        "test_rollback_discards_everything_since_the_last_commit": ("DID NOT RAISE.*NotFoundError"),
        "test_other_units_of_work_see_writes_only_after_commit": "DID NOT RAISE.*NotFoundError",
        "test_commit_that_fails_on_a_stale_partner_writes_nothing": (
            "DID NOT RAISE.*StaleVersionError"
        ),
        "test_events_reach_the_outbox_only_after_commit": (
            "^events were delivered before commit\n"
        ),
        "test_events_of_a_rolled_back_unit_never_appear": (
            r"(?s)^pending events\n.*At index 0 diff: 'test\.raised' != 'test\.kept'"
        ),
        "test_uow_events_holds_the_events_of_the_last_commit": (
            r"^uow\.events\nassert \[\] == \['test\.first'\]\n"
        ),
        "test_unit_of_work_can_be_reused_after_commit_and_rollback": (
            "^a rolled-back partner was stored\n"
        ),
        "test_commit_that_fails_on_a_stale_partner_writes_no_scores": (
            "DID NOT RAISE.*StaleVersionError"
        ),
        "test_rolled_back_scores_leave_nothing_behind": (
            "^a rolled-back score is still visible in its unit of work\n"
        ),
        "test_score_query_sees_the_units_own_scores_and_no_one_elses": (
            r"^query\(\) in another unit before commit\n"
        ),
        "test_rolled_back_programs_memberships_and_history_leave_nothing_behind": (
            r"^history in its unit after rollback\(\)\nassert \[TierAssignme.* == \[\]\n"
        ),
        "test_membership_for_partner_lists_every_program_in_program_order": (
            r"^for_partner\('ptn_1'\) after rollback\nassert \['prg_a', 'prg_b', 'prg_c'\] == \["
        ),
        "test_tier_history_is_per_program_and_partner_in_valid_from_order": (
            "^after rollback: expected 2 items, got 3$"
        ),
    },
    OverwritesScoresStorage: {
        "test_a_different_score_under_a_stored_key_raises_conflict_and_keeps_the_stored_one": (
            "DID NOT RAISE.*ConflictError"
        ),
        "test_a_different_score_under_a_key_staged_in_the_same_unit_raises_conflict": (
            "DID NOT RAISE.*ConflictError"
        ),
        "test_commit_that_fails_on_a_score_stored_meanwhile_writes_nothing": (
            "DID NOT RAISE.*ConflictError"
        ),
    },
    DropsOverridesStorage: {
        "test_every_score_field_round_trips_through_add_latest_history_and_query": (
            r"^score\.override: expected a Override, got None$"
        ),
        "test_latest_carries_an_override_into_the_next_score": (
            r"(?s)^\(value, override\) by run\n.*"
            r"At index 0 diff: \(Decimal\('75\.0'\), None\) != \(Decimal\('75\.0'\), Override\("
        ),
        # Re-adding the score without its override is not refused: the adapter
        # cannot tell it from what it stored.
        "test_a_different_score_under_a_stored_key_raises_conflict_and_keeps_the_stored_one": (
            "DID NOT RAISE.*ConflictError"
        ),
    },
    FiltersBandBeforeLatestStorage: {
        "test_score_query_lists_each_partners_latest_score_in_partner_order": (
            r"(?s)^query\(band='at_risk', limit=1\)\n.*At index 0 diff: \('ptn_a', .*\('ptn_e', "
        ),
        "test_score_query_sees_the_units_own_scores_and_no_one_elses": (
            r"(?s)^query\(band='at_risk'\) in the unit\n.*At index 0 diff: \('ptn_1', .*\('ptn_3', "
        ),
    },
    IgnoresMembershipVersionsStorage: {
        "test_stale_membership_update_raises_and_changes_nothing": (
            "DID NOT RAISE.*StaleVersionError"
        ),
        "test_commit_that_fails_on_a_stale_membership_writes_nothing": (
            "DID NOT RAISE.*StaleVersionError"
        ),
        "test_concurrent_membership_updates_lose_no_update": (
            r"^lost updates: \(failing_reviews, version\) after (\d+) saves\n"
            r"assert \((?!\1,)\d+, \d+\) == \(\1, \d+\)"
        ),
        "test_membership_update_returns_one_version_higher": (
            r"^membership\.version: expected the int 3, got 2"
        ),
    },
    OverwritesHistoryStorage: {
        "test_an_assignment_that_does_more_than_close_raises_conflict_and_changes_nothing": (
            "DID NOT RAISE.*ConflictError"
        ),
        "test_a_different_assignment_under_a_key_staged_in_the_same_unit_raises_conflict": (
            "DID NOT RAISE.*ConflictError"
        ),
        "test_commit_that_fails_on_a_history_rewritten_meanwhile_writes_nothing": (
            "DID NOT RAISE.*ConflictError"
        ),
    },
    InclusiveUntilStorage: {
        "test_at_returns_the_assignment_covering_the_instant": (
            r"(?s)^at\(instant\) -> tier_id\n.*At index 3 diff: \(datetime\.datetime\(2026, 1, 15, "
            r"11, 30, tzinfo=datetime\.timezone\.utc\), 'registered'\) != \(.*, None\)"
        ),
        "test_a_review_run_is_saved_in_one_unit_of_work": (
            r"\{'ptn_old': \('silver', \['registered', 'silver'\], 'registered'\)\} != "
        ),
    },
    SkipsTheClaimStorage: {
        # The race of the issue: 8 partners approved for each of 3 customers.
        "test_concurrent_approvals_approve_exactly_one_per_customer": (
            r"^approvals per customer\nassert \[8, 8, 8\] == \[1, 1, 1\]\n"
        ),
        "test_a_second_approval_for_the_customer_is_refused_at_commit_and_writes_nothing": (
            "DID NOT RAISE.*ConflictError"
        ),
        "test_two_approvals_for_one_customer_in_one_unit_of_work_are_refused": (
            "DID NOT RAISE.*ConflictError"
        ),
        "test_an_approved_registration_added_directly_claims_its_customer": (
            "DID NOT RAISE.*ConflictError"
        ),
    },
}

#: Tests a broken adapter also fails, not by a failed assert but because the bug
#: derails the test's own set-up; listed so that nothing else fails unnoticed.
KNOCK_ON: dict[type[MemoryStorage], set[str]] = {
    # The blind update looks the partner up first: NotFoundError, not StaleVersionError.
    IgnoresVersionsStorage: {"test_update_of_a_missing_partner_raises_stale"},
    # The first writer's add is committed at once, so the second writer's add is the
    # one refused, with ConflictError, while the test sets up the race.
    WritesImmediatelyStorage: {
        "test_commit_that_fails_on_a_taken_partner_id_writes_nothing",
        "test_commit_that_fails_on_a_taken_activity_id_writes_nothing",
        "test_unit_of_work_can_be_reused_after_a_failed_commit",
        "test_commit_that_fails_on_a_score_stored_meanwhile_writes_nothing",
        "test_commit_that_fails_on_a_stale_membership_writes_nothing",
        "test_commit_that_fails_on_a_history_rewritten_meanwhile_writes_nothing",
    },
}


@pytest.mark.parametrize(
    ("adapter", "test_name", "message"),
    [
        pytest.param(adapter, name, message, id=f"{adapter.__name__}-{name}")
        for adapter, tests in CAUGHT.items()
        for name, message in tests.items()
    ],
)
def test_a_broken_adapter_fails_the_contract_test_that_guards_its_bug(
    adapter: type[MemoryStorage], test_name: str, message: str
) -> None:
    with pytest.raises(CONTRACT_FAILURE, match=message):
        run_contract_test(test_name, adapter)


@pytest.mark.parametrize(
    "test_name",
    sorted(
        {name for tests in CAUGHT.values() for name in tests}
        | {name for names in KNOCK_ON.values() for name in names}
    ),
)
def test_the_same_contract_tests_pass_by_hand_on_memory_storage(test_name: str) -> None:
    # The control for the test above: the same harness, the real adapter.
    run_contract_test(test_name, MemoryStorage)


@pytest.mark.parametrize("adapter", list(CAUGHT), ids=lambda adapter: adapter.__name__)
def test_a_broken_adapter_fails_no_other_contract_test(adapter: type[MemoryStorage]) -> None:
    failed = set()
    for name in contract_tests(properties=False):
        try:
            run_contract_test(name, adapter)
        except (Exception, pytest.fail.Exception):
            failed.add(name)
    assert failed == set(CAUGHT[adapter]) | KNOCK_ON.get(adapter, set())


# --- How hosts use the suite: collection and the one fixture. ---

HOST_MODULE = """
    import pytest

    from partnerkit.storage.memory import MemoryStorage
    from partnerkit.testing.conformance import (
        ActivityLedgerContract,
        MembershipRepositoryContract,
        PartnerRepositoryContract,
        ProgramRepositoryContract,
        ScoreRepositoryContract,
        StorageContract,
        TierHistoryContract,
        UnitOfWorkContract,
    )

    class TestHostStorage(StorageContract):
        @pytest.fixture
        def storage(self):
            store = MemoryStorage()
            yield store
            store.close()

    class TestWithoutFixture(PartnerRepositoryContract):
        pass
"""


def test_importing_the_contracts_collects_only_test_subclasses(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_host=HOST_MODULE)
    items, _ = pytester.inline_genitems()
    by_class: dict[str, set[str]] = {}
    for item in items:
        by_class.setdefault(item.parent.name, set()).add(item.name)  # type: ignore[union-attr]
    assert by_class == {
        "TestHostStorage": set(contract_tests()),
        "TestWithoutFixture": {
            name for name in dir(PartnerRepositoryContract) if name.startswith("test_")
        },
    }


def test_a_subclass_runs_with_its_fixture_and_errors_without_one(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_host=HOST_MODULE)
    result = pytester.runpytest("-k", "missing_partner_raises_not_found")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*fixture 'storage' not found*"])


def test_every_contract_test_has_a_distinct_name() -> None:
    # StorageContract inherits them all; a shared name would silently hide one test.
    names = [name for contract in CONTRACTS for name in vars(contract) if name.startswith("test_")]
    assert len(names) == len(set(names))
    assert set(names) == set(contract_tests())


def test_the_contracts_are_the_public_api() -> None:
    assert conformance.__all__ == sorted(cls.__name__ for cls in (*CONTRACTS, StorageContract))
    for contract in (*CONTRACTS, StorageContract):
        assert not contract.__name__.startswith("Test")
        assert inspect.getdoc(contract)
