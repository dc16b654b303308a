"""Addresses between ACS and SMPP: TON/NPI for what we send, E.164 for what we receive — never guessed.

Outbound (SMPP 3.4 §5.2.5-6): an E.164 number goes as its digits with TON 1 (international) / NPI 1 (E.164);
an alphanumeric sender ID as TON 5 / NPI 0; a short code as TON 3 (network specific) / NPI 0 by default.
Carriers disagree on short codes (some want TON 6 "abbreviated", some 0/1), so that pair is per connection.

Inbound: an address becomes E.164 only when its TON says it is international (or it is written with ``+``)
and libphonenumber agrees it is a possible number as written (:func:`smsgrid.sms.phone_numbers.is_e164`).
A national number becomes E.164 only with the connection's configured country code; TON 0 "unknown" digits
only when the connection says its SMSC writes international numbers that way. Everything else is kept
exactly as received and flagged, so a report or an MO never carries someone else's number.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from smsgrid.carrier.smpp.protocol import Npi, Ton
from smsgrid.sms.phone_numbers import is_e164
from smsgrid.sms.senders import SenderKind, classify_sender


class TonNpi(NamedTuple):
    ton: int
    npi: int


class SmppAddress(NamedTuple):
    """An address as a submit_sm carries it."""

    address: str
    ton: int
    npi: int


_INTERNATIONAL = TonNpi(Ton.INTERNATIONAL, Npi.ISDN_E164)
_ALPHANUMERIC = TonNpi(Ton.ALPHANUMERIC, Npi.UNKNOWN)
SHORT_CODE_DEFAULT = TonNpi(Ton.NETWORK_SPECIFIC, Npi.UNKNOWN)


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """Per-connection address settings; the defaults suit most SMSCs."""

    short_code: TonNpi = SHORT_CODE_DEFAULT
    # Inbound: the country code (digits, e.g. "44") that TON 2 numbers belong to, and the trunk prefix a
    # national number may start with (e.g. "0"). Unset: national numbers are kept as received.
    national_country_code: str | None = None
    national_trunk_prefix: str = ""
    # Inbound: this SMSC writes international numbers with TON 0 and no "+". Unset: TON 0 digits are kept.
    unknown_ton_is_international: bool = False


def source_address(sender: str, policy: AddressPolicy = AddressPolicy()) -> SmppAddress:
    """The source_addr fields for an ACS ``from`` (already validated by the API). Raises ValueError otherwise."""
    kind = classify_sender(sender)
    if kind is None:
        raise ValueError(f"{sender!r} is not a sender ACS accepts (E.164 number, short code or alphanumeric ID)")
    if kind.kind in (SenderKind.TOLL_FREE, SenderKind.LONG_CODE):
        return SmppAddress(sender[1:], *_INTERNATIONAL)
    if kind.kind is SenderKind.SHORT_CODE:
        return SmppAddress(sender, *policy.short_code)
    return SmppAddress(sender, *_ALPHANUMERIC)


def destination_address(recipient: str) -> SmppAddress:
    """The dest_addr fields for an ACS ``to`` (E.164, already validated). Raises ValueError otherwise."""
    if not is_e164(recipient):
        raise ValueError(f"{recipient!r} is not an E.164 number")
    return SmppAddress(recipient[1:], *_INTERNATIONAL)


class InboundAddressKind(StrEnum):
    E164 = "e164"
    KEPT = "kept"  # not provably E.164: kept exactly as received


@dataclass(frozen=True, slots=True)
class InboundAddress:
    text: str  # "+" and digits for E164; the received address unchanged for KEPT
    kind: InboundAddressKind
    reason: str = ""  # why it was kept, for the log


def inbound_address(address: str, ton: int, npi: int, policy: AddressPolicy = AddressPolicy()) -> InboundAddress:
    """An address from a deliver_sm (an MO's source, or our number as its destination) read as E.164 when that
    is certain, else kept as received with the reason."""
    del npi  # SMSCs set it inconsistently (0 for E.164 numbers is common); the TON and the digits decide
    text = address.strip()
    if text.startswith("+"):
        return _e164_or_kept(text, address, "written with '+' but not a possible E.164 number")
    if not text.isascii() or not text.isdigit():
        return _kept(address, f"not a phone number (TON {ton})")
    if ton == Ton.INTERNATIONAL:
        return _e164_or_kept("+" + text, address, "TON international but not a possible E.164 number")
    if ton == Ton.NATIONAL and policy.national_country_code:
        national = text.removeprefix(policy.national_trunk_prefix) if policy.national_trunk_prefix else text
        return _e164_or_kept(
            f"+{policy.national_country_code}{national}", address, "TON national but not a possible number there"
        )
    if ton == Ton.UNKNOWN and policy.unknown_ton_is_international:
        return _e164_or_kept("+" + text, address, "TON unknown but not a possible E.164 number")
    return _kept(address, f"TON {ton} does not say which country the number belongs to")


def _e164_or_kept(candidate: str, received: str, reason: str) -> InboundAddress:
    if is_e164(candidate):
        return InboundAddress(candidate, InboundAddressKind.E164)
    return _kept(received, reason)


def _kept(received: str, reason: str) -> InboundAddress:
    return InboundAddress(received, InboundAddressKind.KEPT, reason)
