from datetime import UTC, date, datetime, timedelta

import attrs
import pytest

from partnerkit import ConflictError, InvalidTransitionError, Money, Period, ValidationError
from partnerkit.deals import (
    TRANSITIONS,
    Conflict,
    ConflictOutcome,
    Customer,
    DealAction,
    DealRegistration,
    DealStatus,
    ExtensionPolicy,
    ExtensionStatus,
    Match,
    MatchKind,
    PartyKind,
    amend,
    approve,
    approve_extension,
    deny_extension,
    expire,
    expire_due,
    expiring_within,
    lose,
    registrable_domain,
    reject,
    request_extension,
    screen,
    submit,
    win,
    withdraw,
)
from partnerkit.errors import UnresolvedConflictsError

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=2)


def draft(**changes: object) -> DealRegistration:
    fields: dict[str, object] = {
        "id": "deal_1",
        "partner_id": "ptn_1",
        "customer": Customer("Nordic Cloud Oy", "FI", "nordiccloud.fi", "aino@nordiccloud.fi"),
        "amount": Money("25000", "EUR"),
        "expected_close_on": date(2026, 6, 30),
        "registered_at": NOW,
        "products": ("CRM",),
    }
    fields.update(changes)
    return DealRegistration(**fields)  # type: ignore[arg-type]


def submitted(**changes: object) -> DealRegistration:
    return submit(draft(**changes), actor="usr_p", at=NOW).value


def approved(**changes: object) -> DealRegistration:
    return approve(submitted(**changes), actor="usr_cm", at=LATER).value


def objection(outcome: ConflictOutcome = ConflictOutcome.REVIEW) -> Conflict:
    return Conflict(
        registration_id="deal_1",
        other_kind=PartyKind.REGISTRATION,
        other_id="deal_0",
        other_partner_id="ptn_2",
        other_name="nordic cloud",
        matches=(Match(MatchKind.EXACT_NAME, "nordic cloud"),),
        confidence=0.9,
        rule="first_to_register",
        outcome=outcome,
        has_priority=False,
        reason="partner ptn_2 registered this customer first",
    )


def test_a_new_registration_is_a_draft_with_normalised_fields() -> None:
    created = draft(
        customer=Customer(" Nordic  Cloud Oy ", "fi", "https://WWW.NordicCloud.fi/x", None),
        products=(" CRM ", "ERP"),
    )
    assert created.status is DealStatus.DRAFT
    assert created.customer == Customer("Nordic Cloud Oy", "FI", "nordiccloud.fi")
    assert created.products == ("CRM", "ERP")
    assert created.updated_at == NOW
    assert created.version == 0
    assert created.allowed_actions == (DealAction.SUBMIT, DealAction.WITHDRAW, DealAction.AMEND)


def test_every_bad_field_is_reported_at_once() -> None:
    with pytest.raises(ValidationError) as info:
        draft(
            id="has space",
            partner_id="",
            amount=Money("-1", "EUR"),
            expected_close_on="30.6.2026",
            registered_at=datetime(2026, 1, 1),  # noqa: DTZ001
            products=("CRM", "crm"),
            version=-1,
        )
    assert set(info.value.paths) == {
        "id",
        "partner_id",
        "amount",
        "expected_close_on",
        "registered_at",
        "products[1]",
        "version",
    }


def test_customer_fields_are_checked_together() -> None:
    with pytest.raises(ValidationError) as info:
        Customer("", "UK", "not a domain", "aino at example.fi")
    assert info.value.paths == ("name", "country", "domain", "contact_email")
    assert "the UK is 'GB'" in str(info.value)


def test_a_customer_domain_must_be_registrable() -> None:
    with pytest.raises(ValidationError, match="public suffix"):
        Customer("Acme", "GB", "co.uk")


def test_a_customer_website_keeps_a_www_that_is_the_registered_name() -> None:
    # "x0.com" is a public suffix: "www.x0.com" is a name registered under it,
    # as registrable_domain reads it, not a web prefix on a suffix.
    assert registrable_domain("www.x0.com") == "www.x0.com"
    customer = Customer("Acme", "US", "https://WWW.x0.com/about")
    assert customer.domain == "www.x0.com"
    assert Customer("Acme", "US", customer.domain).domain == "www.x0.com"
    assert Customer("Acme", "US", "www.acme.com").domain == "acme.com"
    with pytest.raises(ValidationError, match="public suffix"):
        Customer("Acme", "US", "x0.com")


