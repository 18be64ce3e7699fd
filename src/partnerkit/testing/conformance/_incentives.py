"""The contracts of `partnerkit.storage.StatementRepository` and `IncentivePlanRepository`."""

# ruff: noqa: S101 - a test suite states its promises with assert

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import attrs
import pytest

from partnerkit._base.money import Money
from partnerkit.errors import AlreadyExistsError, NotFoundError, StaleVersionError
from partnerkit.incentives import (
    Band,
    Basis,
    Plan,
    RewardKind,
    Rule,
    Statement,
    StatementPeriod,
    StatementStatus,
    compute_statement,
)
from partnerkit.ledger import Activity
from partnerkit.storage._protocols import IncentivePlanRepository, StatementRepository
from partnerkit.testing.conformance import _paging as paging
from partnerkit.testing.conformance._compare import assert_same
from partnerkit.testing.conformance._store import committed

if TYPE_CHECKING:
    from partnerkit.storage._protocols import Storage

__all__ = ["IncentivePlanRepositoryContract", "StatementRepositoryContract"]


def _plan(version: int = 1, rate: str = "2.5", plan_id: str = "plan_resale") -> Plan:
    """A two-band plan; ``rate`` tells versions apart by content."""
    rule = Rule(
        "resale",
        Basis.REVENUE_BOOKED,
        RewardKind.PERCENTAGE,
        (Band(Decimal(0), Decimal(rate)), Band(Decimal(10_000), Decimal(5), ("gold",))),
        label="Révendeur ✓ 転売",
        cap=Decimal("100000.5"),
    )
    return Plan(plan_id, version, "Resale — Nordics", "USD", (rule,))


def _period(month: int) -> StatementPeriod:
    return StatementPeriod(
        datetime(2026, month, 1, tzinfo=UTC), datetime(2026, month + 1, 1, tzinfo=UTC)
    )


def _statement(partner_id: str = "ptn_1", month: int = 1, plan: Plan | None = None) -> Statement:
    """A statement with lines, a sub-cent measure, unicode text and notes."""
    period = _period(month)
    activities = [
        Activity(
            f"{partner_id}_sale_{month}",
            partner_id,
            "revenue_booked",
            period.start,
            Money("12345.123456789", "USD"),
        ),
        Activity(
            f"{partner_id}_eur_{month}",
            partner_id,
            "revenue_booked",
            period.start,
            Money("5", "EUR"),
        ),
    ]
    return compute_statement(plan or _plan(), partner_id, period, activities, tier="gold")


def _add(storage: Storage, *statements: Statement) -> list[Statement]:
    with storage.unit_of_work() as uow:
        stored = [uow.statements.add(statement) for statement in statements]
        uow.commit()
    return stored


