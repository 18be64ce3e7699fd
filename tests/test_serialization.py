import contextlib
import enum
import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import partnerkit
from partnerkit import Cadence, Money, Period, ValidationError
from partnerkit.serialization import (
    SCHEMA_VERSION_KEY,
    _load_json,
    _load_toml,
    from_dict,
    from_json,
    register_migration,
    schema_version,
    to_dict,
    to_json,
)
from partnerkit.testing import strategies as pks

# Every public model and a strategy for it. A new public model must be added here
# (test_every_public_model_has_a_round_trip_strategy enforces it).
MODELS: dict[type[Any], st.SearchStrategy[Any]] = {
    Money: pks.money(),
    Cadence: pks.cadences(),
    partnerkit.Partner: pks.partners(stored=True),
    partnerkit.Contact: pks.contacts(),
    partnerkit.CustomFieldSchema: pks.custom_field_schemas(),
    partnerkit.CustomField: pks.custom_field_schemas()
    .filter(lambda schema: bool(schema.fields))
    .map(lambda schema: schema.fields[0]),
    partnerkit.OnboardingPlan: pks.onboarding_plans(),
    partnerkit.OnboardingStepTemplate: pks.onboarding_plans()
    .filter(lambda plan: bool(plan.steps))
    .map(lambda plan: plan.steps[0]),
    partnerkit.Activity: pks.activities(),
    partnerkit.MetricDefinition: pks.metric_definitions(),
    partnerkit.MetricSnapshot: pks.metric_snapshots(),
    partnerkit.Window: pks.windows(),
    partnerkit.Event: pks.events(),
    partnerkit.EventRecord: pks.event_records(),
    partnerkit.ScoringModel: pks.scoring_models(),
    partnerkit.Program: pks.programs(),
    partnerkit.Tier: pks.programs().map(lambda program: program.tiers[-1]),
    partnerkit.Membership: pks.programs().flatmap(pks.memberships),
    partnerkit.TierDecision: pks.tier_decisions(),
    partnerkit.DealRegistration: pks.deal_registrations(),
    partnerkit.Customer: pks.customers(),
    partnerkit.HealthScore: pks.health_scores(),
}
# Values written as one JSON string inside models, like dates and Decimals.
VALUES: dict[type[Any], st.SearchStrategy[Any]] = {Period: pks.periods(allow_negative=True)}
# Public attrs classes that are services or plumbing, not stored data.
NOT_MODELS = {"FieldProblem", "FixedClock", "FixedRates", "SystemClock"}


def test_every_public_model_has_a_round_trip_strategy() -> None:
    public = {
        name
        for name in partnerkit.__all__
        if isinstance(getattr(partnerkit, name), type) and attrs.has(getattr(partnerkit, name))
    }
    assert public - NOT_MODELS == {model.__name__ for model in [*MODELS, *VALUES]}


@given(st.sampled_from(list(MODELS)).flatmap(MODELS.__getitem__))
def test_every_model_round_trips_through_dict_and_json(model: Any) -> None:
    cls = type(model)
    assert from_dict(cls, to_dict(model)) == model
    assert from_json(cls, to_json(model)) == model


@given(st.sampled_from(list(VALUES)).flatmap(VALUES.__getitem__))
def test_every_value_round_trips_through_json(value: Any) -> None:
    assert from_json(type(value), to_json(value)) == value


def test_values_are_not_documents() -> None:
    assert to_json(Period(days=90)) == '"P90D"'
    with pytest.raises(ValidationError, match="serialise on their own with to_json"):
        to_dict(Period(days=90))


class Role(enum.Enum):
    SALES = "sales"
    TECHNICAL = "technical"


@attrs.frozen
class Contact:
    name: str
    email: str
    role: Role
    primary: bool = False


@attrs.frozen
class Sample:
    name: str
    joined_on: date
    created_at: datetime
    revenue: Money
    window: Period
    score: Decimal
    contacts: tuple[Contact, ...]
    tags: dict[str, int]
    version: int = 1


