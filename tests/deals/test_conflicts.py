# Names in other scripts are the point of these tests.
# ruff: noqa: RUF001
import math
from datetime import UTC, date, datetime, timedelta

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from partnerkit import Money, ValidationError
from partnerkit.deals import (
    STANDARD_WEIGHTS,
    ConflictIndex,
    ConflictOutcome,
    ConflictRule,
    Customer,
    DealRegistration,
    DealStatus,
    DefaultConflictPolicy,
    DirectAccount,
    HouseAccount,
    Match,
    MatchKind,
    PartyKind,
    Profile,
    RankBy,
    Verdict,
    check_customer,
    customer_keys,
    find_conflicts,
    match_confidence,
)
from partnerkit.testing import _deals as pkd

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def registration(
    number: int,
    name: str,
    *,
    partner: str = "ptn_1",
    domain: str | None = None,
    email: str | None = None,
    country: str = "FI",
    products: tuple[str, ...] = ("CRM",),
    minutes: int | None = None,
    status: DealStatus = DealStatus.SUBMITTED,
) -> DealRegistration:
    at = NOW + timedelta(minutes=number if minutes is None else minutes)
    approved = status is DealStatus.APPROVED
    return DealRegistration(
        id=f"deal_{number}",
        partner_id=partner,
        customer=Customer(name, country, domain, email),
        amount=Money("10000", "EUR"),
        expected_close_on=date(2026, 12, 31),
        registered_at=at,
        products=products,
        status=status,
        submitted_at=at,
        protection_until=at + timedelta(days=90) if approved else None,
    )


def index_of(*registrations: DealRegistration) -> ConflictIndex:
    index = ConflictIndex()
    for item in registrations:
        index.add(item)
    return index


def only(conflicts: list) -> object:  # type: ignore[type-arg]
    assert len(conflicts) == 1, conflicts
    return conflicts[0]


def test_the_same_website_domain_is_a_conflict_whatever_the_name() -> None:
    first = registration(1, "Nordic Cloud Oy", domain="www.nordiccloud.fi", partner="ptn_a")
    later = registration(2, "NC Group", domain="https://shop.nordiccloud.fi/x", partner="ptn_b")
    conflict = only(find_conflicts(later, index_of(first)))
    assert conflict.match_kinds == (MatchKind.DOMAIN, MatchKind.PRODUCT_OVERLAP)
    assert conflict.matches[0].value == "nordiccloud.fi"
    assert conflict.confidence == 0.96


def test_a_contact_email_at_the_customers_domain_is_a_conflict() -> None:
    first = registration(1, "Nordic Cloud Oy", domain="nordiccloud.fi", partner="ptn_a")
    later = registration(2, "NC", email="aino@nordiccloud.fi", partner="ptn_b", products=())
    conflict = only(find_conflicts(later, index_of(first)))
    assert conflict.match_kinds == (MatchKind.CONTACT_EMAIL_DOMAIN,)
    assert conflict.confidence == 0.85


def test_free_mail_contacts_match_nothing() -> None:
    first = registration(1, "Alpha Oy", email="a@gmail.com", partner="ptn_a")
    later = registration(2, "Beta Oy", email="b@gmail.com", partner="ptn_b")
    assert find_conflicts(later, index_of(first)) == []


def test_an_exact_normalised_name_is_a_conflict() -> None:
    first = registration(1, "Nordic Cloud Oy", partner="ptn_a")
    later = registration(2, "NORDIC-CLOUD OYJ", partner="ptn_b", products=("ERP",))
    conflict = only(find_conflicts(later, index_of(first)))
    assert conflict.match_kinds == (MatchKind.EXACT_NAME,)
    assert conflict.matches[0].value == "nordic cloud"
    assert conflict.confidence == 0.9


def test_an_exact_name_in_another_country_needs_another_signal() -> None:
    first = registration(1, "Acme GmbH", country="DE", partner="ptn_a", email="cfo@acme.de")
    later = registration(2, "Acme Inc.", country="US", partner="ptn_b")
    assert find_conflicts(later, index_of(first)) == []
    same_contact = attrs.evolve(later, customer=Customer("Acme Inc.", "US", None, "it@acme.de"))
    conflict = only(find_conflicts(same_contact, index_of(first)))
    assert conflict.match_kinds == (
        MatchKind.EXACT_NAME,
        MatchKind.CONTACT_EMAIL_DOMAIN,
        MatchKind.PRODUCT_OVERLAP,
        MatchKind.OTHER_COUNTRY,
    )
    assert [m.weight for m in conflict.matches] == [2.2, 1.75, 0.3, -2.6]
    assert conflict.confidence == 0.84


