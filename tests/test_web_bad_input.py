"""Bad input against a live server (SQLite and PostgreSQL): each answer is a clear 4xx in the one
JSON error shape, nothing is stored, and no request answers 5xx."""

from __future__ import annotations

import copy
import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select
from tests.fixtures.live import Keys, make_keys, thread_server

from baton.store import tables as t
from baton.store.uow import UnitOfWork

SHAPE = {"ok", "status", "code", "message", "field", "errors"}


@dataclass
class Case:
    what: str
    path: str
    status: int
    code: str
    body: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    auth: str = "ingest"  # ingest (basic), write (bearer), read (bearer), none, bad
    field: str | None = None
    method: str = "POST"


def track(**extra: Any) -> dict[str, Any]:
    return {"userId": "u-1", "event": "Signed Up", **extra}


BIG = (
    b'{"batch": ['
    + b'{"type": "page", "anonymousId": "a"},' * 280_000
    + b'{"type": "page", "anonymousId": "a"}]}'
)
CASES = [
    Case(
        "malformed JSON", "/v1/batch", 400, "malformed_json", content=b'{"batch": [{"type": "page",'
    ),
    Case(
        "NaN is not JSON",
        "/v1/track",
        400,
        "malformed_json",
        content=b'{"userId": "u", "event": "x", "properties": {"v": NaN}}',
    ),
    Case(
        "not gzip",
        "/v1/track",
        400,
        "malformed_body",
        content=b"plain",
        headers={"Content-Encoding": "gzip"},
    ),
    Case("a body that is not an object", "/v1/batch", 422, "invalid_input", body=[1, 2]),
    Case(
        "batch not a list", "/v1/batch", 422, "invalid_input", body={"batch": "all"}, field="batch"
    ),
    Case(
        "properties not an object",
        "/v1/batch",
        422,
        "invalid_input",
        body={
            "batch": [
                {"type": "page", "anonymousId": "a"},
                {"type": "track", **track(properties="x")},
            ]
        },
        field="batch[1].properties",
    ),
    Case(
        "traits a list",
        "/v1/identify",
        422,
        "invalid_input",
        body={"userId": "u", "traits": [1]},
        field="traits",
    ),
    Case(
        "userId an object",
        "/v1/track",
        422,
        "invalid_input",
        body=track(userId={"id": 1}),
        field="userId",
    ),
    Case("no id at all", "/v1/page", 422, "invalid_input", body={"name": "Home"}),
    Case(
        "track without event",
        "/v1/track",
        422,
        "invalid_input",
        body={"userId": "u"},
        field="event",
    ),
    Case(
        "group without groupId",
        "/v1/group",
        422,
        "invalid_input",
        body={"userId": "u"},
        field="groupId",
    ),
    Case(
        "a call without type",
        "/v1/batch",
        422,
        "invalid_input",
        body={"batch": [{"userId": "u"}]},
        field="batch[0]",
    ),
    Case(
        "an unknown type",
        "/v1/batch",
        422,
        "invalid_input",
        body={"batch": [{"type": "poke", "userId": "u"}]},
        field="batch[0]",
    ),
    Case(
        "messageId over 100 characters",
        "/v1/track",
        422,
        "invalid_input",
        body=track(messageId="m" * 101),
        field="messageId",
    ),
    Case(
        "a timestamp that is not a time",
        "/v1/track",
        422,
        "invalid_input",
        body=track(timestamp="soon"),
        field="timestamp",
    ),
    Case(
        "the year 3000",
        "/v1/track",
        422,
        "invalid_input",
        body=track(timestamp="3000-01-01T00:00:00Z"),
        field="timestamp",
    ),
    Case(
        "the year 3000 in a batch",
        "/v1/batch",
        422,
        "invalid_input",
        field="batch[1].timestamp",
        body={
            "batch": [
                {"type": "track", **track()},
                {"type": "track", **track(timestamp="3000-01-01T00:00:00Z")},
            ]
        },
    ),
    Case(
        "before 1990",
        "/v1/track",
        422,
        "invalid_input",
        body=track(timestamp="1970-01-01T00:00:00Z"),
        field="timestamp",
    ),
    Case("a 10 MB body", "/v1/batch", 413, "too_large", content=BIG),
    Case("a 10 MB lead form", "/api/v1/leads", 413, "too_large", auth="write", content=BIG),
    Case(
        "a 40 KB single call",
        "/v1/track",
        413,
        "too_large",
        body=track(properties={"blob": "x" * 40_000}),
    ),
    Case(
        "a 40 KB call inside a batch",
        "/v1/batch",
        413,
        "too_large",
        field="batch[2]",
        body={
            "batch": [{"type": "track", **track()}] * 2
            + [{"type": "track", **track(properties={"b": "x" * 40_000})}]
        },
    ),
    Case(
        "a gzip bomb",
        "/v1/batch",
        413,
        "too_large",
        content=gzip.compress(b" " * 10_000_000),
        headers={"Content-Encoding": "gzip"},
    ),
    Case(
        "brotli",
        "/v1/track",
        415,
        "unsupported_media_type",
        content=b"x",
        headers={"Content-Encoding": "br"},
    ),
    Case(
        "XML",
        "/v1/track",
        415,
        "unsupported_media_type",
        content=b"<track/>",
        headers={"Content-Type": "application/xml"},
    ),
    Case(
        "a form post",
        "/api/v1/leads",
        415,
        "unsupported_media_type",
        auth="write",
        content=b"email=a%40b.co",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    ),
    Case("an unknown write key", "/v1/track", 401, "unauthorized", body=track(), auth="bad"),
    Case("no write key", "/v1/track", 401, "unauthorized", body=track(), auth="none"),
    Case("a read token sending events", "/v1/track", 403, "forbidden", body=track(), auth="read"),
    Case(
        "a lead without email",
        "/api/v1/leads",
        422,
        "invalid_input",
        auth="write",
        body={"first_name": "Al"},
        field="email",
    ),
    Case(
        "a lead with a bad email",
        "/api/v1/leads",
        422,
        "invalid_input",
        auth="write",
        body={"email": "al at x"},
        field="email",
    ),
    Case(
        "a lead in a stage that does not exist",
        "/api/v1/leads",
        422,
        "invalid_input",
        auth="write",
        body={"email": "al@x.io", "stage": "hot"},
        field="stage",
    ),
    Case(
        "a lead dated 3000",
        "/api/v1/leads",
        422,
        "invalid_input",
        auth="write",
        body={"email": "al@x.io", "occurred_at": "3000-01-01T00:00:00Z"},
        field="occurred_at",
    ),
    Case(
        "a lead id that is not a number",
        "/api/v1/leads/abc",
        422,
        "invalid_input",
        auth="read",
        method="GET",
        field="lead_id",
    ),
    Case(
        "a lead that does not exist",
        "/api/v1/leads/999",
        404,
        "not_found",
        auth="read",
        method="GET",
    ),
    Case("GET on a POST route", "/v1/batch", 405, "method_not_allowed", method="GET"),
    Case("no such route", "/v2/track", 404, "not_found", body=track()),
]


