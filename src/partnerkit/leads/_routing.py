"""Routing: which partner a lead is offered to, and the explanation of why.

How a `Router` decides, for one lead:

1. **Territory.** The partners the lead's place reaches: those serving its country
   (or its region, then its country), or, by distance, those inside widening boxes
   around the lead's coordinates, then its country, then the nearest partner. The
   first step that yields an eligible partner is used; partners it does not reach
   are counted as out of territory.
2. **Eligibility.** Within the step, a partner is left out, with its reason, for
   its status, a lead weight of 0, products or certifications (fixed for a
   partner and the lead's products, so computed once per territory and product
   set and shared by every lead that asks the same), then for having declined or
   let lapse this lead before, or being at a daily, monthly or open-lead cap.
3. **Ranking.** Among the candidates, in partner id order: a draw in proportion
   to the weights (``weighted_random``; ``health`` first keeps only the best band;
   ``combined`` mixes band and idle days into the weight), or the partner idle
   longest, or the next in turn.

The draw is ``seed % total_weight`` where ``seed`` is a 59-bit BLAKE2b hash of
the policy's seed, the lead id and the offer number: the same lead, inputs and
policy always draw the same partner, and `RoutingExplanation.replay` repeats the
pick from the stored explanation alone.

A router keeps each partner's load (leads offered today, this month, held now),
so routing a batch respects the caps as it goes.
"""

from __future__ import annotations

import bisect
import hashlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import accumulate, compress
from typing import TYPE_CHECKING, Final

import attrs

from partnerkit._base.countries import check_country
from partnerkit._base.ids import check_id
from partnerkit._base.time import to_utc
from partnerkit.errors import Problems, ValidationError
from partnerkit.leads._model import (
    Candidate,
    Exclusion,
    ExclusionReason,
    Lead,
    OfferOutcome,
    RoutingExplanation,
)
from partnerkit.leads._policy import ProductMatch, Ranking, RoutingPolicy, Territory

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

__all__ = ["Load", "PartnerProfile", "Router", "lead_seed", "weighted_pick"]

_R = ExclusionReason
_DAY: Final = timedelta(days=1)
#: Longitude boxes are three quarters the latitude step (±2° lat, ±1.5° long).
_LONGITUDE: Final = Decimal("0.75")
#: The ranking whose draw can use a pool's precomputed running weights.
_FAST: Final = Ranking.WEIGHTED_RANDOM
#: How many pools a router caches (territory step x product set) before it builds
#: the rest afresh each time.
_MAX_VIEWS: Final = 100_000


@attrs.frozen
class PartnerProfile:
    """What routing knows of one partner.

    Attributes:
        partner_id: The partner.
        status: Its lifecycle status (``"active"``...).
        country: Its home country (ISO 3166-1 alpha-2).
        countries: The countries it serves (default: its home country).
        regions: The regions it serves (compared ignoring case).
        products: What it sells.
        certifications: What it is certified for.
        latitude: Degrees north, for routing by distance.
        longitude: Degrees east.
        tier_weight: Its tier's lead weight (``None``: no tier).
        health_band: Its latest health band, if scored.
    """

    partner_id: str
    status: str
    country: str
    countries: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    products: frozenset[str] = frozenset()
    certifications: frozenset[str] = frozenset()
    latitude: Decimal | None = None
    longitude: Decimal | None = None
    tier_weight: int | None = None
    health_band: str | None = None

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        fix = object.__setattr__
        problems.check("partner_id", check_id, self.partner_id, "")
        country = problems.check("country", check_country, self.country)
        fix(self, "country", country)
        served = [
            problems.check(f"countries[{i}]", check_country, c)
            for i, c in enumerate(self.countries)
        ]
        fix(self, "countries", tuple(c for c in served if c) or ((country,) if country else ()))
        fix(self, "regions", tuple(str(region) for region in self.regions))
        fix(self, "products", frozenset(self.products))
        fix(self, "certifications", frozenset(self.certifications))
        if (self.latitude is None) != (self.longitude is None):
            problems.add("longitude", "give both latitude and longitude, or neither")
        for path in ("latitude", "longitude"):
            value = getattr(self, path)
            if value is not None and not isinstance(value, Decimal):
                fix(self, path, Decimal(str(value)))
        weight = self.tier_weight
        if weight is not None and (
            isinstance(weight, bool) or not isinstance(weight, int) or weight < 0
        ):
            problems.add("tier_weight", "expected a whole number, 0 or more, or None")
        problems.raise_if_any()


