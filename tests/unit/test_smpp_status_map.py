"""Receipt states, errors and submit_sm_resp statuses → ACS DeliveryStatus and DeliveryStatusDetails codes."""

from __future__ import annotations

import pytest

from smsgrid.carrier.smpp.protocol import CommandStatus, MessageState
from smsgrid.carrier.smpp.status_map import (
    GSM_MAP_ERROR_CODES,
    ReceiptVerdict,
    SubmitAction,
    SubmitVerdict,
    network_error,
    raised_submit_verdict,
    receipt_verdict,
    state_from_stat,
    state_from_tlv,
    status_from_error_text,
    submit_verdict,
)
from smsgrid.sms.status_codes import DeliveryStatus, DeliveryStatusCode, is_known

C = DeliveryStatusCode
FAILED = DeliveryStatus.FAILED


@pytest.mark.parametrize(
    ("stat", "state"),
    [
        ("DELIVRD", MessageState.DELIVERED),
        ("delivrd", MessageState.DELIVERED),
        ("UNDELIV", MessageState.UNDELIVERABLE),
        ("EXPIRED", MessageState.EXPIRED),
        ("DELETED", MessageState.DELETED),
        ("ACCEPTD", MessageState.ACCEPTED),
        ("ENROUTE", MessageState.ENROUTE),
        ("UNKNOWN", MessageState.UNKNOWN),
        ("REJECTD", MessageState.REJECTED),
        ("BUFFRED", MessageState.ENROUTE),
        ("FAILED", MessageState.UNDELIVERABLE),
        ("WHATEVER", None),
        (None, None),
    ],
)
def test_stat_words(stat: str | None, state: MessageState | None) -> None:
    assert state_from_stat(stat) is state


@pytest.mark.parametrize(("value", "state"), [(2, MessageState.DELIVERED), (8, MessageState.REJECTED), (0, None),
                                              (9, None), (None, None)])  # fmt: skip
def test_message_state_tlv(value: int | None, state: MessageState | None) -> None:
    assert state_from_tlv(value) is state


@pytest.mark.parametrize(
    ("state", "verdict"),
    [
        (MessageState.DELIVERED, ReceiptVerdict(True, DeliveryStatus.DELIVERED, C.DELIVERED, MessageState.DELIVERED)),
        (MessageState.EXPIRED, ReceiptVerdict(True, FAILED, C.UNREACHABLE, MessageState.EXPIRED)),
        (MessageState.DELETED, ReceiptVerdict(True, FAILED, C.FAILED, MessageState.DELETED)),
        (MessageState.UNDELIVERABLE, ReceiptVerdict(True, FAILED, C.FAILED, MessageState.UNDELIVERABLE)),
        (MessageState.REJECTED, ReceiptVerdict(True, FAILED, C.FAILED, MessageState.REJECTED)),
        (MessageState.UNKNOWN, ReceiptVerdict(True, FAILED, C.UNKNOWN, MessageState.UNKNOWN)),
        (MessageState.ENROUTE, ReceiptVerdict(False, state=MessageState.ENROUTE)),
        (MessageState.ACCEPTED, ReceiptVerdict(False, state=MessageState.ACCEPTED)),
        (None, ReceiptVerdict(True, FAILED, C.UNKNOWN, None)),
    ],
)
def test_states_without_an_error(state: MessageState | None, verdict: ReceiptVerdict) -> None:
    assert receipt_verdict(state) == verdict


@pytest.mark.parametrize(
    ("error", "code"),
    [(1, C.NUMBER_DOES_NOT_EXIST), (6, C.UNREACHABLE), (13, C.BLOCKED_BY_CARRIER), (31, C.TEMPORARY_UNAVAILABILITY),
     (11, C.UNSUPPORTED_DESTINATION), (999, C.FAILED), (0, C.FAILED)],
)  # fmt: skip
def test_errors_refine_a_failure(error: int, code: DeliveryStatusCode) -> None:
    assert receipt_verdict(MessageState.UNDELIVERABLE, error) == ReceiptVerdict(
        True, FAILED, code, MessageState.UNDELIVERABLE
    )


