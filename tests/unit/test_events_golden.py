"""The seed's two examples (SPEC §1, shared/fixtures) parse, and rebuilt events render to them exactly."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
import pytest

from smsgrid.events import (
    SMS_DELIVERY_REPORT_RECEIVED,
    SMS_RECEIVED,
    DeliveryAttempt,
    SmsDeliveryReportReceivedData,
    SmsReceivedData,
    Timestamp,
    delivery_report_event,
    parse_events,
    render_event_grid,
    resource_topic,
    sms_received_event,
)

REPORT_FIXTURE = "seed-sms-delivery-report-received.json"
RECEIVED_FIXTURE = "seed-sms-received.json"


def _fixtures_dir() -> Path | None:
    """The copy beside the tests first (never skips in a clean clone), then the shared originals."""
    here = Path(__file__).resolve()
    candidates = [here.parents[1] / "fixtures"]
    if len(here.parents) > 3:
        candidates.append(here.parents[3] / "shared" / "fixtures")
    if shared := os.environ.get("SMSGRID_SHARED_DIR"):
        candidates += [Path(shared) / "fixtures", Path(shared)]
    for candidate in candidates:
        if (candidate / REPORT_FIXTURE).is_file() and (candidate / RECEIVED_FIXTURE).is_file():
            return candidate
    return None


@pytest.fixture(scope="module")
def fixtures_dir() -> Path:
    found = _fixtures_dir()
    if found is None:
        pytest.skip(
            f"seed fixtures not found: put {REPORT_FIXTURE} and {RECEIVED_FIXTURE} in tests/fixtures/ "
            "or point SMSGRID_SHARED_DIR at the shared directory"
        )
    return found


def _key_order(value: Any) -> Any:
    """The keys of every object, in order, nested like the value itself."""
    if isinstance(value, dict):
        return [(key, _key_order(inner)) for key, inner in value.items()]
    if isinstance(value, list):
        return [_key_order(inner) for inner in value]
    return None


def _assert_renders_as_fixture(rendered: bytes, fixture: bytes) -> None:
    expected, actual = orjson.loads(fixture), orjson.loads(rendered)
    assert actual == expected
    assert _key_order(actual) == _key_order(expected)
    # Same bytes once whitespace is normalised: keys, order, numbers and timestamp strings all match.
    assert rendered == orjson.dumps(expected)


def test_delivery_report_fixture_parses(fixtures_dir: Path) -> None:
    [event] = parse_events((fixtures_dir / REPORT_FIXTURE).read_bytes())

    assert event.event_type == SMS_DELIVERY_REPORT_RECEIVED
    assert event.id == "Outgoing_202009180022138813a09b-0cbf-4304-9b03-1546683bb910"
    assert event.event_time == Timestamp.parse("2020-09-18T00:22:20Z")
    assert event.data == SmsDeliveryReportReceivedData(
        message_id="Outgoing_202009180022138813a09b-0cbf-4304-9b03-1546683bb910",
        from_="15555555555",
        to="+15555555555",
        delivery_status="Delivered",
        delivery_status_details="No error.",
        delivery_attempts=(DeliveryAttempt(Timestamp.parse("2020-09-18T00:22:14.9315918Z"), 1, 0),),
        received_timestamp=Timestamp.parse("2020-09-18T00:22:20.2855749Z"),
        tag="Optional customer-tag set in the original message",
    )


def test_received_fixture_parses(fixtures_dir: Path) -> None:
    [event] = parse_events((fixtures_dir / RECEIVED_FIXTURE).read_bytes())

    assert event.event_type == SMS_RECEIVED
    assert event.id == "Incoming_20200918002745d29ebbea-3341-4466-9690-0a03af35228e"
    assert event.subject == "/phonenumber/15555555555"
    assert event.event_time == Timestamp.parse("2020-09-18T00:27:47Z")
    assert event.data == SmsReceivedData(
        message_id="Incoming_20200918002745d29ebbea-3341-4466-9690-0a03af35228e",
        from_="15555555555",
        to="15555555555",
        message="Great to connect with Azure Communication Services events",
        received_timestamp=Timestamp.parse("2020-09-18T00:27:45.32Z"),
        segment_count=None,
    )


def test_delivery_report_built_from_values_renders_the_fixture(fixtures_dir: Path) -> None:
    fixture = (fixtures_dir / REPORT_FIXTURE).read_bytes()
    data = SmsDeliveryReportReceivedData(
        message_id="Outgoing_202009180022138813a09b-0cbf-4304-9b03-1546683bb910",
        from_="15555555555",
        to="+15555555555",
        delivery_status="Delivered",
        delivery_status_details="No error.",
        delivery_attempts=(DeliveryAttempt(Timestamp.parse("2020-09-18T00:22:14.9315918Z"), 1, 0),),
        received_timestamp=Timestamp.parse("2020-09-18T00:22:20.2855749Z"),
        tag="Optional customer-tag set in the original message",
    )
    topic = resource_topic("{subscription-id}", "{group-name}", "{communication-services-resource-name}")
    event = delivery_report_event(data, topic=topic, event_time=Timestamp.parse("2020-09-18T00:22:20Z"))

    rendered = render_event_grid([event])

    _assert_renders_as_fixture(rendered, fixture)
    [item] = orjson.loads(rendered)
    assert item["eventTime"] == "2020-09-18T00:22:20Z"
    assert item["data"]["ReceivedTimestamp"] == "2020-09-18T00:22:20.2855749Z"
    assert item["data"]["DeliveryAttempts"][0]["Timestamp"] == "2020-09-18T00:22:14.9315918Z"


def test_received_built_from_values_renders_the_fixture(fixtures_dir: Path) -> None:
    fixture = (fixtures_dir / RECEIVED_FIXTURE).read_bytes()
    data = SmsReceivedData(
        message_id="Incoming_20200918002745d29ebbea-3341-4466-9690-0a03af35228e",
        from_="15555555555",
        to="15555555555",
        message="Great to connect with Azure Communication Services events",
        received_timestamp=Timestamp.parse("2020-09-18T00:27:45.32Z"),
    )
    # The seed's own topic spells "resourcegroups" in lower case, so it is taken verbatim here.
    topic = orjson.loads(fixture)[0]["topic"]
    event = sms_received_event(data, topic=topic, event_time=Timestamp.parse("2020-09-18T00:27:47Z"))

    rendered = render_event_grid([event])

    _assert_renders_as_fixture(rendered, fixture)
    [item] = orjson.loads(rendered)
    assert item["eventTime"] == "2020-09-18T00:27:47Z"
    assert item["data"]["ReceivedTimestamp"] == "2020-09-18T00:27:45.32Z"


@pytest.mark.parametrize("name", [REPORT_FIXTURE, RECEIVED_FIXTURE])
def test_fixture_parse_then_render_is_identity(fixtures_dir: Path, name: str) -> None:
    fixture = (fixtures_dir / name).read_bytes()

    _assert_renders_as_fixture(render_event_grid(parse_events(fixture)), fixture)


def test_the_copied_fixtures_match_the_shared_originals() -> None:
    here = Path(__file__).resolve()
    copy, shared = here.parents[1] / "fixtures", here.parents[3] / "shared" / "fixtures"
    if not (shared / REPORT_FIXTURE).is_file():
        pytest.skip(f"no shared fixtures at {shared} to compare the tests/fixtures copy with")
    for name in (REPORT_FIXTURE, RECEIVED_FIXTURE):
        assert (copy / name).read_bytes() == (shared / name).read_bytes(), name