@pytest.fixture
def served(engine: Engine, database_url: str) -> Iterator[tuple[str, Keys]]:
    keys = make_keys(engine)
    with thread_server(database_url) as base:
        yield base, keys


def _headers(case: Case, keys: Keys) -> dict[str, str]:
    auth = {
        "ingest": keys.basic(),
        "write": keys.bearer(keys.write),
        "read": keys.bearer(keys.read),
        "bad": keys.basic("bt_not-a-key"),
        "none": {},
    }[case.auth]
    return {"Content-Type": "application/json", **auth, **case.headers}


def stored(engine: Engine) -> tuple[int, int, int, int]:
    with UnitOfWork(engine) as uow:
        return tuple(  # type: ignore[return-value]
            uow.session.scalar(select(func.count()).select_from(m)) or 0
            for m in (t.Event, t.Lead, t.Touchpoint, t.Profile)
        )


def check_shape(response: httpx.Response, what: str) -> dict[str, Any]:
    assert response.headers["content-type"].startswith("application/json"), what
    body = response.json()
    assert set(body) == SHAPE, what
    assert body["ok"] is False and body["status"] == response.status_code, what
    assert (
        body["message"]
        and body["errors"]
        and all(set(e) == {"field", "code", "message"} for e in body["errors"])
    ), what
    return body  # type: ignore[no-any-return]


