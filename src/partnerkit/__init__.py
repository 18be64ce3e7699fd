"""partnerkit: the domain core of Partner Relationship Management.

The names below are the public API; every module whose name starts with an
underscore is private and may change without notice.
"""

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version

from partnerkit._errors import (
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
from partnerkit._events import Change, Event, EventRecord
from partnerkit._ids import IdGenerator, check_id, new_id
from partnerkit._money import DEFAULT_ROUNDING, FixedRates, Money, RateSource
from partnerkit._time import (
    Cadence,
    Clock,
    FixedClock,
    Period,
    SystemClock,
    parse_date,
    parse_datetime,
    to_utc,
)
from partnerkit.deals import Customer, DealRegistration
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

try:
    __version__ = _version("partnerkit")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    from partnerkit._version import __version__

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

# Tracebacks and pickles name errors as partnerkit.ValidationError rather than by
# the private module that defines them. Only exceptions: attrs models keep their
# real module, which their string annotations are resolved in.
for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type) and issubclass(_obj, BaseException):
        _obj.__module__ = __name__
del _name, _obj
