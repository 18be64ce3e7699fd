"""Money: an exact Decimal amount in one ISO 4217 currency."""

from __future__ import annotations

import decimal
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING, Final, Protocol, SupportsIndex, cast, runtime_checkable

import attrs

from partnerkit._base.currencies import MINOR_UNITS
from partnerkit._base.time import to_utc
from partnerkit.errors import (
    CurrencyMismatchError,
    FieldProblem,
    NotFoundError,
    ValidationError,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from datetime import datetime
    from typing import Self

__all__ = ["DEFAULT_ROUNDING", "FixedRates", "Money", "RateSource", "to_decimal"]

#: The rounding mode partnerkit uses when an operation must round to a currency's
#: minor unit and the caller does not name one: round half to even ("banker's
#: rounding"), which does not drift upwards when many amounts are rounded.
DEFAULT_ROUNDING: Final = ROUND_HALF_EVEN

_ROUNDINGS: Final = frozenset(
    {
        decimal.ROUND_CEILING,
        decimal.ROUND_DOWN,
        decimal.ROUND_FLOOR,
        decimal.ROUND_HALF_DOWN,
        decimal.ROUND_HALF_EVEN,
        decimal.ROUND_HALF_UP,
        decimal.ROUND_UP,
        decimal.ROUND_05UP,
    }
)
# Bounds that keep every sum and product of amounts exact within Decimal's default
# 28 significant digits: 18 integer digits and 9 decimal places.
_MAX_ADJUSTED: Final = 17
_MIN_EXPONENT: Final = -9
_QUANTA: Final = {places: Decimal(1).scaleb(-places) for places in range(5)}
_FLOAT_HINT: Final = (
    "floats cannot hold money exactly; pass a str such as '12.50' or a decimal.Decimal"
)


def to_decimal(value: object, path: str = "amount") -> Decimal:
    """Turn ``value`` into a finite Decimal within partnerkit's range, or explain why not.

    Accepts ``Decimal``, ``int`` and numeric strings (``"1234.50"``, ``"1_000"``).
    Refuses ``float`` (inexact), ``bool``, NaN, infinities, and values with more than
    18 integer digits or 9 decimal places.

    Args:
        value: The value to convert.
        path: The field path named in the error.

    Raises:
        ValidationError: If the value is not an exact, finite number in range.
    """
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, bool):
        raise ValidationError.single(path, f"expected a number, got the bool {value!r}")
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        raise ValidationError.single(path, f"got the float {value!r}; {_FLOAT_HINT}")
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except decimal.InvalidOperation:
            raise ValidationError.single(
                path, f"{value!r} is not a number; write it like '1234.50'"
            ) from None
    else:
        raise ValidationError.single(
            path, f"expected a Decimal, int or numeric str, got {type(value).__name__}"
        )
    return _check_range(number, path)


#: Every number partnerkit accepts (amounts, counts, metric values) stays below this
#: in magnitude.
NUMBER_LIMIT: Final = 10**18


def check_number(value: int | Decimal, path: str = "value") -> int | Decimal:
    """Return ``value`` if it is within the bounds money amounts have, else explain.

    Whole numbers must stay below 10**18 in magnitude; Decimals too, with at most 9
    decimal places (like `to_decimal`). Checking is cheap for any input, however
    many digits it has, so it can run before any arithmetic.

    Raises:
        ValidationError: Naming ``path``, if the number is out of range.
    """
    if isinstance(value, Decimal):
        return _check_range(value, path)
    if not -NUMBER_LIMIT < value < NUMBER_LIMIT:
        # str() of a huge int is slow (and refused past 4,300 digits): describe it.
        shown = str(value) if value.bit_length() <= 128 else "a whole number that long"
        raise ValidationError.single(
            path, f"{shown} is out of range: numbers must stay below 10**18 in magnitude"
        )
    return value


