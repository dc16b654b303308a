"""Run the service: HTTP and HTTPS listeners on one event loop, the runtime's background work beside them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.routing import BaseRoute
from starlette.types import ASGIApp

from smsgrid.api.app import allowed_host_names, create_app
from smsgrid.api.context import AppContext
from smsgrid.config import Settings
from smsgrid.connection_guard import ConnectionLimits, OpenConnections, guarded_protocol, track_responses
from smsgrid.heap import freeze_start_up_objects
from smsgrid.runtime import Runtime, private_data_dir, stop_on_signals
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
    private_data_dir(settings)
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
    limits = ConnectionLimits(
        server.header_timeout_seconds, server.body_timeout_seconds, connection_limit(server.max_connections)
    )
    open_connections = OpenConnections(limits)
    guarded_app = track_responses(app)
    servers = [_Server(_guarded_config(guarded_app, open_connections, **common))]
    sockets = [http_sock]
    if tls and tls_sock:
        tls_files = {"ssl_certfile": str(tls.cert), "ssl_keyfile": str(tls.key)}
        servers.append(_Server(_guarded_config(guarded_app, open_connections, **common, **tls_files)))
        sockets.append(tls_sock)
    await runtime.start()
    freeze_start_up_objects()
    stop = asyncio.Event()
    stop_on_signals(stop)
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
    reaper = asyncio.create_task(_abort_lingering_connections(open_connections))
    await asyncio.gather(*tasks, return_exceptions=True)
    reaper.cancel()
    waiter.cancel()
    await runtime.stop()


async def _abort_lingering_connections(open_connections: OpenConnections) -> None:
    """An idle TLS keep-alive connection waits for the client's close_notify, which an open SDK client never
    sends; drop idle connections (no request in flight) so shutdown takes well under a second. A connection
    with a request in flight keeps uvicorn's graceful timeout, so an accepted send still gets its answer."""
    await asyncio.sleep(0.3)
    open_connections.abort_idle()


def _guarded_config(app: ASGIApp, open_connections: OpenConnections, **options: Any) -> uvicorn.Config:
    """uvicorn's httptools protocol, wrapped by the connection guard (smsgrid.connection_guard). `load()` picks
    the protocol class as uvicorn always does; the guard then takes its place and hands every event on to it."""
    config = uvicorn.Config(app, http="httptools", loop="none", **options)
    config.load()
    config.http_protocol_class = guarded_protocol(config.http_protocol_class, open_connections)
    return config


def _ui_routes(context: AppContext) -> list[BaseRoute]:
    import smsgrid.ui.routes

    return smsgrid.ui.routes.routes(context)


def run(settings: Settings, listen: Listen, *, dispatch: bool = True, on_ready: ReadyHook | None = None) -> None:
    import uvloop

    uvloop.run(serve(settings, listen, dispatch=dispatch, on_ready=on_ready))


__all__ = ["Listen", "connection_string", "run", "serve"]
