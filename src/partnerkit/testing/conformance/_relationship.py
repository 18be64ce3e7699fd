"""The contract of the relationship repositories: business plans, check-ins, certifications.

`partnerkit.storage.BusinessPlanRepository`, `partnerkit.storage.CheckInRepository`
and `partnerkit.storage.CertificationRepository` keep versioned records by id: every
field comes back exactly, a stale update is refused and changes nothing, a taken
id is refused, and each query filters and pages by id.
"""

# ruff: noqa: S101 - a test suite states its promises with assert

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs
import pytest

from partnerkit._base.money import Money
from partnerkit.errors import AlreadyExistsError, NotFoundError, StaleVersionError
from partnerkit.metrics import Aggregate, MetricDefinition, Window
from partnerkit.relationship import (
    ActionItem,
    BusinessPlan,
    Certification,
    CertificationTerm,
    CheckIn,
    Goal,
    GoalOwner,
    PlanStatus,
    Side,
    agree_plan,
    draft_plan,
)
from partnerkit.storage._protocols import (
    BusinessPlanRepository,
    CertificationRepository,
    CheckInRepository,
)
from partnerkit.testing.conformance import _paging as paging
from partnerkit.testing.conformance._compare import assert_same
from partnerkit.testing.conformance._store import committed, missing
from partnerkit.tiers import Comparison

if TYPE_CHECKING:
    from partnerkit.storage._protocols import Storage, UnitOfWork

__all__ = ["RelationshipRepositoryContract"]

_AT = datetime(2026, 11, 2, 9, 30, 0, 123456, tzinfo=UTC)
_OWNERS = (GoalOwner(Side.VENDOR, "u_anna"), GoalOwner(Side.PARTNER, "c_bö"))


def plan(plan_id: str, partner_id: str = "ptn_1", *, agreed: bool = False) -> BusinessPlan:
    """A plan with a money goal and a count goal; agreed by both sides if asked."""
    goals = (
        Goal(
            "revenue",
            MetricDefinition(
                "revenue",
                Aggregate.SUM,
                kinds=("revenue_booked",),
                window=Window.trailing("P6M"),
                currency="KWD",
            ),
            Money("125000.125", "KWD"),
            _OWNERS,
            label="revenue",
        ),
        Goal(
            "deals",
            MetricDefinition("deals", Aggregate.COUNT, kinds=("deal_won",)),
            Decimal("12.50"),
            _OWNERS,
            Comparison.MORE_THAN,
            "won deal|won deals",
        ),
    )
    found = draft_plan(
        plan_id,
        partner_id,
        title="FY27 — Ünïcode plan",
        starts_on=date(2027, 1, 1),
        ends_on=date(2027, 12, 31),
        goals=goals,
        by="u_anna",
        side="vendor",
        at=_AT,
    ).value
    if agreed:
        for side, person in ((Side.PARTNER, "c_bö"), (Side.VENDOR, "u_anna")):
            found = agree_plan(found, by=person, side=side, at=_AT).value
    return found


def check_in(check_in_id: str, partner_id: str = "ptn_1", *, day: int = 0) -> CheckIn:
    """A check-in with notes on several lines, a satisfaction and two action items."""
    return CheckIn(
        check_in_id,
        partner_id,
        _AT + timedelta(days=day),
        ("u_anna", "c_bö"),
        "Pipeline: 3 deals.\n  Next — a QBR in Zürich.",
        satisfaction=4,
        action_items=(
            ActionItem("forecast", "Send the forecast", "c_bö", Side.PARTNER, date(2026, 11, 20)),
            ActionItem(
                "mdf", "Approve MDF", "u_anna", Side.VENDOR, date(2026, 11, 9), date(2026, 11, 8)
            ),
        ),
        recorded_by="u_anna",
    )


def certification(
    record_id: str,
    partner_id: str = "ptn_1",
    *,
    person: str = "p_1",
    name: str = "cloud_architect",
    expires: date | None = date(2027, 3, 1),
) -> Certification:
    """A certification renewed once (or never issued, without ``expires``)."""
    terms: tuple[CertificationTerm, ...] = ()
    if expires is not None:
        terms = (
            CertificationTerm(date(2024, 3, 1), date(2025, 3, 1)),
            CertificationTerm(date(2025, 2, 1), expires),
        )
    return Certification(
        record_id, partner_id, person, name, date(2024, 1, 15), terms, renewal_window=60
    )


