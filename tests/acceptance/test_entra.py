"""The offline Microsoft Entra ID issuer (docs/entra.md), driven by the official SDKs against a real smsgrid.

`azure-identity` credentials get tokens from smsgrid's own token endpoint (authority = smsgrid's TLS address,
instance discovery off); `SmsClient(endpoint, credential)` and `EventGridPublisherClient(endpoint, credential)` send
with them over TLS. A third party verifies the tokens with PyJWT against smsgrid's JWKS, and tokens that are
expired, forged or meant for another audience are refused with 401.
"""

from __future__ import annotations

import asyncio
import ssl
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt
import pytest
from azure.communication.sms import SmsClient
from azure.communication.sms.aio import SmsClient as AsyncSmsClient
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError
from azure.eventgrid import EventGridEvent, EventGridPublisherClient
from azure.identity import ClientSecretCredential, DefaultAzureCredential, EnvironmentCredential
from azure.identity.aio import ClientSecretCredential as AsyncClientSecretCredential
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smsgrid.config import WELL_KNOWN_CLIENT_ID, WELL_KNOWN_CLIENT_SECRET, WELL_KNOWN_TENANT_ID
from smsgrid.testing import SmsgridProcess, WebhookSink, start_smsgrid
from smsgrid.testing.plugin import subscribe
from tests.support_sms import SENDER, admin_message, close_sms_client

ACS_SCOPE = "https://communication.azure.com//.default"  # what azure-communication-sms asks for
EVENT_GRID_SCOPE = "https://eventgrid.azure.net/.default"  # what azure-eventgrid asks for
ACS_AUDIENCE = "https://communication.azure.com"
OPTOUT_API = "2025-09-17"
DELIVERY_REPORT_API = "2026-01-23"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmsgridProcess]:
    with start_smsgrid(tmp_path_factory.mktemp("entra"), time_scale=0.001) as process:
        yield process


def credential(server: SmsgridProcess, secret: str = WELL_KNOWN_CLIENT_SECRET) -> ClientSecretCredential:
    """How a user points azure-identity at smsgrid (docs/entra.md)."""
    return ClientSecretCredential(
        WELL_KNOWN_TENANT_ID,
        WELL_KNOWN_CLIENT_ID,
        secret,
        authority=server.tls_url,
        disable_instance_discovery=True,
        connection_verify=str(server.cert_path),
    )


def token_for(server: SmsgridProcess, scope: str) -> str:
    return credential(server).get_token(scope).token


def tls_post(server: SmsgridProcess, path: str, **kwargs: Any) -> httpx.Response:
    return httpx.post(f"{server.tls_url}{path}", verify=ssl_context(server), timeout=30.0, **kwargs)


def ssl_context(server: SmsgridProcess) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(server.cert_path))


def token_endpoint(server: SmsgridProcess, tenant: str = WELL_KNOWN_TENANT_ID) -> str:
    return f"/{tenant}/oauth2/v2.0/token"


def send_with_token(server: SmsgridProcess, token: str) -> httpx.Response:
    body = {"from": SENDER, "smsRecipients": [{"to": "+14255550190"}], "message": "raw bearer"}
    return tls_post(
        server, "/sms", params={"api-version": "2021-03-07"}, json=body, headers={"Authorization": f"Bearer {token}"}
    )


class FixedToken:
    """A TokenCredential that hands the SDK a token we made, as a stolen or forged one would be used."""

    def __init__(self, token: str) -> None:
        self.token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(self.token, 4_102_444_800)


# ------------------------------------------------------------------------------------------ the SDKs send


def test_client_secret_credential_lets_the_sync_sdk_send_over_tls(server: SmsgridProcess) -> None:
    client = SmsClient(server.tls_url, credential(server), connection_verify=str(server.cert_path))
    try:
        [result] = client.send(from_=SENDER, to="+14255550101", message="sent with an Entra token")
    finally:
        close_sms_client(client)
    assert result.successful, result.error_message
    assert result.http_status_code == 202
    assert admin_message(server, result.message_id)["message"] == "sent with an Entra token"


