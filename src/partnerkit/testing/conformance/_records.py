"""The records the contracts store, built in the forms adapters most often get wrong.

Instants sit around one moment, `T0`, in odd offsets (+05:45, -09:30, +14:00,
-00:01) that an adapter storing local text or whole-hour offsets would garble. The
``write_*`` and ``assert_*`` pairs stage one write of every kind and then check that
none of it was kept, for the tests of rollback and of refused commits.
"""

# ruff: noqa: S101 - a test suite states its promises with assert

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

import attrs
import pytest

from partnerkit import Contact, Partner, PartnerStatus, PartnerType
from partnerkit._base.events import Event
from partnerkit.errors import NotFoundError
from partnerkit.ledger import Activity, ActivityKind
from partnerkit.partners import OnboardingStep, PartnerAction, StatusChange, StepOwner
from partnerkit.testing.conformance._compare import assert_same
from partnerkit.testing.conformance._store import T0, committed, missing, stage
from partnerkit.tiers import (
    Comparison,
    DowngradeProposal,
    Membership,
    MembershipStatus,
    Program,
    Requirement,
    Tier,
    TierAssignment,
    TierChangeCause,
)

if TYPE_CHECKING:
    from partnerkit.storage._protocols import Storage, UnitOfWork

__all__ = [
    "KIRIBATI",
    "MARQUESAS",
    "NEPAL",
    "ONE_MINUTE_WEST",
    "T0",
    "activity",
    "assert_no_tiers",
    "assert_nothing_written",
    "assignment",
    "at",
    "event",
    "full_membership",
    "full_partner",
    "large_partner",
    "membership",
    "partner",
    "program",
    "stored",
    "write_everything",
    "write_tiers",
]

NEPAL: Final = timezone(timedelta(hours=5, minutes=45))
MARQUESAS: Final = timezone(-timedelta(hours=9, minutes=30))
KIRIBATI: Final = timezone(timedelta(hours=14))
ONE_MINUTE_WEST: Final = timezone(-timedelta(minutes=1))


def at(hours: float, tz: timezone = UTC) -> datetime:
    """`T0` plus ``hours``, expressed in ``tz`` (the same instant in any zone)."""
    return (T0 + timedelta(hours=hours)).astimezone(tz)


# --- Partners, activities, events -------------------------------------------------


def partner(partner_id: str, **fields: Any) -> Partner:
    """A new reseller in Finland; ``fields`` override any field."""
    defaults = {
        "name": f"Partner {partner_id}",
        "type": PartnerType.RESELLER,
        "country": "FI",
        "created_at": T0,
    }
    return Partner(id=partner_id, **{**defaults, **fields})


def stored(record: Partner, version: int) -> Partner:
    """``record`` as the store returns it at ``version``."""
    return attrs.evolve(record, version=version)


def activity(activity_id: str, partner_id: str = "ptn_a", **fields: Any) -> Activity:
    """A portal login at `T0`; ``fields`` override any field."""
    defaults = {"kind": ActivityKind.PORTAL_LOGIN, "occurred_at": T0}
    return Activity(id=activity_id, partner_id=partner_id, **{**defaults, **fields})


def event(kind: str, subject_id: str = "ptn_a", **data: str | int | bool | None) -> Event:
    """An event of ``kind`` at `T0`."""
    return Event(kind=kind, subject_id=subject_id, occurred_at=T0, actor="usr_test", data=data)


def full_partner(partner_id: str) -> Partner:
    """A partner with every field set, in the forms adapters most often get wrong."""
    return Partner(
        id=partner_id,
        name="Nordlys Data Oy",
        type=PartnerType.SYSTEM_INTEGRATOR,
        country="FI",
        created_at=datetime(2025, 12, 31, 23, 59, 59, 999999, tzinfo=NEPAL),
        status=PartnerStatus.ACTIVE,
        region="Nordics",
        domains=("nordlys.fi", "nordlys-data.com"),
        owner_id="usr_maria",
        parent_id="ptn_distributor",
        contacts=(
            Contact("Åsa Öberg", "asa@nordlys.fi", role="sales", primary=True),
            Contact("Юрий Смирнов", "yuri@nordlys.fi", role="technical"),
        ),
        custom_fields={
            "score": Decimal("87.125"),
            "employees": 250,
            "certified": True,
            "vertical": "health",
            "renewal_on": date(2026, 6, 30),
        },
        joined_on=date(2025, 1, 31),
        onboarding=(
            OnboardingStep(
                "sign_agreement",
                "Sign the partner agreement",
                date(2025, 2, 14),
                completed_at=datetime(2025, 2, 3, 8, 15, 1, 123456, tzinfo=MARQUESAS),
                completed_by="usr_maria",
            ),
            OnboardingStep(
                "first_deal",
                "Register a first deal",
                date(2025, 4, 30),
                required=False,
                owner=StepOwner.VENDOR,
            ),
        ),
        history=(
            StatusChange(
                PartnerAction.START_ONBOARDING,
                PartnerStatus.PROSPECT,
                PartnerStatus.ONBOARDING,
                "usr_maria",
                datetime(2025, 1, 31, 23, 30, tzinfo=KIRIBATI),
            ),
            StatusChange(
                PartnerAction.ACTIVATE,
                PartnerStatus.ONBOARDING,
                PartnerStatus.ACTIVE,
                "usr_maria",
                datetime(2025, 3, 1, 0, 0, tzinfo=ONE_MINUTE_WEST),
                reason="all required steps done",
            ),
        ),
        updated_at=datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=MARQUESAS),
    )


