"""Wall time and the `--time-scale` that shrinks every delay (retry schedule, TTL, validation window, carrier)."""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Clock:
    time_scale: float = 1.0

    @staticmethod
    def now() -> float:
        return time.time()

    def scaled(self, seconds: float) -> float:
        """A policy duration as it plays out here: 24 h at time-scale 0.001 lasts 86.4 s."""
        return seconds * self.time_scale
