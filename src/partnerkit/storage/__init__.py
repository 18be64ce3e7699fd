"""Storage: the contracts partnerkit persists through, and the shipped adapters.

- `partnerkit.storage.memory.MemoryStorage`: thread-safe, in-process; the default.
- `partnerkit.storage.sqlite.SqliteStorage`: a file (or ``:memory:``) through the
  standard library's ``sqlite3``.

A host with another database implements the protocols below and proves it with
`partnerkit.testing.conformance`.
"""

from partnerkit.storage._protocols import (
    ActivityLedger,
    AppendResult,
    DealRepository,
    MembershipRepository,
    Page,
    PartnerRepository,
    ProgramRepository,
    ScoreRepository,
    Storage,
    StoredProgram,
    TierHistoryRepository,
    UnitOfWork,
)

__all__ = [
    "ActivityLedger",
    "AppendResult",
    "DealRepository",
    "MembershipRepository",
    "Page",
    "PartnerRepository",
    "ProgramRepository",
    "ScoreRepository",
    "Storage",
    "StoredProgram",
    "TierHistoryRepository",
    "UnitOfWork",
]
