"""An in-memory `Transport` for tests: a function answers each request, and every request is recorded.

In the spirit of httpx's `MockTransport`: no socket, no server. The handler returns a `MemoryResponse` (or an
awaitable of one, to hold a request open), or raises `MemoryTransportError` to play a network failure:

    transport = MemoryTransport(lambda request: MemoryResponse(200))
    ... run a pump or a handshake with it ...
    assert transport.requests[0].headers["aeg-event-type"] == "Notification"

It keeps what the aiohttp adapter keeps (at most `keep_body` bytes, headers only when a body is kept), so a
test sees what the pump sees.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from smsgrid.delivery.outcomes import TransportError
from smsgrid.delivery.transport import RESPONSE_EXCERPT_BYTES, HttpResult


@dataclass(frozen=True, slots=True)
class SentRequest:
    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes
    timeout: float | None

    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass(frozen=True, slots=True)
class MemoryResponse:
    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)


class MemoryTransportError(Exception):
    """Raised by a handler to play a request that got no answer: `kind` is what the pump classifies."""

    def __init__(self, kind: TransportError, text: str = "") -> None:
        super().__init__(text or kind)
        self.kind: TransportError = kind
        self.text = text or kind


Handler = Callable[[SentRequest], MemoryResponse | Awaitable[MemoryResponse]]


def answer(status: int = 200, body: bytes = b"", headers: Mapping[str, str] | None = None) -> Handler:
    """A handler that gives every request the same answer."""
    response = MemoryResponse(status, body, dict(headers or {}))
    return lambda _request: response


class MemoryTransport:
    def __init__(self, handler: Handler | None = None, *, timeout_seconds: float = 30.0) -> None:
        self.handler: Handler = handler if handler is not None else answer(200)
        self.timeout_seconds = timeout_seconds
        self.requests: list[SentRequest] = []
        self.started = False
        self.closed = False

    async def start(self) -> None:
        self.started = True

    async def close(self) -> None:
        self.closed = True

    async def request(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        keep_body: int = RESPONSE_EXCERPT_BYTES,
    ) -> HttpResult:
        sent = SentRequest(method, url, dict(headers or {}), body or b"", timeout)
        self.requests.append(sent)
        try:
            outcome = self.handler(sent)
            response = await outcome if inspect.isawaitable(outcome) else outcome
        except MemoryTransportError as exc:
            return HttpResult(None, exc.kind, 0.0, error_text=exc.text)
        return HttpResult(
            status=response.status,
            error=None,
            duration=0.0,
            body=response.body[:keep_body],
            headers=dict(response.headers) if keep_body else None,
        )


__all__ = ["Handler", "MemoryResponse", "MemoryTransport", "MemoryTransportError", "SentRequest", "answer"]
