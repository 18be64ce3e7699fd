"""The storage conformance suite, run against the memory adapter and shown to have teeth.

`TestMemoryStorage` is how every adapter is meant to use the suite. The rest proves
the suite can fail: deliberately broken adapters (small subclasses of
`MemoryStorage`, each with one classic bug) are run through the contract tests that
guard against that bug, and each of those tests must fail on them while passing on
the real adapter.
"""

import inspect
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import attrs
import pytest

from partnerkit import Activity, DealRegistration, Event, HealthScore, Money, Partner
from partnerkit._base.time import to_utc
from partnerkit._base.trusted import evolve_trusted
from partnerkit.deals import DealStatus
from partnerkit.incentives import Statement
from partnerkit.leads import Lead, LeadStatus
from partnerkit.relationship import Certification
from partnerkit.storage import (
    AppendResult,
    Changes,
    Claim,
    CommittedReads,
    Condition,
    Kind,
    Page,
    Query,
    StagedStorage,
    StoredModel,
    StoredProgram,
    UnitOfWork,
    Write,
)
from partnerkit.storage._common import check_membership, decode_cursor, encode_cursor
from partnerkit.storage._incentives import _Statements
from partnerkit.storage._kinds import (
    _EXISTS,
    CERTIFICATIONS,
    CHECK_INS,
    LEADS,
)
from partnerkit.storage._leads import _Leads
from partnerkit.storage._relationship import _Certifications
from partnerkit.storage._repositories import (
    _Activities,
    _Deals,
    _Memberships,
    _Models,
    _Partners,
    _Programs,
    _Scores,
    _TierHistory,
)
from partnerkit.storage._staging import (
    ACTIVITIES,
    CLAIMS,
    DEALS,
    EVENT_LEASES,
    FUND_BUDGETS,
    FUND_CLAIMS,
    FUND_REQUESTS,
    MEMBERSHIPS,
    PARTNERS,
    SCORES,
    STATEMENTS,
    TIER_HISTORY,
    _StagedUnitOfWork,
    partner_name_key,
)
from partnerkit.storage.memory import MemoryStorage, _MemoryBackend
from partnerkit.testing import conformance
from partnerkit.testing.conformance import (
    ActivityLedgerContract,
    DealRepositoryContract,
    FundRepositoryContract,
    IncentivePlanRepositoryContract,
    LeadRepositoryContract,
    MembershipRepositoryContract,
    PartnerRepositoryContract,
    ProgramRepositoryContract,
    RelationshipRepositoryContract,
    ScoreRepositoryContract,
    ScoringModelRepositoryContract,
    StatementRepositoryContract,
    StorageContract,
    TierHistoryContract,
    UnitOfWorkContract,
)
from partnerkit.tiers import Membership, Program, TierAssignment

pytest_plugins = ["pytester"]


class TestMemoryStorage(StorageContract):
    @pytest.fixture
    def storage(self) -> Iterator[MemoryStorage]:
        store = MemoryStorage()
        yield store
        store.close()


# --- Broken adapters: each keeps MemoryStorage's behaviour but for one bug. ---
#
# A broken adapter is a MemoryStorage whose backend writes or reads wrongly, or
# whose unit of work stages or checks wrongly: the places where an adapter written
# from scratch goes wrong.


class _Backend(_MemoryBackend):
    """A MemoryStorage backend that alters the checked changes before applying them."""

    def alter(self, write: Write[Any]) -> Write[Any]:
        return write

    def _apply(self, changes: Changes) -> None:
        super()._apply(attrs.evolve(changes, writes=tuple(map(self.alter, changes.writes))))


class _BrokenStorage(MemoryStorage):
    """A MemoryStorage on a broken backend, or handing out broken units of work."""

    backend: type[_MemoryBackend] = _MemoryBackend
    work: type[_StagedUnitOfWork] = _StagedUnitOfWork

    def __init__(self) -> None:
        super().__init__()
        self._backend = self.backend()

    def unit_of_work(self) -> UnitOfWork:
        self._check_open()
        return self.work(self)


class _ForgetsLeases(_MemoryBackend):
    def _apply(self, changes: Changes) -> None:
        kept = tuple(write for write in changes.writes if write.kind is not EVENT_LEASES)
        super()._apply(attrs.evolve(changes, writes=kept))


class ForgetsLeasesStorage(_BrokenStorage):
    """Hands out outbox events without recording the lease: two buses deliver one event."""

    backend = _ForgetsLeases


def _rewrite(write: Write[Any], kind: Kind[Any], change: Callable[[Any], Any]) -> Write[Any]:
    return write._replace(record=change(write.record)) if write.kind is kind else write


