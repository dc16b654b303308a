"""Every outcome of the simulated carrier (SPEC §4 `[[carrier.rules]]`, docs/carrier.md magic numbers), seen both in
`GET /admin/messages/{id}` and in the `SMSDeliveryReportReceived` delivered to a subscribed webhook, parsed with
`azure.eventgrid.EventGridEvent.from_dict`.
"""

from __future__ import annotations

from typing import Any

import pytest

from smsgrid.events.timestamps import Timestamp
from smsgrid.testing import SmsgridProcess, WebhookSink
from tests.support_sms import (
    BLOCKED_4005,
    FAILED_NO_CODE,
    NO_REPORT,
    SENDER,
    SILENT_BUT_ANSWERS,
    SILENT_REPLY,
    SLOW_1000_MS,
    SLOW_DELAY_MS,
    TWO_ATTEMPTS,
    admin_message,
    answers_stop,
    is_final,
    messages_with,
    reports_for,
    wait_for_message,
    wait_for_received,
    wait_for_report,
)

# DeliveryStatusDetails texts (ACS "Troubleshooting response codes for SMS"; 2000 and 4007 as Azure sends them).
DETAILS = {
    2000: "No error.",
    4001: "Message is rejected due to invalid Source/From number format.",
    4004: "Message failed to deliver since Destination/To number doesn't exist.",
    4005: "Message blocked by Destination carrier.",
    4007: "Sender blocked for given recipient.",
    5000: "Message failed to deliver. Reach out Microsoft support team for more details.",
    5001: "Message failed to deliver due to temporary unavailability of application/system.",
    9999: "Message failed to deliver due to unknown error/failure.",
}
TWO_SEGMENTS = "x" * 200


def _send(client: Any, to: str, message: str = "carrier test", tag: str | None = None) -> str:
    [result] = client.send(from_=SENDER, to=to, message=message, enable_delivery_report=True, tag=tag)
    assert result.successful, result.error_message
    return str(result.message_id)


def _check_report(server: SmsgridProcess, sink: WebhookSink, message_id: str, status: str, code: int) -> Any:
    """The same outcome in the admin API, in the stored report and in the delivered event."""
    stored = wait_for_message(server, message_id, is_final)
    assert stored["status"] == status.lower()
    assert stored["deliveryStatusCode"] == code
    event = wait_for_report(sink, message_id)
    assert event.event_type == "Microsoft.Communication.SMSDeliveryReportReceived"
    assert event.id == event.data["messageId"] == message_id
    assert event.data["deliveryStatus"] == status
    assert event.data["deliveryStatusDetails"] == DETAILS[code]
    assert event.data["from"] == SENDER.lstrip("+")
    assert stored["deliveryReport"]["deliveryStatus"] == status
    assert stored["deliveryReport"]["deliveryStatusDetails"] == DETAILS[code]
    [stored_event] = stored["events"]
    assert stored_event["id"] == message_id
    return event


def test_delivered_by_default(sms_server: SmsgridProcess, sms_sink: WebhookSink, http_client: Any) -> None:
    message_id = _send(http_client, "+14255553001", TWO_SEGMENTS, tag="plain")
    event = _check_report(sms_server, sms_sink, message_id, "Delivered", 2000)
    assert event.data["to"] == "+14255553001"
    assert event.data["tag"] == "plain"
    [attempt] = event.data["deliveryAttempts"]
    assert (attempt["segmentsSucceeded"], attempt["segmentsFailed"]) == (2, 0)


def test_rule_failed_with_a_code(sms_server: SmsgridProcess, sms_sink: WebhookSink, http_client: Any) -> None:
    event = _check_report(sms_server, sms_sink, _send(http_client, BLOCKED_4005), "Failed", 4005)
    [attempt] = event.data["deliveryAttempts"]
    assert (attempt["segmentsSucceeded"], attempt["segmentsFailed"]) == (0, 1)


def test_rule_failed_without_a_code_is_5000(
    sms_server: SmsgridProcess, sms_sink: WebhookSink, http_client: Any
) -> None:
    _check_report(sms_server, sms_sink, _send(http_client, FAILED_NO_CODE), "Failed", 5000)


