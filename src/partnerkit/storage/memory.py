"""In-memory storage: thread-safe, the default, and what tests use.

Everything lives in Python dicts guarded by one lock. Units of work stage their
writes privately and apply them all at once when they commit, after checking every
version and id, so a failed commit leaves the store exactly as it was.
"""

from __future__ import annotations

import bisect
import threading
from operator import attrgetter
from typing import TYPE_CHECKING, Final

import attrs

from partnerkit._base.events import Event, EventRecord
from partnerkit._base.ids import IdGenerator
from partnerkit._base.time import Clock, SystemClock, to_utc
from partnerkit.deals._model import ACTIVE_STATUSES, DealRegistration, DealStatus
from partnerkit.errors import (
    AlreadyExistsError,
    ConflictError,
    NotFoundError,
    StaleVersionError,
    StorageError,
    ValidationError,
)
from partnerkit.health import HealthScore
from partnerkit.ledger import Activity
from partnerkit.partners import Partner, PartnerStatus
from partnerkit.storage._common import (
    DEAL,
    activity_matches,
    assignment_conflict,
    check_assignment,
    check_deal,
    check_limit,
    check_membership,
    check_model_name,
    check_program,
    check_version,
    claim_conflict,
    claimed_keys,
    closes,
    deal_conflict,
    decode_cursor,
    encode_cursor,
    kind_filter,
    membership_conflict,
    membership_key,
    program_conflict,
    score_conflict,
    time_filter,
)
from partnerkit.storage._protocols import AppendResult, Page, StoredProgram

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from datetime import datetime
    from types import TracebackType

    from partnerkit.storage._protocols import (
        ActivityLedger,
        DealRepository,
        MembershipRepository,
        PartnerRepository,
        ProgramRepository,
        ScoreRepository,
        TierHistoryRepository,
    )
    from partnerkit.tiers import Membership, MembershipStatus, Program, TierAssignment

__all__ = ["MemoryStorage"]

_MAX_PARTNER_PAGE = 1000
_MAX_ACTIVITY_PAGE = 10_000
_MAX_SCORE_PAGE = 1000
_MAX_PROGRAM_PAGE = 1000
_MAX_MEMBERSHIP_PAGE = 10_000
_MAX_DEAL_PAGE = 1000

#: A score's natural key: partner id, model name, as_of (in UTC).
_ScoreKey = tuple[str, str, "datetime"]
#: Staged scores: (partner id, model name) -> as_of -> score, so that a unit of work
#: that reads and adds the scores of many partners finds each one's directly.
_StagedScores = dict[tuple[str, str], dict["datetime", HealthScore]]
_AS_OF: Final = attrgetter("as_of")
#: A membership's key: program id, partner id.
_MemberKey = tuple[str, str]
#: A tier assignment's key: program id, partner id, valid_from (in UTC).
_AssignmentKey = tuple[str, str, "datetime"]
#: A staged registration: the version the write was based on (0 for new), the
#: registration to store, and the customer keys it will hold (computed when staged,
#: so that the commit lock is not held while names are normalised).
_StagedDeal = tuple[int, DealRegistration, tuple[str, ...]]


def _bump(partner: Partner, version: int) -> Partner:
    return attrs.evolve(partner, version=version)


