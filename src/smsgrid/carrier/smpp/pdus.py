"""SMPP 3.4 framing and the small PDUs the session writes and reads itself. Pure: bytes in, values out.

The PDUs with big bodies go through smpp34's codec (`encode_submit_sm`, `inbound_from_deliver_sm`); everything
else — the header, binds, enquire_link, unbind, generic_nack, the responses, data_sm's body — is a few fixed
fields, parsed here so the session needs nothing from the library it cannot type (SMPP 3.4 §3.2, §4).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

import smpp34

from smsgrid.carrier.smpp.session_port import BindMode, InboundPdu, SubmitSmFields, Tlv

# command_id values (§5.1.2)
GENERIC_NACK: Final = 0x80000000
BIND_RECEIVER: Final = 0x00000001
BIND_TRANSMITTER: Final = 0x00000002
SUBMIT_SM: Final = 0x00000004
DELIVER_SM: Final = 0x00000005
UNBIND: Final = 0x00000006
BIND_TRANSCEIVER: Final = 0x00000009
ENQUIRE_LINK: Final = 0x00000015
DATA_SM: Final = 0x00000103
RESPONSE_BIT: Final = 0x80000000

SUBMIT_SM_RESP: Final = SUBMIT_SM | RESPONSE_BIT
DELIVER_SM_RESP: Final = DELIVER_SM | RESPONSE_BIT
UNBIND_RESP: Final = UNBIND | RESPONSE_BIT
ENQUIRE_LINK_RESP: Final = ENQUIRE_LINK | RESPONSE_BIT
DATA_SM_RESP: Final = DATA_SM | RESPONSE_BIT

INTERFACE_VERSION: Final = 0x34
HEADER_LENGTH: Final = 16
# No SMS PDU comes near 64 KiB (a message_payload is a few KiB at most in practice); a larger command_length is
# garbage, and a garbage length must not make the session buffer megabytes or wait forever for them.
MAX_PDU_LENGTH: Final = 64 * 1024
MAX_SEQUENCE: Final = 0x7FFFFFFF  # §3.2: 0x00000001 to 0x7FFFFFFF

# C-Octet String limits, in characters (the octet sizes of §4.1.1 minus the NUL).
MAX_SYSTEM_ID: Final = 15
MAX_PASSWORD: Final = 8
MAX_SYSTEM_TYPE: Final = 12
MAX_ADDRESS_RANGE: Final = 40

_HEADER = struct.Struct(">IIII")
_TLV_HEADER = struct.Struct(">HH")

BIND_COMMAND: Final[dict[BindMode, int]] = {
    BindMode.TRANSCEIVER: BIND_TRANSCEIVER,
    BindMode.TRANSMITTER: BIND_TRANSMITTER,
    BindMode.RECEIVER: BIND_RECEIVER,
}


class MalformedPdu(ValueError):
    """A PDU whose header or body cannot be read."""


@dataclass(frozen=True, slots=True)
class PduHeader:
    command_length: int
    command_id: int
    command_status: int
    sequence_number: int

    @property
    def is_response(self) -> bool:
        """generic_nack included: it answers a request too (its id is the bare response bit)."""
        return bool(self.command_id & RESPONSE_BIT)


def parse_header(data: bytes) -> PduHeader:
    """The 16-octet header; MalformedPdu when the command_length is impossible (the stream is then lost)."""
    if len(data) != HEADER_LENGTH:
        raise MalformedPdu(f"a header is {HEADER_LENGTH} octets, not {len(data)}")
    header = PduHeader(*_HEADER.unpack(data))
    if not HEADER_LENGTH <= header.command_length <= MAX_PDU_LENGTH:
        raise MalformedPdu(f"command_length {header.command_length} is outside {HEADER_LENGTH}..{MAX_PDU_LENGTH}")
    return header


def encode_pdu(command_id: int, sequence_number: int, body: bytes = b"", command_status: int = 0) -> bytes:
    return _HEADER.pack(HEADER_LENGTH + len(body), command_id, command_status, sequence_number) + body


def next_sequence(sequence_number: int) -> int:
    """The sequence number after *sequence_number*, wrapping from 0x7FFFFFFF back to 1."""
    return sequence_number + 1 if sequence_number < MAX_SEQUENCE else 1


def _c_string(value: str, limit: int, field: str, *, secret: bool = False) -> bytes:
    shown = "" if secret else f" ({value!r})"
    if len(value) > limit:
        raise ValueError(f"{field} is at most {limit} characters in SMPP 3.4, not {len(value)}{shown}")
    if not value.isascii():
        raise ValueError(f"{field} must be ASCII{shown}")
    return value.encode("ascii") + b"\x00"


def encode_bind(
    mode: BindMode,
    sequence_number: int,
    *,
    system_id: str,
    password: str,
    system_type: str = "",
    addr_ton: int = 0,
    addr_npi: int = 0,
    address_range: str = "",
) -> bytes:
    """bind_transceiver / bind_transmitter / bind_receiver (§4.1). ValueError on a field SMPP cannot carry."""
    body = (
        _c_string(system_id, MAX_SYSTEM_ID, "system_id")
        + _c_string(password, MAX_PASSWORD, "password", secret=True)
        + _c_string(system_type, MAX_SYSTEM_TYPE, "system_type")
        + bytes((INTERFACE_VERSION, addr_ton, addr_npi))
        + _c_string(address_range, MAX_ADDRESS_RANGE, "address_range")
    )
    return encode_pdu(BIND_COMMAND[mode], sequence_number, body)


def encode_response(command_id: int, sequence_number: int, command_status: int = 0) -> bytes:
    """The response to a request: enquire_link_resp and unbind_resp have no body; deliver_sm_resp and
    data_sm_resp carry an empty message_id (§4.6.2, §4.7.2)."""
    response_id = command_id | RESPONSE_BIT
    body = b"\x00" if response_id in (DELIVER_SM_RESP, DATA_SM_RESP) else b""
    return encode_pdu(response_id, sequence_number, body, command_status)


def encode_generic_nack(sequence_number: int, command_status: int) -> bytes:
    return encode_pdu(GENERIC_NACK, sequence_number, b"", command_status)


def encode_submit_sm(fields: SubmitSmFields, sequence_number: int) -> bytes:
    """One submit_sm through smpp34's codec. ValueError when a field cannot be carried (a >254-octet text)."""
    return smpp34.SubmitSm(
        fields.source_addr,
        fields.destination_addr,
        fields.short_message,
        service_type=fields.service_type,
        source_addr_ton=fields.source_addr_ton,
        source_addr_npi=fields.source_addr_npi,
        dest_addr_ton=fields.dest_addr_ton,
        dest_addr_npi=fields.dest_addr_npi,
        esm_class=fields.esm_class,
        protocol_id=fields.protocol_id,
        priority_flag=fields.priority_flag,
        validity_period=fields.validity_period,
        registered_delivery=fields.registered_delivery,
        data_coding=fields.data_coding,
        tlvs=[smpp34.Tlv(t.tag, t.value) for t in fields.tlvs],
        sequence_number=sequence_number,
    ).encode()


