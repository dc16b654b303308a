"""The delivery engine: keeps one pump (delivery/pump.py) running per active subscription.

Committing events wakes only the pumps of the subscriptions they were routed to (`wake(names)`, the names from
`messaging.publishing.routed_subscriptions(events)`), so one event costs one claim query per matching
subscription, not one per subscription. `wake_all()` is for work whose subscriptions are not known here
(another process's NOTIFY, a redelivery).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any, Protocol

from smsgrid.clock import Clock
from smsgrid.config import Settings
from smsgrid.delivery.pump import Pump, PumpDependencies
from smsgrid.delivery.registry import SubscriptionRegistry
from smsgrid.delivery.retry import EndpointHealth
from smsgrid.delivery.subscription_spec import SubscriptionSpec, WebhookDestination
from smsgrid.delivery.transport import Transport
from smsgrid.metrics import Metrics
from smsgrid.store.port import Store

log = logging.getLogger("smsgrid.delivery")


class BearerTokens(Protocol):
    """Entra tokens for protected webhooks (entra/webhooks.py `WebhookTokens`)."""

    async def bearer(self, audience: str) -> str: ...


class DeliveryEngine:
    def __init__(
        self,
        *,
        store: Store,
        registry: SubscriptionRegistry,
        transport: Transport,
        clock: Clock,
        metrics: Metrics,
        settings: Settings,
        webhook_tokens: BearerTokens | None = None,
    ) -> None:
        self.store = store
        self.webhook_tokens = webhook_tokens
        self.registry = registry
        self.transport = transport
        self.clock = clock
        self.metrics = metrics
        self.settings = settings
        self.deadletter_root = settings.data_dir / "deadletters"
        self.pump_dependencies = PumpDependencies(
            store=store,
            transport=transport,
            clock=clock,
            metrics=metrics,
            delivery=settings.delivery,
            deadletter_root=self.deadletter_root,
            storage_accounts=settings.storage_accounts,
            function_apps=settings.function_apps,
            authorization=self.authorization_for,
        )
        self._pumps: dict[str, Pump] = {}
        self._stopping: set[asyncio.Task[None]] = set()
        self._running = False

    def start(self) -> None:
        self._running = True
        self.sync()

    async def stop(self) -> None:
        self._running = False
        pumps = list(self._pumps.values())
        self._pumps.clear()
        await asyncio.gather(*(p.stop() for p in pumps), *self._stopping)

    def wake(self, subscriptions: Iterable[str]) -> None:
        """New work for these subscriptions: their pumps claim it now (the others keep sleeping)."""
        for name in subscriptions:
            pump = self._pumps.get(name)
            if pump is not None:
                pump.wakeup.set()

    def wake_all(self) -> None:
        """New work whose subscriptions are not known here: every pump looks."""
        for pump in self._pumps.values():
            pump.wakeup.set()

    def running(self) -> tuple[str, ...]:
        """The subscriptions that have a pump."""
        return tuple(self._pumps)

    def pump(self, name: str) -> Pump | None:
        return self._pumps.get(name)

    def sync(self) -> None:
        """Start pumps for newly active subscriptions, update changed ones, stop removed ones."""
        if not self._running:
            return
        active = {spec.name: spec for spec in self.registry.active()}
        for name in list(self._pumps):
            if name not in active:
                pump = self._pumps.pop(name)
                # Keep a reference: the event loop holds tasks only weakly.
                task = asyncio.create_task(pump.stop())
                self._stopping.add(task)
                task.add_done_callback(self._stopping.discard)
        for name, spec in active.items():
            existing = self._pumps.get(name)
            if existing is None:
                pump = self._pumps[name] = Pump(self.pump_dependencies, spec)
                pump.start()
            else:
                existing.spec = spec
                existing.wakeup.set()

    async def authorization_for(self, spec: SubscriptionSpec) -> str | None:
        """The `Authorization` value of an Entra-protected destination (a cached token), else None."""
        destination = spec.destination
        if not isinstance(destination, WebhookDestination) or self.webhook_tokens is None:
            return None
        audience = destination.azure_active_directory_application_id_or_uri
        if audience is None:
            return None
        return await self.webhook_tokens.bearer(audience)

    def health_of(self, name: str) -> dict[str, Any]:
        pump = self._pumps.get(name)
        health = pump.health if pump else EndpointHealth()
        now = self.clock.now()
        return {
            "consecutiveFailures": health.consecutive_failures,
            "onProbation": health.probation_until > now,
            "probationUntil": health.probation_until if health.probation_until > now else None,
        }


__all__ = ["DeliveryEngine"]
