"""Inbound deliver_sm parts → one message: header parsing, text decoding and reassembly. Pure, no clock.

A long MO arrives as several deliver_sm, tied together either by a User Data Header (esm_class UDHI; IEI 0x00
with an 8-bit reference or 0x08 with a 16-bit one, TS 23.040 §9.2.3.24.1/.8; other information elements are
skipped) or by the sar_* TLVs. Parts may come out of order, twice, or not at all.

GSM-7 parts are joined as septets and UCS-2 parts as octets *before* decoding, so an ESC pair or a surrogate
pair that another sender split across two parts still decodes to one character.

Durability is the adapter's job: it stores each part before acknowledging its deliver_sm and can rebuild a
:class:`Reassembler` from the stored parts; this module only decides.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from smsgrid.carrier.smpp import gsm7
from smsgrid.carrier.smpp.gsm7 import Gsm7Form
from smsgrid.carrier.smpp.protocol import ESM_CLASS_UDHI, DataCoding
from smsgrid.carrier.smpp.segmentation import UDH_CONCAT_8BIT, UDH_CONCAT_16BIT, Concat


class MalformedPartError(ValueError):
    """A deliver_sm whose header or numbering cannot be read; the adapter logs it and answers with an error."""


class UnsupportedCodingError(ValueError):
    """A data_coding that carries no text smsgrid can show (binary, compressed, or an unmapped alphabet)."""


class _Alphabet(StrEnum):
    GSM7 = "gsm7"
    UCS2 = "ucs2"
    CODEC = "codec"  # a Python codec named in _CODEC_FOR


# SMPP 3.4 §5.2.19 single-byte character sets with an unambiguous Python codec.
_CODEC_FOR: Mapping[int, str] = {
    DataCoding.IA5: "ascii",
    DataCoding.LATIN1: "latin-1",
    0x06: "iso8859-5",  # Cyrillic
    0x07: "iso8859-8",  # Latin/Hebrew
}


@dataclass(frozen=True, slots=True)
class InboundPart:
    """The fields of one deliver_sm (or data_sm) that carry text, as the wire library decoded them."""

    source: str
    destination: str
    data_coding: int
    esm_class: int
    short_message: bytes
    sar: Concat | None = None  # from the sar_* TLVs, when present
    message_payload: bytes | None = None  # from the message_payload TLV, when present


@dataclass(frozen=True, slots=True)
class DecodedPart:
    """One part reduced to its numbering and its payload in units that can be joined across parts."""

    concat: Concat | None
    alphabet: _Alphabet
    units: bytes  # septets (one per octet) for GSM-7, raw octets otherwise
    codec: str = ""


def parse_udh(user_data: bytes) -> tuple[Concat | None, int]:
    """The concatenation numbering in a User Data Header and the header's length in octets (UDHL + 1)."""
    if not user_data:
        raise MalformedPartError("UDHI is set but the short_message is empty")
    header_length = user_data[0] + 1
    if header_length > len(user_data):
        raise MalformedPartError(f"UDH length {user_data[0]} runs past the {len(user_data)}-octet short_message")
    concat: Concat | None = None
    position = 1
    while position < header_length:
        if position + 2 > header_length:
            raise MalformedPartError("UDH ends inside an information element header")
        identifier, length = user_data[position], user_data[position + 1]
        data = user_data[position + 2 : position + 2 + length]
        if position + 2 + length > header_length:
            raise MalformedPartError(f"UDH information element 0x{identifier:02x} runs past the header")
        if identifier == UDH_CONCAT_8BIT and length == 3:
            concat = Concat(data[0], data[1], data[2])
        elif identifier == UDH_CONCAT_16BIT and length == 4:
            concat = Concat(int.from_bytes(data[0:2], "big"), data[2], data[3])
        position += 2 + length
    return concat, header_length


