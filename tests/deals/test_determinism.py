"""Conflict checks give the same answers whatever the hash seed, insertion order and process.

Each run is a new Python process with its own ``PYTHONHASHSEED``: it builds an index
from a slice of the labelled set (in an order given by a seed), checks every query,
and prints a digest of every conflict found (ids, evidence, weights, confidence,
outcome) and of the candidates blocking offered, with the look-ups that found them.
All runs must print the same digest.
"""

import functools
import os
import subprocess
import sys
from pathlib import Path

import pytest

HELPERS = Path(__file__).with_name("labelled_set.py")

SCRIPT = r"""
import hashlib, importlib.util, random, sys
spec = importlib.util.spec_from_file_location("labelled_set", sys.argv[1])
helpers = importlib.util.module_from_spec(spec)
spec.loader.exec_module(helpers)
from partnerkit.deals import ConflictIndex, Customer, check_customer, find_conflicts

L = helpers.load()
bases = L.population(2000)
queries = L.queries(bases, 150, L.DEVELOPMENT_SEED)
registrations = [
    helpers.registration(b.number, b.name, b.country, b.website, b.email) for b in bases
]
random.Random(int(sys.argv[2])).shuffle(registrations)
if sys.argv[3] == "bulk":
    index = ConflictIndex.build(registrations)
else:
    index = ConflictIndex()
    for registration in registrations:
        index.add(registration)
digest = hashlib.sha256()
for serial, query in enumerate(queries):
    checked = helpers.registration(10**8 + serial, query.name, query.country, query.website)
    for conflict in find_conflicts(checked, index):
        digest.update(repr((
            conflict.other_id, conflict.confidence, conflict.outcome.value,
            [(m.kind.value, m.value, m.score, m.weight) for m in conflict.matches],
        )).encode())
    customer = Customer(query.name, query.country, query.website)
    digest.update(repr([c.other_id for c in check_customer(customer, index)]).encode())
    digest.update(repr(index.candidates(index.profile(customer))).encode())
# Names a corrected slip makes equal to a registered one only once folded ("ze" and
# "zhe"): whether a check finds them must not hang on which spellings collide in
# the index's counting filter.
syllables = ["bal", "cor", "dun", "fel", "gor", "hal", "kor", "lum", "mir", "nor", "pel",
             "ros", "sal", "tor", "val", "wen", "yor"]
brands = [first + second for first in syllables for second in syllables if first != second]
folded = ConflictIndex.build(
    helpers.registration(number, f"{brand}zhe Systems", "DE", None, None)
    for number, brand in enumerate(brands)
)
for serial, brand in enumerate(brands):
    checked = helpers.registration(10**8 + serial, f"{brand}ze Systwms", "DE", None)
    digest.update(repr([c.other_id for c in find_conflicts(checked, folded)]).encode())
    digest.update(repr(folded.candidates(folded.profile(checked.customer))).encode())
print(digest.hexdigest(), len(queries))
"""


@functools.cache
def run(seed: str, order: int, how: str) -> str:
    environment = {**os.environ, "PYTHONHASHSEED": seed}
    done = subprocess.run(  # noqa: S603 - this interpreter, our own script
        [sys.executable, "-c", SCRIPT, str(HELPERS), str(order), how],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.parametrize(
    ("seed", "order", "how"),
    [("1", 2, "add"), ("4242", 3, "bulk"), ("987654321", 4, "add")],
)
def test_the_same_checks_agree_across_hash_seeds_orders_and_processes(
    seed: str, order: int, how: str
) -> None:
    assert run(seed, order, how) == run("0", 1, "bulk")


NEIGHBOURS = r"""
import importlib.util, sys
spec = importlib.util.spec_from_file_location("labelled_set", sys.argv[1])
helpers = importlib.util.module_from_spec(spec)
spec.loader.exec_module(helpers)
from partnerkit.deals import ConflictIndex, Customer
held = helpers.registration(1, "Zentrix Zentrax Zentrox Systems", "DE", None)
index = ConflictIndex.build([held])
print(index.neighbours("zentrx"))
print(index.candidates(index.profile(Customer("Zentrx Systems", "DE")))[0].routes)
"""


def test_a_word_s_neighbours_and_the_routes_to_them_read_alike_under_every_seed() -> None:
    # One slip from three words of one record: the record is offered three times
    # over, and the routes list those look-ups in the same order in every process.
    printed = set()
    for seed in ("0", "1", "2", "3", "4", "5"):
        done = subprocess.run(  # noqa: S603 - this interpreter, our own script
            [sys.executable, "-c", NEIGHBOURS, str(HELPERS)],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
            check=False,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        printed.add(done.stdout)
    assert len(printed) == 1
    assert "('zentrax', 'zentrix', 'zentrox')" in printed.pop()
