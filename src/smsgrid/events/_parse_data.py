"""Reading the ``data`` of an event, whichever casing its keys use.

Consumers must accept PascalCase (the seed) and camelCase (the current schema) alike — SPEC §1 "Key casing".
The casing is detected per event from the keys present, then every field is read in that casing so a
problem's path names the key the sender should have written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import astuple
from typing import Any

from smsgrid.events._reader import FieldReader, child_path, index_path
from smsgrid.events.keys import CAMEL_KEYS, PASCAL_KEYS, DataKeys
from smsgrid.events.models import (
    SMS_DELIVERY_REPORT_RECEIVED,
    SMS_RECEIVED,
    DeliveryAttempt,
    EventData,
    GenericData,
    SmsDeliveryReportReceivedData,
    SmsReceivedData,
)


def read_data(event_type: str, value: object, path: str, reader: FieldReader) -> EventData | None:
    """The typed data for the two SMS types, :class:`GenericData` for any other; None after a problem."""
    data = reader.mapping(value, path)
    if data is None:
        return None
    if event_type == SMS_RECEIVED:
        return _received(data, detect_keys(data), path, reader)
    if event_type == SMS_DELIVERY_REPORT_RECEIVED:
        return _delivery_report(data, detect_keys(data), path, reader)
    # Other types (SubscriptionValidationEvent, custom topics) are not ours to interpret.
    return GenericData(raw=data)


def detect_keys(data: Mapping[str, Any]) -> DataKeys:
    """The casing most of the known keys use; PascalCase, the seed's, on a tie."""
    pascal = sum(key in data for key in astuple(PASCAL_KEYS))
    camel = sum(key in data for key in astuple(CAMEL_KEYS))
    return CAMEL_KEYS if camel > pascal else PASCAL_KEYS


def _received(data: Mapping[str, Any], keys: DataKeys, path: str, reader: FieldReader) -> SmsReceivedData | None:
    before = reader.problem_count
    parsed = SmsReceivedData(
        message_id=reader.string(data, keys.message_id, path),
        from_=reader.string(data, keys.from_, path),
        to=reader.string(data, keys.to, path),
        message=reader.string(data, keys.message, path),
        received_timestamp=reader.timestamp(data, keys.received_timestamp, path),
        segment_count=reader.optional_count(data, keys.segment_count, path),
    )
    return parsed if reader.problem_count == before else None


def _delivery_report(
    data: Mapping[str, Any], keys: DataKeys, path: str, reader: FieldReader
) -> SmsDeliveryReportReceivedData | None:
    before = reader.problem_count
    parsed = SmsDeliveryReportReceivedData(
        message_id=reader.string(data, keys.message_id, path),
        from_=reader.string(data, keys.from_, path),
        to=reader.string(data, keys.to, path),
        delivery_status=reader.string(data, keys.delivery_status, path),
        delivery_status_details=reader.string(data, keys.delivery_status_details, path),
        received_timestamp=reader.timestamp(data, keys.received_timestamp, path),
        delivery_attempts=_attempts(data, keys, path, reader),
        tag=reader.optional_string(data, keys.tag, path),
    )
    return parsed if reader.problem_count == before else None


def _attempts(data: Mapping[str, Any], keys: DataKeys, path: str, reader: FieldReader) -> tuple[DeliveryAttempt, ...]:
    attempts_path = child_path(path, keys.delivery_attempts)
    attempts: list[DeliveryAttempt] = []
    for index, value in enumerate(reader.array(data, keys.delivery_attempts, path)):
        item_path = index_path(attempts_path, index)
        item = reader.mapping(value, item_path)
        if item is not None:
            attempts.append(
                DeliveryAttempt(
                    timestamp=reader.timestamp(item, keys.timestamp, item_path),
                    segments_succeeded=reader.count(item, keys.segments_succeeded, item_path),
                    segments_failed=reader.count(item, keys.segments_failed, item_path),
                )
            )
    return tuple(attempts)
