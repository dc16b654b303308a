"""A minimal webhook receiver (separate process): raw asyncio HTTP/1.1, answers 200 as fast as the machine allows.

It answers Event Grid's validation handshake, counts requests and events, and (with --track) records the arrival
time of every delivery report by message id so the harness can compute end-to-end latency. `GET /stats` reports.
`POST /control` with {"status": N} switches the answer (e.g. 503 to build a backlog, then 200 to drain it).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import time

import orjson

_MESSAGE_ID = re.compile(rb'"(?:MessageId|messageId)":"([^"]+)"')


class Stats:
    def __init__(self) -> None:
        self.requests = 0
        self.events = 0
        self.status = 200
        self.first_at = 0.0
        self.last_at = 0.0
        self.arrivals: dict[str, float] = {}
        self.track = False
        self.timeline: list[tuple[float, int]] = []  # (time, cumulative events) sampled per request


class Handler(asyncio.Protocol):
    def __init__(self, stats: Stats) -> None:
        self.stats = stats
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's TCPTransport is not an asyncio.Transport subclass

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].decode("latin-1")
            length = 0
            event_type = ""
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                lname = name.strip().lower()
                if lname == "content-length":
                    length = int(value.strip())
                elif lname == "aeg-event-type":
                    event_type = value.strip()
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            self.respond(head.split(" ", 2), event_type, body)

    def respond(self, request_line: list[str], event_type: str, body: bytes) -> None:
        assert self.transport is not None
        method, path = request_line[0], request_line[1]
        stats = self.stats
        if method == "GET" and path.startswith("/stats"):
            payload = orjson.dumps(
                {
                    "requests": stats.requests,
                    "events": stats.events,
                    "first_at": stats.first_at,
                    "last_at": stats.last_at,
                    "arrivals": stats.arrivals if "arrivals" in path else {},
                    "timeline": stats.timeline if "timeline" in path else [],
                }
            )
            return self.send(200, payload)
        if method == "POST" and path.startswith("/control"):
            command = orjson.loads(body)
            stats.status = int(command.get("status", stats.status))
            stats.track = bool(command.get("track", stats.track))
            if command.get("reset"):
                stats.requests = stats.events = 0
                stats.first_at = stats.last_at = 0.0
                stats.arrivals.clear()
                stats.timeline.clear()
            return self.send(200, b"{}")
        if event_type == "SubscriptionValidation":
            code = orjson.loads(body)[0]["data"]["validationCode"]
            return self.send(200, orjson.dumps({"validationResponse": code}))
        if stats.status != 200:
            return self.send(stats.status, b"")
        now = time.time()
        count = body.count(b'"eventType"') or body.count(b'"specversion"') or 1
        stats.requests += 1
        stats.events += count
        if not stats.first_at:
            stats.first_at = now
        stats.last_at = now
        if stats.track:
            for match in _MESSAGE_ID.finditer(body):
                stats.arrivals.setdefault(match.group(1).decode(), now)
        # Every request for batched deliveries (few requests), every 50th for one-event requests.
        if count > 1 or stats.requests % 50 == 0:
            stats.timeline.append((now, stats.events))
        self.send(200, b"")
        return None

    def send(self, status: int, payload: bytes) -> None:
        assert self.transport is not None
        reason = "OK" if status == 200 else "Status"
        self.transport.write(
            f"HTTP/1.1 {status} {reason}\r\nContent-Length: {len(payload)}\r\n"
            f"Content-Type: application/json\r\n\r\n".encode()
            + payload
        )


async def main(port: int) -> None:
    stats = Stats()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Handler(stats), "127.0.0.1", port, backlog=4096)
    print(f"receiver listening on {server.sockets[0].getsockname()[1]}", flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    import uvloop

    uvloop.run(main(parser.parse_args().port))
