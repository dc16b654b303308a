"""A message's life as steps for the timeline page: accepted → carrier attempts → delivered / failed, and the
events it caused with every webhook delivery attempt (from `Store.get_message`, which nests them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from smsgrid.sms import description

# Step states drive the dot colour: done (green), failed (red), waiting (amber, pulsing), info (grey).
DONE, FAILED, WAITING, INFO = "done", "failed", "waiting", "info"


@dataclass(frozen=True, slots=True)
class Step:
    title: str
    at: str | None
    state: str
    detail: str = ""
    event: dict[str, Any] | None = None  # an event step carries the event with its deliveries
    facts: tuple[tuple[str, str], ...] = field(default_factory=tuple)


def message_steps(message: dict[str, Any]) -> list[Step]:
    if message.get("direction") == "incoming":
        steps = [
            Step(
                "Received",
                message.get("createdAt"),
                DONE,
                f"A handset texted {message.get('to')}; smsgrid published SMSReceived.",
            )
        ]
    else:
        steps = _outgoing_steps(message)
    for event in message.get("events") or []:
        steps.append(_event_step(event))
    return steps


def _outgoing_steps(message: dict[str, Any]) -> list[Step]:
    steps = [
        Step(
            "Accepted",
            message.get("createdAt"),
            DONE,
            "POST /sms answered 202; the message was committed and handed to the simulated carrier.",
            facts=(
                ("Segments", f"{message.get('segments')} ({message.get('encoding')})"),
                ("Delivery report", "requested" if message.get("enableDeliveryReport") else "not requested"),
            ),
        )
    ]
    report = message.get("deliveryReport") or {}
    attempts = report.get("deliveryAttempts") or []
    for n, attempt in enumerate(attempts, start=1):
        ok = attempt.get("segmentsSucceeded", 0) > 0 and attempt.get("segmentsFailed", 0) == 0
        steps.append(
            Step(
                f"Carrier attempt {n}",
                attempt.get("timestamp"),
                DONE if ok else FAILED,
                f"{attempt.get('segmentsSucceeded', 0)} segment(s) delivered, "
                f"{attempt.get('segmentsFailed', 0)} failed.",
            )
        )
    status = message.get("status")
    code = message.get("deliveryStatusCode")
    details = description(code) if isinstance(code, int) else ""
    if status == "delivered":
        steps.append(
            Step("Delivered", message.get("updatedAt"), DONE, f"Carrier report: {details}", facts=_code_facts(code))
        )
    elif status == "failed":
        steps.append(
            Step("Failed", message.get("updatedAt"), FAILED, f"Carrier report: {details}", facts=_code_facts(code))
        )
    elif status == "sent":
        steps.append(
            Step("Sent", message.get("updatedAt"), INFO, "The carrier took the message and never sent a report.")
        )
    else:
        steps.append(Step("Waiting for the carrier", None, WAITING, "The delivery report has not come back yet."))
    if status in ("delivered", "failed") and not message.get("enableDeliveryReport"):
        steps.append(
            Step(
                "No delivery report event",
                None,
                INFO,
                "enableDeliveryReport was false, so no SMSDeliveryReportReceived event was published.",
            )
        )
    return steps


def _code_facts(code: object) -> tuple[tuple[str, str], ...]:
    return (("Status code", str(code)),) if code is not None else ()


def _event_step(event: dict[str, Any]) -> Step:
    deliveries = event.get("deliveries") or []
    states = {d.get("state") for d in deliveries}
    if not deliveries:
        state, detail = INFO, "No subscription matched this event."
    elif "deadlettered" in states:
        state, detail = FAILED, "At least one subscription dead-lettered it."
    elif "pending" in states:
        state, detail = WAITING, "Delivery to a subscription is still pending or retrying."
    else:
        state, detail = DONE, f"Delivered to {len(deliveries)} subscription(s)."
    short = str(event.get("eventType", "")).rsplit(".", 1)[-1]
    return Step(f"Event {short}", event.get("publishedAt"), state, detail, event=event)


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
