"""One pump per active subscription: claim → send → acknowledge, as three overlapping stages.

- The claimer keeps a small local queue of due work filled (claims are leases: the due time moves forward).
- `max_concurrency_per_endpoint` senders each take the next batch from the front of that queue — as many as
  `maxEventsPerBatch` and the preferred size allow of what is queued, never waiting for more (SPEC §3) — and
  send it; each finished batch's results go to the acknowledger.
- The acknowledger commits whatever results have gathered in one transaction, then the next lot.

No stage waits for the slowest request of a claim, and a claim or a commit never leaves the senders idle.
Pumps are independent, so a failing or hanging endpoint only ever holds its own pump (SPEC §3).

A pump is built from `PumpDependencies` (store, transport, clock, metrics, settings), not from the engine, so a
test builds one alone; `run_once()` runs one claim → send → acknowledge cycle without the background stages.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from prometheus_client import Counter

from smsgrid.clock import Clock
from smsgrid.config import DeliverySettings, FunctionApp, StorageAccount
from smsgrid.delivery.batching import plan_batches
from smsgrid.delivery.deadletter_files import blob_name, blob_path, dead_letter_document, write_blob
from smsgrid.delivery.destinations.send import send_to_function, send_to_storage_queue
from smsgrid.delivery.destinations.storage import put_blob
from smsgrid.delivery.handshake import CLOUD_EVENTS_ORIGIN
from smsgrid.delivery.outcomes import DeliveryOutcome, classify, is_success
from smsgrid.delivery.retry import (
    Delivered,
    EndpointHealth,
    RetryAt,
    after_result,
    can_attempt,
    check_before_attempt,
    decide_after_attempt,
)
from smsgrid.delivery.subscription_spec import (
    AzureFunctionDestination,
    StorageQueueDestination,
    SubscriptionSpec,
    WebhookDestination,
    storage_account_of,
)
from smsgrid.delivery.transport import HttpResult, Transport
from smsgrid.delivery.wire import build_body, build_headers, standard_webhooks_headers, standard_webhooks_message_id
from smsgrid.errors import StoreUnavailableError
from smsgrid.metrics import Metrics
from smsgrid.store.outage_log import OutageLog
from smsgrid.store.port import Store
from smsgrid.store.records import AttemptRecord, ClaimedDelivery, DeliveryResult

log = logging.getLogger("smsgrid.delivery")

IDLE_POLL_SECONDS = 1.0
MAX_CLAIM = 1000
# Leases outlive the longest a claimed delivery can wait here plus one timed-out attempt.
LEASE_MARGIN_SECONDS = 30.0
# Acknowledgements: commit when this many results wait, or after this linger.
ACK_GROUP = 64
ACK_LINGER_SECONDS = 0.002
# How much earlier than a failed batch's retry the work handed back unsent during probation comes due.
PROBE_ORDER_SECONDS = 0.001


async def no_authorization(_spec: SubscriptionSpec) -> str | None:
    return None


@dataclass(frozen=True, slots=True)
class PumpDependencies:
    """What a pump uses, and nothing else; one set shared by every pump of an engine."""

    store: Store
    transport: Transport
    clock: Clock
    metrics: Metrics
    delivery: DeliverySettings
    # Dead-letter files go under here, unless a configured storage account takes them as blobs.
    deadletter_root: Path
    storage_accounts: Mapping[str, StorageAccount] = field(default_factory=dict)
    function_apps: Mapping[str, FunctionApp] = field(default_factory=dict)
    # The `Authorization` value for a subscription's webhook requests (an Entra bearer), or None.
    authorization: Callable[[SubscriptionSpec], Awaitable[str | None]] = no_authorization


@dataclass(frozen=True, slots=True)
class _Finished:
    delivery: ClaimedDelivery
    result: DeliveryResult


class Pump:
    def __init__(self, deps: PumpDependencies, spec: SubscriptionSpec) -> None:
        self.deps = deps
        self.spec = spec
        self.health = EndpointHealth()
        self.wakeup = asyncio.Event()
        self.wakeup.set()
        self._random = random.Random()
        self._queue: deque[ClaimedDelivery] = deque()  # claimed, not yet taken by a sender
        self._available = asyncio.Event()
        self._taken = asyncio.Event()
        self._finished: list[_Finished] = []
        self._has_finished = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._outage = OutageLog(log, f"delivery to {spec.name}", "events wait and are delivered afterwards")
        metrics = deps.metrics
        self._delivered_counter = metrics.delivered.labels(spec.name)
        self._probation_gauge = metrics.probation.labels(spec.name)
        self._on_probation = False
        self._attempt_counters: dict[DeliveryOutcome, Counter] = {}

    def start(self) -> None:
        """Run the three stages in the background until `stop()`."""
        if self._tasks:
            return
        name = self.spec.name
        concurrency = self.deps.delivery.max_concurrency_per_endpoint
        self._tasks = [
            asyncio.create_task(self._claimer(), name=f"smsgrid-claim-{name}"),
            asyncio.create_task(self._acknowledger(), name=f"smsgrid-ack-{name}"),
            *(asyncio.create_task(self._sender(), name=f"smsgrid-send-{name}") for _ in range(concurrency)),
        ]

    async def run_once(self) -> int:
        """One claim → send → acknowledge cycle over the work due now, in order, in the caller's task; how many
        deliveries it finished. For tests and tools: a started pump does the same in its background stages."""
        now = self.deps.clock.now()
        if not can_attempt(self.health, now):
            return 0
        self._enqueue(await self._claim(now, self._claim_size()))
        finished: list[_Finished] = []
        while self._queue:
            finished += await self._send_batch(self._take_batch())
        if finished:
            await self._commit(finished)
        return len(finished)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        # Results already known are committed; claimed-but-unsent work keeps its lease (released on restart).
        if self._finished:
            with contextlib.suppress(Exception):
                await self._commit(self._finished)

    # -- claiming ------------------------------------------------------------------------------------------

    def _claim_size(self) -> int:
        concurrency = self.deps.delivery.max_concurrency_per_endpoint
        return min(MAX_CLAIM, max(64, 4 * concurrency * self.spec.destination.max_events_per_batch))

    async def _claim(self, now: float, limit: int) -> list[ClaimedDelivery]:
        deps = self.deps
        lease_until = now + deps.transport.timeout_seconds + LEASE_MARGIN_SECONDS
        return await deps.store.claim_deliveries(self.spec.name, now, limit, lease_until)

    async def _claimer(self) -> None:
        deps = self.deps
        while True:
            try:
                now = deps.clock.now()
                if not can_attempt(self.health, now):
                    # A plain sleep: nothing may be sent before probation ends, so a wake-up must not end it.
                    await asyncio.sleep(max(0.0, min(self.health.probation_until - now, IDLE_POLL_SECONDS)))
                    continue
                size = self._claim_size()
                if len(self._queue) >= size // 2:
                    # Enough queued locally; claim again when the senders have taken some.
                    self._taken.clear()
                    await self._taken.wait()
                    continue
                self.wakeup.clear()
                claimed = await self._claim(now, size - len(self._queue))
                if claimed:
                    self._outage.recovered()
                    self._enqueue(claimed)
                    continue
                next_due = await deps.store.next_delivery_due(self.spec.name)
                self._outage.recovered()
                await self._sleep(IDLE_POLL_SECONDS if next_due is None else next_due - deps.clock.now())
            except asyncio.CancelledError:
                raise
            except StoreUnavailableError as exc:
                # Expected while the disk is full or the database is down: a few lines, no traceback.
                self._outage.failed(exc)
                await asyncio.sleep(1.0)
            except Exception:
                log.exception("claiming deliveries for %s failed; retrying in a second", self.spec.name)
                await asyncio.sleep(1.0)

    def _enqueue(self, claimed: Sequence[ClaimedDelivery]) -> None:
        if claimed:
            self._queue.extend(claimed)
            self._available.set()

    def _take_batch(self) -> list[ClaimedDelivery]:
        """The next batch from the front of the queue: what is there now, within the subscription's limits."""
        destination = self.spec.destination
        if destination.max_events_per_batch == 1:
            # Event Grid's default, one event per request: nothing to plan.
            batch = [self._queue.popleft()]
            if not self._queue:
                self._available.clear()
            return batch
        window = [self._queue.popleft() for _ in range(min(destination.max_events_per_batch, len(self._queue)))]
        first, *_ = plan_batches(
            [(i, len(d.item)) for i, d in enumerate(window)],
            destination.max_events_per_batch,
            destination.preferred_batch_size_in_kilobytes,
        )
        self._queue.extendleft(reversed(window[len(first) :]))
        if not self._queue:
            self._available.clear()
        return [window[i] for i in first]

    async def _sleep(self, seconds: float) -> None:
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancellation that arrives as the
        # wake-up fires, and the pump then never stops.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(0.0, min(seconds, IDLE_POLL_SECONDS))):
                await self.wakeup.wait()

    # -- sending -------------------------------------------------------------------------------------------

    async def _sender(self) -> None:
        while True:
            while not self._queue:
                await self._available.wait()
            batch = self._take_batch()
            self._taken.set()
            try:
                finished = await self._send_batch(batch)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("sending to %s failed unexpectedly; the batch is retried after its lease", self.spec.name)
                continue
            self._finished.extend(finished)
            self._has_finished.set()

    async def _send_batch(self, claimed: list[ClaimedDelivery]) -> list[_Finished]:
        deps, spec = self.deps, self.spec
        clock = deps.clock
        now = clock.now()
        out: list[_Finished] = []
        batch: list[ClaimedDelivery] = []
        for d in claimed:
            # Event Grid checks the time to live when the attempt comes due (delivery-and-retry).
            expired = check_before_attempt(
                published_at=d.published_at, now=now, policy=spec.retry_policy, time_scale=clock.time_scale
            )
            if expired is None:
                batch.append(d)
            else:
                out.append(self._dead(d, expired.reason, None))
        if not batch:
            return out
        if not can_attempt(self.health, now):
            # Probation began after this was claimed: hand the work back untouched, no attempt counted. It is
            # due just before the batch that failed, so every event gets its turn at the next probe.
            until = self.health.probation_until - PROBE_ORDER_SECONDS
            return out + [_Finished(d, DeliveryResult(d.delivery_id, None, "pending", retry_at=until)) for d in batch]
        result = await self._attempt(batch, now)
        finished = clock.now()
        outcome = classify(result.status, result.error)
        success = result.error is None and is_success(result.status)
        self.health = after_result(self.health, success, finished, clock.time_scale)
        on_probation = self.health.probation_until > finished
        if on_probation != self._on_probation:
            self._on_probation = on_probation
            self._probation_gauge.set(1 if on_probation else 0)
        metrics = deps.metrics
        counter = self._attempt_counters.get(outcome)
        if counter is None:
            counter = self._attempt_counters[outcome] = metrics.deliveries.labels(spec.name, str(outcome))
        counter.inc(len(batch))
        metrics.attempt_duration.observe(result.duration)
        outcome_name = str(outcome)
        duration_ms = result.duration * 1000
        if success:
            # The common case, kept lean: a success ends delivery whatever the attempt number.
            self._delivered_counter.inc(len(batch))
            for d in batch:
                attempt = AttemptRecord(d.attempts + 1, now, result.status, outcome_name, duration_ms, None)
                metrics.delivery_latency.observe(max(0.0, finished - d.published_at))
                out.append(_Finished(d, DeliveryResult(d.delivery_id, attempt, "delivered")))
            return out
        for d in batch:
            attempt = AttemptRecord(
                attempt=d.attempts + 1,
                at=now,
                status=result.status,
                outcome=outcome_name,
                duration_ms=duration_ms,
                error=result.error_text,
            )
            decision = decide_after_attempt(
                attempt=d.attempts + 1,
                status=result.status,
                outcome=outcome,
                published_at=d.published_at,
                now=finished,
                policy=spec.retry_policy,
                time_scale=clock.time_scale,
                jitter=self._random.uniform(-1.0, 1.0),
                azure_resource=not isinstance(spec.destination, WebhookDestination),
            )
            if isinstance(decision, Delivered):
                self._delivered_counter.inc()
                metrics.delivery_latency.observe(max(0.0, finished - d.published_at))
                out.append(_Finished(d, DeliveryResult(d.delivery_id, attempt, "delivered")))
            elif isinstance(decision, RetryAt):
                # Nothing is sent to an endpoint on probation, so a retry is never due before probation ends.
                retry_at = max(decision.at, self.health.probation_until)
                out.append(_Finished(d, DeliveryResult(d.delivery_id, attempt, "pending", retry_at=retry_at)))
            else:
                out.append(self._dead(d, decision.reason, attempt))
        return out

    async def _attempt(self, batch: list[ClaimedDelivery], now: float) -> HttpResult:
        """One request for *batch* to the subscription's destination; its answer decides what happens next."""
        deps, spec = self.deps, self.spec
        destination = spec.destination
        items = [d.item for d in batch]
        if isinstance(destination, StorageQueueDestination):
            return await send_to_storage_queue(deps.transport, spec, destination, deps.storage_accounts, items)
        if isinstance(destination, AzureFunctionDestination):
            return await send_to_function(
                deps.transport, spec, destination, deps.function_apps, items, batch[0].attempts + 1
            )
        first = orjson.loads(batch[0].item)
        body, content_type = build_body(spec, [d.item for d in batch])
        headers = build_headers(
            spec,
            first_item=first,
            delivery_count=batch[0].attempts + 1,
            content_type=content_type,
            origin=CLOUD_EVENTS_ORIGIN,
            authorization=await deps.authorization(spec),
        )
        if spec.standard_webhooks is not None:
            message_id = standard_webhooks_message_id(spec.name, [d.event_seq for d in batch])
            headers.update(
                standard_webhooks_headers(spec.standard_webhooks, message_id=message_id, timestamp=int(now), body=body)
            )
        return await deps.transport.request("POST", destination.endpoint_url, body=body, headers=headers, keep_body=0)

    def _dead(self, delivery: ClaimedDelivery, reason: str, attempt: AttemptRecord | None) -> _Finished:
        self.deps.metrics.dead_lettered.labels(self.spec.name, str(reason)).inc()
        return _Finished(
            delivery, DeliveryResult(delivery.delivery_id, attempt, "deadlettered", dead_letter_reason=str(reason))
        )

    # -- acknowledging -------------------------------------------------------------------------------------

    async def _acknowledger(self) -> None:
        while True:
            await self._has_finished.wait()
            if len(self._finished) < ACK_GROUP:
                # Let a few more results gather: one commit per handful of events costs more than the delivery.
                # Only the record of a delivery waits; the endpoint already has it (a crash re-sends, at least once).
                await asyncio.sleep(ACK_LINGER_SECONDS)
            self._has_finished.clear()
            finished, self._finished = self._finished, []
            try:
                await self._commit(finished)
            except asyncio.CancelledError:
                self._finished = finished + self._finished
                raise
            except StoreUnavailableError as exc:
                # Not committed: the leases run out and the work is delivered again (at least once).
                self._outage.failed(exc)
            except Exception:
                log.exception("recording %d delivery results for %s failed", len(finished), self.spec.name)

    async def _commit(self, finished: Sequence[_Finished]) -> None:
        deps = self.deps
        await self._write_dead_letter_files(finished)
        await deps.store.finish_deliveries([f.result for f in finished], deps.clock.now())
        if any(f.result.state == "pending" for f in finished):
            # A retry may be due before the claimer's next poll (tiny time scales): let it look again.
            self.wakeup.set()

    async def _write_dead_letter_files(self, finished: Sequence[_Finished]) -> None:
        destination = self.spec.dead_letter_destination
        dead = [f for f in finished if f.result.state == "deadlettered"]
        if destination is None or not dead:
            return
        deps = self.deps
        now = deps.clock.now()
        # A TTL dead letter made no new attempt: its file reports the last attempt that was made (rare; one read).
        without_attempt = [f.delivery.delivery_id for f in dead if f.result.attempt is None]
        earlier = await deps.store.last_attempts(without_attempt) if without_attempt else {}
        spec = self.spec
        root = deps.deadletter_root
        documents: list[dict[str, Any]] = []
        for f in dead:
            d, r = f.delivery, f.result
            last = r.attempt or earlier.get(d.delivery_id)
            documents.append(
                dead_letter_document(
                    orjson.loads(d.item),
                    schema=spec.event_delivery_schema,
                    reason=r.dead_letter_reason or "",
                    attempts=last.attempt if last else d.attempts,
                    last_outcome=last.outcome if last else None,
                    last_status=last.status if last else None,
                    publish_time=d.published_at,
                    last_attempt_time=last.at if last else None,
                )
            )
        account = deps.storage_accounts.get(storage_account_of(destination.resource_id) or "")
        if account is not None and account.blob_endpoint is not None:
            # The resourceId names a configured account: blobs there, as Event Grid writes them. Whatever the
            # account refuses is written to the files instead, so no dead letter is lost (docs/destinations.md).
            documents = await self._put_dead_letter_blobs(account, destination.blob_container_name, documents, now)
            if not documents:
                return

        def write() -> None:
            for document in documents:
                write_blob(blob_path(root, destination.blob_container_name, spec.name, now), [document])

        await asyncio.to_thread(write)

    async def _put_dead_letter_blobs(
        self, account: StorageAccount, container: str, documents: list[dict[str, Any]], now: float
    ) -> list[dict[str, Any]]:
        """Each document as its own blob; returns those that could not be stored."""
        refused: list[dict[str, Any]] = []
        for document in documents:
            name = blob_name(self.spec.name, now)
            result = await put_blob(self.deps.transport, account, container, name, orjson.dumps([document]))
            if result.error is None and is_success(result.status):
                continue
            log.warning(
                "dead letter for %s could not be written to blob container %s of %s (%s); it is written under "
                "the data dir instead",
                self.spec.name,
                container,
                account.name,
                result.error_text or f"HTTP {result.status}: {result.body[:200]!r}",
            )
            refused.append(document)
        return refused
