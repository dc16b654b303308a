"""Row ↔ value conversions shared by every dialect (the columns are the same in SQLite and PostgreSQL).

The read models (store/views.py) are assembled here, by column name, once for both dialects.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from smsgrid.store.records import (
    CarrierJob,
    CarrierPlan,
    InboundMessage,
    NamespaceEntry,
    NewEvent,
    OutgoingMessage,
    PartReport,
    SubscriptionRecord,
)
from smsgrid.store.views import (
    AttachmentSummary,
    AttemptView,
    CarrierNoteView,
    DeadLetterView,
    DeliveryReportView,
    DeliveryView,
    EventDetail,
    EventGridItem,
    EventView,
    MessageDetail,
    MessageView,
    SendOptions,
    StoreCounts,
)


def outgoing_message_row(m: OutgoingMessage, *, status: str) -> tuple[Any, ...]:
    """The INSERT_MESSAGE parameters of an outgoing message (both dialects: same columns, same order)."""
    return (m.message_id, "outgoing", m.from_number, m.to_number, m.body, m.encoding, m.segments, m.tag,
            m.delivery_report, m.repeatability_request_id, status, None, m.created_at, m.created_at,
            m.api_version, send_options_json(m.send_options), attachments_json(m.attachments))  # fmt: skip


def inbound_message_row(m: InboundMessage) -> tuple[Any, ...]:
    """The INSERT_MESSAGE parameters of an inbound message."""
    return (m.message_id, "incoming", m.from_number, m.to_number, m.body, m.encoding, m.segments, None,
            False, None, "received", None, m.created_at, m.created_at, None, None, None)  # fmt: skip


def send_options_json(options: dict[str, Any] | None) -> str | None:
    return None if not options else orjson.dumps(options).decode()


def attachments_json(attachments: tuple[tuple[str, bytes], ...]) -> str | None:
    if not attachments:
        return None
    return orjson.dumps(
        [{"mimeType": mime, "content": base64.b64encode(data).decode()} for mime, data in attachments]
    ).decode()


def subscription_row(record: SubscriptionRecord) -> tuple[Any, ...]:
    """The UPSERT_SUBSCRIPTION parameters (the spec as JSON text)."""
    return (record.name, orjson.dumps(record.spec).decode(), record.provisioning_state, record.validation_code,
            record.validation_deadline, record.created_at, record.updated_at)  # fmt: skip


def plan_json(plan: CarrierPlan) -> str:
    raw: dict[str, Any] = {
        "due_at": plan.due_at,
        "report_timeout_seconds": plan.report_timeout_seconds,
        "partner": plan.partner,
        "reference": plan.reference,
        "partner_message_id": plan.partner_message_id,
    }
    # Written only when set: a single-part message's plan stays what it was before parts and marks existed.
    if plan.part_references:
        raw["part_references"] = plan.part_references
    if plan.submitting_since is not None:
        raw["submitting_since"] = plan.submitting_since
    return orjson.dumps(raw).decode()


def plan_from_json(text: str | bytes) -> CarrierPlan:
    raw = orjson.loads(text)
    # A plan written by a version whose simulator decided at accept time has only `due_at` and `partner_message_id`
    # in common: it is read as work not yet submitted, and the carrier decides again.
    return CarrierPlan(raw["due_at"], raw.get("report_timeout_seconds"), raw.get("partner"), raw.get("reference"),
                       raw.get("partner_message_id"), tuple(raw.get("part_references", ())),
                       raw.get("submitting_since"))  # fmt: skip


# The most carrier notes a message keeps (its newest): a chatty SMSC cannot grow one message's timeline forever.
CARRIER_NOTES_KEPT = 200


def carrier_part_rows(message_id: str, plan: CarrierPlan) -> list[tuple[str, str, int]]:
    """The carrier_parts rows (reference, message_id, part) of a plan taken as several parts; none otherwise."""
    return [(reference, message_id, n) for n, reference in enumerate(plan.part_references)]


def part_report_json(part: PartReport) -> str:
    return orjson.dumps(
        {"status": part.status, "code": part.code, "succeeded": part.succeeded, "failed": part.failed,
         "at": part.at, "details": part.details}
    ).decode()  # fmt: skip


def part_report_from_json(text: str | bytes | None) -> PartReport | None:
    if text is None:
        return None
    raw = orjson.loads(text)
    return PartReport(raw["status"], raw["code"], raw["succeeded"], raw["failed"], raw["at"], raw.get("details"))


def carrier_note_views(rows: Sequence[tuple[Any, ...]]) -> list[CarrierNoteView]:
    return [CarrierNoteView(at=row[0], text=row[1]) for row in rows]


def with_parts(job: CarrierJob, reports: Sequence[str | bytes | None]) -> CarrierJob:
    """A long message's job with its carrier_parts reports (JSON or NULL, in part order)."""
    return dataclasses.replace(job, parts=tuple(part_report_from_json(r) for r in reports))


