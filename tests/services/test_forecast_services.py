"""Forecasts through the services: scoped to what the actor may see."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pathlib import Path

from partnerkit import Money, PermissionDeniedError
from partnerkit.access import Actor, Role
from partnerkit.attribution import Touch, TouchKind
from partnerkit.forecast import Dimension

from .world import MANAGER_A, NOW, STRANGER, USER_A, USER_B, build, storages

ADMIN_VIEW = Actor("usr_admin", Role.ADMIN)


@pytest.fixture(params=["memory", "sqlite"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> object:
    return build(dict(storages(tmp_path))[request.param])


def test_a_partner_user_forecasts_only_its_own_deals(world: object) -> None:
    result = world.services.forecast_pipeline(USER_B, draws=100)  # type: ignore[attr-defined]

    assert {deal.partner_id for deal in result.deals} == {"ptn_b"}
    assert sorted(deal.stage for deal in result.deals) == ["approved", "submitted"]
    # Its history is its own: the rejected registration, nothing of partner A's.
    assert result.history_deals == 1
    assert result.deals[0].rate.program_deals <= 1


def test_another_partners_id_gives_an_empty_forecast(world: object) -> None:
    result = world.services.forecast_pipeline(USER_A, partner_id="ptn_b")  # type: ignore[attr-defined]

    assert result.deals == ()
    assert result.line().expected == Money("0.00", "USD")


def test_an_admin_forecasts_everything_with_tiers_from_memberships(world: object) -> None:
    result = world.services.forecast_pipeline(ADMIN_VIEW, periods=2, draws=100)  # type: ignore[attr-defined]

    assert {deal.partner_id for deal in result.deals} == {"ptn_a", "ptn_b"}
    assert result.history_deals == 2
    assert {line.key for line in result.lines_for(Dimension.PARTNER, period=1)} == {
        "ptn_a",
        "ptn_b",
    }


def test_a_manager_forecasts_one_partner(world: object) -> None:
    result = world.services.forecast_pipeline(MANAGER_A, partner_id="ptn_a", draws=100)  # type: ignore[attr-defined]

    assert {deal.partner_id for deal in result.deals} == {"ptn_a"}
    assert result.history_deals == 1


def test_a_stranger_sees_nothing(world: object) -> None:
    try:
        result = world.services.forecast_pipeline(STRANGER, draws=10)  # type: ignore[attr-defined]
    except PermissionDeniedError:
        return
    assert result.deals == ()


def _won_world(world: object) -> str:
    services = world.services  # type: ignore[attr-defined]
    deal_id: str = world.deals["a_approved"]  # type: ignore[attr-defined]
    services.close_deal(MANAGER_A, deal_id, won=True)
    return deal_id


def test_a_partner_user_sees_its_credit_and_not_who_shared_it(world: object) -> None:
    deal_id = _won_world(world)
    helper = Touch("ptn_b", TouchKind.INFLUENCE, NOW)

    mine = world.services.attribute_won_deals(USER_A, touches={deal_id: [helper]})  # type: ignore[attr-defined]
    theirs = world.services.attribute_won_deals(USER_B, touches={deal_id: [helper]})  # type: ignore[attr-defined]
    everything = world.services.attribute_won_deals(ADMIN_VIEW, touches={deal_id: [helper]})  # type: ignore[attr-defined]

    assert [(c.partner_id, c.role.value, str(c.share)) for c in mine.deals[0].credits] == [
        ("ptn_a", "sourced", "0.700000"),
        (None, "influenced", "0.300000"),
    ]
    assert not any("ptn_b" in reason for reason in mine.deals[0].reasons)
    assert "another partner: influenced" in mine.deals[0].reasons
    assert [p.partner_id for p in mine.partners] == ["ptn_a"]
    assert theirs.deals == ()
    assert [c.partner_id for c in everything.deals[0].credits] == ["ptn_a", "ptn_b"]
