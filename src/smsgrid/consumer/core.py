"""What an Event Grid webhook must answer, as one pure function over (method, headers, body).

`handle_delivery` covers everything an endpoint sees (SPEC §3; Microsoft Learn, end-point-validation-*,
receive-events, webhook-event-delivery):

- the Event Grid **validation event** (`aeg-event-type: SubscriptionValidation`) → 200
  `{"validationResponse": code}`, so the subscription becomes `Succeeded` at once;
- the CloudEvents **OPTIONS handshake** → `WebHook-Allowed-Origin` (consent is that header, not the status);
- a **notification** in either schema (Event Grid array, one CloudEvent, a CloudEvents batch) and either
  `data` casing → typed :class:`~smsgrid.events.Event` values, parsed with :func:`smsgrid.events.parse_events`;
  a body that is not valid → 400, which Event Grid does not retry (it dead-letters it).

Event Grid delivers at least once, so the same event can arrive twice. Pass an :class:`EventIdDeduper` and
events whose id was already handled (or is being handled) are left out of `reply.events`; once the caller has
handled them it calls `dedupe.remember(ids)`, or `dedupe.release(ids)` when handling failed, so the redelivery
is handled again (the adapters do both).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import orjson

from smsgrid.errors import EventParseError
from smsgrid.events.models import Event
from smsgrid.events.parse import parse_events

VALIDATION_EVENT_TYPE = "Microsoft.EventGrid.SubscriptionValidationEvent"
JSON_CONTENT_TYPE = "application/json; charset=utf-8"
ALLOWED_METHODS = "OPTIONS, POST"
DEFAULT_DEDUPE_CAPACITY = 10_000


class ReplyKind(StrEnum):
    VALIDATION = "validation"  # answered the Event Grid validation event
    HANDSHAKE = "handshake"  # answered (or refused) the CloudEvents OPTIONS handshake
    NOTIFICATION = "notification"  # events to handle: reply.events
    REJECTED = "rejected"  # not something an Event Grid endpoint accepts; reply.problem says why


@dataclass(frozen=True, slots=True)
class ConsumerReply:
    """The HTTP answer to send back, and the new events (notifications only) for the caller to handle."""

    kind: ReplyKind
    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    events: tuple[Event, ...] = ()
    duplicate_ids: tuple[str, ...] = ()  # ids left out because they were already handled
    problem: str | None = None


class EventIdDeduper:
    """Event ids being handled and the last `capacity` handled (least recently seen forgotten first); thread-safe.

    `claim` takes the ids nobody has handled or is handling; the caller then calls `remember` (handled) or
    `release` (handling failed, so a redelivery is handled again). A duplicate that arrives while the first
    copy is still being handled is skipped: if that first handling fails, its own delivery is retried.
    """

    def __init__(self, capacity: int = DEFAULT_DEDUPE_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._handled: OrderedDict[str, None] = OrderedDict()
        self._in_flight: set[str] = set()
        self._lock = threading.Lock()

    def __contains__(self, event_id: object) -> bool:
        with self._lock:
            return event_id in self._handled

    def __len__(self) -> int:
        with self._lock:
            return len(self._handled)

    def claim(self, event_id: str) -> bool:
        """True when `event_id` is new: it is now in flight until `remember` or `release`."""
        with self._lock:
            if event_id in self._handled:
                self._handled.move_to_end(event_id)
                return False
            if event_id in self._in_flight:
                return False
            self._in_flight.add(event_id)
            return True

    def remember(self, event_ids: Iterable[str]) -> None:
        """These events were handled: skip them from now on."""
        with self._lock:
            for event_id in event_ids:
                self._in_flight.discard(event_id)
                self._handled[event_id] = None
                self._handled.move_to_end(event_id)
            while len(self._handled) > self.capacity:
                self._handled.popitem(last=False)

    def release(self, event_ids: Iterable[str]) -> None:
        """Handling these failed: take them again when they are redelivered."""
        with self._lock:
            for event_id in event_ids:
                self._in_flight.discard(event_id)


def _lower(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    items = headers.items() if isinstance(headers, Mapping) else headers
    return {str(name).lower(): str(value) for name, value in items}


def _json_reply(kind: ReplyKind, status: int, value: Any, **extra: Any) -> ConsumerReply:
    return ConsumerReply(
        kind=kind, status=status, headers={"Content-Type": JSON_CONTENT_TYPE}, body=orjson.dumps(value), **extra
    )


def _rejected(status: int, message: str, headers: Mapping[str, str] | None = None) -> ConsumerReply:
    body = orjson.dumps({"error": {"code": "BadRequest" if status == 400 else "Rejected", "message": message}})
    return ConsumerReply(
        kind=ReplyKind.REJECTED,
        status=status,
        headers={"Content-Type": JSON_CONTENT_TYPE, **(headers or {})},
        body=body,
        problem=message,
    )


def _handshake(headers: Mapping[str, str], allowed_origins: Sequence[str]) -> ConsumerReply:
    """CloudEvents Webhook spec §4.1 (abuse protection), as Event Grid uses it (end-point-validation-cloud-events)."""
    origin = headers.get("webhook-request-origin", "").strip()
    if not origin:
        # Not a validation request: an ordinary preflight-less OPTIONS; say what this endpoint takes.
        return ConsumerReply(kind=ReplyKind.HANDSHAKE, status=200, headers={"Allow": ALLOWED_METHODS})
    if "*" not in allowed_origins and origin not in allowed_origins:
        return ConsumerReply(
            kind=ReplyKind.HANDSHAKE, status=403, problem=f"origin {origin!r} is not in the allowed origins"
        )
    answer = {"Allow": ALLOWED_METHODS, "WebHook-Allowed-Origin": origin}
    if "webhook-request-rate" in headers:
        answer["WebHook-Allowed-Rate"] = "*"
    return ConsumerReply(kind=ReplyKind.HANDSHAKE, status=200, headers=answer)


def _validation_code(decoded: object) -> str | None:
    """The validationCode of an Event Grid validation event array, or None when the body is not one."""
    if not isinstance(decoded, list) or not decoded:
        return None
    first = decoded[0]
    if not isinstance(first, Mapping) or first.get("eventType") != VALIDATION_EVENT_TYPE:
        return None
    data = first.get("data")
    code = data.get("validationCode") if isinstance(data, Mapping) else None
    return code if isinstance(code, str) and code else None


def _looks_like_validation(decoded: object) -> bool:
    return (
        isinstance(decoded, list)
        and bool(decoded)
        and isinstance(decoded[0], Mapping)
        and decoded[0].get("eventType") == VALIDATION_EVENT_TYPE
    )


def handle_delivery(
    method: str,
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
    body: bytes,
    *,
    dedupe: EventIdDeduper | None = None,
    allowed_origins: Sequence[str] = ("*",),
) -> ConsumerReply:
    """The answer to one request at an Event Grid webhook, and its new events (see the module docstring)."""
    lowered = _lower(headers)
    verb = method.upper()
    if verb == "OPTIONS":
        return _handshake(lowered, allowed_origins)
    if verb != "POST":
        return _rejected(
            405, f"{verb} is not accepted here; Event Grid sends POST and OPTIONS.", {"Allow": ALLOWED_METHODS}
        )
    try:
        decoded: object = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return _rejected(400, f"The body is not valid UTF-8 JSON: {exc}.")
    if lowered.get("aeg-event-type", "").lower() == "subscriptionvalidation" or _looks_like_validation(decoded):
        code = _validation_code(decoded)
        if code is None:
            return _rejected(400, 'A SubscriptionValidation request must carry [{..., "data": {"validationCode"}}].')
        return _json_reply(ReplyKind.VALIDATION, 200, {"validationResponse": code})
    try:
        events = parse_events(decoded if isinstance(decoded, list | dict) else body)
    except EventParseError as exc:
        return _rejected(400, str(exc))
    fresh: list[Event] = []
    duplicates: list[str] = []
    batch_ids: set[str] = set()
    for event in events:
        # The same id twice in one batch, or an id handled before: handle it once (delivery is at-least-once).
        if event.id in batch_ids or (dedupe is not None and not dedupe.claim(event.id)):
            duplicates.append(event.id)
            continue
        batch_ids.add(event.id)
        fresh.append(event)
    return ConsumerReply(kind=ReplyKind.NOTIFICATION, status=200, events=tuple(fresh), duplicate_ids=tuple(duplicates))


def as_e164(number: str) -> str:
    """`14255550123` → `+14255550123`: SMS event data carries digits without `+` (SPEC §1 [seed]), while the
    SMS SDK wants E.164 to reply to."""
    text = number.strip()
    return text if text.startswith("+") else f"+{text}"


__all__ = [
    "DEFAULT_DEDUPE_CAPACITY",
    "VALIDATION_EVENT_TYPE",
    "ConsumerReply",
    "EventIdDeduper",
    "ReplyKind",
    "as_e164",
    "handle_delivery",
]
