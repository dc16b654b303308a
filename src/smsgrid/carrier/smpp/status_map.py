"""SMPP outcomes → ACS ``DeliveryStatus`` and ``DeliveryStatusDetails`` codes (the table in docs/smpp.md).

Two places an SMPP outcome comes from:

- the **receipt**: ``message_state`` TLV (SMPP 3.4 §5.2.28), else ``stat`` in the text (Appendix B), refined
  by the error (``network_error_code`` TLV §5.3.2.31, else ``err`` in the text);
- the **submit_sm_resp** (or generic_nack) command_status (§5.1.3): not a report but a verdict on the submit.

Intermediate states (ENROUTE, ACCEPTD, BUFFRED/ACKED as some SMSCs write them) are not final: they go on the
message's timeline and the report waits for a final state or the report timeout. SMPP 3.4 Appendix B calls
ACCEPTD final ("accepted … read on behalf of the subscriber by customer service"), but SMSCs send it as
"accepted by the network", and Kannel treats it as not final; so does smsgrid.

``err`` values are SMSC-specific. Many SMSCs put the GSM MAP error (3GPP TS 29.002 §17.6.6) there; that
reading is the default table below and a connection can replace it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from smsgrid.carrier.smpp.protocol import CommandStatus, MessageState
from smsgrid.sms.status_codes import DeliveryStatus, DeliveryStatusCode, delivery_status_for

_C = DeliveryStatusCode


@dataclass(frozen=True, slots=True)
class ReceiptVerdict:
    """What a receipt means for the message: final or not, and the ACS status and code when final."""

    final: bool
    status: DeliveryStatus | None = None
    code: DeliveryStatusCode | None = None
    state: MessageState | None = None  # None when the receipt's state could not be read


_NOT_FINAL = frozenset({MessageState.ENROUTE, MessageState.ACCEPTED})

# The state's own code, used when the error says nothing more specific.
_STATE_CODES: Mapping[MessageState, DeliveryStatusCode] = MappingProxyType(
    {
        MessageState.DELIVERED: _C.DELIVERED,
        MessageState.EXPIRED: _C.UNREACHABLE,  # validity ran out: the handset stayed unreachable
        MessageState.DELETED: _C.FAILED,
        MessageState.UNDELIVERABLE: _C.FAILED,
        MessageState.UNKNOWN: _C.UNKNOWN,
        MessageState.REJECTED: _C.FAILED,
    }
)

# stat text → state. The seven of Appendix B, ENROUTE, and spellings SMSCs use instead.
_STAT_WORDS: Mapping[str, MessageState] = MappingProxyType(
    {
        "DELIVRD": MessageState.DELIVERED,
        "DELIVERED": MessageState.DELIVERED,
        "EXPIRED": MessageState.EXPIRED,
        "DELETED": MessageState.DELETED,
        "UNDELIV": MessageState.UNDELIVERABLE,
        "UNDELIVERABLE": MessageState.UNDELIVERABLE,
        "FAILED": MessageState.UNDELIVERABLE,
        "ACCEPTD": MessageState.ACCEPTED,
        "ACCEPTED": MessageState.ACCEPTED,
        "ENROUTE": MessageState.ENROUTE,
        "BUFFRED": MessageState.ENROUTE,
        "ACKED": MessageState.ENROUTE,
        "UNKNOWN": MessageState.UNKNOWN,
        "REJECTD": MessageState.REJECTED,
        "REJECTED": MessageState.REJECTED,
    }
)

# GSM MAP error codes (3GPP TS 29.002 §17.6.6) as SMSCs report them in err / network_error_code.
GSM_MAP_ERROR_CODES: Mapping[int, DeliveryStatusCode] = MappingProxyType(
    {
        1: _C.NUMBER_DOES_NOT_EXIST,  # unknownSubscriber
        5: _C.NUMBER_DOES_NOT_EXIST,  # unidentifiedSubscriber
        6: _C.UNREACHABLE,  # absentSubscriberSM
        9: _C.BLOCKED_BY_CARRIER,  # illegalSubscriber
        11: _C.UNSUPPORTED_DESTINATION,  # teleserviceNotProvisioned
        12: _C.BLOCKED_BY_CARRIER,  # illegalEquipment
        13: _C.BLOCKED_BY_CARRIER,  # callBarred
        21: _C.UNSUPPORTED_DESTINATION,  # facilityNotSupported
        27: _C.UNREACHABLE,  # absentSubscriber
        31: _C.TEMPORARY_UNAVAILABILITY,  # subscriberBusyForMT-SMS
        32: _C.FAILED,  # sm-DeliveryFailure (e.g. memory capacity exceeded)
        33: _C.TEMPORARY_UNAVAILABILITY,  # messageWaitingListFull
        34: _C.TEMPORARY_UNAVAILABILITY,  # systemFailure
        35: _C.FAILED,  # dataMissing
        36: _C.FAILED,  # unexpectedDataValue
    }
)


def state_from_stat(stat: str | None) -> MessageState | None:
    """The state a receipt's ``stat`` word names; None for a word no SMSC table here knows."""
    return _STAT_WORDS.get(stat.strip().upper()) if stat else None


def state_from_tlv(value: int | None) -> MessageState | None:
    """The ``message_state`` TLV's state; None for a value outside SMPP 3.4 (0 and 9 are SMPP 5)."""
    if value is None:
        return None
    try:
        return MessageState(value)
    except ValueError:
        return None