class MemoryStorage:
    """A thread-safe, in-process partnerkit store.

    Args:
        clock: Stamps outbox records (the system clock by default).
        ids: Mints outbox ids (a fresh `IdGenerator` on ``clock`` by default).
    """

    def __init__(self, *, clock: Clock | None = None, ids: IdGenerator | None = None) -> None:
        self._clock = clock or SystemClock()
        self._ids = ids or IdGenerator(self._clock)
        self._lock = threading.RLock()
        self._partners: dict[str, Partner] = {}
        self._partner_ids: list[str] = []  # sorted, for keyset paging
        self._activities: dict[str, Activity] = {}
        self._activity_ids: list[str] = []  # sorted
        self._by_partner: dict[str, list[Activity]] = {}
        self._scores: dict[_ScoreKey, HealthScore] = {}
        # (partner id, model) -> its scores by as_of; model -> its partners' ids, sorted
        self._score_history: dict[tuple[str, str], list[HealthScore]] = {}
        self._scored_partners: dict[str, list[str]] = {}
        self._programs: dict[str, StoredProgram] = {}
        self._program_ids: list[str] = []  # sorted
        self._memberships: dict[_MemberKey, Membership] = {}
        # program id -> its members' partner ids, sorted; partner id -> its program ids
        self._members: dict[str, list[str]] = {}
        self._member_of: dict[str, set[str]] = {}
        # (program id, partner id) -> valid_from -> assignment
        self._tier_history: dict[_MemberKey, dict[datetime, TierAssignment]] = {}
        self._deals: dict[str, DealRegistration] = {}
        self._deal_ids: list[str] = []  # sorted
        # The claims on customers: key -> the approved registration holding it, and
        # registration id -> the keys it holds (every approved registration, only).
        self._claims: dict[str, str] = {}
        self._claimed: dict[str, tuple[str, ...]] = {}
        self._outbox: dict[str, EventRecord] = {}  # insertion order is recording order
        self._closed = False

    def unit_of_work(self) -> MemoryUnitOfWork:
        """A new unit of work on this store."""
        self._check_open()
        return MemoryUnitOfWork(self)

    def pending_events(self, *, limit: int = 100) -> list[EventRecord]:
        """Committed events not yet marked delivered, oldest first."""
        check_limit(limit, 10_000)
        with self._lock:
            self._check_open()
            return [record for _, record in zip(range(limit), self._outbox.values(), strict=False)]

    def mark_delivered(self, event_ids: Iterable[str]) -> None:
        """Drop delivered events from the outbox; unknown ids are ignored."""
        with self._lock:
            self._check_open()
            for event_id in event_ids:
                self._outbox.pop(event_id, None)

    def close(self) -> None:
        """Forget everything; using the store afterwards raises `StorageError`."""
        with self._lock:
            self._closed = True
            self._partners.clear()
            self._activities.clear()
            self._by_partner.clear()
            self._scores.clear()
            self._score_history.clear()
            self._scored_partners.clear()
            self._programs.clear()
            self._program_ids.clear()
            self._memberships.clear()
            self._members.clear()
            self._member_of.clear()
            self._tier_history.clear()
            self._deals.clear()
            self._deal_ids.clear()
            self._claims.clear()
            self._claimed.clear()
            self._outbox.clear()

    def _check_open(self) -> None:
        if self._closed:
            raise StorageError("this MemoryStorage is closed; create a new one")

    def _apply(self, work: MemoryUnitOfWork) -> tuple[EventRecord, ...]:
        """Check every staged change against the committed state, then apply all."""
        with self._lock:
            self._check_open()
            for partner_id, (expected, _) in work.staged_partners.items():
                stored = self._partners.get(partner_id)
                if expected == 0 and stored is not None:
                    raise AlreadyExistsError(
                        "partner", partner_id, f"a partner with id {partner_id!r} already exists"
                    )
                if expected and (stored is None or stored.version != expected):
                    actual = None if stored is None else stored.version
                    raise StaleVersionError("partner", partner_id, expected, actual)
            fresh: list[Activity] = []
            for activity in work.staged_activities.values():
                stored_activity = self._activities.get(activity.id)
                if stored_activity is None:
                    fresh.append(activity)
                elif stored_activity != activity:
                    raise _activity_conflict(activity.id)
            fresh_scores: list[tuple[_ScoreKey, HealthScore]] = []
            for (partner_id, model), series in work.staged_scores.items():
                for at, score in series.items():
                    key = (partner_id, model, at)
                    stored_score = self._scores.get(key)
                    if stored_score is None:
                        fresh_scores.append((key, score))
                    elif stored_score != score:
                        raise score_conflict(score)
            self._check_tiers(work)
            self._check_deals(work)
            self._check_claims(work)
            for partner_id, (expected, partner) in work.staged_partners.items():
                if expected == 0:
                    bisect.insort(self._partner_ids, partner_id)
                self._partners[partner_id] = partner
            for activity in fresh:
                self._activities[activity.id] = activity
                self._by_partner.setdefault(activity.partner_id, []).append(activity)
            if fresh:
                if len(fresh) > 64:
                    self._activity_ids.extend(a.id for a in fresh)
                    self._activity_ids.sort()
                else:
                    for activity in fresh:
                        bisect.insort(self._activity_ids, activity.id)
            for key, score in fresh_scores:
                self._scores[key] = score
                history = self._score_history.get(key[:2])
                if history is None:
                    self._score_history[key[:2]] = [score]
                    bisect.insort(
                        self._scored_partners.setdefault(score.model, []), score.partner_id
                    )
                else:
                    bisect.insort(history, score, key=_AS_OF)
            self._apply_tiers(work)
            self._apply_deals(work)
            now = self._clock.now()
            records = tuple(
                EventRecord(self._ids("evt"), event, now) for event in work.staged_events
            )
            for record in records:
                self._outbox[record.id] = record
            return records

    def _check_tiers(self, work: MemoryUnitOfWork) -> None:
        """Check staged programs, memberships and tier history against the store."""
        for program_id, (expected, _) in work.staged_programs.items():
            stored_program = self._programs.get(program_id)
            if expected == 0 and stored_program is not None:
                raise program_conflict(program_id)
            if expected and (stored_program is None or stored_program.version != expected):
                actual = None if stored_program is None else stored_program.version
                raise StaleVersionError("program", program_id, expected, actual)
        for key, (expected, _) in work.staged_memberships.items():
            stored_membership = self._memberships.get(key)
            if expected == 0 and stored_membership is not None:
                raise membership_conflict(*key)
            if expected and (stored_membership is None or stored_membership.version != expected):
                actual = None if stored_membership is None else stored_membership.version
                raise StaleVersionError("membership", membership_key(*key), expected, actual)
        for (program_id, partner_id, at), assignment in work.staged_assignments.items():
            stored = self._tier_history.get((program_id, partner_id), {}).get(at)
            if stored is not None and stored != assignment and not closes(stored, assignment):
                raise assignment_conflict(assignment)

    def _apply_tiers(self, work: MemoryUnitOfWork) -> None:
        """Apply staged programs, memberships and tier history (already checked)."""
        for program_id, (expected, stored_program) in work.staged_programs.items():
            if expected == 0:
                bisect.insort(self._program_ids, program_id)
            self._programs[program_id] = stored_program
        for key, (expected, membership) in work.staged_memberships.items():
            if expected == 0:
                program_id, partner_id = key
                bisect.insort(self._members.setdefault(program_id, []), partner_id)
                self._member_of.setdefault(partner_id, set()).add(program_id)
            self._memberships[key] = membership
        for (program_id, partner_id, at), assignment in work.staged_assignments.items():
            self._tier_history.setdefault((program_id, partner_id), {})[at] = assignment

    def _check_deals(self, work: MemoryUnitOfWork) -> None:
        """Check staged registrations' ids and versions against the store."""
        for deal_id, (expected, _, _) in work.staged_deals.items():
            stored = self._deals.get(deal_id)
            if expected == 0 and stored is not None:
                raise deal_conflict(deal_id)
            if expected and (stored is None or stored.version != expected):
                actual = None if stored is None else stored.version
                raise StaleVersionError(DEAL, deal_id, expected, actual)

    def _check_claims(self, work: MemoryUnitOfWork) -> None:
        """Refuse the commit if an approved registration needs a key held by another.

        Runs under the lock with the versions already checked, so nothing can claim
        a key between this check and `_apply_deals`.
        """
        staged = work.staged_deals
        wanted: dict[str, str] = {}
        for deal_id, (_, _, keys) in staged.items():
            for key in keys:
                other = wanted.setdefault(key, deal_id)
                if other != deal_id:
                    raise claim_conflict(deal_id, key, other)
        for key, deal_id in wanted.items():
            holder = self._claims.get(key)
            # A holder saved in this unit of work keeps only the keys it wants now.
            if holder is not None and holder != deal_id and holder not in staged:
                raise claim_conflict(deal_id, key, holder)

    def _apply_deals(self, work: MemoryUnitOfWork) -> None:
        """Store staged registrations, release their old claims and take the new ones."""
        staged = work.staged_deals
        for deal_id, (expected, registration, _) in staged.items():
            if expected == 0:
                bisect.insort(self._deal_ids, deal_id)
            self._deals[deal_id] = registration
            for key in self._claimed.pop(deal_id, ()):
                if self._claims.get(key) == deal_id:
                    del self._claims[key]
        for deal_id, (_, _, keys) in staged.items():
            if keys:
                self._claimed[deal_id] = keys
                for key in keys:
                    self._claims[key] = deal_id


