"""The relationship itself: joint business plans, check-ins, certifications, journeys, satisfaction.

- **Plans**: a `BusinessPlan` holds shared `Goal` s over any metric with owners on
  both sides; `draft_plan`, `agree_plan` and `revise_plan` keep its history;
  `plan_progress` reads the ledger and flags goals at risk with the gap in words.
- **Check-ins**: a `CheckIn` records attendees, notes, satisfaction and
  `ActionItem` s; a `CheckInPolicy` sets the cadence per partner or tier;
  `overdue_check_ins` and `overdue_action_items` list what slipped.
- **Certifications**: a `Certification` has terms that expire; its status on any
  day (in progress, active, expiring, expired, renewed) follows from the dates;
  `lapse_warnings` says which lapses cost a tier at the next review.
- **Journeys**: a `Journey` is data (steps, conditions, deadlines, outcomes,
  variants); `journey_state` derives a partner's place from the ledger,
  `journey_events` turns what happened into events, `journey_report` says who is
  stuck where.
- **Satisfaction**: `survey_answer` records NPS and CSAT answers as activities;
  `nps` gives the score with its confidence interval, `nps_by` per program, tier or
  period; `with_satisfaction` adds them to snapshots for health models and
  backtests.

Everything here is pure: no I/O, no clock; functions take ``as_of`` or ``at``.
See ``docs/relationship.md`` for a guide.
"""

from partnerkit.relationship._certifications import (
    DEFAULT_RENEWAL_WINDOW,
    Certification,
    CertificationStatus,
    CertificationTerm,
    LapseWarning,
    StatusChange,
    certification_activities,
    issue_certification,
    lapse_warnings,
    renew_certification,
    start_certification,
    status_changes,
)
from partnerkit.relationship._checkins import (
    ActionItem,
    CheckIn,
    CheckInPolicy,
    DueCheckIn,
    OverdueAction,
    complete_action,
    due_check_ins,
    overdue_action_items,
    overdue_check_ins,
    record_check_in,
)
from partnerkit.relationship._journeys import (
    Audience,
    Condition,
    Enrolment,
    Journey,
    JourneyReport,
    JourneyState,
    Outcome,
    Step,
    StepReport,
    StepState,
    StepStatus,
    StuckPartner,
    Variant,
    journey_events,
    journey_report,
    journey_state,
)
from partnerkit.relationship._plans import (
    BusinessPlan,
    Goal,
    GoalOwner,
    GoalProgress,
    GoalStatus,
    PlanAction,
    PlanProgress,
    PlanRevision,
    PlanStatus,
    Side,
    agree_plan,
    draft_plan,
    plan_progress,
    revise_plan,
)
from partnerkit.relationship._satisfaction import (
    SURVEY_ANSWERED,
    Csat,
    Nps,
    Survey,
    csat,
    nps,
    nps_by,
    satisfaction_metrics,
    survey_answer,
    survey_scores,
    with_satisfaction,
)

__all__ = [
    "DEFAULT_RENEWAL_WINDOW",
    "SURVEY_ANSWERED",
    "ActionItem",
    "Audience",
    "BusinessPlan",
    "Certification",
    "CertificationStatus",
    "CertificationTerm",
    "CheckIn",
    "CheckInPolicy",
    "Condition",
    "Csat",
    "DueCheckIn",
    "Enrolment",
    "Goal",
    "GoalOwner",
    "GoalProgress",
    "GoalStatus",
    "Journey",
    "JourneyReport",
    "JourneyState",
    "LapseWarning",
    "Nps",
    "Outcome",
    "OverdueAction",
    "PlanAction",
    "PlanProgress",
    "PlanRevision",
    "PlanStatus",
    "Side",
    "StatusChange",
    "Step",
    "StepReport",
    "StepState",
    "StepStatus",
    "StuckPartner",
    "Survey",
    "Variant",
    "agree_plan",
    "certification_activities",
    "complete_action",
    "csat",
    "draft_plan",
    "due_check_ins",
    "issue_certification",
    "journey_events",
    "journey_report",
    "journey_state",
    "lapse_warnings",
    "nps",
    "nps_by",
    "overdue_action_items",
    "overdue_check_ins",
    "plan_progress",
    "record_check_in",
    "renew_certification",
    "revise_plan",
    "satisfaction_metrics",
    "start_certification",
    "status_changes",
    "survey_answer",
    "survey_scores",
    "with_satisfaction",
]
