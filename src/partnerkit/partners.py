"""Partners: the organisations in a partner program, their contacts and lifecycle."""

from __future__ import annotations

import enum
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Final

import attrs

from partnerkit._base.checks import (
    a_slug,
    a_text,
    an_id,
    an_instant,
    check_enum,
    check_fields,
    check_items,
    check_list,
    check_slug,
    check_text,
    one_of,
    optional,
    repeated,
)
from partnerkit._base.countries import check_country, normalize_email, normalize_hostname
from partnerkit._base.events import Change, Event
from partnerkit._base.frozen import FrozenDict, freeze
from partnerkit._base.ids import check_id, is_valid_id
from partnerkit._base.money import check_number, to_decimal
from partnerkit._base.time import FIRST_YEAR, LAST_YEAR, Period, parse_date, to_utc
from partnerkit.errors import (
    InvalidTransitionError,
    NotFoundError,
    Problems,
    ValidationError,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from partnerkit._base.checks import Checker

__all__ = [
    "Contact",
    "CustomField",
    "CustomFieldSchema",
    "CustomFieldType",
    "CustomValue",
    "OnboardingPlan",
    "OnboardingStep",
    "OnboardingStepTemplate",
    "Partner",
    "PartnerAction",
    "PartnerStatus",
    "PartnerType",
    "StatusChange",
    "StepOwner",
    "activate",
    "complete_onboarding_step",
    "overdue_steps",
    "reinstate",
    "reject",
    "set_parent",
    "start_onboarding",
    "suspend",
    "terminate",
    "transition",
]

_MAX_HIERARCHY_DEPTH: Final = 32

#: A custom field value: text and choices are str, integers int, decimals Decimal,
#: flags bool, dates date.
CustomValue = str | int | bool | Decimal | date


class PartnerType(enum.StrEnum):
    """The partner types every PRM knows. Hosts may use any other lowercase slug."""

    RESELLER = "reseller"
    REFERRAL = "referral"
    DISTRIBUTOR = "distributor"
    MSP = "msp"
    SYSTEM_INTEGRATOR = "system_integrator"
    TECHNOLOGY = "technology"
    AFFILIATE = "affiliate"


class PartnerStatus(enum.StrEnum):
    """Where a partner is in its lifecycle."""

    PROSPECT = "prospect"
    ONBOARDING = "onboarding"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    TERMINATED = "terminated"
    REJECTED = "rejected"


class PartnerAction(enum.StrEnum):
    """The lifecycle moves; see `TRANSITIONS` for which status each is allowed from."""

    START_ONBOARDING = "start_onboarding"
    REJECT = "reject"
    ACTIVATE = "activate"
    SUSPEND = "suspend"
    REINSTATE = "reinstate"
    TERMINATE = "terminate"


_S = PartnerStatus
_A = PartnerAction
#: action -> (statuses it is allowed from, status it leads to)
TRANSITIONS: Final[Mapping[PartnerAction, tuple[frozenset[PartnerStatus], PartnerStatus]]] = {
    _A.START_ONBOARDING: (frozenset({_S.PROSPECT}), _S.ONBOARDING),
    _A.REJECT: (frozenset({_S.PROSPECT}), _S.REJECTED),
    _A.ACTIVATE: (frozenset({_S.ONBOARDING}), _S.ACTIVE),
    _A.SUSPEND: (frozenset({_S.ACTIVE}), _S.SUSPENDED),
    _A.REINSTATE: (frozenset({_S.SUSPENDED}), _S.ACTIVE),
    _A.TERMINATE: (frozenset({_S.ONBOARDING, _S.ACTIVE, _S.SUSPENDED}), _S.TERMINATED),
}
#: Moves that must say why.
REASON_REQUIRED: Final = frozenset({_A.REJECT, _A.SUSPEND, _A.TERMINATE})


def _allowed_from(status: PartnerStatus) -> list[str]:
    return [action.value for action, (sources, _) in TRANSITIONS.items() if status in sources]


def _optional_id(value: object) -> str | None:
    return None if value is None else check_id(value, "")


@attrs.frozen
class Contact:
    """A person at a partner.

    Attributes:
        name: Their name.
        email: A valid address; the domain part is stored lowercase.
        role: Free text such as ``"sales"``, ``"technical"`` or ``"executive"``.
        primary: The partner's main contact; a partner with contacts has exactly one.
    """

    name: str
    email: str
    role: str = ""
    primary: bool = False

    def __attrs_post_init__(self) -> None:
        # The common, well-formed case runs the checks straight; only a contact
        # with a problem goes through collecting every problem.
        try:
            name = check_text(self.name, required=True)
            email = normalize_email(self.email)
            role = check_text(self.role, required=False, limit=64)
        except ValidationError:
            pass
        else:
            if type(self.primary) is bool:
                object.__setattr__(self, "name", name)
                object.__setattr__(self, "email", email)
                object.__setattr__(self, "role", role)
                return
        self._validate()

    def _validate(self) -> None:
        problems = Problems()
        name = problems.check("name", check_text, self.name, required=True)
        email = problems.check("email", normalize_email, self.email)
        role = problems.check("role", check_text, self.role, required=False, limit=64)
        if not isinstance(self.primary, bool):
            problems.add("primary", "expected true or false")
        problems.raise_if_any()
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "email", email)
        object.__setattr__(self, "role", role)


