"""Identity stitching for one batch of events: which profile (person) each event belongs to.

A profile gathers identifiers (an ``anonymous_id``, a ``user_id``, an ``email``). An event that
carries several identifiers ties them together: if they belong to different profiles, the
profiles merge, so a visitor's anonymous page views and their later identify end up on one
person. The rules:

* A profile has at most one lead. Profiles merge when at most one of them has a lead; the
  merged profile keeps that lead (or, with none, the oldest profile's id).
* An email address is one person: an email new to a profile whose lead has another address
  starts (or finds) its own lead, and the conflict rule below applies.
* When the identifiers of one event belong to profiles with *different* leads (two people on
  one browser, a user id reused), nothing merges: the identifiers of that event move to the
  profile of its strongest identifier (email, then user id, then anonymous id), and earlier
  events stay where they were.

The graph works in memory while a batch is derived and writes its changes once at the end
(:meth:`StitchGraph.write`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from baton.store import events as store

Key = tuple[str, str]


@dataclass(eq=False)
class ProfileState:
    """A profile while a batch is derived: ``id`` is ``None`` until a new one is written."""

    id: int | None
    lead_id: int | None = None
    contact_id: int | None = None
    account_id: int | None = None
    created_at: dt.datetime | None = None
    merged_into: ProfileState | None = None
    loaded: tuple[int | None, int | None, int | None] | None = None
    absorbed: bool = False  # took in another stored profile's events in this batch
    #: A lead or contact created in this batch and not yet written (it has no id yet).
    lead_row: Any = None
    contact_row: Any = None

    @property
    def lead_key(self) -> object | None:
        """What tells this profile's lead apart from another's, written or not."""
        if self.lead_id is not None:
            return self.lead_id
        return None if self.lead_row is None else id(self.lead_row)

    @property
    def has_lead(self) -> bool:
        return self.lead_key is not None

    def written(self) -> None:
        """Take the ids of the lead and contact created for this profile, once they are written."""
        if self.lead_row is not None:
            self.lead_id, self.lead_row = self.lead_row.id, None
        if self.contact_row is not None:
            self.contact_id, self.contact_row = self.contact_row.id, None

    def root(self) -> ProfileState:
        node = self
        while node.merged_into is not None:
            node = node.merged_into
        return node

    @property
    def gained_lead(self) -> bool:
        return self.lead_id is not None and (self.loaded is None or self.loaded[0] != self.lead_id)


class StitchGraph:
    """The profiles of one batch's identifiers, loaded once, changed in memory, written once."""

    def __init__(self, session: Session, keys: Iterable[Key], now: dt.datetime) -> None:
        self.session = session
        self.now = now
        self.loaded_keys, rows = store.identities(session, keys)
        self.stored = {pid: ProfileState(pid, *row, loaded=row) for pid, row in rows.items()}
        self.by_key: dict[Key, ProfileState] = {
            key: self.stored[pid] for key, pid in self.loaded_keys.items() if pid in self.stored
        }
        self.new: list[ProfileState] = []

    def known(self, key: Key) -> bool:
        return key in self.by_key

    def peek(self, keys: Sequence[Key]) -> ProfileState | None:
        """The profile of the strongest known identifier among ``keys``, changing nothing."""
        for key in keys:
            if key in self.by_key:
                return self.by_key[key].root()
        return None

    def resolve(self, keys: Sequence[Key], at: dt.datetime) -> ProfileState:
        """The profile of an event with these identifiers (strongest first), merging as the
        module's rules say; identifiers seen for the first time join it."""
        distinct: list[ProfileState] = []
        for key in keys:
            if key in self.by_key:
                profile = self.by_key[key].root()
                if profile not in distinct:
                    distinct.append(profile)
        if not distinct:
            target = ProfileState(None, created_at=at)
            self.new.append(target)
        elif len(distinct) == 1:
            target = distinct[0]
        elif len({p.lead_key for p in distinct if p.has_lead}) <= 1:
            target = self._merge_target(distinct)
            for other in distinct:
                if other is not target:
                    self._merge(other, target)
        else:
            target = distinct[0]  # conflicting leads: the strongest identifier's person wins
        for key in keys:
            self.by_key[key] = target
        return target

    @staticmethod
    def _merge_target(profiles: list[ProfileState]) -> ProfileState:
        with_lead = [p for p in profiles if p.has_lead]
        if with_lead:
            return with_lead[0]
        stored = sorted((p for p in profiles if p.id is not None), key=lambda p: p.id or 0)
        return stored[0] if stored else profiles[0]

    @staticmethod
    def _merge(other: ProfileState, target: ProfileState) -> None:
        other.merged_into = target
        if not target.has_lead:
            target.lead_id, target.lead_row = other.lead_id, other.lead_row
        if target.contact_id is None and target.contact_row is None:
            target.contact_id, target.contact_row = other.contact_id, other.contact_row
        target.account_id = target.account_id or other.account_id
        if other.id is not None:
            target.absorbed = True

    def profiles(self) -> list[ProfileState]:
        """Every profile this batch loaded or made."""
        return [*self.stored.values(), *self.new]

    def write(self) -> list[ProfileState]:
        """Write new profiles, merges, identities and changed profiles; return the profiles
        whose earlier events must be stitched onto their lead. New leads and contacts must be
        written first (:meth:`ProfileState.written`)."""
        fresh = [p for p in self.new if p.merged_into is None]
        ids = store.insert_returning_ids(
            self.session,
            store.PROFILES,
            [
                {
                    "lead_id": p.lead_id,
                    "contact_id": p.contact_id,
                    "account_id": p.account_id,
                    "created_at": p.created_at or self.now,
                }
                for p in fresh
            ],
        )
        for profile, new_id in zip(fresh, ids, strict=True):
            profile.id = new_id
        for profile in self.stored.values():
            if profile.merged_into is not None:
                store.merge_profile(self.session, profile.id or 0, profile.root().id or 0)
        inserts, moves = [], []
        for key, profile in self.by_key.items():
            final = profile.root().id
            if key not in self.loaded_keys:
                inserts.append(
                    {"kind": key[0], "value": key[1], "profile_id": final, "created_at": self.now}
                )
            elif self.loaded_keys[key] != final:
                moves.append({"kind": key[0], "value": key[1], "profile_id": final})
        store.insert_many(self.session, store.IDENTITIES, inserts)
        store.move_identities(self.session, moves)
        changed = [
            {
                "id": p.id,
                "lead_id": p.lead_id,
                "contact_id": p.contact_id,
                "account_id": p.account_id,
            }
            for p in self.stored.values()
            if p.merged_into is None and p.loaded != (p.lead_id, p.contact_id, p.account_id)
        ]
        store.update_profiles(self.session, changed)
        roots = [p for p in [*self.stored.values(), *fresh] if p.merged_into is None]
        return [
            p
            for p in roots
            if p.lead_id is not None and (p.absorbed or (p.id in self.stored and p.gained_lead))
        ]
