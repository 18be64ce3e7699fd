"""partnerkit: the domain core of Partner Relationship Management.

The names below are the public API; every module whose name starts with an
underscore is private and may change without notice.

Importing the package is cheap: each name is imported from its module the first
time it is used, so ``import partnerkit`` pays only for what a program touches.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Final

from partnerkit._version import __version__

if TYPE_CHECKING:
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

# Where each public name lives; `__getattr__` imports its module on first use.
_MODULES: Final[dict[str, tuple[str, ...]]] = {
    "partnerkit._base.events": (
        "Change",
        "Event",
        "EventRecord",
    ),
    "partnerkit._base.ids": (
        "IdGenerator",
        "check_id",
        "new_id",
    ),
    "partnerkit._base.money": (
        "DEFAULT_ROUNDING",
        "FixedRates",
        "Money",
        "RateSource",
    ),
    "partnerkit._base.time": (
        "Cadence",
        "Clock",
        "FixedClock",
        "Period",
        "SystemClock",
        "parse_date",
        "parse_datetime",
        "to_utc",
    ),
    "partnerkit.deals": (
        "Customer",
        "DealRegistration",
    ),
    "partnerkit.errors": (
        "ConflictError",
        "CurrencyMismatchError",
        "FieldProblem",
        "InvalidTransitionError",
        "NotFoundError",
        "PartnerkitError",
        "PermissionDeniedError",
        "StaleVersionError",
        "StorageBusyError",
        "StorageError",
        "StorageSchemaError",
        "ValidationError",
    ),
    "partnerkit.health": (
        "HealthScore",
        "ScoringModel",
    ),
    "partnerkit.ledger": (
        "Activity",
        "ActivityKind",
    ),
    "partnerkit.metrics": (
        "Aggregate",
        "MetricDefinition",
        "MetricSnapshot",
        "Window",
        "WindowKind",
        "compute_snapshot",
        "compute_snapshots",
    ),
    "partnerkit.partners": (
        "Contact",
        "CustomField",
        "CustomFieldSchema",
        "CustomFieldType",
        "OnboardingPlan",
        "OnboardingStepTemplate",
        "Partner",
        "PartnerStatus",
        "PartnerType",
    ),
    "partnerkit.tiers": (
        "Membership",
        "Program",
        "Tier",
        "TierDecision",
    ),
}
_WHERE: Final = {name: module for module, names in _MODULES.items() for name in names}

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


def __getattr__(name: str) -> object:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'partnerkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # the next lookup is a plain module attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
