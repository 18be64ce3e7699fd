"""JSON round-trip cost per record: partnerkit against hand-written stdlib code, pydantic, msgspec.

Every contender decodes the same JSON documents into typed objects (Decimal, aware
datetime, date, enum, nested models) and encodes its own objects back to JSON text.

    .venv/bin/python benchmarks/serialization.py [--records N] [--repeat R] [--seed S] [--quick]
"""

import argparse
import dataclasses
import enum
import gc
import json
import os
import platform
import random
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from importlib import metadata
from types import ModuleType
from typing import Annotated, Any

import attrs

from partnerkit import Money, Period
from partnerkit.serialization import from_json, to_json

pydantic: ModuleType | None
try:
    import pydantic
except ImportError:
    pydantic = None

msgspec: ModuleType | None
try:
    import msgspec
except ImportError:
    msgspec = None

GOAL = "partnerkit decode within 2x of pydantic v2 (stdlib json)"
GOAL_RATIO = 2.0
DEFAULT_RECORDS = 2_000
DEFAULT_REPEAT = 5
QUICK_RECORDS = 200
QUICK_REPEAT = 2
BASELINE = "baseline: json + dataclasses"
PYDANTIC = "pydantic v2 model_validate_json"
PYDANTIC_STDLIB = "pydantic v2 json.loads+model_validate"


class PartnerType(enum.Enum):
    RESELLER = "reseller"
    DISTRIBUTOR = "distributor"
    REFERRAL = "referral"
    TECHNOLOGY = "technology"
    MSP = "msp"


@attrs.frozen
class Contact:
    name: str
    email: str
    role: str
    primary: bool


@attrs.frozen
class Partner:
    id: str
    name: str
    type: PartnerType
    country: str
    created_at: datetime
    joined_on: date
    revenue: Money
    protection: Period
    domains: tuple[str, ...]
    contacts: tuple[Contact, ...]
    custom_fields: dict[str, str]
    version: int


FIRST_NAMES = ("Ana", "Bjørn", "Chen", "Dara", "Émile", "Fatima", "Giulia", "Hiro", "Ines", "Jonas")
LAST_NAMES = ("Okafor", "Müller", "Silva", "Tanaka", "Novak", "Dubois", "Kowalski", "Haddad")
COMPANY_WORDS = ("Acme", "Northwind", "Blue Fjord", "Contoso", "Nimbus", "Vertex", "Kestrel")
COMPANY_SUFFIXES = ("GmbH", "Ltd", "Inc.", "S.A.", "BV", "KK", "AB")
COUNTRIES = ("US", "DE", "GB", "FR", "JP", "BR", "IN", "NL", "SE", "ES")
CURRENCIES = (("USD", 2), ("EUR", 2), ("GBP", 2), ("JPY", 0), ("CHF", 2), ("INR", 2))
ROLES = ("owner", "sales", "technical", "finance", "marketing")
FIELD_NAMES = ("segment", "region", "crm_id", "source", "tier_note", "account_manager")
OFFSETS = (-8.0, -5.0, 0.0, 1.0, 2.0, 5.5, 9.0)
PERIODS = (
    Period(days=90),
    Period(days=30),
    Period(months=3),
    Period(months=6),
    Period(years=1),
    Period(years=1, months=6),
    Period(weeks=2),
)


def make_contact(rng: random.Random, domain: str, *, primary: bool) -> Contact:
    first = rng.choice(FIRST_NAMES)
    last = rng.choice(LAST_NAMES)
    local = f"{first}.{last}".lower().encode("ascii", "ignore").decode()
    return Contact(
        name=f"{first} {last}",
        email=f"{local}{rng.randrange(100)}@{domain}",
        role=rng.choice(ROLES),
        primary=primary,
    )


