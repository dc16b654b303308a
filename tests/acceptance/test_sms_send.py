"""Sending with the official `azure-communication-sms` 1.1.0 SDK against a real `smsgrid serve` (SPEC §2).

Sync and async clients, over TLS from the connection string and over plain HTTP from a URL; request limits;
per-recipient errors inside the 202; segment counting; no report unless asked; the CLI's connection string and
a clean SIGTERM stop.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from azure.communication.sms import SmsClient
from azure.communication.sms.aio import SmsClient as AsyncSmsClient
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import HttpResponseError

from smsgrid.config import WELL_KNOWN_ACCESS_KEY
from smsgrid.sms import parse_message_id
from smsgrid.testing import SmsgridProcess, WebhookSink, start_smsgrid
from tests.support_sms import (
    SENDER,
    admin_message,
    close_sms_client,
    inbound,
    is_final,
    messages_with,
    reports_for,
    signed_request,
    wait_for_message,
    wait_for_received,
    wait_for_report,
)


def _assert_accepted(result: Any, to: str) -> None:
    assert result.successful, result.error_message
    assert result.http_status_code == 202
    assert result.to == to
    assert parse_message_id(result.message_id) is not None, result.message_id
    assert result.message_id.startswith("Outgoing_")


def test_sync_client_over_tls_from_connection_string(
    sms_server: SmsgridProcess, sms_sink: WebhookSink, tls_client: Any
) -> None:
    [result] = tls_client.send(
        from_=SENDER, to="+14255550001", message="over TLS", enable_delivery_report=True, tag="tls-sync"
    )
    _assert_accepted(result, "+14255550001")
    report = wait_for_report(sms_sink, result.message_id)
    assert report.data["deliveryStatus"] == "Delivered"
    assert report.data["tag"] == "tls-sync"
    assert report.subject == "/phonenumber/18005550100"
    message = admin_message(sms_server, result.message_id)
    assert message["status"] == "delivered"
    assert message["message"] == "over TLS"


def test_async_client_over_tls_from_connection_string(sms_server: SmsgridProcess, sms_sink: WebhookSink) -> None:
    async def send() -> list[Any]:
        client = AsyncSmsClient.from_connection_string(
            sms_server.connection_string, connection_verify=str(sms_server.cert_path)
        )
        async with client:
            results: list[Any] = await client.send(
                from_=SENDER, to=["+14255550002", "+14255550003"], message="async TLS", enable_delivery_report=True
            )
            return results

    results = asyncio.run(send())
    assert [r.to for r in results] == ["+14255550002", "+14255550003"]
    for result in results:
        _assert_accepted(result, result.to)
        assert wait_for_report(sms_sink, result.message_id).data["deliveryStatus"] == "Delivered"
    assert results[0].message_id != results[1].message_id


def test_sync_and_async_clients_over_plain_http(sms_server: SmsgridProcess, sms_sink: WebhookSink) -> None:
    credential = AzureKeyCredential(sms_server.access_key)
    client = SmsClient(sms_server.base_url, credential)
    try:
        [sync_result] = client.send(from_=SENDER, to="+14255550004", message="plain", enable_delivery_report=True)
    finally:
        close_sms_client(client)
    _assert_accepted(sync_result, "+14255550004")

    async def send() -> Any:
        async with AsyncSmsClient(sms_server.base_url, credential) as aclient:
            [result] = await aclient.send(from_=SENDER, to="+14255550005", message="plain async")
        # aiohttp closes a connection's transport on the next loop iteration: give it that one before
        # asyncio.run closes the loop (aiohttp docs, "Graceful Shutdown"; seen on a loaded CI machine).
        await asyncio.sleep(0)
        return result

    async_result = asyncio.run(send())
    _assert_accepted(async_result, "+14255550005")
    assert wait_for_report(sms_sink, sync_result.message_id).data["to"] == "+14255550004"
    assert admin_message(sms_server, async_result.message_id)["message"] == "plain async"


def test_one_hundred_recipients_each_get_their_own_message(sms_server: SmsgridProcess, http_client: Any) -> None:
    recipients = [f"+1425556{n:04d}" for n in range(100)]
    results = http_client.send(from_=SENDER, to=recipients, message="to a hundred")
    assert [r.to for r in results] == recipients
    for result in results:
        _assert_accepted(result, result.to)
    assert len({r.message_id for r in results}) == 100
    for result in results[::33]:
        stored = admin_message(sms_server, result.message_id)
        assert stored["to"] == result.to
        assert stored["from"] == SENDER
        assert stored["direction"] == "outgoing"


def test_one_hundred_and_one_recipients_is_a_request_level_400(sms_server: SmsgridProcess, http_client: Any) -> None:
    recipients = [f"+1425557{n:04d}" for n in range(101)]
    with pytest.raises(HttpResponseError) as raised:
        http_client.send(from_=SENDER, to=recipients, message="one too many")
    assert raised.value.status_code == 400
    assert "101" in str(raised.value.message)
    assert "100" in str(raised.value.message)
    # Request-level: nothing of it was accepted.
    assert messages_with(sms_server, recipients[0]) == []


def test_invalid_numbers_are_reported_per_recipient_inside_the_202(
    sms_server: SmsgridProcess, http_client: Any
) -> None:
    to = ["+14255550006", "4255550123", "+1 425 555 0123", "+999123"]
    results = http_client.send(from_=SENDER, to=to, message="mixed")
    assert [r.to for r in results] == to
    _assert_accepted(results[0], to[0])
    for bad in results[1:]:
        assert not bad.successful
        assert bad.http_status_code == 400
        assert bad.error_message == "Invalid To phone number format."
        assert bad.message_id is None
    assert admin_message(sms_server, results[0].message_id)["to"] == to[0]


@pytest.mark.parametrize(
    "sender",
    [
        "+14255550999",
        "8005550100",
        "+1800555010",
        "NOT OURS",
        "not a sender!",
        "ÉLAN",
        "+1８００5550100",
        "\U00012037X",
    ],
)
def test_a_sender_the_resource_does_not_own_is_401_as_on_azure(
    sms_server: SmsgridProcess, http_client: Any, sender: str
) -> None:
    # Azure answers both an unowned and a malformed `from` with 401 (azure-sdk-for-python recordings
    # test_send_sms_unauthorized_from_phone_number, test_send_sms_fake_from_phone_number); the SDK raises.
    handset = "+14255550007"
    with pytest.raises(HttpResponseError) as raised:
        http_client.send(from_=sender, to=handset, message="not ours")
    assert raised.value.status_code == 401
    assert raised.value.error is not None
    assert raised.value.error.code == "Unauthorized"
    response: Any = raised.value.response
    reason = response.headers["x-smsgrid-reason"]
    assert ascii(sender) in reason  # a header takes ASCII only: non-ASCII senders once caused a 500
    assert "+18005550100" in reason
    assert messages_with(sms_server, handset) == []
    raw = signed_request(sms_server, "POST", API, orjson.dumps({**VALID_SEND, "from": sender}))
    assert (raw.status_code, raw.json()) == (401, {"error": {"code": "Unauthorized", "message": ""}})


def test_a_message_over_2048_characters_is_a_400_and_2048_is_accepted(http_client: Any) -> None:
    with pytest.raises(HttpResponseError) as raised:
        http_client.send(from_=SENDER, to="+14255550008", message="x" * 2049)
    assert raised.value.status_code == 400
    assert "2049" in str(raised.value.message)
    assert "2048" in str(raised.value.message)
    [result] = http_client.send(from_=SENDER, to="+14255550008", message="x" * 2048)
    _assert_accepted(result, "+14255550008")


@pytest.mark.parametrize(
    ("text", "encoding", "segments"),
    [
        ("a" * 160, "GSM7", 1),
        ("a" * 161, "GSM7", 2),
        ("a" * 306, "GSM7", 2),
        ("a" * 307, "GSM7", 3),
        ("€" * 80, "GSM7", 1),  # extension table: ESC + char, 2 septets each
        ("€" * 81, "GSM7", 2),
        ("я" * 70, "UCS2", 1),
        ("я" * 71, "UCS2", 2),
        ("я" * 134, "UCS2", 2),
        ("я" * 135, "UCS2", 3),
        # A 2-unit character never straddles two parts: it moves whole to the next one, leaving a unit unused.
        ("a" * 152 + "€" + "a" * 152, "GSM7", 3),
        ("я" * 66 + "🙂" + "я" * 66, "UCS2", 3),
    ],
)
def test_segments_and_encoding_of_outgoing_messages(
    sms_server: SmsgridProcess, http_client: Any, text: str, encoding: str, segments: int
) -> None:
    [result] = http_client.send(from_=SENDER, to="+14255550009", message=text)
    stored = admin_message(sms_server, result.message_id)
    assert (stored["encoding"], stored["segments"]) == (encoding, segments)


@pytest.mark.parametrize(
    ("text", "encoding", "segments"),
    [("b" * 161, "GSM7", 2), ("ü" * 160, "GSM7", 1), ("🙂" * 35, "UCS2", 1), ("🙂" * 36, "UCS2", 2)],
)
def test_segment_count_of_received_sms(
    sms_server: SmsgridProcess, sms_sink: WebhookSink, text: str, encoding: str, segments: int
) -> None:
    handset = "+14255550010"
    message_id = inbound(sms_server, handset, SENDER, text)
    event = wait_for_received(sms_sink, handset, text)
    assert event.id == message_id
    assert event.data["segmentCount"] == segments
    stored = admin_message(sms_server, message_id)
    assert (stored["direction"], stored["encoding"], stored["segments"]) == ("incoming", encoding, segments)


def test_no_delivery_report_when_it_was_not_asked_for(
    sms_server: SmsgridProcess, sms_sink: WebhookSink, http_client: Any
) -> None:
    [silent] = http_client.send(from_=SENDER, to="+14255550011", message="quiet", enable_delivery_report=False)
    final = wait_for_message(sms_server, silent.message_id, is_final)
    assert final["status"] == "delivered"
    assert final["deliveryReport"] is None
    assert final["events"] == []
    # A later message's report reaching the sink shows the pipeline ran past the silent one.
    [marker] = http_client.send(from_=SENDER, to="+14255550011", message="loud", enable_delivery_report=True)
    wait_for_report(sms_sink, marker.message_id)
    assert reports_for(sms_sink, silent.message_id) == []


def test_connection_string_command_prints_a_string_the_sdk_can_use(sms_server: SmsgridProcess, tmp_path: Path) -> None:
    printed = subprocess.run(
        [sys.executable, "-m", "smsgrid", "connection-string", "--tls-port", str(sms_server.tls_port),
         "--data-dir", str(tmp_path)],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout.strip()  # fmt: skip
    assert printed == f"endpoint=https://127.0.0.1:{sms_server.tls_port}/;accesskey={WELL_KNOWN_ACCESS_KEY}"
    client = SmsClient.from_connection_string(printed, connection_verify=str(sms_server.cert_path))
    try:
        [result] = client.send(from_=SENDER, to="+14255550012", message="from the printed string")
    finally:
        close_sms_client(client)
    _assert_accepted(result, "+14255550012")


def test_serve_is_ready_and_sigterm_stops_it_cleanly(tmp_path: Path) -> None:
    process = start_smsgrid(tmp_path / "smsgrid")
    # An SDK client that keeps its TLS connection open, as a long-lived application would.
    client = SmsClient.from_connection_string(process.connection_string, connection_verify=str(process.cert_path))
    try:
        assert "smsgrid is ready" in process.log()
        assert process.connection_string in process.log()
        [result] = client.send(from_=SENDER, to="+14255550013", message="before the stop", enable_delivery_report=True)
        _assert_accepted(result, "+14255550013")
        code = process.stop(signal.SIGTERM)
    finally:
        close_sms_client(client)
        process.stop(signal.SIGKILL)
    assert code == 0, process.log()


VALID_SEND = {"from": SENDER, "smsRecipients": [{"to": "+14255550014"}], "message": "m"}
API = "/sms?api-version=2021-03-07"


@pytest.mark.parametrize(
    ("path", "body", "code"),
    [
        (API, b"{not json", "InvalidRequestBody"),
        (API, b"[]", "InvalidRequestBody"),
        (API, orjson.dumps({**VALID_SEND, "from": None}), "BadRequest"),
        (API, orjson.dumps({**VALID_SEND, "smsRecipients": []}), "BadRequest"),
        (API, orjson.dumps({**VALID_SEND, "message": None}), "BadRequest"),
        (API, orjson.dumps({**VALID_SEND, "smsSendOptions": {"enableDeliveryReport": "yes"}}), "BadRequest"),
        ("/sms?api-version=1999-01-01", orjson.dumps(VALID_SEND), "UnsupportedApiVersion"),
        ("/sms", orjson.dumps(VALID_SEND), "MissingApiVersionParameter"),
    ],
)
def test_request_level_errors_are_400_in_azure_error_shape(
    sms_server: SmsgridProcess, path: str, body: bytes, code: str
) -> None:
    response = signed_request(sms_server, "POST", path, body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert messages_with(sms_server, "+14255550014") == []