def _activity_conflict(activity_id: str) -> ConflictError:
    return ConflictError(
        "activity",
        activity_id,
        f"activity {activity_id!r} is already in the ledger with different content; "
        f"activities never change: record a correcting activity with a new id",
    )


class MemoryUnitOfWork:
    """A unit of work on a `MemoryStorage`; see `partnerkit.storage.UnitOfWork`."""

    def __init__(self, storage: MemoryStorage) -> None:
        self._storage = storage
        # partner id -> (version the write was based on, 0 for new; partner to store)
        self.staged_partners: dict[str, tuple[int, Partner]] = {}
        self.staged_activities: dict[str, Activity] = {}
        self.staged_scores: _StagedScores = {}
        # program id -> (version the write was based on, 0 for new; program as stored)
        self.staged_programs: dict[str, tuple[int, StoredProgram]] = {}
        # (program id, partner id) -> (version based on, 0 for new; membership to store)
        self.staged_memberships: dict[_MemberKey, tuple[int, Membership]] = {}
        self.staged_assignments: dict[_AssignmentKey, TierAssignment] = {}
        # deal id -> (version based on, 0 for new; registration; keys it will hold)
        self.staged_deals: dict[str, _StagedDeal] = {}
        self.staged_events: list[Event] = []
        self._events: tuple[EventRecord, ...] = ()
        # Typed as the protocols: their attributes are settable, hence invariant, so
        # the concrete types would stop MemoryStorage type-checking as a Storage.
        self.partners: PartnerRepository = _Partners(self)
        self.activities: ActivityLedger = _Activities(self)
        self.scores: ScoreRepository = _Scores(self)
        self.programs: ProgramRepository = _Programs(self)
        self.memberships: MembershipRepository = _Memberships(self)
        self.tier_history: TierHistoryRepository = _TierHistory(self)
        self.deals: DealRepository = _Deals(self)

    def __enter__(self) -> MemoryUnitOfWork:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.rollback()

    def commit(self) -> None:
        """Apply everything staged at once, or raise and apply nothing."""
        try:
            self._events = self._storage._apply(self)
        except BaseException:
            self.rollback()
            raise
        self._clear()

    def rollback(self) -> None:
        """Discard everything staged."""
        self._clear()

    def publish(self, *events: Event) -> None:
        """Queue events for the outbox; they are recorded only if the work commits."""
        for event in events:
            if not isinstance(event, Event):
                raise ValidationError.single(
                    "events", f"expected partnerkit Event objects, got {type(event).__name__}"
                )
        self.staged_events.extend(events)

    @property
    def events(self) -> tuple[EventRecord, ...]:
        """The events the last commit recorded."""
        return self._events

    def _clear(self) -> None:
        self.staged_partners = {}
        self.staged_activities = {}
        self.staged_scores = {}
        self.staged_programs = {}
        self.staged_memberships = {}
        self.staged_assignments = {}
        self.staged_deals = {}
        self.staged_events = []


