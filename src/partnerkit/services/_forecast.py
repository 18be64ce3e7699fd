"""Forecasts and attribution of the registrations an actor may see."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from partnerkit._pages import every
from partnerkit.access import Action, Actor
from partnerkit.attribution import AttributionReport, AttributionRules, Touch, attribute, won_deal
from partnerkit.deals import DealRegistration, DealStatus
from partnerkit.forecast import DEFAULT_DRAWS, Forecast, forecast
from partnerkit.services._deals import _DealServices
from partnerkit.tiers import MembershipStatus

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from datetime import date, datetime

    from partnerkit._base.money import RateSource
    from partnerkit._base.time import Period
    from partnerkit.forecast import ForecastPolicy, Opportunity


class _ForecastServices(_DealServices):
    """Pipeline forecasts and attribution over stored registrations, scoped to the actor."""

    def forecast_pipeline(
        self,
        actor: Actor,
        *,
        partner_id: str | None = None,
        program_id: str | None = None,
        as_of: datetime | None = None,
        period: Period | None = None,
        periods: int = 1,
        start: date | None = None,
        opportunities: Iterable[Opportunity] = (),
        policy: ForecastPolicy | None = None,
        currency: str | None = None,
        rates: RateSource | None = None,
        draws: int = DEFAULT_DRAWS,
        seed: int = 0,
    ) -> Forecast:
        """Forecast the registrations the actor may see (``deal.view``).

        The forecast reads every registration in the actor's scope: the open ones
        are forecast and the closed ones are the history the win rates are learned
        from. A partner user's scope is its own partner, so its forecast learns
        from its own history only (its rates shrink toward the stage defaults, not
        toward other partners' results) and says nothing about other partners.
        Opportunities of partners outside the scope are left out.

        Args:
            actor: Who asks.
            partner_id: Forecast one partner only (another partner's id gives an
                empty forecast, as one that does not exist does).
            program_id: The program whose tiers group partners (default: each
                partner's first program with a tier).
            as_of: The instant to forecast from (default: now).
            period: The period length (default three months).
            periods: How many periods.
            start: The first period's first day (default ``as_of``'s date).
            opportunities: Host opportunities with stages.
            policy: How rates and timing are learned.
            currency: The forecast's currency.
            rates: Converts other currencies (the services' ``rates`` by default).
            draws: Monte Carlo draws.
            seed: The seed of the draws.

        Raises:
            PermissionDeniedError: If the actor may not view deals at all.
            ValidationError: For bad options (see `partnerkit.forecast.forecast`).
        """
        if not self.policy.scopes(actor, Action.DEAL_VIEW):
            self.policy.check(actor, Action.DEAL_VIEW)  # raises, naming what is missing
        when = as_of or self.clock.now()
        with self.storage.unit_of_work() as uow:
            sources = self._listed(uow, actor, Action.DEAL_VIEW, partner_id)
            registrations: list[DealRegistration] = []
            if sources != []:
                registrations = every(lambda cursor: uow.deals.query(
                    partner_ids=sources, limit=1000, cursor=cursor
                ))  # fmt: skip
            partners = sorted({registration.partner_id for registration in registrations})
            tiers: dict[str, str] = {}
            joined: dict[str, date] = {}
            for pid in partners:
                partner = uow.partners.get(pid)
                if partner.joined_on is not None:
                    joined[pid] = partner.joined_on
                for membership in uow.memberships.for_partner(pid):
                    if (
                        membership.tier_id is None
                        or membership.status is MembershipStatus.ENDED
                        or (program_id is not None and membership.program_id != program_id)
                    ):
                        continue
                    tiers.setdefault(pid, membership.tier_id)
        visible = None if sources is None else set(sources)
        chosen = [
            opportunity
            for opportunity in opportunities
            if visible is None or opportunity.partner_id in visible
        ]
        return forecast(
            registrations,
            as_of=when,
            opportunities=chosen,
            tiers=tiers,
            joined=joined,
            policy=policy,
            period=period,
            periods=periods,
            start=start,
            currency=currency,
            rates=rates or self.rates,
            draws=draws,
            seed=seed,
        )

    def attribute_won_deals(
        self,
        actor: Actor,
        *,
        rules: AttributionRules | None = None,
        partner_id: str | None = None,
        won_since: datetime | None = None,
        won_before: datetime | None = None,
        touches: Mapping[str, Sequence[Touch]] | None = None,
        created: Mapping[str, datetime] | None = None,
        programs: Mapping[str, str] | None = None,
        leads: Mapping[str, str] | None = None,
        currency: str | None = None,
        rates: RateSource | None = None,
    ) -> AttributionReport:
        """Attribute the won registrations the actor may see (``deal.view``).

        Each won registration is its partner's touch (`partnerkit.attribution.won_deal`);
        the host adds other partners' touches, the opportunity's creation, the
        program and the lead it came from, keyed by registration id. A partner user
        sees its own won registrations; where another partner shares the credit,
        that partner's part is shown without its id (``partner_id`` None, with its
        role) and the reasons say "another partner", so the numbers still add up
        and nothing names another partner.

        Raises:
            PermissionDeniedError: If the actor may not view deals at all.
            ValidationError: For deals in several currencies without ``currency``
                and ``rates``.
        """
        if not self.policy.scopes(actor, Action.DEAL_VIEW):
            self.policy.check(actor, Action.DEAL_VIEW)  # raises, naming what is missing
        with self.storage.unit_of_work() as uow:
            sources = self._listed(uow, actor, Action.DEAL_VIEW, partner_id)
            won: list[DealRegistration] = []
            if sources != []:
                won = every(lambda cursor: uow.deals.query(
                    partner_ids=sources,
                    status=DealStatus.WON,
                    limit=1000,
                    cursor=cursor,
                ))  # fmt: skip
        deals = []
        for registration in won:
            item = won_deal(
                registration,
                created_at=(created or {}).get(registration.id),
                touches=(touches or {}).get(registration.id, ()),
                program_id=(programs or {}).get(registration.id),
                lead_id=(leads or {}).get(registration.id),
            )
            if (won_since is None or item.won_at >= won_since) and (
                won_before is None or item.won_at < won_before
            ):
                deals.append(item)
        report = attribute(deals, rules, currency=currency, rates=rates or self.rates)
        if sources is None:
            return report
        others = {item.id: {t.partner_id for t in item.touches} - set(sources) for item in deals}
        return _redacted(report, set(sources), others)


def _redacted(
    report: AttributionReport, visible: set[str], others: Mapping[str, set[str]]
) -> AttributionReport:
    """``report`` with the partners outside ``visible`` left unnamed.

    ``others`` holds, per deal, the ids of the partners to hide; a reason starts
    with the id of the partner whose touch it is about.
    """
    deals = []
    for item in report.deals:
        hidden = others.get(item.deal_id, set())
        shown = tuple(
            credit
            if credit.partner_id is None or credit.partner_id in visible
            else attrs.evolve(credit, partner_id=None)
            for credit in item.credits
        )
        reasons = tuple(
            "another partner: " + reason.rsplit(": ", 1)[-1]
            if reason.split(" ", 1)[0] in hidden
            else reason
            for reason in item.reasons
        )
        deals.append(attrs.evolve(item, credits=shown, reasons=reasons))
    partners = tuple(p for p in report.partners if p.partner_id in visible)
    return attrs.evolve(report, deals=tuple(deals), partners=partners)
