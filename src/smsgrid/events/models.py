"""The two ACS SMS events as frozen values, and the builders the server uses to make them.

Field meanings follow SPEC §1 (the seed); wire names and key casing live in :mod:`smsgrid.events.keys`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from smsgrid.events.timestamps import Timestamp
from smsgrid.sms.senders import is_alphanumeric_sender_id

SMS_RECEIVED = "Microsoft.Communication.SMSReceived"
SMS_DELIVERY_REPORT_RECEIVED = "Microsoft.Communication.SMSDeliveryReportReceived"


class DataCasing(StrEnum):
    """Key casing inside ``data``: PascalCase as in the seed, or camelCase as the 2025 docs (SPEC §1)."""

    PASCAL = "pascal"
    CAMEL = "camel"


@dataclass(frozen=True, slots=True)
class DeliveryAttempt:
    """One try to hand the message to the carrier, counted in segments."""

    timestamp: Timestamp
    segments_succeeded: int
    segments_failed: int


@dataclass(frozen=True, slots=True)
class SmsDeliveryReportReceivedData:
    """``data`` of ``Microsoft.Communication.SMSDeliveryReportReceived``."""

    message_id: str
    from_: str
    to: str
    delivery_status: str
    delivery_status_details: str
    delivery_attempts: tuple[DeliveryAttempt, ...]
    received_timestamp: Timestamp
    # The tag given at send time; None renders as an omitted key (SPEC §1: "omitted or null when none").
    tag: str | None = None


@dataclass(frozen=True, slots=True)
class SmsReceivedData:
    """``data`` of ``Microsoft.Communication.SMSReceived``."""

    message_id: str
    from_: str
    to: str
    message: str
    received_timestamp: Timestamp
    # Added to the official schema in 2024 (azure-rest-api-specs PR 31764); None renders as omitted.
    segment_count: int | None = None


@dataclass(frozen=True, slots=True)
class GenericData:
    """``data`` of any other event type (e.g. SubscriptionValidationEvent): the decoded JSON object."""

    raw: Mapping[str, Any]


EventData = SmsReceivedData | SmsDeliveryReportReceivedData | GenericData


@dataclass(frozen=True, slots=True)
class Event:
    """One event, independent of the schema (Event Grid or CloudEvents) it is delivered in."""

    id: str
    topic: str
    subject: str
    event_type: str
    event_time: Timestamp
    data: EventData
    data_version: str = "1.0"
    metadata_version: str = "1"

    def __post_init__(self) -> None:
        # Typed data must match its type name, or rendering and parsing would disagree about the event.
        mismatched = (isinstance(self.data, SmsReceivedData) and self.event_type != SMS_RECEIVED) or (
            isinstance(self.data, SmsDeliveryReportReceivedData) and self.event_type != SMS_DELIVERY_REPORT_RECEIVED
        )
        if mismatched:
            raise ValueError(f"{type(self.data).__name__} cannot be the data of a {self.event_type!r} event")


def resource_topic(subscription_id: str, resource_group: str, resource_name: str) -> str:
    """The ``topic`` of every event a Communication Services resource emits (SPEC §1 [seed])."""
    return (
        f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}"
        f"/providers/microsoft.communication/communicationservices/{resource_name}"
    )


def phone_subject(number: str) -> str:
    """``/phonenumber/{digits}``: the number's digits without ``+`` (SPEC §1 [seed]).

    An alphanumeric sender ID (no digits to keep, or letters among them) is written as it is, e.g.
    ``/phonenumber/CONTOSO``: Azure documents no example, docs/differences-from-azure.md says why.
    """
    if is_alphanumeric_sender_id(number):
        return f"/phonenumber/{number}"
    digits = "".join(ch for ch in number if ch in "0123456789")
    if not digits:
        raise ValueError(f"{number!r} has no digits; pass a phone number such as +15555555555")
    return f"/phonenumber/{digits}"


def sms_received_event(data: SmsReceivedData, *, topic: str, event_time: Timestamp) -> Event:
    """An SMSReceived event: id is the message id, subject the resource's own number (the To)."""
    return Event(
        id=data.message_id,
        topic=topic,
        subject=phone_subject(data.to),
        event_type=SMS_RECEIVED,
        event_time=event_time,
        data=data,
    )


def delivery_report_event(data: SmsDeliveryReportReceivedData, *, topic: str, event_time: Timestamp) -> Event:
    """An SMSDeliveryReportReceived event: id is the message id, subject the resource's number (the From)."""
    return Event(
        id=data.message_id,
        topic=topic,
        subject=phone_subject(data.from_),
        event_type=SMS_DELIVERY_REPORT_RECEIVED,
        event_time=event_time,
        data=data,
    )
