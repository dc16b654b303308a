"""Typed shapes of the ACS SMS data plane (per api-version) and the plain values a parsed request becomes.

A *shape* says which fields one api-version defines and their limits, exactly as its swagger in
Azure/azure-rest-api-specs `specification/communication/data-plane/Sms/` does; validation and the OpenAPI
document are both generated from shapes, so they cannot disagree: the pydantic wire models at the end of this
module are made from the shapes, and `/openapi.json` is generated from those models.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.json_schema import SkipJsonSchema

from smsgrid.sms.limits import MAX_RECIPIENTS as MAX_OPT_OUT_RECIPIENTS


@dataclass(frozen=True, slots=True)
class IntRange:
    """An integer field's limits (`minimum`/`maximum` of the swagger); None = unbounded on that side."""

    minimum: int | None = None
    maximum: int | None = None

    def contains(self, value: int) -> bool:
        return (self.minimum is None or value >= self.minimum) and (self.maximum is None or value <= self.maximum)

    def describe(self) -> str:
        if self.maximum is None:
            return f"at least {self.minimum}"
        return f"between {self.minimum} and {self.maximum}"


class ConnectShape(StrEnum):
    """The two `smsSendOptions.messagingConnect` shapes Microsoft published."""

    API_KEY = "apiKey"  # 2025-05-29-preview .. 2025-09-17: {apiKey, partner}, both required
    PARTNER_PARAMS = "partnerParams"  # 2026-01-23: {partner, partnerParams: {… minProperties 1}}


# Every smsSendOptions field that only some versions define; on a version without it, it is refused (a 400), not
# ignored (docs/api-versions.md).
VERSIONED_OPTIONS = ("validityPeriodSeconds", "deliveryReportTimeoutInSeconds", "messagingConnect")
INT32_MAX = 2**31 - 1


@dataclass(frozen=True, slots=True)
class SendOptionsShape:
    """`smsSendOptions` of one version. A None field is one the version does not define."""

    validity_period: IntRange | None = None
    validity_period_default: int | None = None
    report_timeout: IntRange | None = None
    messaging_connect: ConnectShape | None = None

    def field_names(self) -> tuple[str, ...]:
        names = ["enableDeliveryReport", "tag"]
        if self.validity_period is not None:
            names.append("validityPeriodSeconds")
        if self.report_timeout is not None:
            names.append("deliveryReportTimeoutInSeconds")
        if self.messaging_connect is not None:
            names.append("messagingConnect")
        return tuple(names)


@dataclass(frozen=True, slots=True)
class SendShape:
    """`POST /sms` of one version: `{from, smsRecipients[1..100], message (0..2048), smsSendOptions}`."""

    name: str  # the OpenAPI component name; versions with the same shape share it
    options: SendOptionsShape
    max_message_chars: int = 2048
    min_recipients: int = 1
    max_recipients: int = 100


@dataclass(frozen=True, slots=True)
class MmsShape:
    """`POST /mms` (2024-01-14-preview): recipients 1..100, message 0..1000, attachments 1..10 {mimeType, content}."""

    name: str
    max_message_chars: int = 1000
    min_attachments: int = 1
    max_attachments: int = 10
    max_recipients: int = 100


@dataclass(frozen=True, slots=True)
class DeliveryReportShape:
    """`GET /deliveryReports/{outgoingMessageId}`: the statuses the version's enum lists, and its optional fields."""

    name: str
    statuses: tuple[str, ...]
    partner_message_id: bool  # `messagingConnectPartnerMessageId` (2026-01-23 only)


# ---- parsed requests: what the rest of smsgrid gets, whatever the api-version -------------------------------


@dataclass(frozen=True, slots=True)
class Recipient:
    to: str  # as given, echoed back
    number: str | None  # E.164, None when invalid
    repeatability_request_id: str | None
    # Set when the request id came without a readable repeatabilityFirstSent: that recipient is rejected inside
    # the 202 (examples/SmsSend.json of 2025-05-29-preview and later).
    repeatability_error: str | None = None


@dataclass(frozen=True, slots=True)
class MessagingConnect:
    """A Messaging Connect partner and its parameters (both published shapes end up here)."""

    partner: str
    params: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Attachment:
    mime_type: str
    content: bytes


@dataclass(frozen=True, slots=True)
class SendRequest:
    from_number: str
    message: str
    recipients: tuple[Recipient, ...]
    enable_delivery_report: bool
    tag: str | None
    # Seconds after which a missing delivery report becomes the timeout report (Failed, 5002):
    # deliveryReportTimeoutInSeconds, or validityPeriodSeconds on the versions that have that instead.
    report_timeout_seconds: int | None = None
    messaging_connect: MessagingConnect | None = None
    api_version: str | None = None
    attachments: tuple[Attachment, ...] = ()  # an MMS (POST /mms); empty for an SMS


