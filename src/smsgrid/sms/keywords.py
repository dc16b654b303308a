"""Opt-out, opt-in and help keywords in inbound SMS (SPEC §2; ACS SMS FAQ, opt-out handling).

A message is a keyword only when the *whole* message, trimmed of surrounding whitespace and compared without
regard to case, is one of the words. "stop please" or "STOP!" are ordinary messages: US carriers and ACS match
the whole message, so that a sentence merely containing "stop" does not silently unsubscribe anyone.
Keywords are still delivered as ``SMSReceived`` events; classifying one only decides the side effect.
"""

from __future__ import annotations

from enum import StrEnum
from types import MappingProxyType


class KeywordAction(StrEnum):
    """What an inbound keyword asks for."""

    OPT_OUT = "OptOut"
    OPT_IN = "OptIn"
    HELP = "Help"


OPT_OUT_KEYWORDS: frozenset[str] = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
OPT_IN_KEYWORDS: frozenset[str] = frozenset({"START", "UNSTOP"})
HELP_KEYWORDS: frozenset[str] = frozenset({"HELP"})

_ACTIONS: MappingProxyType[str, KeywordAction] = MappingProxyType(
    {
        **dict.fromkeys(OPT_OUT_KEYWORDS, KeywordAction.OPT_OUT),
        **dict.fromkeys(OPT_IN_KEYWORDS, KeywordAction.OPT_IN),
        **dict.fromkeys(HELP_KEYWORDS, KeywordAction.HELP),
    }
)
_LONGEST = max(len(word) for word in _ACTIONS)


def classify_keyword(message: str) -> KeywordAction | None:
    """The action *message* asks for, or None when it is not a keyword."""
    word = message.strip()
    # Keywords are ASCII. Refusing other text before upper-casing keeps look-alikes out: "ſtop".upper() is
    # "STOP" (U+017F LATIN SMALL LETTER LONG S), which no carrier treats as the keyword.
    if len(word) > _LONGEST or not word.isascii():
        return None
    return _ACTIONS.get(word.upper())