def test_every_bad_request_gets_a_clear_4xx_in_one_shape_and_stores_nothing(
    served: tuple[str, Keys], engine: Engine
) -> None:
    base, keys = served
    with httpx.Client(base_url=base, timeout=30) as client:
        for case in CASES:
            content = case.content if case.content is not None else json.dumps(case.body).encode()
            response = client.request(
                case.method, case.path, content=content, headers=_headers(case, keys)
            )
            assert response.status_code == case.status, (case.what, response.text[:300])
            body = check_shape(response, case.what)
            assert body["code"] == case.code, (case.what, body)
            if case.field is not None:
                assert body["field"] == case.field, (case.what, body)
                assert body["message"].startswith(case.field), (case.what, body)
    assert stored(engine) == (0, 0, 0, 0)


VALID: dict[str, dict[str, Any]] = {
    "/v1/identify": {
        "userId": "u",
        "anonymousId": "a",
        "messageId": "m1",
        "traits": {"email": "a@b.io"},
        "timestamp": "2026-01-01T00:00:00Z",
        "context": {"ip": "1.2.3.4"},
    },
    "/v1/track": {
        "userId": "u",
        "event": "Signed Up",
        "properties": {"plan": "pro"},
        "sentAt": "2026-01-01T00:00:00Z",
    },
    "/v1/page": {"anonymousId": "a", "name": "Home", "properties": {"url": "https://x.io/"}},
    "/v1/group": {"userId": "u", "groupId": "g", "traits": {"name": "G"}},
    "/v1/alias": {"userId": "u", "previousId": "a"},
    "/v1/batch": {
        "batch": [{"type": "page", "anonymousId": "a"}],
        "context": {},
        "sentAt": "2026-01-01T00:00:00Z",
    },
    "/api/v1/leads": {
        "email": "a@b.io",
        "first_name": "A",
        "company": "B",
        "utm_source": "x",
        "properties": {},
    },
}
WRONG: list[Any] = [None, 0, -1.5, True, "", "x" * 300, [], [1, "a"], {}, {"a": {"b": [None]}}]


def mutations() -> Iterator[tuple[str, dict[str, Any], str]]:
    """Each valid body with one field removed or set to each wrong value, and each batch call's."""
    for path, body in VALID.items():
        for key in body:
            without = {k: v for k, v in body.items() if k != key}
            yield path, without, f"{path} without {key}"
            for value in WRONG:
                yield path, {**body, key: value}, f"{path} {key}={value!r:.20}"
    for key in ("type", "anonymousId", "timestamp", "properties", "messageId"):
        for value in WRONG:
            body = copy.deepcopy(VALID["/v1/batch"])
            body["batch"][0][key] = value
            yield "/v1/batch", body, f"batch call {key}={value!r:.20}"


def test_no_mutation_of_a_valid_request_answers_5xx(served: tuple[str, Keys]) -> None:
    base, keys = served
    statuses: dict[int, int] = {}
    with httpx.Client(base_url=base, timeout=30) as client:
        for path, body, what in mutations():
            auth = keys.bearer(keys.write) if path.startswith("/api/") else keys.basic()
            response = client.post(path, json=body, headers=auth)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            assert response.status_code < 500, (what, response.text[:300])
            if response.status_code >= 400:
                check_shape(response, what)
    assert statuses.get(422, 0) > 100 and statuses.get(200, 0) > 10  # both kinds were exercised


def test_docs_health_short_paths_and_the_write_key_in_the_body(
    served: tuple[str, Keys], engine: Engine
) -> None:
    base, keys = served
    with httpx.Client(base_url=base, timeout=30) as client:
        assert client.get("/health").json()["ok"] is True
        assert "swagger" in client.get("/docs").text.lower()
        paths = client.get("/openapi.json").json()["paths"]
        assert {"/v1/batch", "/v1/track", "/api/v1/leads", "/api/v1/leads/{lead_id}"} <= set(paths)
        # Segment's browser library: a short path, text/plain, the write key in the body
        body = json.dumps({"userId": "u-1", "event": "Signed Up", "writeKey": keys.ingest})
        sent = client.post("/v1/t", content=body, headers={"Content-Type": "text/plain"})
        assert sent.status_code == 200, sent.text
        identify = client.post("/v1/i", json={"userId": "u-1"}, headers=keys.basic())
        assert identify.json()["stored"] == 1
    with UnitOfWork(engine) as uow:
        event = uow.session.scalars(select(t.Event).where(t.Event.type == "track")).one()
        assert event.payload == {"userId": "u-1", "event": "Signed Up"}  # no write key kept
