"""ARM bodies of namespace topics and their event subscriptions (smsgrid.namespaces.spec): defaults and ranges as
ARM documents them, every problem named, ISO 8601 durations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

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
from smsgrid.settings import load_settings

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
            "properties.filtersConfiguration.filters[0].key",
            "properties.filtersConfiguration.filters[0].values",
        ]
    )


def test_event_type_filters_compare_ignoring_case() -> None:
    spec, _ = subscription({"filtersConfiguration": {"includedEventTypes": ["Microsoft.Communication.SMSReceived"]}})
    assert spec is not None
    assert spec.accepts(cloud_event("microsoft.communication.smsreceived"))
    assert not spec.accepts(cloud_event("Microsoft.Communication.SMSDeliveryReportReceived"))
    assert not spec.accepts({"id": "no type", "source": "/x"})


def cloud_event(kind: str = "Contoso.Order.Created", **data: Any) -> dict[str, Any]:
    return {"specversion": "1.0", "id": "1", "source": "/contoso/orders", "type": kind, "subject": "/orders/7",
            "data": data}  # fmt: skip


ORDER_FILTERS = [
    {"operatorType": "StringBeginsWith", "key": "subject", "values": ["/orders/"]},
    {"operatorType": "NumberGreaterThanOrEquals", "key": "data.total", "value": 100},
    {"operatorType": "StringIn", "key": "source", "values": ["/contoso/orders"]},
    {"operatorType": "IsNullOrUndefined", "key": "data.voided"},
    {"operatorType": "NumberInRange", "key": "data.items", "values": [[1, 10]]},
    {"operatorType": "BoolEquals", "key": "data.paid", "value": True},
]


def test_advanced_filters_take_arms_namespace_filter_shapes_on_cloud_event_keys() -> None:
    spec, problems = subscription({"filtersConfiguration": {"filters": ORDER_FILTERS}})
    assert problems == []
    assert spec is not None
    assert spec.accepts(cloud_event(total=250, items=3, paid=True))
    assert not spec.accepts(cloud_event(total=99, items=3, paid=True))  # NumberGreaterThanOrEquals
    assert not spec.accepts(cloud_event(total=250, items=11, paid=True))  # NumberInRange
    assert not spec.accepts(cloud_event(total=250, items=3, paid=True, voided=True))  # IsNullOrUndefined
    assert not spec.accepts({**cloud_event(total=250, items=3, paid=True), "subject": "/refunds/1"})
    assert not spec.accepts({**cloud_event(total=250, items=3, paid=True), "source": "/fabrikam"})
    # Rendered in ARM's shape, and read back the same.
    assert spec.arm("/t")["properties"]["filtersConfiguration"]["filters"] == ORDER_FILTERS
    again, problems = subscription(spec.arm("/t"))
    assert problems == []
    assert again is not None
    assert again.advanced_filters == spec.advanced_filters


def test_advanced_filters_and_event_types_are_both_required() -> None:
    spec, _ = subscription({"filtersConfiguration": {
        "includedEventTypes": ["Contoso.Order.Created"],
        "filters": [{"operatorType": "StringContains", "key": "data.note", "values": ["RUSH"]}]}})  # fmt: skip
    assert spec is not None
    assert spec.accepts(cloud_event(note="a rush order"))  # strings compare ignoring case
    assert not spec.accepts(cloud_event("Contoso.Order.Shipped", note="rush"))
    assert not spec.accepts(cloud_event(note="normal"))


def test_bad_advanced_filters_are_named() -> None:
    filters = [
        {"operatorType": "NumberIn", "key": "data.n", "values": ["five"]},
        {"operatorType": "StringRegex", "key": "data.n", "values": ["x"]},
        {"operatorType": "BoolEquals", "key": "data.ok"},
    ]
    spec, problems = subscription({"filtersConfiguration": {"filters": filters}})
    assert spec is None
    path = "properties.filtersConfiguration.filters"
    assert problems == [f"{path}[0].values[0]", f"{path}[1].operatorType", f"{path}[2].value"]


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
