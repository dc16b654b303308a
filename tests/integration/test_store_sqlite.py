"""The SQLite store on a real file: migrations against schema.sql, repeatability under concurrency, group commit,
and the claim / lease / release cycle of carrier jobs and deliveries.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable
from importlib import resources
from pathlib import Path
from typing import TypeVar

import orjson
import pytest

from smsgrid.store.records import (
    AcceptResult,
    AttemptRecord,
    CarrierPlan,
    CarrierResult,
    DeliveryResult,
    NewEvent,
    OutgoingMessage,
)
from smsgrid.store.sqlite.adapter import SqliteStore
from smsgrid.store.sqlite.migrate import migrate, migration_scripts
from smsgrid.store.views import wire

T = TypeVar("T")
SENDER = "+18005550100"


def event_grid_item(event_id: str) -> dict[str, object]:
    """An Event Grid schema item as the store keeps it (events/render.py, key order included)."""
    return {"id": event_id, "topic": "/t", "subject": "/phonenumber/18005550100", "data": {}, "eventType": "T",
            "dataVersion": "1.0", "metadataVersion": "1", "eventTime": "2026-01-01T00:00:00Z"}  # fmt: skip


def stored_report(message_id: str) -> dict[str, object]:
    """A delivery report as the carrier stores it (carrier/simulator.py)."""
    return {"messageId": message_id, "from": SENDER, "to": "+14255550123", "deliveryStatus": "Delivered",
            "deliveryStatusDetails": "No error.", "deliveryAttempts": [], "receivedTimestamp": "2026-01-01T00:00:00Z",
            "tag": None}  # fmt: skip


def run_with_store(path: Path, body: Callable[[SqliteStore], Awaitable[T]]) -> T:
    async def main() -> T:
        store = SqliteStore(path)
        try:
            return await body(store)
        finally:
            await store.close()

    return asyncio.run(main())


def outgoing(
    n: int, *, request_id: str | None = None, due_at: float | None = None, to: str | None = None
) -> OutgoingMessage:
    now = time.time()
    return OutgoingMessage(
        message_id=f"Outgoing_20260101000000{n:08d}-0000-4000-8000-000000000000",
        from_number=SENDER,
        to_number=to or f"+1425555{n % 10000:04d}",
        body=f"message {n}",
        encoding="GSM7",
        segments=1,
        tag=None,
        delivery_report=True,
        repeatability_request_id=request_id,
        created_at=now,
        plan=CarrierPlan(now if due_at is None else due_at),
    )


def count(path: Path, sql: str, *args: object) -> int:
    """Read with a connection of our own: what it sees is committed."""
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute(sql, args).fetchone()[0])
    finally:
        conn.close()


# -- migrations ---------------------------------------------------------------------------------------------------


def _normalized_schema(conn: sqlite3.Connection) -> list[tuple[str, str, str, str | None]]:
    """Every schema object; SQL without comments and with single spaces (migrate strips `--` comments)."""
    rows = conn.execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name != 'schema_migrations' ORDER BY type, name"
    ).fetchall()

    def clean(sql: str | None) -> str | None:
        return None if sql is None else " ".join(re.sub(r"--[^\n]*", "", sql).split())

    return [(kind, name, table, clean(sql)) for kind, name, table, sql in rows]


def test_migrations_rebuild_exactly_schema_sql(tmp_path: Path) -> None:
    migrated = sqlite3.connect(tmp_path / "migrated.db", isolation_level=None)
    version = migrate(migrated)
    from_schema = sqlite3.connect(tmp_path / "schema.db", isolation_level=None)
    from_schema.executescript(resources.files("smsgrid.store.sqlite").joinpath("schema.sql").read_text("utf-8"))
    try:
        assert version >= 1
        assert _normalized_schema(migrated) == _normalized_schema(from_schema)
        assert {row[1] for row in _normalized_schema(migrated) if row[0] == "table"} >= {
            "messages", "carrier_jobs", "optouts", "events", "deliveries", "attempts", "deadletters", "subscriptions",
        }  # fmt: skip
        # Applying again changes nothing.
        assert migrate(migrated) == version
        # One row per migration script (numbers may skip: parallel branches reserve theirs).
        assert migrated.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] == len(migration_scripts())
    finally:
        migrated.close()
        from_schema.close()


def test_a_carrier_report_finds_its_work_and_notes_through_indexes(tmp_path: Path) -> None:
    """A pushed receipt names a message by any part's reference: never a scan of the waiting work."""
    from smsgrid.store.sqlite import queries as q

    conn = sqlite3.connect(tmp_path / "plans.db", isolation_level=None)
    try:
        migrate(conn)
        for statement in (q.CARRIER_JOB_BY_REFERENCE, q.CARRIER_PART_REPORTS, q.CARRIER_NOTES):
            plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + statement, ("x",))]
            assert not [step for step in plan if step.startswith("SCAN")], plan
            assert [step for step in plan if "USING INDEX" in step], plan
    finally:
        conn.close()


