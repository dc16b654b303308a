"""What the simulated carrier does with an outgoing message: pure decisions from the config and magic numbers.

Magic numbers (docs/carrier.md): `+1500555CCCC` where CCCC is a DeliveryStatusDetails code gives that outcome
(`+15005552000` delivered, `+15005554005` blocked by carrier, ...), `+15005550000` never reports, and
`+15005550503` is refused at send time with a per-recipient 503 "ServiceUnavailable" inside the 202 (as in
Microsoft's SmsSend.json examples). Config rules are checked first; the first whose glob matches wins.
"""

from __future__ import annotations

import fnmatch
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from smsgrid.config import CarrierRule, CarrierSettings
from smsgrid.sms import delivery_status_for, is_known

MAGIC_PREFIX = "+1500555"
NO_REPORT_NUMBER = "+15005550000"
SERVICE_UNAVAILABLE_NUMBER = "+15005550503"
DELIVERED_CODE = 2000
FAILED_DEFAULT_CODE = 5000


@dataclass(frozen=True, slots=True)
class SimulatedPlan:
    """What the simulated carrier does with one accepted message, and when (epoch seconds, time-scaled)."""

    outcome: str  # Delivered | Failed | NoReport
    code: int
    due_at: float
    attempts: int = 1
    reply: str | None = None
    # The carrier's report would come after the sender's deliveryReportTimeoutInSeconds (or never): the core's
    # timeout report comes first and the carrier's own is never made (Azure sends one final report).
    times_out: bool = False
    segments_failed: int = 0
    partner_message_id: str | None = None


@dataclass(frozen=True, slots=True)
class CarrierDecision:
    outcome: str  # Delivered | Failed | NoReport | ServiceUnavailable (refused at send time, never stored)
    code: int
    delay_seconds: float
    attempts: int
    reply: str | None
    segments_failed: int = 0


def _from_rule(rule: CarrierRule, default_delay_ms: int) -> CarrierDecision:
    if rule.outcome == "Delivered":
        code = rule.code or DELIVERED_CODE
    else:
        code = rule.code or FAILED_DEFAULT_CODE
    delay_ms = default_delay_ms if rule.delay_ms is None else rule.delay_ms
    return CarrierDecision(rule.outcome, code, delay_ms / 1000, rule.attempts, rule.reply, rule.segments_failed)


def decide(to: str, settings: CarrierSettings) -> CarrierDecision:
    """The carrier's plan for one recipient, before time-scaling."""
    for rule in settings.rules:
        if fnmatch.fnmatchcase(to, rule.to):
            return _from_rule(rule, settings.delay_ms)
    delay = settings.delay_ms / 1000
    if to == NO_REPORT_NUMBER:
        return CarrierDecision("NoReport", DELIVERED_CODE, delay, 1, None)
    if to == SERVICE_UNAVAILABLE_NUMBER:
        return CarrierDecision("ServiceUnavailable", FAILED_DEFAULT_CODE, 0.0, 1, None)
    if to.startswith(MAGIC_PREFIX) and len(to) == len(MAGIC_PREFIX) + 4 and to[-4:].isdigit():
        code = int(to[-4:])
        if is_known(code):
            return CarrierDecision(delivery_status_for(code), code, delay, 1, None)
    return CarrierDecision("Delivered", DELIVERED_CODE, delay, 1, None)


def plan_for(
    decision: CarrierDecision,
    *,
    now: float,
    scaled: Callable[[float], float],
    report_timeout_seconds: int | None,
    partner: str | None,
) -> SimulatedPlan:
    """The simulated carrier's plan for one message sent at `now`, bounded by the sender's report timeout.

    A report that would come after `deliveryReportTimeoutInSeconds` (a slow rule) or never (NoReport) is not
    made: at the timeout the core makes the timeout report; Azure sends one final report per message.
    """
    due_at = now + scaled(decision.delay_seconds)
    times_out = False
    if report_timeout_seconds is not None:
        timeout_at = now + scaled(report_timeout_seconds)
        if decision.outcome == "NoReport" or due_at > timeout_at:
            due_at, times_out = timeout_at, True
    return SimulatedPlan(
        outcome=decision.outcome,
        code=decision.code,
        due_at=due_at,
        attempts=decision.attempts,
        reply=decision.reply,
        times_out=times_out,
        segments_failed=decision.segments_failed,
        partner_message_id=f"{partner}-{uuid.uuid4()}" if partner else None,
    )
