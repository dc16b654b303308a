"""Rendering: key names and order per casing, omitted optionals, the CloudEvents form (SPEC §1)."""

from __future__ import annotations

from dataclasses import replace

import orjson
import pytest

from smsgrid.events import (
    SMS_DELIVERY_REPORT_RECEIVED,
    DataCasing,
    DeliveryAttempt,
    Event,
    GenericData,
    SmsDeliveryReportReceivedData,
    SmsReceivedData,
    Timestamp,
    delivery_report_event,
    event_grid_item_to_cloud_event,
    render_cloud_event,
    render_cloud_events_batch,
    render_event_grid,
    resource_topic,
    sms_received_event,
    to_cloud_event_dict,
    to_event_grid_dict,
)

TOPIC = resource_topic("sub", "group", "resource")
WHEN = Timestamp.parse("2024-05-01T12:00:00.1234567Z")

REPORT_DATA = SmsDeliveryReportReceivedData(
    message_id="Outgoing_1",
    from_="+15550001111",
    to="+15550002222",
    delivery_status="Failed",
    delivery_status_details="4006 Unreachable",
    delivery_attempts=(DeliveryAttempt(WHEN, 0, 2), DeliveryAttempt(WHEN, 1, 1)),
    received_timestamp=WHEN,
    tag=None,
)
REPORT = delivery_report_event(REPORT_DATA, topic=TOPIC, event_time=WHEN)
RECEIVED = sms_received_event(
    SmsReceivedData(
        message_id="Incoming_1",
        from_="+15550002222",
        to="+15550001111",
        message="hi",
        received_timestamp=WHEN,
        segment_count=1,
    ),
    topic=TOPIC,
    event_time=WHEN,
)
VALIDATION = Event(
    id="2d1781af-3a4c-4d7c-bd0c-e34b19da4e66",
    topic=TOPIC,
    subject="",
    event_type="Microsoft.EventGrid.SubscriptionValidationEvent",
    event_time=WHEN,
    data=GenericData({"validationCode": "512d38b6", "validationUrl": "https://example.invalid/v"}),
    data_version="1",
)

ENVELOPE_KEYS = ["id", "topic", "subject", "data", "eventType", "dataVersion", "metadataVersion", "eventTime"]


def test_envelope_keys_follow_the_seed_order() -> None:
    assert list(to_event_grid_dict(REPORT)) == ENVELOPE_KEYS


@pytest.mark.parametrize(
    ("casing", "report_keys", "attempt_keys"),
    [
        (
            DataCasing.PASCAL,
            [
                "MessageId",
                "From",
                "To",
                "DeliveryStatus",
                "DeliveryStatusDetails",
                "ReceivedTimestamp",
                "DeliveryAttempts",
            ],
            ["Timestamp", "SegmentsSucceeded", "SegmentsFailed"],
        ),
        (
            DataCasing.CAMEL,
            [
                "messageId",
                "from",
                "to",
                "deliveryStatus",
                "deliveryStatusDetails",
                "receivedTimestamp",
                "deliveryAttempts",
            ],
            ["timestamp", "segmentsSucceeded", "segmentsFailed"],
        ),
    ],
)
def test_report_data_keys_per_casing_and_tag_none_is_omitted(
    casing: DataCasing, report_keys: list[str], attempt_keys: list[str]
) -> None:
    data = to_event_grid_dict(REPORT, casing)["data"]

    assert list(data) == report_keys
    assert [list(attempt) for attempt in data[report_keys[-1]]] == [attempt_keys, attempt_keys]


@pytest.mark.parametrize(
    ("casing", "keys"),
    [
        (DataCasing.PASCAL, ["MessageId", "From", "To", "Message", "ReceivedTimestamp", "SegmentCount"]),
        (DataCasing.CAMEL, ["messageId", "from", "to", "message", "receivedTimestamp", "segmentCount"]),
    ],
)
def test_received_data_keys_per_casing(casing: DataCasing, keys: list[str]) -> None:
    assert list(to_event_grid_dict(RECEIVED, casing)["data"]) == keys


def test_tag_and_segment_count_are_rendered_when_present() -> None:
    tagged = Event(
        id=REPORT.id,
        topic=REPORT.topic,
        subject=REPORT.subject,
        event_type=SMS_DELIVERY_REPORT_RECEIVED,
        event_time=WHEN,
        data=replace(REPORT_DATA, tag="t"),
    )
    assert to_event_grid_dict(tagged, DataCasing.CAMEL)["data"]["tag"] == "t"
    assert to_event_grid_dict(RECEIVED)["data"]["SegmentCount"] == 1


def test_segment_count_none_is_omitted() -> None:
    event = sms_received_event(
        SmsReceivedData("Incoming_2", "+1", "+15550001111", "x", WHEN), topic=TOPIC, event_time=WHEN
    )
    assert "SegmentCount" not in to_event_grid_dict(event)["data"]


def test_generic_data_is_rendered_as_is() -> None:
    item = to_event_grid_dict(VALIDATION, DataCasing.CAMEL)
    assert item["data"] == {"validationCode": "512d38b6", "validationUrl": "https://example.invalid/v"}
    assert item["dataVersion"] == "1"
    assert item["subject"] == ""


def test_casing_accepts_the_configuration_strings() -> None:
    assert to_event_grid_dict(RECEIVED, "camel")["data"]["messageId"] == "Incoming_1"  # type: ignore[arg-type]


def test_event_grid_body_is_a_compact_array() -> None:
    body = render_event_grid([REPORT, RECEIVED])
    assert body.startswith(b"[{")
    assert orjson.loads(body) == [to_event_grid_dict(REPORT), to_event_grid_dict(RECEIVED)]
    assert render_event_grid([]) == b"[]"


def test_cloud_event_form() -> None:
    cloud = to_cloud_event_dict(RECEIVED, DataCasing.CAMEL)
    assert cloud == {
        "specversion": "1.0",
        "id": "Incoming_1",
        "source": TOPIC,
        "type": "Microsoft.Communication.SMSReceived",
        "subject": "/phonenumber/15550001111",
        "time": "2024-05-01T12:00:00.1234567Z",
        "datacontenttype": "application/json",
        "data": to_event_grid_dict(RECEIVED, DataCasing.CAMEL)["data"],
    }
    assert orjson.loads(render_cloud_event(RECEIVED, DataCasing.CAMEL)) == cloud
    assert orjson.loads(render_cloud_events_batch([RECEIVED, REPORT])) == [
        to_cloud_event_dict(RECEIVED),
        to_cloud_event_dict(REPORT),
    ]


def test_stored_item_maps_to_the_same_cloud_event() -> None:
    for event in (REPORT, RECEIVED, VALIDATION):
        stored = orjson.loads(orjson.dumps(to_event_grid_dict(event)))
        assert event_grid_item_to_cloud_event(stored) == to_cloud_event_dict(event)


def test_item_to_cloud_event_names_missing_keys() -> None:
    with pytest.raises(ValueError, match="missing topic, eventTime"):
        event_grid_item_to_cloud_event({"id": "1", "subject": "s", "eventType": "t", "data": {}})
