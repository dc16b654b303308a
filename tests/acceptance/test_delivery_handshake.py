"""Endpoint validation before any delivery (SPEC §3 "Validation handshake", "CloudEvents schema handshake").

Every test that checks "nothing was delivered" also subscribes a healthy control receiver and waits until it
got the same event, so the negative assertion is made after the engine has routed and pushed it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from smsgrid.testing import SmsgridProcess, WebhookSink, start_smsgrid
from smsgrid.testing.plugin import inbound, subscribe

SENDER = "+14255550123"
OWNED = "+18005550100"
SMS_RECEIVED = "Microsoft.Communication.SMSReceived"
VALIDATION_EVENT = "Microsoft.EventGrid.SubscriptionValidationEvent"
CLOUD_EVENTS = "CloudEventSchemaV1_0"


def webhook(url: str) -> dict[str, Any]:
    return {"endpointType": "WebHook", "properties": {"endpointUrl": url}}


def put(server: SmsgridProcess, name: str, body: dict[str, Any]) -> dict[str, Any]:
    with server.admin() as admin:
        response = admin.put(f"/admin/subscriptions/{name}", json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def state_of(server: SmsgridProcess, name: str) -> str:
    with server.admin() as admin:
        response = admin.get(f"/admin/subscriptions/{name}")
    assert response.status_code == 200, response.text
    return str(response.json()["properties"]["provisioningState"])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmsgridProcess]:
    # time-scale 0.01: the 10-minute manual validation window lasts 6 s, ample for the test to open the link.
    with start_smsgrid(tmp_path_factory.mktemp("handshake"), time_scale=0.01) as process:
        yield process


@pytest.fixture(scope="module")
def control(server: SmsgridProcess) -> Iterator[WebhookSink]:
    """A validated receiver of every event: once it has an event, every subscription has been offered it."""
    with WebhookSink() as sink:
        subscribe(server, "control", sink.url)
        yield sink


def publish_and_wait(server: SmsgridProcess, control: WebhookSink, text: str) -> str:
    message_id = inbound(server, SENDER, OWNED, text)
    control.wait_for_event(SMS_RECEIVED, where=lambda e: e.id == message_id)
    return message_id


def test_sync_validation_succeeds_and_events_flow(server: SmsgridProcess, control: WebhookSink) -> None:
    with WebhookSink(handshake="sync") as sink:
        answer = put(server, "sync-endpoint", {"destination": webhook(sink.url)})
        assert answer["properties"]["provisioningState"] == "Succeeded"
        [validation] = sink.validations()
        assert validation.method == "POST"
        assert validation.headers["aeg-event-type"] == "SubscriptionValidation"
        [item] = validation.json()
        assert item["eventType"] == VALIDATION_EVENT
        assert item["subject"] == ""
        assert item["dataVersion"] == "1"
        assert item["metadataVersion"] == "1"
        assert {"id", "topic", "eventTime"} <= set(item)
        assert item["data"]["validationCode"]
        assert item["data"]["validationUrl"].startswith("http")
        message_id = publish_and_wait(server, control, "after sync validation")
        sink.wait_for_event(SMS_RECEIVED, where=lambda e: e.id == message_id)


def test_manual_validation_waits_for_a_get_on_the_validation_url(server: SmsgridProcess, control: WebhookSink) -> None:
    with WebhookSink(handshake="manual") as sink:
        answer = put(server, "manual-endpoint", {"destination": webhook(sink.url)})
        assert answer["properties"]["provisioningState"] == "AwaitingManualAction"
        assert state_of(server, "manual-endpoint") == "AwaitingManualAction"

        before = publish_and_wait(server, control, "before manual validation")
        assert sink.notifications() == [], "an endpoint awaiting manual validation got an event"

        [validation] = sink.validations()
        url = validation.json()[0]["data"]["validationUrl"]
        opened = httpx.get(url, timeout=10.0)
        assert opened.status_code == 200, opened.text
        assert state_of(server, "manual-endpoint") == "Succeeded"
        # The link works once.
        assert httpx.get(url, timeout=10.0).status_code == 400

        after = publish_and_wait(server, control, "after manual validation")
        sink.wait_for_event(SMS_RECEIVED, where=lambda e: e.id == after)
        assert before not in {e.id for e in sink.events()}


def test_a_wrong_validation_code_does_not_validate(server: SmsgridProcess) -> None:
    with WebhookSink(handshake="manual") as sink:
        put(server, "manual-wrong-code", {"destination": webhook(sink.url)})
        url = sink.validations()[0].json()[0]["data"]["validationUrl"]
        forged = url.split("?code=")[0] + "?code=not-the-code"
        assert httpx.get(forged, timeout=10.0).status_code == 400
        assert state_of(server, "manual-wrong-code") == "AwaitingManualAction"


def test_a_refused_validation_fails_and_nothing_is_delivered(server: SmsgridProcess, control: WebhookSink) -> None:
    with WebhookSink(handshake="refuse") as sink:
        answer = put(server, "refusing-endpoint", {"destination": webhook(sink.url)})
        assert answer["properties"]["provisioningState"] == "Failed"
        assert "400" in answer["properties"]["provisioningMessage"]
        assert len(sink.validations()) == 1
        publish_and_wait(server, control, "to a refused endpoint")
        assert sink.notifications() == []


def test_an_unreachable_endpoint_fails_validation(server: SmsgridProcess) -> None:
    with WebhookSink() as sink:
        url = sink.url
    answer = put(server, "unreachable-endpoint", {"destination": webhook(url)})
    assert answer["properties"]["provisioningState"] == "Failed"


@pytest.mark.parametrize("allowed", ["*", "eventgrid.azure.net"])
def test_cloud_events_options_handshake_with_consent(
    server: SmsgridProcess, control: WebhookSink, allowed: str
) -> None:
    with WebhookSink(allow_origin=allowed) as sink:
        name = "ce-consent-any" if allowed == "*" else "ce-consent-origin"
        answer = put(server, name, {"destination": webhook(sink.url), "eventDeliverySchema": CLOUD_EVENTS})
        assert answer["properties"]["provisioningState"] == "Succeeded"
        [options] = [r for r in sink.requests if r.method == "OPTIONS"]
        origin = options.headers["webhook-request-origin"]
        assert origin == "eventgrid.azure.net"
        assert sink.validations() == [], "CloudEvents subscriptions get no Event Grid validation event"
        message_id = publish_and_wait(server, control, f"cloud events {allowed}")
        sink.wait_for_event(SMS_RECEIVED, where=lambda e: e.id == message_id)
        delivery = sink.notifications()[-1]
        assert delivery.headers["webhook-request-origin"] == origin


@pytest.mark.parametrize("allowed", [None, "someone-else.example.com"])
def test_cloud_events_options_handshake_without_consent_fails(
    server: SmsgridProcess, control: WebhookSink, allowed: str | None
) -> None:
    with WebhookSink(allow_origin=allowed) as sink:
        name = "ce-no-consent" if allowed is None else "ce-other-origin"
        answer = put(server, name, {"destination": webhook(sink.url), "eventDeliverySchema": CLOUD_EVENTS})
        # The sink answered OPTIONS with 200: a status code is not consent.
        assert answer["properties"]["provisioningState"] == "Failed"
        assert [r.method for r in sink.requests] == ["OPTIONS"]
        publish_and_wait(server, control, f"cloud events without consent {allowed}")
        assert [r.method for r in sink.requests] == ["OPTIONS"], "an endpoint that gave no consent got a request"


def test_the_manual_validation_window_expires_to_failed(tmp_path: Path) -> None:
    # time-scale 0.001: the 10-minute window lasts 0.6 s.
    with start_smsgrid(tmp_path / "expiry", time_scale=0.001) as server, WebhookSink(handshake="manual") as sink:
        answer = put(server, "expiring-endpoint", {"destination": webhook(sink.url)})
        assert answer["properties"]["provisioningState"] == "AwaitingManualAction"
        url = sink.validations()[0].json()[0]["data"]["validationUrl"]
        deadline = time.monotonic() + 10.0
        while state_of(server, "expiring-endpoint") != "Failed" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert state_of(server, "expiring-endpoint") == "Failed"
        late = httpx.get(url, timeout=10.0)
        assert late.status_code == 400
        assert state_of(server, "expiring-endpoint") == "Failed"
        with WebhookSink() as control:
            subscribe(server, "expiry-control", control.url)
            message_id = inbound(server, SENDER, OWNED, "after the window")
            control.wait_for_event(SMS_RECEIVED, where=lambda e: e.id == message_id)
        assert sink.notifications() == []
