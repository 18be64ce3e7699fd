"""Trusted construction builds exactly what the validating constructor would."""

from datetime import date

import attrs
from hypothesis import given

from partnerkit import Partner
from partnerkit._base.trusted import builder, evolve_trusted, trusted, trusted_from
from partnerkit.testing import strategies as pks
from partnerkit.tiers import Membership


@given(pks.partners())
def test_a_trusted_copy_with_a_new_version_equals_attrs_evolve(partner: Partner) -> None:
    assert evolve_trusted(partner, version=7) == attrs.evolve(partner, version=7)


@given(pks.partners())
def test_building_from_every_field_gives_an_equal_instance(partner: Partner) -> None:
    values = attrs.asdict(partner, recurse=False)

    assert trusted_from(Partner, values) == partner
    assert trusted(Partner, **values) == partner
    assert builder(Partner)(*values.values()) == partner


def test_a_change_to_none_is_applied_and_the_original_is_untouched() -> None:
    member = Membership("ptn_1", "prg_1", date(2025, 1, 31))
    held = attrs.evolve(member, tier_id="silver")

    cleared = evolve_trusted(held, tier_id=None)

    assert (cleared.tier_id, held.tier_id) == (None, "silver")
    assert cleared == member


def test_a_subclass_stays_its_own_class() -> None:
    @attrs.frozen
    class Base:
        name: str

    class Special(Base):
        pass

    assert type(evolve_trusted(Special("a"), name="b")) is Special


def test_a_builder_takes_fields_whatever_their_names() -> None:
    @attrs.frozen
    class Awkward:
        cls: str
        instance: int
        new: bool

    assert builder(Awkward)("a", 1, True) == Awkward("a", 1, True)


def test_slotted_and_dict_backed_classes_are_built_alike() -> None:
    @attrs.frozen(slots=False)
    class Plain:
        name: str
        count: int

    @attrs.frozen
    class Slotted:
        name: str
        count: int

    class Below(Slotted):
        pass

    for cls in (Plain, Slotted, Below):
        built = builder(cls)("a", 2)
        assert type(built) is cls
        assert built == cls("a", 2)
        assert evolve_trusted(built, count=3) == cls("a", 3)
