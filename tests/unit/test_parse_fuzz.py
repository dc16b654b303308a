"""Fuzzing the consumer parser `parse_events` the way a network damages bodies: byte flips, truncation, splices,
invalid UTF-8, lone surrogates, absurd nesting, numbers and timestamps out of range. Whatever comes in, the
parser either returns events or raises `EventParseError` listing its problems; nothing else ever escapes.

tests/unit/test_events_parse.py covers arbitrary bytes and arbitrary JSON; this module starts from real
bodies (what smsgrid renders, and the seed's two examples) and breaks them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from hypothesis import given
from hypothesis import strategies as st

from smsgrid.errors import EventParseError
from smsgrid.events import DataCasing, Event
from smsgrid.events.parse import parse_cloud_event, parse_event_grid_item, parse_events
from smsgrid.events.render import render_cloud_event, render_cloud_events_batch, render_event_grid
from tests.unit.test_events_strategies import events

FIXTURES = Path(__file__).parent.parent / "fixtures"
SEED_BODIES = [path.read_bytes() for path in sorted(FIXTURES.glob("seed-*.json"))]


def parse_or_refuse(body: Any) -> list[Event] | EventParseError:
    """The whole contract: events, or one EventParseError with at least one problem that has a reason."""
    refusal: EventParseError | None = None
    try:
        parsed = parse_events(body)
    except EventParseError as exc:
        refusal = exc
    if refusal is not None:
        assert refusal.problems
        assert all(problem.reason for problem in refusal.problems)
        assert str(refusal)
        return refusal
    assert all(isinstance(event, Event) for event in parsed)
    return parsed


@st.composite
def rendered_bodies(draw: st.DrawFn) -> bytes:
    """A body exactly as smsgrid puts it on the wire, in any of the three forms and either casing."""
    casing = draw(st.sampled_from(DataCasing))
    form = draw(st.sampled_from(["event-grid", "cloud-event", "cloud-batch", "seed"]))
    if form == "seed":
        return draw(st.sampled_from(SEED_BODIES))
    batch = draw(st.lists(events(cloud=form != "event-grid"), min_size=1, max_size=3))
    if form == "event-grid":
        return render_event_grid(batch, casing)
    if form == "cloud-event":
        return render_cloud_event(batch[0], casing)
    return render_cloud_events_batch(batch, casing)


@st.composite
def damaged(draw: st.DrawFn) -> bytes:
    """A real body with one kind of damage."""
    body = bytearray(draw(rendered_bodies()))
    kind = draw(st.sampled_from(["flip", "truncate", "insert", "delete", "splice", "invalid-utf8"]))
    at = draw(st.integers(0, max(0, len(body) - 1)))
    if kind == "flip":
        body[at] ^= 1 << draw(st.integers(0, 7))
    elif kind == "truncate":
        del body[at:]
    elif kind == "insert":
        body[at:at] = draw(st.binary(min_size=1, max_size=8))
    elif kind == "delete":
        del body[at : at + draw(st.integers(1, 16))]
    elif kind == "splice":
        other = draw(rendered_bodies())
        body[at:] = other[draw(st.integers(0, len(other) - 1)) :]
    else:
        body[at:at] = draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x00"]))
    return bytes(body)


@given(rendered_bodies())
def test_real_bodies_parse(body: bytes) -> None:
    parsed = parse_or_refuse(body)
    assert isinstance(parsed, list)
    assert parsed


@given(damaged())
def test_damaged_bytes_parse_or_raise_event_parse_error(body: bytes) -> None:
    parse_or_refuse(body)


@given(damaged())
def test_damaged_text_parses_or_raises_event_parse_error(body: bytes) -> None:
    # The str form of the same body, lone surrogates and all (as a framework may hand over a decoded body).
    parse_or_refuse(body.decode("utf-8", errors="surrogateescape"))


@given(
    rendered_bodies(), st.sampled_from(["MessageId", "messageId", "id", "eventTime", "time", "Timestamp"]), st.data()
)
def test_values_out_of_range_parse_or_raise_event_parse_error(body: bytes, key: str, data: st.DataObject) -> None:
    weird: Any = data.draw(
        st.sampled_from(
            [
                "9999-12-31T23:59:59.99999999999999999999Z",
                "0000-00-00T00:00:00Z",
                "2026-02-30T25:61:61Z",
                "2026-01-01T00:00:00+99:99",
                "\udcff",
                "1" * 5000,
                2**64,
                -(2**63) - 1,
                1e308,
                -0.0,
                [],
                {},
                None,
                True,
            ]
        )
    )
    value = orjson.loads(body)
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, dict):
            for target in (item, item.get("data")):
                if isinstance(target, dict) and key in target:
                    target[key] = weird
            if isinstance(item.get("data"), dict) and item["data"].get("DeliveryAttempts"):
                item["data"]["DeliveryAttempts"][0]["Timestamp"] = weird
    parse_or_refuse(value)


@given(st.integers(1, 5000), st.sampled_from(["[", '{"a":', '[{"data":']))
def test_absurd_nesting_is_refused(depth: int, opener: str) -> None:
    body = (opener * depth).encode()
    assert isinstance(parse_or_refuse(body), EventParseError)


def test_deeply_nested_decoded_values_are_refused_not_crashed() -> None:
    nested: Any = "x"
    for _ in range(10_000):
        nested = [nested]
    assert isinstance(parse_or_refuse([{"data": nested}]), EventParseError)


@given(
    st.sampled_from(
        [
            b"\xef\xbb\xbf[]",
            b"[NaN]",
            b"[Infinity]",
            b"[-Infinity]",
            b'[{"id":"a","id":"b"}]',
            b"",
            b" ",
            b"null",
            b"[1e99999]",
            b"[18446744073709551616]",
            b'"\\ud800"',
        ]
    )
)
def test_json_edge_tokens_parse_or_raise_event_parse_error(body: bytes) -> None:
    parse_or_refuse(body)


@given(damaged())
def test_single_item_parsers_refuse_with_event_parse_error_only(body: bytes) -> None:
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        return
    for item in value if isinstance(value, list) else [value]:
        for parser in (parse_event_grid_item, parse_cloud_event):
            problems: tuple[object, ...] = ("parsed",)
            try:
                parser(item)
            except EventParseError as exc:
                problems = exc.problems
            assert problems
