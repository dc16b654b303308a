"""Sender kinds ACS accepts in `from` (ACS SMS FAQ): numbers, short codes, alphanumeric sender IDs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgrid.sms.senders import (
    SenderKind,
    alphanumeric_problem,
    classify_sender,
    is_alphanumeric_sender_id,
    is_short_code,
    short_code_problem,
)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("+18005550100", SenderKind.TOLL_FREE),
        ("+18885550100", SenderKind.TOLL_FREE),
        ("+18335550100", SenderKind.TOLL_FREE),
        ("+14255550123", SenderKind.LONG_CODE),  # a 10DLC-style local number
        ("+442079460000", SenderKind.LONG_CODE),
        ("12345", SenderKind.SHORT_CODE),
        ("123456", SenderKind.SHORT_CODE),
        ("CONTOSO", SenderKind.ALPHANUMERIC),
        ("Contoso 24", SenderKind.ALPHANUMERIC),
        ("A", SenderKind.ALPHANUMERIC),
        ("ABCDEFGHIJK", SenderKind.ALPHANUMERIC),  # 11 characters, the most
        ("1234567890A", SenderKind.ALPHANUMERIC),
    ],
)
def test_classifies_the_senders_acs_allows(text: str, kind: SenderKind) -> None:
    sender = classify_sender(text)
    assert sender is not None
    assert sender.kind is kind
    assert sender.text == text
    assert sender.one_way is (kind is SenderKind.ALPHANUMERIC)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "1234",  # too short for a short code
        "1234567",  # too long for a short code, and no letter
        "+112345678901",  # a number as written that dials as another one
        "+1800555010",  # one digit short
        "ABCDEFGHIJKL",  # 12 characters
        "CONTOSO!",
        "Contoso-Ltd",  # dashes were allowed once; the FAQ today says letters, digits, spaces
        "ÄPFEL",  # not ASCII
        "8005550100",  # 10 digits without '+': neither a number nor a short code
    ],
)
def test_refuses_everything_else(text: str) -> None:
    assert classify_sender(text) is None


def test_refuses_values_that_are_not_strings() -> None:
    assert classify_sender(None) is None
    assert classify_sender(12345) is None
    assert not is_short_code(12345)
    assert not is_alphanumeric_sender_id(["CONTOSO"])


@pytest.mark.parametrize(
    ("text", "event_value"),
    [("+18005550100", "18005550100"), ("12345", "12345"), ("CONTOSO", "CONTOSO")],
)
def test_events_write_a_numbers_digits_and_other_senders_as_they_are(text: str, event_value: str) -> None:
    sender = classify_sender(text)
    assert sender is not None
    assert sender.event_value == event_value


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("", "non-empty"),
        ("ABCDEFGHIJKL", "at most 11"),
        ("CON-TOSO", "only the letters"),
        ("12345", "at least one letter"),
    ],
)
def test_alphanumeric_problems_say_what_to_change(text: str, hint: str) -> None:
    problem = alphanumeric_problem(text)
    assert problem is not None
    assert hint in problem


def test_short_code_problem() -> None:
    assert short_code_problem("12345") is None
    problem = short_code_problem("+12345")
    assert problem is not None
    assert "5 or 6 digits" in problem


@given(st.text(alphabet="ABCxyz0123456789 -+!", max_size=14))
def test_every_text_is_at_most_one_kind(text: str) -> None:
    kinds = [is_short_code(text), is_alphanumeric_sender_id(text), text.startswith("+")]
    assert sum(kinds) <= 1
    sender = classify_sender(text)
    if sender is not None:
        assert sender.text == text  # a sender is never rewritten either