def test_the_async_credential_lets_the_async_sdk_send_over_tls(server: SmsgridProcess) -> None:
    cert = str(server.cert_path)

    async def send() -> Any:
        async_credential = AsyncClientSecretCredential(
            WELL_KNOWN_TENANT_ID,
            WELL_KNOWN_CLIENT_ID,
            WELL_KNOWN_CLIENT_SECRET,
            authority=server.tls_url,
            disable_instance_discovery=True,
            connection_verify=cert,
        )
        async with async_credential, AsyncSmsClient(server.tls_url, async_credential, connection_verify=cert) as client:
            [result] = await client.send(from_=SENDER, to="+14255550102", message="async Entra")
            return result

    result = asyncio.run(send())
    assert result.successful, result.error_message
    assert admin_message(server, result.message_id)["message"] == "async Entra"


@pytest.mark.parametrize("kind", [EnvironmentCredential, DefaultAzureCredential])
def test_environment_credential_reads_the_authority_host_from_the_environment(
    server: SmsgridProcess, monkeypatch: pytest.MonkeyPatch, kind: type[Any]
) -> None:
    """EnvironmentCredential, and DefaultAzureCredential whose first step it is, with AZURE_AUTHORITY_HOST."""
    monkeypatch.setenv("AZURE_AUTHORITY_HOST", server.tls_url)
    monkeypatch.setenv("AZURE_TENANT_ID", WELL_KNOWN_TENANT_ID)
    monkeypatch.setenv("AZURE_CLIENT_ID", WELL_KNOWN_CLIENT_ID)
    monkeypatch.setenv("AZURE_CLIENT_SECRET", WELL_KNOWN_CLIENT_SECRET)
    # requests (azure-core's default transport) trusts this bundle: smsgrid's certificate, for both clients.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(server.cert_path))
    client = SmsClient(server.tls_url, kind(disable_instance_discovery=True))
    try:
        [result] = client.send(from_=SENDER, to="+14255550103", message=f"from the environment: {kind.__name__}")
    finally:
        close_sms_client(client)
    assert result.successful, result.error_message
    assert admin_message(server, result.message_id)["message"] == f"from the environment: {kind.__name__}"


def test_the_token_works_on_every_data_plane_operation(server: SmsgridProcess) -> None:
    headers = {"Authorization": f"Bearer {token_for(server, ACS_SCOPE)}"}
    optouts = tls_post(
        server,
        "/sms/optouts:check",
        params={"api-version": OPTOUT_API},
        json={"from": SENDER, "recipients": [{"to": "+14255550104"}]},
        headers=headers,
    )
    assert optouts.status_code == 200, optouts.text
    assert optouts.json()["value"][0]["isOptedOut"] is False
    sent = send_with_token(server, headers["Authorization"].removeprefix("Bearer "))
    assert sent.status_code == 202, sent.text
    message_id = sent.json()["value"][0]["messageId"]
    report = httpx.get(
        f"{server.tls_url}/deliveryReports/{message_id}",
        params={"api-version": DELIVERY_REPORT_API},
        headers=headers,
        verify=ssl_context(server),
    )
    # Found or not yet reported: either way the token was accepted (a refused one is 401).
    assert report.status_code in (200, 404), report.text


