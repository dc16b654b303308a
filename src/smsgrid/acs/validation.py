"""Pure parsing of data-plane requests, driven by the version table (`versions.py`); no I/O.

Request-level problems raise RequestError (400, Azure's `{"error":{"code","message"}}`); a bad recipient number
or a repeatability id without a readable first-sent time is not request-level: that recipient alone fails inside
the 202 (azure-rest-api-specs, Sms 2026-01-23 examples/SmsSend.json).

Only null or absent mean "not given": `[]`, `0`, `""` or `false` where an object, id or string belongs are a
client bug, and taking them as "nothing" would silently drop what the client meant.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime
from typing import Any

import orjson

from smsgrid.acs.models import (
    INT32_MAX,
    VERSIONED_OPTIONS,
    Attachment,
    ConnectShape,
    IntRange,
    MessagingConnect,
    MmsShape,
    OptOutRequest,
    Recipient,
    SendOptionsShape,
    SendRequest,
    SendShape,
)
from smsgrid.acs.versions import LATEST, VERSIONS, ApiVersion, Operation, Route, versions_with
from smsgrid.errors import InvalidPhoneNumberError, RequestError
from smsgrid.sms import parse_e164

# The per-recipient text Azure answers for a repeatable recipient without a valid first-sent time
# (azure-rest-api-specs, Sms 2025-05-29-preview .. 2026-01-23 examples/SmsSend.json, spelled as there).
INVALID_FIRST_SENT = (
    "Request sent with Invalid DateTime value for repeatability-first-sent. Expected is DateTime ,RFC1123 pattern."
)


def bad_request(message: str, code: str = "BadRequest") -> RequestError:
    return RequestError(400, code, message)


def resolve_version(version: str | None, operation: Operation, uri: str) -> ApiVersion:
    """The table entry for `version`, if it defines `operation`; else Azure's 400.

    Missing → 400 MissingApiVersionParameter; unknown, or published without this operation → 400
    UnsupportedApiVersion (Azure REST API guidelines, microsoft/api-guidelines azure/Guidelines.md "api-version").
    The message is ASP.NET API Versioning's, which answers 400 — not 404 — when the path exists in some version
    but not in the one asked for (dotnet/aspnet-api-versioning issues #20, #105: "if at least one route could
    match, return 400 and indicate the API version is not supported"); with query-string versioning every ACS path
    is such a path.
    """
    supported = versions_with(operation)
    if version is None or version == "":
        raise bad_request(
            f"The api-version query parameter (?api-version=) is required for all requests. "
            f"Supported versions for this operation: {', '.join(supported)}.",
            "MissingApiVersionParameter",
        )
    entry = VERSIONS.get(version)
    if entry is None or operation not in entry.operations:
        raise bad_request(
            f"The HTTP resource that matches the request URI '{uri}' does not support the API version '{version}'. "
            f"Supported versions for this operation: {', '.join(supported)} (latest {LATEST}).",
            "UnsupportedApiVersion",
        )
    return entry


def resolve_route(version: str | None, route: Route, uri: str) -> ApiVersion:
    """`resolve_version` for a route; a path spelled so only in some versions (the opt-out paths with a slash of
    2024-12-10-preview) is a 404 on the others, as a path their service does not have."""
    entry = resolve_version(version, route.operation, uri)
    if route.only_versions is not None and entry.name not in route.only_versions:
        raise RequestError(
            404,
            "NotFound",
            f"{route.method} {route.path} is spelled so only in api-version {', '.join(sorted(route.only_versions))}; "
            f"api-version {entry.name} has {route.operation} at another path (docs/api-versions.md).",
        )
    return entry


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


def _sender(raw: dict[str, Any]) -> str:
    """Any sender text ACS knows (a number, a short code, an alphanumeric sender ID): whether the resource may
    send from it is Messaging.check_sender's answer, not a body-format error."""
    return _string(raw, "from")


def _message(raw: dict[str, Any], limit: int, *, required: bool = True) -> str:
    message = raw.get("message")
    if message is None and not required:
        return ""
    if not isinstance(message, str):
        raise bad_request("The field 'message' is required and must be a string.")
    # minLength 0 in every version's swagger: an empty message is valid; only the maximum is a limit.
    if len(message) > limit:
        raise bad_request(
            f"The message has {len(message)} characters; at most {limit} are allowed. "
            "Shorten it or send it as several messages.",
            "MessageTooLong",
        )
    return message


_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_RFC1123 = re.compile(
    r"(?P<wd>[A-Z][a-z]{2}), (?P<d>\d{2}) (?P<mon>[A-Z][a-z]{2}) (?P<y>\d{4}) "
    r"(?P<h>\d{2}):(?P<mi>\d{2}):(?P<s>\d{2}) GMT"
)


def parse_rfc1123(text: object) -> datetime | None:
    """`Tue, 26 Mar 2019 16:06:51 GMT` (.NET's "r" pattern: the weekday must match the date), else None."""
    if not isinstance(text, str):
        return None
    match = _RFC1123.fullmatch(text)
    if match is None or match["mon"] not in _MONTHS or match["wd"] not in _WEEKDAYS:
        return None
    try:
        moment = datetime(int(match["y"]), _MONTHS.index(match["mon"]) + 1, int(match["d"]),
                          int(match["h"]), int(match["mi"]), int(match["s"]), tzinfo=UTC)  # fmt: skip
    except ValueError:
        return None
    return moment if _WEEKDAYS[moment.weekday()] == match["wd"] else None


def _recipients(items: object, key: str, low: int, high: int) -> tuple[Recipient, ...]:
    if not isinstance(items, list) or not items:
        raise bad_request(f"The field '{key}' must be a list of {low} to {high} recipients.")
    if len(items) > high:
        raise bad_request(f"Too many recipients: {len(items)}; at most {high} per request.", "TooManyRecipients")
    recipients = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise bad_request(f"{key}[{i}] must be an object with a 'to' number.")
        to = _string(item, "to", f"{key}[{i}].")
        request_id = item.get("repeatabilityRequestId")
        # An empty id is not "no id": the SDK sends a UUID, and "" would silently lose the repeatability asked for.
        if request_id is not None and (not isinstance(request_id, str) or not request_id):
            raise bad_request(f"{key}[{i}].repeatabilityRequestId must be a non-empty string (a UUID).")
        problem = None
        if request_id is not None and parse_rfc1123(item.get("repeatabilityFirstSent")) is None:
            problem = INVALID_FIRST_SENT
        try:
            number: str | None = parse_e164(to)
        except InvalidPhoneNumberError:
            number = None
        recipients.append(Recipient(to, number, request_id, problem))
    return tuple(recipients)


def _options_object(raw: dict[str, Any], key: str) -> dict[str, Any]:
    options = raw.get(key)
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise bad_request(f"The field '{key}' must be an object (or null), e.g. {{\"enableDeliveryReport\": true}}.")
    return options


def _int_option(options: dict[str, Any], name: str, shape_range: IntRange, version: str) -> int | None:
    value = options.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not -INT32_MAX - 1 <= value <= INT32_MAX:
        raise bad_request(f"smsSendOptions.{name} must be a whole number of seconds (int32).")
    if not shape_range.contains(value):
        raise bad_request(
            f"smsSendOptions.{name} is {value}; in api-version {version} it must be {shape_range.describe()}.",
            "InvalidRequestBody",
        )
    return int(value)


def _messaging_connect(value: object, shape: ConnectShape, version: str) -> MessagingConnect:
    where = "smsSendOptions.messagingConnect"
    if not isinstance(value, dict):
        raise bad_request(f"{where} must be an object.")
    partner = value.get("partner")
    if not isinstance(partner, str) or not partner:
        raise bad_request(f"{where}.partner is required and must be a non-empty string.")
    if shape is ConnectShape.API_KEY:
        # 2025-05-29-preview .. 2025-09-17: {apiKey, partner}, both required.
        api_key = value.get("apiKey")
        if not isinstance(api_key, str) or not api_key:
            raise bad_request(
                f"{where}.apiKey is required and must be a non-empty string in api-version {version} "
                "({apiKey, partner}).",
            )
        return MessagingConnect(partner, (("apiKey", api_key),))
    # 2026-01-23: {partner, partnerParams: {… minProperties 1}}.
    params = value.get("partnerParams")
    if not isinstance(params, dict) or not params:
        raise bad_request(
            f"{where}.partnerParams is required in api-version {version}: an object with at least one "
            'partner parameter, e.g. {"apiKey": "…"}.',
        )
    pairs = []
    for key, item in params.items():
        if not isinstance(item, str):
            raise bad_request(f"{where}.partnerParams.{key} must be a string.")
        pairs.append((key, item))
    return MessagingConnect(partner, tuple(pairs))


def _send_options(options: dict[str, Any], shape: SendOptionsShape, version: str) -> dict[str, Any]:
    defined = shape.field_names()
    for name in VERSIONED_OPTIONS:
        if name in options and name not in defined:
            having = [v for v, entry in sorted(VERSIONS.items()) if name in entry.send.options.field_names()]
            raise bad_request(
                f"smsSendOptions.{name} is not part of api-version {version}; it exists in {', '.join(having)}.",
                "InvalidRequestBody",
            )
    report = options.get("enableDeliveryReport", False)
    if not isinstance(report, bool):
        raise bad_request("smsSendOptions.enableDeliveryReport must be true or false.")
    tag = options.get("tag")
    if tag is not None and not isinstance(tag, str):
        raise bad_request("smsSendOptions.tag must be a string.")
    timeout = None
    if shape.validity_period is not None:
        timeout = _int_option(options, "validityPeriodSeconds", shape.validity_period, version)
        if timeout is None:
            timeout = shape.validity_period_default
    if shape.report_timeout is not None:
        timeout = _int_option(options, "deliveryReportTimeoutInSeconds", shape.report_timeout, version)
    connect = None
    if shape.messaging_connect is not None and options.get("messagingConnect") is not None:
        connect = _messaging_connect(options["messagingConnect"], shape.messaging_connect, version)
    return {"enable_delivery_report": report, "tag": tag, "report_timeout_seconds": timeout,
            "messaging_connect": connect}  # fmt: skip


def parse_send(body: bytes, shape: SendShape, version: str) -> SendRequest:
    raw = load_json_object(body)
    from_number = _sender(raw)
    message = _message(raw, shape.max_message_chars)
    recipients = _recipients(raw.get("smsRecipients"), "smsRecipients", shape.min_recipients, shape.max_recipients)
    options = _send_options(_options_object(raw, "smsSendOptions"), shape.options, version)
    return SendRequest(from_number, message, recipients, api_version=version, **options)


def parse_optouts(body: bytes) -> OptOutRequest:
    """`{from, recipients:[{to}] 1..100}` — the same in every version that has opt-outs."""
    raw = load_json_object(body)
    sender = _sender(raw)
    recipients = raw.get("recipients")
    if not isinstance(recipients, list) or not 1 <= len(recipients) <= 100:
        raise bad_request('The field \'recipients\' must be a list of 1 to 100 objects like {"to": "+1..."}.')
    tos = []
    for i, item in enumerate(recipients):
        if not isinstance(item, dict) or not isinstance(item.get("to"), str) or not item["to"]:
            raise bad_request(f"recipients[{i}] must be an object with a non-empty 'to' string.")
        tos.append(item["to"])
    return OptOutRequest(sender, tuple(tos))


def parse_mms(body: bytes, shape: MmsShape, version: str) -> SendRequest:
    """`POST /mms` of 2024-01-14-preview: recipients, optional message ≤ 1000, 1-10 base64 attachments."""
    raw = load_json_object(body)
    sender = _sender(raw)
    message = _message(raw, shape.max_message_chars, required=False)
    recipients = _recipients(raw.get("recipients"), "recipients", 1, shape.max_recipients)
    items = raw.get("attachments")
    if not isinstance(items, list) or not shape.min_attachments <= len(items) <= shape.max_attachments:
        raise bad_request(
            f"The field 'attachments' must be a list of {shape.min_attachments} to {shape.max_attachments} "
            '{"mimeType", "content"} objects.'
        )
    attachments = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise bad_request(f"attachments[{i}] must be an object with 'mimeType' and 'content'.")
        mime = _string(item, "mimeType", f"attachments[{i}].")
        content = _string(item, "content", f"attachments[{i}].")
        try:
            data = base64.b64decode(content, validate=True)
        except (binascii.Error, ValueError):
            raise bad_request(f"attachments[{i}].content must be base64.") from None
        attachments.append(Attachment(mime, data))
    options = _options_object(raw, "sendOptions")
    report = options.get("enableDeliveryReport", False)
    if not isinstance(report, bool):
        raise bad_request("sendOptions.enableDeliveryReport must be true or false.")
    tag = options.get("tag")
    if tag is not None and not isinstance(tag, str):
        raise bad_request("sendOptions.tag must be a string.")
    return SendRequest(sender, message, recipients, report, tag, api_version=version, attachments=tuple(attachments))