def test_a_customer_name_needs_something_to_match_on() -> None:
    with pytest.raises(ValidationError, match="no letters or digits"):
        Customer("& - &", "FI")


def test_status_and_its_fields_must_agree() -> None:
    with pytest.raises(ValidationError) as info:
        draft(status=DealStatus.APPROVED)
    assert set(info.value.paths) == {"submitted_at", "protection_until"}


def test_submitting_records_the_submission_once_and_emits_an_event() -> None:
    moved, events = submit(draft(), actor="usr_p", at=NOW)
    assert moved.status is DealStatus.SUBMITTED
    assert moved.submitted_at == NOW
    assert moved.registered_at == NOW
    assert moved.history[-1].actor == "usr_p"
    assert [event.kind for event in events] == ["deal.submitted"]
    assert events[0].data["customer"] == "Nordic Cloud Oy"


def test_registered_at_never_changes() -> None:
    moved = approved()
    assert moved.registered_at == NOW
    assert moved.submitted_at == NOW
    assert moved.updated_at == LATER


def test_submitting_needs_a_product_and_a_close_date_ahead() -> None:
    with pytest.raises(ValidationError) as info:
        submit(draft(products=(), expected_close_on=date(2026, 3, 1)), actor="usr_p", at=NOW)
    assert info.value.paths == ("products", "expected_close_on")


def test_approval_starts_the_protection_window_from_the_approval_instant() -> None:
    moved, events = approve(submitted(), actor="usr_cm", at=LATER)
    assert moved.status is DealStatus.APPROVED
    assert moved.protection_until == LATER + timedelta(days=90)
    assert moved.decisions[-1].protection == Period(days=90)
    assert events[0].kind == "deal.approved"
    assert events[0].data["protection_until"] == moved.protection_until.isoformat()


@pytest.mark.parametrize(
    ("protection", "days"), [(Period(days=30), 30), (60, 60), ("P120D", 120), ("3 months", 92)]
)
def test_the_protection_period_comes_from_the_caller(protection: object, days: int) -> None:
    moved, _ = approve(submitted(), actor="usr_cm", at=LATER, protection=protection)  # type: ignore[arg-type]
    assert moved.protection_until == LATER + timedelta(days=days)


@pytest.mark.parametrize("protection", [0, -5, Period(days=0), "-P1D"])
def test_the_protection_period_must_be_positive(protection: object) -> None:
    with pytest.raises(ValidationError) as info:
        approve(submitted(), actor="usr_cm", at=LATER, protection=protection)  # type: ignore[arg-type]
    assert info.value.paths == ("protection",)


def test_an_objecting_conflict_stops_approval_and_names_the_fix() -> None:
    with pytest.raises(ConflictError, match="pass override_reason") as info:
        approve(submitted(), actor="usr_cm", at=LATER, conflicts=[objection()])
    assert "registration deal_0" in str(info.value)


def test_a_refused_approval_carries_the_conflicts_that_objected() -> None:
    with pytest.raises(UnresolvedConflictsError) as info:
        approve(submitted(), actor="usr_cm", at=LATER, conflicts=[objection()])
    assert info.value.conflicts == (objection(),)


def test_an_override_reason_approves_over_a_conflict_and_is_recorded() -> None:
    moved, events = approve(
        submitted(),
        actor="usr_cm",
        at=LATER,
        conflicts=[objection()],
        override_reason="ptn_2 confirmed it lost the customer",
    )
    decision = moved.decisions[-1]
    assert decision.overridden is True
    assert decision.reason == "ptn_2 confirmed it lost the customer"
    assert decision.conflicts == (objection(),)
    assert events[0].data["overridden"] is True


def test_a_proceed_conflict_does_not_stop_approval() -> None:
    moved, _ = approve(
        submitted(), actor="usr_cm", at=LATER, conflicts=[objection(ConflictOutcome.PROCEED)]
    )
    assert moved.decisions[-1].overridden is False


