"""Repeatability through the SDK's own retry (SPEC §2): a 202 lost on the way back makes the SDK send the identical
body again; smsgrid answers with the original messageId and keeps ONE message and ONE delivery report.

A real reverse proxy on loopback (`tests.support_proxy.FlakyProxy`) forwards the first `POST /sms` to smsgrid
and answers the client 503 instead of smsgrid's 202, as a failing load balancer would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from azure.communication.sms import SmsClient
from azure.communication.sms.aio import SmsClient as AsyncSmsClient
from azure.core.credentials import AzureKeyCredential

from smsgrid.testing import SmsgridProcess, WebhookSink
from tests.support_proxy import FlakyProxy
from tests.support_sms import (
    SENDER,
    admin_message,
    messages_with,
    reports_for,
    wait_for_message,
    wait_for_report,
)


@pytest.fixture
def proxy(sms_server: SmsgridProcess) -> Iterator[FlakyProxy]:
    with FlakyProxy(sms_server.base_url, fail_sends=1) as started:
        yield started


def _check_retried_identically(proxy: FlakyProxy) -> tuple[dict[str, Any], dict[str, Any]]:
    first, second = proxy.sends()
    assert (first.answered_status, second.answered_status) == (503, 202)
    assert first.upstream_status == second.upstream_status == 202
    assert first.request_body == second.request_body  # the SDK retried the very same body
    return first.upstream_json(), second.upstream_json()


def test_the_sdk_retry_of_a_lost_202_gets_the_same_message_id(
    sms_server: SmsgridProcess, sms_sink: WebhookSink, http_client: Any, proxy: FlakyProxy
) -> None:
    client = SmsClient(proxy.url, AzureKeyCredential(sms_server.access_key))
    try:
        [result] = client.send(from_=SENDER, to="+14255552001", message="once only", enable_delivery_report=True)
    finally:
        client._sms_service_client.close()
    assert result.successful
    original, repeated = _check_retried_identically(proxy)
    [first_item], [second_item] = original["value"], repeated["value"]
    assert first_item["messageId"] == second_item["messageId"] == result.message_id
    assert second_item["repeatabilityResult"] == "accepted"

    assert [m["messageId"] for m in messages_with(sms_server, "+14255552001")] == [result.message_id]
    wait_for_report(sms_sink, result.message_id)
    # A later report through the same pipeline: by then a second report of the first message would have come too.
    [marker] = http_client.send(from_=SENDER, to="+14255552001", message="marker", enable_delivery_report=True)
    wait_for_report(sms_sink, marker.message_id)
    assert len(reports_for(sms_sink, result.message_id)) == 1
    assert len(admin_message(sms_server, result.message_id)["events"]) == 1


def test_the_async_sdk_retry_keeps_every_recipient_once(sms_server: SmsgridProcess, proxy: FlakyProxy) -> None:
    to = ["+14255552002", "+14255552003", "not-a-number"]

    async def send() -> list[Any]:
        async with AsyncSmsClient(proxy.url, AzureKeyCredential(sms_server.access_key)) as client:
            results: list[Any] = await client.send(from_=SENDER, to=to, message="to three")
            return results

    results = asyncio.run(send())
    original, repeated = _check_retried_identically(proxy)
    assert [item.get("messageId") for item in original["value"]] == [r.message_id for r in results]
    assert [item.get("messageId") for item in repeated["value"]] == [r.message_id for r in results]
    assert [r.successful for r in results] == [True, True, False]
    for number, result in zip(to[:2], results, strict=False):
        [stored] = messages_with(sms_server, number)
        assert stored["messageId"] == result.message_id
        wait_for_message(sms_server, result.message_id, lambda m: m["status"] == "delivered")
    body = orjson.loads(proxy.sends()[0].request_body)
    assert len({r["repeatabilityRequestId"] for r in body["smsRecipients"]}) == 3
