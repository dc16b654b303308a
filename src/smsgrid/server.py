"""Run the service: HTTP and HTTPS listeners on one event loop, the runtime's background work beside them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass

import uvicorn
from starlette.routing import BaseRoute
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from smsgrid.api.app import create_app
from smsgrid.config import Settings
from smsgrid.runtime import Runtime
from smsgrid.tls import TlsFiles, ensure_certificate

log = logging.getLogger("smsgrid")
ReadyHook = Callable[[Runtime, TlsFiles | None, int, int], None]


@dataclass(frozen=True, slots=True)
class Listen:
    host: str = "127.0.0.1"
    port: int = 8080
    tls_port: int = 8443


def connection_string(host: str, tls_port: int, port: int, access_key: str) -> str:
    if tls_port:
        return f"endpoint=https://{_host_for_url(host)}:{tls_port}/;accesskey={access_key}"
    return f"endpoint=http://{_host_for_url(host)}:{port}/;accesskey={access_key}"


def _host_for_url(host: str) -> str:
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def header_timeout_protocol(header_timeout_seconds: float) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol with a bound on reading a request head.

    uvicorn bounds only the idle time between requests (timeout_keep_alive); once a byte arrives nothing bounds
    the rest of the head, so a client that sends its headers a byte at a time holds a connection forever
    (slowloris; reliability/http_abuse.py). Here the clock starts when the connection is made, when bytes arrive
    between requests (blank lines before a request line start no message in the parser, so this is not
    on_message_begin alone) and when a pipelined request begins; it stops when the head is complete, and the
    connection is closed when it runs out. Bodies are not bounded here.
    """

    class HeaderTimeoutProtocol(HttpToolsProtocol):
        _head_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._start_head_clock()

        def data_received(self, data: bytes) -> None:
            if self._head_timer is None and (self.cycle is None or self.cycle.response_complete):
                self._start_head_clock()
            super().data_received(data)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            if self._head_timer is None:
                self._start_head_clock()

        def on_headers_complete(self) -> None:
            self._stop_head_clock()
            super().on_headers_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_head_clock()
            super().connection_lost(exc)

        def _start_head_clock(self) -> None:
            self._head_timer = self.loop.call_later(header_timeout_seconds, self._head_timed_out)

        def _stop_head_clock(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_timed_out(self) -> None:
            # No answer: a client this slow is not reading one, and a pipelined response may still be on its way.
            self._head_timer = None
            if not self.transport.is_closing():
                self.transport.close()

    return HeaderTimeoutProtocol


class _Server(uvicorn.Server):
    # We own SIGINT/SIGTERM for both listeners; uvicorn must not install its own.
    @contextlib.contextmanager
    def capture_signals(self):  # type: ignore[no-untyped-def]
        yield


async def serve(
    settings: Settings,
    listen: Listen,
    *,
    dispatch: bool = True,
    on_ready: ReadyHook | None = None,
) -> None:
    # Private: it holds the database, the TLS key and dead letters (SECURITY.md). An existing dir keeps its mode.
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    tls = ensure_certificate(settings.data_dir) if listen.tls_port else None
    http_sock = _bind(listen.host, listen.port)
    tls_sock = _bind(listen.host, listen.tls_port) if tls else None
    port = http_sock.getsockname()[1]
    tls_port = tls_sock.getsockname()[1] if tls_sock else 0
    base_url = f"http://{_host_for_url(listen.host)}:{port}"
    runtime = Runtime.build(settings, dispatch=dispatch, base_url=base_url)
    app = create_app(runtime, _ui_routes())
    # A TLS client that keeps its connection open never answers close_notify; do not wait on it for long.
    common = {
        "lifespan": "off",
        "access_log": False,
        "log_level": "warning",
        "server_header": False,
        "timeout_graceful_shutdown": 2,
    }
    http = header_timeout_protocol(settings.server.header_timeout_seconds)
    servers = [_Server(uvicorn.Config(app, http=http, loop="none", **common))]  # type: ignore[arg-type]
    sockets = [http_sock]
    if tls and tls_sock:
        servers.append(
            _Server(
                uvicorn.Config(
                    app,
                    http=http,
                    loop="none",
                    ssl_certfile=str(tls.cert),
                    ssl_keyfile=str(tls.key),
                    **common,  # type: ignore[arg-type]
                )
            )
        )
        sockets.append(tls_sock)
    await runtime.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    tasks = [asyncio.create_task(s.serve(sockets=[sock])) for s, sock in zip(servers, sockets, strict=True)]
    while not all(s.started for s in servers):
        if any(t.done() for t in tasks):
            break
        await asyncio.sleep(0.005)
    if on_ready is not None and all(s.started for s in servers):
        on_ready(runtime, tls, port, tls_port)
    waiter = asyncio.create_task(stop.wait())
    await asyncio.wait([waiter, *tasks], return_when=asyncio.FIRST_COMPLETED)
    for s in servers:
        s.should_exit = True
    reaper = asyncio.create_task(_abort_lingering_connections(servers))
    await asyncio.gather(*tasks, return_exceptions=True)
    reaper.cancel()
    waiter.cancel()
    await runtime.stop()


async def _abort_lingering_connections(servers: list[_Server]) -> None:
    """An idle TLS keep-alive connection waits for the client's close_notify, which an open SDK client never
    sends; drop idle connections (no request in flight) so shutdown takes well under a second. A connection
    with a request in flight keeps uvicorn's graceful timeout, so an accepted send still gets its answer."""
    await asyncio.sleep(0.3)
    for server in servers:
        for connection in list(server.server_state.connections):
            cycle = getattr(connection, "cycle", None)
            transport = getattr(connection, "transport", None)
            idle = cycle is None or getattr(cycle, "response_complete", True)
            if transport is not None and idle:
                transport.abort()


def _ui_routes() -> list[BaseRoute]:
    import smsgrid.ui.routes

    return list(smsgrid.ui.routes.routes)


def run(settings: Settings, listen: Listen, *, dispatch: bool = True, on_ready: ReadyHook | None = None) -> None:
    import uvloop

    uvloop.run(serve(settings, listen, dispatch=dispatch, on_ready=on_ready))


__all__ = ["Listen", "connection_string", "run", "serve"]
