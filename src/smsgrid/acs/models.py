"""Typed shapes of the ACS SMS data plane (per api-version) and the plain values a parsed request becomes.

A *shape* says which fields one api-version defines and their limits, exactly as its swagger in
Azure/azure-rest-api-specs `specification/communication/data-plane/Sms/` does; validation and the OpenAPI
document are both generated from shapes, so they cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


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