def _check_range(number: Decimal, path: str) -> Decimal:
    if not number.is_finite():
        raise ValidationError.single(path, f"{number} is not a finite number")
    exponent = cast("int", number.as_tuple().exponent)  # an int for every finite number
    if not number:
        return Decimal(0) if exponent < _MIN_EXPONENT else abs(number)
    if number.adjusted() > _MAX_ADJUSTED:
        raise ValidationError.single(
            path, f"{_shown(number)} is out of range: amounts must stay below 10**18 in magnitude"
        )
    if exponent < _MIN_EXPONENT:
        raise ValidationError.single(
            path, f"{_shown(number)} has more than 9 decimal places; round it first"
        )
    return number


def _shown(number: Decimal) -> str:
    """``number`` for an error message: as written, or in short E notation if long."""
    text = str(number)
    return text if len(text) <= 40 else f"{number:.6E}"


def check_currency(code: object, path: str = "currency") -> str:
    """Return the upper-cased ISO 4217 code, or raise `ValidationError` naming ``path``."""
    if not isinstance(code, str):
        raise ValidationError.single(
            path, f"expected an ISO 4217 code such as 'USD', got {type(code).__name__}"
        )
    upper = code.strip().upper()
    if upper not in MINOR_UNITS:
        raise ValidationError.single(
            path, f"unknown currency {code!r}; use an ISO 4217 code such as 'USD' or 'EUR'"
        )
    return upper


def _check_rounding(rounding: str) -> str:
    if rounding not in _ROUNDINGS:
        raise ValidationError.single(
            "rounding", f"unknown rounding mode {rounding!r}; use a decimal.ROUND_* constant"
        )
    return rounding


def _factor(value: object, path: str) -> Decimal:
    if isinstance(value, float):
        raise ValidationError.single(
            path, f"got the float {value!r}; pass an int, a Decimal or a numeric str"
        )
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValidationError.single(path, f"{value} is not a finite number")
        return value
    return to_decimal(value, path)


