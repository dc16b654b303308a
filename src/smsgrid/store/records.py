"""Plain values that cross the store port. The store keeps them; it decides nothing about them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class CarrierPlan:
    """The core's durable state of one outgoing message's carrier work (messaging/carrier_dispatch.py).

    Nothing here is a carrier's decision: the dispatcher submits the message once `due_at` comes, then waits for
    the carrier's report until the sender's report timeout. `due_at` is when the dispatcher looks at it next.
    """

    due_at: float
    # The sender's deliveryReportTimeoutInSeconds / validity (unscaled seconds), None when it gave none.
    report_timeout_seconds: int | None = None
    # The Messaging Connect partner the send named (never its keys).
    partner: str | None = None
    # Set once the carrier accepted the message: its reference, and the partner's message id if any.
    reference: str | None = None
    partner_message_id: str | None = None
    # A message the carrier took as several parts: every part's reference in part order (`reference` is the
    # first). Each part's report is kept in the store's carrier_parts until all are in or the timeout passes.
    part_references: tuple[str, ...] = ()
    # Set (epoch seconds) just before `submit` when submits reach a network: a job found with it and no reference
    # was cut off mid-submit by a crash, an unknown outcome that is never submitted again.
    submitting_since: float | None = None


@dataclass(frozen=True, slots=True)
class NoteRecord:
    """One line of a message's carrier timeline (a carrier's CarrierNote), stored with what carried it."""

    at: float
    text: str


@dataclass(frozen=True, slots=True)
class PartReport:
    """The final word on one part of a long message, as its per-part report gave it."""

    status: str  # Delivered | Failed
    code: int
    succeeded: int
    failed: int
    at: float
    details: str | None = None


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    message_id: str
    from_number: str
    to_number: str
    body: str
    encoding: str
    segments: int
    tag: str | None
    delivery_report: bool
    repeatability_request_id: str | None
    created_at: float
    plan: CarrierPlan
    api_version: str | None = None  # the ACS api-version of the send; None for smsgrid's own (UI, HELP reply)
    # What shaped the report: {"reportTimeoutSeconds", "messagingConnectPartner"}; never a partner's keys.
    send_options: dict[str, Any] | None = None
    attachments: tuple[tuple[str, bytes], ...] = ()  # an MMS's (mimeType, content)


@dataclass(frozen=True, slots=True)
class AcceptResult:
    message_id: str
    repeated: bool


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to commit with the deliveries it causes (one per matching subscription)."""

    event_id: str
    event_type: str
    subject: str
    message_id: str | None
    published_at: float
    item: bytes  # the rendered Event Grid schema item (JSON object)
    subscriptions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class InboundMessage:
    message_id: str
    from_number: str
    to_number: str
    body: str
    encoding: str
    segments: int
    created_at: float
    event: NewEvent
    # opt-out bookkeeping decided from the keyword: "out", "in" or None
    opt_change: str | None = None
    auto_reply: OutgoingMessage | None = None


@dataclass(frozen=True, slots=True)
class CarrierJob:
    message_id: str
    from_number: str
    to_number: str
    body: str
    segments: int
    tag: str | None
    delivery_report: bool
    created_at: float
    plan: CarrierPlan
    opted_out: bool
    # Each part's report so far, in part order (None: not in yet); empty unless `plan.part_references`.
    parts: tuple[PartReport | None, ...] = ()


@dataclass(frozen=True, slots=True)
class CarrierResult:
    """The carrier finished a message: its final state, and what that caused."""

    message_id: str
    status: str  # delivered | failed | sent (NoReport)
    status_code: int | None
    report: dict[str, Any] | None
    event: NewEvent | None
    reply: InboundMessage | None = None
    notes: tuple[NoteRecord, ...] = ()  # committed with the result, only if the job was still waiting


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    delivery_id: int
    event_seq: int
    subscription: str
    attempts: int  # attempts made before this one
    published_at: float
    item: bytes


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    attempt: int
    at: float
    status: int | None
    outcome: str
    duration_ms: float
    error: str | None = None


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """How one claimed delivery ended this time: delivered, retry at `retry_at`, or dead-lettered."""

    delivery_id: int
    attempt: AttemptRecord | None  # None when no attempt was made (TTL expired before it)
    state: str  # delivered | pending | deadlettered
    retry_at: float | None = None
    dead_letter_reason: str | None = None


@dataclass(frozen=True, slots=True)
class SubscriptionRecord:
    name: str
    spec: dict[str, Any]  # storage form, secrets included
    provisioning_state: str
    validation_code: str | None = None
    validation_deadline: float | None = None
    created_at: float = 0.0
    updated_at: float = 0.0


@dataclass(frozen=True, slots=True)
class NamespaceEntry:
    """One event in a namespace-topic event subscription's queue (smsgrid.namespaces), or dead-lettered from it
    when `dead_reason` is set. `subscription` is "topic/subscription"."""

    subscription: str
    seq: int
    event: bytes
    expires_at: float
    available_at: float
    delivery_count: int = 0
    lock_token: str | None = None
    locked_until: float = 0.0
    first_received_at: float | None = None
    dead_reason: str | None = None
    dead_at: float | None = None