class _LosesRegion(_Backend):
    def alter(self, write: Write[Any]) -> Write[Any]:
        return _rewrite(write, PARTNERS, lambda partner: attrs.evolve(partner, region=""))


class LosesRegionStorage(_BrokenStorage):
    """Drops a field on write, as an adapter with a forgotten column does."""

    backend = _LosesRegion


def _two_places(value: Money | Decimal | None) -> Money | Decimal | None:
    if isinstance(value, Money):
        return Money(value.amount.quantize(Decimal("0.01")), value.currency)
    if isinstance(value, Decimal):
        return value.quantize(Decimal("0.01"))
    return value


class _TwoDecimalPlaces(_Backend):
    def alter(self, write: Write[Any]) -> Write[Any]:
        return _rewrite(write, ACTIVITIES, lambda a: attrs.evolve(a, value=_two_places(a.value)))


class TwoDecimalPlacesStorage(_BrokenStorage):
    """Keeps amounts in a two-decimal column: KWD fils and sub-cent rates are lost."""

    backend = _TwoDecimalPlaces


class _VersionBlindPartners(_Partners):
    def update(self, partner: Partner) -> Partner:
        # Last write wins: take whatever version is stored as the base.
        return super().update(attrs.evolve(partner, version=self.get(partner.id).version))


class _VersionBlindMemberships(_Memberships):
    def update(self, membership: Membership) -> Membership:
        current = self.get(membership.program_id, membership.partner_id)
        return super().update(attrs.evolve(membership, version=current.version))


class _VersionBlindWork(_StagedUnitOfWork):
    """Rebases the staged changes of ``blind`` on whatever version is stored."""

    blind: Kind[Any]

    def _check_versions(self, reads: CommittedReads, kind: Kind[Any]) -> list[Write[Any]]:
        if kind is self.blind:
            stage = self._stages[kind.name]
            stored = reads.versions(kind, list(stage.based_on))
            for key, based_on in stage.based_on.items():
                if based_on and key in stored:
                    stage.based_on[key] = stored[key]
                    stage.records[key] = attrs.evolve(stage.records[key], version=stored[key] + 1)
        return super()._check_versions(reads, kind)


class _IgnoresVersionsWork(_VersionBlindWork):
    blind = PARTNERS

    def __init__(self, storage: StagedStorage) -> None:
        super().__init__(storage)
        self.partners = _VersionBlindPartners(self)


class IgnoresVersionsStorage(_BrokenStorage):
    """Update always succeeds: no optimistic concurrency, so updates get lost."""

    work = _IgnoresVersionsWork


class _IgnoresMembershipVersionsWork(_VersionBlindWork):
    blind = MEMBERSHIPS

    def __init__(self, storage: StagedStorage) -> None:
        super().__init__(storage)
        self.memberships = _VersionBlindMemberships(self)


class IgnoresMembershipVersionsStorage(_BrokenStorage):
    """Membership updates always succeed: a review saved over another one loses it."""

    work = _IgnoresMembershipVersionsWork


class _BlindLedger(_Activities):
    def append(self, activities: Iterable[Activity]) -> AppendResult:
        batch = list(activities)
        for activity in batch:
            self._work._stages["activities"].put(activity.id, activity)
        return AppendResult(added=len(batch), duplicates=0)


class _DoubleAppendingWork(_StagedUnitOfWork):
    def __init__(self, storage: StagedStorage) -> None:
        super().__init__(storage)
        self.activities = _BlindLedger(self)

    def _check_appends(self, reads: CommittedReads, kind: Kind[Any]) -> list[Write[Any]]:
        if kind is not ACTIVITIES:
            return super()._check_appends(reads, kind)
        return [Write(kind, key, a, 0) for key, a in self._stages[kind.name].records.items()]


class DoubleAppendingStorage(_BrokenStorage):
    """Inserts every appended activity, as an adapter without a unique key on ids does."""

    work = _DoubleAppendingWork


class _Immediately:
    """A repository whose writes commit at once, like a connection in autocommit mode."""

    def __init__(self, inner: Any, work: _StagedUnitOfWork) -> None:
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


class _WritesImmediatelyWork(_StagedUnitOfWork):
    def __init__(self, storage: StagedStorage) -> None:
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


class WritesImmediatelyStorage(_BrokenStorage):
    """Writes at once instead of at commit, so nothing can be rolled back."""

    work = _WritesImmediatelyWork


