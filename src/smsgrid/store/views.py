"""Typed read models: what the store hands to the admin API, the web UI and the CLI.

Python fields are snake_case with real types; the admin API's camelCase JSON is their alias (`to_camel`), so
`model.model_dump(mode="json", by_alias=True)` *is* the wire form and the OpenAPI document is generated from these
classes. The CLI reads that JSON back with `Model.model_validate(obj)`.

Times the store keeps itself are float epoch seconds (`EpochSeconds`) and go on the wire as
`Timestamp.format()` text. Documents the store keeps verbatim (a delivery report as ACS wrote it, an Event Grid
item as published) keep their timestamps exact: `AcsTimestamp` holds .NET's 100 ns ticks, which a float cannot
for present-day dates, and a published item's `eventTime` stays the text its publisher sent.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, cast

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    JsonValue,
    PlainSerializer,
    PlainValidator,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    WithJsonSchema,
    model_serializer,
)
from pydantic.alias_generators import to_camel
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from smsgrid.events.timestamps import Timestamp

_DATE_TIME_SCHEMA = {"type": "string", "format": "date-time"}

# The largest id the admin API and the web UI accept in a path or form (api/ids.py: at most 18 digits). Dead-letter
# ids are documented with this bound, so a client never builds an id the API answers 404 for without looking.
MAX_ID = 10**18 - 1


def _epoch_from_wire(value: object) -> object:
    # The CLI validates the admin API's JSON into these models: ISO text becomes epoch seconds again.
    return Timestamp.parse(value).epoch_seconds if isinstance(value, str) else value


def iso(epoch: float) -> str:
    """An instant the store recorded, as the admin API writes it (ISO 8601, up to 7 fractional digits)."""
    return Timestamp.from_epoch_seconds(epoch).format()


EpochSeconds = Annotated[
    float,
    BeforeValidator(_epoch_from_wire),
    PlainSerializer(iso, return_type=str, when_used="json"),
    WithJsonSchema(_DATE_TIME_SCHEMA),
]
"""An instant the store recorded (float Unix seconds); ISO 8601 with up to 7 fractional digits on the wire."""


def _timestamp(value: object) -> Timestamp:
    if isinstance(value, Timestamp):
        return value
    if isinstance(value, str):
        return Timestamp.parse(value)
    raise ValueError(f"expected an ISO 8601 date-time, got {type(value).__name__}")


AcsTimestamp = Annotated[
    Timestamp,
    PlainValidator(_timestamp),
    PlainSerializer(Timestamp.format, return_type=str, when_used="json"),
    WithJsonSchema(_DATE_TIME_SCHEMA),
]
"""An instant inside a document ACS wrote (100 ns ticks, as .NET writes them), rendered back to the same text."""

Direction = Literal["outgoing", "incoming"]
MessageStatus = Literal["accepted", "sent", "delivered", "failed", "received"]
Encoding = Literal["GSM7", "UCS2", "MMS"]
# "dropped": the subscription was deleted while the delivery was pending (queries DROP_PENDING_OF).
DeliveryState = Literal["pending", "delivered", "deadlettered", "dropped"]


class ReadModel(BaseModel):
    """Frozen, snake_case in Python, camelCase on the wire.

    A wire name that is not the camelCase of the field ("from", "message") is given as validation and
    serialization alias, not `alias=`: type checkers take `alias` for the constructor's keyword.
    """

    model_config = ConfigDict(frozen=True, alias_generator=to_camel, populate_by_name=True, defer_build=True)


class SparseReadModel(ReadModel):
    """A model of a document whose optional keys are absent, not null, when unset (`omit_when_none`)."""

    omit_when_none: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def __get_pydantic_json_schema__(cls, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        # Described by its fields (the omissible ones not required), not by the serializer's `Any` return.
        if handler.mode == "serialization" and schema.get("serialization") is not None:
            schema = cast(CoreSchema, {key: value for key, value in schema.items() if key != "serialization"})
        return handler(schema)

    @model_serializer(mode="wrap")
    def _omit_absent(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> Any:
        dumped = handler(self)
        for name in self.omit_when_none:
            if getattr(self, name) is None:
                field = type(self).model_fields[name]
                dumped.pop(field.serialization_alias if info.by_alias and field.serialization_alias else name, None)
        return dumped


# -- messages --------------------------------------------------------------------------------------------------


class AttachmentSummary(ReadModel):
    """What listings show of an MMS attachment: its type and size (the content stays in the store)."""

    mime_type: str
    size_bytes: int = Field(validation_alias="bytes", serialization_alias="bytes")


class SendOptions(SparseReadModel):
    """Send options that shaped the delivery report; a Messaging Connect partner's own keys are never kept."""

    omit_when_none = frozenset({"report_timeout_seconds", "messaging_connect_partner"})

    report_timeout_seconds: int | None = None
    messaging_connect_partner: str | None = None


