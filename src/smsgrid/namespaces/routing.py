"""SMS events into namespace topics: the store every subsystem shares, wrapped so that what `publish` commits
is also published into each topic with `routeSmsEvents` (docs/namespace-topics.md, "SMS events").

Durable without a second commit in the caller's path: every event write also puts the event into the store's
outbox in its own transaction, and after the write the broker catches up from that outbox (NamespaceBroker.
catch_up). A failure there loses nothing: the events stay in the outbox and the next write, receive or restart
routes them. Azure routes ACS events into a namespace topic with an event subscription on the ACS system topic
whose destination is `NamespaceTopic`; smsgrid's topic switch stands for that subscription.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from smsgrid.namespaces.broker import NamespaceBroker
from smsgrid.store.port import Store
from smsgrid.store.records import CarrierResult, InboundMessage, NewEvent


class _RoutingStore:
    def __init__(self, inner: Store, broker: NamespaceBroker) -> None:
        self._inner = inner
        self._broker = broker

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    # The three writes that commit events: an inbound SMS (SMSReceived), carrier results (delivery reports and
    # handset replies) and published events (custom topic).
    async def record_inbound(self, message: InboundMessage) -> None:
        await self._inner.record_inbound(message)
        await self._catch_up()

    async def finish_carrier_jobs(self, results: Sequence[CarrierResult], now: float) -> None:
        await self._inner.finish_carrier_jobs(results, now)
        await self._catch_up()

    async def publish(self, events: Sequence[NewEvent]) -> None:
        await self._inner.publish(events)
        await self._catch_up()

    async def _catch_up(self) -> None:
        # The write itself is committed: failing it now would have the caller redo it (a second inbound SMS, a
        # second delivery report), whatever went wrong. Its events wait in the outbox for the next catch-up.
        await self._broker.after_write()


def routing_store(inner: Store, broker: NamespaceBroker) -> Store:
    return cast(Store, _RoutingStore(inner, broker))