class _OverwritingScores(_Scores):
    def add(self, score: HealthScore) -> None:
        if not isinstance(score, HealthScore):
            super().add(score)
        key = (score.partner_id, score.model, score.as_of)
        self._work._stages["scores"].put(key, score)  # last write wins


class _OverwritingScoresWork(_StagedUnitOfWork):
    def __init__(self, storage: StagedStorage) -> None:
        super().__init__(storage)
        self.scores = _OverwritingScores(self)

    def _check_appends(self, reads: CommittedReads, kind: Kind[Any]) -> list[Write[Any]]:
        if kind is not SCORES:
            return super()._check_appends(reads, kind)
        return [Write(kind, key, s, None) for key, s in self._stages[kind.name].records.items()]


class _OverwritesScores(_MemoryBackend):
    def _apply(self, changes: Changes) -> None:
        for write in changes.writes:
            stored = self._tables["scores"].get(write.key) if write.kind is SCORES else None
            if stored is not None:
                history = self._histories[write.key[:2]]
                history[history.index(stored)] = write.record
        super()._apply(changes)


class OverwritesScoresStorage(_BrokenStorage):
    """Replaces a stored score with a new one under its key: history is rewritten."""

    backend = _OverwritesScores
    work = _OverwritingScoresWork


class _DropsOverrides(_Backend):
    def alter(self, write: Write[Any]) -> Write[Any]:
        return _rewrite(write, SCORES, lambda score: attrs.evolve(score, override=None))


class DropsOverridesStorage(_BrokenStorage):
    """Stores scores without their override, as an adapter with no column for it does."""

    backend = _DropsOverrides


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
        where = (
            Condition("model", "=", model),
            Condition("band", "=", band),
            Condition("partner_id", ">", after),
        )
        latest = ("partner_id", "as_of")
        found = self._backend.find(Query(SCORES, where, ("partner_id",), latest=latest))
        more = len(found) > limit
        items = tuple(found[:limit])
        return Page(items, encode_cursor("scores", items[-1].partner_id) if more else None)


class _BandFirstWork(_StagedUnitOfWork):
    def __init__(self, storage: StagedStorage) -> None:
        super().__init__(storage)
        self.scores = _BandFirstScores(self)


class FiltersBandBeforeLatestStorage(_BrokenStorage):
    """Lists "at risk" partners by any score at risk, not by their latest score."""

    work = _BandFirstWork


class _OverwritingHistory(_TierHistory):
    def save(self, assignment: TierAssignment) -> None:
        key = (assignment.program_id, assignment.partner_id, assignment.valid_from)
        self._work._stages["tier_history"].put(key, assignment)  # last write wins


class _OverwritingHistoryWork(_StagedUnitOfWork):
    def __init__(self, storage: StagedStorage) -> None:
        super().__init__(storage)
        self.tier_history = _OverwritingHistory(self)

    def _check_history(self, reads: CommittedReads) -> list[Write[Any]]:
        staged = self._stages["tier_history"].records
        return [Write(TIER_HISTORY, key, assignment, None) for key, assignment in staged.items()]


class OverwritesHistoryStorage(_BrokenStorage):
    """Saves tier assignments by key, last write wins: past tiers can be rewritten."""

    work = _OverwritingHistoryWork


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


class _InclusiveUntilWork(_StagedUnitOfWork):
    def __init__(self, storage: StagedStorage) -> None:
        super().__init__(storage)
        self.tier_history = _InclusiveUntilHistory(self)


class InclusiveUntilStorage(_BrokenStorage):
    """Treats ``valid_until`` as inclusive, so a change instant answers the old tier."""

    work = _InclusiveUntilWork


class _SkipsTheClaimWork(_StagedUnitOfWork):
    def _check_claims(
        self, reads: CommittedReads
    ) -> tuple[list[Write[Claim]], tuple[tuple[Kind[Claim], Any], ...]]:
        # Takes and releases claims, but never asks who holds a key: the last
        # writer wins it.
        wanted = {key: deal_id for deal_id, keys in self._claims.items() for key in keys}
        where = (Condition("deal_id", "in", frozenset(self._claims)),)
        held = reads.find(Query(CLAIMS, where))
        writes = [Write(CLAIMS, key, Claim(key, deal_id), None) for key, deal_id in wanted.items()]
        return writes, tuple((CLAIMS, claim.key) for claim in held if claim.key not in wanted)


class SkipsTheClaimStorage(_BrokenStorage):
    """Commits approvals without checking the claim on the customer.

    As an adapter that checks conflicts before its transaction, or keeps claims
    without a unique key, does: racing approvals for one customer all commit.
    """

    work = _SkipsTheClaimWork


