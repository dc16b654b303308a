"""A message's life as steps for the timeline page: accepted → carrier notes and attempts → delivered / failed, and
the events it caused with every webhook delivery attempt (from `Store.get_message`, which nests them, and
`Store.carrier_notes`: each PDU the carrier put on the message's timeline)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from smsgrid.events.timestamps import Timestamp
from smsgrid.sms import description
from smsgrid.store.views import CarrierNoteView, EventDetail, MessageDetail

# Step states drive the dot colour: done (green), failed (red), waiting (amber, pulsing), info (grey).
DONE, FAILED, WAITING, INFO = "done", "failed", "waiting", "info"


@dataclass(frozen=True, slots=True)
class Step:
    title: str
    at: float | Timestamp | None  # epoch seconds the store recorded, or a carrier attempt's report timestamp
    state: str
    detail: str = ""
    event: EventDetail | None = None  # an event step carries the event with its deliveries
    facts: tuple[tuple[str, str], ...] = field(default_factory=tuple)


def message_steps(message: MessageDetail, notes: Sequence[CarrierNoteView] = ()) -> list[Step]:
    if message.direction == "incoming":
        steps = [
            Step(
                "Received",
                message.created_at,
                DONE,
                f"A handset texted {message.to_number}; smsgrid published SMSReceived.",
            )
        ]
    else:
        steps = _outgoing_steps(message, notes)
    for event in message.events:
        steps.append(_event_step(event))
    return steps


def _outgoing_steps(message: MessageDetail, notes: Sequence[CarrierNoteView]) -> list[Step]:
    steps = [
        Step(
            "Accepted",
            message.created_at,
            DONE,
            "POST /sms answered 202; the message was committed and handed to the carrier.",
            facts=(
                ("Segments", f"{message.segments} ({message.encoding})"),
                ("Delivery report", "requested" if message.enable_delivery_report else "not requested"),
            ),
        )
    ]
    carrier_steps = [Step(note.text, note.at, INFO) for note in notes]
    attempts = message.delivery_report.delivery_attempts if message.delivery_report else ()
    for n, attempt in enumerate(attempts, start=1):
        ok = attempt.segments_succeeded > 0 and attempt.segments_failed == 0
        carrier_steps.append(
            Step(
                f"Carrier attempt {n}",
                attempt.timestamp,
                DONE if ok else FAILED,
                f"{attempt.segments_succeeded} segment(s) delivered, {attempt.segments_failed} failed.",
            )
        )
    # Notes (each PDU) and the report's attempts in time order; sorted() keeps equal times in the order above.
    steps.extend(sorted(carrier_steps, key=_seconds))
    status = message.status
    code = message.delivery_status_code
    details = description(code) if code is not None else ""
    if status == "delivered":
        steps.append(Step("Delivered", message.updated_at, DONE, f"Carrier report: {details}", facts=_code_facts(code)))
    elif status == "failed":
        steps.append(Step("Failed", message.updated_at, FAILED, f"Carrier report: {details}", facts=_code_facts(code)))
    elif status == "sent":
        steps.append(Step("Sent", message.updated_at, INFO, "The carrier took the message and never sent a report."))
    else:
        steps.append(Step("Waiting for the carrier", None, WAITING, "The delivery report has not come back yet."))
    if status in ("delivered", "failed") and not message.enable_delivery_report:
        steps.append(
            Step(
                "No delivery report event",
                None,
                INFO,
                "enableDeliveryReport was false, so no SMSDeliveryReportReceived event was published.",
            )
        )
    return steps


def _seconds(step: Step) -> float:
    at = step.at
    if isinstance(at, Timestamp):
        return at.epoch_seconds
    return 0.0 if at is None else at


def _code_facts(code: int | None) -> tuple[tuple[str, str], ...]:
    return (("Status code", str(code)),) if code is not None else ()


def _event_step(event: EventDetail) -> Step:
    deliveries = event.deliveries
    states = {d.state for d in deliveries}
    if not deliveries:
        state, detail = INFO, "No subscription matched this event."
    elif "deadlettered" in states:
        state, detail = FAILED, "At least one subscription dead-lettered it."
    elif "pending" in states:
        state, detail = WAITING, "Delivery to a subscription is still pending or retrying."
    else:
        state, detail = DONE, f"Delivered to {len(deliveries)} subscription(s)."
    short = event.event_type.rsplit(".", 1)[-1]
    return Step(f"Event {short}", event.published_at, state, detail, event=event)


def delivery_state_class(state: str | None) -> str:
    return {"delivered": "ok", "deadlettered": "bad", "pending": "warn"}.get(state or "", "muted")


def message_state_class(status: str | None) -> str:
    return {
        "delivered": "ok",
        "received": "info",
        "failed": "bad",
        "accepted": "warn",
        "sent": "muted",
    }.get(status or "", "muted")


def attempt_outcome_class(outcome: str | None) -> str:
    return "ok" if outcome == "Succeeded" else "bad"
