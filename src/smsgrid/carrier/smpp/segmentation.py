"""Outbound text → the short_message octets of one submit_sm per segment, split by the API's own rules.

The split uses :func:`smsgrid.sms.segments.count_segments` to choose GSM-7 or UCS-2 and the same greedy fill
(153 septets or 67 UTF-16 units per part, an ESC pair or a surrogate pair never split), so the number of
submit_sm PDUs equals the segment count the API returned and the user was billed for. The wire library only
carries bytes; neither candidate library's splitter counts the same way (see docs/smpp.md, "Library").

Three ways to tell the SMSC that parts belong together, chosen per connection:

- ``UDH``: a 6-octet concatenation header (IEI 0x00, 8-bit reference; TS 23.040 §9.2.3.24.1) at the start of
  each short_message, with esm_class UDHI. The 16-bit form (IEI 0x08) is not used: its extra octet would
  leave 152 septets / 66 units per part and break the equality with the API's count.
- ``SAR``: the same parts without a header, numbered by the sar_msg_ref_num / sar_total_segments /
  sar_segment_seqnum TLVs (SMPP 3.4 §5.3.2.22-24); the SMSC builds the headers.
- ``MESSAGE_PAYLOAD``: one submit_sm with the whole text in the message_payload TLV (§5.3.2.32); the SMSC
  splits. The carrier still bills the API's segment count, so that count stays the one reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from smsgrid.carrier.smpp import gsm7
from smsgrid.carrier.smpp.gsm7 import Gsm7Form
from smsgrid.carrier.smpp.protocol import ESM_CLASS_UDHI, DataCoding
from smsgrid.sms.segments import GSM7_EXTENSION_CHARS, GSM7_PART_SEPTETS, UCS2_PART_UNITS, SmsEncoding, count_segments

MAX_PARTS = 255  # the concatenation header and sar_total_segments hold the count in one octet
UDH_CONCAT_8BIT = 0x00  # information element identifier, TS 23.040 §9.2.3.24.1
UDH_CONCAT_16BIT = 0x08  # §9.2.3.24.8; read on inbound parts, never written
# 6 octets = 48 bits; 1 fill bit puts the first packed septet on a septet boundary (7 septets for the header).
_UDH_FILL_BITS = 1


class Concatenation(StrEnum):
    """How a connection's SMSC wants a long message's parts tied together."""

    UDH = "udh"
    SAR = "sar"
    MESSAGE_PAYLOAD = "message_payload"


@dataclass(frozen=True, slots=True)
class EncodingPreference:
    """What one SMSC expects; from the connection's configuration."""

    concatenation: Concatenation = Concatenation.UDH
    gsm7_form: Gsm7Form = Gsm7Form.UNPACKED
    gsm7_data_coding: int = DataCoding.SMSC_DEFAULT  # a few SMSCs want GSM-7 labelled otherwise (e.g. 0x01)


@dataclass(frozen=True, slots=True)
class Concat:
    """Which part of which message: a reference shared by all parts, the part count, and this part's number
    (1-based). The same shape whether it travels in a UDH or in SAR TLVs."""

    reference: int
    total: int
    sequence: int


@dataclass(frozen=True, slots=True)
class SubmitPart:
    """The message fields of one submit_sm; addresses and flags are the adapter's business."""

    short_message: bytes
    data_coding: int
    esm_class: int  # ESM_CLASS_UDHI or 0; the adapter ORs in its own mode bits
    sar: Concat | None = None  # set for Concatenation.SAR parts of a long message
    message_payload: bytes | None = None  # set for Concatenation.MESSAGE_PAYLOAD, short_message is then empty


def split_text(text: str) -> tuple[SmsEncoding, tuple[str, ...]]:
    """The encoding and the text of each segment, exactly as :func:`count_segments` counts them."""
    info = count_segments(text)
    if info.segments == 1:
        return info.encoding, (text,)
    if info.encoding is SmsEncoding.GSM7:
        capacity = GSM7_PART_SEPTETS

        def cost(char: str) -> int:
            return 2 if char in GSM7_EXTENSION_CHARS else 1
    else:
        capacity = UCS2_PART_UNITS

        def cost(char: str) -> int:
            return 2 if char > "\uffff" else 1

    parts: list[str] = []
    start = 0
    used = 0
    for index, char in enumerate(text):
        units = cost(char)
        if used + units > capacity:
            parts.append(text[start:index])
            start, used = index, 0
        used += units
    parts.append(text[start:])
    return info.encoding, tuple(parts)


def submit_parts(text: str, preference: EncodingPreference, reference: int) -> tuple[SubmitPart, ...]:
    """The submit_sm message fields for *text*, one per PDU to send, in order.

    *reference* numbers the parts of this message (the adapter keeps a counter per connection); UDH uses its
    low 8 bits, SAR 16 bits. Raises ValueError for a message of more than 255 parts (ACS's 2,048-character
    limit stays far below: at most 63 parts).
    """
    encoding, texts = split_text(text)
    if len(texts) > MAX_PARTS:
        raise ValueError(f"the message needs {len(texts)} parts; SMPP concatenation allows at most {MAX_PARTS}")
    if not 0 <= reference <= 0xFFFF:
        raise ValueError(f"reference must be 0-65535, not {reference}")
    data_coding = preference.gsm7_data_coding if encoding is SmsEncoding.GSM7 else DataCoding.UCS2

    def body(segment: str, after_header: bool) -> bytes:
        if encoding is SmsEncoding.UCS2:
            return segment.encode("utf-16-be")
        septets = gsm7.to_septets(segment)
        if preference.gsm7_form is Gsm7Form.UNPACKED:
            return bytes(septets)
        return gsm7.pack(septets, _UDH_FILL_BITS if after_header else 0)

    if len(texts) == 1:
        return (SubmitPart(body(texts[0], after_header=False), data_coding, 0),)
    total = len(texts)
    match preference.concatenation:
        case Concatenation.MESSAGE_PAYLOAD:
            return (SubmitPart(b"", data_coding, 0, message_payload=body(text, after_header=False)),)
        case Concatenation.SAR:
            return tuple(
                SubmitPart(body(segment, after_header=False), data_coding, 0, sar=Concat(reference, total, number))
                for number, segment in enumerate(texts, start=1)
            )
        case Concatenation.UDH:
            return tuple(
                SubmitPart(
                    concat_header(Concat(reference & 0xFF, total, number)) + body(segment, after_header=True),
                    data_coding,
                    ESM_CLASS_UDHI,
                )
                for number, segment in enumerate(texts, start=1)
            )


def concat_header(concat: Concat) -> bytes:
    """The 6-octet User Data Header of an 8-bit-reference concatenated part: UDHL, IEI, IEDL, ref, total, seq."""
    return bytes((5, UDH_CONCAT_8BIT, 3, concat.reference & 0xFF, concat.total, concat.sequence))
