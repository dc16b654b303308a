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

from smsgrid.api.app import allowed_host_names, create_app
from smsgrid.api.context import AppContext
from smsgrid.config import Settings
from smsgrid.runtime import Runtime
from smsgrid.tls import TlsFiles, ensure_certificate

log = logging.getLogger("smsgrid")
# (runtime, TLS files, HTTP port, HTTPS port, a one-time web UI login token for the banner)
ReadyHook = Callable[[Runtime, TlsFiles | None, int, int, str], None]


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


def header_timeout_protocol(
    header_timeout_seconds: float,
    body_timeout_seconds: float | None = None,
    max_connections: int | None = None,
    open_connections: set[HttpToolsProtocol] | None = None,
) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol with bounds on reading a request, and on how many connections are open.

    uvicorn bounds only the idle time between requests (timeout_keep_alive); once a byte arrives nothing bounds
    the rest of the head, so a client that sends its headers a byte at a time holds a connection forever
    (slowloris; reliability/http_abuse.py). Here the clock starts when the connection is made, when bytes arrive
    between requests (blank lines before a request line start no message in the parser, so this is not
    on_message_begin alone) and when a pipelined request begins; it stops when the head is complete, and the
    connection is closed when it runs out. A second clock bounds the body, from the end of the head to the end
    of the body (a slow upload).

    `open_connections` is shared by every listener; beyond `max_connections` a new connection makes room by
    closing the one that has waited longest for its request to arrive (head or body), else the longest idle
    keep-alive one, else it is itself refused. Slow clients so cannot use up the process's file descriptors
    and starve everyone, `/healthz` included (1,050 of them did before).
    """
    registry: set[HttpToolsProtocol] = open_connections if open_connections is not None else set()

    class HeaderTimeoutProtocol(HttpToolsProtocol):
        _head_timer: asyncio.TimerHandle | None = None
        _body_timer: asyncio.TimerHandle | None = None
        _receiving_since: float | None = None
        _idle_since: float = 0.0

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._idle_since = self.loop.time()
            registry.add(self)
            self._start_head_clock()
            if max_connections is not None and len(registry) > max_connections:
                victim = self._eviction_candidate()
                (victim or self).transport.abort()

        def _eviction_candidate(self) -> HttpToolsProtocol | None:
            others = [c for c in registry if c is not self and not c.transport.is_closing()]
            receiving = [c for c in others if getattr(c, "_receiving_since", None) is not None]
            if receiving:
                return min(receiving, key=lambda c: getattr(c, "_receiving_since", 0.0))
            idle = [c for c in others if c.cycle is None or c.cycle.response_complete]
            return min(idle, key=lambda c: getattr(c, "_idle_since", 0.0)) if idle else None

        def data_received(self, data: bytes) -> None:
            idle = self.cycle is None or self.cycle.response_complete
            if self._head_timer is None and self._body_timer is None and idle:
                self._start_head_clock()
            super().data_received(data)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            if self._head_timer is None:
                self._start_head_clock()

        def on_headers_complete(self) -> None:
            self._stop_head_clock()
            if body_timeout_seconds is not None:
                self._body_timer = self.loop.call_later(body_timeout_seconds, self._timed_out)
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            self._stop_body_clock()
            self._receiving_since = None
            self._idle_since = self.loop.time()
            super().on_message_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_head_clock()
            self._stop_body_clock()
            registry.discard(self)
            super().connection_lost(exc)

        def _start_head_clock(self) -> None:
            self._head_timer = self.loop.call_later(header_timeout_seconds, self._timed_out)
            if self._receiving_since is None:
                self._receiving_since = self.loop.time()

        def _stop_head_clock(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _stop_body_clock(self) -> None:
            if self._body_timer is not None:
                self._body_timer.cancel()
                self._body_timer = None

        def _timed_out(self) -> None:
            # No answer: a client this slow is not reading one, and a pipelined response may still be on its way.
            self._head_timer = None
            self._body_timer = None
            if not self.transport.is_closing():
                self.transport.close()

    return HeaderTimeoutProtocol


def _raise_file_limit() -> int:
    """Lift the soft open-files limit to the hard one (often 1024 → 524288) and return it: every connection
    costs a descriptor, and running out of them fails every client, not just the slow ones."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        if soft != resource.RLIM_INFINITY and soft < wanted:
            with contextlib.suppress(ValueError, OSError):
                resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        return int(resource.getrlimit(resource.RLIMIT_NOFILE)[0])
    except (ImportError, ValueError, OSError):
        return 1024


# Descriptors kept free for the database, log, dead-letter files and outgoing webhook connections.
RESERVED_FILES = 128


def connection_limit(configured: int) -> int:
    """`[server] max_connections`, lowered to what the open-files limit leaves room for."""
    return max(16, min(configured, _raise_file_limit() - RESERVED_FILES))


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
    # Tokens for Entra-protected webhooks name the issuer at the HTTPS address, as Entra's issuer is https.
    issuer_base_url = f"https://{_host_for_url(listen.host)}:{tls_port}" if tls_port else base_url
    runtime = Runtime.build(settings, dispatch=dispatch, base_url=base_url, issuer_base_url=issuer_base_url)
    context = runtime.app_context()
    app = create_app(
        context, _ui_routes(context), allowed_hosts=allowed_host_names(listen.host, settings.server.allowed_hosts)
    )
    # A TLS client that keeps its connection open never answers close_notify; do not wait on it for long.
    common = {
        "lifespan": "off",
        "access_log": False,
        "log_level": "warning",
        "server_header": False,
        "timeout_graceful_shutdown": 2,
    }
    server = settings.server
    http = header_timeout_protocol(
        server.header_timeout_seconds, server.body_timeout_seconds, connection_limit(server.max_connections), set()
    )
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
        on_ready(runtime, tls, port, tls_port, context.web_auth.login_tokens.issue())
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


def _ui_routes(context: AppContext) -> list[BaseRoute]:
    import smsgrid.ui.routes

    return smsgrid.ui.routes.routes(context)


def run(settings: Settings, listen: Listen, *, dispatch: bool = True, on_ready: ReadyHook | None = None) -> None:
    import uvloop

    uvloop.run(serve(settings, listen, dispatch=dispatch, on_ready=on_ready))


__all__ = ["Listen", "connection_string", "run", "serve"]
