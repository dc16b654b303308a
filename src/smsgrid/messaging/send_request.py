"""Parse and check the body of `POST /sms` (SPEC §2) into plain values; no I/O.

Request-level problems (bad JSON, missing fields, limits) raise RequestError (400, Azure's error shape);
a bad recipient number is not request-level: it is reported inside the 202 for that recipient only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from smsgrid.errors import InvalidPhoneNumberError, RequestError
from smsgrid.sms import MAX_MESSAGE_CHARS, MAX_RECIPIENTS, check_message_length, parse_e164

# The stable ACS SMS data-plane versions, and the previews the SDKs shipped with (azure-rest-api-specs).
API_VERSIONS = frozenset({"2021-03-07", "2024-12-10-preview", "2025-05-29-preview", "2025-09-17", "2026-01-23"})
OPTOUT_API_VERSIONS = frozenset({"2025-09-17", "2026-01-23"})
DELIVERY_REPORT_API_VERSIONS = frozenset({"2026-01-23"})


@dataclass(frozen=True, slots=True)
class Recipient:
    to: str  # as given, echoed back
    number: str | None  # E.164, None when invalid
    repeatability_request_id: str | None


@dataclass(frozen=True, slots=True)
class SendRequest:
    from_number: str
    message: str
    recipients: tuple[Recipient, ...]
    enable_delivery_report: bool
    tag: str | None


def bad_request(message: str, code: str = "BadRequest") -> RequestError:
    return RequestError(400, code, message)


def check_api_version(version: str | None, allowed: frozenset[str] = API_VERSIONS) -> None:
    if version is None:
        raise bad_request("The api-version query parameter is required (e.g. api-version=2021-03-07).",
                          "MissingApiVersionParameter")  # fmt: skip
    if version not in allowed:
        known = ", ".join(sorted(allowed))
        raise bad_request(f"The api-version '{version}' is not supported here; use one of {known}.",
                          "UnsupportedApiVersion")  # fmt: skip


def load_json_object(body: bytes) -> dict[str, Any]:
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise bad_request(f"The request body is not valid JSON: {exc}.", "InvalidRequestBody") from None
    if not isinstance(value, dict):
        raise bad_request("The request body must be a JSON object.", "InvalidRequestBody")
    return value


def _string(obj: dict[str, Any], key: str, where: str = "") -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise bad_request(f"The field '{where}{key}' is required and must be a non-empty string.")
    return value


def parse_send_request(body: bytes) -> SendRequest:
    raw = load_json_object(body)
    # Any sender kind ACS knows (number, short code, alphanumeric ID); Messaging.check_sender answers 401.
    from_number = _string(raw, "from")
    message = raw.get("message")
    if not isinstance(message, str):
        raise bad_request("The field 'message' is required and must be a string.")
    too_long = check_message_length(message)
    if too_long is not None:
        raise bad_request(too_long, "MessageTooLong")
    items = raw.get("smsRecipients")
    if not isinstance(items, list) or not items:
        raise bad_request("The field 'smsRecipients' must be a list of 1 to 100 recipients.")
    if len(items) > MAX_RECIPIENTS:
        raise bad_request(f"Too many recipients: {len(items)}; at most {MAX_RECIPIENTS} per request.",
                          "TooManyRecipients")  # fmt: skip
    recipients = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise bad_request(f"smsRecipients[{i}] must be an object with a 'to' number.")
        to = _string(item, "to", f"smsRecipients[{i}].")
        request_id = item.get("repeatabilityRequestId")
        # An empty id is not "no id": the SDK sends a UUID, and a client sending "" would silently lose
        # the repeatability it asked for (SPEC §2). null stays "no id".
        if request_id is not None and (not isinstance(request_id, str) or not request_id):
            raise bad_request(f"smsRecipients[{i}].repeatabilityRequestId must be a non-empty string (a UUID).")
        try:
            number: str | None = parse_e164(to)
        except InvalidPhoneNumberError:
            number = None
        recipients.append(Recipient(to, number, request_id))
    # Only null or absent mean "no options": [], 0, "" or false are a client bug, not a request without them.
    options = raw.get("smsSendOptions")
    if options is None:
        options = {}
    elif not isinstance(options, dict):
        raise bad_request(
            "The field 'smsSendOptions' must be an object (or null), e.g. {\"enableDeliveryReport\": true}."
        )
    report = options.get("enableDeliveryReport", False)
    if not isinstance(report, bool):
        raise bad_request("smsSendOptions.enableDeliveryReport must be true or false.")
    tag = options.get("tag")
    if tag is not None and not isinstance(tag, str):
        raise bad_request("smsSendOptions.tag must be a string.")
    return SendRequest(from_number, message, tuple(recipients), report, tag)


__all__ = ["MAX_MESSAGE_CHARS", "Recipient", "SendRequest", "parse_send_request"]
