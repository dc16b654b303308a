"""Outbound splitting: exactly the API's segment count, parts that fit an SMS, and a round trip through the
inbound reassembler in any order, with duplicates."""

from __future__ import annotations

from random import Random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smsgrid.carrier.smpp.gsm7 import Gsm7Form
from smsgrid.carrier.smpp.protocol import ESM_CLASS_UDHI, DataCoding
from smsgrid.carrier.smpp.reassembly import AddOutcome, InboundPart, Reassembler
from smsgrid.carrier.smpp.segmentation import (
    Concat,
    Concatenation,
    EncodingPreference,
    SubmitPart,
    split_text,
    submit_parts,
)
from smsgrid.sms.segments import GSM7_BASIC_CHARS, GSM7_EXTENSION_CHARS, count_segments

ALL_GSM7 = sorted(GSM7_BASIC_CHARS | GSM7_EXTENSION_CHARS)
gsm_texts = st.text(alphabet=st.sampled_from(ALL_GSM7), max_size=700)
escape_heavy = st.text(alphabet=st.sampled_from([*sorted(GSM7_EXTENSION_CHARS), "a"]), max_size=700)
any_texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=400)
astral_heavy = st.text(st.sampled_from(["a", "é", "😀", "𝄞", "中"]), max_size=300)
texts = st.one_of(gsm_texts, escape_heavy, any_texts, astral_heavy)
# Packed GSM-7 cannot tell a final "@"/<CR> from padding (SMPP gives octets, not septets): kept out of the
# round trip in packed form and covered by its own test in test_smpp_gsm7.py.
packed_safe_texts = st.one_of(
    st.text(alphabet=st.sampled_from([c for c in ALL_GSM7 if c not in "@\r"]), max_size=700), any_texts
)
preferences = st.builds(
    EncodingPreference,
    concatenation=st.sampled_from([Concatenation.UDH, Concatenation.SAR]),
    gsm7_form=st.sampled_from(list(Gsm7Form)),
)


def as_inbound(part: SubmitPart) -> InboundPart:
    return InboundPart("447700900123", "447700900456", part.data_coding, part.esm_class, part.short_message,
                       part.sar, part.message_payload)  # fmt: skip


# Under load a single example can take longer than Hypothesis's 200 ms: timing must not decide a unit test.
@settings(deadline=None)
@given(texts, preferences, st.integers(min_value=0, max_value=0xFFFF))
def test_one_pdu_per_segment_the_api_counted(text: str, preference: EncodingPreference, reference: int) -> None:
    assert len(submit_parts(text, preference, reference)) == count_segments(text).segments


@settings(deadline=None)
@given(texts)
def test_message_payload_sends_one_pdu_whatever_the_length(text: str) -> None:
    parts = submit_parts(text, EncodingPreference(concatenation=Concatenation.MESSAGE_PAYLOAD), 1)
    assert len(parts) == 1


@settings(deadline=None)
@given(texts)
def test_split_text_is_the_count_and_loses_nothing(text: str) -> None:
    encoding, segments = split_text(text)
    assert "".join(segments) == text
    assert len(segments) == count_segments(text).segments
    assert encoding is count_segments(text).encoding


@settings(deadline=None)
@given(texts, st.sampled_from(list(Gsm7Form)))
def test_every_udh_part_fits_one_sms(text: str, form: Gsm7Form) -> None:
    for part in submit_parts(text, EncodingPreference(gsm7_form=form), 9):
        limit = 140 if part.data_coding == DataCoding.UCS2 or form is Gsm7Form.PACKED else 160
        assert len(part.short_message) <= limit  # 140 octets on the air; unpacked: one octet per septet
        assert len(part.short_message) <= 254  # short_message's own limit (SMPP 3.4 §5.2.21)


@settings(deadline=None)
@given(packed_safe_texts, preferences, st.integers(min_value=0, max_value=0xFFFF), st.randoms(use_true_random=False))
def test_parts_in_any_order_with_duplicates_reassemble_to_the_text(
    text: str, preference: EncodingPreference, reference: int, rng: Random
) -> None:
    parts = list(submit_parts(text, preference, reference))
    arriving = parts + parts[: len(parts) // 2]  # some parts delivered twice
    rng.shuffle(arriving)
    reassembler = Reassembler(preference.gsm7_form)
    completed = []
    for part in arriving:
        result = reassembler.add(as_inbound(part), received_at=0.0)
        if result.message is not None:
            completed.append(result.message)
        else:
            assert result.outcome in (AddOutcome.WAITING, AddOutcome.DUPLICATE)
    assert [message.text for message in completed] == [text]
    assert completed[0].segment_count == len(parts)
    assert reassembler.pending == 0


def test_a_long_gsm_message_gets_the_concatenation_header() -> None:
    parts = submit_parts("a" * 170, EncodingPreference(), 0x1234)
    assert [part.short_message[:6].hex() for part in parts] == ["050003340201", "050003340202"]
    assert all(part.esm_class == ESM_CLASS_UDHI for part in parts)
    assert [len(part.short_message) for part in parts] == [6 + 153, 6 + 17]
    assert all(part.data_coding == DataCoding.SMSC_DEFAULT for part in parts)


def test_packed_udh_parts_are_140_octets_with_one_fill_bit() -> None:
    first = submit_parts("a" * 200, EncodingPreference(gsm7_form=Gsm7Form.PACKED), 7)[0]
    assert len(first.short_message) == 140  # 6 header octets + 153 septets in 134 octets
    assert first.short_message[6] == (0x61 << 1) & 0xFF  # 'a' shifted past the fill bit


def test_sar_parts_carry_the_numbering_and_no_header() -> None:
    parts = submit_parts("ж" * 70 + "ю", EncodingPreference(concatenation=Concatenation.SAR), 0x1234)
    assert [part.sar for part in parts] == [Concat(0x1234, 2, 1), Concat(0x1234, 2, 2)]
    assert all(part.esm_class == 0 and part.data_coding == DataCoding.UCS2 for part in parts)
    assert parts[0].short_message == ("ж" * 67).encode("utf-16-be")


def test_message_payload_holds_the_whole_text() -> None:
    (part,) = submit_parts("ж" * 100, EncodingPreference(concatenation=Concatenation.MESSAGE_PAYLOAD), 1)
    assert part.short_message == b""
    assert part.message_payload == ("ж" * 100).encode("utf-16-be")


def test_a_single_segment_has_no_header_in_any_mode() -> None:
    for concatenation in Concatenation:
        (part,) = submit_parts("hello", EncodingPreference(concatenation=concatenation), 1)
        assert part == SubmitPart(b"hello", DataCoding.SMSC_DEFAULT, 0)


def test_the_smsc_can_label_gsm7_its_own_way() -> None:
    (part,) = submit_parts("hi", EncodingPreference(gsm7_data_coding=DataCoding.IA5), 1)
    assert part.data_coding == DataCoding.IA5


def test_an_escape_pair_never_straddles_two_parts() -> None:
    _, segments = split_text("a" * 152 + "€" + "b" * 10)  # 164 septets: two parts
    assert segments == ("a" * 152, "€" + "b" * 10)  # 152 + 2 would be 154 > 153


def test_more_than_255_parts_is_refused() -> None:
    with pytest.raises(ValueError, match="at most 255"):
        submit_parts("a" * (153 * 255 + 1), EncodingPreference(), 1)


@pytest.mark.parametrize("reference", [-1, 0x10000])
def test_reference_out_of_range_is_refused(reference: int) -> None:
    with pytest.raises(ValueError, match="reference"):
        submit_parts("a" * 200, EncodingPreference(), reference)
