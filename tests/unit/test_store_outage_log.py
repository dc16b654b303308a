"""OutageLog: a store outage is a few log lines however many failures it causes (smsgrid/store/outage_log.py)."""

from __future__ import annotations

import logging

import pytest

from smsgrid.errors import StoreUnavailableError
from smsgrid.store.outage_log import OutageLog

FULL = StoreUnavailableError("the database cannot commit right now: database or disk is full")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def outage(clock: FakeClock) -> OutageLog:
    return OutageLog(logging.getLogger("test.outage"), "carrier", "reports wait", reminder_seconds=60, clock=clock)


def _messages(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    return [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "test.outage"]


def test_many_failures_are_one_line_when_it_starts_and_one_when_it_ends(
    outage: OutageLog, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    for _ in range(500):
        outage.failed(FULL)
        clock.now += 0.1
    assert outage.ongoing
    outage.recovered()
    assert not outage.ongoing
    outage.recovered()  # nothing more to say
    assert _messages(caplog) == [
        (
            logging.WARNING,
            "carrier: the store is unavailable (the database cannot commit right now: database or disk is full); "
            "reports wait. Its end is logged, not each failure.",
        ),
        (logging.INFO, "carrier: the store is available again after 50.0 s (500 failures)"),
    ]
    assert all(record.exc_info is None for record in caplog.records), "no traceback for an expected outage"


def test_a_long_outage_is_recalled_once_a_reminder_period(
    outage: OutageLog, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    for _ in range(301):  # 300 s of failures, one a second
        outage.failed(FULL)
        clock.now += 1
    warnings = [text for level, text in _messages(caplog) if level == logging.WARNING]
    assert len(warnings) == 6  # the start, then one a minute
    assert warnings[1].startswith("carrier: the store is still unavailable after 60 s (61 failures)")


def test_a_flapping_store_is_not_logged_as_many_outages(
    outage: OutageLog, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A write that fits between two that do not: at most a start and an end line a minute."""
    caplog.set_level(logging.INFO)
    for _ in range(100):  # 50 s of fail, succeed, fail, succeed...
        outage.failed(FULL)
        clock.now += 0.25
        outage.recovered()
        clock.now += 0.25
    assert [level for level, _ in _messages(caplog)] == [logging.WARNING, logging.INFO]
    clock.now += 60
    outage.failed(FULL)
    assert [level for level, _ in _messages(caplog)] == [logging.WARNING, logging.INFO, logging.WARNING]


def test_no_outage_no_line(outage: OutageLog, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for _ in range(10):
        outage.recovered()
    assert _messages(caplog) == []
    assert not outage.ongoing
