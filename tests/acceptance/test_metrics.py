"""`/metrics` speaks Prometheus text and counts what happened: accepted, received, published, delivered."""

from __future__ import annotations

import time
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from smsgrid.testing import SmsgridProcess, WebhookSink
from smsgrid.testing.plugin import inbound


def samples(server: SmsgridProcess) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = httpx.get(f"{server.base_url}/metrics", timeout=10).text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_count_messages_events_and_deliveries(
    smsgrid_server: SmsgridProcess, subscribed_sink: WebhookSink, sms_client: Any
) -> None:
    [sent] = sms_client.send(from_="+18005550100", to="+14255550123", message="m", enable_delivery_report=True)
    inbound(smsgrid_server, "+14255550123", "+18005550100", "hello")
    subscribed_sink.wait_for(lambda sink: len(sink.events()) == 2)
    delivered = ("smsgrid_events_delivered_total", (("subscription", "test-sink"),))
    # The sink answers before smsgrid reads the answer and counts it: poll, bounded.
    deadline = time.monotonic() + 10
    seen = samples(smsgrid_server)
    while seen.get(delivered) != 2 and time.monotonic() < deadline:
        time.sleep(0.05)
        seen = samples(smsgrid_server)
    assert seen[("smsgrid_messages_accepted_total", ())] == 1
    assert seen[("smsgrid_messages_received_total", ())] == 1
    report = "Microsoft.Communication.SMSDeliveryReportReceived"
    received = "Microsoft.Communication.SMSReceived"
    assert seen[("smsgrid_events_published_total", (("event_type", report),))] == 1
    assert seen[("smsgrid_events_published_total", (("event_type", received),))] == 1
    assert seen[("smsgrid_events_matched_total", ())] == 2
    assert seen[delivered] == 2
    assert seen[("smsgrid_delivery_latency_seconds_count", ())] == 2
    assert ("smsgrid_delivery_queue_depth", ()) in seen
    assert sent.successful