class CustomFieldType(enum.StrEnum):
    """The value types a custom field can declare."""

    TEXT = "text"
    INTEGER = "integer"
    DECIMAL = "decimal"
    BOOL = "bool"
    DATE = "date"
    CHOICE = "choice"


_TRUE: Final = frozenset({"true", "yes", "1"})
_FALSE: Final = frozenset({"false", "no", "0"})


def _read_integer(value: object) -> int:
    if isinstance(value, str) and re.fullmatch(r"[+-]?\d{1,18}", value.strip()):
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return int(check_number(value, ""))
    raise ValidationError.single("", f"expected a whole number, got {value!r}")


def _read_bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ValidationError.single("", f"expected true or false, got {value!r}")


@attrs.frozen
class CustomField:
    """One host-declared custom field on partners.

    Attributes:
        name: A lowercase slug, the key in ``Partner.custom_fields``.
        type: What values it holds.
        required: Whether every partner must have a value (or the default).
        default: Used when a partner gives no value.
        options: The allowed values of a ``choice`` field.
        label: A human name for forms and errors.
    """

    name: str
    type: CustomFieldType
    required: bool = False
    default: CustomValue | None = None
    options: tuple[str, ...] = ()
    label: str = ""

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        problems.check("name", check_slug, self.name, "custom field name")
        kind = problems.check("type", check_enum, CustomFieldType, self.type)
        if kind is CustomFieldType.CHOICE and not self.options:
            problems.add("options", "a choice field needs at least one option")
        if kind is not CustomFieldType.CHOICE and self.options:
            problems.add("options", "only choice fields have options")
        if len(set(self.options)) != len(self.options):
            problems.add("options", "options must be distinct")
        problems.raise_if_any()
        object.__setattr__(self, "type", kind)
        if self.default is not None:
            default = Problems()
            value = default.check("default", self.read, self.default)
            default.raise_if_any()
            object.__setattr__(self, "default", value)

    def read(self, value: object) -> CustomValue:
        """Check ``value`` against the field's type; strings from forms and CSV are read.

        ``"42"`` is read as 42 for an integer field, ``"yes"`` as True for a bool
        field, ``"2026-03-01"`` as a date.

        Raises:
            ValidationError: Saying what the field expects.
        """
        kind = self.type
        if kind is CustomFieldType.TEXT:
            return check_text(value, required=False, limit=2000)
        if kind is CustomFieldType.INTEGER:
            return _read_integer(value)
        if kind is CustomFieldType.DECIMAL:
            return to_decimal(value, "")
        if kind is CustomFieldType.BOOL:
            return _read_bool(value)
        if kind is CustomFieldType.DATE:
            if isinstance(value, str):
                return parse_date(value.strip(), "")
            return parse_date(value, "")  # type: ignore[arg-type]
        if value not in self.options:
            choices = ", ".join(repr(option) for option in self.options)
            raise ValidationError.single("", f"{value!r} is not one of {choices}")
        return value


