"""E.164 phone numbers as ACS accepts them in ``from`` and ``to``.

ACS requires E.164: ``+``, the country code and the subscriber number, at most 15 digits in all (ITU-T E.164
§6; ACS troubleshooting codes 4001/4002 "Ensure the To number is in E.164 format"). The rule used here:

1. the text is exactly ``+`` followed by 1-15 ASCII digits, the first not ``0``. No spaces, dashes or
   brackets: the SDK sends the string as given, and accepting a spelling Azure may refuse would hide a bug
   that shows up only in production;
2. libphonenumber says the number is *possible* (``IS_POSSIBLE``: a known country code and a length that
   country uses). Not ``is_valid_number``: that also checks allocated ranges, which change with every
   metadata release, and refuses the seed's own +1 555 555 5555 (phonenumbers 9.0.43 happens to call
   +1 425 555 0123 and +1 800 555 0100 valid, but nothing promises it stays so). Numbers that are
   only possible as local numbers (``IS_POSSIBLE_LOCAL_ONLY``, e.g. +44 1234) are refused: they are not
   reachable from abroad, so they are not E.164.

3. libphonenumber reads every digit as given: its E.164 rendering equals the text. Otherwise a digit would
   be dropped on the way to the carrier (+44 0 20… is +44 20… to libphonenumber, +1 1 234… is +1 234…), and
   a message would reach someone else than the number the caller wrote and will see in every report.

An accepted number is returned unchanged: what is stored, reported and delivered is what the caller gave.
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers

from smsgrid.errors import InvalidPhoneNumberError

# The per-recipient errorMessage texts ACS puts in the 202 response (SPEC §2).
ACS_INVALID_TO = "Invalid To phone number format."
ACS_INVALID_FROM = "Invalid From phone number format."

MAX_E164_DIGITS = 15  # ITU-T E.164 §6.1

_E164_SYNTAX = re.compile(r"\+[1-9][0-9]{0,14}")
_EXAMPLE = "+14255550123"


def parse_e164(text: object) -> str:
    """Return *text* itself when it is an E.164 number ACS would accept, or raise :class:`InvalidPhoneNumberError`.

    Accepts ``object`` so a value straight from decoded JSON can be checked without a cast.
    """
    if not isinstance(text, str):
        raise InvalidPhoneNumberError(f"{text!r} is not a phone number: give a string in E.164 form, e.g. {_EXAMPLE!r}")
    if _E164_SYNTAX.fullmatch(text) is None:
        raise InvalidPhoneNumberError(f"{text!r} is not in E.164 form: {_syntax_hint(text)}")
    rendered = _possible_e164(text)
    if rendered is None:
        raise InvalidPhoneNumberError(
            f"{text!r} is not a possible phone number: check the country code and the number of digits"
        )
    if rendered != text:
        raise InvalidPhoneNumberError(
            f"{text!r} is not a phone number as written: it dials as {rendered!r}; drop the national trunk "
            "prefix (such as 0 or 1) after the country code, or check the digits"
        )
    return text


def is_e164(text: object) -> bool:
    """True when :func:`parse_e164` would accept *text*."""
    return isinstance(text, str) and _E164_SYNTAX.fullmatch(text) is not None and _possible_e164(text) == text


def digits_of(e164: str) -> str:
    """The digits of an E.164 number without ``+``, as ACS writes them in event subjects and ``From`` fields.

    Only the syntax is checked (the input is expected to have been through :func:`parse_e164` already).
    """
    if _E164_SYNTAX.fullmatch(e164) is None:
        raise InvalidPhoneNumberError(f"{e164!r} is not in E.164 form: {_syntax_hint(e164)}")
    return e164[1:]


# Bounded cache: a send API sees the same few senders and a modest set of recipients again and again, and a
# libphonenumber parse costs ~10 µs against ~0.1 µs for a cache hit.
@lru_cache(maxsize=8192)
def _possible_e164(text: str) -> str | None:
    """libphonenumber's E.164 form of a syntactically valid *text*; None when it is not a possible number."""
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return None  # e.g. an unassigned country code such as +999
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason != phonenumbers.ValidationResult.IS_POSSIBLE:
        return None
    formatted = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return formatted if isinstance(formatted, str) else None


def _syntax_hint(text: str) -> str:
    """Say what to change, for the most likely mistake first."""
    if not text.startswith("+"):
        return f"start with '+' and the country code, e.g. {_EXAMPLE!r}"
    digits = text[1:]
    if not digits:
        return f"give the country code and the number after '+', e.g. {_EXAMPLE!r}"
    if not digits.isascii() or not digits.isdigit():
        return f"write only digits after '+', without spaces, dashes or brackets, e.g. {_EXAMPLE!r}"
    if digits.startswith("0"):
        return "country codes never start with 0; drop the international call prefix (00 or 011)"
    if len(digits) > MAX_E164_DIGITS:
        return f"E.164 numbers have at most {MAX_E164_DIGITS} digits; this one has {len(digits)}"
    return f"give the country code and the number, e.g. {_EXAMPLE!r}"
