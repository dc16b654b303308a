"""The core's side of the carrier port: hands committed messages to the carrier and commits what comes back.

Carrier work lives in the store (`carrier_jobs`, one per accepted message) and is claimed with a lease (its due
time pushed forward), so a crash replays it after a restart and two workers never take the same job. A job is:

1. due at once after the 202: an opted-out recipient fails with 4007 without reaching the carrier; any other
   message is submitted. `Accepted` is committed with the carrier's reference before anything else happens;
   `Refused` is a final failure; `Unknown` fails the message with 9999 and is never submitted again (a real SMS
   costs money and reaches a person; the operator decides).
2. then waiting: for a pushed report (`delivery_report`), or until the carrier's `news_at` (`poll`), or until the
   sender's report timeout, whichever comes first. At the timeout the application gets the report Azure generates
   (5002 "Message Delivery Timeout"): that is this module's decision, whatever the carrier does.

Each finished message may cause a delivery report (only with enableDeliveryReport, SPEC §2): the
SMSDeliveryReportReceived event and what `GET /deliveryReports/{id}` shows, committed with the message's final
state in one transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Sequence
from typing import Protocol

from smsgrid.carrier.port import (
    Accepted,
    Carrier,
    CarrierNews,
    DeliveryReport,
    InboundSms,
    OutboundSms,
    Refused,
    SegmentAttempt,
    SubmitOutcome,
)
from smsgrid.errors import StoreUnavailableError
from smsgrid.events.models import DeliveryAttempt, SmsDeliveryReportReceivedData, delivery_report_event
from smsgrid.events.timestamps import Timestamp
from smsgrid.messaging.inbound import Inbox
from smsgrid.messaging.publishing import EventFactory, EventPublisher
from smsgrid.sms import DeliveryStatusCode, count_segments, description
from smsgrid.store.outage_log import OutageLog
from smsgrid.store.port import Store
from smsgrid.store.records import CarrierJob, CarrierPlan, CarrierResult

log = logging.getLogger("smsgrid.carrier")

CLAIM_LIMIT = 512
LEASE_SECONDS = 30.0
IDLE_POLL_SECONDS = 1.0
# Submitted work that waits only for a pushed report has no due time; it stays out of the claims (year 9999).
NEVER = 253_402_300_799.0
# What Azure writes in the report it generates when deliveryReportTimeoutInSeconds passes without one: code 5002,
# "Message Delivery Timeout" (a real report quoted in Microsoft Q&A 5730794, Jan 2026), not the troubleshooting
# table's 5002 text.
TIMEOUT_CODE = 5002
TIMEOUT_DETAILS = "Message Delivery Timeout"
# How long a pushed report whose message is not waiting may wait for its submit's answer (receipts before
# responses), and how many may wait.
EARLY_REPORT_SECONDS = 120.0
EARLY_REPORTS_KEPT = 10_000


class TimeSource(Protocol):
    """Wall time and the --time-scale (smsgrid.clock.Clock; a manual clock in tests)."""

    def now(self) -> float: ...
    def scaled(self, seconds: float) -> float: ...


@dataclasses.dataclass(frozen=True, slots=True)
class _Final:
    """How one message ended: `status` None for a message the carrier took and will never report ("sent")."""

    status: str | None
    code: int | None = None
    attempts: tuple[SegmentAttempt, ...] = ()
    details: str | None = None
    reply: InboundSms | None = None


class CarrierDispatcher:
    def __init__(
        self,
        *,
        store: Store,
        carrier: Carrier,
        inbox: Inbox,
        events: EventFactory,
        publisher: EventPublisher,
        clock: TimeSource,
    ) -> None:
        self._store = store
        self._carrier = carrier
        self._inbox = inbox
        self._events = events
        self._publisher = publisher
        self._clock = clock
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._outage = OutageLog(log, "carrier", "delivery reports wait, retried every second")
        # Pushed reports not matched to a waiting job yet, by reference, with when they came (wall clock).
        self._early: dict[str, tuple[DeliveryReport, float]] = {}
        self._recheck_early = False

    # -- life cycle ------------------------------------------------------------------------------------------

    def wake(self) -> None:
        self._wakeup.set()

    async def start(self) -> None:
        await self._carrier.start(self)
        self._task = asyncio.create_task(self._run(), name="smsgrid-carrier")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._carrier.stop()

    async def _run(self) -> None:
        while True:
            try:
                if await self.run_once():
                    self._outage.recovered()
                    continue
                next_due = await self._store.next_carrier_due()
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
            delay = IDLE_POLL_SECONDS if next_due is None else max(0.0, next_due - self._clock.now())
            self._wakeup.clear()
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation (clean stop).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(delay, IDLE_POLL_SECONDS)):
                    await self._wakeup.wait()

    # -- claimed work ----------------------------------------------------------------------------------------

    async def run_once(self) -> int:
        """Claim the due work, take each job one step, commit; returns how many jobs were claimed."""
        now = self._clock.now()
        if self._recheck_early:
            await self._match_early_reports(now)
        jobs = await self._store.claim_carrier_jobs(now, CLAIM_LIMIT, now + LEASE_SECONDS)
        if not jobs:
            return 0
        steps = await asyncio.gather(*(self._step(job, now) for job in jobs))
        waiting = [(job, step) for job, step in zip(jobs, steps, strict=True) if isinstance(step, CarrierPlan)]
        finished = [step for step in steps if isinstance(step, CarrierResult)]
        if waiting:
            await self._store.update_carrier_plans([(job.message_id, plan) for job, plan in waiting])
            # A report pushed while the plan was being committed found no job waiting: it is matched now.
            for job, plan in waiting:
                early = self._early.pop(plan.reference, None) if plan.reference is not None else None
                if early is not None:
                    finished.append(self._result(dataclasses.replace(job, plan=plan), now, _reported(early[0])))
        if finished:
            await self._finish(finished, now)
        return len(jobs)

    async def _match_early_reports(self, now: float) -> None:
        self._recheck_early = False
        for reference in list(self._early):
            job = await self._store.carrier_job_by_reference(reference)
            if job is not None:
                report, _ = self._early.pop(reference)
                await self._finish([self._result(job, now, _reported(report))], now)

    async def _step(self, job: CarrierJob, now: float) -> CarrierPlan | CarrierResult | None:
        """The job's next state: a new plan to wait on, a result, or None (left to its lease: tried again)."""
        plan = job.plan
        if plan.reference is None:
            if job.opted_out:
                # An opted-out recipient is accepted at send time and fails with 4007, never sent (SPEC §2).
                return self._result(job, now, _failed(job, DeliveryStatusCode.OPTED_OUT, now))
            try:
                outcome = await self._carrier.submit(self._outbound(job))
            except Exception:
                log.exception("submitting %s failed; it is submitted again when its lease runs out", job.message_id)
                return None
            plan, final = self._submitted(job, outcome, now)
            if final is not None:
                return self._result(job, now, final)
            job = dataclasses.replace(job, plan=plan)
            assert plan.reference is not None  # accepted
            early = self._early.pop(plan.reference, None)
            if early is not None:  # the receipt came before the submit's answer
                return self._result(job, now, _reported(early[0]))
            if plan.due_at > now:
                return plan
        assert plan.reference is not None  # submitted above or before
        try:
            news = await self._carrier.poll(self._outbound(job), plan.reference, now)
        except Exception:
            log.exception("asking the carrier about %s failed; asking again shortly", job.message_id)
            return None
        return self._after_poll(job, news, now)

    def _submitted(self, job: CarrierJob, outcome: SubmitOutcome, now: float) -> tuple[CarrierPlan, _Final | None]:
        plan = job.plan
        match outcome:
            case Accepted():
                plan = dataclasses.replace(
                    plan, reference=outcome.reference, partner_message_id=outcome.partner_message_id
                )
                return dataclasses.replace(plan, due_at=self._next_look(job, outcome.news_at)), None
            case Refused():
                return plan, _failed(job, outcome.code, now, outcome.details)
            case _:
                log.warning(
                    "the carrier's answer to %s was lost (%s): failed with 9999, not submitted again",
                    job.message_id,
                    outcome.reason,
                )
                return plan, _failed(job, DeliveryStatusCode.UNKNOWN, now)

    def _after_poll(self, job: CarrierJob, news: CarrierNews, now: float) -> CarrierPlan | CarrierResult:
        if news.report is not None:
            return self._result(job, now, _reported(news.report, news.reply))
        deadline = self._deadline(job)
        if deadline is not None and now >= deadline:
            return self._result(job, now, _failed(job, TIMEOUT_CODE, now, TIMEOUT_DETAILS, reply=news.reply))
        if news.silent:
            return self._result(job, now, _Final(None, reply=news.reply))
        if news.reply is not None:
            log.warning("a reply to %s came without a final answer; carriers push replies to the sink", job.message_id)
        return dataclasses.replace(job.plan, due_at=self._next_look(job, None))

    def _next_look(self, job: CarrierJob, news_at: float | None) -> float:
        times = [t for t in (news_at, self._deadline(job)) if t is not None]
        return min(times, default=NEVER)

    def _deadline(self, job: CarrierJob) -> float | None:
        seconds = job.plan.report_timeout_seconds
        return None if seconds is None else job.created_at + self._clock.scaled(seconds)

    def _outbound(self, job: CarrierJob) -> OutboundSms:
        # The API counted the encoding when it accepted the message; counting the body again gives the same answer.
        return OutboundSms(
            message_id=job.message_id,
            from_number=job.from_number,
            to_number=job.to_number,
            body=job.body,
            encoding=str(count_segments(job.body).encoding),
            segments=job.segments,
            delivery_report=job.delivery_report,
            report_timeout_seconds=job.plan.report_timeout_seconds,
            tag=job.tag,
            created_at=job.created_at,
            partner=job.plan.partner,
        )

    # -- results ---------------------------------------------------------------------------------------------

    def _result(self, job: CarrierJob, now: float, final: _Final) -> CarrierResult:
        reply = None
        if final.reply is not None:
            reply = self._inbox.message(final.reply.from_number, final.reply.to_number, final.reply.text, now)
        if final.status is None:
            return CarrierResult(job.message_id, "sent", None, None, None, reply)
        code = final.code if final.code is not None else DeliveryStatusCode.FAILED
        event = None
        report = None
        if job.delivery_report:
            data = report_data(job, final.status, code, final.attempts, now, final.details)
            built = delivery_report_event(data, topic=self._events.topic, event_time=data.received_timestamp)
            event = self._events.new_event(built, message_id=job.message_id, published_at=now)
            report = public_report(data, job.from_number, job.plan.partner_message_id)
        return CarrierResult(job.message_id, final.status.lower(), code, report, event, reply)

    async def _finish(self, results: Sequence[CarrierResult], now: float) -> None:
        events = [r.event for r in results] + [r.reply.event for r in results if r.reply is not None]
        await self._publisher.commit(self._store.finish_carrier_jobs(results, now), events)
        self._inbox.count_received(sum(1 for r in results if r.reply is not None))

    # -- pushed news (CarrierSink) ---------------------------------------------------------------------------

    async def delivery_report(self, report: DeliveryReport) -> None:
        """A report the carrier pushed: committed before this returns (the adapter acknowledges after)."""
        job = await self._store.carrier_job_by_reference(report.reference)
        if job is None:
            # Its submit has not been answered yet (receipts before responses), or it is finished (the timeout
            # report came first: Azure sends one final report). Kept a while for the submit's answer.
            now = self._clock.now()
            for reference, (_, came_at) in list(self._early.items()):
                if came_at < now - EARLY_REPORT_SECONDS or len(self._early) >= EARLY_REPORTS_KEPT:
                    del self._early[reference]
            self._early[report.reference] = (report, now)
            self._recheck_early = True
            self.wake()
            return
        now = self._clock.now()
        await self._finish([self._result(job, now, _reported(report))], now)

    async def inbound(self, message: InboundSms) -> None:
        """A handset's SMS the carrier pushed: committed, with its event, before this returns."""
        await self._inbox.receive(message.from_number, message.to_number, message.text, message.at)


