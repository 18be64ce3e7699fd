"""Access control: who may do what to which partner's data, as rules a host can extend.

Every service call names an `Actor`. An `AccessPolicy` is a set of `Rule` objects, each
granting one role one action within a scope:

- ``any``: on every partner (admins; managers for reads of the whole channel);
- ``owned``: on partners whose ``owner_id`` is the actor (channel managers);
- ``own``: on the actor's own partner (partner users);
- ``own_and_children``: the actor's own partner and the partners directly below
  it (a distributor's users acting for their resellers, where the program allows).

Anything not granted is denied with `PermissionDeniedError`, which says who was
refused what and why.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Final

import attrs

from partnerkit._base.checks import check_enum, check_text
from partnerkit._base.ids import check_id
from partnerkit.errors import PermissionDeniedError, Problems, ValidationError

if TYPE_CHECKING:
    from collections.abc import Iterable

    from partnerkit.partners import Partner

__all__ = [
    "DEFAULT_POLICY",
    "AccessPolicy",
    "Action",
    "Actor",
    "Role",
    "Rule",
    "Scope",
]


class Role(enum.StrEnum):
    """What kind of user acts."""

    PARTNER_USER = "partner_user"
    """Someone at a partner: sees and changes only that partner's data."""
    CHANNEL_MANAGER = "channel_manager"
    """The vendor's manager of a set of partners: approves, pins, overrides."""
    ADMIN = "admin"
    """Configures programs and scoring models; may do everything."""
    FINANCE = "finance"
    """The vendor's finance team: sees every fund and statement, sets budgets up, pays."""


class Action(enum.StrEnum):
    """The actions the services check. Hosts may add their own as plain strings."""

    PARTNER_VIEW = "partner.view"
    PARTNER_REGISTER = "partner.register"
    PARTNER_UPDATE = "partner.update"
    PARTNER_REASSIGN = "partner.reassign"
    PARTNER_ONBOARD = "partner.onboard"
    PARTNER_COMPLETE_STEP = "partner.complete_step"
    PARTNER_ACTIVATE = "partner.activate"
    PARTNER_SUSPEND = "partner.suspend"
    PARTNER_REINSTATE = "partner.reinstate"
    PARTNER_TERMINATE = "partner.terminate"
    ACTIVITY_RECORD = "activity.record"
    DEAL_VIEW = "deal.view"
    DEAL_SUBMIT = "deal.submit"
    DEAL_WITHDRAW = "deal.withdraw"
    DEAL_REQUEST_EXTENSION = "deal.request_extension"
    DEAL_DECIDE = "deal.decide"
    DEAL_CLOSE = "deal.close"
    DEAL_SWEEP = "deal.sweep"
    TIER_REVIEW = "tier.review"
    TIER_PIN = "tier.pin"
    TIER_DECIDE_DOWNGRADE = "tier.decide_downgrade"
    PROGRAM_CONFIGURE = "program.configure"
    PROGRAM_ENROL = "program.enrol"
    HEALTH_VIEW = "health.view"
    HEALTH_SCORE = "health.score"
    HEALTH_OVERRIDE = "health.override"
    MODEL_CONFIGURE = "model.configure"
    RELATIONSHIP_VIEW = "relationship.view"
    PLAN_EDIT = "plan.edit"
    PLAN_AGREE = "plan.agree"
    CHECK_IN_RECORD = "check_in.record"
    ACTION_COMPLETE = "check_in.complete_action"
    CERTIFICATION_RECORD = "certification.record"
    SURVEY_ANSWER = "survey.answer"
    SATISFACTION_VIEW = "satisfaction.view"
    JOURNEY_RUN = "journey.run"
    FUND_VIEW = "fund.view"
    FUND_REQUEST = "fund.request"
    FUND_DECIDE = "fund.decide"
    FUND_SETTLE = "fund.settle"
    FUND_SWEEP = "fund.sweep"
    FUND_CONFIGURE = "fund.configure"
    INCENTIVE_VIEW = "incentive.view"
    INCENTIVE_CONFIGURE = "incentive.configure"
    INCENTIVE_COMPUTE = "incentive.compute"
    INCENTIVE_APPROVE = "incentive.approve"
    INCENTIVE_PAY = "incentive.pay"
    LEAD_VIEW = "lead.view"
    LEAD_RESPOND = "lead.respond"
    LEAD_ROUTE = "lead.route"


class Scope(enum.StrEnum):
    """Which partners a rule covers, relative to the actor."""

    ANY = "any"
    OWNED = "owned"
    OWN = "own"
    OWN_AND_CHILDREN = "own_and_children"


