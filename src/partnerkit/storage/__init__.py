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
    DealRepository,
    LeadRepository,
    MembershipRepository,
    Page,
    PartnerRepository,
    ProgramRepository,
    ScoreRepository,
    ScoringModelRepository,
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
    "Changes",
    "Claim",
    "Commit",
    "CommittedReads",
    "Condition",
    "DealRepository",
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
    "Storage",
    "StorageBackend",
    "StoredModel",
    "StoredProgram",
    "TierHistoryRepository",
    "UnitOfWork",
    "Write",
]
