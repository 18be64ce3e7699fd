"""partnerkit: the domain core of Partner Relationship Management.

The names below are the public API; every module whose name starts with an
underscore is private and may change without notice.
"""

from partnerkit._base.events import Change, Event, EventRecord
from partnerkit._base.ids import IdGenerator, check_id, new_id
from partnerkit._base.money import DEFAULT_ROUNDING, FixedRates, Money, RateSource
from partnerkit._base.time import (
    Cadence,
    Clock,
    FixedClock,
    Period,
    SystemClock,
    parse_date,
    parse_datetime,
    to_utc,
)
from partnerkit._version import __version__
from partnerkit.deals import Customer, DealRegistration
from partnerkit.errors import (
    ConflictError,
    CurrencyMismatchError,
    FieldProblem,
    InvalidTransitionError,
    NotFoundError,
    PartnerkitError,
    PermissionDeniedError,
    StaleVersionError,
    StorageBusyError,
    StorageError,
    StorageSchemaError,
    ValidationError,
)
from partnerkit.health import HealthScore, ScoringModel
from partnerkit.ledger import Activity, ActivityKind
from partnerkit.metrics import (
    Aggregate,
    MetricDefinition,
    MetricSnapshot,
    Window,
    WindowKind,
    compute_snapshot,
    compute_snapshots,
)
from partnerkit.partners import (
    Contact,
    CustomField,
    CustomFieldSchema,
    CustomFieldType,
    OnboardingPlan,
    OnboardingStepTemplate,
    Partner,
    PartnerStatus,
    PartnerType,
)
from partnerkit.tiers import Membership, Program, Tier, TierDecision

__all__ = [
    "DEFAULT_ROUNDING",
    "Activity",
    "ActivityKind",
    "Aggregate",
    "Cadence",
    "Change",
    "Clock",
    "ConflictError",
    "Contact",
    "CurrencyMismatchError",
    "CustomField",
    "CustomFieldSchema",
    "CustomFieldType",
    "Customer",
    "DealRegistration",
    "Event",
    "EventRecord",
    "FieldProblem",
    "FixedClock",
    "FixedRates",
    "HealthScore",
    "IdGenerator",
    "InvalidTransitionError",
    "Membership",
    "MetricDefinition",
    "MetricSnapshot",
    "Money",
    "NotFoundError",
    "OnboardingPlan",
    "OnboardingStepTemplate",
    "Partner",
    "PartnerStatus",
    "PartnerType",
    "PartnerkitError",
    "Period",
    "PermissionDeniedError",
    "Program",
    "RateSource",
    "ScoringModel",
    "StaleVersionError",
    "StorageBusyError",
    "StorageError",
    "StorageSchemaError",
    "SystemClock",
    "Tier",
    "TierDecision",
    "ValidationError",
    "Window",
    "WindowKind",
    "__version__",
    "check_id",
    "compute_snapshot",
    "compute_snapshots",
    "new_id",
    "parse_date",
    "parse_datetime",
    "to_utc",
]
