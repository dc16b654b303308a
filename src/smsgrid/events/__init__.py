"""smsgrid.events: the ACS SMS Event Grid events as values, and their wire forms (SPEC §1).

Pure code, no I/O: the server renders with :mod:`~smsgrid.events.render`, consumers read deliveries with
:mod:`~smsgrid.events.parse`; round-trip tests hold the two together.
"""

from smsgrid.events.keys import CAMEL_KEYS, PASCAL_KEYS, DataKeys, data_keys
from smsgrid.events.models import (
    SMS_DELIVERY_REPORT_RECEIVED,
    SMS_RECEIVED,
    DataCasing,
    DeliveryAttempt,
    Event,
    EventData,
    GenericData,
    SmsDeliveryReportReceivedData,
    SmsReceivedData,
    delivery_report_event,
    phone_subject,
    resource_topic,
    sms_received_event,
)
from smsgrid.events.parse import parse_cloud_event, parse_event_grid_item, parse_events
from smsgrid.events.render import (
    CLOUD_EVENTS_DATA_CONTENT_TYPE,
    CLOUD_EVENTS_SPEC_VERSION,
    event_grid_item_to_cloud_event,
    render_cloud_event,
    render_cloud_events_batch,
    render_event_grid,
    to_cloud_event_dict,
    to_event_grid_dict,
)
from smsgrid.events.timestamps import Timestamp

__all__ = [
    "CAMEL_KEYS",
    "CLOUD_EVENTS_DATA_CONTENT_TYPE",
    "CLOUD_EVENTS_SPEC_VERSION",
    "PASCAL_KEYS",
    "SMS_DELIVERY_REPORT_RECEIVED",
    "SMS_RECEIVED",
    "DataCasing",
    "DataKeys",
    "DeliveryAttempt",
    "Event",
    "EventData",
    "GenericData",
    "SmsDeliveryReportReceivedData",
    "SmsReceivedData",
    "Timestamp",
    "data_keys",
    "delivery_report_event",
    "event_grid_item_to_cloud_event",
    "parse_cloud_event",
    "parse_event_grid_item",
    "parse_events",
    "phone_subject",
    "render_cloud_event",
    "render_cloud_events_batch",
    "render_event_grid",
    "resource_topic",
    "sms_received_event",
    "to_cloud_event_dict",
    "to_event_grid_dict",
]
