"""Every legal form of the table, per jurisdiction, at the start, the end and in the middle."""

# Names in other scripts are the point of these tests.
# ruff: noqa: RUF001
import re
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from partnerkit.deals import LEGAL_FORM_COUNT, normalize_company_name
from partnerkit.deals._legal_forms import JURISDICTIONS, PLACEMENTS
from partnerkit.deals._names import legal_forms_of
from partnerkit.testing import _deals as pkd

CORES = ("Nordkraft", "Zentrix Technologies", "Blue Sky Media", "Ridgeway Capital")
EXPECTED = {core: " ".join(core.lower().split()) for core in CORES}
# A dot between a letter and a word ("s.coop.", "spol.s") is not dropped when typing.
_KEPT_DOT = re.compile(r"\w{2,}\.\w|\w\.\w{2,}")
# Spellings people type: as listed, upper case, without dots, and without diacritics.
SPELLINGS = (
    lambda form: form,
    str.upper,
    lambda form: form if _KEPT_DOT.search(form) or not form.strip(".") else form.replace(".", ""),
    # Diacritics dropped from Latin letters ("spolka", "Societe"); in Cyrillic, й is
    # a letter of its own.
    lambda form: (
        form
        if any(ord(char) >= 0x0400 for char in form)
        else "".join(
            char for char in unicodedata.normalize("NFKD", form) if not unicodedata.combining(char)
        )
    ),
)
BY_CODE = {jurisdiction.code: jurisdiction for jurisdiction in JURISDICTIONS}


def home(code: str) -> str | None:
    countries = BY_CODE[code].countries
    return countries[0] if countries else None


def forms(code: str, *placements: str) -> list[str]:
    return [form for placement in placements for form in legal_forms_of(placement, code)]  # type: ignore[arg-type]


def test_more_than_fifty_jurisdictions_and_four_hundred_forms() -> None:
    assert len(JURISDICTIONS) >= 50
    assert len(set(BY_CODE)) == len(JURISDICTIONS)
    assert LEGAL_FORM_COUNT >= 400


def test_every_placement_is_known() -> None:
    for jurisdiction in JURISDICTIONS:
        assert set(jurisdiction.forms) <= set(PLACEMENTS), jurisdiction.code


@pytest.mark.parametrize("code", sorted(BY_CODE))
def test_forms_are_removed_at_the_end_of_any_name(code: str) -> None:
    wrong = [
        (core, spelled)
        for index, form in enumerate(forms(code, *PLACEMENTS))
        for spell in SPELLINGS
        for core in (CORES[index % len(CORES)],)
        for spelled in (spell(form),)
        if normalize_company_name(f"{core} {spelled}") != EXPECTED[core]
        and normalize_company_name(f"{core}, {spelled}", home(code)) != EXPECTED[core]
    ]
    assert wrong == []


@pytest.mark.parametrize("code", sorted(BY_CODE))
def test_forms_are_removed_at_the_start_in_their_own_country(code: str) -> None:
    country = home(code)
    placements = ("any", "edge", "start") if country is None else ("any", "edge", "start", "end")
    wrong = [
        (core, spelled)
        for index, form in enumerate(forms(code, *placements))
        for spell in SPELLINGS
        for core in (CORES[index % len(CORES)],)
        for spelled in (spell(form),)
        if normalize_company_name(f"{spelled} {core}", country) != EXPECTED[core]
    ]
    assert wrong == []


@pytest.mark.parametrize("code", sorted(BY_CODE))
def test_forms_are_removed_in_the_middle_in_their_own_country(code: str) -> None:
    country = home(code)
    placements = ("any",) if country is None else ("any", "edge", "start", "end")
    # "OG" (Austria) and "ET" (Bulgaria) between two words are read as "and".
    wrong = [
        (form, spelled)
        for form in forms(code, *placements)
        if form.lower() not in {"og", "et"}
        for spell in SPELLINGS
        for spelled in (spell(form),)
        if normalize_company_name(f"Nordkraft {spelled} Bergen", country) != "nordkraft bergen"
    ]
    assert wrong == []


@pytest.mark.parametrize(
    ("name", "country", "expected"),
    [
        ("AB Nordkraft", "SE", "nordkraft"),
        ("Nordkraft AB", "SE", "nordkraft"),
        ("Nordkraft Aktiebolag", "SE", "nordkraft"),
        ("ASA Fjordlink", "NO", "fjordlink"),
        ("OJSC Volga Metals", "RU", "volga metals"),
        ("Volga Metals Open Joint Stock Company", "RU", "volga metals"),
        ("PT Sinar Jaya Tbk", "ID", "sinar jaya"),
        ("Ridgeway SACIF", "AR", "ridgeway"),
        ("Ridgeway S.A.I.C.", "AR", "ridgeway"),
        ("Ridgeway C.A.", "VE", "ridgeway"),
        ("Kowalski Sp. z o.o.", "PL", "kowalski"),
        ("Kowalski spółka z o.o.", "PL", "kowalski"),
        ("Kowalski spolka z o.o.", "PL", "kowalski"),
        ("Kowalski Sp. k.", "PL", "kowalski"),
        ("Kowalski Spk", "PL", "kowalski"),
        ("О О О Ромашка", "RU", "ромашка"),
        ("Siemens AG Österreich", "AT", "siemens osterreich"),
        ("Sia S.r.l.", "IT", "sia"),
    ],
)
def test_the_forms_the_issue_named(name: str, country: str, expected: str) -> None:
    assert normalize_company_name(name, country) == expected


@pytest.mark.parametrize(
    ("name", "country", "expected"),
    [
        ("AB Foods", "GB", "ab foods"),
        ("AB Nordkraft", None, "ab nordkraft"),
        ("BT Group", "GB", "bt group"),
        ("SC Johnson", "US", "sc johnson"),
        ("AT&T Inc", "US", "at & t"),
        ("PC World", "US", "pc world"),
        ("II-VI Incorporated", "US", "ii vi"),
        ("AO Smith Corporation", "US", "ao smith"),
        ("MTU Aero Engines AG", "DE", "mtu aero engines"),
        ("Scoop Media", "NZ", "scoop media"),
        ("DAC Beachcroft LLP", "GB", "dac beachcroft"),
    ],
)
def test_acronyms_that_are_forms_elsewhere_keep_their_place(
    name: str, country: str | None, expected: str
) -> None:
    assert normalize_company_name(name, country) == expected


@given(
    st.one_of(pkd.company_names(), st.text(max_size=40)),
    st.sampled_from([None, "SE", "NO", "DE", "RU", "ID", "PL", "AR", "US", "FI"]),
)
def test_normalising_with_a_country_is_idempotent(name: str, country: str | None) -> None:
    once = normalize_company_name(name, country)
    assert normalize_company_name(once, country) == once


@given(
    st.sampled_from(CORES),
    st.sampled_from(JURISDICTIONS),
    st.data(),
)
def test_a_form_in_any_allowed_place_leaves_the_same_name(
    core: str, jurisdiction: object, data: st.DataObject
) -> None:
    code = jurisdiction.code  # type: ignore[attr-defined]
    country = home(code)
    form = data.draw(st.sampled_from(forms(code, *PLACEMENTS)))
    name = f"{core} {form}"
    assert normalize_company_name(name, country) == EXPECTED[core]
