"""What each HTTP operation is, for `/openapi.json`: summary, tags, auth, parameters, body and responses by model.

The handlers do not know about this table and it does not know about them: `api/openapi.py` walks the app's real
route table and looks every (method, path) up here, and fails when a route has no entry or an entry has no route
(`RouteTableDrift`), so the document cannot describe an API that is not served. Shapes are pydantic models only;
`api/openapi.py` turns them into JSON Schema.

This module holds the types and the admin, Event Grid topic and service (health, metrics) entries; the ACS data
plane's entries are generated from its version table (`api/acs_openapi.py`), the namespace topics' are in
`api/namespaces_openapi.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from smsgrid.api.carriers import CarrierList
from smsgrid.api.models import (
    DeadLetterIdPath,
    DeadLettersQuery,
    DeliveryAttributeList,
    ErrorResponse,
    EventGridPublishBatch,
    EventIdPath,
    EventsQuery,
    EventSubscription,
    EventSubscriptionBody,
    EventSubscriptionFullUrl,
    EventSubscriptionList,
    Health,
    InboundRequest,
    InboundResponse,
    LoginToken,
    MessageIdPath,
    MessagesQuery,
    OpenApiDocument,
    PlainText,
    RedeliverResponse,
    SubscriptionNamePath,
    TopicPublishQuery,
    ValidateQuery,
)
from smsgrid.store.views import DeadLetterList, EventDetail, EventList, MessageDetail, MessageList

JSON = "application/json"
Endpoint = tuple[str, str]
"""(METHOD, Starlette path template), e.g. ("GET", "/admin/messages/{message_id}")."""


Models = type[BaseModel] | tuple[type[BaseModel], ...]
"""One model, or several of which the body is any one (e.g. one per api-version)."""


@dataclass(frozen=True, slots=True)
class Reply:
    """One documented response: no model means no body."""

    description: str
    model: Models | None = None
    media_type: str = JSON


@dataclass(frozen=True, slots=True)
class Body:
    """A request body: the model(s) per media type."""

    content: Mapping[str, Models]
    required: bool = True


def json_body(*models: type[BaseModel]) -> Body:
    return Body({JSON: models})


@dataclass(frozen=True, slots=True)
class OperationDoc:
    """One operation. `path`/`query` are models of the path and query parameters (their fields, by alias, are the
    parameters); `security` names the schemes any one of which is enough, () for none."""

    operation_id: str
    tags: tuple[str, ...]
    security: tuple[str, ...]
    responses: Mapping[str, Reply]
    summary: str | None = None
    path: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    body: Body | None = None
    # Extra keys of a parameter object (OpenAPI `x-…` extensions), by parameter name.
    parameter_extensions: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


ERROR_TEXT = {
    "400": "The request is not valid; `error.message` says what to change.",
    "401": "Not signed with the access key (HMAC) or no `Bearer <access key>`: `error.code` is `Denied`. On the "
    "data plane, also a `from` that is not one of the resource's senders: `Unauthorized`, empty message, as Azure.",
    "403": "Called with the web UI's session cookie but without its CSRF token in `X-CSRF-Token`.",
    "404": "Nothing with that name or id.",
    "405": "The path exists but not with this method.",
    "409": "The request conflicts with the current state (e.g. already redelivered).",
    "413": "The body is over 1 MiB.",
    "415": "The body is not sent as `Content-Type: application/json`.",
    "429": "The sender is over ACS's send rate (docs/configuration.md#throttling); retry after `Retry-After` seconds.",
    "503": "The store cannot commit right now; nothing was written. Retry after `Retry-After` seconds.",
}


def errors(*codes: str, text: Mapping[str, str] | None = None) -> dict[str, Reply]:
    """Azure's error body for each status, and for any other (`default`); `text` overrides a description."""
    described = {**ERROR_TEXT, **(text or {})}
    replies = {code: Reply(described[code], ErrorResponse) for code in codes}
    replies["default"] = Reply("Any other error, in Azure's error shape.", ErrorResponse)
    return replies


ADMIN = ("accessKeyBearer", "acsHmac")
PUBLIC: tuple[str, ...] = ()
TOPIC_KEYS = ("aegSasKey", "aegSasToken", "sharedAccessSignature")


def _admin(operation_id: str, responses: Mapping[str, Reply], **details: Any) -> OperationDoc:
    return OperationDoc(operation_id, ("admin",), ADMIN, responses, **details)


def _named_subscription(operation_id: str, responses: Mapping[str, Reply], **details: Any) -> OperationDoc:
    return _admin(operation_id, responses, path=SubscriptionNamePath, **details)


