"""Metric snapshots of a population, read from the ledger once and shared by runs.

A tier review and a scoring run each need every partner's snapshot, and each
snapshot needs the partner's activities. Reading and decoding the ledger is most
of their cost, so the services read it in batches (one query per 500 partners,
through `ActivityLedger.for_partners`), compute the snapshots of each batch, and
drop its activities before the next: memory stays bounded by the batch, whatever
the population. `Services.compute_snapshots` does that once for several metric
definitions and instants, and its `LedgerSnapshots` can be handed to
`run_tier_review` and `score_partners`, which then read no activities themselves.
"""

from __future__ import annotations

from bisect import bisect_right
from operator import attrgetter
from typing import TYPE_CHECKING, Final

from partnerkit._base.time import to_utc
from partnerkit._pages import every
from partnerkit.access import Action, Actor
from partnerkit.errors import ValidationError
from partnerkit.metrics import MetricDefinition
from partnerkit.partners import PartnerStatus
from partnerkit.services._core import _ServicesCore

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence
    from datetime import datetime

    from partnerkit._base.money import RateSource
    from partnerkit.metrics import MetricSnapshot
    from partnerkit.services._intents import Skipped
    from partnerkit.storage import UnitOfWork

__all__ = ["LedgerSnapshots"]

#: Partners whose activities are read, and held, at once.
BATCH: Final = 500
_OCCURRED_AT: Final = attrgetter("occurred_at")


class LedgerSnapshots:
    """Every partner's metric snapshots at some instants, computed from the ledger once.

    Made by `Services.compute_snapshots`; pass it as ``snapshots=`` to
    `Services.run_tier_review` and `Services.score_partners` at one of its
    instants, and they use these snapshots instead of reading the ledger again.

    Attributes:
        definitions: The metrics each snapshot holds.
        instants: The instants they were computed at, in UTC, oldest first.
    """

    __slots__ = ("_skipped", "_values", "definitions", "instants")

    def __init__(
        self,
        definitions: tuple[MetricDefinition, ...],
        values: Mapping[datetime, dict[str, MetricSnapshot]],
        skipped: Mapping[datetime, list[Skipped]],
    ) -> None:
        self.definitions = definitions
        self.instants = tuple(sorted(values))
        self._values = values
        self._skipped = skipped

    def __repr__(self) -> str:
        shown = ", ".join(instant.isoformat() for instant in self.instants)
        return f"LedgerSnapshots({len(self.definitions)} metrics at {shown})"

    def at(self, instant: datetime) -> Mapping[str, MetricSnapshot]:
        """The snapshots at ``instant``, by partner id.

        Raises:
            ValidationError: If they were not computed at ``instant``.
        """
        return self._values[self._instant(instant)]

    def skipped(self, instant: datetime) -> tuple[Skipped, ...]:
        """The partners left out at ``instant`` (money that could not be converted)."""
        return tuple(self._skipped[self._instant(instant)])

    def _instant(self, instant: datetime) -> datetime:
        moment = to_utc(instant, "as_of")
        if moment not in self._values:
            shown = ", ".join(known.isoformat() for known in self.instants)
            raise ValidationError.single(
                "snapshots",
                f"these snapshots were computed at {shown}, not at {moment.isoformat()}; "
                f"compute them at that instant too",
            )
        return moment

    def _serve(
        self, definitions: Sequence[MetricDefinition], instant: datetime
    ) -> tuple[Mapping[str, MetricSnapshot], tuple[Skipped, ...]]:
        """The snapshots a run with ``definitions`` at ``instant`` may use."""
        missing = [d.name for d in definitions if d not in self.definitions]
        if missing:
            raise ValidationError.single(
                "snapshots",
                f"these snapshots were computed without the run's metrics "
                f"{', '.join(missing)}; compute them with the run's definitions",
            )
        return self.at(instant), self.skipped(instant)


