"""Requests that arrive while events are being written are written together.

Ingestion runs one transaction at a time per process (SQLite has one writer; on PostgreSQL the
process is CPU-bound anyway). While one transaction is written, the requests that arrive wait;
the next writer takes all of them and writes them in one transaction, so the fixed cost of a
transaction (its lookups, its commit) is shared. What can be read off a request's messages alone
(:func:`baton.service.events.read_messages`) is read by its own thread before it waits, so the
transaction does not spend its time on it. Each request is still answered only after the
transaction holding its events is committed. If a shared transaction is refused for bad input,
each request is written alone, so only the one at fault gets the error.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from baton.errors import BatonError, StoreError
from baton.ingest.messages import Message
from baton.service.events import IngestResult, Reading, read_messages

#: Writes messages, with the token and the reading of each, in one committed transaction.
Writer = Callable[[Sequence[Message], dict[str, int | None], dict[str, Reading]], IngestResult]


@dataclass(eq=False)
class _Request:
    messages: Sequence[Message]
    token_id: int | None
    readings: dict[str, Reading]
    result: IngestResult | None = None
    error: BaseException | None = None
    done: bool = False


class WriteQueue:
    """Group concurrent ingestion requests into shared transactions; see the module docstring."""

    def __init__(self, write: Writer, *, most: int = 2_000) -> None:
        self._write = write
        self._most = most  # messages in one shared transaction, at most (a batch is ~100)
        self._waiting: list[_Request] = []
        self._mutex = threading.Lock()
        self._writer = threading.Lock()

    def submit(self, messages: Sequence[Message], token_id: int | None) -> IngestResult:
        """Write ``messages`` (sent with ``token_id``); return what this request stored."""
        request = _Request(messages, token_id, read_messages(messages))
        with self._mutex:
            self._waiting.append(request)
        with self._writer:
            if not request.done:
                with self._mutex:
                    group: list[_Request] = []
                    size = 0
                    while self._waiting and (
                        not group or size + len(self._waiting[0].messages) <= self._most
                    ):
                        size += len(self._waiting[0].messages)
                        group.append(self._waiting.pop(0))
                self._run(group)
        if request.error is not None:
            raise request.error
        assert request.result is not None
        return request.result

    def write_together(
        self, requests: Sequence[tuple[Sequence[Message], int | None, dict[str, Reading]]]
    ) -> list[IngestResult | BaseException]:
        """Write ``requests`` (messages, token, readings) as :meth:`submit` writes the requests
        waiting together (the caller does the grouping); each one's result or error."""
        group = [_Request(messages, token, readings) for messages, token, readings in requests]
        with contextlib.suppress(Exception):  # every request of the group holds it
            self._run(group)
        return [r.error if r.error is not None else r.result for r in group]  # type: ignore[misc]

    def _run(self, group: list[_Request]) -> None:
        try:
            tokens = {m.message_id: r.token_id for r in reversed(group) for m in r.messages}
            readings: dict[str, Reading] = {}
            for r in reversed(group):  # the first request's message wins, as in the write
                readings.update(r.readings)
            shared = self._write([m for r in group for m in r.messages], tokens, readings)
            _split(shared, group)
        except StoreError as exc:  # the database failed: every request in the group hears it
            for request in group:
                request.error, request.done = exc, True
        except BatonError as exc:
            if len(group) == 1:
                group[0].error, group[0].done = exc, True
                return
            for request in group:  # find the request at fault: each alone
                self._run([request])
        except BaseException as exc:
            for request in group:
                request.error, request.done = exc, True
            raise


def _split(shared: IngestResult, group: list[_Request]) -> None:
    """Each request's share of a shared result: a message stored by the transaction counts for
    the first request that sent it; every other copy is a duplicate."""
    claimed: set[str] = set()
    for request in group:
        stored = 0
        for m in request.messages:
            if m.message_id in shared.new_ids and m.message_id not in claimed:
                claimed.add(m.message_id)
                stored += 1
        request.result = IngestResult(
            received=len(request.messages),
            stored=stored,
            duplicates=len(request.messages) - stored,
            lead_of={m.message_id: shared.lead_of.get(m.message_id) for m in request.messages},
            created_leads=shared.created_leads,
            leads=shared.leads,
            new_ids={m.message_id for m in request.messages} & shared.new_ids,
        )
        request.done = True
