"""Opt-out keywords in inbound SMS, the opt-out API and the delivery-report lookup (SPEC §2).

SDK 1.1.0 has no client for `POST /sms/optouts:*` (api-version 2025-09-17) nor `GET /deliveryReports/{id}`
(2026-01-23), so these go as raw requests signed exactly as the SDK signs (`smsgrid.api.hmac_auth`).
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from smsgrid.testing import SmsgridProcess, WebhookSink
from tests.support_sms import (
    DELIVERY_REPORT_API,
    HELP_REPLY,
    OPTOUT_API,
    OTHER_SENDER,
    SENDER,
    inbound,
    is_final,
    messages_with,
    signed_request,
    wait_for_message,
    wait_for_received,
    wait_for_report,
)


def _send(client: Any, to: str, from_: str = SENDER) -> str:
    [result] = client.send(from_=from_, to=to, message="opt-out test", enable_delivery_report=True)
    assert result.successful, result.error_message
    assert result.http_status_code == 202
    return str(result.message_id)


def _outcome(server: SmsgridProcess, sink: WebhookSink, message_id: str) -> tuple[str, int, str]:
    """(admin status, admin code, delivered DeliveryStatus) once the carrier finished."""
    stored = wait_for_message(server, message_id, is_final)
    report = wait_for_report(sink, message_id)
    return stored["status"], stored["deliveryStatusCode"], report.data["deliveryStatus"]


def _optouts(server: SmsgridProcess, action: str, to: list[str], from_: str = SENDER) -> Any:
    body = orjson.dumps({"from": from_, "recipients": [{"to": number} for number in to]})
    return signed_request(server, "POST", f"/sms/optouts:{action}?api-version={OPTOUT_API}", body)


def test_inbound_stop_then_start(sms_server: SmsgridProcess, sms_sink: WebhookSink, http_client: Any) -> None:
    handset = "+14255554001"
    stop_id = inbound(sms_server, handset, SENDER, "Stop")
    # Keywords are still delivered as SMSReceived (SPEC §2).
    assert wait_for_received(sms_sink, handset, "Stop").id == stop_id
    assert _outcome(sms_server, sms_sink, _send(http_client, handset)) == ("failed", 4007, "Failed")
    # The opt-out is per sender: the resource's other number may still text the handset.
    assert _outcome(sms_server, sms_sink, _send(http_client, handset, OTHER_SENDER)) == ("delivered", 2000, "Delivered")

    inbound(sms_server, handset, SENDER, "START")
    wait_for_received(sms_sink, handset, "START")
    assert _outcome(sms_server, sms_sink, _send(http_client, handset)) == ("delivered", 2000, "Delivered")


@pytest.mark.parametrize("keyword", ["STOPALL", "unsubscribe", " Cancel ", "END", "QUIT"])
def test_every_opt_out_keyword(
    sms_server: SmsgridProcess, sms_sink: WebhookSink, http_client: Any, keyword: str
) -> None:
    handset = f"+142555541{len(keyword):02d}"
    inbound(sms_server, handset, SENDER, keyword)
    wait_for_received(sms_sink, handset, keyword)
    assert _outcome(sms_server, sms_sink, _send(http_client, handset)) == ("failed", 4007, "Failed")
    inbound(sms_server, handset, SENDER, "unstop")
    wait_for_received(sms_sink, handset, "unstop")
    assert _outcome(sms_server, sms_sink, _send(http_client, handset)) == ("delivered", 2000, "Delivered")


def test_a_sentence_containing_stop_is_not_a_keyword(
    sms_server: SmsgridProcess, sms_sink: WebhookSink, http_client: Any
) -> None:
    handset = "+14255554002"
    inbound(sms_server, handset, SENDER, "please stop by later")
    wait_for_received(sms_sink, handset, "please stop by later")
    assert _outcome(sms_server, sms_sink, _send(http_client, handset)) == ("delivered", 2000, "Delivered")


def test_help_gets_the_configured_reply_as_an_outgoing_message(
    sms_server: SmsgridProcess, sms_sink: WebhookSink
) -> None:
    handset = "+14255554003"
    inbound(sms_server, handset, SENDER, "help")
    assert wait_for_received(sms_sink, handset, "help").data["to"] == SENDER.lstrip("+")
    [reply] = [m for m in messages_with(sms_server, handset) if m["direction"] == "outgoing"]
    assert reply["from"] == SENDER
    assert reply["to"] == handset
    assert reply["message"] == HELP_REPLY


def test_opt_out_api(sms_server: SmsgridProcess, sms_sink: WebhookSink, http_client: Any) -> None:
    handset = "+14255554004"
    added = _optouts(sms_server, "add", [handset, "bogus"])
    assert added.status_code == 200, added.text
    first, bad = added.json()["value"]
    assert first == {"to": handset, "httpStatusCode": 200, "isOptedOut": True}
    assert bad["to"] == "bogus"
    assert bad["httpStatusCode"] == 400
    assert bad["errorMessage"]

    checked = _optouts(sms_server, "check", [handset, "+14255554005"]).json()["value"]
    assert [(c["to"], c["isOptedOut"]) for c in checked] == [(handset, True), ("+14255554005", False)]
    assert _outcome(sms_server, sms_sink, _send(http_client, handset)) == ("failed", 4007, "Failed")
    # Per sender: the other owned number is not opted out.
    assert _optouts(sms_server, "check", [handset], OTHER_SENDER).json()["value"][0]["isOptedOut"] is False

    removed = _optouts(sms_server, "remove", [handset]).json()["value"]
    assert removed == [{"to": handset, "httpStatusCode": 200, "isOptedOut": False}]
    assert _optouts(sms_server, "check", [handset]).json()["value"][0]["isOptedOut"] is False
    assert _outcome(sms_server, sms_sink, _send(http_client, handset)) == ("delivered", 2000, "Delivered")


def test_opt_out_api_refusals(sms_server: SmsgridProcess) -> None:
    # A sender the resource does not own: 401, as the send API answers it.
    unowned = _optouts(sms_server, "add", ["+14255554006"], from_="+14255550999")
    assert unowned.status_code == 401
    assert unowned.json() == {"error": {"code": "Unauthorized", "message": ""}}
    assert "+14255550999" in unowned.headers["x-smsgrid-reason"]
    body = orjson.dumps({"from": SENDER, "recipients": [{"to": "+14255554006"}]})
    old_version = signed_request(sms_server, "POST", "/sms/optouts:add?api-version=2021-03-07", body)
    assert old_version.status_code == 400
    assert old_version.json()["error"]["code"] == "UnsupportedApiVersion"
    unknown_action = signed_request(sms_server, "POST", f"/sms/optouts:erase?api-version={OPTOUT_API}", body)
    assert unknown_action.status_code == 404
    too_many = _optouts(sms_server, "add", [f"+1425555{n:04d}" for n in range(101)])
    assert too_many.status_code == 400
    checked = _optouts(sms_server, "check", ["+14255554006"]).json()["value"]
    assert checked[0]["isOptedOut"] is False


def test_delivery_report_lookup(sms_server: SmsgridProcess, sms_sink: WebhookSink, http_client: Any) -> None:
    [result] = http_client.send(
        from_=SENDER, to="+15005554005", message="look me up", enable_delivery_report=True, tag="lookup"
    )
    wait_for_report(sms_sink, result.message_id)
    found = signed_request(sms_server, "GET", f"/deliveryReports/{result.message_id}?api-version={DELIVERY_REPORT_API}")
    assert found.status_code == 200, found.text
    report = found.json()
    assert report["messageId"] == result.message_id
    assert report["deliveryStatus"] == "Failed"
    assert report["deliveryStatusDetails"] == "Message blocked by Destination carrier."
    assert report["tag"] == "lookup"
    assert report["to"] == "+15005554005"
    assert report["from"] == SENDER  # E.164 here, unlike the event's digits-only From
    assert len(report["deliveryAttempts"]) == 1
    assert report["receivedTimestamp"]

    missing = signed_request(sms_server, "GET", f"/deliveryReports/Outgoing_nope?api-version={DELIVERY_REPORT_API}")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    problem = missing.json()
    assert (problem["status"], problem["title"]) == (404, "Not Found")
    assert problem["type"] == "https://tools.ietf.org/html/rfc9110#section-15.5.5"
    old = signed_request(sms_server, "GET", f"/deliveryReports/{result.message_id}?api-version=2021-03-07")
    assert old.status_code == 400
