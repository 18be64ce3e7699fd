"""Hostile files against every command: each is refused cleanly, or read correctly.

`build_corpus` writes one crafted file per kind of trouble a spreadsheet or CRM
export can bring (wrong encodings, binary data, huge cells, instants near year 1
or 9999, numbers with thousands of digits, deep nesting, pipes and devices,
duplicates, formula cells, 10,000 registrations of one customer). Every case must
end in exit code 1 with a message naming the file and the fix, or be accepted
(exit 0, or 3 for conflicts found) with the right output; never a traceback.

`test_the_corpus_runs_in_bounded_cpu_and_memory` runs the whole corpus again in
one child process whose address space is capped at 500 MiB and whose CPU time is
capped at 20 s per case, so a case that ran away would be killed.
"""

import codecs
import contextlib
import io
import json
import os
import random
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import attrs
import pytest

from partnerkit.__main__ import main

pytestmark = pytest.mark.skipif(os.name != "posix", reason="pipes, devices and rlimits")

MODEL = """name = "Starter"
version = 1

[[measures]]
name = "deals"
metric = "deals_won"
weight = 2
normalizer = { kind = "linear", low = 0, high = 10 }
"""
PROGRAM = """id = "prg"
name = "Channel"
currency = "USD"
review = "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1"

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
requirements.all_of = [{ metric = "revenue_12m", comparison = ">=", threshold = "25,000 USD" }]
"""
METRICS = (
    "partner_id,as_of,deals_won,revenue_12m\n"
    "ptn_1,2026-11-22T00:00:00Z,6,30000 USD\n"
    "ptn_2,2026-11-22T00:00:00Z,1,10000 USD\n"
)
AS_OF = "2026-11-22T00:00:00Z"
REFUSED, ACCEPTED, CONFLICTS = 1, 0, 3


@attrs.frozen
class Case:
    """One crafted file, the command to run on it and how it must end."""

    name: str
    args: tuple[str, ...]
    code: int
    mentions: tuple[str, ...] = ()  # the fix, beyond the file's name
    check: Callable[[str], bool] | None = None  # for accepted files: the output is right


