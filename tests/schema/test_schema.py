"""The generated JSON Schemas agree with from_json on what a host accepts from the web."""

import json
from typing import Any

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from partnerkit import Activity, Partner, ValidationError
from partnerkit.schema import DIALECT, json_schema
from partnerkit.serialization import from_json, to_json
from partnerkit.services import DealChanges, DealDraft, OverrideRequest, PartnerChanges
from partnerkit.testing import strategies as pks

WEB_MODELS = [Partner, DealDraft, DealChanges, PartnerChanges, Activity, OverrideRequest]


def validator(model: type[Any]) -> jsonschema.Draft202012Validator:
    schema = json_schema(model)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def schema_accepts(model: type[Any], document: object) -> bool:
    return validator(model).is_valid(document)


def reader_accepts(model: type[Any], document: object) -> bool:
    try:
        from_json(model, json.dumps(document))
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize("model", WEB_MODELS, ids=lambda model: model.__name__)
def test_every_web_model_has_a_valid_schema(model: type[Any]) -> None:
    schema = json_schema(model)
    assert schema["$schema"] == DIALECT
    assert schema["title"] == model.__name__
    assert schema["additionalProperties"] is False
    jsonschema.Draft202012Validator.check_schema(schema)


def drafts() -> st.SearchStrategy[DealDraft]:
    return st.builds(
        DealDraft,
        customer=pks.customers(),
        amount=pks.money().map(abs),
        expected_close_on=st.dates(),
        products=st.lists(st.sampled_from(["cloud", "security", "Analytics"]), unique=True).map(
            tuple
        ),
        notes=st.text(max_size=40),
    )


@given(
    st.one_of(
        pks.partners(),
        drafts(),
        pks.activities(),
        st.builds(
            PartnerChanges,
            contacts=st.none() | st.tuples(pks.contacts(primary=True)),
            domains=st.none() | st.just(("acme.fi", "shop.acme.fi")),
            custom_fields=st.none() | st.just({"employees": 250, "vertical": None}),
            owner_id=st.none() | pks.ids("usr"),
        ),
    )
)
def test_what_partnerkit_writes_the_schema_accepts_and_from_json_reads(model: object) -> None:
    document = json.loads(to_json(model))
    assert schema_accepts(type(model), document), validator(type(model)).iter_errors(document)
    assert reader_accepts(type(model), document)


VALID_DRAFT: dict[str, Any] = {
    "customer": {"name": "Nordic Cloud Oy", "country": "FI", "domain": "nordiccloud.fi"},
    "amount": {"amount": "25000.00", "currency": "EUR"},
    "expected_close_on": "2026-06-30",
    "products": ["cloud"],
}
VALID_OVERRIDE: dict[str, Any] = {
    "reason": "new executive sponsor",
    "expires_at": "2026-05-01T00:00:00+00:00",
    "band": "at_risk",
}
VALID_ACTIVITY: dict[str, Any] = {
    "id": "inv-1",
    "partner_id": "ptn_1",
    "kind": "revenue_booked",
    "occurred_at": "2026-03-01T10:00:00Z",
    "value": {"amount": "100.00", "currency": "USD"},
}


def changed(document: dict[str, Any], **changes: Any) -> dict[str, Any]:
    result = {**document, **changes}
    return {key: value for key, value in result.items() if value is not ...}


@pytest.mark.parametrize(
    ("model", "document"),
    [
        (DealDraft, VALID_DRAFT),
        (DealDraft, changed(VALID_DRAFT, products=..., notes="call Anna")),
        (OverrideRequest, VALID_OVERRIDE),
        (OverrideRequest, changed(VALID_OVERRIDE, band=..., value="55.5")),
        (Activity, VALID_ACTIVITY),
        (Activity, changed(VALID_ACTIVITY, value="3", attributes={"seats": 3})),
        (PartnerChanges, {"custom_fields": {"since": {"date": "2020-01-01"}}}),
        (DealChanges, {"notes": "bigger", "amount": {"amount": "30000", "currency": "EUR"}}),
    ],
)
def test_valid_documents_are_accepted_by_both(model: type[Any], document: object) -> None:
    assert schema_accepts(model, document)
    assert reader_accepts(model, document)


@pytest.mark.parametrize(
    ("model", "document"),
    [
        (DealDraft, changed(VALID_DRAFT, customer=...)),
        (DealDraft, changed(VALID_DRAFT, partner_id="ptn_other")),
        (DealDraft, changed(VALID_DRAFT, status="approved")),
        (DealDraft, changed(VALID_DRAFT, amount={"amount": "12", "currency": "XXY"})),
        (DealDraft, changed(VALID_DRAFT, amount=12)),
        (DealDraft, changed(VALID_DRAFT, expected_close_on="next week")),
        (DealDraft, changed(VALID_DRAFT, customer={"name": "Acme", "country": "ZZ"})),
        (DealDraft, changed(VALID_DRAFT, products="cloud")),
        (OverrideRequest, changed(VALID_OVERRIDE, author="usr_ceo")),
        (OverrideRequest, changed(VALID_OVERRIDE, expires_at="2026-05-01T00:00:00")),
        (OverrideRequest, changed(VALID_OVERRIDE, reason=None)),
        (Activity, changed(VALID_ACTIVITY, kind="Revenue Booked")),
        (Activity, changed(VALID_ACTIVITY, partner_id="")),
        (Activity, changed(VALID_ACTIVITY, attributes={"nested": {"a": 1}})),
        (PartnerChanges, {"status": "active"}),
        (PartnerChanges, {"owner_id": "has space"}),
        (PartnerChanges, {"custom_fields": {"since": {"when": "2020-01-01"}}}),
        (DealChanges, {"registered_at": "2026-01-01T00:00:00Z"}),
    ],
)
def test_invalid_documents_are_refused_by_both(model: type[Any], document: object) -> None:
    assert not schema_accepts(model, document)
    assert not reader_accepts(model, document)


def test_only_models_have_a_schema() -> None:
    with pytest.raises(ValidationError, match="model class"):
        json_schema(dict)
