"""Bounds on how a client may hold a connection: the request head and body must arrive in time, and the number
of open connections is capped (slowloris; reliability/http_abuse.py).

uvicorn bounds only the idle time between requests (`timeout_keep_alive`); once a byte arrives nothing bounds the
rest of the head, so a client that sends its headers a byte at a time holds a connection forever. Its public
settings cannot say "the head must be complete within N seconds", so the guard sits around uvicorn's own HTTP
protocol, built only from public pieces:

- `GuardedConnection` is an `asyncio.Protocol` that wraps the protocol uvicorn chose (`uvicorn.Config.load()` sets
  `http_protocol_class`; we wrap it, we do not subclass it) and passes every transport event on unchanged;
- it reads the same bytes with its own `httptools` request parser to see where each head and body ends;
- `track_responses` is an ASGI middleware that tells the connection when a request is being answered. It finds its
  connection through a context variable set while the bytes are handed to uvicorn: uvicorn starts the request's
  task from inside that call, and an asyncio task copies the context it is created in (PEP 567). With uvicorn's
  opt-in `reset_contextvars` the variable is not seen; the guard then treats every connection as idle between
  requests, which only changes which connection is evicted first.

The clocks: the head clock starts when the connection is made, when bytes arrive while nothing is being received
or answered (blank lines before a request line start no message in the parser, so this is not on_message_begin
alone) and when a pipelined request begins; it stops when the head is complete, and the connection is closed when
it runs out. A second clock bounds the body, from the end of the head to the end of the body (a slow upload).

Beyond `max_connections` (shared by every listener) a new connection makes room by closing the one that has waited
longest for its request to arrive (head or body), else the longest idle keep-alive one, else it is itself refused.
Slow clients so cannot use up the process's file descriptors and starve everyone, `/healthz` included.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import httptools
from starlette.types import ASGIApp, Receive, Scope, Send

ProtocolFactory = Callable[..., asyncio.Protocol]


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    header_timeout_seconds: float
    body_timeout_seconds: float | None = None
    max_connections: int | None = None


@dataclass(slots=True)
class OpenConnections:
    """Every guarded connection of the process, across listeners: eviction and shutdown look at all of them."""

    limits: ConnectionLimits
    connections: set[GuardedConnection] = field(default_factory=set)

    def abort_idle(self) -> None:
        """Drop connections with no request being answered (an idle TLS keep-alive one waits for a close_notify
        an open SDK client never sends); one with a request in flight keeps uvicorn's graceful shutdown."""
        for connection in list(self.connections):
            if connection.answering == 0:
                connection.abort()


_connection: contextvars.ContextVar[GuardedConnection | None] = contextvars.ContextVar(
    "smsgrid_connection", default=None
)


def track_responses(app: ASGIApp) -> ASGIApp:
    """ASGI middleware: counts the requests each guarded connection is answering (see the module docstring)."""

    async def tracked(scope: Scope, receive: Receive, send: Send) -> None:
        connection = _connection.get()
        if scope["type"] != "http" or connection is None:
            await app(scope, receive, send)
            return
        connection.answering += 1
        try:
            await app(scope, receive, send)
        finally:
            connection.answering -= 1
            connection.idle_since = connection.loop.time()

    return tracked


def guarded_protocol(inner: ProtocolFactory, open_connections: OpenConnections) -> type[asyncio.Protocol]:
    """A protocol class for `uvicorn.Config.http_protocol_class`: uvicorn calls it with its own keyword arguments,
    which go to `inner` (the protocol uvicorn would have used) unchanged."""

    class Guarded(GuardedConnection):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(inner(**kwargs), open_connections)

    return Guarded


class _HeadAndBody:
    """httptools parser callbacks: where a request's head and body begin and end."""

    def __init__(self, connection: GuardedConnection) -> None:
        self._connection = connection

    def on_message_begin(self) -> None:
        self._connection.request_began()

    def on_headers_complete(self) -> None:
        self._connection.head_complete()

    def on_message_complete(self) -> None:
        self._connection.body_complete()