def decode_part(part: InboundPart, gsm7_form: Gsm7Form) -> DecodedPart:
    """Numbering and joinable payload of *part*: message_payload when present, else short_message; the sar_* TLVs
    win over a UDH's numbering if a sender sets both."""
    alphabet, codec = _alphabet(part.data_coding)
    user_data = part.message_payload if part.message_payload is not None else part.short_message
    concat = part.sar
    header_length = 0
    if part.esm_class & ESM_CLASS_UDHI:
        udh_concat, header_length = parse_udh(user_data)
        concat = concat or udh_concat
    if concat is not None and not 1 <= concat.sequence <= concat.total:
        raise MalformedPartError(f"part {concat.sequence} of {concat.total} is not a valid part number")
    if alphabet is _Alphabet.GSM7:
        if gsm7_form is Gsm7Form.UNPACKED:
            units = user_data[header_length:]
        else:
            # The header is followed by fill bits up to a septet boundary (TS 23.040 §9.2.3.24): skip whole septets.
            header_septets = -(-header_length * 8 // 7)
            units = bytes(gsm7.unpack(user_data)[header_septets:])
        return DecodedPart(concat, alphabet, units)
    return DecodedPart(concat, alphabet, user_data[header_length:], codec)


def join_text(parts: Iterable[DecodedPart]) -> str:
    """The text of *parts* (already in order), joined before decoding."""
    ordered = list(parts)
    if not ordered:
        return ""
    first = ordered[0]
    joined = b"".join(part.units for part in ordered)
    if first.alphabet is _Alphabet.GSM7:
        return gsm7.from_septets(joined)
    if first.alphabet is _Alphabet.UCS2:
        # A lone surrogate or odd length from a broken sender reads as U+FFFD rather than losing the message.
        return joined.decode("utf-16-be", errors="replace")
    return joined.decode(first.codec, errors="replace")


def _alphabet(data_coding: int) -> tuple[_Alphabet, str]:
    if data_coding == DataCoding.SMSC_DEFAULT:
        return _Alphabet.GSM7, ""
    if data_coding == DataCoding.UCS2:
        return _Alphabet.UCS2, ""
    codec = _CODEC_FOR.get(data_coding)
    if codec is not None:
        return _Alphabet.CODEC, codec
    # GSM 03.38 data coding groups that SMPP passes through: 00xx (general) and 1111 (data coding/class).
    if 0x10 <= data_coding <= 0x3F and not data_coding & 0x20:  # general group, uncompressed
        alphabet_bits = (data_coding >> 2) & 0x03
        if alphabet_bits == 0:
            return _Alphabet.GSM7, ""
        if alphabet_bits == 2:  # TS 23.038 §4: alphabet bits 10 = UCS2
            return _Alphabet.UCS2, ""
    if data_coding & 0xF0 == 0xF0 and not data_coding & 0x04:
        return _Alphabet.GSM7, ""
    raise UnsupportedCodingError(f"data_coding 0x{data_coding:02x} carries no text smsgrid can decode")


class AddOutcome(StrEnum):
    COMPLETE = "complete"
    WAITING = "waiting"  # more parts to come
    DUPLICATE = "duplicate"  # a part already held, or one of a message already completed


@dataclass(frozen=True, slots=True)
class AssembledMessage:
    source: str
    destination: str
    text: str
    segment_count: int
    missing: tuple[int, ...] = ()  # part numbers never received (only for messages given up by expire())
    # The parts' shared reference (None for a single part): lets the adapter `forget` a message whose commit
    # failed. Not part of equality: two readings of the same message are the same message.
    reference: int | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class AddResult:
    outcome: AddOutcome
    message: AssembledMessage | None = None


_GroupKey = tuple[str, str, int, int]  # source, destination, reference, total


@dataclass(slots=True)
class _Group:
    first_seen: float
    parts: dict[int, DecodedPart] = field(default_factory=dict)


class Reassembler:
    """Parts in, whole messages out. One per connection (references are only unique per SMSC and sender).

    A part of an already completed message is a duplicate only if its payload is the one already seen: an
    8-bit reference wraps after 256 long messages from one sender, and a new message that reuses it must not
    be mistaken for a re-delivery. *remember_completed* bounds that memory.
    """

    def __init__(self, gsm7_form: Gsm7Form = Gsm7Form.UNPACKED, remember_completed: int = 4096) -> None:
        self._gsm7_form = gsm7_form
        self._groups: dict[_GroupKey, _Group] = {}
        self._completed: OrderedDict[_GroupKey, dict[int, bytes]] = OrderedDict()
        self._remember_completed = remember_completed

    @property
    def pending(self) -> int:
        """Messages with some but not all parts held."""
        return len(self._groups)

    def add(self, part: InboundPart, received_at: float) -> AddResult:
        """Take one part; raises :class:`MalformedPartError` / :class:`UnsupportedCodingError` for unreadable ones."""
        decoded = decode_part(part, self._gsm7_form)
        concat = decoded.concat
        if concat is None or concat.total == 1:
            return AddResult(
                AddOutcome.COMPLETE, AssembledMessage(part.source, part.destination, join_text([decoded]), 1)
            )
        key = (part.source, part.destination, concat.reference, concat.total)
        if self._completed.get(key, {}).get(concat.sequence) == decoded.units:
            return AddResult(AddOutcome.DUPLICATE)
        group = self._groups.setdefault(key, _Group(received_at))
        if concat.sequence in group.parts:
            return AddResult(AddOutcome.DUPLICATE)
        group.parts[concat.sequence] = decoded
        if len(group.parts) < concat.total:
            return AddResult(AddOutcome.WAITING)
        del self._groups[key]
        self._remember(key, group)
        text = join_text(group.parts[number] for number in range(1, concat.total + 1))
        return AddResult(
            AddOutcome.COMPLETE,
            AssembledMessage(part.source, part.destination, text, concat.total, reference=concat.reference),
        )

    def expire(self, now: float, max_age: float) -> list[AssembledMessage]:
        """Give up on messages whose first part is older than *max_age*: what arrived, joined in order, with
        the missing part numbers listed (an MO is never dropped silently; the adapter decides how to report)."""
        given_up: list[AssembledMessage] = []
        for key, group in list(self._groups.items()):
            if now - group.first_seen < max_age:
                continue
            source, destination, reference, total = key
            held = sorted(group.parts)
            missing = tuple(number for number in range(1, total + 1) if number not in group.parts)
            text = join_text(group.parts[number] for number in held)
            given_up.append(AssembledMessage(source, destination, text, total, missing, reference=reference))
            del self._groups[key]
            self._remember(key, group)
        return given_up

    def forget(self, message: AssembledMessage) -> None:
        """Forget a completed message, so the SMSC's re-delivery of its parts assembles it again instead of
        being dropped as duplicates (the adapter could not commit it and answered "try again later")."""
        if message.reference is not None:
            key = (message.source, message.destination, message.reference, message.segment_count)
            self._completed.pop(key, None)

    def _remember(self, key: _GroupKey, group: _Group) -> None:
        self._completed[key] = {number: part.units for number, part in group.parts.items()}
        self._completed.move_to_end(key)
        while len(self._completed) > self._remember_completed:
            self._completed.popitem(last=False)
