"""Outbound HTTP for deliveries and handshakes: the `Transport` port and its aiohttp adapter.

`AiohttpTransport` keeps one pooled session, keep-alive, bounded waits. aiohttp rather than httpx: its client is
several times faster per request, and delivery rate is our hot path. Tests use `MemoryTransport`
(delivery/transport_memory.py), which answers from a function instead of the network.

A transport never raises for what the network does: every failure is an `HttpResult` with an `error` kind, so
the pump classifies a refused connection like a 500 (delivery/outcomes.py).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import aiohttp

from smsgrid.delivery.outcomes import TransportError

log = logging.getLogger("smsgrid.delivery")

RESPONSE_EXCERPT_BYTES = 2048
# A short answer (a receiver's "OK") is read to its end even when nothing is kept, so its connection can be
# reused; past this, the connection is closed instead.
DRAIN_BYTES = 2048


def tls_context(*, verify: bool = True, ca_file: Path | None = None) -> ssl.SSLContext:
    """How webhook certificates are checked: the system trust store (OpenSSL also reads `SSL_CERT_FILE` /
    `SSL_CERT_DIR`), plus *ca_file* when given. `verify=False` is the documented development opt-out."""
    context = ssl.create_default_context()
    if ca_file is not None:
        context.load_verify_locations(cafile=str(ca_file))
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


async def read_at_most(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """Up to *limit* bytes of the answer body, never more: an endpoint must not make us buffer what we drop.

    When more remains, the connection is closed rather than drained (an endless answer would never drain).
    """
    chunks: list[bytes] = []
    got = 0
    while got < limit:
        chunk = await response.content.read(limit - got)
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    if not response.content.at_eof():
        response.close()
    return b"".join(chunks)


@dataclass(frozen=True, slots=True)
class HttpResult:
    status: int | None
    error: TransportError | None
    duration: float
    body: bytes = b""
    headers: Mapping[str, str] | None = None
    error_text: str | None = None


class Transport(Protocol):
    """What deliveries, handshakes and Storage calls need of outbound HTTP."""

    @property
    def timeout_seconds(self) -> float:
        """The longest one request waits when no `timeout` is given (a claim's lease outlives it)."""
        ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def request(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        keep_body: int = RESPONSE_EXCERPT_BYTES,
    ) -> HttpResult:
        """Send one request. At most *keep_body* bytes of the answer are kept; with `keep_body=0` neither the
        body nor the headers are (a delivery looks only at the status)."""
        ...


class AiohttpTransport:
    def __init__(
        self,
        *,
        timeout_seconds: float = 30.0,
        connections_per_host: int = 64,
        verify_tls: bool = True,
        ca_file: Path | None = None,
    ) -> None:
        self.timeout_seconds = timeout_seconds
        self.connections_per_host = connections_per_host
        self.verify_tls = verify_tls
        self.ca_file = ca_file
        self._default_timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        if self._session is None:
            if not self.verify_tls:
                log.warning(
                    "[delivery] verify_tls = false: HTTPS webhook certificates are NOT verified; anyone on the path "
                    "can receive the handshake, the delivery headers (secrets included) and the events. "
                    "Use it for development only."
                )
            connector = aiohttp.TCPConnector(
                limit=0,
                limit_per_host=self.connections_per_host,
                keepalive_timeout=60,
                ssl=tls_context(verify=self.verify_tls, ca_file=self.ca_file),
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=self.timeout_seconds),
                auto_decompress=False,
                skip_auto_headers=("User-Agent", "Accept-Encoding"),
                headers={"User-Agent": "smsgrid (Event Grid compatible)"},
            )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("AiohttpTransport.start() was not awaited")
        return self._session

    async def request(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        keep_body: int = RESPONSE_EXCERPT_BYTES,
    ) -> HttpResult:
        started = time.perf_counter()
        # Always an explicit ClientTimeout: aiohttp reads `timeout=None` as "no timeout at all", not as "the
        # session's default", which let a silent endpoint hold a delivery forever (Event Grid waits 30 s).
        client_timeout = self._default_timeout if timeout is None else aiohttp.ClientTimeout(total=timeout)
        try:
            async with self.session.request(
                method, url, data=body, headers=headers, timeout=client_timeout, allow_redirects=False
            ) as response:
                # Only what is kept is read (SECURITY.md, "Outbound delivery"): reading the whole answer let one
                # endpoint grow our memory by the size of whatever it chose to send.
                payload = await read_at_most(response, max(keep_body, DRAIN_BYTES))
                return HttpResult(
                    status=response.status,
                    error=None,
                    duration=time.perf_counter() - started,
                    body=payload[:keep_body],
                    # Deliveries never look at response headers; copying them costs on the hot path.
                    headers=dict(response.headers) if keep_body else None,
                )
        except TimeoutError as exc:
            return HttpResult(None, "timeout", time.perf_counter() - started, error_text=str(exc) or "timed out")
        except aiohttp.ClientConnectorError as exc:
            return HttpResult(None, "connect", time.perf_counter() - started, error_text=str(exc))
        except (aiohttp.ClientError, OSError, asyncio.IncompleteReadError) as exc:
            return HttpResult(None, "socket", time.perf_counter() - started, error_text=f"{type(exc).__name__}: {exc}")
        except ValueError as exc:
            # A request aiohttp/yarl refuses to build (a header value with a control character, a host that is
            # not a host name): an attempt that failed, recorded and retried like any other, never a stalled batch.
            text = f"the request could not be sent: {type(exc).__name__}: {exc}"
            return HttpResult(None, "socket", time.perf_counter() - started, error_text=text)