@attrs.frozen(init=False, repr=False, order=False)
class Money:
    """An exact amount of money in one ISO 4217 currency.

    ``Money("1234.50", "EUR")`` keeps the amount exactly as given. Arithmetic and
    comparisons work within one currency and raise `CurrencyMismatchError` across
    currencies. Operations that must round (multiplying, dividing, converting) round
    to the currency's minor unit with `DEFAULT_ROUNDING` (half to even) unless the
    method is given another ``rounding``.

    Args:
        amount: A ``Decimal``, ``int`` or numeric ``str``; never a ``float``.
        currency: An ISO 4217 code such as ``"USD"`` (case-insensitive).

    Raises:
        ValidationError: Listing every problem with ``amount`` and ``currency``.
    """

    amount: Decimal
    currency: str

    def __init__(self, amount: Decimal | int | str, currency: str) -> None:
        problems: list[FieldProblem] = []
        try:
            number = to_decimal(amount)
        except ValidationError as error:
            problems.extend(error.problems)
        try:
            code = check_currency(currency)
        except ValidationError as error:
            problems.extend(error.problems)
        if problems:
            raise ValidationError(problems)
        self.__attrs_init__(number, code)

    @classmethod
    def _trusted(cls, amount: Decimal, currency: str) -> Self:
        money = object.__new__(cls)
        object.__setattr__(money, "amount", amount)
        object.__setattr__(money, "currency", currency)
        return money

    @classmethod
    def zero(cls, currency: str) -> Self:
        """Zero in ``currency``."""
        return cls._trusted(Decimal(0), check_currency(currency))

    @classmethod
    def from_minor_units(cls, units: int, currency: str) -> Self:
        """Build from an integer count of minor units: ``(1999, "USD")`` is 19.99 USD."""
        code = check_currency(currency)
        if isinstance(units, bool) or not isinstance(units, int):
            raise ValidationError.single("units", "expected an int count of minor units")
        return cls._trusted(_check_range(Decimal(units).scaleb(-MINOR_UNITS[code]), "units"), code)

    @classmethod
    def parse(cls, text: str) -> Self:
        """Parse ``"1,234.50 EUR"`` or ``"EUR 1234.50"`` (thousands commas are ignored).

        Raises:
            ValidationError: If the text is not an amount and a currency code.
        """
        parts = text.split() if isinstance(text, str) else []
        if len(parts) == 2:
            first, second = parts
            amount, code = (second, first) if first.isalpha() else (first, second)
            return cls(amount.replace(",", ""), code)
        raise ValidationError.single(
            "money", f"cannot read {text!r} as money; write it like '1234.50 EUR'"
        )

    @classmethod
    def sum(cls, items: Iterable[Money], *, currency: str) -> Self:
        """Add up ``items``, all in ``currency``; an empty iterable gives zero."""
        code = check_currency(currency)
        total = Decimal(0)
        for item in items:
            if item.currency != code:
                raise CurrencyMismatchError(code, item.currency, "add")
            total += item.amount
        return cls._trusted(_check_range(total, "amount"), code)

    @property
    def minor_unit(self) -> int:
        """How many decimal places the currency uses: 2 for USD, 0 for JPY, 3 for KWD."""
        return MINOR_UNITS[self.currency]

    @property
    def minor_units(self) -> int:
        """The amount as an integer count of minor units (cents for USD).

        Raises:
            ValidationError: If the amount has more decimals than the currency uses.
        """
        scaled = self.amount.scaleb(self.minor_unit)
        if scaled != scaled.to_integral_value():
            raise ValidationError.single(
                "amount",
                f"{self} has more decimals than {self.currency} uses "
                f"({self.minor_unit}); call .rounded() first",
            )
        return int(scaled)

    def rounded(self, rounding: str = DEFAULT_ROUNDING) -> Money:
        """Round to the currency's minor unit (half to even unless told otherwise)."""
        return Money._round_into(self.amount, self.currency, rounding)

    def multiply(self, factor: Decimal | int | str, *, rounding: str = DEFAULT_ROUNDING) -> Money:
        """Multiply by ``factor`` and round to the minor unit with ``rounding``."""
        number = _factor(factor, "factor")
        with decimal.localcontext() as context:
            context.prec = 60
            return self._round_into(self.amount * number, self.currency, rounding)

    def divide(self, divisor: Decimal | int | str, *, rounding: str = DEFAULT_ROUNDING) -> Money:
        """Divide by ``divisor`` and round to the minor unit with ``rounding``."""
        number = _factor(divisor, "divisor")
        if not number:
            raise ValidationError.single("divisor", "cannot divide money by zero")
        with decimal.localcontext() as context:
            context.prec = 60
            return self._round_into(self.amount / number, self.currency, rounding)

    def ratio(self, other: Money) -> Decimal:
        """``self / other`` as a plain Decimal, for attainment and shares."""
        self._require_same(other, "divide")
        if not other.amount:
            raise ValidationError.single("other", "cannot take a ratio to zero money")
        return self.amount / other.amount

    def allocate(self, ratios: Sequence[Decimal | int | str]) -> list[Money]:
        """Split into parts proportional to ``ratios`` without losing or creating a cent.

        Every part is a whole number of minor units and the parts add up to exactly
        this amount. Leftover minor units go one each to the parts with the largest
        remainders, the earliest part first on ties: 100.00 USD split ``[1, 1, 1]`` is
        33.34 + 33.33 + 33.33.

        Raises:
            ValidationError: If a ratio is negative or not a number, all are zero, or
                the amount has more decimals than the currency uses.
        """
        weights = [_factor(ratio, f"ratios[{index}]") for index, ratio in enumerate(ratios)]
        problems = [
            FieldProblem(f"ratios[{index}]", "ratios cannot be negative")
            for index, weight in enumerate(weights)
            if weight < 0
        ]
        if problems:
            raise ValidationError(problems)
        total_weight = sum(weights, Decimal(0))
        if not weights or not total_weight:
            raise ValidationError.single("ratios", "give at least one ratio greater than zero")
        units = self.minor_units
        sign = -1 if units < 0 else 1
        remaining = abs(units)
        with decimal.localcontext() as context:
            context.prec = 60
            exact = [Decimal(remaining) * weight / total_weight for weight in weights]
        shares = [int(part) for part in exact]  # int() truncates; every part is >= 0
        leftover = remaining - sum(shares)
        by_remainder = sorted(
            range(len(shares)), key=lambda index: (-(exact[index] - shares[index]), index)
        )
        for index in by_remainder[:leftover]:
            shares[index] += 1
        return [Money.from_minor_units(sign * share, self.currency) for share in shares]

    def convert(
        self,
        currency: str,
        rates: RateSource,
        *,
        as_of: datetime,
        rounding: str = DEFAULT_ROUNDING,
    ) -> Money:
        """Convert into ``currency`` at the rate ``rates`` gives for ``as_of``.

        Raises:
            NotFoundError: If the rate source has no rate for the pair.
            ValidationError: If the rate is not a positive Decimal.
        """
        code = check_currency(currency)
        instant = to_utc(as_of, "as_of")
        if code == self.currency:
            return self
        if isinstance(rates, FixedRates) and rates.is_inverse(self.currency, code):
            # Divide by the pair given the other way round, so the result is
            # rounded once: 0.09 USD at 1.2 EUR->USD is 0.075, then 0.08 EUR.
            divisor = rates.rate(code, self.currency, instant)
            with decimal.localcontext() as context:
                context.prec = 60
                return self._round_into(self.amount / divisor, code, rounding)
        rate = rates.rate(self.currency, code, instant)
        if not isinstance(rate, Decimal) or not rate.is_finite() or rate <= 0:
            raise ValidationError.single(
                "rate",
                f"the rate source gave {rate!r} for {self.currency}->{code}; "
                f"rates must be positive, finite Decimals",
            )
        with decimal.localcontext() as context:
            context.prec = 60
            return self._round_into(self.amount * rate, code, rounding)

    @staticmethod
    def _round_into(exact: Decimal, currency: str, rounding: str) -> Money:
        """Round an exact intermediate result to ``currency``'s minor unit, then range-check.

        Call inside a wide decimal context so the quantize itself cannot overflow.
        """
        quantum = _QUANTA[MINOR_UNITS[currency]]
        rounded = exact.quantize(quantum, rounding=_check_rounding(rounding))
        return Money._trusted(_check_range(rounded, "amount"), currency)

    def _require_same(self, other: Money, operation: str) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatchError(self.currency, other.currency, operation)

    def __add__(self, other: object) -> Money:
        if isinstance(other, Money):
            self._require_same(other, "add")
            return Money._trusted(_check_range(self.amount + other.amount, "amount"), self.currency)
        if isinstance(other, int) and not isinstance(other, bool) and other == 0:
            return self  # lets the built-in sum() start from 0
        return NotImplemented

    __radd__ = __add__

    def __sub__(self, other: object) -> Money:
        if isinstance(other, Money):
            self._require_same(other, "subtract")
            return Money._trusted(_check_range(self.amount - other.amount, "amount"), self.currency)
        return NotImplemented

    def __neg__(self) -> Money:
        return Money._trusted(_check_range(-self.amount, "amount"), self.currency)

    def __pos__(self) -> Money:
        return self

    def __abs__(self) -> Money:
        return Money._trusted(abs(self.amount), self.currency)

    def __mul__(self, other: object) -> Money:
        if isinstance(other, Money):
            return NotImplemented
        if isinstance(other, (int, Decimal, float)):
            return self.multiply(other)  # type: ignore[arg-type]  # floats get a clear error
        return NotImplemented

    __rmul__ = __mul__

    def __truediv__(self, other: object) -> Money:
        if isinstance(other, (int, Decimal, float)) and not isinstance(other, bool):
            return self.divide(other)  # type: ignore[arg-type]  # floats get a clear error
        return NotImplemented

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._require_same(other, "compare")
        return self.amount < other.amount

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._require_same(other, "compare")
        return self.amount <= other.amount

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._require_same(other, "compare")
        return self.amount > other.amount

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._require_same(other, "compare")
        return self.amount >= other.amount

    def __round__(self, ndigits: SupportsIndex | None = None) -> Money:
        if ndigits is not None:
            raise ValidationError.single(
                "ndigits", "money rounds to its currency's minor unit; call round(money)"
            )
        return self.rounded()

    def __str__(self) -> str:
        amount = self.amount
        if amount.as_tuple().exponent > -self.minor_unit:  # type: ignore[operator]
            amount = amount.quantize(_QUANTA[self.minor_unit])  # only adds zeros
        return f"{amount:,f} {self.currency}"

    def __repr__(self) -> str:
        return f"Money('{self.amount:f}', '{self.currency}')"


