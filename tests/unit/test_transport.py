"""The Transport port: the in-memory fake keeps what the aiohttp adapter keeps; the handshake judged through it;
and what of the aiohttp adapter needs no network (its requests are tested in tests/integration)."""

from __future__ import annotations

import logging
import ssl
from pathlib import Path

import orjson
import pytest

from smsgrid.clock import Clock, ManualClock, SystemClock
from smsgrid.delivery.handshake import (
    CLOUD_EVENTS_ORIGIN,
    HANDSHAKE_TIMEOUT_SECONDS,
    VALIDATION_EVENT_TYPE,
    run_handshake,
)
from smsgrid.delivery.registry import AWAITING_MANUAL_ACTION, FAILED, SUCCEEDED
from smsgrid.delivery.subscription_spec import parse_subscription_spec
from smsgrid.delivery.transport import AiohttpTransport, Transport, tls_context
from smsgrid.delivery.transport_memory import (
    MemoryResponse,
    MemoryTransport,
    MemoryTransportError,
    SentRequest,
    answer,
)
from tests.unit.delivery_support import START, STORAGE_ID, webhook_spec

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# -- the in-memory transport ------------------------------------------------------------------------------


async def test_memory_transport_records_every_request_and_answers_from_its_handler() -> None:
    transport = MemoryTransport(answer(202, b"accepted", {"X-Trace": "t1"}), timeout_seconds=5.0)
    await transport.start()
    result = await transport.request("PUT", "http://x.test/a", body=b"{}", headers={"A": "1"}, timeout=2.0)
    await transport.close()

    assert (transport.started, transport.closed, transport.timeout_seconds) == (True, True, 5.0)
    assert transport.requests == [SentRequest("PUT", "http://x.test/a", {"A": "1"}, b"{}", 2.0)]
    assert transport.requests[0].json() == {}
    assert (result.status, result.error, result.body, result.headers) == (202, None, b"accepted", {"X-Trace": "t1"})


async def test_memory_transport_keeps_no_more_than_it_is_asked_to() -> None:
    transport = MemoryTransport(answer(200, b"x" * 100, {"A": "1"}))
    assert (await transport.request("POST", "http://x.test", keep_body=10)).body == b"x" * 10
    nothing = await transport.request("POST", "http://x.test", keep_body=0)
    # As the aiohttp adapter: a delivery keeps neither body nor headers.
    assert (nothing.body, nothing.headers) == (b"", None)


async def test_memory_transport_defaults_to_200_and_records_a_missing_body_as_empty() -> None:
    transport = MemoryTransport()
    result = await transport.request("GET", "http://x.test")
    assert result.status == 200
    assert transport.requests[0].body == b""
    assert transport.requests[0].headers == {}


async def test_a_handler_plays_a_network_failure() -> None:
    def hang_up(_request: SentRequest) -> MemoryResponse:
        raise MemoryTransportError("timeout")

    result = await MemoryTransport(hang_up).request("POST", "http://x.test")
    assert (result.status, result.error, result.error_text) == (None, "timeout", "timeout")


async def test_an_async_handler_is_awaited() -> None:
    async def later(request: SentRequest) -> MemoryResponse:
        return MemoryResponse(201, request.body)

    result = await MemoryTransport(later).request("POST", "http://x.test", body=b"echo")
    assert (result.status, result.body) == (201, b"echo")


def test_both_transports_and_both_clocks_fit_their_ports() -> None:
    transports: list[Transport] = [MemoryTransport(), AiohttpTransport()]
    clocks: list[Clock] = [SystemClock(0.5), ManualClock(START, time_scale=0.5)]
    assert [t.timeout_seconds for t in transports] == [30.0, 30.0]
    assert [c.scaled(10.0) for c in clocks] == [5.0, 5.0]


def test_the_manual_clock_moves_only_when_told() -> None:
    clock = ManualClock(START)
    assert clock.now() == clock.now() == START
    assert clock.advance(1.5) == START + 1.5
    clock.set(10.0)
    assert clock.now() == 10.0
    assert SystemClock().now() > START


# -- the handshake, through the in-memory transport -------------------------------------------------------


async def handshake(transport: MemoryTransport, **properties: object) -> tuple[str, str | None]:
    return await run_handshake(
        transport,
        webhook_spec("sub-a", **properties),
        topic="/topic",
        code="the-code",
        validation_url="https://smsgrid.test/validate?code=the-code",
        now=START,
    )


def replying(body: bytes, status: int = 200) -> MemoryTransport:
    return MemoryTransport(answer(status, body))


async def test_the_validation_event_is_event_grids() -> None:
    transport = replying(b'{"validationResponse": "the-code"}')
    assert await handshake(transport) == (SUCCEEDED, None)
    [request] = transport.requests
    assert request.timeout == HANDSHAKE_TIMEOUT_SECONDS
    assert request.headers["aeg-event-type"] == "SubscriptionValidation"
    assert request.headers["aeg-delivery-count"] == "0"
    assert "Authorization" not in request.headers
    [event] = orjson.loads(request.body)
    assert event["eventType"] == VALIDATION_EVENT_TYPE
    assert event["topic"] == "/topic"
    assert event["data"] == {
        "validationCode": "the-code",
        "validationUrl": "https://smsgrid.test/validate?code=the-code",
    }
    assert event["eventTime"].startswith("2023-11-14T22:13:20")