ADMIN_OPERATIONS: dict[Endpoint, OperationDoc] = {
    ("GET", "/admin/subscriptions"): _admin(
        "listSubscriptions",
        {"200": Reply("The subscriptions.", EventSubscriptionList), **errors("401")},
        summary="Every event subscription.",
    ),
    ("PUT", "/admin/subscriptions/{name}"): _named_subscription(
        "putSubscription",
        {
            "200": Reply(
                "Stored; properties.provisioningState says whether the handshake succeeded.", EventSubscription
            ),
            **errors("400", "401", "403", "409", "413", "415", "503"),
        },
        summary="Create or replace; runs the validation handshake before answering (SPEC §3).",
        body=json_body(EventSubscriptionBody),
    ),
    ("GET", "/admin/subscriptions/{name}"): _named_subscription(
        "getSubscription", {"200": Reply("The subscription.", EventSubscription), **errors("401", "404")}
    ),
    ("DELETE", "/admin/subscriptions/{name}"): _named_subscription(
        "deleteSubscription", {"204": Reply("Deleted."), **errors("401", "403", "404", "503")}
    ),
    ("POST", "/admin/subscriptions/{name}/getFullUrl"): _named_subscription(
        "getSubscriptionFullUrl",
        {"200": Reply("The full URL.", EventSubscriptionFullUrl), **errors("401", "403", "404")},
        summary="ARM's getFullUrl: the endpoint URL with its query and credentials.",
    ),
    ("POST", "/admin/subscriptions/{name}/getDeliveryAttributes"): _named_subscription(
        "getSubscriptionDeliveryAttributes",
        {"200": Reply("The mappings.", DeliveryAttributeList), **errors("401", "403", "404")},
        summary="ARM's getDeliveryAttributes: every mapping, secret values included.",
    ),
    ("POST", "/admin/inbound"): _admin(
        "inbound",
        {
            "202": Reply("Stored; SMSReceived published.", InboundResponse),
            **errors("400", "401", "403", "413", "415", "503"),
        },
        summary="An SMS arrives from a handset at one of the resource's numbers.",
        body=json_body(InboundRequest),
    ),
    ("POST", "/admin/login-tokens"): _admin(
        "createLoginToken",
        {"201": Reply("Made.", LoginToken), **errors("401", "403")},
        summary="A one-time web UI login path (`smsgrid login-url`): used once, within 15 minutes.",
    ),
    ("GET", "/admin/carriers"): _admin(
        "listCarriers",
        {"200": Reply("The carrier and its connections.", CarrierList), **errors("401")},
        summary="What carries the messages (the SMPP connections or the simulator) and each connection's state.",
    ),
    ("GET", "/admin/messages"): _admin(
        "listMessages",
        {"200": Reply("Messages, newest first.", MessageList), **errors("400", "401")},
        query=MessagesQuery,
    ),
    ("GET", "/admin/messages/{message_id}"): _admin(
        "getMessage",
        {"200": Reply("The message with its events and their deliveries.", MessageDetail), **errors("401", "404")},
        path=MessageIdPath,
    ),
    ("GET", "/admin/events"): _admin(
        "listEvents", {"200": Reply("Events, newest first.", EventList), **errors("400", "401")}, query=EventsQuery
    ),
    ("GET", "/admin/events/{event_id}"): _admin(
        "getEvent",
        {"200": Reply("The event with each delivery and every attempt.", EventDetail), **errors("401", "404")},
        path=EventIdPath,
    ),
    ("GET", "/admin/deadletters"): _admin(
        "listDeadLetters",
        {"200": Reply("Dead letters, newest first.", DeadLetterList), **errors("400", "401")},
        query=DeadLettersQuery,
    ),
    ("POST", "/admin/deadletters/{deadletter_id}/redeliver"): _admin(
        "redeliver",
        {"202": Reply("Queued.", RedeliverResponse), **errors("401", "403", "404", "409", "503")},
        summary="Queue a dead-lettered event for its subscription again.",
        path=DeadLetterIdPath,
    ),
    ("GET", "/eventsubscriptions/{name}/validate"): OperationDoc(
        "validateSubscription",
        ("admin",),
        PUBLIC,
        {"200": Reply("Validated.", PlainText, "text/plain"), **errors("400")},
        summary="The validationUrl of a manual handshake: a GET with the code completes it (no key).",
        path=SubscriptionNamePath,
        query=ValidateQuery,
    ),
}

TOPIC_OPERATIONS: dict[Endpoint, OperationDoc] = {
    ("POST", "/api/events"): OperationDoc(
        "publishEvents",
        ("data plane",),
        TOPIC_KEYS,
        {"200": Reply("Published (empty body)."), **errors("400", "401", "413", "503")},
        summary="Publish like an Event Grid custom topic (EventGridPublisherClient), Event Grid schema.",
        query=TopicPublishQuery,
        body=json_body(EventGridPublishBatch),
    ),
}

SERVICE_OPERATIONS: dict[Endpoint, OperationDoc] = {
    ("GET", "/healthz"): OperationDoc("health", ("operations",), PUBLIC, {"200": Reply("Serving.", Health)}),
    ("GET", "/metrics"): OperationDoc(
        "metrics",
        ("operations",),
        PUBLIC,
        {"200": Reply("Metrics.", PlainText, "text/plain")},
        summary="Prometheus text exposition.",
    ),
    ("GET", "/openapi.json"): OperationDoc(
        "openapi", ("operations",), PUBLIC, {"200": Reply("This document.", OpenApiDocument)}
    ),
}