class _SnapshotServices(_ServicesCore):
    """Snapshots of a population for reviews and scoring, read from the ledger once."""

    def compute_snapshots(
        self,
        actor: Actor,
        definitions: Sequence[MetricDefinition],
        *,
        at: Sequence[datetime],
        partner_ids: Iterable[str] | None = None,
        rates: RateSource | None = None,
        on_progress: Callable[[int, int], object] | None = None,
    ) -> LedgerSnapshots:
        """Compute metric snapshots at several instants, reading each activity once.

        The activities of 500 partners at a time are read in one query, turned
        into their snapshots at every instant, and let go: memory holds the
        snapshots, never the whole ledger. Give the result to `run_tier_review`
        and `score_partners` (``snapshots=``) at one of ``at``.

        Args:
            actor: Who computes them (``health.score`` or ``tier.review``).
            definitions: The metrics: for a review and a scoring run together,
                the program's metrics and the scoring definitions (a metric
                named twice must be defined the same way).
            at: The instants (a review's and a scoring run's ``as_of``).
            partner_ids: Whose snapshots (default: every active partner).
            rates: Converts money into a definition's ``currency`` (the
                services' ``rates`` by default).
            on_progress: Called with ``(done, total)`` partners after each batch.

        Raises:
            PermissionDeniedError: If the actor may neither score nor review.
            ValidationError: For no instant, a naive one, or one metric name
                with two definitions.
        """
        if not self.policy.allows(actor, Action.TIER_REVIEW):
            self.policy.check(actor, Action.HEALTH_SCORE)
        instants = sorted({to_utc(instant, "at") for instant in at})
        if not instants:
            raise ValidationError.single("at", "give at least one instant")
        wanted = _distinct(definitions)
        with self.storage.unit_of_work() as uow:
            ids = _active_partners(uow) if partner_ids is None else list(dict.fromkeys(partner_ids))
            values, skipped = self._read_snapshots(
                uow, ids, wanted, instants, rates=rates or self.rates, on_progress=on_progress
            )
        return LedgerSnapshots(wanted, values, skipped)

    def _read_snapshots(
        self,
        uow: UnitOfWork,
        partner_ids: Sequence[str],
        definitions: Sequence[MetricDefinition],
        instants: Sequence[datetime],
        *,
        rates: RateSource | None,
        on_progress: Callable[[int, int], object] | None = None,
    ) -> tuple[dict[datetime, dict[str, MetricSnapshot]], dict[datetime, list[Skipped]]]:
        """The snapshots of ``partner_ids`` at each instant, 500 partners' activities at a time."""
        values: dict[datetime, dict[str, MetricSnapshot]] = {when: {} for when in instants}
        skipped: dict[datetime, list[Skipped]] = {when: [] for when in instants}
        last = instants[-1]
        for start in range(0, len(partner_ids), BATCH):
            chunk = partner_ids[start : start + BATCH]
            activities = uow.activities.for_partners(chunk, until=last)
            for when in instants:
                if when == last:
                    upto = activities
                else:  # each list is in time order: cut it at the instant
                    upto = {
                        pid: items[: bisect_right(items, when, key=_OCCURRED_AT)]
                        for pid, items in activities.items()
                    }
                found, left_out = self._snapshots(definitions, upto, when, rates)
                values[when].update(found)
                skipped[when] += left_out
            if on_progress is not None:
                on_progress(min(start + BATCH, len(partner_ids)), len(partner_ids))
        return values, skipped

    def _run_snapshots(
        self,
        uow: UnitOfWork,
        partner_ids: Sequence[str],
        definitions: Sequence[MetricDefinition],
        when: datetime,
        *,
        rates: RateSource | None,
        given: LedgerSnapshots | None,
    ) -> tuple[dict[str, MetricSnapshot], tuple[Skipped, ...]]:
        """A run's snapshots: those ``given`` has, the others read from the ledger."""
        if given is None:
            values, skipped = self._read_snapshots(
                uow, partner_ids, definitions, [when], rates=rates
            )
            return values[when], tuple(skipped[when])
        if not isinstance(given, LedgerSnapshots):
            raise ValidationError.single(
                "snapshots", "expected LedgerSnapshots made by Services.compute_snapshots"
            )
        known, left_out = given._serve(definitions, when)
        out = {item.partner_id for item in left_out}
        found = {pid: known[pid] for pid in partner_ids if pid in known}
        unknown = [pid for pid in partner_ids if pid not in known and pid not in out]
        more: tuple[Skipped, ...] = ()
        if unknown:
            values, skipped = self._read_snapshots(uow, unknown, definitions, [when], rates=rates)
            found.update(values[when])
            more = tuple(skipped[when])
        return found, tuple(s for s in left_out if s.partner_id in set(partner_ids)) + more


def _active_partners(uow: UnitOfWork) -> list[str]:
    """The ids of every active partner, in id order."""
    found = every(lambda cursor: uow.partners.query(
        status=PartnerStatus.ACTIVE, limit=1000, cursor=cursor
    ))  # fmt: skip
    return [partner.id for partner in found]


def _distinct(definitions: Iterable[MetricDefinition]) -> tuple[MetricDefinition, ...]:
    """``definitions`` once each, refusing a name defined two ways."""
    found: dict[str, MetricDefinition] = {}
    for index, definition in enumerate(definitions):
        if not isinstance(definition, MetricDefinition):
            raise ValidationError.single(
                f"definitions[{index}]", f"expected a MetricDefinition, got {definition!r}"
            )
        known = found.setdefault(definition.name, definition)
        if known != definition:
            raise ValidationError.single(
                f"definitions[{index}]",
                f"metric {definition.name!r} is defined twice, differently; "
                f"give one definition per name",
            )
    return tuple(found.values())
