"""The subscription service (delivery/subscriptions.py): PUT validates the endpoint through the transport first,
then GET / list / DELETE read it back; a manual validation window and an expiry play out on a manual clock.

The store is the real SQLite adapter on a tmp file; the endpoint is the in-memory transport."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import orjson
import pytest

from smsgrid.config import Settings
from smsgrid.delivery.engine import DeliveryEngine
from smsgrid.delivery.registry import AWAITING_MANUAL_ACTION, FAILED, SUCCEEDED, SubscriptionRegistry
from smsgrid.delivery.subscription_spec import spec_to_storage_dict
from smsgrid.delivery.subscriptions import MANUAL_VALIDATION_WINDOW_SECONDS, SubscriptionService
from smsgrid.delivery.transport_memory import MemoryResponse, SentRequest, answer
from smsgrid.errors import SmsgridError
from smsgrid.store.records import SubscriptionRecord
from tests.unit.delivery_support import (
    FUNCTION_ID,
    SIGNING_SECRET,
    START,
    STORAGE_ACCOUNT,
    STORAGE_ID,
    Bench,
    open_bench,
    webhook_body,
    webhook_spec,
)

pytestmark = pytest.mark.anyio

TOPIC = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Communication/communicationServices/acs"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
# One day after the manual clock's start (tests/unit/delivery_support.START, 2023-11-14T22:13:20Z).
TOMORROW = "2023-11-15T22:13:20Z"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def echo_validation_code(request: SentRequest) -> MemoryResponse:
    """A receiver that completes Event Grid's handshake by echoing the code."""
    [event] = request.json()
    return MemoryResponse(200, f'{{"validationResponse": "{event["data"]["validationCode"]}"}}'.encode())


@dataclass
class World:
    bench: Bench
    registry: SubscriptionRegistry
    engine: DeliveryEngine
    service: SubscriptionService


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    bench = open_bench(tmp_path)
    bench.transport.handler = echo_validation_code
    registry = SubscriptionRegistry()
    settings = Settings(data_dir=tmp_path, storage_accounts={STORAGE_ACCOUNT.name: STORAGE_ACCOUNT})
    engine = DeliveryEngine(
        store=bench.store,
        registry=registry,
        transport=bench.transport,
        clock=bench.clock,
        metrics=bench.metrics,
        settings=settings,
    )
    service = SubscriptionService(
        store=bench.store,
        registry=registry,
        transport=bench.transport,
        clock=bench.clock,
        engine=engine,
        topic=TOPIC,
        base_url="https://smsgrid.test/",
        entra_tenant_id=TENANT,
    )
    engine.start()
    yield World(bench, registry, engine, service)
    await service.stop()
    await engine.stop()
    await bench.store.close()


def state_of(public: dict[str, Any] | None) -> str:
    assert public is not None
    state: str = public["properties"]["provisioningState"]
    return state


async def test_put_validates_the_endpoint_then_delivers_to_it(world: World) -> None:
    public = await world.service.put("sub-a", webhook_body())

    assert state_of(public) == SUCCEEDED
    assert public["properties"]["topic"] == TOPIC
    assert public["health"]["onProbation"] is False
    [handshake] = world.bench.transport.requests
    assert handshake.method == "POST"
    assert handshake.headers["aeg-event-type"] == "SubscriptionValidation"
    assert handshake.headers["aeg-subscription-name"] == "SUB-A"
    [event] = handshake.json()
    assert event["eventType"] == "Microsoft.EventGrid.SubscriptionValidationEvent"
    assert event["data"]["validationUrl"].startswith("https://smsgrid.test/eventsubscriptions/sub-a/validate?code=")
    assert world.registry.active_names() == ("sub-a",)
    assert world.engine.running() == ("sub-a",)
    assert state_of(await world.service.get("sub-a")) == SUCCEEDED


async def test_an_endpoint_that_refuses_the_handshake_is_failed_and_gets_nothing(world: World) -> None:
    world.bench.transport.handler = answer(404)
    public = await world.service.put("sub-a", webhook_body())
    assert state_of(public) == FAILED
    assert "HTTP 404" in public["properties"]["provisioningMessage"]
    assert world.engine.running() == ()


