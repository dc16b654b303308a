"""Delivery receipts: the ``id:… stat:… err:…`` text and message ids that can be matched to a submit.

Receipt text (SMPP 3.4 Appendix B, which calls the format SMSC-specific)::

    id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD err:E text:…

Variants seen in the field and accepted here: any letter case in the keys, ``submit_date`` / ``done_date``,
dates with seconds (YYMMDDhhmmss), missing fields, extra spaces, a NUL at the end. Fields are read only
from the part before ``text:``: the text is the first 20 characters of the *user's* message, and a message
that says "stat:DELIVRD" must not decide its own outcome.

Message ids: SMPP leaves their form to the SMSC, and many answer submit_sm_resp with a hex id and then
write the same number in decimal in the receipt text (or the reverse). :func:`submit_keys` and
:func:`receipt_keys` give keys that line up for each reading (same text, same number in the same base,
hex answered then decimal in the receipt, and the reverse); the adapter tries a receipt's keys in order and
uses the first that matches exactly one outstanding message (two matches = ambiguous, logged, not guessed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

_TEXT_MARKER = re.compile(r"(?i)(?:^|\s)text:")
_FIELD = re.compile(r"(?i)\b(id|sub|dlvrd|submit[ _]date|done[ _]date|stat|err)\s*:\s*([^\s]*)")
_HEX = re.compile(r"[0-9A-Fa-f]+")
_DECIMAL = re.compile(r"[0-9]+")
# 128-bit ids are the longest seen (UUID-like); longer digit strings are text, not numbers.
_MAX_NUMERIC_ID_DIGITS = 40


@dataclass(frozen=True, slots=True)
class ReceiptText:
    """The fields of a receipt's text; None when a field is absent or unreadable (raw values kept)."""

    message_id: str | None
    submitted: int | None  # "sub"
    delivered: int | None  # "dlvrd"
    submit_date: datetime | None
    done_date: datetime | None
    stat: str | None  # upper-cased, e.g. "DELIVRD"
    err: str | None  # as written: usually 3 decimal digits, sometimes hex or longer
    text: str | None

    @property
    def err_code(self) -> int | None:
        """``err`` as a number when it is written in decimal; None otherwise."""
        if self.err is None or _DECIMAL.fullmatch(self.err) is None:
            return None
        return int(self.err)


def looks_like_receipt_text(text: str) -> bool:
    """True when *text* carries at least an ``id:`` and a ``stat:`` field (before any ``text:``)."""
    fields = _fields(text)
    return "id" in fields and "stat" in fields


def parse_receipt_text(text: str) -> ReceiptText:
    """Read a receipt's text; never raises (an unreadable field is None and the raw text stays in the log)."""
    fields = _fields(text)
    marker = _TEXT_MARKER.search(text)
    body = text[marker.end() :].rstrip("\x00") if marker else None
    stat = fields.get("stat")
    return ReceiptText(
        message_id=fields.get("id") or None,
        submitted=_int(fields.get("sub")),
        delivered=_int(fields.get("dlvrd")),
        submit_date=_date(fields.get("submit date")),
        done_date=_date(fields.get("done date")),
        stat=stat.upper() if stat else None,
        err=fields.get("err") or None,
        text=body,
    )


def _fields(text: str) -> dict[str, str]:
    marker = _TEXT_MARKER.search(text)
    head = (text[: marker.start()] if marker else text).replace("\x00", " ")
    fields: dict[str, str] = {}
    for match in _FIELD.finditer(head):
        key = match.group(1).lower().replace("_", " ")
        fields.setdefault(key, match.group(2))  # the first wins: a repeated key is not allowed to override
    return fields


def _int(value: str | None) -> int | None:
    return int(value) if value is not None and _DECIMAL.fullmatch(value) else None


def _date(value: str | None) -> datetime | None:
    """YYMMDDhhmm or YYMMDDhhmmss, in the SMSC's local time (the text carries no zone): naive on purpose."""
    if value is None or _DECIMAL.fullmatch(value) is None or len(value) not in (10, 12):
        return None
    try:
        return datetime.strptime(value, "%y%m%d%H%M%S" if len(value) == 12 else "%y%m%d%H%M")
    except ValueError:
        return None


def clean_message_id(raw: str | bytes) -> str:
    """A message id as compared: NULs (receipted_message_id is a C-string, some SMSCs omit the NUL, some pad)
    and surrounding spaces removed; letters upper-cased, since hex ids come in both cases."""
    text = raw.decode("ascii", errors="replace") if isinstance(raw, bytes) else raw
    return text.replace("\x00", "").strip().upper()


def submit_keys(message_id: str | bytes) -> tuple[str, ...]:
    """Keys to store for the id a submit_sm_resp returned: its text, and its value read as hex and as decimal."""
    cleaned = clean_message_id(message_id)
    keys = [f"text:{cleaned}"]
    if _is_number(cleaned, _HEX):
        keys.append(f"hex:{int(cleaned, 16)}")
    if _is_number(cleaned, _DECIMAL):
        keys.append(f"dec:{int(cleaned)}")
    return tuple(keys)


def receipt_keys(message_id: str | bytes) -> tuple[str, ...]:
    """Keys to look a receipt's id up with, most exact first: the same text; the same number in the same base
    (leading zeros or letter case differ); then the cross readings — the receipt in decimal for a hex
    response (the common case: "1A2B" answered, "6699" in the receipt), and the reverse."""
    cleaned = clean_message_id(message_id)
    keys = [f"text:{cleaned}"]
    decimal = _is_number(cleaned, _DECIMAL)
    hexadecimal = _is_number(cleaned, _HEX)
    if decimal:
        keys.append(f"dec:{int(cleaned)}")
    if hexadecimal:
        keys.append(f"hex:{int(cleaned, 16)}")
    if decimal:
        keys.append(f"hex:{int(cleaned)}")
    if hexadecimal:
        keys.append(f"dec:{int(cleaned, 16)}")
    return tuple(dict.fromkeys(keys))  # "0" reads the same every way: no key twice


def reference_spellings(receipt_id: str | bytes) -> tuple[str, ...]:
    """How the submit_sm_resp may have written the id a receipt names, most likely first, for a lookup that
    compares exactly (the core's): as written, upper- and lower-case, the decimal value in hex, the hex value
    in decimal. Leading zeros the response had cannot be known; the adapter's index covers them while it lives."""
    raw = (
        (receipt_id.decode("ascii", errors="replace") if isinstance(receipt_id, bytes) else receipt_id)
        .replace("\x00", "")
        .strip()
    )
    cleaned = clean_message_id(raw)
    forms = [raw, cleaned, cleaned.lower()]
    if _is_number(cleaned, _DECIMAL):
        forms += [f"{int(cleaned):X}", f"{int(cleaned):x}", str(int(cleaned))]
    if _is_number(cleaned, _HEX):
        forms += [str(int(cleaned, 16)), f"{int(cleaned, 16):X}", f"{int(cleaned, 16):x}"]
    return tuple(form for form in dict.fromkeys(forms) if form)


def _is_number(text: str, digits: re.Pattern[str]) -> bool:
    return len(text) <= _MAX_NUMERIC_ID_DIGITS and digits.fullmatch(text) is not None