class _AddClaimsNothingDeals(_Deals):
    def add(self, registration: DealRegistration) -> DealRegistration:
        stored = super().add(registration)
        self._work._claims[stored.id] = ()  # only update() takes claims
        return stored


class _AddClaimsNothingWork(_StagedUnitOfWork):
    def __init__(self, storage: StagedStorage) -> None:
        super().__init__(storage)
        self.deals = _AddClaimsNothingDeals(self)


class AddClaimsNothingStorage(_BrokenStorage):
    """An approved registration stored with ``add()`` claims nothing.

    So a rival approval for the same customer then commits.
    """

    work = _AddClaimsNothingWork


class _ExpiresByIdDeals(_Deals):
    def due_to_expire(self, as_of: datetime, *, limit: int = 1000) -> list[DealRegistration]:
        where = (
            Condition("status", "=", DealStatus.APPROVED),
            Condition("protection_until", "<=", to_utc(as_of, "as_of")),
        )
        return self._find(Query(DEALS, where, ("id",), limit=limit))  # "ORDER BY id"


class _ExpiresByIdWork(_StagedUnitOfWork):
    def __init__(self, storage: StagedStorage) -> None:
        super().__init__(storage)
        self.deals = _ExpiresByIdDeals(self)


class ExpiresByIdStorage(_BrokenStorage):
    """``due_to_expire`` orders by id instead of by the end of protection, then id."""

    work = _ExpiresByIdWork


# --- Broken adapters of the search, stored-model and retirement capabilities. ---


class _PrefixNamesBackend(_MemoryBackend):
    def find(self, query: Query[Any]) -> list[Any]:
        # Name search as "LIKE 'query%'": a match must start the normalised name.
        wanted = query.get("name_key", "contains") if query.kind is PARTNERS else None
        if wanted is None:
            return super().find(query)
        found = super().find(query._replace(limit=None))
        prefixed = [item for item in found if partner_name_key(item).startswith(wanted)]
        return prefixed if query.limit is None else prefixed[: query.limit]


class PrefixNameSearchStorage(_BrokenStorage):
    """Partner name search matches only at the start of the normalised name."""

    backend = _PrefixNamesBackend


class _IgnoresPartnerListDeals(_Deals):
    def query(self, *, partner_ids: Sequence[str] | None = None, **filters: Any) -> Page[Any]:
        return super().query(**filters)  # the IN filter never reaches the WHERE clause


class _IgnoresPartnerListWork(_StagedUnitOfWork):
    def __init__(self, storage: StagedStorage) -> None:
        super().__init__(storage)
        self.deals = _IgnoresPartnerListDeals(self)


class IgnoresPartnerListStorage(_BrokenStorage):
    """``deals.query(partner_ids=...)`` lists every partner's registrations."""

    work = _IgnoresPartnerListWork


class _FirstVersionModels(_Models):
    def get(self, name: str, *, version: int | None = None) -> StoredModel:
        if version is None:  # "ORDER BY version" without DESC, then the first row
            versions = self.versions(name)
            if versions:
                return super().get(name, version=versions[0])
        return super().get(name, version=version)


class _FirstVersionWork(_StagedUnitOfWork):
    def __init__(self, storage: StagedStorage) -> None:
        super().__init__(storage)
        self.models = _FirstVersionModels(self)


class FirstModelVersionStorage(_BrokenStorage):
    """``models.get(name)`` answers the first version instead of the latest."""

    work = _FirstVersionWork


class _RetireForgetsPrograms(_Programs):
    def retire(self, program_id: str, *, version: int, at: datetime) -> StoredProgram:
        retired = super().retire(program_id, version=version, at=at)
        forgotten = StoredProgram(retired.program, retired.version)  # no retired_at column
        self._stage.put(program_id, forgotten, version)
        return forgotten


class _RetireForgetsWork(_StagedUnitOfWork):
    def __init__(self, storage: StagedStorage) -> None:
        super().__init__(storage)
        self.programs = _RetireForgetsPrograms(self)


class RetireForgetsWhenStorage(_BrokenStorage):
    """``programs.retire`` raises the version but never stores ``retired_at``."""

    work = _RetireForgetsWork


class _UpdateUnretiresPrograms(_Programs):
    def update(self, program: Program, *, version: int) -> StoredProgram:
        updated = super().update(program, version=version)
        unretired = StoredProgram(updated.program, updated.version)  # retired_at dropped
        self._stage.put(program.id, unretired, version)
        return unretired


class _UpdateUnretiresWork(_StagedUnitOfWork):
    def __init__(self, storage: StagedStorage) -> None:
        super().__init__(storage)
        self.programs = _UpdateUnretiresPrograms(self)


