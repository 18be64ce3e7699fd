"""Compact HTML for Jupyter: deal registrations and the conflicts the deal desk found.

Text from data (customer names, reasons, ids) goes through ``html.escape``. The
renderers read their values by attribute, so this module imports none of the
models and the models can import it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from partnerkit._base.notebook import dash_table
from partnerkit._base.notebook import escape_or_dash as _e

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["conflict_html", "registration_html"]


def conflict_html(conflict: Any, described: Sequence[str]) -> str:
    """One conflict: who it is with, how sure, each piece of evidence and the ruling."""
    head = (
        f"<div><b>{_e(conflict.registration_id)}</b> conflicts with "
        f"{_e(conflict.other_kind.value.replace('_', ' '))} <b>{_e(conflict.other_id)}</b> "
        f"({_e(conflict.other_name)}) · {conflict.confidence:.0%} sure · "
        f"{_e(conflict.outcome.value)} by {_e(conflict.rule)}</div>"
    )
    evidence = dash_table(
        ("evidence", "kind", "weight"),
        (
            (text, match.kind.value, f"{match.weight:+.2f}")
            for text, match in zip(described, conflict.matches, strict=True)
        ),
    )
    return f"<div>{head}{evidence}<div>{_e(conflict.reason)}</div></div>"


def registration_html(registration: Any) -> str:
    """A registration: customer, amount, status and protection, then its history."""
    customer = registration.customer
    until = registration.protection_until
    protected = f" · protected until {_e(until.date().isoformat())}" if until else ""
    head = (
        f"<div><b>{_e(registration.id)}</b> by {_e(registration.partner_id)} · "
        f"{_e(customer.name)} ({_e(customer.country)}"
        f"{', ' + _e(customer.domain) if customer.domain else ''}) · "
        f"{_e(registration.amount)} · <b>{_e(registration.status.value)}</b>{protected}</div>"
    )
    history = dash_table(
        ("at", "action", "from", "to", "by", "reason"),
        (
            (
                change.at.isoformat(),
                change.action.value,
                change.from_status.value,
                change.to_status.value,
                change.actor,
                change.reason,
            )
            for change in registration.history
        ),
    )
    conflicts = [c for decision in registration.decisions for c in decision.conflicts]
    found = (
        dash_table(
            ("conflict with", "customer", "confidence", "outcome"),
            ((c.other_id, c.other_name, f"{c.confidence:.0%}", c.outcome.value) for c in conflicts),
        )
        if conflicts
        else ""
    )
    return f"<div>{head}{history}{found}</div>"
