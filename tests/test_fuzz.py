"""Fuzzing every reader of outside input: only partnerkit's own refusals may come out.

Two promises are tested with generated hostile input:

- ``serialization.from_json`` raises nothing but a `PartnerkitError`, for every
  public model and any text or bytes;
- every command-line reader (``score`` and ``tiers`` inputs, models, programs,
  ``deals check``) ends in exit code 0, 1 or 3 with no traceback, whatever the
  file holds.

Inputs are junk JSON with hostile leaves, valid documents with one value replaced
by a hostile one, and valid files with bytes inserted, removed or replaced
(hostile tokens included) and re-encoded. The suite runs 25 files per command-line
reader and 125 documents per from_json test; ``python3 dev.py fuzz`` runs many more
(``PARTNERKIT_FUZZ_EXAMPLES`` files per reader, five times as many documents) and
prints how many inputs each target saw and how each run ended.
"""

import atexit
import codecs
import contextlib
import importlib
import io
import json
import os
import pkgutil
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import partnerkit
from partnerkit import PartnerkitError, Period
from partnerkit.__main__ import main
from partnerkit.health import model_from_toml
from partnerkit.serialization import from_json, to_json
from partnerkit.testing import strategies as pks
from partnerkit.tiers import program_from_toml

EXAMPLES = int(os.environ.get("PARTNERKIT_FUZZ_EXAMPLES", "25"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# A document costs far less to try than a command-line run: five times as many.
FUZZ_DOCUMENTS = settings(FUZZ, max_examples=EXAMPLES * 5)

# How each target's runs ended, printed at exit when PARTNERKIT_FUZZ_REPORT is set.
OUTCOMES: Counter[tuple[str, str]] = Counter()


def _report() -> None:
    if not os.environ.get("PARTNERKIT_FUZZ_REPORT") or not OUTCOMES:
        return
    targets = sorted({target for target, _ in OUTCOMES})
    kinds = sorted({kind for _, kind in OUTCOMES})
    lines = ["", "fuzz outcomes (inputs per target and how they ended):"]
    for target in targets:
        counts = ", ".join(f"{kind} {OUTCOMES[target, kind]:,}" for kind in kinds)
        total = sum(OUTCOMES[target, kind] for kind in kinds)
        lines.append(f"  {target:<22} {total:>8,} inputs: {counts}")
    total = sum(OUTCOMES.values())
    escapes = sum(count for (_, kind), count in OUTCOMES.items() if kind == "escaped")
    lines.append(f"  {'all':<22} {total:>8,} inputs, {escapes} escaped")
    print("\n".join(lines), file=sys.__stdout__)


atexit.register(_report)


def _public_modules() -> Iterator[Any]:
    yield partnerkit
    for info in pkgutil.iter_modules(partnerkit.__path__, "partnerkit."):
        leaf = info.name.rsplit(".", 1)[1]
        if not leaf.startswith("_") and leaf not in {"testing", "storage"}:
            yield importlib.import_module(info.name)


def _public_models() -> list[type[Any]]:
    found: dict[str, type[Any]] = {}
    for module in _public_modules():
        for name in getattr(module, "__all__", ()):
            value = getattr(module, name)
            if isinstance(value, type) and attrs.has(value):
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return [found[key] for key in sorted(found)]


MODELS = _public_models()
TARGETS = [*MODELS, Period]


def test_the_fuzz_covers_every_public_model() -> None:
    names = {cls.__name__ for cls in MODELS}
    assert {"Partner", "Program", "ScoringModel", "DealRegistration", "Conflict"} <= names
    assert len(MODELS) > 40


# --- hostile values -----------------------------------------------------------------


class Raw(str):
    """JSON text put into a document as it is: number literals JSON readers choke on."""

    __slots__ = ()


HOSTILE_NUMBERS = [
    "9" * 5000,
    "-" + "9" * 400,
    "1E999999999",
    "1e-999999999",
    "1E99999999",
    "1e" + "9" * 5000,
    "0." + "1" * 300,
    "1e400",
    "-0",
    "1" + "0" * 19,
]
HOSTILE_TEXT = [
    "0001-01-01T00:00:00+05:00",
    "9999-12-31T23:59:59-05:00",
    "9999-12-31",
    "0001-01-01",
    "2026-02-30T00:00:00Z",
    "P" + "9" * 32_000 + "D",
    "9" * 3000 + " days",
    "P9999Y",
    "-P1000Y1D",
    "FREQ=SECONDLY",
    "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=31",
    "FREQ=YEARLY;INTERVAL=99999999999999999999",
    "FREQ=DAILY;UNTIL=99991231T235959Z",
    "RRULE:FREQ=MONTHLY;BYSETPOS=400",
    "1E999999999 USD",
    "9" * 5000 + " EUR",
    "x" * 200_000,
    '=HYPERLINK("http://x")',
    "\x00\ud800\u2028",
    "",
]
LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**25), max_value=10**25),
    st.sampled_from(HOSTILE_NUMBERS).map(Raw),
    st.sampled_from(HOSTILE_TEXT),
    st.text(max_size=12),
    st.decimals(allow_nan=False, allow_infinity=False).map(lambda d: Raw(f"{d:f}")),
)
JUNK = st.recursive(
    LEAVES,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=25,
)