@attrs.frozen
class CustomFieldSchema:
    """The custom fields a host declares for its partners.

    Example::

        schema = CustomFieldSchema([
            CustomField("vertical", CustomFieldType.CHOICE, options=("health", "retail")),
            CustomField("employees", CustomFieldType.INTEGER, required=True),
        ])
        values = schema.validate({"employees": "250"})   # {"employees": 250}
    """

    fields: tuple[CustomField, ...]

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        fields = check_items(self.fields, "fields", problems, CustomField)
        problems.raise_if_any()
        object.__setattr__(self, "fields", fields)
        duplicates = repeated(field.name for field in self.fields)
        if duplicates:
            raise ValidationError.single("fields", f"declared twice: {', '.join(duplicates)}")

    def validate(self, values: Mapping[str, object]) -> dict[str, CustomValue]:
        """Check ``values`` against the schema and fill in defaults.

        Returns:
            The values, read into their declared types, with defaults added.

        Raises:
            ValidationError: Naming each bad field as ``custom_fields.<name>``.
        """
        problems = Problems()
        known = {field.name: field for field in self.fields}
        result: dict[str, CustomValue] = {}
        for name in values:
            if name not in known:
                declared = ", ".join(known) or "none"
                problems.add(f"custom_fields.{name}", f"not a declared custom field ({declared})")
        for name, field in known.items():
            raw = values.get(name)
            if raw is None or raw == "":
                if field.default is not None:
                    result[name] = field.default
                elif field.required:
                    problems.add(f"custom_fields.{name}", "required custom field is missing")
                continue
            value = problems.check(f"custom_fields.{name}", field.read, raw)
            if value is not None:
                result[name] = value
        problems.raise_if_any()
        return result


class StepOwner(enum.StrEnum):
    """Who has to act on an onboarding step."""

    PARTNER = "partner"
    VENDOR = "vendor"


def _a_period(value: object) -> Period:
    if not isinstance(value, Period):
        raise ValidationError.single("", "expected a Period such as Period.parse('P14D')")
    return value


def _a_date(value: object) -> date:
    if not isinstance(value, date) or isinstance(value, datetime):
        raise ValidationError.single("", "expected a date")
    return value


#: How each field of `OnboardingStepTemplate` is checked (see `check_fields`).
_TEMPLATE_FIELDS: Final[Mapping[str, Checker]] = {
    "key": a_slug("step key"),
    "title": a_text(required=True),
    "due": _a_period,
    "owner": one_of(StepOwner),
}


@attrs.frozen
class OnboardingStepTemplate:
    """A step in an onboarding plan, due a period after the partner joins.

    Attributes:
        key: A slug, unique in the plan: ``"sign_agreement"``.
        title: What to do.
        due: How long after the join date it is due: ``Period.parse("P14D")``.
        required: Whether activation waits for it.
        owner: Who must do it.
    """

    key: str
    title: str
    due: Period
    required: bool = True
    owner: StepOwner = StepOwner.PARTNER

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        check_fields(self, problems, _TEMPLATE_FIELDS, check_only=("key", "title", "due"))
        problems.raise_if_any()


@attrs.frozen
class OnboardingPlan:
    """A template of onboarding steps, instantiated per partner from its join date."""

    name: str
    steps: tuple[OnboardingStepTemplate, ...]

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        problems.check("name", check_text, self.name, required=True)
        steps = check_items(
            self.steps,
            "steps",
            problems,
            OnboardingStepTemplate,
            expected="an OnboardingStepTemplate",
        )
        problems.raise_if_any()
        object.__setattr__(self, "steps", steps)
        duplicates = repeated(step.key for step in self.steps)
        if duplicates:
            raise ValidationError.single("steps", f"step keys used twice: {', '.join(duplicates)}")

    def instantiate(self, joined_on: date) -> tuple[OnboardingStep, ...]:
        """The plan's steps for a partner who joined on ``joined_on``, with due dates."""
        return tuple(
            OnboardingStep(
                key=step.key,
                title=step.title,
                due_on=joined_on + step.due,
                required=step.required,
                owner=step.owner,
            )
            for step in self.steps
        )


#: How each field of `OnboardingStep` is checked (see `check_fields`).
_STEP_FIELDS: Final[Mapping[str, Checker]] = {
    "key": a_slug("step key"),
    "title": a_text(required=True),
    "due_on": _a_date,
    "owner": one_of(StepOwner),
    "completed_at": optional(an_instant),
    "completed_by": optional(an_id),
}
_STEP_CHECK_ONLY: Final = ("key", "title", "due_on", "completed_by")