@dataclass(frozen=True, slots=True)
class OptOutRequest:
    from_number: str
    recipients: tuple[str, ...]  # as given; each is checked on its own (per-recipient 400 inside the 200)


# ---- wire models: the JSON of each api-version, generated from the shapes above (OpenAPI reads these) ---------
# Request parsing stays hand-written in validation.py, for Azure's exact error messages; these models say the same
# thing as JSON Schema, and tests/unit/test_acs_versions.py holds the two to the same rows. Extra properties are
# allowed (pydantic's default `extra="ignore"`), as the server ignores fields no version defines.


class WireModel(BaseModel):
    """A data-plane body: camelCase on the wire, Python names where the wire name is a keyword (`from`)."""

    model_config = ConfigDict(populate_by_name=True)


Omittable = SkipJsonSchema[None]
"""`str | Omittable = None`: the key may be absent, but is never null on the wire (the schema leaves null out)."""

_TIMESTAMP = "UTC ISO 8601 with up to 7 fractional digits and Z (SPEC §1)."
_REPORT_WAIT = "Seconds to wait for a delivery report; after it the timeout report (Failed, 5002) comes."


class SmsRecipient(WireModel):
    to: str = Field(min_length=1)
    # null is "no id"; an empty id is a 400.
    repeatability_request_id: str | None = Field(None, alias="repeatabilityRequestId", min_length=1)
    repeatability_first_sent: str | Omittable = Field(
        None,
        alias="repeatabilityFirstSent",
        description="RFC 1123 time; required with a repeatabilityRequestId, else that recipient is rejected inside "
        "the 202.",
    )


class MessagingConnectApiKey(WireModel):
    """`messagingConnect` of 2025-05-29-preview .. 2025-09-17."""

    api_key: str = Field(alias="apiKey", min_length=1)
    partner: str = Field(min_length=1)


class MessagingConnectPartnerParams(WireModel):
    """`messagingConnect` of 2026-01-23."""

    partner: str = Field(min_length=1)
    partner_params: dict[str, str] = Field(alias="partnerParams", min_length=1)


_CONNECT_MODELS: dict[ConnectShape, type[WireModel]] = {
    ConnectShape.API_KEY: MessagingConnectApiKey,
    ConnectShape.PARTNER_PARAMS: MessagingConnectPartnerParams,
}


def _int32(limits: IntRange, description: str) -> Any:
    # int32 in every swagger: a range open on one side still ends there.
    high = INT32_MAX if limits.maximum is None else limits.maximum
    return Annotated[int, Field(ge=limits.minimum, le=high, description=description)]


@cache
def send_options_model(shape: SendOptionsShape, name: str) -> type[WireModel]:
    """`smsSendOptions` of one shape; a field another version defines is refused (JSON Schema `false`), as the
    server refuses it."""
    fields: dict[str, Any] = {
        "enable_delivery_report": (bool, Field(False, alias="enableDeliveryReport")),
        "tag": (str | None, None),
    }
    if shape.validity_period is not None:
        text = _REPORT_WAIT
        if shape.validity_period_default is not None:
            text += f" Default {shape.validity_period_default}."
        fields["validity_period_seconds"] = (
            _int32(shape.validity_period, text) | None, Field(None, alias="validityPeriodSeconds")
        )  # fmt: skip
    if shape.report_timeout is not None:
        fields["delivery_report_timeout_in_seconds"] = (
            _int32(shape.report_timeout, _REPORT_WAIT) | None, Field(None, alias="deliveryReportTimeoutInSeconds")
        )  # fmt: skip
    if shape.messaging_connect is not None:
        connect = _CONNECT_MODELS[shape.messaging_connect]
        fields["messaging_connect"] = (connect | None, Field(None, alias="messagingConnect"))
    refused = [option for option in VERSIONED_OPTIONS if option not in shape.field_names()]

    def refuse_others(schema: dict[str, Any]) -> None:
        for option in refused:
            schema["properties"][option] = False

    config = ConfigDict(populate_by_name=True, json_schema_extra=refuse_others)
    model: type[WireModel] = create_model(name, __config__=config, **fields)
    return model


