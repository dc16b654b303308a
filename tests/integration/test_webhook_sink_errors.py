"""WebhookSink stays quiet when its peer vanishes mid-request (smsgrid SIGKILLed by a crash test), and still
prints the traceback of any other error (a test's responder that raises must not go unnoticed)."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from smsgrid.testing import ReceivedRequest, WebhookSink


def _explode(request: ReceivedRequest) -> int:
    raise ValueError("a responder bug the test author must see")


@pytest.fixture
def sink() -> Iterator[WebhookSink]:
    with WebhookSink(responder=_explode) as started:
        yield started


def _errors_handled(sink: WebhookSink) -> threading.Semaphore:
    """Released each time the sink's server has finished handling an error (its own handler ran whole)."""
    server: Any = sink._server
    handled = threading.Semaphore(0)
    original = server.handle_error

    def counted(request: Any, client_address: Any) -> None:
        try:
            original(request, client_address)
        finally:
            handled.release()

    server.handle_error = counted
    return handled


def test_a_peer_reset_mid_request_prints_nothing(sink: WebhookSink, capfd: pytest.CaptureFixture[str]) -> None:
    handled = _errors_handled(sink)
    port = int(sink.url.split(":")[2].split("/")[0])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"POST /events HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + b"[" * 10)
        # Linger 0: close() sends a RST, as the kernel does for a killed process with unread data.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    assert handled.acquire(timeout=10), "the sink never saw the reset"
    assert capfd.readouterr().err == ""


def test_any_other_error_still_prints_its_traceback(sink: WebhookSink, capfd: pytest.CaptureFixture[str]) -> None:
    handled = _errors_handled(sink)
    with pytest.raises(httpx.HTTPError):  # the handler died: no answer
        httpx.post(sink.url, content=b"[]", headers={"aeg-event-type": "Notification"}, timeout=5)
    assert handled.acquire(timeout=10)
    err = capfd.readouterr().err
    assert "Traceback" in err
    assert "a responder bug the test author must see" in err
