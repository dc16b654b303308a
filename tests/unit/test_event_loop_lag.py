"""The event-loop lag sampler: how late a periodic sleep wakes up, as a histogram and a recent maximum in `/metrics`.
Driven by a fake clock whose sleep oversleeps by scripted amounts, so no test waits or depends on timing."""

from __future__ import annotations

import asyncio
import time

import pytest
from prometheus_client import generate_latest

from smsgrid.metrics import LAG_WINDOW_SECONDS, LagWindow, Metrics, watch_event_loop


class OversleepingClock:
    """`sleep(d)` advances time by d plus the next scripted lateness; after the script it cancels the sampler."""

    def __init__(self, lateness: list[float]) -> None:
        self.time = 1000.0
        self._lateness = list(lateness)

    def now(self) -> float:
        return self.time

    async def sleep(self, seconds: float) -> None:
        if not self._lateness:
            raise asyncio.CancelledError
        self.time += seconds + self._lateness.pop(0)


def run_sampler(metrics: Metrics, lateness: list[float], interval: float = 0.25) -> None:
    clock = OversleepingClock(lateness)
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(watch_event_loop(metrics, now=clock.now, sleep=clock.sleep, interval=interval))


def sample(metrics: Metrics, name: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(name, labels)
    assert value is not None, name
    return value


def test_each_sample_records_how_late_the_sleep_woke() -> None:
    metrics = Metrics()
    run_sampler(metrics, [0.0, 0.003, 0.2])
    assert sample(metrics, "smsgrid_event_loop_lag_seconds_count") == 3
    assert sample(metrics, "smsgrid_event_loop_lag_seconds_sum") == pytest.approx(0.203)
    assert sample(metrics, "smsgrid_event_loop_lag_seconds_bucket", le="0.0025") == 1
    assert sample(metrics, "smsgrid_event_loop_lag_seconds_bucket", le="0.005") == 2
    assert sample(metrics, "smsgrid_event_loop_lag_seconds_bucket", le="0.1") == 2
    assert sample(metrics, "smsgrid_event_loop_lag_seconds_bucket", le="0.25") == 3


def test_the_gauge_holds_the_largest_recent_lag_and_forgets_it_after_the_window() -> None:
    metrics = Metrics()
    samples_in_window = int(LAG_WINDOW_SECONDS / 0.25)
    run_sampler(metrics, [0.5] + [0.001] * (samples_in_window // 2))
    assert sample(metrics, "smsgrid_event_loop_lag_max_seconds") == pytest.approx(0.5)

    metrics = Metrics()
    run_sampler(metrics, [0.5] + [0.001] * (samples_in_window + 1))
    assert sample(metrics, "smsgrid_event_loop_lag_max_seconds") == pytest.approx(0.001)


def test_a_sleep_that_wakes_early_counts_as_no_lag() -> None:
    metrics = Metrics()
    run_sampler(metrics, [-0.01])
    assert sample(metrics, "smsgrid_event_loop_lag_seconds_sum") == 0.0
    assert sample(metrics, "smsgrid_event_loop_lag_max_seconds") == 0.0


def test_the_window_keeps_samples_exactly_window_seconds_old() -> None:
    window = LagWindow(window=10.0)
    assert window.add(0.0, 0.3) == 0.3
    assert window.add(10.0, 0.1) == 0.3
    assert window.add(10.5, 0.1) == 0.1


def test_the_lag_is_in_the_exposition_of_every_runtime() -> None:
    text = generate_latest(Metrics().registry).decode()
    assert "# TYPE smsgrid_event_loop_lag_seconds histogram" in text
    assert "# TYPE smsgrid_event_loop_lag_max_seconds gauge" in text


def test_the_sampler_runs_on_a_real_loop_until_cancelled() -> None:
    metrics = Metrics()
    sleeps = 0

    async def three_real_sleeps(seconds: float) -> None:
        nonlocal sleeps
        if sleeps == 3:
            raise asyncio.CancelledError
        sleeps += 1
        await asyncio.sleep(seconds)

    async def main() -> None:
        await watch_event_loop(metrics, now=time.monotonic, sleep=three_real_sleeps, interval=0.001)

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(asyncio.wait_for(main(), timeout=5))
    assert sample(metrics, "smsgrid_event_loop_lag_seconds_count") == 3
    assert sample(metrics, "smsgrid_event_loop_lag_seconds_sum") >= 0.0
