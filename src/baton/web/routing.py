"""The route class every JSON route uses: bodies parsed strictly, once.

Python's ``json`` reads ``NaN`` and ``Infinity``, which are not JSON and which PostgreSQL's
``jsonb`` refuses; a body carrying them is malformed JSON here (400) on every database alike.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute


def _no_constants(name: str) -> Any:
    raise json.JSONDecodeError(f"{name} is not a JSON number", name, 0)


class JSONRequest(Request):
    """A request whose ``json()`` refuses ``NaN`` and ``Infinity``."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = json.loads(await self.body(), parse_constant=_no_constants)
        return self._json


class JSONRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            return await handler(JSONRequest(request.scope, request.receive))

        return route