def large_partner(partner_id: str) -> Partner:
    """A partner with hundreds of contacts, custom fields, steps and history entries."""
    contacts = tuple(
        Contact(f"Person {n}", f"person{n}@example.com", role="sales", primary=n == 0)
        for n in range(200)
    )
    steps = tuple(
        OnboardingStep(f"step_{n:03d}", f"Step {n}", date(2026, 1, 1) + timedelta(days=n))
        for n in range(150)
    )
    history = tuple(
        StatusChange(
            PartnerAction.SUSPEND if n % 2 else PartnerAction.REINSTATE,
            PartnerStatus.ACTIVE if n % 2 else PartnerStatus.SUSPENDED,
            PartnerStatus.SUSPENDED if n % 2 else PartnerStatus.ACTIVE,
            "usr_maria",
            at(n),
            reason=f"review {n}",
        )
        for n in range(100)
    )
    return partner(
        partner_id,
        domains=tuple(f"site{n}.example.com" for n in range(50)),
        contacts=contacts,
        custom_fields={f"field_{n:03d}": Decimal(n) / 8 for n in range(300)},
        onboarding=steps,
        history=history,
    )


def write_everything(uow: UnitOfWork, existing: Partner) -> None:
    """Stage one write of every kind: add, update, append and publish."""
    stage(
        uow,
        partner("ptn_new"),
        attrs.evolve(existing, name="Changed", region="APAC"),
        activity("act_new", "ptn_new"),
        activity("act_old_partner"),
        event("partner.created", "ptn_new"),
        event("partner.renamed"),
    )


def assert_nothing_written(storage: Storage, existing: Partner) -> None:
    """What `write_everything` staged left no trace."""
    seen = committed(storage)
    assert missing(seen.partners.get, "ptn_new"), "an added partner survived the rollback"
    assert_same(seen.partners.get(existing.id), existing, "the updated partner")
    for activity_id in ("act_new", "act_old_partner"):
        assert missing(seen.activities.get, activity_id), f"{activity_id} survived the rollback"
    assert storage.pending_events() == [], "published events reached the outbox"


# --- Programs, memberships and tier history ---------------------------------------


def program(program_id: str, **fields: Any) -> Program:
    """A two-tier program over the built-in membership age: Silver after a year."""
    defaults = {
        "name": f"Program {program_id}",
        "currency": "EUR",
        "tiers": (
            Tier("registered", "Registered", 1),
            Tier(
                "silver",
                "Silver",
                2,
                Requirement("membership_months", Comparison.AT_LEAST, Decimal(12)),
            ),
        ),
    }
    return Program(id=program_id, **{**defaults, **fields})


def membership(program_id: str, partner_id: str, **fields: Any) -> Membership:
    """A new membership that began on 31 January 2024; ``fields`` override any field."""
    defaults = {"joined_on": date(2024, 1, 31)}
    return Membership(partner_id=partner_id, program_id=program_id, **{**defaults, **fields})


def full_membership(program_id: str, partner_id: str) -> Membership:
    """A membership with every field set, in the forms adapters most often get wrong."""
    return Membership(
        partner_id=partner_id,
        program_id=program_id,
        joined_on=date(2024, 2, 29),
        status=MembershipStatus.SUSPENDED,
        tier_id="silver",
        tier_since=datetime(2025, 3, 31, 23, 59, 59, 999999, tzinfo=NEPAL),
        failing_reviews=2,
        last_review_at=datetime(2026, 7, 1, 0, 0, 0, 1, tzinfo=MARQUESAS),
        proposal=DowngradeProposal(
            "silver", "registered", datetime(2026, 7, 1, tzinfo=KIRIBATI), 2
        ),
    )


def assignment(
    program_id: str, partner_id: str, start: float, end: float | None = None, **fields: Any
) -> TierAssignment:
    """A stretch from ``at(start)`` to ``at(end)`` (open without ``end``)."""
    defaults = {"tier_id": "silver", "cause": TierChangeCause.UPGRADE}
    return TierAssignment(
        partner_id=partner_id,
        program_id=program_id,
        valid_from=at(start),
        valid_until=None if end is None else at(end),
        **{**defaults, **fields},
    )


def write_tiers(uow: UnitOfWork, program_id: str, partner_id: str) -> None:
    """Stage one of each: a program, a membership, an assignment and an event."""
    stage(
        uow,
        program(program_id),
        membership(program_id, partner_id),
        assignment(program_id, partner_id, 0),
        event("tier.changed", partner_id),
    )


def assert_no_tiers(storage: Storage, program_id: str, partner_id: str) -> None:
    """What `write_tiers` staged left no trace: no program, membership or history."""
    with storage.unit_of_work() as uow:
        with pytest.raises(NotFoundError):
            uow.programs.get(program_id)
        with pytest.raises(NotFoundError):
            uow.memberships.get(program_id, partner_id)
        assert uow.memberships.for_partner(partner_id) == [], "memberships.for_partner()"
        assert uow.tier_history.for_partner(program_id, partner_id) == [], "tier history"
        assert uow.programs.query().items == (), "programs.query()"