@pytest.mark.parametrize(
    ("status", "body", "state", "why"),
    [
        (200, b'{"validationResponse": "other"}', FAILED, "does not equal the validationCode"),
        (200, b"not json", AWAITING_MANUAL_ACTION, "Open the validationUrl"),
        (200, b"", AWAITING_MANUAL_ACTION, "Open the validationUrl"),
        (200, b"[1]", AWAITING_MANUAL_ACTION, "Open the validationUrl"),
        (500, b'{"validationResponse": "the-code"}', FAILED, "HTTP 500; expected 200"),
    ],
)
async def test_what_a_validation_answer_means(status: int, body: bytes, state: str, why: str) -> None:
    got_state, reason = await handshake(replying(body, status))
    assert got_state == state
    assert reason is not None
    assert why in reason


async def test_an_unreachable_endpoint_fails_the_handshake() -> None:
    def refuse(_request: SentRequest) -> MemoryResponse:
        raise MemoryTransportError("connect", "connection refused")

    state, reason = await handshake(MemoryTransport(refuse))
    assert state == FAILED
    assert reason == "The endpoint could not be reached (connect: connection refused)."


async def test_the_entra_bearer_is_presented_on_the_handshake_too() -> None:
    transport = replying(b'{"validationResponse": "the-code"}')
    spec = webhook_spec("sub-a")
    await run_handshake(
        transport, spec, topic="/t", code="the-code", validation_url="u", now=START, authorization="Bearer t"
    )
    assert transport.requests[0].headers["Authorization"] == "Bearer t"


@pytest.mark.parametrize(
    ("headers", "state"),
    [
        ({"WebHook-Allowed-Origin": CLOUD_EVENTS_ORIGIN}, SUCCEEDED),
        ({"webhook-allowed-origin": " * "}, SUCCEEDED),
        ({"WebHook-Allowed-Origin": "example.com"}, FAILED),
        ({}, FAILED),
    ],
)
async def test_cloud_events_consent_is_the_allowed_origin_header(headers: dict[str, str], state: str) -> None:
    transport = MemoryTransport(answer(200, headers=headers))
    got, _reason = await handshake(transport, eventDeliverySchema="CloudEventSchemaV1_0")
    assert got == state
    [request] = transport.requests
    assert request.method == "OPTIONS"
    assert request.headers["WebHook-Request-Origin"] == CLOUD_EVENTS_ORIGIN
    assert request.headers["WebHook-Request-Rate"] == "120"


async def test_an_unreachable_cloud_events_endpoint_fails() -> None:
    def refuse(_request: SentRequest) -> MemoryResponse:
        raise MemoryTransportError("socket", "reset")

    state, reason = await handshake(MemoryTransport(refuse), eventDeliverySchema="CloudEventSchemaV1_0")
    assert state == FAILED
    assert reason is not None
    assert "could not be reached" in reason


async def test_queues_and_functions_are_not_handshaken() -> None:
    spec = parse_subscription_spec(
        "sub-q",
        {"destination": {"endpointType": "StorageQueue", "properties": {"resourceId": STORAGE_ID, "queueName": "q-1"}}},
    )
    transport = MemoryTransport()
    assert await run_handshake(transport, spec, topic="/t", code="c", validation_url="u", now=START) == (
        SUCCEEDED,
        None,
    )
    assert transport.requests == []


# -- the aiohttp adapter, without the network -------------------------------------------------------------


def test_tls_context_verifies_by_default_and_can_be_told_not_to(tmp_path: Path) -> None:
    strict = tls_context()
    assert (strict.verify_mode, strict.check_hostname) == (ssl.CERT_REQUIRED, True)
    loose = tls_context(verify=False)
    assert (loose.verify_mode, loose.check_hostname) == (ssl.CERT_NONE, False)
    with pytest.raises((FileNotFoundError, ssl.SSLError)):
        tls_context(ca_file=tmp_path / "missing.pem")


async def test_the_aiohttp_transport_needs_start_and_starts_once(caplog: pytest.LogCaptureFixture) -> None:
    transport = AiohttpTransport(timeout_seconds=3.0, verify_tls=False)
    with pytest.raises(RuntimeError, match=r"AiohttpTransport.start\(\) was not awaited"):
        _ = transport.session
    with caplog.at_level(logging.WARNING, logger="smsgrid.delivery"):
        await transport.start()
        session = transport.session
        await transport.start()
    assert transport.session is session
    assert "verify_tls = false" in caplog.text
    await transport.close()
    await transport.close()
    with pytest.raises(RuntimeError):
        _ = transport.session


async def test_a_url_aiohttp_refuses_is_a_failed_attempt_not_an_exception() -> None:
    transport = AiohttpTransport()
    await transport.start()
    try:
        result = await transport.request("POST", "http://[not-a-host/")
    finally:
        await transport.close()
    assert (result.status, result.error) == (None, "socket")
    assert result.error_text
