"""The aiohttp adapter of the Transport port against a real loopback socket: what is kept of an answer, and
how each kind of network failure comes back as an `HttpResult` rather than an exception."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest

from smsgrid.delivery.transport import DRAIN_BYTES, AiohttpTransport

pytestmark = pytest.mark.anyio

Respond = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@asynccontextmanager
async def loopback(respond: Respond) -> AsyncIterator[str]:
    """A server on 127.0.0.1 that reads one request head and lets *respond* write whatever it likes."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            await respond(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client gave up or never sent a request: nothing to answer
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/hook"
    finally:
        server.close()


def http(status: str, body: bytes, *extra: str) -> bytes:
    # One request per connection: the server closes after answering.
    head = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", "Connection: close", "X-Receiver: test", *extra]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


@pytest.fixture
async def transport() -> AsyncIterator[AiohttpTransport]:
    opened = AiohttpTransport(timeout_seconds=5.0)
    await opened.start()
    yield opened
    await opened.close()


async def test_an_answer_is_kept_up_to_keep_body(transport: AiohttpTransport) -> None:
    async def ok(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        w.write(http("200 OK", b'{"validationResponse": "c"}'))
        await w.drain()

    async with loopback(ok) as url:
        result = await transport.request("POST", url, body=b"[]", headers={"Content-Type": "application/json"})
        short = await transport.request("POST", url, keep_body=5)
        bare = await transport.request("POST", url, keep_body=0)
    assert (result.status, result.error, result.body) == (200, None, b'{"validationResponse": "c"}')
    assert result.headers is not None
    assert result.headers["X-Receiver"] == "test"
    assert short.body == b'{"val'
    assert (bare.status, bare.body, bare.headers) == (200, b"", None)


async def test_a_long_answer_is_not_read_to_its_end(transport: AiohttpTransport) -> None:
    async def endless(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        w.write(http("500 Internal Server Error", b"x" * (DRAIN_BYTES * 64)))
        await w.drain()

    async with loopback(endless) as url:
        result = await transport.request("POST", url, keep_body=16)
    assert (result.status, result.body) == (500, b"x" * 16)


async def test_a_silent_endpoint_times_out(transport: AiohttpTransport) -> None:
    async def silent(reader: asyncio.StreamReader, _w: asyncio.StreamWriter) -> None:
        await reader.read()  # until the client gives up

    async with loopback(silent) as url:
        result = await transport.request("POST", url, timeout=0.2)
    assert (result.status, result.error) == (None, "timeout")
    assert result.error_text


async def test_an_endpoint_that_hangs_up_is_a_socket_error(transport: AiohttpTransport) -> None:
    async def hang_up(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        w.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
        await w.drain()

    async with loopback(hang_up) as url:
        result = await transport.request("POST", url)
    # The status line arrived, the body did not: the attempt failed (a receiver that crashed mid-answer).
    assert (result.status, result.error) == (None, "socket")
    assert result.error_text is not None
    assert result.error_text.startswith("ClientPayloadError")


async def test_a_closed_port_is_a_connect_error(transport: AiohttpTransport) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = await transport.request("POST", f"http://127.0.0.1:{port}/")
    assert (result.status, result.error) == (None, "connect")


async def test_a_header_aiohttp_refuses_is_a_failed_attempt(transport: AiohttpTransport) -> None:
    async def ok(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        w.write(http("200 OK", b""))
        await w.drain()

    async with loopback(ok) as url:
        result = await transport.request("POST", url, headers={"X-Bad": "a\r\nb"})
    assert (result.status, result.error) == (None, "socket")
    assert result.error_text is not None
