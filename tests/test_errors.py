import pickle

import pytest

from partnerkit import (
    ConflictError,
    CurrencyMismatchError,
    FieldProblem,
    InvalidTransitionError,
    NotFoundError,
    PartnerkitError,
    PermissionDeniedError,
    StaleVersionError,
    StorageError,
    ValidationError,
)
from partnerkit.errors import (
    AlreadyExistsError,
    CustomerClaimedError,
    UnresolvedConflictsError,
)

EVERY_ERROR = [
    ValidationError([FieldProblem("contacts[1].email", "expected an email address")]),
    CurrencyMismatchError("USD", "EUR", "add"),
    NotFoundError("partner", "ptn_1"),
    ConflictError("deal", "d_1", "already registered"),
    StaleVersionError("partner", "ptn_1", expected=3, actual=4),
    InvalidTransitionError("deal", "d_42", "rejected", "approve", ["reopen"]),
    PermissionDeniedError("user u_1", "approve", "deal d_1"),
    StorageError("database is locked"),
]


@pytest.mark.parametrize("error", EVERY_ERROR, ids=lambda e: type(e).__name__)
def test_every_error_derives_from_the_root(error: PartnerkitError) -> None:
    assert isinstance(error, PartnerkitError)


@pytest.mark.parametrize(
    ("error_type", "builtin"),
    [
        (ValidationError, ValueError),
        (CurrencyMismatchError, ValueError),
        (NotFoundError, LookupError),
        (InvalidTransitionError, ValueError),
        (PermissionDeniedError, PermissionError),
        (StorageError, OSError),
    ],
)
def test_errors_also_inherit_the_closest_builtin(
    error_type: type[Exception], builtin: type[Exception]
) -> None:
    assert issubclass(error_type, builtin)


def test_conflicts_are_not_value_errors_so_hosts_can_tell_409_from_400() -> None:
    assert not issubclass(ConflictError, ValueError)
    assert issubclass(StaleVersionError, ConflictError)


@pytest.mark.parametrize("error", EVERY_ERROR, ids=lambda e: type(e).__name__)
def test_errors_survive_pickling_with_their_data(error: PartnerkitError) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert vars(copy) == vars(error)


def test_validation_error_lists_every_problem_with_its_path() -> None:
    error = ValidationError(
        [FieldProblem("name", "required field is missing"), FieldProblem("contacts[1].email", "x")]
    )
    assert error.paths == ("name", "contacts[1].email")
    assert (
        str(error) == "2 problems:\n  - name: required field is missing\n  - contacts[1].email: x"
    )


def test_validation_error_with_one_problem_reads_as_one_line() -> None:
    assert str(ValidationError.single("amount", "not a number")) == "amount: not a number"


def test_validation_error_needs_a_problem() -> None:
    with pytest.raises(ValueError, match="at least one"):
        ValidationError([])


@pytest.mark.parametrize(
    ("prefix", "path", "joined"),
    [
        ("contacts[1]", "email", "contacts[1].email"),
        ("contacts", "[1]", "contacts[1]"),
        ("", "email", "email"),
        ("money", "", "money"),
    ],
)
def test_prefixing_a_validation_error_nests_its_paths(prefix: str, path: str, joined: str) -> None:
    assert ValidationError.single(path, "bad").prefixed(prefix).paths == (joined,)


def test_stale_version_error_says_what_to_do_and_carries_versions() -> None:
    error = StaleVersionError("partner", "ptn_1", expected=3, actual=4)
    assert (error.kind, error.key, error.expected, error.actual) == ("partner", "ptn_1", 3, 4)
    assert "reload" in str(error)
    assert "version 4" in str(error)


def test_stale_version_error_on_a_deleted_record() -> None:
    assert "no longer exists" in str(StaleVersionError("partner", "p", expected=1, actual=None))


def test_invalid_transition_error_lists_the_allowed_actions() -> None:
    error = InvalidTransitionError("deal", "d_42", "submitted", "win", ["approve", "reject"])
    assert error.allowed == ("approve", "reject")
    assert str(error) == (
        "deal 'd_42' is 'submitted'; cannot win it (allowed from 'submitted': 'approve', 'reject')"
    )


def test_invalid_transition_error_from_a_final_state_says_it_is_final() -> None:
    error = InvalidTransitionError("deal", "d_42", "won", "reject", [])
    assert "final" in str(error)


def test_not_found_error_names_kind_and_key() -> None:
    error = NotFoundError("partner", "ptn_9", "check the id")
    assert str(error) == "no partner with id 'ptn_9'; check the id"
    assert isinstance(error, LookupError)


def test_permission_denied_names_actor_action_and_resource() -> None:
    error = PermissionDeniedError(
        "partner user u_7", "approve", "deal d_1", "only managers approve"
    )
    assert str(error) == "partner user u_7 may not approve deal d_1: only managers approve"


def test_conflict_subclasses_survive_pickling_with_their_data() -> None:
    claimed = CustomerClaimedError("deal", "d_2", "claimed", ("name:acme|US",), "d_1")
    unresolved = UnresolvedConflictsError("deal", "d_2", "objects", ["c1", "c2"])
    claimed_copy = pickle.loads(pickle.dumps(claimed))
    unresolved_copy = pickle.loads(pickle.dumps(unresolved))
    assert (claimed_copy.claimed_keys, claimed_copy.holder) == (("name:acme|US",), "d_1")
    assert unresolved_copy.conflicts == ("c1", "c2")
    assert str(claimed_copy) == "claimed"


def test_every_conflict_kind_is_caught_as_a_conflict() -> None:
    for error_type in (AlreadyExistsError, CustomerClaimedError, UnresolvedConflictsError):
        assert issubclass(error_type, ConflictError)
