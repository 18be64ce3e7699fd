"""Use cases a host application calls: each one checked, atomic and announced.

A `Services` object ties a store, a clock, an access policy and an event bus
together. Every call:

1. names the `Actor` doing it, and is refused (nothing changed) unless the policy
   allows it: with `PermissionDeniedError` when the actor may see the record, and
   with the same `NotFoundError` as for a record that does not exist when it may
   not, so a refusal never tells a partner user what another partner has;
2. takes intent, never a stored object: a new `DealDraft`, `DealChanges` to a
   registration, `PartnerChanges`, an `OverrideRequest`, or an id and a reason.
   Status, history, decisions, ownership, authorship, ``registered_at``, ids of
   new records and versions are the service's to set;
3. runs in one unit of work: it reads, applies partnerkit's rules, writes, and
   commits, or changes nothing at all;
4. returns a `Result`: the new value and the domain events the change produced,
   which were committed to the outbox with it and then delivered to the event
   bus's subscribers. What a partner user gets back is redacted: conflicts with
   other partners' registrations say that the customer is already registered and
   until when it is protected, never by whom.

Reads go through the services too (`get_partner`, `list_partners`, `get_deal`,
`list_deals`, scores, tier memberships and history, activities): each is checked
against the policy, and lists are filtered in the storage query by what the actor
may see, so a page never holds another partner's records.

A call that loses a race with another writer (`StaleVersionError`) is retried from
a fresh read a few times before the error reaches the caller, so concurrent
managers acting on one partner do not see spurious failures.
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Final, Generic, TypeVar

import attrs

from partnerkit._base.events import Event
from partnerkit._base.ids import IdGenerator, check_id
from partnerkit._base.money import Money
from partnerkit._base.time import Clock, Period, SystemClock, to_utc
from partnerkit.access import DEFAULT_POLICY, AccessPolicy, Action, Actor, Scope
from partnerkit.deals import (
    DEFAULT_PROTECTION,
    Conflict,
    ConflictIndex,
    ConflictOutcome,
    Customer,
    DealRegistration,
    DealStatus,
    ExtensionPolicy,
    MatchKind,
    PartyKind,
    amend,
    approve,
    approve_extension,
    deny_extension,
    expire_due,
    find_conflicts,
    lose,
    reject,
    request_extension,
    screen,
    submit,
    win,
    withdraw,
)
from partnerkit.errors import (
    AlreadyExistsError,
    CurrencyMismatchError,
    NotFoundError,
    PartnerkitError,
    Problems,
    StaleVersionError,
    ValidationError,
)
from partnerkit.events import EventBus
from partnerkit.health import (
    HealthScore,
    Override,
    ScoreBatch,
    ScoringModel,
    apply_override,
    score,
    score_batch,
    withdraw_override,
)
from partnerkit.ledger import Activity, ActivityKind
from partnerkit.metrics import MetricDefinition, MetricSnapshot, compute_snapshots
from partnerkit.partners import (
    Contact,
    CustomFieldSchema,
    CustomValue,
    OnboardingPlan,
    Partner,
    PartnerStatus,
    activate,
    complete_onboarding_step,
    reinstate,
    set_parent,
    start_onboarding,
    suspend,
    terminate,
)
from partnerkit.storage import Page, StoredModel, StoredProgram
from partnerkit.storage._staging import (
    DEAL_CHANGES,
    DEALS,
    MAX_KEYS,
    Condition,
    Query,
    _Deals,
    partner_name_key,
    search_key,
)
from partnerkit.tiers import (
    Membership,
    MembershipStatus,
    Program,
    ReviewRun,
    TierAssignment,
    TierChangeCause,
    apply_tier_events,
    approve_downgrade,
    pin_tier,
    record_tier_change,
    reject_downgrade,
    review,
    unpin,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from partnerkit._base.events import Change, Scalar
    from partnerkit._base.money import RateSource
    from partnerkit.storage import AppendResult, CommittedReads, Storage, UnitOfWork

__all__ = [
    "ConflictNotice",
    "DealChanges",
    "DealDraft",
    "OverrideRequest",
    "PartnerChanges",
    "Result",
    "Services",
    "Skipped",
]

T = TypeVar("T")
_LOG = logging.getLogger("partnerkit.services")
_RETRIES = 5
_TICK = timedelta(microseconds=1)
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_PROBE: Final = "probe"
_MAX_PAGE: Final = 1000


# Intent: what callers may ask for. Everything else is the service's to decide.


def _probe_problems(error: ValidationError, fields: Iterable[str]) -> list[tuple[str, str]]:
    wanted = tuple(fields)
    return [
        (problem.path, problem.message)
        for problem in error.problems
        if problem.path.split(".")[0].split("[")[0] in wanted
    ]


@attrs.frozen
class DealDraft:
    """A new deal registration as a partner submits it: the customer and the deal.

    Everything else (the id, the partner, status, history, decisions,
    ``registered_at``, the version) is set by `Services.submit_deal`.

    Attributes:
        customer: The end customer.
        amount: The expected deal value (not negative).
        expected_close_on: When the partner expects to close it.
        products: What the partner sells (at least one to submit).
        notes: Free text for the reviewer.
    """

    customer: Customer
    amount: Money
    expected_close_on: date
    products: tuple[str, ...] = ()
    notes: str = ""

    def __attrs_post_init__(self) -> None:
        try:
            probe = DealRegistration(
                id=_PROBE,
                partner_id=_PROBE,
                customer=self.customer,
                amount=self.amount,
                expected_close_on=self.expected_close_on,
                registered_at=_EPOCH,
                products=self.products,
                notes=self.notes,
            )
        except ValidationError as error:
            raise ValidationError(error.problems) from None
        object.__setattr__(self, "expected_close_on", probe.expected_close_on)
        object.__setattr__(self, "products", probe.products)
        object.__setattr__(self, "notes", probe.notes)

    @classmethod
    def of(cls, registration: DealRegistration) -> DealDraft:
        """The draft content of ``registration``, without anything the service sets."""
        return cls(
            customer=registration.customer,
            amount=registration.amount,
            expected_close_on=registration.expected_close_on,
            products=registration.products,
            notes=registration.notes,
        )


@attrs.frozen
class DealChanges:
    """Changes to a registration's details; ``None`` leaves a field as it is.

    What may change depends on the status (see `partnerkit.deals.amend`): everything
    in a draft; products, amount, close date and notes once submitted; amount,
    close date and notes once approved; nothing after that.
    """

    customer: Customer | None = None
    amount: Money | None = None
    expected_close_on: date | None = None
    products: tuple[str, ...] | None = None
    notes: str | None = None

    def __attrs_post_init__(self) -> None:
        given = {f.name for f in attrs.fields(DealChanges) if getattr(self, f.name) is not None}
        try:
            probe = DealRegistration(
                id=_PROBE,
                partner_id=_PROBE,
                customer=self.customer or Customer(_PROBE, "FI"),
                amount=self.amount or Money(0, "EUR"),
                expected_close_on=self.expected_close_on or _EPOCH.date(),
                registered_at=_EPOCH,
                products=self.products or (),
                notes=self.notes or "",
            )
        except ValidationError as error:
            raise ValidationError(error.problems) from None
        for name in given & {"expected_close_on", "products", "notes"}:
            object.__setattr__(self, name, getattr(probe, name))

    @property
    def is_empty(self) -> bool:
        """Whether it changes nothing."""
        return all(getattr(self, f.name) is None for f in attrs.fields(DealChanges))


@attrs.frozen
class PartnerChanges:
    """Changes to a partner's profile; ``None`` leaves a field as it is.

    Attributes:
        contacts: The whole new list of contacts (exactly one primary).
        domains: The whole new list of website domains.
        custom_fields: Custom field values to set; a value of ``None`` removes the
            field. Checked against the host's `CustomFieldSchema`.
        owner_id: The channel manager who owns the relationship from now on
            (needs ``partner.reassign``).
    """

    contacts: tuple[Contact, ...] | None = None
    domains: tuple[str, ...] | None = None
    custom_fields: dict[str, CustomValue | None] | None = None
    owner_id: str | None = None

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        try:
            probe = Partner(
                id=_PROBE,
                name=_PROBE,
                type="reseller",
                country="FI",
                created_at=_EPOCH,
                contacts=self.contacts if self.contacts is not None else (),
                domains=self.domains if self.domains is not None else (),
                owner_id=self.owner_id,
            )
        except ValidationError as error:
            for path, message in _probe_problems(error, ("contacts", "domains", "owner_id")):
                problems.add(path, message)
            probe = None
        if self.custom_fields is not None:
            if not isinstance(self.custom_fields, Mapping):
                problems.add("custom_fields", "expected a dict of custom field values")
            else:
                for name in self.custom_fields:
                    if not isinstance(name, str) or not name:
                        problems.add("custom_fields", f"{name!r} is not a field name")
                object.__setattr__(self, "custom_fields", dict(self.custom_fields))
        problems.raise_if_any()
        if probe is not None:
            if self.contacts is not None:
                object.__setattr__(self, "contacts", probe.contacts)
            if self.domains is not None:
                object.__setattr__(self, "domains", probe.domains)

    @property
    def is_empty(self) -> bool:
        """Whether it changes nothing."""
        return all(getattr(self, f.name) is None for f in attrs.fields(PartnerChanges))


@attrs.frozen
class OverrideRequest:
    """A manager's override of a partner's health score; the service adds who and when.

    Attributes:
        reason: Why (required).
        expires_at: When it lapses by itself.
        value: The value to show (0..100, one decimal place); or
        band: the band to show. Give exactly one.
    """

    reason: str
    expires_at: datetime
    value: Decimal | None = None
    band: str | None = None

    def __attrs_post_init__(self) -> None:
        try:
            expires = to_utc(self.expires_at, "expires_at")
            probe = Override(
                _PROBE,
                self.reason,
                created_at=expires - _TICK,
                expires_at=expires,
                value=self.value,
                band=self.band,
            )
        except ValidationError as error:
            raise ValidationError(error.problems) from None
        object.__setattr__(self, "reason", probe.reason)
        object.__setattr__(self, "expires_at", probe.expires_at)
        object.__setattr__(self, "value", probe.value)


# What the services answer.


@attrs.frozen
class ConflictNotice:
    """One conflict found for a registration, as the acting user may be told it.

    Attributes:
        registration_id: The registration that was checked.
        outcome: What it means for that registration.
        has_priority: Whether that registration keeps priority.
        matched: What kinds of evidence matched.
        message: The conflict in words. For a user who may see the other side, the
            full explanation (`partnerkit.deals.Conflict.explain`); for anyone
            else, only that the customer is already registered and until when it
            is protected.
        protection_until: When the other registration's protection ends (``None``
            while it awaits a decision, and for the vendor's own accounts).
        conflict: The whole conflict, with the other registration and partner,
            for users who may see them; ``None`` otherwise.
    """

    registration_id: str
    outcome: ConflictOutcome
    has_priority: bool
    matched: tuple[MatchKind, ...]
    message: str
    protection_until: datetime | None = None
    conflict: Conflict | None = None


@attrs.frozen
class Skipped:
    """A partner a review or scoring run left out, and why.

    Attributes:
        partner_id: The partner.
        reason: What could not be computed, such as money in a currency that could
            not be converted into the metric's currency.
    """

    partner_id: str
    reason: str


@attrs.frozen
class Result(Generic[T]):
    """What a service call did.

    Attributes:
        value: The new state (a partner, an append result...).
        events: The domain events committed with it, in order (redacted for users
            who may not see another partner's records).
        conflicts: For `Services.submit_deal`: the conflicts found, explained as
            far as the acting user may be told.
        skipped: For reviews and scoring: partners left out, and why.
    """

    value: T
    events: tuple[Event, ...] = ()
    conflicts: tuple[ConflictNotice, ...] = ()
    skipped: tuple[Skipped, ...] = ()


@attrs.frozen
class _Slice:
    """One part of what an actor may see: a partner, its children, or an owner's partners."""

    partner_id: str | None = None
    parent_id: str | None = None
    owner_id: str | None = None

    def covers(self, partner: Partner) -> bool:
        if self.partner_id is not None:
            return partner.id == self.partner_id
        if self.parent_id is not None:
            return partner.parent_id == self.parent_id
        return partner.owner_id == self.owner_id


def _slices(policy: AccessPolicy, actor: Actor, action: str) -> list[_Slice] | None:
    """What ``actor`` may ``action``, as query filters; ``None`` means everything."""
    scopes = policy.scopes(actor, action)
    if Scope.ANY in scopes:
        return None
    found: list[_Slice] = []
    own = actor.partner_id
    if own is not None and scopes & {Scope.OWN, Scope.OWN_AND_CHILDREN}:
        found.append(_Slice(partner_id=own))
    if own is not None and Scope.OWN_AND_CHILDREN in scopes:
        found.append(_Slice(parent_id=own))
    if Scope.OWNED in scopes:
        found.append(_Slice(owner_id=actor.id))
    return found


def _split_cursor(cursor: str | None) -> tuple[int, str | None]:
    if cursor is None:
        return 0, None
    head, bar, tail = cursor.partition("|") if isinstance(cursor, str) else ("", "", "")
    if not bar or not head.isdigit():
        raise ValidationError.single("cursor", "malformed cursor; pass next_cursor as given")
    return int(head), tail or None


def _check_limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= _MAX_PAGE:
        raise ValidationError.single("limit", f"expected a whole number from 1 to {_MAX_PAGE}")
    return limit


def _missing(kind: str, key: str) -> NotFoundError:
    # The same error for "not there" and "not yours": a refusal tells nothing.
    return NotFoundError(kind, key)


def _days(within: Period | int) -> Period:
    if isinstance(within, bool) or not isinstance(within, (Period, int)):
        raise ValidationError.single("expiring_within", "expected a number of days or a Period")
    period = Period.of_days(within) if isinstance(within, int) else within
    if isinstance(within, int) and within < 1:
        raise ValidationError.single("expiring_within", "give a positive number of days")
    return period


def _deprecated(old: str, new: str) -> None:
    warnings.warn(
        f"{old} is deprecated and will be removed; {new}", DeprecationWarning, stacklevel=3
    )


class _CallerStaleError(StaleVersionError):
    """A version the caller named is not the stored one: retrying cannot help."""


def _cursor_key(cursor: str | None) -> tuple[str | None, str | None]:
    """Split a deal-list cursor into the partner key it resumes at and the inner cursor."""
    if cursor is None:
        return None, None
    length, colon, rest = cursor.partition(":") if isinstance(cursor, str) else ("", "", "")
    if not colon or not length.isdigit() or len(rest) < int(length):
        raise ValidationError.single("cursor", "malformed cursor; pass next_cursor as given")
    size = int(length)
    return rest[:size], rest[size:] or None


def _make_cursor(key: str, inner: str | None) -> str:
    return f"{len(key)}:{key}{inner or ''}"


def _every(fetch: Callable[[str | None], Page[T]]) -> list[T]:
    """Every item of a paged query."""
    found: list[T] = []
    cursor: str | None = None
    while True:
        page = fetch(cursor)
        found.extend(page.items)
        if page.next_cursor is None:
            return found
        cursor = page.next_cursor


def _conflict_seen(conflict: Conflict, sees: Callable[[str | None], bool]) -> bool:
    if conflict.other_kind is PartyKind.REGISTRATION:
        return sees(conflict.other_partner_id)
    return sees(None)


def _told(conflict: Conflict, until: datetime | None) -> str:
    """A conflict in words that name neither the other partner nor its registration."""
    if conflict.other_kind is PartyKind.DIRECT_OPPORTUNITY:
        said = "the vendor's own sales team is already working this customer"
    elif conflict.other_kind is PartyKind.EXISTING_CUSTOMER:
        said = "this customer already buys from the vendor directly"
    elif conflict.has_priority:
        return (
            "another partner registered this customer after you; your registration keeps priority"
        )
    elif until is not None:
        said = (
            f"this customer is already registered by another partner and protected until "
            f"{until.isoformat()}"
        )
    else:
        said = "this customer is already registered by another partner, awaiting a decision"
    if conflict.outcome is ConflictOutcome.REJECT:
        return f"{said}; your registration was rejected as a duplicate"
    return f"{said}; a channel manager will review your registration"


def _told_event(event: Event, notice: ConflictNotice) -> Event:
    data: dict[str, Scalar] = {
        key: event.data.get(key)
        for key in ("partner_id", "other_kind", "rule", "outcome", "has_priority", "confidence")
        if key in event.data
    }
    data["matched"] = ",".join(kind.value for kind in notice.matched)
    data["reason"] = notice.message
    data["protection_until"] = (
        None if notice.protection_until is None else notice.protection_until.isoformat()
    )
    return Event(event.kind, event.subject_id, event.occurred_at, event.actor, data)


def _screened_through(
    registration: DealRegistration, mark: int, screened: Sequence[Conflict]
) -> Callable[[CommittedReads], None]:
    """A commit guard: refuse if a registration changed after ``mark`` alters the screen.

    Run inside the commit's lock or transaction, it compares ``registration`` with
    every registration whose latest change is numbered above ``mark`` (usually
    none or a few) and raises `StaleVersionError` when the conflicts with them
    differ from those ``screened``, so the work is screened again on fresh state.
    """
    seen = {(conflict.other_id, conflict.outcome) for conflict in screened}

    def check(reads: CommittedReads) -> None:
        where = (Condition("seq", ">", mark),)
        changed = reads.find(Query(DEAL_CHANGES, where, ("seq",), purpose="re-screening a deal"))
        ids = [change.deal_id for change in changed if change.deal_id != registration.id]
        if not ids:
            return
        index = ConflictIndex()
        for start in range(0, len(ids), MAX_KEYS):
            for other in reads.load(DEALS, ids[start : start + MAX_KEYS]).values():
                index.sync(other)
        found = {(c.other_id, c.outcome) for c in find_conflicts(registration, index)}
        if found != {pair for pair in seen if pair[0] in set(ids)}:
            raise StaleVersionError("deal screening", registration.id, mark, changed[-1].seq)

    return check


class Services:
    """The use cases over one store.

    Args:
        storage: Where everything lives (`MemoryStorage`, `SqliteStorage`, yours).
        clock: What "now" is (the system clock by default; a `FixedClock` in tests).
        policy: Who may do what (`DEFAULT_POLICY` by default).
        bus: Delivers committed events to subscribers after every call; one is
            created on ``storage`` when not given.
        extension_policy: Limits on deal protection extensions (the deals
            module's defaults when not given).
        rates: Converts money into a metric's reporting currency in tier reviews
            and scoring.
        ids: Mints the ids of new records, called with a prefix such as
            ``"deal"`` (an `IdGenerator` on ``clock`` by default).
        custom_fields: The custom fields partners may carry; `update_partner`
            checks changes against it.

    Example::

        services = Services(SqliteStorage("partners.db"))
        services.bus.subscribe(send_welcome_email, kinds={"partner.status_changed"})
        result = services.activate_partner(manager, "ptn_1")
    """

    def __init__(
        self,
        storage: Storage,
        *,
        clock: Clock | None = None,
        policy: AccessPolicy = DEFAULT_POLICY,
        bus: EventBus | None = None,
        extension_policy: ExtensionPolicy | None = None,
        rates: RateSource | None = None,
        ids: Callable[[str], str] | None = None,
        custom_fields: CustomFieldSchema | None = None,
    ) -> None:
        self.storage = storage
        self.clock = clock or SystemClock()
        self.policy = policy
        self.bus = bus or EventBus(storage)
        self.extension_policy = extension_policy
        self.rates = rates
        self.ids: Callable[[str], str] = ids or IdGenerator(self.clock)
        self.custom_fields = custom_fields
        self._conflicts: ConflictIndex | None = None
        # The last deal change (`DealChange.seq`) the index has taken in.
        self._mark = 0
        self._index_lock = threading.Lock()

    # The machinery every use case shares.

    def _run(self, work: Callable[[UnitOfWork], Result[T]]) -> Result[T]:
        for attempt in range(_RETRIES):
            try:
                with self.storage.unit_of_work() as uow:
                    result = work(uow)
                    uow.publish(*result.events)
                    uow.commit()
                break
            except _CallerStaleError:
                raise
            except StaleVersionError:
                if attempt == _RETRIES - 1:
                    raise
        try:
            self.bus.deliver()
        except PartnerkitError:
            # The work is committed and its events are safe in the outbox: a store
            # hiccup while delivering must not make the caller think it failed.
            _LOG.exception("committed, but delivering events failed; they stay in the outbox")
        return result

    def _allow(
        self, actor: Actor, action: str, partner: Partner, *, view: str, kind: str, key: str
    ) -> None:
        """Check ``action``; to an actor who may not even see the record, say it is not there."""
        if self.policy.allows(actor, action, partner):
            return
        if not self.policy.allows(actor, view, partner):
            raise _missing(kind, key)
        self.policy.check(actor, action, partner)

    def _partner(
        self,
        uow: UnitOfWork,
        actor: Actor,
        action: str,
        partner_id: str,
        *,
        view: str = Action.PARTNER_VIEW,
    ) -> Partner:
        """The partner ``action`` is about, once the actor may do it.

        Raises:
            NotFoundError: If there is none, or the actor may not see it (the same error).
            PermissionDeniedError: If the actor sees it but may not do ``action``.
        """
        check_id(partner_id, "partner_id")
        try:
            partner = uow.partners.get(partner_id)
        except NotFoundError:
            raise _missing("partner", partner_id) from None
        self._allow(actor, action, partner, view=view, kind="partner", key=partner_id)
        return partner

    def _deal(self, uow: UnitOfWork, actor: Actor, action: str, deal_id: str) -> DealRegistration:
        """The registration ``action`` is about, once the actor may do it.

        Raises:
            NotFoundError: If there is none, or the actor may not see it (the same error).
            PermissionDeniedError: If the actor sees it but may not do ``action``.
        """
        check_id(deal_id, "deal_id")
        try:
            registration = uow.deals.get(deal_id)
            partner = uow.partners.get(registration.partner_id)
        except NotFoundError:
            raise _missing("deal", deal_id) from None
        self._allow(actor, action, partner, view=Action.DEAL_VIEW, kind="deal", key=deal_id)
        return registration

    def _seer(
        self, uow: UnitOfWork, actor: Actor, action: str = Action.DEAL_VIEW
    ) -> Callable[[str | None], bool]:
        """Whether the actor may see a partner's records (``None``: the vendor's own)."""
        if self.policy.allows(actor, action):  # a rule of scope "any": sees everything
            return lambda _partner_id: True
        known: dict[str, bool] = {}

        def sees(partner_id: str | None) -> bool:
            if partner_id is None:
                return False
            if partner_id not in known:
                try:
                    partner = uow.partners.get(partner_id)
                except NotFoundError:
                    known[partner_id] = False
                else:
                    known[partner_id] = self.policy.allows(actor, action, partner)
            return known[partner_id]

        return sees

    @staticmethod
    def _shown(
        registration: DealRegistration, sees: Callable[[str | None], bool]
    ) -> DealRegistration:
        """The registration without the conflicts with records the actor may not see."""
        if not any(d.conflicts for d in registration.decisions):
            return registration
        decisions = tuple(
            attrs.evolve(d, conflicts=tuple(c for c in d.conflicts if _conflict_seen(c, sees)))
            for d in registration.decisions
        )
        return attrs.evolve(registration, decisions=decisions)

    @staticmethod
    def _stale(kind: str, key: str, expected: int | None, actual: int) -> None:
        if expected is not None and expected != actual:
            raise _CallerStaleError(kind, key, expected, actual)

    def _change_partner(
        self,
        actor: Actor,
        action: Action,
        partner_id: str,
        change: Callable[[Partner, datetime], Change[Partner]],
    ) -> Result[Partner]:
        def work(uow: UnitOfWork) -> Result[Partner]:
            partner = self._partner(uow, actor, action, partner_id)
            updated, events = change(partner, self.clock.now())
            if not events and updated == partner:
                return Result(partner)
            return Result(uow.partners.update(updated), events)

        return self._run(work)

    # Partners.

    def get_partner(self, actor: Actor, partner_id: str) -> Partner:
        """Read a partner the actor may see (``partner.view``).

        Raises:
            NotFoundError: If there is none, or the actor may not see it: one answer
                for both, so nobody learns which partners exist.
        """
        with self.storage.unit_of_work() as uow:
            return self._partner(uow, actor, Action.PARTNER_VIEW, partner_id)

    def list_partners(
        self,
        actor: Actor,
        *,
        status: PartnerStatus | None = None,
        type: str | None = None,  # noqa: A002 - the domain word
        owner_id: str | None = None,
        country: str | None = None,
        parent_id: str | None = None,
        name: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[Partner]:
        """The partners the actor may see (``partner.view``) that match every filter.

        ``name`` searches names as the deal desk compares customer names
        (`partnerkit.deals.normalize_company_name`, then a substring): ``"nordic
        cloud"`` finds "Nordic Cloud Oy" and "NORDIC-CLOUD GmbH".

        The actor's scope is part of the storage query: a partner user's pages
        hold its own partner (and its children where the policy grants
        ``own_and_children``), a manager limited to ``owned`` gets the partners it
        owns. Results come in a stable order; pass ``next_cursor`` back as
        ``cursor`` for the next page.

        Raises:
            ValidationError: For a ``limit`` outside 1..1000, a malformed cursor or
                a ``name`` with no letters or digits.
        """
        size = _check_limit(limit)
        if name is not None:
            search_key("name", name)  # refused before anything is read
        slices = _slices(self.policy, actor, Action.PARTNER_VIEW)
        parts = [_Slice()] if slices is None else slices
        index, inner = _split_cursor(cursor)
        items: list[Partner] = []
        with self.storage.unit_of_work() as uow:
            while index < len(parts) and len(items) < size:
                part = parts[index]
                found, inner = self._partner_slice(
                    uow,
                    part,
                    {
                        "status": status,
                        "type": type,
                        "owner_id": owner_id,
                        "country": country,
                        "parent_id": parent_id,
                        "name": name,
                    },
                    size - len(items),
                    inner,
                )
                items += [p for p in found if not any(e.covers(p) for e in parts[:index])]
                if inner is None:
                    index += 1
        following = None if index >= len(parts) else f"{index}|{inner or ''}"
        return Page(tuple(items), following)

    @staticmethod
    def _partner_slice(
        uow: UnitOfWork,
        part: _Slice,
        filters: dict[str, str | None],
        limit: int,
        cursor: str | None,
    ) -> tuple[list[Partner], str | None]:
        if part.partner_id is not None:
            try:
                partner = uow.partners.get(part.partner_id)
            except NotFoundError:
                return [], None
            wanted_name = filters.get("name")
            matches = all(
                wanted is None or getattr(partner, field) == wanted
                for field, wanted in filters.items()
                if field != "name"
            )
            if wanted_name is not None:
                matches = matches and search_key("name", wanted_name) in partner_name_key(partner)
            return ([partner] if matches else []), None
        query = dict(filters)
        for name in ("owner_id", "parent_id"):
            forced = getattr(part, name)
            if forced is not None:
                if query[name] is not None and query[name] != forced:
                    return [], None
                query[name] = forced
        page = uow.partners.query(
            status=None if query["status"] is None else PartnerStatus(query["status"]),
            type=query["type"],
            owner_id=query["owner_id"],
            parent_id=query["parent_id"],
            country=query["country"],
            name=query["name"],
            limit=limit,
            cursor=cursor,
        )
        return list(page.items), page.next_cursor

    def register_partner(self, actor: Actor, partner: Partner) -> Result[Partner]:
        """Store a new partner (version 0), announced as ``partner.registered``.

        New sign-ups are prospects; a host importing an existing channel may store
        partners in any status.

        Raises:
            ConflictError: If its id is taken.
            NotFoundError: If its parent does not exist.
        """
        now = self.clock.now()

        def work(uow: UnitOfWork) -> Result[Partner]:
            self.policy.check(actor, Action.PARTNER_REGISTER, partner)
            candidate = partner
            if partner.parent_id is not None:
                # Walks the chain to refuse a cycle and check the parent exists.
                orphan = attrs.evolve(partner, parent_id=None)
                candidate, _ = set_parent(
                    orphan, partner.parent_id, lookup=uow.partners.get, at=partner.updated_at or now
                )
            stored = uow.partners.add(candidate)
            event = Event(
                "partner.registered",
                stored.id,
                now,
                actor=actor.id,
                data={"name": stored.name, "type": stored.type, "country": stored.country},
            )
            return Result(stored, (event,))

        return self._run(work)

    def update_partner(
        self,
        actor: Actor,
        partner_id: str,
        changes: PartnerChanges,
        *,
        version: int | None = None,
    ) -> Result[Partner]:
        """Change a partner's contacts, domains, custom fields or owner.

        Partner users change their own partner (``partner.update``); changing the
        owner needs ``partner.reassign`` too (channel managers, for the partners
        they own). Custom fields are checked against the services' schema with
        defaults filled in. Announced as ``partner.updated`` with the changed
        fields; changing nothing writes nothing.

        Args:
            actor: Who changes it.
            partner_id: The partner.
            changes: What to change.
            version: The version the change is based on; a partner changed since
                is refused with `StaleVersionError` instead of overwritten.

        Raises:
            NotFoundError: If there is none, or the actor may not see it.
            PermissionDeniedError: If the actor may see it but not change it (or
                its owner).
            StaleVersionError: If ``version`` is not the stored one.
            ValidationError: If a custom field is undeclared or invalid.
        """
        if not isinstance(changes, PartnerChanges):
            raise ValidationError.single(
                "changes", f"expected PartnerChanges, got {type(changes).__name__}"
            )
        now = self.clock.now()

        def work(uow: UnitOfWork) -> Result[Partner]:
            partner = self._partner(uow, actor, Action.PARTNER_UPDATE, partner_id)
            self._stale("partner", partner_id, version, partner.version)
            fields: dict[str, object] = {}
            if changes.contacts is not None and changes.contacts != partner.contacts:
                fields["contacts"] = changes.contacts
            if changes.domains is not None and changes.domains != partner.domains:
                fields["domains"] = changes.domains
            if changes.custom_fields is not None:
                values = self._custom_values(partner, changes.custom_fields)
                if values != partner.custom_fields:
                    fields["custom_fields"] = values
            if changes.owner_id is not None and changes.owner_id != partner.owner_id:
                self.policy.check(actor, Action.PARTNER_REASSIGN, partner)
                fields["owner_id"] = changes.owner_id
            if not fields:
                return Result(partner)
            updated = attrs.evolve(partner, updated_at=now, **fields)  # type: ignore[arg-type]
            data: dict[str, Scalar] = {"fields": ",".join(sorted(fields))}
            if "owner_id" in fields:
                data["from_owner_id"] = partner.owner_id
                data["to_owner_id"] = updated.owner_id
            event = Event("partner.updated", partner.id, now, actor=actor.id, data=data)
            return Result(uow.partners.update(updated), (event,))

        return self._run(work)

    def _custom_values(
        self, partner: Partner, changes: Mapping[str, CustomValue | None]
    ) -> dict[str, CustomValue]:
        if self.custom_fields is None:
            raise ValidationError.single(
                "custom_fields",
                "no custom fields are declared; pass custom_fields=CustomFieldSchema(...) "
                "to Services",
            )
        merged: dict[str, object] = dict(partner.custom_fields)
        for name, value in changes.items():
            if value is None:
                merged.pop(name, None)
            else:
                merged[name] = value
        return self.custom_fields.validate(merged)

    def start_onboarding(
        self,
        actor: Actor,
        partner_id: str,
        plan: OnboardingPlan,
        *,
        joined_on: date | None = None,
    ) -> Result[Partner]:
        """Move a prospect into onboarding with ``plan``'s steps."""
        return self._change_partner(
            actor,
            Action.PARTNER_ONBOARD,
            partner_id,
            lambda p, now: start_onboarding(p, plan, actor=actor.id, at=now, joined_on=joined_on),
        )

    def complete_onboarding_step(self, actor: Actor, partner_id: str, key: str) -> Result[Partner]:
        """Mark an onboarding step done (done twice changes nothing)."""
        return self._change_partner(
            actor,
            Action.PARTNER_COMPLETE_STEP,
            partner_id,
            lambda p, now: complete_onboarding_step(p, key, actor=actor.id, at=now),
        )

    def activate_partner(
        self, actor: Actor, partner_id: str, *, force_reason: str = ""
    ) -> Result[Partner]:
        """Activate a partner whose required onboarding steps are done (or force it)."""
        return self._change_partner(
            actor,
            Action.PARTNER_ACTIVATE,
            partner_id,
            lambda p, now: activate(p, actor=actor.id, at=now, force_reason=force_reason),
        )

    def suspend_partner(self, actor: Actor, partner_id: str, *, reason: str) -> Result[Partner]:
        """Suspend an active partner; ``reason`` is required."""
        return self._change_partner(
            actor,
            Action.PARTNER_SUSPEND,
            partner_id,
            lambda p, now: suspend(p, actor=actor.id, at=now, reason=reason),
        )

    def reinstate_partner(
        self, actor: Actor, partner_id: str, *, reason: str = ""
    ) -> Result[Partner]:
        """Return a suspended partner to active."""
        return self._change_partner(
            actor,
            Action.PARTNER_REINSTATE,
            partner_id,
            lambda p, now: reinstate(p, actor=actor.id, at=now, reason=reason),
        )

    def terminate_partner(self, actor: Actor, partner_id: str, *, reason: str) -> Result[Partner]:
        """End a partnership; ``reason`` is required."""
        return self._change_partner(
            actor,
            Action.PARTNER_TERMINATE,
            partner_id,
            lambda p, now: terminate(p, actor=actor.id, at=now, reason=reason),
        )

    # The ledger.

    def record_activities(
        self, actor: Actor, activities: Iterable[Activity]
    ) -> Result[AppendResult]:
        """Append activities (idempotent by id) after checking the actor may for each partner.

        Raises:
            NotFoundError: If an activity names a partner that does not exist, or one
                the actor may not see; nothing is written.
            PermissionDeniedError: If the actor sees a partner but may not record
                for it; nothing is written.
            ConflictError: If an id is in the ledger with different content (for an
                id of a partner the actor may not see, without saying whose).
        """
        batch = list(activities)
        if not batch:
            raise ValidationError.single("activities", "give at least one activity")

        def work(uow: UnitOfWork) -> Result[AppendResult]:
            for partner_id in dict.fromkeys(activity.partner_id for activity in batch):
                self._partner(uow, actor, Action.ACTIVITY_RECORD, partner_id)
            sees = self._seer(uow, actor, Action.PARTNER_VIEW)
            for activity in batch:
                try:
                    stored = uow.activities.get(activity.id)
                except NotFoundError:
                    continue
                if stored != activity and not sees(stored.partner_id):
                    raise AlreadyExistsError(
                        "activity",
                        activity.id,
                        f"activity id {activity.id!r} cannot be used; give the activity another id",
                    )
            return Result(uow.activities.append(batch))

        return self._run(work)

    def list_activities(
        self,
        actor: Actor,
        partner_id: str,
        *,
        kinds: Iterable[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 1000,
        cursor: str | None = None,
    ) -> Page[Activity]:
        """A partner's activities with ``since <= occurred_at <= until``, a page at a time.

        Raises:
            NotFoundError: If there is no such partner, or the actor may not see it.
            ValidationError: For a ``limit`` outside 1..1000 or a malformed cursor.
        """
        size = _check_limit(limit)
        with self.storage.unit_of_work() as uow:
            self._partner(uow, actor, Action.PARTNER_VIEW, partner_id)
            return uow.activities.query(
                partner_id=partner_id,
                kinds=kinds,
                since=since,
                until=until,
                limit=size,
                cursor=cursor,
            )

    # Snapshots for reviews and scoring.

    def _snapshots(
        self,
        definitions: Sequence[MetricDefinition],
        activities: dict[str, list[Activity]],
        when: datetime,
        rates: RateSource | None,
    ) -> tuple[dict[str, MetricSnapshot], tuple[Skipped, ...]]:
        """Everyone's snapshots; partners whose money cannot be summed are left out, named."""
        try:
            return compute_snapshots(definitions, activities, when, rates=rates), ()
        except (ValidationError, CurrencyMismatchError, NotFoundError):
            pass  # find the partners it is about; the others go ahead
        snapshots: dict[str, MetricSnapshot] = {}
        skipped: list[Skipped] = []
        for partner_id, items in activities.items():
            try:
                found = compute_snapshots(definitions, {partner_id: items}, when, rates=rates)
            except (ValidationError, CurrencyMismatchError, NotFoundError) as error:
                skipped.append(Skipped(partner_id, str(error)))
            else:
                snapshots.update(found)
        return snapshots, tuple(skipped)

    # Tier reviews, programs and memberships.

    def run_tier_review(
        self, actor: Actor, program_id: str, *, as_of: datetime | None = None
    ) -> Result[ReviewRun]:
        """Review every active membership of a program and save what changed.

        Reads the program, its memberships, the members' activities and tier
        histories; computes the snapshots with the program's metrics; runs
        `partnerkit.tiers.review`; saves the memberships that changed and their
        tier history, and publishes the tier events, all in one unit of work.
        Running it again for the same instant changes nothing. A member whose
        money cannot be summed (a currency the services' ``rates`` cannot convert,
        or no ``rates``) is left out and named in `Result.skipped`; the others
        are reviewed.

        Args:
            actor: Who runs it (``tier.review``).
            program_id: The program.
            as_of: The review instant (default: the program's latest review date
                at or before now).
        """
        self.policy.check(actor, Action.TIER_REVIEW)
        now = self.clock.now()

        def work(uow: UnitOfWork) -> Result[ReviewRun]:
            program = uow.programs.get(program_id).program
            when = as_of or program.review.previous_before(now, inclusive=True) or now
            members = _every(lambda cursor: uow.memberships.query(
                program_id=program_id, limit=10_000, cursor=cursor
            ))  # fmt: skip
            ids = [m.partner_id for m in members if m.status is MembershipStatus.ACTIVE]
            activities = {pid: uow.activities.for_partner(pid, until=when) for pid in ids}
            snapshots, skipped = self._snapshots(program.metrics, activities, when, self.rates)
            left_out = {item.partner_id for item in skipped}
            members = [m for m in members if m.partner_id not in left_out]
            histories = {pid: uow.tier_history.for_partner(program_id, pid) for pid in snapshots}
            run = review(program, members, snapshots, as_of=when, histories=histories)
            for membership in run.memberships:
                uow.memberships.update(membership)
            for history in run.histories.values():
                for assignment in history:
                    uow.tier_history.save(assignment)
            return Result(run, run.events, skipped=skipped)

        return self._run(work)

    def create_program(self, actor: Actor, program: Program) -> Result[StoredProgram]:
        """Store a new program (``program.configure``), announced as ``program.created``.

        Raises:
            ConflictError: If a program with its id exists.
        """
        self.policy.check(actor, Action.PROGRAM_CONFIGURE)
        now = self.clock.now()

        def work(uow: UnitOfWork) -> Result[StoredProgram]:
            stored = uow.programs.add(program)
            event = Event(
                "program.created",
                program.id,
                now,
                actor=actor.id,
                data={"name": program.name, "tiers": len(program.tiers), "version": 1},
            )
            return Result(stored, (event,))

        return self._run(work)

    def update_program(
        self, actor: Actor, program: Program, *, version: int
    ) -> Result[StoredProgram]:
        """Store a new version of a program (``program.configure``): ``program.updated``.

        Memberships keep their tiers; the next review applies the new rules.

        Args:
            actor: Who changes it.
            program: The changed program (its id names the one to replace).
            version: The `StoredProgram.version` the change is based on.

        Raises:
            NotFoundError: If there is no such program.
            StaleVersionError: If ``version`` is not the stored one.
        """
        self.policy.check(actor, Action.PROGRAM_CONFIGURE)
        now = self.clock.now()

        def work(uow: UnitOfWork) -> Result[StoredProgram]:
            current = uow.programs.get(program.id)
            self._stale("program", program.id, version, current.version)
            if current.program == program:
                return Result(current)
            stored = uow.programs.update(program, version=version)
            event = Event(
                "program.updated",
                program.id,
                now,
                actor=actor.id,
                data={"name": program.name, "tiers": len(program.tiers), "version": stored.version},
            )
            return Result(stored, (event,))

        return self._run(work)

    def retire_program(
        self, actor: Actor, program_id: str, *, reason: str
    ) -> Result[tuple[Membership, ...]]:
        """Retire a program (``program.configure``): mark it retired and end every membership.

        The program stays as history with `StoredProgram.retired_at` set, and
        `enrol` refuses it from then on. Each member's open tier assignment is
        closed now; reviews skip ended memberships. Announced as
        ``program.retired`` and one ``membership.ended`` per member.

        Raises:
            NotFoundError: If there is no such program.
            ValidationError: If the reason is missing, or the program is already
                retired.
        """
        self.policy.check(actor, Action.PROGRAM_CONFIGURE)
        if not isinstance(reason, str) or not reason.strip():
            raise ValidationError.single("reason", "say why the program is retired")
        now = self.clock.now()

        def work(uow: UnitOfWork) -> Result[tuple[Membership, ...]]:
            stored_program = uow.programs.get(program_id)
            uow.programs.retire(program_id, version=stored_program.version, at=now)
            members = _every(lambda cursor: uow.memberships.query(
                program_id=program_id, limit=10_000, cursor=cursor
            ))  # fmt: skip
            ended: list[Membership] = []
            events: list[Event] = [
                Event("program.retired", program_id, now, actor=actor.id, data={"reason": reason})
            ]
            for membership in members:
                if membership.status is MembershipStatus.ENDED:
                    continue
                stored, event = self._end(uow, actor, membership, now, reason)
                ended.append(stored)
                events.append(event)
            return Result(tuple(ended), tuple(events))

        return self._run(work)

    @staticmethod
    def _end(
        uow: UnitOfWork, actor: Actor, membership: Membership, now: datetime, reason: str
    ) -> tuple[Membership, Event]:
        history = uow.tier_history.for_partner(membership.program_id, membership.partner_id)
        open_from = [a.valid_from for a in history if a.valid_until is None]
        closed = record_tier_change(
            history,
            partner_id=membership.partner_id,
            program_id=membership.program_id,
            tier_id=None,
            at=max([now, *open_from]),
            cause=TierChangeCause.ASSIGNED,
            actor=actor.id,
        )
        for assignment in closed:
            uow.tier_history.save(assignment)
        stored = uow.memberships.update(attrs.evolve(membership, status=MembershipStatus.ENDED))
        event = Event(
            "membership.ended",
            membership.partner_id,
            now,
            actor=actor.id,
            data={
                "program_id": membership.program_id,
                "tier_id": membership.tier_id,
                "reason": reason,
            },
        )
        return stored, event

    def enrol(
        self, actor: Actor, program_id: str, partner_id: str, *, joined_on: date | None = None
    ) -> Result[Membership]:
        """Make a partner a member of a program (``program.enrol``): ``membership.enrolled``.

        A partner who left the program before is enrolled again from ``joined_on``
        (default: today, UTC), with no tier until the next review.

        Raises:
            NotFoundError: If the program or the partner does not exist (or the
                actor may not see the partner).
            ConflictError: If the partner is already an active member.
            ValidationError: If the program is retired.
        """
        now = self.clock.now()
        start = joined_on or now.date()

        def work(uow: UnitOfWork) -> Result[Membership]:
            self._partner(uow, actor, Action.PROGRAM_ENROL, partner_id)
            if uow.programs.get(program_id).retired_at is not None:
                raise ValidationError.single(
                    "program_id",
                    f"program {program_id!r} is retired and takes no new members; "
                    f"enrol the partner in a running program",
                )
            try:
                current = uow.memberships.get(program_id, partner_id)
            except NotFoundError:
                stored = uow.memberships.add(Membership(partner_id, program_id, start))
            else:
                if current.status is not MembershipStatus.ENDED:
                    raise AlreadyExistsError(
                        "membership",
                        f"{program_id}/{partner_id}",
                        f"partner {partner_id!r} is already a member of {program_id!r}",
                    )
                stored = uow.memberships.update(
                    attrs.evolve(
                        current,
                        status=MembershipStatus.ACTIVE,
                        joined_on=start,
                        tier_id=None,
                        tier_since=None,
                        failing_reviews=0,
                        proposal=None,
                        pin=None,
                    )
                )
            event = Event(
                "membership.enrolled",
                partner_id,
                now,
                actor=actor.id,
                data={"program_id": program_id, "joined_on": start.isoformat()},
            )
            return Result(stored, (event,))

        return self._run(work)

    def leave_program(
        self, actor: Actor, program_id: str, partner_id: str, *, reason: str = ""
    ) -> Result[Membership]:
        """End a partner's membership (``program.enrol``); its open tier closes now.

        Announced as ``membership.ended``; leaving twice changes nothing.

        Raises:
            NotFoundError: If there is no such membership (or the actor may not see
                the partner).
        """
        now = self.clock.now()

        def work(uow: UnitOfWork) -> Result[Membership]:
            self._partner(uow, actor, Action.PROGRAM_ENROL, partner_id)
            membership = uow.memberships.get(program_id, partner_id)
            if membership.status is MembershipStatus.ENDED:
                return Result(membership)
            stored, event = self._end(uow, actor, membership, now, reason)
            return Result(stored, (event,))

        return self._run(work)

    def list_memberships(self, actor: Actor, partner_id: str) -> list[Membership]:
        """The partner's memberships in every program (``partner.view``), by program id.

        Raises:
            NotFoundError: If there is no such partner, or the actor may not see it.
        """
        with self.storage.unit_of_work() as uow:
            self._partner(uow, actor, Action.PARTNER_VIEW, partner_id)
            return uow.memberships.for_partner(partner_id)

    def tier_history(self, actor: Actor, program_id: str, partner_id: str) -> list[TierAssignment]:
        """The tiers a partner held in a program (``partner.view``), oldest first.

        Raises:
            NotFoundError: If there is no such partner, or the actor may not see it.
        """
        with self.storage.unit_of_work() as uow:
            self._partner(uow, actor, Action.PARTNER_VIEW, partner_id)
            return uow.tier_history.for_partner(program_id, partner_id)

    # Health scores.

    def score_partners(
        self,
        actor: Actor,
        model: ScoringModel | str,
        definitions: Sequence[MetricDefinition],
        *,
        as_of: datetime | None = None,
        rates: RateSource | None = None,
    ) -> Result[ScoreBatch]:
        """Score every active partner and store the scores as history.

        Snapshots are computed from the ledger with ``definitions``; each partner's
        latest stored score is passed as ``previous``, so overrides carry over and
        lapse by themselves and band changes become events. A partner whose money
        cannot be summed (no rate for its currency) is left out and named in
        `Result.skipped`; the others are scored.

        Args:
            actor: Who runs it (``health.score``).
            model: The scoring model, or the name of a stored one (its highest
                version; see `add_scoring_model`).
            definitions: Metric definitions producing the metrics the model reads.
            as_of: The scoring instant (default: now).
            rates: Converts money into a definition's ``currency`` (the services'
                ``rates`` by default).
        """
        self.policy.check(actor, Action.HEALTH_SCORE)
        when = as_of or self.clock.now()

        def work(uow: UnitOfWork) -> Result[ScoreBatch]:
            nonlocal model
            if isinstance(model, str):
                model = self._current_model(uow, model)
            partners = _every(lambda cursor: uow.partners.query(
                status=PartnerStatus.ACTIVE, limit=1000, cursor=cursor
            ))  # fmt: skip
            activities = {p.id: uow.activities.for_partner(p.id, until=when) for p in partners}
            snapshots, skipped = self._snapshots(definitions, activities, when, rates or self.rates)
            previous: dict[str, HealthScore] = {}
            already: set[str] = set()  # scored at this instant by an earlier run
            for pid in snapshots:
                found = uow.scores.latest(pid, model=model.name, before=when)
                if found is not None and found.as_of == when:
                    already.add(pid)
                    found = uow.scores.latest(pid, model=model.name, before=when - _TICK)
                if found is not None:
                    previous[pid] = found
            batch = score_batch(model, snapshots, as_of=when, previous=previous)
            for item in batch:
                uow.scores.add(item)  # a partner scored before at this instant: a no-op
            events = tuple(e for e in batch.events() if e.subject_id not in already)
            return Result(batch, events, skipped=skipped)

        return self._run(work)

    @staticmethod
    def _current_model(uow: UnitOfWork, name: str) -> ScoringModel:
        stored = uow.models.get(name)
        if stored.retired:
            raise ValidationError.single(
                "model",
                f"scoring model {name!r} v{stored.version} is retired; store a new "
                f"version with new_model_version() or pass another model",
            )
        return stored.model

    # Scoring models, stored by name and versioned.

    def _change_model(
        self, actor: Actor, kind: str, change: Callable[[UnitOfWork], StoredModel]
    ) -> Result[StoredModel]:
        self.policy.check(actor, Action.MODEL_CONFIGURE)
        now = self.clock.now()

        def work(uow: UnitOfWork) -> Result[StoredModel]:
            stored = change(uow)
            event = Event(
                kind,
                stored.name,
                now,
                actor=actor.id,
                data={"version": stored.version},
            )
            return Result(stored, (event,))

        return self._run(work)

    def add_scoring_model(self, actor: Actor, model: ScoringModel) -> Result[StoredModel]:
        """Store a new scoring model under its name (``model.configure``): ``model.added``.

        Scoring runs can then name it (``score_partners(actor, "Standard", ...)``).

        Raises:
            AlreadyExistsError: If a model with its name is stored; store a change
                with `new_model_version`.
            ValidationError: If ``model`` is not a `ScoringModel`.
        """

        def change(uow: UnitOfWork) -> StoredModel:
            if uow.models.versions(model.name):
                raise AlreadyExistsError(
                    "scoring model",
                    model.name,
                    f"a scoring model named {model.name!r} is stored; use "
                    f"new_model_version() to store a changed version",
                )
            return uow.models.add(model)

        if not isinstance(model, ScoringModel):
            raise ValidationError.single("model", "expected a ScoringModel")
        return self._change_model(actor, "model.added", change)

    def new_model_version(self, actor: Actor, model: ScoringModel) -> Result[StoredModel]:
        """Store the next version of a stored model (``model.configure``): ``model.versioned``.

        Earlier versions are kept, so scores they made can still be reproduced
        (`reproduce_score`); runs naming the model use the new one.

        Raises:
            NotFoundError: If no model with its name is stored.
            ValidationError: If ``model.version`` is not one higher than the
                highest stored version.
        """

        def change(uow: UnitOfWork) -> StoredModel:
            versions = uow.models.versions(model.name)
            if not versions:
                raise NotFoundError("scoring model", model.name, "add it with add_scoring_model()")
            if model.version != versions[-1] + 1:
                raise ValidationError.single(
                    "version",
                    f"the next version of {model.name!r} is {versions[-1] + 1}, "
                    f"got {model.version}",
                )
            return uow.models.add(model)

        if not isinstance(model, ScoringModel):
            raise ValidationError.single("model", "expected a ScoringModel")
        return self._change_model(actor, "model.versioned", change)

    def retire_scoring_model(self, actor: Actor, name: str, *, version: int) -> Result[StoredModel]:
        """Retire one version of a stored model (``model.configure``): ``model.retired``.

        It is kept for reproducing its scores; runs naming the model refuse it
        while it is the highest version.

        Raises:
            NotFoundError: If that name and version are not stored.
            ConflictError: If it is already retired.
        """
        return self._change_model(
            actor, "model.retired", lambda uow: uow.models.retire(name, version=version)
        )

    def scoring_models(
        self, actor: Actor, *, limit: int = 100, cursor: str | None = None
    ) -> Page[StoredModel]:
        """The highest version of each stored model, by name (``model.configure``).

        Raises:
            ValidationError: For a ``limit`` outside 1..1000 or a malformed cursor.
        """
        self.policy.check(actor, Action.MODEL_CONFIGURE)
        with self.storage.unit_of_work() as uow:
            return uow.models.query(limit=limit, cursor=cursor)

    def reproduce_score(
        self,
        actor: Actor,
        partner_id: str,
        definitions: Sequence[MetricDefinition],
        *,
        model: str,
        as_of: datetime,
        rates: RateSource | None = None,
    ) -> HealthScore:
        """Score a partner again exactly as the stored score at ``as_of`` was made.

        The stored model version named by that score is used, with the ledger up
        to ``as_of`` and the score before it as ``previous``; the result equals
        the stored score unless the ledger or the definitions changed since.

        Raises:
            NotFoundError: If the partner has no score from ``model`` at
                ``as_of`` (or the actor may not see the partner), or the model
                version that made it is not stored.
        """
        when = to_utc(as_of, "as_of")
        with self.storage.unit_of_work() as uow:
            self._partner(uow, actor, Action.HEALTH_VIEW, partner_id)
            stored = uow.scores.latest(partner_id, model=model, before=when)
            if stored is None or stored.as_of != when:
                raise NotFoundError("score", f"{partner_id}|{model}|{when.isoformat()}")
            made_by = uow.models.get(model, version=stored.model_version).model
            previous = uow.scores.latest(partner_id, model=model, before=when - _TICK)
            activities = {partner_id: uow.activities.for_partner(partner_id, until=when)}
        snapshots = compute_snapshots(definitions, activities, when, rates=rates or self.rates)
        return score(made_by, snapshots[partner_id], as_of=when, previous=previous)

    def latest_score(
        self, actor: Actor, partner_id: str, *, model: str, before: datetime | None = None
    ) -> HealthScore | None:
        """The partner's latest score from the model named ``model`` (``health.view``).

        Returns:
            The score (at or before ``before``, if given), or ``None`` if there is none.

        Raises:
            NotFoundError: If there is no such partner, or the actor may not see it.
        """
        with self.storage.unit_of_work() as uow:
            self._partner(uow, actor, Action.HEALTH_VIEW, partner_id)
            return uow.scores.latest(partner_id, model=model, before=before)

    def score_history(
        self,
        actor: Actor,
        partner_id: str,
        *,
        model: str,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[HealthScore]:
        """The partner's scores from ``model`` with ``since <= as_of <= until``, oldest first.

        Raises:
            NotFoundError: If there is no such partner, or the actor may not see it.
        """
        with self.storage.unit_of_work() as uow:
            self._partner(uow, actor, Action.HEALTH_VIEW, partner_id)
            return uow.scores.history(partner_id, model=model, since=since, until=until)

    def set_health_override(
        self,
        actor: Actor,
        model: ScoringModel,
        partner_id: str,
        request: OverrideRequest | Override,
    ) -> Result[HealthScore]:
        """Override a partner's latest score from now until the request's expiry.

        The acting user is the override's author and now its start, whatever the
        caller says. The overridden score is stored as the next entry of the
        partner's score history, and later scoring runs carry it over until it
        lapses. Passing an `Override` is deprecated: its author and ``created_at``
        are ignored.

        Raises:
            NotFoundError: If the partner (or one the actor may see) has no stored
                score for ``model``.
            PermissionDeniedError: If the actor may see the partner but not
                override its score (``health.override``).
        """
        if isinstance(request, Override):
            _deprecated(
                "set_health_override(..., Override)",
                "pass an OverrideRequest; the author and start come from the acting user and now",
            )
            request = OverrideRequest(
                request.reason, request.expires_at, value=request.value, band=request.band
            )
        if not isinstance(request, OverrideRequest):
            raise ValidationError.single("request", "expected an OverrideRequest")
        wanted = request

        def change(latest: HealthScore, now: datetime) -> Change[HealthScore]:
            override = Override(
                actor.id,
                wanted.reason,
                created_at=now,
                expires_at=wanted.expires_at,
                value=wanted.value,
                band=wanted.band,
            )
            return apply_override(model, latest, override, at=now)

        return self._change_score(actor, model, partner_id, change)

    def clear_health_override(
        self, actor: Actor, model: ScoringModel, partner_id: str, *, reason: str = ""
    ) -> Result[HealthScore]:
        """Take an override off before it expires; the computed score shows again."""
        return self._change_score(
            actor,
            model,
            partner_id,
            lambda latest, now: withdraw_override(latest, actor=actor.id, at=now, reason=reason),
        )

    def _change_score(
        self,
        actor: Actor,
        model: ScoringModel,
        partner_id: str,
        change: Callable[[HealthScore, datetime], Change[HealthScore]],
    ) -> Result[HealthScore]:
        now = self.clock.now()

        def work(uow: UnitOfWork) -> Result[HealthScore]:
            self._partner(uow, actor, Action.HEALTH_OVERRIDE, partner_id)
            latest = uow.scores.latest(partner_id, model=model.name, before=now)
            if latest is None:
                raise NotFoundError(
                    "health score", partner_id, f"score the partner with {model.name!r} first"
                )
            updated, events = change(latest, now)
            if updated != latest:
                uow.scores.add(updated)
            return Result(updated, events)

        return self._run(work)

    # Deal registrations.

    def _caught_up(self, deals: _Deals) -> tuple[ConflictIndex, int]:
        """The conflict index with every committed deal change taken in; hold the lock.

        Built from the store on first use, then kept in step with the store's deal
        sequence, so that it holds what every process has committed, not only
        this one's writes.
        """
        if self._conflicts is None:
            # The mark is read first: a change committed during the scan is
            # taken in again below, never missed.
            mark = deals.change_mark()
            index = ConflictIndex()
            for registration in _every(lambda cursor: deals.active(cursor=cursor)):
                index.add(registration)
            self._conflicts, self._mark = index, mark
        while changes := deals.changed_since(self._mark):
            stored = deals.committed([change.deal_id for change in changes])
            for change in changes:
                latest = stored.get(change.deal_id)
                if latest is None:
                    self._conflicts.remove(change.deal_id)
                else:
                    self._conflicts.sync(latest)
            self._mark = changes[-1].seq
        return self._conflicts, self._mark

    def _screen(self, uow: UnitOfWork, registration: DealRegistration) -> list[Conflict]:
        """The conflicts of ``registration`` with every committed active registration.

        On a store built on the staging layer the index is first caught up with
        the store's deal changes, and the unit of work is guarded: if a
        registration that conflicts with this one commits between this screen and
        the unit's commit, the commit raises `StaleVersionError` and `_run` runs
        the work again, screening afresh. Other stores are screened against all
        their active registrations, read anew each time.
        """
        deals = uow.deals
        with self._index_lock:
            if isinstance(deals, _Deals):
                index, mark = self._caught_up(deals)
            else:
                index, mark = ConflictIndex(), None
                for active in _every(lambda cursor: deals.active(cursor=cursor)):
                    index.add(active)
            found = [
                conflict
                for conflict in find_conflicts(registration, index)
                if conflict.other_id != registration.id
            ]
        if isinstance(deals, _Deals) and mark is not None:
            deals.guard(_screened_through(registration, mark, found))
        return found

    def _synced(self, result: Result[DealRegistration]) -> Result[DealRegistration]:
        if self._conflicts is not None:
            with self._index_lock:
                self._conflicts.sync(result.value)
        return result

    def _deal_call(
        self, actor: Actor, work: Callable[[UnitOfWork], Result[DealRegistration]]
    ) -> Result[DealRegistration]:
        """Run deal work; the index learns the stored registration, the actor gets its view."""
        shown: dict[str, DealRegistration] = {}

        def viewed(uow: UnitOfWork) -> Result[DealRegistration]:
            result = work(uow)
            shown["value"] = self._shown(result.value, self._seer(uow, actor))
            return result

        result = self._synced(self._run(viewed))
        return attrs.evolve(result, value=shown["value"])

    def _protection(self, uow: UnitOfWork, partner_id: str) -> Period:
        """The longest deal protection the partner's current tiers grant (90 days without)."""
        best: Period | None = None
        today = self.clock.now()
        for membership in uow.memberships.for_partner(partner_id):
            if membership.tier_id is None or membership.status is MembershipStatus.ENDED:
                continue
            tier = uow.programs.get(membership.program_id).program.tier(membership.tier_id)
            period = tier.benefits.deal_protection
            if period is not None and (best is None or today + period > today + best):
                best = period
        return best or DEFAULT_PROTECTION

    def _notices(
        self,
        uow: UnitOfWork,
        conflicts: Sequence[Conflict],
        sees: Callable[[str | None], bool],
    ) -> tuple[ConflictNotice, ...]:
        notices = []
        for conflict in conflicts:
            until = None
            if conflict.other_kind is PartyKind.REGISTRATION:
                try:
                    other = uow.deals.get(conflict.other_id)
                except NotFoundError:
                    other = None
                if other is not None and other.status is DealStatus.APPROVED:
                    until = other.protection_until
            seen = _conflict_seen(conflict, sees)
            notices.append(
                ConflictNotice(
                    registration_id=conflict.registration_id,
                    outcome=conflict.outcome,
                    has_priority=conflict.has_priority,
                    matched=conflict.match_kinds,
                    message=conflict.explain() if seen else _told(conflict, until),
                    protection_until=until,
                    conflict=conflict if seen else None,
                )
            )
        return tuple(notices)

    def _new_registration(
        self, uow: UnitOfWork, actor: Actor, draft: DealDraft, partner_id: str | None, deal_id: str
    ) -> DealRegistration:
        owner = partner_id if partner_id is not None else actor.partner_id
        if owner is None:
            raise ValidationError.single(
                "partner_id", "name the partner the deal is registered for: partner_id=..."
            )
        self._partner(uow, actor, Action.DEAL_SUBMIT, owner, view=Action.DEAL_VIEW)
        return uow.deals.add(
            DealRegistration(
                id=deal_id,
                partner_id=owner,
                customer=draft.customer,
                amount=draft.amount,
                expected_close_on=draft.expected_close_on,
                registered_at=self.clock.now(),
                products=draft.products,
                notes=draft.notes,
            )
        )

    def _draft_of(
        self, actor: Actor, draft: DealDraft | DealRegistration, partner_id: str | None
    ) -> tuple[DealDraft, str | None, str]:
        """The draft to store, the partner it is for and the new registration's id."""
        if isinstance(draft, DealRegistration):
            _deprecated(
                "passing a DealRegistration to submit_deal or save_deal_draft",
                "pass a DealDraft (and partner_id=... when acting for a partner); the "
                "registration's id, status, history, decisions and version are not used",
            )
            owner = draft.partner_id if partner_id is None else partner_id
            # Only an actor who sees every deal may pick the id: for anyone else a
            # taken id would tell that it exists.
            keep = self.policy.allows(actor, Action.DEAL_VIEW)
            return DealDraft.of(draft), owner, draft.id if keep else self.ids("deal")
        if not isinstance(draft, DealDraft):
            raise ValidationError.single(
                "draft", f"expected a DealDraft or a draft's id, got {type(draft).__name__}"
            )
        return draft, partner_id, self.ids("deal")

    def save_deal_draft(
        self,
        actor: Actor,
        draft: DealDraft,
        *,
        partner_id: str | None = None,
    ) -> Result[DealRegistration]:
        """Store a new draft registration without submitting it (``deal.submit``).

        The service mints its id and sets ``registered_at`` to now; change it with
        `amend_deal`, submit it with ``submit_deal(actor, deal_id)``. Announced as
        ``deal.drafted``.

        Args:
            actor: Who registers it.
            draft: The customer and the deal.
            partner_id: The partner it is for (default: the actor's partner).

        Raises:
            NotFoundError: If the partner does not exist, or the actor may not see it.
            PermissionDeniedError: If the actor may see the partner but not register
                deals for it.
        """
        content, owner, deal_id = self._draft_of(actor, draft, partner_id)

        def work(uow: UnitOfWork) -> Result[DealRegistration]:
            stored = self._new_registration(uow, actor, content, owner, deal_id)
            event = Event(
                "deal.drafted",
                stored.id,
                stored.registered_at,
                actor=actor.id,
                data={"partner_id": stored.partner_id, "customer": stored.customer.name},
            )
            return Result(stored, (event,))

        return self._deal_call(actor, work)

    def submit_deal(
        self,
        actor: Actor,
        draft: DealDraft | str | DealRegistration,
        *,
        partner_id: str | None = None,
    ) -> Result[DealRegistration]:
        """Submit a new draft, or a stored draft by id, screened for conflicts (``deal.submit``).

        A `DealDraft` is stored as a new registration (id minted, ``registered_at``
        now) for ``partner_id`` (default: the actor's partner) and submitted; a
        string submits the stored draft with that id. Every conflict becomes a
        ``deal.conflict_found`` event and a `ConflictNotice` in `Result.conflicts`;
        a duplicate of the same partner's own registration is rejected at once
        (see `partnerkit.deals`). What a conflict with a registration the actor
        may not see says, in the notices and in the returned events, is that the
        customer is already registered and until when it is protected.

        Passing a `DealRegistration` is deprecated: only its draft content and
        partner are used, under a new id (kept only for actors who see every deal).

        Raises:
            NotFoundError: If the partner or draft does not exist, or the actor may
                not see it (one answer for both).
            PermissionDeniedError: If the actor may see it but not submit for it.
            InvalidTransitionError: If the stored registration is not a draft.
            ValidationError: If it names no product or its close date has passed.
        """
        existing = draft if isinstance(draft, str) else None
        if existing is None:
            content, owner, deal_id = self._draft_of(actor, draft, partner_id)  # type: ignore[arg-type]
        now = self.clock.now()
        hidden: dict[str, ConflictNotice] = {}

        def work(uow: UnitOfWork) -> Result[DealRegistration]:
            hidden.clear()
            if existing is not None:
                stored = self._deal(uow, actor, Action.DEAL_SUBMIT, existing)
            else:
                stored = self._new_registration(uow, actor, content, owner, deal_id)
            submitted, events = submit(stored, actor=actor.id, at=now)
            conflicts = self._screen(uow, submitted)
            screened, more = screen(submitted, conflicts, actor=actor.id, at=now)
            notices = self._notices(uow, conflicts, self._seer(uow, actor))
            for conflict, notice in zip(conflicts, notices, strict=True):
                if notice.conflict is None:
                    hidden[conflict.other_id] = notice
            return Result(uow.deals.update(screened), (*events, *more), conflicts=notices)

        result = self._deal_call(actor, work)
        events = tuple(
            _told_event(event, hidden[str(event.data["other_id"])])
            if event.kind == "deal.conflict_found" and event.data.get("other_id") in hidden
            else event
            for event in result.events
        )
        return attrs.evolve(result, events=events)

    def amend_deal(
        self,
        actor: Actor,
        deal_id: str,
        changes: DealChanges,
        *,
        version: int | None = None,
    ) -> Result[DealRegistration]:
        """Change a registration's details (``deal.submit``), announced as ``deal.amended``.

        What may change depends on its status (`DealChanges`); the customer never
        changes after submission.

        Raises:
            NotFoundError: If there is none, or the actor may not see it.
            PermissionDeniedError: If the actor may see it but not change it.
            StaleVersionError: If ``version`` is given and not the stored one.
            InvalidTransitionError: If it is closed.
            ValidationError: Naming each field that cannot change in its status.
        """
        if not isinstance(changes, DealChanges):
            raise ValidationError.single(
                "changes", f"expected DealChanges, got {type(changes).__name__}"
            )
        now = self.clock.now()

        def work(uow: UnitOfWork) -> Result[DealRegistration]:
            registration = self._deal(uow, actor, Action.DEAL_SUBMIT, deal_id)
            self._stale("deal registration", deal_id, version, registration.version)
            updated, events = amend(
                registration,
                actor=actor.id,
                at=now,
                customer=changes.customer,
                products=changes.products,
                amount=changes.amount,
                expected_close_on=changes.expected_close_on,
                notes=changes.notes,
            )
            if not events:
                return Result(registration)
            return Result(uow.deals.update(updated), events)

        return self._deal_call(actor, work)

    def get_deal(self, actor: Actor, deal_id: str) -> DealRegistration:
        """Read a registration the actor may see (``deal.view``).

        Conflicts with registrations the actor may not see are left out of its
        decisions.

        Raises:
            NotFoundError: If there is none, or the actor may not see it: one answer
                for both.
        """
        with self.storage.unit_of_work() as uow:
            registration = self._deal(uow, actor, Action.DEAL_VIEW, deal_id)
            return self._shown(registration, self._seer(uow, actor))

    def list_deals(
        self,
        actor: Actor,
        *,
        status: DealStatus | None = None,
        partner_id: str | None = None,
        customer: str | None = None,
        expiring_within: Period | int | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[DealRegistration]:
        """The registrations the actor may see (``deal.view``) that match every filter.

        The actor's scope is part of the storage query: a partner user's pages
        hold only its own partner's registrations (and its children's where the
        policy grants it); another partner named in ``partner_id`` gives an
        empty page, as a partner that does not exist does. ``customer`` finds
        registrations whose normalised customer name contains it, or whose
        customer website has its registrable domain (``"acme.com"``).
        ``expiring_within`` (days, or a `Period`) keeps approved registrations
        whose protection ends after now and within it. Every filter is part of
        the one storage query, so every page but the last is full.

        Raises:
            ValidationError: For a ``limit`` outside 1..1000, a malformed cursor,
                ``expiring_within`` with a status other than approved, or a
                ``customer`` with nothing to search for.
        """
        size = _check_limit(limit)
        window: tuple[datetime, datetime] | None = None
        if expiring_within is not None:
            if status not in (None, DealStatus.APPROVED):
                raise ValidationError.single(
                    "status", "only approved registrations expire; leave status out"
                )
            status = DealStatus.APPROVED
            now = self.clock.now()
            window = (now, now + _days(expiring_within))
        if customer is not None:
            search_key("customer", customer)  # refused before anything is read
        with self.storage.unit_of_work() as uow:
            sources = self._deal_sources(uow, actor, partner_id)
            if not sources:
                return Page(())
            sees = self._seer(uow, actor)
            # One paged query: the scope is an IN filter, the window two bounds.
            page = uow.deals.query(
                partner_ids=None if sources == [""] else sources,
                status=status,
                customer=customer,
                protection_until_after=None if window is None else window[0],
                protection_until_before=None if window is None else window[1],
                limit=size,
                cursor=cursor,
            )
        return Page(tuple(self._shown(r, sees) for r in page.items), page.next_cursor)

    def _deal_sources(self, uow: UnitOfWork, actor: Actor, partner_id: str | None) -> list[str]:
        """The partner ids whose registrations the actor may list, sorted ("" for all)."""
        slices = _slices(self.policy, actor, Action.DEAL_VIEW)
        if slices is None:
            return [""] if partner_id is None else [partner_id]
        visible: set[str] = set()
        for part in slices:
            if part.partner_id is not None:
                visible.add(part.partner_id)
                continue
            found = _every(lambda cursor, part=part: uow.partners.query(  # type: ignore[misc]
                parent_id=part.parent_id, owner_id=part.owner_id, limit=1000, cursor=cursor
            ))  # fmt: skip
            visible.update(p.id for p in found)
        if partner_id is not None:
            return [partner_id] if partner_id in visible else []
        return sorted(visible)

    def approve_deal(
        self, actor: Actor, deal_id: str, *, override_reason: str = ""
    ) -> Result[DealRegistration]:
        """Approve a submitted registration with the protection its partner's tier grants.

        Raises:
            NotFoundError: If there is none, or the actor may not see it.
            ConflictError: If a conflict objects and no ``override_reason`` is given,
                or (at commit) if another registration for the customer was
                approved meanwhile; nothing is written.
        """
        now = self.clock.now()

        def work(uow: UnitOfWork) -> Result[DealRegistration]:
            registration = self._deal(uow, actor, Action.DEAL_DECIDE, deal_id)
            conflicts = self._screen(uow, registration)
            approved, events = approve(
                registration,
                actor=actor.id,
                at=now,
                protection=self._protection(uow, registration.partner_id),
                conflicts=conflicts,
                override_reason=override_reason,
            )
            return Result(uow.deals.update(approved), events)

        return self._deal_call(actor, work)

    def _decide_deal(
        self,
        actor: Actor,
        action: Action,
        deal_id: str,
        change: Callable[[DealRegistration, datetime], Change[DealRegistration]],
    ) -> Result[DealRegistration]:
        def work(uow: UnitOfWork) -> Result[DealRegistration]:
            registration = self._deal(uow, actor, action, deal_id)
            updated, events = change(registration, self.clock.now())
            return Result(uow.deals.update(updated), events)

        return self._deal_call(actor, work)

    def reject_deal(self, actor: Actor, deal_id: str, *, reason: str) -> Result[DealRegistration]:
        """Reject a submitted registration; ``reason`` is required."""
        return self._decide_deal(
            actor,
            Action.DEAL_DECIDE,
            deal_id,
            lambda r, now: reject(r, actor=actor.id, at=now, reason=reason),
        )

    def withdraw_deal(
        self, actor: Actor, deal_id: str, *, reason: str = ""
    ) -> Result[DealRegistration]:
        """Withdraw a draft or submitted registration."""
        return self._decide_deal(
            actor,
            Action.DEAL_WITHDRAW,
            deal_id,
            lambda r, now: withdraw(r, actor=actor.id, at=now, reason=reason),
        )

    def close_deal(
        self, actor: Actor, deal_id: str, *, won: bool, reason: str = ""
    ) -> Result[DealRegistration]:
        """Record an approved deal as won or lost (reason required).

        A won deal's attribution is frozen, and a ``deal_won`` activity with the
        deal's amount is recorded in the ledger in the same unit of work (once:
        its id is the deal's id with ``.won``), so tier metrics counting won deals
        move.
        """
        if not won:
            return self._decide_deal(
                actor,
                Action.DEAL_CLOSE,
                deal_id,
                lambda r, now: lose(r, actor=actor.id, at=now, reason=reason),
            )
        now = self.clock.now()

        def work(uow: UnitOfWork) -> Result[DealRegistration]:
            registration = self._deal(uow, actor, Action.DEAL_CLOSE, deal_id)
            updated, events = win(registration, actor=actor.id, at=now, reason=reason)
            stored = uow.deals.update(updated)
            activity = Activity(
                f"{deal_id}.won",
                registration.partner_id,
                ActivityKind.DEAL_WON.value,
                now,
                registration.amount,
                attributes={"deal_id": deal_id},
            )
            try:
                uow.activities.get(activity.id)
            except NotFoundError:
                uow.activities.append([activity])
            return Result(stored, events)

        return self._deal_call(actor, work)

    def expire_deals(self, actor: Actor) -> Result[tuple[DealRegistration, ...]]:
        """Expire every approved registration whose protection has lapsed by now."""
        self.policy.check(actor, Action.DEAL_SWEEP)
        now = self.clock.now()

        def work(uow: UnitOfWork) -> Result[tuple[DealRegistration, ...]]:
            lapsed, events = expire_due(uow.deals.due_to_expire(now, limit=1000), now)
            return Result(tuple(uow.deals.update(r) for r in lapsed), events)

        result = self._run(work)
        if self._conflicts is not None:
            with self._index_lock:
                for registration in result.value:
                    self._conflicts.sync(registration)
        return result

    # Extensions, pins, downgrades: the managers' decisions.

    def request_deal_extension(
        self, actor: Actor, deal_id: str, period: Period | int | str, *, reason: str
    ) -> Result[DealRegistration]:
        """Ask for more protection on an approved registration (one pending at a time)."""
        return self._decide_deal(
            actor,
            Action.DEAL_REQUEST_EXTENSION,
            deal_id,
            lambda r, now: request_extension(
                r, period, actor=actor.id, at=now, reason=reason, policy=self.extension_policy
            ),
        )

    def decide_deal_extension(
        self, actor: Actor, deal_id: str, *, approve: bool, reason: str = ""
    ) -> Result[DealRegistration]:
        """Approve or deny the pending extension (a denial needs a reason)."""
        if approve:
            return self._decide_deal(
                actor,
                Action.DEAL_DECIDE,
                deal_id,
                lambda r, now: approve_extension(
                    r, actor=actor.id, at=now, reason=reason, policy=self.extension_policy
                ),
            )
        return self._decide_deal(
            actor,
            Action.DEAL_DECIDE,
            deal_id,
            lambda r, now: deny_extension(r, actor=actor.id, at=now, reason=reason),
        )

    def _change_membership(
        self,
        actor: Actor,
        action: Action,
        program_id: str,
        partner_id: str,
        change: Callable[[Program, Membership, datetime], Change[Membership]],
    ) -> Result[Membership]:
        now = self.clock.now()

        def work(uow: UnitOfWork) -> Result[Membership]:
            self._partner(uow, actor, action, partner_id)
            program = uow.programs.get(program_id).program
            updated, events = change(program, uow.memberships.get(program_id, partner_id), now)
            history = uow.tier_history.for_partner(program_id, partner_id)
            for assignment in apply_tier_events(history, events):
                uow.tier_history.save(assignment)
            return Result(uow.memberships.update(updated), events)

        return self._run(work)

    def pin_tier(
        self,
        actor: Actor,
        program_id: str,
        partner_id: str,
        tier_id: str,
        *,
        until: date,
        reason: str,
    ) -> Result[Membership]:
        """Hold a partner at ``tier_id`` until a date, whatever reviews say; it lapses by itself."""
        return self._change_membership(
            actor,
            Action.TIER_PIN,
            program_id,
            partner_id,
            lambda program, m, now: pin_tier(
                program, m, tier_id, until=until, reason=reason, by=actor.id, at=now
            ),
        )

    def unpin_tier(
        self, actor: Actor, program_id: str, partner_id: str, *, reason: str = ""
    ) -> Result[Membership]:
        """Lift a pin before it lapses."""
        return self._change_membership(
            actor,
            Action.TIER_PIN,
            program_id,
            partner_id,
            lambda _program, m, now: unpin(m, by=actor.id, at=now, reason=reason),
        )

    def decide_downgrade(
        self, actor: Actor, program_id: str, partner_id: str, *, approve: bool, reason: str = ""
    ) -> Result[Membership]:
        """Approve a proposed downgrade (moving one level down) or reject it (reason needed)."""
        if approve:
            return self._change_membership(
                actor,
                Action.TIER_DECIDE_DOWNGRADE,
                program_id,
                partner_id,
                lambda program, m, now: approve_downgrade(
                    program, m, by=actor.id, at=now, reason=reason
                ),
            )
        return self._change_membership(
            actor,
            Action.TIER_DECIDE_DOWNGRADE,
            program_id,
            partner_id,
            lambda _program, m, now: reject_downgrade(m, by=actor.id, at=now, reason=reason),
        )