def test_a_misspelt_name_is_a_fuzzy_match_with_its_score() -> None:
    first = registration(1, "Zentrix Technologies GmbH", country="DE", partner="ptn_a")
    later = registration(2, "Zentirx Technologies", country="DE", partner="ptn_b", products=())
    conflict = only(find_conflicts(later, index_of(first)))
    (match,) = conflict.matches
    assert match.kind is MatchKind.FUZZY_NAME
    assert match.value == "zentirx technologies ~ zentrix technologies"
    assert match.score == 0.947
    assert match.weight == 1.5
    assert conflict.confidence == 0.82


@pytest.mark.parametrize(
    ("stored", "checked"),
    [
        ("Müller & Söhne GmbH", "Mueller und Soehne"),
        ("ООО «Яндекс»", "Yandex LLC"),
        ("Nordic Cloud", "NordicCloud Oy"),
        ("Acme Widgets Limited", "Acme Widgets Limted"),
        ("Acme Widgets GmbH", "Acme Widgets Gbmh"),
    ],
)
def test_spelling_script_and_spacing_variants_match(stored: str, checked: str) -> None:
    first = registration(1, stored, partner="ptn_a")
    later = registration(2, checked, partner="ptn_b")
    assert [c.other_id for c in find_conflicts(later, index_of(first))] == ["deal_1"]


@pytest.mark.parametrize(
    ("stored", "checked"),
    [
        ("Nordic Cloud Oy", "Nordic Crowd Oy"),
        ("Zentrix Technologies", "Zentrix Logistics"),
        ("Blue Sky Media", "Blue Sea Media"),
        ("IBM", "IBN"),
        ("Studio 54", "Studio 45"),
        ("Unit 0421 Widgets", "Unit 0121 Widgets"),
        ("Zentrix", "Zentrix Group"),
    ],
)
def test_different_companies_with_similar_names_do_not_match(stored: str, checked: str) -> None:
    first = registration(1, stored, partner="ptn_a")
    later = registration(2, checked, partner="ptn_b")
    assert find_conflicts(later, index_of(first)) == []


@pytest.mark.parametrize(
    ("stored", "checked", "confidence"),
    [("Acme", "Acne", 0.71), ("Kora", "Kora Oy", 0.9), ("Bolt Data", "Blot Data", 0.79)],
)
def test_short_names_tolerate_one_slip(stored: str, checked: str, confidence: float) -> None:
    first = registration(1, stored, partner="ptn_a", products=())
    later = registration(2, checked, partner="ptn_b", products=())
    assert only(find_conflicts(later, index_of(first))).confidence == confidence


def test_a_near_name_with_a_different_website_is_a_conflict_with_less_confidence() -> None:
    first = registration(1, "Zentrix Technologies", domain="zentrix.de", partner="ptn_a")
    later = registration(2, "Zentirx Technologies", domain="zentirx.com", partner="ptn_b")
    conflict = only(find_conflicts(later, index_of(first)))
    assert conflict.match_kinds == (
        MatchKind.FUZZY_NAME,
        MatchKind.PRODUCT_OVERLAP,
        MatchKind.OTHER_WEBSITE,
    )
    assert conflict.matches[-1].value == "zentirx.com / zentrix.de"
    assert conflict.confidence == 0.62


def test_the_same_website_name_on_two_country_domains_says_nothing() -> None:
    first = registration(1, "Zentrix Technologies", domain="zentrix.de", partner="ptn_a")
    later = registration(2, "Zentirx Technologies", domain="zentrix.fi", partner="ptn_b")
    conflict = only(find_conflicts(later, index_of(first)))
    assert conflict.match_kinds == (MatchKind.FUZZY_NAME, MatchKind.PRODUCT_OVERLAP)


def test_two_slips_in_one_short_word_are_another_word() -> None:
    first = registration(1, "KA Aviation Trading", partner="ptn_a", products=())
    later = registration(2, "BJ Aviation Trading", partner="ptn_b", products=())
    assert find_conflicts(later, index_of(first)) == []
    spread = registration(3, "KB Aviation Tradng", partner="ptn_b", products=())
    assert find_conflicts(spread, index_of(first)) != []


def test_the_same_website_name_under_another_suffix_adds_to_a_near_name() -> None:
    first = registration(1, "Zentrix Technologies", domain="zentrix.de", partner="ptn_a")
    later = registration(2, "Zentirx Technologies", domain="zentrix.com", partner="ptn_b")
    conflict = only(find_conflicts(later, index_of(first)))
    assert MatchKind.WEBSITE_NAME in conflict.match_kinds
    assert conflict.confidence == 0.94