def _repository(uow: UnitOfWork, record: object) -> Any:
    if isinstance(record, BusinessPlan):
        return uow.plans
    if isinstance(record, CheckIn):
        return uow.check_ins
    return uow.certifications


def _add(storage: Storage, *records: object) -> list[Any]:
    with storage.unit_of_work() as uow:
        stored = [_repository(uow, record).add(record) for record in records]
        uow.commit()
    return stored


def _samples() -> list[Any]:
    return [plan("jbp_1", agreed=True), check_in("ci_1"), certification("crt_1")]


class RelationshipRepositoryContract:
    """The promises of the relationship repositories: plans, check-ins, certifications.

    Each keeps versioned records by id: fields round-trip exactly (money with its
    digits, notes with their line breaks, dates as dates), a stale update raises
    `StaleVersionError` and changes nothing, a taken id raises `ConflictError`, and
    each query filters and pages by id.
    """

    def test_relationship_repositories_implement_the_protocols(self, storage: Storage) -> None:
        """``uow.plans``, ``uow.check_ins`` and ``uow.certifications`` have every method."""
        with storage.unit_of_work() as uow:
            assert isinstance(uow.plans, BusinessPlanRepository), "uow.plans lacks methods"
            assert isinstance(uow.check_ins, CheckInRepository), "uow.check_ins lacks methods"
            assert isinstance(uow.certifications, CertificationRepository), (
                "uow.certifications lacks methods"
            )

    def test_every_relationship_field_round_trips_through_add_and_get(
        self, storage: Storage
    ) -> None:
        """What ``add`` stores, ``get`` returns whole, at version 1."""
        records = _samples()
        added = _add(storage, *records)
        for record, stored in zip(records, added, strict=True):
            expected = attrs.evolve(record, version=1)
            assert_same(stored, expected, record.id)
            assert_same(_repository(committed(storage), record).get(record.id), expected, record.id)

    def test_relationship_update_returns_one_version_higher_and_keeps_every_field(
        self, storage: Storage
    ) -> None:
        """An update stores the changed record one version higher."""
        first, second, third = _add(storage, *_samples())
        changed = [
            attrs.evolve(first, status=PlanStatus.REVISED, agreed_by=()),
            attrs.evolve(second, notes="", satisfaction=None, action_items=()),
            attrs.evolve(
                third, terms=(*third.terms, CertificationTerm(date(2027, 1, 1), date(2029, 1, 1)))
            ),
        ]
        with storage.unit_of_work() as uow:
            updated = [_repository(uow, record).update(record) for record in changed]
            uow.commit()
        for record, stored in zip(changed, updated, strict=True):
            expected = attrs.evolve(record, version=2)
            assert_same(stored, expected, record.id)
            assert_same(_repository(committed(storage), record).get(record.id), expected, record.id)

    def test_missing_relationship_records_raise_not_found(self, storage: Storage) -> None:
        """``get`` of an id never stored raises `NotFoundError`."""
        reader = committed(storage)
        for get in (reader.plans.get, reader.check_ins.get, reader.certifications.get):
            with pytest.raises(NotFoundError):
                get("nothing_here")

    def test_a_taken_relationship_id_is_refused(self, storage: Storage) -> None:
        """Adding a record under a stored id raises `AlreadyExistsError`; the first stays."""
        records = _samples()
        _add(storage, *records)
        for record in records:
            with storage.unit_of_work() as uow, pytest.raises(AlreadyExistsError):
                _repository(uow, record).add(record)
            stored = _repository(committed(storage), record).get(record.id)
            assert stored.version == 1, f"{record.id}.version after the refused add"

    def test_stale_relationship_update_raises_and_changes_nothing(self, storage: Storage) -> None:
        """An update based on a version changed meanwhile raises `StaleVersionError`.

        The unit of work it was staged in writes nothing, not even its other records.
        """
        for record in _add(storage, *_samples()):
            with storage.unit_of_work() as first:
                _repository(first, record).update(_repository(first, record).get(record.id))
                first.plans.add(plan(f"new_{record.id}"))
                with storage.unit_of_work() as second:
                    _repository(second, record).update(_repository(second, record).get(record.id))
                    second.commit()
                before = _repository(committed(storage), record).get(record.id)
                with pytest.raises(StaleVersionError):
                    first.commit()
            assert_same(_repository(committed(storage), record).get(record.id), before, record.id)
            assert missing(committed(storage).plans.get, f"new_{record.id}"), (
                "the refused unit of work wrote the plan staged with the stale update"
            )
            with storage.unit_of_work() as uow, pytest.raises(StaleVersionError):
                _repository(uow, record).update(attrs.evolve(before, version=7))

    def test_relationship_writes_are_rolled_back_without_commit(self, storage: Storage) -> None:
        """Records staged and never committed are gone; the unit of work saw them."""
        with storage.unit_of_work() as uow:
            for record in _samples():
                _repository(uow, record).add(record)
                assert _repository(uow, record).get(record.id).version == 1, "own write unseen"
        for record in _samples():
            with pytest.raises(NotFoundError):
                _repository(committed(storage), record).get(record.id)

    def test_plan_and_check_in_queries_filter_and_page_by_id(self, storage: Storage) -> None:
        """Plans by partner and status; check-ins by partner and when they were held."""
        plans = [
            plan("jbp_a", "ptn_1", agreed=True),
            plan("jbp_b", "ptn_2"),
            plan("jbp_c", "ptn_1"),
            plan("jbp_d", "ptn_2", agreed=True),
        ]
        meetings = [check_in(f"ci_{n}", f"ptn_{n % 2}", day=n) for n in range(5)]
        _add(storage, *plans, *meetings)
        reader = committed(storage)

        paging.assert_filters(
            reader.plans.query,
            paging.by_fields(plans),
            [
                {},
                {"partner_id": "ptn_1"},
                {"status": PlanStatus.AGREED},
                {"partner_id": "ptn_2", "status": PlanStatus.DRAFT},
            ],
            limits=(1, 3, 100),
            matching_nothing=[{"partner_id": "ptn_9"}, {"status": PlanStatus.REVISED}],
        )

        def held(filters: dict[str, Any]) -> list[str]:
            after = filters.get("held_after")
            before = filters.get("held_before")
            return [
                c.id
                for c in meetings
                if filters.get("partner_id", c.partner_id) == c.partner_id
                and (after is None or c.held_at >= after)
                and (before is None or c.held_at <= before)
            ]

        paging.assert_filters(
            reader.check_ins.query,
            held,
            [
                {"partner_id": "ptn_0"},
                {"held_after": _AT + timedelta(days=1), "held_before": _AT + timedelta(days=3)},
                {"partner_id": "ptn_1", "held_after": _AT + timedelta(days=3)},
            ],
            limits=(1, 2, 100),
            matching_nothing=[{"held_after": _AT + timedelta(days=30)}],
        )
        paging.assert_cursors_refused(reader.plans.query)
        paging.assert_cursors_refused(reader.check_ins.query)

    def test_certification_query_finds_renewals_due_by_the_latest_expiry(
        self, storage: Storage
    ) -> None:
        """``expires_before`` reads the latest term's expiry; never-issued ones never match."""
        records = [
            certification("crt_a", expires=date(2026, 12, 31)),
            certification("crt_b", person="p_2", expires=date(2027, 1, 1)),
            certification("crt_c", "ptn_2", name="sales_pro", expires=date(2026, 6, 30)),
            certification("crt_d", "ptn_2", expires=None),
        ]
        _add(storage, *records)
        reader = committed(storage)

        def expected(filters: dict[str, Any]) -> list[str]:
            day = filters.get("expires_before")
            return [
                c.id
                for c in records
                if paging.has_fields(c, filters, besides={"expires_before"})
                and (day is None or (c.terms and c.terms[-1].expires_on <= day))
            ]

        paging.assert_filters(
            reader.certifications.query,
            expected,
            [
                {},
                {"partner_id": "ptn_2"},
                {"person": "p_2"},
                {"name": "cloud_architect"},
                {"expires_before": date(2026, 12, 31)},
                {"partner_id": "ptn_1", "expires_before": date(2027, 1, 1)},
            ],
            limits=(1, 2, 100),
            matching_nothing=[{"expires_before": date(2026, 1, 1)}, {"person": "p_9"}],
        )
        paging.assert_cursors_refused(reader.certifications.query)
