"""Microsoft Entra-protected webhook delivery (issue 15 item 2; secure-webhook-delivery): a WebHook destination with
`azureActiveDirectoryTenantId` and `azureActiveDirectoryApplicationIdOrUri` gets `Authorization: Bearer <JWT>` on the
handshake and on every delivery, a token Event Grid's application holds for the webhook's application, verifiable
with PyJWT against smsgrid's JWKS; smsgrid.consumer's EntraTokenVerifier accepts it and refuses anything else.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import jwt
import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette

from smsgrid.consumer import EntraTokenVerifier, EventGridEndpoint
from smsgrid.events import SMS_RECEIVED, Event
from smsgrid.testing import SmsgridProcess, WebhookSink, free_port, start_smsgrid
from smsgrid.testing.plugin import inbound

TENANT = "00000000-5e55-4000-8000-000000000000"  # smsgrid's default [entra] tenant_id
EVENT_GRID_APP = "4962773b-9cdb-44cf-a8bf-237846a00ab7"
ROLE = "AzureEventGridSecureWebhookSubscriber"
APP_URI = "api://sms-webhook"
HANDSET, OWNED = "+14255550123", "+18005550100"


def protected(url: str, audience: str = APP_URI, tenant: str = TENANT) -> dict[str, Any]:
    return {
        "endpointType": "WebHook",
        "properties": {
            "endpointUrl": url,
            "azureActiveDirectoryTenantId": tenant,
            "azureActiveDirectoryApplicationIdOrUri": audience,
        },
    }


def put(server: SmsgridProcess, name: str, body: dict[str, Any]) -> httpx.Response:
    with server.admin() as admin:
        return admin.put(f"/admin/subscriptions/{name}", json=body)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmsgridProcess]:
    with start_smsgrid(tmp_path_factory.mktemp("entra-webhooks")) as process:
        yield process


class Received:
    def __init__(self) -> None:
        self.events: list[Event] = []
        self.lock = threading.Condition()

    def add(self, event: Event) -> None:
        with self.lock:
            self.events.append(event)
            self.lock.notify_all()

    def wait_for(self, predicate: Callable[[list[Event]], bool], timeout: float = 10.0) -> None:
        with self.lock:
            assert self.lock.wait_for(lambda: predicate(self.events), timeout), self.events


@contextmanager
def serve(app: Starlette) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name="protected-app", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive(), "the protected app did not start"
        assert time.monotonic() < deadline, "the protected app did not start in time"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def protected_app(server: SmsgridProcess) -> Iterator[tuple[str, Received]]:
    """A Starlette app whose endpoint checks every request's token against smsgrid's JWKS (plain HTTP listener),
    with the issuer smsgrid names in webhook tokens (its HTTPS address)."""
    received = Received()
    verifier = EntraTokenVerifier.for_smsgrid(server.base_url, audience=APP_URI, issuer_base_url=server.tls_url)
    endpoint = EventGridEndpoint(received.add, verifier=verifier)
    with serve(Starlette(routes=[endpoint.route("/events")])) as base_url:
        yield f"{base_url}/events", received


def test_a_protected_app_validates_and_receives_with_the_consumer_verifier(
    server: SmsgridProcess, protected_app: tuple[str, Received]
) -> None:
    url, received = protected_app
    answer = put(server, "protected-app", {"destination": protected(url)})
    assert answer.status_code == 200, answer.text
    props = answer.json()["properties"]
    # The verifier refuses a request without a valid token, so Succeeded means the handshake carried one.
    assert props["provisioningState"] == "Succeeded"
    destination = props["destination"]["properties"]
    assert destination["azureActiveDirectoryTenantId"] == TENANT
    assert destination["azureActiveDirectoryApplicationIdOrUri"] == APP_URI
    message_id = inbound(server, HANDSET, OWNED, "with a token")
    received.wait_for(lambda events: any(e.id == message_id and e.event_type == SMS_RECEIVED for e in events))
    with server.admin() as admin:
        shown = admin.get("/admin/subscriptions/protected-app").json()["properties"]["destination"]["properties"]
    assert shown["azureActiveDirectoryApplicationIdOrUri"] == APP_URI


def test_the_bearer_on_handshake_and_delivery_verifies_with_pyjwkclient_over_tls(server: SmsgridProcess) -> None:
    with WebhookSink() as sink:
        answer = put(server, "protected-sink", {"destination": protected(sink.url)})
        assert answer.json()["properties"]["provisioningState"] == "Succeeded", answer.text
        message_id = inbound(server, HANDSET, OWNED, "check my token")
        sink.wait_for_event(SMS_RECEIVED, lambda e: e.id == message_id)
        [validation] = sink.validations()
        notification = next(r for r in sink.notifications() if message_id.encode() in r.body)
    context = ssl.create_default_context(cafile=str(server.cert_path))
    keys = jwt.PyJWKClient(f"{server.tls_url}/{TENANT}/discovery/v2.0/keys", ssl_context=context)
    tokens = []
    for request in (validation, notification):
        scheme, _, token = request.headers["authorization"].partition(" ")
        assert scheme == "Bearer"
        claims = jwt.decode(
            token,
            keys.get_signing_key_from_jwt(token).key,
            algorithms=["RS256"],
            audience=APP_URI,
            issuer=f"{server.tls_url}/{TENANT}/v2.0",
            options={"require": ["exp", "iat", "nbf"]},
        )
        assert claims["azp"] == claims["appid"] == EVENT_GRID_APP
        assert ROLE in claims["roles"]
        assert claims["tid"] == TENANT
        assert claims["ver"] == "2.0"
        tokens.append(token)
    assert tokens[0] == tokens[1]  # cached: reused until near its expiry


def _forged(server: SmsgridProcess) -> str:
    """A token with every right claim and smsgrid's kid, signed with another key."""
    kid = httpx.get(f"{server.base_url}/{TENANT}/discovery/v2.0/keys").json()["keys"][0]["kid"]
    now = int(time.time())
    claims = {
        "aud": APP_URI,
        "iss": f"{server.tls_url}/{TENANT}/v2.0",
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "azp": EVENT_GRID_APP,
        "appid": EVENT_GRID_APP,
        "roles": [ROLE],
        "tid": TENANT,
    }
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(claims, other, algorithm="RS256", headers={"kid": kid})


