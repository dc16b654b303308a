"""The message timeline with a carrier's notes (issue 14: every PDU of a message on its timeline)."""

from __future__ import annotations

from smsgrid.events.timestamps import Timestamp
from smsgrid.store.views import CarrierNoteView, MessageDetail
from smsgrid.ui.timeline import message_steps

T0 = Timestamp.parse("2026-01-01T00:00:00Z").epoch_seconds


def long_message(status: str = "delivered") -> MessageDetail:
    report = {
        "messageId": "m",
        "from": "+18005550100",
        "to": "+14255550123",
        "deliveryStatus": "Delivered",
        "deliveryStatusDetails": "No error.",
        "deliveryAttempts": [{"timestamp": "2026-01-01T00:00:05Z", "segmentsSucceeded": 2, "segmentsFailed": 0}],
        "receivedTimestamp": "2026-01-01T00:00:06Z",
        "tag": None,
    }
    return MessageDetail.model_validate(
        {
            "messageId": "m",
            "direction": "outgoing",
            "from": "+18005550100",
            "to": "+14255550123",
            "message": "x" * 200,
            "encoding": "GSM7",
            "segments": 2,
            "tag": None,
            "enableDeliveryReport": True,
            "status": status,
            "deliveryStatusCode": 2000 if status == "delivered" else None,
            "deliveryReport": report if status == "delivered" else None,
            "createdAt": "2026-01-01T00:00:00Z",
            "updatedAt": "2026-01-01T00:00:06Z",
            "apiVersion": None,
            "sendOptions": None,
            "attachments": None,
            "events": [],
        }
    )


def test_notes_and_the_reports_attempt_are_shown_in_time_order_between_accepted_and_the_outcome() -> None:
    notes = [
        CarrierNoteView(at=T0 + 1, text="submit_sm part 1/2 seq 7 on acme-1"),
        CarrierNoteView(at=T0 + 1, text="submit_sm part 2/2 seq 8 on acme-1"),
        CarrierNoteView(at=T0 + 4, text="deliver_sm receipt part 2 DELIVRD"),
        CarrierNoteView(at=T0 + 6, text="deliver_sm receipt part 1 DELIVRD"),
    ]
    steps = message_steps(long_message(), notes)
    assert [s.title for s in steps] == [
        "Accepted",
        "submit_sm part 1/2 seq 7 on acme-1",
        "submit_sm part 2/2 seq 8 on acme-1",
        "deliver_sm receipt part 2 DELIVRD",
        "Carrier attempt 1",
        "deliver_sm receipt part 1 DELIVRD",
        "Delivered",
    ]
    assert [s.state for s in steps[1:4]] == ["info", "info", "info"]
    assert steps[1].at == T0 + 1


def test_notes_of_a_message_still_waiting_come_before_the_wait() -> None:
    steps = message_steps(long_message("accepted"), [CarrierNoteView(at=T0 + 1, text="submit_sm seq 7")])
    assert [(s.title, s.state) for s in steps] == [
        ("Accepted", "done"),
        ("submit_sm seq 7", "info"),
        ("Waiting for the carrier", "waiting"),
    ]


def test_without_notes_the_timeline_is_as_before() -> None:
    assert [s.title for s in message_steps(long_message())] == ["Accepted", "Carrier attempt 1", "Delivered"]
