"""StorageQueue and AzureFunction destinations and StorageBlob dead letters (issue 15 item 3), end to end.

A real smsgrid delivers into Azurite (Microsoft's Storage emulator, started by `tests/azurite_support.py`); the
tests read it back with the official `azure-storage-queue` / `azure-storage-blob` clients and parse what they
find with `EventGridEvent.from_dict` / `CloudEvent.from_dict`. No Functions host runs here: a plain HTTP
receiver stands in for one at its Event Grid trigger path, `/runtime/webhooks/eventgrid?functionName=…`.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from azure.core.messaging import CloudEvent
from azure.eventgrid import EventGridEvent, SystemEventNames
from azure.storage.blob import BlobServiceClient
from azure.storage.queue import QueueClient

from smsgrid.testing import SmsgridProcess, WebhookSink, start_smsgrid
from smsgrid.testing.plugin import inbound
from tests.azurite_support import ACCOUNT, Azurite, azurite  # noqa: F401  (the fixture)

OWNED = "+18005550100"
RECEIVED = SystemEventNames.AcsSmsReceivedEventName
STORAGE_ID = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/local/providers/"
    f"Microsoft.Storage/storageAccounts/{ACCOUNT}"
)
FUNCTION_APP = "sms-app"
FUNCTION_KEY = "function-host-key-not-to-be-shown"
FUNCTION_ID = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/local/providers/Microsoft.Web/sites/"
    f"{FUNCTION_APP}/functions/OnSms"
)
# Event Grid's dead-letter blob name below the container (delivery-and-retry, "Dead-letter events").
DEAD_LETTER_NAME = re.compile(r"[A-Z0-9-]+/\d{4}/\d{1,2}/\d{1,2}/\d{1,2}/[0-9a-f-]{36}\.json")

WRONG_KEY = base64.b64encode(b"not the key of any account at all").decode()
T = TypeVar("T")


def eventually(probe: Callable[[], T | None], timeout: float = 20.0) -> T:
    """The first truthy answer of *probe*, polled until *timeout* (a wait, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing arrived within {timeout} s")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def function_host() -> Iterator[WebhookSink]:
    """Stands in for a Functions host: records every request and answers 200."""
    with WebhookSink() as sink:
        yield sink


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory,
    azurite: Azurite,  # noqa: F811
    function_host: WebhookSink,
) -> Iterator[SmsgridProcess]:
    host = function_host.url.removesuffix("/events")
    config = (
        "[carrier]\ndelay_ms = 0\n\n"
        + azurite.toml()
        + f'\n[function_apps.{FUNCTION_APP}]\nendpoint = "{host}"\nkey = "{FUNCTION_KEY}"\n'
        # Azurite's queue under an account name and key it does not know: every Put Message is refused (403).
        + f'\n[storage_accounts.wrongkey]\nqueue_endpoint = "{azurite.queue_endpoint}"\nkey = "{WRONG_KEY}"\n'
        # The same destination in the TOML, as Azure's ARM body (SPEC §4 [subscriptions.NAME]).
        + "\n[subscriptions.from-config.destination]\n"
        + 'endpointType = "StorageQueue"\n'
        + f'properties = {{ resourceId = "{STORAGE_ID}", queueName = "from-config" }}\n'
        + "[subscriptions.from-config.filter]\n"
        + 'advancedFilters = [{ operatorType = "StringBeginsWith", key = "data.message", values = ["from config"] }]\n'
    )
    with start_smsgrid(tmp_path_factory.mktemp("destinations"), config=config, time_scale=0.001) as process:
        yield process


def put_subscription(server: SmsgridProcess, name: str, properties: dict[str, Any]) -> dict[str, Any]:
    with server.admin() as admin:
        response = admin.put(f"/admin/subscriptions/{name}", json={"properties": properties})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def queue_destination(queue: str, **extra: Any) -> dict[str, Any]:
    return {"endpointType": "StorageQueue", "properties": {"resourceId": STORAGE_ID, "queueName": queue, **extra}}


def new_queue(azurite: Azurite, name: str) -> Any:  # noqa: F811
    client = QueueClient.from_connection_string(azurite.connection_string, name)
    client.create_queue()
    return client


def received_messages(client: Any, expected: int) -> list[Any]:
    def probe() -> list[Any] | None:
        messages = client.peek_messages(max_messages=32)
        return messages if len(messages) >= expected else None

    return eventually(probe)


