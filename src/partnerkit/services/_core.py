"""The machinery every use case shares: check, unit of work, retry, announce."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Protocol, TypeVar

import attrs

from partnerkit._base.ids import IdGenerator, check_id
from partnerkit._base.time import Clock, SystemClock
from partnerkit._pages import every
from partnerkit.access import DEFAULT_POLICY, AccessPolicy, Action, Actor
from partnerkit.errors import (
    CurrencyMismatchError,
    NotFoundError,
    PartnerkitError,
    StaleVersionError,
    ValidationError,
)
from partnerkit.events import EventBus
from partnerkit.metrics import MetricDefinition, MetricSnapshot, compute_snapshots
from partnerkit.storage import Page

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import datetime

    from partnerkit._base.events import Change
    from partnerkit._base.money import RateSource
    from partnerkit.deals import (
        ConflictIndex,
        DealRegistration,
        ExtensionPolicy,
    )
    from partnerkit.ledger import Activity
    from partnerkit.partners import (
        CustomFieldSchema,
        Partner,
    )
    from partnerkit.storage import Storage, UnitOfWork


from partnerkit.services._intents import (
    _LOG,
    _RETRIES,
    Result,
    Skipped,
    T,
)
from partnerkit.services._support import (
    _CallerStaleError,
    _check_limit,
    _conflict_seen,
    _found,
    _missing,
    _slices,
)


class _Owned(Protocol):
    """A record that belongs to one partner."""

    @property
    def partner_id(self) -> str: ...


_R = TypeVar("_R", bound=_Owned)
_M = TypeVar("_M")


class _Move(Protocol[_M]):
    """A pure move of the domain, given the record, who moves it and when.

    The domain's moves take further options by keyword: pass them with
    `functools.partial`, as ``partial(suspend, reason=reason)``.
    """

    def __call__(self, record: _M, /, *, actor: str, at: datetime) -> Change[_M]: ...


class _ServicesCore:
    """What every use case shares: the store, the policy, the unit-of-work template."""

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
        self, actor: Actor, action: str, partner: Partner | None, *, view: str, kind: str, key: str
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
        partner = _found(uow.partners.get, partner_id, "partner")
        self._allow(actor, action, partner, view=view, kind="partner", key=partner_id)
        return partner

    def _record(
        self,
        uow: UnitOfWork,
        actor: Actor,
        action: str,
        read: Callable[[str], _R],
        key: str,
        *,
        kind: str,
        view: str,
        unknown: tuple[type[Exception], ...] = (NotFoundError,),
    ) -> _R:
        """The record ``read(key)`` gives, once the actor may do ``action`` on its partner.

        Args:
            uow: The unit of work to read in.
            actor: Who asks.
            action: What the actor wants to do with the record.
            read: Reads a record by its key (a repository's ``get``).
            key: The record's id.
            kind: The record's name in the error, as ``"fund claim"``.
            view: The action that lets the actor see the record at all.
            unknown: What ``read`` raises for a key it does not know.

        Raises:
            NotFoundError: If there is none, or the actor may not see it (the same error).
            PermissionDeniedError: If the actor sees it but may not do ``action``.
        """
        try:
            record = read(key)
            partner = uow.partners.get(record.partner_id)
        except unknown:
            raise _missing(kind, key) from None
        self._allow(actor, action, partner, view=view, kind=kind, key=key)
        return record

    def _deal(self, uow: UnitOfWork, actor: Actor, action: str, deal_id: str) -> DealRegistration:
        """The registration ``action`` is about, once the actor may do it (see `_record`)."""
        check_id(deal_id, "deal_id")
        return self._record(
            uow, actor, action, uow.deals.get, deal_id, kind="deal", view=Action.DEAL_VIEW
        )

    def _listed(
        self, uow: UnitOfWork, actor: Actor, view: str, partner_id: str | None
    ) -> list[str] | None:
        """The partner ids whose records the actor may list, sorted; ``None``: anyone's.

        Args:
            uow: The unit of work to read the actor's partners in.
            actor: Who lists.
            view: The action that lets the actor see the records.
            partner_id: The one partner asked for, if any: the list is then that
                partner, or empty if the actor may not see it.
        """
        slices = _slices(self.policy, actor, view)
        if slices is None:
            return None if partner_id is None else [partner_id]
        visible: set[str] = set()
        for part in slices:
            if part.partner_id is not None:
                visible.add(part.partner_id)
                continue
            found = every(lambda cursor, part=part: uow.partners.query(  # type: ignore[misc]
                parent_id=part.parent_id, owner_id=part.owner_id, limit=1000, cursor=cursor
            ))  # fmt: skip
            visible.update(p.id for p in found)
        if partner_id is not None:
            return [partner_id] if partner_id in visible else []
        return sorted(visible)

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
        move: _Move[Partner],
    ) -> Result[Partner]:
        def work(uow: UnitOfWork) -> Result[Partner]:
            partner = self._partner(uow, actor, action, partner_id)
            updated, events = move(partner, actor=actor.id, at=self.clock.now())
            if not events and updated == partner:
                return Result(partner)
            return Result(uow.partners.update(updated), events)

        return self._run(work)

    def _scoped_page(
        self,
        actor: Actor,
        view: str,
        partner_id: str | None,
        query: Callable[[UnitOfWork, list[str] | None, int], Page[T]],
        *,
        limit: int,
    ) -> Page[T]:
        """A page of the records the actor may see (``view``), of ``partner_id``'s if given.

        Args:
            actor: Who lists.
            view: The action that lets the actor see the records.
            partner_id: The one partner asked for, if any.
            query: Reads the page in a unit of work, of the partners given
                (``None``: anyone's; see `_listed`), at most the size given.
            limit: The page size the caller asked for.

        Raises:
            ValidationError: For a ``limit`` outside 1..1000.
        """
        size = _check_limit(limit)
        with self.storage.unit_of_work() as uow:
            sources = self._listed(uow, actor, view, partner_id)
            if sources == []:
                return Page(())
            return query(uow, sources, size)

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
