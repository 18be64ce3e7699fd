"""The storage conformance suite: every promise of the storage protocols, as tests.

Subclass `StorageContract` (or one contract per protocol) in a test module, under a
name that starts with ``Test``, and give it one fixture, ``storage``, that builds a
fresh, empty store for each test and closes it afterwards::

    import pytest
    from partnerkit.testing.conformance import StorageContract

    class TestMyStorage(StorageContract):
        @pytest.fixture
        def storage(self, tmp_path):
            store = MyStorage(tmp_path / "db")
            yield store
            store.close()

How collection works: the contract classes are named without pytest's ``Test``
prefix, so importing them into a test module collects nothing; a subclass named
``Test...`` is collected with every inherited test. The ``storage`` fixture may also
come from a ``conftest.py``; a subclass fixture wins over it.

What the suite assumes of an adapter beyond the protocols' docstrings:

- Each test gets a store of its own, empty when the test starts.
- A store is used from several threads at once (one unit of work per thread).
- Units of work interleave in one thread: a second unit of work may read and commit
  while a first one holds uncommitted writes, and the first one's commit then fails
  with `StaleVersionError` or `ConflictError`. The protocol promises that ``commit``
  detects a partner changed since it was read, so writes must not take locks that
  block other writers until commit.
- Round-trips are exact: a ``Decimal`` keeps its digits and exponent
  (``Decimal("1.50")`` does not come back as ``Decimal("1.5")``), ``bool`` stays
  ``bool`` and ``int`` stays ``int``, a ``date`` stays a ``date``, and an aware
  datetime comes back aware and equal as an instant (its offset may change).

Property tests run 25 hypothesis examples each with no deadline, so a
slow database or a loaded machine never turns into a failure. Requires the
``testing`` extra (``pip install "partnerkit[testing]"``).
"""

# ruff: noqa: S101 - a test suite states its promises with assert

from __future__ import annotations

import itertools
import threading
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final, TypeVar, cast

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from partnerkit._base.events import Event
from partnerkit._base.money import Money
from partnerkit.deals._conflicts import customer_keys
from partnerkit.deals._model import ACTIVE_STATUSES, Customer, DealRegistration, DealStatus
from partnerkit.deals._workflow import (
    approve,
    approve_extension,
    expire,
    lose,
    reject,
    request_extension,
    submit,
    win,
    withdraw,
)
from partnerkit.errors import ConflictError, NotFoundError, StaleVersionError, ValidationError
from partnerkit.health import HealthScore, Override, ScoringModel, model_from_dict, score
from partnerkit.ledger import Activity, ActivityKind
from partnerkit.metrics import MetricSnapshot, MetricValue
from partnerkit.partners import (
    Contact,
    OnboardingStep,
    Partner,
    PartnerAction,
    PartnerStatus,
    PartnerType,
    StatusChange,
    StepOwner,
)
from partnerkit.storage._protocols import (
    ActivityLedger,
    DealRepository,
    MembershipRepository,
    PartnerRepository,
    ProgramRepository,
    ScoreRepository,
    Storage,
    StoredProgram,
    TierHistoryRepository,
    UnitOfWork,
)
from partnerkit.testing import _deals as deals_strategies
from partnerkit.testing import _tiers as tiers_strategies
from partnerkit.testing import strategies as pks
from partnerkit.tiers import (
    Comparison,
    DowngradeProposal,
    Membership,
    MembershipStatus,
    Pin,
    Program,
    Requirement,
    ReviewRun,
    Tier,
    TierAssignment,
    TierChangeCause,
    review,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from partnerkit.storage._protocols import Page

__all__ = [
    "ActivityLedgerContract",
    "DealRepositoryContract",
    "MembershipRepositoryContract",
    "PartnerRepositoryContract",
    "ProgramRepositoryContract",
    "ScoreRepositoryContract",
    "StorageContract",
    "TierHistoryContract",
    "UnitOfWorkContract",
]

T = TypeVar("T")

# Hypothesis runs every example of a test against the one store the function-scoped
# ``storage`` fixture built for it. That is safe because each example gives its
# records fresh ids (`_fresh`) and checks only those records, so whatever earlier
# examples left behind cannot match; asking hosts for a store factory instead would
# cost them a second fixture. The inherited tests run once per host subclass, which
# is what ``differing_executors`` warns about: here it is the point of the suite.
_PROPERTIES: Final = settings(
    max_examples=25,
    deadline=None,  # a real database on a loaded CI machine is slow, not wrong
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.differing_executors,
        HealthCheck.too_slow,
    ],
)

_T0: Final = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
_NEPAL: Final = timezone(timedelta(hours=5, minutes=45))
_MARQUESAS: Final = timezone(-timedelta(hours=9, minutes=30))
_KIRIBATI: Final = timezone(timedelta(hours=14))
_ONE_MINUTE_WEST: Final = timezone(-timedelta(minutes=1))
# Hang guard for the threaded test only; nothing is asserted about time.
_THREAD_TIMEOUT: Final = 120.0

_serial = itertools.count(1)


def _fresh(base: str) -> str:
    """``base`` made unique in this process (``~`` appears in no strategy's ids)."""
    return f"{base}~{next(_serial)}"


def _at(hours: float, tz: timezone = UTC) -> datetime:
    """``_T0`` plus ``hours``, expressed in ``tz`` (the same instant in any zone)."""
    return (_T0 + timedelta(hours=hours)).astimezone(tz)


def _partner(partner_id: str, **fields: Any) -> Partner:
    values: dict[str, Any] = {
        "name": f"Partner {partner_id}",
        "type": PartnerType.RESELLER,
        "country": "FI",
        "created_at": _T0,
    }
    values.update(fields)
    return Partner(id=partner_id, **values)


def _activity(activity_id: str, partner_id: str = "ptn_a", **fields: Any) -> Activity:
    values: dict[str, Any] = {"kind": ActivityKind.PORTAL_LOGIN, "occurred_at": _T0}
    values.update(fields)
    return Activity(id=activity_id, partner_id=partner_id, **values)


def _event(kind: str, subject_id: str = "ptn_a", **data: str | int | bool | None) -> Event:
    return Event(kind=kind, subject_id=subject_id, occurred_at=_T0, actor="usr_test", data=data)


def _full_partner(partner_id: str) -> Partner:
    """A partner with every field set, in the forms adapters most often get wrong."""
    return Partner(
        id=partner_id,
        name="Nordlys Data Oy",
        type=PartnerType.SYSTEM_INTEGRATOR,
        country="FI",
        created_at=datetime(2025, 12, 31, 23, 59, 59, 999999, tzinfo=_NEPAL),
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
                completed_at=datetime(2025, 2, 3, 8, 15, 1, 123456, tzinfo=_MARQUESAS),
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
                datetime(2025, 1, 31, 23, 30, tzinfo=_KIRIBATI),
            ),
            StatusChange(
                PartnerAction.ACTIVATE,
                PartnerStatus.ONBOARDING,
                PartnerStatus.ACTIVE,
                "usr_maria",
                datetime(2025, 3, 1, 0, 0, tzinfo=_ONE_MINUTE_WEST),
                reason="all required steps done",
            ),
        ),
        updated_at=datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=_MARQUESAS),
    )


def _assert_same(actual: object, expected: object, path: str) -> None:
    """Fail, naming the field path, unless ``actual`` is ``expected`` after a round-trip.

    Stricter than ``==``: ``Decimal("1.5") == Decimal("1.50")``, ``True == 1`` and
    ``date(2026, 1, 1) == datetime(2026, 1, 1)`` would all hide a lossy adapter.
    Enum members and their string values count as the same (``PartnerType.MSP`` and
    ``"msp"``), and aware datetimes as the same when they are the same instant.
    """
    if expected is None or isinstance(expected, bool):
        _expect(actual is expected, f"{path}: expected {expected!r}, got {actual!r}")
    elif isinstance(expected, int):
        _expect(
            type(actual) is int and actual == expected,
            f"{path}: expected the int {expected!r}, got {actual!r} ({type(actual).__name__})",
        )
    elif isinstance(expected, Decimal):
        _expect(
            isinstance(actual, Decimal) and actual.as_tuple() == expected.as_tuple(),
            f"{path}: expected {expected!r} exactly (digits and exponent), got {actual!r}",
        )
    elif isinstance(expected, datetime):
        _expect(isinstance(actual, datetime), f"{path}: expected a datetime, got {actual!r}")
        _expect(getattr(actual, "tzinfo", None) is not None, f"{path}: {actual!r} came back naive")
        _expect(actual == expected, f"{path}: expected the instant {expected!r}, got {actual!r}")
    elif isinstance(expected, date):
        _expect(
            type(actual) is date and actual == expected,
            f"{path}: expected the date {expected!r}, got {actual!r}",
        )
    elif isinstance(expected, str):
        _expect(
            isinstance(actual, str) and actual == expected,
            f"{path}: expected {expected!r}, got {actual!r}",
        )
    elif attrs.has(type(expected)):
        _expect(
            type(actual) is type(expected),
            f"{path}: expected a {type(expected).__name__}, got {actual!r}",
        )
        for field in attrs.fields(cast("type[attrs.AttrsInstance]", type(expected))):
            if not field.eq:
                continue  # a cache (a program's compiled engine), not data
            _assert_same(
                getattr(actual, field.name), getattr(expected, field.name), f"{path}.{field.name}"
            )
    elif isinstance(expected, dict):
        _expect(isinstance(actual, dict), f"{path}: expected a dict, got {actual!r}")
        assert isinstance(actual, dict)  # for the type checker; _expect has checked it
        missing = sorted(map(repr, expected.keys() - actual.keys()))
        extra = sorted(map(repr, actual.keys() - expected.keys()))
        _expect(not missing and not extra, f"{path}: keys missing {missing}, unexpected {extra}")
        for key, value in expected.items():
            _assert_same(actual[key], value, f"{path}[{key!r}]")
    elif isinstance(expected, (tuple, list)):
        _expect(
            isinstance(actual, type(expected)),
            f"{path}: expected a {type(expected).__name__}, got {actual!r}",
        )
        assert isinstance(actual, (tuple, list))  # for the type checker
        _expect(
            len(actual) == len(expected),
            f"{path}: expected {len(expected)} items, got {len(actual)}",
        )
        for index, (got, want) in enumerate(zip(actual, expected, strict=True)):
            _assert_same(got, want, f"{path}[{index}]")
    else:
        _expect(
            type(actual) is type(expected) and actual == expected,
            f"{path}: expected {expected!r}, got {actual!r}",
        )


def _equal(actual: object, expected: object, what: str) -> None:
    _expect(actual == expected, f"{what}: expected {expected!r}, got {actual!r}")


def _expect(condition: bool, message: str) -> None:
    # One place that fails with a message: pytest does not rewrite the asserts of an
    # installed module, so a bare compound assert would fail without saying why.
    if not condition:
        raise AssertionError(message)


def _stored(partner: Partner, version: int) -> Partner:
    return attrs.evolve(partner, version=version)


def _add(storage: Storage, *partners: Partner) -> list[Partner]:
    with storage.unit_of_work() as uow:
        added = [uow.partners.add(partner) for partner in partners]
        uow.commit()
    return added


def _append(storage: Storage, activities: Iterable[Activity]) -> None:
    with storage.unit_of_work() as uow:
        uow.activities.append(activities)
        uow.commit()


def _read_partner(storage: Storage, partner_id: str) -> Partner:
    with storage.unit_of_work() as uow:
        return uow.partners.get(partner_id)


def _read_activity(storage: Storage, activity_id: str) -> Activity:
    with storage.unit_of_work() as uow:
        return uow.activities.get(activity_id)


def _partner_exists(storage: Storage, partner_id: str) -> bool:
    try:
        _read_partner(storage, partner_id)
    except NotFoundError:
        return False
    return True


def _activity_exists(storage: Storage, activity_id: str) -> bool:
    try:
        _read_activity(storage, activity_id)
    except NotFoundError:
        return False
    return True


def _save(uow: UnitOfWork, partner: Partner) -> None:
    # One call, so a test can expect a refusal from either step: an adapter may
    # detect a stale version at update() or only at commit().
    uow.partners.update(partner)
    uow.commit()


def _walk(
    fetch: Callable[[str | None], Page[T]],
    *,
    limit: int,
    between: Callable[[int], None] | None = None,
) -> list[T]:
    """Every item of a paged query, following cursors until ``next_cursor`` is None.

    ``between`` (if given) is called with the page number after each page but the last.
    """
    items: list[T] = []
    cursor: str | None = None
    for number in range(10_000):
        page = fetch(cursor)
        assert len(page.items) <= limit, f"a page holds {len(page.items)} items; limit {limit}"
        items.extend(page.items)
        if page.next_cursor is None:
            return items
        if between is not None:
            between(number)
        cursor = page.next_cursor
    raise AssertionError("paging never ended: next_cursor was never None")


def _walk_partners(storage: Storage, *, limit: int, **filters: Any) -> list[Partner]:
    with storage.unit_of_work() as uow:
        return _walk(
            lambda cursor: uow.partners.query(limit=limit, cursor=cursor, **filters), limit=limit
        )


def _walk_activities(storage: Storage, *, limit: int, **filters: Any) -> list[Activity]:
    with storage.unit_of_work() as uow:
        return _walk(
            lambda cursor: uow.activities.query(limit=limit, cursor=cursor, **filters),
            limit=limit,
        )


def _ids(records: Iterable[Any]) -> list[str]:
    return [record.id for record in records]


def _pending_kinds(storage: Storage) -> list[str]:
    return [record.event.kind for record in storage.pending_events(limit=1000)]


class _DeliberateError(Exception):
    """What the rollback tests raise inside a unit of work."""


