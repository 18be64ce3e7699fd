"""Partner satisfaction: NPS and CSAT surveys recorded as activities.

A survey answer is an ordinary ledger `Activity` of kind ``survey_answered`` whose
value is the score and whose attributes say which survey (``"nps"`` or ``"csat"``),
who answered and, optionally, for which program. Keeping answers in the ledger
means they are imported, deduplicated and replayed like any other activity.

NPS counts promoters (9-10), passives (7-8) and detractors (0-6) and is
``100 * (promoters - detractors) / responses``, from -100 to 100. Its 95%
confidence interval treats each answer as +1, 0 or -1: the variance of that
value is ``p + d - (p - d)^2`` (``p``, ``d`` the promoter and detractor shares),
and the interval is ``NPS +/- 1.96 * 100 * sqrt(variance / n)``, clipped to
[-100, 100]. With a handful of answers the interval is wide, and says so.

CSAT asks for 1-5 and reports the share of 4s and 5s, with a Wald interval.
"""

from __future__ import annotations

import enum
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal, localcontext
from typing import TYPE_CHECKING, Final

import attrs

from partnerkit._base.checks import check_slug
from partnerkit._base.ids import check_id
from partnerkit._base.time import to_utc
from partnerkit.errors import ValidationError
from partnerkit.ledger import Activity
from partnerkit.metrics import MetricSnapshot, MetricValue, Window

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from datetime import datetime

    from partnerkit._base.events import Scalar

__all__ = [
    "SURVEY_ANSWERED",
    "Csat",
    "Nps",
    "Survey",
    "csat",
    "nps",
    "nps_by",
    "satisfaction_metrics",
    "survey_answer",
    "survey_scores",
    "with_satisfaction",
]

#: The activity kind a survey answer is recorded as.
SURVEY_ANSWERED: Final = "survey_answered"

_Z95: Final = Decimal("1.96")
_HUNDRED: Final = Decimal(100)
_ONE_PLACE: Final = Decimal("0.1")


class Survey(enum.StrEnum):
    """The surveys partnerkit scores."""

    NPS = "nps"
    """"How likely are you to recommend us?" from 0 to 10."""
    CSAT = "csat"
    """"How satisfied are you?" from 1 to 5."""

    @property
    def scale(self) -> range:
        """The scores an answer may give."""
        return range(11) if self is Survey.NPS else range(1, 6)


def survey_answer(
    id: str,  # noqa: A002 - the activity's id, as everywhere
    partner_id: str,
    *,
    survey: Survey | str,
    score: int,
    answered_at: datetime,
    respondent: str,
    program_id: str | None = None,
    comment: str = "",
) -> Activity:
    """One survey answer as a ledger activity.

    Args:
        id: The answer's id (use the survey tool's so a re-import matches).
        partner_id: The partner whose person answered.
        survey: ``"nps"`` (0-10) or ``"csat"`` (1-5).
        score: The answer.
        answered_at: When (aware).
        respondent: Who answered (a contact or user id).
        program_id: The program the survey was about, for NPS per program.
        comment: Free text the respondent left.

    Raises:
        ValidationError: If the score is off the survey's scale, or any field is bad.
    """
    try:
        kind = Survey(survey)
    except ValueError:
        raise ValidationError.single("survey", f"{survey!r} is not 'nps' or 'csat'") from None
    if isinstance(score, bool) or not isinstance(score, int) or score not in kind.scale:
        scale = kind.scale
        raise ValidationError.single(
            "score",
            f"a {kind.value} answer is a whole number from {scale[0]} to {scale[-1]}, "
            f"got {score!r}",
        )
    attributes: dict[str, Scalar] = {
        "survey": kind.value,
        "respondent": check_id(respondent, "respondent"),
    }
    if program_id is not None:
        attributes["program"] = check_id(program_id, "program_id")
    if comment:
        attributes["comment"] = comment
    return Activity(
        id, partner_id, SURVEY_ANSWERED, answered_at, Decimal(score), attributes=attributes
    )


def _score_of(activity: Activity, survey: Survey) -> int | None:
    if activity.kind != SURVEY_ANSWERED or activity.attributes.get("survey") != survey.value:
        return None
    value = activity.value
    if not isinstance(value, Decimal) or value != value.to_integral_value():
        return None
    score = int(value)
    return score if score in survey.scale else None