def test_two_slips_match_only_in_long_names() -> None:
    first = registration(1, "Zentrix Technologies", partner="ptn_a", products=())
    two_slips = registration(2, "Zentirx Technolgoies", partner="ptn_b", products=())
    assert only(find_conflicts(two_slips, index_of(first))).matches[0].weight == 0.8
    short = registration(3, "Nordic Cloud", partner="ptn_a", products=())
    assert find_conflicts(registration(4, "Nordci Clodu", partner="ptn_b"), index_of(short)) == []


def test_one_common_word_for_another_is_evidence_against() -> None:
    crowd = [registration(10 + n, f"Brand{n:02d} Hill", partner="ptn_x") for n in range(8)]
    crowd += [registration(30 + n, f"Mark{n:02d} Mill", partner="ptn_x") for n in range(8)]
    first = registration(1, "Nordvik Hill Bakery", partner="ptn_a", products=())
    later = registration(2, "Nordvik Mill Bakery", partner="ptn_b", products=())
    index = index_of(first, *crowd)
    assert find_conflicts(later, index) == []
    assert find_conflicts(later, index_of(first)) != []


def test_products_alone_are_never_a_conflict() -> None:
    first = registration(1, "Alpha Oy", products=("CRM",), partner="ptn_a")
    later = registration(2, "Beta Oy", products=("CRM",), partner="ptn_b")
    assert find_conflicts(later, index_of(first)) == []


def test_first_to_register_wins_and_the_later_partner_goes_to_review() -> None:
    first = registration(1, "Nordic Cloud Oy", partner="ptn_a")
    later = registration(2, "Nordic Cloud Oy", partner="ptn_b")
    index = index_of(first, later)
    loser = only(find_conflicts(later, index))
    winner = only(find_conflicts(first, index))
    assert (loser.rule, loser.outcome, loser.has_priority) == (
        ConflictRule.FIRST_TO_REGISTER,
        ConflictOutcome.REVIEW,
        False,
    )
    assert (winner.outcome, winner.has_priority) == (ConflictOutcome.PROCEED, True)
    assert "partner ptn_a registered this customer first as deal_1" in loser.reason


def test_the_id_breaks_a_tie_between_equal_instants() -> None:
    first = registration(1, "Nordic Cloud Oy", partner="ptn_a", minutes=0)
    second = registration(2, "Nordic Cloud Oy", partner="ptn_b", minutes=0)
    assert only(find_conflicts(second, index_of(first))).has_priority is False
    assert only(find_conflicts(first, index_of(second))).has_priority is True


def test_a_draft_does_not_reserve_a_customer_unless_the_policy_says_so() -> None:
    early_draft = attrs.evolve(
        registration(1, "Nordic Cloud Oy", partner="ptn_a", minutes=0),
        registered_at=NOW - timedelta(days=30),
        submitted_at=NOW + timedelta(days=1),
    )
    other = registration(2, "Nordic Cloud Oy", partner="ptn_b", minutes=0)
    index = index_of(other)
    assert only(find_conflicts(early_draft, index)).has_priority is False
    by_creation = DefaultConflictPolicy(rank_by=RankBy.REGISTERED_AT)
    assert only(find_conflicts(early_draft, index, policy=by_creation)).has_priority is True


def test_a_second_registration_by_the_same_partner_is_rejected_as_a_duplicate() -> None:
    first = registration(1, "Nordic Cloud Oy", domain="nordiccloud.fi")
    again = registration(2, "Nordic Cloud", domain="nordiccloud.fi")
    conflict = only(find_conflicts(again, index_of(first)))
    assert (conflict.rule, conflict.outcome) == (ConflictRule.DUPLICATE, ConflictOutcome.REJECT)
    assert "duplicate" in conflict.reason


def test_a_same_partner_near_name_only_goes_to_review() -> None:
    first = registration(1, "Zentrix Technologies", products=())
    again = registration(2, "Zentirx Technologies", products=())
    conflict = only(find_conflicts(again, index_of(first)))
    assert (conflict.rule, conflict.outcome) == (ConflictRule.DUPLICATE, ConflictOutcome.REVIEW)


