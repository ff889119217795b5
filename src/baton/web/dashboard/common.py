"""What every dashboard page shares: the contract in force, the analytics cache, the pickers,
and running store work so that Baton's errors become an error page instead of JSON."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection
from typing import Any, TypeVar

from fastapi import Request
from fastapi.concurrency import run_in_threadpool

from baton.analytics.period import Period
from baton.contract.model import Contract
from baton.errors import BatonError
from baton.service.contracts import contract_in_force
from baton.store.uow import UnitOfWork
from baton.web.context import AppContext
from baton.web.dashboard.analytics import TOPICS, Analytics
from baton.web.dashboard.auth import Refused
from baton.web.errors import status_of

T = TypeVar("T")

TITLES = {
    401: "Sign in again",
    403: "Not allowed",
    404: "Not found",
    409: "Not possible now",
    422: "Check what you entered",
}


def refused(exc: BatonError) -> Refused:
    status, _ = status_of(exc)
    return Refused(status, TITLES.get(status, "Something went wrong"), str(exc))


async def read(ctx: AppContext, work: Callable[[UnitOfWork], T]) -> T:
    """``work`` in a read transaction, off the event loop; Baton's errors become a page."""
    try:
        return await run_in_threadpool(ctx.read, work)
    except BatonError as exc:
        raise refused(exc) from exc


async def write(
    ctx: AppContext,
    work: Callable[[UnitOfWork], T],
    changes: Collection[str] | None = None,
    leads: Collection[int] = (),
) -> T:
    """``work`` in a write transaction; then the analytics that read what it ``changes`` (the
    :data:`~baton.web.dashboard.analytics.TOPICS` it touches, ``None`` for anything) are
    dropped from the cache, and the rows of ``leads`` (the leads it changed) copied again."""
    try:
        value = await run_in_threadpool(ctx.write, work)
    except BatonError as exc:
        raise refused(exc) from exc
    analytics_of(ctx).changed(changes, leads)
    return value


def analytics_of(ctx: AppContext) -> Analytics:
    found: Analytics | None = getattr(ctx, "_dashboard_analytics", None)
    if found is None:
        settings = ctx.settings
        found = Analytics(
            settings.database_url, settings.web_cache_seconds, copy=settings.web_analytics_copy
        )
        ctx._dashboard_analytics = found  # type: ignore[attr-defined]
    return found


async def compute(
    ctx: AppContext,
    key: tuple[Any, ...],
    work: Callable[..., T],
    reads: Collection[str] = TOPICS,
) -> T:
    """A cached analytics section (see :mod:`baton.web.dashboard.analytics`)."""
    analytics = analytics_of(ctx)
    try:
        return await run_in_threadpool(analytics.get, key, work, reads)
    except BatonError as exc:
        raise refused(exc) from exc


async def contract_now(ctx: AppContext) -> Contract:
    now = ctx.clock()
    return (await read(ctx, lambda uow: contract_in_force(uow.session, now))).contract


def period_choices(contract: Contract, now: dt.datetime) -> list[str]:
    """The periods the pickers offer: this and the last three quarters, the last six months,
    this year and last year."""
    zone = contract.business_hours.zone
    today = now.astimezone(zone).date()
    quarters, months = [], []
    year, quarter = today.year, (today.month - 1) // 3 + 1
    for _ in range(4):
        quarters.append(f"{year}-Q{quarter}")
        year, quarter = (year, quarter - 1) if quarter > 1 else (year - 1, 4)
    year, month = today.year, today.month
    for _ in range(6):
        months.append(f"{year}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return [*quarters, *months, str(today.year), str(today.year - 1)]


def parse_period(text: str | None, contract: Contract, now: dt.datetime) -> Period:
    zone = contract.business_hours.zone
    if text:
        try:
            return Period.parse(text, zone)
        except BatonError as exc:
            raise refused(exc) from exc
    return Period.containing(now.astimezone(zone).date(), "quarter", zone)


def choice(value: str | None, allowed: tuple[str, ...], name: str) -> str | None:
    """A picker's value, or None for empty; anything else is a 422 page naming the picker."""
    if not value:
        return None
    if value not in allowed:
        raise Refused(422, TITLES[422], f'{name} "{value}" is not one of: {", ".join(allowed)}')
    return value


def int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    text = request.query_params.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise Refused(422, TITLES[422], f'{name} "{text}" is not a whole number') from None
    if not low <= value <= high:
        raise Refused(422, TITLES[422], f"{name} must be between {low} and {high} (got {value})")
    return value
