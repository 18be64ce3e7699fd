from datetime import UTC, datetime

import pytest

from partnerkit import Partner, PermissionDeniedError, ValidationError
from partnerkit.access import DEFAULT_POLICY, Action, Actor, Role, Rule, Scope

NOW = datetime(2026, 1, 1, tzinfo=UTC)
DISTRIBUTOR = Partner(
    id="ptn_dist", name="Dist", type="distributor", country="SE", created_at=NOW, owner_id="usr_m1"
)
RESELLER = Partner(
    id="ptn_res",
    name="Res",
    type="reseller",
    country="FI",
    created_at=NOW,
    owner_id="usr_m1",
    parent_id="ptn_dist",
)
OTHER = Partner(
    id="ptn_other", name="Other", type="reseller", country="NO", created_at=NOW, owner_id="usr_m2"
)

PARTNER_USER = Actor("usr_p", Role.PARTNER_USER, partner_id="ptn_res")
DISTRIBUTOR_USER = Actor("usr_d", Role.PARTNER_USER, partner_id="ptn_dist")
MANAGER = Actor("usr_m1", Role.CHANNEL_MANAGER)
ADMIN = Actor("usr_a", Role.ADMIN)

# (actor, action, partner) -> allowed: the default policy as a matrix.
MATRIX = [
    (PARTNER_USER, Action.PARTNER_VIEW, RESELLER, True),
    (PARTNER_USER, Action.PARTNER_VIEW, OTHER, False),
    (PARTNER_USER, Action.DEAL_SUBMIT, RESELLER, True),
    (PARTNER_USER, Action.DEAL_SUBMIT, OTHER, False),
    (PARTNER_USER, Action.DEAL_DECIDE, RESELLER, False),
    (PARTNER_USER, Action.ACTIVITY_RECORD, RESELLER, True),
    (PARTNER_USER, Action.TIER_PIN, RESELLER, False),
    (PARTNER_USER, Action.HEALTH_OVERRIDE, RESELLER, False),
    (PARTNER_USER, Action.PROGRAM_CONFIGURE, None, False),
    (DISTRIBUTOR_USER, Action.DEAL_VIEW, DISTRIBUTOR, True),
    (DISTRIBUTOR_USER, Action.DEAL_VIEW, RESELLER, False),
    (MANAGER, Action.DEAL_DECIDE, RESELLER, True),
    (MANAGER, Action.DEAL_DECIDE, OTHER, False),
    (MANAGER, Action.TIER_PIN, RESELLER, True),
    (MANAGER, Action.PARTNER_REINSTATE, RESELLER, True),
    (MANAGER, Action.PARTNER_REINSTATE, OTHER, False),
    (PARTNER_USER, Action.PARTNER_REINSTATE, RESELLER, False),
    (MANAGER, Action.TIER_PIN, OTHER, False),
    (MANAGER, Action.HEALTH_OVERRIDE, OTHER, False),
    (MANAGER, Action.PARTNER_VIEW, OTHER, True),
    (MANAGER, Action.TIER_REVIEW, None, True),
    (MANAGER, Action.DEAL_SWEEP, None, True),
    (MANAGER, Action.PROGRAM_CONFIGURE, None, False),
    (MANAGER, Action.MODEL_CONFIGURE, None, False),
    (MANAGER, Action.DEAL_SUBMIT, RESELLER, False),
    (ADMIN, Action.PROGRAM_CONFIGURE, None, True),
    (ADMIN, Action.MODEL_CONFIGURE, None, True),
    (ADMIN, Action.DEAL_DECIDE, OTHER, True),
]


@pytest.mark.parametrize(("actor", "action", "partner", "allowed"), MATRIX)
def test_default_policy_matrix(
    actor: Actor, action: Action, partner: Partner | None, allowed: bool
) -> None:
    assert DEFAULT_POLICY.allows(actor, action, partner) is allowed
    if allowed:
        DEFAULT_POLICY.check(actor, action, partner)
    else:
        with pytest.raises(PermissionDeniedError):
            DEFAULT_POLICY.check(actor, action, partner)


@pytest.mark.parametrize("action", list(Action))
def test_admins_may_do_every_action(action: Action) -> None:
    assert DEFAULT_POLICY.allows(ADMIN, action, OTHER)


@pytest.mark.parametrize("action", list(Action))
def test_partner_users_never_act_on_another_partner(action: Action) -> None:
    assert not DEFAULT_POLICY.allows(PARTNER_USER, action, OTHER)


def test_a_denial_says_who_what_and_why() -> None:
    with pytest.raises(PermissionDeniedError) as info:
        DEFAULT_POLICY.check(PARTNER_USER, Action.DEAL_DECIDE, RESELLER)
    assert str(info.value) == (
        "partner user usr_p of ptn_res may not deal.decide partner ptn_res: "
        "no rule grants 'deal.decide' to partner_user"
    )
    with pytest.raises(PermissionDeniedError, match="only within: owned"):
        DEFAULT_POLICY.check(MANAGER, Action.DEAL_DECIDE, OTHER)


def test_hosts_extend_the_rules_as_data() -> None:
    policy = DEFAULT_POLICY.with_rules(
        Rule(Role.PARTNER_USER, Action.DEAL_VIEW, Scope.OWN_AND_CHILDREN),
        Rule(Role.CHANNEL_MANAGER, "mdf.approve", Scope.OWNED),
    )
    assert policy.allows(DISTRIBUTOR_USER, Action.DEAL_VIEW, RESELLER)
    assert not policy.allows(DISTRIBUTOR_USER, Action.DEAL_VIEW, OTHER)
    assert policy.allows(MANAGER, "mdf.approve", RESELLER)
    stricter = policy.without(Role.CHANNEL_MANAGER, Action.TIER_PIN)
    assert not stricter.allows(MANAGER, Action.TIER_PIN, RESELLER)


def test_partner_users_must_belong_to_a_partner() -> None:
    with pytest.raises(ValidationError, match="must belong to a partner"):
        Actor("usr_x", Role.PARTNER_USER)
    with pytest.raises(ValidationError, match="is not one of"):
        Actor("usr_x", "superuser")  # type: ignore[arg-type]


def test_own_and_children_granted_to_a_role_without_a_partner_covers_no_partner() -> None:
    top_level = Partner(id="ptn_top", name="Top", type="reseller", country="FI", created_at=NOW)
    policy = DEFAULT_POLICY.with_rules(
        Rule(Role.CHANNEL_MANAGER, Action.DEAL_VIEW, Scope.OWN_AND_CHILDREN),
        Rule(Role.CHANNEL_MANAGER, "mdf.claim", Scope.OWN_AND_CHILDREN),
    )
    assert not policy.allows(MANAGER, "mdf.claim", top_level)
    assert not policy.allows(MANAGER, "mdf.claim", DISTRIBUTOR)
    assert policy.scopes(MANAGER, "mdf.claim") == frozenset()


def test_scopes_say_where_an_actor_may_act() -> None:
    assert DEFAULT_POLICY.scopes(PARTNER_USER, Action.DEAL_VIEW) == {Scope.OWN}
    assert DEFAULT_POLICY.scopes(MANAGER, Action.DEAL_DECIDE) == {Scope.OWNED}
    assert DEFAULT_POLICY.scopes(MANAGER, Action.PROGRAM_CONFIGURE) == frozenset()