def survey_scores(
    activities: Iterable[Activity],
    survey: Survey | str = Survey.NPS,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[int]:
    """The scores of one survey among ``activities``, answered in ``[since, until]``.

    Activities of other kinds, other surveys, or with a score off the scale are
    left out.
    """
    kind = Survey(survey)
    start = None if since is None else to_utc(since, "since")
    end = None if until is None else to_utc(until, "until")
    scores = []
    for activity in activities:
        if (start is not None and activity.occurred_at < start) or (
            end is not None and activity.occurred_at > end
        ):
            continue
        score = _score_of(activity, kind)
        if score is not None:
            scores.append(score)
    return scores


def _sqrt(value: Decimal) -> Decimal:
    with localcontext() as context:
        context.prec = 28
        return value.sqrt()


def _one_place(value: Decimal) -> Decimal:
    return value.quantize(_ONE_PLACE, rounding=ROUND_HALF_EVEN)


def _outwards(low: Decimal, high: Decimal, value: Decimal) -> tuple[Decimal, Decimal]:
    """``low`` and ``high`` rounded outwards to one place, so they contain ``value``."""
    return (
        min(low.quantize(_ONE_PLACE, rounding=ROUND_FLOOR), value),
        max(high.quantize(_ONE_PLACE, rounding=ROUND_CEILING), value),
    )


@attrs.frozen
class Nps:
    """A Net Promoter Score with the counts behind it and its 95% interval.

    Attributes:
        responses: How many answers.
        promoters: Answers of 9 or 10.
        passives: Answers of 7 or 8.
        detractors: Answers of 0 to 6.
        score: ``100 * (promoters - detractors) / responses``, one decimal place;
            ``None`` without answers.
        low: The interval's lower end (``None`` without answers).
        high: The interval's upper end.
    """

    responses: int
    promoters: int
    passives: int
    detractors: int
    score: Decimal | None
    low: Decimal | None
    high: Decimal | None

    def explain(self) -> str:
        """The score in words, with its counts and interval."""
        if self.score is None:
            return "NPS: no answers yet"
        return (
            f"NPS {self.score:+} from {self.responses} answers ({self.promoters} promoters, "
            f"{self.passives} passives, {self.detractors} detractors); 95% interval "
            f"{self.low} to {self.high}"
        )


def nps(scores: Iterable[int]) -> Nps:
    """The NPS of 0-10 answers, with its 95% confidence interval.

    Raises:
        ValidationError: If an answer is not a whole number from 0 to 10.
    """
    counts = [0, 0, 0]
    for index, score in enumerate(scores):
        if isinstance(score, bool) or not isinstance(score, int) or score not in range(11):
            raise ValidationError.single(
                f"scores[{index}]", f"an NPS answer is a whole number from 0 to 10, got {score!r}"
            )
        counts[0 if score >= 9 else 1 if score >= 7 else 2] += 1
    promoters, passives, detractors = counts
    total = sum(counts)
    if total == 0:
        return Nps(0, 0, 0, 0, None, None, None)
    n = Decimal(total)
    p, d = promoters / n, detractors / n
    centre = (p - d) * _HUNDRED
    margin = _Z95 * _HUNDRED * _sqrt(max(p + d - (p - d) ** 2, Decimal(0)) / n)
    low: Decimal = max(centre - margin, -_HUNDRED)
    high: Decimal = min(centre + margin, _HUNDRED)
    # The score is exact to one place; the interval's ends round outwards so it
    # always contains the score.
    value = _one_place(centre)
    return Nps(total, promoters, passives, detractors, value, *_outwards(low, high, value))


@attrs.frozen
class Csat:
    """A customer-satisfaction score: the share of 4s and 5s among 1-5 answers.

    Attributes:
        responses: How many answers.
        satisfied: Answers of 4 or 5.
        score: Percentage satisfied, one decimal place (``None`` without answers).
        low: The 95% interval's lower end.
        high: Its upper end.
    """

    responses: int
    satisfied: int
    score: Decimal | None
    low: Decimal | None
    high: Decimal | None


def csat(scores: Iterable[int]) -> Csat:
    """The CSAT of 1-5 answers, with a 95% interval.

    Raises:
        ValidationError: If an answer is not a whole number from 1 to 5.
    """
    total = satisfied = 0
    for index, score in enumerate(scores):
        if isinstance(score, bool) or not isinstance(score, int) or score not in range(1, 6):
            raise ValidationError.single(
                f"scores[{index}]", f"a CSAT answer is a whole number from 1 to 5, got {score!r}"
            )
        total += 1
        satisfied += score >= 4
    if total == 0:
        return Csat(0, 0, None, None, None)
    share = Decimal(satisfied) / total
    margin = _Z95 * _HUNDRED * _sqrt(share * (1 - share) / total)
    value = _one_place(share * _HUNDRED)
    low: Decimal = max(share * _HUNDRED - margin, Decimal(0))
    high: Decimal = min(share * _HUNDRED + margin, _HUNDRED)
    return Csat(total, satisfied, value, *_outwards(low, high, value))


def nps_by(
    activities: Iterable[Activity],
    key: Callable[[Activity], str | None] | str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, Nps]:
    """NPS per group: per program, tier, period or anything a key function says.

    Args:
        activities: Survey answers (other activities are ignored).
        key: An attribute name (``"program"``) or a function from an answer to its
            group (``None`` leaves the answer out). For NPS per tier, look the
            partner's tier up: ``lambda a: tiers.get(a.partner_id)``; per quarter:
            ``lambda a: f"{a.occurred_at.year}-Q{(a.occurred_at.month + 2) // 3}"``.
        since: Only answers at or after this instant.
        until: Only answers at or before this instant.

    Returns:
        Group to its `Nps`, groups in sorted order.
    """
    if isinstance(key, str):
        name = check_slug(key, "attribute name")

        def by_attribute(activity: Activity) -> str | None:
            value = activity.attributes.get(name)
            return None if value is None else str(value)

        group_of: Callable[[Activity], str | None] = by_attribute
    else:
        group_of = key
    groups: dict[str, list[Activity]] = {}
    for activity in activities:
        if activity.kind != SURVEY_ANSWERED:
            continue
        group = group_of(activity)
        if group is not None:
            groups.setdefault(group, []).append(activity)
    return {
        group: nps(survey_scores(groups[group], Survey.NPS, since=since, until=until))
        for group in sorted(groups)
    }


def satisfaction_metrics(
    activities: Iterable[Activity],
    as_of: datetime,
    *,
    window: Window | None = None,
    prefix: str = "",
) -> dict[str, dict[str, MetricValue]]:
    """Each partner's ``nps``, ``csat`` and ``survey_answers`` in a window, as metric values.

    Merge them into snapshots (`with_satisfaction`) so a health model can read
    them like any metric, and `partnerkit.health.backtest` can test them.

    Args:
        activities: Everyone's activities.
        as_of: The instant (aware); answers after it never count.
        window: Which answers count (default: the trailing 12 months).
        prefix: Put before each metric name (``"q_"`` gives ``q_nps``).

    Returns:
        Partner id to its values; a partner without answers in the window has
        ``None`` scores and 0 answers.
    """
    chosen = window if window is not None else Window.trailing("P12M")
    start, end = chosen.bounds(as_of)
    by_partner: dict[str, list[Activity]] = {}
    for activity in activities:
        if activity.kind == SURVEY_ANSWERED:
            by_partner.setdefault(activity.partner_id, []).append(activity)
    result: dict[str, dict[str, MetricValue]] = {}
    for partner_id, answers in by_partner.items():
        promoter = nps(survey_scores(answers, Survey.NPS, since=start, until=end))
        satisfied = csat(survey_scores(answers, Survey.CSAT, since=start, until=end))
        result[partner_id] = {
            f"{prefix}nps": promoter.score,
            f"{prefix}csat": satisfied.score,
            f"{prefix}survey_answers": promoter.responses + satisfied.responses,
        }
    return result


def with_satisfaction(
    snapshot: MetricSnapshot,
    activities: Iterable[Activity],
    *,
    window: Window | None = None,
    prefix: str = "",
) -> MetricSnapshot:
    """``snapshot`` with the partner's ``nps``, ``csat`` and ``survey_answers`` added.

    Answers are taken as of the snapshot's own instant, so past snapshots for a
    backtest get the satisfaction that was known then.
    """
    mine = [a for a in activities if a.partner_id == snapshot.partner_id]
    values = satisfaction_metrics(mine, snapshot.as_of, window=window, prefix=prefix).get(
        snapshot.partner_id,
        {f"{prefix}nps": None, f"{prefix}csat": None, f"{prefix}survey_answers": 0},
    )
    return MetricSnapshot(snapshot.partner_id, snapshot.as_of, {**snapshot.values, **values})