def read_c_string(body: bytes, offset: int, max_octets: int, field: str) -> tuple[str, int]:
    """A NUL-terminated string at *offset* of at most *max_octets* with the NUL; returns it and the next offset.

    Latin-1 so that no octet can fail to decode: an SMSC's odd character in an address is kept, not a crash."""
    end = body.find(b"\x00", offset, offset + max_octets)
    if end < 0:
        raise MalformedPdu(f"{field} has no NUL within {max_octets} octets")
    return body[offset:end].decode("latin-1"), end + 1


def parse_message_id(body: bytes) -> str | None:
    """submit_sm_resp's message_id (§4.4.2); None when empty or absent (a refusal may omit the body)."""
    if not body:
        return None
    end = body.find(b"\x00")
    # Some SMSCs leave the NUL off the last field; the rest of the body is then the id.
    raw = body if end < 0 else body[:end]
    return raw.decode("latin-1") or None


def parse_tlvs(body: bytes, offset: int) -> tuple[Tlv, ...]:
    """The optional parameters from *offset* to the end of the body (§3.2.4)."""
    tlvs: list[Tlv] = []
    while offset < len(body):
        if offset + _TLV_HEADER.size > len(body):
            raise MalformedPdu(f"a truncated TLV header at octet {offset}")
        tag, length = _TLV_HEADER.unpack_from(body, offset)
        offset += _TLV_HEADER.size
        if offset + length > len(body):
            raise MalformedPdu(f"TLV 0x{tag:04X} claims {length} octets, {len(body) - offset} remain")
        tlvs.append(Tlv(tag, body[offset : offset + length]))
        offset += length
    return tuple(tlvs)


def parse_data_sm(sequence_number: int, body: bytes) -> InboundPdu:
    """A data_sm body (§4.7.1): no short_message; its text, if any, is in the message_payload TLV."""
    service_type, at = read_c_string(body, 0, 6, "service_type")
    source_ton, source_npi = _two_octets(body, at, "source_addr_ton")
    source_addr, at = read_c_string(body, at + 2, 65, "source_addr")
    dest_ton, dest_npi = _two_octets(body, at, "dest_addr_ton")
    destination_addr, at = read_c_string(body, at + 2, 65, "destination_addr")
    if at + 3 > len(body):
        raise MalformedPdu("data_sm ends before esm_class, registered_delivery and data_coding")
    esm_class, registered_delivery, data_coding = body[at], body[at + 1], body[at + 2]
    return InboundPdu(
        command="data_sm",
        sequence_number=sequence_number,
        service_type=service_type,
        source_addr=source_addr,
        source_addr_ton=source_ton,
        source_addr_npi=source_npi,
        destination_addr=destination_addr,
        dest_addr_ton=dest_ton,
        dest_addr_npi=dest_npi,
        esm_class=esm_class,
        data_coding=data_coding,
        short_message=b"",
        tlvs=parse_tlvs(body, at + 3),
        registered_delivery=registered_delivery,
    )


def _two_octets(body: bytes, at: int, field: str) -> tuple[int, int]:
    if at + 2 > len(body):
        raise MalformedPdu(f"data_sm ends before {field}")
    return body[at], body[at + 1]


def parse_deliver_sm(pdu: bytes) -> InboundPdu:
    """A whole deliver_sm PDU through smpp34's codec; MalformedPdu when it cannot be decoded."""
    try:
        decoded = smpp34.decode(pdu)
    except smpp34.SmppError as exc:
        raise MalformedPdu(f"deliver_sm: {exc}") from exc
    if not isinstance(decoded, smpp34.DeliverSm):
        raise MalformedPdu(f"expected a deliver_sm, the codec read {type(decoded).__name__}")
    return InboundPdu(
        command="deliver_sm",
        sequence_number=decoded.sequence_number,
        service_type=decoded.service_type,
        source_addr=decoded.source_addr,
        source_addr_ton=decoded.source_addr_ton,
        source_addr_npi=decoded.source_addr_npi,
        destination_addr=decoded.destination_addr,
        dest_addr_ton=decoded.dest_addr_ton,
        dest_addr_npi=decoded.dest_addr_npi,
        esm_class=decoded.esm_class,
        data_coding=decoded.data_coding,
        short_message=decoded.short_message,
        tlvs=tuple(Tlv(t.tag, t.value) for t in decoded.tlvs),
        registered_delivery=decoded.registered_delivery,
    )
