"""Forward warnings: when a partner stops meeting its tier if nothing new happens."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from partnerkit import (
    Activity,
    Aggregate,
    MetricDefinition,
    Money,
    ValidationError,
    Window,
    compute_snapshot,
)
from partnerkit.tiers import (
    Comparison,
    Membership,
    Program,
    Requirement,
    Tier,
    all_of,
    any_of,
    evaluate,
    forward_warnings,
)

AS_OF = datetime(2026, 11, 15, tzinfo=UTC)
METRICS = (
    MetricDefinition(
        "revenue_12m",
        Aggregate.SUM,
        kinds=("revenue_booked",),
        window=Window.trailing("P12M"),
        currency="USD",
    ),
    MetricDefinition(
        "deals_won_12m", Aggregate.COUNT, kinds=("deal_won",), window=Window.trailing("P12M")
    ),
    MetricDefinition(
        "certified_people",
        Aggregate.UNEXPIRED_COUNT,
        kinds=("certification_earned",),
        attribute="person",
    ),
    MetricDefinition("days_since_login", Aggregate.DAYS_SINCE_LAST, kinds=("portal_login",)),
    MetricDefinition(
        "reviews_this_quarter",
        Aggregate.COUNT,
        kinds=("business_review_held",),
        window=Window.quarter(),
    ),
)
LABELS = {
    "revenue_12m": "revenue",
    "deals_won_12m": "won deal|won deals",
    "certified_people": "certified person|certified people",
    "days_since_login": "day since the last login|days since the last login",
}


def program(gold: Requirement) -> Program:
    tiers = (Tier("registered", "Registered", 1), Tier("gold", "Gold", 2, gold))
    return Program("prg_channel", "Channel", "USD", tiers, METRICS, labels=LABELS)


GOLD = program(
    all_of(
        Requirement("revenue_12m", ">=", Money(100_000, "USD")),
        Requirement("certified_people", ">=", 2),
        Requirement("deals_won_12m", ">=", 5),
    )
)
MEMBER = Membership(
    "ptn_1",
    "prg_channel",
    date(2023, 1, 1),
    tier_id="gold",
    tier_since=datetime(2025, 4, 1, tzinfo=UTC),
)


def act(
    activity_id: str,
    kind: str,
    when: datetime,
    value: Money | None = None,
    expires_on: date | None = None,
    **attributes: str,
) -> Activity:
    return Activity(activity_id, "ptn_1", kind, when, value, dict(attributes), expires_on)


LEDGER = [
    act("rev_1", "revenue_booked", datetime(2025, 12, 10, tzinfo=UTC), Money(60_000, "USD")),
    act("rev_2", "revenue_booked", datetime(2026, 6, 1, tzinfo=UTC), Money(50_000, "USD")),
    act(
        "cert_1",
        "certification_earned",
        datetime(2025, 1, 20, tzinfo=UTC),
        expires_on=date(2027, 1, 20),
        person="p_1",
        certification="cloud_architect",
    ),
    act("cert_2", "certification_earned", datetime(2025, 3, 1, tzinfo=UTC), person="p_2"),
    *[act(f"won_{i}", "deal_won", datetime(2026, 3 + i, 1, tzinfo=UTC)) for i in range(5)],
]


def test_each_criterion_that_will_fail_is_named_with_its_day_and_cause() -> None:
    assert (
        evaluate(GOLD, MEMBER, compute_snapshot(METRICS, LEDGER, AS_OF), as_of=AS_OF).tier_id
        == "gold"
    )
    warnings = forward_warnings(GOLD, MEMBER, LEDGER, as_of=AS_OF, until=date(2027, 12, 31))
    assert [(w.on, w.metric, w.actual_now, w.actual_then, w.causes) for w in warnings] == [
        (
            date(2026, 12, 11),
            "revenue_12m",
            Money(110_000, "USD"),
            Money(50_000, "USD"),
            ("rev_1",),
        ),
        (date(2027, 1, 20), "certified_people", 2, 1, ("cert_1",)),
        (date(2027, 3, 2), "deals_won_12m", 5, 4, ("won_0",)),
    ]
    assert [w.message for w in warnings] == [
        (
            "Gold at risk on 2026-12-11: revenue in the trailing 12 months drops to 50,000.00 USD "
            "(needs at least 100,000.00 USD); 1 activity leaves the window (rev_1)"
        ),
        (
            "Gold at risk on 2027-01-20: certified people drops to 1 (needs at least 2); "
            "certification 'cloud_architect' of person p_1 expires on 2027-01-20"
        ),
        (
            "Gold at risk on 2027-03-02: won deals in the trailing 12 months drops to 4 (needs at "
            "least 5); 1 activity leaves the window (won_0)"
        ),
    ]
    first = warnings[0]
    assert (first.tier_id, first.path, first.comparison, first.threshold) == (
        "gold",
        "requirements.all_of[0]",
        Comparison.AT_LEAST,
        Money(100_000, "USD"),
    )


def test_only_what_happens_by_the_given_day_is_reported() -> None:
    warnings = forward_warnings(GOLD, MEMBER, LEDGER, as_of=AS_OF, until=date(2027, 1, 31))
    assert [w.metric for w in warnings] == ["revenue_12m", "certified_people"]
    assert forward_warnings(GOLD, MEMBER, LEDGER, as_of=AS_OF, until=date(2026, 12, 10)) == ()


def test_later_activity_is_not_assumed() -> None:
    future = act("rev_9", "revenue_booked", datetime(2026, 12, 1, tzinfo=UTC), Money(90_000, "USD"))
    warnings = forward_warnings(
        GOLD, MEMBER, [*LEDGER, future], as_of=AS_OF, until=date(2026, 12, 31)
    )
    assert [w.metric for w in warnings] == ["revenue_12m"]


def test_days_since_the_last_login_crosses_its_limit() -> None:
    login = program(all_of(Requirement("days_since_login", "<=", 30)))
    ledger = [act("login_1", "portal_login", AS_OF - timedelta(days=10))]
    (warning,) = forward_warnings(login, MEMBER, ledger, as_of=AS_OF, until=date(2027, 1, 1))
    assert (warning.on, warning.actual_now, warning.actual_then) == (date(2026, 12, 6), 10, 31)
    assert warning.message == (
        "Gold at risk on 2026-12-06: days since the last login rises to 31 (needs at most 30)"
    )


def test_a_calendar_window_starting_afresh_is_a_risk() -> None:
    quarterly = program(Requirement("reviews_this_quarter", ">=", 1))
    ledger = [act("qbr_1", "business_review_held", datetime(2026, 10, 20, tzinfo=UTC))]
    (warning,) = forward_warnings(quarterly, MEMBER, ledger, as_of=AS_OF, until=date(2027, 3, 1))
    assert (warning.on, warning.actual_then, warning.causes) == (date(2027, 1, 1), 0, ("qbr_1",))


def test_an_alternative_that_still_holds_is_no_risk() -> None:
    either = program(
        any_of(
            Requirement("certified_people", ">=", 2),
            Requirement("revenue_12m", ">=", Money(10_000, "USD")),
        )
    )
    assert forward_warnings(either, MEMBER, LEDGER, as_of=AS_OF, until=date(2027, 2, 1)) == ()


def test_nothing_to_warn_about_without_a_tier_or_when_already_failing() -> None:
    newcomer = Membership("ptn_1", "prg_channel", date(2023, 1, 1))
    assert forward_warnings(GOLD, newcomer, LEDGER, as_of=AS_OF, until=date(2027, 12, 31)) == ()
    assert forward_warnings(GOLD, MEMBER, LEDGER[:1], as_of=AS_OF, until=date(2027, 12, 31)) == ()


def test_the_horizon_must_be_in_the_future() -> None:
    with pytest.raises(ValidationError, match="at least one day past 2026-11-15") as info:
        forward_warnings(GOLD, MEMBER, LEDGER, as_of=AS_OF, until=date(2026, 11, 15))
    assert info.value.paths == ("until",)
    horizon = datetime(2027, 1, 31, 12, tzinfo=UTC)
    assert len(forward_warnings(GOLD, MEMBER, LEDGER, as_of=AS_OF, until=horizon)) == 2
    assert Decimal(2) == GOLD.tier("gold").requirements.all_of[1].threshold