@attrs.frozen
class OnboardingStep:
    """One onboarding step of one partner.

    Attributes:
        due_on: The date it is due.
        completed_at: When it was done (``None`` while open).
        completed_by: Who marked it done.
    """

    key: str
    title: str
    due_on: date
    required: bool = True
    owner: StepOwner = StepOwner.PARTNER
    completed_at: datetime | None = None
    completed_by: str | None = None

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        check_fields(self, problems, _STEP_FIELDS, check_only=_STEP_CHECK_ONLY)
        problems.raise_if_any()

    @property
    def is_open(self) -> bool:
        """Whether it still has to be done."""
        return self.completed_at is None

    def is_overdue(self, as_of: date) -> bool:
        """Whether it is open and its due date has passed by ``as_of``."""
        return self.completed_at is None and self.due_on < as_of


#: How each field of `StatusChange` is checked (see `check_fields`).
_STATUS_CHANGE_FIELDS: Final[Mapping[str, Checker]] = {
    "action": one_of(PartnerAction),
    "from_status": one_of(PartnerStatus),
    "to_status": one_of(PartnerStatus),
    "actor": an_id,
    "at": an_instant,
    "reason": a_text(required=False, limit=2000),
}
_STATUS_CHANGE_CHECK_ONLY: Final = ("actor", "reason")


@attrs.frozen
class StatusChange:
    """One lifecycle move: who made it, when and why."""

    action: PartnerAction
    from_status: PartnerStatus
    to_status: PartnerStatus
    actor: str
    at: datetime
    reason: str = ""

    def __attrs_post_init__(self) -> None:
        at = self.at
        # The common case (members, a UTC instant, an id, short text) in a few
        # comparisons; anything else through the full check of every field.
        if (
            type(self.action) is PartnerAction
            and type(self.from_status) is PartnerStatus
            and type(self.to_status) is PartnerStatus
            and type(at) is datetime
            and at.tzinfo is UTC
            and FIRST_YEAR <= at.year <= LAST_YEAR
            and type(self.actor) is str
            and is_valid_id(self.actor)
            and type(self.reason) is str
            and len(self.reason) <= 2000
        ):
            return
        problems = Problems()
        check_fields(self, problems, _STATUS_CHANGE_FIELDS, check_only=_STATUS_CHANGE_CHECK_ONLY)
        problems.raise_if_any()


