"""Deal registrations: drafts, submission with screening, decisions, extensions."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

import attrs

from partnerkit._base.events import Event
from partnerkit._pages import every
from partnerkit.access import Action, Actor
from partnerkit.deals import (
    DEFAULT_PROTECTION,
    Conflict,
    ConflictIndex,
    DealRegistration,
    DealStatus,
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
    NotFoundError,
    ValidationError,
)
from partnerkit.ledger import Activity, ActivityKind
from partnerkit.storage import Page
from partnerkit.storage._repositories import (
    _Deals,
)
from partnerkit.storage._staging import (
    search_key,
)
from partnerkit.tiers import (
    MembershipStatus,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import datetime

    from partnerkit._base.time import Period
    from partnerkit.storage import UnitOfWork


from partnerkit.services._core import _Move, _ServicesCore
from partnerkit.services._intents import (
    ConflictNotice,
    DealChanges,
    DealDraft,
    Result,
)
from partnerkit.services._support import (
    _check_limit,
    _conflict_seen,
    _days,
    _deprecated,
    _screened_through,
    _told,
    _told_event,
)


class _DealServices(_ServicesCore):
    """Deal registrations: drafts, submission with screening, decisions, extensions."""

    # Converts the lead a draft names (`partnerkit.services._leads`).
    _convert_lead: Callable[[UnitOfWork, Actor, str, str, str], None]

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
            for registration in every(lambda cursor: deals.active(cursor=cursor)):
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
                for active in every(lambda cursor: deals.active(cursor=cursor)):
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
        if draft.lead_id is not None:
            # The lead becomes converted in the same unit of work, or nothing does.
            self._convert_lead(uow, actor, draft.lead_id, owner, deal_id)
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
                lead_id=draft.lead_id,
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
            sources = self._listed(uow, actor, Action.DEAL_VIEW, partner_id)
            if sources == []:
                return Page(())
            sees = self._seer(uow, actor)
            # One paged query: the scope is an IN filter, the window two bounds.
            page = uow.deals.query(
                partner_ids=sources,
                status=status,
                customer=customer,
                protection_until_after=None if window is None else window[0],
                protection_until_before=None if window is None else window[1],
                limit=size,
                cursor=cursor,
            )
        return Page(tuple(self._shown(r, sees) for r in page.items), page.next_cursor)

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
        move: _Move[DealRegistration],
    ) -> Result[DealRegistration]:
        def work(uow: UnitOfWork) -> Result[DealRegistration]:
            registration = self._deal(uow, actor, action, deal_id)
            updated, events = move(registration, actor=actor.id, at=self.clock.now())
            return Result(uow.deals.update(updated), events)

        return self._deal_call(actor, work)

    def reject_deal(self, actor: Actor, deal_id: str, *, reason: str) -> Result[DealRegistration]:
        """Reject a submitted registration; ``reason`` is required.

        The decision keeps the conflicts the registration has when it is rejected,
        as an approval's does, so the record shows what the manager weighed; a
        partner user reading it sees only the conflicts with its own registrations.
        """
        now = self.clock.now()

        def work(uow: UnitOfWork) -> Result[DealRegistration]:
            registration = self._deal(uow, actor, Action.DEAL_DECIDE, deal_id)
            rejected, events = reject(
                registration,
                actor=actor.id,
                at=now,
                reason=reason,
                conflicts=self._screen(uow, registration),
            )
            return Result(uow.deals.update(rejected), events)

        return self._deal_call(actor, work)

    def withdraw_deal(
        self, actor: Actor, deal_id: str, *, reason: str = ""
    ) -> Result[DealRegistration]:
        """Withdraw a draft or submitted registration."""
        return self._decide_deal(
            actor, Action.DEAL_WITHDRAW, deal_id, partial(withdraw, reason=reason)
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
                actor, Action.DEAL_CLOSE, deal_id, partial(lose, reason=reason)
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
            partial(request_extension, period=period, reason=reason, policy=self.extension_policy),
        )

    def decide_deal_extension(
        self, actor: Actor, deal_id: str, *, approve: bool, reason: str = ""
    ) -> Result[DealRegistration]:
        """Approve or deny the pending extension (a denial needs a reason)."""
        move = (
            partial(approve_extension, reason=reason, policy=self.extension_policy)
            if approve
            else partial(deny_extension, reason=reason)
        )
        return self._decide_deal(actor, Action.DEAL_DECIDE, deal_id, move)
