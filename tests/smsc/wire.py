"""Hand framing for the small SMPP 3.4 PDUs, shared by the test SMSCs, the raw test client and the benchmark.

The PDUs with the big bodies (submit_sm, deliver_sm) are encoded and decoded by smpp34's codec; the rest (binds,
responses, enquire_link, unbind, generic_nack) have tiny bodies and are framed here, so a test SMSC can also send
what no library would: refusals, nacks, garbage. Numbers from the SMPP v3.4 specification §3.2 (header), §4
(PDUs), §5.1.2 (command ids).
"""

from __future__ import annotations

import asyncio
import json
import os
import struct
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HEADER = struct.Struct(">IIII")
HEADER_LENGTH = HEADER.size
MAX_PDU_LENGTH = 64 * 1024  # far above any real PDU; a bigger command_length is garbage

GENERIC_NACK = 0x80000000
BIND_RECEIVER = 0x00000001
BIND_TRANSMITTER = 0x00000002
SUBMIT_SM = 0x00000004
DELIVER_SM = 0x00000005
UNBIND = 0x00000006
BIND_TRANSCEIVER = 0x00000009
ENQUIRE_LINK = 0x00000015
DATA_SM = 0x00000103
RESPONSE = 0x80000000

BINDS = {BIND_RECEIVER: "receiver", BIND_TRANSMITTER: "transmitter", BIND_TRANSCEIVER: "transceiver"}
COMMAND_NAMES = {
    GENERIC_NACK: "generic_nack",
    BIND_RECEIVER: "bind_receiver",
    BIND_TRANSMITTER: "bind_transmitter",
    SUBMIT_SM: "submit_sm",
    DELIVER_SM: "deliver_sm",
    UNBIND: "unbind",
    BIND_TRANSCEIVER: "bind_transceiver",
    ENQUIRE_LINK: "enquire_link",
    DATA_SM: "data_sm",
}
COMMAND_NAMES.update(
    {cid | RESPONSE: f"{name}_resp" for cid, name in list(COMMAND_NAMES.items()) if cid != GENERIC_NACK}
)

ESME_ROK = 0x00
ESME_RINVCMDLEN = 0x02
ESME_RINVCMDID = 0x03
ESME_RSYSERR = 0x08
ESME_RTHROTTLED = 0x58

# Receipt `stat:` words and their message_state values (§5.2.28, Appendix B).
MESSAGE_STATES = {
    "ENROUTE": 1,
    "DELIVRD": 2,
    "EXPIRED": 3,
    "DELETED": 4,
    "UNDELIV": 5,
    "ACCEPTD": 6,
    "UNKNOWN": 7,
    "REJECTD": 8,
}
TLV_RECEIPTED_MESSAGE_ID = 0x001E
TLV_MESSAGE_STATE = 0x0427


class FramingError(Exception):
    """Bytes that are not an SMPP PDU (a command_length out of range)."""


def command_name(command_id: int) -> str:
    return COMMAND_NAMES.get(command_id, f"0x{command_id:08x}")


def pdu(command_id: int, sequence_number: int, body: bytes = b"", status: int = ESME_ROK) -> bytes:
    return HEADER.pack(HEADER_LENGTH + len(body), command_id, status, sequence_number) + body


def header_of(data: bytes) -> tuple[int, int, int, int]:
    """(command_length, command_id, command_status, sequence_number) of a PDU's first 16 octets."""
    length, command_id, status, sequence = HEADER.unpack_from(data)
    return length, command_id, status, sequence


def cstring(value: str) -> bytes:
    return value.encode("latin-1") + b"\0"


def read_cstring(body: bytes, offset: int) -> tuple[str, int]:
    """A NUL-terminated string at *offset* and the offset after its NUL (a missing NUL ends at the body's end)."""
    end = body.find(b"\0", offset)
    if end < 0:
        return body[offset:].decode("latin-1"), len(body)
    return body[offset:end].decode("latin-1"), end + 1


def bind_body(system_id: str, password: str, system_type: str = "", interface_version: int = 0x34) -> bytes:
    # addr_ton, addr_npi, address_range: none (§4.1.1)
    return cstring(system_id) + cstring(password) + cstring(system_type) + bytes([interface_version, 0, 0]) + b"\0"


@dataclass(frozen=True, slots=True)
class Bind:
    system_id: str
    password: str
    system_type: str


