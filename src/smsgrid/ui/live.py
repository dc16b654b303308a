"""Live pages: a server-sent-event stream that says *what kind* of data changed, never the data itself.

The stream sleeps until the store commits a write (`smsgrid.changes.ChangeFeed`; PostgreSQL NOTIFY brings
other processes' work), then reads the versions and sends one event per topic whose version moved: `messages`,
`events`, `deadletters`, `subscriptions`, and `changed` for any of them. An idle server so costs nothing per
open tab (a 0.5 s polling loop per tab used to cost half a core). Bursts are read at most every
`MIN_INTERVAL_SECONDS`; on PostgreSQL a re-read every `SAFETY_SECONDS` catches what no NOTIFY announces (a
worker's delivery attempt). Pages refetch their own fragments on those names
(htmx `hx-trigger="sse:messages"`). Each page is rendered with the versions it saw and passes them as
`?since=`, so a change that lands between the render and the stream's first poll still reaches the page.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from smsgrid.api.context import AppContext
from smsgrid.ui.stats import counter_by_label

MIN_INTERVAL_SECONDS = 0.5
SAFETY_SECONDS = 5.0
# A stream ends after this long and the browser's EventSource reconnects (`retry:` below): no connection is
# held forever, and a server restart is picked up.
STREAM_LIFETIME_SECONDS = 300.0
RECONNECT_MILLISECONDS = 1000
RECENT_MESSAGES = 50
TOPICS = ("messages", "events", "deadletters", "subscriptions")


@dataclass(frozen=True, slots=True)
class Versions:
    messages: str
    events: str
    deadletters: str
    subscriptions: str

    def encode(self) -> str:
        return ".".join((self.messages, self.events, self.deadletters, self.subscriptions))

    @classmethod
    def decode(cls, text: str | None) -> Versions | None:
        parts = (text or "").split(".")
        if len(parts) != len(TOPICS) or not all(p.isalnum() and len(p) <= 32 for p in parts):
            return None
        return cls(*parts)

    def changed_topics(self, newer: Versions) -> list[str]:
        """The topics whose version differs, then `changed` if any did."""
        names = [t for t in TOPICS if getattr(self, t) != getattr(newer, t)]
        return [*names, "changed"] if names else []


def _digest(*parts: object) -> str:
    return hashlib.blake2b(repr(parts).encode(), digest_size=6).hexdigest()


async def current_versions(ctx: AppContext) -> Versions:
    """Cheap reads whose result moves whenever something a page shows does."""
    store = ctx.store
    counts = await store.counts()
    recent = await store.list_messages(limit=RECENT_MESSAGES)
    newest_event = await store.list_events(limit=1)
    newest_dead = await store.list_deadletters(limit=1, include_redelivered=True)
    subscriptions = await ctx.subscriptions.list()
    # Delivery attempts that end in a retry change no count; this process's attempt counter does.
    attempts = sum(counter_by_label(ctx.metrics.deliveries, "outcome").values())
    return Versions(
        messages=_digest(counts.messages, [(m.message_id, m.status) for m in recent]),
        events=_digest(
            counts.events,
            counts.pending_deliveries,
            counts.deadletters,
            newest_event[0].seq if newest_event else 0,
            attempts,
        ),
        deadletters=_digest(counts.deadletters, [(d.id, d.redelivered_at) for d in newest_dead]),
        subscriptions=_digest(
            [
                (
                    s["name"],
                    s["properties"]["provisioningState"],
                    s["health"]["consecutiveFailures"],
                    s["health"]["onProbation"],
                )
                for s in subscriptions
            ],
            attempts,
        ),
    )


def sse_event(name: str, data: str) -> str:
    return f"event: {name}\ndata: {data}\n\n"


async def change_stream(
    ctx: AppContext,
    since: Versions | None,
    *,
    min_interval_seconds: float = MIN_INTERVAL_SECONDS,
    lifetime_seconds: float = STREAM_LIFETIME_SECONDS,
) -> AsyncIterator[str]:
    # Starlette's StreamingResponse cancels this generator when the client goes away (it listens for
    # http.disconnect beside the stream), so the loop needs no check of its own; the lifetime bounds it anyway.
    yield f"retry: {RECONNECT_MILLISECONDS}\n\n"
    feed = ctx.changes
    safety = None if ctx.store.dialect == "sqlite" else SAFETY_SECONDS
    last = since
    deadline = time.monotonic() + lifetime_seconds
    while (left := deadline - time.monotonic()) > 0:
        # Read the generation before the versions: a write that lands while they are read wakes the next wait.
        generation = feed.generation
        seen = await current_versions(ctx)
        if last is not None:
            for topic in last.changed_topics(seen):
                yield sse_event(topic, seen.encode())
        else:
            yield sse_event("hello", seen.encode())
        last = seen
        await feed.wait_past(generation, left if safety is None else min(left, safety))
        await asyncio.sleep(min_interval_seconds)