class PartnerRepositoryContract:
    """The promises of `partnerkit.storage.PartnerRepository`.

    Subclass it under a ``Test...`` name with a ``storage`` fixture; see the module
    docstring.
    """

    def test_partners_implements_the_protocol(self, storage: Storage) -> None:
        """``uow.partners`` has every method of `PartnerRepository`."""
        with storage.unit_of_work() as uow:
            _expect(
                isinstance(uow.partners, PartnerRepository),
                "uow.partners lacks methods of PartnerRepository",
            )

    def test_add_returns_the_partner_at_version_1(self, storage: Storage) -> None:
        """``add`` returns the partner as stored: the same fields, ``version`` 1."""
        partner = _partner("ptn_1")
        with storage.unit_of_work() as uow:
            added = uow.partners.add(partner)
            uow.commit()
        _assert_same(added, _stored(partner, 1), "added")

    def test_every_partner_field_round_trips_through_add_and_get(self, storage: Storage) -> None:
        """Every field comes back from ``get``, in the unit of work and after commit."""
        partner = _full_partner("ptn_full")
        with storage.unit_of_work() as uow:
            uow.partners.add(partner)
            _assert_same(uow.partners.get("ptn_full"), _stored(partner, 1), "partner (staged)")
            uow.commit()
        _assert_same(_read_partner(storage, "ptn_full"), _stored(partner, 1), "partner")

    def test_every_partner_field_round_trips_through_update_and_get(self, storage: Storage) -> None:
        """``update`` stores every field, and can empty every collection again."""
        _add(storage, _partner("ptn_full"))
        full = _stored(_full_partner("ptn_full"), 1)
        with storage.unit_of_work() as uow:
            _assert_same(uow.partners.update(full), _stored(full, 2), "updated")
            uow.commit()
        _assert_same(_read_partner(storage, "ptn_full"), _stored(full, 2), "partner")
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
        with storage.unit_of_work() as uow:
            uow.partners.update(emptied)
            uow.commit()
        _assert_same(_read_partner(storage, "ptn_full"), _stored(emptied, 3), "partner")

    @_PROPERTIES
    @given(partner=pks.partners())
    def test_any_partner_round_trips_through_add_and_get(
        self, storage: Storage, partner: Partner
    ) -> None:
        """Any valid partner comes back from ``add`` then ``get`` unchanged."""
        partner = attrs.evolve(partner, id=_fresh(partner.id))
        _add(storage, partner)
        _assert_same(_read_partner(storage, partner.id), _stored(partner, 1), "partner")

    @_PROPERTIES
    @given(partner=pks.partners())
    def test_any_partner_round_trips_through_update_and_get(
        self, storage: Storage, partner: Partner
    ) -> None:
        """Any valid partner comes back from ``update`` then ``get`` unchanged."""
        partner_id = _fresh(partner.id)
        _add(storage, _partner(partner_id))
        changed = attrs.evolve(partner, id=partner_id, version=1)
        with storage.unit_of_work() as uow:
            uow.partners.update(changed)
            uow.commit()
        _assert_same(_read_partner(storage, partner_id), _stored(changed, 2), "partner")

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
        partner = _partner("ptn_decimals", custom_fields=values)
        _add(storage, partner)
        _assert_same(_read_partner(storage, "ptn_decimals"), _stored(partner, 1), "partner")

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
        partner = _partner("ptn_types", custom_fields=values)
        _add(storage, partner)
        _assert_same(_read_partner(storage, "ptn_types"), _stored(partner, 1), "partner")

    def test_aware_datetimes_come_back_as_the_same_instants(self, storage: Storage) -> None:
        """Datetimes in odd offsets (+05:45, -09:30, +14:00, -00:01) keep their instant."""
        partner = _full_partner("ptn_times")
        _add(storage, partner)
        got = _read_partner(storage, "ptn_times")
        _assert_same(got.created_at, partner.created_at, "partner.created_at")
        _assert_same(got.updated_at, partner.updated_at, "partner.updated_at")
        _assert_same(
            got.onboarding[0].completed_at,
            partner.onboarding[0].completed_at,
            "partner.onboarding[0].completed_at",
        )
        for index, change in enumerate(partner.history):
            _assert_same(got.history[index].at, change.at, f"partner.history[{index}].at")

    def test_unicode_text_round_trips(self, storage: Storage) -> None:
        """Nordic, CJK, Cyrillic and emoji text comes back character for character."""
        names = {
            "ptn_nordic": "Ærøskøbing Åland Öresund AB",
            "ptn_cjk": "東京パートナーズ株式会社",
            "ptn_cyrillic": "ООО «Партнёр Сибирь»",  # noqa: RUF001 - Cyrillic on purpose
            "ptn_emoji": "Rocket 🚀 Labs 👩🏽‍💻",
        }
        partners = [
            _partner(
                partner_id,
                name=name,
                region="Amérique du Nord",
                contacts=(Contact(name, "kontakt@nørd.example", role="ведущий", primary=True),),
                custom_fields={"motto": f"{name} ✓"},
            )
            for partner_id, name in names.items()
        ]
        _add(storage, *partners)
        for partner in partners:
            _assert_same(_read_partner(storage, partner.id), _stored(partner, 1), partner.id)

    def test_empty_collections_round_trip(self, storage: Storage) -> None:
        """A partner without domains, contacts, fields, steps or history stays empty."""
        partner = _partner("ptn_empty")
        _add(storage, partner)
        _assert_same(_read_partner(storage, "ptn_empty"), _stored(partner, 1), "partner")

    def test_large_collections_round_trip(self, storage: Storage) -> None:
        """Hundreds of contacts, custom fields, steps and history entries all come back."""
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
                _at(n),
                reason=f"review {n}",
            )
            for n in range(100)
        )
        partner = _partner(
            "ptn_large",
            domains=tuple(f"site{n}.example.com" for n in range(50)),
            contacts=contacts,
            custom_fields={f"field_{n:03d}": Decimal(n) / 8 for n in range(300)},
            onboarding=steps,
            history=history,
        )
        _add(storage, partner)
        _assert_same(_read_partner(storage, "ptn_large"), _stored(partner, 1), "partner")

    def test_get_of_a_missing_partner_raises_not_found(self, storage: Storage) -> None:
        """``get`` of an unknown id raises `NotFoundError`."""
        with storage.unit_of_work() as uow, pytest.raises(NotFoundError):
            uow.partners.get("ptn_missing")

    def test_add_of_an_existing_id_raises_conflict(self, storage: Storage) -> None:
        """``add`` of an id that is stored raises `ConflictError` and keeps the stored one."""
        original = _add(storage, _partner("ptn_1"))[0]
        with storage.unit_of_work() as uow:
            with pytest.raises(ConflictError):
                uow.partners.add(_partner("ptn_1", name="Impostor"))
            uow.commit()
        _assert_same(_read_partner(storage, "ptn_1"), original, "partner")

    def test_add_of_an_id_added_in_the_same_unit_of_work_raises_conflict(
        self, storage: Storage
    ) -> None:
        """``add`` twice in one unit of work raises `ConflictError` the second time."""
        with storage.unit_of_work() as uow:
            uow.partners.add(_partner("ptn_1"))
            with pytest.raises(ConflictError):
                uow.partners.add(_partner("ptn_1", name="Impostor"))
            uow.commit()
        _equal(
            _read_partner(storage, "ptn_1").name,
            "Partner ptn_1",
            "_read_partner(storage, 'ptn_1').name",
        )

    def test_add_of_a_partner_with_a_version_raises_validation_error(
        self, storage: Storage
    ) -> None:
        """``add`` of a partner whose version is not 0 raises `ValidationError`."""
        with storage.unit_of_work() as uow:
            with pytest.raises(ValidationError):
                uow.partners.add(_partner("ptn_1", version=3))
            uow.commit()
        _expect(not _partner_exists(storage, "ptn_1"), "the refused partner was stored")

    def test_update_returns_the_partner_one_version_higher(self, storage: Storage) -> None:
        """Each ``update`` returns version + 1, also several in one unit of work."""
        added = _add(storage, _partner("ptn_1"))[0]
        with storage.unit_of_work() as uow:
            second = uow.partners.update(attrs.evolve(added, region="EMEA"))
            third = uow.partners.update(attrs.evolve(second, status=PartnerStatus.ONBOARDING))
            uow.commit()
        _equal((second.version, third.version), (2, 3), "versions returned by update()")
        _assert_same(
            _read_partner(storage, "ptn_1"),
            _stored(_partner("ptn_1", region="EMEA", status=PartnerStatus.ONBOARDING), 3),
            "partner",
        )

    def test_stale_update_raises_and_changes_nothing(self, storage: Storage) -> None:
        """An update based on an old version raises `StaleVersionError`; nothing changes."""
        _add(storage, _full_partner("ptn_1"))
        with storage.unit_of_work() as first:
            seen = first.partners.get("ptn_1")
            with storage.unit_of_work() as second:
                _save(second, attrs.evolve(second.partners.get("ptn_1"), name="Second writer"))
            before = _read_partner(storage, "ptn_1")
            with pytest.raises(StaleVersionError) as raised:
                _save(first, attrs.evolve(seen, name="Lost update", region="APAC", domains=()))
        _equal(
            (raised.value.key, raised.value.expected),
            ("ptn_1", 1),
            "(raised.value.key, raised.value.expected)",
        )
        _assert_same(_read_partner(storage, "ptn_1"), before, "partner")

    def test_update_with_a_version_never_stored_raises_stale(self, storage: Storage) -> None:
        """An update at a version the partner never had raises `StaleVersionError`."""
        added = _add(storage, _partner("ptn_1"))[0]
        with storage.unit_of_work() as uow, pytest.raises(StaleVersionError):
            _save(uow, attrs.evolve(added, name="From the future", version=7))
        _assert_same(_read_partner(storage, "ptn_1"), added, "partner")

    def test_update_of_a_missing_partner_raises_stale(self, storage: Storage) -> None:
        """``update`` of a partner that is not stored raises `StaleVersionError`."""
        with storage.unit_of_work() as uow, pytest.raises(StaleVersionError):
            _save(uow, _partner("ptn_gone", version=1))
        _expect(
            not _partner_exists(storage, "ptn_gone"),
            "update() stored a partner that did not exist",
        )

    def test_partner_query_pages_through_every_partner_once_in_id_order(
        self, storage: Storage
    ) -> None:
        """Following ``next_cursor`` returns every partner once, ordered by id."""
        ids = [f"ptn_{n:03d}" for n in range(23)]
        _add(storage, *(_partner(partner_id) for partner_id in reversed(ids)))
        for limit in (1, 5, 23, 100):
            assert _ids(_walk_partners(storage, limit=limit)) == ids, f"limit={limit}"

    def test_partner_query_paging_is_stable_while_partners_are_added(
        self, storage: Storage
    ) -> None:
        """Partners added between pages never make paging repeat or skip a partner."""
        ids = [f"ptn_{n:03d}0" for n in range(30)]
        _add(storage, *(_partner(partner_id) for partner_id in ids))
        seen: list[str] = []

        def fetch(cursor: str | None) -> Page[Partner]:
            with storage.unit_of_work() as uow:  # a fresh one per page, as a web host pages
                page = uow.partners.query(limit=4, cursor=cursor)
            seen.extend(_ids(page.items))
            return page

        def insert(page_number: int) -> None:
            # Ids unique by construction: "+" sorts before every digit, so "<last>+"
            # lands right after the cursor; the others are keyed by page number.
            _add(
                storage,
                _partner(f"{seen[-1]}+"),  # just after the cursor: still to come
                _partner(f"ptn_{page_number:03d}1"),  # before the cursor: already passed
                _partner(f"ptn_9{page_number:03d}"),  # at the end
            )

        walked = _ids(_walk(fetch, limit=4, between=insert))
        assert len(walked) == len(set(walked)), f"partners returned twice: {walked}"
        assert walked == sorted(walked), f"not in id order: {walked}"
        missing = sorted(set(ids) - set(walked))
        assert not missing, f"partners that existed when paging began were skipped: {missing}"

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
            _partner("ptn_parent_1", type=PartnerType.DISTRIBUTOR, country="SE"),
            _partner("ptn_parent_2", type=PartnerType.DISTRIBUTOR, country="DE"),
            *(
                _partner(
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
        _add(storage, *population)
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
        in_order = sorted(population, key=lambda partner: partner.id)
        for filters in cases + matching_nothing:
            expected = [
                partner.id
                for partner in in_order
                if all(getattr(partner, name) == value for name, value in filters.items())
            ]
            assert bool(expected) == (filters in cases), f"the suite's data for {filters}"
            for limit in (3, 1000):
                got = _ids(_walk_partners(storage, limit=limit, **filters))
                assert got == expected, f"query({filters}, limit={limit})"

    def test_partner_query_refuses_a_malformed_cursor(self, storage: Storage) -> None:
        """A cursor no query returned raises `ValidationError`."""
        _add(storage, _partner("ptn_1"), _partner("ptn_2"))
        with storage.unit_of_work() as uow:
            for cursor in ("not a cursor", "\x00", "ptn 1\n"):
                with pytest.raises(ValidationError):
                    uow.partners.query(limit=1, cursor=cursor)

    def test_partner_query_refuses_a_limit_out_of_bounds(self, storage: Storage) -> None:
        """``limit`` outside 1..1000 raises `ValidationError`; both bounds are accepted."""
        _add(storage, _partner("ptn_1"), _partner("ptn_2"))
        with storage.unit_of_work() as uow:
            for limit in (0, -1, 1001):
                with pytest.raises(ValidationError):
                    uow.partners.query(limit=limit)
            _equal(
                len(uow.partners.query(limit=1).items), 1, "len(uow.partners.query(limit=1).items)"
            )
            _equal(
                len(uow.partners.query(limit=1000).items),
                2,
                "len(uow.partners.query(limit=1000).items)",
            )


class ActivityLedgerContract:
    """The promises of `partnerkit.storage.ActivityLedger`.

    Subclass it under a ``Test...`` name with a ``storage`` fixture; see the module
    docstring.
    """

    def test_activities_implements_the_protocol(self, storage: Storage) -> None:
        """``uow.activities`` has every method of `ActivityLedger`."""
        with storage.unit_of_work() as uow:
            _expect(
                isinstance(uow.activities, ActivityLedger),
                "uow.activities lacks methods of ActivityLedger",
            )

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
            _activity(f"act_{n}", kind=ActivityKind.REVENUE_BOOKED, value=value)
            for n, value in enumerate(values)
        ]
        _append(storage, activities)
        for activity in activities:
            _assert_same(_read_activity(storage, activity.id), activity, activity.id)

    def test_activity_attributes_and_expiry_round_trip(self, storage: Storage) -> None:
        """Attributes of every scalar type, an expiry date and an odd-offset time come back."""
        activity = _activity(
            "act_cert",
            kind=ActivityKind.CERTIFICATION_EARNED,
            occurred_at=datetime(2026, 3, 1, 23, 59, 59, 999999, tzinfo=_NEPAL),
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
        empty = _activity("act_plain", attributes={})
        with storage.unit_of_work() as uow:
            uow.activities.append([activity, empty])
            _assert_same(uow.activities.get("act_cert"), activity, "activity (staged)")
            uow.commit()
        _assert_same(_read_activity(storage, "act_cert"), activity, "activity")
        _assert_same(_read_activity(storage, "act_plain"), empty, "activity")

    @_PROPERTIES
    @given(batch=st.lists(pks.activities(), min_size=1, max_size=5))
    def test_any_activity_round_trips_through_append_and_get(
        self, storage: Storage, batch: list[Activity]
    ) -> None:
        """Any valid activities come back from ``append`` then ``get`` unchanged."""
        batch = [attrs.evolve(activity, id=_fresh(activity.id)) for activity in batch]
        _append(storage, batch)
        for activity in batch:
            _assert_same(_read_activity(storage, activity.id), activity, "activity")

    def test_get_of_a_missing_activity_raises_not_found(self, storage: Storage) -> None:
        """``get`` of an unknown id raises `NotFoundError`."""
        with storage.unit_of_work() as uow, pytest.raises(NotFoundError):
            uow.activities.get("act_missing")

    def test_append_is_idempotent_within_a_batch(self, storage: Storage) -> None:
        """An activity twice in one batch is added once and counted as a duplicate."""
        first, second = _activity("act_1"), _activity("act_2", occurred_at=_at(1))
        with storage.unit_of_work() as uow:
            result = uow.activities.append([first, second, first])
            uow.commit()
        _equal((result.added, result.duplicates), (2, 1), "AppendResult (added, duplicates)")
        _equal(
            _ids(_walk_activities(storage, limit=1000)),
            ["act_1", "act_2"],
            "_ids(_walk_activities(storage, limit=1000))",
        )

    def test_append_is_idempotent_within_a_unit_of_work(self, storage: Storage) -> None:
        """Appending the same activities again before commit adds nothing."""
        batch = [_activity("act_1"), _activity("act_2", occurred_at=_at(1))]
        with storage.unit_of_work() as uow:
            uow.activities.append(batch)
            result = uow.activities.append(batch)
            _equal((result.added, result.duplicates), (0, 2), "AppendResult (added, duplicates)")
            _equal(
                _ids(uow.activities.for_partner("ptn_a")),
                ["act_1", "act_2"],
                "_ids(uow.activities.for_partner('ptn_a'))",
            )
            uow.commit()
        _equal(
            _ids(_walk_activities(storage, limit=1000)),
            ["act_1", "act_2"],
            "_ids(_walk_activities(storage, limit=1000))",
        )

    def test_append_is_idempotent_across_units_of_work(self, storage: Storage) -> None:
        """A retried import adds only what is new and counts the rest as duplicates."""
        batch = [_activity(f"act_{n}", occurred_at=_at(n)) for n in range(3)]
        _append(storage, batch)
        with storage.unit_of_work() as uow:
            result = uow.activities.append([*batch, _activity("act_3", occurred_at=_at(3))])
            uow.commit()
        _equal((result.added, result.duplicates), (1, 3), "AppendResult (added, duplicates)")
        expected = ["act_0", "act_1", "act_2", "act_3"]
        _equal(
            _ids(_walk_activities(storage, limit=1000)),
            expected,
            "_ids(_walk_activities(storage, limit=1000))",
        )
        with storage.unit_of_work() as uow:
            _equal(
                _ids(uow.activities.for_partner("ptn_a")),
                expected,
                "_ids(uow.activities.for_partner('ptn_a'))",
            )

    def test_append_refuses_an_id_with_different_content_and_writes_nothing(
        self, storage: Storage
    ) -> None:
        """A stored id with other content raises `ConflictError`; none of the batch is kept."""
        original = _activity("act_1", value=Decimal(1))
        _append(storage, [original])
        with storage.unit_of_work() as uow:
            with pytest.raises(ConflictError):
                uow.activities.append(
                    [_activity("act_new", occurred_at=_at(1)), attrs.evolve(original, value=None)]
                )
            with pytest.raises(NotFoundError):
                uow.activities.get("act_new")
            uow.commit()
        _expect(
            not _activity_exists(storage, "act_new"),
            "an activity of a refused batch or commit was stored",
        )
        _assert_same(_read_activity(storage, "act_1"), original, "activity")

    def test_append_refuses_one_id_twice_in_a_batch_with_different_content(
        self, storage: Storage
    ) -> None:
        """One id twice in a batch with other content raises `ConflictError`; nothing is kept."""
        with storage.unit_of_work() as uow:
            with pytest.raises(ConflictError):
                uow.activities.append(
                    [
                        _activity("act_0"),
                        _activity("act_1", kind=ActivityKind.DEAL_WON),
                        _activity("act_1", kind=ActivityKind.DEAL_REGISTERED),
                    ]
                )
            uow.commit()
        _equal(_walk_activities(storage, limit=1000), [], "_walk_activities(storage, limit=1000)")

    def test_for_partner_orders_by_time_then_id(self, storage: Storage) -> None:
        """``for_partner`` sorts by instant, then id, across committed and staged activities."""
        # (id, hours after _T0, zone): ties at hour 2 sort by id; zones do not matter.
        plan = [
            ("act_c", 2, _KIRIBATI),
            ("act_z", 0, UTC),
            ("act_a", 2, _MARQUESAS),
            ("act_y", 5, _NEPAL),
            ("act_b", 2, UTC),
            ("act_x", -3, _ONE_MINUTE_WEST),
            ("act_m", 1.5, _NEPAL),
        ]
        mine = [_activity(aid, occurred_at=_at(hours, tz)) for aid, hours, tz in plan]
        others = [_activity(f"act_other_{n}", "ptn_b", occurred_at=_at(n)) for n in range(3)]
        expected = ["act_x", "act_z", "act_m", "act_a", "act_b", "act_c", "act_y"]
        _append(storage, [*mine[:4], *others])
        with storage.unit_of_work() as uow:
            uow.activities.append(mine[4:])
            assert _ids(uow.activities.for_partner("ptn_a")) == expected, "with staged ones"
            uow.commit()
        with storage.unit_of_work() as uow:
            _equal(
                _ids(uow.activities.for_partner("ptn_a")),
                expected,
                "_ids(uow.activities.for_partner('ptn_a'))",
            )

    def test_for_partner_bounds_are_inclusive_instants(self, storage: Storage) -> None:
        """``since <= occurred_at <= until``, comparing instants whatever the offsets."""
        tick = timedelta(microseconds=1)
        since, until = _at(10), _at(20)
        times = [since - tick, since, _at(15), until, until + tick]
        _append(
            storage,
            [_activity(f"act_{n}", occurred_at=at) for n, at in enumerate(times)],
        )
        with storage.unit_of_work() as uow:
            ledger = uow.activities
            both = ledger.for_partner(
                "ptn_a", since=since.astimezone(_NEPAL), until=until.astimezone(_MARQUESAS)
            )
            _equal(_ids(both), ["act_1", "act_2", "act_3"], "_ids(both)")
            _equal(
                _ids(ledger.for_partner("ptn_a", since=since.astimezone(_KIRIBATI))),
                ["act_1", "act_2", "act_3", "act_4"],
                "_ids(ledger.for_partner('ptn_a', since=since.astimezone(_KIRIBATI)))",
            )
            _equal(
                _ids(ledger.for_partner("ptn_a", until=until)),
                ["act_0", "act_1", "act_2", "act_3"],
                "_ids(ledger.for_partner('ptn_a', until=until))",
            )
            _equal(
                _ids(ledger.for_partner("ptn_a", since=since, until=since)),
                ["act_1"],
                "_ids(ledger.for_partner('ptn_a', since=since, until=since))",
            )

    def test_for_partner_filters_by_kind_and_partner(self, storage: Storage) -> None:
        """``for_partner`` returns only that partner's activities of the given kinds."""
        kinds = [ActivityKind.DEAL_WON, ActivityKind.PORTAL_LOGIN, "webinar_hosted"]
        _append(
            storage,
            [
                _activity(f"act_{n:02d}", "ptn_a" if n % 2 else "ptn_b", kind=kinds[n % 3])
                for n in range(12)
            ],
        )
        with storage.unit_of_work() as uow:
            ledger = uow.activities
            everything = ["act_01", "act_03", "act_05", "act_07", "act_09", "act_11"]
            _equal(
                _ids(ledger.for_partner("ptn_a")), everything, "_ids(ledger.for_partner('ptn_a'))"
            )
            _equal(
                _ids(ledger.for_partner("ptn_a", kinds=["deal_won"])),
                ["act_03", "act_09"],
                "_ids(ledger.for_partner('ptn_a', kinds=['deal_won']))",
            )
            _equal(
                _ids(ledger.for_partner("ptn_a", kinds=iter(kinds[1:]))),
                ["act_01", "act_05", "act_07", "act_11"],
                "_ids(ledger.for_partner('ptn_a', kinds=iter(kinds[1:])))",
            )
            _equal(ledger.for_partner("ptn_nobody"), [], "ledger.for_partner('ptn_nobody')")

    def test_activity_query_pages_through_every_activity_once_in_id_order(
        self, storage: Storage
    ) -> None:
        """Following ``next_cursor`` returns every activity once, ordered by id."""
        ids = [f"act_{n:03d}" for n in range(37)]
        _append(storage, [_activity(aid, occurred_at=_at(-n)) for n, aid in enumerate(ids)])
        for limit in (1, 4, 37, 1000):
            assert _ids(_walk_activities(storage, limit=limit)) == ids, f"limit={limit}"

    def test_activity_query_paging_is_stable_while_activities_are_added(
        self, storage: Storage
    ) -> None:
        """Activities appended between pages never make paging repeat or skip one."""
        ids = [f"act_{n:03d}0" for n in range(30)]
        _append(storage, [_activity(aid) for aid in ids])
        seen: list[str] = []

        def fetch(cursor: str | None) -> Page[Activity]:
            with storage.unit_of_work() as uow:
                page = uow.activities.query(limit=4, cursor=cursor)
            seen.extend(_ids(page.items))
            return page

        def insert(page_number: int) -> None:
            _append(
                storage,
                [
                    _activity(f"{seen[-1]}+"),  # just after the cursor: still to come
                    _activity(f"act_{page_number:03d}1"),  # before the cursor
                    _activity(f"act_9{page_number:03d}"),  # at the end
                ],
            )

        walked = _ids(_walk(fetch, limit=4, between=insert))
        assert len(walked) == len(set(walked)), f"activities returned twice: {walked}"
        assert walked == sorted(walked), f"not in id order: {walked}"
        missing = sorted(set(ids) - set(walked))
        assert not missing, f"activities that existed when paging began were skipped: {missing}"

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
        zones = [UTC, _NEPAL, _MARQUESAS, _KIRIBATI, _ONE_MINUTE_WEST]
        population = [
            _activity(
                f"act_{n:03d}",
                partners[n % 3],
                kind=kinds[n % 4],
                occurred_at=_at(n, zones[n % 5]),
                value=Money(n, "EUR") if n % 4 == 0 else None,
            )
            for n in range(48)
        ]
        _append(storage, population)
        cases: list[dict[str, Any]] = [
            {},
            {"partner_id": "ptn_b"},
            {"kinds": ["deal_won"]},
            {"kinds": ("portal_login", "webinar_hosted")},
            {"kinds": {"revenue_booked"}},
            {"since": _at(10, _NEPAL)},
            {"until": _at(20, _MARQUESAS)},
            {"since": _at(10, _KIRIBATI), "until": _at(20, _ONE_MINUTE_WEST)},
            {"partner_id": "ptn_a", "kinds": ["revenue_booked", "deal_won"], "since": _at(6)},
        ]
        matching_nothing: list[dict[str, Any]] = [
            {"partner_id": "ptn_nobody"},
            {"kinds": ["never_happens"]},
            {"since": _at(47, _NEPAL) + timedelta(microseconds=1)},
            {"partner_id": "ptn_b", "kinds": ["revenue_booked"], "until": _at(3)},
        ]
        for filters in cases + matching_nothing:
            wanted = filters.get("kinds")
            kind_set = None if wanted is None else set(wanted)
            since, until = filters.get("since"), filters.get("until")
            expected = [
                activity.id
                for activity in population
                if filters.get("partner_id", activity.partner_id) == activity.partner_id
                and (kind_set is None or activity.kind in kind_set)
                and (since is None or activity.occurred_at >= since)
                and (until is None or activity.occurred_at <= until)
            ]
            assert bool(expected) == (filters in cases), f"the suite's data for {filters}"
            for limit in (5, 10_000):
                got = _ids(_walk_activities(storage, limit=limit, **filters))
                assert got == expected, f"query({filters}, limit={limit})"

    def test_activity_query_refuses_a_malformed_cursor(self, storage: Storage) -> None:
        """A cursor no query returned raises `ValidationError`."""
        _append(storage, [_activity("act_1"), _activity("act_2")])
        with storage.unit_of_work() as uow:
            for cursor in ("not a cursor", "\x00", "act 1\n"):
                with pytest.raises(ValidationError):
                    uow.activities.query(limit=1, cursor=cursor)

    def test_activity_query_refuses_a_limit_out_of_bounds(self, storage: Storage) -> None:
        """``limit`` outside 1..10000 raises `ValidationError`; both bounds are accepted."""
        _append(storage, [_activity("act_1"), _activity("act_2")])
        with storage.unit_of_work() as uow:
            for limit in (0, -1, 10_001):
                with pytest.raises(ValidationError):
                    uow.activities.query(limit=limit)
            _equal(
                len(uow.activities.query(limit=1).items),
                1,
                "len(uow.activities.query(limit=1).items)",
            )
            _equal(
                len(uow.activities.query(limit=10000).items),
                2,
                "len(uow.activities.query(limit=10000).items)",
            )


def _write_everything(uow: UnitOfWork, existing: Partner) -> None:
    """Stage one write of every kind: add, update, append and publish."""
    uow.partners.add(_partner("ptn_new"))
    uow.partners.update(attrs.evolve(existing, name="Changed", region="APAC"))
    uow.activities.append([_activity("act_new", "ptn_new"), _activity("act_old_partner")])
    uow.publish(_event("partner.created", "ptn_new"), _event("partner.renamed"))


def _assert_nothing_written(storage: Storage, existing: Partner) -> None:
    """What `_write_everything` staged left no trace."""
    assert not _partner_exists(storage, "ptn_new"), "an added partner survived the rollback"
    _assert_same(_read_partner(storage, existing.id), existing, "the updated partner")
    for activity_id in ("act_new", "act_old_partner"):
        assert not _activity_exists(storage, activity_id), f"{activity_id} survived the rollback"
    assert storage.pending_events() == [], "published events reached the outbox"


class UnitOfWorkContract:
    """The promises of `partnerkit.storage.UnitOfWork` and the outbox of `Storage`.

    Atomic commit, rollback on exception or without commit, isolation of uncommitted
    writes, no lost updates under concurrent writers, and events delivered only after
    commit. Subclass it under a ``Test...`` name with a ``storage`` fixture; see the
    module docstring.
    """

    def test_storage_implements_the_protocols(self, storage: Storage) -> None:
        """The store is a `Storage` and hands out `UnitOfWork` objects."""
        _expect(isinstance(storage, Storage), "the store lacks methods of Storage")
        with storage.unit_of_work() as uow:
            _expect(isinstance(uow, UnitOfWork), "the unit of work lacks methods of UnitOfWork")

    def test_reads_inside_a_unit_of_work_see_its_own_writes(self, storage: Storage) -> None:
        """``get``, ``query`` and ``for_partner`` see what this unit of work wrote."""
        _add(storage, _partner("ptn_old"))
        with storage.unit_of_work() as uow:
            added = uow.partners.add(_partner("ptn_new", country="JP"))
            _assert_same(uow.partners.get("ptn_new"), added, "added partner")
            _equal(
                _ids(uow.partners.query(country="JP").items),
                ["ptn_new"],
                "_ids(uow.partners.query(country='JP').items)",
            )
            updated = uow.partners.update(attrs.evolve(added, region="APAC"))
            _assert_same(uow.partners.get("ptn_new"), updated, "updated partner")
            old = uow.partners.update(attrs.evolve(uow.partners.get("ptn_old"), country="SE"))
            _equal(
                _ids(uow.partners.query(country="SE").items),
                ["ptn_old"],
                "_ids(uow.partners.query(country='SE').items)",
            )
            _assert_same(uow.partners.get("ptn_old"), old, "updated partner")
            activity = _activity("act_1", "ptn_new")
            uow.activities.append([activity])
            _assert_same(uow.activities.get("act_1"), activity, "appended activity")
            _equal(
                _ids(uow.activities.for_partner("ptn_new")),
                ["act_1"],
                "_ids(uow.activities.for_partner('ptn_new'))",
            )
            _equal(
                _ids(uow.activities.query(partner_id="ptn_new").items),
                ["act_1"],
                "_ids(uow.activities.query(partner_id='ptn_new').items)",
            )
            uow.commit()

    def test_other_units_of_work_see_writes_only_after_commit(self, storage: Storage) -> None:
        """Uncommitted writes are invisible to other units of work; committed ones are not."""
        existing = _add(storage, _partner("ptn_old"))[0]
        with storage.unit_of_work() as writer:
            _write_everything(writer, existing)
            with storage.unit_of_work() as other:
                with pytest.raises(NotFoundError):
                    other.partners.get("ptn_new")
                _assert_same(other.partners.get("ptn_old"), existing, "partner")
                _equal(
                    _ids(other.partners.query().items),
                    ["ptn_old"],
                    "_ids(other.partners.query().items)",
                )
                with pytest.raises(NotFoundError):
                    other.activities.get("act_new")
                _equal(
                    other.activities.for_partner("ptn_new"),
                    [],
                    "other.activities.for_partner('ptn_new')",
                )
                _equal(
                    _ids(other.activities.query().items), [], "_ids(other.activities.query().items)"
                )
            _equal(storage.pending_events(), [], "storage.pending_events()")
            writer.commit()
        with storage.unit_of_work() as later:
            _equal(
                later.partners.get("ptn_new").version, 1, "later.partners.get('ptn_new').version"
            )
            _equal(
                later.partners.get("ptn_old").name, "Changed", "later.partners.get('ptn_old').name"
            )
            _equal(
                _ids(later.activities.query().items),
                ["act_new", "act_old_partner"],
                "_ids(later.activities.query().items)",
            )
        _equal(
            _pending_kinds(storage),
            ["partner.created", "partner.renamed"],
            "_pending_kinds(storage)",
        )

    def test_exception_inside_the_block_rolls_back_everything(self, storage: Storage) -> None:
        """An exception in the ``with`` block propagates and discards every write."""
        existing = _add(storage, _partner("ptn_old"))[0]

        def fail() -> None:
            with storage.unit_of_work() as uow:
                _write_everything(uow, existing)
                raise _DeliberateError

        with pytest.raises(_DeliberateError):
            fail()
        _assert_nothing_written(storage, existing)

    def test_leaving_the_block_without_commit_rolls_back_everything(self, storage: Storage) -> None:
        """Leaving the ``with`` block without ``commit`` discards every write."""
        existing = _add(storage, _partner("ptn_old"))[0]
        with storage.unit_of_work() as uow:
            _write_everything(uow, existing)
        _assert_nothing_written(storage, existing)

    def test_rollback_discards_everything_since_the_last_commit(self, storage: Storage) -> None:
        """``rollback`` discards the writes after the last commit and keeps the ones before."""
        existing = _add(storage, _partner("ptn_old"))[0]
        with storage.unit_of_work() as uow:
            uow.partners.add(_partner("ptn_kept"))
            uow.commit()
            _write_everything(uow, existing)
            uow.rollback()
            with pytest.raises(NotFoundError):
                uow.partners.get("ptn_new")
        _expect(_partner_exists(storage, "ptn_kept"), "rollback() undid an earlier commit")
        _assert_nothing_written(storage, existing)

    def test_commit_that_fails_on_a_stale_partner_writes_nothing(self, storage: Storage) -> None:
        """A commit refused because a partner changed since it was read writes nothing."""
        existing = _add(storage, _partner("ptn_old"))[0]
        with storage.unit_of_work() as slow:
            _write_everything(slow, existing)  # updates ptn_old based on version 1
            with storage.unit_of_work() as fast:
                _save(fast, attrs.evolve(fast.partners.get("ptn_old"), name="Fast writer"))
            winner = _read_partner(storage, "ptn_old")
            with pytest.raises(StaleVersionError):
                slow.commit()
        _assert_nothing_written(storage, winner)

    def test_commit_that_fails_on_a_taken_partner_id_writes_nothing(self, storage: Storage) -> None:
        """A commit refused because another unit of work added the same id writes nothing."""
        existing = _add(storage, _partner("ptn_old"))[0]
        with storage.unit_of_work() as slow:
            _write_everything(slow, existing)  # adds ptn_new
            with storage.unit_of_work() as fast:
                fast.partners.add(_partner("ptn_new", name="Fast writer"))
                fast.commit()
            winner = _read_partner(storage, "ptn_new")
            with pytest.raises(ConflictError):
                slow.commit()
        _assert_same(_read_partner(storage, "ptn_new"), winner, "partner")
        _assert_same(_read_partner(storage, "ptn_old"), existing, "partner")
        _expect(
            not _activity_exists(storage, "act_new"),
            "an activity of a refused batch or commit was stored",
        )
        _equal(storage.pending_events(), [], "storage.pending_events()")

    def test_commit_that_fails_on_a_taken_activity_id_writes_nothing(
        self, storage: Storage
    ) -> None:
        """A commit refused because an activity id was taken with other content writes nothing."""
        existing = _add(storage, _partner("ptn_old"))[0]
        with storage.unit_of_work() as slow:
            _write_everything(slow, existing)  # appends act_new
            with storage.unit_of_work() as fast:
                fast.activities.append([_activity("act_new", "ptn_fast")])
                fast.commit()
            with pytest.raises(ConflictError):
                slow.commit()
        _equal(
            _read_activity(storage, "act_new").partner_id,
            "ptn_fast",
            "_read_activity(storage, 'act_new').partner_id",
        )
        _expect(
            not _activity_exists(storage, "act_old_partner"),
            "an activity of a refused commit was stored",
        )
        _expect(
            not _partner_exists(storage, "ptn_new"),
            "a partner of a refused commit was stored",
        )
        _assert_same(_read_partner(storage, "ptn_old"), existing, "partner")
        _equal(storage.pending_events(), [], "storage.pending_events()")

    def test_concurrent_updates_lose_no_update(self, storage: Storage) -> None:
        """Racing read-modify-write units of work: each saves or gets `StaleVersionError`.

        8 threads each make 3 attempts; every attempt reads the partner, waits until all
        threads have read, then adds its own domain and commits. The final version is 1
        plus the number of saves and the partner holds exactly the saved domains.
        """
        _add(storage, _partner("ptn_contended"))
        writers, rounds = 8, 3
        barrier = threading.Barrier(writers, timeout=_THREAD_TIMEOUT)
        outcomes: dict[str, str] = {}
        errors: list[BaseException] = []
        lock = threading.Lock()

        def attempt(marker: str) -> str:
            with storage.unit_of_work() as uow:
                seen = uow.partners.get("ptn_contended")
                barrier.wait()  # everyone has read the same version before anyone writes
                try:
                    _save(uow, attrs.evolve(seen, domains=(*seen.domains, marker)))
                except StaleVersionError:
                    return "stale"
                return "saved"

        def write(writer: int) -> None:
            try:
                for round_ in range(rounds):
                    marker = f"w{writer}r{round_}.example.com"
                    outcome = attempt(marker)
                    with lock:
                        outcomes[marker] = outcome
            except BaseException as error:
                barrier.abort()  # release the others instead of leaving them waiting
                with lock:
                    errors.append(error)

        threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(_THREAD_TIMEOUT)
        assert not any(thread.is_alive() for thread in threads), "writers never finished"
        assert not errors, f"writers failed with something other than StaleVersionError: {errors}"
        saved = {marker for marker, outcome in outcomes.items() if outcome == "saved"}
        _equal(len(outcomes), writers * rounds, "len(outcomes)")
        assert saved, "no writer managed to save"
        final = _read_partner(storage, "ptn_contended")
        assert final.version == 1 + len(saved), (
            f"version {final.version} after {len(saved)} successful updates"
        )
        assert set(final.domains) == saved, (
            f"lost updates: {sorted(saved - set(final.domains))}; "
            f"unexpected: {sorted(set(final.domains) - saved)}"
        )

    def test_events_reach_the_outbox_only_after_commit(self, storage: Storage) -> None:
        """Published events are pending only once committed, in order, as ``uow.events``."""
        events = [_event("partner.created"), _event("partner.activated", step=2)]
        with storage.unit_of_work() as uow:
            uow.publish(events[0])
            uow.publish(events[1])
            assert storage.pending_events() == [], "events were delivered before commit"
            _expect(not uow.events, "uow.events holds events that no commit recorded")
            uow.commit()
        recorded = uow.events
        _assert_same([record.event for record in recorded], events, "uow.events")
        _assert_same(storage.pending_events(), list(recorded), "pending_events()")

    def test_event_ids_are_unique_and_sort_in_recording_order(self, storage: Storage) -> None:
        """Outbox ids are unique and sort in the order the events were recorded."""
        kinds: list[str] = []
        for commit in range(5):
            with storage.unit_of_work() as uow:
                batch = [_event(f"test.c{commit}e{n}") for n in range(3)]
                uow.publish(*batch)
                uow.commit()
            kinds.extend(event.kind for event in batch)
        pending = storage.pending_events(limit=1000)
        _equal(
            [record.event.kind for record in pending],
            kinds,
            "[record.event.kind for record in pending]",
        )
        ids = [record.id for record in pending]
        assert len(set(ids)) == len(ids), f"duplicate outbox ids: {ids}"
        assert ids == sorted(ids), f"outbox ids do not sort in recording order: {ids}"
        _expect(
            all(record.recorded_at.utcoffset() is not None for record in pending),
            "recorded_at came back naive",
        )

    def test_uow_events_holds_the_events_of_the_last_commit(self, storage: Storage) -> None:
        """``uow.events`` is replaced by each commit, empty after a commit without events."""
        with storage.unit_of_work() as uow:
            uow.publish(_event("test.first"))
            uow.commit()
            _equal(
                [record.event.kind for record in uow.events],
                ["test.first"],
                "[record.event.kind for record in uow.events]",
            )
            uow.publish(_event("test.second"), _event("test.third"))
            uow.commit()
            _equal(
                [record.event.kind for record in uow.events],
                ["test.second", "test.third"],
                "[record.event.kind for record in uow.events]",
            )
            uow.partners.add(_partner("ptn_1"))
            uow.commit()
            _equal(uow.events, (), "uow.events")

    def test_events_of_a_rolled_back_unit_never_appear(self, storage: Storage) -> None:
        """Events published in work that rolled back are never recorded."""

        def fail() -> None:
            with storage.unit_of_work() as uow:
                uow.publish(_event("test.raised"))
                raise _DeliberateError

        with pytest.raises(_DeliberateError):
            fail()
        with storage.unit_of_work() as uow:
            uow.publish(_event("test.abandoned"))
        with storage.unit_of_work() as uow:
            uow.publish(_event("test.rolled_back"))
            uow.rollback()
            uow.publish(_event("test.kept"))
            uow.commit()
        _equal(_pending_kinds(storage), ["test.kept"], "_pending_kinds(storage)")

    def test_mark_delivered_removes_events_and_ignores_unknown_ids(self, storage: Storage) -> None:
        """Delivered events leave ``pending_events``; unknown or repeated ids are ignored."""
        with storage.unit_of_work() as uow:
            uow.publish(*(_event(f"test.e{n}") for n in range(4)))
            uow.commit()
        first, second, third, fourth = storage.pending_events()
        storage.mark_delivered([first.id, third.id])
        _equal(_pending_kinds(storage), ["test.e1", "test.e3"], "_pending_kinds(storage)")
        storage.mark_delivered(iter([first.id, "evt_unknown"]))
        storage.mark_delivered([])
        _equal(
            [record.id for record in storage.pending_events()],
            [second.id, fourth.id],
            "[record.id for record in storage.pending_events()]",
        )
        storage.mark_delivered([second.id, fourth.id])
        _equal(storage.pending_events(), [], "storage.pending_events()")

    def test_pending_events_returns_the_oldest_first_up_to_limit(self, storage: Storage) -> None:
        """``pending_events(limit=n)`` returns the n oldest undelivered events."""
        for n in range(5):
            with storage.unit_of_work() as uow:
                uow.publish(_event(f"test.e{n}"))
                uow.commit()
        oldest = storage.pending_events(limit=2)
        _equal(
            [record.event.kind for record in oldest],
            ["test.e0", "test.e1"],
            "[record.event.kind for record in oldest]",
        )
        storage.mark_delivered(record.id for record in oldest)
        _equal(
            [r.event.kind for r in storage.pending_events(limit=2)],
            ["test.e2", "test.e3"],
            "[r.event.kind for r in storage.pending_events(limit=2)]",
        )

    @_PROPERTIES
    @given(events=st.lists(pks.events(), min_size=1, max_size=5))
    def test_any_published_event_round_trips_through_the_outbox(
        self, storage: Storage, events: list[Event]
    ) -> None:
        """Any valid events come back from the outbox unchanged, in order."""
        with storage.unit_of_work() as uow:
            uow.publish(*events)
            uow.commit()
        recorded = uow.events
        _assert_same([record.event for record in recorded], events, "events")
        pending = {record.id: record for record in storage.pending_events(limit=1000)}
        for record in recorded:
            assert record.id in pending, f"{record.id} is not pending"
            _assert_same(pending[record.id], record, "pending record")
        # Leave the outbox empty for the next example.
        storage.mark_delivered(record.id for record in recorded)

    def test_unit_of_work_can_be_reused_after_commit_and_rollback(self, storage: Storage) -> None:
        """After ``commit`` or ``rollback`` the same unit of work does more work."""
        with storage.unit_of_work() as uow:
            uow.partners.add(_partner("ptn_1"))
            uow.publish(_event("test.one"))
            uow.commit()
            uow.partners.add(_partner("ptn_2"))
            uow.publish(_event("test.two"))
            uow.rollback()
            uow.partners.update(attrs.evolve(uow.partners.get("ptn_1"), region="EMEA"))
            uow.partners.add(_partner("ptn_3"))
            uow.publish(_event("test.three"))
            uow.commit()
        _equal(
            _read_partner(storage, "ptn_1").version, 2, "_read_partner(storage, 'ptn_1').version"
        )
        _expect(_partner_exists(storage, "ptn_3"), "work after a rollback was not committed")
        _expect(not _partner_exists(storage, "ptn_2"), "a rolled-back partner was stored")
        _equal(_pending_kinds(storage), ["test.one", "test.three"], "_pending_kinds(storage)")

    def test_unit_of_work_can_be_reused_after_a_failed_commit(self, storage: Storage) -> None:
        """After a refused commit the same unit of work starts afresh and can commit."""
        with storage.unit_of_work() as uow:
            uow.partners.add(_partner("ptn_1", name="Slow writer"))
            uow.publish(_event("test.lost"))
            _add(storage, _partner("ptn_1", name="Fast writer"))
            with pytest.raises(ConflictError):
                uow.commit()
            uow.partners.add(_partner("ptn_2"))
            uow.publish(_event("test.saved"))
            uow.commit()
        _equal(
            _read_partner(storage, "ptn_1").name,
            "Fast writer",
            "_read_partner(storage, 'ptn_1').name",
        )
        _expect(_partner_exists(storage, "ptn_2"), "work after a refused commit was not committed")
        _equal(_pending_kinds(storage), ["test.saved"], "_pending_kinds(storage)")


# --- health-score history -----------------------------------------------------

#: One measure read straight onto 0..100 (``deals`` 55 scores 55.0), with the
#: default bands: critical [0, 40), at_risk [40, 70), healthy [70, 100].
_PLAIN_MODEL: Final = model_from_dict(
    {
        "name": "Conformance",
        "version": 1,
        "measures": [
            {
                "name": "deals",
                "metric": "deals",
                "weight": 1,
                "normalizer": {"kind": "linear", "low": 0, "high": 100},
            }
        ],
    }
)
#: Every part a score can have: money, steps, recency, a neutral missing measure,
#: a gate that caps the band.
_RICH_MODEL: Final = model_from_dict(
    {
        "name": "Conformance rich",
        "version": 7,
        "currency": "USD",
        "measures": [
            {
                "name": "revenue",
                "metric": "revenue",
                "weight": 3,
                "normalizer": {"kind": "log", "low": 1000, "high": 1000000},
            },
            {
                "name": "attainment",
                "metric": "revenue",
                "weight": 2,
                "label": "Revenue attainment",
                "normalizer": {"kind": "target", "target": 250000},
            },
            {
                "name": "deals",
                "metric": "deals",
                "weight": 2,
                "normalizer": {
                    "kind": "steps",
                    "steps": [{"at": 1, "points": 40}, {"at": "3.5", "points": 70}],
                },
            },
            {
                "name": "logins",
                "metric": "days_since_login",
                "weight": "1.5",
                "normalizer": {"kind": "recency", "half_life_days": 30},
            },
            {
                "name": "nps",
                "metric": "nps",
                "weight": 1,
                "missing": "neutral",
                "normalizer": {"kind": "linear", "low": -100, "high": 100},
            },
        ],
        "gates": [
            {
                "name": "no_login",
                "metric": "days_since_login",
                "op": ">",
                "threshold": 90,
                "cap": "at_risk",
                "label": "No portal login in 90 days",
            }
        ],
    }
)


def _score(
    partner_id: str,
    at: datetime,
    deals: int | None = 55,
    *,
    model: ScoringModel = _PLAIN_MODEL,
    previous: HealthScore | None = None,
    override: Override | None = None,
) -> HealthScore:
    """``partner_id``'s score at ``at``: with the plain model, ``deals`` is the value."""
    values = {} if deals is None else {"deals": deals}
    snapshot = MetricSnapshot(partner_id, at, values)  # type: ignore[arg-type]
    return score(model, snapshot, as_of=at, previous=previous, override=override)


def _override(at: datetime, **shown: Any) -> Override:
    return Override(
        "usr_maria", "renewal signed", created_at=at, expires_at=at + timedelta(days=30), **shown
    )


def _full_score(partner_id: str) -> HealthScore:
    """A score with every part set: trend and velocity, override, gate, missing data."""
    model = _RICH_MODEL

    def rich(days: int, revenue: Money, deals: Decimal | int, login_days: int) -> MetricSnapshot:
        at = _at(24 * days)
        values: dict[str, MetricValue] = {
            "revenue": revenue,
            "deals": deals,
            "days_since_login": login_days,
        }
        return MetricSnapshot(partner_id, at, values)

    first = rich(-60, Money("98765.432", "USD"), 2, 12)
    second = rich(-30, Money("120000.10", "USD"), Decimal("3.50"), 40)
    earliest = score(model, first, as_of=first.as_of)
    earlier = score(model, second, as_of=second.as_of, previous=earliest)
    now = rich(0, Money("923456.789", "USD"), Decimal("4.250"), 120)
    override = Override(
        "usr_maria",
        "new executive sponsor; renewal signed ✓",
        created_at=datetime(2026, 1, 10, 8, 0, 0, 123456, tzinfo=_NEPAL),
        expires_at=datetime(2026, 2, 28, 23, 59, tzinfo=_MARQUESAS),
        value=Decimal("72.5"),
    )
    return score(
        model, now, as_of=now.as_of, previous=earlier, override=override, history=[earliest]
    )


def _add_scores(storage: Storage, *scores: HealthScore) -> None:
    with storage.unit_of_work() as uow:
        for item in scores:
            uow.scores.add(item)
        uow.commit()


def _store_scores(uow: UnitOfWork, *scores: HealthScore) -> None:
    # One call, so a test can expect a refusal from either step: an adapter may
    # detect a clashing score at add() or only at commit().
    for item in scores:
        uow.scores.add(item)
    uow.commit()


def _latest(
    storage: Storage, partner_id: str, model: str = "Conformance", **options: Any
) -> HealthScore | None:
    with storage.unit_of_work() as uow:
        return uow.scores.latest(partner_id, model=model, **options)


def _history(
    storage: Storage, partner_id: str, model: str = "Conformance", **bounds: Any
) -> list[HealthScore]:
    with storage.unit_of_work() as uow:
        return uow.scores.history(partner_id, model=model, **bounds)


def _walk_scores(
    storage: Storage, *, limit: int, model: str = "Conformance", **filters: Any
) -> list[HealthScore]:
    with storage.unit_of_work() as uow:
        return _walk(
            lambda cursor: uow.scores.query(model=model, limit=limit, cursor=cursor, **filters),
            limit=limit,
        )


def _shown(scores: Iterable[HealthScore]) -> list[tuple[str, datetime, str | None]]:
    """Whose score, from when, showing which band: what score tests compare."""
    return [(item.partner_id, item.as_of, item.band) for item in scores]


def _no_scores(storage: Storage, *partner_ids: str) -> None:
    for partner_id in partner_ids:
        _expect(
            _latest(storage, partner_id) is None,
            f"a score of {partner_id} survived the rollback or failed commit",
        )
    _equal(_walk_scores(storage, limit=1000), [], "scores listed by query()")


class ScoreRepositoryContract:
    """The promises of `partnerkit.storage.ScoreRepository`: health-score history.

    Scores round-trip whole (override included), are keyed by partner, model and
    instant, are never overwritten, and are listed latest-per-partner or per run.
    Subclass it under a ``Test...`` name with a ``storage`` fixture; see the module
    docstring.
    """

    def test_scores_implements_the_protocol(self, storage: Storage) -> None:
        """``uow.scores`` has every method of `ScoreRepository`."""
        with storage.unit_of_work() as uow:
            _expect(
                isinstance(uow.scores, ScoreRepository),
                "uow.scores lacks methods of ScoreRepository",
            )

    def test_every_score_field_round_trips_through_add_latest_history_and_query(
        self, storage: Storage
    ) -> None:
        """Trend, override, gates, contributions and missing data come back exactly."""
        full = _full_score("ptn_full")
        empty = _score("ptn_empty", full.as_of, deals=None)
        model = full.model
        with storage.unit_of_work() as uow:
            uow.scores.add(full)
            _assert_same(uow.scores.latest("ptn_full", model=model), full, "score (staged)")
            uow.commit()
        _add_scores(storage, empty)
        _assert_same(_latest(storage, "ptn_full", model), full, "score")
        _assert_same(_history(storage, "ptn_full", model), [full], "history")
        _assert_same(_walk_scores(storage, limit=10, model=model), [full], "query")
        _assert_same(_latest(storage, "ptn_empty"), empty, "insufficient data score")

    @_PROPERTIES
    @given(drawn=pks.health_scores())
    def test_any_score_round_trips_through_add_latest_and_history(
        self, storage: Storage, drawn: HealthScore
    ) -> None:
        """Any score a model can give comes back unchanged, override and all."""
        item = attrs.evolve(drawn, partner_id=_fresh(drawn.partner_id))
        _add_scores(storage, item)
        _assert_same(_latest(storage, item.partner_id, item.model), item, "score")
        _assert_same(_history(storage, item.partner_id, item.model), [item], "history")

    def test_adding_an_identical_score_again_changes_nothing(self, storage: Storage) -> None:
        """The same score twice, in one unit of work or a retried one, is stored once."""
        first, second = _score("ptn_1", _at(0)), _score("ptn_1", _at(1), 80)
        with storage.unit_of_work() as uow:
            uow.scores.add(first)
            uow.scores.add(first)
            uow.commit()
        same_instant = attrs.evolve(first, as_of=first.as_of.astimezone(_KIRIBATI))
        with storage.unit_of_work() as uow:  # the scoring job ran again
            _store_scores(uow, first, same_instant, second, second)
        _assert_same(_history(storage, "ptn_1"), [first, second], "history")

    def test_a_different_score_under_a_stored_key_raises_conflict_and_keeps_the_stored_one(
        self, storage: Storage
    ) -> None:
        """Scores are never overwritten: another score, or a dropped override, is refused."""
        overridden = _score("ptn_1", _at(0), 30, override=_override(_at(-1), band="at_risk"))
        _add_scores(storage, overridden)
        for clash in (
            _score("ptn_1", _at(0), 31),
            attrs.evolve(overridden, override=None),
            attrs.evolve(overridden, trend=None, value=Decimal("30.1")),
        ):
            with storage.unit_of_work() as uow, pytest.raises(ConflictError):
                _store_scores(uow, clash)
        _assert_same(_history(storage, "ptn_1"), [overridden], "history")

    def test_a_different_score_under_a_key_staged_in_the_same_unit_raises_conflict(
        self, storage: Storage
    ) -> None:
        """Two different scores under one key in one unit of work: `ConflictError`."""
        kept = _score("ptn_1", _at(0), 40)
        with storage.unit_of_work() as uow:
            uow.scores.add(kept)
            with pytest.raises(ConflictError):
                _store_scores(uow, _score("ptn_1", _at(0), 41))
            uow.scores.add(kept)  # again: a commit that failed discarded it
            uow.commit()
        _assert_same(_history(storage, "ptn_1"), [kept], "history")

    def test_scores_of_other_partners_models_or_instants_never_clash(
        self, storage: Storage
    ) -> None:
        """The key is partner, model name and instant: change any one and both are kept."""
        tick = timedelta(microseconds=1)
        base = _score("ptn_1", _at(0), 40)
        other_model = _score("ptn_1", _at(0), 60, model=_RICH_MODEL)
        _add_scores(storage, base, _score("ptn_2", _at(0), 41), _score("ptn_1", _at(0) + tick, 42))
        with storage.unit_of_work() as uow:
            _store_scores(uow, other_model)
        _equal(
            [item.computed_value for item in _history(storage, "ptn_1")],
            [Decimal("40.0"), Decimal("42.0")],
            "ptn_1's values",
        )
        _assert_same(_latest(storage, "ptn_2"), _score("ptn_2", _at(0), 41), "ptn_2's score")
        _assert_same(_latest(storage, "ptn_1", other_model.model), other_model, "other model")

    def test_add_refuses_what_is_not_a_score(self, storage: Storage) -> None:
        """``add`` of anything but a `HealthScore` raises `ValidationError`."""
        with storage.unit_of_work() as uow:
            for bad in (None, _partner("ptn_1"), attrs.asdict(_score("ptn_1", _at(0)))):
                with pytest.raises(ValidationError):
                    uow.scores.add(bad)  # type: ignore[arg-type]
            uow.commit()
        _no_scores(storage, "ptn_1")

    def test_latest_is_the_most_recent_score_at_or_before(self, storage: Storage) -> None:
        """``before`` is inclusive, compared as an instant; staged scores count."""
        tick = timedelta(microseconds=1)
        scores = [_score("ptn_1", _at(hours), value) for hours, value in [(0, 20), (5, 50)]]
        staged = _score("ptn_1", _at(10), 80)
        newer_version = attrs.evolve(_score("ptn_1", _at(12), 90), model_version=2)
        _add_scores(storage, scores[1], _score("ptn_2", _at(20), 10))
        _add_scores(storage, scores[0], _score("ptn_1", _at(30), 75, model=_RICH_MODEL))
        with storage.unit_of_work() as uow:
            uow.scores.add(staged)
            latest = uow.scores.latest
            cases: list[tuple[datetime | None, HealthScore | None]] = [
                (None, staged),
                (_at(10, _NEPAL), staged),
                (_at(10) - tick, scores[1]),
                (_at(5, _MARQUESAS), scores[1]),
                (_at(5) - tick, scores[0]),
                (_at(0, _KIRIBATI), scores[0]),
                (_at(0) - tick, None),
            ]
            for before, expected in cases:
                got = latest("ptn_1", model="Conformance", before=before)
                _assert_same(got, expected, f"latest('ptn_1', before={before!r})")
            _equal(latest("ptn_nobody", model="Conformance"), None, "latest('ptn_nobody')")
            _equal(latest("ptn_1", model="Nobody's"), None, "latest of an unknown model")
            uow.scores.add(newer_version)
            _assert_same(latest("ptn_1", model="Conformance"), newer_version, "a newer version")
            uow.commit()
        _assert_same(_latest(storage, "ptn_1"), newer_version, "latest after commit")

    def test_latest_carries_an_override_into_the_next_score(self, storage: Storage) -> None:
        """``latest`` as ``previous`` keeps an override on until it lapses by itself."""
        override = _override(_at(0), value=Decimal("75.0"))
        _add_scores(storage, _score("ptn_1", _at(0), 30, override=override))
        for days in (7, 14, 31):
            at = _at(24 * days)
            previous = _latest(storage, "ptn_1", before=at)
            _add_scores(storage, _score("ptn_1", at, 30, previous=previous))
        shown = [(item.value, item.override) for item in _history(storage, "ptn_1")]
        expected = [(Decimal("75.0"), override)] * 3 + [(Decimal("30.0"), None)]
        _equal(shown, expected, "(value, override) by run")

    def test_history_is_ordered_by_as_of_with_inclusive_bounds(self, storage: Storage) -> None:
        """``since <= as_of <= until`` as instants, oldest first, staged scores included."""
        tick = timedelta(microseconds=1)
        plan = [(5, _NEPAL), (-3, _MARQUESAS), (10, UTC), (0, _KIRIBATI), (7, _ONE_MINUTE_WEST)]
        scores = [_score("ptn_1", _at(hours, tz), 40 + hours) for hours, tz in plan]
        by_time = sorted(scores, key=lambda item: item.as_of)
        _add_scores(storage, *scores[:3], _score("ptn_2", _at(1)))
        _add_scores(storage, _score("ptn_1", _at(2), model=_RICH_MODEL))
        with storage.unit_of_work() as uow:
            uow.scores.add(scores[3])
            uow.scores.add(scores[4])
            history = uow.scores.history
            cases: list[tuple[dict[str, datetime], list[HealthScore]]] = [
                ({}, by_time),
                ({"since": _at(0, _NEPAL), "until": _at(7, _MARQUESAS)}, by_time[1:4]),
                ({"since": _at(0) + tick, "until": _at(7) - tick}, by_time[2:3]),
                ({"since": _at(5, _KIRIBATI), "until": _at(5)}, by_time[2:3]),
                ({"until": _at(-3)}, by_time[:1]),
                ({"since": _at(10) + tick}, []),
            ]
            for bounds, expected in cases:
                got = history("ptn_1", model="Conformance", **bounds)
                _assert_same(got, expected, f"history('ptn_1', {bounds})")
            _equal(history("ptn_nobody", model="Conformance"), [], "history('ptn_nobody')")
            uow.commit()
        _assert_same(_history(storage, "ptn_1"), by_time, "history after commit")

    def test_score_query_lists_each_partners_latest_score_in_partner_order(
        self, storage: Storage
    ) -> None:
        """Without ``as_of``: one score per partner, its latest; ``band`` filters that one."""
        plan: dict[str, list[int | None]] = {  # values by day; the last is the latest
            "ptn_e": [80, 50],  # healthy once, at risk now
            "ptn_a": [50, 75],  # at risk once, healthy now
            "ptn_c": [20],
            "ptn_d": [10, 45, 30],
            "ptn_b": [60, None],  # insufficient data now: no band
            "ptn_f": [None, 65],
        }
        for day in range(3):
            _add_scores(
                storage,
                *(
                    _score(partner_id, _at(24 * day), values[day])
                    for partner_id, values in plan.items()
                    if day < len(values)
                ),
                _score("ptn_g", _at(24 * day), 50, model=_RICH_MODEL),
            )
        latest = {
            partner_id: (partner_id, _at(24 * (len(values) - 1)))
            for partner_id, values in sorted(plan.items())
        }
        bands = {"ptn_a": "healthy", "ptn_b": None, "ptn_c": "critical", "ptn_d": "critical"}
        bands |= {"ptn_e": "at_risk", "ptn_f": "at_risk"}
        for band in (None, "at_risk", "healthy", "critical", "no_such_band"):
            expected = [
                (*latest[pid], bands[pid]) for pid in latest if band is None or bands[pid] == band
            ]
            for limit in (1, 2, 1000):
                got = _shown(_walk_scores(storage, limit=limit, band=band))
                _equal(got, expected, f"query(band={band!r}, limit={limit})")
        _equal(_walk_scores(storage, limit=10, model="Nobody's"), [], "an unknown model")

    def test_score_query_at_an_instant_lists_exactly_that_runs_scores(
        self, storage: Storage
    ) -> None:
        """With ``as_of``: the scores at exactly that instant, by partner, ``band`` applied."""
        tick = timedelta(microseconds=1)
        monday = [_score(f"ptn_{n}", _at(0), 10 + 15 * n) for n in range(5)]
        tuesday = [_score(f"ptn_{n}", _at(24), 90 - 20 * n) for n in (0, 2, 3)]
        _add_scores(storage, *reversed(monday), _score("ptn_9", _at(0) + tick))
        _add_scores(storage, *tuesday, _score("ptn_0", _at(0), model=_RICH_MODEL))
        cases: list[tuple[dict[str, Any], list[HealthScore]]] = [
            ({"as_of": _at(0, _NEPAL)}, monday),
            ({"as_of": _at(24)}, tuesday),
            ({"as_of": _at(0), "band": "at_risk"}, monday[2:4]),
            ({"as_of": _at(24, _MARQUESAS), "band": "healthy"}, tuesday[:1]),
            ({"as_of": _at(24), "band": "at_risk"}, tuesday[1:2]),
            ({"as_of": _at(12)}, []),
        ]
        for filters, expected in cases:
            for limit in (2, 1000):
                got = _shown(_walk_scores(storage, limit=limit, **filters))
                _equal(got, _shown(expected), f"query({filters}, limit={limit})")

    def test_score_query_filters_on_the_shown_band(self, storage: Storage) -> None:
        """``band`` matches what a score shows: an override's band while it is active."""
        override = _override(_at(-1), band="at_risk")
        rescued = _score("ptn_1", _at(0), 30, override=override)
        _add_scores(storage, rescued, _score("ptn_2", _at(0), 35))
        _equal(
            _shown(_walk_scores(storage, limit=10, band="at_risk")),
            _shown([rescued]),
            "query(band='at_risk')",
        )
        _equal(
            [item.partner_id for item in _walk_scores(storage, limit=10, band="critical")],
            ["ptn_2"],
            "query(band='critical')",
        )

    def test_score_query_sees_the_units_own_scores_and_no_one_elses(self, storage: Storage) -> None:
        """Staged scores take part in a unit's queries; other units see them after commit."""
        _add_scores(storage, _score("ptn_1", _at(0), 50), _score("ptn_2", _at(0), 20))
        staged = [
            _score("ptn_1", _at(24), 80),  # newer: ptn_1 is healthy in this unit
            _score("ptn_2", _at(-24), 45),  # older: ptn_2 stays critical
            _score("ptn_3", _at(0), 55),  # a new partner
        ]
        expected = [
            ("ptn_1", _at(24), "healthy"),
            ("ptn_2", _at(0), "critical"),
            ("ptn_3", _at(0), "at_risk"),
        ]
        with storage.unit_of_work() as uow:
            for item in staged:
                uow.scores.add(item)

            def page(cursor: str | None) -> Page[HealthScore]:
                return uow.scores.query(model="Conformance", limit=1, cursor=cursor)

            _equal(_shown(_walk(page, limit=1)), expected, "query() in the unit, page by page")
            everything = uow.scores.query(model="Conformance").items
            _equal(_shown(everything), expected, "query() in the unit")
            at_risk = uow.scores.query(model="Conformance", band="at_risk").items
            _equal(_shown(at_risk), expected[2:], "query(band='at_risk') in the unit")
            monday = uow.scores.query(model="Conformance", as_of=_at(0)).items
            _equal([item.partner_id for item in monday], ["ptn_1", "ptn_2", "ptn_3"], "run")
            _equal(
                _shown(_walk_scores(storage, limit=1000)),
                [("ptn_1", _at(0), "at_risk"), ("ptn_2", _at(0), "critical")],
                "query() in another unit before commit",
            )
            uow.commit()
        _equal(_shown(_walk_scores(storage, limit=1000)), expected, "query() after commit")

    def test_score_query_paging_is_stable_while_scores_are_added(self, storage: Storage) -> None:
        """Scores added between pages never make paging repeat or skip a partner."""
        ids = [f"ptn_{n:03d}0" for n in range(30)]
        _add_scores(storage, *(_score(partner_id, _at(0)) for partner_id in ids))
        seen: list[str] = []

        def fetch(cursor: str | None) -> Page[HealthScore]:
            with storage.unit_of_work() as uow:  # a fresh one per page, as a web host pages
                page = uow.scores.query(model="Conformance", limit=4, cursor=cursor)
            seen.extend(item.partner_id for item in page.items)
            return page

        def insert(page_number: int) -> None:
            hours = page_number + 1
            _add_scores(
                storage,
                _score(f"{seen[-1]}+", _at(0)),  # a new partner just after the cursor
                _score(f"ptn_{page_number:03d}1", _at(0)),  # one already passed
                _score(f"ptn_9{page_number:03d}", _at(0)),  # one at the end
                _score(seen[-1], _at(hours), 90),  # a newer score, already passed
                _score(ids[-1 - page_number], _at(hours), 90),  # a newer score, still to come
            )

        walked = [item.partner_id for item in _walk(fetch, limit=4, between=insert)]
        assert len(walked) == len(set(walked)), f"partners returned twice: {walked}"
        assert walked == sorted(walked), f"not in partner order: {walked}"
        missing = sorted(set(ids) - set(walked))
        assert not missing, f"partners that had scores when paging began were skipped: {missing}"

    def test_score_query_refuses_a_malformed_cursor(self, storage: Storage) -> None:
        """A cursor no query returned raises `ValidationError`."""
        _add_scores(storage, _score("ptn_1", _at(0)), _score("ptn_2", _at(0)))
        with storage.unit_of_work() as uow:
            for cursor in ("not a cursor", "\x00", "ptn 1\n"):
                with pytest.raises(ValidationError):
                    uow.scores.query(model="Conformance", limit=1, cursor=cursor)

    def test_score_query_refuses_a_limit_out_of_bounds(self, storage: Storage) -> None:
        """``limit`` outside 1..1000 raises `ValidationError`; both bounds are accepted."""
        _add_scores(storage, _score("ptn_1", _at(0)), _score("ptn_2", _at(0)))
        with storage.unit_of_work() as uow:
            for limit in (0, -1, 1001):
                with pytest.raises(ValidationError):
                    uow.scores.query(model="Conformance", limit=limit)
            for limit, count in ((1, 1), (1000, 2)):
                page = uow.scores.query(model="Conformance", limit=limit)
                _equal(len(page.items), count, f"len(query(limit={limit}).items)")

    def test_score_reads_refuse_naive_instants_and_models_that_are_not_text(
        self, storage: Storage
    ) -> None:
        """A naive ``before``, ``since``, ``until`` or ``as_of``, or a model that is no text."""
        naive = datetime(2026, 1, 15, 9, 30)  # noqa: DTZ001 - naive on purpose
        with storage.unit_of_work() as uow:
            scores = uow.scores
            calls: list[Callable[[], object]] = [
                lambda: scores.latest("ptn_1", model="Conformance", before=naive),
                lambda: scores.history("ptn_1", model="Conformance", since=naive),
                lambda: scores.history("ptn_1", model="Conformance", until=naive),
                lambda: scores.query(model="Conformance", as_of=naive),
                lambda: scores.latest("ptn_1", model=None),  # type: ignore[arg-type]
                lambda: scores.history("ptn_1", model=1),  # type: ignore[arg-type]
                lambda: scores.query(model=_PLAIN_MODEL),  # type: ignore[arg-type]
            ]
            for call in calls:
                with pytest.raises(ValidationError):
                    call()

    def test_rolled_back_scores_leave_nothing_behind(self, storage: Storage) -> None:
        """An exception, leaving without commit, or ``rollback()`` discards staged scores."""

        def fail() -> None:
            with storage.unit_of_work() as uow:
                uow.scores.add(_score("ptn_raised", _at(0)))
                raise _DeliberateError

        with pytest.raises(_DeliberateError):
            fail()
        with storage.unit_of_work() as uow:
            uow.scores.add(_score("ptn_abandoned", _at(0)))
        with storage.unit_of_work() as uow:
            uow.scores.add(_score("ptn_rolled_back", _at(0)))
            uow.rollback()
            _expect(
                uow.scores.latest("ptn_rolled_back", model="Conformance") is None,
                "a rolled-back score is still visible in its unit of work",
            )
            uow.commit()
        _no_scores(storage, "ptn_raised", "ptn_abandoned", "ptn_rolled_back")

    def test_commit_that_fails_on_a_stale_partner_writes_no_scores(self, storage: Storage) -> None:
        """A commit refused for a partner changed meanwhile writes none of its scores."""
        existing = _add(storage, _partner("ptn_old"))[0]
        with storage.unit_of_work() as slow:
            slow.partners.update(attrs.evolve(existing, region="APAC"))
            slow.scores.add(_score("ptn_old", _at(0)))
            slow.scores.add(_score("ptn_other", _at(0)))
            with storage.unit_of_work() as fast:
                _save(fast, attrs.evolve(fast.partners.get("ptn_old"), name="Fast writer"))
            with pytest.raises(StaleVersionError):
                slow.commit()
        _no_scores(storage, "ptn_old", "ptn_other")

    def test_commit_that_fails_on_a_score_stored_meanwhile_writes_nothing(
        self, storage: Storage
    ) -> None:
        """A different score committed meanwhile under a staged key: nothing is written."""
        existing = _add(storage, _partner("ptn_old"))[0]
        winner = _score("ptn_1", _at(0), 61)
        with storage.unit_of_work() as slow:
            _write_everything(slow, existing)
            slow.scores.add(_score("ptn_0", _at(0), 10))
            slow.scores.add(_score("ptn_1", _at(0), 60))
            slow.scores.add(_score("ptn_2", _at(0), 90))
            _add_scores(storage, winner)
            with pytest.raises(ConflictError):
                slow.commit()
        _assert_nothing_written(storage, existing)
        _equal(_latest(storage, "ptn_0"), None, "a score of the refused commit")
        _equal(_latest(storage, "ptn_2"), None, "a score of the refused commit")
        _assert_same(_history(storage, "ptn_1"), [winner], "history")

    def test_an_identical_score_stored_meanwhile_is_not_a_conflict(self, storage: Storage) -> None:
        """Two units that stage the same score both commit; it is stored once."""
        same = _score("ptn_1", _at(0))
        with storage.unit_of_work() as first, storage.unit_of_work() as second:
            first.scores.add(same)
            second.scores.add(same)
            second.scores.add(_score("ptn_2", _at(0)))
            first.commit()
            second.commit()
        _assert_same(_history(storage, "ptn_1"), [same], "history")
        _equal(
            [item.partner_id for item in _walk_scores(storage, limit=10)],
            ["ptn_1", "ptn_2"],
            "partners listed by query()",
        )


# --- Programs, memberships and tier history. ---

_PROGRAM_T0: Final = datetime(2026, 10, 1, tzinfo=UTC)


def _program(program_id: str, **fields: Any) -> Program:
    """A two-tier program over the built-in membership age: Silver after a year."""
    values: dict[str, Any] = {
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
    values.update(fields)
    return Program(id=program_id, **values)


def _membership(program_id: str, partner_id: str, **fields: Any) -> Membership:
    values: dict[str, Any] = {"joined_on": date(2024, 1, 31)}
    values.update(fields)
    return Membership(partner_id=partner_id, program_id=program_id, **values)


def _full_membership(program_id: str, partner_id: str) -> Membership:
    """A membership with every field set, in the forms adapters most often get wrong."""
    return Membership(
        partner_id=partner_id,
        program_id=program_id,
        joined_on=date(2024, 2, 29),
        status=MembershipStatus.SUSPENDED,
        tier_id="silver",
        tier_since=datetime(2025, 3, 31, 23, 59, 59, 999999, tzinfo=_NEPAL),
        failing_reviews=2,
        last_review_at=datetime(2026, 7, 1, 0, 0, 0, 1, tzinfo=_MARQUESAS),
        proposal=DowngradeProposal(
            "silver", "registered", datetime(2026, 7, 1, tzinfo=_KIRIBATI), 2
        ),
    )


def _assignment(
    program_id: str, partner_id: str, start: float, end: float | None = None, **fields: Any
) -> TierAssignment:
    """A stretch from ``_at(start)`` to ``_at(end)`` (open without ``end``)."""
    values: dict[str, Any] = {"tier_id": "silver", "cause": TierChangeCause.UPGRADE}
    values.update(fields)
    return TierAssignment(
        partner_id=partner_id,
        program_id=program_id,
        valid_from=_at(start),
        valid_until=None if end is None else _at(end),
        **values,
    )


def _save_program(uow: UnitOfWork, program: Program, version: int) -> None:
    # One call, so a test can expect a refusal from either update() or commit().
    uow.programs.update(program, version=version)
    uow.commit()


def _save_membership(uow: UnitOfWork, membership: Membership) -> None:
    uow.memberships.update(membership)
    uow.commit()


def _save_assignment(uow: UnitOfWork, assignment: TierAssignment) -> None:
    uow.tier_history.save(assignment)
    uow.commit()


def _add_programs(storage: Storage, *programs: Program) -> list[StoredProgram]:
    with storage.unit_of_work() as uow:
        added = [uow.programs.add(program) for program in programs]
        uow.commit()
    return added


def _add_memberships(storage: Storage, *memberships: Membership) -> list[Membership]:
    with storage.unit_of_work() as uow:
        added = [uow.memberships.add(membership) for membership in memberships]
        uow.commit()
    return added


def _save_assignments(storage: Storage, *assignments: TierAssignment) -> None:
    with storage.unit_of_work() as uow:
        for assignment in assignments:
            uow.tier_history.save(assignment)
        uow.commit()


def _read_program(storage: Storage, program_id: str) -> StoredProgram:
    with storage.unit_of_work() as uow:
        return uow.programs.get(program_id)


def _read_membership(storage: Storage, program_id: str, partner_id: str) -> Membership:
    with storage.unit_of_work() as uow:
        return uow.memberships.get(program_id, partner_id)


def _tier_history(storage: Storage, program_id: str, partner_id: str) -> list[TierAssignment]:
    with storage.unit_of_work() as uow:
        return uow.tier_history.for_partner(program_id, partner_id)


def _walk_programs(storage: Storage, *, limit: int) -> list[StoredProgram]:
    with storage.unit_of_work() as uow:
        return _walk(lambda cursor: uow.programs.query(limit=limit, cursor=cursor), limit=limit)


def _walk_memberships(storage: Storage, *, limit: int, **filters: Any) -> list[Membership]:
    with storage.unit_of_work() as uow:
        return _walk(
            lambda cursor: uow.memberships.query(limit=limit, cursor=cursor, **filters),
            limit=limit,
        )


def _members(memberships: Iterable[Membership]) -> list[str]:
    return [membership.partner_id for membership in memberships]


def _nothing_of_tiers(storage: Storage, program_id: str, partner_id: str) -> None:
    """Fail unless neither the program, the membership nor any history is stored."""
    with storage.unit_of_work() as uow:
        with pytest.raises(NotFoundError):
            uow.programs.get(program_id)
        with pytest.raises(NotFoundError):
            uow.memberships.get(program_id, partner_id)
        _equal(uow.memberships.for_partner(partner_id), [], "memberships.for_partner()")
        _equal(uow.tier_history.for_partner(program_id, partner_id), [], "tier history")
        _equal(uow.programs.query().items, (), "programs.query()")


def _write_tiers(uow: UnitOfWork, program_id: str, partner_id: str) -> None:
    """Stage one of each: a program, a membership, an assignment and an event."""
    uow.programs.add(_program(program_id))
    uow.memberships.add(_membership(program_id, partner_id))
    uow.tier_history.save(_assignment(program_id, partner_id, 0))
    uow.publish(_event("tier.changed", partner_id))


class ProgramRepositoryContract:
    """The promises of `partnerkit.storage.ProgramRepository`.

    Subclass it under a ``Test...`` name with a ``storage`` fixture; see the module
    docstring.
    """

    def test_programs_implements_the_protocol(self, storage: Storage) -> None:
        """``uow.programs`` has every method of `ProgramRepository`."""
        with storage.unit_of_work() as uow:
            _expect(
                isinstance(uow.programs, ProgramRepository),
                "uow.programs lacks methods of ProgramRepository",
            )

    @_PROPERTIES
    @given(program=tiers_strategies.programs())
    def test_any_program_round_trips_through_add_get_and_query(
        self, storage: Storage, program: Program
    ) -> None:
        """Every drawn program comes back whole, at version 1, from get and query."""
        fresh = attrs.evolve(program, id=_fresh(program.id))
        added = _add_programs(storage, fresh)[0]
        _assert_same(added, StoredProgram(fresh, 1), "added")
        _assert_same(_read_program(storage, fresh.id), StoredProgram(fresh, 1), "program")
        listed = [
            item for item in _walk_programs(storage, limit=1000) if item.program.id == fresh.id
        ]
        _assert_same(listed, [StoredProgram(fresh, 1)], "query()")

    def test_get_of_a_missing_program_raises_not_found(self, storage: Storage) -> None:
        """``get`` of an id never added raises `NotFoundError`."""
        with storage.unit_of_work() as uow, pytest.raises(NotFoundError):
            uow.programs.get("prg_missing")

    def test_add_of_an_existing_program_id_raises_conflict(self, storage: Storage) -> None:
        """A second program with a stored or staged id is refused; the first stays."""
        first = _add_programs(storage, _program("prg_1"))[0]
        with storage.unit_of_work() as uow:
            with pytest.raises(ConflictError):
                uow.programs.add(_program("prg_1", name="Impostor"))
            uow.programs.add(_program("prg_2"))
            with pytest.raises(ConflictError):
                uow.programs.add(_program("prg_2", name="Twice"))
        _assert_same(_read_program(storage, "prg_1"), first, "program")

    def test_program_update_stores_the_change_one_version_higher(self, storage: Storage) -> None:
        """Each ``update`` returns version + 1, also several in one unit of work."""
        added = _add_programs(storage, _program("prg_1"))[0]
        renamed = attrs.evolve(added.program, name="Renamed")
        with storage.unit_of_work() as uow:
            second = uow.programs.update(renamed, version=added.version)
            third = uow.programs.update(
                attrs.evolve(renamed, currency="SEK"), version=second.version
            )
            uow.commit()
        _equal((second.version, third.version), (2, 3), "versions returned by update()")
        _assert_same(
            _read_program(storage, "prg_1"),
            StoredProgram(_program("prg_1", name="Renamed", currency="SEK"), 3),
            "program",
        )

    def test_stale_program_update_raises_and_changes_nothing(self, storage: Storage) -> None:
        """An update based on an old or unknown version raises; nothing changes."""
        _add_programs(storage, _program("prg_1"))
        with storage.unit_of_work() as first:
            seen = first.programs.get("prg_1")
            with storage.unit_of_work() as second:
                _save_program(second, _program("prg_1", name="Second"), seen.version)
            before = _read_program(storage, "prg_1")
            with pytest.raises(StaleVersionError) as raised:
                _save_program(first, _program("prg_1", name="Lost"), seen.version)
        _equal((raised.value.key, raised.value.expected), ("prg_1", 1), "(raised key, expected)")
        with storage.unit_of_work() as uow, pytest.raises(StaleVersionError):
            _save_program(uow, _program("prg_1", name="Future"), 9)
        with storage.unit_of_work() as uow, pytest.raises(StaleVersionError):
            _save_program(uow, _program("prg_gone"), 1)
        _assert_same(_read_program(storage, "prg_1"), before, "program")
        with storage.unit_of_work() as uow, pytest.raises(NotFoundError):
            uow.programs.get("prg_gone")

    def test_program_query_pages_in_id_order_while_programs_are_added(
        self, storage: Storage
    ) -> None:
        """Following ``next_cursor`` returns every program once, by id, despite inserts."""
        ids = [f"prg_{n:02d}0" for n in range(9)]
        _add_programs(storage, *(_program(program_id) for program_id in reversed(ids)))
        seen: list[str] = []

        def fetch(cursor: str | None) -> Page[StoredProgram]:
            with storage.unit_of_work() as uow:
                page = uow.programs.query(limit=2, cursor=cursor)
            seen.extend(item.program.id for item in page.items)
            return page

        def insert(page_number: int) -> None:
            _add_programs(storage, _program(f"{seen[-1]}+"), _program(f"prg_{page_number:02d}1x"))

        walked = [item.program.id for item in _walk(fetch, limit=2, between=insert)]
        assert len(walked) == len(set(walked)), f"programs returned twice: {walked}"
        assert walked == sorted(walked), f"not in id order: {walked}"
        missing = sorted(set(ids) - set(walked))
        assert not missing, f"programs that existed when paging began were skipped: {missing}"
        with storage.unit_of_work() as uow:
            for bad in ({"limit": 0}, {"limit": 1001}, {"cursor": "not-a-cursor"}):
                with pytest.raises(ValidationError):
                    uow.programs.query(**bad)


class MembershipRepositoryContract:
    """The promises of `partnerkit.storage.MembershipRepository`.

    Subclass it under a ``Test...`` name with a ``storage`` fixture; see the module
    docstring.
    """

    def test_memberships_implements_the_protocol(self, storage: Storage) -> None:
        """``uow.memberships`` has every method of `MembershipRepository`."""
        with storage.unit_of_work() as uow:
            _expect(
                isinstance(uow.memberships, MembershipRepository),
                "uow.memberships lacks methods of MembershipRepository",
            )

    @_PROPERTIES
    @given(data=st.data())
    def test_any_membership_round_trips_through_add_get_query_and_for_partner(
        self, storage: Storage, data: st.DataObject
    ) -> None:
        """Every drawn membership comes back whole, at version 1, from every read."""
        program = data.draw(tiers_strategies.programs(), "program")
        drawn = data.draw(tiers_strategies.memberships(program, _fresh("ptn")), "membership")
        membership = attrs.evolve(drawn, version=0)
        expected = attrs.evolve(drawn, version=1)
        _assert_same(_add_memberships(storage, membership)[0], expected, "added")
        key = (membership.program_id, membership.partner_id)
        _assert_same(_read_membership(storage, *key), expected, "membership")
        with storage.unit_of_work() as uow:
            _assert_same(uow.memberships.for_partner(key[1]), [expected], "for_partner()")
            page = uow.memberships.query(
                program_id=key[0], status=expected.status, tier_id=expected.tier_id, limit=10000
            )
        _assert_same(
            [item for item in page.items if item.partner_id == key[1]], [expected], "query()"
        )

    def test_every_membership_field_round_trips_through_update_and_get(
        self, storage: Storage
    ) -> None:
        """A membership with a proposal, then a pin, comes back exactly after each update."""
        added = _add_memberships(storage, _membership("prg_1", "ptn_1"))[0]
        full = attrs.evolve(_full_membership("prg_1", "ptn_1"), version=added.version)
        with storage.unit_of_work() as uow:
            _save_membership(uow, full)
        _assert_same(
            _read_membership(storage, "prg_1", "ptn_1"), attrs.evolve(full, version=2), "membership"
        )
        pin = Pin(
            "silver",
            date(2027, 1, 1),
            "strategic account — Åsa's région",
            "usr_maria",
            datetime(2026, 7, 2, 9, 0, tzinfo=_ONE_MINUTE_WEST),
        )
        pinned = attrs.evolve(full, version=2, proposal=None, failing_reviews=0, pin=pin)
        with storage.unit_of_work() as uow:
            _save_membership(uow, pinned)
        _assert_same(
            _read_membership(storage, "prg_1", "ptn_1"),
            attrs.evolve(pinned, version=3),
            "membership",
        )

    def test_get_of_a_missing_membership_raises_not_found(self, storage: Storage) -> None:
        """``get`` raises `NotFoundError` for a partner not in the program, even if in another."""
        _add_memberships(storage, _membership("prg_1", "ptn_1"))
        with storage.unit_of_work() as uow:
            for key in (("prg_2", "ptn_1"), ("prg_1", "ptn_2")):
                with pytest.raises(NotFoundError):
                    uow.memberships.get(*key)

    def test_add_of_an_existing_membership_raises_conflict(self, storage: Storage) -> None:
        """A second membership of a partner in a program is refused; other programs are not."""
        first = _add_memberships(storage, _membership("prg_1", "ptn_1"))[0]
        with storage.unit_of_work() as uow:
            with pytest.raises(ConflictError):
                uow.memberships.add(_membership("prg_1", "ptn_1", joined_on=date(2025, 1, 1)))
            uow.memberships.add(_membership("prg_2", "ptn_1"))
            with pytest.raises(ConflictError):
                uow.memberships.add(_membership("prg_2", "ptn_1"))
            uow.commit()
        _assert_same(_read_membership(storage, "prg_1", "ptn_1"), first, "membership")

    def test_add_of_a_membership_with_a_version_raises_validation_error(
        self, storage: Storage
    ) -> None:
        """``add`` takes version 0 only; anything but a `Membership` is refused too."""
        with storage.unit_of_work() as uow:
            with pytest.raises(ValidationError):
                uow.memberships.add(_membership("prg_1", "ptn_1", version=3))
            with pytest.raises(ValidationError):
                uow.memberships.add(_partner("ptn_1"))  # type: ignore[arg-type]

    def test_membership_update_returns_one_version_higher(self, storage: Storage) -> None:
        """Each ``update`` returns version + 1, also several in one unit of work."""
        added = _add_memberships(storage, _membership("prg_1", "ptn_1"))[0]
        with storage.unit_of_work() as uow:
            second = uow.memberships.update(attrs.evolve(added, tier_id="registered"))
            third = uow.memberships.update(attrs.evolve(second, status=MembershipStatus.SUSPENDED))
            uow.commit()
        _equal((second.version, third.version), (2, 3), "versions returned by update()")
        _assert_same(
            _read_membership(storage, "prg_1", "ptn_1"),
            _membership(
                "prg_1",
                "ptn_1",
                tier_id="registered",
                status=MembershipStatus.SUSPENDED,
                version=3,
            ),
            "membership",
        )

    def test_stale_membership_update_raises_and_changes_nothing(self, storage: Storage) -> None:
        """An update based on an old, unknown or missing version raises; nothing changes."""
        _add_memberships(storage, _full_membership("prg_1", "ptn_1"))
        with storage.unit_of_work() as first:
            seen = first.memberships.get("prg_1", "ptn_1")
            with storage.unit_of_work() as second:
                _save_membership(second, attrs.evolve(seen, status=MembershipStatus.ENDED))
            before = _read_membership(storage, "prg_1", "ptn_1")
            with pytest.raises(StaleVersionError) as raised:
                _save_membership(first, attrs.evolve(seen, failing_reviews=0, proposal=None))
        _equal(
            (raised.value.key, raised.value.expected),
            ("prg_1/ptn_1", 1),
            "(raised key, expected)",
        )
        with storage.unit_of_work() as uow, pytest.raises(StaleVersionError):
            _save_membership(uow, attrs.evolve(before, version=7))
        with storage.unit_of_work() as uow, pytest.raises(StaleVersionError):
            _save_membership(uow, _membership("prg_1", "ptn_gone", version=1))
        _assert_same(_read_membership(storage, "prg_1", "ptn_1"), before, "membership")
        with storage.unit_of_work() as uow:
            _equal(uow.memberships.for_partner("ptn_gone"), [], "for_partner('ptn_gone')")

    def test_concurrent_membership_updates_lose_no_update(self, storage: Storage) -> None:
        """Racing read-modify-write units of work: each saves or gets `StaleVersionError`.

        6 threads each make 3 attempts; every attempt reads the membership, waits until
        all threads have read, then counts one more failing review and commits. The
        final count and version both say exactly how many saves there were.
        """
        _add_memberships(
            storage,
            _membership("prg_1", "ptn_contended", tier_id="silver", tier_since=_T0),
        )
        writers, rounds = 6, 3
        barrier = threading.Barrier(writers, timeout=_THREAD_TIMEOUT)
        saved: list[int] = []
        errors: list[BaseException] = []
        lock = threading.Lock()

        def attempt() -> bool:
            with storage.unit_of_work() as uow:
                seen = uow.memberships.get("prg_1", "ptn_contended")
                barrier.wait()
                try:
                    uow.memberships.update(
                        attrs.evolve(seen, failing_reviews=seen.failing_reviews + 1)
                    )
                    uow.commit()
                except StaleVersionError:
                    return False
                return True

        def write(writer: int) -> None:
            try:
                for _ in range(rounds):
                    if attempt():
                        with lock:
                            saved.append(writer)
            except BaseException as error:
                barrier.abort()
                with lock:
                    errors.append(error)

        threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(_THREAD_TIMEOUT)
        assert not any(thread.is_alive() for thread in threads), "writers never finished"
        assert not errors, f"writers failed with something other than StaleVersionError: {errors}"
        assert saved, "no writer managed to save"
        final = _read_membership(storage, "prg_1", "ptn_contended")
        _equal(
            (final.failing_reviews, final.version),
            (len(saved), 1 + len(saved)),
            f"lost updates: (failing_reviews, version) after {len(saved)} saves",
        )

    def test_membership_query_pages_in_partner_order_while_memberships_are_added(
        self, storage: Storage
    ) -> None:
        """Paging a program's members returns each once, by partner id, despite inserts."""
        ids = [f"ptn_{n:03d}0" for n in range(14)]
        _add_memberships(
            storage,
            *(_membership("prg_1", partner_id) for partner_id in reversed(ids)),
            *(_membership("prg_0", partner_id) for partner_id in ids[:3]),
            _membership("prg_2", "ptn_0000"),
        )
        seen: list[str] = []

        def fetch(cursor: str | None) -> Page[Membership]:
            with storage.unit_of_work() as uow:
                page = uow.memberships.query(program_id="prg_1", limit=3, cursor=cursor)
            seen.extend(_members(page.items))
            return page

        def insert(page_number: int) -> None:
            _add_memberships(
                storage,
                _membership("prg_1", f"{seen[-1]}+"),
                _membership("prg_1", f"ptn_{page_number:03d}1"),
                _membership("prg_1", f"ptn_9{page_number:03d}"),
            )

        walked = _members(_walk(fetch, limit=3, between=insert))
        assert len(walked) == len(set(walked)), f"members returned twice: {walked}"
        assert walked == sorted(walked), f"not in partner id order: {walked}"
        missing = sorted(set(ids) - set(walked))
        assert not missing, f"members that existed when paging began were skipped: {missing}"
        for limit in (1, 4, 100):
            _equal(
                _members(_walk_memberships(storage, program_id="prg_0", limit=limit)),
                ids[:3],
                f"prg_0 members with limit={limit}",
            )

    def test_membership_query_filters_return_exactly_the_matching_memberships(
        self, storage: Storage
    ) -> None:
        """``status`` and ``tier_id``, alone, combined and with paging, match exactly."""
        statuses = list(MembershipStatus)
        tiers: list[str | None] = [None, "registered", "silver"]
        members = []
        for n in range(18):
            tier_id = tiers[n % 3]
            members.append(
                _membership(
                    "prg_1",
                    f"ptn_{n:02d}",
                    status=statuses[(n // 3) % 3],
                    tier_id=tier_id,
                    tier_since=None if tier_id is None else _T0,
                )
            )
        _add_memberships(
            storage,
            *members,
            _membership("prg_2", "ptn_00", tier_id="silver", tier_since=_T0),
        )
        cases: list[dict[str, Any]] = [
            {},
            {"status": MembershipStatus.ACTIVE},
            {"status": MembershipStatus.ENDED},
            {"tier_id": "silver"},
            {"tier_id": "gold"},
            {"status": MembershipStatus.SUSPENDED, "tier_id": "registered"},
        ]
        for filters in cases:
            expected = [
                m.partner_id
                for m in members
                if all(getattr(m, name) == value for name, value in filters.items())
            ]
            for limit in (2, 100):
                _equal(
                    _members(
                        _walk_memberships(storage, program_id="prg_1", limit=limit, **filters)
                    ),
                    expected,
                    f"query(program_id='prg_1', limit={limit}, {filters})",
                )
        with storage.unit_of_work() as uow:
            for bad in ({"limit": 0}, {"limit": 10_001}, {"cursor": "not-a-cursor"}):
                with pytest.raises(ValidationError):
                    uow.memberships.query(program_id="prg_1", **bad)

    def test_membership_for_partner_lists_every_program_in_program_order(
        self, storage: Storage
    ) -> None:
        """``for_partner`` lists the partner's memberships only, committed and staged."""
        _add_memberships(
            storage,
            _membership("prg_c", "ptn_1"),
            _membership("prg_a", "ptn_1"),
            _membership("prg_a", "ptn_2"),
        )
        with storage.unit_of_work() as uow:
            uow.memberships.add(_membership("prg_b", "ptn_1"))
            listed = [m.program_id for m in uow.memberships.for_partner("ptn_1")]
        _equal(listed, ["prg_a", "prg_b", "prg_c"], "for_partner('ptn_1') in the unit")
        with storage.unit_of_work() as uow:
            _equal(
                [m.program_id for m in uow.memberships.for_partner("ptn_1")],
                ["prg_a", "prg_c"],
                "for_partner('ptn_1') after rollback",
            )

    def test_commit_that_fails_on_a_stale_membership_writes_nothing(self, storage: Storage) -> None:
        """A commit refused for a membership changed meanwhile writes nothing at all."""
        existing = _add_memberships(storage, _membership("prg_old", "ptn_1"))[0]
        with storage.unit_of_work() as slow:
            _write_tiers(slow, "prg_new", "ptn_new")
            slow.partners.add(_partner("ptn_new"))
            slow.memberships.update(attrs.evolve(existing, tier_id="registered"))
            with storage.unit_of_work() as fast:
                _save_membership(fast, attrs.evolve(existing, status=MembershipStatus.SUSPENDED))
            winner = _read_membership(storage, "prg_old", "ptn_1")
            with pytest.raises(StaleVersionError):
                slow.commit()
        _assert_same(_read_membership(storage, "prg_old", "ptn_1"), winner, "membership")
        _nothing_of_tiers(storage, "prg_new", "ptn_new")
        _expect(not _partner_exists(storage, "ptn_new"), "a partner of a refused commit was stored")
        _equal(storage.pending_events(), [], "storage.pending_events()")


class TierHistoryContract:
    """The promises of `partnerkit.storage.TierHistoryRepository`.

    Subclass it under a ``Test...`` name with a ``storage`` fixture; see the module
    docstring.
    """

    def test_tier_history_implements_the_protocol(self, storage: Storage) -> None:
        """``uow.tier_history`` has every method of `TierHistoryRepository`."""
        with storage.unit_of_work() as uow:
            _expect(
                isinstance(uow.tier_history, TierHistoryRepository),
                "uow.tier_history lacks methods of TierHistoryRepository",
            )

    @_PROPERTIES
    @given(drawn=tiers_strategies.tier_assignments())
    def test_any_tier_assignment_round_trips_through_save_for_partner_and_at(
        self, storage: Storage, drawn: TierAssignment
    ) -> None:
        """Every drawn assignment comes back whole from ``for_partner`` and ``at``."""
        assignment = attrs.evolve(drawn, partner_id=_fresh(drawn.partner_id))
        _save_assignments(storage, assignment)
        key = (assignment.program_id, assignment.partner_id)
        _assert_same(_tier_history(storage, *key), [assignment], "history")
        with storage.unit_of_work() as uow:
            found = uow.tier_history.at(*key, assignment.valid_from)
        if assignment.covers(assignment.valid_from):
            _assert_same(found, assignment, "at()")
        else:  # a zero-length stretch covers no instant, its own start included
            _expect(found is None, f"at(): expected None for an empty stretch, got {found!r}")

    def test_offsets_and_microseconds_round_trip_as_the_same_instants(
        self, storage: Storage
    ) -> None:
        """Instants in any offset come back equal and aware; the key is the instant."""
        start = datetime(2026, 1, 1, 0, 0, 0, 1, tzinfo=_NEPAL)
        closed = TierAssignment(
            "ptn_1",
            "prg_1",
            "silver",
            start,
            datetime(2026, 6, 30, 23, 59, 59, 999999, tzinfo=_MARQUESAS),
            TierChangeCause.PIN,
            "usr_maria",
        )
        _save_assignments(storage, closed)
        _assert_same(_tier_history(storage, "prg_1", "ptn_1"), [closed], "history")
        _save_assignments(storage, attrs.evolve(closed, valid_from=start.astimezone(_KIRIBATI)))
        _assert_same(_tier_history(storage, "prg_1", "ptn_1"), [closed], "history")

    def test_saving_a_stored_assignment_again_changes_nothing(self, storage: Storage) -> None:
        """The same assignment saved twice, in one unit or two, is stored once."""
        stretch = _assignment("prg_1", "ptn_1", 0, 5)
        with storage.unit_of_work() as uow:
            uow.tier_history.save(stretch)
            uow.tier_history.save(stretch)
            uow.commit()
        _save_assignments(storage, stretch)
        _assert_same(_tier_history(storage, "prg_1", "ptn_1"), [stretch], "history")

    def test_closing_an_open_assignment_rewrites_its_valid_until(self, storage: Storage) -> None:
        """Saving the open stretch with a ``valid_until`` closes it; the next one follows."""
        opened = _assignment("prg_1", "ptn_1", 0, tier_id="registered")
        _save_assignments(storage, opened)
        closed = attrs.evolve(opened, valid_until=_at(10))
        upgraded = _assignment("prg_1", "ptn_1", 10)
        _save_assignments(storage, closed, upgraded)
        _assert_same(_tier_history(storage, "prg_1", "ptn_1"), [closed, upgraded], "history")

    def test_an_assignment_that_does_more_than_close_raises_conflict_and_changes_nothing(
        self, storage: Storage
    ) -> None:
        """Another tier, cause or actor, or re-closing at another time, is refused."""
        closed = _assignment("prg_1", "ptn_1", 0, 5)
        opened = _assignment("prg_1", "ptn_1", 5, tier_id="registered")
        _save_assignments(storage, closed, opened)
        refused = [
            attrs.evolve(closed, valid_until=_at(6)),
            attrs.evolve(closed, valid_until=None),
            attrs.evolve(closed, tier_id="gold"),
            attrs.evolve(opened, cause=TierChangeCause.PIN),
            attrs.evolve(opened, actor="usr_maria"),
            attrs.evolve(opened, tier_id="gold", valid_until=_at(9)),
        ]
        for attempt in refused:
            with storage.unit_of_work() as uow, pytest.raises(ConflictError):
                _save_assignment(uow, attempt)
        _assert_same(_tier_history(storage, "prg_1", "ptn_1"), [closed, opened], "history")

    def test_a_different_assignment_under_a_key_staged_in_the_same_unit_raises_conflict(
        self, storage: Storage
    ) -> None:
        """Within one unit of work, a staged stretch may be closed but not replaced."""
        with storage.unit_of_work() as uow:
            uow.tier_history.save(_assignment("prg_1", "ptn_1", 0))
            with pytest.raises(ConflictError):
                uow.tier_history.save(_assignment("prg_1", "ptn_1", 0, tier_id="gold"))
            uow.tier_history.save(_assignment("prg_1", "ptn_1", 0, 3))
            with pytest.raises(ConflictError):
                uow.tier_history.save(_assignment("prg_1", "ptn_1", 0, 4))
            uow.commit()
        _assert_same(
            _tier_history(storage, "prg_1", "ptn_1"),
            [_assignment("prg_1", "ptn_1", 0, 3)],
            "history",
        )

    def test_tier_history_is_per_program_and_partner_in_valid_from_order(
        self, storage: Storage
    ) -> None:
        """``for_partner`` lists one membership's stretches by ``valid_from``, staged too."""
        mine = [
            _assignment("prg_1", "ptn_1", 0, 2, tier_id="registered"),
            _assignment("prg_1", "ptn_1", 2, 7),
            _assignment("prg_1", "ptn_1", 7, tier_id="gold"),
        ]
        _save_assignments(
            storage,
            mine[2],
            _assignment("prg_2", "ptn_1", 1),
            mine[0],
            _assignment("prg_1", "ptn_2", 1),
        )
        with storage.unit_of_work() as uow:
            uow.tier_history.save(mine[1])
            _assert_same(uow.tier_history.for_partner("prg_1", "ptn_1"), mine, "in the unit")
        _assert_same(_tier_history(storage, "prg_1", "ptn_1"), [mine[0], mine[2]], "after rollback")

    def test_at_returns_the_assignment_covering_the_instant(self, storage: Storage) -> None:
        """``valid_from`` is inclusive, ``valid_until`` exclusive; gaps and before give None."""
        history = [
            _assignment("prg_1", "ptn_1", 0, 2, tier_id="registered"),
            _assignment("prg_1", "ptn_1", 3, 7),
            _assignment("prg_1", "ptn_1", 7, tier_id="gold"),
        ]
        _save_assignments(storage, *history, _assignment("prg_2", "ptn_1", -5))
        tick = timedelta(microseconds=1)
        cases = [
            (_at(-1), None),
            (_at(0), "registered"),
            (_at(2) - tick, "registered"),
            (_at(2), None),
            (_at(3, _NEPAL), "silver"),
            (_at(7) - tick, "silver"),
            (_at(7, _MARQUESAS), "gold"),
            (_at(24 * 365 * 50), "gold"),
        ]
        with storage.unit_of_work() as uow:
            found = [
                (when, getattr(uow.tier_history.at("prg_1", "ptn_1", when), "tier_id", None))
                for when, _ in cases
            ]
            _equal(uow.tier_history.at("prg_3", "ptn_1", _at(8)), None, "at() of another program")
            with pytest.raises(ValidationError):
                uow.tier_history.at("prg_1", "ptn_1", datetime(2026, 1, 15, 12, 0))  # noqa: DTZ001 - the point of the test
        _equal(found, cases, "at(instant) -> tier_id")

    def test_at_sees_a_staged_closing(self, storage: Storage) -> None:
        """Inside a unit of work, ``at`` answers from the history as it will be stored."""
        opened = _assignment("prg_1", "ptn_1", 0, tier_id="registered")
        _save_assignments(storage, opened)
        with storage.unit_of_work() as uow:
            uow.tier_history.save(attrs.evolve(opened, valid_until=_at(4)))
            uow.tier_history.save(_assignment("prg_1", "ptn_1", 5))
            found = [
                getattr(uow.tier_history.at("prg_1", "ptn_1", _at(hours)), "tier_id", None)
                for hours in (1, 4.5, 6)
            ]
        _equal(found, ["registered", None, "silver"], "at() in the unit at 1h, 4.5h, 6h")

    def test_rolled_back_programs_memberships_and_history_leave_nothing_behind(
        self, storage: Storage
    ) -> None:
        """An exception, leaving without commit, or ``rollback()`` discards all of them."""

        def fail() -> None:
            with storage.unit_of_work() as uow:
                _write_tiers(uow, "prg_raised", "ptn_1")
                raise _DeliberateError

        with pytest.raises(_DeliberateError):
            fail()
        with storage.unit_of_work() as uow:
            _write_tiers(uow, "prg_abandoned", "ptn_1")
        with storage.unit_of_work() as uow:
            _write_tiers(uow, "prg_rolled_back", "ptn_1")
            uow.rollback()
            _equal(
                uow.tier_history.for_partner("prg_rolled_back", "ptn_1"),
                [],
                "history in its unit after rollback()",
            )
            uow.commit()
        for program_id in ("prg_raised", "prg_abandoned", "prg_rolled_back"):
            _nothing_of_tiers(storage, program_id, "ptn_1")

    def test_commit_that_fails_on_a_history_rewritten_meanwhile_writes_nothing(
        self, storage: Storage
    ) -> None:
        """Two units close one open stretch differently: the second commit writes nothing."""
        opened = _assignment("prg_1", "ptn_1", 0, tier_id="registered")
        _save_assignments(storage, opened)
        with storage.unit_of_work() as slow:
            _write_tiers(slow, "prg_new", "ptn_new")
            slow.tier_history.save(attrs.evolve(opened, valid_until=_at(3)))
            slow.tier_history.save(_assignment("prg_1", "ptn_1", 3))
            _save_assignments(
                storage,
                attrs.evolve(opened, valid_until=_at(2)),
                _assignment("prg_1", "ptn_1", 2, tier_id="gold"),
            )
            winner = _tier_history(storage, "prg_1", "ptn_1")
            with pytest.raises(ConflictError):
                slow.commit()
        _assert_same(_tier_history(storage, "prg_1", "ptn_1"), winner, "history")
        _nothing_of_tiers(storage, "prg_new", "ptn_new")
        _equal(storage.pending_events(), [], "storage.pending_events()")

    def test_a_review_run_is_saved_in_one_unit_of_work(self, storage: Storage) -> None:
        """Saving a `review` (memberships, histories, events) makes the next review a no-op."""
        program = _add_programs(storage, _program("prg_1"))[0].program
        _add_memberships(
            storage,
            _membership("prg_1", "ptn_old", tier_id="registered", tier_since=_T0),
            _membership("prg_1", "ptn_new", joined_on=date(2026, 6, 1)),
        )
        _save_assignments(storage, _assignment("prg_1", "ptn_old", 0, tier_id="registered"))

        def run_review(uow: UnitOfWork) -> ReviewRun:
            members = uow.memberships.query(program_id="prg_1").items
            return review(
                program,
                members,
                {m.partner_id: MetricSnapshot(m.partner_id, _PROGRAM_T0, {}) for m in members},
                as_of=_PROGRAM_T0,
                histories={
                    m.partner_id: uow.tier_history.for_partner("prg_1", m.partner_id)
                    for m in members
                },
            )

        with storage.unit_of_work() as uow:
            run = run_review(uow)
            for membership in run.memberships:
                uow.memberships.update(membership)
            for history in run.histories.values():
                for assignment in history:
                    uow.tier_history.save(assignment)
            uow.publish(*run.events)
            uow.commit()
        with storage.unit_of_work() as uow:
            tiers = {
                partner_id: (
                    uow.memberships.get("prg_1", partner_id).tier_id,
                    [a.tier_id for a in uow.tier_history.for_partner("prg_1", partner_id)],
                    getattr(uow.tier_history.at("prg_1", partner_id, _PROGRAM_T0), "tier_id", None),
                )
                for partner_id in ("ptn_old", "ptn_new")
            }
            again = run_review(uow)
        _equal(
            tiers,
            {
                "ptn_old": ("silver", ["registered", "silver"], "silver"),
                "ptn_new": ("registered", ["registered"], "registered"),
            },
            "membership tier, history and tier at the review, per partner",
        )
        _equal((again.memberships, again.events), ((), ()), "a second review of the saved run")
        _equal(_pending_kinds(storage), ["tier.changed", "tier.changed"], "pending events")


# --- Deal registrations and the claim on the customer ---

_MANAGER: Final = "usr_manager"
_CLOSE_ON: Final = date(2026, 12, 31)


def _customer_tag() -> str:
    """A company word no other test's customer shares (letters and digits only)."""
    return f"cust{next(_serial)}x"


def _customer(tag: str, variant: int = 0) -> Customer:
    """One customer written ``variant`` ways, all sharing the same customer keys.

    Variants differ in case, punctuation, legal form and website host, as two
    partners' registrations for one company do; every one shares the normalised
    name key, and those with a website share its registrable domain.
    """
    names = (
        f"Nordic {tag} Cloud Oy",
        f"NORDIC {tag.upper()} CLOUD",
        f"Nordic-{tag}-Cloud Oy.",
        f"nordic {tag} cloud",
    )
    domains = (f"{tag}.fi", f"www.{tag}.fi", f"shop.{tag}.fi", None)
    return Customer(
        name=names[variant % len(names)],
        country="FI",
        domain=domains[variant % len(domains)],
    )


def _draft(
    deal_id: str, partner_id: str = "ptn_a", customer: Customer | None = None, **fields: Any
) -> DealRegistration:
    values: dict[str, Any] = {
        "customer": customer or _customer(_customer_tag()),
        "amount": Money("25000.50", "EUR"),
        "expected_close_on": _CLOSE_ON,
        "registered_at": _T0,
        "products": ("CRM",),
    }
    values.update(fields)
    return DealRegistration(id=deal_id, partner_id=partner_id, **values)


def _submitted(
    deal_id: str, partner_id: str = "ptn_a", customer: Customer | None = None
) -> DealRegistration:
    return submit(_draft(deal_id, partner_id, customer), actor="usr_partner", at=_at(1)).value


def _approved(registration: DealRegistration, *, days: int = 90) -> DealRegistration:
    return approve(registration, actor=_MANAGER, at=_at(2), protection=days).value


def _add_deals(storage: Storage, *registrations: DealRegistration) -> list[DealRegistration]:
    with storage.unit_of_work() as uow:
        added = [uow.deals.add(registration) for registration in registrations]
        uow.commit()
    return added


def _save_deal(uow: UnitOfWork, registration: DealRegistration) -> None:
    # One call, so a test can expect a refusal from either update() or commit().
    uow.deals.update(registration)
    uow.commit()


def _commit_approval(uow: UnitOfWork, approved: DealRegistration, events: Iterable[Event]) -> None:
    # One call, so a test can expect the refusal from any step: an adapter that
    # writes events at once may refuse at publish().
    uow.deals.update(approved)
    uow.publish(*events)
    uow.commit()


def _read_deal(storage: Storage, deal_id: str) -> DealRegistration:
    with storage.unit_of_work() as uow:
        return uow.deals.get(deal_id)


def _holders(storage: Storage, keys: Iterable[str]) -> dict[str, str | None]:
    with storage.unit_of_work() as uow:
        return {key: uow.deals.holder(key) for key in keys}


def _claims(storage: Storage, deal_id: str) -> tuple[str, ...]:
    with storage.unit_of_work() as uow:
        return uow.deals.claims_for(deal_id)


def _walk_deals(storage: Storage, *, limit: int, **filters: Any) -> list[DealRegistration]:
    with storage.unit_of_work() as uow:
        return _walk(
            lambda cursor: uow.deals.query(limit=limit, cursor=cursor, **filters), limit=limit
        )


def _uniquely_customed(registration: DealRegistration) -> DealRegistration:
    """``registration`` for a customer no other test uses, so its claims never clash."""
    tag = _customer_tag()
    customer = attrs.evolve(
        registration.customer,
        name=f"{registration.customer.name} {tag}",
        domain=None if registration.customer.domain is None else f"www.{tag}.fi",
        contact_email=None if registration.customer.contact_email is None else f"buyer@{tag}.fi",
    )
    return attrs.evolve(registration, id=_fresh("deal"), customer=customer)


class DealRepositoryContract:
    """Deal registrations, their versions, and the atomic claim on the customer.

    The heart of it is `test_concurrent_approvals_approve_exactly_one_per_customer`:
    many threads approve different registrations for the same customers at once,
    and exactly one approval per customer may commit.
    """

    def test_deals_implements_the_protocol(self, storage: Storage) -> None:
        """``uow.deals`` is a `DealRepository`."""
        with storage.unit_of_work() as uow:
            assert isinstance(uow.deals, DealRepository)

    def test_every_deal_field_round_trips_through_add_update_and_get(
        self, storage: Storage
    ) -> None:
        """Every field, the whole history included, comes back exactly; versions count up."""
        first = _approved(_submitted(_fresh("deal")))
        extended = request_extension(
            first, 30, actor="usr_partner", at=_at(3), reason="customer's board meets late"
        ).value
        granted = approve_extension(extended, actor=_MANAGER, at=_at(4)).value
        (added,) = _add_deals(storage, first)
        _assert_same(added, attrs.evolve(first, version=1), "add()")
        _assert_same(_read_deal(storage, first.id), attrs.evolve(first, version=1), "deal")
        with storage.unit_of_work() as uow:
            saved = uow.deals.update(attrs.evolve(granted, version=1))
            uow.commit()
        _assert_same(saved, attrs.evolve(granted, version=2), "update()")
        _assert_same(_read_deal(storage, first.id), attrs.evolve(granted, version=2), "deal")

    @_PROPERTIES
    @given(registration=deals_strategies.deal_registrations())
    def test_any_deal_round_trips_through_add_get_and_query(
        self, storage: Storage, registration: DealRegistration
    ) -> None:
        """Any registration, in any status, comes back exactly as it was added."""
        registration = _uniquely_customed(registration)
        _add_deals(storage, registration)
        expected = attrs.evolve(registration, version=1)
        _assert_same(_read_deal(storage, registration.id), expected, "deal")
        found = _walk_deals(storage, limit=1000, partner_id=registration.partner_id)
        _assert_same([r for r in found if r.id == registration.id], [expected], "query()")

    def test_get_of_a_missing_deal_raises_not_found(self, storage: Storage) -> None:
        """``get`` of an unknown id raises `NotFoundError` for kind ``deal``."""
        with storage.unit_of_work() as uow, pytest.raises(NotFoundError) as caught:
            uow.deals.get("deal_missing")
        _equal((caught.value.kind, caught.value.key), ("deal", "deal_missing"), "error")

    def test_add_of_an_existing_deal_id_raises_conflict(self, storage: Storage) -> None:
        """A taken id is refused, whether committed or added earlier in the unit of work."""
        deal_id = _fresh("deal")
        _add_deals(storage, _draft(deal_id))
        with storage.unit_of_work() as uow:
            with pytest.raises(ConflictError):
                uow.deals.add(_draft(deal_id))
            other = _fresh("deal")
            uow.deals.add(_draft(other))
            with pytest.raises(ConflictError):
                uow.deals.add(_draft(other))

    def test_add_of_a_deal_with_a_version_or_of_another_type_raises_validation_error(
        self, storage: Storage
    ) -> None:
        """``add`` takes new registrations only (version 0)."""
        with storage.unit_of_work() as uow:
            with pytest.raises(ValidationError):
                uow.deals.add(attrs.evolve(_draft(_fresh("deal")), version=3))
            with pytest.raises(ValidationError):
                uow.deals.add(cast("DealRegistration", _partner("ptn_not_a_deal")))

    def test_stale_deal_update_raises_and_changes_nothing(self, storage: Storage) -> None:
        """An update based on an old version raises `StaleVersionError`, writing nothing."""
        (stored,) = _add_deals(storage, _submitted(_fresh("deal")))
        with storage.unit_of_work() as uow:
            _save_deal(uow, attrs.evolve(stored, notes="first"))
        with storage.unit_of_work() as uow, pytest.raises(StaleVersionError):
            _save_deal(uow, _approved(stored))
        current = _read_deal(storage, stored.id)
        _equal((current.version, current.notes, current.status), (2, "first", "submitted"), "deal")
        _equal(_claims(storage, stored.id), (), "claims_for() after the stale approval")
        with storage.unit_of_work() as uow, pytest.raises(StaleVersionError):
            _save_deal(uow, attrs.evolve(_draft(_fresh("deal")), version=1))

    def test_deal_query_pages_by_id_with_filters_and_stable_cursors(self, storage: Storage) -> None:
        """``query`` filters by partner and status, orders by id, and pages stably."""
        prefix = _fresh("deal")
        drafts = [_draft(f"{prefix}_{n:02}", f"ptn_{n % 3}") for n in range(12)]
        submitted = [_submitted(f"{prefix}_s{n}", "ptn_0") for n in range(3)]
        _add_deals(storage, *drafts, *submitted)
        mine = [r for r in _walk_deals(storage, limit=5) if r.id.startswith(prefix)]
        _equal(_ids(mine), sorted(_ids([*drafts, *submitted])), "every registration, by id")
        ptn_0 = _walk_deals(storage, limit=2, partner_id="ptn_0")
        _equal(
            [r.id for r in ptn_0 if r.id.startswith(prefix)],
            sorted(_ids([*drafts[::3], *submitted])),
            "query(partner_id='ptn_0')",
        )
        sent = _walk_deals(storage, limit=2, partner_id="ptn_0", status=DealStatus.SUBMITTED)
        _equal(_ids(sent), _ids(submitted), "query(partner_id='ptn_0', status=SUBMITTED)")
        late = [_draft(f"{prefix}_00{n}", "ptn_1") for n in range(3)]  # sort before

        def add_one(page: int) -> None:
            _add_deals(storage, late[page])

        with storage.unit_of_work() as uow:
            seen = _ids(
                _walk(
                    lambda cursor: uow.deals.query(partner_id="ptn_1", limit=2, cursor=cursor),
                    limit=2,
                    between=add_one,
                )
            )
        _equal(len(seen), len(set(seen)), "registrations returned while paging")
        _expect(set(_ids(drafts[1::3])) <= set(seen), "paging skipped a registration")
        with storage.unit_of_work() as uow:
            with pytest.raises(ValidationError):
                uow.deals.query(cursor="not-a-cursor")
            with pytest.raises(ValidationError):
                uow.deals.query(limit=0)
            with pytest.raises(ValidationError):
                uow.deals.query(limit=1001)

    def test_active_lists_submitted_and_approved_registrations_only(self, storage: Storage) -> None:
        """``active`` is what a `ConflictIndex` is built from: submitted and approved."""
        prefix = _fresh("deal")
        sent = _submitted(f"{prefix}_b")
        kept = _approved(_submitted(f"{prefix}_d"))
        others = [
            _draft(f"{prefix}_a"),
            reject(_submitted(f"{prefix}_c"), actor=_MANAGER, at=_at(2), reason="dup").value,
            withdraw(_submitted(f"{prefix}_e"), actor="usr_partner", at=_at(2)).value,
            win(_approved(_submitted(f"{prefix}_f")), actor=_MANAGER, at=_at(3)).value,
            lose(_approved(_submitted(f"{prefix}_g")), actor=_MANAGER, at=_at(3), reason="x").value,
        ]
        _add_deals(storage, sent, kept, *others)
        with storage.unit_of_work() as uow:
            found = _walk(lambda cursor: uow.deals.active(limit=1, cursor=cursor), limit=1)
        mine = [r for r in found if r.id.startswith(prefix)]
        _equal(_ids(mine), [sent.id, kept.id], "active()")
        _expect(all(r.status in ACTIVE_STATUSES for r in found), "active() lists inactive ones")

    def test_due_to_expire_and_expiring_within_find_approved_ones_by_protection_end(
        self, storage: Storage
    ) -> None:
        """The sweep finds lapsed approvals; reminders those ending in a window."""
        prefix = _fresh("deal")
        short, middle, long = (
            _approved(_submitted(f"{prefix}_{days}"), days=days) for days in (10, 20, 30)
        )
        won = win(_approved(_submitted(f"{prefix}_won"), days=5), actor=_MANAGER, at=_at(3))
        _add_deals(storage, long, short, middle, won.value)
        day = timedelta(days=1)
        start = _at(2)
        with storage.unit_of_work() as uow:
            due = [r for r in uow.deals.due_to_expire(start + 20 * day) if r.id.startswith(prefix)]
            _equal(_ids(due), [short.id, middle.id], "due_to_expire(+20 days)")
            first = uow.deals.due_to_expire(start + 40 * day, limit=1)
            _equal(len(first), 1, "due_to_expire(limit=1)")
            soon = uow.deals.expiring_within(start + 10 * day, start + 30 * day)
            _equal(
                [r.id for r in soon if r.id.startswith(prefix)],
                [middle.id, long.id],
                "expiring_within(+10 days, +30 days)",
            )
            lapsed = expire(short, at=start + 11 * day).value
            uow.deals.update(attrs.evolve(lapsed, version=1))
            due = [r for r in uow.deals.due_to_expire(start + 20 * day) if r.id.startswith(prefix)]
            _equal(_ids(due), [middle.id], "due_to_expire() after expiring one in the unit")
            uow.commit()
        with storage.unit_of_work() as uow:
            due = [r for r in uow.deals.due_to_expire(start + 20 * day) if r.id.startswith(prefix)]
        _equal(_ids(due), [middle.id], "due_to_expire() after the sweep committed")

    def test_an_approved_registration_claims_every_customer_key(self, storage: Storage) -> None:
        """Saving it approved claims all of `customer_keys`; submitted claims none."""
        registration = _submitted(_fresh("deal"))
        keys = customer_keys(registration)
        (stored,) = _add_deals(storage, registration)
        _equal(_claims(storage, stored.id), (), "claims_for() of a submitted registration")
        _equal(_holders(storage, keys), dict.fromkeys(keys), "holders before approval")
        with storage.unit_of_work() as uow:
            uow.deals.update(_approved(stored))
            _equal(uow.deals.claims_for(stored.id), keys, "claims_for() in the unit")
            uow.commit()
        _equal(_claims(storage, stored.id), keys, "claims_for() after commit")
        _equal(_holders(storage, keys), dict.fromkeys(keys, stored.id), "holders after commit")

    def test_a_second_approval_for_the_customer_is_refused_at_commit_and_writes_nothing(
        self, storage: Storage
    ) -> None:
        """Another partner's approval for a claimed customer: `ConflictError`, nothing written."""
        tag = _customer_tag()
        first = _submitted(_fresh("deal"), "ptn_first", _customer(tag, 0))
        second = _submitted(_fresh("deal"), "ptn_second", _customer(tag, 1))
        one, two = _add_deals(storage, first, second)
        with storage.unit_of_work() as uow:
            _save_deal(uow, _approved(one))
        with storage.unit_of_work() as uow:
            approved, events = approve(two, actor=_MANAGER, at=_at(3))
            uow.activities.append([_activity(_fresh("act"))])
            with pytest.raises(ConflictError) as caught:
                _commit_approval(uow, approved, events)
        _equal(caught.value.kind, "deal", "ConflictError.kind")
        message = str(caught.value)
        _expect(one.id in message, f"the refusal does not name the holder: {message}")
        _expect(
            any(key in message for key in customer_keys(first)),
            f"the refusal does not name the customer key: {message}",
        )
        _equal(_read_deal(storage, two.id).status, DealStatus.SUBMITTED, "the refused one")
        _equal(_claims(storage, two.id), (), "claims_for() of the refused one")
        _equal(_pending_kinds(storage), [], "events of the refused commit")

    def test_two_approvals_for_one_customer_in_one_unit_of_work_are_refused(
        self, storage: Storage
    ) -> None:
        """Two registrations claiming one key in the same commit: refused, nothing written."""
        tag = _customer_tag()
        one, two = _add_deals(
            storage,
            _submitted(_fresh("deal"), "ptn_1", _customer(tag, 2)),
            _submitted(_fresh("deal"), "ptn_2", _customer(tag, 3)),
        )
        with storage.unit_of_work() as uow:
            uow.deals.update(_approved(one))
            uow.deals.update(_approved(two))
            with pytest.raises(ConflictError):
                uow.commit()
        statuses = [_read_deal(storage, r.id).status for r in (one, two)]
        _equal(statuses, ["submitted", "submitted"], "statuses after the refused commit")
        _equal(_holders(storage, customer_keys(one)), dict.fromkeys(customer_keys(one)), "holders")

    def test_claims_are_released_when_a_registration_leaves_approved(
        self, storage: Storage
    ) -> None:
        """Lost, expired and won registrations release the customer for the next approval."""
        later = _at(2) + timedelta(days=2)
        endings: dict[str, Callable[[DealRegistration], DealRegistration]] = {
            "lose": lambda held: lose(held, actor=_MANAGER, at=later, reason="went direct").value,
            "expire": lambda held: expire(held, at=later).value,
            "win": lambda held: win(held, actor=_MANAGER, at=later).value,
        }
        for ending, end in endings.items():
            tag = _customer_tag()
            first, second = _add_deals(
                storage,
                _submitted(_fresh("deal"), "ptn_first", _customer(tag, 0)),
                _submitted(_fresh("deal"), "ptn_second", _customer(tag, 2)),
            )
            with storage.unit_of_work() as uow:
                _save_deal(uow, _approved(first, days=1))
            with storage.unit_of_work() as uow:
                _save_deal(uow, end(_read_deal(storage, first.id)))
            _equal(_claims(storage, first.id), (), f"claims_for() after {ending}")
            with storage.unit_of_work() as uow:
                _save_deal(uow, _approved(second))
            keys = customer_keys(second)
            _equal(_holders(storage, keys), dict.fromkeys(keys, second.id), f"after {ending}")

    def test_a_release_and_a_claim_in_one_unit_of_work_commit_together(
        self, storage: Storage
    ) -> None:
        """Expiring the holder and approving a rival in one commit succeeds."""
        tag = _customer_tag()
        first, second = _add_deals(
            storage,
            _submitted(_fresh("deal"), "ptn_first", _customer(tag, 1)),
            _submitted(_fresh("deal"), "ptn_second", _customer(tag, 0)),
        )
        with storage.unit_of_work() as uow:
            _save_deal(uow, _approved(first, days=1))
        with storage.unit_of_work() as uow:
            uow.deals.update(_approved(second))  # saved first: the release comes later
            uow.deals.update(expire(_read_deal(storage, first.id), at=_at(30)).value)
            uow.commit()
        keys = customer_keys(second)
        _equal(_holders(storage, keys), dict.fromkeys(keys, second.id), "holders")

    def test_rolled_back_and_failed_commits_leave_no_claims(self, storage: Storage) -> None:
        """An approval rolled back, or in a commit that failed, claims nothing."""
        (stored,) = _add_deals(storage, _submitted(_fresh("deal")))
        keys = customer_keys(stored)
        with storage.unit_of_work() as uow:
            uow.deals.update(_approved(stored))
            uow.rollback()
            _equal(uow.deals.claims_for(stored.id), (), "claims_for() in the unit after rollback")
        with storage.unit_of_work() as uow:
            uow.deals.update(_approved(stored))
        _equal(_holders(storage, keys), dict.fromkeys(keys), "holders after leaving the block")
        taken = _draft(_fresh("deal"))
        with storage.unit_of_work() as uow:
            uow.deals.add(taken)
            uow.deals.update(_approved(stored))
            _add_deals(storage, taken)  # another unit of work takes the id meanwhile
            with pytest.raises(ConflictError):
                uow.commit()
        _equal(_holders(storage, keys), dict.fromkeys(keys), "holders after a failed commit")
        _equal(_read_deal(storage, stored.id).version, 1, "version after a failed commit")

    def test_concurrent_approvals_approve_exactly_one_per_customer(self, storage: Storage) -> None:
        """The race: 24 threads approve 24 registrations for 3 customers at once.

        Each thread reads its own registration (8 partners per customer, each
        writing the customer differently), waits until every thread has read,
        approves it and commits. Exactly one commit per customer may succeed; the
        others get `ConflictError` (or `StaleVersionError`) and write nothing.
        """
        customers, contenders = 3, 8
        tags = [_customer_tag() for _ in range(customers)]
        entries = {_fresh("deal"): (tag, n) for tag in tags for n in range(contenders)}
        _add_deals(
            storage,
            *(
                _submitted(deal_id, f"ptn_{n}", _customer(tag, n))
                for deal_id, (tag, n) in entries.items()
            ),
        )
        barrier = threading.Barrier(len(entries), timeout=_THREAD_TIMEOUT)
        outcomes: dict[str, str] = {}
        errors: list[BaseException] = []
        lock = threading.Lock()

        def attempt(deal_id: str) -> None:
            try:
                with storage.unit_of_work() as uow:
                    seen = uow.deals.get(deal_id)
                    barrier.wait()  # everyone has read before anyone approves
                    approved, events = approve(seen, actor=_MANAGER, at=_at(3))
                    try:
                        _commit_approval(uow, approved, events)
                        outcome = "approved"
                    except ConflictError:  # StaleVersionError is one too
                        outcome = "refused"
                with lock:
                    outcomes[deal_id] = outcome
            except BaseException as error:
                barrier.abort()
                with lock:
                    errors.append(error)

        threads = [threading.Thread(target=attempt, args=(deal_id,)) for deal_id in entries]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(_THREAD_TIMEOUT)
        assert not any(thread.is_alive() for thread in threads), "approvers never finished"
        assert not errors, f"approvers failed with something other than ConflictError: {errors}"
        _equal(len(outcomes), len(entries), "attempts that finished")
        stored = {deal_id: _read_deal(storage, deal_id) for deal_id in entries}
        approvals = [
            sum(1 for d, (t, _) in entries.items() if t == tag and stored[d].status == "approved")
            for tag in tags
        ]
        _equal(approvals, [1] * customers, "approvals per customer")
        for deal_id, registration in stored.items():
            won = outcomes[deal_id] == "approved"
            _equal(
                (registration.status, registration.version),
                ("approved", 2) if won else ("submitted", 1),
                f"{deal_id} ({outcomes[deal_id]})",
            )
            keys = customer_keys(registration)
            if won:
                _equal(_holders(storage, keys), dict.fromkeys(keys, deal_id), "holders")
            else:
                _equal(_claims(storage, deal_id), (), f"claims_for({deal_id!r}) of a loser")
        _equal(_pending_kinds(storage), ["deal.approved"] * customers, "pending events")


class StorageContract(
    PartnerRepositoryContract,
    ActivityLedgerContract,
    ScoreRepositoryContract,
    ProgramRepositoryContract,
    MembershipRepositoryContract,
    TierHistoryContract,
    DealRepositoryContract,
    UnitOfWorkContract,
):
    """Every contract at once: what a complete partnerkit store must pass.

    Example::

        class TestMyStorage(StorageContract):
            @pytest.fixture
            def storage(self, tmp_path):
                store = MyStorage(tmp_path / "db")
                yield store
                store.close()
    """