class StatementRepositoryContract:
    """The promises of `partnerkit.storage.StatementRepository`.

    Statements come back whole (every line, its trace, sub-cent measures, unicode
    explanations, notes); ``add`` stamps version 1 and refuses a taken id;
    ``update`` checks the version, at once and at commit; ``query`` filters and
    pages by id.
    """

    def test_statements_implements_the_protocol(self, storage: Storage) -> None:
        """``uow.statements`` has every method of `StatementRepository`."""
        with storage.unit_of_work() as uow:
            assert isinstance(uow.statements, StatementRepository), "uow.statements lacks methods"

    def test_every_statement_field_round_trips_through_add_and_get(self, storage: Storage) -> None:
        """What ``add`` took comes back from ``get`` exactly, at version 1."""
        statement = _statement()
        (added,) = _add(storage, statement)
        expected = attrs.evolve(statement, version=1)
        assert_same(added, expected, "added")
        assert_same(committed(storage).statements.get(statement.id), expected, "statement")
        assert statement.lines[0].sources, "the example statement has traced lines"

    def test_add_of_a_taken_statement_id_raises_already_exists(self, storage: Storage) -> None:
        """A stored or staged id is refused at add, and at commit when raced."""
        first = _statement()
        _add(storage, first)
        with storage.unit_of_work() as uow, pytest.raises(AlreadyExistsError):
            uow.statements.add(first)
        with storage.unit_of_work() as first_unit:
            first_unit.statements.add(_statement("ptn_2"))
            _add(storage, _statement("ptn_2"))
            with pytest.raises(AlreadyExistsError):
                first_unit.commit()

    def test_statement_update_checks_the_version(self, storage: Storage) -> None:
        """``update`` is one version higher; a stale one raises, at once or at commit."""
        (stored,) = _add(storage, _statement())
        approved = attrs.evolve(stored, status=StatementStatus.APPROVED, approved_by="usr_m")
        with storage.unit_of_work() as uow:
            updated = uow.statements.update(approved)
            uow.commit()
        assert_same(updated, attrs.evolve(approved, version=2), "updated")
        assert_same(committed(storage).statements.get(stored.id), updated, "stored")
        with storage.unit_of_work() as uow, pytest.raises(StaleVersionError):
            uow.statements.update(approved)
        with storage.unit_of_work() as first_unit:
            paid = attrs.evolve(updated, status=StatementStatus.PAID, paid_by="usr_f")
            first_unit.statements.update(paid)
            with storage.unit_of_work() as second_unit:
                second_unit.statements.update(attrs.evolve(updated, payment_reference="pay_1"))
                second_unit.commit()
            with pytest.raises(StaleVersionError):
                first_unit.commit()
        final = committed(storage).statements.get(stored.id)
        assert (final.version, final.payment_reference, final.status) == (
            3,
            "pay_1",
            StatementStatus.APPROVED,
        ), "the statement after the race"
        with storage.unit_of_work() as uow, pytest.raises(NotFoundError):
            uow.statements.update(_statement("ptn_9"))

    def test_statement_query_filters_and_pages_by_id(self, storage: Storage) -> None:
        """Filters combine; pages follow id order; the unit sees its own statements."""
        statements = [_statement(f"ptn_{p}", month) for p in range(3) for month in (1, 2)]
        _add(storage, *statements)
        by_id = sorted(s.id for s in statements)
        for limit in (1, 4, 100):
            found = paging.walk(committed(storage).statements.query, limit=limit)
            assert [s.id for s in found] == by_id, f"query(limit={limit})"
        found = paging.walk(committed(storage).statements.query, limit=2, partner_id="ptn_1")
        assert [s.id for s in found] == [s for s in by_id if "/ptn_1/" in s], "partner_id="
        february = _period(2).start
        found = paging.walk(
            committed(storage).statements.query,
            limit=2,
            plan_id="plan_resale",
            period_start=february,
        )
        assert [s.id for s in found] == [s for s in by_id if s.endswith("2026-02-01")], "period"
        assert committed(storage).statements.query(status=StatementStatus.PAID).items == (), (
            "status=paid"
        )
        with storage.unit_of_work() as uow:
            uow.statements.add(_statement("ptn_0", 3))
            mine = uow.statements.query(partner_id="ptn_0", limit=10).items
            assert len(mine) == 3, "the unit's own statement is listed"
            assert len(committed(storage).statements.query(partner_id="ptn_0").items) == 2, (
                "another unit saw a statement before commit"
            )
            paging.assert_cursors_refused(uow.statements.query)


class IncentivePlanRepositoryContract:
    """The promises of `partnerkit.storage.IncentivePlanRepository`: versions kept.

    Versions of a plan are stored side by side and come back whole; ``get``
    without a version is the highest; the same plan added again is no change,
    other content under a stored version is refused, at add and at commit.
    """

    def test_incentive_plans_implements_the_protocol(self, storage: Storage) -> None:
        """``uow.incentive_plans`` has every method of `IncentivePlanRepository`."""
        with storage.unit_of_work() as uow:
            assert isinstance(uow.incentive_plans, IncentivePlanRepository), (
                "uow.incentive_plans lacks methods"
            )

    def test_plan_versions_round_trip_side_by_side(self, storage: Storage) -> None:
        """Each version comes back whole; ``get()`` is the highest; versions ascend."""
        plans = [_plan(version, rate=f"{version}.125") for version in (2, 1, 10)]
        with storage.unit_of_work() as uow:
            for plan in plans:
                uow.incentive_plans.add(plan)
            assert uow.incentive_plans.get("plan_resale").version == 10, "get() (staged)"
            uow.commit()
        for plan in plans:
            got = committed(storage).incentive_plans.get("plan_resale", version=plan.version)
            assert_same(got, plan, f"version {plan.version}")
        assert_same(committed(storage).incentive_plans.get("plan_resale"), plans[2], "latest")
        assert committed(storage).incentive_plans.versions("plan_resale") == [1, 2, 10]
        assert committed(storage).incentive_plans.versions("plan_other") == []
        with storage.unit_of_work() as uow:
            for version in (3, None):
                with pytest.raises(NotFoundError):
                    uow.incentive_plans.get("plan_other", version=version)

    def test_plan_version_with_other_content_is_refused(self, storage: Storage) -> None:
        """The same plan again is no change; other content under its version is refused."""
        first = _plan(1)
        with storage.unit_of_work() as uow:
            uow.incentive_plans.add(first)
            uow.commit()
        with storage.unit_of_work() as uow:
            assert_same(uow.incentive_plans.add(first), first, "added again")
            with pytest.raises(AlreadyExistsError):
                uow.incentive_plans.add(_plan(1, rate="9"))
        with storage.unit_of_work() as first_unit:
            first_unit.incentive_plans.add(_plan(2, rate="3"))
            with storage.unit_of_work() as second_unit:
                second_unit.incentive_plans.add(_plan(2, rate="4"))
                second_unit.commit()
            with pytest.raises(AlreadyExistsError):
                first_unit.commit()
        got = committed(storage).incentive_plans.get("plan_resale", version=2)
        assert got.rules[0].bands[0].rate == Decimal(4), "the plan committed first was replaced"
