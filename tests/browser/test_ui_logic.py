"""The web UI's pure pieces, without a browser: dashboard numbers, threads, timeline steps, form parsing, the
live stream's change detection and the session helpers."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from prometheus_client import CollectorRegistry, Histogram

from smsgrid.delivery.subscription_spec import parse_subscription_spec
from smsgrid.events.timestamps import Timestamp
from smsgrid.store.views import MessageDetail
from smsgrid.ui import session, stats
from smsgrid.ui.conversations import conversations, thread
from smsgrid.ui.forms import FormError, number_from_path, send_request, subscription_properties
from smsgrid.ui.live import Versions
from smsgrid.ui.templating import environment, iso_time, pretty_json, pretty_phone
from smsgrid.ui.timeline import message_steps

OWNED = "+18005550100"


def message(
    message_id: str, direction: str, from_: str, to: str, created: str, status: str = "delivered", **extra: Any
) -> MessageDetail:
    """A message as the admin API writes it, read into the store's model (as the CLI reads it)."""
    return MessageDetail.model_validate(
        {
            "messageId": message_id,
            "direction": direction,
            "from": from_,
            "to": to,
            "message": f"text of {message_id}",
            "encoding": "GSM7",
            "segments": 1,
            "tag": None,
            "enableDeliveryReport": False,
            "status": status,
            "deliveryStatusCode": None,
            "deliveryReport": None,
            "createdAt": created,
            "updatedAt": created,
            "apiVersion": None,
            "sendOptions": None,
            "attachments": None,
            "events": [],
            **extra,
        }
    )


def report(*attempts: tuple[str, int, int]) -> dict[str, Any]:
    return {
        "messageId": "m",
        "from": OWNED,
        "to": "+14255550123",
        "deliveryStatus": "Delivered",
        "deliveryStatusDetails": "No error.",
        "deliveryAttempts": [
            {"timestamp": t, "segmentsSucceeded": ok, "segmentsFailed": bad} for t, ok, bad in attempts
        ],
        "receivedTimestamp": "2026-01-01T00:00:00.3Z",
        "tag": None,
    }


ITEM = {
    "id": "e",
    "topic": "/t",
    "subject": "/phonenumber/18005550100",
    "data": {},
    "eventType": "Microsoft.Communication.SMSDeliveryReportReceived",
    "dataVersion": "1.0",
    "metadataVersion": "1",
    "eventTime": "2026-01-01T00:00:00.3Z",
}


# ------------------------------------------------------------------------------------------------ stats


def test_per_minute_counts_the_last_minutes_oldest_first() -> None:
    now = 10_000.0
    counts = stats.per_minute([now, now - 5, now - 61, now - 119, now - 3600, now + 0.2], now, minutes=3)
    assert counts == (0, 2, 3)  # an hour ago is outside; a moment "in the future" counts as now


def test_series_bars_scale_to_the_peak() -> None:
    series = stats.Series((0, 2, 4))
    assert series.total == 6
    assert series.peak == 4
    assert series.last_minute == 4
    (_, _, h0), (_, y1, h1), (_, y2, h2) = series.bars
    assert h0 == 0
    assert h2 == 96.0
    assert h1 == 48.0
    assert y1 == 52.0
    assert y2 == 4.0


def test_histogram_quantile_interpolates_inside_the_bucket_like_prometheus() -> None:
    buckets = [(0.1, 0.0), (0.2, 10.0), (0.4, 20.0), (float("inf"), 20.0)]
    assert stats.histogram_quantile(0.5, buckets) == pytest.approx(0.2)
    assert stats.histogram_quantile(0.75, buckets) == pytest.approx(0.3)
    assert stats.histogram_quantile(0.5, [(0.1, 0.0), (float("inf"), 0.0)]) is None
    # Everything beyond the last finite bound: that bound is the best estimate.
    assert stats.histogram_quantile(0.9, [(1.0, 0.0), (float("inf"), 5.0)]) == 1.0


def test_histogram_buckets_reads_a_real_prometheus_histogram() -> None:
    histogram = Histogram("latency", "test", buckets=(0.01, 0.1, 1), registry=CollectorRegistry())
    for value in (0.005, 0.05, 0.05, 0.5):
        histogram.observe(value)
    buckets = stats.histogram_buckets(histogram)
    assert buckets == [(0.01, 1.0), (0.1, 3.0), (1.0, 4.0), (float("inf"), 4.0)]
    assert stats.histogram_quantile(0.5, buckets) == pytest.approx(0.01 + 0.09 * 1 / 2)


