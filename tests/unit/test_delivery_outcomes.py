"""lastDeliveryOutcome classification (delivery-and-retry, "Message delivery status")."""

from __future__ import annotations

import pytest

from smsgrid.delivery.outcomes import DeadLetterReason, DeliveryOutcome, TransportError, classify, is_success


@pytest.mark.parametrize("status", [200, 201, 202, 203, 204])
def test_only_200_to_204_succeed(status: int) -> None:
    assert is_success(status)
    assert classify(status, None) is DeliveryOutcome.SUCCEEDED


@pytest.mark.parametrize("status", [None, 100, 199, 205, 206, 226, 301, 302, 304, 307, 500, 599])
def test_everything_else_fails(status: int | None) -> None:
    assert not is_success(status)
    assert classify(status, None) is not DeliveryOutcome.SUCCEEDED


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (400, DeliveryOutcome.BAD_REQUEST),
        (401, DeliveryOutcome.UNAUTHORIZED),
        (403, DeliveryOutcome.FORBIDDEN),
        (404, DeliveryOutcome.NOT_FOUND),
        (408, DeliveryOutcome.TIMED_OUT),
        (413, DeliveryOutcome.PAYLOAD_TOO_LARGE),
        (429, DeliveryOutcome.BUSY),
        (503, DeliveryOutcome.BUSY),
        (500, DeliveryOutcome.GENERIC_ERROR),
        (502, DeliveryOutcome.GENERIC_ERROR),
        (409, DeliveryOutcome.GENERIC_ERROR),
        (302, DeliveryOutcome.GENERIC_ERROR),
        (205, DeliveryOutcome.GENERIC_ERROR),
    ],
)
def test_status_outcomes(status: int, outcome: DeliveryOutcome) -> None:
    assert classify(status, None) is outcome


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        ("timeout", DeliveryOutcome.TIMED_OUT),
        ("connect", DeliveryOutcome.SOCKET_ERROR),
        ("socket", DeliveryOutcome.SOCKET_ERROR),
    ],
)
@pytest.mark.parametrize("status", [None, 200, 503])
def test_transport_errors_win_over_any_status(
    error: TransportError, outcome: DeliveryOutcome, status: int | None
) -> None:
    assert classify(status, error) is outcome


def test_no_status_and_no_error_is_a_generic_error() -> None:
    assert classify(None, None) is DeliveryOutcome.GENERIC_ERROR


def test_azure_spellings() -> None:
    assert [o.value for o in DeliveryOutcome] == [
        "Succeeded",
        "Busy",
        "TimedOut",
        "NotFound",
        "Unauthorized",
        "Forbidden",
        "BadRequest",
        "PayloadTooLarge",
        "SocketError",
        "Aborted",
        "GenericError",
        "Probation",
    ]
    assert DeadLetterReason.HTTP_BAD_REQUEST.value == "UndeliverableDueToHttpBadRequest"
    assert DeadLetterReason.MAX_DELIVERY_ATTEMPTS_EXCEEDED.value == "MaxDeliveryAttemptsExceeded"
    assert DeadLetterReason.TIME_TO_LIVE_EXCEEDED.value == "TimeToLiveExceeded"
