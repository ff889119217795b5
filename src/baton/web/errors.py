"""One JSON shape for every error the API answers, and the one place errors become statuses.

Every error body is::

    {"ok": false, "status": 422, "code": "invalid_input",
     "message": "email: is required", "field": "email",
     "errors": [{"field": "email", "code": "missing", "message": "is required"}]}

``code`` and ``message`` sit at the top level because Segment's libraries read exactly those
two keys from an error answer. ``field`` names the first offending field (``batch[3].timestamp``)
or is ``null``; ``errors`` lists every problem found. :data:`STATUS` maps Baton's exception tree
to statuses; nothing else in the web layer picks a status for an error.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from baton.errors import (
    BatonError,
    Conflict,
    Forbidden,
    InvalidInput,
    InvalidTransition,
    NotFitted,
    NotFound,
    ProblemsError,
    StoreError,
    TooLarge,
    Unauthorized,
)

log = logging.getLogger("baton.web")


class UnsupportedMediaType(InvalidInput):
    """A request body in a content type or encoding the API does not read."""


#: Baton's exceptions, most specific first, with the status and code each answers.
STATUS: list[tuple[type[BatonError], int, str]] = [
    (Unauthorized, 401, "unauthorized"),
    (Forbidden, 403, "forbidden"),
    (NotFound, 404, "not_found"),
    (TooLarge, 413, "too_large"),
    (UnsupportedMediaType, 415, "unsupported_media_type"),
    (InvalidTransition, 409, "invalid_transition"),
    (Conflict, 409, "conflict"),
    (NotFitted, 409, "not_fitted"),
    (InvalidInput, 422, "invalid_input"),
    (StoreError, 503, "store_unavailable"),
    (BatonError, 400, "bad_request"),
]
HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "too_many_requests",
}
#: Segment call types: pydantic puts the matched one in an error's location; it is dropped.
_TAGS = frozenset({"identify", "track", "page", "screen", "group", "alias"})


class ErrorItem(BaseModel):
    field: str | None
    code: str
    message: str


class ErrorBody(BaseModel):
    """The body of every error answer."""

    ok: bool = False
    status: int
    code: str
    message: str
    field: str | None = None
    errors: list[ErrorItem] = []


#: For ``responses=`` on routes, so the OpenAPI document shows the error shape.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in (
        (400, "Malformed JSON"),
        (401, "No or unknown token"),
        (403, "Token lacks the scope"),
        (413, "Body over the size limit"),
        (415, "Not JSON"),
        (422, "Invalid field; `field` names it"),
        (503, "Database unavailable; retry"),
    )
}


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    field: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    items = errors if errors is not None else [{"field": field, "code": code, "message": message}]
    body = {
        "ok": False,
        "status": status,
        "code": code,
        "message": message,
        "field": field,
        "errors": items,
    }
    return JSONResponse(body, status_code=status, headers=headers)


def status_of(exc: BatonError) -> tuple[int, str]:
    for kind, status, code in STATUS:
        if isinstance(exc, kind):
            return status, code
    return 400, "bad_request"  # pragma: no cover - BatonError is last in STATUS


def baton_error(exc: BatonError) -> JSONResponse:
    status, code = status_of(exc)
    field = getattr(exc, "field", None)
    errors = None
    if isinstance(exc, ProblemsError):
        errors = [
            {"field": p.where or None, "code": code, "message": p.message} for p in exc.problems
        ]
    headers = {"Retry-After": "1"} if status == 503 else None
    if status == 401:
        headers = {"WWW-Authenticate": 'Basic realm="baton", Bearer'}
    return error_response(status, code, str(exc), field=field, errors=errors, headers=headers)


def field_path(loc: tuple[int | str, ...]) -> str | None:
    """``("body", "batch", 3, "track", "event")`` → ``batch[3].event``."""
    parts: list[str] = []
    previous: int | str | None = None
    for element in loc[1:] if loc and loc[0] in ("body", "query", "path", "header") else loc:
        if isinstance(element, int):
            parts.append(f"[{element}]")
        elif not (isinstance(previous, int) and element in _TAGS):
            parts.append(("." if parts else "") + str(element))
        previous = element
    return "".join(parts) or None


def _explain(error: dict[str, Any]) -> tuple[str, str]:
    kind = str(error.get("type", "invalid"))
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return kind, "is required"
    if kind == "union_tag_not_found":
        return kind, 'needs a "type": identify, track, page, screen, group or alias'
    if kind == "union_tag_invalid":
        return (
            kind,
            f'type "{ctx.get("tag")}" is not one of identify, track, page, screen, group, alias',
        )
    if kind == "value_error":
        return kind, str(ctx.get("error", error.get("msg", "")))
    return kind, str(error.get("msg", "is not valid"))


def validation_error(exc: RequestValidationError) -> JSONResponse:
    problems = list(exc.errors())
    if problems and problems[0].get("type") == "json_invalid":
        reason = (problems[0].get("ctx") or {}).get("error", "not JSON")
        loc = problems[0].get("loc", ())
        where = f" at character {loc[1]}" if len(loc) > 1 else ""
        return error_response(
            400,
            "malformed_json",
            f"the body is not valid JSON ({reason}{where}); send a JSON object",
        )
    items: list[dict[str, Any]] = []
    for problem in problems:
        code, text = _explain(problem)
        field = field_path(tuple(problem.get("loc", ())))
        items.append({"field": field, "code": code, "message": text})
    if not items:  # pragma: no cover - FastAPI always lists at least one
        return error_response(422, "invalid_input", "the request is not valid")
    first = items[0]
    message = f"{first['field']}: {first['message']}" if first["field"] else first["message"]
    if len(items) > 1:
        message += f" (and {len(items) - 1} more problem{'s' if len(items) > 2 else ''})"
    return error_response(422, "invalid_input", message, field=first["field"], errors=items)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into the one shape."""

    async def on_baton(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, BatonError)
        return baton_error(exc)

    async def on_validation(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return validation_error(exc)

    async def on_http(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        code = HTTP_CODES.get(exc.status_code, "error")
        message = str(exc.detail)
        headers = dict(exc.headers) if exc.headers else None
        if exc.status_code == 404:
            message = "no such endpoint; see /docs for the API"
        elif exc.status_code == 405:
            message = "this endpoint does not take that method; see /docs"
        return error_response(exc.status_code, code, message, headers=headers)

    async def on_crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception(
            "unexpected error answering %s %s", request.method, request.url.path, exc_info=exc
        )
        return error_response(
            500,
            "internal_error",
            "the server failed on this request, which may not have been stored; retry it (events "
            "with the same messageId are stored once), and report it if it happens again",
        )

    app.add_exception_handler(BatonError, on_baton)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(Exception, on_crash)
