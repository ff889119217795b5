"""My leads (the queue), the sales actions on it, and the lead and account pages.

The actions post with htmx and answer the lead's row, redrawn with what happened (or with the
refusal), which htmx swaps in place; without JavaScript the same forms post normally and land
back on the queue. Each action is one call of :mod:`baton.service.handoff`, acting as the
signed-in person, after checking the lead is theirs to act on (a rep's own, a manager's team's).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from baton.errors import InvalidInput
from baton.service.handoff import TOUCH_KINDS, accept_lead, log_attempt, reject_lead
from baton.service.web_users import Viewer
from baton.service.workbench import (
    QueueItem,
    account_story,
    details,
    lead_in_scope,
    lead_story,
    queue,
    scope_for,
)
from baton.store.uow import UnitOfWork
from baton.web.context import AppContext, Ctx
from baton.web.dashboard.analytics import HANDOFF, REJECTIONS, STAGES
from baton.web.dashboard.auth import ACTIONS, Refused, action_for, is_htmx, page_for
from baton.web.dashboard.common import contract_now, read, refused, write
from baton.web.dashboard.render import render

router = APIRouter(include_in_schema=False)
#: Leads the queue lists at once: the most urgent; the rest wait their turn.
SHOWN = 50


def _can_act(viewer: Viewer) -> bool:
    return viewer.role in ACTIONS["accept"][0]


@router.get("/leads", response_class=HTMLResponse)
async def my_leads(
    request: Request, ctx: Ctx, viewer: Annotated[Viewer, Depends(page_for("leads"))]
) -> HTMLResponse:
    contract = await contract_now(ctx)
    now = ctx.clock()

    def waiting(uow: UnitOfWork) -> tuple[list[QueueItem], int]:
        scope = scope_for(uow.session, viewer)
        items = queue(uow.session, contract, scope, now=now, limit=None, with_details=False)
        shown = items[:SHOWN]
        details(uow.session, shown)
        return shown, len(items)

    items, total = await read(ctx, waiting)
    whose = {"sales": "your leads", "sales-manager": "your team's leads"}.get(
        viewer.role, "every rep's leads"
    )
    return render(
        request,
        "leads.html",
        {
            "title": "My leads",
            "items": items,
            "total": total,
            "whose": whose,
            "reasons": contract.rejection_reasons,
            "kinds": TOUCH_KINDS,
            "zone": contract.business_hours.zone,
            "can_act": _can_act(viewer),
            "sla_hours": contract.sla.sales.first_touch_hours,
        },
    )


async def _row(
    request: Request,
    ctx: AppContext,
    viewer: Viewer,
    lead_id: int,
    *,
    message: str,
    ok: bool,
    status: int = 200,
) -> Response:
    """After an action: the lead's row for htmx, else back to the queue."""
    if not is_htmx(request):
        if not ok:
            raise Refused(status, "Not done", message)
        return RedirectResponse("/leads", status_code=303)
    contract = await contract_now(ctx)
    now = ctx.clock()

    def find(uow: UnitOfWork) -> QueueItem | None:
        scope = scope_for(uow.session, viewer)
        items = queue(uow.session, contract, scope, now=now, limit=None, with_details=False)
        found = [i for i in items if i.lead_id == lead_id]
        details(uow.session, found)
        return found[0] if found else None

    item = await read(ctx, find)
    return render(
        request,
        "lead_row.html",
        {
            "item": item,
            "lead_id": lead_id,
            "message": message,
            "ok": ok,
            "reasons": contract.rejection_reasons,
            "kinds": TOUCH_KINDS,
            "zone": contract.business_hours.zone,
            "can_act": _can_act(viewer),
        },
        status=status,
    )