def _other_apps_token(server: SmsgridProcess) -> str:
    """A genuine smsgrid token for the right audience, but held by the development application, not Event Grid."""
    answer = httpx.post(
        f"{server.base_url}/{TENANT}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "00000000-5e55-4000-8000-000000000001",
            "client_secret": "smsgrid-well-known-dev-client-secret",
            "scope": f"{APP_URI}/.default",
        },
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def test_the_verifier_refuses_missing_forged_and_foreign_tokens(
    server: SmsgridProcess, protected_app: tuple[str, Received]
) -> None:
    url, _ = protected_app
    body = b'[{"id":"x","eventType":"Microsoft.Communication.SMSReceived"}]'
    for headers in (
        {},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": f"Bearer {_forged(server)}"},
        {"Authorization": f"Bearer {_other_apps_token(server)}"},
    ):
        answer = httpx.post(url, content=body, headers={"aeg-event-type": "Notification", **headers})
        assert answer.status_code == 401, headers
        assert answer.headers["www-authenticate"].startswith("Bearer")


def test_a_token_for_another_audience_fails_the_handshake(
    server: SmsgridProcess, protected_app: tuple[str, Received]
) -> None:
    url, _ = protected_app
    answer = put(server, "wrong-audience", {"destination": protected(url, audience="api://someone-else")})
    assert answer.status_code == 200, answer.text
    props = answer.json()["properties"]
    assert props["provisioningState"] == "Failed"
    assert "401" in props["provisioningMessage"]


def test_a_tenant_smsgrid_does_not_issue_for_is_refused(server: SmsgridProcess) -> None:
    other_tenant = "11111111-2222-3333-4444-555555555555"
    answer = put(server, "other-tenant", {"destination": protected("http://127.0.0.1:9/x", tenant=other_tenant)})
    assert answer.status_code == 400
    assert "azureActiveDirectoryTenantId" in answer.text
    half_props = {"endpointUrl": "http://127.0.0.1:9/x", "azureActiveDirectoryApplicationIdOrUri": APP_URI}
    half = {"endpointType": "WebHook", "properties": half_props}
    answer = put(server, "half-entra", {"destination": half})
    assert answer.status_code == 400
    assert "azureActiveDirectoryTenantId" in answer.text
