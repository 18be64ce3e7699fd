"""The routing policy: who may receive leads, how one is picked, and the limits.

A `RoutingPolicy` is data, written as a dict, JSON or TOML (`policy_from_toml`)
like programs and scoring models are.
"""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import Any, Final

import attrs

from partnerkit._base.checks import check_enum, check_text
from partnerkit._base.ids import check_id
from partnerkit._base.time import Period
from partnerkit.errors import Problems, ValidationError

__all__ = ["ProductMatch", "Ranking", "RoutingPolicy", "Territory", "policy_from_toml"]


class Territory(enum.StrEnum):
    """How a lead's place is matched against the partners that may receive it."""

    COUNTRY = "country"
    """Partners serving the lead's country."""
    REGION = "region"
    """Partners serving the lead's region (then its country, if none serves the region)."""
    DISTANCE = "distance"
    """Partners with coordinates within widening boxes around the lead (the ``steps``,
    in degrees of latitude; longitude a quarter wider), then the lead's country, then
    the nearest partner anywhere."""


class Ranking(enum.StrEnum):
    """How one partner is picked among the eligible ones."""

    WEIGHTED_RANDOM = "weighted_random"
    """A seeded draw in proportion to each partner's lead weight."""
    ROUND_ROBIN = "round_robin"
    """Partners in id order, each in turn after the one offered a lead last."""
    LONGEST_IDLE = "longest_idle"
    """The partner offered a lead longest ago (never offered: first), ties by id."""
    HEALTH = "health"
    """The best health band first (``band_order``), drawn by weight within it."""
    COMBINED = "combined"
    """A seeded draw by lead weight x band factor + days idle (up to ``idle_cap_days``)."""


class ProductMatch(enum.StrEnum):
    """What a partner must sell of the lead's products."""

    ANY = "any"
    """At least one of them (a lead without products matches every partner)."""
    ALL = "all"
    """Every one of them."""
    IGNORE = "ignore"
    """Products are not checked."""


_DEFAULT_BANDS: Final = ("healthy", "at_risk", "critical")
#: How long a partner has to accept an offer unless the policy says otherwise.
DEFAULT_SLA: Final = Period(hours=24)


