"""Endpoint validation before any delivery (SPEC §3): Event Grid's validation event, CloudEvents' OPTIONS.

The decisions (what an answer means) are pure functions; `run_handshake` only does the HTTP.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

import orjson

from smsgrid.delivery.registry import AWAITING_MANUAL_ACTION, FAILED, SUCCEEDED
from smsgrid.delivery.subscription_spec import EventDeliverySchema, SubscriptionSpec, WebhookDestination
from smsgrid.delivery.transport import HttpResult, Transport
from smsgrid.events.timestamps import Timestamp

VALIDATION_EVENT_TYPE = "Microsoft.EventGrid.SubscriptionValidationEvent"
# What Event Grid sends as WebHook-Request-Origin, so receivers written for Azure consent unchanged.
CLOUD_EVENTS_ORIGIN = "eventgrid.azure.net"
HANDSHAKE_TIMEOUT_SECONDS = 30.0


def validation_event(*, topic: str, code: str, validation_url: str, now: float) -> bytes:
    return orjson.dumps(
        [
            {
                "id": str(uuid.uuid4()),
                "topic": topic,
                "subject": "",
                "data": {"validationCode": code, "validationUrl": validation_url},
                "eventType": VALIDATION_EVENT_TYPE,
                "eventTime": Timestamp.from_epoch_seconds(now).format(),
                "metadataVersion": "1",
                "dataVersion": "1",
            }
        ]
    )


def judge_validation_answer(result: HttpResult, code: str) -> tuple[str, str | None]:
    """(provisioningState, why-not) for the answer to the validation event."""
    if result.status is None:
        return FAILED, f"The endpoint could not be reached ({result.error}: {result.error_text})."
    if result.status != 200:
        return FAILED, f"The endpoint answered the validation event with HTTP {result.status}; expected 200."
    try:
        body = orjson.loads(result.body) if result.body else None
    except orjson.JSONDecodeError:
        body = None
    if isinstance(body, dict) and body.get("validationResponse") == code:
        return SUCCEEDED, None
    if isinstance(body, dict) and "validationResponse" in body:
        return FAILED, "validationResponse does not equal the validationCode that was sent."
    return AWAITING_MANUAL_ACTION, "Open the validationUrl (GET) within 10 minutes to finish validation."


def judge_options_answer(result: HttpResult, origin: str) -> tuple[str, str | None]:
    """CloudEvents abuse protection: consent is the WebHook-Allowed-Origin header, not the status code."""
    if result.status is None:
        return FAILED, f"The endpoint could not be reached ({result.error}: {result.error_text})."
    headers: Mapping[str, str] = {k.lower(): v for k, v in (result.headers or {}).items()}
    allowed = headers.get("webhook-allowed-origin", "").strip()
    if allowed in (origin, "*"):
        return SUCCEEDED, None
    return FAILED, f"The OPTIONS answer did not carry WebHook-Allowed-Origin: {origin} (or *)."


async def run_handshake(
    transport: Transport,
    spec: SubscriptionSpec,
    *,
    topic: str,
    code: str,
    validation_url: str,
    now: float,
    authorization: str | None = None,
) -> tuple[str, str | None]:
    """`authorization`: the Entra bearer of a protected destination; Event Grid presents it on the handshake too
    (secure-webhook-delivery), so a receiver that checks every request can answer the validation."""
    if not isinstance(spec.destination, WebhookDestination):
        # No handshake for queues and functions: Azure validates those destinations itself (Event Grid,
        # "Webhook event delivery": validation applies to webhooks only).
        return SUCCEEDED, None
    url = spec.destination.endpoint_url
    auth = {"Authorization": authorization} if authorization is not None else {}
    if spec.event_delivery_schema is EventDeliverySchema.CLOUD_EVENTS_V1_0:
        result = await transport.request(
            "OPTIONS",
            url,
            headers={"WebHook-Request-Origin": CLOUD_EVENTS_ORIGIN, "WebHook-Request-Rate": "120", **auth},
            timeout=HANDSHAKE_TIMEOUT_SECONDS,
        )
        return judge_options_answer(result, CLOUD_EVENTS_ORIGIN)
    body = validation_event(topic=topic, code=code, validation_url=validation_url, now=now)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "aeg-event-type": "SubscriptionValidation",
        "aeg-subscription-name": spec.name.upper(),
        "aeg-delivery-count": "0",
        "aeg-metadata-version": "1",
        "aeg-data-version": "1",
        **auth,
    }
    result = await transport.request(
        "POST", url, body=body, headers=headers, timeout=HANDSHAKE_TIMEOUT_SECONDS, keep_body=65536
    )
    return judge_validation_answer(result, code)
