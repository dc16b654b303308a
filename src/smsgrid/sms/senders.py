"""The senders ACS allows in ``from``: phone numbers, short codes and alphanumeric sender IDs. Pure rules, no I/O.

- **Phone numbers** in E.164 (smsgrid.sms.phone_numbers): toll-free (NANP 8XX codes) or long codes (10DLC in the
  US, local numbers elsewhere).
- **Short codes**: 5 or 6 digits, no ``+`` and no country code ("How should a short code be formatted?",
  ACS SMS FAQ, MicrosoftDocs articles/communication-services/concepts/sms/sms-faq.md).
- **Alphanumeric sender IDs**: at most 11 characters, ASCII letters, digits and spaces, at least one letter
  ("How should an alphanumeric sender ID be formatted?", same FAQ). They are one-way: "An alphanumeric sender
  ID can't receive inbound messages or STOP messages", and ACS "doesn't enforce or manage opt-out lists" for
  them (same FAQ, opt-out handling).

Throttling scope per kind (ACS service limits, SMS): toll-free and short codes per number, alphanumeric sender
IDs per resource. Azure gives no per-minute figure for 10DLC (only carriers' daily caps), see throttling.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from smsgrid.sms.phone_numbers import is_e164

# NANP toll-free area codes (the FCC's 8XX series in use): 800, 833, 844, 855, 866, 877, 888.
TOLL_FREE_PREFIXES = ("+1800", "+1833", "+1844", "+1855", "+1866", "+1877", "+1888")
MAX_ALPHANUMERIC_CHARS = 11

_SHORT_CODE = re.compile(r"[0-9]{5,6}")
_ALPHANUMERIC = re.compile(r"[A-Za-z0-9 ]{1,11}")


class SenderKind(StrEnum):
    TOLL_FREE = "toll_free"
    LONG_CODE = "long_code"  # 10DLC in the US; a local or mobile number elsewhere
    SHORT_CODE = "short_code"
    ALPHANUMERIC = "alphanumeric"


@dataclass(frozen=True, slots=True)
class Sender:
    text: str  # exactly as configured and as the caller writes it in `from`
    kind: SenderKind

    @property
    def one_way(self) -> bool:
        """No inbound SMS, no STOP/HELP, no opt-out list (ACS SMS FAQ, alphanumeric sender ID)."""
        return self.kind is SenderKind.ALPHANUMERIC

    @property
    def event_value(self) -> str:
        """The sender as events write it: a phone number's digits without ``+`` [seed]; others as they are."""
        return self.text[1:] if self.text.startswith("+") else self.text


def is_short_code(text: object) -> bool:
    return isinstance(text, str) and _SHORT_CODE.fullmatch(text) is not None


def is_alphanumeric_sender_id(text: object) -> bool:
    """ACS's rule: 1-11 of A-Z, a-z, 0-9 and space, at least one letter (so never a bare short code)."""
    return (
        isinstance(text, str)
        and _ALPHANUMERIC.fullmatch(text) is not None
        and any(ch.isascii() and ch.isalpha() for ch in text)
    )


def classify_sender(text: object) -> Sender | None:
    """The sender *text* is, or None when it is none of the kinds ACS accepts in ``from``."""
    if not isinstance(text, str):
        return None
    if text.startswith("+"):
        if not is_e164(text):
            return None
        kind = SenderKind.TOLL_FREE if text.startswith(TOLL_FREE_PREFIXES) else SenderKind.LONG_CODE
        return Sender(text, kind)
    if is_short_code(text):
        return Sender(text, SenderKind.SHORT_CODE)
    if is_alphanumeric_sender_id(text):
        return Sender(text, SenderKind.ALPHANUMERIC)
    return None


def alphanumeric_problem(text: object) -> str | None:
    """Why *text* is not an alphanumeric sender ID, or None when it is one."""
    if not isinstance(text, str) or not text:
        return 'must be a non-empty string such as "CONTOSO"'
    if len(text) > MAX_ALPHANUMERIC_CHARS:
        return f"has {len(text)} characters; an alphanumeric sender ID has at most {MAX_ALPHANUMERIC_CHARS}"
    if _ALPHANUMERIC.fullmatch(text) is None:
        return "may hold only the letters A-Z and a-z, the digits 0-9 and spaces"
    if not is_alphanumeric_sender_id(text):
        return "must contain at least one letter (digits only would be a short code or a number)"
    return None


def short_code_problem(text: object) -> str | None:
    """Why *text* is not a short code, or None when it is one."""
    if is_short_code(text):
        return None
    return 'must be 5 or 6 digits without "+" or a country code, e.g. "12345"'
