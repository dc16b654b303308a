"""The namespace topics of this server: their subscriptions' queues, publishing into them and the receive long poll.

Held in this process's memory (docs/namespace-topics.md says what that means: events wait in a queue until
received and acknowledged, but a restart empties the queues; topics from the config file come back).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from smsgrid.clock import Clock
from smsgrid.errors import ConfigError, Problem
from smsgrid.events.render import event_grid_item_to_cloud_event
from smsgrid.namespaces.queue import MAX_LOCK_RENEWAL_SECONDS, DeadLettered, QueuePolicy, SubscriptionQueue
from smsgrid.namespaces.spec import SubscriptionSpec, TopicSpec, parse_subscription, parse_topic
from smsgrid.store.records import NewEvent

# Dead-lettered events kept per subscription for the admin API (oldest dropped past this).
MAX_DEAD_LETTERS_KEPT = 1000
# The long poll re-checks at least this often (seconds), so a lock that expires wakes a waiting receiver.
POLL_SECONDS = 0.2


@dataclass
class Subscription:
    spec: SubscriptionSpec
    queue: SubscriptionQueue
    dead_letters: deque[DeadLettered] = field(default_factory=lambda: deque(maxlen=MAX_DEAD_LETTERS_KEPT))
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def collect(self) -> None:
        self.dead_letters.extend(self.queue.dead_letters)
        self.queue.dead_letters.clear()


@dataclass
class Topic:
    spec: TopicSpec
    subscriptions: dict[str, Subscription] = field(default_factory=dict)


def _policy(spec: SubscriptionSpec, clock: Clock) -> QueuePolicy:
    return QueuePolicy(
        lock_seconds=clock.scaled(spec.lock_seconds),
        max_delivery_count=spec.max_delivery_count,
        time_to_live_seconds=clock.scaled(spec.time_to_live_seconds),
        dead_letter=spec.dead_letter is not None,
    )


class NamespaceBroker:
    def __init__(self, clock: Clock, namespace_id: str) -> None:
        self.clock = clock
        self.namespace_id = namespace_id
        self.topics: dict[str, Topic] = {}

    def topic_id(self, topic: str) -> str:
        return f"{self.namespace_id}/topics/{topic}"

    # --------------------------------------------------------------------------------------------- admin

    def put_topic(self, spec: TopicSpec) -> bool:
        """Create or update; True when created. An update keeps the subscriptions and their queues."""
        existing = self.topics.get(spec.name)
        if existing is None:
            self.topics[spec.name] = Topic(spec)
            return True
        existing.spec = spec
        return False

    def delete_topic(self, name: str) -> bool:
        return self.topics.pop(name, None) is not None

    def put_subscription(self, spec: SubscriptionSpec) -> bool:
        topic = self.topics[spec.topic]
        existing = topic.subscriptions.get(spec.name)
        policy = _policy(spec, self.clock)
        if existing is None:
            topic.subscriptions[spec.name] = Subscription(spec, SubscriptionQueue(policy))
            return True
        # The queued events stay; the new policy applies to what happens next.
        existing.spec = spec
        existing.queue.policy = policy
        return False

    def delete_subscription(self, topic: str, name: str) -> bool:
        owner = self.topics.get(topic)
        return owner is not None and owner.subscriptions.pop(name, None) is not None

    def load(self, raw: Mapping[str, Any]) -> None:
        """`[namespace_topics.NAME]` tables, each the ARM body of a topic plus `subscriptions.SUB` tables."""
        problems: list[Problem] = []
        for name, table in raw.items():
            if not isinstance(table, Mapping):
                problems.append(Problem(f"namespace_topics.{name}", "must be a table"))
                continue
            body = dict(table)
            subs = body.pop("subscriptions", {})
            if "route_sms_events" in body:
                body["routeSmsEvents"] = body.pop("route_sms_events")
            found: list[Problem] = []
            spec = parse_topic(name, body, found)
            problems.extend(Problem(f"namespace_topics.{name}.{p.path}".rstrip("."), p.reason) for p in found)
            if spec is None:
                continue
            self.put_topic(spec)
            if not isinstance(subs, Mapping):
                problems.append(Problem(f"namespace_topics.{name}.subscriptions", "must be a table"))
                continue
            for sub_name, sub_body in subs.items():
                found = []
                sub = parse_subscription(spec, sub_name, sub_body, found)
                prefix = f"namespace_topics.{name}.subscriptions.{sub_name}"
                problems.extend(Problem(f"{prefix}.{p.path}".rstrip("."), p.reason) for p in found)
                if sub is not None:
                    self.put_subscription(sub)
        if problems:
            raise ConfigError("namespace_topics", problems)

    # ------------------------------------------------------------------------------------------- publish

    def publish(self, topic: str, events: Sequence[Mapping[str, Any]]) -> None:
        now = self.clock.now()
        for subscription in self.topics[topic].subscriptions.values():
            accepted = [e for e in events if subscription.spec.accepts(e.get("type"))]
            for event in accepted:
                subscription.queue.enqueue(event, now)
            if accepted:
                subscription.changed.set()

    def route_resource_events(self, events: Sequence[NewEvent]) -> None:
        """The resource's committed events (SMS and custom-topic ones) into every topic that routes them, as the
        CloudEvents Event Grid would make of them."""
        targets = [t.spec.name for t in self.topics.values() if t.spec.route_sms_events]
        if not targets or not events:
            return
        cloud = [event_grid_item_to_cloud_event(orjson.loads(e.item)) for e in events]
        for name in targets:
            self.publish(name, cloud)

    # ------------------------------------------------------------------------------------------ subscribe

    async def receive(self, subscription: Subscription, max_events: int, max_wait_seconds: float) -> list[Any]:
        """Up to `max_events`, as soon as any is available, else waiting up to `max_wait_seconds` (long poll)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max_wait_seconds
        while True:
            subscription.changed.clear()
            received = subscription.queue.receive(self.clock.now(), max_events)
            subscription.collect()
            remaining = deadline - loop.time()
            if received or remaining <= 0:
                return received
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(remaining, POLL_SECONDS)):
                    await subscription.changed.wait()

    def renewal_limit(self) -> float:
        return self.clock.scaled(MAX_LOCK_RENEWAL_SECONDS)
