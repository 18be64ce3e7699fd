"""The contract of `partnerkit.storage.LeadRepository`."""

# ruff: noqa: S101 - a test suite states its promises with assert

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

import attrs
import pytest

from partnerkit._base.events import Event
from partnerkit._base.money import Money
from partnerkit.errors import ConflictError, NotFoundError, StaleVersionError, ValidationError
from partnerkit.leads import (
    Candidate,
    Exclusion,
    ExclusionReason,
    Lead,
    LeadContact,
    LeadCustomer,
    LeadStatus,
    RoutingExplanation,
    accept,
    decline,
    offer,
)
from partnerkit.storage._protocols import LeadRepository
from partnerkit.testing.conformance import _paging as paging
from partnerkit.testing.conformance._compare import assert_same
from partnerkit.testing.conformance._harness import fresh, race, roll_back_three_ways
from partnerkit.testing.conformance._store import T0, committed, pending_kinds

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from partnerkit.storage._protocols import Storage, UnitOfWork

__all__ = ["LeadRepositoryContract"]

_HOUR = timedelta(hours=1)


def _lead(lead_id: str, *, country: str = "FI") -> Lead:
    """A new lead whose every optional field is set, the contact included."""
    customer = LeadCustomer(
        "Acme Ääkköset Oy",
        country,
        region="Uusimaa",
        latitude=Decimal("60.16952"),
        longitude=Decimal("24.93545"),
        contact=LeadContact("Anna Virtanen", "anna@acme.fi", "+358 40 123 4567"),
    )
    return Lead(
        lead_id,
        customer,
        "web form",
        T0,
        products=("storage", "backup"),
        value=Money("12500.125", "KWD"),
        size="50-200",
    )


def _explanation(lead_id: str, partner_id: str, number: int = 1) -> RoutingExplanation:
    return RoutingExplanation(
        lead_id,
        "inbound",
        "weighted_random",
        123456789 + number,
        "country FI",
        (Candidate(partner_id, 3), Candidate("ptn_other", 1, "lead weight 1")),
        (Exclusion("ptn_zero", ExclusionReason.NO_WEIGHT),),
        7,
        2,
        4,
        partner_id,
    )


def _offered(lead: Lead, partner_id: str, at: datetime = T0, number: int = 1) -> Lead:
    explanation = _explanation(lead.id, partner_id, number)
    return offer(lead, explanation, actor="router", at=at, expires_at=at + 24 * _HOUR).value


def _add(storage: Storage, *leads: Lead) -> list[Lead]:
    with storage.unit_of_work() as uow:
        stored = [uow.leads.add(lead) for lead in leads]
        uow.commit()
    return stored


def _save(uow: UnitOfWork, lead: Lead) -> None:
    """Add or update ``lead`` and commit: an adapter may refuse at either step."""
    if lead.version == 0:
        uow.leads.add(lead)
    else:
        uow.leads.update(lead)
    uow.commit()


def _change(storage: Storage, lead_id: str, move: Callable[[Lead], Lead]) -> Lead:
    """Read the lead, apply ``move``, update and commit in one unit of work."""
    with storage.unit_of_work() as uow:
        stored = uow.leads.update(move(uow.leads.get(lead_id)))
        uow.commit()
    return stored


