"""Retry schedule, dead-lettering, TTL and probation (delivery-and-retry, manage-event-delivery)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgrid.delivery.outcomes import DeadLetterReason, DeliveryOutcome, classify
from smsgrid.delivery.retry import (
    JITTER_FRACTION,
    PROBATION_AFTER_FAILURES,
    PROBATION_BASE_SECONDS,
    PROBATION_MAX_SECONDS,
    DeadLetter,
    Delivered,
    EndpointHealth,
    RetryAt,
    RetryPolicy,
    after_result,
    can_attempt,
    check_before_attempt,
    decide_after_attempt,
    expires_at,
    probation_seconds,
    retry_delay_seconds,
    scheduled_delay_seconds,
)

MIN, HOUR = 60.0, 3600.0
SCHEDULE = [10.0, 30.0, MIN, 5 * MIN, 10 * MIN, 30 * MIN, HOUR, 3 * HOUR, 6 * HOUR]
T0 = 1_000_000.0
SCALES = [1.0, 0.001, 0.5, 3.0]

# One status per class the policy tells apart: success, no-retry, floored, plain failure, no answer at all.
SUCCESS = [200, 204]
NO_RETRY = {
    400: DeadLetterReason.HTTP_BAD_REQUEST,
    401: DeadLetterReason.HTTP_UNAUTHORIZED,
    403: DeadLetterReason.HTTP_FORBIDDEN,
    413: DeadLetterReason.HTTP_REQUEST_ENTITY_TOO_LARGE,
}
FLOORS = {503: 30.0, 408: 2 * MIN}
PLAIN = [404, 429, 500, 502, 302, 205]
STATUSES: list[int | None] = [*SUCCESS, *NO_RETRY, *FLOORS, *PLAIN, None]


def expected_delay(attempt: int, status: int | None) -> float:
    base = SCHEDULE[attempt - 1] if attempt <= len(SCHEDULE) else 12 * HOUR
    return max(base, FLOORS.get(status, 0.0)) if status is not None else base


def decide(
    attempt: int,
    status: int | None,
    *,
    scale: float = 1.0,
    jitter: float = 0.0,
    policy: RetryPolicy | None = None,
    error: str | None = None,
) -> Delivered | RetryAt | DeadLetter:
    outcome = classify(status, "timeout") if error == "timeout" else classify(status, None)
    return decide_after_attempt(
        attempt=attempt,
        status=status,
        outcome=outcome,
        published_at=T0,
        now=T0 + 5.0,
        policy=policy or RetryPolicy(),
        time_scale=scale,
        jitter=jitter,
    )


def test_the_schedule() -> None:
    assert [scheduled_delay_seconds(n) for n in range(1, 13)] == [*SCHEDULE, 12 * HOUR, 12 * HOUR, 12 * HOUR]


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("attempt", range(1, 32))
def test_every_attempt_status_and_scale(attempt: int, status: int | None, scale: float) -> None:
    got = decide(attempt, status, scale=scale)
    if status in SUCCESS:
        assert got == Delivered()
    elif status in NO_RETRY:
        assert got == DeadLetter(NO_RETRY[status])
    elif attempt >= 30:
        assert got == DeadLetter("MaxDeliveryAttemptsExceeded")
    else:
        assert isinstance(got, RetryAt)
        assert got.at == pytest.approx(T0 + 5.0 + expected_delay(attempt, status) * scale)


@pytest.mark.parametrize("max_attempts", [1, 2, 5, 10, 29, 30])
@pytest.mark.parametrize("status", [None, 404, 500, 503, 408])
def test_max_delivery_attempts(max_attempts: int, status: int | None) -> None:
    policy = RetryPolicy(max_delivery_attempts=max_attempts)
    for attempt in range(1, max_attempts):
        assert isinstance(decide(attempt, status, policy=policy), RetryAt)
    assert decide(max_attempts, status, policy=policy) == DeadLetter(DeadLetterReason.MAX_DELIVERY_ATTEMPTS_EXCEEDED)
    assert decide(max_attempts + 1, status, policy=policy) == DeadLetter("MaxDeliveryAttemptsExceeded")


@pytest.mark.parametrize("attempt", [1, 2, 3, 9, 10, 29])
@pytest.mark.parametrize(("status", "floor"), list(FLOORS.items()))
@pytest.mark.parametrize("jitter", [-1.0, 0.0, 1.0])
def test_floors_hold_even_with_jitter(attempt: int, status: int, floor: float, jitter: float) -> None:
    got = decide(attempt, status, jitter=jitter)
    assert isinstance(got, RetryAt)
    assert got.at - (T0 + 5.0) >= floor


def test_floors_by_example() -> None:
    assert decide(1, 503) == RetryAt(T0 + 5.0 + 30.0)  # 10 s raised to 30 s
    assert decide(1, 408) == RetryAt(T0 + 5.0 + 120.0)  # 10 s raised to 2 min
    assert decide(3, 408) == RetryAt(T0 + 5.0 + 120.0)  # 1 min raised to 2 min
    assert decide(4, 408) == RetryAt(T0 + 5.0 + 300.0)  # 5 min is above the floor
    assert decide(1, 500) == RetryAt(T0 + 5.0 + 10.0)
    assert decide(1, None, error="timeout") == RetryAt(T0 + 5.0 + 10.0)


def test_jitter_is_ten_percent_either_way() -> None:
    assert retry_delay_seconds(4, 500, -1.0) == pytest.approx(300 * (1 - JITTER_FRACTION))
    assert retry_delay_seconds(4, 500, 1.0) == pytest.approx(300 * (1 + JITTER_FRACTION))
    assert retry_delay_seconds(4, 500, 0.5) == pytest.approx(315.0)
    assert JITTER_FRACTION == 0.10


@pytest.mark.parametrize("jitter", [-1.01, 1.01, float("nan")])
def test_jitter_outside_the_range_is_a_programming_error(jitter: float) -> None:
    with pytest.raises(ValueError, match="jitter"):
        decide(1, 500, jitter=jitter)


@pytest.mark.parametrize("scale", [0.0, -1.0, float("inf"), float("nan")])
def test_time_scale_must_be_positive_and_finite(scale: float) -> None:
    with pytest.raises(ValueError, match="time_scale"):
        decide(1, 500, scale=scale)


def test_attempts_start_at_one() -> None:
    with pytest.raises(ValueError, match="start at 1"):
        decide(0, 500)


def test_a_late_success_is_a_timeout_and_is_retried() -> None:
    got = decide(1, 200, error="timeout")
    assert got == RetryAt(T0 + 5.0 + 10.0)


def test_no_retry_status_wins_over_max_attempts() -> None:
    assert decide(30, 400) == DeadLetter("UndeliverableDueToHttpBadRequest")


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("ttl_minutes", [1, 30, 1440])
def test_ttl_boundary(scale: float, ttl_minutes: int) -> None:
    policy = RetryPolicy(event_time_to_live_minutes=ttl_minutes)
    end = T0 + ttl_minutes * 60 * scale
    assert expires_at(published_at=T0, policy=policy, time_scale=scale) == end

    def check(now: float) -> DeadLetter | None:
        return check_before_attempt(published_at=T0, now=now, policy=policy, time_scale=scale)

    assert check(T0) is None
    assert check(end - 0.001 * scale) is None
    assert check(end) == DeadLetter(DeadLetterReason.TIME_TO_LIVE_EXCEEDED)
    assert check(end + 1.0) == DeadLetter("TimeToLiveExceeded")


def test_ttl_is_checked_when_the_retry_comes_due_not_before() -> None:
    """manage-event-delivery: TTL 30 min, 10 attempts → 6 attempts, then dead-lettered by TTL."""
    policy = RetryPolicy(max_delivery_attempts=10, event_time_to_live_minutes=30)
    now, attempts = T0, 0
    while True:
        if (stop := check_before_attempt(published_at=T0, now=now, policy=policy, time_scale=1.0)) is not None:
            break
        attempts += 1
        got = decide_after_attempt(
            attempt=attempts,
            status=500,
            outcome=DeliveryOutcome.GENERIC_ERROR,
            published_at=T0,
            now=now,
            policy=policy,
            time_scale=1.0,
            jitter=0.0,
        )
        assert isinstance(got, RetryAt)  # never dead-lettered early: the TTL is checked at the retry
        now = got.at
    assert attempts == 6
    assert stop == DeadLetter("TimeToLiveExceeded")
    assert now - T0 == sum(SCHEDULE[:6])


def test_default_policy_over_24_hours() -> None:
    """With the defaults, 11 attempts fit in 24 h; the 12th would come after the TTL."""
    policy, now, attempts = RetryPolicy(), T0, 0
    while check_before_attempt(published_at=T0, now=now, policy=policy, time_scale=0.001) is None:
        attempts += 1
        got = decide_after_attempt(
            attempt=attempts,
            status=None,
            outcome=DeliveryOutcome.SOCKET_ERROR,
            published_at=T0,
            now=now,
            policy=policy,
            time_scale=0.001,
            jitter=0.0,
        )
        assert isinstance(got, RetryAt)
        now = got.at
    assert attempts == 11
    assert now - T0 == pytest.approx((sum(SCHEDULE) + 2 * 12 * HOUR) * 0.001)


@pytest.mark.parametrize(("attempts", "ttl"), [(0, 1440), (31, 1440), (30, 0), (30, 1441)])
def test_retry_policy_limits(attempts: int, ttl: int) -> None:
    with pytest.raises(ValueError, match="must be"):
        RetryPolicy(max_delivery_attempts=attempts, event_time_to_live_minutes=ttl)


# ------------------------------------------------------------------------------------------- schedule laws

_attempt = st.integers(1, 40)
_status = st.sampled_from(STATUSES)
_scale = st.floats(1e-4, 100.0)


@given(_attempt, _attempt, _status)
def test_law_delays_never_decrease_with_attempt(a: int, b: int, status: int | None) -> None:
    low, high = sorted((a, b))
    assert retry_delay_seconds(low, status) <= retry_delay_seconds(high, status)


@given(_attempt, st.sampled_from([None, 404, 500, 503, 408]), _scale, st.floats(-1.0, 1.0))
def test_law_scaled_delay_is_scale_times_unscaled(
    attempt: int, status: int | None, scale: float, jitter: float
) -> None:
    policy = RetryPolicy()
    got = decide_after_attempt(
        attempt=min(attempt, 29),
        status=status,
        outcome=classify(status, None),
        published_at=0.0,
        now=0.0,
        policy=policy,
        time_scale=scale,
        jitter=jitter,
    )
    assert isinstance(got, RetryAt)
    assert got.at == pytest.approx(scale * retry_delay_seconds(min(attempt, 29), status, jitter))


@given(_attempt, _status, st.integers(1, 30), st.floats(-1.0, 1.0))
def test_law_never_past_max_attempts(attempt: int, status: int | None, max_attempts: int, jitter: float) -> None:
    got = decide(attempt, status, policy=RetryPolicy(max_delivery_attempts=max_attempts), jitter=jitter)
    if attempt >= max_attempts:
        assert not isinstance(got, RetryAt)


@given(_attempt, _status, st.floats(-1.0, 1.0))
def test_law_jitter_stays_within_ten_percent_or_the_floor(attempt: int, status: int | None, jitter: float) -> None:
    delay = retry_delay_seconds(attempt, status, jitter)
    base = scheduled_delay_seconds(attempt)
    floor = FLOORS.get(status, 0.0) if status is not None else 0.0
    assert max(base * 0.9, floor) - 1e-9 <= delay <= max(base * 1.1, floor) + 1e-9


@given(_attempt, _status, st.floats(-1.0, 1.0), _scale)
def test_law_retries_are_always_in_the_future(attempt: int, status: int | None, jitter: float, scale: float) -> None:
    got = decide(attempt, status, jitter=jitter, scale=scale)
    if isinstance(got, RetryAt):
        assert got.at > T0 + 5.0


# ------------------------------------------------------------------------------------------------ probation


def fail_n(n: int, *, now: float = 0.0, scale: float = 1.0) -> EndpointHealth:
    health = EndpointHealth()
    for _ in range(n):
        health = after_result(health, False, now, scale)
    return health


def test_probation_starts_after_ten_consecutive_failures() -> None:
    assert PROBATION_AFTER_FAILURES == 10
    nine = fail_n(9)
    assert nine == EndpointHealth(consecutive_failures=9, probation_until=0.0)
    assert can_attempt(nine, 0.0)
    ten = fail_n(10)
    assert ten.probation_until == PROBATION_BASE_SECONDS == 30.0
    assert not can_attempt(ten, 29.9)
    assert can_attempt(ten, 30.0)


def test_probation_grows_and_is_capped() -> None:
    periods = [probation_seconds(n) for n in range(9, 20)]
    assert periods == [0.0, 30.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 3600.0, 3600.0, 3600.0]
    assert probation_seconds(10_000) == PROBATION_MAX_SECONDS == HOUR


def test_a_probe_that_fails_extends_probation_and_one_success_ends_it() -> None:
    health = fail_n(10)
    health = after_result(health, False, 30.0, 1.0)
    assert health == EndpointHealth(consecutive_failures=11, probation_until=90.0)
    health = after_result(health, True, 90.0, 1.0)
    assert health == EndpointHealth()
    assert can_attempt(health, 90.0)


def test_probation_is_scaled() -> None:
    assert fail_n(11, now=100.0, scale=0.001).probation_until == pytest.approx(100.0 + 0.06)


def test_probation_never_shrinks() -> None:
    # A failure reported late (an attempt that was already in flight) must not shorten the probation.
    health = EndpointHealth(consecutive_failures=15, probation_until=10_000.0)
    assert after_result(health, False, 0.0, 1.0).probation_until == 10_000.0


@given(st.lists(st.booleans(), max_size=40), _scale)
def test_law_probation_follows_the_run_of_failures(results: list[bool], scale: float) -> None:
    health, now = EndpointHealth(), 0.0
    run = 0
    for success in results:
        health = after_result(health, success, now, scale)
        run = 0 if success else run + 1
        assert health.consecutive_failures == run
        assert can_attempt(health, now) == (run < PROBATION_AFTER_FAILURES)
        now += 1.0
