"""The store port: everything the service keeps durably. SQLite and PostgreSQL adapters implement it.

Writes resolve only after their transaction committed, so a caller may answer 202 as soon as the await returns.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from smsgrid.store.records import (
    AcceptResult,
    AttemptRecord,
    CarrierJob,
    CarrierPlan,
    CarrierResult,
    ClaimedDelivery,
    DeliveryResult,
    InboundMessage,
    NamespaceEntry,
    NewEvent,
    NoteRecord,
    OutgoingMessage,
    PartReport,
    SubscriptionRecord,
)
from smsgrid.store.views import (
    CarrierNoteView,
    DeadLetterView,
    EventDetail,
    EventView,
    MessageDetail,
    MessageView,
    StoreCounts,
)


class Store(Protocol):
    dialect: str

    async def close(self) -> None: ...

    async def accept_messages(self, messages: Sequence[OutgoingMessage]) -> list[AcceptResult]: ...
    async def record_inbound(self, message: InboundMessage) -> None: ...

    async def claim_carrier_jobs(self, now: float, limit: int, lease_until: float) -> list[CarrierJob]: ...
    async def finish_carrier_jobs(self, results: Sequence[CarrierResult], now: float) -> None: ...
    async def next_carrier_due(self) -> float | None: ...
    # Carrier work submitted and waiting for its report: a new plan (reference, next look at `plan.due_at`), with
    # the notes that came with it (by message id), in one transaction. A plan with `part_references` also stores
    # one carrier_parts row per part, each found by its reference.
    async def update_carrier_plans(
        self, plans: Sequence[tuple[str, CarrierPlan]], notes: Sequence[tuple[str, NoteRecord]] = ()
    ) -> None: ...
    # One part's report of a long message still waiting, with its notes, in one transaction. False (nothing
    # written) when that part already has one or the message is finished.
    async def record_carrier_part(
        self, message_id: str, reference: str, report: PartReport, notes: Sequence[NoteRecord] = ()
    ) -> bool: ...
    # The waiting work a carrier's report names by the carrier's reference (a long message's: any part's), with
    # its parts' reports; None when it is finished or unknown.
    async def carrier_job_by_reference(self, reference: str) -> CarrierJob | None: ...
    # What carriers put on a message's timeline, oldest first (at most rows.CARRIER_NOTES_KEPT, the newest).
    async def carrier_notes(self, message_id: str) -> list[CarrierNoteView]: ...

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
    async def get_subscription(self, name: str) -> SubscriptionRecord | None: ...
    async def list_subscriptions(self) -> list[SubscriptionRecord]: ...

    # Reads for the admin API, the UI and the CLI: typed read models (store/views.py), newest first in listings.
    async def get_message(self, message_id: str) -> MessageDetail | None: ...
    async def list_messages(
        self, *, limit: int, before: float | None = None, number: str | None = None
    ) -> list[MessageView]: ...
    async def get_event(self, event_id: str) -> EventDetail | None:
        """The newest event with this id (a publisher may reuse ids), with its deliveries and their attempts."""
        ...

    async def list_events(self, *, limit: int, before_seq: int | None = None) -> list[EventView]: ...
    async def list_deadletters(self, *, limit: int, include_redelivered: bool = False) -> list[DeadLetterView]: ...
    async def get_deadletter(self, deadletter_id: int) -> DeadLetterView | None: ...
    async def counts(self) -> StoreCounts: ...

    # Namespace topics (smsgrid.namespaces): their ARM definitions (kind "topic" keyed by topic, "subscription"
    # keyed by "topic/subscription"; deleting a topic deletes its subscriptions and their queues) and queues.
    async def put_namespace_resource(self, kind: str, key: str, body: bytes) -> None: ...
    async def delete_namespace_resource(self, kind: str, key: str) -> None: ...
    async def list_namespace_resources(self) -> list[tuple[str, str, bytes]]: ...
    async def save_namespace_entries(
        self, upserts: Sequence[NamespaceEntry], deletes: Sequence[tuple[str, int]]
    ) -> None: ...
    async def list_namespace_entries(self) -> list[NamespaceEntry]: ...
    async def route_namespace_outbox(
        self, limit: int, route: Callable[[Sequence[bytes]], Sequence[NamespaceEntry]]
    ) -> tuple[int, list[NamespaceEntry]]:
        """In one transaction: take up to `limit` committed events not yet routed into namespace topics (every
        event write adds its event to this outbox), store the entries `route` makes of their Event Grid items and
        remove them from the outbox. Returns how many events it took and the entries it stored."""
        ...

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
