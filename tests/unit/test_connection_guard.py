"""The connection guard around uvicorn's HTTP protocol (smsgrid.connection_guard), against a fake transport and a
fake inner protocol: the head and body clocks, eviction beyond the connection cap, and requests in flight.

The clocks are set to 0 s where a test needs them to run out: `call_later(0)` fires on the next turns of the
loop, so yielding to the loop is enough — nothing waits on wall time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, cast

from starlette.types import Receive, Scope, Send

from smsgrid.connection_guard import (
    ConnectionLimits,
    GuardedConnection,
    OpenConnections,
    guarded_protocol,
    track_responses,
)

PARTIAL_HEAD = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
FULL_GET = PARTIAL_HEAD + b"\r\n"
POST_HEAD = b"POST /sms HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\n"


class FakeTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.closed = False
        self.aborted = False

    def is_closing(self) -> bool:
        return self.closed or self.aborted

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True


class FakeInner(asyncio.Protocol):
    """Stands for uvicorn's protocol: records what it is handed; starts `app` per data chunk as uvicorn starts a
    request's task from inside data_received."""

    def __init__(self, app: Callable[[], Coroutine[Any, Any, None]] | None = None, **uvicorn_kwargs: Any) -> None:
        self.uvicorn_kwargs = uvicorn_kwargs
        self.app = app
        self.events: list[str] = []
        self.received = b""
        self.tasks: list[asyncio.Task[None]] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.events.append("made")

    def data_received(self, data: bytes) -> None:
        self.received += data
        if self.app is not None:
            self.tasks.append(asyncio.get_running_loop().create_task(self.app()))

    def eof_received(self) -> bool | None:
        self.events.append("eof")
        return True

    def pause_writing(self) -> None:
        self.events.append("pause")

    def resume_writing(self) -> None:
        self.events.append("resume")

    def connection_lost(self, exc: Exception | None) -> None:
        self.events.append("lost")


async def _turns(n: int = 3) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


def _open(
    limits: ConnectionLimits, open_connections: OpenConnections | None = None, **inner_kwargs: Any
) -> tuple[GuardedConnection, FakeInner, FakeTransport, OpenConnections]:
    registry = open_connections or OpenConnections(limits)
    inner = FakeInner(**inner_kwargs)
    protocol = cast(GuardedConnection, guarded_protocol(lambda **_: inner, registry)())
    transport = FakeTransport()
    protocol.connection_made(transport)
    return protocol, inner, transport, registry


def test_every_event_reaches_uvicorns_protocol_unchanged() -> None:
    async def scenario() -> FakeInner:
        received: dict[str, Any] = {}

        def factory(**kwargs: Any) -> FakeInner:
            received.update(kwargs)
            return inner

        inner = FakeInner()
        # uvicorn calls the class with its own keyword arguments, which mypy cannot see on asyncio.Protocol.
        as_uvicorn_calls_it = cast(
            Callable[..., asyncio.Protocol], guarded_protocol(factory, OpenConnections(ConnectionLimits(60.0)))
        )
        protocol = as_uvicorn_calls_it(config="c", server_state="s")
        assert received == {"config": "c", "server_state": "s"}
        protocol.connection_made(FakeTransport())
        protocol.data_received(FULL_GET)
        protocol.pause_writing()
        protocol.resume_writing()
        assert protocol.eof_received() is True
        protocol.connection_lost(None)
        return inner

    inner = asyncio.run(scenario())
    assert inner.events == ["made", "pause", "resume", "eof", "lost"]
    assert inner.received == FULL_GET


def test_a_head_not_complete_in_time_is_closed_without_an_answer() -> None:
    async def scenario() -> FakeTransport:
        protocol, _, transport, _ = _open(ConnectionLimits(header_timeout_seconds=0.0))
        protocol.data_received(PARTIAL_HEAD)
        await _turns()
        return transport

    transport = asyncio.run(scenario())
    assert transport.closed


def test_the_head_clock_stops_with_the_head() -> None:
    async def scenario() -> FakeTransport:
        protocol, _, transport, _ = _open(ConnectionLimits(header_timeout_seconds=0.0))
        protocol.data_received(FULL_GET)
        await _turns()
        return transport

    assert not asyncio.run(scenario()).closed


def test_a_body_that_stalls_is_closed_and_one_that_arrives_is_not() -> None:
    async def scenario() -> tuple[FakeTransport, FakeTransport]:
        limits = ConnectionLimits(header_timeout_seconds=60.0, body_timeout_seconds=0.0)
        stalled, _, stalled_transport, _ = _open(limits)
        stalled.data_received(POST_HEAD + b"12345")
        complete, _, complete_transport, _ = _open(limits)
        complete.data_received(POST_HEAD + b"1234567890")
        await _turns()
        return stalled_transport, complete_transport

    stalled, complete = asyncio.run(scenario())
    assert stalled.closed
    assert not complete.closed


