"""What we render reads cleanly with the official Azure SDKs (SPEC §1, azure-eventgrid 4.22.1)."""

from __future__ import annotations

from typing import Any

import orjson
from azure.core.messaging import CloudEvent
from azure.eventgrid import EventGridEvent, SystemEventNames
from hypothesis import given

from smsgrid.events import (
    SMS_DELIVERY_REPORT_RECEIVED,
    SMS_RECEIVED,
    DataCasing,
    Event,
    render_cloud_event,
    render_cloud_events_batch,
    render_event_grid,
)
from tests.unit.test_events_strategies import casings, events


def test_event_type_names_match_the_sdk() -> None:
    assert SystemEventNames.AcsSmsReceivedEventName == SMS_RECEIVED
    assert SystemEventNames.AcsSmsDeliveryReportReceivedEventName == SMS_DELIVERY_REPORT_RECEIVED


@given(events(), casings)
def test_event_grid_items_load_with_event_grid_event(event: Event, casing: DataCasing) -> None:
    [item] = orjson.loads(render_event_grid([event], casing))

    loaded = EventGridEvent.from_dict(item)

    assert loaded.id == event.id
    assert loaded.topic == event.topic
    assert loaded.subject == event.subject
    assert loaded.event_type == event.event_type
    assert loaded.data == item["data"]
    assert isinstance(loaded.data, dict)
    assert loaded.data_version == event.data_version
    assert loaded.metadata_version == event.metadata_version
    assert loaded.event_time == event.event_time.to_datetime()


@given(events(cloud=True), casings)
def test_cloud_events_load_with_cloud_event(event: Event, casing: DataCasing) -> None:
    single = orjson.loads(render_cloud_event(event, casing))
    [batched] = orjson.loads(render_cloud_events_batch([event], casing))
    assert batched == single

    loaded: CloudEvent[Any] = CloudEvent.from_dict(single)

    assert loaded.id == event.id
    assert loaded.source == event.topic
    assert loaded.type == event.event_type
    assert loaded.subject == event.subject
    assert loaded.specversion == "1.0"
    assert loaded.datacontenttype == "application/json"
    assert loaded.time == event.event_time.to_datetime()
    assert loaded.data == single["data"]
    assert isinstance(loaded.data, dict)
    # Nothing we write is mistaken for an extension attribute.
    assert not loaded.extensions
