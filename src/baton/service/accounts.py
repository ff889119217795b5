"""The accounts ingestion matches people against, kept in memory between requests.

Matching a company name fuzzily needs every account's name at hand, so the directory keeps an
:class:`~baton.ingest.identity.AccountIndex` and reloads it when an account was added (the
highest account id changed; looked up at most once a second) or after ``max_age`` (renamed
accounts, changed domains). Accounts
created inside a transaction are matched through a second index of that transaction's own
(see :mod:`baton.service.events`) and reach the shared one only once committed and reloaded,
so a rolled-back account is never matched.
"""

from __future__ import annotations

import datetime as dt
import threading

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from baton.ingest.identity import AccountIndex
from baton.store.tables import Account

CHECK_EVERY = dt.timedelta(seconds=1)


class AccountDirectory:
    """A shared, reloading index of the stored accounts; safe to use from several threads."""

    def __init__(self, max_age: dt.timedelta = dt.timedelta(seconds=30)) -> None:
        self.max_age = max_age
        self._index = AccountIndex()
        self._loaded_at: dt.datetime | None = None
        self._top_id: int | None = None
        self._checked_at: dt.datetime | None = None
        self._lock = threading.Lock()

    def index(self, session: Session, now: dt.datetime) -> AccountIndex:
        """The stored accounts' index, reloaded first if it may be out of date (new accounts are
        looked for at most once a second)."""
        with self._lock:
            if self._checked_at is not None and now - self._checked_at < min(
                self.max_age, CHECK_EVERY
            ):
                return self._index
        top = session.scalar(select(func.max(Account.id)))
        with self._lock:
            self._checked_at = now
            fresh = (
                self._loaded_at is not None
                and top == self._top_id
                and now - self._loaded_at < self.max_age
            )
            if not fresh:
                rows = session.execute(select(Account.id, Account.name, Account.domain))
                self._index = AccountIndex((i, n, d) for i, n, d in rows)
                self._loaded_at, self._top_id = now, top
            return self._index
