"""The test SMSCs themselves (tests/smsc/): a raw ESME (smpp34's codec, no smsgrid code) binds to each on loopback.

Only as far as the adapter's tests and the benchmark rely on them: bind, submit, receipts (ids, TLVs, text), MO
through the spool, the PDU log, and each fault scenario doing what it says.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import smpp34

from tests.smsc import wire
from tests.smsc.fault_smsc import FaultSmsc, Scenario
from tests.smsc.launch import SmscProcess, start_fault_smsc, start_net_smpp_smsc
from tests.smsc.raw_esme import RawEsme

pytestmark = pytest.mark.anyio

SENDER = "447700900456"
HANDSET = "447700900123"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _submit(destination: str = HANDSET, text: bytes = b"hello", registered_delivery: int = 1) -> smpp34.SubmitSm:
    return smpp34.SubmitSm(
        SENDER,
        destination,
        text,
        source_addr_ton=1,
        source_addr_npi=1,
        dest_addr_ton=1,
        dest_addr_npi=1,
        registered_delivery=registered_delivery,
    )


def _message_id(body: bytes) -> str:
    return wire.read_cstring(body, 0)[0]


def _tlv(message: smpp34.DeliverSm, tag: int) -> bytes | None:
    return next((t.value for t in message.tlvs if t.tag == tag), None)


# ---- Debian's Net::SMPP ------------------------------------------------------------------------------------------


@pytest.fixture
def perl_smsc(tmp_path: Path) -> Iterator[SmscProcess]:
    with start_net_smpp_smsc(tmp_path / "smsc") as smsc:
        yield smsc


async def test_net_smpp_answers_submits_with_ids_and_a_receipt_per_submit(perl_smsc: SmscProcess) -> None:
    esme = await RawEsme.bind("127.0.0.1", perl_smsc.port)
    try:
        answers = [await asyncio.wait_for(esme.submit(_submit(text=t)), 5) for t in (b"hello", b"again")]
        no_report = await asyncio.wait_for(esme.submit(_submit(registered_delivery=0)), 5)
        receipts = await esme.wait_delivered(2)
    finally:
        await esme.unbind()
    ids = [_message_id(body) for status, _, body in answers if status == 0]
    assert len(set(ids)) == 2
    assert all(i.isdigit() for i in ids)
    assert no_report[0] == 0
    assert [_tlv(r, wire.TLV_RECEIPTED_MESSAGE_ID) for r in receipts] == [i.encode() for i in ids]
    assert [_tlv(r, wire.TLV_MESSAGE_STATE) for r in receipts] == [b"\x02", b"\x02"]
    assert (receipts[0].esm_class, receipts[0].source_addr) == (0x04, HANDSET)
    assert receipts[0].short_message.startswith(f"id:{ids[0]} sub:001 dlvrd:001 ".encode())
    assert b" stat:DELIVRD err:000 text:hello" in receipts[0].short_message
    await asyncio.sleep(0.1)  # the unbind's log line is written after its answer
    assert perl_smsc.count("submit_sm") == 3
    assert [p["short_message_hex"] for p in perl_smsc.pdus("submit_sm")] == [
        b"hello".hex(),
        b"again".hex(),
        b"hello".hex(),
    ]


async def test_net_smpp_failure_receipts_in_another_base(tmp_path: Path) -> None:
    options = ("--ids", "hex", "--receipt-id-base", "decimal", "--receipt-stat", "UNDELIV", "--receipt-err", "001")
    with start_net_smpp_smsc(tmp_path / "smsc", *options) as smsc:
        esme = await RawEsme.bind("127.0.0.1", smsc.port)
        try:
            status, _, body = await asyncio.wait_for(esme.submit(_submit(registered_delivery=2)), 5)
            (receipt,) = await esme.wait_delivered(1)
        finally:
            await esme.unbind()
    hex_id = _message_id(body)
    assert status == 0
    assert not hex_id.isdigit()
    assert _tlv(receipt, wire.TLV_RECEIPTED_MESSAGE_ID) == str(int(hex_id, 16)).encode()
    assert _tlv(receipt, wire.TLV_MESSAGE_STATE) == b"\x05"
    assert b"dlvrd:000" in receipt.short_message
    assert b"stat:UNDELIV err:001" in receipt.short_message


async def test_net_smpp_delays_receipts(tmp_path: Path) -> None:
    with start_net_smpp_smsc(tmp_path / "smsc", "--receipt-delay-ms", "300") as smsc:
        esme = await RawEsme.bind("127.0.0.1", smsc.port)
        try:
            await asyncio.wait_for(esme.submit(_submit()), 5)
            await asyncio.sleep(0.1)
            early = len(esme.delivered)
            await esme.wait_delivered(1)
        finally:
            await esme.unbind()
    assert early == 0  # the delay is 300 ms; 100 ms after the answer nothing may have come


async def test_net_smpp_ids_are_unique_across_binds(perl_smsc: SmscProcess) -> None:
    esmes = [await RawEsme.bind("127.0.0.1", perl_smsc.port) for _ in range(4)]
    try:
        answers = [await asyncio.wait_for(e.submit(_submit(registered_delivery=0)), 5) for e in esmes for _ in "ab"]
    finally:
        for esme in esmes:
            await esme.unbind()
    ids = [_message_id(body) for _, _, body in answers]
    assert len(set(ids)) == 8


async def test_net_smpp_pushes_spooled_mo_to_the_receiving_bind_and_deletes_it_once_acknowledged(
    perl_smsc: SmscProcess,
) -> None:
    transmitter = await RawEsme.bind("127.0.0.1", perl_smsc.port, command_id=wire.BIND_TRANSMITTER)
    receiver = await RawEsme.bind("127.0.0.1", perl_smsc.port, command_id=wire.BIND_RECEIVER)
    receiver.deliver_status = 0x64  # "try again later": the SMSC keeps the MO
    parts = wire.concatenated(["Привет, ".encode("utf-16-be"), "мир".encode("utf-16-be")], reference=0x2A)
    try:
        spooled = perl_smsc.inject_mo(
            wire.SpoolMo(
                source_addr=HANDSET,
                destination_addr=SENDER,
                data_coding=8,
                udh_hex=parts[0][:6].hex(),
                short_message_hex=parts[0][6:].hex(),
            ),
            name="part1",
        )
        await receiver.wait_delivered(1)
        await asyncio.sleep(0.2)
        assert spooled.exists()  # back in the spool after 0x64
        receiver.deliver_status = 0
        await receiver.wait_delivered(2)
        assert await asyncio.to_thread(perl_smsc.wait_spool_empty)
    finally:
        await transmitter.unbind()
        await receiver.unbind()
    assert transmitter.delivered == []
    mo = receiver.delivered[-1]
    assert (mo.source_addr, mo.source_addr_ton, mo.source_addr_npi) == (HANDSET, 1, 1)
    assert (mo.destination_addr, mo.dest_addr_ton, mo.dest_addr_npi) == (SENDER, 1, 1)
    assert perl_smsc.pdus("deliver_sm", "out")[-1]["dest_addr_ton"] == 1
    assert (mo.esm_class, mo.data_coding, mo.short_message) == (0x40, 8, parts[0])
    statuses = [p["status"] for p in perl_smsc.pdus("deliver_sm_resp")]
    assert statuses[0] == 0x64
    assert statuses[-1] == 0


async def test_net_smpp_mo_goes_back_to_the_spool_when_the_connection_drops_unanswered(
    perl_smsc: SmscProcess,
) -> None:
    receiver = await RawEsme.bind("127.0.0.1", perl_smsc.port, command_id=wire.BIND_RECEIVER)
    receiver.deliver_status = None  # dies before acknowledging
    perl_smsc.inject_mo(wire.SpoolMo(HANDSET, SENDER, b"STOP".hex()), name="stop")
    await receiver.wait_delivered(1)
    await receiver.close()
    assert await asyncio.to_thread(perl_smsc.wait_mo_back, "stop")
    assert [p.name for p in perl_smsc.spool.iterdir()] == ["stop.json"]  # back, unclaimed: nobody is bound
    second = await RawEsme.bind("127.0.0.1", perl_smsc.port, command_id=wire.BIND_TRANSCEIVER)
    try:
        (mo,) = await second.wait_delivered(1)
        assert await asyncio.to_thread(perl_smsc.wait_spool_empty)
    finally:
        await second.unbind()
    assert mo.short_message == b"STOP"


# ---- the fault SMSC, in-process ----------------------------------------------------------------------------------


async def test_fault_smsc_answers_like_an_smsc_by_default() -> None:
    async with FaultSmsc() as smsc:
        esme = await RawEsme.bind("127.0.0.1", smsc.port)
        status, _, body = await asyncio.wait_for(esme.submit(_submit(text=b"hi")), 5)
        (receipt,) = await esme.wait_delivered(1)
        await esme.unbind()
        message_id = _message_id(body)
        assert status == 0
        assert message_id.isdigit()
        assert _tlv(receipt, wire.TLV_RECEIPTED_MESSAGE_ID) == message_id.encode() + b"\0"
        assert receipt.short_message.startswith(f"id:{message_id} ".encode())
        await smsc.wait_for(lambda: bool(smsc.received("unbind")))
        assert [r.command for r in smsc.records if r.dir == "in"] == [
            "bind_transceiver",
            "submit_sm",
            "deliver_sm_resp",
            "unbind",
        ]
        assert smsc.received("submit_sm")[0].fields["short_message_hex"] == b"hi".hex()


async def test_fault_smsc_refuses_binds_with_the_status_asked() -> None:
    async with FaultSmsc(Scenario(refuse_bind=0x0E)) as smsc:
        with pytest.raises(ConnectionError, match="0x0000000E"):
            await RawEsme.bind("127.0.0.1", smsc.port)
        smsc.set_scenario(refuse_bind=0)
        esme = await RawEsme.bind("127.0.0.1", smsc.port)
        await esme.unbind()


async def test_fault_smsc_throttles_every_nth_submit_and_for_a_while() -> None:
    async with FaultSmsc(Scenario(throttle_every=2)) as smsc:
        esme = await RawEsme.bind("127.0.0.1", smsc.port)
        first = [(await asyncio.wait_for(esme.submit(_submit(registered_delivery=0)), 5))[0] for _ in range(4)]
        smsc.set_scenario(throttle_every=0, throttle_seconds=60)
        during = (await asyncio.wait_for(esme.submit(_submit(registered_delivery=0)), 5))[0]
        smsc.set_scenario(throttle_seconds=0)
        after = (await asyncio.wait_for(esme.submit(_submit(registered_delivery=0)), 5))[0]
        await esme.unbind()
    assert first == [0, 0x58, 0, 0x58]
    assert (during, after) == (0x58, 0)


async def test_fault_smsc_withholds_responses_and_counts_what_is_outstanding() -> None:
    async with FaultSmsc(Scenario(withhold_responses=True)) as smsc:
        esme = await RawEsme.bind("127.0.0.1", smsc.port)
        pending = [esme.submit(_submit()) for _ in range(3)]
        await smsc.wait_for(lambda: len(smsc.received("submit_sm")) == 3)
        await asyncio.sleep(0.1)
        assert not any(p.done() for p in pending)
        assert smsc.max_unanswered == 3
        assert smsc.sent("submit_sm_resp") == []
        await esme.close()


async def test_fault_smsc_window_full_holds_answers_until_k_are_outstanding() -> None:
    async with FaultSmsc(Scenario(window_full_at=3)) as smsc:
        esme = await RawEsme.bind("127.0.0.1", smsc.port)
        first_two = [esme.submit(_submit(registered_delivery=0)) for _ in range(2)]
        await smsc.wait_for(lambda: len(smsc.received("submit_sm")) == 2)
        await asyncio.sleep(0.1)
        assert not any(p.done() for p in first_two)
        third = esme.submit(_submit(registered_delivery=0))
        answers = await asyncio.wait_for(asyncio.gather(*first_two, third), 5)
        await esme.unbind()
    assert [status for status, _, _ in answers] == [0, 0, 0]
    assert smsc.max_unanswered == 3


async def test_fault_smsc_sends_receipts_before_responses_or_none_at_all() -> None:
    async with FaultSmsc(Scenario(receipts_before_responses=True, ids="hex", receipt_id_base="decimal")) as smsc:
        esme = await RawEsme.bind("127.0.0.1", smsc.port)
        _, _, body = await asyncio.wait_for(esme.submit(_submit()), 5)
        (receipt,) = await esme.wait_delivered(1)
        smsc.set_scenario(receipts=False)
        await asyncio.wait_for(esme.submit(_submit()), 5)
        await asyncio.sleep(0.1)
        await esme.unbind()
        out = [r.command for r in smsc.records if r.dir == "out" and r.command in ("deliver_sm", "submit_sm_resp")]
    assert out == ["deliver_sm", "submit_sm_resp", "submit_sm_resp"]
    assert len(esme.delivered) == 1
    assert _tlv(receipt, wire.TLV_RECEIPTED_MESSAGE_ID) == str(int(_message_id(body), 16)).encode() + b"\0"


async def test_fault_smsc_drops_the_connection_after_n_pdus() -> None:
    async with FaultSmsc(Scenario(drop_after_pdus=3)) as smsc:
        esme = await RawEsme.bind("127.0.0.1", smsc.port)
        first = await asyncio.wait_for(esme.submit(_submit(registered_delivery=0)), 5)
        second = esme.submit(_submit(registered_delivery=0))
        with pytest.raises(ConnectionError):
            await asyncio.wait_for(second, 5)
        await asyncio.wait_for(esme.closed.wait(), 5)
        assert first[0] == 0
        assert smsc.received("submit_sm")[-1].fields == {"dropped": True}


async def test_fault_smsc_sends_garbage_after_bind() -> None:
    async with FaultSmsc(Scenario(garbage_after_bind=("unknown_command",))) as smsc:
        esme = await RawEsme.bind("127.0.0.1", smsc.port)
        await smsc.wait_for(lambda: bool(smsc.received("generic_nack")))
        smsc.set_scenario(garbage_after_bind=())
        await smsc.send_garbage("bad_length")
        await asyncio.wait_for(esme.closed.wait(), 5)  # a length shorter than a header ends the framing
    assert smsc.received("generic_nack")[0].status == wire.ESME_RINVCMDID
    assert [r.fields["garbage"] for r in smsc.sent("0x00000099")] == ["unknown_command"]


async def test_fault_smsc_sends_mo_parts_out_of_order_and_duplicated() -> None:
    parts = wire.concatenated([b"first ", b"second"], reference=7)
    async with FaultSmsc(Scenario(mo_out_of_order=True, mo_duplicates=True)) as smsc:
        esme = await RawEsme.bind("127.0.0.1", smsc.port)
        mos = [wire.SpoolMo(HANDSET, SENDER, p[6:].hex(), udh_hex=p[:6].hex()) for p in parts]
        statuses = await smsc.send_mo(mos)
        await esme.unbind()
    assert statuses == [0, 0, 0]
    assert [m.short_message for m in esme.delivered] == [parts[1], parts[0], parts[1]]
    assert all(m.esm_class == 0x40 for m in esme.delivered)


# ---- the fault SMSC as a process ---------------------------------------------------------------------------------


async def test_fault_smsc_process_logs_pdus_and_takes_mo_from_its_spool(tmp_path: Path) -> None:
    with start_fault_smsc(tmp_path / "smsc", "ids=hex") as smsc:
        esme = await RawEsme.bind("127.0.0.1", smsc.port)
        try:
            status, _, body = await asyncio.wait_for(esme.submit(_submit()), 5)
            smsc.inject_mo(wire.SpoolMo(HANDSET, SENDER, b"HELP".hex()))
            delivered = await esme.wait_delivered(2)
            assert await asyncio.to_thread(smsc.wait_spool_empty)
        finally:
            await esme.unbind()
        assert smsc.wait_count("unbind", 1) == 1
        assert status == 0
        assert not _message_id(body).isdigit()
        assert sorted(m.short_message[:3] for m in delivered) == [b"HEL", b"id:"]
        assert smsc.count("submit_sm") == 1
        assert smsc.pdus("submit_sm_resp", "out")[0]["message_id"] == _message_id(body)
