"""pytest plugin (entry point `smsgrid`): fixtures that run a real smsgrid and a subscribed webhook sink.

Example (see docs/testing.md)::

    from smsgrid.testing.plugin import inbound

    def test_inbound_reaches_the_app(smsgrid_server, subscribed_sink):
        inbound(smsgrid_server, "+14255550123", "+18005550100", "hello")
        event = subscribed_sink.wait_for_event("Microsoft.Communication.SMSReceived")
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from smsgrid.testing.process import SmsgridProcess, start_smsgrid
from smsgrid.testing.webhook_sink import WebhookSink


@pytest.fixture
def smsgrid_config() -> str | None:
    """Override to give the server a TOML configuration."""
    return None


@pytest.fixture
def smsgrid_time_scale() -> float | None:
    """Override to shrink retry delays, TTL and carrier delays (e.g. 0.001)."""
    return None


@pytest.fixture
def smsgrid_server(
    tmp_path: Path, smsgrid_config: str | None, smsgrid_time_scale: float | None
) -> Iterator[SmsgridProcess]:
    """A real `smsgrid serve` process on free ports with a temporary data dir."""
    process = start_smsgrid(tmp_path / "smsgrid", config=smsgrid_config, time_scale=smsgrid_time_scale)
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def webhook_sink() -> Iterator[WebhookSink]:
    with WebhookSink() as sink:
        yield sink


@pytest.fixture
def subscribed_sink(smsgrid_server: SmsgridProcess, webhook_sink: WebhookSink) -> WebhookSink:
    """The webhook sink, subscribed to every event of the server (Event Grid schema)."""
    subscribe(smsgrid_server, "test-sink", webhook_sink.url)
    return webhook_sink


@pytest.fixture
def sms_client(smsgrid_server: SmsgridProcess) -> Iterator[Any]:
    """An official `azure.communication.sms.SmsClient`, from the connection string, over TLS."""
    with official_sms_client(smsgrid_server.connection_string, connection_verify=str(smsgrid_server.cert_path)) as c:
        yield c


@contextlib.contextmanager
def official_sms_client(connection_string: str, *, connection_verify: str | bool = True) -> Iterator[Any]:
    """An official `SmsClient` whose connections are closed on leaving, so its TLS connection ends before the
    server stops. SmsClient 1.1.0 has neither close() nor a context manager; it accepts an azure-core transport
    (a public keyword), and closing a transport we made ourselves is public API of azure-core."""
    from azure.communication.sms import SmsClient
    from azure.core.pipeline.transport import RequestsTransport

    with RequestsTransport(connection_verify=connection_verify) as transport:
        yield SmsClient.from_connection_string(connection_string, transport=transport)


def subscribe(server: SmsgridProcess, name: str, url: str, **properties: Any) -> dict[str, Any]:
    """PUT an event subscription and return the answer; raises if the handshake did not succeed."""
    body = {"destination": {"endpointType": "WebHook", "properties": {"endpointUrl": url}}, **properties}
    with server.admin() as admin:
        response = admin.put(f"/admin/subscriptions/{name}", json=body)
    response.raise_for_status()
    answer: dict[str, Any] = response.json()
    return answer


def inbound(server: SmsgridProcess, from_: str, to: str, message: str) -> str:
    """An SMS from a handset to one of the server's numbers; returns its message id."""
    with server.admin() as admin:
        response = admin.post("/admin/inbound", json={"from": from_, "to": to, "message": message})
    response.raise_for_status()
    return str(response.json()["messageId"])
