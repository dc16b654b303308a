"""What the UI's forms post, turned into the values the services take; no I/O.

Each parser raises `FormError` with one sentence per problem, shown above the form that was sent.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from smsgrid.acs.models import Recipient, SendRequest
from smsgrid.errors import InvalidPhoneNumberError
from smsgrid.sms import MAX_RECIPIENTS, check_message_length, parse_e164

# The two event types an ACS SMS resource publishes (SPEC §1); none ticked means all of them.
EVENT_TYPES = (
    "Microsoft.Communication.SMSReceived",
    "Microsoft.Communication.SMSDeliveryReportReceived",
)
SCHEMAS = ("EventGridSchema", "CloudEventSchemaV1_0")
# People type numbers with spaces, dashes, dots and brackets; the API itself takes strict E.164 only.
_NUMBER_DECORATION = re.compile(r"[\s\-().]")
_RECIPIENT_SEPARATORS = re.compile(r"[,;\n]+")


class FormError(Exception):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def phone_number(text: str, label: str) -> str:
    cleaned = _NUMBER_DECORATION.sub("", text or "")
    if cleaned and not cleaned.startswith("+"):
        cleaned = "+" + cleaned
    try:
        return parse_e164(cleaned)
    except InvalidPhoneNumberError:
        raise FormError([f"{label}: {text!r} is not a phone number; write it like +14255550123."]) from None


def number_from_path(text: str) -> str | None:
    """A number in a UI link, with or without its `+` (a `+` in a query string arrives as a space)."""
    try:
        return phone_number(text.strip(), "number")
    except FormError:
        return None


def send_request(fields: Mapping[str, str], from_number: str) -> SendRequest:
    """The compose form: recipients separated by commas or new lines, a message, report and tag options."""
    problems: list[str] = []
    recipients: list[Recipient] = []
    raw_to = [t.strip() for t in _RECIPIENT_SEPARATORS.split(fields.get("to", "")) if t.strip()]
    if not raw_to:
        problems.append("To: give at least one phone number, like +14255550123.")
    if len(raw_to) > MAX_RECIPIENTS:
        problems.append(f"To: at most {MAX_RECIPIENTS} recipients per message; this has {len(raw_to)}.")
    for text in raw_to[:MAX_RECIPIENTS]:
        try:
            number = phone_number(text, "To")
        except FormError as exc:
            problems.extend(exc.problems)
            continue
        recipients.append(Recipient(number, number, None))
    message = fields.get("message", "")
    if not message.strip():
        problems.append("Message: write something to send.")
    else:
        too_long = check_message_length(message)
        if too_long:
            problems.append(f"Message: {too_long}")
    tag = fields.get("tag", "").strip() or None
    if problems:
        raise FormError(problems)
    return SendRequest(
        from_number=from_number,
        message=message,
        recipients=tuple(recipients),
        enable_delivery_report=fields.get("delivery_report") == "on",
        tag=tag,
    )


def inbound_fields(fields: Mapping[str, str]) -> tuple[str, str]:
    """The "text this number" form: the handset's number and its message."""
    problems: list[str] = []
    sender = ""
    try:
        sender = phone_number(fields.get("from", ""), "From")
    except FormError as exc:
        problems.extend(exc.problems)
    message = fields.get("message", "")
    if not message.strip():
        problems.append("Message: write something to send.")
    if problems:
        raise FormError(problems)
    return sender, message


MAX_NUMBER_DIGITS = 9


def _int_field(fields: Mapping[str, list[str]], name: str, label: str, problems: list[str]) -> int | None:
    text = _first(fields, name).strip()
    if not text:
        return None
    # ASCII digits only ("²" and "٣" pass isdigit() but not int()), and few of them: no 5,000-digit int().
    if not (text.isascii() and text.isdigit()) or len(text) > MAX_NUMBER_DIGITS:
        problems.append(f"{label}: {text[:40]!r} is not a whole number.")
        return None
    return int(text)


def _first(fields: Mapping[str, list[str]], name: str) -> str:
    values = fields.get(name) or [""]
    return values[-1]


