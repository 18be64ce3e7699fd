"""The demo: a generated partner network in SQLite, run through partnerkit's rules.

Everything is derived from one seed, so two runs with the same seed print the same
report. The as-of date is fixed too, for the same reason.
"""

from __future__ import annotations

import random
import sys
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Final, TextIO

import attrs
from dateutil.relativedelta import relativedelta

from partnerkit._base.money import FixedRates, Money
from partnerkit._base.time import FixedClock, Period
from partnerkit._cli.demo_leads import lead_desk
from partnerkit._cli.forecast_demo import forecast_section
from partnerkit._cli.funds import fund_demo
from partnerkit._cli.incentives import demo_section as incentives_demo
from partnerkit._cli.progress import Progress
from partnerkit._cli.relationship import relationship_section
from partnerkit.access import Actor, Role
from partnerkit.deals import (
    Conflict,
    Customer,
    DealRegistration,
    DealStatus,
)
from partnerkit.errors import UnresolvedConflictsError
from partnerkit.health import HealthScore, ScoringModel, model_from_dict
from partnerkit.ledger import Activity, ActivityKind
from partnerkit.metrics import Aggregate, MetricDefinition, Window
from partnerkit.partners import (
    Contact,
    OnboardingPlan,
    OnboardingStepTemplate,
    Partner,
    PartnerStatus,
    PartnerType,
    activate,
    complete_onboarding_step,
    overdue_steps,
    start_onboarding,
)
from partnerkit.services import DealDraft, Services
from partnerkit.tiers import (
    Membership,
    Program,
    ReviewRun,
    TierOutcome,
    program_from_toml,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence
    from pathlib import Path

    from partnerkit.metrics import MetricSnapshot
    from partnerkit.services import LedgerSnapshots
    from partnerkit.storage import Storage

AS_OF: Final = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)
ADMIN: Final = Actor("usr_admin", Role.ADMIN)
HISTORY_DAYS: Final = 548  # 18 months
SCORED_MONTHS: Final = 6  # health scored monthly: bands over time in the HTML report
AWAITING_DAYS: Final = 21  # registrations submitted this recently still await a decision
#: The leads, forecast, relationship and funds sections work on the first partners only, so
#: that a demo of any size holds at most this many partners and their ledgers at once.
SECTION_PARTNERS: Final = 2000
MANAGERS: Final = ("usr_maria", "usr_jonas", "usr_aiko", "usr_lucas", "usr_priya")
RATES: Final = FixedRates(
    {("EUR", "USD"): "1.08", ("GBP", "USD"): "1.27", ("SEK", "USD"): "0.094",
     ("JPY", "USD"): "0.0066", ("AUD", "USD"): "0.65", ("BRL", "USD"): "0.18"}
)  # fmt: skip

# country -> (weight, currency, legal forms used there, region)
_COUNTRIES: Final = {
    "US": (22, "USD", ("Inc", "LLC", "Corp"), "North America"),
    "GB": (10, "GBP", ("Ltd", "Limited", "PLC"), "EMEA"),
    "DE": (10, "EUR", ("GmbH", "AG"), "EMEA"),
    "FI": (5, "EUR", ("Oy", "Oyj"), "Nordics"),
    "SE": (5, "SEK", ("AB",), "Nordics"),
    "FR": (7, "EUR", ("SAS", "S.A.", "SARL"), "EMEA"),
    "NL": (5, "EUR", ("B.V.",), "EMEA"),
    "JP": (5, "JPY", ("K.K.",), "APAC"),
    "AU": (5, "AUD", ("Pty Ltd",), "APAC"),
    "BR": (4, "BRL", ("Ltda",), "LATAM"),
    "CA": (4, "USD", ("Inc", "Ltd"), "North America"),
    "ES": (4, "EUR", ("S.L.", "S.A."), "EMEA"),
}
_TYPES: Final = (
    (PartnerType.RESELLER, 40),
    (PartnerType.REFERRAL, 15),
    (PartnerType.MSP, 12),
    (PartnerType.SYSTEM_INTEGRATOR, 12),
    (PartnerType.TECHNOLOGY, 8),
    (PartnerType.AFFILIATE, 8),
    (PartnerType.DISTRIBUTOR, 5),
)
_FIRST: Final = (
    "Northwind", "Contoso", "Fabrikam", "Tailspin", "Litware", "Adatum", "Proseware",
    "Wingtip", "Lucerne", "Blue Yonder", "Coho", "Alpine", "Nordic", "Baltic", "Harbor",
    "Summit", "Cascade", "Aurora", "Meridian", "Pinnacle", "Granite", "Silverline",
    "Redwood", "Bluewave", "Evergreen", "Lakeside", "Ironbridge", "Skyline", "Brightpath",
)  # fmt: skip
_SECOND: Final = (
    "Cloud", "Systems", "Solutions", "Networks", "Data", "Digital", "IT", "Consulting",
    "Technologies", "Partners", "Integrations", "Software", "Security", "Analytics",
)  # fmt: skip
_THIRD: Final = ("", "", "Group", "Labs", "Works", "Services", "Partners")
_PEOPLE: Final = (
    "Aino", "Mikko", "Sofia", "Lars", "Emma", "Noah", "Yuki", "Kenji", "Olivia", "Liam",
    "Chloé", "Mateo", "Ana", "João", "Hannah", "Felix", "Isla", "Oscar", "Mia", "Leo",
)  # fmt: skip