@attrs.frozen
class Actor:
    """Who is acting.

    Attributes:
        id: The user's id in the host application.
        role: What kind of user.
        partner_id: For partner users: the partner they belong to.
    """

    id: str
    role: Role
    partner_id: str | None = None

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        problems.check("id", check_id, self.id, "")
        role = problems.check("role", check_enum, Role, self.role)
        if role is Role.PARTNER_USER and self.partner_id is None:
            problems.add("partner_id", "a partner user must belong to a partner")
        if self.partner_id is not None:
            problems.check("partner_id", check_id, self.partner_id, "")
        problems.raise_if_any()
        object.__setattr__(self, "role", role)

    def __str__(self) -> str:
        where = f" of {self.partner_id}" if self.partner_id else ""
        return f"{self.role.value.replace('_', ' ')} {self.id}{where}"


@attrs.frozen
class Rule:
    """One grant: ``role`` may do ``action`` within ``scope``.

    Attributes:
        role: Who.
        action: What: an `Action` or a host's own dotted name.
        scope: On which partners.
    """

    role: Role
    action: str
    scope: Scope

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        role = problems.check("role", check_enum, Role, self.role)
        action = problems.check("action", check_text, self.action, required=True, limit=64)
        scope = problems.check("scope", check_enum, Scope, self.scope)
        problems.raise_if_any()
        object.__setattr__(self, "role", role)
        object.__setattr__(self, "action", str(action))
        object.__setattr__(self, "scope", scope)


def _covers(rule: Rule, actor: Actor, partner: Partner | None) -> bool:
    scope = rule.scope
    if scope is Scope.ANY:
        return True
    if partner is None:
        return False
    if scope is Scope.OWNED:
        return partner.owner_id == actor.id
    if actor.partner_id is None:
        # Without a partner of its own an actor has no "own" partner, and no
        # children: a partner without a parent must not match a missing one.
        return False
    if scope is Scope.OWN:
        return actor.partner_id == partner.id
    return actor.partner_id in (partner.id, partner.parent_id)


@attrs.frozen
class AccessPolicy:
    """The rules in force. Build your own, or extend `DEFAULT_POLICY` with `with_rules`."""

    rules: tuple[Rule, ...]

    def __attrs_post_init__(self) -> None:
        rules = tuple(self.rules)
        for index, rule in enumerate(rules):
            if not isinstance(rule, Rule):
                raise ValidationError.single(f"rules[{index}]", "expected a Rule")
        object.__setattr__(self, "rules", rules)

    def with_rules(self, *rules: Rule) -> AccessPolicy:
        """A policy with ``rules`` granted on top of these."""
        return AccessPolicy((*self.rules, *rules))

    def without(self, role: Role, action: str) -> AccessPolicy:
        """A policy without any grant of ``action`` to ``role``."""
        return AccessPolicy(
            tuple(r for r in self.rules if not (r.role is role and r.action == action))
        )

    def allows(self, actor: Actor, action: str, partner: Partner | None = None) -> bool:
        """Whether ``actor`` may do ``action`` (on ``partner``'s data, if it is about one)."""
        return any(
            rule.role is actor.role and rule.action == action and _covers(rule, actor, partner)
            for rule in self.rules
        )

    def scopes(self, actor: Actor, action: str) -> frozenset[Scope]:
        """The scopes within which ``actor`` may do ``action``; empty when never.

        Services turn these into query filters, so a list holds only what the
        actor may see: ``any`` needs no filter, ``owned`` filters on the owner,
        ``own`` and ``own_and_children`` on the actor's partner and its children.
        """
        return frozenset(
            rule.scope
            for rule in self.rules
            if rule.role is actor.role
            and rule.action == action
            and (rule.scope in (Scope.ANY, Scope.OWNED) or actor.partner_id is not None)
        )

    def check(self, actor: Actor, action: str, partner: Partner | None = None) -> None:
        """Raise `PermissionDeniedError` unless ``actor`` may do ``action``.

        Raises:
            PermissionDeniedError: Naming the actor, the action, the partner and why.
        """
        if self.allows(actor, action, partner):
            return
        action = str(action)  # an Action member reads as its dotted name
        target = f"partner {partner.id}" if partner is not None else "this"
        scopes = [r.scope.value for r in self.rules if r.role is actor.role and r.action == action]
        if not scopes:
            reason = f"no rule grants {action!r} to {actor.role.value}"
        else:
            reason = f"{actor.role.value} may {action!r} only within: {', '.join(scopes)}"
        raise PermissionDeniedError(str(actor), action, target, reason)