def sample() -> Sample:
    return Sample(
        name="Nørdisk Partners Oy",
        joined_on=date(2024, 2, 29),
        created_at=datetime(
            2026, 3, 1, 9, 30, 0, 123456, tzinfo=timezone(timedelta(hours=5, minutes=45))
        ),
        revenue=Money("1234567.891", "KWD"),
        window=Period(years=1, months=2),
        score=Decimal("71.250"),
        contacts=(
            Contact("Aino", "aino@example.fi", Role.SALES, primary=True),
            Contact("Ben", "ben@example.com", Role.TECHNICAL),
        ),
        tags={"region": 3},
    )


def test_a_nested_model_serialises_to_plain_exact_json_values() -> None:
    data = to_dict(sample())
    assert data == {
        "name": "Nørdisk Partners Oy",
        "joined_on": "2024-02-29",
        "created_at": "2026-03-01T09:30:00.123456+05:45",
        "revenue": {"amount": "1234567.891", "currency": "KWD"},
        "window": "P1Y2M",
        "score": "71.250",
        "contacts": [
            {"name": "Aino", "email": "aino@example.fi", "role": "sales", "primary": True},
            {"name": "Ben", "email": "ben@example.com", "role": "technical", "primary": False},
        ],
        "tags": {"region": 3},
        "version": 1,
        SCHEMA_VERSION_KEY: 1,
    }
    assert from_json(Sample, to_json(sample())) == sample()


def test_json_keeps_unicode_readable() -> None:
    assert "Nørdisk" in to_json(sample())


def broken(**changes: Any) -> dict[str, Any]:
    data = to_dict(sample())
    for path, value in changes.items():
        target = data
        *parents, leaf = path.split("__")
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        if value is KeyError:
            del target[int(leaf) if leaf.isdigit() else leaf]
        else:
            target[int(leaf) if leaf.isdigit() else leaf] = value
    return data