@attrs.frozen
class Partner:
    """An organisation in the partner program.

    Build one with its identity and the instant it was created; everything else has
    a sensible default (a new partner is a ``prospect``). Every field is validated
    and every problem is reported at once. Change a partner with the lifecycle
    functions (`start_onboarding`, `activate`, `suspend`...) or ``attrs.evolve``;
    storage bumps ``version`` on every save.

    Attributes:
        id: Opaque id (`partnerkit.new_id` mints sortable ones).
        name: The organisation's name.
        type: A `PartnerType` or a host's own lowercase slug.
        country: ISO 3166-1 alpha-2 code (``"FI"``, ``"GB"``).
        created_at: When it was created (aware; stored in UTC).
        status: Lifecycle status; change it only through `transition`.
        region: Free text such as ``"EMEA"`` or ``"Nordics"``.
        domains: Website domains, normalised (lowercase, IDNA, no ``www.``).
        owner_id: The channel manager who owns the relationship.
        parent_id: The partner above this one (a distributor over a reseller).
        contacts: People; exactly one is primary when there are any.
        custom_fields: Values checked against the host's `CustomFieldSchema`.
        joined_on: The date onboarding started; due dates count from it.
        onboarding: The partner's onboarding steps.
        history: Every lifecycle move, oldest first.
        updated_at: When it last changed.
        version: The stored version this value was read at (0 before first save).
    """

    id: str
    name: str
    type: str
    country: str
    created_at: datetime
    status: PartnerStatus = PartnerStatus.PROSPECT
    region: str = ""
    domains: tuple[str, ...] = ()
    owner_id: str | None = None
    parent_id: str | None = None
    contacts: tuple[Contact, ...] = ()
    custom_fields: dict[str, CustomValue] = attrs.field(factory=dict)
    joined_on: date | None = None
    onboarding: tuple[OnboardingStep, ...] = ()
    history: tuple[StatusChange, ...] = ()
    updated_at: datetime | None = None
    version: int = 0

    def __attrs_post_init__(self) -> None:
        # The common, well-formed case runs the checks straight and sets the
        # normalised values once all passed; a partner with any problem goes
        # through `_validate`, which collects every problem.
        if not self._settled():
            self._validate()

    def _settled(self) -> bool:
        """Check and normalise a well-formed partner at once; False at the first problem."""
        try:
            check_id(self.id, "")
            name = check_text(self.name, required=True)
            if not (isinstance(self.type, str) and self.type in _KNOWN_TYPES):
                check_slug(self.type, "partner type")
            country = check_country(self.country)
            created = to_utc(self.created_at, "")
            status = check_enum(PartnerStatus, self.status)
            region = check_text(self.region, required=False)
            domains = self.domains
            contacts = self.contacts
            fields = self.custom_fields
            if not (
                type(domains) is tuple
                and type(contacts) is tuple
                and type(self.onboarding) is tuple
                and type(self.history) is tuple
                and type(fields) in _DICTS
                and type(self.version) is int
                and self.version >= 0
            ):
                return False
            domains = tuple([normalize_hostname(domain) for domain in domains])
            for other in (self.owner_id, self.parent_id):
                if other is not None:
                    check_id(other, "")
            updated = created if self.updated_at is None else to_utc(self.updated_at, "")
        except (ValidationError, TypeError):
            return False
        if (
            len(set(domains)) != len(domains)
            or (self.parent_id is not None and self.parent_id == self.id)
            or any(type(contact) is not Contact for contact in contacts)
            or (contacts and sum(1 for contact in contacts if contact.primary) != 1)
            or any(type(value) not in _CUSTOM_TYPES for value in fields.values())
        ):
            return False
        fix = object.__setattr__
        fix(self, "name", name)
        fix(self, "country", country)
        fix(self, "created_at", created)
        fix(self, "status", status)
        fix(self, "region", region)
        fix(self, "domains", domains)
        fix(self, "custom_fields", freeze(fields))
        fix(self, "updated_at", updated)
        return True

    def _validate(self) -> None:
        problems = Problems()
        fix = object.__setattr__
        problems.check("id", check_id, self.id, "")
        fix(self, "name", problems.check("name", check_text, self.name, required=True))
        problems.check("type", check_slug, self.type, "partner type")
        fix(self, "country", problems.check("country", check_country, self.country))
        created = problems.check("created_at", to_utc, self.created_at, "")
        fix(self, "created_at", created)
        fix(self, "status", problems.check("status", check_enum, PartnerStatus, self.status))
        fix(self, "region", problems.check("region", check_text, self.region, required=False))
        domains = tuple(
            problems.check(f"domains[{index}]", normalize_hostname, domain)
            for index, domain in enumerate(check_list(self.domains, "domains", problems))
        )
        if len(set(domains)) != len(domains):
            problems.add("domains", "each domain may be listed once")
        fix(self, "domains", domains)
        problems.check("owner_id", _optional_id, self.owner_id)
        problems.check("parent_id", _optional_id, self.parent_id)
        if self.parent_id is not None and self.parent_id == self.id:
            problems.add("parent_id", "a partner cannot be its own parent")
        contacts = check_items(self.contacts, "contacts", problems, Contact)
        primaries = sum(1 for c in contacts if isinstance(c, Contact) and c.primary)
        if contacts and primaries != 1:
            problems.add("contacts", "mark exactly one contact as primary")
        fix(self, "contacts", contacts)
        fix(self, "onboarding", check_list(self.onboarding, "onboarding", problems))
        fix(self, "history", check_list(self.history, "history", problems))
        if not isinstance(self.custom_fields, dict):
            problems.add("custom_fields", "expected a dict of custom field values")
        else:
            fix(self, "custom_fields", freeze(self.custom_fields))
            for name, value in self.custom_fields.items():
                if isinstance(value, (float, datetime)) or not isinstance(
                    value, (str, int, Decimal, date)
                ):
                    problems.add(
                        f"custom_fields.{name}",
                        f"{type(value).__name__} is not a custom field value; read values "
                        f"through CustomFieldSchema.validate",
                    )
        if self.updated_at is None:
            fix(self, "updated_at", created)
        else:
            fix(self, "updated_at", problems.check("updated_at", to_utc, self.updated_at, ""))
        if isinstance(self.version, bool) or not isinstance(self.version, int) or self.version < 0:
            problems.add("version", "expected a whole number, 0 or more")
        problems.raise_if_any()

    @property
    def primary_contact(self) -> Contact | None:
        """The primary contact, if the partner has contacts."""
        return next((contact for contact in self.contacts if contact.primary), None)

    @property
    def allowed_actions(self) -> tuple[PartnerAction, ...]:
        """The lifecycle moves allowed from the current status."""
        return tuple(PartnerAction(action) for action in _allowed_from(self.status))


