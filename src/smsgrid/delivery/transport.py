"""Outbound HTTP for deliveries and handshakes: one pooled aiohttp session, keep-alive, bounded waits.

aiohttp rather than httpx: its client is several times faster per request, and delivery rate is our hot path.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp

from smsgrid.delivery.outcomes import TransportError

RESPONSE_EXCERPT_BYTES = 2048


@dataclass(frozen=True, slots=True)
class HttpResult:
    status: int | None
    error: TransportError | None
    duration: float
    body: bytes = b""
    headers: Mapping[str, str] | None = None
    error_text: str | None = None


class HttpTransport:
    def __init__(self, *, timeout_seconds: float = 30.0, connections_per_host: int = 64) -> None:
        self.timeout_seconds = timeout_seconds
        self.connections_per_host = connections_per_host
        self._default_timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=0, limit_per_host=self.connections_per_host, keepalive_timeout=60, ssl=False
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
            raise RuntimeError("HttpTransport.start() was not awaited")
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
                payload = await response.read()
                return HttpResult(
                    status=response.status,
                    error=None,
                    duration=time.perf_counter() - started,
                    body=payload[:keep_body] if keep_body else b"",
                    # Deliveries never look at response headers; copying them costs on the hot path.
                    headers=dict(response.headers) if keep_body else None,
                )
        except TimeoutError as exc:
            return HttpResult(None, "timeout", time.perf_counter() - started, error_text=str(exc) or "timed out")
        except aiohttp.ClientConnectorError as exc:
            return HttpResult(None, "connect", time.perf_counter() - started, error_text=str(exc))
        except (aiohttp.ClientError, OSError, asyncio.IncompleteReadError) as exc:
            return HttpResult(None, "socket", time.perf_counter() - started, error_text=f"{type(exc).__name__}: {exc}")
