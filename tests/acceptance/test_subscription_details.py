"""Event subscription details Azure has (issue 15 item 4): `labels`, `expirationTimeUtc` (an expired subscription
stops receiving and is deleted), ARM's `getFullUrl` and `getDeliveryAttributes` actions, and the provisioningState
lifecycle (Creating / Updating while the handshake runs).

Negative delivery checks wait until a healthy control receiver got the same event first.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import orjson
import pytest

from smsgrid.events import SMS_RECEIVED
from smsgrid.testing import SmsgridProcess, WebhookSink, start_smsgrid
from smsgrid.testing.plugin import inbound, subscribe
from tests.acceptance.test_cli import _ok, smsgrid

HANDSET, OWNED = "+14255550123", "+18005550100"


def webhook(url: str, **props: Any) -> dict[str, Any]:
    return {"endpointType": "WebHook", "properties": {"endpointUrl": url, **props}}


def utc_in(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmsgridProcess]:
    # time-scale 0.01: the expiry sweep runs every 0.6 s.
    with start_smsgrid(tmp_path_factory.mktemp("details"), time_scale=0.01) as process:
        yield process


@pytest.fixture(scope="module")
def sink() -> Iterator[WebhookSink]:
    with WebhookSink() as receiver:
        yield receiver


def test_labels_are_echoed_and_null_when_absent(server: SmsgridProcess, sink: WebhookSink) -> None:
    plain = subscribe(server, "no-labels", sink.url)
    assert plain["properties"]["labels"] is None
    assert plain["properties"]["expirationTimeUtc"] is None
    labelled = subscribe(server, "labelled", sink.url, labels=["sms", "prod"])
    assert labelled["properties"]["labels"] == ["sms", "prod"]
    with server.admin() as admin:
        assert admin.get("/admin/subscriptions/labelled").json()["properties"]["labels"] == ["sms", "prod"]
        bad = admin.put("/admin/subscriptions/bad-labels", json={"destination": webhook(sink.url), "labels": [1]})
    assert bad.status_code == 400
    assert "labels[0]" in bad.text


def test_get_full_url_returns_what_get_hides(server: SmsgridProcess, sink: WebhookSink) -> None:
    full = f"{sink.url}?code=s3cret"
    shown = subscribe(server, "full-url", full)["properties"]["destination"]["properties"]
    assert shown["endpointUrl"] is None
    assert "s3cret" not in shown["endpointBaseUrl"]
    with server.admin() as admin:
        answer = admin.post("/admin/subscriptions/full-url/getFullUrl")
        missing = admin.post("/admin/subscriptions/nobody-here/getFullUrl")
    assert answer.status_code == 200
    assert answer.json() == {"endpointUrl": full}
    assert missing.status_code == 404
    with httpx.Client(base_url=server.base_url) as anonymous:
        assert anonymous.post("/admin/subscriptions/full-url/getFullUrl").status_code == 401


def test_get_delivery_attributes_includes_secret_values(server: SmsgridProcess, sink: WebhookSink) -> None:
    mappings = [
        {"name": "X-Api-Key", "type": "Static", "properties": {"value": "k-123", "isSecret": True}},
        {"name": "X-Tag", "type": "Static", "properties": {"value": "plain"}},
        {"name": "X-Subject", "type": "Dynamic", "properties": {"sourceField": "subject"}},
    ]
    shown = subscribe(server, "attributes", sink.url, destination=webhook(sink.url, deliveryAttributeMappings=mappings))
    assert (
        shown["properties"]["destination"]["properties"]["deliveryAttributeMappings"][0]["properties"]["value"] is None
    )
    with server.admin() as admin:
        answer = admin.post("/admin/subscriptions/attributes/getDeliveryAttributes")
        none = admin.post("/admin/subscriptions/no-labels/getDeliveryAttributes")
        missing = admin.post("/admin/subscriptions/nobody-here/getDeliveryAttributes")
    assert answer.status_code == 200
    assert answer.json() == {
        "value": [
            {"name": "X-Api-Key", "type": "Static", "properties": {"value": "k-123", "isSecret": True}},
            {"name": "X-Tag", "type": "Static", "properties": {"value": "plain", "isSecret": False}},
            {"name": "X-Subject", "type": "Dynamic", "properties": {"sourceField": "subject"}},
        ]
    }
    assert none.json() == {"value": []}
    assert missing.status_code == 404


def test_an_expiration_in_the_past_or_unreadable_is_refused(server: SmsgridProcess, sink: WebhookSink) -> None:
    with server.admin() as admin:
        past = admin.put(
            "/admin/subscriptions/past", json={"destination": webhook(sink.url), "expirationTimeUtc": utc_in(-60)}
        )
        garbled = admin.put(
            "/admin/subscriptions/garbled", json={"destination": webhook(sink.url), "expirationTimeUtc": "soon"}
        )
        assert admin.get("/admin/subscriptions/past").status_code == 404
    assert past.status_code == 400
    assert "not in the future" in past.text
    assert garbled.status_code == 400
    assert "ISO 8601" in garbled.text


def test_an_expired_subscription_stops_receiving_and_is_deleted(server: SmsgridProcess) -> None:
    with WebhookSink() as control, WebhookSink() as expiring:
        subscribe(server, "exp-control", control.url)
        expiry = utc_in(3)
        answer = subscribe(server, "expiring", expiring.url, expirationTimeUtc=expiry)
        assert answer["properties"]["expirationTimeUtc"] == expiry
        before = inbound(server, HANDSET, OWNED, "before expiry")
        expiring.wait_for_event(SMS_RECEIVED, lambda e: e.id == before)
        deadline = time.monotonic() + 15
        with server.admin() as admin:
            while admin.get("/admin/subscriptions/expiring").status_code != 404:
                assert time.monotonic() < deadline, "the expired subscription was not deleted"
                time.sleep(0.1)
            names = [s["name"] for s in admin.get("/admin/subscriptions").json()["value"]]
        assert "expiring" not in names
        after = inbound(server, HANDSET, OWNED, "after expiry")
        control.wait_for_event(SMS_RECEIVED, lambda e: e.id == after)
        assert after not in {e.id for e in expiring.events()}


class SlowHandshake:
    """A receiver that holds the validation answer until released, so the PUT stays in its handshake."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.arrived = threading.Event()
        slow = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                answer = b""
                if self.headers.get("aeg-event-type") == "SubscriptionValidation":
                    slow.arrived.set()
                    slow.release.wait(20)
                    answer = orjson.dumps({"validationResponse": orjson.loads(body)[0]["data"]["validationCode"]})
                self.send_response(200)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/events"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def _state_during_handshake(server: SmsgridProcess, slow: SlowHandshake, name: str) -> tuple[str, str, int]:
    """PUT in a thread; while the receiver holds the handshake, read GET and the list; then let it finish."""
    result: dict[str, httpx.Response] = {}

    def put() -> None:
        with server.admin() as admin:
            result["put"] = admin.put(f"/admin/subscriptions/{name}", json={"destination": webhook(slow.url)})

    slow.arrived.clear()
    slow.release.clear()
    worker = threading.Thread(target=put)
    worker.start()
    try:
        assert slow.arrived.wait(10), "the handshake did not arrive"
        with server.admin() as admin:
            during = admin.get(f"/admin/subscriptions/{name}")
            listed = {s["name"]: s for s in admin.get("/admin/subscriptions").json()["value"]}
    finally:
        slow.release.set()
        worker.join(20)
    assert during.status_code == 200, during.text
    return (
        during.json()["properties"]["provisioningState"],
        listed[name]["properties"]["provisioningState"],
        result["put"].status_code,
    )


