"""What the SMSC pushes, through the SMPP carrier's handler, against the memory session fake: receipts (TLV and
text forms, hex/decimal ids, per part, before their response) and handsets' messages (reassembly out of order,
duplicates, the held acks, the timeout), and what the handler answers (0, 0x64 when the sink failed, 0x65)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator

import pytest

from smsgrid.carrier.port import Accepted, CarrierNote, DeliveryReport, InboundSms, SegmentAttempt
from smsgrid.carrier.smpp.inbound import ReceiptIndex, is_receipt
from smsgrid.carrier.smpp.protocol import (
    ESM_CLASS_DELIVERY_RECEIPT,
    ESM_CLASS_INTERMEDIATE_NOTIFICATION,
    ESM_CLASS_UDHI,
    TLV_MESSAGE_PAYLOAD,
    TLV_MESSAGE_STATE,
    TLV_NETWORK_ERROR_CODE,
    TLV_RECEIPTED_MESSAGE_ID,
    TLV_SAR_MSG_REF_NUM,
    TLV_SAR_SEGMENT_SEQNUM,
    TLV_SAR_TOTAL_SEGMENTS,
    DataCoding,
)
from smsgrid.carrier.smpp.session_memory import HeldAnswer
from smsgrid.carrier.smpp.session_port import ESME_RX_R_APPN, ESME_RX_T_APPN, InboundPdu, SubmitResponse, Tlv
from tests.unit.smpp_adapter_support import Rig, connection, deliver_sm, message, rig

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def one() -> AsyncIterator[Rig]:
    made = await rig()
    await made.bound()
    yield made
    await made.carrier.stop()


def tlv_receipt(message_id: str, state: int, error: bytes | None = None) -> InboundPdu:
    tlvs = [Tlv(TLV_RECEIPTED_MESSAGE_ID, message_id.encode() + b"\x00"), Tlv(TLV_MESSAGE_STATE, bytes((state,)))]
    if error is not None:
        tlvs.append(Tlv(TLV_NETWORK_ERROR_CODE, error))
    return deliver_sm(esm_class=ESM_CLASS_DELIVERY_RECEIPT, tlvs=tuple(tlvs))


def text_receipt(
    message_id: str, stat: str, err: str = "000", esm_class: int = ESM_CLASS_DELIVERY_RECEIPT
) -> InboundPdu:
    text = (
        f"id:{message_id} sub:001 dlvrd:001 submit date:2612021500 done date:2612021501 stat:{stat} err:{err} text:hi"
    )
    return deliver_sm(text.encode(), esm_class=esm_class)


def udh_part(reference: int, total: int, number: int, body: bytes, coding: int = DataCoding.SMSC_DEFAULT) -> InboundPdu:
    header = bytes((5, 0, 3, reference, total, number))
    return deliver_sm(header + body, esm_class=ESM_CLASS_UDHI, data_coding=coding)


# --- receipts ------------------------------------------------------------------------------------------------


async def test_a_tlv_receipt_becomes_the_parts_report_once_committed(one: Rig) -> None:
    await one.carrier.submit(message())
    status = await one.factory.live().push(tlv_receipt("m1", 2))
    at = one.clock.now()
    assert status == 0
    assert one.sink.reports == [
        DeliveryReport(
            reference="m1",
            status="Delivered",
            code=2000,
            attempts=(SegmentAttempt(at, 1, 0),),
            at=at,
            notes=(CarrierNote(at, "receipt on acme-1: receipted_message_id=m1 message_state=2 network_error=None"),),
        )
    ]
    assert one.carrier.connections()[0].receipts_total == 1


async def test_a_text_receipt_in_decimal_finds_the_hex_id_and_maps_the_error(one: Rig) -> None:
    one.factory.answers.append(SubmitResponse(0, "1a2b", 1))
    await one.carrier.submit(message())
    assert await one.factory.live().push(text_receipt("6699", "UNDELIV", err="001")) == 0
    [report] = one.sink.reports
    assert (report.reference, report.status, report.code) == ("1a2b", "Failed", 4004)  # MAP 1: unknown subscriber
    assert report.attempts == (SegmentAttempt(one.clock.now(), 0, 1),)
    assert "stat:UNDELIV" in report.notes[0].text


async def test_the_network_error_tlv_refines_a_failure(one: Rig) -> None:
    await one.carrier.submit(message())
    await one.factory.live().push(tlv_receipt("m1", 5, error=bytes((3, 0, 27))))  # GSM, absent subscriber
    assert (one.sink.reports[0].status, one.sink.reports[0].code) == ("Failed", 4006)


async def test_each_part_of_a_long_message_gets_its_own_report(one: Rig) -> None:
    outcome = await one.carrier.submit(message("x" * 161))
    assert isinstance(outcome, Accepted)
    session = one.factory.live()
    await session.push(tlv_receipt("m2", 5))
    await session.push(tlv_receipt("m1", 2))
    assert [(r.reference, r.status) for r in one.sink.reports] == [("m2", "Failed"), ("m1", "Delivered")]


@pytest.mark.parametrize("stat", ["ENROUTE", "ACCEPTD", "BUFFRED"])
async def test_an_intermediate_receipt_is_acknowledged_and_not_reported(one: Rig, stat: str) -> None:
    await one.carrier.submit(message())
    pdu = text_receipt("m1", stat, esm_class=ESM_CLASS_INTERMEDIATE_NOTIFICATION)
    assert await one.factory.live().push(pdu) == 0
    assert one.sink.reports == []


async def test_an_unreadable_state_ends_the_wait_as_failed_9999_with_the_receipt(one: Rig) -> None:
    await one.carrier.submit(message())
    await one.factory.live().push(text_receipt("m1", "WEIRD"))
    [report] = one.sink.reports
    assert (report.status, report.code) == ("Failed", 9999)
    assert report.details is not None
    assert "stat:WEIRD" in report.details


async def test_a_receipt_before_its_response_waits_for_it(one: Rig) -> None:
    held = HeldAnswer()
    one.factory.answers.append(held)
    sending = asyncio.create_task(one.carrier.submit(message()))
    await held.submitted.wait()
    receipt = asyncio.create_task(one.factory.live().push(text_receipt("255", "DELIVRD")))
    for _ in range(20):
        await asyncio.sleep(0)
    assert not receipt.done()  # waiting for the answer that names it
    held.release(SubmitResponse(0, "FF", 1))
    assert await receipt == 0
    assert isinstance(await sending, Accepted)
    assert [report.reference for report in one.sink.reports] == ["FF"]


async def test_an_unmatched_receipt_names_its_id_as_written(one: Rig) -> None:
    assert await one.factory.live().push(text_receipt("abc-9", "DELIVRD")) == 0
    assert [report.reference for report in one.sink.reports] == ["abc-9"]


async def test_a_receipt_the_sink_could_not_commit_is_answered_try_again(one: Rig) -> None:
    await one.carrier.submit(message())
    one.sink.failures = 1
    session = one.factory.live()
    assert await session.push(tlv_receipt("m1", 2)) == ESME_RX_T_APPN
    assert one.sink.reports == []
    assert await session.push(tlv_receipt("m1", 2)) == 0  # the SMSC sends it again
    assert [report.reference for report in one.sink.reports] == ["m1"]


async def test_the_receipt_is_acknowledged_only_after_the_sink_returned(one: Rig) -> None:
    await one.carrier.submit(message())
    one.sink.gate = asyncio.Event()
    receipt = asyncio.create_task(one.factory.live().push(tlv_receipt("m1", 2)))
    for _ in range(20):
        await asyncio.sleep(0)
    assert not receipt.done()
    one.sink.gate.set()
    assert await receipt == 0


async def test_a_receipt_naming_no_message_is_dropped_with_ok(one: Rig) -> None:
    pdu = deliver_sm(b"stat:DELIVRD id:", esm_class=ESM_CLASS_DELIVERY_RECEIPT)
    assert await one.factory.live().push(pdu) == 0
    assert one.sink.reports == []


async def test_a_data_sm_receipt_with_its_text_in_message_payload(one: Rig) -> None:
    await one.carrier.submit(message())
    text = b"id:m1 stat:DELIVRD err:000"
    pdu = dataclasses.replace(
        deliver_sm(esm_class=ESM_CLASS_DELIVERY_RECEIPT, tlvs=(Tlv(TLV_MESSAGE_PAYLOAD, text),)), command="data_sm"
    )
    assert await one.factory.live().push(pdu) == 0
    assert [(r.reference, r.status) for r in one.sink.reports] == [("m1", "Delivered")]


def test_receipt_text_with_esm_class_0_is_a_receipt_but_a_handset_text_is_not() -> None:
    assert is_receipt(text_receipt("1", "DELIVRD", esm_class=0))
    assert not is_receipt(deliver_sm(b"see you at 5"))


def test_the_receipt_index_matches_other_bases_and_refuses_to_guess() -> None:
    index = ReceiptIndex(capacity=3)
    index.add("1A2B")
    assert (index.match("6699"), index.match("01a2b"), index.match("nope")) == ("1A2B", "1A2B", None)
    index.add("0A")
    index.add("00A")
    assert index.match("0A") == "0A"  # the exact text first
    assert index.match("A") is None  # hex 10 names both: ambiguous, not guessed
    index.add("7")
    assert len(index) == 3  # the oldest went
    assert index.match("6699") is None
    index.remove("7")
    assert index.match("7") is None


# --- handsets' messages --------------------------------------------------------------------------------------


async def test_a_single_part_message_reaches_the_sink_with_e164_numbers(one: Rig) -> None:
    assert await one.factory.live().push(deliver_sm(b"STOP")) == 0
    assert one.sink.inbound_messages == [
        InboundSms("+14255550123", "+18005550100", "STOP", one.clock.now(), from_kept_as_received=False, segments=1)
    ]
    assert one.carrier.connections()[0].inbound_total == 1


async def test_a_number_that_cannot_be_proven_e164_is_kept_as_received(one: Rig) -> None:
    await one.factory.live().push(deliver_sm(b"hi", source="07700900123", source_ton=0))
    [sms] = one.sink.inbound_messages
    assert (sms.from_number, sms.from_kept_as_received) == ("07700900123", True)


async def test_ucs2_is_decoded(one: Rig) -> None:
    await one.factory.live().push(deliver_sm("Привет 👋".encode("utf-16-be"), data_coding=DataCoding.UCS2))
    assert one.sink.inbound_messages[0].text == "Привет 👋"


async def test_an_unreadable_coding_is_refused_for_good(one: Rig) -> None:
    assert await one.factory.live().push(deliver_sm(b"\x01\x02", data_coding=0xF4)) == ESME_RX_R_APPN
    assert await one.factory.live().push(udh_part(1, 2, 3, b"x")) == ESME_RX_R_APPN  # part 3 of 2
    assert one.sink.inbound_messages == []


async def test_parts_out_of_order_and_twice_make_one_message_and_every_ack_waits_for_its_commit(one: Rig) -> None:
    session = one.factory.live()
    third = asyncio.create_task(session.push(udh_part(9, 3, 3, b"!")))
    first = asyncio.create_task(session.push(udh_part(9, 3, 1, b"hello ")))
    again = asyncio.create_task(session.push(udh_part(9, 3, 3, b"!")))
    for _ in range(20):
        await asyncio.sleep(0)
    assert [task.done() for task in (third, first, again)] == [False] * 3  # nothing acknowledged before the commit
    assert one.carrier.connections()[0].inbound_total == 0
    assert await session.push(udh_part(9, 3, 2, b"world")) == 0
    assert (await third, await first, await again) == (0, 0, 0)
    assert [(sms.text, sms.segments) for sms in one.sink.inbound_messages] == [("hello world!", 3)]
    # A late re-delivery of a committed part is acknowledged and dropped.
    assert await session.push(udh_part(9, 3, 1, b"hello ")) == 0
    assert len(one.sink.inbound_messages) == 1


async def test_sar_numbered_parts_reassemble() -> None:
    made = await rig(mo_part_ack_hold_seconds=0)
    await made.bound()

    def sar(number: int, body: bytes) -> InboundPdu:
        tlvs = (
            Tlv(TLV_SAR_MSG_REF_NUM, (0x1234).to_bytes(2, "big")),
            Tlv(TLV_SAR_TOTAL_SEGMENTS, b"\x02"),
            Tlv(TLV_SAR_SEGMENT_SEQNUM, bytes((number,))),
        )
        return deliver_sm(body, tlvs=tlvs)

    session = made.factory.live()
    assert await session.push(sar(2, b"two")) == 0  # hold 0: acknowledged at once
    assert await session.push(sar(1, b"one ")) == 0
    assert [sms.text for sms in made.sink.inbound_messages] == ["one two"]
    await made.carrier.stop()


async def test_a_message_the_sink_could_not_commit_is_answered_try_again_for_every_part_and_assembles_again(
    one: Rig,
) -> None:
    session = one.factory.live()
    one.sink.failures = 1
    first = asyncio.create_task(session.push(udh_part(4, 2, 1, b"ab")))
    await asyncio.sleep(0)
    assert await session.push(udh_part(4, 2, 2, b"cd")) == ESME_RX_T_APPN
    assert await first == ESME_RX_T_APPN
    assert one.sink.inbound_messages == []
    # The SMSC delivers both parts again: the message assembles again (not dropped as duplicates).
    again = asyncio.create_task(session.push(udh_part(4, 2, 1, b"ab")))
    await asyncio.sleep(0)
    assert await session.push(udh_part(4, 2, 2, b"cd")) == 0
    assert await again == 0
    assert [sms.text for sms in one.sink.inbound_messages] == ["abcd"]


async def test_an_incomplete_message_is_delivered_with_what_arrived_after_the_reassembly_timeout() -> None:
    made = await rig(connection(reassembly_timeout_seconds=600.0), mo_part_ack_hold_seconds=0)
    await made.bound()
    session = made.factory.live()
    assert await session.push(udh_part(7, 3, 1, b"start ")) == 0
    assert await session.push(udh_part(7, 3, 3, b"end")) == 0
    made.clock.advance(599)
    assert await made.carrier.expire_incomplete() == 0
    made.clock.advance(2)
    made.sink.failures = 1
    assert await made.carrier.expire_incomplete() == 0  # the sink failed: tried again next round
    assert await made.carrier.expire_incomplete() == 1
    [sms] = made.sink.inbound_messages
    assert (sms.text, sms.segments, sms.from_number) == ("start end", 3, "+14255550123")
    await made.carrier.stop()


async def test_the_held_ack_is_released_when_the_timeout_delivers_the_message(one: Rig) -> None:
    session = one.factory.live()
    waiting = asyncio.create_task(session.push(udh_part(5, 2, 1, b"alone")))
    await asyncio.sleep(0)
    one.clock.advance(601)
    assert await one.carrier.expire_incomplete() == 1
    assert await waiting == 0
    assert one.sink.inbound_messages[0].text == "alone"


async def test_stop_answers_held_parts_try_again() -> None:
    made = await rig()
    await made.bound()
    waiting = asyncio.create_task(made.factory.live().push(udh_part(5, 2, 1, b"alone")))
    await asyncio.sleep(0)
    await made.carrier.stop()
    assert await waiting == ESME_RX_T_APPN
    assert made.sink.inbound_messages == []


async def test_a_receipt_whose_answer_does_not_come_stops_waiting_and_names_its_id_as_written() -> None:
    made = await rig(connection(response_timeout_seconds=0.04))  # waits a quarter of it: 10 ms
    await made.bound()
    held = HeldAnswer()
    made.factory.answers.append(held)
    sending = asyncio.create_task(made.carrier.submit(message()))
    await held.submitted.wait()
    assert await made.factory.live().push(text_receipt("255", "DELIVRD")) == 0
    assert [report.reference for report in made.sink.reports] == ["255"]
    held.release(SubmitResponse(0, "FF", 1))
    assert isinstance(await sending, Accepted)
    await made.carrier.stop()


async def test_a_receipt_for_an_id_not_waiting_here_lists_its_other_spellings_for_the_core(one: Rig) -> None:
    # After a restart the index is empty: the receipt names in decimal (43776) what was answered in hex (AB00).
    status = await one.factory.live().push(tlv_receipt("43776", 2))
    assert status == 0
    [report] = one.sink.reports
    assert report.reference == "43776"
    assert {"AB00", "ab00"} <= set(report.reference_forms)
