"""Delivery bodies back to :class:`~smsgrid.events.models.Event` values, for consumers.

Accepted (SPEC §1, §3 "Delivery request"): an Event Grid schema array, one structured-mode CloudEvent
(``application/cloudevents+json``), or a CloudEvents batch array (``application/cloudevents-batch+json``).
Anything wrong is reported in one :class:`~smsgrid.errors.EventParseError` that lists every problem with its
path, e.g. ``[0].data.MessageId: required``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from smsgrid.errors import EventParseError
from smsgrid.events._parse_data import read_data
from smsgrid.events._reader import FieldReader, child_path, index_path, json_type
from smsgrid.events.models import Event, EventData
from smsgrid.events.render import CLOUD_EVENTS_SPEC_VERSION

_BODY = "not a valid Event Grid or CloudEvents body"
_EVENT_GRID_ITEM = "not a valid Event Grid event"
_CLOUD_EVENT = "not a valid CloudEvent"


def parse_events(body: bytes | str | list[Any] | dict[str, Any]) -> list[Event]:
    """Every event in a delivery body, raw (bytes or str, UTF-8 JSON) or already decoded."""
    reader = FieldReader()
    decoded = _decode(body, reader)
    events: list[Event] = []
    if isinstance(decoded, list):
        for index, value in enumerate(decoded):
            event = _item(value, index_path("", index), reader)
            if event is not None:
                events.append(event)
    elif isinstance(decoded, Mapping):
        if "specversion" in decoded:
            event = _cloud_event(decoded, "", reader)
            if event is not None:
                events.append(event)
        else:
            # Event Grid always delivers an array, even for one event (SPEC §1).
            reader.add(
                "",
                "a single object must be a CloudEvent with specversion; Event Grid schema events come in a JSON array",
            )
    elif reader.problem_count == 0:
        reader.add("", f"must be a JSON array or object, got {json_type(decoded)}")
    if reader.problems:
        raise EventParseError(_BODY, reader.problems)
    return events


def parse_event_grid_item(item: object) -> Event:
    """One decoded item of an Event Grid schema array."""
    reader = FieldReader()
    event = _event_grid_item(item, "", reader)
    if event is None:
        raise EventParseError(_EVENT_GRID_ITEM, reader.problems)
    return event


def parse_cloud_event(obj: object) -> Event:
    """One decoded structured-mode CloudEvent 1.0."""
    reader = FieldReader()
    event = _cloud_event(obj, "", reader)
    if event is None:
        raise EventParseError(_CLOUD_EVENT, reader.problems)
    return event


def _decode(body: object, reader: FieldReader) -> object:
    if not isinstance(body, bytes | bytearray | memoryview | str):
        return body
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        # orjson also refuses bytes that are not UTF-8, as the delivery content types require.
        reader.add("", f"not valid UTF-8 JSON: {exc}")
        return None


def _item(value: object, path: str, reader: FieldReader) -> Event | None:
    # Schemas are told apart per item: only CloudEvents carry specversion.
    if isinstance(value, Mapping) and "specversion" in value:
        return _cloud_event(value, path, reader)
    return _event_grid_item(value, path, reader)


def _event_grid_item(value: object, path: str, reader: FieldReader) -> Event | None:
    before = reader.problem_count
    item = reader.mapping(value, path)
    if item is None:
        return None
    event_id = reader.string(item, "id", path)
    topic = reader.string(item, "topic", path)
    subject = reader.string(item, "subject", path)
    event_type = reader.string(item, "eventType", path)
    data = _data(item, event_type, path, reader)
    data_version = reader.string(item, "dataVersion", path)
    metadata_version = reader.string(item, "metadataVersion", path)
    event_time = reader.timestamp(item, "eventTime", path)
    if data is None or reader.problem_count != before:
        return None
    return Event(
        id=event_id,
        topic=topic,
        subject=subject,
        event_type=event_type,
        event_time=event_time,
        data=data,
        data_version=data_version,
        metadata_version=metadata_version,
    )


def _cloud_event(value: object, path: str, reader: FieldReader) -> Event | None:
    before = reader.problem_count
    obj = reader.mapping(value, path)
    if obj is None:
        return None
    spec_version = obj.get("specversion")
    if spec_version != CLOUD_EVENTS_SPEC_VERSION:
        reader.add(child_path(path, "specversion"), f'must be "1.0", got {spec_version!r}')
    # CloudEvents 1.0 requires id, source and type to be non-empty; the SDK replaces an empty id with a uuid.
    event_id = reader.string(obj, "id", path, non_empty=True)
    source = reader.string(obj, "source", path, non_empty=True)
    event_type = reader.string(obj, "type", path, non_empty=True)
    subject = reader.string(obj, "subject", path)
    event_time = reader.timestamp(obj, "time", path)
    if "datacontenttype" in obj:
        reader.string(obj, "datacontenttype", path)
    if "data" not in obj and "data_base64" in obj:
        reader.add(child_path(path, "data_base64"), "not supported; SMS events carry JSON in data")
        data = None
    else:
        data = _data(obj, event_type, path, reader)
    if data is None or reader.problem_count != before:
        return None
    # CloudEvents have no dataVersion / metadataVersion; the Event's defaults ("1.0", "1") stand.
    return Event(id=event_id, topic=source, subject=subject, event_type=event_type, event_time=event_time, data=data)


def _data(obj: Mapping[str, Any], event_type: str, path: str, reader: FieldReader) -> EventData | None:
    if not reader.present(obj, "data", path):
        return None
    return read_data(event_type, obj["data"], child_path(path, "data"), reader)
