"""The staged repositories: each stages writes and merges them over committed reads.

See `partnerkit.storage._staging` for the unit of work they belong to.
"""

from __future__ import annotations

import operator
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

import attrs

from partnerkit._base.time import to_utc
from partnerkit._base.trusted import evolve_trusted
from partnerkit.deals._domains import registrable_domain
from partnerkit.deals._model import ACTIVE_STATUSES, DealRegistration, DealStatus
from partnerkit.deals._names import normalize_company_name
from partnerkit.errors import (
    AlreadyExistsError,
    ConflictError,
    NotFoundError,
    StaleVersionError,
    ValidationError,
)
from partnerkit.health import HealthScore, ScoringModel
from partnerkit.ledger import Activity
from partnerkit.partners import Partner
from partnerkit.storage._common import (
    activity_conflict,
    assignment_conflict,
    check_assignment,
    check_deal,
    check_limit,
    check_membership,
    check_model_name,
    check_program,
    check_record,
    check_version,
    claimed_keys,
    closes,
    decode_cursor,
    encode_cursor,
    kind_filter,
    score_conflict,
)
from partnerkit.storage._protocols import AppendResult, Page, StoredModel, StoredProgram
from partnerkit.tiers import Membership, TierAssignment

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
    from datetime import datetime

    from partnerkit.partners import PartnerStatus
    from partnerkit.tiers import MembershipStatus, Program

from partnerkit.storage._kinds import (
    _EXISTS,
    _LATEST_CHANGE,
    ACTIVITIES,
    CLAIMS,
    DEAL_CHANGES,
    DEALS,
    MAX_KEYS,
    MEMBERSHIPS,
    MODELS,
    PARTNERS,
    PROGRAMS,
    SCORES,
    TIER_HISTORY,
    CommittedReads,
    Condition,
    DealChange,
    Key,
    Kind,
    Query,
    R,
    StorageBackend,
    Write,
    _predicate,
)


def _chunks(keys: Sequence[Key]) -> Iterator[Sequence[Key]]:
    for start in range(0, len(keys), MAX_KEYS):
        yield keys[start : start + MAX_KEYS]


def _load(reads: CommittedReads, kind: Kind[R], keys: Sequence[Key]) -> dict[Key, R]:
    found: dict[Key, R] = {}
    for chunk in _chunks(keys):
        found.update(reads.load(kind, chunk))
    return found


def judged(
    reads: CommittedReads,
    kind: Kind[R],
    staged: Mapping[Key, R],
    judge: Callable[[Key, R, R], Write[R] | None],
) -> list[Write[R]]:
    """The writes of ``staged`` records of a kind that is never versioned.

    A record nothing is stored under is inserted; for one that is, ``judge`` gets
    the key, the stored record and the staged one, and returns the write that
    replaces it, ``None`` to skip it (the same again), or raises to refuse it.
    """
    stored = _load(reads, kind, list(staged)) if staged else {}
    writes: list[Write[R]] = []
    for key, record in staged.items():
        known = stored.get(key)
        found = Write(kind, key, record, 0) if known is None else judge(key, known, record)
        if found is not None:
            writes.append(found)
    return writes


class _Stage(Generic[R]):
    """One kind's staged records in a unit of work, with the version each was based on."""

    __slots__ = ("_part", "based_on", "kind", "parts", "records")

    def __init__(self, kind: Kind[R]) -> None:
        self.kind = kind
        self.records: dict[Key, R] = {}
        # Versioned kinds: the stored version the first staged write was based on.
        self.based_on: dict[Key, int] = {}
        # The records again, grouped by the kind's partition fields (one: its value,
        # several: a tuple of them), so that a query naming them looks at one group.
        self.parts: dict[Any, dict[Key, R]] | None = {} if kind.partition else None
        self._part = operator.attrgetter(*kind.partition) if kind.partition else None

    def put(self, key: Key, record: R, based_on: int | None = None) -> None:
        self.records[key] = record
        if based_on is not None:
            self.based_on.setdefault(key, based_on)
        if self._part is not None and self.parts is not None:
            self.parts.setdefault(self._part(record), {})[key] = record

    def put_all(self, records: Mapping[Key, R]) -> None:
        """`put` each of ``records`` (new ones: no version)."""
        if self._part is None:
            self.records.update(records)
        else:
            for key, record in records.items():
                self.put(key, record)

    def clear(self) -> None:
        self.records.clear()
        self.based_on.clear()
        if self.parts is not None:
            self.parts.clear()

    def relevant(self, query: Query[R]) -> Mapping[Key, R]:
        """The staged records ``query`` could match or shadow."""
        if self.parts is not None and self.records:
            values = tuple(query.get(field) for field in self.kind.partition)
            if None not in values:
                return self.parts.get(values if len(values) > 1 else values[0], {})
        return self.records