@runtime_checkable
class RateSource(Protocol):
    """Where exchange rates come from; the host application provides one.

    partnerkit never fetches rates itself: a host wraps its finance system, a
    central-bank feed or a table, and passes it wherever amounts are converted.
    """

    def rate(self, base: str, quote: str, as_of: datetime) -> Decimal:
        """How many units of ``quote`` one unit of ``base`` buys at ``as_of`` (UTC).

        Raises:
            NotFoundError: If the source has no rate for the pair at that time.
        """
        ...


def _check_rates(raw: object) -> dict[tuple[str, str], Decimal]:
    if not isinstance(raw, dict):
        raise ValidationError.single("rates", "expected a dict of (base, quote) -> rate")
    checked: dict[tuple[str, str], Decimal] = {}
    problems: list[FieldProblem] = []
    for key, value in cast("dict[object, object]", raw).items():
        path = f"rates[{key!r}]"
        try:
            if not (isinstance(key, tuple) and len(key) == 2):
                raise ValidationError.single(path, "keys are (base, quote) currency pairs")
            pair = (check_currency(key[0], path), check_currency(key[1], path))
            number = _factor(value, path)
            if number <= 0:
                raise ValidationError.single(path, "rates must be greater than zero")
            checked[pair] = number
        except ValidationError as error:
            problems.extend(error.problems)
    if problems:
        raise ValidationError(problems)
    return checked


