"""Prometheus metrics, one registry per runtime (no module globals: tests run many servers in one process)."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from smsgrid.carrier.port import ConnectionStatus
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


CarrierLinks = Callable[[], tuple[ConnectionStatus, ...]]
CARRIER_LABELS = ("connection", "kind")

# (name, help, value) of each per-connection series; counters get `_total` from the exposition.
_CONNECTION_GAUGES: tuple[tuple[str, str, Callable[[ConnectionStatus], float]], ...] = (
    ("smsgrid_carrier_connection_up", "1 while the connection is bound", lambda c: float(c.state == "bound")),
    ("smsgrid_carrier_connection_sending", "1 while a message can be submitted on it", lambda c: float(c.sending)),
    ("smsgrid_carrier_connection_receiving", "1 while receipts and MOs can arrive on it", lambda c: float(c.receiving)),
    ("smsgrid_carrier_connection_window_in_use", "submit_sm awaiting their response", lambda c: c.window_in_use),
    ("smsgrid_carrier_connection_window_size", "At most this many submit_sm outstanding", lambda c: c.window_size),
    (
        "smsgrid_carrier_connection_tps_limit",
        "submit_sm/s allowed now (lowered while throttled)",
        lambda c: c.tps_limit,
    ),
    ("smsgrid_carrier_connection_tps_configured", "submit_sm/s configured (tps)", lambda c: c.tps_configured),
)
_CONNECTION_COUNTERS: tuple[tuple[str, str, Callable[[ConnectionStatus], float]], ...] = (
    ("smsgrid_carrier_connection_submitted", "submit_sm sent (parts)", lambda c: c.submitted_total),
    ("smsgrid_carrier_connection_throttled", "ESME_RTHROTTLED / ESME_RMSGQFUL answers", lambda c: c.throttled_total),
    (
        "smsgrid_carrier_connection_unknown_outcomes",
        "Submits whose answer was lost (never re-sent)",
        lambda c: c.unknown_outcomes_total,
    ),
    ("smsgrid_carrier_connection_receipts", "Delivery receipts received", lambda c: c.receipts_total),
    ("smsgrid_carrier_connection_inbound", "Handsets' messages received", lambda c: c.inbound_total),
    ("smsgrid_carrier_connection_reconnects", "Connections made again after a loss", lambda c: c.reconnects_total),
)


class CarrierCollector(Collector):
    """Each carrier connection's state, read from `Carrier.connections()` when `/metrics` is scraped (nothing is
    pushed). `hold` takes that reading on the event loop, so the rendering thread never calls into the adapter."""

    def __init__(self, connections: CarrierLinks) -> None:
        self._connections = connections
        self._held: tuple[ConnectionStatus, ...] | None = None

    def hold(self) -> None:
        self._held = self._connections()

    def collect(self) -> Iterator[Metric]:
        links = self._held if self._held is not None else self._connections()
        for name, text, value in _CONNECTION_GAUGES:
            gauge = GaugeMetricFamily(name, text, labels=CARRIER_LABELS)
            for link in links:
                gauge.add_metric((link.name, link.kind), float(value(link)))
            yield gauge
        for name, text, value in _CONNECTION_COUNTERS:
            counter = CounterMetricFamily(name, text, labels=CARRIER_LABELS)
            for link in links:
                counter.add_metric((link.name, link.kind), float(value(link)))
            yield counter


# Four samples a second: one timer callback each, far below a request's cost, yet a stall of a few hundred
# milliseconds cannot fall between two samples unseen (a sample that starts during it is late by the rest of it).
LAG_SAMPLE_SECONDS = 0.25
LAG_WINDOW_SECONDS = 10.0


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    carrier: CarrierCollector | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        r = self.registry
        self.messages_accepted = Counter("smsgrid_messages_accepted", "Outgoing messages accepted", registry=r)
        self.messages_received = Counter("smsgrid_messages_received", "Inbound messages received", registry=r)
        self.carrier_unknown_outcomes = Counter(
            "smsgrid_carrier_unknown_outcomes",
            "Messages whose submit answer was lost or cut off by a crash: failed with 9999, never re-sent",
            registry=r,
        )
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
        self.event_loop_lag = Histogram(
            "smsgrid_event_loop_lag_seconds",
            f"How late a callback scheduled every {LAG_SAMPLE_SECONDS} s ran (the event loop was busy that long)",
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
            registry=r,
        )
        self.event_loop_lag_max = Gauge(
            "smsgrid_event_loop_lag_max_seconds",
            f"The largest event-loop lag sampled in the last {LAG_WINDOW_SECONDS:.0f} s",
            registry=r,
        )

    def watch_carrier(self, connections: CarrierLinks) -> None:
        """Export the carrier's connections (the process that runs the carrier; once)."""
        if self.carrier is None:
            self.carrier = CarrierCollector(connections)
            self.registry.register(self.carrier)

    def record_published(self, events: Iterable[NewEvent | None]) -> None:
        """Count events once their transaction committed (callers call this after the store returned)."""
        for event in events:
            if event is not None:
                self.events_published.labels(event_type_label(event.event_type)).inc()
                self.events_matched.inc(len(event.subscriptions))


class LagWindow:
    """The largest lag of the samples taken in the last `window` seconds (pure: times are passed in)."""

    def __init__(self, window: float = LAG_WINDOW_SECONDS) -> None:
        self._window = window
        self._samples: deque[tuple[float, float]] = deque()  # (taken at, lag), oldest first

    def add(self, at: float, lag: float) -> float:
        """Record a sample and return the window's maximum, samples older than the window dropped."""
        samples = self._samples
        samples.append((at, lag))
        while samples[0][0] < at - self._window:
            samples.popleft()
        return max(value for _, value in samples)


async def watch_event_loop(
    metrics: Metrics,
    *,
    now: Callable[[], float],
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    interval: float = LAG_SAMPLE_SECONDS,
) -> None:
    """Measures, until cancelled, how late a sleep of `interval` wakes up: time the loop spent on other work
    past that moment, i.e. what any callback (a request, a delivery answer) waited at that moment.
    `now` is a monotonic clock in seconds, finer than the lags it measures."""
    window = LagWindow()
    while True:
        due = now() + interval
        await sleep(interval)
        woke = now()
        lag = max(0.0, woke - due)
        metrics.event_loop_lag.observe(lag)
        metrics.event_loop_lag_max.set(window.add(woke, lag))


async def exposition(metrics: Metrics, pending_deliveries: int) -> bytes:
    """The Prometheus text of `/metrics`; the queue depth is read from the store at scrape time, not counted."""
    metrics.queue_depth.set(pending_deliveries)
    if metrics.carrier is not None:
        metrics.carrier.hold()
    # Off the event loop: rendering every series of a busy process takes milliseconds.
    return await asyncio.to_thread(generate_latest, metrics.registry)
