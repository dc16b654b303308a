"""The read models: their wire form is the admin API's JSON, and that JSON validates back to the same model."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from smsgrid.api.ids import MAX_ID_DIGITS, id_number
from smsgrid.events.timestamps import Timestamp
from smsgrid.store.views import (
    MAX_ID,
    AttemptView,
    DeadLetterView,
    DeliveryReportView,
    EventGridItem,
    MessageDetail,
    MessageView,
    SendOptions,
    StoreCounts,
    wire,
)

ITEM = {
    "id": "e1",
    "topic": "/subscriptions/x/resourceGroups/y/providers/Microsoft.Communication/communicationServices/z",
    "subject": "/phonenumber/15555550100",
    "data": {"MessageId": "m1", "Nested": [1, None, {"a": "b"}]},
    "eventType": "Microsoft.Communication.SMSDeliveryReportReceived",
    "dataVersion": "1.0",
    "metadataVersion": "1",
    "eventTime": "2026-12-02T10:00:00.1234567Z",
}

REPORT = {
    "messageId": "m1",
    "from": "+15555550100",
    "to": "+15555550199",
    "deliveryStatus": "Delivered",
    "deliveryStatusDetails": "No error.",
    "deliveryAttempts": [{"timestamp": "2026-12-02T10:00:00.0000001Z", "segmentsSucceeded": 1, "segmentsFailed": 0}],
    "receivedTimestamp": "2026-12-02T10:00:00.9999999Z",
    "tag": None,
}

# The store's own times are floats: its ISO text is always one a float can give (unlike a report's .NET ticks).
CREATED = Timestamp.from_epoch_seconds(1796205600.1234567).format()

MESSAGE: dict[str, Any] = {
    "messageId": "m1",
    "direction": "outgoing",
    "from": "+15555550100",
    "to": "+15555550199",
    "message": "hello",
    "encoding": "GSM7",
    "segments": 1,
    "tag": None,
    "enableDeliveryReport": True,
    "status": "delivered",
    "deliveryStatusCode": 2000,
    "deliveryReport": REPORT,
    "createdAt": CREATED,
    "updatedAt": "2026-12-02T10:00:01Z",
    "apiVersion": "2026-01-23",
    "sendOptions": {"reportTimeoutSeconds": 60},
    "attachments": [{"mimeType": "image/png", "bytes": 3}],
    "events": [
        {
            "seq": 7,
            "id": "e1",
            "eventType": "Microsoft.Communication.SMSDeliveryReportReceived",
            "subject": "/phonenumber/15555550100",
            "messageId": "m1",
            "publishedAt": "2026-12-02T10:00:01.5Z",
            "event": ITEM,
            "deliveries": [
                {
                    "deliveryId": 3,
                    "subscription": "app",
                    "state": "pending",
                    "deliveryCount": 1,
                    "nextAttemptAt": "2026-12-02T10:00:11.5Z",
                    "publishedAt": "2026-12-02T10:00:01.5Z",
                    "finishedAt": None,
                    "attempts": [
                        {
                            "attempt": 1,
                            "time": "2026-12-02T10:00:01.6Z",
                            "statusCode": 503,
                            "outcome": "Busy",
                            "durationMs": 1.25,
                            "error": None,
                        }
                    ],
                }
            ],
        }
    ],
}


def test_the_admin_json_validates_into_the_model_and_renders_back_key_for_key() -> None:
    detail = MessageDetail.model_validate(MESSAGE)
    assert detail.body == "hello"
    assert detail.delivery_report is not None
    assert detail.delivery_report.received_timestamp == Timestamp.parse("2026-12-02T10:00:00.9999999Z")
    assert detail.events[0].deliveries[0].attempts[0].status_code == 503
    assert wire(detail) == MESSAGE
    assert list(wire(detail)) == list(MESSAGE)  # the keys in the order the API always wrote them


def test_store_times_are_epoch_seconds_in_python_and_iso_on_the_wire() -> None:
    message = MessageView.model_validate(MESSAGE)
    assert message.updated_at == 1796205601.0
    assert message.created_at == Timestamp.parse(CREATED).epoch_seconds
    assert message.model_dump()["created_at"] == message.created_at  # python mode keeps the float
    assert wire(message)["createdAt"] == CREATED


@given(st.integers(min_value=0, max_value=4_102_444_800 * 10_000_000))
def test_a_stored_time_survives_the_trip_through_the_cli(ticks: int) -> None:
    # The store writes a float; the API renders it; the CLI reads the text back and renders it again.
    epoch = Timestamp(ticks).epoch_seconds
    first = AttemptView(attempt=1, time=epoch, status_code=None, outcome="Succeeded", duration_ms=1.0, error=None)
    again = AttemptView.model_validate(wire(first))
    assert wire(again)["time"] == wire(first)["time"]


def test_optional_document_keys_stay_absent_rather_than_null() -> None:
    report = DeliveryReportView.model_validate(REPORT)
    assert "messagingConnectPartnerMessageId" not in wire(report)
    assert wire(report)["tag"] is None  # tag is always written, null or not
    partner = DeliveryReportView.model_validate({**REPORT, "messagingConnectPartnerMessageId": "p-1"})
    assert wire(partner)["messagingConnectPartnerMessageId"] == "p-1"
    assert wire(SendOptions(messaging_connect_partner="infobip")) == {"messagingConnectPartner": "infobip"}
    assert SendOptions(report_timeout_seconds=30).model_dump() == {"report_timeout_seconds": 30}


def test_a_published_events_time_is_kept_as_its_publisher_wrote_it() -> None:
    item = {**ITEM, "eventTime": "2026-12-02T12:00:00+02:00", "data": "plain text"}
    assert wire(EventGridItem.model_validate(item)) == item


def test_dead_letter_ids_are_documented_as_the_api_accepts_them() -> None:
    assert MAX_ID == 10**MAX_ID_DIGITS - 1
    assert id_number(str(MAX_ID)) == MAX_ID
    assert id_number(str(MAX_ID + 1)) is None
    schema = DeadLetterView.model_json_schema(by_alias=True, mode="serialization")
    assert schema["properties"]["id"]["maximum"] == MAX_ID
    assert (schema["properties"]["publishTime"]["type"], schema["properties"]["publishTime"]["format"]) == (
        "string",
        "date-time",
    )


def test_the_models_are_frozen() -> None:
    counts = StoreCounts(messages=1, events=2, pending_deliveries=3, deadletters=4)
    with pytest.raises(ValidationError, match="frozen"):
        counts.messages = 5
    assert counts.messages == 1
    assert wire(counts) == {"messages": 1, "events": 2, "pendingDeliveries": 3, "deadletters": 4}


def test_a_document_with_omissible_keys_is_described_by_its_fields() -> None:
    schema = DeliveryReportView.model_json_schema(by_alias=True, mode="serialization")
    assert "messagingConnectPartnerMessageId" in schema["properties"]
    assert "messagingConnectPartnerMessageId" not in schema["required"]
    assert "tag" in schema["required"]
