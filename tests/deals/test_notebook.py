"""Deal registrations and conflicts in a notebook: escaped HTML tables."""

from datetime import UTC, date, datetime

from partnerkit import Money
from partnerkit.deals import ConflictIndex, Customer, DealRegistration, find_conflicts, submit

AT = datetime(2026, 5, 4, 9, tzinfo=UTC)


def registration(deal_id: str, partner_id: str, name: str) -> DealRegistration:
    draft = DealRegistration(
        deal_id,
        partner_id,
        Customer(name, "FI", domain="bluefin.example"),
        Money(25_000, "EUR"),
        expected_close_on=date(2026, 9, 1),
        registered_at=AT,
        products=("cloud",),
    )
    return submit(draft, actor="usr_1", at=AT).value


def test_a_registration_shows_its_status_and_history() -> None:
    page = registration("d_1", "ptn_1", "Bluefin <Foods> Oy")._repr_html_()
    assert "<b>d_1</b> by ptn_1" in page
    assert "Bluefin &lt;Foods&gt; Oy" in page
    assert "<b>submitted</b>" in page
    assert ">submit<" in page  # the history's one change


def test_a_conflict_shows_its_evidence_and_ruling() -> None:
    index = ConflictIndex()
    index.add(registration("d_1", "ptn_1", "Bluefin Foods <Oy>"))
    later = registration("d_2", "ptn_2", "BLUEFIN FOODS Oy")
    (conflict,) = find_conflicts(later, index)
    page = conflict._repr_html_()
    assert "<b>d_2</b> conflicts with registration <b>d_1</b>" in page
    assert "same website domain bluefin.example" in page
    assert "(bluefin foods)" in page  # the name as the desk compared it
    assert conflict.rule in page
