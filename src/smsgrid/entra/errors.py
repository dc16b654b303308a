"""Errors of the token and discovery endpoints in Entra's shape: an OAuth 2.0 `error` (RFC 6749 §5.2) plus
Entra's `error_description` starting with the AADSTS code, `error_codes`, `timestamp`, `trace_id` and
`correlation_id` (the client's `client-request-id` when it sent one, as Entra echoes it)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any


class AadstsError(Exception):
    """An answer of the token or discovery endpoint that is not a success."""

    def __init__(self, status: int, error: str, code: int, message: str) -> None:
        super().__init__(f"AADSTS{code}: {message}")
        self.status = status
        self.error = error
        self.code = code
        self.message = message

    def body(self, *, correlation_id: str | None, now: datetime | None = None) -> dict[str, Any]:
        moment = (now or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M:%SZ")
        trace_id = str(uuid.uuid4())
        correlation = correlation_id or str(uuid.uuid4())
        return {
            "error": self.error,
            "error_description": (
                f"AADSTS{self.code}: {self.message} Trace ID: {trace_id} Correlation ID: {correlation} "
                f"Timestamp: {moment}"
            ),
            "error_codes": [self.code],
            "timestamp": moment,
            "trace_id": trace_id,
            "correlation_id": correlation,
        }


def tenant_not_found(tenant: str, error: str = "invalid_request") -> AadstsError:
    return AadstsError(
        400,
        error,
        90002,
        f"Tenant '{tenant}' not found. This smsgrid's tenant is set by [entra] tenant_id (docs/entra.md).",
    )


def missing_parameter(name: str) -> AadstsError:
    return AadstsError(
        400, "invalid_request", 900144, f"The request body must contain the following parameter: '{name}'."
    )
