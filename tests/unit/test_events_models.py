"""Builders and invariants of the event models (SPEC §1: id, topic, subject)."""

from __future__ import annotations

import pytest

from smsgrid.events import (
    SMS_DELIVERY_REPORT_RECEIVED,
    SMS_RECEIVED,
    DataCasing,
    Event,
    GenericData,
    SmsDeliveryReportReceivedData,
    SmsReceivedData,
    Timestamp,
    delivery_report_event,
    phone_subject,
    resource_topic,
    sms_received_event,
)

WHEN = Timestamp.parse("2024-05-01T12:00:00Z")
RECEIVED_DATA = SmsReceivedData("Incoming_1", "+15550002222", "+15550001111", "hi", WHEN)
REPORT_DATA = SmsDeliveryReportReceivedData(
    "Outgoing_1", "+15550001111", "+15550002222", "Delivered", "2000 Delivered", (), WHEN
)


def test_resource_topic() -> None:
    assert resource_topic("aaaa", "rg", "acs") == (
        "/subscriptions/aaaa/resourceGroups/rg/providers/microsoft.communication/communicationservices/acs"
    )


@pytest.mark.parametrize("number", ["+15555555555", "15555555555", "+1 (555) 555-5555"])
def test_phone_subject_keeps_only_the_digits(number: str) -> None:
    assert phone_subject(number) == "/phonenumber/15555555555"


@pytest.mark.parametrize("number", ["", "+", "abc!", "٣٣٣"])
def test_phone_subject_needs_ascii_digits(number: str) -> None:
    with pytest.raises(ValueError, match="no digits"):
        phone_subject(number)


@pytest.mark.parametrize("sender", ["CONTOSO", "My Shop 24"])
def test_phone_subject_writes_an_alphanumeric_sender_id_as_it_is(sender: str) -> None:
    assert phone_subject(sender) == f"/phonenumber/{sender}"


def test_received_event_is_about_the_resources_number_the_to() -> None:
    event = sms_received_event(RECEIVED_DATA, topic="/t", event_time=WHEN)
    assert (event.id, event.subject, event.event_type) == (
        "Incoming_1",
        "/phonenumber/15550001111",
        SMS_RECEIVED,
    )
    assert (event.topic, event.event_time, event.data_version, event.metadata_version) == (
        "/t",
        WHEN,
        "1.0",
        "1",
    )


def test_delivery_report_event_is_about_the_resources_number_the_from() -> None:
    event = delivery_report_event(REPORT_DATA, topic="/t", event_time=WHEN)
    assert (event.id, event.subject, event.event_type) == (
        "Outgoing_1",
        "/phonenumber/15550001111",
        SMS_DELIVERY_REPORT_RECEIVED,
    )


@pytest.mark.parametrize(
    ("event_type", "data"),
    [
        (SMS_RECEIVED, REPORT_DATA),
        (SMS_DELIVERY_REPORT_RECEIVED, RECEIVED_DATA),
        ("Contoso.Other", RECEIVED_DATA),
    ],
)
def test_typed_data_must_match_the_event_type(
    event_type: str, data: SmsReceivedData | SmsDeliveryReportReceivedData
) -> None:
    with pytest.raises(ValueError, match="cannot be the data of"):
        Event("1", "/t", "/s", event_type, WHEN, data)


def test_generic_data_fits_any_type() -> None:
    assert Event("1", "/t", "", "Contoso.Other", WHEN, GenericData({})).data == GenericData({})


def test_casing_names_are_the_config_values() -> None:
    assert DataCasing("pascal") is DataCasing.PASCAL
    assert [casing.value for casing in DataCasing] == ["pascal", "camel"]
