"""The SQLite adapter of the store port: one file, WAL, one writer thread with group commit, one reader thread."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson

from smsgrid.store import rows as common
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
from smsgrid.store.sqlite import queries as q
from smsgrid.store.sqlite.executor import SqliteExecutor, connect
from smsgrid.store.sqlite.migrate import migrate
from smsgrid.store.views import (
    CarrierNoteView,
    DeadLetterView,
    EventDetail,
    EventView,
    MessageDetail,
    MessageView,
    StoreCounts,
)


def _create_private(path: Path) -> None:
    """Create the database file readable by its owner only, before SQLite creates it with the umask (0644).

    It holds every message text and phone number (SECURITY.md). SQLite gives the -wal and -shm files the mode of
    the database file (os_unix.c, findCreateFileMode), so they are 0600 too. An existing file keeps its mode.
    """
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        pass


class SqliteStore:
    """Durable state in one SQLite file. Every write resolves only after its transaction committed."""

    dialect = "sqlite"

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        _create_private(path)
        self.path = path
        writer_conn = connect(path)
        migrate(writer_conn)
        self._writer = SqliteExecutor(writer_conn, name="smsgrid-sqlite-writer", transactional=True)
        self._reader = SqliteExecutor(connect(path), name="smsgrid-sqlite-reader", transactional=False)

    async def close(self) -> None:
        self._writer.close()
        self._reader.close()

    # -- sending ---------------------------------------------------------------------------------------------

    async def accept_messages(self, messages: Sequence[OutgoingMessage]) -> list[AcceptResult]:
        def work(conn: sqlite3.Connection) -> list[AcceptResult]:
            return [_accept_one(conn, m) for m in messages]

        return await self._writer.submit(work)

    async def record_inbound(self, message: InboundMessage) -> None:
        await self._writer.submit(lambda conn: _insert_inbound(conn, [message]))

    # -- the carrier -----------------------------------------------------------------------------------------

    async def claim_carrier_jobs(self, now: float, limit: int, lease_until: float) -> list[CarrierJob]:
        def work(conn: sqlite3.Connection) -> list[CarrierJob]:
            rows = conn.execute(q.CLAIM_CARRIER_JOBS, (lease_until, now, limit)).fetchall()
            jobs = []
            for message_id, plan in rows:
                job = _carrier_job(conn, message_id, plan)
                if job is None:
                    conn.execute(q.DELETE_CARRIER_JOB, (message_id,))
                    continue
                jobs.append(job)
            return jobs

        return await self._writer.submit(work)

    async def finish_carrier_jobs(self, results: Sequence[CarrierResult], now: float) -> None:
        def work(conn: sqlite3.Connection) -> None:
            events: list[NewEvent] = []
            replies: list[InboundMessage] = []
            for r in results:
                # Only work still waiting is finished, as on PostgreSQL: a pushed report and the timeout (or two
                # copies of one receipt) may race, and whoever deletes the job first reports it, exactly once.
                deleted = conn.execute(q.DELETE_CARRIER_JOB_RETURNING_PLAN, (r.message_id,)).fetchone()
                if deleted is None:
                    continue
                if common.plan_from_json(deleted[0]).part_references:
                    conn.execute(q.DELETE_CARRIER_PARTS, (r.message_id,))
                _insert_notes(conn, r.message_id, r.notes)
                report = orjson.dumps(r.report).decode() if r.report is not None else None
                conn.execute(q.FINISH_MESSAGE, (r.status, r.status_code, report, now, r.message_id))
                if r.event is not None:
                    events.append(r.event)
                if r.reply is not None:
                    events.append(r.reply.event)
                    replies.append(r.reply)
            _insert_inbound(conn, replies, events=events)

        await self._writer.submit(work)

    async def next_carrier_due(self) -> float | None:
        return await self._reader.submit(lambda conn: conn.execute(q.NEXT_CARRIER_DUE).fetchone()[0])

    async def update_carrier_plans(
        self, plans: Sequence[tuple[str, CarrierPlan]], notes: Sequence[tuple[str, NoteRecord]] = ()
    ) -> None:
        def work(conn: sqlite3.Connection) -> None:
            for message_id, plan in plans:
                conn.execute(q.UPDATE_CARRIER_PLAN, (plan.due_at, common.plan_json(plan), message_id))
                if plan.part_references:
                    conn.executemany(q.INSERT_CARRIER_PART, common.carrier_part_rows(message_id, plan))
            for message_id, group in _by_message(notes).items():
                _insert_notes(conn, message_id, group)

        await self._writer.submit(work)

    async def record_carrier_part(
        self, message_id: str, reference: str, report: PartReport, notes: Sequence[NoteRecord] = ()
    ) -> bool:
        def work(conn: sqlite3.Connection) -> bool:
            args = (common.part_report_json(report), reference, message_id)
            if conn.execute(q.RECORD_CARRIER_PART, args).rowcount == 0:
                return False
            _insert_notes(conn, message_id, notes)
            return True

        return await self._writer.submit(work)

    async def carrier_job_by_reference(self, reference: str) -> CarrierJob | None:
        def work(conn: sqlite3.Connection) -> CarrierJob | None:
            row = conn.execute(q.CARRIER_JOB_BY_REFERENCE, (reference,)).fetchone()
            return None if row is None else _carrier_job(conn, row[0], row[1])

        return await self._reader.submit(work)

    async def carrier_notes(self, message_id: str) -> list[CarrierNoteView]:
        def work(conn: sqlite3.Connection) -> list[CarrierNoteView]:
            return common.carrier_note_views(conn.execute(q.CARRIER_NOTES, (message_id,)).fetchall())

        return await self._reader.submit(work)

    # -- events and deliveries -------------------------------------------------------------------------------

    async def publish(self, events: Sequence[NewEvent]) -> None:
        def work(conn: sqlite3.Connection) -> None:
            for event in events:
                _insert_event(conn, event)

        await self._writer.submit(work)

    async def claim_deliveries(
        self, subscription: str, now: float, limit: int, lease_until: float
    ) -> list[ClaimedDelivery]:
        def work(conn: sqlite3.Connection) -> list[ClaimedDelivery]:
            rows = conn.execute(q.CLAIM_DELIVERIES, (lease_until, subscription, now, limit)).fetchall()
            if not rows:
                return []
            seqs = sorted({row[1] for row in rows})
            items = dict(conn.execute(q.EVENT_ITEMS.format(marks=",".join("?" * len(seqs))), seqs).fetchall())
            # Fewest attempts first, then oldest: fresh events are not starved behind ones that keep failing.
            rows.sort(key=lambda row: (row[2], row[0]))
            return [ClaimedDelivery(row[0], row[1], subscription, row[2], row[3], bytes(items[row[1]])) for row in rows]

        return await self._writer.submit(work)

    async def finish_deliveries(self, results: Sequence[DeliveryResult], now: float) -> None:
        def work(conn: sqlite3.Connection) -> None:
            # executemany per statement kind: this runs for every delivery, so keep the Python loop thin.
            attempt_rows = []
            delivered = []
            retries = []
            for r in results:
                a = r.attempt
                if a is None:
                    continue
                attempt_rows.append((r.delivery_id, a.attempt, a.at, a.status, a.outcome, a.duration_ms, a.error))
                if r.state == "delivered":
                    delivered.append((a.attempt, now, r.delivery_id))
                elif r.state == "pending":
                    retries.append((a.attempt, r.retry_at, r.delivery_id))
            conn.executemany(q.INSERT_ATTEMPT, attempt_rows)
            conn.executemany(q.DELIVERED, delivered)
            conn.executemany(q.RETRY, retries)
            for r in results:
                if r.attempt is not None and r.state != "deadlettered":
                    continue
                # No attempt this time (TTL ran out, or handed back during probation), or dead-lettered: rare.
                attempts = r.attempt.attempt if r.attempt else None
                if attempts is None:
                    row = conn.execute("SELECT attempts FROM deliveries WHERE delivery_id = ?", (r.delivery_id,))
                    attempts = row.fetchone()[0]
                if r.state == "pending":
                    conn.execute(q.RETRY, (attempts, r.retry_at, r.delivery_id))
                elif r.state == "delivered":
                    conn.execute(q.DELIVERED, (attempts, now, r.delivery_id))
                else:
                    conn.execute(q.DEADLETTERED, (attempts, now, r.delivery_id))
                    last = r.attempt
                    conn.execute(
                        q.INSERT_DEADLETTER,
                        (
                            r.dead_letter_reason,
                            attempts,
                            last.outcome if last else None,
                            last.status if last else None,
                            last.at if last else None,
                            now,
                            r.delivery_id,
                            r.delivery_id,
                        ),
                    )

        await self._writer.submit(work)

    async def last_attempts(self, delivery_ids: Sequence[int]) -> dict[int, AttemptRecord]:
        def work(conn: sqlite3.Connection) -> dict[int, AttemptRecord]:
            found = {}
            for delivery_id in delivery_ids:
                row = conn.execute(q.LAST_ATTEMPT, (delivery_id,)).fetchone()
                if row is not None:
                    found[delivery_id] = AttemptRecord(*row)
            return found

        return await self._reader.submit(work)

    async def next_delivery_due(self, subscription: str) -> float | None:
        return await self._reader.submit(lambda conn: conn.execute(q.NEXT_DELIVERY_DUE, (subscription,)).fetchone()[0])

    async def release_claims(self, now: float) -> None:
        """After a restart nobody holds a claim: make leased work due again at once (single-process SQLite)."""

        def work(conn: sqlite3.Connection) -> None:
            conn.execute(q.RELEASE_CLAIMS, (now,))
            conn.execute(q.RELEASE_CARRIER_CLAIMS)

        await self._writer.submit(work)

    async def redeliver(self, deadletter_id: int, now: float, subscriptions: Sequence[str]) -> bool:
        def work(conn: sqlite3.Connection) -> bool:
            row = conn.execute(
                "SELECT event_seq, subscription, publish_time FROM deadletters "
                "WHERE deadletter_id = ? AND redelivered_at IS NULL",
                (deadletter_id,),
            ).fetchone()
            if row is None or row[1] not in subscriptions:
                return False
            conn.execute(q.REDELIVER, (now, deadletter_id))
            # A redelivery is a fresh delivery: new attempt count and a new TTL window from now.
            conn.execute(q.INSERT_DELIVERY, (row[0], row[1], now, now))
            return True

        return await self._writer.submit(work)

    # -- opt-outs --------------------------------------------------------------------------------------------

    async def set_optouts(self, sender: str, recipients: Sequence[str], opted_out: bool, now: float) -> None:
        def work(conn: sqlite3.Connection) -> None:
            for recipient in recipients:
                if opted_out:
                    conn.execute(q.OPTOUT_ADD, (sender, recipient, now))
                else:
                    conn.execute(q.OPTOUT_REMOVE, (sender, recipient))

        await self._writer.submit(work)

    async def check_optouts(self, sender: str, recipients: Sequence[str]) -> list[bool]:
        def work(conn: sqlite3.Connection) -> list[bool]:
            return [conn.execute(q.OPTOUT_CHECK, (sender, r)).fetchone() is not None for r in recipients]

        return await self._reader.submit(work)

    # -- subscriptions ---------------------------------------------------------------------------------------

    async def put_subscription(self, record: SubscriptionRecord) -> None:
        def work(conn: sqlite3.Connection) -> None:
            conn.execute(q.UPSERT_SUBSCRIPTION, common.subscription_row(record))

        await self._writer.submit(work)

    async def delete_subscription(self, name: str) -> bool:
        def work(conn: sqlite3.Connection) -> bool:
            deleted = conn.execute(q.DELETE_SUBSCRIPTION, (name,)).rowcount > 0
            conn.execute(q.DROP_PENDING_OF, (name,))
            return deleted

        return await self._writer.submit(work)

    async def get_subscription(self, name: str) -> SubscriptionRecord | None:
        def work(conn: sqlite3.Connection) -> SubscriptionRecord | None:
            row = conn.execute(q.SUBSCRIPTION_COLUMNS + " WHERE name = ?", (name,)).fetchone()
            return None if row is None else common.subscription_record(row)

        return await self._reader.submit(work)

    async def list_subscriptions(self) -> list[SubscriptionRecord]:
        def work(conn: sqlite3.Connection) -> list[SubscriptionRecord]:
            rows = conn.execute(q.SUBSCRIPTION_COLUMNS + " ORDER BY name").fetchall()
            return [common.subscription_record(row) for row in rows]

        return await self._reader.submit(work)

    # -- namespace topics ------------------------------------------------------------------------------------

    async def put_namespace_resource(self, kind: str, key: str, body: bytes) -> None:
        def work(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO namespace_resources (kind, key, body) VALUES (?, ?, ?) "
                "ON CONFLICT (kind, key) DO UPDATE SET body = excluded.body",
                (kind, key, body),
            )

        await self._writer.submit(work)

    async def delete_namespace_resource(self, kind: str, key: str) -> None:
        # A topic takes its subscriptions ("topic/…") and their queues with it.
        prefix = key + "/%" if kind == "topic" else key

        def work(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM namespace_resources WHERE kind = ? AND key = ?", (kind, key))
            conn.execute("DELETE FROM namespace_resources WHERE kind = 'subscription' AND key LIKE ?", (prefix,))
            conn.execute("DELETE FROM namespace_entries WHERE subscription LIKE ?", (prefix,))

        await self._writer.submit(work)

    async def list_namespace_resources(self) -> list[tuple[str, str, bytes]]:
        def work(conn: sqlite3.Connection) -> list[tuple[str, str, bytes]]:
            rows = conn.execute("SELECT kind, key, body FROM namespace_resources ORDER BY kind DESC, key").fetchall()
            return [(row[0], row[1], bytes(row[2])) for row in rows]

        return await self._reader.submit(work)

    async def save_namespace_entries(
        self, upserts: Sequence[NamespaceEntry], deletes: Sequence[tuple[str, int]]
    ) -> None:
        def work(conn: sqlite3.Connection) -> None:
            conn.executemany("DELETE FROM namespace_entries WHERE subscription = ? AND seq = ?", deletes)
            conn.executemany(
                "INSERT OR REPLACE INTO namespace_entries (subscription, seq, event, expires_at, available_at, "
                "delivery_count, lock_token, locked_until, first_received_at, dead_reason, dead_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [common.namespace_entry_row(e) for e in upserts],
            )

        await self._writer.submit(work)

    async def route_namespace_outbox(
        self, limit: int, route: Callable[[Sequence[bytes]], Sequence[NamespaceEntry]]
    ) -> tuple[int, list[NamespaceEntry]]:
        def work(conn: sqlite3.Connection) -> tuple[int, list[NamespaceEntry]]:
            rows = conn.execute(
                "SELECT o.event_seq, e.item FROM namespace_outbox o LEFT JOIN events e ON e.seq = o.event_seq "
                "ORDER BY o.event_seq LIMIT ?",
                (limit,),
            ).fetchall()
            entries = list(route([bytes(row[1]) for row in rows if row[1] is not None]))
            conn.executemany(
                "INSERT OR IGNORE INTO namespace_entries (subscription, seq, event, expires_at, available_at, "
                "delivery_count, lock_token, locked_until, first_received_at, dead_reason, dead_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [common.namespace_entry_row(e) for e in entries],
            )
            conn.executemany("DELETE FROM namespace_outbox WHERE event_seq = ?", [(row[0],) for row in rows])
            return len(rows), entries

        return await self._writer.submit(work)

    async def list_namespace_entries(self) -> list[NamespaceEntry]:
        def work(conn: sqlite3.Connection) -> list[NamespaceEntry]:
            rows = conn.execute(common.NAMESPACE_ENTRY_COLUMNS + " ORDER BY subscription, seq").fetchall()
            return [common.namespace_entry(tuple(row)) for row in rows]

        return await self._reader.submit(work)

    # -- reads for the admin API and UI ----------------------------------------------------------------------

    async def get_message(self, message_id: str) -> MessageDetail | None:
        def work(conn: sqlite3.Connection) -> MessageDetail | None:
            row = _named(conn, q.MESSAGE_COLUMNS + " WHERE message_id = ?", (message_id,)).fetchone()
            if row is None:
                return None
            events = _named(conn, q.EVENT_COLUMNS + " WHERE message_id = ? ORDER BY seq", (message_id,)).fetchall()
            return common.message_detail(row, _event_details(conn, events))

        return await self._reader.submit(work)

    async def list_messages(
        self, *, limit: int, before: float | None = None, number: str | None = None
    ) -> list[MessageView]:
        def work(conn: sqlite3.Connection) -> list[MessageView]:
            where: list[str] = ["1 = 1"]
            args: list[Any] = []
            if before is not None:
                where.append("created_at < ?")
                args.append(before)
            if number is not None:
                where.append("(from_number = ? OR to_number = ?)")
                args.extend([number, number])
            sql = q.MESSAGE_COLUMNS + f" WHERE {' AND '.join(where)} ORDER BY created_at DESC LIMIT ?"
            return [common.message_view(row) for row in _named(conn, sql, [*args, limit]).fetchall()]

        return await self._reader.submit(work)

    async def get_event(self, event_id: str) -> EventDetail | None:
        def work(conn: sqlite3.Connection) -> EventDetail | None:
            sql = q.EVENT_COLUMNS + " WHERE event_id = ? ORDER BY seq DESC LIMIT 1"
            rows = _named(conn, sql, (event_id,)).fetchall()
            return _event_details(conn, rows)[0] if rows else None

        return await self._reader.submit(work)

    async def list_events(self, *, limit: int, before_seq: int | None = None) -> list[EventView]:
        def work(conn: sqlite3.Connection) -> list[EventView]:
            if before_seq is None:
                rows = _named(conn, q.EVENT_COLUMNS + " ORDER BY seq DESC LIMIT ?", (limit,)).fetchall()
            else:
                sql = q.EVENT_COLUMNS + " WHERE seq < ? ORDER BY seq DESC LIMIT ?"
                rows = _named(conn, sql, (before_seq, limit)).fetchall()
            return [common.event_view(row) for row in rows]

        return await self._reader.submit(work)

    async def list_deadletters(self, *, limit: int, include_redelivered: bool = False) -> list[DeadLetterView]:
        def work(conn: sqlite3.Connection) -> list[DeadLetterView]:
            where = "" if include_redelivered else " WHERE x.redelivered_at IS NULL"
            sql = q.DEADLETTER_ROW + where + " ORDER BY x.deadletter_id DESC LIMIT ?"
            return [common.deadletter_view(row) for row in _named(conn, sql, (limit,)).fetchall()]

        return await self._reader.submit(work)

    async def get_deadletter(self, deadletter_id: int) -> DeadLetterView | None:
        def work(conn: sqlite3.Connection) -> DeadLetterView | None:
            row = _named(conn, q.DEADLETTER_ROW + " WHERE x.deadletter_id = ?", (deadletter_id,)).fetchone()
            return None if row is None else common.deadletter_view(row)

        return await self._reader.submit(work)

    async def counts(self) -> StoreCounts:
        return await self._reader.submit(lambda conn: common.store_counts(_named(conn, q.COUNTS, ()).fetchone()))

    # -- scale-out and retention -----------------------------------------------------------------------------

    async def listen(self, on_wake: Callable[[str], None]) -> None:
        """Nothing to listen for: one process owns the file and wakes its carrier and engine directly."""

    async def purge_finished(self, before: float, limit: int) -> int:
        """Delete at most `limit` finished events (with deliveries, attempts, dead letters) and `limit` messages
        older than `before`, in one short transaction; returns how many rows went."""

        def work(conn: sqlite3.Connection) -> int:
            seqs = [row[0] for row in conn.execute(q.PURGEABLE_EVENTS, (before, before, before, limit))]
            if seqs:
                marks = ",".join("?" * len(seqs))
                for statement in q.PURGE_EVENTS:
                    conn.execute(statement.format(marks=marks), seqs)
            ids = [row[0] for row in conn.execute(q.PURGEABLE_MESSAGES, (before, before, limit))]
            if ids:
                for statement in q.PURGE_MESSAGES:
                    conn.execute(statement.format(marks=",".join("?" * len(ids))), ids)
            return len(seqs) + len(ids)

        return await self._writer.submit(work)


def _accept_one(conn: sqlite3.Connection, m: OutgoingMessage) -> AcceptResult:
    if not _insert_outgoing(conn, m, status="accepted", once=True):
        found = conn.execute(q.MESSAGE_BY_REPEATABILITY, (m.repeatability_request_id,)).fetchone()
        return AcceptResult(found[0], repeated=True)
    conn.execute(q.INSERT_CARRIER_JOB, (m.message_id, m.plan.due_at, common.plan_json(m.plan)))
    return AcceptResult(m.message_id, repeated=False)


def _carrier_job(conn: sqlite3.Connection, message_id: str, plan: str) -> CarrierJob | None:
    """The job with its message's columns (None when the message is gone) and, for a long message, its parts."""
    found = conn.execute(q.CARRIER_JOB_MESSAGE, (message_id,)).fetchone()
    if found is None:
        return None
    job = common.carrier_job(message_id, plan, found)
    if not job.plan.part_references:
        return job
    return common.with_parts(job, [row[0] for row in conn.execute(q.CARRIER_PART_REPORTS, (message_id,))])


