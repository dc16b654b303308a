"""Prometheus metrics, one registry per runtime (no module globals: tests run many servers in one process)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from smsgrid.events.models import SMS_DELIVERY_REPORT_RECEIVED, SMS_RECEIVED
from smsgrid.store.records import NewEvent

# `/metrics` is public and every label value is a new series kept for the process's life, so no label may be
# chosen by a caller: a custom-topic publisher picks its event types freely (one 1 MB publish made 5,000
# series). Event types are counted by name only when smsgrid itself emits them; every other type is "other".
# The other labels are bounded already: subscription names (created by key holders), and outcomes and
# dead-letter reasons (the enums of delivery/outcomes.py).
KNOWN_EVENT_TYPES = frozenset({SMS_RECEIVED, SMS_DELIVERY_REPORT_RECEIVED})
OTHER_EVENT_TYPE = "other"
EXPOSITION_CONTENT_TYPE = CONTENT_TYPE_LATEST


def event_type_label(event_type: str) -> str:
    return event_type if event_type in KNOWN_EVENT_TYPES else OTHER_EVENT_TYPE


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.messages_accepted = Counter("smsgrid_messages_accepted", "Outgoing messages accepted", registry=r)
        self.messages_received = Counter("smsgrid_messages_received", "Inbound messages received", registry=r)
        self.requests_throttled = Counter(
            "smsgrid_send_requests_throttled", "Send requests answered 429 (ACS send-rate limits)", registry=r
        )
        self.events_published = Counter(
            "smsgrid_events_published", "Events committed to the outbox", ["event_type"], registry=r
        )
        self.events_matched = Counter(
            "smsgrid_events_matched", "Deliveries created (event × matching subscription)", registry=r
        )
        self.deliveries = Counter(
            "smsgrid_delivery_attempts",
            "Delivery attempts by outcome",
            ["subscription", "outcome"],
            registry=r,
        )
        self.delivered = Counter("smsgrid_events_delivered", "Events delivered", ["subscription"], registry=r)
        self.dead_lettered = Counter(
            "smsgrid_events_dead_lettered", "Events dead-lettered", ["subscription", "reason"], registry=r
        )
        self.delivery_latency = Histogram(
            "smsgrid_delivery_latency_seconds",
            "From publish to successful delivery",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
            registry=r,
        )
        self.attempt_duration = Histogram(
            "smsgrid_delivery_attempt_duration_seconds",
            "HTTP time of one delivery attempt",
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 30),
            registry=r,
        )
        self.queue_depth = Gauge("smsgrid_delivery_queue_depth", "Pending deliveries", registry=r)
        self.probation = Gauge(
            "smsgrid_subscription_on_probation",
            "1 while an endpoint is on probation",
            ["subscription"],
            registry=r,
        )

    def record_published(self, events: Iterable[NewEvent | None]) -> None:
        """Count events once their transaction committed (callers call this after the store returned)."""
        for event in events:
            if event is not None:
                self.events_published.labels(event_type_label(event.event_type)).inc()
                self.events_matched.inc(len(event.subscriptions))


async def exposition(metrics: Metrics, pending_deliveries: int) -> bytes:
    """The Prometheus text of `/metrics`; the queue depth is read from the store at scrape time, not counted."""
    metrics.queue_depth.set(pending_deliveries)
    # Off the event loop: rendering every series of a busy process takes milliseconds.
    return await asyncio.to_thread(generate_latest, metrics.registry)
