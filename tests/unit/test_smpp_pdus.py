"""SMPP framing and the small PDUs the session reads and writes itself (pure; no sockets)."""

from __future__ import annotations

import struct

import pytest
import smpp34
from hypothesis import given
from hypothesis import strategies as st

from smsgrid.carrier.smpp.pdus import (
    BIND_RECEIVER,
    BIND_TRANSCEIVER,
    BIND_TRANSMITTER,
    DATA_SM,
    DATA_SM_RESP,
    DELIVER_SM,
    DELIVER_SM_RESP,
    ENQUIRE_LINK,
    ENQUIRE_LINK_RESP,
    GENERIC_NACK,
    MAX_PDU_LENGTH,
    MAX_SEQUENCE,
    SUBMIT_SM,
    UNBIND,
    UNBIND_RESP,
    MalformedPdu,
    PduHeader,
    encode_bind,
    encode_generic_nack,
    encode_pdu,
    encode_response,
    encode_submit_sm,
    next_sequence,
    parse_data_sm,
    parse_deliver_sm,
    parse_header,
    parse_message_id,
    parse_tlvs,
    read_c_string,
)
from smsgrid.carrier.smpp.protocol import TLV_MESSAGE_PAYLOAD, TLV_MESSAGE_STATE, TLV_RECEIPTED_MESSAGE_ID
from smsgrid.carrier.smpp.session_port import BindMode, SubmitSmFields, Tlv


def data_sm_body(*, tlvs: bytes = b"") -> bytes:
    return (
        b"WAP\x00"
        + bytes((1, 1))
        + b"447700900123\x00"
        + bytes((0, 1))
        + b"12345\x00"
        + bytes((0x04, 0x01, 0x08))
        + tlvs
    )


def tlv(tag: int, value: bytes) -> bytes:
    return struct.pack(">HH", tag, len(value)) + value


# --- header and framing ---------------------------------------------------------------------------------------


def test_a_header_reads_its_four_fields() -> None:
    header = parse_header(struct.pack(">IIII", 21, 0x80000004, 0x58, 1234))
    assert header == PduHeader(21, 0x80000004, 0x58, 1234)
    assert header.is_response


def test_generic_nack_counts_as_a_response_and_a_request_does_not() -> None:
    assert parse_header(encode_generic_nack(5, 3)).is_response
    assert not parse_header(encode_pdu(ENQUIRE_LINK, 5)).is_response


@pytest.mark.parametrize("length", [0, 15, MAX_PDU_LENGTH + 1, 0xFFFFFFFF])
def test_an_absurd_command_length_is_refused(length: int) -> None:
    with pytest.raises(MalformedPdu, match="command_length"):
        parse_header(struct.pack(">IIII", length, ENQUIRE_LINK, 0, 1))


@pytest.mark.parametrize("length", [16, MAX_PDU_LENGTH])
def test_the_extreme_sane_lengths_are_accepted(length: int) -> None:
    assert parse_header(struct.pack(">IIII", length, DATA_SM, 0, 1)).command_length == length


def test_a_short_header_is_malformed() -> None:
    with pytest.raises(MalformedPdu):
        parse_header(b"\x00\x00\x00\x10")


def test_encode_pdu_counts_the_header_in_the_length() -> None:
    pdu = encode_pdu(SUBMIT_SM, 9, b"abc", 0x08)
    assert pdu == struct.pack(">IIII", 19, SUBMIT_SM, 0x08, 9) + b"abc"


def test_sequence_numbers_wrap_to_one_after_the_last_allowed() -> None:
    assert next_sequence(1) == 2
    assert next_sequence(MAX_SEQUENCE - 1) == MAX_SEQUENCE
    assert next_sequence(MAX_SEQUENCE) == 1


@given(st.integers(min_value=1, max_value=MAX_SEQUENCE))
def test_sequence_numbers_stay_in_range(sequence: int) -> None:
    assert 1 <= next_sequence(sequence) <= MAX_SEQUENCE


# --- small PDUs -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "command_id"),
    [
        (BindMode.TRANSCEIVER, BIND_TRANSCEIVER),
        (BindMode.TRANSMITTER, BIND_TRANSMITTER),
        (BindMode.RECEIVER, BIND_RECEIVER),
    ],
)
def test_a_bind_carries_every_field_in_order(mode: BindMode, command_id: int) -> None:
    pdu = encode_bind(
        mode,
        1,
        system_id="smsgrid",
        password="secret",
        system_type="VMA",
        addr_ton=1,
        addr_npi=1,
        address_range="^44",
    )
    header = parse_header(pdu[:16])
    assert (header.command_id, header.sequence_number, header.command_length) == (command_id, 1, len(pdu))
    assert pdu[16:] == b"smsgrid\x00secret\x00VMA\x00\x34\x01\x01^44\x00"


