"""Reading a `Program` from TOML: TOML's types mapped carefully onto partnerkit's.

This is input/output, not domain: it reads through `partnerkit.serialization`
(cattrs), which the domain modules never import.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any, Final

from partnerkit._base.money import Money
from partnerkit.errors import Problems, ValidationError, join_path
from partnerkit.tiers._model import Program

__all__ = ["program_from_toml"]

_EPOCH: Final = "1970-01-01T00:00:00+00:00"
_MONEY_KEYS: Final = frozenset({"threshold", "mdf_cap"})
_WINDOW_KINDS: Final = frozenset({"all_time", "month", "quarter", "year"})


def program_from_toml(text: str) -> Program:
    """Read and validate a program written in TOML.

    The TOML mirrors the dict that ``partnerkit.serialization.from_dict(Program,
    ...)`` reads, with shorthands where TOML is more natural:

    - ``review = "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1"`` (anchored at 1970-01-01
      UTC) or a table ``{rule = ..., anchor = 2026-01-01T00:00:00Z}``;
    - money as ``"25000 USD"`` (thresholds, ``mdf_cap``) or ``{amount = "25000",
      currency = "USD"}``;
    - ``deal_protection = 90`` (days) or ``"P3M"``;
    - a metric ``window = "P12M"`` (trailing), ``"all_time"``, ``"month"``,
      ``"quarter"`` or ``"year"``, or a table of `Window` fields.

    TOML floats are refused wherever they appear: a binary float cannot hold
    ``0.1`` exactly, so write decimals as strings (``discount_percent = "12.5"``).
    Integers are exact and fine.

    Raises:
        ValidationError: For TOML syntax errors (with line and column), nesting
            deeper than 64 levels, numbers too long to read, floats, naive or
            out-of-range datetimes, and every problem `from_dict` and `Program` find, each
            with its path (``tiers[2].requirements.all_of[0].threshold``).
    """
    from partnerkit.serialization import _load_toml, from_dict  # noqa: PLC0415 - io reads domain, not back

    data = _load_toml(text)
    problems = Problems()
    prepared = _prepare(data, "", problems)
    problems.raise_if_any()
    review = prepared.get("review")
    if isinstance(review, str):
        prepared["review"] = {"rule": review, "anchor": _EPOCH}
    elif isinstance(review, dict):
        review.setdefault("anchor", _EPOCH)
    for metric in prepared.get("metrics", ()) if isinstance(prepared.get("metrics"), list) else ():
        if isinstance(metric, dict) and isinstance(metric.get("window"), str):
            metric["window"] = _window(metric["window"])
    for tier in prepared.get("tiers", ()) if isinstance(prepared.get("tiers"), list) else ():
        benefits = tier.get("benefits") if isinstance(tier, dict) else None
        if isinstance(benefits, dict):
            protection = benefits.get("deal_protection")
            if isinstance(protection, int) and not isinstance(protection, bool):
                benefits["deal_protection"] = f"P{protection}D"
    return from_dict(Program, prepared)


def _window(text: str) -> dict[str, Any]:
    if text in _WINDOW_KINDS:
        return {"kind": text}
    return {"kind": "trailing", "period": text}


def _prepare(value: Any, path: str, problems: Problems) -> Any:
    if isinstance(value, dict):
        prepared = {}
        for key, item in value.items():
            at = join_path(path, key)
            if key in _MONEY_KEYS and isinstance(item, str) and any(c.isalpha() for c in item):
                try:
                    money = Money.parse(item)
                except ValidationError as error:
                    reasons = "; ".join(problem.message for problem in error.problems)
                    problems.add(
                        at,
                        f"cannot read {item!r} as money ({reasons}); write it like "
                        f'\'25,000 USD\' or {{amount = "25000", currency = "USD"}}',
                    )
                    continue
                prepared[key] = {"amount": f"{money.amount:f}", "currency": money.currency}
            else:
                prepared[key] = _prepare(item, at, problems)
        return prepared
    if isinstance(value, list):
        return [_prepare(item, f"{path}[{index}]", problems) for index, item in enumerate(value)]
    if isinstance(value, float):
        name = path.rsplit(".", 1)[-1] or "value"
        problems.add(
            path,
            f"got the TOML float {value!r}; floats are inexact, so quote the number: "
            f'{name} = "{value}"',
        )
        return None
    if isinstance(value, datetime):
        if value.utcoffset() is None:
            problems.add(
                path,
                f"{value.isoformat()} has no UTC offset; write it like 2026-01-01T00:00:00Z",
            )
            return None
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        problems.add(path, "a time of day alone is not accepted here; give a date or datetime")
        return None
    return value
