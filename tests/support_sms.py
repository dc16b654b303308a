"""Shared pieces of the SMS acceptance tests: the carrier configuration, raw HMAC requests, waiting on state.

Everything here talks to a real smsgrid process over loopback; nothing is mocked.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from email.utils import formatdate
from typing import Any

import httpx
from azure.eventgrid import EventGridEvent, SystemEventNames

from smsgrid.api.hmac_auth import authorization_header
from smsgrid.testing import SmsgridProcess, WebhookSink

SENDER = "+18005550100"
OTHER_SENDER = "+18005550101"
HELP_REPLY = "smsgrid tests: reply STOP to opt out, START to opt back in."
REPORT_EVENT = SystemEventNames.AcsSmsDeliveryReportReceivedEventName
RECEIVED_EVENT = SystemEventNames.AcsSmsReceivedEventName
OPTOUT_API = "2025-09-17"
DELIVERY_REPORT_API = "2026-01-23"

# One handset per carrier behaviour (SPEC §4, [[carrier.rules]]: first match wins, glob on the recipient).
TWO_ATTEMPTS = "+12065550101"
BLOCKED_4005 = "+12065550102"
NO_REPORT = "+12065550103"
SLOW_1000_MS = "+12065550104"
FAILED_NO_CODE = "+12065550106"
SILENT_BUT_ANSWERS = "+12065550107"
SILENT_REPLY = "got it, thanks"
SLOW_DELAY_MS = 1000


def answers_stop(n: int) -> str:
    """A handset that texts back STOP once it received a message (rule `+1206555015*`)."""
    return f"+120655501{50 + n}"


SMS_CONFIG = f"""
[resource]
help_reply = "{HELP_REPLY}"

[carrier]
delay_ms = 50

[[carrier.rules]]
to = "{TWO_ATTEMPTS}"
outcome = "Delivered"
attempts = 2

[[carrier.rules]]
to = "{BLOCKED_4005}"
outcome = "Failed"
code = 4005

[[carrier.rules]]
to = "{NO_REPORT}"
outcome = "NoReport"

[[carrier.rules]]
to = "{SLOW_1000_MS}"
delay_ms = {SLOW_DELAY_MS}

[[carrier.rules]]
to = "{FAILED_NO_CODE}"
outcome = "Failed"

[[carrier.rules]]
to = "{SILENT_BUT_ANSWERS}"
outcome = "NoReport"
reply = "{SILENT_REPLY}"

[[carrier.rules]]
to = "+1206555015*"
reply = "STOP"
"""


def close_sms_client(client: Any) -> None:
    """SmsClient 1.1.0 has no close(); close its pipeline so its TLS connection ends before the server stops.
    Test code only: it reaches into the SDK. The library's way is smsgrid.testing.plugin.official_sms_client."""
    client._sms_service_client.close()


def http_date(offset_seconds: float = 0.0) -> str:
    """An RFC 1123 date as the SDK writes x-ms-date."""
    return formatdate(time.time() + offset_seconds, usegmt=True)


def signed_request(
    server: SmsgridProcess,
    method: str,
    path_and_query: str,
    body: bytes = b"",
    *,
    access_key: str | None = None,
    date: str | None = None,
    sent_body: bytes | None = None,
) -> httpx.Response:
    """A raw ACS HMAC-signed request, as the SDK would sign it (SPEC §2). `sent_body` replaces the body after
    signing (a tampered request); `date` signs with another x-ms-date (a stale request)."""
    host = f"127.0.0.1:{server.port}"
    key = base64.b64decode(access_key or server.access_key)
    headers = authorization_header(key, method, path_and_query, date or http_date(), host, body)
    if body:
        headers["Content-Type"] = "application/json"
    with httpx.Client(base_url=server.base_url, timeout=30.0) as client:
        return client.request(method, path_and_query, content=body if sent_body is None else sent_body, headers=headers)


def admin_message(server: SmsgridProcess, message_id: str) -> dict[str, Any]:
    with server.admin() as admin:
        response = admin.get(f"/admin/messages/{message_id}")
    response.raise_for_status()
    found: dict[str, Any] = response.json()
    return found


def messages_with(server: SmsgridProcess, number: str) -> list[dict[str, Any]]:
    """Every message to or from `number`, newest first."""
    with server.admin() as admin:
        response = admin.get("/admin/messages", params={"number": number, "limit": 1000})
    response.raise_for_status()
    found: list[dict[str, Any]] = response.json()["value"]
    return found


def wait_for_message(
    server: SmsgridProcess,
    message_id: str,
    predicate: Callable[[dict[str, Any]], bool],
    timeout: float = 15.0,
) -> dict[str, Any]:
    """Poll `GET /admin/messages/{id}` until `predicate` holds; the last state is in the error otherwise."""
    deadline = time.monotonic() + timeout
    last: dict[str, Any] = {}
    while time.monotonic() < deadline:
        last = admin_message(server, message_id)
        if predicate(last):
            return last
        time.sleep(0.05)
    raise TimeoutError(f"message {message_id} did not reach the expected state within {timeout} s: {last}")


def is_final(message: dict[str, Any]) -> bool:
    return message["status"] in ("delivered", "failed", "sent")


def delivered_items(sink: WebhookSink, event_type: str) -> list[EventGridEvent]:
    """Every item of that type the sink received, parsed with the official SDK (one item of the array)."""
    return [EventGridEvent.from_dict(item) for item in sink.iter_items() if item.get("eventType") == event_type]


def reports_for(sink: WebhookSink, message_id: str) -> list[EventGridEvent]:
    return [event for event in delivered_items(sink, REPORT_EVENT) if event.id == message_id]


def wait_for_report(sink: WebhookSink, message_id: str, timeout: float = 15.0) -> EventGridEvent:
    sink.wait_for(lambda s: bool(reports_for(s, message_id)), timeout)
    return reports_for(sink, message_id)[0]


def received_from(sink: WebhookSink, handset: str) -> list[EventGridEvent]:
    """SMSReceived items whose From is `handset` (digits without +, SPEC §1)."""
    digits = handset.lstrip("+")
    return [event for event in delivered_items(sink, RECEIVED_EVENT) if event.data["from"] == digits]


def wait_for_received(sink: WebhookSink, handset: str, message: str, timeout: float = 15.0) -> EventGridEvent:
    def matching(s: WebhookSink) -> list[EventGridEvent]:
        return [event for event in received_from(s, handset) if event.data["message"] == message]

    sink.wait_for(lambda s: bool(matching(s)), timeout)
    return matching(sink)[0]


def inbound(server: SmsgridProcess, from_: str, to: str, message: str) -> str:
    with server.admin() as admin:
        response = admin.post("/admin/inbound", json={"from": from_, "to": to, "message": message})
    assert response.status_code == 202, response.text
    return str(response.json()["messageId"])


def wait_for_dead_letters(server: SmsgridProcess, count: int, timeout: float = 15) -> list[dict[str, Any]]:
    """The admin API's dead letters once there are at least `count` (polled, bounded by `timeout`)."""
    deadline = time.monotonic() + timeout
    while True:
        with server.admin() as admin:
            letters: list[dict[str, Any]] = admin.get("/admin/deadletters").json()["value"]
        if len(letters) >= count:
            return letters
        assert time.monotonic() < deadline, letters
        time.sleep(0.05)
