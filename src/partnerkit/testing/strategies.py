"""Hypothesis strategies for partnerkit's public models.

Use them in a host's own property tests::

    from hypothesis import given
    from partnerkit.testing import strategies as pks

    @given(pks.money(currency="EUR"))
    def test_invoice_total_never_negative(amount): ...
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Final

from hypothesis import strategies as st

from partnerkit._base.countries import COUNTRIES
from partnerkit._base.currencies import MINOR_UNITS
from partnerkit._base.events import Event, EventRecord
from partnerkit._base.ids import new_id
from partnerkit._base.money import Money
from partnerkit._base.time import Cadence, Period
from partnerkit.ledger import Activity, ActivityKind
from partnerkit.metrics import Aggregate, MetricDefinition, MetricSnapshot, Window, WindowKind
from partnerkit.partners import (
    Contact,
    CustomField,
    CustomFieldSchema,
    CustomFieldType,
    CustomValue,
    OnboardingPlan,
    OnboardingStep,
    OnboardingStepTemplate,
    Partner,
    PartnerAction,
    PartnerStatus,
    PartnerType,
    StatusChange,
    StepOwner,
)
from partnerkit.testing._deals import (
    company_names,
    conflicts,
    customers,
    deal_registrations,
    decisions,
    direct_accounts,
    extension_policies,
    extensions,
    hostnames,
    matches,
)
from partnerkit.testing._health import (
    backtests,
    band_sets,
    health_scores,
    health_snapshots,
    measures,
    normalizers,
    overrides,
    scoring_models,
)
from partnerkit.testing._incentives import (
    incentive_activities,
    incentive_bands,
    incentive_plans,
    incentive_rules,
    incentive_statements,
    statement_periods,
)
from partnerkit.testing._tiers import (
    benefits,
    downgrade_proposals,
    forward_warning_records,
    improvable_metrics,
    memberships,
    pins,
    populations,
    programs,
    review_runs,
    tier_assignments,
    tier_decisions,
    tier_evidence,
    tier_policies,
    tier_snapshots,
    what_if_reports,
)

__all__ = [
    "activities",
    "amounts",
    "aware_datetimes",
    "backtests",
    "band_sets",
    "benefits",
    "cadences",
    "company_names",
    "conflicts",
    "contacts",
    "currencies",
    "custom_field_schemas",
    "customers",
    "deal_registrations",
    "decisions",
    "direct_accounts",
    "downgrade_proposals",
    "event_records",
    "events",
    "extension_policies",
    "extensions",
    "forward_warning_records",
    "health_scores",
    "health_snapshots",
    "hostnames",
    "ids",
    "improvable_metrics",
    "incentive_activities",
    "incentive_bands",
    "incentive_plans",
    "incentive_rules",
    "incentive_statements",
    "matches",
    "measures",
    "memberships",
    "metric_definitions",
    "metric_snapshots",
    "money",
    "names",
    "normalizers",
    "odd_timezones",
    "onboarding_plans",
    "overrides",
    "partners",
    "periods",
    "pins",
    "populations",
    "programs",
    "review_runs",
    "scoring_models",
    "slugs",
    "statement_periods",
    "tier_assignments",
    "tier_decisions",
    "tier_evidence",
    "tier_policies",
    "tier_snapshots",
    "what_if_reports",
    "windows",
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


def names(max_size: int = 60) -> st.SearchStrategy[str]:
    """Organisation and person names: unicode letters (Nordic, CJK, Cyrillic), spaces."""
    word = st.text(
        alphabet=st.characters(categories=("Lu", "Ll", "Lo", "Nd"), max_codepoint=0x9FFF),
        min_size=1,
        max_size=12,
    )
    return (
        st.lists(word, min_size=1, max_size=5)
        .map(" ".join)
        .filter(lambda name: len(name) <= max_size)
    )


def slugs() -> st.SearchStrategy[str]:
    """Lowercase slugs as used for kinds, metric names and custom field names."""
    return st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True)


def _utc(strategy: st.SearchStrategy[datetime]) -> st.SearchStrategy[datetime]:
    return strategy.map(lambda moment: moment.astimezone(UTC))


def contacts(*, primary: bool = False) -> st.SearchStrategy[Contact]:
    """A partner contact with a valid email."""
    local = st.from_regex(r"[a-z0-9][a-z0-9._+-]{0,20}", fullmatch=True)
    domain = st.sampled_from(["example.com", "example.fi", "nørd.example", "xn--bcher-kva.de"])
    return st.builds(
        Contact,
        name=names(40),
        email=st.builds("{}@{}".format, local, domain),
        role=st.sampled_from(["", "sales", "technical", "executive", "marketing"]),
        primary=st.just(primary),
    )


def _custom_values() -> st.SearchStrategy[CustomValue]:
    return st.one_of(
        st.text(max_size=30),
        st.integers(min_value=-(10**12), max_value=10**12),
        st.booleans(),
        amounts(places=4, max_abs=Decimal("1e9")),
        st.dates(min_value=date(1950, 1, 1), max_value=date(2100, 1, 1)),
    )


@st.composite
def partners(draw: st.DrawFn, *, partner_id: str | None = None, stored: bool = False) -> Partner:
    """Partners with every field populated in varied ways.

    Args:
        draw: Supplied by hypothesis; leave it out when calling.
        partner_id: Fix the id (a fresh sortable one is drawn otherwise).
        stored: Draw versions above 0, as partners read back from storage have.
    """
    created = draw(_utc(aware_datetimes(max_value=datetime(2030, 1, 1))))  # noqa: DTZ001
    others = draw(st.lists(contacts(), max_size=3))
    people = (draw(contacts(primary=True)), *others) if draw(st.booleans()) or others else ()
    steps = draw(
        st.lists(
            st.builds(
                OnboardingStep,
                key=slugs(),
                title=names(30),
                due_on=st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 1, 1)),
                required=st.booleans(),
                owner=st.sampled_from(StepOwner),
                completed_at=st.none() | _utc(aware_datetimes()),
                completed_by=st.none() | ids("usr"),
            ),
            max_size=4,
            unique_by=lambda step: step.key,
        )
    )
    history = draw(
        st.lists(
            st.builds(
                StatusChange,
                action=st.sampled_from(PartnerAction),
                from_status=st.sampled_from(PartnerStatus),
                to_status=st.sampled_from(PartnerStatus),
                actor=ids("usr"),
                at=_utc(aware_datetimes()),
                reason=st.text(max_size=40),
            ),
            max_size=3,
        )
    )
    own_id = partner_id if partner_id is not None else draw(ids("ptn"))
    return Partner(
        id=own_id,
        name=draw(names()),
        type=draw(st.sampled_from(PartnerType) | slugs()),
        country=draw(st.sampled_from(sorted(COUNTRIES))),
        created_at=created,
        status=draw(st.sampled_from(PartnerStatus)),
        region=draw(st.sampled_from(["", "EMEA", "Nordics", "APAC", "Amérique du Nord"])),
        domains=tuple(
            draw(
                st.lists(
                    st.from_regex(r"[a-z][a-z0-9-]{0,10}[a-z0-9]\.(com|fi|co\.uk)", fullmatch=True),
                    max_size=3,
                    unique=True,
                )
            )
        ),
        owner_id=draw(st.none() | ids("usr")),
        parent_id=draw(st.none() | ids("ptn").filter(lambda parent: parent != own_id)),
        contacts=people,
        custom_fields=draw(st.dictionaries(slugs(), _custom_values(), max_size=5)),
        joined_on=draw(st.none() | st.dates(min_value=date(2000, 1, 1))),
        onboarding=tuple(steps),
        history=tuple(history),
        updated_at=draw(_utc(aware_datetimes())),
        version=draw(st.integers(min_value=1, max_value=10**6)) if stored else 0,
    )


def _scalars() -> st.SearchStrategy[str | int | bool | None]:
    return st.one_of(st.none(), st.booleans(), st.integers(-(2**53), 2**53), st.text(max_size=20))


def activities(
    *,
    partner_id: st.SearchStrategy[str] | None = None,
    kinds: st.SearchStrategy[str] | None = None,
) -> st.SearchStrategy[Activity]:
    """Ledger activities with money, numeric or no values, attributes and expiries."""
    value = st.one_of(
        st.none(),
        money(exact_minor_units=True, max_abs=Decimal("1e9")),
        amounts(places=3, max_abs=Decimal("1e6")),
    )
    return st.builds(
        Activity,
        id=ids("act"),
        partner_id=partner_id if partner_id is not None else ids("ptn"),
        kind=kinds if kinds is not None else st.sampled_from(ActivityKind) | slugs(),
        occurred_at=_utc(aware_datetimes()),
        value=value,
        attributes=st.dictionaries(slugs(), _scalars(), max_size=4),
        expires_on=st.none() | st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 1, 1)),
    )


def windows() -> st.SearchStrategy[Window]:
    """Every kind of metric window."""
    return st.one_of(
        st.just(Window.all_time()),
        periods().filter(lambda period: not period.is_zero()).map(Window.trailing),
        st.builds(
            Window,
            kind=st.sampled_from([WindowKind.MONTH, WindowKind.QUARTER, WindowKind.YEAR]),
            complete=st.booleans(),
        ),
        st.builds(
            Window.fiscal_year, st.integers(min_value=1, max_value=12), complete=st.booleans()
        ),
    )


@st.composite
def metric_definitions(draw: st.DrawFn, name: str | None = None) -> MetricDefinition:
    """Valid metric definitions of every aggregate.

    Args:
        draw: Supplied by hypothesis; leave it out when calling.
        name: Fix the metric's name.
    """
    aggregate = draw(st.sampled_from(Aggregate))
    needs_attribute = aggregate is Aggregate.DISTINCT_COUNT
    may_have_attribute = aggregate is Aggregate.UNEXPIRED_COUNT
    attribute = (
        draw(slugs()) if needs_attribute or (may_have_attribute and draw(st.booleans())) else None
    )
    has_currency = aggregate in (Aggregate.SUM, Aggregate.LATEST) and draw(st.booleans())
    return MetricDefinition(
        name=name if name is not None else draw(slugs()),
        aggregate=aggregate,
        kinds=tuple(draw(st.lists(st.sampled_from(ActivityKind) | slugs(), max_size=3))),
        where=draw(st.dictionaries(slugs(), _scalars(), max_size=2)),
        attribute=attribute,
        window=draw(windows()),
        currency=draw(currencies()) if has_currency else None,
    )


def metric_snapshots() -> st.SearchStrategy[MetricSnapshot]:
    """Snapshots holding every kind of metric value, None included."""
    value = st.one_of(
        st.none(),
        st.integers(min_value=0, max_value=10**9),
        amounts(places=4, max_abs=Decimal("1e12")),
        money(max_abs=Decimal("1e12")),
    )
    return st.builds(
        MetricSnapshot,
        partner_id=ids("ptn"),
        as_of=_utc(aware_datetimes()),
        values=st.dictionaries(slugs(), value, max_size=6),
    )


def events() -> st.SearchStrategy[Event]:
    """Domain events with flat data."""
    return st.builds(
        Event,
        kind=st.from_regex(r"[a-z]{3,10}\.[a-z_]{3,20}", fullmatch=True),
        subject_id=ids(),
        occurred_at=_utc(aware_datetimes()),
        actor=st.none() | ids("usr"),
        data=st.dictionaries(slugs(), _scalars(), max_size=4),
    )


def event_records() -> st.SearchStrategy[EventRecord]:
    """Events as the outbox holds them."""
    return st.builds(
        EventRecord, id=ids("evt"), event=events(), recorded_at=_utc(aware_datetimes())
    )


@st.composite
def custom_field_schemas(draw: st.DrawFn) -> CustomFieldSchema:
    """Custom field schemas with every field type, defaults and choices.

    Args:
        draw: Supplied by hypothesis; leave it out when calling.
    """
    fields = []
    for name in draw(st.lists(slugs(), max_size=5, unique=True)):
        kind = draw(st.sampled_from(CustomFieldType))
        options: tuple[str, ...] = ()
        default: CustomValue | None = None
        if kind is CustomFieldType.CHOICE:
            options = tuple(draw(st.lists(slugs(), min_size=1, max_size=4, unique=True)))
            default = draw(st.none() | st.sampled_from(options))
        elif kind is CustomFieldType.INTEGER:
            default = draw(st.none() | st.integers(-1000, 1000))
        elif kind is CustomFieldType.BOOL:
            default = draw(st.none() | st.booleans())
        fields.append(
            CustomField(
                name,
                kind,
                required=draw(st.booleans()),
                default=default,
                options=options,
                label=draw(st.text(max_size=20)),
            )
        )
    return CustomFieldSchema(tuple(fields))


def onboarding_plans() -> st.SearchStrategy[OnboardingPlan]:
    """Onboarding plans with required and optional steps for both owners."""
    step = st.builds(
        OnboardingStepTemplate,
        key=slugs(),
        title=names(30),
        due=periods(max_part=120),
        required=st.booleans(),
        owner=st.sampled_from(StepOwner),
    )
    return st.builds(
        OnboardingPlan,
        name=names(30),
        steps=st.lists(step, max_size=6, unique_by=lambda template: template.key),
    )
