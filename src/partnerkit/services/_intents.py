"""What callers may ask of the services, and what they get back."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Final, Generic, TypeVar

import attrs

from partnerkit._base.events import Event
from partnerkit._base.money import Money
from partnerkit._base.time import to_utc
from partnerkit.deals import (
    Conflict,
    ConflictOutcome,
    Customer,
    DealRegistration,
    MatchKind,
)
from partnerkit.errors import (
    Problems,
    ValidationError,
)
from partnerkit.health import (
    Override,
)
from partnerkit.partners import (
    Contact,
    CustomValue,
    Partner,
)

if TYPE_CHECKING:
    from collections.abc import Iterable


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
        lead_id: The accepted lead the deal comes from: the registration keeps it
            (and the lead's attribution), and the lead becomes converted with it.
    """

    customer: Customer
    amount: Money
    expected_close_on: date
    products: tuple[str, ...] = ()
    notes: str = ""
    lead_id: str | None = None

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
                lead_id=self.lead_id,
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
            lead_id=registration.lead_id,
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
