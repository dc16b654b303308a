"""The store contract: the SAME tests against the SQLite adapter and the PostgreSQL adapter (a real PostgreSQL 15).

Then what only PostgreSQL has to do: two processes (two stores) never share a claim, a dead worker's lease runs out
and its work is taken over (reported once), LISTEN/NOTIFY reaches another process, the database restarting is a 503
(StoreUnavailableError) and not a loss, and the migrations rebuild schema.sql exactly.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest

from smsgrid.errors import StoreUnavailableError
from smsgrid.store.port import Store, open_store
from smsgrid.store.postgres import queries as pg_queries
from smsgrid.store.postgres.adapter import PostgresStore
from smsgrid.store.records import (
    AttemptRecord,
    CarrierPlan,
    CarrierResult,
    DeliveryResult,
    InboundMessage,
    NamespaceEntry,
    NewEvent,
    NoteRecord,
    OutgoingMessage,
    PartReport,
    SubscriptionRecord,
)
from smsgrid.store.retention import purge_expired
from smsgrid.store.rows import CARRIER_NOTES_KEPT
from smsgrid.store.views import (
    AttachmentSummary,
    CarrierNoteView,
    DeadLetterView,
    EventDetail,
    EventView,
    MessageDetail,
    MessageView,
    SendOptions,
    StoreCounts,
    wire,
)
from tests.postgres_support import PostgresCluster

pytestmark = pytest.mark.anyio

SENDER = "+18005550100"
HANDSET = "+14255550123"
LEASE = 30.0
TOPIC = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Communication/communicationServices/contract"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


TABLES = (
    "messages, carrier_jobs, optouts, events, deliveries, attempts, deadletters, subscriptions, "
    "namespace_resources, namespace_entries, namespace_outbox, carrier_parts, carrier_notes"
)


@pytest.fixture(scope="module")
def contract_database(postgres_cluster: PostgresCluster) -> str:
    """One migrated database for the module; each test starts from empty tables (far cheaper than CREATE DATABASE)."""
    name = postgres_cluster.create_database("contract")
    asyncio.run(_migrate_only(postgres_cluster.url(name)))
    return name


@pytest.fixture
def pg_url(postgres_cluster: PostgresCluster, contract_database: str) -> str:
    postgres_cluster.psql(f"TRUNCATE {TABLES} RESTART IDENTITY", contract_database)
    return postgres_cluster.url(contract_database)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'contract.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    opened = open_store(store_url)
    try:
        yield opened
    finally:
        await opened.close()


def outgoing(
    n: int,
    *,
    request_id: str | None = None,
    due_at: float | None = None,
    to: str | None = None,
    created_at: float | None = None,
) -> OutgoingMessage:
    now = time.time() if created_at is None else created_at
    return OutgoingMessage(
        message_id=f"Outgoing_20260101000000{n:08d}-0000-4000-8000-000000000000",
        from_number=SENDER,
        to_number=to or f"+1425556{n % 10000:04d}",
        body=f"message {n}",
        encoding="GSM7",
        segments=1,
        tag=f"tag-{n}",
        delivery_report=True,
        repeatability_request_id=request_id,
        created_at=now,
        plan=CarrierPlan(now if due_at is None else due_at),
    )


def event(
    event_id: str,
    *,
    subscriptions: tuple[str, ...] = ("sub-a",),
    message_id: str | None = None,
    published_at: float | None = None,
    event_type: str = "Microsoft.Communication.SMSDeliveryReportReceived",
) -> NewEvent:
    item = {
        "id": event_id,
        "topic": TOPIC,
        "subject": "/phonenumber/18005550100",
        "data": {"n": event_id},
        "eventType": event_type,
        "dataVersion": "1.0",
        "metadataVersion": "1",
        "eventTime": "2026-01-01T00:00:00.1234567Z",
    }
    return NewEvent(
        event_id=event_id,
        event_type=event_type,
        subject="/phonenumber/18005550100",
        message_id=message_id,
        published_at=time.time() if published_at is None else published_at,
        item=orjson.dumps(item),
        subscriptions=subscriptions,
    )


def inbound(
    n: int,
    body: str,
    *,
    opt_change: str | None = None,
    now: float | None = None,
    subscriptions: tuple[str, ...] = ("sub-a",),
) -> InboundMessage:
    at = time.time() if now is None else now
    message_id = f"Incoming_20260101000000{n:08d}-0000-4000-8000-000000000000"
    return InboundMessage(
        message_id=message_id,
        from_number=HANDSET,
        to_number=SENDER,
        body=body,
        encoding="GSM7",
        segments=1,
        created_at=at,
        event=event(
            message_id,
            message_id=message_id,
            published_at=at,
            subscriptions=subscriptions,
            event_type="Microsoft.Communication.SMSReceived",
        ),
        opt_change=opt_change,
    )


def delivery_report(message_id: str, *, partner_message_id: str | None = None) -> dict[str, Any]:
    """A report as the carrier stores it (GET /deliveryReports/{id}, api-version 2026-01-23)."""
    report: dict[str, Any] = {
        "messageId": message_id,
        "from": SENDER,
        "to": "+14255560001",
        "deliveryStatus": "Delivered",
        "deliveryStatusDetails": "No error.",
        "deliveryAttempts": [
            {"timestamp": "2026-01-01T00:00:00.0000001Z", "segmentsSucceeded": 1, "segmentsFailed": 0}
        ],
        "receivedTimestamp": "2026-01-01T00:00:01.9999999Z",
        "tag": None,
    }
    if partner_message_id is not None:
        report["messagingConnectPartnerMessageId"] = partner_message_id
    return report


def attempt(n: int, status: int, outcome: str = "Succeeded") -> AttemptRecord:
    return AttemptRecord(attempt=n, at=time.time(), status=status, outcome=outcome, duration_ms=1.5)


def subscription(name: str, state: str = "Succeeded") -> SubscriptionRecord:
    spec = {"name": name, "properties": {"destination": {"endpointUrl": f"http://127.0.0.1:9/{name}"}}}
    return SubscriptionRecord(name=name, spec=spec, provisioning_state=state, created_at=1.0, updated_at=2.0)


# -- the contract: every adapter ----------------------------------------------------------------------------------


async def test_accepted_message_becomes_carrier_work_claimed_once_per_lease(store: Store) -> None:
    now = time.time()
    [result] = await store.accept_messages([outgoing(1, due_at=now - 1)])
    assert result.message_id == outgoing(1).message_id
    assert not result.repeated
    assert await store.next_carrier_due() == pytest.approx(now - 1)
    [job] = await store.claim_carrier_jobs(now, 10, now + LEASE)
    assert (job.message_id, job.to_number, job.tag, job.delivery_report, job.opted_out) == (
        result.message_id,
        "+14255560001",
        "tag-1",
        True,
        False,
    )
    assert job.plan == CarrierPlan(now - 1)
    assert await store.claim_carrier_jobs(now, 10, now + LEASE) == []  # leased
    [again] = await store.claim_carrier_jobs(now + LEASE + 1, 10, now + 2 * LEASE)  # the lease ran out
    assert again.message_id == job.message_id
    message = await store.get_message(result.message_id)
    assert message is not None
    assert message.status == "accepted"
    assert message.enable_delivery_report is True


async def test_send_options_and_the_timeout_plan_survive_the_store(store: Store) -> None:
    """The api-version, the report-shaping options and the plan's timeout / partner / carrier reference fields
    (migration 0002 and the plan JSON) read back exactly; a message without them reads back None."""
    now = time.time()
    plan = CarrierPlan(now - 1, report_timeout_seconds=300, partner="Connect_Partner", reference="ref-1",
                       partner_message_id="Connect_Partner-42")  # fmt: skip
    base = outgoing(1, due_at=now - 1)
    message = OutgoingMessage(**{**{f: getattr(base, f) for f in base.__slots__}, "plan": plan,
                                 "api_version": "2026-01-23", "attachments": (("image/png", b"\x89PNG"),),
                                 "send_options": {"reportTimeoutSeconds": 300,
                                                  "messagingConnectPartner": "Connect_Partner"}})  # fmt: skip
    accepted, _ = await store.accept_messages([message, outgoing(2, due_at=now + 3600)])
    [job] = await store.claim_carrier_jobs(now, 10, now + LEASE)
    assert job.plan == plan
    stored = await store.get_message(accepted.message_id)
    assert stored is not None
    assert stored.api_version == "2026-01-23"
    assert stored.send_options == SendOptions(report_timeout_seconds=300, messaging_connect_partner="Connect_Partner")
    assert stored.attachments == (AttachmentSummary(mime_type="image/png", size_bytes=4),)
    assert wire(stored)["sendOptions"] == {"reportTimeoutSeconds": 300, "messagingConnectPartner": "Connect_Partner"}
    assert wire(stored)["attachments"] == [{"mimeType": "image/png", "bytes": 4}]
    plain = await store.get_message(outgoing(2).message_id)
    assert plain is not None
    assert (plain.api_version, plain.send_options, plain.attachments) == (None, None, None)


async def test_submitted_carrier_work_waits_and_is_found_by_the_carriers_reference(store: Store) -> None:
    """A submitted job keeps its reference in the plan, is due again at the plan's time, and a carrier's pushed
    report finds it by that reference until it is finished."""
    now = time.time()
    await store.accept_messages([outgoing(1, due_at=now - 1), outgoing(2, due_at=now - 1)])
    first, second = sorted(await store.claim_carrier_jobs(now, 10, now + LEASE), key=lambda j: j.message_id)
    assert await store.carrier_job_by_reference("smsc-1") is None
    submitted = CarrierPlan(now + 60, report_timeout_seconds=60, reference="smsc-1")
    await store.update_carrier_plans([(first.message_id, submitted)])
    found = await store.carrier_job_by_reference("smsc-1")
    assert found is not None
    assert (found.message_id, found.plan, found.to_number) == (first.message_id, submitted, first.to_number)
    assert await store.claim_carrier_jobs(now + 1, 10, now + 1 + LEASE) == []  # second is leased, first waits
    again = {j.message_id: j.plan.reference for j in await store.claim_carrier_jobs(now + 61, 10, now + 91)}
    assert again == {first.message_id: "smsc-1", second.message_id: None}  # both due: the wait, the lease
    await store.finish_carrier_jobs([CarrierResult(first.message_id, "sent", None, None, None)], now + 61)
    assert await store.carrier_job_by_reference("smsc-1") is None
    assert second.plan.reference is None
    # A second finish of the same work (a late receipt racing the timeout) commits nothing: one final report.
    late = event("late-report", message_id=first.message_id)
    late_reply = inbound(3, "late reply", now=now)  # nor the handset reply that came with it
    result = CarrierResult(first.message_id, "delivered", 2000, delivery_report(first.message_id), late, late_reply)
    await store.finish_carrier_jobs([result], now + 62)
    stored = await store.get_message(first.message_id)
    assert stored is not None
    assert (stored.status, stored.events) == ("sent", ())
    assert await store.get_message(late_reply.message_id) is None
    assert (await store.counts()).messages == 2


async def test_a_long_message_is_found_by_any_parts_reference_with_each_parts_word(store: Store) -> None:
    """A plan taken as parts stores one row per part with the plan; each part's report is kept as it comes (once),
    comes back with the job on a lookup or a claim, and goes with the job."""
    now = time.time()
    await store.accept_messages([outgoing(1, due_at=now - 1), outgoing(2, due_at=now - 1)])
    first, second = sorted(await store.claim_carrier_jobs(now, 10, now + LEASE), key=lambda j: j.message_id)
    parts = CarrierPlan(now + 60, report_timeout_seconds=60, reference="p-1", part_references=("p-1", "p-2", "p-3"))
    single = CarrierPlan(now + 60, report_timeout_seconds=60, reference="s-1")
    await store.update_carrier_plans([(first.message_id, parts), (second.message_id, single)])
    for reference in ("p-1", "p-2", "p-3"):
        found = await store.carrier_job_by_reference(reference)
        assert found is not None
        assert (found.message_id, found.plan, found.parts) == (first.message_id, parts, (None, None, None))
    alone = await store.carrier_job_by_reference("s-1")
    assert alone is not None
    assert (alone.message_id, alone.parts) == (second.message_id, ())

    word = PartReport("Failed", 4006, 0, 1, now + 5, "absent subscriber")
    assert await store.record_carrier_part(first.message_id, "p-2", word, [NoteRecord(now + 5, "receipt p-2")])
    again = PartReport("Delivered", 2000, 1, 0, now + 6)
    assert not await store.record_carrier_part(first.message_id, "p-2", again)  # a duplicate changes nothing
    assert not await store.record_carrier_part(second.message_id, "p-3", again)  # not that message's part
    found = await store.carrier_job_by_reference("p-3")
    assert found is not None
    assert found.parts == (None, word, None)
    [claimed] = [j for j in await store.claim_carrier_jobs(now + 61, 10, now + 91) if j.message_id == first.message_id]
    assert (claimed.plan, claimed.parts) == (parts, (None, word, None))

    await store.finish_carrier_jobs([CarrierResult(first.message_id, "failed", 4006, None, None)], now + 62)
    assert [await store.carrier_job_by_reference(r) for r in ("p-1", "p-2", "p-3")] == [None, None, None]
    assert not await store.record_carrier_part(first.message_id, "p-1", again)  # finished: nothing is kept
    assert await store.carrier_notes(first.message_id) == [CarrierNoteView(at=now + 5, text="receipt p-2")]


async def test_carrier_notes_are_committed_with_what_carries_them_in_time_order_and_bounded(store: Store) -> None:
    now = time.time()
    await store.accept_messages([outgoing(1, due_at=now - 1), outgoing(2, due_at=now - 1)])
    first, second = sorted(await store.claim_carrier_jobs(now, 10, now + LEASE), key=lambda j: j.message_id)
    await store.update_carrier_plans(
        [(first.message_id, CarrierPlan(now + 60, reference="r-1"))],
        [
            (first.message_id, NoteRecord(now + 2, "submit_sm_resp seq 7")),
            (first.message_id, NoteRecord(now + 1, "submit_sm seq 7")),
        ],
    )
    finished = CarrierResult(
        first.message_id, "delivered", 2000, None, None, notes=(NoteRecord(now + 3, "receipt DELIVRD"),)
    )
    await store.finish_carrier_jobs([finished], now + 3)
    late = CarrierResult(first.message_id, "failed", 5000, None, None, notes=(NoteRecord(now + 4, "late receipt"),))
    await store.finish_carrier_jobs([late], now + 4)  # the job is finished: its notes are not kept either
    assert [n.text for n in await store.carrier_notes(first.message_id)] == [
        "submit_sm seq 7",
        "submit_sm_resp seq 7",
        "receipt DELIVRD",
    ]
    assert await store.carrier_notes(second.message_id) == []

    # A chatty carrier: the newest CARRIER_NOTES_KEPT stay.
    many = [(second.message_id, NoteRecord(now + i, f"note {i}")) for i in range(CARRIER_NOTES_KEPT + 5)]
    await store.update_carrier_plans([(second.message_id, CarrierPlan(now + 60, reference="r-2"))], many[:100])
    await store.update_carrier_plans([(second.message_id, CarrierPlan(now + 60, reference="r-2"))], many[100:])
    kept = await store.carrier_notes(second.message_id)
    assert [n.text for n in kept] == [f"note {i}" for i in range(5, CARRIER_NOTES_KEPT + 5)]


async def test_repeatability_id_answers_the_first_message_again(store: Store) -> None:
    first = await store.accept_messages([outgoing(1, request_id="rid-1"), outgoing(2)])
    again = await store.accept_messages([outgoing(3, request_id="rid-1")])
    assert [r.repeated for r in first] == [False, False]
    assert again[0].message_id == first[0].message_id
    assert again[0].repeated
    assert (await store.counts()).messages == 2


async def test_concurrent_writes_share_commits_and_one_failure_spares_its_neighbours(store: Store) -> None:
    duplicate = outgoing(7)
    await store.accept_messages([duplicate])
    calls = [store.accept_messages([outgoing(100 + n)]) for n in range(200)]
    calls.insert(50, store.accept_messages([duplicate]))  # the same message id again: refused
    results = await asyncio.gather(*calls, return_exceptions=True)
    failures = [r for r in results if isinstance(r, BaseException)]
    assert len(failures) == 1
    assert results[50] is failures[0]
    assert (await store.counts()).messages == 201


async def test_finished_carrier_work_commits_report_event_and_its_deliveries(store: Store) -> None:
    now = time.time()
    [accepted] = await store.accept_messages([outgoing(1, due_at=now)])
    [job] = await store.claim_carrier_jobs(now, 10, now + LEASE)
    report = delivery_report(job.message_id, partner_message_id="partner-1")
    reply = inbound(2, "thanks", now=now)
    report_event = event(job.message_id, message_id=job.message_id, subscriptions=("sub-a", "sub-b"))
    result = CarrierResult(job.message_id, "delivered", 2000, report, report_event, reply)
    await store.finish_carrier_jobs([result], now)
    assert await store.next_carrier_due() is None
    message = await store.get_message(accepted.message_id)
    assert message is not None
    assert (message.status, message.delivery_status_code) == ("delivered", 2000)
    assert message.updated_at == pytest.approx(now)
    assert wire(message)["deliveryReport"] == report  # the stored report, key for key, .NET timestamps exact
    [reported] = message.events
    assert [(d.subscription, d.state, d.attempts) for d in reported.deliveries] == [
        ("sub-a", "pending", ()),
        ("sub-b", "pending", ()),
    ]
    assert all(d.next_attempt_at is not None and d.finished_at is None for d in reported.deliveries)
    received = await store.get_message(reply.message_id)
    assert received is not None
    assert (received.direction, received.status, received.from_number, received.body) == (
        "incoming",
        "received",
        HANDSET,
        "thanks",
    )
    assert [e.event_type for e in received.events] == ["Microsoft.Communication.SMSReceived"]
    assert (await store.counts()).pending_deliveries == 3


async def test_deliveries_claim_then_deliver_retry_or_deadletter(store: Store) -> None:
    now = time.time()
    await store.publish([event(f"e{n}", published_at=now - 10 + n) for n in range(3)])
    assert await store.next_delivery_due("sub-a") == pytest.approx(now - 10)
    claimed = await store.claim_deliveries("sub-a", now, 10, now + LEASE)
    assert [orjson.loads(c.item)["id"] for c in claimed] == ["e0", "e1", "e2"]
    assert all(c.attempts == 0 and c.subscription == "sub-a" for c in claimed)
    assert await store.claim_deliveries("sub-a", now, 10, now + LEASE) == []
    delivered, retried, dead = claimed
    await store.finish_deliveries(
        [
            DeliveryResult(delivered.delivery_id, attempt(1, 200), "delivered"),
            DeliveryResult(retried.delivery_id, attempt(1, 503, "ServiceUnavailable"), "pending", retry_at=now + 5),
            DeliveryResult(
                dead.delivery_id, attempt(1, 400, "BadRequest"), "deadlettered", dead_letter_reason="DeliveryFailed"
            ),
        ],
        now,
    )
    assert await store.next_delivery_due("sub-a") == pytest.approx(now + 5)
    [again] = await store.claim_deliveries("sub-a", now + 6, 10, now + LEASE)
    assert again.delivery_id == retried.delivery_id
    assert again.attempts == 1
    shown = await store.get_event("e1")
    assert shown is not None
    [delivery] = shown.deliveries
    assert (delivery.delivery_count, delivery.state) == (1, "pending")
    [tried] = delivery.attempts
    assert (tried.attempt, tried.status_code, tried.outcome, tried.duration_ms) == (1, 503, "ServiceUnavailable", 1.5)
    [letter] = await store.list_deadletters(limit=10)
    assert (letter.delivery_id, letter.dead_letter_reason, letter.last_http_status_code) == (
        dead.delivery_id,
        "DeliveryFailed",
        400,
    )
    assert (letter.event.id, letter.event_id, letter.subscription, letter.redelivered_at) == ("e2", "e2", "sub-a", None)
    assert await store.get_deadletter(letter.id) == letter
    assert (await store.counts()).deadletters == 1
    assert not await store.redeliver(letter.id, now, ["sub-other"])  # not an active subscription
    assert await store.redeliver(letter.id, now, ["sub-a"])
    assert not await store.redeliver(letter.id, now, ["sub-a"])  # once
    assert await store.list_deadletters(limit=10) == []
    [redelivered] = await store.list_deadletters(limit=10, include_redelivered=True)
    assert redelivered.redelivered_at == pytest.approx(now)
    [fresh] = await store.claim_deliveries("sub-a", now, 10, now + LEASE)
    assert orjson.loads(fresh.item)["id"] == "e2"
    assert fresh.attempts == 0


async def test_ttl_expiry_without_attempt_keeps_the_count(store: Store) -> None:
    now = time.time()
    await store.publish([event("e1", published_at=now)])
    [claimed] = await store.claim_deliveries("sub-a", now, 10, now + LEASE)
    await store.finish_deliveries(
        [DeliveryResult(claimed.delivery_id, attempt(1, 500, "InternalServerError"), "pending", retry_at=now)], now
    )
    [claimed] = await store.claim_deliveries("sub-a", now, 10, now + LEASE)
    await store.finish_deliveries(
        [DeliveryResult(claimed.delivery_id, None, "deadlettered", dead_letter_reason="TimeToLiveExceeded")], now
    )
    [letter] = await store.list_deadletters(limit=5)
    assert letter.delivery_attempts == 1
    # The dead letter reports the last attempt that was made (Event Grid's lastDeliveryOutcome/lastHttpStatusCode).
    last = (letter.last_delivery_outcome, letter.last_http_status_code)
    assert last == ("InternalServerError", 500)
    assert letter.last_delivery_attempt_time is not None


async def test_optouts_by_keyword_and_by_call(store: Store) -> None:
    await store.record_inbound(inbound(1, "STOP", opt_change="out"))
    assert await store.check_optouts(SENDER, [HANDSET, "+14255550999"]) == [True, False]
    now = time.time()
    await store.accept_messages([outgoing(1, to=HANDSET, due_at=now)])
    [job] = await store.claim_carrier_jobs(now, 10, now + LEASE)
    assert job.opted_out
    await store.record_inbound(inbound(2, "START", opt_change="in"))
    await store.set_optouts(SENDER, ["+14255550999", "+14255550998"], True, now)
    assert await store.check_optouts(SENDER, [HANDSET, "+14255550999", "+14255550998"]) == [False, True, True]
    await store.set_optouts(SENDER, ["+14255550999"], False, now)
    assert await store.check_optouts(SENDER, ["+14255550999", "+14255550998"]) == [False, True]


async def test_help_keyword_commits_its_auto_reply(store: Store) -> None:
    now = time.time()
    help_in = inbound(1, "HELP", now=now)
    reply = outgoing(2, to=HANDSET, created_at=now)
    await store.record_inbound(
        InboundMessage(**{**{f: getattr(help_in, f) for f in help_in.__slots__}, "auto_reply": reply})
    )
    shown = await store.get_message(reply.message_id)
    assert shown is not None
    assert shown.status == "delivered"
    assert shown.to_number == HANDSET
    assert await store.claim_carrier_jobs(now + 1, 10, now + LEASE) == []  # an auto-reply needs no carrier


async def test_a_subscription_is_read_by_its_exact_name(store: Store) -> None:
    """One row by name: the public validation URL must not read every subscription (SECURITY.md)."""
    await store.put_subscription(subscription("one-sub", "AwaitingManualAction"))
    await store.put_subscription(subscription("two-sub"))
    found = await store.get_subscription("one-sub")
    assert found is not None
    assert (found.name, found.provisioning_state) == ("one-sub", "AwaitingManualAction")
    assert found.spec == subscription("one-sub").spec
    assert await store.get_subscription("ONE-SUB") is None
    assert await store.get_subscription("one") is None


async def test_subscriptions_put_list_delete_drops_pending(store: Store) -> None:
    await store.put_subscription(subscription("b-sub"))
    await store.put_subscription(subscription("A-sub", "AwaitingManualAction"))
    await store.put_subscription(subscription("b-sub", "Failed"))
    listed = await store.list_subscriptions()
    assert [(s.name, s.provisioning_state) for s in listed] == [("A-sub", "AwaitingManualAction"), ("b-sub", "Failed")]
    assert listed[1].spec == subscription("b-sub").spec
    assert listed[1].created_at == 1.0
    await store.publish([event("e1", subscriptions=("b-sub",))])
    assert await store.delete_subscription("b-sub")
    assert not await store.delete_subscription("b-sub")
    assert (await store.counts()).pending_deliveries == 0
    assert await store.claim_deliveries("b-sub", time.time(), 10, time.time() + LEASE) == []


async def test_listing_messages_and_events_pages_backwards(store: Store) -> None:
    base = time.time() - 100
    await store.accept_messages([outgoing(n, created_at=base + n, to=f"+1425557000{n}") for n in range(5)])
    listed = await store.list_messages(limit=2)
    assert [m.body for m in listed] == ["message 4", "message 3"]
    assert all(isinstance(m, MessageView) and not isinstance(m, MessageDetail) for m in listed)
    assert listed[0].created_at == pytest.approx(base + 4)
    older = await store.list_messages(limit=10, before=base + 3)
    assert [m.body for m in older] == ["message 2", "message 1", "message 0"]
    assert [m.body for m in await store.list_messages(limit=10, number="+14255570001")] == ["message 1"]
    await store.publish([event(f"e{n}", subscriptions=()) for n in range(4)])
    newest = await store.list_events(limit=2)
    assert [e.id for e in newest] == ["e3", "e2"]
    assert all(isinstance(e, EventView) and not isinstance(e, EventDetail) for e in newest)
    rest = await store.list_events(limit=10, before_seq=newest[-1].seq)
    assert [e.id for e in rest] == ["e1", "e0"]
    assert await store.get_event("missing") is None
    assert await store.get_message("missing") is None
    assert await store.get_deadletter(12345) is None
    assert await store.counts() == StoreCounts(messages=5, events=4, pending_deliveries=0, deadletters=0)


async def test_every_read_returns_its_typed_model(store: Store) -> None:
    now = time.time()
    [accepted] = await store.accept_messages([outgoing(1, due_at=now, created_at=now)])
    await store.publish([event("e1", message_id=accepted.message_id, published_at=now)])
    [claimed] = await store.claim_deliveries("sub-a", now, 10, now + LEASE)
    await store.finish_deliveries(
        [DeliveryResult(claimed.delivery_id, attempt(1, 410, "Gone"), "deadlettered", dead_letter_reason="X")], now
    )
    [letter] = await store.list_deadletters(limit=1)
    reads = {
        "get_message": (await store.get_message(accepted.message_id), MessageDetail),
        "list_messages": ((await store.list_messages(limit=1))[0], MessageView),
        "get_event": (await store.get_event("e1"), EventDetail),
        "list_events": ((await store.list_events(limit=1))[0], EventView),
        "list_deadletters": (letter, DeadLetterView),
        "get_deadletter": (await store.get_deadletter(letter.id), DeadLetterView),
        "counts": (await store.counts(), StoreCounts),
    }
    assert {name: type(found) for name, (found, _) in reads.items()} == {name: t for name, (_, t) in reads.items()}
    detail = reads["get_message"][0]
    assert isinstance(detail, MessageDetail)
    [caused] = detail.events
    assert (caused.id, caused.deliveries[0].state, caused.deliveries[0].finished_at) == ("e1", "deadlettered", now)
    assert caused.deliveries[0].next_attempt_at is None  # only a pending delivery has a next attempt
    assert caused.event.topic == TOPIC
    assert wire(letter)["event"] == orjson.loads(event("e1").item)  # the stored item, verbatim


async def test_both_dialects_assemble_the_same_read_models(tmp_path: Path, pg_url: str) -> None:
    """One assembly for both (store/rows.py, by column name): the same writes read back as equal models."""

    async def scenario(store: Store) -> list[Any]:
        now = 1_800_000_000.25
        [accepted] = await store.accept_messages([outgoing(1, due_at=now, created_at=now)])
        [job] = await store.claim_carrier_jobs(now, 10, now + LEASE)
        reply = inbound(2, "STOP", opt_change="out", now=now + 1)
        caused = event("e-report", message_id=job.message_id, published_at=now + 1, subscriptions=("sub-a", "sub-b"))
        report = delivery_report(job.message_id)
        await store.finish_carrier_jobs(
            [CarrierResult(job.message_id, "delivered", 2000, report, caused, reply)], now + 1
        )
        first, second = await store.claim_deliveries("sub-a", now + 2, 10, now + 2 + LEASE)
        refused = AttemptRecord(attempt=1, at=now + 2, status=400, outcome="BadRequest", duration_ms=2.345678)
        taken = AttemptRecord(attempt=1, at=now + 2.5, status=200, outcome="Succeeded", duration_ms=1.0)
        await store.finish_deliveries(
            [
                DeliveryResult(first.delivery_id, refused, "deadlettered", dead_letter_reason="DeliveryFailed"),
                DeliveryResult(second.delivery_id, taken, "delivered"),
            ],
            now + 3,
        )
        return [
            await store.get_message(accepted.message_id),
            await store.get_message(reply.message_id),
            await store.list_messages(limit=10),
            await store.get_event("e-report"),
            await store.list_events(limit=10),
            await store.list_deadletters(limit=10, include_redelivered=True),
            await store.get_deadletter(1),
            await store.counts(),
        ]

    results = []
    for url in (f"sqlite:///{tmp_path / 'same.db'}", pg_url):
        store = open_store(url)
        try:
            results.append(await scenario(store))
        finally:
            await store.close()
    sqlite, postgresql = results
    assert sqlite == postgresql
    assert all(found for found in sqlite)  # nothing compared equal by being empty
    assert sqlite[-1] == StoreCounts(messages=2, events=2, pending_deliveries=1, deadletters=1)


async def test_retention_deletes_only_finished_rows_older_than_the_cutoff(store: Store) -> None:
    old, now = time.time() - 30 * 86_400, time.time()
    # Old and finished: a message whose report was delivered and dead-lettered.
    [gone] = await store.accept_messages([outgoing(1, created_at=old, due_at=old)])
    [job] = await store.claim_carrier_jobs(now, 10, now + LEASE)
    await store.finish_carrier_jobs(
        [
            CarrierResult(
                job.message_id,
                "delivered",
                2000,
                delivery_report(job.message_id),
                event("e-gone", message_id=job.message_id, published_at=old, subscriptions=("sub-a", "sub-b")),
                notes=(NoteRecord(old, "receipt DELIVRD"),),
            )
        ],
        old,
    )
    first, second = await store.claim_deliveries("sub-a", now, 10, now + LEASE) + await store.claim_deliveries(
        "sub-b", now, 10, now + LEASE
    )
    await store.finish_deliveries([DeliveryResult(first.delivery_id, attempt(1, 200), "delivered")], old)
    await store.finish_deliveries(
        [DeliveryResult(second.delivery_id, attempt(1, 400), "deadlettered", dead_letter_reason="DeliveryFailed")], old
    )
    # Old but still pending: kept. Old but carrier work outstanding: kept. New: kept.
    await store.publish([event("e-pending", published_at=old)])
    [waiting] = await store.accept_messages([outgoing(2, created_at=old, due_at=now + 3600)])
    assert (await store.route_namespace_outbox(100, lambda items: []))[0] == 2  # routed into no topic
    # Old and finished but not yet routed into the namespace topics: kept until it is.
    await store.publish([event("e-unrouted", published_at=old, subscriptions=())])
    await store.record_inbound(inbound(3, "new", now=now, subscriptions=()))
    removed = await purge_expired(store, now - 7 * 86_400, batch=1)
    assert removed == 2  # the event (with its deliveries, attempts, dead letter) and its message
    assert await store.get_event("e-unrouted") is not None
    assert await store.get_message(gone.message_id) is None
    assert await store.carrier_notes(gone.message_id) == []  # its timeline notes went with it
    assert await store.get_event("e-gone") is None
    assert await store.list_deadletters(limit=5, include_redelivered=True) == []
    assert await store.get_event("e-pending") is not None
    assert await store.get_message(waiting.message_id) is not None
    assert await store.get_message(inbound(3, "new").message_id) is not None
    assert await purge_expired(store, now - 7 * 86_400) == 0
    await store.route_namespace_outbox(100, lambda items: [])
    assert await purge_expired(store, now - 7 * 86_400) == 1
    assert await store.get_event("e-unrouted") is None


async def test_two_stores_on_one_database_never_share_a_claim(store_url: str) -> None:
    first, second = open_store(store_url), open_store(store_url)
    try:
        now = time.time()
        await first.accept_messages([outgoing(n, due_at=now) for n in range(300)])
        await first.publish([event(f"e{n}", published_at=now) for n in range(300)])

        async def claim_all(store: Store) -> tuple[list[str], list[int]]:
            jobs: list[str] = []
            deliveries: list[int] = []
            for _ in range(40):
                jobs += [j.message_id for j in await store.claim_carrier_jobs(now, 7, now + LEASE)]
                deliveries += [d.delivery_id for d in await store.claim_deliveries("sub-a", now, 7, now + LEASE)]
            return jobs, deliveries

        (jobs_a, del_a), (jobs_b, del_b) = await asyncio.gather(claim_all(first), claim_all(second))
        assert sorted(jobs_a + jobs_b) == sorted(outgoing(n).message_id for n in range(300))
        assert len(del_a) + len(del_b) == 300
        assert not set(del_a) & set(del_b)
    finally:
        await first.close()
        await second.close()


# -- PostgreSQL only: many processes ------------------------------------------------------------------------------


async def test_a_dead_workers_lease_runs_out_and_the_report_is_committed_once(pg_url: str) -> None:
    dead, alive = PostgresStore(pg_url), PostgresStore(pg_url)
    dead.worker_id, alive.worker_id = "dead-worker", "live-worker"
    try:
        now = time.time()
        await alive.accept_messages([outgoing(1, due_at=now)])
        [job] = await dead.claim_carrier_jobs(now, 10, now + LEASE)
        assert await alive.claim_carrier_jobs(now + 1, 10, now + 1 + LEASE) == []  # still leased by `dead`
        [taken] = await alive.claim_carrier_jobs(now + LEASE + 1, 10, now + 2 * LEASE)  # the lease ran out
        assert taken.message_id == job.message_id
        report = event(job.message_id, message_id=job.message_id, published_at=now)
        stored = delivery_report(job.message_id)
        await alive.finish_carrier_jobs([CarrierResult(job.message_id, "delivered", 2000, stored, report)], now)
        # The slow worker comes back and finishes too: nothing more is committed (the report exists once).
        await dead.finish_carrier_jobs([CarrierResult(job.message_id, "delivered", 2000, stored, report)], now)
        assert (await alive.counts()).events == 1
        # A delivery's late finish does not undo the finish of the worker that took it over.
        [claimed] = await dead.claim_deliveries("sub-a", now, 10, now + LEASE)
        [retaken] = await alive.claim_deliveries("sub-a", now + LEASE + 1, 10, now + 2 * LEASE)
        await alive.finish_deliveries([DeliveryResult(retaken.delivery_id, attempt(1, 200), "delivered")], now)
        await dead.finish_deliveries(
            [DeliveryResult(claimed.delivery_id, attempt(1, 503), "pending", retry_at=now)], now
        )
        shown = await alive.get_event(job.message_id)
        assert shown is not None
        assert shown.deliveries[0].state == "delivered"
    finally:
        await dead.close()
        await alive.close()


async def test_concurrent_sends_share_transactions_not_one_commit_each(
    postgres_cluster: PostgresCluster, contract_database: str, pg_url: str
) -> None:
    def commits() -> int:
        # Ended sessions have flushed their counters; read until two reads agree (they are updated asynchronously).
        sql = f"SELECT xact_commit FROM pg_stat_database WHERE datname = '{contract_database}'"
        last = -1
        for _ in range(50):
            value = int(postgres_cluster.psql(sql))
            if value == last:
                return value
            last = value
            time.sleep(0.1)
        return last

    store = PostgresStore(pg_url)
    await store.counts()  # connected and migrated before counting
    before = commits()
    try:
        await asyncio.gather(*(store.accept_messages([outgoing(n)]) for n in range(200)))
    finally:
        await store.close()
    assert (await _count_messages(pg_url)) == 200
    # 200 requests, each answered after its commit: grouped, they took a handful of transactions (the reads of this
    # test and of the session bookkeeping add a few).
    assert commits() - before < 40  # measured: about 10


async def test_postgresql_finds_a_reports_work_through_indexes(pg_url: str) -> None:
    """A pushed receipt names a message by any part's reference: never a scan of the waiting work (seq scans
    are priced out so the plan shows what the indexes allow on these small tables)."""
    import asyncpg

    await _count_messages(pg_url)  # migrated
    conn = await asyncpg.connect(pg_url)
    try:
        await conn.execute("SET enable_seqscan = off")
        for statement, arg in (
            (pg_queries.CARRIER_JOB_BY_REFERENCE, "x"),
            (pg_queries.CARRIER_PART_REPORTS, ["x"]),
            (pg_queries.CARRIER_NOTES, "x"),
        ):
            plan = "\n".join(row[0] for row in await conn.fetch("EXPLAIN " + statement, arg))
            assert "Seq Scan" not in plan, plan
            assert "Index" in plan, plan
        plan = "\n".join(row[0] for row in await conn.fetch("EXPLAIN " + pg_queries.CARRIER_JOB_BY_REFERENCE, "x"))
        assert "carrier_jobs_reference" in plan, plan
        assert "carrier_parts_pkey" in plan, plan
    finally:
        await conn.close()


async def _count_messages(url: str) -> int:
    store = PostgresStore(url)
    try:
        return (await store.counts()).messages
    finally:
        await store.close()


async def test_a_claim_whose_answer_was_lost_is_handed_back_on_the_next_claim(pg_url: str) -> None:
    store = PostgresStore(pg_url)
    try:
        now = time.time()
        await store.publish([event("e1", published_at=now)])
        [claimed] = await store.claim_deliveries("sub-a", now, 10, now + LEASE)
        # As when the connection drops after the claim's COMMIT but before its answer: the claim failed for us (the
        # store remembers its token), yet the row is leased in the database.
        store._lost_claims.append((pg_queries.RELEASE_LOST_DELIVERY_CLAIM, f"{store.worker_id}#1"))
        [again] = await store.claim_deliveries("sub-a", now, 10, now + LEASE)  # no waiting out the lease
        assert again.delivery_id == claimed.delivery_id
        assert store._lost_claims == []
    finally:
        await store.close()


async def test_notify_wakes_another_process_on_commit(pg_url: str) -> None:
    writer, listener = PostgresStore(pg_url), PostgresStore(pg_url)
    heard: list[str] = []
    arrived = asyncio.Event()

    def on_wake(kind: str) -> None:
        heard.append(kind)
        arrived.set()

    async def heard_within(kind: str, seconds: float = 5.0) -> None:
        while kind not in heard:
            await asyncio.wait_for(arrived.wait(), seconds)
            arrived.clear()

    async def expect(kind: str, action: Callable[[], Any]) -> None:
        heard.clear()
        arrived.clear()
        await action()
        await heard_within(kind)

    try:
        await listener.listen(on_wake)
        await expect("carrier", lambda: writer.accept_messages([outgoing(1)]))
        await expect("deliveries", lambda: writer.publish([event("e1")]))
        await expect("subscriptions", lambda: writer.put_subscription(subscription("s")))
        await expect("subscriptions", lambda: writer.delete_subscription("s"))
        heard.clear()
        await writer.publish([event("e2", subscriptions=())])  # nothing to deliver: nobody is woken
        await writer.accept_messages([outgoing(2)])  # ... but the carrier is, and notifications keep their order
        await heard_within("carrier")
        assert "deliveries" not in heard
    finally:
        await writer.close()
        await listener.close()


async def test_database_restart_is_unavailable_then_recovers_and_listening_resumes(
    postgres_cluster: PostgresCluster, pg_url: str
) -> None:
    store = PostgresStore(pg_url)
    woken: list[str] = []
    try:
        await store.listen(woken.append)
        await store.accept_messages([outgoing(1)])
        postgres_cluster.stop("fast")
        try:
            with pytest.raises(StoreUnavailableError):
                await store.accept_messages([outgoing(2)])
            with pytest.raises(StoreUnavailableError):
                await store.counts()
        finally:
            postgres_cluster.start()
        deadline = time.monotonic() + 20
        while True:  # the first statements after the restart may meet connections the server closed
            try:
                await store.accept_messages([outgoing(3)])
                break
            except StoreUnavailableError:
                assert time.monotonic() < deadline, "the store did not reconnect"
                await asyncio.sleep(0.1)
        assert (await store.counts()).messages == 2  # the refused write left nothing behind
        while "subscriptions" not in woken:  # the listener came back and woke everything once
            assert time.monotonic() < deadline, f"the listener did not reconnect: {woken}"
            await asyncio.sleep(0.05)
        assert {"carrier", "deliveries", "subscriptions"} <= set(woken)
    finally:
        await store.close()


async def test_namespace_definitions_and_queues_survive_and_a_topic_takes_its_own_with_it(store: Store) -> None:
    await store.put_namespace_resource("topic", "orders", b'{"v": 1}')
    await store.put_namespace_resource("topic", "orders", b'{"v": 2}')  # an update replaces
    await store.put_namespace_resource("subscription", "orders/workers", b"{}")
    await store.put_namespace_resource("topic", "orders-archive", b"{}")
    await store.put_namespace_resource("subscription", "orders-archive/keep", b"{}")
    assert await store.list_namespace_resources() == [
        ("topic", "orders", b'{"v": 2}'),
        ("topic", "orders-archive", b"{}"),
        ("subscription", "orders-archive/keep", b"{}"),
        ("subscription", "orders/workers", b"{}"),
    ]
    queued = NamespaceEntry("orders/workers", 0, b'{"id": "a"}', expires_at=100.0, available_at=1.0)
    locked = NamespaceEntry("orders/workers", 1, b'{"id": "b"}', 100.0, 1.0, 1, "dG9rZW4=", 61.0, 1.0)
    other = NamespaceEntry("orders-archive/keep", 0, b'{"id": "c"}', 100.0, 1.0)
    await store.save_namespace_entries([queued, locked, other], [])
    released = NamespaceEntry("orders/workers", 1, b'{"id": "b"}', 100.0, 71.0, 1, None, 61.0, 1.0)
    dead = NamespaceEntry("orders/workers", 0, b'{"id": "a"}', 100.0, 1.0, 2, dead_reason="Rejected", dead_at=5.0)
    await store.save_namespace_entries([released, dead], [])
    assert await store.list_namespace_entries() == [other, dead, released]
    await store.save_namespace_entries([], [("orders/workers", 1)])  # acknowledged
    await store.delete_namespace_resource("topic", "orders")
    assert await store.list_namespace_resources() == [
        ("topic", "orders-archive", b"{}"),
        ("subscription", "orders-archive/keep", b"{}"),
    ]
    assert await store.list_namespace_entries() == [other]
    await store.delete_namespace_resource("subscription", "orders-archive/keep")
    assert await store.list_namespace_entries() == []


async def test_every_committed_event_waits_in_the_namespace_outbox_until_routed_once(store: Store) -> None:
    await store.publish([event("e1"), event("e2", subscriptions=())])
    await store.record_inbound(inbound(1, "hello"))

    def failing(items: Sequence[bytes]) -> list[NamespaceEntry]:
        raise RuntimeError("routing failed")

    with pytest.raises(RuntimeError):
        await store.route_namespace_outbox(10, failing)  # rolled back: the outbox keeps all three

    routed: list[str] = []

    def route(items: Sequence[bytes]) -> list[NamespaceEntry]:
        ids = [orjson.loads(item)["id"] for item in items]
        routed.extend(ids)
        return [NamespaceEntry("sms/reader", len(routed) * 10 + n, item, 100.0, 1.0) for n, item in enumerate(items)]

    first, entries = await store.route_namespace_outbox(2, route)  # a batch at a time, oldest first
    assert (first, len(entries)) == (2, 2)
    rest, _ = await store.route_namespace_outbox(10, route)
    assert rest == 1
    assert await store.route_namespace_outbox(10, route) == (0, [])
    assert routed[:2] == ["e1", "e2"]
    assert len(routed) == 3  # each event routed once
    stored = await store.list_namespace_entries()
    assert [orjson.loads(e.event)["id"] for e in stored] == routed
    assert stored[:2] == entries


def test_migrations_rebuild_schema_sql_exactly(postgres_cluster: PostgresCluster) -> None:
    migrated = postgres_cluster.create_database("migrated")
    asyncio.run(_migrate_only(postgres_cluster.url(migrated)))
    from importlib import resources

    declared = postgres_cluster.create_database("declared")
    schema = (resources.files("smsgrid.store.postgres") / "schema.sql").read_text(encoding="utf-8")
    postgres_cluster.psql(schema, declared)

    def dump(database: str) -> str:
        text = postgres_cluster.run_client(
            "pg_dump",
            "--schema-only",
            "--no-owner",
            "--exclude-table=schema_migrations",
            postgres_cluster.url(database),
        )
        # Comments, and the \restrict lines newer pg_dump versions wrap their output in (a random key each run).
        return "\n".join(line for line in text.splitlines() if line and not line.startswith(("--", "\\")))

    assert dump(migrated) == dump(declared)
    assert "CREATE TABLE public.deliveries" in dump(migrated)


async def _migrate_only(url: str) -> None:
    store = PostgresStore(url)
    try:
        await store.counts()
    finally:
        await store.close()
