"""A real `Partner` through JSON: partnerkit against pydantic v2 on a like model.

Decoding: ``serialization.from_json(Partner, text)`` (every field validated, what
untrusted input goes through) and the storage layer's trusted reader of its own
documents, against pydantic's ``model_validate_json`` of a model with the same
fields, types and nesting (contacts, onboarding steps, status changes, custom
fields, aware instants, dates, enums, Decimals). Encoding: ``to_json`` and the
storage layer's hand-made encoder against ``model_dump_json``. Each contender reads
the JSON it writes, for the same partners, in the same run, alternating.

    .venv/bin/python benchmarks/partner_json.py [--partners N] [--repeat R] [--quick]

pydantic is in the ``bench`` extra: ``pip install -e '.[bench]'``.
"""

import argparse
import enum
import gc
import os
import platform
import random
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal

from partnerkit import Partner
from partnerkit._documents import partner_document, read_partner
from partnerkit.serialization import from_json, to_json
from storage import build_partners

try:
    import pydantic
except ImportError:
    sys.exit("pydantic is not installed: pip install -e '.[bench]'")

DECODE_GOAL = 3.0
ENCODE_GOAL = 2.0


class Kind(enum.StrEnum):
    RESELLER = "reseller"
    REFERRAL = "referral"
    DISTRIBUTOR = "distributor"
    MSP = "msp"
    SYSTEM_INTEGRATOR = "system_integrator"
    TECHNOLOGY = "technology"
    AFFILIATE = "affiliate"


class Status(enum.StrEnum):
    PROSPECT = "prospect"
    ONBOARDING = "onboarding"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    TERMINATED = "terminated"
    REJECTED = "rejected"


class Action(enum.StrEnum):
    START_ONBOARDING = "start_onboarding"
    ACTIVATE = "activate"
    SUSPEND = "suspend"
    REINSTATE = "reinstate"
    TERMINATE = "terminate"
    REJECT = "reject"


class Frozen(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(frozen=True, extra="forbid", strict=False)


class PContact(Frozen):
    name: str
    email: str
    role: str = ""
    primary: bool = False


class PStep(Frozen):
    key: str
    title: str
    due_on: date
    required: bool = True
    owner: str = "partner"
    completed_at: pydantic.AwareDatetime | None = None
    completed_by: str | None = None


class PChange(Frozen):
    action: Action
    from_status: Status
    to_status: Status
    actor: str
    at: pydantic.AwareDatetime
    reason: str = ""


class PPartner(Frozen):
    id: str
    name: str
    type: Kind
    country: str
    created_at: pydantic.AwareDatetime
    status: Status = Status.PROSPECT
    region: str = ""
    domains: tuple[str, ...] = ()
    owner_id: str | None = None
    parent_id: str | None = None
    contacts: tuple[PContact, ...] = ()
    custom_fields: dict[str, str | int | bool | Decimal | date] = {}
    joined_on: date | None = None
    onboarding: tuple[PStep, ...] = ()
    history: tuple[PChange, ...] = ()
    updated_at: pydantic.AwareDatetime | None = None
    version: int = 0


def like(partner: Partner) -> PPartner:
    return PPartner.model_validate(
        {
            **{field: getattr(partner, field) for field in PPartner.model_fields},
            "contacts": [
                {"name": c.name, "email": c.email, "role": c.role, "primary": c.primary}
                for c in partner.contacts
            ],
            "history": [
                {
                    "action": h.action,
                    "from_status": h.from_status,
                    "to_status": h.to_status,
                    "actor": h.actor,
                    "at": h.at,
                    "reason": h.reason,
                }
                for h in partner.history
            ],
            "onboarding": [],
        }
    )


def best_of(repeat: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        # CPU time of this process: the machine is shared, and time spent waiting
        # for a core is not the contender's.
        started = time.process_time()
        work()
        times.append(time.process_time() - started)
    return min(times)


def measure(partners: Sequence[Partner], repeat: int) -> dict[str, float]:
    ours = [to_json(p) for p in partners]
    stored = [partner_document(p) for p in partners]
    theirs_models = [like(p) for p in partners]
    theirs = [m.model_dump_json() for m in theirs_models]
    decode_pk = lambda: [from_json(Partner, text) for text in ours]  # noqa: E731
    decode_trusted = lambda: [read_partner(text) for text in stored]  # noqa: E731
    decode_py = lambda: [PPartner.model_validate_json(text) for text in theirs]  # noqa: E731
    encode_pk = lambda: [to_json(p) for p in partners]  # noqa: E731
    encode_doc = lambda: [partner_document(p) for p in partners]  # noqa: E731
    encode_py = lambda: [m.model_dump_json() for m in theirs_models]  # noqa: E731
    assert decode_pk() == list(partners)
    assert decode_trusted() == list(partners)
    found: dict[str, list[float]] = {}
    for _ in range(repeat):  # alternate, so every contender sees the same noise
        for name, work in (
            ("decode from_json", decode_pk),
            ("decode trusted (storage)", decode_trusted),
            ("decode pydantic", decode_py),
            ("encode to_json", encode_pk),
            ("encode document (storage)", encode_doc),
            ("encode pydantic", encode_py),
        ):
            found.setdefault(name, []).append(best_of(1, work))
    return {name: min(times) / len(partners) for name, times in found.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--partners", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.partners, args.repeat = 300, 2
    partners = build_partners(args.partners, random.Random(args.seed))
    gc.collect()
    gc.freeze()
    per = measure(partners, args.repeat)
    size = sum(len(to_json(p)) for p in partners) // len(partners)
    print(
        f"A real Partner through JSON vs pydantic {pydantic.VERSION} on a like model\n"
        f"python {platform.python_version()}, {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} cores; {len(partners)} partners (~{size} bytes of JSON each), "
        f"best of {args.repeat} alternating runs, process CPU time\n"
    )
    print(f"{'measurement':<30}{'µs/partner':>12}{'vs pydantic':>13}")
    for name, seconds in per.items():
        base = per["decode pydantic"] if name.startswith("decode") else per["encode pydantic"]
        print(f"{name:<30}{seconds * 1e6:>12.1f}{seconds / base:>12.2f}x")
    decode = per["decode from_json"] / per["decode pydantic"]
    encode = per["encode to_json"] / per["encode pydantic"]
    verdict = {True: "MET", False: "NOT MET"}
    print(
        f"\n  decode (from_json, every field validated): {decode:.2f}x pydantic "
        f"(goal {DECODE_GOAL}x) -> {verdict[decode <= DECODE_GOAL]}\n"
        f"  encode (to_json): {encode:.2f}x pydantic (goal {ENCODE_GOAL}x) -> "
        f"{verdict[encode <= ENCODE_GOAL]}"
    )


if __name__ == "__main__":
    main()
