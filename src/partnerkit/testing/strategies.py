"""Hypothesis strategies for partnerkit's public models.

Use them in a host's own property tests::

    from hypothesis import given
    from partnerkit.testing import strategies as pks

    @given(pks.money(currency="EUR"))
    def test_invoice_total_never_negative(amount): ...
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Final

from hypothesis import strategies as st

from partnerkit._currencies import MINOR_UNITS
from partnerkit._ids import new_id
from partnerkit._money import Money
from partnerkit._time import Cadence, Period

__all__ = [
    "amounts",
    "aware_datetimes",
    "cadences",
    "currencies",
    "ids",
    "money",
    "odd_timezones",
    "periods",
]

_OFFSETS: Final = (0, 60, -300, 330, 345, -570, 525, 765, 840, -720, 1, -1)

#: Fixed-offset zones including the unusual ones (+05:45, -09:30, +14:00) that shake
#: out code which assumes whole hours.
odd_timezones: Final = st.sampled_from(
    [UTC] + [timezone(timedelta(minutes=minutes)) for minutes in _OFFSETS[1:]]
)


def currencies() -> st.SearchStrategy[str]:
    """Any ISO 4217 code partnerkit knows."""
    return st.sampled_from(sorted(MINOR_UNITS))


def amounts(
    *, places: int = 9, max_abs: Decimal = Decimal("1e12"), allow_negative: bool = True
) -> st.SearchStrategy[Decimal]:
    """Exact Decimal amounts with at most ``places`` decimal places."""
    low = -max_abs if allow_negative else Decimal(0)
    return st.decimals(
        min_value=low, max_value=max_abs, places=places, allow_nan=False, allow_infinity=False
    )


@st.composite
def money(
    draw: st.DrawFn,
    currency: str | None = None,
    *,
    exact_minor_units: bool = False,
    max_abs: Decimal = Decimal("1e12"),
    allow_negative: bool = True,
) -> Money:
    """Money in ``currency`` (any currency if ``None``).

    Args:
        draw: Supplied by hypothesis; leave it out when calling.
        currency: Fix the currency, or draw one.
        exact_minor_units: Only amounts that are whole minor units (what a ledger
            holds); otherwise up to 9 decimal places.
        max_abs: The largest magnitude drawn.
        allow_negative: Whether refunds and credits (negative amounts) are drawn.
    """
    code = currency if currency is not None else draw(currencies())
    places = MINOR_UNITS[code] if exact_minor_units else 9
    amount = draw(amounts(places=places, max_abs=max_abs, allow_negative=allow_negative))
    return Money(amount, code)


def aware_datetimes(
    min_value: datetime = datetime(1990, 1, 1),  # noqa: DTZ001 - hypothesis wants naive bounds
    max_value: datetime = datetime(2100, 1, 1),  # noqa: DTZ001
) -> st.SearchStrategy[datetime]:
    """Aware datetimes in UTC and odd fixed offsets, with microseconds."""
    return st.datetimes(min_value=min_value, max_value=max_value, timezones=odd_timezones)


def periods(*, allow_negative: bool = False, max_part: int = 400) -> st.SearchStrategy[Period]:
    """Calendar periods; by default non-negative, as windows and protection terms are."""
    part = st.integers(min_value=0, max_value=max_part)
    positive = st.builds(
        Period,
        years=st.integers(0, 20),
        months=part,
        weeks=st.integers(0, 60),
        days=part,
        hours=st.integers(0, 48),
        minutes=st.integers(0, 120),
        seconds=st.integers(0, 120),
    )
    if not allow_negative:
        return positive
    return st.one_of(positive, positive.map(lambda period: -period))


_RULES: Final = (
    "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1",
    "FREQ=MONTHLY;BYMONTHDAY=1",
    "FREQ=YEARLY;BYMONTH=1;BYMONTHDAY=15",
    "FREQ=WEEKLY;BYDAY=MO",
    "FREQ=DAILY;INTERVAL=7",
    "FREQ=MONTHLY;BYDAY=-1FR",
    "FREQ=MONTHLY;INTERVAL=6;BYMONTHDAY=-1",
)


def cadences() -> st.SearchStrategy[Cadence]:
    """Review cadences from common RRULEs, anchored at varied instants."""
    anchors = aware_datetimes(max_value=datetime(2030, 1, 1))  # noqa: DTZ001
    return st.builds(Cadence, st.sampled_from(_RULES), anchor=anchors)


def ids(prefix: str = "") -> st.SearchStrategy[str]:
    """Ids as partnerkit mints them, and host-style ids (UUID-like, numeric, slugs)."""
    minted = st.builds(new_id, st.just(prefix))
    host = st.text(
        alphabet=st.characters(codec="ascii", categories=("L", "N"), include_characters="-_:."),
        min_size=1,
        max_size=64,
    )
    return st.one_of(minted, host, st.uuids().map(str))
