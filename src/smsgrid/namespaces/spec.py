"""Namespace topics and their event subscriptions as the ARM API describes them (Microsoft.EventGrid 2025-02-15:
`namespaces/topics` and `namespaces/topics/eventSubscriptions`): parse a PUT body, render the GET answer.

Only pull delivery exists here (`deliveryMode: "Queue"`); `Push` is refused with a clear message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from smsgrid.delivery.filters import AdvancedFilter, SubscriptionFilter, advanced_filter_to_dict, matches
from smsgrid.delivery.subscription_spec import parse_advanced_filters
from smsgrid.errors import Problem

# ARM: namespace topic and event subscription names are 3-50 letters, digits and hyphens.
NAME = re.compile(r"^[A-Za-z0-9-]{3,50}$")
# queue.receiveLockDurationInSeconds: 60 by default, 60..300 (ARM QueueInfo).
DEFAULT_LOCK_SECONDS = 60
LOCK_SECONDS_RANGE = (60, 300)
# queue.maxDeliveryCount: 10 by default, 1..10 (ARM QueueInfo).
DEFAULT_MAX_DELIVERY_COUNT = 10
MAX_DELIVERY_COUNT_RANGE = (1, 10)
# A topic keeps events eventRetentionInDays (1 by default, 1..7); a subscription's eventTimeToLive defaults to it
# and may not exceed it, and is at least one minute (ARM NamespaceTopicProperties, QueueInfo).
DEFAULT_RETENTION_DAYS = 1
RETENTION_DAYS_RANGE = (1, 7)
MIN_TIME_TO_LIVE_SECONDS = 60
INPUT_SCHEMA = "CloudEventSchemaV1_0"
DELIVERY_SCHEMA = "CloudEventSchemaV1_0"

_DURATION = re.compile(
    r"^P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)


def parse_duration(text: str) -> float | None:
    """Seconds of an ISO 8601 duration such as `P1D`, `PT10M`, `P1DT12H`; None when unreadable. Years and months
    have no fixed length, so they are not accepted (write days)."""
    match = _DURATION.match(text.strip().upper()) if isinstance(text, str) else None
    if match is None or text.strip().upper() in ("P", "PT") or text.strip().upper().endswith("T"):
        return None
    parts = {k: float(v) for k, v in match.groupdict().items() if v is not None}
    return (
        parts.get("weeks", 0) * 604800
        + parts.get("days", 0) * 86400
        + parts.get("hours", 0) * 3600
        + parts.get("minutes", 0) * 60
        + parts.get("seconds", 0)
    )


def format_duration(seconds: float) -> str:
    """The ISO 8601 form of whole seconds, as ARM echoes it: 86400 → `P1D`, 90 → `PT1M30S`."""
    whole = int(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    text = "P" + (f"{days}D" if days else "")
    clock = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "") + (f"{secs}S" if secs else "")
    if clock:
        text += "T" + clock
    return text if text != "P" else "PT0S"


def _properties(body: object, problems: list[Problem]) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        problems.append(Problem("", "the body must be a JSON object (the ARM resource or its properties)"))
        return {}
    inner = body.get("properties", body)
    if not isinstance(inner, Mapping):
        problems.append(Problem("properties", "must be an object"))
        return {}
    return inner


def _int_in(value: object, path: str, low: int, high: int, problems: list[Problem]) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        problems.append(Problem(path, f"must be a whole number from {low} to {high}, not {value!r}"))
        return None
    return value


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    retention_days: int = DEFAULT_RETENTION_DAYS
    # smsgrid's own switch: the resource's SMS events (and custom-topic events) are published into this topic too.
    route_sms_events: bool = False

    def arm(self, namespace_id: str) -> dict[str, Any]:
        return {
            "id": f"{namespace_id}/topics/{self.name}",
            "name": self.name,
            "type": "Microsoft.EventGrid/namespaces/topics",
            "properties": {
                "provisioningState": "Succeeded",
                "publisherType": "Custom",
                "inputSchema": INPUT_SCHEMA,
                "eventRetentionInDays": self.retention_days,
                "routeSmsEvents": self.route_sms_events,
            },
        }


def parse_topic(name: str, body: object, problems: list[Problem]) -> TopicSpec | None:
    before = len(problems)
    if not NAME.match(name):
        problems.append(Problem("name", f"{name!r}: a topic name is 3-50 letters, digits and hyphens"))
    props = _properties(body, problems)
    known = {"inputSchema", "eventRetentionInDays", "publisherType", "provisioningState", "routeSmsEvents"}
    problems.extend(Problem(f"properties.{k}", f"unknown property; expected {', '.join(sorted(known))}")
                    for k in props if k not in known)  # fmt: skip
    schema = props.get("inputSchema", INPUT_SCHEMA)
    if schema != INPUT_SCHEMA:
        problems.append(Problem("properties.inputSchema", f"must be {INPUT_SCHEMA!r} (the only namespace schema)"))
    publisher = props.get("publisherType", "Custom")
    if publisher != "Custom":
        problems.append(Problem("properties.publisherType", "must be 'Custom'"))
    retention = _int_in(props.get("eventRetentionInDays", DEFAULT_RETENTION_DAYS),
                        "properties.eventRetentionInDays", *RETENTION_DAYS_RANGE, problems)  # fmt: skip
    route = props.get("routeSmsEvents", False)
    if not isinstance(route, bool):
        problems.append(Problem("properties.routeSmsEvents", "must be true or false"))
    if len(problems) > before:
        return None
    assert retention is not None
    assert isinstance(route, bool)
    return TopicSpec(name, retention, route)


@dataclass(frozen=True, slots=True)
class SubscriptionSpec:
    topic: str
    name: str
    lock_seconds: int = DEFAULT_LOCK_SECONDS
    max_delivery_count: int = DEFAULT_MAX_DELIVERY_COUNT
    time_to_live_seconds: float = DEFAULT_RETENTION_DAYS * 86400.0
    time_to_live_text: str | None = None
    included_event_types: tuple[str, ...] | None = None
    dead_letter: Mapping[str, Any] | None = None
    advanced_filters: tuple[AdvancedFilter, ...] = ()
    _filter: SubscriptionFilter = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Compiled once: the webhook subscriptions' evaluator (smsgrid.delivery.filters), on the CloudEvent.
        compiled = SubscriptionFilter(included_event_types=self.included_event_types,
                                      advanced_filters=self.advanced_filters)  # fmt: skip
        object.__setattr__(self, "_filter", compiled)

    def accepts(self, event: Mapping[str, Any]) -> bool:
        """Whether the CloudEvent passes `includedEventTypes` (compared ignoring case) and every filter in
        `filters` (keys such as `type`, `subject`, `source`, `data.x`)."""
        return matches(self._filter, event)

    def arm(self, topic_id: str) -> dict[str, Any]:
        queue: dict[str, Any] = {
            "receiveLockDurationInSeconds": self.lock_seconds,
            "maxDeliveryCount": self.max_delivery_count,
            "eventTimeToLive": self.time_to_live_text or format_duration(self.time_to_live_seconds),
        }
        if self.dead_letter is not None:
            queue["deadLetterDestinationWithResourceIdentity"] = dict(self.dead_letter)
        filters: dict[str, Any] = {"filters": [advanced_filter_to_dict(f) for f in self.advanced_filters]}
        if self.included_event_types is not None:
            filters["includedEventTypes"] = list(self.included_event_types)
        return {
            "id": f"{topic_id}/eventSubscriptions/{self.name}",
            "name": self.name,
            "type": "Microsoft.EventGrid/namespaces/topics/eventSubscriptions",
            "properties": {
                "provisioningState": "Succeeded",
                "deliveryConfiguration": {"deliveryMode": "Queue", "queue": queue},
                "eventDeliverySchema": DELIVERY_SCHEMA,
                "filtersConfiguration": filters,
            },
        }


def parse_subscription(topic: TopicSpec, name: str, body: object, problems: list[Problem]) -> SubscriptionSpec | None:
    before = len(problems)
    if not NAME.match(name):
        problems.append(Problem("name", f"{name!r}: an event subscription name is 3-50 letters, digits and hyphens"))
    props = _properties(body, problems)
    known = {"deliveryConfiguration", "eventDeliverySchema", "filtersConfiguration", "provisioningState"}
    problems.extend(Problem(f"properties.{k}", f"unknown property; expected {', '.join(sorted(known))}")
                    for k in props if k not in known)  # fmt: skip
    schema = props.get("eventDeliverySchema", DELIVERY_SCHEMA)
    if schema != DELIVERY_SCHEMA:
        problems.append(Problem("properties.eventDeliverySchema", f"must be {DELIVERY_SCHEMA!r}"))
    delivery = props.get("deliveryConfiguration", {})
    if not isinstance(delivery, Mapping):
        problems.append(Problem("properties.deliveryConfiguration", "must be an object"))
        delivery = {}
    mode = delivery.get("deliveryMode", "Queue")
    if mode != "Queue":
        problems.append(Problem("properties.deliveryConfiguration.deliveryMode",
                                f"must be 'Queue' (pull delivery); {mode!r} is not supported by smsgrid"))  # fmt: skip
    queue = delivery.get("queue", {})
    if not isinstance(queue, Mapping):
        problems.append(Problem("properties.deliveryConfiguration.queue", "must be an object"))
        queue = {}
    path = "properties.deliveryConfiguration.queue"
    lock = _int_in(queue.get("receiveLockDurationInSeconds", DEFAULT_LOCK_SECONDS),
                   f"{path}.receiveLockDurationInSeconds", *LOCK_SECONDS_RANGE, problems)  # fmt: skip
    deliveries = _int_in(queue.get("maxDeliveryCount", DEFAULT_MAX_DELIVERY_COUNT),
                         f"{path}.maxDeliveryCount", *MAX_DELIVERY_COUNT_RANGE, problems)  # fmt: skip
    retention = topic.retention_days * 86400.0
    ttl_text = queue.get("eventTimeToLive")
    ttl = retention
    if ttl_text is not None:
        parsed = parse_duration(ttl_text) if isinstance(ttl_text, str) else None
        if parsed is None:
            problems.append(Problem(f"{path}.eventTimeToLive", f"{ttl_text!r} is not an ISO 8601 duration such as P1D"))
        elif not MIN_TIME_TO_LIVE_SECONDS <= parsed <= retention:
            limit = f"P{topic.retention_days}D"
            problems.append(Problem(f"{path}.eventTimeToLive", f"must be from PT1M to the topic's retention ({limit})"))
        else:
            ttl = parsed
    dead_letter = queue.get("deadLetterDestinationWithResourceIdentity")
    if dead_letter is not None and not isinstance(dead_letter, Mapping):
        problems.append(Problem(f"{path}.deadLetterDestinationWithResourceIdentity", "must be an object"))
        dead_letter = None
    filters = props.get("filtersConfiguration", {})
    included: tuple[str, ...] | None = None
    advanced: tuple[AdvancedFilter, ...] = ()
    if not isinstance(filters, Mapping):
        problems.append(Problem("properties.filtersConfiguration", "must be an object"))
    else:
        types = filters.get("includedEventTypes")
        if types is not None:
            if not isinstance(types, list) or not all(isinstance(t, str) and t for t in types):
                problems.append(Problem("properties.filtersConfiguration.includedEventTypes",
                                        "must be an array of event type names"))  # fmt: skip
            else:
                included = tuple(types)
        advanced = parse_advanced_filters(filters.get("filters"), "properties.filtersConfiguration.filters", problems)
    if len(problems) > before:
        return None
    assert lock is not None
    assert deliveries is not None
    return SubscriptionSpec(
        topic=topic.name,
        name=name,
        lock_seconds=lock,
        max_delivery_count=deliveries,
        time_to_live_seconds=ttl,
        time_to_live_text=ttl_text if isinstance(ttl_text, str) else None,
        included_event_types=included,
        dead_letter=dead_letter,
        advanced_filters=advanced,
    )


def parse_config(raw: Mapping[str, Any], problems: list[Problem]) -> list[tuple[TopicSpec, list[SubscriptionSpec]]]:
    """`[namespace_topics.NAME]` tables: a topic's ARM properties (`route_sms_events` may stand for
    `routeSmsEvents`) and its `subscriptions.SUB` tables, each an event subscription's; problems named by TOML key."""
    found: list[tuple[TopicSpec, list[SubscriptionSpec]]] = []
    for name, table in raw.items():
        where = f"namespace_topics.{name}"
        if not isinstance(table, Mapping):
            problems.append(Problem(where, "must be a table"))
            continue
        body = dict(table)
        subs = body.pop("subscriptions", {})
        if "route_sms_events" in body:
            body["routeSmsEvents"] = body.pop("route_sms_events")
        own: list[Problem] = []
        topic = parse_topic(name, body, own)
        problems.extend(Problem(f"{where}.{p.path}".rstrip("."), p.reason) for p in own)
        if topic is None:
            continue
        subscriptions: list[SubscriptionSpec] = []
        if not isinstance(subs, Mapping):
            problems.append(
                Problem(f"{where}.subscriptions", "must be a table of [namespace_topics.NAME.subscriptions.SUB]")
            )
            subs = {}
        for sub_name, sub_body in subs.items():
            own = []
            sub = parse_subscription(topic, sub_name, sub_body, own)
            problems.extend(Problem(f"{where}.subscriptions.{sub_name}.{p.path}".rstrip("."), p.reason) for p in own)
            if sub is not None:
                subscriptions.append(sub)
        found.append((topic, subscriptions))
    return found
