"""Real carriers over SMPP 3.4, end to end (issue 14): the official SDK sends, an SMSC we did not write carries.

The SMSC is Debian's Net::SMPP (libnet-smpp-perl) driven by tests/smsc/net_smpp_smsc.pl: it answers every
submit_sm with an id and sends a receipt per part; handsets' messages are spool files it sends as deliver_sm.
smsgrid runs as its own process with one `[[carrier.smpp]]` connection to it; the application's view is the
official `azure-communication-sms` client and the events at a webhook. Crash safety uses the project's fault SMSC
(tests/smsc/fault_smsc.py), which can withhold its answers.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.communication.sms import SmsClient
from azure.core.credentials import AzureKeyCredential

from smsgrid.testing import SmsgridProcess, WebhookSink, start_smsgrid
from smsgrid.testing.plugin import subscribe
from tests.smsc.launch import SmscProcess, require_net_smpp, start_fault_smsc, start_net_smpp_smsc
from tests.smsc.wire import SpoolMo
from tests.support_sms import SENDER, admin_message, is_final, wait_for_message, wait_for_received, wait_for_report

CONNECTION = "netsmpp"
BOUND_WAIT = 20.0


def smpp_config(port: int, name: str = CONNECTION, **extra: object) -> str:
    lines = [
        "[[carrier.smpp]]",
        f'name = "{name}"',
        'host = "127.0.0.1"',
        f"port = {port}",
        'system_id = "smsgrid"',
        'password = "secret1"',
        "window = 10",
        "tps = 500",
    ]
    lines += [f"{key} = {value}" for key, value in extra.items()]
    return "\n".join(lines) + "\n"


def wait_bound(server: SmsgridProcess, name: str = CONNECTION, timeout: float = BOUND_WAIT) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        with server.admin() as admin:
            connections = admin.get("/admin/carriers").json()["value"]
        mine = [c for c in connections if c["name"] == name]
        if mine and mine[0]["sending"] and mine[0]["receiving"]:
            return dict(mine[0])
        assert time.monotonic() < deadline, connections
        time.sleep(0.05)


def send(server: SmsgridProcess, to: str, message: str) -> str:
    client = SmsClient(server.base_url, AzureKeyCredential(server.access_key))
    try:
        [result] = client.send(from_=SENDER, to=[to], message=message, enable_delivery_report=True)
    finally:
        client._sms_service_client.close()
    assert result.successful, result
    assert result.http_status_code == 202
    return str(result.message_id)


def submits_to(smsc: SmscProcess, to: str) -> list[dict[str, Any]]:
    return [pdu for pdu in smsc.pdus("submit_sm") if pdu["destination_addr"] == to.lstrip("+")]


@pytest.fixture(scope="module")
def smsc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmscProcess]:
    require_net_smpp()
    with start_net_smpp_smsc(tmp_path_factory.mktemp("netsmpp")) as process:
        yield process


@pytest.fixture(scope="module")
def server(smsc: SmscProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmsgridProcess]:
    process = start_smsgrid(tmp_path_factory.mktemp("smsgrid"), config=smpp_config(smsc.port))
    try:
        wait_bound(process)
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def sink(server: SmsgridProcess) -> Iterator[WebhookSink]:
    with WebhookSink() as webhook:
        subscribe(server, "smpp-tests", webhook.url)
        yield webhook


def test_a_send_goes_out_as_one_submit_sm_and_its_receipt_becomes_the_report(
    server: SmsgridProcess, smsc: SmscProcess, sink: WebhookSink
) -> None:
    handset = "+447700900201"
    message_id = send(server, handset, "Hello over SMPP")

    report = wait_for_report(sink, message_id)
    assert report.data["deliveryStatus"] == "Delivered"
    [attempt] = report.data["deliveryAttempts"]
    assert (attempt["segmentsSucceeded"], attempt["segmentsFailed"]) == (1, 0)
    [pdu] = submits_to(smsc, handset)
    assert (pdu["source_addr"], pdu["source_addr_ton"], pdu["source_addr_npi"]) == (SENDER.lstrip("+"), 1, 1)
    assert (pdu["dest_addr_ton"], pdu["dest_addr_npi"]) == (1, 1)
    assert pdu["registered_delivery"] & 0x01 == 0x01
    assert pdu["data_coding"] == 0
    assert bytes.fromhex(pdu["short_message_hex"]) == b"Hello over SMPP"  # GSM-7 unpacked: ASCII letters as is
    assert admin_message(server, message_id)["status"] == "delivered"


def test_a_long_message_is_split_as_the_api_counted_and_reported_once(
    server: SmsgridProcess, smsc: SmscProcess, sink: WebhookSink
) -> None:
    handset = "+447700900202"
    text = "".join(f"{n:03d} " for n in range(50))  # 200 GSM-7 characters: two segments of 153
    message_id = send(server, handset, text)

    report = wait_for_report(sink, message_id)
    parts = submits_to(smsc, handset)
    assert len(parts) == 2
    assert all(p["esm_class"] & 0x40 for p in parts)  # UDHI: each part starts with the concatenation header
    bodies = [bytes.fromhex(p["short_message_hex"]) for p in parts]
    assert {b[:3] for b in bodies} == {b"\x05\x00\x03"}
    assert b"".join(b[6:] for b in sorted(bodies, key=lambda b: b[5])).decode("ascii") == text
    assert report.data["deliveryStatus"] == "Delivered"
    [attempt] = report.data["deliveryAttempts"]
    assert (attempt["segmentsSucceeded"], attempt["segmentsFailed"]) == (2, 0)
    # A second report would come before the report of a message sent after it (receipts come at once here).
    marker = send(server, "+447700900212", "marker")
    wait_for_report(sink, marker)
    assert len([e for e in sink.iter_items() if e.get("id") == message_id]) == 1


def test_a_unicode_message_goes_out_as_ucs2(server: SmsgridProcess, smsc: SmscProcess, sink: WebhookSink) -> None:
    handset = "+447700900203"
    text = "Привет, мир! " * 6  # 78 characters outside GSM-7: two UCS-2 segments of 67
    message_id = send(server, handset, text)

    report = wait_for_report(sink, message_id)
    parts = submits_to(smsc, handset)
    assert [p["data_coding"] for p in parts] == [8, 8]
    joined = b"".join(bytes.fromhex(p["short_message_hex"])[6:] for p in parts)
    assert joined.decode("utf-16-be") == text
    assert report.data["deliveryAttempts"][0]["segmentsSucceeded"] == 2


def test_a_handset_message_becomes_sms_received(server: SmsgridProcess, smsc: SmscProcess, sink: WebhookSink) -> None:
    handset = "+447700900204"
    name = "hello"
    smsc.inject_mo(
        SpoolMo(
            source_addr=handset.lstrip("+"),
            destination_addr=SENDER.lstrip("+"),
            short_message_hex=b"Hi from a handset".hex(),
        ),
        name=name,
    )
    event = wait_for_received(sink, handset, "Hi from a handset")
    assert event.data["to"] == SENDER.lstrip("+")  # digits, as in every SMSReceived [seed]
    assert smsc.wait_spool_empty()  # acknowledged only once committed: the SMSC deleted its file after the resp


def test_a_long_unicode_handset_message_arrives_out_of_order_and_is_reassembled(
    server: SmsgridProcess, smsc: SmscProcess, sink: WebhookSink
) -> None:
    handset = "+447700900205"
    first, second = "Добрый день, это ", "длинное сообщение"
    for sequence, text in ((2, second), (1, first)):  # the second part first
        smsc.inject_mo(
            SpoolMo(
                source_addr=handset.lstrip("+"),
                destination_addr=SENDER.lstrip("+"),
                data_coding=8,
                udh_hex=f"0500037B02{sequence:02X}",
                short_message_hex=text.encode("utf-16-be").hex(),
            )
        )
        time.sleep(0.2)  # keep the order: the spool has no order of its own
    event = wait_for_received(sink, handset, first + second)
    assert event.data["message"] == first + second


def test_stop_from_a_handset_over_smpp_opts_it_out_and_nothing_is_submitted_after(
    server: SmsgridProcess, smsc: SmscProcess, sink: WebhookSink
) -> None:
    handset = "+447700900206"
    smsc.inject_mo(
        SpoolMo(source_addr=handset.lstrip("+"), destination_addr=SENDER.lstrip("+"), short_message_hex=b"STOP".hex())
    )
    wait_for_received(sink, handset, "STOP")
    message_id = send(server, handset, "are you there?")

    report = wait_for_report(sink, message_id)
    assert report.data["deliveryStatus"] == "Failed"
    assert report.data["deliveryStatusDetails"] == "Sender blocked for given recipient."
    assert admin_message(server, message_id)["deliveryStatusCode"] == 4007  # opted out (SPEC §2)
    assert submits_to(smsc, handset) == []


def test_carriers_command_and_metrics_show_the_connection(server: SmsgridProcess) -> None:
    status = wait_bound(server)
    assert status["state"] == "bound"
    assert status["windowSize"] == 10
    assert status["submittedTotal"] >= 0
    with server.admin() as admin:
        metrics = admin.get("/metrics").text
    assert f'smsgrid_carrier_connection_up{{connection="{CONNECTION}",kind="smpp"}} 1.0' in metrics
    assert "secret1" not in metrics


def test_a_crash_between_submit_sm_and_its_answer_is_an_unknown_outcome_never_sent_again(tmp_path: Path) -> None:
    with start_fault_smsc(tmp_path / "fault", "withhold_responses=true") as fault:
        server = start_smsgrid(tmp_path / "smsgrid", config=smpp_config(fault.port, response_timeout_seconds=60))
        try:
            wait_bound(server)
            handset = "+447700900299"
            message_id = send(server, handset, "costs money, reaches a person")
            assert fault.wait_count("submit_sm", 1) == 1  # it left: the SMSC has it, and answers nothing
            server.kill()
            binds_before = fault.count("bind_transceiver")
            server.start()
            wait_bound(server)
            assert fault.count("bind_transceiver") > binds_before  # the restarted process is connected again

            message = wait_for_message(server, message_id, is_final)
            assert message["status"] == "failed"
            assert message["deliveryStatusCode"] == 9999
            assert message["deliveryReport"]["deliveryStatusDetails"].startswith("Unknown outcome")
            with server.admin() as admin:
                metrics = admin.get("/metrics").text
            assert "smsgrid_carrier_unknown_outcomes_total 1.0" in metrics
            # Final means its carrier work is gone: a resubmit could only have come before this, and none did.
            assert len(submits_to(fault, handset)) == 1
        finally:
            server.stop()
