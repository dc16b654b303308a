"""How many SMS segments (message parts) a text takes, as carriers count them.

Rules (3GPP TS 23.038 §6.2.1 and TS 23.040 §9.2.3.24.1; ACS SMS FAQ "What is the SMS character limit?"):

- If every character is in the GSM 7-bit default alphabet or its basic-set extension table, the text is sent
  as GSM-7. Extension characters are sent as ESC + character, so they cost 2 septets. A single SMS holds 160
  septets; a concatenated one holds 153 per part (the 6-octet concatenation header takes 7 septets).
- Otherwise the whole text is sent as UCS-2 (in practice UTF-16): 70 code units in a single SMS, 67 per part.
  Characters outside the Basic Multilingual Plane are surrogate pairs and cost 2 units.

Parts are filled greedily, as carriers and handsets do: an ESC pair or a surrogate pair that would straddle
a part boundary moves whole to the next part (splitting it would corrupt the character), leaving one unit
unused.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum

# GSM 7-bit default alphabet, 3GPP TS 23.038 §6.2.1 (positions 0x00-0x7F in order; 0x1B, the escape to the
# extension table, is not a character and is left out). Note: 0x24 is ¤, not $ (which is 0x02), and 0x09 is
# the capital Ç in the standard's Unicode mapping.
_GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Basic-set extension table, 3GPP TS 23.038 §6.2.1.1: form feed ^ { } \ [ ~ ] | €; each costs ESC + char.
_GSM7_EXTENSION = "\f^{}\\[~]|€"

GSM7_BASIC_CHARS: frozenset[str] = frozenset(_GSM7_BASIC)
GSM7_EXTENSION_CHARS: frozenset[str] = frozenset(_GSM7_EXTENSION)

GSM7_SINGLE_SEPTETS = 160
GSM7_PART_SEPTETS = 153
UCS2_SINGLE_UNITS = 70
UCS2_PART_UNITS = 67

# Compiled once: regex scans run in C, which keeps the common case (plain text) at a few hundred ns.
_NOT_GSM7 = re.compile("[^" + re.escape(_GSM7_BASIC + _GSM7_EXTENSION) + "]")
_GSM7_EXTENSION_RE = re.compile("[" + re.escape(_GSM7_EXTENSION) + "]")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


class SmsEncoding(StrEnum):
    """The data coding a carrier uses for the whole message."""

    GSM7 = "GSM7"
    UCS2 = "UCS2"


@dataclass(frozen=True, slots=True)
class SegmentInfo:
    """The encoding chosen, the size in its units (septets, or UTF-16 code units) and the segment count."""

    encoding: SmsEncoding
    units: int
    segments: int


def is_gsm7(text: str) -> bool:
    """True when every character of *text* can be sent in GSM-7 (default alphabet or extension table)."""
    return _NOT_GSM7.search(text) is None


def count_segments(text: str) -> SegmentInfo:
    """Choose the encoding for *text* and count its segments.

    Empty text counts as one segment: ACS refuses an empty message before this matters (see
    :mod:`smsgrid.sms.limits`), and a zero here would only make callers special-case it.
    """
    if _NOT_GSM7.search(text) is None:
        escaped = len(_GSM7_EXTENSION_RE.findall(text))
        septets = len(text) + escaped
        if septets <= GSM7_SINGLE_SEPTETS:
            return SegmentInfo(SmsEncoding.GSM7, septets, 1)
        if escaped == 0:  # all characters cost 1: nothing to keep whole, so greedy packing is a ceiling
            return SegmentInfo(SmsEncoding.GSM7, septets, -(-septets // GSM7_PART_SEPTETS))
        return SegmentInfo(SmsEncoding.GSM7, septets, _pack(_gsm7_costs(text), GSM7_PART_SEPTETS))
    wide = len(_ASTRAL.findall(text))
    units = len(text) + wide
    if units <= UCS2_SINGLE_UNITS:
        return SegmentInfo(SmsEncoding.UCS2, units, 1)
    if wide == 0:  # no surrogate pairs: as above
        return SegmentInfo(SmsEncoding.UCS2, units, -(-units // UCS2_PART_UNITS))
    return SegmentInfo(SmsEncoding.UCS2, units, _pack(_ucs2_costs(text), UCS2_PART_UNITS))


def _gsm7_costs(text: str) -> Iterator[int]:
    return (2 if char in GSM7_EXTENSION_CHARS else 1 for char in text)


def _ucs2_costs(text: str) -> Iterator[int]:
    return (2 if char > "\uffff" else 1 for char in text)


def _pack(costs: Iterable[int], capacity: int) -> int:
    """Greedy fill of parts of *capacity* units; a 2-unit character (ESC or surrogate pair) is never split."""
    parts = 1
    used = 0
    for cost in costs:
        if used + cost > capacity:
            parts += 1
            used = 0
        used += cost
    return parts
