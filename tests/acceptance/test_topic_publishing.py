"""Publishing like an Event Grid custom topic (SPEC §3 "Custom topic publishing").

`azure.eventgrid.EventGridPublisherClient` publishes to `{base url}/api/events` with the access key or a SAS
token; the events go through the same subscriptions as SMS events and reach a real webhook receiver.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from azure.core.credentials import AzureKeyCredential, AzureSasCredential
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.core.messaging import CloudEvent
from azure.eventgrid import EventGridEvent, EventGridPublisherClient, SystemEventNames, generate_sas

from smsgrid.api.topic_publishing import check_publisher, verify_sas_token
from smsgrid.events.models import SmsReceivedData
from smsgrid.testing import SmsgridProcess, WebhookSink, start_smsgrid
from smsgrid.testing.plugin import subscribe

API_VERSION = "2018-01-01"
TOPIC = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/local/providers/"
    "microsoft.communication/communicationservices/local"
)
SMS_RECEIVED = SystemEventNames.AcsSmsReceivedEventName
ONE_MEGABYTE = 1024 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmsgridProcess]:
    with start_smsgrid(tmp_path_factory.mktemp("topic"), time_scale=0.001) as process:
        yield process


@pytest.fixture(scope="module")
def everything(server: SmsgridProcess) -> Iterator[WebhookSink]:
    with WebhookSink() as sink:
        subscribe(server, "topic-all", sink.url)
        yield sink


@pytest.fixture(scope="module")
def sms_only(server: SmsgridProcess) -> Iterator[WebhookSink]:
    with WebhookSink() as sink:
        subscribe(server, "topic-sms-only", sink.url, filter={"includedEventTypes": [SMS_RECEIVED]})
        yield sink


def endpoint(server: SmsgridProcess) -> str:
    return f"{server.base_url}/api/events"


def sms_received(message: str, to_digits: str = "18005550100") -> EventGridEvent:
    message_id = f"Incoming_20260101000000{uuid.uuid4()}"
    return EventGridEvent(
        subject=f"/phonenumber/{to_digits}",
        event_type=SMS_RECEIVED,
        data={
            "MessageId": message_id,
            "From": "14255550123",
            "To": to_digits,
            "Message": message,
            "ReceivedTimestamp": "2026-01-01T00:00:00.1234567Z",
            "SegmentCount": 1,
        },
        data_version="1.0",
        id=message_id,
    )


def delivered_items(sink: WebhookSink) -> dict[str, dict[str, Any]]:
    return {item["id"]: item for item in sink.iter_items()}


def publish_raw(server: SmsgridProcess, body: Any, *, content: bytes | None = None, **headers: str) -> httpx.Response:
    sent_headers = {"aeg-sas-key": server.access_key, "Content-Type": "application/json", **headers}
    return httpx.post(
        endpoint(server),
        params={"api-version": API_VERSION},
        content=content if content is not None else httpx.Request("POST", "/", json=body).content,
        headers=sent_headers,
        timeout=30.0,
    )


def test_the_sdk_publishes_with_the_access_key_and_subscribers_get_the_events(
    server: SmsgridProcess, everything: WebhookSink, sms_only: WebhookSink
) -> None:
    events = [sms_received("published one"), sms_received("published two", "18005550101")]
    client = EventGridPublisherClient(endpoint(server), AzureKeyCredential(server.access_key))
    with client:
        client.send(events)
    ids = {e.id for e in events}
    everything.wait_for(lambda s: ids <= set(delivered_items(s)))
    sms_only.wait_for(lambda s: ids <= set(delivered_items(s)))
    for event in events:
        delivered = EventGridEvent.from_dict(delivered_items(everything)[event.id])
        assert delivered.event_type == SMS_RECEIVED
        assert delivered.subject == event.subject
        assert delivered.data == event.data
        assert delivered.topic == TOPIC
        assert delivered.data_version == "1.0"
        assert delivered.metadata_version == "1"
    # smsgrid's consumer parser reads them as SMS events, like the ones the resource emits itself.
    parsed = {e.id: e for e in everything.events() if e.id in ids}
    assert all(isinstance(e.data, SmsReceivedData) for e in parsed.values())
    # They are ordinary events of the outbox: listed with their deliveries.
    with server.admin() as admin:
        record = admin.get(f"/admin/events/{events[0].id}").json()
    assert {d["subscription"] for d in record["deliveries"]} == {"topic-all", "topic-sms-only"}
    assert record["event"]["topic"] == TOPIC


def test_the_sdk_publishes_with_a_sas_token(server: SmsgridProcess, everything: WebhookSink) -> None:
    token = generate_sas(endpoint(server), server.access_key, datetime.now(UTC) + timedelta(hours=1))
    event = sms_received("signed with SAS")
    with EventGridPublisherClient(endpoint(server), AzureSasCredential(token)) as client:
        client.send([event])
    everything.wait_for(lambda s: event.id in delivered_items(s))


def test_a_sas_token_in_the_authorization_header(server: SmsgridProcess, everything: WebhookSink) -> None:
    token = generate_sas(endpoint(server), server.access_key, datetime.now(UTC) + timedelta(minutes=5))
    event = sms_received("SharedAccessSignature header")
    response = httpx.post(
        endpoint(server),
        params={"api-version": API_VERSION},
        json=[_wire(event)],
        headers={"Authorization": f"SharedAccessSignature {token}"},
    )
    assert response.status_code == 200, response.text
    everything.wait_for(lambda s: event.id in delivered_items(s))


def _wire(event: EventGridEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "subject": event.subject,
        "eventType": event.event_type,
        "eventTime": "2026-01-01T00:00:00Z",
        "data": event.data,
        "dataVersion": event.data_version,
    }


def test_custom_event_types_are_routed_by_the_same_filters(
    server: SmsgridProcess, everything: WebhookSink, sms_only: WebhookSink
) -> None:
    custom: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "subject": "orders/42",
        "eventType": "Contoso.Orders.OrderPlaced",
        "eventTime": "2026-01-01T00:00:00Z",
        "data": {"orderId": 42},
    }
    sms = sms_received("next to a custom event")
    response = publish_raw(server, [custom, _wire(sms)])
    assert response.status_code == 200, response.text
    everything.wait_for(lambda s: {custom["id"], sms.id} <= set(delivered_items(s)))
    sms_only.wait_for(lambda s: sms.id in delivered_items(s))
    assert custom["id"] not in delivered_items(sms_only)
    delivered = EventGridEvent.from_dict(delivered_items(everything)[custom["id"]])
    assert delivered.event_type == "Contoso.Orders.OrderPlaced"
    assert delivered.data == {"orderId": 42}
    # Event Grid stamps what the publisher left out: the topic, metadataVersion, an empty dataVersion.
    assert delivered.topic == TOPIC
    assert delivered.metadata_version == "1"
    assert delivered.data_version == ""


@pytest.mark.parametrize(
    "credential",
    [
        AzureKeyCredential("d3JvbmcgLSBub3QgdGhlIGtleSBvZiB0aGlzIHJlc291cmNl"),
        "expired-sas",
        "sas-signed-with-another-key",
    ],
    ids=["wrong-key", "expired-sas", "sas-of-another-key"],
)
def test_a_wrong_credential_is_401(server: SmsgridProcess, everything: WebhookSink, credential: Any) -> None:
    if credential == "expired-sas":
        credential = AzureSasCredential(
            generate_sas(endpoint(server), server.access_key, datetime.now(UTC) - timedelta(minutes=1))
        )
    elif credential == "sas-signed-with-another-key":
        other = "b3RoZXIga2V5IG90aGVyIGtleSBvdGhlciBrZXkgb3RoZXI="
        credential = AzureSasCredential(generate_sas(endpoint(server), other, datetime.now(UTC) + timedelta(hours=1)))
    event = sms_received("must not be published")
    with EventGridPublisherClient(endpoint(server), credential) as client, pytest.raises(ClientAuthenticationError):
        client.send([event])
    with server.admin() as admin:
        assert admin.get(f"/admin/events/{event.id}").status_code == 404


def test_no_credential_is_401_in_azure_error_shape(server: SmsgridProcess) -> None:
    response = httpx.post(endpoint(server), params={"api-version": API_VERSION}, json=[_wire(sms_received("x"))])
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "Unauthorized"
    assert "aeg-sas-key" in error["message"]


def test_a_badly_formed_batch_is_400_listing_every_problem(server: SmsgridProcess) -> None:
    good = _wire(sms_received("fine"))
    body = [
        {k: v for k, v in good.items() if k != "subject"},
        {**good, "id": "1", "eventTime": "yesterday"},
        {**good, "id": "2", "metadataVersion": "2"},
        {**good, "id": "3", "topic": "/subscriptions/other/topic"},
        {**good, "id": ""},
        "not an object",
    ]
    response = publish_raw(server, body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "BadRequest"
    for where in ("[0].subject", "[1].eventTime", "[2].metadataVersion", "[3].topic", "[4].id", "[5]"):
        assert where in error["message"], error["message"]
    # Nothing of a rejected batch is published, not even its valid events.
    with server.admin() as admin:
        assert admin.get(f"/admin/events/{good['id']}").status_code == 404


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"id": "1"}', "JSON array"),
        (b"[]", "empty"),
    ],
    ids=["not-json", "not-an-array", "empty-array"],
)
def test_a_body_that_is_not_an_array_of_events_is_400(server: SmsgridProcess, content: bytes, expected: str) -> None:
    response = publish_raw(server, None, content=content)
    assert response.status_code == 400
    assert expected in response.json()["error"]["message"]


def test_the_api_version_is_required(server: SmsgridProcess) -> None:
    body = [_wire(sms_received("versioned"))]
    headers = {"aeg-sas-key": server.access_key}
    missing = httpx.post(endpoint(server), json=body, headers=headers)
    assert missing.status_code == 400
    assert "api-version" in missing.json()["error"]["message"]
    unknown = httpx.post(endpoint(server), params={"api-version": "2099-01-01"}, json=body, headers=headers)
    assert unknown.status_code == 400


def test_cloud_events_are_refused_by_an_event_grid_schema_topic(server: SmsgridProcess) -> None:
    event = CloudEvent(source="/contoso", type="Contoso.Thing", data={"a": 1})
    client = EventGridPublisherClient(endpoint(server), AzureKeyCredential(server.access_key))
    with client, pytest.raises(HttpResponseError) as raised:
        client.send([event])
    assert raised.value.status_code == 400


def test_more_than_one_megabyte_is_413(server: SmsgridProcess) -> None:
    big = {**_wire(sms_received("big")), "data": {"blob": "x" * ONE_MEGABYTE}}
    response = publish_raw(server, [big])
    assert response.status_code == 413
    assert response.json()["error"]["code"]
    # The SDK sees the same answer.
    client = EventGridPublisherClient(endpoint(server), AzureKeyCredential(server.access_key))
    with client, pytest.raises(HttpResponseError) as raised:
        client.send([big])
    assert raised.value.status_code == 413


def dotnet_url_encode(text: str) -> str:
    """HttpUtility.UrlEncode: spaces as "+", escapes in lower case."""
    return re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), quote(text, safe="")).replace("%20", "+")


def test_a_sas_token_built_the_dotnet_way_is_accepted() -> None:
    # Microsoft's .NET sample URL-encodes with HttpUtility (spaces as "+", lower-case escapes) and writes the
    # expiry in the en-US culture. No server needed: the check is a pure function.
    key = base64.b64encode(b"a key of thirty-two bytes, ok!!!").decode()
    resource = "https://contoso.westus2-1.eventgrid.azure.net/api/events?api-version=2018-01-01"
    encoded_resource = dotnet_url_encode(resource)
    encoded_expiry = dotnet_url_encode("1/1/2099 12:00:00 AM")
    unsigned = f"r={encoded_resource}&e={encoded_expiry}"
    signature = base64.b64encode(hmac.new(base64.b64decode(key), unsigned.encode(), hashlib.sha256).digest())
    token = f"{unsigned}&s={quote(signature.decode(), safe='')}"
    now = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    assert verify_sas_token(token, key=base64.b64decode(key), path="/api/events", now=now) is None
    assert check_publisher({"aeg-sas-token": token}, access_key=key, path="/api/events", now=now) is None
    # Any change to what was signed breaks it; an expired or misdirected token is refused.
    tampered = token.replace("2099", "2100")
    assert verify_sas_token(tampered, key=base64.b64decode(key), path="/api/events", now=now) is not None
    late = datetime(2100, 1, 1, tzinfo=UTC).timestamp()
    assert verify_sas_token(token, key=base64.b64decode(key), path="/api/events", now=late) is not None
    assert verify_sas_token(token, key=base64.b64decode(key), path="/other", now=now) is not None
