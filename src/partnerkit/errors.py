"""The partnerkit error tree.

Every error that partnerkit raises on purpose derives from :class:`PartnerkitError`
and, where one fits, from the closest built-in exception too, so callers can catch
either. Errors carry the data that explains them as attributes, and their messages
say what to do about the problem.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

import attrs

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

T = TypeVar("T")

__all__ = [
    "AlreadyExistsError",
    "ConflictError",
    "CurrencyMismatchError",
    "CustomerClaimedError",
    "FieldProblem",
    "InvalidTransitionError",
    "NotFoundError",
    "PartnerkitError",
    "PermissionDeniedError",
    "StaleVersionError",
    "StorageBusyError",
    "StorageError",
    "StorageSchemaError",
    "UnresolvedConflictsError",
    "ValidationError",
]


class PartnerkitError(Exception):
    """The root of every error partnerkit raises on purpose."""


@attrs.frozen
class FieldProblem:
    """One thing wrong with one input field.

    Attributes:
        path: Where the problem is, in Python-like notation: ``name``,
            ``contacts[1].email``, ``amounts["EUR"]``. An empty path means the input
            as a whole.
        message: What is wrong and what is expected instead.
    """

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message

    def prefixed(self, prefix: str) -> FieldProblem:
        """Return this problem as seen from an enclosing value at ``prefix``."""
        return FieldProblem(join_path(prefix, self.path), self.message)


def join_path(prefix: str, path: str) -> str:
    """Join two field paths: ``join_path("contacts[1]", "email")`` is ``contacts[1].email``."""
    if not prefix:
        return path
    if not path:
        return prefix
    if path.startswith("["):
        return f"{prefix}{path}"
    return f"{prefix}.{path}"


class ValidationError(PartnerkitError, ValueError):
    """Input that partnerkit cannot accept, with every problem found at once.

    Attributes:
        problems: Each problem with the path of its field and what is expected.
    """

    problems: tuple[FieldProblem, ...]

    def __init__(self, problems: Iterable[FieldProblem]) -> None:
        self.problems = tuple(problems)
        if not self.problems:
            msg = "ValidationError needs at least one FieldProblem"
            raise ValueError(msg)
        super().__init__(self._render())

    @classmethod
    def single(cls, path: str, message: str) -> ValidationError:
        """Build an error about one field."""
        return cls([FieldProblem(path, message)])

    @property
    def paths(self) -> tuple[str, ...]:
        """The paths of the fields with problems, in the order found."""
        return tuple(problem.path for problem in self.problems)

    def prefixed(self, prefix: str) -> ValidationError:
        """Return the same problems as seen from an enclosing value at ``prefix``."""
        return ValidationError(problem.prefixed(prefix) for problem in self.problems)

    def _render(self) -> str:
        if len(self.problems) == 1:
            return str(self.problems[0])
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        return f"{len(self.problems)} problems:\n{lines}"

    def __reduce__(self) -> tuple[type[ValidationError], tuple[tuple[FieldProblem, ...]]]:
        return (type(self), (self.problems,))


class Problems:
    """Collects field problems so a validator can report all of them at once.

    Example::

        problems = Problems()
        name = problems.check("name", check_name, raw_name)
        problems.add("contacts", "mark exactly one contact as primary")
        problems.raise_if_any()
    """

    __slots__ = ("found",)

    def __init__(self) -> None:
        self.found: list[FieldProblem] = []

    def add(self, path: str, message: str) -> None:
        """Record one problem."""
        self.found.append(FieldProblem(path, message))

    def check(self, path: str, function: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        """Call ``function(*args, **kwargs)``; record a `ValidationError`'s problems under ``path``.

        Returns:
            The function's result, or ``None`` when it raised.
        """
        try:
            return function(*args, **kwargs)
        except ValidationError as error:
            self.found.extend(problem.prefixed(path) for problem in error.problems)
            return None

    def raise_if_any(self) -> None:
        """Raise one `ValidationError` with everything recorded, if anything was."""
        if self.found:
            raise ValidationError(self.found)


class CurrencyMismatchError(PartnerkitError, ValueError):
    """Arithmetic or comparison between two different currencies.

    Attributes:
        left: The currency of the left operand.
        right: The currency of the right operand.
        operation: What was attempted, such as ``"add"``.
    """

    def __init__(self, left: str, right: str, operation: str) -> None:
        self.left = left
        self.right = right
        self.operation = operation
        super().__init__(
            f"cannot {operation} {left} and {right}: amounts in different currencies never "
            f"mix; convert one side first with Money.convert(...) and a RateSource"
        )

    def __reduce__(self) -> tuple[type[CurrencyMismatchError], tuple[str, str, str]]:
        return (type(self), (self.left, self.right, self.operation))


class NotFoundError(PartnerkitError, LookupError):
    """A record that was asked for by its key does not exist.

    Attributes:
        kind: What was looked for, such as ``"partner"``.
        key: The key that was looked for.
    """

    def __init__(self, kind: str, key: str, hint: str = "") -> None:
        self.kind = kind
        self.key = key
        self.hint = hint
        message = f"no {kind} with id {key!r}"
        super().__init__(f"{message}; {hint}" if hint else message)

    def __reduce__(self) -> tuple[type[NotFoundError], tuple[str, str, str]]:
        return (type(self), (self.kind, self.key, self.hint))


# ConflictError deliberately has no built-in parent: it is not bad input (ValueError
# would make web hosts answer 400) but a clash with the current state (HTTP 409).
class ConflictError(PartnerkitError):
    """A change clashes with what is already stored.

    Catch this to handle every clash; the subclasses say which kind it was and
    carry its data.

    Attributes:
        kind: What kind of record the clash is about.
        key: The key of that record.
    """

    def __init__(self, kind: str, key: str, message: str) -> None:
        self.kind = kind
        self.key = key
        super().__init__(message)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.kind, self.key, str(self)))


class AlreadyExistsError(ConflictError):
    """A new record's key is taken by one that is already stored (or staged)."""


