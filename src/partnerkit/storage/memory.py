"""In-memory storage: thread-safe, the default, and what tests use.

`MemoryStorage` is a `partnerkit.storage.StagedStorage` on a backend that keeps
every committed record in a dict per kind, guarded by one lock, with the indexes
its queries need (ids in sorted order for paging, activities by partner, score
histories by partner and model, members by program, approved registrations).
A commit is checked and applied under that lock, so nothing commits in between.
"""

from __future__ import annotations

import bisect
import threading
from collections import defaultdict
from itertools import islice
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Final

from partnerkit.deals._model import DealStatus
from partnerkit.errors import StorageError
from partnerkit.storage._staging import (
    Changes,
    Claim,
    Commit,
    Key,
    Kind,
    Query,
    StagedStorage,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping, Sequence

    from partnerkit._base.ids import IdGenerator
    from partnerkit._base.time import Clock
    from partnerkit.health import HealthScore
    from partnerkit.ledger import Activity

__all__ = ["MemoryStorage"]

_AS_OF: Final = attrgetter("as_of")
#: Kinds paged by their one key field, whose keys are kept sorted for it.
_PAGED: Final = frozenset(
    {"partners", "activities", "programs", "deals", "incentive_statements", "leads"}
)
#: The fields a "latest per partner" query may test before grouping, for the index.
_GROUPED: Final = frozenset({"model", "partner_id"})
#: Sorting a run of new keys at once beats inserting them one by one past this.
_BULK: Final = 64


class _MemoryBackend:
    """Committed records in dicts, indexed for the queries the layer asks."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._closed = False
        self._tables: dict[str, dict[Key, Any]] = defaultdict(dict)
        self._sorted: dict[str, list[Key]] = defaultdict(list)
        self._by_partner: dict[str, list[Activity]] = defaultdict(list)
        # (partner id, model) -> its scores by as_of; model -> scored partners, sorted
        self._histories: dict[tuple[str, str], list[HealthScore]] = {}
        self._scored: dict[str, list[str]] = defaultdict(list)
        # program id -> its members' partner ids, sorted; partner id -> its programs
        self._members: dict[str, list[str]] = defaultdict(list)
        self._member_of: dict[str, set[str]] = defaultdict(set)
        self._stretches: dict[tuple[str, str], set[Key]] = defaultdict(set)
        self._approved: set[str] = set()
        self._claimed: dict[str, set[str]] = defaultdict(set)
        # Deal changes by seq: numbers only grow, so insertion order is seq order.
        self._changes: dict[int, Any] = {}

    def _check_open(self) -> None:
        if self._closed:
            raise StorageError("MemoryStorage() is closed; open a new one")

    def versions(self, kind: Kind[Any], keys: Sequence[Key]) -> dict[Key, int]:
        with self._lock:
            self._check_open()
            table = self._tables[kind.name]
            return {key: table[key].version for key in keys if key in table}

    def load(self, kind: Kind[Any], keys: Sequence[Key]) -> dict[Key, Any]:
        with self._lock:
            self._check_open()
            table = self._tables[kind.name]
            return {key: table[key] for key in keys if key in table}

    def find(self, query: Query[Any]) -> list[Any]:
        with self._lock:
            self._check_open()
            grouped = {c.field for c in query.where} <= _GROUPED
            if query.latest is not None and query.kind.name == "scores" and grouped:
                # Each partner's latest score: the last of its history.
                later = query.get("partner_id", ">")
                scored = self._scored[query.get("model")]
                partners = islice(scored, bisect.bisect_right(scored, later or ""), None)
                newest = (self._histories[(p, query.get("model"))][-1] for p in partners)
                return Query(
                    query.kind, query.where, query.order, limit=query.limit, having=query.having
                ).select(newest, ordered=True)
            records, ordered = self._candidates(query)
            return query.select(records, ordered=ordered)

    def _candidates(self, query: Query[Any]) -> tuple[Iterable[Any], bool]:
        """Records that may match ``query``, and whether they come in its order."""
        name = query.kind.name
        table = self._tables[name]
        equal: dict[str, Any] = {c.field: c.value for c in query.where if c.op == "="}
        after = query.get(query.order[0], ">") if query.order else None
        if name in _PAGED and query.order == query.kind.key_fields and not query.descending:
            return self._from(self._sorted[name], after, table), True
        partner = equal.get("partner_id")
        several = query.get("partner_id", "in")
        if name == "activities" and several is not None:
            by_partner = self._by_partner
            return [a for pid in several if pid in by_partner for a in by_partner[pid]], False
        if name == "scores" and several is not None and "model" in equal:
            model = equal["model"]
            histories = self._histories
            pairs = [(pid, model) for pid in several]
            return [
                score for pair in pairs if pair in histories for score in histories[pair]
            ], False
        if name == "activities" and partner is not None:
            return self._by_partner.get(partner, ()), False
        model = equal.get("model", "")
        if name == "scores" and partner is not None and model and query.order == ("as_of",):
            history = self._histories.get((partner, model), [])
            return (reversed(history) if query.descending else history), True
        if name == "scores" and model and "as_of" in equal:
            at = equal["as_of"]
            scored = self._from(self._scored[model], after)
            found = (table.get((partner_id, model, at)) for partner_id in scored)
            return (score for score in found if score is not None), True
        program = equal.get("program_id", "")
        if name == "memberships" and program:
            members = self._from(self._members[program], after)
            return (table[(program, partner_id)] for partner_id in members), True
        if name == "memberships" and partner is not None:
            return [table[(program, partner)] for program in self._member_of[partner]], False
        if name == "tier_history" and partner is not None:
            keys = self._stretches.get((program, partner), ())
            return [table[key] for key in keys], False
        if name == "deals" and equal.get("status") is DealStatus.APPROVED:
            return [table[deal_id] for deal_id in self._approved], False
        if name == "deal_changes":
            changes = self._changes.values()
            if query.descending:
                return reversed(changes), True
            newer: list[Any] = []
            for change in reversed(changes):
                if after is not None and change.seq <= after:
                    break
                newer.append(change)
            return reversed(newer), True
        if name == "claims" and "deal_id" in equal:
            return [table[key] for key in self._claimed.get(equal["deal_id"], ())], False
        return list(table.values()), not query.order

    @staticmethod
    def _from(
        keys: list[Key], after: Key | None, table: Mapping[Key, Any] | None = None
    ) -> Iterator[Any]:
        """The sorted ``keys`` after ``after`` (their records, given the ``table``)."""
        start = 0 if after is None else bisect.bisect_right(keys, after)
        found = islice(keys, start, None)
        return found if table is None else (table[key] for key in found)

    def write(self, commit: Commit) -> None:
        with self._lock:
            self._check_open()
            self._apply(commit.check(self))

    def _apply(self, changes: Changes) -> None:
        """Apply checked changes and keep every index in step."""
        fresh: dict[str, list[Key]] = defaultdict(list)
        for write in changes.writes:
            name, key, record = write.kind.name, write.key, write.record
            table = self._tables[name]
            old = table.get(key)
            table[key] = record
            if old is None and name in _PAGED:
                fresh[name].append(key)
            self._index(name, key, record, old)
        for kind, key in changes.deletes:
            old = self._tables[kind.name].pop(key, None)
            if isinstance(old, Claim):
                self._claimed[old.deal_id].discard(key)
        for name, keys in fresh.items():
            ordered = self._sorted[name]
            if len(keys) > _BULK:
                ordered.extend(keys)
                ordered.sort()
            else:
                for key in keys:
                    bisect.insort(ordered, key)

    def _index(self, name: str, key: Key, record: Any, old: Any) -> None:
        if name == "activities" and old is None:
            self._by_partner[record.partner_id].append(record)
        elif name == "scores" and old is None:
            pair = (record.partner_id, record.model)
            history = self._histories.get(pair)
            if history is None:
                self._histories[pair] = [record]
                bisect.insort(self._scored[record.model], record.partner_id)
            else:
                bisect.insort(history, record, key=_AS_OF)
        elif name == "memberships" and old is None:
            bisect.insort(self._members[record.program_id], record.partner_id)
            self._member_of[record.partner_id].add(record.program_id)
        elif name == "tier_history":
            self._stretches[(record.program_id, record.partner_id)].add(key)
        elif name == "deals":
            if record.status is DealStatus.APPROVED:
                self._approved.add(key)
            else:
                self._approved.discard(key)
        elif name == "deal_changes":
            if old is not None:
                self._changes.pop(old.seq, None)
            self._changes[record.seq] = record
        elif name == "claims":
            if old is not None:
                self._claimed[old.deal_id].discard(key)
            self._claimed[record.deal_id].add(key)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for index in (self._tables, self._sorted, self._by_partner, self._histories):
                index.clear()
            for other in (self._scored, self._members, self._member_of, self._stretches):
                other.clear()
            self._approved.clear()
            self._claimed.clear()
            self._changes.clear()


class MemoryStorage(StagedStorage):
    """A thread-safe, in-process partnerkit store.

    Args:
        clock: Stamps outbox records (the system clock by default).
        ids: Mints outbox ids (a fresh `IdGenerator` on ``clock`` by default).
    """

    def __init__(self, *, clock: Clock | None = None, ids: IdGenerator | None = None) -> None:
        super().__init__(_MemoryBackend(), clock=clock, ids=ids)

    def __repr__(self) -> str:
        return "MemoryStorage()"
