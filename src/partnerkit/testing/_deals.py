"""Hypothesis strategies for the deal registration models (`partnerkit.deals`).

Re-exported from `partnerkit.testing.strategies`. This module imports nothing from
that one, so either can be imported first.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Final

from hypothesis import strategies as st

from partnerkit._base.countries import COUNTRIES
from partnerkit._base.ids import new_id
from partnerkit._base.money import Money
from partnerkit._base.time import Period
from partnerkit.deals import (
    Conflict,
    ConflictOutcome,
    ConflictRule,
    Customer,
    DealAction,
    DealRegistration,
    DealStatus,
    DealStatusChange,
    Decision,
    DirectAccount,
    Extension,
    ExtensionPolicy,
    ExtensionStatus,
    Match,
    MatchKind,
    PartyKind,
    normalize_company_name,
    registrable_domain,
)
from partnerkit.errors import ValidationError

__all__ = [
    "company_names",
    "conflicts",
    "customers",
    "deal_registrations",
    "decisions",
    "direct_accounts",
    "extension_policies",
    "extensions",
    "hostnames",
    "matches",
]

_OFFSETS: Final = (0, 60, -300, 330, 345, -570, 840, -720)
_ZONES: Final = st.sampled_from([timezone(timedelta(minutes=m)) for m in _OFFSETS])
_LEGAL: Final = (
    "",
    " Oy",
    " GmbH",
    " GmbH & Co. KG",
    " Ltd",
    ", Inc.",
    " S.A. de C.V.",
    " Sp. z o.o.",
    " Pty Ltd",
    " AB (publ)",
    " 株式会社",
)
_WORDS: Final = (
    *("Nordic", "Cloud", "Zentrix", "Valora", "Müller", "Söhne", "Acme", "Widgets"),
    *("Baltic", "Data", "Søren", "Analytics", "Яндекс", "Ромашка", "Société"),
    *("Générale", "Global", "Tech", "Solutions", "Kowalski", "Bau", "Tanaka", "Trading"),
)


def _instants() -> st.SearchStrategy[datetime]:
    """Aware instants in odd offsets, returned in UTC as models store them."""
    naive = st.datetimes(
        min_value=datetime(2000, 1, 1),  # noqa: DTZ001 - hypothesis wants naive bounds
        max_value=datetime(2060, 1, 1),  # noqa: DTZ001
        timezones=_ZONES,
    )
    return naive.map(lambda moment: moment.astimezone(UTC))


def _ids(prefix: str) -> st.SearchStrategy[str]:
    host = st.text(
        alphabet=st.characters(codec="ascii", categories=("L", "N"), include_characters="-_:."),
        min_size=1,
        max_size=40,
    )
    return st.one_of(st.builds(new_id, st.just(prefix)), host)


def _texts(max_size: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=st.characters(categories=("L", "N", "Zs", "P")), max_size=max_size).map(
        lambda text: " ".join(text.split())
    )


def company_names() -> st.SearchStrategy[str]:
    """Company names: known words in several scripts with legal forms, and arbitrary letters."""
    known = st.builds(
        "{}{}".format,
        st.lists(st.sampled_from(_WORDS), min_size=1, max_size=3).map(" ".join),
        st.sampled_from(_LEGAL),
    )
    letters = st.text(
        alphabet=st.characters(categories=("Lu", "Ll", "Lo", "Nd"), max_codepoint=0x9FFF),
        min_size=1,
        max_size=12,
    )
    # A name that is nothing but a legal form ("有限会社") is refused by Customer.
    free = (
        st.lists(letters, min_size=1, max_size=4)
        .map(" ".join)
        .filter(lambda name: bool(normalize_company_name(name).strip("& ")))
    )
    return st.one_of(known, free)


def _registrable(host: str) -> bool:
    try:
        registrable_domain(host)
    except ValidationError:
        return False  # the private list section holds short names such as "x0.com"
    return True


def hostnames() -> st.SearchStrategy[str]:
    """Registrable host names under one- and two-label public suffixes."""
    return st.from_regex(
        r"(www\.|shop\.)?[a-z][a-z0-9-]{0,10}[a-z0-9]\.(com|fi|de|co\.uk|com\.au|co\.jp|com\.br)",
        fullmatch=True,
    ).filter(_registrable)


def customers() -> st.SearchStrategy[Customer]:
    """End customers with and without website and contact email."""
    local = st.from_regex(r"[a-z0-9][a-z0-9._+-]{0,12}", fullmatch=True)
    email = st.builds(
        "{}@{}".format, local, st.one_of(hostnames(), st.sampled_from(["gmail.com", "nørd.fi"]))
    )
    return st.builds(
        Customer,
        name=company_names(),
        country=st.sampled_from(sorted(COUNTRIES)),
        domain=st.none() | hostnames(),
        contact_email=st.none() | email,
    )


def _amounts() -> st.SearchStrategy[Money]:
    cents = st.integers(min_value=0, max_value=10**11)
    return st.builds(
        lambda value, currency: Money(Decimal(value).scaleb(-2), currency),
        cents,
        st.sampled_from(["EUR", "USD", "GBP", "SEK"]),
    )


def _positive_periods() -> st.SearchStrategy[Period]:
    return st.one_of(
        st.integers(1, 400).map(lambda days: Period(days=days)),
        st.integers(1, 12).map(lambda months: Period(months=months)),
        st.builds(
            lambda weeks, hours: Period(weeks=weeks, hours=hours),
            st.integers(1, 8),
            st.integers(1, 48),
        ),
    )


def matches() -> st.SearchStrategy[Match]:
    """One piece of conflict evidence of every kind."""
    return st.builds(
        Match,
        kind=st.sampled_from(MatchKind),
        value=_texts(40),
        score=st.floats(min_value=0, max_value=1),
    )


def conflicts(registration_id: str | None = None) -> st.SearchStrategy[Conflict]:
    """Conflicts with registrations and with the vendor's own accounts.

    Args:
        registration_id: Fix the checked registration's id.
    """
    return st.builds(
        Conflict,
        registration_id=st.just(registration_id) if registration_id else _ids("deal"),
        other_kind=st.sampled_from(PartyKind),
        other_id=_ids("deal"),
        other_partner_id=st.none() | _ids("ptn"),
        other_name=_texts(40),
        matches=st.lists(matches(), min_size=1, max_size=4).map(tuple),
        confidence=st.floats(min_value=0, max_value=1),
        rule=st.sampled_from(ConflictRule) | st.from_regex(r"[a-z_]{3,20}", fullmatch=True),
        outcome=st.sampled_from(ConflictOutcome),
        has_priority=st.booleans(),
        reason=_texts(80),
    )


def decisions(registration_id: str | None = None) -> st.SearchStrategy[Decision]:
    """Approvals and rejections, with and without conflicts."""
    return st.builds(
        Decision,
        action=st.sampled_from([DealAction.APPROVE, DealAction.REJECT]),
        actor=_ids("usr"),
        at=_instants(),
        reason=_texts(60),
        protection=st.none() | _positive_periods(),
        conflicts=st.lists(conflicts(registration_id), max_size=2).map(tuple),
        overridden=st.booleans(),
    )


@st.composite
def extensions(draw: st.DrawFn, *, status: ExtensionStatus | None = None) -> Extension:
    """Extension requests in every status.

    Args:
        draw: Supplied by hypothesis; leave it out when calling.
        status: Fix the status.
    """
    chosen = status if status is not None else draw(st.sampled_from(ExtensionStatus))
    requested = draw(_instants())
    decided = chosen is not ExtensionStatus.PENDING
    start = draw(_instants())
    period = draw(_positive_periods())
    approved = chosen is ExtensionStatus.APPROVED
    return Extension(
        period=period,
        reason=draw(_texts(60)),
        requested_by=draw(_ids("usr")),
        requested_at=requested,
        status=chosen,
        decided_by=draw(_ids("usr")) if decided else None,
        decided_at=draw(_instants()) if decided else None,
        decision_reason=draw(_texts(40)) if decided else "",
        extended_from=start if approved else None,
        extended_to=start + period if approved else None,
    )


def extension_policies() -> st.SearchStrategy[ExtensionPolicy]:
    """Extension limits, including none."""
    return st.builds(
        ExtensionPolicy,
        max_extensions=st.none() | st.integers(0, 5),
        max_total_days=st.none() | st.integers(0, 365),
    )


def direct_accounts() -> st.SearchStrategy[DirectAccount]:
    """The vendor's direct opportunities and existing customers."""
    return st.builds(
        DirectAccount,
        id=_ids("acct"),
        kind=st.sampled_from([PartyKind.DIRECT_OPPORTUNITY, PartyKind.EXISTING_CUSTOMER]),
        customer=customers(),
        note=_texts(60),
    )