async def test_a_cloud_events_endpoint_consents_with_the_allowed_origin_header(world: World) -> None:
    world.bench.transport.handler = answer(200, headers={"WebHook-Allowed-Origin": "eventgrid.azure.net"})
    public = await world.service.put("sub-a", webhook_body(eventDeliverySchema="CloudEventSchemaV1_0"))
    assert state_of(public) == SUCCEEDED
    [options] = world.bench.transport.requests
    assert options.method == "OPTIONS"
    assert options.headers["WebHook-Request-Origin"] == "eventgrid.azure.net"


async def test_manual_validation_within_the_window(world: World) -> None:
    world.bench.transport.handler = answer(200)  # no validationResponse: the receiver opens the URL itself
    public = await world.service.put("sub-a", webhook_body())
    assert state_of(public) == AWAITING_MANUAL_ACTION
    [event] = world.bench.transport.requests[0].json()
    code = event["data"]["validationCode"]

    assert await world.service.manual_validate("sub-a", "wrong-code") is False
    assert await world.service.manual_validate("sub-unknown", code) is False
    assert await world.service.manual_validate("sub-a", code) is True
    assert state_of(await world.service.get("sub-a")) == SUCCEEDED
    assert world.engine.running() == ("sub-a",)
    # Validated once: the code is spent.
    assert await world.service.manual_validate("sub-a", code) is False


async def test_manual_validation_after_the_window_fails(world: World) -> None:
    world.bench.transport.handler = answer(200)
    await world.service.put("sub-a", webhook_body())
    [event] = world.bench.transport.requests[0].json()
    world.bench.clock.advance(MANUAL_VALIDATION_WINDOW_SECONDS + 1)
    assert await world.service.manual_validate("sub-a", event["data"]["validationCode"]) is False
    assert state_of(await world.service.get("sub-a")) == FAILED


async def test_an_unvalidated_subscription_turns_failed_when_its_window_passes(world: World) -> None:
    world.bench.transport.handler = answer(200)
    await world.service.put("sub-a", webhook_body())
    assert state_of(await world.service.get("sub-a")) == AWAITING_MANUAL_ACTION
    world.bench.clock.advance(MANUAL_VALIDATION_WINDOW_SECONDS + 1)
    [listed] = await world.service.list()
    assert state_of(listed) == FAILED


async def test_get_list_delete(world: World) -> None:
    await world.service.put("sub-a", webhook_body())
    await world.service.put("sub-b", webhook_body("https://hooks.test/b"))
    assert await world.service.get("sub-unknown") is None
    assert sorted(p["name"] for p in await world.service.list()) == ["sub-a", "sub-b"]

    assert await world.service.delete("sub-a") is True
    assert await world.service.delete("sub-a") is False
    assert await world.service.get("sub-a") is None
    assert [p["name"] for p in await world.service.list()] == ["sub-b"]
    assert world.registry.active_names() == ("sub-b",)
    assert world.engine.running() == ("sub-b",)


async def test_an_update_is_validated_again(world: World) -> None:
    await world.service.put("sub-a", webhook_body())
    world.bench.transport.handler = answer(500)
    assert state_of(await world.service.put("sub-a", webhook_body("https://hooks.test/moved"))) == FAILED
    assert world.bench.transport.requests[1].url == "https://hooks.test/moved"
    assert world.engine.running() == ()


async def test_while_the_handshake_runs_get_and_list_show_creating(world: World) -> None:
    asked = anyio.Event()
    release = anyio.Event()

    async def slow_receiver(request: SentRequest) -> MemoryResponse:
        asked.set()
        await release.wait()
        return echo_validation_code(request)

    world.bench.transport.handler = slow_receiver
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(world.service.put, "sub-a", webhook_body())
        with anyio.fail_after(10):
            await asked.wait()
        assert state_of(await world.service.get("sub-a")) == "Creating"
        assert [state_of(p) for p in await world.service.list()] == ["Creating"]
        release.set()
    assert state_of(await world.service.get("sub-a")) == SUCCEEDED


