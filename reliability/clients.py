"""How the scenarios talk to smsgrid: raw HMAC-signed sends (as the SDK signs them), the official SDK, the admin API.

Every client here is a real HTTP client on loopback; nothing is mocked.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any

import httpx
import orjson

from smsgrid.api.hmac_auth import authorization_header
from smsgrid.testing import SmsgridProcess, WebhookSink
from smsgrid.testing import plugin as _plugin

SENDER = "+18005550100"
OTHER_SENDER = "+18005550101"
SEND_PATH = "/sms?api-version=2021-03-07"
REPORT_EVENT = "Microsoft.Communication.SMSDeliveryReportReceived"
RECEIVED_EVENT = "Microsoft.Communication.SMSReceived"

# The same helpers the pytest plugin gives applications; the scenarios use them under these names.
subscribe = _plugin.subscribe


def close_sdk_client(client: Any) -> None:
    """SmsClient 1.1.0 has no close(); close its pipeline so its TLS connection ends before the server stops.
    Test code only: it reaches into the SDK. The library's way is smsgrid.testing.plugin.official_sms_client."""
    client._sms_service_client.close()


def http_date(offset_seconds: float = 0.0) -> str:
    """An RFC 1123 date as the SDK writes x-ms-date."""
    return formatdate(time.time() + offset_seconds, usegmt=True)


def handset(n: int) -> str:
    """A distinct, valid North American handset number for each n (the carrier delivers to it by default)."""
    return f"+1425{5550000 + n % 10_000_000:07d}"


def send_body(recipients: Sequence[str], message: str, *, report: bool = True, tag: str | None = None) -> bytes:
    """The body the official SDK sends for `SmsClient.send` (SPEC §2), with fresh repeatability ids."""
    first_sent = http_date()
    return orjson.dumps(
        {
            "from": SENDER,
            "smsRecipients": [
                {"to": to, "repeatabilityRequestId": str(uuid.uuid4()), "repeatabilityFirstSent": first_sent}
                for to in recipients
            ],
            "message": message,
            "smsSendOptions": {"enableDeliveryReport": report, **({"tag": tag} if tag else {})},
        }
    )


class SignedClient:
    """Raw ACS HMAC-signed requests over plain HTTP, signed exactly as azure-communication-sms signs them."""

    def __init__(self, server: SmsgridProcess, *, timeout: float = 10.0, access_key: str | None = None) -> None:
        self.server = server
        self.key = base64.b64decode(access_key or server.access_key)
        self.host = f"127.0.0.1:{server.port}"
        self.http = httpx.Client(base_url=server.base_url, timeout=timeout)

    def request(
        self, method: str, path_and_query: str, body: bytes = b"", *, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        signed = authorization_header(self.key, method, path_and_query, http_date(), self.host, body)
        if body:
            signed["Content-Type"] = "application/json"
        return self.http.request(method, path_and_query, content=body, headers={**signed, **(headers or {})})

    def send(self, recipients: Sequence[str], message: str, *, report: bool = True) -> httpx.Response:
        return self.request("POST", SEND_PATH, send_body(recipients, message, report=report))

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> SignedClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def accepted_ids(response: httpx.Response) -> list[str]:
    """The message ids of a 202's successful recipients (failures are per recipient inside the 202, SPEC §2)."""
    if response.status_code != 202:
        return []
    return [item["messageId"] for item in response.json()["value"] if item.get("successful")]


def sdk_client(server: SmsgridProcess, *, retry_total: int = 3) -> Any:
    """The official `SmsClient`, from the connection string, over TLS (as users build it)."""
    from azure.communication.sms import SmsClient

    return SmsClient.from_connection_string(
        server.connection_string, connection_verify=str(server.cert_path), retry_total=retry_total
    )


def admin_get(server: SmsgridProcess, path: str, **params: Any) -> Any:
    with server.admin() as admin:
        response = admin.get(path, params=params)
    response.raise_for_status()
    return response.json()


def inbound(server: SmsgridProcess, from_: str, message: str, to: str = SENDER) -> str:
    """An SMS from handset `from_` to an owned number; returns its message id (= the SMSReceived event id)."""
    with server.admin() as admin:
        response = admin.post("/admin/inbound", json={"from": from_, "to": to, "message": message})
    response.raise_for_status()
    return str(response.json()["messageId"])


# -- what a webhook sink received -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Arrival:
    """One event item inside one notification request."""

    event_id: str
    event_type: str
    delivery_count: int
    message: str | None
    at: float


def arrivals(sink: WebhookSink) -> list[Arrival]:
    """Every event item of every notification the sink got (Event Grid schema arrays), in arrival order."""
    out: list[Arrival] = []
    for request in sink.notifications():
        count = int(request.headers.get("aeg-delivery-count", "0"))
        for item in orjson.loads(request.body):
            data = item.get("data") or {}
            # camelCase by default, PascalCase with [resource] data_casing = "pascal"
            text = data.get("message", data.get("Message"))
            out.append(Arrival(item["id"], item["eventType"], count, text, request.at))
    return out


def tally(items: Iterable[Arrival], event_type: str | None = None) -> Counter[str]:
    """How many times each event id arrived."""
    return Counter(a.event_id for a in items if event_type is None or a.event_type == event_type)


def wait_until(check: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    """Poll `check` until it holds or `timeout` passes; bounded, returns the last answer."""
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
