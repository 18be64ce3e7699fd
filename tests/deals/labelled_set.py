"""The labelled match-quality set of the benchmarks, for tests.

``benchmarks/data/deals_labelled.py`` generates it. Tests use small slices of its
*development* queries; the benchmark reports the held-out ones, which no test
looks at.
"""

import importlib.util
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import ModuleType

from partnerkit import Money
from partnerkit.deals import Customer, DealRegistration, DealStatus

PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "deals_labelled.py"
START = datetime(2025, 1, 1, tzinfo=UTC)


def load() -> ModuleType:
    """The generator module, loaded from its file once."""
    if "deals_labelled" in sys.modules:
        return sys.modules["deals_labelled"]
    spec = importlib.util.spec_from_file_location("deals_labelled", PATH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def registration(
    number: int, name: str, country: str, website: str | None, email: str | None = None
) -> DealRegistration:
    at = START + timedelta(seconds=number)
    return DealRegistration(
        id=f"deal_{number:08d}",
        partner_id=f"ptn_{number % 50}",
        customer=Customer(name, country, website, email),
        amount=Money("25000", "EUR"),
        expected_close_on=date(2027, 12, 31),
        registered_at=at,
        products=("CRM",),
        status=DealStatus.SUBMITTED,
        submitted_at=at,
    )
