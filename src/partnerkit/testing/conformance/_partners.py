"""The contract of `partnerkit.storage.PartnerRepository`."""

# ruff: noqa: S101 - a test suite states its promises with assert

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs
import pytest
from hypothesis import given

from partnerkit.errors import ConflictError, NotFoundError, StaleVersionError, ValidationError
from partnerkit.partners import Contact, Partner, PartnerStatus, PartnerType
from partnerkit.storage._protocols import PartnerRepository
from partnerkit.testing import strategies as pks
from partnerkit.testing.conformance import _paging as paging
from partnerkit.testing.conformance._compare import assert_same
from partnerkit.testing.conformance._harness import PROPERTIES, fresh
from partnerkit.testing.conformance._records import full_partner, large_partner, partner, stored
from partnerkit.testing.conformance._store import commit, committed, ids, missing, save

if TYPE_CHECKING:
    from partnerkit.storage._protocols import Storage

__all__ = ["PartnerRepositoryContract"]


class PartnerRepositoryContract:
    """The promises of `partnerkit.storage.PartnerRepository`: partners kept whole.

    Every field comes back exactly (Decimal digits, value types, instants in odd
    offsets, unicode, hundreds of contacts); ``add`` refuses a taken id and
    ``update`` a stale version, writing nothing; ``query`` filters exactly and pages
    in id order, stable while others add partners.
    """

    def test_partners_implements_the_protocol(self, storage: Storage) -> None:
        """``uow.partners`` has every method of `PartnerRepository`."""
        with storage.unit_of_work() as uow:
            assert isinstance(uow.partners, PartnerRepository), "uow.partners lacks methods"

    def test_add_returns_the_partner_at_version_1(self, storage: Storage) -> None:
        """``add`` returns the partner as stored: the same fields, ``version`` 1."""
        new = partner("ptn_1")
        (added,) = commit(storage, new)
        assert_same(added, stored(new, 1), "added")

    def test_every_partner_field_round_trips_through_add_and_get(self, storage: Storage) -> None:
        """Every field comes back from ``get``, in the unit of work and after commit."""
        full = full_partner("ptn_full")
        with storage.unit_of_work() as uow:
            uow.partners.add(full)
            assert_same(uow.partners.get("ptn_full"), stored(full, 1), "partner (staged)")
            uow.commit()
        assert_same(committed(storage).partners.get("ptn_full"), stored(full, 1), "partner")

    def test_every_partner_field_round_trips_through_update_and_get(self, storage: Storage) -> None:
        """``update`` stores every field, and can empty every collection again."""
        commit(storage, partner("ptn_full"))
        full = stored(full_partner("ptn_full"), 1)
        (updated,) = commit(storage, full)
        assert_same(updated, stored(full, 2), "updated")
        assert_same(committed(storage).partners.get("ptn_full"), stored(full, 2), "partner")
        emptied = attrs.evolve(
            full,
            version=2,
            region="",
            domains=(),
            owner_id=None,
            parent_id=None,
            contacts=(),
            custom_fields={},
            joined_on=None,
            onboarding=(),
            history=(),
        )
        commit(storage, emptied)
        assert_same(committed(storage).partners.get("ptn_full"), stored(emptied, 3), "partner")

    @PROPERTIES
    @given(drawn=pks.partners())
    def test_any_partner_round_trips_through_add_and_get(
        self, storage: Storage, drawn: Partner
    ) -> None:
        """Any valid partner comes back from ``add`` then ``get`` unchanged."""
        new = attrs.evolve(drawn, id=fresh(drawn.id))
        commit(storage, new)
        assert_same(committed(storage).partners.get(new.id), stored(new, 1), "partner")

    @PROPERTIES
    @given(drawn=pks.partners())
    def test_any_partner_round_trips_through_update_and_get(
        self, storage: Storage, drawn: Partner
    ) -> None:
        """Any valid partner comes back from ``update`` then ``get`` unchanged."""
        partner_id = fresh(drawn.id)
        commit(storage, partner(partner_id))
        changed = attrs.evolve(drawn, id=partner_id, version=1)
        commit(storage, changed)
        assert_same(committed(storage).partners.get(partner_id), stored(changed, 2), "partner")

    def test_decimal_custom_fields_keep_their_precision(self, storage: Storage) -> None:
        """Decimals keep every digit and their exponent: no float, no rounding."""
        values = {
            "nine_places": Decimal("0.123456789"),
            "widest": Decimal("999999999999999999.999999999"),
            "trailing_zero": Decimal("1.50"),
            "three_places": Decimal("-42.500"),
            "whole": Decimal(100),
            "tiny": Decimal("-0.000000001"),
            "zero_cents": Decimal("0.00"),
        }
        new = partner("ptn_decimals", custom_fields=values)
        commit(storage, new)
        assert_same(committed(storage).partners.get("ptn_decimals"), stored(new, 1), "partner")

    def test_custom_field_values_keep_their_types(self, storage: Storage) -> None:
        """Text, int, bool, Decimal and date values come back as the same types."""
        values = {
            "text": "health & retail",
            "empty_text": "",
            "digits_text": "00042",
            "int": 250,
            "zero": 0,
            "one": 1,
            "negative": -(10**12),
            "yes": True,
            "no": False,
            "decimal": Decimal("12.5"),
            "decimal_whole": Decimal(5),
            "date": date(2026, 2, 28),
            "leap_day": date(2024, 2, 29),
        }
        new = partner("ptn_types", custom_fields=values)
        commit(storage, new)
        assert_same(committed(storage).partners.get("ptn_types"), stored(new, 1), "partner")

    def test_aware_datetimes_come_back_as_the_same_instants(self, storage: Storage) -> None:
        """Datetimes in odd offsets (+05:45, -09:30, +14:00, -00:01) keep their instant."""
        full = full_partner("ptn_times")
        commit(storage, full)
        got = committed(storage).partners.get("ptn_times")
        instants = {
            "created_at": (got.created_at, full.created_at),
            "updated_at": (got.updated_at, full.updated_at),
            "onboarding[0].completed_at": (
                got.onboarding[0].completed_at,
                full.onboarding[0].completed_at,
            ),
        }
        for index, change in enumerate(full.history):
            instants[f"history[{index}].at"] = (got.history[index].at, change.at)
        for path, (actual, expected) in instants.items():
            assert_same(actual, expected, f"partner.{path}")

    def test_unicode_text_round_trips(self, storage: Storage) -> None:
        """Nordic, CJK, Cyrillic and emoji text comes back character for character."""
        names = {
            "ptn_nordic": "Ærøskøbing Åland Öresund AB",
            "ptn_cjk": "東京パートナーズ株式会社",
            "ptn_cyrillic": "ООО «Партнёр Сибирь»",  # noqa: RUF001 - Cyrillic on purpose
            "ptn_emoji": "Rocket 🚀 Labs 👩🏽‍💻",
        }
        partners = [
            partner(
                partner_id,
                name=name,
                region="Amérique du Nord",
                contacts=(Contact(name, "kontakt@nørd.example", role="ведущий", primary=True),),
                custom_fields={"motto": f"{name} ✓"},
            )
            for partner_id, name in names.items()
        ]
        commit(storage, *partners)
        for new in partners:
            assert_same(committed(storage).partners.get(new.id), stored(new, 1), new.id)

    def test_empty_collections_round_trip(self, storage: Storage) -> None:
        """A partner without domains, contacts, fields, steps or history stays empty."""
        new = partner("ptn_empty")
        commit(storage, new)
        assert_same(committed(storage).partners.get("ptn_empty"), stored(new, 1), "partner")

    def test_large_collections_round_trip(self, storage: Storage) -> None:
        """Hundreds of contacts, custom fields, steps and history entries all come back."""
        new = large_partner("ptn_large")
        commit(storage, new)
        assert_same(committed(storage).partners.get("ptn_large"), stored(new, 1), "partner")

    def test_get_of_a_missing_partner_raises_not_found(self, storage: Storage) -> None:
        """``get`` of an unknown id raises `NotFoundError`."""
        with storage.unit_of_work() as uow, pytest.raises(NotFoundError):
            uow.partners.get("ptn_missing")

    def test_add_of_an_existing_id_raises_conflict(self, storage: Storage) -> None:
        """``add`` of an id that is stored raises `ConflictError` and keeps the stored one."""
        (original,) = commit(storage, partner("ptn_1"))
        with storage.unit_of_work() as uow:
            with pytest.raises(ConflictError):
                uow.partners.add(partner("ptn_1", name="Impostor"))
            uow.commit()
        assert_same(committed(storage).partners.get("ptn_1"), original, "partner")

    def test_add_of_an_id_added_in_the_same_unit_of_work_raises_conflict(
        self, storage: Storage
    ) -> None:
        """``add`` twice in one unit of work raises `ConflictError` the second time."""
        with storage.unit_of_work() as uow:
            uow.partners.add(partner("ptn_1"))
            with pytest.raises(ConflictError):
                uow.partners.add(partner("ptn_1", name="Impostor"))
            uow.commit()
        assert committed(storage).partners.get("ptn_1").name == "Partner ptn_1", "the kept name"

    def test_add_of_a_partner_with_a_version_raises_validation_error(
        self, storage: Storage
    ) -> None:
        """``add`` of a partner whose version is not 0 raises `ValidationError`."""
        with storage.unit_of_work() as uow:
            with pytest.raises(ValidationError):
                uow.partners.add(partner("ptn_1", version=3))
            uow.commit()
        assert missing(committed(storage).partners.get, "ptn_1"), "the refused partner was stored"

    def test_add_many_stores_every_partner_as_add_would(self, storage: Storage) -> None:
        """``add_many`` returns each partner at version 1, in order, and stores them all."""
        new = [partner(f"ptn_{n:04d}") for n in range(1203)]  # more than one query's worth
        with storage.unit_of_work() as uow:
            added = uow.partners.add_many(iter(new))
            assert [p.id for p in added] == [p.id for p in new], "add_many: in the order given"
            assert_same(added[7], stored(new[7], 1), "add_many: added[7]")
            assert_same(uow.partners.get("ptn_0007"), stored(new[7], 1), "ptn_0007 (staged)")
            uow.commit()
        assert_same(committed(storage).partners.get("ptn_1202"), stored(new[1202], 1), "ptn_1202")

    def test_add_many_refuses_a_taken_id_and_adds_none_of_the_batch(self, storage: Storage) -> None:
        """A stored, staged or repeated id refuses the whole batch, at ``add_many``."""
        (original,) = commit(storage, partner("ptn_taken"))
        batches = {
            "stored": [partner("ptn_a"), partner("ptn_taken", name="Impostor")],
            "staged": [partner("ptn_b"), partner("ptn_staged")],
            "repeated": [partner("ptn_c"), partner("ptn_c", name="Twin")],
        }
        with storage.unit_of_work() as uow:
            uow.partners.add(partner("ptn_staged"))
            for why, batch in batches.items():
                with pytest.raises(ConflictError):
                    uow.partners.add_many(batch)
                assert missing(uow.partners.get, batch[0].id), f"{why}: the batch was staged"
            with pytest.raises(ValidationError):
                uow.partners.add_many([partner("ptn_d"), partner("ptn_e", version=3)])
            uow.commit()
        assert_same(committed(storage).partners.get("ptn_taken"), original, "the stored partner")
        for partner_id in ("ptn_a", "ptn_b", "ptn_c", "ptn_d"):
            assert missing(committed(storage).partners.get, partner_id), f"{partner_id} stored"

    def test_update_returns_the_partner_one_version_higher(self, storage: Storage) -> None:
        """Each ``update`` returns version + 1, also several in one unit of work."""
        (added,) = commit(storage, partner("ptn_1"))
        with storage.unit_of_work() as uow:
            second = uow.partners.update(attrs.evolve(added, region="EMEA"))
            third = uow.partners.update(attrs.evolve(second, status=PartnerStatus.ONBOARDING))
            uow.commit()
        assert (second.version, third.version) == (2, 3), "versions returned by update()"
        assert_same(
            committed(storage).partners.get("ptn_1"),
            stored(partner("ptn_1", region="EMEA", status=PartnerStatus.ONBOARDING), 3),
            "partner",
        )

    def test_stale_update_raises_and_changes_nothing(self, storage: Storage) -> None:
        """An update based on an old version raises `StaleVersionError`; nothing changes."""
        commit(storage, full_partner("ptn_1"))
        with storage.unit_of_work() as first:
            seen = first.partners.get("ptn_1")
            with storage.unit_of_work() as second:
                save(second, attrs.evolve(second.partners.get("ptn_1"), name="Second writer"))
            before = committed(storage).partners.get("ptn_1")
            with pytest.raises(StaleVersionError) as raised:
                save(first, attrs.evolve(seen, name="Lost update", region="APAC", domains=()))
        assert (raised.value.key, raised.value.expected) == ("ptn_1", 1), "the error's data"
        assert_same(committed(storage).partners.get("ptn_1"), before, "partner")

    def test_update_with_a_version_never_stored_raises_stale(self, storage: Storage) -> None:
        """An update at a version the partner never had raises `StaleVersionError`."""
        (added,) = commit(storage, partner("ptn_1"))
        with storage.unit_of_work() as uow, pytest.raises(StaleVersionError):
            save(uow, attrs.evolve(added, name="From the future", version=7))
        assert_same(committed(storage).partners.get("ptn_1"), added, "partner")

    def test_update_of_a_missing_partner_raises_stale(self, storage: Storage) -> None:
        """``update`` of a partner that is not stored raises `StaleVersionError`."""
        with storage.unit_of_work() as uow, pytest.raises(StaleVersionError):
            save(uow, partner("ptn_gone", version=1))
        assert missing(committed(storage).partners.get, "ptn_gone"), "update() stored a partner"

    def test_partner_query_pages_through_every_partner_once_in_id_order(
        self, storage: Storage
    ) -> None:
        """Following ``next_cursor`` returns every partner once, ordered by id."""
        partner_ids = [f"ptn_{n:03d}" for n in range(23)]
        commit(storage, *(partner(partner_id) for partner_id in reversed(partner_ids)))
        for limit in (1, 5, 23, 100):
            walked = ids(paging.walk(committed(storage).partners.query, limit=limit))
            assert walked == partner_ids, f"limit={limit}"

    def test_partner_query_paging_is_stable_while_partners_are_added(
        self, storage: Storage
    ) -> None:
        """Partners added between pages never make paging repeat or skip a partner."""
        partner_ids = [f"ptn_{n:03d}0" for n in range(30)]
        commit(storage, *(partner(partner_id) for partner_id in partner_ids))

        def insert(last: str, page: int) -> None:
            # Ids unique by construction: "+" sorts before every digit, so "<last>+"
            # lands right after the cursor; the others are keyed by page number.
            commit(
                storage,
                partner(f"{last}+"),  # just after the cursor: still to come
                partner(f"ptn_{page:03d}1"),  # before the cursor: already passed
                partner(f"ptn_9{page:03d}"),  # at the end
            )

        # A fresh unit of work per page, as a web host pages.
        query = committed(storage).partners.query
        paging.assert_stable(
            query, lambda p: p.id, partner_ids, limit=4, insert=insert, what="partners"
        )

    def test_partner_query_filters_return_exactly_the_matching_partners(
        self, storage: Storage
    ) -> None:
        """Each filter, alone and combined, and with paging, matches exactly."""
        statuses = list(PartnerStatus)
        types = [PartnerType.RESELLER, PartnerType.REFERRAL, PartnerType.MSP, "regional_agent"]
        owners = [None, "usr_anna", "usr_bo"]
        parents = [None, "ptn_parent_1", "ptn_parent_2"]
        countries = ["FI", "SE", "JP", "US", "DE"]
        population = [
            partner("ptn_parent_1", type=PartnerType.DISTRIBUTOR, country="SE"),
            partner("ptn_parent_2", type=PartnerType.DISTRIBUTOR, country="DE"),
            *(
                partner(
                    f"ptn_{n:03d}",
                    status=statuses[n % len(statuses)],
                    type=types[n % len(types)],
                    owner_id=owners[n % len(owners)],
                    parent_id=parents[(n // 2) % len(parents)],
                    country=countries[n % len(countries)],
                )
                for n in range(60)
            ),
        ]
        commit(storage, *population)
        cases: list[dict[str, Any]] = [
            {},
            {"status": PartnerStatus.ACTIVE},
            {"status": PartnerStatus.TERMINATED},
            {"type": PartnerType.RESELLER},
            {"type": "regional_agent"},
            {"owner_id": "usr_anna"},
            {"parent_id": "ptn_parent_1"},
            {"country": "JP"},
            {"status": PartnerStatus.ACTIVE, "country": "US"},
            {"type": PartnerType.MSP, "owner_id": "usr_bo", "parent_id": "ptn_parent_1"},
            {
                "status": PartnerStatus.ACTIVE,
                "type": PartnerType.RESELLER,
                "owner_id": "usr_bo",
                "parent_id": "ptn_parent_1",
                "country": "FI",
            },
        ]
        matching_nothing: list[dict[str, Any]] = [
            {"country": "BR"},
            {"owner_id": "usr_nobody"},
            {"status": PartnerStatus.PROSPECT, "parent_id": "ptn_parent_1", "owner_id": "usr_bo"},
        ]
        in_order = sorted(population, key=lambda item: item.id)

        paging.assert_filters(
            committed(storage).partners.query,
            paging.by_fields(in_order),
            cases,
            limits=(3, 1000),
            matching_nothing=matching_nothing,
        )

    def test_partner_query_refuses_a_malformed_cursor(self, storage: Storage) -> None:
        """A cursor no query returned raises `ValidationError`."""
        commit(storage, partner("ptn_1"), partner("ptn_2"))
        with storage.unit_of_work() as uow:
            paging.assert_cursors_refused(uow.partners.query)

    def test_partner_query_refuses_a_limit_out_of_bounds(self, storage: Storage) -> None:
        """``limit`` outside 1..1000 raises `ValidationError`; both bounds are accepted."""
        commit(storage, partner("ptn_1"), partner("ptn_2"))
        with storage.unit_of_work() as uow:
            paging.assert_limits(uow.partners.query, most=1000, stored=2)

    def test_partner_query_by_name_matches_the_normalised_name_anywhere(
        self, storage: Storage
    ) -> None:
        """``name`` finds the normalised query anywhere in the normalised name, with paging.

        Case, punctuation and legal forms do not count (the deal desk's
        normalisation), the match may start mid-name, and it combines with the
        other filters.
        """
        names = {
            "ptn_a": "Nordic Cloud Oy",
            "ptn_b": "NORDIC CLOUD GmbH",
            "ptn_c": "Helsinki Nordic-Cloud Ab",
            "ptn_d": "Cloud Nordic AB",
            "ptn_e": "The Nordic Cloudworks Ltd",
            "ptn_f": "Nordiccloud",
            "ptn_g": "Baltic Data SIA",
        }
        population = [
            partner(partner_id, name=name, country="SE" if partner_id in "ptn_b ptn_e" else "FI")
            for partner_id, name in names.items()
        ]
        commit(storage, *reversed(population))
        cases: list[dict[str, Any]] = [
            {"name": "nordic cloud"},
            {"name": "NORDIC-CLOUD Oy"},
            {"name": "cloud"},
            {"name": "Data"},
            {"name": "nordic cloud", "country": "SE"},
            {"name": "cloud", "country": "FI", "status": PartnerStatus.PROSPECT},
        ]
        matching_nothing: list[dict[str, Any]] = [
            {"name": "cloud nordic data"},
            {"name": "baltic", "country": "SE"},
            {"name": "nordic cloud", "status": PartnerStatus.ACTIVE},
        ]
        wanted = {
            "nordic cloud": ["ptn_a", "ptn_b", "ptn_c", "ptn_e"],
            "NORDIC-CLOUD Oy": ["ptn_a", "ptn_b", "ptn_c", "ptn_e"],
            "cloud": ["ptn_a", "ptn_b", "ptn_c", "ptn_d", "ptn_e", "ptn_f"],
            "Data": ["ptn_g"],
            "cloud nordic data": [],
            "baltic": ["ptn_g"],
        }
        by_id = {item.id: item for item in population}

        def expected(filters: dict[str, Any]) -> list[str]:
            return [
                partner_id
                for partner_id in wanted[filters["name"]]
                if paging.has_fields(by_id[partner_id], filters, besides={"name"})
            ]

        paging.assert_filters(
            committed(storage).partners.query,
            expected,
            cases,
            limits=(1, 2, 1000),
            matching_nothing=matching_nothing,
        )
        with storage.unit_of_work() as uow:
            for nothing in ("", "  ", "--", "&"):
                with pytest.raises(ValidationError):
                    uow.partners.query(name=nothing)
