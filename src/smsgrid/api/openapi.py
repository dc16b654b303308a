"""The OpenAPI 3.1 document of smsgrid's HTTP surface, served at `GET /openapi.json` (no auth).

It describes what the server really answers — tests validate real responses against it, and schemathesis runs
from it — so a response shape changed in `data_plane.py`, `admin.py` or `store/rows.py` must change here too.
Objects allow extra properties: adding a field is compatible, renaming or retyping one is not.

Two security schemes: the ACS **HMAC-SHA256** signature the official SDK sends (SPEC §2; a scheme OpenAPI has
no type for, so it is described as an `Authorization` header), and the admin API's `Bearer <access key>`.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from smsgrid.acs.openapi import data_plane_schemas, report_body, request_body, version_parameter
from smsgrid.acs.versions import ROUTES, Operation
from smsgrid.acs.versions import Route as AcsRoute
from smsgrid.api.responses import json_response
from smsgrid.namespaces import openapi as namespace_openapi
from smsgrid.sms import MAX_RECIPIENTS

Schema = dict[str, Any]
JSON = "application/json"


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: Schema) -> Schema:
    return {"oneOf": [schema, {"type": "null"}]}


def _obj(properties: dict[str, Schema], required: list[str] | None = None, **extra: Any) -> Schema:
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    schema.update(extra)
    return schema


STRING: Schema = {"type": "string"}
INTEGER: Schema = {"type": "integer"}
BOOLEAN: Schema = {"type": "boolean"}
TIMESTAMP: Schema = {"type": "string", "description": "UTC ISO 8601 with up to 7 fractional digits and Z (SPEC §1)."}


def _content(schema: Schema, media_type: str = JSON) -> dict[str, Any]:
    return {media_type: {"schema": schema}}


def _ok(description: str, schema: Schema | None = None, media_type: str = JSON) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description}
    if schema is not None:
        response["content"] = _content(schema, media_type)
    return response


_ERROR_TEXT = {
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


def _errors(*codes: str) -> dict[str, Any]:
    responses = {code: _ok(_ERROR_TEXT[code], _ref("ErrorResponse")) for code in codes}
    responses["default"] = _ok("Any other error, in Azure's error shape.", _ref("ErrorResponse"))
    return responses


def _api_version(versions: frozenset[str], default: str) -> dict[str, Any]:
    return {
        "name": "api-version",
        "in": "query",
        "required": True,
        "description": "ACS data-plane API version.",
        "schema": {"type": "string", "enum": sorted(versions), "default": default},
    }


def _path_param(name: str, description: str, schema: Schema | None = None) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": description, "schema": schema or STRING}


def _limit_param(default: int) -> dict[str, Any]:
    return {
        "name": "limit",
        "in": "query",
        "required": False,
        "description": "At most this many items, newest first.",
        "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": default},
    }


ADMIN_SECURITY: list[dict[str, list[str]]] = [{"accessKeyBearer": []}, {"acsHmac": []}]
DATA_PLANE_SECURITY: list[dict[str, list[str]]] = [{"acsHmac": []}]
TOPIC_SECURITY: list[dict[str, list[str]]] = [{"aegSasKey": []}, {"aegSasToken": []}, {"sharedAccessSignature": []}]


# Microsoft Entra-protected delivery (ARM WebHookEventSubscriptionDestinationProperties): both or neither.
ENTRA_DESTINATION: dict[str, Schema] = {
    "azureActiveDirectoryTenantId": {"type": "string", "format": "uuid"},
    "azureActiveDirectoryApplicationIdOrUri": {"type": "string"},
}
# ARM EventSubscriptionProperties smsgrid keeps: echoed null when absent.
SUBSCRIPTION_DETAILS: dict[str, Schema] = {
    "labels": _nullable({"type": "array", "items": {"type": "string"}}),
    "expirationTimeUtc": _nullable({"type": "string", "format": "date-time"}),
}


def _schemas() -> dict[str, Schema]:
    attempt = _obj(
        {"timestamp": TIMESTAMP, "segmentsSucceeded": INTEGER, "segmentsFailed": INTEGER},
        ["timestamp", "segmentsSucceeded", "segmentsFailed"],
    )
    event_grid_event = _obj(
        {
            "id": STRING,
            "topic": STRING,
            "subject": STRING,
            "eventType": STRING,
            "data": {"type": "object"},
            "dataVersion": STRING,
            "metadataVersion": STRING,
            "eventTime": TIMESTAMP,
        },
        ["id", "topic", "subject", "eventType", "data", "dataVersion", "metadataVersion", "eventTime"],
        description="One event in the Event Grid schema, as delivered to Event Grid schema subscribers (SPEC §1).",
    )
    message_fields = {
        "messageId": STRING,
        "direction": {"type": "string", "description": "incoming or outgoing"},
        "from": STRING,
        "to": STRING,
        "message": STRING,
        "encoding": {"type": "string", "description": "GSM7, UCS2, or MMS"},
        "segments": INTEGER,
        "tag": _nullable(STRING),
        "enableDeliveryReport": BOOLEAN,
        "status": {"type": "string", "description": "accepted, sent, delivered, failed or received"},
        "deliveryStatusCode": _nullable(INTEGER),
        "deliveryReport": _nullable(_ref("DeliveryReport")),
        "createdAt": TIMESTAMP,
        "updatedAt": TIMESTAMP,
        "attachments": _nullable(
            {
                "type": "array",
                "items": _obj({"mimeType": STRING, "bytes": INTEGER}, ["mimeType", "bytes"]),
                "description": "An MMS's attachments: type and size.",
            }
        ),
        "apiVersion": _nullable({"type": "string", "description": "The ACS api-version the message was sent with."}),
        "sendOptions": _nullable(
            _obj(
                {"reportTimeoutSeconds": INTEGER, "messagingConnectPartner": STRING},
                description="Send options that shape the delivery report (a partner's keys are never kept).",
            )
        ),
    }
    event_entry_fields = {
        "seq": INTEGER,
        "id": STRING,
        "eventType": STRING,
        "subject": STRING,
        "messageId": _nullable(STRING),
        "publishedAt": TIMESTAMP,
        "event": _ref("EventGridEvent"),
    }
    return {
        **data_plane_schemas(),
        "ErrorResponse": _obj(
            {"error": _obj({"code": STRING, "message": STRING}, ["code", "message"])},
            ["error"],
            description="Azure's error body.",
        ),
        "ProblemDetails": _obj(
            {"type": STRING, "title": STRING, "status": INTEGER, "detail": STRING},
            ["title", "status"],
            description="RFC 9110 problem details, as the 2026-01-23 delivery-report API answers a miss.",
        ),
        "SendResult": _obj(
            {
                "to": STRING,
                "messageId": STRING,
                "httpStatusCode": INTEGER,
                "repeatabilityResult": {"type": "string", "description": "accepted or rejected"},
                "successful": BOOLEAN,
                "errorMessage": STRING,
            },
            ["to", "httpStatusCode", "successful"],
            description="One recipient's result; a bad number fails here (400) inside the 202 (SPEC §2).",
        ),
        "SendResponse": _obj({"value": {"type": "array", "items": _ref("SendResult")}}, ["value"]),
        "OptOutRequest": _obj(
            {
                "from": STRING,
                "recipients": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": MAX_RECIPIENTS,
                    "items": _obj({"to": STRING}, ["to"]),
                },
            },
            ["from", "recipients"],
        ),
        "OptOutResponse": _obj(
            {
                "value": {
                    "type": "array",
                    "items": _obj(
                        {"to": STRING, "httpStatusCode": INTEGER, "isOptedOut": BOOLEAN, "errorMessage": STRING},
                        ["to", "httpStatusCode"],
                    ),
                }
            },
            ["value"],
        ),
        "DeliveryAttempt": attempt,
        "DeliveryReport": _obj(
            {
                "messageId": STRING,
                "from": STRING,
                "to": STRING,
                "deliveryStatus": {"type": "string", "description": "Delivered or Failed"},
                "deliveryStatusDetails": STRING,
                "deliveryAttempts": {"type": "array", "items": _ref("DeliveryAttempt")},
                "receivedTimestamp": TIMESTAMP,
                "tag": _nullable(STRING),
                "messagingConnectPartnerMessageId": STRING,
            },
            ["messageId", "deliveryStatus", "deliveryStatusDetails", "deliveryAttempts", "receivedTimestamp"],
        ),
        "EventGridEvent": event_grid_event,
        "EventSubscriptionBody": _obj(
            {
                "properties": {"type": "object", "description": "The same properties, wrapped (as ARM sends)."},
                "destination": _obj(
                    {
                        "endpointType": {"type": "string", "enum": ["WebHook", "StorageQueue", "AzureFunction"]},
                        # WebHook: endpointUrl (required) and batching; StorageQueue: resourceId, queueName,
                        # queueMessageTimeToLiveInSeconds; AzureFunction: resourceId and batching
                        # (docs/destinations.md).
                        "properties": _obj(
                            {
                                "endpointUrl": {"type": "string", "format": "uri"},
                                "resourceId": STRING,
                                "queueName": STRING,
                                "queueMessageTimeToLiveInSeconds": INTEGER,
                                "maxEventsPerBatch": {"type": "integer", "minimum": 1, "maximum": 5000},
                                "preferredBatchSizeInKilobytes": {"type": "integer", "minimum": 1, "maximum": 1024},
                                "deliveryAttributeMappings": {
                                    "type": "array",
                                    "maxItems": 10,
                                    "items": {"type": "object"},
                                },
                                **ENTRA_DESTINATION,
                            },
                        ),
                    },
                    ["endpointType", "properties"],
                ),
                "filter": _obj(
                    {
                        "includedEventTypes": _nullable({"type": "array", "items": STRING}),
                        "subjectBeginsWith": STRING,
                        "subjectEndsWith": STRING,
                        "isSubjectCaseSensitive": BOOLEAN,
                        "advancedFilters": {"type": "array", "maxItems": 25, "items": {"type": "object"}},
                        "enableAdvancedFilteringOnArrays": BOOLEAN,
                    }
                ),
                "eventDeliverySchema": {"type": "string", "enum": ["EventGridSchema", "CloudEventSchemaV1_0"]},
                "retryPolicy": _obj(
                    {
                        "maxDeliveryAttempts": {"type": "integer", "minimum": 1, "maximum": 30},
                        "eventTimeToLiveInMinutes": {"type": "integer", "minimum": 1, "maximum": 1440},
                    }
                ),
                "deadLetterDestination": _nullable({"type": "object"}),
                "standardWebhooks": _obj({"secret": {"type": "string", "pattern": "^whsec_"}}, ["secret"]),
                **SUBSCRIPTION_DETAILS,
            },
            description=(
                'The Event Grid event-subscription `properties`, bare or wrapped in `{"properties": …}` '
                "(SPEC §4). The server checks every rule and answers 400 listing each problem."
            ),
        ),
        "EventSubscription": _obj(
            {
                "name": STRING,
                "properties": _obj(
                    {
                        "destination": _obj(
                            {
                                "endpointType": STRING,
                                "properties": _obj(
                                    {
                                        "endpointUrl": _nullable(STRING),
                                        "endpointBaseUrl": STRING,
                                        "resourceId": STRING,
                                        "queueName": STRING,
                                        "queueMessageTimeToLiveInSeconds": _nullable(INTEGER),
                                        "maxEventsPerBatch": INTEGER,
                                        "preferredBatchSizeInKilobytes": INTEGER,
                                        "deliveryAttributeMappings": {"type": "array", "items": {"type": "object"}},
                                        **ENTRA_DESTINATION,
                                    }
                                ),
                            },
                            ["endpointType", "properties"],
                        ),
                        "filter": {"type": "object"},
                        "eventDeliverySchema": STRING,
                        "retryPolicy": _obj({"maxDeliveryAttempts": INTEGER, "eventTimeToLiveInMinutes": INTEGER}),
                        "deadLetterDestination": _nullable({"type": "object"}),
                        "provisioningState": {
                            "type": "string",
                            # ARM's EventSubscriptionProvisioningState; the first three show while an operation runs.
                            "enum": ["Creating", "Updating", "Deleting", "Succeeded", "AwaitingManualAction", "Failed"],
                        },
                        **SUBSCRIPTION_DETAILS,
                        "provisioningMessage": STRING,
                        "topic": STRING,
                    },
                    ["destination", "eventDeliverySchema", "provisioningState"],
                ),
                "health": _obj(
                    {
                        "consecutiveFailures": INTEGER,
                        "onProbation": BOOLEAN,
                        "probationUntil": _nullable({"type": "number"}),
                    }
                ),
            },
            ["name", "properties"],
            description="A subscription as read back: secrets hidden as Azure hides them (endpointUrl null).",
        ),
        "EventSubscriptionList": _obj({"value": {"type": "array", "items": _ref("EventSubscription")}}, ["value"]),
        "EventSubscriptionFullUrl": _obj({"endpointUrl": STRING}, ["endpointUrl"]),
        "DeliveryAttributeList": _obj(
            {
                "value": {
                    "type": "array",
                    "items": _obj({"name": STRING, "type": STRING, "properties": {"type": "object"}}, ["name", "type"]),
                }
            },
            ["value"],
            description="Every delivery attribute mapping, secret Static values included (ARM getDeliveryAttributes).",
        ),
        "Message": _obj(message_fields, ["messageId", "direction", "from", "to", "message", "status", "createdAt"]),
        "MessageList": _obj({"value": {"type": "array", "items": _ref("Message")}}, ["value"]),
        "MessageDetail": {
            "allOf": [
                _ref("Message"),
                _obj({"events": {"type": "array", "items": _ref("EventDetail")}}, ["events"]),
            ]
        },
        "EventEntry": _obj(event_entry_fields, ["seq", "id", "eventType", "subject", "publishedAt", "event"]),
        "EventList": _obj({"value": {"type": "array", "items": _ref("EventEntry")}}, ["value"]),
        "DeliveryAttemptRecord": _obj(
            {
                "attempt": INTEGER,
                "time": TIMESTAMP,
                "statusCode": _nullable(INTEGER),
                "outcome": {"type": "string", "description": "Succeeded, Busy, TimedOut, NotFound, SocketError …"},
                "durationMs": {"type": "number"},
                "error": _nullable(STRING),
            },
            ["attempt", "time", "outcome"],
        ),
        "Delivery": _obj(
            {
                "deliveryId": INTEGER,
                "subscription": STRING,
                "state": {"type": "string", "description": "pending, delivered or deadlettered"},
                "deliveryCount": INTEGER,
                "nextAttemptAt": _nullable(TIMESTAMP),
                "publishedAt": TIMESTAMP,
                "finishedAt": _nullable(TIMESTAMP),
                "attempts": {"type": "array", "items": _ref("DeliveryAttemptRecord")},
            },
            ["deliveryId", "subscription", "state", "deliveryCount", "attempts"],
        ),
        "EventDetail": {
            "allOf": [
                _ref("EventEntry"),
                _obj({"deliveries": {"type": "array", "items": _ref("Delivery")}}, ["deliveries"]),
            ]
        },
        "DeadLetter": _obj(
            {
                "id": INTEGER,
                "deliveryId": INTEGER,
                "subscription": STRING,
                "eventId": STRING,
                "eventSeq": INTEGER,
                "deadLetterReason": STRING,
                "deliveryAttempts": INTEGER,
                "lastDeliveryOutcome": _nullable(STRING),
                "lastHttpStatusCode": _nullable(INTEGER),
                "publishTime": TIMESTAMP,
                "lastDeliveryAttemptTime": _nullable(TIMESTAMP),
                "deadLetteredAt": TIMESTAMP,
                "redeliveredAt": _nullable(TIMESTAMP),
                "event": _ref("EventGridEvent"),
            },
            ["id", "subscription", "eventId", "deadLetterReason", "deliveryAttempts", "event"],
        ),
        "DeadLetterList": _obj({"value": {"type": "array", "items": _ref("DeadLetter")}}, ["value"]),
        "InboundRequest": _obj(
            {
                "from": {"type": "string", "description": "The handset's number, E.164."},
                "to": {"type": "string", "description": "One of the resource's numbers."},
                "message": STRING,
            },
            ["from", "to", "message"],
        ),
        "InboundResponse": _obj({"messageId": STRING}, ["messageId"]),
        "RedeliverResponse": _obj({"id": INTEGER, "redelivered": BOOLEAN}, ["id", "redelivered"]),
        "Health": _obj({"status": STRING, "dialect": STRING}, ["status"]),
    }


_SUMMARIES = {
    Operation.SEND: "Send an SMS to 1-100 recipients (what SmsClient.send calls).",
    Operation.OPTOUTS_ADD: "Opt the recipients out of messages from the sender.",
    Operation.OPTOUTS_REMOVE: "Opt the recipients back in.",
    Operation.OPTOUTS_CHECK: "Whether each recipient is opted out of the sender.",
    Operation.DELIVERY_REPORT: "The delivery report of a sent message.",
    Operation.MMS_SEND: "Send an MMS with 1-10 attachments to 1-100 recipients (2024-01-14-preview).",
}
_OPTOUTS = (Operation.OPTOUTS_ADD, Operation.OPTOUTS_REMOVE, Operation.OPTOUTS_CHECK)


def _acs_operation(route: AcsRoute) -> dict[str, Any]:
    """One data-plane operation, from the version table (acs/versions.py)."""
    operation = route.operation
    only = tuple(sorted(route.only_versions)) if route.only_versions is not None else None
    parameters: list[dict[str, Any]] = []
    if operation is Operation.DELIVERY_REPORT:
        parameters.append(_path_param("outgoingMessageId", "The Outgoing_… id from the send result."))
    parameters.append(version_parameter(operation, only))
    item: dict[str, Any] = {
        "tags": ["data plane"],
        "operationId": f"{operation}{'_SpecPathSpelling' if only else ''}",
        "summary": _SUMMARIES[operation],
        "security": DATA_PLANE_SECURITY,
        "parameters": parameters,
    }
    if operation is Operation.DELIVERY_REPORT:
        item["responses"] = {
            "200": _ok("The report, in the api-version's shape.", report_body()),
            "404": _ok("No report (yet) for that id.", _ref("ProblemDetails"), "application/problem+json"),
            **_errors("400", "401"),
        }
        return item
    item["requestBody"] = {"required": True, "content": _content(request_body(operation))}
    if operation in _OPTOUTS:
        item["responses"] = {
            "200": _ok("Each recipient's opt-out state.", _ref("OptOutResponse")),
            **_errors("400", "401", *(("404",) if only else ()), "413", "503"),
        }
    else:
        item["responses"] = {
            "202": _ok("Accepted; each recipient's own result inside.", _ref("SendResponse")),
            **_errors("400", "401", "413", "429", "503"),
        }
    return item


def _data_plane_paths() -> dict[str, Any]:
    paths: dict[str, Any] = {route.path: {route.method.lower(): _acs_operation(route)} for route in ROUTES}
    paths["/api/events"] = {
        "post": {
            "tags": ["data plane"],
            "operationId": "publishEvents",
            "summary": "Publish like an Event Grid custom topic (EventGridPublisherClient), Event Grid schema.",
            "security": TOPIC_SECURITY,
            "parameters": [
                {
                    "name": "api-version",
                    "in": "query",
                    "required": True,
                    "schema": {"type": "string", "enum": ["2018-01-01"], "default": "2018-01-01"},
                }
            ],
            "requestBody": {
                "required": True,
                "content": _content({"type": "array", "minItems": 1, "items": {"type": "object"}}),
            },
            "responses": {"200": _ok("Published (empty body)."), **_errors("400", "401", "413", "503")},
        }
    }
    return paths


def _admin_paths() -> dict[str, Any]:
    name = _path_param("name", "3-64 letters, digits and hyphens.")
    admin = {"tags": ["admin"], "security": ADMIN_SECURITY}
    return {
        "/admin/subscriptions": {
            "get": {
                **admin,
                "operationId": "listSubscriptions",
                "summary": "Every event subscription.",
                "responses": {"200": _ok("The subscriptions.", _ref("EventSubscriptionList")), **_errors("401")},
            }
        },
        "/admin/subscriptions/{name}": {
            "put": {
                **admin,
                "operationId": "putSubscription",
                "summary": "Create or replace; runs the validation handshake before answering (SPEC §3).",
                "parameters": [name],
                "requestBody": {"required": True, "content": _content(_ref("EventSubscriptionBody"))},
                "responses": {
                    "200": _ok(
                        "Stored; properties.provisioningState says whether the handshake succeeded.",
                        _ref("EventSubscription"),
                    ),
                    **_errors("400", "401", "403", "409", "413", "415", "503"),
                },
            },
            "get": {
                **admin,
                "operationId": "getSubscription",
                "parameters": [name],
                "responses": {"200": _ok("The subscription.", _ref("EventSubscription")), **_errors("401", "404")},
            },
            "delete": {
                **admin,
                "operationId": "deleteSubscription",
                "parameters": [name],
                "responses": {"204": _ok("Deleted."), **_errors("401", "403", "404", "503")},
            },
        },
        "/admin/subscriptions/{name}/getFullUrl": {
            "post": {
                **admin,
                "operationId": "getSubscriptionFullUrl",
                "summary": "ARM's getFullUrl: the endpoint URL with its query and credentials.",
                "parameters": [name],
                "responses": {
                    "200": _ok("The full URL.", _ref("EventSubscriptionFullUrl")),
                    **_errors("401", "403", "404"),
                },
            }
        },
        "/admin/subscriptions/{name}/getDeliveryAttributes": {
            "post": {
                **admin,
                "operationId": "getSubscriptionDeliveryAttributes",
                "summary": "ARM's getDeliveryAttributes: every mapping, secret values included.",
                "parameters": [name],
                "responses": {
                    "200": _ok("The mappings.", _ref("DeliveryAttributeList")),
                    **_errors("401", "403", "404"),
                },
            }
        },
        "/admin/inbound": {
            "post": {
                **admin,
                "operationId": "inbound",
                "summary": "An SMS arrives from a handset at one of the resource's numbers.",
                "requestBody": {"required": True, "content": _content(_ref("InboundRequest"))},
                "responses": {
                    "202": _ok("Stored; SMSReceived published.", _ref("InboundResponse")),
                    **_errors("400", "401", "403", "413", "415", "503"),
                },
            }
        },
        "/admin/login-tokens": {
            "post": {
                **admin,
                "operationId": "createLoginToken",
                "summary": "A one-time web UI login path (`smsgrid login-url`): used once, within 15 minutes.",
                "responses": {
                    "201": _ok(
                        "Made.",
                        {
                            "type": "object",
                            "required": ["path", "expiresInSeconds"],
                            "properties": {"path": STRING, "expiresInSeconds": {"type": "integer"}},
                        },
                    ),
                    **_errors("401", "403"),
                },
            }
        },
        "/admin/messages": {
            "get": {
                **admin,
                "operationId": "listMessages",
                "parameters": [
                    _limit_param(100),
                    {
                        "name": "number",
                        "in": "query",
                        "required": False,
                        "description": "Only messages from or to this number.",
                        "schema": STRING,
                    },
                ],
                "responses": {"200": _ok("Messages, newest first.", _ref("MessageList")), **_errors("400", "401")},
            }
        },
        "/admin/messages/{messageId}": {
            "get": {
                **admin,
                "operationId": "getMessage",
                "parameters": [_path_param("messageId", "Outgoing_… or Incoming_…")],
                "responses": {
                    "200": _ok("The message with its events and their deliveries.", _ref("MessageDetail")),
                    **_errors("401", "404"),
                },
            }
        },
        "/admin/events": {
            "get": {
                **admin,
                "operationId": "listEvents",
                "parameters": [
                    _limit_param(100),
                    {
                        "name": "before",
                        "in": "query",
                        "required": False,
                        "description": "Only events with a smaller `seq` (paging); anything but a seq is a 400.",
                        # seq is a 64-bit database integer.
                        "schema": {"type": "integer", "minimum": 0, "maximum": 2**63 - 1},
                    },
                ],
                "responses": {"200": _ok("Events, newest first.", _ref("EventList")), **_errors("400", "401")},
            }
        },
        "/admin/events/{eventId}": {
            "get": {
                **admin,
                "operationId": "getEvent",
                "parameters": [_path_param("eventId", "The event id (equals the message id for SMS events).")],
                "responses": {
                    "200": _ok("The event with each delivery and every attempt.", _ref("EventDetail")),
                    **_errors("401", "404"),
                },
            }
        },
        "/admin/deadletters": {
            "get": {
                **admin,
                "operationId": "listDeadLetters",
                "parameters": [
                    _limit_param(100),
                    {
                        "name": "includeRedelivered",
                        "in": "query",
                        "required": False,
                        "description": "Also list dead letters already redelivered; anything but true/false is a 400.",
                        "schema": {"type": "string", "enum": ["true", "false"], "default": "false"},
                    },
                ],
                "responses": {
                    "200": _ok("Dead letters, newest first.", _ref("DeadLetterList")),
                    **_errors("400", "401"),
                },
            }
        },
        "/admin/deadletters/{deadletterId}/redeliver": {
            "post": {
                **admin,
                "operationId": "redeliver",
                "summary": "Queue a dead-lettered event for its subscription again.",
                "parameters": [
                    _path_param(
                        "deadletterId", "The dead letter's id.", {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}
                    )
                ],
                "responses": {
                    "202": _ok("Queued.", _ref("RedeliverResponse")),
                    **_errors("401", "403", "404", "409", "503"),
                },
            }
        },
        "/eventsubscriptions/{name}/validate": {
            "get": {
                "tags": ["admin"],
                "operationId": "validateSubscription",
                "summary": "The validationUrl of a manual handshake: a GET with the code completes it (no key).",
                "security": [],
                "parameters": [
                    name,
                    {"name": "code", "in": "query", "required": True, "schema": STRING},
                ],
                "responses": {
                    "200": _ok("Validated.", STRING, "text/plain"),
                    **_errors("400"),
                },
            }
        },
        "/healthz": {
            "get": {
                "tags": ["operations"],
                "operationId": "health",
                "security": [],
                "responses": {"200": _ok("Serving.", _ref("Health"))},
            }
        },
        "/metrics": {
            "get": {
                "tags": ["operations"],
                "operationId": "metrics",
                "summary": "Prometheus text exposition.",
                "security": [],
                "responses": {"200": _ok("Metrics.", STRING, "text/plain")},
            }
        },
        "/openapi.json": {
            "get": {
                "tags": ["operations"],
                "operationId": "openapi",
                "security": [],
                "responses": {"200": _ok("This document.", {"type": "object"})},
            }
        },
    }


def build_openapi(server_url: str | None = None) -> dict[str, Any]:
    """The whole document; `server_url` (e.g. http://127.0.0.1:8080) becomes its only server."""
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "smsgrid",
            "version": "1",
            "description": (
                "Azure Communication Services SMS (data plane) and smsgrid's admin API. Errors use Azure's "
                '`{"error": {"code", "message"}}` body. See docs/admin-api.md.'
            ),
        },
        "paths": {**_data_plane_paths(), **_admin_paths(), **namespace_openapi.paths()},
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {
                "acsHmac": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": (
                        "ACS HMAC-SHA256, as the official SDKs sign: `Authorization: HMAC-SHA256 "
                        "SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=<base64>` where the signature "
                        'is base64(HMAC-SHA256(base64decode(access key), VERB + "\\n" + path_and_query + "\\n" '
                        '+ x-ms-date + ";" + host + ";" + x-ms-content-sha256)), with headers `x-ms-date` (RFC 1123, '
                        "within 15 minutes of the server's clock) and `x-ms-content-sha256` (base64 SHA-256 of the "
                        "body)."
                    ),
                },
                "aegSasKey": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "aeg-sas-key",
                    "description": "The access key itself (Event Grid topic key authentication).",
                },
                "aegSasToken": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "aeg-sas-token",
                    "description": "A SAS token `r=…&e=…&s=…` as azure.eventgrid.generate_sas builds it.",
                },
                "sharedAccessSignature": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "`SharedAccessSignature r=…&e=…&s=…` (the same token in the Authorization header).",
                },
                "accessKeyBearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "`Authorization: Bearer <access key>` (the base64 key itself).",
                },
                **namespace_openapi.SECURITY_SCHEMES,
            },
        },
    }
    if server_url:
        document["servers"] = [{"url": server_url.rstrip("/")}]
    return document


async def openapi_json(request: Request) -> Response:
    base = f"{request.url.scheme}://{request.url.netloc}"
    return json_response(build_openapi(base))


routes = [Route("/openapi.json", openapi_json, methods=["GET"])]

__all__ = ["build_openapi", "routes"]