def test_bytes_that_start_no_request_restart_the_head_clock_after_an_answer() -> None:
    """Blank lines before a request line begin no message in the parser; they must not hold a connection."""

    async def scenario() -> FakeTransport:
        protocol, _, transport, _ = _open(ConnectionLimits(header_timeout_seconds=0.0))
        protocol.data_received(FULL_GET)
        await _turns()
        assert not transport.closed
        protocol.data_received(b"\r\n")
        await _turns()
        return transport

    assert asyncio.run(scenario()).closed


def test_beyond_the_cap_the_connection_waiting_longest_for_its_request_makes_room() -> None:
    async def scenario() -> tuple[FakeTransport, FakeTransport, FakeTransport]:
        limits = ConnectionLimits(header_timeout_seconds=60.0, max_connections=2)
        idle, _, idle_transport, registry = _open(limits)
        idle.data_received(FULL_GET)  # answered: an idle keep-alive connection
        slow, _, slow_transport, _ = _open(limits, registry)
        slow.data_received(PARTIAL_HEAD)
        _, _, newcomer_transport, _ = _open(limits, registry)
        return idle_transport, slow_transport, newcomer_transport

    idle, slow, newcomer = asyncio.run(scenario())
    assert slow.aborted
    assert not idle.aborted
    assert not newcomer.aborted


def test_beyond_the_cap_an_idle_connection_makes_room_before_one_being_answered() -> None:
    async def scenario() -> tuple[FakeTransport, FakeTransport, FakeTransport, FakeTransport]:
        release = asyncio.Event()

        async def slow_app(scope: Scope, receive: Receive, send: Send) -> None:
            await release.wait()

        app = track_responses(slow_app)
        busy_limits = ConnectionLimits(header_timeout_seconds=60.0, max_connections=2)
        busy, inner, busy_transport, registry = _open(busy_limits, app=lambda: app({"type": "http"}, _never, _never))
        busy.data_received(FULL_GET)
        idle, _, idle_transport, _ = _open(busy_limits, registry)
        idle.data_received(FULL_GET)
        await _turns()
        _, _, newcomer_transport, _ = _open(busy_limits, registry)
        # With a cap of one and that one being answered, a newcomer has nobody to evict: it is refused.
        alone = OpenConnections(ConnectionLimits(header_timeout_seconds=60.0, max_connections=1))
        alone.connections.add(busy)
        _, _, refused_transport, _ = _open(alone.limits, alone)
        release.set()
        await asyncio.gather(*inner.tasks)
        return busy_transport, idle_transport, newcomer_transport, refused_transport

    busy, idle, newcomer, refused = asyncio.run(scenario())
    assert idle.aborted
    assert not busy.aborted
    assert not newcomer.aborted
    assert refused.aborted


def test_at_shutdown_only_connections_with_no_request_in_flight_are_dropped() -> None:
    async def scenario() -> tuple[bool, bool, bool]:
        release = asyncio.Event()

        async def slow_app(scope: Scope, receive: Receive, send: Send) -> None:
            await release.wait()

        app = track_responses(slow_app)
        limits = ConnectionLimits(header_timeout_seconds=60.0)
        busy, inner, busy_transport, registry = _open(limits, app=lambda: app({"type": "http"}, _never, _never))
        busy.data_received(FULL_GET)
        _, _, idle_transport, _ = _open(limits, registry)
        await _turns()
        registry.abort_idle()
        busy_kept, idle_dropped = not busy_transport.aborted, idle_transport.aborted
        release.set()
        await asyncio.gather(*inner.tasks)
        registry.abort_idle()
        return busy_kept, idle_dropped, busy_transport.aborted

    busy_kept, idle_dropped, busy_dropped_once_answered = asyncio.run(scenario())
    assert busy_kept
    assert idle_dropped
    assert busy_dropped_once_answered


def test_bytes_after_an_upgrade_request_cannot_hold_the_connection() -> None:
    """smsgrid serves no WebSocket: uvicorn answers the upgrade request as HTTP and reads on; so does the guard."""
    upgrade = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"

    async def scenario() -> FakeTransport:
        protocol, _, transport, _ = _open(ConnectionLimits(header_timeout_seconds=0.0))
        protocol.data_received(upgrade)
        await _turns()
        assert not transport.closed
        protocol.data_received(PARTIAL_HEAD)
        await _turns()
        return transport

    assert asyncio.run(scenario()).closed


def test_a_request_the_parser_refuses_stops_the_clocks() -> None:
    """uvicorn answers 400 on the same bytes; the guard has nothing more to time."""

    async def scenario() -> FakeTransport:
        protocol, inner, transport, _ = _open(ConnectionLimits(header_timeout_seconds=0.0))
        protocol.data_received(b"\x00\x01 not http\r\n\r\n")
        await _turns()
        assert inner.received
        return transport

    assert not asyncio.run(scenario()).closed


async def _never(*_: Any) -> Any:
    raise AssertionError("the fake app neither receives nor sends")
