"""The core's side of the carrier port: hands committed messages to the carrier and commits what comes back.

Carrier work lives in the store (`carrier_jobs`, one per accepted message) and is claimed with a lease (its due
time pushed forward), so a crash replays it after a restart and two workers never take the same job. A job is:

1. due at once after the 202: an opted-out recipient fails with 4007 without reaching the carrier; any other
   message is submitted. `Accepted` is committed with the carrier's reference before anything else happens;
   `Refused` is a final failure; `Unknown` fails the message with 9999 and is never submitted again (a real SMS
   costs money and reaches a person; the operator decides). When the carrier's submits reach a network (SMPP),
   a "submitting since" mark is committed on the claimed batch's plans before `submit`: a job found marked with no
   reference was cut off by a crash mid-submit, the same unknown outcome, never submitted again. A `submit` that
   raises ("not sent") clears its mark, and the job is submitted again later.
2. then waiting: for a pushed report (`delivery_report`), or until the carrier's `news_at` (`poll`), or until the
   sender's report timeout, whichever comes first. At the timeout the application gets the report Azure generates
   (5002 "Message Delivery Timeout"): that is this module's decision, whatever the carrier does. A message taken
   as several parts (`Accepted.part_references`) waits for one final report per part; each is committed as it
   comes, and the last one makes the message's one report (see `_combined`).

Every outcome and report may carry `CarrierNote`s: they are committed in the same transaction as what carried
them (the plan, the part's report, the finish) and shown on the message's timeline.

Each finished message may cause a delivery report (only with enableDeliveryReport, SPEC §2): the
SMSDeliveryReportReceived event and what `GET /deliveryReports/{id}` shows, committed with the message's final
state in one transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Protocol

from smsgrid.carrier.port import (
    Accepted,
    Carrier,
    CarrierNews,
    CarrierNote,
    CarrierUnavailable,
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
from smsgrid.store.records import CarrierJob, CarrierPlan, CarrierResult, NoteRecord, PartReport

log = logging.getLogger("smsgrid.carrier")

CLAIM_LIMIT = 512
LEASE_SECONDS = 30.0
# A message no connection could take (CarrierUnavailable) is offered again after this long: a reconnect's first
# back-off is about a second, and each retry costs one claim for the whole queue.
UNAVAILABLE_RETRY = 2.0
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
# The DeliveryStatusDetails of a message whose submit's answer was lost (a crash mid-submit, a connection lost
# before the response): the carrier may have taken it, so it is failed with 9999 and never sent again.
UNKNOWN_OUTCOME_DETAILS = "Unknown outcome: the carrier's answer was lost; not re-sent"


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
    notes: tuple[CarrierNote, ...] = ()


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
        on_unknown_outcome: Callable[[], None] | None = None,
    ) -> None:
        self._store = store
        self._carrier = carrier
        self._on_unknown_outcome = on_unknown_outcome
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
        # A long message's part reports and its timeout take turns: two parts reported at once must not both read
        # "the other part is missing" (one process runs the carrier).
        self._part_turns: dict[str, _Turns] = {}
        # Submits whose answer was lost (failed with 9999, never re-sent); the runtime may export it.
        self.unknown_outcomes_total = 0

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
        marked: set[str] = set()
        if self._carrier.submits_reach_network:
            jobs, marked = await self._mark_submits(jobs, now)
        steps = await asyncio.gather(*(self._step(job, now, job.message_id in marked) for job in jobs))
        waiting = [(job, step) for job, step in zip(jobs, steps, strict=True) if isinstance(step, _Waiting)]
        finished = [step for step in steps if isinstance(step, CarrierResult)]
        later: list[tuple[CarrierJob, DeliveryReport]] = []
        if waiting:
            await self._store.update_carrier_plans(
                [(job.message_id, step.plan) for job, step in waiting],
                [(job.message_id, _note_record(n)) for job, step in waiting for n in step.notes],
            )
            # A report pushed while the plan was being committed found no job waiting: it is matched now.
            for job, step in waiting:
                plan = step.plan
                accepted = dataclasses.replace(job, plan=plan)
                if plan.part_references:
                    # Part reports go one by one through the store (`_take_report` reads the parts again).
                    later.extend((accepted, e[0]) for r in plan.part_references if (e := self._early.pop(r, None)))
                    continue
                early = self._early.pop(plan.reference, None) if plan.reference is not None else None
                if early is not None:
                    finished.append(self._result(accepted, now, _reported(early[0])))
        if finished:
            await self._finish(finished, now)
        for job, report in later:
            await self._take_report(job, report)
        return len(jobs)

    async def _mark_submits(self, jobs: list[CarrierJob], now: float) -> tuple[list[CarrierJob], set[str]]:
        """Commit "submitting since now" on the plans of the jobs about to be submitted, in one transaction.

        The mark keeps the lease (due_at) so no other claim takes the job while `submit` runs; after a crash the
        job comes back with the mark and no reference: an unknown outcome (`_step`)."""
        marks = {
            job.message_id: dataclasses.replace(job.plan, submitting_since=now, due_at=now + LEASE_SECONDS)
            for job in jobs
            if job.plan.reference is None and job.plan.submitting_since is None and not job.opted_out
        }
        if not marks:
            return jobs, set()
        await self._store.update_carrier_plans(list(marks.items()))
        marked = [
            dataclasses.replace(job, plan=marks[job.message_id]) if job.message_id in marks else job for job in jobs
        ]
        return marked, set(marks)

    async def _match_early_reports(self, now: float) -> None:
        self._recheck_early = False
        for reference in list(self._early):
            job = await self._store.carrier_job_by_reference(reference)
            if job is not None:
                report, _ = self._early.pop(reference)
                await self._take_report(job, report)

    async def _step(self, job: CarrierJob, now: float, marked: bool = False) -> _Waiting | CarrierResult | None:
        """The job's next state: a new plan to wait on, a result, or None (left to its lease: tried again).

        `marked`: this claim committed the job's submit mark; a mark found otherwise is a crash's."""
        plan = job.plan
        if plan.reference is None:
            if job.opted_out:
                # An opted-out recipient is accepted at send time and fails with 4007, never sent (SPEC §2).
                return self._result(job, now, _failed(job, DeliveryStatusCode.OPTED_OUT, now))
            if plan.submitting_since is not None and not marked:
                return self._result(job, now, self._unknown(job, now, "cut off mid-submit (a crash or a restart)"))
            try:
                outcome = await self._carrier.submit(self._outbound(job))
            except CarrierUnavailable as exc:
                # Nothing can take it now (no connection up): not sent, queued, tried again soon.
                log.warning("message %s not sent, tried again in %.0f s: %s", job.message_id, UNAVAILABLE_RETRY, exc)
                return _Waiting(dataclasses.replace(plan, submitting_since=None, due_at=now + UNAVAILABLE_RETRY))
            except Exception:
                if not marked:
                    log.exception("submitting %s failed; it is submitted again when its lease runs out", job.message_id)
                    return None
                # Not sent: the mark goes, or the next claim would take it for a crash mid-submit.
                log.exception("submitting %s failed; it is submitted again in %.0f s", job.message_id, LEASE_SECONDS)
                return _Waiting(dataclasses.replace(plan, submitting_since=None, due_at=now + LEASE_SECONDS))
            waiting = self._submitted(job, outcome, now)
            if isinstance(waiting, _Final):
                return self._result(job, now, waiting)
            plan = waiting.plan
            job = dataclasses.replace(job, plan=plan)
            assert plan.reference is not None  # accepted
            early = None if plan.part_references else self._early.pop(plan.reference, None)
            if early is not None:  # the receipt came before the submit's answer
                return self._result(job, now, _reported(early[0]), waiting.notes)
            if plan.due_at > now:
                return waiting
            # Due at once (news_at already passed): asked below; the acceptance's notes go with what that decides.
            news = await self._poll(job, now)
            if news is None:
                # Left to the lease. A submit that reached a network keeps its reference (committed now): sending
                # it again is not an option.
                keep = marked or waiting.notes
                return _Waiting(dataclasses.replace(plan, due_at=now + LEASE_SECONDS), waiting.notes) if keep else None
            step = self._after_poll(job, news, now)
            if isinstance(step, _Waiting):
                return _Waiting(step.plan, waiting.notes)
            return dataclasses.replace(step, notes=tuple(_note_record(n) for n in waiting.notes) + step.notes)
        news = await self._poll(job, now)
        if news is None:
            return None
        if plan.part_references and news.report is None and self._timed_out(job, now):
            await self._time_out_parts(job, now, news.reply)
            return None  # finished (or finished meanwhile by its last part's report)
        return self._after_poll(job, news, now)

    async def _poll(self, job: CarrierJob, now: float) -> CarrierNews | None:
        """The carrier's news, or None when asking failed (left to the lease: asked again)."""
        assert job.plan.reference is not None  # submitted
        try:
            return await self._carrier.poll(self._outbound(job), job.plan.reference, now)
        except Exception:
            log.exception("asking the carrier about %s failed; asking again shortly", job.message_id)
            return None

    def _submitted(self, job: CarrierJob, outcome: SubmitOutcome, now: float) -> _Waiting | _Final:
        """The carrier's answer: the accepted plan to wait on (the mark cleared), or how the message ended."""
        match outcome:
            case Accepted():
                plan = dataclasses.replace(
                    job.plan,
                    due_at=self._next_look(job, outcome.news_at),
                    reference=outcome.reference,
                    partner_message_id=outcome.partner_message_id,
                    # One part is the single-reference case: it stays exactly that.
                    part_references=outcome.part_references if len(outcome.part_references) > 1 else (),
                    submitting_since=None,
                )
                return _Waiting(plan, outcome.notes)
            case Refused():
                return _failed(job, outcome.code, now, outcome.details, notes=outcome.notes)
            case _:
                return dataclasses.replace(self._unknown(job, now, outcome.reason), notes=outcome.notes)

    def _unknown(self, job: CarrierJob, now: float, reason: str) -> _Final:
        """A submit whose answer was lost: failed with 9999 and never sent again (the carrier may have taken it)."""
        self.unknown_outcomes_total += 1
        if self._on_unknown_outcome is not None:
            self._on_unknown_outcome()
        log.warning(
            "unknown outcome for message %s (%s): the carrier may have taken it; failed with 9999, not submitted again",
            job.message_id,
            reason,
        )
        return _failed(job, DeliveryStatusCode.UNKNOWN, now, UNKNOWN_OUTCOME_DETAILS)

    def _after_poll(self, job: CarrierJob, news: CarrierNews, now: float) -> _Waiting | CarrierResult:
        if news.report is not None:
            return self._result(job, now, _reported(news.report, news.reply))
        if self._timed_out(job, now):
            return self._result(job, now, _failed(job, TIMEOUT_CODE, now, TIMEOUT_DETAILS, reply=news.reply))
        if news.silent:
            return self._result(job, now, _Final(None, reply=news.reply))
        if news.reply is not None:
            log.warning("a reply to %s came without a final answer; carriers push replies to the sink", job.message_id)
        return _Waiting(dataclasses.replace(job.plan, due_at=self._next_look(job, None)))

    def _timed_out(self, job: CarrierJob, now: float) -> bool:
        deadline = self._deadline(job)
        return deadline is not None and now >= deadline

    async def _time_out_parts(self, job: CarrierJob, now: float, reply: InboundSms | None) -> None:
        """The timeout report of a long message, in turn with its part reports: the parts' words read again, so
        one committed since the claim is counted."""
        async with self._turn(job.message_id):
            assert job.plan.reference is not None  # submitted
            fresh = await self._store.carrier_job_by_reference(job.plan.reference)
            if fresh is not None:
                await self._finish([self._result(fresh, now, _parts_timed_out(fresh, now, reply))], now)

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

    def _result(
        self, job: CarrierJob, now: float, final: _Final, earlier_notes: tuple[CarrierNote, ...] = ()
    ) -> CarrierResult:
        notes = tuple(_note_record(n) for n in (*earlier_notes, *final.notes))
        reply = None
        if final.reply is not None:
            reply = self._inbox.message(final.reply.from_number, final.reply.to_number, final.reply.text, now)
        if final.status is None:
            return CarrierResult(job.message_id, "sent", None, None, None, reply, notes)
        code = final.code if final.code is not None else DeliveryStatusCode.FAILED
        event = None
        report = None
        if job.delivery_report:
            data = report_data(job, final.status, code, final.attempts, now, final.details)
            built = delivery_report_event(data, topic=self._events.topic, event_time=data.received_timestamp)
            event = self._events.new_event(built, message_id=job.message_id, published_at=now)
            report = public_report(data, job.from_number, job.plan.partner_message_id)
        return CarrierResult(job.message_id, final.status.lower(), code, report, event, reply, notes)

    async def _finish(self, results: Sequence[CarrierResult], now: float) -> None:
        events = [r.event for r in results] + [r.reply.event for r in results if r.reply is not None]
        await self._publisher.commit(self._store.finish_carrier_jobs(results, now), events)
        self._inbox.count_received(sum(1 for r in results if r.reply is not None))

    # -- pushed news (CarrierSink) ---------------------------------------------------------------------------

    async def delivery_report(self, report: DeliveryReport) -> None:
        """A report the carrier pushed: committed before this returns (the adapter acknowledges after)."""
        job = await self._store.carrier_job_by_reference(report.reference)
        for form in report.reference_forms:
            if job is not None:
                break
            job = await self._store.carrier_job_by_reference(form)
            if job is not None:  # the report goes on under the reference the job knows
                report = dataclasses.replace(report, reference=form, reference_forms=())
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
        await self._take_report(job, report)

    async def _take_report(self, job: CarrierJob, report: DeliveryReport) -> None:
        """Commit a report for waiting work: the message's, or one part's of a long message."""
        if not job.plan.part_references:
            now = self._clock.now()
            await self._finish([self._result(job, now, _reported(report))], now)
            return
        async with self._turn(job.message_id):
            # Read again in turn: another part's report may have been committed meanwhile.
            fresh = await self._store.carrier_job_by_reference(report.reference)
            if fresh is not None:
                await self._take_part_report(fresh, report)

    @contextlib.asynccontextmanager
    async def _turn(self, message_id: str) -> AsyncIterator[None]:
        """One long message's part reports and timeout, one at a time (one process runs the carrier)."""
        turn = self._part_turns.setdefault(message_id, _Turns())
        turn.users += 1
        try:
            async with turn.lock:
                yield
        finally:
            turn.users -= 1
            if turn.users == 0:
                del self._part_turns[message_id]

    async def _take_part_report(self, job: CarrierJob, report: DeliveryReport) -> None:
        if report.reference not in job.plan.part_references or len(job.parts) != len(job.plan.part_references):
            log.warning("a part report %r does not match the parts of %s; ignored", report.reference, job.message_id)
            return
        index = job.plan.part_references.index(report.reference)
        if job.parts[index] is not None:
            log.info("a second report for part %d of %s ignored", index + 1, job.message_id)
            return
        part = _part_report(report)
        parts = (*job.parts[:index], part, *job.parts[index + 1 :])
        now = self._clock.now()
        if all(p is not None for p in parts):
            # The last part's word makes the message's one report, committed with the finish (its own part's
            # row goes with the job).
            final = _combined([p for p in parts if p is not None], report.notes)
            await self._finish([self._result(job, now, final)], now)
            return
        notes = [_note_record(n) for n in report.notes]
        await self._store.record_carrier_part(job.message_id, report.reference, part, notes)

    async def inbound(self, message: InboundSms) -> None:
        """A handset's SMS the carrier pushed: committed, with its event, before this returns."""
        if message.from_kept_as_received:
            # Not provably E.164: passed on exactly as the network gave it, never rewritten into another number.
            log.warning(
                "an SMS to %s came from %r, which cannot be proven E.164; kept as received",
                message.to_number,
                message.from_number,
            )
        # The parts it came in are its SegmentCount (a sender may split differently from how the text counts).
        await self._inbox.receive(message.from_number, message.to_number, message.text, message.at, message.segments)


