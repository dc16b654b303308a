"""smsgrid.consumer.flask_adapter in a real Flask app (werkzeug server on loopback), subscribed to a real smsgrid.

Flask is not a dependency of smsgrid: without it this test is skipped.
"""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest

from smsgrid.consumer import EntraTokenVerifier, EventIdDeduper
from smsgrid.consumer.flask_adapter import event_grid_view
from smsgrid.events import SMS_RECEIVED, Event, SmsReceivedData
from smsgrid.testing import SmsgridProcess, free_port
from smsgrid.testing.plugin import inbound, subscribe

flask: Any = pytest.importorskip("flask")
serving: Any = pytest.importorskip("werkzeug.serving")


def test_a_flask_app_validates_and_receives_events(smsgrid_server: SmsgridProcess) -> None:
    received: list[Event] = []
    arrived = threading.Event()

    def on_event(event: Event) -> None:
        received.append(event)
        arrived.set()

    app = flask.Flask("consumer-test")
    app.add_url_rule("/events", view_func=event_grid_view(on_event, dedupe=EventIdDeduper()))
    server = serving.make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="flask-consumer", daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/events"
        assert subscribe(smsgrid_server, "flask-eg", url)["properties"]["provisioningState"] == "Succeeded"
        cloud = subscribe(smsgrid_server, "flask-ce", url, eventDeliverySchema="CloudEventSchemaV1_0")
        assert cloud["properties"]["provisioningState"] == "Succeeded"  # the OPTIONS handshake, answered by us
        message_id = inbound(smsgrid_server, "+14255550123", "+18005550100", "hello flask")
        assert arrived.wait(10), "no event arrived"
        event = received[0]
        assert (event.id, event.event_type) == (message_id, SMS_RECEIVED)
        assert isinstance(event.data, SmsReceivedData)
        assert event.data.message == "hello flask"
    finally:
        server.shutdown()
        thread.join(timeout=10)


def test_a_flask_app_with_an_entra_verifier_accepts_smsgrids_tokens_only(smsgrid_server: SmsgridProcess) -> None:
    received: list[Event] = []
    arrived = threading.Event()

    def on_event(event: Event) -> None:
        received.append(event)
        arrived.set()

    audience = "api://flask-webhook"
    verifier = EntraTokenVerifier.for_smsgrid(
        smsgrid_server.base_url, audience=audience, issuer_base_url=smsgrid_server.tls_url
    )
    app = flask.Flask("consumer-entra-test")
    app.add_url_rule("/events", view_func=event_grid_view(on_event, verifier=verifier))
    server = serving.make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="flask-entra-consumer", daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/events"
        tenant = "00000000-5e55-4000-8000-000000000000"
        destination = {
            "endpointType": "WebHook",
            "properties": {
                "endpointUrl": url,
                "azureActiveDirectoryTenantId": tenant,
                "azureActiveDirectoryApplicationIdOrUri": audience,
            },
        }
        # The CloudEvents OPTIONS handshake carries the token too.
        answer = subscribe(
            smsgrid_server, "flask-entra", url, destination=destination, eventDeliverySchema="CloudEventSchemaV1_0"
        )
        assert answer["properties"]["provisioningState"] == "Succeeded"
        message_id = inbound(smsgrid_server, "+14255550123", "+18005550100", "hello protected flask")
        assert arrived.wait(10), "no event arrived"
        assert received[0].id == message_id
        assert httpx.post(url, json=[]).status_code == 401
        assert httpx.options(url, headers={"WebHook-Request-Origin": "eventgrid.azure.net"}).status_code == 401
    finally:
        server.shutdown()
        thread.join(timeout=10)
