"""ACS HMAC-SHA256 request authentication (SPEC §2), as pure functions.

The official SDK signs `VERB\\npath_and_query\\nx-ms-date;host;content_hash` with the base64-decoded access key
(azure-communication-sms `_shared/policy.py`). We verify the same string, compare in constant time, and refuse
dates far from now so a captured request cannot be replayed later.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

# Azure's own services accept about 15 minutes of skew either way (Azure Storage, ACS); so do we.
CLOCK_SKEW_SECONDS = 15 * 60
SIGNED_HEADERS = "x-ms-date;host;x-ms-content-sha256"


@dataclass(frozen=True, slots=True)
class HmacFailure:
    """Why a request was refused; the text goes back in the 401 body."""

    reason: str


def content_hash(body: bytes) -> str:
    return base64.b64encode(hashlib.sha256(body).digest()).decode()


def string_to_sign(verb: str, path_and_query: str, date: str, host: str, body_hash: str) -> str:
    return f"{verb.upper()}\n{path_and_query}\n{date};{host};{body_hash}"


def sign(key: bytes, text: str) -> str:
    return base64.b64encode(hmac.new(key, text.encode(), hashlib.sha256).digest()).decode()


def authorization_header(
    key: bytes, verb: str, path_and_query: str, date: str, host: str, body: bytes
) -> dict[str, str]:
    """The headers the SDK would send; used by our own clients, tests and benchmarks."""
    body_hash = content_hash(body)
    signature = sign(key, string_to_sign(verb, path_and_query, date, host, body_hash))
    return {
        "x-ms-date": date,
        "x-ms-content-sha256": body_hash,
        "Authorization": f"HMAC-SHA256 SignedHeaders={SIGNED_HEADERS}&Signature={signature}",
    }


def _parse_authorization(value: str) -> tuple[str, str] | None:
    scheme, _, params = value.partition(" ")
    if scheme != "HMAC-SHA256":
        return None
    fields: dict[str, str] = {}
    for part in params.strip().split("&"):
        name, sep, val = part.partition("=")
        if sep:
            fields[name] = val
    if "SignedHeaders" not in fields or "Signature" not in fields:
        return None
    return fields["SignedHeaders"], fields["Signature"]


def verify(
    *,
    key: bytes,
    verb: str,
    path_and_query: str,
    headers: Mapping[str, str],
    body: bytes,
    now: float,
) -> HmacFailure | None:
    """None when the request is signed by `key`; otherwise why not. `headers` has lower-case names."""
    auth = headers.get("authorization")
    if not auth:
        return HmacFailure("Missing Authorization header; sign requests with the resource's access key.")
    parsed = _parse_authorization(auth)
    if parsed is None:
        return HmacFailure("Authorization must be 'HMAC-SHA256 SignedHeaders=...&Signature=...'.")
    signed_headers, signature = parsed
    if signed_headers.lower() != SIGNED_HEADERS:
        return HmacFailure(f"SignedHeaders must be '{SIGNED_HEADERS}'.")
    date = headers.get("x-ms-date") or headers.get("date")
    if not date:
        return HmacFailure("Missing x-ms-date header.")
    try:
        sent_at = parsedate_to_datetime(date).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return HmacFailure("x-ms-date is not an RFC 1123 date.")
    if abs(now - sent_at) > CLOCK_SKEW_SECONDS:
        return HmacFailure("x-ms-date is more than 15 minutes from the server's time; check the client's clock.")
    claimed_hash = headers.get("x-ms-content-sha256", "")
    actual_hash = content_hash(body)
    if not hmac.compare_digest(claimed_hash.encode(), actual_hash.encode()):
        return HmacFailure("x-ms-content-sha256 does not match the body.")
    host = headers.get("host", "")
    given = signature.encode()
    # The SDK signs the host of the endpoint it was given; some callers keep a trailing slash there.
    for candidate_host in (host, host + "/"):
        expected = sign(key, string_to_sign(verb, path_and_query, date, candidate_host, actual_hash))
        if hmac.compare_digest(given, expected.encode()):
            return None
    return HmacFailure("The request signature is not valid for this resource's access key.")
