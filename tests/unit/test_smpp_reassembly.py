"""Inbound parts from other senders: UDH variants, SAR, data codings, pairs split across parts, duplicates,
a reused reference, and parts that never come."""

from __future__ import annotations

import pytest

from smsgrid.carrier.smpp.gsm7 import Gsm7Form
from smsgrid.carrier.smpp.protocol import ESM_CLASS_UDHI, DataCoding
from smsgrid.carrier.smpp.reassembly import (
    AddOutcome,
    AssembledMessage,
    InboundPart,
    MalformedPartError,
    Reassembler,
    UnsupportedCodingError,
    decode_part,
    parse_udh,
)
from smsgrid.carrier.smpp.segmentation import Concat

SOURCE = "447700900123"
OURS = "447700900456"


def udh_part(header: bytes, body: bytes, data_coding: int = DataCoding.SMSC_DEFAULT) -> InboundPart:
    return InboundPart(SOURCE, OURS, data_coding, ESM_CLASS_UDHI, header + body)


def test_8bit_and_16bit_concatenation_headers() -> None:
    assert parse_udh(bytes.fromhex("0500030a0301") + b"x") == (Concat(0x0A, 3, 1), 6)
    assert parse_udh(bytes.fromhex("060804beef0302") + b"x") == (Concat(0xBEEF, 3, 2), 7)


def test_other_information_elements_are_skipped() -> None:
    # Application port addressing (IEI 0x05, 4 octets) before the concatenation element.
    header = bytes.fromhex("0b05040b8423f0" + "0003070201")
    assert parse_udh(header + b"x") == (Concat(7, 2, 1), 12)


def test_a_header_without_concatenation_is_a_single_part() -> None:
    header = bytes.fromhex("0605040b8423f0")
    result = Reassembler().add(udh_part(header, b"hi"), 0.0)
    assert result.message == AssembledMessage(SOURCE, OURS, "hi", 1)


@pytest.mark.parametrize(
    "user_data",
    [b"", bytes.fromhex("09000302"), bytes.fromhex("0500050a0301"), bytes.fromhex("0200")],
    ids=["empty", "udhl-past-end", "element-past-header", "element-header-cut"],
)
def test_malformed_headers_are_reported(user_data: bytes) -> None:
    with pytest.raises(MalformedPartError):
        parse_udh(user_data)


@pytest.mark.parametrize("numbering", [Concat(1, 2, 0), Concat(1, 2, 3), Concat(1, 0, 0)])
def test_impossible_part_numbers_are_reported(numbering: Concat) -> None:
    part = InboundPart(SOURCE, OURS, DataCoding.SMSC_DEFAULT, 0, b"x", sar=numbering)
    with pytest.raises(MalformedPartError):
        decode_part(part, Gsm7Form.UNPACKED)


@pytest.mark.parametrize(
    ("data_coding", "payload", "text"),
    [
        (DataCoding.SMSC_DEFAULT, bytes((0x48, 0x1B, 0x65)), "H€"),
        (DataCoding.IA5, b"plain", "plain"),
        (DataCoding.LATIN1, "café".encode("latin-1"), "café"),
        (DataCoding.UCS2, "Привет 😀".encode("utf-16-be"), "Привет 😀"),
        (0x06, "Жж".encode("iso8859-5"), "Жж"),
        (0x18, "中".encode("utf-16-be"), "中"),  # GSM general group, alphabet bits 10 = UCS2
        (0xF0, b"A", "A"),  # GSM data coding/message class group, default alphabet
    ],
)
def test_text_codings(data_coding: int, payload: bytes, text: str) -> None:
    result = Reassembler().add(InboundPart(SOURCE, OURS, data_coding, 0, payload), 0.0)
    assert result.message is not None
    assert result.message.text == text


@pytest.mark.parametrize("data_coding", [DataCoding.OCTET_UNSPECIFIED_2, DataCoding.OCTET_UNSPECIFIED_4, 0xF4, 0x24])
def test_binary_and_compressed_codings_are_not_text(data_coding: int) -> None:
    with pytest.raises(UnsupportedCodingError):
        Reassembler().add(InboundPart(SOURCE, OURS, data_coding, 0, b"\x00\x01"), 0.0)


def test_message_payload_is_read_when_short_message_is_empty() -> None:
    part = InboundPart(SOURCE, OURS, DataCoding.UCS2, 0, b"", message_payload="long ∑".encode("utf-16-be"))
    result = Reassembler().add(part, 0.0)
    assert result.message is not None
    assert result.message.text == "long ∑"


