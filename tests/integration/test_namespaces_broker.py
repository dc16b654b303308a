"""Namespace topics across processes on one store: a process that serves no data plane (`smsgrid worker`) stores
the events it routes, and the serving process picks them up (docs/namespace-topics.md, "Durability and scale-out").
Two brokers on one real SQLite file stand for the two processes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from smsgrid.clock import SystemClock
from smsgrid.namespaces.broker import NamespaceBroker
from smsgrid.store.port import open_store
from smsgrid.store.records import NewEvent

pytestmark = pytest.mark.anyio

CONFIG = {"sms": {"route_sms_events": True, "subscriptions": {"reader": {}}}}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def sms_event(n: int) -> NewEvent:
    item: dict[str, Any] = {
        "id": f"event-{n}",
        "topic": "/subscriptions/x/resourceGroups/local/providers/microsoft.communication/communicationservices/local",
        "subject": "/phonenumber/18005550100",
        "data": {"messageId": f"m{n}"},
        "eventType": "Microsoft.Communication.SMSReceived",
        "dataVersion": "1.0",
        "metadataVersion": "1",
        "eventTime": "2026-01-01T00:00:00Z",
    }
    return NewEvent(f"event-{n}", item["eventType"], item["subject"], None, 0.0, orjson.dumps(item), ())


async def test_a_serving_process_picks_up_what_a_worker_routed_and_the_worker_keeps_no_queue(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    api_store, worker_store = open_store(url), open_store(url)
    try:
        api = NamespaceBroker(SystemClock(), "/ns")
        worker = NamespaceBroker(SystemClock(), "/ns", serving=False)
        api.load(CONFIG)
        worker.load(CONFIG)
        await api.attach(api_store)
        await worker.attach(worker_store)
        await worker_store.publish([sms_event(1), sms_event(2)])
        await worker.catch_up()
        assert len(worker.topics["sms"].subscriptions["reader"].queue) == 0
        reader = api.topics["sms"].subscriptions["reader"]
        await api.pick_up(reader, force=True)
        got = reader.queue.receive(SystemClock.now(), 10)
        assert [r.event["id"] for r in got] == ["event-1", "event-2"]
        assert {r.event["type"] for r in got} == {"Microsoft.Communication.SMSReceived"}
        await api.settle(reader, "acknowledge", [r.lock_token for r in got])
        # Settled events are not picked up again, even from a store read that raced their delete.
        api._last_pickup = float("-inf")
        await api.pick_up(reader, force=True)
        assert reader.queue.receive(SystemClock.now(), 10) == []
        assert await api_store.list_namespace_entries() == []
    finally:
        await api_store.close()
        await worker_store.close()
