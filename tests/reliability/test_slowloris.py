"""Slowloris: a client that never finishes its request head is disconnected (`[server] header_timeout_seconds`).

uvicorn bounds only the idle time between requests; a connection that sends its headers a byte at a time was
held forever (reliability/http_abuse.py counted 500 still open after 30 s). smsgrid closes a connection whose
request head is not complete within the bound of the connection being made (or of the request's first byte),
on both listeners, while everyone else is served. Here the bound is tiny, so the tests take seconds.
"""

from __future__ import annotations

import select
import socket
import ssl
import time
from collections.abc import Iterator

import httpx
import pytest
from reliability.clients import SignedClient, handset
from reliability.http_abuse import read_answer

from smsgrid.testing import SmsgridProcess, start_smsgrid

HEADER_TIMEOUT_SECONDS = 0.5
SLOW_CONNECTIONS = 40
ROUNDS = 100  # the attack loop's bound: each round dribbles a byte everywhere, then waits 0.1 s
PARTIAL_HEAD = b"POST /admin/inbound HTTP/1.1\r\nHost: 127.0.0.1\r\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmsgridProcess]:
    config = f"[carrier]\ndelay_ms = 10\n\n[server]\nheader_timeout_seconds = {HEADER_TIMEOUT_SECONDS}\n"
    process = start_smsgrid(tmp_path_factory.mktemp("smsgrid"), config=config)
    try:
        yield process
    finally:
        process.stop()


def _closed_by_server(sock: socket.socket) -> bool:
    """True once the server has closed: the socket reads EOF (or the reset that follows our writes to it)."""
    if not select.select([sock], [], [], 0)[0]:
        return False
    try:
        return sock.recv(1) == b""
    except OSError:
        return True


def _wait_for_close(sock: socket.socket, timeout: float = 15.0) -> bytes:
    """Read until the server closes; returns what it sent first (b"" when it sent nothing)."""
    sock.settimeout(timeout)
    received = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            return received
        received += chunk


def test_slow_headers_are_cut_off_while_everyone_else_is_served(server: SmsgridProcess) -> None:
    slow = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(SLOW_CONNECTIONS)]
    closed: set[int] = set()
    served = 0
    try:
        for sock in slow:
            sock.sendall(PARTIAL_HEAD)
        with SignedClient(server) as client:
            for n in range(ROUNDS):
                assert httpx.get(f"{server.base_url}/healthz", timeout=5).status_code == 200
                assert client.send([handset(810_000 + n)], "while slowloris").status_code == 202
                served += 1
                for i, sock in enumerate(slow):
                    if i in closed:
                        continue
                    try:
                        sock.sendall(b"X")  # progress uvicorn alone would wait on forever
                    except OSError:
                        closed.add(i)
                        continue
                    if _closed_by_server(sock):
                        closed.add(i)
                if len(closed) == SLOW_CONNECTIONS:
                    break
                time.sleep(0.1)
    finally:
        for sock in slow:
            sock.close()
    assert len(closed) == SLOW_CONNECTIONS, f"{SLOW_CONNECTIONS - len(closed)} slow connections still open"
    assert served >= 1
    assert "Traceback" not in server.log()


def test_a_connection_that_sends_nothing_is_closed(server: SmsgridProcess) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        assert _wait_for_close(sock) == b"", "closed without an answer: there was no request to answer"


def test_a_slow_head_on_the_tls_listener_is_cut_off(server: SmsgridProcess) -> None:
    context = ssl.create_default_context(cafile=str(server.cert_path))
    with (
        socket.create_connection(("127.0.0.1", server.tls_port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as sock,
    ):
        sock.sendall(PARTIAL_HEAD)
        try:
            assert _wait_for_close(sock) == b""
        except ssl.SSLError:
            pass  # the server may drop TLS without close_notify: still closed by the server, not timed out here


def test_blank_lines_dribbled_between_requests_are_cut_off(server: SmsgridProcess) -> None:
    """After a response, bytes that start no request (the parser skips blank lines before a request line) stop
    uvicorn's keep-alive clock; the head clock must run for them, or a CRLF a second holds the connection."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert read_answer(sock)[0] == 200
        for _ in range(ROUNDS):
            try:
                sock.sendall(b"\r\n")
            except OSError:
                break
            if _closed_by_server(sock):
                break
            time.sleep(0.1)
        else:
            pytest.fail(f"still open after {ROUNDS} blank lines")


def test_the_head_clock_stops_with_the_head(server: SmsgridProcess) -> None:
    """A keep-alive connection idle between requests for longer than the head bound is still served: the clock
    runs only while a head is incomplete (idle time is uvicorn's keep-alive timeout, 5 s)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        sock.sendall(request)
        assert read_answer(sock)[0] == 200
        time.sleep(4 * HEADER_TIMEOUT_SECONDS)
        sock.sendall(request)
        assert read_answer(sock)[0] == 200