_KNOWN_TYPES: Final = frozenset(kind.value for kind in PartnerType)
_DICTS: Final = frozenset({dict, FrozenDict})
# Exactly the values the full check accepts: str, int (bool is one), Decimal and
# date but not datetime, nor float.
_CUSTOM_TYPES: Final = frozenset({str, int, bool, Decimal, date})


def _status_event(partner: Partner, change: StatusChange) -> Event:
    return Event(
        kind="partner.status_changed",
        subject_id=partner.id,
        occurred_at=change.at,
        actor=change.actor,
        data={
            "action": change.action.value,
            "from_status": change.from_status.value,
            "to_status": change.to_status.value,
            "reason": change.reason,
        },
    )


def transition(
    partner: Partner,
    action: PartnerAction | str,
    *,
    actor: str,
    at: datetime,
    reason: str = "",
) -> Change[Partner]:
    """Move ``partner`` through its lifecycle and record who, when and why.

    The allowed moves (`TRANSITIONS`)::

        prospect   --start_onboarding--> onboarding --activate--> active
        prospect   --reject-----------> rejected
        active     --suspend----------> suspended  --reinstate--> active
        onboarding, active, suspended --terminate--> terminated

    ``reject``, ``suspend`` and ``terminate`` need a reason. Prefer the named
    functions (`activate` checks onboarding first).

    Raises:
        InvalidTransitionError: If the move is not allowed from the current status,
            listing the moves that are.
        ValidationError: If a required reason is missing or ``at`` is naive.
    """
    try:
        move = PartnerAction(action)
    except ValueError:
        raise ValidationError.single(
            "action", f"{action!r} is not a partner action ({', '.join(a.value for a in _A)})"
        ) from None
    sources, target = TRANSITIONS[move]
    if partner.status not in sources:
        raise InvalidTransitionError(
            "partner", partner.id, partner.status.value, move.value, _allowed_from(partner.status)
        )
    problems = Problems()
    when = problems.check("at", to_utc, at, "")
    problems.check("actor", check_id, actor, "")
    text = problems.check("reason", check_text, reason, required=False, limit=2000)
    if move in REASON_REQUIRED and not text and not problems.found:
        problems.add("reason", f"say why: a reason is required to {move.value}")
    problems.raise_if_any()
    assert when is not None  # noqa: S101 - raise_if_any guarantees it
    change = StatusChange(move, partner.status, target, actor, when, text or "")
    updated = attrs.evolve(
        partner, status=target, history=(*partner.history, change), updated_at=when
    )
    return Change(updated, (_status_event(updated, change),))


def start_onboarding(
    partner: Partner,
    plan: OnboardingPlan,
    *,
    actor: str,
    at: datetime,
    joined_on: date | None = None,
) -> Change[Partner]:
    """Move a prospect to onboarding and give it the plan's steps.

    Args:
        partner: A prospect.
        plan: The onboarding plan; due dates count from ``joined_on``.
        actor: Who started it.
        at: When.
        joined_on: The join date (default: the UTC date of ``at``).
    """
    moved, events = transition(partner, PartnerAction.START_ONBOARDING, actor=actor, at=at)
    start = joined_on if joined_on is not None else to_utc(at, "at").date()
    if not isinstance(start, date) or isinstance(start, datetime):
        raise ValidationError.single("joined_on", "expected a date")
    updated = attrs.evolve(moved, joined_on=start, onboarding=plan.instantiate(start))
    return Change(updated, events)


def complete_onboarding_step(
    partner: Partner, key: str, *, actor: str, at: datetime
) -> Change[Partner]:
    """Mark onboarding step ``key`` done by ``actor`` at ``at``.

    Completing a step that is already done changes nothing and returns no event.

    Raises:
        NotFoundError: If the partner has no step ``key``.
    """
    when = to_utc(at, "at")
    check_id(actor, "actor")
    steps = list(partner.onboarding)
    for index, step in enumerate(steps):
        if step.key != key:
            continue
        if not step.is_open:
            return Change(partner, ())
        steps[index] = attrs.evolve(step, completed_at=when, completed_by=actor)
        updated = attrs.evolve(partner, onboarding=tuple(steps), updated_at=when)
        event = Event(
            kind="partner.onboarding_step_completed",
            subject_id=partner.id,
            occurred_at=when,
            actor=actor,
            data={"step": key, "due_on": step.due_on.isoformat()},
        )
        return Change(updated, (event,))
    keys = ", ".join(step.key for step in partner.onboarding) or "none"
    raise NotFoundError("onboarding step", key, f"partner {partner.id!r} has steps: {keys}")


