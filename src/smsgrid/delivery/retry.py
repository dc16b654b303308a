"""When to try a delivery again, when to give up, and when to leave a failing endpoint alone.

Pure decisions over plain values (SPEC §3, delivery-and-retry, manage-event-delivery); the engine stores and
applies them. Every time is a float of seconds on the engine's clock; every duration is multiplied by
``time_scale`` (SPEC §4: ``0.001`` plays a 24-hour policy in 86 s).

Figures chosen here, where Microsoft gives none:

* **Jitter** ±10 % of the scheduled delay. Event Grid "adds a small randomization to all retry steps"; the
  caller draws ``jitter`` uniformly from [-1, 1] so these functions stay deterministic. Floors are applied
  after the jitter, so they are hard guarantees.
* **Probation** after 10 consecutive failed attempts ("if the first 10 events published to an endpoint fail,
  Event Grid will assume that the endpoint is experiencing issues" — delivery-and-retry, "Delayed delivery"),
  for 30 s, doubling with every further failure, at most 1 h. One success ends it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TypeAlias

from smsgrid.delivery.outcomes import DeadLetterReason, DeliveryOutcome

MIN_MAX_DELIVERY_ATTEMPTS = 1
MAX_MAX_DELIVERY_ATTEMPTS = 30
MIN_EVENT_TTL_MINUTES = 1
MAX_EVENT_TTL_MINUTES = 1440

# Delay after the n-th failed attempt (index n-1), then every 12 h (delivery-and-retry, "Retry schedule").
RETRY_SCHEDULE_SECONDS: tuple[float, ...] = (10, 30, 60, 5 * 60, 10 * 60, 30 * 60, 3600, 3 * 3600, 6 * 3600)
RETRY_EVERY_SECONDS_AFTER_SCHEDULE = 12 * 3600.0

JITTER_FRACTION = 0.10

# Event Grid retries a 503 no sooner than 30 s and a 408 no sooner than 2 min (delivery-and-retry,
# "Failure codes"; SPEC §3).
STATUS_FLOOR_SECONDS: dict[int, float] = {503: 30.0, 408: 120.0}

# A webhook answering one of these will never take the event: dead-letter at once, no retry
# (delivery-and-retry, "Retry schedule": 400, 413, 401, 403 for webhooks).
NO_RETRY_STATUS_REASONS: dict[int, DeadLetterReason] = {
    400: DeadLetterReason.HTTP_BAD_REQUEST,
    401: DeadLetterReason.HTTP_UNAUTHORIZED,
    403: DeadLetterReason.HTTP_FORBIDDEN,
    413: DeadLetterReason.HTTP_REQUEST_ENTITY_TOO_LARGE,
}
# For Azure-resource destinations (Storage queue, Function) the same table leaves out 401: it is retried.
RESOURCE_NO_RETRY_STATUS_REASONS: dict[int, DeadLetterReason] = {
    status: reason for status, reason in NO_RETRY_STATUS_REASONS.items() if status != 401
}

PROBATION_AFTER_FAILURES = 10
PROBATION_BASE_SECONDS = 30.0
PROBATION_MAX_SECONDS = 3600.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """A subscription's ``retryPolicy``; whichever limit comes first ends delivery (manage-event-delivery)."""

    max_delivery_attempts: int = 30
    event_time_to_live_minutes: int = 1440

    def __post_init__(self) -> None:
        if not MIN_MAX_DELIVERY_ATTEMPTS <= self.max_delivery_attempts <= MAX_MAX_DELIVERY_ATTEMPTS:
            raise ValueError(f"max_delivery_attempts must be 1-30, not {self.max_delivery_attempts}")
        if not MIN_EVENT_TTL_MINUTES <= self.event_time_to_live_minutes <= MAX_EVENT_TTL_MINUTES:
            raise ValueError(f"event_time_to_live_minutes must be 1-1440, not {self.event_time_to_live_minutes}")


@dataclass(frozen=True, slots=True)
class Delivered:
    """The endpoint acknowledged the delivery; nothing more to do."""


@dataclass(frozen=True, slots=True)
class RetryAt:
    """Try again at *at* (engine clock, seconds)."""

    at: float


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """Stop: dead-letter the event (or drop it when the subscription has no dead-letter destination)."""

    reason: str


Decision: TypeAlias = Delivered | RetryAt | DeadLetter


def _check_scale(time_scale: float) -> None:
    if not (math.isfinite(time_scale) and time_scale > 0):
        raise ValueError(f"time_scale must be a positive finite number, not {time_scale!r}")