def build_corpus(folder: Path) -> list[Case]:
    """Write the hostile files into ``folder``; return the cases that read them."""
    model, program = folder / "model.toml", folder / "program.toml"
    model.write_text(MODEL, encoding="utf-8")
    program.write_text(PROGRAM, encoding="utf-8")
    good = folder / "good.csv"
    good.write_text(METRICS, encoding="utf-8")
    cases: list[Case] = []

    def write(name: str, data: str | bytes) -> Path:
        path = folder / name
        path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        return path

    def score(name: str, data: str | bytes, code: int, *mentions: str, **kw: object) -> None:
        path = write(name, data)
        args = ("score", "--model", str(model), "--input", str(path), "--as-of", AS_OF)
        cases.append(Case(name, args, code, mentions, **kw))  # type: ignore[arg-type]

    def scores_both(out: str) -> bool:
        return "ptn_1" in out and "ptn_2" in out

    def row(cell: str, column: str = "deals_won") -> str:
        return f"partner_id,as_of,{column}\nptn_1,{AS_OF},{cell}\n"

    # Encodings: UTF-8 with or without a BOM and UTF-16/32 with one are read; the
    # rest is refused at the first bad byte.
    score("latin-1.csv", row("6").replace("ptn_1", "ptn_é").encode("latin-1"), REFUSED,
          "line 2, column 5", "byte 31 (0xE9)", "re-save the file as UTF-8")  # fmt: skip
    for bom, codec in (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
        (codecs.BOM_UTF32_LE, "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be"),
    ):
        score(f"{codec}-bom.csv", bom + METRICS.encode(codec), ACCEPTED, check=scores_both)
    score("utf-16-without-bom.csv", METRICS.encode("utf-16-le"), REFUSED,
          "byte 1 is a NUL", "without a byte order mark", "re-save")  # fmt: skip
    noise = bytes(random.Random(13).randrange(256) for _ in range(4096))
    score("binary.csv", b"\x89PNG\r\n\x1a\n" + noise, REFUSED, "byte 0 (0x89)", "re-save")
    # Sizes and shapes.
    score("big-number-cell.csv", row("9" * 200 * 1024), REFUSED, "column 3", "out of range")
    score("big-text-cell.csv", row('"' + "x" * 200 * 1024 + '"'), REFUSED,
          "column 3", "write 12, 12.5 or '12000 USD'")  # fmt: skip
    score("digits-5000.csv", row("9" * 5000), REFUSED, "column 3", "below 10**18")
    score("exponent-999999999.csv", row("1E999999999"), REFUSED, "column 3", "below 10**18")
    score("exponent-99999999.csv", row("1E99999999"), REFUSED, "column 3", "below 10**18")
    score("year-1.csv", row("6").replace(AS_OF, "0001-01-01T00:00:00+05:00"), REFUSED,
          "column 2 (as_of)", "years 1900 to 2999")  # fmt: skip
    score("year-9999.csv", row("6").replace(AS_OF, "9999-12-31T23:59:59-05:00"), REFUSED,
          "column 2 (as_of)", "years 1900 to 2999")  # fmt: skip
    score("duplicate-column.csv", f"partner_id,as_of,deals_won,deals_won\nptn_1,{AS_OF},6,7\n",
          REFUSED, "line 1, column 4", "name of column 3")  # fmt: skip
    score("duplicate-partner.csv", row("6") + f"ptn_1,{AS_OF},7\n", REFUSED,
          "line 3", "also on line 2")  # fmt: skip
    score("open-quote.csv", f'partner_id,as_of,deals_won\nptn_1,{AS_OF},"6\nptn_2,{AS_OF},7\n',
          REFUSED, "line 2, column 3", "close the quote")  # fmt: skip
    score("empty.csv", "", REFUSED, "needs a header row")
    score("nested.json", "[" * 100_000 + "]" * 100_000, REFUSED, "more than 64 levels")
    score("digits-5000.json",
          f'[{{"partner_id": "p", "as_of": "{AS_OF}", "values": {{"deals_won": {"9" * 5000}}}}}]',
          REFUSED, "[0]", "below 10**18")  # fmt: skip
    score("long-exponent.json",
          f'[{{"partner_id": "p", "as_of": "{AS_OF}", "values": {{"deals_won": 1e{"9" * 5000}}}}}]',
          REFUSED, "line 1, column", "too long a number")  # fmt: skip
    score("formula-cells.csv",
          f'partner_id,as_of,deals_won\n=HYPERLINK("x"),{AS_OF},6\n+1,{AS_OF},2\n',
          ACCEPTED, check=lambda out: "'=HYPERLINK" in out and "\n'+1," in out)  # fmt: skip
    cases[-1] = attrs.evolve(cases[-1], args=(*cases[-1].args, "--format", "csv"))
    score("over-the-size-limit.csv", METRICS * 100, REFUSED, "over the", "--max-size")
    cases[-1] = attrs.evolve(cases[-1], args=(*cases[-1].args, "--max-size", "1KB"))
    score("over-the-row-limit.csv", METRICS + "".join(f"p{i},{AS_OF},1,\n" for i in range(9)),
          REFUSED, "more than 5 rows", "--max-rows")  # fmt: skip
    cases[-1] = attrs.evolve(cases[-1], args=(*cases[-1].args, "--max-rows", "5"))
    # Things that are not regular files.
    os.mkfifo(folder / "pipe.csv")
    (folder / "zero.csv").symlink_to("/dev/zero")
    (folder / "folder.csv").mkdir()
    for name, mention in (
        ("pipe.csv", "named pipe (FIFO)"),
        ("zero.csv", "is a device"),
        ("folder.csv", "is a directory"),
        ("missing.csv", "no such file"),
    ):
        args = ("score", "--model", str(model), "--input", str(folder / name))
        cases.append(Case(name, args, REFUSED, (mention,)))

    def model_file(name: str, text: str, *mentions: str) -> None:
        path = write(name, text)
        args = ("score", "--model", str(path), "--input", str(good))
        cases.append(Case(name, args, REFUSED, mentions))

    model_file("model-nested.json", "[" * 100_000 + "]" * 100_000, "more than 64 levels")
    model_file("model-digits.toml", MODEL.replace("weight = 2", f"weight = {'9' * 5000}"),
               "line 7, column 10", "4,300 digits")  # fmt: skip
    model_file("model-long-exponent.toml",
               MODEL.replace("weight = 2", f"weight = 1e{'9' * 5000}"),
               "line 7, column 10", "too long a number")  # fmt: skip
    model_file("model-exponent.toml", MODEL.replace("weight = 2", "weight = 1e999999999"),
               "measures[0].weight", "below 10**18")  # fmt: skip
    model_file("model-dotted-key.toml", "a" + ".a" * 100_000 + " = 1", "more than 64 parts")
    model_file("model-deep.toml", "a = " + "[" * 5000 + "]" * 5000, "more than 64 levels")

    def program_file(name: str, text: str, *mentions: str) -> None:
        path = write(name, text)
        args = ("tiers", "--program", str(path), "--input", str(good))
        cases.append(Case(name, args, REFUSED, mentions))

    def window(text: str) -> str:
        return PROGRAM.replace('window = "P12M"', f'window = "{text}"')

    def review(text: str) -> str:
        return PROGRAM.replace(
            'review = "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1"', f"review = {text}"
        )

    program_file("period-32000-digits.toml", window("P" + "9" * 32_000 + "D"),
                 "metrics[0].window.period", "more than the 100")  # fmt: skip
    program_file("period-words.toml", window("9" * 32_000 + " days"), "more than the 100")
    program_file("period-9999-years.toml", window("P9999Y"), "at most 1,000 years")
    for name, anchor in (
        ("anchor-9999.toml", "9999-12-31T23:00:00Z"),
        ("anchor-1.toml", "0001-01-01T00:00:00+05:00"),
    ):
        program_file(name, review(f'{{rule = "FREQ=DAILY", anchor = {anchor}}}'),
                     "review.anchor", "years 1900 to 2999")  # fmt: skip
    program_file("secondly.toml", review('"FREQ=SECONDLY"'), "review.rule", "at most daily")
    program_file("february-30.toml", review('"FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30"'),
                 "review.rule", "never occurs")  # fmt: skip
    program_file("program-nested.json", '{"a": ' * 50_000 + "1" + "}" * 50_000,
                 "more than 64 levels")  # fmt: skip

    def deals(name: str, text: str, code: int, *mentions: str, **kw: object) -> None:
        path = write(name, text)
        args = ("deals", "check", "--input", str(path))
        cases.append(Case(name, args, code, mentions, **kw))  # type: ignore[arg-type]

    header = "id,partner_id,customer,country,domain,products\n"
    one_customer = "".join(f"r{i},p{i % 50},Acme Oy,FI,acme.fi,cloud\n" for i in range(10_000))
    deals("one-customer-10000-times.csv", header + one_customer, CONFLICTS,
          check=lambda out: out.count(" conflicts with registration r0 ") == 9_999
          and "and 9,998 more earlier registration(s)" in out
          and out.rstrip().endswith("9999 conflict(s) found"))  # fmt: skip
    deals("duplicate-id.csv", header + "r1,p1,Acme Oy,FI,,\nr2,p2,Zen AB,SE,,\nr1,p3,Acme,FI,,\n",
          REFUSED, "line 4, column 1 (id)", "also on line 2")  # fmt: skip
    deals("year-9999-submitted.csv",
          "id,partner_id,customer,country,submitted_at\nr1,p1,Acme,FI,9999-12-31T23:59:59Z\n",
          REFUSED, "column 5 (submitted_at)", "years 1900 to 2999")  # fmt: skip
    deals("formula-ids.csv", header + "=1+2,p1,Acme Oy,FI,,\n@r2,p2,Acme Oy,FI,,\n", CONFLICTS,
          check=lambda out: out.splitlines()[1].startswith("'@r2,'=1+2,"))  # fmt: skip
    cases[-1] = attrs.evolve(cases[-1], args=(*cases[-1].args, "--format", "csv"))
    return cases


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Case]:
    return {case.name: case for case in build_corpus(tmp_path_factory.mktemp("hostile"))}