class UnresolvedConflictsError(ConflictError):
    """A registration cannot be approved: conflicts object and nobody overrode them.

    Attributes:
        conflicts: The objecting `partnerkit.deals.Conflict` values, each able to
            explain itself (``conflict.explain()``).
    """

    def __init__(self, kind: str, key: str, message: str, conflicts: Sequence[Any]) -> None:
        self.conflicts: tuple[Any, ...] = tuple(conflicts)
        super().__init__(kind, key, message)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.kind, self.key, str(self), self.conflicts))


class CustomerClaimedError(ConflictError):
    """An approval lost the customer to another approved registration.

    Raised when the customer keys an approval needs are held by another approved
    registration at commit time, whether it was approved long ago or a moment
    earlier by another worker (a lost race). Nothing was written.

    Attributes:
        claimed_keys: The customer keys that are held by someone else.
        holder: The id of the registration that holds them.
    """

    def __init__(
        self, kind: str, key: str, message: str, claimed_keys: Sequence[str], holder: str
    ) -> None:
        self.claimed_keys = tuple(claimed_keys)
        self.holder = holder
        super().__init__(kind, key, message)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.kind, self.key, str(self), self.claimed_keys, self.holder))


class StaleVersionError(ConflictError):
    """An update was based on an older version than the one stored.

    Nothing was written. Reload the record, re-apply the change and try again.

    Attributes:
        expected: The version the update was based on.
        actual: The version that is stored now (``None`` if the record is gone).
    """

    def __init__(self, kind: str, key: str, expected: int, actual: int | None) -> None:
        self.expected = expected
        self.actual = actual
        stored = "no longer exists" if actual is None else f"is at version {actual}"
        super().__init__(
            kind,
            key,
            f"{kind} {key!r} {stored} but the update was based on version {expected}; "
            f"nothing was written: reload it, re-apply the change and save again",
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.kind, self.key, self.expected, self.actual))


class InvalidTransitionError(PartnerkitError, ValueError):
    """A lifecycle action that is not allowed from the record's current state.

    Attributes:
        kind: What kind of record, such as ``"deal registration"``.
        key: The record's id.
        state: The state it is in.
        action: The action that was attempted.
        allowed: The actions that are allowed from ``state``.
    """

    def __init__(
        self, kind: str, key: str, state: str, action: str, allowed: Sequence[str]
    ) -> None:
        self.kind = kind
        self.key = key
        self.state = state
        self.action = action
        self.allowed = tuple(allowed)
        options = (
            f"allowed from {state!r}: {', '.join(repr(a) for a in self.allowed)}"
            if self.allowed
            else f"{state!r} is final: nothing can be done to it any more"
        )
        super().__init__(f"{kind} {key!r} is {state!r}; cannot {action} it ({options})")

    def __reduce__(
        self,
    ) -> tuple[type[InvalidTransitionError], tuple[str, str, str, str, tuple[str, ...]]]:
        return (type(self), (self.kind, self.key, self.state, self.action, self.allowed))


class PermissionDeniedError(PartnerkitError, PermissionError):
    """The acting user may not do what was attempted. Nothing was changed.

    Attributes:
        actor: Who acted.
        action: What was attempted.
        resource: What it was attempted on.
    """

    def __init__(self, actor: str, action: str, resource: str, reason: str = "") -> None:
        self.actor = actor
        self.action = action
        self.resource = resource
        self.reason = reason
        message = f"{actor} may not {action} {resource}"
        super().__init__(f"{message}: {reason}" if reason else message)

    def __reduce__(self) -> tuple[type[PermissionDeniedError], tuple[str, str, str, str]]:
        return (type(self), (self.actor, self.action, self.resource, self.reason))


class StorageError(PartnerkitError, OSError):
    """The storage backend failed. Whatever the unit of work was doing was not saved."""

    def __init__(self, message: str) -> None:
        # One argument only: OSError would read two as (errno, strerror).
        super().__init__(message)

    def __reduce__(self) -> tuple[type[StorageError], tuple[str]]:
        return (type(self), (str(self),))


class StorageBusyError(StorageError):
    """The store stayed locked by other writers past the busy timeout.

    Nothing was written. The operation can be retried as it is.
    """


class StorageSchemaError(StorageError):
    """The stored schema is one this release cannot use (newer, or not partnerkit's)."""
