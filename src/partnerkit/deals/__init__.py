"""Deal registration: the workflow, protection windows and conflict detection.

A partner registers an opportunity with an end customer (a `DealRegistration`),
submits it, and a channel manager approves it, which protects it from other
partners for a while (90 days unless the program says otherwise), or rejects it.
Partners ask for extensions, a sweep expires what lapsed, and the deal ends won or
lost. Every function is pure: it takes the acting user and the instant, and returns
a `partnerkit.Change` with the new registration and the events it implies.

Conflict detection finds the same customer elsewhere: among active registrations
(a `ConflictIndex`), and among the vendor's direct opportunities and existing
customers. `find_conflicts` (and `check_customer`, for a customer not yet registered) says
what matched and what differs, how sure it is and which rule decides;
`customer_keys` gives storage the keys to claim so that two registrations for one
customer can never both be approved. The helpers `normalize_company_name`
and `registrable_domain` are useful on their own.

See docs/deals.md for the whole workflow.
"""

from partnerkit.deals._conflicts import (
    CUSTOMER_KEY_VERSION,
    DEFAULT_POLICY,
    ConflictPolicy,
    DefaultConflictPolicy,
    Party,
    RankBy,
    Verdict,
    check_customer,
    customer_keys,
    find_conflicts,
    match_confidence,
    name_similarity,
)
from partnerkit.deals._domains import SHARED_EMAIL_DOMAINS, email_domain, registrable_domain
from partnerkit.deals._index import Candidate, ConflictIndex, HouseAccount, Profile
from partnerkit.deals._model import (
    ACTIVE_STATUSES,
    REASON_REQUIRED,
    STANDARD_WEIGHTS,
    TRANSITIONS,
    Conflict,
    ConflictOutcome,
    ConflictRule,
    Customer,
    DealAction,
    DealRegistration,
    DealStatus,
    DealStatusChange,
    Decision,
    DirectAccount,
    Extension,
    ExtensionPolicy,
    ExtensionStatus,
    Match,
    MatchKind,
    PartyKind,
)
from partnerkit.deals._names import LEGAL_FORM_COUNT, normalize_company_name
from partnerkit.deals._workflow import (
    DEFAULT_PROTECTION,
    SYSTEM_ACTOR,
    amend,
    approve,
    approve_extension,
    deny_extension,
    expire,
    expire_due,
    expiring_within,
    lose,
    reject,
    request_extension,
    screen,
    submit,
    win,
    withdraw,
)

__all__ = [
    "ACTIVE_STATUSES",
    "CUSTOMER_KEY_VERSION",
    "DEFAULT_POLICY",
    "DEFAULT_PROTECTION",
    "LEGAL_FORM_COUNT",
    "REASON_REQUIRED",
    "SHARED_EMAIL_DOMAINS",
    "STANDARD_WEIGHTS",
    "SYSTEM_ACTOR",
    "TRANSITIONS",
    "Candidate",
    "Conflict",
    "ConflictIndex",
    "ConflictOutcome",
    "ConflictPolicy",
    "ConflictRule",
    "Customer",
    "DealAction",
    "DealRegistration",
    "DealStatus",
    "DealStatusChange",
    "Decision",
    "DefaultConflictPolicy",
    "DirectAccount",
    "Extension",
    "ExtensionPolicy",
    "ExtensionStatus",
    "HouseAccount",
    "Match",
    "MatchKind",
    "Party",
    "PartyKind",
    "Profile",
    "RankBy",
    "Verdict",
    "amend",
    "approve",
    "approve_extension",
    "check_customer",
    "customer_keys",
    "deny_extension",
    "email_domain",
    "expire",
    "expire_due",
    "expiring_within",
    "find_conflicts",
    "lose",
    "match_confidence",
    "name_similarity",
    "normalize_company_name",
    "registrable_domain",
    "reject",
    "request_extension",
    "screen",
    "submit",
    "win",
    "withdraw",
]