def _names() -> list[str]:
    # The names only, for parametrize; the fixture writes the files the tests read.
    with tempfile.TemporaryDirectory() as folder:
        return [case.name for case in build_corpus(Path(folder))]


@pytest.mark.parametrize("name", _names())
def test_each_hostile_file_is_refused_naming_the_place_and_the_fix_or_read_right(
    corpus: dict[str, Case], name: str
) -> None:
    case = corpus[name]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(case.args))
    assert "Traceback" not in err.getvalue()
    assert code == case.code, err.getvalue()
    if code == REFUSED:
        message = err.getvalue()
        assert message.startswith("partnerkit: ")
        path = next(arg for arg in case.args if arg.endswith(name))
        assert path in message, message  # the place: the file...
        for mention in case.mentions:  # ...the line and column, and the fix
            assert mention in message, message
        assert message.count("\n") <= 105, "at most 100 problems are listed"
    if case.check is not None:
        assert case.check(out.getvalue()), out.getvalue()[:2000]


# Runs in the child: every case once, each under a CPU limit of its own, the whole
# process under an address-space limit; one JSON line per case.
DRIVER = r"""
import contextlib, io, json, os, resource, sys
from partnerkit.__main__ import main

cases = json.loads(sys.stdin.read())
memory = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
_, hard = resource.getrlimit(resource.RLIMIT_CPU)
for name, args in cases:
    used = resource.getrusage(resource.RUSAGE_SELF)
    cpu = used.ru_utime + used.ru_stime
    resource.setrlimit(resource.RLIMIT_CPU, (int(cpu) + int(sys.argv[2]), hard))
    err = io.StringIO()
    with open(os.devnull, "w") as out, contextlib.redirect_stdout(out), \
            contextlib.redirect_stderr(err):
        try:
            code = main(args)
        except BaseException as error:
            code = f"{type(error).__name__}: {error}"[:300]
    after = resource.getrusage(resource.RUSAGE_SELF)
    seconds = after.ru_utime + after.ru_stime - cpu
    print(json.dumps([name, code, round(seconds, 3), after.ru_maxrss]), flush=True)
"""
MEMORY_LIMIT = 500 * 1024 * 1024
CPU_SECONDS_PER_CASE = 20