def test_an_escape_pair_split_by_another_sender_joins_into_one_character() -> None:
    reassembler = Reassembler()
    first = reassembler.add(udh_part(bytes.fromhex("050003010201"), b"a\x1b"), 0.0)
    second = reassembler.add(udh_part(bytes.fromhex("050003010202"), b"\x65b"), 1.0)
    assert first.outcome is AddOutcome.WAITING
    assert second.message == AssembledMessage(SOURCE, OURS, "a€b", 2)


def test_a_surrogate_pair_split_across_parts_joins_into_one_character() -> None:
    encoded = "😀".encode("utf-16-be")
    reassembler = Reassembler()
    reassembler.add(udh_part(bytes.fromhex("050003020202"), encoded[2:], DataCoding.UCS2), 0.0)
    result = reassembler.add(udh_part(bytes.fromhex("050003020201"), encoded[:2], DataCoding.UCS2), 1.0)
    assert result.message is not None
    assert result.message.text == "😀"


def test_packed_gsm7_after_a_header_skips_the_fill_bits() -> None:
    # 6-octet UDH + 1 fill bit, then "hi" packed: h=0x68, i=0x69 → bits after 49-bit offset.
    value = (0x68 | 0x69 << 7) << 1
    body = value.to_bytes(2, "little")  # 1 fill bit + 14 bits
    reassembler = Reassembler(Gsm7Form.PACKED)
    result = reassembler.add(udh_part(bytes.fromhex("050003030101"), body), 0.0)
    assert result.message is not None
    assert result.message.text == "hi"


def test_sar_numbering_without_a_header() -> None:
    reassembler = Reassembler()
    reassembler.add(InboundPart(SOURCE, OURS, 0, 0, b"world", sar=Concat(300, 2, 2)), 0.0)
    result = reassembler.add(InboundPart(SOURCE, OURS, 0, 0, b"hello ", sar=Concat(300, 2, 1)), 0.0)
    assert result.message == AssembledMessage(SOURCE, OURS, "hello world", 2)


def test_parts_of_different_senders_with_the_same_reference_do_not_mix() -> None:
    reassembler = Reassembler()
    reassembler.add(udh_part(bytes.fromhex("050003050201"), b"A1"), 0.0)
    other = InboundPart("447700900999", OURS, 0, ESM_CLASS_UDHI, bytes.fromhex("050003050202") + b"B2")
    assert reassembler.add(other, 0.0).outcome is AddOutcome.WAITING
    assert reassembler.pending == 2


def test_a_redelivered_part_after_completion_is_a_duplicate() -> None:
    reassembler = Reassembler()
    reassembler.add(udh_part(bytes.fromhex("050003060201"), b"one "), 0.0)
    assert reassembler.add(udh_part(bytes.fromhex("050003060202"), b"two"), 0.0).outcome is AddOutcome.COMPLETE
    assert reassembler.add(udh_part(bytes.fromhex("050003060202"), b"two"), 5.0).outcome is AddOutcome.DUPLICATE
    assert reassembler.pending == 0


def test_a_new_message_reusing_a_wrapped_reference_is_not_a_duplicate() -> None:
    reassembler = Reassembler()
    reassembler.add(udh_part(bytes.fromhex("050003070201"), b"first "), 0.0)
    reassembler.add(udh_part(bytes.fromhex("050003070202"), b"message"), 0.0)
    reassembler.add(udh_part(bytes.fromhex("050003070201"), b"second "), 9.0)
    result = reassembler.add(udh_part(bytes.fromhex("050003070202"), b"one"), 9.0)
    assert result.message == AssembledMessage(SOURCE, OURS, "second one", 2)


def test_expire_gives_up_on_old_incomplete_messages_and_keeps_what_arrived() -> None:
    reassembler = Reassembler()
    reassembler.add(udh_part(bytes.fromhex("050003080301"), b"start "), 100.0)
    reassembler.add(udh_part(bytes.fromhex("050003080303"), b"end"), 150.0)
    reassembler.add(udh_part(bytes.fromhex("050003090201"), b"young"), 500.0)
    assert reassembler.expire(now=500.0, max_age=600.0) == []
    given_up = reassembler.expire(now=700.0, max_age=600.0)
    assert given_up == [AssembledMessage(SOURCE, OURS, "start end", 3, missing=(2,))]
    assert reassembler.pending == 1
    # The missing part turning up late was never seen, so it is not taken for a duplicate and dropped.
    assert reassembler.add(udh_part(bytes.fromhex("050003080302"), b"middle "), 800.0).outcome is AddOutcome.WAITING


def test_packed_gsm7_after_a_7_octet_header_needs_no_fill_bits() -> None:
    # 56 header bits are exactly 8 septets, so the text starts right after the header.
    body = (0x68 | 0x69 << 7).to_bytes(2, "little")
    result = Reassembler(Gsm7Form.PACKED).add(udh_part(bytes.fromhex("060804beef0101"), body), 0.0)
    assert result.message is not None
    assert result.message.text == "hi"
