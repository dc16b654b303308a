"""smsgrid.consumer.handle_delivery: the answers an Event Grid webhook owes, as a pure function."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgrid.consumer import EventIdDeduper, ReplyKind, as_e164, handle_delivery
from smsgrid.events import (
    DataCasing,
    SmsDeliveryReportReceivedData,
    SmsReceivedData,
    Timestamp,
    parse_events,
    render_cloud_event,
    render_cloud_events_batch,
    render_event_grid,
    sms_received_event,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SEED_RECEIVED = (FIXTURES / "seed-sms-received.json").read_bytes()
SEED_REPORT = (FIXTURES / "seed-sms-delivery-report-received.json").read_bytes()
NOTIFICATION = {"aeg-event-type": "Notification", "Content-Type": "application/json"}


def _received(message_id: str, text: str = "hi") -> Any:
    data = SmsReceivedData(
        message_id=message_id,
        from_="14255550123",
        to="18005550100",
        message=text,
        received_timestamp=Timestamp.from_epoch_seconds(1_700_000_000),
        segment_count=1,
    )
    return sms_received_event(data, topic="/subscriptions/s/resourceGroups/g/x", event_time=data.received_timestamp)


def _validation_body(code: str = "512d38b6-c7b8-40c8-89fe-f46f9e9622b6") -> bytes:
    return orjson.dumps(
        [
            {
                "id": "2d1781af-3a4c-4d7c-bd0c-e34b19da4e66",
                "topic": "/subscriptions/s/resourceGroups/g/providers/microsoft.communication/communicationservices/r",
                "subject": "",
                "data": {
                    "validationCode": code,
                    "validationUrl": "http://127.0.0.1:8080/eventsubscriptions/a/validate",
                },
                "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
                "eventTime": "2018-01-25T22:12:19.4556811Z",
                "metadataVersion": "1",
                "dataVersion": "1",
            }
        ]
    )


def test_the_validation_event_is_answered_with_its_code() -> None:
    reply = handle_delivery("POST", {"aeg-event-type": "SubscriptionValidation"}, _validation_body("abc-123"))
    assert reply.kind is ReplyKind.VALIDATION
    assert reply.status == 200
    assert orjson.loads(reply.body) == {"validationResponse": "abc-123"}
    assert reply.headers["Content-Type"].startswith("application/json")
    assert reply.events == ()


def test_a_validation_event_is_recognised_by_its_type_without_the_header() -> None:
    reply = handle_delivery("POST", {}, _validation_body("xyz"))
    assert reply.kind is ReplyKind.VALIDATION
    assert orjson.loads(reply.body) == {"validationResponse": "xyz"}


def test_a_validation_request_without_a_code_is_refused() -> None:
    body = orjson.dumps([{"eventType": "Microsoft.EventGrid.SubscriptionValidationEvent", "data": {}}])
    reply = handle_delivery("POST", {"aeg-event-type": "SubscriptionValidation"}, body)
    assert reply.kind is ReplyKind.REJECTED
    assert reply.status == 400
    assert "validationCode" in orjson.loads(reply.body)["error"]["message"]


def test_the_cloud_events_handshake_consents_to_the_origin() -> None:
    headers = {"WebHook-Request-Origin": "eventgrid.azure.net", "WebHook-Request-Rate": "120"}
    reply = handle_delivery("OPTIONS", headers, b"")
    assert reply.kind is ReplyKind.HANDSHAKE
    assert reply.status == 200
    assert reply.headers["WebHook-Allowed-Origin"] == "eventgrid.azure.net"
    assert reply.headers["WebHook-Allowed-Rate"] == "*"


def test_the_handshake_refuses_an_origin_not_allowed() -> None:
    reply = handle_delivery(
        "OPTIONS", {"webhook-request-origin": "evil.example"}, b"", allowed_origins=["eventgrid.azure.net"]
    )
    assert reply.status == 403
    assert "WebHook-Allowed-Origin" not in reply.headers
    allowed = handle_delivery(
        "OPTIONS", {"webhook-request-origin": "eventgrid.azure.net"}, b"", allowed_origins=["eventgrid.azure.net"]
    )
    assert allowed.headers["WebHook-Allowed-Origin"] == "eventgrid.azure.net"


def test_an_options_request_without_origin_gives_no_consent() -> None:
    reply = handle_delivery("OPTIONS", {}, b"")
    assert reply.status == 200
    assert "WebHook-Allowed-Origin" not in reply.headers
    assert reply.headers["Allow"] == "OPTIONS, POST"


@pytest.mark.parametrize(("body", "event_type"), [(SEED_RECEIVED, "SMSReceived"), (SEED_REPORT, "DeliveryReport")])
def test_the_seed_notifications_become_typed_events(body: bytes, event_type: str) -> None:
    reply = handle_delivery("POST", NOTIFICATION, body)
    assert reply.kind is ReplyKind.NOTIFICATION
    assert (reply.status, reply.body) == (200, b"")
    [event] = reply.events
    if event_type == "SMSReceived":
        assert isinstance(event.data, SmsReceivedData)
        assert event.data.message == "Great to connect with Azure Communication Services events"
    else:
        assert isinstance(event.data, SmsDeliveryReportReceivedData)
        assert event.data.delivery_status == "Delivered"


@pytest.mark.parametrize("casing", list(DataCasing))
def test_both_schemas_and_casings_parse_to_the_same_events(casing: DataCasing) -> None:
    events = [_received("Incoming_1"), _received("Incoming_2", "second")]
    bodies = [
        render_event_grid(events, casing),
        render_cloud_events_batch(events, casing),
    ]
    for body in bodies:
        assert handle_delivery("POST", NOTIFICATION, body).events == tuple(events)
    single = handle_delivery("POST", {"content-type": "application/cloudevents+json"}, render_cloud_event(events[0]))
    assert single.events == (events[0],)


def test_a_malformed_body_is_a_400_listing_the_problem() -> None:
    broken = orjson.loads(SEED_RECEIVED)
    del broken[0]["data"]["MessageId"]
    reply = handle_delivery("POST", NOTIFICATION, orjson.dumps(broken))
    assert reply.kind is ReplyKind.REJECTED
    assert reply.status == 400
    assert "[0].data.MessageId" in orjson.loads(reply.body)["error"]["message"]
    not_json = handle_delivery("POST", NOTIFICATION, b"{nope")
    assert not_json.status == 400
    assert "JSON" in (not_json.problem or "")


def test_other_methods_are_405_with_allow() -> None:
    reply = handle_delivery("GET", {}, b"")
    assert reply.status == 405
    assert reply.headers["Allow"] == "OPTIONS, POST"


def test_dedupe_skips_handled_and_in_flight_ids_and_repeats_inside_a_batch() -> None:
    dedupe = EventIdDeduper(capacity=10)
    first, second = _received("Incoming_1"), _received("Incoming_2")
    body = render_event_grid([first, first, second])
    reply = handle_delivery("POST", NOTIFICATION, body, dedupe=dedupe)
    assert [e.id for e in reply.events] == ["Incoming_1", "Incoming_2"]
    assert reply.duplicate_ids == ("Incoming_1",)
    # While the first copy is being handled, a concurrent duplicate is skipped.
    in_flight = handle_delivery("POST", NOTIFICATION, body, dedupe=dedupe)
    assert in_flight.events == ()
    # Handling failed: released ids are taken again when Event Grid retries.
    dedupe.release(e.id for e in reply.events)
    retry = handle_delivery("POST", NOTIFICATION, body, dedupe=dedupe)
    assert retry.events == (first, second)
    dedupe.remember(e.id for e in retry.events)
    again = handle_delivery("POST", NOTIFICATION, body, dedupe=dedupe)
    assert again.events == ()
    assert again.status == 200
    assert set(again.duplicate_ids) == {"Incoming_1", "Incoming_2"}


def test_the_deduper_forgets_the_least_recently_seen_first() -> None:
    dedupe = EventIdDeduper(capacity=2)
    dedupe.remember(["a", "b"])
    assert not dedupe.claim("a")  # a hit: a is now more recent than b
    dedupe.remember(["c"])
    assert "b" not in dedupe
    assert "a" in dedupe
    assert "c" in dedupe
    assert len(dedupe) == 2
    with pytest.raises(ValueError, match="capacity"):
        EventIdDeduper(capacity=0)


@given(st.lists(st.text(min_size=1, max_size=8), max_size=60), st.integers(min_value=1, max_value=20))
def test_the_deduper_never_holds_more_than_its_capacity(ids: list[str], capacity: int) -> None:
    dedupe = EventIdDeduper(capacity=capacity)
    dedupe.remember(ids)
    assert len(dedupe) == min(capacity, len(set(ids)))
    if ids:
        assert ids[-1] in dedupe


def test_events_match_the_parser_used_by_smsgrid_itself() -> None:
    assert handle_delivery("POST", NOTIFICATION, SEED_REPORT).events == tuple(parse_events(SEED_REPORT))


def test_as_e164_adds_the_plus_the_event_data_leaves_out() -> None:
    assert as_e164("14255550123") == "+14255550123"
    assert as_e164("+14255550123") == "+14255550123"
