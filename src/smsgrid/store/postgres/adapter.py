"""The PostgreSQL adapter of the store port: many processes (API and workers) share one database.

- Writes go through one group-commit writer per process (writer.py): resolved only after COMMIT.
- Claims are single statements (`FOR UPDATE SKIP LOCKED`, due_at pushed forward as the lease) on a small pool, so
  a claim's transaction lasts one round trip; a dead worker's claims become due again when the lease runs out.
- Committed carrier work, deliveries and subscription changes NOTIFY a channel; `listen` wakes this process on them.
- Reads run on the pool. A database that cannot be reached raises StoreUnavailableError (the API answers 503).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import asyncpg
import orjson

from smsgrid.errors import StoreError, StoreUnavailableError
from smsgrid.store import rows as common
from smsgrid.store.postgres import queries as q
from smsgrid.store.postgres.migrate import migrate
from smsgrid.store.postgres.writer import GroupWriter, Transaction, wrap
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

log = logging.getLogger("smsgrid.store.postgres")

T = TypeVar("T")

CONNECT_TIMEOUT_SECONDS = 5.0
# A statement that has not answered in this long means the database is in trouble: fail (503) rather than hang.
COMMAND_TIMEOUT_SECONDS = 30.0
POOL_SIZE = 6
# A worker that finished work keeps trying to record that for this long while the database is away (a restart or
# failover), instead of leaving the work to be redone when its lease runs out. Finishing twice is harmless: the
# statements only touch work still pending (queries.DELIVERED, DELETE_CARRIER_JOBS).
FINISH_RETRY_SECONDS = 120.0
LISTEN_PING_SECONDS = 5.0

WAKE_KINDS = {
    q.CHANNEL_CARRIER: "carrier",
    q.CHANNEL_DELIVERIES: "deliveries",
    q.CHANNEL_SUBSCRIPTIONS: "subscriptions",
}


class PostgresStore:
    """Durable state in PostgreSQL. Every write resolves only after its transaction committed."""

    dialect = "postgresql"

    def __init__(self, url: str) -> None:
        self.url = url
        # Written into claimed rows (claimed_by = "host:pid#claim"): which process holds a lease, and which claim.
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}"
        self._claim_numbers = itertools.count(1)
        self._lost_claims: list[tuple[str, str]] = []  # (release statement, claim token)
        self._pool: asyncpg.Pool | None = None
        self._pool_lock = asyncio.Lock()
        self._writer = GroupWriter(self._writer_connection)
        self._listener: _Listener | None = None

    # -- connections -----------------------------------------------------------------------------------------

    async def _connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(
            self.url,
            timeout=CONNECT_TIMEOUT_SECONDS,
            command_timeout=COMMAND_TIMEOUT_SECONDS,
            server_settings={"application_name": "smsgrid"},
        )

    async def _ready(self) -> asyncpg.Pool:
        """The pool, made (and the schema migrated) on first use: the port's constructor cannot await."""
        if self._pool is not None:
            return self._pool
        async with self._pool_lock:
            if self._pool is None:
                conn = await self._connect()
                try:
                    await migrate(conn)
                finally:
                    await conn.close()
                self._pool = await asyncpg.create_pool(
                    self.url,
                    min_size=0,  # connect on demand: no background reconnect attempts while the database is away
                    max_size=POOL_SIZE,
                    timeout=CONNECT_TIMEOUT_SECONDS,
                    command_timeout=COMMAND_TIMEOUT_SECONDS,
                    server_settings={"application_name": "smsgrid"},
                )
        return self._pool

    async def _writer_connection(self) -> asyncpg.Connection:
        await self._ready()
        return await self._connect()

    async def _read(self, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        """Run on a pooled connection, each statement its own (short) transaction."""
        try:
            pool = await self._ready()
            async with pool.acquire() as conn:
                return await work(conn)
        except Exception as exc:
            failure = wrap(exc)
            if failure is exc:
                raise
            raise failure from exc

    async def _write(self, work: Callable[[Transaction], Awaitable[T]]) -> T:
        return await self._writer.submit(work)

    async def _write_retrying(self, work: Callable[[Transaction], Awaitable[T]]) -> T:
        deadline = time.monotonic() + FINISH_RETRY_SECONDS
        delay = 0.05
        while True:
            try:
                return await self._writer.submit(work)
            except StoreUnavailableError:
                if time.monotonic() + delay > deadline:
                    raise
                log.warning("the database is unavailable; keeping finished work, retrying in %.2f s", delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)

    async def close(self) -> None:
        if self._listener is not None:
            await self._listener.stop()
        await self._writer.close()
        if self._pool is not None:
            try:
                await asyncio.wait_for(self._pool.close(), 5.0)
            except (TimeoutError, asyncpg.PostgresError, OSError):
                self._pool.terminate()

    async def listen(self, on_wake: Callable[[str], None]) -> None:
        """Call `on_wake(kind)` ("carrier", "deliveries", "subscriptions") when another process commits such work.

        Also called for every kind after the listening connection came back from a database restart (notifications
        sent meanwhile are lost, so assume everything changed)."""
        if self._listener is not None:
            return
        listener = _Listener(self._connect, on_wake)
        try:
            await self._ready()
            await listener.start()
        except Exception as exc:
            failure = wrap(exc)
            if failure is exc:
                raise
            raise failure from exc
        self._listener = listener

    # -- sending ---------------------------------------------------------------------------------------------

    async def accept_messages(self, messages: Sequence[OutgoingMessage]) -> list[AcceptResult]:
        async def work(tx: Transaction) -> list[AcceptResult]:
            if not messages:
                return []
            rows = await tx.conn.fetchmany(q.ACCEPT_MESSAGE, [_accept_args(m) for m in messages])
            found = {row[0]: AcceptResult(row[1], repeated=row[2]) for row in rows}
            results = []
            for m in messages:
                result = found.get(m.message_id)
                if result is None and m.repeatability_request_id is not None:
                    # Another process committed the same repeatability id after this statement's snapshot.
                    existing = await tx.conn.fetchval(q.MESSAGE_BY_REPEATABILITY, m.repeatability_request_id)
                    result = AcceptResult(existing, repeated=True) if existing else None
                if result is None:
                    raise StoreError(f"message {m.message_id} was neither stored nor found; retry the request")
                results.append(result)
            if any(not r.repeated for r in results):
                tx.notify(q.CHANNEL_CARRIER)
            return results

        return await self._write(work)

    async def record_inbound(self, message: InboundMessage) -> None:
        await self._write(lambda tx: _insert_inbound(tx, [message]))

    # -- the carrier -----------------------------------------------------------------------------------------

    async def claim_carrier_jobs(self, now: float, limit: int, lease_until: float) -> list[CarrierJob]:
        async def work(conn: asyncpg.Connection, token: str) -> list[CarrierJob]:
            rows = await conn.fetch(q.CLAIM_CARRIER_JOBS, lease_until, now, limit, token)
            orphans = [row[0] for row in rows if not row[2]]
            if orphans:
                await conn.execute(q.DELETE_CARRIER_JOBS, orphans)
            jobs = [common.carrier_job(row[0], row[1], tuple(row)[3:]) for row in rows if row[2]]
            return await _with_parts(conn, jobs)

        return await self._claim(q.RELEASE_LOST_CARRIER_CLAIM, now, work)

    async def _claim(
        self, release: str, now: float, work: Callable[[asyncpg.Connection, str], Awaitable[list[T]]]
    ) -> list[T]:
        """Claim under a fresh token (claimed_by = "host:pid#n"). If the database went away before the answer came,
        the claim may still have committed: its token is remembered and its rows handed back on the next claim."""
        if self._lost_claims:
            await self._read(lambda conn: self._release_lost_claims(conn, now))
        token = f"{self.worker_id}#{next(self._claim_numbers)}"
        try:
            return await self._read(lambda conn: work(conn, token))
        except StoreUnavailableError:
            self._lost_claims.append((release, token))
            raise

    async def _release_lost_claims(self, conn: asyncpg.Connection, now: float) -> None:
        while self._lost_claims:
            release, token = self._lost_claims.pop(0)  # taken first: another pump may be releasing beside us
            try:
                await conn.execute(release, token, now)
            except BaseException:
                self._lost_claims.append((release, token))
                raise

    async def finish_carrier_jobs(self, results: Sequence[CarrierResult], now: float) -> None:
        async def work(tx: Transaction) -> None:
            conn = tx.conn
            # Only jobs still waiting are finished: whoever deletes the job first reports it, exactly once, even
            # when a slow worker's lease ran out and another worker took the job over.
            deleted = await conn.fetch(q.DELETE_CARRIER_JOBS, [r.message_id for r in results])
            live = {row[0] for row in deleted}
            done = [r for r in results if r.message_id in live]
            if not done:
                return
            long_ones = [row[0] for row in deleted if common.plan_from_json(row[1]).part_references]
            if long_ones:
                await conn.execute(q.DELETE_CARRIER_PARTS, long_ones)
            await _insert_notes(conn, [(r.message_id, n) for r in done for n in r.notes])
            await conn.executemany(
                q.FINISH_MESSAGE, [(r.status, r.status_code, _report_json(r), now, r.message_id) for r in done]
            )
            events: list[NewEvent] = []
            for r in done:
                if r.event is not None:
                    events.append(r.event)
                if r.reply is not None:
                    events.append(r.reply.event)
            await _insert_inbound(tx, [r.reply for r in done if r.reply is not None], events=events)

        await self._write_retrying(work)

    async def next_carrier_due(self) -> float | None:
        return await self._read(lambda conn: conn.fetchval(q.NEXT_CARRIER_DUE))

    async def update_carrier_plans(
        self, plans: Sequence[tuple[str, CarrierPlan]], notes: Sequence[tuple[str, NoteRecord]] = ()
    ) -> None:
        async def work(tx: Transaction) -> None:
            await tx.conn.executemany(
                q.UPDATE_CARRIER_PLAN, [(plan.due_at, common.plan_json(plan), message_id) for message_id, plan in plans]
            )
            parts = [row for message_id, plan in plans for row in common.carrier_part_rows(message_id, plan)]
            if parts:
                await tx.conn.executemany(q.INSERT_CARRIER_PART, parts)
            await _insert_notes(tx.conn, notes)

        await self._write_retrying(work)

    async def record_carrier_part(
        self, message_id: str, reference: str, report: PartReport, notes: Sequence[NoteRecord] = ()
    ) -> bool:
        async def work(tx: Transaction) -> bool:
            status = await tx.conn.execute(
                q.RECORD_CARRIER_PART, common.part_report_json(report), reference, message_id
            )
            if not _row_count(status):
                return False
            await _insert_notes(tx.conn, [(message_id, n) for n in notes])
            return True

        return await self._write_retrying(work)

    async def carrier_job_by_reference(self, reference: str) -> CarrierJob | None:
        async def work(conn: asyncpg.Connection) -> CarrierJob | None:
            row = await conn.fetchrow(q.CARRIER_JOB_BY_REFERENCE, reference)
            if row is None:
                return None
            [job] = await _with_parts(conn, [common.carrier_job(row[0], row[1], tuple(row)[2:])])
            return job

        return await self._read(work)

    async def carrier_notes(self, message_id: str) -> list[CarrierNoteView]:
        async def work(conn: asyncpg.Connection) -> list[CarrierNoteView]:
            return common.carrier_note_views([tuple(row) for row in await conn.fetch(q.CARRIER_NOTES, message_id)])

        return await self._read(work)

    # -- events and deliveries -------------------------------------------------------------------------------

    async def publish(self, events: Sequence[NewEvent]) -> None:
        await self._write(lambda tx: _insert_events(tx, events))

    async def claim_deliveries(
        self, subscription: str, now: float, limit: int, lease_until: float
    ) -> list[ClaimedDelivery]:
        async def work(conn: asyncpg.Connection, token: str) -> list[ClaimedDelivery]:
            rows = await conn.fetch(q.CLAIM_DELIVERIES, lease_until, subscription, now, limit, token)
            return [ClaimedDelivery(row[0], row[1], subscription, row[2], row[3], bytes(row[4])) for row in rows]

        return await self._claim(q.RELEASE_LOST_DELIVERY_CLAIM, now, work)

    async def finish_deliveries(self, results: Sequence[DeliveryResult], now: float) -> None:
        attempts = [
            (r.delivery_id, a.attempt, a.at, a.status, a.outcome, a.duration_ms, a.error)
            for r in results
            if (a := r.attempt) is not None
        ]
        delivered, retried, dead = [], [], []
        for r in results:
            count = r.attempt.attempt if r.attempt else None
            if r.state == "delivered":
                delivered.append((count, now, r.delivery_id))
            elif r.state == "pending":
                retried.append((count, r.retry_at, r.delivery_id))
            else:
                last = r.attempt
                dead.append(
                    (
                        count,
                        now,
                        r.delivery_id,
                        r.dead_letter_reason,
                        last.outcome if last else None,
                        last.status if last else None,
                        last.at if last else None,
                    )
                )

        async def work(tx: Transaction) -> None:
            for statement, args in (
                (q.INSERT_ATTEMPT, attempts),
                (q.DELIVERED, delivered),
                (q.RETRY, retried),
                (q.DEADLETTER, dead),
            ):
                if args:
                    await tx.conn.executemany(statement, args)

        await self._write_retrying(work)

    async def next_delivery_due(self, subscription: str) -> float | None:
        return await self._read(lambda conn: conn.fetchval(q.NEXT_DELIVERY_DUE, subscription))

    async def last_attempts(self, delivery_ids: Sequence[int]) -> dict[int, AttemptRecord]:
        rows = await self._read(lambda conn: conn.fetch(q.LAST_ATTEMPTS, list(delivery_ids)))
        return {row[0]: AttemptRecord(row[1], row[2], row[3], row[4], row[5], row[6]) for row in rows}

    async def release_claims(self, now: float) -> None:
        """Nothing to do: other live processes hold claims here. A dead process's leases simply run out."""

    async def redeliver(self, deadletter_id: int, now: float, subscriptions: Sequence[str]) -> bool:
        async def work(tx: Transaction) -> bool:
            row = await tx.conn.fetchrow(q.DEADLETTER_FOR_REDELIVERY, deadletter_id)
            if row is None or row[1] not in subscriptions:
                return False
            await tx.conn.execute(q.REDELIVER, now, deadletter_id)
            # A redelivery is a fresh delivery: new attempt count and a new TTL window from now.
            await tx.conn.execute(q.INSERT_DELIVERY, row[0], row[1], now, now)
            tx.notify(q.CHANNEL_DELIVERIES)
            return True

        return await self._write(work)

    # -- opt-outs --------------------------------------------------------------------------------------------

    async def set_optouts(self, sender: str, recipients: Sequence[str], opted_out: bool, now: float) -> None:
        async def work(tx: Transaction) -> None:
            if not recipients:
                return
            if opted_out:
                await tx.conn.executemany(q.OPTOUT_ADD, [(sender, r, now) for r in recipients])
            else:
                await tx.conn.executemany(q.OPTOUT_REMOVE, [(sender, r) for r in recipients])

        await self._write(work)

    async def check_optouts(self, sender: str, recipients: Sequence[str]) -> list[bool]:
        async def work(conn: asyncpg.Connection) -> list[bool]:
            opted = {row[0] for row in await conn.fetch(q.OPTED_OUT_AMONG, sender, list(recipients))}
            return [r in opted for r in recipients]

        return await self._read(work)

    # -- subscriptions ---------------------------------------------------------------------------------------

    async def put_subscription(self, record: SubscriptionRecord) -> None:
        async def work(tx: Transaction) -> None:
            await tx.conn.execute(q.UPSERT_SUBSCRIPTION, *common.subscription_row(record))
            tx.notify(q.CHANNEL_SUBSCRIPTIONS)

        await self._write(work)

    async def delete_subscription(self, name: str) -> bool:
        async def work(tx: Transaction) -> bool:
            status = await tx.conn.execute(q.DELETE_SUBSCRIPTION, name)
            await tx.conn.execute(q.DROP_PENDING_OF, name)
            tx.notify(q.CHANNEL_SUBSCRIPTIONS)
            return bool(_row_count(status))

        return await self._write(work)

    async def get_subscription(self, name: str) -> SubscriptionRecord | None:
        async def work(conn: asyncpg.Connection) -> SubscriptionRecord | None:
            row = await conn.fetchrow(q.SUBSCRIPTION_COLUMNS + " WHERE name = $1", name)
            return None if row is None else common.subscription_record(tuple(row))

        return await self._read(work)

    async def list_subscriptions(self) -> list[SubscriptionRecord]:
        async def work(conn: asyncpg.Connection) -> list[SubscriptionRecord]:
            return [common.subscription_record(tuple(row)) for row in await conn.fetch(q.SUBSCRIPTIONS_BY_NAME)]

        return await self._read(work)

    # -- namespace topics ------------------------------------------------------------------------------------

    async def put_namespace_resource(self, kind: str, key: str, body: bytes) -> None:
        async def work(tx: Transaction) -> None:
            await tx.conn.execute(
                "INSERT INTO namespace_resources (kind, key, body) VALUES ($1, $2, $3) "
                "ON CONFLICT (kind, key) DO UPDATE SET body = excluded.body",
                kind, key, body,
            )  # fmt: skip

        await self._write(work)

    async def delete_namespace_resource(self, kind: str, key: str) -> None:
        # A topic takes its subscriptions ("topic/…") and their queues with it.
        prefix = key + "/%" if kind == "topic" else key

        async def work(tx: Transaction) -> None:
            await tx.conn.execute("DELETE FROM namespace_resources WHERE kind = $1 AND key = $2", kind, key)
            await tx.conn.execute("DELETE FROM namespace_resources WHERE kind = 'subscription' AND key LIKE $1", prefix)
            await tx.conn.execute("DELETE FROM namespace_entries WHERE subscription LIKE $1", prefix)

        await self._write(work)

    async def list_namespace_resources(self) -> list[tuple[str, str, bytes]]:
        async def work(conn: asyncpg.Connection) -> list[tuple[str, str, bytes]]:
            rows = await conn.fetch("SELECT kind, key, body FROM namespace_resources ORDER BY kind DESC, key")
            return [(row[0], row[1], bytes(row[2])) for row in rows]

        return await self._read(work)

    async def save_namespace_entries(
        self, upserts: Sequence[NamespaceEntry], deletes: Sequence[tuple[str, int]]
    ) -> None:
        async def work(tx: Transaction) -> None:
            if deletes:
                await tx.conn.executemany(
                    "DELETE FROM namespace_entries WHERE subscription = $1 AND seq = $2", list(deletes)
                )
            if upserts:
                await tx.conn.executemany(
                    "INSERT INTO namespace_entries (subscription, seq, event, expires_at, available_at, "
                    "delivery_count, lock_token, locked_until, first_received_at, dead_reason, dead_at) "
                    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (subscription, seq) DO UPDATE "
                    "SET available_at = excluded.available_at, delivery_count = excluded.delivery_count, "
                    "lock_token = excluded.lock_token, locked_until = excluded.locked_until, "
                    "first_received_at = excluded.first_received_at, dead_reason = excluded.dead_reason, "
                    "dead_at = excluded.dead_at",
                    [common.namespace_entry_row(e) for e in upserts],
                )

        await self._write(work)

    async def route_namespace_outbox(
        self, limit: int, route: Callable[[Sequence[bytes]], Sequence[NamespaceEntry]]
    ) -> tuple[int, list[NamespaceEntry]]:
        async def work(tx: Transaction) -> tuple[int, list[NamespaceEntry]]:
            # SKIP LOCKED: processes catching up at once take different events, never the same one twice.
            rows = await tx.conn.fetch(
                "SELECT o.event_seq, e.item FROM namespace_outbox o LEFT JOIN events e ON e.seq = o.event_seq "
                "ORDER BY o.event_seq LIMIT $1 FOR UPDATE OF o SKIP LOCKED",
                limit,
            )
            entries = list(route([bytes(row[1]) for row in rows if row[1] is not None]))
            if entries:
                await tx.conn.executemany(
                    "INSERT INTO namespace_entries (subscription, seq, event, expires_at, available_at, "
                    "delivery_count, lock_token, locked_until, first_received_at, dead_reason, dead_at) "
                    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (subscription, seq) DO NOTHING",
                    [common.namespace_entry_row(e) for e in entries],
                )
            if rows:
                await tx.conn.execute(
                    "DELETE FROM namespace_outbox WHERE event_seq = ANY($1::bigint[])", [row[0] for row in rows]
                )
            return len(rows), entries

        return await self._write(work)

    async def list_namespace_entries(self) -> list[NamespaceEntry]:
        async def work(conn: asyncpg.Connection) -> list[NamespaceEntry]:
            rows = await conn.fetch(common.NAMESPACE_ENTRY_COLUMNS + " ORDER BY subscription, seq")
            return [common.namespace_entry(tuple(row)) for row in rows]

        return await self._read(work)

    # -- reads for the admin API and UI ----------------------------------------------------------------------

    async def get_message(self, message_id: str) -> MessageDetail | None:
        async def work(conn: asyncpg.Connection) -> MessageDetail | None:
            row = await conn.fetchrow(q.MESSAGE_COLUMNS + " WHERE message_id = $1", message_id)
            if row is None:
                return None
            events = await conn.fetch(q.EVENT_COLUMNS + " WHERE message_id = $1 ORDER BY seq", message_id)
            return common.message_detail(row, await _event_details(conn, events))

        return await self._read(work)

    async def list_messages(
        self, *, limit: int, before: float | None = None, number: str | None = None
    ) -> list[MessageView]:
        async def work(conn: asyncpg.Connection) -> list[MessageView]:
            where: list[str] = ["TRUE"]
            args: list[Any] = []
            if before is not None:
                args.append(before)
                where.append(f"created_at < ${len(args)}")
            if number is not None:
                args.append(number)
                where.append(f"(from_number = ${len(args)} OR to_number = ${len(args)})")
            args.append(limit)
            sql = q.MESSAGE_COLUMNS + f" WHERE {' AND '.join(where)} ORDER BY created_at DESC LIMIT ${len(args)}"
            return [common.message_view(row) for row in await conn.fetch(sql, *args)]

        return await self._read(work)

    async def get_event(self, event_id: str) -> EventDetail | None:
        async def work(conn: asyncpg.Connection) -> EventDetail | None:
            rows = await conn.fetch(q.EVENT_COLUMNS + " WHERE event_id = $1 ORDER BY seq DESC LIMIT 1", event_id)
            return (await _event_details(conn, rows))[0] if rows else None

        return await self._read(work)

    async def list_events(self, *, limit: int, before_seq: int | None = None) -> list[EventView]:
        async def work(conn: asyncpg.Connection) -> list[EventView]:
            if before_seq is None:
                rows = await conn.fetch(q.EVENT_COLUMNS + " ORDER BY seq DESC LIMIT $1", limit)
            else:
                rows = await conn.fetch(
                    q.EVENT_COLUMNS + " WHERE seq < $1 ORDER BY seq DESC LIMIT $2", before_seq, limit
                )
            return [common.event_view(row) for row in rows]

        return await self._read(work)

    async def list_deadletters(self, *, limit: int, include_redelivered: bool = False) -> list[DeadLetterView]:
        async def work(conn: asyncpg.Connection) -> list[DeadLetterView]:
            where = "" if include_redelivered else " WHERE x.redelivered_at IS NULL"
            sql = q.DEADLETTER_ROW + where + " ORDER BY x.deadletter_id DESC LIMIT $1"
            return [common.deadletter_view(row) for row in await conn.fetch(sql, limit)]

        return await self._read(work)

    async def get_deadletter(self, deadletter_id: int) -> DeadLetterView | None:
        async def work(conn: asyncpg.Connection) -> DeadLetterView | None:
            row = await conn.fetchrow(q.DEADLETTER_ROW + " WHERE x.deadletter_id = $1", deadletter_id)
            return None if row is None else common.deadletter_view(row)

        return await self._read(work)

    async def counts(self) -> StoreCounts:
        async def work(conn: asyncpg.Connection) -> StoreCounts:
            return common.store_counts(await conn.fetchrow(q.COUNTS))

        return await self._read(work)

    # -- retention -------------------------------------------------------------------------------------------

    async def purge_finished(self, before: float, limit: int) -> int:
        """Delete at most `limit` finished events (with deliveries, attempts, dead letters) and `limit` messages
        older than `before`; each statement is its own short transaction. Returns how many rows went."""

        async def work(conn: asyncpg.Connection) -> int:
            events = _row_count(await conn.execute(q.PURGE_EVENTS, before, limit))
            messages = _row_count(await conn.execute(q.PURGE_MESSAGES, before, limit))
            return events + messages

        return await self._read(work)


async def _with_parts(conn: asyncpg.Connection, jobs: list[CarrierJob]) -> list[CarrierJob]:
    """The jobs, a long message's with its parts' reports (one more query, only when there is one)."""
    long_ones = [job.message_id for job in jobs if job.plan.part_references]
    if not long_ones:
        return jobs
    parts: dict[str, list[str | None]] = {}
    for row in await conn.fetch(q.CARRIER_PART_REPORTS, long_ones):
        parts.setdefault(row[0], []).append(row[1])
    return [common.with_parts(job, parts.get(job.message_id, ())) if job.plan.part_references else job for job in jobs]


async def _insert_notes(conn: asyncpg.Connection, notes: Sequence[tuple[str, NoteRecord]]) -> None:
    if not notes:
        return
    await conn.executemany(q.INSERT_CARRIER_NOTE, [(message_id, n.at, n.text) for message_id, n in notes])
    await conn.execute(q.TRIM_CARRIER_NOTES, sorted({message_id for message_id, _ in notes}), common.CARRIER_NOTES_KEPT)


def _report_json(result: CarrierResult) -> str | None:
    return orjson.dumps(result.report).decode() if result.report is not None else None


def _accept_args(m: OutgoingMessage) -> tuple[Any, ...]:
    return (
        m.message_id,
        m.from_number,
        m.to_number,
        m.body,
        m.encoding,
        m.segments,
        m.tag,
        m.delivery_report,
        m.repeatability_request_id,
        m.created_at,
        m.plan.due_at,
        common.plan_json(m.plan),
        m.api_version,
        common.send_options_json(m.send_options),
        common.attachments_json(m.attachments),
    )


async def _insert_inbound(
    tx: Transaction, messages: Sequence[InboundMessage], *, events: Sequence[NewEvent] | None = None
) -> None:
    """Inbound SMS: the messages, their opt-out changes, their events, the HELP auto-replies (rows.inbound_writes).

    `events`, when given, are committed in place of the messages' own events (the carrier passes its reports and
    the replies' events interleaved, in the order the SQLite adapter writes them)."""
    conn = tx.conn
    writes = common.inbound_writes(messages)
    if writes.messages:
        await conn.executemany(q.INSERT_MESSAGE, writes.messages)
    for change, sender, recipient, at in writes.optouts:
        if change == "out":
            await conn.execute(q.OPTOUT_ADD, sender, recipient, at)
        else:
            await conn.execute(q.OPTOUT_REMOVE, sender, recipient)
    await _insert_events(tx, writes.events if events is None else events)


async def _insert_events(tx: Transaction, events: Sequence[NewEvent]) -> None:
    if not events:
        return
    await tx.conn.executemany(
        q.INSERT_EVENT,
        [
            (e.event_id, e.event_type, e.subject, e.message_id, e.published_at, e.item, list(e.subscriptions))
            for e in events
        ],
    )
    if any(e.subscriptions for e in events):
        tx.notify(q.CHANNEL_DELIVERIES)


async def _event_details(conn: asyncpg.Connection, events: Sequence[asyncpg.Record]) -> list[EventDetail]:
    seqs = [e["seq"] for e in events]
    deliveries = await conn.fetch(q.DELIVERIES_OF_EVENTS, seqs) if seqs else []
    ids = [d["delivery_id"] for d in deliveries]
    attempts = await conn.fetch(q.ATTEMPTS_OF_DELIVERIES, ids) if ids else []
    return common.event_details(events, deliveries, attempts)


def _row_count(status: str) -> int:
    """asyncpg answers a command with its tag, e.g. "DELETE 3"."""
    tail = status.rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() else 0


class _Listener:
    """One connection LISTENing on every channel; it reconnects (and wakes everything) after losing the database."""

    def __init__(self, connect: Callable[[], Awaitable[asyncpg.Connection]], on_wake: Callable[[str], None]) -> None:
        self._connect = connect
        self._on_wake = on_wake
        self._conn: asyncpg.Connection | None = None
        self._lost = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._subscribe()
        self._task = asyncio.create_task(self._keep_listening(), name="smsgrid-postgres-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._drop()

    def _heard(self, conn: Any, pid: int, channel: str, payload: object) -> None:
        kind = WAKE_KINDS.get(channel)
        if kind is not None:
            self._on_wake(kind)

    async def _subscribe(self) -> None:
        conn = await self._connect()
        self._lost = lost = asyncio.Event()
        conn.add_termination_listener(lambda _conn: lost.set())
        for channel in WAKE_KINDS:
            await conn.add_listener(channel, self._heard)
        self._conn = conn

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            conn.terminate()

    async def _keep_listening(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._lost.wait(), LISTEN_PING_SECONDS)
            except TimeoutError:
                # A connection can die without a word (a firewall, a failover): ask it something now and then.
                try:
                    assert self._conn is not None
                    await self._conn.execute("SELECT 1", timeout=LISTEN_PING_SECONDS)
                    continue
                except Exception:
                    log.warning("the LISTEN connection stopped answering; reconnecting")
            await self._drop()
            delay = 0.05
            while True:
                try:
                    await self._subscribe()
                    break
                except Exception as exc:
                    log.warning("cannot LISTEN yet (%s); retrying in %.2f s", wrap(exc), delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 2.0)
            log.info("listening for committed work again")
            # Notifications sent while we were away are gone: look at everything once.
            for kind in sorted(set(WAKE_KINDS.values())):
                self._on_wake(kind)
