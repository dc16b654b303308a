"""What a webhook receives (SPEC §1 "CloudEvents 1.0 form", §3 "Delivery request"), read with the official SDKs.

Event Grid schema bodies are parsed item by item with `azure.eventgrid.EventGridEvent.from_dict`, CloudEvents
with `azure.core.messaging.CloudEvent.from_dict`; the `aeg-*` headers and the subscription's delivery
attributes are checked on the real requests.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.communication.sms import SmsClient
from azure.core.credentials import AzureKeyCredential
from azure.core.messaging import CloudEvent
from azure.eventgrid import EventGridEvent, SystemEventNames

from smsgrid.testing import ReceivedRequest, SmsgridProcess, WebhookSink, start_smsgrid
from smsgrid.testing.plugin import inbound, subscribe

HANDSET = "+14255550123"
OWNED = "+18005550100"
TOPIC = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/local/providers/"
    "microsoft.communication/communicationservices/local"
)
CONFIG = """
[carrier]
delay_ms = 0
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmsgridProcess]:
    with start_smsgrid(tmp_path_factory.mktemp("rendering"), config=CONFIG, time_scale=0.001) as process:
        yield process


def only_notification_with(sink: WebhookSink, event_id: str) -> ReceivedRequest:
    sink.wait_for(lambda s: any(event_id in r.body.decode() for r in s.notifications()))
    [request] = [r for r in sink.notifications() if event_id in r.body.decode()]
    return request


def send_with_report(server: SmsgridProcess, tag: str) -> str:
    client = SmsClient(server.base_url, AzureKeyCredential(server.access_key))
    try:
        [sent] = client.send(from_=OWNED, to=HANDSET, message="rendered", enable_delivery_report=True, tag=tag)
    finally:
        client._sms_service_client.close()
    assert sent.successful
    return str(sent.message_id)


def test_event_grid_schema_bodies_and_headers(server: SmsgridProcess) -> None:
    with WebhookSink() as sink:
        subscribe(server, "render-event-grid", sink.url)
        received_id = inbound(server, HANDSET, OWNED, "rendered inbound")
        report_id = send_with_report(server, "render-tag")

        request = only_notification_with(sink, received_id)
        assert request.headers["content-type"] == "application/json; charset=utf-8"
        assert request.headers["aeg-event-type"] == "Notification"
        assert request.headers["aeg-subscription-name"] == "RENDER-EVENT-GRID"
        assert request.headers["aeg-delivery-count"] == "1"
        assert request.headers["aeg-metadata-version"] == "1"
        assert request.headers["aeg-data-version"] == "1.0"
        assert request.headers["aeg-output-event-id"] == received_id
        body = request.json()
        assert isinstance(body, list), "Event Grid delivers an array even for one event"
        [item] = body
        event = EventGridEvent.from_dict(item)
        assert event.id == received_id
        assert event.event_type == SystemEventNames.AcsSmsReceivedEventName
        assert event.topic == TOPIC
        assert event.subject == "/phonenumber/18005550100"
        assert event.data_version == "1.0"
        # camelCase by default, as Azure sends today (docs/differences-from-azure.md)
        assert set(event.data) == {"messageId", "from", "to", "message", "receivedTimestamp", "segmentCount"}
        assert event.data["messageId"] == received_id
        assert event.data["from"] == "14255550123"
        assert event.data["to"] == "18005550100"
        assert event.data["message"] == "rendered inbound"
        assert event.data["segmentCount"] == 1

        report_request = only_notification_with(sink, report_id)
        assert report_request.headers["aeg-output-event-id"] == report_id
        [report_item] = report_request.json()
        report = EventGridEvent.from_dict(report_item)
        assert report.event_type == SystemEventNames.AcsSmsDeliveryReportReceivedEventName
        assert report.data["messageId"] == report_id
        assert report.data["deliveryStatus"] == "Delivered"
        assert report.data["tag"] == "render-tag"
        assert report.subject == "/phonenumber/18005550100"


def test_cloud_events_one_per_request_is_a_single_structured_event(server: SmsgridProcess) -> None:
    with WebhookSink() as sink:
        subscribe(server, "render-cloud-single", sink.url, eventDeliverySchema="CloudEventSchemaV1_0")
        message_id = inbound(server, HANDSET, OWNED, "as a cloud event")
        request = only_notification_with(sink, message_id)
        assert request.headers["content-type"] == "application/cloudevents+json; charset=utf-8"
        assert request.headers["aeg-event-type"] == "Notification"
        assert request.headers["aeg-delivery-count"] == "1"
        assert request.headers["webhook-request-origin"] == "eventgrid.azure.net"
        body = request.json()
        assert isinstance(body, dict)
        event: CloudEvent[Any] = CloudEvent.from_dict(body)
        assert event.specversion == "1.0"
        assert event.id == message_id
        assert event.source == TOPIC
        assert event.type == SystemEventNames.AcsSmsReceivedEventName
        assert event.subject == "/phonenumber/18005550100"
        assert event.datacontenttype == "application/json"
        assert event.time is not None
        assert isinstance(event.data, dict)
        assert event.data["messageId"] == message_id
        assert event.data["message"] == "as a cloud event"