@attrs.define
class Load:
    """How many leads a partner has had and holds, for the caps and idle time.

    Attributes:
        today: Offers made to it on the routing instant's UTC day.
        month: Offers made to it in that calendar month.
        open: Leads it holds now (offered or accepted).
        last_offered_at: When it was last offered a lead.
    """

    today: int = 0
    month: int = 0
    open: int = 0
    last_offered_at: datetime | None = None


def lead_seed(policy_seed: int, lead_id: str, offer_number: int) -> int:
    """The seed of one draw: a 59-bit hash of the policy's seed, the lead and the offer.

    59 bits keep it below the 10**18 every stored number stays under, and make
    ``seed % total`` uniform to within ``total / 2**59`` for any total weight.
    """
    digest = hashlib.blake2b(
        f"{policy_seed}:{lead_id}:{offer_number}".encode(), digest_size=8
    ).digest()
    return int.from_bytes(digest, "big") >> 5


def weighted_pick(cumulative: list[int], seed: int) -> tuple[int, int]:
    """The index a draw picks from running totals of weights, and the draw itself.

    Args:
        cumulative: ``cumulative[i]`` is the sum of the first ``i + 1`` weights;
            the last is the total, more than 0.
        seed: The draw's seed (`lead_seed`).

    Returns:
        ``(index, draw)`` with ``draw = seed % total`` and ``index`` the first
        whose running total exceeds it: each index is picked in proportion to
        its weight.
    """
    draw = seed % cumulative[-1]
    return bisect.bisect_right(cumulative, draw), draw


@attrs.frozen
class _Pool:
    """The statically eligible partners of one territory step and product set."""

    step: str
    candidates: tuple[Candidate, ...]
    cumulative: list[int] = attrs.field(eq=False)
    excluded: tuple[Exclusion, ...]
    ids: frozenset[str]
    reached: int


#: A view's open candidates, their running weights, the capped ones, and every exclusion.
_Open = tuple[tuple[Candidate, ...], list[int], tuple[Exclusion, ...], tuple[Exclusion, ...]]


class _View:
    """A pool as the caps leave it: rebuilt only after a member's cap state changed."""

    __slots__ = ("blocked", "built", "pool")

    def __init__(self, pool: _Pool, capped: Mapping[str, ExclusionReason]) -> None:
        self.pool = pool
        # The pool's candidates at a cap now, and why.
        self.blocked: dict[str, ExclusionReason] = {
            c.partner_id: capped[c.partner_id] for c in pool.candidates if c.partner_id in capped
        }
        self.built: _Open | None = None

    def open(self) -> _Open:
        """The candidates not at a cap, their running weights, and the capped ones."""
        if self.built is None:
            blocked = self.blocked
            pool = self.pool
            kept = [c.partner_id not in blocked for c in pool.candidates]
            candidates = tuple(compress(pool.candidates, kept))
            # Candidates are in partner id order, so the capped ones are listed so too.
            dynamic = tuple(Exclusion(p, blocked[p]) for p in sorted(blocked))
            self.built = (
                candidates,
                list(accumulate(c.weight for c in candidates)),
                dynamic,
                (*pool.excluded, *dynamic),
            )
        return self.built