@dataclasses.dataclass(slots=True)
class _Turns:
    """One message's part reports take turns; `users` counts the holder and the waiters (gone at zero)."""

    lock: asyncio.Lock = dataclasses.field(default_factory=asyncio.Lock)
    users: int = 0


@dataclasses.dataclass(frozen=True, slots=True)
class _Waiting:
    """A job that keeps waiting: its new plan, and the notes to commit with it."""

    plan: CarrierPlan
    notes: tuple[CarrierNote, ...] = ()


def _note_record(note: CarrierNote) -> NoteRecord:
    return NoteRecord(note.at, note.text)


def _part_report(report: DeliveryReport) -> PartReport:
    """One part's word: its last attempt's segment counts (a part is one segment when the carrier gives none)."""
    if report.attempts:
        last = report.attempts[-1]
        succeeded, failed, at = last.succeeded, last.failed, last.at
    else:
        delivered = report.status == "Delivered"
        succeeded, failed, at = int(delivered), int(not delivered), report.at
    return PartReport(report.status, report.code, succeeded, failed, at, report.details)


def _combined(parts: Sequence[PartReport], notes: tuple[CarrierNote, ...] = ()) -> _Final:
    """A long message's one report from its parts' final words: Delivered only if every part was; else Failed
    with the first failing part's code and details. One attempt, at the latest part's time, summing the parts."""
    attempt = SegmentAttempt(
        at=max(p.at for p in parts), succeeded=sum(p.succeeded for p in parts), failed=sum(p.failed for p in parts)
    )
    failing = next((p for p in parts if p.status != "Delivered"), None)
    if failing is None:
        return _Final("Delivered", DeliveryStatusCode.DELIVERED, (attempt,), notes=notes)
    return _Final("Failed", failing.code, (attempt,), failing.details, notes=notes)