@cache
def send_request_model(shape: SendShape, versions: tuple[str, ...]) -> type[WireModel]:
    """The `POST /sms` body of one shape (the versions that share it, for its description)."""
    options: Any = send_options_model(shape.options, shape.name.replace("SendRequest", "SmsSendOptions"))
    model: type[WireModel] = create_model(
        shape.name,
        __base__=WireModel,
        __doc__=f"POST /sms body of api-version {', '.join(versions)}.",
        from_number=(str, Field(alias="from", description="One of the resource's numbers, E.164.")),
        sms_recipients=(
            list[SmsRecipient],
            Field(alias="smsRecipients", min_length=shape.min_recipients, max_length=shape.max_recipients),
        ),
        message=(str, Field(max_length=shape.max_message_chars)),
        sms_send_options=(options | None, Field(None, alias="smsSendOptions")),
    )
    return model


class MmsRecipient(WireModel):
    to: str = Field(min_length=1)
    repeatability_request_id: str | Omittable = Field(None, alias="repeatabilityRequestId")
    repeatability_first_sent: str | Omittable = Field(None, alias="repeatabilityFirstSent")


class MmsAttachment(WireModel):
    mime_type: str = Field(alias="mimeType", min_length=1)
    content: str = Field(min_length=1, description="base64")


class MmsSendOptions(WireModel):
    enable_delivery_report: bool = Field(False, alias="enableDeliveryReport")
    tag: str | Omittable = None


@cache
def mms_request_model(shape: MmsShape) -> type[WireModel]:
    """The `POST /mms` body (2024-01-14-preview)."""
    model: type[WireModel] = create_model(
        shape.name,
        __base__=WireModel,
        from_number=(str, Field(alias="from")),
        recipients=(list[MmsRecipient], Field(min_length=1, max_length=shape.max_recipients)),
        message=(str | Omittable, Field(None, max_length=shape.max_message_chars)),
        attachments=(
            list[MmsAttachment],
            Field(min_length=shape.min_attachments, max_length=shape.max_attachments),
        ),
        send_options=(MmsSendOptions | None, Field(None, alias="sendOptions")),
    )
    return model


class DeliveryAttempt(WireModel):
    timestamp: str = Field(description=_TIMESTAMP)
    segments_succeeded: int = Field(alias="segmentsSucceeded")
    segments_failed: int = Field(alias="segmentsFailed")


@cache
def delivery_report_model(shape: DeliveryReportShape, versions: tuple[str, ...]) -> type[WireModel]:
    """`GET /deliveryReports/{id}` of one shape: its status enum, and its optional fields."""
    statuses: Any = Literal[shape.statuses]
    fields: dict[str, Any] = {
        "message_id": (str, Field(alias="messageId")),
        "from_number": (str, Field(alias="from")),
        "to_number": (str, Field(alias="to")),
        "delivery_status": (statuses, Field(alias="deliveryStatus")),
        "delivery_status_details": (str | Omittable, Field(None, alias="deliveryStatusDetails")),
        "delivery_attempts": (list[DeliveryAttempt] | Omittable, Field(None, alias="deliveryAttempts")),
        "received_timestamp": (str | Omittable, Field(None, alias="receivedTimestamp", description=_TIMESTAMP)),
        "tag": (str | None, None),
    }
    if shape.partner_message_id:
        fields["messaging_connect_partner_message_id"] = (
            str | Omittable, Field(None, alias="messagingConnectPartnerMessageId")
        )  # fmt: skip
    model: type[WireModel] = create_model(
        shape.name,
        __base__=WireModel,
        __doc__=f"GET /deliveryReports/{{id}} of api-version {', '.join(versions)}.",
        **fields,
    )
    return model


class SendResult(WireModel):
    """One recipient's result; a bad number fails here (400) inside the 202 (SPEC §2)."""

    to: str
    message_id: str | Omittable = Field(None, alias="messageId")
    http_status_code: int = Field(alias="httpStatusCode")
    repeatability_result: Literal["accepted", "rejected"] | Omittable = Field(None, alias="repeatabilityResult")
    successful: bool
    error_message: str | Omittable = Field(None, alias="errorMessage")


class SendResponse(WireModel):
    value: list[SendResult]


class OptOutRecipient(WireModel):
    to: str


class OptOutsRequest(WireModel):
    """`POST /sms/optouts:add|remove|check`: the same body in every version that has opt-outs."""

    from_number: str = Field(alias="from")
    recipients: list[OptOutRecipient] = Field(min_length=1, max_length=MAX_OPT_OUT_RECIPIENTS)


class OptOutResult(WireModel):
    to: str
    http_status_code: int = Field(alias="httpStatusCode")
    is_opted_out: bool | Omittable = Field(None, alias="isOptedOut")
    error_message: str | Omittable = Field(None, alias="errorMessage")


class OptOutsResponse(WireModel):
    value: list[OptOutResult]


class ProblemDetails(WireModel):
    """RFC 9110 problem details, as the 2026-01-23 delivery-report API answers a miss."""

    type: str | Omittable = None
    title: str
    status: int
    detail: str | Omittable = None
