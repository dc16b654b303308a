"""Secrets stay secret (SECURITY.md): the access key, a secret delivery attribute, a Standard Webhooks secret, a
token in a webhook URL's query and an Entra application's client secret (docs/entra.md) never appear in the
server's log, in an API answer or in a UI page. And no event is delivered to an endpoint that has not passed its
handshake (SPEC §3).

The one place the access key is printed on purpose is the start-up banner (`smsgrid serve` prints the connection
string, SPEC §4; the login URL carries a one-time token instead): the test allows it there and nowhere else.
"""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from reliability.clients import REPORT_EVENT, SignedClient, accepted_ids, admin_get, arrivals, inbound, subscribe
from standardwebhooks.webhooks import Webhook

from smsgrid.testing import SmsgridProcess, WebhookSink, free_port
from tests.postgres_support import STORES, store_args

ACCESS_KEY = base64.b64encode(secrets.token_bytes(32)).decode()
ATTRIBUTE_SECRET = "attr-" + secrets.token_hex(16)
WEBHOOKS_SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
URL_TOKEN = "tok" + secrets.token_hex(16)
ENTRA_TENANT = "3f1a6c2e-8b5d-4e7f-9a0b-1c2d3e4f5a6b"
ENTRA_CLIENT = "b7e6d5c4-b3a2-4918-8f7e-6d5c4b3a2918"
ENTRA_SECRET = "entra-" + secrets.token_hex(16)
SECRETS = {
    "access key": ACCESS_KEY,
    "secret attribute": ATTRIBUTE_SECRET,
    "standard webhooks secret": WEBHOOKS_SECRET.removeprefix("whsec_"),
    "webhook URL token": URL_TOKEN,
    "Entra client secret": ENTRA_SECRET,
}
LOG_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ [A-Z]+ ")


@pytest.fixture(scope="module", params=STORES)
def secret_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmsgridProcess]:
    """A server with its own access key (the well-known dev key is public by design, so it proves nothing)."""
    config = tmp_path_factory.mktemp("secret-config") / "smsgrid.toml"
    config.write_text(
        f'[entra]\ntenant_id = "{ENTRA_TENANT}"\n'
        f'[[entra.applications]]\nclient_id = "{ENTRA_CLIENT}"\nclient_secret = "{ENTRA_SECRET}"\n',
        encoding="utf-8",
    )
    process = SmsgridProcess(
        data_dir=tmp_path_factory.mktemp("secret-smsgrid"),
        port=free_port(),
        tls_port=free_port(),
        access_key=ACCESS_KEY,
        env={"SMSGRID_ACCESS_KEY": ACCESS_KEY},
        args=("--time-scale", "0.01", "--config", str(config), *store_args(request, "secrets")),
    )
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def delivered(secret_server: SmsgridProcess) -> Iterator[WebhookSink]:
    """A sink subscribed with every kind of secret, after a send and an inbound SMS reached it."""
    with WebhookSink() as sink:
        subscribe(
            secret_server,
            "with-secrets",
            f"{sink.url}?code={URL_TOKEN}",
            destination={
                "endpointType": "WebHook",
                "properties": {
                    "endpointUrl": f"{sink.url}?code={URL_TOKEN}",
                    "deliveryAttributeMappings": [
                        {
                            "name": "X-Api-Key",
                            "type": "Static",
                            "properties": {"value": ATTRIBUTE_SECRET, "isSecret": True},
                        },
                        {"name": "X-Tenant", "type": "Static", "properties": {"value": "visible", "isSecret": False}},
                    ],
                },
            },
            standardWebhooks={"secret": WEBHOOKS_SECRET},
        )
        with SignedClient(secret_server) as client:
            ids = accepted_ids(client.send(["+14255550123"], "secret test"))
        inbound(secret_server, "+14255550123", "secret test inbound")
        # The Entra client secret in use: a token with it, and a refusal of a near miss.
        for secret, status in ((ENTRA_SECRET, 200), (ENTRA_SECRET[:-1] + "x", 401)):
            form = {"client_id": ENTRA_CLIENT, "client_secret": secret, "grant_type": "client_credentials",
                    "scope": "https://communication.azure.com//.default"}  # fmt: skip
            answer = httpx.post(f"{secret_server.base_url}/{ENTRA_TENANT}/oauth2/v2.0/token", data=form)
            assert answer.status_code == status, answer.text
        sink.wait_for(lambda s: {e.event_id for e in arrivals(s) if e.event_type == REPORT_EVENT} >= set(ids), 20)
        yield sink


def test_the_sink_got_the_secrets_it_is_meant_to_get(delivered: WebhookSink) -> None:
    """The control: the secrets are in use, so their absence elsewhere means something."""
    request = delivered.notifications()[0]
    assert request.headers["x-api-key"] == ATTRIBUTE_SECRET
    assert URL_TOKEN in request.path
    Webhook(WEBHOOKS_SECRET).verify(request.body, request.headers)