@pytest.mark.parametrize(
    ("data", "path", "message"),
    [
        (broken(contacts__1__email=42), "contacts[1].email", "expected a string, got int"),
        (broken(contacts__0__role="boss"), "contacts[0].role", "'boss' is not one of 'sales'"),
        (broken(contacts__1__primary="yes"), "contacts[1].primary", "expected true or false"),
        (broken(name=KeyError), "name", "required field is missing"),
        (broken(nickname="x"), "nickname", "unknown field of Sample"),
        (broken(contacts__0__age=3), "contacts[0].age", "unknown field of Contact"),
        (broken(created_at="2026-03-01T09:30:00"), "created_at", "has no UTC offset"),
        (broken(joined_on="29.02.2024"), "joined_on", "is not an ISO 8601 date"),
        (broken(revenue__amount=1.5), "revenue.amount", "floats cannot hold money"),
        (broken(revenue__currency="XXX"), "revenue.currency", "unknown currency"),
        (broken(revenue__cents=1), "revenue.cents", "unknown field of Money"),
        (broken(window="3 fortnights"), "window", "cannot read '3 fortnights' as a period"),
        (broken(score="NaN"), "score", "not a finite number"),
        (broken(score=True), "score", "bool"),
        (broken(contacts="Aino"), "contacts", "expected a list, got str"),
        (broken(contacts__1="Ben"), "contacts[1]", "expected an object for Contact"),
        (broken(tags=["region"]), "tags", "expected an object, got list"),
        (broken(tags__region="3"), "tags['region']", "expected a whole number"),
        (broken(version=1.5), "version", "expected a whole number"),
    ],
)
def test_bad_input_names_the_field_path(data: dict[str, Any], path: str, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        from_dict(Sample, data)
    assert info.value.paths == (path,)
    assert message in str(info.value)


def test_every_bad_field_is_reported_at_once() -> None:
    data = broken(name=KeyError, contacts__1__email=None, revenue__currency="EURO", extra=1)
    with pytest.raises(ValidationError) as info:
        from_dict(Sample, data)
    assert sorted(info.value.paths) == ["contacts[1].email", "extra", "name", "revenue.currency"]


def test_json_numbers_with_fractions_are_read_exactly() -> None:
    text = (
        json.dumps(broken())
        .replace('"71.250"', "71.250")
        .replace('"amount": "1234567.891"', '"amount": 1234567.891')
    )
    assert from_json(Sample, text) == sample()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not valid JSON"),
        ('{"amount": NaN, "currency": "USD"}', "NaN is not a number JSON may carry"),
        ('{"amount": Infinity, "currency": "USD"}', "Infinity is not a number JSON may carry"),
        ("[]", "expected an object"),
        ('{"amount": 1e400, "currency": "USD"}', "out of range"),
        ('{"amount": ' + "9" * 5000 + ', "currency": "USD"}', "out of range"),
        ('{"amount": 1e' + "9" * 5000 + ', "currency": "USD"}', "too long a number to read"),
        ("[" * 100_000 + "]" * 100_000, "more than 64 levels deep"),
        ("[" * 65 + "]" * 65, "more than 64 levels deep"),
    ],
)
def test_from_json_refuses_junk_with_a_validation_error(text: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        from_json(Money, text)


def test_documents_from_a_newer_release_are_refused_with_the_fix() -> None:
    with pytest.raises(ValidationError, match="upgrade partnerkit") as info:
        from_dict(Money, {"amount": "1", "currency": "USD", SCHEMA_VERSION_KEY: 99})
    assert info.value.paths == (SCHEMA_VERSION_KEY,)


@pytest.mark.parametrize("version", [0, "1", True, None])
def test_schema_version_must_be_a_positive_whole_number(version: object) -> None:
    with pytest.raises(ValidationError, match="positive whole number"):
        from_dict(Money, {"amount": "1", "currency": "USD", SCHEMA_VERSION_KEY: version})


def test_documents_from_an_older_release_are_upgraded_step_by_step() -> None:
    @attrs.frozen
    class Renamed:
        title: str
        tier: int

    register_migration(Renamed, 1, lambda d: {"title": d.pop("name"), **d})
    register_migration(Renamed, 2, lambda d: {**d, "tier": d.get("tier", 1)})
    assert schema_version(Renamed) == 3
    assert from_dict(Renamed, {"name": "Acme", SCHEMA_VERSION_KEY: 1}) == Renamed("Acme", 1)
    assert from_dict(Renamed, {"title": "Acme", SCHEMA_VERSION_KEY: 2}) == Renamed("Acme", 1)
    assert to_dict(Renamed("Acme", 2))[SCHEMA_VERSION_KEY] == 3


def test_to_dict_refuses_what_is_not_a_model() -> None:
    with pytest.raises(ValidationError, match="expected a partnerkit model"):
        to_dict({"a": 1})


JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(
        ["NaN", "Infinity", "-0", "1e999", "2026-03-01T09:30:00", "2026-13-45", "XXX", "P1.5D", ""]
    ),
)
JUNK = st.recursive(
    JSON_LEAVES,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


def _mutations(document: Any) -> list[Callable[[Any], None]]:
    """Every way to replace one value somewhere inside ``document`` (applied later)."""
    found: list[Callable[[Any], None]] = []
    if isinstance(document, dict):
        for key, value in document.items():
            found.append(lambda junk, d=document, k=key: d.__setitem__(k, junk))
            found.append(lambda _junk, d=document, k=key: d.pop(k))
            found += _mutations(value)
        found.append(lambda junk, d=document: d.__setitem__("surprise", junk))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            found.append(lambda junk, d=document, i=index: d.__setitem__(i, junk))
            found += _mutations(value)
    return found


@given(JUNK)
def test_fuzz_arbitrary_json_raises_only_validation_errors(junk: Any) -> None:
    text = json.dumps(junk)
    for cls in (Sample, Money, Period, Cadence):
        with contextlib.suppress(ValidationError):
            from_json(cls, text)


@given(st.data(), JUNK)
def test_fuzz_one_corrupted_field_raises_only_validation_errors(
    data: st.DataObject, junk: Any
) -> None:
    document = json.loads(to_json(sample()))
    mutations = _mutations(document)
    data.draw(st.sampled_from(mutations))(junk)
    with contextlib.suppress(ValidationError):
        from_json(Sample, json.dumps(document))


def test_fuzz_targets_naive_datetimes_and_unknown_currencies_explicitly() -> None:
    for data in (broken(created_at="2026-03-01T09:30:00"), broken(revenue__currency="ZZZ")):
        with pytest.raises(ValidationError):
            from_json(Sample, json.dumps(data))


def test_naive_datetime_models_are_refused_on_the_way_in() -> None:
    with pytest.raises(ValidationError, match="no UTC offset"):
        from_dict(Cadence, {"rule": "FREQ=DAILY", "anchor": "2026-01-01T00:00:00"})
    assert from_dict(Cadence, {"rule": "FREQ=DAILY", "anchor": "2026-01-01T00:00:00Z"}) == Cadence(
        "FREQ=DAILY", anchor=datetime(2026, 1, 1, tzinfo=UTC)
    )


# --- hostile documents: bounded, and refused by path ---------------------------------


def test_instants_near_year_1_or_9999_are_refused_not_overflowed() -> None:
    for anchor in ("0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"):
        with pytest.raises(ValidationError, match="years 1900 to 2999") as caught:
            from_json(Cadence, json.dumps({"rule": "FREQ=DAILY", "anchor": anchor}))
        assert caught.value.paths == ("anchor",)


@pytest.mark.parametrize(
    "number", ["9" * 5000, "1E999999999", "1e-999999999", "10000000000000000000"]
)
def test_numbers_out_of_bounds_are_refused_by_path_before_arithmetic(number: str) -> None:
    document = (
        f'{{"partner_id": "p", "as_of": "2026-01-01T00:00:00Z", "values": {{"x": {number}}}}}'
    )
    with pytest.raises(ValidationError) as caught:
        from_json(partnerkit.MetricSnapshot, document)
    assert caught.value.paths == ("values['x']",)


def test_whole_number_fields_refuse_huge_decimals_without_building_them() -> None:
    with pytest.raises(ValidationError, match="out of range") as caught:
        from_json(Sample, json.dumps(broken()).replace('"version": 1', '"version": 1E999999999'))
    assert caught.value.paths == ("version",)


def test_load_json_names_the_line_and_column() -> None:
    with pytest.raises(ValidationError, match=r"^line 2, column 3: not valid JSON"):
        _load_json("[1,\n  }")
    assert _load_json('{"a": 1.5, "b": 12}'.encode("utf-16")) == {"a": Decimal("1.5"), "b": 12}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a" + ".a" * 100_000 + " = 1", "line 1, column 1: a dotted key has more than 64 parts"),
        ("x = 1\ny = " + "9" * 5000, "line 2, column 5: a number has more than 4,300 digits"),
        ("y = 0x" + "f" * 5000, "line 1, column 5: a number has more than 4,300 digits"),
        ("a = " + "[" * 5000 + "]" * 5000, "more than 64 levels deep"),
        ("a = " + "[" * 65 + "]" * 65, "more than 64 levels deep"),
        ("a = 1e" + "9" * 5000, "line 1, column 5: 1e9999"),
        ("a = [", "not valid TOML"),
    ],
)
def test_load_toml_refuses_what_tomllib_would_choke_on(text: str, message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        _load_toml(text, parse_float=Decimal)


def test_load_toml_reads_keys_and_strings_that_only_look_deep() -> None:
    text = 'a.b.c = "x.y.z"\n"p.q" = 1  # a.b.c.d.e\nlong = "' + "9" * 5000 + '"\n'
    assert _load_toml(text) == {"a": {"b": {"c": "x.y.z"}}, "p.q": 1, "long": "9" * 5000}
