"""Namespace brokers on a real SQLite store (smsgrid.namespaces.broker): a process that does not serve stores only
the events each subscription's filter accepts, and stored definitions that no longer parse are skipped with a
warning while the good ones come back."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import orjson
import pytest

from smsgrid.clock import SystemClock
from smsgrid.namespaces.broker import NamespaceBroker
from smsgrid.store.port import open_store

pytestmark = pytest.mark.anyio

CONFIG = {
    "orders": {
        "subscriptions": {
            "all": {},
            "created-only": {"filtersConfiguration": {"includedEventTypes": ["Contoso.Order.Created"]}},
        }
    }
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def event(n: int, kind: str) -> dict[str, Any]:
    return {"id": f"e{n}", "source": "/orders", "type": kind, "specversion": "1.0", "data": {"n": n}}


async def test_a_worker_stores_each_event_only_for_the_subscriptions_that_accept_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    api_store, worker_store = open_store(url), open_store(url)
    try:
        api = NamespaceBroker(SystemClock(), "/ns")
        worker = NamespaceBroker(SystemClock(), "/ns", serving=False)
        api.load(CONFIG)
        worker.load(CONFIG)
        await api.attach(api_store)
        await worker.attach(worker_store)
        await worker.publish("orders", [event(1, "Contoso.Order.Created"), event(2, "Contoso.Order.Cancelled")])
        stored = await worker_store.list_namespace_entries()
        assert sorted((row.subscription, orjson.loads(row.event)["id"]) for row in stored) == [
            ("orders/all", "e1"),
            ("orders/all", "e2"),
            ("orders/created-only", "e1"),
        ]
        assert len(worker.topics["orders"].subscriptions["all"].queue) == 0
        everything = api.topics["orders"].subscriptions["all"]
        created = api.topics["orders"].subscriptions["created-only"]
        await api.pick_up(everything, force=True)
        now = SystemClock.now()
        assert [r.event["id"] for r in everything.queue.receive(now, 10)] == ["e1", "e2"]
        assert [r.event["id"] for r in created.queue.receive(now, 10)] == ["e1"]
    finally:
        await api_store.close()
        await worker_store.close()


async def test_stored_definitions_that_do_not_parse_are_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'smsgrid.db'}")
    try:
        await store.put_namespace_resource("topic", "x", orjson.dumps({"properties": {"eventRetentionInDays": 1}}))
        await store.put_namespace_resource("topic", "kept", orjson.dumps({"properties": {"eventRetentionInDays": 2}}))
        await store.put_namespace_resource(
            "subscription", "orders/late", orjson.dumps({"properties": {"eventDeliverySchema": "EventGridSchema"}})
        )
        await store.put_namespace_resource("subscription", "orders/extra", orjson.dumps({"properties": {}}))
        broker = NamespaceBroker(SystemClock(), "/ns")
        broker.load(CONFIG)
        with caplog.at_level(logging.WARNING, logger="smsgrid"):
            await broker.attach(store)
    finally:
        await store.close()
    assert sorted(broker.topics) == ["kept", "orders"]
    assert broker.topics["kept"].spec.retention_days == 2
    assert sorted(broker.topics["orders"].subscriptions) == ["all", "created-only", "extra"]
    [warning] = [r.getMessage() for r in caplog.records if "ignoring stored namespace definitions" in r.getMessage()]
    assert "name: 'x': a topic name is 3-50 letters, digits and hyphens" in warning
    assert "properties.eventDeliverySchema: must be 'CloudEventSchemaV1_0'" in warning
