"""Conflict checks give exactly the answers they gave when these results were recorded.

``data/conflicts_pinned.tsv`` holds, for a slice of the labelled development queries
checked against an index of 5,000 labelled registrations, the profile each query was
reduced to and every conflict found (ids, outcome, rule, reason, confidence, and
each signal with its value, score and weight), for `find_conflicts` and for
`check_customer`. Making matching faster must not move any of them; a change meant
to move them re-records the file (run this module as a script) and says why.
"""

import csv
import functools
import sys
from pathlib import Path

import labelled_set as helpers
import pytest

from partnerkit.deals import Conflict, ConflictIndex, Customer, check_customer, find_conflicts

DATA = Path(__file__).parent / "data" / "conflicts_pinned.tsv"
FIELDS = ("kind", "name", "country", "website", "profile", "conflicts", "customer_check")
CHUNKS = 4


@functools.cache
def setting() -> tuple[ConflictIndex, list[object]]:
    labelled = helpers.load()
    bases = labelled.population(5000)
    index = ConflictIndex.build(
        helpers.registration(b.number, b.name, b.country, b.website, b.email) for b in bases
    )
    return index, labelled.queries(bases, 40, labelled.DEVELOPMENT_SEED)


def _conflict(conflict: Conflict) -> tuple[object, ...]:
    return (
        conflict.other_id,
        conflict.other_kind.value,
        conflict.other_partner_id,
        conflict.other_name,
        conflict.confidence,
        conflict.outcome.value,
        conflict.rule,
        conflict.has_priority,
        conflict.reason,
        [(m.kind.value, m.value, m.score, m.weight) for m in conflict.matches],
    )


def results(serial: int, query: object) -> dict[str, str]:
    """One query's row: what it is, its profile, and the conflicts of both checks."""
    index = setting()[0]
    name, country, website = query.name, query.country, query.website  # type: ignore[attr-defined]
    checked = helpers.registration(10**8 + serial, name, country, website)
    customer = Customer(name, country, website)
    return {
        "kind": query.kind,  # type: ignore[attr-defined]
        "name": name,
        "country": country,
        "website": website or "",
        "profile": repr(tuple(index.profile(checked.customer, checked.products))),
        "conflicts": repr([_conflict(c) for c in find_conflicts(checked, index)]),
        "customer_check": repr(
            [_conflict(c) for c in check_customer(customer, index, partner_id="ptn_7")]
        ),
    }


def recorded() -> list[dict[str, str]]:
    with DATA.open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file, delimiter="\t"))


def test_the_recorded_set_covers_every_kind_with_conflicts_and_without() -> None:
    rows = recorded()
    assert len(rows) == len(setting()[1])
    assert {row["kind"] for row in rows} == {query.kind for query in setting()[1]}  # type: ignore[attr-defined]
    assert sum(row["conflicts"] != "[]" for row in rows) > len(rows) // 2
    assert any(row["conflicts"] == "[]" for row in rows)


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_every_recorded_check_finds_the_same_conflicts(chunk: int) -> None:
    rows = recorded()
    queries = setting()[1]
    changed = [
        (serial, row["name"], key)
        for serial in range(chunk, len(rows), CHUNKS)
        for row, now in [(rows[serial], results(serial, queries[serial]))]
        for key in FIELDS
        if row[key] != now[key]
    ]
    assert changed == []


def write() -> None:
    """Record the current results (only for a change meant to move them)."""
    with DATA.open("w", encoding="utf-8", newline="") as file:
        writer = csv.DictWriter(file, FIELDS, delimiter="\t", lineterminator="\n")
        writer.writeheader()
        for serial, query in enumerate(setting()[1]):
            writer.writerow(results(serial, query))


if __name__ == "__main__":
    write()
    sys.exit(0)
