"""Events from rendering to waking: `EventFactory` turns an Event into what the store commits (the rendered Event
Grid item and the subscriptions it matches); `EventPublisher` is the one path that commits events, counts them
and wakes the delivery of the subscriptions they matched."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol

import orjson

from smsgrid.events.models import DataCasing, Event
from smsgrid.events.render import to_event_grid_dict
from smsgrid.metrics import Metrics
from smsgrid.store.records import NewEvent


class Router(Protocol):
    """Which active subscriptions an Event Grid item goes to (the delivery subsystem's registry)."""

    def route(self, item: dict[str, Any]) -> tuple[str, ...]: ...


class EventFactory:
    def __init__(self, *, topic: str, casing: DataCasing, router: Router) -> None:
        self.topic = topic
        self.casing = casing
        self.router = router

    def new_event(self, event: Event, *, message_id: str | None, published_at: float) -> NewEvent:
        item = to_event_grid_dict(event, self.casing)
        return self.from_item(item, message_id=message_id, published_at=published_at)

    def from_item(self, item: dict[str, Any], *, message_id: str | None, published_at: float) -> NewEvent:
        # Rendered once here; every delivery reuses these bytes (no per-delivery re-serialisation).
        return NewEvent(
            event_id=str(item["id"]),
            event_type=str(item["eventType"]),
            subject=str(item["subject"]),
            message_id=message_id,
            published_at=published_at,
            item=orjson.dumps(item),
            subscriptions=self.router.route(item),
        )


def routed_subscriptions(events: Iterable[NewEvent]) -> set[str]:
    """The names of the subscriptions these events were routed to (the pumps that have new work)."""
    return {name for event in events for name in event.subscriptions}


class EventPublisher:
    """Commit a write that carries events, then count them, then wake the pumps of their subscriptions.

    Used by every writer of events (an inbound SMS, the carrier dispatcher, a custom topic publish), so none of
    them counts before the commit or forgets the wake-up. `wake` gets subscription names.
    """

    def __init__(self, *, metrics: Metrics, wake: Callable[[Iterable[str]], None]) -> None:
        self._metrics = metrics
        self._wake = wake

    async def commit(self, write: Awaitable[None], events: Iterable[NewEvent | None]) -> None:
        """Await the store `write` (which commits `events`); only a committed event is counted or delivered."""
        await write
        committed = [event for event in events if event is not None]
        self._metrics.record_published(committed)
        if committed:
            self._wake(routed_subscriptions(committed))