def _by_message(notes: Sequence[tuple[str, NoteRecord]]) -> dict[str, list[NoteRecord]]:
    grouped: dict[str, list[NoteRecord]] = {}
    for message_id, note in notes:
        grouped.setdefault(message_id, []).append(note)
    return grouped


def _insert_notes(conn: sqlite3.Connection, message_id: str, notes: Sequence[NoteRecord]) -> None:
    if not notes:
        return
    conn.executemany(q.INSERT_CARRIER_NOTE, [(message_id, n.at, n.text) for n in notes])
    if conn.execute(q.COUNT_CARRIER_NOTES, (message_id,)).fetchone()[0] > common.CARRIER_NOTES_KEPT:
        conn.execute(q.TRIM_CARRIER_NOTES, (message_id, common.CARRIER_NOTES_KEPT))


def _insert_outgoing(conn: sqlite3.Connection, m: OutgoingMessage, *, status: str, once: bool = False) -> bool:
    """Insert; with `once`, a message whose repeatabilityRequestId is already stored is not (returns False)."""
    cursor = conn.execute(
        q.INSERT_MESSAGE_ONCE if once else q.INSERT_MESSAGE, common.outgoing_message_row(m, status=status)
    )
    return cursor.rowcount == 1


def _insert_inbound(
    conn: sqlite3.Connection, messages: Sequence[InboundMessage], *, events: Sequence[NewEvent] | None = None
) -> None:
    """Inbound SMS: the messages, their opt-out changes, their events, the HELP auto-replies (rows.inbound_writes).

    `events`, when given, are committed in place of the messages' own events (the carrier's reports interleaved
    with its replies' events)."""
    writes = common.inbound_writes(messages)
    conn.executemany(q.INSERT_MESSAGE, writes.messages)
    for change, sender, recipient, at in writes.optouts:
        if change == "out":
            conn.execute(q.OPTOUT_ADD, (sender, recipient, at))
        else:
            conn.execute(q.OPTOUT_REMOVE, (sender, recipient))
    for event in writes.events if events is None else events:
        _insert_event(conn, event)


