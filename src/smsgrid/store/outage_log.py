"""Log a store outage (StoreUnavailableError: disk full, database down) as a few lines, not one per failure.

While the disk is full every refused request and every background retry fails the same way; a line (with a
traceback) each would flood the log — on the very disk that is full. An outage is logged once when it starts,
at most once a `reminder_seconds` while it lasts, and once when it ends, without a traceback: the cause is known
and the message says it. Unexpected errors keep their tracebacks; that is the callers' business, not this one's.

An outage that flaps (a write fits, the next does not) is not logged as many outages: a new start within
`reminder_seconds` of the last warning is counted quietly, and only an outage that was announced is announced
as over. So a source writes at most two lines a minute however the store behaves.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

DEFAULT_REMINDER_SECONDS = 60.0


class OutageLog:
    """`failed(exc)` on each StoreUnavailableError, `recovered()` on each success that needed the store."""

    def __init__(
        self,
        log: logging.Logger,
        what: str,
        effect: str,
        *,
        reminder_seconds: float = DEFAULT_REMINDER_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._log = log
        self._what = what  # who is affected, e.g. "carrier"
        self._effect = effect  # what that means meanwhile, e.g. "delivery reports wait"
        self._reminder_seconds = reminder_seconds
        self._clock = clock
        self._started_at: float | None = None
        self._failures = 0
        self._announced = False
        self._last_warning_at: float | None = None

    @property
    def ongoing(self) -> bool:
        return self._started_at is not None

    def failed(self, exc: BaseException) -> None:
        now = self._clock()
        if self._started_at is None:
            self._started_at, self._failures, self._announced = now, 0, False
        self._failures += 1
        if self._last_warning_at is not None and now - self._last_warning_at < self._reminder_seconds:
            return
        self._last_warning_at = now
        if self._announced:
            self._log.warning(
                "%s: the store is still unavailable after %.0f s (%d failures): %s",
                self._what, now - self._started_at, self._failures, exc,
            )  # fmt: skip
        else:
            self._announced = True
            self._log.warning(
                "%s: the store is unavailable (%s); %s. Its end is logged, not each failure.",
                self._what, exc, self._effect,
            )  # fmt: skip

    def recovered(self) -> None:
        if self._started_at is None:
            return
        if self._announced:
            self._log.info(
                "%s: the store is available again after %.1f s (%d failures)",
                self._what, self._clock() - self._started_at, self._failures,
            )  # fmt: skip
        self._started_at, self._failures, self._announced = None, 0, False


__all__ = ["DEFAULT_REMINDER_SECONDS", "OutageLog"]
