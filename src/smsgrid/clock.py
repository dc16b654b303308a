"""Wall time and the `--time-scale` that shrinks every delay (retry schedule, TTL, validation window, carrier).

`Clock` is the port; `SystemClock` reads the system time, `ManualClock` is the fake whose time a test sets.
Decisions take `now` as a value (delivery/retry.py), so only the components that run them read a clock.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol


class Clock(Protocol):
    @property
    def time_scale(self) -> float:
        """How much shorter every policy duration plays out here (1.0: as written)."""
        ...

    def now(self) -> float:
        """Seconds since the epoch."""
        ...

    def scaled(self, seconds: float) -> float:
        """A policy duration as it plays out here: 24 h at time-scale 0.001 lasts 86.4 s."""
        ...


@dataclass(frozen=True, slots=True)
class SystemClock:
    time_scale: float = 1.0

    @staticmethod
    def now() -> float:
        return time.time()

    def scaled(self, seconds: float) -> float:
        return seconds * self.time_scale


@dataclass(slots=True)
class ManualClock:
    """A clock that moves only when told to: tests decide what time it is."""

    current: float = 1_700_000_000.0
    time_scale: float = 1.0

    def now(self) -> float:
        return self.current

    def scaled(self, seconds: float) -> float:
        return seconds * self.time_scale

    def set(self, moment: float) -> None:
        self.current = moment

    def advance(self, seconds: float) -> float:
        """Move forward by *seconds*; the new time."""
        self.current += seconds
        return self.current


__all__ = ["Clock", "ManualClock", "SystemClock"]
