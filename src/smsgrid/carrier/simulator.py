"""The simulated carrier: takes due carrier work from the store, plays the planned outcome, commits the result.

Each finished message may cause a delivery report (only with enableDeliveryReport, SPEC §2) and a handset reply
(an inbound SMS). Work is claimed with a lease (its due time pushed forward), so a crash replays it after restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from smsgrid.carrier.rules import final_outcome
from smsgrid.clock import Clock
from smsgrid.errors import StoreUnavailableError
from smsgrid.events.models import DeliveryAttempt, SmsDeliveryReportReceivedData, delivery_report_event
from smsgrid.events.timestamps import Timestamp
from smsgrid.messaging.service import Messaging
from smsgrid.sms import description
from smsgrid.sms.senders import is_alphanumeric_sender_id
from smsgrid.store.outage_log import OutageLog
from smsgrid.store.port import Store
from smsgrid.store.records import CarrierJob, CarrierResult

log = logging.getLogger("smsgrid.carrier")

CLAIM_LIMIT = 512
LEASE_SECONDS = 30.0
IDLE_POLL_SECONDS = 1.0


# What Azure writes in the report it generates when deliveryReportTimeoutInSeconds passes without one: code 5002,
# "Message Delivery Timeout" (a real report quoted in Microsoft Q&A 5730794, Jan 2026), not the troubleshooting
# table's 5002 text.
TIMEOUT_CODE = 5002
TIMEOUT_DETAILS = "Message Delivery Timeout"


def report_data(
    job: CarrierJob, status: str, code: int, now: float, details: str | None = None
) -> SmsDeliveryReportReceivedData:
    """The delivery report of one message (SPEC §1).

    Every attempt but a final successful one failed: all its segments, or — with a rule's `segments_failed` —
    that many while the others got through. A timeout report lists no attempt's success: nothing was confirmed.
    """
    attempts = max(1, job.plan.attempts)
    span = max(0.0, now - job.created_at)
    partial = min(job.plan.segments_failed, job.segments)
    entries = []
    for n in range(attempts):
        at = job.created_at + span * (n + 1) / (attempts + 1)
        last_ok = status == "Delivered" and n == attempts - 1
        if last_ok:
            succeeded, failed = job.segments, 0
        elif partial and not job.plan.times_out:
            succeeded, failed = job.segments - partial, partial
        else:
            succeeded, failed = 0, job.segments
        entries.append(
            DeliveryAttempt(
                timestamp=Timestamp.from_epoch_seconds(at), segments_succeeded=succeeded, segments_failed=failed
            )
        )
    return SmsDeliveryReportReceivedData(
        message_id=job.message_id,
        from_=job.from_number.removeprefix("+"),  # a number's digits [seed]; a short code or sender ID as is
        to=job.to_number,
        delivery_status=status,
        delivery_status_details=details if details is not None else description(code),
        delivery_attempts=tuple(entries),
        received_timestamp=Timestamp.from_epoch_seconds(now),
        tag=job.tag,
    )


class CarrierSimulator:
    def __init__(self, *, store: Store, messaging: Messaging, clock: Clock, wake_dispatcher: Callable[[], None]):
        self.store = store
        self.messaging = messaging
        self.clock = clock
        self._wake_dispatcher = wake_dispatcher
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._outage = OutageLog(log, "carrier", "delivery reports wait, retried every second")

    def wake(self) -> None:
        self._wakeup.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="smsgrid-carrier")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def finish(self, job: CarrierJob, now: float) -> CarrierResult:
        outcome, code = final_outcome(job.plan.outcome, job.plan.code, opted_out=job.opted_out)
        # NoReport means the carrier stays silent, not that the handset got nothing: it may still answer.
        reply = None
        # A handset cannot answer an alphanumeric sender ID (ACS SMS FAQ: it "can't receive inbound messages").
        if job.plan.reply and outcome in ("Delivered", "NoReport") and not is_alphanumeric_sender_id(job.from_number):
            reply = self.messaging.inbound(job.to_number, job.from_number, job.plan.reply, now)
        details = None
        if job.plan.times_out and not job.opted_out:
            outcome, code, details = "Failed", TIMEOUT_CODE, TIMEOUT_DETAILS
        if outcome == "NoReport":
            return CarrierResult(job.message_id, "sent", None, None, None, reply)
        event = None
        report = None
        if job.delivery_report:
            data = report_data(job, outcome, code, now, details)
            stamp = data.received_timestamp
            built = delivery_report_event(data, topic=self.messaging.events.topic, event_time=stamp)
            event = self.messaging.events.new_event(built, message_id=job.message_id, published_at=now)
            report = _public_report(data, job.from_number, job.plan.partner_message_id)
        return CarrierResult(job.message_id, outcome.lower(), code, report, event, reply)

    async def run_once(self) -> int:
        now = self.clock.now()
        jobs = await self.store.claim_carrier_jobs(now, CLAIM_LIMIT, now + LEASE_SECONDS)
        if not jobs:
            return 0
        results = [self.finish(job, now) for job in jobs]
        await self.store.finish_carrier_jobs(results, now)
        metrics = self.messaging.metrics
        metrics.record_published(r.event for r in results)
        metrics.record_published(r.reply.event for r in results if r.reply is not None)
        metrics.messages_received.inc(sum(1 for r in results if r.reply is not None))
        self._wake_dispatcher()
        return len(jobs)

    async def _run(self) -> None:
        while True:
            try:
                if await self.run_once():
                    self._outage.recovered()
                    continue
                next_due = await self.store.next_carrier_due()
                self._outage.recovered()
            except asyncio.CancelledError:
                raise
            except StoreUnavailableError as exc:
                # Expected while the disk is full or the database is down: a few lines, no traceback.
                self._outage.failed(exc)
                next_due = None
            except Exception:
                log.exception("carrier step failed; retrying in a second")
                next_due = None
            delay = IDLE_POLL_SECONDS if next_due is None else max(0.0, next_due - self.clock.now())
            self._wakeup.clear()
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation (clean stop).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(delay, IDLE_POLL_SECONDS)):
                    await self._wakeup.wait()


def _public_report(
    data: SmsDeliveryReportReceivedData, from_number: str, partner_message_id: str | None = None
) -> dict[str, object]:
    """The report as `GET /deliveryReports/{id}` shows it (camelCase, api-version 2026-01-23).

    `from` is E.164 there (azure-rest-api-specs, Sms 2026-01-23 DeliveryReportGet example: "+1234567890"),
    unlike the event's `From`, which carries the digits only [seed].
    """
    report: dict[str, object] = {
        "messageId": data.message_id,
        "from": from_number,
        "to": data.to,
        "deliveryStatus": data.delivery_status,
        "deliveryStatusDetails": data.delivery_status_details,
        "deliveryAttempts": [
            {
                "timestamp": a.timestamp.format(),
                "segmentsSucceeded": a.segments_succeeded,
                "segmentsFailed": a.segments_failed,
            }
            for a in data.delivery_attempts
        ],
        "receivedTimestamp": data.received_timestamp.format(),
        "tag": data.tag,
    }
    if partner_message_id is not None:
        # Only for Messaging Connect sends (azure-rest-api-specs, Sms 2026-01-23 DeliveryReport).
        report["messagingConnectPartnerMessageId"] = partner_message_id
    return report