def make_partner(rng: random.Random) -> Partner:
    company = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_WORDS)} {rng.randrange(1000)}"
    slug = company.lower().replace(" ", "-")
    domains = tuple(
        f"{slug}.{tld}" for tld in rng.sample(("com", "io", "de", "co.uk"), rng.randint(1, 3))
    )
    offset = rng.choice(OFFSETS)
    tz = UTC if offset == 0 else timezone(timedelta(hours=offset))
    created_at = datetime(2019, 1, 1, tzinfo=tz) + timedelta(
        seconds=rng.randrange(7 * 365 * 86_400),
        microseconds=rng.choice((0, rng.randrange(1_000_000))),
    )
    currency, places = rng.choice(CURRENCIES)
    contacts = [
        make_contact(rng, domains[0], primary=index == 0) for index in range(rng.randint(2, 4))
    ]
    fields = rng.sample(FIELD_NAMES, rng.randint(0, 5))
    return Partner(
        id=f"ptr_{rng.getrandbits(64):016x}",
        name=f"{company} {rng.choice(COMPANY_SUFFIXES)}",
        type=rng.choice(list(PartnerType)),
        country=rng.choice(COUNTRIES),
        created_at=created_at,
        joined_on=created_at.date() + timedelta(days=rng.randrange(60)),
        revenue=Money(Decimal(rng.randrange(1, 10**9)).scaleb(-places), currency),
        protection=rng.choice(PERIODS),
        domains=domains,
        contacts=tuple(contacts),
        custom_fields={name: f"{name}-{rng.randrange(10_000)}" for name in fields},
        version=rng.randrange(1, 50),
    )


@dataclasses.dataclass(frozen=True)
class Contender:
    name: str
    decode: Callable[[str], Any]
    encode: Callable[[Any], str | bytes]


@dataclasses.dataclass(frozen=True, slots=True)
class PlainMoney:
    amount: Decimal
    currency: str


@dataclasses.dataclass(frozen=True, slots=True)
class PlainContact:
    name: str
    email: str
    role: str
    primary: bool


@dataclasses.dataclass(frozen=True, slots=True)
class PlainPartner:
    id: str
    name: str
    type: PartnerType
    country: str
    created_at: datetime
    joined_on: date
    revenue: PlainMoney
    protection: str
    domains: tuple[str, ...]
    contacts: tuple[PlainContact, ...]
    custom_fields: dict[str, str]
    version: int


def plain_decode(text: str) -> PlainPartner:
    data = json.loads(text)
    created_at = datetime.fromisoformat(data["created_at"])
    if created_at.utcoffset() is None:
        raise ValueError("created_at needs a UTC offset")
    revenue = data["revenue"]
    return PlainPartner(
        id=data["id"],
        name=data["name"],
        type=PartnerType(data["type"]),
        country=data["country"],
        created_at=created_at,
        joined_on=date.fromisoformat(data["joined_on"]),
        revenue=PlainMoney(Decimal(revenue["amount"]), revenue["currency"]),
        protection=data["protection"],
        domains=tuple(data["domains"]),
        contacts=tuple(
            PlainContact(c["name"], c["email"], c["role"], c["primary"]) for c in data["contacts"]
        ),
        custom_fields=dict(data["custom_fields"]),
        version=data["version"],
    )


def plain_encode(partner: PlainPartner) -> str:
    data = {
        "id": partner.id,
        "name": partner.name,
        "type": partner.type.value,
        "country": partner.country,
        "created_at": partner.created_at.isoformat(),
        "joined_on": partner.joined_on.isoformat(),
        "revenue": {"amount": str(partner.revenue.amount), "currency": partner.revenue.currency},
        "protection": partner.protection,
        "domains": list(partner.domains),
        "contacts": [
            {"name": c.name, "email": c.email, "role": c.role, "primary": c.primary}
            for c in partner.contacts
        ],
        "custom_fields": partner.custom_fields,
        "version": partner.version,
    }
    return json.dumps(data, ensure_ascii=False)


def partnerkit_contender() -> Contender:
    return Contender("partnerkit", lambda text: from_json(Partner, text), to_json)


def baseline_contender() -> Contender:
    return Contender(BASELINE, plain_decode, plain_encode)


