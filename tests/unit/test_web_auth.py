"""Server-side sessions, one-time login tokens, the login throttle and the HMAC replay guard, on a fake clock."""

from __future__ import annotations

from smsgrid.api.web_auth import (
    LOGIN_FAILURE_WINDOW_SECONDS,
    LOGIN_FAILURES_ALLOWED,
    LOGIN_TOKEN_SECONDS,
    MAX_SESSIONS,
    SESSION_ABSOLUTE_SECONDS,
    SESSION_IDLE_SECONDS,
    LoginThrottle,
    LoginTokens,
    ReplayGuard,
    Sessions,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_session_ends_when_idle_for_too_long() -> None:
    clock = Clock()
    sessions = Sessions(clock)
    session_id, _ = sessions.start()
    clock.now += SESSION_IDLE_SECONDS - 1
    assert sessions.get(session_id) is not None  # activity restarts the idle clock
    clock.now += SESSION_IDLE_SECONDS - 1
    assert sessions.get(session_id) is not None
    clock.now += SESSION_IDLE_SECONDS + 1
    assert sessions.get(session_id) is None


def test_a_session_ends_at_its_absolute_age_however_busy() -> None:
    clock = Clock()
    sessions = Sessions(clock)
    session_id, _ = sessions.start()
    while clock.now + 600 < 1000.0 + SESSION_ABSOLUTE_SECONDS:
        clock.now += 600
        assert sessions.get(session_id) is not None
    clock.now = 1000.0 + SESSION_ABSOLUTE_SECONDS + 1
    assert sessions.get(session_id) is None


def test_login_rotates_and_logout_revokes() -> None:
    sessions = Sessions(Clock())
    old, first = sessions.start()
    new, second = sessions.start(previous=old)
    assert new != old
    assert first.csrf != second.csrf
    assert sessions.get(old) is None
    sessions.end(new)
    assert sessions.get(new) is None
    assert sessions.get(None) is None
    assert sessions.get("") is None


def test_the_session_table_is_bounded() -> None:
    sessions = Sessions(Clock())
    ids = [sessions.start()[0] for _ in range(MAX_SESSIONS + 5)]
    assert sessions.get(ids[0]) is None
    assert sessions.get(ids[-1]) is not None


def test_a_login_token_works_once_and_expires() -> None:
    clock = Clock()
    tokens = LoginTokens(clock)
    once = tokens.issue()
    assert tokens.redeem(once) is True
    assert tokens.redeem(once) is False
    late = tokens.issue()
    clock.now += LOGIN_TOKEN_SECONDS + 1
    assert tokens.redeem(late) is False
    assert tokens.redeem("never-issued") is False


def test_failed_logins_are_throttled_within_the_window_then_forgiven() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock)
    for _ in range(LOGIN_FAILURES_ALLOWED - 1):
        throttle.failed("10.0.0.1")
    assert throttle.retry_after("10.0.0.1") == 0
    throttle.failed("10.0.0.1")
    assert 0 < throttle.retry_after("10.0.0.1") <= LOGIN_FAILURE_WINDOW_SECONDS + 1
    assert throttle.retry_after("10.0.0.2") == 0  # per client
    clock.now += LOGIN_FAILURE_WINDOW_SECONDS + 1
    assert throttle.retry_after("10.0.0.1") == 0


def test_a_signature_is_accepted_once_within_its_window() -> None:
    clock = Clock()
    guard = ReplayGuard(window_seconds=1800, now=clock)
    assert guard.first_use("sig-a") is True
    assert guard.first_use("sig-a") is False
    assert guard.first_use("sig-b") is True
    clock.now += 1801  # its x-ms-date is no longer accepted anyway; forgetting it costs nothing
    assert guard.first_use("sig-a") is True