def overdue_steps(partner: Partner, as_of: date) -> list[OnboardingStep]:
    """The partner's open steps whose due date is before ``as_of``, earliest first."""
    return sorted(
        (step for step in partner.onboarding if step.is_overdue(as_of)),
        key=lambda step: (step.due_on, step.key),
    )


def activate(
    partner: Partner, *, actor: str, at: datetime, force_reason: str = ""
) -> Change[Partner]:
    """Activate a partner whose required onboarding steps are all done.

    Args:
        partner: A partner in onboarding.
        actor: Who activates it.
        at: When.
        force_reason: Activate despite open required steps; the reason is recorded.

    Raises:
        ValidationError: Listing the open required steps, when not forced.
        InvalidTransitionError: If the partner is not onboarding.
    """
    open_required = [step.key for step in partner.onboarding if step.required and step.is_open]
    if open_required and not force_reason.strip():
        raise ValidationError.single(
            "onboarding",
            f"required steps still open: {', '.join(open_required)}; complete them, or "
            f"pass force_reason=... to activate anyway",
        )
    reason = force_reason.strip()
    if open_required:
        reason = f"forced with open steps {', '.join(open_required)}: {reason}"
    return transition(partner, PartnerAction.ACTIVATE, actor=actor, at=at, reason=reason)


def suspend(partner: Partner, *, actor: str, at: datetime, reason: str) -> Change[Partner]:
    """Suspend an active partner; ``reason`` is required."""
    return transition(partner, PartnerAction.SUSPEND, actor=actor, at=at, reason=reason)


def reinstate(partner: Partner, *, actor: str, at: datetime, reason: str = "") -> Change[Partner]:
    """Return a suspended partner to active."""
    return transition(partner, PartnerAction.REINSTATE, actor=actor, at=at, reason=reason)


def terminate(partner: Partner, *, actor: str, at: datetime, reason: str) -> Change[Partner]:
    """End the partnership; ``reason`` is required. Terminated is final."""
    return transition(partner, PartnerAction.TERMINATE, actor=actor, at=at, reason=reason)


def reject(partner: Partner, *, actor: str, at: datetime, reason: str) -> Change[Partner]:
    """Turn a prospect down; ``reason`` is required. Rejected is final."""
    return transition(partner, PartnerAction.REJECT, actor=actor, at=at, reason=reason)


def set_parent(
    partner: Partner,
    parent_id: str | None,
    *,
    lookup: Callable[[str], Partner],
    at: datetime,
) -> Change[Partner]:
    """Place ``partner`` under ``parent_id`` (or at the top level with ``None``).

    Walks up from the new parent with ``lookup`` (for example
    ``unit_of_work.partners.get``) and refuses a move that would make a cycle.

    Raises:
        ValidationError: If the move makes a cycle or the chain is deeper than 32.
        NotFoundError: If ``lookup`` cannot find the parent or one of its ancestors.
    """
    when = to_utc(at, "at")
    chain = [partner.id]
    ancestor = parent_id
    while ancestor is not None:
        if ancestor in chain:
            path = " -> ".join([*chain, ancestor])
            raise ValidationError.single(
                "parent_id", f"{parent_id!r} would make a cycle ({path}); choose another parent"
            )
        if len(chain) > _MAX_HIERARCHY_DEPTH:
            raise ValidationError.single(
                "parent_id", f"hierarchies deeper than {_MAX_HIERARCHY_DEPTH} levels are refused"
            )
        chain.append(ancestor)
        ancestor = lookup(ancestor).parent_id
    if parent_id == partner.parent_id:
        return Change(partner, ())
    updated = attrs.evolve(partner, parent_id=parent_id, updated_at=when)
    event = Event(
        kind="partner.parent_changed",
        subject_id=partner.id,
        occurred_at=when,
        data={"from_parent_id": partner.parent_id, "to_parent_id": parent_id},
    )
    return Change(updated, (event,))
