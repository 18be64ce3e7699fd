from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from partnerkit import (
    CurrencyMismatchError,
    FixedRates,
    Money,
    NotFoundError,
    RateSource,
    ValidationError,
)
from partnerkit._base.money import check_number
from partnerkit.testing import strategies as pks

NOW = datetime(2026, 11, 22, tzinfo=UTC)


def usd(amount: str) -> Money:
    return Money(amount, "USD")


def test_money_keeps_the_amount_exactly_as_given() -> None:
    assert Money("0.10", "USD").amount == Decimal("0.10")
    assert Money(Decimal("1.005"), "usd") == Money("1.005", "USD")


@pytest.mark.parametrize("amount", [0.1, 1.0, float("nan")])
def test_floats_are_refused_with_a_hint(amount: float) -> None:
    with pytest.raises(ValidationError, match=r"pass a str such as '12\.50'") as info:
        Money(amount, "USD")  # type: ignore[arg-type]
    assert info.value.paths == ("amount",)


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("NaN", "not a finite number"),
        ("Infinity", "not a finite number"),
        ("12,50", "is not a number"),
        ("1e18", "out of range"),
        ("0.0000000001", "more than 9 decimal places"),
        (True, "bool"),
        (None, "expected a Decimal, int or numeric str"),
    ],
)
def test_bad_amounts_are_refused(amount: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Money(amount, "USD")  # type: ignore[arg-type]


def test_unknown_currency_and_bad_amount_are_reported_together() -> None:
    with pytest.raises(ValidationError) as info:
        Money("abc", "XYZ")
    assert info.value.paths == ("amount", "currency")
    assert "ISO 4217" in str(info.value)


@pytest.mark.parametrize(("code", "places"), [("JPY", 0), ("USD", 2), ("KWD", 3), ("CLF", 4)])
def test_each_currency_knows_its_minor_unit(code: str, places: int) -> None:
    assert Money("1", code).minor_unit == places


def test_metals_and_test_codes_hold_no_money() -> None:
    for code in ("XAU", "XTS", "XXX"):
        with pytest.raises(ValidationError, match="unknown currency"):
            Money("1", code)


def test_addition_and_subtraction_within_one_currency() -> None:
    assert usd("10.10") + usd("0.90") == usd("11.00")
    assert usd("10.10") - usd("0.10") == usd("10.00")
    assert -usd("5") == usd("-5")
    assert abs(usd("-5")) == usd("5")


def test_builtin_sum_works_and_an_empty_total_has_a_currency() -> None:
    assert sum([usd("1.50"), usd("2.50")]) == usd("4.00")
    assert Money.sum([], currency="EUR") == Money("0", "EUR")


@pytest.mark.parametrize(
    "operation",
    [
        lambda a, b: a + b,
        lambda a, b: a - b,
        lambda a, b: a < b,
        lambda a, b: a >= b,
        lambda a, b: a.ratio(b),
        lambda a, b: Money.sum([a, b], currency="USD"),
    ],
)
def test_mixing_currencies_raises(operation: object) -> None:
    with pytest.raises(CurrencyMismatchError, match=r"convert one side first"):
        operation(usd("1"), Money("1", "EUR"))  # type: ignore[operator]


def test_money_in_different_currencies_is_unequal_not_an_error() -> None:
    assert usd("1") != Money("1", "EUR")


def test_comparisons_within_one_currency() -> None:
    assert usd("1.00") == usd("1")
    assert usd("1") < usd("1.01") <= usd("1.01")
    assert max(usd("3"), usd("7"), usd("5")) == usd("7")


def test_multiplying_rounds_half_even_to_the_minor_unit() -> None:
    assert usd("0.125") * 1 == usd("0.12")
    assert usd("0.135") * 1 == usd("0.14")
    assert usd("19.99") * Decimal("0.15") == usd("3.00")
    assert 3 * usd("1.11") == usd("3.33")
    assert Money("1000", "JPY") * Decimal("0.333") == Money("333", "JPY")


def test_multiply_takes_another_rounding_mode() -> None:
    assert usd("0.125").multiply(1, rounding=ROUND_HALF_UP) == usd("0.13")


def test_multiplying_by_a_float_is_refused() -> None:
    with pytest.raises(ValidationError, match="float"):
        usd("1") * 1.5


def test_dividing_rounds_and_refuses_zero() -> None:
    assert usd("10.00") / 3 == usd("3.33")
    with pytest.raises(ValidationError, match="by zero"):
        usd("1") / 0


def test_ratio_of_two_amounts_is_a_decimal() -> None:
    assert usd("42").ratio(usd("100")) == Decimal("0.42")


def test_rounded_follows_the_currency() -> None:
    assert Money("2.5", "JPY").rounded() == Money("2", "JPY")
    assert Money("1.0005", "KWD").rounded() == Money("1.000", "KWD")
    assert round(usd("2.675")) == usd("2.68")


def test_minor_units_round_trip() -> None:
    assert usd("19.99").minor_units == 1999
    assert Money.from_minor_units(1999, "USD") == usd("19.99")
    with pytest.raises(ValidationError, match=r"call \.rounded\(\) first"):
        _ = usd("0.001").minor_units


def test_allocation_gives_leftover_cents_to_the_first_parts() -> None:
    assert usd("100.00").allocate([1, 1, 1]) == [usd("33.34"), usd("33.33"), usd("33.33")]


def test_allocation_follows_ratios_and_largest_remainders() -> None:
    assert usd("0.05").allocate([3, 7]) == [usd("0.02"), usd("0.03")]
    assert usd("-100.00").allocate([1, 1, 1]) == [usd("-33.34"), usd("-33.33"), usd("-33.33")]
    assert Money("5", "JPY").allocate(["0.5", "0.25", "0.25"]) == [
        Money("3", "JPY"),
        Money("1", "JPY"),
        Money("1", "JPY"),
    ]


@pytest.mark.parametrize(
    ("ratios", "message"),
    [([], "greater than zero"), ([0, 0], "greater than zero"), ([1, -1], "negative")],
)
def test_allocation_refuses_bad_ratios(ratios: list[int], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        usd("1").allocate(ratios)


@given(
    pks.money(exact_minor_units=True),
    st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=12),
)
def test_allocation_sums_to_the_original(amount: Money, ratios: list[int]) -> None:
    assume(sum(ratios) > 0)
    parts = amount.allocate(ratios)
    assert Money.sum(parts, currency=amount.currency) == amount
    assert len(parts) == len(ratios)


@given(
    pks.money(exact_minor_units=True, allow_negative=False),
    st.lists(st.integers(min_value=1, max_value=1000), min_size=1, max_size=12),
)
def test_allocated_parts_are_within_one_minor_unit_of_the_exact_share(
    amount: Money, ratios: list[int]
) -> None:
    parts = amount.allocate(ratios)
    for part, ratio in zip(parts, ratios, strict=True):
        exact = Decimal(amount.minor_units) * ratio / sum(ratios)
        assert abs(Decimal(part.minor_units) - exact) < 1


@given(pks.currencies().flatmap(lambda code: st.tuples(*[pks.money(code)] * 3)))
def test_addition_is_associative_and_commutative(triple: tuple[Money, Money, Money]) -> None:
    a, b, c = triple
    assert (a + b) + c == a + (b + c)
    assert a + b == b + a
    assert a - a == Money.zero(a.currency)


@given(pks.money())
def test_str_shows_the_amount_with_grouping_and_the_code(amount: Money) -> None:
    text = str(amount)
    assert text.endswith(f" {amount.currency}")
    assert Money.parse(text) == amount


def test_str_pads_to_the_minor_unit_for_display() -> None:
    assert str(usd("12000")) == "12,000.00 USD"
    assert str(Money("12000", "JPY")) == "12,000 JPY"
    assert repr(usd("12000")) == "Money('12000', 'USD')"


@pytest.mark.parametrize("text", ["1,234.50 EUR", "EUR 1234.50", "1234.5 eur"])
def test_parse_reads_common_forms(text: str) -> None:
    assert Money.parse(text) == Money("1234.50", "EUR")


def test_parse_refuses_text_without_a_currency() -> None:
    with pytest.raises(ValidationError, match=r"write it like '1234\.50 EUR'"):
        Money.parse("1234.50")


def test_conversion_goes_through_the_rate_source_and_rounds() -> None:
    rates = FixedRates({("EUR", "USD"): "1.0825"})
    assert isinstance(rates, RateSource)
    assert Money("100", "EUR").convert("USD", rates, as_of=NOW) == usd("108.25")
    assert usd("108.25").convert("EUR", rates, as_of=NOW) == Money("100.00", "EUR")
    assert usd("5").convert("USD", rates, as_of=NOW) == usd("5")


def test_conversion_without_a_rate_is_not_found() -> None:
    with pytest.raises(NotFoundError, match="add the pair"):
        usd("1").convert("JPY", FixedRates({}), as_of=NOW)


def test_conversion_needs_an_aware_instant() -> None:
    with pytest.raises(ValidationError, match="no timezone"):
        usd("1").convert("EUR", FixedRates({}), as_of=datetime(2026, 1, 1))  # noqa: DTZ001


def test_a_rate_source_that_returns_a_float_is_caught() -> None:
    class Sloppy:
        def rate(self, base: str, quote: str, as_of: datetime) -> Decimal:
            return 1.1  # type: ignore[return-value]

    with pytest.raises(ValidationError, match="positive, finite Decimals"):
        usd("1").convert("EUR", Sloppy(), as_of=NOW)


def test_fixed_rates_validate_every_pair() -> None:
    with pytest.raises(ValidationError) as info:
        FixedRates({("EUR", "USD"): 0, ("EUR", "ABC"): "1"})  # type: ignore[dict-item]
    assert len(info.value.problems) == 2


def test_money_is_hashable_and_equal_amounts_hash_alike() -> None:
    assert {usd("1.0"), usd("1.00")} == {usd("1")}


def test_a_rate_given_the_other_way_round_divides_exactly_and_rounds_once() -> None:
    from datetime import UTC, datetime  # noqa: PLC0415

    from partnerkit import FixedRates, Money  # noqa: PLC0415

    rates = FixedRates({("EUR", "USD"): "1.2"})
    at = datetime(2026, 1, 1, tzinfo=UTC)
    # 0.09 / 1.2 = 0.075 exactly; half to even gives 0.08, not 0.07 from 0.0749999...
    assert Money("0.09", "USD").convert("EUR", rates, as_of=at) == Money("0.08", "EUR")
    assert Money("0.03", "USD").convert("EUR", rates, as_of=at) == Money("0.02", "EUR")
    assert Money("100", "USD").convert("EUR", rates, as_of=at) == Money("83.33", "EUR")
    assert rates.is_inverse("USD", "EUR")
    assert not rates.is_inverse("EUR", "USD")


# --- the bounds every number in partnerkit stays within ------------------------------


@pytest.mark.parametrize(
    "number", [0, 10**18 - 1, -(10**18) + 1, Decimal("999999999999999999.999999999")]
)
def test_numbers_below_10_to_the_18_are_within_bounds(number: int | Decimal) -> None:
    assert check_number(number) == number


@pytest.mark.parametrize(
    ("number", "shown"),
    [
        (10**18, "1000000000000000000 is out of range"),
        pytest.param(-(10**5000), "a whole number that long is out of range", id="5000 digits"),
        (Decimal("1E999999999"), "1E+999999999 is out of range"),
        (Decimal("9" * 5000), "1.000000E+5000 is out of range"),
        (Decimal("1E-999999999"), "1E-999999999 has more than 9 decimal places"),
    ],
)
def test_numbers_out_of_bounds_are_refused_without_building_their_digits(
    number: int | Decimal, shown: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        check_number(number, "values['revenue']")
    assert str(caught.value).startswith(f"values['revenue']: {shown}")
