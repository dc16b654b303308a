"""SMPP carriers when things go wrong, end to end (issue 14): the official SDK, a real smsgrid process, real SMSCs.

Each test runs its own SMSC(s) and its own smsgrid process on loopback. The SMSC is Debian's Net::SMPP
(tests/smsc/net_smpp_smsc.pl) where a well-behaved SMSC is wanted, and the project's fault SMSC
(tests/smsc/fault_smsc.py) for the faults: as a process, or in a thread of this test where the fault must come
at a chosen moment (garbage on a live bind, a handset's parts in a chosen order). "Nothing else happened" is
shown as test_smpp_carrier.py does: a marker sent afterwards, whose report or message comes back first.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from azure.communication.sms import SmsClient, SmsSendResult
from azure.core.credentials import AzureKeyCredential

from smsgrid.testing import SmsgridProcess, WebhookSink, start_smsgrid
from smsgrid.testing.plugin import subscribe
from smsgrid.testing.process import free_port
from tests.acceptance.test_smpp_carrier import CONNECTION, send, smpp_config, submits_to, wait_bound
from tests.smsc import wire
from tests.smsc.fault_smsc import FaultSmsc, PduRecord, Scenario
from tests.smsc.launch import SmscProcess, start_fault_smsc, start_net_smpp_smsc
from tests.smsc.wire import SpoolMo
from tests.support_sms import (
    SENDER,
    admin_message,
    messages_with,
    received_from,
    wait_for_received,
    wait_for_report,
)

T = TypeVar("T")
WAIT = 15.0  # seconds: the bound of every wait in this file
ESME_RINVPASWD = 0x0E


@pytest.fixture
def sink() -> Iterator[WebhookSink]:
    with WebhookSink() as webhook:
        yield webhook


def serve(folder: Path, config: str, sink: WebhookSink | None = None) -> SmsgridProcess:
    server = start_smsgrid(folder, config=config, throttling=False)
    if sink is not None:
        try:
            subscribe(server, "smpp-faults", sink.url)
        except BaseException:
            server.stop()
            raise
    return server


def still_running(server: SmsgridProcess) -> bool:
    return server.proc is not None and server.proc.poll() is None


def carrier_status(server: SmsgridProcess, name: str = CONNECTION) -> dict[str, Any]:
    with server.admin() as admin:
        connections = admin.get("/admin/carriers").json()["value"]
    [mine] = [c for c in connections if c["name"] == name]
    return dict(mine)


def wait_status(
    server: SmsgridProcess, condition: Callable[[dict[str, Any]], bool], name: str = CONNECTION
) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT
    while True:
        status = carrier_status(server, name)
        if condition(status):
            return status
        assert time.monotonic() < deadline, status
        time.sleep(0.05)


def send_all(server: SmsgridProcess, recipients: list[str], message: str) -> list[SmsSendResult]:
    """One request to several recipients, as the SDK sends it; the per-recipient results (the 202's body)."""
    client = SmsClient(server.base_url, AzureKeyCredential(server.access_key))
    try:
        return list(client.send(from_=SENDER, to=recipients, message=message, enable_delivery_report=True))
    finally:
        client._sms_service_client.close()


def accepted_submits(records: list[dict[str, Any]], to: str) -> int:
    """submit_sm to *to* that the SMSC answered with ESME_ROK (a throttled one is answered 0x58 and sent again)."""
    answers = {(r["conn"], r["seq"]): r["status"] for r in records if r["command"] == "submit_sm_resp"}
    return sum(
        1
        for r in records
        if r["dir"] == "in"
        and r["command"] == "submit_sm"
        and r["destination_addr"] == to.lstrip("+")
        and answers.get((r["conn"], r["seq"])) == 0
    )


def all_pdus(smsc: SmscProcess) -> list[dict[str, Any]]:
    return smsc.pdus(direction="in") + smsc.pdus(direction="out")


class ThreadedFaultSmsc:
    """The fault SMSC on its own event loop in a thread of this test, so the test can act on a live bind."""

    def __init__(self, scenario: Scenario) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault smsc", daemon=True)
        self._thread.start()
        self.smsc = self.run(self._started(scenario))

    async def _started(self, scenario: Scenario) -> FaultSmsc:
        smsc = FaultSmsc(scenario)
        await smsc.start()
        return smsc

    @property
    def port(self) -> int:
        return self.smsc.port

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(WAIT)

    def set_scenario(self, **changes: Any) -> None:
        async def change() -> None:
            self.smsc.set_scenario(**changes)

        self.run(change())

    def records(self) -> list[PduRecord]:
        return list(self.smsc.records)  # a copy: the loop thread appends

    def count(self, command: str, direction: str = "in") -> int:
        return sum(1 for r in self.records() if r.dir == direction and r.command == command)

    def close(self) -> None:
        try:
            self.run(self.smsc.stop())
        except (concurrent.futures.TimeoutError, RuntimeError):
            pass  # stopping is best effort; the loop ends below either way
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(WAIT)
            self._loop.close()


@pytest.fixture
def threaded_fault_smsc() -> Iterator[Callable[[Scenario], ThreadedFaultSmsc]]:
    started: list[ThreadedFaultSmsc] = []

    def start(scenario: Scenario) -> ThreadedFaultSmsc:
        smsc = ThreadedFaultSmsc(scenario)
        started.append(smsc)
        return smsc

    yield start
    for smsc in started:
        smsc.close()


def test_a_failure_receipt_becomes_a_failed_report_with_the_mapped_code(tmp_path: Path, sink: WebhookSink) -> None:
    with start_net_smpp_smsc(tmp_path / "smsc", "--receipt-stat", "UNDELIV", "--receipt-err", "001") as smsc:
        server = serve(tmp_path / "smsgrid", smpp_config(smsc.port), sink)
        try:
            wait_bound(server)
            handset = "+447700900401"
            message_id = send(server, handset, "this one will not arrive")

            report = wait_for_report(sink, message_id)
            assert report.data["deliveryStatus"] == "Failed"
            [attempt] = report.data["deliveryAttempts"]
            assert (attempt["segmentsSucceeded"], attempt["segmentsFailed"]) == (0, 1)
            stored = admin_message(server, message_id)
            assert stored["status"] == "failed"
            assert stored["deliveryStatusCode"] == 4004  # UNDELIV with MAP error 1, unknown subscriber (smpp.md)
            assert len(submits_to(smsc, handset)) == 1
        finally:
            server.stop()


def test_a_lost_response_is_an_unknown_outcome_reported_once_and_never_sent_again(
    tmp_path: Path, sink: WebhookSink
) -> None:
    with start_fault_smsc(tmp_path / "smsc", "withhold_responses=true") as smsc:
        config = smpp_config(smsc.port, response_timeout_seconds=1)
        server = serve(tmp_path / "smsgrid", config, sink)
        try:
            wait_bound(server)
            handset = "+447700900402"
            message_id = send(server, handset, "costs money, reaches a person")

            report = wait_for_report(sink, message_id)
            assert report.data["deliveryStatus"] == "Failed"
            assert report.data["deliveryStatusDetails"].startswith("Unknown outcome")
            stored = admin_message(server, message_id)
            assert (stored["status"], stored["deliveryStatusCode"]) == ("failed", 9999)
            wait_status(server, lambda s: s["unknownOutcomesTotal"] >= 1)
            assert still_running(server)
            # Still one submit_sm once a later message went out on the same (live) bind after the verdict.
            marker = "+447700900492"
            send(server, marker, "marker")
            assert smsc.wait_count("submit_sm", 2) >= 2
            assert [p["destination_addr"] for p in smsc.pdus("submit_sm")] == [
                handset.lstrip("+"),
                marker.lstrip("+"),
            ]
        finally:
            server.stop()


def test_a_throttling_smsc_gets_every_message_once_and_the_throttling_is_counted(
    tmp_path: Path, sink: WebhookSink
) -> None:
    # Every second submit_sm is throttled, so the throttling repeats and each pause is twice the last (by design,
    # smpp.md): four messages keep this test to seconds.
    with start_fault_smsc(tmp_path / "smsc", "throttle_every=2") as smsc:
        server = serve(tmp_path / "smsgrid", smpp_config(smsc.port), sink)
        try:
            wait_bound(server)
            handsets = [f"+4477009005{n:02d}" for n in range(4)]
            results = send_all(server, handsets, "a campaign the SMSC finds too fast")
            assert [r.http_status_code for r in results] == [202] * len(handsets)

            for result in results:
                report = wait_for_report(sink, str(result.message_id), timeout=30)
                assert report.data["deliveryStatus"] == "Delivered", report.data
            records = all_pdus(smsc)
            # Each destination taken exactly once; a throttled submit_sm (answered 0x58) was not taken, and is the
            # one automatic resend there is.
            assert {h: accepted_submits(records, h) for h in handsets} == dict.fromkeys(handsets, 1)
            throttled = [r for r in records if r["command"] == "submit_sm_resp" and r["status"] == 0x58]
            assert throttled
            assert carrier_status(server)["throttledTotal"] == len(throttled)
            assert len(smsc.pdus("submit_sm")) == len(handsets) + len(throttled)
        finally:
            server.stop()


def test_throttled_answers_to_one_burst_are_one_back_off(tmp_path: Path) -> None:
    """A window of submit_sm goes out at once and the SMSC throttles several of them: that is one overload, met
    with one halving of the rate and a 1 s pause (smpp.md, "Back-off"). No PDU is sent during a pause, so an
    answer that arrives in it is to a PDU sent before it."""
    with start_fault_smsc(tmp_path / "smsc", "throttle_every=2") as smsc:
        server = serve(tmp_path / "smsgrid", smpp_config(smsc.port))
        try:
            wait_bound(server)
            handsets = [f"+4477009005{n:02d}" for n in range(50, 60)]
            assert all(r.successful for r in send_all(server, handsets, "ten at once"))
            # window = 10 and tps = 500: the ten go out together and every second one is throttled.
            status = wait_status(server, lambda s: s["throttledTotal"] >= 2)
            assert smsc.wait_count("submit_sm", 10) >= 10
            burst = burst_throttles(smsc.pdus(direction="in") + smsc.pdus(direction="out"))
            # What the test needs (not what it checks): several throttled answers to PDUs sent before smsgrid
            # paused, and the status read before any resend could be throttled.
            assert 2 <= status["throttledTotal"] <= burst, (status, burst)
            assert status["tpsLimit"] == 250.0, status  # halved once; each answer halving it is the bug
        finally:
            server.stop()


def burst_throttles(records: list[dict[str, Any]]) -> int:
    """ESME_RTHROTTLED answers to the submit_sm sent before the first resend (a destination's second submit_sm)."""
    answers = {(r["conn"], r["seq"]): r["status"] for r in records if r["command"] == "submit_sm_resp"}
    seen: set[str] = set()
    throttled = 0
    for submit in sorted((r for r in records if r["command"] == "submit_sm"), key=lambda r: r["t"]):
        if submit["destination_addr"] in seen:
            break
        seen.add(submit["destination_addr"])
        throttled += answers.get((submit["conn"], submit["seq"])) == 0x58
    return throttled


def test_receipts_before_responses_and_ids_in_another_base_are_matched(tmp_path: Path, sink: WebhookSink) -> None:
    early, hex_ids = "+447700900601", "+447700900602"
    with (
        start_fault_smsc(tmp_path / "early", "receipts_before_responses=true") as early_smsc,
        start_fault_smsc(tmp_path / "hex", "ids=hex", "receipt_id_base=decimal") as hex_smsc,
    ):
        config = smpp_config(early_smsc.port, name="early", routes=f'[{{ to = "{early}" }}]') + smpp_config(
            hex_smsc.port, name="hex", routes=f'[{{ to = "{hex_ids}" }}]'
        )
        server = serve(tmp_path / "smsgrid", config, sink)
        try:
            wait_bound(server, "early")
            wait_bound(server, "hex")
            early_id = send(server, early, "my receipt overtakes my response")
            hex_id = send(server, hex_ids, "answered in hex, receipted in decimal")

            for message_id in (early_id, hex_id):
                report = wait_for_report(sink, message_id)
                assert report.data["deliveryStatus"] == "Delivered", report.data
                assert admin_message(server, message_id)["status"] == "delivered"
            # The SMSCs did what the test says they did.
            answers = [
                r["command"] for r in early_smsc.pdus(direction="out") if r["command"] != "bind_transceiver_resp"
            ]
            assert answers[:2] == ["deliver_sm", "submit_sm_resp"]  # the receipt went first
            [response] = hex_smsc.pdus("submit_sm_resp", direction="out")
            [receipt] = hex_smsc.pdus("deliver_sm", direction="out")
            assert int(response["message_id"], 16) == int(bytes.fromhex(receipt["tlvs"]["0x001e"]).rstrip(b"\0"))
            assert response["message_id"] != bytes.fromhex(receipt["tlvs"]["0x001e"]).rstrip(b"\0").decode()
        finally:
            server.stop()


def test_a_connection_refusing_binds_fails_over_to_the_next(tmp_path: Path, sink: WebhookSink) -> None:
    with (
        start_fault_smsc(tmp_path / "refusing", f"refuse_bind={ESME_RINVPASWD}") as refusing,
        start_net_smpp_smsc(tmp_path / "good") as good,
    ):
        config = smpp_config(refusing.port, name="refusing", weight=10) + smpp_config(good.port, name="good")
        server = serve(tmp_path / "smsgrid", config, sink)
        try:
            wait_bound(server, "good")
            status = wait_status(server, lambda s: s["state"] == "bind_refused", name="refusing")
            assert "bind refused" in status["lastError"]
            assert status["sending"] is False

            handsets = [f"+4477009007{n:02d}" for n in range(3)]
            results = send_all(server, handsets, "through whichever connection is up")
            for result in results:
                assert result.successful, result
                assert wait_for_report(sink, str(result.message_id)).data["deliveryStatus"] == "Delivered"
            assert sorted(p["destination_addr"] for p in good.pdus("submit_sm")) == [h.lstrip("+") for h in handsets]
            assert refusing.count("submit_sm") == 0
            assert refusing.count("bind_transceiver") >= 1
        finally:
            server.stop()


def test_with_no_connection_up_the_recipient_is_refused_inside_the_202_and_nothing_is_kept(tmp_path: Path) -> None:
    nobody = free_port()  # bound, then released: nothing listens there
    config = smpp_config(nobody, connect_timeout_seconds=1, reconnect_min_seconds=0.2, reconnect_max_seconds=0.5)
    server = serve(tmp_path / "smsgrid", config)
    try:
        status = wait_status(server, lambda s: bool(s["lastError"]))
        assert status["sending"] is False
        time.sleep(1.5)  # past the connect timeout: the link has been down too long to promise anything
        handset = "+447700900801"
        [result] = send_all(server, [handset], "is anyone there?")
        assert result.successful is False
        assert result.http_status_code == 503
        assert result.message_id is None or result.message_id == ""
        assert messages_with(server, handset) == []
    finally:
        server.stop()


def test_transmitter_receiver_binds_carry_sends_receipts_and_handsets_messages(
    tmp_path: Path, sink: WebhookSink
) -> None:
    with start_net_smpp_smsc(tmp_path / "smsc") as smsc:
        server = serve(tmp_path / "smsgrid", smpp_config(smsc.port, bind='"transmitter_receiver"'), sink)
        try:
            status = wait_bound(server)
            assert status["bind"] == "transmitter_receiver"
            assert (smsc.count("bind_transmitter"), smsc.count("bind_receiver")) == (1, 1)
            assert smsc.count("bind_transceiver") == 0

            handset = "+447700900901"
            message_id = send(server, handset, "two binds, one connection")
            assert wait_for_report(sink, message_id).data["deliveryStatus"] == "Delivered"
            smsc.inject_mo(
                SpoolMo(
                    source_addr=handset.lstrip("+"),
                    destination_addr=SENDER.lstrip("+"),
                    short_message_hex=b"Reply on the receiver".hex(),
                )
            )
            wait_for_received(sink, handset, "Reply on the receiver")
            assert smsc.wait_spool_empty()
        finally:
            server.stop()


def test_transmitter_receiver_takes_a_receipt_on_the_receiver_bind(
    tmp_path: Path, sink: WebhookSink, threaded_fault_smsc: Callable[[Scenario], ThreadedFaultSmsc]
) -> None:
    """Where a real SMSC sends receipts: on the receiver bind, not the transmitter that submitted (both test SMSCs
    answer on the submitting bind, so the test sends this receipt itself)."""
    smsc = threaded_fault_smsc(Scenario(receipts=False))
    server = serve(tmp_path / "smsgrid", smpp_config(smsc.port, bind='"transmitter_receiver"'), sink)
    try:
        wait_bound(server)
        handset = "+447700900902"
        message_id = send(server, handset, "receipted on the other bind")
        deadline = time.monotonic() + WAIT
        while not (responses := [r for r in smsc.records() if r.command == "submit_sm_resp" and r.dir == "out"]):
            assert time.monotonic() < deadline, smsc.records()
            time.sleep(0.02)
        smsc_id = str(responses[0].fields["message_id"])
        receipt = SpoolMo(
            source_addr=handset.lstrip("+"),
            destination_addr=SENDER.lstrip("+"),
            esm_class=0x04,
            short_message_hex=wire.receipt_text(smsc_id, "DELIVRD", "000", b"receipted", "2612021200").hex(),
            tlvs=[
                {"tag": wire.TLV_RECEIPTED_MESSAGE_ID, "value_hex": (smsc_id.encode() + b"\0").hex()},
                {"tag": wire.TLV_MESSAGE_STATE, "value_hex": "02"},
            ],
        )
        assert smsc.run(smsc.smsc.send_mo([receipt])) == [0]
        [receiver] = [c.number for c in smsc.smsc.connections if c.bind == "receiver"]
        [deliver] = [r for r in smsc.records() if r.dir == "out" and r.command == "deliver_sm"]
        assert deliver.conn == receiver

        report = wait_for_report(sink, message_id)
        assert report.data["deliveryStatus"] == "Delivered"
        assert admin_message(server, message_id)["status"] == "delivered"
    finally:
        server.stop()


def test_garbage_from_the_smsc_ends_the_session_and_the_connection_comes_back(
    tmp_path: Path, sink: WebhookSink, threaded_fault_smsc: Callable[[Scenario], ThreadedFaultSmsc]
) -> None:
    smsc = threaded_fault_smsc(Scenario())
    config = smpp_config(smsc.port, reconnect_min_seconds=0.2, reconnect_max_seconds=0.5)
    server = serve(tmp_path / "smsgrid", config, sink)
    try:
        wait_bound(server)
        assert smsc.count("bind_transceiver") == 1

        # An unknown command is answered with generic_nack; the session stays up.
        smsc.run(smsc.smsc.send_garbage("unknown_command"))
        deadline = time.monotonic() + WAIT
        while smsc.count("generic_nack") < 1:
            assert time.monotonic() < deadline, smsc.records()
            time.sleep(0.02)
        # A command_length shorter than a header, or longer than any PDU: no way to find the next PDU, so the
        # session ends and the connection binds again (with its usual back-off).
        for garbage, binds in (("bad_length", 2), ("huge_length", 3)):
            smsc.run(smsc.smsc.send_garbage(garbage))
            deadline = time.monotonic() + WAIT
            while smsc.count("bind_transceiver") < binds:
                assert time.monotonic() < deadline, (garbage, smsc.records())
                time.sleep(0.02)
            wait_bound(server)

        handset = "+447700901001"
        message_id = send(server, handset, "after the garbage")
        assert wait_for_report(sink, message_id).data["deliveryStatus"] == "Delivered"
        assert still_running(server)
        assert carrier_status(server)["reconnectsTotal"] >= 2
    finally:
        server.stop()


def handset_parts(handset: str, texts: list[str], reference: int) -> list[SpoolMo]:
    """A handset's long GSM-7 message as deliver_sm parts tied by an 8-bit concatenation UDH."""
    return [
        SpoolMo(
            source_addr=handset.lstrip("+"),
            destination_addr=SENDER.lstrip("+"),
            udh_hex=f"050003{reference:02X}{len(texts):02X}{n:02X}",
            short_message_hex=text.encode("ascii").hex(),  # ASCII letters are themselves in unpacked GSM-7
        )
        for n, text in enumerate(texts, start=1)
    ]


def test_a_handset_message_in_parts_out_of_order_and_duplicated_arrives_once_whole(
    tmp_path: Path, sink: WebhookSink, threaded_fault_smsc: Callable[[Scenario], ThreadedFaultSmsc]
) -> None:
    smsc = threaded_fault_smsc(Scenario(mo_out_of_order=True, mo_duplicates=True))
    server = serve(tmp_path / "smsgrid", smpp_config(smsc.port), sink)
    try:
        wait_bound(server)
        handset = "+447700901101"
        texts = ["A" * 153, "B" * 153, "the end."]  # full parts, as a handset sends them
        statuses = smsc.run(smsc.smsc.send_mo(handset_parts(handset, texts, reference=0x2C)))
        assert statuses == [0, 0, 0, 0]  # 3, 2, 1 and 3 again: every part acknowledged, the duplicate too
        sent = [r.fields["short_message_hex"] for r in smsc.records() if r.dir == "out" and r.command == "deliver_sm"]
        assert [bytes.fromhex(h)[5] for h in sent] == [3, 2, 1, 3]

        whole = "".join(texts)
        event = wait_for_received(sink, handset, whole)
        assert event.data["segmentCount"] == 3
        # A later message from the same handset comes after any second SMSReceived the duplicate could cause.
        # (A one-part message sent twice is two messages: nothing tells them apart, so the marker goes once.)
        smsc.set_scenario(mo_out_of_order=False, mo_duplicates=False)
        marker = [SpoolMo(handset.lstrip("+"), SENDER.lstrip("+"), b"marker".hex())]
        assert smsc.run(smsc.smsc.send_mo(marker)) == [0]
        wait_for_received(sink, handset, "marker")
        messages = [e.data["message"] for e in received_from(sink, handset)]
        assert (messages.count(whole), messages.count("marker"), len(messages)) == (1, 1, 2)
    finally:
        server.stop()


def test_sms_received_counts_the_parts_the_handset_sent(
    tmp_path: Path, sink: WebhookSink, threaded_fault_smsc: Callable[[Scenario], ThreadedFaultSmsc]
) -> None:
    """SegmentCount is how many parts the message came in (the adapter's InboundSms.segments; smpp.md,
    "Incoming"), not what the text would take if smsgrid sent it: a handset may split earlier than it must."""
    smsc = threaded_fault_smsc(Scenario())
    server = serve(tmp_path / "smsgrid", smpp_config(smsc.port), sink)
    try:
        wait_bound(server)
        handset = "+447700901102"
        assert smsc.run(smsc.smsc.send_mo(handset_parts(handset, ["Short ", "parts"], reference=0x2D))) == [0, 0]
        event = wait_for_received(sink, handset, "Short parts")
        assert event.data["segmentCount"] == 2
    finally:
        server.stop()
