"""What every route needs, built once per app by :func:`baton.web.app.create_app`'s lifespan,
and the typed dependencies routes declare (``Ctx``, ``IngestToken``, ``ReadToken``, ...)."""

from __future__ import annotations

import base64
import binascii
import random
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine

from baton.config import Settings
from baton.domain.model import Clock
from baton.errors import Conflict, Forbidden, StoreError
from baton.ingest.messages import Message
from baton.service.accounts import AccountDirectory
from baton.service.events import IngestResult, Reading, ingest
from baton.service.tokens import TokenInfo, authenticate, token_hash
from baton.store.engine import WriteLock, translate_errors
from baton.store.uow import UnitOfWork
from baton.web.batching import WriteQueue

if TYPE_CHECKING:
    from baton.web.writer_process import WriterProcess

T = TypeVar("T")
#: How often a transaction that failed for a passing reason (a deadlock, a lock wait that ran
#: out, a lost connection, a key another request stored first) is tried again before the API
#: answers 503 (or 409).
ATTEMPTS = 5


@dataclass
class AppContext:
    """The engines, clock and caches of one running app.

    ``writer`` is the engine for ingestion: on SQLite its transactions begin with
    ``BEGIN IMMEDIATE`` and ``write_lock`` lets one of this process's threads write at a time
    (SQLite's own lock would make the others poll); on PostgreSQL both are the plain engine and
    no lock: its unique indexes settle races between processes (see :mod:`baton.store.events`).
    """

    settings: Settings
    engine: Engine
    writer: Engine
    clock: Clock
    accounts: AccountDirectory = field(default_factory=AccountDirectory)
    write_lock: threading.Lock | WriteLock | None = None
    tokens: TokenCache = field(default_factory=lambda: TokenCache())
    #: Where event requests go: a queue writing them on this process's threads, or, for
    #: ``baton serve`` on a SQLite file, a :class:`~baton.web.writer_process.WriterProcess`.
    events: WriteQueue | WriterProcess = field(init=False)

    def __post_init__(self) -> None:
        self.events = WriteQueue(self._write_events)

    def _write_events(
        self,
        messages: Sequence[Message],
        tokens: dict[str, int | None],
        readings: dict[str, Reading],
    ) -> IngestResult:
        return self.write(
            lambda uow: ingest(
                uow,
                messages,
                clock=self.clock,
                accounts=self.accounts,
                tokens=tokens,
                readings=readings,
            )
        )

    @contextmanager
    def _locked(self) -> Iterator[None]:
        if self.write_lock is None:
            yield
            return
        with self.write_lock:
            yield

    def write(self, work: Callable[[UnitOfWork], T]) -> T:
        """Run ``work`` in one writing transaction and commit it; try again on passing failures.

        Work that stores events is idempotent (message ids are stored once), so running it
        again after a failure that may or may not have committed is safe.
        """
        for attempt in range(1, ATTEMPTS + 1):
            try:
                with (
                    self._locked(),
                    UnitOfWork(self.writer) as uow,
                    translate_errors("storing events"),
                ):
                    value = work(uow)
                    uow.commit()
                    return value
            except StoreError:
                if attempt == ATTEMPTS:
                    raise
                time.sleep(random.uniform(0.02, 0.06) * attempt)
            except Conflict as exc:  # another process stored the same key first: look again
                if attempt == ATTEMPTS:
                    raise StoreError(
                        f"{exc}; other requests kept storing the same records, try again"
                    ) from exc
                time.sleep(random.uniform(0.02, 0.06) * attempt)  # apart from the other writer
        raise AssertionError("unreachable")  # pragma: no cover

    def read(self, work: Callable[[UnitOfWork], T]) -> T:
        with UnitOfWork(self.engine) as uow, translate_errors("reading"):
            return work(uow)


def app_context(request: Request) -> AppContext:
    return request.app.state.baton  # type: ignore[no-any-return]


Ctx = Annotated[AppContext, Depends(app_context)]


def _basic_user(header: str) -> str | None:
    try:
        decoded = base64.b64decode(header, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded.split(":", 1)[0] or None


async def presented_secret(request: Request) -> str | None:
    """The token a request presents: the basic-auth user (Segment's write key), a Bearer token,
    or, on the Segment routes, the body's ``writeKey``."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() == "basic" and value.strip():
        return _basic_user(value.strip())
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if request.url.path.startswith("/v1/") and request.method == "POST":
        try:
            body: Any = await request.json()
        except ValueError:
            return None
        key = body.get("writeKey") if isinstance(body, dict) else None
        return key if isinstance(key, str) and key else None
    return None


Secret = Annotated[str | None, Depends(presented_secret)]


class TokenCache:
    """Tokens checked in the last ``ttl`` seconds, so a busy sender is not looked up on every
    request. A revoked token is refused at most ``ttl`` seconds after `baton token revoke`."""

    def __init__(self, ttl: float = 2.0) -> None:
        self.ttl = ttl
        self._seen: dict[str, tuple[TokenInfo, float]] = {}

    def get(self, secret: str) -> TokenInfo | None:
        found = self._seen.get(token_hash(secret))
        return found[0] if found and found[1] > time.monotonic() else None

    def put(self, secret: str, info: TokenInfo) -> None:
        if len(self._seen) > 10_000:
            self._seen.clear()
        self._seen[token_hash(secret)] = (info, time.monotonic() + self.ttl)


def _token(*scopes: str) -> Callable[..., Awaitable[TokenInfo]]:
    async def check(ctx: Ctx, secret: Secret) -> TokenInfo:
        info = ctx.tokens.get(secret) if secret else None
        if info is None:
            info = await run_in_threadpool(ctx.read, lambda uow: authenticate(uow.session, secret))
            ctx.tokens.put(secret or "", info)
        if scopes and not info.allows(*scopes):
            raise Forbidden(info.refusal(scopes))
        return info

    return check


IngestToken = Annotated[TokenInfo, Depends(_token("ingest"))]
FormToken = Annotated[TokenInfo, Depends(_token("ingest", "write"))]
ReadToken = Annotated[TokenInfo, Depends(_token("read"))]
WriteToken = Annotated[TokenInfo, Depends(_token("write"))]
