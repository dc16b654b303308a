"""ARM bodies of namespace topics and their event subscriptions (smsgrid.namespaces.spec): defaults and ranges as
ARM documents them, every problem named, ISO 8601 durations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgrid.config import load_settings
from smsgrid.errors import ConfigError, Problem
from smsgrid.namespaces.spec import (
    SubscriptionSpec,
    TopicSpec,
    format_duration,
    parse_config,
    parse_duration,
    parse_subscription,
    parse_topic,
)

TOPIC = TopicSpec("orders", retention_days=2)


def subscription(body: Any) -> tuple[SubscriptionSpec | None, list[str]]:
    problems: list[Problem] = []
    spec = parse_subscription(TOPIC, "workers", body, problems)
    return spec, [p.path for p in problems]


@given(st.integers(0, 7 * 86400 * 10))
def test_format_then_parse_gives_the_seconds_back(seconds: int) -> None:
    assert parse_duration(format_duration(seconds)) == seconds


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("P1D", 86400), ("PT10M", 600), ("P1DT12H", 129600), ("P1W", 604800), ("PT1.5S", 1.5), ("pt1m", 60)],
)
def test_durations_azure_writes_are_read(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "P", "PT", "P1DT", "1D", "P1Y", "P1M", "PT-1S", "P1.5D"])
def test_durations_without_a_fixed_length_or_malformed_are_refused(text: str) -> None:
    assert parse_duration(text) is None


def test_an_empty_subscription_gets_arms_defaults_and_renders_them() -> None:
    spec, problems = subscription({})
    assert problems == []
    assert spec is not None
    assert (spec.lock_seconds, spec.max_delivery_count, spec.time_to_live_seconds) == (60, 10, 2 * 86400)
    arm = spec.arm("/ns/topics/orders")
    assert arm["id"] == "/ns/topics/orders/eventSubscriptions/workers"
    assert arm["properties"]["deliveryConfiguration"] == {
        "deliveryMode": "Queue",
        "queue": {"receiveLockDurationInSeconds": 60, "maxDeliveryCount": 10, "eventTimeToLive": "P2D"},
    }


def test_the_rendered_body_parses_back_to_the_same_subscription() -> None:
    body = {
        "properties": {
            "deliveryConfiguration": {
                "deliveryMode": "Queue",
                "queue": {"receiveLockDurationInSeconds": 300, "maxDeliveryCount": 1, "eventTimeToLive": "PT1H"},
            },
            "filtersConfiguration": {"includedEventTypes": ["A.B"]},
        }
    }
    spec, _ = subscription(body)
    assert spec is not None
    again, problems = subscription(spec.arm("/t"))
    assert problems == []
    assert again == spec


def test_every_problem_of_a_subscription_is_named() -> None:
    body = {
        "deliveryConfiguration": {
            "deliveryMode": "Push",
            "queue": {"receiveLockDurationInSeconds": 30, "maxDeliveryCount": 11, "eventTimeToLive": "P3D"},
        },
        "eventDeliverySchema": "EventGridSchema",
        "filtersConfiguration": {"filters": [{"operatorType": "StringIn"}]},
        "color": "blue",
    }
    spec, problems = subscription(body)
    assert spec is None
    q = "properties.deliveryConfiguration.queue"
    assert sorted(problems) == sorted(
        [
            "properties.color",
            "properties.eventDeliverySchema",
            "properties.deliveryConfiguration.deliveryMode",
            f"{q}.receiveLockDurationInSeconds",
            f"{q}.maxDeliveryCount",
            f"{q}.eventTimeToLive",  # P3D is past the topic's 2-day retention
            "properties.filtersConfiguration.filters",
        ]
    )


def test_event_type_filters_compare_ignoring_case() -> None:
    spec, _ = subscription({"filtersConfiguration": {"includedEventTypes": ["Microsoft.Communication.SMSReceived"]}})
    assert spec is not None
    assert spec.accepts("microsoft.communication.smsreceived")
    assert not spec.accepts("Microsoft.Communication.SMSDeliveryReportReceived")
    assert not spec.accepts(None)


def test_topics_take_arms_properties_and_refuse_bad_names_and_values() -> None:
    problems: list[Problem] = []
    spec = parse_topic("sms", {"properties": {"eventRetentionInDays": 7, "routeSmsEvents": True}}, problems)
    assert spec == TopicSpec("sms", 7, route_sms_events=True)
    assert spec.arm("/ns")["properties"]["inputSchema"] == "CloudEventSchemaV1_0"
    problems = []
    assert parse_topic("x_y", {"eventRetentionInDays": 8, "inputSchema": "EventGridSchema"}, problems) is None
    assert sorted(p.path for p in problems) == ["name", "properties.eventRetentionInDays", "properties.inputSchema"]


def test_the_config_file_names_each_bad_key_and_takes_the_snake_case_switch(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text(
        "[namespace_topics.sms]\nroute_sms_events = true\n[namespace_topics.sms.subscriptions.reader]\n",
        encoding="utf-8",
    )
    settings = load_settings(good, env={})
    [(topic, [reader])] = parse_config(settings.namespace_topics, [])
    assert topic.route_sms_events
    assert reader.name == "reader"
    bad = tmp_path / "bad.toml"
    bad.write_text(
        "[namespace_topics.sms.subscriptions.reader]\ndeliveryConfiguration = { queue = { maxDeliveryCount = 50 } }\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(bad, env={})
    assert [p.path for p in caught.value.problems] == [
        "namespace_topics.sms.subscriptions.reader.properties.deliveryConfiguration.queue.maxDeliveryCount"
    ]