def test_approval_refuses_conflicts_about_another_registration() -> None:
    with pytest.raises(ValidationError, match="not 'deal_9'") as info:
        approve(submitted(id="deal_9"), actor="usr_cm", at=LATER, conflicts=[objection()])
    assert info.value.paths == ("conflicts[0]",)


@pytest.mark.parametrize("move", [reject, lose])
def test_rejecting_and_losing_need_a_reason(move: object) -> None:
    subject = submitted() if move is reject else approved()
    with pytest.raises(ValidationError, match="a reason is required") as info:
        move(subject, actor="usr_cm", at=LATER, reason="  ")  # type: ignore[operator]
    assert info.value.paths == ("reason",)


def test_a_rejection_records_the_decision_and_its_reason() -> None:
    moved, events = reject(submitted(), actor="usr_cm", at=LATER, reason="customer is in-house")
    assert moved.status is DealStatus.REJECTED
    assert moved.decisions[-1].action is DealAction.REJECT
    assert moved.history[-1].reason == "customer is in-house"
    assert events[0].data["reason"] == "customer is in-house"


def test_drafts_and_submitted_registrations_can_be_withdrawn() -> None:
    assert withdraw(draft(), actor="usr_p", at=NOW).value.status is DealStatus.WITHDRAWN
    assert withdraw(submitted(), actor="usr_p", at=NOW).value.status is DealStatus.WITHDRAWN
    with pytest.raises(InvalidTransitionError):
        withdraw(approved(), actor="usr_p", at=LATER)


def test_the_lifecycle_records_who_when_from_to_and_why() -> None:
    ended, events = lose(approved(), actor="usr_p", at=LATER, reason="budget frozen")
    assert [(c.action, c.from_status, c.to_status, c.actor) for c in ended.history] == [
        (DealAction.SUBMIT, DealStatus.DRAFT, DealStatus.SUBMITTED, "usr_p"),
        (DealAction.APPROVE, DealStatus.SUBMITTED, DealStatus.APPROVED, "usr_cm"),
        (DealAction.LOSE, DealStatus.APPROVED, DealStatus.LOST, "usr_p"),
    ]
    assert ended.history[-1].reason == "budget frozen"
    assert ended.history[-1].at == LATER
    assert events[0].kind == "deal.lost"


def test_a_won_deal_is_frozen_for_good() -> None:
    won, events = win(approved(), actor="usr_p", at=LATER)
    assert events[0].kind == "deal.won"
    assert won.allowed_actions == ()
    with pytest.raises(InvalidTransitionError, match="is final"):
        amend(won, actor="usr_p", at=LATER, amount=Money("1", "EUR"))
    with pytest.raises(InvalidTransitionError, match="is final"):
        lose(won, actor="usr_p", at=LATER, reason="changed my mind")


def test_a_disallowed_move_lists_the_allowed_ones() -> None:
    with pytest.raises(InvalidTransitionError) as info:
        approve(draft(), actor="usr_cm", at=NOW)
    assert info.value.state == "draft"
    assert info.value.action == "approve"
    assert info.value.allowed == ("submit", "withdraw", "amend")
    assert "deal registration 'deal_1' is 'draft'; cannot approve it" in str(info.value)


MOVES = {
    DealAction.SUBMIT: lambda r: submit(r, actor="usr", at=LATER),
    DealAction.APPROVE: lambda r: approve(r, actor="usr", at=LATER),
    DealAction.REJECT: lambda r: reject(r, actor="usr", at=LATER, reason="x"),
    DealAction.WITHDRAW: lambda r: withdraw(r, actor="usr", at=LATER),
    DealAction.WIN: lambda r: win(r, actor="usr", at=LATER),
    DealAction.LOSE: lambda r: lose(r, actor="usr", at=LATER, reason="x"),
    DealAction.EXPIRE: lambda r: expire(r, at=LATER + timedelta(days=400)),
}


def in_status(status: DealStatus) -> DealRegistration:
    protected = {DealStatus.APPROVED, DealStatus.WON, DealStatus.LOST, DealStatus.EXPIRED}
    return draft(
        status=status,
        submitted_at=None if status in (DealStatus.DRAFT, DealStatus.WITHDRAWN) else NOW,
        protection_until=NOW + timedelta(days=90) if status in protected else None,
    )


