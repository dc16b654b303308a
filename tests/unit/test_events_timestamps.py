"""Timestamp keeps .NET's 7 fractional digits through parse → format (SPEC §1)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgrid.events import Timestamp
from tests.unit.test_events_strategies import MAX_TICKS, MIN_TICKS, timestamps


@pytest.mark.parametrize(
    "text",
    [
        "2020-09-18T00:22:20.2855749Z",
        "2020-09-18T00:27:45.32Z",
        "2020-09-18T00:22:20Z",
        "2020-09-18T00:22:20.0000001Z",
        "1970-01-01T00:00:00Z",
        "1969-12-31T23:59:59.9999999Z",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59.9999999Z",
    ],
)
def test_canonical_text_round_trips_exactly(text: str) -> None:
    assert Timestamp.parse(text).format() == text


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("2020-09-18T00:22:20+00:00", "2020-09-18T00:22:20Z"),
        ("2020-09-18T02:22:20.5+02:00", "2020-09-18T00:22:20.5Z"),
        ("2020-09-17T18:52:20-05:30", "2020-09-18T00:22:20Z"),
        ("2020-09-18T00:22:20+0000", "2020-09-18T00:22:20Z"),
        ("2020-09-18t00:22:20z", "2020-09-18T00:22:20Z"),
        ("2020-09-18T00:22:20.000Z", "2020-09-18T00:22:20Z"),
        ("2020-09-18T00:22:20.320000Z", "2020-09-18T00:22:20.32Z"),
        ("2020-09-18T00:22:20.285574912345Z", "2020-09-18T00:22:20.2855749Z"),
        ("2020-12-31T23:30:00-01:00", "2021-01-01T00:30:00Z"),
    ],
)
def test_offsets_convert_to_utc_and_extra_digits_truncate(text: str, canonical: str) -> None:
    assert Timestamp.parse(text).format() == canonical


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "not an ISO 8601"),
        ("2020-09-18", "not an ISO 8601"),
        ("2020-09-18T00:22:20", "with an offset"),
        ("2020-09-18 00:22:20Z", "not an ISO 8601"),
        ("2020-09-18T00:22:20.Z", "not an ISO 8601"),
        ("2020-09-18T00:22:20Z ", "not an ISO 8601"),
        ("2020-02-30T00:00:00Z", "not a real date-time"),
        ("2020-09-18T24:00:00Z", "not a real date-time"),
        ("2020-09-18T00:00:60Z", "not a real date-time"),
        ("2020-09-18T00:00:00+24:00", "offset"),
        ("0001-01-01T00:00:00+01:00", "outside years"),
        ("２０２０-09-18T00:22:20Z", "not an ISO 8601"),
    ],
)
def test_bad_text_raises_value_error_saying_why(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Timestamp.parse(text)


def test_constructor_guards_its_invariants() -> None:
    with pytest.raises(TypeError):
        Timestamp(True)
    with pytest.raises(ValueError, match="outside"):
        Timestamp(MAX_TICKS + 1)
    with pytest.raises(ValueError, match="outside"):
        Timestamp(MIN_TICKS - 1)


@given(timestamps)
def test_format_then_parse_is_identity(timestamp: Timestamp) -> None:
    assert Timestamp.parse(timestamp.format()) == timestamp


@given(timestamps)
def test_format_is_canonical(timestamp: Timestamp) -> None:
    text = timestamp.format()
    assert text.endswith("Z")
    assert not text.endswith(".Z")
    assert "." not in text or not text.removesuffix("Z").endswith("0")
    assert len(text.removesuffix("Z").partition(".")[2]) <= 7


@given(timestamps, timestamps)
def test_order_follows_ticks_and_datetimes(a: Timestamp, b: Timestamp) -> None:
    assert (a < b) == (a.ticks < b.ticks)
    assert (a == b) == (a.ticks == b.ticks)
    if a <= b:
        assert a.to_datetime() <= b.to_datetime()


@given(
    st.datetimes(
        min_value=datetime(1900, 1, 1),
        max_value=datetime(2200, 1, 1),
        timezones=st.just(UTC)
        | st.builds(timezone, st.integers(-23 * 60, 23 * 60).map(lambda m: timedelta(minutes=m))),
    )
)
def test_datetime_round_trip(moment: datetime) -> None:
    timestamp = Timestamp.from_datetime(moment)
    assert timestamp.to_datetime() == moment
    assert timestamp.to_datetime().tzinfo is UTC


@given(timestamps)
def test_to_datetime_truncates_the_seventh_digit(timestamp: Timestamp) -> None:
    assert Timestamp.from_datetime(timestamp.to_datetime()).ticks == timestamp.ticks - timestamp.ticks % 10


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        Timestamp.from_datetime(datetime(2020, 9, 18))


# Float seconds lose the last ticks; keep away from the range ends where rounding could step outside it.
@given(st.integers(Timestamp.parse("1000-01-01T00:00:00Z").ticks, Timestamp.parse("9000-01-01T00:00:00Z").ticks))
def test_epoch_seconds_round_trip_within_float_precision(ticks: int) -> None:
    again = Timestamp.from_epoch_seconds(Timestamp(ticks).epoch_seconds)
    assert abs(again.ticks - ticks) <= max(1, abs(ticks) * 2**-50)


def test_epoch_seconds_examples() -> None:
    assert Timestamp.from_epoch_seconds(0).format() == "1970-01-01T00:00:00Z"
    assert Timestamp.from_epoch_seconds(1.5).format() == "1970-01-01T00:00:01.5Z"
    assert Timestamp.parse("2020-09-18T00:22:20Z").epoch_seconds == 1600388540.0
    with pytest.raises(ValueError, match="finite"):
        Timestamp.from_epoch_seconds(float("nan"))


def test_now_reads_the_clock() -> None:
    before = time.time_ns() // 100
    now = Timestamp.now()
    after = time.time_ns() // 100
    assert before <= now.ticks <= after
    assert str(now) == now.format()
