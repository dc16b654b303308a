"""A message the core hands over → the submit_sm fields of each of its parts, for one connection. Pure.

The parts come from `segmentation.submit_parts` (so their number equals the API's segment count), the
addresses from `addresses` (TON/NPI by sender kind), registered_delivery and validity_period from
`submit_fields` (the SMSC stops trying when smsgrid stops waiting for the receipt).
"""

from __future__ import annotations

from smsgrid.carrier.port import OutboundSms
from smsgrid.carrier.smpp.addresses import AddressPolicy, destination_address, source_address
from smsgrid.carrier.smpp.protocol import (
    TLV_MESSAGE_PAYLOAD,
    TLV_SAR_MSG_REF_NUM,
    TLV_SAR_SEGMENT_SEQNUM,
    TLV_SAR_TOTAL_SEGMENTS,
)
from smsgrid.carrier.smpp.segmentation import EncodingPreference, SubmitPart, submit_parts
from smsgrid.carrier.smpp.session_port import SubmitSmFields, Tlv
from smsgrid.carrier.smpp.settings import SmppConnectionSettings
from smsgrid.carrier.smpp.submit_fields import registered_delivery, relative_validity
from smsgrid.sms.status_codes import DeliveryStatusCode


class UnsendableMessage(ValueError):
    """The message cannot be put into a submit_sm at all; `code` is the DeliveryStatusDetails to report."""

    def __init__(self, code: DeliveryStatusCode, reason: str) -> None:
        super().__init__(reason)
        self.code = code


def encoding_preference(settings: SmppConnectionSettings) -> EncodingPreference:
    return EncodingPreference(settings.concatenation, settings.gsm7_form, settings.gsm7_data_coding)


def address_policy(settings: SmppConnectionSettings) -> AddressPolicy:
    return AddressPolicy(
        short_code=settings.short_code_ton_npi,
        national_country_code=settings.national_country_code,
        national_trunk_prefix=settings.national_trunk_prefix,
        unknown_ton_is_international=settings.unknown_ton_is_international,
    )


def submit_sm_parts(
    message: OutboundSms,
    preference: EncodingPreference,
    policy: AddressPolicy,
    reference: int,
) -> tuple[SubmitSmFields, ...]:
    """One `SubmitSmFields` per PDU to send, in part order. *reference* ties the parts of a long message
    together (a per-connection counter, 0-65535). Raises UnsendableMessage for a sender, recipient or text that
    no submit_sm can carry (the API validated them, so only a changed configuration gets here)."""
    try:
        source = source_address(message.from_number, policy)
    except ValueError as error:
        raise UnsendableMessage(DeliveryStatusCode.INVALID_FROM, str(error)) from error
    try:
        destination = destination_address(message.to_number)
    except ValueError as error:
        raise UnsendableMessage(DeliveryStatusCode.INVALID_TO, str(error)) from error
    try:
        parts = submit_parts(message.body, preference, reference)
    except ValueError as error:
        raise UnsendableMessage(DeliveryStatusCode.FAILED, str(error)) from error
    validity = relative_validity(message.report_timeout_seconds) if message.report_timeout_seconds else ""
    receipt = registered_delivery(message.delivery_report)
    return tuple(
        SubmitSmFields(
            source_addr=source.address,
            source_addr_ton=source.ton,
            source_addr_npi=source.npi,
            destination_addr=destination.address,
            dest_addr_ton=destination.ton,
            dest_addr_npi=destination.npi,
            short_message=part.short_message,
            data_coding=part.data_coding,
            esm_class=part.esm_class,
            registered_delivery=receipt,
            validity_period=validity,
            tlvs=_tlvs(part),
        )
        for part in parts
    )


def _tlvs(part: SubmitPart) -> tuple[Tlv, ...]:
    if part.message_payload is not None:
        return (Tlv(TLV_MESSAGE_PAYLOAD, part.message_payload),)
    if part.sar is not None:
        return (
            Tlv(TLV_SAR_MSG_REF_NUM, part.sar.reference.to_bytes(2, "big")),
            Tlv(TLV_SAR_TOTAL_SEGMENTS, bytes((part.sar.total,))),
            Tlv(TLV_SAR_SEGMENT_SEQNUM, bytes((part.sar.sequence,))),
        )
    return ()
