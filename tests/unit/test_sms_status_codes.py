"""DeliveryStatusDetails codes (SPEC §1) and the DeliveryStatus they imply."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgrid.sms import (
    KNOWN_CODES,
    DeliveryStatus,
    DeliveryStatusCode,
    delivery_status_for,
    description,
    is_known,
    short_name,
)

# SPEC §1, verbatim.
SPEC_TABLE = {
    2000: "Delivered",
    4000: "Fraud detection",
    4001: "Invalid From",
    4002: "Invalid To",
    4003: "Unsupported destination",
    4004: "Number does not exist",
    4005: "Blocked by carrier",
    4006: "Unreachable",
    4007: "Opted out",
    4008: "Profile limit exceeded",
    4009: "Entitlement system",
    4010: "Toll-free number not verified",
    5000: "Failed",
    5001: "Temporary unavailability",
    5002: "Carrier does not support delivery report",
    9999: "Unknown",
}


@pytest.mark.parametrize(("code", "name"), sorted(SPEC_TABLE.items()))
def test_every_spec_code_is_known_with_its_short_name(code: int, name: str) -> None:
    assert is_known(code)
    assert short_name(code) == name
    assert description(code)
    assert DeliveryStatusCode(code) == code


def test_the_table_is_the_spec_plus_the_docs_4020() -> None:
    assert set(KNOWN_CODES) == set(SPEC_TABLE) | {4020}
    assert {int(member) for member in DeliveryStatusCode} == set(KNOWN_CODES)


def test_delivered_reads_no_error_as_in_the_seed() -> None:
    # The seed's report: "DeliveryStatus": "Delivered", "DeliveryStatusDetails": "No error."
    assert description(DeliveryStatusCode.DELIVERED) == "No error."
    assert delivery_status_for(DeliveryStatusCode.DELIVERED) == "Delivered"


def test_opted_out_reads_as_acs_reports_it() -> None:
    assert description(DeliveryStatusCode.OPTED_OUT) == "Sender blocked for given recipient."


def test_delivery_status_is_delivered_only_for_2000() -> None:
    assert delivery_status_for(2000) is DeliveryStatus.DELIVERED
    assert delivery_status_for(2000) == "Delivered"
    for code in KNOWN_CODES - {2000}:
        assert delivery_status_for(code) is DeliveryStatus.FAILED
    assert delivery_status_for(4007) == "Failed"


@given(st.integers().filter(lambda n: n not in KNOWN_CODES))
def test_unknown_codes_read_as_unknown_and_failed(code: int) -> None:
    assert not is_known(code)
    assert description(code) == description(9999)
    assert short_name(code) == "Unknown"
    assert delivery_status_for(code) is DeliveryStatus.FAILED