def test_reopening_a_store_keeps_its_data(tmp_path: Path) -> None:
    path = tmp_path / "smsgrid.db"
    run_with_store(path, lambda store: store.accept_messages([outgoing(1)]))
    found = run_with_store(path, lambda store: store.get_message(outgoing(1).message_id))
    assert found is not None
    assert found.status == "accepted"


# -- repeatability and group commit -------------------------------------------------------------------------------


def test_repeatability_under_concurrent_accepts(tmp_path: Path) -> None:
    """Many clients retry the same repeatabilityRequestId at once, from several event loops: one message wins."""
    path = tmp_path / "smsgrid.db"

    async def body(store: SqliteStore) -> list[tuple[str, bool]]:
        results: list[tuple[str, bool]] = []
        lock = threading.Lock()

        def client(thread: int) -> None:
            async def burst() -> None:
                answers = await asyncio.gather(
                    *(store.accept_messages([outgoing(thread * 100 + i, request_id="rid-same")]) for i in range(25))
                )
                with lock:
                    results.extend((a[0].message_id, a[0].repeated) for a in answers)

            asyncio.run(burst())

        await asyncio.gather(*(asyncio.to_thread(client, t) for t in range(4)))
        return results

    results = run_with_store(path, body)
    assert len(results) == 100
    assert len({message_id for message_id, _ in results}) == 1
    assert sum(not repeated for _, repeated in results) == 1
    assert count(path, "SELECT count(*) FROM messages WHERE repeatability_request_id = ?", "rid-same") == 1
    assert count(path, "SELECT count(*) FROM carrier_jobs") == 1


def test_group_commit_resolves_and_commits_every_concurrent_accept(tmp_path: Path) -> None:
    path = tmp_path / "smsgrid.db"
    commits: list[str] = []

    async def body(store: SqliteStore) -> list[str]:
        # Count transactions on the writer's own connection: fewer commits than writes is what group commit means.
        store._writer._conn.set_trace_callback(lambda sql: commits.append(sql) if sql == "COMMIT" else None)
        answers = await asyncio.gather(*(store.accept_messages([outgoing(n)]) for n in range(300)))
        # Committed before the await returned: a separate connection sees every row now.
        assert count(path, "SELECT count(*) FROM messages") == 300
        return [a[0].message_id for a in answers]

    ids = run_with_store(path, body)
    assert ids == [outgoing(n).message_id for n in range(300)]
    assert count(path, "SELECT count(*) FROM carrier_jobs") == 300
    assert 1 <= len(commits) < 300


