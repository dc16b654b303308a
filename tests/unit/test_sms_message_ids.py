"""Message ids ``Outgoing_{yyyyMMddHHmmss}{uuid4}`` / ``Incoming_…`` (SPEC §1, seed)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgrid.sms import (
    MessageDirection,
    MessageIdParts,
    incoming_message_id,
    outgoing_message_id,
    parse_message_id,
)

SHAPE = re.compile(r"(Outgoing|Incoming)_[0-9]{14}[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
TOKEN = uuid.UUID("8813a09b-0cbf-4304-9b03-1546683bb910")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Outgoing_202009180022138813a09b-0cbf-4304-9b03-1546683bb910",  # seed delivery report
            MessageIdParts(MessageDirection.OUTGOING, datetime(2020, 9, 18, 0, 22, 13, tzinfo=UTC)),
        ),
        (
            "Incoming_20200918002745d29ebbea-3341-4466-9690-0a03af35228e",  # seed received SMS
            MessageIdParts(MessageDirection.INCOMING, datetime(2020, 9, 18, 0, 27, 45, tzinfo=UTC)),
        ),
    ],
)
def test_parses_the_seed_ids(text: str, expected: MessageIdParts) -> None:
    parsed = parse_message_id(text)
    assert parsed is not None
    direction, when = parsed  # usable as a plain (direction, datetime) pair
    assert (direction, when) == expected
    assert when.tzinfo is UTC


def test_builds_the_seed_id() -> None:
    now = datetime(2020, 9, 18, 0, 22, 13, 931591, tzinfo=UTC)
    assert outgoing_message_id(now, token=TOKEN) == "Outgoing_202009180022138813a09b-0cbf-4304-9b03-1546683bb910"
    assert incoming_message_id(now, token=TOKEN).startswith("Incoming_20200918002213")


def test_other_offsets_are_converted_to_utc() -> None:
    pacific = timezone(timedelta(hours=-7))
    now = datetime(2020, 9, 17, 17, 22, 13, tzinfo=pacific)
    assert outgoing_message_id(now, token=TOKEN).startswith("Outgoing_20200918002213")


def test_years_below_1000_are_zero_padded() -> None:
    assert outgoing_message_id(datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC), token=TOKEN).startswith(
        "Outgoing_09990102030405"
    )


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="aware datetime"):
        outgoing_message_id(datetime(2020, 9, 18))


def test_fresh_ids_are_uuid4_and_unique() -> None:
    now = datetime.now(UTC)
    ids = {outgoing_message_id(now) for _ in range(100)}
    assert len(ids) == 100
    assert all(SHAPE.fullmatch(i) for i in ids)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Outgoing_",
        "outgoing_202009180022138813a09b-0cbf-4304-9b03-1546683bb910",  # prefix case matters
        "Outgoing-202009180022138813a09b-0cbf-4304-9b03-1546683bb910",
        "Outgoing_2020091800221 8813a09b-0cbf-4304-9b03-1546683bb910",
        "Outgoing_202013180022138813a09b-0cbf-4304-9b03-1546683bb910",  # month 13
        "Outgoing_202009180060138813a09b-0cbf-4304-9b03-1546683bb910",  # minute 60
        "Outgoing_202009180022138813A09B-0CBF-4304-9B03-1546683BB910",  # upper-case uuid
        "Outgoing_202009180022138813a09b0cbf43049b031546683bb910",  # uuid without hyphens
        "Outgoing_202009180022138813a09b-0cbf-4304-9b03-1546683bb910x",
        "Sent_202009180022138813a09b-0cbf-4304-9b03-1546683bb910",
        "8813a09b-0cbf-4304-9b03-1546683bb910",
    ],
)
def test_rejects_other_shapes(text: str) -> None:
    assert parse_message_id(text) is None


offsets = st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))])
moments = st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(9998, 12, 30), timezones=offsets)
MAKERS: dict[MessageDirection, Callable[..., str]] = {
    MessageDirection.OUTGOING: outgoing_message_id,
    MessageDirection.INCOMING: incoming_message_id,
}


@given(moments, st.uuids(), st.sampled_from(MessageDirection))
def test_round_trip(now: datetime, token: uuid.UUID, direction: MessageDirection) -> None:
    message_id = MAKERS[direction](now, token=token)
    assert message_id.startswith(f"{direction}_")
    assert message_id.endswith(str(token))
    assert parse_message_id(message_id) == (direction, now.astimezone(UTC).replace(microsecond=0))


@given(st.text(max_size=80))
def test_parse_never_raises(text: str) -> None:
    parsed = parse_message_id(text)
    assert parsed is None or isinstance(parsed, MessageIdParts)
