"""SMPP 3.4 numbers the adapter needs: TON/NPI, esm_class bits, data_coding values, TLV tags, command_status.

All from the SMPP v3.4 specification (Issue 1.2, 1999): §5.2.5 (TON), §5.2.6 (NPI), §5.2.12 (esm_class),
§5.2.19 (data_coding), §5.3.2 (optional parameter tags), §5.1.3 (command_status), §5.2.28 (message_state).
Kept here, not taken from the wire library, so the pure pieces depend on nothing but the standard.
"""

from __future__ import annotations

from enum import IntEnum


class Ton(IntEnum):
    """Type of Number (§5.2.5)."""

    UNKNOWN = 0
    INTERNATIONAL = 1
    NATIONAL = 2
    NETWORK_SPECIFIC = 3
    SUBSCRIBER_NUMBER = 4
    ALPHANUMERIC = 5
    ABBREVIATED = 6


class Npi(IntEnum):
    """Numbering Plan Indicator (§5.2.6); only the values the adapter uses."""

    UNKNOWN = 0
    ISDN_E164 = 1


# esm_class (§5.2.12)
ESM_CLASS_UDHI = 0x40  # GSM-specific feature: the short_message starts with a User Data Header
ESM_CLASS_TYPE_MASK = 0x3C  # message type bits 5-2
ESM_CLASS_DELIVERY_RECEIPT = 0x04  # "SMSC Delivery Receipt" in deliver_sm / data_sm
ESM_CLASS_INTERMEDIATE_NOTIFICATION = 0x20


class DataCoding(IntEnum):
    """data_coding values (§5.2.19) the adapter reads or writes."""

    SMSC_DEFAULT = 0x00  # in practice GSM-7 on GSM networks; what most SMSCs want for GSM-7
    IA5 = 0x01  # IA5 (CCITT T.50) / ASCII
    OCTET_UNSPECIFIED_2 = 0x02
    LATIN1 = 0x03
    OCTET_UNSPECIFIED_4 = 0x04
    UCS2 = 0x08


# Optional parameter tags (§5.3.2)
TLV_RECEIPTED_MESSAGE_ID = 0x001E
TLV_SAR_MSG_REF_NUM = 0x020C
TLV_SAR_TOTAL_SEGMENTS = 0x020E
TLV_SAR_SEGMENT_SEQNUM = 0x020F
TLV_NETWORK_ERROR_CODE = 0x0423
TLV_MESSAGE_PAYLOAD = 0x0424
TLV_MESSAGE_STATE = 0x0427

# registered_delivery (§5.2.17): bits 1-0 = 01 asks for a receipt on final success *or* failure.
REGISTERED_DELIVERY_NONE = 0x00
REGISTERED_DELIVERY_FINAL = 0x01


class MessageState(IntEnum):
    """message_state TLV values (§5.2.28)."""

    ENROUTE = 1
    DELIVERED = 2
    EXPIRED = 3
    DELETED = 4
    UNDELIVERABLE = 5
    ACCEPTED = 6
    UNKNOWN = 7
    REJECTED = 8


class CommandStatus(IntEnum):
    """command_status values (§5.1.3) a submit_sm_resp / generic_nack may carry."""

    ESME_ROK = 0x00
    ESME_RINVMSGLEN = 0x01
    ESME_RINVCMDLEN = 0x02
    ESME_RINVCMDID = 0x03
    ESME_RINVBNDSTS = 0x04
    ESME_RALYBND = 0x05
    ESME_RINVPRTFLG = 0x06
    ESME_RINVREGDLVFLG = 0x07
    ESME_RSYSERR = 0x08
    ESME_RINVSRCADR = 0x0A
    ESME_RINVDSTADR = 0x0B
    ESME_RINVMSGID = 0x0C
    ESME_RBINDFAIL = 0x0D
    ESME_RINVPASWD = 0x0E
    ESME_RINVSYSID = 0x0F
    ESME_RMSGQFUL = 0x14
    ESME_RINVSERTYP = 0x15
    ESME_RINVESMCLASS = 0x43
    ESME_RSUBMITFAIL = 0x45
    ESME_RINVSRCTON = 0x48
    ESME_RINVSRCNPI = 0x49
    ESME_RINVDSTTON = 0x50
    ESME_RINVDSTNPI = 0x51
    ESME_RTHROTTLED = 0x58
    ESME_RINVSCHED = 0x61
    ESME_RINVEXPIRY = 0x62
    ESME_RINVOPTPARSTREAM = 0xC0
    ESME_ROPTPARNOTALLWD = 0xC1
    ESME_RINVPARLEN = 0xC2
    ESME_RMISSINGOPTPARAM = 0xC3
    ESME_RINVOPTPARAMVAL = 0xC4
    ESME_RDELIVERYFAILURE = 0xFE
    ESME_RUNKNOWNERR = 0xFF