def test_storage_queue_gets_one_base64_event_grid_message_per_event(
    server: SmsgridProcess,
    azurite: Azurite,  # noqa: F811
) -> None:
    queue = new_queue(azurite, "sms-eventgrid")
    answer = put_subscription(
        server,
        "to-queue",
        {
            "destination": queue_destination("sms-eventgrid", queueMessageTimeToLiveInSeconds=3600),
            "filter": {"includedEventTypes": [RECEIVED]},
        },
    )
    # No handshake for a queue: the subscription is usable at once, and it reads back in Azure's shape.
    assert answer["properties"]["provisioningState"] == "Succeeded"
    assert answer["properties"]["destination"] == queue_destination(
        "sms-eventgrid", queueMessageTimeToLiveInSeconds=3600
    )
    ids = [inbound(server, f"+1425555{n:04d}", OWNED, f"queue message {n}") for n in range(3)]

    messages = received_messages(queue, 3)
    events = [EventGridEvent.from_dict(json.loads(base64.b64decode(m.content))) for m in messages]
    assert sorted(e.data["messageId"] for e in events) == sorted(ids)
    assert {e.event_type for e in events} == {RECEIVED}
    assert {e.data["message"] for e in events} == {f"queue message {n}" for n in range(3)}
    # queueMessageTimeToLiveInSeconds becomes each message's time to live.
    assert {(m.expires_on - m.inserted_on).total_seconds() for m in messages} == {3600.0}


def test_storage_queue_in_cloud_events_schema(server: SmsgridProcess, azurite: Azurite) -> None:  # noqa: F811
    queue = new_queue(azurite, "sms-cloudevents")
    put_subscription(
        server,
        "to-queue-ce",
        {
            "destination": queue_destination("sms-cloudevents"),
            "eventDeliverySchema": "CloudEventSchemaV1_0",
            "filter": {"includedEventTypes": [RECEIVED]},
        },
    )
    message_id = inbound(server, "+14255559001", OWNED, "as a cloud event")

    (message,) = received_messages(queue, 1)
    event: CloudEvent[Any] = CloudEvent.from_dict(json.loads(base64.b64decode(message.content)))
    assert event.type == RECEIVED
    assert isinstance(event.data, dict)
    assert event.data["messageId"] == message_id
    assert event.data["message"] == "as a cloud event"


def test_azure_function_gets_notifications_at_its_event_grid_trigger_url_without_a_handshake(
    server: SmsgridProcess, function_host: WebhookSink
) -> None:
    answer = put_subscription(
        server,
        "to-function",
        {
            "destination": {"endpointType": "AzureFunction", "properties": {"resourceId": FUNCTION_ID}},
            "filter": {"includedEventTypes": [RECEIVED]},
        },
    )
    assert answer["properties"]["provisioningState"] == "Succeeded"
    assert answer["properties"]["destination"]["properties"]["resourceId"] == FUNCTION_ID
    message_id = inbound(server, "+14255559002", OWNED, "to the function")

    function_host.wait_for(lambda sink: any(message_id.encode() in r.body for r in sink.notifications()))
    (request,) = [r for r in function_host.notifications() if message_id.encode() in r.body]
    url = urlsplit(request.path)
    assert url.path == "/runtime/webhooks/eventgrid"
    assert parse_qs(url.query) == {"functionName": ["OnSms"]}
    assert request.headers["aeg-event-type"] == "Notification"
    assert request.headers["aeg-subscription-name"] == "TO-FUNCTION"
    assert request.headers["x-functions-key"] == FUNCTION_KEY
    (event,) = [EventGridEvent.from_dict(item) for item in request.json()]
    assert isinstance(event.data, dict)
    assert event.data["message"] == "to the function"
    assert function_host.validations() == []
    assert [r for r in function_host.requests if r.method == "OPTIONS"] == []


def subscribe_refusing(server: SmsgridProcess, name: str, url: str, container: str) -> None:
    """A webhook that refuses every SMSReceived (400: dead-lettered at once) into `container` of the account."""
    put_subscription(
        server,
        name,
        {
            "destination": {"endpointType": "WebHook", "properties": {"endpointUrl": url}},
            "filter": {"includedEventTypes": [RECEIVED]},
            "deadLetterDestination": {
                "endpointType": "StorageBlob",
                "properties": {"resourceId": STORAGE_ID, "blobContainerName": container},
            },
        },
    )


def test_dead_letters_are_blobs_in_the_storage_account(server: SmsgridProcess, azurite: Azurite) -> None:  # noqa: F811
    blobs = BlobServiceClient.from_connection_string(azurite.connection_string)
    container = blobs.create_container("deadletters")
    with WebhookSink(responder=lambda _request: 400) as refusing:
        subscribe_refusing(server, "refuses-all", refusing.url, "deadletters")
        message_id = inbound(server, "+14255559003", OWNED, "nobody wants this")
        (blob,) = eventually(lambda: list(container.list_blobs(name_starts_with="REFUSES-ALL/")))

    assert DEAD_LETTER_NAME.fullmatch(blob.name), blob.name
    (document,) = json.loads(container.download_blob(blob.name).readall())
    assert document["deadLetterReason"] == "UndeliverableDueToHttpBadRequest"
    assert document["lastHttpStatusCode"] == 400
    assert document["lastDeliveryOutcome"] == "BadRequest"
    event = EventGridEvent.from_dict({k: v for k, v in document.items() if k in EVENT_GRID_FIELDS})
    assert event.data["messageId"] == message_id
    # In the account, not in the data dir.
    assert not (server.data_dir / "deadletters" / "deadletters" / "REFUSES-ALL").exists()


