"""A pump delivering to a Storage queue or an Azure Function, and writing dead letters as blobs, all through the
in-memory transport: what each request looks like, and what happens when the resource refuses."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest

from smsgrid.delivery.destinations.storage import shared_key_signature
from smsgrid.delivery.outcomes import DeadLetterReason
from smsgrid.delivery.subscription_spec import SubscriptionSpec, parse_subscription_spec
from smsgrid.delivery.transport_memory import MemoryResponse, SentRequest, answer
from tests.unit.delivery_support import (
    FUNCTION_APP,
    FUNCTION_ID,
    STORAGE_ACCOUNT,
    STORAGE_ID,
    Bench,
    open_bench,
    webhook_spec,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def bench(tmp_path: Path) -> AsyncIterator[Bench]:
    opened = open_bench(tmp_path)
    yield opened
    await opened.store.close()


QUEUE_SPEC = parse_subscription_spec(
    "to-queue",
    {
        "destination": {
            "endpointType": "StorageQueue",
            "properties": {"resourceId": STORAGE_ID, "queueName": "sms-events", "queueMessageTimeToLiveInSeconds": -1},
        }
    },
)
FUNCTION_SPEC = parse_subscription_spec(
    "to-function",
    {"destination": {"endpointType": "AzureFunction", "properties": {"resourceId": FUNCTION_ID}}},
)
ACCOUNTS = {STORAGE_ACCOUNT.name: STORAGE_ACCOUNT}
APPS = {FUNCTION_APP.name: FUNCTION_APP}


def signed_correctly(request: SentRequest) -> bool:
    unsigned = {k: v for k, v in request.headers.items() if k != "Authorization"}
    expected = shared_key_signature(STORAGE_ACCOUNT.name, STORAGE_ACCOUNT.key, request.method, request.url, unsigned)
    return request.headers["Authorization"] == expected


async def test_a_storage_queue_gets_one_signed_base64_message_per_event(bench: Bench) -> None:
    bench.transport.handler = answer(201)
    [event] = await bench.publish("to-queue")
    assert await bench.pump(QUEUE_SPEC, storage_accounts=ACCOUNTS).run_once() == 1

    [request] = bench.transport.requests
    assert request.method == "POST"
    assert request.url == "http://storage.test/devstoreaccount1/sms-events/messages?messagettl=-1"
    assert signed_correctly(request)
    text = request.body.decode().split("<MessageText>")[1].split("</MessageText>")[0]
    assert orjson.loads(base64.b64decode(text))["id"] == event.event_id
    assert await bench.next_due("to-queue") is None


async def test_a_queue_whose_account_is_not_configured_is_retried_without_a_request(bench: Bench) -> None:
    await bench.publish("to-queue")
    assert await bench.pump(QUEUE_SPEC).run_once() == 1
    assert bench.transport.requests == []
    attempt = await bench.last_attempt(1)
    assert attempt is not None
    assert "storage account 'devstoreaccount1' is not in [storage_accounts]" in (attempt.error or "")
    assert await bench.next_due("to-queue") is not None


async def test_a_queue_refusal_is_retried_even_a_401(bench: Bench) -> None:
    # Azure-resource destinations retry 401 (delivery-and-retry): only webhooks dead-letter it at once.
    bench.transport.handler = answer(401, b"<Error><Code>AuthenticationFailed</Code></Error>")
    await bench.publish("to-queue")
    await bench.pump(QUEUE_SPEC, storage_accounts=ACCOUNTS).run_once()
    assert await bench.next_due("to-queue") is not None


async def test_a_function_gets_the_trigger_url_the_host_key_and_aeg_headers(bench: Bench) -> None:
    [event] = await bench.publish("to-function")
    assert await bench.pump(FUNCTION_SPEC, function_apps=APPS).run_once() == 1

    [request] = bench.transport.requests
    assert request.url == "http://functions.test/runtime/webhooks/eventgrid?functionName=OnSms"
    assert request.headers["x-functions-key"] == "host-key"
    assert request.headers["aeg-event-type"] == "Notification"
    assert request.headers["aeg-delivery-count"] == "1"
    assert [item["id"] for item in request.json()] == [event.event_id]


async def test_a_function_app_that_is_not_configured_is_retried_without_a_request(bench: Bench) -> None:
    await bench.publish("to-function")
    await bench.pump(FUNCTION_SPEC).run_once()
    assert bench.transport.requests == []
    attempt = await bench.last_attempt(1)
    assert attempt is not None
    assert "function app 'sms-app' is not in [function_apps]" in (attempt.error or "")


def blob_dead_letter_spec() -> SubscriptionSpec:
    return webhook_spec(
        "sub-a",
        deadLetterDestination={
            "endpointType": "StorageBlob",
            "properties": {"resourceId": STORAGE_ID, "blobContainerName": "dead"},
        },
    )


async def test_a_dead_letter_goes_to_the_configured_blob_container(bench: Bench) -> None:
    def handler(request: SentRequest) -> MemoryResponse:
        return MemoryResponse(201 if request.method == "PUT" else 400)

    bench.transport.handler = handler
    [event] = await bench.publish("sub-a")
    await bench.pump(blob_dead_letter_spec(), storage_accounts=ACCOUNTS).run_once()

    put = [r for r in bench.transport.requests if r.method == "PUT"]
    assert len(put) == 1
    assert put[0].url.startswith("http://blobs.test/devstoreaccount1/dead/SUB-A/")
    assert put[0].headers["x-ms-blob-type"] == "BlockBlob"
    assert signed_correctly(put[0])
    [document] = put[0].json()
    assert document["id"] == event.event_id
    assert document["deadLetterReason"] == DeadLetterReason.HTTP_BAD_REQUEST
    assert list(bench.deadletter_root.rglob("*.json")) == []


async def test_a_dead_letter_the_blob_service_refuses_is_written_under_the_data_dir(bench: Bench) -> None:
    def handler(request: SentRequest) -> MemoryResponse:
        return MemoryResponse(403 if request.method == "PUT" else 400, b"<Error>no</Error>")

    bench.transport.handler = handler
    [event] = await bench.publish("sub-a")
    await bench.pump(blob_dead_letter_spec(), storage_accounts=ACCOUNTS).run_once()

    [path] = bench.deadletter_root.rglob("*.json")
    assert path.relative_to(bench.deadletter_root).parts[:2] == ("dead", "SUB-A")
    assert orjson.loads(path.read_bytes())[0]["id"] == event.event_id
