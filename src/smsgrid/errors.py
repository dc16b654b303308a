"""Every error smsgrid raises on purpose derives from :class:`SmsgridError`.

The tree::

    SmsgridError
    ├── ProblemsError                 many problems found at once, each with a path and a reason
    │   ├── EventParseError           a delivery body that is not valid Event Grid / CloudEvents
    │   ├── SubscriptionSpecError     an event-subscription body that breaks Event Grid's rules
    │   └── ConfigError               a configuration file that cannot be used
    ├── InvalidPhoneNumberError       not an E.164 number ACS would accept
    ├── AuthenticationError           HMAC / bearer / SAS check failed (HTTP 401)
    ├── RequestError                  an HTTP-layer error with its status and Azure error code (HTTP 4xx)
    ├── DomainError                   a domain rule refused the operation; no HTTP status (the API maps it)
    │   ├── InvalidRequest            the input breaks a rule (code: Azure's error code, e.g. InvalidToNumber)
    │   ├── NotFound                  what it names does not exist
    │   ├── Conflict                  it contradicts what exists
    │   ├── Throttled                 over a rate limit; retry after `retry_after` seconds
    │   └── Unauthorized              the caller may not use what it named (a sender the resource does not own)
    └── StoreError                    the store failed
        └── StoreUnavailableError     the store cannot commit right now (HTTP 503); retry later

Messages say what to change, not only what went wrong.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


class SmsgridError(Exception):
    """Root of every error smsgrid raises on purpose."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input: where (a JSON-path-like string) and why."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}" if self.path else self.reason


class ProblemsError(SmsgridError):
    """All problems found in one input, collected and raised once."""

    def __init__(self, what: str, problems: list[Problem]) -> None:
        self.problems = tuple(problems)
        lines = "; ".join(str(p) for p in problems)
        super().__init__(f"{what}: {lines}" if lines else what)


class EventParseError(ProblemsError):
    """The bytes are not a valid Event Grid array, CloudEvent or CloudEvents batch."""


class SubscriptionSpecError(ProblemsError):
    """An event-subscription body breaks one or more of Event Grid's rules."""


class ConfigError(ProblemsError):
    """The configuration (TOML file, options, environment) cannot be used."""


class InvalidPhoneNumberError(SmsgridError):
    """Not a phone number in E.164 form (`+` and 8-15 digits) that ACS would accept."""


class AuthenticationError(SmsgridError):
    """The request did not prove it holds the access key."""


class RequestError(SmsgridError):
    """A request-level error answered as ``{"error":{"code","message"}}``."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers  # e.g. Retry-After on a 429
        super().__init__(f"{status} {code}: {message}")


class DomainError(SmsgridError):
    """A domain rule refused the operation. Carries Azure's error code and a message, never an HTTP status:
    `smsgrid.api.errors` maps each kind to its status and body, once, for the API and the web UI."""

    code = "BadRequest"

    def __init__(self, message: str, code: str | None = None) -> None:
        self.message = message
        if code is not None:
            self.code = code
        super().__init__(f"{self.code}: {message}")


class InvalidRequest(DomainError):
    """The input breaks a rule."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code)


class NotFound(DomainError):
    code = "NotFound"


class Conflict(DomainError):
    code = "Conflict"


def whole_seconds(seconds: float) -> int:
    """A wait as Retry-After gives it (whole seconds, RFC 9110 §10.2.3): rounded up, never 0."""
    return max(1, math.ceil(round(seconds, 3)))


class Throttled(DomainError):
    """Over a rate limit: may be retried after `retry_after` seconds."""

    code = "TooManyRequests"

    def __init__(self, message: str, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class Unauthorized(DomainError):
    """The caller may not use what it named; `message` says why (ACS itself answers with no message)."""

    code = "Unauthorized"


class StoreError(SmsgridError):
    """The store failed."""


class StoreUnavailableError(StoreError):
    """The store cannot commit right now (disk full, read-only, database down); nothing was written."""
