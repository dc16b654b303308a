"""The composition root: builds every subsystem from Settings once, starts and stops them in order."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from smsgrid.carrier.simulator import CarrierSimulator
from smsgrid.clock import Clock
from smsgrid.config import Settings
from smsgrid.delivery.engine import DeliveryEngine
from smsgrid.delivery.registry import SubscriptionRegistry
from smsgrid.delivery.subscriptions import SubscriptionService
from smsgrid.delivery.transport import HttpTransport
from smsgrid.events.models import DataCasing, resource_topic
from smsgrid.messaging.publishing import EventFactory
from smsgrid.messaging.service import Messaging
from smsgrid.metrics import Metrics
from smsgrid.store.port import Store, open_store


@dataclass
class Runtime:
    settings: Settings
    store: Store
    clock: Clock
    metrics: Metrics
    registry: SubscriptionRegistry
    transport: HttpTransport
    messaging: Messaging
    subscriptions: SubscriptionService
    engine: DeliveryEngine
    carrier: CarrierSimulator
    dispatch: bool = True
    _started: bool = field(default=False, init=False)

    @property
    def key_bytes(self) -> bytes:
        return self.settings.resource.key_bytes

    @classmethod
    def build(cls, settings: Settings, *, dispatch: bool = True, base_url: str = "") -> Runtime:
        store = open_store(settings.database_url)
        clock = Clock(settings.time_scale)
        metrics = Metrics()
        registry = SubscriptionRegistry()
        transport = HttpTransport(timeout_seconds=settings.delivery.timeout_seconds)
        topic = resource_topic(
            settings.resource.subscription_id, settings.resource.resource_group, settings.resource.name
        )
        events = EventFactory(
            topic=topic,
            casing=DataCasing(settings.resource.data_casing),
            router=registry,
        )
        engine = DeliveryEngine(
            store=store,
            registry=registry,
            transport=transport,
            clock=clock,
            metrics=metrics,
            settings=settings,
        )
        carrier_box: list[CarrierSimulator] = []
        messaging = Messaging(
            store=store,
            settings=settings,
            clock=clock,
            events=events,
            wake_carrier=lambda: carrier_box[0].wake(),  # noqa: PLW0108 - the carrier is built next
            wake_dispatcher=engine.wake,
        )
        carrier = CarrierSimulator(store=store, messaging=messaging, clock=clock, wake_dispatcher=engine.wake)
        carrier_box.append(carrier)
        subscriptions = SubscriptionService(
            store=store,
            registry=registry,
            transport=transport,
            clock=clock,
            engine=engine,
            topic=topic,
            base_url=base_url,
        )
        return cls(
            settings=settings,
            store=store,
            clock=clock,
            metrics=metrics,
            registry=registry,
            transport=transport,
            messaging=messaging,
            subscriptions=subscriptions,
            engine=engine,
            carrier=carrier,
            dispatch=dispatch,
        )

    async def start(self) -> None:
        await self.transport.start()
        await self.subscriptions.load(self.settings.subscriptions)
        if self.dispatch:
            if self.store.dialect == "sqlite":
                await self.store.release_claims(self.clock.now())
            self.carrier.start()
            self.engine.start()
        self._started = True

    async def stop(self) -> None:
        if self.dispatch:
            await self.carrier.stop()
            await self.engine.stop()
        await self.subscriptions.stop()
        await self.transport.close()
        await self.store.close()

    async def redeliver(self, deadletter_id: int) -> bool:
        active = self.registry.active_names()
        done = await self.store.redeliver(deadletter_id, self.clock.now(), active)
        if done:
            self.engine.wake()
        return done

    async def metrics_text(self) -> tuple[bytes, str]:
        counts = await self.store.counts()
        self.metrics.queue_depth.set(counts["pending_deliveries"])
        return await asyncio.to_thread(generate_latest, self.metrics.registry), CONTENT_TYPE_LATEST
