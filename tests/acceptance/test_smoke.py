"""The shortest end-to-end path: official SDK send with a delivery report → the subscribed webhook gets it."""

from __future__ import annotations

from typing import Any

from azure.eventgrid import EventGridEvent, SystemEventNames

from smsgrid.events.models import SmsDeliveryReportReceivedData
from smsgrid.testing import SmsgridProcess, WebhookSink


def test_sdk_send_reaches_the_webhook_as_a_delivery_report(
    smsgrid_server: SmsgridProcess, subscribed_sink: WebhookSink, sms_client: Any
) -> None:
    [result] = sms_client.send(
        from_="+18005550100", to="+14255550123", message="hi", enable_delivery_report=True, tag="smoke"
    )
    assert result.successful
    assert result.http_status_code == 202
    event = subscribed_sink.wait_for_event(
        SystemEventNames.AcsSmsDeliveryReportReceivedEventName, where=lambda e: e.id == result.message_id
    )
    assert isinstance(event.data, SmsDeliveryReportReceivedData)
    assert event.data.delivery_status == "Delivered"
    assert event.data.tag == "smoke"
    [item] = subscribed_sink.notifications()[0].json()
    parsed = EventGridEvent.from_dict(item)
    assert parsed.event_type == "Microsoft.Communication.SMSDeliveryReportReceived"
    assert parsed.data["messageId"] == result.message_id