def dumps(value: Any) -> str:
    """JSON text of ``value``, with `Raw` pieces written as they are."""
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(dumps(item) for item in value) + "]"
    return json.dumps(value)


# Valid documents of every kind of model, to be corrupted one value at a time.
SEEDS = st.one_of(
    pks.money(),
    pks.cadences(),
    pks.partners(stored=True),
    pks.custom_field_schemas(),
    pks.onboarding_plans(),
    pks.activities(),
    pks.metric_definitions(),
    pks.metric_snapshots(),
    pks.event_records(),
    pks.scoring_models(),
    pks.programs(),
    pks.tier_decisions(),
    pks.deal_registrations(),
    pks.conflicts(),
    pks.extensions(),
    pks.health_scores(),
    pks.overrides(),
    pks.backtests(),
)


def _slots(document: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) inside ``document`` whose value can be replaced."""
    found: list[tuple[Any, Any]] = []
    if isinstance(document, dict):
        for key, value in document.items():
            found.append((document, key))
            found += _slots(value)
    elif isinstance(document, list):
        for index, value in enumerate(document):
            found.append((document, index))
            found += _slots(value)
    return found


def _parts(document: Any) -> list[Any]:
    """``document`` and every object inside it: candidates for other models' documents."""
    found = [document]
    values = document.values() if isinstance(document, dict) else document
    if isinstance(document, (dict, list)):
        for value in values:
            if isinstance(value, (dict, list)):
                found += _parts(value)
    return found


@st.composite
def corrupted_documents(draw: st.DrawFn) -> tuple[type[Any], str]:
    """A model and a valid document of it (or of a part of it) with one value junk."""
    model = draw(SEEDS)
    document = json.loads(to_json(model))
    part = draw(st.sampled_from([p for p in _parts(document) if isinstance(p, dict)]))
    slots = _slots(part)
    if slots:
        container, key = draw(st.sampled_from(slots))
        container[key] = draw(JUNK)
    # Half the time the model the document was made for, so its own checks run.
    same = part is document and draw(st.booleans())
    cls = type(model) if same else draw(st.sampled_from(TARGETS))
    return cls, dumps(part)


def _from_json_only_refuses(cls: type[Any], text: str | bytes) -> None:
    target = f"from_json({cls.__name__})"
    try:
        from_json(cls, text)
    except PartnerkitError:
        OUTCOMES["from_json", "refused"] += 1
    except BaseException:
        OUTCOMES["from_json", "escaped"] += 1
        raise
    else:
        OUTCOMES["from_json", "accepted"] += 1
    assert target  # the model is named in the failure hypothesis reports


@FUZZ_DOCUMENTS
@given(st.sampled_from(TARGETS), JUNK.map(dumps))
def test_from_json_refuses_junk_with_partnerkit_errors_only(cls: type[Any], text: str) -> None:
    _from_json_only_refuses(cls, text)


@FUZZ_DOCUMENTS
@given(corrupted_documents())
def test_from_json_refuses_corrupted_documents_with_partnerkit_errors_only(
    case: tuple[type[Any], str],
) -> None:
    _from_json_only_refuses(*case)


# --- hostile bytes ------------------------------------------------------------------

TOKENS = [
    b"\xff",
    b"\xe9",
    b"\x00",
    b"\xc3",
    b'"',
    b"\r",
    b"\n",
    b",",
    b"=1+2",
    b"@",
    b"[" * 200,
    b"{" * 100,
    b"9" * 5000,
    b"1E999999999",
    b"0001-01-01T00:00:00+05:00",
    b"9999-12-31T23:59:59Z",
    b"P" + b"9" * 2000 + b"D",
    b"FREQ=SECONDLY",
    b"a." * 100,
    codecs.BOM_UTF8,
    codecs.BOM_UTF16_LE,
    b"x" * 150_000,
]