def test_event_grid_publisher_client_publishes_with_a_token(
    server: SmsgridProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = EventGridEvent(
        id=str(uuid.uuid4()),
        subject="/entra/test",
        event_type="Contoso.Items.ItemReceived",
        data={"n": 1},
        data_version="1.0",
    )
    # azure-eventgrid 4.22.1 drops the client's keyword arguments (connection_verify too) for a basic topic, so
    # smsgrid's certificate is trusted the other way requests offers.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(server.cert_path))
    with WebhookSink() as sink:
        subscribe(server, "entra-topic", sink.url)
        client = EventGridPublisherClient(f"{server.tls_url}/api/events", credential(server))
        with client:
            client.send([event])
        sink.wait_for(lambda s: any(item["id"] == event.id for item in s.iter_items()))
    [delivered] = [item for item in sink.iter_items() if item["id"] == event.id]
    assert delivered["data"] == {"n": 1}


# ------------------------------------------------------------------------------------ what a validator sees


def test_the_token_verifies_with_pyjwt_against_the_published_jwks(server: SmsgridProcess) -> None:
    token = token_for(server, ACS_SCOPE)
    discovery = httpx.get(
        f"{server.tls_url}/{WELL_KNOWN_TENANT_ID}/v2.0/.well-known/openid-configuration", verify=ssl_context(server)
    ).json()
    assert discovery["issuer"] == f"{server.tls_url}/{WELL_KNOWN_TENANT_ID}/v2.0"
    assert discovery["token_endpoint"] == f"{server.tls_url}{token_endpoint(server)}"
    signing_key = jwt.PyJWKClient(discovery["jwks_uri"], ssl_context=ssl_context(server)).get_signing_key_from_jwt(
        token
    )
    claims = jwt.decode(
        token, signing_key, algorithms=["RS256"], audience=ACS_AUDIENCE, issuer=discovery["issuer"], leeway=60
    )
    assert jwt.get_unverified_header(token)["kid"] == signing_key.key_id
    assert claims["tid"] == WELL_KNOWN_TENANT_ID
    assert claims["azp"] == claims["appid"] == WELL_KNOWN_CLIENT_ID
    assert claims["ver"] == "2.0"
    assert claims["idtyp"] == "app"
    assert claims["sub"] == claims["oid"]
    assert uuid.UUID(claims["oid"])
    assert claims["iat"] <= claims["nbf"] < claims["exp"]


def test_the_jwks_publishes_only_the_public_half_and_user_sign_in_is_refused(server: SmsgridProcess) -> None:
    base = f"{server.tls_url}/{WELL_KNOWN_TENANT_ID}"
    [jwk] = httpx.get(f"{base}/discovery/v2.0/keys", verify=ssl_context(server)).json()["keys"]
    assert {jwk["kty"], jwk["use"], jwk["alg"]} == {"RSA", "sig", "RS256"}
    assert set(jwk) == {"kty", "use", "alg", "kid", "n", "e"}, "no private member (d, p, q, …) is published"
    authorize = httpx.get(f"{base}/oauth2/v2.0/authorize", params={"response_type": "code"}, verify=ssl_context(server))
    assert authorize.status_code == 400
    assert authorize.json()["error"] == "unsupported_response_type"


def test_the_token_endpoint_answers_like_entra(server: SmsgridProcess) -> None:
    form = {
        "client_id": WELL_KNOWN_CLIENT_ID,
        "client_secret": WELL_KNOWN_CLIENT_SECRET,
        "scope": ACS_SCOPE,
        "grant_type": "client_credentials",
    }
    answer = tls_post(server, token_endpoint(server), data=form)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == {"token_type", "expires_in", "ext_expires_in", "access_token"}
    assert body["token_type"] == "Bearer"
    assert 3000 < body["expires_in"] <= 3600
    assert answer.headers["cache-control"] == "no-store"
    # HTTP Basic client authentication (RFC 6749 §2.3.1) is accepted as well.
    basic = tls_post(
        server,
        token_endpoint(server),
        data={"scope": ACS_SCOPE, "grant_type": "client_credentials"},
        auth=(WELL_KNOWN_CLIENT_ID, WELL_KNOWN_CLIENT_SECRET),
    )
    assert basic.status_code == 200, basic.text


GOOD = {
    "client_id": WELL_KNOWN_CLIENT_ID,
    "client_secret": WELL_KNOWN_CLIENT_SECRET,
    "scope": ACS_SCOPE,
    "grant_type": "client_credentials",
}


@pytest.mark.parametrize(
    ("change", "status", "error", "code"),
    [
        ({"client_secret": "not-the-secret"}, 401, "invalid_client", 7000215),
        ({"client_secret": None}, 401, "invalid_client", 7000216),
        ({"client_id": str(uuid.UUID(int=7))}, 400, "unauthorized_client", 700016),
        ({"client_id": None}, 400, "invalid_request", 900144),
        ({"grant_type": None}, 400, "invalid_request", 900144),
        ({"grant_type": "password"}, 400, "unsupported_grant_type", 70003),
        ({"scope": None}, 400, "invalid_request", 900144),
        ({"scope": "https://communication.azure.com/user_impersonation"}, 400, "invalid_scope", 1002012),
    ],
)
def test_a_refused_token_request_is_an_aadsts_error(
    server: SmsgridProcess, change: dict[str, str | None], status: int, error: str, code: int
) -> None:
    form = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    correlation = str(uuid.uuid4())
    answer = tls_post(server, token_endpoint(server), data=form, headers={"client-request-id": correlation})
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["error"] == error
    assert body["error_codes"] == [code]
    assert body["error_description"].startswith(f"AADSTS{code}: ")
    assert body["correlation_id"] == correlation
    assert WELL_KNOWN_CLIENT_SECRET not in answer.text


def test_an_unknown_tenant_is_aadsts90002(server: SmsgridProcess) -> None:
    other = str(uuid.UUID(int=99))
    discovery = httpx.get(f"{server.tls_url}/{other}/v2.0/.well-known/openid-configuration", verify=ssl_context(server))
    assert discovery.status_code == 400
    assert discovery.json()["error_codes"] == [90002]
    token = tls_post(server, token_endpoint(server, other), data=GOOD)
    assert token.status_code == 400
    assert token.json()["error_codes"] == [90002]


def test_a_wrong_secret_is_a_client_authentication_error_with_the_aadsts_text(server: SmsgridProcess) -> None:
    client = SmsClient(server.tls_url, credential(server, "wrong-secret"), connection_verify=str(server.cert_path))
    try:
        with pytest.raises(ClientAuthenticationError, match="AADSTS7000215"):
            client.send(from_=SENDER, to="+14255550105", message="never sent")
    finally:
        close_sms_client(client)


# ----------------------------------------------------------------------------------- tokens that are refused


def signed(claims: dict[str, Any], private_key: rsa.RSAPrivateKey, kid: str) -> str:
    return jwt.encode(claims, private_key, algorithm="RS256", headers={"kid": kid, "typ": "JWT"})


def server_key(server: SmsgridProcess) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key((server.data_dir / "entra" / "signing-key.pem").read_bytes(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def test_forged_expired_and_other_audience_tokens_are_401(server: SmsgridProcess) -> None:
    genuine = token_for(server, ACS_SCOPE)
    claims = jwt.decode(genuine, options={"verify_signature": False})
    kid = jwt.get_unverified_header(genuine)["kid"]
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    two_hours_ago = claims["iat"] - 7200
    expired = {**claims, "iat": two_hours_ago, "nbf": two_hours_ago, "exp": two_hours_ago + 3599}
    refused = {
        "forged": signed(claims, forger, kid),
        "expired": signed(expired, server_key(server), kid),
        "for Event Grid": token_for(server, EVENT_GRID_SCOPE),
        "other tenant": signed({**claims, "tid": str(uuid.UUID(int=5))}, server_key(server), kid),
        "not a JWT": "c21zZ3JpZC13ZWxsLWtub3duLWRldi1rZXktMzJieXQ=",
        "alg none": jwt.encode(claims, "", algorithm="none"),
    }
    for what, token in refused.items():
        answer = send_with_token(server, token)
        assert answer.status_code == 401, (what, answer.text)
        assert answer.json()["error"]["code"] == "Denied", what
        assert answer.json()["error"]["message"], what
    # The genuine one, for contrast: the refusals above are about the token, not the request.
    assert send_with_token(server, genuine).status_code == 202


def test_the_sdk_raises_on_a_forged_token(server: SmsgridProcess) -> None:
    genuine = token_for(server, ACS_SCOPE)
    claims = jwt.decode(genuine, options={"verify_signature": False})
    forged = signed(claims, rsa.generate_private_key(public_exponent=65537, key_size=2048), "forged")
    client = SmsClient(server.tls_url, FixedToken(forged), connection_verify=str(server.cert_path))
    try:
        with pytest.raises(ClientAuthenticationError):
            client.send(from_=SENDER, to="+14255550106", message="never sent")
    finally:
        close_sms_client(client)


def test_a_communication_token_does_not_publish_events(server: SmsgridProcess) -> None:
    answer = tls_post(
        server,
        "/api/events",
        params={"api-version": "2018-01-01"},
        json=[],
        headers={"Authorization": f"Bearer {token_for(server, ACS_SCOPE)}"},
    )
    assert answer.status_code == 401, answer.text
    assert "audience" in answer.json()["error"]["message"]


# ----------------------------------------------------------------------------------------------- the key


def test_the_signing_key_is_private_and_survives_a_restart(tmp_path: Path) -> None:
    with start_smsgrid(tmp_path / "data") as process:
        token = token_for(process, ACS_SCOPE)
        key_file = process.data_dir / "entra" / "signing-key.pem"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
        process.restart()
        # Same key after the restart: a token issued before it is still accepted.
        assert send_with_token(process, token).status_code == 202


# --------------------------------------------------------------------------------------- configured issuer

TENANT = "3f1a6c2e-8b5d-4e7f-9a0b-1c2d3e4f5a6b"
CLIENT = "b7e6d5c4-b3a2-4918-8f7e-6d5c4b3a2918"
SECRET = "configured-app-secret-" + uuid.uuid4().hex
OWN_KEY = "b3duLWtleS1vZi10aGlzLXNtc2dyaWQtMzItYnl0ZXM="


def test_a_configured_tenant_and_application_replace_the_well_known_ones(tmp_path: Path) -> None:
    config = f"""
[resource]
access_key = "{OWN_KEY}"

[entra]
tenant_id = "{TENANT}"

[[entra.applications]]
client_id = "{CLIENT}"
client_secret = "{SECRET}"
"""
    with start_smsgrid(tmp_path / "data", config=config) as process:
        process.access_key = OWN_KEY
        own = ClientSecretCredential(
            TENANT, CLIENT, SECRET, authority=process.tls_url, disable_instance_discovery=True,
            connection_verify=str(process.cert_path),
        )  # fmt: skip
        client = SmsClient(process.tls_url, own, connection_verify=str(process.cert_path))
        try:
            [result] = client.send(from_=SENDER, to="+14255550107", message="configured app")
        finally:
            close_sms_client(client)
        assert result.successful, result.error_message
        # The well-known application is gone once the server has a key (and applications) of its own.
        well_known = {**GOOD, "client_id": WELL_KNOWN_CLIENT_ID}
        refused = tls_post(process, token_endpoint(process, TENANT), data=well_known)
        assert refused.status_code == 400
        assert refused.json()["error_codes"] == [700016]
        assert tls_post(process, token_endpoint(process), data=GOOD).json()["error_codes"] == [90002]
        wrong = tls_post(process, token_endpoint(process, TENANT), data={**GOOD, "client_id": CLIENT})
        assert wrong.json()["error_codes"] == [7000215]
        assert SECRET not in wrong.text
    assert SECRET not in process.log()


# ---------------------------------------------------------------------------------------------- bad input

form_values = st.text(max_size=40) | st.sampled_from([WELL_KNOWN_CLIENT_ID, ACS_SCOPE, "client_credentials"])
forms = st.dictionaries(
    st.sampled_from(["client_id", "client_secret", "scope", "grant_type", "client_assertion", "x"]), form_values
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    form=forms,
    raw=st.binary(max_size=200),
    content_type=st.sampled_from(["application/x-www-form-urlencoded", "application/json", "text/plain", ""]),
    authorization=st.sampled_from(["", "Basic", "Basic !!!", "Basic " + "w4g6w4g=", "Bearer x", "Basic Og=="]),
    use_raw=st.booleans(),
)
def test_any_token_request_is_answered_in_entra_shape_never_5xx(
    server: SmsgridProcess, form: dict[str, str], raw: bytes, content_type: str, authorization: str, use_raw: bool
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    if authorization:
        headers["Authorization"] = authorization
    content = raw if use_raw else urlencode(form).encode()
    answer = tls_post(server, token_endpoint(server), content=content, headers=headers)
    assert answer.status_code in (200, 400, 401), answer.text
    body = answer.json()
    if answer.status_code == 200:
        assert body["token_type"] == "Bearer"
    else:
        assert isinstance(body["error"], str)
        assert body["error"]
        assert body["error_description"].startswith(f"AADSTS{body['error_codes'][0]}: ")


def test_an_oversized_token_request_is_413_in_entra_shape(server: SmsgridProcess) -> None:
    answer = tls_post(server, token_endpoint(server), content=b"a=" + b"b" * 100_000,
                      headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert answer.status_code == 413
    assert answer.json()["error"] == "invalid_request"


@pytest.mark.parametrize("authorization", ["Bearer", "Bearer  x", "Bearer a.b.c", "bearer " + "x" * 5000, "Bearer ..."])
def test_a_malformed_bearer_token_is_401_on_the_data_plane(server: SmsgridProcess, authorization: str) -> None:
    body = {"from": SENDER, "smsRecipients": [{"to": "+14255550191"}], "message": "malformed"}
    answer = tls_post(server, "/sms", params={"api-version": "2021-03-07"}, json=body,
                      headers={"Authorization": authorization})  # fmt: skip
    assert answer.status_code == 401, answer.text
    assert answer.json()["error"]["code"] == "Denied"
