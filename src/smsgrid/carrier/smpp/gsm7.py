"""GSM 7-bit default alphabet codec (3GPP TS 23.038 §6.2.1), unpacked (one septet per octet) or packed.

The wire library (smpp34) carries bytes and has no text codec, so the septet table lives here. Its character
set is the one :mod:`smsgrid.sms.segments` counts with (a unit test holds them equal), so what is sent can never
disagree with what the API billed as segments.

SMPP carries GSM-7 in two forms and an SMSC expects one: most take one septet per octet with data_coding 0
("unpacked"); some want the septets packed 8-in-7 as on the air interface (TS 23.038 §6.1.2.1.1).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import StrEnum
from types import MappingProxyType

ESCAPE = 0x1B  # escape to the extension table; not a character
_CR = 0x0D

# Code positions 0x00-0x7F in order; "\x1b" stands for ESC and is not a character. Same table as
# smsgrid.sms.segments (0x24 is ¤, 0x02 is $, 0x09 is Ç).
_BASIC_TABLE = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Basic-set extension table (§6.2.1.1): ESC followed by these codes.
_EXTENSION_CODES = {"\f": 0x0A, "^": 0x14, "{": 0x28, "}": 0x29, "\\": 0x2F, "[": 0x3C, "~": 0x3D, "]": 0x3E, "|": 0x40}
_EXTENSION_CODES["€"] = 0x65

BASIC_CODES: MappingProxyType[str, int] = MappingProxyType(
    {char: code for code, char in enumerate(_BASIC_TABLE) if code != ESCAPE}
)
EXTENSION_CODES: MappingProxyType[str, int] = MappingProxyType(_EXTENSION_CODES)
_BASIC_CHARS = MappingProxyType({code: char for char, code in BASIC_CODES.items()})
_EXTENSION_CHARS = MappingProxyType({code: char for char, code in EXTENSION_CODES.items()})


class Gsm7Form(StrEnum):
    """How an SMSC wants GSM-7 septets laid into the short_message octets."""

    UNPACKED = "unpacked"  # one septet per octet (the common SMPP convention)
    PACKED = "packed"  # 8 septets in 7 octets (TS 23.038 §6.1.2.1.1)


class NotGsm7Error(ValueError):
    """The text holds a character outside the GSM-7 default alphabet and its extension table."""


def to_septets(text: str) -> tuple[int, ...]:
    """The septets of *text*: one per basic character, ESC + code for an extension character."""
    septets: list[int] = []
    for position, char in enumerate(text):
        code = BASIC_CODES.get(char)
        if code is not None:
            septets.append(code)
            continue
        code = EXTENSION_CODES.get(char)
        if code is None:
            raise NotGsm7Error(f"character {char!r} at position {position} is not in the GSM-7 alphabet")
        septets.extend((ESCAPE, code))
    return tuple(septets)


def from_septets(septets: Iterable[int]) -> str:
    """Text of *septets*. An unknown extension code reads as the basic character of that code and a trailing
    ESC as a space, as TS 23.038 §6.2.1.1 tells a receiver to do; decoding never fails on a handset's text."""
    chars: list[str] = []
    escaped = False
    for septet in septets:
        code = septet & 0x7F
        if escaped:
            chars.append(_EXTENSION_CHARS.get(code) or _BASIC_CHARS.get(code, " "))
            escaped = False
        elif code == ESCAPE:
            escaped = True
        else:
            chars.append(_BASIC_CHARS[code])
    if escaped:
        chars.append(" ")
    return "".join(chars)


def pack(septets: Sequence[int], fill_bits: int = 0) -> bytes:
    """Pack *septets* 8-in-7, least significant bit first, after *fill_bits* zero bits (0-6).

    The fill bits align the first septet on a septet boundary after a User Data Header (TS 23.040
    §9.2.3.24): a 6-octet concatenation header is 48 bits, so 1 fill bit makes it take exactly 7 septets.
    When 7 bits would be left over in the last octet they hold a <CR>, not zeros, so the receiver does not read
    an extra "@" (TS 23.038 §6.1.2.3.1); :func:`unpack` drops that pad again.
    """
    if not 0 <= fill_bits <= 6:
        raise ValueError(f"fill_bits must be 0-6, not {fill_bits}")
    bits = fill_bits + 7 * len(septets)
    if bits % 8 == 1:
        septets = [*septets, _CR]
        bits += 7
    value = 0
    for index, septet in enumerate(septets):
        value |= (septet & 0x7F) << (fill_bits + 7 * index)
    return value.to_bytes(-(-bits // 8), "little")


def unpack(octets: bytes, fill_bits: int = 0) -> tuple[int, ...]:
    """Septets of packed *octets*, skipping *fill_bits* first.

    SMPP gives the length in octets, not septets, so a last septet that could be padding (it fits in the
    spare bits of the last octet) is dropped when it is <CR> (the standard pad) or zero (what naive packers
    leave); a real trailing "@" or <CR> in exactly that position is ambiguous on the wire and is lost, as on
    a handset.
    """
    if not octets:
        return ()
    count = (len(octets) * 8 - fill_bits) // 7
    value = int.from_bytes(octets, "little") >> fill_bits
    septets = tuple((value >> (7 * index)) & 0x7F for index in range(count))
    could_be_padding = count > 0 and -(-(fill_bits + 7 * (count - 1)) // 8) == len(octets)
    if could_be_padding and septets[-1] in (_CR, 0):
        return septets[:-1]
    return septets


def encode(text: str, form: Gsm7Form) -> bytes:
    """*text* as short_message octets in *form* (no header)."""
    septets = to_septets(text)
    return bytes(septets) if form is Gsm7Form.UNPACKED else pack(septets)


def decode(octets: bytes, form: Gsm7Form) -> str:
    """Text of short_message *octets* in *form* (no header)."""
    if form is Gsm7Form.UNPACKED:
        return from_septets(octets)
    return from_septets(unpack(octets))
