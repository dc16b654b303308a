"""The namespace topics of this server: their subscriptions' queues, publishing into them and the receive long poll.

The queues' decisions are made in this process's memory (smsgrid.namespaces.queue) and every change is
committed to the store before the operation answers, so a restart finds topics, subscriptions, queued events,
their locks and delivery counts, and the dead letters as they were. One process serves namespace topics
(docs/namespace-topics.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from smsgrid.clock import Clock
from smsgrid.errors import ConfigError, Problem
from smsgrid.events.render import event_grid_item_to_cloud_event
from smsgrid.namespaces.queue import (
    MAX_LOCK_RENEWAL_SECONDS,
    DeadLettered,
    Entry,
    QueuePolicy,
    SubscriptionQueue,
    TokenResult,
)
from smsgrid.namespaces.spec import SubscriptionSpec, TopicSpec, parse_config, parse_subscription, parse_topic
from smsgrid.store.port import Store
from smsgrid.store.records import NamespaceEntry

log = logging.getLogger("smsgrid.namespaces")

# Dead-lettered events kept per subscription for the admin API (oldest dropped past this).
MAX_DEAD_LETTERS_KEPT = 1000
# The long poll re-checks at least this often (seconds), so a lock that expires wakes a waiting receiver.
POLL_SECONDS = 0.2
# PostgreSQL scale-out: how often (seconds, at most) a serving process reads events other processes stored.
PICKUP_SECONDS = 1.0
# Events taken from the store's outbox per transaction (catch_up).
OUTBOX_BATCH = 500
# With no topic routing SMS events, how often (seconds, at most) the outbox is emptied after writes.
IDLE_DRAIN_SECONDS = 1.0


@dataclass
class Subscription:
    spec: SubscriptionSpec
    queue: SubscriptionQueue
    dead_letters: deque[DeadLettered] = field(default_factory=lambda: deque(maxlen=MAX_DEAD_LETTERS_KEPT))
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def key(self) -> str:
        return f"{self.spec.topic}/{self.spec.name}"


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
    def __init__(self, clock: Clock, namespace_id: str, *, serving: bool = True) -> None:
        """`serving`: this process answers the data plane. One that does not (`smsgrid worker`) only stores the
        events it routes, for a serving process to pick up (`pickup`), and keeps no queue in memory."""
        self.clock = clock
        self.namespace_id = namespace_id
        self.serving = serving
        self.topics: dict[str, Topic] = {}
        self.store: Store | None = None
        # Whether other processes may store events here (PostgreSQL); set from the store at attach.
        self.pickup = False
        self._last_pickup = float("-inf")
        self._last_seq = 0
        # Whether the store's outbox may hold events not yet routed (a catch-up failed or has not run yet).
        self.behind = True
        self._last_catch_up = float("-inf")
        self._catching_up = asyncio.Lock()

    def topic_id(self, topic: str) -> str:
        return f"{self.namespace_id}/topics/{topic}"

    # --------------------------------------------------------------------------------------------- admin

    async def put_topic(self, spec: TopicSpec) -> bool:
        """Create or update; True when created. An update keeps the subscriptions and their queues."""
        if self.store is not None:
            await self.store.put_namespace_resource("topic", spec.name, orjson.dumps(spec.arm(self.namespace_id)))
        return self._put_topic(spec)

    def _put_topic(self, spec: TopicSpec) -> bool:
        existing = self.topics.get(spec.name)
        if existing is None:
            self.topics[spec.name] = Topic(spec)
            return True
        existing.spec = spec
        return False

    async def delete_topic(self, name: str) -> bool:
        if name not in self.topics:
            return False
        if self.store is not None:
            await self.store.delete_namespace_resource("topic", name)
        return self.topics.pop(name, None) is not None

    async def put_subscription(self, spec: SubscriptionSpec) -> bool:
        if self.store is not None:
            body = orjson.dumps(spec.arm(self.topic_id(spec.topic)))
            await self.store.put_namespace_resource("subscription", f"{spec.topic}/{spec.name}", body)
        return self._put_subscription(spec)

    def _put_subscription(self, spec: SubscriptionSpec) -> bool:
        topic = self.topics[spec.topic]
        existing = topic.subscriptions.get(spec.name)
        policy = _policy(spec, self.clock)
        if existing is None:
            topic.subscriptions[spec.name] = Subscription(spec, SubscriptionQueue(policy, seq_factory=_unique_seq))
            return True
        # The queued events stay; the new policy applies to what happens next.
        existing.spec = spec
        existing.queue.policy = policy
        return False

    async def delete_subscription(self, topic: str, name: str) -> bool:
        owner = self.topics.get(topic)
        if owner is None or name not in owner.subscriptions:
            return False
        if self.store is not None:
            await self.store.delete_namespace_resource("subscription", f"{topic}/{name}")
        return owner.subscriptions.pop(name, None) is not None

    def load(self, raw: Mapping[str, Any]) -> None:
        """`[namespace_topics.NAME]` tables (smsgrid.settings.load_settings has already checked them)."""
        problems: list[Problem] = []
        for topic, subscriptions in parse_config(raw, problems):
            self._put_topic(topic)
            for subscription in subscriptions:
                self._put_subscription(subscription)
        if problems:
            raise ConfigError("namespace_topics", problems)

    # ------------------------------------------------------------------------------------------- publish

    async def publish(self, topic: str, events: Sequence[Mapping[str, Any]]) -> None:
        """Into every subscription of the topic whose filter accepts them; committed before this returns."""
        now = self.clock.now()
        if not self.serving:
            await self._store_only(topic, events, now)
            return
        touched: list[Subscription] = []
        for subscription in self.topics[topic].subscriptions.values():
            accepted = [e for e in events if subscription.spec.accepts(e)]
            for event in accepted:
                subscription.queue.enqueue(event, now)
            if accepted:
                touched.append(subscription)
        await self._save(touched)
        for subscription in touched:
            subscription.changed.set()

    async def _store_only(self, topic: str, events: Sequence[Mapping[str, Any]], now: float) -> None:
        rows: list[NamespaceEntry] = []
        for subscription in self.topics[topic].subscriptions.values():
            ttl = subscription.queue.policy.time_to_live_seconds
            for event in events:
                if subscription.spec.accepts(event):
                    # Increasing within this process, so the events keep their order in the queue.
                    self._last_seq = max(self._last_seq + 1, _unique_seq(now))
                    rows.append(NamespaceEntry(subscription.key, self._last_seq, orjson.dumps(event), now + ttl, now))
        if self.store is not None and rows:
            await self.store.save_namespace_entries(rows, [])

    async def pick_up(self, subscription: Subscription, *, force: bool = False) -> None:
        """Take into memory the events other processes stored for this subscription since the last look."""
        loop = asyncio.get_running_loop()
        if self.store is None or not (self.pickup or force) or loop.time() - self._last_pickup < PICKUP_SECONDS:
            return
        self._last_pickup = loop.time()
        rows = await self.store.list_namespace_entries()
        for topic in self.topics.values():
            for sub in topic.subscriptions.values():
                new = [
                    r
                    for r in rows
                    if r.subscription == sub.key and r.dead_reason is None and not sub.queue.knows(r.seq)
                ]
                if new:
                    sub.queue.restore(_entry(r) for r in new)
                    sub.changed.set()

    async def catch_up(self) -> None:
        """Route the resource's committed events (SMS and custom-topic ones) into every topic that routes them, as
        the CloudEvents Event Grid would make of them. Every event write also writes the event into the store's
        outbox in the same transaction; this empties it, storing the entries in the transaction that removes the
        events from it, so an event reaches its topics exactly once even when a process dies in between. A failure
        leaves the outbox as it was, and the next write or receive tries again (`behind`)."""
        if self.store is None:
            return
        async with self._catching_up:
            self.behind = True
            self._last_catch_up = asyncio.get_running_loop().time()
            while True:
                taken, rows = await self.store.route_namespace_outbox(OUTBOX_BATCH, self._outbox_entries)
                if self.serving:
                    self._take_in(rows)
                if taken < OUTBOX_BATCH:
                    break
            self.behind = False

    async def after_write(self) -> None:
        """After a write that committed events. With no topic routing them, the outbox is only emptied (their
        entries are none) and at most once a second, so that SMS throughput pays no second transaction per write."""
        routing = any(t.spec.route_sms_events for t in self.topics.values())
        if not routing and asyncio.get_running_loop().time() - self._last_catch_up < IDLE_DRAIN_SECONDS:
            return
        await self.try_catch_up()

    async def try_catch_up(self) -> None:
        """catch_up, a failure logged: the events wait in the outbox and `behind` has the next receive retry."""
        try:
            await self.catch_up()
        except Exception as exc:  # whatever failed, nothing was lost and a later call retries
            log.warning("namespace topics are behind the committed events (retrying): %s", exc)

    def _outbox_entries(self, items: Sequence[bytes]) -> list[NamespaceEntry]:
        # Runs inside the store's transaction (the SQLite writer thread): pure, no awaiting.
        now = self.clock.now()
        targets = [t for t in list(self.topics.values()) if t.spec.route_sms_events]
        if not targets or not items:
            return []
        cloud = [event_grid_item_to_cloud_event(orjson.loads(item)) for item in items]
        rows: list[NamespaceEntry] = []
        for topic in targets:
            for subscription in list(topic.subscriptions.values()):
                ttl = subscription.queue.policy.time_to_live_seconds
                for event in cloud:
                    if subscription.spec.accepts(event):
                        # Increasing within this process, so the events keep their order in the queue.
                        self._last_seq = max(self._last_seq + 1, _unique_seq(now))
                        rows.append(
                            NamespaceEntry(subscription.key, self._last_seq, orjson.dumps(event), now + ttl, now)
                        )
        return rows

    def _take_in(self, rows: Sequence[NamespaceEntry]) -> None:
        by_key = {s.key: s for t in self.topics.values() for s in t.subscriptions.values()}
        for row in rows:
            subscription = by_key.get(row.subscription)
            if subscription is not None and not subscription.queue.knows(row.seq):
                subscription.queue.restore([_entry(row)])
                subscription.changed.set()

    # ------------------------------------------------------------------------------------------ subscribe

    async def receive(self, subscription: Subscription, max_events: int, max_wait_seconds: float) -> list[Any]:
        """Up to `max_events`, as soon as any is available, else waiting up to `max_wait_seconds` (long poll)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max_wait_seconds
        while True:
            subscription.changed.clear()
            # Retried here until it succeeds; on PostgreSQL also what a process that died left in the outbox.
            if self.behind or (self.pickup and loop.time() - self._last_catch_up >= PICKUP_SECONDS):
                await self.try_catch_up()
            await self.pick_up(subscription)
            received = subscription.queue.receive(self.clock.now(), max_events)
            await self._save([subscription])
            remaining = deadline - loop.time()
            if received or remaining <= 0:
                return received
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(remaining, POLL_SECONDS)):
                    await subscription.changed.wait()

    async def settle(self, subscription: Subscription, action: str, tokens: list[str], delay: float = 0) -> TokenResult:
        """acknowledge, release (after `delay` policy seconds), reject or renewLock; committed before it returns."""
        now = self.clock.now()
        queue = subscription.queue
        if action == "acknowledge":
            result = queue.acknowledge(tokens, now)
        elif action == "release":
            result = queue.release(tokens, now, self.clock.scaled(delay))
        elif action == "reject":
            result = queue.reject(tokens, now)
        else:
            result = queue.renew_locks(tokens, now, self.clock.scaled(MAX_LOCK_RENEWAL_SECONDS))
        await self._save([subscription])
        if action == "release":
            subscription.changed.set()
        return result

    async def sweep(self, subscription: Subscription) -> None:
        subscription.queue.sweep(self.clock.now())
        await self._save([subscription])

    # ------------------------------------------------------------------------------------------- storage

    async def _save(self, subscriptions: Sequence[Subscription]) -> None:
        upserts: list[NamespaceEntry] = []
        deletes: list[tuple[str, int]] = []
        for subscription in subscriptions:
            key = subscription.key
            changed, removed = subscription.queue.take_changes()
            dead = subscription.queue.dead_letters[:]
            subscription.queue.dead_letters.clear()
            subscription.dead_letters.extend(dead)
            upserts += [_row(key, entry) for entry in changed]
            upserts += [
                NamespaceEntry(
                    key, d.seq, orjson.dumps(d.event), d.at, d.at, d.delivery_count, dead_reason=d.reason, dead_at=d.at
                )
                for d in dead
            ]
            kept = {d.seq for d in dead}
            deletes += [(key, seq) for seq in removed if seq not in kept]
        if self.store is not None and (upserts or deletes):
            await self.store.save_namespace_entries(upserts, deletes)

    async def attach(self, store: Store) -> None:
        """Read back what the store kept (after a restart); the config file's topics and subscriptions win over
        stored ones of the same name and are written back, so the store always holds every definition."""
        self.store = store
        self.pickup = store.dialect != "sqlite"
        from_config = {name: set(topic.subscriptions) for name, topic in self.topics.items()}
        problems: list[Problem] = []
        for kind, key, body in await store.list_namespace_resources():  # topics first
            if kind == "topic" and key not in from_config:
                spec = parse_topic(key, orjson.loads(body), problems)
                if spec is not None:
                    self._put_topic(spec)
            elif kind == "subscription":
                topic_name, _, name = key.partition("/")
                topic = self.topics.get(topic_name)
                if topic is None or name in from_config.get(topic_name, set()):
                    continue
                sub = parse_subscription(topic.spec, name, orjson.loads(body), problems)
                if sub is not None:
                    self._put_subscription(sub)
        if problems:
            log.warning("ignoring stored namespace definitions: %s", "; ".join(map(str, problems)))
        entries: dict[str, list[NamespaceEntry]] = {}
        for row in await store.list_namespace_entries() if self.serving else []:
            entries.setdefault(row.subscription, []).append(row)
        for topic in self.topics.values():
            for subscription in topic.subscriptions.values():
                rows = entries.get(subscription.key, [])
                subscription.queue.restore(_entry(r) for r in rows if r.dead_reason is None)
                subscription.dead_letters.extend(
                    DeadLettered(r.seq, orjson.loads(r.event), r.dead_reason, r.delivery_count, r.dead_at or 0.0)
                    for r in rows
                    if r.dead_reason is not None
                )
        for name, subs in from_config.items():
            topic = self.topics[name]
            await self.put_topic(topic.spec)
            for sub_name in subs:
                await self.put_subscription(topic.subscriptions[sub_name].spec)
        # What was committed but not routed before a stop (or a SIGKILL).
        await self.try_catch_up()


def _unique_seq(now: float) -> int:
    """Microseconds since the epoch times 1024 plus 10 random bits: fits a signed 64-bit column until 2255."""
    return int(now * 1_000_000) * 1024 + secrets.randbelow(1024)


def _row(key: str, entry: Entry) -> NamespaceEntry:
    return NamespaceEntry(
        subscription=key, seq=entry.seq, event=orjson.dumps(entry.event), expires_at=entry.expires_at,
        available_at=entry.available_at, delivery_count=entry.delivery_count, lock_token=entry.lock_token,
        locked_until=entry.locked_until, first_received_at=entry.first_received_at,
    )  # fmt: skip


def _entry(row: NamespaceEntry) -> Entry:
    return Entry(
        seq=row.seq, event=orjson.loads(row.event), expires_at=row.expires_at, available_at=row.available_at,
        delivery_count=row.delivery_count, lock_token=row.lock_token, locked_until=row.locked_until,
        first_received_at=row.first_received_at,
    )  # fmt: skip