def test_cloud_events_with_batching_are_a_batch(server: SmsgridProcess) -> None:
    with WebhookSink() as sink:
        destination = {"endpointType": "WebHook", "properties": {"endpointUrl": sink.url, "maxEventsPerBatch": 5}}
        with server.admin() as admin:
            response = admin.put(
                "/admin/subscriptions/render-cloud-batch",
                json={"destination": destination, "eventDeliverySchema": "CloudEventSchemaV1_0"},
            )
        assert response.json()["properties"]["provisioningState"] == "Succeeded"
        message_id = inbound(server, HANDSET, OWNED, "in a batch")
        request = only_notification_with(sink, message_id)
        assert request.headers["content-type"] == "application/cloudevents-batch+json; charset=utf-8"
        body = request.json()
        assert isinstance(body, list)
        events: list[CloudEvent[Any]] = [CloudEvent.from_dict(item) for item in body]
        assert message_id in [e.id for e in events]
        assert all(e.type == SystemEventNames.AcsSmsReceivedEventName for e in events)


def test_static_and_dynamic_delivery_attributes_arrive_as_headers(server: SmsgridProcess) -> None:
    mappings: list[dict[str, Any]] = [
        {"name": "X-Tenant", "type": "Static", "properties": {"value": "contoso", "isSecret": False}},
        {"name": "X-Api-Key", "type": "Static", "properties": {"value": "s3cr3t-value", "isSecret": True}},
        {"name": "X-Message-Id", "type": "Dynamic", "properties": {"sourceField": "data.MessageId"}},
        {"name": "X-Segments", "type": "Dynamic", "properties": {"sourceField": "data.SegmentCount"}},
        {"name": "X-Subject", "type": "Dynamic", "properties": {"sourceField": "subject"}},
        {"name": "X-Tag", "type": "Dynamic", "properties": {"sourceField": "data.Tag"}},
    ]
    with WebhookSink() as sink:
        url = f"{sink.url}?code=url-secret"
        destination = {
            "endpointType": "WebHook",
            "properties": {"endpointUrl": url, "deliveryAttributeMappings": mappings},
        }
        with server.admin() as admin:
            created = admin.put("/admin/subscriptions/render-attributes", json={"destination": destination})
            assert created.status_code == 200, created.text
            fetched = admin.get("/admin/subscriptions/render-attributes").json()
            listed = admin.get("/admin/subscriptions").json()["value"]

        message_id = inbound(server, HANDSET, OWNED, "with attributes")
        request = only_notification_with(sink, message_id)
        assert request.path == "/events?code=url-secret"
        assert request.headers["x-tenant"] == "contoso"
        assert request.headers["x-api-key"] == "s3cr3t-value"
        assert request.headers["x-message-id"] == message_id
        assert request.headers["x-segments"] == "1"
        assert request.headers["x-subject"] == "/phonenumber/18005550100"
        # An SMSReceived event has no Tag: a dynamic attribute on a missing field sends no header.
        assert "x-tag" not in request.headers

    # Secrets are never shown back: not the secret attribute's value, not the URL's query.
    for answer in (created.json(), fetched, *[s for s in listed if s["name"] == "render-attributes"]):
        text = str(answer)
        assert "s3cr3t-value" not in text
        assert "url-secret" not in text
        props = answer["properties"]["destination"]["properties"]
        by_name = {m["name"]: m for m in props["deliveryAttributeMappings"]}
        assert by_name["X-Api-Key"]["properties"] == {"value": None, "isSecret": True}
        assert by_name["X-Tenant"]["properties"] == {"value": "contoso", "isSecret": False}
        assert by_name["X-Message-Id"]["properties"] == {"sourceField": "data.MessageId"}
        assert props["endpointBaseUrl"] == sink.url


def test_pascal_case_data_when_the_resource_says_so(tmp_path: Path) -> None:
    # The seed document's casing; camelCase (what Azure sends today) is the default.
    config = '[resource]\ndata_casing = "pascal"\n'
    with start_smsgrid(tmp_path / "pascal", config=config, time_scale=0.001) as server, WebhookSink() as sink:
        subscribe(server, "render-pascal", sink.url)
        message_id = inbound(server, HANDSET, OWNED, "pascal")
        [item] = only_notification_with(sink, message_id).json()
        event = EventGridEvent.from_dict(item)
        assert set(event.data) == {"MessageId", "From", "To", "Message", "ReceivedTimestamp", "SegmentCount"}
        assert event.data["MessageId"] == message_id
        assert event.data["Message"] == "pascal"
        # smsgrid's own consumer parser reads either casing (SPEC §1).
        [parsed] = sink.events()
        assert parsed.id == message_id
