import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from partnerkit import Money
from partnerkit.__main__ import main
from partnerkit._cli.deals import NAME_VARIANTS, check_in_order
from partnerkit.deals import Customer, DealRegistration, DealStatus

START = datetime(2026, 1, 1, tzinfo=UTC)


def registration(
    number: int, name: str, *, partner: str = "", domain: str | None = None
) -> DealRegistration:
    at = START + timedelta(hours=number)
    return DealRegistration(
        id=f"r{number}",
        partner_id=partner or f"p{number}",
        customer=Customer(name, "FI", domain=domain),
        amount=Money(0, "USD"),
        expected_close_on=date(2027, 1, 1),
        registered_at=at,
        status=DealStatus.SUBMITTED,
        submitted_at=at,
    )


def test_each_registration_is_reported_once_against_the_earliest_with_a_count() -> None:
    found = list(check_in_order(registration(n, "Acme Oy", domain="acme.fi") for n in range(6)))
    assert [(f.conflict.registration_id, f.conflict.other_id, f.more) for f in found] == [
        ("r1", "r0", 0),
        ("r2", "r0", 1),
        ("r3", "r0", 2),
        ("r4", "r0", 3),
        ("r5", "r0", 4),
    ]


def test_unrelated_customers_have_no_findings() -> None:
    names = ["Acme Oy", "Zenith AB", "Nordic Cloud", "Helio GmbH"]
    assert list(check_in_order(registration(n, name) for n, name in enumerate(names))) == []


def test_a_shared_key_is_found_even_with_a_registration_the_index_does_not_hold() -> None:
    # r1 joins r0's customer by name; r2 shares only r1's website, under another
    # name, and is still reported (against r1, counting r0).
    found = list(
        check_in_order(
            [
                registration(0, "Acme Oy"),
                registration(1, "Acme Oy", domain="acme-shop.fi"),
                registration(2, "Zeta Retail", domain="acme-shop.fi"),
            ]
        )
    )
    assert [(f.conflict.registration_id, f.conflict.other_id, f.more) for f in found] == [
        ("r1", "r0", 0),
        ("r2", "r1", 1),
    ]


def test_spelling_variants_are_compared_up_to_the_cap() -> None:
    spellings = ["Zentrix Technologies", "Zentrix Technologis", "Zentrix Tecnologies"]
    found = list(check_in_order(registration(n, s) for n, s in enumerate(spellings)))
    assert [(f.conflict.registration_id, f.conflict.other_id) for f in found] == [
        ("r1", "r0"),
        ("r2", "r0"),
    ]
    assert NAME_VARIANTS >= 2


@pytest.fixture
def one_customer(tmp_path: Path) -> Path:
    path = tmp_path / "deals.csv"
    rows = "".join(f"r{n},p{n},Acme Oy,FI,acme.fi\n" for n in range(4))
    path.write_text("id,partner_id,customer,country,domain\n" + rows, encoding="utf-8")
    return path


def test_the_text_report_counts_the_earlier_registrations_it_does_not_repeat(
    capsys: pytest.CaptureFixture[str], one_customer: Path
) -> None:
    assert main(["deals", "check", "--input", str(one_customer)]) == 3
    out = capsys.readouterr().out
    assert out.count("conflicts with registration r0 by partner p0") == 3
    assert "  and 2 more earlier registration(s) for this customer" in out
    assert out.rstrip().endswith("3 conflict(s) found")


def test_csv_and_json_reports_carry_the_count(
    capsys: pytest.CaptureFixture[str], one_customer: Path
) -> None:
    assert main(["deals", "check", "--input", str(one_customer), "--format", "csv"]) == 3
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "registration_id,other_id,confidence,outcome,matched,more"
    assert lines[3].startswith("r3,r0,")
    assert lines[3].endswith(",2")
    assert main(["deals", "check", "--input", str(one_customer), "--format", "json"]) == 3
    report = json.loads(capsys.readouterr().out)
    assert [(item["conflict"]["registration_id"], item["more"]) for item in report] == [
        ("r1", 0),
        ("r2", 1),
        ("r3", 2),
    ]


def test_an_empty_json_report_is_an_empty_list(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "deals.csv"
    path.write_text("id,partner_id,customer,country\nr1,p1,Acme Oy,FI\n", encoding="utf-8")
    assert main(["deals", "check", "--input", str(path), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_a_registration_id_used_twice_is_refused_naming_both_lines(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "deals.csv"
    path.write_text(
        "id,partner_id,customer,country\nr1,p1,Acme Oy,FI\nr2,p2,Zenith AB,SE\nr1,p3,Acme,FI\n",
        encoding="utf-8",
    )
    assert main(["deals", "check", "--input", str(path)]) == 1
    assert capsys.readouterr().err == (
        f"partnerkit: {path}, line 4, column 1 (id): registration 'r1' is also on line 2; "
        f"give each registration its own id\n"
    )


def test_deals_check_reads_at_most_max_rows(
    capsys: pytest.CaptureFixture[str], one_customer: Path
) -> None:
    assert main(["deals", "check", "--input", str(one_customer), "--max-rows", "3"]) == 1
    assert "line 5: the file has more than 3 rows" in capsys.readouterr().err