def carrier_job(message_id: str, plan: str | bytes, row: tuple[Any, ...]) -> CarrierJob:
    from_number, to_number, body, segments, tag, delivery_report, created_at, opted_out = row
    return CarrierJob(
        message_id=message_id,
        from_number=from_number,
        to_number=to_number,
        body=body,
        segments=segments,
        tag=tag,
        delivery_report=bool(delivery_report),
        created_at=created_at,
        plan=plan_from_json(plan),
        opted_out=bool(opted_out),
    )


def subscription_record(row: tuple[Any, ...]) -> SubscriptionRecord:
    name, spec, state, code, deadline, created, updated = row
    return SubscriptionRecord(
        name=name,
        spec=orjson.loads(spec) if isinstance(spec, str | bytes) else dict(spec),
        provisioning_state=state,
        validation_code=code,
        validation_deadline=deadline,
        created_at=created,
        updated_at=updated,
    )


class NamedRow(Protocol):
    """A result row read by column name: sqlite3.Row and asyncpg.Record both are."""

    def __getitem__(self, key: str, /) -> Any: ...


def message_view(row: NamedRow) -> MessageView:
    """A MESSAGE_COLUMNS row."""
    report, options = row["report"], row["send_options"]
    return MessageView(
        message_id=row["message_id"],
        direction=row["direction"],
        from_number=row["from_number"],
        to_number=row["to_number"],
        body=row["body"],
        encoding=row["encoding"],
        segments=row["segments"],
        tag=row["tag"],
        enable_delivery_report=bool(row["delivery_report"]),
        status=row["status"],
        delivery_status_code=row["status_code"],
        delivery_report=DeliveryReportView.model_validate_json(report) if report else None,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        api_version=row["api_version"],
        send_options=SendOptions.model_validate_json(options) if options else None,
        attachments=_attachment_summary(row["attachments"]),
    )


def _attachment_summary(text: str | None) -> tuple[AttachmentSummary, ...] | None:
    """What message listings show of an MMS's attachments: type and size (the content stays in the store)."""
    if not text:
        return None
    return tuple(
        AttachmentSummary(mime_type=a["mimeType"], size_bytes=len(base64.b64decode(a["content"])))
        for a in orjson.loads(text)
    )


def event_view(row: NamedRow) -> EventView:
    """An EVENT_COLUMNS row."""
    return EventView(**_event_fields(row))


def _event_fields(row: NamedRow) -> dict[str, Any]:
    return {
        "seq": row["seq"],
        "id": row["event_id"],
        "event_type": row["event_type"],
        "subject": row["subject"],
        "message_id": row["message_id"],
        "published_at": row["published_at"],
        "event": EventGridItem.model_validate_json(bytes(row["item"])),
    }


def attempt_view(row: NamedRow) -> AttemptView:
    """An attempts row (ATTEMPTS_OF_DELIVERIES)."""
    return AttemptView(
        attempt=row["attempt"],
        time=row["at"],
        status_code=row["status"],
        outcome=row["outcome"],
        duration_ms=round(row["duration_ms"], 3),
        error=row["error"],
    )


def delivery_view(row: NamedRow, attempts: Sequence[AttemptView]) -> DeliveryView:
    """A deliveries row (DELIVERIES_OF_EVENTS) with its attempts."""
    state = row["state"]
    return DeliveryView(
        delivery_id=row["delivery_id"],
        subscription=row["subscription"],
        state=state,
        delivery_count=row["attempts"],
        # due_at doubles as the lease of a claim: it is only "the next attempt" while the delivery waits.
        next_attempt_at=row["due_at"] if state == "pending" else None,
        published_at=row["published_at"],
        finished_at=row["finished_at"],
        attempts=tuple(attempts),
    )