def test_get_shows_creating_and_updating_while_the_handshake_runs(server: SmsgridProcess) -> None:
    slow = SlowHandshake()
    try:
        assert _state_during_handshake(server, slow, "slow-one") == ("Creating", "Creating", 200)
        with server.admin() as admin:
            assert admin.get("/admin/subscriptions/slow-one").json()["properties"]["provisioningState"] == "Succeeded"
        assert _state_during_handshake(server, slow, "slow-one") == ("Updating", "Updating", 200)
        with server.admin() as admin:
            assert admin.get("/admin/subscriptions/slow-one").json()["properties"]["provisioningState"] == "Succeeded"
    finally:
        slow.close()


def test_the_cli_shows_details_and_asks_for_secrets_like_az(server: SmsgridProcess, sink: WebhookSink) -> None:
    mapping = {"name": "X-Key", "type": "Static", "properties": {"value": "cli-secret", "isSecret": True}}
    destination = webhook(f"{sink.url}?code=cli-code", deliveryAttributeMappings=[mapping])
    subscribe(server, "cli-details", sink.url, destination=destination, labels=["cli"], expirationTimeUtc=utc_in(600))
    plain = _ok(smsgrid(server, "subscriptions", "show", "cli-details", "--json")).json()
    assert "cli-secret" not in repr(plain)
    assert plain["properties"]["destination"]["properties"]["endpointUrl"] is None
    full = _ok(
        smsgrid(
            server,
            "subscriptions",
            "show",
            "cli-details",
            "--include-full-endpoint-url",
            "--include-attribute-secrets",
            "--json",
        )
    ).json()["properties"]["destination"]["properties"]
    assert full["endpointUrl"] == f"{sink.url}?code=cli-code"
    assert full["deliveryAttributeMappings"][0]["properties"]["value"] == "cli-secret"
    human = _ok(smsgrid(server, "subscriptions", "show", "cli-details")).stdout
    assert "labels        cli" in human
    assert "expires" in human