def test_one_failing_write_does_not_undo_its_neighbours_in_the_group(tmp_path: Path) -> None:
    path = tmp_path / "smsgrid.db"

    async def body(store: SqliteStore) -> tuple[list[AcceptResult] | BaseException, ...]:
        await store.accept_messages([outgoing(1)])
        duplicate = outgoing(1, request_id="other")  # same message id: a primary-key violation
        return await asyncio.gather(
            store.accept_messages([outgoing(2)]),
            store.accept_messages([duplicate]),
            store.accept_messages([outgoing(3)]),
            return_exceptions=True,
        )

    first, failed, last = run_with_store(path, body)
    assert isinstance(failed, sqlite3.IntegrityError)
    assert not isinstance(first, BaseException)
    assert not isinstance(last, BaseException)
    assert count(path, "SELECT count(*) FROM messages") == 3
    assert count(path, "SELECT count(*) FROM messages WHERE repeatability_request_id = 'other'") == 0


# -- carrier jobs -------------------------------------------------------------------------------------------------


def test_carrier_jobs_claim_lease_release_and_finish(tmp_path: Path) -> None:
    now = time.time()
    due_a, due_b, later = outgoing(1, due_at=now - 1), outgoing(2, due_at=now - 1), outgoing(3, due_at=now + 100)

    async def body(store: SqliteStore) -> None:
        await store.accept_messages([due_a, due_b, later])
        await store.set_optouts(SENDER, [due_b.to_number], True, now)
        claimed = await store.claim_carrier_jobs(now, 10, now + 30)
        assert sorted(job.message_id for job in claimed) == [due_a.message_id, due_b.message_id]
        opted = {job.message_id: job.opted_out for job in claimed}
        assert opted == {due_a.message_id: False, due_b.message_id: True}
        assert claimed[0].plan.reference is None  # not submitted yet
        assert claimed[0].from_number == SENDER
        # Leased: nobody else gets them until the lease ends.
        assert await store.claim_carrier_jobs(now, 10, now + 30) == []
        assert await store.next_carrier_due() == pytest.approx(now + 30)
        # A holder that died: the lease runs out and the work comes back.
        assert len(await store.claim_carrier_jobs(now + 31, 10, now + 61)) == 2
        # After a restart nobody holds anything: release makes leased work due at its planned time again.
        await store.release_claims(now)
        assert len(await store.claim_carrier_jobs(now, 1, now + 30)) == 1
        [job] = await store.claim_carrier_jobs(now, 10, now + 30)

        event = NewEvent(
            event_id=job.message_id,
            event_type="Microsoft.Communication.SMSDeliveryReportReceived",
            subject="/phonenumber/18005550100",
            message_id=job.message_id,
            published_at=now,
            item=orjson.dumps(event_grid_item(job.message_id)),
            subscriptions=("app",),
        )
        report = stored_report(job.message_id)
        await store.finish_carrier_jobs([CarrierResult(job.message_id, "delivered", 2000, report, event)], now)
        finished = await store.get_message(job.message_id)
        assert finished is not None
        assert (finished.status, finished.delivery_status_code) == ("delivered", 2000)
        assert wire(finished)["deliveryReport"] == report
        assert [e.id for e in finished.events] == [job.message_id]
        assert [d.subscription for d in finished.events[0].deliveries] == ["app"]
        await store.release_claims(now)
        remaining = await store.claim_carrier_jobs(now, 10, now + 30)
        assert job.message_id not in {j.message_id for j in remaining}

    run_with_store(tmp_path / "smsgrid.db", body)
    assert count(tmp_path / "smsgrid.db", "SELECT count(*) FROM carrier_jobs") == 2


