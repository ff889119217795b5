"""Segment's HTTP Tracking API: ``/v1/identify``, ``/track``, ``/page``, ``/screen``, ``/group``,
``/alias`` and ``/batch`` (plus Segment's short aliases ``/v1/i``, ``/t``, ``/p``, ``/s``,
``/g``, ``/a`` and ``/v1/import`` for ``/batch``).

Authentication is Segment's: the write key (an ``ingest`` token) as the basic-auth user, or
as ``writeKey`` in the body; a Bearer token works too. Every call is committed to the store
before the answer; a call with a ``messageId`` already stored is answered the same and stored
once. A batch is stored whole or not at all: one bad call refuses it with a 4xx that names it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from baton.ingest.segment import (
    MAX_MESSAGE_BYTES,
    Alias,
    Batch,
    Group,
    Identify,
    Page,
    Screen,
    Track,
    _Call,
    to_messages,
)
from baton.service.tokens import TokenInfo
from baton.web.context import AppContext, Ctx, IngestToken
from baton.web.errors import ERROR_RESPONSES
from baton.web.routing import JSONRoute

router = APIRouter(
    prefix="/v1", tags=["Segment tracking API"], route_class=JSONRoute, responses=ERROR_RESPONSES
)


class Accepted(BaseModel):
    """What a tracking call stored."""

    ok: bool = True
    received: int
    stored: int
    duplicates: int


async def body_json(request: Request) -> Any:
    """The body as parsed JSON (parsed once: the route's model was validated from the same)."""
    return await request.json()


Body = Annotated[Any, Depends(body_json)]


def store_calls(
    ctx: AppContext,
    token: TokenInfo,
    calls: Sequence[_Call],
    raws: Sequence[Any],
    *,
    received_at: dt.datetime,
    batch: Batch | None = None,
    body_size: int = 0,
) -> JSONResponse:
    max_future = dt.timedelta(hours=ctx.settings.event_max_future_hours)
    messages = to_messages(
        calls,
        raws=raws,
        received_at=received_at,
        max_future=max_future,
        context=batch.context if batch else None,
        integrations=batch.integrations if batch else None,
        sent_at=batch.sent_at if batch else None,
        check_sizes=body_size > MAX_MESSAGE_BYTES,
        where="batch" if batch else "",
    )
    result = ctx.events.submit(messages, token.id)
    body: dict[str, Any] = {
        "ok": True,
        "received": result.received,
        "stored": result.stored,
        "duplicates": result.duplicates,
    }
    return JSONResponse(body)


def _one(kind: type[_Call], summary: str, *paths: str) -> None:
    def route(call: Any, token: IngestToken, ctx: Ctx, raw: Body) -> JSONResponse:
        return store_calls(ctx, token, [call], [raw], received_at=ctx.clock())

    route.__annotations__["call"] = kind
    route.__name__ = kind.__name__.lower()
    for index, path in enumerate(paths):
        router.add_api_route(
            path,
            route,
            methods=["POST"],
            response_model=Accepted,
            summary=summary,
            include_in_schema=index == 0,
            name=f"{route.__name__}{index or ''}",
        )


_one(Identify, "Who a person is (traits: email, name, company, ...)", "/identify", "/i")
_one(Track, "Something a person did (event, properties)", "/track", "/t")
_one(Page, "A page view (name, properties: url, referrer, ...)", "/page", "/p")
_one(Screen, "A mobile app screen, stored like a page view", "/screen", "/s")
_one(Group, "A person's company (groupId, traits)", "/group", "/g")
_one(Alias, "Two ids of one person (previousId, userId)", "/alias", "/a")


@router.post(
    "/batch",
    response_model=Accepted,
    summary="Several calls at once (at most 500 KB, 32 KB a call)",
)
def batch(body: Batch, token: IngestToken, ctx: Ctx, request: Request, raw: Body) -> JSONResponse:
    size = int(request.headers.get("content-length") or 0)
    return store_calls(
        ctx, token, body.batch, raw["batch"], received_at=ctx.clock(), batch=body, body_size=size
    )


router.add_api_route(
    "/import",
    batch,
    methods=["POST"],
    response_model=Accepted,
    include_in_schema=False,
    name="import",
)
