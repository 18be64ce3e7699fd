"""Lead distribution: route leads to the right partner, explain why, take them back.

A `Lead` is a customer enquiry; a `RoutingPolicy` (data: a dict, JSON or TOML
through `policy_from_toml`) says which partners may receive it (status, lead
weight, products, certifications, territory), how one is picked (weighted
random with a seed, round robin, longest idle, best health band, or a weighted
combination), the caps per day, month and open leads, the acceptance SLA and how
many offers a lead gets before it returns to the vendor.

- A `Router` routes leads over a population of `PartnerProfile` s at one instant
  and explains every pick (`RoutingExplanation`: candidates and weights, who was
  excluded and why, the seed and the draw; `RoutingExplanation.replay` repeats it).
- `route_lead`, `offer`, `accept`, `decline`, `lapse`, `convert`, `lose` and
  `return_lead` move a lead through its lifecycle, keeping who, when and why;
  `sweep` lapses offers past their SLA and offers the leads again.
- `Lead.without_contact` is what a partner sees before it accepts.
- `fairness_report` compares each partner's offers with its weight share.

Everything here is pure: no storage, no clock. See ``docs/leads.md``.
"""

from __future__ import annotations

from partnerkit.leads._fairness import FairnessReport, FairnessRow, fairness_report
from partnerkit.leads._lifecycle import (
    accept,
    convert,
    decline,
    lapse,
    lose,
    offer,
    return_lead,
    route_lead,
    sweep,
)
from partnerkit.leads._model import (
    Candidate,
    Exclusion,
    ExclusionReason,
    Lead,
    LeadContact,
    LeadCustomer,
    LeadStatus,
    LeadStep,
    Offer,
    OfferOutcome,
    RoutingExplanation,
)
from partnerkit.leads._policy import (
    ProductMatch,
    Ranking,
    RoutingPolicy,
    Territory,
    policy_from_toml,
)
from partnerkit.leads._routing import Load, PartnerProfile, Router, lead_seed, weighted_pick

__all__ = [
    "Candidate",
    "Exclusion",
    "ExclusionReason",
    "FairnessReport",
    "FairnessRow",
    "Lead",
    "LeadContact",
    "LeadCustomer",
    "LeadStatus",
    "LeadStep",
    "Load",
    "Offer",
    "OfferOutcome",
    "PartnerProfile",
    "ProductMatch",
    "Ranking",
    "Router",
    "RoutingExplanation",
    "RoutingPolicy",
    "Territory",
    "accept",
    "convert",
    "decline",
    "fairness_report",
    "lapse",
    "lead_seed",
    "lose",
    "offer",
    "policy_from_toml",
    "return_lead",
    "route_lead",
    "sweep",
    "weighted_pick",
]