async def _act(
    request: Request,
    ctx: AppContext,
    viewer: Viewer,
    lead_id: int,
    work: Any,
    done: str,
    changes: tuple[str, ...],
) -> Response:
    """Run an action on the lead; ``changes`` are the analytics topics it touches."""

    def run(uow: UnitOfWork) -> Any:
        lead_in_scope(uow.session, scope_for(uow.session, viewer), lead_id, acting=True)
        return work(uow)

    try:
        await write(ctx, run, changes, leads=(lead_id,))
    except Refused as exc:
        return await _row(
            request, ctx, viewer, lead_id, message=exc.message, ok=False, status=exc.status
        )
    return await _row(request, ctx, viewer, lead_id, message=done, ok=True)


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


@router.post("/leads/{lead_id}/accept")
async def accept(
    lead_id: int,
    request: Request,
    ctx: Ctx,
    viewer: Annotated[Viewer, Depends(action_for("accept"))],
) -> Response:
    form = await _form(request)
    note = form.get("note") or None
    return await _act(
        request, ctx, viewer, lead_id,
        lambda uow: accept_lead(uow, lead_id, clock=ctx.clock, by=viewer.email, note=note),
        f"Accepted lead {lead_id}: it is now a sales-qualified lead.", (STAGES, HANDOFF),
    )  # fmt: skip


@router.post("/leads/{lead_id}/reject")
async def reject(
    lead_id: int,
    request: Request,
    ctx: Ctx,
    viewer: Annotated[Viewer, Depends(action_for("reject"))],
) -> Response:
    form = await _form(request)
    reason = form.get("reason", "").strip()
    note = form.get("note", "").strip() or None
    if not reason:
        exc = refused(
            InvalidInput(
                "choose a reason for rejecting the lead; marketing sees it", field="reason"
            )
        )
        return await _row(request, ctx, viewer, lead_id, message=exc.message, ok=False, status=422)
    return await _act(
        request, ctx, viewer, lead_id,
        lambda uow: reject_lead(uow, lead_id, reason, clock=ctx.clock, by=viewer.email, note=note),
        f"Rejected lead {lead_id} ({reason}): it went back to marketing.",
        (STAGES, HANDOFF, REJECTIONS),
    )  # fmt: skip


@router.post("/leads/{lead_id}/attempt")
async def attempt(
    lead_id: int,
    request: Request,
    ctx: Ctx,
    viewer: Annotated[Viewer, Depends(action_for("attempt"))],
) -> Response:
    form = await _form(request)
    kind = form.get("kind") or "call"
    note = form.get("note", "").strip() or None
    return await _act(
        request, ctx, viewer, lead_id,
        lambda uow: log_attempt(uow, lead_id, clock=ctx.clock, by=viewer.email, kind=kind, note=note),
        f"Logged a {kind} attempt on lead {lead_id}.", (HANDOFF,),
    )  # fmt: skip


@router.get("/leads/{lead_id}", response_class=HTMLResponse)
async def lead_page(
    lead_id: int, request: Request, ctx: Ctx, viewer: Annotated[Viewer, Depends(page_for("lead"))]
) -> HTMLResponse:
    contract = await contract_now(ctx)

    def story(uow: UnitOfWork) -> dict[str, Any]:
        lead = lead_in_scope(uow.session, scope_for(uow.session, viewer), lead_id)
        return lead_story(uow.session, lead)

    found = await read(ctx, story)
    return render(
        request,
        "lead.html",
        {"title": f"Lead {found['name']}", **found, "zone": contract.business_hours.zone},
    )


@router.get("/accounts/{account_id}", response_class=HTMLResponse)
async def account_page(
    account_id: int,
    request: Request,
    ctx: Ctx,
    viewer: Annotated[Viewer, Depends(page_for("lead"))],
) -> HTMLResponse:
    contract = await contract_now(ctx)
    found = await read(
        ctx, lambda uow: account_story(uow.session, account_id, scope_for(uow.session, viewer))
    )
    return render(
        request,
        "account.html",
        {
            "title": f"Account {found['account'].name}",
            **found,
            "zone": contract.business_hours.zone,
        },
    )