def pydantic_contenders(module: ModuleType) -> list[Contender]:
    config = module.ConfigDict(frozen=True)

    class PydMoney(module.BaseModel):
        model_config = config
        amount: Decimal
        currency: str

    class PydContact(module.BaseModel):
        model_config = config
        name: str
        email: str
        role: str
        primary: bool

    class PydPartner(module.BaseModel):
        model_config = config
        id: str
        name: str
        type: PartnerType
        country: str
        created_at: module.AwareDatetime
        joined_on: date
        revenue: PydMoney
        protection: str
        domains: tuple[str, ...]
        contacts: tuple[PydContact, ...]
        custom_fields: dict[str, str]
        version: int

    def stdlib_decode(text: str) -> Any:
        return PydPartner.model_validate(json.loads(text))

    def stdlib_encode(partner: Any) -> str:
        return json.dumps(partner.model_dump(mode="json"), ensure_ascii=False)

    return [
        Contender(PYDANTIC, PydPartner.model_validate_json, PydPartner.model_dump_json),
        Contender(PYDANTIC_STDLIB, stdlib_decode, stdlib_encode),
    ]


def msgspec_contender(module: ModuleType) -> Contender:
    class SpecMoney(module.Struct, frozen=True):
        amount: Decimal
        currency: str

    class SpecContact(module.Struct, frozen=True):
        name: str
        email: str
        role: str
        primary: bool

    class SpecPartner(module.Struct, frozen=True):
        id: str
        name: str
        type: PartnerType
        country: str
        created_at: Annotated[datetime, module.Meta(tz=True)]
        joined_on: date
        revenue: SpecMoney
        protection: str
        domains: tuple[str, ...]
        contacts: tuple[SpecContact, ...]
        custom_fields: dict[str, str]
        version: int

    def decode(text: str) -> Any:
        return module.json.decode(text, type=SpecPartner)

    return Contender("msgspec", decode, module.json.encode)


def build_contenders() -> tuple[list[Contender], list[str]]:
    contenders = [partnerkit_contender(), baseline_contender()]
    notes = []
    if pydantic is not None and pydantic.VERSION.startswith("2."):
        contenders += pydantic_contenders(pydantic)
    else:
        notes.append("pydantic v2 is not importable: skipped (pip install 'partnerkit[bench]')")
    if msgspec is not None:
        contenders.append(msgspec_contender(msgspec))
    else:
        notes.append("msgspec is not importable: skipped (pip install 'partnerkit[bench]')")
    return contenders, notes


def check_types(record: Any, name: str) -> None:
    assert isinstance(record.type, PartnerType), name
    assert isinstance(record.created_at, datetime), name
    assert record.created_at.utcoffset() is not None, name
    assert type(record.joined_on) is date, name
    assert isinstance(record.revenue.amount, Decimal), name
    assert isinstance(record.contacts, tuple), name
    assert all(isinstance(contact.primary, bool) for contact in record.contacts), name
    assert type(record.version) is int, name


def check_round_trips(
    contenders: Sequence[Contender], originals: Sequence[Partner], texts: Sequence[str]
) -> None:
    for original, text in zip(originals, texts, strict=True):
        assert from_json(Partner, text) == original, f"partnerkit round trip: {original!r}"
    for contender in contenders:
        for original, text in zip(originals, texts, strict=True):
            decoded = contender.decode(text)
            check_types(decoded, contender.name)
            again = from_json(Partner, contender.encode(decoded))
            assert again == original, f"{contender.name}: {again!r} != {original!r}"


def best_per_item_ns(work: Callable[[Any], Any], items: Sequence[Any], repeat: int) -> float:
    list(map(work, items))
    best = sys.maxsize
    collecting = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeat):
            start = time.perf_counter_ns()
            results = list(map(work, items))
            best = min(best, time.perf_counter_ns() - start)
            del results
    finally:
        if collecting:
            gc.enable()
    return best / len(items)


@dataclasses.dataclass(frozen=True)
class Timing:
    name: str
    decode_us: float
    encode_us: float


def measure(contender: Contender, texts: Sequence[str], repeat: int) -> Timing:
    decode_ns = best_per_item_ns(contender.decode, texts, repeat)
    objects = [contender.decode(text) for text in texts]
    encode_ns = best_per_item_ns(contender.encode, objects, repeat)
    return Timing(contender.name, decode_ns / 1000, encode_ns / 1000)