def answers(server: SmsgridProcess) -> dict[str, str]:
    """Every admin API answer and public page that could carry a secret, as text."""
    texts: dict[str, str] = {}
    with server.admin() as admin:
        for path in ("/admin/subscriptions", "/admin/subscriptions/with-secrets", "/admin/messages", "/admin/events",
                     "/admin/deadletters", "/admin/carriers", "/metrics", "/healthz", "/openapi.json"):  # fmt: skip
            response = admin.get(path)
            assert response.status_code == 200, (path, response.text)
            texts[path] = response.text
        for event in admin_get(server, "/admin/events", limit=50)["value"]:
            texts[f"/admin/events/{event['id']}"] = admin.get(f"/admin/events/{event['id']}").text
        for message in admin_get(server, "/admin/messages", limit=50)["value"]:
            texts[f"/admin/messages/{message['messageId']}"] = admin.get(f"/admin/messages/{message['messageId']}").text
        for key in ("Bearer " + ACCESS_KEY[:-4] + "AAA=", "HMAC-SHA256 SignedHeaders=x&Signature=y"):
            texts[f"401 for {key[:6]}"] = httpx.get(
                f"{server.base_url}/admin/messages", headers={"Authorization": key}
            ).text
    return texts


def ui_pages(server: SmsgridProcess, sink_events: list[str]) -> dict[str, str]:
    pages: dict[str, str] = {}
    with httpx.Client(base_url=server.base_url, timeout=10.0) as browser:
        with server.admin() as admin:
            path = admin.post("/admin/login-tokens").json()["path"]
        login = browser.get(path)
        assert login.status_code == 303, login.text
        assert ACCESS_KEY not in login.headers.get("location", "")
        assert all(ACCESS_KEY not in value for value in browser.cookies.values())
        paths = ["/", "/phones", "/phones/+18005550100", "/messages", "/events", "/subscriptions", "/carriers",
                 "/subscriptions/new", "/subscriptions/with-secrets/edit", "/deadletters", "/login"]  # fmt: skip
        paths += [f"/events/{event_id}" for event_id in sink_events[:3]]
        for path in paths:
            response = browser.get(path, follow_redirects=True)
            assert response.status_code == 200, (path, response.status_code)
            assert path == "/login" or response.url.path != "/login", f"{path} sent a logged-in browser to login"
            pages[path] = response.text
    return pages


def leaks(texts: dict[str, str]) -> list[tuple[str, str]]:
    return [(where, what) for where, text in texts.items() for what, secret in SECRETS.items() if secret in text]


def test_no_secret_in_any_admin_api_answer(secret_server: SmsgridProcess, delivered: WebhookSink) -> None:
    assert leaks(answers(secret_server)) == []


def test_no_secret_in_any_ui_page(secret_server: SmsgridProcess, delivered: WebhookSink) -> None:
    event_ids = [a.event_id for a in arrivals(delivered)]
    assert leaks(ui_pages(secret_server, event_ids)) == []


def log_records(log: str) -> list[str]:
    """The lines written by `logging` (and any traceback under them), not the banner `serve` prints at start."""
    records: list[str] = []
    in_traceback = False
    for line in log.splitlines():
        in_traceback = line.startswith("Traceback") or (in_traceback and line[:1] in (" ", "\t"))
        if LOG_RECORD.match(line) or in_traceback:
            records.append(line)
    return records


def test_no_secret_in_the_log_but_the_banner(secret_server: SmsgridProcess, delivered: WebhookSink) -> None:
    log = secret_server.log()
    assert "subscription with-secrets" in log, "the log is really being written"
    records = log_records(log)
    assert records
    assert leaks({f"log line {n}": line for n, line in enumerate(records)}) == []
    # Beyond the banner: only the access key may be in the log at all, and only in the lines that print it.
    others = {k: v for k, v in SECRETS.items() if k != "access key"}
    assert [what for what, secret in others.items() if secret in log] == []
    banner = [line for line in log.splitlines() if ACCESS_KEY in line]
    assert all("accesskey=" in line for line in banner), banner  # the login URL has a one-time token instead


def test_no_delivery_to_an_endpoint_that_has_not_passed_its_handshake(
    secret_server: SmsgridProcess, delivered: WebhookSink
) -> None:
    with (
        WebhookSink(handshake="refuse") as refusing,
        WebhookSink(handshake="manual") as manual,
        WebhookSink(allow_origin=None) as no_consent,
        WebhookSink() as healthy,
    ):
        states: dict[str, Any] = {}
        for name, sink, extra in (
            ("refuses-handshake", refusing, {}),
            ("awaits-manual", manual, {}),
            ("cloudevents-no-consent", no_consent, {"eventDeliverySchema": "CloudEventSchemaV1_0"}),
            ("healthy-barrier", healthy, {}),
        ):
            with secret_server.admin() as admin:
                body = {"destination": {"endpointType": "WebHook", "properties": {"endpointUrl": sink.url}}, **extra}
                states[name] = admin.put(f"/admin/subscriptions/{name}", json=body).json()
        assert states["healthy-barrier"]["properties"]["provisioningState"] == "Succeeded"
        assert states["awaits-manual"]["properties"]["provisioningState"] == "AwaitingManualAction"
        for name in ("refuses-handshake", "cloudevents-no-consent"):
            assert states[name].get("properties", {}).get("provisioningState", "Failed") == "Failed", states[name]
        ids = [inbound(secret_server, "+14255550124", f"handshake barrier {n}") for n in range(5)]
        healthy.wait_for(lambda s: {a.event_id for a in arrivals(s)} >= set(ids), 20)
        for sink in (refusing, manual, no_consent):
            assert sink.notifications() == []


def test_the_data_dir_keeps_no_plain_copy_of_the_key(secret_server: SmsgridProcess, delivered: WebhookSink) -> None:
    """The key comes from the environment; nothing in the data dir but the log's banner holds it."""
    holders = [
        path.name
        for path in Path(secret_server.data_dir).rglob("*")
        if path.is_file() and path.name != "server.log" and ACCESS_KEY.encode() in path.read_bytes()
    ]
    assert holders == []