@pytest.mark.parametrize(
    ("kind", "rule", "words"),
    [
        (PartyKind.DIRECT_OPPORTUNITY, ConflictRule.DIRECT_OPPORTUNITY, "own sales team"),
        (PartyKind.EXISTING_CUSTOMER, ConflictRule.EXISTING_CUSTOMER, "already the vendor's"),
    ],
)
def test_the_vendors_own_accounts_block_with_their_own_reason(
    kind: PartyKind, rule: ConflictRule, words: str
) -> None:
    index = ConflictIndex()
    account = DirectAccount("acct_9", kind, Customer("Nordic Cloud", "FI"), note="owned by J. Doe")
    index.add_account(account)
    conflict = only(find_conflicts(registration(1, "Nordic Cloud Oy"), index))
    assert (conflict.other_kind, conflict.rule, conflict.outcome) == (
        kind,
        rule,
        ConflictOutcome.BLOCK,
    )
    assert words in conflict.reason
    assert conflict.reason.endswith(": owned by J. Doe")
    assert conflict.other_partner_id is None


def test_accounts_can_also_come_from_the_host_per_check() -> None:
    account = DirectAccount(
        "opp_7", PartyKind.DIRECT_OPPORTUNITY, Customer("Other", "FI", "nordiccloud.fi")
    )
    assert isinstance(account, HouseAccount)
    checked = registration(1, "Nordic Cloud Oy", domain="nordiccloud.fi")
    conflict = only(find_conflicts(checked, ConflictIndex(), accounts=[account]))
    assert (conflict.other_id, conflict.outcome) == ("opp_7", ConflictOutcome.BLOCK)


def test_conflicts_come_most_serious_first() -> None:
    index = index_of(
        registration(1, "Nordic Cloud Oy", partner="ptn_a"),
        registration(9, "Nordic Cloud Oy", partner="ptn_b", minutes=999),
    )
    index.add_account(
        DirectAccount("acct_1", PartyKind.EXISTING_CUSTOMER, Customer("Nordic Cloud", "FI"))
    )
    checked = registration(5, "Nordic Cloud Oy", partner="ptn_c")
    assert [c.outcome for c in find_conflicts(checked, index)] == [
        ConflictOutcome.BLOCK,
        ConflictOutcome.REVIEW,
        ConflictOutcome.PROCEED,
    ]


def test_a_conflict_explains_itself() -> None:
    first = registration(1, "Nordic Cloud Oy", domain="nordiccloud.fi", partner="ptn_a")
    later = registration(2, "Nordic-Cloud", domain="nordiccloud.fi", partner="ptn_b")
    text = only(find_conflicts(later, index_of(first))).explain()
    assert text.splitlines() == [
        (
            "deal_2 conflicts with registration deal_1 by partner ptn_a "
            "(99% sure it is the same customer):"
        ),
        "  - same website domain nordiccloud.fi [+3.00]",
        "  - same normalised name 'nordic cloud' [+2.20]",
        "  - products in common: crm [+0.30]",
        (
            "  review by rule first_to_register: partner ptn_a registered this customer first "
            "as deal_1 (submitted_at 2026-03-02T09:01:00+00:00); a manager must review this one"
        ),
    ]


def test_confidence_combines_independent_evidence() -> None:
    first = registration(1, "Nordic Cloud", domain="nordiccloud.fi", partner="ptn_a")
    later = registration(2, "Nordic Cloud", domain="nordiccloud.fi", partner="ptn_b")
    conflict = only(find_conflicts(later, index_of(first)))
    assert match_confidence(conflict.matches, same_country=True) == conflict.confidence == 0.99


def test_a_policy_is_replaceable() -> None:
    class NoticeOnly:
        fuzzy_threshold = 0.9
        min_confidence = 0.0

        def judge(self, subject, other, matches, confidence):  # type: ignore[no-untyped-def]
            return Verdict("notice", ConflictOutcome.PROCEED, True, f"seen {other.id}")

    first = registration(1, "Nordic Cloud Oy", partner="ptn_a")
    later = registration(2, "Nordic Cloud Oy", partner="ptn_b")
    conflict = only(find_conflicts(later, index_of(first), policy=NoticeOnly()))
    assert (conflict.rule, conflict.reason) == ("notice", "seen deal_1")


def test_policy_fractions_are_checked() -> None:
    with pytest.raises(ValidationError, match="from 0 to 1"):
        DefaultConflictPolicy(fuzzy_threshold=1.5)


def test_the_index_holds_only_active_registrations() -> None:
    index = ConflictIndex()
    draft = attrs.evolve(
        registration(1, "Nordic Cloud Oy"), status=DealStatus.DRAFT, submitted_at=None
    )
    with pytest.raises(ValidationError, match="only submitted and approved"):
        index.add(draft)
    assert index.sync(draft) is False
    assert index.sync(registration(2, "Nordic Cloud Oy")) is True
    assert "deal_2" in index
    expired = attrs.evolve(
        registration(2, "Nordic Cloud Oy", status=DealStatus.APPROVED), status=DealStatus.EXPIRED
    )
    assert index.sync(expired) is False
    assert len(index) == 0


