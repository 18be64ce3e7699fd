"""The contract of `partnerkit.storage.ScoreRepository`: health-score history."""

# ruff: noqa: S101 - a test suite states its promises with assert

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

import attrs
import pytest
from hypothesis import given

from partnerkit._base.money import Money
from partnerkit.errors import ConflictError, StaleVersionError, ValidationError
from partnerkit.health import HealthScore, Override, ScoringModel, model_from_dict, score
from partnerkit.metrics import MetricSnapshot, MetricValue
from partnerkit.storage._protocols import ScoreRepository
from partnerkit.testing import strategies as pks
from partnerkit.testing.conformance import _paging as paging
from partnerkit.testing.conformance._compare import assert_same
from partnerkit.testing.conformance._harness import PROPERTIES, fresh, roll_back_three_ways
from partnerkit.testing.conformance._records import (
    KIRIBATI,
    MARQUESAS,
    NEPAL,
    ONE_MINUTE_WEST,
    assert_nothing_written,
    at,
    partner,
    write_everything,
)
from partnerkit.testing.conformance._store import commit, committed, save

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from partnerkit.storage._protocols import Page, Storage, UnitOfWork

__all__ = ["ScoreRepositoryContract"]

#: One measure read straight onto 0..100 (``deals`` 55 scores 55.0), with the
#: default bands: critical [0, 40), at_risk [40, 70), healthy [70, 100].
_PLAIN_MODEL: Final = model_from_dict(
    {
        "name": "Conformance",
        "version": 1,
        "measures": [
            {
                "name": "deals",
                "metric": "deals",
                "weight": 1,
                "normalizer": {"kind": "linear", "low": 0, "high": 100},
            }
        ],
    }
)
#: Every part a score can have: money, steps, recency, a neutral missing measure,
#: a gate that caps the band.
_RICH_MODEL: Final = model_from_dict(
    {
        "name": "Conformance rich",
        "version": 7,
        "currency": "USD",
        "measures": [
            {
                "name": "revenue",
                "metric": "revenue",
                "weight": 3,
                "normalizer": {"kind": "log", "low": 1000, "high": 1000000},
            },
            {
                "name": "attainment",
                "metric": "revenue",
                "weight": 2,
                "label": "Revenue attainment",
                "normalizer": {"kind": "target", "target": 250000},
            },
            {
                "name": "deals",
                "metric": "deals",
                "weight": 2,
                "normalizer": {
                    "kind": "steps",
                    "steps": [{"at": 1, "points": 40}, {"at": "3.5", "points": 70}],
                },
            },
            {
                "name": "logins",
                "metric": "days_since_login",
                "weight": "1.5",
                "normalizer": {"kind": "recency", "half_life_days": 30},
            },
            {
                "name": "nps",
                "metric": "nps",
                "weight": 1,
                "missing": "neutral",
                "normalizer": {"kind": "linear", "low": -100, "high": 100},
            },
        ],
        "gates": [
            {
                "name": "no_login",
                "metric": "days_since_login",
                "op": ">",
                "threshold": 90,
                "cap": "at_risk",
                "label": "No portal login in 90 days",
            }
        ],
    }
)
_PLAIN: Final = "Conformance"
_TICK: Final = timedelta(microseconds=1)


def _score(
    partner_id: str,
    when: datetime,
    deals: int | None = 55,
    *,
    model: ScoringModel = _PLAIN_MODEL,
    previous: HealthScore | None = None,
    override: Override | None = None,
) -> HealthScore:
    """``partner_id``'s score at ``when``: with the plain model, ``deals`` is the value."""
    values = {} if deals is None else {"deals": deals}
    snapshot = MetricSnapshot(partner_id, when, values)  # type: ignore[arg-type]
    return score(model, snapshot, as_of=when, previous=previous, override=override)


def _override(when: datetime, **shown: Any) -> Override:
    return Override(
        "usr_maria",
        "renewal signed",
        created_at=when,
        expires_at=when + timedelta(days=30),
        **shown,
    )