EVENT_GRID_FIELDS = {"id", "topic", "subject", "eventType", "eventTime", "data", "dataVersion", "metadataVersion"}


def test_dead_letters_fall_back_to_files_when_the_container_is_missing(server: SmsgridProcess) -> None:
    with WebhookSink(responder=lambda _request: 400) as refusing:
        subscribe_refusing(server, "refuses-no-container", refusing.url, "no-such-container")
        message_id = inbound(server, "+14255559004", OWNED, "kept on disk")
        root = server.data_dir / "deadletters" / "no-such-container" / "REFUSES-NO-CONTAINER"
        (path,) = eventually(lambda: list(root.rglob("*.json")))
    (document,) = json.loads(path.read_text(encoding="utf-8"))
    assert document["data"]["messageId"] == message_id


def test_keys_are_never_shown_back(server: SmsgridProcess) -> None:
    from tests.azurite_support import KEY

    with server.admin() as admin:
        listing = admin.get("/admin/subscriptions").text
    for secret in (KEY, FUNCTION_KEY):
        assert secret not in listing
        assert secret not in server.log()


def test_a_destination_naming_an_unconfigured_account_or_app_is_refused(server: SmsgridProcess) -> None:
    elsewhere = STORAGE_ID.replace(ACCOUNT, "nosuchaccount")
    for destination, section in (
        (
            {"endpointType": "StorageQueue", "properties": {"resourceId": elsewhere, "queueName": "q-1"}},
            "[storage_accounts.nosuchaccount]",
        ),
        (
            {"endpointType": "AzureFunction", "properties": {"resourceId": FUNCTION_ID.replace(FUNCTION_APP, "other")}},
            "[function_apps.other]",
        ),
    ):
        with server.admin() as admin:
            response = admin.put("/admin/subscriptions/not-configured", json={"destination": destination})
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["code"] == "InvalidRequest"
        assert section in error["message"]


def test_a_queue_that_refuses_the_credentials_dead_letters_the_event(server: SmsgridProcess, azurite: Azurite) -> None:  # noqa: F811
    blobs = BlobServiceClient.from_connection_string(azurite.connection_string)
    container = blobs.create_container("queue-deadletters")
    put_subscription(
        server,
        "wrong-credentials",
        {
            "destination": {
                "endpointType": "StorageQueue",
                "properties": {"resourceId": STORAGE_ID.replace(ACCOUNT, "wrongkey"), "queueName": "anything"},
            },
            "filter": {"includedEventTypes": [RECEIVED]},
            "deadLetterDestination": {
                "endpointType": "StorageBlob",
                "properties": {"resourceId": STORAGE_ID, "blobContainerName": "queue-deadletters"},
            },
        },
    )
    message_id = inbound(server, "+14255559005", OWNED, "refused by storage")
    (blob,) = eventually(lambda: list(container.list_blobs(name_starts_with="WRONG-CREDENTIALS/")))
    (document,) = json.loads(container.download_blob(blob.name).readall())
    assert document["data"]["messageId"] == message_id
    assert document["lastHttpStatusCode"] == 403
    assert document["deadLetterReason"] == "UndeliverableDueToHttpForbidden"


def test_a_storage_queue_subscription_from_the_config_file(server: SmsgridProcess, azurite: Azurite) -> None:  # noqa: F811
    queue = new_queue(azurite, "from-config")
    message_id = inbound(server, "+14255559006", OWNED, "from config, with love")
    (message,) = received_messages(queue, 1)
    event = EventGridEvent.from_dict(json.loads(base64.b64decode(message.content)))
    assert isinstance(event.data, dict)
    assert event.data["messageId"] == message_id


def test_the_ui_lists_queue_and_function_subscriptions(server: SmsgridProcess) -> None:
    put_subscription(server, "ui-queue", {"destination": queue_destination("ui-queue")})
    put_subscription(
        server,
        "ui-function",
        {"destination": {"endpointType": "AzureFunction", "properties": {"resourceId": FUNCTION_ID}}},
    )
    with server.admin() as admin:
        made = admin.post("/admin/login-tokens")
    assert made.status_code == 201, made.text
    with httpx.Client(base_url=server.base_url, follow_redirects=True, timeout=30) as browser:
        assert browser.get(made.json()["path"]).status_code == 200
        for path in ("/", "/subscriptions", "/subscriptions/ui-queue/edit", "/subscriptions/ui-function/edit"):
            page = browser.get(path)
            assert page.status_code == 200, (path, page.text[-2000:])
        listing = browser.get("/subscriptions").text
    assert "StorageQueue: ui-queue" in listing
    assert f"AzureFunction: {FUNCTION_ID}" in listing