_PROTECTED: Final = frozenset(
    {DealStatus.APPROVED, DealStatus.WON, DealStatus.LOST, DealStatus.EXPIRED}
)


@st.composite
def deal_registrations(
    draw: st.DrawFn,
    *,
    status: DealStatus | None = None,
    stored: bool = False,
) -> DealRegistration:
    """Deal registrations in every status, with the fields each status implies.

    Args:
        draw: Supplied by hypothesis; leave it out when calling.
        status: Fix the status.
        stored: Draw versions above 0, as registrations read back from storage have.
    """
    chosen = status if status is not None else draw(st.sampled_from(DealStatus))
    registration_id = draw(_ids("deal"))
    registered = draw(_instants())
    submitted: datetime | None = None
    if chosen is not DealStatus.DRAFT and (
        chosen is not DealStatus.WITHDRAWN or draw(st.booleans())
    ):
        submitted = registered + timedelta(minutes=draw(st.integers(0, 10**5)))
    protected = chosen in _PROTECTED
    until = registered + timedelta(days=draw(st.integers(1, 400))) if protected else None
    closed = draw(st.lists(extensions(status=ExtensionStatus.DENIED), max_size=1))
    granted = draw(st.lists(extensions(status=ExtensionStatus.APPROVED), max_size=2))
    pending = (
        draw(st.lists(extensions(status=ExtensionStatus.PENDING), max_size=1))
        if chosen is DealStatus.APPROVED
        else []
    )
    products = draw(
        st.lists(
            st.sampled_from(["CRM", "ERP", "Analytics Suite", "Support 24/7", "Lisenssi Ø"]),
            max_size=3,
            unique=True,
        )
    )
    decided = draw(st.lists(decisions(registration_id), max_size=2))
    return DealRegistration(
        id=registration_id,
        partner_id=draw(_ids("ptn")),
        customer=draw(customers()),
        amount=draw(_amounts()),
        expected_close_on=draw(st.dates(min_value=date(2000, 1, 1), max_value=date(2070, 1, 1))),
        registered_at=registered,
        products=tuple(products),
        notes=draw(_texts(80)),
        status=chosen,
        submitted_at=submitted,
        protection_until=until,
        extensions=(*closed, *granted, *pending) if protected else (),
        decisions=tuple(decided),
        history=tuple(
            draw(
                st.lists(
                    st.builds(
                        DealStatusChange,
                        action=st.sampled_from([a for a in DealAction if a.value in _MOVES]),
                        from_status=st.sampled_from(DealStatus),
                        to_status=st.sampled_from(DealStatus),
                        actor=_ids("usr"),
                        at=_instants(),
                        reason=_texts(40),
                    ),
                    max_size=3,
                )
            )
        ),
        updated_at=draw(_instants()),
        version=draw(st.integers(min_value=1, max_value=10**6)) if stored else 0,
        lead_id=draw(st.none() | _ids("lead")),
    )


_MOVES: Final = frozenset({"submit", "approve", "reject", "withdraw", "win", "lose", "expire"})
