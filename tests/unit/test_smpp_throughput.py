"""The per-connection submit_sm rate: a token bucket in PDUs, halving and pausing when the SMSC throttles, and
recovering after a quiet spell. Pure: the time is a value."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgrid.carrier.smpp.throughput import (
    PAUSE_MAX_SECONDS,
    QUIET_SECONDS,
    Throughput,
)

T0 = 1_700_000_000.0


def test_a_quiet_connection_sends_one_seconds_quota_at_once_and_then_waits() -> None:
    bucket = Throughput(10.0)
    assert [bucket.take(T0) for _ in range(10)] == [0.0] * 10
    assert bucket.take(T0) == pytest.approx(0.1)
    assert bucket.take(T0 + 0.1) == 0.0


def test_a_slow_connection_still_sends_one_pdu() -> None:
    bucket = Throughput(0.5)
    assert bucket.take(T0) == 0.0
    assert bucket.take(T0) == pytest.approx(2.0)


def test_the_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        Throughput(0)


def test_throttling_halves_the_rate_and_pauses_doubling_while_it_repeats() -> None:
    bucket = Throughput(100.0)
    bucket.throttled(T0)
    assert (bucket.rate(T0), bucket.take(T0)) == (50.0, 1.0)
    assert bucket.take(T0 + 1) == 0.0  # the refused PDU goes when the pause ends
    bucket.throttled(T0 + 1)
    assert (bucket.rate(T0 + 1), bucket.pause) == (25.0, 2.0)
    now = T0 + 3
    for _ in range(10):
        bucket.throttled(now)
        now += bucket.pause
    assert bucket.pause == PAUSE_MAX_SECONDS
    assert bucket.rate(now) == pytest.approx(100.0 / 64)  # never below the floor


def test_after_ten_quiet_seconds_the_rate_climbs_back_ten_percent_a_second() -> None:
    bucket = Throughput(100.0)
    bucket.throttled(T0)  # paused until T0 + 1
    quiet_from = T0 + 1 + QUIET_SECONDS
    assert bucket.rate(quiet_from) == 50.0
    assert bucket.rate(quiet_from + 1) == pytest.approx(60.0)
    assert bucket.rate(quiet_from + 5) == pytest.approx(100.0)
    assert bucket.rate(quiet_from + 50) == 100.0
    # Throttled again after the quiet spell: the pause starts over at 1 s.
    bucket.throttled(T0 + 30)
    assert bucket.pause == 1.0


def test_paused_says_when_the_connection_is_not_a_candidate() -> None:
    bucket = Throughput(5.0)
    bucket.throttled(T0)
    assert (bucket.paused(T0 + 0.5), bucket.paused(T0 + 1.0)) == (True, False)


@given(
    rate=st.floats(min_value=0.5, max_value=500.0),
    gaps=st.lists(st.floats(min_value=0.0, max_value=0.5), min_size=1, max_size=200),
)
def test_law_never_more_than_the_burst_plus_the_rate_over_any_stretch(rate: float, gaps: list[float]) -> None:
    bucket = Throughput(rate)
    now = T0
    sent = 0
    for gap in gaps:
        now += gap
        while bucket.take(now) == 0.0:
            sent += 1
    elapsed = now - T0
    assert sent <= max(1.0, rate) + rate * elapsed + 1


@given(rate=st.floats(min_value=0.5, max_value=500.0), pdus=st.integers(min_value=1, max_value=300))
def test_law_waiting_as_told_always_sends_at_the_rate(rate: float, pdus: int) -> None:
    bucket = Throughput(rate)
    now = T0
    for _ in range(pdus):
        while (wait := bucket.take(now)) > 0:
            now += wait
    burst = max(1.0, rate)
    # Every PDU went; past the burst, one per 1/rate seconds (within float slack).
    assert now - T0 == pytest.approx(max(0.0, (pdus - burst) / rate), abs=1e-3 + 1e-3 * pdus / rate)


@given(throttles=st.lists(st.floats(min_value=0.0, max_value=40.0), min_size=1, max_size=30))
def test_law_the_pause_and_rate_stay_in_their_bounds(throttles: list[float]) -> None:
    bucket = Throughput(50.0)
    now = T0
    for gap in throttles:
        now += gap
        bucket.throttled(now)
        assert 1.0 <= bucket.pause <= PAUSE_MAX_SECONDS
        assert 50.0 / 64 - 1e-9 <= bucket.rate(now) <= 50.0
        # Paused: never longer than the pause (an answer inside a pause does not start another).
        assert 0 < bucket.take(now) <= bucket.pause + 1e-9


def test_answers_to_one_burst_are_one_back_off() -> None:
    bucket = Throughput(500.0)
    bucket.throttled(T0)
    pause, rate = bucket.pause, bucket.rate(T0)
    for late in (0.0, 0.01, 0.2):  # the rest of the window answers throttled while the first pause runs
        bucket.throttled(T0 + late)
    assert (bucket.pause, bucket.rate(T0)) == (pause, rate)
    assert bucket.take(T0 + 0.5) == pytest.approx(pause - 0.5)
    bucket.throttled(T0 + pause + 0.1)  # after the pause, it counts again: the SMSC is still full
    assert bucket.pause == 2 * pause
