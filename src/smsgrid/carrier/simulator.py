"""The simulated carrier behind the carrier port: plays the outcome carrier/rules.py decides for each recipient.

It keeps no state of its own: its answer for a message is a pure function of the message, the configuration and
the time, so the core's durable carrier work is all a restart needs (a crash replays the poll, not a decision).
Reports are not pushed: `submit` answers with the time the report is due (`Accepted.news_at`) and the core polls
then. A rule's `reply` is the handset answering once the message reached it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from smsgrid.carrier.port import (
    Accepted,
    CarrierNews,
    CarrierSink,
    ConnectionStatus,
    DeliveryReport,
    InboundSms,
    OutboundSms,
    RecipientRefusal,
    Refused,
    SegmentAttempt,
    SubmitOutcome,
)
from smsgrid.carrier.rules import FAILED_DEFAULT_CODE, SimulatedPlan, decide, plan_for
from smsgrid.config import CarrierSettings
from smsgrid.sms.senders import is_alphanumeric_sender_id

SERVICE_UNAVAILABLE = "ServiceUnavailable"
# A handset stays silent or answers only when the message reached it.
_REACHED_HANDSET = ("Delivered", "NoReport")


class CarrierSimulator:
    def __init__(self, settings: CarrierSettings, *, scaled: Callable[[float], float]) -> None:
        self._settings = settings
        self._scaled = scaled  # --time-scale: every delay and timeout plays out this much faster

    # Nothing leaves the machine: a submit repeated after a crash costs nothing, so the core skips its mark.
    submits_reach_network = False

    def connections(self) -> tuple[ConnectionStatus, ...]:
        """No links: the simulator is always there."""
        return ()

    def refusal(self, to_number: str) -> RecipientRefusal | None:
        """`+15005550503` and `outcome = "ServiceUnavailable"` rules: a 503 inside the 202 (docs/carrier.md)."""
        if decide(to_number, self._settings).outcome == SERVICE_UNAVAILABLE:
            return RecipientRefusal()
        return None

    async def start(self, sink: CarrierSink) -> None:
        """Nothing to connect to, and nothing is pushed: every report comes from `poll`."""

    async def stop(self) -> None:
        """Nothing to close."""

    async def submit(self, message: OutboundSms) -> SubmitOutcome:
        plan = self._plan(message)
        if plan.outcome == SERVICE_UNAVAILABLE:
            # Only when the rules changed between the 202 and now (a restart with another config).
            return Refused(FAILED_DEFAULT_CODE)
        # The message id is a fine reference here: nothing but smsgrid ever sees it.
        return Accepted(message.message_id, news_at=plan.due_at, partner_message_id=plan.partner_message_id)

    async def poll(self, message: OutboundSms, reference: str, now: float) -> CarrierNews:
        plan = self._plan(message)
        if now < plan.due_at:
            return CarrierNews()
        reply = None
        # A handset cannot answer an alphanumeric sender ID (ACS SMS FAQ: it "can't receive inbound messages").
        if plan.reply and plan.outcome in _REACHED_HANDSET and not is_alphanumeric_sender_id(message.from_number):
            reply = InboundSms(from_number=message.to_number, to_number=message.from_number, text=plan.reply, at=now)
        if plan.outcome == "NoReport":
            return CarrierNews(silent=True, reply=reply)
        if plan.times_out:
            return CarrierNews(reply=reply)  # the report would come too late: the core's timeout report comes now
        status: Literal["Delivered", "Failed"] = "Delivered" if plan.outcome == "Delivered" else "Failed"
        report = DeliveryReport(
            reference=reference, status=status, code=plan.code, attempts=attempts(plan, message, now), at=now
        )
        return CarrierNews(report=report, reply=reply)

    def _plan(self, message: OutboundSms) -> SimulatedPlan:
        # Decided again on every call, from the same inputs: the same plan, so the simulator needs no memory.
        return plan_for(
            decide(message.to_number, self._settings),
            now=message.created_at,
            scaled=self._scaled,
            report_timeout_seconds=message.report_timeout_seconds,
            partner=message.partner,
        )


def attempts(plan: SimulatedPlan, message: OutboundSms, now: float) -> tuple[SegmentAttempt, ...]:
    """`plan.attempts` tries spread between send and report (SPEC §1).

    Every attempt but a final successful one failed: all its segments, or — with a rule's `segments_failed` —
    that many while the others got through.
    """
    count = max(1, plan.attempts)
    span = max(0.0, now - message.created_at)
    partial = min(plan.segments_failed, message.segments)
    entries = []
    for n in range(count):
        at = message.created_at + span * (n + 1) / (count + 1)
        if plan.outcome == "Delivered" and n == count - 1:
            succeeded, failed = message.segments, 0
        elif partial:
            succeeded, failed = message.segments - partial, partial
        else:
            succeeded, failed = 0, message.segments
        entries.append(SegmentAttempt(at=at, succeeded=succeeded, failed=failed))
    return tuple(entries)
