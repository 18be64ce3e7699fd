"""The state of one scoring run, shared by the kernel and the loops it generates."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from partnerkit._base.money import Money
from partnerkit.errors import ValidationError

if TYPE_CHECKING:
    Number = int | Decimal

__all__ = ["Run"]


class Run:
    """The state of one scoring run: which currency its money is in, and for whom."""

    __slots__ = ("currency", "pinned")

    def __init__(self, currency: str | None) -> None:
        self.currency = currency
        self.pinned = currency is not None

    def number(self, raw: object, metric: str, partner_id: str) -> Number:
        """The exact number a metric value stands for (money: its amount)."""
        kind = type(raw)
        if kind is int:
            return raw  # type: ignore[return-value]
        if kind is Money:
            assert isinstance(raw, Money)  # noqa: S101 - narrows a type the code above guarantees
            if raw.currency != self.currency:
                self.adopt(raw.currency, metric, partner_id)
            return raw.amount
        if kind is Decimal:
            assert isinstance(raw, Decimal)  # noqa: S101 - narrows a type the code above guarantees
            if raw.is_finite():
                return raw
            raise ValidationError.single(
                f"values[{metric!r}]", f"partner {partner_id!r}: {raw} is not a finite number"
            )
        raise ValidationError.single(
            f"values[{metric!r}]",
            f"partner {partner_id!r}: expected Money, Decimal, int or None, got "
            f"{type(raw).__name__}",
        )

    def adopt(self, currency: str, metric: str, partner_id: str) -> None:
        """Take ``currency`` as the run's, or refuse it if the run already has another."""
        if self.currency is None or self.currency == currency:
            self.currency = currency
            return
        why = (
            f"the model scores amounts in {self.currency}"
            if self.pinned
            else f"this run already read amounts in {self.currency}"
        )
        raise ValidationError.single(
            f"values[{metric!r}]",
            f"partner {partner_id!r}: {metric} is in {currency} but {why}; amounts in two "
            f"currencies never mix: convert the snapshots' money first (Money.convert with "
            f"a RateSource) or pin the model's currency",
        )
