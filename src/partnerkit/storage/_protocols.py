"""The storage contracts: what any persistence layer for partnerkit must do.

Hosts implement these `typing.Protocol` classes over their own database; nothing
needs to inherit from anything. `partnerkit.testing.conformance` checks that an
implementation keeps every promise written here.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar, runtime_checkable

import attrs

from partnerkit._base.time import to_utc
from partnerkit.errors import ValidationError

# At run time too: attrs reads the annotations of StoredProgram and StoredModel.
from partnerkit.health import ScoringModel
from partnerkit.tiers import Program

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from types import TracebackType

    from partnerkit._base.events import Event, EventRecord
    from partnerkit.deals._model import DealRegistration, DealStatus
    from partnerkit.funds import (
        BudgetStatus,
        ClaimStatus,
        FundBudget,
        FundClaim,
        FundRequest,
        RequestStatus,
    )
    from partnerkit.health import HealthScore
    from partnerkit.incentives import Plan as IncentivePlan
    from partnerkit.incentives import Statement, StatementStatus
    from partnerkit.leads import Lead, LeadStatus
    from partnerkit.ledger import Activity
    from partnerkit.partners import Partner, PartnerStatus
    from partnerkit.relationship import BusinessPlan, Certification, CheckIn, PlanStatus
    from partnerkit.tiers import Membership, MembershipStatus, TierAssignment

__all__ = [
    "ActivityLedger",
    "AppendResult",
    "BusinessPlanRepository",
    "CertificationRepository",
    "CheckInRepository",
    "DealRepository",
    "FundBudgetRepository",
    "FundClaimRepository",
    "FundRequestRepository",
    "IncentivePlanRepository",
    "LeadRepository",
    "MembershipRepository",
    "Page",
    "PartnerRepository",
    "ProgramRepository",
    "ScoreRepository",
    "ScoringModelRepository",
    "StatementRepository",
    "Storage",
    "StoredModel",
    "StoredProgram",
    "TierHistoryRepository",
    "UnitOfWork",
]

T = TypeVar("T")


@attrs.frozen
class Page(Generic[T]):
    """One page of a query's results, in the query's stable order.

    Attributes:
        items: The records on this page.
        next_cursor: Pass it as ``cursor=`` to get the next page; ``None`` on the
            last page. Cursors are opaque strings; do not build or parse them.
    """

    items: tuple[T, ...]
    next_cursor: str | None = None


@attrs.frozen
class AppendResult:
    """What an append did.

    Attributes:
        added: Activities newly written.
        duplicates: Activities already in the ledger with identical content (a
            retried import): skipped, not counted twice.
    """

    added: int
    duplicates: int


@attrs.frozen
class StoredProgram:
    """A program as stored, with the version its optimistic concurrency checks.

    `Program` is configuration with no ``version`` of its own, so storage keeps the
    version beside it and hands both out together: pass ``version`` back to
    `ProgramRepository.update` to save a change to what was read.

    Attributes:
        program: The program, exactly as it was added or last updated.
        version: 1 when added, one higher with each update.
        retired_at: When the program was retired (`ProgramRepository.retire`);
            ``None`` while it runs. A retired program takes no new members.
    """

    program: Program
    version: int
    retired_at: datetime | None = attrs.field(default=None, kw_only=True)

    def __attrs_post_init__(self) -> None:
        if self.retired_at is not None:
            object.__setattr__(self, "retired_at", to_utc(self.retired_at, "retired_at"))

    @property
    def retired(self) -> bool:
        """Whether the program is retired."""
        return self.retired_at is not None


@attrs.frozen
class StoredModel:
    """One version of a scoring model as stored, by its name and version.

    Attributes:
        model: The model, exactly as it was added.
        version: ``model.version``: a name's versions are kept side by side, so
            a past score (which records its model's name and version) can be
            reproduced with the model that made it.
        retired: Whether this version was retired (`ScoringModelRepository.retire`):
            kept for reproducing past scores, not offered for new runs.
    """

    model: ScoringModel
    version: int
    retired: bool = False

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.model, ScoringModel):
            raise ValidationError.single("model", "expected a ScoringModel")
        if self.version != self.model.version:
            raise ValidationError.single(
                "version", f"must be the model's own version, {self.model.version}"
            )

    @property
    def name(self) -> str:
        """The model's name."""
        return self.model.name


@runtime_checkable
class PartnerRepository(Protocol):
    """Partners, with optimistic concurrency through ``Partner.version``."""

    def get(self, partner_id: str, /) -> Partner:
        """The partner with ``partner_id``.

        Raises:
            NotFoundError: If there is none.
        """
        ...

    def add(self, partner: Partner, /) -> Partner:
        """Store a new partner (``version`` 0) and return it as stored (``version`` 1).

        Raises:
            ConflictError: If a partner with its id exists.
            ValidationError: If ``partner.version`` is not 0.
        """
        ...

    def add_many(self, partners: Iterable[Partner]) -> list[Partner]:
        """`add` for many new partners at once, checking their ids in one query per 500.

        All or nothing: if any of them is refused, none is added.

        Returns:
            The partners as stored (``version`` 1), in the order given.

        Raises:
            ConflictError: If a partner with one of their ids exists, is added
                in this unit of work already, or the id is given twice.
            ValidationError: If one is not a `Partner`, or its ``version`` is not 0.
        """
        ...

    def update(self, partner: Partner, /) -> Partner:
        """Replace the stored partner, if it is still at ``partner.version``.

        Returns:
            The partner as stored, with ``version`` one higher.

        Raises:
            StaleVersionError: If the stored version differs (or the partner is
                gone); nothing is written.
        """
        ...

    def query(
        self,
        *,
        status: PartnerStatus | None = None,
        type: str | None = None,  # noqa: A002 - the domain word
        owner_id: str | None = None,
        parent_id: str | None = None,
        country: str | None = None,
        name: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[Partner]:
        """Partners matching every given filter, ordered by id.

        ``name`` searches names the way the deal desk compares customers: a
        partner matches when ``normalize_company_name(partner.name)`` contains
        ``normalize_company_name(name)``, so ``"nordic cloud"`` finds "Nordic
        Cloud Oy" and "NORDIC CLOUD GmbH". Adapters store the normalised name as
        an indexed column.

        Paging through with ``next_cursor`` returns every partner that existed when
        paging began exactly once, even while others are added.

        Raises:
            ValidationError: For a ``limit`` outside 1..1000, a malformed cursor,
                or a ``name`` with no letters or digits to match on.
        """
        ...


@runtime_checkable
class ActivityLedger(Protocol):
    """The append-only activity ledger."""

    def append(self, activities: Iterable[Activity]) -> AppendResult:
        """Add activities; ones already present with identical content are skipped.

        Raises:
            ConflictError: If an id is present with different content (or twice in
                the batch with different content); nothing of the batch is written.
        """
        ...

    def get(self, activity_id: str) -> Activity:
        """The activity with ``activity_id``.

        Raises:
            NotFoundError: If there is none.
        """
        ...

    def for_partner(
        self,
        partner_id: str,
        *,
        kinds: Iterable[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Activity]:
        """A partner's activities with ``since <= occurred_at <= until``, by time then id."""
        ...

    def for_partners(
        self,
        partner_ids: Iterable[str],
        *,
        kinds: Iterable[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> dict[str, list[Activity]]:
        """`for_partner` for many partners at once, in one query per few hundred of them.

        Returns:
            Every partner id asked for, in the order asked, with its activities
            (``since <= occurred_at <= until``, by time then id); an empty list
            for a partner with none.

        Raises:
            ValidationError: If ``partner_ids`` is one string rather than several,
                or holds something other than text; or for a naive bound.
        """
        ...

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
        """Activities matching every given filter, ordered by id, one page at a time.

        Raises:
            ValidationError: For a ``limit`` outside 1..10000 or a malformed cursor.
        """
        ...


@runtime_checkable
class ScoreRepository(Protocol):
    """Health-score history: every score a model gave a partner, kept as given.

    A `HealthScore` has no id of its own: it is identified by its natural key,
    ``(partner_id, model, as_of)``, where ``model`` is the model's name (all its
    versions share one history) and ``as_of`` an instant (two offsets naming one
    instant are one key). Scores are history: a stored score is never replaced.
    A score is kept whole, its override included, so that `latest` returns what
    `partnerkit.health.score` needs as ``previous`` to carry the override on, and
    `history` what it needs as ``history`` for velocities.

    To set or withdraw an override, score again at the instant it happens
    (``score(..., as_of=now, previous=latest, override=...)``) and add that score;
    ``apply_override`` and ``withdraw_override`` keep the old ``as_of``, so their
    result is a different score under a stored key.
    """

    def add(self, score: HealthScore) -> None:
        """Store a score; one already stored with identical content is a no-op.

        Raises:
            ConflictError: If a different score is stored (or staged) under the
                same ``(partner_id, model, as_of)``; raised by ``add`` or, when
                another unit of work stored it meanwhile, by ``commit``.
            ValidationError: If ``score`` is not a `HealthScore`.
        """
        ...

    def latest(
        self, partner_id: str, *, model: str, before: datetime | None = None
    ) -> HealthScore | None:
        """The partner's most recent score from ``model`` with ``as_of <= before``.

        ``before`` is inclusive (a score at exactly ``before`` counts); without it,
        the most recent score of all. This is the score to pass to
        `partnerkit.health.score` as ``previous``.

        Returns:
            The score, or ``None`` if the partner has none from ``model`` by then.

        Raises:
            ValidationError: For a naive ``before`` or a ``model`` that is not text.
        """
        ...

    def latest_before(
        self, partner_ids: Iterable[str], *, model: str, before: datetime
    ) -> dict[str, HealthScore]:
        """Each partner's latest score from ``model`` with ``as_of`` strictly before ``before``.

        The ``previous`` of a scoring run at ``before`` for a whole population, in
        one query per few hundred partners: unlike `latest`, a score at exactly
        ``before`` (an earlier run at that instant) does not count.

        Returns:
            The score of each partner that has one, by partner id, in the order
            asked; partners without one are left out.

        Raises:
            ValidationError: If ``partner_ids`` is one string rather than several,
                or holds something other than text; for a naive ``before`` or a
                ``model`` that is not text.
        """
        ...

    def history(
        self,
        partner_id: str,
        *,
        model: str,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[HealthScore]:
        """The partner's scores from ``model`` with ``since <= as_of <= until``, oldest first.

        Raises:
            ValidationError: For a naive bound or a ``model`` that is not text.
        """
        ...

    def query(
        self,
        *,
        model: str,
        as_of: datetime | None = None,
        band: str | None = None,
        limit: int = 1000,
        cursor: str | None = None,
    ) -> Page[HealthScore]:
        """One score per partner from ``model``, ordered by partner id, a page at a time.

        Without ``as_of``, each partner's latest score (of all time), so
        ``query(model=..., band="at_risk")`` lists the partners whose latest
        score shows ``at_risk`` now; a partner whose latest score shows another
        band is left out even if an earlier one was ``at_risk``. With ``as_of``,
        the scores at exactly that instant (the results of one batch run);
        partners not scored then are left out. ``band`` filters after that choice,
        on the shown band (``HealthScore.band``, an override's while it is
        active at the score's ``as_of``); insufficient-data scores have no band
        and match no ``band``. The stored band is the band as of the score's own
        ``as_of``: an override that lapsed since shows until the next score.

        Paging resumes after the last partner of the previous page, so a partner
        is never returned twice and none that had a score when paging began is
        skipped (without ``band``); each partner's score is the one current when
        its page is read.

        Raises:
            ValidationError: For a ``limit`` outside 1..1000, a malformed cursor,
                a naive ``as_of`` or a ``model`` that is not text.
        """
        ...


@runtime_checkable
class ProgramRepository(Protocol):
    """Partner programs, kept whole, with optimistic concurrency through a stored version.

    A `Program` has no ``version`` field, so reads and writes return a
    `StoredProgram`: the program and the version storage keeps for it.
    """

    def get(self, program_id: str) -> StoredProgram:
        """The program with ``program_id`` and its stored version.

        Raises:
            NotFoundError: If there is none.
        """
        ...

    def add(self, program: Program) -> StoredProgram:
        """Store a new program and return it as stored, at version 1.

        Raises:
            ConflictError: If a program with its id exists.
            ValidationError: If ``program`` is not a `Program`.
        """
        ...

    def update(self, program: Program, *, version: int) -> StoredProgram:
        """Replace the stored program, if it is still at ``version``.

        Args:
            program: The changed program (its id names the one to replace).
            version: The `StoredProgram.version` the change was based on.

        Returns:
            The program as stored, with ``version`` one higher; a retired program
            keeps its ``retired_at``.

        Raises:
            StaleVersionError: If the stored version differs (or the program is
                gone); nothing is written.
            ValidationError: If ``program`` is not a `Program`.
        """
        ...

    def retire(self, program_id: str, *, version: int, at: datetime) -> StoredProgram:
        """Mark the program retired at ``at``, if it is still at ``version``.

        Returns:
            The program as stored, with ``retired_at`` set and ``version`` one higher.

        Raises:
            StaleVersionError: If the stored version differs (or the program is
                gone); nothing is written.
            ValidationError: If the program is already retired, or ``at`` is naive.
        """
        ...

    def query(self, *, limit: int = 100, cursor: str | None = None) -> Page[StoredProgram]:
        """Every program, ordered by id, a page at a time.

        Paging is stable like `PartnerRepository.query`'s.

        Raises:
            ValidationError: For a ``limit`` outside 1..1000 or a malformed cursor.
        """
        ...


@runtime_checkable
class MembershipRepository(Protocol):
    """Memberships of partners in programs, with optimistic concurrency through ``version``.

    A membership is identified by ``(program_id, partner_id)``: a partner has at
    most one membership per program, and may be a member of several programs.
    """

    def get(self, program_id: str, partner_id: str) -> Membership:
        """The membership of ``partner_id`` in ``program_id``.

        Raises:
            NotFoundError: If there is none (its key is ``"program_id/partner_id"``).
        """
        ...

    def add(self, membership: Membership) -> Membership:
        """Store a new membership (``version`` 0); return it as stored (``version`` 1).

        Raises:
            ConflictError: If the partner is already a member of the program.
            NotFoundError: If no partner ``membership.partner_id`` is stored or
                staged (raised by ``add``, or by ``commit`` if it is gone then).
            ValidationError: If ``membership.version`` is not 0, or it is not a
                `Membership`.
        """
        ...

    def update(self, membership: Membership) -> Membership:
        """Replace the stored membership, if it is still at ``membership.version``.

        The memberships of a `ReviewRun` keep the version they were read at, so
        they can be passed here as they are.

        Returns:
            The membership as stored, with ``version`` one higher.

        Raises:
            StaleVersionError: If the stored version differs (or the membership
                is gone); nothing is written.
        """
        ...

    def query(
        self,
        *,
        program_id: str,
        status: MembershipStatus | None = None,
        tier_id: str | None = None,
        limit: int = 1000,
        cursor: str | None = None,
    ) -> Page[Membership]:
        """The program's memberships matching every given filter, ordered by partner id.

        ``tier_id`` matches memberships holding that tier (``None``: any tier or
        none). Paging resumes after the last partner of the previous page, so it
        returns every membership that existed when paging began exactly once, even
        while others are added. A review reads its population this way.

        Raises:
            ValidationError: For a ``limit`` outside 1..10000 or a malformed cursor.
        """
        ...

    def for_partner(self, partner_id: str) -> list[Membership]:
        """The partner's memberships in every program, ordered by program id."""
        ...


@runtime_checkable
class TierHistoryRepository(Protocol):
    """Tier history: the `TierAssignment` stretches partners held, per program.

    An assignment is identified by ``(program_id, partner_id, valid_from)``
    (``valid_from`` as an instant). History only grows: the one change allowed
    to a stored assignment is closing it, setting the ``valid_until`` of an open
    one. Save the histories of a `ReviewRun` (or of `record_tier_change`) whole:
    unchanged stretches are no-ops, the closed one is closed, the new one added.
    """

    def save(self, assignment: TierAssignment) -> None:
        """Add an assignment, close a stored open one, or do nothing if it is stored.

        Raises:
            ConflictError: If a different assignment is stored (or staged) under
                the same key and this is not the closing of an open one (another
                tier, cause or actor, or a ``valid_until`` that was already set);
                raised by ``save`` or, when another unit of work stored it
                meanwhile, by ``commit``.
            ValidationError: If ``assignment`` is not a `TierAssignment`.
        """
        ...

    def for_partner(self, program_id: str, partner_id: str) -> list[TierAssignment]:
        """The partner's history in the program, ordered by ``valid_from``."""
        ...

    def for_partners(
        self, program_id: str, partner_ids: Iterable[str]
    ) -> dict[str, list[TierAssignment]]:
        """`for_partner` for many partners at once, in one query per few hundred of them.

        Returns:
            Every partner id asked for, in the order asked, with its history in the
            program ordered by ``valid_from``; an empty list for a partner with none.

        Raises:
            ValidationError: If ``partner_ids`` is one string rather than several,
                or holds something other than text.
        """
        ...

    def at(self, program_id: str, partner_id: str, instant: datetime) -> TierAssignment | None:
        """The assignment covering ``instant`` (``valid_from <= instant < valid_until``).

        If hand-edited history overlaps, the one that started last wins, as in
        `partnerkit.tiers.tier_at`.

        Returns:
            The assignment, or ``None`` if the partner held no tier of the program then.

        Raises:
            ValidationError: For a naive ``instant``.
        """
        ...


@runtime_checkable
class DealRepository(Protocol):
    """Deal registrations, with ``version`` checks and an atomic claim on the customer.

    Saving (``add`` or ``update``) a registration whose status is ``approved``
    claims every key of `partnerkit.deals.customer_keys` for it; saving it in any
    other status releases its claims (a registration holds claims only while it is
    approved: ``won``, ``lost`` and ``expired`` release them like ``rejected`` and
    ``withdrawn``, and a won deal's attribution is kept by the registration itself).
    Claims are checked and taken at ``commit``, atomically with everything else:
    if any key is held by another registration (committed, or saved earlier in
    the same unit of work), the commit raises `ConflictError` and writes nothing.
    However many units of work race to approve registrations for one customer, in
    threads or processes, at most one of them commits.
    """

    def get(self, deal_id: str, /) -> DealRegistration:
        """The registration with ``deal_id``.

        Raises:
            NotFoundError: If there is none (kind ``"deal"``).
        """
        ...

    def add(self, registration: DealRegistration, /) -> DealRegistration:
        """Store a new registration (``version`` 0); return it as stored (``version`` 1).

        An approved registration claims its customer at commit.

        Raises:
            ConflictError: If a registration with its id exists.
            ValidationError: If ``registration.version`` is not 0, or it is not a
                `DealRegistration`.
        """
        ...

    def update(self, registration: DealRegistration, /) -> DealRegistration:
        """Replace the stored registration, if it is still at ``registration.version``.

        Its claims follow its new status at commit: taken if it is approved,
        released otherwise.

        Returns:
            The registration as stored, with ``version`` one higher.

        Raises:
            StaleVersionError: If the stored version differs (or it is gone);
                nothing is written.
            ValidationError: If it is not a `DealRegistration`.
        """
        ...

    def query(
        self,
        *,
        partner_id: str | None = None,
        status: DealStatus | None = None,
        customer: str | None = None,
        protection_until_after: datetime | None = None,
        protection_until_before: datetime | None = None,
        partner_ids: Sequence[str] | None = None,
        limit: int = 1000,
        cursor: str | None = None,
    ) -> Page[DealRegistration]:
        """Registrations matching every given filter, ordered by id, a page at a time.

        ``customer`` matches a registration whose normalised customer name
        (`partnerkit.deals.normalize_company_name`) contains the normalised
        ``customer``, or whose customer website's registrable domain is
        ``customer``'s (``"www.acme.com"`` finds ``shop.acme.com``). The bounds
        select ``protection_until_after < protection_until <=
        protection_until_before`` (registrations without protection match
        neither); ``partner_ids`` keeps registrations of any of those partners
        (an empty sequence keeps none). Paging is stable like
        `PartnerRepository.query`'s.

        Raises:
            ValidationError: For a ``limit`` outside 1..1000, a malformed cursor,
                a naive bound, or a ``customer`` with nothing to match on.
        """
        ...

    def active(self, *, limit: int = 1000, cursor: str | None = None) -> Page[DealRegistration]:
        """Submitted and approved registrations, ordered by id, a page at a time.

        What a process reads to build its `partnerkit.deals.ConflictIndex`.

        Raises:
            ValidationError: For a ``limit`` outside 1..1000 or a malformed cursor.
        """
        ...

    def due_to_expire(self, as_of: datetime, *, limit: int = 1000) -> list[DealRegistration]:
        """Approved registrations with ``protection_until <= as_of``, soonest first, then by id.

        At most ``limit`` of them: the expiry sweep expires and saves a batch, then
        asks again until none is left (expired ones are no longer approved).

        Raises:
            ValidationError: For a naive ``as_of`` or a ``limit`` outside 1..1000.
        """
        ...

    def expiring_within(
        self, as_of: datetime, until: datetime, *, limit: int = 1000
    ) -> list[DealRegistration]:
        """Approved registrations with ``as_of < protection_until <= until``, soonest first.

        For reminders; ties are ordered by id, at most ``limit`` are returned. To
        page past ``limit``, use `query` with ``status=approved`` and the
        ``protection_until_after`` / ``protection_until_before`` bounds.

        Raises:
            ValidationError: For a naive bound or a ``limit`` outside 1..1000.
        """
        ...

    def claims_for(self, deal_id: str) -> tuple[str, ...]:
        """The customer keys ``deal_id`` holds, sorted; ``()`` if it holds none.

        This unit of work's saved registrations count as committed: a registration
        saved as approved shows the keys it will claim.
        """
        ...

    def holder(self, key: str) -> str | None:
        """The id of the registration holding the customer key ``key``, or ``None``.

        Committed claims, with this unit of work's saved registrations applied.
        """
        ...


@runtime_checkable
class ScoringModelRepository(Protocol):
    """Scoring models stored by name, every version kept, so past scores reproduce.

    A model is identified by ``(name, version)``; versions are immutable once
    stored, except that a version may be retired (once).
    """

    def add(self, model: ScoringModel) -> StoredModel:
        """Store a model version; return it as stored (not retired).

        Raises:
            AlreadyExistsError: If that name and version are stored (or staged);
                raised by ``add`` or, when another unit of work stored it
                meanwhile, by ``commit``.
            ValidationError: If ``model`` is not a `ScoringModel`.
        """
        ...

    def get(self, name: str, *, version: int | None = None) -> StoredModel:
        """The model ``name`` at ``version``; its highest version when none is given.

        Raises:
            NotFoundError: If there is no such model (or version).
        """
        ...

    def versions(self, name: str) -> list[int]:
        """The stored versions of ``name``, ascending (``[]`` for an unknown name)."""
        ...

    def query(self, *, limit: int = 100, cursor: str | None = None) -> Page[StoredModel]:
        """The highest version of each model, ordered by name, a page at a time.

        Raises:
            ValidationError: For a ``limit`` outside 1..1000 or a malformed cursor.
        """
        ...

    def retire(self, name: str, *, version: int) -> StoredModel:
        """Retire one version of a model; return it as stored (``retired``).

        The check is optimistic: a version retired meanwhile by another unit of
        work makes ``commit`` raise `ConflictError`, and nothing is written.

        Raises:
            NotFoundError: If that name and version are not stored.
            ConflictError: If that version is already retired.
        """
        ...


@runtime_checkable
class BusinessPlanRepository(Protocol):
    """Joint business plans, with optimistic concurrency through ``BusinessPlan.version``."""

    def get(self, plan_id: str, /) -> BusinessPlan:
        """The plan with ``plan_id``.

        Raises:
            NotFoundError: If there is none.
        """
        ...

    def add(self, plan: BusinessPlan, /) -> BusinessPlan:
        """Store a new plan (``version`` 0); return it as stored (``version`` 1).

        Raises:
            ConflictError: If a plan with its id exists.
            ValidationError: If ``plan.version`` is not 0.
        """
        ...

    def update(self, plan: BusinessPlan, /) -> BusinessPlan:
        """Replace the stored plan, if it is still at ``plan.version``.

        Raises:
            StaleVersionError: If the stored version differs (or the plan is gone).
        """
        ...

    def query(
        self,
        *,
        partner_id: str | None = None,
        status: PlanStatus | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[BusinessPlan]:
        """Plans matching every given filter, ordered by id.

        Raises:
            ValidationError: For a ``limit`` outside 1..1000 or a malformed cursor.
        """
        ...


@runtime_checkable
class CheckInRepository(Protocol):
    """Check-ins, with optimistic concurrency through ``CheckIn.version``."""

    def get(self, check_in_id: str, /) -> CheckIn:
        """The check-in with ``check_in_id``.

        Raises:
            NotFoundError: If there is none.
        """
        ...

    def add(self, check_in: CheckIn, /) -> CheckIn:
        """Store a new check-in (``version`` 0); return it as stored (``version`` 1).

        Raises:
            ConflictError: If a check-in with its id exists.
            ValidationError: If ``check_in.version`` is not 0.
        """
        ...

    def update(self, check_in: CheckIn, /) -> CheckIn:
        """Replace the stored check-in (an action item done), if still at its version.

        Raises:
            StaleVersionError: If the stored version differs (or it is gone).
        """
        ...

    def query(
        self,
        *,
        partner_id: str | None = None,
        held_after: datetime | None = None,
        held_before: datetime | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[CheckIn]:
        """Check-ins matching every filter, ordered by id.

        ``held_after`` and ``held_before`` bound ``held_at`` (both included).

        Raises:
            ValidationError: For a ``limit`` outside 1..1000, a malformed cursor or
                a naive instant.
        """
        ...


@runtime_checkable
class CertificationRepository(Protocol):
    """People certifications, with optimistic concurrency through ``Certification.version``."""

    def get(self, certification_id: str, /) -> Certification:
        """The certification record with ``certification_id``.

        Raises:
            NotFoundError: If there is none.
        """
        ...

    def add(self, certification: Certification, /) -> Certification:
        """Store a new record (``version`` 0); return it as stored (``version`` 1).

        Raises:
            ConflictError: If a record with its id exists.
            ValidationError: If ``certification.version`` is not 0.
        """
        ...

    def update(self, certification: Certification, /) -> Certification:
        """Replace the stored record (issued, renewed), if still at its version.

        Raises:
            StaleVersionError: If the stored version differs (or it is gone).
        """
        ...

    def query(
        self,
        *,
        partner_id: str | None = None,
        person: str | None = None,
        name: str | None = None,
        expires_before: date | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[Certification]:
        """Records matching every filter, ordered by id.

        ``expires_before`` keeps records whose latest term expires on or before that
        day (never-issued ones have no expiry and are left out): the renewal sweep.

        Raises:
            ValidationError: For a ``limit`` outside 1..1000 or a malformed cursor.
        """
        ...


@runtime_checkable
class IncentivePlanRepository(Protocol):
    """Incentive plans by id, every version kept, so past statements replay.

    A plan is identified by ``(plan.id, plan.version)``; a stored version never
    changes.
    """

    def add(self, plan: IncentivePlan) -> IncentivePlan:
        """Store a plan version; return it.

        Raises:
            AlreadyExistsError: If that id and version are stored (or staged)
                with other content; raised by ``add`` or, when another unit of
                work stored it meanwhile, by ``commit``. Adding the very same
                plan again does nothing.
        """
        ...

    def get(self, plan_id: str, *, version: int | None = None) -> IncentivePlan:
        """The plan ``plan_id`` at ``version``; its highest version when none is given.

        Raises:
            NotFoundError: If there is no such plan (or version).
        """
        ...

    def versions(self, plan_id: str) -> list[int]:
        """The stored versions of ``plan_id``, ascending (``[]`` for an unknown id)."""
        ...


@runtime_checkable
class StatementRepository(Protocol):
    """Incentive statements by id (`partnerkit.incentives.statement_id`), versioned.

    A statement is added once per plan, partner and period; its status and
    payment fields change through ``update``, which checks the version.
    """

    def get(self, statement_id: str, /) -> Statement:
        """The statement with id ``statement_id``.

        Raises:
            NotFoundError: If there is none.
        """
        ...

    def add(self, statement: Statement, /) -> Statement:
        """Store a new statement; return it as stored (version 1).

        Raises:
            AlreadyExistsError: If a statement with its id is stored (or staged);
                raised by ``add`` or, when another unit of work stored it
                meanwhile, by ``commit``.
        """
        ...

    def update(self, statement: Statement, /) -> Statement:
        """Replace the stored statement read at ``statement.version``.

        Returns it as stored, with the version one higher.

        Raises:
            NotFoundError: If it is not stored.
            StaleVersionError: If it changed since it was read (by ``update`` or
                ``commit``).
        """
        ...

    def query(
        self,
        *,
        partner_id: str | None = None,
        plan_id: str | None = None,
        status: StatementStatus | None = None,
        period_start: datetime | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[Statement]:
        """Statements matching every filter given, ordered by id, a page at a time.

        Raises:
            ValidationError: For a ``limit`` outside 1..1000 or a malformed cursor.
        """
        ...


@runtime_checkable
class FundBudgetRepository(Protocol):
    """Fund budgets, with ``version`` checks: two writers of one budget never both commit."""

    def get(self, budget_id: str, /) -> FundBudget:
        """The budget with ``budget_id``.

        Raises:
            NotFoundError: If there is none (kind ``"fund budget"``).
        """
        ...

    def add(self, budget: FundBudget, /) -> FundBudget:
        """Store a new budget (``version`` 0); return it as stored (``version`` 1).

        Raises:
            AlreadyExistsError: If a budget with its id exists (at ``add`` or at
                ``commit``).
            ValidationError: If it is not a `FundBudget` at version 0.
        """
        ...

    def update(self, budget: FundBudget, /) -> FundBudget:
        """Replace the stored budget if it is still at ``budget.version``.

        Returns:
            The budget as stored, one version higher.

        Raises:
            StaleVersionError: If the stored version differs (now or at commit);
                nothing is written.
        """
        ...

    def query(
        self,
        *,
        program_id: str | None = None,
        status: BudgetStatus | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[FundBudget]:
        """Budgets matching every given filter, ordered by id, a page at a time.

        Raises:
            ValidationError: For a ``limit`` outside 1..1000 or a malformed cursor.
        """
        ...


@runtime_checkable
class FundRequestRepository(Protocol):
    """Fund requests (pre-approvals), with ``version`` checks."""

    def get(self, request_id: str, /) -> FundRequest:
        """The request with ``request_id``.

        Raises:
            NotFoundError: If there is none (kind ``"fund request"``).
        """
        ...

    def add(self, request: FundRequest, /) -> FundRequest:
        """Store a new request (``version`` 0); return it as stored (``version`` 1).

        Raises:
            AlreadyExistsError: If a request with its id exists.
            ValidationError: If it is not a `FundRequest` at version 0.
        """
        ...

    def update(self, request: FundRequest, /) -> FundRequest:
        """Replace the stored request if it is still at ``request.version``.

        Raises:
            StaleVersionError: If the stored version differs; nothing is written.
        """
        ...

    def query(
        self,
        *,
        budget_id: str | None = None,
        partner_id: str | None = None,
        status: RequestStatus | None = None,
        partner_ids: Sequence[str] | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[FundRequest]:
        """Requests matching every given filter, ordered by id, a page at a time.

        ``partner_ids`` keeps requests of any of those partners (an empty
        sequence keeps none): what a service passes to show an actor only what it
        may see.

        Raises:
            ValidationError: For a ``limit`` outside 1..1000 or a malformed cursor.
        """
        ...


@runtime_checkable
class FundClaimRepository(Protocol):
    """Claims for reimbursement, with ``version`` checks."""

    def get(self, claim_id: str, /) -> FundClaim:
        """The claim with ``claim_id``.

        Raises:
            NotFoundError: If there is none (kind ``"fund claim"``).
        """
        ...

    def add(self, claim: FundClaim, /) -> FundClaim:
        """Store a new claim (``version`` 0); return it as stored (``version`` 1).

        Raises:
            AlreadyExistsError: If a claim with its id exists.
            ValidationError: If it is not a `FundClaim` at version 0.
        """
        ...

    def update(self, claim: FundClaim, /) -> FundClaim:
        """Replace the stored claim if it is still at ``claim.version``.

        Raises:
            StaleVersionError: If the stored version differs; nothing is written.
        """
        ...

    def query(
        self,
        *,
        budget_id: str | None = None,
        request_id: str | None = None,
        partner_id: str | None = None,
        status: ClaimStatus | None = None,
        partner_ids: Sequence[str] | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[FundClaim]:
        """Claims matching every given filter, ordered by id, a page at a time.

        Raises:
            ValidationError: For a ``limit`` outside 1..1000 or a malformed cursor.
        """
        ...


@runtime_checkable
class LeadRepository(Protocol):
    """Leads, with optimistic concurrency through ``Lead.version``.

    The version check is what keeps a lead with one partner: two workers that
    read a lead and offer it at once both update it from the same version, and
    only the first commit succeeds; the other raises `StaleVersionError`.
    """

    def get(self, lead_id: str, /) -> Lead:
        """The lead with ``lead_id``.

        Raises:
            NotFoundError: If there is none (kind ``"lead"``).
        """
        ...

    def add(self, lead: Lead, /) -> Lead:
        """Store a new lead (``version`` 0) and return it as stored (``version`` 1).

        Raises:
            ConflictError: If a lead with its id exists.
            ValidationError: If ``lead.version`` is not 0, or it is not a `Lead`.
        """
        ...

    def update(self, lead: Lead, /) -> Lead:
        """Replace the stored lead, if it is still at ``lead.version``.

        Returns:
            The lead as stored, with ``version`` one higher.

        Raises:
            StaleVersionError: If the stored version differs (or the lead is
                gone); nothing is written.
            ValidationError: If it is not a `Lead`.
        """
        ...

    def query(
        self,
        *,
        status: LeadStatus | None = None,
        partner_id: str | None = None,
        partner_ids: Sequence[str] | None = None,
        offered_since: datetime | None = None,
        limit: int = 1000,
        cursor: str | None = None,
    ) -> Page[Lead]:
        """Leads matching every given filter, ordered by id, a page at a time.

        ``partner_id`` and ``partner_ids`` match the partner holding the lead
        (`Lead.partner_id`: offered to it, or accepted by it and after);
        ``offered_since`` keeps leads last offered at or after that instant (a
        lead offered to anyone since then has its latest offer since then).
        Paging is stable like `PartnerRepository.query`'s.

        Raises:
            ValidationError: For a ``limit`` outside 1..1000, a malformed cursor
                or a naive ``offered_since``.
        """
        ...

    def due_to_lapse(self, as_of: datetime, *, limit: int = 1000) -> list[Lead]:
        """Offered leads whose offer expires at or before ``as_of``, soonest first, then by id.

        At most ``limit``: the SLA sweep lapses and re-offers a batch, then asks
        again until none is left.

        Raises:
            ValidationError: For a naive ``as_of`` or a ``limit`` outside 1..1000.
        """
        ...


@runtime_checkable
class UnitOfWork(Protocol):
    """One atomic piece of work across every repository.

    Use it as a context manager. Reads see the work's own uncommitted writes.
    ``commit()`` makes everything written since the last commit durable and visible
    at once, together with the published events; leaving the ``with`` block
    without committing, or with an exception, rolls everything back::

        with storage.unit_of_work() as uow:
            partner, events = activate(uow.partners.get("ptn_1"), actor=..., at=...)
            uow.partners.update(partner)
            uow.publish(*events)
            uow.commit()
        delivered = uow.events      # the committed events, with their outbox ids

    After a commit or rollback the same unit of work may be used for more work.
    """

    partners: PartnerRepository
    activities: ActivityLedger
    scores: ScoreRepository
    programs: ProgramRepository
    memberships: MembershipRepository
    tier_history: TierHistoryRepository
    deals: DealRepository
    models: ScoringModelRepository
    statements: StatementRepository
    incentive_plans: IncentivePlanRepository
    plans: BusinessPlanRepository
    check_ins: CheckInRepository
    certifications: CertificationRepository
    fund_budgets: FundBudgetRepository
    fund_requests: FundRequestRepository
    fund_claims: FundClaimRepository
    leads: LeadRepository

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None:
        """Write everything atomically, or nothing.

        After a commit that raised `StaleVersionError` or `ConflictError` the staged
        work is discarded (it could never succeed): reload and redo it. After a
        `StorageBusyError` it is kept, so calling ``commit()`` again retries it.

        Raises:
            StaleVersionError: If a partner, program, membership, deal
                registration, fund budget, fund request or fund claim changed
                since it was read.
            ConflictError: If an added record's id was taken meanwhile, a
                different score was stored under an added score's key, a tier
                assignment was stored meanwhile that the saved one may not replace,
                or an approved registration needs a customer key another
                registration holds.
            StorageError: If the backend failed; nothing was written.
        """
        ...

    def rollback(self) -> None:
        """Discard everything written and published since the last commit."""
        ...

    def publish(self, *events: Event) -> None:
        """Queue events; they reach the outbox only if the work commits."""
        ...

    @property
    def events(self) -> tuple[EventRecord, ...]:
        """The events the last commit recorded, in order, with their outbox ids."""
        ...


@runtime_checkable
class Storage(Protocol):
    """A partnerkit store: hands out units of work and keeps the event outbox."""

    def unit_of_work(self) -> UnitOfWork:
        """A new unit of work."""
        ...

    def pending_events(self, *, limit: int = 100) -> list[EventRecord]:
        """Committed events not yet marked delivered, oldest first."""
        ...

    def mark_delivered(self, event_ids: Iterable[str]) -> None:
        """Mark events delivered; unknown ids are ignored."""
        ...

    def close(self) -> None:
        """Release connections and files. Using the store afterwards is an error."""
        ...
