"""The dashboard's numbers, computed from the store's read models and metric samples; no I/O here.

Rates per minute come from the stored messages and events (so they are right across processes and restarts).
Webhook success and latency come from the Prometheus metrics of this process (`smsgrid.metrics`), which is where
the delivery engine records them; a `serve --no-dispatch` process has none and shows dashes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from prometheus_client import Counter, Histogram

from smsgrid.store.views import MessageView

CHART_MINUTES = 30


def per_minute(moments: Iterable[float], now: float, minutes: int = CHART_MINUTES) -> tuple[int, ...]:
    """Counts per minute over the last `minutes` minutes, oldest first; the last entry is the current minute."""
    counts = [0] * minutes
    for moment in moments:
        age = now - moment
        if age < 0:
            age = 0.0  # a writer's clock a hair ahead of ours: count it as now
        index = minutes - 1 - int(age // 60)
        if 0 <= index < minutes:
            counts[index] += 1
    return tuple(counts)


@dataclass(frozen=True, slots=True)
class Series:
    """A per-minute chart. `bars` are (x, y, height) in a 0..100 box for a plain SVG bar chart."""

    counts: tuple[int, ...]

    @property
    def total(self) -> int:
        return sum(self.counts)

    @property
    def peak(self) -> int:
        return max(self.counts, default=0)

    @property
    def last_minute(self) -> int:
        return self.counts[-1] if self.counts else 0

    @property
    def bars(self) -> list[tuple[float, float, float]]:
        n = len(self.counts)
        if n == 0:
            return []
        width = 100.0 / n
        top = max(self.peak, 1)
        out = []
        for i, count in enumerate(self.counts):
            height = 0.0 if count == 0 else max(2.0, 96.0 * count / top)
            out.append((round(i * width, 3), round(100.0 - height, 3), round(height, 3)))
        return out


def ratio(part: float, whole: float) -> float | None:
    return None if whole <= 0 else part / whole


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..1); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


def histogram_quantile(q: float, buckets: Sequence[tuple[float, float]]) -> float | None:
    """Prometheus' `histogram_quantile`: linear interpolation inside the bucket holding the q-th observation.

    `buckets` are (upper bound, cumulative count) in increasing order, ending with +Inf. None for no observations.
    """
    if not buckets:
        return None
    total = buckets[-1][1]
    if total <= 0:
        return None
    rank = q * total
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if math.isinf(bound):
                return lower_bound  # past the last finite bucket: its bound is the best we know
            if count == lower_count:
                return bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (count - lower_count)
        lower_bound, lower_count = bound, count
    return lower_bound


def histogram_buckets(histogram: Histogram) -> list[tuple[float, float]]:
    """(le, cumulative count) of an unlabelled histogram, as `histogram_quantile` takes them."""
    out = []
    for metric in histogram.collect():
        for sample in metric.samples:
            if sample.name.endswith("_bucket"):
                out.append((float(sample.labels["le"]), float(sample.value)))
    return sorted(out)


def counter_by_label(counter: Counter, label: str) -> dict[str, float]:
    """Sum a labelled counter's `_total` samples by one label."""
    out: dict[str, float] = {}
    for metric in counter.collect():
        for sample in metric.samples:
            if sample.name.endswith("_total"):
                key = sample.labels.get(label, "")
                out[key] = out.get(key, 0.0) + float(sample.value)
    return out


@dataclass(frozen=True, slots=True)
class SmsSummary:
    delivered: int
    failed: int
    in_flight: int  # accepted, the carrier has not answered yet
    no_report: int  # the carrier took it but never reported (NoReport)
    received: int
    carrier_latencies: tuple[float, ...]  # seconds from accepted to the final report

    @property
    def delivered_rate(self) -> float | None:
        return ratio(self.delivered, self.delivered + self.failed)

    @property
    def carrier_p50(self) -> float | None:
        return percentile(self.carrier_latencies, 0.5)

    @property
    def carrier_p95(self) -> float | None:
        return percentile(self.carrier_latencies, 0.95)


def sms_summary(messages: Iterable[MessageView]) -> SmsSummary:
    delivered = failed = in_flight = no_report = received = 0
    latencies = []
    for m in messages:
        status = m.status
        if m.direction == "incoming":
            received += 1
            continue
        if status == "delivered":
            delivered += 1
        elif status == "failed":
            failed += 1
        elif status == "sent":
            no_report += 1
        else:
            in_flight += 1
        if status in ("delivered", "failed"):
            latencies.append(max(0.0, m.updated_at - m.created_at))
    return SmsSummary(delivered, failed, in_flight, no_report, received, tuple(latencies))


@dataclass(frozen=True, slots=True)
class WebhookSummary:
    attempts: int
    succeeded: int
    delivered: int
    dead_lettered: int
    latency_p50: float | None  # publish → delivered, seconds
    latency_p95: float | None
    attempt_p50: float | None  # one HTTP attempt, seconds

    @property
    def success_rate(self) -> float | None:
        """Share of finished events that were delivered rather than dead-lettered."""
        return ratio(self.delivered, self.delivered + self.dead_lettered)

    @property
    def attempt_success_rate(self) -> float | None:
        return ratio(self.succeeded, self.attempts)


def webhook_summary(
    attempts_by_outcome: dict[str, float],
    delivered: float,
    dead_lettered: float,
    latency_buckets: Sequence[tuple[float, float]],
    attempt_buckets: Sequence[tuple[float, float]],
) -> WebhookSummary:
    return WebhookSummary(
        attempts=int(sum(attempts_by_outcome.values())),
        succeeded=int(attempts_by_outcome.get("Succeeded", 0)),
        delivered=int(delivered),
        dead_lettered=int(dead_lettered),
        latency_p50=histogram_quantile(0.5, latency_buckets),
        latency_p95=histogram_quantile(0.95, latency_buckets),
        attempt_p50=histogram_quantile(0.5, attempt_buckets),
    )


def format_seconds(value: float | None) -> str:
    """A latency for people: `—`, `850 µs`, `12 ms`, `1.4 s`, `3 min`."""
    if value is None:
        return "—"
    if value < 0.001:
        return f"{value * 1_000_000:.0f} µs"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 120:
        return f"{value:.1f} s"
    return f"{value / 60:.0f} min"


def format_percent(value: float | None) -> str:
    if value is None:
        return "—"
    if value >= 0.9995 or value == 0:
        return f"{value * 100:.0f}%"
    return f"{value * 100:.1f}%"
