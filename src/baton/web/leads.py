"""The JSON API for leads: ``POST /api/v1/leads`` (forms and webhooks), ``GET /api/v1/leads/{id}``.

Authentication: ``Authorization: Bearer <token>``; posting a lead needs ``ingest`` or
``write``, reading one ``read``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import func, select

from baton.errors import NotFound
from baton.ingest.forms import LeadForm, form_message
from baton.service.events import ingest
from baton.store import tables as t
from baton.store.uow import UnitOfWork
from baton.web.context import Ctx, FormToken, ReadToken
from baton.web.errors import ERROR_RESPONSES
from baton.web.routing import JSONRoute

router = APIRouter(
    prefix="/api/v1", tags=["Leads"], route_class=JSONRoute, responses=ERROR_RESPONSES
)


class AccountMatchOut(BaseModel):
    account_id: int
    rule: str | None
    confidence: float | None


class LeadOut(BaseModel):
    """A lead as the API shows it."""

    id: int
    email: str | None
    first_name: str | None
    last_name: str | None
    company: str | None
    title: str | None
    country: str | None
    stage: str | None
    stage_entered_at: dt.datetime | None
    channel: str | None
    owner_id: int | None
    score: float | None
    contact_id: int | None
    account: AccountMatchOut | None
    created_at: dt.datetime
    source: str
    external_id: str


class LeadPosted(BaseModel):
    ok: bool = True
    created: bool
    duplicate: bool
    lead: LeadOut


class TouchOut(BaseModel):
    occurred_at: dt.datetime
    channel: str
    touch_type: str
    utm_campaign: str | None
    landing_page: str | None


class LeadDetail(BaseModel):
    ok: bool = True
    lead: LeadOut
    events: int
    touchpoints: list[TouchOut]


def lead_out(row: t.Lead) -> dict[str, Any]:
    account = None
    if row.account_id is not None:
        account = {
            "account_id": row.account_id,
            "rule": row.account_match_rule,
            "confidence": row.account_match_confidence,
        }
    return {
        "id": row.id,
        "email": row.email,
        "first_name": row.first_name,
        "last_name": row.last_name,
        "company": row.company,
        "title": row.title,
        "country": row.country,
        "stage": row.stage,
        "stage_entered_at": row.stage_entered_at.isoformat() if row.stage_entered_at else None,
        "channel": row.channel,
        "owner_id": row.owner_id,
        "score": row.score,
        "contact_id": row.contact_id,
        "account": account,
        "created_at": row.created_at.isoformat(),
        "source": row.source,
        "external_id": row.external_id,
    }


@router.post(
    "/leads",
    response_model=LeadPosted,
    status_code=201,
    summary="A form fill or webhook: stores the lead (email required), stitched to the visitor",
    responses={
        200: {"model": LeadPosted, "description": "Existing lead, or a repeated message_id"}
    },
)
def post_lead(
    form: LeadForm,
    token: FormToken,
    ctx: Ctx,
    idempotency_key: Annotated[str | None, Header(max_length=100)] = None,
) -> JSONResponse:
    received_at = ctx.clock()
    message = form_message(
        form,
        received_at=received_at,
        max_future=dt.timedelta(hours=ctx.settings.event_max_future_hours),
        message_id=idempotency_key,
    )

    def work(uow: UnitOfWork) -> tuple[dict[str, Any], bool, bool]:
        result = ingest(uow, [message], clock=ctx.clock, accounts=ctx.accounts, token_id=token.id)
        lead_id = result.lead_of.get(message.message_id)
        if result.duplicates:
            lead_id = uow.session.scalar(
                select(t.Event.lead_id).where(t.Event.message_id == message.message_id)
            )
        row = uow.session.get(t.Lead, lead_id) if lead_id is not None else None
        if row is None:  # pragma: no cover - a lead message always has an email
            raise NotFound(f"message {message.message_id} has no lead")
        return lead_out(row), lead_id in result.created_leads, bool(result.duplicates)

    lead, created, duplicate = ctx.write(work)
    body = {"ok": True, "created": created, "duplicate": duplicate, "lead": lead}
    return JSONResponse(body, status_code=201 if created else 200)


@router.get(
    "/leads/{lead_id}",
    response_model=LeadDetail,
    summary="A lead, its account match and latest touches",
)
def get_lead(lead_id: int, token: ReadToken, ctx: Ctx) -> JSONResponse:
    def work(uow: UnitOfWork) -> dict[str, Any]:
        row = uow.session.get(t.Lead, lead_id)
        if row is None:
            raise NotFound(f"lead {lead_id} does not exist")
        count = uow.session.scalar(
            select(func.count()).select_from(t.Event).where(t.Event.lead_id == lead_id)
        )
        touches = uow.session.scalars(
            select(t.Touchpoint)
            .where(t.Touchpoint.lead_id == lead_id)
            .order_by(t.Touchpoint.occurred_at.desc(), t.Touchpoint.id.desc())
            .limit(100)
        )
        return {
            "ok": True,
            "lead": lead_out(row),
            "events": int(count or 0),
            "touchpoints": [
                {
                    "occurred_at": tp.occurred_at.isoformat(),
                    "channel": tp.channel,
                    "touch_type": tp.touch_type,
                    "utm_campaign": tp.utm_campaign,
                    "landing_page": tp.landing_page,
                }
                for tp in touches
            ],
        }

    return JSONResponse(ctx.read(work))
