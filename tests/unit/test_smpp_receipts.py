"""Receipt text as SMSCs write it, and message-id keys that match a submit_sm_resp id to its receipt."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smsgrid.carrier.smpp import receipts
from smsgrid.carrier.smpp.receipts import (
    clean_message_id,
    looks_like_receipt_text,
    parse_receipt_text,
    receipt_keys,
    submit_keys,
)

STANDARD = "id:1000 sub:001 dlvrd:001 submit date:2612021300 done date:2612021301 stat:DELIVRD err:000 text:hello"


def test_the_appendix_b_form() -> None:
    receipt = parse_receipt_text(STANDARD)
    assert receipt.message_id == "1000"
    assert (receipt.submitted, receipt.delivered) == (1, 1)
    assert receipt.submit_date == datetime(2026, 12, 2, 13, 0)
    assert receipt.done_date == datetime(2026, 12, 2, 13, 1)
    assert (receipt.stat, receipt.err, receipt.err_code, receipt.text) == ("DELIVRD", "000", 0, "hello")


@pytest.mark.parametrize(
    ("text", "message_id", "stat", "err"),
    [
        ("ID:ABC123 SUB:1 DLVRD:0 SUBMIT DATE:2612021300 DONE DATE:2612021310 STAT:UNDELIV ERR:001 TEXT:x",
         "ABC123", "UNDELIV", "001"),
        ("id:7 submit_date:261202130000 done_date:261202130500 stat:expired err:027", "7", "EXPIRED", "027"),
        ("id:  42  stat:  REJECTD  err:  0x1B", "42", "REJECTD", "0x1B"),
        ("id:9 stat:DELIVRD\x00", "9", "DELIVRD", None),
        ("stat:DELIVRD id:77 err:0", "77", "DELIVRD", "0"),
    ],
    ids=["upper-case", "underscores-and-seconds", "extra-spaces-hex-err", "trailing-nul", "other-order"],
)  # fmt: skip
def test_variants(text: str, message_id: str, stat: str, err: str | None) -> None:
    receipt = parse_receipt_text(text)
    assert (receipt.message_id, receipt.stat, receipt.err) == (message_id, stat, err)


def test_dates_with_seconds_and_missing_fields() -> None:
    receipt = parse_receipt_text("id:7 submit_date:261202130000 done_date:261202130559 stat:DELIVRD")
    assert receipt.done_date == datetime(2026, 12, 2, 13, 5, 59)
    assert (receipt.submitted, receipt.delivered, receipt.err, receipt.text) == (None, None, None, None)


def test_unreadable_values_are_none_not_errors() -> None:
    receipt = parse_receipt_text("id:1 sub:x dlvrd:?? submit date:2613450000 done date:26 stat:DELIVRD err:0x1B")
    assert (receipt.submitted, receipt.delivered, receipt.submit_date, receipt.done_date) == (None,) * 4
    assert receipt.err_code is None  # hex err: kept as written, no number guessed


def test_the_users_text_cannot_decide_the_outcome() -> None:
    receipt = parse_receipt_text("id:5 stat:UNDELIV err:001 text:stat:DELIVRD id:999")
    assert (receipt.message_id, receipt.stat) == ("5", "UNDELIV")
    assert receipt.text == "stat:DELIVRD id:999"


def test_a_repeated_field_does_not_override_the_first() -> None:
    assert parse_receipt_text("id:5 stat:UNDELIV stat:DELIVRD").stat == "UNDELIV"


@pytest.mark.parametrize(
    ("text", "expected"),
    [(STANDARD, True), ("id:1 stat:DELIVRD", True), ("hello id:1", False), ("text: id:1 stat:DELIVRD", False)],
)
def test_looks_like_receipt_text(text: str, expected: bool) -> None:
    assert looks_like_receipt_text(text) is expected


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [(b"1a2b\x00", "1A2B"), ("  abc  ", "ABC"), (b"1000", "1000"), ("id\x00\x00", "ID")],
)
def test_clean_message_id(raw: str | bytes, cleaned: str) -> None:
    assert clean_message_id(raw) == cleaned


def first_match(resp_id: str, receipt_id: str) -> str | None:
    stored = set(submit_keys(resp_id))
    return next((key for key in receipt_keys(receipt_id) if key in stored), None)


@pytest.mark.parametrize(
    ("resp_id", "receipt_id", "key"),
    [
        ("abc-123", "ABC-123", "text:ABC-123"),  # same id, other case
        ("1A2B", "6699", "hex:6699"),  # hex answered, decimal in the receipt
        ("6699", "1A2B", "dec:6699"),  # decimal answered, hex in the receipt
        ("000123", "123", "dec:123"),  # leading zeros
        ("00ff", "FF", "hex:255"),
        (b"1000\x00".decode(), "1000", "text:1000"),
    ],
)
def test_receipt_ids_find_their_submit(resp_id: str, receipt_id: str, key: str) -> None:
    assert first_match(resp_id, receipt_id) == key


def test_unrelated_ids_do_not_match() -> None:
    assert first_match("1A2B", "6700") is None
    assert first_match("msg-1", "msg-2") is None


def test_the_exact_reading_comes_first() -> None:
    # "10" answered and "10" in the receipt: the same text matches before any numeric reading.
    assert receipt_keys("10")[0] == "text:10"
    assert first_match("10", "10") == "text:10"


# Under load a single example can take longer than Hypothesis's 200 ms: timing must not decide a unit test.
@settings(deadline=None)
@given(st.integers(min_value=0, max_value=2**64))
def test_hex_response_and_decimal_receipt_of_one_number_always_match(number: int) -> None:
    assert first_match(f"{number:X}", str(number)) is not None
    assert first_match(f"{number:x}", f"{number:012d}") is not None


@settings(deadline=None)
@given(st.text(max_size=30))
def test_keys_never_fail(raw: str) -> None:
    assert submit_keys(raw)[0].startswith("text:")
    assert receipt_keys(raw)[0].startswith("text:")


def test_reference_spellings_cover_the_other_base_and_both_cases() -> None:
    assert receipts.reference_spellings("43776")[:1] == ("43776",)
    assert {"AB00", "ab00"} <= set(receipts.reference_spellings("43776"))
    assert "43776" in receipts.reference_spellings("ab00")
    assert receipts.reference_spellings(b"1000\x00")[0] == "1000"
    assert receipts.reference_spellings("MSG-1") == ("MSG-1", "msg-1")  # not a number: only its cases
    assert receipts.reference_spellings("  ") == ()