def _parts_timed_out(job: CarrierJob, now: float, reply: InboundSms | None) -> _Final:
    """The timeout report of a long message some of whose parts never reported: the parts that did count as
    they said, the rest as failed."""
    reported = [p for p in job.parts if p is not None]
    missing = len(job.plan.part_references) - len(reported)
    attempt = SegmentAttempt(
        at=job.created_at + max(0.0, now - job.created_at) / 2,
        succeeded=sum(p.succeeded for p in reported),
        failed=sum(p.failed for p in reported) + missing,
    )
    return _Final("Failed", TIMEOUT_CODE, (attempt,), TIMEOUT_DETAILS, reply)


def _reported(report: DeliveryReport, reply: InboundSms | None = None) -> _Final:
    return _Final(report.status, report.code, report.attempts, report.details, reply, report.notes)


def _failed(
    job: CarrierJob,
    code: int,
    now: float,
    details: str | None = None,
    reply: InboundSms | None = None,
    notes: tuple[CarrierNote, ...] = (),
) -> _Final:
    """A failure the core reports itself (opted out, refused, lost, timed out): one attempt, nothing confirmed."""
    attempt = SegmentAttempt(at=job.created_at + max(0.0, now - job.created_at) / 2, succeeded=0, failed=job.segments)
    return _Final("Failed", code, (attempt,), details, reply, notes)


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
