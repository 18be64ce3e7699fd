"""The contract of `partnerkit.storage.ActivityLedger`."""

# ruff: noqa: S101 - a test suite states its promises with assert

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from partnerkit._base.money import Money
from partnerkit.errors import ConflictError, NotFoundError, ValidationError
from partnerkit.ledger import Activity, ActivityKind
from partnerkit.storage._protocols import ActivityLedger
from partnerkit.testing import strategies as pks
from partnerkit.testing.conformance import _paging as paging
from partnerkit.testing.conformance._compare import assert_same
from partnerkit.testing.conformance._harness import PROPERTIES, fresh
from partnerkit.testing.conformance._records import (
    KIRIBATI,
    MARQUESAS,
    NEPAL,
    ONE_MINUTE_WEST,
    activity,
    at,
)
from partnerkit.testing.conformance._store import commit, committed, ids, missing

if TYPE_CHECKING:
    from partnerkit.storage._protocols import AppendResult, Storage

__all__ = ["ActivityLedgerContract"]


def _counts(result: AppendResult) -> tuple[int, int]:
    """An `AppendResult` as ``(added, duplicates)``."""
    return (result.added, result.duplicates)


def _listed(storage: Storage) -> list[str]:
    """The ids of every committed activity, as ``query`` pages through them."""
    return ids(paging.walk(committed(storage).activities.query, limit=1000))


