"""Certifications: status over time, renewal windows, and the tier a lapse costs."""

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from partnerkit import Aggregate, InvalidTransitionError, MetricDefinition, compute_snapshot
from partnerkit._base.time import Cadence
from partnerkit.relationship import (
    Certification,
    CertificationStatus,
    CertificationTerm,
    StatusChange,
    certification_activities,
    issue_certification,
    lapse_warnings,
    renew_certification,
    start_certification,
    status_changes,
)
from partnerkit.tiers import Membership, Program, Requirement, Tier, all_of

AT = datetime(2026, 1, 1, tzinfo=UTC)
S = CertificationStatus


def issued() -> Certification:
    record = start_certification(
        "crt_1",
        "ptn_1",
        person="p_1",
        name="cloud_architect",
        started_on=date(2026, 1, 5),
        by="u_anna",
        at=AT,
    ).value
    return issue_certification(
        record, issued_on=date(2026, 2, 1), expires_on=date(2027, 2, 1), by="u_anna", at=AT
    ).value


def test_status_moves_from_in_progress_to_active_expiring_and_expired() -> None:
    assert status_changes(issued()) == (
        StatusChange(date(2026, 1, 5), S.IN_PROGRESS),
        StatusChange(date(2026, 2, 1), S.ACTIVE),
        StatusChange(date(2026, 11, 3), S.EXPIRING),
        StatusChange(date(2027, 2, 1), S.EXPIRED),
    )


def test_renewal_opens_ninety_days_before_expiry() -> None:
    with pytest.raises(InvalidTransitionError, match=r"renewal opens on 2026-11-03"):
        renew_certification(
            issued(), issued_on=date(2026, 11, 2), expires_on=date(2028, 2, 1), by="u", at=AT
        )
    renewed, events = renew_certification(
        issued(), issued_on=date(2026, 12, 1), expires_on=date(2028, 2, 1), by="u_anna", at=AT
    )
    assert renewed.status_on(date(2027, 3, 1)) is S.RENEWED
    assert events[0].data["lapsed"] == "no"


def test_a_lapse_then_a_renewal_shows_both() -> None:
    renewed = renew_certification(
        issued(), issued_on=date(2027, 3, 1), expires_on=date(2028, 3, 1), by="u_anna", at=AT
    ).value
    assert [c.status for c in status_changes(renewed)][-4:] == [
        S.EXPIRED,
        S.RENEWED,
        S.EXPIRING,
        S.EXPIRED,
    ]


def test_issuing_twice_is_refused_pointing_to_renewal() -> None:
    with pytest.raises(InvalidTransitionError, match="'renew'"):
        issue_certification(
            issued(), issued_on=date(2026, 3, 1), expires_on=date(2027, 3, 1), by="u", at=AT
        )


def test_terms_become_activities_that_tier_metrics_count_once_per_person() -> None:
    renewed = renew_certification(
        issued(), issued_on=date(2026, 12, 1), expires_on=date(2028, 2, 1), by="u_anna", at=AT
    ).value
    people = MetricDefinition(
        "certified_people",
        Aggregate.UNEXPIRED_COUNT,
        kinds=("certification_earned",),
        attribute="person",
    )
    counted = MetricDefinition(
        "certificates", Aggregate.UNEXPIRED_COUNT, kinds=("certification_earned",)
    )
    activities = certification_activities(renewed)
    snapshot = compute_snapshot([people, counted], activities, datetime(2027, 1, 10, tzinfo=UTC))
    assert (snapshot["certified_people"], snapshot["certificates"]) == (1, 1)


PEOPLE = MetricDefinition(
    "certified_people",
    Aggregate.UNEXPIRED_COUNT,
    kinds=("certification_earned",),
    attribute="person",
)
PROGRAM = Program(
    "prg_1",
    "Channel",
    "USD",
    (
        Tier("registered", "Registered", 1),
        Tier("gold", "Gold", 2, all_of(Requirement("certified_people", ">=", 2))),
    ),
    (PEOPLE,),
    review=Cadence("FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1"),
    labels={"certified_people": "certified person|certified people"},
)
GOLD = Membership(
    "ptn_1", "prg_1", date(2025, 1, 1), tier_id="gold", tier_since=datetime(2026, 3, 1, tzinfo=UTC)
)


def two_people() -> list[Certification]:
    second = Certification(
        "crt_2",
        "ptn_1",
        "p_2",
        "sales_pro",
        date(2025, 6, 1),
        (CertificationTerm(date(2025, 6, 1), date(2028, 6, 1)),),
    )
    return [issued(), second]


def test_a_lapse_before_the_next_review_warns_who_must_renew_by_when() -> None:
    warnings = lapse_warnings(
        PROGRAM, GOLD, [], two_people(), as_of=datetime(2027, 1, 10, tzinfo=UTC)
    )
    assert len(warnings) == 1
    warning = warnings[0]
    assert (warning.tier_id, warning.certifications, warning.renew_by) == (
        "gold",
        ("crt_1",),
        date(2027, 1, 31),
    )
    assert warning.review_at == datetime(2027, 4, 1, tzinfo=UTC)
    assert warning.message.startswith(
        "at the review on 2027-04-01 the partner enters grace unless they renew by 2027-01-31: "
        "p_1 (cloud_architect, expires 2027-02-01)."
    )


def test_a_lapse_after_the_next_review_is_no_warning_yet() -> None:
    assert (
        lapse_warnings(PROGRAM, GOLD, [], two_people(), as_of=datetime(2026, 9, 10, tzinfo=UTC))
        == ()
    )


def test_a_renewal_clears_the_warning() -> None:
    first, second = two_people()
    renewed = renew_certification(
        first, issued_on=date(2027, 1, 5), expires_on=date(2028, 2, 1), by="u", at=AT
    ).value
    assert (
        lapse_warnings(
            PROGRAM, GOLD, [], [renewed, second], as_of=datetime(2027, 1, 10, tzinfo=UTC)
        )
        == ()
    )


term_dates = st.tuples(st.integers(0, 2000), st.integers(1, 1200), st.integers(0, 400))


@given(st.lists(term_dates, min_size=0, max_size=4), st.integers(0, 3000), st.integers(0, 365))
def test_status_over_time_follows_the_dates(
    raw: list[tuple[int, int, int]], offset: int, window: int
) -> None:
    started = date(2024, 1, 1)
    terms = []
    issued_on = started
    for gap, length, _ in raw:
        issued_on = issued_on + timedelta(days=gap + (1 if terms else 0))
        terms.append(CertificationTerm(issued_on, issued_on + timedelta(days=length)))
    record = Certification("crt", "ptn_1", "p_1", "cert", started, tuple(terms), window)
    day = started + timedelta(days=offset)
    status = record.status_on(day)
    term = record.term_on(day)
    if term is None:
        assert status is S.IN_PROGRESS
    elif day >= term.expires_on:
        assert status is S.EXPIRED
    else:
        assert record.valid_on(day)
        in_window = day >= term.expires_on - timedelta(days=window)
        assert (status is S.EXPIRING) == in_window
    # The status changes list agrees with status_on at every change and in between.
    changes = status_changes(record, end=day)
    assert changes[-1].status is status
    assert all(a.status is not b.status for a, b in itertools.pairwise(changes))
