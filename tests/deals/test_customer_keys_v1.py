"""Customer keys are frozen at version 1 while matching improves.

``data/customer_keys_v1.tsv`` holds customers (synthetic names in 40 countries, their
legal-form, punctuation and transliteration variants, and every form of the
legal-form table at the start, the end and in the middle of a name) with the keys
that version 1 of `customer_keys` gave them when it was released. Storage keeps
claims under these keys, so none may change without a new `CUSTOMER_KEY_VERSION`
and a claims migration in every storage adapter.
"""

import csv
from pathlib import Path

import pytest

from partnerkit.deals import CUSTOMER_KEY_VERSION, Customer, customer_keys

DATA = Path(__file__).parent / "data" / "customer_keys_v1.tsv"


def recorded() -> list[dict[str, str]]:
    with DATA.open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file, delimiter="\t"))


def test_the_key_version_is_still_1() -> None:
    assert CUSTOMER_KEY_VERSION == 1


def test_the_recorded_set_covers_thousands_of_customers() -> None:
    assert len(recorded()) > 4000


@pytest.mark.parametrize("chunk", range(8))
def test_every_recorded_customer_keeps_its_keys(chunk: int) -> None:
    rows = recorded()[chunk::8]
    changed = []
    for row in rows:
        customer = Customer(
            row["name"], row["country"], row["domain"] or None, row["contact_email"] or None
        )
        keys = " ".join(customer_keys(customer))
        if keys != row["keys"]:
            changed.append((row["name"], row["country"], row["keys"], keys))
    assert changed == []
