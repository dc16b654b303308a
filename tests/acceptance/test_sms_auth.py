"""ACS HMAC authentication of the data plane (SPEC §2): a wrong key, a tampered body and a stale date are refused
with 401 `Denied`, which the official SDK raises as `ClientAuthenticationError`.

The SDK signs every request in its HMAC policy; an azure-core policy added after it (`per_retry_policies`) can
then change what goes on the wire, as a man in the middle would.
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any
from urllib.parse import urlparse

import orjson
import pytest
from azure.communication.sms import SmsClient
from azure.communication.sms.aio import SmsClient as AsyncSmsClient
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import ClientAuthenticationError
from azure.core.pipeline import PipelineRequest
from azure.core.pipeline.policies import SansIOHTTPPolicy

from smsgrid.api.hmac_auth import authorization_header
from smsgrid.testing import SmsgridProcess
from tests.support_sms import SENDER, http_date, messages_with, signed_request

WRONG_KEY = base64.b64encode(b"not-the-key-of-this-resource-32b").decode()
STALE_SECONDS = -3600.0  # an hour old: far outside the 15 minutes of skew Azure allows


class TamperBody(SansIOHTTPPolicy[Any, Any]):
    """After signing, change one character of the message: the body no longer matches x-ms-content-sha256."""

    def on_request(self, request: PipelineRequest[Any]) -> None:
        body = request.http_request.body
        tampered = body.replace("pay 10 USD", "pay 90 USD")
        assert tampered != body
        assert len(tampered) == len(body)
        request.http_request.body = tampered


class ResignWithStaleDate(SansIOHTTPPolicy[Any, Any]):
    """Re-sign correctly, but with an x-ms-date an hour old: only the date is wrong."""

    def __init__(self, access_key: str) -> None:
        super().__init__()
        self.key = base64.b64decode(access_key)

    def on_request(self, request: PipelineRequest[Any]) -> None:
        http = request.http_request
        url = urlparse(http.url)
        path_and_query = f"{url.path}?{url.query}" if url.query else url.path
        body = (http.body or "").encode()
        http.headers.update(
            authorization_header(self.key, http.method, path_and_query, http_date(STALE_SECONDS), url.netloc, body)
        )


def _send(client: Any, to: str, message: str = "hello") -> Any:
    try:
        return client.send(from_=SENDER, to=to, message=message)
    finally:
        client._sms_service_client.close()


def test_wrong_key_is_refused_over_tls_and_http(sms_server: SmsgridProcess) -> None:
    wrong = sms_server.connection_string.replace(sms_server.access_key, WRONG_KEY)
    with pytest.raises(ClientAuthenticationError) as over_tls:
        _send(SmsClient.from_connection_string(wrong, connection_verify=str(sms_server.cert_path)), "+14255551001")
    assert over_tls.value.status_code == 401
    with pytest.raises(ClientAuthenticationError) as over_http:
        _send(SmsClient(sms_server.base_url, AzureKeyCredential(WRONG_KEY)), "+14255551001")
    assert "signature is not valid" in str(over_http.value.message)
    assert messages_with(sms_server, "+14255551001") == []


def test_wrong_key_is_refused_for_the_async_client(sms_server: SmsgridProcess) -> None:
    async def send() -> None:
        async with AsyncSmsClient(sms_server.base_url, AzureKeyCredential(WRONG_KEY)) as client:
            await client.send(from_=SENDER, to="+14255551002", message="hello")

    with pytest.raises(ClientAuthenticationError):
        asyncio.run(send())


def test_a_body_tampered_after_signing_is_refused(sms_server: SmsgridProcess) -> None:
    client = SmsClient(
        sms_server.base_url, AzureKeyCredential(sms_server.access_key), per_retry_policies=[TamperBody()]
    )
    with pytest.raises(ClientAuthenticationError) as raised:
        _send(client, "+14255551003", "please pay 10 USD")
    assert "x-ms-content-sha256" in str(raised.value.message)
    assert messages_with(sms_server, "+14255551003") == []


def test_a_stale_date_is_refused_even_when_correctly_signed(sms_server: SmsgridProcess) -> None:
    client = SmsClient(
        sms_server.base_url,
        AzureKeyCredential(sms_server.access_key),
        per_retry_policies=[ResignWithStaleDate(sms_server.access_key)],
    )
    with pytest.raises(ClientAuthenticationError) as raised:
        _send(client, "+14255551004")
    assert "x-ms-date" in str(raised.value.message)
    assert messages_with(sms_server, "+14255551004") == []


def _send_body(to: str) -> bytes:
    return orjson.dumps({"from": SENDER, "smsRecipients": [{"to": to}], "message": "raw"})


def test_raw_signed_requests(sms_server: SmsgridProcess) -> None:
    path = "/sms?api-version=2021-03-07"
    body = _send_body("+14255551005")
    good = signed_request(sms_server, "POST", path, body)
    assert good.status_code == 202, good.text
    refused = {
        "wrong key": signed_request(sms_server, "POST", path, body, access_key=WRONG_KEY),
        "tampered": signed_request(sms_server, "POST", path, body, sent_body=_send_body("+14255551006")),
        "stale": signed_request(sms_server, "POST", path, body, date=http_date(STALE_SECONDS)),
        "future": signed_request(sms_server, "POST", path, body, date=http_date(-STALE_SECONDS)),
    }
    for why, response in refused.items():
        assert response.status_code == 401, why
        assert response.json()["error"]["code"] == "Denied", why
    with sms_server.admin() as admin:
        unsigned = admin.post(path, content=body, headers={"Authorization": ""})
    assert unsigned.status_code == 401
    assert [m["to"] for m in messages_with(sms_server, "+14255551006")] == []