def receipt_verdict(
    state: MessageState | None,
    error: int | None = None,
    error_codes: Mapping[int, DeliveryStatusCode] = GSM_MAP_ERROR_CODES,
) -> ReceiptVerdict:
    """Decide what a receipt means. *state* from :func:`state_from_tlv` or :func:`state_from_stat` (the TLV
    first: it is typed, the text is free-form); *error* from network_error_code or ``err``.

    An unreadable state is final and Failed with 9999: a receipt that cannot be read still ends the wait, and
    the raw receipt stays on the timeline for a person to read.
    """
    if state is None:
        return ReceiptVerdict(True, DeliveryStatus.FAILED, _C.UNKNOWN, None)
    if state in _NOT_FINAL:
        return ReceiptVerdict(False, state=state)
    code = _STATE_CODES[state]
    if state is not MessageState.DELIVERED and error:
        code = error_codes.get(error, code)
    return ReceiptVerdict(True, delivery_status_for(code), code, state)


def network_error(value: bytes) -> int | None:
    """The error of a ``network_error_code`` TLV (§5.3.2.31: network type octet, then a 2-octet code) when the
    network type is GSM (3); other networks' codes mean something else and are not mapped."""
    gsm_network_type = 3
    if len(value) != 3 or value[0] != gsm_network_type:  # 1 type octet + 2 code octets
        return None
    return int.from_bytes(value[1:3], "big")


class SubmitAction(StrEnum):
    """What to do after a submit_sm_resp / generic_nack. Every negative answer means the SMSC did *not* take
    the message, so trying again can never send it twice; only a missing answer is an unknown outcome."""

    ACCEPTED = "accepted"
    BACK_OFF = "back_off"  # the SMSC is full or over our TPS: wait, then the same connection again
    FAILOVER = "failover"  # this connection cannot take it now: another route, or this one after a rebind
    REFUSED = "refused"  # the message itself was refused: report failure with the code
    UNKNOWN = "unknown"  # no answer: the SMSC may have taken it; never re-submitted automatically


@dataclass(frozen=True, slots=True)
class SubmitVerdict:
    action: SubmitAction
    code: DeliveryStatusCode | None = None  # set for REFUSED


_BACK_OFF = frozenset({CommandStatus.ESME_RTHROTTLED, CommandStatus.ESME_RMSGQFUL})
_FAILOVER = frozenset({CommandStatus.ESME_RINVBNDSTS, CommandStatus.ESME_RSYSERR})
_REFUSED_CODES: Mapping[int, DeliveryStatusCode] = MappingProxyType(
    {
        CommandStatus.ESME_RINVSRCADR: _C.INVALID_FROM,
        CommandStatus.ESME_RINVSRCTON: _C.INVALID_FROM,
        CommandStatus.ESME_RINVSRCNPI: _C.INVALID_FROM,
        CommandStatus.ESME_RINVDSTADR: _C.INVALID_TO,
        CommandStatus.ESME_RINVDSTTON: _C.INVALID_TO,
        CommandStatus.ESME_RINVDSTNPI: _C.INVALID_TO,
        CommandStatus.ESME_RUNKNOWNERR: _C.UNKNOWN,
    }
)


def submit_verdict(command_status: int) -> SubmitVerdict:
    """Decide on a submit_sm_resp's command_status. Refusals not listed (bad length, TLV, esm_class, validity…)
    are smsgrid's or the SMSC's configuration, not the recipient's: Failed with 5000, logged with the status."""
    if command_status == CommandStatus.ESME_ROK:
        return SubmitVerdict(SubmitAction.ACCEPTED)
    if command_status in _BACK_OFF:
        return SubmitVerdict(SubmitAction.BACK_OFF)
    if command_status in _FAILOVER:
        return SubmitVerdict(SubmitAction.FAILOVER)
    return SubmitVerdict(SubmitAction.REFUSED, _REFUSED_CODES.get(command_status, _C.FAILED))


_STATUS_IN_ERROR = re.compile(r"\(0x([0-9A-Fa-f]{1,8})\)")


def status_from_error_text(text: str) -> int | None:
    """The command_status a wire-library error names, e.g. ``"ESME_RINVCMDID (0x00000003)"`` → 3 (smpp34 1.5
    writes its SmppError messages so); None when it names none."""
    match = _STATUS_IN_ERROR.search(text)
    return int(match.group(1), 16) if match else None


def raised_submit_verdict(command_status: int | None) -> SubmitVerdict:
    """Decide on a submit that *raised* instead of returning a response.

    smpp34 1.5 raises ``ESME_RSYSERR`` both when the response never came (its 30 s timer) and when the connection
    dropped, so 0x08 — or no status at all — is an unknown outcome, even though a generic_nack carrying 0x08 would
    read the same: the error is taken on the side that never sends twice. Any other status came from a
    generic_nack: the SMSC did not take the PDU, and it is decided like a response.
    """
    if command_status is None or command_status == CommandStatus.ESME_RSYSERR:
        return SubmitVerdict(SubmitAction.UNKNOWN)
    if command_status == CommandStatus.ESME_ROK:  # a nack with status 0 is nonsense; not proof of acceptance
        return SubmitVerdict(SubmitAction.UNKNOWN)
    return submit_verdict(command_status)
