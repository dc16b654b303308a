"""Hypothesis strategies for smsgrid.events values, shared by the test_events_* modules.

No tests live here; the name only follows the test_events_* convention of this subsystem's tests.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from smsgrid.events import (
    SMS_DELIVERY_REPORT_RECEIVED,
    SMS_RECEIVED,
    DataCasing,
    DeliveryAttempt,
    Event,
    GenericData,
    SmsDeliveryReportReceivedData,
    SmsReceivedData,
    Timestamp,
)

MIN_TICKS = Timestamp.parse("0001-01-01T00:00:00Z").ticks
MAX_TICKS = Timestamp.parse("9999-12-31T23:59:59.9999999Z").ticks

casings = st.sampled_from(DataCasing)
timestamps = st.builds(Timestamp, st.integers(MIN_TICKS, MAX_TICKS))
# Segment counts as JSON integers; orjson reads 64-bit integers exactly.
counts = st.integers(0, 2**63 - 1)

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
json_values: st.SearchStrategy[Any] = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
json_objects = st.dictionaries(st.text(max_size=8), json_values, max_size=5)

delivery_attempts = st.builds(DeliveryAttempt, timestamp=timestamps, segments_succeeded=counts, segments_failed=counts)

delivery_report_data = st.builds(
    SmsDeliveryReportReceivedData,
    message_id=st.text(),
    from_=st.text(),
    to=st.text(),
    delivery_status=st.sampled_from(["Delivered", "Failed"]) | st.text(),
    delivery_status_details=st.text(),
    delivery_attempts=st.lists(delivery_attempts, max_size=3).map(tuple),
    received_timestamp=timestamps,
    tag=st.none() | st.text(),
)

received_data = st.builds(
    SmsReceivedData,
    message_id=st.text(),
    from_=st.text(),
    to=st.text(),
    message=st.text(),
    received_timestamp=timestamps,
    segment_count=st.none() | counts,
)

other_event_types = st.text().filter(lambda name: name not in (SMS_RECEIVED, SMS_DELIVERY_REPORT_RECEIVED))


@st.composite
def events(draw: st.DrawFn, *, cloud: bool = False) -> Event:
    """Any Event: either SMS type with typed data, or another type with GenericData.

    With ``cloud=True`` only events the CloudEvents form can carry: dataVersion / metadataVersion keep their
    defaults, and id, source (topic) and type are non-empty as CloudEvents 1.0 requires.
    """
    required_text = st.text(min_size=1) if cloud else st.text()
    kind = draw(st.sampled_from(["received", "report", "other"]))
    data: SmsReceivedData | SmsDeliveryReportReceivedData | GenericData
    if kind == "received":
        event_type, data = SMS_RECEIVED, draw(received_data)
    elif kind == "report":
        event_type, data = SMS_DELIVERY_REPORT_RECEIVED, draw(delivery_report_data)
    else:
        event_type, data = (
            draw(other_event_types.filter(bool) if cloud else other_event_types),
            GenericData(draw(json_objects)),
        )
    versions: dict[str, str] = {}
    if not cloud:
        versions = {"data_version": draw(st.text()), "metadata_version": draw(st.text())}
    return Event(
        id=draw(required_text),
        topic=draw(required_text),
        subject=draw(st.text()),
        event_type=event_type,
        event_time=draw(timestamps),
        data=data,
        **versions,
    )
