"""Turn an Event into what the store commits: the rendered Event Grid item and the subscriptions it matches."""

from __future__ import annotations

from typing import Any, Protocol

import orjson

from smsgrid.events.models import DataCasing, Event
from smsgrid.events.render import to_event_grid_dict
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