class UpdateUnretiresStorage(_BrokenStorage):
    """``programs.update`` stores the new version without the program's ``retired_at``."""

    work = _UpdateUnretiresWork


class _UncheckedMemberships(_Memberships):
    def add(self, membership: Membership) -> Membership:
        # add() as before the partner check: only the membership's own key is checked.
        check_membership(membership, new=True)
        key = (membership.program_id, membership.partner_id)
        if key in self._stage.records or self._backend.versions(MEMBERSHIPS, (key,)):
            raise _EXISTS["memberships"](key)
        stored = evolve_trusted(membership, version=1)
        self._stage.put(key, stored, 0)
        return stored


class _UncheckedMembersWork(_StagedUnitOfWork):
    def __init__(self, storage: StagedStorage) -> None:
        super().__init__(storage)
        self.memberships = _UncheckedMemberships(self)

    def _check_members(self, reads: CommittedReads, writes: list[Write[Any]]) -> None:
        pass  # no foreign key from memberships to partners


class UncheckedMemberPartnerStorage(_BrokenStorage):
    """Stores a membership of a partner that does not exist: no foreign key."""

    work = _UncheckedMembersWork


# --- Broken adapters of the relationship repositories. ---


class _LosesActionItems(_Backend):
    def alter(self, write: Write[Any]) -> Write[Any]:
        return _rewrite(write, CHECK_INS, lambda c: attrs.evolve(c, action_items=()))


class LosesActionItemsStorage(_BrokenStorage):
    """Stores check-ins without their action items, as a forgotten child table does."""

    backend = _LosesActionItems


class _VersionBlindCertifications(_Certifications):
    def update(self, certification: Certification) -> Certification:
        current = self.get(certification.id)
        return super().update(attrs.evolve(certification, version=current.version))


class _IgnoresCertificationVersionsWork(_VersionBlindWork):
    blind = CERTIFICATIONS

    def __init__(self, storage: StagedStorage) -> None:
        super().__init__(storage)
        self.certifications = _VersionBlindCertifications(self)


class IgnoresCertificationVersionsStorage(_BrokenStorage):
    """Certification updates always succeed: a renewal saved over another one is lost."""

    work = _IgnoresCertificationVersionsWork


class _FirstTermExpiryBackend(_MemoryBackend):
    def find(self, query: Query[Any]) -> list[Any]:
        day = query.get("expires_on", "<=") if query.kind is CERTIFICATIONS else None
        if day is None:
            return super().find(query)
        # An "expires_on" column filled once, at the first term, and never updated.
        where = tuple(c for c in query.where if c.field != "expires_on")
        found = super().find(query._replace(where=where, limit=None))
        kept = [c for c in found if c.terms and c.terms[0].expires_on <= day]
        return kept if query.limit is None else kept[: query.limit]


class FirstTermExpiryStorage(_BrokenStorage):
    """Finds certifications due for renewal by their first term, not their latest."""

    backend = _FirstTermExpiryBackend


#: What the relationship's broken adapters fail, merged into `CAUGHT`.
CAUGHT_RELATIONSHIP: dict[type[MemoryStorage], dict[str, str]] = {
    LosesActionItemsStorage: {
        "test_every_relationship_field_round_trips_through_add_and_get": (
            r"^ci_1\.action_items: expected 2 items, got 0$"
        ),
    },
    IgnoresCertificationVersionsStorage: {
        "test_stale_relationship_update_raises_and_changes_nothing": (
            "DID NOT RAISE.*StaleVersionError"
        ),
    },
    FirstTermExpiryStorage: {
        "test_certification_query_finds_renewals_due_by_the_latest_expiry": (
            r"^query\(\{'expires_before': datetime\.date\(2026, 12, 31\)\}, limit=1\)\n"
        ),
    },
}


class _IgnoresFundVersionsWork(_StagedUnitOfWork):
    """Rebases staged budgets, requests and claims on whatever version is stored."""

    def _check_versions(self, reads: CommittedReads, kind: Kind[Any]) -> list[Write[Any]]:
        if kind in (FUND_BUDGETS, FUND_REQUESTS, FUND_CLAIMS):
            stage = self._stages[kind.name]
            stored = reads.versions(kind, list(stage.based_on))
            for key, based_on in stage.based_on.items():
                if based_on and key in stored:
                    stage.based_on[key] = stored[key]
                    stage.records[key] = attrs.evolve(stage.records[key], version=stored[key] + 1)
        return super()._check_versions(reads, kind)


