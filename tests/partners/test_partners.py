from datetime import UTC, date, datetime
from decimal import Decimal

import attrs
import pytest

from partnerkit import (
    Contact,
    CustomField,
    CustomFieldSchema,
    CustomFieldType,
    InvalidTransitionError,
    NotFoundError,
    OnboardingPlan,
    OnboardingStepTemplate,
    Partner,
    PartnerStatus,
    Period,
    ValidationError,
)
from partnerkit.partners import (
    TRANSITIONS,
    PartnerAction,
    activate,
    complete_onboarding_step,
    overdue_steps,
    reinstate,
    reject,
    set_parent,
    start_onboarding,
    suspend,
    terminate,
    transition,
)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PLAN = OnboardingPlan(
    "standard",
    (
        OnboardingStepTemplate("sign_agreement", "Sign the partner agreement", Period.of_days(14)),
        OnboardingStepTemplate("first_training", "Complete sales training", Period.of_days(30)),
        OnboardingStepTemplate(
            "logo", "Send logo for the locator", Period.of_days(60), required=False
        ),
    ),
)


def partner(**changes: object) -> Partner:
    fields: dict[str, object] = {
        "id": "ptn_1",
        "name": "Nordic Cloud Oy",
        "type": "reseller",
        "country": "FI",
        "created_at": NOW,
    }
    fields.update(changes)
    return Partner(**fields)  # type: ignore[arg-type]


def test_a_new_partner_is_a_prospect_with_normalised_fields() -> None:
    created = partner(
        name="  Nordic   Cloud Oy ",
        country="fi",
        domains=("https://WWW.NordicCloud.fi/about", "nørd.fi"),
    )
    assert created.status is PartnerStatus.PROSPECT
    assert created.name == "Nordic Cloud Oy"
    assert created.country == "FI"
    assert created.domains == ("nordiccloud.fi", "xn--nrd-0na.fi")
    assert created.updated_at == created.created_at
    assert created.version == 0


def test_every_bad_field_is_reported_at_once() -> None:
    with pytest.raises(ValidationError) as info:
        partner(
            id="has space",
            name="",
            type="Reseller!",
            country="UK",
            created_at=datetime(2026, 1, 1),  # noqa: DTZ001
            domains=("not a domain",),
            contacts=(Contact("A", "a@example.com"), Contact("B", "b@example.com")),
            version=-1,
        )
    assert set(info.value.paths) == {
        "id",
        "name",
        "type",
        "country",
        "created_at",
        "domains[0]",
        "contacts",
        "version",
    }
    assert "the UK is 'GB'" in str(info.value)


def test_contacts_need_exactly_one_primary() -> None:
    one = partner(contacts=(Contact("A", "a@example.com", primary=True), Contact("B", "b@x.fi")))
    assert one.primary_contact == Contact("A", "a@example.com", primary=True)
    with pytest.raises(ValidationError, match="exactly one contact as primary"):
        partner(
            contacts=(Contact("A", "a@x.fi", primary=True), Contact("B", "b@x.fi", primary=True))
        )


def test_contact_email_is_checked_and_its_domain_lowercased() -> None:
    assert Contact("Aino", "Aino.K@Example.FI").email == "Aino.K@example.fi"
    with pytest.raises(ValidationError) as info:
        Contact("", "aino at example.fi")
    assert info.value.paths == ("name", "email")


def test_host_partner_types_are_lowercase_slugs() -> None:
    assert partner(type="marketplace").type == "marketplace"
    with pytest.raises(ValidationError, match="lowercase letters"):
        partner(type="Market Place")


def test_a_partner_cannot_be_its_own_parent() -> None:
    with pytest.raises(ValidationError, match="its own parent"):
        partner(parent_id="ptn_1")


def test_the_lifecycle_records_who_when_and_why() -> None:
    onboarding, _ = start_onboarding(partner(), PLAN, actor="usr_cm", at=NOW)
    for key in ("sign_agreement", "first_training"):
        onboarding, _ = complete_onboarding_step(onboarding, key, actor="usr_p", at=NOW)
    active, events = activate(onboarding, actor="usr_cm", at=NOW)
    suspended, _ = suspend(active, actor="usr_cm", at=NOW, reason="unpaid invoices")
    back, _ = reinstate(suspended, actor="usr_cm", at=NOW)
    ended, _ = terminate(back, actor="usr_cm", at=NOW, reason="program closed")
    assert [(c.from_status, c.to_status) for c in ended.history] == [
        ("prospect", "onboarding"),
        ("onboarding", "active"),
        ("active", "suspended"),
        ("suspended", "active"),
        ("active", "terminated"),
    ]
    assert ended.history[2].reason == "unpaid invoices"
    assert ended.history[2].actor == "usr_cm"
    assert events[0].kind == "partner.status_changed"
    assert events[0].data == {
        "action": "activate",
        "from_status": "onboarding",
        "to_status": "active",
        "reason": "",
    }