class _Partners:
    def __init__(self, work: MemoryUnitOfWork) -> None:
        self._work = work
        self._store = work._storage

    def _current(self, partner_id: str) -> Partner | None:
        staged = self._work.staged_partners.get(partner_id)
        if staged is not None:
            return staged[1]
        with self._store._lock:
            self._store._check_open()
            return self._store._partners.get(partner_id)

    def get(self, partner_id: str) -> Partner:
        found = self._current(partner_id)
        if found is None:
            raise NotFoundError("partner", partner_id)
        return found

    def add(self, partner: Partner) -> Partner:
        if not isinstance(partner, Partner):
            raise ValidationError.single("partner", "expected a Partner")
        if partner.version != 0:
            raise ValidationError.single(
                "version", "add() takes a new partner (version 0); use update() to change one"
            )
        if self._current(partner.id) is not None:
            raise AlreadyExistsError(
                "partner", partner.id, f"a partner with id {partner.id!r} already exists"
            )
        stored = _bump(partner, 1)
        self._work.staged_partners[partner.id] = (0, stored)
        return stored

    def update(self, partner: Partner) -> Partner:
        if not isinstance(partner, Partner):
            raise ValidationError.single("partner", "expected a Partner")
        current = self._current(partner.id)
        if current is None or current.version != partner.version:
            actual = None if current is None else current.version
            raise StaleVersionError("partner", partner.id, partner.version, actual)
        stored = _bump(partner, partner.version + 1)
        based_on = self._work.staged_partners.get(partner.id, (partner.version, partner))[0]
        self._work.staged_partners[partner.id] = (based_on, stored)
        return stored

    def query(
        self,
        *,
        status: PartnerStatus | None = None,
        type: str | None = None,  # noqa: A002 - the domain word
        owner_id: str | None = None,
        parent_id: str | None = None,
        country: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[Partner]:
        size = check_limit(limit, _MAX_PARTNER_PAGE)
        after = decode_cursor("partners", cursor)
        wanted = {
            "status": status,
            "type": type,
            "owner_id": owner_id,
            "parent_id": parent_id,
            "country": country,
        }
        filters = [(name, value) for name, value in wanted.items() if value is not None]
        with self._store._lock:
            self._store._check_open()
            committed = self._store._partners
            ids = self._store._partner_ids
            staged = self._work.staged_partners
            keys = ids if not staged else sorted(set(ids) | set(staged))
            start = 0 if after is None else bisect.bisect_right(keys, after)
            found: list[Partner] = []
            for partner_id in keys[start:]:
                partner = staged[partner_id][1] if partner_id in staged else committed[partner_id]
                if all(getattr(partner, name) == value for name, value in filters):
                    found.append(partner)
                    if len(found) > size:
                        break
        more = len(found) > size
        items = tuple(found[:size])
        return Page(items, encode_cursor("partners", items[-1].id) if more else None)


class _Activities:
    def __init__(self, work: MemoryUnitOfWork) -> None:
        self._work = work
        self._store = work._storage

    def append(self, activities: Iterable[Activity]) -> AppendResult:
        batch: dict[str, Activity] = {}
        duplicates = 0
        with self._store._lock:
            self._store._check_open()
            committed = self._store._activities
            staged = self._work.staged_activities
            for activity in activities:
                if not isinstance(activity, Activity):
                    raise ValidationError.single(
                        "activities", f"expected Activity objects, got {type(activity).__name__}"
                    )
                known = (
                    batch.get(activity.id) or staged.get(activity.id) or committed.get(activity.id)
                )
                if known is None:
                    batch[activity.id] = activity
                elif known == activity:
                    duplicates += 1
                else:
                    raise _activity_conflict(activity.id)
        staged.update(batch)
        return AppendResult(added=len(batch), duplicates=duplicates)

    def get(self, activity_id: str) -> Activity:
        found = self._work.staged_activities.get(activity_id)
        if found is None:
            with self._store._lock:
                self._store._check_open()
                found = self._store._activities.get(activity_id)
        if found is None:
            raise NotFoundError("activity", activity_id)
        return found

    def for_partner(
        self,
        partner_id: str,
        *,
        kinds: Iterable[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Activity]:
        wanted = kind_filter(kinds)
        low, high = time_filter(since, until)
        with self._store._lock:
            self._store._check_open()
            committed = list(self._store._by_partner.get(partner_id, ()))
        # An activity this unit staged may have been committed by another meanwhile;
        # list it once, as the commit will.
        seen = {activity.id for activity in committed}
        staged = [
            a
            for a in self._work.staged_activities.values()
            if a.partner_id == partner_id and a.id not in seen
        ]
        found = [a for a in committed + staged if activity_matches(a, wanted, low, high)]
        found.sort(key=lambda activity: (activity.occurred_at, activity.id))
        return found

    def query(
        self,
        *,
        partner_id: str | None = None,
        kinds: Iterable[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 1000,
        cursor: str | None = None,
    ) -> Page[Activity]:
        size = check_limit(limit, _MAX_ACTIVITY_PAGE)
        after = decode_cursor("activities", cursor)
        wanted = kind_filter(kinds)
        low, high = time_filter(since, until)
        with self._store._lock:
            self._store._check_open()
            committed = self._store._activities
            ids = self._store._activity_ids
            staged = self._work.staged_activities
            keys = ids if not staged else sorted(set(ids) | set(staged))
            start = 0 if after is None else bisect.bisect_right(keys, after)
            found: list[Activity] = []
            for activity_id in keys[start:]:
                activity = staged.get(activity_id) or committed[activity_id]
                if (partner_id is None or activity.partner_id == partner_id) and activity_matches(
                    activity, wanted, low, high
                ):
                    found.append(activity)
                    if len(found) > size:
                        break
        more = len(found) > size
        items = tuple(found[:size])
        return Page(items, encode_cursor("activities", items[-1].id) if more else None)


class _Scores:
    def __init__(self, work: MemoryUnitOfWork) -> None:
        self._work = work
        self._store = work._storage

    def add(self, score: HealthScore) -> None:
        if not isinstance(score, HealthScore):
            raise ValidationError.single(
                "score", f"expected a HealthScore, got {type(score).__name__}"
            )
        pair = (score.partner_id, score.model)
        series = self._work.staged_scores.get(pair, {})
        known = series.get(score.as_of)
        if known is None:
            with self._store._lock:
                self._store._check_open()
                known = self._store._scores.get((*pair, score.as_of))
        if known is None:
            self._work.staged_scores.setdefault(pair, {})[score.as_of] = score
        elif known != score:
            raise score_conflict(score)

    def _staged(self, partner_id: str, model: str) -> Iterable[HealthScore]:
        series = self._work.staged_scores.get((partner_id, model))
        return () if series is None else series.values()

    def latest(
        self, partner_id: str, *, model: str, before: datetime | None = None
    ) -> HealthScore | None:
        name = check_model_name(model)
        limit = None if before is None else to_utc(before, "before")
        with self._store._lock:
            self._store._check_open()
            history = self._store._score_history.get((partner_id, name), [])
            end = len(history) if limit is None else bisect.bisect_right(history, limit, key=_AS_OF)
            found = history[end - 1] if end else None
        for score in self._staged(partner_id, name):
            # A staged score wins a tie: it is the same key, committed meanwhile.
            if (limit is None or score.as_of <= limit) and (
                found is None or score.as_of >= found.as_of
            ):
                found = score
        return found

    def history(
        self,
        partner_id: str,
        *,
        model: str,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[HealthScore]:
        name = check_model_name(model)
        low, high = time_filter(since, until)
        with self._store._lock:
            self._store._check_open()
            history = self._store._score_history.get((partner_id, name), [])
            start = 0 if low is None else bisect.bisect_left(history, low, key=_AS_OF)
            end = len(history) if high is None else bisect.bisect_right(history, high, key=_AS_OF)
            found = {score.as_of: score for score in history[start:end]}
        for score in self._staged(partner_id, name):
            if (low is None or score.as_of >= low) and (high is None or score.as_of <= high):
                found[score.as_of] = score
        return [found[at] for at in sorted(found)]

    def query(
        self,
        *,
        model: str,
        as_of: datetime | None = None,
        band: str | None = None,
        limit: int = 1000,
        cursor: str | None = None,
    ) -> Page[HealthScore]:
        size = check_limit(limit, _MAX_SCORE_PAGE)
        after = decode_cursor("scores", cursor)
        name = check_model_name(model)
        at = None if as_of is None else to_utc(as_of, "as_of")
        # partner id -> the score this unit of work staged that the query would pick
        staged: dict[str, HealthScore] = {}
        for (partner_id, model_name), series in self._work.staged_scores.items():
            if model_name != name or not series or (after is not None and partner_id <= after):
                continue
            candidate = series[max(series)] if at is None else series.get(at)
            if candidate is not None:
                staged[partner_id] = candidate
        with self._store._lock:
            self._store._check_open()
            committed = self._store._scores
            histories = self._store._score_history
            ids = self._store._scored_partners.get(name, [])
            keys = ids if not staged else sorted(set(ids) | set(staged))
            start = 0 if after is None else bisect.bisect_right(keys, after)
            found: list[HealthScore] = []
            for partner_id in keys[start:]:
                mine = staged.get(partner_id)
                picked: HealthScore | None
                if at is not None:
                    picked = mine or committed.get((partner_id, name, at))
                else:
                    history = histories.get((partner_id, name))
                    last = history[-1] if history else None
                    newer = mine is not None and (last is None or mine.as_of >= last.as_of)
                    picked = mine if newer else last
                if picked is not None and (band is None or picked.band == band):
                    found.append(picked)
                    if len(found) > size:
                        break
        more = len(found) > size
        items = tuple(found[:size])
        return Page(items, encode_cursor("scores", items[-1].partner_id) if more else None)


class _Programs:
    def __init__(self, work: MemoryUnitOfWork) -> None:
        self._work = work
        self._store = work._storage

    def _current(self, program_id: str) -> StoredProgram | None:
        staged = self._work.staged_programs.get(program_id)
        if staged is not None:
            return staged[1]
        with self._store._lock:
            self._store._check_open()
            return self._store._programs.get(program_id)

    def get(self, program_id: str) -> StoredProgram:
        found = self._current(program_id)
        if found is None:
            raise NotFoundError("program", program_id)
        return found

    def add(self, program: Program) -> StoredProgram:
        check_program(program)
        if self._current(program.id) is not None:
            raise program_conflict(program.id)
        stored = StoredProgram(program, 1)
        self._work.staged_programs[program.id] = (0, stored)
        return stored

    def update(self, program: Program, *, version: int) -> StoredProgram:
        check_program(program)
        check_version(version)
        current = self._current(program.id)
        if current is None or current.version != version:
            actual = None if current is None else current.version
            raise StaleVersionError("program", program.id, version, actual)
        stored = StoredProgram(program, version + 1)
        based_on = self._work.staged_programs.get(program.id, (version, current))[0]
        self._work.staged_programs[program.id] = (based_on, stored)
        return stored

    def query(self, *, limit: int = 100, cursor: str | None = None) -> Page[StoredProgram]:
        size = check_limit(limit, _MAX_PROGRAM_PAGE)
        after = decode_cursor("programs", cursor)
        with self._store._lock:
            self._store._check_open()
            committed = self._store._programs
            staged = self._work.staged_programs
            ids = self._store._program_ids
            keys = ids if not staged else sorted(set(ids) | set(staged))
            start = 0 if after is None else bisect.bisect_right(keys, after)
            found = [
                staged[key][1] if key in staged else committed[key]
                for key in keys[start : start + size + 1]
            ]
        more = len(found) > size
        items = tuple(found[:size])
        return Page(items, encode_cursor("programs", items[-1].program.id) if more else None)


class _Memberships:
    def __init__(self, work: MemoryUnitOfWork) -> None:
        self._work = work
        self._store = work._storage

    def _current(self, key: _MemberKey) -> Membership | None:
        staged = self._work.staged_memberships.get(key)
        if staged is not None:
            return staged[1]
        with self._store._lock:
            self._store._check_open()
            return self._store._memberships.get(key)

    def get(self, program_id: str, partner_id: str) -> Membership:
        found = self._current((program_id, partner_id))
        if found is None:
            raise NotFoundError("membership", membership_key(program_id, partner_id))
        return found

    def add(self, membership: Membership) -> Membership:
        check_membership(membership, new=True)
        key = (membership.program_id, membership.partner_id)
        if self._current(key) is not None:
            raise membership_conflict(*key)
        stored = attrs.evolve(membership, version=1)
        self._work.staged_memberships[key] = (0, stored)
        return stored

    def update(self, membership: Membership) -> Membership:
        check_membership(membership)
        key = (membership.program_id, membership.partner_id)
        current = self._current(key)
        if current is None or current.version != membership.version:
            actual = None if current is None else current.version
            raise StaleVersionError("membership", membership_key(*key), membership.version, actual)
        stored = attrs.evolve(membership, version=membership.version + 1)
        based_on = self._work.staged_memberships.get(key, (membership.version, membership))[0]
        self._work.staged_memberships[key] = (based_on, stored)
        return stored

    def query(
        self,
        *,
        program_id: str,
        status: MembershipStatus | None = None,
        tier_id: str | None = None,
        limit: int = 1000,
        cursor: str | None = None,
    ) -> Page[Membership]:
        size = check_limit(limit, _MAX_MEMBERSHIP_PAGE)
        after = decode_cursor("memberships", cursor)
        staged = {
            partner_id: membership
            for (program, partner_id), (_, membership) in self._work.staged_memberships.items()
            if program == program_id
        }
        with self._store._lock:
            self._store._check_open()
            committed = self._store._memberships
            ids = self._store._members.get(program_id, [])
            keys = ids if not staged else sorted(set(ids) | set(staged))
            start = 0 if after is None else bisect.bisect_right(keys, after)
            found: list[Membership] = []
            for partner_id in keys[start:]:
                membership = staged.get(partner_id) or committed[(program_id, partner_id)]
                if (status is None or membership.status == status) and (
                    tier_id is None or membership.tier_id == tier_id
                ):
                    found.append(membership)
                    if len(found) > size:
                        break
        more = len(found) > size
        items = tuple(found[:size])
        return Page(items, encode_cursor("memberships", items[-1].partner_id) if more else None)

    def for_partner(self, partner_id: str) -> list[Membership]:
        with self._store._lock:
            self._store._check_open()
            found = {
                program_id: self._store._memberships[(program_id, partner_id)]
                for program_id in self._store._member_of.get(partner_id, ())
            }
        for (program_id, member), (_, membership) in self._work.staged_memberships.items():
            if member == partner_id:
                found[program_id] = membership
        return [found[program_id] for program_id in sorted(found)]


class _TierHistory:
    def __init__(self, work: MemoryUnitOfWork) -> None:
        self._work = work
        self._store = work._storage

    def save(self, assignment: TierAssignment) -> None:
        check_assignment(assignment)
        key = (assignment.program_id, assignment.partner_id, assignment.valid_from)
        known = self._work.staged_assignments.get(key)
        if known is None:
            with self._store._lock:
                self._store._check_open()
                known = self._store._tier_history.get(key[:2], {}).get(key[2])
        if known is None or closes(known, assignment):
            self._work.staged_assignments[key] = assignment
        elif known != assignment:
            raise assignment_conflict(assignment)

    def for_partner(self, program_id: str, partner_id: str) -> list[TierAssignment]:
        with self._store._lock:
            self._store._check_open()
            found = dict(self._store._tier_history.get((program_id, partner_id), {}))
        for (program, partner, at), assignment in self._work.staged_assignments.items():
            if program == program_id and partner == partner_id:
                found[at] = assignment
        return [found[at] for at in sorted(found)]

    def at(self, program_id: str, partner_id: str, instant: datetime) -> TierAssignment | None:
        moment = to_utc(instant, "instant")
        covering = [
            assignment
            for assignment in self.for_partner(program_id, partner_id)
            if assignment.covers(moment)
        ]
        return covering[-1] if covering else None


class _Deals:
    def __init__(self, work: MemoryUnitOfWork) -> None:
        self._work = work
        self._store = work._storage

    def _current(self, deal_id: str) -> DealRegistration | None:
        staged = self._work.staged_deals.get(deal_id)
        if staged is not None:
            return staged[1]
        with self._store._lock:
            self._store._check_open()
            return self._store._deals.get(deal_id)

    def get(self, deal_id: str) -> DealRegistration:
        found = self._current(deal_id)
        if found is None:
            raise NotFoundError(DEAL, deal_id)
        return found

    def add(self, registration: DealRegistration) -> DealRegistration:
        check_deal(registration, new=True)
        if self._current(registration.id) is not None:
            raise deal_conflict(registration.id)
        stored = attrs.evolve(registration, version=1)
        self._work.staged_deals[registration.id] = (0, stored, claimed_keys(stored))
        return stored

    def update(self, registration: DealRegistration) -> DealRegistration:
        check_deal(registration)
        current = self._current(registration.id)
        if current is None or current.version != registration.version:
            actual = None if current is None else current.version
            raise StaleVersionError(DEAL, registration.id, registration.version, actual)
        stored = attrs.evolve(registration, version=registration.version + 1)
        staged = self._work.staged_deals.get(registration.id)
        based_on = registration.version if staged is None else staged[0]
        self._work.staged_deals[registration.id] = (based_on, stored, claimed_keys(stored))
        return stored

    def _page(
        self,
        wanted: Callable[[DealRegistration], bool],
        kind: str,
        limit: int,
        cursor: str | None,
    ) -> Page[DealRegistration]:
        size = check_limit(limit, _MAX_DEAL_PAGE)
        after = decode_cursor(kind, cursor)
        staged = self._work.staged_deals
        with self._store._lock:
            self._store._check_open()
            committed = self._store._deals
            ids = self._store._deal_ids
            keys = ids if not staged else sorted(set(ids) | set(staged))
            start = 0 if after is None else bisect.bisect_right(keys, after)
            found: list[DealRegistration] = []
            for deal_id in keys[start:]:
                known = staged.get(deal_id)
                registration = committed[deal_id] if known is None else known[1]
                if wanted(registration):
                    found.append(registration)
                    if len(found) > size:
                        break
        more = len(found) > size
        items = tuple(found[:size])
        return Page(items, encode_cursor(kind, items[-1].id) if more else None)

    def query(
        self,
        *,
        partner_id: str | None = None,
        status: DealStatus | None = None,
        limit: int = 1000,
        cursor: str | None = None,
    ) -> Page[DealRegistration]:
        def wanted(registration: DealRegistration) -> bool:
            return (partner_id is None or registration.partner_id == partner_id) and (
                status is None or registration.status == status
            )

        return self._page(wanted, "deals", limit, cursor)

    def active(self, *, limit: int = 1000, cursor: str | None = None) -> Page[DealRegistration]:
        return self._page(lambda r: r.status in ACTIVE_STATUSES, "active deals", limit, cursor)

    def _approved(self) -> list[DealRegistration]:
        """Every approved registration, this unit's saved ones included."""
        staged = self._work.staged_deals
        with self._store._lock:
            self._store._check_open()
            # Every approved registration holds claims, and only those do.
            found = [
                self._store._deals[deal_id]
                for deal_id in self._store._claimed
                if deal_id not in staged
            ]
        found += [r for _, r, _ in staged.values() if r.status is DealStatus.APPROVED]
        return found

    def _protected(
        self, after: datetime | None, until: datetime, limit: int
    ) -> list[DealRegistration]:
        size = check_limit(limit, _MAX_DEAL_PAGE)
        found = [
            registration
            for registration in self._approved()
            if registration.protection_until is not None
            and registration.protection_until <= until
            and (after is None or registration.protection_until > after)
        ]
        found.sort(key=lambda r: (r.protection_until, r.id))
        return found[:size]

    def due_to_expire(self, as_of: datetime, *, limit: int = 1000) -> list[DealRegistration]:
        return self._protected(None, to_utc(as_of, "as_of"), limit)

    def expiring_within(
        self, as_of: datetime, until: datetime, *, limit: int = 1000
    ) -> list[DealRegistration]:
        return self._protected(to_utc(as_of, "as_of"), to_utc(until, "until"), limit)

    def claims_for(self, deal_id: str) -> tuple[str, ...]:
        staged = self._work.staged_deals.get(deal_id)
        if staged is not None:
            return staged[2]
        with self._store._lock:
            self._store._check_open()
            return self._store._claimed.get(deal_id, ())

    def holder(self, key: str) -> str | None:
        staged = self._work.staged_deals
        for deal_id, (_, _, keys) in staged.items():
            if key in keys:
                return deal_id
        with self._store._lock:
            self._store._check_open()
            found = self._store._claims.get(key)
        return None if found in staged else found