async def test_while_an_update_runs_get_shows_updating(world: World) -> None:
    await world.service.put("sub-a", webhook_body())
    asked = anyio.Event()
    release = anyio.Event()

    async def slow_receiver(request: SentRequest) -> MemoryResponse:
        asked.set()
        await release.wait()
        return echo_validation_code(request)

    world.bench.transport.handler = slow_receiver
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(world.service.put, "sub-a", webhook_body("https://hooks.test/moved"))
        with anyio.fail_after(10):
            await asked.wait()
        assert state_of(await world.service.get("sub-a")) == "Updating"
        release.set()


async def test_a_body_that_breaks_the_rules_is_refused_with_its_path(world: World) -> None:
    with pytest.raises(SmsgridError, match=r"properties\.destination\.properties\.endpointUrl"):
        await world.service.put("sub-a", {"properties": {"destination": {"endpointType": "WebHook", "properties": {}}}})
    assert world.bench.transport.requests == []


async def test_an_expiry_in_the_past_is_refused(world: World) -> None:
    with pytest.raises(SmsgridError, match=r"expirationTimeUtc: .* is not in the future"):
        await world.service.put("sub-a", webhook_body(expirationTimeUtc="2020-01-01T00:00:00Z"))


async def test_another_entra_tenant_is_refused(world: World) -> None:
    body = webhook_body(
        destination_azureActiveDirectoryTenantId="00000000-0000-0000-0000-000000000001",
        destination_azureActiveDirectoryApplicationIdOrUri="api://x",
    )
    with pytest.raises(SmsgridError, match="is not smsgrid's Entra tenant"):
        await world.service.put("sub-a", body)


async def test_a_destination_without_its_configuration_is_refused(world: World) -> None:
    body = {"destination": {"endpointType": "AzureFunction", "properties": {"resourceId": FUNCTION_ID}}}
    with pytest.raises(SmsgridError, match=r"add \[function_apps.sms-app\]"):
        await world.service.put("sub-a", body)


async def test_a_name_differing_only_by_case_is_refused(world: World) -> None:
    await world.service.put("sub-a", webhook_body())
    with pytest.raises(SmsgridError, match="names that differ only by case are the same"):
        await world.service.put("SUB-A", webhook_body())


async def test_a_queue_destination_needs_no_handshake(world: World) -> None:
    body = {
        "destination": {
            "endpointType": "StorageQueue",
            "properties": {"resourceId": STORAGE_ID, "queueName": "sms-events"},
        }
    }
    assert state_of(await world.service.put("sub-q", body)) == SUCCEEDED
    assert world.bench.transport.requests == []
    assert await world.service.full_url("sub-q") == {"endpointUrl": None}


async def test_an_expired_subscription_is_deleted_by_the_sweep(world: World) -> None:
    await world.service.put("sub-a", webhook_body(expirationTimeUtc=TOMORROW))
    await world.service.put("sub-b", webhook_body())
    assert await world.service.sweep_expired() == 0

    world.bench.clock.advance(2 * 86_400)
    assert await world.service.sweep_expired() == 1
    assert await world.service.get("sub-a") is None
    assert await world.service.spec_of("sub-a") is None
    assert world.registry.active_names() == ("sub-b",)
    assert world.engine.running() == ("sub-b",)


async def test_an_expired_subscription_is_gone_from_get_and_list_before_the_sweep(world: World) -> None:
    await world.service.put("sub-a", webhook_body(expirationTimeUtc=TOMORROW))
    await world.service.put("sub-b", webhook_body(expirationTimeUtc=TOMORROW))
    world.bench.clock.advance(2 * 86_400)
    assert await world.service.get("sub-a") is None
    assert await world.service.list() == []
    assert world.engine.running() == ()


async def test_full_url_and_delivery_attributes_show_the_secrets(world: World) -> None:
    body = webhook_body(
        "https://hooks.test/events?code=s3cret",
        destination_deliveryAttributeMappings=[
            {"name": "X-Key", "type": "Static", "properties": {"value": "k1", "isSecret": True}},
            {"name": "X-Tag", "type": "Dynamic", "properties": {"sourceField": "data.tag"}},
        ],
    )
    await world.service.put("sub-a", body)
    assert await world.service.full_url("sub-a") == {"endpointUrl": "https://hooks.test/events?code=s3cret"}
    assert await world.service.delivery_attributes("sub-a") == {
        "value": [
            {"name": "X-Key", "type": "Static", "properties": {"value": "k1", "isSecret": True}},
            {"name": "X-Tag", "type": "Dynamic", "properties": {"sourceField": "data.tag"}},
        ]
    }
    assert await world.service.full_url("sub-unknown") is None
    assert await world.service.delivery_attributes("sub-unknown") is None