@attrs.frozen
class FixedRates:
    """A `RateSource` with one rate per currency pair, whatever the date.

    Handy for tests, notebooks and hosts that book at a fixed budget rate. A pair
    given one way is also used the other way round (``1 / rate``).

    Args:
        rates: ``{("EUR", "USD"): "1.08", ...}``: units of the second currency per
            unit of the first.
    """

    rates: dict[tuple[str, str], Decimal] = attrs.field(converter=_check_rates)

    def is_inverse(self, base: str, quote: str) -> bool:
        """Whether ``base`` -> ``quote`` is only known the other way round.

        `Money.convert` then divides by that rate exactly and rounds once.
        """
        return base != quote and (base, quote) not in self.rates and (quote, base) in self.rates

    def rate(self, base: str, quote: str, as_of: datetime) -> Decimal:
        """Return the fixed rate for the pair, or its inverse."""
        if base == quote:
            return Decimal(1)
        direct = self.rates.get((base, quote))
        if direct is not None:
            return direct
        inverse = self.rates.get((quote, base))
        if inverse is not None:
            with decimal.localcontext() as context:
                context.prec = 28
                return Decimal(1) / inverse
        raise NotFoundError("exchange rate", f"{base}->{quote}", "add the pair to FixedRates")


def format_value(value: object) -> str:
    """Money as ``12,000.00 USD``, numbers with thousands separators: ``1,250``."""
    if isinstance(value, Money):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, Decimal):
        return f"{value:,f}"
    return str(value)
