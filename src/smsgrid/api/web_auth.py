"""Server-side state of who may call: UI sessions, one-time login tokens, the login throttle, HMAC replays.

All of it lives in the memory of one `smsgrid serve` process (SECURITY.md "Sessions"): a restart logs every
browser out and forgets used signatures, which costs a dev console one click. Several API processes behind one
address (docs/deploy.md) each keep their own sessions, so the UI needs sticky routing there. Every table is
bounded, so no caller can grow it without limit.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

# OWASP Session Management cheat sheet: an idle timeout of minutes to hours and an absolute one of hours for a
# low-risk console; a working day is enough here and re-entering costs one `smsgrid login-url`.
SESSION_IDLE_SECONDS = 2 * 3600
SESSION_ABSOLUTE_SECONDS = 12 * 3600
MAX_SESSIONS = 1000
# The printed one-time login URL works once, within this long of being made.
LOGIN_TOKEN_SECONDS = 15 * 60
MAX_LOGIN_TOKENS = 1000
# Failed logins (wrong key or unknown token) per client address: this many within the window, then 429.
LOGIN_FAILURES_ALLOWED = 10
LOGIN_FAILURE_WINDOW_SECONDS = 60.0
MAX_THROTTLED_CLIENTS = 10_000
# A signature is remembered as long as its x-ms-date is accepted (hmac_auth.CLOCK_SKEW_SECONDS either way).
MAX_REMEMBERED_SIGNATURES = 200_000

Now = Callable[[], float]


@dataclass(slots=True)
class Session:
    csrf: str
    created: float
    seen: float


class Sessions:
    """Random session ids → session; expired on idle and absolute age, revoked at logout, rotated at login."""

    def __init__(self, now: Now = time.monotonic) -> None:
        self._now = now
        self._table: OrderedDict[str, Session] = OrderedDict()

    def start(self, previous: str | None = None) -> tuple[str, Session]:
        """A new session; the one the browser held before (if any) ends, so a planted id never gains a login."""
        if previous:
            self.end(previous)
        self._expire()
        while len(self._table) >= MAX_SESSIONS:
            self._table.popitem(last=False)  # the least recently used
        now = self._now()
        session_id = secrets.token_urlsafe(32)
        session = Session(csrf=secrets.token_urlsafe(32), created=now, seen=now)
        self._table[session_id] = session
        return session_id, session

    def get(self, session_id: str | None) -> Session | None:
        """The live session of this id (and it counts as activity), or None."""
        if not session_id:
            return None
        session = self._table.get(session_id)
        if session is None:
            return None
        now = self._now()
        if now - session.seen > SESSION_IDLE_SECONDS or now - session.created > SESSION_ABSOLUTE_SECONDS:
            del self._table[session_id]
            return None
        session.seen = now
        self._table.move_to_end(session_id)
        return session

    def end(self, session_id: str) -> None:
        self._table.pop(session_id, None)

    def _expire(self) -> None:
        now = self._now()
        for session_id, session in list(self._table.items()):
            if now - session.seen > SESSION_IDLE_SECONDS or now - session.created > SESSION_ABSOLUTE_SECONDS:
                del self._table[session_id]


class LoginTokens:
    """One-time login tokens: made by the banner or `smsgrid login-url`, each accepted once before it expires."""

    def __init__(self, now: Now = time.monotonic) -> None:
        self._now = now
        self._table: OrderedDict[str, float] = OrderedDict()

    def issue(self) -> str:
        now = self._now()
        for token, expires in list(self._table.items()):
            if expires < now:
                del self._table[token]
        while len(self._table) >= MAX_LOGIN_TOKENS:
            self._table.popitem(last=False)
        token = secrets.token_urlsafe(32)
        self._table[token] = now + LOGIN_TOKEN_SECONDS
        return token

    def redeem(self, token: str) -> bool:
        """True once for a token that was issued and has not expired; it is gone afterwards either way."""
        expires = self._table.pop(token, None)
        return expires is not None and self._now() <= expires


class LoginThrottle:
    """Counts failed logins per client address in a fixed window; over the allowance, logins wait."""

    def __init__(self, now: Now = time.monotonic) -> None:
        self._now = now
        self._failures: OrderedDict[str, tuple[float, int]] = OrderedDict()

    def retry_after(self, client: str) -> int:
        """Seconds this client must wait before trying again (0 = it may try now)."""
        started, count = self._failures.get(client, (0.0, 0))
        left = started + LOGIN_FAILURE_WINDOW_SECONDS - self._now()
        if left <= 0:
            self._failures.pop(client, None)
            return 0
        return int(left) + 1 if count >= LOGIN_FAILURES_ALLOWED else 0

    def failed(self, client: str) -> None:
        now = self._now()
        started, count = self._failures.get(client, (now, 0))
        if now - started > LOGIN_FAILURE_WINDOW_SECONDS:
            started, count = now, 0
        self._failures[client] = (started, count + 1)
        self._failures.move_to_end(client)
        while len(self._failures) > MAX_THROTTLED_CLIENTS:
            self._failures.popitem(last=False)


class ReplayGuard:
    """Signatures of accepted state-changing HMAC requests, kept for as long as their date is acceptable.

    The signature covers the verb, path, query, x-ms-date (one-second resolution), host and body hash, so the
    same signature twice is the same request sent again: a captured `/admin/inbound` must not record an SMS
    twice. A client that means to send two identical requests signs them in different seconds.
    """

    def __init__(self, window_seconds: float, now: Now = time.monotonic) -> None:
        self._now = now
        self._window = window_seconds
        self._seen: OrderedDict[str, float] = OrderedDict()

    def first_use(self, signature: str) -> bool:
        now = self._now()
        while self._seen:
            oldest, at = next(iter(self._seen.items()))
            if now - at <= self._window and len(self._seen) < MAX_REMEMBERED_SIGNATURES:
                break
            del self._seen[oldest]
        if signature in self._seen:
            return False
        self._seen[signature] = now
        return True


@dataclass(slots=True)
class WebAuth:
    sessions: Sessions
    login_tokens: LoginTokens
    login_throttle: LoginThrottle
    replays: ReplayGuard

    @classmethod
    def create(cls, replay_window_seconds: float) -> WebAuth:
        return cls(Sessions(), LoginTokens(), LoginThrottle(), ReplayGuard(replay_window_seconds))
