"""Receive Event Grid deliveries in a Starlette or FastAPI app: one endpoint object, one handler per event.

    from smsgrid.consumer import EventGridEndpoint

    async def on_event(event):                       # or a plain def: it runs in the thread pool
        if event.event_type == SMS_RECEIVED: ...

    endpoint = EventGridEndpoint(on_event, dedupe=EventIdDeduper())
    app = Starlette(routes=[endpoint.route("/events")])          # Starlette
    app.router.routes.append(endpoint.route("/events"))          # FastAPI (app.add_route works too)

The handshakes are answered for you. A handler that raises makes the answer 500, so Event Grid retries the
delivery (delivery-and-retry); events handled before are skipped on that retry when `dedupe` is given.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Sequence

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from smsgrid.consumer.core import EventIdDeduper, ReplyKind, handle_delivery
from smsgrid.consumer.entra import WWW_AUTHENTICATE, EntraTokenError, EntraTokenVerifier
from smsgrid.events.models import Event

log = logging.getLogger("smsgrid.consumer")

EventHandler = Callable[[Event], Awaitable[None] | None]
# Event Grid's own ceiling for one delivery request is 1 MB per event and 1 MB for a batch (SPEC §3); leave room.
MAX_BODY_BYTES = 4 * 1024 * 1024


class EventGridEndpoint:
    """An ASGI app answering an Event Grid webhook URL; usable directly as a Starlette `Route` endpoint."""

    def __init__(
        self,
        handler: EventHandler,
        *,
        dedupe: EventIdDeduper | None = None,
        allowed_origins: Sequence[str] = ("*",),
        verifier: EntraTokenVerifier | None = None,
    ) -> None:
        """`verifier`: for an Entra-protected subscription, every request (handshakes too) must carry a valid
        Event Grid bearer token; others are answered 401 (smsgrid.consumer.entra)."""
        self.handler = handler
        self.verifier = verifier
        self.dedupe = dedupe
        self.allowed_origins = tuple(allowed_origins)
        self._is_async = inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(
            getattr(handler, "__call__", None)  # noqa: B004 - an object with async __call__
        )

    def route(self, path: str = "/events") -> Route:
        """A Starlette/FastAPI route for `path` that takes POST and OPTIONS."""
        return Route(path, self, methods=["POST", "OPTIONS"])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        response = await self.respond(request)
        await response(scope, receive, send)

    async def respond(self, request: Request) -> Response:
        if self.verifier is not None:
            try:
                # A JWKS fetch on a cache miss is blocking I/O: keep it off the event loop.
                await run_in_threadpool(self.verifier.verify, request.headers.get("authorization"))
            except EntraTokenError as exc:
                log.warning("refused a request without a valid Entra token: %s", exc)
                return Response(status_code=401, headers={"WWW-Authenticate": WWW_AUTHENTICATE})
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            # 413 is not retried by Event Grid (SPEC §3); a larger body cannot come from it anyway.
            return Response(status_code=413)
        body = await request.body()
        reply = handle_delivery(
            request.method, request.headers.items(), body, dedupe=self.dedupe, allowed_origins=self.allowed_origins
        )
        if reply.kind is ReplyKind.NOTIFICATION:
            handled: list[str] = []
            try:
                for event in reply.events:
                    await self._handle(event)
                    handled.append(event.id)
            except Exception:
                log.exception("event handler failed; answering 500 so Event Grid retries the delivery")
                return Response(status_code=500)
            finally:
                # Events handled before a failure stay handled; the rest are taken again on the retry.
                if self.dedupe is not None:
                    self.dedupe.remember(handled)
                    self.dedupe.release(e.id for e in reply.events if e.id not in handled)
        elif reply.kind is ReplyKind.REJECTED:
            log.warning("refused a delivery request: %s", reply.problem)
        return Response(reply.body, status_code=reply.status, headers=dict(reply.headers))

    async def _handle(self, event: Event) -> None:
        if self._is_async:
            result = self.handler(event)
            if result is not None:
                await result
        else:
            await run_in_threadpool(self.handler, event)


__all__ = ["EventGridEndpoint", "EventHandler"]