@pytest.mark.parametrize("status", list(DealStatus))
@pytest.mark.parametrize("action", list(TRANSITIONS))
def test_the_transition_table_is_the_whole_truth(status: DealStatus, action: DealAction) -> None:
    sources, target = TRANSITIONS[action]
    subject = in_status(status)
    if status in sources:
        assert MOVES[action](subject).value.status is target
    else:
        with pytest.raises(InvalidTransitionError):
            MOVES[action](subject)


def test_an_extension_is_requested_then_approved_by_a_manager() -> None:
    deal = approved()
    until = deal.protection_until
    assert until is not None
    asked, events = request_extension(
        deal, 30, actor="usr_p", at=LATER, reason="procurement needs another month"
    )
    assert asked.pending_extension is not None
    assert asked.protection_until == until
    assert events[0].kind == "deal.extension_requested"
    granted, events = approve_extension(asked, actor="usr_cm", at=LATER)
    assert granted.protection_until == until + timedelta(days=30)
    assert granted.extensions[-1].status is ExtensionStatus.APPROVED
    assert granted.extensions[-1].added_days == 30
    assert events[0].data["protection_until"] == granted.protection_until.isoformat()


def test_only_one_extension_may_be_pending() -> None:
    asked, _ = request_extension(approved(), 30, actor="usr_p", at=LATER, reason="more time")
    with pytest.raises(InvalidTransitionError) as info:
        request_extension(asked, 10, actor="usr_p", at=LATER, reason="even more")
    assert info.value.allowed == (
        "win",
        "lose",
        "expire",
        "amend",
        "approve_extension",
        "deny_extension",
    )


def test_a_denied_extension_needs_a_reason_and_keeps_the_window() -> None:
    asked, _ = request_extension(approved(), 30, actor="usr_p", at=LATER, reason="more time")
    with pytest.raises(ValidationError, match="a reason is required to deny extension"):
        deny_extension(asked, actor="usr_cm", at=LATER, reason="")
    denied, events = deny_extension(asked, actor="usr_cm", at=LATER, reason="no activity logged")
    assert denied.protection_until == asked.protection_until
    assert denied.extensions[-1].status is ExtensionStatus.DENIED
    assert events[0].kind == "deal.extension_denied"


def test_extensions_are_limited_in_count() -> None:
    policy = ExtensionPolicy(max_extensions=1, max_total_days=None)
    deal = approved()
    deal = request_extension(deal, 10, actor="usr_p", at=LATER, reason="a", policy=policy).value
    deal = approve_extension(deal, actor="usr_cm", at=LATER, policy=policy).value
    with pytest.raises(ValidationError, match="allows 1 extension"):
        request_extension(deal, 10, actor="usr_p", at=LATER, reason="b", policy=policy)


def test_extensions_are_limited_in_total_days_and_say_how_many_are_left() -> None:
    policy = ExtensionPolicy(max_extensions=None, max_total_days=45)
    deal = approved()
    deal = request_extension(deal, 30, actor="usr_p", at=LATER, reason="a", policy=policy).value
    deal = approve_extension(deal, actor="usr_cm", at=LATER, policy=policy).value
    with pytest.raises(ValidationError, match="ask for at most 15 days"):
        request_extension(deal, 20, actor="usr_p", at=LATER, reason="b", policy=policy)


def test_limits_are_checked_again_when_the_extension_is_approved() -> None:
    asked, _ = request_extension(approved(), 30, actor="usr_p", at=LATER, reason="a")
    with pytest.raises(ValidationError, match="allows 20 days"):
        approve_extension(
            asked, actor="usr_cm", at=LATER, policy=ExtensionPolicy(max_total_days=20)
        )


def test_an_extension_must_be_asked_for_before_protection_ends() -> None:
    deal = approved()
    assert deal.protection_until is not None
    with pytest.raises(ValidationError, match="before it ends"):
        request_extension(
            deal, 30, actor="usr_p", at=deal.protection_until + timedelta(seconds=1), reason="a"
        )