class ReportAttempt(ReadModel):
    timestamp: AcsTimestamp
    segments_succeeded: int
    segments_failed: int


class DeliveryReportView(SparseReadModel):
    """A delivery report as stored: what `GET /deliveryReports/{id}` answers (api-version 2026-01-23)."""

    omit_when_none = frozenset({"messaging_connect_partner_message_id"})

    message_id: str
    from_number: str = Field(validation_alias="from", serialization_alias="from")
    to_number: str = Field(validation_alias="to", serialization_alias="to")
    delivery_status: str = Field(description="Delivered or Failed")
    delivery_status_details: str
    delivery_attempts: tuple[ReportAttempt, ...]
    received_timestamp: AcsTimestamp
    tag: str | None
    # Only for Messaging Connect sends (azure-rest-api-specs, Sms 2026-01-23 DeliveryReport).
    messaging_connect_partner_message_id: str | None = None


class MessageView(ReadModel):
    """One SMS or MMS, sent or received."""

    message_id: str
    direction: Direction
    from_number: str = Field(validation_alias="from", serialization_alias="from")
    to_number: str = Field(validation_alias="to", serialization_alias="to")
    body: str = Field(validation_alias="message", serialization_alias="message")
    encoding: Encoding
    segments: int
    tag: str | None
    enable_delivery_report: bool
    status: MessageStatus
    delivery_status_code: int | None
    delivery_report: DeliveryReportView | None
    created_at: EpochSeconds
    updated_at: EpochSeconds
    api_version: str | None = Field(description="The ACS api-version the message was sent with.")
    send_options: SendOptions | None
    attachments: tuple[AttachmentSummary, ...] | None


# -- events, their deliveries and attempts ---------------------------------------------------------------------


class EventGridItem(ReadModel):
    """One event in the Event Grid schema, as delivered to Event Grid schema subscribers (SPEC §1)."""

    id: str
    topic: str
    subject: str
    data: JsonValue
    event_type: str
    data_version: str
    metadata_version: str
    # Verbatim: smsgrid writes 7 fractional digits; a publisher's own event keeps the text it sent.
    event_time: str = Field(json_schema_extra={"format": "date-time"})


class AttemptView(ReadModel):
    """One webhook delivery attempt."""

    attempt: int
    time: EpochSeconds
    status_code: int | None
    outcome: str = Field(description="Succeeded, Busy, TimedOut, NotFound, SocketError …")
    duration_ms: float
    error: str | None


class DeliveryView(ReadModel):
    """One event's delivery to one subscription."""

    delivery_id: int
    subscription: str
    state: DeliveryState
    delivery_count: int
    next_attempt_at: EpochSeconds | None = Field(description="When the next attempt is due; only while pending.")
    published_at: EpochSeconds
    finished_at: EpochSeconds | None
    attempts: tuple[AttemptView, ...]


class EventView(ReadModel):
    """One committed event, newest first in listings."""

    seq: int = Field(ge=1, le=2**63 - 1)
    id: str
    event_type: str
    subject: str
    message_id: str | None
    published_at: EpochSeconds
    event: EventGridItem


class EventDetail(EventView):
    """An event with every delivery it caused and each delivery's attempts."""

    deliveries: tuple[DeliveryView, ...]


class MessageDetail(MessageView):
    """A message with the events it caused (oldest first), each with its deliveries."""

    events: tuple[EventDetail, ...]


class CarrierNoteView(ReadModel):
    """One line the carrier put on a message's timeline (each PDU with its connection), oldest first."""

    at: EpochSeconds
    text: str


# -- dead letters and counts -----------------------------------------------------------------------------------


class DeadLetterView(ReadModel):
    """A delivery that ran out of attempts or time."""

    id: int = Field(ge=1, le=MAX_ID, description="The id `POST /admin/deadletters/{id}/redeliver` takes.")
    delivery_id: int
    subscription: str
    event_id: str
    event_seq: int
    dead_letter_reason: str
    delivery_attempts: int
    last_delivery_outcome: str | None
    last_http_status_code: int | None
    publish_time: EpochSeconds
    last_delivery_attempt_time: EpochSeconds | None
    dead_lettered_at: EpochSeconds
    redelivered_at: EpochSeconds | None
    event: EventGridItem


class StoreCounts(ReadModel):
    """Totals for the dashboard and the queue-depth gauge (dead letters: those not redelivered)."""

    messages: int
    events: int
    pending_deliveries: int
    deadletters: int


# -- the admin API's list bodies -------------------------------------------------------------------------------


class MessageList(ReadModel):
    value: tuple[MessageView, ...]


class EventList(ReadModel):
    value: tuple[EventView, ...]


class DeadLetterList(ReadModel):
    value: tuple[DeadLetterView, ...]


def wire(model: BaseModel) -> Any:
    """The admin API's JSON form of a read model (camelCase keys, ISO 8601 times)."""
    return model.model_dump(mode="json", by_alias=True)
