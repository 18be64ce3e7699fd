"""The staging layer every storage adapter builds on.

A unit of work never writes as it goes. Each repository *stages* its writes in the
unit of work, checked against what is staged and committed (a taken id, a stale
version, an activity id with other content, a score or tier stretch that may not
change), and reads merge the staged records over the committed ones, so the work
sees its own writes and nobody else does. ``commit()`` hands everything staged to
the adapter as one `Commit`, and the adapter does one thing with it, atomically:

1. inside its lock or transaction, call ``commit.check(reads)`` with reads of the
   committed state *as it is inside that lock or transaction*. The check runs every
   rule again against it (versions, ids, idempotent appends, immutable scores, tier
   history that only closes, customer claims judged on the commit's final state),
   raises `StaleVersionError` or `ConflictError` if the commit cannot succeed, and
   otherwise returns the `Changes` to write, the outbox records included;
2. write those changes, and commit.

An adapter therefore supplies committed reads (`CommittedReads`: ``versions``,
``load`` and ``find``) and that one atomic ``write``: a `StorageBackend`. Wrap it in
a `StagedStorage` and it is a complete `partnerkit.storage.Storage`.

How the reads are phrased: every record is of one `Kind` (``kind.name`` is one of
``partners``, ``activities``, ``scores``, ``programs``, ``memberships``,
``tier_history``, ``deals``, ``claims``, ``events``), has a key (``kind.key``), and
is read by key (``versions``, ``load``) or by a `Query`: equality and range
conditions (`Condition`) on the record's fields, an order, a limit, and, for one
query only, "the latest record per group". ``kind.getter(field)`` reads a field
(an attribute of the record; a program's ``id`` is its program's), so a dict-backed
adapter answers any query with ``query.select(records)``, and an SQL adapter maps
each field onto a column of the same name.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final

from partnerkit._base.events import Event, EventRecord
from partnerkit._base.ids import IdGenerator
from partnerkit._base.time import Clock, SystemClock
from partnerkit.errors import (
    StaleVersionError,
    StorageError,
    ValidationError,
)
from partnerkit.storage._common import (
    activity_conflict,
    assignment_conflict,
    check_limit,
    claim_conflict,
    closes,
    score_conflict,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence
    from types import TracebackType

    from partnerkit.storage._protocols import (
        ActivityLedger,
        BusinessPlanRepository,
        CertificationRepository,
        CheckInRepository,
        DealRepository,
        FundBudgetRepository,
        FundClaimRepository,
        FundRequestRepository,
        IncentivePlanRepository,
        LeadRepository,
        MembershipRepository,
        PartnerRepository,
        ProgramRepository,
        ScoreRepository,
        ScoringModelRepository,
        StatementRepository,
        StoredModel,
        TierHistoryRepository,
        UnitOfWork,
    )
    from partnerkit.tiers import TierAssignment

from partnerkit.storage._funds import _FundBudgets, _FundClaims, _FundRequests
from partnerkit.storage._incentives import (
    _IncentivePlans,
    _Statements,
    check_incentive_plans,
)
from partnerkit.storage._kinds import (
    _EXISTS,
    _LATEST_CHANGE,
    _WRITE_ORDER,
    ACTIVITIES,
    CLAIMS,
    DEAL_CHANGES,
    DEALS,
    EVENT_LEASES,
    EVENTS,
    FUND_BUDGETS,
    FUND_CLAIMS,
    FUND_REQUESTS,
    INCENTIVE_PLANS,
    MAX_KEYS,
    MEMBERSHIPS,
    MODELS,
    PARTNERS,
    PROGRAMS,
    SCORES,
    STATEMENTS,
    TIER_HISTORY,
    Changes,
    Claim,
    Commit,
    CommittedReads,
    Condition,
    DealChange,
    EventLease,
    Key,
    Kind,
    Query,
    StorageBackend,
    Write,
    customer_domain,
    customer_name_key,
    last_expiry,
    partner_name_key,
)
from partnerkit.storage._leads import _Leads
from partnerkit.storage._relationship import _BusinessPlans, _Certifications, _CheckIns
from partnerkit.storage._repositories import (
    _Activities,
    _chunks,
    _Deals,
    _load,
    _Memberships,
    _model_exists,
    _Models,
    _no_member,
    _Partners,
    _Programs,
    _retired_already,
    _Scores,
    _Stage,
    _TierHistory,
    judged,
    search_key,
)

__all__ = [
    "ACTIVITIES",
    "CLAIMS",
    "DEALS",
    "DEAL_CHANGES",
    "EVENTS",
    "EVENT_LEASES",
    "FUND_BUDGETS",
    "FUND_CLAIMS",
    "FUND_REQUESTS",
    "INCENTIVE_PLANS",
    "MAX_KEYS",
    "MEMBERSHIPS",
    "MODELS",
    "PARTNERS",
    "PROGRAMS",
    "SCORES",
    "STATEMENTS",
    "TIER_HISTORY",
    "Changes",
    "Claim",
    "Commit",
    "CommittedReads",
    "Condition",
    "DealChange",
    "EventLease",
    "Key",
    "Kind",
    "Query",
    "StagedStorage",
    "StorageBackend",
    "Write",
    "customer_domain",
    "customer_name_key",
    "last_expiry",
    "partner_name_key",
    "search_key",
]


class _StagedUnitOfWork:
    """A unit of work of a `StagedStorage`; see `partnerkit.storage.UnitOfWork`."""

    def __init__(self, storage: StagedStorage) -> None:
        self._storage = storage
        self._stages: dict[str, _Stage[Any]] = {kind.name: _Stage(kind) for kind in _WRITE_ORDER}
        # Staged registrations: the customer keys each holds once committed.
        self._claims: dict[str, tuple[str, ...]] = {}
        self._published: list[Event] = []
        self._events: tuple[EventRecord, ...] = ()
        # Checks run first inside the commit's lock or transaction (`_Deals.guard`).
        self._guards: list[Callable[[CommittedReads], None]] = []
        # Typed as the protocols: their attributes are settable, hence invariant, so
        # the concrete types would keep adapters from type-checking as a Storage.
        self.partners: PartnerRepository = _Partners(self)
        self.activities: ActivityLedger = _Activities(self)
        self.scores: ScoreRepository = _Scores(self)
        self.programs: ProgramRepository = _Programs(self)
        self.memberships: MembershipRepository = _Memberships(self)
        self.tier_history: TierHistoryRepository = _TierHistory(self)
        self.deals: DealRepository = _Deals(self)
        self.models: ScoringModelRepository = _Models(self)
        self.plans: BusinessPlanRepository = _BusinessPlans(self)
        self.check_ins: CheckInRepository = _CheckIns(self)
        self.certifications: CertificationRepository = _Certifications(self)
        self.fund_budgets: FundBudgetRepository = _FundBudgets(self)
        self.fund_requests: FundRequestRepository = _FundRequests(self)
        self.fund_claims: FundClaimRepository = _FundClaims(self)
        self.statements: StatementRepository = _Statements(self)
        self.incentive_plans: IncentivePlanRepository = _IncentivePlans(self)
        self.leads: LeadRepository = _Leads(self)

    def __enter__(self) -> _StagedUnitOfWork:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.rollback()

    def commit(self) -> None:
        """Write everything staged at once, or nothing; see `UnitOfWork.commit`."""
        if not (self._published or any(stage.records for stage in self._stages.values())):
            self._storage._check_open()
            self._events = ()
            return
        commit = Commit("committing a unit of work", self._check)
        try:
            self._storage._backend.write(commit)
        except StorageError:
            raise  # nothing was written, and retrying may work: keep the staged work
        except BaseException:
            self.rollback()
            raise
        # The check writes the outbox records last.
        written = commit.changes.writes if commit.changes is not None else ()
        self._events = tuple(w.record for w in written[len(written) - len(self._published) :])
        self.rollback()

    def rollback(self) -> None:
        """Discard everything staged and published since the last commit."""
        for stage in self._stages.values():
            stage.clear()
        self._claims.clear()
        self._published.clear()
        self._guards.clear()

    def publish(self, *events: Event) -> None:
        """Queue events for the outbox; they are recorded only if the work commits."""
        for event in events:
            if not isinstance(event, Event):
                raise ValidationError.single(
                    "events", f"expected partnerkit Event objects, got {type(event).__name__}"
                )
        self._published.extend(events)

    @property
    def events(self) -> tuple[EventRecord, ...]:
        """The events the last commit recorded."""
        return self._events

    # -- the check, run by the backend inside its lock or transaction -----------

    def _check(self, reads: CommittedReads) -> Changes:
        for guard in self._guards:
            guard(reads)
        writes: list[Write[Any]] = []
        for kind in _WRITE_ORDER:
            if kind.versioned:
                writes += self._check_versions(reads, kind)
            elif kind is TIER_HISTORY:
                writes += self._check_history(reads)
            elif kind is MODELS:
                writes += self._check_models(reads)
            elif kind is INCENTIVE_PLANS:
                writes += check_incentive_plans(reads, self._stages[kind.name].records)
            else:
                writes += self._check_appends(reads, kind)
        self._check_members(reads, writes)
        claims, released = self._check_claims(reads)
        numbered = _number_deal_changes(reads, writes)
        now = self._storage._clock.now()
        ids = self._storage._ids
        records = [EventRecord(ids("evt"), event, now) for event in self._published]
        events = [Write(EVENTS, record.id, record, 0) for record in records]
        return Changes((*writes, *claims, *numbered, *events), released)

    def _check_versions(self, reads: CommittedReads, kind: Kind[Any]) -> list[Write[Any]]:
        stage = self._stages[kind.name]
        stored: dict[Key, int] = {}
        for chunk in _chunks(list(stage.based_on)):
            stored.update(reads.versions(kind, chunk))
        writes = []
        for key, based_on in stage.based_on.items():
            actual = stored.get(key)
            if based_on == 0 and actual is not None:
                raise _EXISTS[kind.name](key)
            if based_on and actual != based_on:
                raise StaleVersionError(kind.label, kind.text(key), based_on, actual)
            writes.append(Write(kind, key, stage.records[key], based_on))
        return writes

    def _check_members(self, reads: CommittedReads, writes: list[Write[Any]]) -> None:
        """New memberships need their partner, stored or written in this commit."""
        new = {w.record.partner_id for w in writes if w.kind is MEMBERSHIPS and w.expected == 0}
        new -= set(self._stages["partners"].records)
        if not new:
            return
        stored: dict[Key, int] = {}
        for chunk in _chunks(sorted(new)):
            stored.update(reads.versions(PARTNERS, chunk))
        missing = sorted(new - set(stored))
        if missing:
            raise _no_member(missing[0])

    def _check_models(self, reads: CommittedReads) -> list[Write[Any]]:
        """New versions are inserted; a stored version may only become retired, once."""

        def retiring(key: Key, known: StoredModel, model: StoredModel) -> Write[StoredModel]:
            if not model.retired or known.model != model.model:
                raise _model_exists(key)
            if known.retired:
                raise _retired_already(key)
            return Write(MODELS, key, model, None)

        # A version added in this unit of work (and maybe retired in it too) is new.
        return judged(reads, MODELS, self._stages["models"].records, retiring)

    def _check_appends(self, reads: CommittedReads, kind: Kind[Any]) -> list[Write[Any]]:
        """Activities and scores: new ones are written, identical ones skipped."""

        def same(key: Key, known: Any, record: Any) -> None:
            if known != record:
                raise activity_conflict(key) if kind is ACTIVITIES else score_conflict(record)

        return judged(reads, kind, self._stages[kind.name].records, same)

    def _check_history(self, reads: CommittedReads) -> list[Write[Any]]:
        def closing(
            key: Key, known: TierAssignment, assignment: TierAssignment
        ) -> Write[TierAssignment] | None:
            if closes(known, assignment):
                return Write(TIER_HISTORY, key, assignment, None)
            if known != assignment:
                raise assignment_conflict(assignment)
            return None

        return judged(reads, TIER_HISTORY, self._stages["tier_history"].records, closing)

    def _check_claims(
        self, reads: CommittedReads
    ) -> tuple[list[Write[Claim]], tuple[tuple[Kind[Claim], Key], ...]]:
        """Judge the claims on the commit's final state; what to write and release.

        Every registration saved in this commit holds exactly the keys it wants
        now; any other holds what it holds. Two of them wanting one key, or one
        wanting a key another (unsaved) registration holds, refuse the commit.
        """
        staged = self._claims
        if not staged:
            return [], ()
        wanted: dict[str, str] = {}
        for deal_id, keys in staged.items():
            for key in keys:
                other = wanted.setdefault(key, deal_id)
                if other != deal_id:
                    raise claim_conflict(deal_id, (key,), other)
        holders = _load(reads, CLAIMS, list(wanted))
        for deal_id, keys in staged.items():
            lost = [key for key in keys if _held_elsewhere(holders.get(key), deal_id, staged)]
            if lost:
                holder = holders[lost[0]].deal_id
                taken = [key for key in lost if holders[key].deal_id == holder]
                raise claim_conflict(deal_id, taken, holder)
        held: list[Claim] = []
        for chunk in _chunks(list(staged)):
            where = (Condition("deal_id", "in", frozenset(chunk)),)
            held += reads.find(Query(CLAIMS, where, purpose="reading deal claims"))
        writes = [
            Write(CLAIMS, key, Claim(key, deal_id), 0 if holders.get(key) is None else None)
            for key, deal_id in wanted.items()
            if holders.get(key) != Claim(key, deal_id)
        ]
        released = tuple((CLAIMS, claim.key) for claim in held if claim.key not in wanted)
        return writes, released


def _number_deal_changes(reads: CommittedReads, writes: Sequence[Write[Any]]) -> list[Write[Any]]:
    """Number each registration written with the next values of the store's deal sequence.

    Read inside the commit's lock or transaction, so two commits never take one number.
    """
    deal_ids = [write.key for write in writes if write.kind is DEALS]
    if not deal_ids:
        return []
    latest = reads.find(_LATEST_CHANGE)
    start = latest[0].seq if latest else 0
    return [
        Write(DEAL_CHANGES, deal_id, DealChange(deal_id, start + number), None)
        for number, deal_id in enumerate(deal_ids, 1)
    ]


#: How long `StagedStorage.claim_events` leases events unless told.
DEFAULT_LEASE: Final = timedelta(minutes=5)


def _held_elsewhere(claim: Claim | None, deal_id: str, staged: Mapping[str, object]) -> bool:
    return claim is not None and claim.deal_id != deal_id and claim.deal_id not in staged


class StagedStorage:
    """A complete `partnerkit.storage.Storage` on any `StorageBackend`.

    Units of work stage their writes here; the backend reads committed state and
    writes checked commits atomically. This is how every shipped adapter is
    built: ``MemoryStorage`` and ``SqliteStorage`` are a `StagedStorage` each.

    Example::

        storage = StagedStorage(MyBackend(...))
        with storage.unit_of_work() as uow:
            uow.partners.add(partner)
            uow.commit()

    Args:
        backend: The adapter's committed reads and atomic write.
        clock: Stamps outbox records (the system clock by default).
        ids: Mints outbox ids (a fresh `IdGenerator` on ``clock`` by default).
    """

    def __init__(
        self,
        backend: StorageBackend,
        *,
        clock: Clock | None = None,
        ids: IdGenerator | None = None,
    ) -> None:
        self._backend = backend
        self._clock = clock or SystemClock()
        self._ids = ids or IdGenerator(self._clock)
        self._closed = False

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._backend!r})"

    def unit_of_work(self) -> UnitOfWork:
        """A new unit of work on this store."""
        self._check_open()
        return _StagedUnitOfWork(self)

    def pending_events(self, *, limit: int = 100) -> list[EventRecord]:
        """Committed events not yet marked delivered, oldest first.

        Raises:
            ValidationError: For a ``limit`` outside 1..10000.
        """
        size = check_limit(limit, 10_000)
        self._check_open()
        return self._backend.find(Query(EVENTS, limit=size, purpose="reading the outbox"))

    def claim_events(
        self, owner: str, *, limit: int = 100, lease: timedelta = DEFAULT_LEASE
    ) -> list[EventRecord]:
        """Lease up to ``limit`` pending events to ``owner``, oldest first, and return them.

        An event is leased to one owner at a time: events another owner holds
        until after now are skipped; those ``owner`` already holds, or whose
        lease has lapsed (a deliverer that stopped), are leased again. Leases
        end with `mark_delivered`. The lease is taken in one atomic write, so
        deliverers in several processes never hold one event at once.

        Args:
            owner: Who takes the lease (unique per deliverer).
            limit: At most this many events (1..10000).
            lease: How long the events are held for ``owner``.

        Raises:
            ValidationError: For a ``limit`` outside 1..10000, an empty owner or a
                lease that is not positive.
        """
        size = check_limit(limit, 10_000)
        if not owner:
            raise ValidationError.single("owner", "name who takes the lease, e.g. 'host-1:4711'")
        if lease <= timedelta(0):
            raise ValidationError.single("lease", f"must be positive, got {lease}")
        self._check_open()
        if not self._backend.find(Query(EVENTS, limit=1, purpose="reading the outbox")):
            return []  # nothing pending: no need for the write lock
        claimed: list[EventRecord] = []

        def check(reads: CommittedReads) -> Changes:
            claimed.clear()
            now = self._clock.now()
            held = {
                lease.event_id
                for lease in reads.find(
                    Query(
                        EVENT_LEASES,
                        (Condition("leased_until", ">", now),),
                        purpose="reading event leases",
                    )
                )
                if lease.owner != owner
            }
            # At most len(held) of the oldest size + len(held) events are held by others.
            oldest = reads.find(
                Query(EVENTS, limit=min(size + len(held), 10_000), purpose="reading the outbox")
            )
            claimed.extend([record for record in oldest if record.id not in held][:size])
            until = now + lease
            return Changes(
                tuple(
                    Write(EVENT_LEASES, record.id, EventLease(record.id, owner, until), None)
                    for record in claimed
                ),
                (),
            )

        self._backend.write(Commit("leasing outbox events", check))
        return list(claimed)

    def mark_delivered(self, event_ids: Iterable[str]) -> None:
        """Drop delivered events, and their leases, from the outbox; unknown ids are ignored."""
        self._check_open()
        done = tuple(
            (kind, event_id)
            for event_id in dict.fromkeys(event_ids)
            for kind in (EVENTS, EVENT_LEASES)
        )
        if done:
            self._backend.write(Commit("marking events delivered", lambda _: Changes((), done)))

    def close(self) -> None:
        """Release the backend; using the store afterwards raises `StorageError`."""
        self._closed = True
        self._backend.close()

    def _check_open(self) -> None:
        if self._closed:
            raise StorageError(f"{self!r} is closed; open a new one")
