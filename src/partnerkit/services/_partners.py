"""Partners and the ledger: register, change, move through the lifecycle, record."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

import attrs

from partnerkit._base.events import Event
from partnerkit.access import Action, Actor
from partnerkit.errors import (
    AlreadyExistsError,
    NotFoundError,
    ValidationError,
)
from partnerkit.partners import (
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
from partnerkit.storage import Page
from partnerkit.storage._staging import (
    partner_name_key,
    search_key,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from datetime import date, datetime

    from partnerkit._base.events import Scalar
    from partnerkit.ledger import Activity
    from partnerkit.storage import AppendResult, UnitOfWork


from partnerkit.services._core import _ServicesCore
from partnerkit.services._intents import (
    PartnerChanges,
    Result,
)
from partnerkit.services._support import (
    _check_limit,
    _Slice,
    _slices,
    _split_cursor,
)


class _PartnerServices(_ServicesCore):
    """Partners and the ledger: register, change, move through the lifecycle, record."""

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
            partial(start_onboarding, plan=plan, joined_on=joined_on),
        )

    def complete_onboarding_step(self, actor: Actor, partner_id: str, key: str) -> Result[Partner]:
        """Mark an onboarding step done (done twice changes nothing)."""
        return self._change_partner(
            actor,
            Action.PARTNER_COMPLETE_STEP,
            partner_id,
            partial(complete_onboarding_step, key=key),
        )

    def activate_partner(
        self, actor: Actor, partner_id: str, *, force_reason: str = ""
    ) -> Result[Partner]:
        """Activate a partner whose required onboarding steps are done (or force it)."""
        return self._change_partner(
            actor, Action.PARTNER_ACTIVATE, partner_id, partial(activate, force_reason=force_reason)
        )

    def suspend_partner(self, actor: Actor, partner_id: str, *, reason: str) -> Result[Partner]:
        """Suspend an active partner; ``reason`` is required."""
        return self._change_partner(
            actor, Action.PARTNER_SUSPEND, partner_id, partial(suspend, reason=reason)
        )

    def reinstate_partner(
        self, actor: Actor, partner_id: str, *, reason: str = ""
    ) -> Result[Partner]:
        """Return a suspended partner to active."""
        return self._change_partner(
            actor, Action.PARTNER_REINSTATE, partner_id, partial(reinstate, reason=reason)
        )

    def terminate_partner(self, actor: Actor, partner_id: str, *, reason: str) -> Result[Partner]:
        """End a partnership; ``reason`` is required."""
        return self._change_partner(
            actor, Action.PARTNER_TERMINATE, partner_id, partial(terminate, reason=reason)
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