def _full_score(partner_id: str) -> HealthScore:
    """A score with every part set: trend and velocity, override, gate, missing data."""

    def rich(days: int, revenue: Money, deals: Decimal | int, login_days: int) -> MetricSnapshot:
        values: dict[str, MetricValue] = {
            "revenue": revenue,
            "deals": deals,
            "days_since_login": login_days,
        }
        return MetricSnapshot(partner_id, at(24 * days), values)

    first = rich(-60, Money("98765.432", "USD"), 2, 12)
    second = rich(-30, Money("120000.10", "USD"), Decimal("3.50"), 40)
    earliest = score(_RICH_MODEL, first, as_of=first.as_of)
    earlier = score(_RICH_MODEL, second, as_of=second.as_of, previous=earliest)
    now = rich(0, Money("923456.789", "USD"), Decimal("4.250"), 120)
    override = Override(
        "usr_maria",
        "new executive sponsor; renewal signed ✓",
        created_at=datetime(2026, 1, 10, 8, 0, 0, 123456, tzinfo=NEPAL),
        expires_at=datetime(2026, 2, 28, 23, 59, tzinfo=MARQUESAS),
        value=Decimal("72.5"),
    )
    return score(
        _RICH_MODEL, now, as_of=now.as_of, previous=earlier, override=override, history=[earliest]
    )


def _latest(storage: Storage, partner_id: str, **options: Any) -> HealthScore | None:
    """The committed latest score of ``partner_id`` (by the plain model, unless told)."""
    return committed(storage).scores.latest(partner_id, **{"model": _PLAIN, **options})


def _history(storage: Storage, partner_id: str, model: str = _PLAIN) -> list[HealthScore]:
    """The committed history of ``partner_id`` by ``model``."""
    return committed(storage).scores.history(partner_id, model=model)


def _listed(storage: Storage, *, limit: int = 1000, **filters: Any) -> list[HealthScore]:
    """Every score ``query`` lists (by the plain model, unless told), page by page."""
    return paging.walk(committed(storage).scores.query, limit=limit, **{"model": _PLAIN, **filters})


def _shown(scores: Iterable[HealthScore]) -> list[tuple[str, datetime, str | None]]:
    """Whose score, from when, showing which band: what score tests compare."""
    return [(item.partner_id, item.as_of, item.band) for item in scores]


def _assert_no_scores(storage: Storage, *partner_ids: str) -> None:
    for partner_id in partner_ids:
        kept = _latest(storage, partner_id)
        assert kept is None, f"a score of {partner_id} survived the rollback or failed commit"
    assert _listed(storage) == [], "scores listed by query()"