def subscription_properties(fields: Mapping[str, list[str]], stored: Mapping[str, Any] | None) -> dict[str, Any]:
    """The subscription form as an Event Grid `properties` body.

    On edit, `stored` is the subscription as the store keeps it (secrets included, never rendered): every
    property the form has no field for (advanced filters, delivery attributes, dead-letter destination,
    Standard Webhooks secret) is kept, and an empty endpoint URL keeps the current one, whose query may hold
    a secret and so is never put back into the page.
    """
    problems: list[str] = []
    props: dict[str, Any] = copy.deepcopy(dict(stored)) if stored else {}
    destination = props.setdefault("destination", {"endpointType": "WebHook", "properties": {}})
    dest_props = destination.setdefault("properties", {})
    url = _first(fields, "endpoint_url").strip()
    kind = destination.get("endpointType")
    if isinstance(kind, str) and kind.casefold() != "webhook":
        # The form edits webhooks only; a queue's or function's properties have no field here (docs/destinations.md).
        problems.append(f"This subscription delivers to a {kind}; change it through the admin API or the config file.")
    elif url:
        dest_props["endpointUrl"] = url
    elif not dest_props.get("endpointUrl"):
        problems.append("Endpoint URL: give the webhook's URL, like https://example.test/api/events.")
    batch = _int_field(fields, "max_events_per_batch", "Events per batch", problems)
    if batch is not None:
        dest_props["maxEventsPerBatch"] = batch
    schema = _first(fields, "schema") or SCHEMAS[0]
    if schema not in SCHEMAS:
        problems.append(f"Schema: choose one of {', '.join(SCHEMAS)}.")
    props["eventDeliverySchema"] = schema
    types = [t for t in fields.get("event_types", []) if t]
    unknown = [t for t in types if t not in EVENT_TYPES]
    if unknown:
        problems.append(f"Event types: {', '.join(unknown)} is not an SMS event type.")
    flt = props.setdefault("filter", {})
    flt["includedEventTypes"] = types or None
    flt["subjectBeginsWith"] = _first(fields, "subject_begins_with").strip() or None
    flt["subjectEndsWith"] = _first(fields, "subject_ends_with").strip() or None
    retry = props.setdefault("retryPolicy", {})
    attempts = _int_field(fields, "max_delivery_attempts", "Max delivery attempts", problems)
    if attempts is not None:
        retry["maxDeliveryAttempts"] = attempts
    ttl = _int_field(fields, "ttl_minutes", "Event time to live", problems)
    if ttl is not None:
        retry["eventTimeToLiveInMinutes"] = ttl
    if problems:
        raise FormError(problems)
    return props


def subscription_form_values(public: Mapping[str, Any] | None) -> dict[str, Any]:
    """Prefill the form from a subscription as `SubscriptionService.get` shows it (secrets already hidden)."""
    if public is None:
        return {
            "name": "",
            "endpoint_base_url": "",
            "schema": SCHEMAS[0],
            "event_types": [],
            "subject_begins_with": "",
            "subject_ends_with": "",
            "max_delivery_attempts": 30,
            "ttl_minutes": 1440,
            "max_events_per_batch": 1,
        }
    props = public["properties"]
    dest = props["destination"]["properties"]
    flt = props.get("filter") or {}
    retry = props.get("retryPolicy") or {}
    return {
        "name": public["name"],
        "endpoint_base_url": dest.get("endpointBaseUrl") or "",
        "schema": props.get("eventDeliverySchema") or SCHEMAS[0],
        "event_types": list(flt.get("includedEventTypes") or []),
        "subject_begins_with": flt.get("subjectBeginsWith") or "",
        "subject_ends_with": flt.get("subjectEndsWith") or "",
        "max_delivery_attempts": retry.get("maxDeliveryAttempts", 30),
        "ttl_minutes": retry.get("eventTimeToLiveInMinutes", 1440),
        "max_events_per_batch": dest.get("maxEventsPerBatch", 1),
    }


def values_from_post(fields: Mapping[str, list[str]], name: str) -> dict[str, Any]:
    """Echo what was posted back into the form after an error (the endpoint URL only as its base)."""
    return {
        "name": name,
        "endpoint_base_url": "",
        "schema": _first(fields, "schema") or SCHEMAS[0],
        "event_types": list(fields.get("event_types", [])),
        "subject_begins_with": _first(fields, "subject_begins_with"),
        "subject_ends_with": _first(fields, "subject_ends_with"),
        "max_delivery_attempts": _first(fields, "max_delivery_attempts"),
        "ttl_minutes": _first(fields, "ttl_minutes"),
        "max_events_per_batch": _first(fields, "max_events_per_batch"),
    }
