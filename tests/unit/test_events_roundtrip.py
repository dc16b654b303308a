"""parse(render(e)) == e for both schemas and both casings: the law that keeps server and consumers agreed."""

from __future__ import annotations

import orjson
from hypothesis import given
from hypothesis import strategies as st

from smsgrid.events import (
    DataCasing,
    Event,
    parse_cloud_event,
    parse_event_grid_item,
    parse_events,
    render_cloud_event,
    render_cloud_events_batch,
    render_event_grid,
    to_cloud_event_dict,
    to_event_grid_dict,
)
from tests.unit.test_events_strategies import casings, events


@given(st.lists(events(), max_size=4), casings)
def test_event_grid_round_trip(batch: list[Event], casing: DataCasing) -> None:
    assert parse_events(render_event_grid(batch, casing)) == batch


@given(events(), casings)
def test_event_grid_item_round_trip(event: Event, casing: DataCasing) -> None:
    assert parse_event_grid_item(to_event_grid_dict(event, casing)) == event


@given(events(cloud=True), casings)
def test_single_cloud_event_round_trip(event: Event, casing: DataCasing) -> None:
    assert parse_events(render_cloud_event(event, casing)) == [event]
    assert parse_cloud_event(to_cloud_event_dict(event, casing)) == event


@given(st.lists(events(cloud=True), max_size=4), casings)
def test_cloud_events_batch_round_trip(batch: list[Event], casing: DataCasing) -> None:
    assert parse_events(render_cloud_events_batch(batch, casing)) == batch


@given(events(), casings)
def test_decoded_and_text_bodies_parse_like_bytes(event: Event, casing: DataCasing) -> None:
    body = render_event_grid([event], casing)
    assert parse_events(body.decode()) == parse_events(orjson.loads(body)) == [event]


@given(events(), casings)
def test_render_is_stable_through_a_round_trip(event: Event, casing: DataCasing) -> None:
    body = render_event_grid([event], casing)
    assert render_event_grid(parse_events(body), casing) == body