class ScoreRepositoryContract:
    """The promises of `partnerkit.storage.ScoreRepository`: health-score history.

    Scores round-trip whole (override included), are keyed by partner, model and
    instant, are never overwritten, and are listed latest-per-partner or per run.
    """

    def test_scores_implements_the_protocol(self, storage: Storage) -> None:
        """``uow.scores`` has every method of `ScoreRepository`."""
        with storage.unit_of_work() as uow:
            assert isinstance(uow.scores, ScoreRepository), "uow.scores lacks methods"

    def test_every_score_field_round_trips_through_add_latest_history_and_query(
        self, storage: Storage
    ) -> None:
        """Trend, override, gates, contributions and missing data come back exactly."""
        full = _full_score("ptn_full")
        empty = _score("ptn_empty", full.as_of, deals=None)
        model = full.model
        with storage.unit_of_work() as uow:
            uow.scores.add(full)
            assert_same(uow.scores.latest("ptn_full", model=model), full, "score (staged)")
            uow.commit()
        commit(storage, empty)
        assert_same(_latest(storage, "ptn_full", model=model), full, "score")
        assert_same(_history(storage, "ptn_full", model), [full], "history")
        assert_same(_listed(storage, limit=10, model=model), [full], "query")
        assert_same(_latest(storage, "ptn_empty"), empty, "insufficient data score")

    @PROPERTIES
    @given(drawn=pks.health_scores())
    def test_any_score_round_trips_through_add_latest_and_history(
        self, storage: Storage, drawn: HealthScore
    ) -> None:
        """Any score a model can give comes back unchanged, override and all."""
        item = attrs.evolve(drawn, partner_id=fresh(drawn.partner_id))
        commit(storage, item)
        assert_same(_latest(storage, item.partner_id, model=item.model), item, "score")
        assert_same(_history(storage, item.partner_id, item.model), [item], "history")

    def test_adding_an_identical_score_again_changes_nothing(self, storage: Storage) -> None:
        """The same score twice, in one unit of work or a retried one, is stored once."""
        first, second = _score("ptn_1", at(0)), _score("ptn_1", at(1), 80)
        commit(storage, first, first)
        same_instant = attrs.evolve(first, as_of=first.as_of.astimezone(KIRIBATI))
        commit(storage, first, same_instant, second, second)  # the scoring job ran again
        assert_same(_history(storage, "ptn_1"), [first, second], "history")

    def test_a_different_score_under_a_stored_key_raises_conflict_and_keeps_the_stored_one(
        self, storage: Storage
    ) -> None:
        """Scores are never overwritten: another score, or a dropped override, is refused."""
        overridden = _score("ptn_1", at(0), 30, override=_override(at(-1), band="at_risk"))
        commit(storage, overridden)
        for clash in (
            _score("ptn_1", at(0), 31),
            attrs.evolve(overridden, override=None),
            attrs.evolve(overridden, trend=None, value=Decimal("30.1")),
        ):
            with storage.unit_of_work() as uow, pytest.raises(ConflictError):
                save(uow, clash)
        assert_same(_history(storage, "ptn_1"), [overridden], "history")

    def test_a_different_score_under_a_key_staged_in_the_same_unit_raises_conflict(
        self, storage: Storage
    ) -> None:
        """Two different scores under one key in one unit of work: `ConflictError`."""
        kept = _score("ptn_1", at(0), 40)
        with storage.unit_of_work() as uow:
            uow.scores.add(kept)
            with pytest.raises(ConflictError):
                save(uow, _score("ptn_1", at(0), 41))
            save(uow, kept)  # again: a commit that failed discarded it
        assert_same(_history(storage, "ptn_1"), [kept], "history")

    def test_scores_of_other_partners_models_or_instants_never_clash(
        self, storage: Storage
    ) -> None:
        """The key is partner, model name and instant: change any one and both are kept."""
        other_model = _score("ptn_1", at(0), 60, model=_RICH_MODEL)
        commit(
            storage,
            _score("ptn_1", at(0), 40),
            _score("ptn_2", at(0), 41),
            _score("ptn_1", at(0) + _TICK, 42),
        )
        commit(storage, other_model)
        values = [item.computed_value for item in _history(storage, "ptn_1")]
        assert values == [Decimal("40.0"), Decimal("42.0")], "ptn_1's values"
        assert_same(_latest(storage, "ptn_2"), _score("ptn_2", at(0), 41), "ptn_2's score")
        assert_same(_latest(storage, "ptn_1", model=other_model.model), other_model, "model 2")

    def test_add_refuses_what_is_not_a_score(self, storage: Storage) -> None:
        """``add`` of anything but a `HealthScore` raises `ValidationError`."""
        with storage.unit_of_work() as uow:
            for bad in (None, partner("ptn_1"), attrs.asdict(_score("ptn_1", at(0)))):
                with pytest.raises(ValidationError):
                    uow.scores.add(bad)  # type: ignore[arg-type]
            uow.commit()
        _assert_no_scores(storage, "ptn_1")

    def test_latest_is_the_most_recent_score_at_or_before(self, storage: Storage) -> None:
        """``before`` is inclusive, compared as an instant; staged scores count."""
        scores = [_score("ptn_1", at(hours), value) for hours, value in [(0, 20), (5, 50)]]
        staged = _score("ptn_1", at(10), 80)
        newer_version = attrs.evolve(_score("ptn_1", at(12), 90), model_version=2)
        commit(storage, scores[1], _score("ptn_2", at(20), 10))
        commit(storage, scores[0], _score("ptn_1", at(30), 75, model=_RICH_MODEL))
        with storage.unit_of_work() as uow:
            uow.scores.add(staged)
            latest = uow.scores.latest
            cases: list[tuple[datetime | None, HealthScore | None]] = [
                (None, staged),
                (at(10, NEPAL), staged),
                (at(10) - _TICK, scores[1]),
                (at(5, MARQUESAS), scores[1]),
                (at(5) - _TICK, scores[0]),
                (at(0, KIRIBATI), scores[0]),
                (at(0) - _TICK, None),
            ]
            for before, expected in cases:
                got = latest("ptn_1", model=_PLAIN, before=before)
                assert_same(got, expected, f"latest('ptn_1', before={before!r})")
            assert latest("ptn_nobody", model=_PLAIN) is None, "latest('ptn_nobody')"
            assert latest("ptn_1", model="Nobody's") is None, "latest of an unknown model"
            uow.scores.add(newer_version)
            assert_same(latest("ptn_1", model=_PLAIN), newer_version, "a newer version")
            uow.commit()
        assert_same(_latest(storage, "ptn_1"), newer_version, "latest after commit")

    def test_latest_before_is_each_partners_latest_strictly_before(self, storage: Storage) -> None:
        """``latest_before``: per partner, ``as_of < before`` (not at), of one model, staged too."""
        commit(
            storage,
            _score("ptn_1", at(0), 20),
            _score("ptn_1", at(5), 50),
            _score("ptn_1", at(10), 60),
            _score("ptn_2", at(3), 30),
            _score("ptn_3", at(10), 10),
            _score("ptn_2", at(8), 75, model=_RICH_MODEL),
        )
        staged = _score("ptn_2", at(7), 40)
        with storage.unit_of_work() as uow:
            uow.scores.add(staged)
            asked = ["ptn_3", "ptn_2", "ptn_nobody", "ptn_1", "ptn_2"]
            cases: list[tuple[datetime, dict[str, float]]] = [
                (at(10, NEPAL), {"ptn_2": 40, "ptn_1": 50}),
                (at(10) + _TICK, {"ptn_3": 10, "ptn_2": 40, "ptn_1": 60}),
                (at(7, KIRIBATI), {"ptn_2": 30, "ptn_1": 50}),
                (at(0), {}),
            ]
            for before, expected in cases:
                got = uow.scores.latest_before(asked, model=_PLAIN, before=before)
                shown = {pid: float(found.value or 0) for pid, found in got.items()}
                assert shown == expected, f"latest_before({asked}, before={before!r})"
                order = [pid for pid in dict.fromkeys(asked) if pid in expected]
                assert list(got) == order, f"latest_before({asked}): in the order asked"
                for pid, found in got.items():
                    same = uow.scores.latest(pid, model=_PLAIN, before=before - _TICK)
                    assert_same(found, same, f"latest_before: {pid}, before={before!r}")
            assert uow.scores.latest_before(asked, model="Nobody's", before=at(20)) == {}
            with pytest.raises(ValidationError):
                uow.scores.latest_before("ptn_1", model=_PLAIN, before=at(20))
            with pytest.raises(ValidationError):
                uow.scores.latest_before(["ptn_1"], model=_PLAIN, before=datetime(2026, 1, 1))  # noqa: DTZ001 - the naive instant refused
            uow.commit()
        many = [f"ptn_{n}" for n in range(1200)]  # more than one query's worth
        got = committed(storage).scores.latest_before(many, model=_PLAIN, before=at(9))
        assert sorted(got) == ["ptn_1", "ptn_2"], "latest_before of 1200 partners"

    def test_latest_carries_an_override_into_the_next_score(self, storage: Storage) -> None:
        """``latest`` as ``previous`` keeps an override on until it lapses by itself."""
        override = _override(at(0), value=Decimal("75.0"))
        commit(storage, _score("ptn_1", at(0), 30, override=override))
        for days in (7, 14, 31):
            when = at(24 * days)
            previous = _latest(storage, "ptn_1", before=when)
            commit(storage, _score("ptn_1", when, 30, previous=previous))
        shown = [(item.value, item.override) for item in _history(storage, "ptn_1")]
        expected = [(Decimal("75.0"), override)] * 3 + [(Decimal("30.0"), None)]
        assert shown == expected, "(value, override) by run"

    def test_history_is_ordered_by_as_of_with_inclusive_bounds(self, storage: Storage) -> None:
        """``since <= as_of <= until`` as instants, oldest first, staged scores included."""
        plan = [(5, NEPAL), (-3, MARQUESAS), (10, UTC), (0, KIRIBATI), (7, ONE_MINUTE_WEST)]
        scores = [_score("ptn_1", at(hours, tz), 40 + hours) for hours, tz in plan]
        by_time = sorted(scores, key=lambda item: item.as_of)
        commit(storage, *scores[:3], _score("ptn_2", at(1)))
        commit(storage, _score("ptn_1", at(2), model=_RICH_MODEL))
        with storage.unit_of_work() as uow:
            uow.scores.add(scores[3])
            uow.scores.add(scores[4])
            history = uow.scores.history
            cases: list[tuple[dict[str, datetime], list[HealthScore]]] = [
                ({}, by_time),
                ({"since": at(0, NEPAL), "until": at(7, MARQUESAS)}, by_time[1:4]),
                ({"since": at(0) + _TICK, "until": at(7) - _TICK}, by_time[2:3]),
                ({"since": at(5, KIRIBATI), "until": at(5)}, by_time[2:3]),
                ({"until": at(-3)}, by_time[:1]),
                ({"since": at(10) + _TICK}, []),
            ]
            for bounds, expected in cases:
                got = history("ptn_1", model=_PLAIN, **bounds)
                assert_same(got, expected, f"history('ptn_1', {bounds})")
            assert history("ptn_nobody", model=_PLAIN) == [], "history('ptn_nobody')"
            uow.commit()
        assert_same(_history(storage, "ptn_1"), by_time, "history after commit")

    def test_score_query_lists_each_partners_latest_score_in_partner_order(
        self, storage: Storage
    ) -> None:
        """Without ``as_of``: one score per partner, its latest; ``band`` filters that one."""
        plan: dict[str, list[int | None]] = {  # values by day; the last is the latest
            "ptn_e": [80, 50],  # healthy once, at risk now
            "ptn_a": [50, 75],  # at risk once, healthy now
            "ptn_c": [20],
            "ptn_d": [10, 45, 30],
            "ptn_b": [60, None],  # insufficient data now: no band
            "ptn_f": [None, 65],
        }
        for day in range(3):
            commit(
                storage,
                *(
                    _score(partner_id, at(24 * day), values[day])
                    for partner_id, values in plan.items()
                    if day < len(values)
                ),
                _score("ptn_g", at(24 * day), 50, model=_RICH_MODEL),
            )
        latest = {
            partner_id: (partner_id, at(24 * (len(values) - 1)))
            for partner_id, values in sorted(plan.items())
        }
        bands = {"ptn_a": "healthy", "ptn_b": None, "ptn_c": "critical", "ptn_d": "critical"}
        bands |= {"ptn_e": "at_risk", "ptn_f": "at_risk"}
        for band in (None, "at_risk", "healthy", "critical", "no_such_band"):
            expected = [
                (*latest[pid], bands[pid]) for pid in latest if band is None or bands[pid] == band
            ]
            for limit in (1, 2, 1000):
                got = _shown(_listed(storage, limit=limit, band=band))
                assert got == expected, f"query(band={band!r}, limit={limit})"
        assert _listed(storage, limit=10, model="Nobody's") == [], "an unknown model"

    def test_score_query_at_an_instant_lists_exactly_that_runs_scores(
        self, storage: Storage
    ) -> None:
        """With ``as_of``: the scores at exactly that instant, by partner, ``band`` applied."""
        monday = [_score(f"ptn_{n}", at(0), 10 + 15 * n) for n in range(5)]
        tuesday = [_score(f"ptn_{n}", at(24), 90 - 20 * n) for n in (0, 2, 3)]
        commit(storage, *reversed(monday), _score("ptn_9", at(0) + _TICK))
        commit(storage, *tuesday, _score("ptn_0", at(0), model=_RICH_MODEL))
        cases: list[tuple[dict[str, Any], list[HealthScore]]] = [
            ({"as_of": at(0, NEPAL)}, monday),
            ({"as_of": at(24)}, tuesday),
            ({"as_of": at(0), "band": "at_risk"}, monday[2:4]),
            ({"as_of": at(24, MARQUESAS), "band": "healthy"}, tuesday[:1]),
            ({"as_of": at(24), "band": "at_risk"}, tuesday[1:2]),
            ({"as_of": at(12)}, []),
        ]
        for filters, expected in cases:
            for limit in (2, 1000):
                got = _shown(_listed(storage, limit=limit, **filters))
                assert got == _shown(expected), f"query({filters}, limit={limit})"

    def test_score_query_filters_on_the_shown_band(self, storage: Storage) -> None:
        """``band`` matches what a score shows: an override's band while it is active."""
        rescued = _score("ptn_1", at(0), 30, override=_override(at(-1), band="at_risk"))
        commit(storage, rescued, _score("ptn_2", at(0), 35))
        at_risk = _shown(_listed(storage, limit=10, band="at_risk"))
        assert at_risk == _shown([rescued]), "query(band='at_risk')"
        critical = [item.partner_id for item in _listed(storage, limit=10, band="critical")]
        assert critical == ["ptn_2"], "query(band='critical')"

    def test_score_query_sees_the_units_own_scores_and_no_one_elses(self, storage: Storage) -> None:
        """Staged scores take part in a unit's queries; other units see them after commit."""
        commit(storage, _score("ptn_1", at(0), 50), _score("ptn_2", at(0), 20))
        staged = [
            _score("ptn_1", at(24), 80),  # newer: ptn_1 is healthy in this unit
            _score("ptn_2", at(-24), 45),  # older: ptn_2 stays critical
            _score("ptn_3", at(0), 55),  # a new partner
        ]
        expected = [
            ("ptn_1", at(24), "healthy"),
            ("ptn_2", at(0), "critical"),
            ("ptn_3", at(0), "at_risk"),
        ]
        before = [("ptn_1", at(0), "at_risk"), ("ptn_2", at(0), "critical")]
        with storage.unit_of_work() as uow:
            scores = uow.scores
            for item in staged:
                scores.add(item)
            paged = _shown(paging.walk(scores.query, limit=1, model=_PLAIN))
            assert paged == expected, "query() in the unit, page by page"
            assert _shown(scores.query(model=_PLAIN).items) == expected, "query() in the unit"
            at_risk = _shown(scores.query(model=_PLAIN, band="at_risk").items)
            assert at_risk == expected[2:], "query(band='at_risk') in the unit"
            monday = scores.query(model=_PLAIN, as_of=at(0)).items
            assert [item.partner_id for item in monday] == ["ptn_1", "ptn_2", "ptn_3"], "run"
            others = _shown(_listed(storage))
            assert others == before, "query() in another unit before commit"
            uow.commit()
        assert _shown(_listed(storage)) == expected, "query() after commit"

    def test_score_query_paging_is_stable_while_scores_are_added(self, storage: Storage) -> None:
        """Scores added between pages never make paging repeat or skip a partner."""
        partner_ids = [f"ptn_{n:03d}0" for n in range(30)]
        commit(storage, *(_score(partner_id, at(0)) for partner_id in partner_ids))

        def insert(last: str, page: int) -> None:
            commit(
                storage,
                _score(f"{last}+", at(0)),  # a new partner just after the cursor
                _score(f"ptn_{page:03d}1", at(0)),  # one already passed
                _score(f"ptn_9{page:03d}", at(0)),  # one at the end
                _score(last, at(page + 1), 90),  # a newer score, already passed
                _score(partner_ids[-1 - page], at(page + 1), 90),  # newer, still to come
            )

        def query(**options: Any) -> Page[HealthScore]:  # a fresh unit of work per page
            return committed(storage).scores.query(model=_PLAIN, **options)

        paging.assert_stable(
            query, lambda s: s.partner_id, partner_ids, limit=4, insert=insert, what="partners"
        )

    def test_score_query_refuses_a_malformed_cursor(self, storage: Storage) -> None:
        """A cursor no query returned raises `ValidationError`."""
        commit(storage, _score("ptn_1", at(0)), _score("ptn_2", at(0)))
        with storage.unit_of_work() as uow:
            paging.assert_cursors_refused(functools.partial(uow.scores.query, model=_PLAIN))

    def test_score_query_refuses_a_limit_out_of_bounds(self, storage: Storage) -> None:
        """``limit`` outside 1..1000 raises `ValidationError`; both bounds are accepted."""
        commit(storage, _score("ptn_1", at(0)), _score("ptn_2", at(0)))
        with storage.unit_of_work() as uow:
            query = functools.partial(uow.scores.query, model=_PLAIN)
            paging.assert_limits(query, most=1000, stored=2)

    def test_score_reads_refuse_naive_instants_and_models_that_are_not_text(
        self, storage: Storage
    ) -> None:
        """A naive ``before``, ``since``, ``until`` or ``as_of``, or a model that is no text."""
        naive = datetime(2026, 1, 15, 9, 30)  # noqa: DTZ001 - naive on purpose
        with storage.unit_of_work() as uow:
            scores = uow.scores
            calls: list[Callable[[], object]] = [
                lambda: scores.latest("ptn_1", model=_PLAIN, before=naive),
                lambda: scores.history("ptn_1", model=_PLAIN, since=naive),
                lambda: scores.history("ptn_1", model=_PLAIN, until=naive),
                lambda: scores.query(model=_PLAIN, as_of=naive),
                lambda: scores.latest("ptn_1", model=None),  # type: ignore[arg-type]
                lambda: scores.history("ptn_1", model=1),  # type: ignore[arg-type]
                lambda: scores.query(model=_PLAIN_MODEL),  # type: ignore[arg-type]
            ]
            for call in calls:
                with pytest.raises(ValidationError):
                    call()

    def test_rolled_back_scores_leave_nothing_behind(self, storage: Storage) -> None:
        """An exception, leaving without commit, or ``rollback()`` discards staged scores."""

        def check(uow: UnitOfWork) -> None:
            kept = uow.scores.latest("ptn_rolled_back", model=_PLAIN)
            assert kept is None, "a rolled-back score is still visible in its unit of work"

        roll_back_three_ways(
            storage, lambda uow, way: uow.scores.add(_score(f"ptn_{way}", at(0))), check
        )
        _assert_no_scores(storage, "ptn_raised", "ptn_abandoned", "ptn_rolled_back")

    def test_commit_that_fails_on_a_stale_partner_writes_no_scores(self, storage: Storage) -> None:
        """A commit refused for a partner changed meanwhile writes none of its scores."""
        (existing,) = commit(storage, partner("ptn_old"))
        with storage.unit_of_work() as slow:
            slow.partners.update(attrs.evolve(existing, region="APAC"))
            slow.scores.add(_score("ptn_old", at(0)))
            slow.scores.add(_score("ptn_other", at(0)))
            with storage.unit_of_work() as fast:
                save(fast, attrs.evolve(fast.partners.get("ptn_old"), name="Fast writer"))
            with pytest.raises(StaleVersionError):
                slow.commit()
        _assert_no_scores(storage, "ptn_old", "ptn_other")

    def test_commit_that_fails_on_a_score_stored_meanwhile_writes_nothing(
        self, storage: Storage
    ) -> None:
        """A different score committed meanwhile under a staged key: nothing is written."""
        (existing,) = commit(storage, partner("ptn_old"))
        winner = _score("ptn_1", at(0), 61)
        with storage.unit_of_work() as slow:
            write_everything(slow, existing)
            slow.scores.add(_score("ptn_0", at(0), 10))
            slow.scores.add(_score("ptn_1", at(0), 60))
            slow.scores.add(_score("ptn_2", at(0), 90))
            commit(storage, winner)
            with pytest.raises(ConflictError):
                slow.commit()
        assert_nothing_written(storage, existing)
        assert _latest(storage, "ptn_0") is None, "a score of the refused commit"
        assert _latest(storage, "ptn_2") is None, "a score of the refused commit"
        assert_same(_history(storage, "ptn_1"), [winner], "history")

    def test_an_identical_score_stored_meanwhile_is_not_a_conflict(self, storage: Storage) -> None:
        """Two units that stage the same score both commit; it is stored once."""
        same = _score("ptn_1", at(0))
        with storage.unit_of_work() as first, storage.unit_of_work() as second:
            first.scores.add(same)
            second.scores.add(same)
            second.scores.add(_score("ptn_2", at(0)))
            first.commit()
            second.commit()
        assert_same(_history(storage, "ptn_1"), [same], "history")
        listed = [item.partner_id for item in _listed(storage, limit=10)]
        assert listed == ["ptn_1", "ptn_2"], "partners listed by query()"
