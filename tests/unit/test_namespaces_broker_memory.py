"""A namespace broker with no store (smsgrid.namespaces.broker): topics and subscriptions live in memory only,
create/update/delete say what they did, and the config's bad tables are refused after the good ones load."""

from __future__ import annotations

import pytest

from smsgrid.clock import ManualClock
from smsgrid.errors import ConfigError, Problem
from smsgrid.namespaces.broker import NamespaceBroker
from smsgrid.namespaces.spec import SubscriptionSpec, TopicSpec

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def event(kind: str) -> dict[str, str]:
    return {"id": kind, "source": "/orders", "type": kind, "specversion": "1.0"}


async def test_topics_and_subscriptions_are_created_updated_and_deleted_in_memory() -> None:
    broker = NamespaceBroker(ManualClock(), "/ns")
    assert await broker.put_topic(TopicSpec("orders")) is True
    assert await broker.put_topic(TopicSpec("orders", retention_days=3)) is False
    assert broker.topics["orders"].spec.retention_days == 3
    assert await broker.put_subscription(SubscriptionSpec("orders", "workers")) is True
    assert await broker.put_subscription(SubscriptionSpec("orders", "workers", max_delivery_count=3)) is False
    assert broker.topics["orders"].subscriptions["workers"].queue.policy.max_delivery_count == 3
    assert await broker.delete_subscription("orders", "workers") is True
    assert await broker.delete_subscription("orders", "workers") is False
    assert await broker.delete_subscription("nowhere", "workers") is False
    assert await broker.delete_topic("orders") is True
    assert await broker.delete_topic("orders") is False
    assert broker.topics == {}


async def test_without_a_store_there_is_nothing_to_catch_up_or_pick_up() -> None:
    broker = NamespaceBroker(ManualClock(), "/ns")
    broker.load({"orders": {"subscriptions": {"workers": {}}}})
    workers = broker.topics["orders"].subscriptions["workers"]
    await broker.catch_up()
    await broker.pick_up(workers, force=True)
    assert broker.behind is True  # nothing was routed, so nothing claims to be up to date
    assert len(workers.queue) == 0


async def test_a_broker_that_does_not_serve_keeps_no_queue_even_without_a_store() -> None:
    worker = NamespaceBroker(ManualClock(), "/ns", serving=False)
    worker.load({"orders": {"subscriptions": {"workers": {}}}})
    await worker.publish("orders", [event("Contoso.Order.Created")])
    assert len(worker.topics["orders"].subscriptions["workers"].queue) == 0


async def test_a_published_event_reaches_only_the_subscriptions_whose_filter_accepts_it() -> None:
    clock = ManualClock()
    broker = NamespaceBroker(clock, "/ns")
    created_only = {"filtersConfiguration": {"includedEventTypes": ["Contoso.Order.Created"]}}
    broker.load({"orders": {"subscriptions": {"all": {}, "created-only": created_only}}})
    await broker.publish("orders", [event("Contoso.Order.Cancelled")])
    subscriptions = broker.topics["orders"].subscriptions
    assert [r.event["id"] for r in subscriptions["all"].queue.receive(clock.now(), 10)] == ["Contoso.Order.Cancelled"]
    assert subscriptions["all"].changed.is_set()
    assert subscriptions["created-only"].queue.receive(clock.now(), 10) == []
    assert not subscriptions["created-only"].changed.is_set()


def test_loading_names_every_bad_table_and_keeps_the_good_ones() -> None:
    broker = NamespaceBroker(ManualClock(), "/ns")
    with pytest.raises(ConfigError) as raised:
        broker.load({"orders": {"subscriptions": {"workers": {}}}, "broken": "not a table"})
    assert raised.value.problems == (Problem("namespace_topics.broken", "must be a table"),)
    assert list(broker.topics) == ["orders"]
    assert list(broker.topics["orders"].subscriptions) == ["workers"]
