"""The broker's catch-up from the store's outbox (smsgrid.namespaces.broker, docs/namespace-topics.md
"Durability"), against a fake of our own store seam: a failed catch-up loses nothing and the next receive retries
it; a long outbox is taken in batches, in order; an event is routed once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast

import orjson
import pytest

from smsgrid.clock import SystemClock
from smsgrid.errors import StoreUnavailableError
from smsgrid.namespaces.broker import OUTBOX_BATCH, NamespaceBroker
from smsgrid.store.port import Store
from smsgrid.store.records import NamespaceEntry

pytestmark = pytest.mark.anyio

CONFIG = {"sms": {"route_sms_events": True, "subscriptions": {"reader": {}}}}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def item(n: int) -> bytes:
    return orjson.dumps({
        "id": f"event-{n}", "subject": "/phonenumber/18005550100", "data": {"messageId": f"m{n}"},
        "topic": "/subscriptions/x/resourceGroups/local/providers/microsoft.communication/communicationservices/local",
        "eventType": "Microsoft.Communication.SMSReceived", "dataVersion": "1.0", "metadataVersion": "1",
        "eventTime": "2026-01-01T00:00:00Z",
    })  # fmt: skip


class OutboxStore:
    """What the broker asks of the store, in memory; `failures` route calls fail after `route` ran (rolled back)."""

    dialect = "sqlite"

    def __init__(self, items: Sequence[bytes], failures: int = 0) -> None:
        self.outbox = list(items)
        self.entries: list[NamespaceEntry] = []
        self.failures = failures
        self.calls = 0

    async def route_namespace_outbox(
        self, limit: int, route: Callable[[Sequence[bytes]], Sequence[NamespaceEntry]]
    ) -> tuple[int, list[NamespaceEntry]]:
        self.calls += 1
        batch = self.outbox[:limit]
        rows = list(route(batch))
        if self.failures:
            self.failures -= 1
            raise StoreUnavailableError("the database cannot commit right now: disk full")
        del self.outbox[: len(batch)]
        self.entries += rows
        return len(batch), rows

    async def list_namespace_resources(self) -> list[tuple[str, str, bytes]]:
        return []

    async def list_namespace_entries(self) -> list[NamespaceEntry]:
        return list(self.entries)

    async def put_namespace_resource(self, kind: str, key: str, body: bytes) -> None:
        pass

    async def save_namespace_entries(self, upserts: Sequence[NamespaceEntry], deletes: Any) -> None:
        pass


async def attached(store: OutboxStore) -> NamespaceBroker:
    broker = NamespaceBroker(SystemClock(), "/ns")
    broker.load(CONFIG)
    await broker.attach(cast(Store, store))
    return broker


async def test_a_failed_catch_up_keeps_the_events_and_the_next_receive_routes_them_once() -> None:
    store = OutboxStore([item(1), item(2)], failures=1)
    broker = await attached(store)  # the catch-up at start fails
    reader = broker.topics["sms"].subscriptions["reader"]
    assert broker.behind
    assert len(store.outbox) == 2
    assert len(reader.queue) == 0
    got = await broker.receive(reader, 10, 0)
    assert [r.event["id"] for r in got] == ["event-1", "event-2"]
    assert {r.event["type"] for r in got} == {"Microsoft.Communication.SMSReceived"}
    assert store.outbox == []
    assert not broker.behind
    await broker.catch_up()  # nothing left: routed once
    assert [orjson.loads(e.event)["id"] for e in store.entries] == ["event-1", "event-2"]


async def test_a_long_outbox_is_taken_in_batches_in_order() -> None:
    count = OUTBOX_BATCH * 2 + 3
    store = OutboxStore([item(n) for n in range(count)])
    broker = await attached(store)
    assert store.calls == 3
    reader = broker.topics["sms"].subscriptions["reader"]
    got = reader.queue.receive(SystemClock.now(), count)
    assert [r.event["id"] for r in got] == [f"event-{n}" for n in range(count)]


async def test_with_no_routing_topic_the_outbox_is_emptied_into_no_queue() -> None:
    store = OutboxStore([item(1)])
    broker = NamespaceBroker(SystemClock(), "/ns")
    broker.load({"orders": {"subscriptions": {"workers": {}}}})
    await broker.attach(cast(Store, store))
    assert store.outbox == []
    assert store.entries == []
    assert len(broker.topics["orders"].subscriptions["workers"].queue) == 0