def event_details(
    events: Sequence[NamedRow], deliveries: Sequence[NamedRow], attempts: Sequence[NamedRow]
) -> list[EventDetail]:
    """Events (EVENT_COLUMNS rows, in the order to show) with their deliveries (DELIVERIES_OF_EVENTS rows, by
    delivery id) and each delivery's attempts (ATTEMPTS_OF_DELIVERIES rows, by delivery id then attempt)."""
    attempts_of: dict[int, list[AttemptView]] = {}
    for a in attempts:
        attempts_of.setdefault(a["delivery_id"], []).append(attempt_view(a))
    deliveries_of: dict[int, list[DeliveryView]] = {}
    for d in deliveries:
        deliveries_of.setdefault(d["event_seq"], []).append(delivery_view(d, attempts_of.get(d["delivery_id"], [])))
    return [EventDetail(**_event_fields(e), deliveries=tuple(deliveries_of.get(e["seq"], []))) for e in events]


def message_detail(row: NamedRow, events: Sequence[EventDetail]) -> MessageDetail:
    """A MESSAGE_COLUMNS row with the events it caused."""
    return MessageDetail(**dict(message_view(row)), events=tuple(events))


def deadletter_view(row: NamedRow) -> DeadLetterView:
    """A DEADLETTER_ROW row."""
    return DeadLetterView(
        id=row["deadletter_id"],
        delivery_id=row["delivery_id"],
        subscription=row["subscription"],
        event_id=row["event_id"],
        event_seq=row["event_seq"],
        dead_letter_reason=row["reason"],
        delivery_attempts=row["delivery_attempts"],
        last_delivery_outcome=row["last_outcome"],
        last_http_status_code=row["last_status"],
        publish_time=row["publish_time"],
        last_delivery_attempt_time=row["last_attempt_time"],
        dead_lettered_at=row["created_at"],
        redelivered_at=row["redelivered_at"],
        event=EventGridItem.model_validate_json(bytes(row["item"])),
    )


def store_counts(row: NamedRow) -> StoreCounts:
    """The COUNTS row."""
    return StoreCounts(
        messages=row["messages"],
        events=row["events"],
        pending_deliveries=row["pending_deliveries"],
        deadletters=row["deadletters"],
    )


@dataclass(frozen=True, slots=True)
class InboundWrites:
    """What one transaction writes for inbound messages, in order; each dialect runs the same plan."""

    # INSERT_MESSAGE parameters: the inbound messages, then their HELP auto-replies (stored already delivered).
    messages: tuple[tuple[Any, ...], ...]
    # (change, sender, recipient, at) in message order. The handset texts our number: an opt-out is "this
    # sender (our number) may not text that handset", so sender = the message's to, recipient = its from.
    optouts: tuple[tuple[str, str, str, float], ...]
    events: tuple[NewEvent, ...]


def inbound_writes(messages: Sequence[InboundMessage]) -> InboundWrites:
    replies = [m.auto_reply for m in messages if m.auto_reply is not None]
    return InboundWrites(
        messages=(
            *(inbound_message_row(m) for m in messages),
            *(outgoing_message_row(r, status="delivered") for r in replies),
        ),
        optouts=tuple(
            (m.opt_change, m.to_number, m.from_number, m.created_at) for m in messages if m.opt_change is not None
        ),
        events=tuple(m.event for m in messages),
    )


NAMESPACE_ENTRY_COLUMNS = (
    "SELECT subscription, seq, event, expires_at, available_at, delivery_count, lock_token, locked_until, "
    "first_received_at, dead_reason, dead_at FROM namespace_entries"
)


def namespace_entry_row(entry: NamespaceEntry) -> tuple[Any, ...]:
    return (
        entry.subscription, entry.seq, entry.event, entry.expires_at, entry.available_at, entry.delivery_count,
        entry.lock_token, entry.locked_until, entry.first_received_at, entry.dead_reason, entry.dead_at,
    )  # fmt: skip


def namespace_entry(row: tuple[Any, ...]) -> NamespaceEntry:
    return NamespaceEntry(
        subscription=row[0], seq=int(row[1]), event=bytes(row[2]), expires_at=float(row[3]),
        available_at=float(row[4]), delivery_count=int(row[5]), lock_token=row[6], locked_until=float(row[7]),
        first_received_at=row[8], dead_reason=row[9], dead_at=row[10],
    )  # fmt: skip