class IgnoresFundVersionsStorage(_BrokenStorage):
    """Fund records are saved without checking versions at commit: last write wins.

    As an adapter that checks versions before its transaction does: two workers
    approving claims on one budget both commit, spending its money twice.
    """

    work = _IgnoresFundVersionsWork


class _DropsTraces(_Backend):
    def alter(self, write: Write[Any]) -> Write[Any]:
        def untraced(statement: Statement) -> Statement:
            lines = tuple(attrs.evolve(line, sources=()) for line in statement.lines)
            return attrs.evolve(statement, lines=lines)

        return _rewrite(write, STATEMENTS, untraced)


class DropsTracesStorage(_BrokenStorage):
    """Stores statement lines without the activities they came from: no trace column."""

    backend = _DropsTraces


class _VersionBlindStatements(_Statements):
    def update(self, statement: Statement) -> Statement:
        current = self.get(statement.id)
        return super().update(attrs.evolve(statement, version=current.version))


class _IgnoresStatementVersionsWork(_VersionBlindWork):
    blind = STATEMENTS

    def __init__(self, storage: StagedStorage) -> None:
        super().__init__(storage)
        self.statements = _VersionBlindStatements(self)


class IgnoresStatementVersionsStorage(_BrokenStorage):
    """Last write wins on statements: an approval and a payment overwrite each other."""

    work = _IgnoresStatementVersionsWork


# --- Broken adapters of the batch reads. ---


class _WindowlessLedger(_Activities):
    def for_partners(
        self, partner_ids: Iterable[str], *, kinds: Iterable[str] | None = None, **_window: Any
    ) -> dict[str, list[Activity]]:
        return super().for_partners(partner_ids, kinds=kinds)  # since/until never reach WHERE


class _WindowlessWork(_StagedUnitOfWork):
    def __init__(self, storage: StagedStorage) -> None:
        super().__init__(storage)
        self.activities = _WindowlessLedger(self)


class WindowlessBatchStorage(_BrokenStorage):
    """``activities.for_partners`` ignores ``since`` and ``until``."""

    work = _WindowlessWork


class _EveryProgramHistory(_TierHistory):
    def for_partners(
        self, program_id: str, partner_ids: Iterable[str]
    ) -> dict[str, list[TierAssignment]]:
        found: dict[str, list[TierAssignment]] = {pid: [] for pid in dict.fromkeys(partner_ids)}
        where = (Condition("partner_id", "in", frozenset(found)),)  # the program left out
        for assignment in self._find(Query(TIER_HISTORY, where, ("partner_id", "valid_from"))):
            found[assignment.partner_id].append(assignment)
        return found


class _EveryProgramWork(_StagedUnitOfWork):
    def __init__(self, storage: StagedStorage) -> None:
        super().__init__(storage)
        self.tier_history = _EveryProgramHistory(self)


class EveryProgramHistoryStorage(_BrokenStorage):
    """``tier_history.for_partners`` answers each partner's history in every program."""

    work = _EveryProgramWork


class _AtOrBeforeScores(_Scores):
    def latest_before(
        self, partner_ids: Iterable[str], *, model: str, before: datetime
    ) -> dict[str, HealthScore]:
        found = {pid: self.latest(pid, model=model, before=before) for pid in partner_ids}
        return {pid: score for pid, score in found.items() if score is not None}  # "<=" for "<"


class _AtOrBeforeWork(_StagedUnitOfWork):
    def __init__(self, storage: StagedStorage) -> None:
        super().__init__(storage)
        self.scores = _AtOrBeforeScores(self)


class AtOrBeforeStorage(_BrokenStorage):
    """``scores.latest_before`` counts a score at exactly ``before``."""

    work = _AtOrBeforeWork


class _BatchOnlyPartners(_Partners):
    def add_many(self, partners: Iterable[Partner]) -> list[Partner]:
        added = [evolve_trusted(p, version=1) for p in partners]  # no look at stored ids
        for partner in added:
            self._stage.put(partner.id, partner, 0)
        return added


class _BatchOnlyWork(_StagedUnitOfWork):
    def __init__(self, storage: StagedStorage) -> None:
        super().__init__(storage)
        self.partners = _BatchOnlyPartners(self)


class UncheckedBatchStorage(_BrokenStorage):
    """``partners.add_many`` stages a batch without looking for taken ids."""

    work = _BatchOnlyWork


# --- Broken adapters of leads. ---


class _VersionBlindLeads(_Leads):
    def update(self, lead: Lead) -> Lead:
        return super().update(attrs.evolve(lead, version=self.get(lead.id).version))


