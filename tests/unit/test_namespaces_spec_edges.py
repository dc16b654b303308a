"""The less-travelled refusals of namespace topic and event subscription bodies (smsgrid.namespaces.spec): bodies
that are not objects, a wrong schema or publisher, the config file's non-table entries; each problem named."""

from __future__ import annotations

from typing import Any

import pytest

from smsgrid.errors import Problem
from smsgrid.namespaces.spec import SubscriptionSpec, TopicSpec, parse_config, parse_subscription, parse_topic

TOPIC = TopicSpec("orders", retention_days=2)


def topic_problems(body: Any, name: str = "orders") -> tuple[TopicSpec | None, list[Problem]]:
    problems: list[Problem] = []
    return parse_topic(name, body, problems), problems


def subscription_problems(body: Any) -> tuple[SubscriptionSpec | None, list[Problem]]:
    problems: list[Problem] = []
    return parse_subscription(TOPIC, "workers", body, problems), problems


@pytest.mark.parametrize("body", [[], "text", 3, None])
def test_a_body_that_is_not_an_object_is_refused_as_a_whole(body: Any) -> None:
    spec, problems = topic_problems(body)
    assert spec is None
    assert problems == [Problem("", "the body must be a JSON object (the ARM resource or its properties)")]


def test_properties_that_are_not_an_object_are_named() -> None:
    spec, problems = topic_problems({"properties": ["eventRetentionInDays"]})
    assert spec is None
    assert problems == [Problem("properties", "must be an object")]
    sub, sub_problems = subscription_problems({"properties": "Queue"})
    assert sub is None
    assert sub_problems == [Problem("properties", "must be an object")]


def test_a_topic_takes_only_the_cloud_events_schema_a_custom_publisher_and_a_boolean_switch() -> None:
    spec, problems = topic_problems(
        {"properties": {"inputSchema": "EventGridSchema", "publisherType": "Partner", "routeSmsEvents": "yes"}}
    )
    assert spec is None
    assert problems == [
        Problem("properties.inputSchema", "must be 'CloudEventSchemaV1_0' (the only namespace schema)"),
        Problem("properties.publisherType", "must be 'Custom'"),
        Problem("properties.routeSmsEvents", "must be true or false"),
    ]


def test_a_subscription_refuses_another_delivery_schema_and_non_object_parts() -> None:
    sub, problems = subscription_problems(
        {
            "properties": {
                "eventDeliverySchema": "EventGridSchema",
                "deliveryConfiguration": "Queue",
                "filtersConfiguration": ["Contoso.Order.Created"],
            }
        }
    )
    assert sub is None
    assert problems == [
        Problem("properties.eventDeliverySchema", "must be 'CloudEventSchemaV1_0'"),
        Problem("properties.deliveryConfiguration", "must be an object"),
        Problem("properties.filtersConfiguration", "must be an object"),
    ]


def test_a_queue_and_a_dead_letter_destination_must_be_objects() -> None:
    sub, problems = subscription_problems({"properties": {"deliveryConfiguration": {"queue": 60}}})
    assert sub is None
    assert problems == [Problem("properties.deliveryConfiguration.queue", "must be an object")]
    dead_letter = {"deliveryConfiguration": {"queue": {"deadLetterDestinationWithResourceIdentity": "blob"}}}
    sub, problems = subscription_problems({"properties": dead_letter})
    assert sub is None
    assert problems == [
        Problem("properties.deliveryConfiguration.queue.deadLetterDestinationWithResourceIdentity", "must be an object")
    ]


@pytest.mark.parametrize("ttl", [3600, "one day", "PT"])
def test_a_time_to_live_that_is_not_a_duration_is_quoted_back(ttl: object) -> None:
    sub, problems = subscription_problems({"deliveryConfiguration": {"queue": {"eventTimeToLive": ttl}}})
    assert sub is None
    assert problems == [
        Problem(
            "properties.deliveryConfiguration.queue.eventTimeToLive", f"{ttl!r} is not an ISO 8601 duration such as P1D"
        )
    ]


def test_a_dead_letter_destination_is_kept_and_echoed() -> None:
    destination = {"endpointType": "StorageBlob", "properties": {"blobContainerName": "dead"}}
    sub, problems = subscription_problems(
        {"deliveryConfiguration": {"queue": {"deadLetterDestinationWithResourceIdentity": destination}}}
    )
    assert problems == []
    assert sub is not None
    assert sub.dead_letter == destination
    queue = sub.arm("/t")["properties"]["deliveryConfiguration"]["queue"]
    assert queue["deadLetterDestinationWithResourceIdentity"] == destination


def test_config_entries_that_are_not_tables_are_named_and_the_rest_still_load() -> None:
    problems: list[Problem] = []
    found = parse_config(
        {"plain": "orders", "orders": {"subscriptions": ["workers"]}, "bad-topic": {"retention": 1}},
        problems,
    )
    assert problems == [
        Problem("namespace_topics.plain", "must be a table"),
        Problem(
            "namespace_topics.orders.subscriptions", "must be a table of [namespace_topics.NAME.subscriptions.SUB]"
        ),
        Problem(
            "namespace_topics.bad-topic.properties.retention",
            "unknown property; expected eventRetentionInDays, inputSchema, provisioningState, publisherType, "
            "routeSmsEvents",
        ),
    ]
    # The topic whose subscriptions table was wrong is still there, without subscriptions; the refused one is not.
    assert [(topic.name, subs) for topic, subs in found] == [("orders", [])]


def test_a_subscription_name_and_its_event_types_are_checked() -> None:
    problems: list[Problem] = []
    body = {"filtersConfiguration": {"includedEventTypes": "Contoso.Order.Created"}}
    assert parse_subscription(TOPIC, "x!", body, problems) is None
    assert problems == [
        Problem("name", "'x!': an event subscription name is 3-50 letters, digits and hyphens"),
        Problem("properties.filtersConfiguration.includedEventTypes", "must be an array of event type names"),
    ]
    _, empty_name = subscription_problems({"filtersConfiguration": {"includedEventTypes": ["ok", ""]}})
    assert [p.path for p in empty_name] == ["properties.filtersConfiguration.includedEventTypes"]