def test_an_error_never_turns_a_delivery_into_a_failure() -> None:
    assert receipt_verdict(MessageState.DELIVERED, 1).code is C.DELIVERED


def test_a_connection_can_bring_its_own_error_table() -> None:
    verdict = receipt_verdict(MessageState.REJECTED, 42, error_codes={42: C.OPTED_OUT})
    assert (verdict.status, verdict.code) == (FAILED, C.OPTED_OUT)


def test_every_mapped_code_is_one_acs_knows() -> None:
    assert all(is_known(code) for code in GSM_MAP_ERROR_CODES.values())
    for state in MessageState:
        verdict = receipt_verdict(state)
        assert verdict.code is None or is_known(verdict.code)


@pytest.mark.parametrize(
    ("value", "error"), [(bytes((3, 0, 27)), 27), (bytes((3, 1, 0)), 256), (bytes((1, 0, 27)), None), (b"\x03", None)]
)
def test_network_error_code_tlv(value: bytes, error: int | None) -> None:
    assert network_error(value) == error


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (CommandStatus.ESME_ROK, SubmitVerdict(SubmitAction.ACCEPTED)),
        (CommandStatus.ESME_RTHROTTLED, SubmitVerdict(SubmitAction.BACK_OFF)),
        (CommandStatus.ESME_RMSGQFUL, SubmitVerdict(SubmitAction.BACK_OFF)),
        (CommandStatus.ESME_RINVBNDSTS, SubmitVerdict(SubmitAction.FAILOVER)),
        (CommandStatus.ESME_RSYSERR, SubmitVerdict(SubmitAction.FAILOVER)),
        (CommandStatus.ESME_RINVDSTADR, SubmitVerdict(SubmitAction.REFUSED, C.INVALID_TO)),
        (CommandStatus.ESME_RINVDSTTON, SubmitVerdict(SubmitAction.REFUSED, C.INVALID_TO)),
        (CommandStatus.ESME_RINVSRCADR, SubmitVerdict(SubmitAction.REFUSED, C.INVALID_FROM)),
        (CommandStatus.ESME_RSUBMITFAIL, SubmitVerdict(SubmitAction.REFUSED, C.FAILED)),
        (CommandStatus.ESME_RINVMSGLEN, SubmitVerdict(SubmitAction.REFUSED, C.FAILED)),
        (CommandStatus.ESME_RUNKNOWNERR, SubmitVerdict(SubmitAction.REFUSED, C.UNKNOWN)),
        (0x400, SubmitVerdict(SubmitAction.REFUSED, C.FAILED)),  # vendor-specific range
    ],
)
def test_submit_responses(status: int, verdict: SubmitVerdict) -> None:
    assert submit_verdict(status) == verdict


@pytest.mark.parametrize(
    ("text", "status"),
    [("ESME_RINVCMDID (0x00000003)", 3), ("ESME_RSYSERR (0x00000008)", 8), ("bind timed out", None)],
)
def test_status_from_error_text(text: str, status: int | None) -> None:
    assert status_from_error_text(text) == status


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (None, SubmitVerdict(SubmitAction.UNKNOWN)),  # no status: nothing says the SMSC did not take it
        (CommandStatus.ESME_RSYSERR, SubmitVerdict(SubmitAction.UNKNOWN)),  # timeout or lost connection
        (CommandStatus.ESME_ROK, SubmitVerdict(SubmitAction.UNKNOWN)),
        (CommandStatus.ESME_RINVCMDID, SubmitVerdict(SubmitAction.REFUSED, C.FAILED)),  # a generic_nack
        (CommandStatus.ESME_RTHROTTLED, SubmitVerdict(SubmitAction.BACK_OFF)),
    ],
)
def test_a_raised_submit_is_unknown_unless_a_nack_says_otherwise(status: int | None, verdict: SubmitVerdict) -> None:
    assert raised_submit_verdict(status) == verdict
