"""ACS send-rate limits: the sliding window's law, and which window each sender kind counts against."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgrid.config import ThrottlingSettings
from smsgrid.messaging.throttling import SendThrottle, SlidingWindow, Throttled
from smsgrid.sms.senders import Sender, SenderKind

# A run of requests: (seconds since the previous one, units asked for).
requests = st.lists(
    st.tuples(st.floats(min_value=0, max_value=30, allow_nan=False), st.integers(min_value=0, max_value=10)),
    max_size=80,
)


@given(st.integers(min_value=10, max_value=30), st.floats(min_value=1, max_value=60), requests)
def test_never_more_than_the_limit_in_any_window(limit: int, window: float, run: list[tuple[float, int]]) -> None:
    throttle = SlidingWindow(limit, window)
    now = 0.0
    accepted: list[tuple[float, int]] = []
    for gap, units in run:
        now += gap
        wait = throttle.try_take(now, units)
        assert wait >= 0
        if wait == 0:
            accepted.append((now, units))
    # Law: for every instant t, the units accepted in (t - window, t] are at most the limit. The sum only
    # grows at an acceptance, so checking at each acceptance covers every t.
    for at, _ in accepted:
        in_window = sum(units for when, units in accepted if at - window < when <= at)
        assert in_window <= limit


@given(st.integers(min_value=10, max_value=30), st.floats(min_value=1, max_value=60), requests)
def test_waiting_the_answered_time_is_enough(limit: int, window: float, run: list[tuple[float, int]]) -> None:
    # Retry-After is honest: a refused request fits once its wait is over (if nothing else came in between).
    throttle = SlidingWindow(limit, window)
    now = 0.0
    for gap, units in run:
        now += gap
        wait = throttle.try_take(now, units)
        if wait > 0:
            probe = SlidingWindow(limit, window)
            probe._taken = throttle._taken.copy()
            probe._total = throttle._total
            assert probe.try_take(now + wait, units) == 0


def test_a_refused_request_costs_nothing() -> None:
    throttle = SlidingWindow(3, 60)
    assert throttle.try_take(0, 3) == 0
    assert throttle.try_take(1, 1) == pytest.approx(59, abs=1e-3)
    assert throttle.try_take(59.5, 1) == pytest.approx(0.5, abs=1e-3)
    assert throttle.try_take(60, 3) == 0  # the first three left the window at 60 s


def test_more_units_than_the_limit_can_never_fit() -> None:
    with pytest.raises(ValueError, match="never fit"):
        SlidingWindow(3, 60).try_take(0, 4)


def _send(throttle: SendThrottle, sender: Sender, units: int, now: float) -> Throttled | None:
    return throttle.check(sender, units, now)


def test_each_number_has_its_own_window_at_its_kinds_rate() -> None:
    throttle = SendThrottle(ThrottlingSettings(toll_free_per_minute=100, short_code_per_minute=300))
    toll_free = Sender("+18005550100", SenderKind.TOLL_FREE)
    other = Sender("+18005550101", SenderKind.TOLL_FREE)
    short = Sender("12345", SenderKind.SHORT_CODE)
    assert _send(throttle, toll_free, 100, 0) is None
    refused = _send(throttle, toll_free, 1, 10)
    assert refused is not None
    assert (refused.limit, refused.window, refused.scope) == (100, 60, "+18005550100")
    assert refused.retry_after == pytest.approx(50, abs=1e-3)
    assert refused.retry_after_header == "50"
    assert _send(throttle, other, 100, 10) is None  # per number
    assert _send(throttle, short, 300, 10) is None


def test_alphanumeric_sender_ids_share_one_window_per_resource() -> None:
    throttle = SendThrottle(ThrottlingSettings(alphanumeric_per_minute=100))
    assert _send(throttle, Sender("CONTOSO", SenderKind.ALPHANUMERIC), 60, 0) is None
    refused = _send(throttle, Sender("FABRIKAM", SenderKind.ALPHANUMERIC), 60, 1)
    assert refused is not None
    assert refused.scope == "alphanumeric sender IDs"


def test_disabled_never_throttles() -> None:
    throttle = SendThrottle(ThrottlingSettings(enabled=False, toll_free_per_minute=100))
    sender = Sender("+18005550100", SenderKind.TOLL_FREE)
    assert all(_send(throttle, sender, 100, 0) is None for _ in range(10))


def test_the_defaults_are_azures_figures() -> None:
    settings = ThrottlingSettings()
    assert settings.enabled
    assert (settings.toll_free_per_minute, settings.short_code_per_minute, settings.alphanumeric_per_minute) == (
        200,
        6000,
        600,
    )


@pytest.mark.parametrize(("seconds", "header"), [(0.001, "1"), (0.5, "1"), (1.0, "1"), (1.2, "2"), (59.9, "60")])
def test_retry_after_is_whole_seconds_rounded_up(seconds: float, header: str) -> None:
    assert Throttled(seconds, 200, 60, "x").retry_after_header == header