def test_the_checked_registration_does_not_conflict_with_itself() -> None:
    subject = registration(1, "Nordic Cloud Oy", domain="nordiccloud.fi")
    assert find_conflicts(subject, index_of(subject)) == []


def test_re_adding_a_registration_replaces_it() -> None:
    index = index_of(registration(1, "Nordic Cloud Oy"))
    index.add(registration(1, "Zentrix Technologies"))
    assert len(index) == 1
    assert find_conflicts(registration(2, "Nordic Cloud", partner="ptn_b"), index) == []


def test_the_index_checks_a_thousand_registrations_without_scanning_them() -> None:
    index = index_of(*(registration(n, f"Company {n:04d} Widgets") for n in range(1000)))
    checked = registration(5000, "Company 0421 Widgets", partner="ptn_b")
    found = find_conflicts(checked, index)
    assert [c.other_id for c in found] == ["deal_421"]
    assert index.stats()["registrations"] == 1000


# --- customer keys --------------------------------------------------------------------


def test_customer_keys_name_the_domains_and_the_country_scoped_name() -> None:
    subject = registration(
        1, "Nordic Cloud Oy", domain="www.nordiccloud.fi", email="aino@nordic-cloud.com"
    )
    assert customer_keys(subject) == (
        "v1:domain:nordic-cloud.com",
        "v1:domain:nordiccloud.fi",
        "v1:name:FI:nordiccloud",
    )


def test_customer_keys_ignore_free_mail_and_spelling_noise() -> None:
    one = Customer("Nordic Cloud Oy", "FI", None, "aino@gmail.com")
    two = Customer("NORDIC-CLOUD", "fi")
    assert customer_keys(one) == customer_keys(two) == ("v1:name:FI:nordiccloud",)


@given(pkd.customers())
def test_customer_keys_are_stable_and_sorted(customer: Customer) -> None:
    keys = customer_keys(customer)
    assert keys == tuple(sorted(keys))
    assert (
        customer_keys(
            Customer(customer.name, customer.country, customer.domain, customer.contact_email)
        )
        == keys
    )


def test_registrations_sharing_a_customer_key_conflict() -> None:
    first = registration(1, "Nordic Cloud Oy", domain="nordiccloud.fi", partner="ptn_a")
    later = registration(2, "NC", email="x@nordiccloud.fi", partner="ptn_b")
    assert set(customer_keys(first)) & set(customer_keys(later))
    assert find_conflicts(later, index_of(first)) != []


# --- properties -----------------------------------------------------------------------

NAMES = [
    "Nordic Cloud Oy",
    "Nordic-Cloud",
    "Nordic Clod",
    "Zentrix Technologies GmbH",
    "Zentirx Technologies",
    "Müller & Söhne",
    "Mueller und Soehne",
    "ООО Яндекс",
    "Yandex",
    "Acme Widgets",
    "Acme Gadgets",
]
DOMAINS = [None, "nordiccloud.fi", "zentrix.de", "acme.com", "shop.acme.com"]
EMAILS = [None, "a@nordiccloud.fi", "b@gmail.com", "c@acme.com"]


@st.composite
def populations(draw: st.DrawFn) -> list[DealRegistration]:
    size = draw(st.integers(min_value=2, max_value=8))
    return [
        registration(
            number,
            draw(st.sampled_from(NAMES)),
            partner=draw(st.sampled_from(["ptn_a", "ptn_b", "ptn_c"])),
            domain=draw(st.sampled_from(DOMAINS)),
            email=draw(st.sampled_from(EMAILS)),
            country=draw(st.sampled_from(["FI", "DE"])),
            products=tuple(draw(st.lists(st.sampled_from(["CRM", "ERP"]), unique=True))),
            minutes=draw(st.integers(0, 3)),
        )
        for number in range(size)
    ]


def evidence(conflicts: list) -> dict[str, tuple]:  # type: ignore[type-arg]
    return {c.other_id: (c.matches, c.confidence) for c in conflicts}


@given(populations())
def test_conflicts_are_symmetric_in_evidence_and_opposite_in_priority(
    population: list[DealRegistration],
) -> None:
    index = index_of(*population)
    found = {r.id: find_conflicts(r, index) for r in population}
    for left in population:
        for conflict in found[left.id]:
            mirror = [c for c in found[conflict.other_id] if c.other_id == left.id]
            assert len(mirror) == 1
            (back,) = mirror
            assert back.confidence == conflict.confidence
            assert {m.kind for m in back.matches} == {m.kind for m in conflict.matches}
            assert back.has_priority != conflict.has_priority


