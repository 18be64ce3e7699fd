"""Partner programs and tiers: automatic, explainable tier reviews.

A `Program` is a ladder of `Tier` s (rank 1 is the entry tier), each with
`Requirement` s over metrics and `Benefits`, plus a review `Cadence` and a
`TierPolicy`. A partner's `Membership` in a program records its tier and the
bookkeeping grace needs. Everything here is pure: functions take an ``as_of``
instant, return new values and the domain events they imply, and save nothing.

- `evaluate` decides one membership and explains it (`TierDecision` with
  `TierEvidence` for the held and the next tier, progress and the gap in words);
  `apply_decision` applies it; `qualifying_tier` is the fastest question.
- `review` runs a whole population at one instant, idempotently; `next_review`
  says when.
- `approve_downgrade`, `reject_downgrade`, `pin_tier` and `unpin` are the channel
  manager's moves.
- `forward_warnings` says when a partner will stop meeting its tier if nothing new
  happens; `what_if` shows who a changed program would move.
- `tier_on` answers "which tier was partner P in on date D" from the
  `TierAssignment` history that `apply_tier_events` keeps.
- `program_from_toml` reads a program written in TOML; dicts and JSON go through
  ``partnerkit.serialization.from_dict`` / ``from_json``.

See ``docs/tiers.md`` for a guide.
"""

from __future__ import annotations

from partnerkit.tiers._engine import (
    RequirementEvidence,
    TierDecision,
    TierEvidence,
    TierOutcome,
    apply_decision,
    approve_downgrade,
    evaluate,
    next_review,
    pin_tier,
    qualifying_tier,
    reject_downgrade,
    unpin,
)
from partnerkit.tiers._forward import ForwardWarning, forward_warnings
from partnerkit.tiers._membership import (
    DowngradeProposal,
    Membership,
    MembershipStatus,
    Pin,
    TierAssignment,
    TierChangeCause,
    apply_tier_events,
    record_tier_change,
    tier_at,
    tier_on,
)
from partnerkit.tiers._model import (
    BUILT_IN_METRICS,
    Benefits,
    Comparison,
    Program,
    Requirement,
    Tier,
    TierPolicy,
    all_of,
    any_of,
    ladder_problems,
)
from partnerkit.tiers._review import (
    Movement,
    ReviewRun,
    TierCount,
    WhatIf,
    WhatIfMove,
    review,
    what_if,
)

__all__ = [
    "BUILT_IN_METRICS",
    "Benefits",
    "Comparison",
    "DowngradeProposal",
    "ForwardWarning",
    "Membership",
    "MembershipStatus",
    "Movement",
    "Pin",
    "Program",
    "Requirement",
    "RequirementEvidence",
    "ReviewRun",
    "Tier",
    "TierAssignment",
    "TierChangeCause",
    "TierCount",
    "TierDecision",
    "TierEvidence",
    "TierOutcome",
    "TierPolicy",
    "WhatIf",
    "WhatIfMove",
    "all_of",
    "any_of",
    "apply_decision",
    "apply_tier_events",
    "approve_downgrade",
    "evaluate",
    "forward_warnings",
    "ladder_problems",
    "next_review",
    "pin_tier",
    "program_from_toml",
    "qualifying_tier",
    "record_tier_change",
    "reject_downgrade",
    "review",
    "tier_at",
    "tier_on",
    "unpin",
    "what_if",
]


def program_from_toml(text: str) -> Program:
    """Read and validate a `Program` written in TOML (see ``docs/tiers.md``).

    Money is written ``"25000 USD"`` or ``{amount = "25000", currency = "USD"}``;
    TOML floats are refused (quote decimals: ``"12.5"``); ``review`` may be a bare
    RRULE; ``deal_protection`` may be whole days; a metric ``window`` may be
    ``"P12M"`` (trailing), ``"all_time"``, ``"month"``, ``"quarter"`` or ``"year"``.

    Raises:
        ValidationError: Every problem, each with its path, such as
            ``tiers[2].requirements.all_of[0].threshold``.
    """
    # Imported here: reading TOML goes through the serialization layer (cattrs),
    # which importing this domain module must not pull in.
    from partnerkit.tiers._toml import program_from_toml as read  # noqa: PLC0415

    return read(text)