# A value in a CSV, TOML or JSON file: what a cell-level edit replaces.
VALUE = re.compile(rb'[^,\n=\[\]{}":;]+')


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    """``seed`` with values swapped for hostile ones, or bytes changed, maybe re-encoded."""
    data = bytearray(seed)
    values = [match.span() for match in VALUE.finditer(seed)]
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        at = draw(st.integers(min_value=0, max_value=len(data)))
        action = draw(st.sampled_from(["value", "value", "insert", "delete", "replace", "token"]))
        if action == "value" and len(data) == len(seed):
            start, end = draw(st.sampled_from(values))
            hostile = draw(st.sampled_from(HOSTILE_NUMBERS + HOSTILE_TEXT))
            data[start:end] = hostile.encode("utf-8", "surrogatepass")
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=4))
        elif action == "delete":
            del data[at : at + draw(st.integers(min_value=1, max_value=8))]
        elif action == "replace":
            data[at : at + 1] = draw(st.binary(min_size=1, max_size=1))
        else:
            data[at:at] = draw(st.sampled_from(TOKENS))
    encoding = draw(st.sampled_from([None] * 5 + ["utf-16", "utf-32", "utf-16-le", "latin-1"]))
    if encoding is None:
        return bytes(data)
    text = bytes(data).decode("utf-8", "replace")
    return text.encode(encoding, "replace")


METRICS_CSV = (
    b"partner_id,as_of,deals_won,days_since_login,revenue_12m\n"
    b"ptn_1,2026-11-22T00:00:00Z,6,30,30000 USD\n"
    b'ptn_2,2026-11-22T00:00:00+02:00,1,,"10,000 USD"\n'
)
METRICS_JSON = (
    b'[{"partner_id": "ptn_1", "as_of": "2026-11-22T00:00:00Z",'
    b' "values": {"deals_won": 6, "days_since_login": 30, "revenue_12m": "30000 USD"}},'
    b' {"partner_id": "ptn_2", "as_of": "2026-11-22T00:00:00Z",'
    b' "values": {"deals_won": 1.5, "revenue_12m": {"amount": "10000", "currency": "USD"}}}]'
)
MODEL_TOML = b"""name = "Starter"
version = 1

[[measures]]
name = "deals"
metric = "deals_won"
weight = 2
normalizer = { kind = "linear", low = 0, high = 10 }

[[measures]]
name = "logins"
metric = "days_since_login"
weight = 1.5
normalizer = { kind = "recency", half_life_days = 30 }

[[bands]]
name = "critical"
lower = 0
upper = 40
color = "#d62728"

[[bands]]
name = "healthy"
lower = 40
upper = 100
color = "#2ca02c"
"""
PROGRAM_TOML = b"""id = "prg"
name = "Channel"
currency = "USD"
review = { rule = "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1", anchor = 2026-01-01T00:00:00Z }

[[metrics]]
name = "revenue_12m"
aggregate = "sum"
kinds = ["revenue_booked"]
window = "P12M"
currency = "USD"

[[tiers]]
id = "registered"
name = "Registered"
rank = 1

[[tiers]]
id = "silver"
name = "Silver"
rank = 2
benefits = { discount_percent = "10", deal_protection = 90 }
requirements.all_of = [{ metric = "revenue_12m", comparison = ">=", threshold = "25,000 USD" }]
"""
MODEL_JSON = to_json(model_from_toml(MODEL_TOML.decode())).encode()
PROGRAM_JSON = to_json(program_from_toml(PROGRAM_TOML.decode())).encode()
DEALS_CSV = (
    b"id,partner_id,customer,country,domain,contact_email,products,submitted_at\n"
    b"r1,p1,Acme Oy,FI,acme.fi,jo@acme.fi,cloud;edge,2026-01-05T10:00:00Z\n"
    b"r2,p2,ACME Oy.,FI,,,cloud,2026-01-06T10:00:00+02:00\n"
    b"r3,p3,Zenith AB,SE,zenith.se,,,\n"
)

JOURNEY_JSON = (
    b'{"id": "activation", "name": "Activation", "steps": ['
    b'{"id": "first", "name": "First contact", "done_when": {"kinds": ["business_review_held"]},'
    b' "within": "P14D", "on_overdue": [{"action": "email", "target": "nudge"}]},'
    b'{"id": "deal", "name": "First deal", "done_when": {"kinds": ["deal_registered"],'
    b' "count": 2}, "within": "P30D"}],'
    b' "variants": [{"name": "referral", "audience": {"types": ["referral"]},'
    b' "skip": ["first"], "within": {"deal": "P60D"}}]}'
)
JOURNEY_PARTNERS_CSV = (
    b"partner_id,started_at,type,country,tier_id\n"
    b"p1,2026-01-05T10:00:00Z,reseller,FI,gold\n"
    b"p2,2026-02-01T00:00:00+02:00,referral,SE,\n"
)
JOURNEY_ACTIVITIES_CSV = (
    b"id,partner_id,kind,occurred_at,region\n"
    b"a1,p1,business_review_held,2026-01-10T10:00:00Z,EMEA\n"
    b"a2,p2,deal_registered,2026-02-03T10:00:00Z,\n"
)