def test_sms_summary_counts_outcomes_and_carrier_latency() -> None:
    rows = [
        message("a", "outgoing", OWNED, "+1", "2026-01-01T00:00:00Z", "delivered", updatedAt="2026-01-01T00:00:01Z"),
        message("b", "outgoing", OWNED, "+2", "2026-01-01T00:00:00Z", "failed", updatedAt="2026-01-01T00:00:03Z"),
        message("c", "outgoing", OWNED, "+3", "2026-01-01T00:00:00Z", "accepted"),
        message("d", "outgoing", OWNED, "+4", "2026-01-01T00:00:00Z", "sent"),
        message("e", "incoming", "+5", OWNED, "2026-01-01T00:00:00Z", "received"),
    ]
    summary = stats.sms_summary(rows)
    assert (summary.delivered, summary.failed, summary.in_flight, summary.no_report, summary.received) == (
        1,
        1,
        1,
        1,
        1,
    )
    assert summary.delivered_rate == 0.5
    assert summary.carrier_latencies == (1.0, 3.0)
    assert summary.carrier_p50 == 1.0
    assert summary.carrier_p95 == 3.0


def test_webhook_summary_and_formatting() -> None:
    summary = stats.webhook_summary({"Succeeded": 8, "BadRequest": 2}, 8, 2, [], [])
    assert summary.attempts == 10
    assert summary.success_rate == 0.8
    assert summary.attempt_success_rate == 0.8
    assert summary.latency_p50 is None
    assert stats.format_percent(None) == "—"
    assert stats.format_percent(1.0) == "100%"
    assert stats.format_percent(2 / 3) == "66.7%"
    assert [stats.format_seconds(v) for v in (None, 0.0004, 0.012, 1.44, 300)] == [
        "—",
        "400 µs",
        "12 ms",
        "1.4 s",
        "5 min",
    ]


# ------------------------------------------------------------------------------------------ conversations


def test_conversations_group_by_the_other_party_newest_first() -> None:
    rows = [
        message("1", "outgoing", OWNED, "+14255550123", "2026-01-01T00:00:01Z"),
        message("2", "incoming", "+14255550123", OWNED, "2026-01-01T00:00:02.5Z", "received"),
        message("3", "outgoing", OWNED, "+14255550199", "2026-01-01T00:00:02Z"),
        # A whole second is written without a fraction: it must still sort after 00:00:02.5.
        message("4", "outgoing", OWNED, "+14255550199", "2026-01-01T00:00:03Z"),
    ]
    threads = conversations(OWNED, rows)
    assert [(t.counterpart, t.count, t.last.message_id) for t in threads] == [
        ("+14255550199", 2, "4"),
        ("+14255550123", 2, "2"),
    ]
    bubbles = thread(OWNED, "+14255550123", rows)
    assert [(b.message.message_id, b.mine) for b in bubbles] == [("1", True), ("2", False)]


# ------------------------------------------------------------------------------------------------ timeline


def test_timeline_of_a_delivered_message_with_its_report_event() -> None:
    found = message(
        "m",
        "outgoing",
        OWNED,
        "+14255550123",
        "2026-01-01T00:00:00Z",
        "delivered",
        segments=1,
        encoding="GSM7",
        enableDeliveryReport=True,
        deliveryStatusCode=2000,
        deliveryReport=report(("2026-01-01T00:00:00.1Z", 0, 1), ("2026-01-01T00:00:00.2Z", 1, 0)),
        events=[
            {
                "seq": 1,
                "id": "e",
                "eventType": "Microsoft.Communication.SMSDeliveryReportReceived",
                "subject": "/phonenumber/18005550100",
                "messageId": "m",
                "publishedAt": "2026-01-01T00:00:00.3Z",
                "event": ITEM,
                "deliveries": [
                    {
                        "deliveryId": 1,
                        "subscription": "app",
                        "state": "deadlettered",
                        "deliveryCount": 0,
                        "nextAttemptAt": None,
                        "publishedAt": "2026-01-01T00:00:00.3Z",
                        "finishedAt": "2026-01-01T00:00:00.4Z",
                        "attempts": [],
                    }
                ],
            }
        ],
    )
    steps = message_steps(found)
    assert [(s.title, s.state) for s in steps] == [
        ("Accepted", "done"),
        ("Carrier attempt 1", "failed"),
        ("Carrier attempt 2", "done"),
        ("Delivered", "done"),
        ("Event SMSDeliveryReportReceived", "failed"),
    ]
    assert steps[3].detail == "Carrier report: No error."
    assert steps[4].event is not None
    assert steps[1].at == Timestamp.parse("2026-01-01T00:00:00.1Z")  # the report's own timestamp, exact
    assert steps[4].at == Timestamp.parse("2026-01-01T00:00:00.3Z").epoch_seconds


def test_timeline_of_a_message_still_with_the_carrier_and_without_a_report() -> None:
    waiting = message("m", "outgoing", OWNED, "+1", "2026-01-01T00:00:00Z", "accepted", enableDeliveryReport=False)
    assert [s.state for s in message_steps(waiting)] == ["done", "waiting"]
    done = waiting.model_copy(update={"status": "delivered", "delivery_status_code": 2000})
    assert message_steps(done)[-1].title == "No delivery report event"


