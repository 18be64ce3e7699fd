"""Incentive services: who may compute, approve, pay and see statements; replay."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import attrs
import pytest

from partnerkit import (
    Activity,
    FixedClock,
    InvalidTransitionError,
    Money,
    NotFoundError,
    Partner,
    PartnerStatus,
)
from partnerkit.access import Actor, Role
from partnerkit.errors import (
    AlreadyExistsError,
    ConflictError,
    PermissionDeniedError,
    StaleVersionError,
    ValidationError,
)
from partnerkit.incentives import Band, Basis, Plan, RewardKind, Rule, StatementStatus
from partnerkit.services import Services
from partnerkit.storage.memory import MemoryStorage

if TYPE_CHECKING:
    from collections.abc import Iterator

JAN = datetime(2026, 1, 1, tzinfo=UTC)
DUE = datetime(2026, 2, 11, tzinfo=UTC)
ADMIN = Actor("usr_admin", Role.ADMIN)
MANAGER = Actor("usr_m", Role.CHANNEL_MANAGER)
OTHER_MANAGER = Actor("usr_m2", Role.CHANNEL_MANAGER)
FINANCE = Actor("usr_f", Role.FINANCE)
USER_A = Actor("usr_a", Role.PARTNER_USER, partner_id="ptn_a")
USER_B = Actor("usr_b", Role.PARTNER_USER, partner_id="ptn_b")
PLAN = Plan(
    "plan_resale",
    1,
    "Resale",
    "USD",
    (
        Rule(
            "resale",
            Basis.REVENUE_BOOKED,
            RewardKind.PERCENTAGE,
            (Band(Decimal(0), Decimal(3)), Band(Decimal(10_000), Decimal(5))),
        ),
    ),
)


@pytest.fixture
def services() -> Iterator[Services]:
    store = MemoryStorage()
    clock = FixedClock(DUE)
    services = Services(store, clock=clock)
    with store.unit_of_work() as uow:
        for partner_id in ("ptn_a", "ptn_b"):
            uow.partners.add(
                Partner(
                    id=partner_id,
                    name=f"Partner {partner_id}",
                    type="reseller",
                    country="FI",
                    created_at=JAN,
                    owner_id="usr_m",
                    status=PartnerStatus.ACTIVE,
                )
            )
        uow.activities.append(
            [
                Activity("s_a", "ptn_a", "revenue_booked", JAN, Money("20000", "USD")),
                Activity("s_b", "ptn_b", "revenue_booked", JAN, Money("1000", "USD")),
            ]
        )
        uow.commit()
    services.add_incentive_plan(ADMIN, PLAN)
    yield services
    store.close()


def statement_of(services: Services, partner_id: str) -> str:
    result = services.compute_statements(MANAGER, "plan_resale", JAN)
    return next(s.id for s in result.value if s.partner_id == partner_id)


def test_a_manager_computes_and_stores_every_partners_statement(services: Services) -> None:
    result = services.compute_statements(MANAGER, "plan_resale", JAN)
    assert [(s.partner_id, s.total, s.version) for s in result.value] == [
        ("ptn_a", Money("800", "USD"), 1),
        ("ptn_b", Money("30", "USD"), 1),
    ]
    assert [e.kind for e in result.events] == ["incentive_statements.computed"]


def test_a_statement_is_not_computed_before_it_is_due(services: Services) -> None:
    services.clock.set(datetime(2026, 2, 5, tzinfo=UTC))  # type: ignore[attr-defined]
    with pytest.raises(ValidationError, match="is due at 2026-02-11"):
        services.compute_statements(MANAGER, "plan_resale", JAN)


def test_partner_users_cannot_compute_statements(services: Services) -> None:
    with pytest.raises(PermissionDeniedError):
        services.compute_statements(USER_A, "plan_resale", JAN)


def test_partner_users_see_only_their_own_statements(services: Services) -> None:
    statement_id = statement_of(services, "ptn_b")
    assert [s.partner_id for s in services.list_statements(USER_A).items] == ["ptn_a"]
    assert services.list_statements(USER_A, partner_id="ptn_b").items == ()
    with pytest.raises(NotFoundError):
        services.get_statement(USER_A, statement_id)
    with pytest.raises(NotFoundError):
        services.get_statement(USER_A, "plan_resale/ptn_x/2026-01-01")


def test_the_owning_manager_approves_and_finance_pays_after_the_hold(services: Services) -> None:
    statement_id = statement_of(services, "ptn_a")
    approved = services.approve_statement(MANAGER, statement_id).value
    with pytest.raises(ValidationError, match="held until"):
        services.pay_statement(FINANCE, statement_id, reference="pay_1")
    services.clock.set(datetime(2026, 3, 3, tzinfo=UTC))  # type: ignore[attr-defined]
    paid = services.pay_statement(FINANCE, statement_id, reference="pay_1")
    assert (approved.approved_by, paid.value.status, paid.value.paid_by) == (
        "usr_m",
        StatementStatus.PAID,
        "usr_f",
    )
    assert [e.kind for e in paid.events] == ["incentive_statement.paid"]


def test_only_finance_pays_and_only_the_owner_approves(services: Services) -> None:
    statement_id = statement_of(services, "ptn_a")
    with pytest.raises(PermissionDeniedError):
        services.approve_statement(OTHER_MANAGER, statement_id)
    with pytest.raises(PermissionDeniedError):
        services.approve_statement(USER_A, statement_id)
    services.approve_statement(MANAGER, statement_id)
    services.clock.set(datetime(2026, 3, 3, tzinfo=UTC))  # type: ignore[attr-defined]
    with pytest.raises(PermissionDeniedError):
        services.pay_statement(MANAGER, statement_id, reference="pay_1")


def test_a_statement_must_be_approved_before_it_is_paid(services: Services) -> None:
    statement_id = statement_of(services, "ptn_a")
    services.clock.set(datetime(2026, 3, 3, tzinfo=UTC))  # type: ignore[attr-defined]
    with pytest.raises(InvalidTransitionError, match="cannot pay"):
        services.pay_statement(FINANCE, statement_id, reference="pay_1")


def test_approving_a_statement_recomputed_since_is_stale(services: Services) -> None:
    statement_id = statement_of(services, "ptn_a")
    services.compute_statements(MANAGER, "plan_resale", JAN)  # version 2
    with pytest.raises(StaleVersionError):
        services.approve_statement(MANAGER, statement_id, version=1)


def test_a_new_run_keeps_approved_statements(services: Services) -> None:
    statement_id = statement_of(services, "ptn_a")
    services.approve_statement(MANAGER, statement_id)
    again = services.compute_statements(MANAGER, "plan_resale", JAN)
    assert [(s.partner_id, s.reason) for s in again.skipped] == [
        ("ptn_a", "statement is approved; kept")
    ]


def test_a_stored_statement_replays_to_the_cent(services: Services) -> None:
    statement_id = statement_of(services, "ptn_a")
    assert services.replay_statement(USER_A, statement_id) == services.get_statement(
        USER_A, statement_id
    )


def test_a_tampered_statement_does_not_replay(services: Services) -> None:
    statement_id = statement_of(services, "ptn_a")
    with services.storage.unit_of_work() as uow:
        stored = uow.statements.get(statement_id)
        line = attrs.evolve(stored.lines[0], amount=Money("999", "USD"))
        lines = (line, *stored.lines[1:])
        total = Money.sum((entry.amount for entry in lines), currency="USD")
        uow.statements.update(attrs.evolve(stored, lines=lines, total=total))
        uow.commit()
    with pytest.raises(ConflictError, match="no longer replays"):
        services.replay_statement(MANAGER, statement_id)


def test_a_plan_version_is_stored_once(services: Services) -> None:
    with pytest.raises(AlreadyExistsError):
        services.add_incentive_plan(ADMIN, attrs.evolve(PLAN, name="Renamed"))
    assert services.add_incentive_plan(ADMIN, PLAN).events == ()


def test_only_admins_configure_plans(services: Services) -> None:
    with pytest.raises(PermissionDeniedError):
        services.add_incentive_plan(MANAGER, PLAN)
    assert services.get_incentive_plan(USER_A, "plan_resale") == PLAN