def test_release_makes_a_job_cut_off_mid_submit_due_at_once(tmp_path: Path) -> None:
    """A "submitting" mark left by a crash carries a lease; after a restart nobody holds it, so it is due at once
    (its unknown outcome is decided then), while a job whose submit was answered keeps its planned time."""
    now = time.time()
    cut_off, answered = outgoing(1, due_at=now - 1), outgoing(2, due_at=now - 1)

    async def body(store: SqliteStore) -> None:
        await store.accept_messages([cut_off, answered])
        claimed = {job.message_id: job for job in await store.claim_carrier_jobs(now, 10, now + 30)}
        mark = dataclasses.replace(claimed[cut_off.message_id].plan, submitting_since=now, due_at=now + 30)
        waiting = dataclasses.replace(claimed[answered.message_id].plan, reference="ref-2", due_at=now + 500)
        await store.update_carrier_plans([(cut_off.message_id, mark), (answered.message_id, waiting)])
        assert await store.claim_carrier_jobs(now + 1, 10, now + 31) == []
        await store.release_claims(now + 1)
        [again] = await store.claim_carrier_jobs(now + 1, 10, now + 31)
        assert again.message_id == cut_off.message_id
        assert again.plan.submitting_since == pytest.approx(now)
        assert again.plan.reference is None

    run_with_store(tmp_path / "smsgrid.db", body)


# -- deliveries ---------------------------------------------------------------------------------------------------


def test_deliveries_claim_lease_release_retry_and_dead_letter(tmp_path: Path) -> None:
    now = time.time()
    event = NewEvent(
        event_id="Incoming_20260101000000aaaaaaaa-0000-4000-8000-000000000000",
        event_type="Microsoft.Communication.SMSReceived",
        subject="/phonenumber/18005550100",
        message_id=None,
        published_at=now,
        item=orjson.dumps(event_grid_item("item")),
        subscriptions=("a", "b"),
    )

    async def body(store: SqliteStore) -> None:
        await store.publish([event])
        [a] = await store.claim_deliveries("a", now, 10, now + 60)
        assert (a.subscription, a.attempts, orjson.loads(a.item)) == ("a", 0, event_grid_item("item"))
        assert await store.claim_deliveries("a", now, 10, now + 60) == []  # leased
        [b] = await store.claim_deliveries("b", now, 10, now + 60)  # each subscription on its own
        await store.release_claims(now)
        [again] = await store.claim_deliveries("a", now, 10, now + 60)
        assert again.delivery_id == a.delivery_id
        assert again.attempts == 0

        busy = AttemptRecord(attempt=1, at=now, status=503, outcome="Busy", duration_ms=4.0)
        await store.finish_deliveries([DeliveryResult(a.delivery_id, busy, "pending", retry_at=now + 30)], now)
        assert await store.claim_deliveries("a", now, 10, now + 60) == []
        assert await store.next_delivery_due("a") == pytest.approx(now + 30)
        [retry] = await store.claim_deliveries("a", now + 30, 10, now + 90)
        assert retry.attempts == 1
        ok = AttemptRecord(attempt=2, at=now + 30, status=200, outcome="Success", duration_ms=3.0)
        await store.finish_deliveries([DeliveryResult(a.delivery_id, ok, "delivered")], now + 30)
        assert await store.next_delivery_due("a") is None

        bad = AttemptRecord(attempt=1, at=now, status=400, outcome="BadRequest", duration_ms=2.0)
        dead = DeliveryResult(b.delivery_id, bad, "deadlettered", dead_letter_reason="UndeliverableDueToHttpBadRequest")
        await store.finish_deliveries([dead], now)
        [letter] = await store.list_deadletters(limit=10)
        assert (letter.subscription, letter.dead_letter_reason, letter.last_http_status_code) == (
            "b", "UndeliverableDueToHttpBadRequest", 400,
        )  # fmt: skip
        assert await store.redeliver(letter.id, now, ["b"]) is True
        assert await store.redeliver(letter.id, now, ["b"]) is False  # only once
        [fresh] = await store.claim_deliveries("b", now, 10, now + 60)
        assert fresh.delivery_id != b.delivery_id
        assert fresh.attempts == 0

        stored = await store.get_event(event.event_id)
        assert stored is not None
        by_subscription = {d.subscription: d for d in stored.deliveries if d.delivery_id == a.delivery_id}
        assert by_subscription["a"].state == "delivered"
        assert [x.status_code for x in by_subscription["a"].attempts] == [503, 200]

    run_with_store(tmp_path / "smsgrid.db", body)