#: Partner trajectories: (weight, activity rate multiplier, trend over the 18 months).
_PROFILES: Final = {
    "thriving": (25, 1.4, 0.6),
    "steady": (40, 1.0, 0.0),
    "declining": (20, 0.9, -0.8),
    "dormant": (15, 0.25, -0.9),
}

DEFINITIONS: Final = (
    MetricDefinition(
        "revenue_12m",
        Aggregate.SUM,
        kinds=(ActivityKind.REVENUE_BOOKED,),
        window=Window.trailing("P12M"),
        currency="USD",
    ),
    MetricDefinition(
        "deals_won_12m", Aggregate.COUNT, kinds=(ActivityKind.DEAL_WON,),
        window=Window.trailing("P12M"),
    ),
    MetricDefinition(
        "deals_registered_12m", Aggregate.COUNT, kinds=(ActivityKind.DEAL_REGISTERED,),
        window=Window.trailing("P12M"),
    ),
    MetricDefinition(
        "certified_people", Aggregate.UNEXPIRED_COUNT,
        kinds=(ActivityKind.CERTIFICATION_EARNED,), attribute="person",
    ),
    MetricDefinition(
        "trainings_12m", Aggregate.COUNT, kinds=(ActivityKind.TRAINING_COMPLETED,),
        window=Window.trailing("P12M"),
    ),
    MetricDefinition(
        "days_since_login", Aggregate.DAYS_SINCE_LAST, kinds=(ActivityKind.PORTAL_LOGIN,)
    ),
    MetricDefinition(
        "business_reviews_12m", Aggregate.COUNT, kinds=(ActivityKind.BUSINESS_REVIEW_HELD,),
        window=Window.trailing("P12M"),
    ),
)  # fmt: skip

HEALTH_MODEL: Final[ScoringModel] = model_from_dict(
    {
        "name": "Channel health",
        "version": 1,
        "currency": "USD",
        "measures": [
            {"name": "revenue", "metric": "revenue_12m", "weight": 3, "label": "Revenue (12m)",
             "normalizer": {"kind": "log", "low": 5000, "high": 1500000}},
            {"name": "deals", "metric": "deals_won_12m", "weight": 2, "label": "Deals won (12m)",
             "normalizer": {"kind": "steps", "steps": [
                 {"at": 1, "points": 40}, {"at": 4, "points": 75}, {"at": 8, "points": 100}]}},
            {"name": "pipeline", "metric": "deals_registered_12m", "weight": 1,
             "label": "Deals registered (12m)",
             "normalizer": {"kind": "linear", "low": 0, "high": 10}},
            {"name": "certified", "metric": "certified_people", "weight": 1.5,
             "label": "Certified people", "normalizer": {"kind": "linear", "low": 0, "high": 3}},
            {"name": "engagement", "metric": "days_since_login", "weight": 1.5,
             "label": "Portal engagement",
             "normalizer": {"kind": "recency", "half_life_days": 30}},
            {"name": "reviews", "metric": "business_reviews_12m", "weight": 1,
             "label": "Business reviews (12m)", "missing": "zero",
             "normalizer": {"kind": "target", "target": 3}},
        ],
        "gates": [
            {"name": "no_login", "metric": "days_since_login", "op": ">", "threshold": 90,
             "cap": "at_risk", "fire_when_missing": True,
             "label": "No portal login in 90 days"},
        ],
    }
)  # fmt: skip