@pytest.mark.parametrize(
    ("field", "value"),
    [("system_id", "s" * 16), ("password", "p" * 9), ("system_type", "t" * 13), ("address_range", "a" * 41)],
)
def test_a_bind_field_too_long_for_smpp_is_refused(field: str, value: str) -> None:
    fields = {"system_id": "smsgrid", "password": "pw", "system_type": "", "address_range": ""}
    fields[field] = value
    with pytest.raises(ValueError, match=field):
        encode_bind(
            BindMode.TRANSCEIVER,
            1,
            system_id=fields["system_id"],
            password=fields["password"],
            system_type=fields["system_type"],
            address_range=fields["address_range"],
        )


def test_the_longest_allowed_bind_fields_pass() -> None:
    pdu = encode_bind(BindMode.TRANSCEIVER, 1, system_id="s" * 15, password="p" * 8)
    assert pdu[16:].startswith(b"s" * 15 + b"\x00" + b"p" * 8 + b"\x00")


def test_a_refused_password_is_not_repeated_in_the_error() -> None:
    with pytest.raises(ValueError, match="password") as refused:
        encode_bind(BindMode.TRANSCEIVER, 1, system_id="smsgrid", password="hunter2-too-long")
    assert "hunter2" not in str(refused.value)


def test_a_non_ascii_system_id_is_refused() -> None:
    with pytest.raises(ValueError, match="ASCII"):
        encode_bind(BindMode.TRANSCEIVER, 1, system_id="smsgrïd", password="")


@pytest.mark.parametrize(
    ("request_id", "response_id", "body"),
    [
        (ENQUIRE_LINK, ENQUIRE_LINK_RESP, b""),
        (UNBIND, UNBIND_RESP, b""),
        (DELIVER_SM, DELIVER_SM_RESP, b"\x00"),
        (DATA_SM, DATA_SM_RESP, b"\x00"),
    ],
)
def test_responses_have_the_response_bit_and_the_request_sequence(
    request_id: int, response_id: int, body: bytes
) -> None:
    pdu = encode_response(request_id, 77, 0x64)
    header = parse_header(pdu[:16])
    assert (header.command_id, header.command_status, header.sequence_number) == (response_id, 0x64, 77)
    assert pdu[16:] == body


def test_generic_nack_is_a_bare_header_with_the_status() -> None:
    assert encode_generic_nack(12, 3) == struct.pack(">IIII", 16, GENERIC_NACK, 3, 12)


# --- submit_sm through the codec ------------------------------------------------------------------------------


def test_submit_sm_carries_every_field_and_tlv() -> None:
    fields = SubmitSmFields(
        source_addr="447700900456",
        source_addr_ton=1,
        source_addr_npi=1,
        destination_addr="447700900123",
        dest_addr_ton=1,
        dest_addr_npi=1,
        short_message=b"\x00\x48\x00\x69",
        data_coding=8,
        esm_class=0x40,
        registered_delivery=1,
        validity_period="000000010000000R",
        service_type="CMT",
        protocol_id=0,
        priority_flag=1,
        tlvs=(Tlv(0x020C, b"\x00\x07"), Tlv(0x1401, b"vendor")),
    )
    pdu = encode_submit_sm(fields, 4242)
    decoded = smpp34.decode(pdu)
    assert isinstance(decoded, smpp34.SubmitSm)
    assert decoded.sequence_number == 4242
    assert (decoded.source_addr, decoded.source_addr_ton, decoded.source_addr_npi) == ("447700900456", 1, 1)
    assert (decoded.destination_addr, decoded.dest_addr_ton, decoded.dest_addr_npi) == ("447700900123", 1, 1)
    assert (decoded.esm_class, decoded.registered_delivery, decoded.data_coding) == (0x40, 1, 8)
    assert (decoded.validity_period, decoded.service_type, decoded.priority_flag) == ("000000010000000R", "CMT", 1)
    assert decoded.short_message == b"\x00\x48\x00\x69"
    assert [(t.tag, t.value) for t in decoded.tlvs] == [(0x020C, b"\x00\x07"), (0x1401, b"vendor")]


# --- responses and bodies -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message_id"),
    [(b"abc123\x00", "abc123"), (b"1000", "1000"), (b"\x00", None), (b"", None)],
)
def test_submit_sm_resp_message_id(body: bytes, message_id: str | None) -> None:
    assert parse_message_id(body) == message_id


