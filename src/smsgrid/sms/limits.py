"""Request limits of the ACS send API (SPEC §2: 1-100 recipients, message ≤ 2048 characters).

"Characters" are counted as Unicode code points (``len()`` of a Python ``str``): an emoji counts 1, although
it takes 2 UTF-16 code units and 2 units of a UCS-2 segment. Azure's docs do not say which count it uses;
code points are what a user would call characters, so a limit error never surprises them.
"""

from __future__ import annotations

MIN_RECIPIENTS = 1
MAX_RECIPIENTS = 100
MAX_MESSAGE_CHARS = 2048


def check_message_length(text: str) -> str | None:
    """None when *text* is an acceptable message length, else an error text saying what to change."""
    length = len(text)
    if length == 0:
        return "The message is empty; give a message of 1 to 2048 characters."
    if length > MAX_MESSAGE_CHARS:
        return (
            f"The message has {length} characters; at most {MAX_MESSAGE_CHARS} are allowed. "
            "Shorten it or send it as several messages."
        )
    return None


def check_recipient_count(count: int) -> str | None:
    """None when *count* recipients may go in one request, else an error text saying what to change."""
    if count < MIN_RECIPIENTS:
        return "No recipients; give at least one in smsRecipients."
    if count > MAX_RECIPIENTS:
        return (
            f"{count} recipients; at most {MAX_RECIPIENTS} are allowed in one request. "
            "Split them into several requests."
        )
    return None