def test_rule_with_two_attempts(sms_server: SmsgridProcess, sms_sink: WebhookSink, http_client: Any) -> None:
    event = _check_report(sms_server, sms_sink, _send(http_client, TWO_ATTEMPTS, TWO_SEGMENTS), "Delivered", 2000)
    first, last = event.data["deliveryAttempts"]
    assert (first["segmentsSucceeded"], first["segmentsFailed"]) == (0, 2)
    assert (last["segmentsSucceeded"], last["segmentsFailed"]) == (2, 0)
    assert Timestamp.parse(first["timestamp"]).epoch_seconds <= Timestamp.parse(last["timestamp"]).epoch_seconds
    assert len(admin_message(sms_server, event.id)["deliveryReport"]["deliveryAttempts"]) == 2


def test_rule_with_a_delay(sms_server: SmsgridProcess, sms_sink: WebhookSink, http_client: Any) -> None:
    message_id = _send(http_client, SLOW_1000_MS)
    event = _check_report(sms_server, sms_sink, message_id, "Delivered", 2000)
    created = Timestamp.parse(admin_message(sms_server, message_id)["createdAt"]).epoch_seconds
    received = Timestamp.parse(event.data["receivedTimestamp"]).epoch_seconds
    # A lower bound only: the carrier must not report before the configured delay.
    assert received - created >= SLOW_DELAY_MS / 1000 - 0.01


def test_rule_no_report(sms_server: SmsgridProcess, sms_sink: WebhookSink, http_client: Any) -> None:
    silent = _send(http_client, NO_REPORT)
    stored = wait_for_message(sms_server, silent, is_final)
    assert stored["status"] == "sent"
    assert stored["deliveryReport"] is None
    assert stored["events"] == []
    wait_for_report(sms_sink, _send(http_client, "+14255553002"))
    assert reports_for(sms_sink, silent) == []


def test_rule_no_report_with_a_reply(sms_server: SmsgridProcess, sms_sink: WebhookSink, http_client: Any) -> None:
    """The carrier reports nothing, but the handset got the message and answers."""
    silent = _send(http_client, SILENT_BUT_ANSWERS)
    reply = wait_for_received(sms_sink, SILENT_BUT_ANSWERS, SILENT_REPLY)
    assert reply.data["to"] == SENDER.lstrip("+")
    stored = wait_for_message(sms_server, silent, is_final)
    assert stored["status"] == "sent"
    assert stored["events"] == []
    assert reports_for(sms_sink, silent) == []


def test_rule_reply_stop_opts_the_handset_out(
    sms_server: SmsgridProcess, sms_sink: WebhookSink, http_client: Any
) -> None:
    handset = answers_stop(0)
    _check_report(sms_server, sms_sink, _send(http_client, handset), "Delivered", 2000)
    reply = wait_for_received(sms_sink, handset, "STOP")
    assert reply.data["to"] == SENDER.lstrip("+")
    assert reply.subject == "/phonenumber/18005550100"
    assert reply.id.startswith("Incoming_")
    assert any(m["direction"] == "incoming" and m["message"] == "STOP" for m in messages_with(sms_server, handset))
    # The handset said STOP: the next message is accepted and then fails with 4007 (SPEC §2, Opt-out).
    _check_report(sms_server, sms_sink, _send(http_client, handset), "Failed", 4007)


@pytest.mark.parametrize(
    ("code", "status"),
    [(2000, "Delivered"), (4001, "Failed"), (4004, "Failed"), (4005, "Failed"), (5001, "Failed"), (9999, "Failed")],
)
def test_magic_numbers(
    sms_server: SmsgridProcess, sms_sink: WebhookSink, http_client: Any, code: int, status: str
) -> None:
    _check_report(sms_server, sms_sink, _send(http_client, f"+1500555{code:04d}"), status, code)


def test_magic_number_without_a_report(sms_server: SmsgridProcess, http_client: Any) -> None:
    stored = wait_for_message(sms_server, _send(http_client, "+15005550000"), is_final)
    assert stored["status"] == "sent"
    assert stored["events"] == []
