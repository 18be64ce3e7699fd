"""The storage conformance suite: every promise of the storage protocols, as tests.

Subclass `StorageContract` (or one contract per protocol) in a test module, under a
name that starts with ``Test``, and give it one fixture, ``storage``, that builds a
fresh, empty store for each test and closes it afterwards::

    import pytest
    from partnerkit.testing.conformance import StorageContract

    class TestMyStorage(StorageContract):
        @pytest.fixture
        def storage(self, tmp_path):
            store = MyStorage(tmp_path / "db")
            yield store
            store.close()

How collection works: the contract classes are named without pytest's ``Test``
prefix, so importing them into a test module collects nothing; a subclass named
``Test...`` is collected with every inherited test. The ``storage`` fixture may also
come from a ``conftest.py``; a subclass fixture wins over it.

How failures read: the contracts state their promises with plain ``assert``, and
the pytest plugin that the ``testing`` extra installs (`partnerkit.testing.pytest_plugin`)
has pytest rewrite them, so a failure shows the values it compared. Round-trips are
compared field by field and a failure names the field path and both values, such as
``partner.region: expected 'Nordics', got ''``.

What the suite assumes of an adapter beyond the protocols' docstrings:

- Each test gets a store of its own, empty when the test starts.
- A store is used from several threads at once (one unit of work per thread).
- Units of work interleave in one thread: a second unit of work may read and commit
  while a first one holds uncommitted writes, and the first one's commit then fails
  with `StaleVersionError` or `ConflictError`. The protocol promises that ``commit``
  detects a partner changed since it was read, so writes must not take locks that
  block other writers until commit.
- Round-trips are exact: a ``Decimal`` keeps its digits and exponent
  (``Decimal("1.50")`` does not come back as ``Decimal("1.5")``), ``bool`` stays
  ``bool`` and ``int`` stays ``int``, a ``date`` stays a ``date``, and an aware
  datetime comes back aware and equal as an instant (its offset may change).

Property tests run 25 hypothesis examples each with no deadline, so a
slow database or a loaded machine never turns into a failure. Requires the
``testing`` extra (``pip install "partnerkit[testing]"``).
"""

from partnerkit.testing.conformance._activities import ActivityLedgerContract
from partnerkit.testing.conformance._deals import DealRepositoryContract
from partnerkit.testing.conformance._funds import FundRepositoryContract
from partnerkit.testing.conformance._incentives import (
    IncentivePlanRepositoryContract,
    StatementRepositoryContract,
)
from partnerkit.testing.conformance._leads import LeadRepositoryContract
from partnerkit.testing.conformance._memberships import MembershipRepositoryContract
from partnerkit.testing.conformance._models import ScoringModelRepositoryContract
from partnerkit.testing.conformance._partners import PartnerRepositoryContract
from partnerkit.testing.conformance._programs import ProgramRepositoryContract
from partnerkit.testing.conformance._relationship import RelationshipRepositoryContract
from partnerkit.testing.conformance._scores import ScoreRepositoryContract
from partnerkit.testing.conformance._tier_history import TierHistoryContract
from partnerkit.testing.conformance._unit_of_work import UnitOfWorkContract

__all__ = [
    "ActivityLedgerContract",
    "DealRepositoryContract",
    "FundRepositoryContract",
    "IncentivePlanRepositoryContract",
    "LeadRepositoryContract",
    "MembershipRepositoryContract",
    "PartnerRepositoryContract",
    "ProgramRepositoryContract",
    "RelationshipRepositoryContract",
    "ScoreRepositoryContract",
    "ScoringModelRepositoryContract",
    "StatementRepositoryContract",
    "StorageContract",
    "TierHistoryContract",
    "UnitOfWorkContract",
]


class StorageContract(
    PartnerRepositoryContract,
    ActivityLedgerContract,
    ScoreRepositoryContract,
    ProgramRepositoryContract,
    MembershipRepositoryContract,
    TierHistoryContract,
    DealRepositoryContract,
    ScoringModelRepositoryContract,
    RelationshipRepositoryContract,
    FundRepositoryContract,
    StatementRepositoryContract,
    IncentivePlanRepositoryContract,
    LeadRepositoryContract,
    UnitOfWorkContract,
):
    """Every contract at once: what a complete partnerkit store must pass.

    Subclass it under a ``Test...`` name with one ``storage`` fixture, as the module
    docstring shows; each contract it combines can also be subclassed on its own.
    """
