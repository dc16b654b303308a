"""Route tables bound to what their handlers use.

Each HTTP module declares its table (`TABLE`, a list of `RouteSpec`: path, method, handler) without any context,
so its paths and methods can be read without building the app, and binds it with `routes(ctx)`; a handler
takes its context as its first argument instead of reaching into `request.app.state`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

Endpoint = Callable[[Request], Awaitable[Response]]
C = TypeVar("C")
Handler = Callable[[C, Request], Awaitable[Response]]


def bind(ctx: C, handler: Handler[C]) -> Endpoint:
    """`handler` with its context bound: a plain function, so Starlette treats it as a request/response endpoint
    (a `functools.partial` would be taken for an ASGI app)."""

    async def endpoint(request: Request) -> Response:
        return await handler(ctx, request)

    endpoint.__name__ = handler.__name__
    endpoint.__doc__ = handler.__doc__
    return endpoint


@dataclass(frozen=True, slots=True)
class RouteSpec(Generic[C]):
    """One row of a route table: bound to a context by `bind_routes`."""

    path: str
    method: str
    handler: Handler[C]


def bind_routes(ctx: C, table: Sequence[RouteSpec[C]], *, in_schema: bool = True) -> list[Route]:
    """`in_schema=False` for routes served beside the HTTP API but not part of it (the web UI's pages, the Entra
    issuer's OpenID endpoints): `/openapi.json` leaves them out (Starlette's `include_in_schema`)."""
    return [
        Route(spec.path, bind(ctx, spec.handler), methods=[spec.method], include_in_schema=in_schema) for spec in table
    ]
