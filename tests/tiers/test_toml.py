"""Programs written in TOML: the shorthands, TOML's types, and errors with paths."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from partnerkit import Cadence, Money, Period, ValidationError, Window
from partnerkit.serialization import from_json, to_json
from partnerkit.tiers import Comparison, Program, program_from_toml

PROGRAM_TOML = """\
id = "prg_channel"
name = "Channel Partner Program"
currency = "USD"
review = "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1"

[policy]
downgrade_after = 2
auto_approve_downgrades = false

[labels]
revenue_12m = "revenue"
deals_won_12m = "won deal|won deals"
certified_people = "certified person|certified people"
days_since_login = "day since the last login|days since the last login"

[[metrics]]
name = "revenue_12m"
aggregate = "sum"
kinds = ["revenue_booked"]
window = "P12M"
currency = "USD"

[[metrics]]
name = "deals_won_12m"
aggregate = "count"
kinds = ["deal_won"]
window = "P12M"

[[metrics]]
name = "certified_people"
aggregate = "unexpired_count"
kinds = ["certification_earned"]
attribute = "person"

[[metrics]]
name = "days_since_login"
aggregate = "days_since_last"
kinds = ["portal_login"]

[[tiers]]
id = "registered"
name = "Registered"
rank = 1
benefits = { discount_percent = "5", lead_weight = 0, deal_protection = 30 }

[[tiers]]
id = "silver"
name = "Silver"
rank = 2
requirements.all_of = [
  { metric = "revenue_12m", comparison = ">=", threshold = "25,000 USD" },
  { metric = "certified_people", comparison = ">=", threshold = 1 },
]
benefits = { discount_percent = "10", lead_weight = 1, deal_protection = 60 }

[[tiers]]
id = "gold"
name = "Gold"
rank = 3
requirements.all_of = [
  { metric = "revenue_12m", comparison = ">=", threshold = "100,000 USD" },
  { metric = "certified_people", comparison = ">=", threshold = 2 },
  { metric = "deals_won_12m", comparison = ">=", threshold = 5 },
]
[tiers.benefits]
discount_percent = "15"
mdf_eligible = true
mdf_cap = "10,000 USD"
lead_weight = 3
deal_protection = 90

[[tiers]]
id = "platinum"
name = "Platinum"
rank = 4
requirements.all_of = [
  { metric = "revenue_12m", comparison = ">=", threshold = "500,000 USD" },
  { metric = "certified_people", comparison = ">=", threshold = 4 },
  { metric = "deals_won_12m", comparison = ">=", threshold = 12 },
  { metric = "days_since_login", comparison = "<=", threshold = 30 },
]
[tiers.benefits]
discount_percent = "22.5"
mdf_eligible = true
mdf_cap = "50,000 USD"
lead_weight = 6
deal_protection = "P120D"
custom = { partner_advisory_board = true }
"""


def test_a_program_reads_from_toml() -> None:
    program = program_from_toml(PROGRAM_TOML)
    assert [tier.id for tier in program.tiers] == ["registered", "silver", "gold", "platinum"]
    assert program.review == Cadence("FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1")
    gold = program.tier("gold")
    first = gold.requirements.all_of[0]
    assert (first.metric, first.comparison, first.threshold) == (
        "revenue_12m",
        Comparison.AT_LEAST,
        Money("100000", "USD"),
    )
    assert gold.requirements.all_of[1].threshold == Decimal(2)
    assert gold.benefits.mdf_cap == Money("10000", "USD")
    assert gold.benefits.deal_protection == Period(days=90)
    platinum = program.tier("platinum").benefits
    assert (platinum.discount_percent, platinum.deal_protection, platinum.custom) == (
        Decimal("22.5"),
        Period(days=120),
        {"partner_advisory_board": True},
    )
    assert program.metrics[0].window == Window.trailing("P12M")
    assert program.labels["certified_people"] == "certified person|certified people"


def test_toml_json_and_python_describe_the_same_program() -> None:
    program = program_from_toml(PROGRAM_TOML)
    assert from_json(Program, to_json(program)) == program


def test_toml_floats_are_refused_with_a_hint_to_quote_them() -> None:
    text = PROGRAM_TOML.replace('discount_percent = "22.5"', "discount_percent = 22.5").replace(
        "threshold = 4 }", "threshold = 4.0 }"
    )
    with pytest.raises(ValidationError) as info:
        program_from_toml(text)
    assert [(p.path, p.message) for p in info.value.problems] == [
        (
            "tiers[3].requirements.all_of[1].threshold",
            'got the TOML float 4.0; floats are inexact, so quote the number: threshold = "4.0"',
        ),
        (
            "tiers[3].benefits.discount_percent",
            (
                "got the TOML float 22.5; floats are inexact, so quote the number: "
                'discount_percent = "22.5"'
            ),
        ),
    ]


def test_errors_from_the_program_carry_their_toml_paths() -> None:
    text = PROGRAM_TOML.replace('"100,000 USD"', '"100,000 EUR"').replace(
        'metric = "deals_won_12m", comparison = ">=", threshold = 12',
        'metric = "deals_won", comparison = ">=", threshold = 12',
    )
    with pytest.raises(ValidationError) as info:
        program_from_toml(text)
    assert info.value.paths == (
        "tiers[2].requirements.all_of[0].threshold",
        "tiers[3].requirements.all_of[2].metric",
    )


def test_unknown_keys_and_bad_values_are_named() -> None:
    text = PROGRAM_TOML.replace("[policy]", "[policy]\ngrace_reviews = 1").replace(
        '"50,000 USD"', '"lots USD"'
    )
    with pytest.raises(ValidationError, match="cannot read 'lots USD' as money") as info:
        program_from_toml(text)
    assert info.value.paths == ("tiers[3].benefits.mdf_cap",)
    text = PROGRAM_TOML.replace("[policy]", "[policy]\ngrace_reviews = 1")
    with pytest.raises(ValidationError, match="unknown field of TierPolicy") as info:
        program_from_toml(text)
    assert info.value.paths == ("policy.grace_reviews",)


def test_a_review_anchor_must_have_an_offset() -> None:
    anchored = 'review = { rule = "FREQ=YEARLY", anchor = 2026-02-01T00:00:00Z }'
    text = PROGRAM_TOML.replace('review = "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1"', anchored)
    assert program_from_toml(text).review.anchor == datetime(2026, 2, 1, tzinfo=UTC)
    with pytest.raises(ValidationError, match="has no UTC offset") as info:
        program_from_toml(text.replace("00:00Z", "00:00"))
    assert info.value.paths == ("review.anchor",)


def test_metric_windows_have_shorthands() -> None:
    text = PROGRAM_TOML.replace('window = "P12M"\ncurrency', 'window = "quarter"\ncurrency')
    assert program_from_toml(text).metrics[0].window == Window.quarter()


def test_toml_syntax_errors_say_where() -> None:
    with pytest.raises(ValidationError, match="not valid TOML"):
        program_from_toml('id = "prg_1"\nname = ')
    with pytest.raises(ValidationError, match="expected TOML text"):
        program_from_toml(b"id = 1")  # type: ignore[arg-type]