def test_c_strings_stop_at_the_nul_and_must_have_one() -> None:
    assert read_c_string(b"ab\x00cd\x00", 3, 6, "x") == ("cd", 6)
    with pytest.raises(MalformedPdu, match="no NUL"):
        read_c_string(b"abcdef\x00", 0, 4, "service_type")


def test_tlvs_are_read_to_the_end_of_the_body() -> None:
    body = b"xx" + tlv(TLV_RECEIPTED_MESSAGE_ID, b"1000") + tlv(TLV_MESSAGE_STATE, b"\x02") + tlv(0x1402, b"")
    assert parse_tlvs(body, 2) == (
        Tlv(TLV_RECEIPTED_MESSAGE_ID, b"1000"),
        Tlv(TLV_MESSAGE_STATE, b"\x02"),
        Tlv(0x1402, b""),
    )


@pytest.mark.parametrize("tail", [b"\x04", b"\x04\x24\x00", struct.pack(">HH", 0x0424, 5) + b"abc"])
def test_a_truncated_tlv_is_malformed(tail: bytes) -> None:
    with pytest.raises(MalformedPdu, match="TLV"):
        parse_tlvs(tail, 0)


def test_a_data_sm_body_becomes_an_inbound_pdu() -> None:
    body = data_sm_body(tlvs=tlv(TLV_MESSAGE_PAYLOAD, "Hi".encode("utf-16-be")) + tlv(TLV_MESSAGE_STATE, b"\x02"))
    pdu = parse_data_sm(99, body)
    assert pdu.command == "data_sm"
    assert pdu.sequence_number == 99
    assert pdu.service_type == "WAP"
    assert (pdu.source_addr, pdu.source_addr_ton, pdu.source_addr_npi) == ("447700900123", 1, 1)
    assert (pdu.destination_addr, pdu.dest_addr_ton, pdu.dest_addr_npi) == ("12345", 0, 1)
    assert (pdu.esm_class, pdu.registered_delivery, pdu.data_coding) == (0x04, 0x01, 0x08)
    assert pdu.short_message == b""
    assert pdu.tlv(TLV_MESSAGE_PAYLOAD) == "Hi".encode("utf-16-be")
    assert pdu.tlv(TLV_MESSAGE_STATE) == b"\x02"


def test_a_data_sm_without_tlvs_has_none() -> None:
    assert parse_data_sm(1, data_sm_body()).tlvs == ()


@pytest.mark.parametrize("cut", [0, 3, 5, 12, 19, 22, 25])
def test_a_truncated_data_sm_body_is_malformed(cut: int) -> None:
    with pytest.raises(MalformedPdu):
        parse_data_sm(1, data_sm_body()[:cut])


def test_a_deliver_sm_is_read_through_the_codec() -> None:
    wire = smpp34.DeliverSm(
        "447700900123",
        "447700900456",
        b"id:1000 stat:DELIVRD",
        source_addr_ton=1,
        source_addr_npi=1,
        esm_class=0x04,
        data_coding=0,
        tlvs=[smpp34.Tlv(TLV_RECEIPTED_MESSAGE_ID, b"1000\x00"), smpp34.Tlv(TLV_MESSAGE_STATE, b"\x02")],
        sequence_number=31,
    ).encode()
    pdu = parse_deliver_sm(wire)
    assert pdu.command == "deliver_sm"
    assert (pdu.sequence_number, pdu.esm_class, pdu.source_addr_ton) == (31, 0x04, 1)
    assert (pdu.source_addr, pdu.destination_addr) == ("447700900123", "447700900456")
    assert pdu.short_message == b"id:1000 stat:DELIVRD"
    assert pdu.tlv(TLV_RECEIPTED_MESSAGE_ID) == b"1000\x00"
    assert pdu.tlv(TLV_MESSAGE_STATE) == b"\x02"


def test_an_undecodable_deliver_sm_is_malformed() -> None:
    wire = smpp34.DeliverSm("a", "b", b"hello", sequence_number=1).encode()
    truncated = struct.pack(">I", len(wire) - 3) + wire[4:-3]
    with pytest.raises(MalformedPdu, match="deliver_sm"):
        parse_deliver_sm(truncated)


def test_a_pdu_of_another_kind_is_not_taken_for_a_deliver_sm() -> None:
    with pytest.raises(MalformedPdu, match="expected a deliver_sm"):
        parse_deliver_sm(encode_pdu(ENQUIRE_LINK, 1))