@given(populations(), st.randoms(use_true_random=False))
def test_first_to_register_decides_whatever_the_insertion_order(
    population: list[DealRegistration], random: object
) -> None:
    shuffled = list(population)
    random.shuffle(shuffled)  # type: ignore[attr-defined]
    one, two = index_of(*population), index_of(*shuffled)
    for subject in population:
        assert find_conflicts(subject, one) == find_conflicts(subject, two)
        earliest = min(
            (c for c in find_conflicts(subject, one)), key=lambda c: c.has_priority, default=None
        )
        if earliest is not None and not earliest.has_priority:
            other = next(r for r in population if r.id == earliest.other_id)
            assert (other.submitted_at, other.id) < (subject.submitted_at, subject.id)


@given(populations(), populations())
def test_adding_and_removing_leaves_no_trace(
    base: list[DealRegistration], extra: list[DealRegistration]
) -> None:
    index = index_of(*base)
    before = {r.id: find_conflicts(r, index) for r in base}
    stats = index.stats()
    renamed = [attrs.evolve(r, id=f"x{r.id}") for r in extra]
    for item in renamed:
        index.add(item)
    for item in renamed:
        assert index.remove(item.id)
    assert {r.id: find_conflicts(r, index) for r in base} == before
    assert index.stats() == stats
    for item in base:
        index.remove(item.id)
    assert index.stats() == dict.fromkeys(stats, 0)


@given(pkd.deal_registrations(status=DealStatus.SUBMITTED), st.data())
def test_a_registration_always_finds_its_exact_copy_by_another_partner(
    subject: DealRegistration, data: st.DataObject
) -> None:
    copy = attrs.evolve(
        subject,
        id=subject.id + "_copy",
        partner_id=subject.partner_id + "_other",
        submitted_at=subject.submitted_at + timedelta(seconds=data.draw(st.integers(1, 10**6))),  # type: ignore[operator]
    )
    found = find_conflicts(copy, index_of(subject))
    assert [c.other_id for c in found] == [subject.id]
    assert found[0].outcome is ConflictOutcome.REVIEW


def test_typos_are_found_across_packed_table_merges_and_removals() -> None:
    # Enough distinct words to merge the packed deletion table, and enough removals to
    # merge it again dropping their entries; letters that no spelling fold touches, so
    # only the intended slip is one edit away.
    letters = "bdfglmnprtvwq"
    names = [
        f"Brand{letters[n % 13]}{letters[n // 13 % 13]}{letters[n // 169]}x Labs"
        for n in range(13**3)
    ]
    population = [registration(n, name) for n, name in enumerate(names)]
    index = index_of(*population)
    for gone in population:
        if gone.id != "deal_1" and int(gone.id[5:]) % 5:
            index.remove(gone.id)
    misspelt = registration(90000, "Branddbb Labs", partner="ptn_b")  # n=1 is "Branddbbx"
    assert [c.other_id for c in find_conflicts(misspelt, index)] == ["deal_1"]
    removed = registration(90001, "Brandfbb Labs", partner="ptn_b")  # n=2 was removed
    assert find_conflicts(removed, index) == []
    for kept in population:
        index.remove(kept.id)
    assert index.stats() == dict.fromkeys(index.stats(), 0)


def test_later_changes_to_the_vocabulary_reach_checks_made_before_them() -> None:
    index = index_of(registration(1, "Zentrix Labs"), registration(2, "Zentrax Labs"))
    checked = registration(9, "Zentrix Labs", partner="ptn_b")
    assert {c.other_id for c in find_conflicts(checked, index)} == {"deal_1", "deal_2"}
    index.add(registration(3, "Zentrx Labs"))
    assert {c.other_id for c in find_conflicts(checked, index)} == {"deal_1", "deal_2", "deal_3"}
    index.remove("deal_2")
    assert {c.other_id for c in find_conflicts(checked, index)} == {"deal_1", "deal_3"}


# --- evidence, weights and confidence ---------------------------------------------


def test_each_signal_has_a_weight_and_the_confidence_is_their_logistic_sum() -> None:
    first = registration(1, "Nordic Cloud Oy", domain="nordiccloud.fi", partner="ptn_a")
    later = registration(2, "Nordic Cloud", domain="nordic-cloud.com", partner="ptn_b")
    conflict = only(find_conflicts(later, index_of(first)))
    assert [(m.kind, m.weight) for m in conflict.matches] == [
        (MatchKind.EXACT_NAME, 2.2),
        (MatchKind.PRODUCT_OVERLAP, 0.3),
        (MatchKind.OTHER_WEBSITE, -1.3),
    ]
    total = sum(m.weight for m in conflict.matches)
    assert conflict.confidence == round(1 / (1 + math.exp(-total)), 2) == 0.77
    assert match_confidence(conflict.matches) == conflict.confidence


