"""The web app: :func:`create_app` builds it from settings; nothing connects at import.

``baton serve`` runs it under uvicorn. The app's lifespan opens the engines, stores the
contract from ``BATON_CONTRACT`` as a version if it changed (as imports do), starts the
in-process worker when ``BATON_SERVE_WORKER`` says so (by default on SQLite), and on shutdown
stops the worker and closes the engines. The schema must be current: ``baton serve`` upgrades
it before starting.

The in-process worker writes through the app's writer engine and under its write lock (see
:class:`~baton.web.context.AppContext`): on SQLite it is one more writer of this process and
takes its turn with the requests, so neither side meets "database is locked".
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy import text

from baton import __version__
from baton.config import Settings
from baton.contract import default_contract_text
from baton.domain.model import Clock, system_clock
from baton.errors import StoreError
from baton.service.accounts import AccountDirectory
from baton.service.contracts import apply_contract
from baton.store.engine import (
    Checkpointer,
    StatisticsKeeper,
    WriteLock,
    lock_path,
    make_engine,
)
from baton.store.migrate import current_revision, head_revision
from baton.web import dashboard, errors, handoff, leads, segment
from baton.web.body import BodyGuard, limit_for
from baton.web.context import AppContext, Ctx
from baton.web.writer_process import WriterProcess
from baton.worker.runner import BackgroundWorker, start_in_process

DESCRIPTION = """\
Baton's handoff service and dashboard (`/login`, then `/scoreboard`, `/leads`, ...). Segment-compatible event ingestion (`/v1/...`, the write key as the
basic-auth user) and the JSON API (`/api/v1/...`, `Authorization: Bearer <token>`).
Every error answers one JSON shape: `{"ok": false, "status", "code", "message", "field", "errors"}`.
"""


def _contract_text(settings: Settings) -> str:
    path = settings.contract_path
    return path.read_text(encoding="utf-8") if path.is_file() else default_contract_text()


def create_app(
    settings: Settings, *, clock: Clock = system_clock, writer_process: bool = False
) -> FastAPI:
    """The FastAPI app for ``settings``; ``clock`` is the time source every route uses. With
    ``writer_process``, on a SQLite file or PostgreSQL, events are written by a process of
    their own (:mod:`baton.web.writer_process`; ``baton serve`` asks for it)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        sqlite = engine.dialect.name == "sqlite"
        collecting = gc.get_threshold()
        writer = (
            make_engine(settings.database_url, immediate=True, background_checkpoints=True)
            if sqlite
            else engine
        )
        worker: BackgroundWorker | None = None
        writing: WriterProcess | None = None
        lock: WriteLock | None = None
        # SQLite: the log copied back off the request path; PostgreSQL: statistics kept
        upkeep = [
            h
            for h in (Checkpointer.for_engine(writer), StatisticsKeeper.for_engine(engine))
            if h is not None
        ]
        try:
            if current_revision(engine) != head_revision():
                raise StoreError(
                    f"the database at BATON_DATABASE_URL is not at schema {head_revision()}; "
                    "run `baton db upgrade`"
                )
            for housekeeper in upkeep:
                housekeeper.start()
            # with a writer process, the server's writers and it take turns on a lock file
            shared = lock_path(writer) if writer_process else None
            lock = WriteLock(shared) if sqlite else None
            ctx = AppContext(settings, engine, writer, clock, AccountDirectory(), lock)
            text_ = _contract_text(settings)
            ctx.write(
                lambda uow: apply_contract(
                    uow.session, text_, clock=clock, source=str(settings.contract_path)
                )
            )
            if writer_process and (shared is not None or not sqlite):
                writing = await run_in_threadpool(WriterProcess, settings.database_url, shared)
                ctx.events = writing
            app.state.baton = ctx
            if settings.runs_worker_in_serve(engine.dialect.name):
                worker = start_in_process(
                    engine, settings, clock=clock, writer=writer, write_lock=ctx.write_lock
                )
            if settings.web_cache_seconds > 0:
                dashboard.start_warming(ctx)
            # what start-up made (modules, the app, the contract) lives as long as the process:
            # keep it out of the garbage collector's passes, which every request would pay for
            gc.collect()
            gc.freeze()
            # a batch of events allocates tens of thousands of short-lived containers: collecting
            # every 700 (Python's default), a server taking 100,000 events ran 36 full
            # collections of 40-50 ms each with the GIL held; collecting every 10,000, one
            gc.set_threshold(10_000, *gc.get_threshold()[1:])
            yield
            dashboard.close(ctx)
        finally:
            if writing is not None:  # what it was sent is written before the engines close
                await run_in_threadpool(writing.stop)
            if worker is not None:  # its current batch finishes before the engines close
                await run_in_threadpool(worker.stop)
            for housekeeper in upkeep:
                await run_in_threadpool(housekeeper.stop)
            if writer is not engine:
                writer.dispose()
            engine.dispose()
            if lock is not None:
                lock.close()
            gc.set_threshold(*collecting)

    app = FastAPI(
        title="Baton",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    errors.install(app)
    app.add_middleware(BodyGuard, limit=lambda path: limit_for(path, settings.api_max_body_bytes))
    app.include_router(segment.router)
    app.include_router(leads.router)
    app.include_router(handoff.router)
    dashboard.install(app)

    @app.get("/health", tags=["Service"], summary="Whether the service and its database answer")
    def health(ctx: Ctx) -> JSONResponse:
        ctx.read(lambda uow: uow.session.execute(text("SELECT 1")))
        return JSONResponse({"ok": True, "version": __version__})

    return app


def app_from_environment() -> FastAPI:
    """The app with settings read from the environment: uvicorn's factory for ``--workers N``."""
    return create_app(Settings())