class Router:
    """Routes leads under one policy, over one population, at one instant.

    Args:
        policy: The routing policy.
        profiles: Every partner that might receive leads.
        as_of: The routing instant (offers are made then; caps count its UTC day
            and month).
        loads: Each partner's load at ``as_of`` (missing: none yet).

    Raises:
        ValidationError: For a naive ``as_of``, or two profiles of one partner.
    """

    def __init__(
        self,
        policy: RoutingPolicy,
        profiles: Iterable[PartnerProfile],
        *,
        as_of: datetime,
        loads: Mapping[str, Load] | None = None,
    ) -> None:
        if not isinstance(policy, RoutingPolicy):
            raise ValidationError.single("policy", "expected a RoutingPolicy")
        self.policy = policy
        self.as_of = to_utc(as_of, "as_of")
        self._profiles: dict[str, PartnerProfile] = {}
        for profile in profiles:
            if not isinstance(profile, PartnerProfile):
                raise ValidationError.single("profiles", "expected PartnerProfile objects")
            if profile.partner_id in self._profiles:
                raise ValidationError.single(
                    "profiles", f"partner {profile.partner_id!r} is listed twice"
                )
            self._profiles[profile.partner_id] = profile
        self.loads: dict[str, Load] = {
            key: attrs.evolve(value) for key, value in (loads or {}).items()
        }
        self._by_country: dict[str, list[PartnerProfile]] = {}
        self._by_region: dict[str, list[PartnerProfile]] = {}
        for profile in sorted(self._profiles.values(), key=lambda p: p.partner_id):
            for country in profile.countries:
                self._by_country.setdefault(country, []).append(profile)
            for region in profile.regions:
                self._by_region.setdefault(region.casefold(), []).append(profile)
        located = [p for p in self._profiles.values() if p.latitude is not None]
        located.sort(key=lambda p: (p.latitude, p.partner_id))
        self._located = located
        self._latitudes: list[Decimal] = [p.latitude for p in located if p.latitude is not None]
        self._weights = {
            partner_id: policy.weight_of(partner_id, profile.tier_weight)
            for partner_id, profile in self._profiles.items()
        }
        self._fixed_reasons: dict[str, Exclusion | None] = {}
        for partner_id, profile in self._profiles.items():
            reason = self._fixed(profile)
            self._fixed_reasons[partner_id] = (
                None if reason is None else Exclusion(partner_id, reason)
            )
        self._candidates = {
            partner_id: Candidate(partner_id, weight)
            for partner_id, weight in self._weights.items()
        }
        self._product_exclusions = {
            partner_id: Exclusion(partner_id, _R.PRODUCTS) for partner_id in self._profiles
        }
        self._views: dict[tuple[str, frozenset[str]], _View] = {}
        # Each partner's cached views, so a change of its caps touches only those.
        self._views_of: dict[str, list[_View]] = {}
        self._capped: dict[str, ExclusionReason] = {}
        # The order of this router's own offers, which share one instant.
        self._turns: dict[str, int] = {}
        self._turn = 0
        for partner_id, load in self.loads.items():
            self._recheck(partner_id, load)

    @property
    def profiles(self) -> Mapping[str, PartnerProfile]:
        """The population, by partner id."""
        return self._profiles

    # -- eligibility ------------------------------------------------------------

    def _fixed(self, profile: PartnerProfile) -> ExclusionReason | None:
        """Why the partner gets no lead at all (status, weight, certifications), or None."""
        policy = self.policy
        if profile.status not in policy.statuses:
            return _R.STATUS
        if self._weights[profile.partner_id] <= 0:
            return _R.NO_WEIGHT
        if policy.certifications and not profile.certifications.issuperset(policy.certifications):
            return _R.CERTIFICATIONS
        return None

    def _static(self, profile: PartnerProfile, products: frozenset[str]) -> ExclusionReason | None:
        """Why the partner may not take a lead for ``products`` whatever its load, or None."""
        reason = self._fixed(profile)
        if reason is not None:
            return reason
        return self._product_reason(profile, products)

    def _product_reason(
        self, profile: PartnerProfile, products: frozenset[str]
    ) -> ExclusionReason | None:
        match = self.policy.products
        if not products or match is ProductMatch.IGNORE:
            return None
        if match is ProductMatch.ALL:
            return None if products <= profile.products else _R.PRODUCTS
        return _R.PRODUCTS if products.isdisjoint(profile.products) else None

    def _build(
        self, step: str, members: Iterable[PartnerProfile], products: frozenset[str]
    ) -> _Pool:
        candidates: list[Candidate] = []
        excluded: list[Exclusion] = []
        reached = 0
        # Built once per partner and shared by every pool and explanation.
        fixed, own, out = self._fixed_reasons, self._candidates, self._product_exclusions
        match = self.policy.products
        checked = bool(products) and match is not ProductMatch.IGNORE
        every = match is ProductMatch.ALL
        for profile in members:
            reached += 1
            partner_id = profile.partner_id
            early = fixed[partner_id]
            if early is not None:
                excluded.append(early)
            elif checked and (
                not products.issubset(profile.products)
                if every
                else products.isdisjoint(profile.products)
            ):
                excluded.append(out[partner_id])
            else:
                candidates.append(own[partner_id])
        return _Pool(
            step,
            tuple(candidates),
            list(accumulate(c.weight for c in candidates)),
            tuple(excluded),
            frozenset(c.partner_id for c in candidates),
            reached,
        )

    def _view(
        self,
        step: str,
        members: Iterable[PartnerProfile],
        products: frozenset[str],
        *,
        key: str | None = None,
    ) -> _View:
        """The view of the pool ``members`` make for ``products``, cached under ``key``.

        ``key`` defaults to ``step``; a step whose members depend on more than
        its name (a box around one lead) passes its own.
        """
        cache = (key or step, products)
        found = self._views.get(cache)
        if found is None:
            found = _View(self._build(step, members, products), self._capped)
            if len(self._views) < _MAX_VIEWS:
                self._views[cache] = found
                for candidate in found.pool.candidates:
                    self._views_of.setdefault(candidate.partner_id, []).append(found)
        return found

    def _steps(self, lead: Lead, products: frozenset[str]) -> Iterable[_View]:
        customer = lead.customer
        policy = self.policy
        if policy.territory is Territory.COUNTRY:  # the common case, without a generator
            members = self._by_country.get(customer.country, ())
            return (self._view(f"country {customer.country}", members, products),)
        return self._widening(lead, products)

    def _widening(self, lead: Lead, products: frozenset[str]) -> Iterator[_View]:
        customer = lead.customer
        policy = self.policy
        if policy.territory is Territory.REGION and customer.region:
            region = customer.region.casefold()
            members = self._by_region.get(region, ())
            yield self._view(f"region {customer.region}", members, products, key=f"region {region}")
        if policy.territory is Territory.DISTANCE and customer.latitude is not None:
            latitude, longitude = customer.latitude, customer.longitude
            assert longitude is not None  # noqa: S101 - LeadCustomer checks both or neither
            for step in policy.steps:
                low = bisect.bisect_left(self._latitudes, latitude - step)
                high = bisect.bisect_right(self._latitudes, latitude + step)
                wide = step * _LONGITUDE
                box = sorted(
                    (
                        p
                        for p in self._located[low:high]
                        if abs(p.longitude - longitude) <= wide  # type: ignore[operator]
                    ),
                    key=lambda p: p.partner_id,
                )
                key = f"within {step} degrees of {latitude},{longitude}"
                yield self._view(f"within {step} degrees", box, products, key=key)
        country = f"country {customer.country}"
        yield self._view(country, self._by_country.get(customer.country, ()), products)
        if policy.territory is Territory.DISTANCE and customer.latitude is not None:
            yield self._nearest(lead, products)

    def _nearest(self, lead: Lead, products: frozenset[str]) -> _View:
        latitude, longitude = lead.customer.latitude, lead.customer.longitude
        best: tuple[Decimal, str] | None = None
        for profile in self._located:
            if self._static(profile, products) is not None or profile.partner_id in self._capped:
                continue
            distance = (profile.latitude - latitude) ** 2 + (  # type: ignore[operator]
                profile.longitude - longitude  # type: ignore[operator]
            ) ** 2
            if best is None or (distance, profile.partner_id) < best:
                best = (distance, profile.partner_id)
        members = [] if best is None else [self._profiles[best[1]]]
        # Not cached: who is nearest depends on the lead and on the caps.
        return _View(self._build("nearest", members, products), self._capped)

    # -- routing ----------------------------------------------------------------

    def route(self, lead: Lead) -> RoutingExplanation:
        """Pick the partner ``lead`` is offered to next, and explain the pick.

        The router counts the offer against the chosen partner's load at once, so
        the next lead of a batch sees the caps as they now stand. It does not
        check how many offers the lead had (see `partnerkit.leads.route_lead`).

        Returns:
            The explanation; its ``chosen`` is ``None`` when no partner is eligible.
        """
        products = frozenset(lead.products)
        previous: dict[str, ExclusionReason] = {}
        for offer in lead.offers:
            previous[offer.partner_id] = (
                _R.DECLINED_BEFORE if offer.outcome is OfferOutcome.DECLINED else _R.OFFERED_BEFORE
            )
        number = len(lead.offers) + 1
        seed = lead_seed(self.policy.seed, lead.id, number)
        ranking = self.policy.ranking
        last: tuple[_Pool, tuple[Exclusion, ...]] | None = None
        for view in self._steps(lead, products):
            pool = view.pool
            if pool.candidates and not view.blocked and not previous and ranking is _FAST:
                index, draw = weighted_pick(pool.cumulative, seed)
                chosen = pool.candidates[index].partner_id
                return self._chosen(lead, pool, pool.candidates, pool.excluded, seed, draw, chosen)
            candidates, cumulative, dynamic, excluded = view.open()
            if previous and not previous.keys().isdisjoint(pool.ids):
                again = [c for c in candidates if c.partner_id in previous]
                dynamic = (
                    *dynamic,
                    *(Exclusion(c.partner_id, previous[c.partner_id]) for c in again),
                )
                excluded = (*pool.excluded, *dynamic)
                candidates = tuple(c for c in candidates if c.partner_id not in previous)
                cumulative = list(accumulate(c.weight for c in candidates))
            if candidates:
                if ranking is _FAST:
                    index, draw = weighted_pick(cumulative, seed)
                    chosen = candidates[index].partner_id
                    return self._chosen(
                        lead, pool, candidates, excluded, seed, draw, chosen, cumulative[-1]
                    )
                return self._rank(lead, pool, list(candidates), excluded, seed)
            last = (pool, dynamic)
        assert last is not None  # noqa: S101 - the country step is always tried
        pool, dynamic = last
        return RoutingExplanation(
            lead.id,
            self.policy.name,
            ranking.value,
            seed,
            pool.step,
            excluded=(*pool.excluded, *dynamic),
            out_of_territory=len(self._profiles) - pool.reached,
        )

    def _rank(
        self,
        lead: Lead,
        pool: _Pool,
        candidates: list[Candidate],
        excluded: tuple[Exclusion, ...],
        seed: int,
    ) -> RoutingExplanation:
        ranking = self.policy.ranking
        if ranking is Ranking.LONGEST_IDLE:
            never = datetime.min.replace(tzinfo=UTC)

            def idle(candidate: Candidate) -> tuple[datetime, int, str]:
                load = self.loads.get(candidate.partner_id)
                moment = load.last_offered_at if load and load.last_offered_at else never
                return moment, self._turns.get(candidate.partner_id, 0), candidate.partner_id

            listed = [Candidate(c.partner_id, 1) for c in candidates]
            chosen = min(candidates, key=idle).partner_id
            return self._chosen(lead, pool, tuple(listed), excluded, seed, None, chosen)
        if ranking is Ranking.ROUND_ROBIN:
            offered = [
                (load.last_offered_at, self._turns.get(c.partner_id, 0), c.partner_id)
                for c in candidates
                if (load := self.loads.get(c.partner_id)) and load.last_offered_at
            ]
            ids = [c.partner_id for c in candidates]
            if offered:
                latest = max(offered)[2]
                chosen = ids[bisect.bisect_right(ids, latest) % len(ids)]
            else:
                chosen = ids[0]
            listed = [Candidate(c.partner_id, 1) for c in candidates]
            return self._chosen(lead, pool, tuple(listed), excluded, seed, None, chosen)
        if ranking is Ranking.HEALTH:
            candidates = self._by_band(candidates)
        elif ranking is Ranking.COMBINED:
            candidates = self._combined(candidates)
        cumulative = list(accumulate(c.weight for c in candidates))
        index, draw = weighted_pick(cumulative, seed)
        chosen = candidates[index].partner_id
        total = cumulative[-1]
        return self._chosen(lead, pool, tuple(candidates), excluded, seed, draw, chosen, total)

    def _band_rank(self, partner_id: str) -> int:
        band = self._profiles[partner_id].health_band
        order = self.policy.band_order
        return order.index(band) if band in order else len(order)

    def _by_band(self, candidates: list[Candidate]) -> list[Candidate]:
        best = min(self._band_rank(c.partner_id) for c in candidates)
        shown = []
        for candidate in candidates:
            band = self._profiles[candidate.partner_id].health_band or "unscored"
            if self._band_rank(candidate.partner_id) == best:
                shown.append(attrs.evolve(candidate, detail=f"band {band}"))
            else:
                shown.append(Candidate(candidate.partner_id, 0, f"band {band}: not the best band"))
        return shown

    def _combined(self, candidates: list[Candidate]) -> list[Candidate]:
        policy = self.policy
        shown = []
        for candidate in candidates:
            band = self._profiles[candidate.partner_id].health_band
            factor = policy.band_factors.get(band or "", 1)
            load = self.loads.get(candidate.partner_id)
            if load is None or load.last_offered_at is None:
                days = policy.idle_cap_days
            else:
                days = min(policy.idle_cap_days, (self.as_of - load.last_offered_at) // _DAY)
            weight = candidate.weight * factor + days
            detail = (
                f"lead weight {candidate.weight} x band {band or 'unscored'} {factor}"
                f" + idle {days} days"
            )
            shown.append(Candidate(candidate.partner_id, weight, detail))
        return shown

    def _chosen(  # noqa: PLR0917 - one private call shape, named at every call
        self,
        lead: Lead,
        pool: _Pool,
        candidates: tuple[Candidate, ...],
        excluded: tuple[Exclusion, ...],
        seed: int,
        draw: int | None,
        chosen: str,
        total: int | None = None,
    ) -> RoutingExplanation:
        if total is None:
            total = (
                pool.cumulative[-1]
                if candidates is pool.candidates
                else sum(c.weight for c in candidates)
            )
        self._count(chosen)
        return RoutingExplanation(
            lead.id,
            self.policy.name,
            self.policy.ranking.value,
            seed,
            pool.step,
            candidates,
            excluded,
            len(self._profiles) - pool.reached,
            draw,
            total,
            chosen,
        )

    # -- loads ------------------------------------------------------------------

    def _count(self, partner_id: str) -> None:
        load = self.loads.get(partner_id)
        if load is None:
            load = self.loads[partner_id] = Load()
        load.today += 1
        load.month += 1
        load.open += 1
        load.last_offered_at = self.as_of
        self._turn += 1
        self._turns[partner_id] = self._turn
        self._recheck(partner_id, load)

    def release(self, partner_id: str) -> None:
        """Count one lead fewer held by ``partner_id`` (declined, lapsed, closed)."""
        load = self.loads.get(partner_id)
        if load is not None and load.open > 0:
            load.open -= 1
            self._recheck(partner_id, load)

    def _recheck(self, partner_id: str, load: Load) -> None:
        policy = self.policy
        reason: ExclusionReason | None = None
        if policy.daily_cap is not None and load.today >= policy.daily_cap:
            reason = _R.DAILY_CAP
        elif policy.monthly_cap is not None and load.month >= policy.monthly_cap:
            reason = _R.MONTHLY_CAP
        elif policy.open_cap is not None and load.open >= policy.open_cap:
            reason = _R.OPEN_CAP
        if self._capped.get(partner_id) is reason:
            return
        if reason is None:
            del self._capped[partner_id]
        else:
            self._capped[partner_id] = reason
        for view in self._views_of.get(partner_id, ()):
            if reason is None:
                view.blocked.pop(partner_id, None)
            else:
                view.blocked[partner_id] = reason
            view.built = None
