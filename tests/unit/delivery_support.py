"""What the delivery unit tests share: a real SQLite store on a tmp file, the in-memory transport, a manual clock,
and builders for subscriptions and events. No process, no socket, no sleep."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from smsgrid.clock import ManualClock
from smsgrid.config import DeliverySettings, FunctionApp, StorageAccount
from smsgrid.delivery.pump import Pump, PumpDependencies, no_authorization
from smsgrid.delivery.subscription_spec import SubscriptionSpec, parse_subscription_spec
from smsgrid.delivery.transport_memory import MemoryTransport
from smsgrid.events.timestamps import Timestamp
from smsgrid.metrics import Metrics
from smsgrid.store.records import AttemptRecord, NewEvent
from smsgrid.store.sqlite.adapter import SqliteStore

START = 1_700_000_000.0
WEBHOOK_URL = "https://hooks.test/events"
# A Standard Webhooks secret: whsec_ + base64 of 32 bytes.
SIGNING_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
STORAGE_ID = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/devstoreaccount1"
FUNCTION_ID = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Web/sites/sms-app/functions/OnSms"
STORAGE_ACCOUNT = StorageAccount(
    name="devstoreaccount1",
    key=AZURITE_KEY,
    queue_endpoint="http://storage.test/devstoreaccount1",
    blob_endpoint="http://blobs.test/devstoreaccount1",
)
FUNCTION_APP = FunctionApp(name="sms-app", endpoint="http://functions.test", key="host-key")

_ids = itertools.count(1)


def webhook_body(url: str = WEBHOOK_URL, /, **properties: Any) -> dict[str, Any]:
    """An ARM subscription body for a webhook; *properties* beside `destination` (retryPolicy, …), or with a
    `destination_` prefix inside the destination's properties."""
    destination = {k.removeprefix("destination_"): v for k, v in properties.items() if k.startswith("destination_")}
    rest = {k: v for k, v in properties.items() if not k.startswith("destination_")}
    return {"destination": {"endpointType": "WebHook", "properties": {"endpointUrl": url, **destination}}, **rest}


def webhook_spec(name: str = "sub-a", url: str = WEBHOOK_URL, /, **properties: Any) -> SubscriptionSpec:
    return parse_subscription_spec(name, webhook_body(url, **properties))


def event_item(*, event_type: str = "Microsoft.Communication.SMSReceived", size: int = 0) -> dict[str, Any]:
    n = next(_ids)
    return {
        "id": f"event-{n}",
        "topic": "/subscriptions/s/resourceGroups/g/providers/Microsoft.Communication/communicationServices/acs",
        "subject": f"/phonenumber/{n}",
        "eventType": event_type,
        "eventTime": Timestamp.from_epoch_seconds(START).format(),
        "data": {"message": "x" * size, "n": n},
        "dataVersion": "1.0",
        "metadataVersion": "1",
    }


def new_event(*subscriptions: str, published_at: float = START, size: int = 0) -> NewEvent:
    item = event_item(size=size)
    return NewEvent(
        event_id=item["id"],
        event_type=item["eventType"],
        subject=item["subject"],
        message_id=None,
        published_at=published_at,
        item=orjson.dumps(item),
        subscriptions=subscriptions,
    )


@dataclass
class Bench:
    """One pump's world: store, transport, clock and metrics, all inspectable."""

    store: SqliteStore
    transport: MemoryTransport
    clock: ManualClock
    metrics: Metrics
    deadletter_root: Path

    def dependencies(
        self,
        *,
        concurrency: int = 1,
        storage_accounts: Mapping[str, StorageAccount] | None = None,
        function_apps: Mapping[str, FunctionApp] | None = None,
        authorization: Any = no_authorization,
    ) -> PumpDependencies:
        return PumpDependencies(
            store=self.store,
            transport=self.transport,
            clock=self.clock,
            metrics=self.metrics,
            delivery=DeliverySettings(max_concurrency_per_endpoint=concurrency),
            deadletter_root=self.deadletter_root,
            storage_accounts=storage_accounts or {},
            function_apps=function_apps or {},
            authorization=authorization,
        )

    def pump(self, spec: SubscriptionSpec, **options: Any) -> Pump:
        return Pump(self.dependencies(**options), spec)

    async def publish(self, *subscriptions: str, count: int = 1, size: int = 0) -> list[NewEvent]:
        events = [new_event(*subscriptions, published_at=self.clock.now(), size=size) for _ in range(count)]
        await self.store.publish(events)
        return events

    async def next_due(self, subscription: str) -> float | None:
        """When the subscription's next pending delivery is due; None when nothing is pending."""
        return await self.store.next_delivery_due(subscription)

    async def last_attempt(self, delivery_id: int) -> AttemptRecord | None:
        """Delivery ids count from 1 in publishing order (a fresh database per test)."""
        return (await self.store.last_attempts([delivery_id])).get(delivery_id)

    def sample(self, name: str, labels: Mapping[str, str]) -> float:
        value = self.metrics.registry.get_sample_value(name, dict(labels))
        return 0.0 if value is None else value


def open_bench(tmp_path: Path, transport: MemoryTransport | None = None) -> Bench:
    return Bench(
        store=SqliteStore(tmp_path / "smsgrid.db"),
        transport=transport or MemoryTransport(),
        clock=ManualClock(START),
        metrics=Metrics(),
        deadletter_root=tmp_path / "deadletters",
    )
