"""Storage: the contracts partnerkit persists through, and the shipped adapters.

- `partnerkit.storage.memory.MemoryStorage`: thread-safe, in-process; the default.
- `partnerkit.storage.sqlite.SqliteStorage`: a file (or ``:memory:``) through the
  standard library's ``sqlite3``.

A host with another database implements the protocols below and proves it with
`partnerkit.testing.conformance`. The simplest way is the way both shipped
adapters are built: write a `StorageBackend` (committed reads, and one atomic
write of a checked `Commit`) and wrap it in a `StagedStorage`, which stages every
unit of work and checks every rule.
"""

from partnerkit.storage._protocols import (
    ActivityLedger,
    AppendResult,
    BusinessPlanRepository,
    CertificationRepository,
    CheckInRepository,
    DealRepository,
    FundBudgetRepository,
    FundClaimRepository,
    FundRequestRepository,
    IncentivePlanRepository,
    LeadRepository,
    MembershipRepository,
    Page,
    PartnerRepository,
    ProgramRepository,
    ScoreRepository,
    ScoringModelRepository,
    StatementRepository,
    Storage,
    StoredModel,
    StoredProgram,
    TierHistoryRepository,
    UnitOfWork,
)
from partnerkit.storage._staging import (
    MAX_KEYS,
    Changes,
    Claim,
    Commit,
    CommittedReads,
    Condition,
    Kind,
    Query,
    StagedStorage,
    StorageBackend,
    Write,
)

__all__ = [
    "MAX_KEYS",
    "ActivityLedger",
    "AppendResult",
    "BusinessPlanRepository",
    "CertificationRepository",
    "Changes",
    "CheckInRepository",
    "Claim",
    "Commit",
    "CommittedReads",
    "Condition",
    "DealRepository",
    "FundBudgetRepository",
    "FundClaimRepository",
    "FundRequestRepository",
    "IncentivePlanRepository",
    "Kind",
    "LeadRepository",
    "MembershipRepository",
    "Page",
    "PartnerRepository",
    "ProgramRepository",
    "Query",
    "ScoreRepository",
    "ScoringModelRepository",
    "StagedStorage",
    "StatementRepository",
    "Storage",
    "StorageBackend",
    "StoredModel",
    "StoredProgram",
    "TierHistoryRepository",
    "UnitOfWork",
    "Write",
]
