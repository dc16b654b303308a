"""The Starlette application: routes of every subsystem, and one place that turns errors into Azure's shapes."""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from smsgrid.api import admin, data_plane, openapi, topic_publishing
from smsgrid.api.responses import error_response, json_response
from smsgrid.errors import AuthenticationError, RequestError, StoreUnavailableError
from smsgrid.runtime import Runtime

log = logging.getLogger("smsgrid.api")


async def healthz(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    return json_response({"status": "ok", "dialect": runtime.store.dialect})


async def _request_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestError)
    return error_response(exc.status, exc.code, exc.message)


async def _auth_error(request: Request, exc: Exception) -> Response:
    return error_response(401, "Denied", str(exc))


async def _unavailable(request: Request, exc: Exception) -> Response:
    log.warning("store unavailable: %s", exc)
    return error_response(
        503, "ServiceUnavailable", "The store cannot commit right now; nothing was written. Retry later.",
        {"Retry-After": "1"},
    )  # fmt: skip


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    codes = {404: "NotFound", 405: "MethodNotAllowed"}
    message = "No such resource." if exc.status_code == 404 else str(exc.detail)
    return error_response(exc.status_code, codes.get(exc.status_code, "BadRequest"), message)


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(500, "InternalServerError", "An unexpected error occurred; see the server log.")


def create_app(runtime: Runtime, extra_routes: list[BaseRoute] | None = None) -> Starlette:
    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        *data_plane.routes,
        *admin.routes,
        *openapi.routes,
        *topic_publishing.routes,
        *(extra_routes or []),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={
            RequestError: _request_error,
            AuthenticationError: _auth_error,
            StoreUnavailableError: _unavailable,
            HTTPException: _http_error,
            Exception: _unexpected,
        },
    )
    app.state.runtime = runtime
    return app


async def metrics(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    body, content_type = await runtime.metrics_text()
    return PlainTextResponse(body, media_type=content_type)
