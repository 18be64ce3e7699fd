"""Whatever a partner user sends, no stored record of another partner changes."""

import contextlib
import warnings

import attrs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from partnerkit import DealRegistration, PartnerkitError
from partnerkit.access import Actor, Role
from partnerkit.services import DealChanges, PartnerChanges
from partnerkit.storage.memory import MemoryStorage
from partnerkit.testing import strategies as pks

from .world import USER_A, build, snapshot_of_b

WORLD = build(MemoryStorage())
WORLD_ADMIN = Actor("usr_admin", Role.ADMIN)
TARGETS = st.sampled_from(["ptn_a", "ptn_b", "ptn_b_child", "ptn_missing"])
DEALS = st.sampled_from([*sorted(WORLD.deals.values()), "deal_missing"])
SETTINGS = settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)


def registrations() -> st.SearchStrategy[DealRegistration]:
    """Registrations, some forged to carry the id and version of a stored one of B's."""
    stored = [WORLD.services.get_deal(WORLD_ADMIN, d) for d in sorted(WORLD.deals.values())]
    forged = st.tuples(pks.deal_registrations(), st.sampled_from(stored)).map(
        lambda pair: attrs.evolve(pair[0], id=pair[1].id, version=pair[1].version)
    )
    return st.one_of(pks.deal_registrations(), forged)


BEFORE = snapshot_of_b(WORLD)


@SETTINGS
@given(registration=registrations(), partner_id=st.none() | TARGETS)
def test_submitting_anything_never_changes_another_partners_records(
    registration: DealRegistration, partner_id: str | None
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with contextlib.suppress(PartnerkitError):
            WORLD.services.submit_deal(USER_A, registration, partner_id=partner_id)
    assert snapshot_of_b(WORLD) == BEFORE


@SETTINGS
@given(
    target=TARGETS,
    contacts=st.none()
    | st.tuples(pks.contacts(primary=True))
    | st.lists(pks.contacts(), max_size=2).map(tuple),
    domains=st.none()
    | st.lists(st.sampled_from(["a.fi", "b.se", "evil.example"]), max_size=2).map(
        lambda d: tuple(dict.fromkeys(d))
    ),
    owner=st.none() | st.sampled_from(["usr_ma", "usr_thief"]),
    version=st.none() | st.integers(0, 5),
)
def test_changing_anything_never_changes_another_partners_records(
    target: str,
    contacts: tuple[object, ...] | None,
    domains: tuple[str, ...] | None,
    owner: str | None,
    version: int | None,
) -> None:
    try:
        changes = PartnerChanges(contacts=contacts, domains=domains, owner_id=owner)  # type: ignore[arg-type]
        WORLD.services.update_partner(USER_A, target, changes, version=version)
    except PartnerkitError:
        pass
    assert snapshot_of_b(WORLD) == BEFORE


@SETTINGS
@given(deal_id=DEALS, notes=st.text(max_size=20), whole=pks.deal_registrations())
def test_amending_or_submitting_by_id_never_changes_another_partners_records(
    deal_id: str, notes: str, whole: DealRegistration
) -> None:
    for attempt in (
        lambda: WORLD.services.amend_deal(USER_A, deal_id, DealChanges(notes=notes)),
        lambda: WORLD.services.amend_deal(
            USER_A, deal_id, DealChanges(customer=whole.customer, amount=whole.amount)
        ),
        lambda: WORLD.services.submit_deal(USER_A, deal_id),
        lambda: WORLD.services.withdraw_deal(USER_A, deal_id),
        lambda: WORLD.services.close_deal(USER_A, deal_id, won=True),
    ):
        with contextlib.suppress(PartnerkitError):
            attempt()
    assert snapshot_of_b(WORLD) == BEFORE


def test_partner_users_still_change_their_own_partner() -> None:
    changed = WORLD.services.update_partner(USER_A, "ptn_a", PartnerChanges(domains=("a.fi",)))
    assert changed.value.domains == ("a.fi",)
