"""Change notices for the web UI's live pages: the store says when it committed a write; nobody polls.

`notifying_store` wraps the store every subsystem shares, so a send, an inbound SMS, a carrier report, a
delivery attempt, a redelivery or a subscription change all bump one `ChangeFeed`; the runtime bumps it too when
PostgreSQL NOTIFY says another process committed work. Waiters (`smsgrid.ui.live`) sleep on an asyncio event
in between, so an idle server with open UI tabs costs no CPU.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Awaitable, Callable
from typing import Any, cast

from smsgrid.store.port import Store

# Store methods that commit something a page shows; claims and reads change nothing visible.
WRITES = frozenset(
    {
        "accept_messages",
        "record_inbound",
        "finish_carrier_jobs",
        "update_carrier_plans",
        "record_carrier_part",
        "publish",
        "finish_deliveries",
        "redeliver",
        "set_optouts",
        "put_subscription",
        "delete_subscription",
        "purge_finished",
    }
)


class ChangeFeed:
    def __init__(self) -> None:
        self.generation = 0
        self._event = asyncio.Event()

    def bump(self) -> None:
        self.generation += 1
        event, self._event = self._event, asyncio.Event()
        event.set()

    async def wait_past(self, generation: int, timeout: float | None) -> None:
        """Return once the feed has moved past `generation` (at once if it already has), or after `timeout`."""
        if self.generation != generation:
            return
        event = self._event
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await event.wait()


class _NotifyingStore:
    def __init__(self, inner: Store, on_write: Callable[[], None]) -> None:
        self._inner = inner
        self._on_write = on_write

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name not in WRITES:
            return attr
        method = cast(Callable[..., Awaitable[Any]], attr)

        @functools.wraps(method)
        async def write(*args: Any, **kwargs: Any) -> Any:
            try:
                return await method(*args, **kwargs)
            finally:
                self._on_write()

        return write


def notifying_store(inner: Store, on_write: Callable[[], None]) -> Store:
    return cast(Store, _NotifyingStore(inner, on_write))