class _Store(Protocol):
    """What a repository needs of its store: the backend's committed reads."""

    @property
    def _backend(self) -> StorageBackend: ...


class _Work(Protocol):
    """What a repository needs of its unit of work (`partnerkit.storage._staging`)."""

    @property
    def _storage(self) -> _Store: ...

    _stages: dict[str, _Stage[Any]]
    _claims: dict[str, tuple[str, ...]]
    _guards: list[Callable[[CommittedReads], None]]


class _Repository:
    __slots__ = ("_backend", "_work")

    def __init__(self, work: _Work) -> None:
        self._work = work
        self._backend = work._storage._backend

    def _find(self, query: Query[R]) -> list[R]:
        """``query`` over committed records, with this unit of work's staged ones merged in."""
        staged = self._work._stages[query.kind.name].relevant(query)
        if not staged:
            return self._backend.find(query)
        match = _predicate(query.kind, query.where + query.having)
        mine = [record for record in staged.values() if match(record)]
        return self._merge(query, self._unshadowed(query, staged, query.kind.key), mine)

    def _unshadowed(
        self, query: Query[R], hidden: Collection[Any], key: Callable[[R], Any]
    ) -> list[R]:
        """The committed records ``query`` finds, but those whose ``key`` is ``hidden``.

        A staged record replaces the committed one with its key, so those rows are
        left out, fetching further until the limit is met or nothing is left.
        """
        wanted = query.limit
        limit = wanted
        while True:
            rows = self._backend.find(query if limit == wanted else query._replace(limit=limit))
            kept = [row for row in rows if key(row) not in hidden]
            if wanted is None or limit is None or len(kept) >= wanted or len(rows) < limit:
                return kept if wanted is None else kept[:wanted]
            limit += wanted - len(kept)

    @staticmethod
    def _merge(query: Query[R], committed: list[R], mine: list[R]) -> list[R]:
        if not mine:
            return committed
        found = sorted(committed + mine, key=query.sort_key(), reverse=query.descending)
        return found if query.limit is None else found[: query.limit]

    def _page(
        self,
        kind: Kind[R],
        *,
        tag: str,
        where: list[Condition],
        field: str,
        limit: int,
        cursor: str | None,
        maximum: int,
    ) -> Page[R]:
        """One page of records ordered by ``field`` (unique within ``where``)."""
        size = check_limit(limit, maximum)
        after = decode_cursor(tag, cursor)
        if after is not None:
            where = [*where, Condition(field, ">", after)]
        purpose = f"querying {kind.name.replace('_', ' ')}"
        query = Query(kind, tuple(where), (field,), limit=size + 1, purpose=purpose)
        return _paged(self._find(query), size, tag, kind.getter(field))


def _paged(found: list[R], size: int, tag: str, field: Callable[[R], Any]) -> Page[R]:
    items = tuple(found[:size])
    return Page(items, encode_cursor(tag, field(items[-1])) if len(found) > size else None)


class _Versioned(_Repository, Generic[R]):
    """Records with a version: taken ids and stale versions refused when staged."""

    __slots__ = ("_stage",)
    _kind: Kind[R]  # each repository's own

    def __init__(self, work: _Work) -> None:
        super().__init__(work)
        self._stage: _Stage[R] = work._stages[self._kind.name]

    def _read(self, key: Key) -> R:
        found = self._stage.records.get(key)
        if found is None:
            found = self._backend.load(self._kind, (key,)).get(key)
            if found is None:
                raise NotFoundError(self._kind.label, self._kind.text(key))
        return found

    def _add(self, key: Key, record: R) -> R:
        if key in self._stage.records or self._backend.versions(self._kind, (key,)):
            raise _EXISTS[self._kind.name](key)
        self._stage.put(key, record, 0)
        return record

    def _check(self, key: Key, expected: int) -> None:
        staged = self._stage.records.get(key)
        if staged is not None:
            current: int | None = staged.version  # type: ignore[attr-defined]
        else:
            current = self._backend.versions(self._kind, (key,)).get(key)
        if current != expected:
            raise StaleVersionError(self._kind.label, self._kind.text(key), expected, current)

    def _update(self, key: Key, expected: int, record: R) -> R:
        self._stage.put(key, record, expected)
        return record


class _Identified(Protocol):
    """A versioned record keyed by its own id."""

    @property
    def id(self) -> str: ...

    @property
    def version(self) -> int: ...


V = TypeVar("V", bound=_Identified)


