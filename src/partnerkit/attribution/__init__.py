"""Attribution of won revenue: which partner sourced a deal, which influenced it, and by how much.

Rules are data (`AttributionRules`, or `rules_from_dict` for a TOML or JSON
table): the sourced window (a partner that registered the deal at most 30 days
before the opportunity was created sourced it), the influencers' credit share
(30% by default), how partners in one role split their part, and whether a deal
converted from a routed lead is sourced by the partner the lead went to.
`attribute` turns `WonDeal` records (`won_deal` builds one from a won
registration) into an `AttributionReport`: every deal's credits, whose shares
add up to exactly 100% and whose amounts add up to the deal's to the cent
(`partnerkit.Money.allocate`), with the reason for each touch; and totals per
partner and program.

See docs/forecast.md for examples.
"""

from partnerkit.attribution._rules import (
    UNASSIGNED,
    AttributionReport,
    AttributionRules,
    Credit,
    CreditRole,
    DealAttribution,
    PartnerCredit,
    ProgramCredit,
    Split,
    Touch,
    TouchKind,
    WonDeal,
    attribute,
    rules_from_dict,
    won_deal,
)

__all__ = [
    "UNASSIGNED",
    "AttributionReport",
    "AttributionRules",
    "Credit",
    "CreditRole",
    "DealAttribution",
    "PartnerCredit",
    "ProgramCredit",
    "Split",
    "Touch",
    "TouchKind",
    "WonDeal",
    "attribute",
    "rules_from_dict",
    "won_deal",
]
