"""A real webhook receiver on loopback that records every request and answers like an Event Grid endpoint.

It answers the validation handshake (synchronously, or not at all for the manual path), the CloudEvents
OPTIONS handshake, and then every delivery with a status of the test's choosing. Threaded, HTTP/1.1 keep-alive.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson

from smsgrid.events.models import Event
from smsgrid.events.parse import parse_events

Responder = Callable[["ReceivedRequest"], int]


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    at: float

    @property
    def kind(self) -> str:
        return self.headers.get("aeg-event-type", "")

    def json(self) -> Any:
        return orjson.loads(self.body)


class _QuietOnDisconnectServer(ThreadingHTTPServer):
    """A peer that vanishes mid-request (smsgrid killed by a crash test) is expected here, not a fault: say nothing.
    socketserver's default prints a traceback to stderr for it; any other error still gets one."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionResetError | BrokenPipeError | ConnectionAbortedError):
            return
        super().handle_error(request, client_address)


@dataclass
class WebhookSink:
    """`handshake`: "sync" answers validationResponse, "manual" answers 200 without it, "refuse" answers 400.
    `allow_origin`: the WebHook-Allowed-Origin to answer OPTIONS with (None = no consent).
    `responder`: status for each Notification (default 200). `hang`: never answer notifications."""

    handshake: str = "sync"
    allow_origin: str | None = "*"
    responder: Responder | None = None
    hang: bool = False
    requests: list[ReceivedRequest] = field(default_factory=list)
    _lock: threading.Condition = field(default_factory=threading.Condition)
    _server: ThreadingHTTPServer | None = None
    _stop_hanging: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the sink first"
        return f"http://127.0.0.1:{self._server.server_address[1]}/events"

    def start(self) -> WebhookSink:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _record(self) -> ReceivedRequest:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = ReceivedRequest(
                    self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.time()
                )
                with sink._lock:
                    sink.requests.append(request)
                    sink._lock.notify_all()
                return request

            def _answer(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                if body:
                    self.send_header("Content-Type", "application/json")
                self.end_headers()
                if body:
                    self.wfile.write(body)

            def do_OPTIONS(self) -> None:
                self._record()
                headers = {"WebHook-Allowed-Origin": sink.allow_origin} if sink.allow_origin else {}
                self._answer(200, headers=headers)

            def do_GET(self) -> None:
                self._record()
                self._answer(200)

            def do_POST(self) -> None:
                request = self._record()
                if request.kind == "SubscriptionValidation":
                    if sink.handshake == "sync":
                        code = request.json()[0]["data"]["validationCode"]
                        self._answer(200, orjson.dumps({"validationResponse": code}))
                    elif sink.handshake == "manual":
                        self._answer(200)
                    else:
                        self._answer(400)
                    return
                if sink.hang:
                    sink._stop_hanging.wait(120)
                    return
                status = sink.responder(request) if sink.responder else 200
                self._answer(status)

        self._server = _QuietOnDisconnectServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        # A short poll interval so stop() returns quickly (serve_forever checks for shutdown between polls).
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="webhook-sink", daemon=True
        ).start()
        return self

    def stop(self) -> None:
        self._stop_hanging.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> WebhookSink:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- what arrived ----------------------------------------------------------------------------------------

    def notifications(self) -> list[ReceivedRequest]:
        with self._lock:
            return [r for r in self.requests if r.method == "POST" and r.kind == "Notification"]

    def validations(self) -> list[ReceivedRequest]:
        with self._lock:
            return [r for r in self.requests if r.kind == "SubscriptionValidation"]

    def events(self) -> list[Event]:
        """Every event delivered so far, parsed with smsgrid's consumer parser (both schemas)."""
        return [event for request in self.notifications() for event in parse_events(request.body)]

    def iter_items(self) -> Iterator[dict[str, Any]]:
        for request in self.notifications():
            body = request.json()
            yield from body if isinstance(body, list) else [body]

    def wait_for(self, predicate: Callable[[WebhookSink], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                self._lock.release()
                try:
                    done = predicate(self)
                finally:
                    self._lock.acquire()
                if done:
                    return
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"condition not met within {timeout} s; {len(self.requests)} requests seen")
                self._lock.wait(min(remaining, 0.25))

    def wait_for_event(
        self, event_type: str, where: Callable[[Event], bool] | None = None, timeout: float = 10.0
    ) -> Event:
        found: list[Event] = []

        def seen(sink: WebhookSink) -> bool:
            for event in sink.events():
                if event.event_type == event_type and (where is None or where(event)):
                    found.append(event)
                    return True
            return False

        self.wait_for(seen, timeout)
        return found[0]
