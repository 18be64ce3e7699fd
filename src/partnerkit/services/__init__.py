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

from partnerkit.services._deals import _DealServices
from partnerkit.services._forecast import _ForecastServices
from partnerkit.services._funds import _FundServices
from partnerkit.services._health import _HealthServices
from partnerkit.services._incentives import _IncentiveServices
from partnerkit.services._intents import (
    ConflictNotice,
    DealChanges,
    DealDraft,
    OverrideRequest,
    PartnerChanges,
    Result,
    Skipped,
)
from partnerkit.services._leads import PROFILE_FIELDS, LeadIntake, _LeadServices
from partnerkit.services._partners import _PartnerServices
from partnerkit.services._relationship import _RelationshipServices
from partnerkit.services._snapshots import LedgerSnapshots
from partnerkit.services._tiers import _TierServices

__all__ = [
    "PROFILE_FIELDS",
    "ConflictNotice",
    "DealChanges",
    "DealDraft",
    "LeadIntake",
    "LedgerSnapshots",
    "OverrideRequest",
    "PartnerChanges",
    "Result",
    "Services",
    "Skipped",
]


class Services(
    _PartnerServices,
    _TierServices,
    _HealthServices,
    _ForecastServices,
    _DealServices,
    _RelationshipServices,
    _FundServices,
    _IncentiveServices,
    _LeadServices,
):
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
