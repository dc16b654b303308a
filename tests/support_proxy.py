"""A small real reverse proxy on loopback that can make the first `POST /sms` answers fail.

It forwards every request to smsgrid unchanged (the `Host` header too: the SDK signs the host it was built with,
i.e. the proxy's), records what smsgrid answered, and for the first `fail_sends` sends answers the client 503
instead. The SDK then retries the identical body (azure-core RetryPolicy retries 503), which is how a
lost 202 looks to a client and what ACS repeatability exists for (SPEC §2, Repeatability).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import orjson

# Hop-by-hop headers (RFC 9110 §7.6.1) and the ones httpx recomputes; everything else is forwarded as is.
_NOT_FORWARDED = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length", "te", "upgrade"})


@dataclass(frozen=True)
class ProxiedExchange:
    """One request through the proxy: what the client sent, what smsgrid answered, what the client got."""

    method: str
    path: str
    request_body: bytes
    upstream_status: int
    upstream_body: bytes
    answered_status: int

    def upstream_json(self) -> Any:
        return orjson.loads(self.upstream_body)


@dataclass
class FlakyProxy:
    upstream: str  # e.g. http://127.0.0.1:8080
    fail_sends: int = 1
    exchanges: list[ProxiedExchange] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    _client: httpx.Client | None = None
    _failed: int = 0

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the proxy first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def sends(self) -> list[ProxiedExchange]:
        with self._lock:
            return [e for e in self.exchanges if e.method == "POST" and e.path.split("?")[0] == "/sms"]

    def _should_fail(self, method: str, path: str) -> bool:
        with self._lock:
            if method == "POST" and path.split("?", maxsplit=1)[0] == "/sms" and self._failed < self.fail_sends:
                self._failed += 1
                return True
            return False

    def start(self) -> FlakyProxy:
        proxy = self
        client = httpx.Client(base_url=self.upstream, timeout=30.0)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _NOT_FORWARDED}
                upstream = client.request(self.command, self.path, content=body, headers=headers)
                fail = proxy._should_fail(self.command, self.path)
                status = 503 if fail else upstream.status_code
                answer = (
                    orjson.dumps({"error": {"code": "ServiceUnavailable", "message": "proxy: simulated failure"}})
                    if fail
                    else upstream.content
                )
                with proxy._lock:
                    proxy.exchanges.append(
                        ProxiedExchange(self.command, self.path, body, upstream.status_code, upstream.content, status)
                    )
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            do_GET = do_POST = do_PUT = do_DELETE = _forward

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._client = client
        threading.Thread(target=self._server.serve_forever, name="flaky-proxy", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._client is not None:
            self._client.close()

    def __enter__(self) -> FlakyProxy:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
