"""Who may see and do what in the dashboard: sessions, roles, CSRF, and the login pages.

A page or action declares what it needs with :func:`page_for` / :func:`action_for`; both
answer a person who is not signed in with a redirect to ``/login`` (an htmx request gets a 401
fragment instead), and a person whose role lacks the right with a 403 page that says which
role they have and what it cannot do. Every ``POST`` must carry the session's CSRF token, in
the ``csrf_token`` form field or the ``X-CSRF-Token`` header (htmx sends the header from the
page's ``hx-headers``); without it the answer is a 403 page saying so.

The login form has no session yet: it uses a double-submit token, a random value in a
short-lived cookie that the form must repeat.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from baton.errors import Unauthorized
from baton.service.web_users import Viewer, find_session, sign_in, sign_out
from baton.web.context import AppContext, Ctx
from baton.web.dashboard.render import render

SESSION_COOKIE = "baton_session"
LOGIN_COOKIE = "baton_login_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"

ALL = ("admin", "marketing", "sales-manager", "sales", "viewer")
#: Which roles see each page; docs/dashboard.md has the same table.
PAGES: dict[str, tuple[str, ...]] = {
    "scoreboard": ALL,
    "funnel": ALL,
    "sla": ALL,
    "leads": ("admin", "sales-manager", "sales", "viewer"),
    "lead": ALL,
    "feedback": ("admin", "marketing", "sales-manager", "viewer"),
    "attribution": ("admin", "marketing", "sales-manager", "viewer"),
    "contract": ALL,
    "definitions": ALL,
    "report": ALL,
}
#: Which roles may take each action, and how the refusal words it.
ACTIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "accept": (("admin", "sales-manager", "sales"), "accept leads"),
    "reject": (("admin", "sales-manager", "sales"), "reject leads"),
    "attempt": (("admin", "sales-manager", "sales"), "log follow-up attempts"),
    "contract": (("admin",), "edit the contract"),
}
PAGE_NAMES = {
    "scoreboard": "the Scoreboard",
    "funnel": "the Funnel page",
    "sla": "the Handoff & SLA page",
    "leads": "the lead queue",
    "lead": "lead and account pages",
    "feedback": "the Feedback page",
    "attribution": "the Attribution page",
    "contract": "the Contract page",
    "definitions": "the definitions",
    "report": "the weekly report",
}


@dataclass
class Refused(Exception):
    """A request the dashboard answers with an error page (or an htmx fragment)."""

    status: int
    title: str
    message: str


class LoginRequired(Exception):
    """No live session: the dashboard sends the person to the login page."""


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def role_refusal(viewer: Viewer, what: str, allowed: tuple[str, ...]) -> Refused:
    return Refused(
        403,
        "Not for your role",
        f"Your role ({viewer.role}) cannot {what}; that needs the role "
        f"{' or '.join(allowed)}. Ask an admin if you need it.",
    )


async def current_viewer(request: Request, ctx: Ctx) -> Viewer:
    secret = request.cookies.get(SESSION_COOKIE)
    if not secret:
        raise LoginRequired
    now = ctx.clock()
    viewer = await run_in_threadpool(
        ctx.read, lambda uow: find_session(uow.session, secret, now=now)
    )
    if viewer is None:
        raise LoginRequired
    request.state.viewer = viewer
    return viewer


SignedIn = Annotated[Viewer, Depends(current_viewer)]


def page_for(name: str) -> Callable[..., Awaitable[Viewer]]:
    """A dependency: the signed-in viewer, refused unless their role may see page ``name``."""
    allowed = PAGES[name]

    async def check(viewer: SignedIn) -> Viewer:
        if viewer.role not in allowed:
            raise role_refusal(viewer, f"see {PAGE_NAMES[name]}", allowed)
        return viewer

    return check


async def _presented_csrf(request: Request) -> str | None:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


CSRF_REFUSAL = (
    "This form's security token is missing or out of date, so it was not sent. Reload the page "
    "and try again; if it happens again, sign out and in."
)


async def checked_csrf(request: Request, viewer: SignedIn) -> Viewer:
    """The signed-in viewer of a ``POST`` whose CSRF token matches their session's."""
    presented = await _presented_csrf(request)
    if not presented or not secrets.compare_digest(presented, viewer.csrf_token):
        raise Refused(403, "Form refused", CSRF_REFUSAL)
    return viewer


def action_for(name: str) -> Callable[..., Awaitable[Viewer]]:
    """A dependency for a ``POST``: a valid CSRF token first, then a role that may act."""
    allowed, what = ACTIONS[name]

    async def check(viewer: Annotated[Viewer, Depends(checked_csrf)]) -> Viewer:
        if viewer.role not in allowed:
            raise role_refusal(viewer, what, allowed)
        return viewer

    return check


# -- login and logout ---------------------------------------------------------------------------
router = APIRouter(include_in_schema=False)


def _cookie_options(ctx: AppContext) -> dict[str, Any]:
    return {"httponly": True, "samesite": "lax", "secure": ctx.settings.web_https, "path": "/"}


def _login_page(
    request: Request,
    ctx: AppContext,
    *,
    error: str | None = None,
    status: int = 200,
    email: str = "",
) -> HTMLResponse:
    token = secrets.token_urlsafe(32)
    nxt = request.query_params.get("next", "")
    response = render(
        request,
        "login.html",
        {"login_csrf": token, "error": error, "email": email, "next": _safe_next(nxt)},
        status=status,
    )
    response.set_cookie(LOGIN_COOKIE, token, max_age=3600, **_cookie_options(ctx))
    return response


def _safe_next(target: str) -> str:
    """Where to go after signing in: a path on this site only, never another host."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, ctx: Ctx) -> HTMLResponse:
    return _login_page(request, ctx)


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request, ctx: Ctx) -> Response:
    form = await request.form()
    email = str(form.get("email") or "")
    password = str(form.get("password") or "")
    token = str(form.get(CSRF_FIELD) or "")
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    if not token or not cookie or not secrets.compare_digest(token, cookie):
        raise Refused(403, "Form refused", CSRF_REFUSAL)
    if not email or not password:
        return _login_page(
            request, ctx, error="Enter your email and password.", status=422, email=email
        )
    hours = ctx.settings.web_session_hours
    try:
        secret, _ = await run_in_threadpool(
            ctx.write,
            lambda uow: sign_in(uow.session, email, password, clock=ctx.clock, hours=hours),
        )
    except Unauthorized as exc:
        return _login_page(request, ctx, error=f"{str(exc).capitalize()}.", status=401, email=email)
    response = RedirectResponse(_safe_next(str(form.get("next") or "/")), status_code=303)
    response.set_cookie(SESSION_COOKIE, secret, max_age=int(hours * 3600), **_cookie_options(ctx))
    response.delete_cookie(LOGIN_COOKIE, path="/")
    return response


@router.post("/logout")
async def logout(
    request: Request, ctx: Ctx, viewer: Annotated[Viewer, Depends(checked_csrf)]
) -> Response:
    secret = request.cookies.get(SESSION_COOKIE, "")
    await run_in_threadpool(ctx.write, lambda uow: sign_out(uow.session, secret))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
