"""Crash safety (SPEC §2 and §4): a 202 means the message is committed, and carrier work outlives the process.

The server is SIGKILLed (no clean shutdown, as a crash) and restarted on the same data dir.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from azure.communication.sms import SmsClient
from azure.core.credentials import AzureKeyCredential

from smsgrid.testing import SmsgridProcess, WebhookSink, start_smsgrid
from smsgrid.testing.plugin import subscribe
from tests.support_sms import SENDER, admin_message, reports_for, signed_request, wait_for_report

CARRIER_DELAY_MS = 1500
SLOW_CARRIER = f"""
[carrier]
delay_ms = {CARRIER_DELAY_MS}
"""


@pytest.fixture
def slow_server(tmp_path: Path) -> Iterator[SmsgridProcess]:
    process = start_smsgrid(tmp_path / "smsgrid", config=SLOW_CARRIER)
    try:
        yield process
    finally:
        process.stop()


def _sdk_send(server: SmsgridProcess, to: list[str]) -> list[str]:
    client = SmsClient(server.base_url, AzureKeyCredential(server.access_key))
    try:
        results = client.send(from_=SENDER, to=to, message="survive a crash", enable_delivery_report=True)
    finally:
        client._sms_service_client.close()
    assert all(r.successful for r in results)
    return [str(r.message_id) for r in results]


def test_pending_reports_survive_sigkill_and_are_produced_exactly_once(
    slow_server: SmsgridProcess, webhook_sink: WebhookSink
) -> None:
    subscribe(slow_server, "crash-sink", webhook_sink.url)
    ids = _sdk_send(slow_server, [f"+1425555{n:04d}" for n in range(5000, 5005)])
    ids += _sdk_send(slow_server, ["+14255555005"])
    slow_server.kill()  # right after the 202s: the carrier's reports are still 1.5 s away
    # The crash really came before any report: otherwise this test would prove nothing about the restart.
    assert all(reports_for(webhook_sink, message_id) == [] for message_id in ids)
    slow_server.start()

    for message_id in ids:
        report = wait_for_report(webhook_sink, message_id, timeout=30)
        assert report.data["deliveryStatus"] == "Delivered"
    # Anything produced twice would be delivered before a report the restarted server makes later.
    [marker] = _sdk_send(slow_server, ["+14255555006"])
    wait_for_report(webhook_sink, marker, timeout=30)
    for message_id in ids:
        assert len(reports_for(webhook_sink, message_id)) == 1, message_id
        stored = admin_message(slow_server, message_id)
        assert stored["status"] == "delivered"
        assert len(stored["events"]) == 1


def test_a_202_is_never_lost_across_sigkill(slow_server: SmsgridProcess) -> None:
    accepted: list[str] = []
    lock = threading.Lock()
    enough = threading.Event()

    def keep_sending(worker: int) -> None:
        for n in range(500):
            body = orjson.dumps(
                {"from": SENDER, "smsRecipients": [{"to": f"+1425556{worker}{n:03d}"}], "message": f"#{n}"}
            )
            try:
                response = signed_request(slow_server, "POST", "/sms?api-version=2021-03-07", body)
            except Exception:
                return  # the server died under us: this request's fate is unknown, and it was never 202'd
            if response.status_code != 202:
                return
            with lock:
                accepted.append(response.json()["value"][0]["messageId"])
                if len(accepted) >= 40:
                    enough.set()

    workers = [threading.Thread(target=keep_sending, args=(w,)) for w in range(4)]
    for worker in workers:
        worker.start()
    assert enough.wait(60), "the server accepted too few messages"
    slow_server.kill()  # while the four senders are still sending
    for worker in workers:
        worker.join(60)
    slow_server.start()

    with lock:
        answered = list(accepted)
    assert len(answered) >= 40
    with slow_server.admin() as admin:
        for message_id in answered:
            response = admin.get(f"/admin/messages/{message_id}")
            assert response.status_code == 200, f"202'd message {message_id} was lost"
