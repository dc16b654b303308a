"""Abusive HTTP clients on raw sockets: bodies over the 1 MB limit, slowloris connections.

`oversized_request` declares (or streams) a body far over `MAX_BODY_BYTES` and reports what came back and how
much it had to send first; `slowloris` opens many connections that send their headers a byte at a time.
`run_http_abuse` turns both into figures for `python -m reliability`.
"""

from __future__ import annotations

import base64
import contextlib
import select
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from reliability.clients import SignedClient, handset, http_date
from smsgrid.api.hmac_auth import authorization_header
from smsgrid.testing import SmsgridProcess, start_smsgrid

CHUNK = 64 * 1024
ANSWER_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class RawAnswer:
    status: int
    body: bytes
    bytes_sent: int  # body bytes the client managed to send before the answer came


def _auth_headers(server: SmsgridProcess, method: str, path: str, auth: str) -> dict[str, str]:
    if auth == "bearer":
        return {"Authorization": f"Bearer {server.access_key}"}
    if auth == "sas":
        return {"aeg-sas-key": server.access_key}
    # HMAC over a body we will never send whole: the server must refuse on size before it could check it.
    host = f"127.0.0.1:{server.port}"
    return authorization_header(base64.b64decode(server.access_key), method, path, http_date(), host, b"")


def read_answer(sock: socket.socket) -> tuple[int, bytes]:
    data = b""
    deadline = time.monotonic() + ANSWER_TIMEOUT_SECONDS
    while b"\r\n\r\n" not in data and time.monotonic() < deadline:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
    length = next(
        (int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")),
        len(body),
    )
    while len(body) < length and time.monotonic() < deadline:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, body


def oversized_request(
    server: SmsgridProcess, method: str, path: str, *, auth: str, declared: int, chunked: bool
) -> RawAnswer:
    """Send the head of a `declared`-byte body and as much of it as the server takes; return its answer.

    With `chunked=False` the head says `Content-Length: declared` and only one 1 KB piece follows: a server
    that waited for the whole body would never answer (the read times out and status is 0)."""
    headers = {
        "Host": f"127.0.0.1:{server.port}",
        "Content-Type": "application/json",
        **_auth_headers(server, method, path, auth),
    }
    if chunked:
        headers["Transfer-Encoding"] = "chunked"
    else:
        headers["Content-Length"] = str(declared)
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    sent = 0
    with socket.create_connection(("127.0.0.1", server.port), timeout=ANSWER_TIMEOUT_SECONDS) as sock:
        sock.sendall(head.encode())
        try:
            if chunked:
                piece = b"x" * CHUNK
                # Stop as soon as an answer is readable: `sent` then shows how far the server read.
                while sent < declared and not select.select([sock], [], [], 0.02)[0]:
                    sock.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                    sent += len(piece)
                if sent >= declared:
                    sock.sendall(b"0\r\n\r\n")
            else:
                sock.sendall(b"x" * 1024)
                sent = 1024
        except OSError:
            pass  # the server answered and closed while we were still sending: what we want
        try:
            status, body = read_answer(sock)
        except OSError:
            status, body = 0, b""
    return RawAnswer(status, body, sent)


class Slowloris:
    """Connections that never finish their request headers, fed one byte per `dribble()`."""

    def __init__(self, server: SmsgridProcess, connections: int) -> None:
        self.server = server
        self.sockets: list[socket.socket] = []
        for _ in range(connections):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            sock.sendall(b"POST /admin/inbound HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            self.sockets.append(sock)

    def dribble(self) -> None:
        """One more header byte on every connection still open."""
        for sock in list(self.sockets):
            try:
                sock.sendall(b"X")
            except OSError:
                self.sockets.remove(sock)
                sock.close()

    def open_connections(self) -> int:
        """Connections the server has not closed (a closed one reads EOF or fails)."""
        alive = 0
        for sock in self.sockets:
            sock.setblocking(False)
            try:
                alive += sock.recv(1) != b""
            except BlockingIOError:
                alive += 1
            except OSError:
                pass
            finally:
                sock.setblocking(True)
        return alive

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()
        self.sockets.clear()


@contextlib.contextmanager
def slowloris(server: SmsgridProcess, connections: int) -> Iterator[Slowloris]:
    attack = Slowloris(server, connections)
    try:
        yield attack
    finally:
        attack.close()


@dataclass
class AbuseFigures:
    oversized_refused: int = 0  # 413 answers to bodies declared at 50 MB (1 KB actually sent)
    oversized_cases: int = 0
    chunked_bytes_read_before_413: int = 0
    slowloris_connections: int = 0
    answered_during_slowloris: int = 0
    requests_during_slowloris: int = 0
    slowloris_still_open_after: int = 0  # connections the server had not dropped after the hold time
    slowloris_hold_seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            self.oversized_refused == self.oversized_cases
            and self.answered_during_slowloris == self.requests_during_slowloris
        )

    def lines(self) -> list[str]:
        return [
            f"oversized bodies refused (413)    {self.oversized_refused} of {self.oversized_cases}",
            f"chunked body sent before the 413  {self.chunked_bytes_read_before_413 / 1024 / 1024:.2f} MB",
            f"answered during slowloris         {self.answered_during_slowloris} of {self.requests_during_slowloris} "
            f"({self.slowloris_connections} slow connections)",
            f"slow connections still open after {self.slowloris_hold_seconds:.0f} s: {self.slowloris_still_open_after} "
            "(closed after [server] header_timeout_seconds)",
        ]


def run_http_abuse(work_dir: Path, *, connections: int = 200, hold_seconds: float = 20.0) -> AbuseFigures:
    figures = AbuseFigures()
    server = start_smsgrid(work_dir / "http-abuse", throttling=False)
    try:
        cases = [
            ("POST", "/sms?api-version=2021-03-07", "hmac"),
            ("POST", "/admin/inbound", "bearer"),
            ("PUT", "/admin/subscriptions/too-big", "bearer"),
            ("POST", "/api/events?api-version=2018-01-01", "sas"),
        ]
        for method, path, auth in cases:
            answer = oversized_request(server, method, path, auth=auth, declared=50 * 1024 * 1024, chunked=False)
            figures.oversized_cases += 1
            figures.oversized_refused += answer.status == 413
        chunked = oversized_request(server, "POST", "/admin/inbound", auth="bearer", declared=8 * 1024**2, chunked=True)
        figures.chunked_bytes_read_before_413 = chunked.bytes_sent if chunked.status == 413 else -1
        figures.slowloris_connections = connections
        started = time.monotonic()
        with slowloris(server, connections) as attack, SignedClient(server) as client:
            n = 0
            while time.monotonic() - started < hold_seconds:
                figures.requests_during_slowloris += 2
                try:
                    figures.answered_during_slowloris += httpx.get(f"{server.base_url}/healthz", timeout=5).is_success
                    figures.answered_during_slowloris += client.send([handset(n)], "slowloris").status_code == 202
                except httpx.HTTPError as exc:
                    figures.notes.append(f"request during slowloris failed: {exc!r}")
                attack.dribble()
                n += 1
                time.sleep(1.0)
            figures.slowloris_hold_seconds = time.monotonic() - started
            figures.slowloris_still_open_after = attack.open_connections()
    finally:
        server.stop()
    return figures