def test_a_match_built_by_hand_gets_its_kinds_standard_weight() -> None:
    assert Match(MatchKind.DOMAIN, "acme.com").weight == STANDARD_WEIGHTS[MatchKind.DOMAIN]
    assert Match(MatchKind.FUZZY_NAME, "a ~ b", 1.0).weight == 1.9
    assert match_confidence([Match(MatchKind.EXACT_NAME, "acme")], same_country=False) == 0.4


def test_a_weight_out_of_range_is_refused() -> None:
    with pytest.raises(ValidationError, match="weight"):
        Match(MatchKind.DOMAIN, "acme.com", 1.0, 99.0)


def test_different_numbers_in_the_names_count_against_a_match() -> None:
    first = registration(1, "Studio 54 Media", partner="ptn_a", domain="studio54.fi")
    later = registration(2, "Studio 45 Media", partner="ptn_b", domain="studio54.fi")
    conflict = only(find_conflicts(later, index_of(first)))
    assert MatchKind.OTHER_NUMBER in conflict.match_kinds
    assert (
        conflict.confidence
        < only(
            find_conflicts(
                registration(3, "Studio 54 Media", domain="studio54.fi"), index_of(first)
            )
        ).confidence
    )


def test_a_conflict_lists_what_speaks_against_it_in_its_explanation() -> None:
    first = registration(1, "Zentrix Technologies", domain="zentrix.de", partner="ptn_a")
    later = registration(2, "Zentirx Technologies", domain="zentirx.com", partner="ptn_b")
    text = only(find_conflicts(later, index_of(first))).explain()
    assert "  - different websites: zentirx.com / zentrix.de [-1.30]" in text.splitlines()


# --- checking a bare customer ----------------------------------------------------------


def test_a_bare_customer_is_checked_without_a_registration() -> None:
    index = index_of(registration(1, "Nordic Cloud Oy", domain="nordiccloud.fi", partner="ptn_a"))
    conflict = only(check_customer(Customer("NORDIC CLOUD", "FI"), index))
    assert (conflict.registration_id, conflict.other_id) == ("customer", "deal_1")
    assert (conflict.rule, conflict.outcome) == (
        ConflictRule.FIRST_TO_REGISTER,
        ConflictOutcome.REVIEW,
    )


def test_a_bare_customer_of_the_same_partner_is_a_duplicate() -> None:
    index = index_of(registration(1, "Nordic Cloud Oy", domain="nordiccloud.fi", partner="ptn_a"))
    customer = Customer("Nordic Cloud", "FI", "https://nordiccloud.fi")
    conflict = only(check_customer(customer, index, partner_id="ptn_a", subject_id="draft_1"))
    assert (conflict.registration_id, conflict.rule, conflict.outcome) == (
        "draft_1",
        ConflictRule.DUPLICATE,
        ConflictOutcome.REJECT,
    )


def test_a_bare_customer_check_refuses_a_bad_subject_id() -> None:
    with pytest.raises(ValidationError, match="subject_id"):
        check_customer(Customer("Acme", "FI"), ConflictIndex(), subject_id="two words")


# --- bulk build and diagnostics -----------------------------------------------------


@given(populations(), st.randoms(use_true_random=False))
def test_a_bulk_build_equals_adding_one_by_one(
    population: list[DealRegistration], random: object
) -> None:
    shuffled = list(population)
    random.shuffle(shuffled)  # type: ignore[attr-defined]
    built = ConflictIndex.build(shuffled)
    added = index_of(*population)
    assert built.stats() == added.stats()
    for subject in population:
        assert find_conflicts(subject, built) == find_conflicts(subject, added)


BRANDS = ("Zentrix", "Zentrex", "Nordkraft", "Hepe", "Ridgeway", "Ridgewaycapital", "Oaks")


def crowd(first: int, size: int) -> list[DealRegistration]:
    """Names sharing words with many others: past the common and the kept-postings counts."""
    return [
        registration(
            number,
            f"{BRANDS[number % len(BRANDS)]} Nordic {'Cloud ' if number % 4 else ''}"
            f"{'Holdings' if number % 3 else 'Capital'} {number // 9}",
            partner=f"ptn_{number % 3}",
            domain=f"site{number % 11}.fi" if number % 5 else None,
            country="FI" if number % 2 else "DE",
        )
        for number in range(first, first + size)
    ]


