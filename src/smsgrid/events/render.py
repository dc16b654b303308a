"""Events to the bytes Event Grid delivers: the Event Grid schema array and the CloudEvents 1.0 form.

Key order follows the seed's examples (SPEC §1, /work/shared/fixtures) so a rendered delivery reads exactly
like the documentation's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from smsgrid.events.keys import DataKeys, data_keys
from smsgrid.events.models import (
    DataCasing,
    Event,
    EventData,
    GenericData,
    SmsDeliveryReportReceivedData,
    SmsReceivedData,
)

CLOUD_EVENTS_SPEC_VERSION = "1.0"
CLOUD_EVENTS_DATA_CONTENT_TYPE = "application/json"
# The keys event_grid_item_to_cloud_event reads from a rendered Event Grid item.
_EVENT_GRID_ENVELOPE_KEYS = ("id", "topic", "subject", "eventType", "eventTime", "data")


def to_event_grid_dict(event: Event, casing: DataCasing = DataCasing.PASCAL) -> dict[str, Any]:
    """One item of an Event Grid schema delivery, keys in the seed's order."""
    return {
        "id": event.id,
        "topic": event.topic,
        "subject": event.subject,
        "data": _data_dict(event.data, data_keys(casing)),
        "eventType": event.event_type,
        "dataVersion": event.data_version,
        "metadataVersion": event.metadata_version,
        "eventTime": event.event_time.format(),
    }


def render_event_grid(events: Iterable[Event], casing: DataCasing = DataCasing.PASCAL) -> bytes:
    """An Event Grid delivery body: always a JSON array, even for one event (SPEC §1)."""
    return orjson.dumps([to_event_grid_dict(event, casing) for event in events])


def event_grid_item_to_cloud_event(item: Mapping[str, Any]) -> dict[str, Any]:
    """Map an already-rendered Event Grid item to CloudEvents 1.0 (SPEC §1 "CloudEvents 1.0 form").

    The delivery engine stores the Event Grid item once and re-renders it per subscription, so this works on
    the dict rather than on an :class:`Event`; ``data`` is carried over unchanged.
    """
    missing = [key for key in _EVENT_GRID_ENVELOPE_KEYS if key not in item]
    if missing:
        raise ValueError(f"not a rendered Event Grid item; missing {', '.join(missing)}")
    return {
        "specversion": CLOUD_EVENTS_SPEC_VERSION,
        "id": item["id"],
        "source": item["topic"],
        "type": item["eventType"],
        "subject": item["subject"],
        "time": item["eventTime"],
        "datacontenttype": CLOUD_EVENTS_DATA_CONTENT_TYPE,
        "data": item["data"],
    }


def to_cloud_event_dict(event: Event, casing: DataCasing = DataCasing.PASCAL) -> dict[str, Any]:
    """The CloudEvents 1.0 structured form of ``event``."""
    return event_grid_item_to_cloud_event(to_event_grid_dict(event, casing))


def render_cloud_event(event: Event, casing: DataCasing = DataCasing.PASCAL) -> bytes:
    """A single CloudEvent body (``application/cloudevents+json``)."""
    return orjson.dumps(to_cloud_event_dict(event, casing))


def render_cloud_events_batch(events: Iterable[Event], casing: DataCasing = DataCasing.PASCAL) -> bytes:
    """A CloudEvents batch body (``application/cloudevents-batch+json``): a JSON array."""
    return orjson.dumps([to_cloud_event_dict(event, casing) for event in events])


def _data_dict(data: EventData, keys: DataKeys) -> dict[str, Any]:
    if isinstance(data, SmsDeliveryReportReceivedData):
        return _delivery_report_dict(data, keys)
    if isinstance(data, SmsReceivedData):
        return _received_dict(data, keys)
    assert isinstance(data, GenericData)
    # Unknown types are passed through untouched; dict() so orjson accepts any Mapping.
    return dict(data.raw)


def _delivery_report_dict(data: SmsDeliveryReportReceivedData, keys: DataKeys) -> dict[str, Any]:
    rendered: dict[str, Any] = {
        keys.message_id: data.message_id,
        keys.from_: data.from_,
        keys.to: data.to,
        keys.delivery_status: data.delivery_status,
        keys.delivery_status_details: data.delivery_status_details,
        keys.received_timestamp: data.received_timestamp.format(),
        keys.delivery_attempts: [
            {
                keys.timestamp: attempt.timestamp.format(),
                keys.segments_succeeded: attempt.segments_succeeded,
                keys.segments_failed: attempt.segments_failed,
            }
            for attempt in data.delivery_attempts
        ],
    }
    # SPEC §1: Tag is "omitted or null when none"; omitting keeps the seed's shape.
    if data.tag is not None:
        rendered[keys.tag] = data.tag
    return rendered


def _received_dict(data: SmsReceivedData, keys: DataKeys) -> dict[str, Any]:
    rendered: dict[str, Any] = {
        keys.message_id: data.message_id,
        keys.from_: data.from_,
        keys.to: data.to,
        keys.message: data.message,
        keys.received_timestamp: data.received_timestamp.format(),
    }
    # The seed predates SegmentCount (SPEC §1); omit it when unknown so the seed renders byte-for-byte.
    if data.segment_count is not None:
        rendered[keys.segment_count] = data.segment_count
    return rendered
