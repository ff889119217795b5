"""Requests that wait while events are written are written together, each answered with its own
share; a bad one in a group fails alone. And checked tokens are remembered for two seconds."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Sequence

import pytest

from baton.errors import InvalidInput, StoreError
from baton.ingest.messages import Message
from baton.service.events import IngestResult, Reading
from baton.service.tokens import TokenInfo
from baton.web.batching import WriteQueue
from baton.web.context import TokenCache

NOW = dt.datetime(2026, 11, 20, 15, tzinfo=dt.UTC)


def messages(*ids: str) -> list[Message]:
    return [Message(type="page", message_id=i, received_at=NOW, timestamp=NOW) for i in ids]


class FakeStore:
    """Writes by remembering ids; the first write waits until released, so others queue."""

    def __init__(self) -> None:
        self.stored: set[str] = set()
        self.groups: list[list[str]] = []
        self.tokens: list[dict[str, int | None]] = []
        self.release = threading.Event()
        self.first = True

    def write(
        self, batch: Sequence[Message], tokens: dict[str, int | None], readings: dict[str, Reading]
    ) -> IngestResult:
        if self.first:
            self.first = False
            self.release.wait(5)
        ids = [m.message_id for m in batch]
        if "bad" in ids:
            raise InvalidInput("bad message")
        assert set(readings) == set(ids)  # each message was read before the write
        self.groups.append(ids)
        self.tokens.append(tokens)
        new = {i for i in ids if i not in self.stored}
        self.stored |= new
        return IngestResult(
            received=len(ids), stored=len(new), new_ids=new, lead_of=dict.fromkeys(ids)
        )


def run_all(
    queue: WriteQueue, requests: list[tuple[list[Message], int]]
) -> tuple[list[IngestResult | Exception], list[threading.Thread]]:
    results: list[IngestResult | Exception] = [Exception("not run")] * len(requests)

    def send(index: int) -> None:
        try:
            results[index] = queue.submit(*requests[index])
        except Exception as exc:
            results[index] = exc

    first = threading.Thread(target=send, args=(0,))
    first.start()
    time.sleep(0.1)  # the first request is being written ...
    others = [threading.Thread(target=send, args=(i,)) for i in range(1, len(requests))]
    for thread in others:
        thread.start()
    time.sleep(0.2)  # ... while the others arrive and wait
    return results, [first, *others]


def test_waiting_requests_are_written_together_and_answered_apart() -> None:
    store = FakeStore()
    queue = WriteQueue(store.write)
    requests = [
        (messages("a", "b"), 1),
        (messages("c", "d"), 2),
        (messages("d", "e"), 3),
        (messages("a"), 4),
    ]
    results, threads = run_all(queue, requests)
    store.release.set()
    for thread in threads:
        thread.join(5)
    assert store.groups[0] == ["a", "b"] and sorted(map(sorted, store.groups[1:])) == [
        ["a", "c", "d", "d", "e"]
    ]
    assert store.tokens[1]["c"] == 2 and store.tokens[1]["e"] == 3
    counts = [(r.received, r.stored, r.duplicates) for r in results]  # type: ignore[union-attr]
    # "d" is stored once, for whichever of requests 2 and 3 came first in the group
    assert counts[0] == (2, 2, 0) and counts[3] == (1, 0, 1)
    assert sorted([counts[1], counts[2]]) == [(2, 1, 1), (2, 2, 0)]


def test_a_bad_request_in_a_group_fails_alone() -> None:
    store = FakeStore()
    queue = WriteQueue(store.write)
    requests = [
        (messages("a"), 1),
        (messages("b"), 1),
        (messages("bad", "c"), 1),
        (messages("d"), 1),
    ]
    results, threads = run_all(queue, requests)
    store.release.set()
    for thread in threads:
        thread.join(5)
    assert isinstance(results[2], InvalidInput)
    assert [r.stored for i, r in enumerate(results) if i != 2] == [1, 1, 1]  # type: ignore[union-attr]
    assert store.stored == {"a", "b", "d"}


def test_a_failing_database_fails_the_whole_group() -> None:
    def write(
        _batch: Sequence[Message], _tokens: dict[str, int | None], _readings: dict[str, Reading]
    ) -> IngestResult:
        raise StoreError("the database is down")

    with pytest.raises(StoreError):
        WriteQueue(write).submit(messages("a"), 1)


def test_checked_tokens_are_remembered_for_the_time_to_live() -> None:
    cache = TokenCache(ttl=0.2)
    info = TokenInfo(1, "website", frozenset({"ingest"}))
    cache.put("bt_secret", info)
    assert cache.get("bt_secret") == info and cache.get("bt_other") is None
    time.sleep(0.25)
    assert cache.get("bt_secret") is None  # a revoked token stops working within the ttl
