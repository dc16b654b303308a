"""The shared row assembly both store adapters use (store/rows.py): read models by column name, one inbound plan."""

from __future__ import annotations

import orjson

from smsgrid.store import rows
from smsgrid.store.records import CarrierPlan, InboundMessage, NewEvent, OutgoingMessage
from smsgrid.store.views import wire

ITEM = {
    "id": "e1",
    "topic": "/t",
    "subject": "/phonenumber/18005550100",
    "data": {"From": "+14255550123"},
    "eventType": "Microsoft.Communication.SMSReceived",
    "dataVersion": "1.0",
    "metadataVersion": "1",
    "eventTime": "2026-01-01T00:00:00.1234567Z",
}


def event(event_id: str) -> NewEvent:
    return NewEvent(event_id, "Microsoft.Communication.SMSReceived", "/s", None, 1.0, orjson.dumps(ITEM))


def inbound(n: int, opt_change: str | None = None, auto_reply: OutgoingMessage | None = None) -> InboundMessage:
    return InboundMessage(
        message_id=f"in-{n}",
        from_number=f"+1425555000{n}",
        to_number="+18005550100",
        body="STOP",
        encoding="GSM7",
        segments=1,
        created_at=float(n),
        event=event(f"e{n}"),
        opt_change=opt_change,
        auto_reply=auto_reply,
    )


def reply(n: int) -> OutgoingMessage:
    return OutgoingMessage(
        message_id=f"out-{n}",
        from_number="+18005550100",
        to_number=f"+1425555000{n}",
        body="help text",
        encoding="GSM7",
        segments=1,
        tag=None,
        delivery_report=False,
        repeatability_request_id=None,
        created_at=float(n),
        plan=CarrierPlan("Delivered", 2000, float(n)),
    )


def test_inbound_writes_every_message_then_the_auto_replies_and_the_opt_outs_in_order() -> None:
    writes = rows.inbound_writes([inbound(1, "out"), inbound(2, auto_reply=reply(2)), inbound(3, "in")])
    assert [(r[0], r[1], r[10]) for r in writes.messages] == [
        ("in-1", "incoming", "received"),
        ("in-2", "incoming", "received"),
        ("in-3", "incoming", "received"),
        ("out-2", "outgoing", "delivered"),  # an auto-reply is stored already delivered: no carrier work
    ]
    # The handset texted our number: the opt-out is "our number may not text that handset".
    assert writes.optouts == (
        ("out", "+18005550100", "+14255550001", 1.0),
        ("in", "+18005550100", "+14255550003", 3.0),
    )
    assert [e.event_id for e in writes.events] == ["e1", "e2", "e3"]
    assert rows.inbound_writes([]) == rows.InboundWrites((), (), ())


def test_an_event_row_is_read_by_column_name_into_its_model() -> None:
    row = {
        "seq": 9,
        "event_id": "e1",
        "event_type": "Microsoft.Communication.SMSReceived",
        "subject": "/s",
        "message_id": None,
        "published_at": 1.5,
        "item": memoryview(orjson.dumps(ITEM)),  # BLOB / BYTEA as a driver may hand it over
    }
    delivery = {
        "delivery_id": 4,
        "event_seq": 9,
        "subscription": "app",
        "state": "pending",
        "attempts": 1,
        "due_at": 31.5,
        "published_at": 1.5,
        "finished_at": None,
    }
    attempt = {
        "delivery_id": 4,
        "attempt": 1,
        "at": 2.0,
        "status": 503,
        "outcome": "Busy",
        "duration_ms": 1.23456,
        "error": None,
    }
    [detail] = rows.event_details([row], [delivery], [attempt])
    assert wire(detail) == {
        "seq": 9,
        "id": "e1",
        "eventType": "Microsoft.Communication.SMSReceived",
        "subject": "/s",
        "messageId": None,
        "publishedAt": "1970-01-01T00:00:01.5Z",
        "event": ITEM,
        "deliveries": [
            {
                "deliveryId": 4,
                "subscription": "app",
                "state": "pending",
                "deliveryCount": 1,
                "nextAttemptAt": "1970-01-01T00:00:31.5Z",
                "publishedAt": "1970-01-01T00:00:01.5Z",
                "finishedAt": None,
                "attempts": [
                    {
                        "attempt": 1,
                        "time": "1970-01-01T00:00:02Z",
                        "statusCode": 503,
                        "outcome": "Busy",
                        "durationMs": 1.235,
                        "error": None,
                    }
                ],
            }
        ],
    }
    assert wire(rows.event_view(row)) == {key: value for key, value in wire(detail).items() if key != "deliveries"}
    finished = rows.delivery_view({**delivery, "state": "delivered", "finished_at": 3.0}, [])
    assert finished.next_attempt_at is None  # due_at is a lease then, not a next attempt