def test_the_sweep_expires_lapsed_approvals_and_returns_events() -> None:
    lapsing = approved()
    fresh = approve(submitted(id="deal_2"), actor="usr_cm", at=LATER + timedelta(days=30)).value
    assert lapsing.protection_until is not None
    sweep_at = lapsing.protection_until
    changed, events = expire_due([lapsing, fresh, draft(id="deal_3")], sweep_at)
    assert [(r.id, r.status) for r in changed] == [("deal_1", DealStatus.EXPIRED)]
    assert [(e.kind, e.subject_id, e.actor) for e in events] == [
        ("deal.expired", "deal_1", "system")
    ]
    again, more = expire_due(changed, sweep_at)
    assert (again, more) == ((), ())


def test_a_pending_extension_lapses_with_the_registration() -> None:
    asked, _ = request_extension(approved(), 30, actor="usr_p", at=LATER, reason="a")
    assert asked.protection_until is not None
    (expired,), _ = expire_due([asked], asked.protection_until + timedelta(days=1))
    assert expired.extensions[-1].status is ExtensionStatus.LAPSED


def test_a_registration_cannot_expire_while_protected() -> None:
    with pytest.raises(ValidationError, match="runs until"):
        expire(approved(), at=LATER)


def test_expiring_within_lists_reminders_soonest_first() -> None:
    first = approved(id="deal_a")
    second = approve(submitted(id="deal_b"), actor="usr_cm", at=LATER + timedelta(days=5)).value
    third = approve(submitted(id="deal_c"), actor="usr_cm", at=LATER + timedelta(days=50)).value
    assert first.protection_until is not None
    as_of = first.protection_until - timedelta(days=7)
    found = expiring_within([third, second, first, draft(id="deal_d")], as_of, 14)
    assert [r.id for r in found] == ["deal_a", "deal_b"]
    assert expiring_within([first], first.protection_until, Period(days=14)) == []


def test_screen_rejects_a_same_partner_duplicate_with_the_conflicts_reason() -> None:
    duplicate = attrs.evolve(
        objection(ConflictOutcome.REJECT),
        reason="duplicate of deal_0",
        rule="same_partner_duplicate",
    )
    moved, events = screen(submitted(), [duplicate], at=LATER)
    assert moved.status is DealStatus.REJECTED
    assert moved.history[-1].reason == "duplicate of deal_0"
    assert [e.kind for e in events] == ["deal.conflict_found", "deal.rejected"]
    assert events[0].data["other_id"] == "deal_0"
    assert events[0].data["matched"] == "exact_name"


def test_screen_leaves_reviews_for_a_manager() -> None:
    moved, events = screen(submitted(), [objection()], at=LATER)
    assert moved.status is DealStatus.SUBMITTED
    assert [e.kind for e in events] == ["deal.conflict_found"]
    assert events[0].data["outcome"] == "review"


def test_what_can_be_amended_depends_on_the_status() -> None:
    changed, events = amend(
        draft(), actor="usr_p", at=LATER, customer=Customer("Nordic Cloud Oyj", "FI")
    )
    assert changed.customer.name == "Nordic Cloud Oyj"
    assert events[0].data["fields"] == "customer"
    with pytest.raises(ValidationError, match="withdraw it and register") as info:
        amend(submitted(), actor="usr_p", at=LATER, customer=Customer("Other", "FI"))
    assert info.value.paths == ("customer",)
    with pytest.raises(ValidationError) as info:
        amend(approved(), actor="usr_p", at=LATER, products=("ERP",))
    assert info.value.paths == ("products",)
    bigger, _ = amend(approved(), actor="usr_p", at=LATER, amount=Money("30000", "EUR"))
    assert bigger.amount == Money("30000", "EUR")


def test_amending_nothing_changes_nothing() -> None:
    assert amend(draft(), actor="usr_p", at=LATER, notes="") == (draft(), ())


def test_naive_instants_are_refused_with_the_fix() -> None:
    with pytest.raises(ValidationError, match="attach a timezone") as info:
        submit(draft(), actor="usr_p", at=datetime(2026, 3, 2))  # noqa: DTZ001
    assert info.value.paths == ("at",)
