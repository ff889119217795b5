"""Sales' side of the handoff over HTTP: accept, reject, log follow-up, and why a lead was routed.

``POST /api/v1/leads/{id}/accept`` (→ the SQL stage), ``/reject`` with a reason code from the
contract (→ recycled to marketing with the reason), ``/attempt`` and ``/connect`` (follow-up that
stops the first-touch clock and counts toward the attempts term), and
``GET /api/v1/leads/{id}/routing`` ("why did I get this lead?"). Each route is one call of
:mod:`baton.service.handoff` or :func:`baton.service.routing.explain_routing` in one
transaction; actions need a ``write`` token, the routing a ``read`` one.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from baton.service.handoff import accept_lead, log_attempt, log_connect, reject_lead
from baton.service.routing import explain_routing
from baton.store.uow import UnitOfWork
from baton.web.context import Ctx, ReadToken, WriteToken
from baton.web.errors import ERROR_RESPONSES
from baton.web.routing import JSONRoute

router = APIRouter(
    prefix="/api/v1", tags=["Handoff"], route_class=JSONRoute, responses=ERROR_RESPONSES
)


class Action(BaseModel):
    """Who acts and a note kept with the action."""

    model_config = ConfigDict(extra="forbid")

    by: str | None = Field(
        default=None, max_length=320, description="Email of the rep acting (default: the owner)"
    )
    note: str | None = Field(default=None, max_length=2000)


class Rejection(Action):
    reason: str = Field(
        min_length=1, max_length=64, description="A rejection_reasons key of the contract"
    )


class FollowUp(Action):
    kind: Literal["call", "email", "meeting"] = "call"


def _done(ctx: Ctx, work: Any) -> JSONResponse:
    result = ctx.write(work)
    return JSONResponse(jsonable_encoder({"ok": True, **result.as_dict()}))


@router.post("/leads/{lead_id}/accept", summary="Sales accepts the lead: it moves to SQL")
def accept(lead_id: int, body: Action, token: WriteToken, ctx: Ctx) -> JSONResponse:
    return _done(
        ctx,
        lambda uow: accept_lead(uow, lead_id, clock=ctx.clock, by=body.by, note=body.note),
    )


@router.post(
    "/leads/{lead_id}/reject",
    summary="Sales rejects the lead with a reason code: it goes back to marketing",
)
def reject(lead_id: int, body: Rejection, token: WriteToken, ctx: Ctx) -> JSONResponse:
    return _done(
        ctx,
        lambda uow: reject_lead(
            uow, lead_id, body.reason, clock=ctx.clock, by=body.by, note=body.note
        ),
    )


@router.post("/leads/{lead_id}/attempt", summary="Log a follow-up attempt")
def attempt(lead_id: int, body: FollowUp, token: WriteToken, ctx: Ctx) -> JSONResponse:
    return _done(
        ctx,
        lambda uow: log_attempt(
            uow, lead_id, clock=ctx.clock, by=body.by, kind=body.kind, note=body.note
        ),
    )


@router.post("/leads/{lead_id}/connect", summary="Log a follow-up that reached the person")
def connect(lead_id: int, body: FollowUp, token: WriteToken, ctx: Ctx) -> JSONResponse:
    return _done(
        ctx,
        lambda uow: log_connect(
            uow, lead_id, clock=ctx.clock, by=body.by, kind=body.kind, note=body.note
        ),
    )


@router.get("/leads/{lead_id}/routing", summary="Why the lead went to its owner")
def routing(lead_id: int, token: ReadToken, ctx: Ctx) -> JSONResponse:
    def work(uow: UnitOfWork) -> dict[str, Any]:
        return {"ok": True, **explain_routing(uow, lead_id).as_dict()}

    return JSONResponse(jsonable_encoder(ctx.read(work)))