class GuardedConnection(asyncio.Protocol):
    def __init__(self, inner: asyncio.Protocol, open_connections: OpenConnections) -> None:
        self.inner = inner
        self._open = open_connections
        self._limits = open_connections.limits
        self._parser: httptools.HttpRequestParser | None = httptools.HttpRequestParser(_HeadAndBody(self))
        self._transport: asyncio.Transport | None = None
        self._head_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self.loop = asyncio.get_running_loop()
        self.receiving_since: float | None = None
        self.idle_since = self.loop.time()
        self.answering = 0

    # -- asyncio.Protocol: every event goes on to uvicorn's protocol ------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without inheriting from it: no isinstance check.
        self._transport = cast("asyncio.Transport", transport)
        self.inner.connection_made(transport)
        self._open.connections.add(self)
        self._start_head_clock()
        limit = self._limits.max_connections
        if limit is not None and len(self._open.connections) > limit:
            (self._eviction_candidate() or self).abort()

    def data_received(self, data: bytes) -> None:
        if self._head_timer is None and self._body_timer is None and self.answering == 0:
            self._start_head_clock()
        self._parse(data)
        token = _connection.set(self)
        try:
            self.inner.data_received(data)
        finally:
            _connection.reset(token)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_clocks()
        self._open.connections.discard(self)
        self.inner.connection_lost(exc)

    # -- what the parser saw ----------------------------------------------------------------------------------

    def request_began(self) -> None:
        if self._head_timer is None:
            self._start_head_clock()

    def head_complete(self) -> None:
        self._stop_clocks()
        if self._limits.body_timeout_seconds is not None:
            self._body_timer = self.loop.call_later(self._limits.body_timeout_seconds, self._timed_out)

    def body_complete(self) -> None:
        self._stop_clocks()
        self.receiving_since = None
        self.idle_since = self.loop.time()

    # -- the rest ---------------------------------------------------------------------------------------------

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    def _is_closing(self) -> bool:
        return self._transport is None or self._transport.is_closing()

    def _parse(self, data: bytes) -> None:
        if self._parser is None:
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            # smsgrid serves no WebSocket: uvicorn answers the request as HTTP and, like this parser, reads the bytes
            # after it as the next request. The clocks go on as for any request.
            pass
        except httptools.HttpParserError:
            # uvicorn's parser fails on the same bytes and answers 400; nothing more to time.
            self._stop_tracking()

    def _stop_tracking(self) -> None:
        self._parser = None
        self._stop_clocks()
        self.receiving_since = None

    def _eviction_candidate(self) -> GuardedConnection | None:
        others = [c for c in self._open.connections if c is not self and not c._is_closing()]
        receiving = [c for c in others if c.receiving_since is not None]
        if receiving:
            return min(receiving, key=lambda c: c.receiving_since or 0.0)
        idle = [c for c in others if c.answering == 0]
        return min(idle, key=lambda c: c.idle_since) if idle else None

    def _start_head_clock(self) -> None:
        if self._parser is None:
            return
        self._head_timer = self.loop.call_later(self._limits.header_timeout_seconds, self._timed_out)
        if self.receiving_since is None:
            self.receiving_since = self.loop.time()

    def _stop_clocks(self) -> None:
        for timer in (self._head_timer, self._body_timer):
            if timer is not None:
                timer.cancel()
        self._head_timer = None
        self._body_timer = None

    def _timed_out(self) -> None:
        # No answer: a client this slow is not reading one, and a pipelined response may still be on its way.
        self._head_timer = None
        self._body_timer = None
        if self._transport is not None and not self._transport.is_closing():
            self._transport.close()


__all__ = ["ConnectionLimits", "GuardedConnection", "OpenConnections", "guarded_protocol", "track_responses"]