def _insert_event(conn: sqlite3.Connection, event: NewEvent) -> None:
    cursor = conn.execute(
        q.INSERT_EVENT,
        (event.event_id, event.event_type, event.subject, event.message_id, event.published_at, event.item),
    )
    seq = cursor.lastrowid
    # In the event's own transaction: the namespace topics catch up from here (NamespaceBroker.catch_up).
    conn.execute("INSERT INTO namespace_outbox (event_seq) VALUES (?)", (seq,))
    if event.subscriptions:
        conn.executemany(
            q.INSERT_DELIVERY,
            [(seq, name, event.published_at, event.published_at) for name in event.subscriptions],
        )


def _named(conn: sqlite3.Connection, sql: str, args: Sequence[Any]) -> sqlite3.Cursor:
    """A cursor whose rows are read by column name (rows.py assembles the read models from names)."""
    cursor = conn.cursor()
    cursor.row_factory = sqlite3.Row
    return cursor.execute(sql, args)


def _event_details(conn: sqlite3.Connection, events: Sequence[sqlite3.Row]) -> list[EventDetail]:
    seqs = [e["seq"] for e in events]
    if not seqs:
        return []
    deliveries = _named(conn, q.DELIVERIES_OF_EVENTS.format(marks=",".join("?" * len(seqs))), seqs).fetchall()
    ids = [d["delivery_id"] for d in deliveries]
    attempts = (
        _named(conn, q.ATTEMPTS_OF_DELIVERIES.format(marks=",".join("?" * len(ids))), ids).fetchall() if ids else []
    )
    return common.event_details(events, deliveries, attempts)


__all__ = ["CarrierPlan", "SqliteStore"]
