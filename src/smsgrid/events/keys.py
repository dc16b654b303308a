"""Wire names of the SMS ``data`` fields in each casing.

The seed writes PascalCase (``MessageId``); the current TypeSpec schema and the 2025 docs write camelCase
(``messageId``) — SPEC §1 "Key casing". Rendering and parsing share this one table so they cannot drift.
"""

from __future__ import annotations

from dataclasses import dataclass

from smsgrid.events.models import DataCasing


@dataclass(frozen=True, slots=True)
class DataKeys:
    """The JSON key for each field of the SMS event data, in one casing."""

    message_id: str
    from_: str
    to: str
    message: str
    segment_count: str
    delivery_status: str
    delivery_status_details: str
    delivery_attempts: str
    received_timestamp: str
    tag: str
    timestamp: str
    segments_succeeded: str
    segments_failed: str


PASCAL_KEYS = DataKeys(
    message_id="MessageId",
    from_="From",
    to="To",
    message="Message",
    segment_count="SegmentCount",
    delivery_status="DeliveryStatus",
    delivery_status_details="DeliveryStatusDetails",
    delivery_attempts="DeliveryAttempts",
    received_timestamp="ReceivedTimestamp",
    tag="Tag",
    timestamp="Timestamp",
    segments_succeeded="SegmentsSucceeded",
    segments_failed="SegmentsFailed",
)

CAMEL_KEYS = DataKeys(
    message_id="messageId",
    from_="from",
    to="to",
    message="message",
    segment_count="segmentCount",
    delivery_status="deliveryStatus",
    delivery_status_details="deliveryStatusDetails",
    delivery_attempts="deliveryAttempts",
    received_timestamp="receivedTimestamp",
    tag="tag",
    timestamp="timestamp",
    segments_succeeded="segmentsSucceeded",
    segments_failed="segmentsFailed",
)


def data_keys(casing: DataCasing) -> DataKeys:
    """The key table for ``casing``."""
    # DataCasing(...) also accepts the plain strings "pascal" / "camel" read from configuration.
    return CAMEL_KEYS if DataCasing(casing) is DataCasing.CAMEL else PASCAL_KEYS