def parse_bind(body: bytes) -> Bind:
    system_id, offset = read_cstring(body, 0)
    password, offset = read_cstring(body, offset)
    system_type, _ = read_cstring(body, offset)
    return Bind(system_id, password, system_type)


def message_id_body(message_id: str) -> bytes:
    """The body of submit_sm_resp (and bind_*_resp: the SMSC's system_id): one C-Octet String."""
    return cstring(message_id)


def tlv(tag: int, value: bytes) -> bytes:
    return struct.pack(">HH", tag, len(value)) + value


def parse_tlvs(data: bytes) -> dict[int, bytes]:
    """Optional parameters (tag, length, value) from *data* to its end; a truncated one is dropped."""
    found: dict[int, bytes] = {}
    offset = 0
    while offset + 4 <= len(data):
        tag, length = struct.unpack_from(">HH", data, offset)
        found.setdefault(tag, data[offset + 4 : offset + 4 + length])
        offset += 4 + length
    return found


async def read_pdu(reader: asyncio.StreamReader) -> bytes:
    """One whole PDU from the stream. Raises asyncio.IncompleteReadError at EOF, FramingError on garbage."""
    head = await reader.readexactly(HEADER_LENGTH)
    length = header_of(head)[0]
    if not HEADER_LENGTH <= length <= MAX_PDU_LENGTH:
        raise FramingError(f"command_length {length}")
    return head + await reader.readexactly(length - HEADER_LENGTH)


def message_id_text(number: int, base: str) -> str:
    """A message id as an SMSC writes it: decimal ("100001000") or upper-case hex ("5F5E4E8")."""
    return f"{number:X}" if base == "hex" else str(number)


def receipt_text(message_id: str, stat: str, err: str, text: bytes, date: str) -> bytes:
    """The de-facto receipt text (SMPP 3.4 Appendix B), with the first 20 printable characters of the message."""
    shown = "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in text[:20])
    delivered = "001" if stat == "DELIVRD" else "000"
    return (
        f"id:{message_id} sub:001 dlvrd:{delivered} submit date:{date} done date:{date} stat:{stat} err:{err} "
        f"text:{shown}"
    ).encode("latin-1")


def without_udh(short_message: bytes, esm_class: int) -> bytes:
    if esm_class & 0x40 and short_message:
        return short_message[1 + short_message[0] :]
    return short_message


def concatenated(payloads: list[bytes], reference: int) -> list[bytes]:
    """Each payload behind an 8-bit-reference concatenation UDH (IEI 0x00), as handsets send long messages."""
    total = len(payloads)
    return [bytes([5, 0, 3, reference & 0xFF, total, n]) + p for n, p in enumerate(payloads, start=1)]


@dataclass(frozen=True, slots=True)
class SpoolMo:
    """One handset message (MO) for an SMSC's spool directory: the deliver_sm fields, bytes in hex.

    The same file format for both test SMSCs (net_smpp_smsc.pl and fault_smsc.py)."""

    source_addr: str
    destination_addr: str
    short_message_hex: str
    source_addr_ton: int = 1
    source_addr_npi: int = 1
    dest_addr_ton: int = 1
    dest_addr_npi: int = 1
    data_coding: int = 0
    esm_class: int = 0
    udh_hex: str | None = None  # prepended to short_message, and esm_class gets UDHI (0x40)
    tlvs: list[dict[str, Any]] = field(default_factory=list)  # [{"tag": 524, "value_hex": "0001"}]

    def short_message(self) -> bytes:
        return bytes.fromhex(self.udh_hex or "") + bytes.fromhex(self.short_message_hex)

    def full_esm_class(self) -> int:
        return self.esm_class | (0x40 if self.udh_hex is not None else 0)

    def tlv_pairs(self) -> list[tuple[int, bytes]]:
        return [(int(t["tag"]), bytes.fromhex(str(t["value_hex"]))) for t in self.tlvs]

    def to_json(self) -> str:
        data = asdict(self)
        if data["udh_hex"] is None:
            del data["udh_hex"]
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> SpoolMo:
        return cls(**json.loads(text))


def write_spool_file(spool: Path, name: str, mo: SpoolMo) -> Path:
    """Write atomically (temporary dot-file, then rename) so an SMSC never claims half a file."""
    target = spool / f"{name}.json"
    temporary = spool / f".{name}.json.writing"
    temporary.write_text(mo.to_json())
    os.replace(temporary, target)
    return target
