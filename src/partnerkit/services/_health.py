"""Health scores, overrides and the scoring models stored by name."""

from __future__ import annotations

from typing import TYPE_CHECKING

from partnerkit._base.events import Event
from partnerkit._base.time import to_utc
from partnerkit._pages import every
from partnerkit.access import Action, Actor
from partnerkit.errors import (
    AlreadyExistsError,
    NotFoundError,
    ValidationError,
)
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
from partnerkit.metrics import MetricDefinition, compute_snapshots

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import datetime

    from partnerkit._base.events import Change
    from partnerkit._base.money import RateSource
    from partnerkit.storage import (
        Page,
        StoredModel,
        UnitOfWork,
    )


from partnerkit.services._intents import (
    _TICK,
    OverrideRequest,
    Result,
)
from partnerkit.services._snapshots import LedgerSnapshots, _active_partners, _SnapshotServices
from partnerkit.services._support import (
    _deprecated,
)


class _HealthServices(_SnapshotServices):
    """Health scores, overrides and the scoring models stored by name."""

    # Health scores.

    def score_partners(
        self,
        actor: Actor,
        model: ScoringModel | str,
        definitions: Sequence[MetricDefinition],
        *,
        as_of: datetime | None = None,
        rates: RateSource | None = None,
        snapshots: LedgerSnapshots | None = None,
    ) -> Result[ScoreBatch]:
        """Score every active partner and store the scores as history.

        Snapshots are computed from the ledger with ``definitions``, 500 partners'
        activities at a time; each partner's latest stored score before ``as_of``
        is passed as ``previous``, so overrides carry over and lapse by themselves
        and band changes become events. A partner whose money cannot be summed (no
        rate for its currency) is left out and named in `Result.skipped`; the
        others are scored.

        Args:
            actor: Who runs it (``health.score``).
            model: The scoring model, or the name of a stored one (its highest
                version; see `add_scoring_model`).
            definitions: Metric definitions producing the metrics the model reads.
            as_of: The scoring instant (default: now).
            rates: Converts money into a definition's ``currency`` (the services'
                ``rates`` by default).
            snapshots: Snapshots `compute_snapshots` made at ``as_of`` with
                ``definitions`` among its metrics: the run reads no activities
                but those of partners they lack.

        Raises:
            ValidationError: If ``snapshots`` were computed at another instant or
                without ``definitions``.
        """
        self.policy.check(actor, Action.HEALTH_SCORE)
        when = to_utc(as_of or self.clock.now(), "as_of")

        def work(uow: UnitOfWork) -> Result[ScoreBatch]:
            nonlocal model
            if isinstance(model, str):
                model = self._current_model(uow, model)
            ids = _active_partners(uow)
            found, skipped = self._run_snapshots(
                uow, ids, definitions, when, rates=rates or self.rates, given=snapshots
            )
            scored = list(found)
            previous = uow.scores.latest_before(scored, model=model.name, before=when)
            # Partners scored at this instant by an earlier run: their events were told.
            already = {item.partner_id for item in every(lambda cursor: uow.scores.query(
                model=model.name, as_of=when, limit=1000, cursor=cursor
            ))}  # fmt: skip
            batch = score_batch(model, found, as_of=when, previous=previous)
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

    def _add_model(
        self, actor: Actor, model: ScoringModel, kind: str, check: Callable[[list[int]], None]
    ) -> Result[StoredModel]:
        """Store ``model`` once ``check`` accepts the versions stored under its name."""
        if not isinstance(model, ScoringModel):
            raise ValidationError.single("model", "expected a ScoringModel")

        def change(uow: UnitOfWork) -> StoredModel:
            check(uow.models.versions(model.name))
            return uow.models.add(model)

        return self._change_model(actor, kind, change)

    def add_scoring_model(self, actor: Actor, model: ScoringModel) -> Result[StoredModel]:
        """Store a new scoring model under its name (``model.configure``): ``model.added``.

        Scoring runs can then name it (``score_partners(actor, "Standard", ...)``).

        Raises:
            AlreadyExistsError: If a model with its name is stored; store a change
                with `new_model_version`.
            ValidationError: If ``model`` is not a `ScoringModel`.
        """

        def check(versions: list[int]) -> None:
            if versions:
                raise AlreadyExistsError(
                    "scoring model",
                    model.name,
                    f"a scoring model named {model.name!r} is stored; use "
                    f"new_model_version() to store a changed version",
                )

        return self._add_model(actor, model, "model.added", check)

    def new_model_version(self, actor: Actor, model: ScoringModel) -> Result[StoredModel]:
        """Store the next version of a stored model (``model.configure``): ``model.versioned``.

        Earlier versions are kept, so scores they made can still be reproduced
        (`reproduce_score`); runs naming the model use the new one.

        Raises:
            NotFoundError: If no model with its name is stored.
            ValidationError: If ``model.version`` is not one higher than the
                highest stored version.
        """

        def check(versions: list[int]) -> None:
            if not versions:
                raise NotFoundError("scoring model", model.name, "add it with add_scoring_model()")
            if model.version != versions[-1] + 1:
                raise ValidationError.single(
                    "version",
                    f"the next version of {model.name!r} is {versions[-1] + 1}, "
                    f"got {model.version}",
                )

        return self._add_model(actor, model, "model.versioned", check)

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
