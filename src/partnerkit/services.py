"""Use cases a host application calls: each one checked, atomic and announced.

A `Services` object ties a store, a clock, an access policy and an event bus
together. Every call:

1. names the `Actor` doing it, and is refused with `PermissionDeniedError` (nothing
   changed) unless the policy allows it;
2. runs in one unit of work: it reads, applies partnerkit's rules, writes, and
   commits, or changes nothing at all;
3. returns a `Result`: the new value and the domain events the change produced,
   which were committed to the outbox with it and then delivered to the event
   bus's subscribers.

A call that loses a race with another writer (`StaleVersionError`) is retried from
a fresh read a few times before the error reaches the caller, so concurrent
managers acting on one partner do not see spurious failures.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import TYPE_CHECKING, Generic, TypeVar

import attrs

from partnerkit._base.events import Event
from partnerkit._base.time import Clock, SystemClock
from partnerkit.access import DEFAULT_POLICY, AccessPolicy, Action, Actor
from partnerkit.deals import (
    DEFAULT_PROTECTION,
    ConflictIndex,
    DealRegistration,
    ExtensionPolicy,
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
    PartnerkitError,
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
    score_batch,
    withdraw_override,
)
from partnerkit.metrics import MetricDefinition, compute_snapshots
from partnerkit.partners import (
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
from partnerkit.tiers import (
    Membership,
    Program,
    ReviewRun,
    apply_tier_events,
    approve_downgrade,
    pin_tier,
    reject_downgrade,
    review,
    unpin,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from datetime import date, datetime

    from partnerkit._base.events import Change
    from partnerkit._base.money import RateSource
    from partnerkit._base.time import Period
    from partnerkit.ledger import Activity
    from partnerkit.storage import AppendResult, Page, Storage, UnitOfWork

__all__ = ["Result", "Services"]

T = TypeVar("T")
_LOG = logging.getLogger("partnerkit.services")
_RETRIES = 5
_TICK = timedelta(microseconds=1)


@attrs.frozen
class Result(Generic[T]):
    """What a service call did.

    Attributes:
        value: The new state (a partner, an append result...).
        events: The domain events committed with it, in order.
    """

    value: T
    events: tuple[Event, ...] = ()


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
    ) -> None:
        self.storage = storage
        self.clock = clock or SystemClock()
        self.policy = policy
        self.bus = bus or EventBus(storage)
        self.extension_policy = extension_policy
        self.rates = rates
        self._conflicts: ConflictIndex | None = None
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

    def _change_partner(
        self,
        actor: Actor,
        action: Action,
        partner_id: str,
        change: Callable[[Partner, datetime], Change[Partner]],
    ) -> Result[Partner]:
        def work(uow: UnitOfWork) -> Result[Partner]:
            partner = uow.partners.get(partner_id)
            self.policy.check(actor, action, partner)
            updated, events = change(partner, self.clock.now())
            if not events and updated == partner:
                return Result(partner)
            return Result(uow.partners.update(updated), events)

        return self._run(work)

    # Partners.

    def get_partner(self, actor: Actor, partner_id: str) -> Partner:
        """Read a partner the actor may see.

        Raises:
            NotFoundError: If there is none.
            PermissionDeniedError: If the actor may not see it.
        """
        with self.storage.unit_of_work() as uow:
            partner = uow.partners.get(partner_id)
        self.policy.check(actor, Action.PARTNER_VIEW, partner)
        return partner

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
            PermissionDeniedError: If any activity is for a partner the actor may not
                record for; nothing is written.
            NotFoundError: If an activity names a partner that does not exist.
            ConflictError: If an id is in the ledger with different content.
        """
        batch = list(activities)
        if not batch:
            raise ValidationError.single("activities", "give at least one activity")

        def work(uow: UnitOfWork) -> Result[AppendResult]:
            for partner_id in dict.fromkeys(activity.partner_id for activity in batch):
                self.policy.check(actor, Action.ACTIVITY_RECORD, uow.partners.get(partner_id))
            return Result(uow.activities.append(batch))

        return self._run(work)

    # Tier reviews.

    def run_tier_review(
        self, actor: Actor, program_id: str, *, as_of: datetime | None = None
    ) -> Result[ReviewRun]:
        """Review every active membership of a program and save what changed.

        Reads the program, its memberships, the members' activities and tier
        histories; computes the snapshots with the program's metrics; runs
        `partnerkit.tiers.review`; saves the memberships that changed and their
        tier history, and publishes the tier events, all in one unit of work.
        Running it again for the same instant changes nothing.

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
            ids = [member.partner_id for member in members]
            activities = [a for pid in ids for a in uow.activities.for_partner(pid, until=when)]
            snapshots = compute_snapshots(
                program.metrics, activities, when, partner_ids=ids, rates=self.rates
            )
            histories = {pid: uow.tier_history.for_partner(program_id, pid) for pid in ids}
            run = review(program, members, snapshots, as_of=when, histories=histories)
            for membership in run.memberships:
                uow.memberships.update(membership)
            for history in run.histories.values():
                for assignment in history:
                    uow.tier_history.save(assignment)
            return Result(run, run.events)

        return self._run(work)

    # Health scores.

    def score_partners(
        self,
        actor: Actor,
        model: ScoringModel,
        definitions: Sequence[MetricDefinition],
        *,
        as_of: datetime | None = None,
        rates: RateSource | None = None,
    ) -> Result[ScoreBatch]:
        """Score every active partner and store the scores as history.

        Snapshots are computed from the ledger with ``definitions``; each partner's
        latest stored score is passed as ``previous``, so overrides carry over and
        lapse by themselves and band changes become events.

        Args:
            actor: Who runs it (``health.score``).
            model: The scoring model.
            definitions: Metric definitions producing the metrics the model reads.
            as_of: The scoring instant (default: now).
            rates: Converts money into a definition's ``currency`` (the services'
                ``rates`` by default).
        """
        self.policy.check(actor, Action.HEALTH_SCORE)
        when = as_of or self.clock.now()

        def work(uow: UnitOfWork) -> Result[ScoreBatch]:
            partners = _every(lambda cursor: uow.partners.query(
                status=PartnerStatus.ACTIVE, limit=1000, cursor=cursor
            ))  # fmt: skip
            ids = [partner.id for partner in partners]
            activities = [a for pid in ids for a in uow.activities.for_partner(pid, until=when)]
            snapshots = compute_snapshots(
                definitions, activities, when, partner_ids=ids, rates=rates or self.rates
            )
            previous: dict[str, HealthScore] = {}
            already: set[str] = set()  # scored at this instant by an earlier run
            for pid in ids:
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
            return Result(batch, events)

        return self._run(work)

    # Deal registrations.

    def _index(self, uow: UnitOfWork) -> ConflictIndex:
        """The conflict index, built from storage on first use and kept in step after."""
        with self._index_lock:
            if self._conflicts is None:
                index = ConflictIndex()
                for registration in _every(lambda cursor: uow.deals.active(cursor=cursor)):
                    index.add(registration)
                self._conflicts = index
            return self._conflicts

    def _synced(self, result: Result[DealRegistration]) -> Result[DealRegistration]:
        if self._conflicts is not None:
            with self._index_lock:
                self._conflicts.sync(result.value)
        return result

    def _protection(self, uow: UnitOfWork, partner_id: str) -> Period:
        """The longest deal protection the partner's current tiers grant (90 days without)."""
        best: Period | None = None
        today = self.clock.now()
        for membership in uow.memberships.for_partner(partner_id):
            if membership.tier_id is None:
                continue
            tier = uow.programs.get(membership.program_id).program.tier(membership.tier_id)
            period = tier.benefits.deal_protection
            if period is not None and (best is None or today + period > today + best):
                best = period
        return best or DEFAULT_PROTECTION

    def submit_deal(self, actor: Actor, registration: DealRegistration) -> Result[DealRegistration]:
        """Store a draft registration (if new) and submit it, screened for conflicts.

        Every conflict becomes a ``deal.conflict_found`` event; a duplicate of the
        same partner's own registration is rejected at once (see `partnerkit.deals`).
        """
        now = self.clock.now()

        def work(uow: UnitOfWork) -> Result[DealRegistration]:
            partner = uow.partners.get(registration.partner_id)
            self.policy.check(actor, Action.DEAL_SUBMIT, partner)
            stored = uow.deals.add(registration) if registration.version == 0 else registration
            submitted, events = submit(stored, actor=actor.id, at=now)
            conflicts = [
                conflict
                for conflict in find_conflicts(submitted, self._index(uow))
                if conflict.other_id != submitted.id
            ]
            screened, more = screen(submitted, conflicts, actor=actor.id, at=now)
            return Result(uow.deals.update(screened), (*events, *more))

        return self._synced(self._run(work))

    def approve_deal(
        self, actor: Actor, deal_id: str, *, override_reason: str = ""
    ) -> Result[DealRegistration]:
        """Approve a submitted registration with the protection its partner's tier grants.

        Raises:
            ConflictError: If a conflict objects and no ``override_reason`` is given,
                or (at commit) if another registration for the customer was
                approved meanwhile; nothing is written.
        """
        now = self.clock.now()

        def work(uow: UnitOfWork) -> Result[DealRegistration]:
            registration = uow.deals.get(deal_id)
            self.policy.check(actor, Action.DEAL_DECIDE, uow.partners.get(registration.partner_id))
            conflicts = [
                conflict
                for conflict in find_conflicts(registration, self._index(uow))
                if conflict.other_id != registration.id
            ]
            approved, events = approve(
                registration,
                actor=actor.id,
                at=now,
                protection=self._protection(uow, registration.partner_id),
                conflicts=conflicts,
                override_reason=override_reason,
            )
            return Result(uow.deals.update(approved), events)

        return self._synced(self._run(work))

    def _decide_deal(
        self,
        actor: Actor,
        action: Action,
        deal_id: str,
        change: Callable[[DealRegistration, datetime], Change[DealRegistration]],
    ) -> Result[DealRegistration]:
        def work(uow: UnitOfWork) -> Result[DealRegistration]:
            registration = uow.deals.get(deal_id)
            self.policy.check(actor, action, uow.partners.get(registration.partner_id))
            updated, events = change(registration, self.clock.now())
            return Result(uow.deals.update(updated), events)

        return self._synced(self._run(work))

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
        """Record an approved deal as won (attribution frozen) or lost (reason required)."""
        if won:
            return self._decide_deal(
                actor,
                Action.DEAL_CLOSE,
                deal_id,
                lambda r, now: win(r, actor=actor.id, at=now, reason=reason),
            )
        return self._decide_deal(
            actor,
            Action.DEAL_CLOSE,
            deal_id,
            lambda r, now: lose(r, actor=actor.id, at=now, reason=reason),
        )

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

    # Extensions, pins, downgrades and overrides: the managers' decisions.

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
            self.policy.check(actor, action, uow.partners.get(partner_id))
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

    def set_health_override(
        self, actor: Actor, model: ScoringModel, partner_id: str, override: Override
    ) -> Result[HealthScore]:
        """Override a partner's latest score from now until the override expires.

        The overridden score is stored as the next entry of the partner's score
        history, and later scoring runs carry it over until it lapses.

        Raises:
            NotFoundError: If the partner has no stored score for ``model``.
        """
        return self._change_score(
            actor,
            model,
            partner_id,
            lambda latest, now: apply_override(model, latest, override, at=now),
        )

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
            self.policy.check(actor, Action.HEALTH_OVERRIDE, uow.partners.get(partner_id))
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
