"""The relationship: joint business plans, check-ins, certifications and surveys.

Partner users see and answer their own partner's plans (agreeing for the partner
side), check-ins (completing action items) and surveys; channel managers write
plans, record check-ins and certifications for the partners they own and read the
whole channel. Records of a partner the actor may not see are reported missing,
exactly as records that do not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

import attrs

from partnerkit._base.events import Change, Event, Scalar
from partnerkit._pages import every
from partnerkit.access import Action, Actor, Role, Scope
from partnerkit.errors import NotFoundError, PermissionDeniedError, ValidationError
from partnerkit.partners import PartnerStatus
from partnerkit.relationship import (
    SURVEY_ANSWERED,
    ActionItem,
    BusinessPlan,
    Certification,
    CheckIn,
    CheckInPolicy,
    DueCheckIn,
    Enrolment,
    Goal,
    Journey,
    Nps,
    PlanProgress,
    Side,
    agree_plan,
    complete_action,
    draft_plan,
    issue_certification,
    journey_events,
    nps_by,
    overdue_check_ins,
    plan_progress,
    record_check_in,
    renew_certification,
    revise_plan,
    start_certification,
    survey_answer,
)
from partnerkit.services._core import _Owned, _ServicesCore
from partnerkit.services._intents import Result
from partnerkit.services._support import _check_limit
from partnerkit.storage import UnitOfWork

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from datetime import date, datetime

    from partnerkit.ledger import Activity
    from partnerkit.relationship import Survey
    from partnerkit.storage import Page


_V = Action.RELATIONSHIP_VIEW
# Relationship repositories refuse a malformed id with `ValidationError`: to the
# caller, a record it cannot name is one that is not there.
_UNKNOWN = (NotFoundError, ValidationError)
_M = TypeVar("_M")
_K = TypeVar("_K", bound=_Owned)


class _Signed(Protocol[_M]):
    """A relationship move, given the record, who signs it and when (see `_Move`)."""

    def __call__(self, record: _M, /, *, by: str, at: datetime) -> Change[_M]: ...


class _Kept(Protocol[_M]):
    """A repository of one kind of relationship record."""

    def get(self, record_id: str, /) -> _M: ...

    def update(self, record: _M, /) -> _M: ...


@attrs.frozen
class _Records(Generic[_K]):
    """One kind of relationship record: its name in errors and where it is kept."""

    kind: str
    kept: Callable[[UnitOfWork], _Kept[_K]]


_PLANS: _Records[BusinessPlan] = _Records("business plan", lambda uow: uow.plans)
_CHECK_INS: _Records[CheckIn] = _Records("check-in", lambda uow: uow.check_ins)
_CERTIFICATIONS: _Records[Certification] = _Records("certification", lambda uow: uow.certifications)


class _RelationshipServices(_ServicesCore):
    """Plans, check-ins, certifications and surveys, access-checked and announced."""

    # Shared helpers.

    def _visible(self, uow: UnitOfWork, actor: Actor, partner_id: str | None) -> str | None:
        """The partner a list is narrowed to, so a page never holds what the actor may not see.

        Raises:
            NotFoundError: If the actor names a partner it may not see, or none that exists.
            PermissionDeniedError: If the actor may see only some partners and names none.
        """
        narrowed = partner_id
        if narrowed is None:
            scopes = self.policy.scopes(actor, Action.RELATIONSHIP_VIEW)
            if Scope.ANY in scopes:
                return None
            if actor.partner_id is None or not scopes & {Scope.OWN, Scope.OWN_AND_CHILDREN}:
                raise PermissionDeniedError(
                    str(actor), Action.RELATIONSHIP_VIEW.value, "every partner", "name a partner_id"
                )
            narrowed = actor.partner_id
        self._partner(uow, actor, Action.RELATIONSHIP_VIEW, narrowed)
        return narrowed

    def _read(
        self, uow: UnitOfWork, actor: Actor, records: _Records[_K], key: str, action: str = _V
    ) -> _K:
        """The record ``action`` is about, once the actor may do it (see `_record`)."""
        read = records.kept(uow).get
        return self._record(
            uow, actor, action, read, key, kind=records.kind, view=_V, unknown=_UNKNOWN
        )

    def _sign(
        self, actor: Actor, action: Action, records: _Records[_K], key: str, move: _Signed[_K]
    ) -> Result[_K]:
        """Read the record, have ``move`` change it in the actor's name, and store it."""

        def work(uow: UnitOfWork) -> Result[_K]:
            record = self._read(uow, actor, records, key, action)
            updated, events = move(record, by=actor.id, at=self.clock.now())
            return Result(records.kept(uow).update(updated), events)

        return self._run(work)

    @staticmethod
    def _side(actor: Actor) -> Side:
        return Side.PARTNER if actor.role is Role.PARTNER_USER else Side.VENDOR

    # Joint business plans.

    def draft_plan(
        self,
        actor: Actor,
        partner_id: str,
        *,
        title: str,
        starts_on: date,
        ends_on: date,
        goals: Iterable[Goal],
    ) -> Result[BusinessPlan]:
        """Write a new joint business plan for a partner (``plan.edit``).

        The service mints its id and records the actor as its author on the vendor's
        side; both sides then agree with `agree_plan`.

        Raises:
            NotFoundError: If there is no such partner, or the actor may not see it.
            PermissionDeniedError: If the actor sees it but may not write plans.
            ValidationError: Every problem with the plan at once.
        """
        listed = tuple(goals)

        def work(uow: UnitOfWork) -> Result[BusinessPlan]:
            self._partner(uow, actor, Action.PLAN_EDIT, partner_id, view=Action.RELATIONSHIP_VIEW)
            plan, events = draft_plan(
                self.ids("jbp"),
                partner_id,
                title=title,
                starts_on=starts_on,
                ends_on=ends_on,
                goals=listed,
                by=actor.id,
                side=self._side(actor),
                at=self.clock.now(),
            )
            return Result(uow.plans.add(plan), events)

        return self._run(work)

    def agree_plan(self, actor: Actor, plan_id: str) -> Result[BusinessPlan]:
        """Agree to the plan's current goals for the actor's side (``plan.agree``).

        A partner user agrees for the partner, anyone else for the vendor; the plan
        is agreed once both sides have.

        Raises:
            NotFoundError: If there is no such plan, or the actor may not see it.
            InvalidTransitionError: If that side already agreed to these goals.
        """
        side = self._side(actor)
        return self._sign(actor, Action.PLAN_AGREE, _PLANS, plan_id, partial(agree_plan, side=side))

    def revise_plan(
        self, actor: Actor, plan_id: str, goals: Iterable[Goal], *, reason: str
    ) -> Result[BusinessPlan]:
        """Change a plan's goals, saying why (``plan.edit``); both sides agree again."""
        listed = tuple(goals)
        side = self._side(actor)
        move = partial(revise_plan, goals=listed, side=side, reason=reason)
        return self._sign(actor, Action.PLAN_EDIT, _PLANS, plan_id, move)

    def get_plan(self, actor: Actor, plan_id: str) -> BusinessPlan:
        """One plan, if the actor may see its partner (else `NotFoundError`)."""
        with self.storage.unit_of_work() as uow:
            return self._read(uow, actor, _PLANS, plan_id)

    def list_plans(
        self,
        actor: Actor,
        *,
        partner_id: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[BusinessPlan]:
        """Plans the actor may see, ordered by id; a partner user's are their own."""
        size = _check_limit(limit)
        with self.storage.unit_of_work() as uow:
            narrowed = self._visible(uow, actor, partner_id)
            return uow.plans.query(partner_id=narrowed, limit=size, cursor=cursor)

    def plan_progress(
        self, actor: Actor, plan_id: str, *, as_of: datetime | None = None
    ) -> PlanProgress:
        """The plan's goals against the partner's ledger now (or ``as_of``)."""
        when = as_of or self.clock.now()
        with self.storage.unit_of_work() as uow:
            plan = self._read(uow, actor, _PLANS, plan_id)
            start, end = plan.period_bounds()
            activities = uow.activities.for_partner(plan.partner_id, since=start, until=end)
        return plan_progress(plan, activities, as_of=when, rates=self.rates)

    # Check-ins.

    def record_check_in(
        self,
        actor: Actor,
        partner_id: str,
        *,
        held_at: datetime,
        attendees: Iterable[str],
        notes: str = "",
        satisfaction: int | None = None,
        action_items: Iterable[ActionItem] = (),
    ) -> Result[CheckIn]:
        """Record a check-in that was held (``check_in.record``); the actor is its author.

        Raises:
            NotFoundError: If there is no such partner, or the actor may not see it.
            PermissionDeniedError: If the actor sees it but may not record check-ins.
            ValidationError: Every problem with the check-in at once.
        """
        people = tuple(attendees)
        items = tuple(action_items)

        def work(uow: UnitOfWork) -> Result[CheckIn]:
            self._partner(
                uow, actor, Action.CHECK_IN_RECORD, partner_id, view=Action.RELATIONSHIP_VIEW
            )
            check_in = CheckIn(
                self.ids("chk"),
                partner_id,
                held_at,
                people,
                notes,
                satisfaction,
                items,
                recorded_by=actor.id,
            )
            stored, events = record_check_in(check_in, at=self.clock.now())
            return Result(uow.check_ins.add(stored), events)

        return self._run(work)

    def complete_action(
        self, actor: Actor, check_in_id: str, item_id: str, *, done_on: date | None = None
    ) -> Result[CheckIn]:
        """Mark an action item done (``check_in.complete_action``), today unless ``done_on``.

        Raises:
            NotFoundError: If there is no such check-in or item, or the actor may
                not see the check-in.
            InvalidTransitionError: If the item is done already.
        """

        def move(check_in: CheckIn, *, by: str, at: datetime) -> Change[CheckIn]:
            return complete_action(check_in, item_id, done_on=done_on or at.date(), by=by, at=at)

        return self._sign(actor, Action.ACTION_COMPLETE, _CHECK_INS, check_in_id, move)

    def get_check_in(self, actor: Actor, check_in_id: str) -> CheckIn:
        """One check-in, if the actor may see its partner (else `NotFoundError`)."""
        with self.storage.unit_of_work() as uow:
            return self._read(uow, actor, _CHECK_INS, check_in_id)

    def list_check_ins(
        self,
        actor: Actor,
        *,
        partner_id: str | None = None,
        held_after: datetime | None = None,
        held_before: datetime | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[CheckIn]:
        """Check-ins the actor may see, ordered by id; a partner user's are their own."""
        size = _check_limit(limit)
        with self.storage.unit_of_work() as uow:
            narrowed = self._visible(uow, actor, partner_id)
            return uow.check_ins.query(
                partner_id=narrowed,
                held_after=held_after,
                held_before=held_before,
                limit=size,
                cursor=cursor,
            )

    def overdue_check_ins(
        self,
        actor: Actor,
        policy: CheckInPolicy,
        *,
        as_of: datetime | None = None,
        tiers: dict[str, str] | None = None,
    ) -> tuple[DueCheckIn, ...]:
        """Partners whose check-in is past due on ``policy``, most overdue first.

        Every partner the actor may see (from its creation), with the check-ins
        stored for it; ``tiers`` (partner id to tier id) picks per-tier cadences.

        Raises:
            PermissionDeniedError: If the actor may not see the whole channel.
        """
        self.policy.check(actor, Action.RELATIONSHIP_VIEW)
        when = as_of or self.clock.now()
        with self.storage.unit_of_work() as uow:
            partners = every(lambda cursor: uow.partners.query(limit=1000, cursor=cursor))
            check_ins = every(lambda cursor: uow.check_ins.query(limit=1000, cursor=cursor))
        started = {partner.id: partner.created_at for partner in partners}
        return overdue_check_ins(policy, started, check_ins, as_of=when, tiers=tiers)

    # Certifications.

    def start_certification(
        self, actor: Actor, partner_id: str, *, person: str, name: str, started_on: date
    ) -> Result[Certification]:
        """A person at the partner starts a certification (``certification.record``)."""

        def work(uow: UnitOfWork) -> Result[Certification]:
            self._partner(
                uow,
                actor,
                Action.CERTIFICATION_RECORD,
                partner_id,
                view=Action.RELATIONSHIP_VIEW,
            )
            record, events = start_certification(
                self.ids("crt"),
                partner_id,
                person=person,
                name=name,
                started_on=started_on,
                by=actor.id,
                at=self.clock.now(),
            )
            return Result(uow.certifications.add(record), events)

        return self._run(work)

    def issue_certification(
        self, actor: Actor, certification_id: str, *, issued_on: date, expires_on: date
    ) -> Result[Certification]:
        """The person passed: record the first term (``certification.record``)."""
        move = partial(issue_certification, issued_on=issued_on, expires_on=expires_on)
        return self._sign(
            actor, Action.CERTIFICATION_RECORD, _CERTIFICATIONS, certification_id, move
        )

    def renew_certification(
        self, actor: Actor, certification_id: str, *, issued_on: date, expires_on: date
    ) -> Result[Certification]:
        """Record a renewal (``certification.record``); open from the renewal window on."""
        move = partial(renew_certification, issued_on=issued_on, expires_on=expires_on)
        return self._sign(
            actor, Action.CERTIFICATION_RECORD, _CERTIFICATIONS, certification_id, move
        )

    def list_certifications(
        self,
        actor: Actor,
        *,
        partner_id: str | None = None,
        expires_before: date | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[Certification]:
        """Certifications the actor may see, ordered by id; ``expires_before`` for renewals due."""
        size = _check_limit(limit)
        with self.storage.unit_of_work() as uow:
            narrowed = self._visible(uow, actor, partner_id)
            return uow.certifications.query(
                partner_id=narrowed, expires_before=expires_before, limit=size, cursor=cursor
            )

    # Journeys.

    def run_journey(
        self,
        actor: Actor,
        journey: Journey,
        *,
        since: datetime,
        until: datetime | None = None,
        tiers: Mapping[str, str] | None = None,
    ) -> Result[tuple[Event, ...]]:
        """Publish what happened on ``journey`` in ``(since, until]`` to the outbox.

        Every active partner is on the journey from when it became active (from its
        creation if its history does not say). Its state is worked out from the
        ledger (`partnerkit.relationship.journey_events`), so nothing is stored
        but the events: ``journey.step_done``, ``journey.step_overdue``,
        ``journey.completed`` and one ``journey.outcome`` per outcome, which
        subscribers turn into emails and webhooks. Run it on consecutive windows
        (``since`` = the previous ``until``) and each fires once.

        Args:
            actor: Who runs it (``journey.run``).
            journey: The journey.
            since: The end of the previous window (excluded).
            until: The end of this one (default: now).
            tiers: Partner id to tier id, for variants by tier.

        Raises:
            PermissionDeniedError: If the actor may not run journeys.
            ValidationError: If ``until`` is before ``since``.
        """
        self.policy.check(actor, Action.JOURNEY_RUN)
        end = until or self.clock.now()
        tier_of = tiers or {}

        def work(uow: UnitOfWork) -> Result[tuple[Event, ...]]:
            partners = every(
                lambda cursor: uow.partners.query(
                    status=PartnerStatus.ACTIVE, limit=1000, cursor=cursor
                )
            )
            found: list[Event] = []
            for partner in partners:
                activated = next(
                    (
                        change.at
                        for change in partner.history
                        if change.to_status is PartnerStatus.ACTIVE
                    ),
                    partner.created_at,
                )
                if activated > end:
                    continue
                enrolment = Enrolment(
                    partner.id,
                    activated,
                    type=partner.type,
                    country=partner.country,
                    tier_id=tier_of.get(partner.id),
                )
                activities = uow.activities.for_partner(partner.id, since=activated, until=end)
                found.extend(journey_events(journey, enrolment, activities, since=since, until=end))
            return Result(tuple(found), tuple(found))

        return self._run(work)

    # Surveys.

    def answer_survey(
        self,
        actor: Actor,
        *,
        survey: Survey | str,
        score: int,
        partner_id: str | None = None,
        program_id: str | None = None,
        comment: str = "",
    ) -> Result[Activity]:
        """Record a survey answer by the actor, as an activity of its partner (``survey.answer``).

        A partner user answers for its own partner (``partner_id`` defaults to it);
        the actor is the respondent.

        Raises:
            NotFoundError: If there is no such partner, or the actor may not see it.
            ValidationError: If the score is off the survey's scale.
        """
        target = partner_id or actor.partner_id
        if target is None:
            raise ValidationError.single("partner_id", "name the partner the answer is for")

        def work(uow: UnitOfWork) -> Result[Activity]:
            self._partner(uow, actor, Action.SURVEY_ANSWER, target, view=Action.RELATIONSHIP_VIEW)
            now = self.clock.now()
            answer = survey_answer(
                self.ids("svy"),
                target,
                survey=survey,
                score=score,
                answered_at=now,
                respondent=actor.id,
                program_id=program_id,
                comment=comment,
            )
            uow.activities.append([answer])
            event_data: dict[str, Scalar] = {
                "partner_id": target,
                "survey": answer.attributes["survey"],
            }

            return Result(answer, (Event("survey.answered", answer.id, now, actor.id, event_data),))

        return self._run(work)

    def nps_report(
        self,
        actor: Actor,
        *,
        by: str | Callable[[Activity], str | None] = "program",
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> dict[str, Nps]:
        """NPS per program (or any grouping, as `partnerkit.relationship.nps_by`).

        Raises:
            PermissionDeniedError: If the actor may not see satisfaction across partners.
        """
        self.policy.check(actor, Action.SATISFACTION_VIEW)
        with self.storage.unit_of_work() as uow:
            answers = every(
                lambda cursor: uow.activities.query(
                    kinds=(SURVEY_ANSWERED,), since=since, until=until, limit=1000, cursor=cursor
                )
            )
        return nps_by(answers, by)