class ActivityLedgerContract:
    """The promises of `partnerkit.storage.ActivityLedger`: an idempotent, append-only ledger.

    Appending an activity again is a counted duplicate, one with other content under a
    stored id is refused with nothing of its batch written; amounts keep precision
    and currency; ``for_partner`` orders by instant then id, with inclusive bounds.
    """

    def test_activities_implements_the_protocol(self, storage: Storage) -> None:
        """``uow.activities`` has every method of `ActivityLedger`."""
        with storage.unit_of_work() as uow:
            assert isinstance(uow.activities, ActivityLedger), "uow.activities lacks methods"

    def test_activity_values_keep_their_precision_and_currency(self, storage: Storage) -> None:
        """Money (9 places, KWD 3, JPY 0, negative), Decimal and None values come back exactly."""
        values: list[Money | Decimal | None] = [
            Money("0.123456789", "USD"),
            Money("1.234", "KWD"),
            Money("1500", "JPY"),
            Money("-12.50", "EUR"),
            Money("999999999999999999.99", "USD"),
            Money("0.10", "EUR"),
            Decimal("0.000000001"),
            Decimal("-42.500"),
            Decimal(7),
            None,
        ]
        activities = [
            activity(f"act_{n}", kind=ActivityKind.REVENUE_BOOKED, value=value)
            for n, value in enumerate(values)
        ]
        commit(storage, *activities)
        for expected in activities:
            assert_same(committed(storage).activities.get(expected.id), expected, expected.id)

    def test_activity_attributes_and_expiry_round_trip(self, storage: Storage) -> None:
        """Attributes of every scalar type, an expiry date and an odd-offset time come back."""
        certified = activity(
            "act_cert",
            kind=ActivityKind.CERTIFICATION_EARNED,
            occurred_at=datetime(2026, 3, 1, 23, 59, 59, 999999, tzinfo=NEPAL),
            attributes={
                "person": "p_7",
                "certification": "cloud_architect",
                "seats": 2**53,
                "level": 0,
                "renewal": True,
                "trial": False,
                "note": None,
                "city": "Tōkyō 東京 Москва 🚀",
            },
            expires_on=date(2028, 2, 29),
        )
        empty = activity("act_plain", attributes={})
        with storage.unit_of_work() as uow:
            uow.activities.append([certified, empty])
            assert_same(uow.activities.get("act_cert"), certified, "activity (staged)")
            uow.commit()
        assert_same(committed(storage).activities.get("act_cert"), certified, "activity")
        assert_same(committed(storage).activities.get("act_plain"), empty, "activity")

    @PROPERTIES
    @given(batch=st.lists(pks.activities(), min_size=1, max_size=5))
    def test_any_activity_round_trips_through_append_and_get(
        self, storage: Storage, batch: list[Activity]
    ) -> None:
        """Any valid activities come back from ``append`` then ``get`` unchanged."""
        batch = [attrs.evolve(drawn, id=fresh(drawn.id)) for drawn in batch]
        commit(storage, *batch)
        for expected in batch:
            assert_same(committed(storage).activities.get(expected.id), expected, "activity")

    def test_get_of_a_missing_activity_raises_not_found(self, storage: Storage) -> None:
        """``get`` of an unknown id raises `NotFoundError`."""
        with storage.unit_of_work() as uow, pytest.raises(NotFoundError):
            uow.activities.get("act_missing")

    def test_append_is_idempotent_within_a_batch(self, storage: Storage) -> None:
        """An activity twice in one batch is added once and counted as a duplicate."""
        first, second = activity("act_1"), activity("act_2", occurred_at=at(1))
        with storage.unit_of_work() as uow:
            result = uow.activities.append([first, second, first])
            uow.commit()
        assert _counts(result) == (2, 1), "AppendResult (added, duplicates)"
        assert _listed(storage) == ["act_1", "act_2"], "activities stored"

    def test_append_is_idempotent_within_a_unit_of_work(self, storage: Storage) -> None:
        """Appending the same activities again before commit adds nothing."""
        batch = [activity("act_1"), activity("act_2", occurred_at=at(1))]
        with storage.unit_of_work() as uow:
            uow.activities.append(batch)
            result = uow.activities.append(batch)
            assert _counts(result) == (0, 2), "AppendResult (added, duplicates)"
            assert ids(uow.activities.for_partner("ptn_a")) == ["act_1", "act_2"], "in the unit"
            uow.commit()
        assert _listed(storage) == ["act_1", "act_2"], "activities stored"

    def test_append_is_idempotent_across_units_of_work(self, storage: Storage) -> None:
        """A retried import adds only what is new and counts the rest as duplicates."""
        batch = [activity(f"act_{n}", occurred_at=at(n)) for n in range(3)]
        commit(storage, *batch)
        with storage.unit_of_work() as uow:
            result = uow.activities.append([*batch, activity("act_3", occurred_at=at(3))])
            uow.commit()
        assert _counts(result) == (1, 3), "AppendResult (added, duplicates)"
        expected = ["act_0", "act_1", "act_2", "act_3"]
        assert _listed(storage) == expected, "activities stored"
        assert ids(committed(storage).activities.for_partner("ptn_a")) == expected, "for_partner()"

    def test_append_refuses_an_id_with_different_content_and_writes_nothing(
        self, storage: Storage
    ) -> None:
        """A stored id with other content raises `ConflictError`; none of the batch is kept."""
        original = activity("act_1", value=Decimal(1))
        commit(storage, original)
        with storage.unit_of_work() as uow:
            with pytest.raises(ConflictError):
                uow.activities.append(
                    [activity("act_new", occurred_at=at(1)), attrs.evolve(original, value=None)]
                )
            with pytest.raises(NotFoundError):
                uow.activities.get("act_new")
            uow.commit()
        assert missing(committed(storage).activities.get, "act_new"), "a refused one was stored"
        assert_same(committed(storage).activities.get("act_1"), original, "activity")

    def test_append_refuses_one_id_twice_in_a_batch_with_different_content(
        self, storage: Storage
    ) -> None:
        """One id twice in a batch with other content raises `ConflictError`; nothing is kept."""
        with storage.unit_of_work() as uow:
            with pytest.raises(ConflictError):
                uow.activities.append(
                    [
                        activity("act_0"),
                        activity("act_1", kind=ActivityKind.DEAL_WON),
                        activity("act_1", kind=ActivityKind.DEAL_REGISTERED),
                    ]
                )
            uow.commit()
        assert _listed(storage) == [], "activities stored"

    def test_for_partner_orders_by_time_then_id(self, storage: Storage) -> None:
        """``for_partner`` sorts by instant, then id, across committed and staged activities."""
        # (id, hours after T0, zone): ties at hour 2 sort by id; zones do not matter.
        plan = [
            ("act_c", 2, KIRIBATI),
            ("act_z", 0, UTC),
            ("act_a", 2, MARQUESAS),
            ("act_y", 5, NEPAL),
            ("act_b", 2, UTC),
            ("act_x", -3, ONE_MINUTE_WEST),
            ("act_m", 1.5, NEPAL),
        ]
        mine = [activity(aid, occurred_at=at(hours, tz)) for aid, hours, tz in plan]
        others = [activity(f"act_other_{n}", "ptn_b", occurred_at=at(n)) for n in range(3)]
        expected = ["act_x", "act_z", "act_m", "act_a", "act_b", "act_c", "act_y"]
        commit(storage, *mine[:4], *others)
        with storage.unit_of_work() as uow:
            uow.activities.append(mine[4:])
            seen = ids(uow.activities.for_partner("ptn_a"))
            # Spelled out, not left to pytest: the whole order is the point.
            assert seen == expected, (
                f"for_partner('ptn_a') with staged activities, by occurred_at then id: "
                f"expected {expected}, got {seen}"
            )
            uow.commit()
        seen = ids(committed(storage).activities.for_partner("ptn_a"))
        assert seen == expected, (
            f"for_partner('ptn_a') after commit, by occurred_at then id: "
            f"expected {expected}, got {seen}"
        )

    def test_for_partner_bounds_are_inclusive_instants(self, storage: Storage) -> None:
        """``since <= occurred_at <= until``, comparing instants whatever the offsets."""
        tick = timedelta(microseconds=1)
        since, until = at(10), at(20)
        times = [since - tick, since, at(15), until, until + tick]
        commit(storage, *(activity(f"act_{n}", occurred_at=when) for n, when in enumerate(times)))
        cases: list[tuple[dict[str, Any], list[str]]] = [
            (
                {"since": since.astimezone(NEPAL), "until": until.astimezone(MARQUESAS)},
                ["act_1", "act_2", "act_3"],
            ),
            ({"since": since.astimezone(KIRIBATI)}, ["act_1", "act_2", "act_3", "act_4"]),
            ({"until": until}, ["act_0", "act_1", "act_2", "act_3"]),
            ({"since": since, "until": since}, ["act_1"]),
        ]
        with storage.unit_of_work() as uow:
            for bounds, expected in cases:
                got = ids(uow.activities.for_partner("ptn_a", **bounds))
                assert got == expected, f"for_partner('ptn_a', {bounds})"

    def test_for_partner_filters_by_kind_and_partner(self, storage: Storage) -> None:
        """``for_partner`` returns only that partner's activities of the given kinds."""
        kinds = [ActivityKind.DEAL_WON, ActivityKind.PORTAL_LOGIN, "webinar_hosted"]
        commit(
            storage,
            *(
                activity(f"act_{n:02d}", "ptn_a" if n % 2 else "ptn_b", kind=kinds[n % 3])
                for n in range(12)
            ),
        )
        with storage.unit_of_work() as uow:
            ledger = uow.activities
            everything = ["act_01", "act_03", "act_05", "act_07", "act_09", "act_11"]
            assert ids(ledger.for_partner("ptn_a")) == everything, "all kinds"
            won = ids(ledger.for_partner("ptn_a", kinds=["deal_won"]))
            assert won == ["act_03", "act_09"], "kinds=['deal_won']"
            rest = ids(ledger.for_partner("ptn_a", kinds=iter(kinds[1:])))
            assert rest == ["act_01", "act_05", "act_07", "act_11"], "kinds from an iterator"
            assert ledger.for_partner("ptn_nobody") == [], "a partner without activities"

    def test_for_partners_gives_each_partner_what_for_partner_gives(self, storage: Storage) -> None:
        """``for_partners`` answers every partner asked, as ``for_partner`` would, staged too."""
        zones = [UTC, NEPAL, KIRIBATI, MARQUESAS]
        spread = [
            activity(
                f"act_{n:03d}",
                f"ptn_{n % 4}",
                kind=[ActivityKind.DEAL_WON, ActivityKind.PORTAL_LOGIN][n % 2],
                occurred_at=at(n % 7, zones[n % 4]),
            )
            for n in range(40)
        ]
        commit(storage, *spread[:30])
        asked = ["ptn_3", "ptn_0", "ptn_nobody", "ptn_1", "ptn_0"]
        windows: list[dict[str, Any]] = [
            {},
            {"since": at(2), "until": at(5, NEPAL)},
            {"kinds": ["deal_won"], "until": at(3)},
        ]
        with storage.unit_of_work() as uow:
            uow.activities.append(spread[30:])
            for window in windows:
                got = uow.activities.for_partners(asked, **window)
                assert list(got) == ["ptn_3", "ptn_0", "ptn_nobody", "ptn_1"], (
                    f"for_partners({asked}, {window}): every partner asked, once, in order"
                )
                for partner_id, found in got.items():
                    expected = ids(uow.activities.for_partner(partner_id, **window))
                    assert ids(found) == expected, f"for_partners: {partner_id}, {window}"
            assert uow.activities.for_partners(iter([])) == {}, "no partners asked"
            uow.commit()
        many = [f"ptn_{n}" for n in range(1200)]  # more than one query's worth
        got = committed(storage).activities.for_partners(many)
        assert len(got) == 1200, "for_partners of 1200 partners"
        assert ids(got["ptn_2"]) == ids(committed(storage).activities.for_partner("ptn_2"))

    def test_for_partners_refuses_one_string_for_many(self, storage: Storage) -> None:
        """A single id passed where several belong is refused, not read letter by letter."""
        with storage.unit_of_work() as uow, pytest.raises(ValidationError):
            uow.activities.for_partners("ptn_1")

    def test_activity_query_pages_through_every_activity_once_in_id_order(
        self, storage: Storage
    ) -> None:
        """Following ``next_cursor`` returns every activity once, ordered by id."""
        activity_ids = [f"act_{n:03d}" for n in range(37)]
        commit(storage, *(activity(aid, occurred_at=at(-n)) for n, aid in enumerate(activity_ids)))
        for limit in (1, 4, 37, 1000):
            walked = ids(paging.walk(committed(storage).activities.query, limit=limit))
            assert walked == activity_ids, f"limit={limit}"

    def test_activity_query_paging_is_stable_while_activities_are_added(
        self, storage: Storage
    ) -> None:
        """Activities appended between pages never make paging repeat or skip one."""
        activity_ids = [f"act_{n:03d}0" for n in range(30)]
        commit(storage, *(activity(aid) for aid in activity_ids))

        def insert(last: str, page: int) -> None:
            commit(
                storage,
                activity(f"{last}+"),  # just after the cursor: still to come
                activity(f"act_{page:03d}1"),  # before the cursor
                activity(f"act_9{page:03d}"),  # at the end
            )

        query = committed(storage).activities.query
        paging.assert_stable(
            query, lambda a: a.id, activity_ids, limit=4, insert=insert, what="activities"
        )

    def test_activity_query_filters_return_exactly_the_matching_activities(
        self, storage: Storage
    ) -> None:
        """partner_id, kinds, since and until, alone, combined and paged, match exactly."""
        partners = ["ptn_a", "ptn_b", "ptn_c"]
        kinds = [
            ActivityKind.REVENUE_BOOKED,
            ActivityKind.DEAL_WON,
            ActivityKind.PORTAL_LOGIN,
            "webinar_hosted",
        ]
        zones = [UTC, NEPAL, MARQUESAS, KIRIBATI, ONE_MINUTE_WEST]
        population = [
            activity(
                f"act_{n:03d}",
                partners[n % 3],
                kind=kinds[n % 4],
                occurred_at=at(n, zones[n % 5]),
                value=Money(n, "EUR") if n % 4 == 0 else None,
            )
            for n in range(48)
        ]
        commit(storage, *population)
        cases: list[dict[str, Any]] = [
            {},
            {"partner_id": "ptn_b"},
            {"kinds": ["deal_won"]},
            {"kinds": ("portal_login", "webinar_hosted")},
            {"kinds": {"revenue_booked"}},
            {"since": at(10, NEPAL)},
            {"until": at(20, MARQUESAS)},
            {"since": at(10, KIRIBATI), "until": at(20, ONE_MINUTE_WEST)},
            {"partner_id": "ptn_a", "kinds": ["revenue_booked", "deal_won"], "since": at(6)},
        ]
        matching_nothing: list[dict[str, Any]] = [
            {"partner_id": "ptn_nobody"},
            {"kinds": ["never_happens"]},
            {"since": at(47, NEPAL) + timedelta(microseconds=1)},
            {"partner_id": "ptn_b", "kinds": ["revenue_booked"], "until": at(3)},
        ]

        def expected(filters: dict[str, Any]) -> list[str]:
            kinds = filters.get("kinds")
            since, until = filters.get("since"), filters.get("until")
            return [
                item.id
                for item in population
                if filters.get("partner_id", item.partner_id) == item.partner_id
                and (kinds is None or item.kind in set(kinds))
                and (since is None or item.occurred_at >= since)
                and (until is None or item.occurred_at <= until)
            ]

        paging.assert_filters(
            committed(storage).activities.query,
            expected,
            cases,
            limits=(5, 10_000),
            matching_nothing=matching_nothing,
        )

    def test_activity_query_refuses_a_malformed_cursor(self, storage: Storage) -> None:
        """A cursor no query returned raises `ValidationError`."""
        commit(storage, activity("act_1"), activity("act_2"))
        with storage.unit_of_work() as uow:
            paging.assert_cursors_refused(uow.activities.query)

    def test_activity_query_refuses_a_limit_out_of_bounds(self, storage: Storage) -> None:
        """``limit`` outside 1..10000 raises `ValidationError`; both bounds are accepted."""
        commit(storage, activity("act_1"), activity("act_2"))
        with storage.unit_of_work() as uow:
            paging.assert_limits(uow.activities.query, most=10_000, stored=2)
