"""The dashboard: server-rendered pages (Jinja2), htmx for actions in place, Vega-Lite charts.

:func:`install` adds it to the API's app: the static files (the vendored JavaScript, served
from the package, never a CDN), the login pages and every page's router, and the two
exceptions pages raise: :class:`~baton.web.dashboard.auth.LoginRequired` (to the login page)
and :class:`~baton.web.dashboard.auth.Refused` (an error page, or for htmx a message in the
page's alert region).
"""

from __future__ import annotations

import logging
import threading
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from baton.service.contracts import contract_in_force
from baton.web.context import AppContext
from baton.web.dashboard import auth, contract_page, leads, pages, report_page
from baton.web.dashboard.auth import LoginRequired, Refused, is_htmx
from baton.web.dashboard.common import analytics_of
from baton.web.dashboard.render import STATIC, environment, render

log = logging.getLogger("baton.web")


#: Paths that are not the dashboard's pages or actions (the API, its docs, the static files).
NOT_PAGES = ("/static/", "/v1/", "/api/", "/docs", "/redoc", "/openapi.json")


class HoldBackground:
    """ASGI middleware: while a dashboard page or action is answered, the dashboard's
    background work waits (:meth:`~baton.web.dashboard.analytics.Analytics.serving`). Other
    requests (the API's events) pass straight through."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        ctx = getattr(scope["app"].state, "baton", None) if "app" in scope else None
        if scope["type"] != "http" or ctx is None or scope["path"].startswith(NOT_PAGES):
            await self.app(scope, receive, send)
            return
        with analytics_of(ctx).serving():
            await self.app(scope, receive, send)


def install(app: FastAPI) -> None:
    app.add_middleware(HoldBackground)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (auth, pages, leads, contract_page, report_page):
        app.include_router(module.router)

    async def on_refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Refused)
        if is_htmx(request):
            body = environment.get_template("flash.html").render(ok=False, message=exc.message)
            return HTMLResponse(
                body,
                status_code=exc.status,
                headers={"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"},
            )
        context = {"title": exc.title, "message": exc.message, "status": exc.status}
        return render(request, "error.html", context, status=exc.status)

    async def on_login(request: Request, exc: Exception) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        login = f"/login?next={quote(target, safe='')}"
        if is_htmx(request):
            return Response(status_code=401, headers={"HX-Redirect": login})
        return RedirectResponse(login, status_code=303)

    app.add_exception_handler(Refused, on_refused)
    app.add_exception_handler(LoginRequired, on_login)


def start_warming(ctx: AppContext) -> threading.Thread:
    """Compute the pages' default sections in the background (the app's startup)."""

    def work() -> None:
        analytics = analytics_of(ctx)
        try:
            now = ctx.clock()
            contract = ctx.read(lambda uow: contract_in_force(uow.session, now)).contract
            pages.warm(analytics, contract, ctx.clock)
            report_page.warm(analytics, contract, ctx.clock)
        except Exception:  # a cold cache only makes the first page slower
            if analytics.closed:  # the app stopped first
                return
            log.warning("the dashboard could not compute its pages ahead", exc_info=True)

    thread = threading.Thread(target=work, name="baton-dashboard-warm", daemon=True)
    thread.start()
    return thread


def close(ctx: AppContext) -> None:
    """Close the dashboard's analytics connection (the app's shutdown)."""
    analytics_of(ctx).close()
