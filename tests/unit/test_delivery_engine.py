"""The delivery engine (delivery/engine.py): one pump per active subscription, kept in step with the registry;
committing events wakes only the pumps of the subscriptions they were routed to."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import pytest

from smsgrid.config import Settings
from smsgrid.delivery.engine import DeliveryEngine
from smsgrid.delivery.registry import AWAITING_MANUAL_ACTION, FAILED, SUCCEEDED, SubscriptionRegistry
from smsgrid.delivery.subscription_spec import parse_subscription_spec
from smsgrid.delivery.transport_memory import MemoryResponse, SentRequest
from smsgrid.messaging.publishing import routed_subscriptions
from tests.unit.delivery_support import STORAGE_ID, Bench, new_event, open_bench, webhook_spec

pytestmark = pytest.mark.anyio

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
APPLICATION = "api://sms-receiver"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class FakeTokens:
    asked: list[str] = field(default_factory=list)

    async def bearer(self, audience: str) -> str:
        self.asked.append(audience)
        return f"Bearer for {audience}"


@dataclass
class World:
    bench: Bench
    registry: SubscriptionRegistry
    engine: DeliveryEngine
    tokens: FakeTokens


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    bench = open_bench(tmp_path)
    registry = SubscriptionRegistry()
    tokens = FakeTokens()
    engine = DeliveryEngine(
        store=bench.store,
        registry=registry,
        transport=bench.transport,
        clock=bench.clock,
        metrics=bench.metrics,
        settings=Settings(data_dir=tmp_path),
        webhook_tokens=tokens,
    )
    yield World(bench, registry, engine, tokens)
    await engine.stop()
    await bench.store.close()


def activate(world: World, *names: str, state: str = SUCCEEDED) -> None:
    for name in names:
        world.registry.set(webhook_spec(name, f"https://hooks.test/{name}"), state)


def woken(engine: DeliveryEngine) -> set[str]:
    return {name for name in engine.running() if (pump := engine.pump(name)) is not None and pump.wakeup.is_set()}


def settle(engine: DeliveryEngine) -> None:
    """Forget the wake-up every new pump starts with, so a test sees only what it caused."""
    for name in engine.running():
        pump = engine.pump(name)
        assert pump is not None
        pump.wakeup.clear()


async def test_nothing_runs_before_start(world: World) -> None:
    activate(world, "sub-a")
    world.engine.sync()
    assert world.engine.running() == ()


async def test_start_runs_a_pump_per_active_subscription_only(world: World) -> None:
    activate(world, "sub-a", "sub-b")
    activate(world, "waiting", state=AWAITING_MANUAL_ACTION)
    activate(world, "failed", state=FAILED)
    world.engine.start()
    assert sorted(world.engine.running()) == ["sub-a", "sub-b"]
    assert world.engine.pump("waiting") is None


async def test_sync_follows_the_registry(world: World) -> None:
    activate(world, "sub-a", "sub-b")
    world.engine.start()
    first_a = world.engine.pump("sub-a")

    world.registry.remove("sub-b")
    activate(world, "sub-c")
    changed = webhook_spec("sub-a", "https://hooks.test/changed")
    world.registry.set(changed, SUCCEEDED)
    settle(world.engine)
    world.engine.sync()

    assert sorted(world.engine.running()) == ["sub-a", "sub-c"]
    # An updated subscription keeps its pump (and its health), with the new spec, and looks again at once.
    assert world.engine.pump("sub-a") is first_a
    assert first_a is not None
    assert first_a.spec == changed
    assert first_a.wakeup.is_set()


async def test_wake_wakes_exactly_the_named_pumps(world: World) -> None:
    activate(world, "sub-a", "sub-b", "sub-c")
    world.engine.start()
    settle(world.engine)

    world.engine.wake(["sub-a", "sub-c", "not-running"])
    assert woken(world.engine) == {"sub-a", "sub-c"}


async def test_wake_all_wakes_every_pump(world: World) -> None:
    activate(world, "sub-a", "sub-b", "sub-c")
    world.engine.start()
    settle(world.engine)

    world.engine.wake_all()
    assert woken(world.engine) == {"sub-a", "sub-b", "sub-c"}


async def test_committed_events_name_the_pumps_to_wake(world: World) -> None:
    events = [new_event("sub-a", "sub-b"), new_event("sub-b"), new_event()]
    assert routed_subscriptions(events) == {"sub-a", "sub-b"}
    assert routed_subscriptions([]) == set()


async def test_a_woken_pump_delivers_what_was_committed_for_it(world: World) -> None:
    delivered = anyio.Event()
    urls: list[str] = []

    def handler(request: SentRequest) -> MemoryResponse:
        urls.append(request.url)
        delivered.set()
        return MemoryResponse(200)

    world.bench.transport.handler = handler
    activate(world, "sub-a", "sub-b")
    world.engine.start()
    events = await world.bench.publish("sub-a")
    world.engine.wake(routed_subscriptions(events))
    with anyio.fail_after(10):
        await delivered.wait()
    assert urls == ["https://hooks.test/sub-a"]


async def test_stop_stops_every_pump(world: World) -> None:
    activate(world, "sub-a", "sub-b")
    world.engine.start()
    await world.engine.stop()
    assert world.engine.running() == ()
    # Stopped: the registry may change, nothing starts again.
    activate(world, "sub-c")
    world.engine.sync()
    assert world.engine.running() == ()


async def test_a_removed_subscriptions_pump_is_stopped(world: World) -> None:
    activate(world, "sub-a")
    world.engine.start()
    pump = world.engine.pump("sub-a")
    assert pump is not None
    world.registry.remove("sub-a")
    world.engine.sync()
    await world.engine.stop()  # also waits for pumps still stopping
    assert world.engine.pump("sub-a") is None
    assert all(task.done() for task in pump._tasks)


async def test_health_of_reports_probation(world: World) -> None:
    activate(world, "sub-a")
    world.engine.start()
    assert world.engine.health_of("unknown") == {
        "consecutiveFailures": 0,
        "onProbation": False,
        "probationUntil": None,
    }
    pump = world.engine.pump("sub-a")
    assert pump is not None
    until = world.bench.clock.now() + 30
    pump.health = type(pump.health)(consecutive_failures=10, probation_until=until)
    assert world.engine.health_of("sub-a") == {"consecutiveFailures": 10, "onProbation": True, "probationUntil": until}


async def test_an_entra_protected_webhook_gets_a_bearer_for_its_application(world: World) -> None:
    spec = webhook_spec(
        "sub-a",
        destination_azureActiveDirectoryTenantId=TENANT,
        destination_azureActiveDirectoryApplicationIdOrUri=APPLICATION,
    )
    assert await world.engine.authorization_for(spec) == f"Bearer for {APPLICATION}"
    assert await world.engine.pump_dependencies.authorization(spec) == f"Bearer for {APPLICATION}"
    assert world.tokens.asked == [APPLICATION, APPLICATION]


async def test_no_bearer_without_an_application_or_for_other_destinations(world: World) -> None:
    queue = parse_subscription_spec(
        "sub-q",
        {
            "destination": {
                "endpointType": "StorageQueue",
                "properties": {"resourceId": STORAGE_ID, "queueName": "sub-q"},
            }
        },
    )
    assert await world.engine.authorization_for(webhook_spec("sub-a")) is None
    assert await world.engine.authorization_for(queue) is None
    assert world.tokens.asked == []


async def test_no_bearer_without_an_issuer(world: World, tmp_path: Path) -> None:
    engine = DeliveryEngine(
        store=world.bench.store,
        registry=world.registry,
        transport=world.bench.transport,
        clock=world.bench.clock,
        metrics=world.bench.metrics,
        settings=Settings(data_dir=tmp_path),
    )
    spec = webhook_spec(
        "sub-a",
        destination_azureActiveDirectoryTenantId=TENANT,
        destination_azureActiveDirectoryApplicationIdOrUri=APPLICATION,
    )
    assert await engine.authorization_for(spec) is None
    assert engine.deadletter_root == tmp_path / "deadletters"
