"""SMS events into namespace topics: the store every subsystem shares, wrapped so that what `publish` commits
is also published into each topic with `routeSmsEvents` (docs/namespace-topics.md, "SMS events").

After the commit, never before: an event is in a topic only once it exists. Azure routes ACS events into a
namespace topic with an event subscription on the ACS system topic whose destination is `NamespaceTopic`;
smsgrid's topic switch stands for that subscription.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, cast

from smsgrid.errors import StoreError
from smsgrid.namespaces.broker import NamespaceBroker
from smsgrid.store.port import Store
from smsgrid.store.records import CarrierResult, InboundMessage, NewEvent

log = logging.getLogger("smsgrid.namespaces")


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
        await self._route([message.event])

    async def finish_carrier_jobs(self, results: Sequence[CarrierResult], now: float) -> None:
        await self._inner.finish_carrier_jobs(results, now)
        events = [r.event for r in results if r.event is not None]
        events += [r.reply.event for r in results if r.reply is not None]
        await self._route(events)

    async def publish(self, events: Sequence[NewEvent]) -> None:
        await self._inner.publish(events)
        await self._route(events)

    async def _route(self, events: Sequence[NewEvent]) -> None:
        # The write itself is committed: failing it now would have the caller redo it (a second inbound SMS, a
        # second delivery report). The events stay in the store and reach webhooks; only the topics miss them.
        try:
            await self._broker.route_resource_events(events)
        except StoreError as exc:
            ids = ", ".join(e.event_id for e in events)
            log.error("events %s are committed but not in their namespace topics: %s", ids, exc)


def routing_store(inner: Store, broker: NamespaceBroker) -> Store:
    return cast(Store, _RoutingStore(inner, broker))