class _ById(_Versioned[V]):
    """Versioned records keyed by their id: get, add (at version 1) and update.

    A repository names its record type, the argument its errors name and the noun
    its version error uses; one whose records need more checks overrides `_checked`.
    """

    __slots__ = ()
    _cls: type[V]
    _field: str
    _noun: str
    _says_type: bool = True
    _tag: str | None = None  # what cursors are tagged with, if not the kind's name

    def _checked(self, record: object, *, new: bool) -> V:
        """``record`` if this repository may store it (as a new record when ``new``)."""
        return check_record(
            record, self._cls, self._field, new=new, noun=self._noun, says_type=self._says_type
        )

    def get(self, record_id: str, /) -> V:
        return self._read(record_id)

    def add(self, record: V, /) -> V:
        checked = self._checked(record, new=True)
        return self._add(checked.id, evolve_trusted(checked, version=1))

    def update(self, record: V, /) -> V:
        checked = self._checked(record, new=False)
        self._check(checked.id, checked.version)
        stored = evolve_trusted(checked, version=checked.version + 1)
        return self._update(checked.id, checked.version, stored)

    def _by_id(self, where: list[Condition], limit: int, cursor: str | None) -> Page[V]:
        """One page of the records matching ``where``, in id order, up to 1000 a page."""
        tag = self._tag or self._kind.name
        return self._page(
            self._kind, tag=tag, where=where, field="id", limit=limit, cursor=cursor, maximum=1000
        )


def equal(**filters: object) -> list[Condition]:
    """An equality condition for each of ``filters`` that is given (not ``None``)."""
    return [Condition(name, "=", value) for name, value in filters.items() if value is not None]


def instant_filter(field: str, op: str, value: datetime | None, name: str) -> list[Condition]:
    """``field op value`` if ``value`` is given; a naive ``value`` is refused, named ``name``."""
    return [] if value is None else [Condition(field, op, to_utc(value, name))]


def partner_filter(partner_ids: Sequence[str] | None) -> list[Condition]:
    """Keeping records of any of ``partner_ids`` (an empty sequence keeps none).

    Nothing is filtered when ``partner_ids`` is ``None``.
    """
    if partner_ids is None:
        return []
    if isinstance(partner_ids, str):
        raise ValidationError.single(
            "partner_ids", "expected a sequence of partner ids, not one string"
        )
    return [Condition("partner_id", "in", frozenset(partner_ids))]


