"""JSON responses in Azure's shapes; orjson because the send path serialises on every request."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from smsgrid.errors import RequestError

JSON = "application/json; charset=utf-8"
MAX_BODY_BYTES = 1024 * 1024


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type=JSON, headers=headers)


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    """Azure's error body: {"error": {"code", "message"}}."""
    return json_response({"error": {"code": code, "message": message}}, status, headers)


# The `type` Azure puts in its problem details: the RFC 9110 section of the status (azure-rest-api-specs,
# Sms 2026-01-23 DeliveryReportGet example, 404). Other statuses fall back to RFC 9457's "about:blank".
_PROBLEM_TYPES = {404: "https://tools.ietf.org/html/rfc9110#section-15.5.5"}


def problem_response(status: int, title: str, detail: str) -> Response:
    """RFC 9110 problem details, as the 2026-01-23 delivery-report API answers a miss."""
    body = {"type": _PROBLEM_TYPES.get(status, "about:blank"), "title": title, "status": status, "detail": detail}
    return Response(orjson.dumps(body), status_code=status, media_type="application/problem+json")


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The body, refusing more than `limit` bytes without reading them all (413)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise RequestError(400, "BadRequest", "Content-Length is not a number.") from None
        if size > limit:
            raise RequestError(413, "RequestEntityTooLarge", f"The body is {size} bytes; at most {limit} allowed.")
    chunks: list[bytes] = []
    total = 0
    try:
        async for chunk in request.stream():
            total += len(chunk)
            if total > limit:
                raise RequestError(413, "RequestEntityTooLarge", f"The body is over {limit} bytes; send less.")
            chunks.append(chunk)
    except ClientDisconnect:
        # The client left (or was closed after `[server] body_timeout_seconds`): nobody reads this answer.
        raise RequestError(408, "RequestTimeout", "The body did not arrive in time.") from None
    return b"".join(chunks)