PROGRAM: Final[Program] = program_from_toml(
    """
id = "prg_channel"
name = "Channel Partner Program"
currency = "USD"
review = "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1"

[policy]
downgrade_after = 2
auto_approve_downgrades = false

[labels]
revenue_12m = "revenue"
deals_won_12m = "won deal|won deals"
certified_people = "certified person|certified people"

[[metrics]]
name = "revenue_12m"
aggregate = "sum"
kinds = ["revenue_booked"]
window = "P12M"
currency = "USD"

[[metrics]]
name = "deals_won_12m"
aggregate = "count"
kinds = ["deal_won"]
window = "P12M"

[[metrics]]
name = "certified_people"
aggregate = "unexpired_count"
kinds = ["certification_earned"]
attribute = "person"

[[tiers]]
id = "registered"
name = "Registered"
rank = 1
benefits = { discount_percent = "5", lead_weight = 0, deal_protection = 30 }

[[tiers]]
id = "silver"
name = "Silver"
rank = 2
requirements.all_of = [
  { metric = "revenue_12m", comparison = ">=", threshold = "25,000 USD" },
  { metric = "certified_people", comparison = ">=", threshold = 1 },
]
benefits = { discount_percent = "10", lead_weight = 1, deal_protection = 60 }

[[tiers]]
id = "gold"
name = "Gold"
rank = 3
requirements.all_of = [
  { metric = "revenue_12m", comparison = ">=", threshold = "100,000 USD" },
  { metric = "certified_people", comparison = ">=", threshold = 2 },
  { metric = "deals_won_12m", comparison = ">=", threshold = 5 },
]
[tiers.benefits]
discount_percent = "15"
mdf_eligible = true
mdf_cap = "10,000 USD"
lead_weight = 3
deal_protection = 90

[[tiers]]
id = "platinum"
name = "Platinum"
rank = 4
requirements.all_of = [
  { metric = "revenue_12m", comparison = ">=", threshold = "500,000 USD" },
  { metric = "certified_people", comparison = ">=", threshold = 3 },
  { metric = "deals_won_12m", comparison = ">=", threshold = 10 },
]
[tiers.benefits]
discount_percent = "22.5"
mdf_eligible = true
mdf_cap = "50,000 USD"
lead_weight = 6
deal_protection = 120
"""
)

ONBOARDING: Final = OnboardingPlan(
    "Standard onboarding",
    (
        OnboardingStepTemplate("sign_agreement", "Sign the partner agreement", Period.of_days(14)),
        OnboardingStepTemplate("sales_training", "Complete sales training", Period.of_days(30)),
        OnboardingStepTemplate(
            "locator_profile", "Publish a locator profile", Period.of_days(60), required=False
        ),
    ),
)


@attrs.frozen
class Network:
    """A generated partner network."""

    partners: tuple[Partner, ...]
    activities: tuple[Activity, ...]


@attrs.frozen
class PartnerFacts:
    """What the report and the deal desk need of a partner, kept for the whole run.

    The network itself is stored as it is generated and let go, so that memory
    grows with these facts and the snapshots, never with the ledger.
    """

    id: str
    name: str
    type: str
    country: str
    status: PartnerStatus
    owner_id: str | None
    created_on: date
    overdue: bool

    @classmethod
    def of(cls, partner: Partner) -> PartnerFacts:
        """The facts of ``partner``."""
        overdue = partner.status is PartnerStatus.ONBOARDING and bool(
            overdue_steps(partner, AS_OF.date())
        )
        return cls(
            partner.id,
            partner.name,
            partner.type,
            partner.country,
            partner.status,
            partner.owner_id,
            partner.created_at.date(),
            overdue,
        )


def _weighted(rng: random.Random, table: Sequence[tuple[object, int]]) -> object:
    return rng.choices([item for item, _ in table], [weight for _, weight in table])[0]


def _name(rng: random.Random, forms: tuple[str, ...], used: set[str]) -> str:
    while True:
        base = f"{rng.choice(_FIRST)} {rng.choice(_SECOND)} {rng.choice(_THIRD)}".strip()
        if base not in used:
            used.add(base)
            return f"{base} {rng.choice(forms)}"
        if len(used) > len(_FIRST) * len(_SECOND) * 5:
            numbered = f"{base} {len(used)}"
            used.add(numbered)
            return f"{numbered} {rng.choice(forms)}"


def _slug(name: str) -> str:
    return "".join(char for char in name.lower() if char.isalnum())[:40]


def build_network(count: int, seed: int, as_of: datetime = AS_OF) -> Network:
    """A deterministic partner network of ``count`` partners with 18 months of history."""
    partners: list[Partner] = []
    activities: list[Activity] = []
    for partner, history in generate(count, seed, as_of):
        partners.append(partner)
        activities.extend(history)
    return Network(tuple(partners), tuple(activities))


