"""What goes on the wire for one delivery request: body and headers, as a pure function (SPEC §3).

Event Grid schema: a JSON array, `application/json`. CloudEvents: one object (`application/cloudevents+json`)
when the subscription delivers one event per request, else an array (`application/cloudevents-batch+json`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from smsgrid.delivery.filters import resolve_field
from smsgrid.delivery.subscription_spec import (
    DynamicDeliveryAttribute,
    EventDeliverySchema,
    StandardWebhooksSigning,
    SubscriptionSpec,
    header_value_problem,
)
from smsgrid.events.render import event_grid_item_to_cloud_event

EVENT_GRID_CONTENT_TYPE = "application/json; charset=utf-8"
CLOUD_EVENT_CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"
CLOUD_EVENTS_BATCH_CONTENT_TYPE = "application/cloudevents-batch+json; charset=utf-8"


def build_body(spec: SubscriptionSpec, items: Sequence[bytes]) -> tuple[bytes, str]:
    """The request body from stored Event Grid items; no re-serialisation for the Event Grid schema."""
    if spec.event_delivery_schema is EventDeliverySchema.EVENT_GRID:
        return b"[" + b",".join(items) + b"]", EVENT_GRID_CONTENT_TYPE
    cloud = [event_grid_item_to_cloud_event(orjson.loads(item)) for item in items]
    if spec.destination.max_events_per_batch == 1 and len(cloud) == 1:
        return orjson.dumps(cloud[0]), CLOUD_EVENT_CONTENT_TYPE
    return orjson.dumps(cloud), CLOUD_EVENTS_BATCH_CONTENT_TYPE


def _attribute_value(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def build_headers(
    spec: SubscriptionSpec,
    *,
    first_item: Mapping[str, Any],
    delivery_count: int,
    content_type: str,
    origin: str,
    authorization: str | None = None,
) -> dict[str, str]:
    """`aeg-*` headers and the subscription's delivery attributes; dynamic ones read from the (first) event.

    `authorization`: the `Bearer …` value of an Entra-protected destination (entra/webhooks.py), sent on every
    request (secure-webhook-delivery); parsing refuses an `Authorization` delivery attribute beside it."""
    headers = {
        "Content-Type": content_type,
        "aeg-event-type": "Notification",
        "aeg-subscription-name": spec.name.upper(),
        "aeg-delivery-count": str(delivery_count),
        "aeg-metadata-version": str(first_item.get("metadataVersion", "1")),
        "aeg-data-version": str(first_item.get("dataVersion", "")),
        "aeg-output-event-id": str(first_item.get("id", "")),
    }
    if spec.event_delivery_schema is EventDeliverySchema.CLOUD_EVENTS_V1_0:
        headers["WebHook-Request-Origin"] = origin
    for mapping in spec.destination.delivery_attribute_mappings:
        if isinstance(mapping, DynamicDeliveryAttribute):
            found, value = resolve_field(first_item, mapping.source_field)
            text = _attribute_value(value) if found else None
            # A value the event's publisher chose but that cannot be a header (a control character, over 4 KB)
            # is left out, as a missing field is, and the event is still delivered and its attempt recorded
            # (docs/differences-from-azure.md); sending it would fail the request on every retry.
            if text is not None and header_value_problem(text) is None:
                headers[mapping.name] = text
        else:
            headers[mapping.name] = mapping.value
    if authorization is not None:
        headers["Authorization"] = authorization
    return headers


def standard_webhooks_message_id(subscription: str, event_seqs: Sequence[int]) -> str:
    """The `webhook-id` of one delivery request: the same when the same events are sent again to the same
    subscription (a retry), different for any other request, since receivers de-duplicate on it (Standard
    Webhooks, "webhook-id"). Neither the first event alone nor the count tells two batches apart."""
    digest = hashlib.sha256(f"{subscription}\n{','.join(map(str, sorted(event_seqs)))}".encode()).hexdigest()
    return f"msg_{digest[:32]}"


def standard_webhooks_headers(
    signing: StandardWebhooksSigning, *, message_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """Standard Webhooks: `v1,` + base64 HMAC-SHA256 over `{id}.{timestamp}.{body}` with the decoded secret."""
    secret = base64.b64decode(signing.secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + body
    signature = base64.b64encode(hmac.new(secret, signed, hashlib.sha256).digest()).decode()
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": f"v1,{signature}",
    }
