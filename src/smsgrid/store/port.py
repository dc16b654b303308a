"""The store port: everything the service keeps durably. SQLite and PostgreSQL adapters implement it.

Writes resolve only after their transaction committed, so a caller may answer 202 as soon as the await returns.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from smsgrid.store.records import (
    AcceptResult,
    AttemptRecord,
    CarrierJob,
    CarrierResult,
    ClaimedDelivery,
    DeliveryResult,
    InboundMessage,
    NewEvent,
    OutgoingMessage,
    SubscriptionRecord,
)


class Store(Protocol):
    dialect: str

    async def close(self) -> None: ...

    async def accept_messages(self, messages: Sequence[OutgoingMessage]) -> list[AcceptResult]: ...
    async def record_inbound(self, message: InboundMessage) -> None: ...

    async def claim_carrier_jobs(self, now: float, limit: int, lease_until: float) -> list[CarrierJob]: ...
    async def finish_carrier_jobs(self, results: Sequence[CarrierResult], now: float) -> None: ...
    async def next_carrier_due(self) -> float | None: ...

    async def publish(self, events: Sequence[NewEvent]) -> None: ...
    async def claim_deliveries(
        self, subscription: str, now: float, limit: int, lease_until: float
    ) -> list[ClaimedDelivery]:
        """Lease up to `limit` due deliveries; returned fewest attempts first, then oldest."""
        ...

    async def finish_deliveries(self, results: Sequence[DeliveryResult], now: float) -> None: ...
    async def next_delivery_due(self, subscription: str) -> float | None: ...
    async def last_attempts(self, delivery_ids: Sequence[int]) -> dict[int, AttemptRecord]: ...
    async def release_claims(self, now: float) -> None: ...
    async def redeliver(self, deadletter_id: int, now: float, subscriptions: Sequence[str]) -> bool: ...

    async def set_optouts(self, sender: str, recipients: Sequence[str], opted_out: bool, now: float) -> None: ...
    async def check_optouts(self, sender: str, recipients: Sequence[str]) -> list[bool]: ...

    async def put_subscription(self, record: SubscriptionRecord) -> None: ...
    async def delete_subscription(self, name: str) -> bool: ...
    async def list_subscriptions(self) -> list[SubscriptionRecord]: ...

    async def get_message(self, message_id: str) -> dict[str, Any] | None: ...
    async def list_messages(
        self, *, limit: int, before: float | None = None, number: str | None = None
    ) -> list[dict[str, Any]]: ...
    async def get_event(self, event_id: str) -> dict[str, Any] | None: ...
    async def list_events(self, *, limit: int, before_seq: int | None = None) -> list[dict[str, Any]]: ...
    async def list_deadletters(self, *, limit: int, include_redelivered: bool = False) -> list[dict[str, Any]]: ...
    async def get_deadletter(self, deadletter_id: int) -> dict[str, Any] | None: ...
    async def counts(self) -> dict[str, int]: ...

    # Scale-out (PostgreSQL). `listen` calls on_wake("carrier" | "deliveries" | "subscriptions") when another
    # process committed such work (SQLite: nothing to do, one process). `purge_finished` deletes at most `limit`
    # finished events and messages older than `before` (the retention task calls it in small batches).
    async def listen(self, on_wake: Callable[[str], None]) -> None: ...
    async def purge_finished(self, before: float, limit: int) -> int: ...


def open_store(url: str) -> Store:
    """`sqlite:///path/to/file.db` or `postgresql://…`."""
    from pathlib import Path

    from smsgrid.errors import ConfigError, Problem

    if url.startswith("sqlite:///"):
        from smsgrid.store.sqlite.adapter import SqliteStore

        return SqliteStore(Path(url.removeprefix("sqlite:///")))
    if url.startswith(("postgresql://", "postgres://")):
        from smsgrid.store.postgres.adapter import PostgresStore

        return PostgresStore(url)
    raise ConfigError(
        "--db",
        [Problem("--db", f"unsupported database URL {url!r}; use sqlite:///path or postgresql://user@host/db")],
    )
