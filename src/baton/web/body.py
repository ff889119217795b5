"""Request bodies before any route sees them: content type, encoding and size, in one place.

A pure ASGI middleware. For every request with a body it

* refuses a content type other than JSON with 415 (``text/plain`` is read as JSON on the
  Segment routes, as Segment's browser library sends it that way to skip a CORS preflight);
* decompresses ``Content-Encoding: gzip`` (Segment's libraries may compress) and refuses any
  other encoding with 415;
* refuses a body over the route's limit with 413: Segment's 500 KB for ``/v1/batch``, 32 KB
  for the other ``/v1`` calls, ``BATON_API_MAX_BODY_BYTES`` elsewhere. The limit counts the
  decompressed bytes. An oversized body is still read to its end (up to :data:`DRAIN_LIMIT`)
  so the client gets the answer instead of a broken connection;
* hands the route the whole body at once, so routes never stream.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from baton.ingest.segment import MAX_BATCH_BYTES, MAX_MESSAGE_BYTES
from baton.web.errors import error_response

#: Beyond this many bytes an oversized body is no longer read; the connection is closed.
DRAIN_LIMIT = 64 * 1024 * 1024
BATCH_PATHS = frozenset({"/v1/batch", "/v1/import"})


#: The paths whose bodies the guard checks: the JSON API and the Segment routes.
GUARDED = ("/api/", "/v1/")


def limit_for(path: str, api_limit: int) -> int:
    if path in BATCH_PATHS:
        return MAX_BATCH_BYTES
    if path.startswith("/v1/"):
        return MAX_MESSAGE_BYTES
    return api_limit


def _kb(size: int) -> str:
    return f"{size / 1024:,.0f} KB"


class BodyGuard:
    """The middleware; ``limit`` gives the byte limit of a path."""

    def __init__(self, app: ASGIApp, *, limit: Callable[[str], int]) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in ("POST", "PUT", "PATCH")
            or not scope["path"].startswith(GUARDED)
        ):  # the dashboard's HTML forms are not the API's JSON
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        path: str = scope["path"]
        limit = self.limit(path)
        declared = headers.get("content-length")
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        if declared in (None, "0") and not chunked:
            await self.app(scope, receive, send)  # no body: the route says what is missing
            return
        media = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        json_like = media == "application/json" or (
            media.startswith("application/") and media.endswith("+json")
        )
        if not json_like and not (media == "text/plain" and path.startswith("/v1/")):
            await self._drain(receive)
            shown = media or "none"
            await error_response(
                415,
                "unsupported_media_type",
                f"the body's content type is {shown}; "
                "send JSON with 'Content-Type: application/json'",
            )(scope, receive, send)
            return
        encoding = headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("identity", "gzip", ""):
            await self._drain(receive)
            await error_response(
                415,
                "unsupported_media_type",
                f"the body is encoded as {encoding}; "
                "send it plain or with 'Content-Encoding: gzip'",
            )(scope, receive, send)
            return
        body, over = await self._read(receive, limit)
        if not over and encoding == "gzip":
            body, over, broken = _gunzip(body, limit)
            if broken:
                await error_response(400, "malformed_body", "the body is not valid gzip")(
                    scope, receive, send
                )
                return
        if over:
            await error_response(
                413,
                "too_large",
                f"the body is over the limit of {_kb(limit)} for {path}; "
                + (
                    "split the batch (at most 500 KB a request, 32 KB a call)"
                    if path.startswith("/v1/")
                    else "send less, or raise BATON_API_MAX_BODY_BYTES"
                ),
            )(scope, receive, send)
            return
        raw = [
            (k, v)
            for k, v in scope["headers"]
            if k
            not in (b"content-length", b"content-encoding", b"content-type", b"transfer-encoding")
        ]
        raw += [
            (b"content-length", str(len(body)).encode()),
            (b"content-type", b"application/json"),
        ]
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app({**scope, "headers": raw}, replay, send)

    @staticmethod
    async def _read(receive: Receive, limit: int) -> tuple[bytes, bool]:
        """The body, or whether it went over ``limit`` (then read on to its end and dropped)."""
        chunks: list[bytes] = []
        size, over = 0, False
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return b"", over
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                over, chunks = True, []
            elif not over:
                chunks.append(chunk)
            if not message.get("more_body", False) or size > DRAIN_LIMIT:
                return b"".join(chunks), over

    @staticmethod
    async def _drain(receive: Receive) -> None:
        size = 0
        while size <= DRAIN_LIMIT:
            message = await receive()
            size += len(message.get("body", b""))
            if message["type"] == "http.disconnect" or not message.get("more_body", False):
                return


def _gunzip(data: bytes, limit: int) -> tuple[bytes, bool, bool]:
    """Decompressed ``data``, whether it went over ``limit``, whether it was not gzip."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error:
        return b"", False, True
    if len(out) > limit or inflater.unconsumed_tail:
        return b"", True, False
    if not inflater.eof:
        return b"", False, True
    return out, False, False
