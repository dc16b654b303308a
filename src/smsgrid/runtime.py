"""The composition root: builds every subsystem from Settings once, starts and stops them in order."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from smsgrid.api.carriers import SIMULATOR_ONLY, CarrierOverview
from smsgrid.api.context import AppContext
from smsgrid.api.hmac_auth import CLOCK_SKEW_SECONDS
from smsgrid.api.web_auth import WebAuth
from smsgrid.carrier.factory import build_carrier
from smsgrid.carrier.port import Carrier
from smsgrid.carrier.simulator import CarrierSimulator
from smsgrid.changes import ChangeFeed, notifying_store
from smsgrid.clock import Clock, SystemClock
from smsgrid.config import Settings
from smsgrid.delivery.engine import DeliveryEngine
from smsgrid.delivery.redelivery import Redelivery
from smsgrid.delivery.registry import SubscriptionRegistry
from smsgrid.delivery.subscriptions import SubscriptionService
from smsgrid.delivery.transport import AiohttpTransport, Transport
from smsgrid.entra import EntraIssuer
from smsgrid.entra.webhooks import WebhookTokens
from smsgrid.errors import StoreError
from smsgrid.events.models import DataCasing, resource_topic
from smsgrid.messaging.carrier_dispatch import CarrierDispatcher
from smsgrid.messaging.inbound import Inbox, resource_senders
from smsgrid.messaging.publishing import EventFactory, EventPublisher
from smsgrid.messaging.service import Messaging
from smsgrid.metrics import Metrics, watch_event_loop
from smsgrid.namespaces.broker import NamespaceBroker
from smsgrid.namespaces.routing import routing_store
from smsgrid.store.port import Store, open_store
from smsgrid.store.retention import run_retention

log = logging.getLogger("smsgrid.runtime")

# Safety net beside the `subscriptions` NOTIFY: every process re-reads the subscriptions this often (PostgreSQL).
SUBSCRIPTION_REFRESH_SECONDS = 5.0
# The longest an expired subscription keeps receiving before it is deleted.
EXPIRY_SWEEP_SECONDS = 5.0


@dataclass
class Runtime:
    settings: Settings
    store: Store
    clock: Clock
    metrics: Metrics
    registry: SubscriptionRegistry
    transport: Transport
    messaging: Messaging
    subscriptions: SubscriptionService
    engine: DeliveryEngine
    redelivery: Redelivery
    carrier: CarrierDispatcher
    events: EventFactory
    publisher: EventPublisher
    entra: EntraIssuer
    namespaces: NamespaceBroker
    dispatch: bool = True
    carriers: CarrierOverview = SIMULATOR_ONLY
    changes: ChangeFeed = field(default_factory=ChangeFeed)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list, init=False)
    _subscriptions_changed: asyncio.Event = field(default_factory=asyncio.Event, init=False)

    @property
    def key_bytes(self) -> bytes:
        return self.settings.resource.key_bytes

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        dispatch: bool = True,
        base_url: str = "",
        issuer_base_url: str = "",
        carrier: Carrier | None = None,
    ) -> Runtime:
        """`issuer_base_url`: the address that names the Entra issuer in the tokens of protected webhooks (the TLS
        listener's, docs/entra.md); a process without listeners (`smsgrid worker`) uses https://localhost.
        `carrier`: the one to use instead of the configured one (tests, embedding)."""
        changes = ChangeFeed()
        clock = SystemClock(settings.time_scale)
        resource = settings.resource
        namespaces = NamespaceBroker(
            clock,
            f"/subscriptions/{resource.subscription_id}/resourceGroups/{resource.resource_group}"
            f"/providers/Microsoft.EventGrid/namespaces/{resource.name}",
            serving=bool(base_url),  # `smsgrid worker` has no listener
        )
        namespaces.load(settings.namespace_topics)
        store = routing_store(notifying_store(open_store(settings.database_url), changes.bump), namespaces)
        metrics = Metrics()
        registry = SubscriptionRegistry()
        # Many subscriptions to one host share its connections (hundreds of sockets to one receiver cost more
        # than they bring); twice one endpoint's concurrency, so a hanging subscription cannot take them all.
        transport = AiohttpTransport(
            timeout_seconds=settings.delivery.timeout_seconds,
            connections_per_host=2 * settings.delivery.max_concurrency_per_endpoint,
            verify_tls=settings.delivery.verify_tls,
            ca_file=settings.delivery.ca_file,
        )
        topic = resource_topic(
            settings.resource.subscription_id, settings.resource.resource_group, settings.resource.name
        )
        events = EventFactory(
            topic=topic,
            casing=DataCasing(settings.resource.data_casing),
            router=registry,
        )
        # One issuer per process: its signing key lives in the data dir, so every process signs with the same key.
        entra = EntraIssuer(settings.entra, settings.data_dir)
        webhook_tokens = WebhookTokens(entra, issuer_base_url or base_url or "https://localhost")
        engine = DeliveryEngine(
            store=store,
            registry=registry,
            transport=transport,
            clock=clock,
            metrics=metrics,
            settings=settings,
            webhook_tokens=webhook_tokens,
        )
        publisher = EventPublisher(metrics=metrics, wake=engine.wake)
        inbox = Inbox(
            store=store,
            events=events,
            publisher=publisher,
            metrics=metrics,
            senders=resource_senders(settings),
            help_reply=settings.resource.help_reply,
        )
        # `[[carrier.smpp]]` connections when any is configured, else the simulator. Every process builds it (the
        # send path asks its `refusal`); only a dispatching one starts it, so only there do its links report.
        chosen = carrier if carrier is not None else build_carrier(settings.carrier, clock=clock)
        carriers = CarrierOverview(
            kind="simulator" if isinstance(chosen, CarrierSimulator) else "smpp",
            dispatching=dispatch,
            connections=chosen.connections,
        )
        if dispatch:
            metrics.watch_carrier(chosen.connections)
        dispatcher = CarrierDispatcher(
            store=store,
            carrier=chosen,
            inbox=inbox,
            events=events,
            publisher=publisher,
            clock=clock,
            on_unknown_outcome=metrics.carrier_unknown_outcomes.inc,
        )
        messaging = Messaging(
            store=store,
            settings=settings,
            clock=clock,
            carrier=chosen,
            inbox=inbox,
            wake_carrier=dispatcher.wake,
            metrics=metrics,
        )
        subscriptions = SubscriptionService(
            store=store,
            registry=registry,
            transport=transport,
            clock=clock,
            engine=engine,
            topic=topic,
            base_url=base_url,
            entra_tenant_id=settings.entra.tenant_id,
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
            redelivery=Redelivery(store=store, registry=registry, clock=clock, wake_dispatcher=engine.wake_all),
            carrier=dispatcher,
            events=events,
            publisher=publisher,
            entra=entra,
            namespaces=namespaces,
            dispatch=dispatch,
            carriers=carriers,
            changes=changes,
        )

    async def start(self) -> None:
        # First, so a slow start-up step shows in the lag too; cancelled with the other background tasks. Timed by
        # time.monotonic, not loop.time(): uvloop's loop clock counts whole milliseconds.
        self._background(watch_event_loop(self.metrics, now=time.monotonic))
        await self.transport.start()
        # Listen before loading, so a subscription another process commits in between is not missed.
        await self.store.listen(self._on_store_wake)
        await self.namespaces.attach(self.store)
        await self.subscriptions.load(self.settings.subscriptions)
        if self.dispatch:
            if self.store.dialect == "sqlite":
                await self.store.release_claims(self.clock.now())
            await self.carrier.start()
            self.engine.start()
            self._background(run_retention(self.store, self.clock, self.settings.store.retention_days))
        if self.store.dialect != "sqlite":
            self._background(self._follow_subscriptions())
        self._background(self._sweep_expired_subscriptions())

    async def _sweep_expired_subscriptions(self) -> None:
        """Deletes subscriptions whose expirationTimeUtc has passed, so they stop receiving (GET and list also
        check). The interval follows --time-scale, so tests need not wait a minute."""
        interval = max(0.05, min(EXPIRY_SWEEP_SECONDS, self.clock.scaled(60.0)))
        while True:
            await asyncio.sleep(interval)
            try:
                await self.subscriptions.sweep_expired()
            except StoreError as exc:
                log.warning("deleting expired subscriptions failed (%s); trying again shortly", exc)

    def _background(self, work: Coroutine[Any, Any, None]) -> None:
        self._tasks.append(asyncio.create_task(work))

    def _on_store_wake(self, kind: str) -> None:
        """Another process committed work (PostgreSQL LISTEN/NOTIFY): wake whoever takes it, within milliseconds."""
        self.changes.bump()
        if kind == "carrier":
            self.carrier.wake()
        elif kind == "deliveries":
            self.engine.wake_all()
        elif kind == "subscriptions":
            self._subscriptions_changed.set()

    async def _follow_subscriptions(self) -> None:
        while True:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow the cancellation of a clean stop.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(SUBSCRIPTION_REFRESH_SECONDS):
                    await self._subscriptions_changed.wait()
            self._subscriptions_changed.clear()
            try:
                await self.subscriptions.refresh()
            except StoreError as exc:
                log.warning("cannot refresh subscriptions (%s); retrying", exc)
            except Exception:
                log.exception("refreshing subscriptions failed unexpectedly; retrying")

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.dispatch:
            await self.carrier.stop()
            await self.engine.stop()
        await self.subscriptions.stop()
        await self.transport.close()
        await self.store.close()

    def app_context(self) -> AppContext:
        """What the HTTP layer uses (`smsgrid.api.app.create_app`), with its own sessions and login tokens."""
        return AppContext(
            resource=self.settings.resource,
            store=self.store,
            clock=self.clock,
            metrics=self.metrics,
            messaging=self.messaging,
            subscriptions=self.subscriptions,
            registry=self.registry,
            redelivery=self.redelivery,
            namespaces=self.namespaces,
            entra=self.entra,
            # A signature can be replayed for as long as its x-ms-date is accepted: that far either side of now.
            web_auth=WebAuth.create(replay_window_seconds=2 * CLOCK_SKEW_SECONDS),
            changes=self.changes,
            events=self.events,
            publisher=self.publisher,
            carriers=self.carriers,
        )


def private_data_dir(settings: Settings) -> None:
    """Makes the data dir private: it holds the database, the TLS key and dead letters (SECURITY.md). An existing
    dir keeps its mode."""
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)


def stop_on_signals(stop: asyncio.Event) -> None:
    """SIGINT and SIGTERM set `stop`, so `serve` and `worker` stop cleanly on either (where the loop allows it)."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
