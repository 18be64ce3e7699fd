"""The activity ledger: an append-only record of what partners do."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from decimal import Decimal

import attrs

from partnerkit._base.checks import a_slug, an_id, an_instant, check_fields, check_slug
from partnerkit._base.events import Scalar, check_scalars
from partnerkit._base.frozen import freeze
from partnerkit._base.ids import is_valid_id
from partnerkit._base.money import Money, to_decimal
from partnerkit._base.time import FIRST_YEAR, LAST_YEAR
from partnerkit.errors import Problems

__all__ = ["Activity", "ActivityKind", "ActivityValue"]

#: What an activity may carry as its value: money, a plain number, or nothing.
ActivityValue = Money | Decimal | None


class ActivityKind(enum.StrEnum):
    """The activity kinds every PRM records. Hosts may use any other lowercase slug."""

    REVENUE_BOOKED = "revenue_booked"
    DEAL_REGISTERED = "deal_registered"
    DEAL_APPROVED = "deal_approved"
    DEAL_WON = "deal_won"
    CERTIFICATION_EARNED = "certification_earned"
    TRAINING_COMPLETED = "training_completed"
    PORTAL_LOGIN = "portal_login"
    BUSINESS_REVIEW_HELD = "business_review_held"


def _read_value(value: object) -> ActivityValue:
    if value is None or isinstance(value, Money):
        return value
    return to_decimal(value, "")


@attrs.frozen
class Activity:
    """One thing a partner did, at one instant. Activities are never changed.

    Appending an activity whose id is already in the ledger with the same content
    does nothing, so a retried import never counts twice; the same id with other
    content is refused.

    Attributes:
        id: Unique in the ledger; use the source system's key so retries match.
        partner_id: Whose activity it is.
        kind: An `ActivityKind` or a host's own lowercase slug.
        occurred_at: When it happened (aware; stored in UTC).
        value: ``Money`` (revenue), a number (``Decimal``, ``int`` or numeric
            ``str``: seats, hours) or ``None``.
        attributes: Flat details to filter and count by: ``{"person": "p_7",
            "certification": "cloud_architect"}``.
        expires_on: For certifications: the first day it is no longer valid.
    """

    id: str
    partner_id: str
    kind: str
    occurred_at: datetime
    value: ActivityValue = None
    attributes: dict[str, Scalar] = attrs.field(factory=dict)
    expires_on: date | None = None

    def __attrs_post_init__(self) -> None:
        # Hot path for bulk imports: the common, well-formed case costs a few
        # type checks; only bad input goes through the full collection of problems.
        occurred = self.occurred_at
        if not (
            type(self.id) is str
            and type(self.partner_id) is str
            and type(self.kind) in _KIND_TYPES
            and type(occurred) is datetime
            and occurred.tzinfo is UTC
            and FIRST_YEAR <= occurred.year <= LAST_YEAR
            and (self.value is None or type(self.value) is Money)
            and isinstance(self.attributes, dict)
            and (self.expires_on is None or type(self.expires_on) is date)
            and is_valid_id(self.id)
            and is_valid_id(self.partner_id)
            and check_slug_fast(self.kind)
            and all(
                type(key) is str and key and type(value) in _SCALAR_TYPES
                for key, value in self.attributes.items()
            )
        ):
            self._validate()
        else:
            object.__setattr__(self, "attributes", freeze(self.attributes))

    def _validate(self) -> None:
        problems = Problems()
        check_fields(
            self,
            problems,
            {
                "id": an_id,
                "partner_id": an_id,
                "kind": a_slug("activity kind"),
                "occurred_at": an_instant,
                "value": _read_value,
            },
            check_only=("id", "partner_id", "kind"),
        )
        object.__setattr__(
            self, "attributes", check_scalars(self.attributes, problems, "attributes")
        )
        if self.expires_on is not None and (
            not isinstance(self.expires_on, date) or isinstance(self.expires_on, datetime)
        ):
            problems.add("expires_on", "expected a date")
        problems.raise_if_any()


_SCALAR_TYPES = frozenset({str, int, bool, type(None)})
_KIND_TYPES = frozenset({str, ActivityKind})
_KNOWN_KINDS = frozenset(kind.value for kind in ActivityKind)


def check_slug_fast(kind: str) -> bool:
    """Whether ``kind`` is a valid slug, answering the built-in kinds without a regex."""
    if kind in _KNOWN_KINDS:
        return True
    try:
        check_slug(kind, "activity kind")
    except ValueError:
        return False
    return True
