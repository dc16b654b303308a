"""Consumer-side parsing: both casings, every schema, and one EventParseError listing every problem."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgrid.errors import EventParseError, Problem
from smsgrid.events import (
    DataCasing,
    Event,
    GenericData,
    SmsDeliveryReportReceivedData,
    SmsReceivedData,
    Timestamp,
    parse_cloud_event,
    parse_event_grid_item,
    parse_events,
    to_cloud_event_dict,
    to_event_grid_dict,
)
from tests.unit.test_events_strategies import casings, events, json_values

REPORT_ITEM: dict[str, Any] = {
    "id": "Outgoing_1",
    "topic": "/subscriptions/s/resourceGroups/g/providers/microsoft.communication/communicationservices/r",
    "subject": "/phonenumber/15550001111",
    "data": {
        "MessageId": "Outgoing_1",
        "From": "15550001111",
        "To": "+15550002222",
        "DeliveryStatus": "Delivered",
        "DeliveryStatusDetails": "No error.",
        "ReceivedTimestamp": "2020-09-18T00:22:20.2855749Z",
        "DeliveryAttempts": [
            {"Timestamp": "2020-09-18T00:22:14.9315918Z", "SegmentsSucceeded": 1, "SegmentsFailed": 0}
        ],
    },
    "eventType": "Microsoft.Communication.SMSDeliveryReportReceived",
    "dataVersion": "1.0",
    "metadataVersion": "1",
    "eventTime": "2020-09-18T00:22:20Z",
}
VALIDATION_ITEM: dict[str, Any] = {
    "id": "2d1781af-3a4c-4d7c-bd0c-e34b19da4e66",
    "topic": "/subscriptions/s/resourceGroups/g/providers/Microsoft.EventGrid/topics/t",
    "subject": "",
    "data": {
        "validationCode": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6",
        "validationUrl": "https://example.invalid/v",
    },
    "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
    "eventTime": "2018-01-25T22:12:19.4556811Z",
    "metadataVersion": "1",
    "dataVersion": "1",
}


def _problems(body: Any) -> list[Problem]:
    with pytest.raises(EventParseError) as caught:
        parse_events(body)
    return list(caught.value.problems)


def _paths(body: Any) -> list[str]:
    return [problem.path for problem in _problems(body)]


def _with(base: dict[str, Any], *, drop: tuple[str, ...] = (), **data: Any) -> dict[str, Any]:
    item = {key: value for key, value in base.items() if key not in drop}
    item["data"] = {key: value for key, value in base["data"].items() if key not in drop} | data
    return item


def test_camel_case_data_parses_to_the_same_event() -> None:
    pascal = parse_event_grid_item(REPORT_ITEM)
    camel = dict(REPORT_ITEM, data=to_event_grid_dict(pascal, DataCasing.CAMEL)["data"])
    assert parse_event_grid_item(camel) == pascal
    assert isinstance(pascal.data, SmsDeliveryReportReceivedData)
    assert pascal.data.tag is None


def test_null_tag_and_segment_count_mean_none() -> None:
    report = parse_event_grid_item(_with(REPORT_ITEM, Tag=None))
    assert isinstance(report.data, SmsDeliveryReportReceivedData)
    assert report.data.tag is None
    received = {
        **REPORT_ITEM,
        "eventType": "Microsoft.Communication.SMSReceived",
        "data": {
            "messageId": "Incoming_1",
            "from": "1",
            "to": "2",
            "message": "hi",
            "receivedTimestamp": "2020-09-18T00:27:45.32Z",
            "segmentCount": None,
        },
    }
    assert parse_event_grid_item(received).data == SmsReceivedData(
        "Incoming_1", "1", "2", "hi", Timestamp.parse("2020-09-18T00:27:45.32Z"), None
    )


def test_validation_event_is_generic_data_not_an_error() -> None:
    [event] = parse_events([VALIDATION_ITEM])
    assert event.data == GenericData(VALIDATION_ITEM["data"])
    assert (event.subject, event.data_version) == ("", "1")


@pytest.mark.parametrize("body", [b"[]", "[]", []])
def test_an_empty_array_has_no_events(body: Any) -> None:
    assert parse_events(body) == []


def test_a_single_cloud_event_object_parses_decoded_or_raw() -> None:
    event = parse_event_grid_item(REPORT_ITEM)
    cloud = to_cloud_event_dict(event, DataCasing.CAMEL)
    assert parse_events(cloud) == parse_events(orjson.dumps(cloud)) == [event]
    assert parse_cloud_event(cloud) == event


def test_cloud_event_extensions_and_charset_content_type_are_accepted() -> None:
    cloud = to_cloud_event_dict(parse_event_grid_item(REPORT_ITEM)) | {
        "datacontenttype": "application/json; charset=utf-8",
        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    }
    assert parse_cloud_event(cloud).id == "Outgoing_1"


def test_an_item_missing_two_fields_reports_both() -> None:
    assert _paths([_with(REPORT_ITEM, drop=("subject", "MessageId"))]) == [
        "[0].subject",
        "[0].data.MessageId",
    ]


def test_problems_in_several_items_are_all_reported() -> None:
    body = [
        REPORT_ITEM,
        _with(REPORT_ITEM, drop=("eventTime",), From=5),
        "not an event",
        _with(REPORT_ITEM, DeliveryAttempts=[{"Timestamp": "yesterday", "SegmentsSucceeded": -1}, 7]),
    ]
    problems = _problems(orjson.dumps(body))
    assert [problem.path for problem in problems] == [
        "[1].data.From",
        "[1].eventTime",
        "[2]",
        "[3].data.DeliveryAttempts[0].Timestamp",
        "[3].data.DeliveryAttempts[0].SegmentsSucceeded",
        "[3].data.DeliveryAttempts[0].SegmentsFailed",
        "[3].data.DeliveryAttempts[1]",
    ]
    reasons = [problem.reason for problem in problems]
    assert reasons[0] == "must be a string, got integer"
    assert reasons[1] == "required"
    assert reasons[2] == "must be a JSON object, got string"
    assert "not an ISO 8601" in reasons[3]
    assert reasons[4] == "must be a non-negative integer, got -1"


def test_camel_case_problems_name_camel_case_keys() -> None:
    event = parse_event_grid_item(REPORT_ITEM)
    camel = to_event_grid_dict(event, DataCasing.CAMEL)
    del camel["data"]["messageId"]
    camel["data"]["deliveryAttempts"][0]["segmentsFailed"] = True
    assert _paths([camel]) == ["[0].data.messageId", "[0].data.deliveryAttempts[0].segmentsFailed"]


@pytest.mark.parametrize(
    ("body", "path", "reason"),
    [
        (b"[", "", "not valid UTF-8 JSON"),
        (b'["\xff"]', "", "not valid UTF-8 JSON"),
        ("[\ud800]", "", "not valid UTF-8 JSON"),
        (b"", "", "not valid UTF-8 JSON"),
        (b"42", "", "must be a JSON array or object, got integer"),
        (b"null", "", "must be a JSON array or object, got null"),
        ('"[]"', "", "must be a JSON array or object, got string"),
        (orjson.dumps(REPORT_ITEM), "", "Event Grid schema events come in a JSON array"),
        ([REPORT_ITEM | {"eventTime": "2020-09-18T00:22:20"}], "[0].eventTime", "with an offset"),
        (
            [REPORT_ITEM | {"eventTime": 1600388540}],
            "[0].eventTime",
            "must be an ISO 8601 string, got integer",
        ),
        ([REPORT_ITEM | {"data": None}], "[0].data", "must be a JSON object, got null"),
        ([VALIDATION_ITEM | {"data": []}], "[0].data", "must be a JSON object, got array"),
        (
            [_with(REPORT_ITEM, DeliveryAttempts={})],
            "[0].data.DeliveryAttempts",
            "must be a JSON array, got object",
        ),
        ([_with(REPORT_ITEM, Tag=1)], "[0].data.Tag", "must be a string, got integer"),
        (
            [_with(REPORT_ITEM, ReceivedTimestamp="2020-02-30T00:00:00Z")],
            "[0].data.ReceivedTimestamp",
            "real date",
        ),
    ],
)
def test_one_bad_thing_one_problem(body: Any, path: str, reason: str) -> None:
    [problem] = _problems(body)
    assert problem.path == path
    assert reason in problem.reason


def test_segment_counts_must_be_json_integers() -> None:
    received = {
        **REPORT_ITEM,
        "eventType": "Microsoft.Communication.SMSReceived",
        "data": {
            "MessageId": "m",
            "From": "1",
            "To": "2",
            "Message": "",
            "ReceivedTimestamp": "2020-09-18T00:27:45Z",
        },
    }
    for bad, kind in ((1.0, "number"), (True, "boolean"), ("1", "string")):
        problem = Problem("[0].data.SegmentCount", f"must be a non-negative integer, got {kind}")
        assert _problems([_with(received, SegmentCount=bad)]) == [problem]


def test_cloud_event_problems_are_all_reported() -> None:
    cloud = to_cloud_event_dict(parse_event_grid_item(REPORT_ITEM))
    broken = {key: value for key, value in cloud.items() if key not in ("source", "subject")}
    broken |= {"specversion": "0.3", "id": "", "time": "soon", "datacontenttype": 3}
    assert _paths([cloud, broken]) == [
        "[1].specversion",
        "[1].id",
        "[1].source",
        "[1].subject",
        "[1].time",
        "[1].datacontenttype",
    ]


def test_cloud_event_with_base64_data_is_refused() -> None:
    cloud = to_cloud_event_dict(parse_event_grid_item(REPORT_ITEM))
    del cloud["data"]
    cloud["data_base64"] = "e30="
    assert _paths(cloud) == ["data_base64"]


def test_single_item_parsers_use_item_relative_paths() -> None:
    with pytest.raises(EventParseError, match="not a valid Event Grid event") as caught:
        parse_event_grid_item(_with(REPORT_ITEM, drop=("id", "To")))
    assert [problem.path for problem in caught.value.problems] == ["id", "data.To"]
    with pytest.raises(EventParseError, match="not a valid CloudEvent") as cloud_caught:
        parse_cloud_event([])
    assert cloud_caught.value.problems == (Problem("", "must be a JSON object, got array"),)


@pytest.mark.parametrize("key", [key for key in REPORT_ITEM if key != "data"] + list(REPORT_ITEM["data"]))
def test_every_required_key_is_required(key: str) -> None:
    path = f"[0].{key}" if key in REPORT_ITEM else f"[0].data.{key}"
    assert _problems([_with(REPORT_ITEM, drop=(key,))]) == [Problem(path, "required")]


@given(st.binary())
def test_arbitrary_bytes_parse_or_raise_event_parse_error(body: bytes) -> None:
    _parse_or_event_parse_error(body)


@given(json_values)
def test_arbitrary_json_parses_or_raises_event_parse_error(value: Any) -> None:
    _parse_or_event_parse_error(orjson.dumps(value))
    if isinstance(value, list | dict):
        _parse_or_event_parse_error(value)


@given(events(), casings, st.data())
def test_damaged_events_parse_or_raise_event_parse_error(event: Event, casing: DataCasing, data: st.DataObject) -> None:
    # Replace one value of a real item, envelope or data, with any JSON value.
    item = to_event_grid_dict(event, casing)
    target = data.draw(st.sampled_from([item, item["data"]]))
    if target:
        target[data.draw(st.sampled_from(sorted(target)))] = data.draw(json_values)
    _parse_or_event_parse_error([item])
    _parse_or_event_parse_error(to_cloud_event_dict(event, casing) | {"data": item["data"]})


def _parse_or_event_parse_error(body: Any) -> None:
    try:
        parsed = parse_events(body)
    except EventParseError as exc:
        problems = exc.problems
    else:
        assert all(isinstance(event, Event) for event in parsed)
        return
    assert problems
    assert all(isinstance(problem.reason, str) and problem.reason for problem in problems)