class LeadRepositoryContract:
    """The promises of `partnerkit.storage.LeadRepository`: whole leads, one offer at a time.

    A lead comes back with every field (offers with their explanations, history,
    contact, coordinates, money); updates check the version, so two workers that
    offer one lead at once make one offer; queries filter by status, holder and
    offer time in id order, and ``due_to_lapse`` lists expired offers soonest first.
    """

    def test_leads_implements_the_protocol(self, storage: Storage) -> None:
        """``uow.leads`` has every method of `LeadRepository`."""
        with storage.unit_of_work() as uow:
            assert isinstance(uow.leads, LeadRepository), "uow.leads lacks methods"

    def test_a_lead_round_trips_with_its_offers_history_and_contact(self, storage: Storage) -> None:
        """Every field, each offer's explanation included, comes back as it was stored."""
        lead_id = fresh("lead")
        (added,) = _add(storage, _lead(lead_id))
        assert added.version == 1, "add() returns version 1"
        assert_same(committed(storage).leads.get(lead_id), added, "lead")
        declined = _change(
            storage,
            lead_id,
            lambda lead: (
                decline(
                    _offered(lead, "ptn_a"), partner_id="ptn_a", actor="usr_1", at=T0, reason="busy"
                ).value
            ),
        )
        taken = _change(
            storage,
            lead_id,
            lambda lead: (
                accept(
                    _offered(lead, "ptn_b", T0 + _HOUR, 2),
                    partner_id="ptn_b",
                    actor="usr_2",
                    at=T0 + 2 * _HOUR,
                ).value
            ),
        )
        assert (declined.version, taken.version) == (2, 3), "versions after two updates"
        got = committed(storage).leads.get(lead_id)
        assert_same(got, taken, "lead")
        assert got.offers[0].explanation.replay() == "ptn_a", "a stored explanation replays"

    def test_a_missing_lead_raises_not_found(self, storage: Storage) -> None:
        """``get`` of an unknown id raises `NotFoundError`."""
        with pytest.raises(NotFoundError):
            committed(storage).leads.get(fresh("lead"))

    def test_lead_add_refuses_a_taken_id_and_a_stored_version(self, storage: Storage) -> None:
        """A second lead under one id is a conflict; ``add`` takes version 0 only."""
        lead_id = fresh("lead")
        _add(storage, _lead(lead_id))
        with storage.unit_of_work() as uow, pytest.raises(ConflictError):
            _save(uow, _lead(lead_id))
        with pytest.raises(ValidationError), storage.unit_of_work() as uow:
            uow.leads.add(attrs.evolve(_lead(fresh("lead")), version=3))

    def test_a_stale_lead_update_raises_and_changes_nothing(self, storage: Storage) -> None:
        """An update from an old version raises `StaleVersionError`; the lead stays."""
        lead_id = fresh("lead")
        (added,) = _add(storage, _lead(lead_id))
        _change(storage, lead_id, lambda lead: _offered(lead, "ptn_a"))
        with storage.unit_of_work() as uow, pytest.raises(StaleVersionError):
            _save(uow, _offered(added, "ptn_b"))
        stored = committed(storage).leads.get(lead_id)
        assert (stored.partner_id, stored.version) == ("ptn_a", 2), "the stored lead"

    def test_two_workers_offering_one_lead_at_once_make_one_offer(self, storage: Storage) -> None:
        """However many workers read a new lead and offer it at once, one offer commits."""
        workers = 6
        lead_id = fresh("lead")
        _add(storage, _lead(lead_id))

        def attempt(worker: int, _round: int, ready: Callable[[], object]) -> bool:
            with storage.unit_of_work() as uow:
                lead = uow.leads.get(lead_id)
                ready()
                try:
                    uow.leads.update(_offered(lead, f"ptn_{worker}"))
                    uow.publish(Event("lead.offered", lead_id, T0, actor=f"worker_{worker}"))
                    uow.commit()
                except ConflictError:  # StaleVersionError is one too
                    return False
                return True

        won = [worker for (worker, _), ok in race(attempt, racers=workers).items() if ok]
        stored = committed(storage).leads.get(lead_id)
        assert len(won) == 1, f"offers that committed: {len(won)}"
        assert (stored.version, len(stored.offers)) == (2, 1), "(version, offers) stored"
        assert stored.partner_id == f"ptn_{won[0]}", "the lead is held by the winner"
        assert pending_kinds(storage) == ["lead.offered"], "pending events"

    def test_lead_query_filters_by_status_holder_and_offer_time(self, storage: Storage) -> None:
        """``query`` lists the leads matching every filter, in id order, page by page."""
        prefix = fresh("lead")
        leads = [_lead(f"{prefix}_{n}") for n in range(5)]
        _add(storage, *leads)
        moves: dict[int, Callable[[Lead], Lead]] = {
            1: lambda lead: _offered(lead, "ptn_a"),
            2: lambda lead: _offered(lead, "ptn_b", T0 + 2 * _HOUR),
            3: lambda lead: (
                accept(
                    _offered(lead, "ptn_a", T0 + 3 * _HOUR),
                    partner_id="ptn_a",
                    actor="usr_1",
                    at=T0 + 4 * _HOUR,
                ).value
            ),
        }
        for n, move in moves.items():
            _change(storage, leads[n].id, move)
        stored = {lead.id: committed(storage).leads.get(lead.id) for lead in leads}

        def expected(filters: dict[str, object]) -> list[str]:
            since = filters.get("offered_since")
            holders = filters.get("partner_ids")
            return sorted(
                lead.id
                for lead in stored.values()
                if filters.get("status", lead.status) == lead.status
                and filters.get("partner_id", lead.partner_id) == lead.partner_id
                and (holders is None or lead.partner_id in holders)  # type: ignore[operator]
                and (
                    since is None
                    or (lead.last_offered_at is not None and lead.last_offered_at >= since)  # type: ignore[operator]
                )
            )

        query = committed(storage).leads.query
        cases: list[dict[str, object]] = [
            {"status": LeadStatus.OFFERED, "partner_ids": ["ptn_a", "ptn_b"]},
            {"partner_id": "ptn_a"},
            {"partner_id": "ptn_a", "status": LeadStatus.ACCEPTED},
            {"offered_since": T0 + 2 * _HOUR, "partner_ids": ["ptn_a", "ptn_b"]},
            {"status": LeadStatus.NEW},
        ]
        for filters in cases:
            for limit in (1, 2, 1000):
                found = paging.walk(query, limit=limit, **filters)  # type: ignore[arg-type]
                got = [lead.id for lead in found]
                assert got == expected(filters), f"query({filters}, limit={limit})"
        with pytest.raises(ValidationError):
            committed(storage).leads.query(partner_ids="ptn_a")
        paging.assert_cursors_refused(committed(storage).leads.query)

    def test_due_to_lapse_lists_expired_offers_soonest_first(self, storage: Storage) -> None:
        """Offered leads whose offer expired by ``as_of``, by expiry then id, up to ``limit``."""
        prefix = fresh("lead")
        starts = {"c": T0, "a": T0 + _HOUR, "b": T0 + _HOUR, "d": T0 + 5 * _HOUR}
        leads = {key: _lead(f"{prefix}_{key}") for key in starts}
        _add(storage, *leads.values())
        for key, start in starts.items():
            with storage.unit_of_work() as uow:
                uow.leads.update(_offered(uow.leads.get(leads[key].id), "ptn_a", start))
                uow.commit()
        as_of = T0 + 25 * _HOUR  # the offers of c, a and b have expired; d's runs on
        due = [lead.id for lead in committed(storage).leads.due_to_lapse(as_of)]
        assert due == [leads[k].id for k in ("c", "a", "b")], "due_to_lapse(as_of)"
        first = committed(storage).leads.due_to_lapse(as_of, limit=1)
        assert [lead.id for lead in first] == [leads["c"].id], "due_to_lapse(as_of, limit=1)"
        with pytest.raises(ValidationError):
            committed(storage).leads.due_to_lapse(as_of, limit=0)

    def test_rolled_back_leads_leave_nothing_behind(self, storage: Storage) -> None:
        """A lead added in a unit of work that does not commit is never stored."""
        prefix = fresh("lead")

        def write(uow: UnitOfWork, way: str) -> None:
            uow.leads.add(_lead(f"{prefix}_{way}"))
            assert uow.leads.get(f"{prefix}_{way}").version == 1, "the unit sees its own lead"

        roll_back_three_ways(storage, write)
        for way in ("raised", "abandoned", "rolled_back"):
            with pytest.raises(NotFoundError):
                committed(storage).leads.get(f"{prefix}_{way}")
