"""Opt-out / opt-in / help keywords (SPEC §2): whole message, trimmed, any case."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgrid.sms import HELP_KEYWORDS, OPT_IN_KEYWORDS, OPT_OUT_KEYWORDS, KeywordAction, classify_keyword

EXPECTED = {
    "STOP": KeywordAction.OPT_OUT,
    "STOPALL": KeywordAction.OPT_OUT,
    "UNSUBSCRIBE": KeywordAction.OPT_OUT,
    "CANCEL": KeywordAction.OPT_OUT,
    "END": KeywordAction.OPT_OUT,
    "QUIT": KeywordAction.OPT_OUT,
    "START": KeywordAction.OPT_IN,
    "UNSTOP": KeywordAction.OPT_IN,
    "HELP": KeywordAction.HELP,
}
keywords = st.sampled_from(sorted(EXPECTED))
whitespace = st.text(alphabet=st.sampled_from([" ", "\t", "\n", "\r", "\u00a0", "\u3000"]), max_size=5)


@pytest.mark.parametrize(("word", "action"), sorted(EXPECTED.items()))
def test_each_keyword(word: str, action: KeywordAction) -> None:
    assert classify_keyword(word) is action
    assert classify_keyword(word.lower()) is action


def test_keyword_sets_are_the_spec_lists() -> None:
    assert set(EXPECTED) == OPT_OUT_KEYWORDS | OPT_IN_KEYWORDS | HELP_KEYWORDS


@pytest.mark.parametrize(
    "message",
    [
        "stop please",  # carriers match the whole message
        "please stop",
        "STOP!",
        "STOP.",
        "S T O P",
        "STOPP",
        "ſtop",  # LATIN SMALL LETTER LONG S upper-cases to S; not the keyword
        "",
        "   ",
        "Great to connect with Azure Communication Services events",
    ],
)
def test_not_keywords(message: str) -> None:
    assert classify_keyword(message) is None


@given(keywords, st.data(), whitespace, whitespace)
def test_any_case_and_surrounding_whitespace(word: str, data: st.DataObject, before: str, after: str) -> None:
    flips = data.draw(st.lists(st.booleans(), min_size=len(word), max_size=len(word)))
    cased = "".join(c.lower() if flip else c for c, flip in zip(word, flips, strict=True))
    assert classify_keyword(before + cased + after) is EXPECTED[word]


@given(keywords, st.text(min_size=1).filter(lambda s: s.strip() != ""))
def test_a_keyword_with_more_text_is_not_a_keyword(word: str, extra: str) -> None:
    # "STOP please", "HELP me": the keyword must be the whole message.
    assert classify_keyword(f"{word} {extra}") is None


@given(st.text(max_size=30))
def test_only_the_listed_words_classify(message: str) -> None:
    action = classify_keyword(message)
    if action is not None:
        assert message.strip().upper() in EXPECTED
        assert EXPECTED[message.strip().upper()] is action
