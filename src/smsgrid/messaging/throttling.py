"""ACS's send-rate limits: a sliding-window decision per sender (pure: the caller passes the time).

ACS answers `POST /sms` with 429 when a sender goes over its rate ("Service limits for Azure Communication
Services", SMS: Send Message, 60 s timeframe; toll-free 200 and short code 6000 message units per number,
alphanumeric sender IDs 600 per resource). A message unit is one recipient (Microsoft Q&A 1402980: 1500
recipients in 15 requests are 1500 units). smsgrid answers the same way so that an application meets its
back-off on a laptop, not in production: docs/configuration.md#throttling.

The window slides: at no instant have more than `limit` units been accepted in the `window` seconds before it.
A request is taken whole or refused whole, and a refused one costs nothing.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from smsgrid.config import ThrottlingSettings
from smsgrid.errors import whole_seconds
from smsgrid.sms.senders import Sender, SenderKind

WINDOW_SECONDS = 60.0  # "Timeframe (s)" of every SMS row in ACS's service limits
_MARGIN = 1e-6

# Every alphanumeric sender ID of a resource shares one window (scope "Per resource").
_RESOURCE_WIDE = "alphanumeric sender IDs"


@dataclass(slots=True)
class SlidingWindow:
    """At most `limit` units in any `window` seconds. Times must not go backwards (a monotonic clock)."""

    limit: int
    window: float
    _taken: deque[tuple[float, int]] = field(default_factory=deque)
    _total: int = 0

    def try_take(self, now: float, units: int) -> float:
        """Take `units` at `now` and return 0.0, or take nothing and return the seconds until they would fit."""
        if units > self.limit:
            raise ValueError(f"{units} units can never fit in a window of {self.limit}")
        horizon = now - self.window
        while self._taken and self._taken[0][0] <= horizon:
            self._total -= self._taken.popleft()[1]
        if self._total + units <= self.limit:
            if units:
                self._taken.append((now, units))
                self._total += units
            return 0.0
        # Free the oldest entries until the request fits: it fits once the last of them leaves the window
        # (a microsecond later, so that float rounding of now + wait cannot land just short of it).
        excess = self._total + units - self.limit
        for at, taken in self._taken:
            excess -= taken
            if excess <= 0:
                return at + self.window - now + _MARGIN
        raise AssertionError("unreachable: units <= limit")  # pragma: no cover


@dataclass(frozen=True, slots=True)
class Throttled:
    """The answer to give: wait `retry_after` seconds; `limit` units per `window` for `scope`."""

    retry_after: float
    limit: int
    window: float
    scope: str

    @property
    def retry_after_header(self) -> str:
        return str(whole_seconds(self.retry_after))


class SendThrottle:
    """One sliding window per sender (per resource for alphanumeric sender IDs), at the configured rates."""

    def __init__(self, settings: ThrottlingSettings, window: float = WINDOW_SECONDS) -> None:
        self.enabled = settings.enabled
        self.window = window
        self._limits = {
            SenderKind.TOLL_FREE: settings.toll_free_per_minute,
            SenderKind.LONG_CODE: settings.long_code_per_minute,
            SenderKind.SHORT_CODE: settings.short_code_per_minute,
            SenderKind.ALPHANUMERIC: settings.alphanumeric_per_minute,
        }
        self._windows: dict[str, SlidingWindow] = {}

    def check(self, sender: Sender, units: int, now: float) -> Throttled | None:
        """None when `units` messages from `sender` may go now (and they are counted); else when to retry."""
        if not self.enabled:
            return None
        key = _RESOURCE_WIDE if sender.kind is SenderKind.ALPHANUMERIC else sender.text
        limit = self._limits[sender.kind]
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = SlidingWindow(limit, self.window)
        wait = window.try_take(now, min(units, limit))
        if wait <= 0:
            return None
        return Throttled(wait, limit, self.window, key)
