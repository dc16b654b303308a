"""Redelivering a dead letter: the use case the admin API and the UI call (`POST …/redeliver`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from smsgrid.clock import Clock
from smsgrid.delivery.registry import SubscriptionRegistry
from smsgrid.store.port import Store


@dataclass(frozen=True, slots=True)
class Redelivery:
    store: Store
    registry: SubscriptionRegistry
    clock: Clock
    wake_dispatcher: Callable[[], None]

    async def __call__(self, deadletter_id: int) -> bool:
        """Queues the dead letter again; False when its subscription no longer exists or is not active."""
        done = await self.store.redeliver(deadletter_id, self.clock.now(), self.registry.active_names())
        if done:
            self.wake_dispatcher()
        return done
