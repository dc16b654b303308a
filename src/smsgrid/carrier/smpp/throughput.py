"""One connection's submit_sm rate: a token bucket counted in PDUs, and the back-off when the SMSC throttles.

Pure: every method takes the time as a value; the adapter sleeps for the delays it returns.

- **Tokens are PDUs** (parts), not messages: carriers sell and police TPS per submit_sm, and counting messages
  is how a long campaign earns ESME_RTHROTTLED.
- **Burst**: the bucket holds one second's worth (at least one token), so a quiet connection may send a
  second's quota at once and never more.
- **Throttled** (ESME_RTHROTTLED / ESME_RMSGQFUL): the rate halves (never below `floor_fraction` of the
  configured rate) and sending pauses for 1 s, doubling up to 30 s while the throttling repeats (another one
  within 10 s of the pause's end). After 10 s quiet past the pause, the rate climbs back by 10 % of the
  configured rate a second.
"""

from __future__ import annotations

from dataclasses import dataclass

PAUSE_FIRST_SECONDS = 1.0
PAUSE_MAX_SECONDS = 30.0
QUIET_SECONDS = 10.0  # no throttling this long after a pause: the rate recovers, the next pause starts at 1 s
RECOVERY_PER_SECOND = 0.10  # of the configured rate
FLOOR_FRACTION = 1 / 64  # the rate never halves below this share of the configured rate
# Epoch seconds as floats resolve ~0.2 µs; after waiting exactly the delay `take` asked for, the refill may
# come out a hair short of a whole token. This slack (0.1 % of a PDU) keeps that from asking for another wait.
_TOKEN_SLACK = 1e-3


@dataclass(slots=True)
class Throughput:
    """The bucket and the back-off state of one connection (its TX side)."""

    configured_tps: float
    tokens: float = -1.0  # < 0: full at the first use
    refilled_at: float | None = None
    # The rate right after the last throttling, and when it happened (None: never throttled).
    throttled_rate: float = 0.0
    throttled_at: float | None = None
    paused_until: float = 0.0
    pause: float = 0.0  # the length of the last pause

    def __post_init__(self) -> None:
        if self.configured_tps <= 0:
            raise ValueError(f"tps must be positive, not {self.configured_tps}")

    def rate(self, now: float) -> float:
        """The current limit in PDUs per second: the configured rate, lowered while the SMSC throttles."""
        if self.throttled_at is None:
            return self.configured_tps
        recovering_for = max(0.0, now - self.paused_until - QUIET_SECONDS)
        recovered = self.throttled_rate + RECOVERY_PER_SECOND * self.configured_tps * recovering_for
        return min(self.configured_tps, recovered)

    def paused(self, now: float) -> bool:
        return now < self.paused_until

    def take(self, now: float) -> float:
        """Take a token for one PDU: 0.0 when taken, else the seconds to wait before asking again."""
        if now < self.paused_until:
            return self.paused_until - now
        rate = self.rate(now)
        capacity = max(1.0, rate)
        if self.tokens < 0 or self.refilled_at is None:
            self.tokens = capacity
        else:
            self.tokens = min(capacity, self.tokens + max(0.0, now - self.refilled_at) * rate)
        self.refilled_at = now
        if self.tokens >= 1.0 - _TOKEN_SLACK:
            self.tokens = max(0.0, self.tokens - 1.0)
            return 0.0
        return (1.0 - self.tokens) / rate

    def throttled(self, now: float) -> None:
        """The SMSC answered ESME_RTHROTTLED or ESME_RMSGQFUL: halve the rate and pause.

        Answers that arrive during the pause are to PDUs sent before it (a window's worth): the same overload,
        already answered, so they change nothing — else one burst would halve the rate once per PDU in flight."""
        if now < self.paused_until:
            return
        repeating = self.throttled_at is not None and now - self.paused_until < QUIET_SECONDS
        self.pause = min(PAUSE_MAX_SECONDS, self.pause * 2) if repeating and self.pause else PAUSE_FIRST_SECONDS
        floor = self.configured_tps * FLOOR_FRACTION
        self.throttled_rate = max(floor, self.rate(now) / 2)
        self.throttled_at = now
        self.paused_until = now + self.pause
        # The SMSC just said it is full: what the bucket saved up is not a promise any more; one PDU (the one
        # refused) may go when the pause ends, the rest at the lowered rate.
        self.tokens = 1.0
        self.refilled_at = self.paused_until
