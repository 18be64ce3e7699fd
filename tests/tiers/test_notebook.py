"""Review and what-if runs in a notebook: HTML tables and plain records for pandas."""

from datetime import UTC, date, datetime
from decimal import Decimal

import attrs

from partnerkit import Money
from partnerkit._cli.demo import PROGRAM
from partnerkit.metrics import MetricSnapshot
from partnerkit.tiers import Membership, Requirement, all_of, review, what_if

AS_OF = datetime(2026, 10, 1, tzinfo=UTC)


def snapshot(partner_id: str, revenue: int, people: int) -> MetricSnapshot:
    values = {
        "revenue_12m": Money(Decimal(revenue), "USD"),
        "certified_people": people,
        "deals_won_12m": 0,
    }
    return MetricSnapshot(partner_id, AS_OF, values)


MEMBERS = [
    Membership("ptn_1", PROGRAM.id, date(2025, 1, 1)),
    Membership("ptn_<2>", PROGRAM.id, date(2025, 1, 1), tier_id="silver"),
]
SNAPSHOTS = {
    "ptn_1": snapshot("ptn_1", 30_000, 1),
    "ptn_<2>": snapshot("ptn_<2>", 26_000, 1),
}


def test_a_review_run_is_one_record_per_decision() -> None:
    run = review(PROGRAM, MEMBERS, SNAPSHOTS, as_of=AS_OF)
    records = run.to_records()
    assert [(r["partner_id"], r["outcome"], r["from_tier_id"], r["tier_id"]) for r in records] == [
        ("ptn_1", "upgrade", None, "silver"),
        ("ptn_<2>", "keep", "silver", "silver"),
    ]
    assert records[0]["changed"] is True
    assert records[0]["gap"].startswith("needs")
    assert records[0]["progress_to_next"] == run.decisions[0].progress == Decimal(0)


def test_a_review_run_shows_as_an_escaped_html_table() -> None:
    page = review(PROGRAM, MEMBERS, SNAPSHOTS, as_of=AS_OF)._repr_html_()
    assert "Review of prg_channel" in page
    assert "upgrade 1" in page
    assert "ptn_&lt;2&gt;" in page
    assert "ptn_<2>" not in page


def test_a_what_if_run_is_one_record_per_move_and_a_table() -> None:
    cheaper = attrs.evolve(
        PROGRAM,
        tiers=(
            PROGRAM.tiers[0],
            attrs.evolve(
                PROGRAM.tiers[1],
                requirements=all_of(Requirement("revenue_12m", ">=", Money(40_000, "USD"))),
            ),
            *PROGRAM.tiers[2:],
        ),
    )
    result = what_if(PROGRAM, cheaper, MEMBERS, SNAPSHOTS, as_of=AS_OF)
    assert result.to_records() == [
        {
            "partner_id": "ptn_1",
            "held_tier_id": None,
            "before_tier_id": "silver",
            "after_tier_id": "registered",
            "movement": "down",
        },
        {
            "partner_id": "ptn_<2>",
            "held_tier_id": "silver",
            "before_tier_id": "silver",
            "after_tier_id": "registered",
            "movement": "down",
        },
    ]
    page = result._repr_html_()
    assert "0 up, 2 down" in page
    assert "ptn_&lt;2&gt;" in page
