"""ACS's send-rate limits (ACS service limits, SMS): 429 with Retry-After and Azure's error body, and the
official SDK's retry policy riding it out. Throttling is on here, as on Azure; the other tests turn it off."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from azure.communication.sms import SmsClient
from azure.core.credentials import AzureKeyCredential

from smsgrid.testing import SmsgridProcess, start_smsgrid
from tests.support_sms import signed_request

TOLL_FREE = "+18005550100"
OTHER = "+18005550101"
# The smallest rate the config takes (one full request), and a time scale that makes the 60 s window 6 s: long
# enough that a slow machine still sends the second request inside it, short enough to wait out.
CONFIG = "[throttling]\ntoll_free_per_minute = 100\n\n[carrier]\ndelay_ms = 10\n"
TIME_SCALE = 0.1
FULL_REQUEST = [f"+1425555{n:04d}" for n in range(100)]


@pytest.fixture
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmsgridProcess]:
    process = start_smsgrid(
        tmp_path_factory.mktemp("throttling"), config=CONFIG, time_scale=TIME_SCALE, throttling=True
    )
    try:
        yield process
    finally:
        process.stop()


def _send_raw(server: SmsgridProcess, sender: str, recipients: list[str]) -> httpx.Response:
    body = {"from": sender, "smsRecipients": [{"to": to} for to in recipients], "message": "rate"}
    return signed_request(server, "POST", "/sms?api-version=2021-03-07", orjson.dumps(body))


def _throttled_count(server: SmsgridProcess) -> float:
    text = httpx.get(f"{server.base_url}/metrics", timeout=10).text
    match = re.search(r"^smsgrid_send_requests_throttled_total (\S+)$", text, re.MULTILINE)
    assert match is not None, text
    return float(match.group(1))


def test_over_the_rate_is_429_with_retry_after_and_azures_error_body(server: SmsgridProcess) -> None:
    assert _send_raw(server, TOLL_FREE, FULL_REQUEST).status_code == 202
    refused = _send_raw(server, TOLL_FREE, ["+14255551001"])
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert 0 < int(refused.headers["retry-after-ms"]) <= 6000 + 1  # within the scaled 60 s window
    error = refused.json()["error"]
    assert error["code"] == "TooManyRequests"
    assert "+18005550100" in error["message"]
    assert "100 messages" in error["message"]
    # The refused request cost nothing and wrote nothing; another number has its own window.
    with server.admin() as admin:
        stored = admin.get("/admin/messages", params={"number": "+14255551001"}).json()["value"]
    assert stored == []
    assert _send_raw(server, OTHER, ["+14255551001"]).status_code == 202


def test_the_sdks_retry_policy_waits_out_a_429_and_the_send_succeeds(server: SmsgridProcess) -> None:
    statuses: list[int] = []
    client = SmsClient(
        server.base_url,
        AzureKeyCredential(server.access_key),
        retry_backoff_factor=0.05,
        raw_response_hook=lambda response: statuses.append(response.http_response.status_code),
    )
    try:
        assert _send_raw(server, TOLL_FREE, FULL_REQUEST).status_code == 202
        [result] = client.send(from_=TOLL_FREE, to="+14255551002", message="after the back-off")
    finally:
        client._sms_service_client.close()
    assert (result.successful, result.http_status_code) == (True, 202)
    assert _throttled_count(server) >= 1
    assert statuses[0] == 429
    assert statuses[-1] == 202


def test_the_sdk_without_retries_sees_the_429(server: SmsgridProcess) -> None:
    from azure.core.exceptions import HttpResponseError

    client: Any = SmsClient(server.base_url, AzureKeyCredential(server.access_key), retry_total=0)
    try:
        assert _send_raw(server, TOLL_FREE, FULL_REQUEST).status_code == 202
        with pytest.raises(HttpResponseError) as raised:
            client.send(from_=TOLL_FREE, to="+14255551003", message="no retries")
    finally:
        client._sms_service_client.close()
    assert raised.value.status_code == 429