# ---------------------------------------------------------------------------------------------------- forms


def test_send_form_accepts_people_spelling_of_numbers_and_collects_every_problem() -> None:
    request = send_request(
        {"to": "+1 (425) 555-0123,\n14255550124", "message": "hi", "delivery_report": "on", "tag": " t "}, OWNED
    )
    assert [r.number for r in request.recipients] == ["+14255550123", "+14255550124"]
    assert request.enable_delivery_report
    assert request.tag == "t"
    assert request.from_number == OWNED
    with pytest.raises(FormError) as caught:
        send_request({"to": "12, nope", "message": "  "}, OWNED)
    assert len(caught.value.problems) == 3
    assert number_from_path(" 18005550100") == OWNED  # a '+' in a query string arrives as a space
    assert number_from_path("abc") is None


def test_subscription_form_builds_a_valid_body_and_edit_keeps_what_the_form_does_not_show() -> None:
    fields = {
        "endpoint_url": ["http://127.0.0.1:9000/events"],
        "schema": ["CloudEventSchemaV1_0"],
        "event_types": ["Microsoft.Communication.SMSReceived"],
        "max_delivery_attempts": ["5"],
        "ttl_minutes": [""],
    }
    props = subscription_properties(fields, None)
    spec = parse_subscription_spec("my-app", props)
    assert spec.retry_policy.max_delivery_attempts == 5
    assert spec.filter.included_event_types == ("Microsoft.Communication.SMSReceived",)

    stored: dict[str, Any] = {
        "destination": {
            "endpointType": "WebHook",
            "properties": {
                "endpointUrl": "http://127.0.0.1:9000/events?code=secret",
                "deliveryAttributeMappings": [
                    {"name": "x-key", "type": "Static", "properties": {"value": "s3cret", "isSecret": True}}
                ],
            },
        },
        "filter": {"advancedFilters": [{"operatorType": "StringContains", "key": "data.Message", "values": ["a"]}]},
    }
    edited = subscription_properties({"endpoint_url": [""], "max_delivery_attempts": ["3"]}, stored)
    assert edited["destination"]["properties"]["endpointUrl"] == "http://127.0.0.1:9000/events?code=secret"
    assert edited["destination"]["properties"]["deliveryAttributeMappings"][0]["properties"]["value"] == "s3cret"
    assert edited["filter"]["advancedFilters"] == stored["filter"]["advancedFilters"]
    assert edited["retryPolicy"]["maxDeliveryAttempts"] == 3
    assert "retryPolicy" not in stored  # the stored spec it started from is not changed
    parse_subscription_spec("my-app", edited)

    with pytest.raises(FormError) as caught:
        subscription_properties({"schema": ["Nope"], "max_delivery_attempts": ["x"]}, None)
    assert len(caught.value.problems) == 3  # no URL, bad schema, bad number


# ----------------------------------------------------------------------------------------------------- live


def test_versions_round_trip_and_name_what_changed() -> None:
    old = Versions("a1", "b2", "c3", "d4")
    assert Versions.decode(old.encode()) == old
    assert Versions.decode("a.b") is None
    assert Versions.decode("a.b.c.<script>") is None
    assert Versions.decode(None) is None
    assert old.changed_topics(old) == []
    assert old.changed_topics(Versions("a1", "XX", "c3", "YY")) == ["events", "subscriptions", "changed"]


# -------------------------------------------------------------------------------------------------- session


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/messages?x=1", "/messages?x=1"),
        ("//evil.test/", "/"),
        ("https://evil.test/", "/"),
        (None, "/"),
        ("/\\x", "/"),
    ],
)
def test_login_only_returns_to_paths_on_this_site(target: str | None, expected: str) -> None:
    assert session.safe_next(target) == expected


def test_templates_escape_what_they_show() -> None:
    html = environment().from_string("{{ text }}").render(text="<script>alert(1)</script>")
    assert "<script>" not in html
    assert pretty_phone("+18005550100") == "+1 800-555-0100"
    assert pretty_phone("not a number") == "not a number"


def test_templates_show_times_and_documents_as_the_admin_api_writes_them() -> None:
    found = message("m", "outgoing", OWNED, "+1", "2026-01-01T00:00:00.25Z", deliveryReport=report())
    assert iso_time(found.created_at) == "2026-01-01T00:00:00.25Z"
    assert iso_time(Timestamp.parse("2026-01-01T00:00:00.1234567Z")) == "2026-01-01T00:00:00.1234567Z"
    assert iso_time(None) is None
    assert found.delivery_report is not None
    assert orjson.loads(pretty_json(found.delivery_report)) == report()
    html = (
        environment()
        .from_string('{% import "partials/macros.html" as ui %}{{ ui.time(t) }}')
        .render(t=found.created_at)
    )
    assert 'datetime="2026-01-01T00:00:00.25Z"' in html
    assert ">00:00:00<" in html
