"""The Contract page: the version in force, every stored version, what changed between two,
and, for admins, an editor that stores the text as the next version.

An edit goes through the same check as ``baton contract apply``: a problem names its key path
(``sla.sales.first_touch_hours``) and nothing is stored until the whole text is valid. The
edited text is kept in the form, so a mistake costs one fix, not a retyped contract.
"""

from __future__ import annotations

import difflib
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from baton.errors import ProblemsError
from baton.service.contracts import apply_contract, contract_in_force, list_versions
from baton.service.web_users import Viewer
from baton.store.uow import UnitOfWork
from baton.web.context import AppContext, Ctx
from baton.web.dashboard.auth import action_for, page_for
from baton.web.dashboard.common import int_param, read, write
from baton.web.dashboard.render import render

router = APIRouter(include_in_schema=False)


async def _page(
    request: Request,
    ctx: AppContext,
    viewer: Viewer,
    *,
    draft: str | None = None,
    problems: list[str] | None = None,
    summary: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    now = ctx.clock()

    def load(uow: UnitOfWork) -> dict[str, Any]:
        versions = list_versions(uow.session)
        applied = contract_in_force(uow.session, now)
        return {
            "versions": [
                {
                    "version": v.version,
                    "effective_at": v.effective_at,
                    "applied_at": v.applied_at,
                    "note": v.note,
                    "body": v.body,
                }
                for v in versions
            ],
            "current": applied.version,
        }

    found = await read(ctx, load)
    versions = found["versions"]
    by_number = {v["version"]: v for v in versions}
    current = by_number[found["current"]]
    shown = int_param(request, "version", found["current"], 1, max(by_number))
    against = int_param(request, "against", max(shown - 1, 1), 1, max(by_number))
    diff: list[str] = []
    if shown in by_number and against in by_number and shown != against:
        diff = list(
            difflib.unified_diff(
                by_number[against]["body"].splitlines(),
                by_number[shown]["body"].splitlines(),
                f"version {against}",
                f"version {shown}",
                lineterm="",
            )
        )
    return render(
        request,
        "contract.html",
        {
            "title": "Contract",
            "versions": list(reversed(versions)),
            "current": current,
            "shown": by_number.get(shown, current),
            "against": against,
            "diff": diff,
            "can_edit": viewer.role == "admin",
            "draft": draft if draft is not None else current["body"],
            "problems": problems or [],
            "summary": summary,
        },
        status=status,
    )


@router.get("/contract", response_class=HTMLResponse)
async def contract_page(
    request: Request, ctx: Ctx, viewer: Annotated[Viewer, Depends(page_for("contract"))]
) -> HTMLResponse:
    return await _page(request, ctx, viewer)


@router.post("/contract", response_class=HTMLResponse)
async def contract_edit(
    request: Request, ctx: Ctx, viewer: Annotated[Viewer, Depends(action_for("contract"))]
) -> Response:
    form = await request.form()
    text = str(form.get("body") or "")
    try:
        await write(
            ctx,
            lambda uow: apply_contract(
                uow.session, text, clock=ctx.clock, source="the edited contract"
            ),
        )
    except Exception as exc:
        cause = exc.__cause__
        if isinstance(cause, ProblemsError):
            problems = [str(p) for p in cause.problems]
            return await _page(
                request,
                ctx,
                viewer,
                draft=text,
                problems=problems,
                summary=cause.summary,
                status=422,
            )
        raise
    return RedirectResponse("/contract", status_code=303)