@pytest.mark.parametrize("move", [suspend, terminate])
def test_suspending_and_terminating_need_a_reason(move: object) -> None:
    active = partner(status=PartnerStatus.ACTIVE)
    with pytest.raises(ValidationError, match="a reason is required") as info:
        move(active, actor="usr_cm", at=NOW, reason="  ")  # type: ignore[operator]
    assert info.value.paths == ("reason",)


def test_rejecting_a_prospect_needs_a_reason_and_is_final() -> None:
    rejected, _ = reject(partner(), actor="usr_cm", at=NOW, reason="competitor")
    assert rejected.status is PartnerStatus.REJECTED
    assert rejected.allowed_actions == ()
    with pytest.raises(InvalidTransitionError, match="is final"):
        transition(rejected, "start_onboarding", actor="usr_cm", at=NOW)


def test_a_disallowed_move_lists_the_allowed_ones() -> None:
    with pytest.raises(InvalidTransitionError) as info:
        suspend(partner(), actor="usr_cm", at=NOW, reason="x")
    assert info.value.state == "prospect"
    assert info.value.allowed == ("start_onboarding", "reject")
    assert "allowed from 'prospect': 'start_onboarding', 'reject'" in str(info.value)


@pytest.mark.parametrize("status", list(PartnerStatus))
@pytest.mark.parametrize("action", list(PartnerAction))
def test_the_transition_table_is_the_whole_truth(
    status: PartnerStatus, action: PartnerAction
) -> None:
    sources, target = TRANSITIONS[action]
    subject = partner(status=status)
    if status in sources:
        moved, _ = transition(subject, action, actor="usr_cm", at=NOW, reason="because")
        assert moved.status is target
    else:
        with pytest.raises(InvalidTransitionError):
            transition(subject, action, actor="usr_cm", at=NOW, reason="because")


def test_unknown_actions_are_refused_with_the_list() -> None:
    with pytest.raises(ValidationError, match="not a partner action"):
        transition(partner(), "promote", actor="usr_cm", at=NOW)


def test_onboarding_steps_are_due_from_the_join_date() -> None:
    onboarding, _ = start_onboarding(
        partner(), PLAN, actor="usr_cm", at=NOW, joined_on=date(2026, 1, 31)
    )
    assert onboarding.joined_on == date(2026, 1, 31)
    assert [(step.key, step.due_on) for step in onboarding.onboarding] == [
        ("sign_agreement", date(2026, 2, 14)),
        ("first_training", date(2026, 3, 2)),
        ("logo", date(2026, 4, 1)),
    ]


def test_overdue_steps_as_of_a_date() -> None:
    onboarding, _ = start_onboarding(
        partner(), PLAN, actor="usr_cm", at=NOW, joined_on=date(2026, 1, 31)
    )
    done, _ = complete_onboarding_step(onboarding, "sign_agreement", actor="usr_p", at=NOW)
    assert [step.key for step in overdue_steps(onboarding, date(2026, 3, 3))] == [
        "sign_agreement",
        "first_training",
    ]
    assert [step.key for step in overdue_steps(done, date(2026, 3, 3))] == ["first_training"]
    assert overdue_steps(done, date(2026, 3, 2)) == []


def test_completing_a_step_records_who_and_when_and_is_idempotent() -> None:
    onboarding, _ = start_onboarding(partner(), PLAN, actor="usr_cm", at=NOW)
    done, events = complete_onboarding_step(onboarding, "logo", actor="usr_p", at=NOW)
    step = next(step for step in done.onboarding if step.key == "logo")
    assert (step.completed_at, step.completed_by) == (NOW, "usr_p")
    assert events[0].kind == "partner.onboarding_step_completed"
    again, more = complete_onboarding_step(done, "logo", actor="usr_x", at=NOW)
    assert again == done
    assert more == ()


def test_completing_an_unknown_step_names_the_known_ones() -> None:
    onboarding, _ = start_onboarding(partner(), PLAN, actor="usr_cm", at=NOW)
    with pytest.raises(NotFoundError, match="has steps: sign_agreement, first_training, logo"):
        complete_onboarding_step(onboarding, "kickoff", actor="usr_p", at=NOW)


def test_activation_waits_for_required_steps_unless_forced() -> None:
    onboarding, _ = start_onboarding(partner(), PLAN, actor="usr_cm", at=NOW)
    with pytest.raises(ValidationError, match="sign_agreement, first_training; complete them"):
        activate(onboarding, actor="usr_cm", at=NOW)
    forced, _ = activate(onboarding, actor="usr_cm", at=NOW, force_reason="strategic launch")
    assert forced.status is PartnerStatus.ACTIVE
    assert forced.history[-1].reason == (
        "forced with open steps sign_agreement, first_training: strategic launch"
    )


def test_optional_steps_do_not_block_activation() -> None:
    onboarding, _ = start_onboarding(partner(), PLAN, actor="usr_cm", at=NOW)
    for key in ("sign_agreement", "first_training"):
        onboarding, _ = complete_onboarding_step(onboarding, key, actor="usr_p", at=NOW)
    assert activate(onboarding, actor="usr_cm", at=NOW).value.status is PartnerStatus.ACTIVE


