"""The Starlette application: routes of every subsystem, and one place that turns errors into Azure's shapes."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from smsgrid.api import admin, data_plane, openapi, topic_publishing
from smsgrid.api.context import AppContext
from smsgrid.api.responses import error_response, json_response
from smsgrid.api.routing import bind
from smsgrid.entra import routes as entra_routes
from smsgrid.errors import AuthenticationError, RequestError, StoreUnavailableError
from smsgrid.metrics import EXPOSITION_CONTENT_TYPE, exposition
from smsgrid.namespaces import routes as namespace_routes
from smsgrid.store.outage_log import OutageLog

log = logging.getLogger("smsgrid.api")


async def healthz(ctx: AppContext, request: Request) -> Response:
    return json_response({"status": "ok", "dialect": ctx.store.dialect})


async def metrics(ctx: AppContext, request: Request) -> Response:
    counts = await ctx.store.counts()
    body = await exposition(ctx.metrics, counts.pending_deliveries)
    return PlainTextResponse(body, media_type=EXPOSITION_CONTENT_TYPE)


async def _request_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestError)
    return error_response(exc.status, exc.code, exc.message, exc.headers)


async def _auth_error(request: Request, exc: Exception) -> Response:
    # Closed after the answer: a refused caller's unread body (the admin API refuses before reading it) must
    # not keep the connection, and with it a slot, busy.
    return error_response(401, "Denied", str(exc), {"Connection": "close"})


def _unavailable(outage: OutageLog) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def answer(request: Request, exc: Exception) -> Response:
        # One line when the outage starts (and when it ends), not one per refused request: a full disk refuses
        # every send, and a line each would fill what little is left of it.
        outage.failed(exc)
        return error_response(
            503, "ServiceUnavailable", "The store cannot commit right now; nothing was written. Retry later.",
            {"Retry-After": "1"},
        )  # fmt: skip

    return answer


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    codes = {404: "NotFound", 405: "MethodNotAllowed"}
    message = "No such resource." if exc.status_code == 404 else str(exc.detail)
    return error_response(exc.status_code, codes.get(exc.status_code, "BadRequest"), message)


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(500, "InternalServerError", "An unexpected error occurred; see the server log.")


class _StoreRecoveryWatch:
    """Ends a logged store outage at the first write request answered 2xx. Reads prove nothing: the reader
    connection still answers while the disk is full. Costs one attribute check per request while the store is fine."""

    def __init__(self, app: ASGIApp, outage: OutageLog) -> None:
        self.app = app
        self.outage = outage

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.outage.ongoing or scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start" and 200 <= message["status"] < 300:
                self.outage.recovered()
            await send(message)

        await self.app(scope, receive, watch)


LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})


def host_name(header: str) -> str:
    """The name of a Host header without its port, lower-case: `[::1]:8443` → `[::1]`, `Example:80` → `example`."""
    value = header.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        return value[: end + 1] if end > 0 else value
    return value.partition(":")[0]


def allowed_host_names(bind_host: str, configured: tuple[str, ...]) -> frozenset[str] | None:
    """The Host names this server answers: loopback, the address it listens on, and `[server] allowed_hosts`.
    None when `"*"` is configured (any name; the operator has a proxy or firewall in front)."""
    if "*" in configured:
        return None
    bind = f"[{bind_host}]" if ":" in bind_host else bind_host
    wildcard = bind_host in ("", "0.0.0.0", "::")
    return frozenset({*LOOPBACK_HOSTS, *([] if wildcard else [bind.lower()]), *(h.lower() for h in configured)})


class _HostCheck:
    """Refuses a request whose Host is not one of ours (DNS rebinding: a web page whose name resolves to
    127.0.0.1 would otherwise read the API with the browser as its proxy). 400 in Azure's error shape, as
    Azure's front ends answer an unknown host. `/healthz` answers any Host: probes use the pod's address."""

    def __init__(self, app: ASGIApp, allowed: frozenset[str] | None) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.allowed is None or scope["type"] != "http" or scope["path"] == "/healthz":
            await self.app(scope, receive, send)
            return
        host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), "")
        if host_name(host) in self.allowed:
            await self.app(scope, receive, send)
            return
        shown = host[:100] or "(none)"
        message = f"The Host header {shown!r} is not a name of this server; add it to [server] allowed_hosts."
        await error_response(400, "InvalidHostHeader", message, {"Connection": "close"})(scope, receive, send)


def create_app(
    ctx: AppContext,
    extra_routes: Sequence[BaseRoute] = (),
    *,
    allowed_hosts: frozenset[str] | None = LOOPBACK_HOSTS,
) -> Starlette:
    """Every route of every subsystem, bound to `ctx`; `extra_routes` (the web UI) go before Entra's catch-all
    `/{tenant}/…` paths."""
    routes: list[BaseRoute] = [
        Route("/healthz", bind(ctx, healthz), methods=["GET"]),
        Route("/metrics", bind(ctx, metrics), methods=["GET"]),
        *data_plane.routes(ctx),
        *admin.routes(ctx),
        *openapi.routes,
        *topic_publishing.routes(ctx),
        *namespace_routes.routes(ctx),
        *extra_routes,
        *entra_routes.routes(ctx.entra),
    ]
    outage = OutageLog(log, "API", "sends and other writes are answered 503, reads still work")
    return Starlette(
        routes=routes,
        middleware=[Middleware(_HostCheck, allowed=allowed_hosts), Middleware(_StoreRecoveryWatch, outage=outage)],
        exception_handlers={
            RequestError: _request_error,
            AuthenticationError: _auth_error,
            StoreUnavailableError: _unavailable(outage),
            HTTPException: _http_error,
            Exception: _unexpected,
        },
    )