def _journeys(root: Path, **files: Path) -> list[str]:
    paths = {
        "journey": root / "journey.json",
        "partners": root / "partners.csv",
        "activities": root / "activities.csv",
        **files,
    }
    fuzzed = next(iter(files))
    order = [name for name in paths if name != fuzzed] + [fuzzed]  # the fuzzed file last
    return ["journeys", "status", "--as-of", "2026-04-01T00:00:00Z", "--format", "csv"] + [
        part for name in order for part in (f"--{name}", str(paths[name]))
    ]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fuzz")
    (root / "model.toml").write_bytes(MODEL_TOML)
    (root / "program.toml").write_bytes(PROGRAM_TOML)
    (root / "metrics.csv").write_bytes(METRICS_CSV)
    (root / "journey.json").write_bytes(JOURNEY_JSON)
    (root / "partners.csv").write_bytes(JOURNEY_PARTNERS_CSV)
    (root / "activities.csv").write_bytes(JOURNEY_ACTIVITIES_CSV)
    return root


def _run(target: str, args: list[str]) -> None:
    """Run the command line; any exception, or an exit code but 0, 1 or 3, escapes."""
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(args)
    except BaseException:
        OUTCOMES[target, "escaped"] += 1
        raise
    OUTCOMES[target, {0: "accepted", 1: "refused", 3: "conflicts"}.get(code, "other")] += 1
    assert code in (0, 1, 3), err.getvalue()
    assert "Traceback" not in err.getvalue()
    if code == 1:
        message = err.getvalue()
        assert message.startswith("partnerkit: "), message
        assert args[-1] in message or "line" in message or "--" in message, message


CLI_TARGETS: dict[str, tuple[bytes, str, Callable[[Path, Path], list[str]]]] = {
    "score metrics.csv": (
        METRICS_CSV,
        ".csv",
        lambda root, path: ["score", "--model", str(root / "model.toml"), "--format", "csv",
                            "--as-of", "2026-11-22T00:00:00Z", "--input", str(path)],
    ),
    "score metrics.json": (
        METRICS_JSON,
        ".json",
        lambda root, path: ["score", "--model", str(root / "model.toml"), "--format", "json",
                            "--input", str(path)],
    ),
    "tiers metrics.csv": (
        METRICS_CSV,
        ".csv",
        lambda root, path: ["tiers", "--program", str(root / "program.toml"),
                            "--input", str(path)],
    ),
    "score --model .toml": (
        MODEL_TOML,
        ".toml",
        lambda root, path: ["score", "--input", str(root / "metrics.csv"), "--model", str(path)],
    ),
    "tiers --program .toml": (
        PROGRAM_TOML,
        ".toml",
        lambda root, path: ["tiers", "--input", str(root / "metrics.csv"), "--program", str(path)],
    ),
    "score --model .json": (
        MODEL_JSON,
        ".json",
        lambda root, path: ["score", "--input", str(root / "metrics.csv"), "--model", str(path)],
    ),
    "tiers --program .json": (
        PROGRAM_JSON,
        ".json",
        lambda root, path: ["tiers", "--input", str(root / "metrics.csv"), "--program", str(path)],
    ),
    "deals check": (
        DEALS_CSV,
        ".csv",
        lambda root, path: ["deals", "check", "--format", "csv", "--input", str(path)],
    ),
    "journeys --journey .json": (
        JOURNEY_JSON, ".json", lambda root, path: _journeys(root, journey=path),
    ),
    "journeys --partners .csv": (
        JOURNEY_PARTNERS_CSV, ".csv", lambda root, path: _journeys(root, partners=path),
    ),
    "journeys --activities .csv": (
        JOURNEY_ACTIVITIES_CSV, ".csv", lambda root, path: _journeys(root, activities=path),
    ),
}  # fmt: skip


@pytest.mark.parametrize("target", sorted(CLI_TARGETS))
@FUZZ
@given(data=st.data())
def test_every_cli_reader_refuses_mutated_files_cleanly(
    folder: Path, target: str, data: st.DataObject
) -> None:
    seed, suffix, command = CLI_TARGETS[target]
    path = folder / f"input{suffix}"
    path.write_bytes(data.draw(mutated(seed)))
    _run(target, command(folder, path))


@pytest.mark.parametrize("target", sorted(CLI_TARGETS))
def test_every_fuzz_seed_is_a_valid_file(folder: Path, target: str) -> None:
    seed, suffix, command = CLI_TARGETS[target]
    path = folder / f"seed{suffix}"
    path.write_bytes(seed)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(command(folder, path))
    assert code in (0, 3), err.getvalue()
