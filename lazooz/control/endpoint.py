"""What an endpoint of the control API is: a row of the table (``Endpoint``), and the
``Call`` its handler gets. Handlers answer with ``ok``; refusals are raised as
``LocalError`` and answered by the app (``app.py``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from lazooz.control.handle import NodeHandle
from lazooz.control.inputs import Fields

Json = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Call:
    """What a handler gets: the node, the request, its path parameters and its body."""

    node: NodeHandle
    request: Request
    body: Fields

    def param(self, name: str) -> str:
        return str(self.request.path_params[name])

    def query(self, name: str) -> str | None:
        return self.request.query_params.get(name)


Handler = Callable[[Call], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One route of the API and its OpenAPI description (schemas in ``openapi``)."""

    method: str
    path: str
    handler: Handler
    summary: str
    #: Component schema of the request body, or None for no body.
    body: str | None = None
    #: Component schema of the success response (``text/event-stream`` for ``events``).
    response: str = "Ok"
    status: int = 200
    #: Statuses this endpoint answers with an ``Error`` besides 401, 413, 503.
    errors: tuple[int, ...] = (400,)
    query: tuple[str, ...] = ()


def ok(value: object, status: int = 200) -> JSONResponse:
    return JSONResponse(value, status_code=status)


def error(status: int, reason: str, detail: str) -> JSONResponse:
    return JSONResponse({"error": reason, "detail": detail}, status_code=status)
