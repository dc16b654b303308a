"""The one mapping from domain errors to Azure's answers: status, `{"error": {"code", "message"}}`, headers.

Domain code (messaging, subscriptions) says what went wrong (`smsgrid.errors.DomainError`); only this module
knows which HTTP status and headers Azure answers for it. The API's exception handler and the web UI's forms
both use it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from smsgrid.errors import Conflict, DomainError, NotFound, Throttled, Unauthorized, whole_seconds

_STATUS: dict[type[DomainError], int] = {NotFound: 404, Conflict: 409, Throttled: 429, Unauthorized: 401}


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    status: int
    code: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)


def http_answer(exc: DomainError) -> HttpAnswer:
    status = next((s for kind, s in _STATUS.items() if isinstance(exc, kind)), 400)
    if isinstance(exc, Throttled):
        # ACS adds milliseconds to the whole seconds of Retry-After.
        headers = {
            "Retry-After": str(whole_seconds(exc.retry_after)),
            "retry-after-ms": str(max(1, round(exc.retry_after * 1000))),
        }
        return HttpAnswer(status, exc.code, exc.message, headers)
    if isinstance(exc, Unauthorized):
        # ACS answers a sender the resource may not use with 401 and an empty message (azure-sdk-for-python
        # recording test_send_sms_unauthorized_from_phone_number); the reason, which Azure does not give, goes in
        # a header (messaging words it in ASCII).
        return HttpAnswer(status, exc.code, "", {"x-smsgrid-reason": exc.message})
    return HttpAnswer(status, exc.code, exc.message)
