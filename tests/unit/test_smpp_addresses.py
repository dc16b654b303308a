"""Senders → TON/NPI, and inbound addresses → E.164 only when certain, kept as received otherwise."""

from __future__ import annotations

import pytest

from smsgrid.carrier.smpp.addresses import (
    AddressPolicy,
    InboundAddress,
    InboundAddressKind,
    SmppAddress,
    TonNpi,
    destination_address,
    inbound_address,
    source_address,
)
from smsgrid.carrier.smpp.protocol import Npi, Ton
from smsgrid.carrier.smpp.submit_fields import registered_delivery, relative_validity

E164 = InboundAddressKind.E164
KEPT = InboundAddressKind.KEPT


@pytest.mark.parametrize(
    ("sender", "address"),
    [
        ("+14255550123", SmppAddress("14255550123", Ton.INTERNATIONAL, Npi.ISDN_E164)),
        ("+18005550100", SmppAddress("18005550100", Ton.INTERNATIONAL, Npi.ISDN_E164)),  # toll-free
        ("12345", SmppAddress("12345", Ton.NETWORK_SPECIFIC, Npi.UNKNOWN)),
        ("CONTOSO", SmppAddress("CONTOSO", Ton.ALPHANUMERIC, Npi.UNKNOWN)),
        ("My Shop 1", SmppAddress("My Shop 1", Ton.ALPHANUMERIC, Npi.UNKNOWN)),
    ],
)
def test_source_addresses(sender: str, address: SmppAddress) -> None:
    assert source_address(sender) == address


def test_short_code_ton_npi_is_per_connection() -> None:
    policy = AddressPolicy(short_code=TonNpi(Ton.ABBREVIATED, Npi.ISDN_E164))
    assert source_address("654321", policy) == SmppAddress("654321", Ton.ABBREVIATED, Npi.ISDN_E164)


@pytest.mark.parametrize("sender", ["14255550123", "+1", "TOO LONG SENDER", ""])
def test_senders_acs_would_refuse_are_refused(sender: str) -> None:
    with pytest.raises(ValueError, match="not a sender"):
        source_address(sender)


def test_destination_is_international() -> None:
    assert destination_address("+447700900123") == SmppAddress("447700900123", Ton.INTERNATIONAL, Npi.ISDN_E164)
    with pytest.raises(ValueError, match=r"E\.164"):
        destination_address("07700900123")


@pytest.mark.parametrize(
    ("address", "ton", "expected"),
    [
        ("447700900123", Ton.INTERNATIONAL, InboundAddress("+447700900123", E164)),
        ("+447700900123", Ton.UNKNOWN, InboundAddress("+447700900123", E164)),
        (" 447700900123 ", Ton.INTERNATIONAL, InboundAddress("+447700900123", E164)),
    ],
)
def test_certain_numbers_become_e164(address: str, ton: int, expected: InboundAddress) -> None:
    assert inbound_address(address, ton, Npi.ISDN_E164) == expected


@pytest.mark.parametrize(
    ("address", "ton"),
    [
        ("447700900123", Ton.UNKNOWN),  # could be international without "+", or national: not guessed
        ("07700900123", Ton.NATIONAL),  # national, no country configured
        ("12345", Ton.NETWORK_SPECIFIC),  # a short code
        ("999", Ton.INTERNATIONAL),  # claims international, is not a possible number
        ("+4407700900123", Ton.UNKNOWN),  # a trunk 0 after the country code dials someone else
        ("VODAFONE", Ton.ALPHANUMERIC),
        ("44 7700 900123", Ton.INTERNATIONAL),
    ],
)
def test_uncertain_addresses_are_kept_as_received_with_a_reason(address: str, ton: int) -> None:
    reading = inbound_address(address, ton, Npi.UNKNOWN)
    assert (reading.text, reading.kind) == (address, KEPT)
    assert reading.reason


def test_national_numbers_with_a_configured_country() -> None:
    policy = AddressPolicy(national_country_code="44", national_trunk_prefix="0")
    assert inbound_address("07700900123", Ton.NATIONAL, Npi.ISDN_E164, policy) == InboundAddress("+447700900123", E164)
    assert inbound_address("0123", Ton.NATIONAL, Npi.ISDN_E164, policy).kind is KEPT  # too short to be possible


def test_unknown_ton_as_international_only_when_configured() -> None:
    policy = AddressPolicy(unknown_ton_is_international=True)
    assert inbound_address("447700900123", Ton.UNKNOWN, Npi.UNKNOWN, policy) == InboundAddress("+447700900123", E164)
    assert inbound_address("12345", Ton.UNKNOWN, Npi.UNKNOWN, policy).kind is KEPT


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (60, "000000000100000R"),
        (300, "000000000500000R"),
        (43200, "000000120000000R"),  # ACS's maximum, 12 h
        (90061, "000001010101000R"),  # 1 day 1 h 1 min 1 s
        (31 * 86400, "000101000000000R"),  # a month is 30 days here
    ],
)
def test_relative_validity(seconds: int, text: str) -> None:
    assert relative_validity(seconds) == text


@pytest.mark.parametrize("seconds", [0, -5, 100 * 365 * 86400])
def test_relative_validity_out_of_range(seconds: int) -> None:
    with pytest.raises(ValueError, match="validity"):
        relative_validity(seconds)


def test_registered_delivery_follows_enable_delivery_report() -> None:
    assert (registered_delivery(True), registered_delivery(False)) == (1, 0)