def generate(
    count: int, seed: int, as_of: datetime = AS_OF
) -> Iterator[tuple[Partner, list[Activity]]]:
    """`build_network`'s partners one at a time, each with its activities."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible demo, not security
    countries = list(_COUNTRIES)
    used: set[str] = set()
    distributors: list[str] = []
    start = as_of - timedelta(days=HISTORY_DAYS)
    for index in range(count):
        country = rng.choices(countries, [_COUNTRIES[c][0] for c in countries])[0]
        _, currency, forms, region = _COUNTRIES[country]
        kind = _weighted(rng, _TYPES)
        name = _name(rng, forms, used)
        partner_id = f"ptn_{index:05d}"
        joined = start + timedelta(days=rng.randrange(0, 200))
        people = rng.sample(_PEOPLE, rng.randint(1, 3))
        domain = f"{_slug(name.rsplit(' ', 1)[0])}.example"
        parent = (
            rng.choice(distributors)
            if distributors and kind == PartnerType.RESELLER and rng.random() < 0.3
            else None
        )
        partner = Partner(
            id=partner_id,
            name=name,
            type=str(kind),
            country=country,
            created_at=joined,
            region=region,
            domains=(domain,),
            owner_id=rng.choice(MANAGERS),
            parent_id=parent,
            contacts=tuple(
                Contact(person, f"{person.lower()}@{domain}", role=role, primary=i == 0)
                for i, (person, role) in enumerate(
                    zip(people, ("sales", "technical", "executive"), strict=False)
                )
            ),
        )
        partner = _onboard(partner, joined, rng)
        if kind == PartnerType.DISTRIBUTOR:
            distributors.append(partner_id)
        profile = str(_weighted(rng, [(name, spec[0]) for name, spec in _PROFILES.items()]))
        yield (
            partner,
            _history(
                rng,
                partner_id=partner_id,
                currency=currency,
                profile=profile,
                joined=joined,
                as_of=as_of,
                people=people,
                kind=kind,
            ),
        )


def _onboard(partner: Partner, joined: datetime, rng: random.Random) -> Partner:
    manager = partner.owner_id or MANAGERS[0]
    partner, _ = start_onboarding(partner, ONBOARDING, actor=manager, at=joined)
    if rng.random() < 0.06:
        return partner  # still onboarding: a few partners never finish
    for step in ("sign_agreement", "sales_training"):
        done_at = joined + timedelta(days=rng.randint(2, 25))
        partner, _ = complete_onboarding_step(partner, step, actor=manager, at=done_at)
    partner, _ = activate(partner, actor=manager, at=joined + timedelta(days=30))
    return partner


def _history(
    rng: random.Random,
    *,
    partner_id: str,
    currency: str,
    profile: str,
    joined: datetime,
    as_of: datetime,
    people: list[str],
    kind: object,
) -> list[Activity]:
    _, rate, trend = _PROFILES[profile]
    size = {PartnerType.DISTRIBUTOR: 6.0, PartnerType.SYSTEM_INTEGRATOR: 2.0}.get(kind, 1.0)  # type: ignore[call-overload]
    scale = Decimal(str(rng.choice((4000, 9000, 20000, 45000)))) * Decimal(str(size))
    if currency == "JPY":
        scale *= 150
    elif currency == "SEK":
        scale *= 10
    span = (as_of - joined).total_seconds()
    found: list[Activity] = []
    # Events per month by kind, before the profile's rate and trend.
    monthly = {
        ActivityKind.PORTAL_LOGIN: 3.0,
        ActivityKind.REVENUE_BOOKED: 1.2,
        ActivityKind.DEAL_REGISTERED: 1.0,
        ActivityKind.DEAL_WON: 0.45,
        ActivityKind.TRAINING_COMPLETED: 0.3,
        ActivityKind.CERTIFICATION_EARNED: 0.12,
        ActivityKind.BUSINESS_REVIEW_HELD: 0.25,
    }
    months = span / (30.44 * 86400)
    for activity_kind, per_month in monthly.items():
        expected = per_month * rate * months
        for n in range(int(expected + rng.random())):
            # Trend skews when things happen: declining partners act early, thriving late.
            position = (
                rng.random() ** (1 + trend) if trend >= 0 else 1 - rng.random() ** (1 - trend)
            )
            when = joined + timedelta(seconds=position * span)
            when = when.replace(microsecond=0)
            value: Money | None = None
            attributes: dict[str, str | int | bool | None] = {}
            expires: date | None = None
            if activity_kind == ActivityKind.REVENUE_BOOKED:
                amount = (scale * Decimal(str(round(rng.lognormvariate(0, 0.6), 3)))).quantize(
                    Decimal(1)
                )
                value = Money(amount, currency)
            elif activity_kind == ActivityKind.CERTIFICATION_EARNED:
                attributes = {"person": rng.choice(people).lower(), "certification": "cloud_sales"}
                expires = (when + timedelta(days=730)).date()
            found.append(
                Activity(
                    f"{partner_id}_{activity_kind.value}_{n:04d}",
                    partner_id,
                    activity_kind,
                    when,
                    value,
                    attributes,
                    expires,
                )
            )
    return found


def _progress(err: TextIO, message: str) -> None:
    sys.stdout.flush()  # keep the report and the progress lines in order on a terminal
    err.write(f"partnerkit demo: {message}\n")
    err.flush()


#: Partners generated and stored per unit of work, and activities per append.
_PARTNER_BATCH: Final = 1000
_ACTIVITY_BATCH: Final = 5000


def _generate_and_store(
    storage: Storage, count: int, seed: int, err: TextIO
) -> tuple[list[PartnerFacts], int]:
    """Generate the network a batch of partners at a time, store it, keep only the facts."""
    facts: list[PartnerFacts] = []
    stored = 0
    partners: list[Partner] = []
    activities: list[Activity] = []
    with Progress("storing the network", count, stream=err) as bar:
        for partner, history in generate(count, seed):
            partners.append(partner)
            activities.extend(history)
            if len(partners) == _PARTNER_BATCH:
                stored += _store(storage, partners, activities)
                facts += map(PartnerFacts.of, partners)
                partners, activities = [], []
                bar.update(len(facts))
        stored += _store(storage, partners, activities)
        facts += map(PartnerFacts.of, partners)
        bar.update(len(facts))
    return facts, stored


def _store(storage: Storage, partners: list[Partner], activities: list[Activity]) -> int:
    if partners:
        with storage.unit_of_work() as uow:
            uow.partners.add_many(partners)
            uow.commit()
    for start in range(0, len(activities), _ACTIVITY_BATCH):
        with storage.unit_of_work() as uow:
            uow.activities.append(activities[start : start + _ACTIVITY_BATCH])
            uow.commit()
    return len(activities)


def _money(value: object) -> str:
    if isinstance(value, Money):
        return f"{value.rounded().amount:,.0f} {value.currency}"
    return "none"


def run_demo(
    *,
    storage: Storage,
    partners: int,
    seed: int,
    out: TextIO,
    err: TextIO | None = None,
    report: Path | None = None,
) -> None:
    """Generate a network into ``storage``, run the rules, print a manager's report.

    Progress goes to ``err`` (standard error by default): a line per phase, and
    a bar over each long phase when ``err`` is a terminal. With ``report``, the
    HTML report of the network is written there too (needs ``partnerkit[report]``).
    """
    err = err or sys.stderr
    _progress(err, f"generating {partners:,} partners (seed {seed}), storing them as they come")
    facts, activities = _generate_and_store(storage, partners, seed, err)
    _progress(err, f"stored {len(facts):,} partners and {activities:,} activities")
    _enrol(storage, facts)
    reviews = PROGRAM.review.between(AS_OF - timedelta(days=300), AS_OF)[-3:]
    months = [AS_OF - relativedelta(months=back) for back in range(SCORED_MONTHS - 1, -1, -1)]
    desk = Services(storage, clock=FixedClock(AS_OF), rates=RATES)
    _progress(err, "computing metric snapshots from the ledger, read once")
    with Progress("reading the ledger", len(facts), stream=err) as bar:
        snapshots = desk.compute_snapshots(
            ADMIN,
            [*DEFINITIONS, *PROGRAM.metrics],
            at=sorted({*reviews, *months}),
            partner_ids=[fact.id for fact in facts],
            on_progress=bar.update,
        )
    _progress(err, "running tier reviews and health scoring through the services")
    runs = _tier_reviews(storage, reviews, snapshots)
    scores = _score_monthly(desk, months, snapshots)
    _progress(err, "registering deals through the services")
    deals = _deals(storage, facts, seed, err)
    _report(
        out,
        partners=facts,
        activities=activities,
        snapshots=snapshots.at(AS_OF),
        scores=scores,
        runs=runs,
        seed=seed,
    )
    _deal_report(out, deals, {fact.id: fact.name for fact in facts})
    _sections(storage, facts, seed=seed, out=out, err=err)
    if report is not None:
        from partnerkit.report import build_report  # noqa: PLC0415 - needs the report extra

        _progress(err, "writing the HTML report")
        build_report(storage, as_of=AS_OF, rates=RATES).write(report)
        out.write(f"\nThe HTML report is in {report}\n")


def _score_monthly(
    desk: Services, months: Sequence[datetime], snapshots: LedgerSnapshots
) -> object:
    """Store the health model and score every month for half a year; the last batch."""
    desk.add_scoring_model(ADMIN, HEALTH_MODEL)
    batch: object = None
    for when in months:
        batch = desk.score_partners(
            ADMIN, HEALTH_MODEL.name, DEFINITIONS, as_of=when, snapshots=snapshots
        ).value
    return batch


def _sections(
    storage: Storage, facts: Sequence[PartnerFacts], *, seed: int, out: TextIO, err: TextIO
) -> None:
    """Leads, forecast, relationship, funds and incentives, on the first partners read back."""
    ids = [fact.id for fact in facts[:SECTION_PARTNERS]]
    with storage.unit_of_work() as uow:
        partners = [uow.partners.get(partner_id) for partner_id in ids]
        ledgers = uow.activities.for_partners(ids)
    activities = [activity for partner_id in ids for activity in ledgers[partner_id]]
    if len(facts) > SECTION_PARTNERS:
        out.write(f"\n(The sections below cover the first {SECTION_PARTNERS:,} partners.)\n")
    _progress(err, "routing leads through the services")
    lead_desk(storage, tuple(partners), program_id=PROGRAM.id, health_model=HEALTH_MODEL.name,
              seed=seed, as_of=AS_OF, out=out)  # fmt: skip
    _progress(err, "forecasting the pipeline and backtesting the forecast")
    forecast_section(out, storage, partners, as_of=AS_OF, seed=seed)
    relationship_section(storage, partners=partners, activities=activities, program=PROGRAM,
                         as_of=AS_OF, seed=seed, rates=RATES, out=out)  # fmt: skip
    _progress(err, "running last quarter's market development fund through the services")
    fund_demo(storage, partners, program_id=PROGRAM.id, as_of=AS_OF, out=out)
    _progress(err, "computing incentive statements through the services")
    incentives_demo(storage, as_of=AS_OF, program_id=PROGRAM.id, admin=ADMIN, out=out)


@attrs.frozen
class DealOutcome:
    """What the demo's deal desk did."""

    counts: dict[str, int]
    conflicts: tuple[Conflict, ...]
    expired: int


