"""ACS SMS message ids: ``Outgoing_{yyyyMMddHHmmss}{uuid4}`` and ``Incoming_{yyyyMMddHHmmss}{uuid4}``.

Shape from the seed: ``Outgoing_202009180022138813a09b-0cbf-4304-9b03-1546683bb910`` is the prefix, the
UTC time to the second as 14 digits, then the uuid in its hyphenated lower-case form, with no separator
between the two. The same id is the event's ``id`` and ``data.MessageId`` (SPEC §1).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import NamedTuple


class MessageDirection(StrEnum):
    """Whether ACS sent the message (outgoing) or received it (incoming); the id's prefix."""

    OUTGOING = "Outgoing"
    INCOMING = "Incoming"


class MessageIdParts(NamedTuple):
    """What an id tells: its direction and the UTC second it was made (tz-aware)."""

    direction: MessageDirection
    timestamp: datetime


_MESSAGE_ID = re.compile(r"(Outgoing|Incoming)_([0-9]{14})[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def outgoing_message_id(now: datetime, *, token: uuid.UUID | None = None) -> str:
    """A new id for a message sent through the data plane; *token* fixes the uuid (tests), else uuid4."""
    return _message_id(MessageDirection.OUTGOING, now, token)


def incoming_message_id(now: datetime, *, token: uuid.UUID | None = None) -> str:
    """A new id for a message received from a handset; *token* fixes the uuid (tests), else uuid4."""
    return _message_id(MessageDirection.INCOMING, now, token)


def parse_message_id(text: str) -> MessageIdParts | None:
    """Direction and time of an id in the ACS shape, or None when *text* is not one.

    Matching is exact: prefix case, 14 digits forming a real date and time, a lower-case hyphenated uuid.
    """
    match = _MESSAGE_ID.fullmatch(text)
    if match is None:
        return None
    stamp = match.group(2)
    try:
        when = datetime(
            int(stamp[0:4]),
            int(stamp[4:6]),
            int(stamp[6:8]),
            int(stamp[8:10]),
            int(stamp[10:12]),
            int(stamp[12:14]),
            tzinfo=UTC,
        )
    except ValueError:
        return None  # 14 digits that are not a date, e.g. month 13
    return MessageIdParts(MessageDirection(match.group(1)), when)


def _message_id(direction: MessageDirection, now: datetime, token: uuid.UUID | None) -> str:
    # A naive datetime is refused rather than guessed: local time would silently shift every id by hours.
    if now.utcoffset() is None:
        raise ValueError("message ids need an aware datetime; pass e.g. datetime.now(UTC)")
    t = now.astimezone(UTC)
    # Formatted by hand rather than strftime: zero-pads years below 1000 on every platform, and is faster.
    stamp = f"{t.year:04d}{t.month:02d}{t.day:02d}{t.hour:02d}{t.minute:02d}{t.second:02d}"
    return f"{direction.value}_{stamp}{token if token is not None else uuid.uuid4()}"