class _IgnoresLeadVersionsWork(_VersionBlindWork):
    blind = LEADS

    def __init__(self, storage: StagedStorage) -> None:
        super().__init__(storage)
        self.leads = _VersionBlindLeads(self)


class IgnoresLeadVersionsStorage(_BrokenStorage):
    """Lead updates always succeed: two workers offering one lead both commit."""

    work = _IgnoresLeadVersionsWork


class _LapsesByIdLeads(_Leads):
    def due_to_lapse(self, as_of: datetime, *, limit: int = 1000) -> list[Lead]:
        where = (
            Condition("status", "=", LeadStatus.OFFERED),
            Condition("offer_expires_at", "<=", to_utc(as_of, "as_of")),
        )
        return self._find(Query(LEADS, where, ("id",), limit=limit))  # "ORDER BY id"


class _LapsesByIdWork(_StagedUnitOfWork):
    def __init__(self, storage: StagedStorage) -> None:
        super().__init__(storage)
        self.leads = _LapsesByIdLeads(self)


class LapsesByIdStorage(_BrokenStorage):
    """``due_to_lapse`` orders by id instead of by the offer's expiry, then id."""

    work = _LapsesByIdWork


class _ForgetsOffers(_Backend):
    def alter(self, write: Write[Any]) -> Write[Any]:
        def keep_last(lead: Lead) -> Lead:
            return evolve_trusted(lead, offers=lead.offers[-1:])

        return _rewrite(write, LEADS, keep_last)


class KeepsLastOfferOnlyStorage(_BrokenStorage):
    """Keeps only a lead's current offer, as a table with one offer column does."""

    backend = _ForgetsOffers


#: What the adapters above fail, merged into `CAUGHT`.
CAUGHT_NEWER_CAPABILITIES: dict[type[MemoryStorage], dict[str, str]] = {
    PrefixNameSearchStorage: {
        "test_partner_query_by_name_matches_the_normalised_name_anywhere": (
            r"^query\(\{'name': 'nordic cloud'\}, limit=1\)\n"
            r"assert \['ptn_a', 'ptn_b', 'ptn_e'\] == "
        ),
    },
    IgnoresPartnerListStorage: {
        "test_deal_query_selects_protection_windows_and_partner_lists": (
            r"^query\(\{'partner_ids': \['ptn_0', 'ptn_3'\]\}, limit=1\)\n"
        ),
    },
    FirstModelVersionStorage: {
        "test_model_get_returns_the_latest_version_unless_one_is_asked": (
            r"^get\('Standard'\)\nassert 1 == 2\n"
        ),
    },
    RetireForgetsWhenStorage: {
        "test_program_retire_sets_retired_at_one_version_higher": (
            r"^retired\.retired_at: expected a datetime, got None$"
        ),
    },
    UpdateUnretiresStorage: {
        "test_program_update_keeps_a_retired_programs_retired_at": (
            r"^updated\.retired_at: expected a datetime, got None$"
        ),
    },
    UncheckedMemberPartnerStorage: {
        "test_membership_add_refuses_a_partner_that_does_not_exist": "DID NOT RAISE.*NotFoundError",
    },
    IgnoresFundVersionsStorage: {
        # The race of the issue: 4 approvals of 600 on 1,000 all commit.
        "test_racing_claim_approvals_never_overspend_the_budget": (
            r"^approved claims add up to 2,400\.00 EUR, more than the 1,000\.00 EUR approved"
        ),
        "test_racing_requests_never_reserve_more_than_a_shared_pool_holds": (
            r"^requests reserve 2,800\.00 EUR of a pool of 1,000\.00 EUR"
        ),
        "test_a_stale_budget_update_raises_and_its_commit_writes_nothing": (
            "DID NOT RAISE.*StaleVersionError"
        ),
    },
    DropsTracesStorage: {
        "test_every_statement_field_round_trips_through_add_and_get": (
            r"^statement\.lines\[0\]\.sources"
        ),
        "test_statement_update_checks_the_version": r"^stored\.lines\[0\]\.sources",
    },
    IgnoresStatementVersionsStorage: {
        "test_statement_update_checks_the_version": "DID NOT RAISE.*StaleVersionError",
    },
    UncheckedBatchStorage: {
        "test_add_many_refuses_a_taken_id_and_adds_none_of_the_batch": (
            "DID NOT RAISE.*ConflictError"
        ),
    },
    WindowlessBatchStorage: {
        "test_for_partners_gives_each_partner_what_for_partner_gives": (
            r"^for_partners: ptn_\d, \{'since'"
        ),
    },
    EveryProgramHistoryStorage: {
        "test_tier_histories_for_partners_are_what_for_partner_gives": (
            r"^for_partners: prg_1, ptn_\d: expected \d items, got \d$"
        ),
    },
    AtOrBeforeStorage: {
        "test_latest_before_is_each_partners_latest_strictly_before": (
            r"^latest_before\(\['ptn_3', 'ptn_2', 'ptn_nobody', 'ptn_1', 'ptn_2'\], before="
        ),
    },
    IgnoresLeadVersionsStorage: {
        "test_two_workers_offering_one_lead_at_once_make_one_offer": (
            r"^offers that committed: ([2-6])\nassert \1 == 1\n"
        ),
        "test_a_stale_lead_update_raises_and_changes_nothing": "DID NOT RAISE.*StaleVersionError",
    },
    LapsesByIdStorage: {
        "test_due_to_lapse_lists_expired_offers_soonest_first": (
            r"(?s)^due_to_lapse\(as_of\)\n.*At index 0 diff: 'lead~\d+_a' != 'lead~\d+_c'"
        ),
    },
    KeepsLastOfferOnlyStorage: {
        "test_a_lead_round_trips_with_its_offers_history_and_contact": (
            r"^lead\.offers: expected 2 items, got 1$"
        ),
    },
}