def _reported(report: DeliveryReport, reply: InboundSms | None = None) -> _Final:
    return _Final(report.status, report.code, report.attempts, report.details, reply)


def _failed(
    job: CarrierJob, code: int, now: float, details: str | None = None, reply: InboundSms | None = None
) -> _Final:
    """A failure the core reports itself (opted out, refused, lost, timed out): one attempt, nothing confirmed."""
    attempt = SegmentAttempt(at=job.created_at + max(0.0, now - job.created_at) / 2, succeeded=0, failed=job.segments)
    return _Final("Failed", code, (attempt,), details, reply)


def report_data(
    job: CarrierJob,
    status: str,
    code: int,
    attempts: Sequence[SegmentAttempt],
    now: float,
    details: str | None = None,
) -> SmsDeliveryReportReceivedData:
    """The delivery report of one message (SPEC §1)."""
    return SmsDeliveryReportReceivedData(
        message_id=job.message_id,
        from_=job.from_number.removeprefix("+"),  # a number's digits [seed]; a short code or sender ID as is
        to=job.to_number,
        delivery_status=status,
        delivery_status_details=details if details is not None else description(code),
        delivery_attempts=tuple(
            DeliveryAttempt(
                timestamp=Timestamp.from_epoch_seconds(a.at), segments_succeeded=a.succeeded, segments_failed=a.failed
            )
            for a in attempts
        ),
        received_timestamp=Timestamp.from_epoch_seconds(now),
        tag=job.tag,
    )


def public_report(
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


__all__ = ["CarrierDispatcher", "public_report", "report_data"]