def scheduled_delay_seconds(attempt: int) -> float:
    """The unscaled, unjittered delay after failed attempt number *attempt* (1-based)."""
    if attempt < 1:
        raise ValueError(f"attempt numbers start at 1, not {attempt}")
    if attempt <= len(RETRY_SCHEDULE_SECONDS):
        return float(RETRY_SCHEDULE_SECONDS[attempt - 1])
    return RETRY_EVERY_SECONDS_AFTER_SCHEDULE


def retry_delay_seconds(attempt: int, status: int | None, jitter: float = 0.0) -> float:
    """The unscaled delay after failed attempt *attempt*: schedule, then jitter, then the status floor."""
    if not -1.0 <= jitter <= 1.0:
        raise ValueError(f"jitter must be drawn from [-1, 1], not {jitter!r}")
    delay = scheduled_delay_seconds(attempt) * (1.0 + JITTER_FRACTION * jitter)
    floor = STATUS_FLOOR_SECONDS.get(status, 0.0) if status is not None else 0.0
    return max(delay, floor)


def expires_at(*, published_at: float, policy: RetryPolicy, time_scale: float) -> float:
    """The instant the event's time to live runs out; from then on it is no longer delivered."""
    _check_scale(time_scale)
    return published_at + policy.event_time_to_live_minutes * 60.0 * time_scale


def check_before_attempt(
    *, published_at: float, now: float, policy: RetryPolicy, time_scale: float
) -> DeadLetter | None:
    """Call before every attempt: Event Grid checks the TTL when the next scheduled attempt comes due.

    The TTL period is half-open: an attempt at exactly ``published_at + TTL`` is too late.
    """
    if now >= expires_at(published_at=published_at, policy=policy, time_scale=time_scale):
        return DeadLetter(DeadLetterReason.TIME_TO_LIVE_EXCEEDED)
    return None


def decide_after_attempt(
    *,
    attempt: int,
    status: int | None,
    outcome: DeliveryOutcome,
    published_at: float,
    now: float,
    policy: RetryPolicy,
    time_scale: float,
    jitter: float,
    azure_resource: bool = False,
) -> Decision:
    """What to do after attempt number *attempt* (1-based) ended with *status* / *outcome* at *now*.

    *azure_resource* is true for a Storage queue or Function destination, whose no-retry codes differ from a
    webhook's (delivery-and-retry, "Retry schedule").

    The TTL is deliberately not looked at here: it is checked when the retry comes due
    (:func:`check_before_attempt`), as Event Grid does. ``published_at`` is accepted so callers pass one
    complete picture of the event; it does not change the answer.
    """
    _check_scale(time_scale)
    if attempt < 1:
        raise ValueError(f"attempt numbers start at 1, not {attempt}")
    if outcome is DeliveryOutcome.SUCCEEDED:
        return Delivered()
    no_retry = RESOURCE_NO_RETRY_STATUS_REASONS if azure_resource else NO_RETRY_STATUS_REASONS
    if status is not None and status in no_retry:
        return DeadLetter(no_retry[status])
    if attempt >= policy.max_delivery_attempts:
        return DeadLetter(DeadLetterReason.MAX_DELIVERY_ATTEMPTS_EXCEEDED)
    return RetryAt(now + retry_delay_seconds(attempt, status, jitter) * time_scale)


@dataclass(frozen=True, slots=True)
class EndpointHealth:
    """How an endpoint has fared lately. ``probation_until`` 0.0 means it is not on probation."""

    consecutive_failures: int = 0
    probation_until: float = 0.0


def probation_seconds(consecutive_failures: int) -> float:
    """Unscaled probation after this many consecutive failures; 0.0 below the threshold."""
    if consecutive_failures < PROBATION_AFTER_FAILURES:
        return 0.0
    # The exponent is capped so a long outage cannot overflow; 2**7 * 30 s is already past the 1 h cap.
    doublings = min(consecutive_failures - PROBATION_AFTER_FAILURES, 16)
    return min(PROBATION_BASE_SECONDS * 2.0**doublings, PROBATION_MAX_SECONDS)


def after_result(health: EndpointHealth, success: bool, now: float, time_scale: float) -> EndpointHealth:
    """The endpoint's health after one attempt. A failing endpoint is left alone for a while so it neither
    slows delivery to healthy endpoints nor gets hammered (delivery-and-retry, "Delayed delivery")."""
    _check_scale(time_scale)
    if success:
        return EndpointHealth()
    failures = health.consecutive_failures + 1
    period = probation_seconds(failures) * time_scale
    until = max(health.probation_until, now + period) if period > 0 else health.probation_until
    return EndpointHealth(consecutive_failures=failures, probation_until=until)


def can_attempt(health: EndpointHealth, now: float) -> bool:
    """False while the endpoint is on probation: deliveries to it wait (they are not counted as attempts)."""
    return now >= health.probation_until
