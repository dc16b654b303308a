"""Send-request limits (SPEC §2): 1-100 recipients, message of 1-2048 characters (code points)."""

from __future__ import annotations

import pytest

from smsgrid.sms import (
    MAX_MESSAGE_CHARS,
    MAX_RECIPIENTS,
    check_message_length,
    check_recipient_count,
)


def test_constants() -> None:
    assert MAX_RECIPIENTS == 100
    assert MAX_MESSAGE_CHARS == 2048


@pytest.mark.parametrize("text", ["a", "a" * 2048, "😀" * 2048, "你" * 2048])
def test_accepted_lengths(text: str) -> None:
    # Code points: 2048 emoji pass although they are 4096 UTF-16 code units.
    assert check_message_length(text) is None


@pytest.mark.parametrize(("text", "words"), [("", "empty"), ("a" * 2049, "2049 characters"), ("😀" * 2049, "2049")])
def test_refused_lengths(text: str, words: str) -> None:
    error = check_message_length(text)
    assert error is not None
    assert words in error


@pytest.mark.parametrize(("count", "ok"), [(0, False), (1, True), (100, True), (101, False)])
def test_recipient_count(count: int, ok: bool) -> None:
    assert (check_recipient_count(count) is None) is ok