async def test_load_reads_stored_subscriptions_and_validates_new_config_ones(world: World) -> None:
    stored = webhook_spec("sub-stored", "https://hooks.test/stored", standardWebhooks={"secret": SIGNING_SECRET})
    await world.bench.store.put_subscription(
        SubscriptionRecord("sub-stored", spec_to_storage_dict(stored), SUCCEEDED, None, None, 1.0, 1.0)
    )
    await world.service.load(
        {
            "sub-config": webhook_body("https://hooks.test/config"),
            "sub-broken": {"destination": {}},
            "sub-function": {
                "destination": {"endpointType": "AzureFunction", "properties": {"resourceId": FUNCTION_ID}}
            },
            "SUB-STORED": webhook_body(),  # differs only by case from a stored one: neither is guessed
        }
    )
    await world.service.settled()

    assert sorted(world.registry.active_names()) == ["sub-config", "sub-stored"]
    assert [r.url for r in world.bench.transport.requests] == ["https://hooks.test/config"]
    assert sorted(world.engine.running()) == ["sub-config", "sub-stored"]


async def test_load_skips_a_config_subscription_already_validated_unchanged(world: World) -> None:
    await world.service.put("sub-a", webhook_body())
    await world.service.load({"sub-a": webhook_body()})
    await world.service.settled()
    assert len(world.bench.transport.requests) == 1


async def test_refresh_follows_what_another_process_stored(world: World) -> None:
    await world.service.put("sub-a", webhook_body())
    # Another process adds sub-b and deletes sub-a.
    spec_b = webhook_spec("sub-b")
    await world.bench.store.put_subscription(
        SubscriptionRecord("sub-b", spec_to_storage_dict(spec_b), SUCCEEDED, None, None, 1.0, 1.0)
    )
    await world.bench.store.delete_subscription("sub-a")

    await world.service.refresh()
    assert world.registry.active_names() == ("sub-b",)
    assert world.engine.running() == ("sub-b",)
    await world.service.refresh()  # nothing changed: nothing to do
    assert world.engine.running() == ("sub-b",)


def refused_today(name: str, state: str, **record: Any) -> SubscriptionRecord:
    """A record an earlier smsgrid stored that today's rules refuse: a delivery attribute naming a header
    smsgrid sets itself (read back only leniently)."""
    spec = webhook_spec(
        name,
        destination_deliveryAttributeMappings=[
            {"name": "X-Tenant", "type": "Static", "properties": {"value": "contoso", "isSecret": False}}
        ],
    )
    stored = spec_to_storage_dict(spec)
    text = orjson.dumps(stored).replace(b'"X-Tenant"', b'"Host"')
    return SubscriptionRecord(name, orjson.loads(text), state, created_at=1.0, updated_at=1.0, **record)


async def test_a_stored_subscription_refused_today_is_shown_failed_and_gets_nothing(world: World) -> None:
    await world.bench.store.put_subscription(refused_today("sub-old", SUCCEEDED))
    await world.service.load({})
    await world.service.refresh()
    assert world.registry.active_names() == ()
    assert world.engine.running() == ()

    public = await world.service.get("sub-old")
    assert state_of(public) == FAILED
    assert public is not None
    assert "no longer accepted; PUT it again" in public["properties"]["provisioningMessage"]
    assert await world.service.delete("sub-old") is True


async def test_manually_validating_a_subscription_refused_today_leaves_it_failed(world: World) -> None:
    record = refused_today("sub-old", AWAITING_MANUAL_ACTION, validation_code="c0de", validation_deadline=START + 600)
    await world.bench.store.put_subscription(record)
    # Its return value is left alone here (today it reports the code as accepted); the stored state decides.
    await world.service.manual_validate("sub-old", "c0de")
    stored = await world.bench.store.get_subscription("sub-old")
    assert stored is not None
    assert stored.provisioning_state == FAILED
    assert world.registry.active_names() == ()