def _positive_cap(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError.single(
            "", f"expected a whole number, 1 or more, or none; got {value!r}"
        )
    return value


def _slugs(value: object, problems: Problems, path: str) -> tuple[str, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, (tuple, list)):
        problems.add(path, "expected a list of names")
        return ()
    found = []
    for index, item in enumerate(value):
        text = problems.check(f"{path}[{index}]", check_text, item, required=True, limit=100)
        if text is not None:
            found.append(text)
    return tuple(found)


def _read_period(value: object) -> Period:
    if isinstance(value, Period):
        period = value
    elif isinstance(value, int) and not isinstance(value, bool):
        period = Period(hours=value)
    elif isinstance(value, str):
        period = Period.parse(value, "")
    else:
        raise ValidationError.single(
            "", f"expected hours or a duration such as 'PT24H', got {value!r}"
        )
    if any(part < 0 for part in period._parts()) or not any(period._parts()):
        raise ValidationError.single("", f"{period} must be positive")
    return period


@attrs.frozen
class RoutingPolicy:
    """How leads are routed: eligibility, ranking, capacity, and the acceptance SLA.

    Attributes:
        name: The policy's name, recorded in every explanation.
        ranking: How a partner is picked (`Ranking`).
        territory: How the lead's place is matched (`Territory`).
        steps: For ``distance``: the widening half-heights of the search box, in
            degrees of latitude (``Decimal``; default 2, 4, 8).
        statuses: The partner statuses that may receive leads (default active).
        products: What a partner must sell of the lead's products (`ProductMatch`).
        certifications: Certifications a partner must hold (every one).
        program_id: The program whose tier gives each partner its lead weight
            (`partnerkit.tiers.Benefits.lead_weight`; 0 = no leads). ``None``: the
            highest weight of the partner's current tiers.
        weights: Per-partner lead weights overriding the tier's (0 stops its leads).
        default_weight: The weight of a partner without a tier.
        daily_cap: The most leads offered to one partner per UTC day (``None``: no cap).
        monthly_cap: The most per calendar month (UTC).
        open_cap: The most a partner may hold at once (offered or accepted).
        accept_within: How long a partner has to accept an offer (default 24 hours;
            TOML: ``accept_within = 18`` hours or ``"PT18H"``).
        max_offers: How many offers a lead gets before it returns to the vendor.
        band_order: Health bands from best to worst, for ``health`` ranking.
        band_factors: Each band's factor in ``combined`` ranking (missing: 1).
        health_model: The scoring model whose latest band counts (services).
        idle_cap_days: The most idle days ``combined`` ranking adds.
        seed: Mixed with each lead's id and offer number into the draw's seed.
    """

    name: str
    ranking: Ranking = Ranking.WEIGHTED_RANDOM
    territory: Territory = Territory.COUNTRY
    steps: tuple[Decimal, ...] = (Decimal(2), Decimal(4), Decimal(8))
    statuses: tuple[str, ...] = ("active",)
    products: ProductMatch = ProductMatch.ANY
    certifications: tuple[str, ...] = ()
    program_id: str | None = None
    weights: dict[str, int] = attrs.field(factory=dict)
    default_weight: int = 0
    daily_cap: int | None = None
    monthly_cap: int | None = None
    open_cap: int | None = None
    accept_within: Period = DEFAULT_SLA
    max_offers: int = 3
    band_order: tuple[str, ...] = _DEFAULT_BANDS
    band_factors: dict[str, int] = attrs.field(
        factory=lambda: {"healthy": 3, "at_risk": 2, "critical": 1}
    )
    health_model: str | None = None
    idle_cap_days: int = 30
    seed: int = 0

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        fix = object.__setattr__
        fix(self, "name", problems.check("name", check_text, self.name, required=True, limit=100))
        fix(self, "ranking", problems.check("ranking", check_enum, Ranking, self.ranking))
        fix(self, "territory", problems.check("territory", check_enum, Territory, self.territory))
        steps = []
        for index, step in enumerate(self.steps if isinstance(self.steps, (tuple, list)) else ()):
            try:
                number = Decimal(step) if not isinstance(step, (bool, float)) else None
            except ArithmeticError:
                number = None
            if number is None or not number.is_finite() or not 0 < number <= 90:
                problems.add(
                    f"steps[{index}]", f"expected degrees above 0, at most 90; got {step!r}"
                )
            else:
                steps.append(number)
        if steps != sorted(steps):
            problems.add("steps", "list the steps from the narrowest to the widest")
        fix(self, "steps", tuple(steps))
        fix(self, "statuses", _slugs(self.statuses, problems, "statuses"))
        fix(self, "products", problems.check("products", check_enum, ProductMatch, self.products))
        fix(self, "certifications", _slugs(self.certifications, problems, "certifications"))
        if self.program_id is not None:
            problems.check("program_id", check_id, self.program_id, "")
        for path in ("weights", "band_factors"):
            mapping = getattr(self, path)
            if not isinstance(mapping, dict):
                problems.add(path, "expected a table of names to whole numbers")
                fix(self, path, {})
                continue
            for key, weight in mapping.items():
                if isinstance(weight, bool) or not isinstance(weight, int) or weight < 0:
                    problems.add(f"{path}[{key!r}]", "expected a whole number, 0 or more")
            fix(self, path, dict(mapping))
        for path in ("default_weight", "idle_cap_days", "seed"):
            value = getattr(self, path)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                problems.add(path, "expected a whole number, 0 or more")
        for path in ("daily_cap", "monthly_cap", "open_cap"):
            problems.check(path, _positive_cap, getattr(self, path))
        fix(
            self, "accept_within", problems.check("accept_within", _read_period, self.accept_within)
        )
        if (
            isinstance(self.max_offers, bool)
            or not isinstance(self.max_offers, int)
            or self.max_offers < 1
        ):
            problems.add("max_offers", "expected a whole number, 1 or more")
        fix(self, "band_order", _slugs(self.band_order, problems, "band_order"))
        if self.health_model is not None:
            problems.check("health_model", check_text, self.health_model, required=True, limit=100)
        problems.raise_if_any()

    def weight_of(self, partner_id: str, tier_weight: int | None) -> int:
        """A partner's lead weight: the policy's override, else its tier's, else the default."""
        found = self.weights.get(partner_id)
        if found is not None:
            return found
        return self.default_weight if tier_weight is None else tier_weight


def policy_from_toml(text: str) -> RoutingPolicy:
    """Read and validate a routing policy written in TOML.

    The TOML mirrors the dict ``partnerkit.serialization.from_dict(RoutingPolicy,
    ...)`` reads; ``accept_within`` may be a whole number of hours. Floats are
    refused (write ``steps = ["1.5", "3"]``).

    Raises:
        ValidationError: For TOML syntax errors, floats, and every problem of the
            policy, each with its path.
    """
    from partnerkit.serialization import _load_toml, from_dict  # noqa: PLC0415 - io reads domain, not back
    from partnerkit.tiers._toml import _prepare  # noqa: PLC0415 - the same careful reading

    problems = Problems()
    prepared: dict[str, Any] = _prepare(_load_toml(text), "", problems)
    problems.raise_if_any()
    within = prepared.get("accept_within")
    if isinstance(within, int) and not isinstance(within, bool):
        prepared["accept_within"] = f"PT{within}H"
    steps = prepared.get("steps")
    if isinstance(steps, list):
        prepared["steps"] = [str(step) if isinstance(step, int) else step for step in steps]
    return from_dict(RoutingPolicy, prepared)
