"""Row ↔ value conversions shared by every dialect (the columns are the same in SQLite and PostgreSQL)."""

from __future__ import annotations

import base64
from typing import Any

import orjson

from smsgrid.events.timestamps import Timestamp
from smsgrid.store.records import (
    CarrierJob,
    CarrierPlan,
    InboundMessage,
    NamespaceEntry,
    OutgoingMessage,
    SubscriptionRecord,
)


def iso(epoch: float | None) -> str | None:
    return None if epoch is None else Timestamp.from_epoch_seconds(epoch).format()


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


def _attachment_summary(text: str | None) -> list[dict[str, Any]] | None:
    """What message listings show of an MMS's attachments: type and size (the content stays in the store)."""
    if not text:
        return None
    return [{"mimeType": a["mimeType"], "bytes": len(base64.b64decode(a["content"]))} for a in orjson.loads(text)]


def subscription_row(record: SubscriptionRecord) -> tuple[Any, ...]:
    """The UPSERT_SUBSCRIPTION parameters (the spec as JSON text)."""
    return (record.name, orjson.dumps(record.spec).decode(), record.provisioning_state, record.validation_code,
            record.validation_deadline, record.created_at, record.updated_at)  # fmt: skip


def plan_json(plan: CarrierPlan) -> str:
    return orjson.dumps(
        {
            "due_at": plan.due_at,
            "report_timeout_seconds": plan.report_timeout_seconds,
            "partner": plan.partner,
            "reference": plan.reference,
            "partner_message_id": plan.partner_message_id,
        }
    ).decode()


def plan_from_json(text: str | bytes) -> CarrierPlan:
    raw = orjson.loads(text)
    # A plan written by a version whose simulator decided at accept time has only `due_at` and `partner_message_id`
    # in common: it is read as work not yet submitted, and the carrier decides again.
    return CarrierPlan(raw["due_at"], raw.get("report_timeout_seconds"), raw.get("partner"), raw.get("reference"),
                       raw.get("partner_message_id"))  # fmt: skip


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


def message_dict(row: tuple[Any, ...]) -> dict[str, Any]:
    (message_id, direction, from_number, to_number, body, encoding, segments, tag, delivery_report, status,
     status_code, report, created_at, updated_at, api_version, send_options, attachments) = row  # fmt: skip
    return {
        "messageId": message_id,
        "direction": direction,
        "from": from_number,
        "to": to_number,
        "message": body,
        "encoding": encoding,
        "segments": segments,
        "tag": tag,
        "enableDeliveryReport": bool(delivery_report),
        "status": status,
        "deliveryStatusCode": status_code,
        "deliveryReport": orjson.loads(report) if report else None,
        "createdAt": iso(created_at),
        "updatedAt": iso(updated_at),
        "apiVersion": api_version,
        "sendOptions": orjson.loads(send_options) if send_options else None,
        "attachments": _attachment_summary(attachments),
    }


def event_dict(row: tuple[Any, ...]) -> dict[str, Any]:
    seq, event_id, event_type, subject, message_id, published_at, item = row
    return {
        "seq": seq,
        "id": event_id,
        "eventType": event_type,
        "subject": subject,
        "messageId": message_id,
        "publishedAt": iso(published_at),
        "event": orjson.loads(item),
    }


def delivery_dict(row: tuple[Any, ...]) -> dict[str, Any]:
    delivery_id, subscription, state, attempts, due_at, published_at, finished_at = row
    return {
        "deliveryId": delivery_id,
        "subscription": subscription,
        "state": state,
        "deliveryCount": attempts,
        "nextAttemptAt": iso(due_at) if state == "pending" else None,
        "publishedAt": iso(published_at),
        "finishedAt": iso(finished_at),
    }


def attempt_dict(row: tuple[Any, ...]) -> dict[str, Any]:
    attempt, at, status, outcome, duration_ms, error = row
    return {
        "attempt": attempt,
        "time": iso(at),
        "statusCode": status,
        "outcome": outcome,
        "durationMs": round(duration_ms, 3),
        "error": error,
    }


def deadletter_dict(row: tuple[Any, ...]) -> dict[str, Any]:
    (deadletter_id, delivery_id, subscription, event_seq, reason, attempts, last_outcome, last_status,
     publish_time, last_attempt_time, created_at, redelivered_at, event_id, item) = row  # fmt: skip
    return {
        "id": deadletter_id,
        "deliveryId": delivery_id,
        "subscription": subscription,
        "eventId": event_id,
        "eventSeq": event_seq,
        "deadLetterReason": reason,
        "deliveryAttempts": attempts,
        "lastDeliveryOutcome": last_outcome,
        "lastHttpStatusCode": last_status,
        "publishTime": iso(publish_time),
        "lastDeliveryAttemptTime": iso(last_attempt_time),
        "deadLetteredAt": iso(created_at),
        "redeliveredAt": iso(redelivered_at),
        "event": orjson.loads(item),
    }


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
