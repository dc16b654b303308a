"""The ``DeliveryStatusDetails`` codes of an SMS delivery report.

Codes and meanings: SPEC §1, from ACS "Troubleshooting response codes for SMS" (2024). The text that goes
into ``DeliveryStatusDetails`` is the docs' message for the code, with two exceptions taken from what Azure
actually sends: 2000 is "No error." (the seed's delivery report) and 4007 is "Sender blocked for given
recipient." (ACS SMS FAQ, opt-out handling: "The delivery report will indicate a failed delivery with status
message as …").
"""

from __future__ import annotations

from enum import IntEnum, StrEnum
from types import MappingProxyType
from typing import NamedTuple


class DeliveryStatus(StrEnum):
    """``DeliveryStatus`` of a delivery report: only these two values occur [seed]."""

    DELIVERED = "Delivered"
    FAILED = "Failed"


class DeliveryStatusCode(IntEnum):
    """A ``DeliveryStatusDetails`` code."""

    DELIVERED = 2000
    FRAUD_DETECTION = 4000
    INVALID_FROM = 4001
    INVALID_TO = 4002
    UNSUPPORTED_DESTINATION = 4003
    NUMBER_DOES_NOT_EXIST = 4004
    BLOCKED_BY_CARRIER = 4005
    UNREACHABLE = 4006
    OPTED_OUT = 4007
    PROFILE_LIMIT_EXCEEDED = 4008
    ENTITLEMENT_SYSTEM = 4009
    TOLL_FREE_NOT_VERIFIED = 4010
    # In the ACS docs table but not in SPEC §1; kept so a carrier rule can simulate it.
    VOLUMETRIC_VIOLATION = 4020
    FAILED = 5000
    TEMPORARY_UNAVAILABILITY = 5001
    NO_DELIVERY_REPORT_SUPPORT = 5002
    UNKNOWN = 9999


class _CodeText(NamedTuple):
    short_name: str
    details: str


_C = DeliveryStatusCode
# Read-only view: the table is shared by every caller and must not be changed at run time.
_TEXTS: MappingProxyType[int, _CodeText] = MappingProxyType(
    {
        _C.DELIVERED: _CodeText("Delivered", "No error."),
        _C.FRAUD_DETECTION: _CodeText("Fraud detection", "Message is rejected due to fraud detection."),
        _C.INVALID_FROM: _CodeText("Invalid From", "Message is rejected due to invalid Source/From number format."),
        _C.INVALID_TO: _CodeText("Invalid To", "Message is rejected due to invalid Destination/To number format."),
        _C.UNSUPPORTED_DESTINATION: _CodeText(
            "Unsupported destination", "Message failed to deliver due to unsupported destination."
        ),
        _C.NUMBER_DOES_NOT_EXIST: _CodeText(
            "Number does not exist", "Message failed to deliver since Destination/To number doesn't exist."
        ),
        _C.BLOCKED_BY_CARRIER: _CodeText("Blocked by carrier", "Message blocked by Destination carrier."),
        _C.UNREACHABLE: _CodeText("Unreachable", "The Destination/To number isn't reachable."),
        _C.OPTED_OUT: _CodeText("Opted out", "Sender blocked for given recipient."),
        _C.PROFILE_LIMIT_EXCEEDED: _CodeText(
            "Profile limit exceeded", "You exceeded the maximum number of messages allowed for your profile."
        ),
        _C.ENTITLEMENT_SYSTEM: _CodeText("Entitlement system", "Message rejected by Microsoft Entitlement System."),
        _C.TOLL_FREE_NOT_VERIFIED: _CodeText(
            "Toll-free number not verified",
            "Message was blocked due to the toll-free number not being verified.",
        ),
        _C.VOLUMETRIC_VIOLATION: _CodeText(
            "Volumetric violation", "Message rejected by the carrier due to a volumetric violation."
        ),
        _C.FAILED: _CodeText("Failed", "Message failed to deliver. Reach out Microsoft support team for more details."),
        _C.TEMPORARY_UNAVAILABILITY: _CodeText(
            "Temporary unavailability",
            "Message failed to deliver due to temporary unavailability of application/system.",
        ),
        _C.NO_DELIVERY_REPORT_SUPPORT: _CodeText(
            "Carrier does not support delivery report", "Carrier does not support delivery report"
        ),
        _C.UNKNOWN: _CodeText("Unknown", "Message failed to deliver due to unknown error/failure."),
    }
)
KNOWN_CODES: frozenset[int] = frozenset(_TEXTS)


def is_known(code: int) -> bool:
    """True for a code in the ACS table."""
    return code in KNOWN_CODES


def description(code: int) -> str:
    """The ``DeliveryStatusDetails`` text for *code*; an unknown code reads as 9999 (Unknown).

    Total rather than raising: a report must always carry some text. Configuration is checked with
    :func:`is_known`.
    """
    return _TEXTS.get(code, _TEXTS[_C.UNKNOWN]).details


def short_name(code: int) -> str:
    """The short name of *code* as SPEC §1 lists it (e.g. ``"Opted out"``); unknown codes read "Unknown"."""
    return _TEXTS.get(code, _TEXTS[_C.UNKNOWN]).short_name


def delivery_status_for(code: int) -> DeliveryStatus:
    """``Delivered`` for 2000, ``Failed`` for every other code (the report's ``DeliveryStatus`` field)."""
    return DeliveryStatus.DELIVERED if code == DeliveryStatusCode.DELIVERED else DeliveryStatus.FAILED