def package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def environment_lines() -> list[str]:
    packages = ("partnerkit", "attrs", "cattrs", "python-dateutil", "pydantic", "pydantic-core")
    listed = ", ".join(f"{name} {package_version(name)}" for name in (*packages, "msgspec"))
    machine = (
        f"python {platform.python_version()} ({platform.python_implementation()}), "
        f"{platform.system()} {platform.machine()}, "
        f"processor {platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    )
    return [machine, f"libraries: {listed}"]


def ratio(value: float, reference: Timing | None, field: str) -> str:
    if reference is None:
        return "-"
    return f"{value / getattr(reference, field):.2f}x"


def table(timings: Sequence[Timing]) -> list[str]:
    by_name = {timing.name: timing for timing in timings}
    baseline = by_name.get(BASELINE)
    pydantic_timing = by_name.get(PYDANTIC)
    columns = ("decode µs", "vs baseline", "vs pydantic", "encode µs", "vs baseline", "vs pydantic")
    lines = [f"{'contender':<38}" + "".join(f"{column:>13}" for column in columns)]
    for timing in timings:
        cells = (
            f"{timing.decode_us:.1f}",
            ratio(timing.decode_us, baseline, "decode_us"),
            ratio(timing.decode_us, pydantic_timing, "decode_us"),
            f"{timing.encode_us:.1f}",
            ratio(timing.encode_us, baseline, "encode_us"),
            ratio(timing.encode_us, pydantic_timing, "encode_us"),
        )
        lines.append(f"{timing.name:<38}" + "".join(f"{cell:>13}" for cell in cells))
    return lines


def goal_lines(timings: Sequence[Timing]) -> list[str]:
    by_name = {timing.name: timing for timing in timings}
    lines = [f"goal: {GOAL}"]
    for reference_name in (PYDANTIC_STDLIB, PYDANTIC):
        reference = by_name.get(reference_name)
        if reference is None:
            lines.append(f"  {reference_name}: not installed, not checked")
            continue
        factor = by_name["partnerkit"].decode_us / reference.decode_us
        verdict = "MET" if factor <= GOAL_RATIO else "NOT MET"
        lines.append(f"  partnerkit decode is {factor:.2f}x {reference_name} -> {verdict}")
    return lines


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--records", type=int, help=f"records per pass (default {DEFAULT_RECORDS})")
    parser.add_argument(
        "--repeat", type=int, help=f"timed passes, best kept (default {DEFAULT_REPEAT})"
    )
    parser.add_argument("--seed", type=int, default=2024, help="data generator seed (default 2024)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke test: {QUICK_RECORDS} records, {QUICK_REPEAT} passes unless given",
    )
    options = parser.parse_args(argv)
    default_records, default_repeat = (
        (QUICK_RECORDS, QUICK_REPEAT) if options.quick else (DEFAULT_RECORDS, DEFAULT_REPEAT)
    )
    if options.records is None:
        options.records = default_records
    if options.repeat is None:
        options.repeat = default_repeat
    if options.records < 1 or options.repeat < 1:
        parser.error("--records and --repeat must be at least 1")
    return options


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    started = time.perf_counter()
    rng = random.Random(options.seed)
    partners = [make_partner(rng) for _ in range(options.records)]
    texts = [to_json(partner) for partner in partners]
    contenders, notes = build_contenders()
    check_round_trips(contenders, partners, texts)

    average_bytes = sum(len(text.encode()) for text in texts) / len(texts)
    print("JSON round trip per record: decode = JSON text -> typed object, encode = object -> JSON")
    print(*environment_lines(), sep="\n")
    print(
        f"data: {options.records} records (seed {options.seed}), {average_bytes:.0f} bytes of "
        f"JSON each on average; best of {options.repeat} passes after a warm-up, gc off while timed"
    )
    print("round-trip check: every contender re-encodes to JSON partnerkit reads back equal: ok")
    print(*notes, sep="\n", end="\n" if notes else "")
    print()
    timings = [measure(contender, texts, options.repeat) for contender in contenders]
    print(*table(timings), sep="\n")
    print("(µs = microseconds per record; ratios are time / reference time, lower is faster)")
    print()
    print(*goal_lines(timings), sep="\n")
    print(f"total run time {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