@pytest.mark.parametrize("chunk", [1, 5, 64, 4096])
def test_a_bulk_build_in_chunks_equals_adding_one_by_one(
    chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("partnerkit.deals._index._BULK_CHUNK", chunk)
    first, second = crowd(0, 70), crowd(70, 50)
    # The second load holds a copy of a registration already held and a draft.
    draft = attrs.evolve(second[3], status=DealStatus.DRAFT, submitted_at=None)
    second += [attrs.evolve(first[5], products=("ERP",)), draft]
    built = ConflictIndex.build(iter(first))
    built.update(second)
    added = ConflictIndex()
    for item in [*first, *second]:
        added.sync(item)
    assert built.stats() == added.stats()
    for subject in [*first, *second, *crowd(200, 20)]:
        assert find_conflicts(subject, built) == find_conflicts(subject, added)
        profile = built.profile(subject.customer, subject.products)
        assert built.candidates(profile) == added.candidates(profile)
    for word in ("nordic", "cloud", "holdings", "zentrix", "0", "7"):
        assert built.word_count(word) == added.word_count(word)


def test_a_bulk_build_skips_inactive_registrations_and_keeps_the_last_copy() -> None:
    draft = attrs.evolve(
        registration(1, "Nordic Cloud Oy"), status=DealStatus.DRAFT, submitted_at=None
    )
    index = ConflictIndex.build(
        [draft, registration(2, "Acme"), registration(2, "Zentrix Labs"), registration(3, "X1")]
    )
    assert sorted(index.registration_ids()) == ["deal_2", "deal_3"]
    assert find_conflicts(registration(9, "Zentrix Labs", partner="ptn_b"), index) != []
    with pytest.raises(ValidationError, match="DealRegistration"):
        ConflictIndex.build(["deal_1"])  # type: ignore[list-item]


def test_the_profile_shows_what_matching_compares() -> None:
    profile = ConflictIndex().profile(
        Customer("AB Nordkraft", "SE", "www.nordkraft.se", "eva@mail.nordkraft.se"), ["CRM"]
    )
    assert profile == Profile(
        name="nordkraft",
        compact="nordkraft",
        words=("nordkraft",),
        key="nordkraft",
        website="nordkraft.se",
        email="nordkraft.se",
        country="SE",
        products="crm",
    )


def test_candidates_say_which_look_up_offered_each_record() -> None:
    index = index_of(
        registration(1, "Zentrix Technologies", domain="zentrix.de"),
        registration(2, "Nordic Cloud Oy"),
        registration(3, "Acme Widgets", domain="acme.com"),
    )
    profile = index.profile(Customer("Zentirx Technologies GmbH", "DE", "acme.com"))
    found = index.candidates(profile)
    assert [(c.id, c.kind, c.name) for c in found] == [
        ("deal_1", PartyKind.REGISTRATION, "zentrix technologies"),
        ("deal_3", PartyKind.REGISTRATION, "acme widgets"),
    ]
    # In an index this small every word is distinctive, "technologies" too.
    assert found[0].routes == ("word 'technologies'", "corrected 'zentirx' to 'zentrix'")
    assert found[1].routes == ("website",)


@pytest.mark.parametrize(
    ("stored", "checked"),
    [
        ("Ridgeway Capital", "Ridgewaycapital"),
        ("Ridgewaycapital", "Ridgeway Capital"),
        ("Ridgeway Capital", "Ridgewaycapitl"),
        ("Ridgewaycapital", "Ridgeway Capitl"),
        ("JM Partners Logistics", "JN Partners Logistics"),
        ("Nordkraft AB", "AB Nordkraft"),
    ],
)
def test_joined_split_and_short_words_are_offered(stored: str, checked: str) -> None:
    first = registration(1, stored, partner="ptn_a", country="SE")
    later = registration(2, checked, partner="ptn_b", country="SE")
    assert [c.other_id for c in find_conflicts(later, index_of(first))] == ["deal_1"]


def test_a_slip_that_looks_like_a_run_together_legal_form_stays_a_word() -> None:
    # "colud" is one slip from "coltd" ("Co. Ltd" run together), which is no reason
    # to drop it from the name.
    first = registration(1, "Wyndgafi Cloud", partner="ptn_a", email="cfo@wyndgafi.com")
    later = registration(2, "Wyndgafi Colud", partner="ptn_b")
    assert [c.other_id for c in find_conflicts(later, index_of(first))] == ["deal_1"]