def _grant(role: Role, scope: Scope, actions: Iterable[Action]) -> list[Rule]:
    return [Rule(role, action.value, scope) for action in actions]


_A = Action
_PARTNER_SELF_SERVICE: Final = (
    _A.PARTNER_VIEW,
    _A.PARTNER_UPDATE,
    _A.PARTNER_COMPLETE_STEP,
    _A.ACTIVITY_RECORD,
    _A.DEAL_VIEW,
    _A.DEAL_SUBMIT,
    _A.DEAL_WITHDRAW,
    _A.DEAL_REQUEST_EXTENSION,
    _A.DEAL_CLOSE,
    _A.HEALTH_VIEW,
    _A.RELATIONSHIP_VIEW,
    _A.PLAN_AGREE,
    _A.ACTION_COMPLETE,
    _A.SURVEY_ANSWER,
    _A.FUND_VIEW,
    _A.FUND_REQUEST,
    _A.INCENTIVE_VIEW,
    _A.LEAD_VIEW,
    _A.LEAD_RESPOND,
)
_MANAGER_OWNED: Final = (
    _A.PARTNER_UPDATE,
    _A.PARTNER_REASSIGN,
    _A.PARTNER_ONBOARD,
    _A.PARTNER_COMPLETE_STEP,
    _A.PARTNER_ACTIVATE,
    _A.PARTNER_SUSPEND,
    _A.PARTNER_REINSTATE,
    _A.PARTNER_TERMINATE,
    _A.ACTIVITY_RECORD,
    _A.DEAL_DECIDE,
    _A.DEAL_CLOSE,
    _A.TIER_PIN,
    _A.TIER_DECIDE_DOWNGRADE,
    _A.HEALTH_OVERRIDE,
    _A.PROGRAM_ENROL,
    _A.PLAN_EDIT,
    _A.PLAN_AGREE,
    _A.CHECK_IN_RECORD,
    _A.ACTION_COMPLETE,
    _A.CERTIFICATION_RECORD,
    _A.FUND_REQUEST,
    _A.FUND_DECIDE,
    _A.INCENTIVE_APPROVE,
    _A.LEAD_RESPOND,
)
_MANAGER_ANYWHERE: Final = (
    _A.PARTNER_VIEW,
    _A.PARTNER_REGISTER,
    _A.DEAL_VIEW,
    _A.DEAL_SWEEP,
    _A.TIER_REVIEW,
    _A.HEALTH_VIEW,
    _A.HEALTH_SCORE,
    _A.RELATIONSHIP_VIEW,
    _A.SATISFACTION_VIEW,
    _A.JOURNEY_RUN,
    _A.FUND_VIEW,
    _A.FUND_SWEEP,
    _A.INCENTIVE_VIEW,
    _A.INCENTIVE_COMPUTE,
    _A.LEAD_VIEW,
    _A.LEAD_ROUTE,
)
#: Finance sees every fund and statement, sets fund budgets up and allocates them,
#: pays approved claims and statements and runs the forfeiture sweep; it approves
#: nothing.
_FINANCE_ANYWHERE: Final = (
    _A.PARTNER_VIEW,
    _A.FUND_VIEW,
    _A.FUND_CONFIGURE,
    _A.FUND_SETTLE,
    _A.FUND_SWEEP,
    _A.INCENTIVE_VIEW,
    _A.INCENTIVE_PAY,
)

#: The rules partnerkit ships: partner users serve themselves on their own partner;
#: channel managers decide for the partners they own and see the whole channel;
#: finance sets fund budgets up and pays claims and statements; admins may do
#: everything, including configuring programs and scoring models.
#: A distributor's users get nothing on their resellers by default: grant it with
#: ``DEFAULT_POLICY.with_rules(Rule(Role.PARTNER_USER, "deal.view",
#: Scope.OWN_AND_CHILDREN))`` where the program allows.
DEFAULT_POLICY: Final = AccessPolicy(
    (
        *_grant(Role.PARTNER_USER, Scope.OWN, _PARTNER_SELF_SERVICE),
        *_grant(Role.CHANNEL_MANAGER, Scope.OWNED, _MANAGER_OWNED),
        *_grant(Role.CHANNEL_MANAGER, Scope.ANY, _MANAGER_ANYWHERE),
        *_grant(Role.FINANCE, Scope.ANY, _FINANCE_ANYWHERE),
        *_grant(Role.ADMIN, Scope.ANY, tuple(Action)),
    )
)