_CUSTOMER_WORDS: Final = (
    ("Hartwell", "Oakridge", "Bluefin", "Kestrel", "Vantage", "Sterling", "Orion", "Maple",
     "Polaris", "Cobalt", "Juniper", "Falcon", "Larkspur", "Ridgeway", "Thornbury"),
    ("Logistics", "Medical", "Retail", "Energy", "Foods", "Insurance", "Manufacturing"),
)  # fmt: skip


# How partners write the same customer: legal forms, punctuation, case and typos.
_VARIANTS: Final = ("{n} Inc", "{n}, Inc.", "{N} INC", "{n} Ltd", "{n} GmbH", "{t} Inc", "{n}")


def _customer_name(rng: random.Random, name: str) -> str:
    pattern = rng.choice(_VARIANTS)
    if "{t}" in pattern:  # one slip of the keyboard
        index = rng.randrange(1, len(name) - 1)
        typo = name[:index] + name[index + 1] + name[index] + name[index + 2 :]
        return pattern.format(t=typo)
    return pattern.format(n=name, N=name.upper())


def _deals(storage: Storage, facts: Sequence[PartnerFacts], seed: int, err: TextIO) -> DealOutcome:
    """Partners register deals over six months; managers decide; the sweep runs today."""
    rng = random.Random(seed + 1)  # noqa: S311 - a reproducible demo, not security
    clock = FixedClock(AS_OF)
    numbers = iter(range(1, 1_000_000))
    services = Services(storage, clock=clock, ids=lambda prefix: f"{prefix}_{next(numbers):05d}")
    active = [fact for fact in facts if fact.status is PartnerStatus.ACTIVE]
    planned = []
    first, second = _CUSTOMER_WORDS
    for index, partner in enumerate(rng.sample(active, k=max(1, len(active) // 6))):
        name = f"{rng.choice(first)} {rng.choice(second)}"
        slug = name.lower().replace(" ", "-")
        when = AS_OF - timedelta(days=rng.randint(1, 180), hours=rng.randint(0, 23))
        planned.append((when, index, partner, name, slug))
    counts: Counter[str] = Counter()
    found: list[Conflict] = []
    approved: list[DealRegistration] = []
    bar = Progress("registering deals", len(planned), stream=err)
    for when, _number, partner, name, slug in sorted(planned, key=lambda item: item[:2]):
        bar.advance()
        clock.set(when)
        domain = f"{'www.' if rng.random() < 0.3 else ''}{slug}.example"
        draft = DealDraft(
            customer=Customer(_customer_name(rng, name), "US", domain=domain),
            amount=Money(Decimal(rng.randrange(20, 400)) * 1000, "USD"),
            expected_close_on=(when + timedelta(days=rng.randint(20, 120))).date(),
            products=(rng.choice(("cloud", "security", "analytics")),),
        )
        user = Actor(f"usr_{partner.id}", Role.PARTNER_USER, partner_id=partner.id)
        manager = Actor(partner.owner_id or MANAGERS[0], Role.CHANNEL_MANAGER)
        submitted = services.submit_deal(user, draft).value
        if submitted.status is DealStatus.SUBMITTED and when > AS_OF - timedelta(AWAITING_DAYS):
            counts["awaiting a decision"] += 1
            continue
        if submitted.status is not DealStatus.SUBMITTED:
            counts[submitted.status.value] += 1
            continue
        try:
            decided = services.approve_deal(manager, submitted.id).value
        except UnresolvedConflictsError as error:
            found.extend(error.conflicts)
            reason = "the customer is already registered by another partner"
            decided = services.reject_deal(manager, submitted.id, reason=reason).value
        counts[decided.status.value] += 1
        if decided.status is DealStatus.APPROVED:
            approved.append(decided)
    bar.close()
    _close(services, approved, counts, rng)
    clock.set(AS_OF)
    expired = services.expire_deals(Actor(MANAGERS[0], Role.CHANNEL_MANAGER)).value
    # Near-duplicates first: the conflicts a person would want to check by eye.
    conflicts = sorted(found, key=lambda c: (c.confidence, c.registration_id))
    return DealOutcome(dict(counts), tuple(conflicts), len(expired))


def _close(
    services: Services,
    approved: list[DealRegistration],
    counts: Counter[str],
    rng: random.Random,
) -> None:
    """Deals whose expected close date came while protected end won or lost then."""
    clock = services.clock
    assert isinstance(clock, FixedClock)  # noqa: S101 - the demo's own services
    for deal in sorted(approved, key=lambda d: (d.expected_close_on, d.id)):
        closes = datetime.combine(deal.expected_close_on, time(12), tzinfo=UTC)
        if deal.protection_until is None or not closes < min(AS_OF, deal.protection_until):
            continue
        clock.set(closes)
        owner = Actor(f"usr_{deal.partner_id}", Role.PARTNER_USER, partner_id=deal.partner_id)
        won = rng.random() < 0.55
        reason = "" if won else "the customer chose a competitor"
        services.close_deal(owner, deal.id, won=won, reason=reason)
        counts[DealStatus.APPROVED.value] -= 1
        counts["won" if won else "lost"] += 1


def _deal_report(out: TextIO, outcome: DealOutcome, names: dict[str, str]) -> None:
    write = out.write
    decided = ", ".join(f"{k} {v}" for k, v in sorted(outcome.counts.items()))
    write(f"\nDeal registrations over the last six months: {decided}\n")
    write(f"  expiry sweep today: {outcome.expired} approvals lapsed and expired\n")
    write("  top conflicts found (the later registration was rejected):\n")
    seen: set[str] = set()
    for conflict in outcome.conflicts:
        if conflict.registration_id in seen:
            continue
        seen.add(conflict.registration_id)
        for line in conflict.explain().splitlines():
            write(f"    {line}\n")
        if len(seen) == 3:
            break


def _enrol(storage: Storage, facts: Sequence[PartnerFacts]) -> None:
    """The program, with every active partner a member since joining."""
    with storage.unit_of_work() as uow:
        uow.programs.add(PROGRAM)
        for fact in facts:
            if fact.status is PartnerStatus.ACTIVE:
                uow.memberships.add(Membership(fact.id, PROGRAM.id, fact.created_on))
        uow.commit()


def _tier_reviews(
    storage: Storage, reviews: Sequence[datetime], snapshots: LedgerSnapshots
) -> list[ReviewRun]:
    """The program's last three quarterly reviews before the as-of date, in order; the last one."""
    clock = FixedClock(AS_OF)
    services = Services(storage, clock=clock, rates=RATES)
    runs: list[ReviewRun] = []
    for when in reviews:
        clock.set(when)
        # Only the latest run is reported: earlier ones are let go as the next begins.
        runs[:] = [
            services.run_tier_review(ADMIN, PROGRAM.id, as_of=when, snapshots=snapshots).value
        ]
    return runs


def _report(
    out: TextIO,
    *,
    partners: Sequence[PartnerFacts],
    activities: int,
    snapshots: Mapping[str, MetricSnapshot],
    scores: object,
    runs: list[ReviewRun],
    seed: int,
) -> None:
    write = out.write
    write(f"partnerkit demo: {len(partners):,} partners, {activities:,} "
          f"activities over 18 months, as of {AS_OF:%Y-%m-%d} (seed {seed})\n\n")  # fmt: skip

    statuses = Counter(p.status.value for p in partners)
    types = Counter(p.type for p in partners)
    write("Partners\n")
    write("  by status: " + ", ".join(f"{k} {v}" for k, v in statuses.most_common()) + "\n")
    write("  by type:   " + ", ".join(f"{k} {v}" for k, v in types.most_common()) + "\n")
    overdue = [p for p in partners if p.overdue]
    if overdue:
        write(f"  onboarding with overdue steps: {len(overdue)}\n")
    write("\n")

    revenue = sorted(
        ((snapshots[p.id].get("revenue_12m"), p) for p in partners),
        key=lambda pair: pair[0].amount if isinstance(pair[0], Money) else Decimal(-1),
        reverse=True,
    )
    write("Top partners by revenue in the trailing 12 months (converted to USD)\n")
    for value, partner in revenue[:5]:
        write(f"  {partner.name:<40} {partner.country}  {_money(value):>16}\n")
    write("\n")

    names = {p.id: p.name for p in partners}
    _tier_report(write, runs, names)

    health: list[HealthScore] = list(scores)  # type: ignore[call-overload]
    bands = Counter(str(s.band) for s in health)
    write("Health bands\n")
    for band in HEALTH_MODEL.bands:
        count = bands.get(band.name, 0)
        bar = "#" * round(40 * count / max(1, len(health)))
        write(f"  {band.name:<10} {count:>6}  {bar}\n")
    write("\n")

    at_risk = sorted(
        (s for s in health if str(s.band) != HEALTH_MODEL.bands[-1].name),
        key=lambda s: (s.value if s.value is not None else Decimal(-1), s.partner_id),
    )
    write("At-risk partners and why (lowest scores first)\n")
    for item in at_risk[:8]:
        shown = "n/a" if item.value is None else f"{item.value}"
        write(f"  {names[item.partner_id]:<40} {shown:>5}  {item.band}\n")
        for reason in item.explanation[1:3]:
            write(f"      - {reason}\n")


def _tier_report(
    write: Callable[[str], object], runs: list[ReviewRun], names: dict[str, str]
) -> None:
    if not runs:
        return
    latest = runs[-1]
    held = Counter(d.tier_id or "no tier" for d in latest.decisions)
    write(f"Tier review of {latest.decisions[0].as_of:%Y-%m-%d} ({PROGRAM.name})\n")
    write("  partners per tier: " + ", ".join(
        f"{tier.name} {held.get(tier.id, 0)}" for tier in reversed(PROGRAM.tiers)
    ) + "\n")  # fmt: skip
    outcomes = Counter(d.outcome.value for d in latest.decisions)
    write("  outcomes: " + ", ".join(f"{k} {v}" for k, v in outcomes.most_common()) + "\n")
    ups = [d for d in latest.decisions if d.outcome is TierOutcome.UPGRADE]
    write("  upgrades (first 5):\n")
    for decision in ups[:5]:
        target = PROGRAM.tier(decision.tier_id).name if decision.tier_id else "no tier"
        write(f"    {names[decision.partner_id]:<40} -> {target}\n")
    watch = [
        d
        for d in latest.decisions
        if d.outcome in (TierOutcome.GRACE, TierOutcome.PROPOSED_DOWNGRADE)
    ]
    write(f"  in grace or proposed for downgrade: {len(watch)} (first 5 with what they miss)\n")
    for decision in watch[:5]:
        evidence = decision.tier_evidence
        missing = evidence.gap if evidence is not None else ""
        write(f"    {names[decision.partner_id]:<40} {decision.outcome.value}: {missing}\n")
    write("\n")
