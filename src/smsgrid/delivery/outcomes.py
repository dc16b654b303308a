"""What one delivery attempt came to, in Event Grid's own words.

``DeliveryOutcome`` holds the values Event Grid writes as ``lastDeliveryOutcome`` on a dead-lettered event
(delivery-and-retry, "Delivery event formats"); ``DeadLetterReason`` the values of ``deadLetterReason``.
``classify`` maps an HTTP answer (or the lack of one) onto an outcome; the retry decision itself lives in
:mod:`smsgrid.delivery.retry`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

TransportError = Literal["timeout", "connect", "socket"]


class DeliveryOutcome(StrEnum):
    """Event Grid's ``lastDeliveryOutcome`` values."""

    SUCCEEDED = "Succeeded"
    BUSY = "Busy"
    TIMED_OUT = "TimedOut"
    NOT_FOUND = "NotFound"
    UNAUTHORIZED = "Unauthorized"
    FORBIDDEN = "Forbidden"
    BAD_REQUEST = "BadRequest"
    PAYLOAD_TOO_LARGE = "PayloadTooLarge"
    SOCKET_ERROR = "SocketError"
    ABORTED = "Aborted"
    GENERIC_ERROR = "GenericError"
    # Not an answer from the endpoint: the attempt was skipped because the endpoint is on probation
    # (delivery-and-retry, "Delayed delivery").
    PROBATION = "Probation"


class DeadLetterReason(StrEnum):
    """Event Grid's ``deadLetterReason`` values.

    ``MaxDeliveryAttemptsExceeded`` and ``TimeToLiveExceeded`` are in delivery-and-retry and SPEC §3.
    ``UndeliverableDueToHttpBadRequest`` is what Azure writes after a 400 (seen in real dead-letter blobs,
    next to ``lastDeliveryOutcome: BadRequest``); ``UndeliverableDueToProbationCausedByClientError`` likewise
    (azure-sdk-for-net issue 26198). Microsoft documents no name for 401, 403 and 413; the three below follow
    the 400 one's pattern, ``UndeliverableDueToHttp`` + .NET's ``HttpStatusCode`` name.
    """

    MAX_DELIVERY_ATTEMPTS_EXCEEDED = "MaxDeliveryAttemptsExceeded"
    TIME_TO_LIVE_EXCEEDED = "TimeToLiveExceeded"
    HTTP_BAD_REQUEST = "UndeliverableDueToHttpBadRequest"
    HTTP_UNAUTHORIZED = "UndeliverableDueToHttpUnauthorized"
    HTTP_FORBIDDEN = "UndeliverableDueToHttpForbidden"
    HTTP_REQUEST_ENTITY_TOO_LARGE = "UndeliverableDueToHttpRequestEntityTooLarge"
    PROBATION_CAUSED_BY_CLIENT_ERROR = "UndeliverableDueToProbationCausedByClientError"


_OUTCOME_BY_STATUS: dict[int, DeliveryOutcome] = {
    400: DeliveryOutcome.BAD_REQUEST,
    401: DeliveryOutcome.UNAUTHORIZED,
    403: DeliveryOutcome.FORBIDDEN,
    404: DeliveryOutcome.NOT_FOUND,
    # A 408 is the endpoint saying it timed out; Event Grid reports it as TimedOut (a dead-letter blob after
    # repeated 408s carries lastDeliveryOutcome TimedOut, lastHttpStatusCode 408).
    408: DeliveryOutcome.TIMED_OUT,
    413: DeliveryOutcome.PAYLOAD_TOO_LARGE,
    # 429 is "too busy" by another name; like 503 it asks the sender to come back later.
    429: DeliveryOutcome.BUSY,
    503: DeliveryOutcome.BUSY,
}


def is_success(status: int | None) -> bool:
    """Only 200-204 acknowledge a delivery (delivery-and-retry, "Success codes"); a 3xx is not followed."""
    return status is not None and 200 <= status <= 204


def classify(status: int | None, error: TransportError | None) -> DeliveryOutcome:
    """The outcome of one attempt: the HTTP *status* received, or the transport *error* that prevented one.

    A timeout wins over any status: Event Grid waits 30 s for an answer and counts a late one as TimedOut.
    """
    if error == "timeout":
        return DeliveryOutcome.TIMED_OUT
    if error in ("connect", "socket"):
        return DeliveryOutcome.SOCKET_ERROR
    if status is None:
        return DeliveryOutcome.GENERIC_ERROR
    if is_success(status):
        return DeliveryOutcome.SUCCEEDED
    return _OUTCOME_BY_STATUS.get(status, DeliveryOutcome.GENERIC_ERROR)