def test_plans_refuse_duplicate_step_keys() -> None:
    step = OnboardingStepTemplate("sign", "Sign", Period.of_days(1))
    with pytest.raises(ValidationError, match="step keys used twice: sign"):
        OnboardingPlan("p", (step, step))


def test_parents_form_a_tree_and_cycles_are_refused() -> None:
    distributor = partner(id="ptn_dist", type="distributor")
    reseller = partner(id="ptn_res", parent_id="ptn_dist")
    sub = partner(id="ptn_sub", parent_id="ptn_res")
    directory = {p.id: p for p in (distributor, reseller, sub)}
    with pytest.raises(ValidationError, match=r"ptn_dist -> ptn_sub -> ptn_res -> ptn_dist"):
        set_parent(distributor, "ptn_sub", lookup=directory.__getitem__, at=NOW)
    moved, events = set_parent(sub, "ptn_dist", lookup=directory.__getitem__, at=NOW)
    assert moved.parent_id == "ptn_dist"
    assert events[0].data == {"from_parent_id": "ptn_res", "to_parent_id": "ptn_dist"}
    top, _ = set_parent(sub, None, lookup=directory.__getitem__, at=NOW)
    assert top.parent_id is None


def test_set_parent_to_an_unknown_partner_is_not_found() -> None:
    def lookup(partner_id: str) -> Partner:
        raise NotFoundError("partner", partner_id)

    with pytest.raises(NotFoundError):
        set_parent(partner(), "ptn_ghost", lookup=lookup, at=NOW)


SCHEMA = CustomFieldSchema(
    (
        CustomField("employees", CustomFieldType.INTEGER, required=True),
        CustomField("vertical", CustomFieldType.CHOICE, options=("health", "retail")),
        CustomField("revenue_share", CustomFieldType.DECIMAL, default=Decimal("0.15")),
        CustomField("managed", CustomFieldType.BOOL),
        CustomField("contract_start", CustomFieldType.DATE),
        CustomField("notes", CustomFieldType.TEXT),
    )
)


def test_custom_fields_are_read_into_their_types_with_defaults() -> None:
    values = SCHEMA.validate(
        {"employees": "250", "vertical": "health", "managed": "yes", "contract_start": "2026-01-01"}
    )
    assert values == {
        "employees": 250,
        "vertical": "health",
        "revenue_share": Decimal("0.15"),
        "managed": True,
        "contract_start": date(2026, 1, 1),
    }
    assert attrs.evolve(partner(), custom_fields=values).custom_fields == values


def test_custom_field_errors_name_each_field() -> None:
    with pytest.raises(ValidationError) as info:
        SCHEMA.validate({"vertical": "mining", "managed": "perhaps", "tier": "gold"})
    assert sorted(info.value.paths) == [
        "custom_fields.employees",
        "custom_fields.managed",
        "custom_fields.tier",
        "custom_fields.vertical",
    ]
    assert "'mining' is not one of 'health', 'retail'" in str(info.value)


def test_custom_field_declarations_are_checked() -> None:
    with pytest.raises(ValidationError, match="needs at least one option"):
        CustomField("size", CustomFieldType.CHOICE)
    with pytest.raises(ValidationError, match="declared twice: size"):
        CustomFieldSchema(
            (CustomField("size", CustomFieldType.TEXT), CustomField("size", CustomFieldType.TEXT))
        )
    with pytest.raises(ValidationError, match="expected a whole number"):
        CustomField("seats", CustomFieldType.INTEGER, default="many")


def test_partners_refuse_values_a_schema_would_never_produce() -> None:
    with pytest.raises(ValidationError, match=r"custom_fields\.score"):
        partner(custom_fields={"score": 1.5})


def test_mappings_of_a_partner_cannot_be_changed_in_place() -> None:
    created = partner(custom_fields={"employees": 12})
    with pytest.raises(TypeError, match=r"attrs\.evolve"):
        created.custom_fields["employees"] = 13  # type: ignore[index]
    changed = attrs.evolve(created, custom_fields={**created.custom_fields, "employees": 13})
    assert changed.custom_fields == {"employees": 13}
    assert created.custom_fields == {"employees": 12}


def test_partners_pickle_with_their_frozen_mappings() -> None:
    import pickle  # noqa: PLC0415 - only this test needs it

    created = partner(custom_fields={"employees": 12})
    assert pickle.loads(pickle.dumps(created)) == created


def test_history_entries_refuse_naive_instants() -> None:
    from partnerkit.partners import StatusChange  # noqa: PLC0415

    with pytest.raises(ValidationError) as info:
        StatusChange(
            PartnerAction.SUSPEND,
            PartnerStatus.ACTIVE,
            PartnerStatus.SUSPENDED,
            "usr_cm",
            datetime(2026, 1, 1),  # noqa: DTZ001
        )
    assert info.value.paths == ("at",)