# --- Running one contract test by hand. ---

CONTRACTS = (
    PartnerRepositoryContract,
    ActivityLedgerContract,
    ScoreRepositoryContract,
    ProgramRepositoryContract,
    MembershipRepositoryContract,
    TierHistoryContract,
    DealRepositoryContract,
    ScoringModelRepositoryContract,
    StatementRepositoryContract,
    IncentivePlanRepositoryContract,
    RelationshipRepositoryContract,
    FundRepositoryContract,
    LeadRepositoryContract,
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


def run_contract_test(name: str, make_storage: type[MemoryStorage]) -> None:
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
    **CAUGHT_NEWER_CAPABILITIES,
    **CAUGHT_RELATIONSHIP,
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
        # The membership added before the refused one is already written.
        "test_membership_add_refuses_a_partner_that_does_not_exist": (
            "^the refused unit of work wrote the membership staged before the refused one"
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
        # The rival of a registration added approved commits too.
        "test_an_approved_registration_added_directly_claims_its_customer": (
            "DID NOT RAISE.*ConflictError"
        ),
    },
    AddClaimsNothingStorage: {
        "test_an_approved_registration_added_directly_claims_its_customer": (
            r"^claims_for\(\) after add\(\)"
        ),
    },
    ForgetsLeasesStorage: {
        "test_claimed_events_are_leased_to_one_owner_until_delivered": (
            r"^events leased to bus-a were handed to bus-b too"
        ),
        "test_racing_claims_never_share_an_event": r"^events leased to two owners at once",
    },
    ExpiresByIdStorage: {
        "test_due_to_expire_lists_the_soonest_protection_end_first": (
            r"^due_to_expire\(as_of\) must list approved registrations by protection_until"
        ),
    },
}

#: Tests a broken adapter also fails, not by a failed assert but because the bug
#: derails the test's own set-up; listed so that nothing else fails unnoticed.
KNOCK_ON: dict[type[MemoryStorage], set[str]] = {
    # The blind update looks the partner up first: NotFoundError, not StaleVersionError.
    IgnoresVersionsStorage: {"test_update_of_a_missing_partner_raises_stale"},
    # A program retired without retired_at has none for its next version to keep.
    RetireForgetsWhenStorage: {"test_program_update_keeps_a_retired_programs_retired_at"},
    # The first writer's add is committed at once, so the second writer's add is the
    # one refused, with ConflictError, while the test sets up the race.
    WritesImmediatelyStorage: {
        "test_commit_that_fails_on_a_taken_partner_id_writes_nothing",
        "test_commit_that_fails_on_a_taken_activity_id_writes_nothing",
        "test_unit_of_work_can_be_reused_after_a_failed_commit",
        "test_commit_that_fails_on_a_score_stored_meanwhile_writes_nothing",
        "test_commit_that_fails_on_a_stale_membership_writes_nothing",
        "test_commit_that_fails_on_a_history_rewritten_meanwhile_writes_nothing",
        # publish() commits the first approval before the others have read.
        "test_racing_claim_approvals_never_overspend_the_budget",
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
    # Where the suite lacks the test that guards a bug, the adapter fails no test.
    caught = set(CAUGHT[adapter]) & set(contract_tests())
    assert failed == caught | KNOCK_ON.get(adapter, set())


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
