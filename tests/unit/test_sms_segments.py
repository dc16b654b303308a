"""Segment counting: table tests of known strings and Hypothesis laws (3GPP TS 23.038; ACS SMS FAQ)."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from smsgrid.sms import SegmentInfo, SmsEncoding, count_segments, is_gsm7
from smsgrid.sms.segments import GSM7_BASIC_CHARS, GSM7_EXTENSION_CHARS

GSM7 = SmsEncoding.GSM7
UCS2 = SmsEncoding.UCS2
ALL_GSM7 = GSM7_BASIC_CHARS | GSM7_EXTENSION_CHARS

gsm_chars = st.sampled_from(sorted(ALL_GSM7))
gsm_texts = st.text(alphabet=gsm_chars, max_size=400)
# Extension characters made frequent, so escape pairs land on part boundaries often.
escape_heavy_texts = st.text(alphabet=st.sampled_from([*sorted(GSM7_EXTENSION_CHARS), "a", "b"]), max_size=400)
non_gsm_chars = st.characters(exclude_categories=["Cs"]).filter(lambda c: c not in ALL_GSM7)
# From U+0400 up the only GSM-7 character is €, so the filter rarely rejects (a list of 71+ must pass it).
bmp_non_gsm_chars = st.characters(min_codepoint=0x400, max_codepoint=0xFFFF, exclude_categories=["Cs"]).filter(
    lambda c: c not in ALL_GSM7
)
any_texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=300)
texts = st.one_of(gsm_texts, escape_heavy_texts, any_texts)


def reference_count(text: str) -> SegmentInfo:
    """A slow, obviously-correct model: per-character unit costs, then a greedy fill of parts."""
    if all(c in ALL_GSM7 for c in text):
        encoding, single, part = GSM7, 160, 153
        costs = [2 if c in GSM7_EXTENSION_CHARS else 1 for c in text]
    else:
        encoding, single, part = UCS2, 70, 67
        costs = [len(c.encode("utf-16-le")) // 2 for c in text]
    units = sum(costs)
    if units <= single:
        return SegmentInfo(encoding, units, 1)
    parts, used = 1, 0
    for cost in costs:
        if used + cost > part:
            parts, used = parts + 1, 0
        used += cost
    return SegmentInfo(encoding, units, parts)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", SegmentInfo(GSM7, 0, 1)),  # ACS refuses empty messages; counted as one segment by choice
        ("Hello world", SegmentInfo(GSM7, 11, 1)),  # the ACS FAQ's GSM-7 example
        ("a" * 160, SegmentInfo(GSM7, 160, 1)),
        ("a" * 161, SegmentInfo(GSM7, 161, 2)),
        ("a" * 306, SegmentInfo(GSM7, 306, 2)),
        ("a" * 307, SegmentInfo(GSM7, 307, 3)),
        ("€" * 80, SegmentInfo(GSM7, 160, 1)),  # escape pairs: 2 septets each
        ("€" * 81, SegmentInfo(GSM7, 162, 2)),
        ("a" * 159 + "€", SegmentInfo(GSM7, 161, 2)),
        ("^{}\\[~]|€\f", SegmentInfo(GSM7, 20, 1)),  # every extension character costs 2
        ("é" * 160, SegmentInfo(GSM7, 160, 1)),  # é is in the default alphabet (0x05)
        ("Ω" * 71, SegmentInfo(GSM7, 71, 1)),  # so are the Greek capitals ΔΦΓΛΩΠΨΣΘΞ
        ("@£$¥èéùìòÇØøÅåÆæßÉ¤¡ÄÖÑÜ§¿äöñüà\n\r", SegmentInfo(GSM7, 33, 1)),
        # An escape pair that would straddle the 153-septet boundary moves whole to the next part.
        ("a" * 152 + "€" + "a" * 152, SegmentInfo(GSM7, 306, 3)),
        ("a" * 151 + "€" + "a" * 153, SegmentInfo(GSM7, 306, 2)),
        ("你好", SegmentInfo(UCS2, 2, 1)),  # the ACS FAQ's UCS-2 example
        ("你" * 70, SegmentInfo(UCS2, 70, 1)),
        ("你" * 71, SegmentInfo(UCS2, 71, 2)),
        ("你" * 134, SegmentInfo(UCS2, 134, 2)),
        ("你" * 135, SegmentInfo(UCS2, 135, 3)),
        ("a" * 69 + "你", SegmentInfo(UCS2, 70, 1)),  # one non-GSM character makes the whole text UCS-2
        ("a" * 160 + "ç", SegmentInfo(UCS2, 161, 3)),  # ç (small) is not GSM-7; only Ç is
        ("`", SegmentInfo(UCS2, 1, 1)),  # the backtick is not in the GSM-7 alphabet
        ("😀" * 35, SegmentInfo(UCS2, 70, 1)),  # emoji are surrogate pairs: 2 units each
        ("😀" * 36, SegmentInfo(UCS2, 72, 2)),
        # A surrogate pair that would straddle the 67-unit boundary moves whole to the next part.
        ("你" * 66 + "😀" + "你" * 66, SegmentInfo(UCS2, 134, 3)),
        ("你" * 65 + "😀" + "你" * 67, SegmentInfo(UCS2, 134, 2)),
    ],
)
def test_known_strings(text: str, expected: SegmentInfo) -> None:
    assert count_segments(text) == expected


def test_is_gsm7() -> None:
    assert is_gsm7("Hello {world} €5")
    assert not is_gsm7("Hello 你")
    assert not is_gsm7("café ç")


def test_alphabet_sizes_match_the_standard() -> None:
    # 128 positions minus ESC (0x1B); 10 extension characters in the basic-set table.
    assert len(GSM7_BASIC_CHARS) == 127
    assert len(GSM7_EXTENSION_CHARS) == 10
    assert not GSM7_BASIC_CHARS & GSM7_EXTENSION_CHARS


@given(texts)
def test_matches_the_reference_model(text: str) -> None:
    assert count_segments(text) == reference_count(text)


@given(st.text(alphabet=gsm_chars, max_size=160))
def test_gsm_text_within_160_septets_is_one_segment(text: str) -> None:
    info = count_segments(text)
    assume(info.units <= 160)
    assert info == SegmentInfo(GSM7, info.units, 1)


@given(texts, st.characters(exclude_categories=["Cs"]), st.data())
def test_adding_a_character_never_lowers_the_count(text: str, char: str, data: st.DataObject) -> None:
    at = data.draw(st.integers(min_value=0, max_value=len(text)))
    longer = text[:at] + char + text[at:]
    assert count_segments(longer).segments >= count_segments(text).segments


@given(gsm_texts, non_gsm_chars, st.data())
def test_any_non_gsm_character_switches_to_ucs2(text: str, char: str, data: st.DataObject) -> None:
    at = data.draw(st.integers(min_value=0, max_value=len(text)))
    info = count_segments(text[:at] + char + text[at:])
    assert info.encoding is UCS2
    # Every character is now one UTF-16 unit, except the inserted one when it lies outside the BMP.
    assert info.units == len(text) + (2 if ord(char) > 0xFFFF else 1)


@given(st.lists(bmp_non_gsm_chars, min_size=71, max_size=400))
def test_ucs2_bmp_text_over_70_units_takes_67_per_part(chars: list[str]) -> None:
    n = len(chars)
    assert count_segments("".join(chars)) == SegmentInfo(UCS2, n, -(-n // 67))


@given(st.one_of(gsm_texts, escape_heavy_texts), st.one_of(gsm_texts, escape_heavy_texts))
def test_concatenation_bounds_gsm(a: str, b: str) -> None:
    _check_concatenation(a, b)


@given(any_texts, any_texts)
def test_concatenation_bounds_any(a: str, b: str) -> None:
    _check_concatenation(a, b)


def _check_concatenation(a: str, b: str) -> None:
    sa, sb, sab = count_segments(a), count_segments(b), count_segments(a + b)
    # Never fewer than either half (the count is monotone under adding characters).
    assert sab.segments >= max(sa.segments, sb.segments)
    if sa.encoding is sb.encoding:
        assert sab.encoding is sa.encoding
        assert sab.units == sa.units + sb.units
        # A single segment holds a little more than one part of a concatenated message (160 vs 153,
        # 70 vs 67), so two single-segment halves can need three parts together: hence the + 1.
        assert sab.segments <= sa.segments + sb.segments + 1
