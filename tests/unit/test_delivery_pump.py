"""One pump alone (delivery/pump.py): a real SQLite store on a tmp file, the in-memory transport, a manual clock.

Each test drives `run_once()` (one claim → send → acknowledge cycle) and moves the clock by hand, so the retry
schedule, the TTL and probation play out without waiting.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import anyio
import orjson
import pytest

from smsgrid.delivery.outcomes import DeadLetterReason, classify
from smsgrid.delivery.pump import PROBE_ORDER_SECONDS
from smsgrid.delivery.retry import (
    JITTER_FRACTION,
    PROBATION_AFTER_FAILURES,
    PROBATION_BASE_SECONDS,
    scheduled_delay_seconds,
)
from smsgrid.delivery.subscription_spec import SubscriptionSpec
from smsgrid.delivery.transport_memory import (
    MemoryResponse,
    MemoryTransport,
    MemoryTransportError,
    SentRequest,
    answer,
)
from smsgrid.errors import StoreUnavailableError
from smsgrid.store.records import ClaimedDelivery, DeliveryResult
from tests.unit.delivery_support import SIGNING_SECRET, START, Bench, open_bench, webhook_spec

pytestmark = pytest.mark.anyio

DEAD_LETTERS = {"endpointType": "StorageBlob", "properties": {"blobContainerName": "dead"}}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def bench(tmp_path: Path) -> AsyncIterator[Bench]:
    opened = open_bench(tmp_path)
    yield opened
    await opened.store.close()


def statuses(*codes: int) -> MemoryTransport:
    """Answers each request with the next of *codes*, then keeps answering with the last."""
    remaining = list(codes)

    def handler(_request: SentRequest) -> MemoryResponse:
        return MemoryResponse(remaining.pop(0) if len(remaining) > 1 else remaining[0])

    return MemoryTransport(handler)


def dead_letter_files(bench: Bench) -> list[dict[str, object]]:
    documents: list[dict[str, object]] = []
    for path in sorted(bench.deadletter_root.rglob("*.json")):
        documents += orjson.loads(path.read_bytes())
    return documents


async def test_a_batch_is_sent_in_one_request_and_acknowledged(bench: Bench) -> None:
    spec = webhook_spec("sub-a", destination_maxEventsPerBatch=10)
    events = await bench.publish("sub-a", count=3)
    pump = bench.pump(spec)

    assert await pump.run_once() == 3

    [request] = bench.transport.requests
    assert request.method == "POST"
    assert request.url == "https://hooks.test/events"
    assert [item["id"] for item in request.json()] == [e.event_id for e in events]
    assert request.headers["Content-Type"].startswith("application/json")
    assert request.headers["aeg-event-type"] == "Notification"
    assert request.headers["aeg-subscription-name"] == "SUB-A"
    assert request.headers["aeg-delivery-count"] == "1"
    assert await bench.next_due("sub-a") is None
    assert bench.sample("smsgrid_events_delivered_total", {"subscription": "sub-a"}) == 3
    attempt = await bench.last_attempt(1)
    assert attempt is not None
    assert (attempt.attempt, attempt.status, attempt.outcome) == (1, 200, "Succeeded")
    # Acknowledged: nothing is claimed again, however late.
    bench.clock.advance(86_400)
    assert await pump.run_once() == 0
    assert len(bench.transport.requests) == 1


async def test_one_event_per_request_by_default(bench: Bench) -> None:
    await bench.publish("sub-a", count=3)
    assert await bench.pump(webhook_spec("sub-a")).run_once() == 3
    assert [len(r.json()) for r in bench.transport.requests] == [1, 1, 1]


async def test_a_batch_is_cut_at_the_preferred_size(bench: Bench) -> None:
    spec = webhook_spec("sub-a", destination_maxEventsPerBatch=10, destination_preferredBatchSizeInKilobytes=1)
    await bench.publish("sub-a", count=4, size=400)
    assert await bench.pump(spec).run_once() == 4
    sizes = [len(r.json()) for r in bench.transport.requests]
    assert sum(sizes) == 4
    assert len(sizes) > 1
    assert all(len(r.body) <= 1024 or len(r.json()) == 1 for r in bench.transport.requests)


async def test_an_event_for_another_subscription_is_not_claimed(bench: Bench) -> None:
    await bench.publish("sub-b")
    assert await bench.pump(webhook_spec("sub-a")).run_once() == 0
    assert bench.transport.requests == []


async def test_a_500_is_retried_on_the_schedule_then_delivered(tmp_path: Path) -> None:
    bench = open_bench(tmp_path, statuses(500, 200))
    pump = bench.pump(webhook_spec("sub-a"))
    await bench.publish("sub-a")

    assert await pump.run_once() == 1
    due = await bench.next_due("sub-a")
    first_delay = scheduled_delay_seconds(1)
    assert due is not None
    # Event Grid's schedule, give or take its jitter.
    assert START + first_delay * (1 - JITTER_FRACTION) <= due <= START + first_delay * (1 + JITTER_FRACTION)
    first = await bench.last_attempt(1)
    assert first is not None
    assert (first.status, first.outcome) == (500, str(classify(500, None)))

    # Not before it is due.
    bench.clock.set(due - 0.01)
    assert await pump.run_once() == 0
    assert len(bench.transport.requests) == 1

    bench.clock.set(due)
    assert await pump.run_once() == 1
    second = bench.transport.requests[1]
    assert second.headers["aeg-delivery-count"] == "2"
    assert second.body == bench.transport.requests[0].body
    assert await bench.next_due("sub-a") is None
    assert bench.sample("smsgrid_events_delivered_total", {"subscription": "sub-a"}) == 1
    await bench.store.close()


async def test_a_network_failure_is_an_attempt_retried_like_a_500(tmp_path: Path) -> None:
    def refuse(_request: SentRequest) -> MemoryResponse:
        raise MemoryTransportError("connect", "connection refused")

    bench = open_bench(tmp_path, MemoryTransport(refuse))
    await bench.publish("sub-a")
    assert await bench.pump(webhook_spec("sub-a")).run_once() == 1
    attempt = await bench.last_attempt(1)
    assert attempt is not None
    assert (attempt.status, attempt.error) == (None, "connection refused")
    assert await bench.next_due("sub-a") is not None
    await bench.store.close()


async def test_after_max_attempts_the_event_is_dead_lettered_with_its_last_attempt(tmp_path: Path) -> None:
    bench = open_bench(tmp_path, statuses(500))
    spec = webhook_spec(
        "sub-a",
        retryPolicy={"maxDeliveryAttempts": 2, "eventTimeToLiveInMinutes": 1440},
        deadLetterDestination=DEAD_LETTERS,
    )
    pump = bench.pump(spec)
    [event] = await bench.publish("sub-a")

    assert await pump.run_once() == 1
    due = await bench.next_due("sub-a")
    assert due is not None
    bench.clock.set(due)
    assert await pump.run_once() == 1

    assert await bench.next_due("sub-a") is None
    assert (
        bench.sample(
            "smsgrid_events_dead_lettered_total", {"subscription": "sub-a", "reason": "MaxDeliveryAttemptsExceeded"}
        )
        == 1
    )
    [document] = dead_letter_files(bench)
    assert document["id"] == event.event_id
    assert document["deadLetterReason"] == "MaxDeliveryAttemptsExceeded"
    assert document["deliveryAttempts"] == 2
    assert document["lastHttpStatusCode"] == 500
    # Event Grid's blob path: {container}/{SUBSCRIPTION}/…
    assert all(
        p.relative_to(bench.deadletter_root).parts[:2] == ("dead", "SUB-A")
        for p in bench.deadletter_root.rglob("*.json")
    )
    await bench.store.close()


async def test_a_400_is_dead_lettered_at_once(tmp_path: Path) -> None:
    bench = open_bench(tmp_path, statuses(400))
    await bench.publish("sub-a")
    assert await bench.pump(webhook_spec("sub-a")).run_once() == 1
    assert await bench.next_due("sub-a") is None
    assert (
        bench.sample(
            "smsgrid_events_dead_lettered_total",
            {"subscription": "sub-a", "reason": str(DeadLetterReason.HTTP_BAD_REQUEST)},
        )
        == 1
    )
    assert dead_letter_files(bench) == []  # no dead-letter destination: recorded in the store only
    await bench.store.close()


async def test_an_event_past_its_time_to_live_is_dead_lettered_without_another_attempt(tmp_path: Path) -> None:
    bench = open_bench(tmp_path, statuses(500))
    spec = webhook_spec(
        "sub-a",
        retryPolicy={"maxDeliveryAttempts": 30, "eventTimeToLiveInMinutes": 1},
        deadLetterDestination=DEAD_LETTERS,
    )
    pump = bench.pump(spec)
    await bench.publish("sub-a")
    assert await pump.run_once() == 1

    bench.clock.set(START + 60.0)  # the TTL period is half-open: at exactly one minute it is too late
    assert await pump.run_once() == 1

    assert len(bench.transport.requests) == 1
    assert (
        bench.sample("smsgrid_events_dead_lettered_total", {"subscription": "sub-a", "reason": "TimeToLiveExceeded"})
        == 1
    )
    [document] = dead_letter_files(bench)
    # The file reports the attempt that was made before (read back from the store).
    assert (document["deliveryAttempts"], document["lastHttpStatusCode"]) == (1, 500)
    await bench.store.close()


async def test_after_ten_failures_in_a_row_the_endpoint_is_on_probation(tmp_path: Path) -> None:
    bench = open_bench(tmp_path, statuses(500))
    pump = bench.pump(webhook_spec("sub-a"))
    await bench.publish("sub-a", count=PROBATION_AFTER_FAILURES + 2)

    assert await pump.run_once() == PROBATION_AFTER_FAILURES + 2

    # The two batches after the tenth failure were handed back untouched, due just before probation ends.
    assert len(bench.transport.requests) == PROBATION_AFTER_FAILURES
    probation_until = START + PROBATION_BASE_SECONDS
    assert pump.health.probation_until == probation_until
    assert bench.sample("smsgrid_subscription_on_probation", {"subscription": "sub-a"}) == 1
    assert await bench.next_due("sub-a") == pytest.approx(probation_until - PROBE_ORDER_SECONDS)
    assert await bench.last_attempt(PROBATION_AFTER_FAILURES + 1) is None

    # Nothing is sent while on probation, even when work is due.
    bench.clock.set(probation_until - PROBE_ORDER_SECONDS)
    assert await pump.run_once() == 0
    assert len(bench.transport.requests) == PROBATION_AFTER_FAILURES

    # The probe after probation: a success ends it.
    bench.transport.handler = answer(200)
    bench.clock.set(probation_until)
    assert await pump.run_once() >= 2
    assert pump.health.consecutive_failures == 0
    assert bench.sample("smsgrid_subscription_on_probation", {"subscription": "sub-a"}) == 0
    await bench.store.close()


async def test_an_entra_protected_webhook_gets_the_bearer_on_every_request(bench: Bench) -> None:
    asked: list[str] = []

    async def authorization(spec: SubscriptionSpec) -> str | None:
        asked.append(spec.name)
        return "Bearer token-for-sub-a"

    await bench.publish("sub-a", count=2)
    assert await bench.pump(webhook_spec("sub-a"), authorization=authorization).run_once() == 2
    assert [r.headers["Authorization"] for r in bench.transport.requests] == ["Bearer token-for-sub-a"] * 2
    assert asked == ["sub-a", "sub-a"]


async def test_no_authorization_header_without_entra(bench: Bench) -> None:
    await bench.publish("sub-a")
    await bench.pump(webhook_spec("sub-a")).run_once()
    assert "Authorization" not in bench.transport.requests[0].headers


async def test_standard_webhooks_headers_sign_the_body(bench: Bench) -> None:
    spec = webhook_spec("sub-a", standardWebhooks={"secret": SIGNING_SECRET}, destination_maxEventsPerBatch=5)
    await bench.publish("sub-a", count=2)
    await bench.pump(spec).run_once()

    [request] = bench.transport.requests
    message_id, timestamp = request.headers["webhook-id"], request.headers["webhook-timestamp"]
    assert message_id.startswith("msg_")
    assert timestamp == str(int(START))
    key = base64.b64decode(SIGNING_SECRET.removeprefix("whsec_"))
    expected = hmac.new(key, f"{message_id}.{timestamp}.".encode() + request.body, hashlib.sha256).digest()
    assert request.headers["webhook-signature"] == "v1," + base64.b64encode(expected).decode()


async def test_cloud_events_deliveries_carry_the_origin(bench: Bench) -> None:
    spec = webhook_spec("sub-a", eventDeliverySchema="CloudEventSchemaV1_0")
    [event] = await bench.publish("sub-a")
    await bench.pump(spec).run_once()
    [request] = bench.transport.requests
    assert request.headers["Content-Type"].startswith("application/cloudevents+json")
    assert request.headers["WebHook-Request-Origin"] == "eventgrid.azure.net"
    assert request.json()["id"] == event.event_id


async def test_a_started_pump_delivers_in_the_background(bench: Bench) -> None:
    committed = anyio.Event()
    finish = bench.store.finish_deliveries

    async def finish_and_tell(results: Sequence[DeliveryResult], now: float) -> None:
        await finish(results, now)
        committed.set()

    setattr(bench.store, "finish_deliveries", finish_and_tell)  # noqa: B010 - observe the acknowledger's commit
    bench.transport.handler = answer(204)
    await bench.publish("sub-a")
    pump = bench.pump(webhook_spec("sub-a"), concurrency=2)
    pump.start()
    pump.start()  # idempotent: still one set of stages
    with anyio.fail_after(10):
        await committed.wait()
    await pump.stop()
    assert len(bench.transport.requests) == 1
    assert await bench.next_due("sub-a") is None


async def test_delivery_attributes_become_headers(bench: Bench) -> None:
    spec = webhook_spec(
        "sub-a",
        destination_deliveryAttributeMappings=[
            {"name": "X-Tenant", "type": "Static", "properties": {"value": "contoso", "isSecret": False}},
            {"name": "X-Number", "type": "Dynamic", "properties": {"sourceField": "data.n"}},
            {"name": "X-Missing", "type": "Dynamic", "properties": {"sourceField": "data.nothing"}},
        ],
    )
    [event] = await bench.publish("sub-a")
    await bench.pump(spec).run_once()
    [request] = bench.transport.requests
    assert request.headers["X-Tenant"] == "contoso"
    assert request.headers["X-Number"] == str(orjson.loads(event.item)["data"]["n"])
    assert "X-Missing" not in request.headers


async def test_a_cloud_events_batch_is_an_array(bench: Bench) -> None:
    spec = webhook_spec("sub-a", eventDeliverySchema="CloudEventSchemaV1_0", destination_maxEventsPerBatch=5)
    events = await bench.publish("sub-a", count=2)
    await bench.pump(spec).run_once()
    [request] = bench.transport.requests
    assert request.headers["Content-Type"].startswith("application/cloudevents-batch+json")
    assert [e["id"] for e in request.json()] == [e.event_id for e in events]
    assert all(e["specversion"] == "1.0" for e in request.json())


async def test_a_cloud_events_dead_letter_has_lower_case_fields(tmp_path: Path) -> None:
    bench = open_bench(tmp_path, statuses(403))
    spec = webhook_spec("sub-a", eventDeliverySchema="CloudEventSchemaV1_0", deadLetterDestination=DEAD_LETTERS)
    await bench.publish("sub-a")
    await bench.pump(spec).run_once()
    [document] = dead_letter_files(bench)
    assert document["specversion"] == "1.0"
    assert document["deadletterreason"] == DeadLetterReason.HTTP_FORBIDDEN
    assert document["deliveryattempts"] == 1
    await bench.store.close()


async def test_an_unexpected_failure_while_sending_is_logged_and_the_pump_goes_on(
    bench: Bench, caplog: pytest.LogCaptureFixture
) -> None:
    failed = anyio.Event()

    def handler(_request: SentRequest) -> MemoryResponse:
        failed.set()
        raise RuntimeError("a bug")

    bench.transport.handler = handler
    await bench.publish("sub-a")
    pump = bench.pump(webhook_spec("sub-a"))
    pump.start()
    with anyio.fail_after(10):
        await failed.wait()
    await pump.stop()
    assert "sending to sub-a failed unexpectedly" in caplog.text
    # Not recorded: the batch keeps its lease and is sent again when the lease runs out.
    assert await bench.last_attempt(1) is None
    assert await bench.next_due("sub-a") is not None


@pytest.mark.parametrize(
    ("error", "logged"),
    [
        (StoreUnavailableError("disk full"), "disk full"),
        (RuntimeError("a bug"), "claiming deliveries for sub-a failed"),
    ],
)
async def test_a_failed_claim_is_logged_and_tried_again(
    bench: Bench, caplog: pytest.LogCaptureFixture, error: Exception, logged: str
) -> None:
    tried = anyio.Event()

    async def refuse(*_args: object) -> list[ClaimedDelivery]:
        tried.set()
        raise error

    setattr(bench.store, "claim_deliveries", refuse)  # noqa: B010 - play a store that fails
    pump = bench.pump(webhook_spec("sub-a"))
    pump.start()
    with anyio.fail_after(10):
        await tried.wait()
    await pump.stop()
    assert logged in caplog.text


@pytest.mark.parametrize(
    ("error", "logged"),
    [
        (StoreUnavailableError("disk full"), "disk full"),
        (RuntimeError("a bug"), "recording 1 delivery results for sub-a failed"),
    ],
)
async def test_a_failed_acknowledgement_is_logged(
    bench: Bench, caplog: pytest.LogCaptureFixture, error: Exception, logged: str
) -> None:
    tried = anyio.Event()

    async def refuse(*_args: object) -> None:
        tried.set()
        raise error

    setattr(bench.store, "finish_deliveries", refuse)  # noqa: B010 - play a store that fails
    await bench.publish("sub-a")
    pump = bench.pump(webhook_spec("sub-a"))
    pump.start()
    with anyio.fail_after(10):
        await tried.wait()
    await pump.stop()
    assert logged in caplog.text
    assert len(bench.transport.requests) == 1
