"""The delivery engine: one pump per active subscription moves its due deliveries to the endpoint.

A pump claims due work in a batch (a lease: the due time moves forward), sends it with at most
`max_concurrency_per_endpoint` requests in flight, and acknowledges the whole claim in one transaction.
Pumps are independent, so a failing or hanging endpoint only ever holds its own pump (SPEC §3).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Sequence
from typing import Any

import orjson

from smsgrid.clock import Clock
from smsgrid.config import Settings
from smsgrid.delivery.batching import plan_batches
from smsgrid.delivery.deadletter_files import blob_path, dead_letter_document, write_blob
from smsgrid.delivery.handshake import CLOUD_EVENTS_ORIGIN
from smsgrid.delivery.outcomes import classify, is_success
from smsgrid.delivery.registry import SubscriptionRegistry
from smsgrid.delivery.retry import (
    DeadLetter,
    Delivered,
    EndpointHealth,
    RetryAt,
    after_result,
    can_attempt,
    check_before_attempt,
    decide_after_attempt,
)
from smsgrid.delivery.subscription_spec import SubscriptionSpec
from smsgrid.delivery.transport import HttpTransport
from smsgrid.delivery.wire import (
    build_body,
    build_headers,
    standard_webhooks_headers,
    standard_webhooks_message_id,
)
from smsgrid.metrics import Metrics
from smsgrid.store.port import Store
from smsgrid.store.records import AttemptRecord, ClaimedDelivery, DeliveryResult

log = logging.getLogger("smsgrid.delivery")

IDLE_POLL_SECONDS = 1.0
MAX_CLAIM = 1000


class DeliveryEngine:
    def __init__(
        self,
        *,
        store: Store,
        registry: SubscriptionRegistry,
        transport: HttpTransport,
        clock: Clock,
        metrics: Metrics,
        settings: Settings,
    ) -> None:
        self.store = store
        self.registry = registry
        self.transport = transport
        self.clock = clock
        self.metrics = metrics
        self.settings = settings
        self.deadletter_root = settings.data_dir / "deadletters"
        self._pumps: dict[str, _Pump] = {}
        self._stopping: set[asyncio.Task[None]] = set()
        self._running = False

    def start(self) -> None:
        self._running = True
        self.sync()

    async def stop(self) -> None:
        self._running = False
        pumps = list(self._pumps.values())
        self._pumps.clear()
        await asyncio.gather(*(p.stop() for p in pumps), *self._stopping)

    def wake(self) -> None:
        for pump in self._pumps.values():
            pump.wakeup.set()

    def sync(self) -> None:
        """Start pumps for newly active subscriptions, update changed ones, stop removed ones."""
        if not self._running:
            return
        active = {spec.name: spec for spec in self.registry.active()}
        for name in list(self._pumps):
            if name not in active:
                pump = self._pumps.pop(name)
                # Keep a reference: the event loop holds tasks only weakly.
                task = asyncio.create_task(pump.stop())
                self._stopping.add(task)
                task.add_done_callback(self._stopping.discard)
        for name, spec in active.items():
            existing = self._pumps.get(name)
            if existing is None:
                self._pumps[name] = _Pump(self, spec)
            else:
                existing.spec = spec
                existing.wakeup.set()

    def health_of(self, name: str) -> dict[str, Any]:
        pump = self._pumps.get(name)
        health = pump.health if pump else EndpointHealth()
        now = self.clock.now()
        return {
            "consecutiveFailures": health.consecutive_failures,
            "onProbation": health.probation_until > now,
            "probationUntil": health.probation_until if health.probation_until > now else None,
        }


class _Pump:
    def __init__(self, engine: DeliveryEngine, spec: SubscriptionSpec) -> None:
        self.engine = engine
        self.spec = spec
        self.health = EndpointHealth()
        self.wakeup = asyncio.Event()
        self.wakeup.set()
        self._random = random.Random()
        self._task = asyncio.create_task(self._run(), name=f"smsgrid-pump-{spec.name}")

    async def stop(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _run(self) -> None:
        engine = self.engine
        while True:
            try:
                now = engine.clock.now()
                if not can_attempt(self.health, now):
                    # A plain sleep: new events cannot be sent before probation ends, so a wake-up must not
                    # end it early (with the wake-up event set, this loop would spin and starve the server).
                    await asyncio.sleep(max(0.0, min(self.health.probation_until - now, IDLE_POLL_SECONDS)))
                    continue
                self.wakeup.clear()
                claimed = await engine.store.claim_deliveries(
                    self.spec.name, now, self._claim_size(), now + engine.transport.timeout_seconds + 30
                )
                if claimed:
                    await self._deliver(claimed)
                    continue
                next_due = await engine.store.next_delivery_due(self.spec.name)
                await self._sleep(IDLE_POLL_SECONDS if next_due is None else next_due - engine.clock.now())
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("delivery to %s failed unexpectedly; retrying in a second", self.spec.name)
                await asyncio.sleep(1.0)

    async def _sleep(self, seconds: float) -> None:
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancellation that arrives as the
        # wake-up fires, and the pump then never stops.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(0.0, min(seconds, IDLE_POLL_SECONDS))):
                await self.wakeup.wait()

    def _claim_size(self) -> int:
        concurrency = self.engine.settings.delivery.max_concurrency_per_endpoint
        return min(MAX_CLAIM, max(256, concurrency * self.spec.destination.max_events_per_batch))

    async def _deliver(self, claimed: Sequence[ClaimedDelivery]) -> None:
        engine, spec = self.engine, self.spec
        now = engine.clock.now()
        results: list[DeliveryResult] = []
        sendable: list[ClaimedDelivery] = []
        for delivery in claimed:
            expired = check_before_attempt(
                published_at=delivery.published_at,
                now=now,
                policy=spec.retry_policy,
                time_scale=engine.clock.time_scale,
            )
            if expired is None:
                sendable.append(delivery)
            else:
                results.append(self._dead(delivery, expired.reason, None))
        by_id = {d.delivery_id: d for d in sendable}
        batches = plan_batches(
            [(d.delivery_id, len(d.item)) for d in sendable],
            spec.destination.max_events_per_batch,
            spec.destination.preferred_batch_size_in_kilobytes,
        )
        limit = asyncio.Semaphore(engine.settings.delivery.max_concurrency_per_endpoint)

        async def send(batch: list[int]) -> list[DeliveryResult]:
            async with limit:
                return await self._send_batch([by_id[i] for i in batch])

        for batch_results in await asyncio.gather(*(send(b) for b in batches)):
            results.extend(batch_results)
        await self._write_dead_letter_files(results, claimed)
        await engine.store.finish_deliveries(results, engine.clock.now())

    async def _send_batch(self, batch: list[ClaimedDelivery]) -> list[DeliveryResult]:
        engine, spec = self.engine, self.spec
        now = engine.clock.now()
        if not can_attempt(self.health, now):
            # Probation began while this claim was in flight: hand the work back untouched, no attempt counted.
            return [DeliveryResult(d.delivery_id, None, "pending", retry_at=self.health.probation_until) for d in batch]
        first = orjson.loads(batch[0].item)
        body, content_type = build_body(spec, [d.item for d in batch])
        attempt_no = batch[0].attempts + 1
        headers = build_headers(
            spec,
            first_item=first,
            delivery_count=attempt_no,
            content_type=content_type,
            origin=CLOUD_EVENTS_ORIGIN,
        )
        if spec.standard_webhooks is not None:
            message_id = standard_webhooks_message_id(spec.name, [d.event_seq for d in batch])
            headers.update(
                standard_webhooks_headers(spec.standard_webhooks, message_id=message_id, timestamp=int(now), body=body)
            )
        result = await engine.transport.request("POST", spec.destination.endpoint_url, body=body, headers=headers)
        finished = engine.clock.now()
        outcome = classify(result.status, result.error)
        success = result.error is None and is_success(result.status)
        self.health = after_result(self.health, success, finished, engine.clock.time_scale)
        engine.metrics.probation.labels(spec.name).set(1 if self.health.probation_until > finished else 0)
        engine.metrics.deliveries.labels(spec.name, str(outcome)).inc(len(batch))
        engine.metrics.attempt_duration.observe(result.duration)
        out = []
        for d in batch:
            attempt = AttemptRecord(
                attempt=d.attempts + 1,
                at=now,
                status=result.status,
                outcome=str(outcome),
                duration_ms=result.duration * 1000,
                error=result.error_text,
            )
            decision = decide_after_attempt(
                attempt=d.attempts + 1,
                status=result.status,
                outcome=outcome,
                published_at=d.published_at,
                now=finished,
                policy=spec.retry_policy,
                time_scale=engine.clock.time_scale,
                jitter=self._random.uniform(-1.0, 1.0),
            )
            if isinstance(decision, Delivered):
                engine.metrics.delivered.labels(spec.name).inc()
                engine.metrics.delivery_latency.observe(max(0.0, finished - d.published_at))
                out.append(DeliveryResult(d.delivery_id, attempt, "delivered"))
            elif isinstance(decision, RetryAt):
                out.append(DeliveryResult(d.delivery_id, attempt, "pending", retry_at=decision.at))
            else:
                out.append(self._dead(d, decision.reason, attempt))
        return out

    def _dead(self, delivery: ClaimedDelivery, reason: str, attempt: AttemptRecord | None) -> DeliveryResult:
        self.engine.metrics.dead_lettered.labels(self.spec.name, str(reason)).inc()
        return DeliveryResult(delivery.delivery_id, attempt, "deadlettered", dead_letter_reason=str(reason))

    async def _write_dead_letter_files(
        self, results: Sequence[DeliveryResult], claimed: Sequence[ClaimedDelivery]
    ) -> None:
        destination = self.spec.dead_letter_destination
        dead = [r for r in results if r.state == "deadlettered"]
        if destination is None or not dead:
            return
        by_id = {d.delivery_id: d for d in claimed}
        now = self.engine.clock.now()
        # A TTL dead letter made no new attempt: its file reports the last attempt that was made (rare; one read).
        without_attempt = [r.delivery_id for r in dead if r.attempt is None]
        earlier = await self.engine.store.last_attempts(without_attempt) if without_attempt else {}

        def write() -> None:
            for r in dead:
                d = by_id[r.delivery_id]
                last = r.attempt or earlier.get(r.delivery_id)
                document = dead_letter_document(
                    orjson.loads(d.item),
                    schema=self.spec.event_delivery_schema,
                    reason=r.dead_letter_reason or "",
                    attempts=last.attempt if last else d.attempts,
                    last_outcome=last.outcome if last else None,
                    last_status=last.status if last else None,
                    publish_time=d.published_at,
                    last_attempt_time=last.at if last else None,
                )
                path = blob_path(self.engine.deadletter_root, destination.blob_container_name, self.spec.name, now)
                write_blob(path, [document])

        await asyncio.to_thread(write)


__all__ = ["DeadLetter", "DeliveryEngine"]
