"""``partnerkit deals check``: conflicts among registrations, in bounded work per customer.

A deal desk checks each registration against those that came before it. Done
naively, the n-th of n registrations for one customer conflicts with all n - 1
before it: n²/2 conflicts to find, hold and print (10,000 rows naming one
customer made 50 million). Instead each registration is reported once, with the
earliest earlier registration of the same customer (its holder under the
first-to-register rule) and a count of the others, so the work, the memory and the
output grow linearly with the file.

How the earlier registrations are found, all through the public `partnerkit.deals`
API:

- Registrations found to be for one customer form a **group** (a union-find over
  their ids), which grows as later registrations match any of its members.
- The `ConflictIndex` holds the first registration of each group and up to
  `NAME_VARIANTS` more members that brought a name the group had not had (a
  spelling variant), so near-name matches are found against the spellings seen,
  while a customer named 10,000 times is compared with a handful of records.
- Exact keys are never missed: the first registration to carry each of
  `customer_keys` (each website and email domain, the normalised name per
  country) is remembered, and a registration sharing a key with one the index
  does not hold is compared with it directly.

What this gives up, by design: a registration whose only match is a near name of
a group member that the index does not hold (the group already had
`NAME_VARIANTS` spellings) is not reported against that member; it is still
compared with every spelling the index holds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import attrs

from partnerkit.deals import Conflict, ConflictIndex, customer_keys, find_conflicts

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from datetime import datetime

    from partnerkit.deals import DealRegistration

#: How many registrations of one customer the index holds for near-name matching:
#: the first, and this many more that each brought a new spelling of the name.
NAME_VARIANTS: Final = 8


@attrs.frozen
class Finding:
    """One registration found to conflict with earlier ones.

    Attributes:
        conflict: The conflict with the earliest earlier registration found for
            the same customer.
        more: How many other earlier registrations are for the same customer
            (reported on their own lines when they arrived, not again here).
    """

    conflict: Conflict
    more: int


class _Groups:
    """Registrations of one customer, merged as matches are found (union-find)."""

    __slots__ = ("_parent", "indexed", "size")

    def __init__(self) -> None:
        self._parent: dict[str, str] = {}
        self.size: dict[str, int] = {}
        self.indexed: dict[str, int] = {}

    def __contains__(self, registration_id: object) -> bool:
        return registration_id in self._parent

    def root(self, registration_id: str) -> str:
        parent = self._parent
        root = registration_id
        while parent[root] != root:
            root = parent[root]
        while parent[registration_id] != root:  # path compression keeps look-ups flat
            parent[registration_id], registration_id = root, parent[registration_id]
        return root

    def start(self, registration_id: str) -> None:
        self._parent[registration_id] = registration_id
        self.size[registration_id] = 1
        self.indexed[registration_id] = 0

    def merge(self, roots: set[str], registration_id: str) -> str:
        """Join ``registration_id`` (just started) and the groups at ``roots``."""
        largest = max(roots, key=lambda root: self.size[root])
        for root in roots | {registration_id}:
            if root != largest:
                self._parent[root] = largest
                self.size[largest] += self.size.pop(root)
                self.indexed[largest] += self.indexed.pop(root)
        return largest


def check_in_order(registrations: Iterable[DealRegistration]) -> Iterator[Finding]:
    """Check each registration against those before it; yield one finding per conflict.

    Args:
        registrations: Submitted registrations, in the order they arrived; ids
            must be unique.

    Yields:
        For each registration that conflicts with earlier ones, the conflict with
        the earliest of them and how many more there are, as soon as it is found.
    """
    index = ConflictIndex()
    groups = _Groups()
    first_with_key: dict[str, DealRegistration] = {}
    order: dict[str, tuple[datetime, int]] = {}
    for position, registration in enumerate(registrations):
        order[registration.id] = (registration.registered_at, position)
        conflicts = find_conflicts(registration, index)
        seen = {conflict.other_id for conflict in conflicts}
        keys = customer_keys(registration)
        unseen = {
            holder.id: holder
            for holder in (first_with_key.get(key) for key in keys)
            if holder is not None and holder.id not in seen and holder.id not in index
        }
        if unseen:
            direct = ConflictIndex()
            for holder in unseen.values():
                direct.add(holder)
            conflicts += find_conflicts(registration, direct)
        new_name = any(key not in first_with_key for key in keys if ":name:" in key)
        for key in keys:
            first_with_key.setdefault(key, registration)
        groups.start(registration.id)
        earlier = [c for c in conflicts if c.other_id in groups]
        if not earlier:
            index.add(registration)
            groups.indexed[registration.id] = 1
            continue
        roots = {groups.root(conflict.other_id) for conflict in earlier}
        others = sum(groups.size[root] for root in roots)
        root = groups.merge(roots, registration.id)
        if new_name and groups.indexed[root] <= NAME_VARIANTS:
            index.add(registration)
            groups.indexed[root] += 1
        first = min(earlier, key=lambda conflict: order[conflict.other_id])
        yield Finding(first, others - 1)