class _Partners(_ById[Partner]):
    __slots__ = ()
    _kind = PARTNERS
    _cls = Partner
    _field = _noun = "partner"
    _says_type = False

    def add_many(self, partners: Iterable[Partner]) -> list[Partner]:
        items = list(partners)
        for index, partner in enumerate(items):
            if not isinstance(partner, Partner):
                raise ValidationError.single(f"partners[{index}]", "expected a Partner")
            if partner.version != 0:
                raise ValidationError.single(
                    f"partners[{index}].version",
                    "add_many() takes new partners (version 0); use update() to change one",
                )
        ids = [partner.id for partner in items]
        seen: set[str] = set()
        for partner_id in ids:
            if partner_id in seen or partner_id in self._stage.records:
                raise _EXISTS["partners"](partner_id)
            seen.add(partner_id)
        stored: dict[Key, int] = {}
        for chunk in _chunks(ids):
            stored.update(self._backend.versions(PARTNERS, chunk))
        taken = next((partner_id for partner_id in ids if partner_id in stored), None)
        if taken is not None:
            raise _EXISTS["partners"](taken)
        added = [evolve_trusted(partner, version=1) for partner in items]
        for partner in added:
            self._stage.put(partner.id, partner, 0)
        return added

    def query(
        self,
        *,
        status: PartnerStatus | None = None,
        type: str | None = None,  # noqa: A002 - the domain word
        owner_id: str | None = None,
        parent_id: str | None = None,
        country: str | None = None,
        name: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[Partner]:
        where = equal(
            status=status, type=type, owner_id=owner_id, parent_id=parent_id, country=country
        )
        if name is not None:
            where.append(Condition("name_key", "contains", search_key("name", name)))
        return self._by_id(where, limit, cursor)


def search_key(field: str, text: object) -> str:
    """``text`` normalised for a name search; refused if nothing is left to match."""
    if not isinstance(text, str):
        raise ValidationError.single(
            field, f"expected text to search for, got {type(text).__name__}"
        )
    found = normalize_company_name(text).strip("& ")
    if not found:
        raise ValidationError.single(
            field, f"{text!r} has no letters or digits to search for; give part of a name"
        )
    return normalize_company_name(text)


def _domain_query(text: str) -> str | None:
    """The registrable domain ``text`` names, if it looks like a host name."""
    if "." not in text or any(char.isspace() for char in text.strip()):
        return None
    try:
        return registrable_domain(text)
    except ValidationError:
        return None


def _partner_ids(partner_ids: Iterable[str]) -> list[str]:
    """``partner_ids`` checked, once each, in the order given."""
    if isinstance(partner_ids, str):
        raise ValidationError.single(
            "partner_ids", "expected several partner ids (a list), not one string"
        )
    asked = list(dict.fromkeys(partner_ids))
    for index, partner_id in enumerate(asked):
        if type(partner_id) is not str:
            raise ValidationError.single(
                f"partner_ids[{index}]", f"expected a partner id, got {type(partner_id).__name__}"
            )
    return asked


def _time_conditions(field: str, since: datetime | None, until: datetime | None) -> list[Condition]:
    return instant_filter(field, ">=", since, "since") + instant_filter(field, "<=", until, "until")


class _Activities(_Repository):
    __slots__ = ()

    def append(self, activities: Iterable[Activity]) -> AppendResult:
        items = list(activities)
        stage = self._work._stages["activities"]
        staged = stage.records
        # The first item that is not an Activity is reported once the items before
        # it are checked, as if the batch were read one item at a time.
        bad = next((i for i, item in enumerate(items) if not isinstance(item, Activity)), None)
        checked: list[Activity] = items if bad is None else items[:bad]
        unknown = list(dict.fromkeys(a.id for a in checked if a.id not in staged))
        committed = _load(self._backend, ACTIVITIES, unknown) if unknown else {}
        batch: dict[str, Activity] = {}
        duplicates = 0
        for activity in checked:
            known = batch.get(activity.id) or staged.get(activity.id) or committed.get(activity.id)
            if known is None:
                batch[activity.id] = activity
            elif known == activity:
                duplicates += 1
            else:
                raise activity_conflict(activity.id)
        if bad is not None:
            raise ValidationError.single(
                "activities", f"expected Activity objects, got {type(items[bad]).__name__}"
            )
        stage.put_all(batch)
        return AppendResult(added=len(batch), duplicates=duplicates)

    def get(self, activity_id: str) -> Activity:
        found = self._work._stages["activities"].records.get(activity_id)
        if found is None:
            found = self._backend.load(ACTIVITIES, (activity_id,)).get(activity_id)
            if found is None:
                raise NotFoundError("activity", activity_id)
        return found

    @staticmethod
    def _where(
        kinds: Iterable[str] | None, since: datetime | None, until: datetime | None
    ) -> list[Condition]:
        wanted = kind_filter(kinds)
        where = _time_conditions("occurred_at", since, until)
        return where if wanted is None else [Condition("kind", "in", wanted), *where]

    def for_partner(
        self,
        partner_id: str,
        *,
        kinds: Iterable[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Activity]:
        where = [Condition("partner_id", "=", partner_id), *self._where(kinds, since, until)]
        purpose = "reading a partner's activities"
        return self._find(Query(ACTIVITIES, tuple(where), ("occurred_at", "id"), purpose=purpose))

    def for_partners(
        self,
        partner_ids: Iterable[str],
        *,
        kinds: Iterable[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> dict[str, list[Activity]]:
        found: dict[str, list[Activity]] = {pid: [] for pid in _partner_ids(partner_ids)}
        where = tuple(self._where(kinds, since, until))
        for chunk in _chunks(list(found)):
            query = Query(
                ACTIVITIES,
                (Condition("partner_id", "in", frozenset(chunk)), *where),
                ("partner_id", "occurred_at", "id"),
                purpose="reading partners' activities",
            )
            for activity in self._find(query):
                found[activity.partner_id].append(activity)
        return found

    def query(
        self,
        *,
        partner_id: str | None = None,
        kinds: Iterable[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 1000,
        cursor: str | None = None,
    ) -> Page[Activity]:
        where = self._where(kinds, since, until)
        if partner_id is not None:
            where.insert(0, Condition("partner_id", "=", partner_id))
        return self._page(
            ACTIVITIES,
            tag="activities",
            where=where,
            field="id",
            limit=limit,
            cursor=cursor,
            maximum=10_000,
        )


class _Scores(_Repository):
    __slots__ = ()

    def add(self, score: HealthScore) -> None:
        if not isinstance(score, HealthScore):
            raise ValidationError.single(
                "score", f"expected a HealthScore, got {type(score).__name__}"
            )
        stage = self._work._stages["scores"]
        key = (score.partner_id, score.model, score.as_of)
        known = stage.records.get(key)
        if known is None:
            known = self._backend.load(SCORES, (key,)).get(key)
            if known is None:
                stage.put(key, score)
                return
        if known != score:
            raise score_conflict(score)

    @staticmethod
    def _of(partner_id: str, model: str) -> list[Condition]:
        return [Condition("partner_id", "=", partner_id), Condition("model", "=", model)]

    def latest(
        self, partner_id: str, *, model: str, before: datetime | None = None
    ) -> HealthScore | None:
        where = self._of(partner_id, check_model_name(model))
        where += instant_filter("as_of", "<=", before, "before")
        query = Query(
            SCORES,
            tuple(where),
            ("as_of",),
            descending=True,
            limit=1,
            purpose="reading a partner's latest score",
        )
        found = self._find(query)
        return found[0] if found else None

    def latest_before(
        self, partner_ids: Iterable[str], *, model: str, before: datetime
    ) -> dict[str, HealthScore]:
        asked = _partner_ids(partner_ids)
        name = check_model_name(model)
        moment = to_utc(before, "before")
        best: dict[str, HealthScore] = {}
        for chunk in _chunks(asked):
            where = (
                Condition("partner_id", "in", frozenset(chunk)),
                Condition("model", "=", name),
                Condition("as_of", "<", moment),
            )
            query = Query(
                SCORES,
                where,
                ("partner_id",),
                latest=("partner_id", "as_of"),
                purpose="reading partners' latest scores",
            )
            best.update((score.partner_id, score) for score in self._backend.find(query))
            # A staged score is newer than the committed one at its instant or before.
            wanted = _predicate(SCORES, where)
            for score in self._work._stages["scores"].records.values():
                if wanted(score):
                    known = best.get(score.partner_id)
                    if known is None or score.as_of >= known.as_of:
                        best[score.partner_id] = score
        return {pid: best[pid] for pid in asked if pid in best}

    def history(
        self,
        partner_id: str,
        *,
        model: str,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[HealthScore]:
        name = check_model_name(model)
        where = self._of(partner_id, name) + _time_conditions("as_of", since, until)
        return self._find(
            Query(SCORES, tuple(where), ("as_of",), purpose="reading a partner's scores")
        )

    def query(
        self,
        *,
        model: str,
        as_of: datetime | None = None,
        band: str | None = None,
        limit: int = 1000,
        cursor: str | None = None,
    ) -> Page[HealthScore]:
        size = check_limit(limit, 1000)
        after = decode_cursor("scores", cursor)
        name = check_model_name(model)
        at = None if as_of is None else to_utc(as_of, "as_of")
        shown = [] if band is None else [Condition("band", "=", band)]
        later = [] if after is None else [Condition("partner_id", ">", after)]
        where = [Condition("model", "=", name), *later]
        if at is not None:
            query = Query(
                SCORES,
                (*where, Condition("as_of", "=", at), *shown),
                ("partner_id",),
                limit=size + 1,
                purpose="querying scores",
            )
            return _paged(self._find(query), size, "scores", SCORES.getter("partner_id"))
        return _paged(
            self._latest_page(name, tuple(where), tuple(shown), size + 1),
            size,
            "scores",
            SCORES.getter("partner_id"),
        )

    def _latest_page(
        self,
        model: str,
        where: tuple[Condition, ...],
        shown: tuple[Condition, ...],
        limit: int,
    ) -> list[HealthScore]:
        """Each partner's latest score matching ``shown``, by partner, at most ``limit``."""
        query = Query(
            SCORES,
            where,
            ("partner_id",),
            limit=limit,
            latest=("partner_id", "as_of"),
            having=shown,
            purpose="querying scores",
        )
        # Partners with staged scores are answered here, against their latest
        # committed score; their committed rows are left out of the query.
        mine: dict[str, HealthScore] = {}
        wanted = _predicate(SCORES, where)
        for score in self._work._stages["scores"].records.values():
            if wanted(score):
                known = mine.get(score.partner_id)
                if known is None or score.as_of > known.as_of:
                    mine[score.partner_id] = score
        if not mine:
            return self._backend.find(query)
        picked: list[HealthScore] = []
        visible = _predicate(SCORES, shown)
        for partner_id in sorted(mine):
            newest = self.latest(partner_id, model=model)  # a staged score wins a tie
            if newest is not None and visible(newest):
                picked.append(newest)
                if len(picked) >= limit:
                    break
        committed = self._unshadowed(query, mine, SCORES.getter("partner_id"))
        return self._merge(query, committed, picked)


class _Programs(_Versioned[StoredProgram]):
    __slots__ = ()
    _kind = PROGRAMS

    def get(self, program_id: str) -> StoredProgram:
        return self._read(program_id)

    def add(self, program: Program) -> StoredProgram:
        check_program(program)
        return self._add(program.id, StoredProgram(program, 1))

    def update(self, program: Program, *, version: int) -> StoredProgram:
        check_program(program)
        check_version(version)
        self._check(program.id, version)
        # A new version of a retired program's rules does not bring it back.
        retired_at = self._read(program.id).retired_at
        stored = StoredProgram(program, version + 1, retired_at=retired_at)
        return self._update(program.id, version, stored)

    def retire(self, program_id: str, *, version: int, at: datetime) -> StoredProgram:
        check_version(version)
        moment = to_utc(at, "at")
        self._check(program_id, version)
        stored = self._read(program_id)
        if stored.retired_at is not None:
            raise ValidationError.single(
                "program_id",
                f"program {program_id!r} was retired at {stored.retired_at.isoformat()}; "
                f"it cannot be retired again",
            )
        retired = StoredProgram(stored.program, version + 1, retired_at=moment)
        return self._update(program_id, version, retired)

    def query(self, *, limit: int = 100, cursor: str | None = None) -> Page[StoredProgram]:
        return self._page(
            PROGRAMS, tag="programs", where=[], field="id", limit=limit, cursor=cursor, maximum=1000
        )


class _Memberships(_Versioned[Membership]):
    __slots__ = ()
    _kind = MEMBERSHIPS

    def get(self, program_id: str, partner_id: str) -> Membership:
        return self._read((program_id, partner_id))

    def add(self, membership: Membership) -> Membership:
        check_membership(membership, new=True)
        partner_id = membership.partner_id
        key = (membership.program_id, partner_id)
        if key in self._stage.records or self._backend.versions(MEMBERSHIPS, (key,)):
            raise _EXISTS["memberships"](key)
        staged = self._work._stages["partners"].records
        if partner_id not in staged and not self._backend.versions(PARTNERS, (partner_id,)):
            raise _no_member(partner_id)
        stored = evolve_trusted(membership, version=1)
        self._stage.put(key, stored, 0)
        return stored

    def update(self, membership: Membership) -> Membership:
        check_membership(membership)
        key = (membership.program_id, membership.partner_id)
        self._check(key, membership.version)
        stored = evolve_trusted(membership, version=membership.version + 1)
        return self._update(key, membership.version, stored)

    def query(
        self,
        *,
        program_id: str,
        status: MembershipStatus | None = None,
        tier_id: str | None = None,
        limit: int = 1000,
        cursor: str | None = None,
    ) -> Page[Membership]:
        where = [Condition("program_id", "=", program_id), *equal(status=status, tier_id=tier_id)]
        return self._page(
            MEMBERSHIPS,
            tag="memberships",
            where=where,
            field="partner_id",
            limit=limit,
            cursor=cursor,
            maximum=10_000,
        )

    def for_partner(self, partner_id: str) -> list[Membership]:
        query = Query(
            MEMBERSHIPS,
            (Condition("partner_id", "=", partner_id),),
            ("program_id",),
            purpose="reading a partner's memberships",
        )
        return self._find(query)


def _no_member(partner_id: str) -> NotFoundError:
    return NotFoundError(
        "partner",
        partner_id,
        "a membership needs its partner: add the partner first (in this unit of work "
        "or an earlier one)",
    )


class _Numbered(Protocol):
    """A record stored beside its other versions, under its name and version."""

    @property
    def version(self) -> int: ...


N = TypeVar("N", bound=_Numbered)


class _Versions(_Repository, Generic[N]):
    """Every version of named records, side by side: scoring models, incentive plans.

    A repository names its kind (keyed by name and version), what reading one
    name's versions is called, and how a name is checked (`_named`).
    """

    __slots__ = ()
    _kind: Kind[N]
    _purpose: str

    def _named(self, name: object) -> str:
        """``name`` if it may name a record of this kind, else `ValidationError`."""
        raise NotImplementedError

    def _stage(self) -> _Stage[N]:
        return self._work._stages[self._kind.name]

    def _stored(self, key: tuple[str, int]) -> N | None:
        found = self._stage().records.get(key)
        if found is None:
            found = self._backend.load(self._kind, (key,)).get(key)
        return found

    def _all(self, name: str) -> list[N]:
        where = (Condition(self._kind.key_fields[0], "=", self._named(name)),)
        return self._find(Query(self._kind, where, ("version",), purpose=self._purpose))

    def get(self, name: str, *, version: int | None = None) -> N:
        if version is None:
            found = self._all(name)
            if not found:
                raise NotFoundError(self._kind.label, self._named(name))
            return found[-1]
        key = (self._named(name), check_version(version))
        stored = self._stored(key)
        if stored is None:
            raise NotFoundError(self._kind.label, self._kind.text(key))
        return stored

    def versions(self, name: str) -> list[int]:
        return [stored.version for stored in self._all(name)]


class _Models(_Versions[StoredModel]):
    __slots__ = ()
    _kind = MODELS
    _purpose = "reading a model's versions"

    def _named(self, name: object) -> str:
        return check_model_name(name)

    def add(self, model: ScoringModel) -> StoredModel:
        if not isinstance(model, ScoringModel):
            raise ValidationError.single(
                "model", f"expected a ScoringModel, got {type(model).__name__}"
            )
        key = (model.name, model.version)
        if self._stored(key) is not None:
            raise _model_exists(key)
        stored = StoredModel(model, model.version)
        self._stage().put(key, stored)
        return stored

    def query(self, *, limit: int = 100, cursor: str | None = None) -> Page[StoredModel]:
        size = check_limit(limit, 1000)
        after = decode_cursor("models", cursor)
        where = () if after is None else (Condition("name", ">", after),)
        query = Query(
            MODELS,
            where,
            ("name",),
            limit=size + 1,
            latest=("name", "version"),
            purpose="querying scoring models",
        )
        staged = self._stage().records
        if not staged:
            found = self._backend.find(query)
        else:
            # Names with staged versions are answered by their own versions;
            # their committed rows are left out of the query.
            mine = {key[0] for key in staged if after is None or key[0] > after}
            picked = [self.get(name) for name in sorted(mine)]
            committed = self._unshadowed(query, mine, MODELS.getter("name"))
            found = self._merge(query, committed, picked)
        return _paged(found, size, "models", MODELS.getter("name"))

    def retire(self, name: str, *, version: int) -> StoredModel:
        stored = self.get(name, version=version)
        if stored.retired:
            raise _retired_already(MODELS.key(stored))
        retired = attrs.evolve(stored, retired=True)
        self._stage().put(MODELS.key(stored), retired)
        return retired


def _retired_already(key: tuple[str, int]) -> ConflictError:
    text = MODELS.text(key)
    return ConflictError(
        "scoring model", text, f"scoring model {text!r} is already retired; nothing was written"
    )


def _model_exists(key: tuple[str, int]) -> AlreadyExistsError:
    name, version = key
    return AlreadyExistsError(
        "scoring model",
        MODELS.text(key),
        f"version {version} of scoring model {name!r} is stored; raise the model's "
        f"version to store a change",
    )


class _TierHistory(_Repository):
    __slots__ = ()

    def save(self, assignment: TierAssignment) -> None:
        check_assignment(assignment)
        stage = self._work._stages["tier_history"]
        key = TIER_HISTORY.key(assignment)
        known = stage.records.get(key)
        if known is None:
            known = self._backend.load(TIER_HISTORY, (key,)).get(key)
        if known is None or closes(known, assignment):
            stage.put(key, assignment)
        elif known != assignment:
            raise assignment_conflict(assignment)

    def _history(self, program_id: str, partner_id: str, *more: Condition) -> list[TierAssignment]:
        where = (Condition("program_id", "=", program_id), Condition("partner_id", "=", partner_id))
        purpose = "reading a partner's tier history"
        return self._find(Query(TIER_HISTORY, where + more, ("valid_from",), purpose=purpose))

    def for_partner(self, program_id: str, partner_id: str) -> list[TierAssignment]:
        return self._history(program_id, partner_id)

    def for_partners(
        self, program_id: str, partner_ids: Iterable[str]
    ) -> dict[str, list[TierAssignment]]:
        found: dict[str, list[TierAssignment]] = {pid: [] for pid in _partner_ids(partner_ids)}
        for chunk in _chunks(list(found)):
            where = (
                Condition("program_id", "=", program_id),
                Condition("partner_id", "in", frozenset(chunk)),
            )
            query = Query(
                TIER_HISTORY,
                where,
                ("partner_id", "valid_from"),
                purpose="reading partners' tier histories",
            )
            for assignment in self._find(query):
                found[assignment.partner_id].append(assignment)
        return found

    def at(self, program_id: str, partner_id: str, instant: datetime) -> TierAssignment | None:
        moment = to_utc(instant, "instant")
        begun = self._history(program_id, partner_id, Condition("valid_from", "<=", moment))
        covering = [assignment for assignment in begun if assignment.covers(moment)]
        return covering[-1] if covering else None


class _Deals(_ById[DealRegistration]):
    __slots__ = ()
    _kind = DEALS

    def _checked(self, record: object, *, new: bool) -> DealRegistration:
        return check_deal(record, new=new)

    def add(self, record: DealRegistration, /) -> DealRegistration:
        return self._claiming(super().add(record))

    def update(self, record: DealRegistration, /) -> DealRegistration:
        return self._claiming(super().update(record))

    def _claiming(self, stored: DealRegistration) -> DealRegistration:
        # Computed when staged, so that the commit's lock is not held while
        # customer names are normalised.
        self._work._claims[stored.id] = claimed_keys(stored)
        return stored

    def query(
        self,
        *,
        partner_id: str | None = None,
        status: DealStatus | None = None,
        customer: str | None = None,
        protection_until_after: datetime | None = None,
        protection_until_before: datetime | None = None,
        partner_ids: Sequence[str] | None = None,
        limit: int = 1000,
        cursor: str | None = None,
    ) -> Page[DealRegistration]:
        where = equal(partner_id=partner_id, status=status) + partner_filter(partner_ids)
        if customer is not None:
            where.append(self._customer(customer))
        where += instant_filter(
            "protection_until", ">", protection_until_after, "protection_until_after"
        )
        where += instant_filter(
            "protection_until", "<=", protection_until_before, "protection_until_before"
        )
        return self._by_id(where, limit, cursor)

    @staticmethod
    def _customer(customer: str) -> Condition:
        by_name = Condition("customer_name_key", "contains", search_key("customer", customer))
        domain = _domain_query(customer)
        if domain is None:
            return by_name
        return Condition.either(by_name, Condition("customer_domain", "=", domain))

    def active(self, *, limit: int = 1000, cursor: str | None = None) -> Page[DealRegistration]:
        where = [Condition("status", "in", frozenset(ACTIVE_STATUSES))]
        return self._page(
            DEALS,
            tag="active deals",
            where=where,
            field="id",
            limit=limit,
            cursor=cursor,
            maximum=1000,
        )

    def _protected(
        self, after: datetime | None, until: datetime, limit: int
    ) -> list[DealRegistration]:
        where = [
            Condition("status", "=", DealStatus.APPROVED),
            Condition("protection_until", "<=", until),
        ]
        if after is not None:
            where.append(Condition("protection_until", ">", after))
        query = Query(
            DEALS,
            tuple(where),
            ("protection_until", "id"),
            limit=check_limit(limit, 1000),
            purpose="reading protection windows",
        )
        return self._find(query)

    def due_to_expire(self, as_of: datetime, *, limit: int = 1000) -> list[DealRegistration]:
        return self._protected(None, to_utc(as_of, "as_of"), limit)

    def expiring_within(
        self, as_of: datetime, until: datetime, *, limit: int = 1000
    ) -> list[DealRegistration]:
        return self._protected(to_utc(as_of, "as_of"), to_utc(until, "until"), limit)

    def claims_for(self, deal_id: str) -> tuple[str, ...]:
        staged = self._work._claims.get(deal_id)
        if staged is not None:
            return staged
        query = Query(
            CLAIMS,
            (Condition("deal_id", "=", deal_id),),
            ("key",),
            purpose="reading deal claims",
        )
        return tuple(claim.key for claim in self._backend.find(query))

    def change_mark(self) -> int:
        """The ``seq`` of the latest committed deal change (0 before any)."""
        latest = self._backend.find(_LATEST_CHANGE)
        return latest[0].seq if latest else 0

    def changed_since(self, mark: int, *, limit: int = 1000) -> list[DealChange]:
        """Committed deal changes numbered above ``mark``, in sequence order."""
        query = Query(
            DEAL_CHANGES,
            (Condition("seq", ">", mark),),
            ("seq",),
            limit=check_limit(limit, 1000),
            purpose="following deal changes",
        )
        return self._backend.find(query)

    def committed(self, deal_ids: Sequence[str]) -> dict[str, DealRegistration]:
        """The committed registrations among ``deal_ids`` (this unit's staging aside)."""
        return _load(self._backend, DEALS, deal_ids)

    def guard(self, check: Callable[[CommittedReads], None]) -> None:
        """Run ``check`` inside the commit's lock or transaction, before anything is written.

        ``check`` reads the committed state with the reads it is given and raises
        (`StaleVersionError` for "read again and retry") to refuse the commit.
        """
        self._work._guards.append(check)

    def holder(self, key: str) -> str | None:
        for deal_id, keys in self._work._claims.items():
            if key in keys:
                return deal_id
        claim = self._backend.load(CLAIMS, (key,)).get(key)
        # A registration saved in this unit of work holds only the keys it wants now.
        return None if claim is None or claim.deal_id in self._work._claims else claim.deal_id