def test_the_corpus_runs_in_bounded_cpu_and_memory(corpus: dict[str, Case]) -> None:
    cases = [[case.name, list(case.args)] for case in corpus.values()]
    child = subprocess.run(  # noqa: S603 - this interpreter, our own driver
        [sys.executable, "-c", DRIVER, str(MEMORY_LIMIT), str(CPU_SECONDS_PER_CASE)],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        check=False,
        # Not a speed check (the CPU limit is): only a guard so that a case blocked
        # on I/O, which uses no CPU, fails the test instead of hanging the suite.
        timeout=900,
    )
    results = [json.loads(line) for line in child.stdout.splitlines()]
    done = {name for name, *_ in results}
    stopped = next((name for name, _ in cases if name not in done), None)
    assert child.returncode == 0, f"killed ({child.returncode}) in {stopped}: {child.stderr}"
    assert [(name, code) for name, code, *_ in results] == [
        (case.name, case.code) for case in corpus.values()
    ]
    figures = "\n".join(
        f"{name:<32} cpu {seconds:6.2f} s   peak so far {rss / 1024:6.0f} MiB"
        for name, _, seconds, rss in results
    )
    print(f"\nhostile corpus, each case under {CPU_SECONDS_PER_CASE} s of CPU, all in 500 MiB:")
    print(figures)
